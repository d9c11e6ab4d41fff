//! Throttling of wrong verification codes, per organisation and in memory (like the web layer's
//! sign-in throttle): after too many wrong codes, accepting codes is locked for a while. Time
//! comes from the caller (the `Connections`' `Clock`), so the lock and its end are testable with a
//! `ManualClock`.
//!
//! Kept per process on purpose: codes carry about 59 bits of randomness, so the lock only has to
//! make online guessing pointless, and a restart merely resets the count. Entries are keyed by
//! organisation, which only signed-in people of existing organisations can reach, so the map is
//! bounded by the number of organisations.

use std::collections::HashMap;
use std::sync::Mutex;

use fusion_domain::OrgId;
use time::{Duration, OffsetDateTime};

/// Wrong verification codes per organisation, and the lock they lead to.
#[derive(Debug)]
pub struct WrongCodeThrottle {
    max_failures: u32,
    lock_for: Duration,
    attempts: Mutex<HashMap<OrgId, WrongCodes>>,
}

#[derive(Debug, Clone, Copy)]
struct WrongCodes {
    failures: u32,
    last_failure: OffsetDateTime,
    locked_until: Option<OffsetDateTime>,
}

impl Default for WrongCodeThrottle {
    /// Five wrong codes, then fifteen minutes' wait.
    fn default() -> Self {
        Self::new(5, std::time::Duration::from_secs(15 * 60))
    }
}

impl WrongCodeThrottle {
    /// Locks an organisation for `lock_for` once it has entered `max_failures` wrong codes (at
    /// least one), none of them more than `lock_for` after the previous one.
    pub fn new(max_failures: u32, lock_for: std::time::Duration) -> Self {
        Self {
            max_failures: max_failures.max(1),
            lock_for: Duration::try_from(lock_for).unwrap_or(Duration::minutes(15)),
            attempts: Mutex::new(HashMap::new()),
        }
    }

    fn attempts(&self) -> std::sync::MutexGuard<'_, HashMap<OrgId, WrongCodes>> {
        self.attempts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `Err(wait)` while `org` is locked out.
    pub(crate) fn check(&self, org: OrgId, now: OffsetDateTime) -> Result<(), std::time::Duration> {
        let mut attempts = self.attempts();
        match attempts.get(&org).and_then(|entry| entry.locked_until) {
            Some(until) if until > now => Err((until - now).try_into().unwrap_or_default()),
            Some(_) => {
                // The lock has run out: start counting afresh.
                attempts.remove(&org);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Counts a wrong code; the organisation is locked once it reaches the limit.
    pub(crate) fn record_failure(&self, org: OrgId, now: OffsetDateTime) {
        let mut attempts = self.attempts();
        let entry = attempts.entry(org).or_insert(WrongCodes {
            failures: 0,
            last_failure: now,
            locked_until: None,
        });
        // Wrong codes spread over a long time do not add up to a lock.
        if now - entry.last_failure > self.lock_for {
            entry.failures = 0;
        }
        entry.failures += 1;
        entry.last_failure = now;
        if entry.failures >= self.max_failures {
            entry.locked_until = Some(now + self.lock_for);
        }
    }

    pub(crate) fn record_success(&self, org: OrgId) {
        self.attempts().remove(&org);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_organisation_is_locked_after_the_allowed_wrong_codes_until_the_wait_is_over() {
        let throttle = WrongCodeThrottle::new(3, std::time::Duration::from_secs(15 * 60));
        let (org, other) = (OrgId::new(), OrgId::new());
        let start = OffsetDateTime::UNIX_EPOCH;
        throttle.record_failure(org, start);
        throttle.record_failure(org, start);
        assert_eq!(throttle.check(org, start), Ok(()));
        throttle.record_failure(org, start);
        assert_eq!(
            throttle.check(org, start + Duration::minutes(5)),
            Err(std::time::Duration::from_secs(10 * 60))
        );
        assert_eq!(throttle.check(other, start), Ok(()));
        assert_eq!(throttle.check(org, start + Duration::minutes(15)), Ok(()));
        // Counting starts afresh after the lock.
        throttle.record_failure(org, start + Duration::minutes(16));
        assert_eq!(throttle.check(org, start + Duration::minutes(16)), Ok(()));
    }

    #[test]
    fn wrong_codes_far_apart_do_not_add_up_and_a_success_clears_the_count() {
        let throttle = WrongCodeThrottle::new(2, std::time::Duration::from_secs(60));
        let org = OrgId::new();
        let start = OffsetDateTime::UNIX_EPOCH;
        throttle.record_failure(org, start);
        throttle.record_failure(org, start + Duration::minutes(2));
        assert_eq!(throttle.check(org, start + Duration::minutes(2)), Ok(()));
        throttle.record_success(org);
        throttle.record_failure(org, start + Duration::minutes(3));
        assert_eq!(throttle.check(org, start + Duration::minutes(3)), Ok(()));
    }
}
