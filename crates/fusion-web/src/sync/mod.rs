//! Sync: the Sync page, run details and the Dashboard, and their `/api/v1` routes.
//!
//! | route | what |
//! | --- | --- |
//! | `GET /api/v1/orgs/{org_id}/relationships/{id}/sync` | readiness, automatic sync, last and next run |
//! | `PUT /api/v1/orgs/{org_id}/relationships/{id}/sync` | switch automatic sync on/off, interval (`{automatic, interval_minutes}`) |
//! | `POST /api/v1/orgs/{org_id}/relationships/{id}/sync/runs` | manual run (`{since}`): 202 with the run, which goes on in the background |
//! | `POST /api/v1/orgs/{org_id}/relationships/{id}/sync/dry-run` | what a run would do (`{since?}`), writing nothing |
//! | `GET /api/v1/orgs/{org_id}/sync/runs?relationship=&status=&from=&to=&limit=` | history (last 7 days by default) |
//! | `GET /api/v1/orgs/{org_id}/sync/runs/{run_id}` | one run with its per-ticket records |
//! | `GET /api/v1/orgs/{org_id}/dashboard` | per connection: last run, status, next run, failures (24 h), Autotask calls |
//! | `GET /orgs/{org_id}/sync` (`?relationship=&status=&period=`) | the Sync page: controls of one connection and the history |
//! | `POST /orgs/{org_id}/sync/{id}/{run,dry-run,schedule}` | its forms |
//! | `GET /orgs/{org_id}/sync/runs/{run_id}` | run details (refreshes itself while the run is Running) |
//! | `GET /orgs/{org_id}/dashboard` | the Dashboard |
//!
//! Invariants:
//! - Both organisations of a connection see its history and may run it; any other organisation
//!   gets 404, exactly like an unknown connection or run.
//! - Runs go through the process's `SyncService` (the scheduler's), so the run leases keep a
//!   manual run and an automatic one from overlapping; without a service (`AppState::with_sync`
//!   not called) runs and dry runs answer 503 and everything else still works.
//! - Automatic sync can be switched on only once the connection is "Ready for automatic sync"
//!   (a manual run set the baseline); switching it off is always allowed.
//! - Nothing here decides what a sync does: the engine plans and applies, the store keeps the
//!   history; this module starts runs, reads history and words it for people.

mod api;
mod dashboard;
pub(crate) use api::autotask_hourly_limit;
pub(crate) use dashboard::budget_sentence;
mod error;
mod pages;
mod plan_words;
pub(crate) mod tickets;
mod tickets_page;

use axum::Router;
use fusion_domain::sync::{RunStatus, SyncRecord, SyncRun, SyncRunId, SyncSchedule};
use fusion_domain::{OrgId, RelationshipId, RelationshipState, SyncReadiness};
use fusion_engine::budget::BudgetWait;
use fusion_engine::ports::DeferredRun;
use fusion_engine::{
    EngineError, HistoryRun, RepairError, RunControl, RunSummary, ScheduleChangeError,
    ServiceError, SetupError, SyncMode, SyncStatus, parse_start_date, upper_first,
};
use time::{Duration, OffsetDateTime};

use crate::AppState;
use crate::error::ApiError;
use crate::relationships::{ConnectionSeen, connection, connections_of};
use crate::templates::Nav;

pub(crate) use error::SyncError;

/// The `/api/v1` routes (to be nested under `/api/v1`).
pub(crate) fn api_routes() -> Router<AppState> {
    api::routes().merge(tickets::api_routes())
}

/// The page routes.
pub(crate) fn page_routes() -> Router<AppState> {
    pages::routes().merge(tickets_page::routes())
}

/// How far back history looks when no period is given.
pub(crate) const DEFAULT_HISTORY_PERIOD: Duration = Duration::days(7);
/// Most runs one history request returns.
pub(crate) const MAX_HISTORY_LIMIT: u32 = 500;
/// Runs one history request returns when no limit is given.
pub(crate) const DEFAULT_HISTORY_LIMIT: u32 = 100;

impl Nav {
    /// `/orgs/{org_id}/sync`, next to the connections page.
    pub(crate) fn sync_url(&self) -> String {
        format!("{}/sync", self.org_base())
    }

