//! The sync engine end to end, in-process: the Autotask simulator with the demo world, a fresh
//! SQLite store, the two demo organisations connected and configured exactly as `fusion demo`
//! does (`demo_connection::connect_demo_organisations`), and runs through `SyncService` with the
//! binary's `StoreSyncDirectory`. Every assertion reads the simulated tenants' records, as a
//! person looking at Autotask would.

use std::sync::Arc;
use std::time::Duration;

use fusion_autotask::{AutotaskService, AutotaskSettings, RetryPolicy, TransportOverride};
use fusion_autotask_sim::{
    EntityKind, FaultKind, FaultRule, RunningSimulator, SimOptions, Simulator, TenantInfo, World,
};
use fusion_domain::sync::{RunStatus, SyncAction, TicketId, TicketMarker};
use fusion_domain::{
    ChoiceValue, OrgId, PlatformKind, RelationshipId, RelationshipState, SyncReadiness, SystemClock,
};
use fusion_engine::ports::CredentialsUpdate;
use fusion_engine::{EngineSettings, RunSummary, SyncDirectory, SyncEngine, SyncMode, SyncService};
use fusion_store::{SecretKey, Store, StoreOptions};
use secrecy::SecretString;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::demo_connection::{self, DemoSide, SOURCE_ORGANISATION, TARGET_ORGANISATION};
use crate::interrupting_platform::{Interrupting, Write};
use crate::sync_directory::StoreSyncDirectory;

const CONTOSO: &str = SOURCE_ORGANISATION;
const NORTHWIND: &str = TARGET_ORGANISATION;
/// A person at the customer, raising and closing tickets in Contoso's Autotask.
const CONTOSO_PERSON: &str = "alex.morgan@contoso.example";
/// The MSP's technician working the copies in Northwind's Autotask.
const NORTHWIND_TECHNICIAN: &str = "jane.doe@northwindit.example";

pub(crate) struct Harness {
    running: RunningSimulator,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) directory: Arc<StoreSyncDirectory>,
    pub(crate) engine: SyncEngine,
    pub(crate) sync: SyncService,
    pub(crate) relationship: RelationshipId,
    /// Changes made in the tests are newer than this; the demo world's own tickets are older.
    pub(crate) started: OffsetDateTime,
    /// The process's Autotask service (one limiter and budget), for services built in tests.
    pub(crate) autotask: AutotaskService,
    _data: tempfile::TempDir,
}

impl Harness {
    pub(crate) async fn demo() -> Harness {
        Harness::demo_with(SimOptions {
            timeout_fault_hold: Duration::from_millis(20),
            ..SimOptions::for_tests()
        })
        .await
    }

    /// The demo world on a simulator with these options.
    pub(crate) async fn demo_with(options: SimOptions) -> Harness {
        Harness::world_with(World::demo(), options).await
    }

    /// Another world shaped like the demo's (same tenants and people), with the demo's options.
    pub(crate) async fn with_world(world: World) -> Harness {
        Harness::world_with(
            world,
            SimOptions {
                timeout_fault_hold: Duration::from_millis(20),
                ..SimOptions::for_tests()
            },
        )
        .await
    }

    async fn world_with(world: World, options: SimOptions) -> Harness {
        let simulator = Simulator::new(world, options).expect("the world seeds");
        let running = simulator
            .spawn("127.0.0.1:0".parse().expect("address"))
            .await
            .expect("the simulator listens");
        let tenants = simulator.tenants();
        let data = tempfile::tempdir().expect("a temporary directory");
        let store = fusion_store::open_with_options(
            &format!("sqlite://{}", data.path().join("fusion.db").display()),
            SecretKey::generate(),
            StoreOptions::for_tests(),
        )
        .await
        .expect("a fresh SQLite store opens");

        let contoso = register(store.as_ref(), tenant(&tenants, CONTOSO)).await;
        let northwind = register(store.as_ref(), tenant(&tenants, NORTHWIND)).await;
        let settings = AutotaskSettings {
            integration_code: Some(tenants[0].integration_code.clone()),
            transport_override: Some(
                TransportOverride::parse(running.base_url()).expect("loopback override"),
            ),
            request_timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(5),
            retry: RetryPolicy {
                max_attempts: 4,
                initial_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(5),
            },
            ..AutotaskSettings::default()
        };
        let side = |org_id: OrgId, tenant_name: &'static str| {
            let user = active_user(tenant(&tenants, tenant_name));
            (org_id, tenant_name, user.0, user.1)
        };
        let (source_org, source_name, source_user, source_secret) = side(contoso, CONTOSO);
        let (target_org, target_name, target_user, target_secret) = side(northwind, NORTHWIND);
        let connection = demo_connection::connect_demo_organisations(
            &store,
            &settings,
            &DemoSide {
                org_id: source_org,
                name: source_name,
                api_username: &source_user,
                api_secret: &source_secret,
            },
            &DemoSide {
                org_id: target_org,
                name: target_name,
                api_username: &target_user,
                api_secret: &target_secret,
            },
        )
        .await
        .expect("the demo organisations connect and configure");
        assert!(connection.configured_now);
        assert_eq!(connection.relationship.state, RelationshipState::Active);

