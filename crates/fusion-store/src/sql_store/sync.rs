//! The [`SyncStore`] half of [`SqlStore`], written once for both databases: ticket links, pending
//! creates, cursors, runs and records, pending retries, and leases.
//!
//! Steps that read before they write (adding a record and updating the pending retries, claiming a
//! lease) run in a [`SqlStore::begin_write`] transaction. Claiming a lease is one `INSERT …
//! ON CONFLICT (lease_key) DO UPDATE … WHERE expires_at <= now RETURNING …`: SQLite runs it holding
//! the database's single write lock, PostgreSQL locks the conflicting row and re-checks the
//! condition on its latest version; either way, of several claimers of one key at once exactly one
//! gets a row back.

use async_trait::async_trait;
use fusion_domain::sync::{
    AttentionItem, PendingRetry, RunCounts, RunStatus, RunTrigger, SyncCursor, SyncRecord, SyncRun,
    SyncRunId, SyncSchedule, TicketId, TicketLink,
};
use fusion_domain::{RelationshipId, Role};
use sqlx::Transaction;
use time::{Duration, OffsetDateTime};

use super::SqlStore;
use crate::backend::{Backend, Bind, Columns, RowsAffected};
use crate::database_errors::{database_error, insert_error};
use crate::sync_rows::{
    CursorColumns, LINK_COLUMNS, LinkColumns, PendingCreateColumns, RECORD_COLUMNS, RUN_COLUMNS,
    RecordColumns, RetryChange, RetryColumns, RunColumns, calls_used_column, count_columns,
    lease_key_text, new_lease_token, schedule_from_columns, schedule_interval_seconds,
    ticket_column, trigger_columns,
};
use crate::timestamps::to_storage_precision;
use crate::{StoreError, StoreResult};
use fusion_engine::ports::{
    AttentionFilter, Lease, LeaseKey, LinkQuery, PendingCreate, RunFilter, RunFinish, SyncStore,
};

const DOUBLE_TARGET: &str = "the target ticket is already linked to another ticket of this relationship; \
     a ticket is never linked twice";

pub(super) fn link_from_row(row: &impl Columns) -> StoreResult<TicketLink> {
    LinkColumns {
        relationship: row.uuid("relationship_id")?,
        source_ticket: row.column("source_ticket")?,
        target_ticket: row.column("target_ticket")?,
        source_number: row.column("source_number")?,
        target_number: row.column("target_number")?,
        title: row.column("title")?,
        origin: row.column("origin")?,
        document: row.column("document")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    }
    .into_link()
}

fn run_from_row(row: &impl Columns) -> StoreResult<SyncRun> {
    RunColumns {
        id: row.uuid("id")?,
        relationship: row.uuid("relationship_id")?,
        trigger: row.column("run_trigger")?,
        since: row.optional_time("since")?,
        status: row.column("status")?,
        created: row.column("created_count")?,
        updated: row.column("updated_count")?,
        closed: row.column("closed_count")?,
        failed: row.column("failed_count")?,
        skipped: row.column("skipped_count")?,
        conflicts: row.column("conflict_count")?,
        started_at: row.time("started_at")?,
        finished_at: row.optional_time("finished_at")?,
        calls_used: row.column("calls_used")?,
        error: row.column("error")?,
        started_by: row.column("started_by")?,
        trigger_detail: row.column("trigger_detail")?,
        attention: row.column("attention_count")?,
    }
    .into_run()
}

fn record_from_row(row: &impl Columns) -> StoreResult<SyncRecord> {
    RecordColumns {
        run: row.uuid("run_id")?,
        relationship: row.uuid("relationship_id")?,
        origin: row.column("origin")?,
        source_ticket: row.column("source_ticket")?,
        source_number: row.column("source_number")?,
        target_ticket: row.column("target_ticket")?,
        target_number: row.column("target_number")?,
        outcome: row.column("outcome")?,
        error: row.column("error")?,
        failed_comments: row.column("failed_comments")?,
        failed_attachments: row.column("failed_attachments")?,
        notes: row.column("notes")?,
        recorded_at: row.time("recorded_at")?,
        title: row.column("title")?,
    }
    .into_record()
}

