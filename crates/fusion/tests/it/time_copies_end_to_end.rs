//! Time entries arriving as time entries, end to end against the Autotask simulator (the demo
//! world plus a "Jane Doe" resource in Contoso's tenant with the Northwind technician's e-mail),
//! the demo connection and a real SQLite store, with Contoso (the customer) configured to receive
//! its provider's time as time entries: a technician logs time on Northwind's copy → Contoso's
//! ticket gets one time entry (by the resource with the same e-mail, else the fallback; the
//! chosen role and work type; non-billable; start and stop times, which Contoso's tenant
//! requires; no internal notes); an edit and a deletion follow; nothing echoes back, even with
//! both sides receiving time entries; a run that stops right after the copy is logged duplicates
//! nothing; a copy Contoso's Autotask refuses is a recorded failure with the reason.

use std::sync::Arc;

use fusion_autotask_sim::{ENGINEER_ROLE, EntityKind, REMOTE_SUPPORT, TECHNICIAN_ROLE, World};
use fusion_domain::sync::{AttentionState, AttentionSubject, RunStatus, TicketId};
use fusion_domain::{ChoiceValue, Role, TimeArrival};
use fusion_engine::ports::AttentionFilter;
use fusion_engine::{SyncDirectory, SyncMode};
use serde_json::{Value, json};

use crate::interrupting_platform::{Interrupting, Write};
use crate::sync_end_to_end::Harness;

const CONTOSO: &str = crate::demo_connection::SOURCE_ORGANISATION;
const NORTHWIND: &str = crate::demo_connection::TARGET_ORGANISATION;
const TECHNICIAN: &str = "jane.doe@northwindit.example";
/// A Northwind technician nobody in Contoso's tenant shares an e-mail with.
const OTHER_TECHNICIAN: &str = "sam.patel@northwindit.example";
/// Contoso's resource for Northwind's Jane Doe (same e-mail), holding Technician.
const CONTOSO_JANE: i64 = 31_000_050;
const ALEX: &str = "alex.morgan@contoso.example";
const PRIYA: &str = "priya.shah@contoso.example";

/// The demo world with Contoso knowing Northwind's Jane Doe as a resource of its own.
fn world() -> World {
    let mut world = World::demo();
    let contoso = world
        .tenants
        .iter_mut()
        .find(|tenant| tenant.name == CONTOSO)
        .expect("Contoso is in the demo world");
    let object = |value: Value| value.as_object().cloned().expect("an object");
    contoso
        .records
        .entry("Resources".into())
        .or_default()
        .push(object(json!({
            "id": CONTOSO_JANE, "firstName": "Jane", "lastName": "Doe (Northwind)",
            "email": TECHNICIAN, "userName": "jane.doe.nw", "isActive": true, "licenseType": 1,
            "resourceType": "Employee", "userType": 1,
        })));
    contoso
        .records
        .entry("ResourceRoles".into())
        .or_default()
        .push(object(json!({
            "id": 31_000_799, "resourceID": CONTOSO_JANE, "roleID": TECHNICIAN_ROLE, "isActive": true,
        })));
    world
}

/// Side `role`'s organisation receives its partner's time as time entries, logged (without an
/// e-mail match) by `fallback` under `role_id`, as Remote Support, non-billable.
async fn receive_time_entries(harness: &Harness, side: Role, fallback: &str, role_id: i64) {
    let org = harness
        .store
        .relationship(harness.relationship)
        .await
        .expect("store")
        .expect("relationship")
        .org_in_role(side)
        .expect("both sides are there");
    let tenant = match side {
        Role::Source => CONTOSO,
        Role::Target => NORTHWIND,
    };
    let fallback = harness
        .simulator()
        .resource_id(tenant, fallback)
        .expect("the fallback resource exists");
    let mut config = harness
        .store
        .integration_config(harness.relationship, org)
        .await
        .expect("store")
        .expect("configured");
    config.time_entries.arrive_as = TimeArrival::TimeEntries;
    config.time_entries.fallback_resource = Some(ChoiceValue::from(fallback));
    config.time_entries.role = Some(ChoiceValue::from(role_id));
    config.time_entries.billing_code = Some(ChoiceValue::from(REMOTE_SUPPORT));
    config.time_entries.billable = false;
    harness
        .store
        .save_integration_config(harness.relationship, org, &config)
        .await
        .expect("saved");
}

