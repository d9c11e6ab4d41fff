//! Planner tables for time entries that arrive as time entries: a logged entry becomes one copy
//! with the configured resource fallback, role, work type and billable flag; an edit changes the
//! copy and a deletion deletes it, once each; a copy is never sent back; a copy made before a
//! crash is found by its marker and linked instead of logged again.

use crate::integration::TimeArrival;

use super::*;

fn entry(id: &str, ticket: &str, hundredths: u32, summary: &str) -> TimeEntrySnapshot {
    TimeEntrySnapshot {
        id: TimeEntryId::new(id),
        ticket: TicketId::new(ticket),
        resource: Some(ActorId::new("29682885")),
        resource_name: "Jane Doe".into(),
        resource_email: "jane.doe@northwindit.example".into(),
        date_worked: at(60).date(),
        start: None,
        end: None,
        hours: Hours::from_hundredths(hundredths),
        summary: summary.into(),
        summary_public: true,
        created_at: at(60),
        marker: None,
    }
}

/// The customer (source) receiving the MSP's (target's) time as time entries.
fn pair_with_time(entries: Vec<TimeEntrySnapshot>, copies: Vec<TimeEntrySnapshot>) -> PlanInput {
    let (mut input, source, target) = linked_pair();
    let settings = &mut input.source.config.time_entries;
    settings.arrive_as = TimeArrival::TimeEntries;
    settings.fallback_resource = Some(choice(30));
    settings.role = Some(choice(40));
    settings.billing_code = Some(choice(50));
    settings.billable = false;
    let mut source_state = state(source);
    source_state.time_entries = Some(copies);
    let mut target_state = state(target);
    target_state.time_entries = Some(entries);
    with_tickets(input, vec![source_state], vec![target_state])
}

fn copies(plan: &TicketPlan) -> Vec<(&TimeEntryWrite, &CarriedTimeEntry)> {
    plan.actions
        .iter()
        .filter_map(|action| match action {
            SyncAction::CopyTimeEntry {
                on: Role::Source,
                write,
                carried,
                ..
            } => Some((write, carried)),
            SyncAction::AddTimeNote { .. } => panic!("a note where a time entry was wanted"),
            _ => None,
        })
        .collect()
}

