//! Support Fusion's front door: the `/api/v1` JSON API and the server-rendered web UI (sign-in,
//! Settings with Save and Test connection), with sessions, CSRF protection, login throttling and
//! security headers.
//!
//! Routes (every `{org_id}` must be the caller's own organisation, otherwise 404):
//!
//! | route | what |
//! | --- | --- |
//! | `GET /`, `GET /settings` | redirect to the caller's Settings, or to sign-in |
//! | `GET/POST /sign-in`, `POST /sign-out` | session cookie in and out (throttled sign-in) |
//! | `GET/POST /orgs/{org_id}/settings` | Settings page; POST saves |
//! | `POST /orgs/{org_id}/settings/test` | Test connection with the values in the form |
//! | `POST /orgs/{org_id}/api-tokens` | create an API token, shown once |
//! | `GET /static/fusion.css`, `GET /healthz`, `GET /readyz` | stylesheet, liveness, readiness (JSON; see `readiness`) |
//! | `GET /api/v1/openapi.json` | the OpenAPI document of `/api/v1` (no auth; `openapi.json` in this crate) |
//! | `GET /api/v1/me` | who am I (+ CSRF token) |
//! | `GET/POST /api/v1/me/api-tokens`, `DELETE /api/v1/me/api-tokens/{id}` | the caller's API tokens: list, create (with an expiry), revoke (see `api_tokens`) |
//! | `GET/POST /orgs/{org_id}/settings/api-tokens`, `POST …/api-tokens/{id}/revoke` | the API tokens page in Settings |
//! | `GET/PUT /api/v1/orgs/{org_id}/platform` | platform credentials (secret write-only) |
//! | `POST /api/v1/orgs/{org_id}/platform/test` | connection test (saved values, or unsaved ones in the body) |
//! | `GET /api/v1/orgs/{org_id}/platform/audit` | credentials change log |
//! | `…/orgs/{org_id}/connections…`, `/api/v1/orgs/{org_id}/relationships…` | organisation connections (see `relationships`) |
//! | `/orgs/{org_id}/{sync,dashboard}…`, `/api/v1/orgs/{org_id}/{sync,dashboard}…`, `/api/v1/orgs/{org_id}/relationships/{id}/sync…` | Sync page, run details, Dashboard and their API (see `sync`) |
//! | `…/connections/{id}/{configuration,mappings,description}`, `/api/v1/orgs/{org_id}/relationships/{id}/{configuration,configuration/history,choices,mappings,description,export,import}…` | integration configuration per relationship and its change history (see `configuration`) |
//! | `GET/POST /orgs/{org_id}/settings/notifications…`, `/api/v1/orgs/{org_id}/notifications…` | notification settings, signing secret, Send test (see `notifications`) |
//!
//! Invariants:
//! - This crate holds no business logic: URL rules, credential cleaning, the connection test,
//!   tenant choices and previews come from the platform through the engine's `PlatformTenants`
//!   port (it knows no adapter), the connection use cases from the engine's `Connections`, the
//!   configuration rules from its `ConfigurationService`, sync status from its `SyncOverviews`,
//!   persistence from the core's storage ports (one `AppStore` handle; no store adapter), wording
//!   of outcomes from `fusion-domain`.
//! - No GET changes state; every cookie-authenticated write carries a CSRF token derived from the
//!   session token (no extra server state).
//! - A person reaches only their own organisation: any other organisation's route answers 404,
//!   exactly like a route that does not exist.
//! - An API secret is never written to a response, a page, an error message or the log.

mod api;
mod api_budget;
mod api_tokens;
mod charts;
mod configuration;
mod demo;
mod dto;
mod error;
pub mod hooks;
pub mod metrics;
mod notifications;
mod openapi;
mod page_chrome;
mod pages;
mod platform_settings;
mod rate_limit;
pub mod readiness;
mod relationships;
mod security_headers;
mod session;
mod sync;
mod templates;
mod throttle;
mod wording;

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use fusion_domain::{Clock, SystemClock};
use fusion_engine::configuration::ConfigurationService;
use fusion_engine::ports::AppStore;
use fusion_engine::{Connections, PlatformTenants, WrongCodeThrottle};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

