//! The planner's output: per ticket pair, an ordered list of [`SyncAction`]s the engine applies.
//! Actions carry everything needed to write them and to update the ticket link when they succeed
//! (see [`crate::sync::link_after_success`]), so the engine never re-derives planning decisions.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::integration::ChoiceValue;
use crate::relationship::Role;
use crate::sync::fingerprint::Fingerprint;
use crate::sync::ids::{
    AttachmentId, CommentId, TicketId, TicketMarker, TimeEntryId, TimeEntryMarker,
};
use crate::sync::link::TicketLink;
use crate::sync::snapshot::FieldValue;

/// A ticket an action writes to: one that exists, or the one the same plan's `CreateTicket` makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlannedTicket {
    Existing(TicketId),
    /// The ticket created by the `CreateTicket` earlier in the same [`TicketPlan`].
    Created,
}

/// A ticket to create. Typed members are the receiving side's defaults; `fields` holds mapped
/// values by the receiving platform's field names and wins over a typed default for the same
/// platform field. `fields` never holds [`crate::sync::TITLE`] or [`crate::sync::DESCRIPTION`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketDraft {
    /// Must be written on the ticket (Autotask `externalID`) so it can be found again.
    pub marker: TicketMarker,
    pub title: String,
    /// The composed description (description composition applied to the original).
    pub description: String,
    pub company: Option<ChoiceValue>,
    pub queue: Option<ChoiceValue>,
    pub status: Option<ChoiceValue>,
    pub priority: Option<ChoiceValue>,
    pub ticket_type: Option<ChoiceValue>,
    pub category: Option<ChoiceValue>,
    pub source: Option<ChoiceValue>,
    pub issue_type: Option<ChoiceValue>,
    pub sub_issue_type: Option<ChoiceValue>,
    pub fields: BTreeMap<String, FieldValue>,
}

/// One field to write, by the receiving platform's field name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub field: String,
    pub value: FieldValue,
}

/// A fingerprint to store in the link when the action carrying it succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldFingerprint {
    pub side: Role,
    pub field: String,
    pub fingerprint: Fingerprint,
}

/// A comment to add. `body` already starts with the attribution line
/// `From <partner organisation> — <author>:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentDraft {
    pub title: String,
    pub body: String,
    pub publish: Option<ChoiceValue>,
    pub note_type: Option<ChoiceValue>,
}

/// An attachment to add; the content is fetched from the original when the action is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentDraft {
    pub name: String,
    pub size_bytes: u64,
    pub content_type: Option<String>,
    pub publish: Option<ChoiceValue>,
}

/// What happened to a time entry that a note tells the partner about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeChange {
    Logged,
    Changed,
    Deleted,
}

impl TimeChange {
    /// For people: "logged", "changed", "deleted".
    pub fn as_str(self) -> &'static str {
        match self {
            TimeChange::Logged => "logged",
            TimeChange::Changed => "changed",
            TimeChange::Deleted => "deleted",
        }
    }
}

/// A time entry to write on the receiving side as the copy of the partner's: who (matched by
/// e-mail, else the fallback resource), under which role and work type, when and how long, and
/// the customer-visible summary. Rates, costs and billing amounts are never part of it: the
/// receiving tenant prices its own time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeEntryDraft {
    /// The worker's e-mail on the sending side: the receiving side's active resource with the
    /// same address logs the copy (when it holds `role`).
    pub worker_email: String,
    /// The worker's name, for the copy's internal note.
    pub worker_name: String,
    /// The receiving side's resource when no resource matches the e-mail.
    pub fallback_resource: Option<ChoiceValue>,
    pub role: Option<ChoiceValue>,
    /// The work type (Autotask billing code).
    pub billing_code: Option<ChoiceValue>,
    /// Whether the hours count as billable on the receiving side.
    pub billable: bool,
    pub date_worked: time::Date,
    /// Start and end (Autotask requires both on service tickets): the original's when it has
    /// them, else 09:00 UTC of the day worked and that plus the hours.
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
    pub hours: crate::sync::snapshot::Hours,
    pub summary: String,
    /// Written with the copy (Autotask: in its internal notes) so it is found again and never sent back.
    pub marker: TimeEntryMarker,
    /// The copy's internal note for people: where it comes from.
    pub origin_note: String,
}