fn after_applying(input: &PlanInput, plan: &TicketPlan) -> TicketLink {
    let mut link = plan.link.clone().expect("linked");
    for action in &plan.actions {
        let outcome = match action {
            SyncAction::CopyTimeEntry { from, .. } => {
                ActionOutcome::TimeEntryWritten(TimeEntryId::new(format!("copy-of-{from}")))
            }
            _ => ActionOutcome::Applied,
        };
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
fn a_logged_entry_becomes_one_time_entry_with_the_receivers_choices_and_no_money() {
    let input = pair_with_time(
        vec![entry("701", "T1", 150, "Replaced the fuser unit")],
        vec![],
    );
    let plan = only_plan(&input);
    let copies = copies(&plan);
    assert_eq!(copies.len(), 1, "{plan:#?}");
    let (TimeEntryWrite::Create(draft), carried) = copies[0] else {
        panic!("{:?}", copies[0]);
    };
    assert_eq!(carried.change, TimeChange::Logged);
    assert_eq!(draft.worker_email, "jane.doe@northwindit.example");
    assert_eq!(draft.fallback_resource, Some(choice(30)));
    assert_eq!(draft.role, Some(choice(40)));
    assert_eq!(draft.billing_code, Some(choice(50)));
    assert!(!draft.billable);
    assert_eq!(draft.hours, Hours::from_hundredths(150));
    assert_eq!(draft.summary, "Replaced the fuser unit");
    // No start or end on the original: 09:00 UTC of the day worked plus the hours.
    assert_eq!(draft.start.hour(), 9);
    assert_eq!(draft.end - draft.start, Duration::minutes(90));
    let (relationship, side, original) =
        TimeEntryMarker::parse(draft.marker.as_str()).expect("marker");
    assert_eq!(
        (relationship, side, original.as_str()),
        (input.relationship, Role::Target, "701")
    );
    assert!(draft.origin_note.contains("Jane Doe at Northwind IT"));
    assert!(draft.origin_note.contains(draft.marker.as_str()));
}

#[test]
fn an_edit_changes_the_copy_once_and_a_deletion_deletes_it_once() {
    let input = pair_with_time(vec![entry("701", "T1", 150, "Work")], vec![]);
    let plan = only_plan(&input);
    let link = after_applying(&input, &plan);
    assert_eq!(
        link.time_entries[0].copy,
        Some(TimeEntryId::new("copy-of-701"))
    );
    let mut again = input.clone();
    again.links = vec![link.clone()];
    assert!(copies(&only_plan(&again)).is_empty());

    let mut edited = again.clone();
    edited.target.tickets[0].time_entries = Some(vec![entry("701", "T1", 200, "Work, more")]);
    let plan = only_plan(&edited);
    let found = copies(&plan);
    assert_eq!(found.len(), 1);
    match found[0] {
        (TimeEntryWrite::Update { copy, draft }, carried) => {
            assert_eq!(copy.as_str(), "copy-of-701");
            assert_eq!(draft.hours, Hours::from_hundredths(200));
            assert_eq!(draft.summary, "Work, more");
            assert_eq!(carried.change, TimeChange::Changed);
        }
        other => panic!("{other:?}"),
    }
    let link = after_applying(&edited, &plan);
    let mut edited_again = edited.clone();
    edited_again.links = vec![link];
    assert!(copies(&only_plan(&edited_again)).is_empty());

    let mut deleted = edited_again.clone();
    deleted.target.tickets[0].time_entries = Some(Vec::new());
    let plan = only_plan(&deleted);
    let found = copies(&plan);
    assert_eq!(found.len(), 1);
    assert!(matches!(
        found[0],
        (TimeEntryWrite::Delete { copy }, carried) if copy.as_str() == "copy-of-701" && carried.change == TimeChange::Deleted
    ));
    let link = after_applying(&deleted, &plan);
    assert!(link.time_entries[0].deleted);
    let mut after = deleted.clone();
    after.links = vec![link];
    assert!(copies(&only_plan(&after)).is_empty());
}

#[test]
fn a_copy_is_never_sent_back_even_when_both_sides_receive_time() {
    let input = pair_with_time(vec![entry("701", "T1", 150, "Work")], vec![]);
    let plan = only_plan(&input);
    let link = after_applying(&input, &plan);
    let mut both = input.clone();
    both.links = vec![link];
    both.target.config.time_entries = both.source.config.time_entries.clone();
    // The copy as the customer's tenant shows it: with the marker in its internal notes.
    let mut copy = entry("copy-of-701", "S1", 150, "Work");
    copy.marker = Some(TimeEntryMarker::for_copy_of(
        input.relationship,
        Role::Target,
        &TimeEntryId::new("701"),
    ));
    both.source.tickets[0].time_entries = Some(vec![copy.clone()]);
    let plan = only_plan(&both);
    assert!(
        !plan.actions.iter().any(|action| matches!(
            action,
            SyncAction::CopyTimeEntry {
                on: Role::Target,
                ..
            }
        )),
        "{plan:#?}"
    );
    // Known to the link by id, even if someone removed the marker: still not sent back.
    copy.marker = None;
    both.source.tickets[0].time_entries = Some(vec![copy]);
    let plan = only_plan(&both);
    assert!(!plan.actions.iter().any(|action| matches!(
        action,
        SyncAction::CopyTimeEntry {
            on: Role::Target,
            ..
        }
    )));
}

#[test]
fn a_copy_logged_before_a_crash_is_found_by_its_marker_and_linked_not_logged_again() {
    let input = pair_with_time(vec![entry("701", "T1", 150, "Work")], vec![]);
    let mut crashed = input.clone();
    let mut copy = entry("9001", "S1", 150, "Work");
    copy.marker = Some(TimeEntryMarker::for_copy_of(
        input.relationship,
        Role::Target,
        &TimeEntryId::new("701"),
    ));
    crashed.source.tickets[0].time_entries = Some(vec![copy]);
    let plan = only_plan(&crashed);
    assert!(copies(&plan).is_empty(), "{plan:#?}");
    let linked = plan.actions.iter().find_map(|action| match action {
        SyncAction::LinkTimeEntry { copy, original, .. } => Some((copy, original)),
        _ => None,
    });
    assert_eq!(
        linked.map(|(copy, original)| (copy.as_str(), original.as_str())),
        Some(("9001", "701"))
    );
    let link = after_applying(&crashed, &plan);
    assert_eq!(link.time_entries[0].copy, Some(TimeEntryId::new("9001")));
}

#[test]
fn an_entry_carried_as_notes_before_the_switch_is_not_logged_a_second_time() {
    let input = pair_with_time(vec![entry("701", "T1", 150, "Work")], vec![]);
    let mut switched = input.clone();
    switched.links[0].time_entries.push(CopiedTimeEntry {
        from: Role::Target,
        original: TimeEntryId::new("701"),
        notes: vec![CommentId::new("n1")],
        fingerprint: Fingerprint::of_text("older"),
        described: "1.00 h by Jane Doe on 2026-11-18".into(),
        deleted: false,
        copy: None,
    });
    assert!(copies(&only_plan(&switched)).is_empty());
}
