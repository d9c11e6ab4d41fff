//! Sync state: ticket links (every member round-trips, looked up by either side and many at once,
//! a target ticket is never linked twice; a property test over random fingerprints and copied
//! items), pending creates, per-side cursors, runs with their records, pending retries, history
//! filters, retention, leases (one winner among concurrent claimers, expiry and takeover), and that
//! all of it survives reopening the store.

use std::collections::BTreeMap;
use std::sync::Arc;

use fusion_domain::sync::{
    AttachmentId, CommentId, CopiedItem, Fingerprint, HeldPeriod, LinkEnd, PendingRetry,
    RecordOutcome, RunCounts, RunStatus, RunTrigger, SyncCursor, SyncRecord, SyncRun, SyncRunId,
    SyncSchedule, TicketId, TicketLink, TicketMarker,
};
use fusion_domain::{RelationshipId, Role, VERIFICATION_CODE_LIFETIME, VerificationCode};
use fusion_engine::ports::{LeaseKey, PendingCreate, RunFilter, RunFinish, SyncStore};
use fusion_store::{SecretKey, Store, StoreError};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use tokio::sync::Barrier;

use crate::harness::{TestDatabase, backends_under_test, for_each_backend, organisation};

const NOW: OffsetDateTime = datetime!(2026-11-27 02:00:00.123456 UTC);
const LEASE_TTL: Duration = Duration::minutes(2);

fn new_code() -> VerificationCode {
    let bytes = [
        uuid::Uuid::new_v4().into_bytes(),
        uuid::Uuid::new_v4().into_bytes(),
    ];
    VerificationCode::from_random_bytes(bytes.into_iter().flatten()).expect("enough random bytes")
}

/// A relationship to hang sync state on (its state does not matter to the store).
pub(crate) async fn relationship(store: &Arc<dyn Store>) -> RelationshipId {
    let initiator = organisation(store, "Contoso Manufacturing").await;
    store
        .create_relationship(
            initiator,
            Role::Source,
            "Managed services",
            &new_code(),
            NOW,
            NOW + VERIFICATION_CODE_LIFETIME,
        )
        .await
        .expect("creates")
        .id
}

fn ticket(id: &str) -> TicketId {
    TicketId::new(id)
}

/// A link with something in every member.
fn full_link(relationship: RelationshipId, source: &str, target: &str) -> TicketLink {
    TicketLink {
        relationship,
        source: ticket(source),
        target: ticket(target),
        source_number: format!("T20261127.{source}"),
        target_number: format!("T20261127.{target}"),
        title: String::new(),
        origin: Role::Source,
        source_fields: BTreeMap::from([
            ("title".to_owned(), Fingerprint::of_text("Printer offline")),
            ("priority".to_owned(), Fingerprint::of_text("2")),
        ]),
        target_fields: BTreeMap::from([(
            "status".to_owned(),
            Fingerprint::from_stored("0123456789abcdef0123456789abcdef"),
        )]),
        comments: vec![
            CopiedItem {
                from: Role::Source,
                original: CommentId::new("501"),
                copy: CommentId::new("9001"),
            },
            CopiedItem {
                from: Role::Target,
                original: CommentId::new("9002"),
                copy: CommentId::new("502"),
            },
        ],
        attachments: vec![CopiedItem {
            from: Role::Target,
            original: AttachmentId::new("77"),
            copy: AttachmentId::new("88"),
        }],
        time_entries: vec![
            fusion_domain::sync::CopiedTimeEntry {
                from: Role::Source,
                original: fusion_domain::sync::TimeEntryId::new("702"),
                notes: Vec::new(),
                fingerprint: Fingerprint::of_text("time:2026-12-04|200"),
                described: "2.00 h by Alex Morgan on 2026-12-04".to_owned(),
                deleted: false,
                copy: Some(fusion_domain::sync::TimeEntryId::new("31009001")),
            },
            fusion_domain::sync::CopiedTimeEntry {
                from: Role::Target,
                original: fusion_domain::sync::TimeEntryId::new("701"),
                notes: vec![CommentId::new("9101"), CommentId::new("9102")],
                fingerprint: Fingerprint::of_text("time:2026-12-04|150"),
                described: "1.50 h by Jane Doe on 2026-12-04".to_owned(),
                deleted: true,
                copy: None,
            },
        ],
        source_closed: true,
        target_closed: false,
        created_at: NOW,
        updated_at: NOW + Duration::seconds(5),
        ended: Some(LinkEnd {
            at: NOW + Duration::seconds(9),
            reason: "T20261127.S1 was deleted in Contoso's tenant by Jane Doe".into(),
        }),
        held: vec![
            HeldPeriod {
                from: NOW + Duration::seconds(1),
                until: Some(NOW + Duration::seconds(2)),
            },
            HeldPeriod {
                from: NOW + Duration::seconds(3),
                until: None,
            },
        ],
    }
}

fn record(
    run: &SyncRun,
    source: Option<&str>,
    target: Option<&str>,
    outcome: RecordOutcome,
    recorded_at: OffsetDateTime,
) -> SyncRecord {
    SyncRecord {
        run: run.id,
        relationship: run.relationship,
        origin: Role::Source,
        source_ticket: source.map(ticket),
        source_number: source.map(|id| format!("T20261127.{id}")),
        target_ticket: target.map(ticket),
        target_number: target.map(|id| format!("T20261127.{id}")),
        title: format!("Ticket {}", source.or(target).unwrap_or("?")),
        outcome,
        error: (outcome == RecordOutcome::Failed)
            .then(|| format!("ticket {} failed", source.or(target).unwrap_or("?"))),
        failed_comments: 0,
        failed_attachments: 0,
        notes: Vec::new(),
        recorded_at,
    }
}

fn finish(status: RunStatus, finished_at: OffsetDateTime) -> RunFinish {
    RunFinish {
        status,
        counts: RunCounts::default(),
        finished_at,
        calls_used: 12,
        error: None,
    }
}

