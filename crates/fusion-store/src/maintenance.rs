//! Operator maintenance on the database as a whole: the schema version this binary knows, the
//! SQLite online backup (`VACUUM INTO`, a consistent snapshot while the server runs) and the
//! SQLite restore (checked, copied into place atomically, the previous file kept), and key
//! rotation on disk ([`rotate_key_file`]) around the store's [`crate::Store::reencrypt_secrets`].
//!
//! PostgreSQL has no backup or restore here on purpose: `pg_dump` and `pg_restore` do it better.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::crypto::{PENDING_KEY_SUFFIX, PREVIOUS_KEY_SUFFIX, key_file_sibling};
use crate::migrations::{
    MIGRATIONS_TABLE, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS, refuse_newer_schema,
};
use crate::{DatabaseKind, SecretKey, SecretKeyError, Store, StoreError};

/// The suffix of the copy of the previous database a restore keeps: `fusion.db.before-restore`.
pub const BEFORE_RESTORE_SUFFIX: &str = "before-restore";

/// How long a restore waits for the target database's lock before calling it in use.
const IN_USE_WAIT: Duration = Duration::from_millis(500);

/// The newest schema version this binary migrates a database of `kind` to.
pub fn binary_schema_version(kind: DatabaseKind) -> i64 {
    crate::migrations::binary_schema_version(match kind {
        DatabaseKind::Sqlite => SQLITE_MIGRATIONS,
        DatabaseKind::Postgres => POSTGRES_MIGRATIONS,
    })
}

/// Why a backup or restore did not happen. Messages name the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum MaintenanceError {
    #[error("{} already exists; choose another file, or pass --force to overwrite it", path.display())]
    DestinationExists { path: PathBuf },
    #[error("{} is not a Support Fusion database: {reason}", path.display())]
    NotAFusionDatabase { path: PathBuf, reason: String },
    #[error(
        "the database {} is in use (another process has it open); stop the Support Fusion server first, then restore",
        path.display()
    )]
    InUse { path: PathBuf },
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] SecretKeyError),
}

impl MaintenanceError {
    /// Whether the operator's input (a file name, an existing file, a newer schema) is the
    /// problem, rather than the machine.
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            MaintenanceError::DestinationExists { .. }
                | MaintenanceError::NotAFusionDatabase { .. }
                | MaintenanceError::InUse { .. }
                | MaintenanceError::Store(StoreError::SchemaTooNew { .. })
                | MaintenanceError::Key(
                    SecretKeyError::NotBase64 { .. }
                        | SecretKeyError::WrongLength { .. }
                        | SecretKeyError::Empty { .. }
                )
        )
    }
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> MaintenanceError {
    let path = path.to_owned();
    move |source| MaintenanceError::Io {
        action,
        path,
        source,
    }
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreOutcome {
    /// The schema version of the restored database (migrated further on the next start).
    pub schema_version: i64,
    /// Where the database that was replaced now is, if there was one.
    pub previous: Option<PathBuf>,
}

/// The schema version of a Support Fusion SQLite database file, opened read-only without
/// touching it. Fails with `NotAFusionDatabase` for a missing file, a file that is not SQLite or
/// an SQLite file without Support Fusion's tables, and with `SchemaTooNew` for a file written
/// by a newer binary.
pub async fn inspect_sqlite_database(path: &Path) -> Result<i64, MaintenanceError> {
    let not_fusion = |reason: &str| MaintenanceError::NotAFusionDatabase {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    if !path.is_file() {
        return Err(not_fusion("the file does not exist"));
    }
    let options = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .immutable(true)
        .create_if_missing(false);
    let mut connection = options
        .connect()
        .await
        .map_err(|_| not_fusion("it cannot be opened as an SQLite database"))?;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (?, 'platform_credentials')",
    )
    .bind(MIGRATIONS_TABLE)
    .fetch_all(&mut connection)
    .await
    .map_err(|_| not_fusion("it is not an SQLite database"))?;
    if tables.len() != 2 {
        return Err(not_fusion(
            "it has no Support Fusion tables (no migrations record or no credentials table)",
        ));
    }
    let version: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut connection)
            .await
            .map_err(|_| not_fusion("its migrations record cannot be read"))?;
    let _ = connection.close().await;
    let Some(version) = version else {
        return Err(not_fusion("no migration was ever applied to it"));
    };
    refuse_newer_schema(Some(version), SQLITE_MIGRATIONS)?;
    Ok(version)
}

