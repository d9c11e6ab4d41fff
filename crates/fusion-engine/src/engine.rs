//! `SyncEngine::sync_once`: one run of one relationship, from leases to history.
//!
//! Order of a run (each step's failure mode in brackets):
//! 0. the API budget admits the work at its priority on both sides' databases
//!    [`EngineError::WaitingForBudget`: nothing read or written; see `crate::budget`];
//! 1. claim the relationship lease and both platform databases' leases [busy → `EngineError::Busy`];
//! 2. close runs a stopped process left Running, start the run record (not for a dry run);
//! 3. read what the run reads once: own actors, attention items, every page of each side's
//!    changed tickets since its cursor minus the overlap (the cursors come from this listing;
//!    of each side the first group's snapshots are kept, of the rest only id and last activity),
//!    and the deletions;
//! 4. work the window a group at a time (`engine/paging.rs`): group 0 is what the run reads
//!    besides its window (pending creates looked up by marker, tickets to retry) with the
//!    deletions, then each side's listed tickets in groups of `EngineSettings::apply_page`
//!    (read again by id beyond the kept ones; a ticket already planned in this run with that
//!    activity or a later one is left out). Per group: its links, the partners of linked
//!    tickets, copies of its unlinked tickets listed elsewhere, then comments, attachments and
//!    time entries of the tickets that can need them; plan (pure); apply in pages of
//!    `apply_page` tickets, several at once (`apply_concurrency`, after a slow start; each
//!    ticket's actions in order, its link saved when it is done — see `apply`); at the end of a
//!    page, read back the copies it created together and complete their links
//!    (`apply/read_back.rs`), then record the page's tickets; drop the group. Before each
//!    ticket the API budget is asked again: when it runs low no further ticket starts, the run
//!    waits (Partial, "Waiting for API budget …", cursors kept — never Failed). A dry run (which
//!    returns the whole plan), a repair and a webhook's run plan their tickets as one group
//!    (`gather::gather`);
//! 5. advance each side's cursor to the latest activity seen — only when every ticket of the
//!    window was applied or recorded as failed (a run stopped by an authentication failure or a
//!    used-up budget keeps the old cursors);
//! 6. finish the run record, release the leases.
//!
//! A crash (the future dropped) at any point leaves the leases to expire, the run `Running` (the
//! next run closes it as Failed), the cursors where they were and every write already made
//! recorded in its link or findable by marker/content, so the next run converges without
//! duplicates. A pair found in step is remembered by its tickets' last activity (the link's
//! `@lastActivity` fingerprint), so the overlap window does not make quiet tickets cost calls.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::ports::{Lease, LeaseKey, RunFilter, RunFinish, StoreError, SyncStore};
use fusion_domain::sync::{
    Plan, RecordOutcome, RunCounts, RunStatus, RunTrigger, SyncCursor, SyncRecord, SyncRun,
    TicketId,
};
use fusion_domain::{BySide, Clock, RelationshipId, Role};
use time::OffsetDateTime;

use crate::budget::{BudgetGovernor, BudgetWait, current_purpose};
use crate::control::RunControl;
use crate::gather::{Access, GatherFailure, GatherRequest, Gathered, gather};
use crate::lease_keeper::LeaseKeeper;
use crate::platform::PlatformError;
use crate::repair::{RepairError, RepairStep};
use crate::setup::{EngineSettings, SyncSetup};

mod paging;

use paging::RunState;

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
    /// The API budget of a side's database does not allow this work now (nothing was read or
    /// written; the scheduler starts it once the budget allows, see [`crate::budget`]).
    #[error("{0}")]
    WaitingForBudget(BudgetWait),
}

