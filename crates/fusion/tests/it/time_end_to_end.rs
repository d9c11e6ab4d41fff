//! Time entries end to end, against the Autotask simulator with the demo world, the demo's own
//! configuration (Contoso, the customer, receives its provider's time as notes) and a real SQLite
//! store: a technician logs time on Northwind's copy → Contoso's ticket shows it as one note; an
//! edit and a deletion follow as one note each; nothing echoes back; a run that stops right after
//! writing a note duplicates nothing; a note Contoso's Autotask refuses is a recorded failure; with
//! time entries off nothing arrives.

use std::sync::Arc;

use fusion_autotask_sim::EntityKind;
use fusion_domain::sync::{AttentionState, AttentionSubject, RunStatus};
use fusion_domain::{Role, TimeArrival};
use fusion_engine::ports::AttentionFilter;
use fusion_engine::{SyncDirectory, SyncMode};
use serde_json::{Value, json};

use crate::interrupting_platform::{Interrupting, Write};
use crate::sync_end_to_end::{Harness, active_user, tenant};

const CONTOSO: &str = crate::demo_connection::SOURCE_ORGANISATION;
const NORTHWIND: &str = crate::demo_connection::TARGET_ORGANISATION;
const TECHNICIAN: &str = "jane.doe@northwindit.example";

/// A ticket raised in Contoso, synced once: (Contoso's id, Northwind's copy's id).
async fn synced_ticket(harness: &Harness, title: &str) -> (i64, i64) {
    let raised = harness.raise_in_contoso(title);
    assert_eq!(harness.manual_run().await.status, RunStatus::Success);
    let copies = harness.copies_in_northwind(raised);
    assert_eq!(copies.len(), 1);
    (raised, copies[0]["id"].as_i64().expect("an id"))
}

fn log_time(harness: &Harness, copy: i64, hours: f64, summary: &str) -> i64 {
    harness
        .simulator()
        .ui_add_time_entry(
            NORTHWIND,
            TECHNICIAN,
            copy,
            json!({
                "hoursWorked": hours,
                "dateWorked": "2026-12-04T00:00:00",
                "roleID": 29683461,
                "summaryNotes": summary,
                "internalNotes": "Customer was difficult; bill at premium rate",
                "showOnInvoice": true,
            }),
        )
        .expect("time logged in Northwind")
}

fn notes(harness: &Harness, tenant: &str, ticket: i64) -> Vec<Value> {
    harness
        .simulator()
        .records(tenant, EntityKind::TicketNotes)
        .into_iter()
        .filter(|note| note["ticketID"].as_i64() == Some(ticket))
        .collect()
}

