//! Connection-test rate limits, in memory: a few tests a minute per organisation and per person.
//!
//! Why: a connection test sends the entered API username to Autotask. Without a limit, one
//! organisation could test another's username thousands of times a minute (issue 16: ~4,400 in
//! 14 s), hammering Autotask in its name. The adapter separately caps refused authentications per
//! API username; this limit keeps any one organisation or person from sending many tests at all.
//! Kept per process on purpose, like sign-in throttling: no database write per attempt.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use fusion_domain::{OrgId, PersonId};
use tokio::time::Instant;

const WINDOW: Duration = Duration::from_secs(60);
/// Keys kept before idle ones are dropped, so memory stays bounded.
const PRUNE_THRESHOLD: usize = 10_000;

/// Sliding one-minute windows of connection tests per organisation and per person.
#[derive(Debug)]
pub(crate) struct ConnectionTestLimiter {
    per_organisation: usize,
    per_person: usize,
    recent: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl ConnectionTestLimiter {
    pub fn new(per_organisation: u32, per_person: u32) -> Self {
        Self {
            per_organisation: per_organisation.max(1) as usize,
            per_person: per_person.max(1) as usize,
            recent: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a test by `person` of `org`, or says how long to wait (nothing is counted then).
    pub fn try_start(&self, org: OrgId, person: PersonId) -> Result<(), Duration> {
        let now = Instant::now();
        let mut recent = self
            .recent
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if recent.len() >= PRUNE_THRESHOLD {
            recent.retain(|_, times| {
                Self::expire(times, now);
                !times.is_empty()
            });
        }
        let keys = [
            (format!("org:{org}"), self.per_organisation),
            (format!("person:{person}"), self.per_person),
        ];
        let mut wait = Duration::ZERO;
        for (key, limit) in &keys {
            let times = recent.entry(key.clone()).or_default();
            Self::expire(times, now);
            if times.len() >= *limit
                && let Some(oldest) = times.front()
            {
                wait = wait.max((*oldest + WINDOW).saturating_duration_since(now));
            }
        }
        if wait > Duration::ZERO {
            return Err(wait.max(Duration::from_secs(1)));
        }
        for (key, _) in keys {
            recent.entry(key).or_default().push_back(now);
        }
        Ok(())
    }

    fn expire(times: &mut VecDeque<Instant>, now: Instant) {
        while times
            .front()
            .is_some_and(|oldest| now.saturating_duration_since(*oldest) >= WINDOW)
        {
            times.pop_front();
        }
    }
}

/// "Too many connection tests: try again in 42 s." — the words the API and the pages use.
pub(crate) fn connection_tests_limited_message(wait: Duration) -> String {
    format!(
        "Too many connection tests in the last minute; try again in {} s.",
        wait.as_secs().max(1)
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_person_gets_a_few_tests_a_minute_and_is_told_when_to_try_again() {
        let limiter = ConnectionTestLimiter::new(4, 2);
        let org = OrgId::new();
        let alice = PersonId::new();
        let bob = PersonId::new();
        assert!(limiter.try_start(org, alice).is_ok());
        tokio::time::advance(Duration::from_secs(10)).await;
        assert!(limiter.try_start(org, alice).is_ok());
        assert_eq!(limiter.try_start(org, alice), Err(Duration::from_secs(50)));
        // Bob of the same organisation may still test, until the organisation's limit.
        assert!(limiter.try_start(org, bob).is_ok());
        assert!(limiter.try_start(org, bob).is_ok());
        assert!(limiter.try_start(org, PersonId::new()).is_err());
        tokio::time::advance(Duration::from_secs(50)).await;
        assert!(limiter.try_start(org, alice).is_ok());
    }
}
