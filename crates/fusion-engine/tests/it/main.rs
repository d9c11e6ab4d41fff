//! Integration tests of the sync engine against in-memory fakes of both ports: a fake platform per
//! side (with fault injection) and a fake sync store, driven with `sync_once` and a manual clock;
//! and of the connection use cases against a fake relationship store.

#![allow(clippy::unwrap_used)]

mod activity;
mod attention;
mod connections;
mod fake_platform;
mod fake_relationships;
mod fake_store;
mod faults;
mod harness;
mod idempotence;
mod paging;
mod read_back;
mod service;
mod shared_reads;
mod soak;
mod sync_runs;
