//! The Sync page (`/orgs/{org_id}/sync`): one connection's readiness badge, "Sync now" with a
//! start date, dry run, the automatic switch, and the history with filters (connection, status,
//! period; last 7 days by default); run details (`/orgs/{org_id}/sync/runs/{run_id}`, refreshing
//! itself while the run is Running). The Dashboard is `dashboard`'s. Plain forms carrying the
//! session's CSRF token; no JavaScript.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use fusion_domain::sync::{RecordOutcome, RunStatus, SyncRecord, SyncRun, SyncRunId};
use fusion_domain::{Organisation, RelationshipId, SyncReadiness};
use serde::Deserialize;
use time::{Duration, OffsetDateTime};

use crate::AppState;
use crate::page_chrome::{
    OrgPageCaller, OrgPageWrite, PageForm, connections_url, internal_error_page, nav_for,
    not_found_page,
};
use crate::session::Caller;
use crate::sync::plan_words::{TicketPlanWords, plan_in_words, planned_writes};
use crate::sync::{
    DEFAULT_HISTORY_LIMIT, HistoryQuery, SyncError, SyncOverview, dry_run, duration_words, history,
    overviews, parse_since, run_details, set_schedule, start_manual_run,
};
use crate::templates::{Banner, Nav, render};
use crate::wording::{counted, human_date, human_day, parse_day};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/orgs/{org_id}/sync", get(sync_page))
        .route("/orgs/{org_id}/sync/{id}/run", post(run_now))
        .route("/orgs/{org_id}/sync/{id}/dry-run", post(dry_run_now))
        .route("/orgs/{org_id}/sync/{id}/schedule", post(save_schedule))
        .route("/orgs/{org_id}/sync/runs/{run_id}", get(run_page))
        .merge(super::dashboard::routes())
}

pub(super) fn sync_url(org: &Organisation) -> String {
    format!("/orgs/{}/sync", org.id)
}

fn run_url(org: &Organisation, run: SyncRunId) -> String {
    format!("/orgs/{}/sync/runs/{run}", org.id)
}

/// The history periods offered, with their length; "7d" is the default.
const PERIODS: [(&str, &str, Duration); 4] = [
    ("24h", "Last 24 hours", Duration::hours(24)),
    ("7d", "Last 7 days", Duration::days(7)),
    ("30d", "Last 30 days", Duration::days(30)),
    ("90d", "Last 90 days", Duration::days(90)),
];
const DEFAULT_PERIOD: &str = "7d";

const STATUSES: [RunStatus; 5] = [
    RunStatus::Success,
    RunStatus::Partial,
    RunStatus::Failed,
    RunStatus::NoTicketsFound,
    RunStatus::Running,
];

/// One `<option>`.
pub(crate) struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// One run in a history table.
pub(crate) struct RunRow {
    pub details_url: String,
    pub contract_name: String,
    pub trigger_label: &'static str,
    pub status_label: &'static str,
    /// CSS modifier of the status badge.
    pub status_class: &'static str,
    pub started: String,
    pub duration: String,
    pub created: u32,
    pub updated: u32,
    pub closed: u32,
    pub failed: u32,
    pub calls_used: u64,
    pub error: Option<String>,
    /// Who started a manual or repair run.
    pub started_by: Option<String>,
    /// Tickets needing a person's attention as the run ended.
    pub attention: u32,
}

fn status_class(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Success => "active",
        RunStatus::NoTicketsFound => "ended",
        RunStatus::Partial | RunStatus::Running => "attention",
        RunStatus::Failed => "failed",
    }
}

pub(super) fn run_row(org: &Organisation, run: &SyncRun, contract_name: &str) -> RunRow {
    RunRow {
        details_url: run_url(org, run.id),
        contract_name: contract_name.to_owned(),
        trigger_label: run.trigger.label(),
        status_label: run.status.label(),
        status_class: status_class(run.status),
        started: human_date(run.started_at),
        duration: run
            .duration()
            .map(duration_words)
            .unwrap_or_else(|| "—".to_owned()),
        created: run.counts.created,
        updated: run.counts.updated,
        closed: run.counts.closed,
        failed: run.counts.failed,
        calls_used: run.calls_used,
        error: run.error.clone(),
        started_by: run.started_by.clone(),
        attention: run.counts.attention,
    }
}

