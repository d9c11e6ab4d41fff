//! `AutotaskPlatform` (the engine's `Platform` port) against the simulator's demo tenants: paging
//! and call counts from the request log, snapshots, idempotent creates by marker, partial updates,
//! closing, comments and attachments, loop-prevention identity and error classification.

use std::collections::BTreeMap;
use std::time::Duration;

use fusion_autotask::{AutotaskPlatform, MAX_ATTACHMENT_BYTES, load_choices};
use fusion_autotask_sim::{EntityKind, FaultKind, FaultRule, SimOptions, World};
use fusion_domain::sync::{
    ActorId, AttachmentDraft, CommentDraft, FieldChange, FieldValue, TicketDraft, TicketId,
    TicketMarker,
};
use fusion_domain::{ChoiceValue, RelationshipId, Role};
use fusion_engine::{ChangedTicketsQuery, Platform, PlatformError};
use serde_json::Value;
use time::OffsetDateTime;

use crate::{CONTOSO, Harness, NORTHWIND};

/// A platform for a tenant's active API user, with the request log cleared afterwards so that
/// tests count only the platform's own calls.
pub(crate) async fn platform_for(harness: &Harness, tenant: &str) -> AutotaskPlatform {
    let client = harness.client_for(tenant);
    let choices = load_choices(&client).await.expect("choices load");
    let platform = AutotaskPlatform::connect(client, choices)
        .await
        .expect("the zone resolves");
    harness.simulator().clear_request_log();
    platform
}

fn route_count(harness: &Harness, route: &str) -> u64 {
    harness
        .simulator()
        .request_counts()
        .get(route)
        .copied()
        .unwrap_or(0)
}

fn requests(harness: &Harness) -> usize {
    harness.simulator().request_log().len()
}

fn since_hours_ago(hours: i64) -> OffsetDateTime {
    OffsetDateTime::now_utc() - time::Duration::hours(hours)
}

fn first_page(since: OffsetDateTime) -> ChangedTicketsQuery {
    ChangedTicketsQuery {
        since,
        after: None,
        page_size: 500,
        own_activity_listed: None,
    }
}

fn record(harness: &Harness, tenant: &str, entity: EntityKind, id: &TicketId) -> Value {
    harness
        .simulator()
        .record(tenant, entity, id.as_str().parse().expect("numeric id"))
        .expect("record exists")
}

fn seeded_tickets(harness: &Harness, tenant: &str) -> Vec<Value> {
    harness.simulator().records(tenant, EntityKind::Tickets)
}

fn seeded_ticket_id(harness: &Harness, tenant: &str) -> TicketId {
    TicketId::from(
        seeded_tickets(harness, tenant)[0]["id"]
            .as_i64()
            .expect("id"),
    )
}

/// A draft for Contoso with every field the tenant requires.
fn contoso_draft(harness: &Harness, marker: TicketMarker) -> TicketDraft {
    let company = seeded_tickets(harness, CONTOSO)[0]["companyID"]
        .as_i64()
        .expect("company");
    TicketDraft {
        marker,
        title: "Copied: printer jams".to_owned(),
        description: "From Northwind IT — Jane Doe:\nThe printer jams.".to_owned(),
        company: Some(ChoiceValue::from(company)),
        queue: Some(ChoiceValue::from(30_100_001)),
        status: Some(ChoiceValue::from(1)),
        priority: Some(ChoiceValue::from(2)),
        ticket_type: None,
        category: None,
        source: None,
        issue_type: Some(ChoiceValue::from(1)),
        sub_issue_type: Some(ChoiceValue::from(11)),
        fields: BTreeMap::from([("priority".to_owned(), FieldValue::Choice(4.into()))]),
    }
}

fn new_marker(origin_ticket: &str) -> TicketMarker {
    TicketMarker::for_copy_of(
        RelationshipId::new(),
        Role::Source,
        &TicketId::new(origin_ticket),
    )
}

#[tokio::test]
async fn changed_tickets_pages_past_500_with_one_query_per_500_tickets() {
    let harness = Harness::with_world(World::generated(1_234, 0)).await;
    let platform = platform_for(&harness, NORTHWIND).await;
    let mut query = first_page(since_hours_ago(48));
    let mut ids: Vec<i64> = Vec::new();
    loop {
        let page = platform.changed_tickets(&query).await.expect("a page");
        assert!(page.tickets.len() <= 500);
        ids.extend(
            page.tickets
                .iter()
                .map(|ticket| ticket.id.as_str().parse::<i64>().expect("numeric")),
        );
        match page.next {
            Some(next) => query.after = Some(next),
            None => break,
        }
    }
    assert_eq!(ids.len(), 1_234);
    assert!(
        ids.windows(2).all(|pair| pair[0] < pair[1]),
        "ascending, no ticket twice"
    );
    assert_eq!(route_count(&harness, "POST /V1.0/Tickets/query"), 3);
    assert_eq!(
        requests(&harness),
        3,
        "ceil(1234 / 500) calls and nothing else"
    );
    assert_eq!(platform.calls_used(), 3);
}

