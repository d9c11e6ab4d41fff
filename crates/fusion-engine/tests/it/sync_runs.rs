//! What a person sees after runs between two healthy tenants: tickets appear once with mapped
//! fields, edits flow per direction, comments and attachments follow with attribution, closures go
//! both ways, nothing echoes, and history says what happened.

use fusion_domain::ChoiceValue;
use fusion_domain::sync::{FieldValue, RecordOutcome, RunStatus, SyncAction};
use fusion_engine::{EngineError, SyncMode};

use crate::harness::World;

#[tokio::test]
async fn a_ticket_raised_on_the_source_appears_once_on_the_target_with_mapped_fields() {
    let world = World::new();
    let raised = world
        .source
        .person_creates_ticket("Printer jammed", "Floor 2 printer is jammed.");
    let summary = world.manual().await;
    assert_eq!(summary.status, RunStatus::Success);
    assert_eq!(summary.counts.created, 1);
    let copies = world.target.copies();
    assert_eq!(copies.len(), 1);
    let copy = world.copy_on_target(&raised);
    assert_eq!(copy.title, "Printer jammed");
    assert_eq!(copy.description, "Floor 2 printer is jammed.");
    assert_eq!(copy.company, Some(ChoiceValue::from(900)));
    assert_eq!(copy.queue, Some(ChoiceValue::from(30)));
    assert_eq!(
        copy.fields.get("priority"),
        Some(&FieldValue::Choice(ChoiceValue::from(20)))
    );
    let records = world.store.records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].outcome, RecordOutcome::Created);
    assert_eq!(
        records[0].target_number.as_deref(),
        Some(copy.number.as_str())
    );
}

#[tokio::test]
async fn a_run_after_a_run_with_nothing_new_finds_no_tickets_to_sync_and_writes_nothing() {
    let world = World::new();
    world.source.person_creates_ticket("Printer jammed", "");
    world.manual().await;
    let calls_before = world.target.tickets().len();
    let again = world.automatic().await;
    assert_eq!(again.status, RunStatus::NoTicketsFound);
    assert_eq!(again.status.label(), "No tickets found to sync");
    assert_eq!(world.target.tickets().len(), calls_before);
    assert!(!again.plan.writes(), "{:#?}", again.plan);
}

#[tokio::test]
async fn an_automatic_run_before_the_first_manual_run_asks_for_the_initial_sync() {
    let world = World::new();
    let outcome = world.run(SyncMode::Automatic).await;
    assert!(matches!(outcome, Err(EngineError::InitialSyncRequired)));
}

#[tokio::test]
async fn edits_flow_the_way_each_field_is_mapped() {
    let world = World::new();
    let raised = world.source.person_creates_ticket("Printer jammed", "");
    world.manual().await;
    let copy = world.copy_on_target(&raised).id;

    world
        .source
        .person_sets_field(&raised, "priority", FieldValue::Choice(3.into()));
    world
        .target
        .person_sets_title(&copy, "Printer jammed (on site visit)");
    world.tick();
    let summary = world.automatic().await;
    assert_eq!(summary.status, RunStatus::Success);
    assert_eq!(summary.counts.updated, 1);
    assert_eq!(
        world.target.ticket_now(&copy).fields.get("priority"),
        Some(&FieldValue::Choice(30.into()))
    );
    assert_eq!(
        world.source.ticket_now(&raised).title,
        "Printer jammed (on site visit)"
    );

    // priority flows source → target only: a target edit stays on the target
    world
        .target
        .person_sets_field(&copy, "priority", FieldValue::Choice(99.into()));
    world.automatic().await;
    assert_eq!(
        world.source.ticket_now(&raised).fields.get("priority"),
        Some(&FieldValue::Choice(3.into()))
    );
}

#[tokio::test]
async fn comments_are_copied_with_an_attribution_line_and_never_echoed_back() {
    let world = World::new();
    let raised = world.source.person_creates_ticket("Printer jammed", "");
    world
        .source
        .person_comments(&raised, 1, "It makes a grinding noise.");
    world
        .source
        .person_comments(&raised, 2, "Internal: the customer is VIP.");
    world.manual().await;
    let copy = world.copy_on_target(&raised).id;
    let comments = world.target.comments_of(&copy);
    assert_eq!(
        comments.len(),
        1,
        "internal comments stay internal: {comments:#?}"
    );
    assert_eq!(
        comments[0].body,
        "From Contoso Manufacturing \u{2014} Jane Doe:\nIt makes a grinding noise."
    );
    assert_eq!(comments[0].note_type, Some(3.into()));

    world
        .target
        .person_comments(&copy, 1, "Technician booked for Monday.");
    world.automatic().await;
    world.automatic().await;
    let on_source = world.source.comments_of(&raised);
    assert_eq!(on_source.len(), 3, "{on_source:#?}");
    assert!(on_source[2].body.starts_with("From Northwind IT"));
    assert_eq!(world.target.comments_of(&copy).len(), 2);
}

