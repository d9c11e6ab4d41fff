//! Prometheus metrics of the web surface: the `/metrics` route (rendered from the handle the
//! binary installed; 404 without one), the middleware counting requests by method, matched
//! route template and status, and the once-per-process recorder installation.
//!
//! `/metrics` names each tenant's Autotask database and its budget use, so it can be kept off
//! the public listener (`WebSettings::metrics_on_main_listener = false`, with
//! [`metrics_router`] served on a separate, by default loopback, address) and/or behind a bearer
//! token (`WebSettings::metrics_token`; 401 without it).
//! Labels never carry raw paths, ids, emails or secrets: only route templates such as
//! `/api/v1/orgs/{org_id}/platform`, or `unmatched` for requests no route matched.

use std::sync::OnceLock;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};
use secrecy::{ExposeSecret, SecretString};

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
                .and_then(|builder| {
                    builder.set_buckets_for_metric(
                        Matcher::Full(
                            fusion_engine::webhooks::WEBHOOK_PROPAGATION_SECONDS.to_owned(),
                        ),
                        fusion_engine::webhooks::WEBHOOK_PROPAGATION_BUCKETS_SECONDS,
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

async fn render_metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !state.settings().metrics_on_main_listener {
        return StatusCode::NOT_FOUND.into_response();
    }
    match state.metrics() {
        Some(handle) => answer(handle, state.settings().metrics_token.as_ref(), &headers),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `/metrics` alone, for a separate listener (`FUSION_METRICS_LISTEN`): the same text, behind
/// `token` when one is given. Every other path is 404.
pub fn metrics_router(handle: PrometheusHandle, token: Option<SecretString>) -> Router {
    let shared = std::sync::Arc::new((handle, token));
    Router::new().route(
        "/metrics",
        get(move |headers: HeaderMap| {
            let shared = shared.clone();
            async move { answer(&shared.0, shared.1.as_ref(), &headers) }
        }),
    )
}

fn answer(
    handle: &PrometheusHandle,
    token: Option<&SecretString>,
    headers: &HeaderMap,
) -> Response {
    if let Some(token) = token
        && !bearer_matches(headers, token)
    {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\"")],
            "send the metrics token as Authorization: Bearer <token>\n",
        )
            .into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}

/// Compares SHA-256 digests, so the time taken says nothing about the token.
fn bearer_matches(headers: &HeaderMap, token: &SecretString) -> bool {
    use sha2::{Digest, Sha256};
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
        })
        .map(str::trim)
        .unwrap_or_default();
    !presented.is_empty()
        && Sha256::digest(presented.as_bytes()) == Sha256::digest(token.expose_secret().as_bytes())
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
