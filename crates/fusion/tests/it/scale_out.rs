//! Several `fusion serve` processes on one PostgreSQL database share the connections (issue 15),
//! as separate OS processes of the built binary against one in-process simulator: every ticket is
//! copied exactly once, no connection is run by two processes at once, a process killed with
//! SIGKILL in the middle of a run hands its connections to the others within the lease lifetime
//! (nothing lost, nothing doubled), and a process that joins later takes a share.
//!
//! Each connection joins its own pair of tenants ("Customer N" → "Provider N"), so runs of
//! different connections may go on at the same time in different processes (one process talks to
//! a given Autotask database at a time). Needs `FUSION_TEST_POSTGRES_URL` (CI sets it); without it
//! the test says so and passes, like the store's PostgreSQL contract runs.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fusion_autotask::{AutotaskSettings, RetryPolicy, TransportOverride};
use fusion_autotask_sim::{
    EntityKind, FaultKind, FaultRule, RunningSimulator, SimOptions, Simulator, World,
};
use fusion_domain::sync::{RunStatus, SyncCursor, SyncRun, SyncSchedule, TicketId, TicketMarker};
use fusion_domain::{RelationshipId, Role, SyncReadiness};
use fusion_engine::ports::RunFilter;
use fusion_store::{SecretKey, Store, StoreOptions};
use serde_json::{Value, json};
use sqlx::Connection;
use time::OffsetDateTime;

use crate::demo_connection::{self, DemoSide};
use crate::postgres_schema::POSTGRES_URL_VARIABLE;
use crate::process::fusion;
use crate::sync_end_to_end::{active_user, register, tenant};