/// A run of `relationship` started at `started_at` and finished a minute later with `status`.
async fn finished_run(
    store: &Arc<dyn Store>,
    relationship: RelationshipId,
    status: RunStatus,
    started_at: OffsetDateTime,
) -> SyncRun {
    let run = store
        .start_run(relationship, RunTrigger::Automatic, None, started_at, None)
        .await
        .expect("starts");
    let finished_at = started_at + Duration::minutes(1);
    store
        .finish_run(run.id, &finish(status, finished_at))
        .await
        .expect("finishes");
    SyncRun {
        status,
        finished_at: Some(finished_at),
        calls_used: 12,
        ..run
    }
}

fn sorted_by_source(mut links: Vec<TicketLink>) -> Vec<TicketLink> {
    links.sort_by(|a, b| a.source.cmp(&b.source));
    links
}

#[tokio::test]
async fn a_link_comes_back_equal_in_every_member_from_either_side() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let relationship = relationship(&store).await;
        let other_relationship = self::relationship(&store).await;
        let link = full_link(relationship, "4711", "9912");
        store.upsert_link(&link).await.expect("saves");

        let by_source = store
            .link_by_ticket(relationship, Role::Source, &ticket("4711"))
            .await
            .expect("reads");
        assert_eq!(by_source.as_ref(), Some(&link));
        let by_target = store
            .link_by_ticket(relationship, Role::Target, &ticket("9912"))
            .await
            .expect("reads");
        assert_eq!(by_target.as_ref(), Some(&link));

        // The ticket ids of one side are not looked up on the other, nor in another relationship.
        for (relationship, side, id) in [
            (relationship, Role::Target, "4711"),
            (relationship, Role::Source, "9912"),
            (other_relationship, Role::Source, "4711"),
        ] {
            assert_eq!(
                store
                    .link_by_ticket(relationship, side, &ticket(id))
                    .await
                    .expect("reads"),
                None,
                "{side:?} {id}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn saving_a_link_again_replaces_it_with_the_newest_content() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let relationship = relationship(&store).await;
        let first = full_link(relationship, "4711", "9912");
        store.upsert_link(&first).await.expect("saves");

        let mut second = first.clone();
        second
            .source_fields
            .insert("title".to_owned(), Fingerprint::of_text("Printer back"));
        second.target_fields.clear();
        second.comments.push(CopiedItem {
            from: Role::Source,
            original: CommentId::new("503"),
            copy: CommentId::new("9003"),
        });
        second.attachments.clear();
        second.source_closed = false;
        second.target_closed = true;
        second.updated_at = NOW + Duration::minutes(5);
        store.upsert_link(&second).await.expect("replaces");

        assert_eq!(
            store
                .link_by_ticket(relationship, Role::Source, &ticket("4711"))
                .await
                .expect("reads"),
            Some(second.clone())
        );
        assert_eq!(
            store
                .links_by_tickets(relationship, Role::Source, &[ticket("4711")])
                .await
                .expect("reads"),
            vec![second],
            "one link, not two"
        );
    })
    .await;
}

#[tokio::test]
async fn the_linked_ticket_count_is_per_relationship_and_counts_a_replaced_link_once() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let relationship = relationship(&store).await;
        let other_relationship = self::relationship(&store).await;
        assert_eq!(
            store
                .linked_ticket_count(relationship)
                .await
                .expect("counts"),
            0
        );
        for n in 1..=3 {
            store
                .upsert_link(&full_link(
                    relationship,
                    &format!("10{n}"),
                    &format!("20{n}"),
                ))
                .await
                .expect("saves");
        }
        // Saving the same pair again replaces it.
        store
            .upsert_link(&full_link(relationship, "101", "201"))
            .await
            .expect("replaces");
        store
            .upsert_link(&full_link(other_relationship, "101", "201"))
            .await
            .expect("saves");
        assert_eq!(
            store
                .linked_ticket_count(relationship)
                .await
                .expect("counts"),
            3
        );
        assert_eq!(
            store
                .linked_ticket_count(other_relationship)
                .await
                .expect("counts"),
            1
        );
    })
    .await;
}

#[tokio::test]
async fn many_links_are_found_at_once_on_either_side() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let relationship = relationship(&store).await;
        let other_relationship = self::relationship(&store).await;
        let links: Vec<TicketLink> = (1..=5)
            .map(|n| full_link(relationship, &format!("10{n}"), &format!("20{n}")))
            .collect();
        for link in &links {
            store.upsert_link(link).await.expect("saves");
        }
        // Same ticket ids in another relationship must not be returned.
        store
            .upsert_link(&full_link(other_relationship, "102", "202"))
            .await
            .expect("saves");

        let by_source = store
            .links_by_tickets(
                relationship,
                Role::Source,
                &[ticket("104"), ticket("101"), ticket("999"), ticket("102")],
            )
            .await
            .expect("reads");
        assert_eq!(
            sorted_by_source(by_source),
            vec![links[0].clone(), links[1].clone(), links[3].clone()]
        );

        let by_target = store
            .links_by_tickets(
                relationship,
                Role::Target,
                &[ticket("205"), ticket("105"), ticket("203")],
            )
            .await
            .expect("reads");
        assert_eq!(
            sorted_by_source(by_target),
            vec![links[2].clone(), links[4].clone()]
        );

        assert_eq!(
            store
                .links_by_tickets(relationship, Role::Source, &[])
                .await
                .expect("reads"),
            Vec::new()
        );
    })
    .await;
}

#[tokio::test]
async fn a_second_link_to_the_same_target_ticket_is_a_conflict() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let relationship = relationship(&store).await;
        let first = full_link(relationship, "4711", "9912");
        store.upsert_link(&first).await.expect("saves");

        let refused = store
            .upsert_link(&full_link(relationship, "4712", "9912"))
            .await
            .expect_err("the target ticket is taken");
        assert!(matches!(refused, StoreError::Conflict(_)), "{refused:?}");
        // Re-pointing an existing link at a taken target is refused the same way.
        store
            .upsert_link(&full_link(relationship, "4713", "9913"))
            .await
            .expect("saves");
        let repointed = store
            .upsert_link(&full_link(relationship, "4713", "9912"))
            .await
            .expect_err("the target ticket is taken");
        assert!(
            matches!(repointed, StoreError::Conflict(_)),
            "{repointed:?}"
        );

        assert_eq!(
            store
                .link_by_ticket(relationship, Role::Target, &ticket("9912"))
                .await
                .expect("reads"),
            Some(first)
        );
        assert_eq!(
            store
                .link_by_ticket(relationship, Role::Source, &ticket("4712"))
                .await
                .expect("reads"),
            None
        );

        let unknown = store
            .upsert_link(&full_link(RelationshipId::new(), "1", "2"))
            .await
            .expect_err("no such relationship");
        assert!(matches!(unknown, StoreError::NotFound), "{unknown:?}");
    })
    .await;
}

