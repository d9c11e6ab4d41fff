//! Several `fusion serve` processes on one PostgreSQL database sharing the connections (issue 15):
//! the `scale_out` bench phase and the end-to-end test (`tests/it/scale_out.rs` compiles this
//! file in as it is, so it depends on library crates only and names the demo's connection set-up
//! `super::demo_connection`).
//!
//! [`Pairs`] is one simulator with `pairs` pairs of tenants ("Customer N" → "Provider N") and
//! the database with one connection per pair, configured like the demo's, its baseline set and
//! automatic sync on; each connection has its own two tenants, so runs of different connections
//! may go on at the same time in different processes (one process talks to a given Autotask
//! database at a time). [`Worker`] is one `fusion serve` on that database, its log collected;
//! [`kill_one_mid_run`] sends SIGKILL to whichever worker is first seen holding a connection's
//! lease and waits until the others ran its connections and every raised ticket was copied.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use fusion_autotask::{AutotaskSettings, RetryPolicy, TransportOverride};
use fusion_autotask_sim::{EntityKind, RunningSimulator, SimOptions, Simulator, TenantInfo, World};
use fusion_domain::sync::{SyncCursor, SyncRun, SyncSchedule, TicketId, TicketMarker};
use fusion_domain::{OrgId, PlatformKind, RelationshipId, Role, SyncReadiness};
use fusion_engine::ports::{CredentialsUpdate, RunFilter};
use fusion_store::{ScratchSchema, SecretKey, Store, StoreOptions};
use secrecy::SecretString;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::demo_connection::{self, DemoSide};

/// The key every worker shares (several workers on one database take it from the environment).
pub const KEY: &str = "q83vEjRWeJCrze8SNFZ4mp6/BsrS1Mu8qN3vErRWeJA=";

/// The simulator with its pairs of tenants, and the database with one connection per pair.
pub struct Pairs {
    running: RunningSimulator,
    pub store: Arc<dyn Store>,
    pub integration_code: String,
    pub relationships: Vec<RelationshipId>,
}

impl Pairs {
    pub async fn start(
        database_url: &str,
        pairs: usize,
        options: SimOptions,
    ) -> anyhow::Result<Pairs> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let simulator = Simulator::new(pairs_world(pairs)?, options)
            .map_err(|error| anyhow::anyhow!("the pairs world is invalid: {error}"))?;
        let running = simulator
            .spawn(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .context("cannot start the Autotask simulator")?;
        let tenants = simulator.tenants();
        let integration_code = tenants
            .first()
            .map(|tenant| tenant.integration_code.clone())
            .context("the pairs world has no tenants")?;
        let store = fusion_store::open_with_options(
            database_url,
            SecretKey::from_base64(KEY).context("the shared key")?,
            StoreOptions::for_tests(),
        )
        .await
        .context("the PostgreSQL database does not open")?;
        let settings = AutotaskSettings {
            integration_code: Some(integration_code.clone()),
            transport_override: Some(TransportOverride::parse(running.base_url())?),
            retry: RetryPolicy {
                max_attempts: 4,
                initial_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(5),
            },
            ..AutotaskSettings::default()
        };
        let now = OffsetDateTime::now_utc();
        let mut relationships = Vec::new();
        for pair in 0..pairs {
            let (customer, provider) = (customer_name(pair), provider_name(pair));
            let (customer_tenant, provider_tenant) =
                (tenant(&tenants, &customer)?, tenant(&tenants, &provider)?);
            let customer_org = register(store.as_ref(), customer_tenant).await?;
            let provider_org = register(store.as_ref(), provider_tenant).await?;
            let (customer_user, customer_secret) = active_user(customer_tenant)?;
            let (provider_user, provider_secret) = active_user(provider_tenant)?;
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
            .await?;
            let id = connection.relationship.id;
            for side in [Role::Source, Role::Target] {
                store
                    .save_cursor(&SyncCursor {
                        relationship: id,
                        side,
                        last_activity_at: now,
                        last_id: None,
                    })
                    .await?;
            }
            store
                .set_sync_readiness(id, SyncReadiness::ReadyForAutomaticSync)
                .await?;
            store
                .set_sync_schedule(
                    id,
                    &SyncSchedule::new(true, time::Duration::minutes(1))?,
                    now,
                )
                .await?;
            relationships.push(id);
        }
        Ok(Pairs {
            running,
            store,
            integration_code,
            relationships,
        })
    }

    pub fn simulator(&self) -> &Simulator {
        self.running.simulator()
    }

    pub fn base_url(&self) -> String {
        self.running.base_url().to_owned()
    }

