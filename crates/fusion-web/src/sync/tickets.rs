//! A connection's tickets and their repair, shared by the Tickets page and `/api/v1`:
//! `GET …/relationships/{id}/tickets?search=&state=&limit=` lists every linked or attempted
//! ticket with where it stands and links into each tenant's Autotask; `POST …/tickets/repair`
//! (Retry now, Resync, Skip a failure, Unlink) and `POST …/tickets/link` (pair two existing tickets
//! by number) run as repair runs recorded in history with who asked. Both organisations of a
//! connection may do it; any other gets 404.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use fusion_domain::sync::{AttentionItem, AttentionSubject, SyncRecord, TicketId};
use fusion_domain::{OrgId, Organisation, RelationshipId, Role};
use fusion_engine::{
    ConnectionSeen, RepairStep, RunSummary, TicketRow, TicketSyncState, TicketsQuery, ticket_rows,
};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::api::ApiJson;
use crate::error::ApiError;
use crate::relationships::{connection, parse_relationship_id};
use crate::session::OrgApiCaller;
use crate::sync::SyncError;
use crate::sync::api::{RecordDto, RunDetailsDto, RunDto};
use crate::wording::api_timestamp;

/// Rows a list shows unless asked for fewer.
pub(crate) const DEFAULT_TICKETS_LIMIT: u32 = 200;
/// The most rows one request returns.
pub(crate) const MAX_TICKETS_LIMIT: u32 = 1_000;

pub(crate) fn tickets_page_url(org: &Organisation, id: RelationshipId) -> String {
    format!("/orgs/{}/sync/{id}/tickets", org.id)
}

/// A row with the addresses of its tickets in each tenant's Autotask.
#[derive(Debug, Clone)]
pub(crate) struct TicketView {
    pub row: TicketRow,
    pub source_url: Option<String>,
    pub target_url: Option<String>,
}

/// The organisation on `side` of a connection.
fn org_on(seen: &ConnectionSeen, side: Role) -> Option<OrgId> {
    let relationship = &seen.relationship;
    if relationship.initiator_role == side {
        Some(relationship.initiator)
    } else {
        relationship.partner
    }
}

/// The connection's tickets matching `query` (404 for a connection `org` is not part of).
pub(crate) async fn tickets(
    state: &AppState,
    org: OrgId,
    id: RelationshipId,
    query: &TicketsQuery,
) -> Result<(ConnectionSeen, Vec<TicketView>), SyncError> {
    let seen = connection(state, org, id).await?;
    let store = state.store().as_ref();
    let rows = ticket_rows(store, id, query).await?;
    let mut api_urls = [None, None];
    for (index, side) in [Role::Source, Role::Target].into_iter().enumerate() {
        if let Some(side_org) = org_on(&seen, side) {
            api_urls[index] = store
                .platform_credentials(side_org)
                .await?
                .map(|credentials| credentials.api_url);
        }
    }
    let url = |index: usize, ticket: Option<&TicketId>| {
        let api_url = api_urls[index].as_deref()?;
        state.tenants().ticket_web_url(api_url, ticket?)
    };
    let views = rows
        .into_iter()
        .map(|row| TicketView {
            source_url: url(0, row.source_ticket.as_ref()),
            target_url: url(1, row.target_ticket.as_ref()),
            row,
        })
        .collect();
    Ok((seen, views))
}

/// A repair of one ticket by the person `by` (404 for a connection `org` is not part of).
pub(crate) async fn repair(
    state: &AppState,
    org: OrgId,
    id: RelationshipId,
    by: &str,
    side: Role,
    ticket: TicketId,
    step: RepairStep,
) -> Result<RunSummary, SyncError> {
    let service = state.sync().cloned().ok_or(SyncError::NotRunning)?;
    connection(state, org, id).await?;
    Ok(service.repair(id, side, ticket, step, by).await?)
}

/// Pairs the source ticket `source` with the target ticket `target` (numbers or ids).
pub(crate) async fn link(
    state: &AppState,
    org: OrgId,
    id: RelationshipId,
    by: &str,
    source: &str,
    target: &str,
) -> Result<RunSummary, SyncError> {
    let service = state.sync().cloned().ok_or(SyncError::NotRunning)?;
    connection(state, org, id).await?;
    for (what, value) in [("source", source), ("target", target)] {
        let value = value.trim();
        if value.is_empty() || value.chars().count() > 64 || value.chars().any(char::is_control) {
            return Err(invalid(
                what,
                format!("Enter the {what} ticket's number (e.g. T20261204.0001) or its id."),
            ));
        }
    }
    Ok(service.link_tickets(id, source, target, by).await?)
}