fn pending_create(
    relationship: RelationshipId,
    origin: Role,
    origin_ticket: &str,
    started_at: OffsetDateTime,
) -> PendingCreate {
    PendingCreate {
        relationship,
        origin,
        origin_ticket: ticket(origin_ticket),
        marker: TicketMarker::for_copy_of(relationship, origin, &ticket(origin_ticket)),
        started_at,
    }
}

#[tokio::test]
async fn pending_creates_are_listed_oldest_first_replaced_and_cleared() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let relationship = relationship(&store).await;
        let other_relationship = self::relationship(&store).await;
        let later = pending_create(
            relationship,
            Role::Source,
            "4711",
            NOW + Duration::seconds(9),
        );
        let earlier = pending_create(relationship, Role::Target, "9912", NOW);
        for pending in [&later, &earlier] {
            store.record_pending_create(pending).await.expect("records");
        }
        store
            .record_pending_create(&pending_create(other_relationship, Role::Source, "1", NOW))
            .await
            .expect("records");
        assert_eq!(
            store.pending_creates(relationship).await.expect("reads"),
            vec![earlier.clone(), later.clone()]
        );

        // The same origin ticket again replaces its entry.
        let restarted = pending_create(
            relationship,
            Role::Target,
            "9912",
            NOW + Duration::minutes(1),
        );
        store
            .record_pending_create(&restarted)
            .await
            .expect("records");
        assert_eq!(
            store.pending_creates(relationship).await.expect("reads"),
            vec![later.clone(), restarted]
        );

        store
            .clear_pending_create(relationship, Role::Target, &ticket("9912"))
            .await
            .expect("clears");
        // Clearing what is not there (wrong side, already gone) is not an error.
        store
            .clear_pending_create(relationship, Role::Target, &ticket("4711"))
            .await
            .expect("nothing to clear");
        store
            .clear_pending_create(relationship, Role::Target, &ticket("9912"))
            .await
            .expect("nothing to clear");
        assert_eq!(
            store.pending_creates(relationship).await.expect("reads"),
            vec![later]
        );
        assert_eq!(
            store
                .pending_creates(other_relationship)
                .await
                .expect("reads")
                .len(),
            1
        );
    })
    .await;
}

#[tokio::test]
async fn cursors_are_kept_per_side_and_replaced() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let relationship = relationship(&store).await;
        assert_eq!(
            store
                .cursor(relationship, Role::Source)
                .await
                .expect("reads"),
            None,
            "no cursor before the first run"
        );
        let source = SyncCursor {
            relationship,
            side: Role::Source,
            last_activity_at: NOW,
            last_id: Some(ticket("4711")),
        };
        let target = SyncCursor {
            relationship,
            side: Role::Target,
            last_activity_at: NOW - Duration::hours(1),
            last_id: None,
        };
        store.save_cursor(&source).await.expect("saves");
        store.save_cursor(&target).await.expect("saves");
        assert_eq!(
            store
                .cursor(relationship, Role::Source)
                .await
                .expect("reads"),
            Some(source.clone())
        );
        assert_eq!(
            store
                .cursor(relationship, Role::Target)
                .await
                .expect("reads"),
            Some(target.clone())
        );

        let advanced = SyncCursor {
            last_activity_at: NOW + Duration::minutes(5),
            last_id: Some(ticket("4790")),
            ..source
        };
        store.save_cursor(&advanced).await.expect("replaces");
        assert_eq!(
            store
                .cursor(relationship, Role::Source)
                .await
                .expect("reads"),
            Some(advanced)
        );
        assert_eq!(
            store
                .cursor(relationship, Role::Target)
                .await
                .expect("reads"),
            Some(target),
            "the other side is untouched"
        );

        let unknown = store
            .save_cursor(&SyncCursor {
                relationship: RelationshipId::new(),
                side: Role::Source,
                last_activity_at: NOW,
                last_id: None,
            })
            .await
            .expect_err("no such relationship");
        assert!(matches!(unknown, StoreError::NotFound), "{unknown:?}");
    })
    .await;
}

