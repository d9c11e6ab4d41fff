//! The store, written once for both databases: [`SqlStore`] over a [`Backend`] implements
//! [`Store`] and the core's [`StoreHealth`], [`Identity`], [`OrganisationSettings`],
//! [`OrganisationNames`] and `OrganisationCredentials` here,
//! [`crate::RelationshipStore`] in `relationships` and [`crate::SyncStore`] in `sync`; key rotation
//! is in `key_rotation`. `sqlite.rs` and `postgres.rs` open the pool and say
//! what their database does differently ([`Backend`]); nothing else here knows which one it is.
//!
//! Read-then-write steps run in a [`Backend::begin_write`] transaction and read the rows they go
//! on to change with [`Backend::locking`]: on SQLite the transaction holds the database's single
//! write lock from the start, on PostgreSQL the read locks the rows (`FOR NO KEY UPDATE`, which
//! does not block inserts that merely reference them). Either way two saves of one organisation's
//! credentials serialise and the audit trail records each change once.

use async_trait::async_trait;
use fusion_domain::{ApiTokenId, ConnectionTestReport, OrgId, Organisation, Person, PersonId};
use fusion_engine::TenantCredentials;
use fusion_engine::ports::{
    ApiTokenInfo, CredentialsAuditEntry, CredentialsUpdate, Identity, NewApiToken, NewSession,
    OrganisationCredentials, OrganisationNames, OrganisationSettings, PlatformCredentials,
    SchemaVersions, StoreHealth,
};
use secrecy::SecretString;
use sqlx::types::Json;
use sqlx::{Executor, Pool, Transaction};

use crate::backend::{Backend, Bind, Columns, RowsAffected};
use crate::credentials::{StoredCredentials, parse_platform, plan_credentials_save};
use crate::crypto::{KeyRing, SecretKey, SecretPlace, decrypt_api_secret};
use crate::database_errors::{database_error, insert_error};
use crate::migrations::{MIGRATIONS_TABLE, binary_schema_version, refuse_newer_schema};
use crate::password::PasswordHasher;
use crate::test_results::TestResultColumns;
use crate::timestamps::{now, to_storage_precision};
use crate::tokens::{issue_token, token_digest};
use crate::{Store, StoreError, StoreResult, normalise_email};

mod attention;
mod budget;
mod key_rotation;
mod notifications;
mod relationships;
mod sync;
mod webhooks;

/// The columns every credentials query selects (organisation and relationship credentials).
pub(crate) const CREDENTIAL_COLUMNS: &str = "platform, api_url, username, secret_ciphertext, \
     secret_changed_at, integration_code_override, updated_at";

/// The store on one database.
#[derive(Debug)]
pub(crate) struct SqlStore<B: Backend> {
    pub(crate) pool: Pool<B>,
    pub(crate) key: KeyRing,
    pub(crate) passwords: PasswordHasher,
}

impl<B: Backend> SqlStore<B> {
    pub(crate) fn new(pool: Pool<B>, key: KeyRing, passwords: PasswordHasher) -> Self {
        Self {
            pool,
            key,
            passwords,
        }
    }

    /// The pool as an executor of one statement.
    pub(crate) fn pool(&self) -> impl Executor<'_, Database = B> {
        B::pool(&self.pool)
    }

    pub(crate) async fn begin_write(&self) -> StoreResult<Transaction<'static, B>> {
        B::begin_write(&self.pool).await
    }

    async fn existing_credentials(
        transaction: &mut Transaction<'static, B>,
        org_id: OrgId,
    ) -> StoreResult<Option<StoredCredentials>> {
        sqlx::query::<B>(sqlx::AssertSqlSafe(format!(
            "SELECT {CREDENTIAL_COLUMNS} FROM platform_credentials WHERE org_id = $1"
        )))
        .bind_id(org_id)
        .fetch_optional(B::connection(transaction))
        .await
        .map_err(database_error)?
        .map(|row| credentials_from_row(&row))
        .transpose()
    }
}

fn organisation_from_row(row: &impl Columns) -> StoreResult<Organisation> {
    let platform: Option<String> = row.column("platform")?;
    Ok(Organisation {
        id: row.id("id")?,
        name: row.column("name")?,
        platform: platform.as_deref().map(parse_platform).transpose()?,
        created_at: row.time("created_at")?,
    })
}

fn person_from_row(row: &impl Columns) -> StoreResult<Person> {
    Ok(Person {
        id: row.id("id")?,
        org_id: row.id("org_id")?,
        email: row.column("email")?,
        display_name: row.column("display_name")?,
        created_at: row.time("created_at")?,
    })
}

