//! A run's tickets a group at a time: read, plan, apply and record one group, drop it, go on —
//! so a run's memory is bounded by a group (`EngineSettings::apply_page` tickets with their
//! partners, comments, attachments and time entries), not by its window.
//!
//! Order (a window run; a repair or a webhook's run is one group of the tickets it names):
//! 1. every page of each side's changes is listed first, as the whole-window gather did — the
//!    cursors come from this listing alone, so a change made while the run works (even to a
//!    ticket already done) is later than the cursor and read by the next run. Quiet pairs (found
//!    in step at exactly the activity listed) are left out as each page is listed (one store
//!    query per page); of the tickets left, the first group's snapshots are kept, of the rest
//!    only id and last activity;
//! 2. the deletions since the window start (linked tickets only);
//! 3. group 0: what a run reads besides its window — pending creates (by marker, unread links
//!    completed first), retries — with every deletion and its partner;
//! 4. the listed tickets in groups of `apply_page` (source side first; a group may hold both
//!    sides', so a small window is one group and costs the calls the whole-window gather did):
//!    a group's tickets beyond the kept ones are read again by id (one call per side), then its
//!    links, partners, copies of its unlinked tickets listed elsewhere, originals and content
//!    are read, it is planned, held back where attention says, applied and recorded
//!    (`SyncEngine::apply_group`), and dropped.
//!
//! A ticket is planned at most once per state: every ticket a group planned is remembered with
//! the last activity it was planned with, and a listed ticket already planned with that activity
//! or a later one (a ticket changed on both sides is listed on both, and the partner of a
//! listed ticket is read with it) is left out of later groups. What the run wrote itself is
//! later than the cursor, so the next run sees it, exactly as after a whole-window run.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use fusion_domain::sync::{
    PlanInput, RecordOutcome, SyncRun, TicketId, TicketMarker, TicketSnapshot,
};
use fusion_domain::{BySide, Role};
use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use time::OffsetDateTime;

use super::{EngineError, LEASE_LOST, RunSummary, STOPPED, SyncEngine, activity_of};
use crate::apply::{TicketApplier, TicketResult};
use crate::attention::{AppliedTicket, AttentionBook};
use crate::budget::BudgetWait;
use crate::control::RunControl;
use crate::gather::{Cursors, GatherFailure, GroupDeletions, MarkedCopies, RunReads};
use crate::lease_keeper::LeaseKeeper;
use crate::platform::PlatformError;
use crate::setup::SyncSetup;

/// Where a run stands between groups.
pub(super) struct RunState<'r> {
    pub summary: RunSummary,
    /// The run stopped (asked to, lost its lease, a platform or budget failure): it keeps the
    /// old cursors and is recorded as Failed.
    pub stopped: bool,
    /// The API budget stopped the run between tickets: the rest waits (cursors kept), recorded
    /// as Partial, not Failed.
    pub budget_paused: bool,
    /// No further ticket starts (those in flight finish).
    halted: bool,
    /// New failures: the run is Partial.
    pub partial: bool,
    /// Failures already needing attention happened again.
    pub known_failures: bool,
    /// Slow start: how many tickets may be applied at once now.
    allowed: usize,
    /// Tickets planned so far and tickets done so far (the observer's running totals).
    planned: usize,
    done: usize,
    pub keeper: LeaseKeeper<'r>,
    /// Every ticket planned in this run, with the last activity it was planned with.
    planned_at: HashMap<(Role, TicketId), OffsetDateTime>,
}

impl<'r> RunState<'r> {
    pub fn new(summary: RunSummary, keeper: LeaseKeeper<'r>) -> Self {
        Self {
            summary,
            stopped: false,
            budget_paused: false,
            halted: false,
            partial: false,
            known_failures: false,
            allowed: 1,
            planned: 0,
            done: 0,
            keeper,
            planned_at: HashMap::new(),
        }
    }

    /// Tells the observer of a run that planned nothing (every group was empty).
    pub fn nothing_planned(&self, control: &RunControl) {
        if self.planned == 0 {
            control.planned(0);
        }
    }

