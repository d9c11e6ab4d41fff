//! What the sync sees of a platform: tickets, comments and attachments as plain values, read
//! through the engine's `Platform` port. Field names inside [`TicketSnapshot::fields`] are the
//! platform's own; only [`TITLE`], [`DESCRIPTION`] and [`STATUS`] are shared keys.

use std::collections::BTreeMap;
use std::fmt;

use time::OffsetDateTime;

use crate::integration::ChoiceValue;
use crate::sync::ids::{ActorId, AttachmentId, CommentId, TicketId, TimeEntryId};

/// The key under which every platform reports a ticket's title in [`TicketSnapshot::fields`],
/// field mappings and [`crate::sync::FieldChange`]s (Autotask's wire name happens to agree).
pub const TITLE: &str = "title";
/// The key of a ticket's description (see [`TITLE`]).
pub const DESCRIPTION: &str = "description";
/// The key of a ticket's status (see [`TITLE`]); closures update it.
pub const STATUS: &str = "status";

/// One field's value. Numbers and other scalars travel as `Text` in the platform's canonical
/// form; picklist and reference values as `Choice`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FieldValue {
    Empty,
    Text(String),
    Choice(ChoiceValue),
    DateTime(OffsetDateTime),
}

impl FieldValue {
    pub fn text(text: impl Into<String>) -> Self {
        FieldValue::Text(text.into())
    }

    pub fn is_empty(&self) -> bool {
        match self {
            FieldValue::Empty => true,
            FieldValue::Text(text) => text.trim().is_empty(),
            _ => false,
        }
    }

    pub fn as_choice(&self) -> Option<&ChoiceValue> {
        match self {
            FieldValue::Choice(value) => Some(value),
            _ => None,
        }
    }
}

impl fmt::Display for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::Empty => Ok(()),
            FieldValue::Text(text) => f.write_str(text),
            FieldValue::Choice(value) => f.write_str(value.as_str()),
            FieldValue::DateTime(at) => write!(f, "{at}"),
        }
    }
}

/// A ticket as last read from its platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketSnapshot {
    pub id: TicketId,
    /// What people call the ticket (Autotask `ticketNumber`, e.g. `T20261127.0001`).
    pub number: String,
    pub title: String,
    pub description: String,
    pub status: Option<ChoiceValue>,
    pub queue: Option<ChoiceValue>,
    /// The company (account) the ticket belongs to.
    pub company: Option<ChoiceValue>,
    pub category: Option<ChoiceValue>,
    /// Every mappable field by platform name, with its current value. Title, description and
    /// status may be left out: [`TicketSnapshot::field`] answers them from the typed members.
    /// A field the platform has but that is empty is `FieldValue::Empty` (or absent).
    pub fields: BTreeMap<String, FieldValue>,
    /// Display text of picklist values by field name (e.g. `"priority" → "High"`), used by the
    /// description composition; fields without an entry are shown by their raw value.
    pub labels: BTreeMap<String, String>,
    /// The idempotency marker as found on the ticket (Autotask `externalID`), whoever wrote it.
    pub marker: Option<String>,
    pub created_at: OffsetDateTime,
    pub created_by: Option<ActorId>,
    /// Autotask `lastActivityDate`: moves on every change, including new comments and attachments.
    pub last_activity_at: OffsetDateTime,
    /// Autotask `lastActivityResourceID` (or the contact); `None` when the platform does not say.
    pub last_activity_by: Option<ActorId>,
}

impl TicketSnapshot {
    /// A field's current value by platform name; [`TITLE`], [`DESCRIPTION`] and [`STATUS`] fall
    /// back to the typed members. Unknown fields are `Empty`.
    pub fn field(&self, name: &str) -> FieldValue {
        if let Some(value) = self.fields.get(name) {
            return value.clone();
        }
        match name {
            TITLE => FieldValue::Text(self.title.clone()),
            DESCRIPTION => FieldValue::Text(self.description.clone()),
            STATUS => self
                .status
                .clone()
                .map_or(FieldValue::Empty, FieldValue::Choice),
            _ => FieldValue::Empty,
        }
    }

    /// What a person would read for a field: the picklist label if known, else the raw value.
    pub fn display(&self, name: &str) -> Option<String> {
        if let Some(label) = self.labels.get(name) {
            return Some(label.clone());
        }
        match self.field(name) {
            FieldValue::Empty => None,
            value => Some(value.to_string()),
        }
    }
}