/// Writes a consistent copy of the SQLite database `source` to `destination` with `VACUUM INTO`
/// (safe while the server runs: it reads one snapshot). The copy is written beside the
/// destination and renamed into place, so a failed backup never leaves a partial file under
/// the chosen name. Refuses an existing `destination` unless `overwrite`. Returns the schema
/// version of the copy.
pub async fn backup_sqlite(
    source: &Path,
    destination: &Path,
    overwrite: bool,
) -> Result<i64, MaintenanceError> {
    if destination.exists() && !overwrite {
        return Err(MaintenanceError::DestinationExists {
            path: destination.to_owned(),
        });
    }
    if !source.is_file() {
        return Err(MaintenanceError::NotAFusionDatabase {
            path: source.to_owned(),
            reason: "the file does not exist".to_owned(),
        });
    }
    let partial = sibling(destination, "partial");
    remove_if_present(&partial)?;
    let options = SqliteConnectOptions::new()
        .filename(source)
        .create_if_missing(false)
        .busy_timeout(Duration::from_secs(10));
    let mut connection = options.connect().await.map_err(|error| {
        StoreError::Backend(format!("cannot open the SQLite database: {error}"))
    })?;
    let result = sqlx::query("VACUUM INTO ?")
        .bind(partial.to_string_lossy().into_owned())
        .execute(&mut connection)
        .await;
    let _ = connection.close().await;
    if let Err(error) = result {
        let _ = std::fs::remove_file(&partial);
        return Err(StoreError::Backend(format!("the backup failed: {error}")).into());
    }
    let version = match inspect_sqlite_database(&partial).await {
        Ok(version) => version,
        Err(error) => {
            let _ = std::fs::remove_file(&partial);
            return Err(error);
        }
    };
    sync_file(&partial)?;
    std::fs::rename(&partial, destination).map_err(io_error("write", destination))?;
    sync_parent_folder(destination);
    Ok(version)
}

/// Replaces the SQLite database `target` with the backup file `backup`, after checking the
/// backup is a Support Fusion database this binary can run ([`inspect_sqlite_database`]).
///
/// The target must not be in use: a restore first switches it out of WAL mode, which SQLite
/// refuses while another connection has it open, and reports `InUse`. The previous database is
/// then copied to `<target>.before-restore` (replacing an older one), the backup is copied
/// beside the target, flushed to disk and renamed over it.
pub async fn restore_sqlite(
    backup: &Path,
    target: &Path,
) -> Result<RestoreOutcome, MaintenanceError> {
    let schema_version = inspect_sqlite_database(backup).await?;
    let previous = if target.exists() {
        settle_unused_database(target).await?;
        let previous = sibling(target, BEFORE_RESTORE_SUFFIX);
        std::fs::copy(target, &previous).map_err(io_error("keep a copy of", target))?;
        sync_file(&previous)?;
        Some(previous)
    } else {
        None
    };
    let partial = sibling(target, "restore-partial");
    remove_if_present(&partial)?;
    std::fs::copy(backup, &partial).map_err(io_error("copy", backup))?;
    sync_file(&partial)?;
    std::fs::rename(&partial, target).map_err(io_error("replace", target))?;
    // The old database's WAL files must not be replayed onto the restored one.
    for suffix in ["-wal", "-shm"] {
        let mut name = target.as_os_str().to_owned();
        name.push(suffix);
        remove_if_present(Path::new(&name))?;
    }
    sync_parent_folder(target);
    Ok(RestoreOutcome {
        schema_version,
        previous,
    })
}

/// Checkpoints `target` into its main file and leaves WAL mode (the next start turns it on
/// again), failing with `InUse` when another connection holds the database.
async fn settle_unused_database(target: &Path) -> Result<(), MaintenanceError> {
    let in_use = || MaintenanceError::InUse {
        path: target.to_owned(),
    };
    let options = SqliteConnectOptions::new()
        .filename(target)
        .create_if_missing(false)
        .busy_timeout(IN_USE_WAIT);
    let unusable = |error: sqlx::Error| {
        let text = error.to_string();
        if text.contains("locked") || text.contains("busy") {
            in_use()
        } else {
            StoreError::Backend(format!(
                "cannot prepare the database {} for the restore: {text}",
                target.display()
            ))
            .into()
        }
    };
    let mut connection = options.connect().await.map_err(unusable)?;
    let mode: Result<String, _> = sqlx::query_scalar("PRAGMA journal_mode = DELETE")
        .fetch_one(&mut connection)
        .await;
    let _ = connection.close().await;
    match mode {
        Ok(mode) if mode.eq_ignore_ascii_case("delete") => Ok(()),
        Ok(_) => Err(in_use()),
        Err(error) => Err(unusable(error)),
    }
}

