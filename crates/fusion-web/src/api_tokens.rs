//! API tokens for scripts (issue 16, finding 4): created with an expiry (90 days unless the person
//! chooses otherwise, "never" only when chosen explicitly), listed with label, creation, last use
//! and expiry (never the token), and revoked — which takes effect on the very next request, as
//! every request looks the token up. Each person sees and revokes only their own tokens.
//!
//! Routes: `GET/POST /api/v1/me/api-tokens`, `DELETE /api/v1/me/api-tokens/{id}` here; the page
//! `GET/POST /orgs/{org_id}/settings/api-tokens` with `POST …/api-tokens/{id}/revoke` in `page`.

mod page;

pub(crate) use page::{page_routes, tokens_page_url};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get};
use axum::{Json, Router};
use fusion_domain::ApiTokenId;
use fusion_engine::ports::ApiTokenInfo;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::AppState;
use crate::api::ApiJson;
use crate::error::ApiError;
use crate::platform_settings::{API_TOKEN_SHOWN_ONCE, api_token_label};
use crate::session::{CSRF_HEADER, Caller, Credential, api_caller};

/// How long a token lives when its creator does not say.
pub(crate) const DEFAULT_TOKEN_DAYS: i64 = 90;
/// The longest expiry that can be chosen in days (longer: choose "never" explicitly).
const MAX_TOKEN_DAYS: i64 = 3650;

pub(crate) fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/me/api-tokens", get(list_tokens).post(create_token))
        .route("/me/api-tokens/{id}", delete(revoke_token))
}

/// The expiry asked for: a number of days, `"never"`, or nothing (the default).
pub(crate) fn expiry_from(
    requested: Option<&serde_json::Value>,
    now: OffsetDateTime,
) -> Result<Option<OffsetDateTime>, ApiError> {
    let invalid = || ApiError::Invalid {
        code: "invalid_expiry",
        field: Some("expires_in_days"),
        message: format!(
            "expires_in_days must be a whole number of days from 1 to {MAX_TOKEN_DAYS}, or \"never\""
        ),
        fix: Some(format!(
            "Leave it out for {DEFAULT_TOKEN_DAYS} days, give a number of days, or \"never\" for a token that works until it is revoked"
        )),
        suggested_api_url: None,
    };
    let days = match requested {
        None | Some(serde_json::Value::Null) => DEFAULT_TOKEN_DAYS,
        Some(serde_json::Value::String(text)) if text.trim().eq_ignore_ascii_case("never") => {
            return Ok(None);
        }
        Some(serde_json::Value::String(text)) => text.trim().parse().map_err(|_| invalid())?,
        Some(serde_json::Value::Number(number)) => number.as_i64().ok_or_else(invalid)?,
        Some(_) => return Err(invalid()),
    };
    if !(1..=MAX_TOKEN_DAYS).contains(&days) {
        return Err(invalid());
    }
    Ok(Some(now + time::Duration::days(days)))
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewApiTokenRequest {
    #[serde(default)]
    label: Option<String>,
    /// Days, or `"never"`; absent: 90 days.
    #[serde(default)]
    expires_in_days: Option<serde_json::Value>,
}

/// The new token, returned exactly once.
#[derive(Serialize)]
struct NewApiTokenResponse {
    id: String,
    token: String,
    label: String,
    /// RFC 3339, or `null` for a token that never expires.
    expires_at: Option<String>,
    note: &'static str,
}

#[derive(Serialize)]
struct ApiTokenDto {
    id: String,
    label: String,
    created_at: String,
    last_used_at: Option<String>,
    expires_at: Option<String>,
    expired: bool,
}

#[derive(Serialize)]
struct ApiTokensResponse {
    tokens: Vec<ApiTokenDto>,
}

fn rfc3339(time: OffsetDateTime) -> String {
    time.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl ApiTokenDto {
    fn new(info: &ApiTokenInfo, now: OffsetDateTime) -> Self {
        Self {
            id: info.id.to_string(),
            label: info.label.clone(),
            created_at: rfc3339(info.created_at),
            last_used_at: info.last_used_at.map(rfc3339),
            expires_at: info.expires_at.map(rfc3339),
            expired: info.expires_at.is_some_and(|at| at <= now),
        }
    }
}

/// The caller of a token route: any API caller may list and revoke their own tokens; writes by a
/// session need the CSRF header.
async fn token_caller(
    state: &AppState,
    headers: &HeaderMap,
    write: bool,
) -> Result<Caller, ApiError> {
    let caller = api_caller(state, headers).await?;
    if write {
        let presented = headers
            .get(CSRF_HEADER)
            .and_then(|value| value.to_str().ok());
        if !caller.csrf_token_matches(presented) {
            return Err(ApiError::CsrfRejected);
        }
    }
    Ok(caller)
}

async fn list_tokens(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<ApiTokensResponse>, ApiError> {
    let caller = token_caller(&state, &headers, false).await?;
    let now = state.clock().now();
    let tokens = state.store().api_tokens_of(caller.person.id).await?;
    Ok(Json(ApiTokensResponse {
        tokens: tokens
            .iter()
            .map(|info| ApiTokenDto::new(info, now))
            .collect(),
    }))
}

/// Creates an API token for scripts. Only a signed-in session may do this (with the CSRF header),
/// so a leaked token cannot mint more.
async fn create_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<NewApiTokenRequest>,
) -> Result<(StatusCode, Json<NewApiTokenResponse>), ApiError> {
    let caller = api_caller(&state, &headers).await?;
    if !matches!(caller.credential, Credential::Session(_)) {
        return Err(ApiError::SessionRequired);
    }
    let presented = headers
        .get(CSRF_HEADER)
        .and_then(|value| value.to_str().ok());
    if !caller.csrf_token_matches(presented) {
        return Err(ApiError::CsrfRejected);
    }
    let label = api_token_label(request.label.as_deref());
    let expires_at = expiry_from(request.expires_in_days.as_ref(), state.clock().now())?;
    let created = state
        .store()
        .create_api_token(caller.person.id, &label, expires_at)
        .await?;
    tracing::info!(person_id = %caller.person.id, token_id = %created.id, "API token created");
    Ok((
        StatusCode::CREATED,
        Json(NewApiTokenResponse {
            id: created.id.to_string(),
            token: created.token.expose_secret().to_owned(),
            label,
            expires_at: created.expires_at.map(rfc3339),
            note: API_TOKEN_SHOWN_ONCE,
        }),
    ))
}

async fn revoke_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let caller = token_caller(&state, &headers, true).await?;
    let id: ApiTokenId = id.parse().map_err(|_| ApiError::NotFound)?;
    state.store().revoke_api_token(caller.person.id, id).await?;
    tracing::info!(person_id = %caller.person.id, token_id = %id, "API token revoked");
    Ok(StatusCode::NO_CONTENT)
}
