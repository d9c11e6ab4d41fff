//! Integration tests for fusion-web, against a real server on 127.0.0.1:0 with a fresh SQLite
//! store and a spawned Autotask simulator.
#![allow(clippy::unwrap_used)]

mod api_budget;
mod api_tokens;
mod configuration;
mod configuration_audit;
mod configuration_scope;
mod csrf;
mod metrics;
mod notifications;
mod openapi;
mod org_isolation;
mod pages;
mod platform_api;
mod readiness;
mod relationships;
mod secret_exposure;
mod security;
mod sign_in;
mod support;
mod sync;
mod tickets;

// The sync tests run the binary's own sync directory and the demo's connection set-up in-process;
// both files depend only on library crates, so they are compiled in here as they are.
#[allow(dead_code)]
#[path = "../../../fusion/src/commands/demo/connection.rs"]
mod demo_connection;
#[allow(dead_code)]
#[path = "../../../fusion/src/sync_directory.rs"]
mod sync_directory;
// The in-process SMTP sink and HTTP receiver of the delivery adapter's tests.
#[path = "../../../fusion-notify/tests/it/sinks.rs"]
mod sinks;