/// What is written to the copy of a time entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeEntryWrite {
    /// Log the copy (the original is new).
    Create(Box<TimeEntryDraft>),
    /// The original changed (day, times, hours, worker or summary): change the copy to match.
    Update {
        copy: TimeEntryId,
        draft: Box<TimeEntryDraft>,
    },
    /// The original was deleted: delete the copy.
    Delete { copy: TimeEntryId },
}

/// What a time-entry note carries, remembered in the link when it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarriedTimeEntry {
    pub change: TimeChange,
    /// The original's fingerprint as carried (for a deletion: as last carried).
    pub fingerprint: Fingerprint,
    /// The original in words, e.g. "1.50 h by Jane Doe on 2026-12-04".
    pub described: String,
    /// The hours the original had (logged, changed) or had last (deleted).
    pub hours: crate::sync::snapshot::Hours,
}

/// One step of a ticket's plan. `on` is always the side written to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncAction {
    /// Create the copy of `from` (on the other side) on side `on`, with its marker. On success the
    /// engine creates the link with `fingerprints`, plus, for each of `baseline_fields` (mapped
    /// fields of side `on` that the copy gets from its defaults, not from the original), the
    /// fingerprint of its value in the created ticket: that value counts as in step.
    CreateTicket {
        on: Role,
        from: TicketId,
        draft: Box<TicketDraft>,
        fingerprints: Vec<FieldFingerprint>,
        baseline_fields: Vec<String>,
    },
    /// A copy made earlier (found by its marker) is not linked yet: link it, write nothing.
    LinkExisting {
        source: TicketId,
        source_number: String,
        target: TicketId,
        target_number: String,
        origin: Role,
        fingerprints: Vec<FieldFingerprint>,
    },
    UpdateFields {
        on: Role,
        ticket: TicketId,
        changes: Vec<FieldChange>,
        fingerprints: Vec<FieldFingerprint>,
    },
    /// Copy comment `from` (on the other side) to `ticket` on side `on`.
    AddComment {
        on: Role,
        ticket: PlannedTicket,
        from: CommentId,
        draft: CommentDraft,
    },
    /// A copy of the comment already exists (written by us, found by content): record it only.
    LinkComment {
        from: Role,
        original: CommentId,
        copy: CommentId,
    },
    /// Copy attachment `from` of `from_ticket` (on the other side) to `ticket` on side `on`.
    AddAttachment {
        on: Role,
        ticket: PlannedTicket,
        from_ticket: TicketId,
        from: AttachmentId,
        draft: AttachmentDraft,
    },
    /// A copy of the attachment already exists (ours, same name and size): record it only.
    LinkAttachment {
        from: Role,
        original: AttachmentId,
        copy: AttachmentId,
    },
    /// Tell side `on` of a time entry logged, changed or deleted on the other side, as a note
    /// written by the sync's API user (its body ends with the entry's reference, so a copy made
    /// before a crash is found again by content).
    AddTimeNote {
        on: Role,
        ticket: PlannedTicket,
        from: TimeEntryId,
        draft: CommentDraft,
        carried: CarriedTimeEntry,
    },
    /// The note for this time entry's change already exists (ours, found by content): record it.
    LinkTimeNote {
        from: Role,
        original: TimeEntryId,
        note: CommentId,
        carried: CarriedTimeEntry,
    },
    /// Create, change or delete on side `on` the time-entry copy of entry `from` (logged on the
    /// other side), when that side receives time as time entries.
    CopyTimeEntry {
        on: Role,
        ticket: PlannedTicket,
        from: TimeEntryId,
        write: TimeEntryWrite,
        carried: CarriedTimeEntry,
    },
    /// A copy made earlier (found by its marker, e.g. after a crash) is not in the link yet:
    /// record it, write nothing.
    LinkTimeEntry {
        from: Role,
        original: TimeEntryId,
        copy: TimeEntryId,
        carried: CarriedTimeEntry,
    },
    /// Carry the partner's closure across: set `status` on side `on`. On success both sides count
    /// as closed in the link.
    Close {
        on: Role,
        ticket: PlannedTicket,
        status: ChoiceValue,
        fingerprints: Vec<FieldFingerprint>,
    },
    /// Record in the link which sides are closed now (a side was closed or reopened without
    /// anything to carry across), write nothing.
    ClosedState {
        source_closed: bool,
        target_closed: bool,
    },
    /// Nothing is written for this ticket, and why.
    Skip { reason: String },
    /// A linked ticket is outside its side's company scope (it moved to another company): nothing
    /// flows either way until it moves back, and its record says why.
    Hold { reason: String },
    /// A held pair is back in scope: its held period closes at `until` (comments and attachments
    /// from the period stay withheld), and the pair flows again.
    Resume { until: OffsetDateTime },
    /// A value was fitted to what the receiving platform accepts (text cut, a picklist value it
    /// does not take replaced by the configured default or left out); the ticket still syncs.
    FieldWarning { field: String, reason: String },
    /// The ticket on side `deleted` was deleted in its tenant: the link ends (kept in history) and
    /// nothing flows for this pair any more. Comes after the note and closure on the copy.
    EndLink { deleted: Role, reason: String },
    /// Both sides changed `field` since the last sync; `winner`'s value is written (the
    /// `UpdateFields` that follows).
    Conflict { field: String, winner: Role },
    /// A field could not be carried (e.g. a picklist value without a value mapping); the rest of
    /// the ticket is synced and the run is Partial.
    FieldFailure { field: String, reason: String },
    /// An attachment cannot be copied (too large, …).
    AttachmentFailure {
        attachment: AttachmentId,
        name: String,
        reason: String,
    },
}

