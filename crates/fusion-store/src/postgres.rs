//! The PostgreSQL backend, for deployments where several worker processes share one database:
//! connecting, and what PostgreSQL does differently from SQLite ([`Backend`]). The queries
//! themselves are shared ([`crate::sql_store`]).
//!
//! Tables are named unqualified, so they live in the first schema of the connection's
//! `search_path` (tests give each run its own schema through the URL's `options`). Read-then-write
//! steps lock the rows they read (`FOR NO KEY UPDATE`, which does not block rows that merely
//! reference them): two partners accepting one code are served one after the other, and the
//! second reads the row as the first left it and finds the code used. Two different codes of the
//! same pair accepted at once are settled by the unique index on connected pairs (the loser is
//! told "duplicate"). Claiming a lease is one `INSERT … ON CONFLICT (lease_key) DO UPDATE … WHERE
//! expires_at <= now RETURNING …`: PostgreSQL locks the conflicting row and re-checks the
//! condition on its latest version, so of several workers claiming one key at once exactly one
//! gets a row back.

use std::str::FromStr;
use std::time::Duration;

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{
    PgArgumentBuffer, PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgQueryResult, PgRow,
    PgTypeInfo, PgValueRef,
};
use sqlx::query::Query;
use sqlx::{Decode, Encode, Executor, Postgres, Row, Transaction, Type};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::backend::{Backend, Column, Columns, Param, RowsAffected, StoredId, StoredTime};
use crate::crypto::KeyRing;
use crate::database_errors::database_error;
use crate::migrations::{EmbeddedMigration, POSTGRES_MIGRATIONS, migration_error, migrator};
use crate::password::PasswordHasher;
use crate::sql_store::SqlStore;
use crate::timestamps::to_storage_precision;
use crate::{StoreError, StoreResult};

/// How long a request waits for a free connection before it fails (and readiness reports it).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Per process; several workers each hold their own pool, so keep well under the server's
/// `max_connections` (100 by default).
const MAX_CONNECTIONS: u32 = 10;

/// Connects to the PostgreSQL database `database_url` names.
pub(crate) async fn connect(
    database_url: &str,
    key: KeyRing,
    passwords: PasswordHasher,
) -> StoreResult<SqlStore<Postgres>> {
    let options = PgConnectOptions::from_str(database_url.trim()).map_err(|error| {
        StoreError::Backend(format!("invalid PostgreSQL database URL: {error}"))
    })?;
    let pool = PgPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await
        .map_err(|error| {
            StoreError::Unavailable(format!("cannot connect to PostgreSQL: {error}"))
        })?;
    Ok(SqlStore::new(pool, key, passwords))
}

impl Backend for Postgres {
    const MIGRATIONS: &'static [EmbeddedMigration] = POSTGRES_MIGRATIONS;

    const TABLE_EXISTS: &'static str = "SELECT to_regclass($1) IS NOT NULL AS found";

    const ROW_LOCK: &'static str = " FOR NO KEY UPDATE";

    fn bind<'q, 't, T: Param<'t>>(
        query: Query<'q, Self, Self::Arguments>,
        value: T,
    ) -> Query<'q, Self, Self::Arguments> {
        query.bind(value)
    }

    fn pool(pool: &PgPool) -> impl Executor<'_, Database = Self> {
        pool
    }

    fn connection(connection: &mut PgConnection) -> impl Executor<'_, Database = Self> {
        connection
    }

    async fn begin_write(pool: &PgPool) -> StoreResult<Transaction<'static, Self>> {
        pool.begin().await.map_err(database_error)
    }

    async fn run_migrations(pool: &PgPool) -> StoreResult<()> {
        migrator(POSTGRES_MIGRATIONS)
            .run(pool)
            .await
            .map_err(migration_error)
    }

    /// A `TEXT[]` array, searched with `ANY`.
    fn in_texts(column: &str, parameter: usize) -> String {
        format!("{column} = ANY(${parameter})")
    }

    fn bind_texts<'q>(
        query: Query<'q, Self, Self::Arguments>,
        texts: Vec<String>,
    ) -> StoreResult<Query<'q, Self, Self::Arguments>> {
        Ok(query.bind(texts))
    }
}

impl Columns for PgRow {
    fn column<T: Column>(&self, name: &str) -> StoreResult<T> {
        self.try_get(name).map_err(database_error)
    }
}

impl RowsAffected for PgQueryResult {
    fn rows_affected(&self) -> u64 {
        PgQueryResult::rows_affected(self)
    }
}

impl Type<Postgres> for StoredId {
    fn type_info() -> PgTypeInfo {
        <Uuid as Type<Postgres>>::type_info()
    }
}

impl Encode<'_, Postgres> for StoredId {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        Encode::<Postgres>::encode(self.0, buf)
    }
}

impl Decode<'_, Postgres> for StoredId {
    fn decode(value: PgValueRef<'_>) -> Result<Self, BoxDynError> {
        <Uuid as Decode<Postgres>>::decode(value).map(Self)
    }
}

impl Type<Postgres> for StoredTime {
    fn type_info() -> PgTypeInfo {
        <OffsetDateTime as Type<Postgres>>::type_info()
    }
}

impl Encode<'_, Postgres> for StoredTime {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        Encode::<Postgres>::encode(to_storage_precision(self.0), buf)
    }
}

impl Decode<'_, Postgres> for StoredTime {
    fn decode(value: PgValueRef<'_>) -> Result<Self, BoxDynError> {
        <OffsetDateTime as Decode<Postgres>>::decode(value).map(Self)
    }
}
