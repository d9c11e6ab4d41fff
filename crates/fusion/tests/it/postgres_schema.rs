//! A private PostgreSQL schema for one test, when `FUSION_TEST_POSTGRES_URL` names a server (CI
//! sets it): the URL handed to `fusion` puts the schema first on the `search_path`, and the
//! schema is dropped again afterwards.

use sqlx::Connection;

pub const POSTGRES_URL_VARIABLE: &str = "FUSION_TEST_POSTGRES_URL";

#[derive(Debug)]
pub struct PostgresSchema {
    admin_url: String,
    schema: String,
    /// The database URL for `fusion --database-url`.
    pub url: String,
}

impl PostgresSchema {
    /// `None` when no PostgreSQL server is configured for tests.
    pub async fn create() -> Option<PostgresSchema> {
        let admin_url = std::env::var(POSTGRES_URL_VARIABLE)
            .ok()
            .filter(|url| !url.trim().is_empty())?;
        let schema = format!("fusion_bin_test_{}", uuid::Uuid::new_v4().simple());
        let mut connection = connect_creating_the_database(&admin_url).await;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&mut connection)
            .await
            .expect("create a test schema");
        let _ = connection.close().await;
        let separator = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{separator}options=-c%20search_path%3D{schema}");
        Some(PostgresSchema {
            admin_url,
            schema,
            url,
        })
    }

    pub async fn drop_schema(self) {
        let mut connection = sqlx::PgConnection::connect(&self.admin_url)
            .await
            .expect("connect to drop the test schema");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA {} CASCADE",
            self.schema
        )))
        .execute(&mut connection)
        .await
        .expect("drop the test schema");
        let _ = connection.close().await;
    }
}

/// Connects, creating the database first when the server does not have it yet (a fresh machine
/// has only `postgres`, and this crate's tests may run before the store's).
async fn connect_creating_the_database(admin_url: &str) -> sqlx::PgConnection {
    let error = match sqlx::PgConnection::connect(admin_url).await {
        Ok(connection) => return connection,
        Err(error) => error,
    };
    let missing_database = matches!(&error, sqlx::Error::Database(database) if database.code().as_deref() == Some("3D000"));
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
    // Another test binary may have created it in the meantime.
    if let Err(sqlx::Error::Database(database)) = &created {
        assert!(
            matches!(database.code().as_deref(), Some("42P04" | "23505")),
            "create the test database: {database}"
        );
    }
    let _ = maintenance.close().await;
    sqlx::PgConnection::connect(admin_url)
        .await
        .expect("connect to the test PostgreSQL server")
}
