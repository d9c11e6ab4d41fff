//! Failed-authentication guard: this server never sends Autotask more than a few refused
//! authentications per API username per rolling hour.
//!
//! Why: anyone who knows (or guesses) another organisation's API username can type it into
//! Settings with a wrong secret. Each test would send Autotask a failed authentication for the
//! victim's API user; repeated 401s may lock that user in Autotask and, before this guard, filled
//! the victim database's request allowance. Now, once a username has collected
//! `max_failures_per_hour` refusals, a request with a secret that has not been proven for that
//! username is refused here, without being sent, until the oldest refusal is an hour old.
//!
//! A secret that Autotask accepted for the username (in this process) is always let through, so
//! the victim's own syncs carry on while someone else's guesses are stopped. Secrets are
//! remembered only as a keyed 64-bit hash (SipHash with a key drawn at start, kept in memory), so
//! nothing stored here can be turned back into a secret or compared across processes.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::error::AutotaskError;

/// The window the failures are counted over (Autotask's lockouts are counted over hours, and its
/// request threshold over a rolling hour).
pub const FAILED_AUTHENTICATION_WINDOW: Duration = Duration::from_secs(60 * 60);
/// Secrets remembered as accepted per username (a rotation brings a second one).
const KNOWN_GOOD_PER_USERNAME: usize = 4;
/// Usernames tracked before the quiet ones are dropped, so made-up names cannot grow memory
/// without bound.
const PRUNE_THRESHOLD: usize = 10_000;

/// Counts refused authentications per API username; see the module documentation.
#[derive(Debug)]
pub struct FailedAuthGuard {
    max_failures_per_hour: u32,
    hash_key: RandomState,
    usernames: Mutex<HashMap<String, UsernameRecord>>,
    /// One request at a time per unproven secret: six concurrent reads with a wrong secret
    /// would otherwise send six failed authentications; with the gate, the first answer decides
    /// (accepted: the rest go on together; refused: the rest count against the limit).
    gates: Mutex<HashMap<u64, Arc<tokio::sync::Mutex<()>>>>,
}

#[derive(Debug, Default)]
struct UsernameRecord {
    /// Refused (or still unanswered) authentications with unproven secrets, oldest first.
    attempts: VecDeque<Instant>,
    /// Fingerprints of secrets Autotask accepted for this username.
    known_good: VecDeque<u64>,
}

/// A request the guard let through; report how it went with [`FailedAuthGuard::finish`].
#[derive(Debug)]
pub struct AuthAdmission {
    fingerprint: u64,
    /// `Some(when)`: the secret was unproven and this attempt holds a slot from `when`.
    reserved_at: Option<Instant>,
    /// Held while an unproven secret is being tried.
    _gate: Option<tokio::sync::OwnedMutexGuard<()>>,
}

/// How an admitted request ended, as far as authentication goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthOutcome {
    /// Autotask accepted the credentials (any answer that is not a 401).
    Accepted,
    /// Autotask refused the credentials (401).
    Refused,
    /// No answer about the credentials (network failure, timeout).
    Unknown,
}

impl FailedAuthGuard {
    pub fn new(max_failures_per_hour: u32) -> FailedAuthGuard {
        FailedAuthGuard {
            max_failures_per_hour: max_failures_per_hour.max(1),
            hash_key: RandomState::new(),
            usernames: Mutex::new(HashMap::new()),
            gates: Mutex::new(HashMap::new()),
        }
    }

    fn fingerprint(&self, username_key: &str, secret: &str) -> u64 {
        let mut hasher = self.hash_key.build_hasher();
        username_key.hash(&mut hasher);
        secret.hash(&mut hasher);
        hasher.finish()
    }

    /// Lets a request with these credentials go, or refuses it (nothing is sent) while the
    /// username has used up its refused authentications for the hour. A request with a secret
    /// not yet proven waits for any other request with the same secret to be answered first.
    pub async fn admit(
        &self,
        username: &str,
        secret: &str,
    ) -> Result<AuthAdmission, AutotaskError> {
        let key = username.trim().to_ascii_lowercase();
        let fingerprint = self.fingerprint(&key, secret);
        if self.is_known_good(&key, fingerprint) {
            return Ok(AuthAdmission {
                fingerprint,
                reserved_at: None,
                _gate: None,
            });
        }
        let gate = self
            .gates
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(fingerprint)
            .or_default()
            .clone();
        let held = gate.lock_owned().await;
        let mut admission = self.admit_now(&key, fingerprint)?;
        if admission.reserved_at.is_some() {
            admission._gate = Some(held);
        }
        Ok(admission)
    }

    fn is_known_good(&self, key: &str, fingerprint: u64) -> bool {
        self.usernames
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(key)
            .is_some_and(|record| record.known_good.contains(&fingerprint))
    }

