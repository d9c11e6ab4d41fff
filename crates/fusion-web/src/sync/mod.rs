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
mod error;
mod pages;
mod plan_words;

use std::sync::{Arc, Mutex};

use axum::Router;
use fusion_domain::sync::{RunStatus, SyncRecord, SyncRun, SyncRunId, SyncSchedule};
use fusion_domain::{OrgId, RelationshipId, RelationshipState, SyncReadiness};
use fusion_engine::ports::RunFilter;
use fusion_engine::{
    EngineError, RunControl, RunObserver, RunSummary, ServiceError, SetupError, SyncMode,
};
use time::{Duration, OffsetDateTime};
use tokio::sync::oneshot;

use crate::AppState;
use crate::error::ApiError;
use crate::relationships::{ConnectionSeen, connection, connections_of};
use crate::templates::Nav;

pub(crate) use error::SyncError;

/// The `/api/v1` routes (to be nested under `/api/v1`).
pub(crate) fn api_routes() -> Router<AppState> {
    api::routes()
}

/// The page routes.
pub(crate) fn page_routes() -> Router<AppState> {
    pages::routes()
}

/// How far back history looks when no period is given.
pub(crate) const DEFAULT_HISTORY_PERIOD: Duration = Duration::days(7);
/// Most runs one history request returns.
pub(crate) const MAX_HISTORY_LIMIT: u32 = 500;
/// Runs one history request returns when no limit is given.
pub(crate) const DEFAULT_HISTORY_LIMIT: u32 = 100;
/// How far back the Dashboard counts failures.
pub(crate) const FAILURE_WINDOW: Duration = Duration::hours(24);
/// How far back the Dashboard counts Autotask calls (Autotask's threshold is per rolling hour).
pub(crate) const CALLS_WINDOW: Duration = Duration::hours(1);
/// Runs read to sum a window's failures and calls; far above what 24 h of 1-minute runs makes.
const WINDOW_RUNS_READ: u32 = 2_000;

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
}

impl SyncOverview {
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
    pub fn automatic_refusal(&self) -> Option<&'static str> {
        if self.readiness() != SyncReadiness::ReadyForAutomaticSync {
            return Some(
                "Automatic sync can be switched on once the initial sync is done: run a manual sync with a start date first; it sets the baseline that automatic runs continue from.",
            );
        }
        None
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
    let store = state.store();
    let id = seen.relationship.id;
    let now = state.clock().now();
    let schedule = store.sync_schedule(id).await?;
    let recent = store
        .sync_runs(&RunFilter {
            relationship: Some(id),
            status: None,
            started_from: Some(now - FAILURE_WINDOW),
            started_before: None,
            limit: WINDOW_RUNS_READ,
        })
        .await?;
    let last_run = match recent.first() {
        Some(run) => Some(run.clone()),
        None => store
            .sync_runs(&RunFilter {
                relationship: Some(id),
                status: None,
                started_from: None,
                started_before: None,
                limit: 1,
            })
            .await?
            .into_iter()
            .next(),
    };
    let failed_runs_24h = recent
        .iter()
        .filter(|run| run.status == RunStatus::Failed)
        .count();
    let failed_tickets_24h: u32 = recent.iter().map(|run| run.counts.failed).sum();
    let calls_last_hour = recent
        .iter()
        .filter(|run| run.started_at >= now - CALLS_WINDOW)
        .map(|run| run.calls_used)
        .sum();
    let next_run_at = next_run_at(&seen, &schedule, last_run.as_ref(), now);
    Ok(SyncOverview {
        connection: seen,
        schedule,
        last_run,
        next_run_at,
        failed_runs_24h: u32::try_from(failed_runs_24h).unwrap_or(u32::MAX),
        failed_tickets_24h,
        calls_last_hour,
    })
}

/// When the scheduler will run the connection next (the one due rule,
/// `fusion_domain::sync::next_run_at`), if it runs it at all.
fn next_run_at(
    seen: &ConnectionSeen,
    schedule: &SyncSchedule,
    last_run: Option<&SyncRun>,
    now: OffsetDateTime,
) -> Option<OffsetDateTime> {
    schedule
        .is_scheduled(seen.relationship.state, seen.relationship.readiness)
        .then(|| {
            fusion_domain::sync::next_run_at(
                schedule.interval(),
                last_run.map(|run| run.started_at),
                now,
            )
        })
}

/// Switches automatic sync on or off with `interval_minutes` (the stored interval when `None`).
pub(crate) async fn set_schedule(
    state: &AppState,
    org: OrgId,
    id: RelationshipId,
    automatic: bool,
    interval_minutes: Option<i64>,
) -> Result<SyncOverview, SyncError> {
    let current = overview(state, org, id).await?;
    if automatic && let Some(reason) = current.automatic_refusal() {
        return Err(SyncError::Conflict {
            code: "initial_sync_required",
            message: reason.to_owned(),
        });
    }
    let interval = match interval_minutes {
        // Clamped first so that absurd numbers read as "too long" rather than overflow.
        Some(minutes) => Duration::minutes(minutes.clamp(-1_000_000, 1_000_000)),
        None => current.schedule.interval(),
    };
    let schedule = SyncSchedule::new(automatic, interval).map_err(|error| {
        SyncError::Api(ApiError::Invalid {
            code: "invalid_interval",
            field: Some("interval_minutes"),
            message: format!("{}.", capitalised(&error.to_string())),
            fix: Some(format!(
                "Enter a whole number of minutes from {} to {}.",
                SyncSchedule::MIN_INTERVAL.whole_minutes(),
                SyncSchedule::MAX_INTERVAL.whole_minutes()
            )),
            suggested_api_url: None,
        })
    })?;
    state
        .store()
        .set_sync_schedule(id, &schedule, state.clock().now())
        .await?;
    overview_of(state, current.connection).await
}

