//! `SyncEngine::sync_once`: one run of one relationship, from leases to history.
//!
//! Order of a run (each step's failure mode in brackets):
//! 1. claim the relationship lease and both platform databases' leases [busy → `EngineError::Busy`];
//! 2. close runs a stopped process left Running, start the run record (not for a dry run);
//! 3. gather: own actors, pending creates (looked up by marker), each side's changed tickets since
//!    its cursor minus the overlap (all pages), tickets to retry, the partners of linked tickets,
//!    then comments and attachments of the tickets that can need them;
//! 4. plan (pure); a dry run stops here and returns the plan;
//! 5. apply the plan in pages of `EngineSettings::apply_page` tickets, several tickets at once
//!    (`apply_concurrency`, after a slow start; each ticket's actions in order, its link saved
//!    when it is done — see `apply`); at the end of a page, read back the copies it created
//!    together and complete their links (`apply/read_back.rs`), then record the page's tickets;
//! 6. advance each side's cursor to the latest activity seen — only when every ticket of the
//!    window was applied or recorded as failed (a run stopped by an authentication failure or a
//!    used-up budget keeps the old cursors);
//! 7. finish the run record, release the leases.
//!
//! A crash (the future dropped) at any point leaves the leases to expire, the run `Running` (the
//! next run closes it as Failed), the cursors where they were and every write already made
//! recorded in its link or findable by marker/content, so the next run converges without
//! duplicates. A pair found in step is remembered by its tickets' last activity (the link's
//! `@lastActivity` fingerprint), so the overlap window does not make quiet tickets cost calls.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::ports::{Lease, LeaseKey, RunFilter, RunFinish, StoreError, SyncStore};
use fusion_domain::sync::{
    Plan, RecordOutcome, RunCounts, RunStatus, RunTrigger, SyncCursor, SyncRecord, SyncRun,
    TicketId,
};
use fusion_domain::{BySide, Clock, RelationshipId, Role};
use time::OffsetDateTime;

use crate::apply::{TicketApplier, TicketResult};
use crate::attention::AppliedTicket;
use crate::control::RunControl;
use crate::gather::{Access, GatherFailure, GatherRequest, Gathered, gather};
use crate::lease_keeper::LeaseKeeper;
use crate::platform::PlatformError;
use crate::repair::{RepairError, RepairStep};
use crate::setup::{EngineSettings, SyncSetup};
use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;

/// What kind of run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncMode {
    /// A person's run with a start date: both sides' changes since `since` (the cursors are
    /// ignored for reading and set afterwards). The first one sets the baseline.
    Manual { since: OffsetDateTime },
    /// The scheduler's run: each side since its cursor (minus the overlap). Needs a baseline.
    Automatic,
    /// What the next run would do, writing nothing (no run record, no lease): since `since` if
    /// given, else since the cursors.
    DryRun { since: Option<OffsetDateTime> },
    /// A person's repair of one ticket (Retry now, Resync, Link): only the ticket on `side` with
    /// id `ticket` is read (with its partner and their comments and attachments), planned and
    /// applied through the same guard; no cursor moves. Its failures held back until a change are
    /// retried (the caller asks for that first).
    Repair {
        side: Role,
        ticket: TicketId,
        step: RepairStep,
    },
    /// A platform's webhook named these tickets (each on its side): only they are read (with
    /// their partners and content), planned and applied under the same leases and rules as any
    /// run — the company scope, the mappings, the privacy guard. No cursor moves: the sweeps
    /// (now the safety net) keep reading windows.
    Webhook { tickets: Vec<(Role, TicketId)> },
}

