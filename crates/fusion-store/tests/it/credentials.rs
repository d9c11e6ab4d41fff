//! Platform credentials: the secret is write-only, encrypted, kept when not re-entered, readable
//! only through `platform_secret` (or, with the rest of the credentials, through the core's
//! `OrganisationCredentials` port) with the right key, and every change is audited by field name.

use std::sync::Arc;

use fusion_domain::{OrgId, PersonId, PlatformKind};
use fusion_engine::ports::CredentialsUpdate;
use fusion_store::{SecretKey, Store, StoreError};
use secrecy::{ExposeSecret, SecretString};

use crate::harness::{for_each_backend, organisation, organisation_with_person, secret};

const API_URL: &str = "https://webservices2.autotask.net/";
const USERNAME: &str = "7QKXG2MZ4HPWLRB@NORTHWINDIT.EXAMPLE";
const API_SECRET: &str = "Zx9$kP2#mQ7!wR4&";

fn update(api_url: &str, username: &str, api_secret: Option<&str>) -> CredentialsUpdate {
    CredentialsUpdate {
        platform: PlatformKind::Autotask,
        api_url: api_url.to_owned(),
        username: username.to_owned(),
        secret: api_secret.map(secret),
        integration_code_override: None,
    }
}

async fn stored_secret(store: &Arc<dyn Store>, org_id: OrgId) -> Option<String> {
    store
        .platform_secret(org_id)
        .await
        .expect("decrypts")
        .map(|secret: SecretString| secret.expose_secret().to_owned())
}

async fn audited_fields(store: &Arc<dyn Store>, org_id: OrgId) -> Vec<String> {
    let mut fields: Vec<String> = store
        .credentials_audit_log(org_id)
        .await
        .expect("reads the audit log")
        .into_iter()
        .map(|entry| entry.field)
        .collect();
    fields.sort();
    fields
}

#[tokio::test]
async fn saved_credentials_show_the_secret_only_as_set_and_when() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let org_id = organisation(&store, "Northwind IT").await;
        assert_eq!(
            store.platform_credentials(org_id).await.expect("reads"),
            None
        );
        assert_eq!(
            store
                .platform_secret(org_id)
                .await
                .expect("reads")
                .map(|_| ()),
            None
        );

        let saved = store
            .save_platform_credentials(org_id, None, update(API_URL, USERNAME, Some(API_SECRET)))
            .await
            .expect("saves");
        assert_eq!(saved.org_id, org_id);
        assert_eq!(saved.platform, PlatformKind::Autotask);
        assert_eq!(saved.api_url, API_URL);
        assert_eq!(saved.username, USERNAME);
        assert!(saved.secret_set);
        assert_eq!(saved.secret_changed_at, Some(saved.updated_at));
        assert_eq!(saved.integration_code_override, None);
        assert!(!format!("{saved:?}").contains(API_SECRET));

        let read = store.platform_credentials(org_id).await.expect("reads");
        assert_eq!(read.as_ref(), Some(&saved));
        assert_eq!(
            stored_secret(&store, org_id).await.as_deref(),
            Some(API_SECRET)
        );
        let organisation = store
            .organisation(org_id)
            .await
            .expect("reads")
            .expect("exists");
        assert_eq!(organisation.platform, Some(PlatformKind::Autotask));
    })
    .await;
}

#[tokio::test]
async fn saving_without_a_secret_keeps_the_stored_secret_and_its_date() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let org_id = organisation(&store, "Northwind IT").await;
        let first = store
            .save_platform_credentials(org_id, None, update(API_URL, USERNAME, Some(API_SECRET)))
            .await
            .expect("saves");
        for kept in [None, Some("")] {
            let second = store
                .save_platform_credentials(
                    org_id,
                    None,
                    update("https://webservices5.autotask.net/", USERNAME, kept),
                )
                .await
                .expect("saves");
            assert!(second.secret_set);
            assert_eq!(second.secret_changed_at, first.secret_changed_at);
            assert_eq!(second.api_url, "https://webservices5.autotask.net/");
            assert_eq!(
                stored_secret(&store, org_id).await.as_deref(),
                Some(API_SECRET)
            );
        }
    })
    .await;
}

