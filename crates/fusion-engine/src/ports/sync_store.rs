//! The sync half of the storage port (signatures only; `fusion-store` implements it for SQLite and
//! PostgreSQL): ticket links, per-side cursors, runs and per-ticket records (history), pending
//! creates, retries of failed records, and leases that make one process run a relationship (and
//! talk to a given platform database) at a time.
//!
//! Contract shared by every method:
//! - Time always comes from the caller (`now`), so expiry and retention are testable.
//! - Each method is atomic on its own; the engine orders its calls so that a crash between any
//!   two of them loses nothing and duplicates nothing (links are written right after each create).
//! - An unknown relationship or run is `NotFound` for writes and `None`/empty for reads.
//! - `Unavailable` (retryable) for a busy or unreachable database, as in [`super::StoreError`].

use async_trait::async_trait;
use fusion_domain::RelationshipId;
use fusion_domain::Role;
use fusion_domain::sync::{
    AttentionItem, AttentionState, PendingRetry, RunCounts, RunStatus, RunTrigger, SyncCursor,
    SyncRecord, SyncRun, SyncRunId, SyncSchedule, TicketId, TicketLink, TicketMarker,
};
use time::{Duration, OffsetDateTime};

use super::StoreResult;

/// What a lease protects.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LeaseKey {
    /// One run of this relationship at a time.
    Relationship(RelationshipId),
    /// One process talking to this platform database at a time (e.g. `"autotask:webservices5:<tenant>"`,
    /// from the engine's `Platform::database_key`).
    Database(String),
}

/// A held lease. `token` changes on every claim, so a holder whose lease expired and was claimed
/// by someone else can tell (its renew fails).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub key: LeaseKey,
    /// Who holds it (process id + host, for people reading the database).
    pub holder: String,
    pub token: String,
    pub expires_at: OffsetDateTime,
}

/// A create that was started: written before the platform call, cleared once the link is saved.
/// One still present at the start of a run means the process stopped mid-create: the engine looks
/// the marker up before creating again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCreate {
    pub relationship: RelationshipId,
    /// The side the original ticket lives on.
    pub origin: Role,
    pub origin_ticket: TicketId,
    pub marker: TicketMarker,
    pub started_at: OffsetDateTime,
}

/// Which runs history shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFilter {
    /// `None`: every relationship.
    pub relationship: Option<RelationshipId>,
    /// `None`: every status.
    pub status: Option<RunStatus>,
    /// Runs started at or after this time (the UI's default is 7 days ago).
    pub started_from: Option<OffsetDateTime>,
    /// Runs started before this time.
    pub started_before: Option<OffsetDateTime>,
    /// At most this many runs, newest first.
    pub limit: u32,
}

/// Which attention items to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttentionFilter {
    /// Empty: every state.
    pub states: Vec<AttentionState>,
    /// Only the items of this original ticket (side it lives on, its id).
    pub origin_ticket: Option<(Role, TicketId)>,
}

/// Which links the Tickets page lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkQuery {
    /// Words that must all appear in the title, or a ticket number (either side), or a ticket id;
    /// case-insensitive. `None` or empty: every link.
    pub search: Option<String>,
    /// At most this many links, most recently synced first.
    pub limit: u32,
}

/// How a run ended, written once by [`SyncStore::finish_run`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFinish {
    pub status: RunStatus,
    pub counts: RunCounts,
    pub finished_at: OffsetDateTime,
    pub calls_used: u64,
    pub error: Option<String>,
}

/// Sync state storage. `fusion-store` implements it for both of its databases and makes it a
/// supertrait of its `Store`.
#[async_trait]
pub trait SyncStore: Send + Sync {
    // ---- links ----

    /// The link whose ticket on `side` is `ticket`, if any.
    async fn link_by_ticket(
        &self,
        relationship: RelationshipId,
        side: Role,
        ticket: &TicketId,
    ) -> StoreResult<Option<TicketLink>>;