fn lease_from_row(key: &LeaseKey, row: &impl Columns) -> StoreResult<Lease> {
    Ok(Lease {
        key: key.clone(),
        holder: row.column("holder")?,
        token: row.column("token")?,
        expires_at: row.time("expires_at")?,
    })
}

fn schedule_from_row(row: &impl Columns) -> StoreResult<SyncSchedule> {
    schedule_from_columns(row.column("automatic")?, row.column("interval_seconds")?)
}

/// Brings the pending retries up to date with one record just added (inside its transaction).
/// Inserts one record and updates the pending retries it settles or continues, in `transaction`.
async fn insert_record<B: Backend>(
    transaction: &mut Transaction<'static, B>,
    record: &SyncRecord,
) -> StoreResult<()> {
    let columns = RecordColumns::from_record(record)?;
    sqlx::query::<B>(
        "INSERT INTO sync_records (run_id, relationship_id, origin, source_ticket, \
                 source_number, target_ticket, target_number, outcome, error, failed_comments, \
                 failed_attachments, notes, recorded_at, title) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind_id(columns.run)
    .bind_id(columns.relationship)
    .bind_value(columns.origin.as_str())
    .bind_value(columns.source_ticket.as_deref())
    .bind_value(columns.source_number.as_deref())
    .bind_value(columns.target_ticket.as_deref())
    .bind_value(columns.target_number.as_deref())
    .bind_value(columns.outcome.as_str())
    .bind_value(columns.error.as_deref())
    .bind_value(columns.failed_comments)
    .bind_value(columns.failed_attachments)
    .bind_value(columns.notes.as_str())
    .bind_time(columns.recorded_at)
    .bind_value(columns.title.as_str())
    .execute(B::connection(transaction))
    .await
    .map_err(|error| insert_error(error, "record conflict"))?;
    apply_retry_change(transaction, record).await
}

const UPSERT_LINK: &str = "INSERT INTO ticket_links (relationship_id, source_ticket, target_ticket, \
         source_number, target_number, origin, document, created_at, updated_at, title) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
     ON CONFLICT (relationship_id, source_ticket) DO UPDATE SET \
         target_ticket = excluded.target_ticket, source_number = excluded.source_number, \
         target_number = excluded.target_number, origin = excluded.origin, \
         title = excluded.title, \
         document = excluded.document, created_at = excluded.created_at, \
         updated_at = excluded.updated_at";

const CLEAR_PENDING_CREATE: &str = "DELETE FROM pending_creates \
     WHERE relationship_id = $1 AND origin = $2 AND origin_ticket = $3";

fn bind_link<'q, B: Backend>(
    query: sqlx::query::Query<'q, B, B::Arguments>,
    columns: &'q LinkColumns,
) -> sqlx::query::Query<'q, B, B::Arguments> {
    query
        .bind_id(columns.relationship)
        .bind_value(columns.source_ticket.as_str())
        .bind_value(columns.target_ticket.as_str())
        .bind_value(columns.source_number.as_str())
        .bind_value(columns.target_number.as_str())
        .bind_value(columns.origin.as_str())
        .bind_value(columns.document.as_str())
        .bind_time(columns.created_at)
        .bind_time(columns.updated_at)
        .bind_value(columns.title.as_str())
}