#[tokio::test]
async fn a_new_secret_replaces_the_old_one_and_moves_its_date() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let org_id = organisation(&store, "Northwind IT").await;
        let first = store
            .save_platform_credentials(org_id, None, update(API_URL, USERNAME, Some(API_SECRET)))
            .await
            .expect("saves");
        let second = store
            .save_platform_credentials(
                org_id,
                None,
                update(API_URL, USERNAME, Some("regenerated-secret")),
            )
            .await
            .expect("saves");
        assert!(second.secret_changed_at > first.secret_changed_at);
        assert_eq!(
            stored_secret(&store, org_id).await.as_deref(),
            Some("regenerated-secret")
        );
    })
    .await;
}

#[tokio::test]
async fn re_entering_the_same_secret_is_not_a_change() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let org_id = organisation(&store, "Northwind IT").await;
        let first = store
            .save_platform_credentials(org_id, None, update(API_URL, USERNAME, Some(API_SECRET)))
            .await
            .expect("saves");
        let again = store
            .save_platform_credentials(org_id, None, update(API_URL, USERNAME, Some(API_SECRET)))
            .await
            .expect("saves");
        assert_eq!(again.secret_changed_at, first.secret_changed_at);
        assert_eq!(
            audited_fields(&store, org_id).await,
            ["api_secret", "api_url", "platform", "username"]
        );
    })
    .await;
}

#[tokio::test]
async fn another_key_cannot_decrypt_the_secret_and_says_which_key_to_check() {
    for_each_backend(async |database| {
        let original_key = SecretKey::generate();
        let store = database.store(&original_key).await;
        let org_id = organisation(&store, "Northwind IT").await;
        store
            .save_platform_credentials(org_id, None, update(API_URL, USERNAME, Some(API_SECRET)))
            .await
            .expect("saves");
        drop(store);

        let other_key = SecretKey::generate();
        let store = database.store(&other_key).await;
        let error = store
            .platform_secret(org_id)
            .await
            .expect_err("a different key must not decrypt");
        assert!(matches!(error, StoreError::Crypto(_)), "{error:?}");
        let message = error.to_string();
        assert!(message.contains("does not match"), "{message}");
        assert!(
            message.contains("FUSION_SECRET_KEY") && message.contains("key file"),
            "{message}"
        );
        assert!(!message.contains(API_SECRET), "{message}");
        // Reading the non-secret fields still works.
        let read = store
            .platform_credentials(org_id)
            .await
            .expect("reads")
            .expect("exists");
        assert!(read.secret_set);

        // Entering the secret again stores it under the current key.
        store
            .save_platform_credentials(org_id, None, update(API_URL, USERNAME, Some(API_SECRET)))
            .await
            .expect("saves");
        assert_eq!(
            stored_secret(&store, org_id).await.as_deref(),
            Some(API_SECRET)
        );
    })
    .await;
}

