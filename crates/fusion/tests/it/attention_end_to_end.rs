//! Attention items and per-ticket repair end to end, against the Autotask simulator with the demo
//! world and a real SQLite store: an oversized attachment, an unmappable value and a revoked
//! permission each become exactly one attention item; the quiet runs that follow are Success with
//! the item still shown; Retry after the cause is fixed clears it; Skip stops the retries.

use fusion_autotask_sim::EntityKind;
use fusion_domain::ChoiceValue;
use fusion_domain::Role;
use fusion_domain::sync::{
    AttentionState, AttentionSubject, FailureClass, RunStatus, RunTrigger, TicketId,
};
use fusion_engine::ports::AttentionFilter;
use fusion_engine::{RepairStep, TicketSyncState, TicketsQuery, ticket_rows};
use serde_json::json;

use crate::sync_end_to_end::{Harness, active_user, tenant};

const CONTOSO: &str = crate::demo_connection::SOURCE_ORGANISATION;
const NORTHWIND: &str = crate::demo_connection::TARGET_ORGANISATION;
const CONTOSO_PERSON: &str = "alex.morgan@contoso.example";
const OPERATOR: &str = "jane.doe@northwindit.example";

async fn open_items(harness: &Harness) -> Vec<fusion_domain::sync::AttentionItem> {
    harness
        .store
        .attention_items(
            harness.relationship,
            &AttentionFilter {
                states: vec![AttentionState::Open],
                origin_ticket: None,
            },
        )
        .await
        .expect("the store answers")
}

async fn all_items(harness: &Harness) -> Vec<fusion_domain::sync::AttentionItem> {
    harness
        .store
        .attention_items(harness.relationship, &AttentionFilter::default())
        .await
        .expect("the store answers")
}

#[tokio::test]
async fn an_oversized_attachment_needs_attention_once_and_skip_stops_it() {
    let harness = Harness::demo().await;
    let raised = harness.raise_in_contoso("CAD drawings for the new line");
    assert_eq!(harness.manual_run().await.status, RunStatus::Success);
    // Contoso's UI takes a file Northwind's API will not (over the 7 MB the adapter allows).
    harness
        .simulator()
        .ui_add_attachment(
            CONTOSO,
            CONTOSO_PERSON,
            raised,
            "line-3.dwg",
            &vec![b'x'; 7_500_000],
            1,
        )
        .expect("attached in Contoso");

    let first = harness.automatic_run().await;
    assert_eq!(first.status, RunStatus::Partial, "{:#?}", first.records);
    assert_eq!(first.counts.attention, 1);
    let items = open_items(&harness).await;
    assert_eq!(items.len(), 1, "{items:#?}");
    assert_eq!(items[0].class, FailureClass::Permanent);
    assert!(matches!(
        items[0].key.subject,
        AttentionSubject::Attachment(_)
    ));
    assert_eq!(items[0].title, "CAD drawings for the new line");
    assert!(items[0].what.contains("line-3.dwg"), "{}", items[0].what);
    assert!(items[0].source_number.is_some() && items[0].target_number.is_some());

    // The runs after it are not Partial again and again; the item stays, counted once.
    for _ in 0..3 {
        let run = harness.automatic_run().await;
        assert!(
            matches!(run.status, RunStatus::Success | RunStatus::NoTicketsFound),
            "{:?}: {:#?}",
            run.status,
            run.records
        );
        assert_eq!(run.counts.attention, 1);
    }
    assert_eq!(open_items(&harness).await.len(), 1);

    // The Tickets view says so.
    let rows = ticket_rows(
        harness.store.as_ref(),
        harness.relationship,
        &TicketsQuery {
            search: Some("drawings".into()),
            state: None,
            limit: 50,
        },
    )
    .await
    .expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].state, TicketSyncState::NeedsAttention);

    // Skip: the attachment is no longer tried; a new note still flows.
    let subject = items[0].key.subject.clone();
    let skipped = harness
        .sync
        .repair(
            harness.relationship,
            Role::Source,
            TicketId::new(raised.to_string()),
            RepairStep::Skip { subject },
            OPERATOR,
        )
        .await
        .expect("skipped");
    let run = skipped.run.expect("a repair run");
    assert_eq!(run.trigger, RunTrigger::Repair);
    assert_eq!(run.started_by.as_deref(), Some(OPERATOR));
    assert!(open_items(&harness).await.is_empty());
    harness
        .simulator()
        .ui_add_note(
            CONTOSO,
            CONTOSO_PERSON,
            raised,
            json!({"title": "Link", "description": "Drawings are on the share instead.", "noteType": 1, "publish": 1}),
        )
        .expect("note");
    let run = harness.automatic_run().await;
    assert_eq!(run.status, RunStatus::Success, "{:#?}", run.records);
    assert_eq!(run.counts.attention, 0);
}

