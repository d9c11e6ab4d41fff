//! The listing leaves out tickets whose last activity is the sync's own and older than the cursor
//! a complete run saved (`OwnActivityListed`): the sweep after an initial sync does not list its
//! copies again, and a person's edit that our own update buried (it came between our read and our
//! write, so our write is the ticket's last activity) still reaches the other side.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use fusion_autotask_sim::EntityKind;
use fusion_domain::sync::{RunStatus, TicketId, TicketMarker};
use fusion_domain::{Role, SystemClock};
use fusion_engine::{EngineSettings, SyncDirectory, SyncEngine, SyncMode};
use serde_json::json;

use crate::demo_connection::{SOURCE_ORGANISATION, TARGET_ORGANISATION};
use crate::interrupting_platform::{Interrupting, Write};
use crate::sync_end_to_end::{Harness, active_user, tenant};

const CONTOSO: &str = SOURCE_ORGANISATION;
const NORTHWIND: &str = TARGET_ORGANISATION;
const CONTOSO_PERSON: &str = "alex.morgan@contoso.example";
const NORTHWIND_TECHNICIAN: &str = "jane.doe@northwindit.example";

#[tokio::test]
async fn the_sweep_after_an_initial_sync_does_not_list_its_copies_again() {
    let harness = Harness::demo().await;
    const RAISED: usize = 5;
    for index in 0..RAISED {
        harness.raise_in_contoso(&format!("Badge reader {index} offline"));
    }
    assert_eq!(harness.manual_run().await.status, RunStatus::Success);
    // The first automatic run lists the copies once: the manual run's cursor on Northwind is its
    // start date (it had nothing to list there), not a ticket's activity.
    harness.automatic_run().await;

    // One ticket per page, so that every ticket listed costs a request.
    let engine = SyncEngine::new(
        harness.store.clone(),
        Arc::new(SystemClock),
        EngineSettings {
            page_size: 1,
            ..EngineSettings::default()
        },
    );
    let setup = harness
        .directory
        .setup(harness.relationship)
        .await
        .expect("the setup loads");
    harness.simulator().clear_request_log();
    let quiet = engine
        .sync_once(&setup, SyncMode::Automatic)
        .await
        .expect("the run runs");
    assert_eq!(quiet.status, RunStatus::NoTicketsFound, "{quiet:#?}");
    let northwind_queries = harness
        .simulator()
        .request_log()
        .iter()
        .filter(|request| {
            request.tenant.as_deref() == Some(NORTHWIND)
                && request.route == "POST /V1.0/Tickets/query"
        })
        .count();
    // At most the copy that carries the cursor itself (its activity is not before it), and the
    // empty page after it: not the other copies.
    assert!(
        northwind_queries <= 2,
        "the quiet sweep listed Northwind's {RAISED} copies again: {northwind_queries} ticket queries"
    );
}

#[tokio::test]
async fn a_persons_note_added_between_our_read_and_our_update_still_reaches_the_other_side() {
    let harness = Harness::demo().await;
    let raised = harness.raise_in_contoso("Label printer prints blank labels");
    assert_eq!(harness.manual_run().await.status, RunStatus::Success);
    harness.automatic_run().await;
    let copy = harness.the_copy_in_northwind(raised)["id"]
        .as_i64()
        .expect("an id");

    // Contoso retitles the ticket; the next run reads it and updates the copy. Just before that
    // update, Northwind's technician adds a note to the copy: our update then makes the sync the
    // copy's last actor.
    harness
        .simulator()
        .ui_update_ticket(
            CONTOSO,
            CONTOSO_PERSON,
            raised,
            json!({ "title": "Label printer prints blank labels (all of them)" }),
        )
        .expect("retitled");
    run_with_a_note_before(
        &harness,
        Write::UpdateTicket,
        raised,
        "Replaced the print head.",
    )
    .await;
    let our_resource = harness.ticket(NORTHWIND, copy)["lastActivityResourceID"].as_i64();
    let (username, _) = active_user(tenant(&harness.simulator().tenants(), NORTHWIND));
    assert_eq!(
        our_resource,
        harness
            .simulator()
            .api_user_resource_id(NORTHWIND, &username),
        "our update is the copy's last activity, after the technician's note"
    );

    harness.automatic_run().await;
    assert_note_reached_contoso(&harness, raised, "Replaced the print head.");
}

/// Why the bound is the cursor and not the moment the copy was read back: a copy's own writes
/// (the create, then its comments) are several, and a person's note between two of them is
/// buried under our later ones before the read-back — the copy's last activity is ours, yet
/// nobody has listed the note.
#[tokio::test]
async fn a_persons_note_on_a_new_copy_between_its_create_and_our_comments_still_reaches_the_other_side()
 {
    let harness = Harness::demo().await;
    harness.raise_in_contoso("Forklift charger trips the breaker");
    assert_eq!(harness.manual_run().await.status, RunStatus::Success);
    harness.automatic_run().await;

    // A new ticket with a comment: an automatic run creates its copy, then adds the comment.
    let raised = harness.raise_in_contoso("Dock door sensor stuck");
    harness
        .simulator()
        .ui_add_note(
            CONTOSO,
            CONTOSO_PERSON,
            raised,
            json!({
                "title": "Photo", "description": "It stopped at half height.",
                "noteType": 1, "publish": 1,
            }),
        )
        .expect("Contoso's note");
    run_with_a_note_before(&harness, Write::AddComment, raised, "Realigned the sensor.").await;

    harness.automatic_run().await;
    assert_note_reached_contoso(&harness, raised, "Realigned the sensor.");
}

/// An automatic run in which, just before the first `write` to Northwind once the copy of
/// `raised` exists, Northwind's technician adds a public note `text` to that copy.
async fn run_with_a_note_before(harness: &Harness, write: Write, raised: i64, text: &'static str) {
    let marker = TicketMarker::for_copy_of(
        harness.relationship,
        Role::Source,
        &TicketId::new(raised.to_string()),
    );
    let mut setup = harness
        .directory
        .setup(harness.relationship)
        .await
        .expect("the setup loads");
    let simulator = harness.simulator().clone();
    let noted = Arc::new(AtomicBool::new(false));
    setup.target.platform = Arc::new(Interrupting::before(
        setup.target.platform.clone(),
        write,
        {
            let noted = noted.clone();
            move || {
                let copy = simulator
                    .records(NORTHWIND, EntityKind::Tickets)
                    .into_iter()
                    .find(|ticket| ticket["externalID"].as_str() == Some(marker.as_str()))
                    .and_then(|ticket| ticket["id"].as_i64());
                if let Some(copy) = copy
                    && !noted.swap(true, Ordering::SeqCst)
                {
                    simulator
                    .ui_add_note(
                        NORTHWIND,
                        NORTHWIND_TECHNICIAN,
                        copy,
                        json!({ "title": "Onsite", "description": text, "noteType": 1, "publish": 1 }),
                    )
                    .expect("the technician's note");
                }
            }
        },
    ));
    let run = harness
        .engine
        .sync_once(&setup, SyncMode::Automatic)
        .await
        .expect("the run runs");
    assert_eq!(run.status, RunStatus::Success, "{run:#?}");
    assert!(
        noted.load(Ordering::SeqCst),
        "the note came before our write"
    );
}

fn assert_note_reached_contoso(harness: &Harness, raised: i64, text: &str) {
    let notes = harness.notes(CONTOSO, raised);
    assert!(
        notes.iter().any(|note| note["description"]
            .as_str()
            .is_some_and(|description| description.contains(text))),
        "the technician's note reached Contoso: {notes:#?}"
    );
}
