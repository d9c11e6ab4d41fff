//! The inputs `tidy` checks, read once: the product crates and their dependencies (from
//! `cargo metadata`), the product sources and `ARCHITECTURE.md`. Reading is kept apart from the
//! checks so the checks are plain functions that tests feed by hand.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// Workspace members that are tooling, not product: their dependencies and sources are not checked.
const NOT_PRODUCT: &[&str] = &["xtask"];

/// Everything the checks look at.
#[derive(Debug)]
pub(crate) struct Inputs {
    pub(crate) crates: Vec<Crate>,
    /// The text of `ARCHITECTURE.md`.
    pub(crate) architecture: String,
    pub(crate) sources: Vec<SourceFile>,
}

/// A product crate of the workspace.
#[derive(Debug, Clone)]
pub(crate) struct Crate {
    pub(crate) name: String,
    /// From the project root, `/`-separated: `crates/fusion-web/Cargo.toml`.
    pub(crate) manifest: String,
    /// Package names of its dependencies other than dev-dependencies (normal and build, any
    /// target), because those are what the shipped code is built from.
    pub(crate) dependencies: BTreeSet<String>,
}

impl Crate {
    /// The crate's folder from the project root: `crates/fusion-web`.
    pub(crate) fn dir(&self) -> &str {
        self.manifest
            .strip_suffix("/Cargo.toml")
            .unwrap_or(&self.manifest)
    }
}

/// One `.rs` file under a product crate's `src/`.
#[derive(Debug, Clone)]
pub(crate) struct SourceFile {
    pub(crate) crate_name: String,
    /// From the project root, `/`-separated: `crates/fusion-web/src/lib.rs`.
    pub(crate) path: String,
    pub(crate) text: String,
}

impl Inputs {
    /// Reads the project at `root`: runs `cargo metadata`, reads `ARCHITECTURE.md` and every
    /// product crate's `src/**/*.rs`.
    pub(crate) fn read(root: &Path) -> Result<Inputs> {
        let metadata = cargo_metadata(root)?;
        let crates = crates_from_metadata(&metadata)?;
        let architecture = std::fs::read_to_string(root.join("ARCHITECTURE.md"))
            .context("cannot read ARCHITECTURE.md")?;
        let mut sources = Vec::new();
        for krate in &crates {
            let src = root.join(krate.dir()).join("src");
            let mut paths = Vec::new();
            collect_rust_files(&src, &mut paths)?;
            for path in paths {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let relative = path
                    .strip_prefix(root)
                    .with_context(|| format!("{} is outside the project", path.display()))?;
                sources.push(SourceFile {
                    crate_name: krate.name.clone(),
                    path: slash_path(relative)?,
                    text,
                });
            }
        }
        sources.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(Inputs {
            crates,
            architecture,
            sources,
        })
    }
}

/// `cargo metadata --format-version 1 --no-deps` for the workspace at `root`, as text. Uses the
/// cargo that runs us (`$CARGO`) when there is one.
fn cargo_metadata(root: &Path) -> Result<String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--manifest-path",
        ])
        .arg(root.join("Cargo.toml"))
        .output()
        .context("could not start cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    String::from_utf8(output.stdout).context("cargo metadata printed non-UTF-8")
}

/// The product crates described by `cargo metadata --format-version 1 --no-deps` output (with
/// `--no-deps`, its packages are exactly the workspace members), sorted by name.
pub(crate) fn crates_from_metadata(metadata: &str) -> Result<Vec<Crate>> {
    let metadata: Value = serde_json::from_str(metadata).context("cargo metadata is not JSON")?;
    let root = text(&metadata["workspace_root"], "workspace_root")?;
    let packages = metadata["packages"]
        .as_array()
        .context("cargo metadata has no packages")?;
    let mut crates = Vec::new();
    for package in packages {
        let name = text(&package["name"], "package name")?;
        if NOT_PRODUCT.contains(&name) {
            continue;
        }
        let manifest = text(&package["manifest_path"], "manifest_path")?;
        let manifest = Path::new(manifest)
            .strip_prefix(root)
            .with_context(|| format!("{manifest} is outside the workspace root {root}"))?;
        let mut dependencies = BTreeSet::new();
        for dependency in package["dependencies"].as_array().into_iter().flatten() {
            if dependency["kind"].as_str() == Some("dev") {
                continue;
            }
            dependencies.insert(text(&dependency["name"], "dependency name")?.to_owned());
        }
        crates.push(Crate {
            name: name.to_owned(),
            manifest: slash_path(manifest)?,
            dependencies,
        });
    }
    crates.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(crates)
}

fn text<'v>(value: &'v Value, what: &str) -> Result<&'v str> {
    value
        .as_str()
        .with_context(|| format!("cargo metadata: {what} is missing or not a string"))
}

fn slash_path(path: &Path) -> Result<String> {
    let parts = path
        .components()
        .map(|part| part.as_os_str().to_str())
        .collect::<Option<Vec<_>>>()
        .with_context(|| format!("{} is not UTF-8", path.display()))?;
    Ok(parts.join("/"))
}

fn collect_rust_files(dir: &Path, files: &mut Vec<std::path::PathBuf>) -> Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry
            .with_context(|| format!("cannot list {}", dir.display()))?
            .path();
        if path.is_dir() {
            collect_rust_files(&path, files)?;
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
    Ok(())
}
