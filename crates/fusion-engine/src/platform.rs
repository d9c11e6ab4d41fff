//! The `Platform` port: everything the engine asks of a PSA, in domain vocabulary. The Autotask
//! adapter implements it (`fusion-autotask`); tests implement it in memory.
//!
//! Rules every implementation follows:
//! - Every call goes through the platform's limits (Autotask: the per-endpoint 3-permit limiter
//!   and the per-database request budget) and is counted in [`Platform::calls_used`].
//! - Transient failures (429, thread threshold, connection errors before the request was sent) may
//!   be retried inside the adapter a few times; what is returned is final for this call.
//! - A write whose outcome is unknown (timeout or 5xx *after* the request was sent, connection lost
//!   while waiting, an unreadable success body) is [`PlatformError::OutcomeUnknown`], never
//!   `Unavailable`: the write may have happened, and the engine checks before writing again.
//! - Times are UTC. Ids are the platform's, as text.

use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;
use fusion_domain::ChoiceValue;
use fusion_domain::sync::{
    ActorId, AttachmentDraft, AttachmentId, AttachmentSnapshot, CommentDraft, CommentId,
    CommentSnapshot, DeletedTicket, FieldChange, FieldRules, TicketDraft, TicketId, TicketMarker,
    TicketSnapshot, TimeEntryDraft, TimeEntryId, TimeEntrySnapshot,
};
use time::OffsetDateTime;

/// A failed platform call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlatformError {
    /// Credentials rejected (Autotask 401, or 500 "user not found"): the run fails; nothing will
    /// work until a person fixes the credentials.
    #[error("authentication failed: {0}")]
    Authentication(String),
    /// The API user may not do this (403, or a permission error body).
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// The ticket, comment or attachment does not exist (any more).
    #[error("not found: {0}")]
    NotFound(String),
    /// The platform refused the data and wrote nothing (validation error, too large, inactive
    /// picklist value, …); the message is the platform's, for people.
    #[error("rejected by the platform: {0}")]
    Rejected(String),
    /// Rate or concurrency limit (429, thread threshold) still hit after the adapter's own
    /// retries; nothing was written.
    #[error("rate limited: {0}")]
    RateLimited(String),
    /// This process's share of the hourly request budget is used up; nothing was sent.
    #[error("API request budget used up: {0}")]
    BudgetExhausted(String),
    /// The platform could not be reached or failed before the request was processed (connection
    /// refused, DNS, 5xx on a read); nothing was written.
    #[error("platform unavailable: {0}")]
    Unavailable(String),
    /// A write was sent and its outcome is unknown (timeout or 5xx after sending, connection lost,
    /// unreadable success response). It may or may not have been applied.
    #[error("outcome unknown: {0}")]
    OutcomeUnknown(String),
    /// A read returned a body that could not be understood.
    #[error("malformed response: {0}")]
    Malformed(String),
}

impl PlatformError {
    /// Whether the same call may succeed later (next run or after a back-off).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            PlatformError::RateLimited(_)
                | PlatformError::BudgetExhausted(_)
                | PlatformError::Unavailable(_)
                | PlatformError::OutcomeUnknown(_)
                | PlatformError::Malformed(_)
        )
    }

    /// Whether a write may have been applied although it failed: before writing the same thing
    /// again the engine must look for it (tickets by marker, comments and attachments by content).
    pub fn is_ambiguous_write(&self) -> bool {
        matches!(self, PlatformError::OutcomeUnknown(_))
    }

    /// Whether no further call to this platform can succeed in this run (the run fails).
    pub fn stops_the_run(&self) -> bool {
        matches!(
            self,
            PlatformError::Authentication(_) | PlatformError::BudgetExhausted(_)
        )
    }
}

/// One page of tickets changed in a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketPage {
    pub tickets: Vec<TicketSnapshot>,
    /// Pass as `after` to get the next page; `None` when this was the last page.
    pub next: Option<TicketId>,
    /// The latest last activity (and its ticket) read for this page when that ticket is not in
    /// `tickets`: a tenant's changes read once for several relationships and handed to each
    /// filtered to its companies (`crate::SharedReads`) leave the others' tickets out, yet the
    /// relationship's cursor may move past them as if it had read them. `None` from a platform
    /// that hands over everything it read.
    pub read_through: Option<(OffsetDateTime, TicketId)>,
}

