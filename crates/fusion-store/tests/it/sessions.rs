//! Sign-in sessions and API tokens: a token names its person while it is valid, and nothing
//! else does.

use fusion_domain::PersonId;
use fusion_store::{SecretKey, StoreError};
use secrecy::ExposeSecret;
use time::{Duration, OffsetDateTime};

use crate::harness::{for_each_backend, organisation_with_person};

#[tokio::test]
async fn a_live_session_token_names_its_person_until_it_is_deleted() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let (_, person) =
            organisation_with_person(&store, "Northwind IT", "jane@northwind.example", "pw").await;
        let before = OffsetDateTime::now_utc();
        let session = store
            .create_session(person.id, Duration::hours(8))
            .await
            .expect("creates");
        assert!(session.expires_at > before + Duration::hours(7));
        assert!(!format!("{session:?}").contains(session.token.expose_secret()));

        let token = session.token.expose_secret();
        assert_eq!(
            store.session_person(token).await.expect("reads"),
            Some(person.clone())
        );
        store.delete_session(token).await.expect("deletes");
        assert_eq!(store.session_person(token).await.expect("reads"), None);
        store
            .delete_session(token)
            .await
            .expect("deleting twice is harmless");
    })
    .await;
}

#[tokio::test]
async fn an_expired_session_names_nobody() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let (_, person) =
            organisation_with_person(&store, "Northwind IT", "jane@northwind.example", "pw").await;
        let expired = store
            .create_session(person.id, Duration::minutes(-1))
            .await
            .expect("creates");
        assert_eq!(
            store
                .session_person(expired.token.expose_secret())
                .await
                .expect("reads"),
            None
        );
        // Other sessions of the same person are unaffected.
        let live = store
            .create_session(person.id, Duration::minutes(5))
            .await
            .expect("creates");
        assert_eq!(
            store
                .session_person(live.token.expose_secret())
                .await
                .expect("reads"),
            Some(person)
        );
    })
    .await;
}

#[tokio::test]
async fn unknown_and_malformed_tokens_name_nobody() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let (_, person) =
            organisation_with_person(&store, "Northwind IT", "jane@northwind.example", "pw").await;
        let session = store
            .create_session(person.id, Duration::hours(1))
            .await
            .expect("creates");
        let token = session.token.expose_secret();
        let truncated = &token[..token.len() - 1];
        for candidate in ["", "not-a-token", truncated, "'; DROP TABLE sessions; --"] {
            assert_eq!(
                store.session_person(candidate).await.expect("reads"),
                None,
                "{candidate:?}"
            );
            assert_eq!(
                store.api_token_person(candidate).await.expect("reads"),
                None,
                "{candidate:?}"
            );
        }
        // A session token is not an API token.
        assert_eq!(store.api_token_person(token).await.expect("reads"), None);
        assert_eq!(
            store.session_person(token).await.expect("reads"),
            Some(person)
        );
    })
    .await;
}

#[tokio::test]
async fn api_tokens_are_distinct_and_name_their_person() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let (_, jane) =
            organisation_with_person(&store, "Northwind IT", "jane@northwind.example", "pw").await;
        let (_, john) =
            organisation_with_person(&store, "Contoso", "john@contoso.example", "pw").await;
        let first = store
            .create_api_token(jane.id, "nightly export")
            .await
            .expect("creates");
        let second = store
            .create_api_token(jane.id, "nightly export")
            .await
            .expect("creates");
        let johns = store
            .create_api_token(john.id, "script")
            .await
            .expect("creates");
        assert_ne!(first.expose_secret(), second.expose_secret());

        assert_eq!(
            store
                .api_token_person(first.expose_secret())
                .await
                .expect("reads"),
            Some(jane.clone())
        );
        assert_eq!(
            store
                .api_token_person(second.expose_secret())
                .await
                .expect("reads"),
            Some(jane)
        );
        assert_eq!(
            store
                .api_token_person(johns.expose_secret())
                .await
                .expect("reads"),
            Some(john)
        );
        // An API token is not a session token.
        assert_eq!(
            store
                .session_person(first.expose_secret())
                .await
                .expect("reads"),
            None
        );
    })
    .await;
}

#[tokio::test]
async fn tokens_for_unknown_people_are_not_issued() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let session = store
            .create_session(PersonId::new(), Duration::hours(1))
            .await;
        assert!(matches!(session, Err(StoreError::NotFound)), "{session:?}");
        let token = store.create_api_token(PersonId::new(), "x").await;
        assert!(matches!(token, Err(StoreError::NotFound)), "{token:?}");
    })
    .await;
}
