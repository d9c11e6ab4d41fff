//! Sign-in throttling, in memory: after too many failed sign-ins for one email address from one
//! client address, sign-in for that pair is locked for a short while. Kept per process on
//! purpose: it slows guessing without a database write per attempt, and a restart only resets it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Entries kept before stale ones are dropped, so a flood of made-up emails cannot grow memory
/// without bound.
const PRUNE_THRESHOLD: usize = 10_000;

#[derive(Debug)]
pub(crate) struct LoginThrottle {
    max_failures: u32,
    lock_for: Duration,
    attempts: Mutex<HashMap<(String, Option<IpAddr>), FailedAttempts>>,
}

#[derive(Debug, Clone, Copy)]
struct FailedAttempts {
    failures: u32,
    last_failure: Instant,
    locked_until: Option<Instant>,
}

/// Whether a sign-in attempt may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ThrottleDecision {
    Allowed,
    Locked { retry_after: Duration },
}

impl LoginThrottle {
    pub fn new(max_failures: u32, lock_for: Duration) -> Self {
        Self {
            max_failures: max_failures.max(1),
            lock_for,
            attempts: Mutex::new(HashMap::new()),
        }
    }

    fn key(email: &str, address: Option<IpAddr>) -> (String, Option<IpAddr>) {
        (email.trim().to_lowercase(), address)
    }

    pub fn check(&self, email: &str, address: Option<IpAddr>) -> ThrottleDecision {
        let now = Instant::now();
        let mut attempts = self
            .attempts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let key = Self::key(email, address);
        match attempts.get(&key).and_then(|entry| entry.locked_until) {
            Some(until) if until > now => ThrottleDecision::Locked {
                retry_after: until - now,
            },
            Some(_) => {
                // The lock has run out: start counting afresh.
                attempts.remove(&key);
                ThrottleDecision::Allowed
            }
            None => ThrottleDecision::Allowed,
        }
    }

    /// Records a failure; returns the decision for the next attempt.
    pub fn record_failure(&self, email: &str, address: Option<IpAddr>) -> ThrottleDecision {
        let now = Instant::now();
        let mut attempts = self
            .attempts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if attempts.len() >= PRUNE_THRESHOLD {
            let lock_for = self.lock_for;
            attempts.retain(|_, entry| {
                entry.locked_until.is_some_and(|until| until > now)
                    || now.duration_since(entry.last_failure) < lock_for
            });
        }
        let entry = attempts
            .entry(Self::key(email, address))
            .or_insert(FailedAttempts {
                failures: 0,
                last_failure: now,
                locked_until: None,
            });
        // Failures spread over a long time do not add up to a lock.
        if now.duration_since(entry.last_failure) > self.lock_for {
            entry.failures = 0;
        }
        entry.failures += 1;
        entry.last_failure = now;
        if entry.failures >= self.max_failures {
            let until = now + self.lock_for;
            entry.locked_until = Some(until);
            ThrottleDecision::Locked {
                retry_after: self.lock_for,
            }
        } else {
            ThrottleDecision::Allowed
        }
    }

    pub fn record_success(&self, email: &str, address: Option<IpAddr>) {
        let mut attempts = self
            .attempts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        attempts.remove(&Self::key(email, address));
    }
}

/// "5 minutes", "1 minute", "30 seconds" — for the locked-out message.
pub(crate) fn describe_wait(wait: Duration) -> String {
    let seconds = wait.as_secs().max(1);
    if seconds >= 60 {
        let minutes = seconds.div_ceil(60);
        if minutes == 1 {
            "1 minute".to_owned()
        } else {
            format!("{minutes} minutes")
        }
    } else if seconds == 1 {
        "1 second".to_owned()
    } else {
        format!("{seconds} seconds")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn sign_in_is_locked_after_the_allowed_failures_and_unlocks_after_the_wait() {
        let throttle = LoginThrottle::new(3, Duration::from_secs(60));
        let address = Some(IpAddr::from([127, 0, 0, 1]));
        assert_eq!(
            throttle.record_failure("A@x.example", address),
            ThrottleDecision::Allowed
        );
        assert_eq!(
            throttle.record_failure("a@x.example", address),
            ThrottleDecision::Allowed
        );
        assert!(matches!(
            throttle.record_failure("a@x.example ", address),
            ThrottleDecision::Locked { .. }
        ));
        assert!(matches!(
            throttle.check("a@x.example", address),
            ThrottleDecision::Locked { .. }
        ));
        // Another address or another email is not affected.
        assert_eq!(
            throttle.check("a@x.example", Some(IpAddr::from([10, 0, 0, 1]))),
            ThrottleDecision::Allowed
        );
        assert_eq!(
            throttle.check("b@x.example", address),
            ThrottleDecision::Allowed
        );
        tokio::time::advance(Duration::from_secs(61)).await;
        assert_eq!(
            throttle.check("a@x.example", address),
            ThrottleDecision::Allowed
        );
    }

    #[test]
    fn waits_read_naturally() {
        assert_eq!(describe_wait(Duration::from_secs(300)), "5 minutes");
        assert_eq!(describe_wait(Duration::from_secs(61)), "2 minutes");
        assert_eq!(describe_wait(Duration::from_secs(60)), "1 minute");
        assert_eq!(describe_wait(Duration::from_secs(30)), "30 seconds");
    }
}
