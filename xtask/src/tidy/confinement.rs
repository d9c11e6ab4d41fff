//! Dependencies that belong to one crate (`sqlx` to the store, `reqwest` to the Autotask adapter):
//! another crate may neither list them in `[dependencies]` nor write `sqlx::…` in its sources,
//! unless `rules.rs` excuses it with a reason. Dev-dependencies and `tests/` are not checked:
//! tests may open a database or call a server directly.
//!
//! Source lines that are comments (starting with `//`) are skipped, so prose may name a crate.

use super::Problem;
use super::rules::{Confinement, RULES_FILE};
use super::workspace::{Crate, SourceFile};

/// Every use of a confined dependency outside its owner that `confinements` do not excuse, and
/// every excuse that no longer matches a use.
pub(crate) fn check(
    crates: &[Crate],
    sources: &[SourceFile],
    confinements: &[Confinement],
) -> Vec<Problem> {
    let mut problems = Vec::new();
    for confinement in confinements {
        let dependency = confinement.dependency;
        for krate in crates
            .iter()
            .filter(|krate| krate.name != confinement.owner)
        {
            let excused = confinement
                .allowed
                .iter()
                .any(|entry| entry.name == krate.name);
            if excused {
                continue;
            }
            let fix = format!(
                "keep `{dependency}` in `{owner}` and reach it through `{owner}`'s API; if \
                 `{name}` really needs it, add `{name}` with its reason to the `{dependency}` \
                 allow-list in {RULES_FILE}",
                owner = confinement.owner,
                name = krate.name,
            );
            if krate.dependencies.contains(dependency) {
                problems.push(Problem {
                    place: krate.manifest.clone(),
                    what: format!(
                        "`{}` lists `{dependency}` in [dependencies], but {}",
                        krate.name, confinement.invariant
                    ),
                    fix: fix.clone(),
                });
            }
            for (file, line) in uses(sources, &krate.name, dependency) {
                problems.push(Problem {
                    place: format!("{}:{line}", file.path),
                    what: format!(
                        "uses `{dependency}::` in `{}`, but {}",
                        krate.name, confinement.invariant
                    ),
                    fix: fix.clone(),
                });
            }
        }
        for entry in confinement.allowed {
            let in_use = crates.iter().any(|krate| {
                krate.name == entry.name
                    && (krate.dependencies.contains(dependency)
                        || uses(sources, &krate.name, dependency).next().is_some())
            });
            if !in_use {
                problems.push(Problem {
                    place: RULES_FILE.to_owned(),
                    what: format!(
                        "stale allow-list entry: `{}` may use `{dependency}` (\"{}\"), but it no \
                         longer does",
                        entry.name, entry.reason
                    ),
                    fix: format!(
                        "remove the entry from the `{dependency}` allow-list in {RULES_FILE}"
                    ),
                });
            }
        }
    }
    problems
}

/// The files of `crate_name` and the 1-based lines where they write `dependency::`.
fn uses<'s>(
    sources: &'s [SourceFile],
    crate_name: &'s str,
    dependency: &'s str,
) -> impl Iterator<Item = (&'s SourceFile, usize)> + 's {
    sources
        .iter()
        .filter(move |file| file.crate_name == crate_name)
        .flat_map(move |file| {
            file.text
                .lines()
                .enumerate()
                .filter(move |(_, line)| mentions_path(line, dependency))
                .map(move |(index, _)| (file, index + 1))
        })
}

/// Whether `line` (not a comment) contains `dependency::` as a path, not as the tail of a longer
/// name (`my_sqlx::` is not `sqlx::`).
fn mentions_path(line: &str, dependency: &str) -> bool {
    if line.trim_start().starts_with("//") {
        return false;
    }
    let pattern = format!("{}::", dependency.replace('-', "_"));
    line.match_indices(&pattern).any(|(at, _)| {
        !line[..at]
            .chars()
            .next_back()
            .is_some_and(|before| before.is_alphanumeric() || before == '_')
    })
}
