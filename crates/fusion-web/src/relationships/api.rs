//! `/api/v1/orgs/{org_id}/relationships…`: organisation connections as JSON. Authentication,
//! organisation scope (404) and CSRF come from the `OrgApiCaller` extractor; a relationship the
//! organisation is not part of answers 404 exactly like an unknown one.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use fusion_engine::{LifecycleAction, NewConnection};

use crate::AppState;
use crate::api::ApiJson;
use crate::relationships::error::{ConnectionError, create_problem_error};
use crate::relationships::{ConnectionSeen, connection, connections_of, parse_relationship_id};
use crate::session::OrgApiCaller;
use crate::wording::{api_timestamp, human_date};

pub(crate) fn routes() -> Router<AppState> {
    let action = |action: LifecycleAction| {
        post(
            move |state: State<AppState>,
                  caller: OrgApiCaller,
                  Path((_, id)): Path<(String, String)>| {
                perform(state, caller, id, action)
            },
        )
    };
    Router::new()
        .route(
            "/orgs/{org_id}/relationships",
            get(list_relationships).post(create_relationship),
        )
        .route(
            "/orgs/{org_id}/relationships/accept",
            post(accept_relationship),
        )
        .route("/orgs/{org_id}/relationships/{id}", get(read_relationship))
        .route(
            "/orgs/{org_id}/relationships/{id}/revoke",
            action(LifecycleAction::Revoke),
        )
        .route(
            "/orgs/{org_id}/relationships/{id}/reissue",
            action(LifecycleAction::Reissue),
        )
        .route(
            "/orgs/{org_id}/relationships/{id}/pause",
            action(LifecycleAction::Pause),
        )
        .route(
            "/orgs/{org_id}/relationships/{id}/resume",
            action(LifecycleAction::Resume),
        )
        .route(
            "/orgs/{org_id}/relationships/{id}/end",
            action(LifecycleAction::End),
        )
}

#[derive(Serialize)]
pub(crate) struct PartnerDto {
    pub id: String,
    pub name: Option<String>,
}

/// One connection, seen from the calling organisation.
#[derive(Serialize)]
pub(crate) struct RelationshipDto {
    pub id: String,
    pub contract_name: String,
    /// The caller's role: "source" or "target".
    pub role: &'static str,
    pub role_label: &'static str,
    /// `null` while Pending (nobody has accepted the code yet).
    pub partner: Option<PartnerDto>,
    /// "pending", "active", "paused", "ended" or "revoked".
    pub state: &'static str,
    pub state_label: &'static str,
    /// "initial_sync_required" or "ready_for_automatic_sync".
    pub readiness: &'static str,
    /// E.g. "Initial sync required".
    pub readiness_label: &'static str,
    /// Whether the caller's organisation created it (and issued its code).
    pub initiated_by_me: bool,
    /// When the current code stops working (Pending only).
    pub code_expires_at: Option<String>,
    pub code_expired: bool,
    /// The lifecycle actions the caller may take now, e.g. `["pause", "end"]`.
    pub actions: Vec<&'static str>,
    pub created_at: String,
    pub activated_at: Option<String>,
}

