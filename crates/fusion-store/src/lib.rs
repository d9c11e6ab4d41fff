//! Persistence for Support Fusion: the [`Store`] port and its two implementations, SQLite
//! (embedded default, WAL) and PostgreSQL (several workers), chosen by the database URL's scheme.
//!
//! Invariants:
//! - No SQL leaves this crate; callers speak in domain types.
//! - API secrets are stored only as AEAD ciphertext (see [`crypto`]); the plaintext never reaches a
//!   log, and the only ways back to it are [`Store::platform_secret`] and the core's
//!   `OrganisationCredentials` port (the credentials a configuration use case hands to the
//!   platform), besides the relationship override's `RelationshipStore::relationship_secret`.
//! - Passwords are stored only as argon2 hashes; session and API tokens only as SHA-256 digests.
//! - Every query that reads organisation data takes the `OrgId` it is scoped to.

use std::sync::Arc;

use async_trait::async_trait;
use fusion_domain::{ConnectionTestReport, OrgId, Organisation, Person, PersonId};
use fusion_engine::ports::{
    CredentialsAuditEntry, CredentialsUpdate, OrganisationCredentials, OrganisationNames,
    PlatformCredentials, RelationshipStore, SyncStore,
};
use secrecy::SecretString;
use time::OffsetDateTime;

mod backend;
mod credentials;
pub mod crypto;
mod database_errors;
pub mod maintenance;
mod migrations;
mod password;
mod postgres;
mod relationship_rows;
mod sql_store;
mod sqlite;
mod sync_rows;
mod test_results;
mod timestamps;
mod tokens;

pub use crypto::{KeyRing, SecretKey, SecretKeyError};
/// The error the storage ports speak, owned by the core; re-exported because every method of
/// [`Store`] answers with it.
pub use fusion_engine::ports::{StoreError, StoreResult};
pub use password::PasswordHashing;

/// Choices made when opening a store. `StoreOptions::default()` is right for production.
#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    /// Cost of password hashes; [`PasswordHashing::Fast`] is for tests only.
    pub password_hashing: PasswordHashing,
}

impl StoreOptions {
    /// Options for test suites: cheap password hashes, everything else as in production.
    pub fn for_tests() -> Self {
        Self {
            password_hashing: PasswordHashing::Fast,
        }
    }
}

/// Opens the store named by `database_url` and brings its schema up to date.
///
/// - `sqlite://PATH` (file created if missing; WAL, `busy_timeout`, foreign keys on) or
///   `sqlite::memory:` (a private in-memory database, gone when the store is dropped);
/// - `postgres://…` or `postgresql://…` (the schema goes into the first schema of the
///   connection's `search_path`).
///
/// Fails with [`StoreError::SchemaTooNew`] when the database was migrated by a newer binary, and
/// with [`StoreError::UnsupportedUrl`] for any other scheme.
///
/// `key` is a [`SecretKey`] (fixed for the life of the store) or a [`KeyRing`] (which
/// [`KeyRing::watching_key_file`] makes follow a key rotation on disk).
pub async fn open(database_url: &str, key: impl Into<KeyRing>) -> StoreResult<Arc<dyn Store>> {
    open_with_options(database_url, key, StoreOptions::default()).await
}

/// [`open`] with explicit [`StoreOptions`].
pub async fn open_with_options(
    database_url: &str,
    key: impl Into<KeyRing>,
    options: StoreOptions,
) -> StoreResult<Arc<dyn Store>> {
    let key = key.into();
    let passwords = password::PasswordHasher::new(options.password_hashing);
    let store: Arc<dyn Store> = match DatabaseKind::of_url(database_url)? {
        DatabaseKind::Sqlite => Arc::new(sqlite::connect(database_url, key, passwords).await?),
        DatabaseKind::Postgres => Arc::new(postgres::connect(database_url, key, passwords).await?),
    };
    store.migrate().await?;
    Ok(store)
}

/// The backends a database URL can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    Sqlite,
    Postgres,
}

impl DatabaseKind {
    /// The backend for `database_url`, judged by its scheme alone.
    pub fn of_url(database_url: &str) -> StoreResult<Self> {
        let trimmed = database_url.trim();
        let scheme = trimmed
            .split_once(':')
            .map(|(scheme, _)| scheme.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("sqlite") => Ok(DatabaseKind::Sqlite),
            Some("postgres" | "postgresql") => Ok(DatabaseKind::Postgres),
            // Only the scheme goes into the error: the rest may hold a password.
            Some(scheme) if !scheme.is_empty() && !scheme.contains('/') => {
                Err(StoreError::UnsupportedUrl(format!("{scheme}:…")))
            }
            _ => Err(StoreError::UnsupportedUrl("(no scheme)".to_owned())),
        }
    }
}

/// The schema version of a database next to the newest this binary knows, for readiness checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaVersions {
    /// The newest migration applied to the database (`None`: none yet).
    pub database: Option<i64>,
    /// The newest migration compiled into this binary.
    pub binary: i64,
}

impl SchemaVersions {
    /// Whether the database is exactly at this binary's schema.
    pub fn is_current(&self) -> bool {
        self.database == Some(self.binary)
    }
}

