//! Many active relationships scheduled on one node: `SyncService::run_due` over the binary's
//! `StoreSyncDirectory`, as `fusion serve`'s scheduler calls it. Every relationship connects the
//! same two demo organisations (copied configuration, mappings and composition), has its baseline
//! set (cursors at "now") and is "Ready for automatic sync", so one sweep runs each of them once,
//! quietly: the cost measured is that of polling, not of syncing changes.

use anyhow::Context;
use fusion_autotask_sim::World;
use fusion_domain::sync::SyncCursor;
use fusion_domain::{
    FieldMappingId, OrgId, RelationshipId, Role, SyncReadiness, VERIFICATION_CODE_LIFETIME,
    VerificationCode,
};
use fusion_store::Store;
use serde::Serialize;
use time::OffsetDateTime;

use super::bed::{Bed, bench_sim_options};
use super::measure::{self, Stopwatch};

#[derive(Debug, Serialize)]
pub struct PollingFigures {
    pub relationships: usize,
    /// CPU of the whole process (simulator included) averaged over one automatic interval
    /// (5 minutes), in % of one core: the sweep's CPU time ÷ the interval.
    pub cpu_pct: Option<f64>,
    /// Resident memory after the sweep, whole process (MiB).
    pub rss_mb: Option<f64>,
    pub peak_rss_mb: Option<f64>,
    /// One `run_due` that ran every relationship once.
    pub sweep_wall_s: f64,
    pub sweep_cpu_s: Option<f64>,
    /// CPU while sweeping, in % of one core.
    pub sweep_cpu_pct: Option<f64>,
    pub runs_ok: usize,
    pub calls: u64,
    pub calls_per_run: f64,
    /// A `run_due` right after, with nothing due (the scheduler's tick in between sweeps).
    pub idle_tick_ms: f64,
}

pub async fn polling(count: usize, database_url: Option<&str>) -> anyhow::Result<PollingFigures> {
    let bed = Bed::start_on(World::demo(), bench_sim_options(), database_url).await?;
    let outcome = polling_on(&bed, count).await;
    bed.stop().await;
    outcome
}

async fn polling_on(bed: &Bed, count: usize) -> anyhow::Result<PollingFigures> {
    let store = bed.store.as_ref();
    for number in 0..count {
        add_relationship(bed, store, number).await?;
    }
    bed.simulator.clear_request_log();
    measure::reset_peak_rss();
    let watch = Stopwatch::start();
    let outcomes = bed
        .sync
        .run_due()
        .await
        .map_err(|error| anyhow::anyhow!("cannot list the relationships to run: {error}"))?;
    let sweep_wall = watch.wall().as_secs_f64();
    let sweep_cpu = watch.cpu().map(|cpu| cpu.as_secs_f64());
    let rss_mb = measure::rss_mb();
    let peak_rss_mb = measure::peak_rss_mb();
    let calls: u64 = bed.simulator.request_counts().values().sum();
    let runs_ok = outcomes
        .iter()
        .filter(|outcome| outcome.result.is_ok())
        .count();
    if let Some((relationship, Err(error))) = outcomes
        .iter()
        .map(|outcome| (outcome.relationship, &outcome.result))
        .find(|(_, result)| result.is_err())
    {
        anyhow::bail!(
            "{} of {} scheduled runs failed; the first, of {relationship}: {error}",
            outcomes.len() - runs_ok,
            outcomes.len(),
        );
    }
    if runs_ok != count {
        anyhow::bail!("the sweep ran {runs_ok} relationships, expected {count}");
    }
    let idle = Stopwatch::start();
    let again = bed
        .sync
        .run_due()
        .await
        .map_err(|error| anyhow::anyhow!("cannot list the relationships to run: {error}"))?;
    let idle_tick_ms = idle.wall().as_secs_f64() * 1000.0;
    if !again.is_empty() {
        anyhow::bail!(
            "{} relationships ran again right after the sweep",
            again.len()
        );
    }
    let interval_s = fusion_domain::sync::SyncSchedule::DEFAULT_INTERVAL.as_seconds_f64();
    Ok(PollingFigures {
        relationships: count,
        cpu_pct: sweep_cpu.map(|cpu| cpu / interval_s * 100.0),
        rss_mb,
        peak_rss_mb,
        sweep_wall_s: sweep_wall,
        sweep_cpu_s: sweep_cpu,
        sweep_cpu_pct: sweep_cpu.map(|cpu| cpu / sweep_wall.max(f64::EPSILON) * 100.0),
        runs_ok,
        calls,
        calls_per_run: calls as f64 / count.max(1) as f64,
        idle_tick_ms,
    })
}

