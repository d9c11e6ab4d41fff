//! The notification delivery adapter: implements the core's
//! [`fusion_engine::notify::NotificationChannels`] port with email over SMTP (`lettre`, see
//! [`email`]) and the signed outgoing webhook (`reqwest`, see [`webhook`]), whose user-entered
//! URLs pass the SSRF guard in [`address_policy`].
//!
//! It decides nothing about what to send or how often (that is the core's `Notifier`); it knows
//! how to reach people. It depends on `fusion-domain` and `fusion-engine` only.

pub mod address_policy;
pub mod email;
pub mod webhook;

use async_trait::async_trait;
use fusion_engine::notify::{
    DeliveryError, NotificationChannels, NotificationEvent, WebhookUrlProblem,
};
use secrecy::SecretString;

pub use email::{SmtpMailer, SmtpSecurity, SmtpSettings};
pub use webhook::{
    EVENT_HEADER, SIGNATURE_HEADER, WebhookClient, WebhookSettings, sign, webhook_body,
};

/// Email (when an SMTP server is configured) and webhooks.
#[derive(Debug, Clone)]
pub struct DeliveryChannels {
    mailer: Option<SmtpMailer>,
    webhooks: WebhookClient,
}

impl DeliveryChannels {
    pub fn new(smtp: Option<&SmtpSettings>, webhooks: WebhookSettings) -> Result<Self, String> {
        Ok(Self {
            mailer: smtp.map(SmtpMailer::new).transpose()?,
            webhooks: WebhookClient::new(webhooks)?,
        })
    }
}

#[async_trait]
impl NotificationChannels for DeliveryChannels {
    fn email_available(&self) -> bool {
        self.mailer.is_some()
    }

    async fn send_email(
        &self,
        recipients: &[String],
        event: &NotificationEvent,
    ) -> Result<(), DeliveryError> {
        match &self.mailer {
            Some(mailer) => mailer.send(recipients, event).await,
            None => Err(DeliveryError::NotConfigured(
                "this server has no SMTP server configured, so it cannot send email; the \
                 operator sets FUSION_SMTP_HOST (see README, Notifications)"
                    .to_owned(),
            )),
        }
    }

    async fn check_webhook_url(&self, url: &str) -> Result<(), WebhookUrlProblem> {
        self.webhooks.check(url).await.map(|_| ())
    }

    async fn post_webhook(
        &self,
        url: &str,
        secret: &SecretString,
        event: &NotificationEvent,
    ) -> Result<(), DeliveryError> {
        self.webhooks.post(url, secret, event).await
    }
}
