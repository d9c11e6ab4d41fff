//! Gathering a run's input: everything the planner needs, read through both platforms with as few
//! calls as the rules allow.
//!
//! Reads, per side: the own actor (1 call, none when the platform knows it), pages of tickets
//! changed since the window start, tickets whose latest record failed (retries), the partners of
//! linked tickets that did not change themselves, the originals of unlinked copies found by
//! marker, copies of pending creates (by marker), deletions, and comments and attachments only
//! for tickets that are linked or would be created, each side's in one batch per group
//! (`Platform::comments_of_tickets`, `attachments_of_tickets`, and `time_entries_of_tickets`
//! when the partner receives time: for Autotask one query per 500 rows) — a ticket the send
//! filter leaves out costs nothing more.
//!
//! The reads come in pieces so that a run can work a group of tickets at a time
//! (`engine/paging.rs`): [`RunReads::start`] once per run, [`RunReads::changed_page`] per page
//! of a side's changes, [`RunReads::seed`] for what a run reads besides its window (pending
//! creates, retries, a repair's ticket), [`RunReads::deletions`], and [`RunReads::input`] to
//! turn one group of tickets into the planner's input (links, partners, originals, content).
//! [`gather`] puts them together for the whole window at once (dry runs, repairs, webhooks).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use fusion_domain::sync::{
    ActorId, AttentionState, DeletedTicket, PlanInput, SideInput, TicketId, TicketLink,
    TicketMarker, TicketSnapshot, TicketState, tickets_needing_content,
};
use fusion_domain::{BySide, Role, TimeArrival};

use crate::apply::complete_link;
use crate::ports::{AttentionFilter, PendingCreate, StoreError, SyncStore};
use time::OffsetDateTime;

use crate::attention::AttentionBook;
use crate::lease_keeper::LeaseKeeper;
use crate::platform::{ChangedTicketsQuery, OwnActivityListed, PlatformError, TicketPage};
use crate::setup::{EngineSettings, SyncSetup};

/// Per side: the latest last activity seen in the window and its ticket — where the side's
/// cursor moves once the run completes.
pub(crate) type Cursors = BySide<Option<(OffsetDateTime, TicketId)>>;

/// Copies carrying our marker, by their original (origin side and ticket): the copies' ids on
/// the other side. A group that plans an unlinked original reads these copies with it, so the
/// planner links them instead of creating the copy again — what planning the whole window at
/// once did when original and copy were both listed.
pub(crate) type MarkedCopies = HashMap<(Role, TicketId), Vec<TicketId>>;

/// The planner's input (for the whole window, or the tickets a repair or a webhook named).
#[derive(Debug)]
pub(crate) struct Gathered {
    pub input: PlanInput,
    /// The relationship's open and skipped attention items as the run started.
    pub attention: AttentionBook,
}

/// Why gathering stopped.
#[derive(Debug)]
pub(crate) enum GatherFailure {
    Store(StoreError),
    Platform(Role, PlatformError),
    /// The run's lease expired and another process took it.
    LeaseLost,
}

impl From<StoreError> for GatherFailure {
    fn from(error: StoreError) -> Self {
        GatherFailure::Store(error)
    }
}

/// What a gather may do besides reading the platforms.
pub(crate) enum Access<'a, 'k> {
    /// A dry run: reads only — no lease is held, and the store is not written to (pending creates
    /// found done or never sent are left for a real run to clear).
    DryRun,
    /// A real run holding its leases: the keeper renews them between pages, and stale pending
    /// creates are cleared.
    Leased(&'a mut LeaseKeeper<'k>),
}

/// Everything a gather needs, in one place.
pub(crate) struct GatherRequest<'a, 'k> {
    pub store: &'a dyn SyncStore,
    pub setup: &'a SyncSetup,
    pub settings: &'a EngineSettings,
    /// Where each side's reading starts.
    pub windows: BySide<OffsetDateTime>,
    /// Per side, before when tickets whose last activity is our own are left out of the listing
    /// (`SyncEngine::own_activity_listed_before` says why that is safe); `None` lists them all.
    pub own_listed: BySide<Option<OffsetDateTime>>,
    pub now: OffsetDateTime,
    pub access: Access<'a, 'k>,
    /// A repair's one ticket, or the tickets a webhook named: only they (with their partners and
    /// content) are read — no changed tickets, retries or deletions — and no cursor moves.
    pub only: Option<Vec<(Role, TicketId)>>,
}

