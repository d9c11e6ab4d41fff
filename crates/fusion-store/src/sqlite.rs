//! The SQLite backend, the embedded default: opening the database file, and what SQLite does
//! differently from PostgreSQL ([`Backend`]). The queries themselves are shared
//! ([`crate::sql_store`]).
//!
//! Connections run in WAL mode (readers never wait for the writer), with a `busy_timeout` so a
//! writer waits for another instead of failing, and with foreign keys enforced. Read-then-write
//! transactions start with `BEGIN IMMEDIATE`, taking the write lock up front: a deferred
//! transaction that upgrades later can fail with `SQLITE_BUSY` regardless of the timeout.
//!
//! Ids are stored as hyphenated UUID text and timestamps as fixed-width UTC text
//! ([`StoredTime`]), so the file reads well in the `sqlite3` shell and SQL compares times as text.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::query::Query;
use sqlx::sqlite::{
    SqliteArgumentsBuffer, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool,
    SqlitePoolOptions, SqliteQueryResult, SqliteRow, SqliteSynchronous, SqliteTypeInfo,
    SqliteValueRef,
};
use sqlx::{Decode, Encode, Executor, Row, Sqlite, Transaction, Type};
use time::format_description::BorrowedFormatItem;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};
use uuid::Uuid;
use uuid::fmt::Hyphenated;

use crate::backend::{Backend, Columns, Param, RowsAffected, StoredId, StoredTime};
use crate::crypto::KeyRing;
use crate::database_errors::database_error;
use crate::migrations::{EmbeddedMigration, SQLITE_MIGRATIONS, migration_error, migrator};
use crate::password::PasswordHasher;
use crate::sql_store::SqlStore;
use crate::timestamps::to_storage_precision;
use crate::{StoreError, StoreResult};

/// How long a connection waits for another connection's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Readers are cheap in WAL mode; writes serialise on SQLite's single write lock anyway.
const MAX_CONNECTIONS: u32 = 8;

/// `2026-11-27T01:43:57.123456Z`: RFC 3339, always six fractional digits, always UTC.
const TIME_FORMAT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// Opens (creating it if missing) the SQLite database `database_url` names.
pub(crate) async fn connect(
    database_url: &str,
    key: KeyRing,
    passwords: PasswordHasher,
) -> StoreResult<SqlStore<Sqlite>> {
    let options = SqliteConnectOptions::from_str(database_url.trim())
        .map_err(|error| StoreError::Backend(format!("invalid SQLite database URL: {error}")))?
        .create_if_missing(true)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT);
    let in_memory = database_url.contains(":memory:") || database_url.contains("mode=memory");
    if !in_memory {
        create_parent_folder(options.get_filename())?;
        make_database_files_private(options.get_filename())?;
    }
    let pool_options = if in_memory {
        // An in-memory database lives as long as one of its connections: keep one open for
        // the life of the store. WAL does not apply to memory databases.
        SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
    } else {
        SqlitePoolOptions::new().max_connections(MAX_CONNECTIONS)
    };
    // WAL with `synchronous = NORMAL`: a commit survives a crash of this process (the WAL is
    // written before the commit returns) and only the last commits can be lost on power loss,
    // never the database's integrity. FULL would fsync on every commit, which measured at
    // 3–4 ms per write and would bound the sync engine's throughput on a disk, not the network.
    let options = if in_memory {
        options
    } else {
        options
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
    };
    let pool = pool_options.connect_with(options).await.map_err(|error| {
        StoreError::Backend(format!("cannot open the SQLite database: {error}"))
    })?;
    Ok(SqlStore::new(pool, key, passwords))
}

/// SQLite creates a missing database file but not a missing folder; create that too, so
/// `sqlite://./data/fusion.db` works on a fresh machine. A folder created here is private to this
/// user (0700).
fn create_parent_folder(database_file: &Path) -> StoreResult<()> {
    match database_file.parent() {
        Some(folder) if !folder.as_os_str().is_empty() && !folder.exists() => {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                builder.mode(0o700);
            }
            builder.create(folder).map_err(|error| {
                StoreError::Backend(format!(
                    "cannot create the folder {} for the SQLite database: {error}",
                    folder.display()
                ))
            })
        }
        _ => Ok(()),
    }
}