    /// Records why the run stops (a gather that failed); store failures end the run at once.
    /// Reading that met the closed budget gate waits (`budget`: the governor's wait), it did not
    /// fail.
    pub fn gather_failed(
        &mut self,
        setup: &SyncSetup,
        failure: GatherFailure,
        budget: Option<BudgetWait>,
    ) -> Result<(), EngineError> {
        let mut waits = false;
        self.summary.error = Some(match failure {
            GatherFailure::Store(error) => return Err(error.into()),
            GatherFailure::LeaseLost => LEASE_LOST.into(),
            GatherFailure::Platform(side, error) => {
                waits = matches!(error, PlatformError::BudgetExhausted(_));
                super::side_error(setup, side, &error)
            }
        });
        if waits {
            self.budget_paused = true;
            self.summary.waiting_for_budget = budget;
        } else {
            self.stopped = true;
        }
        self.halted = true;
        Ok(())
    }

    /// Whether `ticket` (listed on `side`) was planned already with this state or a later one.
    fn planned_already(&self, side: Role, id: &TicketId, listed_at: OffsetDateTime) -> bool {
        self.planned_at
            .get(&(side, id.clone()))
            .is_some_and(|planned| *planned >= listed_at)
    }
}

/// A listed ticket that needs work (quiet pairs are left out as they are listed), in listing
/// order: the first group's snapshots as read, then only id and last activity — read again with
/// their group.
enum Listed {
    /// Boxed: most entries of a big window are ids.
    Kept(Role, Box<TicketSnapshot>),
    ById(Role, TicketId, OffsetDateTime),
}

impl SyncEngine {
    /// A window run's tickets, a group at a time. Returns the cursors to save, or `None` when a
    /// gather failure stopped the run (recorded in `state`).
    pub(super) async fn run_groups(
        &self,
        setup: &SyncSetup,
        run: &SyncRun,
        windows: BySide<OffsetDateTime>,
        own_listed: BySide<Option<OffsetDateTime>>,
        state: &mut RunState<'_>,
        control: &RunControl,
    ) -> Result<Option<Cursors>, EngineError> {
        let group_size = self.settings.apply_page.max(1);
        let outcome = async {
            let (reads, attention) = RunReads::start(
                self.store.as_ref(),
                setup,
                &self.settings,
                windows,
                own_listed,
                self.clock.now(),
                false,
            )
            .await?;
            let mut cursors = Cursors::default();
            let mut listed: Vec<Listed> = Vec::new();
            let mut marked = MarkedCopies::new();
            for side in [Role::Source, Role::Target] {
                let mut after = None;
                loop {
                    let page = reads.changed_page(side, after, &mut cursors).await?;
                    let next = page.next;
                    for ticket in reads.without_quiet(side, page.tickets).await? {
                        if let Some(parts) = ticket.marker.as_deref().and_then(TicketMarker::parse)
                            && parts.relationship == setup.relationship
                            && parts.origin != side
                        {
                            marked
                                .entry((parts.origin, parts.origin_ticket))
                                .or_default()
                                .push(ticket.id.clone());
                        }
                        listed.push(if listed.len() < group_size {
                            Listed::Kept(side, Box::new(ticket))
                        } else {
                            Listed::ById(side, ticket.id, ticket.last_activity_at)
                        });
                    }
                    keep(&mut state.keeper).await?;
                    match next {
                        Some(next) => after = Some(next),
                        None => break,
                    }
                }
            }
            let (deleted, deleted_links) = reads.deletions().await?;
            Ok::<_, GatherFailure>((
                reads,
                attention,
                cursors,
                listed,
                marked,
                deleted,
                deleted_links,
            ))
        }
        .await;
        let (reads, mut attention, cursors, listed, marked, deleted, deleted_links) = match outcome
        {
            Ok(started) => started,
            Err(failure) => {
                state.gather_failed(setup, failure, self.budget_wait(setup))?;
                return Ok(None);
            }
        };

        // Group 0: what the run reads besides its window, with every deletion.
        let mut reader = reads.reader();
        let input = match reads.seed(&mut reader, &attention, None).await {
            Ok(retried) => {
                let deletions = GroupDeletions::All(deleted.clone(), deleted_links);
                reads
                    .input(
                        reader,
                        &retried,
                        deletions,
                        Some(&marked),
                        Some(&mut state.keeper),
                    )
                    .await
            }
            Err(failure) => Err(failure),
        };
        match input {
            Ok(input) => {
                self.apply_group(setup, run, input, &mut attention, state, control)
                    .await?
            }
            Err(failure) => {
                state.gather_failed(setup, failure, self.budget_wait(setup))?;
                return Ok(None);
            }
        }

        // The listed tickets that need work, a group at a time (source first).
        let no_retries = BySide::default();
        let mut listed = listed.into_iter().peekable();
        while listed.peek().is_some() {
            if state.halted {
                break;
            }
            // Tickets already planned with this state (or a later one) are left out.
            let mut reader = reads.reader();
            let mut ids: BySide<Vec<TicketId>> = BySide::default();
            for entry in listed.by_ref().take(group_size) {
                match entry {
                    Listed::Kept(side, ticket) => {
                        if !state.planned_already(side, &ticket.id, ticket.last_activity_at) {
                            reader.insert(side, *ticket);
                        }
                    }
                    Listed::ById(side, id, at) => {
                        if !state.planned_already(side, &id, at) {
                            ids.get_mut(side).push(id);
                        }
                    }
                }
            }
            if reader.is_empty() && ids.source.is_empty() && ids.target.is_empty() {
                continue;
            }
            let keeper = &mut state.keeper;
            let gathered = async {
                for side in [Role::Source, Role::Target] {
                    reader.read(side, ids.get(side)).await?;
                }
                reads
                    .input(
                        reader,
                        &no_retries,
                        GroupDeletions::OfPartners(&deleted),
                        Some(&marked),
                        Some(keeper),
                    )
                    .await
            }
            .await;
            match gathered {
                Ok(input) => {
                    self.apply_group(setup, run, input, &mut attention, state, control)
                        .await?
                }
                Err(failure) => {
                    state.gather_failed(setup, failure, self.budget_wait(setup))?;
                    break;
                }
            }
        }
        if state.halted {
            return Ok(None);
        }
        Ok(Some(cursors))
    }

