//! Zero-downtime key rotation: a store that watches its key file (as `fusion serve` runs) keeps
//! opening every secret while another store handle (as `fusion keys rotate` runs) rotates the
//! key, and seals what it saves afterwards under the new key; nothing is lost, on every backend
//! and for keys from the file or from `FUSION_SECRET_KEY`.

use std::path::Path;
use std::sync::Arc;

use fusion_domain::{OrgId, PlatformKind};
use fusion_engine::ports::CredentialsUpdate;
use fusion_store::crypto::{PENDING_KEY_SUFFIX, PREVIOUS_KEY_SUFFIX, key_file_sibling};
use fusion_store::maintenance::rotate_key_file;
use fusion_store::{KeyRing, SecretKey, Store, StoreError, StoreOptions, open_with_options};
use secrecy::ExposeSecret;

use crate::harness::{TestDatabase, for_each_backend, organisation, secret};

fn credentials(api_secret: &str) -> CredentialsUpdate {
    CredentialsUpdate {
        platform: PlatformKind::Autotask,
        api_url: "https://webservices5.autotask.net/".to_owned(),
        username: "api@example".to_owned(),
        secret: Some(secret(api_secret)),
        integration_code_override: None,
    }
}

async fn open(database: &TestDatabase, key: impl Into<KeyRing>) -> Arc<dyn Store> {
    open_with_options(&database.url, key, StoreOptions::for_tests())
        .await
        .expect("the store opens")
}

/// A new organisation whose API secret is `api_secret`, saved through `store`.
async fn save_secret(store: &Arc<dyn Store>, api_secret: &str) -> OrgId {
    let org = organisation(store, api_secret).await;
    store
        .save_platform_credentials(org, None, credentials(api_secret))
        .await
        .expect("saves credentials");
    org
}

async fn assert_opens(store: &Arc<dyn Store>, secrets: &[(OrgId, &str)]) {
    for (org, expected) in secrets {
        let opened = store
            .platform_secret(*org)
            .await
            .unwrap_or_else(|error| panic!("{expected} does not open: {error}"))
            .expect("set");
        assert_eq!(opened.expose_secret(), *expected);
    }
}

fn key_in(file: &Path) -> SecretKey {
    SecretKey::from_env_or_file(None, file).expect("the key file holds a key")
}

fn write_key(file: &Path, key: &SecretKey) {
    std::fs::write(file, format!("{}\n", key.to_base64().expose_secret())).expect("writes a key");
}