/// The controls of the connection the page is about.
pub(crate) struct SelectedConnection {
    pub contract_name: String,
    pub partner: String,
    pub state_label: &'static str,
    pub readiness_label: &'static str,
    pub readiness_ready: bool,
    pub run_url: String,
    pub dry_run_url: String,
    pub schedule_url: String,
    /// The start date offered, written the product's way ("4 Dec 2026").
    pub since: String,
    /// How a date is written here, e.g. "4 Dec 2026".
    pub since_example: String,
    /// Where the offered start date comes from, in words.
    pub since_origin: String,
    pub automatic: bool,
    pub interval_minutes: i64,
    /// Why automatic sync cannot be switched on yet.
    pub automatic_note: Option<String>,
    pub last_run: Option<RunRow>,
    pub next_run: String,
    pub running_url: Option<String>,
    pub sync_available: bool,
    pub tickets_url: String,
    pub needs_attention: u32,
}

/// A dry run's result.
pub(crate) struct PlanView {
    pub contract_name: String,
    pub since: String,
    /// "3 writes".
    pub writes: String,
    /// "2 tickets".
    pub ticket_count: String,
    pub tickets: Vec<TicketPlanWords>,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "sync.html")]
pub(crate) struct SyncPage {
    pub title: &'static str,
    pub active: &'static str,
    pub nav: Option<Nav>,
    pub csrf_token: String,
    pub sync_url: String,
    pub connections_url: String,
    pub banner: Option<Banner>,
    pub has_connections: bool,
    pub selected: Option<SelectedConnection>,
    pub plan: Option<PlanView>,
    pub relationship_choices: Vec<Choice>,
    pub status_choices: Vec<Choice>,
    pub period_choices: Vec<Choice>,
    pub period_label: String,
    pub runs: Vec<RunRow>,
    /// `fusion demo` only: the form that raises a test ticket.
    pub demo: Option<crate::demo::DemoForm>,
}

/// One run's details.
pub(crate) struct RecordRow {
    pub title: String,
    pub source_number: String,
    pub target_number: String,
    pub origin_label: &'static str,
    pub outcome_label: &'static str,
    pub outcome_class: &'static str,
    pub error: Option<String>,
    pub failed_comments: u32,
    pub failed_attachments: u32,
    pub notes: Vec<String>,
}

fn record_row(record: &SyncRecord) -> RecordRow {
    RecordRow {
        title: record.title.clone(),
        source_number: record
            .source_number
            .clone()
            .unwrap_or_else(|| "—".to_owned()),
        target_number: record
            .target_number
            .clone()
            .unwrap_or_else(|| "—".to_owned()),
        origin_label: record.origin.label(),
        outcome_label: record.outcome.label(),
        outcome_class: match record.outcome {
            RecordOutcome::Failed => "failed",
            RecordOutcome::Closed => "ended",
            RecordOutcome::Created | RecordOutcome::Updated => "active",
            RecordOutcome::Held | RecordOutcome::Skipped => "paused",
        },
        error: record.error.clone(),
        failed_comments: record.failed_comments,
        failed_attachments: record.failed_attachments,
        notes: record.notes.clone(),
    }
}

#[derive(Template)]
#[template(path = "sync_run.html")]
pub(crate) struct RunPage {
    pub title: &'static str,
    pub active: &'static str,
    pub nav: Option<Nav>,
    pub sync_url: String,
    pub tickets_url: String,
    pub run: RunRow,
    pub running: bool,
    pub since: Option<String>,
    pub finished: Option<String>,
    pub skipped: u32,
    pub conflicts: u32,
    pub records: Vec<RecordRow>,
}

pub(super) fn partner_name(overview: &SyncOverview) -> String {
    overview
        .connection
        .partner_name
        .clone()
        .unwrap_or_else(|| "No partner".to_owned())
}

