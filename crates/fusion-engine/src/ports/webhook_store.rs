//! The webhooks' storage port: each organisation's registration of its tenant's webhooks (one per
//! organisation and server; the callout key sealed at rest like API secrets) and the queue of
//! events they delivered.
//!
//! The queue lives in the database, not in memory, so any process sharing a PostgreSQL database
//! may receive a callout and whichever holds the connection's lease does the work:
//! [`WebhookStore::record_webhook_event`] deduplicates by webhook and sequence number in one
//! statement, and [`WebhookStore::claim_webhook_events`] hands each waiting event to exactly one
//! claimer (a claim expires, so a process that dies mid-way leaves its events to the others).

use async_trait::async_trait;
use fusion_domain::OrgId;
use fusion_domain::sync::TicketId;
use secrecy::SecretString;
use time::OffsetDateTime;

use super::StoreResult;
use crate::webhooks::{HookState, WebhookId};

/// An organisation's registration as stored (the callout key apart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRegistration {
    /// Names the receiver URL (`/hooks/autotask/{id}`); random, so it reveals nothing.
    pub id: WebhookId,
    pub org: OrgId,
    pub state: HookState,
    /// For people: why webhooks are not active and what to do, or what was last seen.
    pub detail: Option<String>,
    /// The URL Autotask calls (changes when the public address does: the webhooks are updated).
    pub callout_url: String,
    /// Which tenant and API user the webhooks were made in (the API URL and username): new
    /// credentials for another tenant mean new webhooks there.
    pub tenant: String,
    /// The platform's ids of the webhooks (ticket, note), once made.
    pub platform_ids: Vec<String>,
    /// The identifiers the platform puts in every callout (`Guid`), once made.
    pub guids: Vec<String>,
    pub created_at: OffsetDateTime,
    /// The last time the platform's side was checked (state, error logs).
    pub checked_at: Option<OffsetDateTime>,
    /// When the webhooks stopped being active (deactivated, error logs); `None` while healthy.
    pub unhealthy_since: Option<OffsetDateTime>,
}

/// One verified callout, as queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    pub webhook: WebhookId,
    /// The platform's webhook identifier in the callout and its sequence number: together they
    /// make a replay recognisable.
    pub guid: String,
    pub sequence_number: i64,
    /// "Ticket" or "TicketNote" (the platform's entity type), and "Create"/"Update"/"Delete".
    pub entity: String,
    pub action: String,
    /// The ticket the change concerns (for a note, its ticket).
    pub ticket: TicketId,
    /// When the change happened, by the platform's clock.
    pub event_time: OffsetDateTime,
    pub received_at: OffsetDateTime,
}

/// A queued event claimed for work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedWebhookEvent {
    pub id: i64,
    pub org: OrgId,
    pub event: WebhookEvent,
}

/// How one event's work ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEventDone {
    pub id: i64,
    /// From the change to the moment the partner's copy was written, when something was written.
    pub delay_ms: Option<i64>,
}

/// What the Dashboard shows of one registration's events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookActivity {
    pub last_event_at: Option<OffsetDateTime>,
    /// Events received since the time asked for.
    pub events: u64,
    /// Events still waiting to be worked.
    pub waiting: u64,
    /// Propagation delays (ms) of the events done since the time asked for that wrote something.
    pub delays_ms: Vec<i64>,
}

#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Every registration (a few per organisation at most).
    async fn webhook_registrations(&self) -> StoreResult<Vec<WebhookRegistration>>;

    async fn webhook_registration(&self, id: WebhookId)
    -> StoreResult<Option<WebhookRegistration>>;

    /// Inserts or replaces a registration; `secret` (sealed at rest) is replaced when given.
    async fn save_webhook_registration(
        &self,
        registration: &WebhookRegistration,
        secret: Option<&SecretString>,
    ) -> StoreResult<()>;

    /// Marks an existing registration inactive (the platform deactivated its webhooks) with
    /// `detail`, to be checked again at once; a registration deleted meanwhile stays deleted.
    async fn deactivate_webhook_registration(
        &self,
        id: WebhookId,
        detail: &str,
        now: OffsetDateTime,
    ) -> StoreResult<()>;

    /// The decrypted callout key; `None` when none was saved.
    async fn webhook_secret(&self, id: WebhookId) -> StoreResult<Option<SecretString>>;

    /// Deletes a registration with its queued events.
    async fn delete_webhook_registration(&self, id: WebhookId) -> StoreResult<()>;

    /// Queues `event` unless the same webhook and sequence number was queued before: `false`
    /// for a replay (nothing is queued).
    async fn record_webhook_event(&self, event: &WebhookEvent) -> StoreResult<bool>;

    /// Claims until `claim_until` up to `limit` waiting events (unclaimed, or whose claim
    /// expired by `now`), oldest first, whose ticket settled: no event for the same ticket was
    /// received after `settled_before` — unless the event waited since `overdue_before` (a
    /// ticket edited without pause still runs). Each event goes to one claimer.
    async fn claim_webhook_events(
        &self,
        settled_before: OffsetDateTime,
        now: OffsetDateTime,
        claim_until: OffsetDateTime,
        limit: u32,
        overdue_before: OffsetDateTime,
    ) -> StoreResult<Vec<QueuedWebhookEvent>>;

    /// Marks claimed events done (with their propagation delays).
    async fn finish_webhook_events(
        &self,
        done: &[WebhookEventDone],
        now: OffsetDateTime,
    ) -> StoreResult<()>;

    /// Gives claimed events back, to be claimed again from `retry_at` (their connection was
    /// busy).
    async fn release_webhook_events(
        &self,
        ids: &[i64],
        retry_at: OffsetDateTime,
    ) -> StoreResult<()>;

    /// A registration's events since `since`, for the Dashboard.
    async fn webhook_activity(
        &self,
        id: WebhookId,
        since: OffsetDateTime,
    ) -> StoreResult<WebhookActivity>;

    /// Deletes events done before `cutoff` (history retention); the count deleted.
    async fn delete_webhook_events_before(&self, cutoff: OffsetDateTime) -> StoreResult<u64>;
}