pub use demo::DemoTickets;
pub use error::ApiError;
pub use metrics::metrics_router;
pub use openapi::OPENAPI_DOCUMENT;
pub use session::{CSRF_HEADER, SESSION_COOKIE, TrustedProxy};

use throttle::LoginThrottle;

/// Web-layer settings, loaded once by the binary and passed down.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// Marks cookies `Secure` and sends HSTS. Turn on whenever the server is reached over HTTPS
    /// (directly or behind a TLS-terminating proxy).
    pub secure_cookies: bool,
    /// This server's public origin (`https://fusion.example.com`, from `FUSION_PUBLIC_URL`),
    /// which sign-in compares `Origin`/`Referer` with. Unset: the `Host` header with the scheme
    /// `secure_cookies` implies — right unless a proxy rewrites `Host`.
    pub public_origin: Option<String>,
    /// How long a sign-in lasts.
    pub session_ttl: time::Duration,
    /// Largest request body accepted; settings forms and JSON bodies are tiny, so a small limit
    /// keeps a misbehaving client from making the server buffer megabytes.
    pub max_body_bytes: usize,
    /// Failed sign-ins (per account and per client address) before each further attempt must
    /// wait a delay that doubles with every failure (see `throttle`).
    pub login_free_failures: u32,
    /// The longest wait an account's failures impose: an attacker can delay a person's sign-in
    /// by at most this much at a time, never lock it.
    pub login_max_account_delay: std::time::Duration,
    /// The longest wait one client address's failures impose (it may be guessing many accounts).
    pub login_max_address_delay: std::time::Duration,
    /// Reverse proxies whose `X-Forwarded-For` is believed (`FUSION_TRUSTED_PROXIES`): the client
    /// address sign-in throttling counts is the peer's own unless the peer is one of these.
    pub trusted_proxies: Vec<TrustedProxy>,
    /// Wrong verification codes one organisation may enter before accepting codes is locked.
    /// Codes are long enough that guessing is hopeless anyway; the lock keeps it that way.
    pub code_max_failures: u32,
    /// How long accepting codes stays locked after too many wrong ones.
    pub code_lock: std::time::Duration,
    /// Connection tests one organisation may run per minute (Settings, the API and a
    /// connection's override credentials together). Each test calls Autotask in the name of the
    /// API username entered, so a few a minute is plenty for a person fixing their settings.
    pub connection_tests_per_minute_per_organisation: u32,
    /// Connection tests one person may run per minute.
    pub connection_tests_per_minute_per_person: u32,
    /// Serve `/metrics` on this listener (false when `FUSION_METRICS_LISTEN` gives it its own).
    pub metrics_on_main_listener: bool,
    /// When set, `/metrics` needs `Authorization: Bearer <token>` (`FUSION_METRICS_TOKEN`).
    pub metrics_token: Option<secrecy::SecretString>,
}

impl Default for WebSettings {
    fn default() -> Self {
        Self {
            secure_cookies: false,
            public_origin: None,
            session_ttl: time::Duration::hours(12),
            max_body_bytes: 64 * 1024,
            login_free_failures: 5,
            login_max_account_delay: std::time::Duration::from_secs(30),
            login_max_address_delay: std::time::Duration::from_secs(5 * 60),
            trusted_proxies: Vec::new(),
            code_max_failures: 5,
            code_lock: std::time::Duration::from_secs(15 * 60),
            connection_tests_per_minute_per_organisation: 10,
            connection_tests_per_minute_per_person: 5,
            metrics_on_main_listener: true,
            metrics_token: None,
        }
    }
}

/// Everything a request handler needs. Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct AppState {
    inner: Arc<AppStateInner>,
}