    /// The links of any of `tickets` on `side` (one query; order not significant; tickets without a
    /// link are simply absent).
    async fn links_by_tickets(
        &self,
        relationship: RelationshipId,
        side: Role,
        tickets: &[TicketId],
    ) -> StoreResult<Vec<TicketLink>>;

    /// Inserts the link or replaces the one with the same (relationship, source ticket), storing
    /// every member (fingerprint maps, copied comments and attachments, closed flag) so that
    /// [`SyncStore::link_by_ticket`] returns it equal. `Conflict` when another link of the
    /// relationship already holds the same target ticket (a ticket is never linked twice).
    async fn upsert_link(&self, link: &TicketLink) -> StoreResult<()>;

    /// Saves the links of copies just read back and clears their pending creates (by origin side
    /// and original ticket), together: the SQL store in one transaction.
    async fn complete_links(
        &self,
        relationship: RelationshipId,
        links: &[TicketLink],
        cleared: &[(Role, TicketId)],
    ) -> StoreResult<()> {
        for link in links {
            self.upsert_link(link).await?;
        }
        for (origin, ticket) in cleared {
            self.clear_pending_create(relationship, *origin, ticket)
                .await?;
        }
        Ok(())
    }

    /// How many tickets the relationship has linked (pairs kept in step, ended ones included):
    /// the Dashboard's "N tickets in sync".
    async fn linked_ticket_count(&self, relationship: RelationshipId) -> StoreResult<u64>;

    // ---- pending creates (crash safety for ticket creation) ----

    /// Records that a create is about to be sent (replaces an older entry for the same origin
    /// ticket).
    async fn record_pending_create(&self, pending: &PendingCreate) -> StoreResult<()>;

    /// Every pending create of the relationship, oldest first.
    async fn pending_creates(
        &self,
        relationship: RelationshipId,
    ) -> StoreResult<Vec<PendingCreate>>;

    /// Removes the entry (no error when there is none).
    async fn clear_pending_create(
        &self,
        relationship: RelationshipId,
        origin: Role,
        origin_ticket: &TicketId,
    ) -> StoreResult<()>;

    // ---- cursors ----

    /// Where polling of `side` resumes; `None` before the first completed run.
    async fn cursor(
        &self,
        relationship: RelationshipId,
        side: Role,
    ) -> StoreResult<Option<SyncCursor>>;

    /// Saves the cursor (the engine calls it only once every change of the window was applied or
    /// recorded as failed). Replaces the previous one of the same relationship and side.
    async fn save_cursor(&self, cursor: &SyncCursor) -> StoreResult<()>;

    // ---- runs and records ----

    /// Starts a run with status Running and returns it (with a new id).
    async fn start_run(
        &self,
        relationship: RelationshipId,
        trigger: RunTrigger,
        since: Option<OffsetDateTime>,
        now: OffsetDateTime,
        started_by: Option<&str>,
    ) -> StoreResult<SyncRun>;

    /// Writes how the run ended. `NotFound` for an unknown run.
    async fn finish_run(&self, run: SyncRunId, finish: &RunFinish) -> StoreResult<()>;

    /// Appends one ticket's record to its run. `NotFound` for an unknown run.
    async fn add_record(&self, record: &SyncRecord) -> StoreResult<()>;

    /// Adds several records, in order, as [`SyncStore::add_record`] does each; the SQL store
    /// writes them in one transaction (a run records a page of tickets at once).
    async fn add_records(&self, records: &[SyncRecord]) -> StoreResult<()> {
        for record in records {
            self.add_record(record).await?;
        }
        Ok(())
    }

    /// Tickets whose latest record (over every run of the relationship) is Failed, oldest failure
    /// first; `attempts` counts the consecutive Failed records of that ticket pair. A ticket is
    /// identified by its source ticket if the record has one, else by its target ticket; a record
    /// naming both also continues (or settles) a failure recorded under that target ticket alone
    /// (the source ticket was created since). Retention ([`SyncStore::delete_runs_before`]) never
    /// removes a pending retry.
    async fn pending_retries(&self, relationship: RelationshipId)
    -> StoreResult<Vec<PendingRetry>>;

