//! The sync engine's soak test: thousands of customer tickets with notes and attachments, the
//! Autotask simulator failing about 5 % of calls (500, 429, thread threshold, timeout after the
//! write was applied, malformed body), the engine killed at random points at least
//! [`MIN_KILLS`] times while people keep editing both tenants between runs; then faults off and
//! at most two further runs, after which both tenants must agree: every original has exactly one
//! copy, no ticket, comment or attachment exists twice or is missing, closures agree.
//!
//! Everything random is drawn from one seed, printed at the start; set `FUSION_SOAK_SEED` to
//! replay a failure (kills by elapsed time and thread interleavings still vary a little).
//! `cargo test -p fusion --test it soak -- --nocapture` shows the figures.
//!
//! Killed runs leave their leases behind as a crashed process would; the engine runs on a
//! `ManualClock` that is moved past the lease lifetime after each kill, so the next run finds
//! them expired exactly as production would after `lease_ttl`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fusion_autotask::{AutotaskService, AutotaskSettings, RetryPolicy, TransportOverride};
use fusion_autotask_sim::{
    EntityKind, FaultKind, FaultRule, RunningSimulator, SimOptions, Simulator, World,
};
use fusion_domain::sync::{RunStatus, TicketId, TicketMarker};
use fusion_domain::{ChoiceValue, Clock, ManualClock, RelationshipId, ReverseSync, Role};
use fusion_engine::ports::LeaseKey;
use fusion_engine::{
    EngineError, EngineSettings, RunSummary, ServiceError, SyncEngine, SyncMode, SyncService,
};
use fusion_store::{SecretKey, Store, StoreOptions};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::sync_end_to_end::{active_user, register, tenant};
use crate::demo_connection::{self, DemoSide, SOURCE_ORGANISATION, TARGET_ORGANISATION};
use crate::sync_directory::StoreSyncDirectory;

/// Customer tickets raised in Contoso (the Source) before the first run; `FUSION_SOAK_TICKETS`
/// overrides it (a longer soak by hand, a quicker one while working on the engine).
const SOAK_TICKETS: usize = 2_000;
/// Public notes on each of them.
const NOTES_PER_TICKET: usize = 2;
/// Every n-th ticket carries an attachment.
const ATTACHMENT_EVERY: usize = 10;
/// Tickets raised in Northwind (the Target) for the customer before the first run (reverse sync).
const TARGET_TICKETS: usize = 20;
/// The engine is stopped at least this many times.
const MIN_KILLS: usize = 20;
/// Attempts at most (a run that finishes before its kill point is an attempt but not a kill).
const MAX_ATTEMPTS: usize = 80;
/// Share of the simulator's calls that fail.
const FAULT_RATE: f64 = 0.05;
/// Default seed; `FUSION_SOAK_SEED` overrides it.
const DEFAULT_SEED: u64 = 20_261_127;

const CONTOSO: &str = SOURCE_ORGANISATION;
const NORTHWIND: &str = TARGET_ORGANISATION;
const CONTOSO_PERSON: &str = "alex.morgan@contoso.example";
const NORTHWIND_TECHNICIAN: &str = "jane.doe@northwindit.example";
/// Contoso's queue "Service Desk", Northwind's "Level I Support".
const CONTOSO_QUEUE: i64 = 30100001;
const NORTHWIND_QUEUE: i64 = 29683354;

/// splitmix64, seeded: every random choice of the soak.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `low..=high`.
    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            None
        } else {
            items.get((self.next() % items.len() as u64) as usize)
        }
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

fn seed() -> u64 {
    match std::env::var("FUSION_SOAK_SEED") {
        Ok(text) if !text.trim().is_empty() => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("FUSION_SOAK_SEED must be a number, not {text:?}")),
        _ => DEFAULT_SEED,
    }
}

fn soak_tickets() -> usize {
    match std::env::var("FUSION_SOAK_TICKETS") {
        Ok(text) if !text.trim().is_empty() => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("FUSION_SOAK_TICKETS must be a number, not {text:?}")),
        _ => SOAK_TICKETS,
    }
}

/// The share of failing calls: [`FAULT_RATE`], or `FUSION_SOAK_FAULT_PERCENT` (a harsher soak
/// by hand).
fn fault_rate() -> f64 {
    match std::env::var("FUSION_SOAK_FAULT_PERCENT") {
        Ok(text) if !text.trim().is_empty() => {
            text.trim().parse::<f64>().unwrap_or_else(|_| {
                panic!("FUSION_SOAK_FAULT_PERCENT must be a number, not {text:?}")
            }) / 100.0
        }
        _ => FAULT_RATE,
    }
}

/// The five failure kinds, each firing with the same probability so that together about
/// [`fault_rate`] of the calls fail.
fn fault_rules(seed: u64) -> Vec<FaultRule> {
    let kinds = [
        FaultKind::ServerError,
        FaultKind::TooManyRequests,
        FaultKind::ThreadThreshold,
        FaultKind::TimeoutAfterWrite,
        FaultKind::MalformedBody,
    ];
    // 1 - (1 - p)^5 = FAULT_RATE
    let each = 1.0 - (1.0 - fault_rate()).powf(1.0 / kinds.len() as f64);
    kinds
        .into_iter()
        .enumerate()
        .map(|(index, kind)| {
            FaultRule::new(kind).with_probability(each, seed.wrapping_add(index as u64 * 7919))
        })
        .collect()
}

