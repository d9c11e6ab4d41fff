//! Per-organisation notification settings as use cases: read them (every event chosen until the
//! organisation says otherwise), save them (recipients and the webhook URL checked first), create
//! or rotate the webhook signing secret (shown once), and "Send test" on either channel.

use std::collections::BTreeSet;
use std::sync::Arc;

use fusion_domain::{Clock, OrgId};
use rand::TryRng;
use secrecy::SecretString;
use time::OffsetDateTime;

use super::channels::{DeliveryError, NotificationChannels, WebhookUrlProblem};
use super::event::{EventFact, EventKind, EventPhase, NotificationEvent};
use crate::ports::{NotificationSettingsRecord, NotificationStore, OpenProblem, StoreError};

/// Most email recipients per organisation: notifications go to a team address or a few people,
/// not to a mailing list.
pub const MAX_EMAIL_RECIPIENTS: usize = 20;
/// Longest webhook URL accepted.
pub const MAX_WEBHOOK_URL_CHARS: usize = 2000;

/// An organisation's notification settings, as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationSettings {
    pub email_recipients: Vec<String>,
    pub webhook_url: Option<String>,
    pub events: BTreeSet<EventKind>,
    /// When the webhook signing secret was created; `None` while there is none.
    pub signing_secret_created_at: Option<OffsetDateTime>,
    /// `None` while never saved.
    pub updated_at: Option<OffsetDateTime>,
}

impl NotificationSettings {
    /// What an organisation has before it saves anything: no channel, every event.
    pub fn unsaved() -> Self {
        Self {
            email_recipients: Vec::new(),
            webhook_url: None,
            events: EventKind::all(),
            signing_secret_created_at: None,
            updated_at: None,
        }
    }

    /// Whether `kind` reaches this organisation through at least one channel.
    pub fn wants(&self, kind: EventKind) -> bool {
        self.events.contains(&kind)
            && (!self.email_recipients.is_empty() || self.webhook_url.is_some())
    }
}

/// What a person entered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotificationSettingsDraft {
    /// Addresses as typed (commas, semicolons, spaces or lines between them).
    pub email_recipients: String,
    /// Empty for none.
    pub webhook_url: String,
    pub events: BTreeSet<EventKind>,
}

/// The answer to a save: the settings, and the signing secret if this save created it (the only
/// time it is shown).
#[derive(Debug)]
pub struct SavedNotificationSettings {
    pub settings: NotificationSettings,
    pub new_signing_secret: Option<SecretString>,
}

/// Which channel "Send test" uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestChannel {
    Email,
    Webhook,
}

/// Why a settings request failed: the cases callers answer differently.
#[derive(Debug, thiserror::Error)]
pub enum NotificationSettingsError {
    /// A value is not acceptable as entered; `field` names it (`email_recipients`,
    /// `webhook_url`).
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// "Send test" on a channel that is not set up.
    #[error("{0}")]
    NotSetUp(String),
    /// The test notification could not be delivered; the message says why, in words.
    #[error("{0}")]
    Delivery(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

/// The notification-settings use cases over the store and the delivery channels.
#[derive(Clone)]
pub struct NotificationSettingsService {
    store: Arc<dyn NotificationStore>,
    channels: Arc<dyn NotificationChannels>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for NotificationSettingsService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotificationSettingsService")
            .finish_non_exhaustive()
    }
}

impl NotificationSettingsService {
    pub fn new(
        store: Arc<dyn NotificationStore>,
        channels: Arc<dyn NotificationChannels>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            channels,
            clock,
        }
    }

    /// Whether this server can send email at all (an SMTP server is configured).
    pub fn email_available(&self) -> bool {
        self.channels.email_available()
    }

    pub async fn settings(&self, org: OrgId) -> Result<NotificationSettings, StoreError> {
        load_settings(self.store.as_ref(), org).await
    }

    /// The problems `org` was told about that are not resolved yet.
    pub async fn open_problems(&self, org: OrgId) -> Result<Vec<OpenProblem>, StoreError> {
        self.store.open_notification_problems(org).await
    }

