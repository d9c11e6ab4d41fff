//! The SQLite [`SyncStore`]: ticket links, pending creates, cursors, runs and records, pending
//! retries, and leases.
//!
//! Timestamps in the sync tables are fixed-width UTC text (see [`timestamp_text`]), so SQL compares
//! and orders them as text with microsecond precision. Steps that read before they write (adding a
//! record and updating the pending retries, claiming a lease) run in a `BEGIN IMMEDIATE`
//! transaction, holding SQLite's single write lock from the start: concurrent claimers of one lease
//! are served one after the other, and only the first finds it free.

use async_trait::async_trait;
use fusion_domain::sync::{
    PendingRetry, RunCounts, RunStatus, RunTrigger, SyncCursor, SyncRecord, SyncRun, SyncRunId,
    SyncSchedule, TicketId, TicketLink,
};
use fusion_domain::{RelationshipId, Role};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{Duration, OffsetDateTime, PrimitiveDateTime, UtcOffset};

use super::{SqliteStore, id_text, uuid_column};
use crate::database_errors::{database_error, insert_error};
use crate::sync_rows::{
    CursorColumns, LINK_COLUMNS, LinkColumns, PendingCreateColumns, RECORD_COLUMNS, RUN_COLUMNS,
    RecordColumns, RetryChange, RetryColumns, RunColumns, calls_used_column, count_columns,
    lease_key_text, new_lease_token, schedule_from_columns, schedule_interval_seconds,
    ticket_column,
};
use crate::sync_store::{Lease, LeaseKey, PendingCreate, RunFilter, RunFinish, SyncStore};
use crate::timestamps::to_storage_precision;
use crate::{StoreError, StoreResult};

const DOUBLE_TARGET: &str = "the target ticket is already linked to another ticket of this relationship; \
     a ticket is never linked twice";

/// `2026-11-27T01:43:57.123456Z`: RFC 3339, always six fractional digits, always UTC.
const TIMESTAMP_FORMAT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// The stored text of a timestamp: fixed width, so text order is time order.
fn timestamp_text(timestamp: OffsetDateTime) -> StoreResult<String> {
    to_storage_precision(timestamp)
        .format(TIMESTAMP_FORMAT)
        .map_err(|error| StoreError::Backend(format!("cannot store the time {timestamp}: {error}")))
}

fn optional_timestamp_text(timestamp: Option<OffsetDateTime>) -> StoreResult<Option<String>> {
    timestamp.map(timestamp_text).transpose()
}

fn parse_timestamp(column: &str, text: &str) -> StoreResult<OffsetDateTime> {
    PrimitiveDateTime::parse(text, TIMESTAMP_FORMAT)
        .map(|timestamp| timestamp.assume_offset(UtcOffset::UTC))
        .map_err(|_| StoreError::Backend(format!("malformed time {text:?} in column {column}")))
}

fn timestamp_column(row: &SqliteRow, column: &str) -> StoreResult<OffsetDateTime> {
    let text: String = row.try_get(column).map_err(database_error)?;
    parse_timestamp(column, &text)
}

fn optional_timestamp_column(row: &SqliteRow, column: &str) -> StoreResult<Option<OffsetDateTime>> {
    let text: Option<String> = row.try_get(column).map_err(database_error)?;
    text.map(|text| parse_timestamp(column, &text)).transpose()
}

fn text_column<T: for<'r> sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>>(
    row: &SqliteRow,
    column: &str,
) -> StoreResult<T> {
    row.try_get(column).map_err(database_error)
}

fn link_from_row(row: &SqliteRow) -> StoreResult<TicketLink> {
    LinkColumns {
        relationship: uuid_column(row, "relationship_id")?,
        source_ticket: text_column(row, "source_ticket")?,
        target_ticket: text_column(row, "target_ticket")?,
        source_number: text_column(row, "source_number")?,
        target_number: text_column(row, "target_number")?,
        origin: text_column(row, "origin")?,
        document: text_column(row, "document")?,
        created_at: timestamp_column(row, "created_at")?,
        updated_at: timestamp_column(row, "updated_at")?,
    }
    .into_link()
}