/// How a run is stopped.
#[derive(Debug, Clone, Copy)]
enum Kill {
    AfterRequests(u64),
    AfterMillis(u64),
}

enum Attempt {
    Finished(Box<Result<RunSummary, ServiceError>>),
    Killed,
}

#[derive(Default)]
struct Figures {
    attempts: usize,
    kills: usize,
    kills_by_requests: usize,
    kills_by_time: usize,
    /// Kills after which the run's relationship lease was still held (and then expired).
    leases_left: usize,
    finished: BTreeMap<&'static str, usize>,
    not_run: BTreeMap<String, usize>,
    engine_calls: u64,
    /// Time spent making the people's edits (not syncing).
    editing: Duration,
    /// Why runs ended Failed or Partial (the run's error), with how often.
    reasons: BTreeMap<String, usize>,
    edits: BTreeMap<&'static str, usize>,
}

struct Soak {
    running: RunningSimulator,
    store: Arc<dyn Store>,
    sync: SyncService,
    clock: Arc<ManualClock>,
    lease_ttl: time::Duration,
    relationship: RelationshipId,
    since: OffsetDateTime,
    rng: Rng,
    figures: Figures,
    /// Distinct texts for notes and file names.
    sequence: u64,
    /// Originals closed before anything was synced (nothing is copied for them).
    closed_before_sync: Vec<(&'static str, i64)>,
    _data: tempfile::TempDir,
}

impl Soak {
    async fn start(seed: u64) -> Soak {
        let options = SimOptions {
            timeout_fault_hold: Duration::from_millis(5),
            // The soak makes far more calls than an hour's vendor threshold.
            hourly_request_threshold: 100_000_000,
            ..SimOptions::for_tests()
        };
        let simulator = Simulator::new(World::demo(), options).expect("the demo world seeds");
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
            hourly_request_budget: 100_000_000,
            retry: RetryPolicy {
                max_attempts: 4,
                initial_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(5),
            },
            ..AutotaskSettings::default()
        };
        let (contoso_user, contoso_secret) = active_user(tenant(&tenants, CONTOSO));
        let (northwind_user, northwind_secret) = active_user(tenant(&tenants, NORTHWIND));
        let connection = demo_connection::connect_demo_organisations(
            &store,
            &settings,
            &DemoSide {
                org_id: contoso,
                name: CONTOSO,
                api_username: &contoso_user,
                api_secret: &contoso_secret,
            },
            &DemoSide {
                org_id: northwind,
                name: NORTHWIND,
                api_username: &northwind_user,
                api_secret: &northwind_secret,
            },
        )
        .await
        .expect("the demo organisations connect and configure");
        let relationship = connection.relationship.id;

        // Reverse sync: Northwind's tickets for Contoso go to Contoso too.
        let mut config = store
            .integration_config(relationship, northwind)
            .await
            .expect("the store answers")
            .expect("Northwind is configured");
        let customer = company(&simulator, NORTHWIND, CONTOSO);
        config.reverse_sync = ReverseSync {
            enabled: true,
            queues: Vec::new(),
            company: Some(ChoiceValue::from(customer)),
        };
        store
            .save_integration_config(relationship, northwind, &config)
            .await
            .expect("saved");

        let service = AutotaskService::new(settings).expect("the Autotask service builds");
        let directory = Arc::new(StoreSyncDirectory::new(store.clone(), service));
        let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
        let engine_settings = EngineSettings::default();
        let lease_ttl = engine_settings.lease_ttl;
        let engine = SyncEngine::new(store.clone(), clock.clone(), engine_settings);
        let sync = SyncService::new(engine, directory, store.clone(), clock.clone());
        let mut soak = Soak {
            running,
            store: store.clone(),
            sync,
            clock,
            lease_ttl,
            relationship,
            since: OffsetDateTime::now_utc() - time::Duration::days(1),
            rng: Rng(seed),
            figures: Figures::default(),
            sequence: 0,
            closed_before_sync: Vec::new(),
            _data: data,
        };
        soak.closed_before_sync = [CONTOSO, NORTHWIND]
            .into_iter()
            .flat_map(|tenant| {
                let complete = soak.simulator().complete_status(tenant);
                soak.simulator()
                    .records(tenant, EntityKind::Tickets)
                    .into_iter()
                    .filter(move |ticket| ticket["status"].as_i64() == complete)
                    .filter_map(move |ticket| Some((tenant, ticket["id"].as_i64()?)))
            })
            .collect();
        soak
    }

    fn simulator(&self) -> &Simulator {
        self.running.simulator()
    }

    fn next_text(&mut self) -> u64 {
        self.sequence += 1;
        self.sequence
    }

    fn total_requests(&self) -> u64 {
        self.simulator().request_counts().values().sum()
    }

