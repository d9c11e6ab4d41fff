//! The Dashboard (`/orgs/{org_id}/dashboard`): per connection, how many tickets it keeps in step,
//! its last and next run and failures, and a picture of the last 7 days (tickets synced and failed
//! per day); for the organisation, the Autotask requests per hour against this server's budget and
//! Autotask's allowance. The pictures are SVG drawn on the server (`charts`), so the page needs no
//! JavaScript.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use fusion_domain::SyncReadiness;

use super::pages::{RunRow, next_run_words, page_error, partner_name, run_row, sync_url};
use crate::AppState;
use crate::charts::{Chart, daily_tickets, hourly_requests};
use crate::page_chrome::{OrgPageCaller, connections_url, nav_for};
use crate::sync::api::{autotask_budget_used, autotask_hourly_limit};
use crate::sync::overviews;
use crate::templates::{Nav, render};
use crate::wording::{counted, thousands};

/// Autotask's own limit per database and hour, shared by every integration.
const AUTOTASK_HOURLY_ALLOWANCE: u32 = 10_000;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/orgs/{org_id}/dashboard", get(dashboard_page))
}

pub(crate) struct DashboardRow {
    pub contract_name: String,
    pub partner: String,
    pub sync_url: String,
    pub readiness_label: &'static str,
    pub readiness_ready: bool,
    /// "2 tickets in sync".
    pub in_sync: String,
    /// "Automatic sync: on, every 5 minutes" / "Automatic sync: off".
    pub automatic: String,
    pub last_run: Option<RunRow>,
    pub next_run: String,
    /// "No failed runs in the last 24 hours" / "1 failed run, 2 failed tickets in the last 24 hours".
    pub failures: String,
    pub has_failures: bool,
    /// "16 Autotask requests in the last hour".
    pub calls: String,
    pub chart: Chart,
    pub tickets_url: String,
    pub needs_attention: u32,
    /// Time entries carried each way, one line per direction ("Target → Source: 3 time entries,
    /// 4.50 h"); empty when none.
    pub time_carried: Vec<String>,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
pub(crate) struct DashboardPage {
    pub title: &'static str,
    pub active: &'static str,
    pub nav: Option<Nav>,
    pub connections_url: String,
    pub rows: Vec<DashboardRow>,
    /// Autotask requests per hour, every connection together.
    pub requests_chart: Option<Chart>,
    /// The budget in one sentence, worded the same way as on Settings.
    pub budget: String,
    /// This organisation's Autotask webhooks.
    pub webhooks: Option<crate::hooks::WebhookPanel>,
    /// The API budget of the organisation's database by connection, once known.
    pub api_budget: Option<crate::api_budget::BudgetPanel>,
}

fn automatic_words(automatic: bool, minutes: i64) -> String {
    if !automatic {
        return "Automatic sync: off".to_owned();
    }
    match minutes {
        1 => "Automatic sync: on, every minute".to_owned(),
        minutes => format!("Automatic sync: on, every {minutes} minutes"),
    }
}

fn failure_words(failed_runs: u32, failed_tickets: u32) -> String {
    match (failed_runs, failed_tickets) {
        (0, 0) => "No failures in the last 24 hours".to_owned(),
        (runs, 0) => format!(
            "{} in the last 24 hours",
            counted(runs, "failed run", "failed runs")
        ),
        (0, tickets) => format!(
            "{} in the last 24 hours",
            counted(tickets, "failed ticket", "failed tickets")
        ),
        (runs, tickets) => format!(
            "{}, {} in the last 24 hours",
            counted(runs, "failed run", "failed runs"),
            counted(tickets, "failed ticket", "failed tickets")
        ),
    }
}

/// The budget in the words Settings uses too: what this server sent, what it keeps to, and
/// Autotask's allowance that every integration shares.
pub(crate) fn budget_sentence(used: Option<u32>, limit: Option<u32>) -> String {
    let allowance = thousands(AUTOTASK_HOURLY_ALLOWANCE);
    match (used, limit) {
        (Some(used), Some(limit)) => format!(
            "This server sent {} to your Autotask database in the last hour. It keeps to {} of the {allowance} an hour Autotask allows, which every integration of the database shares.",
            counted(used, "request", "requests"),
            thousands(limit)
        ),
        (None, Some(limit)) => format!(
            "This server keeps to {} of the {allowance} requests an hour Autotask allows per database, which every integration of the database shares.",
            thousands(limit)
        ),
        (Some(used), None) => format!(
            "This server sent {} to your Autotask database in the last hour, of Autotask's {allowance} an hour, which every integration of the database shares.",
            counted(used, "request", "requests")
        ),
        (None, None) => format!(
            "Autotask allows {allowance} requests an hour per database, shared by every integration."
        ),
    }
}

async fn dashboard_page(
    State(state): State<AppState>,
    OrgPageCaller { caller, org }: OrgPageCaller,
) -> Response {
    let all = match overviews(&state, org.id).await {
        Ok(all) => all,
        Err(error) => return page_error(error),
    };
    let now = state.clock().now();
    let mut rows = Vec::new();
    let mut hours_together: Vec<u64> = Vec::new();
    let mut first_hour = None;
    for (index, overview) in all.iter().enumerate() {
        let relationship = &overview.connection.relationship;
        let activity = match state.sync_overviews().activity(relationship.id).await {
            Ok(activity) => activity,
            Err(error) => return page_error(error.into()),
        };
        if hours_together.len() < activity.hours.len() {
            hours_together.resize(activity.hours.len(), 0);
        }
        for (sum, calls) in hours_together.iter_mut().zip(&activity.hours) {
            *sum += calls;
        }
        first_hour.get_or_insert(activity.first_hour);
        rows.push(DashboardRow {
            contract_name: relationship.contract_name.clone(),
            partner: partner_name(overview),
            sync_url: format!("{}?relationship={}", sync_url(&org), relationship.id),
            readiness_label: relationship.readiness.label(),
            readiness_ready: relationship.readiness == SyncReadiness::ReadyForAutomaticSync,
            in_sync: format!(
                "{} in sync",
                counted(activity.linked_tickets, "ticket", "tickets")
            ),
            automatic: automatic_words(
                overview.schedule.automatic,
                overview.schedule.interval().whole_minutes(),
            ),
            last_run: overview
                .last_run
                .as_ref()
                .map(|run| run_row(&org, run, &relationship.contract_name)),
            next_run: next_run_words(overview, now),
            failures: failure_words(overview.failed_runs_24h, overview.failed_tickets_24h),
            has_failures: overview.failed_runs_24h > 0 || overview.failed_tickets_24h > 0,
            calls: format!(
                "{} in the last hour",
                counted(
                    overview.calls_last_hour,
                    "Autotask request",
                    "Autotask requests"
                )
            ),
            chart: daily_tickets(
                &format!("tickets-chart-{index}"),
                activity.first_day,
                &activity.days,
            ),
            tickets_url: crate::sync::tickets::tickets_page_url(&org, relationship.id),
            needs_attention: overview.needs_attention,
            time_carried: activity.time_carried.clone(),
        });
    }
    let limit = autotask_hourly_limit(&state, org.id).await;
    let requests_chart = first_hour.map(|first_hour| {
        hourly_requests(
            "requests-chart",
            first_hour,
            &hours_together,
            limit,
            AUTOTASK_HOURLY_ALLOWANCE,
        )
    });
    let page = DashboardPage {
        title: "Dashboard",
        active: "dashboard",
        nav: nav_for(&caller, &org),
        connections_url: connections_url(&org),
        rows,
        requests_chart,
        budget: budget_sentence(autotask_budget_used(&state, org.id).await, limit),
        webhooks: crate::hooks::webhook_panel(&state, org.id, false).await,
        api_budget: crate::api_budget::panel(&state, &org, None).await,
    };
    render(StatusCode::OK, &page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_switches_read_as_plain_words() {
        assert_eq!(automatic_words(false, 5), "Automatic sync: off");
        assert_eq!(automatic_words(true, 1), "Automatic sync: on, every minute");
        assert_eq!(
            automatic_words(true, 5),
            "Automatic sync: on, every 5 minutes"
        );
        assert_eq!(failure_words(0, 0), "No failures in the last 24 hours");
        assert_eq!(
            failure_words(1, 2),
            "1 failed run, 2 failed tickets in the last 24 hours"
        );
        assert_eq!(failure_words(0, 1), "1 failed ticket in the last 24 hours");
    }

    #[test]
    fn the_budget_names_the_servers_share_and_autotasks_allowance() {
        assert_eq!(
            budget_sentence(Some(13), Some(5_000)),
            "This server sent 13 requests to your Autotask database in the last hour. It keeps to 5,000 of the 10,000 an hour Autotask allows, which every integration of the database shares."
        );
    }
}
