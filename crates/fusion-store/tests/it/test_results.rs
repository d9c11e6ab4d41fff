//! The last connection test per organisation: every field survives the round trip, and a newer
//! result replaces the older one.

use fusion_domain::{ApiUsage, ConnectionTestReport, OrgId, TestFailureKind};
use fusion_store::{SecretKey, StoreError};
use time::macros::datetime;

use crate::harness::{for_each_backend, organisation};

fn success_report() -> ConnectionTestReport {
    let mut report = ConnectionTestReport::tested(
        "Connected to America West (webservices5) as 7QKXG2MZ4HPWLRB@NORTHWINDIT.EXAMPLE",
        datetime!(2026-11-27 01:43:57.123456 UTC),
    );
    report.zone = Some("America West (webservices5)".to_owned());
    report.api_usage = Some(ApiUsage {
        requests_used: 1_234,
        request_limit: 10_000,
        timeframe_minutes: 60,
    });
    report.notes = vec![
        "A trailing newline was removed from the API secret".to_owned(),
        "Quotes \"and\" unicode — survive: ✓".to_owned(),
    ];
    report
}

fn failure_report() -> ConnectionTestReport {
    ConnectionTestReport::failed(
        TestFailureKind::AuthenticationFailed,
        "Authentication failed: the API username looks like an email address",
        "Use the API username (integration key) shown when the key was generated",
        datetime!(2026-11-27 02:00:00 UTC),
    )
}

#[tokio::test]
async fn the_last_test_result_round_trips_and_a_newer_one_replaces_it() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let org_id = organisation(&store, "Northwind IT").await;
        assert_eq!(store.last_test_result(org_id).await.expect("reads"), None);

        store
            .record_test_result(org_id, &success_report())
            .await
            .expect("records");
        assert_eq!(
            store.last_test_result(org_id).await.expect("reads"),
            Some(success_report())
        );

        store
            .record_test_result(org_id, &failure_report())
            .await
            .expect("records");
        let last = store
            .last_test_result(org_id)
            .await
            .expect("reads")
            .expect("a result");
        assert_eq!(last, failure_report());
        assert_eq!(last.outcome.label(), "Test failed");
        assert_eq!(last.failure, Some(TestFailureKind::AuthenticationFailed));
    })
    .await;
}

#[tokio::test]
async fn test_times_are_kept_to_the_microsecond_in_utc() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let org_id = organisation(&store, "Northwind IT").await;
        let mut report = failure_report();
        report.tested_at = datetime!(2026-11-27 03:43:57.123456789 +02:00);
        store
            .record_test_result(org_id, &report)
            .await
            .expect("records");
        let last = store
            .last_test_result(org_id)
            .await
            .expect("reads")
            .expect("a result");
        assert_eq!(last.tested_at, datetime!(2026-11-27 01:43:57.123456 UTC));
    })
    .await;
}

#[tokio::test]
async fn a_test_result_for_an_unknown_organisation_is_not_found() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let error = store
            .record_test_result(OrgId::new(), &failure_report())
            .await
            .expect_err("no such organisation");
        assert!(matches!(error, StoreError::NotFound), "{error:?}");
    })
    .await;
}
