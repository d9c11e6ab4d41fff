//! What people ask about a relationship's sync, answered from the store: its status (schedule,
//! last and next run, failures in the last 24 hours, calls in the last hour), switching automatic
//! sync on or off, the run history of several relationships, one run with its records, and the
//! start date a person types. The Sync page, the Dashboard and the API all use these; scoping
//! ("may this organisation see this relationship?") is the caller's, done before calling.

use std::sync::Arc;

use fusion_domain::sync::{
    RunStatus, ScheduleError, SyncRecord, SyncRun, SyncRunId, SyncSchedule, next_run_at,
};
use fusion_domain::{Clock, Relationship, RelationshipId, Role, SyncReadiness};
use time::{Duration, OffsetDateTime};

use crate::budget::{BudgetGovernor, BudgetWait, Priority, Purpose};
use crate::ports::{DeferredRun, RunFilter, StoreError, StoreResult, SyncStore};

/// How far back the status counts failures.
pub const FAILURE_WINDOW: Duration = Duration::hours(24);
/// How far back the status counts platform calls (Autotask's threshold is per rolling hour).
pub const CALLS_WINDOW: Duration = Duration::hours(1);
/// Runs read to sum a window's failures and calls; far above what 24 h of 1-minute runs makes.
const WINDOW_RUNS_READ: u32 = 2_000;

/// One relationship's sync state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncStatus {
    pub schedule: SyncSchedule,
    pub last_run: Option<SyncRun>,
    /// When the scheduler will start the next automatic run (`None`: it will not).
    pub next_run_at: Option<OffsetDateTime>,
    pub failed_runs_24h: u32,
    pub failed_tickets_24h: u32,
    pub calls_last_hour: u64,
    /// Tickets that need a person's attention now (see the Tickets page).
    pub needs_attention: u32,
    /// Automatic sync is on and the API budget holds its sweeps back until then.
    pub waiting_for_budget: Option<BudgetWait>,
    /// A person's manual run that waits for the API budget; the scheduler carries it on.
    pub deferred_run: Option<DeferredRun>,
}

/// Why automatic sync could not be switched as asked.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleChangeError {
    /// Switching on before a first manual run set the baseline.
    #[error(
        "Automatic sync can be switched on once the initial sync is done: run a manual sync with a start date first; it sets the baseline that automatic runs continue from."
    )]
    InitialSyncRequired,
    #[error("{0}")]
    Interval(#[from] ScheduleError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Which runs a history shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryQuery {
    pub status: Option<RunStatus>,
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    pub limit: u32,
}

/// A run with its relationship's contract name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRun {
    pub run: SyncRun,
    pub contract_name: String,
}

/// How far back the Dashboard's pictures look.
pub const ACTIVITY_WINDOW: Duration = Duration::days(7);
/// Runs read for the activity window: a week of 1-minute runs is 10,080.
const ACTIVITY_RUNS_READ: u32 = 12_000;

/// One relationship's recent activity, for the Dashboard's charts: per UTC day of the window
/// (oldest first) the tickets its runs synced and the tickets that failed, and per hour the
/// platform calls its runs made (both sides together), plus how many tickets it has linked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncActivity {
    /// The first day of the window; `days[i]` is `first_day + i` days.
    pub first_day: time::Date,
    /// (synced: created + updated + closed, failed) per day.
    pub days: Vec<(u64, u64)>,
    /// The first hour of the window (whole hour, UTC); `hours[i]` is `first_hour + i` hours.
    pub first_hour: OffsetDateTime,
    /// Platform calls per hour.
    pub hours: Vec<u64>,
    pub linked_tickets: u64,
    /// Time entries carried each way and still standing, as "Target → Source: 3 time entries,
    /// 4.50 h" (one line per direction that carried any).
    pub time_carried: Vec<String>,
}

/// Why a typed start date was refused (the message says what to do).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StartDateError(pub String);

/// The sync-status use cases over the store's [`SyncStore`] port and a clock.
#[derive(Clone)]
pub struct SyncOverviews {
    store: Arc<dyn SyncStore>,
    clock: Arc<dyn Clock>,
    budget: std::sync::OnceLock<Arc<BudgetGovernor>>,
}

impl std::fmt::Debug for SyncOverviews {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncOverviews").finish_non_exhaustive()
    }
}

