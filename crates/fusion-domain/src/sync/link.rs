//! Ticket links: the pairing of a source ticket and a target ticket in one relationship, with what
//! was last synced. Once linked, a ticket is never created twice, and content the sync wrote is
//! recognised by its fingerprint instead of being echoed back.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::ids::RelationshipId;
use crate::relationship::Role;
use crate::sync::action::{
    CarriedTimeEntry, FieldFingerprint, SyncAction, TicketPlan, TicketRef, TimeChange,
    TimeEntryWrite,
};
use crate::sync::fingerprint::Fingerprint;
use crate::sync::ids::{AttachmentId, CommentId, TicketId, TimeEntryId};
use crate::sync::snapshot::TicketSnapshot;

/// One comment or attachment copied from one side to the other.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CopiedItem<Id> {
    /// The side the original lives on.
    pub from: Role,
    pub original: Id,
    /// The copy on the other side.
    pub copy: Id,
}

/// One time entry carried to the partner's ticket (as notes): what was carried last, so an edit
/// or a deletion of the original is noticed and follows once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopiedTimeEntry {
    /// The side the original time entry lives on.
    pub from: Role,
    pub original: TimeEntryId,
    /// Every note written on the other side for it (logged, changed, deleted), oldest first:
    /// never claimed again as the copy of anything else.
    pub notes: Vec<CommentId>,
    /// The fingerprint of the original as last carried (day, times, hours, worker, summary).
    pub fingerprint: Fingerprint,
    /// The original as last carried, in words ("1.50 h by Jane Doe on 2026-12-04"), for the
    /// note that tells of its deletion (a deleted entry cannot be read any more).
    pub described: String,
    /// The original was deleted and the deletion was carried: nothing more follows.
    pub deleted: bool,
    /// The time-entry copy on the other side, when the entry was carried as a time entry (then
    /// `notes` is empty); `None` when it was carried as notes.
    pub copy: Option<TimeEntryId>,
}

/// Source ticket ↔ target ticket for one relationship.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketLink {
    pub relationship: RelationshipId,
    pub source: TicketId,
    pub target: TicketId,
    /// Display numbers, for history and the UI.
    pub source_number: String,
    pub target_number: String,
    /// The original ticket's title as last synced, for people (empty when not known yet).
    pub title: String,
    /// The side the ticket was first raised on (Target for reverse sync).
    pub origin: Role,
    /// Per mapped source field (platform name): the fingerprint of its value as of the last sync —
    /// what was read when the link was made or what the sync last wrote or carried from it.
    /// Also holds, under [`SEEN_ACTIVITY`], the ticket's last activity when a run last found the
    /// pair in step without writing to this side (see [`TicketLink::seen_activity`]).
    pub source_fields: BTreeMap<String, Fingerprint>,
    /// The same for the target side's fields.
    pub target_fields: BTreeMap<String, Fingerprint>,
    /// Comments copied either way.
    pub comments: Vec<CopiedItem<CommentId>>,
    /// Attachments copied either way.
    pub attachments: Vec<CopiedItem<AttachmentId>>,
    /// Time entries carried either way.
    pub time_entries: Vec<CopiedTimeEntry>,
    /// Whether the source ticket was closed as of the last sync. A closure is carried across when
    /// a side is closed now and was not then, so reopening one side is never undone by the other.
    pub source_closed: bool,
    /// The same for the target ticket.
    pub target_closed: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// Set when the pair stopped being synced for good (one of its tickets was deleted in its
    /// tenant). An ended link is kept, so history still names the pair and neither ticket is ever
    /// copied again; nothing flows through it.
    pub ended: Option<LinkEnd>,
    /// Times the pair was held back because a ticket had moved to another company. Comments and
    /// attachments created in a period are never copied, even after the ticket moves back: they
    /// were written while it belonged to someone else. The last period is open (`until` `None`)
    /// while the pair is held.
    pub held: Vec<HeldPeriod>,
}

/// One time a linked pair was outside its relationship's company scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldPeriod {
    /// The last time the pair was in step before it was found outside the scope (its link's
    /// last update): everything newer is withheld, to be safe.
    pub from: OffsetDateTime,
    /// When it was found back in scope (the latest activity then); `None` while still held.
    pub until: Option<OffsetDateTime>,
}

/// Why and when a link ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkEnd {
    pub at: OffsetDateTime,
    /// For people, e.g. "T20261204.0006 was deleted in Contoso's Autotask by Jane Doe".
    pub reason: String,
}

/// Activity times compare to the nanosecond (field values only to the second).
fn activity_fingerprint(at: OffsetDateTime) -> Fingerprint {
    Fingerprint::of_text(&format!("activity:{}", at.unix_timestamp_nanos()))
}

