//! The sync runtime of `fusion serve` shutting down with a run in flight: the run stops after
//! the ticket in hand and is recorded as stopped (never left "Running"), its leases are
//! released at once, and the next run finishes the work with every ticket copied exactly once.
//! Also: the `fusion_sync_*` metrics are there after runs.

use std::time::Duration;

use fusion_autotask_sim::{FaultKind, FaultRule};
use fusion_domain::sync::RunStatus;
use fusion_engine::SyncMode;
use fusion_engine::ports::{LeaseKey, RunFilter};

use crate::scheduler::{SchedulerSettings, SyncRuntime};
use crate::sync_end_to_end::Harness;

const TICKETS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_during_a_run_leaves_no_half_written_run_and_the_next_run_does_the_rest() {
    let metrics = fusion_web::metrics::install_global_recorder().expect("the recorder installs");
    let harness = Harness::demo().await;
    let raised: Vec<i64> = (0..TICKETS)
        .map(|n| harness.raise_in_contoso(&format!("Shutdown test ticket {n}")))
        .collect();
    // Every create in Northwind takes a while, so the shutdown lands mid-run.
    harness.simulator().inject_fault(FaultRule {
        tenant: Some("Northwind IT".into()),
        endpoint: Some("Tickets".into()),
        method: Some("POST".into()),
        ..FaultRule::new(FaultKind::Latency { millis: 300 })
    });

    let runtime = SyncRuntime::start(
        harness.sync.clone(),
        harness.store.clone(),
        SchedulerSettings {
            grace: Duration::from_secs(20),
            ..SchedulerSettings::default()
        },
        None,
    );
    // A person pressed "Sync now".
    let run = tokio::spawn({
        let sync = runtime.service().clone();
        let relationship = harness.relationship;
        let since = harness.started;
        async move { sync.run(relationship, SyncMode::Manual { since }).await }
    });
    let copied = |harness: &Harness| {
        raised
            .iter()
            .filter(|ticket| !harness.copies_in_northwind(**ticket).is_empty())
            .count()
    };
    for _ in 0..600 {
        if copied(&harness) >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(copied(&harness) >= 1, "the run got going");

    runtime.shut_down().await;
    let stopped = run
        .await
        .expect("the run's task ended")
        .expect("the run ran");
    assert_eq!(stopped.status, RunStatus::Failed, "{stopped:?}");
    assert!(
        stopped
            .error
            .as_deref()
            .is_some_and(|error| error.contains("shutting down")),
        "{:?}",
        stopped.error
    );
    let done_before_stop = copied(&harness);
    assert!(
        done_before_stop < TICKETS,
        "the shutdown stopped the run early ({done_before_stop} of {TICKETS} copied)"
    );
    let runs = harness
        .store
        .sync_runs(&RunFilter {
            relationship: Some(harness.relationship),
            status: None,
            started_from: None,
            started_before: None,
            limit: 10,
        })
        .await
        .expect("history reads");
    assert!(
        runs.iter().all(|run| run.status != RunStatus::Running),
        "no run is left Running: {runs:?}"
    );
    assert_eq!(runs[0].counts.created as usize, done_before_stop);
    let lease = harness
        .store
        .claim_lease(
            &LeaseKey::Relationship(harness.relationship),
            "the next process",
            time::OffsetDateTime::now_utc(),
            time::Duration::minutes(1),
        )
        .await
        .expect("the lease table answers")
        .expect("the stopped run released its lease");
    harness.store.release_lease(&lease).await.expect("releases");

    // The process starts again: the next run does the rest, each ticket exactly once.
    harness.simulator().clear_faults();
    let restarted = fusion_engine::SyncService::new(
        harness.engine.clone(),
        harness.directory.clone(),
        harness.store.clone(),
        std::sync::Arc::new(fusion_domain::SystemClock),
    );
    let next = restarted
        .run(
            harness.relationship,
            SyncMode::Manual {
                since: harness.started,
            },
        )
        .await
        .expect("the next run runs");
    assert_eq!(next.status, RunStatus::Success, "{next:?}");
    assert_eq!(next.counts.created as usize, TICKETS - done_before_stop);
    for ticket in &raised {
        assert_eq!(
            harness.copies_in_northwind(*ticket).len(),
            1,
            "ticket {ticket} is copied exactly once"
        );
    }

    let rendered = metrics.render();
    for expected in [
        "fusion_sync_runs_total{trigger=\"manual\",status=\"failed\"}",
        "fusion_sync_runs_total{trigger=\"manual\",status=\"success\"}",
        "fusion_sync_records_total{outcome=\"created\"}",
        "fusion_sync_run_duration_seconds_bucket{trigger=\"manual\",le=\"0.5\"}",
    ] {
        assert!(rendered.contains(expected), "{expected} in:\n{rendered}");
    }
}