        let service = AutotaskService::new(settings).expect("the Autotask service builds");
        let directory = Arc::new(StoreSyncDirectory::new(store.clone(), service.clone()));
        let clock = Arc::new(SystemClock);
        let engine = SyncEngine::new(store.clone(), clock.clone(), EngineSettings::default());
        let sync = SyncService::new(engine.clone(), directory.clone(), store.clone(), clock);
        Harness {
            running,
            store,
            directory,
            engine,
            sync,
            relationship: connection.relationship.id,
            started: OffsetDateTime::now_utc() - time::Duration::minutes(1),
            autotask: service,
            _data: data,
        }
    }

    /// The organisation registered for `name`'s tenant.
    pub(crate) async fn organisation(&self, name: &str) -> OrgId {
        self.store
            .organisations()
            .await
            .expect("organisations")
            .into_iter()
            .find(|org| org.name == name)
            .map(|org| org.id)
            .expect("the organisation exists")
    }

    pub(crate) fn simulator(&self) -> &Simulator {
        self.running.simulator()
    }

    /// The first, manual run: since just before the test began (sets the baseline).
    pub(crate) async fn manual_run(&self) -> RunSummary {
        self.sync
            .run(
                self.relationship,
                SyncMode::Manual {
                    since: self.started,
                },
            )
            .await
            .expect("the manual run runs")
    }

    /// A later run, since where the last one stopped.
    pub(crate) async fn automatic_run(&self) -> RunSummary {
        self.sync
            .run(self.relationship, SyncMode::Automatic)
            .await
            .expect("the automatic run runs")
    }

    /// Contoso's company record for its provider, Northwind IT (the send filter).
    fn provider_company_in_contoso(&self) -> i64 {
        self.simulator()
            .records(CONTOSO, EntityKind::Companies)
            .into_iter()
            .find(|company| company["companyName"] == NORTHWIND)
            .and_then(|company| company["id"].as_i64())
            .expect("Contoso has Northwind IT as a company")
    }

    /// A person at Contoso raises a ticket for the provider: status "With Provider" (12),
    /// priority "Low" (5), in Contoso's own queue.
    pub(crate) fn raise_in_contoso(&self, title: &str) -> i64 {
        self.simulator()
            .ui_create_ticket(
                CONTOSO,
                CONTOSO_PERSON,
                json!({
                    "title": title,
                    "description": format!("{title}: details from the shop floor."),
                    "companyID": self.provider_company_in_contoso(),
                    "status": 12,
                    "priority": 5,
                    "queueID": 30100001,
                }),
            )
            .expect("the ticket is raised")
    }

    /// Requests the simulator answered since its log was last cleared, by tenant and route.
    fn requests_by_route(&self) -> std::collections::BTreeMap<String, u64> {
        let mut counts = std::collections::BTreeMap::new();
        for request in self.simulator().request_log() {
            let tenant = request.tenant.as_deref().unwrap_or("(discovery)");
            *counts
                .entry(format!("{tenant}: {}", request.route))
                .or_insert(0) += 1;
        }
        counts
    }

    pub(crate) fn ticket(&self, tenant: &str, id: i64) -> Value {
        self.simulator()
            .record(tenant, EntityKind::Tickets, id)
            .expect("the ticket exists")
    }

    /// Northwind's copies of a Contoso ticket (by the sync's `externalID` marker).
    pub(crate) fn copies_in_northwind(&self, contoso_ticket: i64) -> Vec<Value> {
        let marker = TicketMarker::for_copy_of(
            self.relationship,
            fusion_domain::Role::Source,
            &TicketId::new(contoso_ticket.to_string()),
        );
        self.simulator()
            .records(NORTHWIND, EntityKind::Tickets)
            .into_iter()
            .filter(|ticket| ticket["externalID"].as_str() == Some(marker.as_str()))
            .collect()
    }

    pub(crate) fn the_copy_in_northwind(&self, contoso_ticket: i64) -> Value {
        let copies = self.copies_in_northwind(contoso_ticket);
        assert_eq!(copies.len(), 1, "exactly one copy: {copies:#?}");
        copies.into_iter().next().expect("one copy")
    }

    pub(crate) fn notes(&self, tenant: &str, ticket: i64) -> Vec<Value> {
        self.simulator()
            .records(tenant, EntityKind::TicketNotes)
            .into_iter()
            .filter(|note| note["ticketID"].as_i64() == Some(ticket))
            .collect()
    }

    /// Northwind's value of a list, by label.
    fn northwind_value(&self, list_label: &str) -> i64 {
        match list_label {
            "status:In Progress" => 8,
            "status:Complete" => self
                .simulator()
                .complete_status(NORTHWIND)
                .expect("Northwind has Complete"),
            "priority:Low" => 3,
            other => panic!("unknown value {other}"),
        }
    }

    fn company_in_northwind(&self, name: &str) -> i64 {
        self.simulator()
            .records(NORTHWIND, EntityKind::Companies)
            .into_iter()
            .find(|company| company["companyName"] == name)
            .and_then(|company| company["id"].as_i64())
            .expect("the company exists in Northwind")
    }
}

pub(super) fn tenant<'a>(tenants: &'a [TenantInfo], name: &str) -> &'a TenantInfo {
    crate::cluster::tenant(tenants, name).expect("the demo tenant exists")
}

pub(super) fn active_user(tenant: &TenantInfo) -> (String, String) {
    crate::cluster::active_user(tenant).expect("an active API user")
}

/// The organisation for a tenant with its Autotask credentials, as `fusion demo` registers it.
pub(super) async fn register(store: &dyn Store, tenant: &TenantInfo) -> OrgId {
    crate::cluster::register(store, tenant)
        .await
        .expect("the organisation is registered")
}

fn assert_status(summary: &RunSummary, expected: RunStatus) {
    assert_eq!(
        summary.status, expected,
        "run status (error: {:?}, records: {:#?})",
        summary.error, summary.records
    );
}

