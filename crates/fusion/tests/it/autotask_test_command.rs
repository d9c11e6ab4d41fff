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