#[tokio::test]
async fn a_run_starts_running_and_finishes_with_its_counts_and_records_in_order() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let relationship = relationship(&store).await;
        let since = NOW - Duration::days(3);
        let run = store
            .start_run(relationship, RunTrigger::Manual, Some(since), NOW, None)
            .await
            .expect("starts");
        assert_eq!(run.status, RunStatus::Running);
        assert_eq!(run.relationship, relationship);
        assert_eq!(run.trigger, RunTrigger::Manual);
        assert_eq!(run.since, Some(since));
        assert_eq!(run.started_at, NOW);
        assert_eq!(run.finished_at, None);
        assert_eq!(
            store.sync_run(run.id).await.expect("reads"),
            Some(run.clone())
        );

        // Records come back in the order they were added, whatever their ticket ids and times.
        let mut records = vec![
            record(&run, Some("9"), Some("90"), RecordOutcome::Created, NOW),
            record(&run, Some("3"), None, RecordOutcome::Failed, NOW),
            record(
                &run,
                None,
                Some("55"),
                RecordOutcome::Closed,
                NOW - Duration::seconds(1),
            ),
            record(&run, Some("5"), Some("50"), RecordOutcome::Updated, NOW),
            record(&run, Some("6"), Some("60"), RecordOutcome::Held, NOW),
        ];
        records[3].failed_comments = 2;
        records[3].failed_attachments = 1;
        records[3].notes = vec![
            "Both sides changed Priority; the target's value was kept".to_owned(),
            "Status: no value mapping for \"In Progress\"".to_owned(),
        ];
        records[3].origin = Role::Target;
        for record in &records {
            store.add_record(record).await.expect("adds");
        }

        let counts = RunCounts {
            created: 1,
            updated: 1,
            closed: 1,
            failed: 1,
            skipped: 7,
            conflicts: 1,
            attention: 2,
        };
        let finished_at = NOW + Duration::seconds(42);
        store
            .finish_run(
                run.id,
                &RunFinish {
                    status: RunStatus::Partial,
                    counts,
                    finished_at,
                    calls_used: 314,
                    error: Some("ticket 3: the queue is not mapped".to_owned()),
                },
            )
            .await
            .expect("finishes");
        let finished = store
            .sync_run(run.id)
            .await
            .expect("reads")
            .expect("the run exists");
        assert_eq!(
            finished,
            SyncRun {
                status: RunStatus::Partial,
                counts,
                finished_at: Some(finished_at),
                calls_used: 314,
                error: Some("ticket 3: the queue is not mapped".to_owned()),
                ..run.clone()
            }
        );
        assert_eq!(finished.duration(), Some(Duration::seconds(42)));
        assert_eq!(store.sync_records(run.id).await.expect("reads"), records);

        // Unknown runs: NotFound for writes, nothing for reads.
        let unknown_run = SyncRunId::new();
        let finish_unknown = store
            .finish_run(unknown_run, &finish(RunStatus::Success, NOW))
            .await
            .expect_err("no such run");
        assert!(
            matches!(finish_unknown, StoreError::NotFound),
            "{finish_unknown:?}"
        );
        let stray = SyncRecord {
            run: unknown_run,
            ..records[0].clone()
        };
        let add_unknown = store.add_record(&stray).await.expect_err("no such run");
        assert!(
            matches!(add_unknown, StoreError::NotFound),
            "{add_unknown:?}"
        );
        let wrong_relationship = SyncRecord {
            relationship: RelationshipId::new(),
            ..records[0].clone()
        };
        let add_elsewhere = store
            .add_record(&wrong_relationship)
            .await
            .expect_err("the run belongs to another relationship");
        assert!(
            matches!(add_elsewhere, StoreError::NotFound),
            "{add_elsewhere:?}"
        );
        assert_eq!(store.sync_run(unknown_run).await.expect("reads"), None);
        assert_eq!(
            store.sync_records(unknown_run).await.expect("reads"),
            Vec::new()
        );
        let start_unknown = store
            .start_run(
                RelationshipId::new(),
                RunTrigger::Automatic,
                None,
                NOW,
                None,
            )
            .await
            .expect_err("no such relationship");
        assert!(
            matches!(start_unknown, StoreError::NotFound),
            "{start_unknown:?}"
        );
    })
    .await;
}

fn retry_tickets(retries: &[PendingRetry]) -> Vec<(Option<&str>, Option<&str>, u32)> {
    retries
        .iter()
        .map(|retry| {
            (
                retry.source_ticket.as_ref().map(TicketId::as_str),
                retry.target_ticket.as_ref().map(TicketId::as_str),
                retry.attempts,
            )
        })
        .collect()
}

#[tokio::test]
async fn a_ticket_whose_latest_record_failed_is_retried_until_a_later_success_clears_it() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let relationship = relationship(&store).await;
        let other_relationship = self::relationship(&store).await;
        let at = |minutes: i64| NOW + Duration::minutes(minutes);

        let first = store
            .start_run(relationship, RunTrigger::Automatic, None, at(0), None)
            .await
            .expect("starts");
        store
            .add_record(&record(
                &first,
                Some("A"),
                Some("a"),
                RecordOutcome::Failed,
                at(1),
            ))
            .await
            .expect("adds");
        store
            .add_record(&record(
                &first,
                Some("B"),
                None,
                RecordOutcome::Failed,
                at(2),
            ))
            .await
            .expect("adds");
        store
            .add_record(&record(
                &first,
                Some("C"),
                Some("c"),
                RecordOutcome::Updated,
                at(3),
            ))
            .await
            .expect("adds");
        let other_run = store
            .start_run(other_relationship, RunTrigger::Automatic, None, at(0), None)
            .await
            .expect("starts");
        store
            .add_record(&record(
                &other_run,
                Some("A"),
                None,
                RecordOutcome::Failed,
                at(1),
            ))
            .await
            .expect("adds");

        let retries = store.pending_retries(relationship).await.expect("reads");
        assert_eq!(
            retry_tickets(&retries),
            vec![(Some("A"), Some("a"), 1), (Some("B"), None, 1)]
        );
        assert_eq!(retries[0].relationship, relationship);
        assert_eq!(retries[0].last_failed_at, at(1));
        assert_eq!(retries[0].last_error.as_deref(), Some("ticket A failed"));

        // Second run: A fails again (two in a row), B is created, C fails for the first time.
        let second = store
            .start_run(relationship, RunTrigger::Automatic, None, at(10), None)
            .await
            .expect("starts");
        store
            .add_record(&record(
                &second,
                Some("B"),
                Some("b"),
                RecordOutcome::Created,
                at(11),
            ))
            .await
            .expect("adds");
        store
            .add_record(&record(
                &second,
                Some("C"),
                Some("c"),
                RecordOutcome::Failed,
                at(12),
            ))
            .await
            .expect("adds");
        store
            .add_record(&record(
                &second,
                Some("A"),
                Some("a"),
                RecordOutcome::Failed,
                at(13),
            ))
            .await
            .expect("adds");
        let retries = store.pending_retries(relationship).await.expect("reads");
        assert_eq!(
            retry_tickets(&retries),
            vec![(Some("C"), Some("c"), 1), (Some("A"), Some("a"), 2)],
            "oldest failure first"
        );
        assert_eq!(retries[1].last_failed_at, at(13));

        // Third run: A succeeds; a failure after a success starts counting again.
        let third = store
            .start_run(relationship, RunTrigger::Automatic, None, at(20), None)
            .await
            .expect("starts");
        store
            .add_record(&record(
                &third,
                Some("A"),
                Some("a"),
                RecordOutcome::Updated,
                at(21),
            ))
            .await
            .expect("adds");
        assert_eq!(
            retry_tickets(&store.pending_retries(relationship).await.expect("reads")),
            vec![(Some("C"), Some("c"), 1)]
        );
        store
            .add_record(&record(
                &third,
                Some("A"),
                Some("a"),
                RecordOutcome::Failed,
                at(22),
            ))
            .await
            .expect("adds");
        assert_eq!(
            retry_tickets(&store.pending_retries(relationship).await.expect("reads")),
            vec![(Some("C"), Some("c"), 1), (Some("A"), Some("a"), 1)]
        );

        // A ticket known only by its target ticket (reverse sync, source not created yet) is
        // settled by a later record that names both.
        store
            .add_record(&record(
                &third,
                None,
                Some("t-only"),
                RecordOutcome::Failed,
                at(23),
            ))
            .await
            .expect("adds");
        assert_eq!(
            retry_tickets(&store.pending_retries(relationship).await.expect("reads")),
            vec![
                (Some("C"), Some("c"), 1),
                (Some("A"), Some("a"), 1),
                (None, Some("t-only"), 1)
            ]
        );
        store
            .add_record(&record(
                &third,
                Some("S-new"),
                Some("t-only"),
                RecordOutcome::Created,
                at(24),
            ))
            .await
            .expect("adds");
        assert_eq!(
            retry_tickets(&store.pending_retries(relationship).await.expect("reads")),
            vec![(Some("C"), Some("c"), 1), (Some("A"), Some("a"), 1)]
        );

        assert_eq!(
            retry_tickets(
                &store
                    .pending_retries(other_relationship)
                    .await
                    .expect("reads")
            ),
            vec![(Some("A"), None, 1)]
        );
        assert_eq!(
            store
                .pending_retries(RelationshipId::new())
                .await
                .expect("reads"),
            Vec::new()
        );
    })
    .await;
}

