//! Logging: `tracing` to stderr (stdout is kept for results and ready lines that scripts read),
//! filtered by `RUST_LOG` with a per-command default, written pretty or as JSON lines.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

/// Installs the process's log subscriber. `default_filter` applies when `RUST_LOG` is unset or
/// unparsable (e.g. "info", or "warn" for the demo so the banner stays readable).
pub fn init(format: LogFormat, default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Pretty => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}