    /// `/orgs/{org_id}/dashboard`.
    pub(crate) fn dashboard_url(&self) -> String {
        format!("{}/dashboard", self.org_base())
    }

    /// `/orgs/{org_id}`: the connections URL without its last segment.
    fn org_base(&self) -> &str {
        self.connections_url
            .strip_suffix("/connections")
            .unwrap_or(&self.connections_url)
    }
}

/// A connection whose runs this module can start or show: it has (or had) a partner.
pub(crate) fn can_sync(state: RelationshipState) -> bool {
    matches!(
        state,
        RelationshipState::Active | RelationshipState::Paused | RelationshipState::Ended
    )
}

/// One connection's sync state, as the Sync page, the Dashboard and the API show it.
pub(crate) struct SyncOverview {
    pub connection: ConnectionSeen,
    pub schedule: SyncSchedule,
    pub last_run: Option<SyncRun>,
    /// When the scheduler will start the next automatic run (`None`: it will not).
    pub next_run_at: Option<OffsetDateTime>,
    pub failed_runs_24h: u32,
    pub failed_tickets_24h: u32,
    pub calls_last_hour: u64,
    /// Tickets that need a person's attention now.
    pub needs_attention: u32,
    /// Automatic sync waits for the API budget until then.
    pub waiting_for_budget: Option<BudgetWait>,
    /// A person's manual run waiting for the API budget.
    pub deferred_run: Option<DeferredRun>,
}

impl SyncOverview {
    fn new(connection: ConnectionSeen, status: SyncStatus) -> Self {
        let SyncStatus {
            schedule,
            last_run,
            next_run_at,
            failed_runs_24h,
            failed_tickets_24h,
            calls_last_hour,
            needs_attention,
            waiting_for_budget,
            deferred_run,
        } = status;
        Self {
            connection,
            schedule,
            last_run,
            next_run_at,
            failed_runs_24h,
            failed_tickets_24h,
            calls_last_hour,
            needs_attention,
            waiting_for_budget,
            deferred_run,
        }
    }

    /// "Waiting for API budget…" when the budget holds this connection's work back: a person's
    /// manual run first, then the sweeps.
    pub fn budget_note(&self) -> Option<String> {
        if let Some(run) = &self.deferred_run {
            let by = run
                .started_by
                .as_deref()
                .map(|by| format!(" started by {by}"))
                .unwrap_or_default();
            return Some(format!(
                "Waiting for API budget: the sync{by} carries on by itself at about {:02}:{:02} UTC.",
                run.resume_at.hour(),
                run.resume_at.minute()
            ));
        }
        self.waiting_for_budget
            .as_ref()
            .map(|wait| format!("{wait}."))
    }

    pub fn relationship_id(&self) -> RelationshipId {
        self.connection.relationship.id
    }

    pub fn readiness(&self) -> SyncReadiness {
        self.connection.relationship.readiness
    }

    pub fn is_running(&self) -> bool {
        self.last_run
            .as_ref()
            .is_some_and(|run| run.status == RunStatus::Running)
    }

    /// Whether automatic sync may be switched on now, and if not, why.
    pub fn automatic_refusal(&self) -> Option<String> {
        (self.readiness() != SyncReadiness::ReadyForAutomaticSync)
            .then(|| ScheduleChangeError::InitialSyncRequired.to_string())
    }
}

/// The overview of one connection the organisation is part of (404 otherwise).
pub(crate) async fn overview(
    state: &AppState,
    org: OrgId,
    id: RelationshipId,
) -> Result<SyncOverview, SyncError> {
    let seen = connection(state, org, id).await?;
    overview_of(state, seen).await
}

/// The overviews of every connection of the organisation that can sync, newest connection first.
pub(crate) async fn overviews(
    state: &AppState,
    org: OrgId,
) -> Result<Vec<SyncOverview>, SyncError> {
    let mut overviews = Vec::new();
    for seen in connections_of(state, org).await? {
        if can_sync(seen.relationship.state) {
            overviews.push(overview_of(state, seen).await?);
        }
    }
    Ok(overviews)
}

async fn overview_of(state: &AppState, seen: ConnectionSeen) -> Result<SyncOverview, SyncError> {
    let status = state.sync_overviews().status(&seen.relationship).await?;
    Ok(SyncOverview::new(seen, status))
}

