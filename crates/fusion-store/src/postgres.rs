//! The PostgreSQL [`Store`]: for deployments where several worker processes share one database.
//! All PostgreSQL SQL lives in this file and its child modules `relationships` (the
//! [`crate::RelationshipStore`] half) and `sync` (the [`crate::SyncStore`] half).
//!
//! Tables are named unqualified, so they live in the first schema of the connection's
//! `search_path` (tests give each run its own schema through the URL's `options`). A credentials
//! save locks the organisation's row (`FOR NO KEY UPDATE`) so two saves for one organisation
//! serialise and the audit trail records each change once, while inserts that merely reference
//! the organisation (people, tests) are not blocked.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use fusion_domain::{ConnectionTestReport, OrgId, Organisation, Person, PersonId};
use secrecy::SecretString;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::types::Json;
use sqlx::{Postgres, Row, Transaction};
use uuid::Uuid;

use crate::credentials::{StoredCredentials, parse_platform, plan_credentials_save};
use crate::crypto::{KeyRing, SecretKey, SecretPlace, decrypt_api_secret};
use crate::database_errors::{database_error, insert_error};
use crate::migrations::{
    MIGRATIONS_TABLE, POSTGRES_MIGRATIONS, migration_error, migrator, refuse_newer_schema,
};
use crate::password::PasswordHasher;
use crate::test_results::TestResultColumns;
use crate::timestamps::{now, to_storage_precision};
use crate::tokens::{issue_token, token_digest};
use crate::{
    CredentialsAuditEntry, CredentialsUpdate, NewSession, PlatformCredentials, Store, StoreError,
    StoreResult, normalise_email,
};

mod maintenance;
mod relationships;
mod sync;

/// How long a request waits for a free connection before it fails (and readiness reports it).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Per process; several workers each hold their own pool, so keep well under the server's
/// `max_connections` (100 by default).
const MAX_CONNECTIONS: u32 = 10;

/// The PostgreSQL-backed store.
#[derive(Debug)]
pub(crate) struct PostgresStore {
    pool: PgPool,
    key: KeyRing,
    passwords: PasswordHasher,
}

impl PostgresStore {
    pub(crate) async fn connect(
        database_url: &str,
        key: KeyRing,
        passwords: PasswordHasher,
    ) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(database_url.trim()).map_err(|error| {
            StoreError::Backend(format!("invalid PostgreSQL database URL: {error}"))
        })?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|error| {
                StoreError::Unavailable(format!("cannot connect to PostgreSQL: {error}"))
            })?;
        Ok(Self {
            pool,
            key,
            passwords,
        })
    }

    async fn existing_credentials(
        transaction: &mut Transaction<'static, Postgres>,
        org_id: OrgId,
    ) -> StoreResult<Option<StoredCredentials>> {
        sqlx::query(
            "SELECT platform, api_url, username, secret_ciphertext, secret_changed_at, \
                    integration_code_override, updated_at \
             FROM platform_credentials WHERE org_id = $1",
        )
        .bind(org_id.as_uuid())
        .fetch_optional(&mut **transaction)
        .await
        .map_err(database_error)?
        .map(|row| credentials_from_row(&row))
        .transpose()
    }
}

fn uuid_column(row: &PgRow, column: &str) -> StoreResult<Uuid> {
    row.try_get(column).map_err(database_error)
}

fn organisation_from_row(row: &PgRow) -> StoreResult<Organisation> {
    let platform: Option<String> = row.try_get("platform").map_err(database_error)?;
    Ok(Organisation {
        id: OrgId::from_uuid(uuid_column(row, "id")?),
        name: row.try_get("name").map_err(database_error)?,
        platform: platform.as_deref().map(parse_platform).transpose()?,
        created_at: row.try_get("created_at").map_err(database_error)?,
    })
}

fn person_from_row(row: &PgRow) -> StoreResult<Person> {
    Ok(Person {
        id: PersonId::from_uuid(uuid_column(row, "id")?),
        org_id: OrgId::from_uuid(uuid_column(row, "org_id")?),
        email: row.try_get("email").map_err(database_error)?,
        display_name: row.try_get("display_name").map_err(database_error)?,
        created_at: row.try_get("created_at").map_err(database_error)?,
    })
}

fn credentials_from_row(row: &PgRow) -> StoreResult<StoredCredentials> {
    Ok(StoredCredentials {
        platform: row.try_get("platform").map_err(database_error)?,
        api_url: row.try_get("api_url").map_err(database_error)?,
        username: row.try_get("username").map_err(database_error)?,
        secret_ciphertext: row.try_get("secret_ciphertext").map_err(database_error)?,
        secret_changed_at: row.try_get("secret_changed_at").map_err(database_error)?,
        integration_code_override: row
            .try_get("integration_code_override")
            .map_err(database_error)?,
        updated_at: row.try_get("updated_at").map_err(database_error)?,
    })
}

