//! No secret reaches the binary's own output, even with `RUST_LOG=trace` for every crate: a demo
//! (simulated Autotask, SQLite) where an organisation saves a freshly regenerated API secret and
//! tests the connection through the HTTP API, then a `fusion sync` of the demo connection. Neither
//! the API secret, nor the session token, nor the secret-encryption key may appear on the demo's
//! stderr (its log), on its stdout after the ready line (which shows the demo's own sign-in
//! details on purpose), or anywhere in the sync's output.

use reqwest::header::COOKIE;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::process::{Served, client, fresh_data_dir, fusion, run, sign_in};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_session_token_or_key_reaches_the_output_at_trace_level() {
    let data_dir = fresh_data_dir("trace-logs");
    let data_dir_text = data_dir.display().to_string();
    let demo_dir = data_dir_text.clone();
    let demo = tokio::task::spawn_blocking(move || {
        Served::start(fusion(
            &["demo", "--listen", "127.0.0.1:0", "--data-dir", &demo_dir],
            &[("RUST_LOG", "trace")],
        ))
    })
    .await
    .expect("the demo starts");
    let url = demo.ready["url"].as_str().expect("url").to_owned();
    let simulator_url = demo.ready["simulator"]["url"]
        .as_str()
        .expect("simulator url")
        .to_owned();
    let integration_code = demo.ready["simulator"]["integration_code"]
        .as_str()
        .expect("integration code")
        .to_owned();
    let relationship = demo.ready["relationship_id"]
        .as_str()
        .expect("relationship")
        .to_owned();
    let organisation = &demo.ready["orgs"][0];
    let tenant = demo.ready["simulator"]["tenants"]
        .as_array()
        .expect("tenants")
        .iter()
        .find(|tenant| tenant["org"] == organisation["name"])
        .expect("the organisation's tenant")
        .clone();
    let client = client();

    // A secret nobody has seen yet: regenerated in the simulated Autotask, as an admin would.
    let username = tenant["username"].as_str().expect("username");
    let mut regenerate = url::Url::parse(&simulator_url).expect("the simulator URL");
    regenerate
        .path_segments_mut()
        .expect("a base URL")
        .pop_if_empty()
        .extend([
            "_sim",
            "tenants",
            tenant["name"].as_str().expect("name"),
            "api-users",
            username,
            "regenerate-secret",
        ]);
    let regenerated: Value = client
        .post(regenerate)
        .send()
        .await
        .expect("the simulator answers")
        .json()
        .await
        .expect("JSON");
    let api_secret = regenerated["secret"]
        .as_str()
        .expect("a new secret")
        .to_owned();
    assert!(api_secret.len() >= 8, "{regenerated}");

    let cookie = sign_in(
        &client,
        &url,
        organisation["email"].as_str().expect("email"),
        organisation["password"].as_str().expect("password"),
    )
    .await;
    let session_token = cookie
        .strip_prefix("fusion_session=")
        .expect("the session cookie")
        .to_owned();
    let me: Value = client
        .get(format!("{url}api/v1/me"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .expect("/api/v1/me answers")
        .json()
        .await
        .expect("JSON");
    let org_id = me["organisation"]["id"]
        .as_str()
        .expect("org id")
        .to_owned();
    let csrf = me["csrf_token"].as_str().expect("csrf token").to_owned();

    let saved = client
        .put(format!("{url}api/v1/orgs/{org_id}/platform"))
        .header(COOKIE, &cookie)
        .header("x-csrf-token", &csrf)
        .json(&json!({
            "platform": "autotask",
            "api_url": tenant["api_url"],
            "username": username,
            "secret": api_secret,
        }))
        .send()
        .await
        .expect("save answers");
    assert_eq!(saved.status(), 200, "{:?}", saved.text().await);
    let tested: Value = client
        .post(format!("{url}api/v1/orgs/{org_id}/platform/test"))
        .header(COOKIE, &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .expect("test answers")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        tested["status"], "Connection tested",
        "the saved secret works: {tested}"
    );

    let since = (OffsetDateTime::now_utc() - time::Duration::days(1))
        .date()
        .to_string();
    let sync_dir = data_dir_text.clone();
    let sync = tokio::task::spawn_blocking(move || {
        run(
            fusion(
                &[
                    "sync",
                    "--relationship",
                    &relationship,
                    "--data-dir",
                    &sync_dir,
                    "--since",
                    &since,
                    "--json",
                ],
                &[
                    ("RUST_LOG", "trace"),
                    ("FUSION_AUTOTASK_OVERRIDE", &simulator_url),
                    ("FUSION_AUTOTASK_INTEGRATION_CODE", &integration_code),
                ],
            ),
            None,
        )
    })
    .await
    .expect("the sync runs");
    let report: Value = serde_json::from_str(
        sync.stdout
            .lines()
            .last()
            .expect("the sync prints its report"),
    )
    .unwrap_or_else(|_| panic!("a JSON report: {}", sync.all_output()));
    assert!(report.is_object(), "{report}");

    let (_status, demo_stdout_after_ready, demo_stderr) =
        tokio::task::spawn_blocking(move || demo.terminate())
            .await
            .expect("the demo stops");

    let key_text = std::fs::read_to_string(data_dir.join("fusion.key")).expect("the key file");
    let key_base64 = key_text.trim().to_owned();
    let key_bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &key_base64)
        .expect("the key is base64");
    let looked_in = [
        ("demo stderr", demo_stderr.as_str()),
        (
            "demo stdout after the ready line",
            demo_stdout_after_ready.as_str(),
        ),
        ("sync stdout", sync.stdout.as_str()),
        ("sync stderr", sync.stderr.as_str()),
    ];
    assert!(
        demo_stderr.contains("TRACE") || demo_stderr.contains("trace"),
        "the demo logged at trace level"
    );
    assert!(
        sync.stderr.to_lowercase().contains("trace"),
        "the sync logged at trace level: {}",
        sync.stderr
    );
    for (name, output) in looked_in {
        for (what, needle) in [
            ("the API secret", api_secret.as_str()),
            ("the session token", session_token.as_str()),
            ("the secret key (base64)", key_base64.as_str()),
            ("the secret key (hex)", hex(&key_bytes).as_str()),
        ] {
            assert!(
                !output.contains(needle),
                "{what} appears in the {name}:\n{}",
                output
                    .lines()
                    .filter(|line| line.contains(needle))
                    .take(3)
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
    let _ = std::fs::remove_dir_all(&data_dir);
}