/// What [`Platform::create_ticket_unread`] gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreatedTicket {
    /// The created ticket as the platform now has it.
    Read(Box<TicketSnapshot>),
    /// Only the id: the caller reads the ticket back (its number, the platform's defaults).
    Unread(TicketId),
}

/// Which changed tickets to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedTicketsQuery {
    /// Tickets whose last activity is at or after this time (the engine already subtracted its
    /// overlap window).
    pub since: OffsetDateTime,
    /// Id paging: only tickets after this one in the platform's id order; `None` for the first
    /// page. The adapter orders by id ascending and returns `next` = the last id of a full page.
    pub after: Option<TicketId>,
    /// At most this many tickets per page (Autotask allows up to 500).
    pub page_size: u32,
    /// Tickets that may be left out because a complete run already listed them as they are now
    /// (see [`OwnActivityListed`]); `None` lists everything. A platform may ignore it: listing
    /// more is always safe, only dearer.
    pub own_activity_listed: Option<OwnActivityListed>,
}

/// Tickets whose last activity is the sync's own (`actor`) and earlier than `before`: the engine
/// sets `before` to the cursor a complete run saved, so each of them was listed by that run (or an
/// earlier one) after that activity, and nothing happened to it since — a person's edit would have
/// made the person its last actor. Without it, the overlap window re-lists every copy the sync
/// wrote in the minutes before the cursor, on every run in those minutes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnActivityListed {
    /// The API user the sync acts as on this platform ([`Platform::own_actor`]).
    pub actor: ActorId,
    /// Only activity strictly earlier than this may be left out.
    pub before: OffsetDateTime,
}

/// A PSA as the engine sees it. Object safe: the engine holds `Arc<dyn Platform>`, one per side.
#[async_trait]
pub trait Platform: Send + Sync + fmt::Debug {
    /// Names the remote database this platform talks to, so that one process at a time talks to
    /// it (lease key), e.g. `"autotask:webservices5.autotask.net:<API username's tenant>"`.
    fn database_key(&self) -> String;

    /// The key the API budget counts this platform's requests under ([`crate::budget`]; Autotask:
    /// `ci:<database number>`, what the adapter's request gate is asked with).
    fn budget_key(&self) -> String;

    /// The API user the sync acts as (Autotask: the resource id of the API user, from
    /// `Resources` by the API username). Things it wrote are never echoed back.
    async fn own_actor(&self) -> Result<ActorId, PlatformError>;

    /// Tickets whose last activity is at or after `query.since`, every ticket at most once per page
    /// sequence, ordered by id, each with every mappable field filled in. Tickets are not
    /// filtered by queue or company here: the planner decides (linked tickets must be seen even
    /// when they moved out of the send filter).
    async fn changed_tickets(
        &self,
        query: &ChangedTicketsQuery,
    ) -> Result<TicketPage, PlatformError>;

    /// The ticket people know by `number` (Autotask `ticketNumber`, e.g. `T20261204.0001`);
    /// `Ok(None)` when the tenant has none. Used by a person's Link repair.
    async fn ticket_by_number(&self, number: &str)
    -> Result<Option<TicketSnapshot>, PlatformError>;

    /// One ticket by id; `Ok(None)` when it does not exist (deleted).
    async fn ticket(&self, id: &TicketId) -> Result<Option<TicketSnapshot>, PlatformError>;

    /// Several tickets by id, in any order; ids that do not exist are simply absent. The default
    /// asks [`Platform::ticket`] for each; adapters should override it with one query per page
    /// (Autotask: `id in [...]`, up to 500 ids per call) — the engine reads the partners of every
    /// changed linked ticket this way.
    async fn tickets(&self, ids: &[TicketId]) -> Result<Vec<TicketSnapshot>, PlatformError> {
        let mut found = Vec::new();
        for id in ids {
            if let Some(ticket) = self.ticket(id).await? {
                found.push(ticket);
            }
        }
        Ok(found)
    }