/// The tickets of one group, read so far (per side, by id).
pub(crate) struct Reader<'a> {
    setup: &'a SyncSetup,
    tickets: BySide<BTreeMap<TicketId, TicketSnapshot>>,
    /// Ids already asked for (found or not), so a missing ticket is asked once.
    asked: BySide<BTreeMap<TicketId, bool>>,
}

impl Reader<'_> {
    /// Adds a ticket read elsewhere (a page of changes).
    pub fn insert(&mut self, side: Role, ticket: TicketSnapshot) {
        self.tickets.get_mut(side).insert(ticket.id.clone(), ticket);
    }

    /// Reads the tickets of `ids` on `side` (one batch).
    pub async fn read(&mut self, side: Role, ids: &[TicketId]) -> Result<(), GatherFailure> {
        self.ensure_all(side, ids).await
    }

    pub fn is_empty(&self) -> bool {
        self.tickets.source.is_empty() && self.tickets.target.is_empty()
    }

    async fn ensure(&mut self, side: Role, id: &TicketId) -> Result<(), GatherFailure> {
        self.ensure_all(side, std::slice::from_ref(id)).await
    }

    /// Reads the tickets of `ids` not read yet, in one batch.
    async fn ensure_all(&mut self, side: Role, ids: &[TicketId]) -> Result<(), GatherFailure> {
        let mut missing: Vec<TicketId> = ids
            .iter()
            .filter(|id| {
                !self.tickets.get(side).contains_key(*id) && !self.asked.get(side).contains_key(*id)
            })
            .cloned()
            .collect();
        missing.sort();
        missing.dedup();
        if missing.is_empty() {
            return Ok(());
        }
        let found = self
            .setup
            .side(side)
            .platform
            .tickets(&missing)
            .await
            .map_err(|error| GatherFailure::Platform(side, error))?;
        for id in &missing {
            self.asked.get_mut(side).insert(id.clone(), false);
        }
        for ticket in found {
            self.asked.get_mut(side).insert(ticket.id.clone(), true);
            self.tickets.get_mut(side).insert(ticket.id.clone(), ticket);
        }
        Ok(())
    }
}

async fn keep(keeper: Option<&mut LeaseKeeper<'_>>) -> Result<(), GatherFailure> {
    let Some(keeper) = keeper else {
        return Ok(());
    };
    match keeper.keep().await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(GatherFailure::LeaseLost),
        Err(error) => Err(GatherFailure::Store(error)),
    }
}

/// What the listing of `side` may leave out: our own activity before the side's bound, when both
/// are known.
fn own_activity_listed(
    own_actors: &BySide<Option<ActorId>>,
    own_listed: &BySide<Option<OffsetDateTime>>,
    side: Role,
) -> Option<OwnActivityListed> {
    Some(OwnActivityListed {
        actor: own_actors.get(side).clone()?,
        before: (*own_listed.get(side))?,
    })
}

fn platform_error(side: Role) -> impl Fn(PlatformError) -> GatherFailure {
    move |error| GatherFailure::Platform(side, error)
}

/// Which deletions a group plans.
pub(crate) enum GroupDeletions<'d> {
    /// These deletions (linked tickets deleted since the window start, with their links), each
    /// planned in this group with its partner.
    All(BySide<Vec<DeletedTicket>>, Vec<TicketLink>),
    /// Deletions known to the run: planned here only when the partner is in this group (so the
    /// partner is planned with its deletion, never read as a ticket gone missing).
    OfPartners(&'d BySide<Vec<DeletedTicket>>),
}

/// What a run reads once, and the reads it makes per group.
pub(crate) struct RunReads<'a> {
    store: &'a dyn SyncStore,
    setup: &'a SyncSetup,
    settings: &'a EngineSettings,
    /// Where each side's reading starts.
    windows: BySide<OffsetDateTime>,
    now: OffsetDateTime,
    /// A dry run writes nothing to the store.
    dry_run: bool,
    own_actors: BySide<Option<ActorId>>,
    /// Per side, before when tickets whose last activity is our own are left out of the listing
    /// (`SyncEngine::own_activity_listed_before` says why that is safe); `None` lists them all.
    own_listed: BySide<Option<OffsetDateTime>>,
}

