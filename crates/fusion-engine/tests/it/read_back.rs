//! Copies created without being read back (a platform answering a create with the id only, as
//! Autotask does): the engine reads a page's copies together, then completes their links. A
//! failure or a crash between the create and the read-back neither loses nor duplicates
//! anything, and the value a copy got from its defaults is never mistaken for a change.

use fusion_domain::sync::{ActorId, RecordOutcome, RunStatus, TicketId};
use fusion_engine::{Platform, PlatformError, SyncMode};
use time::Duration;

use crate::fake_platform::{Fault, Operation};
use crate::harness::World;

/// A ticket whose status (2) has no value mapping: its copy gets the configured default status
/// (1), which the link must remember as in step — else the copy's default would flow back and
/// overwrite the customer's status.
fn ticket_with_unmapped_status(world: &World) -> TicketId {
    let raised = world
        .source
        .person_creates_ticket("Printer jammed", "Floor 2");
    world.source.person_sets_status(&raised, 2);
    world.source.person_comments(&raised, 1, "Grinding noise.");
    world
        .source
        .person_attaches(&raised, "photo.jpg", vec![3; 100]);
    raised
}

/// Every link names its copy's number, nothing is pending, each original has one copy, and the
/// original's own status was left alone.
fn assert_complete(world: &World, raised: &[TicketId]) {
    assert_eq!(world.target.copies().len(), raised.len());
    for ticket in raised {
        let copy = world.copy_on_target(ticket);
        assert!(!copy.number.is_empty());
        let link = world
            .store
            .links()
            .into_iter()
            .find(|link| &link.source == ticket)
            .expect("linked");
        assert_eq!(link.target_number, copy.number, "the link names the copy");
        assert_eq!(world.target.comments_of(&copy.id).len(), 1);
        assert_eq!(world.target.attachments_of(&copy.id).len(), 1);
    }
    assert!(world.store.pending().is_empty(), "no create left pending");
    let api = ActorId::new("api-contoso");
    for ticket in raised {
        let original = world.source.ticket_now(ticket);
        assert_eq!(
            original.status,
            Some(2.into()),
            "the customer's status stays"
        );
        assert_ne!(
            original.last_activity_by,
            Some(api.clone()),
            "nothing written back"
        );
    }
}

#[tokio::test]
async fn copies_answered_with_their_id_only_are_read_back_together_and_linked_with_their_numbers() {
    let world = World::new();
    world.target.answer_creates_unread();
    let raised: Vec<TicketId> = (0..3)
        .map(|_| ticket_with_unmapped_status(&world))
        .collect();
    let calls_before = Platform::calls_used(&world.target);
    let summary = world.manual().await;
    assert_eq!(summary.status, RunStatus::Success, "{:?}", summary.error);
    // Per copy: the create, a note, an attachment; once: the own actor, the changed tickets and
    // the one read-back of all three copies.
    assert_eq!(
        Platform::calls_used(&world.target) - calls_before,
        3 * 3 + 3
    );
    for record in &summary.records {
        assert_eq!(record.outcome, RecordOutcome::Created);
        let copy = world.copy_on_target(record.source_ticket.as_ref().expect("a source"));
        assert_eq!(record.target_number.as_deref(), Some(copy.number.as_str()));
    }
    world.tick();
    world.automatic().await;
    assert_complete(&world, &raised);
    assert!(!world.dry_run().await.plan.writes(), "nothing left to do");
}

#[tokio::test]
async fn a_copy_whose_read_back_failed_is_completed_by_the_next_run_without_a_second_copy() {
    let world = World::new();
    world.target.answer_creates_unread();
    let raised = vec![ticket_with_unmapped_status(&world)];
    world.target.inject(
        Operation::Ticket,
        Fault::Before(PlatformError::Unavailable("connection reset".into())),
        0,
        1,
    );
    let summary = world.manual().await;
    assert_eq!(summary.counts.created, 1);
    assert!(
        summary.records[0]
            .notes
            .iter()
            .any(|note| note.contains("could not be read back")),
        "{:?}",
        summary.records[0].notes
    );
    assert_eq!(
        world.store.pending().len(),
        1,
        "kept until the copy is read"
    );
    world.tick();
    world.automatic().await;
    assert_complete(&world, &raised);
    assert!(!world.dry_run().await.plan.writes(), "nothing left to do");
}

#[tokio::test]
async fn a_crash_between_create_and_read_back_then_a_rerun_neither_loses_nor_duplicates() {
    let world = World::new();
    world.target.answer_creates_unread();
    let raised: Vec<TicketId> = (0..2)
        .map(|_| ticket_with_unmapped_status(&world))
        .collect();
    world
        .target
        .inject(Operation::Ticket, Fault::HangAfterApply, 0, 1);
    let mode = SyncMode::Manual {
        since: World::since(),
    };
    let crashed = tokio::select! {
        _ = world.engine.sync_once(&world.setup, mode) => false,
        _ = world.target.hung() => true,
    };
    assert!(crashed, "the run reached the read-back");
    assert_eq!(world.target.copies().len(), 2, "both copies were created");
    assert!(
        world
            .store
            .links()
            .iter()
            .all(|link| link.target_number.is_empty()),
        "linked, not read back"
    );
    // The lease expires; the process comes back.
    world.clock.advance(Duration::minutes(11));
    world.manual().await;
    world.tick();
    world.automatic().await;
    assert_complete(&world, &raised);
    assert!(!world.dry_run().await.plan.writes(), "nothing left to do");
}
