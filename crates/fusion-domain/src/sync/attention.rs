//! Attention items: a ticket (or one of its fields, comments or attachments) that cannot sync, as a
//! person sees it — what failed, why, what to do — kept once per failure instead of being reported
//! again by every run.
//!
//! Failures are classified:
//! - [`FailureClass::Transient`] (timeouts, 5xx, rate limits, budget, lease lost): retried by the
//!   next runs with backoff; one that persists for [`TRANSIENT_ATTENTION_AFTER`] is shown too.
//! - [`FailureClass::Permanent`] (rejected value, file too large, no mapping, permission denied,
//!   the partner's copy deleted): shown at once and *not* retried until something relevant changes
//!   (the ticket's activity, the configuration or mappings, the credentials) or a person asks.

use time::{Duration, OffsetDateTime};

use crate::ids::RelationshipId;
use crate::relationship::Role;
use crate::sync::action::{SyncAction, TicketPlan};
use crate::sync::ids::TicketId;

/// A transient failure that lasts this long becomes visible as an attention item.
pub const TRANSIENT_ATTENTION_AFTER: Duration = Duration::hours(24);

/// Whether a failure may go away on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureClass {
    Transient,
    Permanent,
}

impl FailureClass {
    pub fn as_str(&self) -> &'static str {
        match self {
            FailureClass::Transient => "transient",
            FailureClass::Permanent => "permanent",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "transient" => Some(FailureClass::Transient),
            "permanent" => Some(FailureClass::Permanent),
            _ => None,
        }
    }
}

/// What part of a ticket failed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AttentionSubject {
    /// Creating the copy (or linking it).
    Ticket,
    /// Updating the copy's fields as a whole (the platform refused the update).
    Fields,
    /// One field the planner could not carry (e.g. a value without a mapping).
    Field(String),
    /// One comment, by the original's id.
    Comment(String),
    /// One attachment, by the original's id.
    Attachment(String),
    /// Carrying the closure across.
    Closure,
    /// One time entry, by the original's id.
    TimeEntry(String),
}

impl AttentionSubject {
    /// Stored as kind + item.
    pub fn kind(&self) -> &'static str {
        match self {
            AttentionSubject::Ticket => "ticket",
            AttentionSubject::Fields => "fields",
            AttentionSubject::Field(_) => "field",
            AttentionSubject::Comment(_) => "comment",
            AttentionSubject::Attachment(_) => "attachment",
            AttentionSubject::Closure => "closure",
            AttentionSubject::TimeEntry(_) => "time_entry",
        }
    }

    pub fn item(&self) -> &str {
        match self {
            AttentionSubject::Field(item)
            | AttentionSubject::Comment(item)
            | AttentionSubject::Attachment(item)
            | AttentionSubject::TimeEntry(item) => item,
            _ => "",
        }
    }

    pub fn from_parts(kind: &str, item: &str) -> Option<Self> {
        Some(match kind {
            "ticket" => AttentionSubject::Ticket,
            "fields" => AttentionSubject::Fields,
            "field" => AttentionSubject::Field(item.to_owned()),
            "comment" => AttentionSubject::Comment(item.to_owned()),
            "attachment" => AttentionSubject::Attachment(item.to_owned()),
            "closure" => AttentionSubject::Closure,
            "time_entry" => AttentionSubject::TimeEntry(item.to_owned()),
            _ => return None,
        })
    }

    /// The subject an action works on, if it can fail on its own.
    pub fn of_action(action: &SyncAction) -> Option<Self> {
        Some(match action {
            SyncAction::CreateTicket { .. } | SyncAction::LinkExisting { .. } => {
                AttentionSubject::Ticket
            }
            SyncAction::UpdateFields { .. } => AttentionSubject::Fields,
            SyncAction::FieldFailure { field, .. } | SyncAction::FieldWarning { field, .. } => {
                AttentionSubject::Field(field.clone())
            }
            SyncAction::AddComment { from, .. } => {
                AttentionSubject::Comment(from.as_str().to_owned())
            }
            SyncAction::AddAttachment { from, .. } => {
                AttentionSubject::Attachment(from.as_str().to_owned())
            }
            SyncAction::AttachmentFailure { attachment, .. } => {
                AttentionSubject::Attachment(attachment.as_str().to_owned())
            }
            SyncAction::Close { .. } => AttentionSubject::Closure,
            SyncAction::AddTimeNote { from, .. } | SyncAction::CopyTimeEntry { from, .. } => {
                AttentionSubject::TimeEntry(from.as_str().to_owned())
            }
            _ => return None,
        })
    }
}

/// Which failure: one per relationship, original ticket and subject.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttentionKey {
    pub relationship: RelationshipId,
    /// The side the original ticket lives on.
    pub origin: Role,
    pub origin_ticket: TicketId,
    pub subject: AttentionSubject,
}

