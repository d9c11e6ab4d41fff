//! Near-real-time sync on a platform's webhooks, with polling as the safety net.
//!
//! - **Registration** ([`WebhookService::keep_registrations`], `keeper.rs`): every organisation
//!   that takes part in an automatic connection gets one set of webhooks in its tenant (per
//!   organisation and server, not per connection), made through the [`PlatformWebhooks`] port with
//!   a random callout key sealed at rest, checked every few minutes, re-activated when the
//!   platform deactivated them, and removed when the organisation's last connection ends.
//! - **Receiver** ([`WebhookService::receive`], `inbox.rs`): a callout is verified against its
//!   registration's key (unknown ids, bad signatures and foreign webhooks get one and the same
//!   refusal), deduplicated by webhook and sequence number, and queued **in the database** — the
//!   payload is only a trigger.
//! - **Targeted runs** ([`WebhookService::dispatch_once`], `dispatch.rs`): settled events
//!   (bursts for one ticket coalesced) are claimed from the queue — by any process sharing the
//!   database — and become one [`crate::SyncMode::Webhook`] run per connection of that
//!   organisation, reading just the named tickets through the same engine, leases, scope and
//!   budget as any run.
//! - **Safety net** ([`WebhookHealth`], a [`PollingPolicy`]): while both organisations' webhooks
//!   are healthy a connection polls at the longer safety interval (30 minutes by default); when
//!   they are not — deactivated, events found dropped, not permitted — it polls at its own
//!   interval at once. A connection that carries time entries (no webhook exists for them) keeps
//!   its own interval.

mod dispatch;
mod inbox;
mod keeper;

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use fusion_domain::ids::{Id, IdKind};
use fusion_domain::sync::TicketId;
use fusion_domain::{Clock, OrgId};
use secrecy::SecretString;
use time::{Duration, OffsetDateTime};
use tokio::sync::Notify;

use crate::ports::AppStore;
use crate::service::{ScheduledRelationship, SyncDirectory, SyncService};
use crate::tenant::TenantCredentials;

pub use dispatch::Dispatched;
pub use inbox::{Receipt, ReceiveError};
pub use keeper::TenantWebhookStatus;

/// Counter `fusion_webhook_events_total{result}`: callouts received (queued, replay, refused,
/// malformed, deactivation).
pub const WEBHOOK_EVENTS_TOTAL: &str = "fusion_webhook_events_total";
/// Histogram `fusion_webhook_propagation_seconds`: from a change (the platform's event time) to
/// the partner's copy written.
pub const WEBHOOK_PROPAGATION_SECONDS: &str = "fusion_webhook_propagation_seconds";
/// Histogram buckets of propagation delays, in seconds.
pub const WEBHOOK_PROPAGATION_BUCKETS_SECONDS: &[f64] =
    &[0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0];

/// A webhook registration's id: names the receiver URL.
#[derive(Debug)]
pub enum WebhookKind {}
impl IdKind for WebhookKind {
    const NAME: &'static str = "WebhookId";
}
pub type WebhookId = Id<WebhookKind>;

/// Where an organisation's webhooks stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HookState {
    /// Made, active and ready: changes arrive in seconds.
    Active,
    /// Deactivated by the platform, or events were found dropped: its connections poll at their
    /// own interval while re-activation is tried.
    Inactive,
    /// The API user may not create webhooks: its connections poll.
    NotPermitted,
    /// Could not be made or checked (the platform was unreachable…): tried again.
    Failed,
}

impl HookState {
    pub fn code(self) -> &'static str {
        match self {
            HookState::Active => "active",
            HookState::Inactive => "inactive",
            HookState::NotPermitted => "not_permitted",
            HookState::Failed => "failed",
        }
    }

    pub fn from_code(code: &str) -> Option<HookState> {
        Some(match code {
            "active" => HookState::Active,
            "inactive" => HookState::Inactive,
            "not_permitted" => HookState::NotPermitted,
            "failed" => HookState::Failed,
            _ => return None,
        })
    }

    pub fn label(self) -> &'static str {
        match self {
            HookState::Active => "Active",
            HookState::Inactive => "Inactive",
            HookState::NotPermitted => "Not permitted",
            HookState::Failed => "Failed",
        }
    }
}

/// What to make in a tenant.
#[derive(Debug, Clone)]
pub struct HookSpec {
    /// Names the webhooks; the same name is adopted, not duplicated.
    pub name: String,
    pub callout_url: String,
    pub deactivation_url: String,
    pub secret: SecretString,
}