#[tokio::test]
async fn the_since_filter_leaves_out_tickets_without_recent_activity() {
    let harness = Harness::demo().await;
    let platform = platform_for(&harness, NORTHWIND).await;
    // Demo tickets were last active 180, 120 and 60 minutes ago.
    let recent = platform
        .changed_tickets(&first_page(
            OffsetDateTime::now_utc() - time::Duration::minutes(90),
        ))
        .await
        .expect("page");
    let titles: Vec<&str> = recent.tickets.iter().map(|t| t.title.as_str()).collect();
    assert_eq!(titles, ["Outlook keeps asking for password"]);
    assert_eq!(recent.next, None);
    let all = platform
        .changed_tickets(&first_page(since_hours_ago(24)))
        .await
        .expect("page");
    assert_eq!(all.tickets.len(), 3);
}

#[tokio::test]
async fn snapshots_carry_codes_and_utc_dates_with_labels_kept_apart() {
    let harness = Harness::demo().await;
    let platform = platform_for(&harness, NORTHWIND).await;
    let id = seeded_ticket_id(&harness, NORTHWIND);
    let ticket = platform.ticket(&id).await.expect("read").expect("exists");
    let wire = record(&harness, NORTHWIND, EntityKind::Tickets, &id);
    assert_eq!(ticket.title, "Printer on floor 2 jams constantly");
    assert!(ticket.number.starts_with('T'), "{}", ticket.number);
    assert_eq!(ticket.status, Some(ChoiceValue::from(1)));
    assert_eq!(ticket.queue, Some(ChoiceValue::from(29_683_354)));
    assert_eq!(
        ticket.fields["priority"],
        FieldValue::Choice(ChoiceValue::from(2)),
        "codes, never labels"
    );
    assert_eq!(ticket.labels["priority"], "Medium");
    assert_eq!(ticket.labels["queueID"], "Level I Support");
    assert_eq!(
        ticket.fields["subIssueType"],
        FieldValue::Choice(ChoiceValue::from(11))
    );
    assert_eq!(
        ticket.fields["udf:Customer Reference"],
        FieldValue::text(format!("CR-{id}"))
    );
    assert_eq!(ticket.fields["dueDateTime"], FieldValue::Empty);
    assert_eq!(ticket.marker, None);
    let jane = harness
        .simulator()
        .resource_id(NORTHWIND, "jane.doe@northwindit.example")
        .expect("Jane is a resource");
    assert_eq!(ticket.created_by, Some(ActorId::from(jane)));
    assert_eq!(ticket.last_activity_by, Some(ActorId::from(jane)));
    let wire_activity =
        fusion_autotask::wire::datetime::parse(wire["lastActivityDate"].as_str().expect("date"))
            .expect("parses");
    assert_eq!(ticket.last_activity_at, wire_activity);
    assert_eq!(ticket.last_activity_at.offset(), time::UtcOffset::UTC);
    assert_eq!(requests(&harness), 1);
}

#[tokio::test]
async fn a_created_ticket_carries_its_marker_and_is_found_by_it() {
    let harness = Harness::demo().await;
    let platform = platform_for(&harness, CONTOSO).await;
    let marker = new_marker("29000300");
    assert!(marker.as_str().len() <= 50);
    let created = platform
        .create_ticket(&contoso_draft(&harness, marker.clone()))
        .await
        .expect("created");
    assert_eq!(created.marker.as_deref(), Some(marker.as_str()));
    assert!(!created.number.is_empty());
    assert_eq!(
        created.fields["priority"],
        FieldValue::Choice(ChoiceValue::from(4)),
        "a mapped value wins over the typed default"
    );
    assert_eq!(route_count(&harness, "POST /V1.0/Tickets"), 1);
    assert_eq!(platform.calls_used(), 2, "one create and one read back");
    let found = platform
        .find_by_marker(&marker)
        .await
        .expect("query")
        .expect("found");
    assert_eq!((found.id, found.number), (created.id, created.number));
    assert_eq!(
        platform
            .find_by_marker(&new_marker("1"))
            .await
            .expect("query"),
        None
    );
}

