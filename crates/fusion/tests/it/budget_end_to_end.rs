//! The API budget end to end, against the simulator: an initial sync bigger than its share of
//! the hour waits between tickets — recorded Partial with "Waiting for API budget", never Failed,
//! its cursors not yet saved — shows as waiting, and is carried on by the scheduler each time the
//! hour rolls on, until every ticket has exactly one copy; a scheduled sync over its share is not
//! started, shows as waiting with its time, and runs once the hour has rolled on.

use std::sync::Arc;

use fusion_autotask::AutotaskService;
use fusion_domain::sync::{RunStatus, SyncSchedule};
use fusion_domain::{Clock, ManualClock, Role, SystemClock};
use fusion_engine::budget::{BudgetGovernor, BudgetSettings, Purpose, RequestGate, serving};
use fusion_engine::ports::RunFilter;
use fusion_engine::{
    EngineSettings, RunControl, SyncDirectory, SyncEngine, SyncMode, SyncOverviews, SyncService,
};
use time::OffsetDateTime;

use crate::sync_directory::StoreSyncDirectory;
use crate::sync_end_to_end::Harness;

const TICKETS: usize = 24;

#[tokio::test]
async fn an_initial_sync_over_its_share_waits_and_is_carried_on_by_the_scheduler_without_duplicates()
 {
    let harness = Harness::demo().await;
    let raised: Vec<i64> = (0..TICKETS)
        .map(|index| harness.raise_in_contoso(&format!("Budget ticket {index}")))
        .collect();
    // A share of 40 requests an hour (4 % of 1,000): an initial sync may use 30 of them, and
    // starts no ticket within 3 of that.
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let (governor, sync) = budgeted(&harness, &clock, 4, 3);
    let first = sync
        .run_with(
            harness.relationship,
            SyncMode::Manual {
                since: harness.started,
            },
            &RunControl::default().started_by("ops@northwind.example"),
        )
        .await
        .expect("the initial sync starts");
    assert_eq!(first.status, RunStatus::Partial, "{:?}", first.error);
    let wait = first
        .waiting_for_budget
        .clone()
        .expect("the run waits for the budget");
    assert!(
        (1..TICKETS as u32).contains(&first.counts.created),
        "some tickets went, not all: {:?}",
        first.counts
    );
    assert!(
        first
            .error
            .as_deref()
            .is_some_and(|error| error.starts_with("Waiting for API budget")),
        "{:?}",
        first.error
    );
    assert!(
        governor.used(&wait.database) <= 40,
        "the gate held the share"
    );
    // The baseline is not set until every ticket of the window went.
    assert!(
        harness
            .store
            .cursor(harness.relationship, Role::Source)
            .await
            .expect("reads")
            .is_none()
    );

    // It shows as waiting, with who started it and when it carries on.
    let status = status(&harness, &clock, &governor).await;
    let deferred = status.deferred_run.expect("the manual run waits");
    assert_eq!(
        deferred.started_by.as_deref(),
        Some("ops@northwind.example")
    );
    assert_eq!(deferred.resume_at, wait.resume_at);

    // Before the hour rolls on the scheduler leaves it alone; after, it carries it on — as
    // often as it takes.
    sync.run_due().await.expect("a scheduler tick");
    assert_eq!(
        copies(&harness, &raised),
        first.counts.created as usize,
        "nothing ran before the budget allowed it"
    );
    for _ in 0..10 {
        if governor.deferred_runs().await.expect("reads").is_empty() {
            break;
        }
        clock.advance(time::Duration::minutes(61));
        sync.run_due().await.expect("a scheduler tick");
    }
    assert!(
        governor.deferred_runs().await.expect("reads").is_empty(),
        "the initial sync finished"
    );
    for ticket in &raised {
        assert_eq!(
            harness.copies_in_northwind(*ticket).len(),
            1,
            "exactly one copy of {ticket}"
        );
    }
    let runs = runs(&harness).await;
    assert!(runs.len() >= 2, "it took more than one run: {runs:#?}");
    assert!(
        runs.iter().all(|run| run.status != RunStatus::Failed),
        "nothing failed: {runs:#?}"
    );
    assert!(
        runs.iter()
            .all(|run| run.started_by.as_deref() == Some("ops@northwind.example")),
        "the carried-on runs name who started the sync"
    );
    assert!(
        harness
            .store
            .cursor(harness.relationship, Role::Source)
            .await
            .expect("reads")
            .is_some(),
        "the baseline is set once all of it went"
    );
}