/// A tenant's webhooks as the platform has them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformHooks {
    pub platform_ids: Vec<String>,
    /// What callouts carry to name the webhook.
    pub guids: Vec<String>,
    /// Every webhook active and ready.
    pub healthy: bool,
}

/// Why webhooks could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HookError {
    /// The API user lacks the permission: how to enable it.
    #[error("{0}")]
    NotPermitted(String),
    #[error("{0}")]
    Failed(String),
}

/// What a callout says, once verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callout {
    /// A ticket or note was created, changed or deleted.
    Change {
        guid: String,
        sequence_number: i64,
        entity: String,
        action: String,
        ticket: TicketId,
        event_time: OffsetDateTime,
    },
    /// The platform deactivated the webhook.
    Deactivated { guid: String },
}

/// The platform's webhooks, as the core needs them (implemented by the Autotask adapter).
#[async_trait]
pub trait PlatformWebhooks: Send + Sync {
    /// Which tenant and API user `credentials` reach (to notice credentials moving tenant).
    fn tenant_of(&self, credentials: &TenantCredentials) -> String;

    /// Creates or adopts (by name) the tenant's webhooks, active, with the spec's URLs and key,
    /// subscribed to what the sync reads, the sync's own user excluded.
    async fn ensure_webhooks(
        &self,
        credentials: &TenantCredentials,
        spec: &HookSpec,
    ) -> Result<PlatformHooks, HookError>;

    /// The webhooks named `name` now (`None` when missing).
    async fn webhooks_state(
        &self,
        credentials: &TenantCredentials,
        name: &str,
    ) -> Result<Option<PlatformHooks>, HookError>;

    /// Deletes the webhooks named `name`.
    async fn remove_webhooks(
        &self,
        credentials: &TenantCredentials,
        name: &str,
    ) -> Result<(), HookError>;

    /// Callouts of these webhooks the platform gave up on since `since`.
    async fn dropped_events_since(
        &self,
        credentials: &TenantCredentials,
        guids: &[String],
        since: OffsetDateTime,
    ) -> Result<u32, HookError>;

    /// Whether `signature` signs `body` under `secret` (constant time).
    fn verify_callout(&self, secret: &SecretString, body: &[u8], signature: Option<&str>) -> bool;

    /// Reads a verified callout's body.
    fn read_callout(&self, body: &[u8]) -> Result<Callout, String>;
}

/// How webhooks run in this process.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// The address the platform calls (`https://…`, no trailing slash); `None`: webhooks are off.
    pub public_url: Option<String>,
    /// Why webhooks are off, for people (when `public_url` is `None`).
    pub off_reason: String,
    /// The connections' polling interval while their webhooks are healthy.
    pub safety_interval: Duration,
    /// How long a ticket's events settle before its run (bursts are coalesced).
    pub debounce: Duration,
    /// A ticket edited without pause still runs after this long.
    pub max_debounce: Duration,
    /// How often healthy registrations are checked with the platform.
    pub check_every: Duration,
    /// How soon registrations that are not active are tried again.
    pub retry_every: Duration,
    /// Events not worked after this long are given up (the safety-net poll covers them).
    pub give_up_after: Duration,
}

/// The default safety-net polling interval while webhooks are healthy.
pub const DEFAULT_SAFETY_INTERVAL_MINUTES: i64 = 30;

impl WebhookSettings {
    /// Webhooks off, with the reason shown on Settings and the Dashboard.
    pub fn off(reason: impl Into<String>) -> WebhookSettings {
        WebhookSettings {
            public_url: None,
            off_reason: reason.into(),
            ..WebhookSettings::on(String::new())
        }
    }

    /// Webhooks on, calling back at `public_url`.
    pub fn on(public_url: String) -> WebhookSettings {
        WebhookSettings {
            public_url: Some(public_url.trim_end_matches('/').to_owned()),
            off_reason: String::new(),
            safety_interval: Duration::minutes(DEFAULT_SAFETY_INTERVAL_MINUTES),
            debounce: Duration::milliseconds(500),
            max_debounce: Duration::seconds(10),
            check_every: Duration::minutes(30),
            retry_every: Duration::minutes(2),
            give_up_after: Duration::hours(1),
        }
    }

    /// The name the webhooks carry in the tenant: one set per server (its public address), so
    /// two servers sharing a tenant do not adopt each other's.
    pub fn hook_name(&self) -> String {
        let url = self.public_url.as_deref().unwrap_or_default();
        // FNV-1a: stable across builds and platforms, enough to tell servers apart.
        let mut hash: u32 = 0x811c_9dc5;
        for byte in url.bytes() {
            hash ^= u32::from(byte);
            hash = hash.wrapping_mul(0x0100_0193);
        }
        format!("Support Fusion {hash:08x}")
    }

