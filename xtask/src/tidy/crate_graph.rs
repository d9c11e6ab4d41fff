//! The crate graph `ARCHITECTURE.md` declares (its ```` ```crate-graph ```` block) against the one
//! the manifests make: every edge one has and the other lacks is a problem, named on the side that
//! would change.
//!
//! The block has one line per product crate, `crate -> dependency, dependency`; a crate alone on its
//! line depends on no other crate of the workspace; `#` starts a comment line.

use std::collections::{BTreeMap, BTreeSet};

use super::Problem;
use super::workspace::Crate;

const ARCHITECTURE: &str = "ARCHITECTURE.md";
const FENCE: &str = "```crate-graph";

/// One line of the block: a crate and what it is declared to depend on.
#[derive(Debug)]
struct Declaration {
    /// 1-based line in `ARCHITECTURE.md`.
    line: usize,
    dependencies: BTreeSet<String>,
}

/// Compares the declared graph in `architecture` (the text of `ARCHITECTURE.md`) with `crates`.
pub(crate) fn check(crates: &[Crate], architecture: &str) -> Vec<Problem> {
    let declared = match parse(architecture) {
        Ok(declared) => declared,
        Err(problems) => return problems,
    };
    let members: BTreeSet<&str> = crates.iter().map(|krate| krate.name.as_str()).collect();
    let mut problems = Vec::new();

    for krate in crates {
        let actual: BTreeSet<&str> = krate
            .dependencies
            .iter()
            .map(String::as_str)
            .filter(|dependency| members.contains(dependency))
            .collect();
        let Some(declaration) = declared.get(&krate.name) else {
            problems.push(Problem {
                place: krate.manifest.clone(),
                what: format!(
                    "crate `{}` is not in the crate-graph block of {ARCHITECTURE}",
                    krate.name
                ),
                fix: format!(
                    "add the line `{}` to the block (and the crate to the drawing and the code map)",
                    declaration_line(&krate.name, &actual)
                ),
            });
            continue;
        };
        for dependency in &actual {
            if !declaration.dependencies.contains(*dependency) {
                problems.push(Problem {
                    place: krate.manifest.clone(),
                    what: format!(
                        "`{}` depends on `{dependency}`, an edge the crate-graph block of \
                         {ARCHITECTURE} (line {}) does not declare",
                        krate.name, declaration.line
                    ),
                    fix: format!(
                        "remove `{dependency}` from [dependencies] in {}; or, if the edge is \
                         intended, add it to that line of the block and to the drawing, and say \
                         why in the commit message",
                        krate.manifest
                    ),
                });
            }
        }
        for dependency in &declaration.dependencies {
            if !actual.contains(dependency.as_str()) {
                problems.push(Problem {
                    place: format!("{ARCHITECTURE}:{}", declaration.line),
                    what: format!(
                        "the crate-graph block declares `{} -> {dependency}`, but {} has no such \
                         dependency",
                        krate.name, krate.manifest
                    ),
                    fix: format!(
                        "remove `{dependency}` from that line of the block (and the edge from \
                         the drawing); or add `{dependency}` to [dependencies] in {}",
                        krate.manifest
                    ),
                });
            }
        }
    }

    for (name, declaration) in &declared {
        if !members.contains(name.as_str()) {
            problems.push(Problem {
                place: format!("{ARCHITECTURE}:{}", declaration.line),
                what: format!(
                    "the crate-graph block declares crate `{name}`, which is not a product crate \
                     of the workspace"
                ),
                fix: "remove the line (or correct the crate's name)".to_owned(),
            });
        }
    }
    problems
}

fn declaration_line(name: &str, dependencies: &BTreeSet<&str>) -> String {
    if dependencies.is_empty() {
        name.to_owned()
    } else {
        let list: Vec<&str> = dependencies.iter().copied().collect();
        format!("{name} -> {}", list.join(", "))
    }
}

/// The declarations of the one crate-graph block, or the problems that keep it from being read.
fn parse(architecture: &str) -> Result<BTreeMap<String, Declaration>, Vec<Problem>> {
    let lines: Vec<&str> = architecture.lines().collect();
    let openings: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, line)| line.trim_end() == FENCE)
        .map(|(index, _)| index)
        .collect();
    let opening = match openings.as_slice() {
        [opening] => *opening,
        [] => {
            return Err(vec![Problem {
                place: ARCHITECTURE.to_owned(),
                what: "there is no crate-graph block".to_owned(),
                fix: format!(
                    "add one under the drawing: a {FENCE} fence with one line per crate, \
                     `crate -> dependency, dependency`"
                ),
            }]);
        }
        [_, second, ..] => {
            return Err(vec![Problem {
                place: format!("{ARCHITECTURE}:{}", second + 1),
                what: "a second crate-graph block".to_owned(),
                fix: "keep one block; merge the two".to_owned(),
            }]);
        }
    };

    let mut declared = BTreeMap::new();
    let mut problems = Vec::new();
    let mut closed = false;
    for (index, line) in lines.iter().enumerate().skip(opening + 1) {
        let number = index + 1;
        let line = line.trim();
        if line.starts_with("```") {
            closed = true;
            break;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, dependencies) = line.split_once("->").unwrap_or((line, ""));
        let name = name.trim();
        let dependencies: BTreeSet<String> = dependencies
            .split(',')
            .map(str::trim)
            .filter(|dependency| !dependency.is_empty())
            .map(str::to_owned)
            .collect();
        if name.is_empty()
            || name.contains(char::is_whitespace)
            || dependencies
                .iter()
                .any(|dependency| dependency.contains(char::is_whitespace))
        {
            problems.push(Problem {
                place: format!("{ARCHITECTURE}:{number}"),
                what: format!("cannot read `{line}` in the crate-graph block"),
                fix: "write `crate -> dependency, dependency`, or the crate alone if it depends \
                      on no other crate"
                    .to_owned(),
            });
            continue;
        }
        let previous = declared.insert(
            name.to_owned(),
            Declaration {
                line: number,
                dependencies,
            },
        );
        if let Some(previous) = previous {
            problems.push(Problem {
                place: format!("{ARCHITECTURE}:{number}"),
                what: format!(
                    "`{name}` is declared twice in the crate-graph block (also line {})",
                    previous.line
                ),
                fix: "keep one line per crate".to_owned(),
            });
        }
    }
    if !closed {
        problems.push(Problem {
            place: format!("{ARCHITECTURE}:{}", opening + 1),
            what: "the crate-graph block is never closed".to_owned(),
            fix: "end it with a ``` line".to_owned(),
        });
    }
    if problems.is_empty() {
        Ok(declared)
    } else {
        Err(problems)
    }
}