/// A ticket raised in Contoso, synced once: (Contoso's id, Northwind's copy's id).
async fn synced_ticket(harness: &Harness, title: &str) -> (i64, i64) {
    let raised = harness.raise_in_contoso(title);
    assert_eq!(harness.manual_run().await.status, RunStatus::Success);
    let copies = harness.copies_in_northwind(raised);
    assert_eq!(copies.len(), 1);
    (raised, copies[0]["id"].as_i64().expect("an id"))
}

fn log_time(harness: &Harness, who: &str, copy: i64, hours: f64, summary: &str) -> i64 {
    harness
        .simulator()
        .ui_add_time_entry(
            NORTHWIND,
            who,
            copy,
            json!({
                "hoursWorked": hours,
                "dateWorked": "2026-12-04T00:00:00",
                "roleID": TECHNICIAN_ROLE,
                "summaryNotes": summary,
                "internalNotes": "Customer was difficult; bill at premium rate",
                "showOnInvoice": true,
            }),
        )
        .expect("time logged in Northwind")
}

fn entries(harness: &Harness, tenant: &str, ticket: i64) -> Vec<Value> {
    harness
        .simulator()
        .records(tenant, EntityKind::TimeEntries)
        .into_iter()
        .filter(|entry| entry["ticketID"].as_i64() == Some(ticket))
        .collect()
}

fn quiet(status: RunStatus) -> bool {
    matches!(status, RunStatus::Success | RunStatus::NoTicketsFound)
}