impl RelationshipDto {
    pub fn new(seen: &ConnectionSeen, now: time::OffsetDateTime) -> Self {
        let relationship = &seen.relationship;
        let role = seen.role();
        Self {
            id: relationship.id.to_string(),
            contract_name: relationship.contract_name.clone(),
            role: role.as_str(),
            role_label: role.label(),
            partner: relationship
                .partner_of(seen.viewer)
                .map(|partner| PartnerDto {
                    id: partner.to_string(),
                    name: seen.partner_name.clone(),
                }),
            state: relationship.state.as_str(),
            state_label: relationship.state.label(),
            readiness: relationship.readiness.as_str(),
            readiness_label: relationship.readiness.label(),
            initiated_by_me: seen.initiated_by_viewer(),
            code_expires_at: (relationship.state == fusion_domain::RelationshipState::Pending)
                .then_some(relationship.code_expires_at)
                .flatten()
                .map(api_timestamp),
            code_expired: seen.code_expired(now),
            actions: seen
                .available_actions()
                .into_iter()
                .map(LifecycleAction::as_str)
                .collect(),
            created_at: api_timestamp(relationship.created_at),
            activated_at: relationship.activated_at.map(api_timestamp),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct RelationshipListDto {
    pub relationships: Vec<RelationshipDto>,
}

/// A new verification code, returned exactly once.
#[derive(Serialize)]
pub(crate) struct IssuedCodeDto {
    pub relationship: RelationshipDto,
    /// Give this to the partner; it is not shown again.
    pub verification_code: String,
    pub code_expires_at: String,
    pub note: String,
}

/// What to tell the person holding a fresh code.
pub(crate) fn issued_code_note(expires_at: time::OffsetDateTime) -> String {
    format!(
        "Give this code to your partner; it expires on {} and works once. It is not shown again.",
        human_date(expires_at)
    )
}

/// `POST …/relationships`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateRelationshipRequest {
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub contract_name: Option<String>,
}

/// `POST …/relationships/accept`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct AcceptRelationshipRequest {
    #[serde(default)]
    pub code: String,
}

/// The response to an action: the connection, plus the new code after a re-issue.
#[derive(Serialize)]
pub(crate) struct ActionResponse {
    #[serde(flatten)]
    pub relationship: RelationshipDto,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

async fn list_relationships(
    State(state): State<AppState>,
    OrgApiCaller { org_id, .. }: OrgApiCaller,
) -> Result<Json<RelationshipListDto>, ConnectionError> {
    let now = state.clock().now();
    let connections = connections_of(&state, org_id).await?;
    Ok(Json(RelationshipListDto {
        relationships: connections
            .iter()
            .map(|seen| RelationshipDto::new(seen, now))
            .collect(),
    }))
}

async fn read_relationship(
    State(state): State<AppState>,
    OrgApiCaller { org_id, .. }: OrgApiCaller,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<RelationshipDto>, ConnectionError> {
    let id = parse_relationship_id(&id)?;
    let seen = connection(&state, org_id, id).await?;
    Ok(Json(RelationshipDto::new(&seen, state.clock().now())))
}

async fn create_relationship(
    State(state): State<AppState>,
    OrgApiCaller { org_id, .. }: OrgApiCaller,
    ApiJson(request): ApiJson<CreateRelationshipRequest>,
) -> Result<(StatusCode, Json<IssuedCodeDto>), ConnectionError> {
    let new = NewConnection::parse(request.role.as_deref(), request.contract_name.as_deref())
        .map_err(|problem| ConnectionError::Api(create_problem_error(problem)))?;
    let issued = state.connections().create(org_id, new).await?;
    let expires_at = issued
        .connection
        .relationship
        .code_expires_at
        .unwrap_or_else(|| state.clock().now() + fusion_domain::VERIFICATION_CODE_LIFETIME);
    Ok((
        StatusCode::CREATED,
        Json(IssuedCodeDto {
            relationship: RelationshipDto::new(&issued.connection, state.clock().now()),
            verification_code: issued.code.as_str().to_owned(),
            code_expires_at: api_timestamp(expires_at),
            note: issued_code_note(expires_at),
        }),
    ))
}

async fn accept_relationship(
    State(state): State<AppState>,
    OrgApiCaller { org_id, .. }: OrgApiCaller,
    ApiJson(request): ApiJson<AcceptRelationshipRequest>,
) -> Result<Json<RelationshipDto>, ConnectionError> {
    let seen = state.connections().accept(org_id, &request.code).await?;
    Ok(Json(RelationshipDto::new(&seen, state.clock().now())))
}

async fn perform(
    State(state): State<AppState>,
    OrgApiCaller { org_id, .. }: OrgApiCaller,
    id: String,
    action: LifecycleAction,
) -> Result<Json<ActionResponse>, ConnectionError> {
    let id = parse_relationship_id(&id)?;
    let outcome = state.connections().perform(org_id, id, action).await?;
    let now = state.clock().now();
    let note = outcome.new_code.as_ref().map(|_| {
        issued_code_note(
            outcome
                .connection
                .relationship
                .code_expires_at
                .unwrap_or(now + fusion_domain::VERIFICATION_CODE_LIFETIME),
        )
    });
    Ok(Json(ActionResponse {
        relationship: RelationshipDto::new(&outcome.connection, now),
        verification_code: outcome.new_code.map(|code| code.as_str().to_owned()),
        note,
    }))
}
