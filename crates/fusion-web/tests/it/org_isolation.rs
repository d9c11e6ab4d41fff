//! A person reaches only their own organisation: every route of another organisation answers 404
//! (API and pages, reads and writes) and changes nothing.

use serde_json::json;

use crate::support::TestApp;

#[tokio::test]
async fn a_person_of_one_organisation_gets_404_for_every_route_of_another_and_changes_nothing() {
    let app = TestApp::spawn().await;
    // Bob's organisation (B) has working settings and a test result.
    let mut bob = app.signed_in(&app.bob).await;
    app.save_working_credentials(&mut bob, app.bob.org.id).await;
    let b_platform = format!("/api/v1/orgs/{}/platform", app.bob.org.id);
    assert_eq!(
        bob.post_json(&format!("{b_platform}/test"), &json!({}))
            .await
            .status,
        200
    );
    let before = bob.get(&b_platform).await.body;

    let mut alice = app.signed_in(&app.alice).await;
    let b = app.bob.org.id;
    let hostile = json!({"api_url": "https://webservices5.autotask.net/", "username": "alice-was-here", "secret": "x"});
    let mut replies = vec![
        (
            "GET platform",
            alice.get(&format!("/api/v1/orgs/{b}/platform")).await,
        ),
        (
            "GET audit",
            alice.get(&format!("/api/v1/orgs/{b}/platform/audit")).await,
        ),
        (
            "PUT platform",
            alice
                .put_json(&format!("/api/v1/orgs/{b}/platform"), &hostile)
                .await,
        ),
        (
            "PUT platform without CSRF",
            alice
                .put_json_without_csrf(&format!("/api/v1/orgs/{b}/platform"), &hostile)
                .await,
        ),
        (
            "POST test",
            alice
                .post_json(&format!("/api/v1/orgs/{b}/platform/test"), &json!({}))
                .await,
        ),
        (
            "GET settings page",
            alice.get(&format!("/orgs/{b}/settings")).await,
        ),
        (
            "POST settings page",
            alice
                .submit_form(
                    &format!("/orgs/{b}/settings"),
                    &[
                        ("api_url", "https://webservices5.autotask.net/"),
                        ("username", "alice-was-here"),
                    ],
                )
                .await,
        ),
        (
            "POST settings test",
            alice
                .submit_form(&format!("/orgs/{b}/settings/test"), &[])
                .await,
        ),
        (
            "POST settings without CSRF",
            alice
                .post_form(
                    &format!("/orgs/{b}/settings"),
                    &[("username", "alice-was-here")],
                )
                .await,
        ),
    ];
    // A made-up organisation looks exactly the same.
    replies.push((
        "GET unknown org",
        alice
            .get(&format!(
                "/api/v1/orgs/{}/platform",
                fusion_domain::OrgId::new()
            ))
            .await,
    ));
    replies.push((
        "GET malformed org",
        alice.get("/api/v1/orgs/not-an-id/platform").await,
    ));
    for (what, reply) in &replies {
        assert_eq!(reply.status, 404, "{what}: {}", reply.body);
        assert!(
            !reply.body.contains(&app.autotask.username),
            "{what} leaked B's data"
        );
        assert!(!reply.body.contains("Northwind"), "{what} leaked B's name");
    }

    let after = bob.get(&b_platform).await.body;
    assert_eq!(before, after, "B's settings are unchanged");
    assert!(!after.contains("alice-was-here"));
    let stored_secret = app
        .store
        .platform_secret(app.bob.org.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        secrecy::ExposeSecret::expose_secret(&stored_secret),
        app.autotask.secret,
        "B's secret is unchanged"
    );
    let alice_id = alice.get("/api/v1/me").await.json()["person"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let audit = app
        .store
        .credentials_audit_log(app.bob.org.id)
        .await
        .unwrap();
    assert!(
        audit
            .iter()
            .all(|entry| entry.person_id.map(|id| id.to_string()) != Some(alice_id.clone())),
        "no change to B was recorded for A"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_api_token_reaches_only_its_own_organisation() {
    let app = TestApp::spawn().await;
    let mut alice = app.signed_in(&app.alice).await;
    let token = alice
        .post_json("/api/v1/me/api-tokens", &json!({"label": "script"}))
        .await
        .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut script = app.browser();
    script.bearer_token = Some(token);
    let b = app.bob.org.id;
    assert_eq!(
        script
            .get(&format!("/api/v1/orgs/{b}/platform"))
            .await
            .status,
        404
    );
    let put = script
        .put_json_without_csrf(
            &format!("/api/v1/orgs/{b}/platform"),
            &json!({"api_url": app.autotask.api_url, "username": "script-was-here"}),
        )
        .await;
    assert_eq!(put.status, 404);
    assert!(app.store.platform_credentials(b).await.unwrap().is_none());
    assert_eq!(
        script
            .get(&format!("/api/v1/orgs/{}/platform", app.alice.org.id))
            .await
            .status,
        200
    );
    app.stop().await;
}
