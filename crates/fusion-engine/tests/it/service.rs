//! The service around the engine: a manual run sets the baseline, automatic runs happen when due
//! (judged from stored history), and a relationship that is not ready says why.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use fusion_domain::RelationshipId;
use fusion_domain::sync::RunStatus;
use fusion_engine::{
    EngineError, ScheduledRelationship, ServiceError, SetupError, SyncDirectory, SyncMode,
    SyncService, SyncSetup,
};
use time::Duration;

use crate::harness::World;

struct FakeDirectory {
    setup: SyncSetup,
    automatic: Mutex<bool>,
    baselines: Mutex<Vec<RelationshipId>>,
}

#[async_trait]
impl SyncDirectory for FakeDirectory {
    async fn automatic_relationships(&self) -> Result<Vec<ScheduledRelationship>, SetupError> {
        let on = *self.automatic.lock().unwrap();
        Ok(on
            .then(|| ScheduledRelationship {
                relationship: self.setup.relationship,
                interval: Duration::minutes(5),
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
        self.baselines.lock().unwrap().push(relationship);
        Ok(())
    }
}

fn service(world: &World) -> (SyncService, Arc<FakeDirectory>) {
    let directory = Arc::new(FakeDirectory {
        setup: world.setup.clone(),
        automatic: Mutex::new(false),
        baselines: Mutex::new(Vec::new()),
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
