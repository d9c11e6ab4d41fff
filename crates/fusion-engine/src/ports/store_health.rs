//! Readiness of the storage behind the ports: a cheap round trip and the schema versions.
//!
//! `fusion-store`'s `Store` has this trait as a supertrait, so `Arc<dyn Store>` coerces to
//! `Arc<dyn StoreHealth>`.

use async_trait::async_trait;

use super::StoreResult;

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

/// Readiness checks on the storage.
#[async_trait]
pub trait StoreHealth: Send + Sync {
    /// Cheap round trip for readiness checks.
    async fn ping(&self) -> StoreResult<()>;
    /// The database's schema version and this binary's, for readiness checks.
    async fn schema_versions(&self) -> StoreResult<SchemaVersions>;
}
