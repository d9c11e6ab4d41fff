//! The Dashboard's activity: a relationship's runs of the last 7 days summed per UTC day (tickets
//! synced and failed) and per hour (platform calls), on the fake store and a manual clock.

use std::sync::Arc;

use fusion_domain::sync::{RunCounts, RunStatus, RunTrigger};
use fusion_domain::{ManualClock, RelationshipId};
use fusion_engine::SyncOverviews;
use fusion_engine::ports::{RunFinish, SyncStore};
use time::Duration;
use time::macros::{date, datetime};

use crate::fake_store::FakeStore;

async fn finished_run(
    store: &FakeStore,
    relationship: RelationshipId,
    at: time::OffsetDateTime,
    counts: RunCounts,
    calls_used: u64,
) {
    let run = store
        .start_run(relationship, RunTrigger::Automatic, None, at, None)
        .await
        .unwrap();
    store
        .finish_run(
            run.id,
            &RunFinish {
                status: RunStatus::Success,
                counts,
                finished_at: at + Duration::seconds(5),
                calls_used,
                error: None,
            },
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn activity_sums_a_weeks_runs_per_day_and_per_hour_and_leaves_older_runs_and_other_relationships_out()
 {
    let now = datetime!(2026-12-04 10:30 UTC);
    let store = Arc::new(FakeStore::default());
    let relationship = RelationshipId::new();
    let other = RelationshipId::new();
    let counts = |created, updated, closed, failed| RunCounts {
        created,
        updated,
        closed,
        failed,
        ..RunCounts::default()
    };
    // Today, twice in the 09:00 hour and once at 10:00.
    finished_run(
        &store,
        relationship,
        datetime!(2026-12-04 09:05 UTC),
        counts(2, 1, 0, 1),
        12,
    )
    .await;
    finished_run(
        &store,
        relationship,
        datetime!(2026-12-04 09:55 UTC),
        counts(0, 0, 1, 0),
        4,
    )
    .await;
    finished_run(
        &store,
        relationship,
        datetime!(2026-12-04 10:10 UTC),
        counts(1, 0, 0, 0),
        3,
    )
    .await;
    // The first day of the window (6 days ago) and one day before it (left out).
    finished_run(
        &store,
        relationship,
        datetime!(2026-11-28 00:10 UTC),
        counts(5, 0, 0, 2),
        7,
    )
    .await;
    finished_run(
        &store,
        relationship,
        datetime!(2026-11-27 23:50 UTC),
        counts(9, 9, 9, 9),
        99,
    )
    .await;
    // Another relationship's run.
    finished_run(
        &store,
        other,
        datetime!(2026-12-04 09:30 UTC),
        counts(7, 7, 7, 7),
        70,
    )
    .await;

    let store_port: Arc<dyn SyncStore> = store.clone();
    let overviews = SyncOverviews::new(store_port, Arc::new(ManualClock::new(now)));
    let activity = overviews.activity(relationship).await.unwrap();

    assert_eq!(activity.first_day, date!(2026 - 11 - 28));
    assert_eq!(
        activity.days,
        vec![(5, 2), (0, 0), (0, 0), (0, 0), (0, 0), (0, 0), (5, 1)]
    );
    assert_eq!(activity.hours.len(), 168);
    assert_eq!(activity.first_hour, datetime!(2026-11-27 11:00 UTC));
    assert_eq!(activity.hours[166], 16, "the 09:00 hour: 12 + 4 calls");
    assert_eq!(activity.hours[167], 3, "this hour");
    assert_eq!(
        activity.hours.iter().sum::<u64>(),
        16 + 3 + 7,
        "only this relationship's window"
    );
    assert_eq!(activity.linked_tickets, 0);
}
