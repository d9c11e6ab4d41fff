//! The receiver's use case: verify a callout, deduplicate it, queue it.

use std::str::FromStr;

use crate::ports::{StoreError, WebhookEvent};

use super::{Callout, WEBHOOK_EVENTS_TOTAL, WebhookId, WebhookService};

/// What became of a verified callout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receipt {
    /// Queued for a targeted run.
    Queued,
    /// The same webhook and sequence number came before: nothing queued.
    Replay,
    /// The platform says it deactivated the webhook: its connections poll at their own interval
    /// and re-activation is tried.
    Deactivated,
}

/// Why a callout was not taken.
#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    /// Unknown webhook, missing or wrong signature, or a webhook that is not ours: one answer
    /// for all, so a caller learns nothing about which ids exist.
    #[error("unknown webhook or invalid signature")]
    Refused,
    /// Signed correctly but not a callout we can read.
    #[error("the callout could not be read: {0}")]
    Malformed(String),
    /// The database could not be reached: the platform retries.
    #[error("the sync database failed: {0}")]
    Store(#[from] StoreError),
}

impl WebhookService {
    /// Takes one callout for the registration named `id` (as in the URL), with its raw body and
    /// signature header.
    pub async fn receive(
        &self,
        id: &str,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<Receipt, ReceiveError> {
        let result = self.receive_inner(id, signature, body).await;
        let label = match &result {
            Ok(Receipt::Queued) => "queued",
            Ok(Receipt::Replay) => "replay",
            Ok(Receipt::Deactivated) => "deactivation",
            Err(ReceiveError::Refused) => "refused",
            Err(ReceiveError::Malformed(_)) => "malformed",
            Err(ReceiveError::Store(_)) => "store_failed",
        };
        metrics::counter!(WEBHOOK_EVENTS_TOTAL, "result" => label).increment(1);
        if matches!(result, Ok(Receipt::Queued)) {
            self.events.notify_one();
        }
        result
    }

    async fn receive_inner(
        &self,
        id: &str,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<Receipt, ReceiveError> {
        let id = WebhookId::from_str(id).map_err(|_| ReceiveError::Refused)?;
        let Some(registration) = self.store.webhook_registration(id).await? else {
            return Err(ReceiveError::Refused);
        };
        let Some(secret) = self.store.webhook_secret(id).await? else {
            return Err(ReceiveError::Refused);
        };
        if !self.platform.verify_callout(&secret, body, signature) {
            return Err(ReceiveError::Refused);
        }
        let callout = self
            .platform
            .read_callout(body)
            .map_err(ReceiveError::Malformed)?;
        let guid = match &callout {
            Callout::Change { guid, .. } | Callout::Deactivated { guid } => guid,
        };
        // Signed with our key but naming another webhook: not ours to act on.
        if !registration.guids.is_empty()
            && !registration
                .guids
                .iter()
                .any(|ours| ours.eq_ignore_ascii_case(guid))
        {
            return Err(ReceiveError::Refused);
        }
        let now = self.clock.now();
        match callout {
            Callout::Deactivated { .. } => {
                self.store
                    .deactivate_webhook_registration(
                        id,
                        "Autotask deactivated the webhooks after failed callouts; the connections poll \
                         at their own interval while Support Fusion re-activates them",
                        now,
                    )
                    .await?;
                self.health.forget(registration.org);
                self.registrations.notify_one();
                tracing::warn!(org = %registration.org, "the platform deactivated this organisation's webhooks; polling at the normal interval");
                Ok(Receipt::Deactivated)
            }
            Callout::Change {
                guid,
                sequence_number,
                entity,
                action,
                ticket,
                event_time,
            } => {
                let queued = self
                    .store
                    .record_webhook_event(&WebhookEvent {
                        webhook: id,
                        guid,
                        sequence_number,
                        entity,
                        action,
                        ticket,
                        event_time,
                        received_at: now,
                    })
                    .await?;
                Ok(if queued {
                    Receipt::Queued
                } else {
                    Receipt::Replay
                })
            }
        }
    }
}
