//! One hub tenant in hundreds of relationships (issue 15): "Northwind IT" (an MSP, or a vendor)
//! connected to every partner tenant of `World::msp_with_customers`, each relationship carrying
//! its partner's company only, every one "Ready for automatic sync" at the default 5-minute
//! interval. The scheduler's sweeps run on the binary's `StoreSyncDirectory`, whose shared reads
//! read each tenant's changes once per sweep; the same sweep with shared reads switched off is
//! the comparison (what each relationship reading for itself costs).
//!
//! Two sweeps settle first (the first loads every tenant's choices and API user; the second
//! re-reads what the first wrote within the overlap window), then quiet sweeps are measured.
//! The sweeps come due by a clock moved ahead of the real one, so the phase waits for nothing.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use fusion_autotask::AutotaskService;
use fusion_autotask_sim::World;
use fusion_domain::sync::{SyncCursor, SyncSchedule};
use fusion_domain::{Clock, OrgId, RelationshipId, Role, SyncReadiness};
use fusion_engine::{EngineSettings, SyncEngine, SyncService};
use serde::Serialize;
use time::OffsetDateTime;

use crate::commands::demo::connection::{
    DemoSide, SOURCE_ORGANISATION, TARGET_ORGANISATION, connect_demo_organisations,
};
use crate::sync_directory::StoreSyncDirectory;

use super::bed::{Bed, bench_sim_options};
use super::measure::{self, Stopwatch};

/// The hub: the tenant in every relationship.
const HUB: &str = TARGET_ORGANISATION;

#[derive(Debug, Serialize)]
pub struct HubFigures {
    /// Partner tenants, each in one relationship with the hub.
    pub partners: usize,
    /// Requests to the hub tenant in an hour of quiet 5-minute sweeps (12 sweeps).
    pub hub_requests_per_hour_quiet: f64,
    /// Requests to one partner tenant in the same hour (the mean over partners).
    pub partner_requests_per_hour_quiet: f64,
    /// One quiet sweep of every relationship, wall time.
    pub sweep_s: f64,
    /// Resident memory after the quiet sweep, whole process, simulator included (MiB).
    pub rss_mb: Option<f64>,
    /// The comparison: the hub's requests per quiet hour when every relationship reads the hub's
    /// changes itself (shared reads off).
    pub hub_requests_per_hour_quiet_unshared: f64,
    pub sweep_unshared_s: f64,
}

/// The real time, moved ahead by the phase so that the next sweep is due at once.
#[derive(Debug, Default)]
struct AheadClock(Mutex<time::Duration>);

impl AheadClock {
    fn jump(&self, by: time::Duration) {
        if let Ok(mut ahead) = self.0.lock() {
            *ahead += by;
        }
    }
}

impl Clock for AheadClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + self.0.lock().map(|ahead| *ahead).unwrap_or_default()
    }
}

fn partner_name(number: usize) -> String {
    format!("Partner {number:04}")
}

pub async fn hub(partners: usize) -> anyhow::Result<HubFigures> {
    let partners = partners.max(1);
    // Contoso Manufacturing is the first partner; the rest are shaped like it.
    let more: Vec<String> = (1..partners).map(partner_name).collect();
    let more: Vec<&str> = more.iter().map(String::as_str).collect();
    let bed = Bed::start(World::msp_with_customers(&more), bench_sim_options()).await?;
    let outcome = hub_on(&bed, partners).await;
    bed.stop().await;
    outcome
}

