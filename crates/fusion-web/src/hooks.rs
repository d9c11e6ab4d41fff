//! The webhook receiver: `POST /hooks/autotask/{id}` (Autotask's callouts) and
//! `POST /hooks/autotask/{id}/deactivated` (its deactivation notice). No session: the signature
//! under the registration's key is the authentication. The raw body is read (at most
//! [`MAX_CALLOUT_BYTES`]) and handed to the core, which verifies, deduplicates and queues it in
//! the database and answers at once; the sync happens afterwards.
//!
//! Unknown ids, missing or wrong signatures and webhooks that are not ours all get the same 401,
//! so a caller learns nothing about which ids exist. A replay is answered 200 (so Autotask stops
//! retrying) and queues nothing.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use fusion_engine::webhooks::{Receipt, ReceiveError};
use serde::Serialize;

use crate::AppState;
use crate::error::ApiError;
use crate::session::OrgApiCaller;
use crate::wording::api_timestamp;

/// The largest callout taken: a note's description (32,000 characters) with room for escaping.
pub const MAX_CALLOUT_BYTES: usize = 256 * 1024;

/// The header Autotask signs callouts in.
const SIGNATURE_HEADER: &str = "x-hook-signature";

/// `GET /api/v1/orgs/{org_id}/webhooks`: where the organisation's webhooks stand.
pub(crate) fn api_routes() -> Router<AppState> {
    Router::new().route("/orgs/{org_id}/webhooks", get(read_status))
}

/// The webhooks' state as the API answers it.
#[derive(Serialize)]
pub(crate) struct WebhookStatusDto {
    /// active, inactive, not_permitted, failed, off, not_in_use.
    state: String,
    healthy: bool,
    detail: Option<String>,
    last_event_at: Option<String>,
    events_last_hour: u64,
    waiting: u64,
    p50_delay_s: Option<f64>,
    p95_delay_s: Option<f64>,
    /// The connections' polling interval while the webhooks are healthy.
    safety_poll_minutes: i64,
}

async fn read_status(
    State(state): State<AppState>,
    OrgApiCaller { org_id, .. }: OrgApiCaller,
) -> Result<Json<WebhookStatusDto>, ApiError> {
    let Some(webhooks) = state.webhooks() else {
        return Ok(Json(WebhookStatusDto {
            state: "off".to_owned(),
            healthy: false,
            detail: Some("this server runs no sync (webhooks need `fusion serve`)".to_owned()),
            last_event_at: None,
            events_last_hour: 0,
            waiting: 0,
            p50_delay_s: None,
            p95_delay_s: None,
            safety_poll_minutes: 0,
        }));
    };
    let status = webhooks.status(org_id).await?;
    Ok(Json(WebhookStatusDto::from(status)))
}

impl From<fusion_engine::webhooks::TenantWebhookStatus> for WebhookStatusDto {
    fn from(status: fusion_engine::webhooks::TenantWebhookStatus) -> Self {
        WebhookStatusDto {
            state: status.state.to_lowercase().replace(' ', "_"),
            healthy: status.healthy,
            detail: status.detail,
            last_event_at: status.last_event_at.map(api_timestamp),
            events_last_hour: status.events_last_hour,
            waiting: status.waiting,
            p50_delay_s: status.p50_delay_s,
            p95_delay_s: status.p95_delay_s,
            safety_poll_minutes: status.safety_interval_minutes,
        }
    }
}

/// After a passing test of the saved credentials: the organisation's webhooks made or checked
/// now, as the test's answer reports them (`None` without a webhook service).
pub(crate) async fn after_passing_test(
    state: &AppState,
    org: fusion_domain::OrgId,
) -> Option<WebhookStatusDto> {
    let webhooks = state.webhooks()?;
    match webhooks.register_now(org).await {
        Ok(status) => Some(WebhookStatusDto::from(status)),
        Err(error) => {
            tracing::warn!(%org, %error, "could not set up webhooks after the connection test");
            None
        }
    }
}

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

/// An organisation's webhooks as Settings and the Dashboard show them.
pub(crate) struct WebhookPanel {
    /// "Active", "Inactive", "Not permitted", "Failed", "Off", "Not in use".
    pub state: String,
    pub healthy: bool,
    /// Why, and what to do (none while healthy).
    pub detail: Option<String>,
    /// "Last event 4 Dec 2026, 10:00 UTC · 12 events in the last hour".
    pub activity: String,
    /// "Changes arrived 1.4 s after they were made (median; 95 % within 2.1 s)".
    pub delay: Option<String>,
    /// "Polling every 30 minutes as the safety net while webhooks are active".
    pub polling: String,
}

impl WebhookPanel {
    pub(crate) fn from_status(status: &fusion_engine::webhooks::TenantWebhookStatus) -> Self {
        let mut activity = match status.last_event_at {
            Some(at) => format!("Last event {}", crate::wording::human_date(at)),
            None => "No event received yet".to_owned(),
        };
        activity.push_str(&format!(
            " · {} in the last hour",
            crate::wording::counted(status.events_last_hour, "event", "events")
        ));
        if status.waiting > 0 {
            activity.push_str(&format!(" · {} waiting", status.waiting));
        }
        let delay = match (status.p50_delay_s, status.p95_delay_s) {
            (Some(p50), Some(p95)) => Some(format!(
                "Changes reached the other side {p50:.1} s after they were made (median; 95 % within {p95:.1} s), last hour"
            )),
            _ => None,
        };
        let polling = if status.healthy {
            format!(
                "Connections poll every {} minutes as the safety net while webhooks are active (those carrying time entries keep their own interval)",
                status.safety_interval_minutes
            )
        } else {
            "Connections poll at their own interval".to_owned()
        };
        WebhookPanel {
            state: status.state.clone(),
            healthy: status.healthy,
            detail: status.detail.clone(),
            activity,
            delay,
            polling,
        }
    }
}

/// `org`'s webhook panel; `None` without a webhook service (tests) or when it cannot be read.
pub(crate) async fn webhook_panel(
    state: &AppState,
    org: fusion_domain::OrgId,
    register_now: bool,
) -> Option<WebhookPanel> {
    let webhooks = state.webhooks()?;
    let status = if register_now {
        webhooks.register_now(org).await
    } else {
        webhooks.status(org).await
    };
    match status {
        Ok(status) => Some(WebhookPanel::from_status(&status)),
        Err(error) => {
            tracing::warn!(%org, %error, "could not read the webhooks' state");
            None
        }
    }
}
