//! Privacy between relationships, end to end against `fusion sim`: Northwind IT (an MSP) is in
//! three relationships — Contoso Manufacturing, Fabrikam Foods and Tailspin Toys, each represented
//! by its own company in Northwind's one Autotask tenant — with reverse sync switched on in all
//! three. Tickets are raised on both sides for every company, including Northwind's internal ones;
//! every assertion reads the simulated tenants as a person would.

use std::sync::Arc;
use std::time::Duration;

use fusion_autotask::{AutotaskService, AutotaskSettings, RetryPolicy, TransportOverride};
use fusion_autotask_sim::{EntityKind, RunningSimulator, SimOptions, Simulator, World};
use fusion_domain::sync::{RecordOutcome, RunStatus, TicketId, TicketMarker};
use fusion_domain::{Clock as _, OrgId, RelationshipId, Role, SystemClock};
use fusion_engine::{EngineSettings, RunSummary, SyncEngine, SyncMode, SyncService};
use fusion_store::{SecretKey, Store, StoreOptions};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::demo_connection::{self, DemoSide};
use crate::sync_directory::StoreSyncDirectory;
use crate::sync_end_to_end::{active_user, register, tenant};

const MSP: &str = "Northwind IT";
const CUSTOMERS: [&str; 3] = ["Contoso Manufacturing", "Fabrikam Foods", "Tailspin Toys"];
const TECHNICIAN: &str = "jane.doe@northwindit.example";
const CUSTOMER_PERSON: &str = "alex.morgan@contoso.example";

struct MspWorld {
    running: RunningSimulator,
    sync: SyncService,
    store: Arc<dyn Store>,
    /// One relationship per customer, in the order of [`CUSTOMERS`].
    relationships: Vec<RelationshipId>,
    started: OffsetDateTime,
    _data: tempfile::TempDir,
}

impl MspWorld {
    async fn start() -> MspWorld {
        Self::start_with(Arc::new(SystemClock)).await
    }

    /// The world with the sync service's clock (which says when automatic runs are due).
    async fn start_with(clock: Arc<dyn fusion_domain::Clock>) -> MspWorld {
        let world = World::msp_with_customers(&CUSTOMERS[1..]);
        let simulator = Simulator::new(world, SimOptions::for_tests()).expect("the world seeds");
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
        let msp_org = register(store.as_ref(), tenant(&tenants, MSP)).await;
        let (msp_user, msp_secret) = active_user(tenant(&tenants, MSP));
        let mut relationships = Vec::new();
        for customer in CUSTOMERS {
            let org: OrgId = register(store.as_ref(), tenant(&tenants, customer)).await;
            let (user, secret) = active_user(tenant(&tenants, customer));
            let connection = demo_connection::connect_demo_organisations(
                &store,
                &settings,
                &DemoSide {
                    org_id: org,
                    name: customer,
                    api_username: &user,
                    api_secret: &secret,
                },
                &DemoSide {
                    org_id: msp_org,
                    name: MSP,
                    api_username: &msp_user,
                    api_secret: &msp_secret,
                },
            )
            .await
            .expect("the customer connects");
            // Reverse sync on at the MSP's side of every relationship.
            let mut msp_side = store
                .integration_config(connection.relationship.id, msp_org)
                .await
                .expect("reads")
                .expect("configured");
            msp_side.reverse_sync.enabled = true;
            assert_eq!(msp_side.scope_errors(), vec![]);
            store
                .save_integration_config(
                    connection.relationship.id,
                    msp_org,
                    &msp_side.with_scope_filters(),
                )
                .await
                .expect("saves");
            relationships.push(connection.relationship.id);
        }
        let service = AutotaskService::new(settings).expect("the Autotask service builds");
        let directory = Arc::new(StoreSyncDirectory::new(store.clone(), service));
        let engine = SyncEngine::new(store.clone(), clock.clone(), EngineSettings::default());
        let sync = SyncService::new(engine, directory, store.clone(), clock);
        MspWorld {
            running,
            sync,
            store,
            relationships,
            started: OffsetDateTime::now_utc() - time::Duration::minutes(1),
            _data: data,
        }
    }

    fn simulator(&self) -> &Simulator {
        self.running.simulator()
    }

    fn company(&self, tenant: &str, name: &str) -> i64 {
        self.simulator()
            .records(tenant, EntityKind::Companies)
            .into_iter()
            .find(|company| company["companyName"] == name)
            .and_then(|company| company["id"].as_i64())
            .unwrap_or_else(|| panic!("{tenant} has a company {name}"))
    }