#[tokio::test]
async fn history_filters_by_relationship_status_and_period_newest_first_within_the_limit() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let relationship = relationship(&store).await;
        let other_relationship = self::relationship(&store).await;
        let day = |days: i64| NOW - Duration::days(days);

        let old_success = finished_run(&store, relationship, RunStatus::Success, day(10)).await;
        let failed = finished_run(&store, relationship, RunStatus::Failed, day(5)).await;
        let partial = finished_run(&store, relationship, RunStatus::Partial, day(3)).await;
        let other = finished_run(&store, other_relationship, RunStatus::Success, day(2)).await;
        let nothing = finished_run(&store, relationship, RunStatus::NoTicketsFound, day(1)).await;
        let running = store
            .start_run(relationship, RunTrigger::Manual, Some(day(30)), NOW, None)
            .await
            .expect("starts");

        let all = RunFilter {
            relationship: None,
            status: None,
            started_from: None,
            started_before: None,
            limit: 100,
        };
        assert_eq!(
            store.sync_runs(&all).await.expect("reads"),
            vec![
                running.clone(),
                nothing.clone(),
                other.clone(),
                partial.clone(),
                failed.clone(),
                old_success.clone()
            ]
        );
        assert_eq!(
            store
                .sync_runs(&RunFilter {
                    relationship: Some(relationship),
                    ..all.clone()
                })
                .await
                .expect("reads"),
            vec![
                running.clone(),
                nothing.clone(),
                partial.clone(),
                failed.clone(),
                old_success.clone()
            ]
        );
        assert_eq!(
            store
                .sync_runs(&RunFilter {
                    status: Some(RunStatus::Success),
                    ..all.clone()
                })
                .await
                .expect("reads"),
            vec![other.clone(), old_success.clone()]
        );
        assert_eq!(
            store
                .sync_runs(&RunFilter {
                    status: Some(RunStatus::Running),
                    ..all.clone()
                })
                .await
                .expect("reads"),
            vec![running.clone()]
        );
        // The last 7 days, up to (not including) a day ago.
        assert_eq!(
            store
                .sync_runs(&RunFilter {
                    relationship: Some(relationship),
                    started_from: Some(day(7)),
                    started_before: Some(day(1)),
                    ..all.clone()
                })
                .await
                .expect("reads"),
            vec![partial.clone(), failed.clone()]
        );
        // The bounds: from is inclusive, before is exclusive.
        assert_eq!(
            store
                .sync_runs(&RunFilter {
                    started_from: Some(day(5)),
                    started_before: Some(day(3)),
                    ..all.clone()
                })
                .await
                .expect("reads"),
            vec![failed.clone()]
        );
        assert_eq!(
            store
                .sync_runs(&RunFilter {
                    relationship: Some(relationship),
                    limit: 2,
                    ..all.clone()
                })
                .await
                .expect("reads"),
            vec![running, nothing]
        );
        assert_eq!(
            store
                .sync_runs(&RunFilter {
                    relationship: Some(RelationshipId::new()),
                    ..all
                })
                .await
                .expect("reads"),
            Vec::new()
        );
    })
    .await;
}

