//! The Sync page, run details, Dashboard and their `/api/v1` routes against a real server whose
//! `SyncService` is the binary's (its `StoreSyncDirectory`, compiled in from `crates/fusion`), with
//! the two demo tenants of the simulator connected and configured as `fusion demo` does. What a
//! run did is checked in the simulated Autotask tenants, as a person would.

use std::sync::Arc;
use std::time::Duration;

use fusion_autotask::{AutotaskService, AutotaskSettings, RetryPolicy, TransportOverride};
use fusion_autotask_sim::{EntityKind, FaultKind, FaultRule, TenantInfo};
use fusion_domain::{OrgId, PlatformKind, RelationshipId, SystemClock};
use fusion_engine::ports::CredentialsUpdate;
use fusion_engine::{EngineSettings, SyncEngine, SyncService};
use fusion_store::Store;
use secrecy::SecretString;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::demo_connection::{self, DemoSide};
use crate::openapi::{document, validate};
use crate::support::{AppOptions, Browser, TestApp};
use crate::sync_directory::StoreSyncDirectory;

const CONTOSO: &str = "Contoso Manufacturing";
const NORTHWIND: &str = "Northwind IT";
/// A person at the customer, raising tickets in Contoso's Autotask.
const CONTOSO_PERSON: &str = "alex.morgan@contoso.example";

/// Retries as in production, only without the waits.
pub(crate) fn without_retry_waits(settings: AutotaskSettings) -> AutotaskSettings {
    AutotaskSettings {
        retry: RetryPolicy {
            max_attempts: 4,
            initial_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        },
        ..settings
    }
}

/// The sync service the test server runs with: the binary's directory over the app's store and
/// the connection tester's Autotask service (one budget per process, as `fusion serve` has).
pub(crate) fn sync_service(store: Arc<dyn Store>, service: AutotaskService) -> SyncService {
    let directory = Arc::new(StoreSyncDirectory::new(store.clone(), service));
    let clock = Arc::new(SystemClock);
    let engine = SyncEngine::new(store.clone(), clock.clone(), EngineSettings::default());
    SyncService::new(engine, directory, store, clock)
}

/// A server that runs syncs, with Alice's Contoso (Source) and Bob's Northwind IT (Target)
/// connected and configured, and signed-in browsers for both.
pub(crate) struct SyncApp {
    pub(crate) app: TestApp,
    pub(crate) alice: Browser,
    pub(crate) bob: Browser,
    pub(crate) relationship: RelationshipId,
}

fn tenant(tenants: &[TenantInfo], name: &str) -> TenantInfo {
    tenants
        .iter()
        .find(|tenant| tenant.name == name)
        .cloned()
        .expect("a demo tenant")
}

fn active_user(tenant: &TenantInfo) -> (String, String) {
    let user = tenant
        .api_users
        .iter()
        .find(|user| user.active)
        .expect("an active API user");
    (user.username.clone(), user.secret.clone())
}

async fn save_credentials(store: &dyn Store, org: OrgId, tenant: &TenantInfo) {
    let (username, secret) = active_user(tenant);
    store
        .save_platform_credentials(
            org,
            None,
            CredentialsUpdate {
                platform: PlatformKind::Autotask,
                api_url: tenant.api_url.clone(),
                username,
                secret: Some(SecretString::from(secret)),
                integration_code_override: None,
            },
        )
        .await
        .expect("credentials saved");
}

