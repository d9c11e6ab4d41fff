//! Signing in and out: the session cookie, wrong passwords, growing waits after repeated
//! failures (per account and per client address), and login CSRF.

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

/// Issue 16, finding 3: repeated failures make the next attempt wait a moment (with
/// `Retry-After`) instead of locking the account for minutes; the wait says the right password
/// works afterwards, and the failures are logged.
#[tokio::test]
async fn repeated_failed_sign_ins_make_the_next_attempt_wait_briefly_instead_of_locking() {
    let app = TestApp::spawn().await;
    let mut browser = app.browser();
    for attempt in 1..=4 {
        let reply = browser
            .post_form(
                "/sign-in",
                &[("email", &app.alice.email), ("password", "guess")],
            )
            .await;
        assert_eq!(reply.status, 401, "attempt {attempt}");
    }
    let fifth = browser
        .post_form(
            "/sign-in",
            &[("email", &app.alice.email), ("password", "guess")],
        )
        .await;
    assert_eq!(fifth.status, 401);
    assert!(fifth.body.contains("Wait 1 second"), "{}", fifth.body);
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
    assert_eq!(reply.header("retry-after").as_deref(), Some("1"));
    assert!(
        reply.body.contains("the right password works as usual"),
        "{}",
        reply.body
    );
    assert!(!reply.body.contains("locked"), "{}", reply.body);
    assert!(browser.session_cookie.is_none());

    assert!(crate::support::captured_log().contains("repeated failed sign-ins"));
    app.stop().await;
}

/// Issue 16, finding 3: behind a configured proxy, each client's own address is throttled —
/// guesses from one address slow that address down and nobody else — and `X-Forwarded-For`
/// from anyone but the proxy is ignored.
#[tokio::test]
async fn behind_a_trusted_proxy_each_client_address_is_throttled_on_its_own() {
    let app = TestApp::spawn_with(crate::support::AppOptions {
        web: fusion_web::WebSettings {
            login_free_failures: 2,
            trusted_proxies: vec![fusion_web::TrustedProxy::parse("127.0.0.1").unwrap()],
            ..fusion_web::WebSettings::default()
        },
        ..crate::support::AppOptions::default()
    })
    .await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let sign_in = |email: String, password: String, forwarded_for: &'static str| {
        let request = client
            .post(format!("{}/sign-in", app.base_url))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-forwarded-for", forwarded_for)
            .body(
                url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs([("email", email), ("password", password)])
                    .finish(),
            );
        async move { request.send().await.unwrap().status().as_u16() }
    };
    // One address sprays guesses over several accounts.
    for account in ["a", "b", "c"] {
        sign_in(
            format!("{account}@x.example"),
            "guess".into(),
            "198.51.100.1",
        )
        .await;
    }
    assert_eq!(
        sign_in(
            app.alice.email.clone(),
            app.alice.password.clone(),
            "198.51.100.1"
        )
        .await,
        429
    );
    // Alice, at her own address behind the same proxy, signs in.
    assert_eq!(
        sign_in(
            app.alice.email.clone(),
            app.alice.password.clone(),
            "203.0.113.7"
        )
        .await,
        303
    );
    app.stop().await;
}

/// Issue 16, finding 2: a cross-site sign-in without `Sec-Fetch-Site` (older browsers, some
/// proxies) is recognised by its `Origin`, or its `Referer` when there is no `Origin`.
#[tokio::test]
async fn sign_in_posted_from_another_origin_is_refused_without_sec_fetch_site() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("email", &app.alice.email),
            ("password", &app.alice.password),
        ])
        .finish();
    let post = |header: (&'static str, String)| {
        client
            .post(format!("{}/sign-in", app.base_url))
            .header("content-type", "application/x-www-form-urlencoded")
            .header(header.0, header.1)
            .body(body.clone())
            .send()
    };
    for header in [
        ("origin", "https://evil.example".to_owned()),
        ("origin", "null".to_owned()),
        ("referer", "https://evil.example/login-csrf.html".to_owned()),
    ] {
        let response = post(header.clone()).await.unwrap();
        assert_eq!(response.status().as_u16(), 403, "{header:?}");
        assert!(response.headers().get("set-cookie").is_none(), "{header:?}");
    }
    // The sign-in page itself posts with this server's origin and works.
    let response = post(("origin", app.base_url.clone())).await.unwrap();
    assert_eq!(response.status().as_u16(), 303);
    let response = post(("referer", format!("{}/sign-in", app.base_url)))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
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
