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
//! | `GET /api/v1/me`, `POST /api/v1/me/api-tokens` | who am I (+ CSRF token); new API token |
//! | `GET/PUT /api/v1/orgs/{org_id}/platform` | platform credentials (secret write-only) |
//! | `POST /api/v1/orgs/{org_id}/platform/test` | connection test (saved values, or unsaved ones in the body) |
//! | `GET /api/v1/orgs/{org_id}/platform/audit` | credentials change log |
//! | `…/orgs/{org_id}/connections…`, `/api/v1/orgs/{org_id}/relationships…` | organisation connections (see `relationships`) |
//! | `/orgs/{org_id}/{sync,dashboard}…`, `/api/v1/orgs/{org_id}/{sync,dashboard}…`, `/api/v1/orgs/{org_id}/relationships/{id}/sync…` | Sync page, run details, Dashboard and their API (see `sync`) |
//! | `GET/POST /orgs/{org_id}/settings/notifications…`, `/api/v1/orgs/{org_id}/notifications…` | notification settings, signing secret, Send test (see `notifications`) |
//! | `…/connections/{id}/{configuration,mappings,description}`, `/api/v1/orgs/{org_id}/relationships/{id}/{configuration,choices,mappings,description,export,import}…` | integration configuration per relationship (see `configuration`) |
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
mod configuration;
mod dto;
mod error;
pub mod metrics;
mod notifications;
mod openapi;
mod page_chrome;
mod pages;
mod platform_settings;
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

pub use error::ApiError;
pub use openapi::OPENAPI_DOCUMENT;
pub use session::{CSRF_HEADER, SESSION_COOKIE};

use throttle::LoginThrottle;

/// Web-layer settings, loaded once by the binary and passed down.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// Marks cookies `Secure` and sends HSTS. Turn on whenever the server is reached over HTTPS
    /// (directly or behind a TLS-terminating proxy).
    pub secure_cookies: bool,
    /// How long a sign-in lasts.
    pub session_ttl: time::Duration,
    /// Largest request body accepted; settings forms and JSON bodies are tiny, so a small limit
    /// keeps a misbehaving client from making the server buffer megabytes.
    pub max_body_bytes: usize,
    /// Failed sign-ins for one email address from one client address before sign-in is locked.
    pub login_max_failures: u32,
    /// How long sign-in stays locked after too many failures.
    pub login_lock: std::time::Duration,
    /// Wrong verification codes one organisation may enter before accepting codes is locked.
    /// Codes are long enough that guessing is hopeless anyway; the lock keeps it that way.
    pub code_max_failures: u32,
    /// How long accepting codes stays locked after too many wrong ones.
    pub code_lock: std::time::Duration,
}

impl Default for WebSettings {
    fn default() -> Self {
        Self {
            secure_cookies: false,
            session_ttl: time::Duration::hours(12),
            max_body_bytes: 64 * 1024,
            login_max_failures: 5,
            login_lock: std::time::Duration::from_secs(5 * 60),
            code_max_failures: 5,
            code_lock: std::time::Duration::from_secs(15 * 60),
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
    /// The notification-settings use cases; without channels from the binary (see
    /// [`AppState::with_notifications`]) email is unavailable and webhook URLs are refused.
    notifications: fusion_engine::notify::NotificationSettingsService,
    /// The same over the binary's delivery channels.
    notifications_with_channels:
        std::sync::OnceLock<fusion_engine::notify::NotificationSettingsService>,
    /// Checks `/readyz` runs after the database's, by name, in registration order.
    readiness_checks: std::sync::RwLock<Vec<(String, readiness::ReadinessCheck)>>,
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
        let login_throttle = LoginThrottle::new(settings.login_max_failures, settings.login_lock);
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
        let notifications = fusion_engine::notify::NotificationSettingsService::new(
            store.clone(),
            Arc::new(fusion_engine::notify::NoChannels),
            clock.clone(),
        );
        Self {
            inner: Arc::new(AppStateInner {
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

    /// Runs manual syncs and dry runs with `sync` (the binary's `SyncService`, the same one its
    /// scheduler uses). Without it the Sync page and API still show history and schedules, but
    /// "Sync now" and dry runs answer 503. The first service given wins.
    pub fn with_sync(self, sync: fusion_engine::SyncService) -> Self {
        let _first_service_wins = self.inner.sync.set(sync);
        self
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
        .merge(relationships::page_routes())
        .merge(configuration::page_routes())
        .merge(sync::page_routes())
        .merge(notifications::page_routes())
        .merge(metrics::routes())
        .nest(
            "/api/v1",
            api::routes()
                .merge(relationships::api_routes())
                .merge(configuration::api_routes())
                .merge(sync::api_routes())
                .merge(notifications::api_routes())
                .merge(openapi::routes()),
        )
        .fallback(page_chrome::not_found_fallback)
        .layer(axum::middleware::from_fn(metrics::record_http_request))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(RequestBodyLimitLayer::new(max_body_bytes))
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
