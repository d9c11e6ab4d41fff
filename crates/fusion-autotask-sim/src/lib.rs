//! A stateful, faithful Autotask PSA REST simulator (ATServicesRest V1.0) for tests, demos and benchmarks.
//!
//! One listener serves every zone as `http://127.0.0.1:PORT/<host>/ATServicesRest/...`, where `<host>` is
//! `webservicesN.autotask.net` or the discovery host `webservices.autotask.net`. Behaviour follows
//! `shared/reference/autotask/API-NOTES.md`; behaviour the notes mark [UNCERTAIN] is a `SimOptions` switch.
//! The simulator owns its wire structs and never shares types with the `fusion-autotask` client.
//!
//! Entry points: [`Simulator::new`] + [`Simulator::spawn`] (tests), [`run_until`] (`fusion sim`), and the
//! control plane ([`Simulator::inject_fault`], UI-like edits, …), also reachable over HTTP under `/_sim/`.
//!
//! ## Behaviour choices (API-NOTES section → default, switch)
//!
//! | behaviour | default | switch |
//! | --- | --- | --- |
//! | auth failures (§2.4) | 401, empty body, `WWW-Authenticate: Basic Realm="webservicesN…"`; wrong zone, inactive user, missing header alike | `auth_failure_mode: Legacy2023` (500 for unknown user / code) |
//! | missing entity permission (§2.4) | 500 "User does not have adequate permissions to {query,create,update,delete} this entity." | `permission_denied_status` |
//! | missing record (§6) | 404 | `missing_item: NullItem` (200 `{"item":null}`) |
//! | dates (§8) | UTC, milliseconds, no `Z`; filters accept either | `dates_with_z` |
//! | suspension at 100 % (§7.1) | 429 `{"errors":[…threshold…]}` | `suspended_status` |
//! | thread threshold (§7.3) | 3 per (database, integration code, endpoint); 429 with `Itgenatr005` text | `thread_limit`, `thread_threshold_status` |
//! | ThresholdInformation counted (§7.2) | yes | `threshold_information_counts` |
//! | threshold latency (§7.1) | 0.5 s from 50 %, 1 s from 75 % | `latency_at_*`, `time_scale` |
//! | attachments (§3.3, §7.5) | 7,000,000 bytes per file; 10,000,000 bytes per 5 min, then 5 min blocked | `attachment_*` |
//! | long GET URLs (§5.5) | query string over 2,048 → 404 | `max_query_string_bytes` |
//!
//! Fixed choices: `nextPageUrl` only accepts the verb of the original query (GET on a POST query's next URL
//! is 405); string comparisons are case-insensitive; `noteq`/`notIn` never match empty values (SQL
//! semantics); PATCH validates the whole record but picklists/references only for sent fields; a ticket
//! status labelled "Complete" stamps `completedDate`; the child GET `/Tickets/{id}/Attachments/{id}` answers
//! `{"items":[…]}` with `data`, lists and queries never carry `data`.
//!
//! ## Hook for webhooks
//!
//! Every applied change (API write, UI-like edit) is published as a [`ChangeEvent`] (entity, id, action,
//! changed fields, person, record snapshot); [`Simulator::subscribe_changes`] returns a receiver.

mod control_plane;
mod demo_world;
mod events;
mod faults;
mod limits;
mod options;
mod query;
mod schema;
mod seed;
mod server;
mod store;
mod ui_edits;
mod webhooks;
mod wire;
mod writes;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde::Serialize;
use time::OffsetDateTime;
use tokio::sync::{broadcast, watch};

pub use demo_world::{
    DEMO_INTEGRATION_CODE, ENGINEER_ROLE, MANAGED_SERVICES, ONSITE_SUPPORT, REMOTE_SUPPORT,
    RETIRED_ROLE, RETIRED_WORK_TYPE, TECHNICIAN_ROLE,
};
pub use events::{ChangeAction, ChangeEvent};
pub use faults::{FaultKind, FaultRule};
pub use options::{AuthFailureMode, MissingItemMode, SimOptions};
pub use schema::EntityKind;
pub use seed::{
    ApiUserSeed, ModuleSeed, PicklistSeed, PicklistValueSeed, RequiredFieldSeed,
    SECURITY_LEVEL_FULL, SECURITY_LEVEL_NO_COSTS, SeedError, TenantSeed, UserDefinedFieldSeed,
    World,
};
pub use ui_edits::UiEditError;
pub use webhooks::{DeliveryOutcome, WebhookCallKind, WebhookDelivery};