    fn admit_now(&self, key: &str, fingerprint: u64) -> Result<AuthAdmission, AutotaskError> {
        let now = Instant::now();
        let mut usernames = self
            .usernames
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if usernames.len() >= PRUNE_THRESHOLD {
            usernames.retain(|_, record| {
                Self::expire(&mut record.attempts, now);
                !record.attempts.is_empty() || !record.known_good.is_empty()
            });
        }
        let record = usernames.entry(key.to_owned()).or_default();
        if record.known_good.contains(&fingerprint) {
            return Ok(AuthAdmission {
                fingerprint,
                reserved_at: None,
                _gate: None,
            });
        }
        Self::expire(&mut record.attempts, now);
        if record.attempts.len() >= self.max_failures_per_hour as usize {
            let oldest = record.attempts.front().copied().unwrap_or(now);
            let retry_after =
                (oldest + FAILED_AUTHENTICATION_WINDOW).saturating_duration_since(now);
            return Err(AutotaskError::AuthenticationPaused {
                refused: self.max_failures_per_hour,
                retry_after_secs: retry_after.as_secs().max(1),
            });
        }
        record.attempts.push_back(now);
        Ok(AuthAdmission {
            fingerprint,
            reserved_at: Some(now),
            _gate: None,
        })
    }

    /// Records how an admitted request ended: an accepted secret becomes known good and frees
    /// its slot; a refused one keeps its slot for the hour (a known-good secret that is refused
    /// is forgotten and takes a slot); an unknown outcome frees the slot.
    pub fn finish(&self, username: &str, admission: AuthAdmission, outcome: AuthOutcome) {
        let key = username.trim().to_ascii_lowercase();
        let mut usernames = self
            .usernames
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let record = usernames.entry(key).or_default();
        let release = |record: &mut UsernameRecord| {
            if let Some(at) = admission.reserved_at
                && let Some(index) = record.attempts.iter().position(|when| *when == at)
            {
                record.attempts.remove(index);
            }
        };
        match outcome {
            AuthOutcome::Accepted => {
                release(record);
                if !record.known_good.contains(&admission.fingerprint) {
                    if record.known_good.len() >= KNOWN_GOOD_PER_USERNAME {
                        record.known_good.pop_front();
                    }
                    record.known_good.push_back(admission.fingerprint);
                }
            }
            AuthOutcome::Refused => {
                record
                    .known_good
                    .retain(|known| *known != admission.fingerprint);
                if admission.reserved_at.is_none() {
                    record.attempts.push_back(Instant::now());
                }
            }
            AuthOutcome::Unknown => release(record),
        }
        drop(usernames);
        drop(admission);
        self.gates
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .retain(|_, gate| Arc::strong_count(gate) > 1);
    }

    fn expire(attempts: &mut VecDeque<Instant>, now: Instant) {
        while let Some(oldest) = attempts.front() {
            if now.saturating_duration_since(*oldest) >= FAILED_AUTHENTICATION_WINDOW {
                attempts.pop_front();
            } else {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    async fn refuse(guard: &FailedAuthGuard, username: &str, secret: &str) {
        let admission = guard.admit(username, secret).await.unwrap();
        guard.finish(username, admission, AuthOutcome::Refused);
    }

    #[tokio::test(start_paused = true)]
    async fn a_username_gets_a_few_refusals_an_hour_then_unproven_secrets_are_not_sent() {
        let guard = FailedAuthGuard::new(3);
        for attempt in 0..3 {
            refuse(&guard, "VICTIM@X.EXAMPLE", &format!("guess-{attempt}")).await;
        }
        let paused = guard
            .admit("victim@x.example", "guess-4")
            .await
            .unwrap_err();
        assert!(matches!(
            paused,
            AutotaskError::AuthenticationPaused {
                refused: 3,
                retry_after_secs: 3600
            }
        ));
        // Another username is not affected.
        assert!(guard.admit("other@x.example", "guess").await.is_ok());
        tokio::time::advance(FAILED_AUTHENTICATION_WINDOW).await;
        assert!(guard.admit("victim@x.example", "guess-5").await.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_secret_autotask_accepted_still_goes_through_while_guesses_are_stopped() {
        let guard = FailedAuthGuard::new(2);
        let admission = guard
            .admit("victim@x.example", "the-real-secret")
            .await
            .unwrap();
        guard.finish("victim@x.example", admission, AuthOutcome::Accepted);
        refuse(&guard, "victim@x.example", "guess-1").await;
        refuse(&guard, "victim@x.example", "guess-2").await;
        assert!(guard.admit("victim@x.example", "guess-3").await.is_err());
        assert!(
            guard
                .admit("victim@x.example", "the-real-secret")
                .await
                .is_ok()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn attempts_in_flight_count_so_a_burst_cannot_slip_past_the_limit() {
        let guard = FailedAuthGuard::new(2);
        let first = guard.admit("victim@x.example", "a").await.unwrap();
        let _second = guard.admit("victim@x.example", "b").await.unwrap();
        assert!(guard.admit("victim@x.example", "c").await.is_err());
        // An attempt that never got an answer frees its slot.
        guard.finish("victim@x.example", first, AuthOutcome::Unknown);
        assert!(guard.admit("victim@x.example", "c").await.is_ok());
    }

    #[tokio::test]
    async fn concurrent_requests_with_one_new_secret_wait_for_the_first_answer() {
        let guard = Arc::new(FailedAuthGuard::new(1));
        let first = guard.admit("user@x.example", "new-secret").await.unwrap();
        let waiting = {
            let guard = guard.clone();
            tokio::spawn(async move { guard.admit("user@x.example", "new-secret").await })
        };
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        guard.finish("user@x.example", first, AuthOutcome::Accepted);
        // Accepted: the waiting request goes on without a slot, though the limit is one.
        let second = waiting.await.unwrap().unwrap();
        assert!(second.reserved_at.is_none());
    }
}