#[tokio::test]
async fn retention_deletes_only_runs_that_finished_before_the_cutoff() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let relationship = relationship(&store).await;
        let day = |days: i64| NOW - Duration::days(days);

        let oldest = finished_run(&store, relationship, RunStatus::Failed, day(40)).await;
        store
            .add_record(&record(
                &oldest,
                Some("A"),
                Some("a"),
                RecordOutcome::Failed,
                day(40),
            ))
            .await
            .expect("adds");
        let old = finished_run(&store, relationship, RunStatus::Success, day(31)).await;
        store
            .add_record(&record(
                &old,
                Some("B"),
                Some("b"),
                RecordOutcome::Created,
                day(31),
            ))
            .await
            .expect("adds");
        let recent = finished_run(&store, relationship, RunStatus::Success, day(2)).await;
        store
            .add_record(&record(
                &recent,
                Some("C"),
                Some("c"),
                RecordOutcome::Updated,
                day(2),
            ))
            .await
            .expect("adds");
        // Started long ago and never finished (its process died): not history yet, kept.
        let stuck = store
            .start_run(relationship, RunTrigger::Automatic, None, day(50), None)
            .await
            .expect("starts");
        let link = full_link(relationship, "A", "a");
        store.upsert_link(&link).await.expect("saves");
        let cursor = SyncCursor {
            relationship,
            side: Role::Source,
            last_activity_at: day(40),
            last_id: None,
        };
        store.save_cursor(&cursor).await.expect("saves");

        let deleted = store.delete_runs_before(day(30)).await.expect("deletes");
        assert_eq!(deleted, 2);
        let remaining: Vec<SyncRunId> = store
            .sync_runs(&RunFilter {
                relationship: Some(relationship),
                status: None,
                started_from: None,
                started_before: None,
                limit: 100,
            })
            .await
            .expect("reads")
            .iter()
            .map(|run| run.id)
            .collect();
        assert_eq!(remaining, vec![recent.id, stuck.id]);
        assert_eq!(
            store.sync_records(oldest.id).await.expect("reads"),
            Vec::new()
        );
        assert_eq!(store.sync_records(old.id).await.expect("reads"), Vec::new());
        assert_eq!(store.sync_records(recent.id).await.expect("reads").len(), 1);

        // Links, cursors and the pending retry from the deleted run are kept.
        assert_eq!(
            store
                .link_by_ticket(relationship, Role::Source, &ticket("A"))
                .await
                .expect("reads"),
            Some(link)
        );
        assert_eq!(
            store
                .cursor(relationship, Role::Source)
                .await
                .expect("reads"),
            Some(cursor)
        );
        assert_eq!(
            retry_tickets(&store.pending_retries(relationship).await.expect("reads")),
            vec![(Some("A"), Some("a"), 1)]
        );
        assert_eq!(
            store.delete_runs_before(day(30)).await.expect("deletes"),
            0,
            "nothing left to delete"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_one_of_six_concurrent_claimers_gets_a_lease() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let relationship = relationship(&store).await;
        for key in [
            LeaseKey::Relationship(relationship),
            LeaseKey::Database("autotask:webservices5:contoso".to_owned()),
        ] {
            let start = Arc::new(Barrier::new(6));
            let claims: Vec<_> = (0..6)
                .map(|worker| {
                    let store = Arc::clone(&store);
                    let start = Arc::clone(&start);
                    let key = key.clone();
                    tokio::spawn(async move {
                        start.wait().await;
                        store
                            .claim_lease(&key, &format!("worker-{worker}"), NOW, LEASE_TTL)
                            .await
                    })
                })
                .collect();
            let mut winners = Vec::new();
            for claim in claims {
                if let Some(lease) = claim
                    .await
                    .expect("the task ran")
                    .expect("the database answers")
                {
                    winners.push(lease);
                }
            }
            assert_eq!(winners.len(), 1, "{key:?}: {winners:?}");
            let winner = &winners[0];
            assert_eq!(winner.key, key);
            assert_eq!(winner.expires_at, NOW + LEASE_TTL);
            assert!(winner.holder.starts_with("worker-"), "{}", winner.holder);
        }
    })
    .await;
}

#[tokio::test]
async fn an_expired_lease_goes_to_the_next_claimer_and_the_old_holder_cannot_renew_it() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let key = LeaseKey::Database("autotask:webservices2:northwind".to_owned());
        let first = store
            .claim_lease(&key, "host-a:101", NOW, LEASE_TTL)
            .await
            .expect("the database answers")
            .expect("free");
        assert_eq!(first.holder, "host-a:101");

        // Held: nobody else gets it, up to the last microsecond.
        let just_before_expiry = NOW + LEASE_TTL - Duration::microseconds(1);
        assert_eq!(
            store
                .claim_lease(&key, "host-b:202", just_before_expiry, LEASE_TTL)
                .await
                .expect("the database answers"),
            None
        );

        // Renewing moves the expiry and keeps the token.
        let renewed = store
            .renew_lease(&first, NOW + Duration::minutes(1), LEASE_TTL)
            .await
            .expect("the database answers")
            .expect("still held");
        assert_eq!(renewed.token, first.token);
        assert_eq!(renewed.expires_at, NOW + Duration::minutes(1) + LEASE_TTL);
        assert_eq!(
            store
                .claim_lease(&key, "host-b:202", NOW + LEASE_TTL, LEASE_TTL)
                .await
                .expect("the database answers"),
            None,
            "the renewed lease has not expired yet"
        );

        // Expired (at exactly its expiry time): the next claimer takes it over with a new token.
        let expiry = renewed.expires_at;
        let second = store
            .claim_lease(&key, "host-b:202", expiry, LEASE_TTL)
            .await
            .expect("the database answers")
            .expect("expired, so free");
        assert_eq!(second.holder, "host-b:202");
        assert_ne!(second.token, first.token);
        assert_eq!(
            store
                .renew_lease(&renewed, expiry, LEASE_TTL)
                .await
                .expect("the database answers"),
            None,
            "the old holder lost it"
        );
        // The old holder's release does not free the new holder's lease.
        store.release_lease(&renewed).await.expect("no error");
        assert_eq!(
            store
                .claim_lease(&key, "host-c:303", expiry + Duration::seconds(1), LEASE_TTL)
                .await
                .expect("the database answers"),
            None
        );

        // Released by its holder: free at once, and the released lease cannot be renewed.
        store.release_lease(&second).await.expect("releases");
        assert_eq!(
            store
                .renew_lease(&second, expiry, LEASE_TTL)
                .await
                .expect("the database answers"),
            None
        );
        let third = store
            .claim_lease(&key, "host-c:303", expiry + Duration::seconds(1), LEASE_TTL)
            .await
            .expect("the database answers")
            .expect("released, so free");
        assert_eq!(third.holder, "host-c:303");

        // Keys are independent.
        let relationship_key = LeaseKey::Relationship(RelationshipId::new());
        assert!(
            store
                .claim_lease(&relationship_key, "host-a:101", NOW, LEASE_TTL)
                .await
                .expect("the database answers")
                .is_some()
        );
    })
    .await;
}

