//! A dry run's plan in words: per ticket, what the run would write ("Create a ticket in the
//! Target", "Add a comment to …") and what it notes (skips, conflicts, failures). Book-keeping
//! actions that write nothing a person would see (linking comments already copied, closed flags)
//! are left out.

use fusion_domain::sync::{Plan, PlannedTicket, SyncAction, TicketPlan};

/// One ticket of a dry run.
pub(crate) struct TicketPlanWords {
    pub source_number: Option<String>,
    pub target_number: Option<String>,
    /// "Source" or "Target": where the ticket was raised.
    pub origin: &'static str,
    /// What would be written, in order.
    pub actions: Vec<String>,
    /// Skips, conflicts and failures, one sentence each.
    pub notes: Vec<String>,
}

/// Every ticket the plan looks at, in the plan's order.
pub(crate) fn plan_in_words(plan: &Plan) -> Vec<TicketPlanWords> {
    plan.tickets.iter().map(ticket_in_words).collect()
}

/// How many writes the plan would make.
pub(crate) fn planned_writes(plan: &Plan) -> usize {
    plan.actions().filter(|action| action.writes()).count()
}

fn ticket_in_words(ticket: &TicketPlan) -> TicketPlanWords {
    let mut actions = Vec::new();
    let mut notes = Vec::new();
    for action in &ticket.actions {
        match describe(ticket, action) {
            Described::Write(words) => actions.push(words),
            Described::Note(words) => notes.push(words),
            Described::Quiet => {}
        }
    }
    TicketPlanWords {
        source_number: ticket.source.as_ref().map(|source| source.number.clone()),
        target_number: ticket.target.as_ref().map(|target| target.number.clone()),
        origin: ticket.origin.label(),
        actions,
        notes,
    }
}

enum Described {
    Write(String),
    Note(String),
    Quiet,
}

/// "ticket T20261127.0004", or "the new ticket" for one the same plan creates.
fn planned(plan: &TicketPlan, ticket: &PlannedTicket, on: fusion_domain::Role) -> String {
    match ticket {
        PlannedTicket::Existing(id) => match plan.ticket(on) {
            Some(known) if known.id == *id => format!("ticket {}", known.number),
            _ => format!("ticket {}", id.as_str()),
        },
        PlannedTicket::Created => "the new ticket".to_owned(),
    }
}

fn describe(plan: &TicketPlan, action: &SyncAction) -> Described {
    match action {
        SyncAction::CreateTicket { on, draft, .. } => Described::Write(format!(
            "Create a ticket in the {} titled \"{}\"",
            on.label(),
            draft.title
        )),
        SyncAction::LinkExisting {
            source_number,
            target_number,
            ..
        } => Described::Write(format!(
            "Link {source_number} (Source) with {target_number} (Target), found by its marker"
        )),
        SyncAction::UpdateFields {
            on,
            ticket,
            changes,
            ..
        } => Described::Write(format!(
            "Update {} on {} in the {}",
            changes
                .iter()
                .map(|change| change.field.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            planned(plan, &PlannedTicket::Existing(ticket.clone()), *on),
            on.label()
        )),
        SyncAction::AddComment { on, ticket, .. } => Described::Write(format!(
            "Add a comment to {} in the {}",
            planned(plan, ticket, *on),
            on.label()
        )),
        SyncAction::AddAttachment {
            on, ticket, draft, ..
        } => Described::Write(format!(
            "Attach \"{}\" to {} in the {}",
            draft.name,
            planned(plan, ticket, *on),
            on.label()
        )),
        SyncAction::AddTimeNote {
            on,
            ticket,
            carried,
            ..
        } => Described::Write(format!(
            "Add a note to {} in the {} for the time entry {} ({})",
            planned(plan, ticket, *on),
            on.label(),
            carried.described,
            carried.change.as_str()
        )),
        SyncAction::CopyTimeEntry {
            on,
            ticket,
            write,
            carried,
            ..
        } => Described::Write(format!(
            "{} the time entry {} on {} in the {} ({} there)",
            match write {
                fusion_domain::sync::TimeEntryWrite::Create(_) => "Log",
                fusion_domain::sync::TimeEntryWrite::Update { .. } => "Change",
                fusion_domain::sync::TimeEntryWrite::Delete { .. } => "Delete",
            },
            carried.described,
            planned(plan, ticket, *on),
            on.label(),
            carried.change.as_str()
        )),
        SyncAction::LinkTimeEntry { carried, .. } => Described::Write(format!(
            "Record the time entry {} as copied already, found by its marker",
            carried.described
        )),
        SyncAction::Close { on, ticket, .. } => Described::Write(format!(
            "Close {} in the {}",
            planned(plan, ticket, *on),
            on.label()
        )),
        SyncAction::Skip { reason } => Described::Note(format!("Skipped: {reason}")),
        SyncAction::Hold { reason } => Described::Note(format!("Held back: {reason}")),
        SyncAction::Resume { .. } => Described::Write(
            "Sync again: the ticket is back in this relationship's company".to_owned(),
        ),
        SyncAction::FieldWarning { field, reason } => {
            Described::Note(format!("{field} would be fitted: {reason}"))
        }
        SyncAction::EndLink { reason, .. } => {
            Described::Write(format!("Stop syncing this pair for good: {reason}"))
        }
        SyncAction::Conflict { field, winner } => Described::Note(format!(
            "Both sides changed {field}; the {} wins",
            winner.label()
        )),
        SyncAction::FieldFailure { field, reason } => {
            Described::Note(format!("{field} would not be synced: {reason}"))
        }
        SyncAction::AttachmentFailure { name, reason, .. } => Described::Note(format!(
            "Attachment \"{name}\" would not be synced: {reason}"
        )),
        SyncAction::LinkComment { .. }
        | SyncAction::LinkAttachment { .. }
        | SyncAction::LinkTimeNote { .. }
        | SyncAction::ClosedState { .. } => Described::Quiet,
    }
}