fn run_from_row(row: &SqliteRow) -> StoreResult<SyncRun> {
    RunColumns {
        id: uuid_column(row, "id")?,
        relationship: uuid_column(row, "relationship_id")?,
        trigger: text_column(row, "run_trigger")?,
        since: optional_timestamp_column(row, "since")?,
        status: text_column(row, "status")?,
        created: text_column(row, "created_count")?,
        updated: text_column(row, "updated_count")?,
        closed: text_column(row, "closed_count")?,
        failed: text_column(row, "failed_count")?,
        skipped: text_column(row, "skipped_count")?,
        conflicts: text_column(row, "conflict_count")?,
        started_at: timestamp_column(row, "started_at")?,
        finished_at: optional_timestamp_column(row, "finished_at")?,
        calls_used: text_column(row, "calls_used")?,
        error: text_column(row, "error")?,
    }
    .into_run()
}

fn record_from_row(row: &SqliteRow) -> StoreResult<SyncRecord> {
    RecordColumns {
        run: uuid_column(row, "run_id")?,
        relationship: uuid_column(row, "relationship_id")?,
        origin: text_column(row, "origin")?,
        source_ticket: text_column(row, "source_ticket")?,
        source_number: text_column(row, "source_number")?,
        target_ticket: text_column(row, "target_ticket")?,
        target_number: text_column(row, "target_number")?,
        outcome: text_column(row, "outcome")?,
        error: text_column(row, "error")?,
        failed_comments: text_column(row, "failed_comments")?,
        failed_attachments: text_column(row, "failed_attachments")?,
        notes: text_column(row, "notes")?,
        recorded_at: timestamp_column(row, "recorded_at")?,
    }
    .into_record()
}

fn lease_from_row(key: &LeaseKey, row: &SqliteRow) -> StoreResult<Lease> {
    Ok(Lease {
        key: key.clone(),
        holder: text_column(row, "holder")?,
        token: text_column(row, "token")?,
        expires_at: timestamp_column(row, "expires_at")?,
    })
}

/// Brings the pending retries up to date with one record just added (inside its transaction).
async fn apply_retry_change(
    transaction: &mut Transaction<'static, Sqlite>,
    record: &SyncRecord,
) -> StoreResult<()> {
    let Some(change) = RetryChange::of(record) else {
        return Ok(());
    };
    let relationship = id_text(record.relationship.as_uuid());
    // A failure recorded under the target ticket alone is settled or continued by this record.
    let mut continued: Option<i64> = None;
    if let Some(alias) = &change.alias {
        let removed = sqlx::query(
            "DELETE FROM sync_retries WHERE relationship_id = ? AND ticket_key = ? \
             RETURNING attempts",
        )
        .bind(&relationship)
        .bind(alias)
        .fetch_optional(&mut **transaction)
        .await
        .map_err(database_error)?;
        if let Some(row) = removed {
            continued = Some(text_column(&row, "attempts")?);
        }
    }
    if !change.failed {
        return sqlx::query(
            "DELETE FROM sync_retries WHERE relationship_id = ? AND ticket_key = ?",
        )
        .bind(&relationship)
        .bind(&change.key)
        .execute(&mut **transaction)
        .await
        .map(drop)
        .map_err(database_error);
    }
    let run = record.run.as_uuid();
    sqlx::query(
        "INSERT INTO sync_retries (relationship_id, ticket_key, source_ticket, target_ticket, \
             attempts, last_run_id, last_error, last_failed_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (relationship_id, ticket_key) DO UPDATE SET \
             attempts = sync_retries.attempts + 1, \
             source_ticket = excluded.source_ticket, target_ticket = excluded.target_ticket, \
             last_run_id = excluded.last_run_id, last_error = excluded.last_error, \
             last_failed_at = excluded.last_failed_at",
    )
    .bind(&relationship)
    .bind(&change.key)
    .bind(record.source_ticket.as_ref().map(TicketId::as_str))
    .bind(record.target_ticket.as_ref().map(TicketId::as_str))
    .bind(RetryChange::attempts_after(continued))
    .bind(id_text(run))
    .bind(record.error.as_deref())
    .bind(timestamp_text(record.recorded_at)?)
    .execute(&mut **transaction)
    .await
    .map(drop)
    .map_err(|error| insert_error(error, "pending retry conflict"))
}

