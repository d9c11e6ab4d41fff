//! What one run works with: a relationship's two sides (platform, configuration, name), its
//! mappings and composition ([`SyncSetup`], loaded by the caller from the store), and the engine's
//! knobs ([`EngineSettings`]). Its own module so `engine`, `gather` and `apply` all depend on it
//! and not on each other in a circle.

use std::sync::Arc;

use fusion_domain::sync::ConflictRule;
use fusion_domain::{DescriptionComposition, FieldMapping, RelationshipId, Role, SideConfig};
use time::Duration;

use crate::platform::Platform;

/// One side of a relationship as the engine needs it.
#[derive(Debug, Clone)]
pub struct SideSetup {
    pub platform: Arc<dyn Platform>,
    pub config: SideConfig,
    /// The organisation's name (comments copied from this side are attributed to it).
    pub organisation_name: String,
}

/// Everything about one relationship a run needs; loaded by the caller from the store.
#[derive(Debug, Clone)]
pub struct SyncSetup {
    pub relationship: RelationshipId,
    pub source: SideSetup,
    pub target: SideSetup,
    pub mappings: Vec<FieldMapping>,
    pub composition: DescriptionComposition,
    pub conflict_rule: ConflictRule,
}

impl SyncSetup {
    pub fn side(&self, side: Role) -> &SideSetup {
        match side {
            Role::Source => &self.source,
            Role::Target => &self.target,
        }
    }

    pub(crate) fn calls_used(&self) -> u64 {
        self.source.platform.calls_used() + self.target.platform.calls_used()
    }
}

/// Knobs with production defaults.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// Re-read this much before each cursor: platforms' last-activity times are not strictly
    /// ordered with commits, and clocks differ.
    pub overlap: Duration,
    /// Tickets per page when listing changes.
    pub page_size: u32,
    /// How long a lease lasts without renewal; renewed after each ticket once a third has passed.
    pub lease_ttl: Duration,
    /// Names this process in leases.
    pub holder: String,
    /// A ticket whose record failed this many runs in a row is no longer retried on its own
    /// (a new change to it still brings it back).
    pub max_retry_attempts: u32,
    /// Nor is one whose last failure is older than this (a retry that finds nothing left to do
    /// records nothing, so its failure would otherwise stay pending).
    pub max_retry_age: Duration,
    /// Tickets applied at once (each ticket's actions stay in order, and a stop still falls
    /// between tickets). Autotask allows 3 requests in flight per endpoint; a ticket moves
    /// between endpoints (ticket, notes, attachments, the other side's content), so a few more
    /// tickets than that keep every endpoint's 3 busy under latency. The adapter's limiter
    /// holds each endpoint to its 3 whatever this says.
    pub apply_concurrency: usize,
    /// Tickets applied per page: the copies a page created are read back together (one query
    /// per 500 for Autotask) and its records written, before the next page starts.
    pub apply_page: usize,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            overlap: Duration::minutes(5),
            page_size: 500,
            lease_ttl: Duration::minutes(10),
            holder: format!("fusion-{}", std::process::id()),
            max_retry_attempts: 20,
            max_retry_age: Duration::days(3),
            apply_concurrency: 9,
            apply_page: 500,
        }
    }
}
