//! Email over SMTP to the in-process sink: what arrives, and what a person reads when the mail
//! server refuses or cannot be reached.

use std::time::Duration;

use fusion_engine::notify::{DeliveryError, NotificationChannels};
use fusion_notify::{DeliveryChannels, SmtpSecurity, SmtpSettings, WebhookSettings};

use crate::failed_run_event;
use crate::sinks::SmtpSink;

fn smtp(port: u16) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".to_owned(),
        port,
        security: SmtpSecurity::None,
        username: None,
        password: None,
        from: "Support Fusion <fusion@northwind.example>".to_owned(),
        timeout: Duration::from_secs(5),
    }
}

fn channels(port: u16) -> DeliveryChannels {
    DeliveryChannels::new(Some(&smtp(port)), WebhookSettings::default()).expect("builds")
}

#[tokio::test]
async fn an_event_email_reaches_every_recipient_with_its_subject_and_facts() {
    let mut sink = SmtpSink::spawn().await;
    let channels = channels(sink.address.port());
    assert!(channels.email_available());
    channels
        .send_email(
            &[
                "ops@northwind.example".into(),
                "lead@northwind.example".into(),
            ],
            &failed_run_event(),
        )
        .await
        .expect("delivered");
    let mail = sink.next().await;
    assert_eq!(mail.from, "<fusion@northwind.example>");
    assert_eq!(
        mail.to,
        ["<ops@northwind.example>", "<lead@northwind.example>"]
    );
    let text = mail.decoded();
    assert!(
        text.contains("Subject: [Support Fusion] Sync failed: Managed support"),
        "{text}"
    );
    assert!(
        text.contains("Why: authentication failed: the API user is inactive"),
        "{text}"
    );
    assert!(
        text.contains("What to do: Enter the API secret again in Settings."),
        "{text}"
    );
}

#[tokio::test]
async fn a_refusing_mail_server_is_reported_with_its_answer() {
    let sink = SmtpSink::spawn_refusing("550 5.1.1 mailbox unavailable").await;
    let error = channels(sink.address.port())
        .send_email(&["nobody@northwind.example".into()], &failed_run_event())
        .await
        .expect_err("refused");
    let message = error.to_string();
    assert!(matches!(error, DeliveryError::Failed(_)));
    assert!(
        message.contains(&format!(
            "the mail server 127.0.0.1:{} refused the message",
            sink.address.port()
        )),
        "{message}"
    );
    assert!(message.contains("mailbox unavailable"), "{message}");
}

#[tokio::test]
async fn an_unreachable_mail_server_is_reported_in_words() {
    // A port that was free a moment ago: nothing listens there.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
        listener.local_addr().expect("address").port()
    };
    let message = channels(port)
        .send_email(&["ops@northwind.example".into()], &failed_run_event())
        .await
        .expect_err("nobody listens")
        .to_string();
    assert!(
        message.starts_with(&format!("the mail server 127.0.0.1:{port} could not")),
        "{message}"
    );
    assert!(message.to_lowercase().contains("connect"), "{message}");
}

#[tokio::test]
async fn without_smtp_settings_email_is_unavailable_and_says_how_to_set_it_up() {
    let channels = DeliveryChannels::new(None, WebhookSettings::default()).expect("builds");
    assert!(!channels.email_available());
    let message = channels
        .send_email(&["ops@northwind.example".into()], &failed_run_event())
        .await
        .expect_err("no SMTP")
        .to_string();
    assert!(message.contains("FUSION_SMTP_HOST"), "{message}");
}

#[test]
fn a_bad_sender_address_is_refused_when_the_server_starts() {
    let mut settings = smtp(25);
    settings.from = "not an address".to_owned();
    let error =
        DeliveryChannels::new(Some(&settings), WebhookSettings::default()).expect_err("refused");
    assert!(error.contains("SMTP sender address"), "{error}");
}
