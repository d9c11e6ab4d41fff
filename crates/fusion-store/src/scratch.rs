//! Throw-away PostgreSQL schemas for `fusion bench --database-url postgres://…`: each benchmark
//! phase gets a fresh, empty schema (first on the connection's `search_path`, the way the store
//! tests isolate themselves), so the phases never see each other's rows and the operator's own
//! tables are never touched; the schema is dropped afterwards.

use std::collections::BTreeMap;

use sqlx::Connection;
use sqlx::postgres::PgConnection;

use crate::StoreError;
use crate::database_errors::database_error;

/// A schema made for one benchmark phase.
#[derive(Debug)]
pub struct ScratchSchema {
    admin_url: String,
    schema: String,
    /// The URL to open the store with: `admin_url` with the schema first on the `search_path`.
    pub url: String,
}

impl ScratchSchema {
    /// Creates `fusion_bench_<uuid>` in the database `admin_url` names.
    pub async fn create(admin_url: &str) -> Result<ScratchSchema, StoreError> {
        let schema = format!("fusion_bench_{}", uuid::Uuid::new_v4().simple());
        let mut connection = PgConnection::connect(admin_url)
            .await
            .map_err(database_error)?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&mut connection)
            .await
            .map_err(database_error)?;
        let _ = connection.close().await;
        let separator = if admin_url.contains('?') { '&' } else { '?' };
        Ok(ScratchSchema {
            url: format!("{admin_url}{separator}options=-c%20search_path%3D{schema}"),
            admin_url: admin_url.to_owned(),
            schema,
        })
    }

    /// Leases in force in the schema whose key starts with `prefix`: the rest of the key → the
    /// holder (a benchmark watching which process runs what, as `fusion serve` names itself).
    pub async fn lease_holders(
        &self,
        prefix: &str,
    ) -> Result<BTreeMap<String, String>, StoreError> {
        let mut connection = PgConnection::connect(&self.url)
            .await
            .map_err(database_error)?;
        let rows: Result<Vec<(String, String)>, _> = sqlx::query_as(
            "SELECT lease_key, holder FROM leases WHERE expires_at > now() AND starts_with(lease_key, $1)",
        )
        .bind(prefix)
        .fetch_all(&mut connection)
        .await;
        let _ = connection.close().await;
        Ok(rows
            .map_err(database_error)?
            .into_iter()
            .map(|(key, holder)| (key[prefix.len()..].to_owned(), holder))
            .collect())
    }

    /// Drops the schema and everything in it (best effort: a leftover schema is only clutter).
    pub async fn drop_schema(self) {
        if let Ok(mut connection) = PgConnection::connect(&self.admin_url).await {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA IF EXISTS {} CASCADE",
                self.schema
            )))
            .execute(&mut connection)
            .await;
            let _ = connection.close().await;
        }
    }
}
