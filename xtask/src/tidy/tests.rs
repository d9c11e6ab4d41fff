//! Each check fed a small workspace by hand — the project's graph, with one thing made wrong per
//! test — and the whole of `tidy` run against this repository.

use std::collections::BTreeSet;
use std::path::Path;

use super::rules::{Confinement, Exception, RULES, Rules};
use super::workspace::{Crate, Inputs, SourceFile, crates_from_metadata};
use super::{Problem, check};

const ARCHITECTURE: &str = "# Architecture

```
fusion (bin) ──► fusion-web ──► …
```

```crate-graph
# comment
fusion -> fusion-web, fusion-engine
fusion-web -> fusion-domain, fusion-engine, fusion-store
fusion-engine -> fusion-domain, fusion-store
fusion-store -> fusion-domain
fusion-autotask-sim
fusion-domain
```
";

const CONFINEMENTS: &[Confinement] = &[
    Confinement {
        dependency: "sqlx",
        owner: "fusion-store",
        invariant: "no SQL leaves `fusion-store`",
        allowed: &[],
    },
    Confinement {
        dependency: "reqwest",
        owner: "fusion-autotask",
        invariant: "only the Autotask adapter makes HTTP calls",
        allowed: &[Exception {
            name: "fusion-autotask-sim",
            reason: "webhook callouts",
        }],
    },
];

const LIMIT: usize = 5;

const RULES_FOR_TESTS: Rules = Rules {
    confinements: CONFINEMENTS,
    size_limit: LIMIT,
    oversized_files: &[],
};

fn krate(name: &str, dependencies: &[&str]) -> Crate {
    Crate {
        name: name.to_owned(),
        manifest: format!("crates/{name}/Cargo.toml"),
        dependencies: dependencies.iter().map(|d| (*d).to_owned()).collect(),
    }
}

fn source(crate_name: &str, file: &str, text: &str) -> SourceFile {
    SourceFile {
        crate_name: crate_name.to_owned(),
        path: format!("crates/{crate_name}/src/{file}"),
        text: text.to_owned(),
    }
}

/// A workspace that matches `ARCHITECTURE` and `RULES_FOR_TESTS`.
fn tidy_inputs() -> Inputs {
    Inputs {
        crates: vec![
            krate("fusion", &["fusion-web", "fusion-engine", "anyhow"]),
            krate(
                "fusion-web",
                &["fusion-domain", "fusion-engine", "fusion-store", "axum"],
            ),
            krate("fusion-engine", &["fusion-domain", "fusion-store"]),
            krate("fusion-store", &["fusion-domain", "sqlx"]),
            krate("fusion-autotask-sim", &["reqwest", "axum"]),
            krate("fusion-domain", &["time"]),
        ],
        architecture: ARCHITECTURE.to_owned(),
        sources: vec![
            source("fusion-store", "sqlite.rs", "sqlx::query(\"SELECT 1\");\n"),
            source(
                "fusion-web",
                "lib.rs",
                "//! The router.\npub fn router() {}\n",
            ),
            source(
                "fusion-autotask-sim",
                "delivery.rs",
                "fn client() -> reqwest::Client {}\n",
            ),
        ],
    }
}

fn crate_mut<'i>(inputs: &'i mut Inputs, name: &str) -> &'i mut Crate {
    inputs
        .crates
        .iter_mut()
        .find(|krate| krate.name == name)
        .expect("a crate of the fixture")
}

/// The one problem found, failing with all of them if there is not exactly one.
fn only_problem(problems: Vec<Problem>) -> Problem {
    match <[Problem; 1]>::try_from(problems) {
        Ok([problem]) => problem,
        Err(problems) => panic!("expected one problem, got {problems:#?}"),
    }
}

#[test]
fn the_fixture_is_tidy() {
    assert_eq!(check(&tidy_inputs(), &RULES_FOR_TESTS), vec![]);
}

#[test]
fn a_dependency_the_block_does_not_declare_is_reported_at_the_cargo_toml_that_adds_it() {
    let mut inputs = tidy_inputs();
    crate_mut(&mut inputs, "fusion-engine")
        .dependencies
        .insert("fusion-web".to_owned());

    let problem = only_problem(check(&inputs, &RULES_FOR_TESTS));

    assert_eq!(problem.place, "crates/fusion-engine/Cargo.toml");
    assert!(
        problem
            .what
            .contains("`fusion-engine` depends on `fusion-web`")
    );
    assert!(problem.what.contains("does not declare"));
    assert!(
        problem
            .fix
            .contains("remove `fusion-web` from [dependencies]")
    );
    assert!(problem.fix.contains("add it to that line of the block"));
}

#[test]
fn a_declared_dependency_cargo_toml_lacks_is_reported_at_its_line_of_the_block() {
    let mut inputs = tidy_inputs();
    crate_mut(&mut inputs, "fusion-engine")
        .dependencies
        .remove("fusion-store");

    let problem = only_problem(check(&inputs, &RULES_FOR_TESTS));

    assert_eq!(problem.place, "ARCHITECTURE.md:11");
    assert!(problem.what.contains("`fusion-engine -> fusion-store`"));
    assert!(problem.what.contains("crates/fusion-engine/Cargo.toml"));
    assert!(problem.fix.contains("remove `fusion-store` from that line"));
}

