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
    #[serde(default)]
    pub notifications: NotificationsSection,
}

/// `[notifications]`: the SMTP server notification email goes through, the webhook hosts
/// allowed to be internal addresses, and when the notifier speaks up. The SMTP password is
/// never here: `FUSION_SMTP_PASSWORD` or the file named by `smtp_password_file`.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationsSection {
    pub smtp_host: Option<String>,
    pub smtp_port: Option<u16>,
    pub smtp_security: Option<String>,
    pub smtp_username: Option<String>,
    pub smtp_password_file: Option<PathBuf>,
    pub smtp_from: Option<String>,
    pub webhook_allow_hosts: Option<Vec<String>>,
    pub not_synced_intervals: Option<u32>,
    pub budget_warning_percent: Option<u32>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutotaskSection {
    pub integration_code: Option<String>,
}

/// Setting names that would hold a secret; refused with a pointer to where secrets go.
const SECRET_SETTINGS: &[&str] = &[
    "secret_key",
    "secret",
    "api_secret",
    "password",
    "key",
    "smtp_password",
];

/// Every setting the file may hold, by its dotted name (a test checks each one parses).
pub const FILE_SETTINGS: &[&str] = &[
    "listen",
    "database_url",
    "data_dir",
    "secure_cookies",
    "autotask.integration_code",
    "notifications.smtp_host",
    "notifications.smtp_port",
    "notifications.smtp_security",
    "notifications.smtp_username",
    "notifications.smtp_password_file",
    "notifications.smtp_from",
    "notifications.webhook_allow_hosts",
    "notifications.not_synced_intervals",
    "notifications.budget_warning_percent",
];

/// The sections of the file, besides its top level.
const SECTIONS: &[&str] = &["autotask", "notifications"];

/// What is wrong with a configuration file: the setting (dotted, e.g. `autotask.integration_code`)
/// and line when known, and why. Never holds a value from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub key: Option<String>,
    pub line: Option<usize>,
    pub reason: String,
}

impl ConfigProblem {
    /// `<file>: <key> (line N): <reason>`, leaving out what is not known.
    pub fn describe(&self, file: &Path) -> String {
        let mut text = format!("{}:", file.display());
        if let Some(key) = &self.key {
            text.push(' ');
            text.push_str(key);
        }
        if let Some(line) = self.line {
            text.push_str(&format!(" (line {line})"));
        }
        text.push_str(": ");
        text.push_str(&self.reason);
        text
    }
}

impl ConfigFile {
    /// The file at `path`, or the empty configuration when no file was given.
    pub fn load(path: Option<&Path>) -> Result<ConfigFile, InvalidInput> {
        let Some(path) = path else {
            return Ok(ConfigFile::default());
        };
        Self::load_file(path).map_err(|problem| InvalidInput(problem.describe(path)))
    }

