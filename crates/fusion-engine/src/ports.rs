//! The storage ports the core owns and `fusion-store` implements (for SQLite and PostgreSQL),
//! spoken in domain vocabulary: [`SyncStore`] (links, cursors, runs and records, pending creates
//! and retries, leases, schedules), [`RelationshipStore`] (connections, configuration, mappings,
//! override credentials), [`OrganisationNames`] (a partner's name), [`OrganisationCredentials`]
//! (an organisation's own credentials, as its tenant is reached) and the [`StoreError`] they answer
//! with. The platform port is [`crate::Platform`]; the binary implements [`crate::SyncDirectory`].
//!
//! Nothing here names SQL or a driver: a store adapter maps its database's failures onto
//! [`StoreError`]'s cases.

mod organisation_credentials;
mod organisation_names;
mod relationship_store;
mod store_error;
mod sync_store;

pub use organisation_credentials::OrganisationCredentials;
pub use organisation_names::OrganisationNames;
pub use relationship_store::{
    ConfigurationAuditEntry, CredentialsAuditEntry, CredentialsUpdate, PlatformCredentials,
    RelationshipStore,
};
pub use store_error::{StoreError, StoreResult};
pub use sync_store::{Lease, LeaseKey, PendingCreate, RunFilter, RunFinish, SyncStore};
