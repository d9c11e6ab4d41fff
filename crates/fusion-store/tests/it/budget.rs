//! The API budget's ledger on both databases: counts from several writers add up per database,
//! connection and minute, reads are by time and database, old rows go, shares are set and
//! cleared, and a deferred manual run is kept once per connection and goes with it.

use fusion_engine::ports::{ApiUsage, DeferredRun};
use fusion_store::SecretKey;
use time::Duration;
use time::macros::datetime;

use crate::harness::for_each_backend;
use crate::sync::relationship;

#[tokio::test]
async fn usage_from_several_processes_adds_up_and_old_rows_are_pruned() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let connection = relationship(&store).await;
        let minute = datetime!(2026-12-05 12:00 UTC);
        let row = |relationship, minute, requests| ApiUsage {
            database: "ci:29683".into(),
            relationship,
            minute,
            requests,
        };
        // Two processes flush their counts of the same minute; the server's own work apart.
        store
            .add_api_usage(&[row(Some(connection), minute, 40), row(None, minute, 3)])
            .await
            .expect("adds");
        store
            .add_api_usage(&[
                row(Some(connection), minute, 2),
                row(Some(connection), minute - Duration::hours(26), 9),
            ])
            .await
            .expect("adds");
        store
            .add_api_usage(&[ApiUsage {
                database: "ci:1".into(),
                ..row(Some(connection), minute, 7)
            }])
            .await
            .expect("adds");
        let mut mine = store
            .api_usage_of("ci:29683", minute - Duration::hours(1))
            .await
            .expect("reads");
        mine.sort_by_key(|row| row.requests);
        assert_eq!(
            mine,
            vec![row(None, minute, 3), row(Some(connection), minute, 42)]
        );
        let everyone = store
            .api_usage_since(minute - Duration::hours(30))
            .await
            .expect("reads");
        assert_eq!(everyone.len(), 4);
        assert_eq!(
            store
                .prune_api_usage(minute - Duration::hours(25))
                .await
                .expect("prunes"),
            1
        );
        assert_eq!(
            store
                .api_usage_since(minute - Duration::hours(30))
                .await
                .expect("reads")
                .len(),
            3
        );
    })
    .await;
}

#[tokio::test]
async fn shares_and_deferred_runs_are_kept_per_database_and_connection() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        store.set_api_share("ci:2", Some(30)).await.expect("sets");
        store.set_api_share("ci:2", Some(70)).await.expect("sets");
        store.set_api_share("ci:3", Some(20)).await.expect("sets");
        store.set_api_share("ci:3", None).await.expect("clears");
        assert_eq!(
            store.api_shares().await.expect("reads"),
            vec![("ci:2".into(), 70)]
        );

        let connection = relationship(&store).await;
        let deferred = DeferredRun {
            relationship: connection,
            since: datetime!(2026-11-01 00:00 UTC),
            started_by: Some("ops@contoso.example".into()),
            deferred_at: datetime!(2026-12-05 12:00 UTC),
            resume_at: datetime!(2026-12-05 12:40 UTC),
        };
        store.save_deferred_run(&deferred).await.expect("saves");
        let later = DeferredRun {
            resume_at: datetime!(2026-12-05 13:05 UTC),
            ..deferred.clone()
        };
        store.save_deferred_run(&later).await.expect("replaces");
        assert_eq!(store.deferred_runs().await.expect("reads"), vec![later]);
        store.clear_deferred_run(connection).await.expect("clears");
        assert!(store.deferred_runs().await.expect("reads").is_empty());
    })
    .await;
}