fn time_notes(harness: &Harness, ticket: i64) -> Vec<String> {
    notes(harness, CONTOSO, ticket)
        .into_iter()
        .filter(|note| {
            note["description"]
                .as_str()
                .is_some_and(|text| text.contains("Northwind IT time entry"))
        })
        .map(|note| note["description"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn quiet(status: RunStatus) -> bool {
    matches!(status, RunStatus::Success | RunStatus::NoTicketsFound)
}

#[tokio::test]
async fn time_logged_on_the_msps_copy_reaches_the_customer_as_notes_and_edits_and_deletions_follow()
{
    let harness = Harness::demo().await;
    let (raised, copy) = synced_ticket(&harness, "Label printer offline").await;
    let northwind_notes_before = notes(&harness, NORTHWIND, copy).len();

    let entry = log_time(&harness, copy, 1.5, "Replaced the print head");
    let run = harness.automatic_run().await;
    assert_eq!(run.status, RunStatus::Success, "{:#?}", run.records);
    let arrived = time_notes(&harness, raised);
    assert_eq!(arrived.len(), 1, "{arrived:#?}");
    assert!(
        arrived[0].starts_with("From Northwind IT \u{2014} Jane Doe: 1.50 h worked on 2026-12-04"),
        "{}",
        arrived[0]
    );
    assert!(arrived[0].contains("Replaced the print head"));
    // Internal notes and money never cross.
    assert!(!arrived[0].contains("premium"), "{}", arrived[0]);
    // The run's record says what was sent.
    assert!(
        run.records
            .iter()
            .flat_map(|record| record.notes.iter())
            .any(|note| note.contains("Time entry logged: 1.50 h by Jane Doe")),
        "{:#?}",
        run.records
    );

    // Nothing echoes: no further notes either side, however many runs.
    for _ in 0..2 {
        let again = harness.automatic_run().await;
        assert!(quiet(again.status), "{:#?}", again.records);
    }
    assert_eq!(time_notes(&harness, raised).len(), 1);
    assert_eq!(
        notes(&harness, NORTHWIND, copy).len(),
        northwind_notes_before
    );

    // An edit follows once.
    harness
        .simulator()
        .ui_update_time_entry(NORTHWIND, TECHNICIAN, entry, json!({"hoursWorked": 2.25}))
        .expect("edited");
    let run = harness.automatic_run().await;
    assert_eq!(run.status, RunStatus::Success, "{:#?}", run.records);
    let arrived = time_notes(&harness, raised);
    assert_eq!(arrived.len(), 2, "{arrived:#?}");
    assert!(arrived[1].contains("it now reads 2.25 h"), "{}", arrived[1]);
    assert!(
        arrived[1].contains("it read 1.50 h by Jane Doe"),
        "{}",
        arrived[1]
    );

    // A deletion follows once.
    harness
        .simulator()
        .ui_delete_time_entry(NORTHWIND, TECHNICIAN, entry)
        .expect("deleted");
    let run = harness.automatic_run().await;
    assert_eq!(run.status, RunStatus::Success, "{:#?}", run.records);
    let arrived = time_notes(&harness, raised);
    assert_eq!(arrived.len(), 3, "{arrived:#?}");
    assert!(
        arrived[2].contains("the time entry of 2.25 h by Jane Doe on 2026-12-04 was deleted"),
        "{}",
        arrived[2]
    );
    let after = harness.automatic_run().await;
    assert!(quiet(after.status));
    assert_eq!(time_notes(&harness, raised).len(), 3);
    assert_eq!(
        notes(&harness, NORTHWIND, copy).len(),
        northwind_notes_before
    );
}

#[tokio::test]
async fn with_time_entries_off_the_customer_receives_no_time() {
    let harness = Harness::demo().await;
    let (raised, copy) = synced_ticket(&harness, "Scanner driver").await;
    // Contoso turns time entries off.
    let contoso_org = harness
        .store
        .relationship(harness.relationship)
        .await
        .expect("store")
        .expect("relationship")
        .org_in_role(Role::Source)
        .expect("Contoso is the source");
    let mut config = harness
        .store
        .integration_config(harness.relationship, contoso_org)
        .await
        .expect("store")
        .expect("configured");
    assert_eq!(config.time_entries.arrive_as, TimeArrival::Notes);
    config.time_entries.arrive_as = TimeArrival::Off;
    harness
        .store
        .save_integration_config(harness.relationship, contoso_org, &config)
        .await
        .expect("saved");

    log_time(&harness, copy, 0.5, "Reinstalled the driver");
    let run = harness.automatic_run().await;
    assert!(quiet(run.status), "{:#?}", run.records);
    assert!(time_notes(&harness, raised).is_empty());
}

#[tokio::test]
async fn a_run_that_stops_right_after_writing_a_time_note_duplicates_nothing() {
    let harness = Harness::demo().await;
    let (raised, copy) = synced_ticket(&harness, "Badge reader").await;
    log_time(&harness, copy, 0.75, "Re-flashed the reader");

    let mut setup = harness
        .directory
        .setup(harness.relationship)
        .await
        .expect("the setup loads");
    // Contoso's platform, on which the next note lands and then the run stops at once (as if the
    // process died right after the write, before the link was saved).
    setup.source.platform = Arc::new(Interrupting::stop_after(
        setup.source.platform.clone(),
        Write::AddComment,
        "the process stopped right after the note was written",
    ));
    let stopped = harness
        .engine
        .sync_once(&setup, SyncMode::Automatic)
        .await
        .expect("the run runs");
    assert_eq!(stopped.status, RunStatus::Failed, "{:#?}", stopped.records);
    assert_eq!(time_notes(&harness, raised).len(), 1, "the note landed");

    // The next runs find the note by its content and link it: never a second one.
    for _ in 0..2 {
        let next = harness.automatic_run().await;
        assert!(quiet(next.status), "{:?}: {:#?}", next.status, next.records);
    }
    assert_eq!(time_notes(&harness, raised).len(), 1);
}

#[tokio::test]
async fn a_time_note_the_customers_autotask_refuses_is_a_recorded_failure() {
    let harness = Harness::demo().await;
    let (raised, copy) = synced_ticket(&harness, "Wi-Fi in the warehouse").await;
    let tenants = harness.simulator().tenants();
    let (contoso_user, _) = active_user(tenant(&tenants, CONTOSO));
    assert!(harness.simulator().set_entity_verb_permission(
        CONTOSO,
        &contoso_user,
        "TicketNotes",
        "create",
        false
    ));
    let entry = log_time(&harness, copy, 3.0, "Surveyed the access points");

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
        items[0].what.contains("3.00 h by Jane Doe"),
        "{}",
        items[0].what
    );
    assert!(items[0].why.contains("permission"), "{}", items[0].why);
    assert!(time_notes(&harness, raised).is_empty());

    // Not a stuck run: the next one is not Partial again, the item stays.
    let next = harness.automatic_run().await;
    assert!(quiet(next.status), "{:?}: {:#?}", next.status, next.records);
    assert_eq!(next.counts.attention, 1);
}
