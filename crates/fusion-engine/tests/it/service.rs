//! The service around the engine: a manual run sets the baseline, automatic runs happen when due
//! (judged from stored history), and a relationship that is not ready says why.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use fusion_domain::RelationshipId;
use fusion_domain::sync::RunStatus;
use fusion_engine::ports::SyncStore;
use fusion_engine::{
    EngineError, ScheduledRelationship, ServiceError, SetupError, SyncDirectory, SyncMode,
    SyncService, SyncSetup,
};
use time::Duration;

use crate::harness::World;

struct FakeDirectory {
    setup: SyncSetup,
    store: Arc<crate::fake_store::FakeStore>,
    automatic: Mutex<bool>,
    baselines: Mutex<Vec<RelationshipId>>,
    /// Whether the run was still Running when the baseline was marked, per mark.
    marked_while_running: Mutex<Vec<bool>>,
}

#[async_trait]
impl SyncDirectory for FakeDirectory {
    async fn automatic_relationships(&self) -> Result<Vec<ScheduledRelationship>, SetupError> {
        let on = *self.automatic.lock().unwrap();
        Ok(on
            .then(|| ScheduledRelationship {
                relationship: self.setup.relationship,
                interval: Duration::minutes(5),
                source_org: fusion_domain::OrgId::new(),
                target_org: fusion_domain::OrgId::new(),
                carries_time_entries: false,
            })
            .into_iter()
            .collect())
    }

    async fn setup(&self, relationship: RelationshipId) -> Result<SyncSetup, SetupError> {
        if relationship == self.setup.relationship {
            Ok(self.setup.clone())
        } else {
            Err(SetupError::NotFound)
        }
    }

    async fn baseline_set(&self, relationship: RelationshipId) -> Result<(), SetupError> {
        let running = self
            .store
            .sync_runs(&fusion_engine::ports::RunFilter {
                relationship: Some(relationship),
                status: Some(RunStatus::Running),
                started_from: None,
                started_before: None,
                limit: 10,
            })
            .await
            .unwrap();
        self.marked_while_running
            .lock()
            .unwrap()
            .push(!running.is_empty());
        self.baselines.lock().unwrap().push(relationship);
        Ok(())
    }
}

fn service(world: &World) -> (SyncService, Arc<FakeDirectory>) {
    let directory = Arc::new(FakeDirectory {
        setup: world.setup.clone(),
        store: world.store.clone(),
        automatic: Mutex::new(false),
        baselines: Mutex::new(Vec::new()),
        marked_while_running: Mutex::new(Vec::new()),
    });
    let service = SyncService::new(
        world.engine.clone(),
        directory.clone(),
        world.store.clone(),
        world.clock.clone(),
    );
    (service, directory)
}

#[tokio::test]
async fn the_first_manual_run_sets_the_baseline_and_a_dry_run_does_not() {
    let world = World::new();
    world.source.person_creates_ticket("Printer jammed", "");
    let (service, directory) = service(&world);
    let relationship = world.setup.relationship;
    let dry = service
        .run(
            relationship,
            SyncMode::DryRun {
                since: Some(World::since()),
            },
        )
        .await
        .unwrap();
    assert_eq!(dry.counts.created, 1);
    assert!(directory.baselines.lock().unwrap().is_empty());
    service
        .run(
            relationship,
            SyncMode::Manual {
                since: World::since(),
            },
        )
        .await
        .unwrap();
    assert_eq!(*directory.baselines.lock().unwrap(), vec![relationship]);
    assert_eq!(
        *directory.marked_while_running.lock().unwrap(),
        vec![true],
        "the baseline is marked before the run record is finished, so no one sees a finished first run on a connection still waiting for it"
    );
}

#[tokio::test]
async fn automatic_runs_happen_only_when_switched_on_and_due() {
    let world = World::new();
    world.source.person_creates_ticket("Printer jammed", "");
    let (service, directory) = service(&world);
    service
        .run(
            world.setup.relationship,
            SyncMode::Manual {
                since: World::since(),
            },
        )
        .await
        .unwrap();
    assert!(service.run_due().await.unwrap().is_empty(), "switched off");

    *directory.automatic.lock().unwrap() = true;
    assert!(
        service.run_due().await.unwrap().is_empty(),
        "ran less than 5 minutes ago"
    );

    world.clock.advance(Duration::minutes(5));
    world.source.person_creates_ticket("Second", "");
    let outcomes = service.run_due().await.unwrap();
    assert_eq!(outcomes.len(), 1);
    let summary = outcomes[0].result.as_ref().expect("a run");
    assert_eq!(summary.status, RunStatus::Success);
    assert_eq!(summary.counts.created, 1);
    assert!(service.run_due().await.unwrap().is_empty(), "just ran");
}

#[tokio::test]
async fn an_automatic_run_without_a_baseline_reports_that_the_initial_sync_is_required() {
    let world = World::new();
    let (service, directory) = service(&world);
    *directory.automatic.lock().unwrap() = true;
    let outcomes = service.run_due().await.unwrap();
    assert!(matches!(
        outcomes[0].result,
        Err(ServiceError::Engine(EngineError::InitialSyncRequired))
    ));
    let unknown = service
        .run(RelationshipId::new(), SyncMode::Automatic)
        .await;
    assert!(matches!(
        unknown,
        Err(ServiceError::Setup(SetupError::NotFound))
    ));
}

/// Remembers what the run reported, and asks it to stop after `stop_after` tickets.
struct StopAfter {
    stop: fusion_engine::StopSignal,
    stop_after: usize,
    events: Mutex<Vec<String>>,
}