pub(super) fn next_run_words(overview: &SyncOverview, now: OffsetDateTime) -> String {
    if let Some(note) = overview.budget_note() {
        return note;
    }
    match overview.next_run_at {
        Some(at) if at <= now => "Due now".to_owned(),
        Some(at) => human_date(at),
        None if !overview.schedule.automatic => "Automatic sync is off".to_owned(),
        None => "Not scheduled (the connection is not active or needs its initial sync)".to_owned(),
    }
}

pub(super) fn page_error(error: SyncError) -> Response {
    match error {
        error if error.is_not_found() => not_found_page(),
        SyncError::Api(error) => internal_error_page(error),
        other => internal_error_page(crate::error::ApiError::Internal(other.to_string())),
    }
}

/// Which connection and runs the page shows.
#[derive(Default)]
struct PageView {
    /// `None`: the first connection; `Some(None)`: every connection (no controls).
    relationship: Option<Option<RelationshipId>>,
    status: Option<RunStatus>,
    period: String,
    banner: Option<Banner>,
    plan: Option<PlanView>,
    entered_since: Option<String>,
}

impl PageView {
    fn from_query(parameters: &HashMap<String, String>) -> Self {
        let relationship = match parameters.get("relationship").map(|raw| raw.trim()) {
            None | Some("") => None,
            Some("all") => Some(None),
            // An unreadable id is not found, like one of another organisation.
            Some(raw) => Some(Some(raw.parse().unwrap_or_else(|_| RelationshipId::new()))),
        };
        let status = parameters
            .get("status")
            .and_then(|raw| RunStatus::parse(raw.trim()));
        let period = parameters
            .get("period")
            .map(|raw| raw.trim())
            .filter(|raw| PERIODS.iter().any(|(value, _, _)| value == raw))
            .unwrap_or(DEFAULT_PERIOD)
            .to_owned();
        // After the demo's "raise a test ticket" form (it redirects here).
        let banner = match (parameters.get("raised"), parameters.get("raise_failed")) {
            (Some(number), _) => Some(Banner {
                success: true,
                text: format!(
                    "Raised ticket {number} in your simulated Autotask. The next automatic run carries it to your partner within a minute or two (or press Sync now); it then shows in the history below."
                ),
            }),
            (None, Some(error)) => Some(Banner {
                success: false,
                text: format!("The test ticket could not be raised: {error}"),
            }),
            (None, None) => None,
        };
        Self {
            relationship,
            status,
            period,
            banner,
            ..Self::default()
        }
    }

    fn for_connection(id: RelationshipId) -> Self {
        Self {
            relationship: Some(Some(id)),
            period: DEFAULT_PERIOD.to_owned(),
            ..Self::default()
        }
    }
}