/// `path` with `.suffix` appended to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

fn remove_if_present(path: &Path) -> Result<(), MaintenanceError> {
    match std::fs::remove_file(path) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => {
            Err(io_error("remove", path)(error))
        }
        _ => Ok(()),
    }
}

fn sync_file(path: &Path) -> Result<(), MaintenanceError> {
    std::fs::File::open(path)
        .and_then(|file| file.sync_all())
        .map_err(io_error("flush", path))
}

/// Makes a rename durable (best effort: not every platform can open a folder).
fn sync_parent_folder(path: &Path) {
    if let Some(parent) = path.parent() {
        let folder = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        if let Ok(folder) = std::fs::File::open(folder) {
            let _ = folder.sync_all();
        }
    }
}

/// What a key rotation did.
#[derive(Debug)]
pub struct KeyRotation {
    /// How many stored secrets are now sealed under the new key.
    pub reencrypted: u64,
    /// Whether an interrupted rotation's pending key was reused.
    pub resumed: bool,
    /// Where the key the rotation moved away from is kept (for backups taken before it).
    pub previous_key_file: PathBuf,
    /// The new key, also in `key_file` now.
    pub new_key: SecretKey,
}

/// `fusion keys rotate` on disk and in the database, in an order that never leaves a secret
/// without its key on disk and lets running servers follow (see [`crate::KeyRing`]):
///
/// 1. the new key is written to `<key_file>.new` (0600, flushed) — or an interrupted rotation's
///    one is reused;
/// 2. every stored secret is re-sealed under it in one transaction (opened with any key the
///    store knows, or the new one);
/// 3. the key moved away from (`current_key`, the store's configured key) is written to
///    `<key_file>.before-rotate`;
/// 4. `<key_file>.new` is renamed over `key_file`;
/// 5. the secrets are re-sealed once more, catching any a running server sealed under the old
///    key between steps 2 and 4, before it saw the new key file.
///
/// A run interrupted anywhere is finished by running it again.
pub async fn rotate_key_file(
    store: &dyn Store,
    key_file: &Path,
    current_key: &SecretKey,
) -> Result<KeyRotation, MaintenanceError> {
    let pending_path = key_file_sibling(key_file, PENDING_KEY_SUFFIX);
    let (new_key, resumed) = pending_key(&pending_path)?;
    let first_pass = store.reencrypt_secrets(&new_key).await?;

    let previous_key_file = key_file_sibling(key_file, PREVIOUS_KEY_SUFFIX);
    if !current_key.same_key_as(&new_key) {
        write_key_file_atomically(&previous_key_file, current_key)?;
    }
    std::fs::rename(&pending_path, key_file)
        .map_err(io_error("move the new key over", key_file))?;
    sync_parent_folder(key_file);

    let reencrypted = store.reencrypt_secrets(&new_key).await.unwrap_or_else(|error| {
        tracing::warn!(%error, "re-sealing the secrets a second time failed; the first pass sealed them all");
        first_pass
    });
    Ok(KeyRotation {
        reencrypted,
        resumed,
        previous_key_file,
        new_key,
    })
}

/// The key a rotation moves to: a left-over `fusion.key.new` from an interrupted run (`true`),
/// else a new key written there (0600, flushed) before anything else changes.
fn pending_key(path: &Path) -> Result<(SecretKey, bool), MaintenanceError> {
    if path.is_file() {
        let key = SecretKey::from_env_or_file(None, path)?;
        return Ok((key, true));
    }
    let key = SecretKey::generate();
    write_new_key_file(path, &key)?;
    sync_parent_folder(path);
    Ok((key, false))
}

/// Writes `key` to `path` through a partial file renamed into place (0600).
fn write_key_file_atomically(path: &Path, key: &SecretKey) -> Result<(), MaintenanceError> {
    let partial = sibling(path, "partial");
    remove_if_present(&partial)?;
    write_new_key_file(&partial, key)?;
    std::fs::rename(&partial, path).map_err(io_error("write", path))?;
    sync_parent_folder(path);
    Ok(())
}

fn write_new_key_file(path: &Path, key: &SecretKey) -> Result<(), MaintenanceError> {
    use secrecy::ExposeSecret;
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io_error("create", path))?;
    let encoded = key.to_base64();
    file.write_all(encoded.expose_secret().as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .and_then(|()| file.sync_all())
        .map_err(io_error("write", path))
}
