//! Black-box tests of the `fusion` binary: each runs the built executable as a user would and
//! checks what they would see (stdout, stderr, exit code, what the started servers answer).

#![allow(clippy::unwrap_used)]

mod api_url_command;
mod autotask_test_command;
mod autotask_zone_command;
mod demo_command;
mod postgres_schema;
mod process;
mod serve_command;
mod sim_command;