    fn raise(&self, tenant: &str, person: &str, company: i64, title: &str) -> i64 {
        let queue = if tenant == MSP { 29683354 } else { 30100001 };
        self.simulator()
            .ui_create_ticket(
                tenant,
                person,
                json!({
                    "title": title,
                    "description": format!("{title} — private to company {company}"),
                    "companyID": company,
                    "status": 1,
                    "priority": 2,
                    "queueID": queue,
                }),
            )
            .expect("the ticket is raised")
    }

    fn note(&self, tenant: &str, person: &str, ticket: i64, text: &str) {
        self.simulator()
            .ui_add_note(
                tenant,
                person,
                ticket,
                json!({"title": "Update", "description": text, "noteType": 1, "publish": 1}),
            )
            .expect("the note is added");
    }

    async fn run_all(&self, first: bool) -> Vec<RunSummary> {
        let mut summaries = Vec::new();
        for relationship in &self.relationships {
            let mode = if first {
                SyncMode::Manual {
                    since: self.started,
                }
            } else {
                SyncMode::Automatic
            };
            let summary = self.sync.run(*relationship, mode).await.expect("runs");
            assert!(
                matches!(
                    summary.status,
                    RunStatus::Success | RunStatus::NoTicketsFound
                ),
                "{:?}: {:?} {:#?}",
                summary.status,
                summary.error,
                summary.records
            );
            summaries.push(summary);
        }
        summaries
    }

    /// Every text in `tenant`: ticket titles and descriptions, note texts, attachment titles.
    fn texts(&self, tenant: &str) -> Vec<String> {
        let simulator = self.simulator();
        let mut texts = Vec::new();
        for entity in [EntityKind::Tickets, EntityKind::TicketNotes] {
            for record in simulator.records(tenant, entity) {
                for field in ["title", "description"] {
                    if let Some(text) = record[field].as_str() {
                        texts.push(text.to_owned());
                    }
                }
            }
        }
        texts
    }

    fn copies_of(
        &self,
        relationship: RelationshipId,
        origin: Role,
        ticket: i64,
        in_tenant: &str,
    ) -> Vec<Value> {
        let marker =
            TicketMarker::for_copy_of(relationship, origin, &TicketId::new(ticket.to_string()));
        self.simulator()
            .records(in_tenant, EntityKind::Tickets)
            .into_iter()
            .filter(|copy| copy["externalID"].as_str() == Some(marker.as_str()))
            .collect()
    }
}

#[tokio::test]
async fn an_msp_in_three_relationships_never_shows_one_customers_tickets_or_notes_to_another() {
    let world = MspWorld::start().await;
    // Northwind raises a ticket for each customer's company and one internal ticket.
    let mut msp_tickets = Vec::new();
    for customer in CUSTOMERS {
        let company = world.company(MSP, customer);
        msp_tickets.push(world.raise(
            MSP,
            TECHNICIAN,
            company,
            &format!("Maintenance window for {customer}"),
        ));
    }
    let internal = world.raise(
        MSP,
        TECHNICIAN,
        world.company(MSP, MSP),
        "Internal: rotate the backup keys",
    );
    // Each customer raises one ticket for Northwind and one of its own that is none of Northwind's business.
    let mut customer_tickets = Vec::new();
    for customer in CUSTOMERS {
        let for_msp = world.raise(
            customer,
            CUSTOMER_PERSON,
            world.company(customer, MSP),
            &format!("{customer}: scanner broken"),
        );
        let own = world.raise(
            customer,
            CUSTOMER_PERSON,
            world.company(customer, customer),
            &format!("{customer}: internal HR ticket"),
        );
        customer_tickets.push((for_msp, own));
    }
    world.run_all(true).await;

    for (index, customer) in CUSTOMERS.iter().enumerate() {
        let relationship = world.relationships[index];
        // Reverse sync brought exactly this customer's ticket over, nothing else of Northwind's.
        for (other, msp_ticket) in msp_tickets.iter().enumerate() {
            let copies = world.copies_of(relationship, Role::Target, *msp_ticket, customer);
            assert_eq!(
                copies.len(),
                usize::from(other == index),
                "{customer} and Northwind's ticket for {}",
                CUSTOMERS[other]
            );
        }
        assert!(
            world
                .copies_of(relationship, Role::Target, internal, customer)
                .is_empty()
        );
        let texts = world.texts(customer);
        for other in CUSTOMERS.iter().filter(|other| *other != customer) {
            assert!(
                !texts.iter().any(|text| text.contains(other)),
                "{customer} sees {other}: {texts:#?}"
            );
        }
        assert!(
            !texts
                .iter()
                .any(|text| text.contains("rotate the backup keys")),
            "{customer} sees an internal ticket"
        );
        // The customer's ticket for Northwind arrived under the customer's company; its own did not.
        let (for_msp, own) = customer_tickets[index];
        let copies = world.copies_of(relationship, Role::Source, for_msp, MSP);
        assert_eq!(copies.len(), 1);
        assert_eq!(
            copies[0]["companyID"].as_i64(),
            Some(world.company(MSP, customer))
        );
        assert!(
            world
                .copies_of(relationship, Role::Source, own, MSP)
                .is_empty()
        );
    }

    // Notes on Northwind's ticket for Fabrikam reach Fabrikam only.
    world.note(
        MSP,
        TECHNICIAN,
        msp_tickets[1],
        "Fabrikam's engineer arrives at 9:00",
    );
    world.note(
        MSP,
        TECHNICIAN,
        internal,
        "Internal: the keys are in the vault",
    );
    world.run_all(false).await;
    assert!(
        world
            .texts("Fabrikam Foods")
            .iter()
            .any(|text| text.contains("arrives at 9:00"))
    );
    for customer in ["Contoso Manufacturing", "Tailspin Toys"] {
        let texts = world.texts(customer);
        assert!(
            !texts
                .iter()
                .any(|text| text.contains("arrives at 9:00") || text.contains("vault")),
            "{customer}: {texts:#?}"
        );
    }
}

