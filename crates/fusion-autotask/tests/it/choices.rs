//! Live choices, mappable fields, value-mapping suggestions and the ticket preview against the
//! two demo tenants, whose picklist codes differ on purpose.

use fusion_autotask::choices::{COMPANY, RESOURCE};
use fusion_autotask::{
    AutotaskError, TenantChoices, load_choices, preview_values, suggested_value_mappings,
    ticket_fields,
};
use fusion_autotask_sim::{EntityKind, World};
use fusion_domain::{Choice, ChoiceValue};
use fusion_engine::PreviewTicket;
use serde_json::json;

use crate::{CONTOSO, Harness, NORTHWIND};

/// Every list the web's configuration screens ask for.
const LIST_NAMES: &[&str] = &[
    "company",
    "queue",
    "status",
    "priority",
    "ticket_type",
    "ticket_category",
    "source",
    "issue_type",
    "sub_issue_type",
    "note_type",
    "note_publish",
    "attachment_publish",
    "resource",
    "time_role",
    "time_work_type",
];

async fn choices_of(harness: &Harness, tenant: &str) -> TenantChoices {
    load_choices(&harness.client_for(tenant))
        .await
        .expect("choices load")
}

fn by_label<'a>(list: &'a [Choice], label: &str) -> &'a Choice {
    list.iter()
        .find(|choice| choice.label == label)
        .unwrap_or_else(|| panic!("{label} is listed"))
}