#[test]
fn a_crate_missing_from_the_block_is_reported_with_the_line_to_add() {
    let mut inputs = tidy_inputs();
    inputs
        .crates
        .push(krate("fusion-jira", &["fusion-domain", "fusion-engine"]));

    let problem = only_problem(check(&inputs, &RULES_FOR_TESTS));

    assert_eq!(problem.place, "crates/fusion-jira/Cargo.toml");
    assert!(
        problem
            .what
            .contains("`fusion-jira` is not in the crate-graph block")
    );
    assert!(
        problem
            .fix
            .contains("`fusion-jira -> fusion-domain, fusion-engine`")
    );
}

#[test]
fn a_declared_crate_that_is_not_in_the_workspace_is_reported() {
    let mut inputs = tidy_inputs();
    inputs
        .crates
        .retain(|krate| krate.name != "fusion-autotask-sim");
    inputs
        .sources
        .retain(|file| file.crate_name != "fusion-autotask-sim");

    let problems = check(&inputs, &RULES_FOR_TESTS);

    assert!(
        problems
            .iter()
            .any(|problem| problem.place == "ARCHITECTURE.md:13"
                && problem.what.contains("`fusion-autotask-sim`")),
        "{problems:#?}"
    );
}

#[test]
fn an_architecture_without_a_crate_graph_block_is_reported() {
    let mut inputs = tidy_inputs();
    inputs.architecture = "# Architecture\n".to_owned();

    let problem = only_problem(check(&inputs, &RULES_FOR_TESTS));

    assert_eq!(problem.place, "ARCHITECTURE.md");
    assert!(problem.what.contains("no crate-graph block"));
}

#[test]
fn an_unreadable_line_of_the_block_is_reported_with_its_line() {
    let mut inputs = tidy_inputs();
    inputs.architecture = ARCHITECTURE.replace("fusion-domain\n```", "fusion domain\n```");

    let problem = only_problem(check(&inputs, &RULES_FOR_TESTS));

    assert_eq!(problem.place, "ARCHITECTURE.md:14");
    assert!(problem.what.contains("cannot read `fusion domain`"));
}

#[test]
fn sqlx_used_in_a_web_source_file_is_reported_with_its_file_and_line() {
    let mut inputs = tidy_inputs();
    inputs.sources.push(source(
        "fusion-web",
        "sync/api.rs",
        "//! Sync routes.\n\nasync fn runs() {\n    let rows = sqlx::query(\"SELECT * FROM runs\");\n}\n",
    ));

    let problem = only_problem(check(&inputs, &RULES_FOR_TESTS));

    assert_eq!(problem.place, "crates/fusion-web/src/sync/api.rs:4");
    assert!(problem.what.contains("uses `sqlx::` in `fusion-web`"));
    assert!(problem.what.contains("no SQL leaves `fusion-store`"));
    assert!(problem.fix.contains("xtask/src/tidy/rules.rs"));
}

#[test]
fn sqlx_in_the_web_crates_dependencies_is_reported_at_its_cargo_toml() {
    let mut inputs = tidy_inputs();
    crate_mut(&mut inputs, "fusion-web")
        .dependencies
        .insert("sqlx".to_owned());

    let problem = only_problem(check(&inputs, &RULES_FOR_TESTS));

    assert_eq!(problem.place, "crates/fusion-web/Cargo.toml");
    assert!(
        problem
            .what
            .contains("`fusion-web` lists `sqlx` in [dependencies]")
    );
}

#[test]
fn sqlx_named_in_a_comment_or_as_the_tail_of_another_name_is_not_a_use() {
    let mut inputs = tidy_inputs();
    inputs.sources.push(source(
        "fusion",
        "main.rs",
        "    // Both reqwest and sqlx::Pool use rustls.\n/// See `sqlx::Error`.\nuse my_sqlx::Pool;\n",
    ));

    assert_eq!(check(&inputs, &RULES_FOR_TESTS), vec![]);
}

#[test]
fn reqwest_in_the_engines_dependencies_is_reported_at_its_cargo_toml() {
    let mut inputs = tidy_inputs();
    crate_mut(&mut inputs, "fusion-engine")
        .dependencies
        .insert("reqwest".to_owned());

    let problem = only_problem(check(&inputs, &RULES_FOR_TESTS));

    assert_eq!(problem.place, "crates/fusion-engine/Cargo.toml");
    assert!(
        problem
            .what
            .contains("`fusion-engine` lists `reqwest` in [dependencies]")
    );
    assert!(
        problem
            .what
            .contains("only the Autotask adapter makes HTTP calls")
    );
}

