//! Opening a database: creating it, migrating twice, refusing a schema from a newer binary, and
//! refusing database URLs the store does not speak.

use fusion_store::{SecretKey, StoreError, open};

use fusion_domain::{ChoiceValue, SideConfig};

use crate::harness::{
    Backend, TestDatabase, for_each_backend, organisation, organisation_with_person,
};
use crate::relationships::connected;

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

/// Upgrading to schema version 5 (the privacy rule): a stored reverse sync that sent every company
/// (no company) or another company, and a send filter naming another company, are set to the
/// partner's company, each with an audit entry that says what changed; other configurations and
/// the sync history are untouched.
#[tokio::test]
async fn upgrading_limits_stored_company_filters_to_the_partners_company_with_an_audit_entry() {
    for_each_backend(async |database| {
        let key = SecretKey::generate();
        let store = database.store(&key).await;
        let msp = organisation(&store, "Northwind IT").await;
        let customer = organisation(&store, "Contoso Manufacturing").await;
        let relationship = connected(&store, customer, msp, "Managed services").await;
        let mut every_company = SideConfig::default();
        every_company.receive.company = Some(ChoiceValue::from(501));
        every_company.reverse_sync.enabled = true;
        let mut other_company = SideConfig::default();
        other_company.receive.company = Some(ChoiceValue::from(900));
        other_company.send.partner_company = Some(ChoiceValue::from(901));
        for (org, config) in [(msp, &every_company), (customer, &other_company)] {
            store
                .save_integration_config(relationship.id, org, config)
                .await
                .expect("saves");
        }
        drop(store);
        database.forget_privacy_migration().await;

        let store = database.store(&key).await;
        let msp_config = store
            .integration_config(relationship.id, msp)
            .await
            .expect("reads")
            .expect("kept");
        assert!(msp_config.reverse_sync.enabled, "still on");
        assert_eq!(
            msp_config.reverse_sync.company,
            Some(ChoiceValue::from(501))
        );
        assert_eq!(msp_config.scope_errors(), vec![]);
        let audit = store
            .configuration_audit_log(relationship.id, msp)
            .await
            .expect("reads");
        assert_eq!(audit.len(), 1, "{audit:?}");
        assert!(
            audit[0].change.contains("every company"),
            "{}",
            audit[0].change
        );
        assert!(audit[0].change.contains("501"), "{}", audit[0].change);
        assert_eq!(audit[0].person_id, None, "made by Support Fusion itself");

        let customer_config = store
            .integration_config(relationship.id, customer)
            .await
            .expect("reads")
            .expect("kept");
        assert_eq!(
            customer_config.send.partner_company,
            Some(ChoiceValue::from(900))
        );
        let audit = store
            .configuration_audit_log(relationship.id, customer)
            .await
            .expect("reads");
        assert_eq!(audit.len(), 1, "{audit:?}");
        assert!(audit[0].change.contains("901"), "{}", audit[0].change);
    })
    .await;
}

/// Upgrading an SQLite database to schema version 6: times written by earlier versions with as
/// few fractional digits as needed become fixed-width text, read back as the same times and
/// compared in SQL as text from then on (an expired session of the old form is swept when its
/// person signs in again).
#[tokio::test]
async fn upgrading_sqlite_rewrites_earlier_times_fixed_width() {
    let database = TestDatabase::fresh(Backend::Sqlite).await;
    let key = SecretKey::generate();
    let store = database.store(&key).await;
    let (org, person) =
        organisation_with_person(&store, "Northwind IT", "jane@northwind.example", "pw").await;
    drop(store);
    let person_id = person.id.as_uuid().hyphenated().to_string();
    database
        .run_sqlite(&[
            "UPDATE organisations SET created_at = '2026-11-27T01:43:57.1Z'",
            "UPDATE people SET created_at = '2026-11-27T01:43:58Z'",
            &format!(
                "INSERT INTO sessions (token_digest, person_id, created_at, expires_at) \
                 VALUES (x'00', '{person_id}', '2020-01-01T00:00:00Z', '2020-01-01T00:00:00.5Z')"
            ),
            "DELETE FROM _sqlx_migrations WHERE version = 6",
        ])
        .await;

    let store = database.store(&key).await;
    assert_eq!(
        database
            .sqlite_text("SELECT created_at FROM organisations")
            .await,
        "2026-11-27T01:43:57.100000Z"
    );
    assert_eq!(
        database
            .sqlite_text("SELECT expires_at FROM sessions")
            .await,
        "2020-01-01T00:00:00.500000Z"
    );
    let found = store
        .organisation(org.id)
        .await
        .expect("reads")
        .expect("kept");
    assert_eq!(
        found.created_at,
        time::macros::datetime!(2026-11-27 01:43:57.1 UTC)
    );
    let person = store.person(person.id).await.expect("reads").expect("kept");
    assert_eq!(
        person.created_at,
        time::macros::datetime!(2026-11-27 01:43:58 UTC)
    );
    store
        .create_session(person.id, time::Duration::hours(1))
        .await
        .expect("signs in");
    assert_eq!(
        database
            .sqlite_text("SELECT CAST(COUNT(*) AS TEXT) FROM sessions")
            .await,
        "1",
        "the expired session is gone"
    );
}
