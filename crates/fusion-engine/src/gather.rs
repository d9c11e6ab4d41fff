//! Gathering a run's input: everything the planner needs, read through both platforms with as few
//! calls as the rules allow.
//!
//! Reads, per side: the own actor (1 call, none when the platform knows it), every page of tickets changed since the window start,
//! tickets whose latest record failed (retries), the partners of linked tickets that did not
//! change themselves, the originals of unlinked copies found by marker, copies of pending creates
//! (by marker), and comments and attachments only for tickets that are linked or would be
//! created, each side's in one batch (`Platform::comments_of_tickets`, `attachments_of_tickets`,
//! and `time_entries_of_tickets` when the partner receives time:
//! for Autotask one query per 500 rows) — a ticket the send filter leaves out costs nothing more.

use std::collections::{BTreeMap, BTreeSet};

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
use crate::platform::{ChangedTicketsQuery, OwnActivityListed, PlatformError};
use crate::setup::{EngineSettings, SyncSetup};

/// The planner's input and where each side's cursor moves once the run completes.
#[derive(Debug)]
pub(crate) struct Gathered {
    pub input: PlanInput,
    /// Per side: the latest last activity seen in the window and its ticket.
    pub cursors: BySide<Option<(OffsetDateTime, TicketId)>>,
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

struct Reader<'a> {
    setup: &'a SyncSetup,
    tickets: BySide<BTreeMap<TicketId, TicketSnapshot>>,
    /// Ids already asked for (found or not), so a missing ticket is asked once.
    asked: BySide<BTreeMap<TicketId, bool>>,
}

impl Reader<'_> {
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