struct AppStateInner {
    store: Arc<dyn AppStore>,
    /// The platform's tenants: Settings' checks and connection test, the Dashboard's request
    /// budget; the configuration use cases reach them through `configuration`.
    tenants: Arc<dyn PlatformTenants>,
    /// The core's configuration use cases, over the store and `tenants`.
    configuration: ConfigurationService,
    settings: WebSettings,
    login_throttle: LoginThrottle,
    /// A few connection tests a minute per organisation and per person.
    connection_tests: rate_limit::ConnectionTestLimiter,
    /// The connection use cases over the store and the clock (they count wrong verification
    /// codes per organisation).
    connections: Connections,
    clock: Arc<dyn Clock>,
    /// Renders `/metrics`; without it `/metrics` answers 404.
    metrics: std::sync::OnceLock<metrics_exporter_prometheus::PrometheusHandle>,
    /// Runs syncs for "Sync now" and dry runs; without it those answer 503.
    sync: std::sync::OnceLock<fusion_engine::SyncService>,
    /// The core's sync-status use cases (status, schedule, history, run details).
    sync_overviews: fusion_engine::SyncOverviews,
    /// Receives webhook callouts; without it `/hooks/…` answers 401 to everything.
    webhooks: std::sync::OnceLock<fusion_engine::webhooks::WebhookService>,
    /// The notification-settings use cases; without channels from the binary (see
    /// [`AppState::with_notifications`]) email is unavailable and webhook URLs are refused.
    notifications: fusion_engine::notify::NotificationSettingsService,
    /// The same over the binary's delivery channels.
    notifications_with_channels:
        std::sync::OnceLock<fusion_engine::notify::NotificationSettingsService>,
    /// Checks `/readyz` runs after the database's, by name, in registration order.
    readiness_checks: std::sync::RwLock<Vec<(String, readiness::ReadinessCheck)>>,
    /// `fusion demo` only: raises test tickets in the simulated tenants (the Sync page's form).
    demo_tickets: std::sync::OnceLock<Arc<dyn DemoTickets>>,
    /// The API budget: each tenant's share and use by connection (Settings, the Dashboard) and
    /// what it holds back (the Sync page); without it those parts say only the share.
    budget: std::sync::OnceLock<Arc<fusion_engine::budget::BudgetGovernor>>,
}

impl AppState {
    /// The state for `store` and the platform's `tenants` (the binary passes the Autotask
    /// adapter's, sharing the process's Autotask service).
    pub fn new(
        store: Arc<dyn AppStore>,
        tenants: Arc<dyn PlatformTenants>,
        settings: WebSettings,
    ) -> Self {
        Self::with_clock(store, tenants, settings, Arc::new(SystemClock))
    }

