//! `/api/v1/orgs/{org_id}/notifications`: `GET` (settings, the server's channels, open
//! problems), `PUT` (save; the first webhook URL creates the signing secret, answered once),
//! `POST …/signing-secret` (a new secret, answered once), `POST …/test` (`{"channel":"email"}`
//! or `"webhook"`: the outcome in words).

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use fusion_engine::notify::{
    EventKind, NotificationSettings, NotificationSettingsDraft, TestChannel,
};
use fusion_engine::ports::OpenProblem;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use super::{SIGNING_SECRET_SHOWN_ONCE, api_error, events_from_codes};
use crate::AppState;
use crate::api::ApiJson;
use crate::error::ApiError;
use crate::session::OrgApiCaller;
use crate::wording::api_timestamp;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/orgs/{org_id}/notifications",
            get(read_settings).put(save_settings),
        )
        .route(
            "/orgs/{org_id}/notifications/signing-secret",
            post(rotate_signing_secret),
        )
        .route("/orgs/{org_id}/notifications/test", post(send_test))
}

#[derive(Serialize)]
pub(crate) struct EventDto {
    code: &'static str,
    label: &'static str,
}

#[derive(Serialize)]
pub(crate) struct OpenProblemDto {
    problem_key: String,
    event: &'static str,
    summary: String,
    opened_at: String,
    last_seen_at: String,
}

impl From<&OpenProblem> for OpenProblemDto {
    fn from(problem: &OpenProblem) -> Self {
        Self {
            problem_key: problem.problem_key.clone(),
            event: problem.kind.code(),
            summary: problem.summary.clone(),
            opened_at: api_timestamp(problem.opened_at),
            last_seen_at: api_timestamp(problem.last_seen_at),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct NotificationSettingsDto {
    email_recipients: Vec<String>,
    webhook_url: Option<String>,
    /// Codes of the events this organisation receives.
    events: Vec<&'static str>,
    signing_secret_set: bool,
    signing_secret_created_at: Option<String>,
    updated_at: Option<String>,
    /// Whether this server can send email (an SMTP server is configured).
    email_available: bool,
    /// Every event there is, with its label.
    available_events: Vec<EventDto>,
    /// Problems this organisation was told about that are not resolved yet.
    open_problems: Vec<OpenProblemDto>,
}

async fn settings_dto(
    state: &AppState,
    org_id: fusion_domain::OrgId,
    settings: NotificationSettings,
) -> Result<NotificationSettingsDto, ApiError> {
    let service = state.notifications();
    let open_problems = service.open_problems(org_id).await?;
    Ok(NotificationSettingsDto {
        email_recipients: settings.email_recipients,
        webhook_url: settings.webhook_url,
        events: settings.events.iter().map(|kind| kind.code()).collect(),
        signing_secret_set: settings.signing_secret_created_at.is_some(),
        signing_secret_created_at: settings.signing_secret_created_at.map(api_timestamp),
        updated_at: settings.updated_at.map(api_timestamp),
        email_available: service.email_available(),
        available_events: EventKind::ALL
            .iter()
            .map(|kind| EventDto {
                code: kind.code(),
                label: kind.label(),
            })
            .collect(),
        open_problems: open_problems.iter().map(OpenProblemDto::from).collect(),
    })
}

async fn read_settings(
    State(state): State<AppState>,
    OrgApiCaller { org_id, .. }: OrgApiCaller,
) -> Result<Json<NotificationSettingsDto>, ApiError> {
    let settings = state.notifications().settings(org_id).await?;
    Ok(Json(settings_dto(&state, org_id, settings).await?))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct SaveRequest {
    #[serde(default)]
    email_recipients: Vec<String>,
    #[serde(default)]
    webhook_url: Option<String>,
    /// Omitted: every event.
    #[serde(default)]
    events: Option<Vec<String>>,
}

#[derive(Serialize)]
pub(crate) struct SaveResponse {
    settings: NotificationSettingsDto,
    /// Present only when this save created the signing secret (the first webhook URL).
    #[serde(skip_serializing_if = "Option::is_none")]
    signing_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'static str>,
}

async fn save_settings(
    State(state): State<AppState>,
    OrgApiCaller { org_id, .. }: OrgApiCaller,
    ApiJson(request): ApiJson<SaveRequest>,
) -> Result<Json<SaveResponse>, ApiError> {
    let events = match &request.events {
        Some(codes) => events_from_codes(codes)?,
        None => EventKind::all(),
    };
    let draft = NotificationSettingsDraft {
        email_recipients: request.email_recipients.join("\n"),
        webhook_url: request.webhook_url.unwrap_or_default(),
        events,
    };
    let saved = state
        .notifications()
        .save(org_id, &draft)
        .await
        .map_err(api_error)?;
    let signing_secret = saved
        .new_signing_secret
        .map(|secret| secret.expose_secret().to_owned());
    Ok(Json(SaveResponse {
        note: signing_secret.as_ref().map(|_| SIGNING_SECRET_SHOWN_ONCE),
        signing_secret,
        settings: settings_dto(&state, org_id, saved.settings).await?,
    }))
}

#[derive(Serialize)]
pub(crate) struct SigningSecretResponse {
    signing_secret: String,
    note: &'static str,
}

async fn rotate_signing_secret(
    State(state): State<AppState>,
    OrgApiCaller { org_id, .. }: OrgApiCaller,
) -> Result<Json<SigningSecretResponse>, ApiError> {
    let secret = state
        .notifications()
        .rotate_signing_secret(org_id)
        .await
        .map_err(api_error)?;
    Ok(Json(SigningSecretResponse {
        signing_secret: secret.expose_secret().to_owned(),
        note: SIGNING_SECRET_SHOWN_ONCE,
    }))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct TestRequest {
    #[serde(default)]
    channel: String,
}

#[derive(Serialize)]
pub(crate) struct TestResponse {
    channel: &'static str,
    delivered: bool,
    /// Where it went, or why it could not be delivered (e.g. the mail server's answer).
    message: String,
}

async fn send_test(
    State(state): State<AppState>,
    OrgApiCaller { org_id, .. }: OrgApiCaller,
    ApiJson(request): ApiJson<TestRequest>,
) -> Result<Json<TestResponse>, ApiError> {
    let (channel, name) = match request.channel.trim() {
        "email" => (TestChannel::Email, "email"),
        "webhook" => (TestChannel::Webhook, "webhook"),
        other => {
            return Err(ApiError::Invalid {
                code: "invalid_value",
                field: Some("channel"),
                message: format!("unknown channel {other:?}; use \"email\" or \"webhook\""),
                fix: None,
                suggested_api_url: None,
            });
        }
    };
    match state.notifications().send_test(org_id, channel).await {
        Ok(message) => Ok(Json(TestResponse {
            channel: name,
            delivered: true,
            message,
        })),
        Err(fusion_engine::notify::NotificationSettingsError::Delivery(message)) => {
            Ok(Json(TestResponse {
                channel: name,
                delivered: false,
                message: format!("Test failed: {message}"),
            }))
        }
        Err(other) => Err(api_error(other)),
    }
}
