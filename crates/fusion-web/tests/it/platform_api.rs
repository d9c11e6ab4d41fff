//! The platform settings API: save and read, URL checks, connection tests and their stored result,
//! cleaning of pasted values, and the audit log.

use serde_json::json;

use crate::support::TestApp;

#[tokio::test]
async fn saved_settings_read_back_with_the_secret_only_as_set_and_when() {
    let app = TestApp::spawn().await;
    let mut browser = app.signed_in(&app.alice).await;
    let path = format!("/api/v1/orgs/{}/platform", app.alice.org.id);

    let empty = browser.get(&path).await.json();
    assert_eq!(empty["secret"]["set"], false);
    assert_eq!(empty["api_url"], "");

    app.save_working_credentials(&mut browser, app.alice.org.id)
        .await;
    let read = browser.get(&path).await;
    assert_eq!(read.status, 200);
    let platform = read.json();
    assert_eq!(platform["platform"], "autotask");
    assert_eq!(platform["api_url"], app.autotask.api_url);
    assert_eq!(platform["username"], app.autotask.username);
    assert_eq!(platform["secret"]["set"], true);
    assert!(platform["secret"]["changed_at"].is_string());
    assert!(!read.body.contains(&app.autotask.secret));

    // Saving again without a secret keeps it.
    let again = browser
        .put_json(
            &path,
            &json!({"api_url": app.autotask.api_url, "username": app.autotask.username}),
        )
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["secret"]["set"], true);
    assert_eq!(
        again.json()["secret"]["changed_at"],
        platform["secret"]["changed_at"],
        "keeping the secret does not change its date"
    );

    let audit = browser.get(&format!("{path}/audit")).await;
    assert_eq!(audit.status, 200);
    let fields: Vec<String> = audit.json()["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["field"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        fields.iter().any(|field| field.contains("secret")),
        "{fields:?}"
    );
    let first = &audit.json()["entries"][0];
    assert_eq!(first["changed_by_name"], "Test Person", "{first}");
    assert!(!audit.body.contains(&app.autotask.secret));
    app.stop().await;
}

#[tokio::test]
async fn saving_a_portal_url_is_refused_naming_the_api_url() {
    let app = TestApp::spawn().await;
    let mut browser = app.signed_in(&app.alice).await;
    let reply = browser
        .put_json(
            &format!("/api/v1/orgs/{}/platform", app.alice.org.id),
            &json!({
                "api_url": "https://ww2.autotask.net/",
                "username": app.autotask.username,
                "secret": app.autotask.secret,
            }),
        )
        .await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    let error = &reply.json()["error"];
    assert_eq!(error["code"], "invalid_api_url");
    assert_eq!(error["field"], "api_url");
    assert_eq!(
        error["suggested_api_url"],
        "https://webservices2.autotask.net/"
    );
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("https://webservices2.autotask.net/"),
        "{error}"
    );
    // Nothing was saved.
    let read = browser
        .get(&format!("/api/v1/orgs/{}/platform", app.alice.org.id))
        .await
        .json();
    assert_eq!(read["secret"]["set"], false);
    app.stop().await;
}

#[tokio::test]
async fn testing_the_saved_connection_reports_connection_tested_and_keeps_it_as_last_result() {
    let app = TestApp::spawn().await;
    let mut browser = app.signed_in(&app.alice).await;
    app.save_working_credentials(&mut browser, app.alice.org.id)
        .await;
    let path = format!("/api/v1/orgs/{}/platform", app.alice.org.id);

    let reply = browser.post_json(&format!("{path}/test"), &json!({})).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let result = reply.json();
    assert_eq!(result["status"], "Connection tested", "{result}");
    assert_eq!(result["failure"], serde_json::Value::Null);
    assert_eq!(result["tested_values"], "saved");
    assert!(result["zone"].is_string(), "{result}");
    assert!(
        result["api_usage"]["summary"]
            .as_str()
            .unwrap()
            .contains("requests")
    );

    let platform = browser.get(&path).await.json();
    assert_eq!(platform["last_test"]["status"], "Connection tested");
    assert_eq!(platform["last_test"]["tested_at"], result["tested_at"]);
    assert_eq!(platform["last_test_outdated"], false);

    // Saving again makes the stored result outdated, and says so.
    app.save_working_credentials(&mut browser, app.alice.org.id)
        .await;
    let platform = browser.get(&path).await.json();
    assert_eq!(platform["last_test"]["status"], "Connection tested");
    assert_eq!(platform["last_test_outdated"], true);
    app.stop().await;
}