#[tokio::test]
async fn a_create_missing_a_required_field_is_refused_naming_it_without_a_call() {
    let harness = Harness::demo().await;
    let platform = platform_for(&harness, CONTOSO).await;
    let mut draft = contoso_draft(&harness, new_marker("29000300"));
    draft.company = None;
    let error = platform.create_ticket(&draft).await.expect_err("refused");
    assert!(
        matches!(&error, PlatformError::Rejected(message) if message.contains("companyID")),
        "{error}"
    );
    assert!(!error.is_retryable());
    assert_eq!(requests(&harness), 0);
    assert_eq!(platform.calls_used(), 0);
}

#[tokio::test]
async fn an_ambiguous_create_is_flagged_and_the_ticket_is_found_by_its_marker() {
    let options = SimOptions {
        timeout_fault_hold: Duration::from_millis(20),
        ..SimOptions::for_tests()
    };
    let harness = Harness::with(World::demo(), options).await;
    let platform = platform_for(&harness, CONTOSO).await;
    harness.simulator().inject_fault(
        FaultRule::new(FaultKind::TimeoutAfterWrite)
            .on_endpoint("Tickets")
            .on_method("POST")
            .times(1),
    );
    let before = harness
        .simulator()
        .record_count(CONTOSO, EntityKind::Tickets);
    let marker = new_marker("29000301");
    let error = platform
        .create_ticket(&contoso_draft(&harness, marker.clone()))
        .await
        .expect_err("the answer timed out");
    assert!(error.is_ambiguous_write(), "{error:?}");
    assert_eq!(
        route_count(&harness, "POST /V1.0/Tickets"),
        1,
        "an ambiguous create is never re-sent"
    );
    let found = platform
        .find_by_marker(&marker)
        .await
        .expect("query")
        .expect("the write had landed");
    assert_eq!(found.title, "Copied: printer jams");
    assert_eq!(
        harness
            .simulator()
            .record_count(CONTOSO, EntityKind::Tickets),
        before + 1
    );
}

#[tokio::test]
async fn an_update_writes_only_the_changed_fields() {
    let harness = Harness::demo().await;
    let platform = platform_for(&harness, NORTHWIND).await;
    let id = seeded_ticket_id(&harness, NORTHWIND);
    let before = record(&harness, NORTHWIND, EntityKind::Tickets, &id);
    platform
        .update_ticket(
            &id,
            &[
                FieldChange {
                    field: "title".to_owned(),
                    value: FieldValue::text("Printer on floor 2 replaced"),
                },
                FieldChange {
                    field: "priority".to_owned(),
                    value: FieldValue::Choice(ChoiceValue::from(4)),
                },
                FieldChange {
                    field: "udf:Customer Reference".to_owned(),
                    value: FieldValue::text("CR-NEW"),
                },
            ],
        )
        .await
        .expect("patched");
    assert_eq!(requests(&harness), 1);
    assert_eq!(route_count(&harness, "PATCH /V1.0/Tickets"), 1);
    let after = record(&harness, NORTHWIND, EntityKind::Tickets, &id);
    assert_eq!(after["title"], "Printer on floor 2 replaced");
    assert_eq!(after["priority"], 4);
    assert_eq!(
        after["userDefinedFields"][0]["value"], "CR-NEW",
        "{}",
        after["userDefinedFields"]
    );
    for untouched in [
        "description",
        "status",
        "queueID",
        "companyID",
        "contactID",
        "issueType",
        "subIssueType",
        "ticketType",
        "source",
        "externalID",
        "dueDateTime",
        "assignedResourceID",
    ] {
        assert_eq!(after[untouched], before[untouched], "{untouched} changed");
    }
    platform.update_ticket(&id, &[]).await.expect("nothing");
    assert_eq!(requests(&harness), 1, "no changes, no call");
}

#[tokio::test]
async fn our_own_actor_is_the_resource_the_simulator_stamps_on_our_writes() {
    let harness = Harness::demo().await;
    let platform = platform_for(&harness, NORTHWIND).await;
    let (username, _) = harness.active_user(NORTHWIND);
    let own = platform.own_actor().await.expect("found");
    let expected = harness
        .simulator()
        .api_user_resource_id(NORTHWIND, &username)
        .expect("the API user is a resource");
    assert_eq!(own, ActorId::from(expected));
    assert_eq!(platform.own_actor().await.expect("cached"), own);
    assert_eq!(route_count(&harness, "POST /V1.0/Resources/query"), 1);
    let id = seeded_ticket_id(&harness, NORTHWIND);
    platform
        .update_ticket(
            &id,
            &[FieldChange {
                field: "title".to_owned(),
                value: FieldValue::text("Written by the sync"),
            }],
        )
        .await
        .expect("patched");
    let ticket = platform.ticket(&id).await.expect("read").expect("exists");
    assert_eq!(ticket.last_activity_by, Some(own.clone()));
    let comment = platform
        .add_comment(
            &id,
            &CommentDraft {
                title: "Sync".to_owned(),
                body: "From Contoso — Alex Morgan:\nHello".to_owned(),
                publish: None,
                note_type: None,
            },
        )
        .await
        .expect("added");
    let comments = platform.comments(&id, None).await.expect("comments");
    let ours = comments
        .iter()
        .find(|c| c.id == comment)
        .expect("our comment");
    assert_eq!(ours.author, Some(own));
}

