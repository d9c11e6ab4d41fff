//! What the shared SQL needs of a database, in one place: the [`Backend`] trait (implemented for
//! SQLite in `sqlite.rs` and for PostgreSQL in `postgres.rs`) and the two value codecs whose
//! stored form differs between them, [`StoredId`] and [`StoredTime`].
//!
//! Every query is written once, in [`crate::sql_store`], with `$N` placeholders (both databases
//! accept them) and generic over `B: Backend`. What the databases really do differently is a
//! member of the trait: how a read-then-write transaction begins, how such a transaction locks the
//! rows it read, how a list of texts is bound, and the migrations.
//!
//! Why values are bound with [`Bind::bind_value`] rather than sqlx's `bind`: code generic over a
//! driver can only call `bind` after proving `T: Encode<B>` for each value type, which Rust cannot
//! carry with `B: Backend` (a trait's `where` clauses about other types are not implied). A
//! [`Param`] is a value both drivers encode, so each backend binds it with plain `bind`, and the
//! shared code needs nothing but `B: Backend`. Reading rows goes the same way ([`Columns`]).

use std::future::Future;

use fusion_domain::ids::{Id, IdKind};
use sqlx::query::Query;
use sqlx::{
    AssertSqlSafe, Database, Decode, Encode, Executor, IntoArguments, Pool, Postgres, Sqlite,
    Transaction, Type,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::StoreResult;
use crate::migrations::EmbeddedMigration;

/// A value both drivers bind as it is (text, numbers, flags, bytes, JSON, the codecs below, and
/// `Option`s of them for NULL).
pub(crate) trait Param<'t>:
    Encode<'t, Sqlite> + Type<Sqlite> + Encode<'t, Postgres> + Type<Postgres> + Send
{
}

impl<'t, T> Param<'t> for T where
    T: Encode<'t, Sqlite> + Type<Sqlite> + Encode<'t, Postgres> + Type<Postgres> + Send
{
}

/// A value both drivers read from a column as it is.
pub(crate) trait Column:
    for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres>
{
}

impl<T> Column for T where
    T: for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres>
{
}

/// An id as stored: hyphenated UUID text on SQLite (readable in the `sqlite3` shell), `UUID` on
/// PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StoredId(pub(crate) Uuid);

impl From<Uuid> for StoredId {
    fn from(uuid: Uuid) -> Self {
        Self(uuid)
    }
}

impl<K: IdKind> From<Id<K>> for StoredId {
    fn from(id: Id<K>) -> Self {
        Self(id.as_uuid())
    }
}

/// A time as stored, always in UTC and cut to the microsecond (see [`crate::timestamps`]):
/// fixed-width text on SQLite, `YYYY-MM-DDTHH:MM:SS.ffffffZ`, so comparing and ordering the text
/// is comparing and ordering the times; `TIMESTAMPTZ` on PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StoredTime(pub(crate) OffsetDateTime);

/// The differences between the databases the shared queries run on. Implemented for
/// [`sqlx::Sqlite`] and [`sqlx::Postgres`] only.
pub(crate) trait Backend:
    Database<Arguments: IntoArguments<Self>, Row: Columns, QueryResult: RowsAffected>
{
    /// The migrations compiled into the binary for this database.
    const MIGRATIONS: &'static [EmbeddedMigration];

    /// A query answering `found` (a boolean): whether the table named by `$1` exists.
    const TABLE_EXISTS: &'static str;

    /// Appended to a `SELECT` inside a write transaction whose rows the transaction goes on to
    /// change (or whose existence it relies on). PostgreSQL: `FOR NO KEY UPDATE`, so two such
    /// transactions on one row serialise while inserts that merely reference the row go on.
    /// SQLite: nothing — [`Backend::begin_write`] already holds the database's one write lock.
    const ROW_LOCK: &'static str;

    /// Binds one value (`query.bind(value)` with the concrete driver; see the module comment).
    fn bind<'q, 't, T: Param<'t>>(
        query: Query<'q, Self, Self::Arguments>,
        value: T,
    ) -> Query<'q, Self, Self::Arguments>;

    /// The pool as an executor of one statement.
    fn pool(pool: &Pool<Self>) -> impl Executor<'_, Database = Self>;

    /// A transaction's connection as an executor.
    fn connection(connection: &mut Self::Connection) -> impl Executor<'_, Database = Self>;

    /// Begins a transaction that reads and then writes. SQLite: `BEGIN IMMEDIATE`, taking the
    /// write lock up front (a deferred transaction that upgrades later can fail with
    /// `SQLITE_BUSY` regardless of the busy timeout). PostgreSQL: a plain `BEGIN`; its reads lock
    /// with [`Backend::ROW_LOCK`].
    fn begin_write(
        pool: &Pool<Self>,
    ) -> impl Future<Output = StoreResult<Transaction<'static, Self>>> + Send;

    /// Applies [`Backend::MIGRATIONS`] not yet applied.
    fn run_migrations(pool: &Pool<Self>) -> impl Future<Output = StoreResult<()>> + Send;

    /// The SQL condition "`column` is one of the texts bound as parameter `parameter`" (one
    /// parameter however many texts: no statement-size or variable-count limit, and the SQL text
    /// stays constant), bound with [`Backend::bind_texts`].
    fn in_texts(column: &str, parameter: usize) -> String;

    /// Binds the texts an [`Backend::in_texts`] condition looks at.
    fn bind_texts<'q>(
        query: Query<'q, Self, Self::Arguments>,
        texts: Vec<String>,
    ) -> StoreResult<Query<'q, Self, Self::Arguments>>;

    /// `sql` with [`Backend::ROW_LOCK`] appended.
    fn locking(sql: &str) -> AssertSqlSafe<String> {
        AssertSqlSafe(format!("{sql}{}", Self::ROW_LOCK))
    }
}

