//! CSRF: every form POST needs the session's token, and cookie-authenticated JSON writes need the
//! X-CSRF-Token header.

use serde_json::json;

use crate::support::TestApp;

#[tokio::test]
async fn form_posts_without_or_with_a_wrong_csrf_token_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let mut browser = app.signed_in(&app.alice).await;
    let path = format!("/orgs/{}/settings", app.alice.org.id);
    let fields = [
        ("platform", "autotask"),
        ("api_url", app.autotask.api_url.as_str()),
        ("username", "attacker-chosen@example.com"),
        ("secret", "attacker-chosen"),
    ];
    let without = browser.post_form(&path, &fields).await;
    assert_eq!(without.status, 403);
    assert!(without.body.contains("Form expired"));

    let mut wrong: Vec<(&str, &str)> =
        vec![("csrf_token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")];
    wrong.extend_from_slice(&fields);
    assert_eq!(browser.post_form(&path, &wrong).await.status, 403);
    assert_eq!(
        browser
            .post_form(&format!("{path}/test"), &wrong)
            .await
            .status,
        403
    );
    assert_eq!(
        browser
            .post_form("/sign-out", &[("csrf_token", "nope")])
            .await
            .status,
        403
    );

    let platform = browser
        .get(&format!("/api/v1/orgs/{}/platform", app.alice.org.id))
        .await
        .json();
    assert_eq!(platform["username"], "", "nothing was saved");
    assert_eq!(
        browser.get("/api/v1/me").await.status,
        200,
        "still signed in"
    );

    // With the right token the same form works.
    let accepted = browser.submit_form(&path, &fields).await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    app.stop().await;
}

#[tokio::test]
async fn a_csrf_token_from_another_session_is_refused() {
    let app = TestApp::spawn().await;
    let mut alice = app.signed_in(&app.alice).await;
    let alice_again = app.signed_in(&app.alice).await;
    alice.csrf_token = alice_again.csrf_token.clone();
    let reply = alice
        .put_json(
            &format!("/api/v1/orgs/{}/platform", app.alice.org.id),
            &json!({"api_url": app.autotask.api_url, "username": "x"}),
        )
        .await;
    assert_eq!(reply.status, 403);
    app.stop().await;
}

#[tokio::test]
async fn json_writes_with_a_session_cookie_but_no_csrf_header_are_refused() {
    let app = TestApp::spawn().await;
    let mut browser = app.signed_in(&app.alice).await;
    let path = format!("/api/v1/orgs/{}/platform", app.alice.org.id);
    let body = json!({"api_url": app.autotask.api_url, "username": "someone"});
    let put = browser.put_json_without_csrf(&path, &body).await;
    assert_eq!(put.status, 403);
    assert_eq!(put.json()["error"]["code"], "csrf_rejected");
    let test = browser
        .post_json_without_csrf(&format!("{path}/test"), &json!({}))
        .await;
    assert_eq!(test.status, 403);
    assert_eq!(browser.get(&path).await.json()["username"], "");
    // Reads need no token.
    assert_eq!(browser.get(&path).await.status, 200);
    app.stop().await;
}

#[tokio::test]
async fn get_requests_never_change_state() {
    let app = TestApp::spawn().await;
    let mut browser = app.signed_in(&app.alice).await;
    let org = app.alice.org.id;
    assert_eq!(browser.get("/sign-out").await.status, 405);
    assert_eq!(
        browser
            .get(&format!("/orgs/{org}/settings/test"))
            .await
            .status,
        405
    );
    assert_eq!(
        browser.get(&format!("/orgs/{org}/api-tokens")).await.status,
        405
    );
    assert_eq!(
        browser
            .get(&format!("/api/v1/orgs/{org}/platform/test"))
            .await
            .status,
        405
    );
    assert_eq!(
        browser.get("/api/v1/me").await.status,
        200,
        "still signed in"
    );
    let platform = browser
        .get(&format!("/api/v1/orgs/{org}/platform"))
        .await
        .json();
    assert_eq!(
        platform["last_test"],
        serde_json::Value::Null,
        "no test was run"
    );
    app.stop().await;
}

#[tokio::test]
async fn page_form_posts_check_sign_in_then_organisation_then_token_before_looking_anything_up() {
    let app = TestApp::spawn().await;
    let alice = app.alice.org.id;
    let bob = app.bob.org.id;
    let unknown = "01900000-0000-7000-8000-000000000000";
    let writes = [
        format!("/orgs/{alice}/settings"),
        format!("/orgs/{alice}/connections/{unknown}/pause"),
        format!("/orgs/{alice}/connections/{unknown}/configuration"),
        format!("/orgs/{alice}/connections/{unknown}/mappings/{unknown}/delete"),
        format!("/orgs/{alice}/connections/{unknown}/description/remove"),
        format!("/orgs/{alice}/sync/{unknown}/run"),
    ];

    let mut anonymous = app.browser();
    for path in &writes {
        let reply = anonymous.post_form(path, &[("csrf_token", "nope")]).await;
        assert_eq!(reply.status, 303, "{path}");
        assert_eq!(reply.header("location").as_deref(), Some("/sign-in"));
    }

    let mut browser = app.signed_in(&app.alice).await;
    for path in &writes {
        let other_org = path.replace(&alice.to_string(), &bob.to_string());
        let reply = browser.post_form(&other_org, &[]).await;
        assert_eq!(reply.status, 404, "{other_org}");

        let reply = browser.post_form(path, &[("csrf_token", "nope")]).await;
        assert_eq!(reply.status, 403, "{path}");
        assert!(reply.body.contains("Form expired"), "{path}");
    }
    for path in &writes[1..] {
        let reply = browser.submit_form(path, &[]).await;
        assert_eq!(reply.status, 404, "{path}");
        assert!(reply.body.contains("Page not found"), "{path}");
    }
    app.stop().await;
}