async fn keep(keeper: &mut LeaseKeeper<'_>) -> Result<(), GatherFailure> {
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

pub(crate) async fn gather(request: GatherRequest<'_, '_>) -> Result<Gathered, GatherFailure> {
    let GatherRequest {
        store,
        setup,
        settings,
        windows,
        own_listed,
        now,
        mut access,
        only,
    } = request;
    let dry_run = matches!(access, Access::DryRun);
    let relationship = setup.relationship;
    let sides = [Role::Source, Role::Target];
    let mut own_actors: BySide<Option<_>> = BySide::default();
    for side in sides {
        *own_actors.get_mut(side) = Some(
            setup
                .side(side)
                .platform
                .own_actor()
                .await
                .map_err(platform_error(side))?,
        );
    }
    let mut reader = Reader {
        setup,
        tickets: BySide::default(),
        asked: BySide::default(),
    };
    let mut cursors: BySide<Option<(OffsetDateTime, TicketId)>> = BySide::default();
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
            .await
            .map_err(GatherFailure::Store)?,
    );
    // Tickets to read even when quiet: a repair's one ticket, or those whose failures a person
    // or a change asked to retry.
    let wanted: Vec<(Role, TicketId)> = match &only {
        Some(tickets) => tickets.clone(),
        None => attention.retry_requested(),
    };

    // 1. Every page of changes since the window start (not for a repair).
    for side in sides.into_iter().filter(|_| only.is_none()) {
        let platform = &setup.side(side).platform;
        let mut after = None;
        loop {
            let page = platform
                .changed_tickets(&ChangedTicketsQuery {
                    since: *windows.get(side),
                    after: after.clone(),
                    page_size: settings.page_size,
                    own_activity_listed: own_activity_listed(&own_actors, &own_listed, side),
                })
                .await
                .map_err(platform_error(side))?;
            for ticket in page.tickets {
                let cursor = cursors.get_mut(side);
                let later = match cursor {
                    None => true,
                    Some((at, _)) => ticket.last_activity_at > *at,
                };
                if later {
                    *cursor = Some((ticket.last_activity_at, ticket.id.clone()));
                }
                reader
                    .tickets
                    .get_mut(side)
                    .insert(ticket.id.clone(), ticket);
            }
            // Read, but another relationship's: the cursor moves past it all the same.
            if let Some((at, id)) = page.read_through {
                let cursor = cursors.get_mut(side);
                if cursor.as_ref().is_none_or(|(seen, _)| at > *seen) {
                    *cursor = Some((at, id));
                }
            }
            if let Access::Leased(keeper) = &mut access {
                keep(keeper).await?;
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
    }

    // 2. Creates a stopped process may have made: look them up by marker (a repair leaves them
    // to the next sweep).
    let pending_creates = if only.is_some() {
        Vec::new()
    } else {
        store
            .pending_creates(relationship)
            .await
            .map_err(GatherFailure::Store)?
    };
    let mut unread: Vec<(TicketLink, PendingCreate)> = Vec::new();
    for pending in pending_creates {
        let copy_side = pending.origin.opposite();
        let link = store
            .link_by_ticket(relationship, pending.origin, &pending.origin_ticket)
            .await
            .map_err(GatherFailure::Store)?;
        if let Some(link) = link {
            if dry_run {
                continue;
            }
            if link.number(copy_side).is_empty() {
                // Created and linked, but a stop came before it was read back.
                unread.push((link, pending));
                continue;
            }
            // The link was saved; only clearing the entry was lost.
            store
                .clear_pending_create(relationship, pending.origin, &pending.origin_ticket)
                .await
                .map_err(GatherFailure::Store)?;
            continue;
        }
        let found = setup
            .side(copy_side)
            .platform
            .find_by_marker(&pending.marker)
            .await
            .map_err(platform_error(copy_side))?;
        match found {
            Some(copy) => {
                reader
                    .tickets
                    .get_mut(copy_side)
                    .insert(copy.id.clone(), copy);
                reader
                    .ensure(pending.origin, &pending.origin_ticket)
                    .await?;
            }
            None => {
                // The create never happened: plan the original again, even if it is older than
                // this run's window.
                if !dry_run {
                    store
                        .clear_pending_create(relationship, pending.origin, &pending.origin_ticket)
                        .await
                        .map_err(GatherFailure::Store)?;
                }
                reader
                    .ensure(pending.origin, &pending.origin_ticket)
                    .await?;
            }
        }
    }

    complete_unread_copies(store, setup, unread).await?;

    // 3. Tickets whose last record failed (with a growing pause between attempts; not those
    // waiting for a change or a person), and those wanted.
    let mut retried: BySide<Vec<TicketId>> = BySide::default();
    for (side, id) in &wanted {
        retried.get_mut(*side).push(id.clone());
    }
    let retries = if only.is_some() {
        Vec::new()
    } else {
        store
            .pending_retries(relationship)
            .await
            .map_err(GatherFailure::Store)?
    };
    for retry in retries {
        if retry.attempts >= settings.max_retry_attempts
            || now - retry.last_failed_at > settings.max_retry_age
            || now - retry.last_failed_at < retry_pause(retry.attempts)
        {
            continue;
        }
        let waits = |side: Role, id: &Option<TicketId>| {
            id.as_ref()
                .is_some_and(|id| attention.waits_for_change(side, id))
        };
        if waits(Role::Source, &retry.source_ticket) || waits(Role::Target, &retry.target_ticket) {
            continue;
        }
        if let Some(id) = &retry.source_ticket {
            retried.source.push(id.clone());
        }
        if let Some(id) = &retry.target_ticket {
            retried.target.push(id.clone());
        }
    }
    for side in sides {
        reader.ensure_all(side, retried.get(side)).await?;
    }

    // 4. Links, and the partners of linked tickets.
    let mut links: BTreeMap<TicketId, TicketLink> = BTreeMap::new();
    for side in sides {
        let ids: Vec<TicketId> = reader.tickets.get(side).keys().cloned().collect();
        if ids.is_empty() {
            continue;
        }
        for link in store
            .links_by_tickets(relationship, side, &ids)
            .await
            .map_err(GatherFailure::Store)?
        {
            links.insert(link.source.clone(), link);
        }
    }
    // A pair is quiet when each of its tickets that was read shows the very last activity a run
    // found in step (typically our own writes, read again through the overlap window): it needs
    // no further reading at all. Tickets being retried are never quiet.
    let quiet: Vec<TicketId> = links
        .values()
        .filter(|link| {
            let unchanged = |side: Role| {
                let id = link.ticket(side);
                !retried.get(side).contains(id)
                    && reader
                        .tickets
                        .get(side)
                        .get(id)
                        .is_none_or(|ticket| link.seen_activity(side, ticket.last_activity_at))
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
    // Deletions since the window start: a deleted ticket's partner is told and closed. Only
    // linked ones matter; a link already ended was handled by an earlier run.
    let mut deleted: BySide<Vec<DeletedTicket>> = BySide::default();
    for side in sides.into_iter().filter(|_| only.is_none()) {
        let found = setup
            .side(side)
            .platform
            .deleted_tickets(*windows.get(side))
            .await
            .map_err(platform_error(side))?;
        if found.is_empty() {
            continue;
        }
        let ids: Vec<TicketId> = found.iter().map(|ticket| ticket.id.clone()).collect();
        let linked: Vec<TicketLink> = store
            .links_by_tickets(relationship, side, &ids)
            .await
            .map_err(GatherFailure::Store)?
            .into_iter()
            .filter(|link| link.ended.is_none())
            .collect();
        *deleted.get_mut(side) = found
            .into_iter()
            .filter(|ticket| linked.iter().any(|link| link.ticket(side) == &ticket.id))
            .collect();
        for link in linked {
            reader.tickets.get_mut(side).remove(link.ticket(side));
            links.insert(link.source.clone(), link);
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

    // 5. Originals of unlinked copies that carry our marker.
    // Sets, not scans: an initial or large incremental run has thousands of tickets and links.
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
        own_actor: own_actors.get(side).clone(),
        tickets,
        deleted: std::mem::take(deleted.get_mut(side)),
    };
    // The snapshots move into the plan's input (a big run holds thousands of them).
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
        links: links.values().cloned().collect(),
        mappings: setup.mappings.clone(),
        composition: setup.composition.clone(),
        conflict_rule: setup.conflict_rule,
        attachment_size_limit: setup
            .source
            .platform
            .max_attachment_bytes()
            .min(setup.target.platform.max_attachment_bytes()),
    };

    // 6. Comments and attachments, only where they can matter (the planner says which tickets
    // can flow; the rest — other companies' tickets, ended or held pairs — cost nothing more).
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
        if let Access::Leased(keeper) = &mut access {
            keep(keeper).await?;
        }
        let mut attachments = platform
            .attachments_of_tickets(wanted)
            .await
            .map_err(platform_error(side))?;
        if let Access::Leased(keeper) = &mut access {
            keep(keeper).await?;
        }
        // Time entries (Autotask has no webhook for them: always read here), only when the
        // partner receives time, or when this side receives time entries (to find its copies).
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
            if let Access::Leased(keeper) = &mut access {
                keep(keeper).await?;
            }
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
    Ok(Gathered {
        input,
        cursors,
        attention,
    })
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