async fn hub_on(bed: &Bed, partners: usize) -> anyhow::Result<HubFigures> {
    let store = &bed.store;
    let organisations: BTreeMap<String, OrgId> = store
        .organisations()
        .await
        .context("cannot read the benchmark organisations")?
        .into_iter()
        .map(|organisation| (organisation.name, organisation.id))
        .collect();
    let tenants = bed.simulator.tenants();
    let side = |name: &str| -> anyhow::Result<(OrgId, String, String)> {
        let org = *organisations
            .get(name)
            .with_context(|| format!("no organisation for the tenant {name}"))?;
        let user = tenants
            .iter()
            .find(|tenant| tenant.name == name)
            .and_then(|tenant| tenant.api_users.iter().find(|user| user.active))
            .with_context(|| format!("the tenant {name} has no active API user"))?;
        Ok((org, user.username.clone(), user.secret.clone()))
    };
    let (hub_org, hub_user, hub_secret) = side(HUB)?;
    let mut relationships = vec![bed.relationship];
    for number in 1..partners {
        let name = partner_name(number);
        let (org, user, secret) = side(&name)?;
        let connection = connect_demo_organisations(
            store,
            &bed.autotask,
            &DemoSide {
                org_id: org,
                name: &name,
                api_username: &user,
                api_secret: &secret,
            },
            &DemoSide {
                org_id: hub_org,
                name: HUB,
                api_username: &hub_user,
                api_secret: &hub_secret,
            },
        )
        .await
        .with_context(|| format!("cannot connect {name} to {HUB}"))?;
        relationships.push(connection.relationship.id);
    }
    let now = OffsetDateTime::now_utc();
    for relationship in &relationships {
        schedule(bed, *relationship, now).await?;
    }

    let clock = Arc::new(AheadClock::default());
    let service =
        AutotaskService::new(bed.autotask.clone()).context("cannot set up the Autotask client")?;
    let directory = StoreSyncDirectory::new(store.clone(), service);
    let engine = SyncEngine::new(store.clone(), clock.clone(), EngineSettings::default());
    let shared = SyncService::new(
        engine.clone(),
        Arc::new(directory.clone()),
        store.clone(),
        clock.clone(),
    );
    // The same caches (choices, API users), each relationship reading for itself.
    let unshared = SyncService::new(
        engine,
        Arc::new(directory.without_shared_reads()),
        store.clone(),
        clock.clone(),
    );
    let interval = SyncSchedule::DEFAULT_INTERVAL;
    for _settling in 0..2 {
        sweep(&shared, relationships.len()).await?;
        clock.jump(interval);
    }
    bed.simulator.clear_request_log();
    let watch = Stopwatch::start();
    sweep(&shared, relationships.len()).await?;
    let sweep_s = watch.wall().as_secs_f64();
    let rss_mb = measure::rss_mb();
    let (hub_requests, partner_requests) = requests(bed, partners);
    clock.jump(interval);

    bed.simulator.clear_request_log();
    let watch = Stopwatch::start();
    sweep(&unshared, relationships.len()).await?;
    let sweep_unshared_s = watch.wall().as_secs_f64();
    let (hub_unshared, _) = requests(bed, partners);

    let sweeps_per_hour = 3600.0 / interval.as_seconds_f64();
    Ok(HubFigures {
        partners,
        hub_requests_per_hour_quiet: hub_requests * sweeps_per_hour,
        partner_requests_per_hour_quiet: partner_requests * sweeps_per_hour,
        sweep_s,
        rss_mb,
        hub_requests_per_hour_quiet_unshared: hub_unshared * sweeps_per_hour,
        sweep_unshared_s,
    })
}

/// Baseline at `now`, "Ready for automatic sync", automatic sync on at the default interval.
async fn schedule(
    bed: &Bed,
    relationship: RelationshipId,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    let store = bed.store.as_ref();
    for side in [Role::Source, Role::Target] {
        store
            .save_cursor(&SyncCursor {
                relationship,
                side,
                last_activity_at: now,
                last_id: None,
            })
            .await
            .context("cannot set a hub connection's baseline")?;
    }
    store
        .set_sync_readiness(relationship, SyncReadiness::ReadyForAutomaticSync)
        .await
        .context("cannot mark a hub connection ready")?;
    store
        .set_sync_schedule(
            relationship,
            &SyncSchedule::new(true, SyncSchedule::DEFAULT_INTERVAL).context("a valid interval")?,
            now,
        )
        .await
        .context("cannot switch a hub connection's automatic sync on")?;
    Ok(())
}

/// One scheduler sweep; every relationship must run, and none fail.
async fn sweep(sync: &SyncService, expected: usize) -> anyhow::Result<()> {
    let outcomes = sync
        .run_due()
        .await
        .map_err(|error| anyhow::anyhow!("cannot list the relationships to run: {error}"))?;
    if let Some(outcome) = outcomes.iter().find(|outcome| outcome.result.is_err()) {
        anyhow::bail!(
            "a hub connection's run failed: {}: {:?}",
            outcome.relationship,
            outcome.result.as_ref().err()
        );
    }
    if outcomes.len() != expected {
        anyhow::bail!(
            "the sweep ran {} hub connections, expected {expected}",
            outcomes.len()
        );
    }
    Ok(())
}

/// Requests the simulator answered since its log was cleared: the hub's, and the mean of a
/// partner's.
fn requests(bed: &Bed, partners: usize) -> (f64, f64) {
    let mut hub = 0_u64;
    let mut others = 0_u64;
    for request in bed.simulator.request_log() {
        match request.tenant.as_deref() {
            Some(HUB) => hub += 1,
            Some(name) if name == SOURCE_ORGANISATION || name.starts_with("Partner ") => {
                others += 1;
            }
            _ => {}
        }
    }
    (hub as f64, others as f64 / partners as f64)
}
