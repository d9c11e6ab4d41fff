//! The `initial_latency` phase: an initial sync with every request held by the simulator for the
//! latency (150 ms), against what Autotask's 3-requests-per-endpoint limit allows.
//!
//! What the limit allows: Autotask counts concurrent requests per database and endpoint (a
//! ticket's notes and attachments, `Tickets/{id}/Notes`, count against `Tickets`), so the run can
//! go no faster than its busiest (tenant, endpoint) kept at 3 requests in flight all the time:
//! `tickets ÷ (busiest endpoint's requests × latency ÷ 3)` tickets per second. `ratio` is the
//! achieved rate against that. Checked like every benchmarked sync (both tenants agree), and the
//! simulator's thread-threshold rejections are counted (a run that exceeded the limit would show
//! them).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use fusion_autotask_sim::{FaultKind, FaultRule};
use fusion_engine::SyncMode;
use serde::Serialize;

use super::bed::{Bed, bench_sim_options};
use super::measure::Stopwatch;
use super::phases::{require_agreement, require_success, since_2000};
use super::world::{WorldShape, generated_world};

#[derive(Debug, Serialize)]
pub struct InitialLatencyFigures {
    pub tickets: usize,
    pub latency_ms: u64,
    pub wall_s: f64,
    pub calls: u64,
    pub tickets_per_s: f64,
    /// What the 3-per-endpoint limit allows at this latency (see the module docs).
    pub theoretical_tickets_per_s: f64,
    pub ratio: f64,
    /// The (tenant, endpoint) that bounds the run, and its requests.
    pub busiest_endpoint: String,
    pub busiest_endpoint_calls: u64,
    /// Requests the simulator refused for going over the limit (must be 0).
    pub thread_threshold_errors: u64,
}

pub async fn initial_latency(
    latency: Duration,
    tickets: usize,
    database_url: Option<&str>,
) -> anyhow::Result<InitialLatencyFigures> {
    let shape = WorldShape {
        tickets,
        notes_per_ticket: 2,
        attachment_every: 5,
    };
    let options = bench_sim_options();
    let limit = options.thread_limit;
    let threshold_status = options.thread_threshold_status;
    let bed = Bed::start_on(generated_world(shape)?, options, database_url).await?;
    let outcome = async {
        let millis = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        bed.simulator
            .inject_fault(FaultRule::new(FaultKind::Latency { millis }));
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
            .context("the initial sync under latency did not run")?;
        let wall_s = watch.wall().as_secs_f64();
        let log = bed.simulator.request_log();
        bed.simulator.clear_faults();
        require_success(&summary, "initial-under-latency")?;
        require_agreement(&bed.simulator, &bed, "initial-under-latency")?;
        let mut by_endpoint: BTreeMap<String, u64> = BTreeMap::new();
        for request in &log {
            *by_endpoint
                .entry(format!(
                    "{} {}",
                    request.tenant.as_deref().unwrap_or("(none)"),
                    limited_endpoint(&request.path)
                ))
                .or_default() += 1;
        }
        let (busiest_endpoint, busiest_endpoint_calls) = by_endpoint
            .into_iter()
            .max_by_key(|(_, calls)| *calls)
            .unwrap_or_default();
        let fastest_wall =
            busiest_endpoint_calls as f64 * latency.as_secs_f64() / f64::from(limit.max(1));
        let tickets_per_s = tickets as f64 / wall_s.max(f64::EPSILON);
        let theoretical_tickets_per_s = tickets as f64 / fastest_wall.max(f64::EPSILON);
        anyhow::Ok(InitialLatencyFigures {
            tickets,
            latency_ms: millis,
            wall_s,
            calls: log.len() as u64,
            tickets_per_s,
            theoretical_tickets_per_s,
            ratio: tickets_per_s / theoretical_tickets_per_s,
            busiest_endpoint,
            busiest_endpoint_calls,
            thread_threshold_errors: log
                .iter()
                .filter(|request| request.status == threshold_status)
                .count() as u64,
        })
    }
    .await;
    bed.stop().await;
    outcome
}

/// The endpoint Autotask's thread limit counts a request against: the first segment after the
/// version (`/…/V1.0/Tickets/42/Notes` → `Tickets`).
fn limited_endpoint(path: &str) -> &str {
    path.split_once("/V1.0/")
        .map_or(path, |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::limited_endpoint;

    #[test]
    fn child_routes_count_against_their_parent_endpoint() {
        assert_eq!(
            limited_endpoint("/webservices2.autotask.net/ATServicesRest/V1.0/Tickets/42/Notes"),
            "Tickets"
        );
        assert_eq!(
            limited_endpoint("/h/ATServicesRest/V1.0/TicketNotes/query"),
            "TicketNotes"
        );
    }
}
