//! Several `fusion serve` processes on one PostgreSQL database share the connections (issue 15),
//! as separate OS processes of the built binary against one in-process simulator: every ticket is
//! copied exactly once, no connection is run by two processes at once, a process killed with
//! SIGKILL in the middle of a run hands its connections to the others within the lease lifetime
//! (nothing lost, nothing doubled), and a process that joins later takes a share.
//!
//! The pairs of tenants, the processes and the kill are `src/commands/bench/cluster.rs`, shared
//! with `fusion bench`'s `scale_out` phase. Needs `FUSION_TEST_POSTGRES_URL` (CI sets it); without
//! it the test says so and passes, like the store's PostgreSQL contract runs.

use std::time::{Duration, Instant};

use fusion_autotask_sim::{FaultKind, FaultRule, SimOptions};
use fusion_domain::sync::RunStatus;
use fusion_store::ScratchSchema;

use crate::cluster::{Pairs, Worker, WorkerSettings, all_logs, kill_one_mid_run};
use crate::postgres_schema::POSTGRES_URL_VARIABLE;
use crate::process::fusion;

/// Connections, each between its own two tenants.
const PAIRS: usize = 8;
/// Tickets raised at every customer before the workers start.
const FIRST_ROUND: usize = 3;
const SETTINGS: WorkerSettings = WorkerSettings {
    // A killed process's connections must be taken over within this (plus one tick).
    lease_seconds: 60,
    tick_seconds: 1,
    // How long anything here may take before the test gives up (never reached when it works).
    patience: Duration::from_secs(600),
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_processes_on_one_postgres_database_share_the_connections_and_take_over_a_killed_one()
{
    let Some(admin_url) = std::env::var(POSTGRES_URL_VARIABLE)
        .ok()
        .filter(|url| !url.trim().is_empty())
    else {
        eprintln!(
            "{POSTGRES_URL_VARIABLE} is not set: the multi-process test needs PostgreSQL and did not run"
        );
        return;
    };
    let schema = ScratchSchema::create(&admin_url)
        .await
        .expect("a scratch schema");
    let data = tempfile::tempdir().expect("a temporary directory");
    let start_worker = |index: usize, pairs: &Pairs| {
        Worker::start(
            fusion(&[], &[]),
            pairs,
            &schema.url,
            &data.path().join(format!("worker-{index}")),
            SETTINGS,
        )
        .expect("fusion serve starts")
    };
    let pairs = Pairs::start(&schema.url, PAIRS, SimOptions::for_tests())
        .await
        .expect("the pairs connect");
    let mut raised = Vec::new();
    for round in 0..FIRST_ROUND {
        for pair in 0..PAIRS {
            raised.push(
                pairs
                    .raise(
                        pair,
                        &format!("Scale-out ticket {round} of customer {pair}"),
                    )
                    .expect("raised"),
            );
        }
    }
    // Every create takes a while, so a process can be killed in the middle of a run.
    pairs.simulator().inject_fault(FaultRule {
        endpoint: Some("Tickets".into()),
        method: Some("POST".into()),
        ..FaultRule::new(FaultKind::Latency { millis: 400 })
    });

    let mut workers: Vec<Worker> = (0..3).map(|index| start_worker(index, &pairs)).collect();
    // Kill whichever process is first seen in the middle of a run; the survivors finish the
    // work: every first-round ticket copied, the orphans run again.
    let takeover = kill_one_mid_run(&pairs, &schema, &mut workers, &raised, SETTINGS.patience)
        .await
        .expect("the killed worker's connections are taken over");
    // A run is set up (credentials, the tenants' choices) and its leases claimed before its
    // record exists: allow for that on a busy machine too.
    let setting_up = Duration::from_secs(10);
    assert!(
        takeover.after <= SETTINGS.takeover_limit() + setting_up,
        "the killed worker's connections were taken over after {:?}, beyond the lease lifetime {:?}",
        takeover.after,
        SETTINGS.takeover_limit()
    );

    // A fourth process joins; a second round of tickets is shared by the three.
    workers.push(start_worker(3, &pairs));
    for pair in 0..PAIRS {
        raised.push(
            pairs
                .raise(
                    pair,
                    &format!("Scale-out ticket after the join, customer {pair}"),
                )
                .expect("raised"),
        );
    }
    let waited = Instant::now();
    while !pairs.missing(&raised).is_empty()
        || workers[2].connections_run(&pairs.relationships).is_empty()
    {
        assert!(
            waited.elapsed() < SETTINGS.patience,
            "after the fourth worker joined: {} tickets missing, it ran {} connections; logs:\n{}",
            pairs.missing(&raised).len(),
            workers[2].connections_run(&pairs.relationships).len(),
            all_logs(&workers)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Exactly once, everywhere.
    let copies = pairs.copies(&raised);
    let duplicates: usize = copies.values().map(|count| count.saturating_sub(1)).sum();
    let missed = copies.values().filter(|count| **count == 0).count();
    assert_eq!((duplicates, missed), (0, 0), "copies by ticket: {copies:?}");
    // The load was shared: every process still running ran connections of its own.
    let shares: Vec<usize> = workers
        .iter()
        .map(|worker| worker.connections_run(&pairs.relationships).len())
        .collect();
    assert!(
        shares.iter().all(|share| *share > 0),
        "connections run by each worker: {shares:?}"
    );
    eprintln!(
        "scale_out: workers=3(+1 joined), connections={PAIRS}, tickets={}, duplicates={duplicates}, missed={missed}, takeover_s={:.1} of {} connections (lease {} s), connections run per worker={shares:?}",
        raised.len(),
        takeover.orphaned.len(),
        takeover.after.as_secs_f64(),
        SETTINGS.lease_seconds
    );

    for worker in workers {
        let status = worker.terminate().expect("the worker stops");
        assert!(status.success(), "a worker stopped with {status:?}");
    }
    // No connection was run by two processes at once: its runs never overlap, and none is left
    // Running (the killed one's run was closed as Failed by the process that took over).
    let runs = pairs.runs().await.expect("history reads");
    for (relationship, runs) in &runs {
        for pair in runs.windows(2) {
            let finished = pair[0]
                .finished_at
                .unwrap_or_else(|| panic!("a run of {relationship} never finished: {:?}", pair[0]));
            assert!(
                finished <= pair[1].started_at,
                "two runs of {relationship} overlapped: {pair:?}"
            );
        }
        assert!(
            runs.iter().all(|run| run.status != RunStatus::Running),
            "a run of {relationship} is left Running: {runs:?}"
        );
    }
    pairs.stop().await;
    schema.drop_schema().await;
}
