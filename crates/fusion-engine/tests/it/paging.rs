//! A window run works a group of `EngineSettings::apply_page` tickets at a time: it plans and
//! applies one group before it reads the next, plans a pair changed on both sides once, links a
//! copy to its original though they fall in different groups, and keeps the cursors as safe as
//! when the whole window was planned at once.

use std::sync::{Arc, Mutex};

use fusion_domain::ManualClock;
use fusion_domain::sync::{RunStatus, TicketId};
use fusion_engine::{RunControl, RunObserver, SyncMode};
use time::Duration;

use crate::fake_platform::FakePlatform;
use crate::harness::World;

/// At each `planned` call: the running total planned and how many copies the target had then.
struct GroupWatcher {
    target: FakePlatform,
    planned: Mutex<Vec<(usize, usize)>>,
}

impl RunObserver for GroupWatcher {
    fn planned(&self, tickets: usize) {
        let copies = self.target.copies().len();
        self.planned.lock().unwrap().push((tickets, copies));
    }
}

#[tokio::test]
async fn a_window_is_planned_and_applied_a_group_at_a_time_never_holding_more_than_a_group() {
    let world = World::with_settings(|settings| settings.apply_page = 2);
    for n in 0..5 {
        let raised = world
            .source
            .person_creates_ticket(&format!("Ticket {n}"), "");
        world.source.person_comments(&raised, 1, "A public note.");
        world.tick();
    }
    let watcher = Arc::new(GroupWatcher {
        target: world.target.clone(),
        planned: Mutex::new(Vec::new()),
    });
    let control = RunControl::observed(watcher.clone());
    world.tick();
    let run = world
        .engine
        .sync_once_with(
            &world.setup,
            SyncMode::Manual {
                since: World::since(),
            },
            &control,
        )
        .await
        .expect("the run ran");
    assert_eq!(run.status, RunStatus::Success, "{:?}", run.error);
    assert_eq!(run.counts.created, 5);
    assert!(run.cursors_advanced);
    // The plan grows by at most a group, and each group is applied (its copies made) before the
    // next one is planned: no more than two tickets were ever planned and not yet applied.
    assert_eq!(
        *watcher.planned.lock().unwrap(),
        [(2, 0), (4, 2), (5, 4)],
        "(planned so far, copies made by then)"
    );
    assert_eq!(world.target.copies().len(), 5);
    for copy in world.target.copies() {
        assert_eq!(
            world.target.comments_of(&copy.id).len(),
            1,
            "{}",
            copy.title
        );
    }
    let again = world.automatic().await;
    assert!(!again.plan.writes(), "{:#?}", again.plan);
}

#[tokio::test]
async fn a_pair_changed_on_both_sides_is_planned_once_though_its_tickets_fall_in_different_groups()
{
    let world = World::with_settings(|settings| settings.apply_page = 1);
    let raised = world.source.person_creates_ticket("Printer jammed", "");
    world.manual().await;
    let copy = world.copy_on_target(&raised);
    // Another ticket on each side, so the pair's tickets are in different groups of one.
    world.source.person_creates_ticket("Scanner offline", "");
    world.source.person_sets_title(&raised, "Printer on fire");
    world
        .target
        .person_comments(&copy.id, 1, "Technician on the way.");

    let run = world.automatic().await;
    assert_eq!(run.status, RunStatus::Success, "{:?}", run.error);
    assert_eq!(run.counts.created, 1);
    assert_eq!(run.counts.updated, 1, "{:#?}", run.records);
    let records_of_pair = run
        .records
        .iter()
        .filter(|record| record.source_ticket.as_ref() == Some(&raised))
        .count();
    assert_eq!(records_of_pair, 1, "{:#?}", run.records);
    assert_eq!(world.target.ticket_now(&copy.id).title, "Printer on fire");
    let carried = world.source.comments_of(&raised);
    assert_eq!(carried.len(), 1, "{carried:#?}");
    assert_eq!(world.target.copies().len(), 2, "no copy made twice");
    let again = world.automatic().await;
    assert!(!again.plan.writes(), "{:#?}", again.plan);
}

