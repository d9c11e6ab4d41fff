//! One module per subcommand; each turns its parsed arguments into configuration and runs.

pub mod admin;
pub mod autotask;
pub mod bench;
pub mod config;
pub mod demo;
pub mod maintenance;
pub mod serve;
pub mod sim;
pub mod sync;
pub mod web_app;
