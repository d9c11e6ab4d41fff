//! The API secret appears nowhere in plaintext: not in API responses, pages or error messages,
//! not in the log (captured at TRACE for the whole flow), and not in the SQLite file.

use serde_json::json;

use crate::support::{TestApp, captured_log};

#[tokio::test]
async fn the_api_secret_never_appears_in_responses_pages_logs_or_the_database_file() {
    let app = TestApp::spawn().await;
    let secret = app.autotask.secret.clone();
    let wrong_secret = "WrongSecretThatMustNotLeak42";
    let org = app.alice.org.id;
    let mut browser = app.signed_in(&app.alice).await;
    let api = format!("/api/v1/orgs/{org}/platform");
    let page = format!("/orgs/{org}/settings");

    // API: save with a pasted newline, read, test, audit, a refused save, a failing test.
    let saved = browser
        .put_json(
            &api,
            &json!({"api_url": app.autotask.api_url, "username": app.autotask.username, "secret": format!("{secret}\n")}),
        )
        .await;
    assert_eq!(saved.status, 200);
    browser.get(&api).await;
    let tested = browser.post_json(&format!("{api}/test"), &json!({})).await;
    assert_eq!(
        tested.json()["status"],
        "Connection tested",
        "{}",
        tested.body
    );
    browser.get(&format!("{api}/audit")).await;
    let refused = browser
        .put_json(&api, &json!({"api_url": "https://ww5.autotask.net/", "username": app.autotask.username, "secret": secret}))
        .await;
    assert_eq!(refused.status, 422);
    browser
        .put_json(
            &api,
            &json!({"api_url": {"nested": secret}, "secret": secret}),
        )
        .await;
    browser
        .post_json(&format!("{api}/test"), &json!({"secret": wrong_secret}))
        .await;

    // Pages: settings, a form save, a form save with a portal URL, tests from the form.
    browser.get(&page).await;
    browser
        .submit_form(
            &page,
            &[
                ("platform", "autotask"),
                ("api_url", &app.autotask.api_url),
                ("username", &app.autotask.username),
                ("secret", &secret),
            ],
        )
        .await;
    let portal = browser
        .submit_form(
            &page,
            &[
                ("platform", "autotask"),
                ("api_url", "https://ww5.autotask.net/"),
                ("username", &app.autotask.username),
                ("secret", &secret),
            ],
        )
        .await;
    assert_eq!(portal.status, 422);
    browser
        .submit_form(
            &format!("{page}/test"),
            &[
                ("api_url", &app.autotask.api_url),
                ("username", &app.autotask.username),
                ("secret", ""),
            ],
        )
        .await;
    browser
        .submit_form(
            &format!("{page}/test"),
            &[
                ("api_url", &app.autotask.api_url),
                ("username", &app.autotask.username),
                ("secret", wrong_secret),
            ],
        )
        .await;
    browser.get(&page).await;

    for body in &browser.seen_bodies {
        assert!(
            !body.contains(&secret),
            "a response contained the secret: {body}"
        );
        assert!(
            !body.contains(wrong_secret),
            "a response contained a typed secret: {body}"
        );
    }

    let log = captured_log();
    assert!(
        log.contains("connection tested"),
        "the log was captured during the flow"
    );
    assert!(!log.contains(&secret), "the log contains the API secret");
    assert!(
        !log.contains(wrong_secret),
        "the log contains a typed secret"
    );
    let session = browser.session_cookie.clone().unwrap();
    assert!(!log.contains(&session), "the log contains a session token");

    let database = app.database_bytes();
    assert!(!database.is_empty());
    let contains = |needle: &[u8]| {
        database
            .windows(needle.len())
            .any(|window| window == needle)
    };
    assert!(
        contains(app.autotask.username.as_bytes()),
        "the database file was read"
    );
    assert!(
        !contains(secret.as_bytes()),
        "the SQLite file holds the secret in plaintext"
    );
    app.stop().await;
}
