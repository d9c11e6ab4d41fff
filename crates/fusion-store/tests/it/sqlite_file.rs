//! What reaches the SQLite files on disk: never the API secret, a password or a token in plain
//! text — including the write-ahead log.

use fusion_domain::PlatformKind;
use fusion_store::{CredentialsUpdate, SecretKey};
use secrecy::ExposeSecret;
use time::Duration;

use crate::harness::{Backend, TestDatabase, organisation_with_person, secret};

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

#[tokio::test]
async fn plaintext_secrets_never_reach_the_sqlite_files() {
    let database = TestDatabase::fresh(Backend::Sqlite).await;
    let api_secret = "PLAINTEXT-API-SECRET-7c1f9e";
    let password = "PLAINTEXT-PASSWORD-b83d21";
    let store = database.store(&SecretKey::generate()).await;
    let (org, person) =
        organisation_with_person(&store, "Northwind IT", "jane@northwind.example", password).await;
    store
        .save_platform_credentials(
            org.id,
            Some(person.id),
            CredentialsUpdate {
                platform: PlatformKind::Autotask,
                api_url: "https://webservices2.autotask.net/".to_owned(),
                username: "VISIBLE-USERNAME@NORTHWINDIT.EXAMPLE".to_owned(),
                secret: Some(secret(api_secret)),
                integration_code_override: None,
            },
        )
        .await
        .expect("saves");
    let session = store
        .create_session(person.id, Duration::hours(1))
        .await
        .expect("creates");
    let api_token = store
        .create_api_token(person.id, "script")
        .await
        .expect("creates");

    // While the store is open the data sits in the WAL; after closing it is checkpointed.
    let while_open = database.sqlite_file_bytes();
    assert!(
        contains(&while_open, "VISIBLE-USERNAME@NORTHWINDIT.EXAMPLE"),
        "the scan must see the saved row, or it proves nothing"
    );
    drop(store);
    let after_close = database.sqlite_file_bytes();
    for bytes in [&while_open, &after_close] {
        for plaintext in [
            api_secret,
            password,
            session.token.expose_secret(),
            api_token.expose_secret(),
        ] {
            assert!(
                !contains(bytes, plaintext),
                "{plaintext:?} found in the database files"
            );
        }
    }
}
