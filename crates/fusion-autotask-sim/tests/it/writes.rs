//! Writes and records: create/get/patch/put, ticket numbers, dates, picklist and required-field
//! validation, no ticket delete, externalID, lastActivityDate on notes and attachments, attachment
//! limits, UDF updates, contacts through their company, metadata endpoints.

use base64::Engine as _;
use fusion_autotask_sim::{MissingItemMode, SimOptions};
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{
    CONTOSO_CUSTOMER_COMPANY, NORTHWIND, NORTHWIND_CUSTOMER_COMPANY, NORTHWIND_USER,
    PRINTER_TICKET, TestSim, expect_error, expect_ok,
};

fn new_ticket(title: &str) -> Value {
    json!({ "companyID": NORTHWIND_CUSTOMER_COMPANY, "title": title, "status": 1, "priority": 2,
            "queueID": 29683354, "description": "Created by a test" })
}

async fn create_ticket(sim: &TestSim, body: Value) -> i64 {
    let response = sim
        .nw(Method::POST, "Tickets")
        .json(&body)
        .send()
        .await
        .unwrap();
    let created = expect_ok(response).await;
    created["itemId"].as_i64().expect("itemId is a number")
}

async fn get_ticket(sim: &TestSim, id: i64) -> Value {
    expect_ok(
        sim.nw(Method::GET, &format!("Tickets/{id}"))
            .send()
            .await
            .unwrap(),
    )
    .await["item"]
        .clone()
}

fn is_wire_date_without_z(value: &Value) -> bool {
    let text = value.as_str().unwrap_or_default();
    text.len() == 23 && text.as_bytes()[10] == b'T' && !text.ends_with('Z')
}

#[tokio::test]
async fn creating_a_ticket_returns_item_id_and_the_ticket_carries_system_fields() {
    let sim = TestSim::start().await;
    let id = create_ticket(&sim, new_ticket("Laptop will not boot")).await;
    let ticket = get_ticket(&sim, id).await;
    assert_eq!(ticket["id"], json!(id));
    assert_eq!(ticket["title"], "Laptop will not boot");
    let number = ticket["ticketNumber"].as_str().unwrap();
    assert!(
        number.len() == 14 && number.starts_with('T') && number.as_bytes()[9] == b'.',
        "{number}"
    );
    assert!(
        is_wire_date_without_z(&ticket["createDate"]),
        "{}",
        ticket["createDate"]
    );
    assert!(is_wire_date_without_z(&ticket["lastActivityDate"]));
    let api_resource = sim
        .sim()
        .api_user_resource_id(NORTHWIND, NORTHWIND_USER)
        .unwrap();
    assert_eq!(ticket["creatorResourceID"], json!(api_resource));
    assert_eq!(ticket["lastActivityResourceID"], json!(api_resource));
    assert_eq!(
        ticket["ticketType"],
        json!(1),
        "non-required picklists take the tenant default"
    );
    assert_eq!(
        ticket["ticketCategory"],
        json!(3),
        "the global default ticket category applies"
    );
}

