//! The optional TOML configuration file (`--config FILE` or `FUSION_CONFIG`) and the commented
//! example `fusion config example` prints.
//!
//! Precedence, highest first: command-line flags, `FUSION_*` environment variables (both resolved
//! by clap), this file, built-in defaults. Secrets are never read from this file: the key comes
//! from `FUSION_SECRET_KEY` or the key file, and a secret-looking setting is refused by name
//! without echoing its value.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::cli::DatabaseArgs;
use crate::exit_status::InvalidInput;

/// What the file may say. Unknown settings are refused so a typo is not silently ignored.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub listen: Option<SocketAddr>,
    pub database_url: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub secure_cookies: Option<bool>,
    #[serde(default)]
    pub autotask: AutotaskSection,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutotaskSection {
    pub integration_code: Option<String>,
}

/// Setting names that would hold a secret; refused with a pointer to where secrets go.
const SECRET_SETTINGS: &[&str] = &["secret_key", "secret", "api_secret", "password", "key"];

impl ConfigFile {
    /// The file at `path`, or the empty configuration when no file was given.
    pub fn load(path: Option<&Path>) -> Result<ConfigFile, InvalidInput> {
        let Some(path) = path else {
            return Ok(ConfigFile::default());
        };
        let text = std::fs::read_to_string(path).map_err(|error| {
            InvalidInput(format!(
                "cannot read the configuration file {}: {error}. Create one with `fusion config example > {}`",
                path.display(),
                path.display()
            ))
        })?;
        ConfigFile::parse(&text).map_err(|message| {
            InvalidInput(format!(
                "the configuration file {} {message}",
                path.display()
            ))
        })
    }

    /// Parses the file's text. Error messages name the setting and line, never a value.
    pub fn parse(text: &str) -> Result<ConfigFile, String> {
        if let Ok(table) = text.parse::<toml::Table>() {
            let mut tables = vec![("", &table)];
            if let Some(toml::Value::Table(autotask)) = table.get("autotask") {
                tables.push(("autotask.", autotask));
            }
            for (prefix, table) in tables {
                if let Some(name) = table
                    .keys()
                    .find(|name| SECRET_SETTINGS.contains(&name.as_str()))
                {
                    return Err(format!(
                        "sets {prefix}{name}, but secrets are never read from the configuration file. \
                         Remove it; the encryption key comes from FUSION_SECRET_KEY or the key file fusion.key, \
                         and Autotask secrets are entered in Settings"
                    ));
                }
            }
        }
        toml::from_str(text).map_err(|error| {
            let line = error.span().map(|span| {
                text.as_bytes()[..span.start.min(text.len())]
                    .iter()
                    .filter(|&&byte| byte == b'\n')
                    .count()
                    + 1
            });
            match line {
                Some(line) => format!("is not valid on line {line}: {}", error.message()),
                None => format!("is not valid: {}", error.message()),
            }
        })
    }

    /// The database arguments with this file filling what flags and environment left unset.
    pub fn database_args(&self, args: &DatabaseArgs) -> DatabaseArgs {
        DatabaseArgs {
            database_url: args
                .database_url
                .clone()
                .or_else(|| self.database_url.clone()),
            data_dir: args.data_dir.clone().or_else(|| self.data_dir.clone()),
        }
    }
}

/// `fusion config example`: every setting with its default and why you would change it.
pub const EXAMPLE: &str = r#"# Support Fusion configuration: `fusion serve --config fusion.toml` (or FUSION_CONFIG=fusion.toml).
# `fusion admin create` accepts the same --config, so both use the same database.
#
# Precedence: command-line flags, then FUSION_* environment variables, then this file, then the
# defaults shown here. Relative paths are relative to the working directory.
#
# Secrets never go in this file. The key that encrypts stored API secrets comes from
# FUSION_SECRET_KEY (base64, 32 bytes: `openssl rand -base64 32`) or from the key file fusion.key,
# created with mode 0600 on first start beside the SQLite database (in data_dir for PostgreSQL).
# Back the key up with the database: without it the stored API secrets cannot be decrypted.

# Address the web app listens on (FUSION_LISTEN). Put a TLS-terminating proxy in front for HTTPS.
listen = "127.0.0.1:8080"

# Where the SQLite database and the key file live (FUSION_DATA_DIR).
data_dir = "."

# The database (FUSION_DATABASE_URL): sqlite://PATH (default: fusion.db in data_dir) or
# postgres://USER@HOST/DATABASE when several workers share the load. Prefer giving a PostgreSQL
# password through FUSION_DATABASE_URL rather than writing it here.
# database_url = "sqlite://./fusion.db"

# Mark session cookies Secure (FUSION_SECURE_COOKIES). Set to true whenever users reach the app
# over HTTPS, directly or through a proxy; leave false only for plain http on localhost.
secure_cookies = false

[autotask]
# This deployment's Autotask integration code, the API tracking identifier
# (FUSION_AUTOTASK_INTEGRATION_CODE). An organisation may override it in Settings.
# integration_code = "YOURTRACKINGIDENTIFIER"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_printed_example_is_a_valid_configuration_with_the_defaults() {
        let config = ConfigFile::parse(EXAMPLE).expect("the example parses");
        assert_eq!(
            config.listen,
            Some(SocketAddr::from(([127, 0, 0, 1], 8080)))
        );
        assert_eq!(config.data_dir, Some(PathBuf::from(".")));
        assert_eq!(config.secure_cookies, Some(false));
        assert_eq!(config.database_url, None);
        assert_eq!(config.autotask.integration_code, None);
    }

    #[test]
    fn flags_and_environment_win_over_the_file() {
        let config =
            ConfigFile::parse("database_url = \"sqlite://file.db\"\ndata_dir = \"/from/file\"\n")
                .expect("valid");
        let from_flags = DatabaseArgs {
            database_url: Some("sqlite://flag.db".into()),
            data_dir: None,
        };
        let merged = config.database_args(&from_flags);
        assert_eq!(merged.database_url.as_deref(), Some("sqlite://flag.db"));
        assert_eq!(merged.data_dir, Some(PathBuf::from("/from/file")));
    }

    #[test]
    fn a_secret_in_the_file_is_refused_by_name_without_echoing_it() {
        let error =
            ConfigFile::parse("secret_key = \"c2VjcmV0c2VjcmV0c2VjcmV0\"\n").expect_err("refused");
        assert!(error.contains("secret_key"), "{error}");
        assert!(error.contains("FUSION_SECRET_KEY"), "{error}");
        assert!(!error.contains("c2VjcmV0"), "{error}");
        let nested = ConfigFile::parse("[autotask]\napi_secret = \"hunter2hunter2\"\n")
            .expect_err("refused");
        assert!(
            nested.contains("autotask.api_secret") && !nested.contains("hunter2"),
            "{nested}"
        );
    }

    #[test]
    fn a_typo_is_refused_with_its_line_and_without_the_value() {
        let error = ConfigFile::parse("listen = \"127.0.0.1:9000\"\nsecure_cookie = true\n")
            .expect_err("refused");
        assert!(error.contains("line 2"), "{error}");
        assert!(error.contains("secure_cookie"), "{error}");
        let bad_value = ConfigFile::parse("listen = \"not-an-address-zq\"\n").expect_err("refused");
        assert!(bad_value.contains("line 1"), "{bad_value}");
    }
}
