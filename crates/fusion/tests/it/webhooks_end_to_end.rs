//! Webhook-driven sync end to end, against the Autotask simulator's real callouts, the product's
//! own receiver route served on loopback, a real SQLite store and the runtime's keeper and
//! dispatcher loops:
//!
//! - a change on either side reaches the other in seconds, through a "Webhook" run, with no
//!   sweep;
//! - callouts that are not ours (unknown id, no or wrong signature) get one and the same 401, a
//!   replay queues nothing, an oversized body is refused, a flood for one ticket is coalesced, and
//!   a ticket outside the connection's companies is neither synced nor named anywhere;
//! - deactivated webhooks put the connection back on its own polling interval until they are
//!   re-activated; without the permission the connection simply polls;
//! - changes Autotask could not deliver while the server was down are noticed in its error log
//!   and recovered by the safety-net sweep.

use std::sync::Arc;
use std::time::Duration;

use fusion_autotask::Credentials;
use fusion_autotask_sim::EntityKind;
use fusion_domain::sync::{RunStatus, RunTrigger, SyncSchedule};
use fusion_domain::{Clock, OrgId, SystemClock};
use fusion_engine::ports::{AppStore, RunFilter, WebhookRegistration};
use fusion_engine::webhooks::{
    HookState, PollingPolicy, WebhookHealth, WebhookService, WebhookSettings,
};
use fusion_engine::{SyncDirectory, SyncService};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::scheduler::{SchedulerSettings, SyncRuntime, sync_service_with, webhook_service};
use crate::sync_end_to_end::{Harness, active_user, tenant};

const CONTOSO: &str = crate::demo_connection::SOURCE_ORGANISATION;
const NORTHWIND: &str = crate::demo_connection::TARGET_ORGANISATION;
const CONTOSO_PERSON: &str = "alex.morgan@contoso.example";
const NORTHWIND_TECHNICIAN: &str = "jane.doe@northwindit.example";

/// How long a change may take to arrive before a test gives up (the goal is seconds).
const ARRIVAL: Duration = Duration::from_secs(30);

struct Hooked {
    harness: Harness,
    webhooks: WebhookService,
    sync: SyncService,
    health: Arc<WebhookHealth>,
    base: String,
    runtime: Option<SyncRuntime>,
    server: tokio::task::JoinHandle<()>,
}

impl Hooked {
    /// The demo connection after its first sync, on automatic sync every 5 minutes, with the
    /// receiver served and — when `loops` — the keeper and dispatcher running.
    async fn start(loops: bool) -> Hooked {
        Hooked::start_on(Harness::demo().await, loops).await
    }

    async fn start_on(harness: Harness, loops: bool) -> Hooked {
        // The baseline (nothing new since the test began).
        assert!(harness.manual_run().await.error.is_none());
        harness
            .store
            .set_sync_schedule(
                harness.relationship,
                &SyncSchedule::new(true, time::Duration::minutes(5)).expect("a valid schedule"),
                SystemClock.now(),
            )
            .await
            .expect("automatic sync is switched on");
        // The demo carries time entries, which no webhook announces (such a connection keeps its
        // own interval): these tests carry tickets and notes only.
        for org in [
            harness.organisation(CONTOSO).await,
            harness.organisation(NORTHWIND).await,
        ] {
            let mut config = harness
                .store
                .integration_config(harness.relationship, org)
                .await
                .expect("reads")
                .expect("configured");
            config.time_entries.arrive_as = fusion_domain::TimeArrival::Off;
            harness
                .store
                .save_integration_config(harness.relationship, org, &config)
                .await
                .expect("saves");
        }
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("listens");
        let base = format!("http://{}", listener.local_addr().expect("an address"));
        let health = Arc::new(WebhookHealth::default());
        let sync = sync_service_with(
            harness.store.clone(),
            harness.autotask.clone(),
            fusion_engine::EngineSettings::default(),
            None,
        )
        .with_polling(health.clone());
        let webhooks = webhook_service(
            harness.store.clone(),
            harness.autotask.clone(),
            sync.clone(),
            WebhookSettings::on(base.clone()),
            health.clone(),
        );
        let app_store: Arc<dyn AppStore> = harness.store.clone();
        let state = fusion_web::AppState::new(
            app_store,
            Arc::new(fusion_autotask::AutotaskTenants::new(
                fusion_autotask::ConnectionTester::with_service(harness.autotask.clone()),
                Arc::new(SystemClock),
            )),
            fusion_web::WebSettings::default(),
        )
        .with_webhooks(webhooks.clone());
        let server = tokio::spawn(async move {
            let _ = fusion_web::serve(
                listener,
                fusion_web::router(state),
                std::future::pending::<()>(),
            )
            .await;
        });
        let runtime = loops.then(|| {
            SyncRuntime::start(
                sync.clone(),
                harness.store.clone(),
                SchedulerSettings {
                    tick: Duration::from_secs(2),
                    ..SchedulerSettings::default()
                },
                Some(webhooks.clone()),
            )
        });
        Hooked {
            harness,
            webhooks,
            sync,
            health,
            base,
            runtime,
            server,
        }
    }