    /// Checks and saves `draft`. The first save with a webhook URL creates the signing secret
    /// and answers with it, once.
    pub async fn save(
        &self,
        org: OrgId,
        draft: &NotificationSettingsDraft,
    ) -> Result<SavedNotificationSettings, NotificationSettingsError> {
        let email_recipients = parse_recipients(&draft.email_recipients)?;
        let webhook_url = match draft.webhook_url.trim() {
            "" => None,
            url if url.chars().count() > MAX_WEBHOOK_URL_CHARS => {
                return Err(NotificationSettingsError::Invalid {
                    field: "webhook_url",
                    message: format!(
                        "the webhook URL is longer than {MAX_WEBHOOK_URL_CHARS} characters"
                    ),
                });
            }
            url => {
                self.channels.check_webhook_url(url).await.map_err(
                    |WebhookUrlProblem(message)| NotificationSettingsError::Invalid {
                        field: "webhook_url",
                        message,
                    },
                )?;
                Some(url.to_owned())
            }
        };
        let now = self.clock.now();
        let needs_secret = webhook_url.is_some();
        self.store
            .save_notification_settings(
                org,
                &NotificationSettingsRecord {
                    email_recipients,
                    webhook_url,
                    events: draft.events.clone(),
                },
                now,
            )
            .await?;
        let mut new_signing_secret = None;
        if needs_secret && self.store.webhook_signing_secret(org).await?.is_none() {
            let secret = new_signing_secret_value()?;
            self.store
                .save_webhook_signing_secret(org, &secret, now)
                .await?;
            new_signing_secret = Some(secret);
        }
        tracing::info!(org_id = %org, "notification settings saved");
        Ok(SavedNotificationSettings {
            settings: self.settings(org).await?,
            new_signing_secret,
        })
    }

    /// Replaces the webhook signing secret with a new one and answers with it (shown once).
    /// Receivers must be given the new secret: events from now on are signed with it.
    pub async fn rotate_signing_secret(
        &self,
        org: OrgId,
    ) -> Result<SecretString, NotificationSettingsError> {
        if self.store.notification_settings(org).await?.is_none() {
            self.store
                .save_notification_settings(
                    org,
                    &NotificationSettingsRecord {
                        email_recipients: Vec::new(),
                        webhook_url: None,
                        events: EventKind::all(),
                    },
                    self.clock.now(),
                )
                .await?;
        }
        let secret = new_signing_secret_value()?;
        self.store
            .save_webhook_signing_secret(org, &secret, self.clock.now())
            .await?;
        tracing::info!(org_id = %org, "webhook signing secret created");
        Ok(secret)
    }

    /// Sends a test notification through `channel` with the saved settings, and says where it
    /// went; a failure says why in words (e.g. the SMTP server's answer).
    pub async fn send_test(
        &self,
        org: OrgId,
        channel: TestChannel,
    ) -> Result<String, NotificationSettingsError> {
        let settings = self.settings(org).await?;
        let event = NotificationEvent {
            kind: EventKind::RunFailed,
            phase: EventPhase::Test,
            problem_key: "test".to_owned(),
            organisation: org,
            connection: None,
            title: "Test notification".to_owned(),
            facts: vec![EventFact::new(
                "what",
                "What",
                "This is a test from Support Fusion's notification settings; no action is needed.",
            )],
            occurred_at: self.clock.now(),
        };
        match channel {
            TestChannel::Email => {
                if settings.email_recipients.is_empty() {
                    return Err(NotificationSettingsError::NotSetUp(
                        "no email recipients are saved; enter at least one address and save first"
                            .to_owned(),
                    ));
                }
                self.channels
                    .send_email(&settings.email_recipients, &event)
                    .await
                    .map_err(delivery_error)?;
                Ok(format!(
                    "Test email sent to {}",
                    settings.email_recipients.join(", ")
                ))
            }
            TestChannel::Webhook => {
                let Some(url) = settings.webhook_url else {
                    return Err(NotificationSettingsError::NotSetUp(
                        "no webhook URL is saved; enter one and save first".to_owned(),
                    ));
                };
                let Some(secret) = self.store.webhook_signing_secret(org).await? else {
                    return Err(NotificationSettingsError::NotSetUp(
                        "the webhook has no signing secret; create one first".to_owned(),
                    ));
                };
                self.channels
                    .post_webhook(&url, &secret, &event)
                    .await
                    .map_err(delivery_error)?;
                Ok(format!("Test event delivered to {url}"))
            }
        }
    }
}