#[tokio::test]
async fn closing_sets_the_closed_status_and_twice_is_harmless() {
    let harness = Harness::demo().await;
    let platform = platform_for(&harness, CONTOSO).await;
    let id = seeded_ticket_id(&harness, CONTOSO);
    let complete = harness
        .simulator()
        .complete_status(CONTOSO)
        .expect("Complete");
    let status = ChoiceValue::from(complete);
    platform.close_ticket(&id, &status).await.expect("closed");
    platform.close_ticket(&id, &status).await.expect("again");
    let after = record(&harness, CONTOSO, EntityKind::Tickets, &id);
    assert_eq!(after["status"], complete);
    assert!(!after["completedDate"].is_null());
    assert_eq!(route_count(&harness, "PATCH /V1.0/Tickets"), 2);
}

#[tokio::test]
async fn comments_round_trip_with_their_publish_levels_oldest_first() {
    let harness = Harness::demo().await;
    let platform = platform_for(&harness, CONTOSO).await;
    let id = seeded_ticket_id(&harness, CONTOSO);
    let seeded = platform.comments(&id, None).await.expect("comments");
    assert_eq!(seeded.len(), 2);
    assert!(
        seeded
            .windows(2)
            .all(|p| p[0].created_at <= p[1].created_at)
    );
    let public = platform
        .add_comment(
            &id,
            &CommentDraft {
                title: "Update".to_owned(),
                body: "From Northwind IT — Jane Doe:\nReplaced the fuser.".to_owned(),
                publish: Some(ChoiceValue::from(1)),
                note_type: Some(ChoiceValue::from(1)),
            },
        )
        .await
        .expect("public note");
    let internal = platform
        .add_comment(
            &id,
            &CommentDraft {
                title: "Internal".to_owned(),
                body: "From Northwind IT — Sam Patel:\nParts on order.".to_owned(),
                publish: Some(ChoiceValue::from(2)),
                note_type: Some(ChoiceValue::from(7)),
            },
        )
        .await
        .expect("internal note");
    assert_eq!(
        route_count(&harness, "POST /V1.0/Tickets/{id}/Notes"),
        2,
        "{:?}",
        harness.simulator().request_counts()
    );
    let all = platform.comments(&id, None).await.expect("comments");
    assert_eq!(all.len(), 4);
    let by_id = |wanted| all.iter().find(|c| c.id == wanted).expect("present");
    assert_eq!(by_id(public.clone()).publish, Some(ChoiceValue::from(1)));
    assert_eq!(
        by_id(public.clone()).body,
        "From Northwind IT — Jane Doe:\nReplaced the fuser."
    );
    assert_eq!(by_id(internal.clone()).publish, Some(ChoiceValue::from(2)));
    assert_eq!(
        by_id(internal.clone()).note_type,
        Some(ChoiceValue::from(7))
    );
    assert_eq!(by_id(internal).title, "Internal");
    let since = by_id(public).created_at;
    let recent = platform.comments(&id, Some(since)).await.expect("recent");
    assert_eq!(recent.len(), 2, "only those created at or after since");
}

#[tokio::test]
async fn comments_and_attachments_of_a_page_are_read_with_one_query_each() {
    let harness = Harness::with_world(World::generated(40, 3)).await;
    let platform = platform_for(&harness, NORTHWIND).await;
    let page = platform
        .changed_tickets(&first_page(since_hours_ago(48)))
        .await
        .expect("page");
    assert_eq!(page.tickets.len(), 40);
    for ticket in &page.tickets {
        let comments = platform.comments(&ticket.id, None).await.expect("comments");
        assert_eq!(comments.len(), 3, "{}", ticket.id);
        assert!(comments.iter().all(|c| c.ticket == ticket.id));
        let attachments = platform.attachments(&ticket.id).await.expect("attachments");
        assert!(attachments.is_empty());
    }
    assert_eq!(route_count(&harness, "POST /V1.0/TicketNotes/query"), 1);
    assert_eq!(
        route_count(&harness, "POST /V1.0/TicketAttachments/query"),
        1
    );
    assert_eq!(platform.calls_used(), 3);
    assert_eq!(requests(&harness), 3);
    // Served once: asking again reads afresh.
    let again = platform
        .comments(&page.tickets[0].id, None)
        .await
        .expect("again");
    assert_eq!(again.len(), 3);
    assert_eq!(route_count(&harness, "POST /V1.0/TicketNotes/query"), 2);
}

