//! Response shapes against the vendor Swagger: every property the simulator sends must be declared by
//! the matching definition, with a compatible JSON type.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{
    NORTHWIND_CUSTOMER_COMPANY, NORTHWIND_USER, PRINTER_TICKET, TestSim, VPN_TICKET, expect_ok,
};

const SWAGGER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference/autotask/swagger.json"
);

fn definitions() -> Value {
    let text = std::fs::read_to_string(SWAGGER).unwrap_or_else(|error| {
        panic!("the vendor Swagger must be at {SWAGGER} (shared/ beside the repository): {error}")
    });
    let swagger: Value = serde_json::from_str(&text).expect("swagger.json is JSON");
    swagger["definitions"].clone()
}

/// Collects every deviation of `value` from `schema` (undeclared properties, wrong JSON types).
fn check(
    definitions: &Value,
    schema: &Value,
    value: &Value,
    path: &str,
    problems: &mut Vec<String>,
) {
    if value.is_null() {
        return;
    }
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.trim_start_matches("#/definitions/");
        if name == "Object" {
            return; // declared as an untyped object: any JSON value is acceptable
        }
        let resolved = definitions
            .get(name)
            .unwrap_or_else(|| panic!("definition {name} missing"));
        return check(definitions, resolved, value, path, problems);
    }
    let kind = schema.get("type").and_then(Value::as_str);
    match kind {
        Some("integer") if !(value.is_i64() || value.is_u64()) => {
            problems.push(format!("{path}: {value} is not an integer"))
        }
        Some("number") if !value.is_number() => {
            problems.push(format!("{path}: {value} is not a number"))
        }
        Some("string") if !value.is_string() => {
            problems.push(format!("{path}: {value} is not a string"))
        }
        Some("boolean") if !value.is_boolean() => {
            problems.push(format!("{path}: {value} is not a boolean"))
        }
        Some("array") => match value.as_array() {
            Some(items) => {
                if let Some(item_schema) = schema.get("items") {
                    for (position, item) in items.iter().enumerate() {
                        check(
                            definitions,
                            item_schema,
                            item,
                            &format!("{path}[{position}]"),
                            problems,
                        );
                    }
                }
            }
            None => problems.push(format!("{path}: {value} is not an array")),
        },
        _ => {}
    }
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        let Some(object) = value.as_object() else {
            problems.push(format!("{path}: {value} is not an object"));
            return;
        };
        for (key, item) in object {
            match properties.get(key) {
                Some(property) => check(
                    definitions,
                    property,
                    item,
                    &format!("{path}.{key}"),
                    problems,
                ),
                None => problems.push(format!("{path}.{key} is not declared")),
            }
        }
    }
}

fn assert_matches(definitions: &Value, name: &str, value: &Value) {
    let schema = definitions
        .get(name)
        .unwrap_or_else(|| panic!("definition {name} missing from the Swagger"));
    let mut problems = Vec::new();
    check(definitions, schema, value, name, &mut problems);
    assert!(problems.is_empty(), "{name}: {problems:#?}");
}

async fn get(sim: &TestSim, path: &str) -> Value {
    expect_ok(sim.nw(Method::GET, path).send().await.unwrap()).await
}

async fn query(sim: &TestSim, entity: &str) -> Value {
    sim.nw_query(
        entity,
        json!({ "maxRecords": 500, "filter": [{ "op": "exist", "field": "id" }] }),
    )
    .await
}

