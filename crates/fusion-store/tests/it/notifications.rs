//! Notification settings and problems on both databases: settings round-trip, the signing
//! secret is sealed (not stored as text), opens only for its organisation and follows key
//! rotation, and opening/resolving a problem answers `true` exactly once — also when many
//! callers race for it.

use std::collections::BTreeSet;
use std::sync::Arc;

use fusion_engine::notify::EventKind;
use fusion_engine::ports::NotificationSettingsRecord;
use fusion_store::{SecretKey, Store, StoreError};
use secrecy::ExposeSecret;
use time::macros::datetime;

use crate::harness::{for_each_backend, organisation, secret};

fn record(webhook: Option<&str>) -> NotificationSettingsRecord {
    NotificationSettingsRecord {
        email_recipients: vec![
            "ops@northwind.example".into(),
            "lead@northwind.example".into(),
        ],
        webhook_url: webhook.map(str::to_owned),
        events: [EventKind::RunFailed, EventKind::ApiBudget]
            .into_iter()
            .collect(),
    }
}

#[tokio::test]
async fn settings_round_trip_and_the_signing_secret_opens_only_for_its_organisation() {
    for_each_backend(async |database| {
        let key = SecretKey::generate();
        let store = database.store(&key).await;
        let org = organisation(&store, "Northwind IT").await;
        let other = organisation(&store, "Contoso").await;
        assert_eq!(store.notification_settings(org).await.expect("reads"), None);
        let now = datetime!(2026-12-04 10:00:00.123456 UTC);

        store
            .save_notification_settings(org, &record(Some("https://hooks.example.com/x")), now)
            .await
            .expect("saves");
        let saved = store
            .notification_settings(org)
            .await
            .expect("reads")
            .expect("some");
        assert_eq!(saved.email_recipients, record(None).email_recipients);
        assert_eq!(
            saved.webhook_url.as_deref(),
            Some("https://hooks.example.com/x")
        );
        assert_eq!(
            saved.events,
            BTreeSet::from([EventKind::RunFailed, EventKind::ApiBudget])
        );
        assert_eq!(saved.updated_at, now);
        assert_eq!(saved.signing_secret_created_at, None);
        assert!(
            store
                .webhook_signing_secret(org)
                .await
                .expect("reads")
                .is_none()
        );

        // No settings row yet: the secret has nowhere to go.
        assert!(matches!(
            store
                .save_webhook_signing_secret(other, &secret("whsec_other"), now)
                .await,
            Err(StoreError::NotFound)
        ));
        store
            .save_webhook_signing_secret(org, &secret("whsec_0123abcd"), now)
            .await
            .expect("seals");
        assert_eq!(
            store
                .webhook_signing_secret(org)
                .await
                .expect("opens")
                .expect("some")
                .expose_secret(),
            "whsec_0123abcd"
        );
        assert_eq!(
            store
                .notification_settings(org)
                .await
                .expect("reads")
                .expect("some")
                .signing_secret_created_at,
            Some(now)
        );

        // Saving the settings again keeps the secret; clearing the webhook keeps it too.
        store
            .save_notification_settings(org, &record(None), now)
            .await
            .expect("saves");
        assert!(
            store
                .webhook_signing_secret(org)
                .await
                .expect("reads")
                .is_some()
        );
        assert_eq!(
            store.notification_settings(other).await.expect("reads"),
            None,
            "another organisation sees nothing"
        );

        // Rotating the store key re-seals the signing secret; it still opens.
        let new_key = SecretKey::generate();
        store.reencrypt_secrets(&new_key).await.expect("rotates");
        let reopened: Arc<dyn Store> = database.store(&new_key).await;
        assert_eq!(
            reopened
                .webhook_signing_secret(org)
                .await
                .expect("opens under the new key")
                .expect("some")
                .expose_secret(),
            "whsec_0123abcd"
        );
    })
    .await;
}

#[tokio::test]
async fn a_problem_opens_once_until_resolved_and_resolves_once() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let org = organisation(&store, "Northwind IT").await;
        let other = organisation(&store, "Contoso").await;
        let t0 = datetime!(2026-12-04 10:00:00 UTC);
        let t1 = datetime!(2026-12-04 10:05:00 UTC);
        let key = "run_failed:abc";
        let open = |org, at| {
            let store = store.clone();
            async move {
                store
                    .open_notification_problem(
                        org,
                        key,
                        EventKind::RunFailed,
                        "authentication failed",
                        at,
                    )
                    .await
                    .expect("opens")
            }
        };
        assert!(open(org, t0).await, "new problem: send");
        assert!(!open(org, t1).await, "still open: do not send again");
        assert!(open(other, t1).await, "each organisation has its own");
        let problems = store.open_notification_problems(org).await.expect("lists");
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].opened_at, t0);
        assert_eq!(problems[0].last_seen_at, t1);
        assert_eq!(problems[0].summary, "authentication failed");

        assert!(
            store
                .resolve_notification_problem(org, key, t1)
                .await
                .expect("resolves")
        );
        assert!(
            !store
                .resolve_notification_problem(org, key, t1)
                .await
                .expect("resolves")
        );
        assert!(
            !store
                .resolve_notification_problem(org, "never-opened", t1)
                .await
                .expect("resolves")
        );
        assert!(
            store
                .open_notification_problems(org)
                .await
                .expect("lists")
                .is_empty()
        );
        assert!(open(org, t1).await, "resolved and back: a new notification");
    })
    .await;
}

#[tokio::test]
async fn of_many_callers_opening_the_same_problem_exactly_one_is_told_to_send() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let org = organisation(&store, "Northwind IT").await;
        let now = datetime!(2026-12-04 10:00:00 UTC);
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .open_notification_problem(
                        org,
                        "not_synced:x",
                        EventKind::NotSynced,
                        "late",
                        now,
                    )
                    .await
            }));
        }
        let mut opened = 0;
        for task in tasks {
            if task.await.expect("task").expect("opens") {
                opened += 1;
            }
        }
        assert_eq!(opened, 1);
    })
    .await;
}
