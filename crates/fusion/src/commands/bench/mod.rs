//! `fusion bench`: performance measured against the in-process Autotask simulator on a generated
//! world, printed as a table or (with `--json`) one JSON object.
//!
//! Phases, each on its own simulator and throw-away SQLite store (the small ones first, so that
//! what the big world leaves in the allocator does not count against them):
//! 1. the initial sync of the world (10,000 tickets, 2 public notes each, an attachment on every
//!    fifth) and 2. the incremental sweep after 1 % of the tickets changed on each side — wall
//!    time, tickets/s, requests by endpoint, requests against the floor, peak RSS;
//! 3. queries and a small sync with every request held 150 ms under the 3-per-endpoint limit —
//!    achieved request rate against the theoretical maximum, thread-threshold rejections;
//! 4. 1,000 active relationships polled by the scheduler (`SyncService::run_due`) — CPU, RSS;
//!    and one hub tenant in 300 relationships (`hub`): its requests per quiet hour with shared
//!    reads per tenant and without;
//! 5. every ticket fetched with our client and with py-autotask — requests and wall time;
//! 6. webhooks: edits on both sides spread over time under 150 ms latency, carried by the
//!    simulator's callouts to the product's receiver — edit-to-visible delay, requests per
//!    change, missed changes, and a quiet hour with webhooks against polling every 5 minutes;
//! 7. scale-out (`scale_out`, only with `--database-url postgres://…`): three `fusion serve`
//!    processes on the database, one killed with SIGKILL mid-run — duplicates, missed tickets,
//!    and how long until its connections ran elsewhere.
//!
//! Every sync is checked: both tenants must agree at the end, or the benchmark fails (exit 1)
//! saying how they differ. `--quick` runs a small world (for smoke tests and CI).

mod bed;
mod cluster;
mod hub;
mod initial_latency;
mod measure;
mod own_process;
mod phases;
mod py_autotask;
mod relationships;
mod scale_out;
mod verify;
mod webhooks;
mod world;

use std::time::Duration;

use serde::Serialize;

use crate::cli::BenchArgs;
// `cluster.rs` names the demo's connection set-up so (the end-to-end test compiles it in too).
use crate::commands::demo::connection as demo_connection;
use crate::exit_status::Completion;

use self::bed::{Bed, bench_sim_options};
use self::hub::HubFigures;
use self::phases::{LatencyFigures, SyncFigures};
use self::py_autotask::Comparison;
use self::relationships::PollingFigures;
use self::world::{WorldShape, generated_world};

/// The simulated latency of the latency phase.
const LATENCY: Duration = Duration::from_millis(150);

/// Sizes of one benchmark.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    world: WorldShape,
    relationships: usize,
    hub_partners: usize,
    latency_requests_per_endpoint: usize,
    latency_sync_tickets: usize,
    initial_latency_tickets: usize,
    /// Edits in the webhooks phase, and the time they are spread over.
    webhook_changes: usize,
    webhook_spread: Duration,
}

impl Sizes {
    fn for_args(args: &BenchArgs) -> Sizes {
        let (tickets, relationships, latency_requests, latency_tickets, hub_partners) =
            if args.quick {
                (200, 20, 15, 1, 20)
            } else {
                (10_000, 1_000, 300, 20, 300)
            };
        let initial_latency = if args.quick { 30 } else { 150 };
        Sizes {
            world: WorldShape {
                tickets: args.tickets.unwrap_or(tickets),
                notes_per_ticket: 2,
                attachment_every: 5,
            },
            relationships: args.relationships.unwrap_or(relationships),
            // `--relationships` caps the hub phase too (smoke tests keep it small).
            hub_partners: args
                .relationships
                .map_or(hub_partners, |count| count.min(hub_partners)),
            latency_requests_per_endpoint: latency_requests,
            latency_sync_tickets: latency_tickets,
            initial_latency_tickets: initial_latency,
            webhook_changes: if args.quick { 40 } else { 300 },
            webhook_spread: Duration::from_secs(if args.quick { 20 } else { 300 }),
        }
    }
}

