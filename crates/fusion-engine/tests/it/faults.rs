//! Faults: ambiguous timeouts after the write was applied, crashes (the run's future dropped) at
//! every write, credentials revoked mid-run, a rejected ticket — and in every case no ticket,
//! comment or attachment is lost or duplicated once the runs that follow have converged.

use fusion_domain::Role;
use fusion_domain::sync::{RecordOutcome, RunStatus, SyncCursor, TicketId};
use fusion_engine::ports::SyncStore;
use fusion_engine::{PlatformError, SyncMode};
use time::Duration;

use crate::fake_platform::{Fault, Operation};
use crate::harness::World;

/// Runs until the fake platform hangs, then drops the run (a crash at that point). Returns
/// whether the crash happened (false: the run finished before reaching the fault).
async fn run_until_crash(world: &World, mode: SyncMode) -> bool {
    let source_hung = world.source.hung();
    let target_hung = world.target.hung();
    tokio::select! {
        _ = world.engine.sync_once(&world.setup, mode) => false,
        _ = source_hung => true,
        _ = target_hung => true,
    }
}

/// After a crash: the lease expires, the process comes back.
fn restart(world: &World) {
    world.clock.advance(Duration::minutes(11));
}

async fn cursor(world: &World, side: Role) -> Option<SyncCursor> {
    world
        .store
        .cursor(world.setup.relationship, side)
        .await
        .unwrap()
}

/// Every source ticket has exactly one copy, and every comment/attachment exactly one copy.
fn assert_converged(world: &World, raised: &[TicketId]) {
    let copies = world.target.copies();
    assert_eq!(copies.len(), raised.len(), "copies: {copies:#?}");
    let links = world.store.links();
    assert_eq!(links.len(), raised.len());
    for ticket in raised {
        let copy = world.copy_on_target(ticket);
        let originals = world.source.comments_of(ticket);
        let copied = world.target.comments_of(&copy.id);
        let public = originals
            .iter()
            .filter(|c| c.publish == Some(1.into()))
            .count();
        assert_eq!(copied.len(), public, "comments of {ticket}: {copied:#?}");
        assert_eq!(
            world.target.attachments_of(&copy.id).len(),
            world.source.attachments_of(ticket).len(),
            "attachments of {ticket}"
        );
    }
    assert!(world.store.pending().is_empty(), "no create left pending");
}

fn scenario(world: &World) -> Vec<TicketId> {
    let first = world
        .source
        .person_creates_ticket("Printer jammed", "Floor 2");
    world.source.person_comments(&first, 1, "Grinding noise.");
    world.source.person_comments(&first, 1, "Now it smokes.");
    world
        .source
        .person_attaches(&first, "photo.jpg", vec![3; 100]);
    let second = world.source.person_creates_ticket("VPN down", "Since 9am");
    world
        .source
        .person_comments(&second, 1, "Affects everyone.");
    vec![first, second]
}

#[tokio::test]
async fn a_create_that_timed_out_after_it_was_applied_is_found_by_its_marker_not_repeated() {
    let world = World::new();
    let raised = scenario(&world);
    world
        .target
        .inject(Operation::CreateTicket, Fault::TimeoutAfterApply, 0, 1);
    let summary = world.manual().await;
    assert_eq!(summary.status, RunStatus::Success, "{:?}", summary.error);
    assert_converged(&world, &raised);
}

#[tokio::test]
async fn a_comment_that_timed_out_after_it_was_applied_is_not_added_twice() {
    let world = World::new();
    let raised = scenario(&world);
    world
        .target
        .inject(Operation::AddComment, Fault::TimeoutAfterApply, 1, 1);
    let summary = world.manual().await;
    assert_eq!(summary.status, RunStatus::Success, "{:?}", summary.error);
    assert_converged(&world, &raised);
}

#[tokio::test]
async fn an_attachment_that_timed_out_after_it_was_applied_is_not_uploaded_twice() {
    let world = World::new();
    let raised = scenario(&world);
    world
        .target
        .inject(Operation::AddAttachment, Fault::TimeoutAfterApply, 0, 1);
    let summary = world.manual().await;
    assert_eq!(summary.status, RunStatus::Success, "{:?}", summary.error);
    assert_converged(&world, &raised);
}

#[tokio::test]
async fn a_crash_at_any_write_then_a_rerun_converges_without_duplicates() {
    let mut crashes = 0;
    for crash_after in 0..8 {
        let world = World::new();
        let raised = scenario(&world);
        world
            .target
            .inject(Operation::AnyWrite, Fault::HangAfterApply, crash_after, 1);
        let mode = SyncMode::Manual {
            since: World::since(),
        };
        if run_until_crash(&world, mode).await {
            crashes += 1;
            assert_eq!(
                cursor(&world, Role::Source).await,
                None,
                "no cursor after a crash"
            );
            restart(&world);
            world.manual().await;
            let runs = world.store.runs();
            assert_eq!(
                runs[0].status,
                RunStatus::Failed,
                "the abandoned run is closed"
            );
            assert!(runs[0].error.as_deref().unwrap_or("").contains("stopped"));
        }
        world.automatic().await;
        assert_converged(&world, &raised);
    }
    assert_eq!(crashes, 6, "every write of the scenario is a crash point");
}

#[tokio::test]
async fn a_crash_while_reading_loses_nothing_and_moves_no_cursor() {
    let world = World::new();
    let raised = scenario(&world);
    world.manual().await;
    world
        .source
        .person_comments(&raised[1], 1, "Fixed by a reboot?");
    world
        .source
        .inject(Operation::Comments, Fault::HangAfterApply, 0, 1);
    let before = cursor(&world, Role::Source).await;
    world.tick();
    assert!(run_until_crash(&world, SyncMode::Automatic).await);
    assert_eq!(cursor(&world, Role::Source).await, before);
    restart(&world);
    world.automatic().await;
    assert_converged(&world, &raised);
}

