//! The API budget of an organisation's own Autotask database on Settings, the Dashboard and
//! `/api/v1/orgs/{org}/api-budget`: unknown until the database was reached, then its share and
//! its use by connection; the share is set (1–100 %), refused outside that with what to do, and
//! reset; another organisation sees only its own database.

use serde_json::json;

use crate::configuration::Connected;
use crate::support::{AppOptions, TestApp};
use crate::sync::assert_matches_schema;

#[tokio::test]
async fn the_share_and_the_use_show_once_the_database_is_known_and_the_share_can_be_set() {
    let app = TestApp::spawn_with(AppOptions {
        budget: true,
        ..AppOptions::default()
    })
    .await;
    let mut alice = app.signed_in(&app.alice).await;
    let org = app.alice.org.id;
    let api = format!("/api/v1/orgs/{org}/api-budget");

    // Before any request reached Contoso's database, nothing is known and nothing can be set.
    let before = alice.get(&api).await;
    assert_eq!(before.status, 200, "{}", before.body);
    let before = before.json();
    assert_matches_schema(&before, "ApiBudget");
    assert_eq!(before["known"], false);
    assert_eq!(before["allowance"], 5_000);
    let refused = alice.put_json(&api, &json!({ "percent": 30 })).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(refused.json()["error"]["code"], "database_unknown");

    // A connection test reaches it: its requests count as the server's own work.
    app.save_working_credentials(&mut alice, org).await;
    let tested = alice
        .post_json(&format!("/api/v1/orgs/{org}/platform/test"), &json!({}))
        .await;
    assert_eq!(tested.status, 200, "{}", tested.body);
    let known = alice.get(&api).await.json();
    assert_matches_schema(&known, "ApiBudget");
    assert_eq!(known["known"], true, "{known}");
    assert_eq!(
        (known["percent"].as_u64(), known["share_set"].as_bool()),
        (Some(50), Some(false))
    );
    let used = known["used_last_hour"].as_u64().expect("a count");
    assert!(used > 0, "the connection test's requests: {known}");
    let own = &known["connections"][0];
    assert_eq!(own["name"], "Settings, connection tests and webhooks");
    assert_eq!(own["relationship_id"], serde_json::Value::Null);
    assert_eq!(own["last_24h"].as_u64(), Some(used));

    // The share: set, refused outside 1–100 with what to do, reset.
    let set = alice.put_json(&api, &json!({ "percent": 30 })).await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.json()["allowance"], 3_000);
    assert_eq!(set.json()["share_set"], true);
    for wrong in [json!({ "percent": 0 }), json!({ "percent": 101 })] {
        let reply = alice.put_json(&api, &wrong).await;
        assert_eq!(reply.status, 422, "{}", reply.body);
        let error = reply.json();
        assert_eq!(error["error"]["code"], "invalid_share");
        assert!(
            error["error"]["fix"]
                .as_str()
                .is_some_and(|fix| fix.contains("1 to 100"))
        );
    }
    assert_eq!(
        alice.get(&api).await.json()["percent"],
        30,
        "a refused value changed nothing"
    );

    // Settings shows the section with the form; the form refuses words and takes a number.
    let settings = alice.get(&format!("/orgs/{org}/settings")).await;
    assert_eq!(settings.status, 200);
    assert!(
        settings
            .body
            .contains("API budget of your Autotask database")
    );
    assert!(
        settings.body.contains("3,000 requests an hour"),
        "{}",
        settings.body
    );
    assert!(
        settings
            .body
            .contains("Settings, connection tests and webhooks")
    );
    let form = format!("/orgs/{org}/settings/api-budget");
    let words = alice.submit_form(&form, &[("percent", "half")]).await;
    assert_eq!(words.status, 422);
    assert!(
        words.body.contains("is not a whole number"),
        "{}",
        words.body
    );
    let saved = alice.submit_form(&form, &[("percent", "25")]).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(alice.get(&api).await.json()["allowance"], 2_500);
    let dashboard = alice.get(&format!("/orgs/{org}/dashboard")).await;
    assert!(
        dashboard.body.contains("2,500 requests an hour"),
        "{}",
        dashboard.body
    );
    assert!(
        !dashboard.body.contains("Save share"),
        "the form is on Settings only"
    );
    let reset = alice.put_json(&api, &json!({ "percent": null })).await;
    assert_eq!(reset.json()["percent"], 50);
    assert_eq!(reset.json()["share_set"], false);

    // Bob's organisation has its own database, not known yet: none of Contoso's figures.
    let mut bob = app.signed_in(&app.bob).await;
    let bobs = bob
        .get(&format!("/api/v1/orgs/{}/api-budget", app.bob.org.id))
        .await
        .json();
    assert_eq!(bobs["known"], false);
    assert_eq!(bobs["connections"], json!([]));
    let alice_as_bob = bob.get(&api).await;
    assert_eq!(alice_as_bob.status, 404);

    app.stop().await;
}

#[tokio::test]
async fn a_tenant_read_the_budget_does_not_allow_is_429_with_when_to_try_again_not_a_server_error()
{
    // 20 requests an hour for each database: a few choice loads use it up.
    let connected = Connected::spawn_with(Some(fusion_engine::budget::BudgetSettings {
        platform_hourly_limit: 1_000,
        default_percent: 2,
        start_margin: 0,
    }))
    .await;
    let alice = &connected.app.alice.org;
    let mut browser = connected.app.signed_in(&connected.app.alice).await;
    let refresh = connected.api(alice, "choices/refresh");
    let mut refused = None;
    for _ in 0..10 {
        let reply = browser.post_json(&refresh, &json!({})).await;
        if reply.status != 200 {
            refused = Some(reply);
            break;
        }
    }
    let refused = refused.expect("the share runs out within 10 loads");
    assert_eq!(refused.status, 429, "{}", refused.body);
    let error = refused.json();
    assert_eq!(error["error"]["code"], "waiting_for_budget");
    let message = error["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("Waiting for API budget"), "{message}");
    let retry_after: u64 = refused
        .header("retry-after")
        .and_then(|value| value.parse().ok())
        .expect("a Retry-After header");
    assert!((1..=3_600).contains(&retry_after), "{retry_after}");

    // Once the hour has rolled on, the same request works.
    connected.clock_advance(time::Duration::minutes(61));
    let again = browser.post_json(&refresh, &json!({})).await;
    assert_eq!(again.status, 200, "{}", again.body);
}