#[tokio::test]
async fn attachments_round_trip_with_publish_level_and_content() {
    let harness = Harness::demo().await;
    let platform = platform_for(&harness, NORTHWIND).await;
    let id = seeded_ticket_id(&harness, NORTHWIND);
    let seeded = platform.attachments(&id).await.expect("attachments");
    assert_eq!(seeded.len(), 1);
    assert_eq!(seeded[0].name, "error-log.txt");
    let seeded_data = platform
        .attachment_data(&id, &seeded[0].id)
        .await
        .expect("content");
    assert!(String::from_utf8_lossy(&seeded_data).contains("Printer error"));
    let content = b"fuser temperature log\n".repeat(100);
    let added = platform
        .add_attachment(
            &id,
            &AttachmentDraft {
                name: "fuser.log".to_owned(),
                size_bytes: content.len() as u64,
                content_type: Some("text/plain".to_owned()),
                publish: Some(ChoiceValue::from(2)),
            },
            content.clone(),
        )
        .await
        .expect("attached");
    let listed = platform.attachments(&id).await.expect("attachments");
    let ours = listed.iter().find(|a| a.id == added).expect("listed");
    assert_eq!(ours.name, "fuser.log");
    assert_eq!(ours.size_bytes, content.len() as u64);
    assert_eq!(ours.publish, Some(ChoiceValue::from(2)));
    assert_eq!(ours.author, Some(platform.own_actor().await.expect("own")));
    assert_eq!(
        platform.attachment_data(&id, &added).await.expect("data"),
        content
    );
}

#[tokio::test]
async fn an_attachment_over_the_limit_is_refused_without_a_call() {
    let harness = Harness::demo().await;
    let platform = platform_for(&harness, NORTHWIND).await;
    let id = seeded_ticket_id(&harness, NORTHWIND);
    let too_big = vec![0u8; MAX_ATTACHMENT_BYTES as usize + 1];
    let error = platform
        .add_attachment(
            &id,
            &AttachmentDraft {
                name: "disk.img".to_owned(),
                size_bytes: too_big.len() as u64,
                content_type: None,
                publish: None,
            },
            too_big,
        )
        .await
        .expect_err("too large");
    assert!(
        matches!(&error, PlatformError::Rejected(message) if message.contains("disk.img")),
        "{error}"
    );
    assert_eq!(platform.max_attachment_bytes(), MAX_ATTACHMENT_BYTES);
    assert_eq!(requests(&harness), 0);
}

#[tokio::test]
async fn a_missing_permission_is_a_permanent_error() {
    let harness = Harness::demo().await;
    let platform = platform_for(&harness, NORTHWIND).await;
    let (username, _) = harness.active_user(NORTHWIND);
    assert!(
        harness
            .simulator()
            .set_entity_permission(NORTHWIND, &username, "Tickets", false)
    );
    let error = platform
        .changed_tickets(&first_page(since_hours_ago(24)))
        .await
        .expect_err("denied");
    assert!(
        matches!(error, PlatformError::PermissionDenied(_)),
        "{error:?}"
    );
    assert!(!error.is_retryable());
    assert_eq!(requests(&harness), 1, "a permission error is not retried");
}

#[tokio::test]
async fn the_thread_threshold_still_hit_after_retries_is_retryable() {
    let harness = Harness::demo().await;
    let platform = platform_for(&harness, NORTHWIND).await;
    harness
        .simulator()
        .inject_fault(FaultRule::new(FaultKind::ThreadThreshold).on_endpoint("Tickets"));
    let error = platform
        .changed_tickets(&first_page(since_hours_ago(24)))
        .await
        .expect_err("throttled");
    assert!(matches!(error, PlatformError::RateLimited(_)), "{error:?}");
    assert!(error.is_retryable() && !error.is_ambiguous_write());
}

#[tokio::test]
async fn the_database_key_names_the_zone_host_and_the_tenant() {
    let harness = Harness::demo().await;
    let platform = platform_for(&harness, CONTOSO).await;
    assert_eq!(
        platform.database_key(),
        "autotask:webservices5.autotask.net:contoso.example"
    );
}

#[tokio::test]
async fn an_invalid_picklist_value_is_rejected_and_not_ambiguous() {
    let harness = Harness::demo().await;
    let platform = platform_for(&harness, CONTOSO).await;
    let mut draft = contoso_draft(&harness, new_marker("29000302"));
    // Contoso has no priority 3.
    draft.fields.insert(
        "priority".to_owned(),
        FieldValue::Choice(ChoiceValue::from(3)),
    );
    let error = platform.create_ticket(&draft).await.expect_err("refused");
    assert!(
        matches!(&error, PlatformError::Rejected(message) if message.contains("priority")),
        "{error:?}"
    );
    assert!(!error.is_retryable() && !error.is_ambiguous_write());
}