fn codes(list: &[Choice]) -> Vec<(i64, String)> {
    list.iter()
        .map(|choice| {
            (
                choice.value.as_i64().expect("integer code"),
                choice.label.clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn each_tenant_lists_its_own_codes_and_both_have_complete() {
    let harness = Harness::demo().await;
    let northwind = choices_of(&harness, NORTHWIND).await;
    let contoso = choices_of(&harness, CONTOSO).await;

    for name in LIST_NAMES {
        assert!(!northwind.list(name).is_empty(), "Northwind lists {name}");
        assert!(!contoso.list(name).is_empty(), "Contoso lists {name}");
    }
    assert!(northwind.list("no_such_list").is_empty());

    assert_ne!(
        codes(&northwind.list("priority")),
        codes(&contoso.list("priority"))
    );
    assert_ne!(
        codes(&northwind.list("queue")),
        codes(&contoso.list("queue"))
    );
    let waiting_here = by_label(northwind.list_ref("status"), "Waiting Customer");
    let waiting_there = by_label(contoso.list_ref("status"), "Waiting Customer");
    assert_ne!(waiting_here.value, waiting_there.value);
    assert_eq!(
        by_label(northwind.list_ref("status"), "Complete").value,
        ChoiceValue::from(5)
    );
    assert_eq!(
        by_label(contoso.list_ref("status"), "Complete").value,
        ChoiceValue::from(5)
    );

    assert!(by_label(northwind.list_ref("queue"), "Level I Support").is_active);
    assert!(by_label(northwind.list_ref("status"), "New").is_default);
    assert!(!by_label(northwind.list_ref("status"), "Complete").is_default);
    assert_eq!(
        by_label(contoso.list_ref("note_publish"), "Internal Only").value,
        ChoiceValue::from(2)
    );
    assert_eq!(
        by_label(
            northwind.list_ref("attachment_publish"),
            "Internal Users Only"
        )
        .value,
        ChoiceValue::from(2)
    );
    assert!(by_label(northwind.list_ref("ticket_category"), "Standard").is_default);

    // Companies and people by name, with their ids as values.
    let contoso_company = by_label(northwind.list_ref(COMPANY), "Contoso Manufacturing");
    let company_record = harness
        .simulator()
        .records(NORTHWIND, EntityKind::Companies)
        .into_iter()
        .find(|company| company["companyName"] == "Contoso Manufacturing")
        .expect("the customer company");
    assert_eq!(
        contoso_company.value.as_i64(),
        company_record["id"].as_i64()
    );
    let jane = by_label(northwind.list_ref(RESOURCE), "Jane Doe");
    assert_eq!(
        jane.value.as_i64(),
        harness
            .simulator()
            .resource_id(NORTHWIND, "jane.doe@northwindit.example")
    );
    assert!(
        contoso
            .list_ref(RESOURCE)
            .iter()
            .all(|person| person.label != "Jane Doe")
    );
}

#[tokio::test]
async fn sub_issue_types_carry_the_issue_type_they_belong_to() {
    let harness = Harness::demo().await;
    let choices = choices_of(&harness, NORTHWIND).await;
    let hardware = by_label(choices.list_ref("issue_type"), "Hardware");
    let printer = by_label(choices.list_ref("sub_issue_type"), "Printer");
    let email = by_label(choices.list_ref("sub_issue_type"), "Email");
    assert_eq!(printer.parent.as_ref(), Some(&hardware.value));
    assert_ne!(email.parent.as_ref(), Some(&hardware.value));
    assert!(
        choices
            .list_ref("sub_issue_type")
            .iter()
            .all(|sub| sub.parent.is_some())
    );
    assert!(
        choices
            .list_ref("issue_type")
            .iter()
            .all(|issue| issue.parent.is_none())
    );
}

#[tokio::test]
async fn inactive_values_are_flagged_and_the_tenants_sort_order_is_kept() {
    let mut world = World::demo();
    let northwind = world
        .tenants
        .iter_mut()
        .find(|tenant| tenant.name == NORTHWIND)
        .expect("Northwind seed");
    for picklist in &mut northwind.picklists {
        for value in &mut picklist.values {
            if picklist.field == "status" && value.label == "Escalated" {
                value.is_active = false;
            }
            if picklist.field == "queueID" {
                value.sort_order = Some(0);
            }
            if picklist.field == "priority" {
                value.sort_order = Some(match value.label.as_str() {
                    "Critical" => 1,
                    "High" => 2,
                    "Medium" => 3,
                    _ => 4,
                });
            }
        }
    }
    // One inactive company that must not be offered.
    northwind
        .records
        .get_mut("Companies")
        .expect("companies")
        .push(
            json!({ "id": 29_000_190, "companyName": "Old Customer Ltd", "companyType": 1, "isActive": false })
                .as_object()
                .cloned()
                .expect("object"),
        );
    let harness = Harness::with_world(world).await;
    let choices = choices_of(&harness, NORTHWIND).await;

    let escalated = by_label(choices.list_ref("status"), "Escalated");
    assert!(!escalated.is_active, "inactive status kept but flagged");
    assert!(by_label(choices.list_ref("status"), "In Progress").is_active);
    let priorities: Vec<String> = choices
        .list("priority")
        .into_iter()
        .map(|choice| choice.label)
        .collect();
    assert_eq!(priorities, ["Critical", "High", "Medium", "Low"]);
    assert!(
        choices
            .list_ref(COMPANY)
            .iter()
            .all(|company| company.label != "Old Customer Ltd")
    );
    // Equal sort orders (as many tenants have: all 0): labels decide.
    let queues: Vec<String> = choices.list("queue").into_iter().map(|c| c.label).collect();
    assert_eq!(
        queues,
        ["Client Portal", "Level I Support", "Level II Support"]
    );
}

/// Requests one tenant's API user made, as `(method, path after V1.0/)`.
fn calls_of(harness: &Harness, tenant: &str) -> Vec<(String, String)> {
    harness
        .simulator()
        .request_log()
        .into_iter()
        .filter(|entry| {
            entry.tenant.as_deref() == Some(tenant) || entry.route.contains("ZoneInformation")
        })
        .map(|entry| {
            let path = entry
                .path
                .split_once("/V1.0/")
                .map_or(entry.path.clone(), |(_, rest)| rest.to_owned());
            (entry.method, path)
        })
        .collect()
}

#[tokio::test]
async fn loading_choices_costs_one_zone_lookup_and_eight_requests() {
    let harness = Harness::demo().await;
    harness.simulator().clear_request_log();
    let choices = choices_of(&harness, CONTOSO).await;
    assert!(!choices.list(COMPANY).is_empty());

    let mut calls = calls_of(&harness, CONTOSO);
    calls.sort();
    let expected: Vec<(String, String)> = [
        ("GET", "TicketAttachments/entityInformation/fields"),
        ("GET", "TicketNotes/entityInformation/fields"),
        ("GET", "Tickets/entityInformation/fields"),
        ("GET", "Tickets/entityInformation/userDefinedFields"),
        ("GET", "ZoneInformation"),
        ("POST", "BillingCodes/query"),
        ("POST", "Companies/query"),
        ("POST", "Resources/query"),
        ("POST", "Roles/query"),
    ]
    .into_iter()
    .map(|(method, path)| (method.to_owned(), path.to_owned()))
    .collect();
    assert_eq!(calls, expected);

    // With the zone cached, a refresh is exactly eight requests.
    let client = harness.client_for(CONTOSO);
    client.zone().await.expect("zone");
    harness.simulator().clear_request_log();
    load_choices(&client).await.expect("refresh");
    assert_eq!(calls_of(&harness, CONTOSO).len(), 8);
}

#[tokio::test]
async fn roles_and_work_types_are_listed_active_only_and_work_types_are_general_allocation_codes() {
    let harness = Harness::demo().await;
    // Northwind's API user cannot read costs: the lists still load (names only).
    let choices = choices_of(&harness, NORTHWIND).await;
    let labels = |list: &str| -> Vec<String> {
        choices
            .list(list)
            .into_iter()
            .map(|choice| choice.label)
            .collect()
    };
    assert_eq!(labels("time_role"), ["Senior Engineer", "Technician"]);
    assert_eq!(
        labels("time_work_type"),
        ["On-site Support", "Remote Support"]
    );
    assert_eq!(
        choices.list("time_role")[1].value,
        ChoiceValue::from(fusion_autotask_sim::TECHNICIAN_ROLE)
    );
}

#[tokio::test]
async fn a_security_level_without_roles_or_billing_codes_still_loads_its_other_choices() {
    let harness = Harness::demo().await;
    let tenants = harness.simulator().tenants();
    let user = tenants
        .iter()
        .find(|tenant| tenant.name == CONTOSO)
        .and_then(|tenant| tenant.api_users.iter().find(|user| user.active))
        .expect("an active Contoso user")
        .username
        .clone();
    for entity in ["Roles", "BillingCodes"] {
        assert!(
            harness
                .simulator()
                .set_entity_permission(CONTOSO, &user, entity, false)
        );
    }
    let choices = choices_of(&harness, CONTOSO).await;
    assert!(choices.list("time_role").is_empty());
    assert!(choices.list("time_work_type").is_empty());
    assert!(!choices.list(COMPANY).is_empty());
}

#[tokio::test]
async fn more_than_500_active_companies_cost_one_more_page_and_all_are_listed() {
    let mut world = World::demo();
    let northwind = world
        .tenants
        .iter_mut()
        .find(|tenant| tenant.name == NORTHWIND)
        .expect("Northwind seed");
    let companies = northwind.records.get_mut("Companies").expect("companies");
    for index in 0..600 {
        companies.push(
            json!({ "id": 28_000_000 + index, "companyName": format!("Customer {index:03}"), "companyType": 1, "isActive": true })
                .as_object()
                .cloned()
                .expect("object"),
        );
    }
    let harness = Harness::with_world(world).await;
    let client = harness.client_for(NORTHWIND);
    client.zone().await.expect("zone");
    harness.simulator().clear_request_log();
    let choices = load_choices(&client).await.expect("choices");
    assert_eq!(choices.list(COMPANY).len(), 602);
    let company_pages = calls_of(&harness, NORTHWIND)
        .into_iter()
        .filter(|(_, path)| path == "Companies/query")
        .count();
    assert_eq!(company_pages, 2);
    assert_eq!(calls_of(&harness, NORTHWIND).len(), 9);
}

#[tokio::test]
async fn suggested_status_mappings_match_labels_across_different_codes() {
    let harness = Harness::demo().await;
    let northwind = choices_of(&harness, NORTHWIND).await;
    let contoso = choices_of(&harness, CONTOSO).await;
    let status = ticket_fields(&northwind)
        .into_iter()
        .find(|field| field.name == "status")
        .expect("status is mappable");
    assert_eq!(status.picklist, Some("status"));
    let suggested = suggested_value_mappings(&status, &northwind, &contoso);
    let pairs: Vec<(i64, i64)> = suggested
        .iter()
        .map(|m| {
            (
                m.source.as_i64().expect("code"),
                m.target.as_i64().expect("code"),
            )
        })
        .collect();
    let complete = by_label(northwind.list_ref("status"), "Complete")
        .value
        .as_i64();
    let complete_there = by_label(contoso.list_ref("status"), "Complete")
        .value
        .as_i64();
    assert!(pairs.contains(&(complete.expect("code"), complete_there.expect("code"))));
    // "Waiting Customer" is 13 at Northwind and 7 at Contoso.
    assert!(pairs.contains(&(13, 7)));
    // "In Progress" and "Escalated" have no counterpart: left for the person.
    assert!(
        !pairs
            .iter()
            .any(|(source, _)| *source == 8 || *source == 15)
    );

    let title = ticket_fields(&northwind)
        .into_iter()
        .find(|field| field.name == "title")
        .expect("title");
    assert!(suggested_value_mappings(&title, &northwind, &contoso).is_empty());
}

#[tokio::test]
async fn the_tenants_field_information_decides_flags_and_udfs_are_appended() {
    let harness = Harness::demo().await;
    let choices = choices_of(&harness, NORTHWIND).await;
    let fields = ticket_fields(&choices);
    let names: Vec<&str> = fields.iter().map(|field| field.name.as_str()).collect();
    assert!(
        !names.contains(&"externalID"),
        "the sync marker is never mapped"
    );
    assert!(names.contains(&"dueDateTime") && names.contains(&"purchaseOrderNumber"));
    let title = fields.iter().find(|f| f.name == "title").expect("title");
    assert!(title.is_required && !title.is_read_only);
    let udf = fields
        .iter()
        .find(|f| f.name == "udf:Customer Reference")
        .expect("the demo UDF is mappable");
    assert_eq!(udf.label, "Customer reference");
    assert_eq!(udf.picklist, None);
    assert_eq!(names.last(), Some(&"udf:Customer Reference"));
}

#[tokio::test]
async fn preview_of_the_latest_ticket_shows_labels_and_names_not_codes() {
    let harness = Harness::demo().await;
    let simulator = harness.simulator();
    let tickets = simulator.records(NORTHWIND, EntityKind::Tickets);
    let oldest = tickets
        .iter()
        .filter_map(|ticket| ticket["id"].as_i64())
        .min()
        .expect("demo tickets");
    // The oldest ticket becomes the most recently active one (not the highest id).
    simulator
        .ui_update_ticket(
            NORTHWIND,
            "jane.doe@northwindit.example",
            oldest,
            json!({ "priority": 4 }),
        )
        .expect("UI edit");

    let client = harness.client_for(NORTHWIND);
    let choices = load_choices(&client).await.expect("choices");
    let contoso_company =
        ChoiceValue::from(company_id(&harness, NORTHWIND, "Contoso Manufacturing"));
    let preview = preview_values(&client, &choices, &PreviewTicket::Latest, &contoso_company)
        .await
        .expect("preview");
    assert_eq!(preview.title, "Printer on floor 2 jams constantly");
    assert!(
        preview.ticket_number.starts_with('T'),
        "{}",
        preview.ticket_number
    );
    assert!(preview.description.contains("Chris Green"));
    let values = &preview.values;
    assert_eq!(values["status"], "New");
    assert_eq!(values["priority"], "Critical");
    assert_eq!(values["queueID"], "Level I Support");
    assert_eq!(values["issueType"], "Hardware");
    assert_eq!(values["subIssueType"], "Printer");
    assert_eq!(values["ticketType"], "Service Request");
    assert_eq!(values["source"], "Phone");
    assert_eq!(values["ticketCategory"], "Standard");
    assert_eq!(values["companyID"], "Contoso Manufacturing");
    assert_eq!(values["contactID"], "Chris Green");
    assert_eq!(values["creatorResourceID"], "Jane Doe");
    assert!(values["udf:Customer Reference"].starts_with("CR-"));
    assert!(
        values["createDate"].ends_with(" UTC"),
        "{}",
        values["createDate"]
    );
    // A picklist without a named list still shows its label.
    assert_eq!(values["creatorType"], "Resource");
    assert!(
        !values.values().any(|display| display.is_empty()),
        "empty fields are left out"
    );
}

#[tokio::test]
async fn preview_of_a_given_ticket_and_of_a_missing_one() {
    let harness = Harness::demo().await;
    let client = harness.client_for(CONTOSO);
    let choices = load_choices(&client).await.expect("choices");
    let complete_ticket = harness
        .simulator()
        .records(CONTOSO, EntityKind::Tickets)
        .into_iter()
        .find(|ticket| ticket["status"] == 5)
        .expect("a completed demo ticket");
    let id = complete_ticket["id"].as_i64().expect("id");
    let northwind_company = ChoiceValue::from(company_id(&harness, CONTOSO, "Northwind IT"));
    let preview = preview_values(
        &client,
        &choices,
        &PreviewTicket::Id(id),
        &northwind_company,
    )
    .await
    .expect("preview");
    assert_eq!(preview.title, "Outlook keeps asking for password");
    assert_eq!(preview.values["status"], "Complete");
    assert_eq!(
        preview.values["priority"], "Normal",
        "Contoso's label for its code 2"
    );
    assert_eq!(preview.values["companyID"], "Northwind IT");

    let missing =
        preview_values(&client, &choices, &PreviewTicket::Id(1), &northwind_company).await;
    assert!(
        matches!(&missing, Err(AutotaskError::NotFound { what }) if what.contains("ticket 1")),
        "{missing:?}"
    );

    // A ticket of another of Contoso's companies is never previewed (privacy between
    // relationships), whether asked for by id or as the most recent one.
    let own = harness
        .simulator()
        .ui_create_ticket(
            CONTOSO,
            "alex.morgan@contoso.example",
            json!({
                "title": "Internal: payroll export",
                "description": "private",
                "companyID": company_id(&harness, CONTOSO, "Contoso Manufacturing"),
                "status": 1,
                "priority": 2,
                "queueID": 30100001,
            }),
        )
        .expect("raised");
    let refused = preview_values(
        &client,
        &choices,
        &PreviewTicket::Id(own),
        &northwind_company,
    )
    .await;
    assert!(
        matches!(&refused, Err(AutotaskError::NotFound { what }) if what.contains("only tickets of the company")),
        "{refused:?}"
    );
    let latest = preview_values(
        &client,
        &choices,
        &PreviewTicket::Latest,
        &northwind_company,
    )
    .await
    .expect("preview");
    assert_ne!(latest.title, "Internal: payroll export");
    assert_eq!(latest.values["companyID"], "Northwind IT");
}

fn company_id(harness: &Harness, tenant: &str, name: &str) -> i64 {
    harness
        .simulator()
        .records(tenant, EntityKind::Companies)
        .into_iter()
        .find(|company| company["companyName"] == name)
        .and_then(|company| company["id"].as_i64())
        .expect("the company exists")
}

#[tokio::test]
async fn a_user_without_access_to_companies_gets_permission_denied_naming_companies() {
    let harness = Harness::demo().await;
    let (username, _) = harness.active_user(CONTOSO);
    assert!(
        harness
            .simulator()
            .set_entity_permission(CONTOSO, &username, "Companies", false)
    );
    let result = load_choices(&harness.client_for(CONTOSO)).await;
    match result {
        Err(AutotaskError::PermissionDenied { entity, .. }) => assert_eq!(entity, "Companies"),
        other => panic!("expected PermissionDenied for Companies, got {other:?}"),
    }

    assert!(
        harness
            .simulator()
            .set_entity_permission(CONTOSO, &username, "TicketNotes", false)
    );
    assert!(
        harness
            .simulator()
            .set_entity_permission(CONTOSO, &username, "Companies", true)
    );
    let error = load_choices(&harness.client_for(CONTOSO))
        .await
        .expect_err("note picklists are refused");
    assert!(error.to_string().contains("TicketNotes"), "{error}");
}
