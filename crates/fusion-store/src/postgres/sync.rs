//! The PostgreSQL [`SyncStore`]: ticket links, pending creates, cursors, runs and records, pending
//! retries, and leases.
//!
//! Claiming a lease is one `INSERT … ON CONFLICT (lease_key) DO UPDATE … WHERE expires_at <= now
//! RETURNING …`: PostgreSQL locks the conflicting row and re-checks the condition on its latest
//! version, so of several workers claiming one key at once exactly one gets a row back. Adding a
//! record and updating the pending retries is one transaction.

use async_trait::async_trait;
use fusion_domain::sync::{
    PendingRetry, RunCounts, RunStatus, RunTrigger, SyncCursor, SyncRecord, SyncRun, SyncRunId,
    SyncSchedule, TicketId, TicketLink,
};
use fusion_domain::{RelationshipId, Role};
use sqlx::postgres::PgRow;
use sqlx::{Postgres, Row, Transaction};
use time::{Duration, OffsetDateTime};

use super::{PostgresStore, uuid_column};
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

fn column<T: for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>>(
    row: &PgRow,
    name: &str,
) -> StoreResult<T> {
    row.try_get(name).map_err(database_error)
}

fn link_from_row(row: &PgRow) -> StoreResult<TicketLink> {
    LinkColumns {
        relationship: uuid_column(row, "relationship_id")?,
        source_ticket: column(row, "source_ticket")?,
        target_ticket: column(row, "target_ticket")?,
        source_number: column(row, "source_number")?,
        target_number: column(row, "target_number")?,
        origin: column(row, "origin")?,
        document: column(row, "document")?,
        created_at: column(row, "created_at")?,
        updated_at: column(row, "updated_at")?,
    }
    .into_link()
}

fn run_from_row(row: &PgRow) -> StoreResult<SyncRun> {
    RunColumns {
        id: uuid_column(row, "id")?,
        relationship: uuid_column(row, "relationship_id")?,
        trigger: column(row, "run_trigger")?,
        since: column(row, "since")?,
        status: column(row, "status")?,
        created: column(row, "created_count")?,
        updated: column(row, "updated_count")?,
        closed: column(row, "closed_count")?,
        failed: column(row, "failed_count")?,
        skipped: column(row, "skipped_count")?,
        conflicts: column(row, "conflict_count")?,
        started_at: column(row, "started_at")?,
        finished_at: column(row, "finished_at")?,
        calls_used: column(row, "calls_used")?,
        error: column(row, "error")?,
    }
    .into_run()
}

fn record_from_row(row: &PgRow) -> StoreResult<SyncRecord> {
    RecordColumns {
        run: uuid_column(row, "run_id")?,
        relationship: uuid_column(row, "relationship_id")?,
        origin: column(row, "origin")?,
        source_ticket: column(row, "source_ticket")?,
        source_number: column(row, "source_number")?,
        target_ticket: column(row, "target_ticket")?,
        target_number: column(row, "target_number")?,
        outcome: column(row, "outcome")?,
        error: column(row, "error")?,
        failed_comments: column(row, "failed_comments")?,
        failed_attachments: column(row, "failed_attachments")?,
        notes: column(row, "notes")?,
        recorded_at: column(row, "recorded_at")?,
    }
    .into_record()
}

fn lease_from_row(key: &LeaseKey, row: &PgRow) -> StoreResult<Lease> {
    Ok(Lease {
        key: key.clone(),
        holder: column(row, "holder")?,
        token: column(row, "token")?,
        expires_at: column(row, "expires_at")?,
    })
}

