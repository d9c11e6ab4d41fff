//! Attention items and per-ticket repair: a failure is reported once, not by every run; a
//! permanent one waits for a change or a person; Retry now, Skip, Resync, Unlink and Link work
//! through the same engine, leases and records as any run, and history says who did them.

use std::sync::Arc;

use fusion_domain::Role;
use fusion_domain::sync::{
    AttentionState, AttentionSubject, FailureClass, RecordOutcome, RunStatus, RunTrigger,
};
use fusion_engine::ports::{AttentionFilter, SyncStore};
use fusion_engine::{EngineError, PlatformError, RepairError, RepairStep, RunControl, SyncMode};
use time::Duration;

use crate::fake_platform::{Fault, Operation};
use crate::harness::World;

/// A world whose target takes attachments of at most 100 bytes.
fn small_attachments() -> World {
    let mut world = World::new();
    world.setup.target.platform = Arc::new(world.target.clone().with_max_attachment_bytes(100));
    world
}

async fn repair(
    world: &World,
    side: Role,
    ticket: &fusion_domain::sync::TicketId,
    step: RepairStep,
) -> Result<fusion_engine::RunSummary, EngineError> {
    let control = RunControl::default().started_by("jane@northwind.example");
    world.tick();
    world
        .engine
        .sync_once_with(
            &world.setup,
            SyncMode::Repair {
                side,
                ticket: ticket.clone(),
                step,
            },
            &control,
        )
        .await
}

#[tokio::test]
async fn an_oversized_attachment_is_one_attention_item_and_later_runs_are_success() {
    let world = small_attachments();
    let ticket = world.source.person_creates_ticket("Printer jam", "");
    world
        .source
        .person_attaches(&ticket, "scan.pdf", vec![7; 5_000]);
    let first = world.manual().await;
    assert_eq!(first.status, RunStatus::Partial, "a new failure is news");
    assert_eq!(first.counts.attention, 1);

    let items = world.store.attention();
    assert_eq!(items.len(), 1, "{items:#?}");
    let item = &items[0];
    assert_eq!(item.class, FailureClass::Permanent);
    assert_eq!(item.state, AttentionState::Open);
    assert!(matches!(item.key.subject, AttentionSubject::Attachment(_)));
    assert!(item.what.contains("scan.pdf"), "{}", item.what);
    assert!(item.what_to_do.contains("larger"), "{}", item.what_to_do);
    assert_eq!(item.title, "Printer jam");
    assert!(item.target_number.is_some(), "the copy was created");

    // The same failure again (the ticket is read again through the overlap, a comment is added
    // elsewhere): the run is Success with the item still counted, not Partial again.
    for _ in 0..3 {
        world.clock.advance(Duration::minutes(5));
        let summary = world.automatic().await;
        assert_ne!(summary.status, RunStatus::Partial, "{:#?}", summary.records);
        assert_ne!(summary.status, RunStatus::Failed);
        assert_eq!(summary.counts.attention, 1);
    }
    // A comment makes the ticket change: it is synced, the attachment is still held back.
    world.source.person_comments(&ticket, 1, "any news?");
    let summary = world.automatic().await;
    assert_eq!(summary.status, RunStatus::Success, "{:#?}", summary.records);
    assert_eq!(summary.counts.updated, 1);
    assert_eq!(summary.counts.attention, 1);
    let items = world.store.attention();
    assert_eq!(items.len(), 1, "still one item: {items:#?}");
    assert_eq!(items[0].times, 2, "tried again once the ticket changed");

    // Skip: no more attempts, no more attention.
    let skip = repair(
        &world,
        Role::Source,
        &ticket,
        RepairStep::Skip {
            subject: items[0].key.subject.clone(),
        },
    )
    .await
    .expect("skipped");
    let run = skip.run.expect("a repair is a run");
    assert_eq!(run.trigger, RunTrigger::Repair);
    assert_eq!(run.started_by.as_deref(), Some("jane@northwind.example"));
    assert_eq!(skip.counts.attention, 0);
    let item = &world.store.attention()[0];
    assert_eq!(item.state, AttentionState::Skipped);
    assert_eq!(item.skipped_by.as_deref(), Some("jane@northwind.example"));
    let records = world.store.records();
    assert!(
        records.iter().any(|record| record.run == run.id
            && record
                .notes
                .iter()
                .any(|note| note.contains("Skipped by jane@"))),
        "history says who skipped it: {records:#?}"
    );
    world.source.person_comments(&ticket, 1, "still there?");
    let summary = world.automatic().await;
    assert_eq!(summary.status, RunStatus::Success, "{:#?}", summary.records);
}

#[tokio::test]
async fn a_transient_failure_is_retried_and_needs_attention_only_once_it_lasts_a_day() {
    let world = World::new();
    let ticket = world.source.person_creates_ticket("VPN down", "");
    world.target.inject(
        Operation::CreateTicket,
        Fault::Before(PlatformError::Unavailable("503 Service Unavailable".into())),
        0,
        1_000,
    );
    let summary = world.manual().await;
    assert_eq!(summary.status, RunStatus::Partial);
    assert_eq!(
        summary.counts.attention, 0,
        "transient: not yet a person's problem"
    );
    let items = world.store.attention();
    assert_eq!(items[0].class, FailureClass::Transient);
    assert!(!items[0].needs_attention());

    // It keeps failing for a day: retried (with pauses), then shown.
    world.clock.advance(Duration::hours(25));
    let summary = world.automatic().await;
    assert_eq!(summary.counts.failed, 1, "retried: {:#?}", summary.records);
    assert_eq!(summary.counts.attention, 1);

    world.target.clear_faults();
    world.clock.advance(Duration::hours(5));
    let summary = world.automatic().await;
    assert_eq!(summary.counts.created, 1, "{:#?}", summary.records);
    assert_eq!(summary.counts.attention, 0);
    assert_eq!(world.store.attention()[0].state, AttentionState::Resolved);
    let _ = ticket;
}

