//! Signing in and out: the session cookie, wrong passwords, and the lock after repeated failures.

use crate::support::TestApp;

#[tokio::test]
async fn correct_password_signs_in_with_a_protected_session_cookie_and_opens_settings() {
    let app = TestApp::spawn().await;
    let mut browser = app.browser();
    let page = browser.get("/sign-in").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("<form method=\"post\" action=\"/sign-in\"")
    );

    let reply = browser
        .post_form(
            "/sign-in",
            &[
                ("email", "  ALICE@contoso.example "),
                ("password", &app.alice.password),
            ],
        )
        .await;
    assert_eq!(reply.status, 303);
    assert_eq!(
        reply.header("location").as_deref(),
        Some(format!("/orgs/{}/settings", app.alice.org.id).as_str())
    );
    let cookie = reply
        .set_cookies()
        .into_iter()
        .find(|cookie| cookie.starts_with(fusion_web::SESSION_COOKIE))
        .expect("a session cookie is set");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "not configured for HTTPS: {cookie}"
    );

    let settings = browser
        .get(&format!("/orgs/{}/settings", app.alice.org.id))
        .await;
    assert_eq!(settings.status, 200);
    assert!(settings.body.contains("Contoso Manufacturing"));

    let me = browser.get("/api/v1/me").await.json();
    assert_eq!(me["person"]["email"], "alice@contoso.example");
    assert_eq!(me["organisation"]["id"], app.alice.org.id.to_string());
    assert_eq!(me["auth"], "session");
    app.stop().await;
}

#[tokio::test]
async fn session_cookie_is_secure_and_hsts_is_sent_when_configured_for_https() {
    let app = TestApp::spawn_with(crate::support::AppOptions {
        web: fusion_web::WebSettings {
            secure_cookies: true,
            ..fusion_web::WebSettings::default()
        },
        ..Default::default()
    })
    .await;
    let mut browser = app.browser();
    let reply = browser
        .post_form(
            "/sign-in",
            &[
                ("email", &app.alice.email),
                ("password", &app.alice.password),
            ],
        )
        .await;
    assert_eq!(reply.status, 303);
    assert!(
        reply
            .set_cookies()
            .iter()
            .any(|cookie| cookie.contains("Secure"))
    );
    assert!(reply.header("strict-transport-security").is_some());
    app.stop().await;
}

#[tokio::test]
async fn wrong_password_is_refused_with_a_clear_message_and_no_session() {
    let app = TestApp::spawn().await;
    let mut browser = app.browser();
    let reply = browser
        .post_form(
            "/sign-in",
            &[
                ("email", &app.alice.email),
                ("password", "not the password"),
            ],
        )
        .await;
    assert_eq!(reply.status, 401);
    assert!(
        reply
            .body
            .contains("The email address or password is wrong")
    );
    assert!(browser.session_cookie.is_none());
    assert_eq!(browser.get("/api/v1/me").await.status, 401);
    let settings = browser
        .get(&format!("/orgs/{}/settings", app.alice.org.id))
        .await;
    assert_eq!(
        settings.status, 303,
        "signed-out visitors are sent to sign-in"
    );
    assert_eq!(settings.header("location").as_deref(), Some("/sign-in"));
    app.stop().await;
}

#[tokio::test]
async fn five_failed_sign_ins_lock_the_account_even_for_the_right_password() {
    let app = TestApp::spawn().await;
    let mut browser = app.browser();
    for attempt in 1..=5 {
        let reply = browser
            .post_form(
                "/sign-in",
                &[("email", &app.alice.email), ("password", "guess")],
            )
            .await;
        assert_eq!(reply.status, 401, "attempt {attempt}");
    }
    let reply = browser
        .post_form(
            "/sign-in",
            &[
                ("email", &app.alice.email),
                ("password", &app.alice.password),
            ],
        )
        .await;
    assert_eq!(reply.status, 429);
    assert!(
        reply.body.contains("Too many failed sign-in attempts"),
        "{}",
        reply.body
    );
    assert!(reply.body.contains("5 minutes"), "{}", reply.body);
    assert!(browser.session_cookie.is_none());

    // Another person is not affected.
    let other = browser
        .post_form(
            "/sign-in",
            &[("email", &app.bob.email), ("password", &app.bob.password)],
        )
        .await;
    assert_eq!(other.status, 303);
    app.stop().await;
}

#[tokio::test]
async fn sign_out_ends_the_session() {
    let app = TestApp::spawn().await;
    let mut browser = app.signed_in(&app.alice).await;
    let old_cookie = browser.session_cookie.clone();
    let reply = browser.submit_form("/sign-out", &[]).await;
    assert_eq!(reply.status, 303);
    assert!(browser.session_cookie.is_none(), "the cookie is cleared");
    // The old token no longer works even if someone kept it.
    browser.session_cookie = old_cookie;
    assert_eq!(browser.get("/api/v1/me").await.status, 401);
    app.stop().await;
}

#[tokio::test]
async fn cross_site_sign_in_posts_are_refused() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = client
        .post(format!("{}/sign-in", app.base_url))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "cross-site")
        .body(format!("email={}&password=x", app.alice.email))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    app.stop().await;
}
