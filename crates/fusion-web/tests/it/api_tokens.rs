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

/// Issue 16, finding 4: tokens expire after 90 days unless another expiry (or, explicitly,
/// "never") is chosen; they are listed without the token itself; revoking one stops it on the
/// very next request; nobody can revoke another person's token.
#[tokio::test]
async fn tokens_expire_by_default_are_listed_and_a_revoked_token_stops_at_once() {
    let app = TestApp::spawn().await;
    let mut browser = app.signed_in(&app.alice).await;
    let default = browser
        .post_json("/api/v1/me/api-tokens", &json!({"label": "nightly"}))
        .await;
    assert_eq!(default.status, 201, "{}", default.body);
    let expires_at = default.json()["expires_at"].as_str().unwrap().to_owned();
    let expires =
        time::OffsetDateTime::parse(&expires_at, &time::format_description::well_known::Rfc3339)
            .unwrap();
    let days = (expires - time::OffsetDateTime::now_utc()).whole_days();
    assert!((89..=90).contains(&days), "{expires_at}");

    let forever = browser
        .post_json(
            "/api/v1/me/api-tokens",
            &json!({"label": "monitoring", "expires_in_days": "never"}),
        )
        .await;
    assert_eq!(forever.status, 201, "{}", forever.body);
    assert!(forever.json()["expires_at"].is_null());
    for bad in [json!(0), json!(100_000), json!("soon"), json!(true)] {
        let refused = browser
            .post_json(
                "/api/v1/me/api-tokens",
                &json!({"label": "x", "expires_in_days": bad}),
            )
            .await;
        assert_eq!(refused.status, 422, "{bad}: {}", refused.body);
        assert_eq!(refused.json()["error"]["code"], "invalid_expiry");
    }

    let listed = browser.get("/api/v1/me/api-tokens").await;
    assert_eq!(listed.status, 200);
    let tokens = listed.json()["tokens"].as_array().unwrap().clone();
    assert_eq!(tokens.len(), 2, "{tokens:?}");
    let token = default.json()["token"].as_str().unwrap().to_owned();
    assert!(!listed.body.contains(&token), "a list never shows a token");
    let nightly = tokens.iter().find(|t| t["label"] == "nightly").unwrap();
    assert_eq!(nightly["expires_at"], expires_at.as_str());
    assert_eq!(nightly["expired"], false);

    // The script uses it; its use shows up.
    let mut script = app.browser();
    script.bearer_token = Some(token.clone());
    assert_eq!(script.get("/api/v1/me").await.status, 200);
    let listed = browser.get("/api/v1/me/api-tokens").await.json();
    assert!(
        !listed["tokens"][1]["last_used_at"].is_null()
            || !listed["tokens"][0]["last_used_at"].is_null()
    );

    // Bob can neither see nor revoke Alice's token.
    let mut bob = app.signed_in(&app.bob).await;
    let id = default.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(
        bob.get("/api/v1/me/api-tokens").await.json()["tokens"],
        json!([])
    );
    let refused = bob
        .send_raw(
            reqwest::Method::DELETE,
            &format!("/api/v1/me/api-tokens/{id}"),
            None,
            "",
            &[],
        )
        .await;
    assert_eq!(refused.status, 404);
    assert_eq!(script.get("/api/v1/me").await.status, 200);

    // Alice revokes it: the very next request with it is refused.
    let revoked = browser
        .send_raw(
            reqwest::Method::DELETE,
            &format!("/api/v1/me/api-tokens/{id}"),
            None,
            "",
            &[],
        )
        .await;
    assert_eq!(revoked.status, 204, "{}", revoked.body);
    assert_eq!(script.get("/api/v1/me").await.status, 401);
    app.stop().await;
}

/// Issue 16, finding 4: the API tokens page in Settings lists tokens, creates one with a chosen
/// expiry (shown once), and revokes one.
#[tokio::test]
async fn the_api_tokens_page_lists_creates_with_an_expiry_and_revokes() {
    let app = TestApp::spawn().await;
    let mut browser = app.signed_in(&app.alice).await;
    let path = format!("/orgs/{}/settings/api-tokens", app.alice.org.id);
    let empty = browser.get(&path).await;
    assert_eq!(empty.status, 200, "{}", empty.body);
    assert!(empty.body.contains("You have no API tokens."));
    let settings = browser
        .get(&format!("/orgs/{}/settings", app.alice.org.id))
        .await;
    assert!(settings.body.contains(&path), "Settings links the page");

    let created = browser
        .submit_form(&path, &[("label", "backup job"), ("expires", "never")])
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert!(created.body.contains("shown only once"));
    let token = created
        .body
        .split("<code class=\"token\">")
        .nth(1)
        .and_then(|rest| rest.split("</code>").next())
        .unwrap()
        .to_owned();
    assert!(created.body.contains("backup job"));
    let listed = browser.get(&path).await;
    assert!(!listed.body.contains(&token), "shown only once");
    let revoke_url = listed
        .body
        .split("action=\"")
        .find(|part| part.contains("/revoke\""))
        .and_then(|part| part.split('"').next())
        .unwrap()
        .to_owned();
    let mut script = app.browser();
    script.bearer_token = Some(token);
    assert_eq!(script.get("/api/v1/me").await.status, 200);
    let revoked = browser.submit_form(&revoke_url, &[]).await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert!(revoked.body.contains("Token revoked"));
    assert!(revoked.body.contains("You have no API tokens."));
    assert_eq!(script.get("/api/v1/me").await.status, 401);

    // Another organisation's tokens page is a 404.
    assert_eq!(
        browser
            .get(&format!("/orgs/{}/settings/api-tokens", app.bob.org.id))
            .await
            .status,
        404
    );
    app.stop().await;
}