#[test]
fn an_allow_list_entry_for_a_crate_that_no_longer_uses_the_dependency_is_stale() {
    let mut inputs = tidy_inputs();
    crate_mut(&mut inputs, "fusion-autotask-sim")
        .dependencies
        .remove("reqwest");
    inputs
        .sources
        .retain(|file| file.crate_name != "fusion-autotask-sim");

    let problem = only_problem(check(&inputs, &RULES_FOR_TESTS));

    assert_eq!(problem.place, "xtask/src/tidy/rules.rs");
    assert!(problem.what.contains("stale allow-list entry"));
    assert!(
        problem
            .what
            .contains("`fusion-autotask-sim` may use `reqwest`")
    );
    assert!(problem.fix.contains("remove the entry"));
}

#[test]
fn an_oversized_source_file_is_reported_with_its_line_count() {
    let mut inputs = tidy_inputs();
    inputs.sources.push(source(
        "fusion-web",
        "configuration/pages.rs",
        &"fn page() {}\n".repeat(LIMIT + 1),
    ));

    let problem = only_problem(check(&inputs, &RULES_FOR_TESTS));

    assert_eq!(
        problem.place,
        "crates/fusion-web/src/configuration/pages.rs"
    );
    assert_eq!(
        problem.what,
        "6 lines, over the 5-line limit for product sources"
    );
    assert!(problem.fix.contains("split it"));
}

#[test]
fn an_oversized_file_on_the_allow_list_passes_and_one_at_the_limit_needs_no_entry() {
    let mut inputs = tidy_inputs();
    inputs.sources.push(source(
        "fusion-web",
        "configuration/pages.rs",
        &"fn page() {}\n".repeat(LIMIT + 1),
    ));
    inputs.sources.push(source(
        "fusion-web",
        "pages.rs",
        &"fn page() {}\n".repeat(LIMIT),
    ));
    let rules = Rules {
        oversized_files: &[Exception {
            name: "crates/fusion-web/src/configuration/pages.rs",
            reason: "being split per page (issue 12)",
        }],
        ..RULES_FOR_TESTS
    };

    assert_eq!(check(&inputs, &rules), vec![]);
}

#[test]
fn a_size_allow_list_entry_for_a_file_back_within_the_limit_or_gone_is_stale() {
    let mut inputs = tidy_inputs();
    inputs.sources.push(source(
        "fusion-web",
        "configuration/pages.rs",
        &"fn page() {}\n".repeat(LIMIT),
    ));
    let rules = Rules {
        oversized_files: &[
            Exception {
                name: "crates/fusion-web/src/configuration/pages.rs",
                reason: "being split per page (issue 12)",
            },
            Exception {
                name: "crates/fusion-web/src/gone.rs",
                reason: "removed since",
            },
        ],
        ..RULES_FOR_TESTS
    };

    let problems = check(&inputs, &rules);

    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(
        problems
            .iter()
            .all(|p| p.place == "xtask/src/tidy/rules.rs")
    );
    assert!(problems[0].what.contains(
        "`crates/fusion-web/src/configuration/pages.rs` may pass the size limit (\"being split per \
         page (issue 12)\"), but now 5 lines, within the 5-line limit"
    ));
    assert!(problems[1].what.contains("`crates/fusion-web/src/gone.rs`"));
    assert!(problems[1].what.contains("no such product source file"));
}

#[test]
fn metadata_keeps_normal_and_build_dependencies_and_drops_dev_dependencies_and_xtask() {
    let metadata = r#"{
        "workspace_root": "/w",
        "packages": [
            {"name": "fusion-web", "manifest_path": "/w/crates/fusion-web/Cargo.toml",
             "dependencies": [
                {"name": "fusion-store", "kind": null},
                {"name": "askama", "kind": "build"},
                {"name": "reqwest", "kind": "dev"},
                {"name": "tokio", "kind": null, "target": "cfg(unix)"}
             ]},
            {"name": "xtask", "manifest_path": "/w/xtask/Cargo.toml",
             "dependencies": [{"name": "fusion-web", "kind": null}]}
        ]
    }"#;

    let crates = crates_from_metadata(metadata).expect("valid metadata");

    assert_eq!(crates.len(), 1);
    assert_eq!(crates[0].name, "fusion-web");
    assert_eq!(crates[0].manifest, "crates/fusion-web/Cargo.toml");
    assert_eq!(crates[0].dir(), "crates/fusion-web");
    assert_eq!(
        crates[0].dependencies,
        BTreeSet::from(["askama", "fusion-store", "tokio"].map(str::to_owned))
    );
}

#[test]
fn every_allow_list_entry_of_the_project_names_a_reason() {
    let entries = RULES
        .confinements
        .iter()
        .flat_map(|confinement| confinement.allowed)
        .chain(RULES.oversized_files);
    for entry in entries {
        assert!(
            entry.reason.trim().len() >= 10,
            "`{}` needs a reason",
            entry.name
        );
    }
}

#[test]
fn tidy_passes_on_this_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the project root");
    let inputs = Inputs::read(root).expect("the project's inputs");
    assert!(
        inputs.sources.len() > 100,
        "found only {} product sources",
        inputs.sources.len()
    );

    let problems = check(&inputs, &RULES);

    let report: Vec<String> = problems.iter().map(Problem::to_string).collect();
    assert!(problems.is_empty(), "{}", report.join("\n\n"));
}
