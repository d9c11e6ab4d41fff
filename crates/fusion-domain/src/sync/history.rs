//! Sync history vocabulary: runs, per-ticket records, cursors and retries, as the store keeps them
//! and the UI shows them.

use time::{Duration, OffsetDateTime};

use crate::ids::{Id, IdKind, RelationshipId};
use crate::relationship::Role;
use crate::sync::ids::TicketId;

/// Marker for sync runs.
#[derive(Debug)]
pub enum SyncRunKind {}
impl IdKind for SyncRunKind {
    const NAME: &'static str = "SyncRunId";
}
/// One sync run.
pub type SyncRunId = Id<SyncRunKind>;

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunTrigger {
    /// A person, with a start date; the first one sets the baseline.
    Manual,
    /// The scheduler.
    Automatic,
    /// A person's repair of one ticket (Retry now, Resync, Link): only that ticket is read.
    Repair,
    /// A platform's webhook named changed tickets: only they are read (seconds after the change).
    Webhook,
}

impl RunTrigger {
    pub fn label(&self) -> &'static str {
        match self {
            RunTrigger::Manual => "Manual",
            RunTrigger::Automatic => "Automatic",
            RunTrigger::Repair => "Repair",
            RunTrigger::Webhook => "Webhook",
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            RunTrigger::Manual => "manual",
            RunTrigger::Automatic => "automatic",
            RunTrigger::Repair => "repair",
            RunTrigger::Webhook => "webhook",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "manual" => Some(RunTrigger::Manual),
            "automatic" => Some(RunTrigger::Automatic),
            "repair" => Some(RunTrigger::Repair),
            "webhook" => Some(RunTrigger::Webhook),
            _ => None,
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunStatus {
    /// Started and not finished (or its process died; its lease then expires).
    Running,
    Success,
    /// Some tickets, fields, comments or attachments failed; the rest was synced.
    Partial,
    Failed,
    /// Nothing had changed on either side.
    NoTicketsFound,
}

impl RunStatus {
    pub fn label(&self) -> &'static str {
        match self {
            RunStatus::Running => "Running",
            RunStatus::Success => "Success",
            RunStatus::Partial => "Partial",
            RunStatus::Failed => "Failed",
            RunStatus::NoTicketsFound => "No tickets found to sync",
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Success => "success",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
            RunStatus::NoTicketsFound => "no_tickets_found",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "running" => RunStatus::Running,
            "success" => RunStatus::Success,
            "partial" => RunStatus::Partial,
            "failed" => RunStatus::Failed,
            "no_tickets_found" => RunStatus::NoTicketsFound,
            _ => return None,
        })
    }
}

/// One ticket's outcome inside a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordOutcome {
    Created,
    Updated,
    Closed,
    Failed,
    /// Not sent: the ticket is outside its relationship's company scope (it moved to another
    /// company after it was linked). Counted as skipped.
    Held,
    /// Seen but not sent, and why (filtered out, no longer synced, a failure held back until
    /// something changes). Counted as skipped.
    Skipped,
}

impl RecordOutcome {
    pub fn label(&self) -> &'static str {
        match self {
            RecordOutcome::Created => "Created",
            RecordOutcome::Updated => "Updated",
            RecordOutcome::Closed => "Closed",
            RecordOutcome::Failed => "Failed",
            RecordOutcome::Held => "Held back",
            RecordOutcome::Skipped => "Skipped",
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            RecordOutcome::Created => "created",
            RecordOutcome::Updated => "updated",
            RecordOutcome::Closed => "closed",
            RecordOutcome::Failed => "failed",
            RecordOutcome::Held => "held",
            RecordOutcome::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "created" => RecordOutcome::Created,
            "updated" => RecordOutcome::Updated,
            "closed" => RecordOutcome::Closed,
            "failed" => RecordOutcome::Failed,
            "held" => RecordOutcome::Held,
            "skipped" => RecordOutcome::Skipped,
            _ => return None,
        })
    }
}

/// The counts a run reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunCounts {
    pub created: u32,
    pub updated: u32,
    pub closed: u32,
    pub failed: u32,
    /// Tickets seen but with nothing to do (filtered out, already in step, …).
    pub skipped: u32,
    pub conflicts: u32,
    /// Tickets of the relationship that need a person's attention as the run ended (failures
    /// already known are not counted as failed again).
    pub attention: u32,
}

/// One run as history shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRun {
    pub id: SyncRunId,
    pub relationship: RelationshipId,
    pub trigger: RunTrigger,
    /// The start date of a manual run.
    pub since: Option<OffsetDateTime>,
    pub status: RunStatus,
    pub counts: RunCounts,
    pub started_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
    /// Platform calls made by the run, both sides together.
    pub calls_used: u64,
    /// Why a run Failed (or the first failure of a Partial one), for people.
    pub error: Option<String>,
    /// Who started it (a person's email) for manual and repair runs.
    pub started_by: Option<String>,
}

impl SyncRun {
    pub fn duration(&self) -> Option<Duration> {
        self.finished_at.map(|finished| finished - self.started_at)
    }
}

/// One ticket's outcome in a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRecord {
    pub run: SyncRunId,
    pub relationship: RelationshipId,
    /// The side the change was read from.
    pub origin: Role,
    pub source_ticket: Option<TicketId>,
    pub source_number: Option<String>,
    pub target_ticket: Option<TicketId>,
    pub target_number: Option<String>,
    /// The original ticket's title (empty when unknown).
    pub title: String,
    pub outcome: RecordOutcome,
    pub error: Option<String>,
    pub failed_comments: u32,
    pub failed_attachments: u32,
    /// Conflicts and field failures, one sentence each.
    pub notes: Vec<String>,
    pub recorded_at: OffsetDateTime,
}

/// Where incremental polling of one side resumes: every change with a last activity before
/// `last_activity_at` (minus the overlap window) has been applied or recorded as failed.
/// `last_id` is the id of the ticket that carried `last_activity_at` (tie-break for equal times).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncCursor {
    pub relationship: RelationshipId,
    pub side: Role,
    pub last_activity_at: OffsetDateTime,
    pub last_id: Option<TicketId>,
}

/// A ticket whose latest record is Failed: the next run fetches it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRetry {
    pub relationship: RelationshipId,
    pub source_ticket: Option<TicketId>,
    pub target_ticket: Option<TicketId>,
    /// How many runs in a row failed it.
    pub attempts: u32,
    pub last_error: Option<String>,
    pub last_failed_at: OffsetDateTime,
}
