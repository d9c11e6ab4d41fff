//! [`WebhookStore`] for both databases: webhook registrations (the callout key sealed like API
//! secrets) and the event queue. Deduplication is the unique index on (registration, Guid,
//! sequence number); a claim is one UPDATE whose WHERE re-checks the claim, so of several
//! processes claiming at once each event goes to exactly one.

use async_trait::async_trait;
use fusion_domain::OrgId;
use fusion_domain::sync::TicketId;
use fusion_engine::ports::{
    QueuedWebhookEvent, WebhookActivity, WebhookEvent, WebhookEventDone, WebhookRegistration,
    WebhookStore,
};
use fusion_engine::webhooks::{HookState, WebhookId};
use secrecy::SecretString;
use time::OffsetDateTime;

use super::SqlStore;
use crate::backend::{Backend, Bind, Columns, RowsAffected};
use crate::crypto::{SecretPlace, decrypt_api_secret};
use crate::database_errors::{database_error, insert_error};
use crate::timestamps::to_storage_precision;
use crate::{StoreError, StoreResult};

const REGISTRATION_COLUMNS: &str = "id, org_id, state, detail, callout_url, tenant, \
     platform_ids, guids, created_at, checked_at, unhealthy_since";

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

fn registration_from_row<R: Columns>(row: &R) -> StoreResult<WebhookRegistration> {
    let state: String = row.column("state")?;
    Ok(WebhookRegistration {
        id: row.id("id")?,
        org: row.id("org_id")?,
        state: HookState::from_code(&state)
            .ok_or_else(|| StoreError::Backend(format!("unknown webhook state {state:?}")))?,
        detail: row.column("detail")?,
        callout_url: row.column("callout_url")?,
        tenant: row.column("tenant")?,
        platform_ids: lines(&row.column::<String>("platform_ids")?),
        guids: lines(&row.column::<String>("guids")?),
        created_at: row.time("created_at")?,
        checked_at: row.optional_time("checked_at")?,
        unhealthy_since: row.optional_time("unhealthy_since")?,
    })
}

fn event_from_row<R: Columns>(row: &R, org: OrgId) -> StoreResult<QueuedWebhookEvent> {
    Ok(QueuedWebhookEvent {
        id: row.column("id")?,
        org,
        event: WebhookEvent {
            webhook: row.id("registration_id")?,
            guid: row.column("guid")?,
            sequence_number: row.column("sequence_number")?,
            entity: row.column("entity")?,
            action: row.column("action")?,
            ticket: TicketId::new(row.column::<String>("ticket_id")?),
            event_time: row.time("event_time")?,
            received_at: row.time("received_at")?,
        },
    })
}

#[async_trait]
impl<B: Backend> WebhookStore for SqlStore<B> {
    async fn webhook_registrations(&self) -> StoreResult<Vec<WebhookRegistration>> {
        sqlx::query::<B>(sqlx::AssertSqlSafe(format!(
            "SELECT {REGISTRATION_COLUMNS} FROM webhook_registrations ORDER BY created_at, id"
        )))
        .fetch_all(self.pool())
        .await
        .map_err(database_error)?
        .iter()
        .map(registration_from_row)
        .collect()
    }

    async fn webhook_registration(
        &self,
        id: WebhookId,
    ) -> StoreResult<Option<WebhookRegistration>> {
        sqlx::query::<B>(sqlx::AssertSqlSafe(format!(
            "SELECT {REGISTRATION_COLUMNS} FROM webhook_registrations WHERE id = $1"
        )))
        .bind_id(id)
        .fetch_optional(self.pool())
        .await
        .map_err(database_error)?
        .map(|row| registration_from_row(&row))
        .transpose()
    }