#[derive(Debug, Serialize)]
struct Report {
    ok: bool,
    quick: bool,
    build: &'static str,
    /// The store every phase ran on: `sqlite` or `postgres`.
    database: &'static str,
    machine: Machine,
    world: World,
    initial: SyncFigures,
    incremental: SyncFigures,
    latency: LatencyFigures,
    initial_latency: initial_latency::InitialLatencyFigures,
    /// The initial sync again, with the product in a process of its own (its memory alone).
    initial_own_process: own_process::OwnProcessFigures,
    relationships_1000: PollingFigures,
    hub: HubFigures,
    webhooks: webhooks::WebhookFigures,
    vs_py_autotask: Option<Comparison>,
    /// Why `vs_py_autotask` is null, and how to enable it.
    #[serde(skip_serializing_if = "Option::is_none")]
    vs_py_autotask_skipped: Option<String>,
    scale_out: Option<scale_out::ScaleOutFigures>,
    /// Why `scale_out` is null, and how to enable it.
    #[serde(skip_serializing_if = "Option::is_none")]
    scale_out_skipped: Option<String>,
}

#[derive(Debug, Serialize)]
struct Machine {
    cores: usize,
    cpu_model: String,
}

#[derive(Debug, Serialize)]
struct World {
    tickets: usize,
    notes_per_ticket: usize,
    attachment_every: usize,
}

pub async fn run(args: BenchArgs) -> anyhow::Result<Completion> {
    if let Some(spec) = &args.child_sync {
        own_process::child(spec).await?;
        return Ok(Completion::Succeeded);
    }
    let sizes = Sizes::for_args(&args);
    let database_url = match args.database_url.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Some(url)
        }
        Some(_) => {
            return Err(crate::exit_status::InvalidInput(
                "--database-url must be a PostgreSQL URL (postgres://USER@HOST/DATABASE); without it the benchmark uses a throw-away SQLite file".into(),
            )
            .into());
        }
    };
    let shape = sizes.world;
    let progress = |text: &str| {
        if !args.json {
            eprintln!("fusion bench: {text}");
        }
    };

    progress(&format!(
        "{} ms latency under the {}-per-endpoint limit…",
        LATENCY.as_millis(),
        bench_sim_options().thread_limit
    ));
    let latency = phases::latency(
        LATENCY,
        sizes.latency_requests_per_endpoint,
        sizes.latency_sync_tickets,
        database_url,
    )
    .await?;
    progress(&format!(
        "initial sync of {} tickets under {} ms latency…",
        sizes.initial_latency_tickets,
        LATENCY.as_millis()
    ));
    let initial_latency =
        initial_latency::initial_latency(LATENCY, sizes.initial_latency_tickets, database_url)
            .await?;
    progress(&format!(
        "{} relationships polled by the scheduler…",
        sizes.relationships
    ));
    let polling = relationships::polling(sizes.relationships, database_url).await?;
    progress(&format!(
        "one hub tenant in {} relationships, quiet sweeps with and without shared reads…",
        sizes.hub_partners
    ));
    let hub = hub::hub(sizes.hub_partners).await?;
    progress(&format!(
        "{} edits carried by webhooks under {} ms latency…",
        sizes.webhook_changes,
        LATENCY.as_millis()
    ));
    let webhooks = webhooks::webhooks(sizes.webhook_changes, sizes.webhook_spread, LATENCY).await?;

    progress(&format!(
        "initial sync of {} tickets ({} notes, {} attachments)…",
        shape.tickets,
        shape.notes(),
        shape.attachments()
    ));
    let bed = Bed::start_on(generated_world(shape)?, bench_sim_options(), database_url).await?;
    let sync_figures = async {
        let initial = phases::initial(&bed, shape).await?;
        progress("incremental sweep after 1 % changed on each side…");
        let incremental = phases::incremental(&bed, shape).await?;
        progress("our client and py-autotask fetching every ticket…");
        let comparison = match py_autotask::find_python() {
            Ok(python) => py_autotask::compare(&bed, &python, shape.tickets as u64)
                .await
                .map_err(|error| format!("{error:#}")),
            Err(reason) => Err(reason),
        };
        anyhow::Ok((initial, incremental, comparison))
    }
    .await;
    bed.stop().await;
    let (initial, incremental, comparison) = sync_figures?;
    progress("the initial sync again, the product in a process of its own…");
    let initial_own_process = own_process::initial_own_process(shape, database_url).await?;
    let (scale_out, scale_out_skipped) = match database_url {
        Some(url) => {
            progress("three fusion serve processes on PostgreSQL, one killed mid-run…");
            (Some(scale_out::scale_out(url, args.quick).await?), None)
        }
        None => (
            None,
            Some(
                "scale-out skipped: several processes share a database only on PostgreSQL; to \
                 enable it, pass --database-url postgres://USER@HOST/DATABASE"
                    .to_owned(),
            ),
        ),
    };

    let (cores, cpu_model) = measure::machine();
    let (vs_py_autotask, vs_py_autotask_skipped) = match comparison {
        Ok(comparison) => (Some(comparison), None),
        Err(reason) => (
            None,
            Some(format!(
                "py-autotask comparison skipped: {reason}; to enable it, {}",
                py_autotask::HOW_TO_ENABLE
            )),
        ),
    };
    let report = Report {
        ok: true,
        quick: args.quick,
        database: if database_url.is_some() {
            "postgres"
        } else {
            "sqlite"
        },
        build: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        machine: Machine { cores, cpu_model },
        world: World {
            tickets: shape.tickets,
            notes_per_ticket: shape.notes_per_ticket,
            attachment_every: shape.attachment_every,
        },
        initial,
        incremental,
        latency,
        initial_latency,
        initial_own_process,
        relationships_1000: polling,
        hub,
        webhooks,
        vs_py_autotask,
        vs_py_autotask_skipped,
        scale_out,
        scale_out_skipped,
    };
    let text = if args.json {
        format!("{}\n", serde_json::to_string(&report)?)
    } else {
        table(&report)
    };
    crate::commands::demo::print_to_stdout(&text);
    Ok(Completion::Succeeded)
}

