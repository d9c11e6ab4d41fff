//! Ticket time entries as Autotask checks them (API-NOTES §3.7, §12.2): the resource must hold
//! the role, the work type must be an active general allocation code, service-ticket time needs
//! start and stop times where the tenant says so, and non-billable entries are invisible to an
//! API user without "Can view non-billable time entries". Roles, resource roles and billing codes
//! are readable, with their rates and prices withheld from a user who cannot read costs.

use fusion_autotask_sim::{
    ENGINEER_ROLE, MANAGED_SERVICES, REMOTE_SUPPORT, RETIRED_ROLE, RETIRED_WORK_TYPE,
    TECHNICIAN_ROLE,
};
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::*;

fn body(resource: i64, role: i64, extra: Value) -> Value {
    let mut body = json!({
        "ticketID": PRINTER_TICKET, "resourceID": resource, "roleID": role, "hoursWorked": 1.0,
        "dateWorked": "2026-12-04T00:00:00", "summaryNotes": "Work"
    });
    for (key, value) in extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    body
}

#[tokio::test]
async fn a_time_entry_needs_a_role_its_resource_holds_and_an_active_work_type() {
    let sim = TestSim::start().await;
    let jane = sim
        .sim()
        .resource_id(NORTHWIND, "jane.doe@northwindit.example")
        .unwrap();
    let sam = sim
        .sim()
        .resource_id(NORTHWIND, "sam.patel@northwindit.example")
        .unwrap();
    let pair_message =
        "The specified AssignedResourceID and AssignedRoleID combination is not currently defined.";
    // Sam is no Senior Engineer; nobody holds a retired role; an unknown role is no role.
    for (resource, role) in [(sam, ENGINEER_ROLE), (jane, RETIRED_ROLE), (jane, 1)] {
        let response = sim
            .nw(Method::POST, "TimeEntries")
            .json(&body(resource, role, json!({})))
            .send()
            .await
            .unwrap();
        expect_error(response, 500, pair_message).await;
    }
    let work_type_message = "The given allocation code is not an active general allocation code.";
    for code in [RETIRED_WORK_TYPE, MANAGED_SERVICES, 424242] {
        let response = sim
            .nw(Method::POST, "TimeEntries")
            .json(&body(
                jane,
                TECHNICIAN_ROLE,
                json!({ "billingCodeID": code }),
            ))
            .send()
            .await
            .unwrap();
        expect_error(response, 500, work_type_message).await;
    }
    let response = sim
        .nw(Method::POST, "TimeEntries")
        .json(&body(
            jane,
            ENGINEER_ROLE,
            json!({ "billingCodeID": REMOTE_SUPPORT, "isNonBillable": true }),
        ))
        .send()
        .await
        .unwrap();
    let created = expect_ok(response).await["itemId"].as_i64().unwrap();
    // Changing the role to one Jane does not hold is refused too.
    let response = sim
        .nw(Method::PATCH, "TimeEntries")
        .json(&json!({ "id": created, "roleID": RETIRED_ROLE }))
        .send()
        .await
        .unwrap();
    expect_error(response, 500, pair_message).await;
}

#[tokio::test]
async fn a_tenant_that_requires_start_and_stop_refuses_service_ticket_time_without_them() {
    let sim = TestSim::start().await;
    // Contoso's demo tenant requires them.
    let alex = sim
        .sim()
        .resource_id(CONTOSO, "alex.morgan@contoso.example")
        .unwrap();
    let ticket = sim
        .sim()
        .records(CONTOSO, fusion_autotask_sim::EntityKind::Tickets)[0]["id"]
        .as_i64()
        .unwrap();
    let mut entry = json!({
        "ticketID": ticket, "resourceID": alex, "roleID": TECHNICIAN_ROLE, "hoursWorked": 1.0,
        "dateWorked": "2026-12-04T00:00:00", "billingCodeID": REMOTE_SUPPORT
    });
    let response = sim
        .ct(Method::POST, "TimeEntries")
        .json(&entry)
        .send()
        .await
        .unwrap();
    expect_error(
        response,
        500,
        "TimeEntries for Service tickets require a start and stop time.",
    )
    .await;
    entry["startDateTime"] = json!("2026-12-04T09:00:00Z");
    entry["endDateTime"] = json!("2026-12-04T10:00:00Z");
    let response = sim
        .ct(Method::POST, "TimeEntries")
        .json(&entry)
        .send()
        .await
        .unwrap();
    expect_ok(response).await;
}

#[tokio::test]
async fn non_billable_time_is_silently_missing_without_the_permission() {
    let sim = TestSim::start().await;
    let jane = sim
        .sim()
        .resource_id(NORTHWIND, "jane.doe@northwindit.example")
        .unwrap();
    let response = sim
        .nw(Method::POST, "TimeEntries")
        .json(&body(
            jane,
            TECHNICIAN_ROLE,
            json!({ "isNonBillable": true, "summaryNotes": "Goodwill" }),
        ))
        .send()
        .await
        .unwrap();
    let hidden = expect_ok(response).await["itemId"].as_i64().unwrap();
    let query = json!({ "filter": [{ "op": "eq", "field": "ticketID", "value": PRINTER_TICKET }] });
    let before = ids(&sim.nw_query("TimeEntries", query.clone()).await);
    assert!(before.contains(&hidden));
    assert!(
        sim.sim()
            .set_non_billable_time_permission(NORTHWIND, NORTHWIND_USER, false)
    );
    let after = ids(&sim.nw_query("TimeEntries", query).await);
    assert!(!after.contains(&hidden), "{after:?}");
    assert_eq!(
        after.len(),
        before.len() - 1,
        "billable time is still there"
    );
    let response = sim
        .nw(Method::GET, &format!("TimeEntries/{hidden}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn roles_and_work_types_are_readable_without_their_rates_when_costs_are_hidden() {
    let sim = TestSim::start().await;
    // Northwind's API user has "Can't Read Costs".
    let roles = sim
        .nw_query(
            "Roles",
            json!({ "filter": [{ "op": "eq", "field": "isActive", "value": true }] }),
        )
        .await;
    let names: Vec<&str> = roles["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|role| role["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Technician", "Senior Engineer"]);
    assert!(
        roles["items"][0]
            .get("hourlyRate")
            .is_none_or(Value::is_null)
    );
    let codes = sim
        .nw_query(
            "BillingCodes",
            json!({ "filter": [{ "op": "eq", "field": "useType", "value": 1 }] }),
        )
        .await;
    assert_eq!(codes["items"].as_array().unwrap().len(), 3);
    assert!(
        codes["items"][0]
            .get("unitPrice")
            .is_none_or(Value::is_null)
    );
    let held = sim
        .nw_query(
            "ResourceRoles",
            json!({ "filter": [{ "op": "eq", "field": "roleID", "value": ENGINEER_ROLE }] }),
        )
        .await;
    assert_eq!(held["items"].as_array().unwrap().len(), 1);
    // Contoso's user reads costs.
    let response = sim
        .ct(Method::GET, &format!("Roles/{TECHNICIAN_ROLE}"))
        .send()
        .await
        .unwrap();
    assert_eq!(expect_ok(response).await["item"]["hourlyRate"], json!(95.0));
}
