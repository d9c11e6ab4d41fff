//! Ticket synchronisation as plain data and pure logic: what the sync reads from platforms
//! (snapshots), what it remembers (links with fingerprints, cursors, history), and the planner that
//! turns changes into actions. No I/O, no async, no platform field names beyond the shared keys
//! [`TITLE`], [`DESCRIPTION`] and [`STATUS`].

mod action;
mod attention;
mod fingerprint;
mod fitting;
mod history;
mod ids;
mod link;
mod planner;
mod schedule;
mod snapshot;

pub use action::{
    AttachmentDraft, CarriedTimeEntry, CommentDraft, FieldChange, FieldFingerprint, Plan,
    PlannedTicket, SyncAction, TicketDraft, TicketPlan, TicketRef, TimeChange, TimeEntryDraft,
    TimeEntryWrite,
};
pub use attention::{
    AttentionItem, AttentionKey, AttentionState, AttentionSubject, FailureClass,
    TRANSIENT_ATTENTION_AFTER, what_to_do,
};
pub use fingerprint::{Fingerprint, canonical_text};
pub use fitting::{
    FieldRule, FieldRules, Fitting, TRUNCATION_MARKER, fit_text, split_text, text_length,
};
pub use history::{
    PendingRetry, RecordOutcome, RunCounts, RunStatus, RunTrigger, SyncCursor, SyncRecord, SyncRun,
    SyncRunId, SyncRunKind,
};
pub use ids::{
    ActorId, AttachmentId, CommentId, MarkerParts, TicketId, TicketMarker, TimeEntryId,
    TimeEntryMarker,
};
pub use link::{
    ActionOutcome, CopiedItem, CopiedTimeEntry, HeldPeriod, LinkEnd, SEEN_ACTIVITY, TicketLink,
    link_after_success,
};
pub use planner::{ConflictRule, PlanInput, SideInput, TicketState, plan, tickets_needing_content};
pub use schedule::{ScheduleError, SyncSchedule, is_due, next_run_at};
pub use snapshot::{
    AttachmentSnapshot, CommentSnapshot, DESCRIPTION, DeletedTicket, FieldValue, Hours, STATUS,
    TITLE, TicketSnapshot, TimeEntrySnapshot,
};

#[cfg(test)]
mod planner_tests;
#[cfg(test)]
mod privacy_tests;