#[tokio::test]
async fn an_unreadable_answer_to_a_note_is_ambiguous() {
    let harness = Harness::demo().await;
    let platform = platform_for(&harness, NORTHWIND).await;
    let id = seeded_ticket_id(&harness, NORTHWIND);
    harness.simulator().inject_fault(
        FaultRule::new(FaultKind::MalformedBody)
            .on_endpoint("Tickets")
            .on_method("POST")
            .times(1),
    );
    let error = platform
        .add_comment(
            &id,
            &CommentDraft {
                title: "Update".to_owned(),
                body: "From Contoso — Alex Morgan:\nStill broken.".to_owned(),
                publish: Some(ChoiceValue::from(1)),
                note_type: Some(ChoiceValue::from(1)),
            },
        )
        .await
        .expect_err("unreadable answer");
    assert!(error.is_ambiguous_write(), "{error:?}");
    let comments = platform.comments(&id, None).await.expect("comments");
    assert!(
        comments.iter().any(|c| c.body.ends_with("Still broken.")),
        "the note had landed, so the engine finds it by content"
    );
}

#[tokio::test]
async fn a_contact_is_an_actor_distinct_from_resources() {
    let harness = Harness::demo().await;
    let platform = platform_for(&harness, CONTOSO).await;
    let template = &seeded_tickets(&harness, CONTOSO)[0];
    let id = harness
        .simulator()
        .ui_create_ticket_as_contact(
            CONTOSO,
            "chris.green@northwindit.example",
            serde_json::json!({
                "title": "Portal ticket", "description": "From the portal",
                "companyID": template["companyID"], "status": 1, "priority": 2,
                "queueID": template["queueID"],
            }),
        )
        .expect("created in the portal");
    let ticket = platform
        .ticket(&TicketId::from(id))
        .await
        .expect("read")
        .expect("exists");
    let created_by = ticket.created_by.expect("the contact");
    assert!(created_by.as_str().starts_with("contact:"), "{created_by}");
    assert_ne!(Some(&created_by), ticket.last_activity_by.as_ref());
    assert_ne!(
        ticket.last_activity_by,
        Some(platform.own_actor().await.expect("own"))
    );
}

#[tokio::test]
async fn a_title_longer_than_the_tenant_allows_is_refused_without_a_call() {
    let harness = Harness::demo().await;
    let platform = platform_for(&harness, NORTHWIND).await;
    let id = seeded_ticket_id(&harness, NORTHWIND);
    let error = platform
        .update_ticket(
            &id,
            &[FieldChange {
                field: "title".to_owned(),
                value: FieldValue::text("x".repeat(300)),
            }],
        )
        .await
        .expect_err("too long");
    assert!(
        matches!(&error, PlatformError::Rejected(message) if message.contains("Title (title) has 300 characters")),
        "{error}"
    );
    assert_eq!(requests(&harness), 0);
}

#[tokio::test]
async fn the_notes_of_a_full_page_of_500_tickets_are_read_by_one_ticket_list_query() {
    let harness = Harness::with_world(World::generated(520, 1)).await;
    let platform = platform_for(&harness, NORTHWIND).await;
    let page = platform
        .changed_tickets(&first_page(since_hours_ago(48)))
        .await
        .expect("page");
    assert_eq!(page.tickets.len(), 500);
    assert!(page.next.is_some());
    for ticket in &page.tickets {
        let comments = platform.comments(&ticket.id, None).await.expect("comments");
        assert_eq!(comments.len(), 1, "{}", ticket.id);
    }
    // 500 notes fill one page exactly, so a second (empty) page confirms the end.
    assert_eq!(route_count(&harness, "POST /V1.0/TicketNotes/query"), 2);
    assert_eq!(platform.calls_used(), 3);
}

