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
    assert!(report["vs_py_autotask"].is_null(), "{report}");
    let reason = report["vs_py_autotask_skipped"]
        .as_str()
        .expect("a reason when py-autotask is missing");
    assert!(
        reason.contains("FUSION_BENCH_PYTHON") && reason.contains("cargo xtask py-autotask"),
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