async fn apply_retry_change<B: Backend>(
    transaction: &mut Transaction<'static, B>,
    record: &SyncRecord,
) -> StoreResult<()> {
    let Some(change) = RetryChange::of(record) else {
        return Ok(());
    };
    // A failure recorded under the target ticket alone is settled or continued by this record.
    let mut continued: Option<i64> = None;
    if let Some(alias) = &change.alias {
        let removed = sqlx::query::<B>(
            "DELETE FROM sync_retries WHERE relationship_id = $1 AND ticket_key = $2 \
             RETURNING attempts",
        )
        .bind_id(record.relationship)
        .bind_value(alias.as_str())
        .fetch_optional(B::connection(transaction))
        .await
        .map_err(database_error)?;
        if let Some(row) = removed {
            continued = Some(row.column("attempts")?);
        }
    }
    if !change.failed {
        return sqlx::query::<B>(
            "DELETE FROM sync_retries WHERE relationship_id = $1 AND ticket_key = $2",
        )
        .bind_id(record.relationship)
        .bind_value(change.key.as_str())
        .execute(B::connection(transaction))
        .await
        .map(drop)
        .map_err(database_error);
    }
    sqlx::query::<B>(
        "INSERT INTO sync_retries (relationship_id, ticket_key, source_ticket, target_ticket, \
             attempts, last_run_id, last_error, last_failed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (relationship_id, ticket_key) DO UPDATE SET \
             attempts = sync_retries.attempts + 1, \
             source_ticket = excluded.source_ticket, target_ticket = excluded.target_ticket, \
             last_run_id = excluded.last_run_id, last_error = excluded.last_error, \
             last_failed_at = excluded.last_failed_at",
    )
    .bind_id(record.relationship)
    .bind_value(change.key.as_str())
    .bind_value(record.source_ticket.as_ref().map(TicketId::as_str))
    .bind_value(record.target_ticket.as_ref().map(TicketId::as_str))
    .bind_value(RetryChange::attempts_after(continued))
    .bind_id(record.run)
    .bind_value(record.error.as_deref())
    .bind_time(record.recorded_at)
    .execute(B::connection(transaction))
    .await
    .map(drop)
    .map_err(|error| insert_error(error, "pending retry conflict"))
}

#[async_trait]
impl<B: Backend> SyncStore for SqlStore<B> {
    async fn link_by_ticket(
        &self,
        relationship: RelationshipId,
        side: Role,
        ticket: &TicketId,
    ) -> StoreResult<Option<TicketLink>> {
        let ticket_column = ticket_column(side);
        sqlx::query::<B>(sqlx::AssertSqlSafe(format!(
            "SELECT {LINK_COLUMNS} FROM ticket_links \
             WHERE relationship_id = $1 AND {ticket_column} = $2"
        )))
        .bind_id(relationship)
        .bind_value(ticket.as_str())
        .fetch_optional(self.pool())
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
        let tickets = tickets
            .iter()
            .map(|ticket| ticket.as_str().to_owned())
            .collect();
        let ticket_is_listed = B::in_texts(ticket_column(side), 2);
        let query = sqlx::query::<B>(sqlx::AssertSqlSafe(format!(
            "SELECT {LINK_COLUMNS} FROM ticket_links \
             WHERE relationship_id = $1 AND {ticket_is_listed}"
        )))
        .bind_id(relationship);
        B::bind_texts(query, tickets)?
            .fetch_all(self.pool())
            .await
            .map_err(database_error)?
            .iter()
            .map(link_from_row)
            .collect()
    }