#[tokio::test]
async fn calls_used_matches_the_requests_the_simulator_answered() {
    let harness = Harness::demo().await;
    let platform = platform_for(&harness, CONTOSO).await;
    let id = seeded_ticket_id(&harness, CONTOSO);
    platform.own_actor().await.expect("own actor");
    let page = platform
        .changed_tickets(&first_page(since_hours_ago(24)))
        .await
        .expect("page");
    for ticket in &page.tickets {
        platform.comments(&ticket.id, None).await.expect("comments");
        platform.attachments(&ticket.id).await.expect("attachments");
    }
    let created = platform
        .create_ticket(&contoso_draft(&harness, new_marker("29000303")))
        .await
        .expect("created");
    platform
        .update_ticket(
            &created.id,
            &[FieldChange {
                field: "description".to_owned(),
                value: FieldValue::text("Edited"),
            }],
        )
        .await
        .expect("patched");
    platform
        .add_comment(
            &id,
            &CommentDraft {
                title: "Hi".to_owned(),
                body: "From Northwind IT — Jane Doe:\nHi".to_owned(),
                publish: None,
                note_type: None,
            },
        )
        .await
        .expect("note");
    platform.ticket(&id).await.expect("read");
    // own actor 1, page 1, notes and attachments of the page 1 + 1, create 2, patch 1, note 1,
    // ticket 1.
    assert_eq!(platform.calls_used(), 9);
    assert_eq!(platform.calls_used(), requests(&harness) as u64);
    assert!(!format!("{platform:?}").contains(&harness.active_user(CONTOSO).1));
}

#[tokio::test]
async fn attachments_past_autotasks_five_minute_allowance_wait_without_a_call() {
    let harness = Harness::demo().await;
    let platform = platform_for(&harness, NORTHWIND).await;
    let id = seeded_ticket_id(&harness, NORTHWIND);
    let draft = |name: &str| AttachmentDraft {
        name: name.to_owned(),
        size_bytes: 6_000_000,
        content_type: None,
        publish: None,
    };
    platform
        .add_attachment(&id, &draft("first.bin"), vec![7u8; 6_000_000])
        .await
        .expect("within the allowance");
    let error = platform
        .add_attachment(&id, &draft("second.bin"), vec![7u8; 6_000_000])
        .await
        .expect_err("would block the tenant");
    assert!(
        matches!(&error, PlatformError::RateLimited(message) if message.contains("second.bin")),
        "{error}"
    );
    assert!(error.is_retryable() && !error.is_ambiguous_write());
    assert_eq!(
        route_count(&harness, "POST /V1.0/Tickets/{id}/Attachments"),
        1
    );
    // The allowance is untouched in Autotask: a small file still goes through.
    platform
        .add_attachment(&id, &draft("small.txt"), b"ok".to_vec())
        .await
        .expect("small file");
}

#[tokio::test]
async fn a_contacts_comment_names_the_contact_with_one_lookup_that_is_cached() {
    let harness = Harness::demo().await;
    let platform = platform_for(&harness, CONTOSO).await;
    let id = seeded_ticket_id(&harness, CONTOSO);
    harness
        .simulator()
        .ui_add_note_as_contact(
            CONTOSO,
            "chris.green@northwindit.example",
            id.as_str().parse().expect("numeric"),
            serde_json::json!({
                "title": "Portal", "description": "Any news?", "noteType": 1, "publish": 1,
            }),
        )
        .expect("note from the portal");
    for _ in 0..2 {
        let comments = platform.comments(&id, None).await.expect("comments");
        let portal = comments
            .iter()
            .find(|c| c.body == "Any news?")
            .expect("the portal note");
        assert!(
            portal
                .author
                .as_ref()
                .is_some_and(|a| a.as_str().starts_with("contact:"))
        );
        assert_eq!(portal.author_name, "Chris Green");
        let jane = comments
            .iter()
            .find(|c| c.title == "Initial triage")
            .expect("seeded note");
        assert_eq!(jane.author_name, "Alex Morgan");
    }
    assert_eq!(route_count(&harness, "POST /V1.0/Contacts/query"), 1);
    assert_eq!(route_count(&harness, "POST /V1.0/Resources/query"), 0);
}

#[tokio::test]
async fn dates_and_numbers_written_read_back_equal() {
    let harness = Harness::demo().await;
    let platform = platform_for(&harness, NORTHWIND).await;
    let id = seeded_ticket_id(&harness, NORTHWIND);
    let due = OffsetDateTime::now_utc()
        .replace_millisecond(250)
        .expect("ms")
        + time::Duration::days(2);
    platform
        .update_ticket(
            &id,
            &[
                FieldChange {
                    field: "dueDateTime".to_owned(),
                    value: FieldValue::DateTime(due),
                },
                FieldChange {
                    field: "estimatedHours".to_owned(),
                    value: FieldValue::text("1.5"),
                },
            ],
        )
        .await
        .expect("patched");
    let wire = record(&harness, NORTHWIND, EntityKind::Tickets, &id);
    assert_eq!(wire["estimatedHours"], 1.5);
    let ticket = platform.ticket(&id).await.expect("read").expect("exists");
    assert_eq!(ticket.fields["dueDateTime"], FieldValue::DateTime(due));
    assert_eq!(ticket.fields["estimatedHours"], FieldValue::text("1.5"));
}

