//! Sign-in throttling, in memory, per account and per client address, with growing delays.
//!
//! Why this shape (issue 16, finding 3): a hard lock per (email, address) let anyone lock anyone
//! out — behind a reverse proxy every client has the proxy's address — while guesses from other
//! addresses were not limited at all. Now failures are counted separately for the account (the
//! email address) and for the client address (the real one, see `session::ClientAddress` and the
//! trusted-proxy setting). After a few free failures each further attempt must wait a delay that
//! doubles with every failure, up to a cap: short for an account (`max_account_delay`, so an
//! attacker can delay a person's sign-in by at most that much at a time and never lock it), longer
//! for an address (one address spraying guesses over many accounts slows to a crawl). A success
//! forgets the account's failures, not the address's (signing in to one's own account must not
//! reset a guessing address). Failures are forgotten after `forget_after` without any.
//!
//! Kept per process on purpose: it slows guessing without a database write per attempt, and a
//! restart only resets it.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Entries kept before stale ones are dropped, so a flood of made-up emails cannot grow memory
/// without bound.
const PRUNE_THRESHOLD: usize = 10_000;

/// How the throttle counts; see the module documentation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ThrottlePolicy {
    /// Failures (per account, per address) before delays start.
    pub free_failures: u32,
    pub max_account_delay: Duration,
    pub max_address_delay: Duration,
    /// Failures are forgotten after this long without another.
    pub forget_after: Duration,
}

#[derive(Debug)]
pub(crate) struct LoginThrottle {
    policy: ThrottlePolicy,
    accounts: Mutex<HashMap<String, Failures>>,
    addresses: Mutex<HashMap<IpAddr, Failures>>,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last_failure: Instant,
}

/// Whether a sign-in attempt may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ThrottleDecision {
    Allowed,
    Wait { retry_after: Duration },
}

/// What a failure did, for the answer and the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FailureRecorded {
    /// Failures for this account within the window, this one included.
    pub account_failures: u32,
    /// Failures from this address within the window, this one included.
    pub address_failures: u32,
    /// How long the next attempt must wait.
    pub next: ThrottleDecision,
}

fn delay_after(count: u32, free: u32, cap: Duration) -> Duration {
    if count < free {
        return Duration::ZERO;
    }
    let doublings = (count - free).min(20);
    Duration::from_secs(1u64 << doublings).min(cap)
}

impl LoginThrottle {
    pub fn new(policy: ThrottlePolicy) -> Self {
        Self {
            policy: ThrottlePolicy {
                free_failures: policy.free_failures.max(1),
                ..policy
            },
            accounts: Mutex::new(HashMap::new()),
            addresses: Mutex::new(HashMap::new()),
        }
    }

    fn account_key(email: &str) -> String {
        email.trim().to_lowercase()
    }

    fn wait_for<K: Eq + Hash>(
        &self,
        map: &Mutex<HashMap<K, Failures>>,
        key: &K,
        cap: Duration,
        now: Instant,
    ) -> Duration {
        let map = map.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match map.get(key) {
            Some(failures)
                if now.saturating_duration_since(failures.last_failure)
                    < self.policy.forget_after =>
            {
                let delay = delay_after(failures.count, self.policy.free_failures, cap);
                (failures.last_failure + delay).saturating_duration_since(now)
            }
            _ => Duration::ZERO,
        }
    }

    pub fn check(&self, email: &str, address: Option<IpAddr>) -> ThrottleDecision {
        let now = Instant::now();
        let account = self.wait_for(
            &self.accounts,
            &Self::account_key(email),
            self.policy.max_account_delay,
            now,
        );
        let address = address.map_or(Duration::ZERO, |address| {
            self.wait_for(
                &self.addresses,
                &address,
                self.policy.max_address_delay,
                now,
            )
        });
        let wait = account.max(address);
        if wait.is_zero() {
            ThrottleDecision::Allowed
        } else {
            ThrottleDecision::Wait {
                retry_after: wait.max(Duration::from_secs(1)),
            }
        }
    }

