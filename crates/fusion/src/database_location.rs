//! Where the database and the secret key live, worked out once from `--database-url`,
//! `--data-dir` and their environment fallbacks.
//!
//! Rules: with no database URL, SQLite at `<data dir>/fusion.db`. The key file `fusion.key` sits
//! beside the SQLite file; for PostgreSQL it sits in the data directory (several workers must
//! then share one key, so set `FUSION_SECRET_KEY` on all of them).

use std::path::{Path, PathBuf};

use crate::cli::DatabaseArgs;
use crate::exit_status::InvalidInput;

/// The name of the key file that encrypts stored API secrets.
pub const KEY_FILE_NAME: &str = "fusion.key";

/// The resolved places: what `fusion_store::open` and `SecretKey::from_env_or_file` need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseLocation {
    pub database_url: String,
    pub key_file: PathBuf,
    /// The SQLite file, when the database is SQLite (its directory must exist before opening).
    pub sqlite_file: Option<PathBuf>,
    /// Start even with a key file other users may read (`FUSION_ALLOW_READABLE_KEY_FILE`).
    pub allow_readable_key_file: bool,
}

impl DatabaseLocation {
    pub fn resolve(args: &DatabaseArgs) -> Result<Self, InvalidInput> {
        let mut location = Self::resolve_places(args)?;
        if let Some(key_file) = &args.secret_key_file {
            if key_file.as_os_str().is_empty() || key_file.is_dir() {
                return Err(InvalidInput(format!(
                    "FUSION_SECRET_KEY_FILE must name a file, not {:?}; e.g. /etc/fusion/fusion.key",
                    key_file.display()
                )));
            }
            location.key_file = key_file.clone();
        }
        location.allow_readable_key_file = args.allow_readable_key_file.unwrap_or(false);
        Ok(location)
    }