/// Why a run could not be carried out at all (a run that ran and failed is a `RunSummary` with
/// status Failed instead).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Another process (or an earlier run not yet expired) holds a lease.
    #[error("{0} is being synced by another process; try again when it finishes")]
    Busy(String),
    /// An automatic run before the baseline was set.
    #[error("initial sync required: run a manual sync with a start date first")]
    InitialSyncRequired,
    #[error("the sync database failed: {0}")]
    Store(#[from] StoreError),
    /// Asked to stop (the process is shutting down) before the run started.
    #[error("the process is shutting down; the sync will run after it starts again")]
    Stopped,
    /// A repair that does not apply (nothing was changed).
    #[error(transparent)]
    Repair(#[from] RepairError),
}

impl EngineError {
    pub fn is_retryable(&self) -> bool {
        match self {
            EngineError::Busy(_) => true,
            EngineError::InitialSyncRequired => false,
            EngineError::Stopped => true,
            EngineError::Store(error) => error.is_retryable(),
            EngineError::Repair(_) => false,
        }
    }
}

/// What a run did (or, for a dry run, would do).
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// The stored run (`None` for a dry run).
    pub run: Option<SyncRun>,
    pub status: RunStatus,
    pub counts: RunCounts,
    pub records: Vec<SyncRecord>,
    /// The plan (always for a dry run; also returned by real runs for logging).
    pub plan: Plan,
    pub calls_used: u64,
    pub error: Option<String>,
    /// Whether the cursors were saved (the first manual run that does so sets the baseline: the
    /// caller then moves the relationship to "Ready for automatic sync").
    pub cursors_advanced: bool,
}

/// Runs syncs.
#[derive(Clone)]
pub struct SyncEngine {
    store: Arc<dyn SyncStore>,
    clock: Arc<dyn Clock>,
    settings: EngineSettings,
}