impl<'a> RunReads<'a> {
    /// The own actors and the relationship's open and skipped attention items.
    pub async fn start(
        store: &'a dyn SyncStore,
        setup: &'a SyncSetup,
        settings: &'a EngineSettings,
        windows: BySide<OffsetDateTime>,
        own_listed: BySide<Option<OffsetDateTime>>,
        now: OffsetDateTime,
        dry_run: bool,
    ) -> Result<(Self, AttentionBook), GatherFailure> {
        let mut own_actors: BySide<Option<_>> = BySide::default();
        for side in [Role::Source, Role::Target] {
            *own_actors.get_mut(side) = Some(
                setup
                    .side(side)
                    .platform
                    .own_actor()
                    .await
                    .map_err(platform_error(side))?,
            );
        }
        let relationship = setup.relationship;
        let attention = AttentionBook::new(
            relationship,
            store
                .attention_items(
                    relationship,
                    &AttentionFilter {
                        states: vec![AttentionState::Open, AttentionState::Skipped],
                        origin_ticket: None,
                    },
                )
                .await?,
        );
        let reads = Self {
            store,
            setup,
            settings,
            windows,
            now,
            dry_run,
            own_actors,
            own_listed,
        };
        Ok((reads, attention))
    }

    /// An empty group.
    pub fn reader(&self) -> Reader<'a> {
        Reader {
            setup: self.setup,
            tickets: BySide::default(),
            asked: BySide::default(),
        }
    }

    /// One page of the tickets changed on `side` since its window start (after `after` in id
    /// order); `cursors` moves to the latest activity read.
    pub async fn changed_page(
        &self,
        side: Role,
        after: Option<TicketId>,
        cursors: &mut Cursors,
    ) -> Result<TicketPage, GatherFailure> {
        let page = self
            .setup
            .side(side)
            .platform
            .changed_tickets(&ChangedTicketsQuery {
                since: *self.windows.get(side),
                after,
                page_size: self.settings.page_size,
                own_activity_listed: own_activity_listed(&self.own_actors, &self.own_listed, side),
            })
            .await
            .map_err(platform_error(side))?;
        let cursor = cursors.get_mut(side);
        for ticket in &page.tickets {
            let later = match cursor {
                None => true,
                Some((at, _)) => ticket.last_activity_at > *at,
            };
            if later {
                *cursor = Some((ticket.last_activity_at, ticket.id.clone()));
            }
        }
        // Read, but another relationship's: the cursor moves past it all the same.
        if let Some((at, id)) = &page.read_through
            && cursor.as_ref().is_none_or(|(seen, _)| at > seen)
        {
            *cursor = Some((*at, id.clone()));
        }
        Ok(page)
    }

    /// `tickets` (listed on `side`) without those whose pair was found in step at exactly this
    /// last activity (the link's `@lastActivity`, typically our own writes read again through
    /// the overlap window): they need no reading at all — the rule `RunReads::input` applies,
    /// applied as they are listed (one store query per page) so that groups are formed of the
    /// tickets that need work only.
    pub async fn without_quiet(
        &self,
        side: Role,
        tickets: Vec<TicketSnapshot>,
    ) -> Result<Vec<TicketSnapshot>, GatherFailure> {
        if tickets.is_empty() {
            return Ok(tickets);
        }
        let ids: Vec<TicketId> = tickets.iter().map(|ticket| ticket.id.clone()).collect();
        let links = self
            .store
            .links_by_tickets(self.setup.relationship, side, &ids)
            .await?;
        let activity: HashMap<&TicketId, OffsetDateTime> = tickets
            .iter()
            .map(|ticket| (&ticket.id, ticket.last_activity_at))
            .collect();
        let quiet: BTreeSet<TicketId> = links
            .iter()
            .filter(|link| {
                activity
                    .get(link.ticket(side))
                    .is_some_and(|at| link.seen_activity(side, *at))
            })
            .map(|link| link.ticket(side).clone())
            .collect();
        Ok(tickets
            .into_iter()
            .filter(|ticket| !quiet.contains(&ticket.id))
            .collect())
    }

    /// What a run reads besides its window, into `reader`: copies of creates a stopped process
    /// may have made (by marker) with their originals — their unread links completed first —
    /// and the tickets to retry (or, for a repair or a webhook, `only`). Returns the tickets
    /// being retried, which are never quiet.
    pub async fn seed(
        &self,
        reader: &mut Reader<'_>,
        attention: &AttentionBook,
        only: Option<&[(Role, TicketId)]>,
    ) -> Result<BySide<Vec<TicketId>>, GatherFailure> {
        let relationship = self.setup.relationship;
        // Creates a stopped process may have made: look them up by marker (a repair leaves them
        // to the next sweep).
        let pending_creates = if only.is_some() {
            Vec::new()
        } else {
            self.store.pending_creates(relationship).await?
        };
        let mut unread: Vec<(TicketLink, PendingCreate)> = Vec::new();
        for pending in pending_creates {
            let copy_side = pending.origin.opposite();
            let link = self
                .store
                .link_by_ticket(relationship, pending.origin, &pending.origin_ticket)
                .await?;
            if let Some(link) = link {
                if self.dry_run {
                    continue;
                }
                if link.number(copy_side).is_empty() {
                    // Created and linked, but a stop came before it was read back.
                    unread.push((link, pending));
                    continue;
                }
                // The link was saved; only clearing the entry was lost.
                self.store
                    .clear_pending_create(relationship, pending.origin, &pending.origin_ticket)
                    .await?;
                continue;
            }
            let found = self
                .setup
                .side(copy_side)
                .platform
                .find_by_marker(&pending.marker)
                .await
                .map_err(platform_error(copy_side))?;
            match found {
                Some(copy) => {
                    reader.insert(copy_side, copy);
                    reader
                        .ensure(pending.origin, &pending.origin_ticket)
                        .await?;
                }
                None => {
                    // The create never happened: plan the original again, even if it is older
                    // than this run's window.
                    if !self.dry_run {
                        self.store
                            .clear_pending_create(
                                relationship,
                                pending.origin,
                                &pending.origin_ticket,
                            )
                            .await?;
                    }
                    reader
                        .ensure(pending.origin, &pending.origin_ticket)
                        .await?;
                }
            }
        }
        complete_unread_copies(self.store, self.setup, unread).await?;

        // Tickets whose last record failed (with a growing pause between attempts; not those
        // waiting for a change or a person), and those wanted (a repair's one ticket, or those
        // whose failures a person or a change asked to retry).
        let wanted: Vec<(Role, TicketId)> = match only {
            Some(tickets) => tickets.to_vec(),
            None => attention.retry_requested(),
        };
        let mut retried: BySide<Vec<TicketId>> = BySide::default();
        for (side, id) in wanted {
            retried.get_mut(side).push(id);
        }
        let retries = if only.is_some() {
            Vec::new()
        } else {
            self.store.pending_retries(relationship).await?
        };
        let settings = self.settings;
        for retry in retries {
            if retry.attempts >= settings.max_retry_attempts
                || self.now - retry.last_failed_at > settings.max_retry_age
                || self.now - retry.last_failed_at < retry_pause(retry.attempts)
            {
                continue;
            }
            let waits = |side: Role, id: &Option<TicketId>| {
                id.as_ref()
                    .is_some_and(|id| attention.waits_for_change(side, id))
            };
            if waits(Role::Source, &retry.source_ticket)
                || waits(Role::Target, &retry.target_ticket)
            {
                continue;
            }
            if let Some(id) = retry.source_ticket {
                retried.source.push(id);
            }
            if let Some(id) = retry.target_ticket {
                retried.target.push(id);
            }
        }
        for side in [Role::Source, Role::Target] {
            reader.ensure_all(side, retried.get(side)).await?;
        }
        Ok(retried)
    }

    /// Linked tickets deleted since the window start whose link has not ended, with their links:
    /// a deleted ticket's partner is told and closed. Only linked ones matter; a link already
    /// ended was handled by an earlier run.
    pub async fn deletions(
        &self,
    ) -> Result<(BySide<Vec<DeletedTicket>>, Vec<TicketLink>), GatherFailure> {
        let mut deleted: BySide<Vec<DeletedTicket>> = BySide::default();
        let mut links = Vec::new();
        for side in [Role::Source, Role::Target] {
            let found = self
                .setup
                .side(side)
                .platform
                .deleted_tickets(*self.windows.get(side))
                .await
                .map_err(platform_error(side))?;
            if found.is_empty() {
                continue;
            }
            let ids: Vec<TicketId> = found.iter().map(|ticket| ticket.id.clone()).collect();
            let linked: Vec<TicketLink> = self
                .store
                .links_by_tickets(self.setup.relationship, side, &ids)
                .await?
                .into_iter()
                .filter(|link| link.ended.is_none())
                .collect();
            *deleted.get_mut(side) = found
                .into_iter()
                .filter(|ticket| linked.iter().any(|link| link.ticket(side) == &ticket.id))
                .collect();
            links.extend(linked);
        }
        Ok((deleted, links))
    }

    /// The planner's input for one group: the group's tickets (`reader`), their links, the
    /// partners of linked tickets (quiet pairs left out), `deletions`, the originals of unlinked
    /// copies, and the comments, attachments and time entries of the tickets that can need them.
    pub async fn input(
        &self,
        mut reader: Reader<'_>,
        retried: &BySide<Vec<TicketId>>,
        deletions: GroupDeletions<'_>,
        marked: Option<&MarkedCopies>,
        mut keeper: Option<&mut LeaseKeeper<'_>>,
    ) -> Result<PlanInput, GatherFailure> {
        let store = self.store;
        let setup = self.setup;
        let relationship = setup.relationship;
        let sides = [Role::Source, Role::Target];
        // Links, and the partners of linked tickets.
        let mut links: BTreeMap<TicketId, TicketLink> = BTreeMap::new();
        for side in sides {
            let ids: Vec<TicketId> = reader.tickets.get(side).keys().cloned().collect();
            if ids.is_empty() {
                continue;
            }
            for link in store.links_by_tickets(relationship, side, &ids).await? {
                links.insert(link.source.clone(), link);
            }
        }
        // A pair is quiet when each of its tickets that was read shows the very last activity a
        // run found in step (typically our own writes, read again through the overlap window):
        // it needs no further reading at all. Tickets being retried are never quiet.
        let quiet: Vec<TicketId> = links
            .values()
            .filter(|link| {
                let unchanged =
                    |side: Role| {
                        let id = link.ticket(side);
                        !retried.get(side).contains(id)
                            && reader.tickets.get(side).get(id).is_none_or(|ticket| {
                                link.seen_activity(side, ticket.last_activity_at)
                            })
                    };
                unchanged(Role::Source) && unchanged(Role::Target)
            })
            .map(|link| link.source.clone())
            .collect();
        for source in quiet {
            if let Some(link) = links.remove(&source) {
                reader.tickets.source.remove(&link.source);
                reader.tickets.target.remove(&link.target);
            }
        }
        let mut deleted: BySide<Vec<DeletedTicket>> = BySide::default();
        match deletions {
            GroupDeletions::All(all, deleted_links) => {
                deleted = all;
                for link in deleted_links {
                    for side in sides {
                        if deleted
                            .get(side)
                            .iter()
                            .any(|gone| &gone.id == link.ticket(side))
                        {
                            reader.tickets.get_mut(side).remove(link.ticket(side));
                        }
                    }
                    links.insert(link.source.clone(), link);
                }
            }
            GroupDeletions::OfPartners(known) => {
                for side in sides {
                    *deleted.get_mut(side) = known
                        .get(side)
                        .iter()
                        .filter(|gone| {
                            links
                                .values()
                                .any(|link| link.ended.is_none() && link.ticket(side) == &gone.id)
                        })
                        .cloned()
                        .collect();
                    for gone in deleted.get(side) {
                        reader.tickets.get_mut(side).remove(&gone.id);
                    }
                }
            }
        }
        // Copies listed elsewhere in the window of this group's unlinked tickets.
        if let Some(marked) = marked {
            let linked_now: BTreeSet<(Role, &TicketId)> = links
                .values()
                .flat_map(|link| [(Role::Source, &link.source), (Role::Target, &link.target)])
                .collect();
            for side in sides {
                let copies: Vec<TicketId> = reader
                    .tickets
                    .get(side)
                    .keys()
                    .filter(|id| !linked_now.contains(&(side, *id)))
                    .filter_map(|id| marked.get(&(side, id.clone())))
                    .flatten()
                    .cloned()
                    .collect();
                reader.ensure_all(side.opposite(), &copies).await?;
            }
        }
        for side in sides {
            // An ended link carries nothing: its partner is not read.
            let partners: Vec<TicketId> = links
                .values()
                .filter(|link| link.ended.is_none())
                .filter(|link| {
                    !deleted
                        .get(side)
                        .iter()
                        .any(|gone| &gone.id == link.ticket(side))
                })
                .map(|link| link.ticket(side).clone())
                .collect();
            reader.ensure_all(side, &partners).await?;
        }

        // Originals of unlinked copies that carry our marker.
        // Sets, not scans: a group has hundreds of tickets and links, a whole window thousands.
        let linked_ids: BySide<BTreeSet<&TicketId>> =
            BySide::from_fn(|side| links.values().map(|link| link.ticket(side)).collect());
        let linked = |side: Role, id: &TicketId| linked_ids.get(side).contains(id);
        let mut originals = Vec::new();
        for side in sides {
            for ticket in reader.tickets.get(side).values() {
                if linked(side, &ticket.id) {
                    continue;
                }
                if let Some(parts) = ticket.marker.as_deref().and_then(TicketMarker::parse)
                    && parts.relationship == relationship
                    && parts.origin != side
                {
                    originals.push((parts.origin, parts.origin_ticket));
                }
            }
        }
        for side in sides {
            let wanted: Vec<TicketId> = originals
                .iter()
                .filter(|(origin, _)| *origin == side)
                .map(|(_, id)| id.clone())
                .collect();
            reader.ensure_all(side, &wanted).await?;
        }

        let mut side_input = |side: Role, tickets: Vec<TicketState>| SideInput {
            config: setup.side(side).config.clone(),
            organisation_name: setup.side(side).organisation_name.clone(),
            own_actor: self.own_actors.get(side).clone(),
            tickets,
            deleted: std::mem::take(deleted.get_mut(side)),
        };
        // The snapshots move into the plan's input.
        let mut states = |side: Role| -> Vec<TicketState> {
            std::mem::take(reader.tickets.get_mut(side))
                .into_values()
                .map(|ticket| TicketState {
                    ticket,
                    comments: Vec::new(),
                    attachments: Vec::new(),
                    time_entries: None,
                })
                .collect()
        };
        let source_states = states(Role::Source);
        let target_states = states(Role::Target);
        let mut input = PlanInput {
            relationship,
            source: side_input(Role::Source, source_states),
            target: side_input(Role::Target, target_states),
            links: links.into_values().collect(),
            mappings: setup.mappings.clone(),
            composition: setup.composition.clone(),
            conflict_rule: setup.conflict_rule,
            attachment_size_limit: setup
                .source
                .platform
                .max_attachment_bytes()
                .min(setup.target.platform.max_attachment_bytes()),
        };

        // Comments and attachments, only where they can matter (the planner says which tickets
        // can flow; the rest — other companies' tickets, ended or held pairs — cost nothing
        // more).
        let needed = tickets_needing_content(&input);
        for side in sides {
            let wanted = needed.get(side);
            if wanted.is_empty() {
                continue;
            }
            let platform = &setup.side(side).platform;
            let mut comments = platform
                .comments_of_tickets(wanted)
                .await
                .map_err(platform_error(side))?;
            keep(keeper.as_deref_mut()).await?;
            let mut attachments = platform
                .attachments_of_tickets(wanted)
                .await
                .map_err(platform_error(side))?;
            keep(keeper.as_deref_mut()).await?;
            // Time entries (Autotask has no webhook for them: always read here), only when the
            // partner receives time, or when this side receives time entries (to find its
            // copies).
            let mut time_entries = if input.side(side.opposite()).config.time_entries.arrive_as
                == TimeArrival::Off
                && input.side(side).config.time_entries.arrive_as != TimeArrival::TimeEntries
            {
                BTreeMap::new()
            } else {
                let found = platform
                    .time_entries_of_tickets(wanted)
                    .await
                    .map_err(platform_error(side))?;
                keep(keeper.as_deref_mut()).await?;
                found
            };
            let side_input = match side {
                Role::Source => &mut input.source,
                Role::Target => &mut input.target,
            };
            for state in &mut side_input.tickets {
                if let Some(found) = comments.remove(&state.ticket.id) {
                    state.comments = found;
                }
                if let Some(found) = attachments.remove(&state.ticket.id) {
                    state.attachments = found;
                }
                state.time_entries = time_entries.remove(&state.ticket.id);
            }
        }
        Ok(input)
    }
}