#[tokio::test]
async fn credentials_revoked_mid_run_give_a_failed_run_with_the_reason_and_the_next_run_recovers() {
    let world = World::new();
    let raised = scenario(&world);
    world.target.inject(
        Operation::CreateTicket,
        Fault::Before(PlatformError::Authentication(
            "the API secret was regenerated".into(),
        )),
        1,
        100,
    );
    let summary = world.manual().await;
    assert_eq!(summary.status, RunStatus::Failed);
    let error = summary.error.expect("a reason");
    assert!(error.contains("authentication failed"), "{error}");
    assert!(!summary.cursors_advanced);
    assert_eq!(cursor(&world, Role::Source).await, None);

    world.target.clear_faults();
    let summary = world.manual().await;
    assert_eq!(summary.status, RunStatus::Success, "{:?}", summary.error);
    assert_converged(&world, &raised);
}

#[tokio::test]
async fn a_rejected_ticket_is_recorded_as_failed_and_retried_once_it_changes() {
    let world = World::new();
    let rejected = world.source.person_creates_ticket("Odd ticket", "");
    world.target.inject(
        Operation::CreateTicket,
        Fault::Before(PlatformError::Rejected(
            "Value 30 of queueID is inactive".into(),
        )),
        0,
        1,
    );
    let summary = world.manual().await;
    assert_eq!(summary.status, RunStatus::Partial);
    let record = &summary.records[0];
    assert_eq!(record.outcome, RecordOutcome::Failed);
    assert!(record.error.as_deref().unwrap_or("").contains("inactive"));
    assert!(
        summary.cursors_advanced,
        "a recorded failure does not hold the cursor"
    );

    // Much later, an unrelated change moves the window past the failed ticket: the rejection is
    // permanent, so the ticket waits for a change (it needs attention) instead of failing again.
    world.clock.advance(Duration::hours(2));
    let later = world.source.person_creates_ticket("Later", "");
    let summary = world.automatic().await;
    assert_eq!(summary.counts.created, 1, "{:#?}", summary.records);
    assert_eq!(summary.status, RunStatus::Success);
    assert_eq!(summary.counts.attention, 1);

    // Someone fixes the ticket: it is tried again and goes through.
    world
        .source
        .person_sets_title(&rejected, "Odd ticket (queue fixed)");
    let summary = world.automatic().await;
    assert_eq!(summary.counts.created, 1, "{:#?}", summary.records);
    assert_eq!(summary.counts.attention, 0);
    assert_converged(&world, &[rejected, later]);
}

#[tokio::test]
async fn a_failed_reverse_sync_create_is_retried_and_then_no_longer_pending() {
    let mut world = World::new();
    world.setup.target.config.reverse_sync.enabled = true;
    let raised = world
        .target
        .person_creates_ticket("Planned maintenance", "");
    world.source.inject(
        Operation::CreateTicket,
        Fault::Before(PlatformError::Unavailable("503 Service Unavailable".into())),
        0,
        1,
    );
    let summary = world.manual().await;
    assert_eq!(summary.status, RunStatus::Partial);
    let relationship = world.setup.relationship;
    assert_eq!(
        world
            .store
            .pending_retries(relationship)
            .await
            .unwrap()
            .len(),
        1
    );

    world.clock.advance(Duration::hours(2));
    let summary = world.automatic().await;
    assert_eq!(summary.counts.created, 1, "{:#?}", summary.records);
    assert_eq!(world.copy_on_source(&raised).title, "Planned maintenance");
    assert!(
        world
            .store
            .pending_retries(relationship)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn credentials_rejected_while_reading_give_a_failed_run_naming_the_organisation() {
    let world = World::new();
    world.source.person_creates_ticket("Printer jammed", "");
    world.manual().await;
    world.target.inject(
        Operation::ChangedTickets,
        Fault::Before(PlatformError::Authentication(
            "the API user is inactive".into(),
        )),
        0,
        1,
    );
    let before = cursor(&world, Role::Source).await;
    let summary = world.automatic().await;
    assert_eq!(summary.status, RunStatus::Failed);
    let error = summary.error.expect("a reason");
    assert!(error.contains("Northwind IT"), "{error}");
    assert!(error.contains("the API user is inactive"), "{error}");
    assert_eq!(cursor(&world, Role::Source).await, before);
    assert_eq!(world.store.runs().last().unwrap().status, RunStatus::Failed);
}

#[tokio::test]
async fn a_run_that_lost_its_lease_stops_before_writing_more_and_keeps_the_cursors() {
    let world = World::new();
    for n in 0..3 {
        world
            .source
            .person_creates_ticket(&format!("Ticket {n}"), "");
    }
    // While the first ticket is being created, 11 minutes pass and another process takes over.
    let clock = world.clock.clone();
    let store = world.store.clone();
    let key = fusion_engine::ports::LeaseKey::Relationship(world.setup.relationship);
    world.target.inject(
        Operation::CreateTicket,
        Fault::Hook(std::sync::Arc::new(move || {
            clock.advance(Duration::minutes(11));
            store.taken_by_another_process(
                &key,
                fusion_domain::Clock::now(&*clock) + Duration::minutes(10),
            );
        })),
        0,
        1,
    );
    let summary = world.manual().await;
    assert_eq!(summary.status, RunStatus::Failed);
    assert!(summary.error.unwrap_or_default().contains("lost its lease"));
    assert_eq!(
        world.target.copies().len(),
        1,
        "nothing written after the loss"
    );
    assert_eq!(cursor(&world, Role::Source).await, None);
}
