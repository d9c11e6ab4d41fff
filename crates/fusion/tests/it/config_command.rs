//! `fusion config check`: `ok: FILE` and exit 0 for a valid file; `FILE: KEY (line N): REASON`
//! and exit 2 for an unknown setting (with the closest known one) or a secret in the file,
//! without echoing values; unknown `FUSION_*` variables are reported by `config check` and
//! warned about at the start of `serve`, `demo` and `sync`, with "did you mean".

use crate::process::{fusion, run};

fn config_file(content: &str) -> (tempfile::TempDir, String) {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let path = folder.path().join("fusion.toml");
    std::fs::write(&path, content).expect("writes the file");
    let text = path.display().to_string();
    (folder, text)
}

#[test]
fn config_check_accepts_the_printed_example() {
    let example = run(fusion(&["config", "example"], &[]), None);
    assert_eq!(example.code, Some(0));
    let (_folder, path) = config_file(&example.stdout);
    let checked = run(fusion(&["config", "check", "--config", &path], &[]), None);
    assert_eq!(checked.code, Some(0), "{}", checked.all_output());
    assert_eq!(checked.stdout.trim(), format!("ok: {path}"));
}

#[test]
fn config_check_names_file_key_and_line_of_an_unknown_setting_with_exit_2() {
    let (_folder, path) = config_file(
        "listen = \"127.0.0.1:9000\"\n\n[autotask]\nintegration_kode = \"TOPSECRETISH\"\n",
    );
    let checked = run(fusion(&["config", "check", "--config", &path], &[]), None);
    assert_eq!(checked.code, Some(2), "{}", checked.all_output());
    assert_eq!(
        checked.stdout.trim(),
        format!(
            "{path}: autotask.integration_kode (line 4): unknown setting; did you mean \
             autotask.integration_code? (`fusion config example` lists every setting)"
        )
    );
    assert!(!checked.all_output().contains("TOPSECRETISH"));

    // serve refuses the same file with the same words.
    let served = run(fusion(&["serve", "--config", &path], &[]), None);
    assert_eq!(served.code, Some(2), "{}", served.all_output());
    assert!(
        served
            .stderr
            .contains(&format!("{path}: autotask.integration_kode (line 4)")),
        "{}",
        served.stderr
    );
}

#[test]
fn config_check_refuses_a_secret_in_the_file_without_echoing_it() {
    let (_folder, path) = config_file("secure_cookies = true\nsecret_key = \"c2VjcmV0LXZhbHVl\"\n");
    let checked = run(fusion(&["config", "check", "--config", &path], &[]), None);
    assert_eq!(checked.code, Some(2), "{}", checked.all_output());
    assert!(
        checked
            .stdout
            .starts_with(&format!("{path}: secret_key (line 2): ")),
        "{}",
        checked.stdout
    );
    assert!(!checked.all_output().contains("c2VjcmV0LXZhbHVl"));
}

#[test]
fn config_check_reports_an_unknown_fusion_variable_with_the_closest_name_and_not_its_value() {
    let checked = run(
        fusion(
            &["config", "check"],
            &[
                ("FUSION_LISTN", "value-that-must-not-show"),
                ("FUSION_LISTEN", "127.0.0.1:1"),
            ],
        ),
        None,
    );
    assert_eq!(checked.code, Some(2), "{}", checked.all_output());
    assert_eq!(
        checked.stdout.trim(),
        "environment: FUSION_LISTN is not a Support Fusion setting and is ignored; did you mean FUSION_LISTEN?"
    );
    assert!(!checked.all_output().contains("value-that-must-not-show"));

    let clean = run(fusion(&["config", "check"], &[]), None);
    assert_eq!(clean.code, Some(0), "{}", clean.all_output());
    assert!(clean.stdout.starts_with("ok: "), "{}", clean.stdout);
}

#[test]
fn sync_warns_about_an_unknown_fusion_variable_at_start() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let data_dir = folder.path().display().to_string();
    // The sync itself fails (no such connection); the warning comes first regardless.
    let finished = run(
        fusion(
            &[
                "sync",
                "--relationship",
                "00000000-0000-0000-0000-000000000000",
                "--data-dir",
                &data_dir,
            ],
            &[("FUSION_DATABSE_URL", "sqlite://elsewhere.db")],
        ),
        None,
    );
    assert!(
        finished.stderr.contains(
            "FUSION_DATABSE_URL is not a Support Fusion setting and is ignored; did you mean FUSION_DATABASE_URL?"
        ),
        "{}",
        finished.stderr
    );
    assert!(
        !finished.stderr.contains("elsewhere.db"),
        "{}",
        finished.stderr
    );
}