pub(crate) fn credentials_from_row(row: &impl Columns) -> StoreResult<StoredCredentials> {
    Ok(StoredCredentials {
        platform: row.column("platform")?,
        api_url: row.column("api_url")?,
        username: row.column("username")?,
        secret_ciphertext: row.column("secret_ciphertext")?,
        secret_changed_at: row.optional_time("secret_changed_at")?,
        integration_code_override: row.column("integration_code_override")?,
        updated_at: row.time("updated_at")?,
    })
}

/// One row of an audit log: who (nobody: Support Fusion itself) and when; `what` is the column
/// that says what changed.
pub(crate) fn audit_from_row(
    row: &impl Columns,
    what: &str,
) -> StoreResult<(Option<PersonId>, String, time::OffsetDateTime)> {
    Ok((
        row.optional_id("person_id")?,
        row.column(what)?,
        row.time("changed_at")?,
    ))
}

/// The organisation's own credentials as its tenant is reached: the two reads
/// [`OrganisationSettings`] offers separately (the public part, the decrypted secret), put together.
#[async_trait]
impl<B: Backend> OrganisationCredentials for SqlStore<B> {
    async fn organisation_tenant_credentials(
        &self,
        org: OrgId,
    ) -> StoreResult<Option<TenantCredentials>> {
        let Some(credentials) = self.platform_credentials(org).await? else {
            return Ok(None);
        };
        Ok(self
            .platform_secret(org)
            .await?
            .map(|secret| TenantCredentials {
                api_url: credentials.api_url,
                username: credentials.username,
                secret,
                integration_code: credentials.integration_code_override,
            }))
    }
}

#[async_trait]
impl<B: Backend> Store for SqlStore<B> {
    async fn migrate(&self) -> StoreResult<()> {
        let has_migrations_table: bool = sqlx::query::<B>(B::TABLE_EXISTS)
            .bind_value(MIGRATIONS_TABLE)
            .fetch_one(self.pool())
            .await
            .map_err(database_error)?
            .column("found")?;
        if has_migrations_table {
            let database_version: Option<i64> =
                sqlx::query::<B>("SELECT MAX(version) AS version FROM _sqlx_migrations")
                    .fetch_one(self.pool())
                    .await
                    .map_err(database_error)?
                    .column("version")?;
            refuse_newer_schema(database_version, B::MIGRATIONS)?;
        }
        B::run_migrations(&self.pool).await
    }

    async fn reencrypt_secrets(&self, new_key: &SecretKey) -> StoreResult<u64> {
        self.reencrypt_all_secrets(new_key).await
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait]
impl<B: Backend> StoreHealth for SqlStore<B> {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query::<B>("SELECT 1")
            .execute(self.pool())
            .await
            .map(drop)
            .map_err(database_error)
    }

    async fn schema_versions(&self) -> StoreResult<SchemaVersions> {
        let database: Option<i64> =
            sqlx::query::<B>("SELECT MAX(version) AS version FROM _sqlx_migrations WHERE success")
                .fetch_one(self.pool())
                .await
                .map_err(database_error)?
                .column("version")?;
        Ok(SchemaVersions {
            database,
            binary: binary_schema_version(B::MIGRATIONS),
        })
    }
}

#[async_trait]
impl<B: Backend> Identity for SqlStore<B> {
    async fn create_organisation(&self, name: &str) -> StoreResult<Organisation> {
        let organisation = Organisation {
            id: OrgId::new(),
            name: name.to_owned(),
            platform: None,
            created_at: now(),
        };
        sqlx::query::<B>(
            "INSERT INTO organisations (id, name, platform, created_at) VALUES ($1, $2, NULL, $3)",
        )
        .bind_id(organisation.id)
        .bind_value(organisation.name.as_str())
        .bind_time(organisation.created_at)
        .execute(self.pool())
        .await
        .map_err(|error| insert_error(error, "an organisation with this id already exists"))?;
        Ok(organisation)
    }

    async fn organisation(&self, id: OrgId) -> StoreResult<Option<Organisation>> {
        sqlx::query::<B>("SELECT id, name, platform, created_at FROM organisations WHERE id = $1")
            .bind_id(id)
            .fetch_optional(self.pool())
            .await
            .map_err(database_error)?
            .map(|row| organisation_from_row(&row))
            .transpose()
    }

