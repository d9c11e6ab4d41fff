//! `fusion sim`: one JSON ready line on stdout, a simulator that answers like Autotask, and a
//! clean exit on SIGTERM.

use crate::process::{Served, fusion, run};

#[tokio::test(flavor = "multi_thread")]
async fn sim_prints_one_ready_line_serves_zone_information_and_exits_cleanly_on_sigterm() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sim = tokio::task::spawn_blocking(|| {
        Served::start(fusion(&["sim", "--listen", "127.0.0.1:0"], &[]))
    })
    .await
    .unwrap();
    assert_eq!(sim.ready["ready"], true, "{}", sim.ready_line);
    let base_url = sim.ready["base_url"]
        .as_str()
        .expect("the ready line names base_url")
        .to_owned();
    assert!(base_url.starts_with("http://127.0.0.1:"), "{base_url}");
    let tenant = &sim.ready["tenants"][0];
    let zone = tenant["zone"].as_u64().expect("a tenant has a zone");
    let username = tenant["api_users"][0]["username"]
        .as_str()
        .expect("a tenant has an API user")
        .to_owned();

    let response = reqwest::Client::new()
        .get(format!(
            "{base_url}/webservices.autotask.net/ATServicesRest/V1.0/ZoneInformation"
        ))
        .query(&[("user", username.as_str())])
        .send()
        .await
        .expect("the simulator answers");
    assert_eq!(response.status(), 200);
    let zone_information: serde_json::Value =
        response.json().await.expect("ZoneInformation is JSON");
    let zone_url = zone_information["url"]
        .as_str()
        .expect("ZoneInformation names the zone URL");
    assert!(
        zone_url.starts_with(&format!(
            "{base_url}/webservices{zone}.autotask.net/ATServicesRest"
        )),
        "{zone_information}"
    );

    let (status, rest_of_stdout, stderr) = tokio::task::spawn_blocking(move || sim.terminate())
        .await
        .unwrap();
    assert!(status.success(), "exit {status:?}, stderr:\n{stderr}");
    assert_eq!(rest_of_stdout, "", "stdout carries only the ready line");
}

#[test]
fn sim_refuses_a_missing_seed_file_with_exit_2() {
    let result = run(
        fusion(
            &[
                "sim",
                "--listen",
                "127.0.0.1:0",
                "--seed",
                "/nonexistent/fusion-seed.toml",
            ],
            &[],
        ),
        None,
    );
    assert_eq!(result.code, Some(2), "{result:?}");
    assert!(
        result.stderr.contains("/nonexistent/fusion-seed.toml"),
        "{result:?}"
    );
    assert_eq!(result.stdout, "");
}

#[test]
fn sim_stops_cleanly_on_sigterm_sent_right_after_the_ready_line() {
    let sim = Served::start(fusion(&["sim", "--listen", "127.0.0.1:0"], &[]));
    let (status, rest_of_stdout, stderr) = sim.terminate();
    assert!(status.success(), "exit {status:?}, stderr:\n{stderr}");
    assert_eq!(rest_of_stdout, "");
}

#[test]
fn sim_serves_a_seed_file_and_autotask_test_connects_to_it_through_the_override() {
    let seed_file =
        std::env::temp_dir().join(format!("fusion-it-seed-{}.toml", std::process::id()));
    std::fs::write(
        &seed_file,
        r#"
integration_codes = ["SEEDTESTINTEGRATIONCODE0001"]

[[tenants]]
name = "Fabrikam"
zone = 14

[[tenants.api_users]]
username = "Q7ZK4N2XW8RTBHC@FABRIKAM.EXAMPLE"
secret = "seed-Secret-7#x"
"#,
    )
    .expect("the seed file can be written");
    let seed_file_text = seed_file.display().to_string();
    let sim = Served::start(fusion(
        &["sim", "--listen", "127.0.0.1:0", "--seed", &seed_file_text],
        &[],
    ));
    let tenants = sim.ready["tenants"].as_array().expect("tenants").clone();
    assert_eq!(tenants.len(), 1, "{}", sim.ready_line);
    assert_eq!(tenants[0]["name"], "Fabrikam");
    let base_url = sim.ready["base_url"].as_str().expect("base_url").to_owned();

    let result = run(
        fusion(
            &[
                "autotask",
                "test",
                "--api-url",
                "https://webservices14.autotask.net/",
                "--username",
                "Q7ZK4N2XW8RTBHC@FABRIKAM.EXAMPLE",
                "--integration-code",
                "SEEDTESTINTEGRATIONCODE0001",
                "--secret-stdin",
            ],
            &[("FUSION_AUTOTASK_OVERRIDE", &base_url)],
        ),
        Some("seed-Secret-7#x\n"),
    );
    assert_eq!(result.code, Some(0), "{result:?}");
    assert!(result.stdout.starts_with("Connection tested"), "{result:?}");
    assert!(result.stdout.contains("Zone: America East 2"), "{result:?}");
    assert!(
        !result.all_output().contains("seed-Secret-7#x"),
        "{result:?}"
    );

    let (status, _, stderr) = sim.terminate();
    assert!(status.success(), "exit {status:?}, stderr:\n{stderr}");
    let _ = std::fs::remove_file(&seed_file);
}