    async fn org(&self, name: &str) -> OrgId {
        self.harness.organisation(name).await
    }

    /// The organisation's webhook registration, if it has one.
    async fn registration_of(&self, org: OrgId) -> Option<WebhookRegistration> {
        self.harness
            .store
            .webhook_registrations()
            .await
            .expect("registrations")
            .into_iter()
            .find(|registration| registration.org == org)
    }

    async fn registration_state(&self, name: &str) -> Option<HookState> {
        let org = self.org(name).await;
        self.registration_of(org)
            .await
            .map(|registration| registration.state)
    }

    async fn wait_for_state(&self, name: &str, state: HookState) {
        let deadline = tokio::time::Instant::now() + ARRIVAL;
        while self.registration_state(name).await != Some(state) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{name}'s webhooks never became {state:?}: {:?}",
                self.registration_state(name).await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn scheduled(&self) -> fusion_engine::ScheduledRelationship {
        self.harness
            .directory
            .automatic_relationships()
            .await
            .expect("relationships")
            .into_iter()
            .find(|scheduled| scheduled.relationship == self.harness.relationship)
            .expect("the connection is on automatic sync")
    }

    async fn runs(&self) -> Vec<fusion_domain::sync::SyncRun> {
        self.harness
            .store
            .sync_runs(&RunFilter {
                relationship: Some(self.harness.relationship),
                status: None,
                started_from: None,
                started_before: None,
                limit: 1000,
            })
            .await
            .expect("runs")
    }

    /// A client of `tenant`'s Autotask as its API user (what a person does in Autotask's UI).
    fn client(&self, tenant_name: &str) -> fusion_autotask::AutotaskClient {
        let tenants = self.harness.simulator().tenants();
        let (username, secret) = active_user(tenant(&tenants, tenant_name));
        self.harness
            .autotask
            .client(Credentials::new(username, secret.into()))
    }

    /// A callout body as Autotask sends it, signed with `org`'s key.
    async fn signed(&self, org: OrgId, body: &Value) -> (String, Vec<u8>, String) {
        let registration = self.registration_of(org).await.expect("a registration");
        let key = self
            .harness
            .store
            .webhook_secret(registration.id)
            .await
            .expect("reads")
            .expect("a key");
        let bytes = serde_json::to_vec(body).expect("serialises");
        let signature = fusion_autotask::webhook_signature::sign(key.expose_secret(), &bytes);
        (
            format!("{}/hooks/autotask/{}", self.base, registration.id),
            bytes,
            signature,
        )
    }

    async fn stop(self) {
        if let Some(runtime) = self.runtime {
            runtime.shut_down().await;
        }
        self.server.abort();
    }
}

async fn post(url: &str, body: Vec<u8>, signature: Option<&str>) -> (u16, String) {
    let mut request = crate::process::client()
        .post(url)
        .header("content-type", "application/json; charset=utf-8")
        .body(body);
    if let Some(signature) = signature {
        request = request.header("X-Hook-Signature", signature);
    }
    let response = request.send().await.expect("the receiver answers");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

async fn eventually<T>(what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + ARRIVAL;
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} did not happen in time"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_change_on_either_side_arrives_in_seconds_through_a_webhook_run() {
    let hooked = Hooked::start(true).await;
    hooked.wait_for_state(CONTOSO, HookState::Active).await;
    hooked.wait_for_state(NORTHWIND, HookState::Active).await;
    let sweep = hooked
        .harness
        .store
        .last_sweep_started(hooked.harness.relationship)
        .await
        .expect("reads");
    // Healthy webhooks on both sides: the connection polls only at the safety interval.
    assert_eq!(
        hooked.health.interval(&hooked.scheduled().await),
        time::Duration::minutes(30)
    );

    let raised = hooked
        .harness
        .raise_in_contoso("Scanner offline in dispatch");
    let copy = eventually("the copy in Northwind", async || {
        hooked
            .harness
            .copies_in_northwind(raised)
            .into_iter()
            .next()
    })
    .await;
    let copy_id = copy["id"].as_i64().expect("an id");

    // The technician answers on the copy; the customer sees it.
    hooked
        .harness
        .simulator()
        .ui_add_note(
            NORTHWIND,
            NORTHWIND_TECHNICIAN,
            copy_id,
            json!({"title": "On it", "description": "Replacing the scanner's cable now.", "noteType": 1, "publish": 1}),
        )
        .expect("a note in Northwind");
    eventually("the note in Contoso", async || {
        hooked
            .harness
            .notes(CONTOSO, raised)
            .into_iter()
            .find(|note| {
                note["description"]
                    .as_str()
                    .is_some_and(|text| text.contains("Replacing the scanner's cable"))
            })
    })
    .await;

    // Webhook runs did it; no sweep ran; one copy, no echo.
    let runs = hooked.runs().await;
    assert!(
        runs.iter()
            .any(|run| run.trigger == RunTrigger::Webhook && run.counts.created == 1),
        "{runs:#?}"
    );
    assert_eq!(
        hooked
            .harness
            .store
            .last_sweep_started(hooked.harness.relationship)
            .await
            .expect("reads"),
        sweep,
        "no sweep was needed"
    );
    assert_eq!(hooked.harness.copies_in_northwind(raised).len(), 1);
    let status = hooked
        .webhooks
        .status(hooked.org(CONTOSO).await)
        .await
        .expect("status");
    assert_eq!(status.state, "Active");
    assert!(status.events_last_hour >= 1, "{status:?}");
    assert!(status.p95_delay_s.is_some(), "{status:?}");

    // The API says the same to the organisation's people.
    let contoso = hooked.org(CONTOSO).await;
    let person = hooked
        .harness
        .store
        .create_person(
            contoso,
            "ops@contoso.example",
            "Ops",
            &"a long passphrase 1".to_owned().into(),
        )
        .await
        .expect("a person");
    let token = hooked
        .harness
        .store
        .create_api_token(person.id, "monitoring", None)
        .await
        .expect("a token");
    let answer: Value = crate::process::client()
        .get(format!("{}/api/v1/orgs/{contoso}/webhooks", hooked.base))
        .bearer_auth(token.token.expose_secret())
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("JSON");
    assert_eq!(answer["state"], "active", "{answer}");
    assert_eq!(answer["healthy"], true, "{answer}");
    assert_eq!(answer["safety_poll_minutes"], 30, "{answer}");
    assert!(answer["events_last_hour"].as_u64() >= Some(1), "{answer}");
    hooked.stop().await;
}

#[tokio::test]
async fn callouts_signed_over_the_dotnet_escaped_body_are_taken_too() {
    // Autotask has been reported to sign the body with `&`, `<`, `'`, `+` and non-ASCII characters
    // escaped as `\uXXXX`, while sending them as they are (API-NOTES §9.3).
    let harness = Harness::demo_with(fusion_autotask_sim::SimOptions {
        webhook_sign_dotnet_escaped: true,
        ..fusion_autotask_sim::SimOptions::for_tests()
    })
    .await;
    let hooked = Hooked::start_on(harness, true).await;
    hooked.wait_for_state(CONTOSO, HookState::Active).await;
    let raised = hooked
        .harness
        .raise_in_contoso("Café & bakery: \"oven\" <3> + 'fan' — ✓");
    let copy = eventually("the copy", async || {
        hooked
            .harness
            .copies_in_northwind(raised)
            .into_iter()
            .next()
    })
    .await;
    assert_eq!(
        copy["title"].as_str(),
        Some("Café & bakery: \"oven\" <3> + 'fan' — ✓")
    );
    hooked.stop().await;
}

#[tokio::test]
async fn a_ticket_deleted_with_webhooks_on_closes_its_copy_in_seconds() {
    let hooked = Hooked::start(true).await;
    hooked.wait_for_state(CONTOSO, HookState::Active).await;
    let raised = hooked.harness.raise_in_contoso("Conveyor belt squeaks");
    let copy = eventually("the copy", async || {
        hooked
            .harness
            .copies_in_northwind(raised)
            .into_iter()
            .next()
    })
    .await;
    let copy_id = copy["id"].as_i64().expect("an id");
    hooked
        .harness
        .simulator()
        .ui_delete_ticket(CONTOSO, CONTOSO_PERSON, raised)
        .expect("deleted in Contoso");
    eventually("the copy says the original was deleted", async || {
        hooked
            .harness
            .notes(NORTHWIND, copy_id)
            .into_iter()
            .find(|note| {
                note["description"]
                    .as_str()
                    .is_some_and(|text| text.contains("was deleted"))
            })
    })
    .await;
    let runs = hooked.runs().await;
    assert!(
        runs.iter()
            .all(|run| run.status != RunStatus::Failed && run.status != RunStatus::Partial),
        "{runs:#?}"
    );
    hooked.stop().await;
}

#[tokio::test]
async fn callouts_that_are_not_ours_are_refused_replays_and_floods_cost_nothing_and_other_companies_stay_unseen()
 {
    let hooked = Hooked::start(true).await;
    hooked.wait_for_state(CONTOSO, HookState::Active).await;
    let contoso = hooked.org(CONTOSO).await;
    let raised = hooked.harness.raise_in_contoso("Label printer");
    eventually("the copy", async || {
        hooked
            .harness
            .copies_in_northwind(raised)
            .into_iter()
            .next()
    })
    .await;

    let callout = |sequence: i64| {
        json!({
            "Action": "Update", "EntityType": "Ticket", "EventTime": "2026-12-04T10:00:00.000",
            "Fields": {"lastActivityDate": "2026-12-04T10:00:00.000"},
            "Guid": "", "Id": raised, "PersonID": 1, "SequenceNumber": sequence,
        })
    };
    let registration = hooked
        .registration_of(contoso)
        .await
        .expect("Contoso's registration");
    let with_guid = |sequence: i64| {
        let mut body = callout(sequence);
        body["Guid"] = json!(registration.guids[0]);
        body
    };

    // Unknown id, missing signature, wrong signature, a webhook that is not ours: one answer.
    let (url, bytes, signature) = hooked.signed(contoso, &with_guid(900_001)).await;
    let unknown = format!("{}/hooks/autotask/{}", hooked.base, uuid::Uuid::now_v7());
    let refusals = [
        post(&unknown, bytes.clone(), Some(&signature)).await,
        post(
            &format!("{}/hooks/autotask/not-an-id", hooked.base),
            bytes.clone(),
            Some(&signature),
        )
        .await,
        post(&url, bytes.clone(), None).await,
        post(
            &url,
            bytes.clone(),
            Some("sha1=AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
        )
        .await,
        post(&url, b"{\"tampered\":1}".to_vec(), Some(&signature)).await,
    ];
    for refusal in &refusals {
        assert_eq!(refusal, &refusals[0]);
    }
    assert_eq!(refusals[0].0, 401);
    let mut foreign = with_guid(900_002);
    foreign["Guid"] = json!("not-our-webhook");
    let (url, foreign_bytes, foreign_signature) = hooked.signed(contoso, &foreign).await;
    assert_eq!(
        post(&url, foreign_bytes, Some(&foreign_signature)).await,
        refusals[0]
    );

    // A body over the limit is refused before anything else.
    let huge = vec![b' '; fusion_web::hooks::MAX_CALLOUT_BYTES + 1];
    assert_eq!(post(&url, huge, Some(&signature)).await.0, 413);

    // A genuine callout is taken once; its replay is answered 200 and queues nothing.
    let before = hooked
        .harness
        .store
        .webhook_activity(
            registration.id,
            time::OffsetDateTime::now_utc() - time::Duration::hours(1),
        )
        .await
        .expect("activity")
        .events;
    assert_eq!(post(&url, bytes.clone(), Some(&signature)).await.0, 200);
    assert_eq!(post(&url, bytes.clone(), Some(&signature)).await.0, 200);
    let after = hooked
        .harness
        .store
        .webhook_activity(
            registration.id,
            time::OffsetDateTime::now_utc() - time::Duration::hours(1),
        )
        .await
        .expect("activity")
        .events;
    assert_eq!(after, before + 1, "the replay queued nothing");

    // A flood for one ticket: settled together, a handful of runs, not one per event.
    let runs_before = hooked.runs().await.len();
    for sequence in 0..60 {
        let (url, bytes, signature) = hooked.signed(contoso, &with_guid(910_000 + sequence)).await;
        assert_eq!(post(&url, bytes, Some(&signature)).await.0, 200);
    }
    eventually("the flood is worked", async || {
        let activity = hooked
            .harness
            .store
            .webhook_activity(
                registration.id,
                time::OffsetDateTime::now_utc() - time::Duration::hours(1),
            )
            .await
            .expect("activity");
        (activity.waiting == 0).then_some(())
    })
    .await;
    let flood_runs = hooked.runs().await.len() - runs_before;
    assert!(flood_runs <= 5, "60 events became {flood_runs} runs");

    // A ticket for another of Contoso's customers: outside the connection's companies.
    let other_company = hooked
        .harness
        .simulator()
        .records(CONTOSO, EntityKind::Companies)
        .into_iter()
        .find(|company| company["companyName"] != NORTHWIND && company["isActive"] != json!(false))
        .and_then(|company| company["id"].as_i64())
        .expect("another company");
    let private = hooked
        .harness
        .simulator()
        .ui_create_ticket(
            CONTOSO,
            CONTOSO_PERSON,
            json!({"title": "Payroll mistake — confidential", "description": "Internal only.",
                   "companyID": other_company, "status": 1, "priority": 2, "queueID": 30100001}),
        )
        .expect("raised");
    eventually("its callout is worked", async || {
        let activity = hooked
            .harness
            .store
            .webhook_activity(
                registration.id,
                time::OffsetDateTime::now_utc() - time::Duration::hours(1),
            )
            .await
            .expect("activity");
        (activity.waiting == 0 && activity.events > after + 60).then_some(())
    })
    .await;
    assert!(hooked.harness.copies_in_northwind(private).is_empty());
    let northwind_titles: Vec<Value> = hooked
        .harness
        .simulator()
        .records(NORTHWIND, EntityKind::Tickets)
        .into_iter()
        .filter(|ticket| {
            ticket["title"]
                .as_str()
                .is_some_and(|t| t.contains("Payroll"))
        })
        .collect();
    assert!(northwind_titles.is_empty());
    for run in hooked.runs().await {
        for record in hooked
            .harness
            .store
            .sync_records(run.id)
            .await
            .expect("records")
        {
            assert_ne!(
                record.source_ticket.as_ref().map(|t| t.as_str().to_owned()),
                Some(private.to_string())
            );
            assert!(!record.title.contains("Payroll"), "{record:?}");
        }
    }
    hooked.stop().await;
}

#[tokio::test]
async fn deactivated_webhooks_poll_at_the_normal_interval_until_reactivated() {
    let hooked = Hooked::start(false).await;
    hooked.webhooks.keep_registrations().await.expect("keeps");
    assert_eq!(
        hooked.registration_state(CONTOSO).await,
        Some(HookState::Active)
    );
    assert_eq!(
        hooked.registration_state(NORTHWIND).await,
        Some(HookState::Active)
    );
    let scheduled = hooked.scheduled().await;
    assert_eq!(
        hooked.health.interval(&scheduled),
        time::Duration::minutes(30)
    );

    // Someone deactivates Contoso's ticket webhook in Autotask: it tells our deactivation URL.
    let contoso = hooked.org(CONTOSO).await;
    let registration = hooked
        .registration_of(contoso)
        .await
        .expect("Contoso's registration");
    let ticket_hook: i64 = registration.platform_ids[0].parse().expect("a number");
    hooked
        .client(CONTOSO)
        .update(
            "TicketWebhooks",
            &json!({"id": ticket_hook, "isActive": false}),
        )
        .await
        .expect("deactivated in Autotask");
    hooked.wait_for_state(CONTOSO, HookState::Inactive).await;
    assert_eq!(
        hooked.health.interval(&scheduled),
        time::Duration::minutes(5),
        "back to the connection's own interval at once"
    );
    let status = hooked.webhooks.status(contoso).await.expect("status");
    assert_eq!(status.state, "Inactive");
    assert!(
        status
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("deactivated")),
        "{status:?}"
    );

    // The keeper re-activates them.
    hooked.webhooks.keep_registrations().await.expect("keeps");
    assert_eq!(
        hooked.registration_state(CONTOSO).await,
        Some(HookState::Active)
    );
    let in_autotask = fusion_autotask::webhooks::webhooks_state(
        &hooked.client(CONTOSO),
        &hooked.webhooks.settings().hook_name(),
    )
    .await
    .expect("reads")
    .expect("still there");
    assert_eq!(in_autotask.ticket.id, ticket_hook);
    assert!(in_autotask.healthy(), "{in_autotask:?}");
    assert_eq!(
        hooked.health.interval(&scheduled),
        time::Duration::minutes(30)
    );
    hooked.stop().await;
}

#[tokio::test]
async fn without_the_webhook_permission_the_connection_polls_and_says_how_to_enable_it() {
    let hooked = Hooked::start(false).await;
    let tenants = hooked.harness.simulator().tenants();
    let (username, _) = active_user(tenant(&tenants, CONTOSO));
    assert!(
        hooked
            .harness
            .simulator()
            .set_webhook_permission(CONTOSO, &username, false)
    );
    hooked.webhooks.keep_registrations().await.expect("keeps");
    assert_eq!(
        hooked.registration_state(CONTOSO).await,
        Some(HookState::NotPermitted)
    );
    let status = hooked
        .webhooks
        .status(hooked.org(CONTOSO).await)
        .await
        .expect("status");
    assert_eq!(status.state, "Not permitted");
    assert!(
        status
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("Can create WebHooks")),
        "{status:?}"
    );
    assert_eq!(
        hooked.health.interval(&hooked.scheduled().await),
        time::Duration::minutes(5)
    );
    // Polling carries the change as before.
    let raised = hooked.harness.raise_in_contoso("Polling still works");
    let run = hooked.harness.automatic_run().await;
    assert_eq!(run.status, RunStatus::Success, "{:#?}", run.records);
    assert_eq!(hooked.harness.copies_in_northwind(raised).len(), 1);
    hooked.stop().await;
}