    /// The file at `path`, or what is wrong with it (including that it cannot be read).
    pub fn load_file(path: &Path) -> Result<ConfigFile, ConfigProblem> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigProblem {
            key: None,
            line: None,
            reason: format!(
                "cannot read the configuration file: {error}. Create one with `fusion config example > {}`",
                path.display()
            ),
        })?;
        ConfigFile::parse(&text)
    }

    /// Parses the file's text. Problems name the setting and line, never a value.
    pub fn parse(text: &str) -> Result<ConfigFile, ConfigProblem> {
        if let Ok(table) = text.parse::<toml::Table>() {
            let mut tables = vec![(String::new(), &table)];
            for section in SECTIONS {
                if let Some(toml::Value::Table(inner)) = table.get(*section) {
                    tables.push((format!("{section}."), inner));
                }
            }
            for (prefix, table) in &tables {
                if let Some(name) = table
                    .keys()
                    .find(|name| SECRET_SETTINGS.contains(&name.as_str()))
                {
                    return Err(ConfigProblem {
                        key: Some(format!("{prefix}{name}")),
                        line: line_of_setting(text, prefix, name),
                        reason: "secrets are never read from the configuration file. \
                         Remove it; the encryption key comes from FUSION_SECRET_KEY or the key file fusion.key, \
                         Autotask secrets are entered in Settings, and the SMTP password comes from \
                         FUSION_SMTP_PASSWORD or notifications.smtp_password_file"
                            .to_owned(),
                    });
                }
            }
            for (prefix, table) in &tables {
                for name in table.keys() {
                    let dotted = format!("{prefix}{name}");
                    let is_section = prefix.is_empty() && SECTIONS.contains(&name.as_str());
                    if is_section || FILE_SETTINGS.contains(&dotted.as_str()) {
                        continue;
                    }
                    let suggestion = closest(&dotted, FILE_SETTINGS.iter().copied())
                        .map(|known| format!("; did you mean {known}?"))
                        .unwrap_or_default();
                    return Err(ConfigProblem {
                        line: line_of_setting(text, prefix, name),
                        key: Some(dotted),
                        reason: format!(
                            "unknown setting{suggestion} (`fusion config example` lists every setting)"
                        ),
                    });
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
            ConfigProblem {
                key: line.and_then(|line| setting_on_line(text, line)),
                line,
                reason: error.message().to_owned(),
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
            secret_key_file: args.secret_key_file.clone(),
            allow_readable_key_file: args.allow_readable_key_file,
        }
    }
}

/// The line (1-based) that sets `name` in the section `prefix` (`""` or `"autotask."`).
fn line_of_setting(text: &str, prefix: &str, name: &str) -> Option<usize> {
    let mut section = String::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if let Some(header) = trimmed.strip_prefix('[') {
            section = format!("{}.", header.trim_end_matches(']').trim());
            continue;
        }
        if section.trim_start_matches('.') != prefix.trim_start_matches('.') {
            continue;
        }
        let key = trimmed
            .split('=')
            .next()
            .unwrap_or("")
            .trim()
            .trim_matches('"');
        if trimmed.contains('=') && key == name {
            return Some(index + 1);
        }
    }
    None
}

/// The dotted setting assigned on `line` (1-based), if that line assigns one.
fn setting_on_line(text: &str, line: usize) -> Option<String> {
    let mut section = String::new();
    for (index, content) in text.lines().enumerate() {
        let trimmed = content.trim();
        if let Some(header) = trimmed.strip_prefix('[') {
            section = format!("{}.", header.trim_end_matches(']').trim());
        }
        if index + 1 == line {
            let (key, _) = trimmed.split_once('=')?;
            let key = key.trim().trim_matches('"');
            return (!key.is_empty() && !key.starts_with('#')).then(|| format!("{section}{key}"));
        }
    }
    None
}

/// The candidate closest to `name` when it is close enough to be a likely typo.
pub fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|candidate| (edit_distance(name, candidate), candidate))
        .filter(|(distance, candidate)| {
            *distance <= 2.max(candidate.chars().count().min(name.chars().count()) / 4)
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance (insertions, deletions, substitutions), case-insensitive.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, a_char) in a.iter().enumerate() {
        let mut current = Vec::with_capacity(b.len() + 1);
        current.push(i + 1);
        for (j, b_char) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(a_char != b_char);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// `fusion config example`: every setting with its default and why you would change it.
pub const EXAMPLE: &str = r#"# Support Fusion configuration: `fusion serve --config fusion.toml` (or FUSION_CONFIG=fusion.toml).
# `fusion admin create` accepts the same --config, so both use the same database.
#
# Precedence: command-line flags, then FUSION_* environment variables, then this file, then the
# defaults shown here. Relative paths are relative to the working directory.
#
# Check a file with `fusion config check --config fusion.toml`: it names the file, setting and
# line of anything wrong (an unknown setting gets "did you mean …"). Unknown settings are refused
# at start; unknown FUSION_* environment variables are reported as warnings at start (a typo
# such as FUSION_LISTN would otherwise be ignored).
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

[notifications]
# The SMTP server that sends notification email (FUSION_SMTP_HOST); without it no email is sent
# and Settings > Notifications says so. The password is never written here: set
# FUSION_SMTP_PASSWORD, or name a file holding it (FUSION_SMTP_PASSWORD_FILE).
# smtp_host = "smtp.example.com"
# smtp_port = 587                  # default: 587 for starttls, 465 for tls, 25 for none
# smtp_security = "starttls"       # starttls (default), tls or none (FUSION_SMTP_SECURITY)
# smtp_username = "fusion@example.com"
# smtp_password_file = "/run/secrets/smtp_password"
# smtp_from = "Support Fusion <fusion@example.com>"
#
# Webhook hosts that may resolve to internal addresses (loopback, private, link-local, …), for
# receivers on your own network (FUSION_NOTIFY_WEBHOOK_ALLOW_HOSTS, comma-separated). Every other
# webhook URL must be https:// and resolve to public addresses only.
# webhook_allow_hosts = ["alerts.internal.example"]
#
# "Not synced" is told once a connection's last successful run started more than this many
# automatic sync intervals ago (FUSION_NOTIFY_NOT_SYNCED_INTERVALS).
# not_synced_intervals = 3
# "API budget nearly used up" at this per cent of this server's hourly requests to a tenant
# (FUSION_NOTIFY_BUDGET_WARNING_PERCENT).
# budget_warning_percent = 80
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
            secret_key_file: None,
            allow_readable_key_file: None,
            database_url: Some("sqlite://flag.db".into()),
            data_dir: None,
        };
        let merged = config.database_args(&from_flags);
        assert_eq!(merged.database_url.as_deref(), Some("sqlite://flag.db"));
        assert_eq!(merged.data_dir, Some(PathBuf::from("/from/file")));
    }

    #[test]
    fn a_secret_in_the_file_is_refused_by_name_without_echoing_it() {
        let file = Path::new("fusion.toml");
        let error = ConfigFile::parse("secret_key = \"c2VjcmV0c2VjcmV0c2VjcmV0\"\n")
            .expect_err("refused")
            .describe(file);
        assert!(
            error.starts_with("fusion.toml: secret_key (line 1): "),
            "{error}"
        );
        assert!(error.contains("FUSION_SECRET_KEY"), "{error}");
        assert!(!error.contains("c2VjcmV0"), "{error}");
        let nested = ConfigFile::parse(
            "listen = \"127.0.0.1:1\"\n[autotask]\napi_secret = \"hunter2hunter2\"\n",
        )
        .expect_err("refused")
        .describe(file);
        assert!(
            nested.starts_with("fusion.toml: autotask.api_secret (line 3): ")
                && !nested.contains("hunter2"),
            "{nested}"
        );
    }

    #[test]
    fn a_typo_is_refused_with_its_line_and_without_the_value() {
        let file = Path::new("/etc/fusion.toml");
        let error = ConfigFile::parse("listen = \"127.0.0.1:9000\"\nsecure_cookie = true\n")
            .expect_err("refused")
            .describe(file);
        assert_eq!(
            error,
            "/etc/fusion.toml: secure_cookie (line 2): unknown setting; did you mean secure_cookies? \
             (`fusion config example` lists every setting)"
        );
        let nested = ConfigFile::parse("[autotask]\n\nintegration_kode = \"X\"\n")
            .expect_err("refused")
            .describe(file);
        assert!(
            nested.starts_with("/etc/fusion.toml: autotask.integration_kode (line 3): unknown setting; did you mean autotask.integration_code?"),
            "{nested}"
        );
        let bad_value = ConfigFile::parse("data_dir = \".\"\nlisten = \"not-an-address-zq\"\n")
            .expect_err("refused")
            .describe(file);
        assert!(
            bad_value.starts_with("/etc/fusion.toml: listen (line 2): "),
            "{bad_value}"
        );
        assert!(!bad_value.contains("not-an-address-zq"), "{bad_value}");
    }

    #[test]
    fn every_listed_setting_is_accepted() {
        let mut top = String::new();
        let mut sections: Vec<(String, String)> = Vec::new();
        for setting in FILE_SETTINGS {
            let value = match *setting {
                "listen" => "\"127.0.0.1:1\"",
                "secure_cookies" => "true",
                "notifications.smtp_port"
                | "notifications.not_synced_intervals"
                | "notifications.budget_warning_percent" => "3",
                "notifications.webhook_allow_hosts" => "[\"x\"]",
                _ => "\"x\"",
            };
            match setting.split_once('.') {
                Some((section, name)) => {
                    let line = format!("{name} = {value}\n");
                    match sections.iter_mut().find(|(known, _)| known == section) {
                        Some((_, body)) => body.push_str(&line),
                        None => sections.push((section.to_owned(), line)),
                    }
                }
                None => top.push_str(&format!("{setting} = {value}\n")),
            }
        }
        for (section, body) in sections {
            top.push_str(&format!("[{section}]\n{body}"));
        }
        ConfigFile::parse(&top).expect("every listed setting parses");
    }

    #[test]
    fn typos_get_the_closest_name_and_strangers_none() {
        let names = ["FUSION_LISTEN", "FUSION_DATABASE_URL", "FUSION_DATA_DIR"];
        assert_eq!(
            closest("FUSION_LISTN", names.into_iter()),
            Some("FUSION_LISTEN")
        );
        assert_eq!(
            closest("FUSION_DATABSE_URL", names.into_iter()),
            Some("FUSION_DATABASE_URL")
        );
        assert_eq!(closest("FUSION_COLOUR", names.into_iter()), None);
    }
}