#[tokio::test]
async fn a_ticket_raised_in_contoso_appears_once_in_northwind_mapped_and_composed() {
    let harness = Harness::demo().await;
    let raised = harness.raise_in_contoso("Press line 3 controller offline");

    harness.simulator().clear_request_log();
    let first = harness.manual_run().await;
    let first_requests = harness.requests_by_route();
    assert_status(&first, RunStatus::Success);
    assert_eq!(first.counts.created, 1, "{:#?}", first.records);

    let copy = harness.the_copy_in_northwind(raised);
    let original = harness.ticket(CONTOSO, raised);
    assert_eq!(copy["title"], "Press line 3 controller offline");
    assert_eq!(
        copy["status"].as_i64(),
        Some(harness.northwind_value("status:In Progress")),
        "Contoso's \"With Provider\" is Northwind's \"In Progress\""
    );
    assert_eq!(
        copy["priority"].as_i64(),
        Some(harness.northwind_value("priority:Low")),
        "Contoso's Low (5) is Northwind's Low (3)"
    );
    assert_eq!(
        copy["companyID"].as_i64(),
        Some(harness.company_in_northwind(CONTOSO)),
        "the copy belongs to the customer's company in Northwind"
    );
    assert_eq!(copy["queueID"].as_i64(), Some(29683354), "Level I Support");
    let description = copy["description"].as_str().expect("a description");
    let number = original["ticketNumber"].as_str().expect("a ticket number");
    assert!(
        description.starts_with(&format!("Customer ticket: {number}")),
        "{description}"
    );
    assert!(number.starts_with('T'), "{number}");
    assert!(
        description.contains("details from the shop floor"),
        "{description}"
    );

    let readiness = harness
        .store
        .relationship(harness.relationship)
        .await
        .expect("the store answers")
        .expect("the relationship exists")
        .readiness;
    assert_eq!(readiness, SyncReadiness::ReadyForAutomaticSync);
    let scheduled = || async {
        harness
            .directory
            .automatic_relationships()
            .await
            .expect("the directory answers")
    };
    assert!(
        scheduled().await.is_empty(),
        "ready, but automatic sync is not switched on yet"
    );
    let every_ten_minutes =
        fusion_domain::sync::SyncSchedule::new(true, time::Duration::minutes(10))
            .expect("a valid interval");
    harness
        .store
        .set_sync_schedule(
            harness.relationship,
            &every_ten_minutes,
            OffsetDateTime::now_utc(),
        )
        .await
        .expect("saved");
    let on = scheduled().await;
    assert_eq!(on.len(), 1);
    assert_eq!(on[0].interval, time::Duration::minutes(10));

    harness.simulator().clear_request_log();
    let second = harness.automatic_run().await;
    let second_requests = harness.requests_by_route();
    assert_eq!(second.counts.created, 0, "{:#?}", second.records);
    assert_eq!(second.counts.failed, 0, "{:#?}", second.records);
    assert_eq!(harness.copies_in_northwind(raised).len(), 1);
    let total = |requests: &std::collections::BTreeMap<String, u64>| requests.values().sum::<u64>();
    eprintln!(
        "first run (manual, one create): {} engine calls, {} requests with setup {first_requests:#?}\n\
         second run (nothing to do): {} engine calls, {} requests with setup {second_requests:#?}",
        first.calls_used,
        total(&first_requests),
        second.calls_used,
        total(&second_requests),
    );
    assert_eq!(
        total(&second_requests),
        second.calls_used,
        "a later run spends requests on the sync only (zone and choices are kept): {second_requests:#?}"
    );
    assert_eq!(
        second.run.as_ref().map(|run| run.calls_used),
        Some(second.calls_used),
        "the run's history records the calls it used"
    );
}

#[tokio::test]
async fn public_notes_reach_northwind_attributed_and_internal_ones_stay_home() {
    let harness = Harness::demo().await;
    let raised = harness.raise_in_contoso("Label printer offline");
    assert_status(&harness.manual_run().await, RunStatus::Success);
    let copy_id = harness.the_copy_in_northwind(raised)["id"]
        .as_i64()
        .expect("an id");
    let notes_before = harness.notes(NORTHWIND, copy_id).len();

    harness
        .simulator()
        .ui_add_note(
            CONTOSO,
            CONTOSO_PERSON,
            raised,
            json!({"title": "Update", "description": "It happens after every restart.", "noteType": 1, "publish": 1}),
        )
        .expect("public note added");
    harness
        .simulator()
        .ui_add_note(
            CONTOSO,
            CONTOSO_PERSON,
            raised,
            json!({"title": "Internal", "description": "Budget code 4471, do not share.", "noteType": 7, "publish": 2}),
        )
        .expect("internal note added");

    let run = harness.automatic_run().await;
    assert_status(&run, RunStatus::Success);
    let notes = harness.notes(NORTHWIND, copy_id);
    assert_eq!(notes.len(), notes_before + 1, "{notes:#?}");
    let copied = notes.last().expect("the copied note");
    let body = copied["description"].as_str().expect("a body");
    assert!(
        body.starts_with("From Contoso Manufacturing \u{2014} Alex Morgan:\n"),
        "{body}"
    );
    assert!(body.ends_with("It happens after every restart."), "{body}");
    assert_eq!(copied["noteType"].as_i64(), Some(1), "Task Notes");
    assert_eq!(copied["publish"].as_i64(), Some(1), "All Autotask Users");
    assert!(
        notes
            .iter()
            .all(|note| !note["description"].as_str().unwrap_or("").contains("4471")),
        "the internal note stays in Contoso"
    );
}

