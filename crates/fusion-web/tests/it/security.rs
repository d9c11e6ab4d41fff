//! Issue 16 (security hardening from an outside review): each finding the web layer fixes, as a
//! user or an attacker would meet it.

use reqwest::Method;
use serde_json::json;

use crate::support::TestApp;

/// Finding 1: connection tests are limited per person (and per organisation), so one
/// organisation cannot hammer Autotask with another's API username.
#[tokio::test]
async fn connection_tests_are_limited_per_person_and_say_when_to_try_again() {
    let app = TestApp::spawn().await;
    let mut browser = app.signed_in(&app.alice).await;
    let path = format!("/api/v1/orgs/{}/platform/test", app.alice.org.id);
    let guess = json!({
        "api_url": app.autotask.api_url,
        "username": app.autotask.username,
        "secret": "a-wrong-guess",
    });
    for _ in 0..5 {
        let reply = browser.post_json(&path, &guess).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let refused = browser.post_json(&path, &guess).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    let body = refused.json();
    assert_eq!(body["error"]["code"], "connection_tests_limited");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("try again in"), "{message}");
    let retry_after: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");

    // The Settings page says the same instead of running the test.
    let page = browser
        .submit_form(
            &format!("/orgs/{}/settings/test", app.alice.org.id),
            &[
                ("api_url", app.autotask.api_url.as_str()),
                ("username", app.autotask.username.as_str()),
            ],
        )
        .await;
    assert_eq!(page.status, 429);
    assert!(page.body.contains("try again in"), "{}", page.body);

    // Another organisation is not affected.
    let mut bob = app.signed_in(&app.bob).await;
    let reply = bob
        .post_json(
            &format!("/api/v1/orgs/{}/platform/test", app.bob.org.id),
            &guess,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    app.stop().await;
}

/// Finding 7: JSON routes take only `application/json`.
#[tokio::test]
async fn json_routes_refuse_text_plain_forms_and_bodies_without_a_content_type() {
    let app = TestApp::spawn().await;
    let mut browser = app.signed_in(&app.alice).await;
    let path = format!("/api/v1/orgs/{}/platform", app.alice.org.id);
    let body = json!({
        "platform": "autotask",
        "api_url": app.autotask.api_url,
        "username": app.autotask.username,
        "secret": app.autotask.secret,
    })
    .to_string();
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let reply = browser
            .send_raw(Method::PUT, &path, content_type, &body, &[])
            .await;
        assert_eq!(reply.status, 415, "{content_type:?}: {}", reply.body);
        assert_eq!(reply.json()["error"]["code"], "unsupported_media_type");
    }
    // Nothing was saved by any of them.
    let saved = browser.get(&path).await.json();
    assert!(
        saved["api_url"].as_str().unwrap_or_default().is_empty(),
        "{saved}"
    );
    // application/json (with a charset) is fine, and so is a bodiless test of saved values.
    let reply = browser
        .send_raw(
            Method::PUT,
            &path,
            Some("application/json; charset=utf-8"),
            &body,
            &[],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = browser
        .send_raw(Method::POST, &format!("{path}/test"), None, "", &[])
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    // The configuration routes too.
    let relationships = browser
        .send_raw(
            Method::POST,
            &format!("/api/v1/orgs/{}/relationships", app.alice.org.id),
            Some("text/plain"),
            r#"{"contract_name":"X","role":"source"}"#,
            &[],
        )
        .await;
    assert_eq!(relationships.status, 415, "{}", relationships.body);
    app.stop().await;
}

/// Finding 8: with a metrics token, `/metrics` needs it; with a separate metrics listener, the
/// main listener does not serve `/metrics` at all, and the separate router does.
#[tokio::test]
async fn metrics_can_need_a_bearer_token_or_live_on_a_separate_listener() {
    let handle = fusion_web::metrics::install_global_recorder().expect("the recorder installs");
    let app = TestApp::spawn_with(crate::support::AppOptions {
        metrics: Some(handle.clone()),
        web: fusion_web::WebSettings {
            metrics_token: Some(secrecy::SecretString::from("scrape-token-3f9".to_owned())),
            ..fusion_web::WebSettings::default()
        },
        ..crate::support::AppOptions::default()
    })
    .await;
    let mut browser = app.browser();
    let refused = browser.get("/metrics").await;
    assert_eq!(refused.status, 401);
    assert!(!refused.body.contains("fusion_"), "{}", refused.body);
    browser.bearer_token = Some("wrong".to_owned());
    assert_eq!(browser.get("/metrics").await.status, 401);
    browser.bearer_token = Some("scrape-token-3f9".to_owned());
    let scraped = browser.get("/metrics").await;
    assert_eq!(scraped.status, 200);
    assert!(scraped.body.contains("fusion_http_requests_total"));
    app.stop().await;

    let app = TestApp::spawn_with(crate::support::AppOptions {
        metrics: Some(handle.clone()),
        web: fusion_web::WebSettings {
            metrics_on_main_listener: false,
            ..fusion_web::WebSettings::default()
        },
        ..crate::support::AppOptions::default()
    })
    .await;
    assert_eq!(app.browser().get("/metrics").await.status, 404);
    app.stop().await;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(fusion_web::serve(
        listener,
        fusion_web::metrics_router(handle, None),
        std::future::pending(),
    ));
    let text = reqwest::get(format!("http://{address}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("fusion_http_requests_total"), "{text}");
    let other = reqwest::get(format!("http://{address}/api/v1/me"))
        .await
        .unwrap();
    assert_eq!(other.status().as_u16(), 404);
    server.abort();
}

/// Finding 6: a username with CR/LF or NUL, or a value longer than Autotask's field, is refused
/// on save with the field named, and nothing is stored; echoed values show bidi controls as
/// visible marks.
#[tokio::test]
async fn saving_a_username_with_line_breaks_or_nul_or_an_oversized_secret_is_refused() {
    let app = TestApp::spawn().await;
    let mut browser = app.signed_in(&app.alice).await;
    let path = format!("/api/v1/orgs/{}/platform", app.alice.org.id);
    let long_secret = "S".repeat(5_000);
    for (username, secret, field) in [
        ("KEY@X.EXAMPLE\r\nX-Injected: 1", "secret", "username"),
        ("KEY@X\0.EXAMPLE", "secret", "username"),
        ("KEY@X\u{202E}.EXAMPLE", "secret", "username"),
        ("KEY@X.EXAMPLE", long_secret.as_str(), "secret"),
    ] {
        let reply = browser
            .put_json(
                &path,
                &json!({
                    "api_url": app.autotask.api_url,
                    "username": username,
                    "secret": secret,
                }),
            )
            .await;
        assert_eq!(reply.status, 422, "{username:?}: {}", reply.body);
        let error = &reply.json()["error"];
        assert_eq!(error["code"], "invalid_value", "{error}");
        assert_eq!(error["field"], field, "{error}");
        assert!(!reply.body.contains(&long_secret));
    }
    let saved = browser.get(&path).await.json();
    assert!(
        saved["username"].as_str().unwrap_or_default().is_empty(),
        "{saved}"
    );

    // An unsupported platform name is echoed with its bidi override made visible.
    let reply = browser
        .put_json(
            &path,
            &json!({
                "platform": "auto\u{202E}ksat",
                "api_url": app.autotask.api_url,
                "username": app.autotask.username,
            }),
        )
        .await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    let message = reply.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("<U+202E>"), "{message}");
    assert!(!message.contains('\u{202E}'), "{message}");
    app.stop().await;
}
