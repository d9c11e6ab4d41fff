//! `SyncService`: the engine as the rest of the product uses it — run a relationship now (manual,
//! automatic or dry run) with its setup loaded through the [`SyncDirectory`] port, and run every
//! relationship whose automatic sync is due (the scheduler inside `fusion serve`).
//!
//! "Due" is judged from the stored history (the last run's start), not from memory, so several
//! processes sharing a PostgreSQL database agree; the run leases make sure only one of them runs
//! a given relationship at a time.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::ports::{DeferredRun, SyncStore};
use async_trait::async_trait;
use fusion_domain::sync::{SyncRun, TicketId, TicketSnapshot};
use fusion_domain::{Clock, OrgId, RelationshipId, Role};
use time::Duration;
use tokio::sync::{Notify, oneshot};

use crate::budget::{Priority, Purpose, serving};
use crate::control::{RunControl, RunObserver, StopSignal};
use crate::engine::{EngineError, RunSummary, SyncEngine, SyncMode};
use crate::platform::PlatformError;
use crate::repair::RepairStep;
use crate::setup::SyncSetup;
use crate::webhooks::PollingPolicy;

/// Counter `fusion_sync_runs_total{trigger,status}`: finished runs (dry runs excluded).
pub const SYNC_RUNS_TOTAL: &str = "fusion_sync_runs_total";
/// Counter `fusion_sync_records_total{outcome}`: per-ticket records (created, updated, closed,
/// failed).
pub const SYNC_RECORDS_TOTAL: &str = "fusion_sync_records_total";
/// Histogram `fusion_sync_run_duration_seconds{trigger}`.
pub const SYNC_RUN_DURATION_SECONDS: &str = "fusion_sync_run_duration_seconds";
/// Gauge `fusion_sync_due_relationships`: relationships due at the scheduler's last tick (the
/// job queue depth).
pub const SYNC_DUE_RELATIONSHIPS: &str = "fusion_sync_due_relationships";
/// Counter `fusion_sync_not_run_total{reason}`: runs that did not happen (busy, setup, store).
pub const SYNC_NOT_RUN_TOTAL: &str = "fusion_sync_not_run_total";

/// Histogram buckets of run durations, in seconds.
pub const SYNC_RUN_DURATION_BUCKETS_SECONDS: &[f64] = &[
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0,
];

/// A relationship whose automatic sync is switched on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledRelationship {
    pub relationship: RelationshipId,
    /// Time between the starts of two automatic runs (5 minutes by default).
    pub interval: Duration,
    /// The organisations of its two sides (whose webhooks may trigger it).
    pub source_org: OrgId,
    pub target_org: OrgId,
    /// Either side receives the partner's time entries, which no webhook announces: the
    /// connection keeps its own interval even while webhooks are healthy.
    pub carries_time_entries: bool,
}

/// Why a relationship's setup could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    #[error("relationship not found")]
    NotFound,
    /// Not Active, credentials missing, configuration incomplete…: what to fix, for people.
    #[error("{0}")]
    NotReady(String),
    /// The store or a platform client could not be reached; try again later.
    #[error("{0}")]
    Unavailable(String),
}

/// Where the service finds relationships and everything a run needs. The binary implements it
/// over the `Store` (relationships, configurations, mappings, credentials) and the platform
/// adapters.
#[async_trait]
pub trait SyncDirectory: Send + Sync {
    /// Relationships that are Active, "Ready for automatic sync" and switched to automatic sync.
    async fn automatic_relationships(&self) -> Result<Vec<ScheduledRelationship>, SetupError>;

    /// Everything a run of `relationship` needs, with a platform client per side.
    async fn setup(&self, relationship: RelationshipId) -> Result<SyncSetup, SetupError>;

