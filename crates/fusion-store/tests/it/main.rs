//! The store's contract suite: every test runs against SQLite (a file in a temporary folder)
//! and, when `FUSION_TEST_POSTGRES_URL` is set, against PostgreSQL in a schema of its own.
#![allow(clippy::unwrap_used)]

mod budget;
mod configuration_audit;
mod credentials;
mod harness;
mod isolation;
mod key_rotation;
mod maintenance;
mod migrations;
mod notifications;
mod people;
mod relationships;
mod secret_key;
mod sessions;
mod sqlite_file;
mod sync;
mod test_results;
mod webhooks;