/// The reserved key (no platform field starts with `@`) under which a link's field maps keep the
/// fingerprint of the ticket's last activity time as last found in step.
pub const SEEN_ACTIVITY: &str = "@lastActivity";

impl TicketLink {
    /// Two existing tickets paired by a person: in step as they are now (every field of both
    /// sides fingerprinted as read), so only later changes flow; comments and attachments written
    /// before the pairing stay where they are (a closed held period up to `now`).
    pub fn paired_by_person(
        relationship: RelationshipId,
        source: &TicketSnapshot,
        target: &TicketSnapshot,
        now: OffsetDateTime,
    ) -> TicketLink {
        let fingerprints = |ticket: &TicketSnapshot| -> BTreeMap<String, Fingerprint> {
            let mut names: Vec<&str> = ticket.fields.keys().map(String::as_str).collect();
            names.extend([
                crate::sync::TITLE,
                crate::sync::DESCRIPTION,
                crate::sync::STATUS,
            ]);
            names
                .into_iter()
                .map(|name| (name.to_owned(), Fingerprint::of_value(&ticket.field(name))))
                .collect()
        };
        TicketLink {
            relationship,
            source: source.id.clone(),
            target: target.id.clone(),
            source_number: source.number.clone(),
            target_number: target.number.clone(),
            title: source.title.clone(),
            origin: Role::Source,
            source_fields: fingerprints(source),
            target_fields: fingerprints(target),
            comments: Vec::new(),
            attachments: Vec::new(),
            time_entries: Vec::new(),
            source_closed: false,
            target_closed: false,
            created_at: now,
            updated_at: now,
            ended: None,
            held: vec![HeldPeriod {
                from: OffsetDateTime::UNIX_EPOCH,
                until: Some(now),
            }],
        }
    }

    /// Whether content created at `at` falls in a held period (and is therefore never copied).
    pub fn withheld(&self, at: OffsetDateTime) -> bool {
        self.held
            .iter()
            .any(|period| at >= period.from && period.until.is_none_or(|until| at <= until))
    }

    /// Whether the pair is being held back now.
    pub fn is_held(&self) -> bool {
        self.held
            .last()
            .is_some_and(|period| period.until.is_none())
    }

    /// Whether `last_activity_at` is the last activity of the ticket on `side` when a run last
    /// found the pair in step: nothing happened to it since, so it needs no reading.
    pub fn seen_activity(&self, side: Role, last_activity_at: OffsetDateTime) -> bool {
        self.fields(side).get(SEEN_ACTIVITY) == Some(&activity_fingerprint(last_activity_at))
    }

    /// Records that the ticket on `side` was found in step at `last_activity_at`.
    pub fn mark_seen(&mut self, side: Role, last_activity_at: OffsetDateTime) {
        self.fields_mut(side).insert(
            SEEN_ACTIVITY.to_owned(),
            activity_fingerprint(last_activity_at),
        );
    }

    pub fn ticket(&self, side: Role) -> &TicketId {
        match side {
            Role::Source => &self.source,
            Role::Target => &self.target,
        }
    }

    pub fn number(&self, side: Role) -> &str {
        match side {
            Role::Source => &self.source_number,
            Role::Target => &self.target_number,
        }
    }

    pub fn fields(&self, side: Role) -> &BTreeMap<String, Fingerprint> {
        match side {
            Role::Source => &self.source_fields,
            Role::Target => &self.target_fields,
        }
    }

    pub fn fields_mut(&mut self, side: Role) -> &mut BTreeMap<String, Fingerprint> {
        match side {
            Role::Source => &mut self.source_fields,
            Role::Target => &mut self.target_fields,
        }
    }

    /// Whether this comment is an original already copied, or a copy the sync made.
    pub fn knows_comment(&self, side: Role, comment: &CommentId) -> bool {
        self.comments.iter().any(|item| {
            (item.from == side && &item.original == comment)
                || (item.from != side && &item.copy == comment)
        })
    }

    /// What was carried of the time entry `original` on side `from`, if anything.
    pub fn time_entry(&self, from: Role, original: &TimeEntryId) -> Option<&CopiedTimeEntry> {
        self.time_entries
            .iter()
            .find(|item| item.from == from && &item.original == original)
    }

    /// The time entries carried from side `from` and not deleted, and their hours as last
    /// carried (for the Tickets view): `None` when none.
    pub fn time_carried(&self, from: Role) -> Option<(usize, crate::sync::snapshot::Hours)> {
        let carried: Vec<&CopiedTimeEntry> = self
            .time_entries
            .iter()
            .filter(|item| item.from == from && !item.deleted)
            .collect();
        if carried.is_empty() {
            return None;
        }
        let hundredths = carried
            .iter()
            .map(|item| {
                crate::sync::snapshot::Hours::from_description(&item.described).hundredths()
            })
            .sum();
        Some((
            carried.len(),
            crate::sync::snapshot::Hours::from_hundredths(hundredths),
        ))
    }

