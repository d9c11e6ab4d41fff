//! The schema migrations compiled into the binary, one list per backend, and the rule that a
//! binary refuses a database whose schema is newer than it knows.
//!
//! Why sqlx's [`Migrator`] fed from `include_str!` (and not `sqlx::migrate!` or an own runner):
//! `migrate!` needs sqlx's `macros` feature, which compiles every database driver a second time
//! for the proc-macro; an own runner would have to redo what `Migrator` already gets right —
//! checksums that catch an edited migration, a "dirty" marker for one that failed half-way, and
//! on PostgreSQL an advisory lock so several workers starting together migrate once. The price
//! is that each new file must be listed below; a unit test fails when a file is not.
//!
//! Migrations are forward-only. `_sqlx_migrations` (sqlx's table) records what ran.

use std::borrow::Cow;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use crate::{StoreError, StoreResult};

/// One embedded migration: version, description, SQL.
pub(crate) type EmbeddedMigration = (i64, &'static str, &'static str);

pub(crate) const SQLITE_MIGRATIONS: &[EmbeddedMigration] = &[
    (
        1,
        "initial",
        include_str!("../migrations/sqlite/0001_initial.sql"),
    ),
    (
        2,
        "relationships",
        include_str!("../migrations/sqlite/0002_relationships.sql"),
    ),
    (
        3,
        "sync",
        include_str!("../migrations/sqlite/0003_sync.sql"),
    ),
    (
        4,
        "sync_schedules",
        include_str!("../migrations/sqlite/0004_sync_schedules.sql"),
    ),
    (
        5,
        "privacy",
        include_str!("../migrations/sqlite/0005_privacy.sql"),
    ),
    (
        6,
        "portable_columns",
        include_str!("../migrations/sqlite/0006_portable_columns.sql"),
    ),
    (
        7,
        "attention",
        include_str!("../migrations/sqlite/0007_attention.sql"),
    ),
    (
        8,
        "security",
        include_str!("../migrations/sqlite/0008_security.sql"),
    ),
    (
        9,
        "notifications",
        include_str!("../migrations/sqlite/0009_notifications.sql"),
    ),
    (
        10,
        "webhooks",
        include_str!("../migrations/sqlite/0010_webhooks.sql"),
    ),
    (
        11,
        "api_budget",
        include_str!("../migrations/sqlite/0011_api_budget.sql"),
    ),
];

pub(crate) const POSTGRES_MIGRATIONS: &[EmbeddedMigration] = &[
    (
        1,
        "initial",
        include_str!("../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        "relationships",
        include_str!("../migrations/postgres/0002_relationships.sql"),
    ),
    (
        3,
        "sync",
        include_str!("../migrations/postgres/0003_sync.sql"),
    ),
    (
        4,
        "sync_schedules",
        include_str!("../migrations/postgres/0004_sync_schedules.sql"),
    ),
    (
        5,
        "privacy",
        include_str!("../migrations/postgres/0005_privacy.sql"),
    ),
    (
        6,
        "portable_columns",
        include_str!("../migrations/postgres/0006_portable_columns.sql"),
    ),
    (
        7,
        "attention",
        include_str!("../migrations/postgres/0007_attention.sql"),
    ),
    (
        8,
        "security",
        include_str!("../migrations/postgres/0008_security.sql"),
    ),
    (
        9,
        "notifications",
        include_str!("../migrations/postgres/0009_notifications.sql"),
    ),
    (
        10,
        "webhooks",
        include_str!("../migrations/postgres/0010_webhooks.sql"),
    ),
    (
        11,
        "api_budget",
        include_str!("../migrations/postgres/0011_api_budget.sql"),
    ),
];

/// The table sqlx keeps applied migrations in.
pub(crate) const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

pub(crate) fn migrator(migrations: &'static [EmbeddedMigration]) -> Migrator {
    Migrator::with_migrations(
        migrations
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// The newest schema version this binary can run on.
pub(crate) fn binary_schema_version(migrations: &[EmbeddedMigration]) -> i64 {
    migrations
        .iter()
        .map(|&(version, _, _)| version)
        .max()
        .unwrap_or(0)
}

/// `SchemaTooNew` when the database has seen a migration this binary does not have.
pub(crate) fn refuse_newer_schema(
    database_version: Option<i64>,
    migrations: &[EmbeddedMigration],
) -> StoreResult<()> {
    let binary = binary_schema_version(migrations);
    match database_version {
        Some(database) if database > binary => Err(StoreError::SchemaTooNew { database, binary }),
        _ => Ok(()),
    }
}

/// Turns a migration failure into a message for the operator.
pub(crate) fn migration_error(error: sqlx::migrate::MigrateError) -> StoreError {
    StoreError::Backend(format!("database migration failed: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files_in(backend: &str) -> Vec<String> {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend);
        let mut names: Vec<String> = std::fs::read_dir(&folder)
            .expect("migrations folder exists")
            .map(|entry| {
                entry
                    .expect("readable entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|name| name.ends_with(".sql"))
            .collect();
        names.sort();
        names
    }

    fn listed(migrations: &[EmbeddedMigration]) -> Vec<String> {
        migrations
            .iter()
            .map(|&(version, description, _)| format!("{version:04}_{description}.sql"))
            .collect()
    }

    #[test]
    fn every_migration_file_is_embedded_in_order() {
        assert_eq!(listed(SQLITE_MIGRATIONS), files_in("sqlite"));
        assert_eq!(listed(POSTGRES_MIGRATIONS), files_in("postgres"));
    }

    #[test]
    fn both_backends_reach_the_same_schema_version() {
        assert_eq!(
            binary_schema_version(SQLITE_MIGRATIONS),
            binary_schema_version(POSTGRES_MIGRATIONS)
        );
    }

    #[test]
    fn a_database_ahead_of_the_binary_is_refused() {
        let binary = binary_schema_version(SQLITE_MIGRATIONS);
        assert!(refuse_newer_schema(None, SQLITE_MIGRATIONS).is_ok());
        assert!(refuse_newer_schema(Some(binary), SQLITE_MIGRATIONS).is_ok());
        assert!(matches!(
            refuse_newer_schema(Some(binary + 1), SQLITE_MIGRATIONS),
            Err(StoreError::SchemaTooNew { .. })
        ));
    }
}
