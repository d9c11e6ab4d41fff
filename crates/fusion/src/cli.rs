//! The command line as clap sees it: every subcommand, flag and environment fallback.
//!
//! Secrets never have a flag here. The only secret-shaped flag, `autotask test --secret`, exists
//! so that someone who tries it is told where the secret goes instead (it is refused before use).
//! Everything parsed here is turned into small configuration structs by the command modules; no
//! command reads the environment behind clap's back except for the secrets, which `main` reads
//! once and passes down.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Support Fusion keeps support tickets in step between two organisations' PSA tenants.
#[derive(Debug, Parser)]
#[command(name = "fusion", version, about, propagate_version = true)]
pub struct Cli {
    /// How log lines (on stderr) are written. Filter them with RUST_LOG (default: info for serve
    /// and sim, warn for the rest).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Pretty, env = "FUSION_LOG_FORMAT")]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web app and API against a real database.
    Serve(Box<ServeArgs>),
    /// Try Support Fusion in one command: a simulated Autotask with two demo organisations.
    Demo(DemoArgs),
    /// Run only the Autotask simulator (prints one JSON ready line on stdout).
    Sim(SimArgs),
    /// Sync one connection now (manual run with a start date, or a dry run) and print a summary.
    Sync(SyncArgs),
    /// Autotask helpers: work out an API URL, test a connection.
    #[command(subcommand)]
    Autotask(AutotaskCommand),
    /// Administration: create the first person who can sign in.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Configuration file helpers.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Apply pending database migrations and print the schema version (serve also does this on start).
    #[command(
        after_help = "Exit status: 0 the database is up to date, 1 it could not be opened or migrated, 2 the database is newer than this binary or the input is invalid."
    )]
    Migrate(MigrateArgs),
    /// Write a consistent copy of the SQLite database to FILE while the server runs.
    #[command(
        after_help = "The key file (fusion.key beside the database, or FUSION_SECRET_KEY) is not in the backup: back it up separately.
For PostgreSQL this prints how to use pg_dump instead.

Exit status: 0 backed up, 1 the backup failed, 2 FILE exists (see --force), PostgreSQL, or invalid input."
    )]
    Backup(BackupArgs),
    /// Replace the SQLite database with a backup FILE. Stop the server first.
    #[command(
        after_help = "The backup is checked first (a Support Fusion database, not newer than this binary); the replaced database is kept as <database>.before-restore.

Exit status: 0 restored, 1 the copy failed, 2 not a Support Fusion database, too new, the database is in use, or PostgreSQL."
    )]
    Restore(RestoreArgs),
    /// Secret-key management.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Measure sync performance against the in-process simulator and print a table (or JSON).
    #[command(
        after_help = "Build with --release for real figures: cargo run --release -- bench

Exit status: 0 measured, 1 a benchmarked sync was not correct (both tenants must agree) or could not run."
    )]
    Bench(BenchArgs),
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// A small world (200 tickets, 20 relationships) for smoke tests.
    #[arg(long)]
    pub quick: bool,

    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,

    /// Tickets in the generated world [default: 10000, or 200 with --quick].
    #[arg(long)]
    pub tickets: Option<usize>,

    /// Relationships the scheduler polls [default: 1000, or 20 with --quick]; also caps the hub
    /// phase's partners [default: 300, or 20 with --quick].
    #[arg(long)]
    pub relationships: Option<usize>,

    /// Run every phase on PostgreSQL (postgres://USER@HOST/DATABASE): each phase in a fresh
    /// schema of that database, dropped afterwards [default: a throw-away SQLite file].
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,

    /// Internal: the sync of the `initial_own_process` phase, run by `fusion bench` itself in a
    /// process of its own (the argument is its JSON description).
    #[arg(long, hide = true, value_name = "SPEC")]
    pub child_sync: Option<String>,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub config: ConfigArgs,

    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The backup file to write.
    #[arg(id = "backup_file", value_name = "FILE")]
    pub file: PathBuf,

    /// Overwrite FILE if it exists.
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub config: ConfigArgs,

    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup file (written by `fusion backup`).
    #[arg(id = "backup_file", value_name = "FILE")]
    pub file: PathBuf,

    #[command(flatten)]
    pub config: ConfigArgs,

    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate a new secret key and re-encrypt every stored API secret under it.
    #[command(
        after_help = "The new key replaces the key file (fusion.key); the old one is kept as fusion.key.before-rotate for older backups. When the key comes from FUSION_SECRET_KEY, the new key is written to the key file and you must update the variable. An interrupted rotation is finished by running the command again. Restart a running server afterwards.

