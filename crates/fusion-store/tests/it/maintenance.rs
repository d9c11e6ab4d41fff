//! Maintenance: key rotation re-seals every stored secret (organisation and relationship
//! override credentials) on every backend, can be run again after an interruption and changes
//! nothing when a secret cannot be opened; SQLite backup while the store is open, and restore
//! (round trip, refusals: destination exists, not a database, newer schema, database in use).

use std::sync::Arc;

use fusion_domain::VerificationCode;
use fusion_domain::{OrgId, PlatformKind, RelationshipId, Role, VERIFICATION_CODE_LIFETIME};
use fusion_engine::ports::CredentialsUpdate;
use fusion_store::maintenance::{
    MaintenanceError, backup_sqlite, binary_schema_version, inspect_sqlite_database, restore_sqlite,
};
use fusion_store::{DatabaseKind, SecretKey, Store, StoreError};
use secrecy::ExposeSecret;
use time::OffsetDateTime;
use time::macros::datetime;

use crate::harness::{Backend, TestDatabase, for_each_backend, organisation, secret};

const NOW: OffsetDateTime = datetime!(2026-11-27 03:00:00 UTC);

fn credentials(username: &str, api_secret: &str) -> CredentialsUpdate {
    CredentialsUpdate {
        platform: PlatformKind::Autotask,
        api_url: "https://webservices5.autotask.net/".to_owned(),
        username: username.to_owned(),
        secret: Some(secret(api_secret)),
        integration_code_override: None,
    }
}

fn new_code() -> VerificationCode {
    let bytes = [
        uuid::Uuid::new_v4().into_bytes(),
        uuid::Uuid::new_v4().into_bytes(),
    ];
    VerificationCode::from_random_bytes(bytes.into_iter().flatten()).expect("enough random bytes")
}

/// Two organisations with credentials, a relationship between them and one override: three
/// stored secrets.
struct SecretsOnFile {
    contoso: OrgId,
    northwind: OrgId,
    relationship: RelationshipId,
}

async fn store_three_secrets(store: &Arc<dyn Store>) -> SecretsOnFile {
    let contoso = organisation(store, "Contoso").await;
    let northwind = organisation(store, "Northwind IT").await;
    for (org, name) in [(contoso, "contoso"), (northwind, "northwind")] {
        store
            .save_platform_credentials(
                org,
                None,
                credentials(&format!("{name}@example"), &format!("{name}-secret")),
            )
            .await
            .expect("saves credentials");
    }
    let code = new_code();
    store
        .create_relationship(
            contoso,
            Role::Source,
            "Managed services",
            &code,
            NOW,
            NOW + VERIFICATION_CODE_LIFETIME,
        )
        .await
        .expect("creates");
    let relationship = store
        .accept_relationship(northwind, &code, NOW)
        .await
        .expect("the database answers")
        .expect("accepted");
    store
        .save_relationship_credentials(
            relationship.id,
            contoso,
            None,
            credentials("override@example", "override-secret"),
        )
        .await
        .expect("saves the override");
    SecretsOnFile {
        contoso,
        northwind,
        relationship: relationship.id,
    }
}

async fn assert_secrets_readable(store: &Arc<dyn Store>, secrets: &SecretsOnFile) {
    let contoso = store
        .platform_secret(secrets.contoso)
        .await
        .expect("decrypts");
    assert_eq!(contoso.expect("set").expose_secret(), "contoso-secret");
    let northwind = store
        .platform_secret(secrets.northwind)
        .await
        .expect("decrypts");
    assert_eq!(northwind.expect("set").expose_secret(), "northwind-secret");
    let override_secret = store
        .relationship_secret(secrets.relationship, secrets.contoso)
        .await
        .expect("decrypts");
    assert_eq!(
        override_secret.expect("set").expose_secret(),
        "override-secret"
    );
}