impl AttentionKey {
    /// The key of `action` in `plan`, when the action can fail on its own.
    pub fn of(
        relationship: RelationshipId,
        plan: &TicketPlan,
        action: &SyncAction,
    ) -> Option<Self> {
        let origin_ticket = plan.ticket(plan.origin)?.id.clone();
        Some(Self {
            relationship,
            origin: plan.origin,
            origin_ticket,
            subject: AttentionSubject::of_action(action)?,
        })
    }
}

/// Where an attention item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttentionState {
    /// Failing; a permanent one waits for a change or a person.
    Open,
    /// A person chose to stop trying it; the ticket keeps syncing otherwise.
    Skipped,
    /// It worked again (or a person unlinked the pair).
    Resolved,
}

impl AttentionState {
    pub fn as_str(&self) -> &'static str {
        match self {
            AttentionState::Open => "open",
            AttentionState::Skipped => "skipped",
            AttentionState::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(AttentionState::Open),
            "skipped" => Some(AttentionState::Skipped),
            "resolved" => Some(AttentionState::Resolved),
            _ => None,
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            AttentionState::Open => "Needs attention",
            AttentionState::Skipped => "Skipped",
            AttentionState::Resolved => "Resolved",
        }
    }
}

/// One failure as people see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttentionItem {
    pub key: AttentionKey,
    pub source_ticket: Option<TicketId>,
    pub source_number: Option<String>,
    pub target_ticket: Option<TicketId>,
    pub target_number: Option<String>,
    /// The original ticket's title.
    pub title: String,
    /// What failed, e.g. "adding the attachment setup.iso".
    pub what: String,
    /// Why, in the platform's or the planner's words.
    pub why: String,
    /// What a person can do about it.
    pub what_to_do: String,
    pub class: FailureClass,
    pub state: AttentionState,
    pub first_seen: OffsetDateTime,
    pub last_seen: OffsetDateTime,
    /// How many runs failed it.
    pub times: u32,
    /// The original ticket's last activity when it last failed: a newer activity retries it.
    pub ticket_activity: Option<OffsetDateTime>,
    /// A person asked for a retry, or the configuration or credentials changed since.
    pub retry_requested: bool,
    /// Who skipped it (a person's email), when skipped.
    pub skipped_by: Option<String>,
    pub resolved_at: Option<OffsetDateTime>,
}

impl AttentionItem {
    /// Whether people see it as needing attention now: open and permanent, or a transient failure
    /// that has lasted [`TRANSIENT_ATTENTION_AFTER`].
    pub fn needs_attention(&self) -> bool {
        self.state == AttentionState::Open
            && (self.class == FailureClass::Permanent
                || self.last_seen - self.first_seen >= TRANSIENT_ATTENTION_AFTER)
    }

    /// Whether a run should hold back from trying it again, given the original ticket's last
    /// activity as read now: skipped ones always; permanent ones until the ticket changed or a
    /// retry was asked for. Transient ones are retried (their backoff is the retry queue's).
    pub fn holds_back(&self, ticket_activity: Option<OffsetDateTime>) -> bool {
        match self.state {
            AttentionState::Skipped => true,
            AttentionState::Resolved => false,
            AttentionState::Open => {
                self.class == FailureClass::Permanent
                    && !self.retry_requested
                    && match (ticket_activity, self.ticket_activity) {
                        (Some(now), Some(then)) => now <= then,
                        _ => true,
                    }
            }
        }
    }
}

