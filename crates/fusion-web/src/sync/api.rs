//! `/api/v1` sync routes: a connection's sync state and automatic switch, manual and dry runs,
//! history with filters, run details and the Dashboard. Authentication, organisation scope (404)
//! and CSRF come from the `OrgApiCaller` extractor.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use fusion_domain::RelationshipId;
use fusion_domain::sync::{RunStatus, SyncRecord, SyncRun, SyncRunId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::AppState;
use crate::api::ApiJson;
use crate::error::ApiError;
use crate::relationships::{connection, parse_relationship_id};
use crate::session::OrgApiCaller;
use crate::sync::plan_words::{plan_in_words, planned_writes};
use crate::sync::{
    DEFAULT_HISTORY_LIMIT, DEFAULT_HISTORY_PERIOD, HistoryQuery, MAX_HISTORY_LIMIT, SyncError,
    SyncOverview, dry_run, history, overview, overviews, parse_since, run_details, set_schedule,
    start_manual_run,
};
use crate::wording::api_timestamp;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/orgs/{org_id}/relationships/{id}/sync",
            get(read_sync).put(save_schedule),
        )
        .route("/orgs/{org_id}/relationships/{id}/sync/runs", post(run_now))
        .route(
            "/orgs/{org_id}/relationships/{id}/sync/dry-run",
            post(dry_run_now),
        )
        .route("/orgs/{org_id}/sync/runs", get(list_runs))
        .route("/orgs/{org_id}/sync/runs/{run_id}", get(read_run))
        .route("/orgs/{org_id}/dashboard", get(dashboard))
}

/// The counts of a run.
#[derive(Serialize)]
pub(crate) struct CountsDto {
    pub created: u32,
    pub updated: u32,
    pub closed: u32,
    pub failed: u32,
    pub skipped: u32,
    pub conflicts: u32,
    /// Tickets needing a person's attention as the run ended.
    pub needs_attention: u32,
}

/// One run as history shows it.
#[derive(Serialize)]
pub(crate) struct RunDto {
    pub id: String,
    pub relationship_id: String,
    pub contract_name: String,
    /// "manual", "automatic" or "repair".
    pub trigger: &'static str,
    /// Who started a manual or repair run (their email).
    pub started_by: Option<String>,
    /// "running", "success", "partial", "failed" or "no_tickets_found".
    pub status: &'static str,
    /// E.g. "No tickets found to sync".
    pub status_label: &'static str,
    /// The start date of a manual run.
    pub since: Option<String>,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub duration_ms: Option<i64>,
    pub counts: CountsDto,
    /// Autotask calls the run made, both sides together.
    pub calls_used: u64,
    pub error: Option<String>,
}

impl RunDto {
    pub fn new(run: &SyncRun, contract_name: &str) -> Self {
        Self {
            id: run.id.to_string(),
            relationship_id: run.relationship.to_string(),
            contract_name: contract_name.to_owned(),
            trigger: run.trigger.as_str(),
            started_by: run.started_by.clone(),
            status: run.status.as_str(),
            status_label: run.status.label(),
            since: run.since.map(api_timestamp),
            started_at: api_timestamp(run.started_at),
            finished_at: run.finished_at.map(api_timestamp),
            duration_ms: run
                .duration()
                .map(|duration| i64::try_from(duration.whole_milliseconds()).unwrap_or(i64::MAX)),
            counts: CountsDto {
                created: run.counts.created,
                updated: run.counts.updated,
                closed: run.counts.closed,
                failed: run.counts.failed,
                skipped: run.counts.skipped,
                conflicts: run.counts.conflicts,
                needs_attention: run.counts.attention,
            },
            calls_used: run.calls_used,
            error: run.error.clone(),
        }
    }
}

