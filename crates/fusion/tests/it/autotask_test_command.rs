//! `fusion autotask test` against an in-process simulator (reached through
//! FUSION_AUTOTASK_OVERRIDE): the verdict, the exit code, the JSON shape, and that the secret is
//! taken only from the environment or stdin and never shown.

use fusion_autotask_sim::{RunningSimulator, SimOptions, Simulator, TenantInfo, World};

use crate::process::{Finished, fusion, run};

struct DemoTenant {
    simulator: RunningSimulator,
    tenant: TenantInfo,
    username: String,
    secret: String,
}

async fn demo_tenant() -> DemoTenant {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let simulator =
        Simulator::new(World::demo(), SimOptions::default()).expect("the demo world is valid");
    let running = simulator
        .spawn(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("the simulator starts");
    let tenant = simulator
        .tenants()
        .into_iter()
        .next()
        .expect("the demo world has tenants");
    let user = tenant
        .api_users
        .iter()
        .find(|user| user.active)
        .expect("the demo tenant has an active API user")
        .clone();
    DemoTenant {
        simulator: running,
        username: user.username,
        secret: user.secret,
        tenant,
    }
}

impl DemoTenant {
    /// Runs `fusion autotask test` for this tenant with `extra` arguments, the secret in the
    /// environment when given, and `stdin`.
    async fn test(
        &self,
        extra: &[&str],
        secret_in_environment: Option<&str>,
        stdin: Option<&str>,
    ) -> Finished {
        let mut args = vec![
            "autotask".to_owned(),
            "test".to_owned(),
            "--api-url".to_owned(),
            self.tenant.api_url.clone(),
            "--username".to_owned(),
            self.username.clone(),
        ];
        args.extend(extra.iter().map(|arg| (*arg).to_owned()));
        let mut env = vec![
            (
                "FUSION_AUTOTASK_OVERRIDE".to_owned(),
                self.simulator.base_url().to_owned(),
            ),
            (
                "FUSION_AUTOTASK_INTEGRATION_CODE".to_owned(),
                self.tenant.integration_code.clone(),
            ),
        ];
        if let Some(secret) = secret_in_environment {
            env.push(("FUSION_AUTOTASK_SECRET".to_owned(), secret.to_owned()));
        }
        let stdin = stdin.map(str::to_owned);
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let env: Vec<(&str, &str)> = env
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str()))
                .collect();
            run(fusion(&args, &env), stdin.as_deref())
        })
        .await
        .expect("the command runs")
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn right_credentials_print_connection_tested_and_exit_0() {
    let tenant = demo_tenant().await;
    let result = tenant.test(&[], Some(&tenant.secret), None).await;
    assert_eq!(result.code, Some(0), "{result:?}");
    assert!(
        result.stdout.starts_with("Connection tested\n"),
        "{result:?}"
    );
    assert!(
        !result.all_output().contains(&tenant.secret),
        "the secret was echoed: {result:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_secret_prints_test_failed_with_reason_and_fix_and_exits_1() {
    let tenant = demo_tenant().await;
    let wrong_secret = "Wr0ngSecretValue~~17";
    let result = tenant.test(&[], Some(wrong_secret), None).await;
    assert_eq!(result.code, Some(1), "{result:?}");
    let first_line = result.stdout.lines().next().unwrap_or_default();
    assert!(first_line.starts_with("Test failed: "), "{result:?}");
    assert!(first_line.contains("Authentication failed"), "{result:?}");
    assert!(result.stdout.contains("\nWhat to do: "), "{result:?}");
    assert!(
        !result.all_output().contains(wrong_secret),
        "the secret was echoed: {result:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn json_output_carries_status_reason_fix_zone_and_notes() {
    let tenant = demo_tenant().await;

    let success = tenant.test(&["--json"], Some(&tenant.secret), None).await;
    assert_eq!(success.code, Some(0), "{success:?}");
    let report: serde_json::Value =
        serde_json::from_str(success.stdout.trim()).expect("one JSON object");
    assert_eq!(report["status"], "Connection tested");
    assert!(report["reason"].is_string());
    assert!(report["fix"].is_null());
    assert!(
        report["zone"]
            .as_str()
            .is_some_and(|zone| zone.contains(&tenant.tenant.zone_name)),
        "{report}"
    );
    assert!(report["notes"].is_array());

    let failure = tenant.test(&["--json"], Some("not-the-secret"), None).await;
    assert_eq!(failure.code, Some(1), "{failure:?}");
    let report: serde_json::Value =
        serde_json::from_str(failure.stdout.trim()).expect("one JSON object");
    assert_eq!(report["status"], "Test failed");
    assert!(
        report["reason"]
            .as_str()
            .is_some_and(|reason| !reason.is_empty())
    );
    assert!(report["fix"].as_str().is_some_and(|fix| !fix.is_empty()));
    assert!(report["notes"].is_array());
}

#[tokio::test(flavor = "multi_thread")]
async fn secret_from_stdin_is_used_and_never_echoed() {
    let tenant = demo_tenant().await;
    let piped = format!("{}\n", tenant.secret);
    let result = tenant.test(&["--secret-stdin"], None, Some(&piped)).await;
    assert_eq!(result.code, Some(0), "{result:?}");
    assert!(result.stdout.starts_with("Connection tested"), "{result:?}");
    assert!(
        !result.all_output().contains(&tenant.secret),
        "the secret was echoed: {result:?}"
    );

    let wrong = tenant
        .test(&["--secret-stdin"], None, Some("typed-the-wrong-one\n"))
        .await;
    assert_eq!(wrong.code, Some(1), "{wrong:?}");
    assert!(
        !wrong.all_output().contains("typed-the-wrong-one"),
        "{wrong:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn secret_flag_is_refused_with_exit_2_without_echoing_the_value() {
    let tenant = demo_tenant().await;
    let result = tenant
        .test(&["--secret", &tenant.secret], Some(&tenant.secret), None)
        .await;
    assert_eq!(result.code, Some(2), "{result:?}");
    assert!(
        result.stderr.contains("FUSION_AUTOTASK_SECRET"),
        "{result:?}"
    );
    assert!(result.stderr.contains("--secret-stdin"), "{result:?}");
    assert!(
        !result.all_output().contains(&tenant.secret),
        "the secret was echoed: {result:?}"
    );
    assert!(
        !result.stdout.contains("Connection tested"),
        "it must not run the test: {result:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_secret_exits_2_and_explains_both_ways_to_give_it() {
    let tenant = demo_tenant().await;
    let result = tenant.test(&[], None, None).await;
    assert_eq!(result.code, Some(2), "{result:?}");
    assert!(
        result.stderr.contains("FUSION_AUTOTASK_SECRET"),
        "{result:?}"
    );
    assert!(result.stderr.contains("--secret-stdin"), "{result:?}");
    assert_eq!(result.stdout, "");
}

#[test]
fn missing_integration_code_exits_2_and_names_the_flag_and_the_variable() {
    let result = run(
        fusion(
            &[
                "autotask",
                "test",
                "--api-url",
                "https://webservices5.autotask.net/",
                "--username",
                "M8RZT4WQ2KXHJNC@CONTOSO.EXAMPLE",
            ],
            &[("FUSION_AUTOTASK_SECRET", "some-secret-value-1")],
        ),
        None,
    );
    assert_eq!(result.code, Some(2), "{result:?}");
    assert!(result.stderr.contains("--integration-code"), "{result:?}");
    assert!(
        result.stderr.contains("FUSION_AUTOTASK_INTEGRATION_CODE"),
        "{result:?}"
    );
    assert!(
        !result.all_output().contains("some-secret-value-1"),
        "{result:?}"
    );
}

/// `fusion autotask test` with these exact values (no simulator needed: nothing may be sent).
fn test_with(api_url: &str, username: &str, secret: &str, extra: &[&str]) -> Finished {
    let mut args = vec![
        "autotask",
        "test",
        "--api-url",
        api_url,
        "--username",
        username,
        "--integration-code",
        "DEMOCODE",
    ];
    args.extend_from_slice(extra);
    run(fusion(&args, &[("FUSION_AUTOTASK_SECRET", secret)]), None)
}

/// Issue 16, finding 6: values that can never be right are invalid input (exit 2, as
/// documented), not a failed test (exit 1), and nothing is sent for them; messages show
/// invisible characters as marks and never quote the secret.
#[test]
fn invalid_values_exit_2_before_anything_is_sent() {
    let good_url = "https://webservices5.autotask.net/";
    let huge_secret = "S".repeat(100_000);
    let cases: Vec<(&str, &str, &str, &[&str], &str)> = vec![
        (
            "javascript:alert(1)",
            "KEY@X.EXAMPLE",
            "secret",
            &[],
            "is not a web address",
        ),
        (
            "https://evil.example/",
            "KEY@X.EXAMPLE",
            "secret",
            &[],
            "not an Autotask address",
        ),
        (
            good_url,
            "KEY@X\u{7}.EXAMPLE",
            "secret",
            &[],
            "control characters",
        ),
        (
            good_url,
            "KEY@X.EXAMPLE",
            "sec\u{1b}ret",
            &[],
            "control characters",
        ),
        (good_url, "KEY@X.EXAMPLE", &huge_secret, &[], "at most 128"),
        (good_url, "   ", "secret", &[], "API username is missing"),
    ];
    for (api_url, username, secret, extra, expected) in cases {
        let result = test_with(api_url, username, secret, extra);
        assert_eq!(result.code, Some(2), "{api_url:?} {username:?}: {result:?}");
        assert!(
            result.stdout.contains(expected),
            "{api_url:?} {username:?}: {}",
            result.stdout
        );
        assert!(!result.all_output().contains("sec\u{1b}ret"));
        assert!(result.all_output().len() < 10_000, "the secret was echoed");
    }
    // CR/LF inside the integration code.
    let result = run(
        fusion(
            &[
                "autotask",
                "test",
                "--api-url",
                good_url,
                "--username",
                "KEY@X.EXAMPLE",
                "--integration-code",
                "CODE\r\nX-Injected: 1",
            ],
            &[("FUSION_AUTOTASK_SECRET", "secret")],
        ),
        None,
    );
    assert_eq!(result.code, Some(2), "{result:?}");
    // A username with a bidi override is shown with the override as a visible mark.
    let result = test_with(
        "https://evil\u{202E}.example/",
        "KEY@X.EXAMPLE",
        "secret",
        &[],
    );
    assert_eq!(result.code, Some(2), "{result:?}");
    assert!(!result.stdout.contains('\u{202E}'), "{}", result.stdout);
    assert!(result.stdout.contains("<U+202E>"), "{}", result.stdout);
}

/// Issue 16, finding 6: a secret on standard input that is not UTF-8 is invalid input.
#[test]
fn a_secret_on_stdin_that_is_not_utf8_exits_2() {
    use std::io::Write;
    let mut command = fusion(
        &[
            "autotask",
            "test",
            "--api-url",
            "https://webservices5.autotask.net/",
            "--username",
            "KEY@X.EXAMPLE",
            "--integration-code",
            "DEMOCODE",
            "--secret-stdin",
        ],
        &[],
    );
    command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("starts");
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(&[0xff, 0xfe, b's', 0x80])
        .expect("writes");
    let output = child.wait_with_output().expect("finishes");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not UTF-8"), "{stderr}");
}
