//! Reads per tenant, writes per relationship (issue 15): one tenant — a vendor's, an MSP's — is
//! in many relationships, and each automatic run used to list that tenant's changed tickets and
//! deletions on its own. [`SharedReads`] reads them once per scheduler sweep and tenant, and
//! hands each relationship a [`Platform`] (a decorator over its own) that answers
//! [`Platform::changed_tickets`] and [`Platform::deleted_tickets`] from that one read, **filtered
//! before it is handed over**: only tickets of the side's company scope
//! (`SideConfig::in_scope`), and tickets another company's relationship never saw unless they
//! are linked in this relationship (a linked ticket moved to another company must still be seen,
//! so the planner holds the pair). Deletions are handed over only for linked tickets. Everything
//! else — ticket reads by id, content, every write — goes to the relationship's own platform.
//!
//! The relationship's cursor still moves as if it had read everything: the page carries
//! `read_through`, the latest activity of the whole read. A cursor never moves past a change the
//! read did not include (the read happened before the run, and later changes are later), so
//! reading at the start of the sweep only delays, never loses.
//!
//! A sweep begins when the scheduler has the relationships that are due
//! (`SyncDirectory::sweep_begins` calls [`SharedReads::begin_sweep`]); each of them reads through
//! the sweep once
//! ([`SharedReads::take_turn`]); reads are kept for that sweep only and never longer than
//! [`SWEEP_READS_FRESH_FOR`]. Runs people start, repairs and dry runs read afresh. A read serves
//! every later request of the sweep whose window starts at or after its own; an earlier start
//! (a relationship whose last run failed) reads again, wider, and that read serves the rest.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use fusion_domain::sync::{
    ActorId, AttachmentDraft, AttachmentId, AttachmentSnapshot, CommentDraft, CommentId,
    CommentSnapshot, DeletedTicket, FieldChange, FieldRules, TicketDraft, TicketId, TicketMarker,
    TicketSnapshot, TimeEntryDraft, TimeEntryId, TimeEntrySnapshot,
};
use fusion_domain::{ChoiceValue, RelationshipId, Role, SideConfig};
use std::collections::BTreeMap;
use time::OffsetDateTime;

use crate::platform::{ChangedTicketsQuery, Platform, PlatformError, TicketPage};
use crate::ports::{StoreError, SyncStore};

/// The longest a sweep's reads are used: a sweep of a thousand quiet relationships takes
/// seconds; one that takes longer reads again rather than hand over old news.
pub const SWEEP_READS_FRESH_FOR: Duration = Duration::from_secs(120);

/// Which of some tickets are linked in a relationship (on one side).
#[async_trait]
pub trait LinkedTickets: Send + Sync {
    async fn linked(
        &self,
        relationship: RelationshipId,
        side: Role,
        tickets: &[TicketId],
    ) -> Result<BTreeSet<TicketId>, StoreError>;
}

/// [`LinkedTickets`] from the sync store's links (ended links included: an ended pair's ticket
/// was this relationship's).
pub struct StoreLinkedTickets(pub Arc<dyn SyncStore>);

impl std::fmt::Debug for StoreLinkedTickets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreLinkedTickets").finish_non_exhaustive()
    }
}

#[async_trait]
impl LinkedTickets for StoreLinkedTickets {
    async fn linked(
        &self,
        relationship: RelationshipId,
        side: Role,
        tickets: &[TicketId],
    ) -> Result<BTreeSet<TicketId>, StoreError> {
        Ok(self
            .0
            .links_by_tickets(relationship, side, tickets)
            .await?
            .iter()
            .map(|link| link.ticket(side).clone())
            .collect())
    }
}

/// One process's shared reads: the current sweep and its reads per tenant.
#[derive(Default)]
pub struct SharedReads {
    sweep: Mutex<Sweep>,
}