Exit status: 0 rotated, 1 it failed (every secret still opens with the old or the new key), 2 invalid input."
    )]
    Rotate(KeysRotateArgs),
}

#[derive(Debug, Args)]
pub struct KeysRotateArgs {
    /// Also print the new key (base64) on stdout, e.g. to update FUSION_SECRET_KEY.
    #[arg(long)]
    pub print_new_key: bool,

    #[command(flatten)]
    pub config: ConfigArgs,

    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print a commented example configuration file (every setting, its default and why).
    Example,
    /// Check a configuration file and the FUSION_* environment variables: prints `ok: FILE`, or
    /// one line per problem (`FILE: KEY (line N): REASON`).
    #[command(after_help = "Exit status: 0 the configuration is valid, 2 it is not.")]
    Check(ConfigCheckArgs),
}

#[derive(Debug, Args)]
pub struct ConfigCheckArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// The optional configuration file. Flags and environment variables win over it.
#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// A TOML configuration file (see `fusion config example`).
    #[arg(long = "config", env = "FUSION_CONFIG", value_name = "FILE")]
    pub file: Option<PathBuf>,
}

/// Notifications: the SMTP server notification email goes through, webhook hosts allowed to be
/// internal addresses, and when the notifier speaks up. Shared by `serve` and `demo`. The SMTP
/// password is never a flag: `FUSION_SMTP_PASSWORD` or `--smtp-password-file`.
#[derive(Debug, Clone, Default, Args)]
pub struct NotificationArgs {
    /// SMTP server for notification email; without one no email is sent.
    #[arg(long, env = "FUSION_SMTP_HOST", value_name = "HOST")]
    pub smtp_host: Option<String>,

    /// SMTP port [default: 587 for starttls, 465 for tls, 25 for none].
    #[arg(long, env = "FUSION_SMTP_PORT", value_name = "PORT")]
    pub smtp_port: Option<u16>,

    /// How the SMTP connection is protected: starttls, tls or none [default: starttls].
    #[arg(long, env = "FUSION_SMTP_SECURITY", value_name = "starttls|tls|none")]
    pub smtp_security: Option<String>,

    /// SMTP user name (the password from FUSION_SMTP_PASSWORD or --smtp-password-file).
    #[arg(long, env = "FUSION_SMTP_USERNAME", value_name = "USER")]
    pub smtp_username: Option<String>,

    /// A file holding the SMTP password (one line).
    #[arg(long, env = "FUSION_SMTP_PASSWORD_FILE", value_name = "FILE")]
    pub smtp_password_file: Option<PathBuf>,

    /// Sender of notification email, e.g. "Support Fusion <fusion@example.com>".
    #[arg(long, env = "FUSION_SMTP_FROM", value_name = "ADDRESS")]
    pub smtp_from: Option<String>,