impl SyncApp {
    async fn spawn_with(sync: bool) -> SyncApp {
        let app = TestApp::spawn_with(AppOptions {
            sync,
            ..AppOptions::default()
        })
        .await;
        let tenants = app.simulator.simulator().tenants();
        let contoso = tenant(&tenants, CONTOSO);
        let northwind = tenant(&tenants, NORTHWIND);
        save_credentials(app.store.as_ref(), app.alice.org.id, &contoso).await;
        save_credentials(app.store.as_ref(), app.bob.org.id, &northwind).await;
        let settings = AutotaskSettings {
            integration_code: Some(contoso.integration_code.clone()),
            transport_override: Some(
                TransportOverride::parse(app.simulator.base_url()).expect("loopback override"),
            ),
            ..AutotaskSettings::default()
        };
        let (source_user, source_secret) = active_user(&contoso);
        let (target_user, target_secret) = active_user(&northwind);
        let connection = demo_connection::connect_demo_organisations(
            &app.store,
            &settings,
            &DemoSide {
                org_id: app.alice.org.id,
                name: CONTOSO,
                api_username: &source_user,
                api_secret: &source_secret,
            },
            &DemoSide {
                org_id: app.bob.org.id,
                name: NORTHWIND,
                api_username: &target_user,
                api_secret: &target_secret,
            },
        )
        .await
        .expect("the two organisations connect and configure");
        let alice = app.signed_in(&app.alice).await;
        let bob = app.signed_in(&app.bob).await;
        SyncApp {
            relationship: connection.relationship.id,
            app,
            alice,
            bob,
        }
    }

    pub(crate) async fn spawn() -> SyncApp {
        Self::spawn_with(true).await
    }

    pub(crate) fn alice_api(&self, rest: &str) -> String {
        format!("/api/v1/orgs/{}{rest}", self.app.alice.org.id)
    }

    pub(crate) fn sync_api(&self) -> String {
        self.alice_api(&format!("/relationships/{}/sync", self.relationship))
    }

    /// A person at Contoso raises a ticket for the provider (matches the send filter).
    pub(crate) fn raise_in_contoso(&self, title: &str) -> i64 {
        let simulator = self.app.simulator.simulator();
        let provider = simulator
            .records(CONTOSO, EntityKind::Companies)
            .into_iter()
            .find(|company| company["companyName"] == NORTHWIND)
            .and_then(|company| company["id"].as_i64())
            .expect("Contoso has Northwind IT as a company");
        simulator
            .ui_create_ticket(
                CONTOSO,
                CONTOSO_PERSON,
                json!({
                    "title": title,
                    "description": format!("{title}: details from the shop floor."),
                    "companyID": provider,
                    "status": 12,
                    "priority": 5,
                    "queueID": 30100001,
                }),
            )
            .expect("the ticket is raised")
    }

    fn northwind_tickets_titled(&self, title: &str) -> Vec<Value> {
        self.app
            .simulator
            .simulator()
            .records(NORTHWIND, EntityKind::Tickets)
            .into_iter()
            .filter(|ticket| ticket["title"] == title)
            .collect()
    }

