//! `/metrics`: Prometheus text with HTTP requests by route template and status and Autotask calls
//! by endpoint and result, without ids, emails, usernames or secrets in any label; 404 when the
//! embedder gave no recorder handle.
//!
//! The recorder is process-wide (the server runs on other tasks), installed once for this test
//! binary, so counts may include other tests' traffic: assertions compare before and after.

use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::json;

use crate::support::{AppOptions, Browser, TestApp};

async fn app_with_metrics() -> TestApp {
    let handle: PrometheusHandle =
        fusion_web::metrics::install_global_recorder().expect("the recorder installs once");
    TestApp::spawn_with(AppOptions {
        metrics: Some(handle),
        ..AppOptions::default()
    })
    .await
}

/// The value of the first sample of `name` whose labels include every `key="value"` pair.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|line| line.starts_with(&format!("{name}{{")))
        .find(|line| {
            labels
                .iter()
                .all(|(key, value)| line.contains(&format!("{key}=\"{value}\"")))
        })
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

async fn scrape(browser: &mut Browser) -> String {
    let reply = browser.get("/metrics").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        reply
            .header("content-type")
            .unwrap_or_default()
            .starts_with("text/plain"),
        "Prometheus text format"
    );
    reply.body
}

#[tokio::test]
async fn http_requests_are_counted_by_route_template_and_status() {
    let app = app_with_metrics().await;
    let sign_in_page = app.browser().get("/sign-in").await;
    assert_eq!(sign_in_page.status, 200);
    let mut browser = app.signed_in(&app.alice).await;
    let platform_path = format!("/api/v1/orgs/{}/platform", app.alice.org.id);
    let platform = browser.get(&platform_path).await;
    assert_eq!(platform.status, 200, "{}", platform.body);
    let missing = browser.get("/no-such-page-anywhere").await;
    assert_eq!(missing.status, 404);

    let text = scrape(&mut browser).await;
    let sign_in_count = sample(
        &text,
        "fusion_http_requests_total",
        &[("method", "GET"), ("route", "/sign-in"), ("status", "200")],
    );
    assert!(sign_in_count >= Some(1.0), "{text}");
    let platform_count = sample(
        &text,
        "fusion_http_requests_total",
        &[
            ("method", "GET"),
            ("route", "/api/v1/orgs/{org_id}/platform"),
            ("status", "200"),
        ],
    );
    assert!(platform_count >= Some(1.0), "{text}");
    assert!(
        sample(
            &text,
            "fusion_http_requests_total",
            &[("route", "unmatched"), ("status", "404")]
        )
        .is_some(),
        "{text}"
    );
    assert!(
        text.contains("fusion_http_request_duration_seconds_bucket{"),
        "{text}"
    );
    assert!(!text.contains("no-such-page-anywhere"), "raw paths leaked");
    assert!(
        !text.contains(&app.alice.org.id.to_string()),
        "org id leaked"
    );
    app.stop().await;
}

#[tokio::test]
async fn autotask_calls_are_counted_by_endpoint_and_result_including_unauthorized() {
    let app = app_with_metrics().await;
    let mut browser = app.signed_in(&app.alice).await;
    let path = format!("/api/v1/orgs/{}/platform", app.alice.org.id);
    let before = scrape(&mut browser).await;
    let zone_ok = &[("endpoint", "ZoneInformation"), ("result", "ok")];
    let zone_ok_before = sample(&before, "fusion_autotask_requests_total", zone_ok).unwrap_or(0.0);

    app.save_working_credentials(&mut browser, app.alice.org.id)
        .await;
    let tested = browser.post_json(&format!("{path}/test"), &json!({})).await;
    assert_eq!(
        tested.json()["status"],
        "Connection tested",
        "{}",
        tested.body
    );
    let after_success = scrape(&mut browser).await;
    let zone_ok_after =
        sample(&after_success, "fusion_autotask_requests_total", zone_ok).unwrap_or(0.0);
    assert!(zone_ok_after > zone_ok_before, "{after_success}");
    assert!(
        after_success.contains("fusion_autotask_budget_used{database=\""),
        "{after_success}"
    );

    let unauthorized_before = sample(
        &after_success,
        "fusion_autotask_requests_total",
        &[("result", "unauthorized")],
    )
    .unwrap_or(0.0);
    let wrong_secret = "definitely-not-the-secret-4711";
    let saved = browser
        .put_json(
            &path,
            &json!({
                "api_url": app.autotask.api_url,
                "username": app.autotask.username,
                "secret": wrong_secret,
            }),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let failed = browser.post_json(&format!("{path}/test"), &json!({})).await;
    assert_eq!(
        failed.json()["failure"],
        "authentication_failed",
        "{}",
        failed.body
    );
    let after_failure = scrape(&mut browser).await;
    let unauthorized_after = after_failure
        .lines()
        .filter(|line| {
            line.starts_with("fusion_autotask_requests_total{")
                && line.contains("result=\"unauthorized\"")
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>();
    assert!(
        unauthorized_after > unauthorized_before,
        "a 401 is counted as unauthorized: {after_failure}"
    );

    for private in [
        app.alice.org.id.to_string(),
        app.alice.email.clone(),
        app.autotask.username.clone(),
        app.autotask.username.to_ascii_lowercase(),
        app.autotask.secret.clone(),
        wrong_secret.to_owned(),
    ] {
        assert!(
            !after_failure.contains(&private),
            "/metrics must not contain {private:?}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn without_a_recorder_handle_metrics_answers_not_found() {
    let app = TestApp::spawn().await;
    let mut browser = app.browser();
    assert_eq!(browser.get("/metrics").await.status, 404);
    app.stop().await;
}