#[tokio::test]
async fn changes_autotask_could_not_deliver_are_noticed_and_recovered_by_the_safety_net() {
    let mut hooked = Hooked::start(false).await;
    hooked.webhooks.keep_registrations().await.expect("keeps");
    assert_eq!(
        hooked.registration_state(CONTOSO).await,
        Some(HookState::Active)
    );
    // The server is down.
    hooked.server.abort();
    let _ = (&mut hooked.server).await;
    let raised = hooked
        .harness
        .raise_in_contoso("Raised while the server was down");
    eventually("Autotask gives up on the callout", async || {
        hooked
            .harness
            .simulator()
            .webhook_deliveries()
            .into_iter()
            .find(|delivery| {
                delivery.entity_id == raised
                    && format!("{:?}", delivery.outcome).eq_ignore_ascii_case("dropped")
            })
    })
    .await;
    assert!(hooked.harness.copies_in_northwind(raised).is_empty());

    // The next check finds the dropped callout in Autotask's error log: back to polling.
    let status = hooked
        .webhooks
        .register_now(hooked.org(CONTOSO).await)
        .await
        .expect("checks");
    assert_eq!(status.state, "Inactive", "{status:?}");
    assert!(
        status
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("could not deliver")),
        "{status:?}"
    );
    assert_eq!(
        hooked.health.interval(&hooked.scheduled().await),
        time::Duration::minutes(5)
    );
    // The safety-net sweep carries the change.
    let run = hooked
        .sync
        .run(
            hooked.harness.relationship,
            fusion_engine::SyncMode::Automatic,
        )
        .await
        .expect("runs");
    assert_eq!(run.status, RunStatus::Success, "{:#?}", run.records);
    assert_eq!(hooked.harness.copies_in_northwind(raised).len(), 1);
    hooked.stop().await;
}