async fn render_sync_page(
    state: &AppState,
    caller: &Caller,
    org: &Organisation,
    status: StatusCode,
    view: PageView,
) -> Response {
    let all = match overviews(state, org.id).await {
        Ok(all) => all,
        Err(error) => return page_error(error),
    };
    let selected_id = match view.relationship {
        None => all.first().map(|overview| overview.relationship_id()),
        Some(choice) => choice,
    };
    let selected = match selected_id {
        Some(id) => match all.iter().find(|overview| overview.relationship_id() == id) {
            Some(overview) => Some(overview),
            None => return not_found_page(),
        },
        None => None,
    };
    let now = state.clock().now();
    let (_, period_label, period_length) = PERIODS
        .iter()
        .find(|(value, _, _)| *value == view.period)
        .copied()
        .unwrap_or(PERIODS[1]);
    let query = HistoryQuery {
        relationship: selected_id,
        status: view.status,
        from: Some(now - period_length),
        to: None,
        limit: DEFAULT_HISTORY_LIMIT,
    };
    let runs = if all.is_empty() {
        Vec::new()
    } else {
        match history(state, org.id, &query).await {
            Ok(runs) => runs,
            Err(error) => return page_error(error),
        }
    };
    let selected = selected.map(|overview| {
        let (default_since, since_origin) = default_start_date(overview, &runs, now);
        let relationship = &overview.connection.relationship;
        let base = format!("{}/{}", sync_url(org), relationship.id);
        SelectedConnection {
            contract_name: relationship.contract_name.clone(),
            partner: partner_name(overview),
            state_label: relationship.state.label(),
            readiness_label: relationship.readiness.label(),
            readiness_ready: relationship.readiness == SyncReadiness::ReadyForAutomaticSync,
            run_url: format!("{base}/run"),
            dry_run_url: format!("{base}/dry-run"),
            schedule_url: format!("{base}/schedule"),
            since: view.entered_since.clone().unwrap_or(default_since),
            since_example: human_day(now.date()),
            since_origin,
            automatic: overview.schedule.automatic,
            interval_minutes: overview.schedule.interval().whole_minutes(),
            automatic_note: overview.automatic_refusal(),
            last_run: overview
                .last_run
                .as_ref()
                .map(|run| run_row(org, run, &relationship.contract_name)),
            next_run: next_run_words(overview, now),
            running_url: overview
                .last_run
                .as_ref()
                .filter(|run| run.status == RunStatus::Running)
                .map(|run| run_url(org, run.id)),
            sync_available: state.sync().is_some(),
            tickets_url: crate::sync::tickets::tickets_page_url(org, relationship.id),
            needs_attention: overview.needs_attention,
        }
    });
    let mut relationship_choices = vec![Choice {
        value: "all".to_owned(),
        label: "All connections".to_owned(),
        selected: selected_id.is_none(),
    }];
    relationship_choices.extend(all.iter().map(|overview| Choice {
        value: overview.relationship_id().to_string(),
        label: overview.connection.relationship.contract_name.clone(),
        selected: Some(overview.relationship_id()) == selected_id,
    }));
    let mut status_choices = vec![Choice {
        value: String::new(),
        label: "Any status".to_owned(),
        selected: view.status.is_none(),
    }];
    status_choices.extend(STATUSES.iter().map(|status| Choice {
        value: status.as_str().to_owned(),
        label: status.label().to_owned(),
        selected: Some(*status) == view.status,
    }));
    let period_choices = PERIODS
        .iter()
        .map(|(value, label, _)| Choice {
            value: (*value).to_owned(),
            label: (*label).to_owned(),
            selected: *value == view.period,
        })
        .collect();
    let page = SyncPage {
        title: "Sync",
        active: "sync",
        nav: nav_for(caller, org),
        csrf_token: caller.csrf_token().unwrap_or_default(),
        sync_url: sync_url(org),
        connections_url: connections_url(org),
        banner: view.banner,
        has_connections: !all.is_empty(),
        selected,
        plan: view.plan,
        relationship_choices,
        status_choices,
        period_choices,
        period_label: period_label.to_owned(),
        runs: runs
            .iter()
            .map(|found| run_row(org, &found.run, &found.contract_name))
            .collect(),
        demo: crate::demo::form_for(state, org),
    };
    render(status, &page)
}

/// The start date "Sync now" offers, and where it comes from: for a connection that has synced,
/// its baseline — the start date of its latest manual run in the history shown (else the day its
/// last run started); for the first run, 7 days ago.
fn default_start_date(
    overview: &SyncOverview,
    runs: &[fusion_engine::HistoryRun],
    now: OffsetDateTime,
) -> (String, String) {
    let id = overview.relationship_id();
    let manual_since = runs
        .iter()
        .filter(|found| found.run.relationship == id)
        .find_map(|found| found.run.since);
    let last_manual = overview.last_run.as_ref().and_then(|run| run.since);
    if let Some(since) = manual_since.or(last_manual) {
        let day = human_day(since.date());
        return (
            day.clone(),
            format!("Offered: the start date of the last manual sync ({day})."),
        );
    }
    if overview.readiness() == SyncReadiness::ReadyForAutomaticSync
        && let Some(run) = &overview.last_run
    {
        let day = human_day(run.started_at.date());
        return (
            day.clone(),
            format!("Offered: the day of the last run ({day})."),
        );
    }
    (
        human_day((now - Duration::days(7)).date()),
        "Offered: 7 days ago.".to_owned(),
    )
}

/// The start date as typed ("4 Dec 2026" or "2026-12-04") in the form the sync use cases read.
fn typed_start_date(typed: &str) -> String {
    parse_day(typed).unwrap_or_else(|| typed.trim().to_owned())
}