/// The whole window at once: every page of both sides' changes, what a run reads besides
/// (`RunReads::seed`), the deletions, then one input for all of it. Dry runs (which return the
/// whole plan), repairs and webhooks (which read only `only`) gather this way; other runs work a
/// group at a time (`engine/paging.rs`).
pub(crate) async fn gather(request: GatherRequest<'_, '_>) -> Result<Gathered, GatherFailure> {
    let GatherRequest {
        store,
        setup,
        settings,
        windows,
        own_listed,
        now,
        access,
        only,
    } = request;
    let mut keeper = match access {
        Access::DryRun => None,
        Access::Leased(keeper) => Some(keeper),
    };
    let (reads, attention) = RunReads::start(
        store,
        setup,
        settings,
        windows,
        own_listed,
        now,
        keeper.is_none(),
    )
    .await?;
    let mut reader = reads.reader();
    let mut cursors = Cursors::default();
    // Every page of changes since the window start (not for a repair or a webhook).
    for side in [Role::Source, Role::Target]
        .into_iter()
        .filter(|_| only.is_none())
    {
        let mut after = None;
        loop {
            let page = reads.changed_page(side, after, &mut cursors).await?;
            for ticket in page.tickets {
                reader.insert(side, ticket);
            }
            keep(keeper.as_deref_mut()).await?;
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
    }
    let retried = reads.seed(&mut reader, &attention, only.as_deref()).await?;
    let deletions = match only {
        Some(_) => GroupDeletions::All(BySide::default(), Vec::new()),
        None => {
            let (deleted, links) = reads.deletions().await?;
            GroupDeletions::All(deleted, links)
        }
    };
    let input = reads
        .input(reader, &retried, deletions, None, keeper)
        .await?;
    Ok(Gathered { input, attention })
}

/// Copies a stopped run created and linked but did not read back (`apply/read_back.rs`): read
/// them (per side, in one call), complete their links — number, and the fingerprint of every
/// mapped field of the copy that has none, i.e. the values the copy got from its defaults — and
/// clear their pending creates, before anything is planned. A copy that no longer exists keeps
/// its link as it is (the deletion is handled like any other).
async fn complete_unread_copies(
    store: &dyn SyncStore,
    setup: &SyncSetup,
    unread: Vec<(TicketLink, PendingCreate)>,
) -> Result<(), GatherFailure> {
    for copy_side in [Role::Source, Role::Target] {
        let ids: Vec<TicketId> = unread
            .iter()
            .filter(|(_, pending)| pending.origin.opposite() == copy_side)
            .map(|(link, _)| link.ticket(copy_side).clone())
            .collect();
        if ids.is_empty() {
            continue;
        }
        let read: BTreeMap<TicketId, TicketSnapshot> = setup
            .side(copy_side)
            .platform
            .tickets(&ids)
            .await
            .map_err(platform_error(copy_side))?
            .into_iter()
            .map(|ticket| (ticket.id.clone(), ticket))
            .collect();
        for (mut link, pending) in unread
            .iter()
            .filter(|(_, pending)| pending.origin.opposite() == copy_side)
            .cloned()
        {
            if let Some(copy) = read.get(link.ticket(copy_side)) {
                let mapped = setup.mappings.iter().map(|mapping| match copy_side {
                    Role::Source => mapping.source_field.as_str(),
                    Role::Target => mapping.target_field.as_str(),
                });
                complete_link(&mut link, copy_side, copy, mapped);
                store
                    .upsert_link(&link)
                    .await
                    .map_err(GatherFailure::Store)?;
            }
            store
                .clear_pending_create(setup.relationship, pending.origin, &pending.origin_ticket)
                .await
                .map_err(GatherFailure::Store)?;
        }
    }
    Ok(())
}

/// The pause before a failed ticket is read again on its own: none after the first failure, then
/// doubling from 5 minutes up to 4 hours (a new change to the ticket brings it back at once).
fn retry_pause(attempts: u32) -> time::Duration {
    if attempts <= 1 {
        return time::Duration::ZERO;
    }
    let minutes = 5_i64.saturating_mul(1 << (attempts - 2).min(6));
    time::Duration::minutes(minutes.min(240))
}

#[cfg(test)]
mod tests {
    use super::retry_pause;
    use time::Duration;

    #[test]
    fn failed_tickets_are_retried_with_growing_pauses() {
        assert_eq!(retry_pause(1), Duration::ZERO);
        assert_eq!(retry_pause(2), Duration::minutes(5));
        assert_eq!(retry_pause(3), Duration::minutes(10));
        assert_eq!(retry_pause(5), Duration::minutes(40));
        assert_eq!(retry_pause(30), Duration::hours(4));
    }
}
