//! [`BudgetLedger`] for both databases: per-minute request counts (each process adds its own
//! with an upsert, so counts from several processes add up), each database's share and the manual
//! runs waiting for budget.

use async_trait::async_trait;
use fusion_domain::RelationshipId;
use fusion_engine::ports::{ApiUsage, BudgetLedger, DeferredRun};
use time::OffsetDateTime;

use super::SqlStore;
use crate::backend::{Backend, Bind, Columns, RowsAffected};
use crate::database_errors::database_error;
use crate::timestamps::to_storage_precision;
use crate::{StoreError, StoreResult};

/// The server's own work is counted under ''.
fn relationship_column(relationship: Option<RelationshipId>) -> String {
    relationship.map_or_else(String::new, |id| id.to_string())
}

fn usage_from_row<R: Columns>(row: &R) -> StoreResult<ApiUsage> {
    let relationship: String = row.column("relationship_id")?;
    let requests: i64 = row.column("requests")?;
    Ok(ApiUsage {
        database: row.column("database_key")?,
        relationship: if relationship.is_empty() {
            None
        } else {
            Some(relationship.parse().map_err(|_| {
                StoreError::Backend(format!(
                    "unknown connection id {relationship:?} in api_usage"
                ))
            })?)
        },
        minute: row.time("minute")?,
        requests: u32::try_from(requests.max(0)).unwrap_or(u32::MAX),
    })
}

fn deferred_from_row<R: Columns>(row: &R) -> StoreResult<DeferredRun> {
    Ok(DeferredRun {
        relationship: row.id("relationship_id")?,
        since: row.time("since")?,
        started_by: row.column("started_by")?,
        deferred_at: row.time("deferred_at")?,
        resume_at: row.time("resume_at")?,
    })
}

const USAGE_COLUMNS: &str = "database_key, relationship_id, minute, requests";

#[async_trait]
impl<B: Backend> BudgetLedger for SqlStore<B> {
    async fn add_api_usage(&self, usage: &[ApiUsage]) -> StoreResult<()> {
        if usage.is_empty() {
            return Ok(());
        }
        let mut transaction = self.begin_write().await?;
        for row in usage {
            sqlx::query::<B>(
                "INSERT INTO api_usage (database_key, relationship_id, minute, requests) \
                 VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (database_key, relationship_id, minute) \
                 DO UPDATE SET requests = api_usage.requests + excluded.requests",
            )
            .bind_value(row.database.clone())
            .bind_value(relationship_column(row.relationship))
            .bind_time(to_storage_precision(row.minute))
            .bind_value(i64::from(row.requests))
            .execute(B::connection(&mut transaction))
            .await
            .map_err(database_error)?;
        }
        transaction.commit().await.map_err(database_error)
    }

    async fn api_usage_since(&self, since: OffsetDateTime) -> StoreResult<Vec<ApiUsage>> {
        sqlx::query::<B>(sqlx::AssertSqlSafe(format!(
            "SELECT {USAGE_COLUMNS} FROM api_usage WHERE minute >= $1"
        )))
        .bind_time(to_storage_precision(since))
        .fetch_all(self.pool())
        .await
        .map_err(database_error)?
        .iter()
        .map(usage_from_row)
        .collect()
    }

    async fn api_usage_of(
        &self,
        database: &str,
        since: OffsetDateTime,
    ) -> StoreResult<Vec<ApiUsage>> {
        sqlx::query::<B>(sqlx::AssertSqlSafe(format!(
            "SELECT {USAGE_COLUMNS} FROM api_usage WHERE database_key = $1 AND minute >= $2 \
             ORDER BY minute"
        )))
        .bind_value(database.to_owned())
        .bind_time(to_storage_precision(since))
        .fetch_all(self.pool())
        .await
        .map_err(database_error)?
        .iter()
        .map(usage_from_row)
        .collect()
    }

    async fn prune_api_usage(&self, before: OffsetDateTime) -> StoreResult<u64> {
        let done = sqlx::query::<B>("DELETE FROM api_usage WHERE minute < $1")
            .bind_time(to_storage_precision(before))
            .execute(self.pool())
            .await
            .map_err(database_error)?;
        Ok(done.rows_affected())
    }

    async fn api_shares(&self) -> StoreResult<Vec<(String, u8)>> {
        sqlx::query::<B>("SELECT database_key, percent FROM api_shares ORDER BY database_key")
            .fetch_all(self.pool())
            .await
            .map_err(database_error)?
            .iter()
            .map(|row| {
                let percent: i32 = row.column("percent")?;
                Ok((
                    row.column("database_key")?,
                    u8::try_from(percent.clamp(1, 100)).unwrap_or(100),
                ))
            })
            .collect()
    }

    async fn set_api_share(&self, database: &str, percent: Option<u8>) -> StoreResult<()> {
        match percent {
            Some(percent) => sqlx::query::<B>(
                "INSERT INTO api_shares (database_key, percent) VALUES ($1, $2) \
                 ON CONFLICT (database_key) DO UPDATE SET percent = excluded.percent",
            )
            .bind_value(database.to_owned())
            .bind_value(i32::from(percent.clamp(1, 100))),
            None => sqlx::query::<B>("DELETE FROM api_shares WHERE database_key = $1")
                .bind_value(database.to_owned()),
        }
        .execute(self.pool())
        .await
        .map_err(database_error)?;
        Ok(())
    }

    async fn save_deferred_run(&self, run: &DeferredRun) -> StoreResult<()> {
        sqlx::query::<B>(
            "INSERT INTO deferred_runs (relationship_id, since, started_by, deferred_at, \
             resume_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (relationship_id) DO UPDATE SET since = excluded.since, \
             started_by = excluded.started_by, deferred_at = excluded.deferred_at, \
             resume_at = excluded.resume_at",
        )
        .bind_id(run.relationship)
        .bind_time(to_storage_precision(run.since))
        .bind_value(run.started_by.clone())
        .bind_time(to_storage_precision(run.deferred_at))
        .bind_time(to_storage_precision(run.resume_at))
        .execute(self.pool())
        .await
        .map_err(database_error)?;
        Ok(())
    }

    async fn deferred_runs(&self) -> StoreResult<Vec<DeferredRun>> {
        sqlx::query::<B>(
            "SELECT relationship_id, since, started_by, deferred_at, resume_at \
             FROM deferred_runs ORDER BY deferred_at, relationship_id",
        )
        .fetch_all(self.pool())
        .await
        .map_err(database_error)?
        .iter()
        .map(deferred_from_row)
        .collect()
    }

    async fn clear_deferred_run(&self, relationship: RelationshipId) -> StoreResult<()> {
        sqlx::query::<B>("DELETE FROM deferred_runs WHERE relationship_id = $1")
            .bind_id(relationship)
            .execute(self.pool())
            .await
            .map_err(database_error)?;
        Ok(())
    }
}