    fn count_failure<K: Eq + Hash>(
        &self,
        map: &Mutex<HashMap<K, Failures>>,
        key: K,
        now: Instant,
    ) -> u32 {
        let mut map = map.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if map.len() >= PRUNE_THRESHOLD {
            let forget_after = self.policy.forget_after;
            map.retain(|_, failures| {
                now.saturating_duration_since(failures.last_failure) < forget_after
            });
        }
        let failures = map.entry(key).or_insert(Failures {
            count: 0,
            last_failure: now,
        });
        if now.saturating_duration_since(failures.last_failure) >= self.policy.forget_after {
            failures.count = 0;
        }
        failures.count = failures.count.saturating_add(1);
        failures.last_failure = now;
        failures.count
    }

    /// Records a failure; says how long the next attempt must wait.
    pub fn record_failure(&self, email: &str, address: Option<IpAddr>) -> FailureRecorded {
        let now = Instant::now();
        let account_failures = self.count_failure(&self.accounts, Self::account_key(email), now);
        let address_failures = address.map_or(0, |address| {
            self.count_failure(&self.addresses, address, now)
        });
        FailureRecorded {
            account_failures,
            address_failures,
            next: self.check(email, address),
        }
    }

    /// A correct password: the account's failures are forgotten (the address's are not).
    pub fn record_success(&self, email: &str) {
        self.accounts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(&Self::account_key(email));
    }
}

/// "5 minutes", "1 minute", "30 seconds" — for the wait message.
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

    fn policy() -> ThrottlePolicy {
        ThrottlePolicy {
            free_failures: 3,
            max_account_delay: Duration::from_secs(30),
            max_address_delay: Duration::from_secs(300),
            forget_after: Duration::from_secs(15 * 60),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn delays_grow_per_account_up_to_a_cap_and_never_become_a_lock() {
        let throttle = LoginThrottle::new(policy());
        // Every guess from a different address: only the account counts.
        let mut waits = Vec::new();
        for attempt in 0u8..10 {
            let address = Some(IpAddr::from([10, 0, 0, attempt]));
            assert_eq!(
                throttle.check("victim@x.example", address),
                ThrottleDecision::Allowed
            );
            let recorded = throttle.record_failure("Victim@x.example ", address);
            match recorded.next {
                ThrottleDecision::Allowed => waits.push(0),
                ThrottleDecision::Wait { retry_after } => {
                    waits.push(retry_after.as_secs());
                    tokio::time::advance(retry_after).await;
                }
            }
        }
        assert_eq!(waits, [0, 0, 1, 2, 4, 8, 16, 30, 30, 30]);
        // The person whose account it is waits at most the cap, then the right password works.
        throttle.record_success("victim@x.example");
        assert_eq!(
            throttle.check("victim@x.example", Some(IpAddr::from([192, 168, 1, 1]))),
            ThrottleDecision::Allowed
        );
    }

    #[tokio::test(start_paused = true)]
    async fn one_address_guessing_many_accounts_is_slowed_and_a_success_does_not_reset_it() {
        let throttle = LoginThrottle::new(policy());
        let attacker = Some(IpAddr::from([203, 0, 113, 9]));
        for account in 0..4 {
            throttle.record_failure(&format!("user{account}@x.example"), attacker);
        }
        throttle.record_success("attacker@x.example");
        assert!(matches!(
            throttle.check("user9@x.example", attacker),
            ThrottleDecision::Wait { .. }
        ));
        // Someone else, on another address, is not slowed.
        assert_eq!(
            throttle.check("user9@x.example", Some(IpAddr::from([198, 51, 100, 1]))),
            ThrottleDecision::Allowed
        );
        // Failures are forgotten after a quiet while.
        tokio::time::advance(Duration::from_secs(15 * 60)).await;
        assert_eq!(
            throttle.check("user9@x.example", attacker),
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