/// After the first ticket is done: a person changes it, ten minutes later (beyond the overlap)
/// another ticket the run has not reached yet.
struct ChangesWhileRunning {
    clock: Arc<ManualClock>,
    source: FakePlatform,
    done_first: TicketId,
    later: TicketId,
    changed: Mutex<bool>,
}

impl RunObserver for ChangesWhileRunning {
    fn ticket_done(&self, _done: usize, _total: usize) {
        let mut changed = self.changed.lock().unwrap();
        if *changed {
            return;
        }
        *changed = true;
        self.clock.advance(Duration::minutes(10));
        self.source
            .person_sets_title(&self.done_first, "Changed while the run was going");
        self.clock.advance(Duration::minutes(10));
        self.source.person_sets_title(&self.later, "Changed later");
    }
}

#[tokio::test]
async fn a_change_made_while_a_paged_run_works_is_read_by_the_next_run_even_on_a_ticket_already_done()
 {
    let world = World::with_settings(|settings| {
        settings.apply_page = 1;
        settings.page_size = 1;
    });
    let first = world.source.person_creates_ticket("First", "");
    world.tick();
    world.source.person_creates_ticket("Second", "");
    world.tick();
    let later = world.source.person_creates_ticket("Third", "");
    let observer = Arc::new(ChangesWhileRunning {
        clock: world.clock.clone(),
        source: world.source.clone(),
        done_first: first.clone(),
        later,
        changed: Mutex::new(false),
    });
    world.tick();
    let run = world
        .engine
        .sync_once_with(
            &world.setup,
            SyncMode::Manual {
                since: World::since(),
            },
            &RunControl::observed(observer),
        )
        .await
        .expect("the run ran");
    assert_eq!(run.status, RunStatus::Success, "{:?}", run.error);
    assert_eq!(run.counts.created, 3);
    assert_eq!(world.copy_on_target(&first).title, "First");

    world.automatic().await;
    assert_eq!(
        world.copy_on_target(&first).title,
        "Changed while the run was going",
        "the cursor did not move past a change to a ticket the run had done"
    );
}

#[tokio::test]
async fn an_unlinked_copy_listed_in_a_later_group_is_linked_to_its_original_not_made_again() {
    use fusion_domain::ChoiceValue;
    use fusion_domain::Role;
    use fusion_domain::sync::{SyncAction, TicketDraft, TicketMarker};
    use fusion_engine::Platform;

    let world = World::with_settings(|settings| settings.apply_page = 1);
    world.source.person_creates_ticket("Scanner offline", "");
    let original = world.source.person_creates_ticket("Printer jammed", "");
    // A copy made earlier whose link and pending create were lost: only its marker says whose
    // copy it is. The original's group comes before the copy's.
    let draft = TicketDraft {
        marker: TicketMarker::for_copy_of(world.setup.relationship, Role::Source, &original),
        title: "Printer jammed".into(),
        description: String::new(),
        company: Some(ChoiceValue::from(900)),
        queue: Some(ChoiceValue::from(30)),
        status: None,
        priority: None,
        ticket_type: None,
        category: None,
        source: None,
        issue_type: None,
        sub_issue_type: None,
        fields: Default::default(),
    };
    let stray = world.target.create_ticket(&draft).await.expect("created");
    world.tick();

    let run = world.manual().await;
    assert_eq!(run.status, RunStatus::Success, "{:?}", run.error);
    let created_from: Vec<&TicketId> = run
        .plan
        .actions()
        .filter_map(|action| match action {
            SyncAction::CreateTicket { from, .. } => Some(from),
            _ => None,
        })
        .collect();
    assert!(!created_from.contains(&&original), "{:#?}", run.plan);
    assert!(
        run.plan
            .actions()
            .any(|action| matches!(action, SyncAction::LinkExisting { .. })),
        "{:#?}",
        run.plan
    );
    assert_eq!(
        world.target.copies().len(),
        2,
        "no second copy of the printer"
    );
    assert_eq!(world.copy_on_target(&original).id, stray.id);
    let again = world.automatic().await;
    assert!(!again.plan.writes(), "{:#?}", again.plan);
}