#[tokio::test]
async fn a_ticket_moved_to_another_customers_company_stops_flowing_and_resumes_when_moved_back() {
    let world = MspWorld::start().await;
    let contoso = world.raise(
        CUSTOMERS[0],
        CUSTOMER_PERSON,
        world.company(CUSTOMERS[0], MSP),
        "Conveyor belt stops",
    );
    world.run_all(true).await;
    let copy = world.copies_of(world.relationships[0], Role::Source, contoso, MSP);
    let copy_id = copy[0]["id"].as_i64().expect("an id");

    // A technician files the copy under Fabrikam by mistake and writes a note there.
    world
        .simulator()
        .ui_update_ticket(
            MSP,
            TECHNICIAN,
            copy_id,
            json!({"companyID": world.company(MSP, "Fabrikam Foods")}),
        )
        .expect("moved");
    world.note(
        MSP,
        TECHNICIAN,
        copy_id,
        "Fabrikam's warehouse layout attached",
    );
    let summaries = world.run_all(false).await;
    for customer in CUSTOMERS {
        assert!(
            !world
                .texts(customer)
                .iter()
                .any(|text| text.contains("warehouse layout")),
            "{customer}"
        );
    }
    let held: Vec<_> = summaries[0]
        .records
        .iter()
        .filter(|record| record.outcome == RecordOutcome::Held)
        .collect();
    assert_eq!(held.len(), 1, "{:#?}", summaries[0].records);
    assert!(
        held[0]
            .notes
            .iter()
            .any(|note| note.contains("until it moves back")),
        "{:?}",
        held[0].notes
    );
    assert!(
        world
            .copies_of(
                world.relationships[1],
                Role::Target,
                copy_id,
                "Fabrikam Foods"
            )
            .is_empty(),
        "Fabrikam never gets Contoso's ticket"
    );

    // Moved back: the next change flows again.
    world
        .simulator()
        .ui_update_ticket(
            MSP,
            TECHNICIAN,
            copy_id,
            json!({"companyID": world.company(MSP, CUSTOMERS[0])}),
        )
        .expect("moved back");
    let resumed = world.run_all(false).await;
    assert!(
        resumed[0].records.iter().any(|record| record
            .notes
            .iter()
            .any(|note| note.contains("synced again"))),
        "{:#?}",
        resumed[0].records
    );
    world.note(MSP, TECHNICIAN, copy_id, "Technician on site at 14:00");
    world.run_all(false).await;
    let texts = world.texts(CUSTOMERS[0]);
    assert!(
        texts.iter().any(|text| text.contains("on site at 14:00")),
        "{texts:#?}"
    );
    assert!(
        !texts.iter().any(|text| text.contains("warehouse layout")),
        "what was written while it belonged to Fabrikam stays withheld: {texts:#?}"
    );
}

/// The real time, moved ahead on request: the scheduler's next sweep comes due without waiting.
#[derive(Debug, Default)]
struct AheadClock(std::sync::Mutex<time::Duration>);

impl AheadClock {
    fn jump(&self, by: time::Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl fusion_domain::Clock for AheadClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + *self.0.lock().unwrap()
    }
}