#[tokio::test]
async fn sync_state_survives_reopening_the_store() {
    for_each_backend(async |database| {
        let key = SecretKey::generate();
        let store = database.store(&key).await;
        let relationship = relationship(&store).await;
        let link = full_link(relationship, "4711", "9912");
        store.upsert_link(&link).await.expect("saves");
        let pending = pending_create(relationship, Role::Source, "4712", NOW);
        store
            .record_pending_create(&pending)
            .await
            .expect("records");
        let cursor = SyncCursor {
            relationship,
            side: Role::Target,
            last_activity_at: NOW,
            last_id: Some(ticket("9912")),
        };
        store.save_cursor(&cursor).await.expect("saves");
        let run = finished_run(&store, relationship, RunStatus::Partial, NOW).await;
        let failure = record(&run, Some("4713"), None, RecordOutcome::Failed, NOW);
        store.add_record(&failure).await.expect("adds");
        let lease_key = LeaseKey::Relationship(relationship);
        let lease = store
            .claim_lease(&lease_key, "host-a:101", NOW, LEASE_TTL)
            .await
            .expect("the database answers")
            .expect("free");
        drop(store);

        // The engine holds the sync half only; a whole store is one.
        let reopened: Arc<dyn SyncStore> = database.store(&key).await;
        assert_eq!(
            reopened
                .link_by_ticket(relationship, Role::Target, &ticket("9912"))
                .await
                .expect("reads"),
            Some(link)
        );
        assert_eq!(
            reopened.pending_creates(relationship).await.expect("reads"),
            vec![pending]
        );
        assert_eq!(
            reopened
                .cursor(relationship, Role::Target)
                .await
                .expect("reads"),
            Some(cursor)
        );
        assert_eq!(
            reopened.sync_run(run.id).await.expect("reads"),
            Some(run.clone())
        );
        assert_eq!(
            reopened.sync_records(run.id).await.expect("reads"),
            vec![failure]
        );
        assert_eq!(
            retry_tickets(&reopened.pending_retries(relationship).await.expect("reads")),
            vec![(Some("4713"), None, 1)]
        );
        assert_eq!(
            reopened
                .claim_lease(
                    &lease_key,
                    "host-b:202",
                    NOW + Duration::seconds(1),
                    LEASE_TTL
                )
                .await
                .expect("the database answers"),
            None,
            "the lease is still held"
        );
        assert_eq!(
            reopened
                .renew_lease(&lease, NOW + Duration::seconds(1), LEASE_TTL)
                .await
                .expect("the database answers")
                .map(|renewed| renewed.token),
            Some(lease.token.clone())
        );
    })
    .await;
}

// ---- property test ----

fn platform_id() -> impl Strategy<Value = String> {
    "[0-9]{1,10}"
}

fn text() -> impl Strategy<Value = String> {
    // Field names and numbers as people and platforms write them, including quotes, unicode and
    // JSON-significant characters.
    "[a-zA-Z0-9 ._:\"\\\\/{}\\[\\]éü✓-]{0,24}"
}

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![Just(Role::Source), Just(Role::Target)]
}

fn fingerprint_map() -> impl Strategy<Value = BTreeMap<String, Fingerprint>> {
    proptest::collection::btree_map(
        text(),
        prop_oneof![
            text().prop_map(|value| Fingerprint::of_text(&value)),
            "[0-9a-f]{32}".prop_map(Fingerprint::from_stored),
        ],
        0..6,
    )
}

fn copied_items<Id: std::fmt::Debug>(
    id: fn(String) -> Id,
) -> impl Strategy<Value = Vec<CopiedItem<Id>>> {
    proptest::collection::vec(
        (role(), platform_id(), platform_id()).prop_map(move |(from, original, copy)| CopiedItem {
            from,
            original: id(original),
            copy: id(copy),
        }),
        0..6,
    )
}

fn timestamp() -> impl Strategy<Value = OffsetDateTime> {
    // Any microsecond between 2000 and 2100 (the store keeps microseconds).
    (946_684_800_000_000_i64..4_102_444_800_000_000_i64).prop_map(|micros| {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000).expect("in range")
    })
}

prop_compose! {
    fn link_content()(
        source_number in text(),
        target_number in text(),
        origin in role(),
        source_fields in fingerprint_map(),
        target_fields in fingerprint_map(),
        comments in copied_items(CommentId::new),
        attachments in copied_items(AttachmentId::new),
        source_closed in any::<bool>(),
        target_closed in any::<bool>(),
        created_at in timestamp(),
        updated_at in timestamp(),
    ) -> (String, String, Role, BTreeMap<String, Fingerprint>, BTreeMap<String, Fingerprint>,
          Vec<CopiedItem<CommentId>>, Vec<CopiedItem<AttachmentId>>, bool, bool, OffsetDateTime,
          OffsetDateTime) {
        (source_number, target_number, origin, source_fields, target_fields, comments,
         attachments, source_closed, target_closed, created_at, updated_at)
    }
}

/// Property: whatever link is saved is exactly what loads by either side, on every backend, also
/// when it replaces an earlier version of the same link.
#[test]
fn any_ticket_link_loads_exactly_as_saved() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    for backend in backends_under_test() {
        let database = runtime.block_on(TestDatabase::fresh(backend));
        let store = runtime.block_on(database.store(&SecretKey::generate()));
        let relationship = runtime.block_on(relationship(&store));
        let mut runner = TestRunner::new(ProptestConfig {
            cases: 48,
            failure_persistence: None,
            ..ProptestConfig::default()
        });
        runner
            .run(
                &(platform_id(), platform_id(), link_content()),
                |(source, target, content)| {
                    let (
                        source_number,
                        target_number,
                        origin,
                        source_fields,
                        target_fields,
                        comments,
                        attachments,
                        source_closed,
                        target_closed,
                        created_at,
                        updated_at,
                    ) = content;
                    let link = TicketLink {
                        relationship,
                        // One source ticket per case may replace an earlier case's link; target
                        // tickets are made unique so no case collides with another's target.
                        source: TicketId::new(source.clone()),
                        target: TicketId::new(format!("{target}-{source}")),
                        source_number,
                        target_number,
                        title: "Printer jam ✓ «quoted»".to_owned(),
                        origin,
                        source_fields,
                        target_fields,
                        comments,
                        attachments,
                        time_entries: Vec::new(),
                        source_closed,
                        target_closed,
                        created_at,
                        updated_at,
                        ended: None,
                        held: Vec::new(),
                    };
                    let (by_source, by_target) = runtime.block_on(async {
                        store
                            .upsert_link(&link)
                            .await
                            .map_err(|error| TestCaseError::fail(format!("save: {error}")))?;
                        let by_source = store
                            .link_by_ticket(relationship, Role::Source, &link.source)
                            .await
                            .map_err(|error| TestCaseError::fail(format!("load: {error}")))?;
                        let by_target = store
                            .links_by_tickets(
                                relationship,
                                Role::Target,
                                std::slice::from_ref(&link.target),
                            )
                            .await
                            .map_err(|error| TestCaseError::fail(format!("load: {error}")))?;
                        Ok::<_, TestCaseError>((by_source, by_target))
                    })?;
                    prop_assert_eq!(by_source, Some(link.clone()));
                    prop_assert_eq!(by_target, vec![link]);
                    Ok(())
                },
            )
            .unwrap_or_else(|failure| panic!("{backend:?}: {failure}"));
        drop(store);
        drop(database);
    }
}