    async fn linked_ticket_count(&self, relationship: RelationshipId) -> StoreResult<u64> {
        let count: i64 = sqlx::query::<B>(
            "SELECT COUNT(*) AS linked FROM ticket_links WHERE relationship_id = $1",
        )
        .bind_id(relationship)
        .fetch_one(self.pool())
        .await
        .map_err(database_error)?
        .column("linked")?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn upsert_link(&self, link: &TicketLink) -> StoreResult<()> {
        let columns = LinkColumns::from_link(link)?;
        bind_link(sqlx::query::<B>(UPSERT_LINK), &columns)
            .execute(self.pool())
            .await
            .map(drop)
            .map_err(|error| insert_error(error, DOUBLE_TARGET))
    }

    async fn complete_links(
        &self,
        relationship: RelationshipId,
        links: &[TicketLink],
        cleared: &[(Role, TicketId)],
    ) -> StoreResult<()> {
        if links.is_empty() && cleared.is_empty() {
            return Ok(());
        }
        let columns = links
            .iter()
            .map(LinkColumns::from_link)
            .collect::<StoreResult<Vec<_>>>()?;
        let mut transaction = self.begin_write().await?;
        for columns in &columns {
            bind_link(sqlx::query::<B>(UPSERT_LINK), columns)
                .execute(B::connection(&mut transaction))
                .await
                .map_err(|error| insert_error(error, DOUBLE_TARGET))?;
        }
        for (origin, origin_ticket) in cleared {
            sqlx::query::<B>(CLEAR_PENDING_CREATE)
                .bind_id(relationship)
                .bind_value(origin.as_str())
                .bind_value(origin_ticket.as_str())
                .execute(B::connection(&mut transaction))
                .await
                .map_err(database_error)?;
        }
        transaction.commit().await.map_err(database_error)
    }

    async fn record_pending_create(&self, pending: &PendingCreate) -> StoreResult<()> {
        let columns = PendingCreateColumns::from_pending(pending);
        sqlx::query::<B>(
            "INSERT INTO pending_creates (relationship_id, origin, origin_ticket, marker, \
                 started_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (relationship_id, origin, origin_ticket) DO UPDATE SET \
                 marker = excluded.marker, started_at = excluded.started_at",
        )
        .bind_id(columns.relationship)
        .bind_value(columns.origin.as_str())
        .bind_value(columns.origin_ticket.as_str())
        .bind_value(columns.marker.as_str())
        .bind_time(columns.started_at)
        .execute(self.pool())
        .await
        .map(drop)
        .map_err(|error| insert_error(error, "pending create conflict"))
    }

    async fn pending_creates(
        &self,
        relationship: RelationshipId,
    ) -> StoreResult<Vec<PendingCreate>> {
        sqlx::query::<B>(
            "SELECT relationship_id, origin, origin_ticket, marker, started_at \
             FROM pending_creates WHERE relationship_id = $1 \
             ORDER BY started_at, origin, origin_ticket",
        )
        .bind_id(relationship)
        .fetch_all(self.pool())
        .await
        .map_err(database_error)?
        .iter()
        .map(|row| {
            PendingCreateColumns {
                relationship: row.uuid("relationship_id")?,
                origin: row.column("origin")?,
                origin_ticket: row.column("origin_ticket")?,
                marker: row.column("marker")?,
                started_at: row.time("started_at")?,
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
        sqlx::query::<B>(CLEAR_PENDING_CREATE)
            .bind_id(relationship)
            .bind_value(origin.as_str())
            .bind_value(origin_ticket.as_str())
            .execute(self.pool())
            .await
            .map(drop)
            .map_err(database_error)
    }

    async fn cursor(
        &self,
        relationship: RelationshipId,
        side: Role,
    ) -> StoreResult<Option<SyncCursor>> {
        sqlx::query::<B>(
            "SELECT relationship_id, side, last_activity_at, last_id FROM sync_cursors \
             WHERE relationship_id = $1 AND side = $2",
        )
        .bind_id(relationship)
        .bind_value(side.as_str())
        .fetch_optional(self.pool())
        .await
        .map_err(database_error)?
        .map(|row| {
            CursorColumns {
                relationship: row.uuid("relationship_id")?,
                side: row.column("side")?,
                last_activity_at: row.time("last_activity_at")?,
                last_id: row.column("last_id")?,
            }
            .into_cursor()
        })
        .transpose()
    }

    async fn save_cursor(&self, cursor: &SyncCursor) -> StoreResult<()> {
        let columns = CursorColumns::from_cursor(cursor);
        sqlx::query::<B>(
            "INSERT INTO sync_cursors (relationship_id, side, last_activity_at, last_id) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (relationship_id, side) DO UPDATE SET \
                 last_activity_at = excluded.last_activity_at, last_id = excluded.last_id",
        )
        .bind_id(columns.relationship)
        .bind_value(columns.side.as_str())
        .bind_time(columns.last_activity_at)
        .bind_value(columns.last_id.as_deref())
        .execute(self.pool())
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
        started_by: Option<&str>,
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
            started_by: started_by.map(str::to_owned),
        };
        let (run_trigger, trigger_detail) = trigger_columns(trigger);
        sqlx::query::<B>(
            "INSERT INTO sync_runs (id, relationship_id, run_trigger, since, status, started_at, \
                 started_by, trigger_detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind_id(run.id)
        .bind_id(relationship)
        .bind_value(run_trigger)
        .bind_optional_time(run.since)
        .bind_value(run.status.as_str())
        .bind_time(run.started_at)
        .bind_value(started_by)
        .bind_value(trigger_detail)
        .execute(self.pool())
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
        let [
            created,
            updated,
            closed,
            failed,
            skipped,
            conflicts,
            attention,
        ] = count_columns(counts);
        let done = sqlx::query::<B>(
            "UPDATE sync_runs SET status = $1, created_count = $2, updated_count = $3, \
                 closed_count = $4, failed_count = $5, skipped_count = $6, conflict_count = $7, \
                 finished_at = $8, calls_used = $9, error = $10, attention_count = $12 \
             WHERE id = $11",
        )
        .bind_value(status.as_str())
        .bind_value(created)
        .bind_value(updated)
        .bind_value(closed)
        .bind_value(failed)
        .bind_value(skipped)
        .bind_value(conflicts)
        .bind_time(*finished_at)
        .bind_value(calls_used_column(*calls_used)?)
        .bind_value(error.as_deref())
        .bind_id(run)
        .bind_value(attention)
        .execute(self.pool())
        .await
        .map_err(database_error)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn add_record(&self, record: &SyncRecord) -> StoreResult<()> {
        self.add_records(std::slice::from_ref(record)).await
    }

    async fn add_records(&self, records: &[SyncRecord]) -> StoreResult<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut transaction = self.begin_write().await?;
        for record in records {
            insert_record(&mut transaction, record).await?;
        }
        transaction.commit().await.map_err(database_error)
    }

    async fn pending_retries(
        &self,
        relationship: RelationshipId,
    ) -> StoreResult<Vec<PendingRetry>> {
        sqlx::query::<B>(
            "SELECT relationship_id, source_ticket, target_ticket, attempts, last_error, \
                    last_failed_at \
             FROM sync_retries WHERE relationship_id = $1 ORDER BY last_failed_at, ticket_key",
        )
        .bind_id(relationship)
        .fetch_all(self.pool())
        .await
        .map_err(database_error)?
        .iter()
        .map(|row| {
            RetryColumns {
                relationship: row.uuid("relationship_id")?,
                source_ticket: row.column("source_ticket")?,
                target_ticket: row.column("target_ticket")?,
                attempts: row.column("attempts")?,
                last_error: row.column("last_error")?,
                last_failed_at: row.time("last_failed_at")?,
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
        let mut query = sqlx::query::<B>(sqlx::AssertSqlSafe(format!(
            "SELECT {RUN_COLUMNS} FROM sync_runs {where_clause} \
             ORDER BY started_at DESC, id DESC LIMIT ${limit_parameter}"
        )));
        if let Some(relationship) = relationship {
            query = query.bind_id(*relationship);
        }
        if let Some(status) = status {
            query = query.bind_value(status.as_str());
        }
        if let Some(started_from) = started_from {
            query = query.bind_time(*started_from);
        }
        if let Some(started_before) = started_before {
            query = query.bind_time(*started_before);
        }
        query
            .bind_value(i64::from(*limit))
            .fetch_all(self.pool())
            .await
            .map_err(database_error)?
            .iter()
            .map(run_from_row)
            .collect()
    }

    async fn sync_run(&self, run: SyncRunId) -> StoreResult<Option<SyncRun>> {
        sqlx::query::<B>(sqlx::AssertSqlSafe(format!(
            "SELECT {RUN_COLUMNS} FROM sync_runs WHERE id = $1"
        )))
        .bind_id(run)
        .fetch_optional(self.pool())
        .await
        .map_err(database_error)?
        .map(|row| run_from_row(&row))
        .transpose()
    }

    async fn last_sweep_started(
        &self,
        relationship: RelationshipId,
    ) -> StoreResult<Option<OffsetDateTime>> {
        // Sweeps are the runs without a trigger detail (repairs and webhook runs have one).
        sqlx::query::<B>(
            "SELECT started_at FROM sync_runs WHERE relationship_id = $1 \
             AND trigger_detail IS NULL ORDER BY started_at DESC LIMIT 1",
        )
        .bind_id(relationship)
        .fetch_optional(self.pool())
        .await
        .map_err(database_error)?
        .map(|row| row.time("started_at"))
        .transpose()
    }

    async fn sync_records(&self, run: SyncRunId) -> StoreResult<Vec<SyncRecord>> {
        sqlx::query::<B>(sqlx::AssertSqlSafe(format!(
            "SELECT {RECORD_COLUMNS} FROM sync_records WHERE run_id = $1 ORDER BY id"
        )))
        .bind_id(run)
        .fetch_all(self.pool())
        .await
        .map_err(database_error)?
        .iter()
        .map(record_from_row)
        .collect()
    }

    async fn delete_runs_before(&self, cutoff: OffsetDateTime) -> StoreResult<u64> {
        // Records go with their run (ON DELETE CASCADE); the count is of runs only. A run still
        // Running has no finish time and is kept.
        sqlx::query::<B>("DELETE FROM sync_runs WHERE finished_at < $1")
            .bind_time(cutoff)
            .execute(self.pool())
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
        let mut transaction = self.begin_write().await?;
        let row = sqlx::query::<B>(
            "INSERT INTO leases (lease_key, holder, token, expires_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (lease_key) DO UPDATE SET holder = excluded.holder, \
                 token = excluded.token, expires_at = excluded.expires_at \
             WHERE leases.expires_at <= $5 \
             RETURNING holder, token, expires_at",
        )
        .bind_value(lease_key_text(key))
        .bind_value(holder)
        .bind_value(new_lease_token())
        .bind_time(now + ttl)
        .bind_time(now)
        .fetch_optional(B::connection(&mut transaction))
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
        sqlx::query::<B>(
            "UPDATE leases SET expires_at = $1 WHERE lease_key = $2 AND token = $3 \
             RETURNING holder, token, expires_at",
        )
        .bind_time(now + ttl)
        .bind_value(lease_key_text(&lease.key))
        .bind_value(lease.token.as_str())
        .fetch_optional(self.pool())
        .await
        .map_err(database_error)?
        .map(|row| lease_from_row(&lease.key, &row))
        .transpose()
    }

    async fn release_lease(&self, lease: &Lease) -> StoreResult<()> {
        sqlx::query::<B>("DELETE FROM leases WHERE lease_key = $1 AND token = $2")
            .bind_value(lease_key_text(&lease.key))
            .bind_value(lease.token.as_str())
            .execute(self.pool())
            .await
            .map(drop)
            .map_err(database_error)
    }

    async fn sync_schedule(&self, relationship: RelationshipId) -> StoreResult<SyncSchedule> {
        sqlx::query::<B>(
            "SELECT automatic, interval_seconds FROM sync_schedules WHERE relationship_id = $1",
        )
        .bind_id(relationship)
        .fetch_optional(self.pool())
        .await
        .map_err(database_error)?
        .map(|row| schedule_from_row(&row))
        .transpose()
        .map(Option::unwrap_or_default)
    }

    async fn set_sync_schedule(
        &self,
        relationship: RelationshipId,
        schedule: &SyncSchedule,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        sqlx::query::<B>(
            "INSERT INTO sync_schedules (relationship_id, automatic, interval_seconds, updated_at) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (relationship_id) DO UPDATE SET automatic = excluded.automatic, \
                 interval_seconds = excluded.interval_seconds, updated_at = excluded.updated_at",
        )
        .bind_id(relationship)
        .bind_value(schedule.automatic)
        .bind_value(schedule_interval_seconds(schedule))
        .bind_time(now)
        .execute(self.pool())
        .await
        .map(drop)
        .map_err(|error| insert_error(error, "sync schedule conflict"))
    }

    async fn automatic_schedules(&self) -> StoreResult<Vec<(RelationshipId, SyncSchedule)>> {
        sqlx::query::<B>(
            "SELECT relationship_id, automatic, interval_seconds FROM sync_schedules \
             WHERE automatic ORDER BY relationship_id",
        )
        .fetch_all(self.pool())
        .await
        .map_err(database_error)?
        .iter()
        .map(|row| Ok((row.id("relationship_id")?, schedule_from_row(row)?)))
        .collect()
    }

    async fn attention_items(
        &self,
        relationship: RelationshipId,
        filter: &AttentionFilter,
    ) -> StoreResult<Vec<AttentionItem>> {
        self.list_attention_items(relationship, filter).await
    }

    async fn save_attention_item(&self, item: &AttentionItem) -> StoreResult<()> {
        self.upsert_attention_item(item).await
    }

    async fn request_attention_retry(
        &self,
        relationship: RelationshipId,
        ticket: Option<(Role, TicketId)>,
    ) -> StoreResult<u64> {
        self.mark_attention_retry(relationship, ticket).await
    }

    async fn links(
        &self,
        relationship: RelationshipId,
        query: &LinkQuery,
    ) -> StoreResult<Vec<TicketLink>> {
        self.search_links(relationship, query).await
    }
}