/// When the simulator logged the deletion of `ticket`.
fn deletion_time(harness: &Harness, tenant: &str, ticket: i64) -> OffsetDateTime {
    let log = harness
        .simulator()
        .records(tenant, EntityKind::DeletedTicketLogs)
        .into_iter()
        .find(|log| log["ticketID"].as_i64() == Some(ticket))
        .expect("the deletion is logged");
    fusion_autotask::wire::datetime::parse(log["deletedDateTime"].as_str().expect("date"))
        .expect("parses")
}

#[tokio::test]
async fn deleted_tickets_lists_a_ticket_deleted_in_the_tenant_since_the_time_given_with_who_deleted_it()
 {
    let harness = Harness::demo().await;
    let platform = platform_for(&harness, NORTHWIND).await;
    let tickets = seeded_tickets(&harness, NORTHWIND);
    let earlier = tickets[0]["id"].as_i64().expect("id");
    let later = &tickets[1];
    let later_id = later["id"].as_i64().expect("id");
    let jane = "jane.doe@northwindit.example";
    harness
        .simulator()
        .ui_delete_ticket(NORTHWIND, jane, earlier)
        .expect("deleted in the UI");
    // The simulator stamps deletions with the tenant's strictly increasing activity clock, so
    // the next deletion is at least a millisecond later.
    let since = deletion_time(&harness, NORTHWIND, earlier) + time::Duration::milliseconds(1);
    harness
        .simulator()
        .ui_delete_ticket(NORTHWIND, jane, later_id)
        .expect("deleted in the UI");

    let deleted = platform.deleted_tickets(since).await.expect("deletions");

    assert_eq!(
        deleted.len(),
        1,
        "the one deleted before `since` is not listed"
    );
    let ticket = &deleted[0];
    assert_eq!(ticket.id, TicketId::from(later_id));
    assert_eq!(
        ticket.number,
        later["ticketNumber"].as_str().expect("number")
    );
    assert_eq!(ticket.title, later["title"].as_str().expect("title"));
    assert_eq!(ticket.deleted_by.as_deref(), Some("Jane Doe"));
    assert_eq!(
        ticket.deleted_at,
        deletion_time(&harness, NORTHWIND, later_id)
    );
    assert_eq!(ticket.deleted_at.offset(), time::UtcOffset::UTC);
    assert_eq!(
        route_count(&harness, "POST /V1.0/DeletedTicketLogs/query"),
        1
    );
    assert_eq!(requests(&harness), 1, "one query, no name look-up");
    assert_eq!(platform.calls_used(), 1);

    let both = platform
        .deleted_tickets(since - time::Duration::milliseconds(1))
        .await
        .expect("deletions");
    let ids: Vec<TicketId> = both.into_iter().map(|ticket| ticket.id).collect();
    assert_eq!(
        ids,
        [TicketId::from(earlier), TicketId::from(later_id)],
        "oldest deletion first"
    );
    assert_eq!(platform.calls_used(), 2);
}

#[tokio::test]
async fn field_rules_give_the_tenants_lengths_and_inactive_picklist_values_without_a_call() {
    let mut world = World::demo();
    let northwind = world
        .tenants
        .iter_mut()
        .find(|tenant| tenant.name == NORTHWIND)
        .expect("Northwind seed");
    let mut inactive_priority = None;
    for picklist in &mut northwind.picklists {
        if picklist.entity == "Tickets" && picklist.field == "priority" {
            for value in &mut picklist.values {
                if value.label == "High" {
                    value.is_active = false;
                    inactive_priority = Some(value.value);
                }
            }
        }
    }
    let inactive_priority = ChoiceValue::from(inactive_priority.expect("a High priority"));
    let harness = Harness::with_world(world).await;
    let platform = platform_for(&harness, NORTHWIND).await;
    let calls_before = platform.calls_used();

    let rules = platform.field_rules();

    assert_eq!(rules.ticket_fields["title"].max_length, Some(255));
    assert_eq!(rules.ticket_fields["description"].max_length, Some(8000));
    let priorities = rules.ticket_fields["priority"]
        .choices
        .as_ref()
        .expect("priority is a picklist");
    assert!(priorities.contains(&(inactive_priority.clone(), false)));
    assert!(
        priorities
            .iter()
            .filter(|(value, _)| *value != inactive_priority)
            .all(|(_, active)| *active),
        "{priorities:?}"
    );
    assert!(
        rules.ticket_fields["queueID"]
            .choices
            .as_ref()
            .is_some_and(|queues| !queues.is_empty()),
        "keyed by the name the engine writes"
    );
    assert_eq!(rules.comment_body_max, Some(32_000));
    assert_eq!(rules.comment_title_max, Some(250));
    assert_eq!(platform.calls_used(), calls_before);
    assert_eq!(requests(&harness), 0);
}