#[tokio::test]
async fn the_technicians_public_note_flows_back_to_contoso_and_nothing_echoes() {
    let harness = Harness::demo().await;
    let raised = harness.raise_in_contoso("Scanner not scanning");
    assert_status(&harness.manual_run().await, RunStatus::Success);
    let copy_id = harness.the_copy_in_northwind(raised)["id"]
        .as_i64()
        .expect("an id");

    harness
        .simulator()
        .ui_add_note(
            NORTHWIND,
            NORTHWIND_TECHNICIAN,
            copy_id,
            json!({"title": "Onsite", "description": "Replaced the USB cable; please try again.", "noteType": 1, "publish": 1}),
        )
        .expect("the technician's note is added");
    let contoso_before = harness.notes(CONTOSO, raised).len();
    let run = harness.automatic_run().await;
    assert_status(&run, RunStatus::Success);

    let contoso_notes = harness.notes(CONTOSO, raised);
    assert_eq!(
        contoso_notes.len(),
        contoso_before + 1,
        "{contoso_notes:#?}"
    );
    let body = contoso_notes
        .last()
        .and_then(|note| note["description"].as_str())
        .expect("a body");
    assert!(
        body.starts_with("From Northwind IT \u{2014} Jane Doe:\n"),
        "{body}"
    );
    assert!(body.ends_with("Replaced the USB cable; please try again."));

    // Our own note in Contoso must not travel back to Northwind, now or later.
    let northwind_notes = harness.notes(NORTHWIND, copy_id).len();
    for _ in 0..2 {
        let quiet = harness.automatic_run().await;
        assert_eq!(quiet.counts.failed, 0, "{:#?}", quiet.records);
        assert!(
            !quiet.plan.actions().any(SyncAction::writes),
            "nothing left to write: {:#?}",
            quiet.plan
        );
    }
    assert_eq!(harness.notes(NORTHWIND, copy_id).len(), northwind_notes);
    assert_eq!(harness.notes(CONTOSO, raised).len(), contoso_before + 1);
}

#[tokio::test]
async fn closing_in_contoso_closes_the_copy_with_northwinds_complete() {
    let harness = Harness::demo().await;
    let raised = harness.raise_in_contoso("Badge reader at gate 2");
    assert_status(&harness.manual_run().await, RunStatus::Success);
    let copy_id = harness.the_copy_in_northwind(raised)["id"]
        .as_i64()
        .expect("an id");

    harness
        .simulator()
        .ui_close_ticket(CONTOSO, CONTOSO_PERSON, raised)
        .expect("closed in Contoso");
    let run = harness.automatic_run().await;
    assert_status(&run, RunStatus::Success);
    assert_eq!(run.counts.closed, 1, "{:#?}", run.records);
    assert_eq!(
        harness.ticket(NORTHWIND, copy_id)["status"].as_i64(),
        Some(harness.northwind_value("status:Complete"))
    );
}

#[tokio::test]
async fn a_create_that_timed_out_after_landing_is_not_created_again() {
    let harness = Harness::demo().await;
    let raised = harness.raise_in_contoso("Conveyor belt sensor");

    let mut setup = harness
        .directory
        .setup(harness.relationship)
        .await
        .expect("the setup loads");
    // Northwind's platform, with the simulator told to time out (after applying it) the very
    // next `POST Tickets` — the create the engine is about to send.
    let simulator = harness.simulator().clone();
    setup.target.platform = Arc::new(Interrupting::before(
        setup.target.platform.clone(),
        Write::CreateTicket,
        move || {
            simulator.inject_fault(
                FaultRule::new(FaultKind::TimeoutAfterWrite)
                    .for_tenant(NORTHWIND)
                    .on_endpoint("Tickets")
                    .on_method("POST")
                    .times(1),
            );
        },
    ));
    harness.simulator().clear_request_log();
    let ambiguous = harness
        .engine
        .sync_once(
            &setup,
            SyncMode::Manual {
                since: harness.started,
            },
        )
        .await
        .expect("the run runs");
    let creates_sent = |harness: &Harness| {
        harness
            .simulator()
            .request_log()
            .iter()
            .filter(|request| {
                request.tenant.as_deref() == Some(NORTHWIND)
                    && request.route == "POST /V1.0/Tickets"
            })
            .map(|request| request.status)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        creates_sent(&harness),
        vec![504],
        "one create was sent, and its answer timed out"
    );
    // The engine looked the ticket up by its marker instead of sending the create again.
    assert_eq!(ambiguous.counts.failed, 0, "{:#?}", ambiguous.records);
    assert_eq!(ambiguous.counts.created, 1, "{:#?}", ambiguous.records);
    harness.the_copy_in_northwind(raised);

    for mode in [
        SyncMode::Manual {
            since: harness.started,
        },
        SyncMode::Automatic,
    ] {
        let next = harness
            .sync
            .run(harness.relationship, mode)
            .await
            .expect("the next run runs");
        assert_eq!(next.counts.failed, 0, "{:#?}", next.records);
        assert_eq!(next.counts.created, 0, "{:#?}", next.records);
    }
    assert_eq!(creates_sent(&harness), vec![504], "never created again");
    harness.the_copy_in_northwind(raised);
}

