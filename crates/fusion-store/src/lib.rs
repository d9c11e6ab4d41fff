//! Persistence for Support Fusion: the [`Store`] port and its two implementations, SQLite
//! (embedded default, WAL) and PostgreSQL (several workers), chosen by the database URL's scheme.
//!
//! Invariants:
//! - No SQL leaves this crate; callers speak in domain types.
//! - API secrets are stored only as AEAD ciphertext (see [`crypto`]); the plaintext never reaches a
//!   log, and the only ways back to it are `OrganisationSettings::platform_secret` and the core's
//!   `OrganisationCredentials` port (the credentials a configuration use case hands to the
//!   platform), besides the relationship override's `RelationshipStore::relationship_secret`.
//! - Passwords are stored only as argon2 hashes; session and API tokens only as SHA-256 digests.
//! - Every query that reads organisation data takes the `OrgId` it is scoped to.

use std::sync::Arc;

use async_trait::async_trait;
use fusion_engine::ports::AppStore;
#[cfg(doc)]
use fusion_engine::ports::{
    Identity, OrganisationCredentials, OrganisationNames, OrganisationSettings, RelationshipStore,
    StoreHealth, SyncStore,
};

mod backend;
mod credentials;
pub mod crypto;
mod database_errors;
pub mod maintenance;
mod migrations;
mod password;
mod postgres;
mod relationship_rows;
mod scratch;
mod sql_store;
mod sqlite;
mod sync_rows;
mod test_results;
mod timestamps;
mod tokens;

pub use crypto::{KeyRing, SecretKey, SecretKeyError};
/// The types the readiness and identity ports speak, owned by the core; re-exported for the
/// binary and the tests that hold a [`Store`].
pub use fusion_engine::ports::{NewSession, SchemaVersions};
/// The error the storage ports speak, owned by the core; re-exported because every method of
/// [`Store`] answers with it.
pub use fusion_engine::ports::{StoreError, StoreResult};
pub use password::PasswordHashing;
pub use scratch::ScratchSchema;

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

/// Sign-in names are compared trimmed and lower-cased.
pub(crate) fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// The store's own handle: what only the store does (migrations, key rotation, closing) over the
/// core's storage ports. `Arc<dyn Store>` is what the binary holds; it has [`AppStore`] — and so
/// [`Identity`], [`OrganisationSettings`], [`StoreHealth`], [`RelationshipStore`], [`SyncStore`],
/// [`OrganisationNames`] and [`OrganisationCredentials`] — as supertraits, and coerces to an `Arc`
/// of any of them (`Arc<dyn AppStore>` for the web layer, the narrower ports for
/// `fusion_engine::Connections` and `fusion_engine::configuration::ConfigurationService`).
#[async_trait]
pub trait Store: AppStore {
    /// Applies pending migrations; refuses a database whose schema is newer than this binary.
    async fn migrate(&self) -> StoreResult<()>;
    /// Key rotation: re-seals every stored API secret (organisation and relationship override
    /// credentials) under `new_key`, in one transaction. Each secret is opened with the store's
    /// key or with `new_key` (so a second run after an interrupted rotation finishes the job).
    /// Returns how many secrets were re-sealed. A secret neither key opens aborts the rotation
    /// with [`StoreError::Crypto`] and changes nothing.
    async fn reencrypt_secrets(&self, new_key: &SecretKey) -> StoreResult<u64>;
    /// Closes every database connection (at shutdown); later calls fail.
    async fn close(&self);
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
