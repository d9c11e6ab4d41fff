//! The sync engine: runs one sync of a relationship ([`SyncEngine::sync_once`]) by fetching
//! changes from both sides through the [`Platform`] port, planning with the pure planner in
//! `fusion_domain::sync`, applying the actions in a safe order, and recording links, cursors and
//! history through the [`ports::SyncStore`] port.
//!
//! [`SyncService`] wraps the engine for the rest of the product: run a relationship now (loading
//! its setup through the [`SyncDirectory`] port and marking the baseline), and run every
//! relationship whose automatic sync is due (the scheduler inside `fusion serve`).
//!
//! [`PlatformTenants`] is the port Settings and the configuration screens use: a tenant's
//! credentials checked and tested, its live choices, mapping defaults and ticket previews.
//! [`configuration::ConfigurationService`] holds the configuration use cases over it and the
//! storage ports: a side's configuration under the privacy rule, field mappings, the
//! description composition and its preview, the configuration history, export and import.
//!
//! [`notify`] holds the notification policy: the [`notify::Notifier`] opens and resolves
//! problems (a run failed, an attention item, a connection not synced, the API budget, a
//! connection paused or ended) and tells each organisation once per problem through the
//! [`notify::NotificationChannels`] port; [`notify::NotificationSettingsService`] holds the
//! per-organisation settings.
//!
//! The engine is the core: it owns the ports its adapters implement — [`Platform`] and
//! [`PlatformTenants`] (the Autotask adapter), the storage ports in [`ports`] (the store),
//! [`SyncDirectory`] (the binary) — and knows no HTTP and no SQL, and no adapter.

mod apply;
mod attention;
pub mod budget;
pub mod configuration;
mod connections;
mod control;
mod engine;
mod gather;
mod lease_keeper;
pub mod notify;
mod overview;
mod platform;
pub mod ports;
mod repair;
mod service;
mod setup;
mod shared_reads;
mod tenant;
mod tickets;
pub mod webhooks;

pub use connections::{
    ActionOutcome, CONTRACT_NAME_MAX_CHARS, ConnectionError, ConnectionSeen, Connections,
    CreateProblem, IssuedCode, LifecycleAction, NewConnection, WrongCodeThrottle,
};
pub use control::{RunControl, RunObserver, StopSignal};
pub use engine::{EngineError, RunSummary, SyncEngine, SyncMode};
pub use overview::{
    ACTIVITY_WINDOW, CALLS_WINDOW, FAILURE_WINDOW, HistoryQuery, HistoryRun, ScheduleChangeError,
    StartDateError, SyncActivity, SyncOverviews, SyncStatus, parse_start_date,
};
pub use platform::{
    ChangedTicketsQuery, CreatedTicket, OwnActivityListed, Platform, PlatformError, TicketPage,
};
pub use repair::{RepairError, RepairStep};
pub use service::{
    SYNC_DUE_RELATIONSHIPS, SYNC_NOT_RUN_TOTAL, SYNC_RECORDS_TOTAL,
    SYNC_RUN_DURATION_BUCKETS_SECONDS, SYNC_RUN_DURATION_SECONDS, SYNC_RUNS_TOTAL,
    ScheduledOutcome, ScheduledRelationship, ServiceError, SetupError, SyncDirectory, SyncHooks,
    SyncService,
};
pub use setup::{EngineSettings, SideSetup, SyncSetup};
pub use shared_reads::{
    LinkedTickets, SWEEP_READS_FRESH_FOR, SharedReads, SharedSide, StoreLinkedTickets,
};
pub use tenant::{
    ApiUrlProblem, CleanedInput, CredentialField, CredentialHelp, Freshness, LiveChoices,
    PlatformTenants, PreviewTicket, TenantCredentials, TenantError, TicketFact, TicketField,
    TicketPreview,
};
pub use tickets::{
    TicketRow, TicketSyncState, TicketsQuery, attention_count, ticket_rows, upper_first,
};
