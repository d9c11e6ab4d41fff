//! Planner tables for time entries carried as notes: logged, changed and deleted entries each
//! tell the partner once; nothing echoes; copies found by content are linked, not written again;
//! the setting and the send filter are respected.

use crate::integration::{TimeArrival, TimeSendFilter};

use super::*;

fn entry(id: &str, ticket: &str, hundredths: u32, summary: &str) -> TimeEntrySnapshot {
    TimeEntrySnapshot {
        id: TimeEntryId::new(id),
        ticket: TicketId::new(ticket),
        resource: Some(ActorId::new("29682885")),
        resource_name: "Jane Doe".into(),
        resource_email: "jane.doe@northwindit.example".into(),
        date_worked: at(60).date(),
        start: Some(at(60)),
        end: Some(at(60 + i64::from(hundredths) * 60 / 100)),
        hours: Hours::from_hundredths(hundredths),
        summary: summary.into(),
        summary_public: true,
        created_at: at(60),
        marker: None,
    }
}

/// The linked pair, the customer (source) receiving the MSP's (target's) time as notes, with
/// the MSP's ticket carrying `entries`.
fn pair_with_time(entries: Vec<TimeEntrySnapshot>) -> PlanInput {
    let (mut input, source, target) = linked_pair();
    input.source.config.time_entries.arrive_as = TimeArrival::Notes;
    let mut source_state = state(source);
    source_state.time_entries = Some(Vec::new());
    let mut target_state = state(target);
    target_state.time_entries = Some(entries);
    with_tickets(input, vec![source_state], vec![target_state])
}

fn time_notes(plan: &TicketPlan) -> Vec<(Role, &CommentDraft, &CarriedTimeEntry)> {
    plan.actions
        .iter()
        .filter_map(|action| match action {
            SyncAction::AddTimeNote {
                on, draft, carried, ..
            } => Some((*on, draft, carried)),
            _ => None,
        })
        .collect()
}

/// The link after the plan's time notes were written (as the engine would save it).
fn after_applying(input: &PlanInput, plan: &TicketPlan) -> TicketLink {
    let mut link = plan.link.clone().expect("linked");
    for (index, action) in plan.actions.iter().enumerate() {
        let id = match action {
            SyncAction::AddTimeNote { from, carried, .. } => {
                format!("note-{from}-{}", carried.change.as_str())
            }
            _ => format!("other-{index}"),
        };
        let outcome = ActionOutcome::CommentAdded(CommentId::new(id));
        if let Some(next) = link_after_success(
            input.relationship,
            plan,
            Some(&link),
            action,
            &outcome,
            at(99),
        ) {
            link = next;
        }
    }
    link
}

#[test]
fn time_logged_on_the_msps_copy_arrives_as_one_note_with_who_when_hours_and_summary() {
    let input = pair_with_time(vec![entry("701", "T1", 150, "Replaced the fuser unit")]);
    let plan = only_plan(&input);
    let notes = time_notes(&plan);
    assert_eq!(notes.len(), 1, "{plan:#?}");
    let (on, draft, carried) = notes[0];
    assert_eq!(on, Role::Source);
    assert_eq!(carried.change, TimeChange::Logged);
    assert_eq!(draft.title, "Time logged: 1.50 h by Jane Doe");
    assert!(
        draft
            .body
            .starts_with("From Northwind IT \u{2014} Jane Doe: 1.50 h worked on"),
        "{}",
        draft.body
    );
    assert!(draft.body.contains("Replaced the fuser unit"));
    assert!(draft.body.ends_with("[Northwind IT time entry 701]"));
    // The receiving side's public note defaults.
    assert_eq!(draft.publish, Some(choice(1)));
    assert_eq!(draft.note_type, Some(choice(3)));
}

#[test]
fn with_time_entries_off_nothing_is_carried() {
    let mut input = pair_with_time(vec![entry("701", "T1", 150, "Work")]);
    input.source.config.time_entries.arrive_as = TimeArrival::Off;
    assert!(time_notes(&only_plan(&input)).is_empty());
}

#[test]
fn entries_not_read_are_never_taken_for_deleted() {
    let input = pair_with_time(vec![entry("701", "T1", 150, "Work")]);
    let plan = only_plan(&input);
    let mut input = input.clone();
    input.links = vec![after_applying(&input, &plan)];
    input.target.tickets[0].time_entries = None;
    assert!(time_notes(&only_plan(&input)).is_empty());
}