impl EngineError {
    pub fn is_retryable(&self) -> bool {
        match self {
            EngineError::Busy(_) => true,
            EngineError::InitialSyncRequired => false,
            EngineError::Stopped => true,
            EngineError::Store(error) => error.is_retryable(),
            EngineError::Repair(_) => false,
            EngineError::WaitingForBudget(_) => true,
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
    /// The plan (always for a dry run; also returned by real runs for logging: their groups'
    /// plans, in the order applied — the one part of a run's memory, with `records`, that grows
    /// with its window).
    pub plan: Plan,
    pub calls_used: u64,
    pub error: Option<String>,
    /// The run stopped between tickets because the API budget ran low: the rest (cursors kept)
    /// waits until then.
    pub waiting_for_budget: Option<BudgetWait>,
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
    budget: Option<Arc<BudgetGovernor>>,
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
            budget: None,
        }
    }

    /// Runs judge `governor` before they start and between tickets: work the API budget does
    /// not allow waits (see [`crate::budget`]).
    pub fn with_budget(mut self, governor: Arc<BudgetGovernor>) -> Self {
        self.budget = Some(governor);
        self
    }

    /// Whether the API budget of both sides' databases lets the work in hand (its
    /// [`crate::budget::Purpose`]) go on now.
    pub(super) fn budget_wait(&self, setup: &SyncSetup) -> Option<BudgetWait> {
        let governor = self.budget.as_ref()?;
        let databases: Vec<String> = BTreeSet::from([
            setup.source.platform.budget_key(),
            setup.target.platform.budget_key(),
        ])
        .into_iter()
        .collect();
        governor.admit(&databases, current_purpose()).err()
    }

    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    pub(crate) fn budget(&self) -> Option<&Arc<BudgetGovernor>> {
        self.budget.as_ref()
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
        if let Some(wait) = self.budget_wait(setup) {
            return Err(EngineError::WaitingForBudget(wait));
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
                    waiting_for_budget: None,
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
                waiting_for_budget: None,
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
        let summary = RunSummary {
            run: None,
            status: RunStatus::Running,
            counts: RunCounts::default(),
            records: Vec::new(),
            plan: Plan::default(),
            calls_used: 0,
            error: None,
            cursors_advanced: false,
            waiting_for_budget: None,
        };
        let repair = matches!(run.trigger, RunTrigger::Repair);
        let keeper = LeaseKeeper::new(
            self.store.as_ref(),
            self.clock.as_ref(),
            self.settings.lease_ttl,
            leases.to_vec(),
        );
        let mut state = RunState::new(summary, keeper);
        let cursors = match only {
            // A window: a group at a time (`engine/paging.rs`).
            None => {
                self.run_groups(setup, run, windows, own_listed, &mut state, control)
                    .await?
            }
            // Only the named tickets are read, as one group: no window, so no cursor moves.
            Some(only) => {
                let gathered = gather(GatherRequest {
                    store: self.store.as_ref(),
                    setup,
                    settings: &self.settings,
                    windows,
                    own_listed,
                    now: self.clock.now(),
                    access: Access::Leased(&mut state.keeper),
                    only: Some(only),
                })
                .await;
                match gathered {
                    Ok(Gathered {
                        input,
                        mut attention,
                        ..
                    }) => {
                        self.apply_group(setup, run, input, &mut attention, &mut state, control)
                            .await?
                    }
                    Err(failure) => state.gather_failed(setup, failure, self.budget_wait(setup))?,
                }
                None
            }
        };
        state.nothing_planned(control);
        if let Some(cursors) = cursors
            && !state.stopped
            && !state.budget_paused
        {
            for (side, seen) in cursors.into_sides() {
                self.advance_cursor(setup.relationship, side, seen, since)
                    .await?;
            }
            state.summary.cursors_advanced = true;
            if let Some(hook) = &control.cursors_saved {
                hook.cursors_saved().await;
            }
        }
        let RunState {
            mut summary,
            stopped,
            budget_paused,
            partial,
            known_failures,
            ..
        } = state;
        if budget_paused && let Some(wait) = &summary.waiting_for_budget {
            summary.error = Some(wait.to_string());
        }
        summary.status =
            if stopped {
                RunStatus::Failed
            } else if budget_paused {
                // Part of the work is done (or none yet); the rest waits for the budget.
                RunStatus::Partial
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