#[tokio::test]
async fn attachments_are_copied_and_one_too_large_makes_a_partial_run_that_says_why() {
    let world = World::new();
    let raised = world.source.person_creates_ticket("Printer jammed", "");
    world
        .source
        .person_attaches(&raised, "photo.jpg", vec![7; 1_000]);
    world
        .source
        .person_attaches(&raised, "video.mp4", vec![1; 7_000_001]);
    let summary = world.manual().await;
    assert_eq!(summary.status, RunStatus::Partial);
    let copy = world.copy_on_target(&raised).id;
    let attachments = world.target.attachments_of(&copy);
    assert_eq!(attachments.len(), 1);
    assert_eq!(attachments[0].0.name, "photo.jpg");
    assert_eq!(attachments[0].1, vec![7; 1_000]);
    let record = &world.store.records()[0];
    assert_eq!(record.failed_attachments, 1);
    assert!(
        record.notes.iter().any(|note| note.contains("video.mp4")),
        "{record:#?}"
    );
    assert!(summary.error.unwrap_or_default().contains("video.mp4"));
}

#[tokio::test]
async fn closing_either_side_closes_the_other_and_reopening_is_not_undone() {
    let world = World::new();
    let first = world.source.person_creates_ticket("One", "");
    let second = world.source.person_creates_ticket("Two", "");
    world.manual().await;
    let first_copy = world.copy_on_target(&first).id;
    let second_copy = world.copy_on_target(&second).id;

    world.source.person_sets_status(&first, 5);
    world.target.person_sets_status(&second_copy, 5);
    let summary = world.automatic().await;
    assert_eq!(summary.counts.closed, 2);
    assert_eq!(world.target.ticket_now(&first_copy).status, Some(5.into()));
    assert_eq!(world.source.ticket_now(&second).status, Some(5.into()));

    // The customer reopens the first ticket: the status flows, nothing closes it again.
    world.source.person_sets_status(&first, 1);
    world.automatic().await;
    world.automatic().await;
    assert_eq!(world.source.ticket_now(&first).status, Some(1.into()));
    assert_eq!(world.target.ticket_now(&first_copy).status, Some(1.into()));
}

#[tokio::test]
async fn an_unmapped_picklist_value_falls_back_to_the_default_and_the_record_says_so() {
    let world = World::new();
    let raised = world.source.person_creates_ticket("Printer jammed", "");
    world
        .source
        .person_sets_field(&raised, "priority", FieldValue::Choice(4.into()));
    let summary = world.manual().await;
    assert_eq!(summary.status, RunStatus::Success);
    let copies = world.target.copies();
    assert_eq!(copies.len(), 1, "the ticket is created");
    assert_eq!(
        copies[0].field("priority"),
        FieldValue::Choice(2.into()),
        "the configured default"
    );
    let notes = &summary.records[0].notes;
    assert!(
        notes
            .iter()
            .any(|note| note.contains("priority") && note.contains("configured default")),
        "{notes:?}"
    );
}

#[tokio::test]
async fn with_reverse_sync_a_ticket_raised_on_the_target_appears_on_the_source_once() {
    let mut world = World::new();
    world.setup.target.config.reverse_sync.enabled = true;
    let raised = world
        .target
        .person_creates_ticket("Planned maintenance", "Saturday");
    world.manual().await;
    world.automatic().await;
    let copies = world.source.copies();
    assert_eq!(copies.len(), 1);
    assert_eq!(world.copy_on_source(&raised).title, "Planned maintenance");
    assert_eq!(
        world.target.tickets().len(),
        1,
        "nothing is sent back again"
    );
}

#[tokio::test]
async fn without_reverse_sync_a_ticket_raised_on_the_target_stays_there() {
    let world = World::new();
    world
        .target
        .person_creates_ticket("Planned maintenance", "");
    let summary = world.manual().await;
    assert_eq!(summary.status, RunStatus::NoTicketsFound);
    assert!(world.source.tickets().is_empty());
}

