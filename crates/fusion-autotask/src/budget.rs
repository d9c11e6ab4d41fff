//! The adapter's own request gate, for an `AutotaskService` given no governor (the command-line
//! connection test, the adapter's tests): our share of Autotask's hourly request threshold,
//! counted per database in one-minute buckets over a rolling hour in this process only.
//!
//! The product (`fusion serve`, `fusion demo`) hands the service the engine's
//! `fusion_engine::budget::BudgetGovernor` instead, which shares the count between processes
//! and divides it by connection and priority.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use fusion_engine::budget::{BudgetWait, RequestGate, current_purpose};
use time::OffsetDateTime;

const WINDOW: Duration = Duration::from_secs(60 * 60);
const BUCKET: Duration = Duration::from_secs(60);

/// Counts requests per database over a rolling hour.
#[derive(Debug)]
pub struct RequestBudget {
    hourly_limit: u32,
    started: Instant,
    windows: Mutex<HashMap<String, VecDeque<(u64, u32)>>>,
}

impl RequestBudget {
    pub fn new(hourly_limit: u32) -> RequestBudget {
        RequestBudget {
            hourly_limit,
            started: Instant::now(),
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Records one request for `database`, or refuses when the hourly share is spent.
    pub fn try_spend(&self, database: &str) -> Result<(), BudgetWait> {
        let now_bucket = self.current_bucket();
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let window = windows.entry(database.to_owned()).or_default();
        Self::expire(window, now_bucket);
        let used: u32 = window.iter().map(|(_, count)| count).sum();
        if used >= self.hourly_limit {
            // The oldest minute leaves the hour first.
            let oldest = window.front().map_or(now_bucket, |(bucket, _)| *bucket);
            let buckets_in_window = WINDOW.as_secs() / BUCKET.as_secs();
            let minutes_left = (oldest + buckets_in_window).saturating_sub(now_bucket);
            return Err(BudgetWait {
                database: database.to_owned(),
                used,
                allowance: self.hourly_limit,
                priority: current_purpose().priority,
                fair_share: None,
                resume_at: OffsetDateTime::now_utc()
                    + time::Duration::minutes(minutes_left.max(1) as i64),
            });
        }
        match window.back_mut() {
            Some((bucket, count)) if *bucket == now_bucket => *count += 1,
            _ => window.push_back((now_bucket, 1)),
        }
        Ok(())
    }

    /// Takes back one request counted for `database` (the most recent): Autotask refused it for
    /// bad credentials, so it is not charged to an allowance other organisations share — anyone
    /// who knows an API username could otherwise use up that database's budget with wrong
    /// secrets. The failed-authentication guard and the web layer's connection-test limits
    /// count such requests instead.
    pub fn refund(&self, database: &str) {
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(window) = windows.get_mut(database) {
            if let Some((_, count)) = window.iter_mut().rev().find(|(_, count)| *count > 0) {
                *count -= 1;
            }
            window.retain(|(_, count)| *count > 0);
        }
    }

    /// Requests counted for `database` in the last hour.
    pub fn used(&self, database: &str) -> u32 {
        let now_bucket = self.current_bucket();
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match windows.get_mut(database) {
            Some(window) => {
                Self::expire(window, now_bucket);
                window.iter().map(|(_, count)| count).sum()
            }
            None => 0,
        }
    }

    pub fn hourly_limit(&self) -> u32 {
        self.hourly_limit
    }

    fn current_bucket(&self) -> u64 {
        (self.started.elapsed().as_secs()) / BUCKET.as_secs()
    }

    fn expire(window: &mut VecDeque<(u64, u32)>, now_bucket: u64) {
        let buckets_in_window = WINDOW.as_secs() / BUCKET.as_secs();
        while let Some((bucket, _)) = window.front() {
            if bucket + buckets_in_window <= now_bucket {
                window.pop_front();
            } else {
                break;
            }
        }
    }
}

impl RequestGate for RequestBudget {
    fn try_spend(&self, database: &str) -> Result<(), BudgetWait> {
        RequestBudget::try_spend(self, database)
    }

    fn refund(&self, database: &str) {
        RequestBudget::refund(self, database);
    }

    fn used(&self, database: &str) -> u32 {
        RequestBudget::used(self, database)
    }

    fn allowance(&self, _database: &str) -> u32 {
        self.hourly_limit
    }

    fn default_allowance(&self) -> u32 {
        self.hourly_limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn requests_are_refused_once_the_hourly_share_is_spent_and_allowed_after_an_hour() {
        let budget = RequestBudget::new(3);
        for _ in 0..3 {
            budget.try_spend("db1").expect("within budget");
        }
        let refused = budget.try_spend("db1").expect_err("over the share");
        assert_eq!((refused.used, refused.allowance), (3, 3));
        assert!(
            refused.to_string().contains("Waiting for API budget"),
            "{refused}"
        );
        budget
            .try_spend("db2")
            .expect("other databases have their own budget");
        tokio::time::advance(Duration::from_secs(30 * 60)).await;
        assert!(budget.try_spend("db1").is_err());
        tokio::time::advance(Duration::from_secs(31 * 60)).await;
        assert_eq!(budget.used("db1"), 0);
        budget.try_spend("db1").expect("the window rolled over");
    }
}
