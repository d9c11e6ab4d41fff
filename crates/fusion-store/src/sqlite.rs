//! The SQLite [`Store`]: the embedded default. All SQLite SQL lives in this file and its child
//! modules `relationships` (the [`crate::RelationshipStore`] half) and `sync` (the
//! [`crate::SyncStore`] half).
//!
//! Connections run in WAL mode (readers never wait for the writer), with a `busy_timeout` so a
//! writer waits for another instead of failing, and with foreign keys enforced. Read-then-write
//! transactions start with `BEGIN IMMEDIATE`, taking the write lock up front: a deferred
//! transaction that upgrades later can fail with `SQLITE_BUSY` regardless of the timeout.
//!
//! Ids are stored as hyphenated UUID text and timestamps as RFC 3339 text, so the file reads well
//! in the `sqlite3` shell.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use fusion_domain::{ConnectionTestReport, OrgId, Organisation, Person, PersonId};
use secrecy::SecretString;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::types::Json;
use sqlx::{Row, Sqlite, Transaction};
use uuid::Uuid;

use crate::credentials::{StoredCredentials, parse_platform, plan_credentials_save};
use crate::crypto::{KeyRing, SecretKey, SecretPlace, decrypt_api_secret};
use crate::database_errors::{database_error, insert_error};
use crate::migrations::{
    MIGRATIONS_TABLE, SQLITE_MIGRATIONS, migration_error, migrator, refuse_newer_schema,
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

/// How long a connection waits for another connection's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Readers are cheap in WAL mode; writes serialise on SQLite's single write lock anyway.
const MAX_CONNECTIONS: u32 = 8;

/// The SQLite-backed store.
#[derive(Debug)]
pub(crate) struct SqliteStore {
    pool: SqlitePool,
    key: KeyRing,
    passwords: PasswordHasher,
}

impl SqliteStore {
    pub(crate) async fn connect(
        database_url: &str,
        key: KeyRing,
        passwords: PasswordHasher,
    ) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(database_url.trim())
            .map_err(|error| StoreError::Backend(format!("invalid SQLite database URL: {error}")))?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let in_memory = database_url.contains(":memory:") || database_url.contains("mode=memory");
        if !in_memory {
            create_parent_folder(options.get_filename())?;
        }
        let pool_options = if in_memory {
            // An in-memory database lives as long as one of its connections: keep one open for
            // the life of the store. WAL does not apply to memory databases.
            SqlitePoolOptions::new()
                .max_connections(MAX_CONNECTIONS)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            SqlitePoolOptions::new().max_connections(MAX_CONNECTIONS)
        };
        // WAL with `synchronous = NORMAL`: a commit survives a crash of this process (the WAL is
        // written before the commit returns) and only the last commits can be lost on power loss,
        // never the database's integrity. FULL would fsync on every commit, which measured at
        // 3–4 ms per write and would bound the sync engine's throughput on a disk, not the network.
        let options = if in_memory {
            options
        } else {
            options
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
        };
        let pool = pool_options.connect_with(options).await.map_err(|error| {
            StoreError::Backend(format!("cannot open the SQLite database: {error}"))
        })?;
        Ok(Self {
            pool,
            key,
            passwords,
        })
    }

    async fn existing_credentials(
        transaction: &mut Transaction<'static, Sqlite>,
        org_id: OrgId,
    ) -> StoreResult<Option<StoredCredentials>> {
        sqlx::query(
            "SELECT platform, api_url, username, secret_ciphertext, secret_changed_at, \
                    integration_code_override, updated_at \
             FROM platform_credentials WHERE org_id = ?",
        )
        .bind(id_text(org_id.as_uuid()))
        .fetch_optional(&mut **transaction)
        .await
        .map_err(database_error)?
        .map(|row| credentials_from_row(&row))
        .transpose()
    }
}

/// SQLite creates a missing database file but not a missing folder; create that too, so
/// `sqlite://./data/fusion.db` works on a fresh machine.
fn create_parent_folder(database_file: &Path) -> StoreResult<()> {
    match database_file.parent() {
        Some(folder) if !folder.as_os_str().is_empty() && !folder.exists() => {
            std::fs::create_dir_all(folder).map_err(|error| {
                StoreError::Backend(format!(
                    "cannot create the folder {} for the SQLite database: {error}",
                    folder.display()
                ))
            })
        }
        _ => Ok(()),
    }
}

fn id_text(id: Uuid) -> String {
    id.hyphenated().to_string()
}

fn uuid_column(row: &SqliteRow, column: &str) -> StoreResult<Uuid> {
    let text: String = row.try_get(column).map_err(database_error)?;
    Uuid::parse_str(&text)
        .map_err(|_| StoreError::Backend(format!("malformed id {text:?} in column {column}")))
}

fn organisation_from_row(row: &SqliteRow) -> StoreResult<Organisation> {
    let platform: Option<String> = row.try_get("platform").map_err(database_error)?;
    Ok(Organisation {
        id: OrgId::from_uuid(uuid_column(row, "id")?),
        name: row.try_get("name").map_err(database_error)?,
        platform: platform.as_deref().map(parse_platform).transpose()?,
        created_at: row.try_get("created_at").map_err(database_error)?,
    })
}

fn person_from_row(row: &SqliteRow) -> StoreResult<Person> {
    Ok(Person {
        id: PersonId::from_uuid(uuid_column(row, "id")?),
        org_id: OrgId::from_uuid(uuid_column(row, "org_id")?),
        email: row.try_get("email").map_err(database_error)?,
        display_name: row.try_get("display_name").map_err(database_error)?,
        created_at: row.try_get("created_at").map_err(database_error)?,
    })
}

