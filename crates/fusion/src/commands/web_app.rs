//! Builds the web app from what the binary composed: the one place that knows the shape of
//! `fusion_web::AppState`, shared by `serve` and `demo`.

use std::sync::Arc;

use axum::Router;
use fusion_autotask::{AutotaskService, AutotaskTenants, ConnectionTester};
use fusion_domain::SystemClock;
use fusion_store::Store;
use fusion_web::{AppState, WebSettings};

use crate::notifications::Notifications;
use crate::scheduler::SyncRuntime;

/// What the deployment says about the web surface (see `fusion_web::WebSettings`).
#[derive(Debug, Default)]
pub struct WebOptions {
    pub secure_cookies: bool,
    pub public_origin: Option<String>,
    pub trusted_proxies: Vec<fusion_web::TrustedProxy>,
    pub metrics_on_main_listener: bool,
    pub metrics_token: Option<secrecy::SecretString>,
}

/// The process's `PlatformTenants` (Settings, the configuration screens, the notifier's budget
/// check), answered by the Autotask adapter over the process's service.
pub fn tenants(autotask: AutotaskService) -> Arc<dyn fusion_engine::PlatformTenants> {
    Arc::new(AutotaskTenants::new(
        ConnectionTester::with_service(autotask),
        Arc::new(SystemClock),
    ))
}

/// The full HTTP surface for this store, sharing the process's Autotask service (one limiter and
/// request budget) and sync runtime with the rest of the process.
pub fn router(
    store: Arc<dyn Store>,
    autotask: AutotaskService,
    web: WebOptions,
    sync: &SyncRuntime,
    demo_tickets: Option<Arc<dyn fusion_web::DemoTickets>>,
    notifications: Option<&Notifications>,
) -> Router {
    let settings = WebSettings {
        secure_cookies: web.secure_cookies,
        public_origin: web.public_origin,
        trusted_proxies: web.trusted_proxies,
        metrics_on_main_listener: web.metrics_on_main_listener,
        metrics_token: web.metrics_token,
        ..WebSettings::default()
    };
    let scheduler = sync.state();
    // Settings and the configuration screens reach Autotask through the engine's
    // `PlatformTenants` port, answered by the adapter with the process's service.
    let mut state = AppState::new(store, tenants(autotask), settings)
        .with_sync(sync.service().clone())
        .with_readiness_check("scheduler", Arc::new(move || scheduler.check()));
    if let Some(demo) = demo_tickets {
        state = state.with_demo_tickets(demo);
    }
    if let Some(budget) = sync.service().budget() {
        state = state.with_budget(budget.clone());
    }
    if let Some(webhooks) = sync.webhooks() {
        state = state.with_webhooks(webhooks.clone());
    }
    if let Some(notifications) = notifications {
        // Settings' "Send test" and URL checks, and connections paused, resumed or ended.
        state = state.with_notifications(
            notifications.channels.clone(),
            Some(notifications.notifier.clone()),
        );
    }
    // The process-wide Prometheus recorder, installed once; `/metrics` renders from it.
    let state = match fusion_web::metrics::install_global_recorder() {
        Ok(handle) => state.with_metrics(handle),
        Err(error) => {
            tracing::warn!(%error, "serving without /metrics");
            state
        }
    };
    fusion_web::router(state)
}