/// Binding values to a query of any [`Backend`].
pub(crate) trait Bind: Sized {
    fn bind_value<'t, T: Param<'t>>(self, value: T) -> Self;

    fn bind_id(self, id: impl Into<StoredId>) -> Self {
        self.bind_value(id.into())
    }

    fn bind_optional_id(self, id: Option<impl Into<StoredId>>) -> Self {
        self.bind_value(id.map(Into::into))
    }

    fn bind_time(self, time: OffsetDateTime) -> Self {
        self.bind_value(StoredTime(time))
    }

    fn bind_optional_time(self, time: Option<OffsetDateTime>) -> Self {
        self.bind_value(time.map(StoredTime))
    }
}

impl<B: Backend> Bind for Query<'_, B, B::Arguments> {
    fn bind_value<'t, T: Param<'t>>(self, value: T) -> Self {
        B::bind(self, value)
    }
}

/// Reading a row of any [`Backend`] by column name; a missing column or an undecodable value is
/// a [`crate::StoreError::Backend`].
pub(crate) trait Columns {
    fn column<T: Column>(&self, name: &str) -> StoreResult<T>;

    fn uuid(&self, name: &str) -> StoreResult<Uuid> {
        self.column::<StoredId>(name).map(|id| id.0)
    }

    fn optional_uuid(&self, name: &str) -> StoreResult<Option<Uuid>> {
        self.column::<Option<StoredId>>(name)
            .map(|id| id.map(|id| id.0))
    }

    fn id<K: IdKind>(&self, name: &str) -> StoreResult<Id<K>> {
        self.uuid(name).map(Id::from_uuid)
    }

    fn optional_id<K: IdKind>(&self, name: &str) -> StoreResult<Option<Id<K>>> {
        self.optional_uuid(name).map(|uuid| uuid.map(Id::from_uuid))
    }

    fn time(&self, name: &str) -> StoreResult<OffsetDateTime> {
        self.column::<StoredTime>(name).map(|time| time.0)
    }

    fn optional_time(&self, name: &str) -> StoreResult<Option<OffsetDateTime>> {
        self.column::<Option<StoredTime>>(name)
            .map(|time| time.map(|time| time.0))
    }
}

/// How many rows a statement inserted, changed or deleted (each driver's result has this as an
/// inherent method; the trait lets the shared code ask).
pub(crate) trait RowsAffected {
    fn rows_affected(&self) -> u64;
}
