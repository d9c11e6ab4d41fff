//! Webhook registrations and the event queue on both databases: the callout key is sealed and
//! follows key rotation, a replayed event is refused, an event is claimed by one claimer only
//! (also when many race), a ticket's burst settles before it is claimed, released events wait
//! for their retry time, and the Dashboard's activity counts what happened.

use std::sync::Arc;

use fusion_domain::sync::TicketId;
use fusion_engine::ports::{WebhookEvent, WebhookEventDone, WebhookRegistration};
use fusion_engine::webhooks::{HookState, WebhookId};
use fusion_store::{SecretKey, Store};
use secrecy::ExposeSecret;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::harness::{for_each_backend, organisation, secret};

fn registration(id: WebhookId, org: fusion_domain::OrgId) -> WebhookRegistration {
    WebhookRegistration {
        id,
        org,
        state: HookState::Active,
        detail: None,
        callout_url: format!("https://sync.example.com/hooks/autotask/{id}"),
        tenant: "https://webservices2.autotask.net key@example.com".into(),
        platform_ids: vec!["11".into(), "12".into()],
        guids: vec!["guid-ticket".into(), "guid-note".into()],
        created_at: datetime!(2026-12-04 10:00 UTC),
        checked_at: Some(datetime!(2026-12-04 10:00 UTC)),
        unhealthy_since: None,
    }
}

fn event(webhook: WebhookId, sequence: i64, ticket: &str, at: OffsetDateTime) -> WebhookEvent {
    WebhookEvent {
        webhook,
        guid: "guid-ticket".into(),
        sequence_number: sequence,
        entity: "Ticket".into(),
        action: "Update".into(),
        ticket: TicketId::new(ticket),
        event_time: at - Duration::milliseconds(300),
        received_at: at,
    }
}

#[tokio::test]
async fn registrations_keep_their_sealed_key_through_updates_and_key_rotation() {
    for_each_backend(async |database| {
        let key = SecretKey::generate();
        let store = database.store(&key).await;
        let org = organisation(&store, "Northwind IT").await;
        let id = WebhookId::new();
        let mut saved = registration(id, org);
        store
            .save_webhook_registration(&saved, Some(&secret("k3y-for-callouts")))
            .await
            .expect("saves");
        assert_eq!(
            store.webhook_registration(id).await.expect("reads"),
            Some(saved.clone())
        );
        // An update without a key keeps the key.
        saved.state = HookState::Inactive;
        saved.detail = Some("deactivated".into());
        saved.unhealthy_since = Some(datetime!(2026-12-04 11:00 UTC));
        store
            .save_webhook_registration(&saved, None)
            .await
            .expect("updates");
        assert_eq!(
            store.webhook_registrations().await.expect("lists"),
            vec![saved.clone()]
        );
        let opened = store
            .webhook_secret(id)
            .await
            .expect("opens")
            .expect("some");
        assert_eq!(opened.expose_secret(), "k3y-for-callouts");

        let new_key = SecretKey::generate();
        store.reencrypt_secrets(&new_key).await.expect("rotates");
        let reopened: Arc<dyn Store> = database.store(&new_key).await;
        assert_eq!(
            reopened
                .webhook_secret(id)
                .await
                .expect("opens under the new key")
                .expect("some")
                .expose_secret(),
            "k3y-for-callouts"
        );
        reopened
            .delete_webhook_registration(id)
            .await
            .expect("deletes");
        assert_eq!(
            reopened.webhook_registration(id).await.expect("reads"),
            None
        );
        assert!(reopened.webhook_secret(id).await.expect("reads").is_none());
    })
    .await;
}

#[tokio::test]
async fn events_are_deduplicated_settle_per_ticket_and_are_claimed_once() {
    for_each_backend(async |database| {
        let key = SecretKey::generate();
        let store = database.store(&key).await;
        let org = organisation(&store, "Northwind IT").await;
        let id = WebhookId::new();
        store
            .save_webhook_registration(&registration(id, org), Some(&secret("k")))
            .await
            .expect("saves");
        let t0 = datetime!(2026-12-04 12:00:00 UTC);
        assert!(
            store
                .record_webhook_event(&event(id, 1, "100", t0))
                .await
                .expect("queues")
        );
        // The same webhook and sequence number again: a replay.
        assert!(
            !store
                .record_webhook_event(&event(id, 1, "100", t0))
                .await
                .expect("answers")
        );
        assert!(
            store
                .record_webhook_event(&event(id, 2, "200", t0))
                .await
                .expect("queues")
        );
        // Ticket 100 is edited again a moment later: it has not settled yet.
        assert!(
            store
                .record_webhook_event(&event(id, 3, "100", t0 + Duration::milliseconds(900)))
                .await
                .expect("queues")
        );

        let now = t0 + Duration::seconds(1);
        let settled_before = now - Duration::milliseconds(750);
        let claimed = store
            .claim_webhook_events(
                settled_before,
                now,
                now + Duration::minutes(5),
                100,
                now - Duration::seconds(10),
            )
            .await
            .expect("claims");
        let tickets: Vec<&str> = claimed.iter().map(|e| e.event.ticket.as_str()).collect();
        assert_eq!(tickets, ["200"], "ticket 100 is still being edited");
        assert_eq!(claimed[0].org, org);
        assert_eq!(
            claimed[0].event.event_time,
            t0 - Duration::milliseconds(300)
        );

        // Once settled, both of ticket 100's events are claimed together — and only once.
        let later = t0 + Duration::seconds(3);
        let claim = || {
            let store = store.clone();
            async move {
                store
                    .claim_webhook_events(
                        later - Duration::milliseconds(750),
                        later,
                        later + Duration::minutes(5),
                        100,
                        later - Duration::seconds(10),
                    )
                    .await
                    .expect("claims")
            }
        };
        let (a, b, c) = tokio::join!(claim(), claim(), claim());
        let mut ids: Vec<i64> = a.iter().chain(&b).chain(&c).map(|e| e.id).collect();
        ids.sort_unstable();
        assert_eq!(ids.len(), 2, "each event goes to one claimer: {ids:?}");
        ids.dedup();
        assert_eq!(ids.len(), 2);

        // Released events wait for their retry time, then come back.
        store
            .release_webhook_events(&ids, later + Duration::seconds(20))
            .await
            .expect("releases");
        assert!(claim().await.is_empty());
        let retry = later + Duration::seconds(21);
        let again = store
            .claim_webhook_events(retry, retry, retry + Duration::minutes(5), 100, retry)
            .await
            .expect("claims");
        assert_eq!(again.len(), 2);

        let done: Vec<WebhookEventDone> = again
            .iter()
            .map(|e| WebhookEventDone {
                id: e.id,
                delay_ms: Some(1500),
            })
            .chain([WebhookEventDone {
                id: claimed[0].id,
                delay_ms: None,
            }])
            .collect();
        store
            .finish_webhook_events(&done, retry)
            .await
            .expect("finishes");
        let activity = store
            .webhook_activity(id, t0 - Duration::hours(1))
            .await
            .expect("reads");
        assert_eq!(activity.events, 3);
        assert_eq!(activity.waiting, 0);
        assert_eq!(activity.delays_ms, vec![1500, 1500]);
        assert_eq!(
            activity.last_event_at,
            Some(t0 + Duration::milliseconds(900))
        );
        assert!(claim().await.is_empty(), "done events are not claimed");

        assert_eq!(
            store
                .delete_webhook_events_before(retry + Duration::seconds(1))
                .await
                .expect("deletes"),
            3
        );
    })
    .await;
}
