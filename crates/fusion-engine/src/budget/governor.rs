//! [`BudgetGovernor`]: the per-database request counts of the last hour (everyone's, as last read
//! from the ledger, plus this process's since), the judgement by priority and fair share, and the
//! estimate of when waiting work may go.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use fusion_domain::{Clock, RelationshipId};
use time::{Duration, OffsetDateTime};

use super::{BudgetWait, Priority, Purpose, RequestGate, current_purpose};
use crate::ports::{ApiUsage, BudgetLedger, DeferredRun, StoreError};

/// The rolling window the platform counts in.
const HOUR_MINUTES: i64 = 60;

/// How the governor divides a database's limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetSettings {
    /// The platform's requests per rolling hour per database (Autotask: 10,000).
    pub platform_hourly_limit: u32,
    /// This server's share of it where an organisation set none, per cent.
    pub default_percent: u8,
    /// Requests kept in hand when judging whether a run or a ticket may start, so that a ticket
    /// rarely meets the closed gate half-way.
    pub start_margin: u32,
}

impl Default for BudgetSettings {
    fn default() -> Self {
        BudgetSettings {
            platform_hourly_limit: 10_000,
            default_percent: 50,
            start_margin: 40,
        }
    }
}

/// One database's use over 24 hours, for Settings and the Dashboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantUsage {
    pub database: String,
    pub allowance: u32,
    pub percent: u8,
    /// Whether the percentage was set for this database (else the server's default).
    pub share_set: bool,
    pub platform_hourly_limit: u32,
    pub last_hour: u32,
    /// Busiest connection first; `relationship` `None` is the server's own work.
    pub connections: Vec<ConnectionUsage>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionUsage {
    pub relationship: Option<RelationshipId>,
    pub last_hour: u32,
    pub last_day: u32,
}

type Counts = HashMap<Option<RelationshipId>, u32>;

#[derive(Debug, Default)]
struct Database {
    /// Minute number (Unix minutes) → requests per connection: as last read from the ledger,
    /// plus this process's since.
    minutes: BTreeMap<i64, Counts>,
    /// The sums over the window ending at `summed_to` (kept as requests come, so the gate
    /// judges without walking the hour).
    summed_to: Option<i64>,
    total: u32,
    by_connection: Counts,
}

impl Database {
    /// The window's sums as of `now_minute`: minutes that left the hour are taken off (or, the
    /// first time and after a reload, everything is summed afresh).
    fn roll(&mut self, now_minute: i64) {
        match self.summed_to {
            Some(summed) if summed == now_minute => {}
            Some(summed) if summed < now_minute => {
                let left: Vec<i64> = self
                    .minutes
                    .range(summed - HOUR_MINUTES + 1..=now_minute - HOUR_MINUTES)
                    .map(|(minute, _)| *minute)
                    .collect();
                for minute in left {
                    if let Some(counts) = self.minutes.get(&minute) {
                        for (relationship, count) in counts {
                            self.total = self.total.saturating_sub(*count);
                            if let Some(sum) = self.by_connection.get_mut(relationship) {
                                *sum = sum.saturating_sub(*count);
                                if *sum == 0 {
                                    self.by_connection.remove(relationship);
                                }
                            }
                        }
                    }
                }
                self.summed_to = Some(now_minute);
            }
            _ => {
                self.total = self.sum(now_minute);
                self.by_connection = self.sum_by_connection(now_minute);
                self.summed_to = Some(now_minute);
            }
        }
    }

    /// One request (or, with `delta` -1, one taken back) in minute `now_minute`.
    fn add(&mut self, now_minute: i64, relationship: Option<RelationshipId>, delta: i64) {
        self.roll(now_minute);
        let count = self
            .minutes
            .entry(now_minute)
            .or_default()
            .entry(relationship)
            .or_default();
        let before = *count;
        *count = u32::try_from((i64::from(*count) + delta).max(0)).unwrap_or(u32::MAX);
        let change = i64::from(*count) - i64::from(before);
        self.total = u32::try_from((i64::from(self.total) + change).max(0)).unwrap_or(0);
        let sum = self.by_connection.entry(relationship).or_default();
        *sum = u32::try_from((i64::from(*sum) + change).max(0)).unwrap_or(0);
        if *sum == 0 {
            self.by_connection.remove(&relationship);
        }
    }

    fn window(&self, now_minute: i64) -> impl Iterator<Item = (&i64, &Counts)> {
        self.minutes
            .range(now_minute - HOUR_MINUTES + 1..=now_minute)
    }