    async fn organisations(&self) -> StoreResult<Vec<Organisation>> {
        sqlx::query::<B>(
            "SELECT id, name, platform, created_at FROM organisations ORDER BY name, id",
        )
        .fetch_all(self.pool())
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
        sqlx::query::<B>(
            "INSERT INTO people (id, org_id, email, display_name, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind_id(person.id)
        .bind_id(org_id)
        .bind_value(person.email.as_str())
        .bind_value(person.display_name.as_str())
        .bind_value(password_hash.as_str())
        .bind_time(person.created_at)
        .execute(self.pool())
        .await
        .map_err(|error| insert_error(error, "a person with this email address already exists"))?;
        Ok(person)
    }

    async fn verify_password(
        &self,
        email: &str,
        password: &SecretString,
    ) -> StoreResult<Option<Person>> {
        let row = sqlx::query::<B>(
            "SELECT id, org_id, email, display_name, created_at, password_hash \
             FROM people WHERE email = $1",
        )
        .bind_value(normalise_email(email))
        .fetch_optional(self.pool())
        .await
        .map_err(database_error)?;
        let (person, stored_hash) = match row {
            Some(row) => (
                Some(person_from_row(&row)?),
                Some(row.column::<String>("password_hash")?),
            ),
            None => (None, None),
        };
        let matches = self.passwords.verify(stored_hash, password).await?;
        Ok(person.filter(|_| matches))
    }

    async fn person(&self, id: PersonId) -> StoreResult<Option<Person>> {
        sqlx::query::<B>(
            "SELECT id, org_id, email, display_name, created_at FROM people WHERE id = $1",
        )
        .bind_id(id)
        .fetch_optional(self.pool())
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
        sqlx::query::<B>("DELETE FROM sessions WHERE person_id = $1 AND expires_at <= $2")
            .bind_id(person_id)
            .bind_time(created_at)
            .execute(self.pool())
            .await
            .map_err(database_error)?;
        sqlx::query::<B>(
            "INSERT INTO sessions (token_digest, person_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind_value(&issued.digest[..])
        .bind_id(person_id)
        .bind_time(created_at)
        .bind_time(expires_at)
        .execute(self.pool())
        .await
        .map_err(|error| insert_error(error, "session token collision"))?;
        Ok(NewSession {
            token: issued.token,
            expires_at,
        })
    }

    async fn session_person(&self, token: &str) -> StoreResult<Option<Person>> {
        let digest = token_digest(token);
        let Some(row) = sqlx::query::<B>(
            "SELECT p.id, p.org_id, p.email, p.display_name, p.created_at, s.expires_at \
             FROM sessions s JOIN people p ON p.id = s.person_id WHERE s.token_digest = $1",
        )
        .bind_value(&digest[..])
        .fetch_optional(self.pool())
        .await
        .map_err(database_error)?
        else {
            return Ok(None);
        };
        if row.time("expires_at")? <= now() {
            self.delete_session(token).await?;
            return Ok(None);
        }
        person_from_row(&row).map(Some)
    }

    async fn delete_session(&self, token: &str) -> StoreResult<()> {
        let digest = token_digest(token);
        sqlx::query::<B>("DELETE FROM sessions WHERE token_digest = $1")
            .bind_value(&digest[..])
            .execute(self.pool())
            .await
            .map(drop)
            .map_err(database_error)
    }

    async fn create_api_token(
        &self,
        person_id: PersonId,
        label: &str,
        expires_at: Option<time::OffsetDateTime>,
    ) -> StoreResult<NewApiToken> {
        let issued = issue_token();
        let id = ApiTokenId::new();
        let expires_at = expires_at.map(to_storage_precision);
        sqlx::query::<B>(
            "INSERT INTO api_tokens (token_digest, person_id, label, created_at, id, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind_value(&issued.digest[..])
        .bind_id(person_id)
        .bind_value(label)
        .bind_time(now())
        .bind_id(id)
        .bind_optional_time(expires_at)
        .execute(self.pool())
        .await
        .map_err(|error| insert_error(error, "API token collision"))?;
        Ok(NewApiToken {
            id,
            token: issued.token,
            expires_at,
        })
    }

    async fn api_token_person(&self, token: &str) -> StoreResult<Option<Person>> {
        let digest = token_digest(token);
        let now = now();
        let person = sqlx::query::<B>(
            "SELECT p.id, p.org_id, p.email, p.display_name, p.created_at \
             FROM api_tokens t JOIN people p ON p.id = t.person_id \
             WHERE t.token_digest = $1 AND (t.expires_at IS NULL OR t.expires_at > $2)",
        )
        .bind_value(&digest[..])
        .bind_time(now)
        .fetch_optional(self.pool())
        .await
        .map_err(database_error)?
        .map(|row| person_from_row(&row))
        .transpose()?;
        if person.is_some() {
            // "Last used", to the minute: one write a minute per token at most.
            sqlx::query::<B>(
                "UPDATE api_tokens SET last_used_at = $1 \
                 WHERE token_digest = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
            )
            .bind_time(now)
            .bind_value(&digest[..])
            .bind_time(now - time::Duration::minutes(1))
            .execute(self.pool())
            .await
            .map_err(database_error)?;
        }
        Ok(person)
    }

    async fn api_tokens_of(&self, person_id: PersonId) -> StoreResult<Vec<ApiTokenInfo>> {
        sqlx::query::<B>(
            "SELECT id, label, created_at, last_used_at, expires_at FROM api_tokens \
             WHERE person_id = $1 ORDER BY created_at DESC, id ASC",
        )
        .bind_id(person_id)
        .fetch_all(self.pool())
        .await
        .map_err(database_error)?
        .iter()
        .map(|row| {
            Ok(ApiTokenInfo {
                id: row.id("id")?,
                label: row.column("label")?,
                created_at: row.time("created_at")?,
                last_used_at: row.optional_time("last_used_at")?,
                expires_at: row.optional_time("expires_at")?,
            })
        })
        .collect()
    }

    async fn revoke_api_token(&self, person_id: PersonId, id: ApiTokenId) -> StoreResult<()> {
        let done = sqlx::query::<B>("DELETE FROM api_tokens WHERE id = $1 AND person_id = $2")
            .bind_id(id)
            .bind_id(person_id)
            .execute(self.pool())
            .await
            .map_err(database_error)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}

#[async_trait]
impl<B: Backend> OrganisationSettings for SqlStore<B> {
    async fn platform_credentials(
        &self,
        org_id: OrgId,
    ) -> StoreResult<Option<PlatformCredentials>> {
        sqlx::query::<B>(sqlx::AssertSqlSafe(format!(
            "SELECT {CREDENTIAL_COLUMNS} FROM platform_credentials WHERE org_id = $1"
        )))
        .bind_id(org_id)
        .fetch_optional(self.pool())
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
        let mut transaction = self.begin_write().await?;
        let organisation =
            sqlx::query::<B>(B::locking("SELECT id FROM organisations WHERE id = $1"))
                .bind_id(org_id)
                .fetch_optional(B::connection(&mut transaction))
                .await
                .map_err(database_error)?;
        if organisation.is_none() {
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
        sqlx::query::<B>(sqlx::AssertSqlSafe(format!(
            "INSERT INTO platform_credentials (org_id, {CREDENTIAL_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (org_id) DO UPDATE SET platform = excluded.platform, \
                 api_url = excluded.api_url, username = excluded.username, \
                 secret_ciphertext = excluded.secret_ciphertext, \
                 secret_changed_at = excluded.secret_changed_at, \
                 integration_code_override = excluded.integration_code_override, \
                 updated_at = excluded.updated_at"
        )))
        .bind_id(org_id)
        .bind_credentials(row)
        .execute(B::connection(&mut transaction))
        .await
        .map_err(database_error)?;
        for entry in &save.audit {
            sqlx::query::<B>(
                "INSERT INTO credentials_audit (org_id, person_id, field, changed_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind_id(org_id)
            .bind_optional_id(entry.person_id)
            .bind_value(entry.field.as_str())
            .bind_time(entry.changed_at)
            .execute(B::connection(&mut transaction))
            .await
            .map_err(|error| insert_error(error, "audit entry conflict"))?;
        }
        sqlx::query::<B>("UPDATE organisations SET platform = $1 WHERE id = $2")
            .bind_value(row.platform.as_str())
            .bind_id(org_id)
            .execute(B::connection(&mut transaction))
            .await
            .map_err(database_error)?;
        transaction.commit().await.map_err(database_error)?;
        save.row.to_public(org_id)
    }

    async fn platform_secret(&self, org_id: OrgId) -> StoreResult<Option<SecretString>> {
        let blob: Option<Option<Vec<u8>>> = sqlx::query::<B>(
            "SELECT secret_ciphertext FROM platform_credentials WHERE org_id = $1",
        )
        .bind_id(org_id)
        .fetch_optional(self.pool())
        .await
        .map_err(database_error)?
        .map(|row| row.column("secret_ciphertext"))
        .transpose()?;
        blob.flatten()
            .map(|blob| decrypt_api_secret(&self.key, SecretPlace::Organisation(org_id), &blob))
            .transpose()
    }

    async fn credentials_audit_log(
        &self,
        org_id: OrgId,
    ) -> StoreResult<Vec<CredentialsAuditEntry>> {
        sqlx::query::<B>(
            "SELECT person_id, field, changed_at FROM credentials_audit WHERE org_id = $1 \
             ORDER BY changed_at DESC, id ASC",
        )
        .bind_id(org_id)
        .fetch_all(self.pool())
        .await
        .map_err(database_error)?
        .iter()
        .map(|row| {
            let (person_id, field, changed_at) = audit_from_row(row, "field")?;
            Ok(CredentialsAuditEntry {
                org_id,
                person_id,
                field,
                changed_at,
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
        sqlx::query::<B>(
            "INSERT INTO connection_tests (org_id, outcome, failure_kind, reason, fix, zone, \
                 api_requests_used, api_request_limit, api_timeframe_minutes, notes, tested_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (org_id) DO UPDATE SET outcome = excluded.outcome, \
                 failure_kind = excluded.failure_kind, reason = excluded.reason, \
                 fix = excluded.fix, zone = excluded.zone, \
                 api_requests_used = excluded.api_requests_used, \
                 api_request_limit = excluded.api_request_limit, \
                 api_timeframe_minutes = excluded.api_timeframe_minutes, notes = excluded.notes, \
                 tested_at = excluded.tested_at",
        )
        .bind_id(org_id)
        .bind_value(columns.outcome.as_str())
        .bind_value(columns.failure_kind.as_deref())
        .bind_value(columns.reason.as_str())
        .bind_value(columns.fix.as_deref())
        .bind_value(columns.zone.as_deref())
        .bind_value(columns.api_requests_used)
        .bind_value(columns.api_request_limit)
        .bind_value(columns.api_timeframe_minutes)
        .bind_value(Json(&columns.notes))
        .bind_time(columns.tested_at)
        .execute(self.pool())
        .await
        .map_err(|error| insert_error(error, "connection test conflict"))?;
        Ok(())
    }

    async fn last_test_result(&self, org_id: OrgId) -> StoreResult<Option<ConnectionTestReport>> {
        let Some(row) = sqlx::query::<B>(
            "SELECT outcome, failure_kind, reason, fix, zone, api_requests_used, \
                    api_request_limit, api_timeframe_minutes, notes, tested_at \
             FROM connection_tests WHERE org_id = $1",
        )
        .bind_id(org_id)
        .fetch_optional(self.pool())
        .await
        .map_err(database_error)?
        else {
            return Ok(None);
        };
        let Json(notes): Json<Vec<String>> = row.column("notes")?;
        TestResultColumns {
            outcome: row.column("outcome")?,
            failure_kind: row.column("failure_kind")?,
            reason: row.column("reason")?,
            fix: row.column("fix")?,
            zone: row.column("zone")?,
            api_requests_used: row.column("api_requests_used")?,
            api_request_limit: row.column("api_request_limit")?,
            api_timeframe_minutes: row.column("api_timeframe_minutes")?,
            notes,
            tested_at: row.time("tested_at")?,
        }
        .into_report()
        .map(Some)
    }
}

#[async_trait]
impl<B: Backend> OrganisationNames for SqlStore<B> {
    async fn organisation_name(&self, id: OrgId) -> StoreResult<Option<String>> {
        sqlx::query::<B>("SELECT name FROM organisations WHERE id = $1")
            .bind_id(id)
            .fetch_optional(self.pool())
            .await
            .map_err(database_error)?
            .map(|row| row.column("name"))
            .transpose()
    }
}

/// Binding the seven credential columns after the row's key columns, in
/// [`CREDENTIAL_COLUMNS`] order.
pub(crate) trait BindCredentials {
    fn bind_credentials(self, row: &StoredCredentials) -> Self;
}

impl<Q: Bind> BindCredentials for Q {
    fn bind_credentials(self, row: &StoredCredentials) -> Self {
        self.bind_value(row.platform.as_str())
            .bind_value(row.api_url.as_str())
            .bind_value(row.username.as_str())
            .bind_value(row.secret_ciphertext.as_deref())
            .bind_optional_time(row.secret_changed_at)
            .bind_value(row.integration_code_override.as_deref())
            .bind_time(row.updated_at)
    }
}