#[tokio::test]
async fn automatic_sync_is_off_until_switched_on_and_keeps_its_interval() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let first = relationship(&store).await;
        let second = relationship(&store).await;
        assert_eq!(
            store.sync_schedule(first).await.expect("reads"),
            SyncSchedule::default(),
            "never set: off, every 5 minutes"
        );
        assert!(store.automatic_schedules().await.expect("lists").is_empty());

        let every_quarter_hour =
            SyncSchedule::new(true, Duration::minutes(15)).expect("a valid interval");
        store
            .set_sync_schedule(first, &every_quarter_hour, NOW)
            .await
            .expect("saves");
        let off = SyncSchedule::new(false, Duration::minutes(30)).expect("a valid interval");
        store
            .set_sync_schedule(second, &off, NOW)
            .await
            .expect("saves");
        assert_eq!(
            store.sync_schedule(first).await.expect("reads"),
            every_quarter_hour
        );
        assert_eq!(store.sync_schedule(second).await.expect("reads"), off);
        assert_eq!(
            store.automatic_schedules().await.expect("lists"),
            vec![(first, every_quarter_hour)],
            "only the switched-on relationship is scheduled"
        );

        // Switching off replaces the row; the interval is remembered.
        let switched_off = SyncSchedule::new(false, Duration::minutes(15)).expect("valid");
        store
            .set_sync_schedule(first, &switched_off, NOW + Duration::minutes(1))
            .await
            .expect("saves");
        assert!(store.automatic_schedules().await.expect("lists").is_empty());
        assert_eq!(
            store.sync_schedule(first).await.expect("reads"),
            switched_off
        );

        let unknown = RelationshipId::new();
        assert!(matches!(
            store
                .set_sync_schedule(unknown, &every_quarter_hour, NOW)
                .await,
            Err(StoreError::NotFound)
        ));
        assert_eq!(
            store.sync_schedule(unknown).await.expect("reads"),
            SyncSchedule::default()
        );
    })
    .await;
}

#[tokio::test]
async fn a_page_of_records_is_added_at_once_in_order_and_settles_retries_like_one_by_one() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let relationship = relationship(&store).await;
        let run = store
            .start_run(relationship, RunTrigger::Manual, None, NOW, None)
            .await
            .expect("starts");
        let records = vec![
            record(&run, Some("9"), Some("90"), RecordOutcome::Created, NOW),
            record(&run, Some("3"), None, RecordOutcome::Failed, NOW),
            record(&run, Some("5"), Some("50"), RecordOutcome::Updated, NOW),
        ];
        store.add_records(&records).await.expect("adds");
        store.add_records(&[]).await.expect("nothing to add");
        assert_eq!(store.sync_records(run.id).await.expect("reads"), records);
        let retries = store.pending_retries(relationship).await.expect("reads");
        assert_eq!(retries.len(), 1, "{retries:?}");
        assert_eq!(retries[0].source_ticket, Some(ticket("3")));

        // A later page settles it.
        let later = store
            .start_run(relationship, RunTrigger::Automatic, None, NOW, None)
            .await
            .expect("starts");
        store
            .add_records(&[record(
                &later,
                Some("3"),
                Some("30"),
                RecordOutcome::Created,
                NOW + Duration::minutes(5),
            )])
            .await
            .expect("adds");
        assert!(
            store
                .pending_retries(relationship)
                .await
                .expect("reads")
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn links_completed_after_read_back_are_saved_and_their_pending_creates_cleared_together() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let relationship = relationship(&store).await;
        for (source, target) in [("11", "811"), ("12", "812")] {
            store
                .record_pending_create(&pending_create(relationship, Role::Source, source, NOW))
                .await
                .expect("records");
            let mut unread = full_link(relationship, source, target);
            unread.target_number = String::new();
            store.upsert_link(&unread).await.expect("links");
        }
        let completed: Vec<TicketLink> = [("11", "811"), ("12", "812")]
            .into_iter()
            .map(|(source, target)| full_link(relationship, source, target))
            .collect();
        store
            .complete_links(
                relationship,
                &completed,
                &[(Role::Source, ticket("11")), (Role::Source, ticket("12"))],
            )
            .await
            .expect("completes");
        for link in &completed {
            assert_eq!(
                store
                    .link_by_ticket(relationship, Role::Source, &link.source)
                    .await
                    .expect("reads")
                    .as_ref(),
                Some(link)
            );
        }
        assert!(
            store
                .pending_creates(relationship)
                .await
                .expect("reads")
                .is_empty()
        );

        // A link that would pair a target ticket twice is refused, and nothing of the batch is
        // kept: the pending create stays for the next run.
        store
            .record_pending_create(&pending_create(relationship, Role::Source, "13", NOW))
            .await
            .expect("records");
        let error = store
            .complete_links(
                relationship,
                &[full_link(relationship, "13", "811")],
                &[(Role::Source, ticket("13"))],
            )
            .await
            .expect_err("a target ticket is never linked twice");
        assert!(matches!(error, StoreError::Conflict(_)), "{error:?}");
        assert_eq!(
            store
                .pending_creates(relationship)
                .await
                .expect("reads")
                .len(),
            1
        );
    })
    .await;
}
