//! Email over SMTP with `lettre` (tokio, rustls with ring; no OpenSSL). The server's SMTP
//! settings come from its configuration ([`SmtpSettings`]); a failure is reported in words
//! with the mail server's own answer, never with the password.

use std::time::Duration;

use fusion_engine::notify::{DeliveryError, NotificationEvent};
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

/// How the connection to the mail server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS, required (usually port 587).
    Starttls,
    /// TLS from the first byte ("SMTPS", usually port 465).
    Tls,
    /// No encryption: only for a relay on the same host or network (usually port 25).
    None,
}

impl SmtpSecurity {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "starttls" => Ok(SmtpSecurity::Starttls),
            "tls" | "smtps" => Ok(SmtpSecurity::Tls),
            "none" | "plain" => Ok(SmtpSecurity::None),
            other => Err(format!(
                "unknown SMTP security {other:?}; use starttls, tls or none"
            )),
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        }
    }
}

/// The server's SMTP settings.
#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// Sign in with this user and [`SmtpSettings::password`]; `None` sends without signing in.
    pub username: Option<String>,
    pub password: Option<SecretString>,
    /// The sender, e.g. `Support Fusion <fusion@example.com>`.
    pub from: String,
    pub timeout: Duration,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from)
            .finish()
    }
}

/// Sends notification emails.
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    server: String,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// Checks the settings (the sender address, the host) without connecting.
    pub fn new(settings: &SmtpSettings) -> Result<Self, String> {
        let from: Mailbox = settings.from.parse().map_err(|error| {
            format!(
                "the SMTP sender address {:?} is not valid ({error}); use e.g. \"Support Fusion <fusion@example.com>\"",
                settings.from
            )
        })?;
        let host = settings.host.trim();
        if host.is_empty() {
            return Err("the SMTP host is empty".to_owned());
        }
        let builder = match settings.security {
            SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host),
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host),
            SmtpSecurity::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                host,
            )),
        }
        .map_err(|error| format!("the SMTP host {host:?} cannot be used: {error}"))?;
        let mut builder = builder.port(settings.port).timeout(Some(settings.timeout));
        if let Some(username) = &settings.username {
            let password = settings
                .password
                .as_ref()
                .map(|password| password.expose_secret().to_owned())
                .unwrap_or_default();
            builder = builder.credentials(Credentials::new(username.clone(), password));
        }
        Ok(Self {
            transport: builder.build(),
            from,
            server: format!("{host}:{}", settings.port),
        })
    }

    /// Sends `event` as a plain-text email, one message to all `recipients`.
    pub async fn send(
        &self,
        recipients: &[String],
        event: &NotificationEvent,
    ) -> Result<(), DeliveryError> {
        let mut message = Message::builder()
            .from(self.from.clone())
            .subject(event.subject())
            .header(ContentType::TEXT_PLAIN);
        for recipient in recipients {
            let mailbox: Mailbox = recipient.parse().map_err(|error| {
                DeliveryError::Failed(format!(
                    "\"{recipient}\" is not an email address the mail library accepts ({error})"
                ))
            })?;
            message = message.to(mailbox);
        }
        let message = message
            .body(format!(
                "{}\n\n-- \nSent by Support Fusion. Change what you receive in Settings > Notifications.\n",
                event.text()
            ))
            .map_err(|error| DeliveryError::Failed(format!("the email could not be built: {error}")))?;
        self.transport.send(message).await.map_err(|error| {
            let answer = if error.is_permanent() {
                "refused the message"
            } else if error.is_transient() {
                "could not take the message now"
            } else {
                "could not be used"
            };
            let mut detail = error.to_string();
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                detail.push_str(": ");
                detail.push_str(&cause.to_string());
                source = cause.source();
            }
            DeliveryError::Failed(format!(
                "the mail server {} {answer} ({detail})",
                self.server
            ))
        })?;
        Ok(())
    }
}
