//! Settings › Notifications and `/api/v1/orgs/{org_id}/notifications`, with the real delivery
//! adapter behind them: an in-process SMTP sink and HTTP receiver stand in for the mail server
//! and the webhook. Each organisation sees and changes only its own settings.

use std::sync::Arc;
use std::time::Duration;

use fusion_notify::{
    DeliveryChannels, SIGNATURE_HEADER, SmtpSecurity, SmtpSettings, WebhookSettings, sign,
};
use secrecy::SecretString;
use serde_json::json;

use crate::sinks::{HttpReceiver, SmtpSink};
use crate::support::{AppOptions, TestApp};

fn channels(smtp_port: u16) -> Arc<DeliveryChannels> {
    Arc::new(
        DeliveryChannels::new(
            Some(&SmtpSettings {
                host: "127.0.0.1".to_owned(),
                port: smtp_port,
                security: SmtpSecurity::None,
                username: None,
                password: None,
                from: "Support Fusion <fusion@server.example>".to_owned(),
                timeout: Duration::from_secs(5),
            }),
            WebhookSettings {
                allowed_hosts: vec!["127.0.0.1".to_owned()],
                timeout: Duration::from_secs(5),
            },
        )
        .expect("the channels build"),
    )
}

async fn app_with(smtp_port: u16) -> TestApp {
    TestApp::spawn_with(AppOptions {
        notification_channels: Some(channels(smtp_port)),
        ..AppOptions::default()
    })
    .await
}

#[tokio::test]
async fn saved_settings_send_a_test_email_and_a_signed_test_webhook() {
    let mut sink = SmtpSink::spawn().await;
    let mut receiver = HttpReceiver::spawn(200).await;
    let app = app_with(sink.address.port()).await;
    let mut alice = app.signed_in(&app.alice).await;
    let path = format!("/api/v1/orgs/{}/notifications", app.alice.org.id);

    let unsaved = alice.get(&path).await;
    assert_eq!(unsaved.status, 200, "{}", unsaved.body);
    let unsaved = unsaved.json();
    assert_eq!(unsaved["email_available"], true);
    assert_eq!(
        unsaved["events"].as_array().unwrap().len(),
        5,
        "every event until chosen"
    );
    assert_eq!(unsaved["webhook_url"], serde_json::Value::Null);
    assert_eq!(unsaved["signing_secret_set"], false);

    let saved = alice
        .put_json(
            &path,
            &json!({
                "email_recipients": ["ops@contoso.example", "lead@contoso.example"],
                "webhook_url": receiver.url("/fusion"),
                "events": ["run_failed", "connection_changed"],
            }),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let saved = saved.json();
    let secret = saved["signing_secret"]
        .as_str()
        .expect("shown once")
        .to_owned();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(
        saved["settings"]["events"],
        json!(["run_failed", "connection_changed"])
    );
    assert_eq!(saved["settings"]["signing_secret_set"], true);

    // Read again: the secret is never shown again; saving again does not create another.
    let read = alice.get(&path).await;
    assert!(!read.body.contains(&secret));
    let again = alice
        .put_json(&path, &json!({"email_recipients": ["ops@contoso.example"], "webhook_url": receiver.url("/fusion")}))
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert!(again.json().get("signing_secret").is_none());
    assert!(!again.body.contains(&secret));

    let tested = alice
        .post_json(&format!("{path}/test"), &json!({"channel": "email"}))
        .await;
    assert_eq!(tested.status, 200, "{}", tested.body);
    assert_eq!(tested.json()["delivered"], true);
    assert_eq!(
        tested.json()["message"],
        "Test email sent to ops@contoso.example"
    );
    let mail = sink.next().await;
    assert_eq!(mail.to, ["<ops@contoso.example>"]);
    assert!(
        mail.decoded().contains("Test notification"),
        "{}",
        mail.data
    );

    let tested = alice
        .post_json(&format!("{path}/test"), &json!({"channel": "webhook"}))
        .await;
    assert_eq!(tested.status, 200, "{}", tested.body);
    assert_eq!(tested.json()["delivered"], true, "{}", tested.body);
    let request = receiver.next().await;
    assert_eq!(
        request.header(SIGNATURE_HEADER),
        format!(
            "sha256={}",
            sign(&SecretString::from(secret.clone()), &request.body)
        ),
        "the receiver can verify the event with the secret it was shown"
    );
    assert_eq!(request.json()["status"], "test");
    assert_eq!(
        request.json()["organisation_id"],
        app.alice.org.id.to_string()
    );

    // A new secret: shown once, different, and the next event is signed with it.
    let rotated = alice
        .post_json(&format!("{path}/signing-secret"), &json!({}))
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let new_secret = rotated.json()["signing_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new_secret, secret);
    alice
        .post_json(&format!("{path}/test"), &json!({"channel": "webhook"}))
        .await;
    let request = receiver.next().await;
    assert_eq!(
        request.header(SIGNATURE_HEADER),
        format!(
            "sha256={}",
            sign(&SecretString::from(new_secret), &request.body)
        )
    );
}

#[tokio::test]
async fn a_failing_mail_server_is_reported_in_words() {
    let sink = SmtpSink::spawn_refusing("550 5.7.1 relaying denied").await;
    let app = app_with(sink.address.port()).await;
    let mut alice = app.signed_in(&app.alice).await;
    let path = format!("/api/v1/orgs/{}/notifications", app.alice.org.id);
    let saved = alice
        .put_json(&path, &json!({"email_recipients": ["ops@contoso.example"]}))
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let tested = alice
        .post_json(&format!("{path}/test"), &json!({"channel": "email"}))
        .await;
    assert_eq!(tested.status, 200, "{}", tested.body);
    let result = tested.json();
    assert_eq!(result["delivered"], false);
    let message = result["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!(
            "Test failed: the mail server 127.0.0.1:{} refused the message",
            sink.address.port()
        )),
        "{message}"
    );
    assert!(message.contains("relaying denied"), "{message}");

    // Nothing set up for the webhook: said so.
    let webhook = alice
        .post_json(&format!("{path}/test"), &json!({"channel": "webhook"}))
        .await;
    assert_eq!(webhook.status, 422);
    assert_eq!(webhook.json()["error"]["code"], "notifications_not_set_up");
}