    /// The ticket carrying `marker` (Autotask: `externalID` equals the marker), if any. If several
    /// carry it (should never happen), the one with the lowest id.
    async fn find_by_marker(
        &self,
        marker: &TicketMarker,
    ) -> Result<Option<TicketSnapshot>, PlatformError>;

    /// Creates the ticket with the draft's marker, title, composed description, typed defaults
    /// and `fields` (a value in `fields` wins over a typed default naming the same platform field).
    /// Returns the created ticket as the platform now has it: id and number exact, and every
    /// mappable field (the fields the draft did not set are the baseline of the fields that flow
    /// only towards the other side). Reading the ticket back is the exact way; an adapter may
    /// instead return the draft's values (then a platform-applied default may cause one harmless
    /// update in a later run).
    /// An ambiguous failure is `OutcomeUnknown`.
    async fn create_ticket(&self, draft: &TicketDraft) -> Result<TicketSnapshot, PlatformError>;

    /// Creates the ticket like [`Platform::create_ticket`], but may answer with only its id and
    /// leave the read-back (number, platform defaults) to the engine, which reads the tickets it
    /// created together (with [`Platform::tickets`]: for Autotask one query per 500 instead of
    /// one per ticket). Once this returns, the ticket exists: failing to read it later changes
    /// nothing about that. The default creates and reads back.
    /// An ambiguous failure is `OutcomeUnknown`.
    async fn create_ticket_unread(
        &self,
        draft: &TicketDraft,
    ) -> Result<CreatedTicket, PlatformError> {
        self.create_ticket(draft)
            .await
            .map(|ticket| CreatedTicket::Read(Box::new(ticket)))
    }

    /// Writes the changed fields only (Autotask: PATCH with id and the fields), leaving every
    /// other field as it is. Applying the same changes twice is harmless.
    async fn update_ticket(
        &self,
        id: &TicketId,
        changes: &[FieldChange],
    ) -> Result<(), PlatformError>;

    /// Sets the ticket's status to `status` (a closed status on this platform). Setting it twice
    /// is harmless. The adapter fills whatever else the platform requires to close a ticket
    /// (Autotask: a resolution if the tenant demands one).
    async fn close_ticket(&self, id: &TicketId, status: &ChoiceValue) -> Result<(), PlatformError>;

    /// The ticket's comments created at or after `since` (all when `None`), oldest first.
    async fn comments(
        &self,
        ticket: &TicketId,
        since: Option<OffsetDateTime>,
    ) -> Result<Vec<CommentSnapshot>, PlatformError>;

    /// Adds a comment written by the sync's API user. An ambiguous failure is `OutcomeUnknown`
    /// (the engine then looks for a comment of its own with the same body before adding again).
    async fn add_comment(
        &self,
        ticket: &TicketId,
        comment: &CommentDraft,
    ) -> Result<CommentId, PlatformError>;

    /// The ticket's attachments (metadata only), oldest first.
    async fn attachments(
        &self,
        ticket: &TicketId,
    ) -> Result<Vec<AttachmentSnapshot>, PlatformError>;

    /// The comments of several tickets (all of them, oldest first), by ticket; every ticket asked
    /// for has an entry. The default asks [`Platform::comments`] for each; adapters should read
    /// them together (Autotask: `ticketID in [...]`, one query per 500 comments) — the engine
    /// reads the comments of every ticket a run may write to this way.
    async fn comments_of_tickets(
        &self,
        tickets: &[TicketId],
    ) -> Result<BTreeMap<TicketId, Vec<CommentSnapshot>>, PlatformError> {
        let mut by_ticket = BTreeMap::new();
        for ticket in tickets {
            by_ticket.insert(ticket.clone(), self.comments(ticket, None).await?);
        }
        Ok(by_ticket)
    }

