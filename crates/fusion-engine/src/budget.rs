//! The API budget: how much of a platform database's hourly request limit this server may use,
//! who gets it first, and what waits when it runs low.
//!
//! Autotask allows 10,000 requests per rolling hour per database, shared by every integration of
//! the tenant, and suspends the whole tenant's API when they are used up. An MSP's or vendor's one
//! tenant sits in many connections at once, so this server's share of that limit (50 % unless the
//! organisation set another on Settings) is governed per database, across every process of the
//! deployment (the counts live in the store's [`BudgetLedger`]), by priority:
//!
//! - [`Priority::Person`] — work a person started (Sync now, repairs, Settings, connection tests),
//!   webhook-triggered runs and closures — may use all of the share;
//! - [`Priority::Sweep`] — scheduled sweeps — up to 90 %;
//! - [`Priority::Bulk`] — initial syncs — up to 75 %, and once half the share is used, a
//!   connection no more than its fair part of that (75 % ÷ the connections using the database),
//!   so one partner's initial sync of 10,000 tickets cannot starve the others.
//!
//! Work that may not go is *deferred*, never failed: a scheduled run is not started, a run in
//! progress stops between tickets with its cursors kept, and a person's manual run is carried
//! on by the scheduler (`DeferredRun`) — each shown as "Waiting for API budget" with the time
//! the budget allows it again. Which connection and priority a request serves travels with the
//! work as a task-local [`Purpose`] ([`serving`]), so the platform adapter's request gate
//! ([`RequestGate`], called before every request) needs no extra arguments.

mod governor;

use std::fmt;
use std::future::Future;

use fusion_domain::RelationshipId;
use time::OffsetDateTime;

pub use governor::{BudgetGovernor, BudgetSettings, ConnectionUsage, TenantUsage};

#[allow(unused_imports)] // named in the module docs
use crate::ports::BudgetLedger;

/// Who comes first when a database's share runs low (highest last).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Initial syncs: a manual run that sets a connection's baseline.
    Bulk,
    /// Scheduled sweeps.
    Sweep,
    /// A person's work, webhook-triggered runs and closures.
    Person,
}

impl Priority {
    /// The part of the share this priority may use, per cent.
    pub fn ceiling_percent(self) -> u32 {
        match self {
            Priority::Bulk => 75,
            Priority::Sweep => 90,
            Priority::Person => 100,
        }
    }

    /// What work of this priority is, in the plural: "initial syncs".
    pub fn label(self) -> &'static str {
        match self {
            Priority::Bulk => "initial syncs",
            Priority::Sweep => "scheduled syncs",
            Priority::Person => "people's work, webhooks and closures",
        }
    }
}

/// Which connection a request serves and at which priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Purpose {
    /// `None`: this server's own work for an organisation (connection tests, choices, webhooks).
    pub relationship: Option<RelationshipId>,
    pub priority: Priority,
}

impl Purpose {
    pub fn of(relationship: RelationshipId, priority: Priority) -> Purpose {
        Purpose {
            relationship: Some(relationship),
            priority,
        }
    }

    /// The same connection at `priority` (a closure inside a sweep goes first).
    pub fn at(self, priority: Priority) -> Purpose {
        Purpose { priority, ..self }
    }
}

impl Default for Purpose {
    /// Work outside any run: a person's (Settings, connection tests) or the server's own.
    fn default() -> Self {
        Purpose {
            relationship: None,
            priority: Priority::Person,
        }
    }
}

tokio::task_local! {
    static PURPOSE: Purpose;
}

/// Runs `work` on behalf of `purpose`: every platform request it makes (in this task) is counted
/// to that connection and judged at that priority.
pub async fn serving<F: Future>(purpose: Purpose, work: F) -> F::Output {
    PURPOSE.scope(purpose, work).await
}

/// The purpose of the work in hand ([`Purpose::default`] outside [`serving`]).
pub fn current_purpose() -> Purpose {
    PURPOSE.try_with(|purpose| *purpose).unwrap_or_default()
}

/// Why work waits, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetWait {
    /// The database's budget key.
    pub database: String,
    /// Requests counted to the database in the last hour (every process).
    pub used: u32,
    /// This server's share of the database's hourly limit.
    pub allowance: u32,
    pub priority: Priority,
    /// Set when the work waits because its connection used its fair part of an initial-sync
    /// allowance: (the connection's requests in the last hour, its fair part).
    pub fair_share: Option<(u32, u32)>,
    /// When the budget allows the work again (as the hour rolls on), to the minute.
    pub resume_at: OffsetDateTime,
}

impl BudgetWait {
    /// Seconds from `now` until the work may go again, at least 1 (a `Retry-After`).
    pub fn retry_after_secs(&self, now: OffsetDateTime) -> u64 {
        u64::try_from((self.resume_at - now).whole_seconds())
            .unwrap_or(0)
            .max(1)
    }

    /// "at about 14:05 UTC".
    pub fn resume_words(&self) -> String {
        format!(
            "at about {:02}:{:02} UTC",
            self.resume_at.hour(),
            self.resume_at.minute()
        )
    }
}

impl fmt::Display for BudgetWait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Waiting for API budget: {} of this server's {} requests an hour to this database are used",
            self.used, self.allowance
        )?;
        match self.fair_share {
            Some((own, fair)) => write!(
                f,
                ", and this connection used {own} of its fair part ({fair}) of what {} may use while other connections share the database",
                self.priority.label()
            )?,
            None => write!(
                f,
                " ({} may use {} % of them)",
                self.priority.label(),
                self.priority.ceiling_percent()
            )?,
        }
        write!(
            f,
            "; it carries on by itself {}, nothing is lost",
            self.resume_words()
        )
    }
}

/// What a platform adapter asks before every request to a database (`database`: the platform's
/// budget key). The [`BudgetGovernor`] is the product's; an adapter may keep a simple counter of
/// its own where no governor is given (a command-line connection test).
pub trait RequestGate: Send + Sync + fmt::Debug {
    /// Counts one request for the [`current_purpose`], or refuses it (nothing is sent).
    fn try_spend(&self, database: &str) -> Result<(), BudgetWait>;

    /// Takes back the request counted last for the current purpose (the platform refused the
    /// credentials: not charged to an allowance other organisations share).
    fn refund(&self, database: &str);

    /// Requests counted to `database` in the last hour.
    fn used(&self, database: &str) -> u32;

    /// This server's hourly share of `database`.
    fn allowance(&self, database: &str) -> u32;

    /// The share of a database nobody set one for.
    fn default_allowance(&self) -> u32;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_purpose_travels_with_the_work_and_defaults_to_a_persons() {
        assert_eq!(current_purpose(), Purpose::default());
        let relationship = RelationshipId::new();
        let seen = serving(Purpose::of(relationship, Priority::Bulk), async {
            let outer = current_purpose();
            let inner = serving(outer.at(Priority::Person), async { current_purpose() }).await;
            (outer, inner)
        })
        .await;
        assert_eq!(seen.0, Purpose::of(relationship, Priority::Bulk));
        assert_eq!(seen.1, Purpose::of(relationship, Priority::Person));
        assert_eq!(current_purpose(), Purpose::default());
    }
}
