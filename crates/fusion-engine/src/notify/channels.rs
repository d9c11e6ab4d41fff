//! The delivery port: how a notification leaves the server. `fusion-notify` implements it (email
//! over SMTP, the outgoing webhook with its address checks and signature); the core decides what
//! to send, to whom and how often, and knows no SMTP or HTTP.

use async_trait::async_trait;
use secrecy::SecretString;

use super::NotificationEvent;

/// Why a notification could not be delivered, in words for people (shown by "Send test" and
/// logged by the notifier). Never contains a password or a signing secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// This server has no such channel configured (e.g. no SMTP server).
    #[error("{0}")]
    NotConfigured(String),
    /// The webhook URL may not be called (see [`WebhookUrlProblem`]).
    #[error(transparent)]
    Url(#[from] WebhookUrlProblem),
    /// The mail server or the webhook receiver refused or could not be reached.
    #[error("{0}")]
    Failed(String),
}

/// Why a webhook URL is refused. The message names the problem and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct WebhookUrlProblem(pub String);

/// Where notifications go out.
#[async_trait]
pub trait NotificationChannels: Send + Sync {
    /// Whether this server can send email (an SMTP server is configured).
    fn email_available(&self) -> bool;

    /// Sends `event` by email to `recipients`.
    async fn send_email(
        &self,
        recipients: &[String],
        event: &NotificationEvent,
    ) -> Result<(), DeliveryError>;

    /// Whether the server may call `url`: its form, and every address its host resolves to
    /// (no loopback, private, link-local, … address unless the server configuration allows the
    /// host).
    async fn check_webhook_url(&self, url: &str) -> Result<(), WebhookUrlProblem>;

    /// Posts `event` to `url`, signed with `secret` (checking the URL again first).
    async fn post_webhook(
        &self,
        url: &str,
        secret: &SecretString,
        event: &NotificationEvent,
    ) -> Result<(), DeliveryError>;
}

/// No channel at all: what a server without notification delivery (and the web layer's tests)
/// runs with. Email is unavailable and every webhook URL is refused.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoChannels;

const NO_DELIVERY: &str = "this server does not deliver notifications";

#[async_trait]
impl NotificationChannels for NoChannels {
    fn email_available(&self) -> bool {
        false
    }

    async fn send_email(&self, _: &[String], _: &NotificationEvent) -> Result<(), DeliveryError> {
        Err(DeliveryError::NotConfigured(NO_DELIVERY.to_owned()))
    }

    async fn check_webhook_url(&self, _: &str) -> Result<(), WebhookUrlProblem> {
        Err(WebhookUrlProblem(NO_DELIVERY.to_owned()))
    }

    async fn post_webhook(
        &self,
        _: &str,
        _: &SecretString,
        _: &NotificationEvent,
    ) -> Result<(), DeliveryError> {
        Err(DeliveryError::NotConfigured(NO_DELIVERY.to_owned()))
    }
}