/// A governor on `clock` with `percent` of 1,000 requests an hour for each database, and a sync
/// service whose runs and Autotask requests it judges.
fn budgeted(
    harness: &Harness,
    clock: &Arc<ManualClock>,
    percent: u8,
    start_margin: u32,
) -> (Arc<BudgetGovernor>, SyncService) {
    let governor = Arc::new(BudgetGovernor::new(
        harness.store.clone(),
        clock.clone(),
        BudgetSettings {
            platform_hourly_limit: 1_000,
            default_percent: percent,
            start_margin,
        },
    ));
    let autotask =
        AutotaskService::with_gate(harness.autotask.settings().clone(), governor.clone())
            .expect("the Autotask service builds");
    let directory = Arc::new(StoreSyncDirectory::new(harness.store.clone(), autotask));
    let engine = SyncEngine::new(
        harness.store.clone(),
        Arc::new(SystemClock),
        EngineSettings::default(),
    )
    .with_budget(governor.clone());
    let sync = SyncService::new(engine, directory, harness.store.clone(), clock.clone());
    (governor, sync)
}

#[tokio::test]
async fn a_scheduled_sync_over_its_share_is_not_started_shows_as_waiting_and_runs_later() {
    let harness = Harness::demo().await;
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    // 100 requests an hour for each database: scheduled syncs may use 90, less a margin of 5.
    let (governor, sync) = budgeted(&harness, &clock, 10, 5);
    let baseline = sync
        .run(
            harness.relationship,
            SyncMode::Manual {
                since: harness.started,
            },
        )
        .await
        .expect("the baseline run");
    assert_ne!(baseline.status, RunStatus::Failed, "{:?}", baseline.error);
    harness
        .store
        .set_sync_schedule(
            harness.relationship,
            &SyncSchedule::new(true, time::Duration::minutes(5)).expect("valid"),
            OffsetDateTime::now_utc(),
        )
        .await
        .expect("automatic sync on");
    let raised = harness.raise_in_contoso("Raised while the budget is spent");
    // People's work (Settings, tests, another tool of this server) spends Contoso's share.
    let contoso = harness
        .directory
        .setup(harness.relationship)
        .await
        .expect("a setup")
        .source
        .platform
        .budget_key();
    serving(Purpose::default(), async {
        while governor.used(&contoso) < 95 {
            governor
                .try_spend(&contoso)
                .expect("a person's work may use it");
        }
    })
    .await;
    clock.advance(time::Duration::minutes(10));
    let runs_before = runs(&harness).await.len();

    let outcomes = sync.run_due().await.expect("a scheduler tick");
    assert!(outcomes.is_empty(), "nothing ran: {outcomes:#?}");
    assert_eq!(
        runs(&harness).await.len(),
        runs_before,
        "no run was recorded"
    );
    assert!(harness.copies_in_northwind(raised).is_empty());
    let waiting = status(&harness, &clock, &governor)
        .await
        .waiting_for_budget
        .expect("the sweep waits for the budget");
    assert_eq!(waiting.database, contoso);
    assert!(waiting.resume_at > clock.now() - time::Duration::minutes(10));
    assert!(
        waiting.to_string().contains("scheduled syncs may use 90 %"),
        "{waiting}"
    );

    clock.advance(time::Duration::minutes(61));
    let outcomes = sync.run_due().await.expect("a scheduler tick");
    assert_eq!(outcomes.len(), 1, "{outcomes:#?}");
    assert_eq!(harness.copies_in_northwind(raised).len(), 1);
    let status = status(&harness, &clock, &governor).await;
    assert!(status.waiting_for_budget.is_none());
}

/// The connection's status as the Sync page shows it, with the budget's waits.
async fn status(
    harness: &Harness,
    clock: &Arc<ManualClock>,
    governor: &Arc<BudgetGovernor>,
) -> fusion_engine::SyncStatus {
    let overviews = SyncOverviews::new(harness.store.clone(), clock.clone());
    overviews.set_budget(governor.clone());
    let relationship = harness
        .store
        .relationship(harness.relationship)
        .await
        .expect("reads")
        .expect("exists");
    overviews.status(&relationship).await.expect("a status")
}

async fn runs(harness: &Harness) -> Vec<fusion_domain::sync::SyncRun> {
    harness
        .store
        .sync_runs(&RunFilter {
            relationship: Some(harness.relationship),
            status: None,
            started_from: None,
            started_before: None,
            limit: 100,
        })
        .await
        .expect("history")
}

fn copies(harness: &Harness, raised: &[i64]) -> usize {
    raised
        .iter()
        .map(|ticket| harness.copies_in_northwind(*ticket).len())
        .sum()
}
