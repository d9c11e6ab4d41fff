//! Project automation. `cargo xtask ci` runs exactly what CI runs (`.ci/run` installs the system
//! packages first, then calls it). Each step prints its command so a failure is easy to reproduce.
//! `cargo xtask tidy` (`tidy/`) checks the architecture invariants a machine can check.

mod tidy;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

const USAGE: &str = "usage: cargo xtask <command>

commands:
  ci            everything CI runs: tidy, fmt check, clippy, tests, browser test, py-autotask check,
                API fuzz
  tidy          the checked architecture invariants: crate graph as ARCHITECTURE.md declares it,
                sqlx only in fusion-store, reqwest only in fusion-autotask, source file sizes
  fmt-check     cargo fmt --all -- --check
  clippy        cargo clippy --workspace --all-targets -- -D warnings
  test          cargo test --workspace
  browser       the headless-Chromium tests, axe-core included (needs /usr/bin/chromium and node)
  py-autotask   the third-party py-autotask client against `fusion sim` (needs python3)
  api-fuzz      schemathesis against `fusion demo` over /api/v1/openapi.json (needs python3)";

fn main() -> Result<()> {
    let command = std::env::args().nth(1).unwrap_or_default();
    let root = project_root();
    std::env::set_current_dir(&root).context("cannot enter the project root")?;
    match command.as_str() {
        "ci" => {
            tidy::run(&root)?;
            fmt_check()?;
            clippy()?;
            test()?;
            browser(&root)?;
            py_autotask(&root)?;
            api_fuzz(&root)?;
            println!("xtask ci: all steps passed");
            Ok(())
        }
        "tidy" => tidy::run(&root),
        "fmt-check" => fmt_check(),
        "clippy" => clippy(),
        "test" => test(),
        "browser" => browser(&root),
        "py-autotask" => py_autotask(&root),
        "api-fuzz" => api_fuzz(&root),
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    }
}

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn run(program: &str, args: &[&str], dir: Option<&Path>) -> Result<()> {
    println!("$ {program} {}", args.join(" "));
    let mut command = Command::new(program);
    command.args(args);
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let status = command
        .status()
        .with_context(|| format!("could not start {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed with {status}", args.join(" "));
    }
    Ok(())
}

fn fmt_check() -> Result<()> {
    run("cargo", &["fmt", "--all", "--", "--check"], None)
}

fn clippy() -> Result<()> {
    run(
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        None,
    )
}

fn test() -> Result<()> {
    run("cargo", &["test", "--workspace"], None)
}

/// Builds the binary the browser test drives, installs `playwright-core` from the lock file and
/// runs the test with node's own runner against Debian's Chromium.
fn browser(root: &Path) -> Result<()> {
    let dir = root.join("tests/browser");
    if !Path::new("/usr/bin/chromium").exists() {
        bail!("/usr/bin/chromium is missing: install Debian's chromium (apt-get install chromium)");
    }
    run("cargo", &["build", "--package", "fusion"], None)?;
    run("npm", &["ci", "--no-audit", "--no-fund"], Some(&dir))?;
    // Where `cargo build` just put it: CARGO_TARGET_DIR when set, else the workspace's target/.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map_or_else(|| root.join("target"), |dir| root.join(dir));
    let binary = target.join("debug/fusion");
    println!(
        "$ FUSION_BIN={} node --test tests/browser/",
        binary.display()
    );
    let status = Command::new("node")
        .args(["--test", "tests/browser/"])
        .env("FUSION_BIN", &binary)
        .status()
        .context("could not start node")?;
    if !status.success() {
        bail!("browser test failed with {status}");
    }
    Ok(())
}

/// Runs the third-party Python client `py-autotask` 2.3.0 against `fusion sim`, changing only its
/// API URL, to prove the simulator speaks the vendor's contract and not just our own client's.
fn py_autotask(root: &Path) -> Result<()> {
    let venv = root.join("target/py-autotask-venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        run(
            "python3",
            &[
                "-m",
                "venv",
                venv.to_str().context("venv path is not UTF-8")?,
            ],
            None,
        )?;
    }
    let python = python.to_str().context("venv path is not UTF-8")?;
    run(
        python,
        &[
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "py-autotask==2.3.0",
        ],
        None,
    )?;
    run("cargo", &["build", "--package", "fusion"], None)?;
    let binary = root.join("target/debug/fusion");
    println!(
        "$ FUSION_BIN={} {python} xtask/py_autotask_check.py",
        binary.display()
    );
    let status = Command::new(python)
        .arg(root.join("xtask/py_autotask_check.py"))
        .env("FUSION_BIN", &binary)
        .status()
        .context("could not start python")?;
    if !status.success() {
        bail!("py-autotask check failed with {status}");
    }
    Ok(())
}

/// Property-based API fuzzing: schemathesis 4.32.5 (in a venv under `target/`) over every
/// operation of `/api/v1/openapi.json`, against `fusion demo` on loopback with an API token;
/// checks `not_a_server_error` and `response_schema_conformance`, 20 examples per operation, a
/// fixed seed. See `xtask/api_fuzz.py`.
fn api_fuzz(root: &Path) -> Result<()> {
    let venv = root.join("target/api-fuzz-venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        run(
            "python3",
            &[
                "-m",
                "venv",
                venv.to_str().context("venv path is not UTF-8")?,
            ],
            None,
        )?;
    }
    let python = python.to_str().context("venv path is not UTF-8")?;
    run(
        python,
        &[
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "schemathesis==4.32.5",
        ],
        None,
    )?;
    run("cargo", &["build", "--package", "fusion"], None)?;
    let schemathesis = venv.join("bin/st");
    let binary = root.join("target/debug/fusion");
    let work_dir = root.join("target/api-fuzz");
    run(
        python,
        &[
            "xtask/api_fuzz.py",
            schemathesis.to_str().context("venv path is not UTF-8")?,
            binary.to_str().context("target path is not UTF-8")?,
            work_dir.to_str().context("target path is not UTF-8")?,
            "20",
        ],
        None,
    )
}
