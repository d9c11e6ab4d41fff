//! The error every storage port answers with: the cases a caller branches on, and whether trying
//! again later may help. Database details stay in the message of `Backend`/`Unavailable` and in
//! the adapter's log.

/// Errors a caller can branch on. Database details stay in `Backend` and in the log.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("the stored secret cannot be decrypted with the configured key: {0}")]
    Crypto(String),
    #[error("database error: {0}")]
    Backend(String),
    /// The database could not be reached or was busy (pool exhausted, connection lost, lock
    /// contention, serialization failure). Trying again later may succeed.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error(
        "the database schema is newer than this binary (database version {database}, binary knows up to {binary}); upgrade Support Fusion"
    )]
    SchemaTooNew { database: i64, binary: i64 },
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
}

impl StoreError {
    /// Whether the same call may succeed if tried again later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unavailability_is_worth_retrying() {
        assert!(StoreError::Unavailable("pool timed out".into()).is_retryable());
        assert!(!StoreError::Backend("syntax error".into()).is_retryable());
        assert!(!StoreError::NotFound.is_retryable());
    }
}