    /// Whether time entry `entry` on side `side` is a copy the sync made.
    pub fn knows_time_entry_copy(&self, side: Role, entry: &TimeEntryId) -> bool {
        self.time_entries
            .iter()
            .any(|item| item.from != side && item.copy.as_ref() == Some(entry))
    }

    /// Whether `comment` on side `side` is a note the sync wrote for a time entry.
    pub fn knows_time_note(&self, side: Role, comment: &CommentId) -> bool {
        self.time_entries
            .iter()
            .any(|item| item.from != side && item.notes.contains(comment))
    }

    /// Whether this attachment is an original already copied, or a copy the sync made.
    pub fn knows_attachment(&self, side: Role, attachment: &AttachmentId) -> bool {
        self.attachments.iter().any(|item| {
            (item.from == side && &item.original == attachment)
                || (item.from != side && &item.copy == attachment)
        })
    }
}

/// What applying one action produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionOutcome {
    /// `CreateTicket` made this ticket (as the platform returned it).
    TicketCreated(Box<TicketSnapshot>),
    /// `AddComment` made this comment.
    CommentAdded(CommentId),
    /// `AddAttachment` made this attachment.
    AttachmentAdded(AttachmentId),
    /// `CopyTimeEntry` created (or found) this time entry.
    TimeEntryWritten(TimeEntryId),
    /// Any other action succeeded.
    Applied,
}

/// Remembers a note written (or found) for a time entry, with what it carried.
fn record_time_note(
    link: &mut TicketLink,
    from: Role,
    original: &TimeEntryId,
    note: &CommentId,
    carried: &CarriedTimeEntry,
) {
    let position = link
        .time_entries
        .iter()
        .position(|item| item.from == from && &item.original == original);
    let item = match position {
        Some(index) => &mut link.time_entries[index],
        None => {
            link.time_entries.push(CopiedTimeEntry {
                from,
                original: original.clone(),
                notes: Vec::new(),
                fingerprint: carried.fingerprint.clone(),
                described: carried.described.clone(),
                deleted: false,
                copy: None,
            });
            link.time_entries.last_mut().expect("just pushed")
        }
    };
    if !item.notes.contains(note) {
        item.notes.push(note.clone());
    }
    item.fingerprint = carried.fingerprint.clone();
    item.described = carried.described.clone();
    item.deleted = carried.change == TimeChange::Deleted;
}

/// Remembers a time-entry copy written (created, changed, deleted) or found, with what it carried.
fn record_time_entry_copy(
    link: &mut TicketLink,
    from: Role,
    original: &TimeEntryId,
    copy: Option<&TimeEntryId>,
    carried: &CarriedTimeEntry,
) {
    let position = link
        .time_entries
        .iter()
        .position(|item| item.from == from && &item.original == original);
    let item = match position {
        Some(index) => &mut link.time_entries[index],
        None => {
            link.time_entries.push(CopiedTimeEntry {
                from,
                original: original.clone(),
                notes: Vec::new(),
                fingerprint: carried.fingerprint.clone(),
                described: carried.described.clone(),
                deleted: false,
                copy: None,
            });
            link.time_entries.last_mut().expect("just pushed")
        }
    };
    if let Some(copy) = copy {
        item.copy = Some(copy.clone());
    }
    item.fingerprint = carried.fingerprint.clone();
    item.described = carried.described.clone();
    item.deleted = carried.change == TimeChange::Deleted;
}

fn store_fingerprints(link: &mut TicketLink, fingerprints: &[FieldFingerprint]) {
    for entry in fingerprints {
        link.fields_mut(entry.side)
            .insert(entry.field.clone(), entry.fingerprint.clone());
    }
}

