//! The `fusion` binary: the composition root. It installs the TLS crypto provider, parses the
//! command line, starts logging and the tokio runtime, runs one command and turns its result into
//! the exit code (0 ok, 1 failed test or operation, 2 usage or invalid input).
//!
//! Configuration is read here once (flags with their `FUSION_*` environment fallbacks via clap,
//! secrets via [`secrets_from_environment`]) and passed down as small structs; nothing reads
//! configuration from a global.

mod cli;
mod commands;
mod config_file;
mod database_location;
mod exit_status;
mod notifications;
mod scheduler;
mod secrets_from_environment;
mod shutdown;
mod sync_directory;
mod telemetry;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{AdminCommand, AutotaskCommand, Cli, Command, ConfigCommand, KeysCommand};
use crate::exit_status::{Completion, report_error};
use crate::secrets_from_environment::SecretsFromEnvironment;

fn main() -> ExitCode {
    // Both reqwest (no provider of its own) and sqlx use rustls; ring is the one provider compiled
    // in. Installing it can only fail if one is already installed, which is then just as good.
    let _ = rustls::crypto::ring::default_provider().install_default();

    let cli = Cli::parse();
    let secrets = SecretsFromEnvironment::read();
    telemetry::init(cli.log_format, default_log_filter(&cli.command));
    if matches!(
        cli.command,
        Command::Serve(_) | Command::Demo(_) | Command::Sync(_)
    ) {
        commands::config::warn_about_unknown_environment_variables();
    }

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli.command, secrets)) {
        Ok(completion) => completion.exit_code(),
        Err(error) => report_error(&error),
    }
}

/// Servers log at info; the demo keeps its terminal for the banner and one-shot commands keep
/// theirs for the result, so they log only warnings unless RUST_LOG says otherwise.
fn default_log_filter(command: &Command) -> &'static str {
    match command {
        Command::Demo(_)
        | Command::Sync(_)
        | Command::Autotask(_)
        | Command::Admin(_)
        | Command::Config(_)
        | Command::Migrate(_)
        | Command::Backup(_)
        | Command::Restore(_)
        | Command::Keys(_)
        | Command::Bench(_) => "warn",
        Command::Serve(_) | Command::Sim(_) => "info",
    }
}

async fn run(command: Command, secrets: SecretsFromEnvironment) -> anyhow::Result<Completion> {
    match command {
        Command::Serve(args) => {
            commands::serve::run(
                *args,
                secrets.secret_key,
                secrets.metrics_token,
                secrets.smtp_password,
            )
            .await
        }
        Command::Demo(args) => {
            commands::demo::run(args, secrets.secret_key, secrets.smtp_password).await
        }
        Command::Sim(args) => commands::sim::run(args).await,
        Command::Sync(args) => commands::sync::run(args, secrets.secret_key).await,
        Command::Autotask(AutotaskCommand::ApiUrl(args)) => Ok(commands::autotask::api_url(&args)),
        Command::Autotask(AutotaskCommand::Zone(args)) => commands::autotask::zone(args).await,
        Command::Autotask(AutotaskCommand::Test(args)) => {
            commands::autotask::test(args, secrets.autotask_secret).await
        }
        Command::Admin(AdminCommand::Create(args)) => {
            commands::admin::create(args, secrets.admin_password, secrets.secret_key).await
        }
        Command::Migrate(args) => commands::maintenance::migrate(args, secrets.secret_key).await,
        Command::Backup(args) => commands::maintenance::backup(args).await,
        Command::Restore(args) => commands::maintenance::restore(args).await,
        Command::Keys(KeysCommand::Rotate(args)) => {
            commands::maintenance::rotate(args, secrets.secret_key).await
        }
        Command::Bench(args) => commands::bench::run(args).await,
        Command::Config(ConfigCommand::Example) => Ok(commands::config::example()),
        Command::Config(ConfigCommand::Check(args)) => Ok(commands::config::check(&args)),
    }
}
