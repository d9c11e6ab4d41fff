//! `fusion demo`: starts with one JSON ready line, serves the web app, both demo organisations
//! can sign in and their saved Autotask credentials test as "Connection tested", and it stops
//! on SIGTERM.

use std::path::PathBuf;

use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};

use crate::process::{Served, fusion};

/// A fresh, empty data directory for one demo run.
fn fresh_data_dir(label: &str) -> PathBuf {
    let directory = std::env::temp_dir().join(format!("fusion-it-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    directory
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client builds")
}

/// Signs in through the sign-in form as a browser would; returns the session cookie.
async fn sign_in(client: &reqwest::Client, url: &str, email: &str, password: &str) -> String {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("email", email)
        .append_pair("password", password)
        .finish();
    let response = client
        .post(format!("{url}sign-in"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("sign-in answers");
    assert!(
        response.status().is_redirection(),
        "sign-in as {email}: {}",
        response.status()
    );
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with("fusion_session="))
        .and_then(|value| value.split(';').next())
        .unwrap_or_else(|| panic!("signing in as {email} sets the session cookie"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_starts_both_organisations_sign_in_and_test_their_connection_then_stops_on_sigterm() {
    let data_dir = fresh_data_dir("demo");
    let data_dir_text = data_dir.display().to_string();
    let demo = tokio::task::spawn_blocking(move || {
        Served::start(fusion(
            &[
                "demo",
                "--listen",
                "127.0.0.1:0",
                "--data-dir",
                &data_dir_text,
            ],
            &[],
        ))
    })
    .await
    .unwrap();
    assert_eq!(demo.ready["ready"], true, "{}", demo.ready_line);
    let url = demo.ready["url"]
        .as_str()
        .expect("the ready line names the URL")
        .to_owned();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with('/'),
        "{url}"
    );
    let orgs = demo.ready["orgs"]
        .as_array()
        .expect("the ready line lists the organisations")
        .clone();
    assert_eq!(orgs.len(), 2, "{}", demo.ready_line);
    assert!(
        demo.ready["simulator"]["url"].is_string(),
        "{}",
        demo.ready_line
    );
    assert!(
        data_dir.join("fusion.key").exists(),
        "the key file sits in the data directory"
    );

    let client = client();
    let health = client
        .get(format!("{url}healthz"))
        .send()
        .await
        .expect("the app answers");
    assert_eq!(health.status(), 200);

    let mut names = Vec::new();
    for org in &orgs {
        let name = org["name"].as_str().expect("name").to_owned();
        let email = org["email"].as_str().expect("email");
        let password = org["password"].as_str().expect("password");
        let cookie = sign_in(&client, &url, email, password).await;

        let me: serde_json::Value = client
            .get(format!("{url}api/v1/me"))
            .header(COOKIE, &cookie)
            .send()
            .await
            .expect("/api/v1/me answers")
            .json()
            .await
            .expect("/api/v1/me is JSON");
        assert_eq!(me["organisation"]["name"], name.as_str(), "{me}");
        let org_id = me["organisation"]["id"]
            .as_str()
            .expect("organisation id")
            .to_owned();
        let csrf_token = me["csrf_token"]
            .as_str()
            .expect("a session gets a CSRF token")
            .to_owned();

        let settings_page = client
            .get(format!("{url}orgs/{org_id}/settings"))
            .header(COOKIE, &cookie)
            .send()
            .await
            .expect("Settings answers");
        assert_eq!(settings_page.status(), 200);
        let html = settings_page.text().await.expect("Settings has a body");
        assert!(
            html.contains("Test connection"),
            "Settings offers Test connection"
        );
        assert!(
            html.contains("https://webservices"),
            "the demo API URL is already entered"
        );

        let report: serde_json::Value = client
            .post(format!("{url}api/v1/orgs/{org_id}/platform/test"))
            .header(COOKIE, &cookie)
            .header("x-csrf-token", csrf_token)
            .header(CONTENT_TYPE, "application/json")
            .body("{}")
            .send()
            .await
            .expect("the connection test answers")
            .json()
            .await
            .expect("the test result is JSON");
        assert_eq!(report["status"], "Connection tested", "{name}: {report}");
        assert_eq!(report["tested_values"], "saved", "{report}");
        names.push(name);
    }
    assert!(names.contains(&"Northwind IT".to_owned()), "{names:?}");
    assert!(
        names.contains(&"Contoso Manufacturing".to_owned()),
        "{names:?}"
    );

    let (status, rest_of_stdout, stderr) = tokio::task::spawn_blocking(move || demo.terminate())
        .await
        .unwrap();
    assert!(status.success(), "exit {status:?}, stderr:\n{stderr}");
    assert!(
        rest_of_stdout.contains("Support Fusion demo is running"),
        "{rest_of_stdout}"
    );
    assert!(
        rest_of_stdout.contains("Test connection"),
        "{rest_of_stdout}"
    );
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[test]
fn demo_stops_cleanly_on_sigterm_sent_right_after_the_ready_line() {
    let data_dir = fresh_data_dir("demo-quick-stop");
    let data_dir_text = data_dir.display().to_string();
    let demo = Served::start(fusion(
        &[
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            &data_dir_text,
        ],
        &[],
    ));
    let (status, rest_of_stdout, stderr) = demo.terminate();
    assert!(status.success(), "exit {status:?}, stderr:\n{stderr}");
    assert!(rest_of_stdout.contains("Demo stopped"), "{rest_of_stdout}");
    let _ = std::fs::remove_dir_all(&data_dir);
}