    pub(crate) fn callout_url(&self, id: WebhookId) -> Option<String> {
        self.public_url
            .as_ref()
            .map(|base| format!("{base}/hooks/autotask/{id}"))
    }
}

/// Which organisations' webhooks are healthy now; the scheduler's polling policy.
#[derive(Debug, Default)]
pub struct WebhookHealth {
    healthy: RwLock<BTreeSet<OrgId>>,
    safety_interval: RwLock<Option<Duration>>,
}

impl WebhookHealth {
    pub fn is_healthy(&self, org: OrgId) -> bool {
        self.healthy
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(&org)
    }

    pub(crate) fn set(&self, healthy: BTreeSet<OrgId>, safety_interval: Duration) {
        *self
            .healthy
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = healthy;
        *self
            .safety_interval
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(safety_interval);
    }

    pub(crate) fn forget(&self, org: OrgId) {
        self.healthy
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&org);
    }
}

/// How long between a relationship's sweeps.
pub trait PollingPolicy: Send + Sync + std::fmt::Debug {
    fn interval(&self, scheduled: &ScheduledRelationship) -> Duration;
}

impl PollingPolicy for WebhookHealth {
    /// The relationship's own interval, or the safety interval while both organisations'
    /// webhooks are healthy and no time entries (which have no webhook) are carried.
    fn interval(&self, scheduled: &ScheduledRelationship) -> Duration {
        let safety = *self
            .safety_interval
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match safety {
            Some(safety)
                if !scheduled.carries_time_entries
                    && self.is_healthy(scheduled.source_org)
                    && self.is_healthy(scheduled.target_org) =>
            {
                safety.max(scheduled.interval)
            }
            _ => scheduled.interval,
        }
    }
}

/// Webhooks as the rest of the product uses them.
#[derive(Clone)]
pub struct WebhookService {
    store: Arc<dyn AppStore>,
    platform: Arc<dyn PlatformWebhooks>,
    directory: Arc<dyn SyncDirectory>,
    sync: SyncService,
    clock: Arc<dyn Clock>,
    settings: WebhookSettings,
    health: Arc<WebhookHealth>,
    /// Rung when an event is queued here: the dispatcher need not wait for its next look.
    events: Arc<Notify>,
    /// Rung when a registration needs attention now (deactivated, credentials saved).
    registrations: Arc<Notify>,
}

impl std::fmt::Debug for WebhookService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookService")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl WebhookService {
    /// `health` must be the one the `sync` service polls by (`SyncService::with_polling`).
    pub fn new(
        store: Arc<dyn AppStore>,
        platform: Arc<dyn PlatformWebhooks>,
        directory: Arc<dyn SyncDirectory>,
        sync: SyncService,
        clock: Arc<dyn Clock>,
        settings: WebhookSettings,
        health: Arc<WebhookHealth>,
    ) -> Self {
        Self {
            store,
            platform,
            directory,
            sync,
            clock,
            settings,
            health,
            events: Arc::new(Notify::new()),
            registrations: Arc::new(Notify::new()),
        }
    }

    pub fn settings(&self) -> &WebhookSettings {
        &self.settings
    }

    /// Whether webhooks are on in this process (a public address is set).
    pub fn enabled(&self) -> bool {
        self.settings.public_url.is_some()
    }

    /// Waits until an event was queued in this process or `timeout` passed.
    pub async fn event_queued_or(&self, timeout: std::time::Duration) {
        let _ = tokio::time::timeout(timeout, self.events.notified()).await;
    }

    /// Waits until a registration needs attention now or `timeout` passed.
    pub async fn registration_due_or(&self, timeout: std::time::Duration) {
        let _ = tokio::time::timeout(timeout, self.registrations.notified()).await;
    }

    /// The organisation's credentials were saved: look at its webhooks on the next pass.
    pub fn credentials_changed(&self, org: OrgId) {
        self.health.forget(org);
        self.registrations.notify_one();
    }
}

/// A random callout key: 24 bytes from the OS, hex-encoded (48 characters; Autotask allows 64).
fn new_secret() -> Result<SecretString, String> {
    use rand::TryRng as _;
    let mut bytes = [0u8; 24];
    rand::rngs::SysRng
        .try_fill_bytes(&mut bytes)
        .map_err(|error| {
            format!("the operating system gave no randomness for a webhook key: {error}")
        })?;
    Ok(SecretString::from(
        bytes
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect::<String>(),
    ))
}