/// The link after `action` (one of `plan`'s actions) succeeded with `outcome`, given the link as it
/// was before (`None` until the plan's create or link-existing action succeeded). `None` when the
/// action does not change the link. The engine saves the returned link before its next write, so
/// a crash never forgets a write that happened.
pub fn link_after_success(
    relationship: RelationshipId,
    plan: &TicketPlan,
    link: Option<&TicketLink>,
    action: &SyncAction,
    outcome: &ActionOutcome,
    now: OffsetDateTime,
) -> Option<TicketLink> {
    let mut updated = match action {
        SyncAction::CreateTicket {
            on,
            fingerprints,
            baseline_fields,
            ..
        } => {
            let ActionOutcome::TicketCreated(created_ticket) = outcome else {
                return None;
            };
            let origin = on.opposite();
            let original = plan.ticket(origin)?;
            let created = TicketRef {
                id: created_ticket.id.clone(),
                number: created_ticket.number.clone(),
                title: created_ticket.title.clone(),
            };
            let (source, target) = match origin {
                Role::Source => (original.clone(), created),
                Role::Target => (created, original.clone()),
            };
            let mut link = TicketLink {
                relationship,
                source: source.id,
                target: target.id,
                source_number: source.number,
                target_number: target.number,
                title: original.title.clone(),
                origin,
                source_fields: BTreeMap::new(),
                target_fields: BTreeMap::new(),
                comments: Vec::new(),
                attachments: Vec::new(),
                time_entries: Vec::new(),
                source_closed: false,
                target_closed: false,
                created_at: now,
                updated_at: now,
                ended: None,
                held: Vec::new(),
            };
            store_fingerprints(&mut link, fingerprints);
            for field in baseline_fields {
                link.fields_mut(*on)
                    .entry(field.clone())
                    .or_insert_with(|| Fingerprint::of_value(&created_ticket.field(field)));
            }
            return Some(link);
        }
        SyncAction::LinkExisting {
            source,
            source_number,
            target,
            target_number,
            origin,
            fingerprints,
        } => {
            let mut link = TicketLink {
                relationship,
                source: source.clone(),
                target: target.clone(),
                source_number: source_number.clone(),
                target_number: target_number.clone(),
                title: plan
                    .ticket(*origin)
                    .map(|ticket| ticket.title.clone())
                    .unwrap_or_default(),
                origin: *origin,
                source_fields: BTreeMap::new(),
                target_fields: BTreeMap::new(),
                comments: Vec::new(),
                attachments: Vec::new(),
                time_entries: Vec::new(),
                source_closed: false,
                target_closed: false,
                created_at: now,
                updated_at: now,
                ended: None,
                held: Vec::new(),
            };
            store_fingerprints(&mut link, fingerprints);
            return Some(link);
        }
        _ => link?.clone(),
    };
    match (action, outcome) {
        (SyncAction::UpdateFields { fingerprints, .. }, _) => {
            store_fingerprints(&mut updated, fingerprints)
        }
        (SyncAction::AddComment { on, from, .. }, ActionOutcome::CommentAdded(copy)) => {
            updated.comments.push(CopiedItem {
                from: on.opposite(),
                original: from.clone(),
                copy: copy.clone(),
            })
        }
        (
            SyncAction::LinkComment {
                from,
                original,
                copy,
            },
            _,
        ) => updated.comments.push(CopiedItem {
            from: *from,
            original: original.clone(),
            copy: copy.clone(),
        }),
        (SyncAction::AddAttachment { on, from, .. }, ActionOutcome::AttachmentAdded(copy)) => {
            updated.attachments.push(CopiedItem {
                from: on.opposite(),
                original: from.clone(),
                copy: copy.clone(),
            })
        }
        (
            SyncAction::LinkAttachment {
                from,
                original,
                copy,
            },
            _,
        ) => updated.attachments.push(CopiedItem {
            from: *from,
            original: original.clone(),
            copy: copy.clone(),
        }),
        (
            SyncAction::AddTimeNote {
                on, from, carried, ..
            },
            ActionOutcome::CommentAdded(note),
        ) => record_time_note(&mut updated, on.opposite(), from, note, carried),
        (
            SyncAction::LinkTimeNote {
                from,
                original,
                note,
                carried,
            },
            _,
        ) => record_time_note(&mut updated, *from, original, note, carried),
        (
            SyncAction::CopyTimeEntry {
                on,
                from,
                write,
                carried,
                ..
            },
            outcome,
        ) => {
            let copy = match (write, outcome) {
                (TimeEntryWrite::Create(_), ActionOutcome::TimeEntryWritten(copy)) => Some(copy),
                (TimeEntryWrite::Create(_), _) => return None,
                _ => None,
            };
            record_time_entry_copy(&mut updated, on.opposite(), from, copy, carried)
        }
        (
            SyncAction::LinkTimeEntry {
                from,
                original,
                copy,
                carried,
            },
            _,
        ) => record_time_entry_copy(&mut updated, *from, original, Some(copy), carried),
        (SyncAction::Close { fingerprints, .. }, _) => {
            store_fingerprints(&mut updated, fingerprints);
            updated.source_closed = true;
            updated.target_closed = true;
        }
        (
            SyncAction::ClosedState {
                source_closed,
                target_closed,
            },
            _,
        ) => {
            updated.source_closed = *source_closed;
            updated.target_closed = *target_closed;
        }
        (SyncAction::Resume { until }, _) => {
            if let Some(open) = updated.held.last_mut()
                && open.until.is_none()
            {
                open.until = Some(*until);
            }
        }
        (SyncAction::EndLink { reason, .. }, _) => {
            updated.ended = Some(LinkEnd {
                at: now,
                reason: reason.clone(),
            });
        }
        _ => return None,
    }
    updated.updated_at = now;
    Some(updated)
}
