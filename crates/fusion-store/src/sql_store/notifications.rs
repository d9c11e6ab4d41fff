//! [`NotificationStore`] for both databases: notification settings (the webhook signing secret
//! sealed like API secrets, its place in the associated data) and the problems that deduplicate
//! notifications. Opening and resolving a problem are one statement each, so of several
//! processes seeing the same problem exactly one is answered `true` and sends.

use std::collections::BTreeSet;

use async_trait::async_trait;
use fusion_domain::OrgId;
use fusion_engine::notify::EventKind;
use fusion_engine::ports::{
    NotificationSettingsRecord, NotificationStore, OpenProblem, StoredNotificationSettings,
};
use secrecy::SecretString;
use time::OffsetDateTime;

use super::SqlStore;
use crate::backend::{Backend, Bind, Columns, RowsAffected};
use crate::crypto::{SecretPlace, decrypt_api_secret};
use crate::database_errors::{database_error, insert_error};
use crate::timestamps::to_storage_precision;
use crate::{StoreError, StoreResult};

fn events_text(events: &BTreeSet<EventKind>) -> String {
    events
        .iter()
        .map(|kind| kind.code())
        .collect::<Vec<_>>()
        .join(",")
}

/// Codes this binary does not know (written by a newer one) are left out.
fn events_from_text(text: &str) -> BTreeSet<EventKind> {
    text.split(',').filter_map(EventKind::from_code).collect()
}

fn kind_from_text(text: &str) -> StoreResult<EventKind> {
    EventKind::from_code(text)
        .ok_or_else(|| StoreError::Backend(format!("unknown notification event kind {text:?}")))
}

#[async_trait]
impl<B: Backend> NotificationStore for SqlStore<B> {
    async fn notification_settings(
        &self,
        org: OrgId,
    ) -> StoreResult<Option<StoredNotificationSettings>> {
        let Some(row) = sqlx::query::<B>(
            "SELECT email_recipients, webhook_url, events, signing_secret_created_at, updated_at \
             FROM notification_settings WHERE org_id = $1",
        )
        .bind_id(org)
        .fetch_optional(self.pool())
        .await
        .map_err(database_error)?
        else {
            return Ok(None);
        };
        let recipients: String = row.column("email_recipients")?;
        let events: String = row.column("events")?;
        Ok(Some(StoredNotificationSettings {
            email_recipients: recipients
                .lines()
                .filter(|line| !line.is_empty())
                .map(str::to_owned)
                .collect(),
            webhook_url: row.column("webhook_url")?,
            events: events_from_text(&events),
            signing_secret_created_at: row.optional_time("signing_secret_created_at")?,
            updated_at: row.time("updated_at")?,
        }))
    }

    async fn save_notification_settings(
        &self,
        org: OrgId,
        settings: &NotificationSettingsRecord,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        sqlx::query::<B>(
            "INSERT INTO notification_settings \
             (org_id, email_recipients, webhook_url, events, updated_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (org_id) DO UPDATE SET email_recipients = excluded.email_recipients, \
             webhook_url = excluded.webhook_url, events = excluded.events, \
             updated_at = excluded.updated_at",
        )
        .bind_id(org)
        .bind_value(settings.email_recipients.join("\n"))
        .bind_value(settings.webhook_url.clone())
        .bind_value(events_text(&settings.events))
        .bind_time(to_storage_precision(now))
        .execute(self.pool())
        .await
        .map_err(|error| insert_error(error, "notification settings already exist"))?;
        Ok(())
    }

    async fn save_webhook_signing_secret(
        &self,
        org: OrgId,
        secret: &SecretString,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let sealed = self.key.seal(SecretPlace::WebhookSigning(org), secret)?;
        let changed = sqlx::query::<B>(
            "UPDATE notification_settings SET signing_secret_ciphertext = $1, \
             signing_secret_created_at = $2 WHERE org_id = $3",
        )
        .bind_value(sealed)
        .bind_time(to_storage_precision(now))
        .bind_id(org)
        .execute(self.pool())
        .await
        .map_err(database_error)?;
        if changed.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn webhook_signing_secret(&self, org: OrgId) -> StoreResult<Option<SecretString>> {
        let blob: Option<Vec<u8>> = sqlx::query::<B>(
            "SELECT signing_secret_ciphertext FROM notification_settings WHERE org_id = $1",
        )
        .bind_id(org)
        .fetch_optional(self.pool())
        .await
        .map_err(database_error)?
        .map(|row| row.column::<Option<Vec<u8>>>("signing_secret_ciphertext"))
        .transpose()?
        .flatten();
        blob.map(|blob| decrypt_api_secret(&self.key, SecretPlace::WebhookSigning(org), &blob))
            .transpose()
    }

    async fn open_notification_problem(
        &self,
        org: OrgId,
        problem_key: &str,
        kind: EventKind,
        summary: &str,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let now = to_storage_precision(now);
        // Inserts a new problem or re-opens a resolved one; leaves an open one alone (the
        // conflict's WHERE is false, so no row changes).
        let opened = sqlx::query::<B>(
            "INSERT INTO notification_problems \
             (org_id, problem_key, kind, summary, opened_at, last_seen_at, resolved_at) \
             VALUES ($1, $2, $3, $4, $5, $5, NULL) \
             ON CONFLICT (org_id, problem_key) DO UPDATE SET kind = excluded.kind, \
             summary = excluded.summary, opened_at = excluded.opened_at, \
             last_seen_at = excluded.last_seen_at, resolved_at = NULL \
             WHERE notification_problems.resolved_at IS NOT NULL",
        )
        .bind_id(org)
        .bind_value(problem_key)
        .bind_value(kind.code())
        .bind_value(summary)
        .bind_time(now)
        .execute(self.pool())
        .await
        .map_err(|error| insert_error(error, "the problem is already open"))?
        .rows_affected()
            == 1;
        if !opened {
            sqlx::query::<B>(
                "UPDATE notification_problems SET last_seen_at = $1 \
                 WHERE org_id = $2 AND problem_key = $3 AND resolved_at IS NULL",
            )
            .bind_time(now)
            .bind_id(org)
            .bind_value(problem_key)
            .execute(self.pool())
            .await
            .map_err(database_error)?;
        }
        Ok(opened)
    }

    async fn resolve_notification_problem(
        &self,
        org: OrgId,
        problem_key: &str,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let resolved = sqlx::query::<B>(
            "UPDATE notification_problems SET resolved_at = $1 \
             WHERE org_id = $2 AND problem_key = $3 AND resolved_at IS NULL",
        )
        .bind_time(to_storage_precision(now))
        .bind_id(org)
        .bind_value(problem_key)
        .execute(self.pool())
        .await
        .map_err(database_error)?;
        Ok(resolved.rows_affected() == 1)
    }

    async fn open_notification_problems(&self, org: OrgId) -> StoreResult<Vec<OpenProblem>> {
        sqlx::query::<B>(
            "SELECT problem_key, kind, summary, opened_at, last_seen_at \
             FROM notification_problems WHERE org_id = $1 AND resolved_at IS NULL \
             ORDER BY opened_at, problem_key",
        )
        .bind_id(org)
        .fetch_all(self.pool())
        .await
        .map_err(database_error)?
        .iter()
        .map(|row| {
            let kind: String = row.column("kind")?;
            Ok(OpenProblem {
                problem_key: row.column("problem_key")?,
                kind: kind_from_text(&kind)?,
                summary: row.column("summary")?,
                opened_at: row.time("opened_at")?,
                last_seen_at: row.time("last_seen_at")?,
            })
        })
        .collect()
    }
}