    /// The customer's tickets for the provider, each with public notes and some with a file.
    fn raise_customer_tickets(&mut self, count: usize) {
        let provider = company(self.simulator(), CONTOSO, NORTHWIND);
        for index in 0..count {
            let priority = [2, 1, 4, 5][index % 4];
            let id = self
                .simulator()
                .ui_create_ticket(
                    CONTOSO,
                    CONTOSO_PERSON,
                    json!({
                        "title": format!("Soak ticket {index}"),
                        "description": format!("Soak ticket {index}: raised by the customer."),
                        "companyID": provider,
                        "status": 12,
                        "priority": priority,
                        "queueID": CONTOSO_QUEUE,
                    }),
                )
                .expect("the customer's ticket is raised");
            for note in 0..NOTES_PER_TICKET {
                self.simulator()
                    .ui_add_note(
                        CONTOSO,
                        CONTOSO_PERSON,
                        id,
                        json!({
                            "title": format!("Note {note}"),
                            "description": format!("Note {note} on soak ticket {index}."),
                            "noteType": 1,
                            "publish": 1,
                        }),
                    )
                    .expect("the note is added");
            }
            if index % ATTACHMENT_EVERY == 0 {
                let content = format!("soak ticket {index}\nline two\n").repeat(1 + index % 7);
                self.simulator()
                    .ui_add_attachment(
                        CONTOSO,
                        CONTOSO_PERSON,
                        id,
                        &format!("soak-{index}.log"),
                        content.as_bytes(),
                        1,
                    )
                    .expect("the file is attached");
            }
        }
    }

    /// A ticket raised in Northwind for the customer (reverse sync sends it to Contoso).
    fn raise_in_northwind(&mut self) -> i64 {
        let number = self.next_text();
        let customer = company(self.simulator(), NORTHWIND, CONTOSO);
        let id = self
            .simulator()
            .ui_create_ticket(
                NORTHWIND,
                NORTHWIND_TECHNICIAN,
                json!({
                    "title": format!("Provider ticket {number}"),
                    "description": format!("Provider ticket {number}: found by monitoring."),
                    "companyID": customer,
                    "status": 1,
                    "priority": 2,
                    "queueID": NORTHWIND_QUEUE,
                }),
            )
            .expect("the provider's ticket is raised");
        self.simulator()
            .ui_add_note(
                NORTHWIND,
                NORTHWIND_TECHNICIAN,
                id,
                json!({"title": "Found", "description": format!("Provider note {number}."), "noteType": 1, "publish": 1}),
            )
            .expect("the note is added");
        id
    }

    /// Open tickets of `tenant` that belong to the pair.
    fn open_tickets(&self, view: &View, tenant: &str) -> Vec<i64> {
        let complete = self.simulator().complete_status(tenant);
        let partner_company = match tenant {
            CONTOSO => company(self.simulator(), CONTOSO, NORTHWIND),
            _ => company(self.simulator(), NORTHWIND, CONTOSO),
        };
        view.tickets[tenant]
            .iter()
            .filter(|ticket| ticket["status"].as_i64() != complete)
            .filter(|ticket| ticket["companyID"].as_i64() == Some(partner_company))
            .filter_map(|ticket| ticket["id"].as_i64())
            .collect()
    }

    /// People working in both tenants between two runs.
    fn edit_as_people(&mut self) {
        let started = Instant::now();
        self.edit_as_people_now();
        self.figures.editing += started.elapsed();
    }