/// Switches automatic sync on or off with `interval_minutes` (the stored interval when `None`).
pub(crate) async fn set_schedule(
    state: &AppState,
    org: OrgId,
    id: RelationshipId,
    automatic: bool,
    interval_minutes: Option<i64>,
) -> Result<SyncOverview, SyncError> {
    let seen = connection(state, org, id).await?;
    // Clamped first so that absurd numbers read as "too long" rather than overflow.
    let interval =
        interval_minutes.map(|minutes| Duration::minutes(minutes.clamp(-1_000_000, 1_000_000)));
    match state
        .sync_overviews()
        .set_schedule(&seen.relationship, automatic, interval)
        .await
    {
        Ok(status) => Ok(SyncOverview::new(seen, status)),
        Err(error @ ScheduleChangeError::InitialSyncRequired) => Err(SyncError::Conflict {
            code: "initial_sync_required",
            message: error.to_string(),
        }),
        Err(ScheduleChangeError::Interval(error)) => Err(SyncError::Api(ApiError::Invalid {
            code: "invalid_interval",
            field: Some("interval_minutes"),
            message: format!("{}.", capitalised(&error.to_string())),
            fix: Some(format!(
                "Enter a whole number of minutes from {} to {}.",
                SyncSchedule::MIN_INTERVAL.whole_minutes(),
                SyncSchedule::MAX_INTERVAL.whole_minutes()
            )),
            suggested_api_url: None,
        })),
        Err(ScheduleChangeError::Store(error)) => Err(error.into()),
    }
}

/// Reads a start date: `2026-11-01` (midnight UTC) or an RFC 3339 time, not in the future.
pub(crate) fn parse_since(raw: &str, now: OffsetDateTime) -> Result<OffsetDateTime, SyncError> {
    parse_start_date(raw, now).map_err(|error| {
        SyncError::Api(ApiError::Invalid {
            code: "invalid_since",
            field: Some("since"),
            message: error.to_string(),
            fix: Some(
                "Give the start date as 2026-11-01 (midnight UTC) or 2026-11-01T08:30:00Z."
                    .to_owned(),
            ),
            suggested_api_url: None,
        })
    })
}

/// Starts a manual run since `since` and answers with its record as soon as it exists; the run
/// goes on in a task of its own. A run that cannot start (not ready, busy, …) is that error.
pub(crate) async fn start_manual_run(
    state: &AppState,
    org: OrgId,
    id: RelationshipId,
    since: OffsetDateTime,
    started_by: &str,
) -> Result<SyncRun, SyncError> {
    let service = state.sync().cloned().ok_or(SyncError::NotRunning)?;
    // Scope first: another organisation's connection is 404 before anything runs.
    connection(state, org, id).await?;
    Ok(service
        .start_manual_run(id, since, Some(started_by))
        .await?)
}

/// What a run since `since` (or since the cursors) would do, writing nothing.
pub(crate) async fn dry_run(
    state: &AppState,
    org: OrgId,
    id: RelationshipId,
    since: Option<OffsetDateTime>,
) -> Result<RunSummary, SyncError> {
    let service = state.sync().cloned().ok_or(SyncError::NotRunning)?;
    connection(state, org, id).await?;
    Ok(service
        .run_with(id, SyncMode::DryRun { since }, &RunControl::default())
        .await?)
}