    /// The setup of an automatic (scheduled) run. A directory may hand over platforms that read
    /// each tenant's changes once per scheduler sweep for all its relationships
    /// (`crate::SharedReads`); runs people start always read afresh through [`Self::setup`].
    async fn setup_automatic(&self, relationship: RelationshipId) -> Result<SyncSetup, SetupError> {
        self.setup(relationship).await
    }

    /// A scheduler sweep is about to run `due`, one after the other, each through
    /// [`Self::setup_automatic`]: a directory that shares reads begins a new sweep here.
    async fn sweep_begins(&self, due: &[RelationshipId]) {
        let _ = due;
    }

    /// A manual run set the baseline: move the relationship to "Ready for automatic sync".
    async fn baseline_set(&self, relationship: RelationshipId) -> Result<(), SetupError>;
}

/// Why a run did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A run started in the background ended without a run record, or its task failed.
    #[error("{0}")]
    Internal(String),
}

/// One relationship's outcome in [`SyncService::run_due`].
#[derive(Debug)]
pub struct ScheduledOutcome {
    pub relationship: RelationshipId,
    pub result: Result<RunSummary, ServiceError>,
}

/// What the service tells after every run it finished or could not start, and on every
/// scheduler tick (the notifier, `crate::notify::Notifier`). Called from the task that ran the
/// sync; dry runs are not told.
#[async_trait]
pub trait SyncHooks: Send + Sync {
    /// A run of `relationship` ended with `result`. `interrupted`: it stopped because the process
    /// is shutting down or lost its lease to another process, which is not the connection's
    /// problem.
    async fn run_finished(
        &self,
        relationship: RelationshipId,
        result: &Result<RunSummary, ServiceError>,
        interrupted: bool,
    );

    /// The scheduler ticked (after the due runs).
    async fn scheduler_tick(&self) {}

    /// A run of `relationship` opened attention items (`opened`) and cleared others (their item
    /// ids in `cleared`). Not called by the service yet: for the engine's attention items.
    async fn attention_items(
        &self,
        _relationship: RelationshipId,
        _opened: &[crate::notify::AttentionNotice],
        _cleared: &[String],
    ) {
    }
}

/// The engine with its directory.
#[derive(Clone)]
pub struct SyncService {
    engine: SyncEngine,
    directory: Arc<dyn SyncDirectory>,
    store: Arc<dyn SyncStore>,
    clock: Arc<dyn Clock>,
    /// Process-wide: once stopped, no run starts and runs in flight stop after their ticket.
    stop: StopSignal,
    in_flight: Arc<InFlight>,
    hooks: Option<Arc<dyn SyncHooks>>,
    /// How long between sweeps (the relationship's own interval unless set: webhooks stretch it).
    polling: Option<Arc<dyn PollingPolicy>>,
}

/// Runs going through the service right now, and a wake-up when the last one ends.
#[derive(Debug, Default)]
struct InFlight {
    count: AtomicUsize,
    idle: Notify,
}

/// Counts one run while it lives; dropped also when the run's future is dropped.
struct InFlightGuard(Arc<InFlight>);

