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
            .create_api_token(jane.id, "nightly export", None)
            .await
            .expect("creates")
            .token;
        let second = store
            .create_api_token(jane.id, "nightly export", None)
            .await
            .expect("creates")
            .token;
        let johns = store
            .create_api_token(john.id, "script", None)
            .await
            .expect("creates")
            .token;
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
        let token = store.create_api_token(PersonId::new(), "x", None).await;
        assert!(matches!(token, Err(StoreError::NotFound)), "{token:?}");
    })
    .await;
}

/// Issue 16, finding 4: tokens are listed (label, created, last used, expiry — never the token),
/// stop working when they expire, and stop working at once when revoked; a person can neither
/// see nor revoke another person's tokens.
#[tokio::test]
async fn api_tokens_are_listed_expire_and_are_revoked_at_once() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let (_, jane) =
            organisation_with_person(&store, "Northwind IT", "jane@northwind.example", "pw").await;
        let (_, john) =
            organisation_with_person(&store, "Contoso", "john@contoso.example", "pw").await;
        let in_a_month = OffsetDateTime::now_utc() + Duration::days(30);
        let expiring = store
            .create_api_token(jane.id, "nightly export", Some(in_a_month))
            .await
            .expect("creates");
        let expired = store
            .create_api_token(
                jane.id,
                "old script",
                Some(OffsetDateTime::now_utc() - Duration::seconds(1)),
            )
            .await
            .expect("creates");
        let forever = store
            .create_api_token(jane.id, "monitoring", None)
            .await
            .expect("creates");

        assert!(
            store
                .api_token_person(expired.token.expose_secret())
                .await
                .expect("reads")
                .is_none(),
            "an expired token does not work"
        );
        assert!(
            store
                .api_token_person(expiring.token.expose_secret())
                .await
                .expect("reads")
                .is_some()
        );
        let listed = store.api_tokens_of(jane.id).await.expect("lists");
        assert_eq!(listed.len(), 3);
        let nightly = listed
            .iter()
            .find(|token| token.id == expiring.id)
            .expect("listed");
        assert_eq!(nightly.label, "nightly export");
        assert!(nightly.last_used_at.is_some(), "its use was noted");
        assert_eq!(
            nightly.expires_at.map(|at| at.unix_timestamp()),
            Some(in_a_month.unix_timestamp())
        );
        let monitoring = listed
            .iter()
            .find(|token| token.id == forever.id)
            .expect("listed");
        assert_eq!(monitoring.expires_at, None);
        assert_eq!(monitoring.last_used_at, None);
        assert!(
            store
                .api_tokens_of(john.id)
                .await
                .expect("lists")
                .is_empty()
        );

        // John cannot revoke Jane's token; Jane can, and it stops working at once.
        assert!(matches!(
            store.revoke_api_token(john.id, expiring.id).await,
            Err(StoreError::NotFound)
        ));
        store
            .revoke_api_token(jane.id, expiring.id)
            .await
            .expect("revokes");
        assert!(
            store
                .api_token_person(expiring.token.expose_secret())
                .await
                .expect("reads")
                .is_none()
        );
        assert!(matches!(
            store.revoke_api_token(jane.id, expiring.id).await,
            Err(StoreError::NotFound)
        ));
        assert_eq!(store.api_tokens_of(jane.id).await.expect("lists").len(), 2);
    })
    .await;
}
