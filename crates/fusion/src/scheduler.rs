//! The sync inside `fusion serve` and `fusion demo`: one `SyncService` for the process (shared
//! with the web app's "Sync now", so one lease holder, one Autotask limiter and budget), its
//! scheduler loop, history retention, and the graceful stop.
//!
//! Shutdown order (see [`SyncRuntime::shut_down`]): the web server stops taking requests, then
//! the service is stopped (no new run; runs in flight stop after the ticket in hand and are
//! recorded as stopped, leases released), then we wait up to the grace period for them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use fusion_autotask::AutotaskService;
use fusion_domain::{Clock, SystemClock};
use fusion_engine::budget::{BudgetGovernor, BudgetSettings};
use fusion_engine::webhooks::{WebhookHealth, WebhookService, WebhookSettings};
use fusion_engine::{EngineSettings, RunControl, SyncEngine, SyncService};
use fusion_store::Store;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::sync_directory::StoreSyncDirectory;

/// How the scheduler runs.
#[derive(Debug, Clone)]
pub struct SchedulerSettings {
    /// How often the scheduler looks for relationships whose automatic sync is due.
    pub tick: Duration,
    /// How long a shutdown waits for runs in flight to stop after their current ticket.
    pub grace: Duration,
    /// Sync history older than this is deleted (links, cursors and pending retries are kept).
    pub history_retention: time::Duration,
    /// How long a run's leases last without renewal: the longest a dead process's connections
    /// wait before another process (sharing the PostgreSQL database) takes them over.
    pub lease_ttl: time::Duration,
}

/// Default lease lifetime: the engine's.
pub const DEFAULT_LEASE_TTL: time::Duration = time::Duration::minutes(10);

impl SchedulerSettings {
    /// The engine's settings with this process's lease lifetime.
    pub fn engine_settings(&self) -> EngineSettings {
        EngineSettings {
            lease_ttl: self.lease_ttl,
            ..EngineSettings::default()
        }
    }
}

/// Default time between two looks for due relationships.
pub const DEFAULT_TICK: Duration = Duration::from_secs(15);
/// Default shutdown grace: under systemd's default 90 s stop timeout, with room to spare.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(30);
/// Default history retention.
pub const DEFAULT_HISTORY_RETENTION_DAYS: u32 = 90;
/// How often retention runs.
const RETENTION_EVERY: Duration = Duration::from_secs(60 * 60);

impl Default for SchedulerSettings {
    fn default() -> Self {
        Self {
            tick: DEFAULT_TICK,
            grace: DEFAULT_GRACE,
            history_retention: time::Duration::days(i64::from(DEFAULT_HISTORY_RETENTION_DAYS)),
            lease_ttl: DEFAULT_LEASE_TTL,
        }
    }
}

/// The scheduler's liveness, for `/readyz`.
#[derive(Debug, Default)]
pub struct SchedulerState {
    running: AtomicBool,
}

impl SchedulerState {
    /// `Ok` while the scheduler loop runs; the reason otherwise.
    pub fn check(&self) -> Result<(), String> {
        if self.running.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err("the sync scheduler is not running (stopping, or it ended unexpectedly: see the log)".into())
        }
    }
}

/// The process's API budget over the store's ledger (hand the same one to the Autotask service
/// with `AutotaskService::with_gate`, and to the sync service).
pub fn budget_governor(store: Arc<dyn Store>, settings: BudgetSettings) -> Arc<BudgetGovernor> {
    Arc::new(BudgetGovernor::new(store, Arc::new(SystemClock), settings))
}

/// The sync service of a process, over the store and the process's Autotask service, with the engine's settings (`serve` sets the lease lifetime) and the API
/// budget `autotask` was built with (runs then wait for it instead of failing).
pub fn sync_service_with(
    store: Arc<dyn Store>,
    autotask: AutotaskService,
    settings: EngineSettings,
    budget: Option<Arc<BudgetGovernor>>,
) -> SyncService {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut engine = SyncEngine::new(store.clone(), clock.clone(), settings);
    if let Some(budget) = budget {
        engine = engine.with_budget(budget);
    }
    let directory = Arc::new(StoreSyncDirectory::new(store.clone(), autotask));
    SyncService::new(engine, directory, store, clock)
}

