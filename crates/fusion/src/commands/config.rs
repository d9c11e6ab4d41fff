//! `fusion config example` and `fusion config check`, and the start-up report of `FUSION_*`
//! environment variables that no part of Support Fusion reads (a typo such as `FUSION_LISTN`
//! would otherwise be ignored silently).
//!
//! The known variables come from one place: clap's `env` attributes (walked through
//! `clap::Command`, so a new flag's variable is known without a list to keep up to date) plus
//! [`crate::secrets_from_environment::VARIABLES_READ_DIRECTLY`]. Values are never printed: some
//! are secrets.

use std::ffi::OsString;
use std::path::Path;

use clap::CommandFactory;

use crate::cli::{Cli, ConfigCheckArgs};
use crate::config_file::{ConfigFile, closest};
use crate::exit_status::Completion;
use crate::secrets_from_environment::VARIABLES_READ_DIRECTLY;

/// The prefix of every Support Fusion environment variable.
const PREFIX: &str = "FUSION_";

/// Every `FUSION_*` variable something in Support Fusion reads, sorted.
pub fn known_environment_variables() -> Vec<String> {
    fn walk(command: &clap::Command, names: &mut Vec<String>) {
        names.extend(
            command
                .get_arguments()
                .filter_map(|argument| argument.get_env())
                .map(|name| name.to_string_lossy().into_owned()),
        );
        for subcommand in command.get_subcommands() {
            walk(subcommand, names);
        }
    }
    let mut names: Vec<String> = VARIABLES_READ_DIRECTLY
        .iter()
        .map(|&name| name.to_owned())
        .collect();
    walk(&Cli::command(), &mut names);
    names.sort();
    names.dedup();
    names
}

/// One line per `FUSION_*` variable in `environment` that nothing reads, with the closest known
/// name when it looks like a typo. Only names are looked at, never values.
pub fn unknown_environment_variables(
    environment: impl IntoIterator<Item = OsString>,
) -> Vec<String> {
    let known = known_environment_variables();
    let mut unknown: Vec<String> = environment
        .into_iter()
        .filter_map(|name| name.into_string().ok())
        .filter(|name| name.starts_with(PREFIX) && !known.contains(name))
        .collect();
    unknown.sort();
    unknown
        .into_iter()
        .map(|name| {
            let hint = closest(&name, known.iter().map(String::as_str))
                .map(|known| format!("; did you mean {known}?"))
                .unwrap_or_default();
            format!("{name} is not a Support Fusion setting and is ignored{hint}")
        })
        .collect()
}

/// Logs a warning per unknown `FUSION_*` variable of this process (at the start of `serve`,
/// `demo` and `sync`).
pub fn warn_about_unknown_environment_variables() {
    let names = std::env::vars_os().map(|(name, _value)| name);
    for problem in unknown_environment_variables(names) {
        tracing::warn!(
            "{problem} (`fusion config check` lists what is wrong with the configuration)"
        );
    }
}

/// `fusion config example`.
pub fn example() -> Completion {
    print!("{}", crate::config_file::EXAMPLE);
    Completion::Succeeded
}

/// `fusion config check [--config FILE]`: `ok: <file>` and exit 0, or one line per problem
/// (`<file>: <key> (line N): <reason>`, `environment: …`) and exit 2.
pub fn check(args: &ConfigCheckArgs) -> Completion {
    let mut problems = Vec::new();
    let file = args.config.file.as_deref();
    if let Some(path) = file
        && let Err(problem) = ConfigFile::load_file(path)
    {
        problems.push(problem.describe(path));
    }
    let names = std::env::vars_os().map(|(name, _value)| name);
    problems.extend(
        unknown_environment_variables(names)
            .into_iter()
            .map(|problem| format!("environment: {problem}")),
    );
    if problems.is_empty() {
        println!(
            "ok: {}",
            file.map_or_else(
                || "no configuration file (defaults and environment)".to_owned(),
                |path: &Path| path.display().to_string()
            )
        );
        Completion::Succeeded
    } else {
        for problem in problems {
            println!("{problem}");
        }
        Completion::InputRejected
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_known_variables_include_flags_and_those_read_directly() {
        let known = known_environment_variables();
        for name in [
            "FUSION_LISTEN",
            "FUSION_DATABASE_URL",
            "FUSION_CONFIG",
            "FUSION_LOG_FORMAT",
            "FUSION_AUTOTASK_OVERRIDE",
            "FUSION_SECRET_KEY",
            "FUSION_ADMIN_PASSWORD",
            "FUSION_TEST_POSTGRES_URL",
        ] {
            assert!(
                known.iter().any(|known| known == name),
                "{name} in {known:?}"
            );
        }
    }

    #[test]
    fn unknown_variables_are_named_with_the_closest_known_one() {
        let problems = unknown_environment_variables(
            [
                "FUSION_LISTN",
                "FUSION_LISTEN",
                "PATH",
                "FUSION_COLOUR_SCHEME",
            ]
            .map(OsString::from),
        );
        assert_eq!(
            problems,
            vec![
                "FUSION_COLOUR_SCHEME is not a Support Fusion setting and is ignored".to_owned(),
                "FUSION_LISTN is not a Support Fusion setting and is ignored; did you mean FUSION_LISTEN?"
                    .to_owned(),
            ]
        );
    }
}
