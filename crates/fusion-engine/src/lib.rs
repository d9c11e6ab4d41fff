//! The sync engine: runs one sync of a relationship ([`SyncEngine::sync_once`]) by fetching
//! changes from both sides through the [`Platform`] port, planning with the pure planner in
//! `fusion_domain::sync`, applying the actions in a safe order, and recording links, cursors and
//! history through the `fusion_store::SyncStore` port.
//!
//! The engine knows no HTTP and no SQL: only the two ports.

mod apply;
mod engine;
mod gather;
mod platform;
mod service;

pub use engine::{
    EngineError, EngineSettings, RunSummary, SideSetup, SyncEngine, SyncMode, SyncSetup,
};
pub use platform::{ChangedTicketsQuery, Platform, PlatformError, TicketPage};
pub use service::{
    ScheduledOutcome, ScheduledRelationship, ServiceError, SetupError, SyncDirectory, SyncService,
};
