//! `fusion migrate`, `fusion backup`, `fusion restore` and `fusion keys rotate`: keeping the data
//! safe. Each resolves the database and key file the same way `serve` does.
//!
//! Key rotation never leaves a secret without a key on disk; the steps and their order are
//! `fusion_store::maintenance::rotate_key_file`'s. A run interrupted anywhere is finished by
//! running it again (an existing `fusion.key.new` is reused, and the store opens each secret with
//! the old or new key). Running servers follow the rotation without a restart (`KeyRing`).

use std::path::{Path, PathBuf};

use anyhow::Context;
use fusion_store::crypto::{PENDING_KEY_SUFFIX, key_file_sibling};
use fusion_store::maintenance::{
    MaintenanceError, backup_sqlite, binary_schema_version, restore_sqlite, rotate_key_file,
};
use fusion_store::{DatabaseKind, SecretKey, SecretKeyError};
use secrecy::{ExposeSecret, SecretString};

use crate::cli::{BackupArgs, KeysRotateArgs, MigrateArgs, RestoreArgs};
use crate::commands::serve::open_store;
use crate::config_file::ConfigFile;
use crate::database_location::DatabaseLocation;
use crate::exit_status::{Completion, InvalidInput};

fn resolve(
    config: &crate::cli::ConfigArgs,
    database: &crate::cli::DatabaseArgs,
) -> anyhow::Result<DatabaseLocation> {
    let file = ConfigFile::load(config.file.as_deref())?;
    Ok(DatabaseLocation::resolve(&file.database_args(database))?)
}

fn kind_of(location: &DatabaseLocation) -> DatabaseKind {
    if location.sqlite_file.is_some() {
        DatabaseKind::Sqlite
    } else {
        DatabaseKind::Postgres
    }
}

fn maintenance_error(error: MaintenanceError) -> anyhow::Error {
    if error.is_invalid_input() {
        InvalidInput(error.to_string()).into()
    } else {
        anyhow::Error::new(error)
    }
}

/// `fusion migrate`: applies pending migrations and prints the schema version.
pub async fn migrate(
    args: MigrateArgs,
    secret_key_from_environment: Option<SecretString>,
) -> anyhow::Result<Completion> {
    let location = resolve(&args.config, &args.database)?;
    let store = open_store(&location, secret_key_from_environment.as_ref()).await?;
    drop(store);
    println!(
        "The database {} is at schema version {}, the newest this binary knows.",
        location.display_url(),
        binary_schema_version(kind_of(&location))
    );
    Ok(Completion::Succeeded)
}

/// `fusion backup FILE`: an online SQLite backup; for PostgreSQL, how to use `pg_dump`.
pub async fn backup(args: BackupArgs) -> anyhow::Result<Completion> {
    let location = resolve(&args.config, &args.database)?;
    let Some(database_file) = location.sqlite_file.as_deref() else {
        return Err(InvalidInput(format!(
            "the database {} is PostgreSQL: back it up with its own tools, e.g. \
             `pg_dump --format=custom --file {} \"$FUSION_DATABASE_URL\"` (restore with `pg_restore --clean --dbname …`). \
             Back up the key file {} (or FUSION_SECRET_KEY) separately: without it the stored API secrets cannot be read.",
            location.display_url(),
            args.file.display(),
            location.key_file.display()
        ))
        .into());
    };
    let version = backup_sqlite(database_file, &args.file, args.force)
        .await
        .map_err(maintenance_error)?;
    println!(
        "Backed up {} (schema version {version}) to {}.",
        database_file.display(),
        args.file.display()
    );
    println!(
        "The backup does not contain the secret key: back up the key file {} (or FUSION_SECRET_KEY) separately, \
         and keep it apart from the database backup.",
        location.key_file.display()
    );
    Ok(Completion::Succeeded)
}

