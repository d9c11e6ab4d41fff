//! API tokens for scripts: created by a signed-in person (API or page), shown once, accepted as
//! `Authorization: Bearer`, and unable to mint further tokens.

use serde_json::json;

use crate::support::TestApp;

#[tokio::test]
async fn a_token_created_through_the_api_lets_a_script_work_without_cookies_or_csrf() {
    let app = TestApp::spawn().await;
    let mut browser = app.signed_in(&app.alice).await;
    let created = browser
        .post_json("/api/v1/me/api-tokens", &json!({"label": "nightly"}))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let token = created.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(created.json()["label"], "nightly");

    let mut script = app.browser();
    script.bearer_token = Some(token);
    let me = script.get("/api/v1/me").await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["auth"], "api_token");
    assert!(me.json().get("csrf_token").is_none());
    let saved = script
        .put_json_without_csrf(
            &format!("/api/v1/orgs/{}/platform", app.alice.org.id),
            &json!({"api_url": app.autotask.api_url, "username": app.autotask.username}),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);

    // A token cannot mint more tokens.
    let minted = script
        .post_json_without_csrf("/api/v1/me/api-tokens", &json!({}))
        .await;
    assert_eq!(minted.status, 403);
    assert_eq!(minted.json()["error"]["code"], "session_required");

    // Nor does a wrong token fall back to anything.
    script.bearer_token = Some("not-a-token".to_owned());
    assert_eq!(script.get("/api/v1/me").await.status, 401);
    app.stop().await;
}

#[tokio::test]
async fn creating_a_token_with_a_session_needs_the_csrf_header() {
    let app = TestApp::spawn().await;
    let mut browser = app.signed_in(&app.alice).await;
    let refused = browser
        .post_json_without_csrf("/api/v1/me/api-tokens", &json!({}))
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.json()["error"]["code"], "csrf_rejected");
    app.stop().await;
}

#[tokio::test]
async fn the_settings_page_creates_a_token_and_shows_it_once() {
    let app = TestApp::spawn().await;
    let mut browser = app.signed_in(&app.alice).await;
    let path = format!("/orgs/{}/api-tokens", app.alice.org.id);
    let page = browser.submit_form(&path, &[("label", "report")]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("shown only once"));
    let token = page
        .body
        .split("<code class=\"token\">")
        .nth(1)
        .and_then(|rest| rest.split("</code>").next())
        .expect("the token is on the page")
        .to_owned();
    let mut script = app.browser();
    script.bearer_token = Some(token);
    assert_eq!(script.get("/api/v1/me").await.status, 200);

    let again = browser
        .get(&format!("/orgs/{}/settings", app.alice.org.id))
        .await;
    assert!(
        !again.body.contains("<code class=\"token\">"),
        "shown only once"
    );

    // Another organisation's page route is a 404, like every other.
    let other = browser
        .submit_form(&format!("/orgs/{}/api-tokens", app.bob.org.id), &[])
        .await;
    assert_eq!(other.status, 404);
    app.stop().await;
}