impl fusion_engine::RunObserver for StopAfter {
    fn run_started(&self, run: &fusion_domain::sync::SyncRun) {
        self.events
            .lock()
            .unwrap()
            .push(format!("started {}", run.status.as_str()));
    }

    fn planned(&self, tickets: usize) {
        self.events
            .lock()
            .unwrap()
            .push(format!("planned {tickets}"));
    }

    fn ticket_done(&self, done: usize, total: usize) {
        self.events
            .lock()
            .unwrap()
            .push(format!("done {done}/{total}"));
        if done == self.stop_after {
            self.stop.stop();
        }
    }
}

#[tokio::test]
async fn a_run_asked_to_stop_finishes_the_ticket_in_hand_keeps_the_cursors_and_the_next_run_does_the_rest()
 {
    let world = World::new();
    for title in ["First", "Second", "Third"] {
        world.source.person_creates_ticket(title, "");
        world.tick();
    }
    let (service, _directory) = service(&world);
    let stop = fusion_engine::StopSignal::new();
    let observer = Arc::new(StopAfter {
        stop: stop.clone(),
        stop_after: 1,
        events: Mutex::new(Vec::new()),
    });
    let control = fusion_engine::RunControl::new(stop, Some(observer.clone()));
    let since = World::since();
    let stopped = service
        .run_with(
            world.setup.relationship,
            SyncMode::Manual { since },
            &control,
        )
        .await
        .expect("the run ran");
    assert_eq!(stopped.status, RunStatus::Failed);
    assert_eq!(stopped.counts.created, 1, "the ticket in hand was finished");
    assert!(
        stopped
            .error
            .as_deref()
            .is_some_and(|error| error.contains("shutting down")),
        "{:?}",
        stopped.error
    );
    assert!(!stopped.cursors_advanced, "the old cursors are kept");
    assert_eq!(
        *observer.events.lock().unwrap(),
        ["started running", "planned 3", "done 1/3"]
    );
    let stored = world
        .store
        .sync_run(stopped.run.as_ref().expect("a stored run").id)
        .await
        .unwrap()
        .expect("the run is stored");
    assert_eq!(stored.status, RunStatus::Failed, "no run is left Running");
    assert_eq!(world.target.tickets().len(), 1);

    // Asked to stop before it starts: nothing happens at all.
    let refused = service
        .run_with(
            world.setup.relationship,
            SyncMode::Manual { since },
            &control,
        )
        .await;
    assert!(matches!(
        refused,
        Err(ServiceError::Engine(EngineError::Stopped))
    ));

    let rest = service
        .run(world.setup.relationship, SyncMode::Manual { since })
        .await
        .expect("the next run ran");
    assert_eq!(rest.status, RunStatus::Success);
    assert_eq!(rest.counts.created, 2, "the two remaining tickets");
    assert_eq!(world.target.tickets().len(), 3, "each ticket exactly once");
}

#[tokio::test]
async fn the_scheduler_stops_on_shutdown_and_reports_a_heartbeat_per_tick() {
    let world = World::new();
    world.source.person_creates_ticket("Printer jammed", "");
    let (service, directory) = service(&world);
    service
        .run(
            world.setup.relationship,
            SyncMode::Manual {
                since: World::since(),
            },
        )
        .await
        .unwrap();
    *directory.automatic.lock().unwrap() = true;
    world.clock.advance(Duration::minutes(5));
    world.source.person_creates_ticket("Second", "");

    let beats = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
    let scheduler = tokio::spawn({
        let service = service.clone();
        let beats = beats.clone();
        async move {
            service
                .run_until(
                    std::time::Duration::from_millis(20),
                    std::time::Duration::from_secs(10),
                    move || {
                        beats.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    },
                    async {
                        let _ = shutdown_rx.await;
                    },
                )
                .await;
        }
    });
    // The due run happens on the first tick.
    for _ in 0..500 {
        if world.target.tickets().len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(
        world.target.tickets().len(),
        2,
        "the scheduler ran the due sync"
    );
    assert!(beats.load(std::sync::atomic::Ordering::SeqCst) >= 2);
    shutdown_tx.send(()).expect("the scheduler listens");
    tokio::time::timeout(std::time::Duration::from_secs(10), scheduler)
        .await
        .expect("the scheduler stops on shutdown")
        .expect("the task ran");
}

#[tokio::test]
async fn stopping_the_service_stops_runs_in_flight_and_refuses_new_ones() {
    let world = World::new();
    for title in ["First", "Second", "Third"] {
        world.source.person_creates_ticket(title, "");
        world.tick();
    }
    let (service, _directory) = service(&world);

    /// Stops the whole service after the first ticket, as a shutdown would.
    struct ShutDownAfterFirst(SyncService);
    impl fusion_engine::RunObserver for ShutDownAfterFirst {
        fn ticket_done(&self, done: usize, _total: usize) {
            if done == 1 {
                self.0.stop_all();
            }
        }
    }
    let control =
        fusion_engine::RunControl::observed(Arc::new(ShutDownAfterFirst(service.clone())));
    let since = World::since();
    let stopped = service
        .run_with(
            world.setup.relationship,
            SyncMode::Manual { since },
            &control,
        )
        .await
        .expect("the run ran");
    assert_eq!(stopped.status, RunStatus::Failed);
    assert_eq!(stopped.counts.created, 1);
    assert_eq!(service.runs_in_flight(), 0);
    assert!(service.wait_idle(std::time::Duration::from_secs(1)).await);
    assert!(matches!(
        service
            .run(world.setup.relationship, SyncMode::Manual { since })
            .await,
        Err(ServiceError::Engine(EngineError::Stopped))
    ));
}