/// The database holds password hashes, session digests and sealed API secrets: its files are
/// readable by this user only (0600). A missing database file is created 0600 before SQLite opens
/// it (SQLite then gives its `-wal` and `-shm` files the same mode), and an existing one that is
/// open to others — made by an older version, or copied with a wide umask — is narrowed.
fn make_database_files_private(database_file: &Path) -> StoreResult<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let failed = |action: &str, path: &Path, error: std::io::Error| {
            StoreError::Backend(format!(
                "cannot {action} the SQLite database file {}: {error}",
                path.display()
            ))
        };
        if !database_file.exists() {
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(database_file)
                .map_err(|error| failed("create", database_file, error))?;
        }
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut path = database_file.as_os_str().to_owned();
            path.push(suffix);
            let path = std::path::PathBuf::from(path);
            if let Ok(metadata) = std::fs::metadata(&path)
                && metadata.permissions().mode() & 0o077 != 0
            {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                    .map_err(|error| failed("restrict the permissions of", &path, error))?;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = database_file;
    Ok(())
}

impl Backend for Sqlite {
    const MIGRATIONS: &'static [EmbeddedMigration] = SQLITE_MIGRATIONS;

    const TABLE_EXISTS: &'static str = "SELECT EXISTS (SELECT 1 FROM sqlite_master \
         WHERE type = 'table' AND name = $1) AS found";

    const ROW_LOCK: &'static str = "";

    fn bind<'q, 't, T: Param<'t>>(
        query: Query<'q, Self, Self::Arguments>,
        value: T,
    ) -> Query<'q, Self, Self::Arguments> {
        query.bind(value)
    }

    fn pool(pool: &SqlitePool) -> impl Executor<'_, Database = Self> {
        pool
    }

    fn connection(connection: &mut SqliteConnection) -> impl Executor<'_, Database = Self> {
        connection
    }

    async fn begin_write(pool: &SqlitePool) -> StoreResult<Transaction<'static, Self>> {
        pool.begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(database_error)
    }

    async fn run_migrations(pool: &SqlitePool) -> StoreResult<()> {
        migrator(SQLITE_MIGRATIONS)
            .run(pool)
            .await
            .map_err(migration_error)
    }

    /// A JSON array, opened with `json_each`.
    fn in_texts(column: &str, parameter: usize) -> String {
        format!("{column} IN (SELECT value FROM json_each(${parameter}))")
    }

    fn bind_texts<'q>(
        query: Query<'q, Self, Self::Arguments>,
        texts: Vec<String>,
    ) -> StoreResult<Query<'q, Self, Self::Arguments>> {
        let json = serde_json::to_string(&texts)
            .map_err(|error| StoreError::Backend(format!("cannot encode a text list: {error}")))?;
        Ok(query.bind(json))
    }
}

impl Columns for SqliteRow {
    fn column<T: crate::backend::Column>(&self, name: &str) -> StoreResult<T> {
        self.try_get(name).map_err(database_error)
    }
}

impl RowsAffected for SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        SqliteQueryResult::rows_affected(self)
    }
}

impl Type<Sqlite> for StoredId {
    fn type_info() -> SqliteTypeInfo {
        <Hyphenated as Type<Sqlite>>::type_info()
    }

    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <str as Type<Sqlite>>::compatible(ty)
    }
}

impl Encode<'_, Sqlite> for StoredId {
    fn encode_by_ref(&self, buf: &mut SqliteArgumentsBuffer) -> Result<IsNull, BoxDynError> {
        Encode::<Sqlite>::encode(self.0.hyphenated(), buf)
    }
}

impl Decode<'_, Sqlite> for StoredId {
    fn decode(value: SqliteValueRef<'_>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<Sqlite>>::decode(value)?;
        Ok(Self(
            Uuid::parse_str(text).map_err(|_| format!("malformed id {text:?}"))?,
        ))
    }
}

impl Type<Sqlite> for StoredTime {
    fn type_info() -> SqliteTypeInfo {
        <str as Type<Sqlite>>::type_info()
    }

    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <str as Type<Sqlite>>::compatible(ty)
    }
}

impl Encode<'_, Sqlite> for StoredTime {
    fn encode_by_ref(&self, buf: &mut SqliteArgumentsBuffer) -> Result<IsNull, BoxDynError> {
        Encode::<Sqlite>::encode(to_storage_precision(self.0).format(TIME_FORMAT)?, buf)
    }
}

/// Reads any RFC 3339 text (the fixed-width form, and the shorter forms schema versions before 6
/// wrote) as a UTC time.
impl Decode<'_, Sqlite> for StoredTime {
    fn decode(value: SqliteValueRef<'_>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<Sqlite>>::decode(value)?;
        let time = OffsetDateTime::parse(text, &Rfc3339)
            .map_err(|_| format!("malformed time {text:?}"))?;
        Ok(Self(time.to_offset(UtcOffset::UTC)))
    }
}