/// One ticket's outcome in a run.
#[derive(Serialize)]
pub(crate) struct RecordDto {
    /// "source" or "target": the side the change was read from.
    pub origin: &'static str,
    /// The original ticket's title.
    pub title: String,
    pub source_ticket_number: Option<String>,
    pub target_ticket_number: Option<String>,
    /// "created", "updated", "closed", "failed" or "held" (outside the relationship's company
    /// scope, so not written; counted as skipped).
    pub outcome: &'static str,
    pub outcome_label: &'static str,
    pub error: Option<String>,
    pub failed_comments: u32,
    pub failed_attachments: u32,
    pub notes: Vec<String>,
    pub recorded_at: String,
}

impl From<&SyncRecord> for RecordDto {
    fn from(record: &SyncRecord) -> Self {
        Self {
            origin: record.origin.as_str(),
            title: record.title.clone(),
            source_ticket_number: record.source_number.clone(),
            target_ticket_number: record.target_number.clone(),
            outcome: record.outcome.as_str(),
            outcome_label: record.outcome.label(),
            error: record.error.clone(),
            failed_comments: record.failed_comments,
            failed_attachments: record.failed_attachments,
            notes: record.notes.clone(),
            recorded_at: api_timestamp(record.recorded_at),
        }
    }
}

/// A connection's sync state.
#[derive(Serialize)]
pub(crate) struct SyncStateDto {
    pub relationship_id: String,
    pub contract_name: String,
    /// "active", "paused", …
    pub state: &'static str,
    /// "initial_sync_required" or "ready_for_automatic_sync".
    pub readiness: &'static str,
    pub readiness_label: &'static str,
    pub automatic: bool,
    pub interval_minutes: i64,
    /// Whether automatic sync may be switched on now.
    pub can_switch_automatic_on: bool,
    /// Why not, when it may not.
    pub automatic_note: Option<String>,
    pub running: bool,
    pub last_run: Option<RunDto>,
    /// When the scheduler starts the next automatic run (`null`: it will not).
    pub next_run_at: Option<String>,
    /// "Waiting for API budget: …" with the time the work carries on, when the API budget holds
    /// this connection's sweeps or a person's manual run back; `null` otherwise.
    pub waiting_for_budget: Option<String>,
    /// Whether this server process runs syncs (manual runs and dry runs need it).
    pub sync_available: bool,
}

impl SyncStateDto {
    fn new(overview: &SyncOverview, sync_available: bool) -> Self {
        let relationship = &overview.connection.relationship;
        let refusal = overview.automatic_refusal();
        Self {
            relationship_id: relationship.id.to_string(),
            contract_name: relationship.contract_name.clone(),
            state: relationship.state.as_str(),
            readiness: relationship.readiness.as_str(),
            readiness_label: relationship.readiness.label(),
            automatic: overview.schedule.automatic,
            interval_minutes: overview.schedule.interval().whole_minutes(),
            can_switch_automatic_on: refusal.is_none(),
            automatic_note: refusal,
            running: overview.is_running(),
            last_run: overview
                .last_run
                .as_ref()
                .map(|run| RunDto::new(run, &relationship.contract_name)),
            next_run_at: overview.next_run_at.map(api_timestamp),
            waiting_for_budget: overview.budget_note(),
            sync_available,
        }
    }
}

/// `PUT …/sync`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScheduleRequest {
    #[serde(default)]
    pub automatic: Option<bool>,
    #[serde(default)]
    pub interval_minutes: Option<i64>,
}

/// `POST …/sync/runs` and `…/sync/dry-run`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RunRequest {
    #[serde(default)]
    pub since: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct StartedRunDto {
    pub run: RunDto,
    /// Where to follow it.
    pub run_url: String,
}

#[derive(Serialize)]
pub(crate) struct PlannedTicketDto {
    pub source_ticket_number: Option<String>,
    pub target_ticket_number: Option<String>,
    /// "Source" or "Target".
    pub origin: &'static str,
    pub actions: Vec<String>,
    pub notes: Vec<String>,
}