/// Reads a start date: `2026-11-01` (midnight UTC) or an RFC 3339 time, not in the future.
pub(crate) fn parse_since(raw: &str, now: OffsetDateTime) -> Result<OffsetDateTime, SyncError> {
    let raw = raw.trim();
    let invalid = |message: String| {
        SyncError::Api(ApiError::Invalid {
            code: "invalid_since",
            field: Some("since"),
            message,
            fix: Some(
                "Give the start date as 2026-11-01 (midnight UTC) or 2026-11-01T08:30:00Z."
                    .to_owned(),
            ),
            suggested_api_url: None,
        })
    };
    if raw.is_empty() {
        return Err(invalid(
            "A start date is required: the sync copies tickets changed since then.".to_owned(),
        ));
    }
    let since = OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
        .ok()
        .or_else(|| {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            time::Date::parse(raw, &format)
                .ok()
                .map(|date| date.midnight().assume_utc())
        })
        .ok_or_else(|| invalid(format!("{raw:?} is not a date.")))?;
    if since > now {
        return Err(invalid("The start date is in the future.".to_owned()));
    }
    Ok(since)
}

/// Hands the run record to the request that started the run, once.
struct StartedRun(Mutex<Option<oneshot::Sender<SyncRun>>>);

impl RunObserver for StartedRun {
    fn run_started(&self, run: &SyncRun) {
        let sender = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(sender) = sender {
            let _the_request_may_have_gone = sender.send(run.clone());
        }
    }
}

/// Starts a manual run since `since` and answers with its record as soon as it exists; the run
/// goes on in a task of its own. A run that cannot start (not ready, busy, …) is that error.
pub(crate) async fn start_manual_run(
    state: &AppState,
    org: OrgId,
    id: RelationshipId,
    since: OffsetDateTime,
) -> Result<SyncRun, SyncError> {
    let service = state.sync().cloned().ok_or(SyncError::NotRunning)?;
    // Scope first: another organisation's connection is 404 before anything runs.
    connection(state, org, id).await?;
    let (sender, started) = oneshot::channel();
    let control = RunControl::observed(Arc::new(StartedRun(Mutex::new(Some(sender)))));
    let run = tokio::spawn(async move {
        let result = service
            .run_with(id, SyncMode::Manual { since }, &control)
            .await;
        match &result {
            Ok(summary) => tracing::info!(
                relationship = %id,
                status = summary.status.label(),
                created = summary.counts.created,
                updated = summary.counts.updated,
                closed = summary.counts.closed,
                failed = summary.counts.failed,
                calls = summary.calls_used,
                "manual sync finished"
            ),
            Err(error) => tracing::info!(relationship = %id, %error, "manual sync did not run"),
        }
        result
    });
    match started.await {
        Ok(record) => Ok(record),
        // The run ended without a record: it never started.
        Err(_) => match run.await {
            Ok(Ok(summary)) => summary.run.ok_or_else(|| {
                SyncError::Api(ApiError::Internal(
                    "a manual run finished without a run record".to_owned(),
                ))
            }),
            Ok(Err(error)) => Err(error.into()),
            Err(join) => Err(SyncError::Api(ApiError::Internal(format!(
                "the sync task failed: {join}"
            )))),
        },
    }
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

/// A run with its connection's name.
pub(crate) struct HistoryRun {
    pub run: SyncRun,
    pub contract_name: String,
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
    let mut runs = Vec::new();
    for seen in connections {
        let found = state
            .store()
            .sync_runs(&RunFilter {
                relationship: Some(seen.relationship.id),
                status: query.status,
                started_from: query.from,
                started_before: query.to,
                limit: query.limit,
            })
            .await?;
        runs.extend(found.into_iter().map(|run| HistoryRun {
            run,
            contract_name: seen.relationship.contract_name.clone(),
        }));
    }
    runs.sort_by_key(|found| std::cmp::Reverse(found.run.started_at));
    runs.truncate(usize::try_from(query.limit).unwrap_or(usize::MAX));
    Ok(runs)
}

/// One run of a connection the organisation is part of, with its records (404 otherwise).
pub(crate) async fn run_details(
    state: &AppState,
    org: OrgId,
    run_id: SyncRunId,
) -> Result<(SyncRun, Vec<SyncRecord>, ConnectionSeen), SyncError> {
    let run = state
        .store()
        .sync_run(run_id)
        .await?
        .ok_or(SyncError::Api(ApiError::NotFound))?;
    let seen = connection(state, org, run.relationship).await?;
    let records = state.store().sync_records(run_id).await?;
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