use faults::ActiveFault;
use limits::{TenantLimits, ThreadCounters};
use store::{ApiUser, TenantData};
use writes::PendingEvent;

/// The published label of a zone number (API-NOTES §1.3).
pub fn zone_name(zone: u32) -> String {
    let label = match zone {
        1 => "Limited Release",
        2 => "Pre-release",
        3 => "America East",
        4 => "UK",
        5 => "America West",
        6 => "Australia",
        11 => "Pre-release (UK)",
        12 => "Spanish (Español)",
        14 => "America East 2",
        15 => "America West 2",
        16 => "UK2",
        17 => "Limited Release (UK)",
        18 => "German (Deutsch)",
        19 => "EU1 (English Europe and Asia)",
        22 => "America East 3",
        24 => "America West 3",
        25 => "America West 4",
        26 => "Australia 2",
        28 => "UK3",
        29 => "Australia / New Zealand",
        other => return format!("Zone {other}"),
    };
    label.to_owned()
}

/// A tenant as the outside world sees it (what `fusion sim` prints and tests log in with).
#[derive(Debug, Clone, Serialize)]
pub struct TenantInfo {
    pub name: String,
    pub zone: u32,
    pub zone_name: String,
    /// The production-form API URL, e.g. `https://webservices2.autotask.net/`.
    pub api_url: String,
    pub integration_code: String,
    pub api_users: Vec<ApiUserInfo>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ApiUserInfo {
    pub username: String,
    pub secret: String,
    pub active: bool,
    pub security_level: String,
}

/// One request the simulator answered (control-plane calls are not logged). No header is recorded.
#[derive(Debug, Clone, Serialize)]
pub struct LoggedRequest {
    pub method: String,
    /// The zone host segment, e.g. `webservices2.autotask.net`.
    pub host: String,
    /// The path as received (without the query string).
    pub path: String,
    /// Canonical route, e.g. `POST /V1.0/Tickets/query` or `GET /V1.0/Tickets/{id}/Notes`.
    pub route: String,
    /// HTTP status; 0 when the connection was dropped by a fault.
    pub status: u16,
    /// The authenticated tenant, when known.
    pub tenant: Option<String>,
}

/// How many requests the log keeps (a long-running `fusion sim` must not grow without bound).
pub const REQUEST_LOG_CAPACITY: usize = 50_000;

/// The request log: recent entries plus per-route counts.
#[derive(Debug, Default)]
pub(crate) struct RequestLog {
    entries: std::collections::VecDeque<LoggedRequest>,
    counts: BTreeMap<String, u64>,
}

impl RequestLog {
    pub(crate) fn record(&mut self, entry: LoggedRequest) {
        *self.counts.entry(entry.route.clone()).or_insert(0) += 1;
        if self.entries.len() == REQUEST_LOG_CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }
}

/// One simulated Autotask database.
#[derive(Debug)]
pub(crate) struct Tenant {
    pub name: String,
    /// Atomic because a tenant can be migrated to another zone at run time.
    zone: AtomicU32,
    pub ci: u32,
    pub data: RwLock<TenantData>,
    pub limits: Mutex<TenantLimits>,
}

impl Tenant {
    pub(crate) fn zone(&self) -> u32 {
        self.zone.load(Ordering::Relaxed)
    }
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub options: SimOptions,
    pub integration_codes: RwLock<Vec<String>>,
    pub tenants: RwLock<Vec<Arc<Tenant>>>,
    pub faults: Mutex<Vec<ActiveFault>>,
    /// Failures injected so far, by fault kind label (`server_error` → 12).
    pub faults_fired: Mutex<BTreeMap<String, u64>>,
    pub log: Mutex<RequestLog>,
    pub threads: ThreadCounters,
    pub events: broadcast::Sender<ChangeEvent>,
    pub sequence: AtomicU64,
    /// Flips to true on shutdown so held requests (latency, timeout faults) end at once.
    pub stopping: watch::Sender<bool>,
    /// Webhook configuration, delivery record and the delivery task's channel (`webhooks`).
    pub webhooks: webhooks::WebhookRegistry,
}

pub(crate) fn read_lock<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn write_lock<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn mutex_lock<T>(lock: &Mutex<T>) -> MutexGuard<'_, T> {
    lock.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The simulator: cheap to clone (an `Arc` inside), shared by the HTTP handlers and the control plane.
#[derive(Debug, Clone)]
pub struct Simulator {
    pub(crate) inner: Arc<Inner>,
}

impl Simulator {
    /// Builds a simulator from a world; fails when the seed is inconsistent.
    pub fn new(world: World, options: SimOptions) -> Result<Simulator, SeedError> {
        let now = OffsetDateTime::now_utc();
        let mut tenants = Vec::new();
        for (position, seed) in world.tenants.iter().enumerate() {
            if tenants
                .iter()
                .any(|tenant: &Arc<Tenant>| tenant.name.eq_ignore_ascii_case(&seed.name))
            {
                return Err(SeedError::Invalid(format!(
                    "tenant {} listed twice",
                    seed.name
                )));
            }
            let data = store::seed_tenant(seed, position, now)?;
            for user in &data.api_users {
                let taken = tenants.iter().any(|tenant: &Arc<Tenant>| {
                    read_lock(&tenant.data).api_user(&user.username).is_some()
                });
                if taken {
                    return Err(SeedError::Invalid(format!(
                        "API user {} exists in two tenants",
                        user.username
                    )));
                }
            }
            tenants.push(Arc::new(Tenant {
                name: seed.name.clone(),
                zone: AtomicU32::new(seed.zone),
                ci: seed
                    .ci
                    .unwrap_or(29_680_000 + position as u32 * 17 + seed.zone),
                data: RwLock::new(data),
                limits: Mutex::new(TenantLimits::default()),
            }));
        }
        if world
            .integration_codes
            .iter()
            .any(|code| code.trim().is_empty())
        {
            return Err(SeedError::Invalid(
                "an integration code is empty".to_owned(),
            ));
        }
        let (events, _) = broadcast::channel(4096);
        let (stopping, _) = watch::channel(false);
        Ok(Simulator {
            inner: Arc::new(Inner {
                options,
                integration_codes: RwLock::new(world.integration_codes),
                tenants: RwLock::new(tenants),
                faults: Mutex::new(Vec::new()),
                faults_fired: Mutex::new(BTreeMap::new()),
                log: Mutex::new(RequestLog::default()),
                threads: Arc::new(Mutex::new(Default::default())),
                events,
                sequence: AtomicU64::new(1),
                stopping,
                webhooks: Default::default(),
            }),
        })
    }

