//! The pages without JavaScript: Settings saves and tests through plain forms, the portal-URL
//! "Use this" correction, the result panel, escaping, the stylesheet and security headers.

use crate::support::{AppOptions, TestApp};

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    let mut browser = app.browser();
    for path in [
        "/sign-in",
        "/static/fusion.css",
        "/api/v1/me",
        "/no-such-page",
        "/healthz",
    ] {
        let reply = browser.get(path).await;
        let csp = reply.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("default-src 'self'"), "{path}: {csp}");
        assert_eq!(
            reply.header("x-frame-options").as_deref(),
            Some("DENY"),
            "{path}"
        );
        assert_eq!(
            reply.header("x-content-type-options").as_deref(),
            Some("nosniff"),
            "{path}"
        );
        assert!(reply.header("referrer-policy").is_some(), "{path}");
        assert!(
            reply.header("strict-transport-security").is_none(),
            "no HSTS over plain http"
        );
    }
    let css = browser.get("/static/fusion.css").await;
    assert_eq!(
        css.header("content-type").as_deref(),
        Some("text/css; charset=utf-8")
    );
    assert!(css.body.contains(".result--success"));
    app.stop().await;
}

#[tokio::test]
async fn settings_page_works_without_javascript_and_never_prefills_the_secret() {
    let app = TestApp::spawn().await;
    let mut browser = app.signed_in(&app.alice).await;
    let page_path = format!("/orgs/{}/settings", app.alice.org.id);
    let empty = browser.get(&page_path).await;
    assert_eq!(empty.status, 200);
    assert!(!empty.body.contains("<script"), "no JavaScript needed");
    assert!(empty.body.contains("Not set"));
    assert!(empty.body.contains("not your own email address"));
    assert!(
        empty.body.contains("webservices2.autotask.net"),
        "explains the ww → webservices rule"
    );

    let saved = browser
        .submit_form(
            &page_path,
            &[
                ("platform", "autotask"),
                ("api_url", &app.autotask.api_url),
                ("username", &app.autotask.username),
                ("secret", &format!("{}\r\n", app.autotask.secret)),
            ],
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert!(saved.body.contains("Saved."));
    assert!(
        saved.body.contains("API secret."),
        "trimming is reported: {}",
        saved.body
    );
    assert!(saved.body.contains("Set — last changed"));
    assert!(saved.body.contains("Change history"));
    assert!(
        saved
            .body
            .contains("<td>API secret</td><td>Test Person</td>"),
        "{}",
        saved.body
    );
    assert!(saved.body.contains("name=\"secret\" type=\"password\""));
    assert!(
        saved
            .body
            .contains("value=\"\" aria-describedby=\"secret_status"),
        "the secret box stays empty"
    );

    // Test connection from the page with the form unchanged: tests the saved values.
    let tested = browser
        .submit_form(
            &format!("{page_path}/test"),
            &[
                ("platform", "autotask"),
                ("api_url", &app.autotask.api_url),
                ("username", &app.autotask.username),
                ("secret", ""),
            ],
        )
        .await;
    assert_eq!(tested.status, 200);
    assert!(tested.body.contains("Connection tested"), "{}", tested.body);
    assert!(tested.body.contains("Tested the saved settings."));
    assert!(tested.body.contains("result--success"));
    assert!(tested.body.contains("requests"), "API usage is shown");

    // With an unsaved wrong secret in the form: the form values are tested, nothing is saved.
    let failed = browser
        .submit_form(
            &format!("{page_path}/test"),
            &[
                ("platform", "autotask"),
                ("api_url", &app.autotask.api_url),
                ("username", &app.autotask.username),
                ("secret", "wrong"),
            ],
        )
        .await;
    assert!(failed.body.contains("Test failed"));
    assert!(failed.body.contains(">What to do</h3>"));
    assert!(
        failed
            .body
            .contains("<li>The API secret was copied in full"),
        "what to do is a list of steps: {}",
        failed.body
    );
    assert!(failed.body.contains("They are not saved yet"));
    assert!(failed.body.contains("result--failure"));
    let reloaded = browser.get(&page_path).await;
    assert!(
        reloaded.body.contains("Connection tested"),
        "the last stored result is still the saved test"
    );
    assert!(reloaded.body.contains("Last test of the saved settings."));
    app.stop().await;
}

#[tokio::test]
async fn a_portal_url_on_save_offers_the_api_url_with_one_click_and_keeps_what_was_typed() {
    let app = TestApp::spawn().await;
    let mut browser = app.signed_in(&app.alice).await;
    let page_path = format!("/orgs/{}/settings", app.alice.org.id);
    let reply = browser
        .submit_form(
            &page_path,
            &[
                ("platform", "autotask"),
                ("api_url", "https://ww2.autotask.net/"),
                ("username", &app.autotask.username),
                ("secret", &app.autotask.secret),
            ],
        )
        .await;
    assert_eq!(reply.status, 422);
    assert!(
        reply.body.contains(
            "That is your Autotask portal URL; the API URL is https://webservices2.autotask.net/"
        ),
        "{}",
        reply.body
    );
    assert!(reply.body.contains("Use this"));
    assert!(reply.body.contains("The API URL was not saved"));
    assert!(
        reply.body.contains("Set — last changed"),
        "the typed secret was kept"
    );

    // "Use this" is a plain form: submitting its fields completes the save.
    let used = browser
        .submit_form(
            &page_path,
            &[
                ("platform", "autotask"),
                ("api_url", "https://webservices2.autotask.net/"),
                ("username", &app.autotask.username),
                ("integration_code_override", ""),
            ],
        )
        .await;
    assert_eq!(used.status, 200, "{}", used.body);
    let platform = browser
        .get(&format!("/api/v1/orgs/{}/platform", app.alice.org.id))
        .await
        .json();
    assert_eq!(platform["api_url"], "https://webservices2.autotask.net/");
    assert_eq!(platform["secret"]["set"], true);
    app.stop().await;
}

#[tokio::test]
async fn user_input_is_escaped_on_pages() {
    let app = TestApp::spawn_with(AppOptions {
        org_a_name: "<script>alert(1)</script> & Co".to_owned(),
        ..AppOptions::default()
    })
    .await;
    let mut browser = app.signed_in(&app.alice).await;
    let page_path = format!("/orgs/{}/settings", app.alice.org.id);
    let page = browser.get(&page_path).await;
    assert!(!page.body.contains("<script>alert(1)</script>"));
    assert!(
        page.body.contains("&#60;script&#62;alert(1)"),
        "the name is shown, escaped"
    );

    let reply = browser
        .submit_form(
            &page_path,
            &[
                ("api_url", "\"><img src=x onerror=alert(2)>"),
                ("username", "<b>bold</b>"),
            ],
        )
        .await;
    assert_eq!(reply.status, 422);
    assert!(!reply.body.contains("<img src=x"));
    assert!(!reply.body.contains("<b>bold</b>"));
    app.stop().await;
}

#[tokio::test]
async fn unknown_pages_are_a_friendly_404_and_health_checks_answer() {
    let app = TestApp::spawn().await;
    let mut browser = app.browser();
    let missing = browser.get("/no-such-page").await;
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("Page not found"));
    assert_eq!(browser.get("/healthz").await.status, 200);
    assert_eq!(browser.get("/readyz").await.status, 200);
    let home = browser.get("/").await;
    assert_eq!(home.status, 303);
    assert_eq!(home.header("location").as_deref(), Some("/sign-in"));
    app.stop().await;
}