#[tokio::test]
async fn rotation_reseals_every_secret_under_the_new_key_only() {
    for_each_backend(async |database: TestDatabase| {
        let (old_key, new_key) = (SecretKey::generate(), SecretKey::generate());
        let store = database.store(&old_key).await;
        let secrets = store_three_secrets(&store).await;

        let count = store.reencrypt_secrets(&new_key).await.expect("rotates");
        assert_eq!(count, 3);
        drop(store);

        let with_new_key = database.store(&new_key).await;
        assert_secrets_readable(&with_new_key, &secrets).await;

        let with_old_key = database.store(&old_key).await;
        assert!(matches!(
            with_old_key.platform_secret(secrets.contoso).await,
            Err(StoreError::Crypto(_))
        ));
        assert!(matches!(
            with_old_key
                .relationship_secret(secrets.relationship, secrets.contoso)
                .await,
            Err(StoreError::Crypto(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn rotation_run_again_with_the_old_key_configured_finishes_the_job() {
    for_each_backend(async |database: TestDatabase| {
        let (old_key, new_key) = (SecretKey::generate(), SecretKey::generate());
        let store = database.store(&old_key).await;
        let secrets = store_three_secrets(&store).await;
        // The first run committed but the new key file was never written: the operator runs
        // `rotate` again with the old key still configured and the pending new key.
        store.reencrypt_secrets(&new_key).await.expect("first run");
        let count = store.reencrypt_secrets(&new_key).await.expect("second run");
        assert_eq!(count, 3);
        assert_secrets_readable(&database.store(&new_key).await, &secrets).await;
    })
    .await;
}

#[tokio::test]
async fn a_secret_neither_key_opens_stops_the_rotation_and_changes_nothing() {
    for_each_backend(async |database: TestDatabase| {
        let (old_key, new_key, lost_key) = (
            SecretKey::generate(),
            SecretKey::generate(),
            SecretKey::generate(),
        );
        let store = database.store(&old_key).await;
        let secrets = store_three_secrets(&store).await;
        drop(store);
        let with_lost_key = database.store(&lost_key).await;
        let orphan = organisation(&with_lost_key, "Fabrikam").await;
        with_lost_key
            .save_platform_credentials(orphan, None, credentials("f@example", "fabrikam-secret"))
            .await
            .expect("saves");
        drop(with_lost_key);

        let store = database.store(&old_key).await;
        let refused = store.reencrypt_secrets(&new_key).await;
        assert!(matches!(refused, Err(StoreError::Crypto(_))), "{refused:?}");
        assert_secrets_readable(&store, &secrets).await;
    })
    .await;
}

#[tokio::test]
async fn an_open_sqlite_database_backs_up_and_restores_with_its_secrets() {
    let source = TestDatabase::fresh(Backend::Sqlite).await;
    let key = SecretKey::generate();
    let store = source.store(&key).await;
    let secrets = store_three_secrets(&store).await;
    let folder = tempfile::tempdir().expect("a temporary folder");
    let backup = folder.path().join("backup.db");

    let version = backup_sqlite(source.sqlite_file.as_deref().expect("file"), &backup, false)
        .await
        .expect("backs up while the store is open");
    assert_eq!(version, binary_schema_version(DatabaseKind::Sqlite));
    assert_eq!(
        inspect_sqlite_database(&backup)
            .await
            .expect("a Fusion database"),
        version
    );
    let again = backup_sqlite(source.sqlite_file.as_deref().expect("file"), &backup, false).await;
    assert!(
        matches!(again, Err(MaintenanceError::DestinationExists { .. })),
        "{again:?}"
    );

    let target = TestDatabase::fresh(Backend::Sqlite).await;
    let target_file = target.sqlite_file.clone().expect("file");
    target.store(&key).await.close().await;
    let outcome = restore_sqlite(&backup, &target_file)
        .await
        .expect("restores");
    assert_eq!(outcome.schema_version, version);
    assert!(outcome.previous.expect("kept").is_file());
    let restored = target.store(&key).await;
    assert_secrets_readable(&restored, &secrets).await;
    let names: Vec<String> = restored
        .organisations()
        .await
        .expect("reads")
        .into_iter()
        .map(|organisation| organisation.name)
        .collect();
    assert!(names.contains(&"Contoso".to_owned()), "{names:?}");
}

#[tokio::test]
async fn restore_refuses_files_that_are_not_fusion_databases_or_are_too_new() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let target = folder.path().join("fusion.db");
    let text_file = folder.path().join("notes.txt");
    std::fs::write(&text_file, "not a database at all, just some text").expect("writes");
    let refused = restore_sqlite(&text_file, &target).await;
    assert!(
        matches!(refused, Err(MaintenanceError::NotAFusionDatabase { .. })),
        "{refused:?}"
    );
    assert!(!target.exists());

    let newer = TestDatabase::fresh(Backend::Sqlite).await;
    drop(newer.store(&SecretKey::generate()).await);
    newer
        .apply_migration_from_the_future(binary_schema_version(DatabaseKind::Sqlite) + 1)
        .await;
    let refused = restore_sqlite(newer.sqlite_file.as_deref().expect("file"), &target).await;
    assert!(
        matches!(
            refused,
            Err(MaintenanceError::Store(StoreError::SchemaTooNew { .. }))
        ),
        "{refused:?}"
    );
    assert!(!target.exists());
}

#[tokio::test]
async fn restore_refuses_a_database_that_is_open() {
    let key = SecretKey::generate();
    let source = TestDatabase::fresh(Backend::Sqlite).await;
    // Closed, not just dropped: closing the pool checkpoints the WAL into the file restore reads
    // (a dropped pool closes in the background, which lost the race under load once).
    source.store(&key).await.close().await;
    let target = TestDatabase::fresh(Backend::Sqlite).await;
    let target_file = target.sqlite_file.clone().expect("file");
    let running = target.store(&key).await;
    let secrets = store_three_secrets(&running).await;

    let refused = restore_sqlite(source.sqlite_file.as_deref().expect("file"), &target_file).await;
    assert!(
        matches!(refused, Err(MaintenanceError::InUse { .. })),
        "{refused:?}"
    );
    assert_secrets_readable(&running, &secrets).await;
}
