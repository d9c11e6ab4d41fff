//! A test bed for one benchmark phase: the in-process simulator seeded with a world, a throw-away
//! SQLite store with the two demo organisations registered, connected and configured exactly as
//! `fusion demo` does, and the sync service the scheduler uses (`StoreSyncDirectory`).
//!
//! The simulator runs with its hourly threshold lifted: a 10,000-ticket initial sync needs more
//! than 30,000 requests, which Autotask's real 10,000 requests per hour would spread over hours;
//! the benchmark measures our cost per request and counts the requests instead. The client's own
//! hourly budget is lifted for the same reason.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use fusion_autotask::{AutotaskService, AutotaskSettings};
use fusion_autotask_sim::{RunningSimulator, SimOptions, Simulator, World};
use fusion_domain::{OrgId, RelationshipId, Role, SystemClock};
use fusion_engine::{EngineSettings, SyncEngine, SyncService};
use fusion_store::{ScratchSchema, Store};

use crate::commands::demo;
use crate::commands::serve::{autotask_settings, open_store};
use crate::database_location::DatabaseLocation;
use crate::sync_directory::StoreSyncDirectory;

use super::measure;

/// Simulator options for benchmarks: Autotask's limits and behaviour, without the hourly
/// threshold (see the module docs) and with no simulated latency unless a phase adds it.
pub fn bench_sim_options() -> SimOptions {
    SimOptions {
        hourly_request_threshold: u64::from(u32::MAX),
        attachment_budget_bytes: u64::MAX / 2,
        ..SimOptions::default()
    }
}

pub struct Bed {
    pub simulator: Simulator,
    running: Option<RunningSimulator>,
    pub store: Arc<dyn Store>,
    pub autotask: AutotaskSettings,
    pub sync: SyncService,
    pub relationship: RelationshipId,
    pub source_org: OrgId,
    pub target_org: OrgId,
    data_dir: PathBuf,
    /// Resident memory the seeded simulator added before any sync (MiB).
    pub simulator_rss_mb: Option<f64>,
    /// The PostgreSQL schema the store lives in, when not SQLite.
    scratch: Option<ScratchSchema>,
    /// Where the store is (a child process opens it too: `own_process.rs`).
    location: DatabaseLocation,
}

impl Bed {
    /// A bed on a throw-away SQLite store.
    pub async fn start(world: World, options: SimOptions) -> anyhow::Result<Bed> {
        Self::start_on(world, options, None).await
    }

    /// A bed on a throw-away store: SQLite, or with `database_url` (`postgres://…`) a fresh
    /// schema in that PostgreSQL database, dropped when the bed stops.
    pub async fn start_on(
        world: World,
        options: SimOptions,
        database_url: Option<&str>,
    ) -> anyhow::Result<Bed> {
        let before = measure::rss_mb();
        let simulator = Simulator::new(world, options)
            .map_err(|error| anyhow::anyhow!("the benchmark world is invalid: {error}"))?;
        let running = simulator
            .spawn(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .context("cannot start the Autotask simulator")?;
        let simulator_rss_mb = match (before, measure::rss_mb()) {
            (Some(before), Some(after)) => Some((after - before).max(0.0)),
            _ => None,
        };
        let scratch = match database_url {
            Some(url) => Some(ScratchSchema::create(url).await.with_context(|| {
                format!(
                    "cannot create a scratch schema in the PostgreSQL database {}",
                    crate::database_location::redact_url_password(url)
                )
            })?),
            None => None,
        };
        let data_dir = demo::fresh_temporary_directory()
            .context("cannot create a temporary directory for the benchmark")?;
        let location = match &scratch {
            Some(scratch) => DatabaseLocation {
                database_url: scratch.url.clone(),
                key_file: data_dir.join("fusion.key"),
                sqlite_file: None,
                allow_readable_key_file: false,
            },
            None => DatabaseLocation::sqlite_in(&data_dir),
        };
        let bed = Self::configure(
            simulator,
            running,
            data_dir.clone(),
            &location,
            simulator_rss_mb,
        )
        .await;
        let bed = match (bed, scratch) {
            (Ok(mut bed), scratch) => {
                bed.scratch = scratch;
                Ok(bed)
            }
            (Err(error), Some(scratch)) => {
                scratch.drop_schema().await;
                Err(error)
            }
            (Err(error), None) => Err(error),
        };
        if bed.is_err()
            && let Err(error) = std::fs::remove_dir_all(&data_dir)
        {
            tracing::warn!("cannot remove {}: {error}", data_dir.display());
        }
        bed
    }

    async fn configure(
        simulator: Simulator,
        running: RunningSimulator,
        data_dir: PathBuf,
        location: &DatabaseLocation,
        simulator_rss_mb: Option<f64>,
    ) -> anyhow::Result<Bed> {
        let tenants = simulator.tenants();
        let integration_code = tenants
            .first()
            .map(|tenant| tenant.integration_code.clone())
            .context("the benchmark world has no tenants")?;
        let store = open_store(location, None).await?;
        let mut organisations = Vec::new();
        for tenant in &tenants {
            organisations.push(demo::register(store.as_ref(), tenant).await?);
        }
        let mut autotask = autotask_settings(Some(integration_code), Some(running.base_url()))?;
        autotask.hourly_request_budget = u32::MAX;
        let connection = demo::connect(&store, &autotask, &organisations).await?;
        let relationship = connection.relationship;
        let (Some(source_org), Some(target_org)) = (
            relationship.org_in_role(Role::Source),
            relationship.org_in_role(Role::Target),
        ) else {
            anyhow::bail!("the benchmark connection has no Source or Target organisation");
        };
        let sync = sync_service(&store, &autotask)?;
        Ok(Bed {
            simulator,
            running: Some(running),
            store,
            autotask,
            sync,
            relationship: relationship.id,
            source_org,
            target_org,
            data_dir,
            simulator_rss_mb,
            scratch: None,
            location: location.clone(),
        })
    }

    pub fn location(&self) -> &DatabaseLocation {
        &self.location
    }

    pub fn base_url(&self) -> &str {
        self.running
            .as_ref()
            .map_or("", |running| running.base_url())
    }

    /// A fresh Autotask service (its own zone cache, limiter and budget) on this bed's settings.
    pub fn fresh_service(&self) -> anyhow::Result<AutotaskService> {
        AutotaskService::new(self.autotask.clone()).context("cannot set up the Autotask client")
    }

    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
        self.store.close().await;
        if let Some(scratch) = self.scratch.take() {
            scratch.drop_schema().await;
        }
        if let Err(error) = std::fs::remove_dir_all(&self.data_dir) {
            tracing::warn!("cannot remove {}: {error}", self.data_dir.display());
        }
    }
}

/// The sync service exactly as `fusion serve` builds it.
pub(super) fn sync_service(
    store: &Arc<dyn Store>,
    autotask: &AutotaskSettings,
) -> anyhow::Result<SyncService> {
    let service =
        AutotaskService::new(autotask.clone()).context("cannot set up the Autotask client")?;
    let clock = Arc::new(SystemClock);
    let engine = SyncEngine::new(store.clone(), clock.clone(), EngineSettings::default());
    let directory = Arc::new(StoreSyncDirectory::new(store.clone(), service));
    Ok(SyncService::new(engine, directory, store.clone(), clock))
}