#[test]
fn an_edit_follows_once_and_a_deletion_follows_once() {
    let input = pair_with_time(vec![entry("701", "T1", 150, "Work")]);
    let plan = only_plan(&input);
    let link = after_applying(&input, &plan);
    assert_eq!(link.time_entries.len(), 1);

    // Unchanged: nothing more.
    let mut again = input.clone();
    again.links = vec![link.clone()];
    assert!(time_notes(&only_plan(&again)).is_empty());

    // Hours changed: one "changed" note saying what it reads now and what it read before.
    let mut edited = again.clone();
    edited.target.tickets[0].time_entries = Some(vec![entry("701", "T1", 200, "Work")]);
    let plan = only_plan(&edited);
    let notes = time_notes(&plan);
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].2.change, TimeChange::Changed);
    assert!(
        notes[0].1.body.contains("it now reads 2.00 h"),
        "{}",
        notes[0].1.body
    );
    assert!(
        notes[0].1.body.contains("it read 1.50 h by Jane Doe"),
        "{}",
        notes[0].1.body
    );
    let link = after_applying(&edited, &plan);
    let mut edited_again = edited.clone();
    edited_again.links = vec![link.clone()];
    assert!(time_notes(&only_plan(&edited_again)).is_empty());

    // Deleted: one note, then never again.
    let mut deleted = edited_again.clone();
    deleted.target.tickets[0].time_entries = Some(Vec::new());
    let plan = only_plan(&deleted);
    let notes = time_notes(&plan);
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].2.change, TimeChange::Deleted);
    assert_eq!(
        notes[0].1.title,
        "Time entry deleted: 2.00 h by Jane Doe on 2026-11-18"
    );
    let link = after_applying(&deleted, &plan);
    assert!(link.time_entries[0].deleted);
    assert_eq!(link.time_entries[0].notes.len(), 3);
    let mut after = deleted.clone();
    after.links = vec![link];
    assert!(time_notes(&only_plan(&after)).is_empty());
}

#[test]
fn a_note_written_before_a_crash_is_linked_instead_of_written_again() {
    let input = pair_with_time(vec![entry("701", "T1", 150, "Work")]);
    let plan = only_plan(&input);
    let body = time_notes(&plan)[0].1.body.clone();
    let mut crashed = input.clone();
    let mut note = comment("c-ours", "S1", 1, "api-source");
    note.body = body;
    crashed.source.tickets[0].comments.push(note);
    let plan = only_plan(&crashed);
    assert!(time_notes(&plan).is_empty(), "{plan:#?}");
    assert!(plan.actions.iter().any(|action| matches!(
        action,
        SyncAction::LinkTimeNote { note, .. } if note.as_str() == "c-ours"
    )));
    // The note is ours: it is never sent back as a comment.
    assert!(
        !plan
            .actions
            .iter()
            .any(|action| matches!(action, SyncAction::AddComment { .. }))
    );
}

#[test]
fn only_entries_with_a_public_summary_are_sent_when_the_sender_says_so() {
    let mut private = entry("702", "T1", 50, "Internal research");
    private.summary_public = false;
    let mut input = pair_with_time(vec![entry("701", "T1", 150, "Work"), private]);
    input.target.config.time_entries.send = TimeSendFilter::PublicSummaryOnly;
    let plan = only_plan(&input);
    let notes = time_notes(&plan);
    assert_eq!(notes.len(), 1);
    assert!(notes[0].1.body.contains("time entry 701"));
}

#[test]
fn time_logged_while_a_pair_was_held_is_never_sent() {
    let mut input = pair_with_time(vec![entry("701", "T1", 150, "Work")]);
    input.links[0].held = vec![HeldPeriod {
        from: at(30),
        until: Some(at(90)),
    }];
    assert!(time_notes(&only_plan(&input)).is_empty());
}

#[test]
fn a_new_ticket_brings_its_time_to_the_copy_it_creates() {
    let mut input = input();
    input.target.config.time_entries.arrive_as = TimeArrival::Notes;
    let mut source = state(ticket("S1"));
    source.time_entries = Some(vec![entry("801", "S1", 25, "Triage")]);
    let input = with_tickets(input, vec![source], vec![]);
    let plan = only_plan(&input);
    assert!(plan.actions.iter().any(|action| matches!(
        action,
        SyncAction::AddTimeNote {
            on: Role::Target,
            ticket: PlannedTicket::Created,
            ..
        }
    )));
}
