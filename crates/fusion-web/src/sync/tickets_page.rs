//! The Tickets page of a connection (`/orgs/{org_id}/sync/{id}/tickets`): every linked or
//! attempted ticket with both numbers, the title, where it stands and why, when it last synced and
//! links into each tenant's Autotask; search by ticket number or title words and filter by state;
//! and the repair actions — Retry now, Resync, Skip a failure, Unlink, and Link two tickets by
//! number — as plain forms (no JavaScript). A repair answers with its run's details page, which
//! says what happened and who asked.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use fusion_domain::sync::AttentionState;
use fusion_domain::{Organisation, RelationshipId};
use fusion_engine::{TicketSyncState, TicketsQuery};
use serde::Deserialize;

use crate::AppState;
use crate::page_chrome::{
    OrgPageCaller, OrgPageWrite, PageForm, internal_error_page, nav_for, not_found_page,
};
use crate::session::Caller;
use crate::sync::SyncError;
use crate::sync::tickets::{
    DEFAULT_TICKETS_LIMIT, TicketView, link, parse_side, parse_state, parse_ticket_id, repair,
    repair_step, tickets, tickets_page_url,
};
use crate::templates::{Banner, Nav, render};
use crate::wording::human_date;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/orgs/{org_id}/sync/{id}/tickets", get(tickets_page))
        .route("/orgs/{org_id}/sync/{id}/tickets/repair", post(repair_now))
        .route("/orgs/{org_id}/sync/{id}/tickets/link", post(link_now))
}

/// One failure under its ticket.
pub(crate) struct FailureRow {
    pub kind: &'static str,
    pub item: String,
    pub what: String,
    pub why: String,
    pub what_to_do: String,
    pub first_seen: String,
    pub last_seen: String,
    pub times: u32,
    pub skipped: bool,
    pub skipped_by: Option<String>,
}

pub(crate) struct TicketLine {
    pub title: String,
    pub source_number: String,
    pub source_url: Option<String>,
    pub target_number: String,
    pub target_url: Option<String>,
    pub state_label: &'static str,
    /// CSS modifier of the state badge.
    pub state_class: &'static str,
    pub reason: Option<String>,
    pub last_synced: String,
    /// Time carried each way ("Target → Source: 2 time entries, 3.75 h").
    pub time_carried: Vec<String>,
    /// The side and id the repair forms name.
    pub side: &'static str,
    pub ticket: String,
    pub linked: bool,
    pub unlinked: bool,
    pub failures: Vec<FailureRow>,
}

pub(crate) struct StateChoice {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "tickets.html")]
pub(crate) struct TicketsPage {
    pub title: &'static str,
    pub active: &'static str,
    pub nav: Option<Nav>,
    pub csrf_token: String,
    pub contract_name: String,
    pub sync_url: String,
    pub page_url: String,
    pub banner: Option<Banner>,
    pub search: String,
    pub states: Vec<StateChoice>,
    pub link_source: String,
    pub link_target: String,
    pub lines: Vec<TicketLine>,
    pub attention: usize,
    pub limited: bool,
}

fn state_class(state: TicketSyncState) -> &'static str {
    match state {
        TicketSyncState::InSync => "active",
        TicketSyncState::NeedsAttention => "failed",
        TicketSyncState::Retrying => "attention",
        TicketSyncState::Skipped => "paused",
        TicketSyncState::Unlinked => "ended",
    }
}

fn line(view: TicketView) -> TicketLine {
    let row = view.row;
    let (side, ticket) = match (&row.source_ticket, &row.target_ticket) {
        (Some(source), _) => ("source", source.as_str().to_owned()),
        (None, Some(target)) => ("target", target.as_str().to_owned()),
        (None, None) => ("source", String::new()),
    };
    let linked = row.last_synced.is_some();
    TicketLine {
        title: row.title.clone(),
        source_number: row.source_number.clone().unwrap_or_else(|| "—".into()),
        source_url: view.source_url,
        target_number: row
            .target_number
            .clone()
            .unwrap_or_else(|| "not created".into()),
        target_url: view.target_url,
        state_label: row.state.label(),
        state_class: state_class(row.state),
        reason: row.reason.clone(),
        last_synced: row.last_synced.map_or_else(|| "Never".into(), human_date),
        time_carried: row.time_carried.clone(),
        side,
        ticket,
        linked,
        unlinked: row.state == TicketSyncState::Unlinked,
        failures: row
            .items
            .iter()
            .map(|item| FailureRow {
                kind: item.key.subject.kind(),
                item: item.key.subject.item().to_owned(),
                what: item.what.clone(),
                why: item.why.clone(),
                what_to_do: item.what_to_do.clone(),
                first_seen: human_date(item.first_seen),
                last_seen: human_date(item.last_seen),
                times: item.times,
                skipped: item.state == AttentionState::Skipped,
                skipped_by: item.skipped_by.clone(),
            })
            .collect(),
    }
}

#[derive(Deserialize, Default)]
struct ListParams {
    #[serde(default)]
    search: String,
    #[serde(default)]
    state: String,
}

/// What the page shows besides the list.
#[derive(Default)]
struct PageView {
    params: ListParams,
    banner: Option<Banner>,
    link_source: String,
    link_target: String,
}

