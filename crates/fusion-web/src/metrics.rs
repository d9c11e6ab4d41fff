//! Prometheus metrics of the web surface: the `/metrics` route (rendered from the handle the
//! binary installed; 404 without one), the middleware counting requests by method, matched
//! route template and status, and the once-per-process recorder installation.
//! Labels never carry raw paths, ids, emails or secrets: only route templates such as
//! `/api/v1/orgs/{org_id}/platform`, or `unmatched` for requests no route matched.

use std::sync::OnceLock;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};

use crate::AppState;

/// Counter: `fusion_http_requests_total{method,route,status}`.
pub const HTTP_REQUESTS_TOTAL: &str = "fusion_http_requests_total";
/// Histogram: `fusion_http_request_duration_seconds{method,route}`.
pub const HTTP_REQUEST_DURATION_SECONDS: &str = "fusion_http_request_duration_seconds";

/// Histogram buckets of request durations, in seconds (a summary would not aggregate).
const DURATION_BUCKETS_SECONDS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Why the process-wide recorder could not be installed (another recorder was installed first).
#[derive(Debug, thiserror::Error)]
#[error("cannot install the metrics recorder: {0}")]
pub struct MetricsError(String);

/// Installs the Prometheus recorder as the process-wide `metrics` recorder, once; later calls
/// return the same handle. The exporter opens no listener: `/metrics` renders from the handle.
pub fn install_global_recorder() -> Result<PrometheusHandle, MetricsError> {
    static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(HTTP_REQUEST_DURATION_SECONDS.to_owned()),
                    DURATION_BUCKETS_SECONDS,
                )
                .and_then(|builder| {
                    builder.set_buckets_for_metric(
                        Matcher::Full(fusion_engine::SYNC_RUN_DURATION_SECONDS.to_owned()),
                        fusion_engine::SYNC_RUN_DURATION_BUCKETS_SECONDS,
                    )
                })
                .and_then(PrometheusBuilder::install_recorder)
                .map_err(|error: BuildError| error.to_string())
        })
        .clone()
        .map_err(MetricsError)
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(render_metrics))
}

async fn render_metrics(State(state): State<AppState>) -> Response {
    match state.metrics() {
        Some(handle) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            handle.render(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Counts and times every request under its matched route template.
pub(crate) async fn record_http_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!(
        HTTP_REQUESTS_TOTAL,
        "method" => method.clone(),
        "route" => route.clone(),
        "status" => status,
    )
    .increment(1);
    metrics::histogram!(
        HTTP_REQUEST_DURATION_SECONDS,
        "method" => method,
        "route" => route,
    )
    .record(started.elapsed().as_secs_f64());
    response
}