fn delivery_error(error: DeliveryError) -> NotificationSettingsError {
    match error {
        DeliveryError::NotConfigured(message) => NotificationSettingsError::NotSetUp(message),
        other => NotificationSettingsError::Delivery(other.to_string()),
    }
}

/// The settings of `org`, or [`NotificationSettings::unsaved`].
pub(crate) async fn load_settings(
    store: &dyn NotificationStore,
    org: OrgId,
) -> Result<NotificationSettings, StoreError> {
    Ok(match store.notification_settings(org).await? {
        Some(stored) => NotificationSettings {
            email_recipients: stored.email_recipients,
            webhook_url: stored.webhook_url,
            events: stored.events,
            signing_secret_created_at: stored.signing_secret_created_at,
            updated_at: Some(stored.updated_at),
        },
        None => NotificationSettings::unsaved(),
    })
}

/// Splits and checks the recipients a person typed; duplicates (ignoring case) are dropped.
pub fn parse_recipients(entered: &str) -> Result<Vec<String>, NotificationSettingsError> {
    let mut recipients: Vec<String> = Vec::new();
    for address in entered
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|part| !part.is_empty())
    {
        check_email_address(address).map_err(|message| NotificationSettingsError::Invalid {
            field: "email_recipients",
            message,
        })?;
        if !recipients
            .iter()
            .any(|known| known.eq_ignore_ascii_case(address))
        {
            recipients.push(address.to_owned());
        }
    }
    if recipients.len() > MAX_EMAIL_RECIPIENTS {
        return Err(NotificationSettingsError::Invalid {
            field: "email_recipients",
            message: format!(
                "at most {MAX_EMAIL_RECIPIENTS} email recipients; use a team address for more people"
            ),
        });
    }
    Ok(recipients)
}

/// The shape of an address: `local@domain.tld`, no spaces, quotes or angle brackets (the mail
/// adapter checks it again when it builds the message).
fn check_email_address(address: &str) -> Result<(), String> {
    let problem = |why: &str| format!("\"{address}\" is not an email address: {why}");
    if address.chars().count() > 254 {
        return Err(problem("it is longer than 254 characters"));
    }
    if address
        .chars()
        .any(|c| c.is_control() || matches!(c, '<' | '>' | '"' | '(' | ')' | '[' | ']' | '\\'))
    {
        return Err(problem("it contains a character addresses cannot have"));
    }
    let Some((local, domain)) = address.rsplit_once('@') else {
        return Err(problem("it has no @"));
    };
    if local.is_empty() || local.contains('@') {
        return Err(problem("the part before the @ is missing or has another @"));
    }
    if !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains("..")
    {
        return Err(problem(
            "the part after the @ must be a domain such as example.com",
        ));
    }
    Ok(())
}

/// A fresh signing secret: `whsec_` and 32 random bytes from the OS, hex-encoded.
fn new_signing_secret_value() -> Result<SecretString, NotificationSettingsError> {
    let mut bytes = [0u8; 32];
    rand::rngs::SysRng
        .try_fill_bytes(&mut bytes)
        .map_err(|error| {
            NotificationSettingsError::Internal(format!(
                "the operating system gave no randomness for a signing secret: {error}"
            ))
        })?;
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    Ok(SecretString::from(format!("whsec_{hex}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_are_split_checked_and_deduplicated() {
        let parsed = parse_recipients("ops@example.com, Ops@Example.com;\nlead@example.org ")
            .expect("valid");
        assert_eq!(parsed, ["ops@example.com", "lead@example.org"]);
        assert!(parse_recipients("").expect("empty is fine").is_empty());
    }

    #[test]
    fn a_bad_address_is_named_with_the_reason() {
        let error = parse_recipients("ops@example.com, not-an-address").expect_err("refused");
        assert_eq!(
            error.to_string(),
            "\"not-an-address\" is not an email address: it has no @"
        );
        let error = parse_recipients("ops@localhost").expect_err("refused");
        assert!(error.to_string().contains("a domain such as example.com"));
    }

    #[test]
    fn signing_secrets_are_fresh_each_time() {
        use secrecy::ExposeSecret;
        let one = new_signing_secret_value().expect("random");
        let two = new_signing_secret_value().expect("random");
        assert!(one.expose_secret().starts_with("whsec_"));
        assert_eq!(one.expose_secret().len(), 6 + 64);
        assert_ne!(one.expose_secret(), two.expose_secret());
    }
}