impl From<ServiceError> for SyncError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Setup(SetupError::NotFound) => SyncError::Api(ApiError::NotFound),
            ServiceError::Setup(SetupError::NotReady(message)) => SyncError::NotReady { message },
            ServiceError::Setup(SetupError::Unavailable(message)) => {
                SyncError::Unavailable { message }
            }
            ServiceError::Engine(EngineError::Busy(_)) => SyncError::Conflict {
                code: "sync_busy",
                message: "A sync of this connection is running already; wait for it to finish, then try again.".to_owned(),
            },
            ServiceError::Engine(EngineError::InitialSyncRequired) => SyncError::Conflict {
                code: "initial_sync_required",
                message: "Initial sync required: run a manual sync with a start date first."
                    .to_owned(),
            },
            ServiceError::Engine(EngineError::Stopped) => SyncError::Unavailable {
                message: "The server is shutting down; run the sync again once it is back."
                    .to_owned(),
            },
            ServiceError::Engine(EngineError::Store(error)) => SyncError::Api(error.into()),
            ServiceError::Engine(EngineError::Repair(RepairError::NotFound(message))) => {
                SyncError::Conflict {
                    code: "repair_not_found",
                    message: upper_first(&message),
                }
            }
            ServiceError::Engine(EngineError::Repair(RepairError::Refused(message))) => {
                SyncError::Conflict {
                    code: "repair_refused",
                    message: upper_first(&message),
                }
            }
            ServiceError::Engine(EngineError::WaitingForBudget(wait)) => {
                SyncError::Api(ApiError::RateLimited {
                    code: "waiting_for_budget",
                    message: format!("{wait}."),
                    retry_after_secs: wait.retry_after_secs(OffsetDateTime::now_utc()),
                })
            }
            ServiceError::Internal(message) => SyncError::Api(ApiError::Internal(message)),
        }
    }
}

/// History: which runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HistoryQuery {
    /// `None`: every connection of the organisation.
    pub relationship: Option<RelationshipId>,
    pub status: Option<RunStatus>,
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    pub limit: u32,
}

/// The organisation's runs matching `query`, newest first (404 for a connection it is not part
/// of).
pub(crate) async fn history(
    state: &AppState,
    org: OrgId,
    query: &HistoryQuery,
) -> Result<Vec<HistoryRun>, SyncError> {
    let connections = match query.relationship {
        Some(id) => vec![connection(state, org, id).await?],
        None => connections_of(state, org).await?,
    };
    let relationships: Vec<(RelationshipId, String)> = connections
        .into_iter()
        .map(|seen| (seen.relationship.id, seen.relationship.contract_name))
        .collect();
    Ok(state
        .sync_overviews()
        .history(
            &relationships,
            &fusion_engine::HistoryQuery {
                status: query.status,
                from: query.from,
                to: query.to,
                limit: query.limit,
            },
        )
        .await?)
}

/// One run of a connection the organisation is part of, with its records (404 otherwise).
pub(crate) async fn run_details(
    state: &AppState,
    org: OrgId,
    run_id: SyncRunId,
) -> Result<(SyncRun, Vec<SyncRecord>, ConnectionSeen), SyncError> {
    let (run, records) = state
        .sync_overviews()
        .run(run_id)
        .await?
        .ok_or(SyncError::Api(ApiError::NotFound))?;
    let seen = connection(state, org, run.relationship).await?;
    Ok((run, records, seen))
}

/// "12 s", "3 min 4 s", "1 h 2 min".
pub(crate) fn duration_words(duration: Duration) -> String {
    let seconds = duration.whole_seconds().max(0);
    if seconds < 60 {
        if seconds == 0 {
            return format!("{} ms", duration.whole_milliseconds().max(0));
        }
        return format!("{seconds} s");
    }
    let minutes = seconds / 60;
    if minutes < 60 {
        return format!("{minutes} min {} s", seconds % 60);
    }
    format!("{} h {} min", minutes / 60, minutes % 60)
}

/// "the interval must be …" → "The interval must be …".
fn capitalised(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_date_is_midnight_utc_a_time_is_taken_as_given_and_the_future_is_refused() {
        let now = time::macros::datetime!(2026-11-27 10:00 UTC);
        assert_eq!(
            parse_since("2026-11-20", now).ok(),
            Some(time::macros::datetime!(2026-11-20 0:00 UTC))
        );
        assert_eq!(
            parse_since(" 2026-11-20T08:30:00Z ", now).ok(),
            Some(time::macros::datetime!(2026-11-20 8:30 UTC))
        );
        for bad in ["", "yesterday", "2026-13-01", "2026-11-28"] {
            let error = parse_since(bad, now).expect_err(bad);
            assert_eq!(error.code(), "invalid_since", "{bad}");
        }
    }

    #[test]
    fn durations_read_in_the_largest_useful_units() {
        assert_eq!(duration_words(Duration::milliseconds(250)), "250 ms");
        assert_eq!(duration_words(Duration::seconds(12)), "12 s");
        assert_eq!(duration_words(Duration::seconds(184)), "3 min 4 s");
        assert_eq!(duration_words(Duration::minutes(62)), "1 h 2 min");
    }
}