fn credentials_from_row(row: &SqliteRow) -> StoreResult<StoredCredentials> {
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
impl Store for SqliteStore {
    async fn migrate(&self) -> StoreResult<()> {
        let has_migrations_table: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?)",
        )
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
            refuse_newer_schema(database_version, SQLITE_MIGRATIONS)?;
        }
        migrator(SQLITE_MIGRATIONS)
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
            binary: crate::migrations::binary_schema_version(SQLITE_MIGRATIONS),
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
            "INSERT INTO organisations (id, name, platform, created_at) VALUES (?, ?, NULL, ?)",
        )
        .bind(id_text(organisation.id.as_uuid()))
        .bind(&organisation.name)
        .bind(organisation.created_at)
        .execute(&self.pool)
        .await
        .map_err(|error| insert_error(error, "an organisation with this id already exists"))?;
        Ok(organisation)
    }

    async fn organisation(&self, id: OrgId) -> StoreResult<Option<Organisation>> {
        sqlx::query("SELECT id, name, platform, created_at FROM organisations WHERE id = ?")
            .bind(id_text(id.as_uuid()))
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
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(id_text(person.id.as_uuid()))
        .bind(id_text(org_id.as_uuid()))
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
            "SELECT id, org_id, email, display_name, created_at, password_hash FROM people WHERE email = ?",
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
        sqlx::query("SELECT id, org_id, email, display_name, created_at FROM people WHERE id = ?")
            .bind(id_text(id.as_uuid()))
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
        sqlx::query(
            "DELETE FROM sessions WHERE person_id = ? AND julianday(expires_at) <= julianday(?)",
        )
        .bind(id_text(person_id.as_uuid()))
        .bind(created_at)
        .execute(&self.pool)
        .await
        .map_err(database_error)?;
        sqlx::query("INSERT INTO sessions (token_digest, person_id, created_at, expires_at) VALUES (?, ?, ?, ?)")
            .bind(&issued.digest[..])
            .bind(id_text(person_id.as_uuid()))
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
             FROM sessions s JOIN people p ON p.id = s.person_id WHERE s.token_digest = ?",
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
            sqlx::query("DELETE FROM sessions WHERE token_digest = ?")
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
        sqlx::query("DELETE FROM sessions WHERE token_digest = ?")
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
        sqlx::query("INSERT INTO api_tokens (token_digest, person_id, label, created_at) VALUES (?, ?, ?, ?)")
            .bind(&issued.digest[..])
            .bind(id_text(person_id.as_uuid()))
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
             FROM api_tokens t JOIN people p ON p.id = t.person_id WHERE t.token_digest = ?",
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
             FROM platform_credentials WHERE org_id = ?",
        )
        .bind(id_text(org_id.as_uuid()))
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
        let org_text = id_text(org_id.as_uuid());
        let mut transaction = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(database_error)?;
        let organisation_exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM organisations WHERE id = ?)")
                .bind(&org_text)
                .fetch_one(&mut *transaction)
                .await
                .map_err(database_error)?;
        if !organisation_exists {
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
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (org_id) DO UPDATE SET platform = excluded.platform, api_url = excluded.api_url, \
                 username = excluded.username, secret_ciphertext = excluded.secret_ciphertext, \
                 secret_changed_at = excluded.secret_changed_at, \
                 integration_code_override = excluded.integration_code_override, \
                 updated_at = excluded.updated_at",
        )
        .bind(&org_text)
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
            sqlx::query("INSERT INTO credentials_audit (org_id, person_id, field, changed_at) VALUES (?, ?, ?, ?)")
                .bind(&org_text)
                .bind(entry.person_id.map(|id| id_text(id.as_uuid())))
                .bind(&entry.field)
                .bind(entry.changed_at)
                .execute(&mut *transaction)
                .await
                .map_err(|error| insert_error(error, "audit entry conflict"))?;
        }
        sqlx::query("UPDATE organisations SET platform = ? WHERE id = ?")
            .bind(&row.platform)
            .bind(&org_text)
            .execute(&mut *transaction)
            .await
            .map_err(database_error)?;
        transaction.commit().await.map_err(database_error)?;
        save.row.to_public(org_id)
    }

    async fn platform_secret(&self, org_id: OrgId) -> StoreResult<Option<SecretString>> {
        let blob: Option<Option<Vec<u8>>> = sqlx::query_scalar(
            "SELECT secret_ciphertext FROM platform_credentials WHERE org_id = ?",
        )
        .bind(id_text(org_id.as_uuid()))
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
            "SELECT person_id, field, changed_at FROM credentials_audit WHERE org_id = ? \
             ORDER BY changed_at DESC, id ASC",
        )
        .bind(id_text(org_id.as_uuid()))
        .fetch_all(&self.pool)
        .await
        .map_err(database_error)?;
        rows.iter()
            .map(|row| {
                let person_id: Option<String> = row.try_get("person_id").map_err(database_error)?;
                let person_id = person_id
                    .map(|text| {
                        Uuid::parse_str(&text)
                            .map(PersonId::from_uuid)
                            .map_err(|_| {
                                StoreError::Backend(format!(
                                    "malformed person id {text:?} in the audit log"
                                ))
                            })
                    })
                    .transpose()?;
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
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (org_id) DO UPDATE SET outcome = excluded.outcome, failure_kind = excluded.failure_kind, \
                 reason = excluded.reason, fix = excluded.fix, zone = excluded.zone, \
                 api_requests_used = excluded.api_requests_used, api_request_limit = excluded.api_request_limit, \
                 api_timeframe_minutes = excluded.api_timeframe_minutes, notes = excluded.notes, \
                 tested_at = excluded.tested_at",
        )
        .bind(id_text(org_id.as_uuid()))
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
             FROM connection_tests WHERE org_id = ?",
        )
        .bind(id_text(org_id.as_uuid()))
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
