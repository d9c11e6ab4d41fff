//! `fusion bench`: the benchmark runs end to end on a small world and reports every figure the
//! performance section relies on. No figure is compared with a time: only that it is there, and
//! that the benchmarked syncs were correct (the command fails otherwise).

use serde_json::Value;

use crate::process::{fusion, run};

const SYNC_KEYS: &[&str] = &[
    "tickets",
    "wall_s",
    "tickets_per_s",
    "calls",
    "floor_calls",
    "calls_per_floor",
    "peak_rss_mb",
];

#[test]
fn bench_quick_json_prints_one_object_with_every_figure_and_says_why_py_autotask_is_missing() {
    let finished = run(
        fusion(
            &[
                "bench",
                "--quick",
                "--json",
                "--tickets",
                "30",
                "--relationships",
                "4",
            ],
            &[("FUSION_BENCH_PYTHON", "/nonexistent/python")],
        ),
        None,
    );
    assert_eq!(
        finished.code,
        Some(0),
        "stdout: {}\nstderr: {}",
        finished.stdout,
        finished.stderr
    );
    let lines: Vec<&str> = finished.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one JSON line: {:?}", finished.stdout);
    let report: Value = serde_json::from_str(lines[0]).expect("the line is JSON");

    for phase in ["initial", "incremental"] {
        for key in SYNC_KEYS {
            assert!(
                report[phase].get(*key).is_some(),
                "{phase}.{key} is reported: {report}"
            );
        }
        let calls = report[phase]["calls"].as_u64().expect("calls is a count");
        let floor = report[phase]["floor_calls"]
            .as_u64()
            .expect("floor is a count");
        assert!(
            floor > 0 && calls >= floor,
            "{phase}: {calls} calls, floor {floor}"
        );
        assert_eq!(report[phase]["status"], "Success", "{report}");
    }
    assert_eq!(report["initial"]["tickets"], 30, "{report}");
    assert!(
        report["latency"]["achieved_rate_ratio"].as_f64().is_some(),
        "{report}"
    );
    assert_eq!(
        report["latency"]["thread_threshold_errors"], 0,
        "the client never goes over the per-endpoint limit: {report}"
    );
    for key in ["cpu_pct", "rss_mb"] {
        assert!(
            report["relationships_1000"].get(key).is_some(),
            "relationships_1000.{key}: {report}"
        );
    }
    assert_eq!(report["relationships_1000"]["relationships"], 4);
    assert_eq!(report["relationships_1000"]["runs_ok"], 4);
    // One hub tenant in four relationships: a quiet sweep reads the hub once (its changes and its
    // deletions), where every relationship read it itself before (issue 15).
    let hub = &report["hub"];
    assert_eq!(hub["partners"], 4, "{report}");
    let shared = hub["hub_requests_per_hour_quiet"]
        .as_f64()
        .expect("a number");
    let unshared = hub["hub_requests_per_hour_quiet_unshared"]
        .as_f64()
        .expect("a number");
    assert_eq!(shared, 24.0, "2 requests a sweep, 12 sweeps an hour: {hub}");
    assert_eq!(
        unshared,
        4.0 * 24.0,
        "each relationship reading for itself: {hub}"
    );
    for key in ["partner_requests_per_hour_quiet", "sweep_s", "rss_mb"] {
        assert!(hub.get(key).is_some(), "hub.{key}: {report}");
    }
    // Every edit of the webhooks phase reached the other side (none missed), each figure there.
    for key in [
        "changes",
        "p50_s",
        "p95_s",
        "max_s",
        "calls_per_change",
        "missed",
    ] {
        assert!(
            report["webhooks"].get(key).is_some(),
            "webhooks.{key}: {report}"
        );
    }
    assert_eq!(report["webhooks"]["missed"], 0, "{report}");
    assert!(
        report["webhooks"]["quiet_hour"]["with_webhooks"].as_u64()
            < report["webhooks"]["quiet_hour"]["polling"].as_u64(),
        "a quiet hour costs less with webhooks: {report}"
    );
    // The initial sync under latency, against what 3 requests per endpoint allow (issue 17).
    let initial_latency = &report["initial_latency"];
    for key in [
        "tickets",
        "latency_ms",
        "tickets_per_s",
        "theoretical_tickets_per_s",
        "ratio",
    ] {
        assert!(
            initial_latency[key].as_f64().is_some(),
            "initial_latency.{key}: {report}"
        );
    }
    assert_eq!(initial_latency["latency_ms"], 150, "{report}");
    assert_eq!(
        initial_latency["thread_threshold_errors"], 0,
        "several tickets at once stay under the per-endpoint limit: {report}"
    );
    // The same initial sync with the product in a process of its own: its memory alone.
    let own = &report["initial_own_process"];
    assert_eq!(own["status"], "Success", "{report}");
    assert_eq!(own["tickets"], 30, "{report}");
    assert!(
        own["peak_rss_mb"].as_f64().is_some_and(|mb| mb > 0.0),
        "{report}"
    );
    assert_eq!(report["database"], "sqlite", "{report}");
    assert!(report["vs_py_autotask"].is_null(), "{report}");
    let reason = report["vs_py_autotask_skipped"]
        .as_str()
        .expect("a reason when py-autotask is missing");
    assert!(
        reason.contains("FUSION_BENCH_PYTHON") && reason.contains("cargo xtask py-autotask"),
        "the reason says how to enable it: {reason}"
    );
    // Several processes share a database only on PostgreSQL.
    assert!(report["scale_out"].is_null(), "{report}");
    let reason = report["scale_out_skipped"]
        .as_str()
        .expect("a reason without PostgreSQL");
    assert!(
        reason.contains("--database-url postgres://"),
        "the reason says how to enable it: {reason}"
    );
}