/// Connections, each between its own two tenants.
const PAIRS: usize = 8;
/// Tickets raised at every customer before the workers start.
const FIRST_ROUND: usize = 3;
/// How long a run's lease lasts without renewal (`FUSION_LEASE_SECONDS`): a killed process's
/// connections must be taken over within it (plus one scheduler tick).
const LEASE_SECONDS: u64 = 60;
/// The workers' scheduler tick.
const TICK_SECONDS: u64 = 1;
/// The key every worker shares (several workers on one database take it from the environment).
const KEY: &str = "q83vEjRWeJCrze8SNFZ4mp6/BsrS1Mu8qN3vErRWeJA=";
/// How long anything here may take before the test gives up waiting (never reached when it works).
const PATIENCE: Duration = Duration::from_secs(600);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_processes_on_one_postgres_database_share_the_connections_and_take_over_a_killed_one()
{
    let Some(database) = TestDatabase::create().await else {
        eprintln!(
            "{POSTGRES_URL_VARIABLE} is not set: the multi-process test needs PostgreSQL and did not run"
        );
        return;
    };
    let bed = Bed::start(&database.url).await;
    let mut raised = Vec::new();
    for round in 0..FIRST_ROUND {
        for pair in 0..PAIRS {
            raised.push(bed.raise(
                pair,
                &format!("Scale-out ticket {round} of customer {pair}"),
            ));
        }
    }
    // Every create takes a while, so a process can be killed in the middle of a run.
    bed.simulator().inject_fault(FaultRule {
        endpoint: Some("Tickets".into()),
        method: Some("POST".into()),
        ..FaultRule::new(FaultKind::Latency { millis: 400 })
    });

    let mut workers: Vec<Worker> = (0..3)
        .map(|_| Worker::start(&database.url, &bed.base_url(), &bed.integration_code))
        .collect();

    // Kill whichever process is first seen in the middle of a run.
    let started = Instant::now();
    let (victim, orphaned) = loop {
        let held = database.relationship_leases().await;
        if let Some((index, worker)) = workers
            .iter()
            .enumerate()
            .find(|(_, worker)| held.values().any(|holder| *holder == worker.holder()))
        {
            let orphaned: Vec<RelationshipId> = bed
                .relationships
                .iter()
                .filter(|id| held.get(&id.to_string()) == Some(&worker.holder()))
                .copied()
                .collect();
            if !orphaned.is_empty() {
                break (index, orphaned);
            }
        }
        assert!(
            started.elapsed() < PATIENCE,
            "no worker ever held a connection's lease; logs:\n{}",
            all_logs(&workers)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let killed_at = OffsetDateTime::now_utc();
    let killed = workers.remove(victim);
    killed.kill();

    // The survivors finish the work: every first-round ticket copied, the orphans run again.
    let waited = Instant::now();
    let takeover = loop {
        let runs = bed.runs().await;
        let taken_over: Vec<Option<&SyncRun>> = orphaned
            .iter()
            .map(|id| {
                runs.get(id)
                    .into_iter()
                    .flatten()
                    .filter(|run| run.started_at > killed_at && run.finished_at.is_some())
                    .min_by_key(|run| run.started_at)
            })
            .collect();
        if taken_over.iter().all(Option::is_some) && bed.missing(&raised).is_empty() {
            break taken_over
                .iter()
                .flatten()
                .map(|run| run.started_at - killed_at)
                .max()
                .and_then(|gap| Duration::try_from(gap).ok())
                .unwrap_or_default();
        }
        assert!(
            waited.elapsed() < PATIENCE,
            "the killed worker's connections were not taken over: {} tickets missing; logs:\n{}",
            bed.missing(&raised).len(),
            all_logs(&workers)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let lifetime = Duration::from_secs(LEASE_SECONDS + TICK_SECONDS);
    // A run is set up (credentials, the tenants' choices) and its leases claimed before its
    // record exists: allow for that on a busy machine too.
    let setting_up = Duration::from_secs(10);
    assert!(
        takeover <= lifetime + setting_up,
        "the killed worker's connections were taken over after {takeover:?}, beyond the lease lifetime {lifetime:?}"
    );

    // A fourth process joins; a second round of tickets is shared by the three.
    let joined = Worker::start(&database.url, &bed.base_url(), &bed.integration_code);
    workers.push(joined);
    for pair in 0..PAIRS {
        raised.push(bed.raise(
            pair,
            &format!("Scale-out ticket after the join, customer {pair}"),
        ));
    }
    let waited = Instant::now();
    while !bed.missing(&raised).is_empty()
        || workers[2].connections_run(&bed.relationships).is_empty()
    {
        assert!(
            waited.elapsed() < PATIENCE,
            "after the fourth worker joined: {} tickets missing, it ran {} connections; logs:\n{}",
            bed.missing(&raised).len(),
            workers[2].connections_run(&bed.relationships).len(),
            all_logs(&workers)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Exactly once, everywhere.
    let copies = bed.copies(&raised);
    let duplicates: usize = copies.values().map(|count| count.saturating_sub(1)).sum();
    let missed = copies.values().filter(|count| **count == 0).count();
    assert_eq!((duplicates, missed), (0, 0), "copies by ticket: {copies:?}");
    // The load was shared: every process still running ran connections of its own.
    let shares: Vec<usize> = workers
        .iter()
        .map(|worker| worker.connections_run(&bed.relationships).len())
        .collect();
    assert!(
        shares.iter().all(|share| *share > 0),
        "connections run by each worker: {shares:?}"
    );
    eprintln!(
        "scale_out: workers=3(+1 joined), connections={PAIRS}, tickets={}, duplicates={duplicates}, missed={missed}, takeover_s={:.1} (lease {LEASE_SECONDS} s), connections run per worker={shares:?}",
        raised.len(),
        takeover.as_secs_f64()
    );

    for worker in workers {
        let status = worker.terminate();
        assert!(status.success(), "a worker stopped with {status:?}");
    }
    // No connection was run by two processes at once: its runs never overlap, and none is left
    // Running (the killed one's run was closed as Failed by the process that took over).
    let runs = bed.runs().await;
    for (relationship, runs) in &runs {
        for pair in runs.windows(2) {
            let finished = pair[0]
                .finished_at
                .unwrap_or_else(|| panic!("a run of {relationship} never finished: {:?}", pair[0]));
            assert!(
                finished <= pair[1].started_at,
                "two runs of {relationship} overlapped: {pair:?}"
            );
        }
        assert!(
            runs.iter().all(|run| run.status != RunStatus::Running),
            "a run of {relationship} is left Running: {runs:?}"
        );
    }
    bed.store.close().await;
    bed.running.shutdown().await;
    database.drop_database().await;
}

/// The simulator with [`PAIRS`] pairs of tenants, and the database with one connection per pair,
/// configured like the demo's, its baseline set and automatic sync on (every minute).
struct Bed {
    running: RunningSimulator,
    store: Arc<dyn Store>,
    integration_code: String,
    relationships: Vec<RelationshipId>,
}

impl Bed {
    async fn start(database_url: &str) -> Bed {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let simulator =
            Simulator::new(pairs_world(PAIRS), SimOptions::for_tests()).expect("the world seeds");
        let running = simulator
            .spawn("127.0.0.1:0".parse().expect("address"))
            .await
            .expect("the simulator listens");
        let tenants = simulator.tenants();
        let integration_code = tenants[0].integration_code.clone();
        let store = fusion_store::open_with_options(
            database_url,
            SecretKey::from_base64(KEY).expect("a valid key"),
            StoreOptions::for_tests(),
        )
        .await
        .expect("the PostgreSQL database opens");
        let settings = AutotaskSettings {
            integration_code: Some(integration_code.clone()),
            transport_override: Some(
                TransportOverride::parse(running.base_url()).expect("loopback override"),
            ),
            retry: RetryPolicy {
                max_attempts: 4,
                initial_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(5),
            },
            ..AutotaskSettings::default()
        };
        let now = OffsetDateTime::now_utc();
        let mut relationships = Vec::new();
        for pair in 0..PAIRS {
            let (customer, provider) = (customer_name(pair), provider_name(pair));
            let customer_org = register(store.as_ref(), tenant(&tenants, &customer)).await;
            let provider_org = register(store.as_ref(), tenant(&tenants, &provider)).await;
            let (customer_user, customer_secret) = active_user(tenant(&tenants, &customer));
            let (provider_user, provider_secret) = active_user(tenant(&tenants, &provider));
            let connection = demo_connection::connect_demo_organisations(
                &store,
                &settings,
                &DemoSide {
                    org_id: customer_org,
                    name: &customer,
                    api_username: &customer_user,
                    api_secret: &customer_secret,
                },
                &DemoSide {
                    org_id: provider_org,
                    name: &provider,
                    api_username: &provider_user,
                    api_secret: &provider_secret,
                },
            )
            .await
            .expect("the pair connects");
            let id = connection.relationship.id;
            for side in [Role::Source, Role::Target] {
                store
                    .save_cursor(&SyncCursor {
                        relationship: id,
                        side,
                        last_activity_at: now,
                        last_id: None,
                    })
                    .await
                    .expect("the baseline is saved");
            }
            store
                .set_sync_readiness(id, SyncReadiness::ReadyForAutomaticSync)
                .await
                .expect("ready");
            store
                .set_sync_schedule(
                    id,
                    &SyncSchedule::new(true, time::Duration::minutes(1)).expect("a valid interval"),
                    now,
                )
                .await
                .expect("automatic sync on");
            relationships.push(id);
        }
        Bed {
            running,
            store,
            integration_code,
            relationships,
        }
    }

    fn simulator(&self) -> &Simulator {
        self.running.simulator()
    }

    fn base_url(&self) -> String {
        self.running.base_url().to_owned()
    }

    /// A person at customer `pair` raises a ticket for its provider; answers (pair, ticket id).
    fn raise(&self, pair: usize, title: &str) -> (usize, i64) {
        let customer = customer_name(pair);
        let provider_company = self
            .simulator()
            .records(&customer, EntityKind::Companies)
            .into_iter()
            .find(|company| company["companyName"] == provider_name(pair).as_str())
            .and_then(|company| company["id"].as_i64())
            .expect("the customer has its provider as a company");
        let ticket = self
            .simulator()
            .ui_create_ticket(
                &customer,
                "alex.morgan@contoso.example",
                json!({
                    "title": title,
                    "description": format!("{title}: details."),
                    "companyID": provider_company,
                    "status": 12,
                    "priority": 5,
                    "queueID": 30100001,
                }),
            )
            .expect("the ticket is raised");
        (pair, ticket)
    }

    /// How many copies each raised ticket has at its provider.
    fn copies(&self, raised: &[(usize, i64)]) -> BTreeMap<(usize, i64), usize> {
        let mut by_provider: BTreeMap<usize, Vec<Value>> = BTreeMap::new();
        raised
            .iter()
            .map(|(pair, ticket)| {
                let tickets = by_provider.entry(*pair).or_insert_with(|| {
                    self.simulator()
                        .records(&provider_name(*pair), EntityKind::Tickets)
                });
                let marker = TicketMarker::for_copy_of(
                    self.relationships[*pair],
                    Role::Source,
                    &TicketId::new(ticket.to_string()),
                );
                let count = tickets
                    .iter()
                    .filter(|copy| copy["externalID"].as_str() == Some(marker.as_str()))
                    .count();
                ((*pair, *ticket), count)
            })
            .collect()
    }

    fn missing(&self, raised: &[(usize, i64)]) -> Vec<(usize, i64)> {
        self.copies(raised)
            .into_iter()
            .filter(|(_, count)| *count == 0)
            .map(|(ticket, _)| ticket)
            .collect()
    }

    /// Every connection's runs, oldest first.
    async fn runs(&self) -> BTreeMap<RelationshipId, Vec<SyncRun>> {
        let mut by_relationship = BTreeMap::new();
        for id in &self.relationships {
            let mut runs = self
                .store
                .sync_runs(&RunFilter {
                    relationship: Some(*id),
                    status: None,
                    started_from: None,
                    started_before: None,
                    limit: 1000,
                })
                .await
                .expect("history reads");
            runs.sort_by_key(|run| run.started_at);
            by_relationship.insert(*id, runs);
        }
        by_relationship
    }
}

fn customer_name(pair: usize) -> String {
    format!("Customer {pair}")
}

fn provider_name(pair: usize) -> String {
    format!("Provider {pair}")
}

/// `pairs` copies of the demo's two tenants: "Customer N" (shaped like Contoso, with "Provider N"
/// as a company) and "Provider N" (shaped like Northwind IT, with "Customer N" as a company), each
/// with API users of its own.
fn pairs_world(pairs: usize) -> World {
    let demo = World::demo();
    let find = |name: &str| {
        demo.tenants
            .iter()
            .find(|tenant| tenant.name == name)
            .cloned()
            .expect("a demo tenant")
    };
    let (contoso, northwind) = (find("Contoso Manufacturing"), find("Northwind IT"));
    let mut tenants = Vec::new();
    for pair in 0..pairs {
        for (template, own, partner, domain) in [
            (
                &contoso,
                customer_name(pair),
                provider_name(pair),
                "@CONTOSO.EXAMPLE",
            ),
            (
                &northwind,
                provider_name(pair),
                customer_name(pair),
                "@NORTHWINDIT.EXAMPLE",
            ),
        ] {
            let mut seed = template.clone();
            seed.name = own.clone();
            seed.ci = None;
            let slug: String = own.chars().filter(char::is_ascii_alphanumeric).collect();
            for user in &mut seed.api_users {
                user.username = user
                    .username
                    .replace(domain, &format!("@{}.EXAMPLE", slug.to_ascii_uppercase()));
            }
            if let Some(companies) = seed.records.get_mut("Companies") {
                for (index, company) in companies.iter_mut().enumerate() {
                    let name = if index == 0 { &own } else { &partner };
                    company.insert("companyName".into(), Value::from(name.as_str()));
                }
            }
            tenants.push(seed);
        }
    }
    World {
        integration_codes: demo.integration_codes,
        tenants,
    }
}

/// One `fusion serve` process on the shared database, its log collected line by line.
struct Worker {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
    _data: tempfile::TempDir,
}

impl Worker {
    fn start(database_url: &str, simulator: &str, integration_code: &str) -> Worker {
        let data = tempfile::tempdir().expect("a temporary directory");
        let data_dir = data.path().display().to_string();
        let tick = TICK_SECONDS.to_string();
        let lease = LEASE_SECONDS.to_string();
        let mut command: Command = fusion(
            &[
                "--log-format",
                "json",
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database-url",
                database_url,
                "--data-dir",
                &data_dir,
            ],
            &[
                ("FUSION_SECRET_KEY", KEY),
                ("FUSION_AUTOTASK_OVERRIDE", simulator),
                ("FUSION_AUTOTASK_INTEGRATION_CODE", integration_code),
                ("FUSION_SCHEDULER_TICK_SECONDS", &tick),
                ("FUSION_LEASE_SECONDS", &lease),
                ("RUST_LOG", "info"),
            ],
        );
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("fusion serve starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (ready, announced) = std::sync::mpsc::channel();
        let reader = std::thread::spawn({
            let log = log.clone();
            move || {
                let mut ready = Some(ready);
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if line.contains("Support Fusion is serving")
                        && let Some(ready) = ready.take()
                    {
                        let _ = ready.send(());
                    }
                    log.lock().unwrap().push(line);
                }
            }
        });
        if announced.recv_timeout(PATIENCE).is_err() {
            let _ = child.kill();
            panic!(
                "fusion serve did not start:\n{}",
                log.lock().unwrap().join("\n")
            );
        }
        Worker {
            child,
            log,
            reader: Some(reader),
            _data: data,
        }
    }

    /// The name this process's leases carry (the engine's `EngineSettings::holder`).
    fn holder(&self) -> String {
        format!("fusion-{}", self.child.id())
    }

    /// The connections this process finished an automatic run of, from its log.
    fn connections_run(&self, relationships: &[RelationshipId]) -> BTreeSet<RelationshipId> {
        let log = self.log.lock().unwrap();
        relationships
            .iter()
            .filter(|id| {
                let id = id.to_string();
                log.iter()
                    .any(|line| line.contains("automatic sync finished") && line.contains(&id))
            })
            .copied()
            .collect()
    }

    fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// SIGKILL: no shutdown, no lease released, a run cut off wherever it was.
    fn kill(mut self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-KILL", &pid])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -KILL {pid} failed");
        let _ = self.child.wait();
    }

    fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -TERM {pid} failed");
        let status = self.child.wait().expect("the worker exits");
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        status
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn all_logs(workers: &[Worker]) -> String {
    workers
        .iter()
        .enumerate()
        .map(|(index, worker)| format!("--- worker {index}:\n{}", worker.log_text()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A PostgreSQL database of its own for the test, created from `FUSION_TEST_POSTGRES_URL`'s
/// server and dropped afterwards.
struct TestDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl TestDatabase {
    async fn create() -> Option<TestDatabase> {
        let admin_url = std::env::var(POSTGRES_URL_VARIABLE)
            .ok()
            .filter(|url| !url.trim().is_empty())?;
        let name = format!("fusion_scale_{}", uuid::Uuid::new_v4().simple());
        let mut connection = admin_connection(&admin_url).await;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut connection)
            .await
            .expect("create the test database");
        let _ = connection.close().await;
        let mut url = url::Url::parse(&admin_url).expect("a PostgreSQL URL");
        url.set_path(&format!("/{name}"));
        Some(TestDatabase {
            admin_url,
            name,
            url: url.to_string(),
        })
    }

    /// Relationship leases in force: relationship id → holder.
    async fn relationship_leases(&self) -> BTreeMap<String, String> {
        let mut connection = sqlx::PgConnection::connect(&self.url)
            .await
            .expect("connect to the test database");
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT lease_key, holder FROM leases WHERE expires_at > now() \
             AND lease_key LIKE 'relationship:%'",
        )
        .fetch_all(&mut connection)
        .await
        .expect("the leases read");
        let _ = connection.close().await;
        rows.into_iter()
            .map(|(key, holder)| (key.trim_start_matches("relationship:").to_owned(), holder))
            .collect()
    }

    async fn drop_database(self) {
        let mut connection = admin_connection(&self.admin_url).await;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE {} WITH (FORCE)",
            self.name
        )))
        .execute(&mut connection)
        .await
        .expect("drop the test database");
        let _ = connection.close().await;
    }
}

/// A connection to the server's maintenance database (`postgres`), where databases are created
/// and dropped.
async fn admin_connection(admin_url: &str) -> sqlx::PgConnection {
    let options: sqlx::postgres::PgConnectOptions = admin_url.parse().expect("a PostgreSQL URL");
    sqlx::PgConnection::connect_with(&options.database("postgres"))
        .await
        .expect("connect to the PostgreSQL server")
}