    fn sum(&self, now_minute: i64) -> u32 {
        self.window(now_minute)
            .map(|(_, counts)| counts.values().sum::<u32>())
            .sum()
    }

    fn sum_by_connection(&self, now_minute: i64) -> Counts {
        let mut sums = Counts::new();
        for (_, counts) in self.window(now_minute) {
            for (relationship, count) in counts {
                *sums.entry(*relationship).or_default() += count;
            }
        }
        sums
    }

    /// The first minute at which the window's sum of `count` (per minute) falls below `target`.
    fn falls_below(
        &self,
        now_minute: i64,
        target: u32,
        count: impl Fn(&Counts) -> u32,
    ) -> Option<i64> {
        let mut left: u32 = self.window(now_minute).map(|(_, c)| count(c)).sum();
        if left < target {
            return Some(now_minute);
        }
        for (minute, counts) in self.window(now_minute) {
            left = left.saturating_sub(count(counts));
            if left < target {
                return Some(minute + HOUR_MINUTES);
            }
        }
        None
    }
}

#[derive(Debug, Default)]
struct State {
    databases: HashMap<String, Database>,
    shares: HashMap<String, u8>,
    /// Counted here and not yet in the ledger.
    unflushed: HashMap<(String, Option<RelationshipId>, i64), u32>,
    /// The databases each connection's runs asked to start on (this process).
    asked: HashMap<RelationshipId, Vec<String>>,
    last_prune_minute: Option<i64>,
}

/// The API budget of every database this server talks to (see [`crate::budget`]).
pub struct BudgetGovernor {
    ledger: Arc<dyn BudgetLedger>,
    clock: Arc<dyn Clock>,
    settings: BudgetSettings,
    state: Mutex<State>,
}

impl std::fmt::Debug for BudgetGovernor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BudgetGovernor")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

fn minute_of(at: OffsetDateTime) -> i64 {
    at.unix_timestamp().div_euclid(60)
}