fn number(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "n/a".to_owned(), |value| format!("{value:.decimals$}"))
}

fn sync_rows(text: &mut String, label: &str, figures: &SyncFigures) {
    text.push_str(&format!(
        "{label:<12} {:>8} {:>9.2} {:>10.0} {:>8} {:>8} {:>7.3} {:>9} {:>9}\n",
        figures.tickets,
        figures.wall_s,
        figures.tickets_per_s,
        figures.calls,
        figures.floor_calls,
        figures.calls_per_floor,
        number(figures.peak_rss_mb, 1),
        number(figures.rss_before_mb, 1),
    ));
}

fn endpoint_rows(text: &mut String, label: &str, figures: &SyncFigures) {
    text.push_str(&format!("  {label} requests by endpoint:\n"));
    for (route, count) in &figures.calls_by_endpoint {
        text.push_str(&format!("    {count:>7}  {route}\n"));
    }
}

/// The human-readable report.
fn table(report: &Report) -> String {
    let mut text = String::new();
    text.push_str(&format!(
        "fusion bench ({} build{}, {}) on {} cores, {}\nworld: {} tickets, {} notes each, an attachment on every {}th\n\n",
        report.build,
        if report.quick { ", --quick" } else { "" },
        report.database,
        report.machine.cores,
        report.machine.cpu_model,
        report.world.tickets,
        report.world.notes_per_ticket,
        report.world.attachment_every,
    ));
    text.push_str(&format!(
        "{:<12} {:>8} {:>9} {:>10} {:>8} {:>8} {:>7} {:>9} {:>9}\n",
        "sync",
        "tickets",
        "wall s",
        "tickets/s",
        "calls",
        "floor",
        "×floor",
        "peak MB",
        "before MB"
    ));
    sync_rows(&mut text, "initial", &report.initial);
    sync_rows(&mut text, "incremental", &report.incremental);
    text.push_str(&format!(
        "(peak RSS is the whole process, simulator included; the seeded simulator alone took {} MB)\n",
        number(report.initial.simulator_rss_mb, 1)
    ));
    let own = &report.initial_own_process;
    text.push_str(&format!(
        "initial sync with the product in its own process: {:.2} s, {:.0} tickets/s, peak RSS {} MB (before {} MB), the product alone\n",
        own.wall_s,
        own.tickets_per_s,
        number(own.peak_rss_mb, 1),
        number(own.rss_before_mb, 1),
    ));
    if let Some(settling) = &report.incremental.settling_run {
        text.push_str(&format!(
            "(before the incremental sweep, the first automatic run after the initial one re-read its own writes: {} calls, {:.2} s)\n",
            settling.calls, settling.wall_s
        ));
    }
    endpoint_rows(&mut text, "initial", &report.initial);
    endpoint_rows(&mut text, "incremental", &report.incremental);

    let latency = &report.latency;
    text.push_str(&format!(
        "\nlatency {} ms, limit {} per endpoint: {} queries on {} endpoints at {:.1}/s of {:.1}/s max ({:.0} %), \
         thread-threshold errors: {}\n  a {}-ticket sync under it: {} calls at {:.1}/s ({:.0} % of one endpoint's max)\n  \
         without latency the same queries ran at {:.0}/s (this machine's ceiling, simulator included)\n",
        latency.latency_ms,
        latency.concurrency_limit,
        latency.requests,
        latency.endpoints,
        latency.achieved_rate,
        latency.theoretical_rate,
        latency.achieved_rate_ratio * 100.0,
        latency.thread_threshold_errors,
        latency.sync.tickets,
        latency.sync.calls,
        latency.sync.requests_per_s,
        latency.sync.rate_ratio * 100.0,
        latency.zero_latency_rate,
    ));

    let initial_latency = &report.initial_latency;
    text.push_str(&format!(
        "  initial sync of {} tickets under it: {:.2} tickets/s of {:.2} the limit allows ({:.0} %; bound by {} with {} requests), {} calls\n",
        initial_latency.tickets,
        initial_latency.tickets_per_s,
        initial_latency.theoretical_tickets_per_s,
        initial_latency.ratio * 100.0,
        initial_latency.busiest_endpoint,
        initial_latency.busiest_endpoint_calls,
        initial_latency.calls,
    ));

    let polling = &report.relationships_1000;
    text.push_str(&format!(
        "\n{} relationships polled: sweep {:.1} s ({} s CPU, {:.1} calls/run), {} % CPU over a 5-minute interval, \
         RSS {} MB (peak {} MB), idle tick {:.1} ms\n",
        polling.relationships,
        polling.sweep_wall_s,
        number(polling.sweep_cpu_s, 1),
        polling.calls_per_run,
        number(polling.cpu_pct, 2),
        number(polling.rss_mb, 1),
        number(polling.peak_rss_mb, 1),
        polling.idle_tick_ms,
    ));

    let hub = &report.hub;
    text.push_str(&format!(
        "one hub tenant, {} partners, quiet 5-minute sweeps: {:.0} hub requests/hour ({:.0} without \
         shared reads), {:.0} per partner; sweep {:.1} s ({:.1} s unshared), RSS {} MB\n",
        hub.partners,
        hub.hub_requests_per_hour_quiet,
        hub.hub_requests_per_hour_quiet_unshared,
        hub.partner_requests_per_hour_quiet,
        hub.sweep_s,
        hub.sweep_unshared_s,
        number(hub.rss_mb, 1),
    ));
    let hooks = &report.webhooks;
    text.push_str(&format!(
        "\nwebhooks: {} edits under {} ms latency reached the other side in {:.2} s median, {:.2} s p95, {:.2} s max; \
         {} missed; {:.1} requests per change\n  a quiet hour: {} requests with webhooks (2 safety sweeps of {}, 2 checks of {}) \
         against {} polling every 5 minutes\n",
        hooks.changes,
        hooks.latency_ms,
        hooks.p50_s,
        hooks.p95_s,
        hooks.max_s,
        hooks.missed,
        hooks.calls_per_change,
        hooks.quiet_hour.with_webhooks,
        hooks.quiet_hour.sweep_requests,
        hooks.quiet_hour.check_requests,
        hooks.quiet_hour.polling,
    ));

    match (&report.vs_py_autotask, &report.vs_py_autotask_skipped) {
        (Some(comparison), _) => text.push_str(&format!(
            "\nfetch all {} tickets: ours {} calls in {:.2} s, py-autotask {} calls in {:.2} s \
             (ours ÷ theirs: calls {:.2}, wall {:.2})\n",
            comparison.ours.tickets,
            comparison.ours.calls,
            comparison.ours.wall_s,
            comparison.theirs.calls,
            comparison.theirs.wall_s,
            comparison.calls_ratio,
            comparison.wall_ratio,
        )),
        (None, Some(reason)) => text.push_str(&format!("\n{reason}\n")),
        (None, None) => {}
    }
    match (&report.scale_out, &report.scale_out_skipped) {
        (Some(scale), _) => text.push_str(&format!(
            "\nscale-out: {} serve processes, {} connections, {} tickets, one process killed (SIGKILL) \
             holding {} of them: {} duplicates, {} missed, taken over after {:.1} s (lease {} s); {:.1} s in all\n",
            scale.workers,
            scale.connections,
            scale.tickets,
            scale.orphaned,
            scale.duplicates,
            scale.missed,
            scale.takeover_s,
            scale.lease_s,
            scale.wall_s,
        )),
        (None, Some(reason)) => text.push_str(&format!("\n{reason}\n")),
        (None, None) => {}
    }
    text
}