    /// Webhook hosts that may resolve to internal addresses (comma-separated).
    #[arg(
        long,
        env = "FUSION_NOTIFY_WEBHOOK_ALLOW_HOSTS",
        value_name = "HOSTS",
        value_delimiter = ','
    )]
    pub webhook_allow_hosts: Vec<String>,

    /// "Not synced" after this many automatic sync intervals without a successful run [default: 3].
    #[arg(long, env = "FUSION_NOTIFY_NOT_SYNCED_INTERVALS", value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub not_synced_intervals: Option<u32>,

    /// "API budget nearly used up" at this per cent of the hourly requests [default: 80].
    #[arg(long, env = "FUSION_NOTIFY_BUDGET_WARNING_PERCENT", value_name = "PERCENT", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub budget_warning_percent: Option<u32>,
}

/// Where the data lives. Shared by `serve` and `admin`, which must agree on it.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Database URL: sqlite://PATH (default: fusion.db in the data directory) or postgres://…
    #[arg(long, env = "FUSION_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Directory for the SQLite database and the key file `fusion.key` (default: current directory).
    #[arg(long, env = "FUSION_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// The secret-encryption key file [default: fusion.key beside the SQLite database, or in the
    /// data directory]. Keeping it elsewhere (another disk, a secrets mount) means a copy of the
    /// database alone cannot be decrypted.
    #[arg(long, env = "FUSION_SECRET_KEY_FILE", value_name = "FILE")]
    pub secret_key_file: Option<PathBuf>,

    /// Start even when the key file is readable by other users of this machine (not recommended;
    /// `chmod 600` the file instead) [default: false].
    #[arg(long, env = "FUSION_ALLOW_READABLE_KEY_FILE", action = clap::ArgAction::Set, value_name = "true|false")]
    pub allow_readable_key_file: Option<bool>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "FUSION_LISTEN")]
    pub listen: Option<SocketAddr>,

    #[command(flatten)]
    pub config: ConfigArgs,

    #[command(flatten)]
    pub database: DatabaseArgs,

    /// The deployment's Autotask integration code (API tracking identifier).
    #[arg(long, env = "FUSION_AUTOTASK_INTEGRATION_CODE", hide_env_values = true)]
    pub integration_code: Option<String>,

    /// Tests and demos only: send every Autotask call to this http://127.0.0.1:PORT simulator.
    #[arg(long, env = "FUSION_AUTOTASK_OVERRIDE", hide = true)]
    pub autotask_override: Option<String>,

    /// Mark session cookies Secure: set true when users reach the app over HTTPS [default: false].
    #[arg(long, env = "FUSION_SECURE_COOKIES", action = clap::ArgAction::Set, value_name = "true|false")]
    pub secure_cookies: Option<bool>,

    /// This server's public URL, e.g. https://fusion.example.com: sign-in accepts form posts only
    /// from this origin [default: the scheme FUSION_SECURE_COOKIES implies and the Host header].
    #[arg(long, env = "FUSION_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,

    /// Reverse proxies whose X-Forwarded-For is believed, comma-separated addresses or networks
    /// (127.0.0.1,10.0.0.0/8) [default: none — the peer's address is the client's].
    #[arg(long, env = "FUSION_TRUSTED_PROXIES", value_name = "ADDRESSES")]
    pub trusted_proxies: Option<String>,

    /// Serve /metrics on this separate address (a port alone means 127.0.0.1:PORT) instead of the
    /// main listener [default: /metrics on the main listener]. FUSION_METRICS_TOKEN (environment
    /// only) makes /metrics ask for Authorization: Bearer <token> wherever it is served.
    #[arg(long, env = "FUSION_METRICS_LISTEN", value_name = "ADDRESS")]
    pub metrics_listen: Option<String>,

    /// Delete sync history (runs and their per-ticket records) older than this many days [default: 90].
    #[arg(long, env = "FUSION_HISTORY_RETENTION_DAYS", value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub history_retention_days: Option<u32>,

    /// Use Autotask webhooks for near-real-time sync when FUSION_PUBLIC_URL is an https address
    /// Autotask can reach [default: true]; polling stays as the safety net either way.
    #[arg(long, env = "FUSION_WEBHOOKS", action = clap::ArgAction::Set, value_name = "true|false")]
    pub webhooks: Option<bool>,

    /// While a connection's webhooks are healthy, poll it only this often, to catch anything
    /// missed [default: 30].
    #[arg(long, env = "FUSION_WEBHOOK_SAFETY_POLL_MINUTES", value_name = "MINUTES", value_parser = clap::value_parser!(u32).range(1..=1440))]
    pub webhook_safety_poll_minutes: Option<u32>,

    /// Seconds between two looks for connections whose automatic sync is due [default: 15].
    #[arg(long, env = "FUSION_SCHEDULER_TICK_SECONDS", value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub scheduler_tick_seconds: Option<u64>,

    /// Seconds a sync run's lease lasts without renewal: when a process dies, its connections
    /// wait at most this long before another process takes them over [default: 600].
    #[arg(long, env = "FUSION_LEASE_SECONDS", value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(15..=3600))]
    pub lease_seconds: Option<u64>,

    /// This server's share of each Autotask database's 10,000 requests an hour, per cent, where
    /// the organisation set none on Settings [default: 50].
    #[arg(long, env = "FUSION_API_BUDGET_PERCENT", value_name = "PERCENT", value_parser = clap::value_parser!(u8).range(1..=100))]
    pub api_budget_percent: Option<u8>,

    #[command(flatten)]
    pub notifications: NotificationArgs,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Without --since the run reads each side since where the last run stopped; the first sync of a \
