//! What a driver error means to a caller of the store: not found, a conflict, a transient
//! unavailability worth retrying, or a plain backend failure. Driver messages never contain
//! bound values, so no secret can leak through them.

use crate::StoreError;

/// SQLite's primary result codes for "another connection holds the lock".
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;

/// PostgreSQL SQLSTATEs after which the same statement may well succeed: serialization failure,
/// deadlock, too many connections, and the server shutting down or restarting.
const POSTGRES_TRANSIENT_STATES: &[&str] = &["40001", "40P01", "53300", "57P01", "57P02", "57P03"];

pub(crate) fn database_error(error: sqlx::Error) -> StoreError {
    match error {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => StoreError::Unavailable(error.to_string()),
        sqlx::Error::Database(ref database) if is_transient(database.as_ref()) => {
            StoreError::Unavailable(error.to_string())
        }
        other => StoreError::Backend(other.to_string()),
    }
}

/// An insert's constraint failure: a unique violation is a `Conflict` with `conflict_message`,
/// a foreign-key violation means the row it points at does not exist (`NotFound`).
pub(crate) fn insert_error(error: sqlx::Error, conflict_message: &str) -> StoreError {
    if let sqlx::Error::Database(database) = &error {
        if database.is_unique_violation() {
            return StoreError::Conflict(conflict_message.to_owned());
        }
        if database.is_foreign_key_violation() {
            return StoreError::NotFound;
        }
    }
    database_error(error)
}

fn is_transient(error: &dyn sqlx::error::DatabaseError) -> bool {
    let Some(code) = error.code() else {
        return false;
    };
    if error
        .try_downcast_ref::<sqlx::sqlite::SqliteError>()
        .is_some()
    {
        // SQLite reports its extended result code as a number; the low byte is the primary code.
        return code
            .parse::<i64>()
            .is_ok_and(|extended| matches!(extended & 0xff, SQLITE_BUSY | SQLITE_LOCKED));
    }
    POSTGRES_TRANSIENT_STATES.contains(&code.as_ref())
}