#[async_trait]
impl Store for PostgresStore {
    async fn migrate(&self) -> StoreResult<()> {
        let has_migrations_table: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
            .bind(MIGRATIONS_TABLE)
            .fetch_one(&self.pool)
            .await
            .map_err(database_error)?;
        if has_migrations_table {
            let database_version: Option<i64> =
                sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(database_error)?;
            refuse_newer_schema(database_version, POSTGRES_MIGRATIONS)?;
        }
        migrator(POSTGRES_MIGRATIONS)
            .run(&self.pool)
            .await
            .map_err(migration_error)
    }

    async fn reencrypt_secrets(&self, new_key: &SecretKey) -> StoreResult<u64> {
        self.reencrypt_all_secrets(new_key).await
    }

    async fn schema_versions(&self) -> StoreResult<crate::SchemaVersions> {
        let database: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&self.pool)
                .await
                .map_err(database_error)?;
        Ok(crate::SchemaVersions {
            database,
            binary: crate::migrations::binary_schema_version(POSTGRES_MIGRATIONS),
        })
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(database_error)
    }

    async fn create_organisation(&self, name: &str) -> StoreResult<Organisation> {
        let organisation = Organisation {
            id: OrgId::new(),
            name: name.to_owned(),
            platform: None,
            created_at: now(),
        };
        sqlx::query(
            "INSERT INTO organisations (id, name, platform, created_at) VALUES ($1, $2, NULL, $3)",
        )
        .bind(organisation.id.as_uuid())
        .bind(&organisation.name)
        .bind(organisation.created_at)
        .execute(&self.pool)
        .await
        .map_err(|error| insert_error(error, "an organisation with this id already exists"))?;
        Ok(organisation)
    }

    async fn organisation(&self, id: OrgId) -> StoreResult<Option<Organisation>> {
        sqlx::query("SELECT id, name, platform, created_at FROM organisations WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(database_error)?
            .map(|row| organisation_from_row(&row))
            .transpose()
    }

    async fn organisations(&self) -> StoreResult<Vec<Organisation>> {
        sqlx::query("SELECT id, name, platform, created_at FROM organisations ORDER BY name, id")
            .fetch_all(&self.pool)
            .await
            .map_err(database_error)?
            .iter()
            .map(organisation_from_row)
            .collect()
    }

    async fn create_person(
        &self,
        org_id: OrgId,
        email: &str,
        display_name: &str,
        password: &SecretString,
    ) -> StoreResult<Person> {
        let password_hash = self.passwords.hash(password).await?;
        let person = Person {
            id: PersonId::new(),
            org_id,
            email: normalise_email(email),
            display_name: display_name.to_owned(),
            created_at: now(),
        };
        sqlx::query(
            "INSERT INTO people (id, org_id, email, display_name, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(person.id.as_uuid())
        .bind(org_id.as_uuid())
        .bind(&person.email)
        .bind(&person.display_name)
        .bind(&password_hash)
        .bind(person.created_at)
        .execute(&self.pool)
        .await
        .map_err(|error| insert_error(error, "a person with this email address already exists"))?;
        Ok(person)
    }

    async fn verify_password(
        &self,
        email: &str,
        password: &SecretString,
    ) -> StoreResult<Option<Person>> {
        let row = sqlx::query(
            "SELECT id, org_id, email, display_name, created_at, password_hash FROM people WHERE email = $1",
        )
        .bind(normalise_email(email))
        .fetch_optional(&self.pool)
        .await
        .map_err(database_error)?;
        let (person, stored_hash) = match row {
            Some(row) => (
                Some(person_from_row(&row)?),
                Some(
                    row.try_get::<String, _>("password_hash")
                        .map_err(database_error)?,
                ),
            ),
            None => (None, None),
        };
        let matches = self.passwords.verify(stored_hash, password).await?;
        Ok(person.filter(|_| matches))
    }

    async fn person(&self, id: PersonId) -> StoreResult<Option<Person>> {
        sqlx::query("SELECT id, org_id, email, display_name, created_at FROM people WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(database_error)?
            .map(|row| person_from_row(&row))
            .transpose()
    }

    async fn create_session(
        &self,
        person_id: PersonId,
        ttl: time::Duration,
    ) -> StoreResult<NewSession> {
        let issued = issue_token();
        let created_at = now();
        let expires_at = to_storage_precision(created_at + ttl);
        // Housekeeping: a person's expired sessions go when they sign in again, so the table
        // stays bounded by the number of people without a background job.
        sqlx::query("DELETE FROM sessions WHERE person_id = $1 AND expires_at <= $2")
            .bind(person_id.as_uuid())
            .bind(created_at)
            .execute(&self.pool)
            .await
            .map_err(database_error)?;
        sqlx::query("INSERT INTO sessions (token_digest, person_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(&issued.digest[..])
            .bind(person_id.as_uuid())
            .bind(created_at)
            .bind(expires_at)
            .execute(&self.pool)
            .await
            .map_err(|error| insert_error(error, "session token collision"))?;
        Ok(NewSession {
            token: issued.token,
            expires_at,
        })
    }

    async fn session_person(&self, token: &str) -> StoreResult<Option<Person>> {
        let digest = token_digest(token);
        let Some(row) = sqlx::query(
            "SELECT p.id, p.org_id, p.email, p.display_name, p.created_at, s.expires_at \
             FROM sessions s JOIN people p ON p.id = s.person_id WHERE s.token_digest = $1",
        )
        .bind(&digest[..])
        .fetch_optional(&self.pool)
        .await
        .map_err(database_error)?
        else {
            return Ok(None);
        };
        let expires_at: time::OffsetDateTime = row.try_get("expires_at").map_err(database_error)?;
        if expires_at <= now() {
            sqlx::query("DELETE FROM sessions WHERE token_digest = $1")
                .bind(&digest[..])
                .execute(&self.pool)
                .await
                .map_err(database_error)?;
            return Ok(None);
        }
        person_from_row(&row).map(Some)
    }

    async fn delete_session(&self, token: &str) -> StoreResult<()> {
        let digest = token_digest(token);
        sqlx::query("DELETE FROM sessions WHERE token_digest = $1")
            .bind(&digest[..])
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(database_error)
    }

    async fn create_api_token(
        &self,
        person_id: PersonId,
        label: &str,
    ) -> StoreResult<SecretString> {
        let issued = issue_token();
        sqlx::query("INSERT INTO api_tokens (token_digest, person_id, label, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&issued.digest[..])
            .bind(person_id.as_uuid())
            .bind(label)
            .bind(now())
            .execute(&self.pool)
            .await
            .map_err(|error| insert_error(error, "API token collision"))?;
        Ok(issued.token)
    }

    async fn api_token_person(&self, token: &str) -> StoreResult<Option<Person>> {
        let digest = token_digest(token);
        sqlx::query(
            "SELECT p.id, p.org_id, p.email, p.display_name, p.created_at \
             FROM api_tokens t JOIN people p ON p.id = t.person_id WHERE t.token_digest = $1",
        )
        .bind(&digest[..])
        .fetch_optional(&self.pool)
        .await
        .map_err(database_error)?
        .map(|row| person_from_row(&row))
        .transpose()
    }

    async fn platform_credentials(
        &self,
        org_id: OrgId,
    ) -> StoreResult<Option<PlatformCredentials>> {
        sqlx::query(
            "SELECT platform, api_url, username, secret_ciphertext, secret_changed_at, \
                    integration_code_override, updated_at \
             FROM platform_credentials WHERE org_id = $1",
        )
        .bind(org_id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(database_error)?
        .map(|row| credentials_from_row(&row)?.to_public(org_id))
        .transpose()
    }

    async fn save_platform_credentials(
        &self,
        org_id: OrgId,
        changed_by: Option<PersonId>,
        update: CredentialsUpdate,
    ) -> StoreResult<PlatformCredentials> {
        let org_uuid = org_id.as_uuid();
        let mut transaction = self.pool.begin().await.map_err(database_error)?;
        let locked_organisation =
            sqlx::query("SELECT id FROM organisations WHERE id = $1 FOR NO KEY UPDATE")
                .bind(org_uuid)
                .fetch_optional(&mut *transaction)
                .await
                .map_err(database_error)?;
        if locked_organisation.is_none() {
            return Err(StoreError::NotFound);
        }
        let existing = Self::existing_credentials(&mut transaction, org_id).await?;
        let save = plan_credentials_save(
            &self.key,
            SecretPlace::Organisation(org_id),
            org_id,
            changed_by,
            existing,
            update,
            now(),
        )?;
        let row = &save.row;
        sqlx::query(
            "INSERT INTO platform_credentials (org_id, platform, api_url, username, secret_ciphertext, \
                 secret_changed_at, integration_code_override, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (org_id) DO UPDATE SET platform = excluded.platform, api_url = excluded.api_url, \
                 username = excluded.username, secret_ciphertext = excluded.secret_ciphertext, \
                 secret_changed_at = excluded.secret_changed_at, \
                 integration_code_override = excluded.integration_code_override, \
                 updated_at = excluded.updated_at",
        )
        .bind(org_uuid)
        .bind(&row.platform)
        .bind(&row.api_url)
        .bind(&row.username)
        .bind(row.secret_ciphertext.as_deref())
        .bind(row.secret_changed_at)
        .bind(row.integration_code_override.as_deref())
        .bind(row.updated_at)
        .execute(&mut *transaction)
        .await
        .map_err(database_error)?;
        for entry in &save.audit {
            sqlx::query("INSERT INTO credentials_audit (org_id, person_id, field, changed_at) VALUES ($1, $2, $3, $4)")
                .bind(org_uuid)
                .bind(entry.person_id.map(|id| id.as_uuid()))
                .bind(&entry.field)
                .bind(entry.changed_at)
                .execute(&mut *transaction)
                .await
                .map_err(|error| insert_error(error, "audit entry conflict"))?;
        }
        sqlx::query("UPDATE organisations SET platform = $1 WHERE id = $2")
            .bind(&row.platform)
            .bind(org_uuid)
            .execute(&mut *transaction)
            .await
            .map_err(database_error)?;
        transaction.commit().await.map_err(database_error)?;
        save.row.to_public(org_id)
    }

    async fn platform_secret(&self, org_id: OrgId) -> StoreResult<Option<SecretString>> {
        let blob: Option<Option<Vec<u8>>> = sqlx::query_scalar(
            "SELECT secret_ciphertext FROM platform_credentials WHERE org_id = $1",
        )
        .bind(org_id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(database_error)?;
        blob.flatten()
            .map(|blob| decrypt_api_secret(&self.key, SecretPlace::Organisation(org_id), &blob))
            .transpose()
    }

    async fn credentials_audit_log(
        &self,
        org_id: OrgId,
    ) -> StoreResult<Vec<CredentialsAuditEntry>> {
        let rows = sqlx::query(
            "SELECT person_id, field, changed_at FROM credentials_audit WHERE org_id = $1 \
             ORDER BY changed_at DESC, id ASC",
        )
        .bind(org_id.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(database_error)?;
        rows.iter()
            .map(|row| {
                let person_id: Option<Uuid> = row.try_get("person_id").map_err(database_error)?;
                let person_id = person_id.map(PersonId::from_uuid);
                Ok(CredentialsAuditEntry {
                    org_id,
                    person_id,
                    field: row.try_get("field").map_err(database_error)?,
                    changed_at: row.try_get("changed_at").map_err(database_error)?,
                })
            })
            .collect()
    }

    async fn record_test_result(
        &self,
        org_id: OrgId,
        report: &ConnectionTestReport,
    ) -> StoreResult<()> {
        let columns = TestResultColumns::from_report(report);
        sqlx::query(
            "INSERT INTO connection_tests (org_id, outcome, failure_kind, reason, fix, zone, api_requests_used, \
                 api_request_limit, api_timeframe_minutes, notes, tested_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (org_id) DO UPDATE SET outcome = excluded.outcome, failure_kind = excluded.failure_kind, \
                 reason = excluded.reason, fix = excluded.fix, zone = excluded.zone, \
                 api_requests_used = excluded.api_requests_used, api_request_limit = excluded.api_request_limit, \
                 api_timeframe_minutes = excluded.api_timeframe_minutes, notes = excluded.notes, \
                 tested_at = excluded.tested_at",
        )
        .bind(org_id.as_uuid())
        .bind(&columns.outcome)
        .bind(columns.failure_kind.as_deref())
        .bind(&columns.reason)
        .bind(columns.fix.as_deref())
        .bind(columns.zone.as_deref())
        .bind(columns.api_requests_used)
        .bind(columns.api_request_limit)
        .bind(columns.api_timeframe_minutes)
        .bind(Json(&columns.notes))
        .bind(columns.tested_at)
        .execute(&self.pool)
        .await
        .map_err(|error| insert_error(error, "connection test conflict"))?;
        Ok(())
    }

    async fn last_test_result(&self, org_id: OrgId) -> StoreResult<Option<ConnectionTestReport>> {
        let Some(row) = sqlx::query(
            "SELECT outcome, failure_kind, reason, fix, zone, api_requests_used, api_request_limit, \
                    api_timeframe_minutes, notes, tested_at \
             FROM connection_tests WHERE org_id = $1",
        )
        .bind(org_id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(database_error)?
        else {
            return Ok(None);
        };
        let Json(notes): Json<Vec<String>> = row.try_get("notes").map_err(database_error)?;
        TestResultColumns {
            outcome: row.try_get("outcome").map_err(database_error)?,
            failure_kind: row.try_get("failure_kind").map_err(database_error)?,
            reason: row.try_get("reason").map_err(database_error)?,
            fix: row.try_get("fix").map_err(database_error)?,
            zone: row.try_get("zone").map_err(database_error)?,
            api_requests_used: row.try_get("api_requests_used").map_err(database_error)?,
            api_request_limit: row.try_get("api_request_limit").map_err(database_error)?,
            api_timeframe_minutes: row
                .try_get("api_timeframe_minutes")
                .map_err(database_error)?,
            notes,
            tested_at: row.try_get("tested_at").map_err(database_error)?,
        }
        .into_report()
        .map(Some)
    }
}