fn minute_start(minute: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(minute * 60).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

impl BudgetGovernor {
    pub fn new(
        ledger: Arc<dyn BudgetLedger>,
        clock: Arc<dyn Clock>,
        settings: BudgetSettings,
    ) -> BudgetGovernor {
        BudgetGovernor {
            ledger,
            clock,
            settings,
            state: Mutex::new(State::default()),
        }
    }

    pub fn settings(&self) -> BudgetSettings {
        self.settings
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn percent_of(&self, state: &State, database: &str) -> u8 {
        state
            .shares
            .get(database)
            .copied()
            .unwrap_or(self.settings.default_percent)
    }

    fn allowance_of(&self, state: &State, database: &str) -> u32 {
        let percent = u64::from(self.percent_of(state, database));
        (u64::from(self.settings.platform_hourly_limit) * percent / 100) as u32
    }

    /// Whether work of `purpose` may start on every one of `databases` now, keeping
    /// [`BudgetSettings::start_margin`] in hand; the longest wait when not.
    pub fn admit(&self, databases: &[String], purpose: Purpose) -> Result<(), BudgetWait> {
        let mut state = self.state();
        let now = minute_of(self.clock.now());
        if let Some(relationship) = purpose.relationship {
            state.asked.insert(relationship, databases.to_vec());
        }
        let mut longest: Option<BudgetWait> = None;
        for database in databases {
            if let Err(wait) = self.judge(
                &mut state,
                database,
                purpose,
                now,
                self.settings.start_margin,
            ) && longest
                .as_ref()
                .is_none_or(|longest| wait.resume_at > longest.resume_at)
            {
                longest = Some(wait);
            }
        }
        longest.map_or(Ok(()), Err)
    }

    /// Databases `relationship`'s runs asked to start on, or sent requests to in the last hour
    /// (as this process knows).
    pub fn databases_of(&self, relationship: RelationshipId) -> Vec<String> {
        let state = self.state();
        let now = minute_of(self.clock.now());
        let mut found: Vec<String> = state
            .databases
            .iter()
            .filter(|(_, database)| {
                database
                    .window(now)
                    .any(|(_, counts)| counts.contains_key(&Some(relationship)))
            })
            .map(|(key, _)| key.clone())
            .chain(
                state
                    .asked
                    .get(&relationship)
                    .into_iter()
                    .flatten()
                    .cloned(),
            )
            .collect();
        found.sort();
        found.dedup();
        found
    }

    fn judge(
        &self,
        state: &mut State,
        database: &str,
        purpose: Purpose,
        now: i64,
        margin: u32,
    ) -> Result<(), BudgetWait> {
        let allowance = self.allowance_of(state, database);
        let db = state.databases.entry(database.to_owned()).or_default();
        db.roll(now);
        let db = &*db;
        let used = db.total;
        let ceiling =
            (u64::from(allowance) * u64::from(purpose.priority.ceiling_percent()) / 100) as u32;
        let wait = |resume: i64, fair_share: Option<(u32, u32)>| BudgetWait {
            database: database.to_owned(),
            used,
            allowance,
            priority: purpose.priority,
            fair_share,
            resume_at: minute_start(resume.max(now + 1)),
        };
        let all = |counts: &Counts| counts.values().sum::<u32>();
        let below_ceiling = ceiling.saturating_sub(margin);
        if used >= below_ceiling {
            let resume = db
                .falls_below(now, below_ceiling.max(1), all)
                .unwrap_or(now + HOUR_MINUTES);
            return Err(wait(resume, None));
        }
        if purpose.priority == Priority::Bulk {
            let half = (allowance / 2).saturating_sub(margin);
            if used >= half {
                let by_connection = &db.by_connection;
                let mut connections = by_connection
                    .iter()
                    .filter(|(relationship, count)| relationship.is_some() && **count > 0)
                    .count();
                if !by_connection.contains_key(&purpose.relationship) {
                    connections += 1;
                }
                let fair = ceiling / connections.max(1) as u32;
                let own = by_connection
                    .get(&purpose.relationship)
                    .copied()
                    .unwrap_or(0);
                if own + margin >= fair {
                    let mine =
                        |counts: &Counts| counts.get(&purpose.relationship).copied().unwrap_or(0);
                    let fair_again = db
                        .falls_below(now, fair.saturating_sub(margin).max(1), mine)
                        .unwrap_or(now + HOUR_MINUTES);
                    let half_again = db
                        .falls_below(now, half.max(1), all)
                        .unwrap_or(now + HOUR_MINUTES);
                    return Err(wait(fair_again.min(half_again), Some((own, fair))));
                }
            }
        }
        Ok(())
    }

    fn count(&self, state: &mut State, database: &str, relationship: Option<RelationshipId>) {
        let now = minute_of(self.clock.now());
        state
            .databases
            .entry(database.to_owned())
            .or_default()
            .add(now, relationship, 1);
        *state
            .unflushed
            .entry((database.to_owned(), relationship, now))
            .or_default() += 1;
    }

    /// Writes this process's counts to the ledger and reads every process's last hour back
    /// (and the shares); forgets rows older than 25 hours once an hour. The binary calls it every
    /// few seconds; a failure keeps the counts for the next call.
    pub async fn sync(&self) -> Result<(), StoreError> {
        let now = self.clock.now();
        let pending: Vec<ApiUsage> = {
            let mut state = self.state();
            state
                .unflushed
                .drain()
                .map(|((database, relationship, minute), requests)| ApiUsage {
                    database,
                    relationship,
                    minute: minute_start(minute),
                    requests,
                })
                .collect()
        };
        if let Err(error) = self.ledger.add_api_usage(&pending).await {
            let mut state = self.state();
            for usage in pending {
                *state
                    .unflushed
                    .entry((usage.database, usage.relationship, minute_of(usage.minute)))
                    .or_default() += usage.requests;
            }
            return Err(error);
        }
        let since = minute_start(minute_of(now) - HOUR_MINUTES + 1);
        let rows = self.ledger.api_usage_since(since).await?;
        let shares = self.ledger.api_shares().await?;
        let prune = {
            let mut state = self.state();
            let mut databases: HashMap<String, Database> = HashMap::new();
            for row in rows {
                *databases
                    .entry(row.database)
                    .or_default()
                    .minutes
                    .entry(minute_of(row.minute))
                    .or_default()
                    .entry(row.relationship)
                    .or_default() += row.requests;
            }
            // Counted since the ledger was written: not in what was read.
            for ((database, relationship, minute), requests) in &state.unflushed {
                *databases
                    .entry(database.clone())
                    .or_default()
                    .minutes
                    .entry(*minute)
                    .or_default()
                    .entry(*relationship)
                    .or_default() += requests;
            }
            state.databases = databases;
            state.shares = shares.into_iter().collect();
            let due = state
                .last_prune_minute
                .is_none_or(|last| minute_of(now) - last >= HOUR_MINUTES);
            if due {
                state.last_prune_minute = Some(minute_of(now));
            }
            due
        };
        if prune {
            self.ledger
                .prune_api_usage(now - Duration::hours(25))
                .await?;
        }
        Ok(())
    }

    /// Sets (or with `None` clears) a database's share, per cent of the platform's limit (1–100).
    pub async fn set_share(&self, database: &str, percent: Option<u8>) -> Result<(), StoreError> {
        let percent = percent.map(|percent| percent.clamp(1, 100));
        self.ledger.set_api_share(database, percent).await?;
        let mut state = self.state();
        match percent {
            Some(percent) => state.shares.insert(database.to_owned(), percent),
            None => state.shares.remove(database),
        };
        Ok(())
    }

    /// Keeps a person's manual run that waits for budget, for the scheduler to carry on.
    pub async fn defer_run(&self, run: &DeferredRun) -> Result<(), StoreError> {
        self.ledger.save_deferred_run(run).await
    }

    /// Manual runs waiting for budget, oldest first.
    pub async fn deferred_runs(&self) -> Result<Vec<DeferredRun>, StoreError> {
        self.ledger.deferred_runs().await
    }

    /// A relationship's manual run no longer waits (it ran to the end, or another replaced it).
    pub async fn clear_deferred_run(&self, relationship: RelationshipId) -> Result<(), StoreError> {
        self.ledger.clear_deferred_run(relationship).await
    }

    /// A database's use over the last 24 hours, by connection (from the ledger, with this
    /// process's unwritten counts).
    pub async fn usage(&self, database: &str) -> Result<TenantUsage, StoreError> {
        let now = self.clock.now();
        let rows = self
            .ledger
            .api_usage_of(database, now - Duration::hours(24))
            .await?;
        let hour_start = minute_start(minute_of(now) - HOUR_MINUTES + 1);
        let state = self.state();
        let mut connections: HashMap<Option<RelationshipId>, ConnectionUsage> = HashMap::new();
        let mut add = |relationship: Option<RelationshipId>, minute: OffsetDateTime, n: u32| {
            let entry = connections
                .entry(relationship)
                .or_insert_with(|| ConnectionUsage {
                    relationship,
                    last_hour: 0,
                    last_day: 0,
                });
            entry.last_day += n;
            if minute >= hour_start {
                entry.last_hour += n;
            }
        };
        for row in rows {
            add(row.relationship, row.minute, row.requests);
        }
        for ((key, relationship, minute), n) in &state.unflushed {
            if key == database {
                add(*relationship, minute_start(*minute), *n);
            }
        }
        let mut connections: Vec<ConnectionUsage> = connections.into_values().collect();
        connections.sort_by(|a, b| {
            b.last_day
                .cmp(&a.last_day)
                .then(b.last_hour.cmp(&a.last_hour))
        });
        Ok(TenantUsage {
            database: database.to_owned(),
            allowance: self.allowance_of(&state, database),
            percent: self.percent_of(&state, database),
            share_set: state.shares.contains_key(database),
            platform_hourly_limit: self.settings.platform_hourly_limit,
            last_hour: connections.iter().map(|c| c.last_hour).sum(),
            connections,
        })
    }
}

impl RequestGate for BudgetGovernor {
    fn try_spend(&self, database: &str) -> Result<(), BudgetWait> {
        let purpose = current_purpose();
        let mut state = self.state();
        let now = minute_of(self.clock.now());
        self.judge(&mut state, database, purpose, now, 0)?;
        self.count(&mut state, database, purpose.relationship);
        Ok(())
    }

    fn refund(&self, database: &str) {
        let relationship = current_purpose().relationship;
        let now = minute_of(self.clock.now());
        let mut state = self.state();
        if let Some(db) = state.databases.get_mut(database) {
            db.add(now, relationship, -1);
        }
        if let Some(count) = state
            .unflushed
            .get_mut(&(database.to_owned(), relationship, now))
        {
            *count = count.saturating_sub(1);
        }
    }

    fn used(&self, database: &str) -> u32 {
        let mut state = self.state();
        let now = minute_of(self.clock.now());
        state.databases.get_mut(database).map_or(0, |db| {
            db.roll(now);
            db.total
        })
    }

    fn allowance(&self, database: &str) -> u32 {
        self.allowance_of(&self.state(), database)
    }

    fn default_allowance(&self) -> u32 {
        (u64::from(self.settings.platform_hourly_limit) * u64::from(self.settings.default_percent)
            / 100) as u32
    }
}

#[cfg(test)]
#[path = "governor_tests.rs"]
mod tests;