/// Scheduler sweeps read Northwind's changes once for its three relationships (issue 15) — and
/// each relationship still carries exactly its own company's tickets, both ways.
#[tokio::test]
async fn a_sweep_reads_the_msps_tenant_once_for_its_three_relationships_and_each_gets_only_its_own()
{
    let clock = Arc::new(AheadClock::default());
    let world = MspWorld::start_with(clock.clone()).await;
    world.run_all(true).await;
    for relationship in &world.relationships {
        world
            .store
            .set_sync_schedule(
                *relationship,
                &fusion_domain::sync::SyncSchedule::new(true, time::Duration::minutes(1))
                    .expect("a valid interval"),
                clock.now(),
            )
            .await
            .expect("automatic sync on");
    }
    let mut msp_tickets = Vec::new();
    for customer in CUSTOMERS {
        let company = world.company(MSP, customer);
        msp_tickets.push(world.raise(
            MSP,
            TECHNICIAN,
            company,
            &format!("Patch night for {customer}"),
        ));
    }
    let internal = world.raise(
        MSP,
        TECHNICIAN,
        world.company(MSP, MSP),
        "Internal: renew certificates",
    );
    let mut customer_tickets = Vec::new();
    for customer in CUSTOMERS {
        customer_tickets.push(world.raise(
            customer,
            CUSTOMER_PERSON,
            world.company(customer, MSP),
            &format!("{customer}: label printer jams"),
        ));
    }

    clock.jump(time::Duration::minutes(2));
    world.simulator().clear_request_log();
    let outcomes = world
        .sync
        .run_due()
        .await
        .expect("the sweep lists its relationships");
    assert_eq!(
        outcomes.len(),
        CUSTOMERS.len(),
        "every relationship ran once"
    );
    for outcome in &outcomes {
        let summary = outcome.result.as_ref().expect("the run ran");
        assert_eq!(summary.status, RunStatus::Success, "{summary:?}");
    }
    let deletion_reads = |tenant: &str| {
        world
            .simulator()
            .request_log()
            .iter()
            .filter(|request| request.tenant.as_deref() == Some(tenant))
            .filter(|request| request.route.contains("DeletedTicketLogs"))
            .count()
    };
    assert_eq!(
        deletion_reads(MSP),
        1,
        "Northwind's deletions read once for three relationships"
    );
    for (index, customer) in CUSTOMERS.iter().enumerate() {
        let relationship = world.relationships[index];
        for (other, ticket) in msp_tickets.iter().enumerate() {
            let copies = world.copies_of(relationship, Role::Target, *ticket, customer);
            let expected = usize::from(other == index);
            assert_eq!(
                copies.len(),
                expected,
                "{customer} has {} copies of Northwind's ticket for {}",
                copies.len(),
                CUSTOMERS[other]
            );
        }
        assert!(
            world
                .copies_of(relationship, Role::Target, internal, customer)
                .is_empty(),
            "Northwind's internal ticket reached {customer}"
        );
        assert_eq!(
            world
                .copies_of(relationship, Role::Source, customer_tickets[index], MSP)
                .len(),
            1,
            "{customer}'s ticket reached Northwind once"
        );
        for text in world.texts(customer) {
            for (other, other_customer) in CUSTOMERS.iter().enumerate() {
                assert!(
                    other == index || !text.contains(&format!("for {other_customer}")),
                    "{customer} sees {text:?}"
                );
            }
        }
    }

    // The next sweep reads the copies it wrote once more (the overlap window; see README ›
    // Performance); the one after it is quiet: two requests to Northwind for all three
    // relationships (its changed tickets and its deletions, once each), where each relationship
    // used to make both itself.
    clock.jump(time::Duration::minutes(2));
    let settling = world
        .sync
        .run_due()
        .await
        .expect("the sweep lists its relationships");
    assert_eq!(settling.len(), CUSTOMERS.len());
    clock.jump(time::Duration::minutes(2));
    world.simulator().clear_request_log();
    let quiet = world
        .sync
        .run_due()
        .await
        .expect("the sweep lists its relationships");
    assert_eq!(quiet.len(), CUSTOMERS.len());
    let msp_requests: Vec<String> = world
        .simulator()
        .request_log()
        .iter()
        .filter(|request| request.tenant.as_deref() == Some(MSP))
        .map(|request| request.route.clone())
        .collect();
    assert_eq!(msp_requests.len(), 2, "{msp_requests:#?}");
    for outcome in &quiet {
        let summary = outcome.result.as_ref().expect("the run ran");
        assert_eq!(summary.status, RunStatus::NoTicketsFound, "{summary:?}");
    }
}