/// A value of the request was refused (422), saying which and why.
pub(crate) fn invalid(field: &'static str, message: String) -> SyncError {
    SyncError::Api(ApiError::Invalid {
        code: "invalid_value",
        field: Some(field),
        message,
        fix: None,
        suggested_api_url: None,
    })
}

// ---------- API ----------

pub(crate) fn api_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/orgs/{org_id}/relationships/{id}/tickets",
            get(list_tickets),
        )
        .route(
            "/orgs/{org_id}/relationships/{id}/tickets/repair",
            post(repair_ticket),
        )
        .route(
            "/orgs/{org_id}/relationships/{id}/tickets/link",
            post(link_tickets),
        )
}

#[derive(Deserialize)]
struct ListParams {
    search: Option<String>,
    state: Option<String>,
    limit: Option<u32>,
}

/// Parses `state` as the API and the page accept it.
pub(crate) fn parse_state(raw: Option<&str>) -> Result<Option<TicketSyncState>, String> {
    match raw.map(str::trim).filter(|raw| !raw.is_empty()) {
        None => Ok(None),
        Some(raw) => TicketSyncState::parse(raw).map(Some).ok_or_else(|| {
            format!(
                "Unknown state {raw:?}: use one of {}.",
                TicketSyncState::ALL
                    .iter()
                    .map(TicketSyncState::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }),
    }
}

#[derive(Serialize)]
struct FailureDto {
    /// What the failure concerns: ticket, fields, field, comment, attachment or closure.
    kind: &'static str,
    /// The field name, or the original comment's or attachment's id ("" for the others).
    item: String,
    what: String,
    why: String,
    what_to_do: String,
    /// "transient" or "permanent".
    class: &'static str,
    /// "open" or "skipped".
    state: &'static str,
    needs_attention: bool,
    first_seen: String,
    last_seen: String,
    times: u32,
    skipped_by: Option<String>,
}

impl From<&AttentionItem> for FailureDto {
    fn from(item: &AttentionItem) -> Self {
        Self {
            kind: item.key.subject.kind(),
            item: item.key.subject.item().to_owned(),
            what: item.what.clone(),
            why: item.why.clone(),
            what_to_do: item.what_to_do.clone(),
            class: item.class.as_str(),
            state: item.state.as_str(),
            needs_attention: item.needs_attention(),
            first_seen: api_timestamp(item.first_seen),
            last_seen: api_timestamp(item.last_seen),
            times: item.times,
            skipped_by: item.skipped_by.clone(),
        }
    }
}

#[derive(Serialize)]
struct TicketSideDto {
    ticket_id: Option<String>,
    ticket_number: Option<String>,
    /// The ticket in that tenant's Autotask web UI.
    url: Option<String>,
}

#[derive(Serialize)]
struct TicketDto {
    title: String,
    /// "source" or "target": where the ticket was raised.
    origin: &'static str,
    source: TicketSideDto,
    target: TicketSideDto,
    /// in_sync, needs_attention, retrying, skipped or unlinked.
    state: &'static str,
    state_label: &'static str,
    reason: Option<String>,
    last_synced_at: Option<String>,
    /// Time carried to the partner each way, in words ("Target → Source: 2 time entries, 3.75 h").
    time_carried: Vec<String>,
    failures: Vec<FailureDto>,
}

impl From<&TicketView> for TicketDto {
    fn from(view: &TicketView) -> Self {
        let row = &view.row;
        Self {
            title: row.title.clone(),
            origin: row.origin.as_str(),
            source: TicketSideDto {
                ticket_id: row.source_ticket.as_ref().map(|t| t.as_str().to_owned()),
                ticket_number: row.source_number.clone(),
                url: view.source_url.clone(),
            },
            target: TicketSideDto {
                ticket_id: row.target_ticket.as_ref().map(|t| t.as_str().to_owned()),
                ticket_number: row.target_number.clone(),
                url: view.target_url.clone(),
            },
            state: row.state.as_str(),
            state_label: row.state.label(),
            reason: row.reason.clone(),
            last_synced_at: row.last_synced.map(api_timestamp),
            time_carried: row.time_carried.clone(),
            failures: row.items.iter().map(FailureDto::from).collect(),
        }
    }
}

#[derive(Serialize)]
struct TicketListDto {
    tickets: Vec<TicketDto>,
}

async fn list_tickets(
    State(state): State<AppState>,
    OrgApiCaller { org_id, .. }: OrgApiCaller,
    Path((_, id)): Path<(String, String)>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<TicketListDto>, SyncError> {
    let id = parse_relationship_id(&id)?;
    let Query(params) = params.map_err(|rejection| {
        invalid("query", format!("Invalid query: {}", rejection.body_text()))
    })?;
    let ticket_state =
        parse_state(params.state.as_deref()).map_err(|message| invalid("state", message))?;
    let limit = params.limit.unwrap_or(DEFAULT_TICKETS_LIMIT);
    if limit == 0 || limit > MAX_TICKETS_LIMIT {
        return Err(invalid(
            "limit",
            format!("limit must be between 1 and {MAX_TICKETS_LIMIT}."),
        ));
    }
    let (_, views) = tickets(
        &state,
        org_id,
        id,
        &TicketsQuery {
            search: params.search,
            state: ticket_state,
            limit,
        },
    )
    .await?;
    Ok(Json(TicketListDto {
        tickets: views.iter().map(TicketDto::from).collect(),
    }))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FailureRef {
    kind: String,
    #[serde(default)]
    item: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RepairRequest {
    /// retry, resync, skip or unlink.
    action: String,
    /// The side of `ticket`: source or target.
    side: String,
    /// The ticket's id on that side (either ticket of a pair).
    ticket: String,
    /// For skip: which failure.
    failure: Option<FailureRef>,
}

/// The step a request names, or what is wrong with it.
pub(crate) fn repair_step(
    action: &str,
    failure: Option<(&str, &str)>,
) -> Result<RepairStep, String> {
    Ok(match action {
        "retry" => RepairStep::Retry,
        "resync" => RepairStep::Resync,
        "unlink" => RepairStep::Unlink,
        "skip" => {
            let (kind, item) = failure
                .ok_or("To skip, say which failure: failure.kind and failure.item as listed.")?;
            let subject = AttentionSubject::from_parts(kind, item).ok_or_else(|| {
                format!(
                    "Unknown failure kind {kind:?}: use ticket, fields, field, comment, \
                     attachment or closure."
                )
            })?;
            RepairStep::Skip { subject }
        }
        other => {
            return Err(format!(
                "Unknown action {other:?}: use retry, resync, skip or unlink (link has its own \
                 route)."
            ));
        }
    })
}

pub(crate) fn parse_side(raw: &str) -> Result<Role, String> {
    Role::parse(raw.trim()).ok_or_else(|| format!("Unknown side {raw:?}: use source or target."))
}

pub(crate) fn parse_ticket_id(raw: &str) -> Result<TicketId, String> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > 32 || !raw.chars().all(|c| c.is_ascii_digit()) {
        return Err("ticket must be the ticket's id (digits), as the ticket list gives it.".into());
    }
    Ok(TicketId::new(raw))
}

fn details(summary: &RunSummary, seen_name: &str, records: &[SyncRecord]) -> RunDetailsDto {
    RunDetailsDto {
        run: summary
            .run
            .as_ref()
            .map(|run| RunDto::new(run, seen_name))
            .expect("a repair is a run with a record"),
        records: records.iter().map(RecordDto::from).collect(),
    }
}

async fn answer(
    state: &AppState,
    org_id: OrgId,
    summary: RunSummary,
) -> Result<Json<RunDetailsDto>, SyncError> {
    let run = summary
        .run
        .as_ref()
        .ok_or_else(|| SyncError::Api(ApiError::Internal("a repair ended without a run".into())))?;
    let (_, records, seen) = crate::sync::run_details(state, org_id, run.id).await?;
    Ok(Json(details(
        &summary,
        &seen.relationship.contract_name,
        &records,
    )))
}

async fn repair_ticket(
    State(state): State<AppState>,
    OrgApiCaller { org_id, caller }: OrgApiCaller,
    Path((_, id)): Path<(String, String)>,
    ApiJson(request): ApiJson<RepairRequest>,
) -> Result<Json<RunDetailsDto>, SyncError> {
    let id = parse_relationship_id(&id)?;
    let side = parse_side(&request.side).map_err(|message| invalid("side", message))?;
    let ticket = parse_ticket_id(&request.ticket).map_err(|message| invalid("ticket", message))?;
    let step = repair_step(
        &request.action,
        request
            .failure
            .as_ref()
            .map(|failure| (failure.kind.as_str(), failure.item.as_str())),
    )
    .map_err(|message| invalid("action", message))?;
    let summary = repair(&state, org_id, id, &caller.person.email, side, ticket, step).await?;
    answer(&state, org_id, summary).await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LinkRequest {
    /// The source ticket's number (e.g. T20261204.0001) or id.
    source: String,
    /// The target ticket's number or id.
    target: String,
}

async fn link_tickets(
    State(state): State<AppState>,
    OrgApiCaller { org_id, caller }: OrgApiCaller,
    Path((_, id)): Path<(String, String)>,
    ApiJson(request): ApiJson<LinkRequest>,
) -> Result<Json<RunDetailsDto>, SyncError> {
    let id = parse_relationship_id(&id)?;
    let summary = link(
        &state,
        org_id,
        id,
        &caller.person.email,
        &request.source,
        &request.target,
    )
    .await?;
    answer(&state, org_id, summary).await
}