async fn render_page(
    state: &AppState,
    caller: &Caller,
    org: &Organisation,
    id: RelationshipId,
    status: StatusCode,
    view: PageView,
) -> Response {
    let mut banner = view.banner;
    let ticket_state = match parse_state(Some(&view.params.state)) {
        Ok(ticket_state) => ticket_state,
        Err(message) => {
            banner.get_or_insert(Banner {
                success: false,
                text: message,
            });
            None
        }
    };
    let query = TicketsQuery {
        search: Some(view.params.search.clone()).filter(|s| !s.trim().is_empty()),
        state: ticket_state,
        limit: DEFAULT_TICKETS_LIMIT,
    };
    let (seen, views) = match tickets(state, org.id, id, &query).await {
        Ok(found) => found,
        Err(error) if error.is_not_found() => return not_found_page(),
        Err(error) => {
            return internal_error_page(crate::error::ApiError::Internal(error.to_string()));
        }
    };
    let limited = views.len() >= DEFAULT_TICKETS_LIMIT as usize;
    let lines: Vec<TicketLine> = views.into_iter().map(line).collect();
    let page = TicketsPage {
        title: "Tickets",
        active: "sync",
        nav: nav_for(caller, org),
        csrf_token: caller.csrf_token().unwrap_or_default(),
        contract_name: seen.relationship.contract_name.clone(),
        sync_url: format!("/orgs/{}/sync?relationship={id}", org.id),
        page_url: tickets_page_url(org, id),
        banner,
        search: view.params.search.clone(),
        states: std::iter::once(StateChoice {
            value: "",
            label: "Every state",
            selected: ticket_state.is_none(),
        })
        .chain(TicketSyncState::ALL.iter().map(|choice| StateChoice {
            value: choice.as_str(),
            label: choice.label(),
            selected: ticket_state == Some(*choice),
        }))
        .collect(),
        link_source: view.link_source,
        link_target: view.link_target,
        attention: lines
            .iter()
            .filter(|line| line.state_class == "failed")
            .count(),
        lines,
        limited,
    };
    render(status, &page)
}

async fn tickets_page(
    State(state): State<AppState>,
    OrgPageCaller { caller, org }: OrgPageCaller,
    Path((_, id)): Path<(String, String)>,
    Query(params): Query<ListParams>,
) -> Response {
    let Ok(id) = id.parse::<RelationshipId>() else {
        return not_found_page();
    };
    let view = PageView {
        params,
        ..PageView::default()
    };
    render_page(&state, &caller, &org, id, StatusCode::OK, view).await
}

#[derive(Deserialize)]
struct RepairForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    side: String,
    #[serde(default)]
    ticket: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    item: String,
}

impl PageForm for RepairForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

async fn refused(
    state: &AppState,
    caller: &Caller,
    org: &Organisation,
    id: RelationshipId,
    error: SyncError,
    mut view: PageView,
) -> Response {
    if error.is_not_found() {
        return not_found_page();
    }
    if let SyncError::Api(crate::error::ApiError::Internal(_)) = &error {
        return internal_error_page(crate::error::ApiError::Internal(error.to_string()));
    }
    view.banner = Some(Banner {
        success: false,
        text: error.to_string(),
    });
    render_page(state, caller, org, id, error.status(), view).await
}

async fn repair_now(
    State(state): State<AppState>,
    OrgPageWrite {
        caller,
        org,
        path: Path((_, id)),
        form: Form(form),
    }: OrgPageWrite<Form<RepairForm>, Path<(String, String)>>,
) -> Response {
    let Ok(id) = id.parse::<RelationshipId>() else {
        return not_found_page();
    };
    let failure = (!form.kind.is_empty()).then_some((form.kind.as_str(), form.item.as_str()));
    let request = parse_side(&form.side).and_then(|side| {
        let ticket = parse_ticket_id(&form.ticket)?;
        let step = repair_step(&form.action, failure)?;
        Ok((side, ticket, step))
    });
    let outcome = match request {
        Ok((side, ticket, step)) => {
            repair(&state, org.id, id, &caller.person.email, side, ticket, step).await
        }
        Err(message) => Err(crate::sync::tickets::invalid("action", message)),
    };
    match outcome {
        Ok(summary) => match summary.run {
            Some(run) => {
                Redirect::to(&format!("/orgs/{}/sync/runs/{}", org.id, run.id)).into_response()
            }
            None => Redirect::to(&tickets_page_url(&org, id)).into_response(),
        },
        Err(error) => refused(&state, &caller, &org, id, error, PageView::default()).await,
    }
}

#[derive(Deserialize)]
struct LinkForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    target: String,
}

impl PageForm for LinkForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

async fn link_now(
    State(state): State<AppState>,
    OrgPageWrite {
        caller,
        org,
        path: Path((_, id)),
        form: Form(form),
    }: OrgPageWrite<Form<LinkForm>, Path<(String, String)>>,
) -> Response {
    let Ok(id) = id.parse::<RelationshipId>() else {
        return not_found_page();
    };
    match link(
        &state,
        org.id,
        id,
        &caller.person.email,
        &form.source,
        &form.target,
    )
    .await
    {
        Ok(summary) => match summary.run {
            Some(run) => {
                Redirect::to(&format!("/orgs/{}/sync/runs/{}", org.id, run.id)).into_response()
            }
            None => Redirect::to(&tickets_page_url(&org, id)).into_response(),
        },
        Err(error) => {
            let view = PageView {
                link_source: form.source,
                link_target: form.target,
                ..PageView::default()
            };
            refused(&state, &caller, &org, id, error, view).await
        }
    }
}
