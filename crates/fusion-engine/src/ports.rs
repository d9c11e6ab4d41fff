//! The storage ports the core owns and `fusion-store` implements (for SQLite and PostgreSQL),
//! spoken in domain vocabulary: [`SyncStore`] (links, cursors, runs and records, pending creates
//! and retries, leases, schedules), [`RelationshipStore`] (connections, configuration, mappings,
//! override credentials), [`OrganisationNames`] (a partner's name), [`OrganisationCredentials`]
//! (an organisation's own credentials, as its tenant is reached), [`Identity`] (organisations,
//! people and the password check, sessions, API tokens), [`OrganisationSettings`] (an
//! organisation's own credentials with their audit log, connection-test results), [`StoreHealth`]
//! (ping, schema versions), [`NotificationStore`] (notification settings and the open
//! problems that deduplicate notifications), [`WebhookStore`] (webhook registrations and the
//! queue of their events), [`BudgetLedger`] (API requests counted per database, connection and
//! minute; each database's share; manual runs waiting for budget) and the [`StoreError`] they answer with; [`AppStore`] is all of them
//! behind one handle, for the web layer. The platform port is [`crate::Platform`]; the binary
//! implements [`crate::SyncDirectory`].
//!
//! Nothing here names SQL or a driver: a store adapter maps its database's failures onto
//! [`StoreError`]'s cases.

mod app_store;
mod budget_ledger;
mod identity;
mod notification_store;
mod organisation_credentials;
mod organisation_names;
mod organisation_settings;
mod relationship_store;
mod store_error;
mod store_health;
mod sync_store;
mod webhook_store;

pub use app_store::AppStore;
pub use budget_ledger::{ApiUsage, BudgetLedger, DeferredRun};
pub use identity::{ApiTokenInfo, Identity, NewApiToken, NewSession};
pub use notification_store::{
    NotificationSettingsRecord, NotificationStore, OpenProblem, StoredNotificationSettings,
};

pub use organisation_credentials::OrganisationCredentials;
pub use organisation_names::OrganisationNames;
pub use organisation_settings::OrganisationSettings;
pub use relationship_store::{
    ConfigurationAuditEntry, CredentialsAuditEntry, CredentialsUpdate, PlatformCredentials,
    RelationshipStore,
};
pub use store_error::{StoreError, StoreResult};
pub use store_health::{SchemaVersions, StoreHealth};
pub use sync_store::{
    AttentionFilter, Lease, LeaseKey, LinkQuery, PendingCreate, RunFilter, RunFinish, SyncStore,
};
pub use webhook_store::{
    QueuedWebhookEvent, WebhookActivity, WebhookEvent, WebhookEventDone, WebhookRegistration,
    WebhookStore,
};
