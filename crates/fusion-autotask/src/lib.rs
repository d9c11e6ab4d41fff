//! The Autotask PSA adapter: URL rules, credential cleaning, zone discovery, auth headers, typed
//! wire structs, queries with id-cursor paging, writes, error classification, the concurrency
//! governor and request budget, the connection test, and the engine's ports: `Platform`
//! (`AutotaskPlatform`) and `PlatformTenants` (`AutotaskTenants`).
//!
//! Nothing outside this crate knows Autotask field names or HTTP details; nothing here shares
//! types with the simulator (`fusion-autotask-sim`).

pub mod api_url;
pub mod auth_guard;
pub mod budget;
pub mod choices;
pub mod client;
pub mod connection_test;
pub mod credential;
pub mod error;
pub mod input_checks;
pub mod limiter;
pub mod platform;
mod retry;
pub mod settings;
pub mod telemetry;
pub mod tenant_webhooks;
pub mod tenants;
pub mod ticket_fields;
pub mod transport;
pub mod webhook_signature;
pub mod webhooks;
pub mod wire;
pub mod zone;

#[cfg(test)]
mod hostile_input_tests;

pub use api_url::{ApiUrl, ApiUrlError, suggest_api_url};
pub use budget::RequestBudget;
pub use choices::{TenantChoices, load_choices};
pub use client::{
    AutotaskClient, AutotaskService, Credentials, DISCOVERY_HOST, PAGE_SIZE, QueryPages,
    ResolvedZone,
};
pub use connection_test::{
    ConnectionInput, ConnectionTester, RECOMMENDED_SECURITY_LEVEL, looks_like_person_email,
};
pub use credential::{CleanedValue, clean_credential, removal_note};
pub use error::{AutotaskError, TransportErrorKind};
pub use input_checks::{InputField, InputProblem, check_input};
pub use limiter::EndpointLimiter;
pub use platform::{
    ATTACHMENT_WINDOW, ATTACHMENT_WINDOW_BYTES, AutotaskPlatform, MAX_ATTACHMENT_BYTES,
};
pub use settings::{AutotaskSettings, RetryPolicy};
pub use tenants::{AutotaskTenants, CHOICES_TTL};
pub use ticket_fields::{
    TICKET_TYPE, default_field_mappings, preview_values, suggested_value_mappings, ticket_fields,
};
pub use transport::{TransportOverride, TransportOverrideError};
pub use zone::{zone_display, zone_name};
