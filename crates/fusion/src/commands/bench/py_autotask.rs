//! Side by side: every ticket of the Source tenant fetched with our client (`fusion_autotask`)
//! and with the third-party `py-autotask` 2.3.0 against the same simulator; requests counted by
//! the simulator, wall time by each client (Python's from before its client is created).
//!
//! Python is found at `FUSION_BENCH_PYTHON`, else at `target/py-autotask-venv/bin/python` in
//! the current directory or one above it (the venv `cargo xtask py-autotask` creates). When it
//! is missing the comparison is skipped with a reason, and the benchmark still runs.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use fusion_autotask::Credentials;
use fusion_autotask::wire::Ticket;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::commands::demo::connection::SOURCE_ORGANISATION;

use super::bed::Bed;

const SCRIPT: &str = include_str!("fetch_all.py");
const VENV_PYTHON: &str = "target/py-autotask-venv/bin/python";
/// How to get the comparison when it was skipped.
pub const HOW_TO_ENABLE: &str = "run `cargo xtask py-autotask` once (it creates target/py-autotask-venv with py-autotask 2.3.0), or set FUSION_BENCH_PYTHON to a python that has py-autotask installed";

#[derive(Debug, Serialize)]
pub struct Comparison {
    /// Ours ÷ theirs.
    pub calls_ratio: f64,
    pub wall_ratio: f64,
    pub ours: FetchFigures,
    pub theirs: FetchFigures,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct FetchFigures {
    pub tickets: u64,
    #[serde(default)]
    pub calls: u64,
    pub wall_s: f64,
}

/// Where py-autotask's Python is, or why it is not available.
pub fn find_python() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("FUSION_BENCH_PYTHON") {
        let path = PathBuf::from(path);
        return if path.exists() {
            Ok(path)
        } else {
            Err(format!(
                "FUSION_BENCH_PYTHON={} does not exist",
                path.display()
            ))
        };
    }
    let here = std::env::current_dir().map_err(|error| format!("no current directory: {error}"))?;
    here.ancestors()
        .take(3)
        .map(|directory| directory.join(VENV_PYTHON))
        .find(|candidate| candidate.exists())
        .ok_or_else(|| format!("no {VENV_PYTHON} in {} or above", here.display()))
}

/// Fetches all Source tickets both ways. `Err` is the one-line reason the comparison is missing.
pub async fn compare(bed: &Bed, python: &Path, expected: u64) -> anyhow::Result<Comparison> {
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

    bed.simulator.clear_request_log();
    let started = Instant::now();
    let client = bed.fresh_service()?.client(Credentials::new(
        user.username.clone(),
        SecretString::from(user.secret.clone()),
    ));
    let tickets = client
        .query_all::<Ticket>(Vec::new())
        .await
        .context("our client could not fetch every ticket")?;
    let ours = FetchFigures {
        tickets: tickets.len() as u64,
        wall_s: started.elapsed().as_secs_f64(),
        calls: bed.simulator.request_counts().values().sum(),
    };
    drop(tickets);

    let script = std::env::temp_dir().join(format!(
        "fusion-bench-fetch-{}.py",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&script, SCRIPT)
        .with_context(|| format!("cannot write {}", script.display()))?;
    bed.simulator.clear_request_log();
    let output = tokio::process::Command::new(python)
        .arg(&script)
        .env("BENCH_SIM_URL", bed.base_url())
        .env("BENCH_USERNAME", &user.username)
        .env("BENCH_SECRET", &user.secret)
        .env("BENCH_INTEGRATION_CODE", &tenant.integration_code)
        .stdin(std::process::Stdio::null())
        .output()
        .await;
    let _ = std::fs::remove_file(&script);
    let output = output.with_context(|| format!("cannot start {}", python.display()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().last().unwrap_or("no output");
        anyhow::bail!("py-autotask failed ({}): {last}", output.status);
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut theirs: FetchFigures = stdout
        .lines()
        .last()
        .and_then(|line| serde_json::from_str(line).ok())
        .with_context(|| format!("py-autotask printed no result line: {stdout:?}"))?;
    theirs.calls = bed.simulator.request_counts().values().sum();
    for (who, figures) in [("our client", &ours), ("py-autotask", &theirs)] {
        if figures.tickets != expected {
            anyhow::bail!(
                "{who} fetched {} tickets, the tenant has {expected}",
                figures.tickets
            );
        }
    }
    Ok(Comparison {
        calls_ratio: ours.calls as f64 / theirs.calls.max(1) as f64,
        wall_ratio: ours.wall_s / theirs.wall_s.max(f64::EPSILON),
        ours,
        theirs,
    })
}