    fn edit_as_people_now(&mut self) {
        let view = View::read_tickets(self.simulator(), self.relationship);
        let contoso_open = self.open_tickets(&view, CONTOSO);
        let northwind_open = self.open_tickets(&view, NORTHWIND);
        let partner_open = |soak: &Soak, tenant: &str, id: i64| -> bool {
            // A ticket closed before it was ever copied is rightly never copied: close only
            // tickets whose partner exists.
            view.partner_of(tenant, id)
                .is_some_and(|(partner_tenant, partner)| {
                    view.is_open(soak.simulator(), partner_tenant, partner)
                })
        };
        let mut touched = Vec::new();
        for _ in 0..3 {
            let Some(&id) = self.rng.pick(&contoso_open) else {
                break;
            };
            let number = self.next_text();
            self.simulator()
                .ui_add_note(
                    CONTOSO,
                    CONTOSO_PERSON,
                    id,
                    json!({"title": "Update", "description": format!("Customer comment {number}."), "noteType": 1, "publish": 1}),
                )
                .expect("the customer comments");
            touched.push((CONTOSO, id));
            *self.figures.edits.entry("customer comments").or_default() += 1;
        }
        for _ in 0..2 {
            let Some(&id) = self.rng.pick(&northwind_open) else {
                break;
            };
            let number = self.next_text();
            self.simulator()
                .ui_add_note(
                    NORTHWIND,
                    NORTHWIND_TECHNICIAN,
                    id,
                    json!({"title": "Work", "description": format!("Technician comment {number}."), "noteType": 1, "publish": 1}),
                )
                .expect("the technician comments");
            touched.push((NORTHWIND, id));
            *self.figures.edits.entry("technician comments").or_default() += 1;
        }
        if let Some(&id) = self.rng.pick(&contoso_open) {
            let number = self.next_text();
            let content = format!("customer file {number}\n").repeat(1 + (number % 5) as usize);
            self.simulator()
                .ui_add_attachment(
                    CONTOSO,
                    CONTOSO_PERSON,
                    id,
                    &format!("customer-{number}.txt"),
                    content.as_bytes(),
                    1,
                )
                .expect("the customer attaches a file");
            touched.push((CONTOSO, id));
            *self.figures.edits.entry("customer files").or_default() += 1;
        }
        if self.rng.chance(50)
            && let Some(&id) = self.rng.pick(&northwind_open)
        {
            let number = self.next_text();
            self.simulator()
                .ui_add_attachment(
                    NORTHWIND,
                    NORTHWIND_TECHNICIAN,
                    id,
                    &format!("technician-{number}.txt"),
                    format!("technician file {number}\n").as_bytes(),
                    1,
                )
                .expect("the technician attaches a file");
            touched.push((NORTHWIND, id));
            *self.figures.edits.entry("technician files").or_default() += 1;
        }
        if let Some(&id) = self.rng.pick(&contoso_open) {
            let number = self.next_text();
            self.simulator()
                .ui_update_ticket(
                    CONTOSO,
                    CONTOSO_PERSON,
                    id,
                    json!({"title": format!("Soak ticket retitled {number}")}),
                )
                .expect("the customer retitles a ticket");
            touched.push((CONTOSO, id));
            *self.figures.edits.entry("retitles").or_default() += 1;
        }
        let number = self.next_text();
        let provider = company(self.simulator(), CONTOSO, NORTHWIND);
        let raised = self
            .simulator()
            .ui_create_ticket(
                CONTOSO,
                CONTOSO_PERSON,
                json!({
                    "title": format!("Customer ticket {number}"),
                    "description": format!("Customer ticket {number}: raised between runs."),
                    "companyID": provider,
                    "status": 12,
                    "priority": 5,
                    "queueID": CONTOSO_QUEUE,
                }),
            )
            .expect("the customer raises a ticket");
        touched.push((CONTOSO, raised));
        *self.figures.edits.entry("customer tickets").or_default() += 1;
        if self.rng.chance(50) {
            let raised = self.raise_in_northwind();
            touched.push((NORTHWIND, raised));
            *self.figures.edits.entry("provider tickets").or_default() += 1;
        }
        // Closing: a ticket nobody touched this round, open on both sides.
        let (tenant, open, person) = if self.rng.chance(60) {
            (CONTOSO, &contoso_open, CONTOSO_PERSON)
        } else {
            (NORTHWIND, &northwind_open, NORTHWIND_TECHNICIAN)
        };
        for _ in 0..5 {
            if let Some(&id) = self.rng.pick(open)
                && !touched.contains(&(tenant, id))
                && partner_open(self, tenant, id)
            {
                self.simulator()
                    .ui_close_ticket(tenant, person, id)
                    .expect("the ticket is closed");
                *self.figures.edits.entry("closures").or_default() += 1;
                break;
            }
        }
    }

    fn mode(&self, baseline: bool) -> SyncMode {
        if baseline {
            SyncMode::Automatic
        } else {
            SyncMode::Manual { since: self.since }
        }
    }

