//! Notifications: the policy of telling organisations when something breaks and when it works
//! again. The core decides what is a problem, who hears about it and how often; delivery is the
//! [`NotificationChannels`] port (`fusion-notify`: email over SMTP, the signed outgoing webhook).
//!
//! - [`event`]: the vocabulary — [`EventKind`] (run failed, attention item, not synced, API
//!   budget, connection paused or ended), [`EventPhase`] and [`NotificationEvent`].
//! - [`Notifier`]: turns what happens into problems and notifications. Each problem has a key
//!   (`run_failed:<relationship>`); an organisation hears about it once when it opens and once
//!   when it is resolved, however many times it is seen in between. Which organisations: both
//!   sides of a connection for connection events (each through its own settings), the tenant's
//!   organisation for its API budget.
//! - New attention items: after every run the notifier reads the connection's open attention
//!   items from the store (`attention.rs`), opens a problem per item needing attention and
//!   resolves those of items that were cleared.
//! - [`NotificationSettingsService`]: the per-organisation settings (recipients, webhook URL,
//!   events, the webhook signing secret shown once) and "Send test".
//!
//! Invariants:
//! - Deduplication is the store's atomic open/resolve ([`crate::ports::NotificationStore`]), so
//!   it survives restarts and holds across processes sharing a database: of several processes
//!   seeing the same failure, exactly one sends.
//! - An event carries names, ticket numbers and reasons in words, never a secret; the webhook
//!   signing secret leaves the store only to sign, and the answer that created it.
//! - The notifier never fails its caller: a delivery or store failure is logged and the sync
//!   goes on.

mod attention;
mod channels;
mod checks;
mod event;
mod notifier;
mod settings;

pub use channels::{DeliveryError, NoChannels, NotificationChannels, WebhookUrlProblem};
pub use event::{ConnectionRef, EventFact, EventKind, EventPhase, NotificationEvent};
pub use notifier::{AttentionNotice, Notifier, NotifierSettings};
pub use settings::{
    MAX_EMAIL_RECIPIENTS, MAX_WEBHOOK_URL_CHARS, NotificationSettings, NotificationSettingsDraft,
    NotificationSettingsError, NotificationSettingsService, SavedNotificationSettings, TestChannel,
    parse_recipients,
};