    fn resolve_places(args: &DatabaseArgs) -> Result<Self, InvalidInput> {
        let data_dir = args.data_dir.clone().unwrap_or_else(|| PathBuf::from("."));
        match args.database_url.as_deref().map(str::trim) {
            None | Some("") => Ok(Self::sqlite_in(&data_dir)),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(Self {
                    database_url: url.to_owned(),
                    key_file: data_dir.join(KEY_FILE_NAME),
                    sqlite_file: None,
                    allow_readable_key_file: false,
                })
            }
            Some(url) => match sqlite_path(url) {
                Some(file) => {
                    let directory = match file.parent() {
                        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
                        _ => PathBuf::from("."),
                    };
                    Ok(Self {
                        database_url: url.to_owned(),
                        key_file: directory.join(KEY_FILE_NAME),
                        sqlite_file: Some(file),
                        allow_readable_key_file: false,
                    })
                }
                None => Err(InvalidInput(format!(
                    "the database URL {:?} is not one Support Fusion can use; use sqlite://PATH (e.g. sqlite://./fusion.db) or postgres://USER@HOST/DATABASE",
                    redact_url_password(url)
                ))),
            },
        }
    }

    /// SQLite in `directory`: `directory/fusion.db` and `directory/fusion.key`.
    pub fn sqlite_in(directory: &Path) -> Self {
        let file = directory.join("fusion.db");
        Self {
            database_url: format!("sqlite://{}", file.display()),
            key_file: directory.join(KEY_FILE_NAME),
            sqlite_file: Some(file),
            allow_readable_key_file: false,
        }
    }

    /// Creates the SQLite file's directory (and the key file's), so a first start in a fresh
    /// place works. A directory created here is private to this user (0700): it will hold the
    /// database and, by default, the key that decrypts its secrets.
    pub fn prepare(&self) -> std::io::Result<()> {
        for file in [self.sqlite_file.as_deref(), Some(self.key_file.as_path())]
            .into_iter()
            .flatten()
        {
            if let Some(parent) = file.parent()
                && !parent.as_os_str().is_empty()
                && !parent.exists()
            {
                create_private_dir_all(parent)?;
            }
        }
        Ok(())
    }

    /// Refuses a key file that other users of this machine may read or write (a backup tool or
    /// a careless `cp` may have widened it), unless `allow_readable_key_file` says otherwise.
    pub fn check_key_file_permissions(&self) -> Result<(), InvalidInput> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if let Ok(metadata) = std::fs::metadata(&self.key_file) {
                let mode = metadata.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    if self.allow_readable_key_file {
                        tracing::warn!(
                            path = %self.key_file.display(),
                            mode = format!("{mode:o}"),
                            "the secret key file is readable by other users; starting anyway because FUSION_ALLOW_READABLE_KEY_FILE=true"
                        );
                    } else {
                        return Err(InvalidInput(format!(
                            "the secret key file {} has mode {mode:o}: other users of this machine can read the key that decrypts every stored API secret. \
                             Restrict it with `chmod 600 {}` (and keep it owned by the user running Support Fusion), \
                             or set FUSION_ALLOW_READABLE_KEY_FILE=true to start anyway",
                            self.key_file.display(),
                            self.key_file.display()
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    /// The URL as it may appear in logs: a PostgreSQL password is replaced by `***`.
    pub fn display_url(&self) -> String {
        redact_url_password(&self.database_url)
    }
}

/// `create_dir_all` with mode 0700 for every directory it creates (unix).
pub fn create_private_dir_all(path: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)
}

/// The file named by `sqlite://PATH`, `sqlite:PATH` or `sqlite:///ABSOLUTE`, without `?options`.
fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    Some(PathBuf::from(path))
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`; anything else unchanged.
pub(crate) fn redact_url_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // Cannot fail for URLs that already carry a password.
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(database_url: Option<&str>, data_dir: Option<&str>) -> DatabaseArgs {
        DatabaseArgs {
            database_url: database_url.map(str::to_owned),
            data_dir: data_dir.map(PathBuf::from),
            secret_key_file: None,
            allow_readable_key_file: None,
        }
    }

    #[test]
    fn no_url_means_sqlite_in_the_data_directory_with_the_key_beside_it() {
        let location =
            DatabaseLocation::resolve(&args(None, Some("/var/lib/fusion"))).expect("valid");
        assert_eq!(location.database_url, "sqlite:///var/lib/fusion/fusion.db");
        assert_eq!(
            location.key_file,
            PathBuf::from("/var/lib/fusion/fusion.key")
        );
    }

    #[test]
    fn the_key_file_sits_beside_an_explicit_sqlite_file() {
        let location =
            DatabaseLocation::resolve(&args(Some("sqlite://./data/app.db?mode=rwc"), None))
                .expect("valid");
        assert_eq!(location.key_file, PathBuf::from("./data/fusion.key"));
        assert_eq!(location.sqlite_file, Some(PathBuf::from("./data/app.db")));
        let bare = DatabaseLocation::resolve(&args(Some("sqlite:app.db"), None)).expect("valid");
        assert_eq!(bare.key_file, PathBuf::from("./fusion.key"));
    }

    #[test]
    fn postgres_keeps_the_key_in_the_data_directory_and_hides_the_password_in_logs() {
        let location = DatabaseLocation::resolve(&args(
            Some("postgres://fusion:hunter2@db/fusion"),
            Some("/srv"),
        ))
        .expect("valid");
        assert_eq!(location.key_file, PathBuf::from("/srv/fusion.key"));
        assert!(!location.display_url().contains("hunter2"));
    }

    #[test]
    fn other_schemes_are_rejected_with_the_accepted_forms() {
        let error = DatabaseLocation::resolve(&args(Some("mysql://root:pw@db/x"), None))
            .expect_err("rejected");
        assert!(error.0.contains("sqlite://PATH"));
        assert!(!error.0.contains(":pw@"));
    }
}
