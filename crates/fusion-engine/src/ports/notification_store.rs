//! The notifications' storage port: each organisation's notification settings (email
//! recipients, webhook URL, chosen events) with its webhook signing secret (sealed at rest like
//! API secrets, readable only by the notifier), and the open problems that make notifications
//! one per problem.
//!
//! Deduplication lives in the database, not in memory, so it survives restarts and holds across
//! processes sharing PostgreSQL: [`NotificationStore::open_notification_problem`] and
//! [`NotificationStore::resolve_notification_problem`] are each one atomic statement, and only
//! the caller they answer `true` sends the notification.

use std::collections::BTreeSet;

use async_trait::async_trait;
use fusion_domain::OrgId;
use secrecy::SecretString;
use time::OffsetDateTime;

use super::StoreResult;
use crate::notify::EventKind;

/// An organisation's notification settings as stored (the signing secret only as "is set").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredNotificationSettings {
    pub email_recipients: Vec<String>,
    pub webhook_url: Option<String>,
    pub events: BTreeSet<EventKind>,
    pub signing_secret_created_at: Option<OffsetDateTime>,
    pub updated_at: OffsetDateTime,
}

/// What a save writes (the signing secret has its own method).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationSettingsRecord {
    pub email_recipients: Vec<String>,
    pub webhook_url: Option<String>,
    pub events: BTreeSet<EventKind>,
}

/// A problem an organisation was notified about and that is not resolved yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenProblem {
    pub problem_key: String,
    pub kind: EventKind,
    pub summary: String,
    pub opened_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
}

#[async_trait]
pub trait NotificationStore: Send + Sync {
    /// `None` until the organisation saved its notification settings.
    async fn notification_settings(
        &self,
        org: OrgId,
    ) -> StoreResult<Option<StoredNotificationSettings>>;

    /// Inserts or replaces the settings (the signing secret is kept). `NotFound` for an unknown
    /// organisation.
    async fn save_notification_settings(
        &self,
        org: OrgId,
        settings: &NotificationSettingsRecord,
        now: OffsetDateTime,
    ) -> StoreResult<()>;

    /// Replaces the webhook signing secret (sealed at rest). `NotFound` until settings exist.
    async fn save_webhook_signing_secret(
        &self,
        org: OrgId,
        secret: &SecretString,
        now: OffsetDateTime,
    ) -> StoreResult<()>;

    /// The decrypted signing secret; `None` when none was created.
    async fn webhook_signing_secret(&self, org: OrgId) -> StoreResult<Option<SecretString>>;

    /// Opens `problem_key` for `org` unless it is open already, atomically: `true` only for the
    /// caller that opened it (or re-opened a resolved one), which then sends the notification.
    /// An open problem's `last_seen_at` moves to `now` either way.
    async fn open_notification_problem(
        &self,
        org: OrgId,
        problem_key: &str,
        kind: EventKind,
        summary: &str,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;

    /// Resolves `problem_key` for `org` if it is open, atomically: `true` only for the caller
    /// that resolved it (which then sends the one "resolved" notification).
    async fn resolve_notification_problem(
        &self,
        org: OrgId,
        problem_key: &str,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;

    /// The organisation's open problems, oldest first.
    async fn open_notification_problems(&self, org: OrgId) -> StoreResult<Vec<OpenProblem>>;
}