#[tokio::test]
async fn the_dry_run_lists_exactly_what_the_real_run_then_does() {
    let harness = Harness::demo().await;
    let first = harness.raise_in_contoso("Forklift charger fault");
    assert_status(&harness.manual_run().await, RunStatus::Success);
    let copy_id = harness.the_copy_in_northwind(first)["id"]
        .as_i64()
        .expect("an id");
    let second = harness.raise_in_contoso("Canteen card terminal");
    harness
        .simulator()
        .ui_add_note(
            NORTHWIND,
            NORTHWIND_TECHNICIAN,
            copy_id,
            json!({"title": "Parts", "description": "Charger ordered.", "noteType": 1, "publish": 1}),
        )
        .expect("note added");
    harness
        .simulator()
        .ui_close_ticket(CONTOSO, CONTOSO_PERSON, first)
        .expect("closed");

    let northwind_before = harness.simulator().records(NORTHWIND, EntityKind::Tickets);
    let contoso_notes_before = harness
        .simulator()
        .records(CONTOSO, EntityKind::TicketNotes);
    let dry = harness
        .sync
        .run(harness.relationship, SyncMode::DryRun { since: None })
        .await
        .expect("the dry run runs");
    assert!(dry.run.is_none(), "a dry run records no run");
    assert_eq!(
        harness.simulator().records(NORTHWIND, EntityKind::Tickets),
        northwind_before,
        "the dry run wrote nothing"
    );
    assert_eq!(
        harness
            .simulator()
            .records(CONTOSO, EntityKind::TicketNotes),
        contoso_notes_before
    );

    let real = harness.automatic_run().await;
    assert_status(&real, RunStatus::Success);
    let writes = |summary: &RunSummary| -> Vec<SyncAction> {
        summary
            .plan
            .actions()
            .filter(|action| action.writes())
            .cloned()
            .collect()
    };
    assert_eq!(writes(&dry), writes(&real));
    assert!(
        writes(&real).len() >= 3,
        "a create, a comment and a close: {:#?}",
        real.plan
    );
    assert_eq!(real.counts.created, 1);
    assert_eq!(real.counts.closed, 1);
    harness.the_copy_in_northwind(second);
}

