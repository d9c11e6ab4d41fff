//! Automatic sync of one relationship: switched on or off, and how often it runs.

use time::Duration;

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