/// `fusion restore FILE`: replaces the SQLite database with a backup (server stopped).
pub async fn restore(args: RestoreArgs) -> anyhow::Result<Completion> {
    let location = resolve(&args.config, &args.database)?;
    let Some(database_file) = location.sqlite_file.as_deref() else {
        return Err(InvalidInput(format!(
            "the database {} is PostgreSQL: restore a `pg_dump` file with `pg_restore --clean --dbname …`",
            location.display_url()
        ))
        .into());
    };
    location
        .prepare()
        .with_context(|| format!("cannot create the directory for {}", location.display_url()))?;
    let outcome = restore_sqlite(&args.file, database_file)
        .await
        .map_err(maintenance_error)?;
    println!(
        "Restored {} (schema version {}) into {}.",
        args.file.display(),
        outcome.schema_version,
        database_file.display()
    );
    if let Some(previous) = &outcome.previous {
        println!(
            "The database it replaced is kept as {}.",
            previous.display()
        );
    }
    println!(
        "Start the server with the key that was in use when the backup was taken (key file {} or FUSION_SECRET_KEY); \
         it migrates the database to this binary's schema on start.",
        location.key_file.display()
    );
    Ok(Completion::Succeeded)
}

/// `fusion keys rotate`: a new secret key, every stored secret re-sealed under it
/// ([`rotate_key_file`]); running servers that watch the key file follow without a restart.
pub async fn rotate(
    args: KeysRotateArgs,
    secret_key_from_environment: Option<SecretString>,
) -> anyhow::Result<Completion> {
    let location = resolve(&args.config, &args.database)?;
    let key_from_environment = secret_key_from_environment.is_some();
    if !key_from_environment && !location.key_file.is_file() {
        return Err(InvalidInput(format!(
            "there is no key file {} and FUSION_SECRET_KEY is not set: there is no key to rotate \
             (check --data-dir / --database-url)",
            location.key_file.display()
        ))
        .into());
    }
    let current_key = SecretKey::from_env_or_file(
        secret_key_from_environment
            .as_ref()
            .map(|key| key.expose_secret()),
        &location.key_file,
    )
    .map_err(key_error)?;
    // `open_store` reads the current key (environment or key file) the way `serve` does.
    let store = open_store(&location, secret_key_from_environment.as_ref()).await?;
    let rotation = rotate_key_file(store.as_ref(), &location.key_file, &current_key)
        .await
        .map_err(|error| match error {
            MaintenanceError::Store(_) => anyhow::Error::new(error).context(
                "cannot re-encrypt the stored secrets; nothing was changed, the current key still opens them all",
            ),
            other => maintenance_error(other).context(
                "the rotation stopped part-way; every secret still opens with a key on disk: run `fusion keys rotate` again to finish it",
            ),
        })?;
    drop(store);

    if rotation.resumed {
        println!(
            "Finished an interrupted rotation with the pending key {}.",
            sibling(&location.key_file, PENDING_KEY_SUFFIX).display()
        );
    }
    println!(
        "Re-encrypted {} stored secret(s) under a new key, now in {}.",
        rotation.reencrypted,
        location.key_file.display()
    );
    println!(
        "The previous key is kept in {} for backups taken before now; delete it once no such backup is needed.",
        rotation.previous_key_file.display()
    );
    if key_from_environment {
        println!(
            "FUSION_SECRET_KEY still holds the OLD key: set it to the content of {} (on every worker) \
             before the server starts again, or unset it to use the key file.",
            location.key_file.display()
        );
    }
    println!(
        "A running server using this key file picks the new key up by itself (no restart needed); \
         servers on other machines need the new key file (or FUSION_SECRET_KEY) and a restart. \
         Back up the new key file with the database."
    );
    if args.print_new_key {
        println!("{}", rotation.new_key.to_base64().expose_secret());
    }
    Ok(Completion::Succeeded)
}

fn key_error(error: SecretKeyError) -> anyhow::Error {
    match error {
        SecretKeyError::KeyFile { .. } => anyhow::Error::new(error),
        other => InvalidInput(other.to_string()).into(),
    }
}

/// `path` with `.suffix` appended to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    key_file_sibling(path, suffix)
}