#[tokio::test]
async fn time_logged_on_the_msps_copy_reaches_the_customer_as_a_time_entry_and_edits_and_deletions_follow()
 {
    let harness = Harness::with_world(world()).await;
    let alex = harness
        .simulator()
        .resource_id(CONTOSO, ALEX)
        .expect("Alex");
    receive_time_entries(&harness, Role::Source, ALEX, TECHNICIAN_ROLE).await;
    let (raised, copy) = synced_ticket(&harness, "Label printer offline").await;

    let entry = log_time(&harness, TECHNICIAN, copy, 1.5, "Replaced the print head");
    let other = log_time(&harness, OTHER_TECHNICIAN, copy, 0.5, "Tested the spare");
    let run = harness.automatic_run().await;
    assert_eq!(run.status, RunStatus::Success, "{:#?}", run.records);
    let arrived = entries(&harness, CONTOSO, raised);
    assert_eq!(arrived.len(), 2, "{arrived:#?}");
    let by_hours = |hours: f64| {
        arrived
            .iter()
            .find(|entry| entry["hoursWorked"].as_f64() == Some(hours))
            .unwrap_or_else(|| panic!("no {hours} h entry in {arrived:#?}"))
    };
    let jane = by_hours(1.5);
    // Matched by e-mail; the chosen role and work type; non-billable; Contoso needs start and
    // stop times, and they span the hours.
    assert_eq!(jane["resourceID"], json!(CONTOSO_JANE));
    assert_eq!(jane["roleID"], json!(TECHNICIAN_ROLE));
    assert_eq!(jane["billingCodeID"], json!(REMOTE_SUPPORT));
    assert_eq!(jane["isNonBillable"], json!(true));
    assert_eq!(jane["summaryNotes"], json!("Replaced the print head"));
    let start = fusion_autotask::wire::datetime::parse(jane["startDateTime"].as_str().unwrap())
        .expect("a start");
    let end = fusion_autotask::wire::datetime::parse(jane["endDateTime"].as_str().unwrap())
        .expect("an end");
    assert_eq!(end - start, time::Duration::minutes(90));
    // Internal notes never cross; the copy's own say where it comes from, with the marker.
    let internal = jane["internalNotes"].as_str().unwrap_or_default();
    assert!(!internal.contains("premium"), "{internal}");
    assert!(internal.contains("Jane Doe at Northwind IT"), "{internal}");
    assert!(internal.contains("sf-time:"), "{internal}");
    // No rate or price was sent (Autotask prices the entry itself).
    assert!(jane["hoursToBill"].is_null(), "{jane:#?}");
    // Sam has no resource in Contoso: the fallback logs it.
    assert_eq!(by_hours(0.5)["resourceID"], json!(alex));
    assert!(
        run.records
            .iter()
            .flat_map(|record| record.notes.iter())
            .any(|note| note.contains(
                "Time entry logged: 1.50 h by Jane Doe on 2026-12-04, copied to the source side as a time entry"
            )),
        "{:#?}",
        run.records
    );

    // Nothing echoes, even when Northwind receives Contoso's time as time entries too.
    receive_time_entries(&harness, Role::Target, TECHNICIAN, TECHNICIAN_ROLE).await;
    for _ in 0..2 {
        let again = harness.automatic_run().await;
        assert!(quiet(again.status), "{:#?}", again.records);
    }
    assert_eq!(entries(&harness, CONTOSO, raised).len(), 2);
    assert_eq!(entries(&harness, NORTHWIND, copy).len(), 2);

    // An edit follows once.
    harness
        .simulator()
        .ui_update_time_entry(
            NORTHWIND,
            TECHNICIAN,
            entry,
            json!({"hoursWorked": 2.25, "summaryNotes": "Replaced the print head and the belt"}),
        )
        .expect("edited");
    let run = harness.automatic_run().await;
    assert_eq!(run.status, RunStatus::Success, "{:#?}", run.records);
    let arrived = entries(&harness, CONTOSO, raised);
    assert_eq!(arrived.len(), 2, "{arrived:#?}");
    let edited = arrived
        .iter()
        .find(|found| found["resourceID"] == json!(CONTOSO_JANE))
        .expect("Jane's copy");
    assert_eq!(edited["hoursWorked"], json!(2.25));
    assert_eq!(
        edited["summaryNotes"],
        json!("Replaced the print head and the belt")
    );

    // A deletion follows once.
    harness
        .simulator()
        .ui_delete_time_entry(NORTHWIND, OTHER_TECHNICIAN, other)
        .expect("deleted");
    let run = harness.automatic_run().await;
    assert_eq!(run.status, RunStatus::Success, "{:#?}", run.records);
    let arrived = entries(&harness, CONTOSO, raised);
    assert_eq!(arrived.len(), 1, "{arrived:#?}");
    assert_eq!(arrived[0]["resourceID"], json!(CONTOSO_JANE));
    let after = harness.automatic_run().await;
    assert!(quiet(after.status), "{:#?}", after.records);
    assert_eq!(entries(&harness, CONTOSO, raised).len(), 1);
    assert_eq!(entries(&harness, NORTHWIND, copy).len(), 1);

    // The Tickets view says what was carried, with the hours.
    let rows = fusion_engine::ticket_rows(
        harness.store.as_ref(),
        harness.relationship,
        &fusion_engine::TicketsQuery {
            search: None,
            state: None,
            limit: 50,
        },
    )
    .await
    .expect("the store answers");
    let row = rows
        .iter()
        .find(|row| row.source_ticket.as_ref().map(TicketId::as_str) == Some(&raised.to_string()))
        .expect("the pair is listed");
    assert_eq!(
        row.time_carried,
        ["Target \u{2192} Source: 1 time entry, 2.25 h"]
    );
    // The Dashboard counts the connection's time, in the same words.
    let activity = fusion_engine::SyncOverviews::new(
        harness.store.clone(),
        Arc::new(fusion_domain::SystemClock),
    )
    .activity(harness.relationship)
    .await
    .expect("the store answers");
    assert_eq!(
        activity.time_carried,
        ["Target \u{2192} Source: 1 time entry, 2.25 h"]
    );
}