#[tokio::test]
async fn a_revoked_permission_needs_attention_and_retry_after_the_fix_clears_it() {
    let harness = Harness::demo().await;
    let raised = harness.raise_in_contoso("Forklift battery");
    assert_eq!(harness.manual_run().await.status, RunStatus::Success);
    let tenants = harness.simulator().tenants();
    let (northwind_user, _) = active_user(tenant(&tenants, NORTHWIND));
    // The administrator unticks "Add" for ticket notes on the API user's security level.
    assert!(harness.simulator().set_entity_verb_permission(
        NORTHWIND,
        &northwind_user,
        "TicketNotes",
        "create",
        false
    ));
    harness
        .simulator()
        .ui_add_note(
            CONTOSO,
            CONTOSO_PERSON,
            raised,
            json!({"title": "Update", "description": "Charger replaced.", "noteType": 1, "publish": 1}),
        )
        .expect("note");
    let run = harness.automatic_run().await;
    assert_eq!(run.status, RunStatus::Partial, "{:#?}", run.records);
    let items = open_items(&harness).await;
    assert_eq!(items.len(), 1, "{items:#?}");
    assert!(matches!(items[0].key.subject, AttentionSubject::Comment(_)));
    assert_eq!(items[0].class, FailureClass::Permanent);
    assert!(
        items[0].what_to_do.contains("permission"),
        "{}",
        items[0].what_to_do
    );

    let quiet = harness.automatic_run().await;
    assert!(
        matches!(quiet.status, RunStatus::Success | RunStatus::NoTicketsFound),
        "{:?}",
        quiet.status
    );
    assert_eq!(quiet.counts.attention, 1);
    assert_eq!(open_items(&harness).await[0].times, 1, "not tried again");

    // The administrator grants the permission back; Retry now sends the note and clears it.
    harness.simulator().set_entity_verb_permission(
        NORTHWIND,
        &northwind_user,
        "TicketNotes",
        "create",
        true,
    );
    let retried = harness
        .sync
        .repair(
            harness.relationship,
            Role::Source,
            TicketId::new(raised.to_string()),
            RepairStep::Retry,
            OPERATOR,
        )
        .await
        .expect("retried");
    assert_eq!(retried.counts.updated, 1, "{:#?}", retried.records);
    assert_eq!(retried.counts.attention, 0);
    assert!(open_items(&harness).await.is_empty());
    assert_eq!(all_items(&harness).await[0].state, AttentionState::Resolved);
}

#[tokio::test]
async fn an_unmappable_value_needs_attention_until_the_mapping_is_added() {
    let harness = Harness::demo().await;
    let mut mappings = harness
        .store
        .field_mappings(harness.relationship)
        .await
        .expect("the store answers");
    let saved = mappings.clone();
    let priority = mappings
        .iter_mut()
        .find(|mapping| mapping.source_field == "priority")
        .expect("priority is mapped");
    priority
        .value_mappings
        .retain(|pair| pair.source != ChoiceValue::from(5));
    harness
        .store
        .replace_field_mappings(harness.relationship, &mappings)
        .await
        .expect("saved");
    harness.raise_in_contoso("Paint booth fan noisy");
    let run = harness.manual_run().await;
    assert_eq!(
        run.status,
        RunStatus::Success,
        "the ticket synced with the default"
    );
    let items = open_items(&harness).await;
    assert_eq!(items.len(), 1, "{items:#?}");
    assert_eq!(
        items[0].key.subject,
        AttentionSubject::Field("priority".into())
    );
    assert!(
        items[0].what_to_do.contains("Field mappings"),
        "{}",
        items[0].what_to_do
    );
    assert_eq!(run.counts.attention, 1);
    for _ in 0..2 {
        let quiet = harness.automatic_run().await;
        assert_eq!(quiet.counts.attention, 1);
        assert_ne!(quiet.status, RunStatus::Partial);
    }
    assert_eq!(open_items(&harness).await.len(), 1, "still exactly one");

    // The mapping is added back (as the configuration pages do, which ask for a retry).
    harness
        .store
        .replace_field_mappings(harness.relationship, &saved)
        .await
        .expect("saved");
    harness
        .store
        .request_attention_retry(harness.relationship, None)
        .await
        .expect("asked");
    let run = harness.automatic_run().await;
    assert_eq!(run.counts.attention, 0, "{:#?}", run.records);
    assert!(open_items(&harness).await.is_empty());
}

#[tokio::test]
async fn unlink_and_link_by_number_work_on_the_simulated_tenants() {
    let harness = Harness::demo().await;
    let raised = harness.raise_in_contoso("Door sensor");
    harness.manual_run().await;
    let copy = harness.copies_in_northwind(raised)[0].clone();
    let copy_id = copy["id"].as_i64().expect("id");
    harness
        .sync
        .repair(
            harness.relationship,
            Role::Target,
            TicketId::new(copy_id.to_string()),
            RepairStep::Unlink,
            OPERATOR,
        )
        .await
        .expect("unlinked");
    let source_number = harness
        .simulator()
        .record(CONTOSO, EntityKind::Tickets, raised)
        .expect("ticket")["ticketNumber"]
        .as_str()
        .expect("number")
        .to_owned();
    // Linked again by the numbers people know.
    let linked = harness
        .sync
        .link_tickets(
            harness.relationship,
            &source_number,
            copy["ticketNumber"].as_str().expect("number"),
            OPERATOR,
        )
        .await
        .expect("linked");
    assert_ne!(linked.status, RunStatus::Failed, "{:?}", linked.error);
    harness
        .simulator()
        .ui_update_ticket(
            CONTOSO,
            CONTOSO_PERSON,
            raised,
            json!({"title": "Door sensor at gate 2"}),
        )
        .expect("edited");
    harness.automatic_run().await;
    let copy_now = harness
        .simulator()
        .record(NORTHWIND, EntityKind::Tickets, copy_id)
        .expect("copy");
    assert_eq!(copy_now["title"], "Door sensor at gate 2");
    // A number that does not exist is refused with the reason.
    let missing = harness
        .sync
        .link_tickets(
            harness.relationship,
            "T19990101.9999",
            "T19990101.9998",
            OPERATOR,
        )
        .await;
    assert!(missing.is_err());
}
