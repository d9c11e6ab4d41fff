//! The measured sync phases: the initial sync of the generated world, the incremental sweep after
//! 1 % of the tickets changed on each side, and syncing and querying under simulated latency.
//!
//! Every sync phase ends with the correctness check (`verify`): a run that leaves the tenants
//! different fails the benchmark, whatever its speed.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::Context;
use fusion_autotask::wire::{AutotaskEntity, Company, Filter, QueryModel, Ticket, TicketNote};
use fusion_autotask::{AutotaskClient, AutotaskError, Credentials};
use fusion_autotask_sim::{FaultKind, FaultRule, Simulator};
use fusion_domain::sync::RunStatus;
use fusion_engine::{RunSummary, SyncMode};
use secrecy::SecretString;
use serde::Serialize;
use serde_json::json;
use time::OffsetDateTime;

use crate::commands::demo::connection::{SOURCE_ORGANISATION, TARGET_ORGANISATION};

use super::bed::{Bed, bench_sim_options};
use super::measure::{self, Stopwatch};
use super::verify;
use super::world::{WorldShape, generated_world};

/// Autotask's page size: the floor reads 500 rows per query.
const ROWS_PER_QUERY: usize = 500;
/// A person at the customer (Source) and the provider's technician (Target), as in the demo.
const SOURCE_PERSON: &str = "alex.morgan@contoso.example";
const TARGET_TECHNICIAN: &str = "jane.doe@northwindit.example";
/// 2000-01-01T00:00:00Z: before every ticket of the world.
const INITIAL_SINCE_UNIX: i64 = 946_684_800;

/// The figures of one sync phase.
#[derive(Debug, Serialize)]
pub struct SyncFigures {
    /// Tickets the phase had to carry across (created, or changed on either side).
    pub tickets: usize,
    pub wall_s: f64,
    pub tickets_per_s: f64,
    /// Every request the simulator answered during the run (both tenants).
    pub calls: u64,
    /// One write per changed entity plus one query per 500 rows of changed records read (at
    /// least one ticket query per side), plus one read per attachment's content.
    pub floor_calls: u64,
    pub calls_per_floor: f64,
    /// Peak resident memory of the whole process during the run, simulator included (MiB).
    pub peak_rss_mb: Option<f64>,
    /// Resident memory of the whole process just before the run (MiB): the peak less this is
    /// what the run added (its own data, the simulator's new records, the allocator's slack).
    pub rss_before_mb: Option<f64>,
    /// What the seeded simulator alone took before the first run (MiB).
    pub simulator_rss_mb: Option<f64>,
    pub status: String,
    pub calls_by_endpoint: BTreeMap<String, u64>,
    /// Incremental only: the first automatic run after the initial sync, before the changes. It
    /// re-reads (in pages) what the initial run wrote within the overlap window, finds it in
    /// step and remembers that, as the first automatic run after any big run does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settling_run: Option<SettlingRun>,
}

#[derive(Debug, Serialize)]
pub struct SettlingRun {
    pub calls: u64,
    pub wall_s: f64,
}

fn ceil_div(rows: usize) -> u64 {
    rows.div_ceil(ROWS_PER_QUERY) as u64
}

pub(super) fn since_2000() -> anyhow::Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(INITIAL_SINCE_UNIX)
        .context("the initial start date is valid")
}

/// Runs one sync and measures it; fails when the run is not a Success or the tenants disagree.
async fn measured_run(
    bed: &Bed,
    mode: SyncMode,
    label: &str,
    tickets: usize,
    floor_calls: u64,
) -> anyhow::Result<SyncFigures> {
    bed.simulator.clear_request_log();
    measure::reset_peak_rss();
    let rss_before_mb = measure::rss_mb();
    let watch = Stopwatch::start();
    let summary = bed
        .sync
        .run(bed.relationship, mode)
        .await
        .with_context(|| format!("the {label} sync did not run"))?;
    let wall = watch.wall().as_secs_f64();
    let peak_rss_mb = measure::peak_rss_mb();
    let calls_by_endpoint = bed.simulator.request_counts();
    let calls = calls_by_endpoint.values().sum();
    require_success(&summary, label)?;
    require_agreement(&bed.simulator, bed, label)?;
    Ok(SyncFigures {
        tickets,
        wall_s: wall,
        tickets_per_s: tickets as f64 / wall.max(f64::EPSILON),
        calls,
        floor_calls,
        calls_per_floor: calls as f64 / floor_calls.max(1) as f64,
        peak_rss_mb,
        rss_before_mb,
        simulator_rss_mb: bed.simulator_rss_mb,
        status: summary.status.label().to_owned(),
        calls_by_endpoint,
        settling_run: None,
    })
}

