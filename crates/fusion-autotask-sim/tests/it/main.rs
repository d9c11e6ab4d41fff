//! Black-box tests of the Autotask simulator over real HTTP (reqwest against a simulator on port 0).
#![allow(clippy::unwrap_used)]

mod auth;
mod control_plane;
mod faults;
mod harness;
mod limits;
mod queries;
mod seeds;
mod swagger_shape;
mod time_entries;
mod webhooks;
mod writes;
mod zones;