#[tokio::test]
async fn a_run_that_stops_right_after_logging_a_time_entry_copy_duplicates_nothing() {
    let harness = Harness::with_world(world()).await;
    receive_time_entries(&harness, Role::Source, ALEX, TECHNICIAN_ROLE).await;
    let (raised, copy) = synced_ticket(&harness, "Badge reader").await;
    let entry = log_time(&harness, TECHNICIAN, copy, 0.75, "Re-flashed the reader");

    let mut setup = harness
        .directory
        .setup(harness.relationship)
        .await
        .expect("the setup loads");
    // Contoso's platform, on which the next time entry is logged and then the run stops at once
    // (as if the process died right after the write, before the link was saved).
    setup.source.platform = Arc::new(Interrupting::stop_after(
        setup.source.platform.clone(),
        Write::CreateTimeEntry,
        "the process stopped right after the time entry was logged",
    ));
    let stopped = harness
        .engine
        .sync_once(&setup, SyncMode::Automatic)
        .await
        .expect("the run runs");
    assert_eq!(stopped.status, RunStatus::Failed, "{:#?}", stopped.records);
    assert_eq!(
        entries(&harness, CONTOSO, raised).len(),
        1,
        "the copy landed"
    );

    // The next runs find the copy by its marker and link it: never a second one, and an edit
    // after that still reaches the one copy.
    for _ in 0..2 {
        let next = harness.automatic_run().await;
        assert!(quiet(next.status), "{:?}: {:#?}", next.status, next.records);
    }
    assert_eq!(entries(&harness, CONTOSO, raised).len(), 1);
    harness
        .simulator()
        .ui_update_time_entry(NORTHWIND, TECHNICIAN, entry, json!({"hoursWorked": 1.25}))
        .expect("edited");
    let run = harness.automatic_run().await;
    assert_eq!(run.status, RunStatus::Success, "{:#?}", run.records);
    let arrived = entries(&harness, CONTOSO, raised);
    assert_eq!(arrived.len(), 1);
    assert_eq!(arrived[0]["hoursWorked"], json!(1.25));
}

#[tokio::test]
async fn a_time_entry_the_customers_autotask_refuses_is_a_recorded_failure_with_the_reason() {
    let harness = Harness::with_world(world()).await;
    // Priya is no Senior Engineer: Contoso's Autotask refuses the pair for Sam's time.
    receive_time_entries(&harness, Role::Source, PRIYA, ENGINEER_ROLE).await;
    let (raised, copy) = synced_ticket(&harness, "Wi-Fi in the warehouse").await;
    let entry = log_time(
        &harness,
        OTHER_TECHNICIAN,
        copy,
        3.0,
        "Surveyed the access points",
    );

    let run = harness.automatic_run().await;
    assert_eq!(run.status, RunStatus::Partial, "{:#?}", run.records);
    let items = harness
        .store
        .attention_items(
            harness.relationship,
            &AttentionFilter {
                states: vec![AttentionState::Open],
                origin_ticket: None,
            },
        )
        .await
        .expect("the store answers");
    assert_eq!(items.len(), 1, "{items:#?}");
    assert_eq!(
        items[0].key.subject,
        AttentionSubject::TimeEntry(entry.to_string())
    );
    assert!(
        items[0].what.contains("3.00 h by Sam Patel"),
        "{}",
        items[0].what
    );
    assert!(
        items[0]
            .why
            .contains("AssignedResourceID and AssignedRoleID combination"),
        "{}",
        items[0].why
    );
    assert!(entries(&harness, CONTOSO, raised).is_empty());

    // Not a stuck run: the next one is not Partial again, the item stays.
    let next = harness.automatic_run().await;
    assert!(quiet(next.status), "{:?}: {:#?}", next.status, next.records);
    assert_eq!(next.counts.attention, 1);
}