    /// Plans one group's input and applies it in pages of `EngineSettings::apply_page` tickets,
    /// several tickets at once (`apply_concurrency`, after a slow start; each ticket's actions
    /// in order, its link saved when it is done — see `apply`); at the end of a page, reads back
    /// the copies it created together and completes their links (`apply/read_back.rs`), then
    /// records the page's tickets. The group's plan goes into the summary.
    pub(super) async fn apply_group(
        &self,
        setup: &SyncSetup,
        run: &SyncRun,
        input: PlanInput,
        attention: &mut AttentionBook,
        state: &mut RunState<'_>,
        control: &RunControl,
    ) -> Result<(), EngineError> {
        let mut plan = fusion_domain::sync::plan(&input);
        let activity = activity_of(&input);
        let held_back = attention.hold_back(&mut plan, &activity);
        for (key, at) in &activity {
            let planned = state.planned_at.entry(key.clone()).or_insert(*at);
            *planned = (*planned).max(*at);
        }
        let applier = TicketApplier {
            store: self.store.as_ref(),
            clock: self.clock.as_ref(),
            setup,
            run: run.id,
            own_actors: BySide::from_fn(|side| input.side(side).own_actor.clone()),
            activity,
            companies: [Role::Source, Role::Target]
                .into_iter()
                .flat_map(|side| {
                    input.side(side).tickets.iter().map(move |state| {
                        (
                            (side, state.ticket.id.clone()),
                            state.ticket.company.clone(),
                        )
                    })
                })
                .collect(),
            field_rules: BySide::from_fn(|side| setup.side(side).platform.field_rules()),
        };
        // The plan carries everything the writes need: the snapshots, comments and attachment
        // lists read for planning go before the apply starts, so a group holds its input and its
        // plan at the same time only while planning.
        drop(input);
        // The observer hears the plan grow, a group at a time (an empty group tells nothing
        // new; a run that plans nothing at all is told so at its end).
        if !plan.tickets.is_empty() {
            state.planned += plan.tickets.len();
            control.planned(state.planned);
        }
        let concurrency = self.settings.apply_concurrency.max(1);
        let page_size = self.settings.apply_page.max(1);
        // Once set, no further ticket starts; those in flight finish (a stop falls between
        // tickets). A queued ticket starts only when it is first polled, so one queued behind a
        // stop or a lost lease never does (`halt`).
        let halt = AtomicBool::new(state.halted);
        for (page_number, page) in plan.tickets.chunks(page_size).enumerate() {
            if state.halted {
                break;
            }
            let base = page_number * page_size;
            let mut done: Vec<(usize, TicketResult)> = Vec::with_capacity(page.len());
            let mut stop_reason: Option<String> = None;
            let mut in_flight = FuturesOrdered::new();
            let mut next = 0;
            loop {
                // Slow start: one ticket first, twice as many after each one done, up to
                // `concurrency` — a run that cannot work (credentials, budget) fails on its
                // first ticket, and a stop early in a run leaves little in flight.
                while !state.halted && in_flight.len() < state.allowed && next < page.len() {
                    if control.is_stopped() {
                        state.summary.error = Some(STOPPED.into());
                        state.stopped = true;
                        state.halted = true;
                        halt.store(true, Ordering::Relaxed);
                        break;
                    }
                    if let Some(wait) = self.budget_wait(setup) {
                        // The rest waits for the API budget; the cursors stay.
                        state.summary.waiting_for_budget = Some(wait);
                        state.budget_paused = true;
                        state.halted = true;
                        halt.store(true, Ordering::Relaxed);
                        break;
                    }
                    let (applier, halt) = (&applier, &halt);
                    let ticket_plan = &page[next];
                    let index = base + next;
                    in_flight.push_back(async move {
                        if halt.load(Ordering::Relaxed) || control.is_stopped() {
                            return (index, None);
                        }
                        (index, Some(applier.apply(ticket_plan).await))
                    });
                    next += 1;
                }
                let Some((index, result)) = in_flight.next().await else {
                    break;
                };
                let Some(result) = result else {
                    // Not started: stopped (or halted) before its turn.
                    if !state.halted {
                        state.summary.error = Some(STOPPED.into());
                        state.stopped = true;
                        state.halted = true;
                    }
                    continue;
                };
                let result = result?;
                state.allowed = (state.allowed * 2).min(concurrency);
                state.done += 1;
                control.ticket_done(state.done, state.planned);
                if let Some(reason) = &result.stop
                    && stop_reason.is_none()
                {
                    stop_reason = Some(reason.clone());
                    if result.waits_for_budget {
                        // Refused before anything was sent: a wait, not a failure.
                        state.summary.waiting_for_budget = self.budget_wait(setup);
                        state.budget_paused = true;
                    } else {
                        state.stopped = true;
                    }
                    state.halted = true;
                    halt.store(true, Ordering::Relaxed);
                }
                done.push((index, result));
                if !state.halted && state.keeper.keep().await?.is_err() {
                    state.summary.error = Some(LEASE_LOST.into());
                    state.stopped = true;
                    state.halted = true;
                    halt.store(true, Ordering::Relaxed);
                }
            }
            drop(in_flight);
            applier.complete_read_backs(&mut done).await?;
            let mut records = Vec::with_capacity(done.len());
            for (index, mut result) in done {
                let ticket_plan = &plan.tickets[index];
                state.summary.counts.conflicts += result.conflicts;
                let held = held_back.get(&index).map(Vec::as_slice).unwrap_or_default();
                let original_activity = ticket_plan.ticket(ticket_plan.origin).and_then(|t| {
                    applier
                        .activity
                        .get(&(ticket_plan.origin, t.id.clone()))
                        .copied()
                });
                // Where the pair stands now (a copy created in this run has its number).
                let link_now = if result.failures.is_empty() {
                    None
                } else {
                    result.link.as_ref()
                };
                let news = attention
                    .after_ticket(
                        self.store.as_ref(),
                        AppliedTicket {
                            plan: ticket_plan,
                            link: link_now,
                            held,
                            failures: &result.failures,
                            activity: original_activity,
                            stopped: result.stop.is_some(),
                        },
                        self.clock.now(),
                    )
                    .await?;
                if result.partial {
                    if news || result.failures.is_empty() {
                        state.partial = true;
                    } else {
                        state.known_failures = true;
                    }
                }
                if result.record.is_none() {
                    result.record = applier.skipped_record(ticket_plan, !held.is_empty());
                }
                let counts = &mut state.summary.counts;
                match result.record {
                    None => counts.skipped += 1,
                    Some(record) => {
                        match record.outcome {
                            RecordOutcome::Created => counts.created += 1,
                            RecordOutcome::Updated => counts.updated += 1,
                            RecordOutcome::Closed => counts.closed += 1,
                            RecordOutcome::Failed => counts.failed += 1,
                            RecordOutcome::Held | RecordOutcome::Skipped => counts.skipped += 1,
                        }
                        if state.summary.error.is_none() {
                            state.summary.error = record
                                .error
                                .clone()
                                .or_else(|| record.notes.first().cloned());
                        }
                        records.push(record);
                    }
                }
            }
            // The page's records in one store transaction.
            self.store.add_records(&records).await?;
            state.summary.records.extend(records);
            if let Some(reason) = stop_reason {
                state.summary.error = Some(reason);
            }
        }
        state.summary.counts.attention = attention.tickets_needing_attention();
        state.summary.plan.tickets.extend(plan.tickets);
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
