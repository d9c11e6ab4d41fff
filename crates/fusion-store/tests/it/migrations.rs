//! Opening a database: creating it, migrating twice, refusing a schema from a newer binary, and
//! refusing database URLs the store does not speak.

use fusion_store::{SecretKey, StoreError, open};

use crate::harness::{Backend, for_each_backend, organisation};

#[tokio::test]
async fn opening_and_migrating_again_keeps_the_schema_and_the_data() {
    for_each_backend(async |database| {
        let key = SecretKey::generate();
        let store = database.store(&key).await;
        let org_id = organisation(&store, "Northwind IT").await;
        store.migrate().await.expect("migrating again is a no-op");
        drop(store);

        let reopened = database.store(&key).await;
        reopened.migrate().await.expect("and again after reopening");
        reopened.ping().await.expect("the database answers");
        let found = reopened.organisation(org_id).await.expect("reads");
        assert_eq!(found.map(|org| org.name).as_deref(), Some("Northwind IT"));
    })
    .await;
}

#[tokio::test]
async fn a_database_migrated_by_a_newer_binary_is_refused() {
    for_each_backend(async |database| {
        let key = SecretKey::generate();
        drop(database.store(&key).await);
        database.apply_migration_from_the_future(9_999).await;

        let error = database
            .open(&key)
            .await
            .expect_err("a newer schema must be refused");
        match &error {
            StoreError::SchemaTooNew { database, binary } => {
                assert_eq!(*database, 9_999);
                assert!(*binary < 9_999);
            }
            other => panic!("expected SchemaTooNew, got {other:?}"),
        }
        assert!(
            error.to_string().contains("upgrade Support Fusion"),
            "{error}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_missing_sqlite_file_is_created_on_open() {
    for_each_backend(async |database| {
        if database.backend != Backend::Sqlite {
            return;
        }
        let file = database.sqlite_file.clone().expect("a SQLite file");
        assert!(!file.exists());
        let store = database.store(&SecretKey::generate()).await;
        store.ping().await.expect("the database answers");
        assert!(file.exists(), "{} was not created", file.display());

        // A missing folder is created too.
        let nested = file.with_file_name("data").join("nested").join("fusion.db");
        let url = format!("sqlite://{}", nested.display());
        let store = fusion_store::open(&url, SecretKey::generate())
            .await
            .expect("opens");
        store.ping().await.expect("the database answers");
        assert!(nested.exists(), "{} was not created", nested.display());
    })
    .await;
}

#[tokio::test]
async fn an_in_memory_sqlite_database_works_for_the_life_of_the_store() {
    let store = fusion_store::open_with_options(
        "sqlite::memory:",
        SecretKey::generate(),
        fusion_store::StoreOptions::for_tests(),
    )
    .await
    .expect("opens");
    let org_id = store
        .create_organisation("In memory")
        .await
        .expect("creates")
        .id;
    // Several reads on a pool: every connection must see the same database.
    for _ in 0..4 {
        assert!(store.organisation(org_id).await.expect("reads").is_some());
    }
}

#[tokio::test]
async fn unsupported_database_urls_are_refused_without_echoing_credentials() {
    for url in ["mysql://fusion:hunter2@db.example/fusion", "fusion.db", ""] {
        let error = open(url, SecretKey::generate())
            .await
            .expect_err("only SQLite and PostgreSQL are supported");
        assert!(
            matches!(error, StoreError::UnsupportedUrl(_)),
            "{url}: {error:?}"
        );
        let message = error.to_string();
        assert!(!message.contains("hunter2"), "{message}");
        assert!(message.contains("sqlite://"), "{message}");
    }
}