    async fn save_webhook_registration(
        &self,
        registration: &WebhookRegistration,
        secret: Option<&SecretString>,
    ) -> StoreResult<()> {
        let sealed = secret
            .map(|secret| {
                self.key
                    .seal(SecretPlace::WebhookCallout(registration.id), secret)
            })
            .transpose()?;
        sqlx::query::<B>(
            "INSERT INTO webhook_registrations (id, org_id, state, detail, callout_url, tenant, \
             platform_ids, guids, secret_ciphertext, created_at, checked_at, unhealthy_since) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (id) DO UPDATE SET state = excluded.state, detail = excluded.detail, \
             callout_url = excluded.callout_url, tenant = excluded.tenant, \
             platform_ids = excluded.platform_ids, guids = excluded.guids, \
             secret_ciphertext = COALESCE(excluded.secret_ciphertext, \
             webhook_registrations.secret_ciphertext), checked_at = excluded.checked_at, \
             unhealthy_since = excluded.unhealthy_since",
        )
        .bind_id(registration.id)
        .bind_id(registration.org)
        .bind_value(registration.state.code())
        .bind_value(registration.detail.clone())
        .bind_value(registration.callout_url.clone())
        .bind_value(registration.tenant.clone())
        .bind_value(registration.platform_ids.join("\n"))
        .bind_value(registration.guids.join("\n"))
        .bind_value(sealed)
        .bind_time(to_storage_precision(registration.created_at))
        .bind_optional_time(registration.checked_at.map(to_storage_precision))
        .bind_optional_time(registration.unhealthy_since.map(to_storage_precision))
        .execute(self.pool())
        .await
        .map_err(|error| {
            insert_error(
                error,
                "this organisation already has a webhook registration",
            )
        })?;
        Ok(())
    }

    async fn deactivate_webhook_registration(
        &self,
        id: WebhookId,
        detail: &str,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        // An UPDATE, never an insert: a notice arriving after the registration was removed
        // must not bring it back.
        sqlx::query::<B>(
            "UPDATE webhook_registrations SET state = $1, detail = $2, checked_at = NULL, \
             unhealthy_since = COALESCE(unhealthy_since, $3) WHERE id = $4",
        )
        .bind_value(HookState::Inactive.code())
        .bind_value(detail)
        .bind_time(to_storage_precision(now))
        .bind_id(id)
        .execute(self.pool())
        .await
        .map_err(database_error)?;
        Ok(())
    }

    async fn webhook_secret(&self, id: WebhookId) -> StoreResult<Option<SecretString>> {
        let blob: Option<Vec<u8>> =
            sqlx::query::<B>("SELECT secret_ciphertext FROM webhook_registrations WHERE id = $1")
                .bind_id(id)
                .fetch_optional(self.pool())
                .await
                .map_err(database_error)?
                .map(|row| row.column::<Option<Vec<u8>>>("secret_ciphertext"))
                .transpose()?
                .flatten();
        blob.map(|blob| decrypt_api_secret(&self.key, SecretPlace::WebhookCallout(id), &blob))
            .transpose()
    }

    async fn delete_webhook_registration(&self, id: WebhookId) -> StoreResult<()> {
        // Events go with it (ON DELETE CASCADE; SQLite has foreign keys on).
        sqlx::query::<B>("DELETE FROM webhook_events WHERE registration_id = $1")
            .bind_id(id)
            .execute(self.pool())
            .await
            .map_err(database_error)?;
        sqlx::query::<B>("DELETE FROM webhook_registrations WHERE id = $1")
            .bind_id(id)
            .execute(self.pool())
            .await
            .map_err(database_error)?;
        Ok(())
    }