    // ---- history ----

    /// Runs matching the filter, newest first.
    async fn sync_runs(&self, filter: &RunFilter) -> StoreResult<Vec<SyncRun>>;

    async fn sync_run(&self, run: SyncRunId) -> StoreResult<Option<SyncRun>>;

    /// When the relationship's latest sweep started: a manual or automatic run that read a
    /// window. Repairs and webhook-triggered runs read only named tickets and do not count (the
    /// scheduler judges "due" by this).
    async fn last_sweep_started(
        &self,
        relationship: RelationshipId,
    ) -> StoreResult<Option<OffsetDateTime>>;

    /// The records of one run in the order they were added.
    async fn sync_records(&self, run: SyncRunId) -> StoreResult<Vec<SyncRecord>>;

    /// Retention: deletes runs (and their records) that finished before `cutoff`; returns how many
    /// runs went. Links, cursors and pending retries are kept.
    async fn delete_runs_before(&self, cutoff: OffsetDateTime) -> StoreResult<u64>;

    // ---- leases ----

    /// Claims the lease for `key` when it is free or expired (`expires_at <= now`), atomically
    /// (PostgreSQL: one transaction / `FOR UPDATE SKIP LOCKED`; SQLite: one `BEGIN IMMEDIATE`).
    /// `Ok(None)` when someone else holds an unexpired lease. A new random `token` each claim.
    async fn claim_lease(
        &self,
        key: &LeaseKey,
        holder: &str,
        now: OffsetDateTime,
        ttl: Duration,
    ) -> StoreResult<Option<Lease>>;

    /// Extends a lease still held (same key and token) to `now + ttl`; `Ok(None)` when it was lost
    /// (expired and claimed by another, or released).
    async fn renew_lease(
        &self,
        lease: &Lease,
        now: OffsetDateTime,
        ttl: Duration,
    ) -> StoreResult<Option<Lease>>;

    /// Releases a lease still held (same key and token); no error when it was already lost.
    async fn release_lease(&self, lease: &Lease) -> StoreResult<()>;

    // ---- automatic sync ----

    /// The relationship's automatic sync; the default (off, every 5 minutes) when never set or
    /// for an unknown relationship.
    async fn sync_schedule(&self, relationship: RelationshipId) -> StoreResult<SyncSchedule>;

    /// Replaces the relationship's automatic sync. `NotFound` for an unknown relationship.
    async fn set_sync_schedule(
        &self,
        relationship: RelationshipId,
        schedule: &SyncSchedule,
        now: OffsetDateTime,
    ) -> StoreResult<()>;

    /// Every relationship whose automatic sync is switched on, with its schedule (one query;
    /// whether it is Active and has its baseline is the caller's to check).
    async fn automatic_schedules(&self) -> StoreResult<Vec<(RelationshipId, SyncSchedule)>>;

    // ---- attention items ----

    /// The relationship's attention items matching `filter`, most recently seen first.
    async fn attention_items(
        &self,
        relationship: RelationshipId,
        filter: &AttentionFilter,
    ) -> StoreResult<Vec<AttentionItem>>;

    /// Inserts the item or replaces the one with the same key.
    async fn save_attention_item(&self, item: &AttentionItem) -> StoreResult<()>;

    /// Marks the open items of the relationship (of one original ticket when `ticket` is given)
    /// to be retried by the next run: a person asked, or the configuration, mappings or
    /// credentials changed. Returns how many.
    async fn request_attention_retry(
        &self,
        relationship: RelationshipId,
        ticket: Option<(Role, TicketId)>,
    ) -> StoreResult<u64>;

    /// Links of the relationship for the Tickets page (see [`LinkQuery`]).
    async fn links(
        &self,
        relationship: RelationshipId,
        query: &LinkQuery,
    ) -> StoreResult<Vec<TicketLink>>;
}
