//! The API budget's ledger: requests counted per platform database, per connection and per
//! minute, shared by every process on the database (`crate::budget::BudgetGovernor` flushes its
//! counts here and reads everyone's back), each database's configured share, and the manual runs
//! waiting for budget.

use async_trait::async_trait;
use fusion_domain::RelationshipId;
use time::OffsetDateTime;

use super::StoreResult;

/// Requests one connection (or, with `relationship` `None`, this server's other work: connection
/// tests, choices, webhooks) sent to one platform database in one minute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiUsage {
    /// The platform's budget key (Autotask: `ci:<database number>`).
    pub database: String,
    pub relationship: Option<RelationshipId>,
    /// The start of the minute (seconds zero).
    pub minute: OffsetDateTime,
    pub requests: u32,
}

/// A person's manual run that stopped (or could not start) because its API budget was used up;
/// the scheduler starts it again once the budget allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeferredRun {
    pub relationship: RelationshipId,
    /// The manual run's start date.
    pub since: OffsetDateTime,
    /// Who started it (an email), kept for the run that carries it on.
    pub started_by: Option<String>,
    pub deferred_at: OffsetDateTime,
    /// The governor's estimate of when the budget allows it again.
    pub resume_at: OffsetDateTime,
}

#[async_trait]
pub trait BudgetLedger: Send + Sync {
    /// Adds `usage` to what is counted (rows of the same database, connection and minute add up).
    async fn add_api_usage(&self, usage: &[ApiUsage]) -> StoreResult<()>;

    /// Every row counted from `since` on, every database.
    async fn api_usage_since(&self, since: OffsetDateTime) -> StoreResult<Vec<ApiUsage>>;

    /// One database's rows from `since` on.
    async fn api_usage_of(
        &self,
        database: &str,
        since: OffsetDateTime,
    ) -> StoreResult<Vec<ApiUsage>>;

    /// Forgets rows older than `before`; answers how many went.
    async fn prune_api_usage(&self, before: OffsetDateTime) -> StoreResult<u64>;

    /// Databases whose share was set, as per cent of the platform's hourly limit.
    async fn api_shares(&self) -> StoreResult<Vec<(String, u8)>>;

    /// Sets (`Some`) or clears (`None`: the server's default) a database's share.
    async fn set_api_share(&self, database: &str, percent: Option<u8>) -> StoreResult<()>;

    /// Records (or replaces) a relationship's deferred manual run.
    async fn save_deferred_run(&self, run: &DeferredRun) -> StoreResult<()>;

    async fn deferred_runs(&self) -> StoreResult<Vec<DeferredRun>>;

    async fn clear_deferred_run(&self, relationship: RelationshipId) -> StoreResult<()>;
}