    /// The attachments (metadata) of several tickets, by ticket, as [`Platform::attachments`]
    /// gives them; every ticket asked for has an entry. Adapters should override it like
    /// [`Platform::comments_of_tickets`].
    async fn attachments_of_tickets(
        &self,
        tickets: &[TicketId],
    ) -> Result<BTreeMap<TicketId, Vec<AttachmentSnapshot>>, PlatformError> {
        let mut by_ticket = BTreeMap::new();
        for ticket in tickets {
            by_ticket.insert(ticket.clone(), self.attachments(ticket).await?);
        }
        Ok(by_ticket)
    }

    /// The time entries of several tickets — every one the API user can see, oldest first —
    /// by ticket; every ticket asked for has an entry. Only the customer-visible summary is
    /// read: never internal notes, rates, costs or billing amounts. A platform that cannot read
    /// time answers no tickets at all (then no time is planned, and no entry counts as deleted).
    async fn time_entries_of_tickets(
        &self,
        tickets: &[TicketId],
    ) -> Result<BTreeMap<TicketId, Vec<TimeEntrySnapshot>>, PlatformError> {
        let _ = tickets;
        Ok(BTreeMap::new())
    }

    /// Logs `draft` on `ticket` as a time entry: by the active resource with the draft's worker
    /// e-mail when it holds the draft's role, else by the fallback resource; with the role, work
    /// type, billable flag, day, start, end, hours and summary, and the marker where it can be
    /// read back. Never a rate, cost or billing amount. Refused data is `Rejected` with the
    /// platform's reason; an ambiguous failure is `OutcomeUnknown` (the engine then looks for
    /// the marker among the ticket's entries). A platform without time entries refuses.
    async fn create_time_entry(
        &self,
        ticket: &TicketId,
        draft: &TimeEntryDraft,
    ) -> Result<TimeEntryId, PlatformError> {
        let _ = (ticket, draft);
        Err(PlatformError::Rejected(
            "this platform does not take time entries".into(),
        ))
    }

    /// Changes the copy `entry` to the draft's day, start, end, hours and summary (who logged
    /// it, its role and work type stay).
    async fn update_time_entry(
        &self,
        entry: &TimeEntryId,
        draft: &TimeEntryDraft,
    ) -> Result<(), PlatformError> {
        let _ = (entry, draft);
        Err(PlatformError::Rejected(
            "this platform does not take time entries".into(),
        ))
    }

    /// Deletes the copy `entry`; one already gone counts as deleted.
    async fn delete_time_entry(&self, entry: &TimeEntryId) -> Result<(), PlatformError> {
        let _ = entry;
        Err(PlatformError::Rejected(
            "this platform does not take time entries".into(),
        ))
    }

    /// One attachment's content.
    async fn attachment_data(
        &self,
        ticket: &TicketId,
        attachment: &AttachmentId,
    ) -> Result<Vec<u8>, PlatformError>;

    /// Adds an attachment written by the sync's API user. Too large or a forbidden file type is
    /// `Rejected`; an ambiguous failure is `OutcomeUnknown` (the engine then looks for an
    /// attachment of its own with the same name and size).
    async fn add_attachment(
        &self,
        ticket: &TicketId,
        attachment: &AttachmentDraft,
        data: Vec<u8>,
    ) -> Result<AttachmentId, PlatformError>;

    /// Tickets deleted in this tenant since `since` (Autotask: one `DeletedTicketLogs` query per
    /// 500). A platform that cannot tell answers none.
    async fn deleted_tickets(
        &self,
        since: OffsetDateTime,
    ) -> Result<Vec<DeletedTicket>, PlatformError> {
        let _ = since;
        Ok(Vec::new())
    }

    /// What this tenant's ticket and note fields accept (lengths, picklist values and whether
    /// they are active), known without a call; values are fitted to it before every write.
    fn field_rules(&self) -> FieldRules {
        FieldRules::default()
    }

    /// The largest attachment this platform accepts through its API, in bytes (Autotask: about
    /// 7 MB; larger ones are recorded as failed with the reason instead of being sent).
    fn max_attachment_bytes(&self) -> u64;

    /// Platform calls made through this value so far (every HTTP request, retries included).
    fn calls_used(&self) -> u64;
}
