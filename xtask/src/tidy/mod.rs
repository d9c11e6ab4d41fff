//! `cargo xtask tidy`: the architecture invariants that a machine can check, checked (after
//! rust-analyzer's `tidy` tests). It fails, naming the file and the fix, when
//! - the crate graph differs from the `crate-graph` block of `ARCHITECTURE.md` (`crate_graph.rs`);
//! - `sqlx` is used outside `fusion-store` or `reqwest` outside `fusion-autotask` (`confinement.rs`);
//! - a product source file passes the size limit (`file_size.rs`);
//! - an allow-list entry in `rules.rs` no longer matches anything.

mod confinement;
mod crate_graph;
mod file_size;
mod rules;
mod workspace;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::Path;

use anyhow::{Result, bail};

use self::rules::{RULES, Rules};
use self::workspace::Inputs;

/// One thing wrong: where, what, and how to put it right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// A path from the project root, with `:line` where there is one.
    pub(crate) place: String,
    pub(crate) what: String,
    pub(crate) fix: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}\n    fix: {}", self.place, self.what, self.fix)
    }
}

/// Runs every check on the project at `root` and fails listing the problems.
pub(crate) fn run(root: &Path) -> Result<()> {
    println!("$ cargo xtask tidy");
    let inputs = Inputs::read(root)?;
    let problems = check(&inputs, &RULES);
    if problems.is_empty() {
        println!(
            "tidy: crate graph, sqlx/reqwest confinement and file sizes ({} files) as declared",
            inputs.sources.len()
        );
        return Ok(());
    }
    for problem in &problems {
        eprintln!("{problem}\n");
    }
    bail!(
        "tidy found {} problem(s); see ARCHITECTURE.md › Checked invariants",
        problems.len()
    )
}

/// Every problem in `inputs` under `rules`, in a stable order.
pub(crate) fn check(inputs: &Inputs, rules: &Rules) -> Vec<Problem> {
    let mut problems = crate_graph::check(&inputs.crates, &inputs.architecture);
    problems.extend(confinement::check(
        &inputs.crates,
        &inputs.sources,
        rules.confinements,
    ));
    problems.extend(file_size::check(
        &inputs.sources,
        rules.size_limit,
        rules.oversized_files,
    ));
    problems
}