pub(super) fn require_success(summary: &RunSummary, label: &str) -> anyhow::Result<()> {
    if summary.status != RunStatus::Success {
        anyhow::bail!(
            "the {label} sync ended \"{}\" instead of Success (error: {}; failed tickets: {}); \
             the benchmark only counts correct runs",
            summary.status.label(),
            summary.error.as_deref().unwrap_or("none"),
            summary.counts.failed
        );
    }
    Ok(())
}

/// A run that found nothing to write is as good as a Success.
fn require_success_or_quiet(summary: &RunSummary, label: &str) -> anyhow::Result<()> {
    if summary.status == RunStatus::NoTicketsFound {
        return Ok(());
    }
    require_success(summary, label)
}

pub(super) fn require_agreement(
    simulator: &Simulator,
    bed: &Bed,
    label: &str,
) -> anyhow::Result<()> {
    let mismatches = verify::disagreements(simulator, bed.relationship);
    if !mismatches.is_empty() {
        anyhow::bail!(
            "after the {label} sync the two tenants differ, so its figures are void:\n  - {}",
            mismatches.join("\n  - ")
        );
    }
    Ok(())
}

/// The initial sync of the whole generated world.
pub async fn initial(bed: &Bed, shape: WorldShape) -> anyhow::Result<SyncFigures> {
    let writes = shape.tickets + shape.notes() + shape.attachments();
    // Source: tickets, notes, attachments read in pages, each attachment's content once;
    // Target: one (empty) ticket query.
    let floor = writes as u64
        + ceil_div(shape.tickets).max(1)
        + ceil_div(shape.notes())
        + ceil_div(shape.attachments())
        + shape.attachments() as u64
        + 1;
    measured_run(
        bed,
        SyncMode::Manual {
            since: since_2000()?,
        },
        "initial",
        shape.tickets,
        floor,
    )
    .await
}

/// 1 % of the tickets changed on each side (a retitle in the Source, a public comment on other
/// tickets' copies in the Target), then one automatic run.
pub async fn incremental(bed: &Bed, shape: WorldShape) -> anyhow::Result<SyncFigures> {
    let simulator = &bed.simulator;
    bed.simulator.clear_request_log();
    let watch = Stopwatch::start();
    let settling = bed
        .sync
        .run(bed.relationship, SyncMode::Automatic)
        .await
        .context("the first automatic sync after the initial one did not run")?;
    let settling_run = SettlingRun {
        wall_s: watch.wall().as_secs_f64(),
        calls: bed.simulator.request_counts().values().sum(),
    };
    require_success_or_quiet(&settling, "settling")?;
    let mut source_ids: Vec<i64> = simulator
        .records(
            SOURCE_ORGANISATION,
            fusion_autotask_sim::EntityKind::Tickets,
        )
        .iter()
        .filter_map(|ticket| ticket["id"].as_i64())
        .collect();
    source_ids.sort_unstable();
    let changes = (shape.tickets / 100).max(1);
    let step = (source_ids.len() / changes).max(1);
    let retitled: Vec<i64> = source_ids
        .iter()
        .step_by(step)
        .take(changes)
        .copied()
        .collect();
    let commented_sources: Vec<i64> = source_ids
        .iter()
        .skip(step / 2)
        .step_by(step)
        .filter(|id| !retitled.contains(id))
        .take(changes)
        .copied()
        .collect();
    let copies = verify::copies_of(simulator, bed.relationship, &commented_sources);
    for id in &retitled {
        simulator
            .ui_update_ticket(
                SOURCE_ORGANISATION,
                SOURCE_PERSON,
                *id,
                json!({ "title": format!("Bench ticket {id} (retitled by the customer)") }),
            )
            .map_err(|error| anyhow::anyhow!("cannot retitle Source ticket {id}: {error}"))?;
    }
    for (source, copy) in &copies {
        simulator
            .ui_add_note(
                TARGET_ORGANISATION,
                TARGET_TECHNICIAN,
                *copy,
                json!({
                    "title": "Onsite",
                    "description": format!("Technician's comment on the copy of {source}."),
                    "noteType": 1,
                    "publish": 1,
                }),
            )
            .map_err(|error| anyhow::anyhow!("cannot comment on Target ticket {copy}: {error}"))?;
    }
    // The floor: one write per change, and the changed pairs' records read on both sides.
    let changed_sources: BTreeSet<i64> = retitled.iter().chain(copies.keys()).copied().collect();
    let all_copies = verify::copies_of(
        simulator,
        bed.relationship,
        &changed_sources.iter().copied().collect::<Vec<_>>(),
    );
    let changed_copies: BTreeSet<i64> = all_copies.values().copied().collect();
    let writes = (retitled.len() + copies.len()) as u64;
    let mut reads = 0;
    for (tenant, ids) in [
        (SOURCE_ORGANISATION, &changed_sources),
        (TARGET_ORGANISATION, &changed_copies),
    ] {
        let [tickets, notes, attachments] = verify::rows_on(simulator, tenant, ids);
        reads += ceil_div(tickets).max(1) + ceil_div(notes) + ceil_div(attachments);
    }
    let mut figures = measured_run(
        bed,
        SyncMode::Automatic,
        "incremental",
        retitled.len() + copies.len(),
        writes + reads,
    )
    .await?;
    figures.settling_run = Some(settling_run);
    Ok(figures)
}

