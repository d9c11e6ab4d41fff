//! Test harness: a fresh, private database per test on every backend under test — SQLite in a
//! temporary folder always, PostgreSQL in a uniquely named schema when `FUSION_TEST_POSTGRES_URL`
//! is set — and a way to run one test body against each of them.
//!
//! PostgreSQL isolation: each database gets `CREATE SCHEMA fusion_test_<uuid>` and a URL whose
//! `options` put that schema first on the `search_path`, so tests run in parallel on one server
//! and the schema is dropped again when the [`TestDatabase`] is dropped (also after a failure).

use std::path::PathBuf;
use std::sync::Arc;

use fusion_domain::{OrgId, Organisation, Person};
use fusion_store::{SecretKey, Store, StoreOptions, StoreResult, open_with_options};
use secrecy::SecretString;
use sqlx::Connection;
use sqlx::migrate::{Migration, MigrationType, Migrator};

pub const POSTGRES_URL_VARIABLE: &str = "FUSION_TEST_POSTGRES_URL";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// SQLite always; PostgreSQL too when the environment names a server.
pub fn backends_under_test() -> Vec<Backend> {
    let mut backends = vec![Backend::Sqlite];
    if postgres_admin_url().is_some() {
        backends.push(Backend::Postgres);
    }
    backends
}

fn postgres_admin_url() -> Option<String> {
    std::env::var(POSTGRES_URL_VARIABLE)
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// Runs `test` once per backend under test, each time on a fresh database.
pub async fn for_each_backend(test: impl AsyncFn(TestDatabase)) {
    for backend in backends_under_test() {
        eprintln!("--- running on {backend:?}");
        test(TestDatabase::fresh(backend).await).await;
    }
}

/// One private, empty database.
#[derive(Debug)]
pub struct TestDatabase {
    pub backend: Backend,
    pub url: String,
    /// The SQLite file (inside `folder`); `None` for PostgreSQL.
    pub sqlite_file: Option<PathBuf>,
    /// Keeps the SQLite folder alive for the life of the test.
    _folder: Option<tempfile::TempDir>,
    /// Dropped with this value, which drops the schema.
    _postgres_schema: Option<PostgresSchema>,
}

impl TestDatabase {
    pub async fn fresh(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let folder = tempfile::tempdir().expect("a temporary folder");
                let file = folder.path().join("fusion.db");
                Self {
                    backend,
                    url: format!("sqlite://{}", file.display()),
                    sqlite_file: Some(file),
                    _folder: Some(folder),
                    _postgres_schema: None,
                }
            }
            Backend::Postgres => {
                let admin_url = postgres_admin_url().expect("FUSION_TEST_POSTGRES_URL is set");
                let schema = format!("fusion_test_{}", uuid::Uuid::new_v4().simple());
                let mut connection = connect_creating_the_database(&admin_url).await;
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                    .execute(&mut connection)
                    .await
                    .expect("create a test schema");
                let _ = connection.close().await;
                let separator = if admin_url.contains('?') { '&' } else { '?' };
                Self {
                    backend,
                    url: format!("{admin_url}{separator}options=-c%20search_path%3D{schema}"),
                    sqlite_file: None,
                    _folder: None,
                    _postgres_schema: Some(PostgresSchema { admin_url, schema }),
                }
            }
        }
    }

    /// Opens (and migrates) a store on this database, with cheap password hashing.
    pub async fn open(&self, key: &SecretKey) -> StoreResult<Arc<dyn Store>> {
        open_with_options(&self.url, key.clone(), StoreOptions::for_tests()).await
    }

    /// Opens a store that must open.
    pub async fn store(&self, key: &SecretKey) -> Arc<dyn Store> {
        self.open(key).await.expect("the store opens")
    }

    /// Records a migration this binary does not have, as a newer binary would have.
    pub async fn apply_migration_from_the_future(&self, version: i64) {
        let mut migrator = Migrator::with_migrations(vec![Migration::new(
            version,
            "from a newer binary".into(),
            MigrationType::Simple,
            sqlx::SqlSafeStr::into_sql_str("SELECT 1"),
            false,
        )]);
        migrator.set_ignore_missing(true);
        match self.backend {
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&self.url).await.expect("connect");
                migrator.run(&pool).await.expect("future migration applies");
                pool.close().await;
            }
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&self.url).await.expect("connect");
                migrator.run(&pool).await.expect("future migration applies");
                pool.close().await;
            }
        }
    }

    /// Takes the database back to before schema version 5 as far as its data fix goes: forgets
    /// that version 5 ran and drops what it created, so the next open runs it again over the
    /// data written since (how an upgrade from version 4 meets stored configurations).
    pub async fn forget_privacy_migration(&self) {
        // Version 5 is run again on a database that is otherwise current: undo what came after it
        // that version 5 cannot run over (version 7's columns and table) and forget that too, so the
        // upgrade replays 5 and then 7 as a real one from version 4 would.
        let statements = [
            "DROP TABLE configuration_audit",
            "DROP TABLE attention_items",
            "ALTER TABLE sync_records DROP COLUMN title",
            "ALTER TABLE ticket_links DROP COLUMN title",
            "ALTER TABLE sync_runs DROP COLUMN started_by",
            "ALTER TABLE sync_runs DROP COLUMN trigger_detail",
            "ALTER TABLE sync_runs DROP COLUMN attention_count",
            "DELETE FROM _sqlx_migrations WHERE version = 5",
            "DELETE FROM _sqlx_migrations WHERE version = 7",
        ];
        match self.backend {
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&self.url).await.expect("connect");
                for statement in statements {
                    sqlx::query(statement)
                        .execute(&pool)
                        .await
                        .expect(statement);
                }
                pool.close().await;
            }
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&self.url).await.expect("connect");
                for statement in statements {
                    sqlx::query(statement)
                        .execute(&pool)
                        .await
                        .expect(statement);
                }
                pool.close().await;
            }
        }
    }

    /// Runs `statements` on the SQLite database directly, as an older binary or an operator would.
    pub async fn run_sqlite(&self, statements: &[&str]) {
        assert_eq!(self.backend, Backend::Sqlite, "an SQLite database");
        let pool = sqlx::SqlitePool::connect(&self.url).await.expect("connect");
        for &statement in statements {
            sqlx::query(sqlx::AssertSqlSafe(statement.to_owned()))
                .execute(&pool)
                .await
                .expect(statement);
        }
        pool.close().await;
    }

    /// One text column of the SQLite database, as stored.
    pub async fn sqlite_text(&self, query: &'static str) -> String {
        let pool = sqlx::SqlitePool::connect(&self.url).await.expect("connect");
        let text: String = sqlx::query_scalar(query)
            .fetch_one(&pool)
            .await
            .expect(query);
        pool.close().await;
        text
    }

    /// The bytes of the SQLite database and its WAL and shared-memory files, concatenated.
    pub fn sqlite_file_bytes(&self) -> Vec<u8> {
        let file = self.sqlite_file.as_ref().expect("a SQLite database");
        let mut bytes = Vec::new();
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut path = file.clone().into_os_string();
            path.push(suffix);
            if let Ok(content) = std::fs::read(&path) {
                bytes.extend_from_slice(&content);
            }
        }
        bytes
    }
}

