//! `fusion demo --check`: the self-test a user runs after installing. It syncs the demo world
//! headless, makes changes on both sides as people would, syncs again, and prints exactly one
//! JSON line saying whether both simulated tenants agree (exit 0 when they do).

use serde_json::Value;

use crate::process::{fusion, run};

#[test]
fn demo_check_syncs_edits_and_closes_and_reports_both_tenants_agree_on_one_json_line() {
    let finished = run(fusion(&["demo", "--check"], &[]), None);
    let lines: Vec<&str> = finished.stdout.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "exactly one line on stdout: {:?}\nstderr: {}",
        finished.stdout,
        finished.stderr
    );
    let line: Value = serde_json::from_str(lines[0]).expect("the line is JSON");
    assert_eq!(
        line["mismatches"],
        Value::Array(Vec::new()),
        "no mismatches: {line}\nstderr: {}",
        finished.stderr
    );
    assert_eq!(line["ok"], true, "{line}");
    let runs = line["runs"].as_array().expect("runs is a list");
    assert_eq!(runs.len(), 2, "the initial run and the second run: {line}");
    for run in runs {
        assert_eq!(run["status"], "Success", "{line}");
        assert_eq!(run["failed"], 0, "{line}");
    }
    assert!(
        runs[0]["created"].as_u64().expect("a count") > 0,
        "the initial run copies the demo tickets: {line}"
    );
    assert!(
        runs[1]["closed"].as_u64().expect("a count") >= 1,
        "the second run carries the closure across: {line}"
    );
    assert!(
        runs[1]["updated"].as_u64().expect("a count") >= 1,
        "the second run carries the new title across: {line}"
    );
    assert_eq!(
        finished.code,
        Some(0),
        "{line}\nstderr: {}",
        finished.stderr
    );
}

#[test]
fn demo_check_cannot_be_combined_with_a_listen_address() {
    let finished = run(
        fusion(&["demo", "--check", "--listen", "127.0.0.1:0"], &[]),
        None,
    );
    assert_ne!(finished.code, Some(0), "{}", finished.all_output());
    assert!(finished.stdout.is_empty(), "{}", finished.stdout);
    assert!(finished.stderr.contains("--listen"), "{}", finished.stderr);
}