/// Sign-in names are compared trimmed and lower-cased.
pub(crate) fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A signed-in session, returned once with its token; only the digest is stored.
#[derive(Debug)]
pub struct NewSession {
    pub token: SecretString,
    pub expires_at: OffsetDateTime,
}

/// The storage port. `Arc<dyn Store>` is what the web layer, the sync engine and the binary
/// hold; it offers the [`RelationshipStore`], [`SyncStore`], [`OrganisationNames`] and
/// [`OrganisationCredentials`] methods too, and coerces to an `Arc` of any of them (e.g. for
/// `fusion_engine::Connections` and `fusion_engine::configuration::ConfigurationService`).
#[async_trait]
pub trait Store:
    RelationshipStore
    + SyncStore
    + OrganisationNames
    + OrganisationCredentials
    + Send
    + Sync
    + std::fmt::Debug
{
    /// Applies pending migrations; refuses a database whose schema is newer than this binary.
    async fn migrate(&self) -> StoreResult<()>;
    /// Key rotation: re-seals every stored API secret (organisation and relationship override
    /// credentials) under `new_key`, in one transaction. Each secret is opened with the store's
    /// key or with `new_key` (so a second run after an interrupted rotation finishes the job).
    /// Returns how many secrets were re-sealed. A secret neither key opens aborts the rotation
    /// with [`StoreError::Crypto`] and changes nothing.
    async fn reencrypt_secrets(&self, new_key: &SecretKey) -> StoreResult<u64>;
    /// Cheap round trip for readiness checks.
    async fn ping(&self) -> StoreResult<()>;
    /// The database's schema version and this binary's, for readiness checks.
    async fn schema_versions(&self) -> StoreResult<SchemaVersions>;
    /// Closes every database connection (at shutdown); later calls fail.
    async fn close(&self);

    async fn create_organisation(&self, name: &str) -> StoreResult<Organisation>;
    async fn organisation(&self, id: OrgId) -> StoreResult<Option<Organisation>>;
    async fn organisations(&self) -> StoreResult<Vec<Organisation>>;

    /// Creates a person; the password is hashed with argon2. `Conflict` if the email is taken.
    async fn create_person(
        &self,
        org_id: OrgId,
        email: &str,
        display_name: &str,
        password: &SecretString,
    ) -> StoreResult<Person>;
    /// `Some(person)` when the email exists and the password matches.
    async fn verify_password(
        &self,
        email: &str,
        password: &SecretString,
    ) -> StoreResult<Option<Person>>;
    async fn person(&self, id: PersonId) -> StoreResult<Option<Person>>;

    async fn create_session(
        &self,
        person_id: PersonId,
        ttl: time::Duration,
    ) -> StoreResult<NewSession>;
    /// The person behind a live (unexpired) session token.
    async fn session_person(&self, token: &str) -> StoreResult<Option<Person>>;
    async fn delete_session(&self, token: &str) -> StoreResult<()>;

    /// Creates an API token for scripts; returned once, stored as a digest.
    async fn create_api_token(&self, person_id: PersonId, label: &str)
    -> StoreResult<SecretString>;
    async fn api_token_person(&self, token: &str) -> StoreResult<Option<Person>>;

    async fn platform_credentials(&self, org_id: OrgId)
    -> StoreResult<Option<PlatformCredentials>>;
    /// Saves credentials, encrypts a new secret, and writes one audit entry per changed field.
    async fn save_platform_credentials(
        &self,
        org_id: OrgId,
        changed_by: Option<PersonId>,
        update: CredentialsUpdate,
    ) -> StoreResult<PlatformCredentials>;
    /// The decrypted secret, for the adapter only.
    async fn platform_secret(&self, org_id: OrgId) -> StoreResult<Option<SecretString>>;
    async fn credentials_audit_log(&self, org_id: OrgId)
    -> StoreResult<Vec<CredentialsAuditEntry>>;

    async fn record_test_result(
        &self,
        org_id: OrgId,
        report: &ConnectionTestReport,
    ) -> StoreResult<()>;
    async fn last_test_result(&self, org_id: OrgId) -> StoreResult<Option<ConnectionTestReport>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backend_is_chosen_by_the_url_scheme() {
        assert_eq!(
            DatabaseKind::of_url("sqlite://./fusion.db").ok(),
            Some(DatabaseKind::Sqlite)
        );
        assert_eq!(
            DatabaseKind::of_url("sqlite::memory:").ok(),
            Some(DatabaseKind::Sqlite)
        );
        assert_eq!(
            DatabaseKind::of_url("postgres://u@h/db").ok(),
            Some(DatabaseKind::Postgres)
        );
        assert_eq!(
            DatabaseKind::of_url(" PostgreSQL://u@h/db").ok(),
            Some(DatabaseKind::Postgres)
        );
        for refused in ["mysql://u:p@h/db", "./fusion.db", ""] {
            assert!(
                matches!(
                    DatabaseKind::of_url(refused),
                    Err(StoreError::UnsupportedUrl(_))
                ),
                "{refused}"
            );
        }
    }

    #[test]
    fn emails_are_compared_trimmed_and_lower_cased() {
        assert_eq!(
            normalise_email("  Jane.Doe@Example.COM\n"),
            "jane.doe@example.com"
        );
    }
}
