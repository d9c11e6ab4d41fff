//! `fusion migrate`, `fusion backup`, `fusion restore` and `fusion keys rotate`: keeping the data
//! safe. Each resolves the database and key file the same way `serve` does.
//!
//! Key rotation never leaves a secret without a key on disk: the new key is first written to
//! `fusion.key.new` (0600, flushed), then every stored secret is re-sealed under it in one
//! transaction, then the old key file is copied to `fusion.key.before-rotate` and the new one
//! renamed over `fusion.key`. A run interrupted anywhere is finished by running it again (an
//! existing `fusion.key.new` is reused, and the store opens each secret with the old or new key).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use fusion_store::maintenance::{
    MaintenanceError, backup_sqlite, binary_schema_version, restore_sqlite,
};
use fusion_store::{DatabaseKind, SecretKey, SecretKeyError};
use secrecy::{ExposeSecret, SecretString};

use crate::cli::{BackupArgs, KeysRotateArgs, MigrateArgs, RestoreArgs};
use crate::commands::serve::open_store;
use crate::config_file::ConfigFile;
use crate::database_location::DatabaseLocation;
use crate::exit_status::{Completion, InvalidInput};

/// The suffix of the key file a rotation writes before it touches the database.
const PENDING_KEY_SUFFIX: &str = "new";
/// The suffix of the copy of the previous key a rotation keeps (for older backups).
const PREVIOUS_KEY_SUFFIX: &str = "before-rotate";

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

/// `fusion keys rotate`: a new secret key, every stored secret re-sealed under it.
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
    let pending_path = sibling(&location.key_file, PENDING_KEY_SUFFIX);
    let (new_key, resumed) = pending_key(&pending_path)?;
    // `open_store` reads the current key (environment or key file) the way `serve` does.
    let store = open_store(&location, secret_key_from_environment.as_ref()).await?;
    let count = store
        .reencrypt_secrets(&new_key)
        .await
        .context("cannot re-encrypt the stored secrets; nothing was changed, the current key still opens them all")?;
    drop(store);

    let previous_path = sibling(&location.key_file, PREVIOUS_KEY_SUFFIX);
    if location.key_file.is_file() {
        std::fs::copy(&location.key_file, &previous_path).with_context(|| {
            format!(
                "cannot keep the previous key as {}; the secrets are already sealed under the new key in {}: \
                 run `fusion keys rotate` again",
                previous_path.display(),
                pending_path.display()
            )
        })?;
    }
    std::fs::rename(&pending_path, &location.key_file).with_context(|| {
        format!(
            "cannot move the new key {} to {}; the secrets are sealed under the new key: move it by hand or run `fusion keys rotate` again",
            pending_path.display(),
            location.key_file.display()
        )
    })?;
    sync_parent_folder(&location.key_file);

    if resumed {
        println!(
            "Finished an interrupted rotation with the pending key {}.",
            pending_path.display()
        );
    }
    println!(
        "Re-encrypted {count} stored secret(s) under a new key, now in {}.",
        location.key_file.display()
    );
    if previous_path.is_file() {
        println!(
            "The previous key is kept in {} for backups taken before now; delete it once no such backup is needed.",
            previous_path.display()
        );
    }
    if key_from_environment {
        println!(
            "FUSION_SECRET_KEY still holds the OLD key: set it to the content of {} (on every worker) \
             before the server starts again, or unset it to use the key file.",
            location.key_file.display()
        );
    }
    println!(
        "Restart a running server so it uses the new key, and back up the new key file with the database."
    );
    if args.print_new_key {
        println!("{}", new_key.to_base64().expose_secret());
    }
    Ok(Completion::Succeeded)
}

/// The key a rotation moves to: a left-over `fusion.key.new` from an interrupted run (`true`),
/// else a new key written there (0600, flushed) before anything else changes.
fn pending_key(path: &Path) -> anyhow::Result<(SecretKey, bool)> {
    if path.is_file() {
        let key = SecretKey::from_env_or_file(None, path).map_err(key_error)?;
        return Ok((key, true));
    }
    let key = SecretKey::generate();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create the new key file {}", path.display()))?;
    let encoded = key.to_base64();
    file.write_all(encoded.expose_secret().as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write the new key file {}", path.display()))?;
    sync_parent_folder(path);
    Ok((key, false))
}

fn key_error(error: SecretKeyError) -> anyhow::Error {
    match error {
        SecretKeyError::KeyFile { .. } => anyhow::Error::new(error),
        other => InvalidInput(other.to_string()).into(),
    }
}

/// `path` with `.suffix` appended to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

/// Makes a rename durable (best effort).
fn sync_parent_folder(path: &Path) {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if let Ok(folder) = std::fs::File::open(folder) {
        let _ = folder.sync_all();
    }
}
