//! The `initial_own_process` phase: the same initial sync as `initial`, with the product in a
//! process of its own, so its peak resident memory is the product's alone — the simulator (and
//! the generated world) stay in this process, and the sync runs in a child `fusion bench
//! --child-sync SPEC` that opens the same store and talks to the simulator over HTTP, as a
//! `fusion serve` would talk to a `fusion sim`. The tenants are checked here afterwards, like
//! every benchmarked sync.

use std::path::PathBuf;

use anyhow::Context;
use fusion_domain::RelationshipId;
use fusion_engine::SyncMode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::commands::serve::{autotask_settings, open_store};
use crate::database_location::DatabaseLocation;

use super::bed::{Bed, bench_sim_options, sync_service};
use super::measure::{self, Stopwatch};
use super::phases::{require_agreement, since_2000};
use super::world::{WorldShape, generated_world};

/// What the child is told (one JSON argument).
#[derive(Debug, Serialize, Deserialize)]
pub struct ChildSpec {
    database_url: String,
    key_file: PathBuf,
    sqlite_file: Option<PathBuf>,
    simulator_url: String,
    integration_code: String,
    relationship: String,
    since_unix: i64,
}

/// What the child answers (one JSON line on stdout).
#[derive(Debug, Serialize, Deserialize)]
struct ChildOutcome {
    status: String,
    error: Option<String>,
    wall_s: f64,
    rss_before_mb: Option<f64>,
    peak_rss_mb: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct OwnProcessFigures {
    pub tickets: usize,
    pub wall_s: f64,
    pub tickets_per_s: f64,
    /// Peak resident memory of the product's process alone during the run (MiB): the store,
    /// the engine and the Autotask client — no simulator, no generated world.
    pub peak_rss_mb: Option<f64>,
    /// Its resident memory just before the run (MiB).
    pub rss_before_mb: Option<f64>,
    pub status: String,
}

/// Runs the initial sync of a fresh world in a child process and checks the tenants here.
pub async fn initial_own_process(
    shape: WorldShape,
    database_url: Option<&str>,
) -> anyhow::Result<OwnProcessFigures> {
    let bed = Bed::start_on(generated_world(shape)?, bench_sim_options(), database_url).await?;
    let outcome = async {
        let integration_code = bed
            .simulator
            .tenants()
            .first()
            .map(|tenant| tenant.integration_code.clone())
            .context("the benchmark world has no tenants")?;
        let location = bed.location();
        let spec = ChildSpec {
            database_url: location.database_url.clone(),
            key_file: location.key_file.clone(),
            sqlite_file: location.sqlite_file.clone(),
            simulator_url: bed.base_url().to_owned(),
            integration_code,
            relationship: bed.relationship.to_string(),
            since_unix: since_2000()?.unix_timestamp(),
        };
        let program = std::env::current_exe().context("cannot find this program to re-run it")?;
        let output = tokio::process::Command::new(program)
            .arg("bench")
            .arg("--child-sync")
            .arg(serde_json::to_string(&spec)?)
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .context("cannot start the sync in a process of its own")?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let answer: ChildOutcome = stdout
            .lines()
            .rev()
            .find_map(|line| serde_json::from_str(line).ok())
            .with_context(|| {
                format!(
                    "the sync in its own process gave no result (exit {}): {}",
                    output.status,
                    String::from_utf8_lossy(&output.stderr).trim()
                )
            })?;
        if answer.status != "Success" {
            anyhow::bail!(
                "the initial sync in its own process ended \"{}\" instead of Success (error: {}); \
                 the benchmark only counts correct runs",
                answer.status,
                answer.error.as_deref().unwrap_or("none")
            );
        }
        require_agreement(&bed.simulator, &bed, "initial-own-process")?;
        anyhow::Ok(OwnProcessFigures {
            tickets: shape.tickets,
            wall_s: answer.wall_s,
            tickets_per_s: shape.tickets as f64 / answer.wall_s.max(f64::EPSILON),
            peak_rss_mb: answer.peak_rss_mb,
            rss_before_mb: answer.rss_before_mb,
            status: answer.status,
        })
    }
    .await;
    bed.stop().await;
    outcome
}

/// The child's side: open the store the parent prepared, run the manual sync through the
/// sync service exactly as `fusion serve` builds it, print the outcome as one JSON line.
pub async fn child(spec: &str) -> anyhow::Result<()> {
    let spec: ChildSpec =
        serde_json::from_str(spec).context("--child-sync is for fusion bench's own use")?;
    let location = DatabaseLocation {
        database_url: spec.database_url,
        key_file: spec.key_file,
        sqlite_file: spec.sqlite_file,
        allow_readable_key_file: false,
    };
    let store = open_store(&location, None).await?;
    let mut autotask = autotask_settings(Some(spec.integration_code), Some(&spec.simulator_url))?;
    autotask.hourly_request_budget = u32::MAX;
    let sync = sync_service(&store, &autotask)?;
    let relationship: RelationshipId = spec
        .relationship
        .parse()
        .map_err(|_| anyhow::anyhow!("--child-sync names no relationship"))?;
    let since = OffsetDateTime::from_unix_timestamp(spec.since_unix)?;
    measure::reset_peak_rss();
    let rss_before_mb = measure::rss_mb();
    let watch = Stopwatch::start();
    let summary = sync.run(relationship, SyncMode::Manual { since }).await;
    let wall_s = watch.wall().as_secs_f64();
    let peak_rss_mb = measure::peak_rss_mb();
    store.close().await;
    let (status, error) = match summary {
        Ok(summary) => (summary.status.label().to_owned(), summary.error),
        Err(error) => ("Failed".to_owned(), Some(error.to_string())),
    };
    let answer = ChildOutcome {
        status,
        error,
        wall_s,
        rss_before_mb,
        peak_rss_mb,
    };
    crate::commands::demo::print_to_stdout(&format!("{}\n", serde_json::to_string(&answer)?));
    Ok(())
}
