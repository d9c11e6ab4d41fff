//! Integration tests for fusion-web, against a real server on 127.0.0.1:0 with a fresh SQLite
//! store and a spawned Autotask simulator.
#![allow(clippy::unwrap_used)]

mod api_tokens;
mod configuration;
mod csrf;
mod metrics;
mod openapi;
mod org_isolation;
mod pages;
mod platform_api;
mod readiness;
mod relationships;
mod secret_exposure;
mod sign_in;
mod support;