#[tokio::test]
async fn credentials_for_another_tenant_remove_the_webhooks_from_the_old_one() {
    let hooked = Hooked::start(false).await;
    hooked.webhooks.keep_registrations().await.expect("keeps");
    assert_eq!(
        hooked.registration_state(CONTOSO).await,
        Some(HookState::Active)
    );
    let contoso = hooked.org(CONTOSO).await;
    let name = hooked.webhooks.settings().hook_name();
    let saved = hooked
        .harness
        .store
        .organisation_tenant_credentials(contoso)
        .await
        .expect("reads")
        .expect("saved");
    // The same tenant and user again (a new secret, say): nothing changes.
    hooked
        .webhooks
        .before_credentials_change(contoso, &saved.api_url, &saved.username)
        .await;
    assert_eq!(
        hooked.registration_state(CONTOSO).await,
        Some(HookState::Active)
    );
    // Another API user (another tenant): the old tenant's webhooks go.
    hooked
        .webhooks
        .before_credentials_change(contoso, &saved.api_url, "someone.else@other.example")
        .await;
    assert_eq!(hooked.registration_state(CONTOSO).await, None);
    let left = fusion_autotask::webhooks::webhooks_state(&hooked.client(CONTOSO), &name)
        .await
        .expect("reads");
    assert!(left.is_none(), "{left:?}");
    hooked.stop().await;
}