/// What to do about a failure, in plain words, from its subject and cause.
pub fn what_to_do(subject: &AttentionSubject, class: FailureClass, why: &str) -> String {
    let lower = why.to_lowercase();
    if class == FailureClass::Transient {
        return "Nothing yet: Support Fusion retries it with growing pauses. If it keeps failing, \
                check that Autotask is reachable and the API budget is not used up, then Retry."
            .into();
    }
    if lower.contains("permission") || lower.contains("not allowed") || lower.contains("forbidden")
    {
        return "Give the API user the permission it lacks in Autotask (Admin › Resources/Users › \
                the API user's security level), then Retry."
            .into();
    }
    if lower.contains("privacy guard") {
        return "Check the ticket's company: only tickets of the relationship's company cross. Move \
                it back to that company, or Skip it."
            .into();
    }
    match subject {
        AttentionSubject::Attachment(_)
            if ["large", "size", "bytes", " mb"]
                .iter()
                .any(|word| lower.contains(word)) =>
        {
            "The file is larger than the partner's Autotask accepts: share it another way (a link \
             in a note), then Skip this attachment. It is not retried until the ticket changes."
                .into()
        }
        AttentionSubject::Field(_) if lower.contains("mapping") || lower.contains("mapped") => {
            "Add the missing value mapping in the connection's Field mappings; the ticket is \
             retried when the mappings change. Or Skip this field."
                .into()
        }
        AttentionSubject::TimeEntry(_) if !lower.contains("note") && lower.contains("not found") => {
            "The copy of this time entry no longer exists in your Autotask (someone deleted it \
             there), so the change to the original cannot follow: Skip this time entry."
                .into()
        }
        AttentionSubject::TimeEntry(_)
            if !lower.contains("note")
                && [
                    "role",
                    "resource",
                    "allocation code",
                    "work type",
                    "start and stop",
                    "hoursworked",
                    "time entr",
                ]
                .iter()
                .any(|word| lower.contains(word)) =>
        {
            "Your Autotask refused the copy of this time entry: check the fallback resource, the \
             role (the resource must hold it) and the work type (an active general allocation \
             code) under \"Time entries\" in the Integration configuration, then Retry. Or Skip \
             this time entry."
                .into()
        }
        AttentionSubject::TimeEntry(_) => {
            "The partner's Autotask refused the note for this time entry: check the public note \
             type and publish level under \"Tickets you receive\" (time entries arrive with them) \
             and the API user's permission to add ticket notes, then Retry. Or Skip this time entry."
                .into()
        }
        _ if lower.contains("not found") || lower.contains("deleted") => {
            "The partner's copy no longer exists: Unlink the pair, or Link the ticket to another \
             one by number."
                .into()
        }
        _ => "Check the value in the connection's Integration configuration and Field mappings \
              (the receiving Autotask refused it), then Retry. Or Skip it."
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(class: FailureClass, state: AttentionState) -> AttentionItem {
        let at = OffsetDateTime::UNIX_EPOCH;
        AttentionItem {
            key: AttentionKey {
                relationship: RelationshipId::new(),
                origin: Role::Source,
                origin_ticket: TicketId::new("1"),
                subject: AttentionSubject::Attachment("7".into()),
            },
            source_ticket: None,
            source_number: None,
            target_ticket: None,
            target_number: None,
            title: String::new(),
            what: String::new(),
            why: String::new(),
            what_to_do: String::new(),
            class,
            state,
            first_seen: at,
            last_seen: at,
            times: 1,
            ticket_activity: Some(at),
            retry_requested: false,
            skipped_by: None,
            resolved_at: None,
        }
    }

    #[test]
    fn a_permanent_failure_waits_for_a_change_or_a_person() {
        let at = OffsetDateTime::UNIX_EPOCH;
        let mut open = item(FailureClass::Permanent, AttentionState::Open);
        assert!(open.needs_attention());
        assert!(open.holds_back(Some(at)), "same activity: not retried");
        assert!(
            !open.holds_back(Some(at + Duration::seconds(1))),
            "the ticket changed"
        );
        open.retry_requested = true;
        assert!(!open.holds_back(Some(at)), "a person asked");
        let skipped = item(FailureClass::Permanent, AttentionState::Skipped);
        assert!(skipped.holds_back(Some(at + Duration::days(1))));
        assert!(!skipped.needs_attention());
    }

    #[test]
    fn a_transient_failure_is_retried_and_shown_only_once_it_lasts() {
        let mut transient = item(FailureClass::Transient, AttentionState::Open);
        assert!(!transient.holds_back(None));
        assert!(!transient.needs_attention());
        transient.last_seen = transient.first_seen + TRANSIENT_ATTENTION_AFTER;
        assert!(transient.needs_attention());
    }

    #[test]
    fn subjects_round_trip_through_their_stored_parts() {
        for subject in [
            AttentionSubject::Ticket,
            AttentionSubject::Fields,
            AttentionSubject::Field("priority".into()),
            AttentionSubject::Comment("12".into()),
            AttentionSubject::Attachment("13".into()),
            AttentionSubject::Closure,
            AttentionSubject::TimeEntry("14".into()),
        ] {
            assert_eq!(
                AttentionSubject::from_parts(subject.kind(), subject.item()),
                Some(subject)
            );
        }
    }

    #[test]
    fn the_advice_fits_the_cause() {
        let large = what_to_do(
            &AttentionSubject::Attachment("1".into()),
            FailureClass::Permanent,
            "the file is 40 MB; the partner accepts at most 6 MB",
        );
        assert!(large.contains("larger"), "{large}");
        let mapping = what_to_do(
            &AttentionSubject::Field("priority".into()),
            FailureClass::Permanent,
            "value Critical has no mapping",
        );
        assert!(mapping.contains("Field mappings"), "{mapping}");
        let permission = what_to_do(
            &AttentionSubject::Comment("1".into()),
            FailureClass::Permanent,
            "permission denied: TicketNotes create",
        );
        assert!(permission.contains("permission"), "{permission}");
        let entry = AttentionSubject::TimeEntry("701".into());
        let role = what_to_do(
            &entry,
            FailureClass::Permanent,
            "rejected by the platform: The specified AssignedResourceID and AssignedRoleID \
             combination is not currently defined.",
        );
        assert!(
            role.contains("the role (the resource must hold it)"),
            "{role}"
        );
        let gone = what_to_do(
            &entry,
            FailureClass::Permanent,
            "not found: TimeEntries 9001",
        );
        assert!(gone.contains("no longer exists"), "{gone}");
        let note = what_to_do(
            &entry,
            FailureClass::Permanent,
            "Picklist value [9] does not exist for noteType.",
        );
        assert!(note.contains("refused the note"), "{note}");
    }
}
