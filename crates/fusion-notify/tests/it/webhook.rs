//! The outgoing webhook: the signed JSON a receiver gets, and the address checks that keep a
//! user-entered URL away from internal services.

use std::time::Duration;

use fusion_engine::notify::NotificationChannels;
use fusion_notify::{DeliveryChannels, EVENT_HEADER, SIGNATURE_HEADER, WebhookSettings, sign};
use secrecy::SecretString;

use crate::failed_run_event;
use crate::sinks::HttpReceiver;

fn channels(allowed_hosts: &[&str]) -> DeliveryChannels {
    DeliveryChannels::new(
        None,
        WebhookSettings {
            allowed_hosts: allowed_hosts
                .iter()
                .map(|host| (*host).to_owned())
                .collect(),
            timeout: Duration::from_secs(5),
        },
    )
    .expect("builds")
}

fn secret() -> SecretString {
    SecretString::from("whsec_test_secret".to_owned())
}

#[tokio::test]
async fn an_allowed_local_receiver_gets_signed_json_with_a_text_field() {
    let mut receiver = HttpReceiver::spawn(200).await;
    let channels = channels(&["127.0.0.1"]);
    let url = receiver.url("/hooks/fusion");
    channels
        .check_webhook_url(&url)
        .await
        .expect("allowed by the server");
    channels
        .post_webhook(&url, &secret(), &failed_run_event())
        .await
        .expect("delivered");
    let request = receiver.next().await;
    assert_eq!(request.path, "/hooks/fusion");
    assert_eq!(request.header("content-type"), "application/json");
    assert_eq!(request.header(EVENT_HEADER), "run_failed");
    // The receiver verifies: HMAC-SHA256 of the raw body under the shared secret, hex.
    assert_eq!(
        request.header(SIGNATURE_HEADER),
        format!("sha256={}", sign(&secret(), &request.body))
    );
    assert_ne!(
        request.header(SIGNATURE_HEADER),
        format!(
            "sha256={}",
            sign(&SecretString::from("another".to_owned()), &request.body)
        )
    );
    let body = request.json();
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .starts_with("[Support Fusion] Sync failed: Managed support"),
        "{body}"
    );
    assert_eq!(body["event"], "run_failed");
    assert_eq!(body["status"], "opened");
    assert_eq!(
        body["details"]["why"],
        "authentication failed: the API user is inactive"
    );
    assert_eq!(
        body["connection"]["name"],
        "Managed support (Contoso ↔ Northwind IT)"
    );
    assert_eq!(body["occurred_at"], "2026-12-04T10:00:00Z");
    assert!(!String::from_utf8_lossy(&request.body).contains("whsec_"));
}

#[tokio::test]
async fn an_allow_listed_host_name_is_reached_at_its_checked_address() {
    let mut receiver = HttpReceiver::spawn(204).await;
    let channels = channels(&["LocalHost"]);
    let url = format!("http://localhost:{}/in", receiver.address.port());
    // `localhost` may resolve to ::1 first; the receiver listens on 127.0.0.1 only, so the
    // post tries each checked address in turn.
    channels
        .post_webhook(&url, &secret(), &failed_run_event())
        .await
        .expect("delivered");
    assert_eq!(receiver.next().await.path, "/in");
}

#[tokio::test]
async fn internal_addresses_are_refused_with_a_reason() {
    let channels = channels(&[]);
    for (url, expected) in [
        (
            "https://127.0.0.1/hook",
            "the webhook host 127.0.0.1 is a loopback address",
        ),
        (
            "https://[::1]/hook",
            "the webhook host ::1 is a loopback address",
        ),
        (
            "https://10.0.0.5/hook",
            "the webhook host 10.0.0.5 is a private address",
        ),
        ("https://192.168.1.20:8443/hook", "is a private address"),
        ("https://100.64.1.1/hook", "is a carrier-grade NAT address"),
        (
            "https://169.254.169.254/latest/meta-data/",
            "is a cloud metadata address",
        ),
        ("https://[fd00::1]/hook", "is a unique-local address"),
        ("https://[fe80::1]/hook", "is a link-local address"),
        ("https://[::ffff:127.0.0.1]/hook", "is a loopback address"),
        (
            "https://localhost/hook",
            "the webhook host localhost resolves to",
        ),
    ] {
        let problem = channels
            .check_webhook_url(url)
            .await
            .expect_err(url)
            .to_string();
        assert!(problem.contains(expected), "{url}: {problem}");
        assert!(
            problem.contains("FUSION_NOTIFY_WEBHOOK_ALLOW_HOSTS"),
            "{problem}"
        );
    }
    let problem = channels
        .check_webhook_url("https://localhost/hook")
        .await
        .expect_err("refused")
        .to_string();
    assert!(problem.contains("loopback address"), "{problem}");
}

#[tokio::test]
async fn a_refused_address_is_refused_again_when_posting() {
    let mut receiver = HttpReceiver::spawn(200).await;
    let error = channels(&[])
        .post_webhook(
            &receiver.url("/x").replace("http://", "https://"),
            &secret(),
            &failed_run_event(),
        )
        .await
        .expect_err("refused")
        .to_string();
    assert!(error.contains("loopback address"), "{error}");
    assert!(receiver.pending().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn malformed_and_unsafe_urls_say_what_to_change() {
    let channels = channels(&[]);
    for (url, expected) in [
        ("hooks.example.com/x", "is not a valid URL"),
        (
            "ftp://hooks.example.com/x",
            "must begin with https://, not ftp://",
        ),
        ("http://hooks.example.com/x", "must begin with https://"),
        (
            "https://user:pass@hooks.example.com/x",
            "must not contain a user name or password",
        ),
        ("https://no-such-host.invalid/x", "could not be resolved"),
    ] {
        let problem = channels
            .check_webhook_url(url)
            .await
            .expect_err(url)
            .to_string();
        assert!(problem.contains(expected), "{url}: {problem}");
    }
}

#[tokio::test]
async fn a_receiver_answering_an_error_is_reported_with_the_status() {
    let mut receiver = HttpReceiver::spawn(500).await;
    let error = channels(&["127.0.0.1"])
        .post_webhook(&receiver.url("/hook"), &secret(), &failed_run_event())
        .await
        .expect_err("the receiver failed")
        .to_string();
    assert_eq!(
        error,
        "the webhook at 127.0.0.1 answered HTTP 500 Internal Server Error: receiver says hello"
    );
    assert_eq!(receiver.pending().len(), 1);
}