    async fn record_webhook_event(&self, event: &WebhookEvent) -> StoreResult<bool> {
        let inserted = sqlx::query::<B>(
            "INSERT INTO webhook_events (registration_id, guid, sequence_number, entity, action, \
             ticket_id, event_time, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (registration_id, guid, sequence_number) DO NOTHING",
        )
        .bind_id(event.webhook)
        .bind_value(event.guid.to_ascii_lowercase())
        .bind_value(event.sequence_number)
        .bind_value(event.entity.clone())
        .bind_value(event.action.clone())
        .bind_value(event.ticket.as_str().to_owned())
        .bind_time(to_storage_precision(event.event_time))
        .bind_time(to_storage_precision(event.received_at))
        .execute(self.pool())
        .await
        .map_err(|error| insert_error(error, "the webhook registration is gone"))?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn claim_webhook_events(
        &self,
        settled_before: OffsetDateTime,
        now: OffsetDateTime,
        claim_until: OffsetDateTime,
        limit: u32,
        overdue_before: OffsetDateTime,
    ) -> StoreResult<Vec<QueuedWebhookEvent>> {
        // The outer WHERE repeats the claim check: under PostgreSQL's READ COMMITTED a second
        // claimer blocked on the same rows re-evaluates it after the first commits and skips
        // them.
        let rows = sqlx::query::<B>(
            "UPDATE webhook_events SET claimed_until = $1 \
             WHERE done_at IS NULL AND (claimed_until IS NULL OR claimed_until <= $2) \
             AND id IN (SELECT e.id FROM webhook_events e \
                 WHERE e.done_at IS NULL AND (e.claimed_until IS NULL OR e.claimed_until <= $2) \
                 AND e.received_at <= $3 \
                 AND (e.received_at <= $4 OR NOT EXISTS (SELECT 1 FROM webhook_events n \
                     WHERE n.registration_id = e.registration_id AND n.ticket_id = e.ticket_id \
                     AND n.done_at IS NULL AND n.received_at > $3)) \
                 ORDER BY e.id LIMIT $5) \
             RETURNING id, registration_id, guid, sequence_number, entity, action, ticket_id, \
             event_time, received_at",
        )
        .bind_time(to_storage_precision(claim_until))
        .bind_time(to_storage_precision(now))
        .bind_time(to_storage_precision(settled_before))
        .bind_time(to_storage_precision(overdue_before))
        .bind_value(i64::from(limit))
        .fetch_all(self.pool())
        .await
        .map_err(database_error)?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let registrations = self.webhook_registrations().await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in &rows {
            let registration: WebhookId = row.id("registration_id")?;
            let Some(org) = registrations
                .iter()
                .find(|r| r.id == registration)
                .map(|r| r.org)
            else {
                continue;
            };
            claimed.push(event_from_row(row, org)?);
        }
        claimed.sort_by_key(|event| event.id);
        Ok(claimed)
    }

    async fn finish_webhook_events(
        &self,
        done: &[WebhookEventDone],
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let now = to_storage_precision(now);
        let mut transaction = self.begin_write().await?;
        for event in done {
            sqlx::query::<B>(
                "UPDATE webhook_events SET done_at = $1, delay_ms = $2, claimed_until = NULL \
                 WHERE id = $3",
            )
            .bind_time(now)
            .bind_value(event.delay_ms)
            .bind_value(event.id)
            .execute(B::connection(&mut transaction))
            .await
            .map_err(database_error)?;
        }
        transaction.commit().await.map_err(database_error)?;
        Ok(())
    }

    async fn release_webhook_events(
        &self,
        ids: &[i64],
        retry_at: OffsetDateTime,
    ) -> StoreResult<()> {
        let retry_at = to_storage_precision(retry_at);
        let mut transaction = self.begin_write().await?;
        for id in ids {
            // Claimed until the retry time: nobody takes it before then.
            sqlx::query::<B>(
                "UPDATE webhook_events SET claimed_until = $1 WHERE id = $2 AND done_at IS NULL",
            )
            .bind_time(retry_at)
            .bind_value(*id)
            .execute(B::connection(&mut transaction))
            .await
            .map_err(database_error)?;
        }
        transaction.commit().await.map_err(database_error)?;
        Ok(())
    }

    async fn webhook_activity(
        &self,
        id: WebhookId,
        since: OffsetDateTime,
    ) -> StoreResult<WebhookActivity> {
        let since = to_storage_precision(since);
        let summary = sqlx::query::<B>(
            "SELECT MAX(received_at) AS last_event_at, \
             SUM(CASE WHEN received_at >= $2 THEN 1 ELSE 0 END) AS events, \
             SUM(CASE WHEN done_at IS NULL THEN 1 ELSE 0 END) AS waiting \
             FROM webhook_events WHERE registration_id = $1",
        )
        .bind_id(id)
        .bind_time(since)
        .fetch_one(self.pool())
        .await
        .map_err(database_error)?;
        let delays = sqlx::query::<B>(
            "SELECT delay_ms FROM webhook_events WHERE registration_id = $1 \
             AND done_at >= $2 AND delay_ms IS NOT NULL ORDER BY delay_ms",
        )
        .bind_id(id)
        .bind_time(since)
        .fetch_all(self.pool())
        .await
        .map_err(database_error)?
        .iter()
        .map(|row| row.column::<i64>("delay_ms"))
        .collect::<StoreResult<Vec<i64>>>()?;
        let count = |name: &str| -> StoreResult<u64> {
            Ok(row_count(summary.column::<Option<i64>>(name)?))
        };
        Ok(WebhookActivity {
            last_event_at: summary.optional_time("last_event_at")?,
            events: count("events")?,
            waiting: count("waiting")?,
            delays_ms: delays,
        })
    }

    async fn delete_webhook_events_before(&self, cutoff: OffsetDateTime) -> StoreResult<u64> {
        Ok(
            sqlx::query::<B>("DELETE FROM webhook_events WHERE done_at < $1")
                .bind_time(to_storage_precision(cutoff))
                .execute(self.pool())
                .await
                .map_err(database_error)?
                .rows_affected(),
        )
    }
}

fn row_count(value: Option<i64>) -> u64 {
    value
        .and_then(|value| u64::try_from(value).ok())
        .unwrap_or(0)
}
