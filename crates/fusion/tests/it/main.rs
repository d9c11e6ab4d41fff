//! Black-box tests of the `fusion` binary: each runs the built executable as a user would and
//! checks what they would see (stdout, stderr, exit code, what the started servers answer).

#![allow(clippy::unwrap_used)]

mod api_url_command;
mod attention_end_to_end;
mod autotask_test_command;
mod autotask_zone_command;
mod bench_command;
mod budget_end_to_end;
mod config_command;
mod demo_check;
mod demo_command;
mod graceful_shutdown;
mod interrupting_platform;
mod live_key_rotation;
mod maintenance_commands;
mod notifications_end_to_end;
mod own_activity_end_to_end;
mod postgres_schema;
mod privacy_end_to_end;
mod process;
mod scale_out;
mod serve_command;
mod sim_command;
mod soak;
mod sync_end_to_end;
mod time_copies_end_to_end;
mod time_end_to_end;
mod trace_logs;
mod webhooks_end_to_end;

// The end-to-end sync tests run the binary's own sync directory and the demo's connection set-up
// in-process; both files depend only on library crates, so they are compiled in here as they are.
#[allow(dead_code)]
#[path = "../../src/commands/demo/connection.rs"]
mod demo_connection;
// Several `fusion serve` processes on one PostgreSQL database, shared with `fusion bench`.
#[path = "../../src/commands/bench/cluster.rs"]
mod cluster;
#[allow(dead_code)]
#[path = "../../src/scheduler.rs"]
mod scheduler;
#[allow(dead_code)]
#[path = "../../src/sync_directory.rs"]
mod sync_directory;
// The in-process SMTP sink and HTTP receiver of the delivery adapter's tests.
#[path = "../../../fusion-notify/tests/it/sinks.rs"]
mod sinks;