    /// The axum router (every zone, discovery, and `/_sim/`), usable without a socket.
    pub fn router(&self) -> axum::Router {
        server::router(self.clone())
    }

    /// Binds `addr` (use `127.0.0.1:0` in tests) and serves until [`RunningSimulator::shutdown`].
    pub async fn spawn(&self, addr: SocketAddr) -> std::io::Result<RunningSimulator> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        // A simulator may be served again after an earlier listener was shut down.
        self.inner.stopping.send_replace(false);
        let local = listener.local_addr()?;
        let (stop_sender, stop_receiver) = tokio::sync::oneshot::channel::<()>();
        let router = self.router();
        webhooks::start_delivery(self);
        let handle = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stop_receiver.await;
            };
            if let Err(error) = axum::serve(listener, router)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::warn!(%error, "simulator server stopped with an error");
            }
        });
        Ok(RunningSimulator {
            base_url: format!("http://{local}"),
            simulator: self.clone(),
            stop: Some(stop_sender),
            handle,
        })
    }

    pub fn options(&self) -> &SimOptions {
        &self.inner.options
    }

    pub(crate) fn tenant(&self, name: &str) -> Option<Arc<Tenant>> {
        read_lock(&self.inner.tenants)
            .iter()
            .find(|tenant| {
                tenant.name.eq_ignore_ascii_case(name)
                    || slug(&tenant.name) == name.to_ascii_lowercase()
            })
            .cloned()
    }

    pub(crate) fn all_tenants(&self) -> Vec<Arc<Tenant>> {
        read_lock(&self.inner.tenants).clone()
    }

    /// Every tenant with its zone, production API URL, integration code and API users (with secrets).
    pub fn tenants(&self) -> Vec<TenantInfo> {
        let code = read_lock(&self.inner.integration_codes)
            .first()
            .cloned()
            .unwrap_or_default();
        self.all_tenants()
            .iter()
            .map(|tenant| {
                let data = read_lock(&tenant.data);
                TenantInfo {
                    name: tenant.name.clone(),
                    zone: tenant.zone(),
                    zone_name: zone_name(tenant.zone()),
                    api_url: format!("https://webservices{}.autotask.net/", tenant.zone()),
                    integration_code: code.clone(),
                    api_users: data.api_users.iter().map(api_user_info).collect(),
                }
            })
            .collect()
    }

    /// Adds a tenant at run time (same rules as a seeded one).
    pub fn add_tenant(&self, seed: TenantSeed) -> Result<TenantInfo, SeedError> {
        let existing = self.all_tenants();
        if existing
            .iter()
            .any(|tenant| tenant.name.eq_ignore_ascii_case(&seed.name))
        {
            return Err(SeedError::Invalid(format!(
                "tenant {} already exists",
                seed.name
            )));
        }
        let data = store::seed_tenant(&seed, existing.len(), OffsetDateTime::now_utc())?;
        for user in &data.api_users {
            if existing
                .iter()
                .any(|tenant| read_lock(&tenant.data).api_user(&user.username).is_some())
            {
                return Err(SeedError::Invalid(format!(
                    "API user {} exists in another tenant",
                    user.username
                )));
            }
        }
        let tenant = Arc::new(Tenant {
            name: seed.name.clone(),
            zone: AtomicU32::new(seed.zone),
            ci: seed
                .ci
                .unwrap_or(29_680_000 + existing.len() as u32 * 17 + seed.zone),
            data: RwLock::new(data),
            limits: Mutex::new(TenantLimits::default()),
        });
        write_lock(&self.inner.tenants).push(tenant);
        self.tenants()
            .into_iter()
            .find(|info| info.name == seed.name)
            .ok_or_else(|| SeedError::Invalid("tenant vanished".to_owned()))
    }

    /// Migrates a tenant to another zone: ZoneInformation then names the new zone and calls to the old
    /// zone answer 401 (what clients see until they re-discover).
    pub fn move_tenant_to_zone(&self, tenant: &str, zone: u32) -> bool {
        match self.tenant(tenant) {
            Some(tenant) => {
                tenant.zone.store(zone, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    pub fn integration_codes(&self) -> Vec<String> {
        read_lock(&self.inner.integration_codes).clone()
    }

    /// Adds a deployment integration code (valid for every tenant).
    pub fn add_integration_code(&self, code: &str) {
        write_lock(&self.inner.integration_codes).push(code.to_owned());
    }

    pub fn inject_fault(&self, rule: FaultRule) {
        mutex_lock(&self.inner.faults).push(ActiveFault::new(rule));
    }

    pub fn clear_faults(&self) {
        mutex_lock(&self.inner.faults).clear();
    }

    /// The active fault rules (with their original counts).
    pub fn faults(&self) -> Vec<FaultRule> {
        mutex_lock(&self.inner.faults)
            .iter()
            .map(|fault| fault.rule.clone())
            .collect()
    }

    /// Creates an API user; returns its info (with a generated secret).
    pub fn create_api_user(
        &self,
        tenant: &str,
        username: &str,
        security_level: &str,
    ) -> Result<ApiUserInfo, UiEditError> {
        let tenant_ref = self
            .tenant(tenant)
            .ok_or_else(|| UiEditError::UnknownTenant(tenant.to_owned()))?;
        let taken = self
            .all_tenants()
            .iter()
            .any(|other| read_lock(&other.data).api_user(username).is_some());
        if taken {
            return Err(UiEditError::Rejected(vec![format!(
                "API user {username} already exists"
            )]));
        }
        let mut data = write_lock(&tenant_ref.data);
        let mut resource = serde_json::Map::new();
        resource.insert("firstName".into(), "API User".into());
        resource.insert(
            "lastName".into(),
            username.split('@').next().unwrap_or("API").into(),
        );
        resource.insert("email".into(), username.into());
        resource.insert("userName".into(), username.into());
        resource.insert("isActive".into(), true.into());
        resource.insert("licenseType".into(), 7.into());
        let resource_id = store::insert_seed_record(
            &mut data,
            EntityKind::Resources,
            &resource,
            OffsetDateTime::now_utc(),
        )
        .map_err(|message| UiEditError::Rejected(vec![message]))?;
        let user = ApiUser {
            username: username.to_owned(),
            secret: generate_secret(),
            active: true,
            security_level: security_level.to_owned(),
            resource_id,
            denied: Default::default(),
            denied_verbs: Default::default(),
            can_create_webhooks: true,
            can_view_non_billable_time: true,
        };
        let info = api_user_info(&user);
        data.api_users.push(user);
        Ok(info)
    }

    /// Generates a new secret, invalidating the old one. None when the tenant or user is unknown.
    pub fn regenerate_secret(&self, tenant: &str, username: &str) -> Option<String> {
        let tenant = self.tenant(tenant)?;
        let mut data = write_lock(&tenant.data);
        let user = data.api_user_mut(username)?;
        user.secret = generate_secret();
        Some(user.secret.clone())
    }

    pub fn set_api_user_active(&self, tenant: &str, username: &str, active: bool) -> bool {
        let Some(tenant) = self.tenant(tenant) else {
            return false;
        };
        let mut data = write_lock(&tenant.data);
        match data.api_user_mut(username) {
            Some(user) => {
                user.active = active;
                true
            }
            None => false,
        }
    }

    /// Grants or withdraws one verb (`create`, `update`, `delete` or `query`) on one entity (path
    /// name, e.g. `TicketNotes`) for the user, leaving the entity's other verbs as they are — as an
    /// administrator unticking "Add" on an entity of a security level does.
    pub fn set_entity_verb_permission(
        &self,
        tenant: &str,
        username: &str,
        entity: &str,
        verb: &str,
        allowed: bool,
    ) -> bool {
        let Some(kind) = EntityKind::parse(entity) else {
            return false;
        };
        let verb: &'static str = match verb {
            "create" => "create",
            "update" => "update",
            "delete" => "delete",
            "query" => "query",
            _ => return false,
        };
        let Some(tenant) = self.tenant(tenant) else {
            return false;
        };
        let mut data = write_lock(&tenant.data);
        match data.api_user_mut(username) {
            Some(user) => {
                if allowed {
                    user.denied_verbs.remove(&(kind, verb));
                } else {
                    user.denied_verbs.insert((kind, verb));
                }
                true
            }
            None => false,
        }
    }

    /// Grants or withdraws "Can view non-billable time entries" on the user's security level:
    /// without it, queries and reads of `TimeEntries` leave non-billable entries out, silently.
    pub fn set_non_billable_time_permission(
        &self,
        tenant: &str,
        username: &str,
        allowed: bool,
    ) -> bool {
        let Some(tenant) = self.tenant(tenant) else {
            return false;
        };
        let mut data = write_lock(&tenant.data);
        match data.api_user_mut(username) {
            Some(user) => {
                user.can_view_non_billable_time = allowed;
                true
            }
            None => false,
        }
    }

    /// Grants or withdraws "Can create WebHooks" on the user's security level: without it, writing
    /// any webhook configuration entity answers the permission error (reading still works).
    pub fn set_webhook_permission(&self, tenant: &str, username: &str, allowed: bool) -> bool {
        let Some(tenant) = self.tenant(tenant) else {
            return false;
        };
        let mut data = write_lock(&tenant.data);
        match data.api_user_mut(username) {
            Some(user) => {
                user.can_create_webhooks = allowed;
                true
            }
            None => false,
        }
    }

    /// Grants or withdraws one entity (path name, e.g. `TimeEntries`) from the user's security level.
    pub fn set_entity_permission(
        &self,
        tenant: &str,
        username: &str,
        entity: &str,
        allowed: bool,
    ) -> bool {
        let Some(kind) = EntityKind::parse(entity) else {
            return false;
        };
        let Some(tenant) = self.tenant(tenant) else {
            return false;
        };
        let mut data = write_lock(&tenant.data);
        match data.api_user_mut(username) {
            Some(user) => {
                if allowed {
                    user.denied.remove(&kind);
                } else {
                    user.denied.insert(kind);
                }
                true
            }
            None => false,
        }
    }

    pub fn set_security_level(&self, tenant: &str, username: &str, security_level: &str) -> bool {
        let Some(tenant) = self.tenant(tenant) else {
            return false;
        };
        let mut data = write_lock(&tenant.data);
        match data.api_user_mut(username) {
            Some(user) => {
                user.security_level = security_level.to_owned();
                true
            }
            None => false,
        }
    }

    /// The most recent requests (at most [`REQUEST_LOG_CAPACITY`]), oldest first.
    pub fn request_log(&self) -> Vec<LoggedRequest> {
        mutex_lock(&self.inner.log)
            .entries
            .iter()
            .cloned()
            .collect()
    }

    /// Failures the fault rules injected since start, by kind (`server_error`, `too_many_requests`,
    /// `thread_threshold`, `timeout_after_write`, `malformed_body`, …); latency is not counted.
    pub fn faults_injected(&self) -> BTreeMap<String, u64> {
        mutex_lock(&self.inner.faults_fired).clone()
    }

    /// Decides the faults of one request and counts an injected failure.
    pub(crate) fn decide_faults(
        &self,
        tenant: Option<&str>,
        endpoint: &str,
        method: &str,
    ) -> faults::FaultDecision {
        let decision = faults::decide(
            &mut mutex_lock(&self.inner.faults),
            tenant,
            endpoint,
            method,
        );
        if let Some(failure) = &decision.failure {
            *mutex_lock(&self.inner.faults_fired)
                .entry(failure.label().to_owned())
                .or_insert(0) += 1;
        }
        decision
    }

    pub fn clear_request_log(&self) {
        let mut log = mutex_lock(&self.inner.log);
        log.entries.clear();
        log.counts.clear();
    }

    /// Requests per canonical route (`POST /V1.0/Tickets/query` → 3) since start or the last clear
    /// (not limited by the log's capacity).
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        mutex_lock(&self.inner.log).counts.clone()
    }

    /// Requests counted against the tenant's rolling threshold right now.
    pub fn current_request_count(&self, tenant: &str) -> Option<u64> {
        let tenant = self.tenant(tenant)?;
        let count = mutex_lock(&tenant.limits)
            .current_count(std::time::Instant::now(), &self.inner.options);
        Some(count)
    }

    /// Subscribes to every applied change (the hook for webhook delivery).
    pub fn subscribe_changes(&self) -> broadcast::Receiver<ChangeEvent> {
        self.inner.events.subscribe()
    }

    pub(crate) fn publish(&self, tenant: &str, pending: Vec<PendingEvent>) {
        for event in pending {
            let sequence = self.inner.sequence.fetch_add(1, Ordering::Relaxed);
            let _ = self.inner.events.send(ChangeEvent {
                tenant: tenant.to_owned(),
                entity: event.entity,
                id: event.id,
                action: event.action,
                changed_fields: event.changed_fields,
                person_id: event.person_id,
                at: event.at,
                sequence,
                record: event.record,
            });
        }
    }
}

fn api_user_info(user: &ApiUser) -> ApiUserInfo {
    ApiUserInfo {
        username: user.username.clone(),
        secret: user.secret.clone(),
        active: user.active,
        security_level: user.security_level.clone(),
    }
}

/// `Northwind IT` → `northwind-it` (tenant names in control-plane URLs).
pub(crate) fn slug(name: &str) -> String {
    name.chars()
        .map(|character| {
            if character.is_ascii_alphanumeric() {
                character.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// A fresh API secret in the vendor's style (mixed case, digits and a few symbols).
pub(crate) fn generate_secret() -> String {
    let raw = uuid::Uuid::new_v4().simple().to_string();
    let symbols = ['$', '#', '*', '@', '~'];
    raw.chars()
        .take(24)
        .enumerate()
        .map(|(position, character)| match position % 7 {
            3 => character.to_ascii_uppercase(),
            6 => symbols[position % symbols.len()],
            _ => character,
        })
        .collect()
}

/// A simulator serving on a socket.
#[derive(Debug)]
pub struct RunningSimulator {
    base_url: String,
    simulator: Simulator,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<()>,
}

impl RunningSimulator {
    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn simulator(&self) -> &Simulator {
        &self.simulator
    }

    /// `http://127.0.0.1:PORT/webservicesN.autotask.net/ATServicesRest/V1.0/` for a zone.
    pub fn zone_base(&self, zone: u32) -> String {
        format!(
            "{}/webservices{zone}.autotask.net/ATServicesRest/V1.0/",
            self.base_url
        )
    }

    /// The one JSON line `fusion sim` prints when it is listening.
    pub fn ready_line(&self) -> String {
        ready_line(&self.base_url, &self.simulator)
    }

    /// Stops accepting, ends held requests, and waits for the server task.
    pub async fn shutdown(mut self) {
        let _ = self.simulator.inner.stopping.send(true);
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.handle).await;
    }
}

impl Drop for RunningSimulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = self.simulator.inner.stopping.send(true);
            let _ = stop.send(());
        }
    }
}

/// The ready line's shape; structs keep the documented key order (`{"ready":true,"base_url":…}`).
#[derive(Serialize)]
struct ReadyLine<'a> {
    ready: bool,
    base_url: &'a str,
    tenants: Vec<ReadyTenant>,
}