/// The process's webhooks over `sync` (which must poll by `health`, see
/// [`SyncService::with_polling`]).
pub fn webhook_service(
    store: Arc<dyn Store>,
    autotask: AutotaskService,
    sync: SyncService,
    settings: WebhookSettings,
    health: Arc<WebhookHealth>,
) -> WebhookService {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let directory = Arc::new(StoreSyncDirectory::new(store.clone(), autotask.clone()));
    let platform = Arc::new(fusion_autotask::AutotaskTenants::new(
        fusion_autotask::ConnectionTester::with_service(autotask),
        clock.clone(),
    ));
    WebhookService::new(store, platform, directory, sync, clock, settings, health)
}

/// The sync service with its webhooks: the service polls at the webhooks' safety interval while
/// they are healthy. `hooks` hears about every run.
pub fn sync_with_webhooks(
    store: Arc<dyn Store>,
    autotask: AutotaskService,
    settings: WebhookSettings,
    hooks: Option<Arc<dyn fusion_engine::SyncHooks>>,
) -> (SyncService, WebhookService) {
    sync_with_webhooks_using(
        store,
        autotask,
        EngineSettings::default(),
        None,
        settings,
        hooks,
    )
}

/// [`sync_with_webhooks`] with the engine's settings (`serve` sets the lease lifetime).
pub fn sync_with_webhooks_using(
    store: Arc<dyn Store>,
    autotask: AutotaskService,
    engine: EngineSettings,
    budget: Option<Arc<BudgetGovernor>>,
    settings: WebhookSettings,
    hooks: Option<Arc<dyn fusion_engine::SyncHooks>>,
) -> (SyncService, WebhookService) {
    let health = Arc::new(WebhookHealth::default());
    let mut sync = sync_service_with(store.clone(), autotask.clone(), engine, budget)
        .with_polling(health.clone());
    if let Some(hooks) = hooks {
        sync = sync.with_hooks(hooks);
    }
    let webhooks = webhook_service(store, autotask, sync.clone(), settings, health);
    (sync, webhooks)
}

/// How often the dispatcher looks for settled webhook events.
const DISPATCH_EVERY: Duration = Duration::from_millis(250);

/// The running scheduler and retention tasks.
#[derive(Debug)]
pub struct SyncRuntime {
    service: SyncService,
    state: Arc<SchedulerState>,
    settings: SchedulerSettings,
    stop: watch::Sender<bool>,
    scheduler: JoinHandle<()>,
    retention: JoinHandle<()>,
    webhooks: Option<WebhookService>,
    /// The API budget's sharing loop, and the webhook keeper and dispatcher when webhooks are on.
    webhook_tasks: Vec<JoinHandle<()>>,
}

impl SyncRuntime {
    /// Starts the scheduler loop and hourly retention for `service`, and with `webhooks` their
    /// registration keeper (each scheduler tick, or at once when one needs it) and dispatcher
    /// (settled events become targeted runs within a second).
    pub fn start(
        service: SyncService,
        store: Arc<dyn Store>,
        settings: SchedulerSettings,
        webhooks: Option<WebhookService>,
    ) -> Self {
        let state = Arc::new(SchedulerState::default());
        let (stop, stopped) = watch::channel(false);
        state.running.store(true, Ordering::SeqCst);
        let scheduler = tokio::spawn({
            let service = service.clone();
            let state = state.clone();
            let settings = settings.clone();
            let mut stopped = stopped.clone();
            async move {
                service
                    .run_until(
                        settings.tick,
                        settings.grace,
                        || tracing::trace!("the scheduler looks for due connections"),
                        async move {
                            let _ = stopped.wait_for(|stop| *stop).await;
                        },
                    )
                    .await;
                state.running.store(false, Ordering::SeqCst);
            }
        });
        let retention = tokio::spawn(retention_loop(
            store,
            settings.history_retention,
            stopped.clone(),
        ));
        let mut webhook_tasks = Vec::new();
        if let Some(budget) = service.budget() {
            webhook_tasks.push(tokio::spawn(budget_loop(budget.clone(), stopped.clone())));
        }
        if let Some(webhooks) = webhooks.as_ref().filter(|webhooks| webhooks.enabled()) {
            webhook_tasks.push(tokio::spawn(keeper_loop(
                webhooks.clone(),
                settings.tick,
                stopped.clone(),
            )));
            webhook_tasks.push(tokio::spawn(dispatch_loop(webhooks.clone(), stopped)));
        }
        Self {
            service,
            state,
            settings,
            stop,
            scheduler,
            retention,
            webhooks,
            webhook_tasks,
        }
    }