#[tokio::test]
async fn bad_recipients_internal_webhook_urls_and_unknown_events_are_refused_by_field() {
    let sink = SmtpSink::spawn().await;
    let app = app_with(sink.address.port()).await;
    let mut alice = app.signed_in(&app.alice).await;
    let path = format!("/api/v1/orgs/{}/notifications", app.alice.org.id);
    for (body, field, expected) in [
        (
            json!({"email_recipients": ["ops@contoso.example", "ops at contoso"]}),
            "email_recipients",
            "is not an email address",
        ),
        (
            json!({"webhook_url": "https://169.254.169.254/latest/meta-data/"}),
            "webhook_url",
            "is a cloud metadata address",
        ),
        (
            json!({"webhook_url": "https://10.1.2.3/hook"}),
            "webhook_url",
            "is a private address",
        ),
        (
            json!({"webhook_url": "https://localhost/hook"}),
            "webhook_url",
            "loopback address",
        ),
        (
            json!({"events": ["run_failed", "everything"]}),
            "events",
            "unknown event",
        ),
    ] {
        let refused = alice.put_json(&path, &body).await;
        assert_eq!(refused.status, 422, "{body}: {}", refused.body);
        let error = &refused.json()["error"];
        assert_eq!(error["field"], field, "{}", refused.body);
        assert!(
            error["message"].as_str().unwrap().contains(expected),
            "{}",
            refused.body
        );
    }
    assert_eq!(
        alice.get(&path).await.json()["updated_at"],
        serde_json::Value::Null,
        "nothing was saved"
    );
}