#[derive(Serialize)]
struct ReadyTenant {
    name: String,
    zone: u32,
    api_url: String,
    integration_code: String,
    api_users: Vec<ReadyApiUser>,
}

#[derive(Serialize)]
struct ReadyApiUser {
    username: String,
    secret: String,
    active: bool,
}

fn ready_line(base_url: &str, simulator: &Simulator) -> String {
    let tenants = simulator
        .tenants()
        .into_iter()
        .map(|tenant| ReadyTenant {
            name: tenant.name,
            zone: tenant.zone,
            api_url: tenant.api_url,
            integration_code: tenant.integration_code,
            api_users: tenant
                .api_users
                .into_iter()
                .map(|user| ReadyApiUser {
                    username: user.username,
                    secret: user.secret,
                    active: user.active,
                })
                .collect(),
        })
        .collect();
    serde_json::to_string(&ReadyLine {
        ready: true,
        base_url,
        tenants,
    })
    .unwrap_or_default()
}

/// Why `run_until` stopped early.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Seed(#[from] SeedError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Builds a simulator, listens on `addr`, prints the ready line to stdout, and serves until `shutdown`
/// resolves (the `fusion sim` command wires SIGINT/SIGTERM to it).
pub async fn run_until(
    addr: SocketAddr,
    world: World,
    options: SimOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    let simulator = Simulator::new(world, options)?;
    let running = simulator
        .spawn(addr)
        .await
        .map_err(|source| RunError::Listen { addr, source })?;
    {
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{}", running.ready_line());
        let _ = stdout.flush();
    }
    shutdown.await;
    running.shutdown().await;
    Ok(())
}