    /// A person at customer `pair` raises a ticket for its provider; answers (pair, ticket id).
    pub fn raise(&self, pair: usize, title: &str) -> anyhow::Result<(usize, i64)> {
        let customer = customer_name(pair);
        let provider_company = self
            .simulator()
            .records(&customer, EntityKind::Companies)
            .into_iter()
            .find(|company| company["companyName"] == provider_name(pair).as_str())
            .and_then(|company| company["id"].as_i64())
            .context("the customer has no company for its provider")?;
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
            .map_err(|error| anyhow::anyhow!("cannot raise a ticket at {customer}: {error}"))?;
        Ok((pair, ticket))
    }

    /// How many copies each raised ticket has at its provider.
    pub fn copies(&self, raised: &[(usize, i64)]) -> BTreeMap<(usize, i64), usize> {
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

    pub fn missing(&self, raised: &[(usize, i64)]) -> Vec<(usize, i64)> {
        self.copies(raised)
            .into_iter()
            .filter(|(_, count)| *count == 0)
            .map(|(ticket, _)| ticket)
            .collect()
    }

    /// Every connection's runs, oldest first.
    pub async fn runs(&self) -> anyhow::Result<BTreeMap<RelationshipId, Vec<SyncRun>>> {
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
                .await?;
            runs.sort_by_key(|run| run.started_at);
            by_relationship.insert(*id, runs);
        }
        Ok(by_relationship)
    }

    pub async fn stop(self) {
        self.store.close().await;
        self.running.shutdown().await;
    }
}

fn customer_name(pair: usize) -> String {
    format!("Customer {pair}")
}

fn provider_name(pair: usize) -> String {
    format!("Provider {pair}")
}

pub fn tenant<'a>(tenants: &'a [TenantInfo], name: &str) -> anyhow::Result<&'a TenantInfo> {
    tenants
        .iter()
        .find(|tenant| tenant.name == name)
        .with_context(|| format!("the simulator has no tenant {name}"))
}

pub fn active_user(tenant: &TenantInfo) -> anyhow::Result<(String, String)> {
    let user = tenant
        .api_users
        .iter()
        .find(|user| user.active)
        .with_context(|| format!("{} has no active API user", tenant.name))?;
    Ok((user.username.clone(), user.secret.clone()))
}

/// The organisation for a tenant with its Autotask credentials, as `fusion demo` registers it
/// (without its administrator).
pub async fn register(store: &dyn Store, tenant: &TenantInfo) -> anyhow::Result<OrgId> {
    let organisation = store.create_organisation(&tenant.name).await?;
    let (username, secret) = active_user(tenant)?;
    store
        .save_platform_credentials(
            organisation.id,
            None,
            CredentialsUpdate {
                platform: PlatformKind::Autotask,
                api_url: tenant.api_url.clone(),
                username,
                secret: Some(SecretString::from(secret)),
                integration_code_override: None,
            },
        )
        .await?;
    Ok(organisation.id)
}

/// `pairs` copies of the demo's two tenants: "Customer N" (shaped like Contoso, with "Provider N"
/// as a company) and "Provider N" (shaped like Northwind IT, with "Customer N" as a company), each
/// with API users of its own.
fn pairs_world(pairs: usize) -> anyhow::Result<World> {
    let demo = World::demo();
    let find = |name: &str| {
        demo.tenants
            .iter()
            .find(|tenant| tenant.name == name)
            .cloned()
            .with_context(|| format!("the demo world has no tenant {name}"))
    };
    let (contoso, northwind) = (find("Contoso Manufacturing")?, find("Northwind IT")?);
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
    Ok(World {
        integration_codes: demo.integration_codes,
        tenants,
    })
}

/// How the workers run.
#[derive(Debug, Clone, Copy)]
pub struct WorkerSettings {
    /// `FUSION_LEASE_SECONDS`: a killed process's connections are free again after this.
    pub lease_seconds: u64,
    /// `FUSION_SCHEDULER_TICK_SECONDS`.
    pub tick_seconds: u64,
    /// How long anything may take before giving up (never reached when it works).
    pub patience: Duration,
}

impl WorkerSettings {
    /// Within this of a SIGKILL the killed process's connections must have run elsewhere: the
    /// lease lifetime plus one scheduler tick.
    pub fn takeover_limit(&self) -> Duration {
        Duration::from_secs(self.lease_seconds + self.tick_seconds)
    }
}