impl SyncAction {
    /// Whether applying the action calls a platform or changes the link.
    pub fn writes(&self) -> bool {
        !matches!(
            self,
            SyncAction::Skip { .. }
                | SyncAction::Hold { .. }
                | SyncAction::FieldWarning { .. }
                | SyncAction::Conflict { .. }
                | SyncAction::FieldFailure { .. }
                | SyncAction::AttachmentFailure { .. }
        )
    }

    /// Whether the action is a failure the run reports (Partial).
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            SyncAction::FieldFailure { .. } | SyncAction::AttachmentFailure { .. }
        )
    }
}

/// A ticket as the plan names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketRef {
    pub id: TicketId,
    pub number: String,
    /// The ticket's title as read (empty when only the link was known).
    pub title: String,
}

/// Everything planned for one ticket pair (or one unlinked ticket).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketPlan {
    /// `None` only when the source ticket is about to be created (reverse sync).
    pub source: Option<TicketRef>,
    /// `None` only when the target ticket is about to be created.
    pub target: Option<TicketRef>,
    /// The side the ticket was raised on.
    pub origin: Role,
    /// The link as the planner saw it.
    pub link: Option<TicketLink>,
    /// In the order they must be applied: create/link first, then fields, comments,
    /// attachments, closure.
    pub actions: Vec<SyncAction>,
}

impl TicketPlan {
    /// Whether anything would be written for this ticket.
    pub fn writes(&self) -> bool {
        self.actions.iter().any(SyncAction::writes)
    }

    pub fn ticket(&self, side: Role) -> Option<&TicketRef> {
        match side {
            Role::Source => self.source.as_ref(),
            Role::Target => self.target.as_ref(),
        }
    }
}

/// The plan of one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub tickets: Vec<TicketPlan>,
}

impl Plan {
    /// All actions, in order.
    pub fn actions(&self) -> impl Iterator<Item = &SyncAction> {
        self.tickets.iter().flat_map(|ticket| ticket.actions.iter())
    }

    /// Whether the plan writes anything at all.
    pub fn writes(&self) -> bool {
        self.tickets.iter().any(TicketPlan::writes)
    }
}