#[tokio::test]
async fn retry_now_tries_a_permanent_failure_at_once_and_clears_it() {
    let world = World::new();
    let ticket = world.source.person_creates_ticket("Odd ticket", "");
    world.target.inject(
        Operation::CreateTicket,
        Fault::Before(PlatformError::PermissionDenied(
            "the API user may not create tickets in queue 30".into(),
        )),
        0,
        1_000,
    );
    world.manual().await;
    let item = world.store.attention()[0].clone();
    assert!(
        item.what_to_do.contains("permission"),
        "{}",
        item.what_to_do
    );

    // Retry before the cause is fixed: tried, fails again, still one item.
    let again = repair(&world, Role::Source, &ticket, RepairStep::Retry)
        .await
        .expect("repair runs");
    assert_eq!(again.counts.failed, 1);
    assert_eq!(
        again.status,
        RunStatus::Success,
        "a known failure is not news"
    );
    assert_eq!(world.store.attention()[0].times, 2);

    // Fixed in Autotask; Retry now creates it and resolves the item.
    world.target.clear_faults();
    let fixed = repair(&world, Role::Source, &ticket, RepairStep::Retry)
        .await
        .expect("repair runs");
    assert_eq!(fixed.counts.created, 1, "{:#?}", fixed.records);
    assert_eq!(fixed.counts.attention, 0);
    assert_eq!(world.store.attention()[0].state, AttentionState::Resolved);
    assert_eq!(world.target.tickets().len(), 1);
    // A repair reads only its ticket: the cursors do not move.
    assert!(!fixed.cursors_advanced);
}

#[tokio::test]
async fn unlink_stops_the_pair_and_link_pairs_two_existing_tickets() {
    let world = World::new();
    let ticket = world
        .source
        .person_creates_ticket("Server room too warm", "");
    world.manual().await;
    let copy = world.copy_on_target(&ticket);

    let unlinked = repair(&world, Role::Target, &copy.id, RepairStep::Unlink)
        .await
        .expect("unlinked");
    assert_eq!(unlinked.status, RunStatus::Success, "{:?}", unlinked.error);
    world
        .source
        .person_sets_title(&ticket, "Server room still too warm");
    world.automatic().await;
    assert_eq!(
        world.target.ticket_now(&copy.id).title,
        "Server room too warm",
        "nothing flows through an unlinked pair"
    );
    assert_eq!(
        world.target.tickets().len(),
        1,
        "and nothing is copied again"
    );
    let again = repair(&world, Role::Source, &ticket, RepairStep::Unlink).await;
    assert!(matches!(
        again,
        Err(EngineError::Repair(RepairError::Refused(_)))
    ));

    // Two tickets raised separately, paired by a person.
    let original = world
        .source
        .person_creates_ticket("Badge reader broken", "");
    world
        .target
        .person_creates_ticket_for(900, "Badge reader (their ticket)");
    let theirs = world
        .target
        .tickets()
        .into_iter()
        .find(|t| t.title.starts_with("Badge reader ("))
        .expect("raised");
    let linked = repair(
        &world,
        Role::Source,
        &original,
        RepairStep::Link {
            target: theirs.id.clone(),
        },
    )
    .await
    .expect("linked");
    assert!(
        world
            .store
            .records()
            .iter()
            .any(|r| r.run == linked.run.as_ref().unwrap().id
                && r.notes.iter().any(|n| n.starts_with("Linked by jane@"))),
    );
    world
        .source
        .person_sets_title(&original, "Badge reader broken at door 2");
    world.automatic().await;
    assert_eq!(
        world.target.ticket_now(&theirs.id).title,
        "Badge reader broken at door 2",
        "later changes flow through the new pair"
    );
    // A ticket of another company is refused like an unknown number: nothing is revealed about it.
    let foreign = world
        .source
        .person_creates_ticket_for(501, "Other customer");
    let refused = repair(
        &world,
        Role::Source,
        &foreign,
        RepairStep::Link {
            target: copy.id.clone(),
        },
    )
    .await;
    assert!(
        matches!(&refused, Err(EngineError::Repair(RepairError::NotFound(message))) if message.contains("no ticket")),
        "{refused:?}"
    );
}

#[tokio::test]
async fn resync_sends_the_original_fields_again() {
    let world = World::new();
    let ticket = world.source.person_creates_ticket("Laptop slow", "");
    world.manual().await;
    let copy = world.copy_on_target(&ticket);
    // Someone on the target side overwrote the title while the pair was in step.
    world.target.person_sets_title(&copy.id, "laptop");
    world.automatic().await;
    assert_eq!(
        world.source.ticket_now(&ticket).title,
        "laptop",
        "title flows both ways"
    );
    world.source.person_sets_title(&ticket, "Laptop slow");
    world.automatic().await;
    let summary = repair(&world, Role::Source, &ticket, RepairStep::Resync)
        .await
        .expect("resynced");
    assert_ne!(summary.status, RunStatus::Failed);
    assert_eq!(world.target.ticket_now(&copy.id).title, "Laptop slow");
    let skipped: Vec<_> = world
        .store
        .records()
        .into_iter()
        .filter(|r| r.outcome == RecordOutcome::Skipped)
        .collect();
    let _ = skipped;
    let items = world
        .store
        .attention_items(world.setup.relationship, &AttentionFilter::default())
        .await
        .unwrap();
    assert!(items.is_empty(), "{items:#?}");
}