impl std::fmt::Debug for SyncEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncEngine")
            .field("clock", &self.clock)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl SyncEngine {
    pub fn new(store: Arc<dyn SyncStore>, clock: Arc<dyn Clock>, settings: EngineSettings) -> Self {
        Self {
            store,
            clock,
            settings,
        }
    }

    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    pub(crate) fn store(&self) -> &dyn SyncStore {
        self.store.as_ref()
    }

    /// One run of `setup.relationship` in `mode`.
    pub async fn sync_once(
        &self,
        setup: &SyncSetup,
        mode: SyncMode,
    ) -> Result<RunSummary, EngineError> {
        self.sync_once_with(setup, mode, &RunControl::default())
            .await
    }

    /// One run, observed and stoppable through `control`. A run asked to stop finishes the
    /// ticket in hand, keeps the old cursors and is recorded as Failed with the reason; the next
    /// run carries on from there.
    pub async fn sync_once_with(
        &self,
        setup: &SyncSetup,
        mode: SyncMode,
        control: &RunControl,
    ) -> Result<RunSummary, EngineError> {
        if control.is_stopped() {
            return Err(EngineError::Stopped);
        }
        if let SyncMode::DryRun { since } = mode {
            return self.dry_run(setup, since, control).await;
        }
        let leases = self.claim_leases(setup).await?;
        let result = self.run_with_leases(setup, mode, &leases, control).await;
        for lease in &leases {
            // Best effort: an unreleased lease simply expires.
            let _ = self.store.release_lease(lease).await;
        }
        result
    }

    async fn claim_leases(&self, setup: &SyncSetup) -> Result<Vec<Lease>, EngineError> {
        let mut keys = vec![LeaseKey::Relationship(setup.relationship)];
        let databases: BTreeSet<String> = [
            setup.source.platform.database_key(),
            setup.target.platform.database_key(),
        ]
        .into_iter()
        .collect();
        keys.extend(databases.into_iter().map(LeaseKey::Database));
        let mut held = Vec::new();
        for key in keys {
            let now = self.clock.now();
            match self
                .store
                .claim_lease(&key, &self.settings.holder, now, self.settings.lease_ttl)
                .await
            {
                Ok(Some(lease)) => held.push(lease),
                outcome => {
                    for lease in &held {
                        let _ = self.store.release_lease(lease).await;
                    }
                    outcome?;
                    let what = match key {
                        LeaseKey::Relationship(_) => "This relationship".to_owned(),
                        LeaseKey::Database(name) => format!("The platform database {name}"),
                    };
                    return Err(EngineError::Busy(what));
                }
            }
        }
        Ok(held)
    }

    /// Where each side's reading starts: the start date if given, else the cursor minus the
    /// overlap. No cursor and no start date: the baseline is missing.
    async fn windows(
        &self,
        setup: &SyncSetup,
        since: Option<OffsetDateTime>,
    ) -> Result<BySide<OffsetDateTime>, EngineError> {
        let mut windows = BySide::new(OffsetDateTime::UNIX_EPOCH, OffsetDateTime::UNIX_EPOCH);
        for side in [Role::Source, Role::Target] {
            *windows.get_mut(side) = match since {
                Some(since) => since,
                None => match self.store.cursor(setup.relationship, side).await? {
                    Some(cursor) => cursor.last_activity_at - self.settings.overlap,
                    None => return Err(EngineError::InitialSyncRequired),
                },
            };
        }
        Ok(windows)
    }

    /// Per side, before when the sync's own last activity need not be listed again
    /// ([`crate::OwnActivityListed`]): the side's cursor, when a run read it from a ticket. The
    /// cursor moves only when a run completed, to the latest activity that run listed; that run
    /// listed every ticket whose activity is at or after the previous cursor (nothing is left out
    /// from there on), so a ticket whose last activity is ours and earlier than the cursor was
    /// listed after that activity — by that run or, inductively, an earlier one. Sound because a
    /// run lists every page before its first write (order above, 3 before 5): our writes of a
    /// run come after all it listed, so they are later than the cursor it saves and the next run
    /// lists them. A run that wrote between pages would have to use the latest activity listed
    /// before its first write instead. A person's edit between our read and our write is not at
    /// risk: our write is later than the cursor, so the next run lists the ticket and sees it.
    /// None for a run with a start date (it reads what the person asked for) and for a cursor
    /// that is a start date rather than a ticket's activity (our clock, not the platform's).
    async fn own_activity_listed_before(
        &self,
        setup: &SyncSetup,
        since: Option<OffsetDateTime>,
    ) -> Result<BySide<Option<OffsetDateTime>>, EngineError> {
        let mut before = BySide::default();
        if since.is_some() {
            return Ok(before);
        }
        for side in [Role::Source, Role::Target] {
            *before.get_mut(side) = self
                .store
                .cursor(setup.relationship, side)
                .await?
                .filter(|cursor| cursor.last_id.is_some())
                .map(|cursor| cursor.last_activity_at);
        }
        Ok(before)
    }

    async fn dry_run(
        &self,
        setup: &SyncSetup,
        since: Option<OffsetDateTime>,
        control: &RunControl,
    ) -> Result<RunSummary, EngineError> {
        let calls_before = setup.calls_used();
        let windows = self.windows(setup, since).await?;
        let own_listed = self.own_activity_listed_before(setup, since).await?;
        let outcome = gather(GatherRequest {
            store: self.store.as_ref(),
            setup,
            settings: &self.settings,
            windows,
            own_listed,
            now: self.clock.now(),
            access: Access::DryRun,
            only: None,
        })
        .await;
        let calls_used = setup.calls_used() - calls_before;
        match outcome {
            Ok(gathered) => {
                let mut plan = fusion_domain::sync::plan(&gathered.input);
                gathered
                    .attention
                    .hold_back(&mut plan, &activity_of(&gathered.input));
                control.planned(plan.tickets.len());
                let counts = estimated_counts(&plan);
                let status = if !plan.writes() && counts.failed == 0 {
                    RunStatus::NoTicketsFound
                } else if counts.failed > 0 || plan.actions().any(|action| action.is_failure()) {
                    RunStatus::Partial
                } else {
                    RunStatus::Success
                };
                Ok(RunSummary {
                    run: None,
                    status,
                    counts,
                    records: Vec::new(),
                    plan,
                    calls_used,
                    error: None,
                    cursors_advanced: false,
                })
            }
            Err(GatherFailure::Store(error)) => Err(error.into()),
            Err(GatherFailure::LeaseLost) => Err(EngineError::Busy("This relationship".into())),
            Err(GatherFailure::Platform(side, error)) => Ok(RunSummary {
                run: None,
                status: RunStatus::Failed,
                counts: RunCounts::default(),
                records: Vec::new(),
                plan: Plan::default(),
                calls_used,
                error: Some(side_error(setup, side, &error)),
                cursors_advanced: false,
            }),
        }
    }

    async fn run_with_leases(
        &self,
        setup: &SyncSetup,
        mode: SyncMode,
        leases: &[Lease],
        control: &RunControl,
    ) -> Result<RunSummary, EngineError> {
        let (trigger, since, only) = match mode.clone() {
            SyncMode::Manual { since } => (RunTrigger::Manual, Some(since), None),
            SyncMode::Repair { side, ticket, .. } => {
                (RunTrigger::Repair, None, Some(vec![(side, ticket)]))
            }
            SyncMode::Webhook { tickets } => (RunTrigger::Webhook, None, Some(tickets)),
            _ => (RunTrigger::Automatic, None, None),
        };
        let repair_notes = match &mode {
            SyncMode::Repair { side, ticket, step } => {
                let by = control.started_by.as_deref().unwrap_or("a person");
                Some(
                    self.prepare_repair(setup, *side, ticket, step, by, self.clock.now())
                        .await??,
                )
            }
            _ => None,
        };
        let (windows, own_listed) = match only {
            // A repair or a webhook's run reads no window.
            Some(_) => (
                BySide::new(self.clock.now(), self.clock.now()),
                BySide::default(),
            ),
            None => (
                self.windows(setup, since).await?,
                self.own_activity_listed_before(setup, since).await?,
            ),
        };
        self.finish_abandoned_runs(setup.relationship).await?;
        let calls_before = setup.calls_used();
        let run = self
            .store
            .start_run(
                setup.relationship,
                trigger,
                since,
                self.clock.now(),
                control.started_by.as_deref(),
            )
            .await?;
        control.run_started(&run);
        if let (Some(notes), SyncMode::Repair { side, ticket, step }) = (repair_notes, &mode) {
            let link = self
                .store
                .link_by_ticket(setup.relationship, *side, ticket)
                .await?;
            let record = crate::repair::repair_record(
                step,
                &run,
                link.as_ref(),
                *side,
                ticket,
                notes,
                self.clock.now(),
            );
            self.store.add_record(&record).await?;
        }
        match self
            .execute(
                setup,
                &run,
                RunWindow {
                    since,
                    windows,
                    own_listed,
                    only,
                },
                leases,
                calls_before,
                control,
            )
            .await
        {
            Ok(summary) => Ok(summary),
            Err(error) => {
                // Best effort: the store may be what failed. A run left Running is harmless.
                let _ = self
                    .store
                    .finish_run(
                        run.id,
                        &RunFinish {
                            status: RunStatus::Failed,
                            counts: RunCounts::default(),
                            finished_at: self.clock.now(),
                            calls_used: setup.calls_used() - calls_before,
                            error: Some(error.to_string()),
                        },
                    )
                    .await;
                Err(error)
            }
        }
    }

    /// Runs still Running while we hold the relationship's lease were abandoned by a process that
    /// stopped (its lease expired): history shows them as Failed with that reason.
    async fn finish_abandoned_runs(&self, relationship: RelationshipId) -> Result<(), EngineError> {
        let abandoned = self
            .store
            .sync_runs(&RunFilter {
                relationship: Some(relationship),
                status: Some(RunStatus::Running),
                started_from: None,
                started_before: None,
                limit: 100,
            })
            .await?;
        for run in abandoned {
            self.store
                .finish_run(
                    run.id,
                    &RunFinish {
                        status: RunStatus::Failed,
                        counts: run.counts,
                        finished_at: self.clock.now(),
                        calls_used: run.calls_used,
                        error: Some(
                            "the process running this sync stopped before it finished; the next \
                             run carried on from where it had got to"
                                .into(),
                        ),
                    },
                )
                .await?;
        }
        Ok(())
    }

    /// The body of a run once its record exists.
    async fn execute(
        &self,
        setup: &SyncSetup,
        run: &SyncRun,
        RunWindow {
            since,
            windows,
            own_listed,
            only,
        }: RunWindow,
        leases: &[Lease],
        calls_before: u64,
        control: &RunControl,
    ) -> Result<RunSummary, EngineError> {
        let mut summary = RunSummary {
            run: None,
            status: RunStatus::Running,
            counts: RunCounts::default(),
            records: Vec::new(),
            plan: Plan::default(),
            calls_used: 0,
            error: None,
            cursors_advanced: false,
        };
        let mut stopped = false;
        let mut partial = false;
        let mut known_failures = false;
        // Only the named tickets are read: no window, so no cursor moves.
        let targeted = only.is_some();
        let repair = matches!(run.trigger, RunTrigger::Repair);
        let mut keeper = LeaseKeeper::new(
            self.store.as_ref(),
            self.clock.as_ref(),
            self.settings.lease_ttl,
            leases.to_vec(),
        );
        match gather(GatherRequest {
            store: self.store.as_ref(),
            setup,
            settings: &self.settings,
            windows,
            own_listed,
            now: self.clock.now(),
            access: Access::Leased(&mut keeper),
            only,
        })
        .await
        {
            Err(GatherFailure::Store(error)) => return Err(error.into()),
            Err(GatherFailure::LeaseLost) => {
                summary.error = Some(LEASE_LOST.into());
                stopped = true;
            }
            Err(GatherFailure::Platform(side, error)) => {
                summary.error = Some(side_error(setup, side, &error));
                stopped = true;
            }
            Ok(Gathered {
                input,
                cursors,
                attention,
            }) => {
                let mut plan = fusion_domain::sync::plan(&input);
                let activity = activity_of(&input);
                let mut attention = attention;
                let held_back = attention.hold_back(&mut plan, &activity);
                let applier = TicketApplier {
                    store: self.store.as_ref(),
                    clock: self.clock.as_ref(),
                    setup,
                    run: run.id,
                    own_actors: BySide::from_fn(|side| input.side(side).own_actor.clone()),
                    activity: activity.clone(),
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
                // The plan carries everything the writes need: the snapshots, comments and
                // attachment lists read for planning go before the apply starts, so a big run
                // holds its input and its plan at the same time only while planning.
                drop(input);
                let total = plan.tickets.len();
                control.planned(total);
                let concurrency = self.settings.apply_concurrency.max(1);
                // Slow start: one ticket first, twice as many after each one done, up to
                // `concurrency` — a run that cannot work (credentials, budget) fails on its first
                // ticket, and a stop early in a run leaves little in flight.
                let mut allowed = 1;
                let page_size = self.settings.apply_page.max(1);
                // Once set, no further ticket starts; those in flight finish (a stop falls
                // between tickets). A queued ticket starts only when it is first polled, so
                // one queued behind a stop or a lost lease never does (`halt`).
                let mut halted = false;
                let halt = AtomicBool::new(false);
                for (page_number, page) in plan.tickets.chunks(page_size).enumerate() {
                    let base = page_number * page_size;
                    let mut done: Vec<(usize, TicketResult)> = Vec::with_capacity(page.len());
                    let mut stop_reason: Option<String> = None;
                    let mut in_flight = FuturesOrdered::new();
                    let mut next = 0;
                    loop {
                        while !halted && in_flight.len() < allowed && next < page.len() {
                            if control.is_stopped() {
                                summary.error = Some(STOPPED.into());
                                stopped = true;
                                halted = true;
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
                            if !halted {
                                summary.error = Some(STOPPED.into());
                                stopped = true;
                                halted = true;
                            }
                            continue;
                        };
                        let result = result?;
                        allowed = (allowed * 2).min(concurrency);
                        control.ticket_done(index + 1, total);
                        if let Some(reason) = &result.stop
                            && stop_reason.is_none()
                        {
                            stop_reason = Some(reason.clone());
                            stopped = true;
                            halted = true;
                            halt.store(true, Ordering::Relaxed);
                        }
                        done.push((index, result));
                        if !halted && keeper.keep().await?.is_err() {
                            summary.error = Some(LEASE_LOST.into());
                            stopped = true;
                            halted = true;
                            halt.store(true, Ordering::Relaxed);
                        }
                    }
                    drop(in_flight);
                    applier.complete_read_backs(&mut done).await?;
                    let mut records = Vec::with_capacity(done.len());
                    for (index, mut result) in done {
                        let ticket_plan = &plan.tickets[index];
                        summary.counts.conflicts += result.conflicts;
                        let held = held_back.get(&index).map(Vec::as_slice).unwrap_or_default();
                        let original_activity =
                            ticket_plan.ticket(ticket_plan.origin).and_then(|t| {
                                activity.get(&(ticket_plan.origin, t.id.clone())).copied()
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
                                partial = true;
                            } else {
                                known_failures = true;
                            }
                        }
                        if result.record.is_none() {
                            result.record = applier.skipped_record(ticket_plan, !held.is_empty());
                        }
                        match result.record {
                            None => summary.counts.skipped += 1,
                            Some(record) => {
                                match record.outcome {
                                    RecordOutcome::Created => summary.counts.created += 1,
                                    RecordOutcome::Updated => summary.counts.updated += 1,
                                    RecordOutcome::Closed => summary.counts.closed += 1,
                                    RecordOutcome::Failed => summary.counts.failed += 1,
                                    RecordOutcome::Held | RecordOutcome::Skipped => {
                                        summary.counts.skipped += 1
                                    }
                                }
                                if summary.error.is_none() {
                                    summary.error = record
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
                    summary.records.extend(records);
                    if let Some(reason) = stop_reason {
                        summary.error = Some(reason);
                    }
                    if halted {
                        break;
                    }
                }
                summary.counts.attention = attention.tickets_needing_attention();
                if !stopped && !targeted {
                    for (side, seen) in cursors.into_sides() {
                        self.advance_cursor(setup.relationship, side, seen, since)
                            .await?;
                    }
                    summary.cursors_advanced = true;
                    if let Some(hook) = &control.cursors_saved {
                        hook.cursors_saved().await;
                    }
                }
                summary.plan = plan;
            }
        }
        summary.status =
            if stopped {
                RunStatus::Failed
            } else if summary.records.iter().all(|record| {
                matches!(record.outcome, RecordOutcome::Held | RecordOutcome::Skipped)
            }) && !partial
                && !known_failures
                && !repair
            {
                // Nothing changed, or only what was already in step (such as our own writes).
                RunStatus::NoTicketsFound
            } else if partial {
                // New failures only: failures already needing attention are counted there.
                RunStatus::Partial
            } else {
                RunStatus::Success
            };
        if matches!(
            summary.status,
            RunStatus::Success | RunStatus::NoTicketsFound
        ) {
            summary.error = None;
        }
        summary.calls_used = setup.calls_used() - calls_before;
        let finish = RunFinish {
            status: summary.status,
            counts: summary.counts,
            finished_at: self.clock.now(),
            calls_used: summary.calls_used,
            error: summary.error.clone(),
        };
        self.store.finish_run(run.id, &finish).await?;
        summary.run = Some(SyncRun {
            status: finish.status,
            counts: finish.counts,
            finished_at: Some(finish.finished_at),
            calls_used: finish.calls_used,
            error: finish.error,
            ..run.clone()
        });
        Ok(summary)
    }

    /// Moves a side's cursor to the latest activity seen in the window, never backwards. With
    /// nothing seen, a manual run's start date becomes the baseline if there was none.
    async fn advance_cursor(
        &self,
        relationship: RelationshipId,
        side: Role,
        seen: Option<(OffsetDateTime, TicketId)>,
        since: Option<OffsetDateTime>,
    ) -> Result<(), EngineError> {
        let current = self.store.cursor(relationship, side).await?;
        let next = match (seen, since) {
            (Some((last_activity_at, last_id)), _) => SyncCursor {
                relationship,
                side,
                last_activity_at,
                last_id: Some(last_id),
            },
            (None, Some(since)) => SyncCursor {
                relationship,
                side,
                last_activity_at: since,
                last_id: None,
            },
            (None, None) => return Ok(()),
        };
        let forward = current
            .as_ref()
            .is_none_or(|current| next.last_activity_at > current.last_activity_at);
        if forward {
            self.store.save_cursor(&next).await?;
        }
        Ok(())
    }
}
/// What a run reads: the start date a person gave (if any) and where each side's reading
/// starts.
struct RunWindow {
    since: Option<OffsetDateTime>,
    windows: BySide<OffsetDateTime>,
    /// Per side, before when our own last activity is not listed again.
    own_listed: BySide<Option<OffsetDateTime>>,
    /// A repair's one ticket, or the tickets a webhook named.
    only: Option<Vec<(Role, TicketId)>>,
}

pub(crate) const STOPPED: &str = "stopped because the process was shutting down; the tickets done so far \
     are recorded and the next run carries on from here";

pub(crate) const LEASE_LOST: &str =
    "the run lost its lease to another process; the rest is left to the next run";

fn side_error(setup: &SyncSetup, side: Role, error: &PlatformError) -> String {
    format!(
        "reading {} ({}) failed: {error}",
        setup.side(side).organisation_name,
        side.label().to_lowercase()
    )
}

/// Counts a dry run shows: what the run would record.
fn estimated_counts(plan: &Plan) -> RunCounts {
    use fusion_domain::sync::SyncAction;
    let mut counts = RunCounts::default();
    for ticket in &plan.tickets {
        let has = |test: &dyn Fn(&SyncAction) -> bool| ticket.actions.iter().any(test);
        counts.conflicts += ticket
            .actions
            .iter()
            .filter(|action| matches!(action, SyncAction::Conflict { .. }))
            .count() as u32;
        if has(&|a| matches!(a, SyncAction::CreateTicket { .. })) {
            counts.created += 1;
        } else if has(&|a| matches!(a, SyncAction::Close { .. })) {
            counts.closed += 1;
        } else if has(&|a| {
            matches!(
                a,
                SyncAction::UpdateFields { .. }
                    | SyncAction::AddComment { .. }
                    | SyncAction::AddAttachment { .. }
                    | SyncAction::LinkExisting { .. }
            )
        }) {
            counts.updated += 1;
        } else if has(&SyncAction::is_failure) {
            counts.failed += 1;
        } else {
            counts.skipped += 1;
        }
    }
    counts
}

/// The last activity of every ticket read for planning, by side and id.
fn activity_of(
    input: &fusion_domain::sync::PlanInput,
) -> std::collections::HashMap<(Role, TicketId), OffsetDateTime> {
    [Role::Source, Role::Target]
        .into_iter()
        .flat_map(|side| {
            input.side(side).tickets.iter().map(move |state| {
                (
                    (side, state.ticket.id.clone()),
                    state.ticket.last_activity_at,
                )
            })
        })
        .collect()
}
