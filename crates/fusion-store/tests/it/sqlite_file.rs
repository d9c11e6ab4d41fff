//! SQLite seen from its files: the API secret, passwords and tokens never reach them in plain
//! text (write-ahead log included), and expired sessions do not pile up.

use fusion_domain::PlatformKind;
use fusion_engine::ports::CredentialsUpdate;
use fusion_store::SecretKey;
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
        .create_api_token(person.id, "script", None)
        .await
        .expect("creates")
        .token;

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

#[tokio::test]
async fn expired_sessions_are_removed_when_their_person_signs_in_again() {
    let database = TestDatabase::fresh(Backend::Sqlite).await;
    let store = database.store(&SecretKey::generate()).await;
    let (_, person) =
        organisation_with_person(&store, "Northwind IT", "jane@northwind.example", "pw").await;
    store
        .create_session(person.id, Duration::minutes(-1))
        .await
        .expect("creates");
    let pool = sqlx::SqlitePool::connect(&database.url)
        .await
        .expect("connects");
    let count = async || -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
            .fetch_one(&pool)
            .await
            .expect("counts")
    };
    assert_eq!(count().await, 1, "the expired session is stored");
    let live = store
        .create_session(person.id, Duration::hours(1))
        .await
        .expect("creates");
    assert_eq!(count().await, 1, "only the live session remains");
    assert!(
        store
            .session_person(live.token.expose_secret())
            .await
            .expect("reads")
            .is_some()
    );
}

/// Issue 16, finding 5: the database files hold password hashes and sealed secrets, so they are
/// created readable by this user only, in a folder only this user may enter; a database left
/// world-readable by an older version is narrowed when opened.
#[cfg(unix)]
#[tokio::test]
async fn the_database_folder_is_created_0700_and_its_files_0600() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    let directory = tempfile::tempdir().expect("a temporary directory");
    let folder = directory.path().join("data").join("fusion");
    let database_file = folder.join("fusion.db");
    let url = format!("sqlite://{}", database_file.display());
    let store = fusion_store::open(&url, SecretKey::generate())
        .await
        .expect("a fresh database opens");
    store
        .create_organisation("Contoso")
        .await
        .expect("a write reaches the WAL");
    assert_eq!(mode(&folder), 0o700);
    assert_eq!(mode(&database_file), 0o600);
    assert_eq!(mode(&folder.join("fusion.db-wal")), 0o600);
    store.close().await;

    // An existing world-readable database is narrowed on the next start.
    std::fs::set_permissions(&database_file, std::fs::Permissions::from_mode(0o644))
        .expect("chmod");
    let store = fusion_store::open(&url, SecretKey::generate())
        .await
        .expect("reopens");
    assert_eq!(mode(&database_file), 0o600);
    store.close().await;
}