#[tokio::test]
async fn audit_entries_name_each_changed_field_once_and_never_a_value() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let (org, person) =
            organisation_with_person(&store, "Northwind IT", "jane@northwind.example", "pw").await;
        let org_id = org.id;
        store
            .save_platform_credentials(
                org_id,
                Some(person.id),
                update(API_URL, USERNAME, Some(API_SECRET)),
            )
            .await
            .expect("first save");
        let first_save = audited_fields(&store, org_id).await;
        assert_eq!(
            first_save,
            ["api_secret", "api_url", "platform", "username"]
        );

        // Nothing changed: nothing audited.
        store
            .save_platform_credentials(org_id, Some(person.id), update(API_URL, USERNAME, None))
            .await
            .expect("unchanged save");
        assert_eq!(audited_fields(&store, org_id).await.len(), 4);

        // Only the username changes.
        store
            .save_platform_credentials(
                org_id,
                Some(person.id),
                update(API_URL, "OTHERKEY@NORTHWINDIT.EXAMPLE", None),
            )
            .await
            .expect("username save");
        // The override is set, then cleared.
        let mut with_override = update(API_URL, "OTHERKEY@NORTHWINDIT.EXAMPLE", None);
        with_override.integration_code_override = Some(Some("OVERRIDECODE42".to_owned()));
        let saved = store
            .save_platform_credentials(org_id, None, with_override)
            .await
            .expect("override save");
        assert_eq!(
            saved.integration_code_override.as_deref(),
            Some("OVERRIDECODE42")
        );
        let mut cleared = update(API_URL, "OTHERKEY@NORTHWINDIT.EXAMPLE", None);
        cleared.integration_code_override = Some(None);
        let saved = store
            .save_platform_credentials(org_id, None, cleared)
            .await
            .expect("clear save");
        assert_eq!(saved.integration_code_override, None);

        let log = store.credentials_audit_log(org_id).await.expect("reads");
        let mut fields: Vec<&str> = log.iter().map(|entry| entry.field.as_str()).collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            [
                "api_secret",
                "api_url",
                "integration_code_override",
                "integration_code_override",
                "platform",
                "username",
                "username"
            ]
        );
        // Newest first, each entry naming who made it.
        assert!(
            log.windows(2)
                .all(|pair| pair[0].changed_at >= pair[1].changed_at)
        );
        assert_eq!(log[0].field, "integration_code_override");
        assert_eq!(log[0].person_id, None);
        assert_eq!(
            log.last().map(|entry| entry.person_id),
            Some(Some(person.id))
        );
        assert!(log.iter().all(|entry| entry.org_id == org_id));

        let printed = format!("{log:?}");
        for value in [API_SECRET, USERNAME, "OTHERKEY", API_URL, "OVERRIDECODE42"] {
            assert!(
                !printed.contains(value),
                "the audit log shows {value:?}: {printed}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn credentials_for_an_unknown_organisation_are_not_found() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let error = store
            .save_platform_credentials(
                OrgId::new(),
                None,
                update(API_URL, USERNAME, Some(API_SECRET)),
            )
            .await
            .expect_err("no such organisation");
        assert!(matches!(error, StoreError::NotFound), "{error:?}");
        let org_id = organisation(&store, "Northwind IT").await;
        let unknown_person = store
            .save_platform_credentials(
                org_id,
                Some(PersonId::new()),
                update(API_URL, USERNAME, Some(API_SECRET)),
            )
            .await
            .expect_err("no such person");
        assert!(
            matches!(unknown_person, StoreError::NotFound),
            "{unknown_person:?}"
        );
        assert_eq!(
            store.platform_credentials(org_id).await.expect("reads"),
            None
        );
    })
    .await;
}

#[tokio::test]
async fn the_tenant_credentials_are_there_only_once_settings_and_secret_are_saved() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let org_id = organisation(&store, "Northwind IT").await;
        let tenant = async |store: &Arc<dyn Store>| {
            store
                .organisation_tenant_credentials(org_id)
                .await
                .expect("reads")
        };
        assert!(tenant(&store).await.is_none());
        store
            .save_platform_credentials(org_id, None, update(API_URL, USERNAME, None))
            .await
            .expect("saves without a secret");
        assert!(tenant(&store).await.is_none(), "no secret yet");
        let mut with_code = update(API_URL, USERNAME, Some(API_SECRET));
        with_code.integration_code_override = Some(Some("CODE-1".to_owned()));
        store
            .save_platform_credentials(org_id, None, with_code)
            .await
            .expect("saves");
        let credentials = tenant(&store).await.expect("complete now");
        assert_eq!(credentials.api_url, API_URL);
        assert_eq!(credentials.username, USERNAME);
        assert_eq!(credentials.secret.expose_secret(), API_SECRET);
        assert_eq!(credentials.integration_code.as_deref(), Some("CODE-1"));
        let other = organisation(&store, "Contoso").await;
        assert!(
            store
                .organisation_tenant_credentials(other)
                .await
                .expect("reads")
                .is_none()
        );
    })
    .await;
}

#[tokio::test]
async fn concurrent_saves_for_one_organisation_each_land_and_are_each_audited() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let org_id = organisation(&store, "Northwind IT").await;
        let saves = (0..8).map(|n| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .save_platform_credentials(
                        org_id,
                        None,
                        update(API_URL, &format!("USER{n}@X.EXAMPLE"), None),
                    )
                    .await
            })
        });
        for save in saves.collect::<Vec<_>>() {
            save.await
                .expect("the task ran")
                .expect("every save succeeds");
        }
        let fields = audited_fields(&store, org_id).await;
        assert_eq!(
            fields.iter().filter(|field| *field == "username").count(),
            8,
            "{fields:?}"
        );
        assert_eq!(
            fields.iter().filter(|field| *field == "api_url").count(),
            1,
            "{fields:?}"
        );
    })
    .await;
}