impl std::fmt::Debug for SharedReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedReads").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Sweep {
    began: Option<Instant>,
    /// Relationships of this sweep that have not read through it yet.
    waiting: HashSet<RelationshipId>,
    /// Reads by tenant key (the platform's database and the API user reading it).
    feeds: HashMap<String, Arc<TenantFeed>>,
}

/// Where one side of one relationship reads through a sweep.
#[derive(Debug, Clone)]
pub struct SharedSide {
    pub relationship: RelationshipId,
    pub side: Role,
    /// Names the tenant *as read*: the same database read by another API user (who may see
    /// other tickets) is another key.
    pub tenant_key: String,
    pub config: SideConfig,
}

impl SharedReads {
    pub fn new() -> Self {
        Self::default()
    }

    fn sweep(&self) -> std::sync::MutexGuard<'_, Sweep> {
        self.sweep.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A sweep begins: each of `relationships` may read through it once; the last sweep's
    /// reads are forgotten.
    pub fn begin_sweep(&self, relationships: impl IntoIterator<Item = RelationshipId>) {
        let mut sweep = self.sweep();
        *sweep = Sweep {
            began: Some(Instant::now()),
            waiting: relationships.into_iter().collect(),
            feeds: HashMap::new(),
        };
    }

    /// Whether `relationship` reads through the current sweep (it is part of it, has not had its
    /// turn, and the sweep is fresh); takes its turn.
    pub fn take_turn(&self, relationship: RelationshipId) -> bool {
        let mut sweep = self.sweep();
        let fresh = sweep
            .began
            .is_some_and(|began| began.elapsed() < SWEEP_READS_FRESH_FOR);
        sweep.waiting.remove(&relationship) && fresh
    }

    /// `platform` (one side of a relationship) with its changes and deletions read through the
    /// sweep's read of its tenant, handed over filtered to `side`'s scope.
    pub fn platform(
        &self,
        side: SharedSide,
        platform: Arc<dyn Platform>,
        links: Arc<dyn LinkedTickets>,
    ) -> Arc<dyn Platform> {
        let feed = self
            .sweep()
            .feeds
            .entry(side.tenant_key.clone())
            .or_default()
            .clone();
        Arc::new(SharedFeedPlatform {
            inner: platform,
            feed,
            relationship: side.relationship,
            side: side.side,
            scope: side.config.company_scope().cloned(),
            links,
        })
    }
}

/// One tenant's reads in one sweep.
#[derive(Default)]
struct TenantFeed {
    changes: tokio::sync::Mutex<Option<Read<TicketSnapshot>>>,
    deletions: tokio::sync::Mutex<Option<Read<DeletedTicket>>>,
}

/// What one read found since `since`.
struct Read<T> {
    since: OffsetDateTime,
    found: Vec<T>,
}