#[tokio::test]
async fn a_running_store_opens_every_secret_during_and_after_a_rotation_and_seals_new_ones_under_the_new_key()
 {
    for_each_backend(async |database: TestDatabase| {
        let folder = tempfile::tempdir().expect("a temporary folder");
        let key_file = folder.path().join("fusion.key");
        let server_ring = KeyRing::watching_key_file(None, &key_file).expect("creates the key");
        let server = open(&database, server_ring.clone()).await;
        let old_key = key_in(&key_file);
        let before = save_secret(&server, "saved-before-rotation").await;

        // Another process rotates. Step by step first: the pending key is written and every
        // secret re-sealed under it, while the key file still holds the old key.
        let rotator = open(
            &database,
            KeyRing::watching_key_file(None, &key_file).expect("reads the key"),
        )
        .await;
        let new_key = SecretKey::generate();
        write_key(&key_file_sibling(&key_file, PENDING_KEY_SUFFIX), &new_key);
        assert_eq!(
            rotator.reencrypt_secrets(&new_key).await.expect("re-seals"),
            1
        );
        assert_opens(&server, &[(before, "saved-before-rotation")]).await;
        // Saved mid-rotation: the key file still holds the old key, so the old key seals it.
        let during = save_secret(&server, "saved-during-rotation").await;

        // The rotation is finished (the interrupted one is resumed with the pending key).
        let rotation = rotate_key_file(rotator.as_ref(), &key_file, &old_key)
            .await
            .expect("rotates");
        assert!(rotation.resumed);
        assert!(rotation.new_key.same_key_as(&new_key));
        assert!(key_in(&key_file).same_key_as(&new_key));
        assert!(key_in(&rotation.previous_key_file).same_key_as(&old_key));
        assert!(!key_file_sibling(&key_file, PENDING_KEY_SUFFIX).exists());

        assert_opens(
            &server,
            &[
                (before, "saved-before-rotation"),
                (during, "saved-during-rotation"),
            ],
        )
        .await;
        let after = save_secret(&server, "saved-after-rotation").await;
        assert!(server_ring.seals_with(&new_key));
        drop((server, rotator));

        // The new key alone opens everything: nothing depends on the old key any more.
        let with_new_key_only = open(&database, new_key.clone()).await;
        assert_opens(
            &with_new_key_only,
            &[
                (before, "saved-before-rotation"),
                (during, "saved-during-rotation"),
                (after, "saved-after-rotation"),
            ],
        )
        .await;
        let with_old_key_only = open(&database, old_key.clone()).await;
        assert!(matches!(
            with_old_key_only.platform_secret(after).await,
            Err(StoreError::Crypto(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn a_secret_sealed_under_the_old_key_after_the_rotation_still_opens_after_a_restart() {
    // A server that sealed a secret under the old key just before it saw the new key file (and
    // after the rotation's last pass): a restarted server still opens it, from the kept
    // `.before-rotate` file.
    let database = TestDatabase::fresh(crate::harness::Backend::Sqlite).await;
    let folder = tempfile::tempdir().expect("a temporary folder");
    let key_file = folder.path().join("fusion.key");
    let old_key = SecretKey::generate();
    write_key(&key_file, &old_key);
    let rotator = open(
        &database,
        KeyRing::watching_key_file(None, &key_file).expect("reads"),
    )
    .await;
    rotate_key_file(rotator.as_ref(), &key_file, &old_key)
        .await
        .expect("rotates");
    let late_server = open(&database, old_key.clone()).await;
    let late = save_secret(&late_server, "sealed-late-under-the-old-key").await;
    drop((late_server, rotator));

    let restarted = open(
        &database,
        KeyRing::watching_key_file(None, &key_file).expect("reads"),
    )
    .await;
    assert_opens(&restarted, &[(late, "sealed-late-under-the-old-key")]).await;
}

#[tokio::test]
async fn a_server_keyed_by_the_environment_follows_a_rotation_away_from_its_key() {
    for_each_backend(async |database: TestDatabase| {
        let folder = tempfile::tempdir().expect("a temporary folder");
        let key_file = folder.path().join("fusion.key");
        let environment_key = SecretKey::generate();
        let encoded = environment_key.to_base64();
        let server_ring = KeyRing::watching_key_file(Some(encoded.expose_secret()), &key_file)
            .expect("takes the environment key");
        assert!(
            !key_file.exists(),
            "no key file is created when FUSION_SECRET_KEY is set"
        );
        let server = open(&database, server_ring.clone()).await;
        let before = save_secret(&server, "saved-before").await;

        let rotator = open(&database, environment_key.clone()).await;
        let rotation = rotate_key_file(rotator.as_ref(), &key_file, &environment_key)
            .await
            .expect("rotates");
        assert!(
            key_in(&key_file_sibling(&key_file, PREVIOUS_KEY_SUFFIX)).same_key_as(&environment_key)
        );

        assert_opens(&server, &[(before, "saved-before")]).await;
        let after = save_secret(&server, "saved-after").await;
        assert!(server_ring.seals_with(&rotation.new_key));
        let with_new_key_only = open(&database, rotation.new_key.clone()).await;
        assert_opens(
            &with_new_key_only,
            &[(before, "saved-before"), (after, "saved-after")],
        )
        .await;
    })
    .await;
}

#[test]
fn a_server_keyed_by_the_environment_does_not_seal_with_an_unrelated_key_file() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let key_file = folder.path().join("fusion.key");
    let environment_key = SecretKey::generate();
    let encoded = environment_key.to_base64();
    let ring = KeyRing::watching_key_file(Some(encoded.expose_secret()), &key_file)
        .expect("takes the environment key");
    // Some other command created a key file of its own: no rotation away from our key.
    write_key(&key_file, &SecretKey::generate());
    assert!(ring.seals_with(&environment_key));
}

#[test]
fn a_pending_key_never_seals_and_a_half_written_one_changes_nothing() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let key_file = folder.path().join("fusion.key");
    let ring = KeyRing::watching_key_file(None, &key_file).expect("creates the key");
    let current = key_in(&key_file);
    let pending = key_file_sibling(&key_file, PENDING_KEY_SUFFIX);
    std::fs::write(&pending, "").expect("an empty pending file");
    assert!(ring.seals_with(&current), "the keys in use stay in use");
    // Completed later: it is learnt for opening, but sealing waits for the key file.
    let new_key = SecretKey::generate();
    write_key(&pending, &new_key);
    assert!(
        ring.seals_with(&current),
        "a pending key opens but never seals"
    );
}