#[tokio::test]
async fn another_organisation_gets_404_and_sees_nothing_of_the_settings() {
    let sink = SmtpSink::spawn().await;
    let app = app_with(sink.address.port()).await;
    let mut alice = app.signed_in(&app.alice).await;
    let mut bob = app.signed_in(&app.bob).await;
    let alice_path = format!("/api/v1/orgs/{}/notifications", app.alice.org.id);
    let saved = alice
        .put_json(
            &alice_path,
            &json!({"email_recipients": ["secret-team@contoso.example"]}),
        )
        .await;
    assert_eq!(saved.status, 200);

    assert_eq!(bob.get(&alice_path).await.status, 404);
    assert_eq!(
        bob.put_json(
            &alice_path,
            &json!({"email_recipients": ["bob@northwind.example"]})
        )
        .await
        .status,
        404
    );
    assert_eq!(
        bob.post_json(&format!("{alice_path}/test"), &json!({"channel": "email"}))
            .await
            .status,
        404
    );
    assert_eq!(
        bob.post_json(&format!("{alice_path}/signing-secret"), &json!({}))
            .await
            .status,
        404
    );
    let page = bob
        .get(&format!(
            "/orgs/{}/settings/notifications",
            app.alice.org.id
        ))
        .await;
    assert_eq!(page.status, 404);
    assert!(!page.body.contains("secret-team"));
    let own = bob
        .get(&format!("/api/v1/orgs/{}/notifications", app.bob.org.id))
        .await;
    assert_eq!(own.status, 200);
    assert!(
        own.json()["email_recipients"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        alice.get(&alice_path).await.json()["email_recipients"],
        json!(["secret-team@contoso.example"]),
        "alice's settings are unchanged"
    );
}

#[tokio::test]
async fn the_page_saves_shows_the_secret_once_and_sends_tests() {
    let mut sink = SmtpSink::spawn().await;
    let receiver = HttpReceiver::spawn(200).await;
    let app = app_with(sink.address.port()).await;
    let mut alice = app.signed_in(&app.alice).await;
    let page_path = format!("/orgs/{}/settings/notifications", app.alice.org.id);

    let settings = alice
        .get(&format!("/orgs/{}/settings", app.alice.org.id))
        .await;
    assert!(
        settings.body.contains(&page_path),
        "Settings links to Notifications"
    );
    let page = alice.get(&page_path).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Send test email"));

    let saved = alice
        .submit_form(
            &page_path,
            &[
                ("email_recipients", "ops@contoso.example"),
                ("webhook_url", &receiver.url("/in")),
                ("event_run_failed", "on"),
            ],
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert!(saved.body.contains("Notification settings saved"));
    assert!(saved.body.contains("shown only once"));
    assert!(saved.body.contains("whsec_"));
    let shown_again = alice.get(&page_path).await;
    assert!(
        !shown_again.body.contains("whsec_"),
        "the secret is shown once"
    );
    assert!(shown_again.body.contains("A signing secret was created"));

    let api = alice
        .get(&format!("/api/v1/orgs/{}/notifications", app.alice.org.id))
        .await;
    assert_eq!(
        api.json()["events"],
        json!(["run_failed"]),
        "unticked events are off"
    );

    let tested = alice
        .submit_form(&format!("{page_path}/test-email"), &[])
        .await;
    assert_eq!(tested.status, 200);
    assert!(
        tested
            .body
            .contains("Test email sent to ops@contoso.example"),
        "{}",
        tested.body
    );
    sink.next().await;

    let refused = alice
        .submit_form(
            &page_path,
            &[
                ("email_recipients", "ops@contoso.example"),
                ("webhook_url", "https://192.168.0.10/x"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(
        refused
            .body
            .contains("Not saved: the webhook host 192.168.0.10 is a private address")
    );
    assert!(
        refused.body.contains("192.168.0.10/x"),
        "what was typed is kept"
    );
}