#[derive(Serialize)]
pub(crate) struct DryRunDto {
    /// The start date used (`null`: since where the last run stopped).
    pub since: Option<String>,
    /// Writes a run would make now.
    pub planned_writes: usize,
    pub tickets: Vec<PlannedTicketDto>,
    /// Autotask calls the dry run itself made (reading only).
    pub calls_used: u64,
    pub error: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct RunListDto {
    pub runs: Vec<RunDto>,
    /// The period shown (`from` defaults to 7 days ago).
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct RunDetailsDto {
    pub run: RunDto,
    pub records: Vec<RecordDto>,
}

#[derive(Serialize)]
pub(crate) struct DashboardRowDto {
    pub relationship_id: String,
    pub contract_name: String,
    pub partner_name: Option<String>,
    pub state: &'static str,
    pub readiness: &'static str,
    pub readiness_label: &'static str,
    pub automatic: bool,
    pub interval_minutes: i64,
    pub last_run: Option<RunDto>,
    pub next_run_at: Option<String>,
    /// As in the sync state: what the API budget holds back, and until when.
    pub waiting_for_budget: Option<String>,
    /// Runs that Failed in the last 24 hours.
    pub failed_runs_24h: u32,
    /// Tickets recorded as Failed in runs of the last 24 hours.
    pub failed_tickets_24h: u32,
    /// Autotask calls this connection's runs made in the last hour (both sides).
    pub autotask_calls_last_hour: u64,
    /// Tickets that need a person's attention now (`GET …/tickets?state=needs_attention`).
    pub needs_attention: u32,
}

#[derive(Serialize)]
pub(crate) struct DashboardDto {
    pub relationships: Vec<DashboardRowDto>,
    /// This server's hourly share of the caller's Autotask database's request threshold.
    pub autotask_hourly_limit: Option<u32>,
    /// Requests this server sent in the last hour to the caller's own Autotask database (every
    /// connection and connection test together); `null` before its first request.
    pub autotask_budget_used: Option<u32>,
}

fn relationship_id(raw: &str) -> Result<RelationshipId, SyncError> {
    Ok(parse_relationship_id(raw)?)
}

async fn read_sync(
    State(state): State<AppState>,
    OrgApiCaller { org_id, .. }: OrgApiCaller,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<SyncStateDto>, SyncError> {
    let overview = overview(&state, org_id, relationship_id(&id)?).await?;
    Ok(Json(SyncStateDto::new(&overview, state.sync().is_some())))
}

async fn save_schedule(
    State(state): State<AppState>,
    OrgApiCaller { org_id, .. }: OrgApiCaller,
    Path((_, id)): Path<(String, String)>,
    ApiJson(request): ApiJson<ScheduleRequest>,
) -> Result<Json<SyncStateDto>, SyncError> {
    let id = relationship_id(&id)?;
    let automatic = request.automatic.ok_or_else(|| ApiError::Invalid {
        code: "automatic_required",
        field: Some("automatic"),
        message: "Say whether automatic sync is on: `automatic` is true or false.".to_owned(),
        fix: None,
        suggested_api_url: None,
    })?;
    let overview = set_schedule(&state, org_id, id, automatic, request.interval_minutes).await?;
    Ok(Json(SyncStateDto::new(&overview, state.sync().is_some())))
}

async fn run_now(
    State(state): State<AppState>,
    OrgApiCaller { org_id, caller }: OrgApiCaller,
    Path((_, id)): Path<(String, String)>,
    ApiJson(request): ApiJson<RunRequest>,
) -> Result<(StatusCode, Json<StartedRunDto>), SyncError> {
    let id = relationship_id(&id)?;
    let since = parse_since(
        request.since.as_deref().unwrap_or_default(),
        state.clock().now(),
    )?;
    let run = start_manual_run(&state, org_id, id, since, &caller.person.email).await?;
    let seen = connection(&state, org_id, id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(StartedRunDto {
            run_url: format!("/api/v1/orgs/{org_id}/sync/runs/{}", run.id),
            run: RunDto::new(&run, &seen.relationship.contract_name),
        }),
    ))
}

async fn dry_run_now(
    State(state): State<AppState>,
    OrgApiCaller { org_id, .. }: OrgApiCaller,
    Path((_, id)): Path<(String, String)>,
    ApiJson(request): ApiJson<RunRequest>,
) -> Result<Json<DryRunDto>, SyncError> {
    let id = relationship_id(&id)?;
    let since = match request.since.as_deref() {
        Some(raw) if !raw.trim().is_empty() => Some(parse_since(raw, state.clock().now())?),
        _ => None,
    };
    let summary = dry_run(&state, org_id, id, since).await?;
    Ok(Json(DryRunDto {
        since: since.map(api_timestamp),
        planned_writes: planned_writes(&summary.plan),
        tickets: plan_in_words(&summary.plan)
            .into_iter()
            .map(|ticket| PlannedTicketDto {
                source_ticket_number: ticket.source_number,
                target_ticket_number: ticket.target_number,
                origin: ticket.origin,
                actions: ticket.actions,
                notes: ticket.notes,
            })
            .collect(),
        calls_used: summary.calls_used,
        error: summary.error,
    }))
}

fn invalid_filter(field: &'static str, message: String, fix: &str) -> SyncError {
    SyncError::Api(ApiError::Invalid {
        code: "invalid_filter",
        field: Some(field),
        message,
        fix: Some(fix.to_owned()),
        suggested_api_url: None,
    })
}

fn parse_time(field: &'static str, raw: &str) -> Result<OffsetDateTime, SyncError> {
    let raw = raw.trim();
    OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
        .ok()
        .or_else(|| {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            time::Date::parse(raw, &format)
                .ok()
                .map(|date| date.midnight().assume_utc())
        })
        .ok_or_else(|| {
            invalid_filter(
                field,
                format!("`{field}` is not a date."),
                "Use 2026-11-01 (midnight UTC) or 2026-11-01T08:30:00Z.",
            )
        })
}

/// Reads the history filters of `GET …/sync/runs`.
fn history_query(
    parameters: &HashMap<String, String>,
    now: OffsetDateTime,
) -> Result<HistoryQuery, SyncError> {
    let present = |name: &str| {
        parameters
            .get(name)
            .map(|value| value.trim())
            .filter(|value| !value.is_empty())
    };
    let relationship = present("relationship")
        .map(|raw| {
            raw.parse::<RelationshipId>().map_err(|_| {
                invalid_filter(
                    "relationship",
                    "`relationship` is not a connection id.".to_owned(),
                    "Use an `id` from GET /api/v1/orgs/{org_id}/relationships.",
                )
            })
        })
        .transpose()?;
    let status = present("status")
        .map(|raw| {
            RunStatus::parse(raw).ok_or_else(|| {
                invalid_filter(
                    "status",
                    format!("`status` {raw:?} is not a run status."),
                    "Use running, success, partial, failed or no_tickets_found.",
                )
            })
        })
        .transpose()?;
    let from = match present("from") {
        Some(raw) => parse_time("from", raw)?,
        None => now - DEFAULT_HISTORY_PERIOD,
    };
    let to = present("to").map(|raw| parse_time("to", raw)).transpose()?;
    let limit = match present("limit") {
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|limit| (1..=MAX_HISTORY_LIMIT).contains(limit))
            .ok_or_else(|| {
                invalid_filter(
                    "limit",
                    format!("`limit` must be a whole number from 1 to {MAX_HISTORY_LIMIT}."),
                    "Leave it out for the newest 100 runs.",
                )
            })?,
        None => DEFAULT_HISTORY_LIMIT,
    };
    Ok(HistoryQuery {
        relationship,
        status,
        from: Some(from),
        to,
        limit,
    })
}

async fn list_runs(
    State(state): State<AppState>,
    OrgApiCaller { org_id, .. }: OrgApiCaller,
    parameters: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<RunListDto>, SyncError> {
    let Query(parameters) = parameters.map_err(|_| {
        invalid_filter(
            "query",
            "The query string could not be read.".to_owned(),
            "Use relationship, status, from, to and limit, each once.",
        )
    })?;
    let query = history_query(&parameters, state.clock().now())?;
    let runs = history(&state, org_id, &query).await?;
    Ok(Json(RunListDto {
        runs: runs
            .iter()
            .map(|found| RunDto::new(&found.run, &found.contract_name))
            .collect(),
        from: query.from.map(api_timestamp),
        to: query.to.map(api_timestamp),
    }))
}

async fn read_run(
    State(state): State<AppState>,
    OrgApiCaller { org_id, .. }: OrgApiCaller,
    Path((_, run_id)): Path<(String, String)>,
) -> Result<Json<RunDetailsDto>, SyncError> {
    let run_id: SyncRunId = run_id
        .parse()
        .map_err(|_| SyncError::Api(ApiError::NotFound))?;
    let (run, records, seen) = run_details(&state, org_id, run_id).await?;
    Ok(Json(RunDetailsDto {
        run: RunDto::new(&run, &seen.relationship.contract_name),
        records: records.iter().map(RecordDto::from).collect(),
    }))
}

pub(crate) fn dashboard_row(overview: &SyncOverview) -> DashboardRowDto {
    let relationship = &overview.connection.relationship;
    DashboardRowDto {
        relationship_id: relationship.id.to_string(),
        contract_name: relationship.contract_name.clone(),
        partner_name: overview.connection.partner_name.clone(),
        state: relationship.state.as_str(),
        readiness: relationship.readiness.as_str(),
        readiness_label: relationship.readiness.label(),
        automatic: overview.schedule.automatic,
        interval_minutes: overview.schedule.interval().whole_minutes(),
        last_run: overview
            .last_run
            .as_ref()
            .map(|run| RunDto::new(run, &relationship.contract_name)),
        next_run_at: overview.next_run_at.map(api_timestamp),
        waiting_for_budget: overview.budget_note(),
        failed_runs_24h: overview.failed_runs_24h,
        failed_tickets_24h: overview.failed_tickets_24h,
        autotask_calls_last_hour: overview.calls_last_hour,
        needs_attention: overview.needs_attention,
    }
}

/// Requests this server sent in the last hour to `org_id`'s Autotask database, once known.
pub(crate) async fn autotask_budget_used(
    state: &AppState,
    org_id: fusion_domain::OrgId,
) -> Option<u32> {
    let credentials = state.store().platform_credentials(org_id).await.ok()??;
    state.tenants().requests_last_hour(&credentials.username)
}

/// This server's hourly request share of `org_id`'s Autotask database (the share the
/// organisation set, else the server's default), when it talks to Autotask.
pub(crate) async fn autotask_hourly_limit(
    state: &AppState,
    org_id: fusion_domain::OrgId,
) -> Option<u32> {
    match state
        .store()
        .platform_credentials(org_id)
        .await
        .ok()
        .flatten()
    {
        Some(credentials) => state
            .tenants()
            .hourly_request_limit_for(&credentials.username),
        None => state.tenants().hourly_request_limit(),
    }
}

async fn dashboard(
    State(state): State<AppState>,
    OrgApiCaller { org_id, .. }: OrgApiCaller,
) -> Result<Json<DashboardDto>, SyncError> {
    let overviews = overviews(&state, org_id).await?;
    Ok(Json(DashboardDto {
        relationships: overviews.iter().map(dashboard_row).collect(),
        autotask_hourly_limit: autotask_hourly_limit(&state, org_id).await,
        autotask_budget_used: autotask_budget_used(&state, org_id).await,
    }))
}