/// Connects to the test database, creating it first when the server does not have it yet (a
/// fresh machine has only `postgres`).
async fn connect_creating_the_database(admin_url: &str) -> sqlx::PgConnection {
    let error = match sqlx::PgConnection::connect(admin_url).await {
        Ok(connection) => return connection,
        Err(error) => error,
    };
    let missing_database = matches!(&error, sqlx::Error::Database(database)
        if database.code().as_deref() == Some("3D000"));
    assert!(
        missing_database,
        "connect to the test PostgreSQL server: {error}"
    );

    let options: sqlx::postgres::PgConnectOptions = admin_url.parse().expect("a PostgreSQL URL");
    let name = options
        .get_database()
        .expect("the URL names a database")
        .to_owned();
    let mut maintenance = sqlx::PgConnection::connect_with(&options.clone().database("postgres"))
        .await
        .expect("connect to the maintenance database");
    let created = sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut maintenance)
        .await;
    // Another test may have created it in the meantime (duplicate_database or a unique violation).
    if let Err(sqlx::Error::Database(database)) = &created {
        let code = database.code();
        assert!(
            matches!(code.as_deref(), Some("42P04" | "23505")),
            "create the test database: {database}"
        );
    }
    let _ = maintenance.close().await;
    sqlx::PgConnection::connect(admin_url)
        .await
        .expect("connect to the test PostgreSQL server")
}

/// A PostgreSQL schema that is dropped with its tables when this value is dropped.
#[derive(Debug)]
struct PostgresSchema {
    admin_url: String,
    schema: String,
}

impl Drop for PostgresSchema {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let schema = self.schema.clone();
        // Drop may run inside a Tokio runtime (the test's): do the async clean-up on a thread of
        // its own with its own runtime, and wait for it.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a clean-up runtime");
            runtime.block_on(async move {
                let mut connection = sqlx::PgConnection::connect(&admin_url).await?;
                // Never hang on a lock a failed test left behind; report and move on.
                sqlx::query("SET lock_timeout = '10s'")
                    .execute(&mut connection)
                    .await?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP SCHEMA IF EXISTS {schema} CASCADE"
                )))
                .execute(&mut connection)
                .await?;
                connection.close().await
            })
        });
        match cleanup.join() {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("could not drop test schema {}: {error}", self.schema),
            Err(_) => eprintln!("clean-up of test schema {} panicked", self.schema),
        }
    }
}

pub fn secret(text: &str) -> SecretString {
    SecretString::from(text.to_owned())
}

/// An organisation with one person who can sign in with `password`.
pub async fn organisation_with_person(
    store: &Arc<dyn Store>,
    name: &str,
    email: &str,
    password: &str,
) -> (Organisation, Person) {
    let organisation = store
        .create_organisation(name)
        .await
        .expect("organisation is created");
    let person = store
        .create_person(organisation.id, email, "Test Person", &secret(password))
        .await
        .expect("person is created");
    (organisation, person)
}

pub async fn organisation(store: &Arc<dyn Store>, name: &str) -> OrgId {
    store
        .create_organisation(name)
        .await
        .expect("organisation is created")
        .id
}