impl TenantFeed {
    /// Every ticket changed at or after `since`, from the sweep's read when it covers `since`.
    async fn changes_since(
        &self,
        inner: &dyn Platform,
        since: OffsetDateTime,
        page_size: u32,
    ) -> Result<Vec<TicketSnapshot>, PlatformError> {
        let mut read = self.changes.lock().await;
        let covered = read.as_ref().is_some_and(|read| read.since <= since);
        if !covered {
            let mut found = Vec::new();
            let mut after = None;
            loop {
                let page = inner
                    .changed_tickets(&ChangedTicketsQuery {
                        since,
                        after: after.clone(),
                        page_size,
                        // The read serves every relationship of the sweep, each with a cursor
                        // of its own (and not necessarily one API user): it leaves nothing out.
                        own_activity_listed: None,
                    })
                    .await?;
                found.extend(page.tickets);
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            *read = Some(Read { since, found });
        }
        Ok(read
            .as_ref()
            .map(|read| {
                read.found
                    .iter()
                    .filter(|ticket| ticket.last_activity_at >= since)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn deletions_since(
        &self,
        inner: &dyn Platform,
        since: OffsetDateTime,
    ) -> Result<Vec<DeletedTicket>, PlatformError> {
        let mut read = self.deletions.lock().await;
        let covered = read.as_ref().is_some_and(|read| read.since <= since);
        if !covered {
            let found = inner.deleted_tickets(since).await?;
            *read = Some(Read { since, found });
        }
        Ok(read
            .as_ref()
            .map(|read| {
                read.found
                    .iter()
                    .filter(|deleted| deleted.deleted_at >= since)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default())
    }
}

/// One side of one relationship reading its tenant's changes through the sweep.
struct SharedFeedPlatform {
    inner: Arc<dyn Platform>,
    feed: Arc<TenantFeed>,
    relationship: RelationshipId,
    side: Role,
    /// The side's company scope; `None` hands over linked tickets only.
    scope: Option<ChoiceValue>,
    links: Arc<dyn LinkedTickets>,
}

impl std::fmt::Debug for SharedFeedPlatform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedFeedPlatform")
            .field("inner", &self.inner)
            .field("relationship", &self.relationship)
            .field("side", &self.side)
            .finish_non_exhaustive()
    }
}

impl SharedFeedPlatform {
    fn in_scope(&self, company: Option<&ChoiceValue>) -> bool {
        self.scope.is_some() && company == self.scope.as_ref()
    }

    /// Which of `ids` are linked in this relationship on this side.
    async fn linked(&self, ids: &[TicketId]) -> Result<BTreeSet<TicketId>, PlatformError> {
        if ids.is_empty() {
            return Ok(BTreeSet::new());
        }
        self.links
            .linked(self.relationship, self.side, ids)
            .await
            .map_err(|error| {
                PlatformError::Unavailable(format!(
                    "the sync database failed while sharing a read: {error}"
                ))
            })
    }
}

#[async_trait]
impl Platform for SharedFeedPlatform {
    fn database_key(&self) -> String {
        self.inner.database_key()
    }

    fn budget_key(&self) -> String {
        self.inner.budget_key()
    }

    async fn own_actor(&self) -> Result<ActorId, PlatformError> {
        self.inner.own_actor().await
    }

    async fn changed_tickets(
        &self,
        query: &ChangedTicketsQuery,
    ) -> Result<TicketPage, PlatformError> {
        if query.after.is_some() {
            // Everything is answered in one page; a caller paging on anyway reads for itself.
            return self.inner.changed_tickets(query).await;
        }
        let read = self
            .feed
            .changes_since(self.inner.as_ref(), query.since, query.page_size)
            .await?;
        let read_through = read
            .iter()
            .max_by(|a, b| {
                a.last_activity_at
                    .cmp(&b.last_activity_at)
                    .then_with(|| a.id.cmp(&b.id))
            })
            .map(|ticket| (ticket.last_activity_at, ticket.id.clone()));
        let (mut tickets, others): (Vec<TicketSnapshot>, Vec<TicketSnapshot>) = read
            .into_iter()
            .partition(|ticket| self.in_scope(ticket.company.as_ref()));
        let other_ids: Vec<TicketId> = others.iter().map(|ticket| ticket.id.clone()).collect();
        let linked = self.linked(&other_ids).await?;
        tickets.extend(
            others
                .into_iter()
                .filter(|ticket| linked.contains(&ticket.id)),
        );
        tickets.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(TicketPage {
            tickets,
            next: None,
            read_through,
        })
    }

    async fn ticket_by_number(
        &self,
        number: &str,
    ) -> Result<Option<TicketSnapshot>, PlatformError> {
        self.inner.ticket_by_number(number).await
    }

    async fn ticket(&self, id: &TicketId) -> Result<Option<TicketSnapshot>, PlatformError> {
        self.inner.ticket(id).await
    }

    async fn tickets(&self, ids: &[TicketId]) -> Result<Vec<TicketSnapshot>, PlatformError> {
        self.inner.tickets(ids).await
    }

    async fn find_by_marker(
        &self,
        marker: &TicketMarker,
    ) -> Result<Option<TicketSnapshot>, PlatformError> {
        self.inner.find_by_marker(marker).await
    }

    async fn create_ticket(&self, draft: &TicketDraft) -> Result<TicketSnapshot, PlatformError> {
        self.inner.create_ticket(draft).await
    }

    async fn update_ticket(
        &self,
        id: &TicketId,
        changes: &[FieldChange],
    ) -> Result<(), PlatformError> {
        self.inner.update_ticket(id, changes).await
    }

    async fn close_ticket(&self, id: &TicketId, status: &ChoiceValue) -> Result<(), PlatformError> {
        self.inner.close_ticket(id, status).await
    }

    async fn comments(
        &self,
        ticket: &TicketId,
        since: Option<OffsetDateTime>,
    ) -> Result<Vec<CommentSnapshot>, PlatformError> {
        self.inner.comments(ticket, since).await
    }

    async fn add_comment(
        &self,
        ticket: &TicketId,
        comment: &CommentDraft,
    ) -> Result<CommentId, PlatformError> {
        self.inner.add_comment(ticket, comment).await
    }

    async fn attachments(
        &self,
        ticket: &TicketId,
    ) -> Result<Vec<AttachmentSnapshot>, PlatformError> {
        self.inner.attachments(ticket).await
    }

    async fn comments_of_tickets(
        &self,
        tickets: &[TicketId],
    ) -> Result<BTreeMap<TicketId, Vec<CommentSnapshot>>, PlatformError> {
        self.inner.comments_of_tickets(tickets).await
    }

    async fn attachments_of_tickets(
        &self,
        tickets: &[TicketId],
    ) -> Result<BTreeMap<TicketId, Vec<AttachmentSnapshot>>, PlatformError> {
        self.inner.attachments_of_tickets(tickets).await
    }

    async fn time_entries_of_tickets(
        &self,
        tickets: &[TicketId],
    ) -> Result<BTreeMap<TicketId, Vec<TimeEntrySnapshot>>, PlatformError> {
        self.inner.time_entries_of_tickets(tickets).await
    }

    async fn create_time_entry(
        &self,
        ticket: &TicketId,
        draft: &TimeEntryDraft,
    ) -> Result<TimeEntryId, PlatformError> {
        self.inner.create_time_entry(ticket, draft).await
    }

    async fn update_time_entry(
        &self,
        entry: &TimeEntryId,
        draft: &TimeEntryDraft,
    ) -> Result<(), PlatformError> {
        self.inner.update_time_entry(entry, draft).await
    }

    async fn delete_time_entry(&self, entry: &TimeEntryId) -> Result<(), PlatformError> {
        self.inner.delete_time_entry(entry).await
    }

    async fn attachment_data(
        &self,
        ticket: &TicketId,
        attachment: &AttachmentId,
    ) -> Result<Vec<u8>, PlatformError> {
        self.inner.attachment_data(ticket, attachment).await
    }

    async fn add_attachment(
        &self,
        ticket: &TicketId,
        attachment: &AttachmentDraft,
        data: Vec<u8>,
    ) -> Result<AttachmentId, PlatformError> {
        self.inner.add_attachment(ticket, attachment, data).await
    }

    async fn deleted_tickets(
        &self,
        since: OffsetDateTime,
    ) -> Result<Vec<DeletedTicket>, PlatformError> {
        let read = self
            .feed
            .deletions_since(self.inner.as_ref(), since)
            .await?;
        let ids: Vec<TicketId> = read.iter().map(|deleted| deleted.id.clone()).collect();
        let linked = self.linked(&ids).await?;
        Ok(read
            .into_iter()
            .filter(|deleted| linked.contains(&deleted.id))
            .collect())
    }

    fn field_rules(&self) -> FieldRules {
        self.inner.field_rules()
    }

    fn max_attachment_bytes(&self) -> u64 {
        self.inner.max_attachment_bytes()
    }

    fn calls_used(&self) -> u64 {
        self.inner.calls_used()
    }
}