impl SyncOverviews {
    pub fn new(store: Arc<dyn SyncStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            budget: std::sync::OnceLock::new(),
        }
    }

    /// From now on statuses say when the API budget holds a connection's work back. The first
    /// governor given wins.
    pub fn set_budget(&self, governor: Arc<BudgetGovernor>) {
        let _first_wins = self.budget.set(governor);
    }

    /// What the API budget holds back of `relationship`: its sweeps (when `scheduled`) and a
    /// person's manual run waiting to be carried on.
    async fn budget_waits(
        &self,
        relationship: RelationshipId,
        scheduled: bool,
    ) -> StoreResult<(Option<BudgetWait>, Option<DeferredRun>)> {
        let Some(governor) = self.budget.get() else {
            return Ok((None, None));
        };
        let deferred = governor
            .deferred_runs()
            .await?
            .into_iter()
            .find(|run| run.relationship == relationship);
        let sweeps = scheduled
            .then(|| {
                governor
                    .admit(
                        &governor.databases_of(relationship),
                        Purpose::of(relationship, Priority::Sweep),
                    )
                    .err()
            })
            .flatten();
        Ok((sweeps, deferred))
    }

    /// The status of `relationship`.
    pub async fn status(&self, relationship: &Relationship) -> StoreResult<SyncStatus> {
        let id = relationship.id;
        let now = self.clock.now();
        let schedule = self.store.sync_schedule(id).await?;
        let recent = self
            .store
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
            None => self.last_run(id).await?,
        };
        let failed_runs_24h = recent
            .iter()
            .filter(|run| run.status == RunStatus::Failed)
            .count();
        let failed_tickets_24h = recent.iter().map(|run| run.counts.failed).sum();
        let calls_last_hour = recent
            .iter()
            .filter(|run| run.started_at >= now - CALLS_WINDOW)
            .map(|run| run.calls_used)
            .sum();
        let next_run_at = schedule
            .is_scheduled(relationship.state, relationship.readiness)
            .then(|| {
                next_run_at(
                    schedule.interval(),
                    last_run.as_ref().map(|run| run.started_at),
                    now,
                )
            });
        let (waiting_for_budget, deferred_run) =
            self.budget_waits(id, next_run_at.is_some()).await?;
        Ok(SyncStatus {
            waiting_for_budget,
            deferred_run,
            schedule,
            last_run,
            next_run_at,
            failed_runs_24h: u32::try_from(failed_runs_24h).unwrap_or(u32::MAX),
            failed_tickets_24h,
            calls_last_hour,
            needs_attention: crate::tickets::attention_count(self.store.as_ref(), id).await?,
        })
    }

    async fn last_run(&self, id: RelationshipId) -> StoreResult<Option<SyncRun>> {
        Ok(self
            .store
            .sync_runs(&RunFilter {
                relationship: Some(id),
                status: None,
                started_from: None,
                started_before: None,
                limit: 1,
            })
            .await?
            .into_iter()
            .next())
    }

    /// Switches automatic sync on or off, with `interval` (the stored one when `None`). On only
    /// once the baseline is set; off always.
    pub async fn set_schedule(
        &self,
        relationship: &Relationship,
        automatic: bool,
        interval: Option<Duration>,
    ) -> Result<SyncStatus, ScheduleChangeError> {
        if automatic && relationship.readiness != SyncReadiness::ReadyForAutomaticSync {
            return Err(ScheduleChangeError::InitialSyncRequired);
        }
        let interval = match interval {
            Some(interval) => interval,
            None => self.store.sync_schedule(relationship.id).await?.interval(),
        };
        let schedule = SyncSchedule::new(automatic, interval)?;
        self.store
            .set_sync_schedule(relationship.id, &schedule, self.clock.now())
            .await?;
        Ok(self.status(relationship).await?)
    }

    /// The last 7 days of `relationship`'s runs, summed per day and per hour (see
    /// [`SyncActivity`]), and its linked tickets.
    pub async fn activity(&self, relationship: RelationshipId) -> StoreResult<SyncActivity> {
        let now = self.clock.now().to_offset(time::UtcOffset::UTC);
        let today = now.date();
        let first_day = today - Duration::days(ACTIVITY_WINDOW.whole_days() - 1);
        let this_hour = now
            .replace_minute(0)
            .and_then(|at| at.replace_second(0))
            .and_then(|at| at.replace_nanosecond(0))
            .unwrap_or(now);
        let hour_count = ACTIVITY_WINDOW.whole_hours();
        let first_hour = this_hour - Duration::hours(hour_count - 1);
        let runs = self
            .store
            .sync_runs(&RunFilter {
                relationship: Some(relationship),
                status: None,
                started_from: Some(first_day.midnight().assume_utc()),
                started_before: None,
                limit: ACTIVITY_RUNS_READ,
            })
            .await?;
        let day_count = usize::try_from(ACTIVITY_WINDOW.whole_days()).unwrap_or(7);
        let mut days = vec![(0_u64, 0_u64); day_count];
        let mut hours = vec![0_u64; usize::try_from(hour_count).unwrap_or(168)];
        for run in &runs {
            let started = run.started_at.to_offset(time::UtcOffset::UTC);
            let day = (started.date() - first_day).whole_days();
            if let Some(slot) = usize::try_from(day).ok().and_then(|day| days.get_mut(day)) {
                let counts = &run.counts;
                slot.0 += u64::from(counts.created + counts.updated + counts.closed);
                slot.1 += u64::from(counts.failed);
            }
            let hour = (started - first_hour).whole_hours();
            if started >= first_hour
                && let Some(slot) = usize::try_from(hour)
                    .ok()
                    .and_then(|hour| hours.get_mut(hour))
            {
                *slot += run.calls_used;
            }
        }
        Ok(SyncActivity {
            first_day,
            days,
            first_hour,
            hours,
            linked_tickets: self.store.linked_ticket_count(relationship).await?,
            time_carried: time_carried(
                &self
                    .store
                    .links(
                        relationship,
                        &crate::ports::LinkQuery {
                            search: None,
                            limit: u32::MAX,
                        },
                    )
                    .await?,
            ),
        })
    }

    /// The runs of `relationships` (id and contract name) matching `query`, newest first.
    pub async fn history(
        &self,
        relationships: &[(RelationshipId, String)],
        query: &HistoryQuery,
    ) -> StoreResult<Vec<HistoryRun>> {
        let mut runs = Vec::new();
        for (id, contract_name) in relationships {
            let found = self
                .store
                .sync_runs(&RunFilter {
                    relationship: Some(*id),
                    status: query.status,
                    started_from: query.from,
                    started_before: query.to,
                    limit: query.limit,
                })
                .await?;
            runs.extend(found.into_iter().map(|run| HistoryRun {
                run,
                contract_name: contract_name.clone(),
            }));
        }
        runs.sort_by_key(|found| std::cmp::Reverse(found.run.started_at));
        runs.truncate(usize::try_from(query.limit).unwrap_or(usize::MAX));
        Ok(runs)
    }

    /// One run and its per-ticket records (the caller checks the run's relationship is visible).
    pub async fn run(&self, run: SyncRunId) -> StoreResult<Option<(SyncRun, Vec<SyncRecord>)>> {
        let Some(found) = self.store.sync_run(run).await? else {
            return Ok(None);
        };
        let records = self.store.sync_records(run).await?;
        Ok(Some((found, records)))
    }
}