async fn sync_page(
    State(state): State<AppState>,
    OrgPageCaller { caller, org }: OrgPageCaller,
    Query(parameters): Query<HashMap<String, String>>,
) -> Response {
    render_sync_page(
        &state,
        &caller,
        &org,
        StatusCode::OK,
        PageView::from_query(&parameters),
    )
    .await
}

#[derive(Deserialize)]
struct RunForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    since: String,
}

impl PageForm for RunForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// The connection id of a form's URL; unreadable ids are not found.
fn form_relationship(raw: &str) -> Option<RelationshipId> {
    raw.parse().ok()
}

/// A refused request shown on the Sync page of its connection.
async fn refused(
    state: &AppState,
    caller: &Caller,
    org: &Organisation,
    id: RelationshipId,
    error: SyncError,
    entered_since: Option<String>,
) -> Response {
    if error.is_not_found() {
        return not_found_page();
    }
    if let SyncError::Api(crate::error::ApiError::Internal(_)) = &error {
        return page_error(error);
    }
    let view = PageView {
        banner: Some(Banner {
            success: false,
            text: error.to_string(),
        }),
        entered_since,
        ..PageView::for_connection(id)
    };
    render_sync_page(state, caller, org, error.status(), view).await
}

async fn run_now(
    State(state): State<AppState>,
    OrgPageWrite {
        caller,
        org,
        path: Path((_, id)),
        form: Form(form),
    }: OrgPageWrite<Form<RunForm>, Path<(String, String)>>,
) -> Response {
    let Some(id) = form_relationship(&id) else {
        return not_found_page();
    };
    let started = match parse_since(&typed_start_date(&form.since), state.clock().now()) {
        Ok(since) => start_manual_run(&state, org.id, id, since, &caller.person.email).await,
        Err(error) => Err(error),
    };
    match started {
        Ok(run) => Redirect::to(&run_url(&org, run.id)).into_response(),
        Err(error) => refused(&state, &caller, &org, id, error, Some(form.since)).await,
    }
}

async fn dry_run_now(
    State(state): State<AppState>,
    OrgPageWrite {
        caller,
        org,
        path: Path((_, id)),
        form: Form(form),
    }: OrgPageWrite<Form<RunForm>, Path<(String, String)>>,
) -> Response {
    let Some(id) = form_relationship(&id) else {
        return not_found_page();
    };
    let since = if form.since.trim().is_empty() {
        Ok(None)
    } else {
        parse_since(&typed_start_date(&form.since), state.clock().now()).map(Some)
    };
    let result = match since {
        Ok(since) => dry_run(&state, org.id, id, since)
            .await
            .map(|summary| (since, summary)),
        Err(error) => Err(error),
    };
    match result {
        Ok((since, summary)) => {
            let tickets = plan_in_words(&summary.plan);
            let contract_name = overviews(&state, org.id)
                .await
                .ok()
                .and_then(|all| {
                    all.into_iter()
                        .find(|overview| overview.relationship_id() == id)
                        .map(|overview| overview.connection.relationship.contract_name)
                })
                .unwrap_or_default();
            let view = PageView {
                plan: Some(PlanView {
                    contract_name,
                    since: since
                        .map_or_else(|| "where the last run stopped".to_owned(), human_date),
                    writes: counted(
                        u64::try_from(planned_writes(&summary.plan)).unwrap_or(u64::MAX),
                        "write",
                        "writes",
                    ),
                    ticket_count: counted(
                        u64::try_from(tickets.len()).unwrap_or(u64::MAX),
                        "ticket",
                        "tickets",
                    ),
                    tickets,
                    error: summary.error,
                }),
                entered_since: Some(form.since),
                ..PageView::for_connection(id)
            };
            render_sync_page(&state, &caller, &org, StatusCode::OK, view).await
        }
        Err(error) => refused(&state, &caller, &org, id, error, Some(form.since)).await,
    }
}

#[derive(Deserialize)]
struct ScheduleForm {
    #[serde(default)]
    csrf_token: String,
    /// A checkbox: present ("on") when ticked.
    #[serde(default)]
    automatic: Option<String>,
    #[serde(default)]
    interval_minutes: String,
}

impl PageForm for ScheduleForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