connection needs --since (it sets the baseline).\n\n\
Exit status: 0 Success or nothing to sync, 1 the run was Partial or Failed or could not run, 2 invalid input."
)]
pub struct SyncArgs {
    /// The connection (relationship) id, as shown on its page.
    #[arg(long)]
    pub relationship: String,

    /// Read changes since this date (2026-11-01, UTC midnight) or time (RFC 3339).
    #[arg(long)]
    pub since: Option<String>,

    /// Show what the run would do without writing anything.
    #[arg(long)]
    pub dry_run: bool,

    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub config: ConfigArgs,

    #[command(flatten)]
    pub database: DatabaseArgs,

    /// The deployment's Autotask integration code (API tracking identifier).
    #[arg(long, env = "FUSION_AUTOTASK_INTEGRATION_CODE", hide_env_values = true)]
    pub integration_code: Option<String>,

    /// Tests and demos only: send every Autotask call to this http://127.0.0.1:PORT simulator.
    #[arg(long, env = "FUSION_AUTOTASK_OVERRIDE", hide = true)]
    pub autotask_override: Option<String>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address for the web app [default: 127.0.0.1:8080, or a free port if that is taken].
    #[arg(long)]
    pub listen: Option<SocketAddr>,

    /// Where the demo keeps its database and key (default: a fresh temporary directory).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,

    /// Run the demo headless as a self-test: sync, edit, comment, attach and close as a person
    /// would, sync again, check that both simulated tenants agree, print one JSON line and exit
    /// (0 when they agree, 1 otherwise).
    #[arg(long, conflicts_with_all = ["listen", "data_dir", "manual_sync"])]
    pub check: bool,

    /// Leave the first sync to you: the connection starts at "Initial sync required", with
    /// automatic sync off and no simulated people at work.
    #[arg(long)]
    pub manual_sync: bool,

    /// Poll only: do not let the simulated Autotask call this demo's webhooks.
    #[arg(long)]
    pub no_webhooks: bool,

    #[command(flatten)]
    pub notifications: NotificationArgs,
}

#[derive(Debug, Args)]
pub struct SimArgs {
    /// Address for the simulator (port 0 picks a free port; the ready line names it).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,

