//! Builds the web app from what the binary composed: the one place that knows the shape of
//! `fusion_web::AppState`, shared by `serve` and `demo`.

use std::sync::Arc;

use axum::Router;
use fusion_autotask::{AutotaskSettings, ConnectionTester};
use fusion_store::Store;
use fusion_web::{AppState, WebSettings};

/// The full HTTP surface for this store and these Autotask settings.
pub fn router(store: Arc<dyn Store>, autotask: AutotaskSettings, secure_cookies: bool) -> Router {
    let settings = WebSettings {
        secure_cookies,
        ..WebSettings::default()
    };
    let state = AppState::new(store, ConnectionTester::new(autotask), settings);
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