/// The one test here that runs the built binary: `fusion sync` against the database and
/// simulator of a running `fusion demo`, as a person would after starting the demo.
#[tokio::test(flavor = "multi_thread")]
async fn fusion_sync_runs_the_demo_connection_from_the_command_line() {
    use crate::process::{Served, fusion, run};

    let data_dir = std::env::temp_dir().join(format!("fusion-it-sync-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let data_dir_text = data_dir.display().to_string();
    let demo_dir = data_dir_text.clone();
    let demo = tokio::task::spawn_blocking(move || {
        Served::start(fusion(
            &[
                "demo",
                "--listen",
                "127.0.0.1:0",
                "--data-dir",
                &demo_dir,
                "--manual-sync",
            ],
            &[],
        ))
    })
    .await
    .expect("the demo starts");
    let relationship = demo.ready["relationship_id"]
        .as_str()
        .expect("the ready line names the connection")
        .to_owned();
    let simulator_url = demo.ready["simulator"]["url"]
        .as_str()
        .expect("the ready line names the simulator")
        .to_owned();
    let integration_code = demo.ready["simulator"]["integration_code"]
        .as_str()
        .expect("the ready line names the integration code")
        .to_owned();
    // The demo world's tickets are a few hours old at most.
    let since = (OffsetDateTime::now_utc() - time::Duration::days(1))
        .date()
        .to_string();
    let sync = |extra: &[&str]| {
        let mut args = vec![
            "sync",
            "--relationship",
            relationship.as_str(),
            "--data-dir",
            data_dir_text.as_str(),
            "--json",
        ];
        args.extend_from_slice(extra);
        let command = fusion(
            &args,
            &[
                ("FUSION_AUTOTASK_OVERRIDE", simulator_url.as_str()),
                (
                    "FUSION_AUTOTASK_INTEGRATION_CODE",
                    integration_code.as_str(),
                ),
            ],
        );
        let finished = run(command, None);
        let report: Value = serde_json::from_str(finished.stdout.trim())
            .unwrap_or_else(|_| panic!("one JSON object on stdout: {}", finished.all_output()));
        (finished, report)
    };

    let without_baseline = run(
        fusion(
            &[
                "sync",
                "--relationship",
                relationship.as_str(),
                "--data-dir",
                data_dir_text.as_str(),
            ],
            &[],
        ),
        None,
    );
    assert_eq!(
        without_baseline.code,
        Some(2),
        "{}",
        without_baseline.all_output()
    );
    assert!(
        without_baseline
            .stderr
            .contains("the first sync needs a start date"),
        "{}",
        without_baseline.stderr
    );

    let (dry, dry_report) = sync(&["--since", &since, "--dry-run"]);
    assert_eq!(dry.code, Some(0), "{}", dry.all_output());
    assert_eq!(dry_report["dry_run"], true);
    let planned = dry_report["actions"].as_array().expect("actions").clone();
    assert!(
        planned.iter().any(|action| action
            .as_str()
            .is_some_and(|text| text.starts_with("create a ticket in the Target"))),
        "{dry_report:#}"
    );

    let (real, real_report) = sync(&["--since", &since]);
    assert_eq!(real.code, Some(0), "{}", real.all_output());
    assert_eq!(real_report["status"], "Success", "{real_report:#}");
    assert_eq!(
        real_report["actions"],
        Value::Array(planned),
        "the dry run was right"
    );
    assert!(
        real_report["created"].as_u64().unwrap_or(0) >= 1,
        "{real_report:#}"
    );
    assert!(real_report["calls_used"].as_u64().unwrap_or(0) > 0);

    let (again, again_report) = sync(&[]);
    assert_eq!(again.code, Some(0), "{}", again.all_output());
    assert_eq!(again_report["created"], 0, "{again_report:#}");

    let _ = tokio::task::spawn_blocking(move || demo.terminate()).await;
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[tokio::test]
async fn a_side_that_overrides_the_api_settings_syncs_with_the_connections_own_credentials() {
    let harness = Harness::demo().await;
    let relationship = harness
        .store
        .relationship(harness.relationship)
        .await
        .expect("the store answers")
        .expect("the relationship exists");
    let northwind = relationship.target_org().expect("a target");
    let tenants = harness.simulator().tenants();
    let northwind_tenant = tenant(&tenants, NORTHWIND);
    let (username, secret) = active_user(northwind_tenant);
    let update = |secret: &str| CredentialsUpdate {
        platform: PlatformKind::Autotask,
        api_url: northwind_tenant.api_url.clone(),
        username: username.clone(),
        secret: Some(SecretString::from(secret.to_owned())),
        integration_code_override: None,
    };
    // The organisation's own secret no longer works; the connection's override does.
    harness
        .store
        .save_platform_credentials(northwind, None, update("not-the-secret"))
        .await
        .expect("saved");
    let mut config = harness
        .store
        .integration_config(harness.relationship, northwind)
        .await
        .expect("the store answers")
        .expect("configured");
    config.override_api_settings = true;
    harness
        .store
        .save_integration_config(harness.relationship, northwind, &config)
        .await
        .expect("saved");

    let missing = harness
        .directory
        .setup(harness.relationship)
        .await
        .expect_err("no override credentials yet");
    assert!(
        missing
            .to_string()
            .contains("enter them in this connection's API settings"),
        "{missing}"
    );

    harness
        .store
        .save_relationship_credentials(harness.relationship, northwind, None, update(&secret))
        .await
        .expect("saved");
    let raised = harness.raise_in_contoso("Robot arm calibration");
    assert_status(&harness.manual_run().await, RunStatus::Success);
    harness.the_copy_in_northwind(raised);
}

#[tokio::test]
async fn credentials_revoked_between_runs_give_a_failed_run_with_the_reason() {
    let harness = Harness::demo().await;
    assert_status(&harness.manual_run().await, RunStatus::NoTicketsFound);
    let tenants = harness.simulator().tenants();
    let (username, _) = active_user(tenant(&tenants, NORTHWIND));
    assert!(
        harness
            .simulator()
            .set_api_user_active(NORTHWIND, &username, false)
    );
    harness.raise_in_contoso("Compressor alarm");

    let run = harness.automatic_run().await;
    assert_status(&run, RunStatus::Failed);
    let error = run.error.clone().unwrap_or_default();
    assert!(error.contains("authentication"), "{error}");
    assert!(
        run.run
            .as_ref()
            .is_some_and(|stored| stored.status == RunStatus::Failed),
        "the history shows the failed run"
    );
    assert!(
        harness
            .simulator()
            .records(NORTHWIND, EntityKind::Tickets)
            .iter()
            .all(|ticket| ticket["title"] != "Compressor alarm")
    );
}

#[tokio::test]
async fn credentials_rejected_before_the_run_say_what_to_fix() {
    let harness = Harness::demo().await;
    let tenants = harness.simulator().tenants();
    let (username, _) = active_user(tenant(&tenants, CONTOSO));
    assert!(
        harness
            .simulator()
            .set_api_user_active(CONTOSO, &username, false)
    );
    let error = harness
        .directory
        .setup(harness.relationship)
        .await
        .expect_err("Contoso's API user is inactive");
    assert!(
        matches!(error, fusion_engine::SetupError::NotReady(_)),
        "a person must fix it, waiting does not help: {error:?}"
    );
    assert!(
        error.to_string().contains("Contoso Manufacturing"),
        "{error}"
    );
}

#[tokio::test]
async fn an_attachment_in_contoso_arrives_in_northwind_with_its_content_once() {
    let harness = Harness::demo().await;
    let raised = harness.raise_in_contoso("Welding robot error codes");
    assert_status(&harness.manual_run().await, RunStatus::Success);
    let copy_id = harness.the_copy_in_northwind(raised)["id"]
        .as_i64()
        .expect("an id");
    let content = b"E42 at 03:12\nE17 at 03:15\n".to_vec();
    harness
        .simulator()
        .ui_add_attachment(CONTOSO, CONTOSO_PERSON, raised, "robot.log", &content, 1)
        .expect("attached in Contoso");

    let attachments_of = |tenant: &str, ticket: i64| -> Vec<Value> {
        harness
            .simulator()
            .records(tenant, EntityKind::TicketAttachments)
            .into_iter()
            .filter(|attachment| {
                attachment["parentID"].as_i64() == Some(ticket)
                    || attachment["ticketID"].as_i64() == Some(ticket)
            })
            .collect()
    };
    for _ in 0..2 {
        let run = harness.automatic_run().await;
        assert_eq!(run.counts.failed, 0, "{:#?}", run.records);
    }
    let copied = attachments_of(NORTHWIND, copy_id);
    assert_eq!(copied.len(), 1, "{copied:#?}");
    assert_eq!(copied[0]["title"], "robot.log");
    let data = copied[0]["data"].as_str().expect("the content");
    use base64::Engine as _;
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(data)
            .expect("base64"),
        content
    );
    assert_eq!(attachments_of(CONTOSO, raised).len(), 1, "not echoed back");
}

#[tokio::test]
async fn closing_the_copy_in_northwind_closes_the_original_in_contoso() {
    let harness = Harness::demo().await;
    let raised = harness.raise_in_contoso("Coffee machine leaking");
    assert_status(&harness.manual_run().await, RunStatus::Success);
    let copy_id = harness.the_copy_in_northwind(raised)["id"]
        .as_i64()
        .expect("an id");
    harness
        .simulator()
        .ui_close_ticket(NORTHWIND, NORTHWIND_TECHNICIAN, copy_id)
        .expect("closed in Northwind");
    let run = harness.automatic_run().await;
    assert_status(&run, RunStatus::Success);
    assert_eq!(run.counts.closed, 1, "{:#?}", run.records);
    assert_eq!(
        harness.ticket(CONTOSO, raised)["status"].as_i64(),
        harness.simulator().complete_status(CONTOSO)
    );
}

#[tokio::test]
async fn an_unmapped_priority_falls_back_to_the_default_and_the_record_says_which_field() {
    let harness = Harness::demo().await;
    let mut mappings = harness
        .store
        .field_mappings(harness.relationship)
        .await
        .expect("the store answers");
    let priority = mappings
        .iter_mut()
        .find(|mapping| mapping.source_field == "priority")
        .expect("priority is mapped");
    // Nobody mapped Contoso's "Low" (5).
    priority
        .value_mappings
        .retain(|pair| pair.source != ChoiceValue::from(5));
    harness
        .store
        .replace_field_mappings(harness.relationship, &mappings)
        .await
        .expect("saved");
    let raised = harness.raise_in_contoso("Paint booth fan noisy");

    let run = harness.manual_run().await;
    assert_status(&run, RunStatus::Success);
    let named = run.plan.actions().any(|action| {
        matches!(action, SyncAction::FieldWarning { field, reason }
            if field == "priority" && reason.contains("Low"))
    });
    assert!(
        named,
        "the warning names the field and the value: {:#?}",
        run.plan
    );
    assert!(
        run.records
            .iter()
            .any(|record| record.notes.iter().any(|note| note.contains("priority"))),
        "history shows which field: {:#?}",
        run.records
    );
    // The ticket arrives with the receiving side's default priority.
    let copy = harness.the_copy_in_northwind(raised);
    assert_eq!(
        copy["priority"].as_i64(),
        Some(2),
        "Northwind's default (Medium)"
    );
}

/// Raises a ticket in Contoso with `description`, syncs, and returns the copy and the run.
async fn synced_with_description(
    harness: &Harness,
    title: &str,
    description: &str,
) -> (Value, RunSummary) {
    let raised = harness
        .simulator()
        .ui_create_ticket(
            CONTOSO,
            CONTOSO_PERSON,
            json!({
                "title": title,
                "description": description,
                "companyID": harness.provider_company_in_contoso(),
                "status": 12,
                "priority": 5,
                "queueID": 30100001,
            }),
        )
        .expect("the ticket is raised");
    let run = harness.manual_run().await;
    (harness.the_copy_in_northwind(raised), run)
}

#[tokio::test]
async fn a_description_longer_than_autotask_takes_is_cut_with_a_marker_and_kept_whole_in_a_note() {
    let harness = Harness::demo().await;
    // What the composition adds in front of a description (ticket number, contact, …).
    let (probe, _) = synced_with_description(&harness, "Probe", "x").await;
    let overhead = probe["description"].as_str().expect("text").chars().count() - 1;

    // Exactly at Northwind's 8,000-character limit once composed: arrives whole.
    let at_limit = "\u{5E9}".repeat(8_000 - overhead);
    let (copy, run) = synced_with_description(&harness, "At the limit", &at_limit).await;
    assert_status(&run, RunStatus::Success);
    let description = copy["description"].as_str().expect("text");
    assert_eq!(description.chars().count(), 8_000);
    assert!(description.ends_with(&at_limit));
    assert!(!description.contains("truncated"));

    // Beyond it once composed (Contoso's own field takes 8,000), with emoji, right-to-left
    // text, combining marks and HTML that must stay text.
    let family = "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}";
    let long = format!(
        "<b>Not bold</b> {}{}{} END",
        family.repeat(400),
        "e\u{301}".repeat(1_500),
        "\u{5E9}\u{5DC}\u{5D5}\u{5DD} ".repeat(590)
    );
    assert!(long.chars().count() <= 8_000 && long.chars().count() + overhead > 8_000);
    let (copy, run) = synced_with_description(&harness, "Too long", &long).await;
    assert_status(&run, RunStatus::Success);
    assert_eq!(run.counts.created, 1);
    let description = copy["description"].as_str().expect("text");
    assert!(
        description.ends_with(fusion_domain::sync::TRUNCATION_MARKER),
        "{description}"
    );
    assert!(description.chars().count() <= 8_000);
    assert!(
        description.contains("<b>Not bold</b>"),
        "HTML is carried as text"
    );
    assert!(
        run.records[0]
            .notes
            .iter()
            .any(|note| note.contains("Description") && note.contains("cut")),
        "the record says what was fitted: {:?}",
        run.records[0].notes
    );
    // The full text is on the copy as notes, intact.
    let copy_id = copy["id"].as_i64().expect("an id");
    let notes = harness.notes(NORTHWIND, copy_id);
    let full: String = notes
        .iter()
        .filter_map(|note| note["description"].as_str())
        .filter_map(|text| {
            text.split_once("(cut to fit this field):\n")
                .map(|(_, rest)| rest.to_owned())
        })
        .collect();
    assert!(
        full.ends_with(&long),
        "the whole description, emoji and all, is in the notes"
    );
    // Nothing about it is retried or echoed: the next run has nothing to do.
    let next = harness.automatic_run().await;
    assert_eq!(next.counts.failed, 0, "{:#?}", next.records);
    assert_eq!(
        harness
            .copies_in_northwind(harness.raise_in_contoso("Unrelated"))
            .len(),
        0
    );
}

#[tokio::test]
async fn a_ticket_deleted_in_contoso_closes_its_copy_with_a_note_and_is_never_synced_again() {
    let harness = Harness::demo().await;
    let raised = harness.raise_in_contoso("Forklift battery swelling");
    assert_status(&harness.manual_run().await, RunStatus::Success);
    let copy_id = harness.the_copy_in_northwind(raised)["id"]
        .as_i64()
        .expect("an id");
    harness
        .simulator()
        .ui_delete_ticket(CONTOSO, CONTOSO_PERSON, raised)
        .expect("deleted in Contoso");

    let run = harness.automatic_run().await;
    assert_status(&run, RunStatus::Success);
    let copy = harness.ticket(NORTHWIND, copy_id);
    assert_eq!(
        copy["status"].as_i64(),
        Some(harness.northwind_value("status:Complete")),
        "closed with the configured closure status"
    );
    let notes = harness.notes(NORTHWIND, copy_id);
    assert!(
        notes.iter().any(|note| note["description"]
            .as_str()
            .is_some_and(|text| text.contains("was deleted") && text.contains("Alex Morgan"))),
        "the copy says who deleted the original: {notes:#?}"
    );
    assert!(
        run.records.iter().any(|record| record
            .notes
            .iter()
            .any(|note| note.contains("No longer synced"))),
        "{:#?}",
        run.records
    );
    // Work on the copy goes nowhere, and nothing is created again.
    harness
        .simulator()
        .ui_add_note(NORTHWIND, NORTHWIND_TECHNICIAN, copy_id, json!({"title": "Done", "description": "Replaced the battery", "noteType": 1, "publish": 1}))
        .expect("noted");
    let later = harness.automatic_run().await;
    assert_eq!(
        later.counts.created + later.counts.updated + later.counts.failed,
        0,
        "{:#?}",
        later.records
    );
    assert_eq!(
        harness
            .simulator()
            .records(CONTOSO, EntityKind::Tickets)
            .iter()
            .filter(|ticket| ticket["title"] == "Forklift battery swelling")
            .count(),
        0
    );
}

#[tokio::test]
async fn a_copy_deleted_in_northwind_closes_the_original_in_contoso_with_a_note() {
    let harness = Harness::demo().await;
    let raised = harness.raise_in_contoso("Badge reader dead");
    assert_status(&harness.manual_run().await, RunStatus::Success);
    let copy_id = harness.the_copy_in_northwind(raised)["id"]
        .as_i64()
        .expect("an id");
    harness
        .simulator()
        .ui_delete_ticket(NORTHWIND, NORTHWIND_TECHNICIAN, copy_id)
        .expect("deleted in Northwind");

    let run = harness.automatic_run().await;
    assert_status(&run, RunStatus::Success);
    let original = harness.ticket(CONTOSO, raised);
    assert_eq!(
        original["status"].as_i64(),
        harness.simulator().complete_status(CONTOSO)
    );
    assert!(
        harness
            .notes(CONTOSO, raised)
            .iter()
            .any(|note| note["description"]
                .as_str()
                .is_some_and(|text| text.contains("Northwind IT") && text.contains("was deleted"))),
        "the original says its copy was deleted"
    );
    // Contoso keeps working the ticket: no new copy is ever made.
    harness
        .simulator()
        .ui_update_ticket(
            CONTOSO,
            CONTOSO_PERSON,
            raised,
            json!({"title": "Badge reader dead (still)"}),
        )
        .expect("edited");
    harness.automatic_run().await;
    assert!(
        harness.copies_in_northwind(raised).is_empty(),
        "never copied again"
    );
}

#[tokio::test]
async fn the_composed_description_names_the_contact_and_the_company_as_the_preview_does() {
    let harness = Harness::demo().await;
    let contact = harness
        .simulator()
        .records(CONTOSO, EntityKind::Contacts)
        .into_iter()
        .find(|contact| contact["firstName"].is_string() && contact["lastName"].is_string())
        .expect("Contoso has a named contact");
    let contact_id = contact["id"].as_i64().expect("a contact id");
    let name = format!(
        "{} {}",
        contact["firstName"].as_str().unwrap_or_default(),
        contact["lastName"].as_str().unwrap_or_default()
    );
    let raised = harness
        .simulator()
        .ui_create_ticket(
            CONTOSO,
            CONTOSO_PERSON,
            json!({
                "title": "Scanner at goods-in does not boot",
                "description": "Since the power cut.",
                "companyID": harness.provider_company_in_contoso(),
                "contactID": contact_id,
                "status": 12,
                "priority": 5,
                "queueID": 30100001,
            }),
        )
        .expect("the ticket is raised");

    assert_status(&harness.manual_run().await, RunStatus::Success);
    let copy = harness.the_copy_in_northwind(raised);
    let description = copy["description"].as_str().expect("a description");
    assert!(
        description.contains(&format!("Contact: {name}\n")),
        "the contact's name, not its id: {description}"
    );
    assert!(
        description.contains("Customer priority: Low\n"),
        "{description}"
    );
    assert!(
        description.ends_with("Since the power cut."),
        "{description}"
    );
}