    /// Like [`AppState::new`], with the clock every "now" comes from (code expiry, timestamps);
    /// tests pass a `ManualClock`.
    pub fn with_clock(
        store: Arc<dyn AppStore>,
        tenants: Arc<dyn PlatformTenants>,
        settings: WebSettings,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let login_throttle = LoginThrottle::new(throttle::ThrottlePolicy {
            free_failures: settings.login_free_failures,
            max_account_delay: settings.login_max_account_delay,
            max_address_delay: settings.login_max_address_delay,
            forget_after: std::time::Duration::from_secs(15 * 60),
        });
        let sync_store: Arc<dyn fusion_engine::ports::SyncStore> = store.clone();
        let sync_overviews = fusion_engine::SyncOverviews::new(sync_store, clock.clone());
        let connections = Connections::new(
            store.clone(),
            store.clone(),
            clock.clone(),
            WrongCodeThrottle::new(settings.code_max_failures, settings.code_lock),
        );
        let configuration =
            ConfigurationService::new(store.clone(), store.clone(), tenants.clone())
                .with_attention_retries(store.clone());
        let connection_tests = rate_limit::ConnectionTestLimiter::new(
            settings.connection_tests_per_minute_per_organisation,
            settings.connection_tests_per_minute_per_person,
        );
        let notifications = fusion_engine::notify::NotificationSettingsService::new(
            store.clone(),
            Arc::new(fusion_engine::notify::NoChannels),
            clock.clone(),
        );
        Self {
            inner: Arc::new(AppStateInner {
                connection_tests,
                sync_overviews,
                store,
                tenants,
                configuration,
                settings,
                login_throttle,
                connections,
                clock,
                metrics: std::sync::OnceLock::new(),
                sync: std::sync::OnceLock::new(),
                notifications,
                notifications_with_channels: std::sync::OnceLock::new(),
                readiness_checks: std::sync::RwLock::new(Vec::new()),
                demo_tickets: std::sync::OnceLock::new(),
                webhooks: std::sync::OnceLock::new(),
                budget: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Serves `/metrics` from `handle` (see [`metrics::install_global_recorder`]).
    /// The first handle given wins.
    pub fn with_metrics(self, handle: metrics_exporter_prometheus::PrometheusHandle) -> Self {
        let _first_handle_wins = self.inner.metrics.set(handle);
        self
    }

    /// Adds a check `/readyz` runs on every request after the database and migration checks
    /// (e.g. `"scheduler"`: the sync scheduler's last heartbeat is recent). `/readyz` answers 503
    /// while any check returns `Err(reason)`, and lists `reason` in its body. A second check
    /// with the same name replaces the first.
    pub fn with_readiness_check(
        self,
        name: impl Into<String>,
        check: readiness::ReadinessCheck,
    ) -> Self {
        let name = name.into();
        {
            let mut checks = self
                .inner
                .readiness_checks
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            checks.retain(|(existing, _)| *existing != name);
            checks.push((name, check));
        }
        self
    }

    pub(crate) fn readiness_checks(&self) -> Vec<(String, readiness::ReadinessCheck)> {
        self.inner
            .readiness_checks
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Shows and sets each tenant's API budget with `governor` (the one the binary's sync engine
    /// and Autotask service use). The first governor given wins.
    pub fn with_budget(self, governor: Arc<fusion_engine::budget::BudgetGovernor>) -> Self {
        self.inner.sync_overviews.set_budget(governor.clone());
        let _first_wins = self.inner.budget.set(governor);
        self
    }

    pub(crate) fn budget(&self) -> Option<&Arc<fusion_engine::budget::BudgetGovernor>> {
        self.inner.budget.get()
    }

    /// Runs manual syncs and dry runs with `sync` (the binary's `SyncService`, the same one its
    /// scheduler uses). Without it the Sync page and API still show history and schedules, but
    /// "Sync now" and dry runs answer 503. The first service given wins.
    pub fn with_sync(self, sync: fusion_engine::SyncService) -> Self {
        let _first_service_wins = self.inner.sync.set(sync);
        self
    }

    /// Takes webhook callouts with `webhooks` (the binary's, sharing the sync service) and shows
    /// where each organisation's webhooks stand. The first one given wins.
    pub fn with_webhooks(self, webhooks: fusion_engine::webhooks::WebhookService) -> Self {
        let _first_wins = self.inner.webhooks.set(webhooks);
        self
    }

    pub(crate) fn webhooks(&self) -> Option<&fusion_engine::webhooks::WebhookService> {
        self.inner.webhooks.get()
    }

    /// In `fusion demo`: the Sync page offers a form that raises a test ticket through `demo`
    /// (see [`DemoTickets`]). The first one given wins.
    pub fn with_demo_tickets(self, demo: Arc<dyn DemoTickets>) -> Self {
        let _first_demo_wins = self.inner.demo_tickets.set(demo);
        self
    }

    pub(crate) fn demo_tickets(&self) -> Option<&Arc<dyn DemoTickets>> {
        self.inner.demo_tickets.get()
    }

    /// Notification settings deliver "Send test" and check webhook URLs through `channels`
    /// (the binary's email and webhook adapter), and connections paused, resumed or ended are
    /// told to `notifier`. The first call wins.
    pub fn with_notifications(
        self,
        channels: Arc<dyn fusion_engine::notify::NotificationChannels>,
        notifier: Option<fusion_engine::notify::Notifier>,
    ) -> Self {
        let service = fusion_engine::notify::NotificationSettingsService::new(
            self.inner.store.clone(),
            channels,
            self.inner.clock.clone(),
        );
        if self.inner.notifications_with_channels.set(service).is_ok()
            && let Some(notifier) = notifier
        {
            self.inner.connections.set_notifier(notifier);
        }
        self
    }

    pub(crate) fn notifications(&self) -> &fusion_engine::notify::NotificationSettingsService {
        self.inner
            .notifications_with_channels
            .get()
            .unwrap_or(&self.inner.notifications)
    }

    pub(crate) fn sync(&self) -> Option<&fusion_engine::SyncService> {
        self.inner.sync.get()
    }

    pub(crate) fn metrics(&self) -> Option<&metrics_exporter_prometheus::PrometheusHandle> {
        self.inner.metrics.get()
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// The core's sync-status use cases.
    pub(crate) fn sync_overviews(&self) -> &fusion_engine::SyncOverviews {
        &self.inner.sync_overviews
    }

    pub fn store(&self) -> &Arc<dyn AppStore> {
        &self.inner.store
    }

    pub(crate) fn tenants(&self) -> &dyn PlatformTenants {
        self.inner.tenants.as_ref()
    }

    pub(crate) fn configuration(&self) -> &ConfigurationService {
        &self.inner.configuration
    }

    pub fn settings(&self) -> &WebSettings {
        &self.inner.settings
    }

    pub(crate) fn login_throttle(&self) -> &LoginThrottle {
        &self.inner.login_throttle
    }

    /// Counts a connection test by `person` of `org`, or refuses it with when to try again.
    pub(crate) fn start_connection_test(
        &self,
        org: fusion_domain::OrgId,
        person: fusion_domain::PersonId,
    ) -> Result<(), ApiError> {
        self.inner
            .connection_tests
            .try_start(org, person)
            .map_err(|wait| {
                tracing::warn!(%org, %person, "connection test refused: too many in the last minute");
                ApiError::RateLimited {
                    code: "connection_tests_limited",
                    message: rate_limit::connection_tests_limited_message(wait),
                    retry_after_secs: wait.as_secs().max(1),
                }
            })
    }

    pub(crate) fn connections(&self) -> &Connections {
        &self.inner.connections
    }
}

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.inner.store)
            .field("settings", &self.inner.settings)
            .field("clock", &self.inner.clock)
            .finish_non_exhaustive()
    }
}

/// The whole HTTP surface: pages, static assets, `/api/v1`, `/healthz`, `/readyz`, wrapped in
/// security headers and a request body limit. A plain function so tests can drive it without a
/// socket; the binary may `merge` further routes (e.g. `/metrics`) before serving.
pub fn router(state: AppState) -> Router {
    let max_body_bytes = state.settings().max_body_bytes;
    let secure = state.settings().secure_cookies;
    Router::new()
        .merge(pages::routes())
        .merge(api_tokens::page_routes())
        .merge(api_budget::page_routes())
        .merge(relationships::page_routes())
        .merge(configuration::page_routes())
        .merge(sync::page_routes())
        .merge(demo::routes())
        .merge(notifications::page_routes())
        .merge(metrics::routes())
        .nest(
            "/api/v1",
            api::routes()
                .merge(api_tokens::api_routes())
                .merge(api_budget::api_routes())
                .merge(relationships::api_routes())
                .merge(configuration::api_routes())
                .merge(sync::api_routes())
                .merge(notifications::api_routes())
                .merge(hooks::api_routes())
                .merge(openapi::routes()),
        )
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(RequestBodyLimitLayer::new(max_body_bytes))
        // The webhook receiver has its own, larger body limit (a note's text can be long).
        .merge(hooks::routes())
        .fallback(page_chrome::not_found_fallback)
        .layer(axum::middleware::from_fn(metrics::record_http_request))
        // Method, path and status of every request; never headers or bodies (they carry
        // cookies, tokens and secrets).
        .layer(TraceLayer::new_for_http())
        .layer(axum::middleware::from_fn_with_state(
            secure,
            security_headers::add_security_headers,
        ))
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` completes, then finishes in-flight requests.
/// The peer address is made available to handlers (login throttling is per email and address).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