    /// A seed file describing tenants, users and tickets (default: the demo world).
    #[arg(long)]
    pub seed: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum AutotaskCommand {
    /// Print the API URL to use for a portal or API URL (e.g. https://ww5.autotask.net/).
    #[command(
        after_help = "Exit status: 0 the API URL was printed, 2 there is none (the reason and what to do are printed)."
    )]
    ApiUrl(ApiUrlArgs),
    /// Look up which zone (and so which API URL) an API username belongs to. Needs no secret.
    #[command(
        after_help = "Exit status: 0 the API URL was printed, 1 Autotask does not know the username or could not be asked."
    )]
    Zone(ZoneArgs),
    /// Test Autotask credentials the same way Settings → Test connection does.
    #[command(
        after_help = "The API secret comes from the environment variable FUSION_AUTOTASK_SECRET or, with \
--secret-stdin, from standard input; never from the command line.\n\n\
Exit status: 0 Connection tested, 1 Test failed (the reason and what to do are printed), 2 invalid input."
    )]
    Test(AutotaskTestArgs),
}

#[derive(Debug, Args)]
pub struct ApiUrlArgs {
    /// A portal URL (https://wwN.autotask.net/…) or an API URL (https://webservicesN.autotask.net/).
    pub url: String,
}

#[derive(Debug, Args)]
pub struct ZoneArgs {
    /// The API username (the integration key shown when the key was generated).
    #[arg(long)]
    pub username: String,

    /// Tests and demos only: send every Autotask call to this http://127.0.0.1:PORT simulator.
    #[arg(long, env = "FUSION_AUTOTASK_OVERRIDE", hide = true)]
    pub autotask_override: Option<String>,
}

#[derive(Debug, Args)]
pub struct AutotaskTestArgs {
    /// The API URL, e.g. https://webservices5.autotask.net/
    #[arg(long)]
    pub api_url: String,

    /// The API username (the integration key shown when the key was generated).
    #[arg(long)]
    pub username: String,

    /// The Autotask integration code (API tracking identifier).
    #[arg(long, env = "FUSION_AUTOTASK_INTEGRATION_CODE", hide_env_values = true)]
    pub integration_code: Option<String>,

    /// Read the API secret from standard input instead of FUSION_AUTOTASK_SECRET.
    #[arg(long)]
    pub secret_stdin: bool,

    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,

    /// Tests and demos only: send every Autotask call to this http://127.0.0.1:PORT simulator.
    #[arg(long, env = "FUSION_AUTOTASK_OVERRIDE", hide = true)]
    pub autotask_override: Option<String>,

    /// Refused: secrets never go on the command line (other users can read it).
    #[arg(long, hide = true, value_name = "REFUSED", num_args = 0..=1, value_parser = discard_secret_value)]
    pub secret: Option<Option<DiscardedSecret>>,
}

/// What is kept of a value given to the refused `--secret` flag: nothing, so it cannot reach a
/// message, a log or a `Debug` print.
#[derive(Debug, Clone, Copy)]
pub struct DiscardedSecret;

fn discard_secret_value(_value: &str) -> Result<DiscardedSecret, std::convert::Infallible> {
    Ok(DiscardedSecret)
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an organisation and its first administrator, so the first person can sign in.
    #[command(
        after_help = "The password comes from the environment variable FUSION_ADMIN_PASSWORD or, with \
--password-stdin, from standard input; never from the command line.\n\n\
Example: FUSION_ADMIN_PASSWORD='…' fusion admin create --org \"Northwind IT\" --email admin@northwind.example"
    )]
    Create(AdminCreateArgs),
}

#[derive(Debug, Args)]
pub struct AdminCreateArgs {
    /// The organisation's name.
    #[arg(long)]
    pub org: String,

    /// The administrator's email address (their sign-in name).
    #[arg(long)]
    pub email: String,

    /// The administrator's display name (default: the part of the email before @).
    #[arg(long)]
    pub name: Option<String>,

    /// Read the password from standard input instead of FUSION_ADMIN_PASSWORD.
    #[arg(long)]
    pub password_stdin: bool,

    #[command(flatten)]
    pub config: ConfigArgs,

    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