#[tokio::test]
async fn wrong_secret_is_reported_as_test_failed_with_reason_and_fix() {
    let app = TestApp::spawn().await;
    let mut browser = app.signed_in(&app.alice).await;
    let path = format!("/api/v1/orgs/{}/platform", app.alice.org.id);
    let saved = browser
        .put_json(
            &path,
            &json!({
                "api_url": app.autotask.api_url,
                "username": app.autotask.username,
                "secret": "definitely-not-the-secret",
            }),
        )
        .await;
    assert_eq!(saved.status, 200);
    let result = browser
        .post_json(&format!("{path}/test"), &json!({}))
        .await
        .json();
    assert_eq!(result["status"], "Test failed", "{result}");
    assert_eq!(result["failure"], "authentication_failed", "{result}");
    assert!(!result["reason"].as_str().unwrap().is_empty());
    assert!(!result["fix"].as_str().unwrap().is_empty());
    assert!(!result.to_string().contains("definitely-not-the-secret"));
    let last = browser.get(&path).await.json();
    assert_eq!(last["last_test"]["status"], "Test failed");
    app.stop().await;
}

#[tokio::test]
async fn testing_unsaved_values_from_the_body_does_not_replace_the_last_result() {
    let app = TestApp::spawn().await;
    let mut browser = app.signed_in(&app.alice).await;
    app.save_working_credentials(&mut browser, app.alice.org.id)
        .await;
    let path = format!("/api/v1/orgs/{}/platform", app.alice.org.id);
    let saved_test = browser
        .post_json(&format!("{path}/test"), &json!({}))
        .await
        .json();
    assert_eq!(saved_test["status"], "Connection tested");

    let unsaved = browser
        .post_json(
            &format!("{path}/test"),
            &json!({"secret": "a wrong secret"}),
        )
        .await
        .json();
    assert_eq!(unsaved["status"], "Test failed");
    assert_eq!(unsaved["tested_values"], "unsaved");
    let platform = browser.get(&path).await.json();
    assert_eq!(platform["last_test"]["status"], "Connection tested");
    app.stop().await;
}

#[tokio::test]
async fn a_pasted_trailing_newline_is_trimmed_from_the_secret_and_reported() {
    let app = TestApp::spawn().await;
    let mut browser = app.signed_in(&app.alice).await;
    let path = format!("/api/v1/orgs/{}/platform", app.alice.org.id);
    let reply = browser
        .put_json(
            &path,
            &json!({
                "api_url": app.autotask.api_url,
                "username": app.autotask.username,
                "secret": format!("{}\n", app.autotask.secret),
            }),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let saved = reply.json();
    assert_eq!(saved["trimmed"][0]["field"], "secret", "{saved}");
    assert!(
        saved["trimmed"][0]["removed"][0]
            .as_str()
            .unwrap()
            .contains("newline")
    );
    assert!(saved["notes"][0].as_str().unwrap().contains("API secret"));

    // The trimmed secret is the one that works.
    let result = browser
        .post_json(&format!("{path}/test"), &json!({}))
        .await
        .json();
    assert_eq!(result["status"], "Connection tested", "{result}");
    app.stop().await;
}

#[tokio::test]
async fn testing_before_anything_is_saved_says_what_is_missing() {
    let app = TestApp::spawn().await;
    let mut browser = app.signed_in(&app.alice).await;
    let result = browser
        .post_json(
            &format!("/api/v1/orgs/{}/platform/test", app.alice.org.id),
            &json!({}),
        )
        .await
        .json();
    assert_eq!(result["status"], "Test failed");
    assert_eq!(result["failure"], "missing_value");
    assert!(result["fix"].as_str().unwrap().contains("API URL"));
    app.stop().await;
}

#[tokio::test]
async fn malformed_bodies_and_unknown_routes_get_json_errors() {
    let app = TestApp::spawn().await;
    let mut browser = app.signed_in(&app.alice).await;
    let path = format!("/api/v1/orgs/{}/platform", app.alice.org.id);
    let reply = browser.put_json(&path, &json!({"api_url": 5})).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error"]["code"], "invalid_body");
    let missing = browser.get("/api/v1/nothing-here").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["error"]["code"], "not_found");
    let huge = "x".repeat(200 * 1024);
    let too_big = browser.put_json(&path, &json!({"username": huge})).await;
    assert_eq!(too_big.status, 413, "{}", too_big.body);
    app.stop().await;
}