/// Requests and syncs against a simulator that holds every request for `latency`.
#[derive(Debug, Serialize)]
pub struct LatencyFigures {
    pub latency_ms: u64,
    pub concurrency_limit: u32,
    /// Concurrent queries on several endpoints through one Autotask service.
    pub requests: u64,
    pub endpoints: usize,
    pub wall_s: f64,
    pub achieved_rate: f64,
    /// endpoints × limit ÷ latency.
    pub theoretical_rate: f64,
    pub achieved_rate_ratio: f64,
    /// The same queries without latency: requests per second this machine serves at most
    /// (client and simulator sharing its cores).
    pub zero_latency_rate: f64,
    /// Rejections the simulator answered for going over the limit (must be 0), in every part.
    pub thread_threshold_errors: u64,
    /// A small initial sync under the same latency.
    pub sync: LatencySync,
}

#[derive(Debug, Serialize)]
pub struct LatencySync {
    pub tickets: usize,
    pub calls: u64,
    pub wall_s: f64,
    pub requests_per_s: f64,
    /// Against one endpoint's maximum (limit ÷ latency): the engine applies one ticket at a
    /// time, so a run keeps only one request in flight.
    pub rate_ratio: f64,
}

pub async fn latency(
    latency: Duration,
    requests_per_endpoint: usize,
    sync_tickets: usize,
    database_url: Option<&str>,
) -> anyhow::Result<LatencyFigures> {
    let shape = WorldShape {
        tickets: sync_tickets,
        notes_per_ticket: 2,
        attachment_every: 5,
    };
    let options = bench_sim_options();
    let limit = options.thread_limit;
    let threshold_status = options.thread_threshold_status;
    let bed = Bed::start_on(generated_world(shape)?, options, database_url).await?;
    let outcome = latency_on(
        &bed,
        latency,
        limit,
        threshold_status,
        requests_per_endpoint,
        shape,
    )
    .await;
    bed.stop().await;
    outcome
}