#[tokio::test]
async fn dates_carry_z_when_the_option_is_set() {
    let sim = TestSim::with_options(SimOptions {
        dates_with_z: true,
        ..SimOptions::for_tests()
    })
    .await;
    let ticket = get_ticket(&sim, PRINTER_TICKET).await;
    assert!(ticket["lastActivityDate"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn a_picklist_value_the_tenant_lacks_is_refused_with_the_vendor_message() {
    let sim = TestSim::start().await;
    let body =
        json!({ "companyID": CONTOSO_CUSTOMER_COMPANY, "title": "x", "status": 1, "priority": 3 });
    let response = sim
        .ct(Method::POST, "Tickets")
        .json(&body)
        .send()
        .await
        .unwrap();
    let errors = expect_error(
        response,
        500,
        "Picklist value [3] does not exist for priority.",
    )
    .await;
    assert_eq!(
        errors,
        json!({ "errors": ["Picklist value [3] does not exist for priority."] })
    );
    // Northwind has priority 3, so the same code is fine there.
    create_ticket(&sim, json!({ "companyID": NORTHWIND_CUSTOMER_COMPANY, "title": "x", "status": 1, "priority": 3 })).await;
    // Sub-issue types must belong to the issue type.
    let mut mismatched = new_ticket("sub issue");
    mismatched["issueType"] = json!(3);
    mismatched["subIssueType"] = json!(10);
    let response = sim
        .nw(Method::POST, "Tickets")
        .json(&mismatched)
        .send()
        .await
        .unwrap();
    expect_error(
        response,
        500,
        "Picklist value [10] does not exist for subIssueType.",
    )
    .await;
}

#[tokio::test]
async fn missing_required_fields_are_named() {
    let sim = TestSim::start().await;
    let response = sim
        .nw(Method::POST, "Tickets")
        .json(&json!({ "companyID": NORTHWIND_CUSTOMER_COMPANY, "status": 1 }))
        .send()
        .await
        .unwrap();
    let body = expect_error(response, 500, "title is required").await;
    assert!(
        body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|error| error == "priority is required")
    );
    let response = sim
        .nw(Method::POST, &format!("Tickets/{PRINTER_TICKET}/Notes"))
        .json(&json!({ "title": "no description" }))
        .send()
        .await
        .unwrap();
    expect_error(response, 500, "description is required").await;
    let response = sim
        .nw(Method::POST, "Tickets")
        .json(&json!({ "companyID": 424242, "title": "x", "status": 1, "priority": 2 }))
        .send()
        .await
        .unwrap();
    expect_error(
        response,
        500,
        "Value does not reference an existing entity for companyID.",
    )
    .await;
}

#[tokio::test]
async fn tickets_cannot_be_deleted() {
    let sim = TestSim::start().await;
    let response = sim
        .nw(Method::DELETE, &format!("Tickets/{PRINTER_TICKET}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    let body: Value = response.json().await.unwrap();
    assert!(body["Message"].as_str().unwrap().contains("'DELETE'"));
    assert_eq!(
        get_ticket(&sim, PRINTER_TICKET).await["id"],
        json!(PRINTER_TICKET)
    );
}

#[tokio::test]
async fn patch_changes_only_sent_fields_and_put_replaces_the_record() {
    let sim = TestSim::start().await;
    let id = create_ticket(&sim, new_ticket("Original title")).await;
    let response = sim
        .nw(Method::PATCH, "Tickets")
        .json(&json!({ "id": id, "status": 8 }))
        .send()
        .await
        .unwrap();
    assert_eq!(expect_ok(response).await, json!({ "itemId": id }));
    let ticket = get_ticket(&sim, id).await;
    assert_eq!(ticket["status"], json!(8));
    assert_eq!(ticket["title"], "Original title");
    assert_eq!(ticket["description"], "Created by a test");
    let full = json!({ "id": id, "companyID": NORTHWIND_CUSTOMER_COMPANY, "title": "Replaced", "status": 1, "priority": 2 });
    expect_ok(
        sim.nw(Method::PUT, "Tickets")
            .json(&full)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let ticket = get_ticket(&sim, id).await;
    assert_eq!(ticket["title"], "Replaced");
    assert!(ticket["description"].is_null(), "PUT clears omitted fields");
    assert!(
        ticket["ticketNumber"].is_string(),
        "PUT keeps read-only fields"
    );
    let response = sim
        .nw(Method::PATCH, "Tickets")
        .json(&json!({ "id": 1, "status": 8 }))
        .send()
        .await
        .unwrap();
    expect_error(response, 500, "does not exist").await;
}

#[tokio::test]
async fn closing_a_ticket_sets_completed_date_and_reopening_clears_it() {
    let sim = TestSim::start().await;
    let id = create_ticket(&sim, new_ticket("Close me")).await;
    expect_ok(
        sim.nw(Method::PATCH, "Tickets")
            .json(&json!({ "id": id, "status": 5 }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(is_wire_date_without_z(
        &get_ticket(&sim, id).await["completedDate"]
    ));
    expect_ok(
        sim.nw(Method::PATCH, "Tickets")
            .json(&json!({ "id": id, "status": 1 }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(get_ticket(&sim, id).await["completedDate"].is_null());
}

#[tokio::test]
async fn external_id_is_stored_and_queryable() {
    let sim = TestSim::start().await;
    let mut body = new_ticket("Synced ticket");
    body["externalID"] = json!("fusion:rel-1:31000300");
    let id = create_ticket(&sim, body).await;
    let found = sim
        .ticket_ids(
            json!([{ "op": "eq", "field": "externalID", "value": "fusion:rel-1:31000300" }]),
        )
        .await;
    assert_eq!(found, vec![id]);
    let mut too_long = new_ticket("x");
    too_long["externalID"] = json!("x".repeat(51));
    let response = sim
        .nw(Method::POST, "Tickets")
        .json(&too_long)
        .send()
        .await
        .unwrap();
    expect_error(
        response,
        500,
        "String value exceeds maximum length (field:externalID)",
    )
    .await;
}

#[tokio::test]
async fn a_note_moves_the_tickets_last_activity_date_and_resource() {
    let sim = TestSim::start().await;
    let before = get_ticket(&sim, PRINTER_TICKET).await;
    let response = sim
        .nw(Method::POST, &format!("Tickets/{PRINTER_TICKET}/Notes"))
        .json(&json!({ "title": "Update", "description": "Replaced the fuser.", "noteType": 1, "publish": 1 }))
        .send()
        .await
        .unwrap();
    let note_id = expect_ok(response).await["itemId"].as_i64().unwrap();
    let after = get_ticket(&sim, PRINTER_TICKET).await;
    assert!(
        after["lastActivityDate"].as_str().unwrap() > before["lastActivityDate"].as_str().unwrap()
    );
    let api_resource = sim
        .sim()
        .api_user_resource_id(NORTHWIND, NORTHWIND_USER)
        .unwrap();
    assert_eq!(after["lastActivityResourceID"], json!(api_resource));
    let note = expect_ok(
        sim.nw(Method::GET, &format!("TicketNotes/{note_id}"))
            .send()
            .await
            .unwrap(),
    )
    .await["item"]
        .clone();
    assert_eq!(note["ticketID"], json!(PRINTER_TICKET));
    assert_eq!(note["creatorResourceID"], json!(api_resource));
    // Updating the note through the parent URL.
    let response = sim
        .nw(Method::PATCH, &format!("Tickets/{PRINTER_TICKET}/Notes"))
        .json(&json!({ "id": note_id, "description": "Replaced the fuser and the roller." }))
        .send()
        .await
        .unwrap();
    expect_ok(response).await;
    let last = get_ticket(&sim, PRINTER_TICKET).await;
    assert!(
        last["lastActivityDate"].as_str().unwrap() > after["lastActivityDate"].as_str().unwrap()
    );
}

fn attachment(name: &str, bytes: &[u8]) -> Value {
    json!({ "attachmentType": "FILE_ATTACHMENT", "fullPath": name, "title": name, "publish": 1,
            "data": base64::engine::general_purpose::STANDARD.encode(bytes) })
}

#[tokio::test]
async fn attachments_round_trip_and_move_last_activity() {
    let sim = TestSim::start().await;
    let before = get_ticket(&sim, PRINTER_TICKET).await;
    let bytes = b"hello attachment".to_vec();
    let response = sim
        .nw(
            Method::POST,
            &format!("Tickets/{PRINTER_TICKET}/Attachments"),
        )
        .json(&attachment("a.txt", &bytes))
        .send()
        .await
        .unwrap();
    let id = expect_ok(response).await["itemId"].as_i64().unwrap();
    let fetched = expect_ok(
        sim.nw(
            Method::GET,
            &format!("Tickets/{PRINTER_TICKET}/Attachments/{id}"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    let item = &fetched["items"][0];
    assert_eq!(item["fileSize"], json!(bytes.len() as f64));
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(item["data"].as_str().unwrap())
        .unwrap();
    assert_eq!(decoded, bytes);
    let after = get_ticket(&sim, PRINTER_TICKET).await;
    assert!(
        after["lastActivityDate"].as_str().unwrap() > before["lastActivityDate"].as_str().unwrap()
    );
    let deleted = sim
        .nw(
            Method::DELETE,
            &format!("Tickets/{PRINTER_TICKET}/Attachments/{id}"),
        )
        .send()
        .await
        .unwrap();
    expect_ok(deleted).await;
    let gone = sim
        .nw(
            Method::GET,
            &format!("Tickets/{PRINTER_TICKET}/Attachments/{id}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
    let response = sim
        .nw(
            Method::PATCH,
            &format!("Tickets/{PRINTER_TICKET}/Attachments"),
        )
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405, "attachments cannot be updated");
}

#[tokio::test]
async fn an_attachment_over_the_per_file_limit_is_refused() {
    let sim = TestSim::with_options(SimOptions {
        attachment_max_file_bytes: 1_000,
        ..SimOptions::for_tests()
    })
    .await;
    let response = sim
        .nw(
            Method::POST,
            &format!("Tickets/{PRINTER_TICKET}/Attachments"),
        )
        .json(&attachment("big.bin", &vec![7_u8; 1_001]))
        .send()
        .await
        .unwrap();
    expect_error(response, 500, "cannot exceed 1000 bytes").await;
}

#[tokio::test]
async fn the_default_per_file_limit_refuses_an_eight_megabyte_file() {
    let sim = TestSim::start().await;
    let response = sim
        .nw(
            Method::POST,
            &format!("Tickets/{PRINTER_TICKET}/Attachments"),
        )
        .json(&attachment("huge.bin", &vec![1_u8; 8 * 1024 * 1024]))
        .send()
        .await
        .unwrap();
    expect_error(response, 500, "cannot exceed 7000000 bytes").await;
}

#[tokio::test]
async fn the_attachment_byte_budget_blocks_further_attachments() {
    let options = SimOptions {
        attachment_budget_bytes: 2_500,
        ..SimOptions::for_tests()
    };
    let sim = TestSim::with_options(options).await;
    let url = format!("Tickets/{PRINTER_TICKET}/Attachments");
    for round in 0..2 {
        let response = sim
            .nw(Method::POST, &url)
            .json(&attachment(&format!("{round}.bin"), &[0_u8; 1_000]))
            .send()
            .await
            .unwrap();
        expect_ok(response).await;
    }
    let response = sim
        .nw(Method::POST, &url)
        .json(&attachment("third.bin", &[0_u8; 1_000]))
        .send()
        .await
        .unwrap();
    expect_error(response, 500, "Attachment threshold exceeded").await;
    // Blocked: even a tiny one is refused now.
    let response = sim
        .nw(Method::POST, &url)
        .json(&attachment("tiny.bin", b"x"))
        .send()
        .await
        .unwrap();
    expect_error(response, 500, "blocked").await;
}

#[tokio::test]
async fn a_missing_record_is_404_or_a_null_item_when_switched() {
    let sim = TestSim::start().await;
    assert_eq!(
        sim.nw(Method::GET, "Tickets/12345")
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let sim = TestSim::with_options(SimOptions {
        missing_item: MissingItemMode::NullItem,
        ..SimOptions::for_tests()
    })
    .await;
    let body = expect_ok(sim.nw(Method::GET, "Tickets/12345").send().await.unwrap()).await;
    assert_eq!(body, json!({ "item": null }));
}

#[tokio::test]
async fn user_defined_fields_are_updated_by_name() {
    let sim = TestSim::start().await;
    let patch = json!({ "id": PRINTER_TICKET, "userDefinedFields": [{ "name": "Customer Reference", "value": "PO-77" }] });
    expect_ok(
        sim.nw(Method::PATCH, "Tickets")
            .json(&patch)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let ticket = get_ticket(&sim, PRINTER_TICKET).await;
    assert_eq!(
        ticket["userDefinedFields"],
        json!([{ "name": "Customer Reference", "value": "PO-77" }])
    );
    let bad = json!({ "id": PRINTER_TICKET, "userDefinedFields": [{ "name": "No Such UDF", "value": "x" }] });
    expect_error(
        sim.nw(Method::PATCH, "Tickets")
            .json(&bad)
            .send()
            .await
            .unwrap(),
        500,
        "No Such UDF",
    )
    .await;
}

#[tokio::test]
async fn contacts_are_written_through_their_company_and_time_entries_at_the_root() {
    let sim = TestSim::start().await;
    let response = sim
        .nw(Method::POST, &format!("Companies/{NORTHWIND_CUSTOMER_COMPANY}/Contacts"))
        .json(&json!({ "firstName": "Dana", "lastName": "Lee", "isActive": 1, "emailAddress": "dana.lee@contoso.example" }))
        .send()
        .await
        .unwrap();
    let contact = expect_ok(response).await["itemId"].as_i64().unwrap();
    let fetched = expect_ok(
        sim.nw(Method::GET, &format!("Contacts/{contact}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        fetched["item"]["companyID"],
        json!(NORTHWIND_CUSTOMER_COMPANY)
    );
    assert_eq!(
        sim.nw(Method::POST, "Contacts")
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let jane = sim
        .sim()
        .resource_id(NORTHWIND, "jane.doe@northwindit.example")
        .unwrap();
    let response = sim
        .nw(Method::POST, "TimeEntries")
        .json(&json!({ "ticketID": PRINTER_TICKET, "resourceID": jane, "hoursWorked": 1.5, "summaryNotes": "Fixed" }))
        .send()
        .await
        .unwrap();
    expect_error(response, 500, "TimeEntries for Tickets must have a roleID").await;
    let response = sim
        .nw(Method::POST, "TimeEntries")
        .json(&json!({ "ticketID": PRINTER_TICKET, "resourceID": jane, "roleID": 29683461, "hoursWorked": 1.5, "summaryNotes": "Fixed" }))
        .send()
        .await
        .unwrap();
    expect_error(
        response,
        500,
        "dateWorked is required when no startDateTime is given.",
    )
    .await;
    // The vendor's rules: hours above 0 and at most 24, and a real resource (API users own nothing).
    for hours in [0.0, 24.5] {
        let response = sim
            .nw(Method::POST, "TimeEntries")
            .json(&json!({ "ticketID": PRINTER_TICKET, "resourceID": jane, "roleID": 29683461, "hoursWorked": hours, "dateWorked": "2026-12-04T00:00:00" }))
            .send()
            .await
            .unwrap();
        expect_error(
            response,
            500,
            "hoursWorked must be greater than 0 and at most 24.",
        )
        .await;
    }
    let api_user = sim
        .sim()
        .resource_id(NORTHWIND, NORTHWIND_USER)
        .expect("the API user is a resource");
    let response = sim
        .nw(Method::POST, "TimeEntries")
        .json(&json!({ "ticketID": PRINTER_TICKET, "resourceID": api_user, "roleID": 29683461, "hoursWorked": 1.0, "dateWorked": "2026-12-04T00:00:00" }))
        .send()
        .await
        .unwrap();
    expect_error(
        response,
        500,
        "An API user cannot own a time entry (resourceID): use a real resource.",
    )
    .await;
    let response = sim
        .nw(Method::POST, "TimeEntries")
        .json(&json!({ "ticketID": PRINTER_TICKET, "resourceID": jane, "roleID": 29683461, "hoursWorked": 1.5, "dateWorked": "2026-12-04T00:00:00", "summaryNotes": "Fixed" }))
        .send()
        .await
        .unwrap();
    let entry = expect_ok(response).await["itemId"].as_i64().unwrap();
    expect_ok(
        sim.nw(Method::DELETE, &format!("TimeEntries/{entry}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
}

#[tokio::test]
async fn field_metadata_reports_tenant_picklists_as_strings_with_parents_and_required_flags() {
    let sim = TestSim::start().await;
    let fields = expect_ok(
        sim.ct(Method::GET, "Tickets/entityInformation/fields")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let field = |name: &str| {
        fields["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|field| field["name"] == name)
            .unwrap()
            .clone()
    };
    let priority = field("priority");
    assert_eq!(priority["isPickList"], json!(true));
    assert_eq!(priority["isRequired"], json!(true));
    assert_eq!(priority["dataType"], "integer");
    let values: Vec<&str> = priority["picklistValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|value| value["value"].as_str().unwrap())
        .collect();
    assert!(
        !values.contains(&"3") && values.contains(&"5"),
        "Contoso has no priority 3: {values:?}"
    );
    let status = field("status");
    assert!(
        status["picklistValues"]
            .as_array()
            .unwrap()
            .iter()
            .any(|value| value["label"] == "Complete")
    );
    let sub_issue = field("subIssueType");
    assert_eq!(sub_issue["picklistParentValueField"], "issueType");
    let laptop = sub_issue["picklistValues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|value| value["label"] == "Laptop")
        .unwrap();
    assert_eq!(laptop["parentValue"], "1");
    for key in ["isActive", "isDefaultValue", "sortOrder", "isSystem"] {
        assert!(laptop.get(key).is_some(), "{key}");
    }
    let company = field("companyID");
    assert_eq!(company["isReference"], json!(true));
    assert_eq!(company["referenceEntityType"], "Company");
    assert_eq!(field("ticketNumber")["isReadOnly"], json!(true));
    let category = field("ticketCategory");
    assert_eq!(category["isPickList"], json!(true));
    assert!(
        category["picklistValues"]
            .as_array()
            .unwrap()
            .iter()
            .any(|value| value["label"] == "Standard" && value["value"] == "3"),
        "ticket categories come from the TicketCategories entity"
    );
    let northwind = expect_ok(
        sim.nw(Method::GET, "Tickets/entityInformation/fields")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_ne!(northwind, fields, "the two demo tenants' picklists differ");
    let info = expect_ok(
        sim.nw(Method::GET, "Tickets/entityInformation")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(info["info"]["canDelete"], json!(false));
    assert_eq!(info["info"]["hasUserDefinedFields"], json!(true));
    let udfs = expect_ok(
        sim.nw(Method::GET, "Tickets/entityInformation/userDefinedFields")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(udfs["fields"][0]["name"], "Customer Reference");
    let notes = expect_ok(
        sim.nw(
            Method::GET,
            &format!("Tickets/{PRINTER_TICKET}/Notes/entityInformation/fields"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert!(
        notes["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|field| field["name"] == "noteType")
    );
    let modules = expect_ok(sim.nw(Method::GET, "Modules").send().await.unwrap()).await;
    assert!(modules["modules"][0]["key"].is_i64() && modules["modules"][0]["value"].is_boolean());
}

#[tokio::test]
async fn assigning_a_resource_needs_a_role_and_never_an_api_user() {
    let sim = TestSim::start().await;
    let jane = sim
        .sim()
        .resource_id(NORTHWIND, "jane.doe@northwindit.example")
        .unwrap();
    let response = sim
        .nw(Method::PATCH, "Tickets")
        .json(&json!({ "id": PRINTER_TICKET, "assignedResourceID": jane }))
        .send()
        .await
        .unwrap();
    expect_error(response, 500, "assignedResourceRoleID is required").await;
    let assigned =
        json!({ "id": PRINTER_TICKET, "assignedResourceID": jane, "assignedResourceRoleID": 1 });
    expect_ok(
        sim.nw(Method::PATCH, "Tickets")
            .json(&assigned)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let api = sim
        .sim()
        .api_user_resource_id(NORTHWIND, NORTHWIND_USER)
        .unwrap();
    let to_api_user =
        json!({ "id": PRINTER_TICKET, "assignedResourceID": api, "assignedResourceRoleID": 1 });
    let response = sim
        .nw(Method::PATCH, "Tickets")
        .json(&to_api_user)
        .send()
        .await
        .unwrap();
    expect_error(response, 500, "API user cannot be assigned").await;
}