impl SqliteStore {
    async fn begin_sync_write(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(database_error)
    }
}

#[async_trait]
impl SyncStore for SqliteStore {
    async fn link_by_ticket(
        &self,
        relationship: RelationshipId,
        side: Role,
        ticket: &TicketId,
    ) -> StoreResult<Option<TicketLink>> {
        let column = ticket_column(side);
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {LINK_COLUMNS} FROM ticket_links WHERE relationship_id = ? AND {column} = ?"
        )))
        .bind(id_text(relationship.as_uuid()))
        .bind(ticket.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(database_error)?
        .map(|row| link_from_row(&row))
        .transpose()
    }

    async fn links_by_tickets(
        &self,
        relationship: RelationshipId,
        side: Role,
        tickets: &[TicketId],
    ) -> StoreResult<Vec<TicketLink>> {
        if tickets.is_empty() {
            return Ok(Vec::new());
        }
        // One JSON array parameter instead of one placeholder per ticket: no statement-size or
        // variable-count limit, and the SQL text stays constant.
        let ticket_texts: Vec<&str> = tickets.iter().map(TicketId::as_str).collect();
        let tickets_json = serde_json::to_string(&ticket_texts)
            .map_err(|error| StoreError::Backend(format!("cannot encode ticket ids: {error}")))?;
        let column = ticket_column(side);
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {LINK_COLUMNS} FROM ticket_links WHERE relationship_id = ? \
             AND {column} IN (SELECT value FROM json_each(?))"
        )))
        .bind(id_text(relationship.as_uuid()))
        .bind(tickets_json)
        .fetch_all(&self.pool)
        .await
        .map_err(database_error)?
        .iter()
        .map(link_from_row)
        .collect()
    }

    async fn upsert_link(&self, link: &TicketLink) -> StoreResult<()> {
        let columns = LinkColumns::from_link(link)?;
        sqlx::query(
            "INSERT INTO ticket_links (relationship_id, source_ticket, target_ticket, source_number, \
                 target_number, origin, document, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (relationship_id, source_ticket) DO UPDATE SET \
                 target_ticket = excluded.target_ticket, source_number = excluded.source_number, \
                 target_number = excluded.target_number, origin = excluded.origin, \
                 document = excluded.document, created_at = excluded.created_at, \
                 updated_at = excluded.updated_at",
        )
        .bind(id_text(columns.relationship))
        .bind(&columns.source_ticket)
        .bind(&columns.target_ticket)
        .bind(&columns.source_number)
        .bind(&columns.target_number)
        .bind(&columns.origin)
        .bind(&columns.document)
        .bind(timestamp_text(columns.created_at)?)
        .bind(timestamp_text(columns.updated_at)?)
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(|error| insert_error(error, DOUBLE_TARGET))
    }

    async fn record_pending_create(&self, pending: &PendingCreate) -> StoreResult<()> {
        let columns = PendingCreateColumns::from_pending(pending);
        sqlx::query(
            "INSERT INTO pending_creates (relationship_id, origin, origin_ticket, marker, started_at) \
             VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (relationship_id, origin, origin_ticket) DO UPDATE SET \
                 marker = excluded.marker, started_at = excluded.started_at",
        )
        .bind(id_text(columns.relationship))
        .bind(&columns.origin)
        .bind(&columns.origin_ticket)
        .bind(&columns.marker)
        .bind(timestamp_text(columns.started_at)?)
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(|error| insert_error(error, "pending create conflict"))
    }

    async fn pending_creates(
        &self,
        relationship: RelationshipId,
    ) -> StoreResult<Vec<PendingCreate>> {
        sqlx::query(
            "SELECT relationship_id, origin, origin_ticket, marker, started_at FROM pending_creates \
             WHERE relationship_id = ? ORDER BY started_at, origin, origin_ticket",
        )
        .bind(id_text(relationship.as_uuid()))
        .fetch_all(&self.pool)
        .await
        .map_err(database_error)?
        .iter()
        .map(|row| {
            PendingCreateColumns {
                relationship: uuid_column(row, "relationship_id")?,
                origin: text_column(row, "origin")?,
                origin_ticket: text_column(row, "origin_ticket")?,
                marker: text_column(row, "marker")?,
                started_at: timestamp_column(row, "started_at")?,
            }
            .into_pending()
        })
        .collect()
    }

    async fn clear_pending_create(
        &self,
        relationship: RelationshipId,
        origin: Role,
        origin_ticket: &TicketId,
    ) -> StoreResult<()> {
        sqlx::query(
            "DELETE FROM pending_creates WHERE relationship_id = ? AND origin = ? AND origin_ticket = ?",
        )
        .bind(id_text(relationship.as_uuid()))
        .bind(origin.as_str())
        .bind(origin_ticket.as_str())
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(database_error)
    }

    async fn cursor(
        &self,
        relationship: RelationshipId,
        side: Role,
    ) -> StoreResult<Option<SyncCursor>> {
        sqlx::query(
            "SELECT relationship_id, side, last_activity_at, last_id FROM sync_cursors \
             WHERE relationship_id = ? AND side = ?",
        )
        .bind(id_text(relationship.as_uuid()))
        .bind(side.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(database_error)?
        .map(|row| {
            CursorColumns {
                relationship: uuid_column(&row, "relationship_id")?,
                side: text_column(&row, "side")?,
                last_activity_at: timestamp_column(&row, "last_activity_at")?,
                last_id: text_column(&row, "last_id")?,
            }
            .into_cursor()
        })
        .transpose()
    }

    async fn save_cursor(&self, cursor: &SyncCursor) -> StoreResult<()> {
        let columns = CursorColumns::from_cursor(cursor);
        sqlx::query(
            "INSERT INTO sync_cursors (relationship_id, side, last_activity_at, last_id) \
             VALUES (?, ?, ?, ?) \
             ON CONFLICT (relationship_id, side) DO UPDATE SET \
                 last_activity_at = excluded.last_activity_at, last_id = excluded.last_id",
        )
        .bind(id_text(columns.relationship))
        .bind(&columns.side)
        .bind(timestamp_text(columns.last_activity_at)?)
        .bind(columns.last_id.as_deref())
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(|error| insert_error(error, "cursor conflict"))
    }

    async fn start_run(
        &self,
        relationship: RelationshipId,
        trigger: RunTrigger,
        since: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> StoreResult<SyncRun> {
        let run = SyncRun {
            id: SyncRunId::new(),
            relationship,
            trigger,
            since: since.map(to_storage_precision),
            status: RunStatus::Running,
            counts: RunCounts::default(),
            started_at: to_storage_precision(now),
            finished_at: None,
            calls_used: 0,
            error: None,
        };
        sqlx::query(
            "INSERT INTO sync_runs (id, relationship_id, run_trigger, since, status, started_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(id_text(run.id.as_uuid()))
        .bind(id_text(relationship.as_uuid()))
        .bind(trigger.as_str())
        .bind(optional_timestamp_text(run.since)?)
        .bind(run.status.as_str())
        .bind(timestamp_text(run.started_at)?)
        .execute(&self.pool)
        .await
        .map_err(|error| insert_error(error, "a run with this id already exists"))?;
        Ok(run)
    }

    async fn finish_run(&self, run: SyncRunId, finish: &RunFinish) -> StoreResult<()> {
        let RunFinish {
            status,
            counts,
            finished_at,
            calls_used,
            error,
        } = finish;
        let [created, updated, closed, failed, skipped, conflicts] = count_columns(counts);
        let done = sqlx::query(
            "UPDATE sync_runs SET status = ?, created_count = ?, updated_count = ?, \
                 closed_count = ?, failed_count = ?, skipped_count = ?, conflict_count = ?, \
                 finished_at = ?, calls_used = ?, error = ? \
             WHERE id = ?",
        )
        .bind(status.as_str())
        .bind(created)
        .bind(updated)
        .bind(closed)
        .bind(failed)
        .bind(skipped)
        .bind(conflicts)
        .bind(timestamp_text(*finished_at)?)
        .bind(calls_used_column(*calls_used)?)
        .bind(error.as_deref())
        .bind(id_text(run.as_uuid()))
        .execute(&self.pool)
        .await
        .map_err(database_error)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn add_record(&self, record: &SyncRecord) -> StoreResult<()> {
        let columns = RecordColumns::from_record(record)?;
        let mut transaction = self.begin_sync_write().await?;
        sqlx::query(
            "INSERT INTO sync_records (run_id, relationship_id, origin, source_ticket, source_number, \
                 target_ticket, target_number, outcome, error, failed_comments, failed_attachments, \
                 notes, recorded_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id_text(columns.run))
        .bind(id_text(columns.relationship))
        .bind(&columns.origin)
        .bind(columns.source_ticket.as_deref())
        .bind(columns.source_number.as_deref())
        .bind(columns.target_ticket.as_deref())
        .bind(columns.target_number.as_deref())
        .bind(&columns.outcome)
        .bind(columns.error.as_deref())
        .bind(columns.failed_comments)
        .bind(columns.failed_attachments)
        .bind(&columns.notes)
        .bind(timestamp_text(columns.recorded_at)?)
        .execute(&mut *transaction)
        .await
        .map_err(|error| insert_error(error, "record conflict"))?;
        apply_retry_change(&mut transaction, record).await?;
        transaction.commit().await.map_err(database_error)
    }

    async fn pending_retries(
        &self,
        relationship: RelationshipId,
    ) -> StoreResult<Vec<PendingRetry>> {
        sqlx::query(
            "SELECT relationship_id, source_ticket, target_ticket, attempts, last_error, last_failed_at \
             FROM sync_retries WHERE relationship_id = ? ORDER BY last_failed_at, ticket_key",
        )
        .bind(id_text(relationship.as_uuid()))
        .fetch_all(&self.pool)
        .await
        .map_err(database_error)?
        .iter()
        .map(|row| {
            RetryColumns {
                relationship: uuid_column(row, "relationship_id")?,
                source_ticket: text_column(row, "source_ticket")?,
                target_ticket: text_column(row, "target_ticket")?,
                attempts: text_column(row, "attempts")?,
                last_error: text_column(row, "last_error")?,
                last_failed_at: timestamp_column(row, "last_failed_at")?,
            }
            .into_retry()
        })
        .collect()
    }

    async fn sync_runs(&self, filter: &RunFilter) -> StoreResult<Vec<SyncRun>> {
        let RunFilter {
            relationship,
            status,
            started_from,
            started_before,
            limit,
        } = filter;
        // Only the conditions in use go into the SQL, so SQLite can use the matching index.
        let mut conditions: Vec<&'static str> = Vec::new();
        if relationship.is_some() {
            conditions.push("relationship_id = ?");
        }
        if status.is_some() {
            conditions.push("status = ?");
        }
        if started_from.is_some() {
            conditions.push("started_at >= ?");
        }
        if started_before.is_some() {
            conditions.push("started_at < ?");
        }
        let where_clause = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM sync_runs {where_clause} \
             ORDER BY started_at DESC, id DESC LIMIT ?"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        if let Some(relationship) = relationship {
            query = query.bind(id_text(relationship.as_uuid()));
        }
        if let Some(status) = status {
            query = query.bind(status.as_str());
        }
        if let Some(started_from) = started_from {
            query = query.bind(timestamp_text(*started_from)?);
        }
        if let Some(started_before) = started_before {
            query = query.bind(timestamp_text(*started_before)?);
        }
        query
            .bind(i64::from(*limit))
            .fetch_all(&self.pool)
            .await
            .map_err(database_error)?
            .iter()
            .map(run_from_row)
            .collect()
    }

    async fn sync_run(&self, run: SyncRunId) -> StoreResult<Option<SyncRun>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {RUN_COLUMNS} FROM sync_runs WHERE id = ?"
        )))
        .bind(id_text(run.as_uuid()))
        .fetch_optional(&self.pool)
        .await
        .map_err(database_error)?
        .map(|row| run_from_row(&row))
        .transpose()
    }

    async fn sync_records(&self, run: SyncRunId) -> StoreResult<Vec<SyncRecord>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {RECORD_COLUMNS} FROM sync_records WHERE run_id = ? ORDER BY id"
        )))
        .bind(id_text(run.as_uuid()))
        .fetch_all(&self.pool)
        .await
        .map_err(database_error)?
        .iter()
        .map(record_from_row)
        .collect()
    }

    async fn delete_runs_before(&self, cutoff: OffsetDateTime) -> StoreResult<u64> {
        // Records go with their run (ON DELETE CASCADE); the count is of runs only.
        sqlx::query("DELETE FROM sync_runs WHERE finished_at IS NOT NULL AND finished_at < ?")
            .bind(timestamp_text(cutoff)?)
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected())
            .map_err(database_error)
    }

    async fn claim_lease(
        &self,
        key: &LeaseKey,
        holder: &str,
        now: OffsetDateTime,
        ttl: Duration,
    ) -> StoreResult<Option<Lease>> {
        let mut transaction = self.begin_sync_write().await?;
        let row = sqlx::query(
            "INSERT INTO leases (lease_key, holder, token, expires_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (lease_key) DO UPDATE SET holder = excluded.holder, \
                 token = excluded.token, expires_at = excluded.expires_at \
             WHERE leases.expires_at <= ? \
             RETURNING holder, token, expires_at",
        )
        .bind(lease_key_text(key))
        .bind(holder)
        .bind(new_lease_token())
        .bind(timestamp_text(now + ttl)?)
        .bind(timestamp_text(now)?)
        .fetch_optional(&mut *transaction)
        .await
        .map_err(database_error)?;
        let lease = row.map(|row| lease_from_row(key, &row)).transpose()?;
        transaction.commit().await.map_err(database_error)?;
        Ok(lease)
    }

    async fn renew_lease(
        &self,
        lease: &Lease,
        now: OffsetDateTime,
        ttl: Duration,
    ) -> StoreResult<Option<Lease>> {
        sqlx::query(
            "UPDATE leases SET expires_at = ? WHERE lease_key = ? AND token = ? \
             RETURNING holder, token, expires_at",
        )
        .bind(timestamp_text(now + ttl)?)
        .bind(lease_key_text(&lease.key))
        .bind(&lease.token)
        .fetch_optional(&self.pool)
        .await
        .map_err(database_error)?
        .map(|row| lease_from_row(&lease.key, &row))
        .transpose()
    }

    async fn release_lease(&self, lease: &Lease) -> StoreResult<()> {
        sqlx::query("DELETE FROM leases WHERE lease_key = ? AND token = ?")
            .bind(lease_key_text(&lease.key))
            .bind(&lease.token)
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(database_error)
    }

    async fn sync_schedule(&self, relationship: RelationshipId) -> StoreResult<SyncSchedule> {
        sqlx::query(
            "SELECT automatic, interval_seconds FROM sync_schedules WHERE relationship_id = ?",
        )
        .bind(id_text(relationship.as_uuid()))
        .fetch_optional(&self.pool)
        .await
        .map_err(database_error)?
        .map(|row| schedule_row(&row))
        .transpose()
        .map(Option::unwrap_or_default)
    }

    async fn set_sync_schedule(
        &self,
        relationship: RelationshipId,
        schedule: &SyncSchedule,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sync_schedules (relationship_id, automatic, interval_seconds, updated_at) \
             VALUES (?, ?, ?, ?) \
             ON CONFLICT (relationship_id) DO UPDATE SET automatic = excluded.automatic, \
                 interval_seconds = excluded.interval_seconds, updated_at = excluded.updated_at",
        )
        .bind(id_text(relationship.as_uuid()))
        .bind(schedule.automatic)
        .bind(schedule_interval_seconds(schedule))
        .bind(timestamp_text(now)?)
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(|error| insert_error(error, "sync schedule conflict"))
    }

    async fn automatic_schedules(&self) -> StoreResult<Vec<(RelationshipId, SyncSchedule)>> {
        sqlx::query(
            "SELECT relationship_id, automatic, interval_seconds FROM sync_schedules \
             WHERE automatic = 1 ORDER BY relationship_id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(database_error)?
        .iter()
        .map(|row| {
            Ok((
                RelationshipId::from_uuid(uuid_column(row, "relationship_id")?),
                schedule_row(row)?,
            ))
        })
        .collect()
    }
}

fn schedule_row(row: &SqliteRow) -> StoreResult<SyncSchedule> {
    let automatic: bool = row.try_get("automatic").map_err(database_error)?;
    let interval: i64 = row.try_get("interval_seconds").map_err(database_error)?;
    schedule_from_columns(automatic, interval)
}