/// One more Active relationship between the bed's organisations, configured like the first,
/// with its baseline at now.
async fn add_relationship(bed: &Bed, store: &dyn Store, number: usize) -> anyhow::Result<()> {
    let now = OffsetDateTime::now_utc();
    let code = verification_code()?;
    store
        .create_relationship(
            bed.source_org,
            Role::Source,
            &format!("Bench connection {number}"),
            &code,
            now,
            now + VERIFICATION_CODE_LIFETIME,
        )
        .await
        .context("cannot create a benchmark connection")?;
    let relationship = store
        .accept_relationship(bed.target_org, &code, now)
        .await
        .context("cannot accept a benchmark connection")?
        .map_err(|reason| anyhow::anyhow!("a benchmark connection was not accepted: {reason}"))?;
    copy_configuration(bed, store, relationship.id).await?;
    for side in [Role::Source, Role::Target] {
        store
            .save_cursor(&SyncCursor {
                relationship: relationship.id,
                side,
                last_activity_at: now,
                last_id: None,
            })
            .await
            .context("cannot set a benchmark connection's baseline")?;
    }
    store
        .set_sync_readiness(relationship.id, SyncReadiness::ReadyForAutomaticSync)
        .await
        .context("cannot mark a benchmark connection ready")?;
    store
        .set_sync_schedule(
            relationship.id,
            &fusion_domain::sync::SyncSchedule::new(
                true,
                fusion_domain::sync::SyncSchedule::DEFAULT_INTERVAL,
            )
            .context("a valid interval")?,
            now,
        )
        .await
        .context("cannot switch a benchmark connection's automatic sync on")?;
    Ok(())
}

async fn copy_configuration(
    bed: &Bed,
    store: &dyn Store,
    to: RelationshipId,
) -> anyhow::Result<()> {
    let from = bed.relationship;
    for org in [bed.source_org, bed.target_org] {
        let config = side_config(store, from, org).await?;
        store
            .save_integration_config(to, org, &config)
            .await
            .context("cannot save a benchmark connection's configuration")?;
    }
    let mappings: Vec<_> = store
        .field_mappings(from)
        .await
        .context("cannot read the field mappings")?
        .into_iter()
        .map(|mut mapping| {
            mapping.id = FieldMappingId::new();
            mapping.relationship_id = to;
            mapping
        })
        .collect();
    store
        .replace_field_mappings(to, &mappings)
        .await
        .context("cannot save a benchmark connection's field mappings")?;
    let composition = store
        .description_composition(from)
        .await
        .context("cannot read the description composition")?;
    store
        .save_description_composition(to, composition.as_ref())
        .await
        .context("cannot save a benchmark connection's description composition")?;
    Ok(())
}

async fn side_config(
    store: &dyn Store,
    relationship: RelationshipId,
    org: OrgId,
) -> anyhow::Result<fusion_domain::SideConfig> {
    store
        .integration_config(relationship, org)
        .await
        .context("cannot read the configuration")?
        .context("the benchmark connection has no configuration")
}

fn verification_code() -> anyhow::Result<VerificationCode> {
    let bytes = (0..4).flat_map(|_| uuid::Uuid::new_v4().into_bytes());
    VerificationCode::from_random_bytes(bytes).context("could not draw a verification code")
}