/// Brings the pending retries up to date with one record just added (inside its transaction).
async fn apply_retry_change(
    transaction: &mut Transaction<'static, Postgres>,
    record: &SyncRecord,
) -> StoreResult<()> {
    let Some(change) = RetryChange::of(record) else {
        return Ok(());
    };
    let relationship = record.relationship.as_uuid();
    // A failure recorded under the target ticket alone is settled or continued by this record.
    let mut continued: Option<i64> = None;
    if let Some(alias) = &change.alias {
        let removed = sqlx::query(
            "DELETE FROM sync_retries WHERE relationship_id = $1 AND ticket_key = $2 \
             RETURNING attempts",
        )
        .bind(relationship)
        .bind(alias)
        .fetch_optional(&mut **transaction)
        .await
        .map_err(database_error)?;
        if let Some(row) = removed {
            continued = Some(column(&row, "attempts")?);
        }
    }
    if !change.failed {
        return sqlx::query(
            "DELETE FROM sync_retries WHERE relationship_id = $1 AND ticket_key = $2",
        )
        .bind(relationship)
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
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (relationship_id, ticket_key) DO UPDATE SET \
             attempts = sync_retries.attempts + 1, \
             source_ticket = excluded.source_ticket, target_ticket = excluded.target_ticket, \
             last_run_id = excluded.last_run_id, last_error = excluded.last_error, \
             last_failed_at = excluded.last_failed_at",
    )
    .bind(relationship)
    .bind(&change.key)
    .bind(record.source_ticket.as_ref().map(TicketId::as_str))
    .bind(record.target_ticket.as_ref().map(TicketId::as_str))
    .bind(RetryChange::attempts_after(continued))
    .bind(run)
    .bind(record.error.as_deref())
    .bind(to_storage_precision(record.recorded_at))
    .execute(&mut **transaction)
    .await
    .map(drop)
    .map_err(|error| insert_error(error, "pending retry conflict"))
}

