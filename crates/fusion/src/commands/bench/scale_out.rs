//! The `scale_out` phase (issue 15): three `fusion serve` processes — this very program — on one
//! PostgreSQL database share connections between pairs of simulated tenants; one of them is
//! killed with SIGKILL while it holds a connection's lease, in the middle of a run. Counted: the
//! raised tickets copied twice (duplicates) and never (missed), and the takeover — from the
//! SIGKILL until the killed process's connections started a run (that finished) in another
//! process. The goals: no duplicates, none missed, takeover within the lease lifetime.
//!
//! Only with `--database-url postgres://…`: several processes share a database only on
//! PostgreSQL. The processes, the simulator and the shared set-up are `cluster.rs`, which the
//! end-to-end test (`tests/it/scale_out.rs`) uses as well.

use std::process::Command;
use std::time::Duration;

use anyhow::Context;
use fusion_autotask_sim::{FaultKind, FaultRule};
use fusion_store::ScratchSchema;
use serde::Serialize;

use super::bed::bench_sim_options;
use super::cluster::{Pairs, Worker, WorkerSettings, kill_one_mid_run};
use crate::commands::demo;

/// Connections, each between its own two tenants.
const PAIRS: usize = 8;
/// The processes sharing them.
const WORKERS: usize = 3;
/// The lease lifetime (`FUSION_LEASE_SECONDS`): the takeover's upper bound. Another process runs
/// an orphaned connection once its lease expired *and* it is due (its interval, 1 minute here,
/// after its last run started): a lease shorter than the interval would not make it sooner.
const LEASE_SECONDS: u64 = 60;
/// How long a create takes at the simulator, so that a process is killed mid-run.
const CREATE_LATENCY_MS: u64 = 400;

#[derive(Debug, Serialize)]
pub struct ScaleOutFigures {
    pub workers: usize,
    pub connections: usize,
    /// Tickets raised at the customers (every one must be copied exactly once).
    pub tickets: usize,
    /// Copies beyond the first.
    pub duplicates: usize,
    /// Raised tickets never copied.
    pub missed: usize,
    /// From the SIGKILL until the last of the killed process's connections ran in another one.
    pub takeover_s: f64,
    /// The lease lifetime the processes ran with; with the scheduler tick, the goal for
    /// `takeover_s`.
    pub lease_s: u64,
    /// Whether `takeover_s` is within the lease lifetime plus one scheduler tick.
    pub takeover_within_lease: bool,
    /// Connections whose lease the killed process held.
    pub orphaned: usize,
    /// Connections each surviving process finished a run of.
    pub connections_per_worker: Vec<usize>,
    pub wall_s: f64,
}

/// Runs the phase on a scratch schema of the PostgreSQL database `database_url`.
pub async fn scale_out(database_url: &str, quick: bool) -> anyhow::Result<ScaleOutFigures> {
    let schema = ScratchSchema::create(database_url)
        .await
        .context("cannot create a scratch schema for the scale-out phase")?;
    let data_dir = demo::fresh_temporary_directory()
        .context("cannot create a temporary directory for the workers")?;
    let settings = WorkerSettings {
        lease_seconds: LEASE_SECONDS,
        tick_seconds: 1,
        patience: Duration::from_secs(600),
    };
    let outcome = run(&schema, &data_dir, settings, if quick { 2 } else { 3 }).await;
    schema.drop_schema().await;
    if let Err(error) = std::fs::remove_dir_all(&data_dir) {
        tracing::warn!("cannot remove {}: {error}", data_dir.display());
    }
    outcome
}

async fn run(
    schema: &ScratchSchema,
    data_dir: &std::path::Path,
    settings: WorkerSettings,
    rounds: usize,
) -> anyhow::Result<ScaleOutFigures> {
    let pairs = Pairs::start(&schema.url, PAIRS, bench_sim_options()).await?;
    let outcome = async {
        let mut raised = Vec::new();
        for round in 0..rounds {
            for pair in 0..PAIRS {
                raised.push(pairs.raise(pair, &format!("Scale-out ticket {round}, pair {pair}"))?);
            }
        }
        pairs.simulator().inject_fault(FaultRule {
            endpoint: Some("Tickets".into()),
            method: Some("POST".into()),
            ..FaultRule::new(FaultKind::Latency {
                millis: CREATE_LATENCY_MS,
            })
        });
        let program = std::env::current_exe().context("cannot find this program to re-run it")?;
        let started = std::time::Instant::now();
        let mut workers = Vec::new();
        for index in 0..WORKERS {
            workers.push(Worker::start(
                clean_command(&program),
                &pairs,
                &schema.url,
                &data_dir.join(format!("worker-{index}")),
                settings,
            )?);
        }
        let takeover =
            kill_one_mid_run(&pairs, schema, &mut workers, &raised, settings.patience).await?;
        let wall_s = started.elapsed().as_secs_f64();
        let connections_per_worker = workers
            .iter()
            .map(|worker| worker.connections_run(&pairs.relationships).len())
            .collect();
        for worker in workers {
            worker.terminate()?;
        }
        let copies = pairs.copies(&raised);
        anyhow::Ok(ScaleOutFigures {
            workers: WORKERS,
            connections: PAIRS,
            tickets: raised.len(),
            duplicates: copies.values().map(|count| count.saturating_sub(1)).sum(),
            missed: copies.values().filter(|count| **count == 0).count(),
            takeover_s: takeover.after.as_secs_f64(),
            takeover_within_lease: takeover.after <= settings.takeover_limit(),
            lease_s: settings.lease_seconds,
            orphaned: takeover.orphaned.len(),
            connections_per_worker,
            wall_s,
        })
    }
    .await;
    pairs.stop().await;
    outcome
}

/// This program, without the `FUSION_*` settings of the benchmark's own environment (the workers
/// get theirs from the command line and `cluster.rs`).
fn clean_command(program: &std::path::Path) -> Command {
    let mut command = Command::new(program);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("FUSION_") {
            command.env_remove(name);
        }
    }
    command
}