/// Reads a start date: `2026-11-01` (midnight UTC) or an RFC 3339 time, not in the future.
pub fn parse_start_date(raw: &str, now: OffsetDateTime) -> Result<OffsetDateTime, StartDateError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(StartDateError(
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
        .ok_or_else(|| StartDateError(format!("{raw:?} is not a date.")))?;
    if since > now {
        return Err(StartDateError(
            "The start date is in the future.".to_owned(),
        ));
    }
    Ok(since)
}

/// The time entries the links carried each way (and not deleted since), in the Tickets view's
/// words, one line per direction that carried any.
fn time_carried(links: &[fusion_domain::sync::TicketLink]) -> Vec<String> {
    [Role::Source, Role::Target]
        .into_iter()
        .filter_map(|from| {
            let (count, hundredths) = links
                .iter()
                .filter_map(|link| link.time_carried(from))
                .fold((0usize, 0u32), |(count, hundredths), (n, hours)| {
                    (count + n, hundredths + hours.hundredths())
                });
            (count > 0).then(|| {
                crate::tickets::time_carried_words(
                    from,
                    count,
                    fusion_domain::sync::Hours::from_hundredths(hundredths),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_date_is_midnight_utc_a_time_is_taken_as_given_and_the_future_is_refused() {
        let now = time::macros::datetime!(2026-11-27 10:00 UTC);
        assert_eq!(
            parse_start_date("2026-11-20", now).ok(),
            Some(time::macros::datetime!(2026-11-20 0:00 UTC))
        );
        assert_eq!(
            parse_start_date(" 2026-11-20T08:30:00Z ", now).ok(),
            Some(time::macros::datetime!(2026-11-20 8:30 UTC))
        );
        for bad in ["", "yesterday", "2026-13-01", "2026-11-28"] {
            assert!(parse_start_date(bad, now).is_err(), "{bad}");
        }
    }
}