async fn save_schedule(
    State(state): State<AppState>,
    OrgPageWrite {
        caller,
        org,
        path: Path((_, id)),
        form: Form(form),
    }: OrgPageWrite<Form<ScheduleForm>, Path<(String, String)>>,
) -> Response {
    let Some(id) = form_relationship(&id) else {
        return not_found_page();
    };
    let automatic = form.automatic.is_some();
    let interval = form.interval_minutes.trim();
    let interval = if interval.is_empty() {
        Ok(None)
    } else {
        interval.parse::<i64>().map(Some).map_err(|_| {
            SyncError::Api(crate::error::ApiError::Invalid {
                code: "invalid_interval",
                field: Some("interval_minutes"),
                message: format!(
                    "The interval {interval:?} is not a whole number of minutes; enter 1 to 1440."
                ),
                fix: None,
                suggested_api_url: None,
            })
        })
    };
    let saved = match interval {
        Ok(interval) => set_schedule(&state, org.id, id, automatic, interval).await,
        Err(error) => Err(error),
    };
    match saved {
        Ok(overview) => {
            let text = if overview.schedule.automatic {
                match overview.schedule.interval().whole_minutes() {
                    1 => "Automatic sync is on: every minute.".to_owned(),
                    minutes => format!("Automatic sync is on: every {minutes} minutes."),
                }
            } else {
                "Automatic sync is off.".to_owned()
            };
            let view = PageView {
                banner: Some(Banner {
                    success: true,
                    text,
                }),
                ..PageView::for_connection(id)
            };
            render_sync_page(&state, &caller, &org, StatusCode::OK, view).await
        }
        Err(error) => refused(&state, &caller, &org, id, error, None).await,
    }
}

async fn run_page(
    State(state): State<AppState>,
    OrgPageCaller { caller, org }: OrgPageCaller,
    Path((_, run_id)): Path<(String, String)>,
) -> Response {
    let Ok(run_id) = run_id.parse::<SyncRunId>() else {
        return not_found_page();
    };
    let (run, records, seen) = match run_details(&state, org.id, run_id).await {
        Ok(found) => found,
        Err(error) => return page_error(error),
    };
    let page = RunPage {
        title: "Sync run",
        active: "sync",
        nav: nav_for(&caller, &org),
        sync_url: format!("{}?relationship={}", sync_url(&org), seen.relationship.id),
        tickets_url: crate::sync::tickets::tickets_page_url(&org, seen.relationship.id),
        running: run.status == RunStatus::Running,
        since: run.since.map(human_date),
        finished: run.finished_at.map(human_date),
        skipped: run.counts.skipped,
        conflicts: run.counts.conflicts,
        run: run_row(&org, &run, &seen.relationship.contract_name),
        records: records.iter().map(record_row).collect(),
    };
    render(StatusCode::OK, &page)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_page(running: bool) -> RunPage {
        RunPage {
            title: "Sync run",
            active: "sync",
            nav: None,
            sync_url: "/orgs/o/sync".to_owned(),
            tickets_url: "/orgs/o/sync/r/tickets".to_owned(),
            run: RunRow {
                details_url: "/orgs/o/sync/runs/r".to_owned(),
                contract_name: "Contoso ⇄ Northwind".to_owned(),
                trigger_label: "Manual",
                status_label: if running { "Running" } else { "Success" },
                status_class: "active",
                started: "27 Nov 2026, 05:00 UTC".to_owned(),
                duration: "—".to_owned(),
                created: 0,
                updated: 0,
                closed: 0,
                failed: 0,
                calls_used: 0,
                error: None,
                started_by: Some("jane@northwind.example".to_owned()),
                attention: 0,
            },
            running,
            since: None,
            finished: None,
            skipped: 0,
            conflicts: 0,
            records: Vec::new(),
        }
    }

    #[test]
    fn a_running_run_refreshes_itself_and_a_finished_one_does_not() {
        let running = run_page(true).render().expect("renders");
        assert!(running.contains(r#"<meta http-equiv="refresh" content="3">"#));
        assert!(running.contains("This page refreshes every few seconds."));
        let finished = run_page(false).render().expect("renders");
        assert!(!finished.contains("http-equiv"));
    }
}