#[test]
fn bench_without_json_prints_a_table() {
    let finished = run(
        fusion(
            &[
                "bench",
                "--quick",
                "--tickets",
                "10",
                "--relationships",
                "2",
            ],
            &[("FUSION_BENCH_PYTHON", "/nonexistent/python")],
        ),
        None,
    );
    assert_eq!(finished.code, Some(0), "stderr: {}", finished.stderr);
    for expected in [
        "initial",
        "incremental",
        "tickets/s",
        "×floor",
        "thread-threshold errors: 0",
    ] {
        assert!(
            finished.stdout.contains(expected),
            "{expected:?} in the table:\n{}",
            finished.stdout
        );
    }
    assert!(
        finished.stdout.contains("py-autotask comparison skipped"),
        "{}",
        finished.stdout
    );
}

#[test]
fn bench_refuses_a_database_url_that_is_not_postgresql_and_says_what_to_give() {
    let finished = run(
        fusion(
            &[
                "bench",
                "--quick",
                "--json",
                "--database-url",
                "sqlite://./bench.db",
            ],
            &[],
        ),
        None,
    );
    assert_eq!(finished.code, Some(2), "stderr: {}", finished.stderr);
    assert!(
        finished.stderr.contains("postgres://USER@HOST/DATABASE"),
        "{}",
        finished.stderr
    );
}

#[test]
fn bench_on_postgresql_runs_the_sync_phases_there_when_a_server_is_given() {
    // Runs when FUSION_TEST_POSTGRES_URL names a server (as CI sets it); each phase gets its own
    // schema, dropped afterwards.
    let Ok(url) = std::env::var("FUSION_TEST_POSTGRES_URL") else {
        return;
    };
    let finished = run(
        fusion(
            &[
                "bench",
                "--quick",
                "--json",
                "--tickets",
                "20",
                "--relationships",
                "2",
                "--database-url",
                &url,
            ],
            &[("FUSION_BENCH_PYTHON", "/nonexistent/python")],
        ),
        None,
    );
    assert_eq!(
        finished.code,
        Some(0),
        "stdout: {}\nstderr: {}",
        finished.stdout,
        finished.stderr
    );
    let report: Value = serde_json::from_str(finished.stdout.trim()).expect("one JSON object");
    assert_eq!(report["database"], "postgres", "{report}");
    for phase in ["initial", "incremental"] {
        assert_eq!(report[phase]["status"], "Success", "{report}");
    }
    assert_eq!(
        report["initial_own_process"]["status"], "Success",
        "{report}"
    );
    // Three serve processes, one killed mid-run: nothing doubled, nothing lost.
    let scale_out = &report["scale_out"];
    assert_eq!(scale_out["workers"], 3, "{report}");
    assert_eq!(scale_out["duplicates"], 0, "{report}");
    assert_eq!(scale_out["missed"], 0, "{report}");
    assert!(
        scale_out["takeover_s"].as_f64().is_some_and(|s| s > 0.0),
        "{report}"
    );
}