#[tokio::test]
async fn entity_responses_use_only_properties_the_swagger_declares() {
    let definitions = definitions();
    let sim = TestSim::start().await;
    sim.sim()
        .ui_delete_ticket("Northwind IT", "jane.doe@northwindit.example", VPN_TICKET)
        .expect("the VPN ticket can be deleted");
    for (entity, model) in [
        ("Tickets", "TicketModel"),
        ("TicketNotes", "TicketNoteModel"),
        ("TicketAttachments", "TicketAttachmentModel"),
        ("Companies", "CompanyModel"),
        ("Contacts", "ContactModel"),
        ("Resources", "ResourceModel"),
        ("TimeEntries", "TimeEntryModel"),
        ("TicketCategories", "TicketCategoryModel"),
        ("DeletedTicketLogs", "DeletedTicketLogModel"),
    ] {
        let page = query(&sim, entity).await;
        assert!(
            !page["items"].as_array().unwrap().is_empty(),
            "{entity} has demo records"
        );
        let singular = model.trim_end_matches("Model");
        let legacy = match singular {
            "TicketAttachment" => "AttachmentInfo".to_owned(),
            "Company" => "Account".to_owned(),
            "TicketCategory" => "TicketCategory".to_owned(),
            "TimeEntry" => "TimeEntry".to_owned(),
            other => other.to_owned(),
        };
        let wrapper = [
            format!("QueryActionResult[{model},{singular}]"),
            format!("QueryActionResult[{model},{legacy}]"),
        ]
        .into_iter()
        .find(|name| definitions.get(name).is_some());
        match wrapper {
            Some(wrapper) => assert_matches(&definitions, &wrapper, &page),
            None => {
                for item in page["items"].as_array().unwrap() {
                    assert_matches(&definitions, model, item);
                }
                assert_matches(&definitions, "PagingModel", &page["pageDetails"]);
            }
        }
        if let Some(id) = page["items"][0]["id"].as_i64() {
            let one = get(&sim, &format!("{entity}/{id}")).await;
            let item_wrapper = [
                format!("ItemQueryResultModel[{model},{singular}]"),
                format!("ItemQueryResultModel[{model},{legacy}]"),
            ]
            .into_iter()
            .find(|name| definitions.get(name).is_some());
            match item_wrapper {
                Some(wrapper) => assert_matches(&definitions, &wrapper, &one),
                None => assert_matches(&definitions, model, &one["item"]),
            }
        }
    }
    let attachments = get(&sim, &format!("Tickets/{PRINTER_TICKET}/Attachments")).await;
    let attachment_id = attachments["items"][0]["id"].as_i64().unwrap();
    let with_data = get(
        &sim,
        &format!("Tickets/{PRINTER_TICKET}/Attachments/{attachment_id}"),
    )
    .await;
    assert_matches(
        &definitions,
        "TicketAttachmentModel",
        &with_data["items"][0],
    );
    let notes = get(&sim, &format!("Tickets/{PRINTER_TICKET}/Notes")).await;
    assert_matches(
        &definitions,
        "QueryActionResult[TicketNoteModel,TicketNote]",
        &notes,
    );
}

#[tokio::test]
async fn service_responses_match_their_swagger_models() {
    let definitions = definitions();
    let sim = TestSim::start().await;
    let zone_url = format!(
        "{}/webservices.autotask.net/ATServicesRest/V1.0/ZoneInformation?user={NORTHWIND_USER}",
        sim.base()
    );
    let zone = expect_ok(sim.client.get(&zone_url).send().await.unwrap()).await;
    assert_matches(&definitions, "ZoneInformationResultModel", &zone);
    assert_matches(
        &definitions,
        "ThresholdStatusResultModel",
        &get(&sim, "ThresholdInformation").await,
    );
    assert_matches(
        &definitions,
        "ModuleAccessResultModel",
        &get(&sim, "Modules").await,
    );
    let version = expect_ok(
        sim.client
            .get(format!(
                "{}/webservices.autotask.net/ATServicesRest/VersionInformation",
                sim.base()
            ))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_matches(&definitions, "ApiVersionResultModel", &version);
    assert_matches(
        &definitions,
        "EntityInformationResultModel",
        &get(&sim, "Tickets/entityInformation").await,
    );
    assert_matches(
        &definitions,
        "FieldInformationResultModel",
        &get(&sim, "Tickets/entityInformation/fields").await,
    );
    assert_matches(
        &definitions,
        "UserDefinedFieldInformationResultModel",
        &get(&sim, "Tickets/entityInformation/userDefinedFields").await,
    );
    let count = expect_ok(
        sim.nw(Method::POST, "Tickets/query/count")
            .json(&json!({ "filter": [{ "op": "exist", "field": "id" }] }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_matches(&definitions, "QueryCountResultModel", &count);
    let created = expect_ok(
        sim.nw(Method::POST, "Tickets")
            .json(&json!({ "companyID": NORTHWIND_CUSTOMER_COMPANY, "title": "shape", "status": 1, "priority": 2 }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_matches(&definitions, "OperationResultModel", &created);
}