#[async_trait]
impl SyncStore for PostgresStore {
    async fn link_by_ticket(
        &self,
        relationship: RelationshipId,
        side: Role,
        ticket: &TicketId,
    ) -> StoreResult<Option<TicketLink>> {
        let ticket_column = ticket_column(side);
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {LINK_COLUMNS} FROM ticket_links \
             WHERE relationship_id = $1 AND {ticket_column} = $2"
        )))
        .bind(relationship.as_uuid())
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
        let ticket_texts: Vec<String> = tickets
            .iter()
            .map(|ticket| ticket.as_str().to_owned())
            .collect();
        let ticket_column = ticket_column(side);
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {LINK_COLUMNS} FROM ticket_links \
             WHERE relationship_id = $1 AND {ticket_column} = ANY($2)"
        )))
        .bind(relationship.as_uuid())
        .bind(ticket_texts)
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (relationship_id, source_ticket) DO UPDATE SET \
                 target_ticket = excluded.target_ticket, source_number = excluded.source_number, \
                 target_number = excluded.target_number, origin = excluded.origin, \
                 document = excluded.document, created_at = excluded.created_at, \
                 updated_at = excluded.updated_at",
        )
        .bind(columns.relationship)
        .bind(&columns.source_ticket)
        .bind(&columns.target_ticket)
        .bind(&columns.source_number)
        .bind(&columns.target_number)
        .bind(&columns.origin)
        .bind(&columns.document)
        .bind(columns.created_at)
        .bind(columns.updated_at)
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(|error| insert_error(error, DOUBLE_TARGET))
    }

    async fn record_pending_create(&self, pending: &PendingCreate) -> StoreResult<()> {
        let columns = PendingCreateColumns::from_pending(pending);
        sqlx::query(
            "INSERT INTO pending_creates (relationship_id, origin, origin_ticket, marker, started_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (relationship_id, origin, origin_ticket) DO UPDATE SET \
                 marker = excluded.marker, started_at = excluded.started_at",
        )
        .bind(columns.relationship)
        .bind(&columns.origin)
        .bind(&columns.origin_ticket)
        .bind(&columns.marker)
        .bind(columns.started_at)
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
             WHERE relationship_id = $1 ORDER BY started_at, origin, origin_ticket",
        )
        .bind(relationship.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(database_error)?
        .iter()
        .map(|row| {
            PendingCreateColumns {
                relationship: uuid_column(row, "relationship_id")?,
                origin: column(row, "origin")?,
                origin_ticket: column(row, "origin_ticket")?,
                marker: column(row, "marker")?,
                started_at: column(row, "started_at")?,
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
            "DELETE FROM pending_creates \
             WHERE relationship_id = $1 AND origin = $2 AND origin_ticket = $3",
        )
        .bind(relationship.as_uuid())
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
             WHERE relationship_id = $1 AND side = $2",
        )
        .bind(relationship.as_uuid())
        .bind(side.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(database_error)?
        .map(|row| {
            CursorColumns {
                relationship: uuid_column(&row, "relationship_id")?,
                side: column(&row, "side")?,
                last_activity_at: column(&row, "last_activity_at")?,
                last_id: column(&row, "last_id")?,
            }
            .into_cursor()
        })
        .transpose()
    }

    async fn save_cursor(&self, cursor: &SyncCursor) -> StoreResult<()> {
        let columns = CursorColumns::from_cursor(cursor);
        sqlx::query(
            "INSERT INTO sync_cursors (relationship_id, side, last_activity_at, last_id) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (relationship_id, side) DO UPDATE SET \
                 last_activity_at = excluded.last_activity_at, last_id = excluded.last_id",
        )
        .bind(columns.relationship)
        .bind(&columns.side)
        .bind(columns.last_activity_at)
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
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(run.id.as_uuid())
        .bind(relationship.as_uuid())
        .bind(trigger.as_str())
        .bind(run.since)
        .bind(run.status.as_str())
        .bind(run.started_at)
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
            "UPDATE sync_runs SET status = $1, created_count = $2, updated_count = $3, \
                 closed_count = $4, failed_count = $5, skipped_count = $6, conflict_count = $7, \
                 finished_at = $8, calls_used = $9, error = $10 \
             WHERE id = $11",
        )
        .bind(status.as_str())
        .bind(created)
        .bind(updated)
        .bind(closed)
        .bind(failed)
        .bind(skipped)
        .bind(conflicts)
        .bind(to_storage_precision(*finished_at))
        .bind(calls_used_column(*calls_used)?)
        .bind(error.as_deref())
        .bind(run.as_uuid())
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
        let mut transaction = self.pool.begin().await.map_err(database_error)?;
        sqlx::query(
            "INSERT INTO sync_records (run_id, relationship_id, origin, source_ticket, source_number, \
                 target_ticket, target_number, outcome, error, failed_comments, failed_attachments, \
                 notes, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(columns.run)
        .bind(columns.relationship)
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
        .bind(columns.recorded_at)
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
             FROM sync_retries WHERE relationship_id = $1 ORDER BY last_failed_at, ticket_key",
        )
        .bind(relationship.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(database_error)?
        .iter()
        .map(|row| {
            RetryColumns {
                relationship: uuid_column(row, "relationship_id")?,
                source_ticket: column(row, "source_ticket")?,
                target_ticket: column(row, "target_ticket")?,
                attempts: column(row, "attempts")?,
                last_error: column(row, "last_error")?,
                last_failed_at: column(row, "last_failed_at")?,
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
        // Only the conditions in use go into the SQL (with their parameter numbers), so the
        // planner sees plain predicates it can match to an index.
        let mut conditions: Vec<String> = Vec::new();
        let mut condition = |sql: &str| {
            conditions.push(sql.replace('?', &format!("${}", conditions.len() + 1)));
        };
        if relationship.is_some() {
            condition("relationship_id = ?");
        }
        if status.is_some() {
            condition("status = ?");
        }
        if started_from.is_some() {
            condition("started_at >= ?");
        }
        if started_before.is_some() {
            condition("started_at < ?");
        }
        let limit_parameter = conditions.len() + 1;
        let where_clause = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM sync_runs {where_clause} \
             ORDER BY started_at DESC, id DESC LIMIT ${limit_parameter}"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        if let Some(relationship) = relationship {
            query = query.bind(relationship.as_uuid());
        }
        if let Some(status) = status {
            query = query.bind(status.as_str());
        }
        if let Some(started_from) = started_from {
            query = query.bind(to_storage_precision(*started_from));
        }
        if let Some(started_before) = started_before {
            query = query.bind(to_storage_precision(*started_before));
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
            "SELECT {RUN_COLUMNS} FROM sync_runs WHERE id = $1"
        )))
        .bind(run.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(database_error)?
        .map(|row| run_from_row(&row))
        .transpose()
    }

    async fn sync_records(&self, run: SyncRunId) -> StoreResult<Vec<SyncRecord>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {RECORD_COLUMNS} FROM sync_records WHERE run_id = $1 ORDER BY id"
        )))
        .bind(run.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(database_error)?
        .iter()
        .map(record_from_row)
        .collect()
    }

    async fn delete_runs_before(&self, cutoff: OffsetDateTime) -> StoreResult<u64> {
        // Records go with their run (ON DELETE CASCADE); the count is of runs only. A run still
        // Running has no finish time and is kept.
        sqlx::query("DELETE FROM sync_runs WHERE finished_at < $1")
            .bind(to_storage_precision(cutoff))
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
        sqlx::query(
            "INSERT INTO leases (lease_key, holder, token, expires_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (lease_key) DO UPDATE SET holder = excluded.holder, \
                 token = excluded.token, expires_at = excluded.expires_at \
             WHERE leases.expires_at <= $5 \
             RETURNING holder, token, expires_at",
        )
        .bind(lease_key_text(key))
        .bind(holder)
        .bind(new_lease_token())
        .bind(to_storage_precision(now + ttl))
        .bind(to_storage_precision(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(database_error)?
        .map(|row| lease_from_row(key, &row))
        .transpose()
    }

    async fn renew_lease(
        &self,
        lease: &Lease,
        now: OffsetDateTime,
        ttl: Duration,
    ) -> StoreResult<Option<Lease>> {
        sqlx::query(
            "UPDATE leases SET expires_at = $1 WHERE lease_key = $2 AND token = $3 \
             RETURNING holder, token, expires_at",
        )
        .bind(to_storage_precision(now + ttl))
        .bind(lease_key_text(&lease.key))
        .bind(&lease.token)
        .fetch_optional(&self.pool)
        .await
        .map_err(database_error)?
        .map(|row| lease_from_row(&lease.key, &row))
        .transpose()
    }

    async fn release_lease(&self, lease: &Lease) -> StoreResult<()> {
        sqlx::query("DELETE FROM leases WHERE lease_key = $1 AND token = $2")
            .bind(lease_key_text(&lease.key))
            .bind(&lease.token)
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(database_error)
    }

    async fn sync_schedule(&self, relationship: RelationshipId) -> StoreResult<SyncSchedule> {
        sqlx::query(
            "SELECT automatic, interval_seconds FROM sync_schedules WHERE relationship_id = $1",
        )
        .bind(relationship.as_uuid())
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
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (relationship_id) DO UPDATE SET automatic = excluded.automatic, \
                 interval_seconds = excluded.interval_seconds, updated_at = excluded.updated_at",
        )
        .bind(relationship.as_uuid())
        .bind(schedule.automatic)
        .bind(schedule_interval_seconds(schedule))
        .bind(to_storage_precision(now))
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(|error| insert_error(error, "sync schedule conflict"))
    }

    async fn automatic_schedules(&self) -> StoreResult<Vec<(RelationshipId, SyncSchedule)>> {
        sqlx::query(
            "SELECT relationship_id, automatic, interval_seconds FROM sync_schedules \
             WHERE automatic ORDER BY relationship_id",
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

fn schedule_row(row: &PgRow) -> StoreResult<SyncSchedule> {
    let automatic: bool = column(row, "automatic")?;
    let interval: i64 = column(row, "interval_seconds")?;
    schedule_from_columns(automatic, interval)
}