async fn latency_on(
    bed: &Bed,
    latency: Duration,
    limit: u32,
    threshold_status: u16,
    requests_per_endpoint: usize,
    shape: WorldShape,
) -> anyhow::Result<LatencyFigures> {
    let millis = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
    let tenant = bed
        .simulator
        .tenants()
        .into_iter()
        .find(|tenant| tenant.name == SOURCE_ORGANISATION)
        .context("the benchmark world has no Source tenant")?;
    let user = tenant
        .api_users
        .iter()
        .find(|user| user.active)
        .context("the Source tenant has no active API user")?;
    let client = bed.fresh_service()?.client(Credentials::new(
        user.username.clone(),
        SecretString::from(user.secret.clone()),
    ));
    // Zone discovery first, outside the measurement.
    client
        .zone()
        .await
        .context("zone discovery against the simulator failed")?;
    let endpoints = 3;
    // The same workload without latency first: the most requests per second this machine
    // serves (client, simulator and all), a ceiling for any sync here.
    bed.simulator.clear_request_log();
    let wall = concurrent_queries(&client, endpoints, requests_per_endpoint, limit).await?;
    let unlimited: u64 = bed.simulator.request_counts().values().sum();
    let zero_latency_rate = unlimited as f64 / wall.max(f64::EPSILON);
    let unlimited_rejections = rejections(&bed.simulator, threshold_status);

    bed.simulator
        .inject_fault(FaultRule::new(FaultKind::Latency { millis }));
    bed.simulator.clear_request_log();
    let wall = concurrent_queries(&client, endpoints, requests_per_endpoint, limit).await?;
    let requests: u64 = bed.simulator.request_counts().values().sum();
    let mut thread_threshold_errors =
        unlimited_rejections + rejections(&bed.simulator, threshold_status);
    let achieved_rate = requests as f64 / wall.max(f64::EPSILON);
    let per_endpoint_max = f64::from(limit) / latency.as_secs_f64().max(f64::EPSILON);
    let theoretical_rate = per_endpoint_max * endpoints as f64;

    bed.simulator.clear_request_log();
    let watch = Stopwatch::start();
    let summary = bed
        .sync
        .run(
            bed.relationship,
            SyncMode::Manual {
                since: since_2000()?,
            },
        )
        .await
        .context("the sync under latency did not run")?;
    let sync_wall = watch.wall().as_secs_f64();
    let sync_calls: u64 = bed.simulator.request_counts().values().sum();
    thread_threshold_errors += rejections(&bed.simulator, threshold_status);
    bed.simulator.clear_faults();
    require_success(&summary, "under-latency")?;
    require_agreement(&bed.simulator, bed, "under-latency")?;
    let sync_rate = sync_calls as f64 / sync_wall.max(f64::EPSILON);
    Ok(LatencyFigures {
        latency_ms: millis,
        concurrency_limit: limit,
        requests,
        endpoints,
        wall_s: wall,
        achieved_rate,
        theoretical_rate,
        achieved_rate_ratio: achieved_rate / theoretical_rate,
        zero_latency_rate,
        thread_threshold_errors,
        sync: LatencySync {
            tickets: shape.tickets,
            calls: sync_calls,
            wall_s: sync_wall,
            requests_per_s: sync_rate,
            rate_ratio: sync_rate / per_endpoint_max,
        },
    })
}

/// `requests_per_endpoint` one-row queries on each of `endpoints` endpoints from more callers
/// than the per-endpoint `limit`, so the client's limiter is what holds them back; wall seconds.
async fn concurrent_queries(
    client: &AutotaskClient,
    endpoints: usize,
    requests_per_endpoint: usize,
    limit: u32,
) -> anyhow::Result<f64> {
    let watch = Stopwatch::start();
    let mut tasks = tokio::task::JoinSet::new();
    let callers_per_endpoint = (limit as usize) * 3;
    for caller in 0..callers_per_endpoint * endpoints {
        let client = client.clone();
        let endpoint = caller % endpoints;
        let rank = caller / endpoints;
        let share = requests_per_endpoint / callers_per_endpoint
            + usize::from(rank < requests_per_endpoint % callers_per_endpoint);
        tasks.spawn(async move {
            for _ in 0..share {
                match endpoint {
                    0 => one_row::<Ticket>(&client).await?,
                    1 => one_row::<TicketNote>(&client).await?,
                    _ => one_row::<Company>(&client).await?,
                }
            }
            Ok::<(), AutotaskError>(())
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined
            .context("a benchmark task failed")?
            .context("a query of the latency phase failed")?;
    }
    Ok(watch.wall().as_secs_f64())
}

/// Requests the simulator refused with the thread-threshold status (the request log of a
/// latency phase is far below its capacity, so none is lost).
fn rejections(simulator: &Simulator, status: u16) -> u64 {
    simulator
        .request_log()
        .iter()
        .filter(|request| request.status == status)
        .count() as u64
}

async fn one_row<T: AutotaskEntity>(client: &AutotaskClient) -> Result<(), AutotaskError> {
    client
        .query_page::<T>(&QueryModel {
            max_records: 1,
            include_fields: vec!["id".to_owned()],
            filter: vec![Filter::all()],
        })
        .await
        .map(|_| ())
}
