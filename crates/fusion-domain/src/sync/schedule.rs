//! Automatic sync of one relationship: switched on or off, how often it runs, and the one rule
//! for when it is due — used alike by the scheduler, the Dashboard and the API.

use time::{Duration, OffsetDateTime};

use crate::relationship::{RelationshipState, SyncReadiness};

/// Whether the scheduler inside `fusion serve` syncs a relationship by itself, and how often.
/// Off until a person switches it on (after the baseline is set by a manual run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncSchedule {
    pub automatic: bool,
    /// Time between the starts of two automatic runs.
    interval: Duration,
}

/// Why an interval was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error(
        "the interval must be at least {} minute(s): Autotask allows 10,000 requests an hour shared by every integration",
        SyncSchedule::MIN_INTERVAL.whole_minutes()
    )]
    TooShort,
    #[error(
        "the interval must be at most {} minutes (one day)",
        SyncSchedule::MAX_INTERVAL.whole_minutes()
    )]
    TooLong,
}

impl SyncSchedule {
    pub const DEFAULT_INTERVAL: Duration = Duration::minutes(5);
    pub const MIN_INTERVAL: Duration = Duration::minutes(1);
    pub const MAX_INTERVAL: Duration = Duration::days(1);

    /// A schedule with `interval` between runs, refused outside 1 minute – 1 day.
    pub fn new(automatic: bool, interval: Duration) -> Result<Self, ScheduleError> {
        if interval < Self::MIN_INTERVAL {
            return Err(ScheduleError::TooShort);
        }
        if interval > Self::MAX_INTERVAL {
            return Err(ScheduleError::TooLong);
        }
        Ok(Self {
            automatic,
            interval,
        })
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Whether the scheduler runs the relationship at all: automatic sync on, the relationship
    /// Active, and its baseline set by a first manual run.
    pub fn is_scheduled(&self, state: RelationshipState, readiness: SyncReadiness) -> bool {
        self.automatic
            && state == RelationshipState::Active
            && readiness == SyncReadiness::ReadyForAutomaticSync
    }
}

/// When the next automatic run is due: the last run's start plus `interval`, or `now` when that
/// has passed or nothing ran yet. Due means this is not after `now`.
pub fn next_run_at(
    interval: Duration,
    last_started: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> OffsetDateTime {
    last_started
        .map(|started| started + interval)
        .filter(|at| *at > now)
        .unwrap_or(now)
}

/// Whether a relationship whose last run started at `last_started` is due at `now`.
pub fn is_due(
    interval: Duration,
    last_started: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> bool {
    next_run_at(interval, last_started, now) <= now
}

impl Default for SyncSchedule {
    fn default() -> Self {
        Self {
            automatic: false,
            interval: Self::DEFAULT_INTERVAL,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relationship_is_due_one_interval_after_its_last_run_started_or_at_once_if_it_never_ran() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let five = Duration::minutes(5);
        assert!(is_due(five, None, now));
        assert_eq!(next_run_at(five, None, now), now);
        let started = now - Duration::minutes(3);
        assert!(!is_due(five, Some(started), now));
        assert_eq!(next_run_at(five, Some(started), now), started + five);
        assert!(is_due(five, Some(now - five), now));
    }

    #[test]
    fn only_an_active_relationship_with_its_baseline_and_automatic_sync_on_is_scheduled() {
        let on = SyncSchedule::new(true, Duration::minutes(5)).expect("valid");
        let ready = SyncReadiness::ReadyForAutomaticSync;
        assert!(on.is_scheduled(RelationshipState::Active, ready));
        assert!(!on.is_scheduled(RelationshipState::Paused, ready));
        assert!(!on.is_scheduled(
            RelationshipState::Active,
            SyncReadiness::InitialSyncRequired
        ));
        assert!(!SyncSchedule::default().is_scheduled(RelationshipState::Active, ready));
    }

    #[test]
    fn default_is_off_every_five_minutes() {
        let schedule = SyncSchedule::default();
        assert!(!schedule.automatic);
        assert_eq!(schedule.interval(), Duration::minutes(5));
    }

    #[test]
    fn intervals_outside_one_minute_to_one_day_are_refused() {
        assert_eq!(
            SyncSchedule::new(true, Duration::seconds(59)),
            Err(ScheduleError::TooShort)
        );
        assert_eq!(
            SyncSchedule::new(true, Duration::days(1) + Duration::seconds(1)),
            Err(ScheduleError::TooLong)
        );
        let ok = SyncSchedule::new(true, Duration::minutes(15)).expect("15 minutes is allowed");
        assert!(ok.automatic);
        assert_eq!(ok.interval(), Duration::minutes(15));
        assert!(
            ScheduleError::TooShort
                .to_string()
                .contains("at least 1 minute")
        );
    }
}