/// A comment (Autotask ticket note).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentSnapshot {
    pub id: CommentId,
    pub ticket: TicketId,
    /// The publish level (Autotask `publish`: 1 = all Autotask users, 2 = internal only, …).
    pub publish: Option<ChoiceValue>,
    pub note_type: Option<ChoiceValue>,
    /// Who wrote it (Autotask `creatorResourceID` or the contact).
    pub author: Option<ActorId>,
    /// The author's name as people know it ("Jane Doe"); empty when unknown.
    pub author_name: String,
    pub created_at: OffsetDateTime,
    pub title: String,
    pub body: String,
}

/// An attachment's metadata (the content is fetched only when it is copied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentSnapshot {
    pub id: AttachmentId,
    pub ticket: TicketId,
    /// File name as shown to people (Autotask `title`/`fullPath`).
    pub name: String,
    pub size_bytes: u64,
    pub content_type: Option<String>,
    pub publish: Option<ChoiceValue>,
    /// Who attached it (Autotask `attachedByResourceID` or the contact).
    pub author: Option<ActorId>,
    pub created_at: OffsetDateTime,
}

/// Hours worked, in hundredths of an hour (1.5 h is 150): exact to compare and fingerprint, and
/// finer than any PSA shows. Never a rate, cost or billing amount — the sync copies none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hours(u32);

impl Hours {
    pub fn from_hundredths(hundredths: u32) -> Self {
        Self(hundredths)
    }

    /// Hours as a platform reports them (a decimal), rounded to the hundredth; negative, NaN
    /// and infinite values are 0.
    pub fn from_decimal(hours: f64) -> Self {
        if !hours.is_finite() || hours <= 0.0 {
            return Self(0);
        }
        Self((hours * 100.0).round().min(f64::from(u32::MAX)) as u32)
    }

    pub fn hundredths(self) -> u32 {
        self.0
    }

    pub fn as_decimal(self) -> f64 {
        f64::from(self.0) / 100.0
    }

    /// The hours at the start of a time entry's description ("1.50 h by …"), 0 when it cannot
    /// be read.
    pub fn from_description(described: &str) -> Self {
        let number = described.split(' ').next().unwrap_or_default();
        Self::from_decimal(number.parse().unwrap_or(0.0))
    }
}

impl fmt::Display for Hours {
    /// `1.50 h`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02} h", self.0 / 100, self.0 % 100)
    }
}

/// A time entry logged on a ticket (Autotask `TimeEntries`): who worked, when and how long, and
/// the summary the customer may see. Internal notes are not read into it, and neither are rates,
/// costs or billing amounts: nothing here can leak them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeEntrySnapshot {
    pub id: TimeEntryId,
    pub ticket: TicketId,
    /// Who worked (Autotask `resourceID`).
    pub resource: Option<ActorId>,
    /// The worker's name as people know it ("Jane Doe"); empty when unknown.
    pub resource_name: String,
    /// The worker's e-mail address (matched to a resource on the receiving side when time
    /// arrives as time entries); empty when unknown.
    pub resource_email: String,
    /// The day worked (Autotask `dateWorked`, or the start's day).
    pub date_worked: time::Date,
    pub start: Option<OffsetDateTime>,
    pub end: Option<OffsetDateTime>,
    pub hours: Hours,
    /// The customer-visible text (Autotask `summaryNotes`).
    pub summary: String,
    /// Whether the sender shows the summary to its customer (Autotask `showOnInvoice`): the
    /// "public summaries only" send filter keeps only these.
    pub summary_public: bool,
    pub created_at: OffsetDateTime,
    /// The sync's marker when this entry is a copy the sync made ([`crate::sync::TimeEntryMarker`],
    /// found in the entry's internal notes): a copy is never sent back. Nothing else of the
    /// internal notes is kept.
    pub marker: Option<crate::sync::TimeEntryMarker>,
}

/// A ticket deleted in its tenant (Autotask `DeletedTicketLogs`): deletion is only learnt by
/// asking, since a deleted ticket no longer shows among changed tickets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedTicket {
    pub id: TicketId,
    pub number: String,
    pub title: String,
    /// Who deleted it, by name when the platform says (else by id, else unknown).
    pub deleted_by: Option<String>,
    pub deleted_at: OffsetDateTime,
}
