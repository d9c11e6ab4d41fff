//! The `/_sim/` control plane over HTTP (faults, request log, API-user admin, UI-like edits) and the
//! change-event stream.

use base64::Engine as _;
use fusion_autotask_sim::{ChangeAction, EntityKind};
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{
    Credentials, NORTHWIND, NORTHWIND_CUSTOMER_COMPANY, NORTHWIND_USER, PRINTER_TICKET, TestSim,
    expect_error, expect_ok, expect_unauthorized,
};

impl TestSim {
    async fn control(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .client
            .request(method, format!("{}/_sim/{path}", self.base()));
        if let Some(body) = body {
            request = request.json(&body);
        }
        expect_ok(request.send().await.unwrap()).await
    }
}

#[tokio::test]
async fn faults_can_be_injected_listed_and_cleared_over_http() {
    let sim = TestSim::start().await;
    sim.control(
        Method::POST,
        "faults",
        Some(json!({ "kind": "server_error", "endpoint": "Tickets", "count": 1 })),
    )
    .await;
    sim.control(
        Method::POST,
        "faults",
        Some(json!({ "kind": "html_body", "endpoint": "Companies" })),
    )
    .await;
    assert_eq!(
        sim.control(Method::GET, "faults", None)
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );
    expect_error(
        sim.nw(Method::GET, &format!("Tickets/{PRINTER_TICKET}"))
            .send()
            .await
            .unwrap(),
        500,
        "unexpected",
    )
    .await;
    expect_ok(
        sim.nw(Method::GET, &format!("Tickets/{PRINTER_TICKET}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    sim.control(Method::DELETE, "faults", None).await;
    assert_eq!(sim.control(Method::GET, "faults", None).await, json!([]));
    let bad = sim
        .client
        .post(format!("{}/_sim/faults", sim.base()))
        .json(&json!({ "kind": "meteor" }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn the_request_log_counts_calls_per_route_without_recording_secrets() {
    let sim = TestSim::start().await;
    for _ in 0..3 {
        sim.nw(Method::GET, &format!("Tickets/{PRINTER_TICKET}"))
            .send()
            .await
            .unwrap();
    }
    sim.nw(Method::POST, "Tickets/query")
        .json(&json!({ "maxRecords": 1, "filter": [{ "op": "exist", "field": "id" }] }))
        .send()
        .await
        .unwrap();
    let log = sim.control(Method::GET, "requests", None).await;
    assert_eq!(log["counts"]["GET /V1.0/Tickets/{id}"], json!(3));
    assert_eq!(log["counts"]["POST /V1.0/Tickets/query"], json!(1));
    assert_eq!(log["requests"][0]["tenant"], json!(NORTHWIND));
    assert_eq!(
        log["requests"][0]["host"],
        json!("webservices2.autotask.net")
    );
    let secret = sim.northwind().secret;
    assert!(
        !log.to_string().contains(&secret),
        "the log must not contain the secret"
    );
    assert_eq!(sim.sim().request_counts()["GET /V1.0/Tickets/{id}"], 3);
    sim.control(Method::DELETE, "requests", None).await;
    assert!(sim.sim().request_log().is_empty());
}

#[tokio::test]
async fn api_users_are_administered_over_http() {
    let sim = TestSim::start().await;
    let tenants = sim.control(Method::GET, "tenants", None).await;
    assert_eq!(tenants.as_array().unwrap().len(), 2);
    let created = sim
        .control(
            Method::POST,
            "tenants/northwind-it/api-users",
            Some(json!({ "username": "NEWKEY0000000AB@NORTHWINDIT.EXAMPLE" })),
        )
        .await;
    let mut credentials = Credentials {
        username: created["username"].as_str().unwrap().to_owned(),
        secret: created["secret"].as_str().unwrap().to_owned(),
        integration_code: sim.northwind().integration_code,
    };
    let url = sim.url(2, &format!("Tickets/{PRINTER_TICKET}"));
    expect_ok(
        sim.authed(Method::GET, &url, &credentials)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let user = "NEWKEY0000000AB@NORTHWINDIT.EXAMPLE";
    let regenerated = sim
        .control(
            Method::POST,
            &format!("tenants/Northwind%20IT/api-users/{user}/regenerate-secret"),
            None,
        )
        .await;
    expect_unauthorized(
        sim.authed(Method::GET, &url, &credentials)
            .send()
            .await
            .unwrap(),
        2,
    )
    .await;
    credentials.secret = regenerated["secret"].as_str().unwrap().to_owned();
    expect_ok(
        sim.authed(Method::GET, &url, &credentials)
            .send()
            .await
            .unwrap(),
    )
    .await;
    sim.control(
        Method::POST,
        &format!("tenants/northwind-it/api-users/{user}/permissions"),
        Some(json!({ "entity": "Tickets", "allowed": false })),
    )
    .await;
    expect_error(
        sim.authed(Method::GET, &url, &credentials)
            .send()
            .await
            .unwrap(),
        500,
        "adequate permissions",
    )
    .await;
    sim.control(
        Method::POST,
        &format!("tenants/northwind-it/api-users/{user}/active"),
        Some(json!({ "active": false })),
    )
    .await;
    expect_unauthorized(
        sim.authed(Method::GET, &url, &credentials)
            .send()
            .await
            .unwrap(),
        2,
    )
    .await;
    sim.control(
        Method::POST,
        &format!("tenants/northwind-it/api-users/{NORTHWIND_USER}/security-level"),
        Some(json!({ "security_level": "API User (system)" })),
    )
    .await;
}

#[tokio::test]
async fn one_verb_and_the_webhook_permission_are_withdrawn_over_http() {
    let sim = TestSim::start().await;
    let created = sim
        .control(
            Method::POST,
            "tenants/northwind-it/api-users",
            Some(json!({ "username": "VERBKEY000000AB@NORTHWINDIT.EXAMPLE" })),
        )
        .await;
    let credentials = Credentials {
        username: created["username"].as_str().unwrap().to_owned(),
        secret: created["secret"].as_str().unwrap().to_owned(),
        integration_code: sim.northwind().integration_code,
    };
    let user = "VERBKEY000000AB@NORTHWINDIT.EXAMPLE";
    sim.control(
        Method::POST,
        &format!("tenants/northwind-it/api-users/{user}/permissions"),
        Some(json!({ "entity": "TicketNotes", "verb": "create", "allowed": false })),
    )
    .await;
    let notes = sim.url(2, &format!("Tickets/{PRINTER_TICKET}/Notes"));
    expect_error(
        sim.authed(Method::POST, &notes, &credentials)
            .json(&json!({"title": "t", "description": "d", "noteType": 1, "publish": 1}))
            .send()
            .await
            .unwrap(),
        500,
        "adequate permissions to create",
    )
    .await;
    // Reading notes is still allowed.
    expect_ok(
        sim.authed(
            Method::GET,
            &sim.url(
                2,
                &format!(
                    "TicketNotes/query?search={}",
                    json!({"filter": [{"op": "eq", "field": "ticketID", "value": PRINTER_TICKET}]})
                ),
            ),
            &credentials,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    sim.control(
        Method::POST,
        &format!("tenants/northwind-it/api-users/{user}/webhook-permission"),
        Some(json!({ "allowed": false })),
    )
    .await;
    expect_error(
        sim.authed(Method::POST, &sim.url(2, "TicketWebhooks"), &credentials)
            .json(&json!({"name": "x", "webhookUrl": "https://example.com/h", "deactivationUrl": "https://example.com/d", "isActive": true}))
            .send()
            .await
            .unwrap(),
        500,
        "adequate permissions to create",
    )
    .await;
}

#[tokio::test]
async fn ui_like_edits_over_http_are_attributed_to_the_named_resource() {
    let sim = TestSim::start().await;
    let jane = sim
        .sim()
        .resource_id(NORTHWIND, "jane.doe@northwindit.example")
        .unwrap();
    let created = sim
        .control(
            Method::POST,
            "tenants/northwind-it/tickets",
            Some(json!({ "as_resource": "jane.doe@northwindit.example",
                         "fields": { "companyID": NORTHWIND_CUSTOMER_COMPANY, "title": "From the UI", "status": 1, "priority": 1 } })),
        )
        .await;
    let id = created["id"].as_i64().unwrap();
    let ticket = expect_ok(
        sim.nw(Method::GET, &format!("Tickets/{id}"))
            .send()
            .await
            .unwrap(),
    )
    .await["item"]
        .clone();
    assert_eq!(ticket["lastActivityResourceID"], json!(jane));
    assert_eq!(ticket["creatorResourceID"], json!(jane));
    sim.control(
        Method::PATCH,
        &format!("tenants/northwind-it/tickets/{id}"),
        Some(
            json!({ "as_resource": "sam.patel@northwindit.example", "fields": { "priority": 4 } }),
        ),
    )
    .await;
    let note = sim
        .control(
            Method::POST,
            &format!("tenants/northwind-it/tickets/{id}/notes"),
            Some(json!({ "as_resource": "jane.doe@northwindit.example", "fields": { "description": "UI note", "noteType": 1, "publish": 1 } })),
        )
        .await;
    assert!(note["id"].is_i64());
    let data = base64::engine::general_purpose::STANDARD.encode(b"screenshot");
    sim.control(
        Method::POST,
        &format!("tenants/northwind-it/tickets/{id}/attachments"),
        Some(json!({ "as_resource": "jane.doe@northwindit.example", "file_name": "shot.png", "data": data })),
    )
    .await;
    sim.control(
        Method::POST,
        &format!("tenants/northwind-it/tickets/{id}/close"),
        Some(json!({ "as_resource": "jane.doe@northwindit.example" })),
    )
    .await;
    let ticket = expect_ok(
        sim.nw(Method::GET, &format!("Tickets/{id}"))
            .send()
            .await
            .unwrap(),
    )
    .await["item"]
        .clone();
    assert_eq!(ticket["status"], json!(5));
    assert_eq!(ticket["priority"], json!(4));
    assert!(ticket["completedDate"].is_string());
    let notes = expect_ok(
        sim.nw(Method::GET, &format!("Tickets/{id}/Notes"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(notes["items"][0]["creatorResourceID"], json!(jane));
    let entry = sim
        .control(
            Method::POST,
            &format!("tenants/northwind-it/tickets/{id}/time-entries"),
            Some(json!({ "as_resource": "jane.doe@northwindit.example",
                         "fields": { "hoursWorked": 0.75, "dateWorked": "2026-12-04T00:00:00", "roleID": 29683461, "summaryNotes": "Remote session" } })),
        )
        .await;
    let entry_id = entry["id"].as_i64().unwrap();
    let logged = expect_ok(
        sim.nw(Method::GET, &format!("TimeEntries/{entry_id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(logged["item"]["resourceID"], json!(jane));
    assert_eq!(logged["item"]["ticketID"], json!(id));
    let record = sim
        .control(
            Method::GET,
            &format!("tenants/northwind-it/records/Tickets/{id}"),
            None,
        )
        .await;
    assert_eq!(record["id"], json!(id));
    let unknown = sim
        .client
        .post(format!("{}/_sim/tenants/northwind-it/tickets", sim.base()))
        .json(&json!({ "as_resource": "ghost@nowhere.example", "fields": {} }))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn every_applied_change_is_published_as_an_event() {
    let sim = TestSim::start().await;
    let mut events = sim.sim().subscribe_changes();
    let jane = sim
        .sim()
        .resource_id(NORTHWIND, "jane.doe@northwindit.example")
        .unwrap();
    let note = sim
        .sim()
        .ui_add_note(
            NORTHWIND,
            "jane.doe@northwindit.example",
            PRINTER_TICKET,
            json!({ "description": "x", "noteType": 1, "publish": 1 }),
        )
        .unwrap();
    let first = events.recv().await.unwrap();
    assert_eq!(
        (first.entity, first.id, first.action, first.person_id),
        (EntityKind::TicketNotes, note, ChangeAction::Create, jane)
    );
    assert!(first.changed_fields.contains(&"description".to_owned()));
    let second = events.recv().await.unwrap();
    assert_eq!(
        (second.entity, second.id, second.action),
        (EntityKind::Tickets, PRINTER_TICKET, ChangeAction::Update)
    );
    assert!(
        second
            .changed_fields
            .contains(&"lastActivityDate".to_owned())
    );
    assert!(second.sequence > first.sequence);
    expect_ok(
        sim.nw(Method::PATCH, "Tickets")
            .json(&json!({ "id": PRINTER_TICKET, "title": "Renamed" }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let third = events.recv().await.unwrap();
    let api = sim
        .sim()
        .api_user_resource_id(NORTHWIND, NORTHWIND_USER)
        .unwrap();
    assert_eq!(third.person_id, api);
    assert!(third.changed_fields.contains(&"title".to_owned()));
    assert!(!third.changed_fields.contains(&"description".to_owned()));
}

#[tokio::test]
async fn tenants_and_integration_codes_can_be_added_and_tenants_moved_over_http() {
    let sim = TestSim::start().await;
    let seed = json!({ "name": "Fabrikam", "zone": 19,
        "api_users": [{ "username": "FAB0000000000AA@FABRIKAM.EXAMPLE", "secret": "fab-secret" }],
        "picklists": [{ "entity": "Tickets", "field": "status", "values": [{ "value": 1, "label": "New" }, { "value": 5, "label": "Complete" }] }] });
    let info = sim.control(Method::POST, "tenants", Some(seed)).await;
    assert_eq!(info["api_url"], "https://webservices19.autotask.net/");
    sim.control(
        Method::POST,
        "integration-codes",
        Some(json!({ "code": "FABRIKAMINTEGRATIONCODE0001" })),
    )
    .await;
    let credentials = Credentials {
        username: "FAB0000000000AA@FABRIKAM.EXAMPLE".to_owned(),
        secret: "fab-secret".to_owned(),
        integration_code: "FABRIKAMINTEGRATIONCODE0001".to_owned(),
    };
    let url = sim.url(19, "Modules");
    expect_ok(
        sim.authed(Method::GET, &url, &credentials)
            .send()
            .await
            .unwrap(),
    )
    .await;
    sim.control(
        Method::POST,
        "tenants/fabrikam/zone",
        Some(json!({ "zone": 29 })),
    )
    .await;
    expect_unauthorized(
        sim.authed(Method::GET, &url, &credentials)
            .send()
            .await
            .unwrap(),
        19,
    )
    .await;
    expect_ok(
        sim.authed(Method::GET, &sim.url(29, "Modules"), &credentials)
            .send()
            .await
            .unwrap(),
    )
    .await;
}

#[tokio::test]
async fn a_ticket_deleted_in_the_ui_disappears_and_is_listed_in_deleted_ticket_logs() {
    let sim = TestSim::start().await;
    let jane = sim
        .sim()
        .resource_id(NORTHWIND, "jane.doe@northwindit.example")
        .unwrap();
    let response = sim
        .client
        .delete(format!(
            "{}/_sim/tenants/northwind-it/tickets/{PRINTER_TICKET}",
            sim.base()
        ))
        .json(&json!({ "as_resource": "jane.doe@northwindit.example" }))
        .send()
        .await
        .unwrap();
    expect_ok(response).await;
    let gone = sim
        .nw(Method::GET, &format!("Tickets/{PRINTER_TICKET}"))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
    let notes = sim
        .nw(Method::GET, &format!("Tickets/{PRINTER_TICKET}/Notes"))
        .send()
        .await
        .unwrap();
    assert_eq!(expect_ok(notes).await["items"], json!([]));
    let logs = sim
        .nw_query(
            "DeletedTicketLogs",
            json!({ "maxRecords": 10, "filter": [{ "op": "eq", "field": "ticketID", "value": PRINTER_TICKET }] }),
        )
        .await;
    let log = &logs["items"][0];
    assert_eq!(log["deletedByResourceID"], json!(jane));
    assert_eq!(log["ticketTitle"], "Printer on floor 2 jams constantly");
    assert!(log["deletedDateTime"].is_string());
    let again = sim
        .client
        .delete(format!(
            "{}/_sim/tenants/northwind-it/tickets/{PRINTER_TICKET}",
            sim.base()
        ))
        .json(&json!({ "as_resource": "jane.doe@northwindit.example" }))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
}

#[tokio::test]
async fn client_portal_edits_by_a_contact_record_no_resource() {
    let sim = TestSim::start().await;
    let created = sim
        .control(
            Method::POST,
            "tenants/northwind-it/tickets",
            Some(json!({ "as_contact": "chris.green@contoso.example",
                         "fields": { "companyID": NORTHWIND_CUSTOMER_COMPANY, "title": "Raised in the portal", "status": 1, "priority": 2 } })),
        )
        .await;
    let id = created["id"].as_i64().unwrap();
    let ticket = expect_ok(
        sim.nw(Method::GET, &format!("Tickets/{id}"))
            .send()
            .await
            .unwrap(),
    )
    .await["item"]
        .clone();
    let contact = ticket["createdByContactID"]
        .as_i64()
        .expect("the contact is recorded");
    assert_eq!(ticket["creatorType"], json!(2));
    assert_eq!(ticket["lastActivityPersonType"], json!(2));
    assert!(ticket["creatorResourceID"].is_null());
    assert!(
        ticket["lastActivityResourceID"].is_null(),
        "a contact is not a resource"
    );
    let mut events = sim.sim().subscribe_changes();
    let note = sim
        .sim()
        .ui_add_note_as_contact(
            NORTHWIND,
            &contact.to_string(),
            PRINTER_TICKET,
            json!({ "description": "Still jamming", "noteType": 1, "publish": 1 }),
        )
        .unwrap();
    let event = events.recv().await.unwrap();
    assert_eq!((event.id, event.person_id), (note, contact));
    let note = expect_ok(
        sim.nw(Method::GET, &format!("TicketNotes/{note}"))
            .send()
            .await
            .unwrap(),
    )
    .await["item"]
        .clone();
    assert_eq!(note["createdByContactID"], json!(contact));
    assert!(note["creatorResourceID"].is_null());
    let ticket = expect_ok(
        sim.nw(Method::GET, &format!("Tickets/{PRINTER_TICKET}"))
            .send()
            .await
            .unwrap(),
    )
    .await["item"]
        .clone();
    assert_eq!(ticket["lastActivityPersonType"], json!(2));
    assert!(ticket["lastActivityResourceID"].is_null());
    let unknown = sim.sim().ui_add_note_as_contact(
        NORTHWIND,
        "ghost@nowhere.example",
        PRINTER_TICKET,
        json!({}),
    );
    assert!(matches!(
        unknown,
        Err(fusion_autotask_sim::UiEditError::UnknownContact(_))
    ));
}