/// One `fusion serve` process on the shared database, its log collected line by line.
pub struct Worker {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Worker {
    /// Starts `program` (the built `fusion`, with a clean environment) as `fusion serve` on
    /// `database_url` and `simulator`, its data in `data_dir`, and waits until it serves.
    pub fn start(
        mut program: Command,
        pairs: &Pairs,
        database_url: &str,
        data_dir: &Path,
        settings: WorkerSettings,
    ) -> anyhow::Result<Worker> {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create {}", data_dir.display()))?;
        program
            .args(["--log-format", "json", "serve", "--listen", "127.0.0.1:0"])
            .arg("--database-url")
            .arg(database_url)
            .arg("--data-dir")
            .arg(data_dir)
            .env("FUSION_SECRET_KEY", KEY)
            .env("FUSION_AUTOTASK_OVERRIDE", pairs.base_url())
            .env("FUSION_AUTOTASK_INTEGRATION_CODE", &pairs.integration_code)
            .env(
                "FUSION_SCHEDULER_TICK_SECONDS",
                settings.tick_seconds.to_string(),
            )
            .env("FUSION_LEASE_SECONDS", settings.lease_seconds.to_string())
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = program.spawn().context("fusion serve does not start")?;
        let stderr = child.stderr.take().context("stderr is not piped")?;
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
                    log.lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(line);
                }
            }
        });
        let worker = Worker {
            child,
            log,
            reader: Some(reader),
        };
        if announced.recv_timeout(settings.patience).is_err() {
            bail!("fusion serve did not start:\n{}", worker.log_text());
        }
        Ok(worker)
    }

    /// The name this process's leases carry (the engine's `EngineSettings::holder`).
    pub fn holder(&self) -> String {
        format!("fusion-{}", self.child.id())
    }

    /// The connections this process finished an automatic run of, from its log.
    pub fn connections_run(&self, relationships: &[RelationshipId]) -> BTreeSet<RelationshipId> {
        let log = self
            .log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
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

    pub fn log_text(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .join("\n")
    }

    /// Sends `signal` (`KILL`, `TERM`) and waits for the process to end.
    fn signal(&mut self, signal: &str) -> anyhow::Result<ExitStatus> {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .context("kill does not run")?;
        if !sent.success() {
            bail!("kill -{signal} {pid} failed");
        }
        let status = self.child.wait()?;
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        Ok(status)
    }

    /// SIGKILL: no shutdown, no lease released, a run cut off wherever it was.
    pub fn kill(mut self) -> anyhow::Result<()> {
        self.signal("KILL").map(drop)
    }

    /// SIGTERM: a graceful stop.
    pub fn terminate(mut self) -> anyhow::Result<ExitStatus> {
        self.signal("TERM")
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

pub fn all_logs(workers: &[Worker]) -> String {
    workers
        .iter()
        .enumerate()
        .map(|(index, worker)| format!("--- worker {index}:\n{}", worker.log_text()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// What [`kill_one_mid_run`] saw.
#[derive(Debug)]
pub struct Takeover {
    /// The connections whose leases the killed process held.
    pub orphaned: Vec<RelationshipId>,
    /// From the SIGKILL until the last of them had started a run (that finished) in another
    /// process.
    pub after: Duration,
}

/// Sends SIGKILL to whichever of `workers` is first seen holding a connection's lease (removing
/// it from `workers`), then waits until each of its connections ran again in another process and
/// every ticket of `raised` has a copy.
pub async fn kill_one_mid_run(
    pairs: &Pairs,
    schema: &ScratchSchema,
    workers: &mut Vec<Worker>,
    raised: &[(usize, i64)],
    patience: Duration,
) -> anyhow::Result<Takeover> {
    let started = Instant::now();
    let (victim, orphaned) = loop {
        let held = schema.lease_holders("relationship:").await?;
        let found = workers.iter().enumerate().find_map(|(index, worker)| {
            let orphaned: Vec<RelationshipId> = pairs
                .relationships
                .iter()
                .filter(|id| held.get(&id.to_string()) == Some(&worker.holder()))
                .copied()
                .collect();
            (!orphaned.is_empty()).then_some((index, orphaned))
        });
        if let Some(found) = found {
            break found;
        }
        if started.elapsed() > patience {
            bail!(
                "no worker ever held a connection's lease; logs:\n{}",
                all_logs(workers)
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let killed_at = OffsetDateTime::now_utc();
    workers.remove(victim).kill()?;

    let waited = Instant::now();
    loop {
        let runs = pairs.runs().await?;
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
        if taken_over.iter().all(Option::is_some) && pairs.missing(raised).is_empty() {
            let after = taken_over
                .iter()
                .flatten()
                .map(|run| run.started_at - killed_at)
                .max()
                .and_then(|gap| Duration::try_from(gap).ok())
                .unwrap_or_default();
            return Ok(Takeover { orphaned, after });
        }
        if waited.elapsed() > patience {
            bail!(
                "the killed worker's connections were not taken over: {} tickets missing; logs:\n{}",
                pairs.missing(raised).len(),
                all_logs(workers)
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