#[tokio::test]
async fn a_dry_run_writes_nothing_and_plans_exactly_what_the_run_then_does() {
    let world = World::new();
    let raised = world.source.person_creates_ticket("Printer jammed", "");
    world.source.person_comments(&raised, 1, "Grinding noise.");
    world.manual().await;
    world.source.person_sets_title(&raised, "Printer on fire");
    world.source.person_comments(&raised, 1, "Smoke now.");
    world.source.person_creates_ticket("Second", "");

    let target_before = world.target.tickets();
    let runs_before = world.store.runs().len();
    let dry = world.dry_run().await;
    assert_eq!(world.target.tickets(), target_before);
    assert_eq!(world.store.runs().len(), runs_before);
    assert!(dry.run.is_none());

    let real = world.automatic().await;
    let kinds = |plan: &fusion_domain::sync::Plan| -> Vec<String> {
        plan.actions()
            .filter(|action| action.writes())
            .map(|action| match action {
                SyncAction::CreateTicket { draft, .. } => format!("create {}", draft.title),
                other => format!("{other:?}"),
            })
            .collect()
    };
    assert_eq!(kinds(&dry.plan), kinds(&real.plan));
    assert_eq!(dry.counts.created, real.counts.created);
    assert_eq!(dry.counts.updated, real.counts.updated);
}

#[tokio::test]
async fn a_lease_held_by_another_process_makes_the_run_wait_until_it_expires() {
    let world = World::new();
    world.source.person_creates_ticket("Printer jammed", "");
    use fusion_engine::ports::{LeaseKey, SyncStore};
    world
        .store
        .claim_lease(
            &LeaseKey::Relationship(world.setup.relationship),
            "other-process",
            crate::harness::start_time(),
            time::Duration::minutes(10),
        )
        .await
        .unwrap()
        .expect("free lease");
    let busy = world
        .run(SyncMode::Manual {
            since: World::since(),
        })
        .await;
    assert!(matches!(busy, Err(EngineError::Busy(_))), "{busy:?}");
    assert!(world.target.tickets().is_empty());
    world.clock.advance(time::Duration::minutes(10));
    assert_eq!(world.manual().await.counts.created, 1);
}

#[tokio::test]
async fn history_counts_calls_and_marks_the_baseline() {
    let world = World::new();
    world.source.person_creates_ticket("Printer jammed", "");
    let summary = world.manual().await;
    assert!(summary.cursors_advanced);
    assert!(summary.calls_used > 0);
    let run = summary.run.expect("stored run");
    assert_eq!(world.store.runs()[0].calls_used, summary.calls_used);
    assert_eq!(run.status, RunStatus::Success);
    assert!(run.duration().is_some());
}

#[tokio::test]
async fn changes_spread_over_many_pages_are_all_synced_once() {
    let world = World::with_settings(|settings| settings.page_size = 2);
    let raised: Vec<_> = (0..7)
        .map(|n| {
            world
                .source
                .person_creates_ticket(&format!("Ticket {n}"), "")
        })
        .collect();
    let summary = world.manual().await;
    assert_eq!(summary.counts.created, 7);
    assert_eq!(world.target.copies().len(), 7);
    for ticket in &raised {
        world.copy_on_target(ticket);
    }
}

#[tokio::test]
async fn both_sides_changing_the_title_is_recorded_as_a_conflict_and_the_later_change_wins() {
    let world = World::new();
    let raised = world.source.person_creates_ticket("Printer jammed", "");
    world.manual().await;
    let copy = world.copy_on_target(&raised).id;
    world.source.person_sets_title(&raised, "Customer's title");
    world.tick();
    world.target.person_sets_title(&copy, "Technician's title");
    let summary = world.automatic().await;
    assert_eq!(summary.counts.conflicts, 1);
    assert_eq!(world.source.ticket_now(&raised).title, "Technician's title");
    assert_eq!(world.target.ticket_now(&copy).title, "Technician's title");
    let record = summary.records.last().expect("a record");
    assert!(
        record
            .notes
            .iter()
            .any(|note| note.contains("Conflict on title")),
        "{record:#?}"
    );
}

#[tokio::test]
async fn once_tickets_are_in_step_a_quiet_relationship_costs_only_the_change_listing() {
    let world = World::new();
    for n in 0..10 {
        let ticket = world
            .source
            .person_creates_ticket(&format!("Ticket {n}"), "");
        world.source.person_comments(&ticket, 1, "Hello");
    }
    world.manual().await;
    // The next run reads our own writes back once (through the overlap window) and finds them in
    // step; from then on nothing is read but the two change listings and the two own-actor calls.
    world.automatic().await;
    world.clock.advance(time::Duration::minutes(30));
    let quiet = world.automatic().await;
    assert_eq!(quiet.status, RunStatus::NoTicketsFound);
    assert_eq!(quiet.calls_used, 4);

    let ticket = world.source.tickets()[0].id.clone();
    world.source.person_sets_title(&ticket, "Changed");
    let one_change = world.automatic().await;
    assert_eq!(one_change.counts.updated, 1);
    assert!(one_change.calls_used <= 10, "{}", one_change.calls_used);
}