    /// The process's webhooks (also when they are off: Settings says why).
    pub fn webhooks(&self) -> Option<&WebhookService> {
        self.webhooks.as_ref()
    }

    pub fn service(&self) -> &SyncService {
        &self.service
    }

    pub fn state(&self) -> Arc<SchedulerState> {
        self.state.clone()
    }

    /// Stops the scheduler and every run in flight (also the ones people started), waiting up
    /// to the grace period for them to record where they stopped.
    pub async fn shut_down(self) {
        let _ = self.stop.send(true);
        self.service.stop_all();
        // One grace period for everything: the in-flight count covers scheduled runs and runs
        // people started alike.
        let deadline = tokio::time::Instant::now() + self.settings.grace;
        if !self.service.wait_idle(self.settings.grace).await {
            tracing::warn!(
                "a sync was still running at shutdown and was abandoned; its leases expire and the next run carries on"
            );
        }
        if tokio::time::timeout_at(deadline, self.scheduler)
            .await
            .is_err()
        {
            tracing::warn!("the scheduler did not stop in time");
        }
        self.retention.abort();
        for task in self.webhook_tasks {
            task.abort();
        }
    }
}

/// Keeps every organisation's webhooks (made, checked, re-activated, removed) on each tick, or
/// at once when one needs it, until stopped.
async fn keeper_loop(webhooks: WebhookService, tick: Duration, mut stopped: watch::Receiver<bool>) {
    loop {
        if let Err(error) = webhooks.keep_registrations().await {
            tracing::warn!(%error, "could not keep the webhooks; tried again on the next tick");
        }
        tokio::select! {
            _ = webhooks.registration_due_or(tick) => {}
            _ = stopped.wait_for(|stop| *stop) => return,
        }
    }
}

/// Turns settled webhook events into targeted runs, until stopped (a run in flight stops after
/// its ticket, like any run at shutdown).
async fn dispatch_loop(webhooks: WebhookService, mut stopped: watch::Receiver<bool>) {
    let control = RunControl::default();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(DISPATCH_EVERY) => {}
            _ = stopped.wait_for(|stop| *stop) => {
                control.stop.stop();
                return;
            }
        }
        match webhooks.dispatch_once(&control).await {
            Ok(done) if done.events > 0 => tracing::debug!(
                events = done.events,
                runs = done.runs,
                released = done.released,
                "webhook events dispatched"
            ),
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "could not dispatch webhook events; tried again shortly")
            }
        }
    }
}

/// Deletes history older than `retention` now and then every hour, until stopped.
/// How often the API budget's counts go to the store and every process's come back.
const BUDGET_SYNC_EVERY: Duration = Duration::from_secs(5);

/// Shares this process's API request counts with the others (see `fusion_engine::budget`).
async fn budget_loop(governor: Arc<BudgetGovernor>, mut stopped: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(BUDGET_SYNC_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let stopping = tokio::select! {
            _ = every.tick() => false,
            _ = stopped.wait_for(|stop| *stop) => true,
        };
        if stopping {
            // The last counts, so the other processes see them.
            let _ = governor.sync().await;
            return;
        }
        if let Err(error) = governor.sync().await {
            tracing::warn!(%error, "could not share the API budget's counts through the database");
        }
    }
}

async fn retention_loop(
    store: Arc<dyn Store>,
    retention: time::Duration,
    mut stopped: watch::Receiver<bool>,
) {
    let mut every = tokio::time::interval(RETENTION_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = stopped.wait_for(|stop| *stop) => return,
        }
        let cutoff = time::OffsetDateTime::now_utc() - retention;
        // Worked webhook events are kept a week (the Dashboard shows the last hour).
        let events_cutoff = time::OffsetDateTime::now_utc() - time::Duration::days(7);
        if let Err(error) = store.delete_webhook_events_before(events_cutoff).await {
            tracing::warn!(%error, "could not delete old webhook events");
        }
        match store.delete_runs_before(cutoff).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(
                deleted,
                retention_days = retention.whole_days(),
                "deleted old sync history"
            ),
            Err(error) => tracing::warn!(%error, "could not delete old sync history"),
        }
    }
}