impl InFlightGuard {
    fn enter(in_flight: &Arc<InFlight>) -> Self {
        in_flight.count.fetch_add(1, Ordering::SeqCst);
        Self(in_flight.clone())
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl std::fmt::Debug for SyncService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncService")
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

impl SyncService {
    pub fn new(
        engine: SyncEngine,
        directory: Arc<dyn SyncDirectory>,
        store: Arc<dyn SyncStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            engine,
            directory,
            store,
            clock,
            stop: StopSignal::new(),
            in_flight: Arc::default(),
            hooks: None,
            polling: None,
        }
    }

    /// Judges "due" by `policy`'s interval (webhooks' safety net) instead of each
    /// relationship's own.
    pub fn with_polling(mut self, policy: Arc<dyn PollingPolicy>) -> Self {
        self.polling = Some(policy);
        self
    }

    /// Tells `hooks` about every finished run and scheduler tick (the binary passes its
    /// notifier).
    pub fn with_hooks(mut self, hooks: Arc<dyn SyncHooks>) -> Self {
        self.hooks = Some(hooks);
        self
    }

    /// Graceful shutdown, step one: from now on no run starts, and runs in flight (scheduled or
    /// started by a person) stop after the ticket in hand, recorded as stopped with their
    /// cursors kept.
    pub fn stop_all(&self) {
        self.stop.stop();
    }

    /// Step two: waits up to `grace` for the runs in flight to finish; `false` when some were
    /// still running (dropping them is safe: their leases expire and the next run closes their
    /// records).
    pub async fn wait_idle(&self, grace: std::time::Duration) -> bool {
        let idle = async {
            loop {
                let notified = self.in_flight.idle.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if self.in_flight.count.load(Ordering::SeqCst) == 0 {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(grace, idle).await.is_ok()
    }

    /// The API budget its runs wait for, when the binary gave one (see
    /// [`SyncEngine::with_budget`]).
    pub fn budget(&self) -> Option<&Arc<crate::budget::BudgetGovernor>> {
        self.engine.budget()
    }

    /// Runs going through the service right now.
    pub fn runs_in_flight(&self) -> usize {
        self.in_flight.count.load(Ordering::SeqCst)
    }

    /// Runs `relationship` now. A manual run that set the cursors moves the relationship to
    /// "Ready for automatic sync".
    pub async fn run(
        &self,
        relationship: RelationshipId,
        mode: SyncMode,
    ) -> Result<RunSummary, ServiceError> {
        self.run_with(relationship, mode, &RunControl::default())
            .await
    }

    /// [`SyncService::run`], observed and stoppable through `control`. Finished runs are
    /// counted in the `fusion_sync_*` metrics.
    pub async fn run_with(
        &self,
        relationship: RelationshipId,
        mode: SyncMode,
        control: &RunControl,
    ) -> Result<RunSummary, ServiceError> {
        if self.stop.is_stopped() {
            return Err(EngineError::Stopped.into());
        }
        let _in_flight = InFlightGuard::enter(&self.in_flight);
        let control = RunControl {
            service_stop: Some(self.stop.clone()),
            ..control.clone()
        };
        let started = std::time::Instant::now();
        let purpose = Purpose::of(relationship, self.priority_of(relationship, &mode).await);
        let result = serving(
            purpose,
            self.run_inner(relationship, mode.clone(), &control),
        )
        .await;
        self.keep_manual_run_waiting_for_budget(relationship, &mode, &control, &result)
            .await;
        record_metrics(&mode, &result, started.elapsed());
        if let Some(hooks) = &self.hooks
            && !matches!(mode, SyncMode::DryRun { .. })
        {
            let interrupted = control.is_stopped()
                || matches!(&result, Ok(summary) if summary.error.as_deref()
                    .is_some_and(|error| error == crate::engine::LEASE_LOST || error == crate::engine::STOPPED));
            hooks.run_finished(relationship, &result, interrupted).await;
        }
        result
    }

    /// Starts a manual run since `since` and answers with its record as soon as it exists (what
    /// "Sync now" shows), while the run goes on in a task of its own. A run that cannot start
    /// (not ready, busy, shutting down) is that error.
    pub async fn start_manual_run(
        &self,
        relationship: RelationshipId,
        since: time::OffsetDateTime,
        started_by: Option<&str>,
    ) -> Result<SyncRun, ServiceError> {
        let (sender, started) = oneshot::channel();
        let mut control = RunControl::observed(Arc::new(StartedRun(Mutex::new(Some(sender)))));
        control.started_by = started_by.map(str::to_owned);
        let service = self.clone();
        let run = tokio::spawn(async move {
            let result = service
                .run_with(relationship, SyncMode::Manual { since }, &control)
                .await;
            match &result {
                Ok(summary) => tracing::info!(
                    relationship = %relationship,
                    status = summary.status.label(),
                    created = summary.counts.created,
                    updated = summary.counts.updated,
                    closed = summary.counts.closed,
                    failed = summary.counts.failed,
                    calls = summary.calls_used,
                    "manual sync finished"
                ),
                Err(error) => {
                    tracing::info!(relationship = %relationship, %error, "manual sync did not run")
                }
            }
            result
        });
        match started.await {
            Ok(record) => Ok(record),
            // The run ended without a record: it never started.
            Err(_) => match run.await {
                Ok(Ok(summary)) => summary.run.ok_or_else(|| {
                    ServiceError::Internal("a manual run finished without a run record".to_owned())
                }),
                Ok(Err(error)) => Err(error),
                Err(join) => Err(ServiceError::Internal(format!(
                    "the sync task failed: {join}"
                ))),
            },
        }
    }

    /// Who comes first when the API budget runs low: a manual run that sets the baseline is an
    /// initial sync (bulk), other manual runs, repairs and webhook runs are a person's, sweeps
    /// are sweeps.
    async fn priority_of(&self, relationship: RelationshipId, mode: &SyncMode) -> Priority {
        match mode {
            SyncMode::Automatic => Priority::Sweep,
            SyncMode::Manual { .. } => match self.store.cursor(relationship, Role::Source).await {
                Ok(None) => Priority::Bulk,
                _ => Priority::Person,
            },
            SyncMode::DryRun { .. } | SyncMode::Repair { .. } | SyncMode::Webhook { .. } => {
                Priority::Person
            }
        }
    }

    /// A person's manual run that waits for the API budget (refused at the start or stopped
    /// between tickets) is kept for the scheduler to carry on once the budget allows; one that
    /// ran to the end no longer waits.
    async fn keep_manual_run_waiting_for_budget(
        &self,
        relationship: RelationshipId,
        mode: &SyncMode,
        control: &RunControl,
        result: &Result<RunSummary, ServiceError>,
    ) {
        let (Some(governor), SyncMode::Manual { since }) = (self.engine.budget(), mode) else {
            return;
        };
        let wait = match result {
            Ok(summary) => summary.waiting_for_budget.as_ref(),
            Err(ServiceError::Engine(EngineError::WaitingForBudget(wait))) => Some(wait),
            Err(_) => return,
        };
        let kept = match wait {
            Some(wait) => {
                governor
                    .defer_run(&DeferredRun {
                        relationship,
                        since: *since,
                        started_by: control.started_by.clone(),
                        deferred_at: self.clock.now(),
                        resume_at: wait.resume_at,
                    })
                    .await
            }
            None => governor.clear_deferred_run(relationship).await,
        };
        if let Err(error) = kept {
            tracing::warn!(relationship = %relationship, %error, "could not record a manual run waiting for API budget");
        }
    }

    /// Carries on the manual runs that waited for the API budget and may go now.
    async fn resume_deferred_runs(
        &self,
        control: &RunControl,
        outcomes: &mut Vec<ScheduledOutcome>,
    ) {
        let Some(governor) = self.engine.budget() else {
            return;
        };
        let deferred = match governor.deferred_runs().await {
            Ok(deferred) => deferred,
            Err(error) => {
                tracing::warn!(%error, "could not read the manual runs waiting for API budget");
                return;
            }
        };
        for run in deferred {
            if control.is_stopped() || self.stop.is_stopped() {
                break;
            }
            if run.resume_at > self.clock.now() {
                continue;
            }
            let mut carried = control.clone();
            carried.started_by = run.started_by.clone();
            let result = self
                .run_with(
                    run.relationship,
                    SyncMode::Manual { since: run.since },
                    &carried,
                )
                .await;
            if let Some(outcome) = scheduled_outcome(run.relationship, result) {
                outcomes.push(outcome);
            }
        }
    }

    async fn run_inner(
        &self,
        relationship: RelationshipId,
        mode: SyncMode,
        control: &RunControl,
    ) -> Result<RunSummary, ServiceError> {
        let setup = match mode {
            SyncMode::Automatic => self.directory.setup_automatic(relationship).await?,
            _ => self.directory.setup(relationship).await?,
        };
        let mut control = control.clone();
        if matches!(mode, SyncMode::Manual { .. }) {
            control.cursors_saved = Some(Arc::new(SetBaseline {
                directory: self.directory.clone(),
                relationship,
            }));
        }
        Ok(self.engine.sync_once_with(&setup, mode, &control).await?)
    }

    /// A person's repair of the ticket `ticket` on `side` (either ticket of a pair), as a run of
    /// its own started by `by` (see [`RepairStep`]).
    pub async fn repair(
        &self,
        relationship: RelationshipId,
        side: Role,
        ticket: TicketId,
        step: RepairStep,
        by: &str,
    ) -> Result<RunSummary, ServiceError> {
        let control = RunControl::default().started_by(by);
        self.run_with(
            relationship,
            SyncMode::Repair { side, ticket, step },
            &control,
        )
        .await
    }

    /// Finds a ticket of the relationship's `side` by the number people know (or by its id):
    /// `Ok(None)` when the tenant has none.
    pub async fn find_ticket(
        &self,
        relationship: RelationshipId,
        side: Role,
        number_or_id: &str,
    ) -> Result<Option<TicketSnapshot>, ServiceError> {
        let setup = self.directory.setup(relationship).await?;
        let platform = &setup.side(side).platform;
        let wanted = number_or_id.trim();
        let found = if !wanted.is_empty() && wanted.chars().all(|c| c.is_ascii_digit()) {
            platform.ticket(&TicketId::new(wanted)).await
        } else {
            platform.ticket_by_number(wanted).await
        };
        found.map_err(|error| match (&error, self.engine.budget_wait(&setup)) {
            // The API budget does not allow the look-up now: a wait, not an outage.
            (PlatformError::BudgetExhausted(_), Some(wait)) => {
                EngineError::WaitingForBudget(wait).into()
            }
            _ => ServiceError::Setup(SetupError::Unavailable(format!(
                "looking the ticket up in {} failed: {error}",
                setup.side(side).organisation_name
            ))),
        })
    }

    /// Links the source ticket `source` to the target ticket `target` (numbers or ids), by `by`.
    pub async fn link_tickets(
        &self,
        relationship: RelationshipId,
        source: &str,
        target: &str,
        by: &str,
    ) -> Result<RunSummary, ServiceError> {
        let mut ids = Vec::new();
        for (side, wanted) in [(Role::Source, source), (Role::Target, target)] {
            match self.find_ticket(relationship, side, wanted).await? {
                Some(ticket) => ids.push(ticket.id),
                None => {
                    return Err(
                        EngineError::Repair(crate::repair::not_found_on(wanted, side)).into(),
                    );
                }
            }
        }
        let target = ids.pop().unwrap_or_else(|| TicketId::new(""));
        let source = ids.pop().unwrap_or_else(|| TicketId::new(""));
        self.repair(
            relationship,
            Role::Source,
            source,
            RepairStep::Link { target },
            by,
        )
        .await
    }

    /// Whether the relationship's last sweep started at least `interval` ago (or it never
    /// ran). Repairs and webhook-triggered runs read only named tickets and do not count.
    async fn is_due(&self, scheduled: &ScheduledRelationship) -> Result<bool, EngineError> {
        let last = self
            .store
            .last_sweep_started(scheduled.relationship)
            .await?;
        let interval = self
            .polling
            .as_ref()
            .map_or(scheduled.interval, |policy| policy.interval(scheduled));
        Ok(fusion_domain::sync::is_due(
            interval,
            last,
            self.clock.now(),
        ))
    }

    /// Runs every relationship whose automatic sync is due, one after the other. Relationships
    /// another process is running are left out (`Busy` outcomes are dropped).
    pub async fn run_due(&self) -> Result<Vec<ScheduledOutcome>, SetupError> {
        self.run_due_with(&RunControl::default()).await
    }

    /// [`SyncService::run_due`], stoppable through `control`: once it is stopped no further
    /// relationship starts, and the one in hand stops after its current ticket.
    pub async fn run_due_with(
        &self,
        control: &RunControl,
    ) -> Result<Vec<ScheduledOutcome>, SetupError> {
        let mut outcomes = Vec::new();
        self.resume_deferred_runs(control, &mut outcomes).await;
        let mut due = Vec::new();
        for scheduled in self.directory.automatic_relationships().await? {
            match self.is_due(&scheduled).await {
                Ok(false) => {}
                Ok(true) => due.push(scheduled),
                Err(error) => outcomes.push(ScheduledOutcome {
                    relationship: scheduled.relationship,
                    result: Err(error.into()),
                }),
            }
        }
        let mut waiting = due.len();
        metrics::gauge!(SYNC_DUE_RELATIONSHIPS).set(waiting as f64);
        let due_ids: Vec<RelationshipId> = due.iter().map(|due| due.relationship).collect();
        self.directory.sweep_begins(&due_ids).await;
        for scheduled in due {
            if control.is_stopped() || self.stop.is_stopped() {
                break;
            }
            let result = self
                .run_with(scheduled.relationship, SyncMode::Automatic, control)
                .await;
            waiting -= 1;
            metrics::gauge!(SYNC_DUE_RELATIONSHIPS).set(waiting as f64);
            if let Some(outcome) = scheduled_outcome(scheduled.relationship, result) {
                outcomes.push(outcome);
            }
        }
        Ok(outcomes)
    }

    /// The scheduler: [`SyncService::run_due`] every `tick` until `shutdown` completes. Outcomes
    /// are logged; a failed tick is logged and the next one tried. Each tick calls `heartbeat`
    /// (readiness: the scheduler is alive).
    ///
    /// On shutdown no new run starts; a run in flight is asked to stop after its current ticket
    /// (recorded as stopped, cursors kept, leases released) and given `grace` to do so. If it
    /// has not finished by then it is dropped: its leases expire and the next run closes its
    /// record, so nothing is lost either way.
    pub async fn run_until(
        &self,
        tick: std::time::Duration,
        grace: std::time::Duration,
        heartbeat: impl Fn() + Send,
        shutdown: impl Future<Output = ()>,
    ) {
        let work = self.tick_until_stopped(tick, heartbeat);
        tokio::pin!(work);
        tokio::pin!(shutdown);
        tokio::select! {
            _ = &mut work => return,
            _ = &mut shutdown => {}
        }
        self.stop_all();
        if tokio::time::timeout(grace, &mut work).await.is_err() {
            tracing::warn!(
                grace_s = grace.as_secs(),
                "a sync was still running at shutdown and was abandoned; its leases expire and the next run carries on"
            );
        } else {
            tracing::info!("the scheduler stopped");
        }
    }

    async fn tick_until_stopped(&self, tick: std::time::Duration, heartbeat: impl Fn()) {
        let control = RunControl::default();
        let mut ticks = tokio::time::interval(tick);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = self.stop.stopped() => return,
            }
            heartbeat();
            log_outcomes(self.run_due_with(&control).await);
            if let Some(hooks) = &self.hooks {
                hooks.scheduler_tick().await;
            }
            heartbeat();
        }
    }
}

/// A manual run saved the cursors: the relationship is "Ready for automatic sync" from now on,
/// marked before the run record is finished.
struct SetBaseline {
    directory: Arc<dyn SyncDirectory>,
    relationship: RelationshipId,
}

#[async_trait]
impl crate::control::CursorsSaved for SetBaseline {
    async fn cursors_saved(&self) {
        if let Err(error) = self.directory.baseline_set(self.relationship).await {
            // The cursors are saved; the next manual run marks the baseline again.
            tracing::warn!(relationship = %self.relationship, %error, "could not mark the connection ready for automatic sync");
        }
    }
}

fn record_metrics(
    mode: &SyncMode,
    result: &Result<RunSummary, ServiceError>,
    elapsed: std::time::Duration,
) {
    let trigger = match mode {
        SyncMode::DryRun { .. } => return,
        SyncMode::Manual { .. } => "manual",
        SyncMode::Automatic => "automatic",
        SyncMode::Repair { .. } => "repair",
        SyncMode::Webhook { .. } => "webhook",
    };
    match result {
        Ok(summary) => {
            metrics::counter!(SYNC_RUNS_TOTAL, "trigger" => trigger, "status" => summary.status.as_str())
                .increment(1);
            metrics::histogram!(SYNC_RUN_DURATION_SECONDS, "trigger" => trigger)
                .record(elapsed.as_secs_f64());
            let counts = &summary.counts;
            for (outcome, count) in [
                ("created", counts.created),
                ("updated", counts.updated),
                ("closed", counts.closed),
                ("failed", counts.failed),
            ] {
                if count > 0 {
                    metrics::counter!(SYNC_RECORDS_TOTAL, "outcome" => outcome)
                        .increment(u64::from(count));
                }
            }
        }
        Err(error) => {
            let reason = match error {
                ServiceError::Engine(EngineError::Busy(_)) => "busy",
                ServiceError::Engine(EngineError::Stopped) => "stopped",
                ServiceError::Engine(EngineError::InitialSyncRequired) => "initial_sync_required",
                ServiceError::Engine(EngineError::Store(_)) => "store",
                ServiceError::Engine(EngineError::Repair(_)) => "repair_refused",
                ServiceError::Engine(EngineError::WaitingForBudget(_)) => "waiting_for_budget",
                ServiceError::Setup(SetupError::NotFound) => "not_found",
                ServiceError::Setup(SetupError::NotReady(_)) => "not_ready",
                ServiceError::Setup(SetupError::Unavailable(_)) => "unavailable",
                ServiceError::Internal(_) => "internal",
            };
            metrics::counter!(SYNC_NOT_RUN_TOTAL, "trigger" => trigger, "reason" => reason)
                .increment(1);
        }
    }
}

/// A scheduler's run worth reporting: not one another process runs, nor one the API budget
/// holds back (it shows as waiting).
fn scheduled_outcome(
    relationship: RelationshipId,
    result: Result<RunSummary, ServiceError>,
) -> Option<ScheduledOutcome> {
    match result {
        Err(ServiceError::Engine(EngineError::Busy(_) | EngineError::WaitingForBudget(_))) => None,
        result => Some(ScheduledOutcome {
            relationship,
            result,
        }),
    }
}

fn log_outcomes(outcome: Result<Vec<ScheduledOutcome>, SetupError>) {
    match outcome {
        Ok(outcomes) => {
            for outcome in outcomes {
                match &outcome.result {
                    Ok(summary) => tracing::info!(
                        relationship = %outcome.relationship,
                        status = summary.status.label(),
                        created = summary.counts.created,
                        updated = summary.counts.updated,
                        closed = summary.counts.closed,
                        failed = summary.counts.failed,
                        calls = summary.calls_used,
                        "automatic sync finished"
                    ),
                    Err(error) => tracing::warn!(
                        relationship = %outcome.relationship,
                        %error,
                        "automatic sync did not run"
                    ),
                }
            }
        }
        Err(error) => tracing::warn!(%error, "could not list relationships to sync"),
    }
}

/// Hands the run record to the caller that started the run, once.
struct StartedRun(Mutex<Option<oneshot::Sender<SyncRun>>>);

impl RunObserver for StartedRun {
    fn run_started(&self, run: &SyncRun) {
        let sender = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(sender) = sender {
            let _the_caller_may_have_gone = sender.send(run.clone());
        }
    }
}
