//! `SyncService`: the engine as the rest of the product uses it — run a relationship now (manual,
//! automatic or dry run) with its setup loaded through the [`SyncDirectory`] port, and run every
//! relationship whose automatic sync is due (the scheduler inside `fusion serve`).
//!
//! "Due" is judged from the stored history (the last run's start), not from memory, so several
//! processes sharing a PostgreSQL database agree; the run leases make sure only one of them runs
//! a given relationship at a time.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use fusion_domain::{Clock, RelationshipId};
use fusion_store::{RunFilter, SyncStore};
use time::Duration;

use crate::engine::{EngineError, RunSummary, SyncEngine, SyncMode, SyncSetup};

/// A relationship whose automatic sync is switched on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledRelationship {
    pub relationship: RelationshipId,
    /// Time between the starts of two automatic runs (5 minutes by default).
    pub interval: Duration,
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
}

/// One relationship's outcome in [`SyncService::run_due`].
#[derive(Debug)]
pub struct ScheduledOutcome {
    pub relationship: RelationshipId,
    pub result: Result<RunSummary, ServiceError>,
}

/// The engine with its directory.
#[derive(Clone)]
pub struct SyncService {
    engine: SyncEngine,
    directory: Arc<dyn SyncDirectory>,
    store: Arc<dyn SyncStore>,
    clock: Arc<dyn Clock>,
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
        }
    }

    /// Runs `relationship` now. A manual run that set the cursors moves the relationship to
    /// "Ready for automatic sync".
    pub async fn run(
        &self,
        relationship: RelationshipId,
        mode: SyncMode,
    ) -> Result<RunSummary, ServiceError> {
        let setup = self.directory.setup(relationship).await?;
        let summary = self.engine.sync_once(&setup, mode).await?;
        if matches!(mode, SyncMode::Manual { .. }) && summary.cursors_advanced {
            self.directory.baseline_set(relationship).await?;
        }
        Ok(summary)
    }

    /// Whether the relationship's last run started at least `interval` ago (or it never ran).
    async fn is_due(&self, scheduled: &ScheduledRelationship) -> Result<bool, EngineError> {
        let last = self
            .store
            .sync_runs(&RunFilter {
                relationship: Some(scheduled.relationship),
                status: None,
                started_from: None,
                started_before: None,
                limit: 1,
            })
            .await?;
        let now = self.clock.now();
        Ok(last
            .first()
            .is_none_or(|run| now - run.started_at >= scheduled.interval))
    }

    /// Runs every relationship whose automatic sync is due, one after the other. Relationships
    /// another process is running are left out (`Busy` outcomes are dropped).
    pub async fn run_due(&self) -> Result<Vec<ScheduledOutcome>, SetupError> {
        let mut outcomes = Vec::new();
        for scheduled in self.directory.automatic_relationships().await? {
            match self.is_due(&scheduled).await {
                Ok(false) => continue,
                Ok(true) => {}
                Err(error) => {
                    outcomes.push(ScheduledOutcome {
                        relationship: scheduled.relationship,
                        result: Err(error.into()),
                    });
                    continue;
                }
            }
            let result = self.run(scheduled.relationship, SyncMode::Automatic).await;
            if matches!(result, Err(ServiceError::Engine(EngineError::Busy(_)))) {
                continue;
            }
            outcomes.push(ScheduledOutcome {
                relationship: scheduled.relationship,
                result,
            });
        }
        Ok(outcomes)
    }

    /// The scheduler: [`SyncService::run_due`] every `tick` until `shutdown` completes. Outcomes
    /// are logged; a failed tick is logged and the next one tried.
    pub async fn run_until(&self, tick: std::time::Duration, shutdown: impl Future<Output = ()>) {
        let mut ticks = tokio::time::interval(tick);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => return,
                _ = ticks.tick() => {}
            }
            match self.run_due().await {
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
    }
}
