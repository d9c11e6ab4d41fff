//! `/api/v1`: `GET /me`, and per organisation `GET|PUT /orgs/{org_id}/platform`,
//! `POST /orgs/{org_id}/platform/test`, `GET /orgs/{org_id}/platform/audit`.
//! Authentication, organisation scope and CSRF are checked by the `OrgApiCaller` extractor.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::dto::{
    AuditEntryDto, AuditResponse, MeResponse, OrganisationDto, PersonDto, PlatformDto,
    PlatformSettingsRequest, SaveResponse, TestResponse, TrimmedDto,
};
use crate::error::ApiError;
use crate::platform_settings::{self, validate_save};
use crate::session::{OrgApiCaller, api_caller};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/me", get(me))
        .route(
            "/orgs/{org_id}/platform",
            get(read_platform).put(save_platform),
        )
        .route("/orgs/{org_id}/platform/test", post(test_platform))
        .route("/orgs/{org_id}/platform/audit", get(platform_audit))
        .fallback(api_not_found)
}

async fn api_not_found() -> ApiError {
    ApiError::NotFound
}

/// A JSON body whose rejection is an [`ApiError`]; the parser's message is not echoed because it
/// can quote the offending value, which may be a secret. An empty body reads as `T::default()`.
pub(crate) struct ApiJson<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = request_content_type(request.headers());
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::BodyTooLarge
                } else {
                    ApiError::InvalidBody
                }
            })?;
        require_json(content_type.as_deref(), &bytes)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(ApiJson(T::default()));
        }
        serde_json::from_slice(&bytes)
            .map(ApiJson)
            .map_err(|_| ApiError::InvalidBody)
    }
}

/// The request's `Content-Type` without parameters, lower-cased (`None` when absent or unreadable).
pub(crate) fn request_content_type(headers: &HeaderMap) -> Option<String> {
    headers.get(axum::http::header::CONTENT_TYPE).map(|value| {
        value
            .to_str()
            .unwrap_or("unreadable")
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    })
}

/// JSON routes take only `application/json` (or a `+json` type): a body sent as `text/plain`
/// or a form is refused with 415, so a cross-site form can never pass for an API call and
/// clients learn early that they sent the wrong thing. A request with neither a body nor a
/// `Content-Type` (e.g. "test the saved settings") is fine.
pub(crate) fn require_json(content_type: Option<&str>, body: &[u8]) -> Result<(), ApiError> {
    match content_type {
        None if body.iter().all(u8::is_ascii_whitespace) => Ok(()),
        Some(kind) if kind == "application/json" || kind.ends_with("+json") => Ok(()),
        _ => Err(ApiError::UnsupportedMediaType),
    }
}

async fn me(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<MeResponse>, ApiError> {
    let caller = api_caller(&state, &headers).await?;
    let org = state
        .store()
        .organisation(caller.person.org_id)
        .await?
        .ok_or_else(|| {
            ApiError::Internal("signed-in person's organisation is missing".to_owned())
        })?;
    Ok(Json(MeResponse {
        person: PersonDto::from(&caller.person),
        organisation: OrganisationDto::from(&org),
        auth: caller.auth_kind(),
        csrf_token: caller.csrf_token(),
    }))
}

async fn read_platform(
    State(state): State<AppState>,
    OrgApiCaller { org_id, .. }: OrgApiCaller,
) -> Result<Json<PlatformDto>, ApiError> {
    let credentials = state.store().platform_credentials(org_id).await?;
    let last_test = state.store().last_test_result(org_id).await?;
    Ok(Json(PlatformDto::new(
        credentials.as_ref(),
        last_test.as_ref(),
    )))
}

async fn save_platform(
    State(state): State<AppState>,
    OrgApiCaller { caller, org_id }: OrgApiCaller,
    ApiJson(request): ApiJson<PlatformSettingsRequest>,
) -> Result<Json<SaveResponse>, ApiError> {
    let settings = request.clean(state.tenants());
    let valid = validate_save(state.tenants(), &settings).map_err(|problems| {
        problems
            .into_iter()
            .next()
            .map(|problem| problem.into_api_error())
            .unwrap_or(ApiError::InvalidBody)
    })?;
    let saved = platform_settings::save(&state, org_id, caller.person.id, valid).await?;
    let last_test = state.store().last_test_result(org_id).await?;
    Ok(Json(SaveResponse {
        platform: PlatformDto::new(Some(&saved), last_test.as_ref()),
        trimmed: settings.trimmed.iter().map(TrimmedDto::from).collect(),
        notes: settings.notes(),
    }))
}

async fn test_platform(
    State(state): State<AppState>,
    OrgApiCaller { caller, org_id }: OrgApiCaller,
    ApiJson(request): ApiJson<PlatformSettingsRequest>,
) -> Result<Json<TestResponse>, ApiError> {
    let run = platform_settings::test_connection(
        &state,
        org_id,
        caller.person.id,
        Some(request.clean(state.tenants())),
    )
    .await?;
    let mut response = TestResponse::from(&run);
    if run.report.is_success() && run.tested_values == crate::platform_settings::TestedValues::Saved
    {
        response.webhooks = crate::hooks::after_passing_test(&state, org_id).await;
    }
    Ok(Json(response))
}

async fn platform_audit(
    State(state): State<AppState>,
    OrgApiCaller { org_id, .. }: OrgApiCaller,
) -> Result<Json<AuditResponse>, ApiError> {
    let history = platform_settings::change_history(&state, org_id).await?;
    Ok(Json(AuditResponse {
        entries: history
            .into_iter()
            .map(|(entry, name)| AuditEntryDto::new(&entry, name))
            .collect(),
    }))
}