    /// One run in its own task, stopped at `kill` unless it finishes first.
    /// People also work while a run is going: one round of edits once the run has made
    /// `edit_after` requests.
    async fn attempt(&mut self, mode: SyncMode, kill: Kill, edit_after: u64) -> Attempt {
        let sync = self.sync.clone();
        let relationship = self.relationship;
        let task = tokio::spawn(async move { sync.run(relationship, mode).await });
        let requests_before = self.total_requests();
        let started = Instant::now();
        let mut edited = false;
        loop {
            if !edited && self.total_requests() - requests_before >= edit_after {
                edited = true;
                self.edit_as_people();
                *self.figures.edits.entry("rounds during a run").or_default() += 1;
            }
            if task.is_finished() {
                return Attempt::Finished(Box::new(task.await.expect("the run did not panic")));
            }
            let due = match kill {
                Kill::AfterRequests(requests) => {
                    self.total_requests() - requests_before >= requests
                }
                Kill::AfterMillis(millis) => started.elapsed() >= Duration::from_millis(millis),
            };
            if due {
                task.abort();
                return match task.await {
                    Ok(result) => Attempt::Finished(Box::new(result)),
                    Err(error) if error.is_cancelled() => Attempt::Killed,
                    Err(error) => panic!("the run panicked: {error}"),
                };
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Whether another process could claim the relationship's lease now (it is released again).
    async fn probe_lease(&self) -> bool {
        let claimed = self
            .store
            .claim_lease(
                &LeaseKey::Relationship(self.relationship),
                "soak-probe",
                self.clock.now(),
                self.lease_ttl,
            )
            .await
            .expect("the store answers");
        match claimed {
            Some(lease) => {
                self.store
                    .release_lease(&lease)
                    .await
                    .expect("the probe's lease is released");
                true
            }
            None => false,
        }
    }

    /// A run to the end (no kill).
    async fn run(&mut self, mode: SyncMode) -> Result<RunSummary, ServiceError> {
        self.figures.attempts += 1;
        let result = self.sync.run(self.relationship, mode).await;
        self.note(&result);
        result
    }

    fn note(&mut self, result: &Result<RunSummary, ServiceError>) {
        match result {
            Ok(summary) => {
                *self
                    .figures
                    .finished
                    .entry(summary.status.label())
                    .or_default() += 1;
                self.figures.engine_calls += summary.calls_used;
                if let Some(error) = &summary.error {
                    let mut reason = format!("{}: {error}", summary.status.label());
                    reason.truncate(160);
                    *self.figures.reasons.entry(reason).or_default() += 1;
                }
            }
            Err(error) => {
                let kind = match error {
                    ServiceError::Setup(_) => "setup failed (choices could not be loaded)",
                    ServiceError::Engine(EngineError::Busy(_)) => "busy",
                    ServiceError::Engine(EngineError::InitialSyncRequired) => "no baseline",
                    ServiceError::Engine(EngineError::Store(_)) => "store error",
                    ServiceError::Engine(_) => "engine",
                    ServiceError::Internal(_) => "internal",
                };
                *self
                    .figures
                    .not_run
                    .entry(format!("{kind}: {error}"))
                    .or_default() += 1;
            }
        }
    }
}

/// Company id of `name` in `tenant`.
fn company(simulator: &Simulator, tenant: &str, name: &str) -> i64 {
    simulator
        .records(tenant, EntityKind::Companies)
        .into_iter()
        .find(|company| company["companyName"] == name)
        .and_then(|company| company["id"].as_i64())
        .unwrap_or_else(|| panic!("{tenant} has the company {name}"))
}

/// Both tenants as read from the simulator, indexed for the checks.
struct View {
    relationship: RelationshipId,
    tickets: HashMap<&'static str, Vec<Value>>,
    notes: HashMap<(&'static str, i64), Vec<Value>>,
    attachments: HashMap<(&'static str, i64), Vec<Value>>,
}

impl View {
    /// Only the tickets (what the edits need).
    fn read_tickets(simulator: &Simulator, relationship: RelationshipId) -> View {
        let mut view = View {
            relationship,
            tickets: HashMap::new(),
            notes: HashMap::new(),
            attachments: HashMap::new(),
        };
        for tenant in [CONTOSO, NORTHWIND] {
            view.tickets
                .insert(tenant, simulator.records(tenant, EntityKind::Tickets));
        }
        view
    }

    fn read(simulator: &Simulator, relationship: RelationshipId) -> View {
        let mut view = View::read_tickets(simulator, relationship);
        for tenant in [CONTOSO, NORTHWIND] {
            for note in simulator.records(tenant, EntityKind::TicketNotes) {
                if let Some(ticket) = note["ticketID"].as_i64() {
                    view.notes.entry((tenant, ticket)).or_default().push(note);
                }
            }
            for attachment in simulator.records(tenant, EntityKind::TicketAttachments) {
                let ticket = attachment["parentID"]
                    .as_i64()
                    .or_else(|| attachment["ticketID"].as_i64());
                if let Some(ticket) = ticket {
                    view.attachments
                        .entry((tenant, ticket))
                        .or_default()
                        .push(attachment);
                }
            }
        }
        view
    }

    fn ticket(&self, tenant: &str, id: i64) -> Option<&Value> {
        self.tickets
            .get(tenant)?
            .iter()
            .find(|ticket| ticket["id"].as_i64() == Some(id))
    }

    fn is_open(&self, simulator: &Simulator, tenant: &str, id: i64) -> bool {
        self.ticket(tenant, id)
            .is_some_and(|ticket| ticket["status"].as_i64() != simulator.complete_status(tenant))
    }

    /// The copy (or the original) of a ticket, by the sync's marker.
    fn partner_of(&self, tenant: &str, id: i64) -> Option<(&'static str, i64)> {
        let (own, other, origin) = match tenant {
            CONTOSO => (CONTOSO, NORTHWIND, Role::Source),
            _ => (NORTHWIND, CONTOSO, Role::Target),
        };
        let ticket = self.ticket(own, id)?;
        if let Some(parts) = ticket["externalID"]
            .as_str()
            .and_then(TicketMarker::parse)
            .filter(|parts| parts.relationship == self.relationship)
        {
            return parts
                .origin_ticket
                .as_str()
                .parse()
                .ok()
                .map(|original| (other, original));
        }
        let marker =
            TicketMarker::for_copy_of(self.relationship, origin, &TicketId::new(id.to_string()));
        self.tickets
            .get(other)?
            .iter()
            .find(|candidate| candidate["externalID"].as_str() == Some(marker.as_str()))
            .and_then(|copy| Some((other, copy["id"].as_i64()?)))
    }
}

/// Everything that differs between the two tenants (empty when they agree).
/// Also the pairs found (origin side, original, copy) for [`link_mismatches`].
#[allow(clippy::type_complexity)]
fn mismatches(
    soak: &Soak,
) -> (
    Vec<String>,
    BTreeMap<&'static str, usize>,
    Vec<(Role, i64, i64)>,
) {
    let simulator = soak.simulator();
    let view = View::read(simulator, soak.relationship);
    let api_resource = |name: &str| {
        let tenants = simulator.tenants();
        let (username, _) = active_user(tenant(&tenants, name));
        simulator
            .api_user_resource_id(name, &username)
            .expect("the API user has a resource")
    };
    let sync_author = [
        (CONTOSO, api_resource(CONTOSO)),
        (NORTHWIND, api_resource(NORTHWIND)),
    ];
    let is_sync = |tenant: &str, resource: Option<i64>| {
        sync_author
            .iter()
            .any(|(name, id)| *name == tenant && Some(*id) == resource)
    };
    let mut problems = Vec::new();
    let mut totals: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut found = Vec::new();

    // Markers: no copy twice.
    let mut by_marker: HashMap<(&str, &str), Vec<&Value>> = HashMap::new();
    for tenant in [CONTOSO, NORTHWIND] {
        let mut markers: BTreeMap<&str, usize> = BTreeMap::new();
        for ticket in &view.tickets[tenant] {
            if let Some(marker) = ticket["externalID"].as_str()
                && TicketMarker::parse(marker).is_some()
            {
                *markers.entry(marker).or_default() += 1;
                by_marker.entry((tenant, marker)).or_default().push(ticket);
            }
        }
        for (marker, count) in markers {
            if count > 1 {
                problems.push(format!(
                    "{tenant} has {count} tickets with the marker {marker}"
                ));
            }
        }
    }

    let pairs = [
        (
            CONTOSO,
            NORTHWIND,
            Role::Source,
            company(simulator, CONTOSO, NORTHWIND),
        ),
        (
            NORTHWIND,
            CONTOSO,
            Role::Target,
            company(simulator, NORTHWIND, CONTOSO),
        ),
    ];
    for (origin_tenant, copy_tenant, origin, partner_company) in pairs {
        for original in &view.tickets[origin_tenant] {
            let Some(id) = original["id"].as_i64() else {
                continue;
            };
            let is_copy = original["externalID"]
                .as_str()
                .and_then(TicketMarker::parse)
                .is_some();
            if is_copy
                || original["companyID"].as_i64() != Some(partner_company)
                || soak.closed_before_sync.contains(&(origin_tenant, id))
            {
                continue;
            }
            *totals
                .entry(match origin {
                    Role::Source => "customer tickets",
                    Role::Target => "provider tickets",
                })
                .or_default() += 1;
            let marker = TicketMarker::for_copy_of(
                soak.relationship,
                origin,
                &TicketId::new(id.to_string()),
            );
            let copies: Vec<&Value> = by_marker
                .get(&(copy_tenant, marker.as_str()))
                .cloned()
                .unwrap_or_default();
            let copy = match copies.as_slice() {
                [copy] => *copy,
                other => {
                    problems.push(format!(
                        "{origin_tenant} ticket {id} ({}, status {}, last activity {}) has {} \
                         copies in {copy_tenant}",
                        original["title"],
                        original["status"],
                        original["lastActivityDate"],
                        other.len()
                    ));
                    continue;
                }
            };
            let copy_id = copy["id"].as_i64().unwrap_or_default();
            found.push((origin, id, copy_id));
            if origin == Role::Source && copy["title"] != original["title"] {
                problems.push(format!(
                    "title of {origin_tenant} {id} is {} but its copy's is {}",
                    original["title"], copy["title"]
                ));
            }
            let closed = |tenant: &str, ticket: &Value| {
                ticket["status"].as_i64() == simulator.complete_status(tenant)
            };
            if closed(origin_tenant, original) != closed(copy_tenant, copy) {
                problems.push(format!(
                    "{origin_tenant} {id} closed: {}, its copy {copy_id} in {copy_tenant} closed: {}",
                    closed(origin_tenant, original),
                    closed(copy_tenant, copy)
                ));
            }
            // Comments both ways: every person's public note on one side exactly once on the
            // other (the copy's body is the attribution line, then the note).
            for (from, from_id, to, to_id) in [
                (origin_tenant, id, copy_tenant, copy_id),
                (copy_tenant, copy_id, origin_tenant, id),
            ] {
                let empty = Vec::new();
                let mut sent: Vec<String> = view
                    .notes
                    .get(&(from, from_id))
                    .unwrap_or(&empty)
                    .iter()
                    .filter(|note| !is_sync(from, note["creatorResourceID"].as_i64()))
                    .filter(|note| note["publish"].as_i64() == Some(1))
                    .map(|note| note["description"].as_str().unwrap_or("").to_owned())
                    .collect();
                // Time entries arrive as notes of their own (ending in "[… time entry N]"):
                // each at most once, however the runs were killed.
                let is_time_note = |note: &&Value| {
                    let body = note["description"].as_str().unwrap_or("").trim_end();
                    body.ends_with(']') && body.contains(" time entry ")
                };
                let time_notes: Vec<&str> = view
                    .notes
                    .get(&(to, to_id))
                    .unwrap_or(&empty)
                    .iter()
                    .filter(|note| is_sync(to, note["creatorResourceID"].as_i64()))
                    .filter(is_time_note)
                    .map(|note| note["description"].as_str().unwrap_or(""))
                    .collect();
                let distinct: std::collections::BTreeSet<&str> =
                    time_notes.iter().copied().collect();
                if distinct.len() != time_notes.len() {
                    problems.push(format!(
                        "time entry notes of {from} {from_id} arrived twice on {to} {to_id}: {time_notes:?}"
                    ));
                }
                *totals.entry("time entry notes").or_default() += time_notes.len();
                let mut received: Vec<String> = view
                    .notes
                    .get(&(to, to_id))
                    .unwrap_or(&empty)
                    .iter()
                    .filter(|note| is_sync(to, note["creatorResourceID"].as_i64()))
                    .filter(|note| !is_time_note(note))
                    .map(|note| {
                        let body = note["description"].as_str().unwrap_or("");
                        body.split_once('\n')
                            .map_or(body, |(_, rest)| rest)
                            .to_owned()
                    })
                    .collect();
                sent.sort();
                received.sort();
                *totals.entry("comments copied").or_default() += received.len();
                if sent != received {
                    problems.push(format!(
                        "comments of {from} {from_id} → {to} {to_id}: sent {sent:?}, arrived {received:?}"
                    ));
                }
                let files = |tenant: &str, ticket: i64, by_sync: bool| {
                    let mut files: Vec<(String, String)> = view
                        .attachments
                        .get(&(tenant, ticket))
                        .unwrap_or(&empty)
                        .iter()
                        .filter(|file| {
                            is_sync(tenant, file["attachedByResourceID"].as_i64()) == by_sync
                        })
                        .map(|file| {
                            (
                                file["title"].as_str().unwrap_or("").to_owned(),
                                file["data"].as_str().unwrap_or("").to_owned(),
                            )
                        })
                        .collect();
                    files.sort();
                    files
                };
                let sent_files = files(from, from_id, false);
                let received_files = files(to, to_id, true);
                *totals.entry("attachments copied").or_default() += received_files.len();
                if sent_files != received_files {
                    let names = |files: &[(String, String)]| -> Vec<String> {
                        files.iter().map(|(name, _)| name.clone()).collect()
                    };
                    problems.push(format!(
                        "attachments of {from} {from_id} → {to} {to_id}: sent {:?}, arrived {:?}",
                        names(&sent_files),
                        names(&received_files)
                    ));
                }
            }
        }
    }
    (problems, totals, found)
}

/// The engine's links must name exactly the pairs the tenants show.
async fn link_mismatches(soak: &Soak, pairs: &[(Role, i64, i64)]) -> Vec<String> {
    let mut problems = Vec::new();
    for side in [Role::Source, Role::Target] {
        let wanted: Vec<(TicketId, TicketId)> = pairs
            .iter()
            .map(|(origin, original, copy)| {
                let (source, target) = match origin {
                    Role::Source => (original, copy),
                    Role::Target => (copy, original),
                };
                (
                    TicketId::new(source.to_string()),
                    TicketId::new(target.to_string()),
                )
            })
            .collect();
        let ids: Vec<TicketId> = wanted
            .iter()
            .map(|(source, target)| match side {
                Role::Source => source.clone(),
                Role::Target => target.clone(),
            })
            .collect();
        let mut links: BTreeMap<TicketId, TicketId> = BTreeMap::new();
        for chunk in ids.chunks(200) {
            for link in soak
                .store
                .links_by_tickets(soak.relationship, side, chunk)
                .await
                .expect("the store answers")
            {
                if let Some(other) = links.insert(link.source.clone(), link.target.clone())
                    && other != link.target
                {
                    problems.push(format!(
                        "source ticket {} is linked to both {other} and {}",
                        link.source, link.target
                    ));
                }
            }
        }
        for (source, target) in &wanted {
            match links.get(source) {
                Some(linked) if linked == target => {}
                other => problems.push(format!(
                    "the pair {source} ⇄ {target} is linked as {other:?} (read by {} ticket)",
                    side.label().to_lowercase()
                )),
            }
        }
    }
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_and_faulty_runs_converge_without_duplicates_or_gaps() {
    let wall = Instant::now();
    let seed = seed();
    println!("soak: seed {seed} (replay with FUSION_SOAK_SEED={seed})");
    let mut soak = Soak::start(seed).await;
    let size = soak_tickets();
    soak.raise_customer_tickets(size);
    for _ in 0..TARGET_TICKETS {
        soak.raise_in_northwind();
    }
    let seeded_in = wall.elapsed();
    let requests_before_faults = soak.total_requests();
    for rule in fault_rules(seed) {
        soak.simulator().inject_fault(rule);
    }

    let mut baseline = false;
    // Kill points are drawn within the length of the last run that finished (at first: a guess
    // at the initial sync's), so they fall anywhere in a run, the long initial one included.
    let mut run_requests = 6 * size as u64;
    let mut run_millis = 20 * size as u64;
    while soak.figures.kills < MIN_KILLS && soak.figures.attempts < MAX_ATTEMPTS {
        let kill = if soak.rng.chance(70) {
            Kill::AfterRequests(soak.rng.between(1, run_requests.max(2)))
        } else {
            Kill::AfterMillis(soak.rng.between(1, run_millis.max(2)))
        };
        let mode = soak.mode(baseline);
        soak.figures.attempts += 1;
        let (requests_before, started) = (soak.total_requests(), Instant::now());
        let edit_after = soak.rng.between(1, run_requests.max(2));
        let attempt = soak.attempt(mode.clone(), kill, edit_after).await;
        if matches!(attempt, Attempt::Finished(_)) {
            run_requests = soak.total_requests() - requests_before;
            run_millis = started.elapsed().as_millis() as u64;
        }
        match attempt {
            Attempt::Killed => {
                soak.figures.kills += 1;
                match kill {
                    Kill::AfterRequests(_) => soak.figures.kills_by_requests += 1,
                    Kill::AfterMillis(_) => soak.figures.kills_by_time += 1,
                }
                // The killed process's leases stay until they expire, as after a crash.
                if !soak.probe_lease().await {
                    soak.figures.leases_left += 1;
                }
                soak.clock
                    .advance(soak.lease_ttl + time::Duration::seconds(1));
                assert!(
                    soak.probe_lease().await,
                    "the relationship's lease expires after its lifetime"
                );
            }
            Attempt::Finished(result) => {
                if let Ok(summary) = result.as_ref()
                    && matches!(mode, SyncMode::Manual { .. })
                    && summary.cursors_advanced
                {
                    baseline = true;
                }
                soak.note(&result);
            }
        }
        soak.clock.advance(time::Duration::minutes(1));
        soak.edit_as_people();
    }
    let faults = soak.simulator().faults_injected();
    let soak_requests = soak.total_requests() - requests_before_faults;
    soak.simulator().clear_faults();
    soak.clock
        .advance(soak.lease_ttl + time::Duration::seconds(1));

    let mut further = Vec::new();
    let mut problems = Vec::new();
    let mut totals = BTreeMap::new();
    for _ in 0..2 {
        let mode = soak.mode(baseline);
        let summary = soak
            .run(mode.clone())
            .await
            .expect("the run after the soak runs");
        if matches!(mode, SyncMode::Manual { .. }) && summary.cursors_advanced {
            baseline = true;
        }
        let ok = matches!(
            summary.status,
            RunStatus::Success | RunStatus::NoTicketsFound
        );
        further.push(format!(
            "{} (created {}, updated {}, closed {}, failed {}, calls {}{})",
            summary.status.label(),
            summary.counts.created,
            summary.counts.updated,
            summary.counts.closed,
            summary.counts.failed,
            summary.calls_used,
            summary
                .error
                .as_deref()
                .map(|error| format!(", error: {error}"))
                .unwrap_or_default()
        ));
        let pairs;
        (problems, totals, pairs) = mismatches(&soak);
        problems.extend(link_mismatches(&soak, &pairs).await);
        totals.insert("links checked", pairs.len());
        if ok && problems.is_empty() {
            break;
        }
    }
    let figures = &soak.figures;
    let total_faults: u64 = faults.values().sum();
    println!(
        "soak: {size} customer tickets ({NOTES_PER_TICKET} notes each, a file on every \
         {ATTACHMENT_EVERY}th) + {TARGET_TICKETS} provider tickets, seeded in {:.1?}",
        seeded_in
    );
    println!(
        "soak: {} attempts, {} kills ({} after a number of requests, {} after a time; {} left \
         the lease held until it expired), finished runs {:?}, not run {:?}",
        figures.attempts,
        figures.kills,
        figures.kills_by_requests,
        figures.kills_by_time,
        figures.leases_left,
        figures.finished,
        figures.not_run
    );
    println!(
        "soak: {soak_requests} simulator requests under faults, {total_faults} faults injected \
         ({:.2} %): {faults:?}",
        100.0 * total_faults as f64 / soak_requests.max(1) as f64
    );
    println!("soak: edits between runs {:?}", figures.edits);
    for (reason, count) in &figures.reasons {
        println!("soak: {count} × {reason}");
    }
    println!(
        "soak: {} further run(s) without faults: {further:?}",
        further.len()
    );
    println!(
        "soak: engine calls counted {}, simulator requests in all {}; checked {totals:?}",
        figures.engine_calls,
        soak.total_requests()
    );
    println!(
        "soak: wall time {:.1?} (of which people's edits {:.1?})",
        wall.elapsed(),
        figures.editing
    );

    assert!(
        figures.kills >= MIN_KILLS,
        "only {} kills in {} attempts",
        figures.kills,
        figures.attempts
    );
    for kind in [
        "server_error",
        "too_many_requests",
        "thread_threshold",
        "timeout_after_write",
        "malformed_body",
    ] {
        assert!(
            faults.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} fault was injected: {faults:?}"
        );
    }
    assert!(
        problems.is_empty(),
        "after {} further runs the tenants differ in {} places (seed {seed}):\n{}",
        further.len(),
        problems.len(),
        problems
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    let last = further.last().expect("a further run");
    assert!(
        last.starts_with("Success") || last.starts_with("No tickets found"),
        "the last run: {last}"
    );
    assert!(
        totals.get("customer tickets").copied().unwrap_or(0) >= size,
        "{totals:?}"
    );
}