    /// Waits (bounded) until the connection is "Ready for automatic sync": a manual run's record
    /// is finished a moment before the service moves the connection there.
    pub(crate) async fn wait_until_ready(&mut self) -> Value {
        let url = self.sync_api();
        for _ in 0..1_500 {
            let state = self.alice.get(&url).await.json();
            if state["readiness"] == "ready_for_automatic_sync" {
                return state;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the connection did not become ready for automatic sync");
    }

    /// Waits (bounded) until the run is no longer Running and returns its details.
    pub(crate) async fn finished_run(&mut self, run_id: &str) -> Value {
        let url = self.alice_api(&format!("/sync/runs/{run_id}"));
        for _ in 0..1_500 {
            let reply = self.alice.get(&url).await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            let details = reply.json();
            if details["run"]["status"] != "running" {
                return details;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the run {run_id} did not finish");
    }
}

/// Checks `body` against the document's schema `name`.
pub(crate) fn assert_matches_schema(body: &Value, name: &str) {
    let document = document();
    let mut problems = Vec::new();
    validate(
        &document,
        &json!({"$ref": format!("#/components/schemas/{name}")}),
        body,
        name,
        &mut problems,
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

pub(crate) fn minutes_ago(minutes: i64) -> String {
    (OffsetDateTime::now_utc() - time::Duration::minutes(minutes))
        .format(&time::format_description::well_known::Rfc3339)
        .expect("formats")
}

#[tokio::test]
async fn a_manual_run_through_the_api_creates_tickets_and_history_shows_it_with_its_records() {
    let mut app = SyncApp::spawn().await;
    let sync_api = app.sync_api();

    let before = app.alice.get(&sync_api).await;
    assert_eq!(before.status, 200, "{}", before.body);
    let before = before.json();
    assert_matches_schema(&before, "SyncState");
    assert_eq!(before["readiness"], "initial_sync_required");
    assert_eq!(before["last_run"], Value::Null);
    assert_eq!(before["sync_available"], true);
    assert_eq!(before["can_switch_automatic_on"], false);

    // Automatic sync before the baseline is refused, with the reason.
    let refused = app
        .alice
        .put_json(&sync_api, &json!({"automatic": true}))
        .await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert_eq!(refused.json()["error"]["code"], "initial_sync_required");
    assert!(
        refused.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("manual sync with a start date"),
        "{}",
        refused.body
    );

    // A manual run needs a start date that is a date, not in the future.
    let runs_api = format!("{sync_api}/runs");
    for body in [
        json!({}),
        json!({"since": "last week"}),
        json!({"since": "2999-01-01"}),
    ] {
        let reply = app.alice.post_json(&runs_api, &body).await;
        assert_eq!(reply.status, 422, "{body}: {}", reply.body);
        assert_eq!(reply.json()["error"]["code"], "invalid_since");
    }

    let title = "Label printer jams on line 3";
    let raised = app.raise_in_contoso(title);
    let started = app
        .alice
        .post_json(&runs_api, &json!({"since": minutes_ago(5)}))
        .await;
    assert_eq!(started.status, 202, "{}", started.body);
    let started = started.json();
    assert_matches_schema(&started, "SyncStartedRun");
    assert_eq!(started["run"]["trigger"], "manual");
    let run_id = started["run"]["id"].as_str().unwrap().to_owned();

    let details = app.finished_run(&run_id).await;
    assert_matches_schema(&details, "SyncRunDetails");
    assert_eq!(details["run"]["status"], "success", "{details:#}");
    assert_eq!(details["run"]["counts"]["created"], 1, "{details:#}");
    assert!(details["run"]["calls_used"].as_u64().unwrap() > 0);
    assert!(details["run"]["duration_ms"].is_i64());
    let records = details["records"].as_array().unwrap();
    let created: Vec<_> = records
        .iter()
        .filter(|record| record["outcome"] == "created")
        .collect();
    assert_eq!(created.len(), 1, "{details:#}");
    assert_eq!(created[0]["origin"], "source");
    assert_eq!(created[0]["failed_comments"], 0);
    let copies = app.northwind_tickets_titled(title);
    assert_eq!(copies.len(), 1, "exactly one copy in Northwind's Autotask");
    assert_eq!(
        created[0]["target_ticket_number"], copies[0]["ticketNumber"],
        "the record names the copy"
    );
    let original = app
        .app
        .simulator
        .simulator()
        .records(CONTOSO, EntityKind::Tickets)
        .into_iter()
        .find(|ticket| ticket["id"] == raised)
        .unwrap();
    assert_eq!(created[0]["source_ticket_number"], original["ticketNumber"]);

    // History, with its filters.
    let history = app.alice.get(&app.alice_api("/sync/runs")).await;
    assert_eq!(history.status, 200, "{}", history.body);
    let history = history.json();
    assert_matches_schema(&history, "SyncRunList");
    let ids: Vec<&str> = history["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|run| run["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [run_id.as_str()]);
    assert_eq!(history["runs"][0]["counts"]["created"], 1);
    let count = |body: Value| body["runs"].as_array().unwrap().len();
    for (query, expected) in [
        ("?status=success", 1),
        ("?status=failed", 0),
        (&format!("?relationship={}", app.relationship) as &str, 1),
        (
            &format!("?relationship={}", RelationshipId::new()) as &str,
            usize::MAX,
        ),
        ("?from=2999-01-01", 0),
        (&format!("?to={}", minutes_ago(60)) as &str, 0),
        ("?limit=1", 1),
    ] {
        let reply = app
            .alice
            .get(&app.alice_api(&format!("/sync/runs{query}")))
            .await;
        if expected == usize::MAX {
            assert_eq!(
                reply.status, 404,
                "{query}: another connection is not found"
            );
            continue;
        }
        assert_eq!(reply.status, 200, "{query}: {}", reply.body);
        assert_eq!(count(reply.json()), expected, "{query}");
    }
    for query in [
        "?status=great",
        "?limit=0",
        "?limit=501",
        "?from=soon",
        "?relationship=x",
    ] {
        let reply = app
            .alice
            .get(&app.alice_api(&format!("/sync/runs{query}")))
            .await;
        assert_eq!(reply.status, 422, "{query}: {}", reply.body);
        assert_eq!(reply.json()["error"]["code"], "invalid_filter");
    }

    // The baseline is set: automatic sync may be switched on now, within 1–1440 minutes.
    let after = app.wait_until_ready().await;
    assert_eq!(after["last_run"]["id"], run_id.as_str());
    assert_eq!(after["next_run_at"], Value::Null, "automatic sync is off");
    for minutes in [0, 1441, -5, i64::MAX] {
        let reply = app
            .alice
            .put_json(
                &sync_api,
                &json!({"automatic": true, "interval_minutes": minutes}),
            )
            .await;
        assert_eq!(reply.status, 422, "{minutes}: {}", reply.body);
        assert_eq!(reply.json()["error"]["code"], "invalid_interval");
    }
    let switched = app
        .alice
        .put_json(
            &sync_api,
            &json!({"automatic": true, "interval_minutes": 10}),
        )
        .await;
    assert_eq!(switched.status, 200, "{}", switched.body);
    let switched = switched.json();
    assert_matches_schema(&switched, "SyncState");
    assert_eq!(switched["automatic"], true);
    assert_eq!(switched["interval_minutes"], 10);
    let started_at = OffsetDateTime::parse(
        details["run"]["started_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let next = OffsetDateTime::parse(
        switched["next_run_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(
        next - started_at,
        time::Duration::minutes(10),
        "last start + interval"
    );
    let schedule = app.app.store.sync_schedule(app.relationship).await.unwrap();
    assert!(schedule.automatic);

    // The partner organisation sees the same run, and so does the Dashboard.
    let bob_org = app.app.bob.org.id;
    let bob_sees = app
        .bob
        .get(&format!("/api/v1/orgs/{bob_org}/sync/runs/{run_id}"))
        .await;
    assert_eq!(bob_sees.status, 200, "{}", bob_sees.body);
    let dashboard = app.alice.get(&app.alice_api("/dashboard")).await;
    assert_eq!(dashboard.status, 200, "{}", dashboard.body);
    let dashboard = dashboard.json();
    assert_matches_schema(&dashboard, "Dashboard");
    let row = &dashboard["relationships"][0];
    assert_eq!(row["last_run"]["id"], run_id.as_str());
    assert_eq!(row["failed_runs_24h"], 0);
    assert_eq!(
        row["autotask_calls_last_hour"], details["run"]["calls_used"],
        "the calls of the one run in the last hour"
    );
    assert_eq!(row["automatic"], true);
    let used = dashboard["autotask_budget_used"]
        .as_u64()
        .expect("Contoso's database has seen requests from this server");
    assert!(
        used >= details["run"]["calls_used"].as_u64().unwrap_or(u64::MAX) / 2,
        "at least Contoso's share of the run's calls: {used}"
    );

    app.app.stop().await;
}

#[tokio::test]
async fn a_dry_run_lists_what_would_be_written_and_writes_nothing() {
    let mut app = SyncApp::spawn().await;
    let title = "Conveyor belt squeaks";
    app.raise_in_contoso(title);
    let reply = app
        .alice
        .post_json(
            &format!("{}/dry-run", app.sync_api()),
            &json!({"since": minutes_ago(5)}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let plan = reply.json();
    assert_matches_schema(&plan, "SyncDryRun");
    assert!(plan["planned_writes"].as_u64().unwrap() >= 1, "{plan:#}");
    let creates: Vec<_> = plan["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|ticket| {
            ticket["actions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|action| action.as_str().unwrap().contains(title))
        })
        .collect();
    assert_eq!(creates.len(), 1, "{plan:#}");
    assert!(
        creates[0]["actions"][0]
            .as_str()
            .unwrap()
            .starts_with("Create a ticket in the Target"),
        "{plan:#}"
    );

    assert!(
        app.northwind_tickets_titled(title).is_empty(),
        "nothing written"
    );
    let history = app.alice.get(&app.alice_api("/sync/runs")).await.json();
    assert_eq!(history["runs"], json!([]), "a dry run is not a run");
    let state = app.alice.get(&app.sync_api()).await.json();
    assert_eq!(state["readiness"], "initial_sync_required");

    // A dry run without a start date before the baseline has nothing to continue from.
    let no_baseline = app
        .alice
        .post_json(&format!("{}/dry-run", app.sync_api()), &json!({}))
        .await;
    assert_eq!(no_baseline.status, 409, "{}", no_baseline.body);
    assert_eq!(no_baseline.json()["error"]["code"], "initial_sync_required");

    app.app.stop().await;
}

#[tokio::test]
async fn another_organisation_gets_not_found_and_cookie_writes_need_the_csrf_token() {
    let mut app = SyncApp::spawn().await;
    let run = app
        .alice
        .post_json(
            &format!("{}/runs", app.sync_api()),
            &json!({"since": minutes_ago(5)}),
        )
        .await;
    assert_eq!(run.status, 202, "{}", run.body);
    let run_id = run.json()["run"]["id"].as_str().unwrap().to_owned();
    app.finished_run(&run_id).await;

    // Fabrikam has no part in the connection.
    let fabrikam = app.app.store.create_organisation("Fabrikam").await.unwrap();
    let password = "correct horse battery fabrikam";
    app.app
        .store
        .create_person(
            fabrikam.id,
            "carol@fabrikam.example",
            "Carol",
            &SecretString::from(password.to_owned()),
        )
        .await
        .unwrap();
    let carol_account = crate::support::Account {
        org: fabrikam.clone(),
        email: "carol@fabrikam.example".to_owned(),
        password: password.to_owned(),
    };
    let mut carol = app.app.signed_in(&carol_account).await;
    let own = format!("/api/v1/orgs/{}", fabrikam.id);
    let relationship = app.relationship;
    for (method, url) in [
        ("GET", format!("{own}/relationships/{relationship}/sync")),
        ("PUT", format!("{own}/relationships/{relationship}/sync")),
        (
            "POST",
            format!("{own}/relationships/{relationship}/sync/runs"),
        ),
        (
            "POST",
            format!("{own}/relationships/{relationship}/sync/dry-run"),
        ),
        ("GET", format!("{own}/sync/runs/{run_id}")),
        (
            "GET",
            format!("{own}/sync/runs?relationship={relationship}"),
        ),
        ("GET", app.alice_api("/dashboard")),
        ("GET", app.alice_api(&format!("/sync/runs/{run_id}"))),
        (
            "POST",
            app.alice_api(&format!("/relationships/{relationship}/sync/runs")),
        ),
    ] {
        let reply = match method {
            "GET" => carol.get(&url).await,
            "PUT" => carol.put_json(&url, &json!({"automatic": false})).await,
            _ => {
                carol
                    .post_json(&url, &json!({"since": minutes_ago(5)}))
                    .await
            }
        };
        assert_eq!(reply.status, 404, "{method} {url}: {}", reply.body);
    }
    let carol_history = carol.get(&format!("{own}/sync/runs")).await;
    assert_eq!(carol_history.json()["runs"], json!([]));
    let carol_dashboard = carol.get(&format!("{own}/dashboard")).await;
    assert_eq!(carol_dashboard.json()["relationships"], json!([]));
    for page in [
        format!("/orgs/{}/sync/runs/{run_id}", fabrikam.id),
        format!("/orgs/{}/sync?relationship={relationship}", fabrikam.id),
        format!("/orgs/{}/sync", app.app.alice.org.id),
        format!("/orgs/{}/dashboard", app.app.alice.org.id),
    ] {
        let reply = carol.get(&page).await;
        assert_eq!(reply.status, 404, "{page}");
    }
    let form_post = carol
        .submit_form(
            &format!("/orgs/{}/sync/{relationship}/run", fabrikam.id),
            &[("since", "2026-01-01")],
        )
        .await;
    assert_eq!(form_post.status, 404);

    // Cookie-authenticated writes without the CSRF token are refused and change nothing.
    let runs_before = app.app.store.sync_runs(&all_runs()).await.unwrap().len();
    let no_csrf = app
        .alice
        .post_json_without_csrf(
            &format!("{}/runs", app.sync_api()),
            &json!({"since": minutes_ago(5)}),
        )
        .await;
    assert_eq!(no_csrf.status, 403, "{}", no_csrf.body);
    assert_eq!(no_csrf.json()["error"]["code"], "csrf_rejected");
    let no_csrf = app
        .alice
        .put_json_without_csrf(&app.sync_api(), &json!({"automatic": true}))
        .await;
    assert_eq!(no_csrf.status, 403);
    let no_csrf = app
        .alice
        .post_form(
            &format!("/orgs/{}/sync/{relationship}/run", app.app.alice.org.id),
            &[("since", "2026-01-01")],
        )
        .await;
    assert_eq!(no_csrf.status, 403);
    let no_csrf = app
        .alice
        .post_form(
            &format!(
                "/orgs/{}/sync/{relationship}/schedule",
                app.app.alice.org.id
            ),
            &[("automatic", "on"), ("interval_minutes", "5")],
        )
        .await;
    assert_eq!(no_csrf.status, 403);
    assert_eq!(
        app.app.store.sync_runs(&all_runs()).await.unwrap().len(),
        runs_before
    );
    assert!(
        !app.app
            .store
            .sync_schedule(relationship)
            .await
            .unwrap()
            .automatic
    );

    app.app.stop().await;
}

fn all_runs() -> fusion_engine::ports::RunFilter {
    fusion_engine::ports::RunFilter {
        relationship: None,
        status: None,
        started_from: None,
        started_before: None,
        limit: 1_000,
    }
}

#[tokio::test]
async fn the_sync_page_runs_a_sync_shows_it_in_history_and_its_details() {
    let mut app = SyncApp::spawn().await;
    let org = app.app.alice.org.id;
    let relationship = app.relationship;
    let title = "Badge reader offline at gate 2";
    app.raise_in_contoso(title);

    let page = app.alice.get(&format!("/orgs/{org}/sync")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Initial sync required"), "{}", page.body);
    assert!(page.body.contains("Contoso ⇄ Northwind managed services"));
    assert!(page.body.contains("type=\"date\""));
    assert!(page.body.contains("No runs in this period."));

    // Switching automatic sync on before the baseline is explained, not done.
    let refused = app
        .alice
        .submit_form(
            &format!("/orgs/{org}/sync/{relationship}/schedule"),
            &[("automatic", "on"), ("interval_minutes", "5")],
        )
        .await;
    assert_eq!(refused.status, 409);
    assert!(
        refused
            .body
            .contains("run a manual sync with a start date first")
    );

    // Dry run: the plan, nothing written.
    let since = (OffsetDateTime::now_utc() - time::Duration::days(1))
        .date()
        .to_string();
    let dry = app
        .alice
        .submit_form(
            &format!("/orgs/{org}/sync/{relationship}/dry-run"),
            &[("since", &since)],
        )
        .await;
    assert_eq!(dry.status, 200);
    assert!(
        dry.body.contains("Dry run: nothing was written"),
        "{}",
        dry.body
    );
    assert!(dry.body.contains(title));
    assert!(app.northwind_tickets_titled(title).is_empty());

    let started = app
        .alice
        .submit_form(
            &format!("/orgs/{org}/sync/{relationship}/run"),
            &[("since", &since)],
        )
        .await;
    assert_eq!(started.status, 303, "{}", started.body);
    let details_url = started.header("location").unwrap();
    assert!(details_url.starts_with(&format!("/orgs/{org}/sync/runs/")));
    let run_id = details_url.rsplit('/').next().unwrap().to_owned();
    app.finished_run(&run_id).await;

    let details = app.alice.get(&details_url).await;
    assert_eq!(details.status, 200);
    assert!(details.body.contains("Success"), "{}", details.body);
    assert!(details.body.contains(">Created<"), "{}", details.body);
    assert!(
        !details.body.contains("http-equiv=\"refresh\""),
        "a finished run does not refresh"
    );
    let copy = &app.northwind_tickets_titled(title)[0];
    assert!(
        details
            .body
            .contains(copy["ticketNumber"].as_str().unwrap())
    );

    app.wait_until_ready().await;
    let page = app.alice.get(&format!("/orgs/{org}/sync")).await;
    assert!(page.body.contains("Ready for automatic sync"));
    assert!(page.body.contains(&details_url), "history links the run");
    let failed_only = app
        .alice
        .get(&format!(
            "/orgs/{org}/sync?relationship=all&status=failed&period=24h"
        ))
        .await;
    assert_eq!(failed_only.status, 200);
    assert!(!failed_only.body.contains(&details_url));

    let switched = app
        .alice
        .submit_form(
            &format!("/orgs/{org}/sync/{relationship}/schedule"),
            &[("automatic", "on"), ("interval_minutes", "15")],
        )
        .await;
    assert_eq!(switched.status, 200);
    assert!(
        switched
            .body
            .contains("Automatic sync is on: every 15 minute(s).")
    );

    let dashboard = app.alice.get(&format!("/orgs/{org}/dashboard")).await;
    assert_eq!(dashboard.status, 200);
    assert!(dashboard.body.contains("On, every 15 min"));
    assert!(dashboard.body.contains(&details_url));

    // The partner sees the run too.
    let bob_org = app.app.bob.org.id;
    let bob_sees = app
        .bob
        .get(&format!("/orgs/{bob_org}/sync/runs/{run_id}"))
        .await;
    assert_eq!(bob_sees.status, 200);

    app.app.stop().await;
}

#[tokio::test]
async fn without_a_sync_service_runs_answer_503_and_the_rest_still_works() {
    let mut app = SyncApp::spawn_with(false).await;
    let state = app.alice.get(&app.sync_api()).await;
    assert_eq!(state.status, 200);
    assert_eq!(state.json()["sync_available"], false);
    for path in ["runs", "dry-run"] {
        let reply = app
            .alice
            .post_json(
                &format!("{}/{path}", app.sync_api()),
                &json!({"since": minutes_ago(5)}),
            )
            .await;
        assert_eq!(reply.status, 503, "{path}: {}", reply.body);
        assert_eq!(reply.json()["error"]["code"], "sync_not_running");
    }
    let page = app
        .alice
        .get(&format!("/orgs/{}/sync", app.app.alice.org.id))
        .await;
    assert!(
        page.body
            .contains("Sync is not running in this server process")
    );
    app.app.stop().await;
}

#[tokio::test]
async fn a_run_that_cannot_read_a_side_is_failed_with_its_error_and_counted_on_the_dashboard() {
    let mut app = SyncApp::spawn().await;
    let title = "Scanner firmware update fails";
    app.raise_in_contoso(title);
    // Northwind's Autotask answers every ticket query (and create) with HTTP 500.
    app.app.simulator.simulator().inject_fault(
        FaultRule::new(FaultKind::ServerError)
            .for_tenant(NORTHWIND)
            .on_endpoint("Tickets")
            .on_method("POST"),
    );
    let started = app
        .alice
        .post_json(
            &format!("{}/runs", app.sync_api()),
            &json!({"since": minutes_ago(5)}),
        )
        .await;
    assert_eq!(started.status, 202, "{}", started.body);
    let run_id = started.json()["run"]["id"].as_str().unwrap().to_owned();
    let details = app.finished_run(&run_id).await;
    assert_matches_schema(&details, "SyncRunDetails");
    assert_eq!(details["run"]["status"], "failed", "{details:#}");
    assert_eq!(details["run"]["status_label"], "Failed");
    let error = details["run"]["error"].as_str().unwrap().to_owned();
    assert!(
        error.contains("Northwind IT"),
        "the error names the side: {error}"
    );
    assert!(app.northwind_tickets_titled(title).is_empty());

    let state = app.alice.get(&app.sync_api()).await.json();
    assert_eq!(
        state["readiness"], "initial_sync_required",
        "a failed run sets no baseline"
    );
    let dashboard = app.alice.get(&app.alice_api("/dashboard")).await.json();
    let row = &dashboard["relationships"][0];
    assert_eq!(row["failed_runs_24h"], 1, "{dashboard:#}");
    assert_eq!(row["last_run"]["status"], "failed");
    let failed_only = app
        .alice
        .get(&app.alice_api("/sync/runs?status=failed"))
        .await
        .json();
    assert_eq!(failed_only["runs"][0]["id"], run_id.as_str());

    let page = app
        .alice
        .get(&format!(
            "/orgs/{}/sync/runs/{run_id}",
            app.app.alice.org.id
        ))
        .await;
    assert!(page.body.contains(">Failed<"), "{}", page.body);
    assert!(
        page.body.contains("(simulated fault)"),
        "the page shows the error"
    );
    let dashboard_page = app
        .alice
        .get(&format!("/orgs/{}/dashboard", app.app.alice.org.id))
        .await;
    assert!(dashboard_page.body.contains("1 failed run(s)"));

    app.app.stop().await;
}

#[tokio::test]
async fn a_held_record_reads_held_back_on_the_run_page_and_in_the_api() {
    use fusion_domain::Role;
    use fusion_domain::sync::{
        RecordOutcome, RunCounts, RunStatus, RunTrigger, SyncRecord, TicketId,
    };
    use fusion_engine::ports::RunFinish;

    let mut app = SyncApp::spawn_with(false).await;
    let store = app.app.store.clone();
    let now = OffsetDateTime::now_utc();
    let run = store
        .start_run(app.relationship, RunTrigger::Manual, None, now, None)
        .await
        .unwrap();
    store
        .add_record(&SyncRecord {
            run: run.id,
            relationship: app.relationship,
            origin: Role::Source,
            source_ticket: Some(TicketId::new("31000101")),
            source_number: Some("T20261127.0101".to_owned()),
            target_ticket: Some(TicketId::new("29000202")),
            target_number: Some("T20261127.0202".to_owned()),
            title: "Printer jam".to_owned(),
            outcome: RecordOutcome::Held,
            error: None,
            failed_comments: 0,
            failed_attachments: 0,
            notes: vec!["The ticket moved to another company, so it is no longer sent.".to_owned()],
            recorded_at: now,
        })
        .await
        .unwrap();
    store
        .finish_run(
            run.id,
            &RunFinish {
                status: RunStatus::Success,
                counts: RunCounts {
                    skipped: 1,
                    ..RunCounts::default()
                },
                finished_at: now,
                calls_used: 0,
                error: None,
            },
        )
        .await
        .unwrap();

    let details = app
        .alice
        .get(&app.alice_api(&format!("/sync/runs/{}", run.id)))
        .await;
    assert_eq!(details.status, 200, "{}", details.body);
    let details = details.json();
    assert_matches_schema(&details, "SyncRunDetails");
    assert_eq!(details["records"][0]["outcome"], "held", "{details:#}");
    assert_eq!(details["records"][0]["outcome_label"], "Held back");

    let page = app
        .alice
        .get(&format!(
            "/orgs/{}/sync/runs/{}",
            app.app.alice.org.id, run.id
        ))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains("<span class=\"badge badge--paused\">Held back</span>"),
        "{}",
        page.body
    );
    let stylesheet = app.alice.get("/static/fusion.css").await.body;
    assert!(stylesheet.contains(".badge--paused"), "the badge is styled");
    app.app.stop().await;
}
