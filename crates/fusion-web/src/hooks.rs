//! The webhook receiver: `POST /hooks/autotask/{id}` (Autotask's callouts) and
//! `POST /hooks/autotask/{id}/deactivated` (its deactivation notice). No session: the signature
//! under the registration's key is the authentication. The raw body is read (at most
//! [`MAX_CALLOUT_BYTES`]) and handed to the core, which verifies, deduplicates and queues it in
//! the database and answers at once; the sync happens afterwards.
//!
//! Unknown ids, missing or wrong signatures and webhooks that are not ours all get the same 401,
//! so a caller learns nothing about which ids exist. A replay is answered 200 (so Autotask stops
//! retrying) and queues nothing.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use fusion_engine::webhooks::{Receipt, ReceiveError};

use crate::AppState;

/// The largest callout taken: a note's description (32,000 characters) with room for escaping.
pub const MAX_CALLOUT_BYTES: usize = 256 * 1024;

/// The header Autotask signs callouts in.
const SIGNATURE_HEADER: &str = "x-hook-signature";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/hooks/autotask/{id}", post(callout))
        .route("/hooks/autotask/{id}/deactivated", post(callout))
        .layer(DefaultBodyLimit::max(MAX_CALLOUT_BYTES))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            MAX_CALLOUT_BYTES,
        ))
}

async fn callout(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(webhooks) = state.webhooks() else {
        return refused();
    };
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|value| value.to_str().ok());
    match webhooks.receive(&id, signature, &body).await {
        Ok(Receipt::Queued | Receipt::Replay | Receipt::Deactivated) => {
            StatusCode::OK.into_response()
        }
        Err(ReceiveError::Refused) => refused(),
        Err(ReceiveError::Malformed(reason)) => {
            tracing::info!(%reason, "a signed webhook callout could not be read");
            (StatusCode::BAD_REQUEST, "the callout could not be read").into_response()
        }
        Err(ReceiveError::Store(error)) => {
            tracing::warn!(%error, "a webhook callout could not be queued; Autotask retries it");
            (StatusCode::SERVICE_UNAVAILABLE, "try again later").into_response()
        }
    }
}

fn refused() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        "unknown webhook or invalid signature",
    )
        .into_response()
}
