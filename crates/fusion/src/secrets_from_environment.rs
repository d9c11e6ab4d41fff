//! The secrets the binary accepts from its environment, read once in `main` and passed down.
//! Secrets are never flags (a command line is readable by every user on the machine); they come
//! from these variables or, where a command offers it, from standard input.

use std::io::{BufRead, IsTerminal, Read};

use secrecy::SecretString;

/// The `FUSION_*` variables read without clap: the secrets below, and those of the test suites,
/// benchmarks and `cargo xtask` (so a developer's or CI's environment is not reported as unknown;
/// see `commands::config`).
pub const VARIABLES_READ_DIRECTLY: &[&str] = &[
    "FUSION_SECRET_KEY",
    "FUSION_AUTOTASK_SECRET",
    "FUSION_ADMIN_PASSWORD",
    "FUSION_METRICS_TOKEN",
    "FUSION_SMTP_PASSWORD",
    "FUSION_BENCH_PYTHON",
    "FUSION_TEST_POSTGRES_URL",
    "FUSION_BIN",
    "FUSION_SOAK_SEED",
    "FUSION_SOAK_TICKETS",
];

/// `FUSION_SECRET_KEY` (when set), `FUSION_AUTOTASK_SECRET`, `FUSION_ADMIN_PASSWORD` and
/// `FUSION_SMTP_PASSWORD` (when set and not empty).
#[derive(Debug, Default)]
pub struct SecretsFromEnvironment {
    /// Base64 key that encrypts stored API secrets (else the key file is used).
    pub secret_key: Option<SecretString>,
    /// The API secret for `fusion autotask test`.
    pub autotask_secret: Option<SecretString>,
    /// The password for `fusion admin create`.
    pub admin_password: Option<SecretString>,
    /// The bearer token `/metrics` asks for (`fusion serve`), when set.
    pub metrics_token: Option<SecretString>,
    /// The SMTP server's password for notification email (`serve`, `demo`).
    pub smtp_password: Option<SecretString>,
}

impl SecretsFromEnvironment {
    pub fn read() -> Self {
        Self {
            // Set-but-empty is passed on so the store can say so, rather than silently falling
            // back to a key file that cannot decrypt what the real key encrypted.
            secret_key: std::env::var("FUSION_SECRET_KEY")
                .ok()
                .map(SecretString::from),
            autotask_secret: non_empty_variable("FUSION_AUTOTASK_SECRET"),
            admin_password: non_empty_variable("FUSION_ADMIN_PASSWORD"),
            metrics_token: non_empty_variable("FUSION_METRICS_TOKEN"),
            smtp_password: non_empty_variable("FUSION_SMTP_PASSWORD"),
        }
    }
}

fn non_empty_variable(name: &str) -> Option<SecretString> {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => Some(SecretString::from(value)),
        _ => None,
    }
}

/// Reads a secret from standard input. Piped in: all of it, minus the single line ending that
/// `echo` or a file adds (anything else is kept so the adapter can tell the user what it trimmed).
/// Typed at a terminal: `prompt` on stderr, then one line with echo switched off (via `stty`,
/// when available), so the secret does not appear on screen.
pub fn read_secret_from_stdin(prompt: &str) -> std::io::Result<SecretString> {
    let stdin = std::io::stdin();
    let mut text = String::new();
    if stdin.is_terminal() {
        eprint!("{prompt}: ");
        let echo_was_switched_off = set_terminal_echo(false);
        let read = stdin.lock().read_line(&mut text);
        if echo_was_switched_off {
            set_terminal_echo(true);
            eprintln!();
        }
        read?;
    } else {
        stdin.lock().read_to_string(&mut text)?;
    }
    if text.ends_with("\r\n") {
        text.truncate(text.len() - 2);
    } else if text.ends_with('\n') {
        text.truncate(text.len() - 1);
    }
    Ok(SecretString::from(text))
}

/// `stty echo` / `stty -echo` on the terminal behind stdin; `true` when it worked.
fn set_terminal_echo(on: bool) -> bool {
    std::process::Command::new("stty")
        .arg(if on { "echo" } else { "-echo" })
        .stdin(std::process::Stdio::inherit())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}
