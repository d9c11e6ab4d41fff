//! Authentication and authorisation: every failure is 401 with an empty body (2026 behaviour), the
//! legacy 2023 switch, regenerated secrets, inactive users, wrong zones, entity permissions, cost hiding,
//! and impersonation.

use fusion_autotask_sim::{AuthFailureMode, SimOptions};
use reqwest::Method;
use serde_json::json;

use crate::harness::{
    CONTOSO, CONTOSO_USER, Credentials, NORTHWIND, NORTHWIND_INACTIVE_USER, NORTHWIND_USER,
    PRINTER_TICKET, TestSim, expect_error, expect_ok, expect_unauthorized,
};

async fn get_ticket(sim: &TestSim, zone: u32, credentials: &Credentials) -> reqwest::Response {
    sim.authed(
        Method::GET,
        &sim.url(zone, &format!("Tickets/{PRINTER_TICKET}")),
        credentials,
    )
    .send()
    .await
    .unwrap()
}

#[tokio::test]
async fn wrong_secret_is_401_with_an_empty_body_and_a_basic_realm() {
    let sim = TestSim::start().await;
    let mut credentials = sim.northwind();
    credentials.secret.push('x');
    expect_unauthorized(get_ticket(&sim, 2, &credentials).await, 2).await;
}

#[tokio::test]
async fn unknown_user_and_an_email_address_instead_of_the_api_username_are_401() {
    let sim = TestSim::start().await;
    for username in ["NOPE@NORTHWINDIT.EXAMPLE", "jane.doe@northwindit.example"] {
        let mut credentials = sim.northwind();
        credentials.username = username.to_owned();
        expect_unauthorized(get_ticket(&sim, 2, &credentials).await, 2).await;
    }
}

#[tokio::test]
async fn unknown_integration_code_is_401() {
    let sim = TestSim::start().await;
    let mut credentials = sim.northwind();
    credentials.integration_code = "SOMEOTHERINTEGRATIONCODE999".to_owned();
    expect_unauthorized(get_ticket(&sim, 2, &credentials).await, 2).await;
}

#[tokio::test]
async fn each_missing_header_is_401() {
    let sim = TestSim::start().await;
    let credentials = sim.northwind();
    let url = sim.url(2, &format!("Tickets/{PRINTER_TICKET}"));
    let headers = [
        ("ApiIntegrationCode", credentials.integration_code.as_str()),
        ("UserName", credentials.username.as_str()),
        ("Secret", credentials.secret.as_str()),
    ];
    for skipped in 0..headers.len() {
        let mut request = sim.client.get(&url);
        for (position, (name, value)) in headers.iter().enumerate() {
            if position != skipped {
                request = request.header(*name, *value);
            }
        }
        expect_unauthorized(request.send().await.unwrap(), 2).await;
    }
    expect_unauthorized(sim.client.get(&url).send().await.unwrap(), 2).await;
}

#[tokio::test]
async fn inactive_api_user_is_401_until_reactivated() {
    let sim = TestSim::start().await;
    let inactive = sim.credentials(NORTHWIND, NORTHWIND_INACTIVE_USER);
    expect_unauthorized(get_ticket(&sim, 2, &inactive).await, 2).await;
    assert!(
        sim.sim()
            .set_api_user_active(NORTHWIND, NORTHWIND_INACTIVE_USER, true)
    );
    expect_ok(get_ticket(&sim, 2, &inactive).await).await;
    assert!(
        sim.sim()
            .set_api_user_active(NORTHWIND, NORTHWIND_USER, false)
    );
    expect_unauthorized(get_ticket(&sim, 2, &sim.northwind()).await, 2).await;
}

#[tokio::test]
async fn a_user_of_another_zone_is_401_on_this_zone_and_on_the_discovery_host() {
    let sim = TestSim::start().await;
    let northwind = sim.northwind();
    expect_unauthorized(get_ticket(&sim, 5, &northwind).await, 5).await;
    expect_unauthorized(get_ticket(&sim, 14, &northwind).await, 14).await;
    let discovery = format!(
        "{}/webservices.autotask.net/ATServicesRest/V1.0/Tickets/{PRINTER_TICKET}",
        sim.base()
    );
    let response = sim
        .authed(Method::GET, &discovery, &northwind)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn regenerating_the_secret_invalidates_the_old_one() {
    let sim = TestSim::start().await;
    let old = sim.northwind();
    expect_ok(get_ticket(&sim, 2, &old).await).await;
    let new_secret = sim
        .sim()
        .regenerate_secret(NORTHWIND, NORTHWIND_USER)
        .expect("user exists");
    assert_ne!(new_secret, old.secret);
    expect_unauthorized(get_ticket(&sim, 2, &old).await, 2).await;
    let new = Credentials {
        secret: new_secret,
        ..old
    };
    expect_ok(get_ticket(&sim, 2, &new).await).await;
}

#[tokio::test]
async fn legacy_mode_answers_500_for_unknown_user_and_integration_code_but_401_for_a_bad_secret() {
    let options = SimOptions {
        auth_failure_mode: AuthFailureMode::Legacy2023,
        ..SimOptions::for_tests()
    };
    let sim = TestSim::with_options(options).await;
    let mut unknown_user = sim.northwind();
    unknown_user.username = "NOPE@NORTHWINDIT.EXAMPLE".to_owned();
    assert_eq!(get_ticket(&sim, 2, &unknown_user).await.status(), 500);
    let mut bad_code = sim.northwind();
    bad_code.integration_code = "WRONG".to_owned();
    assert_eq!(get_ticket(&sim, 2, &bad_code).await.status(), 500);
    let mut bad_secret = sim.northwind();
    bad_secret.secret = "wrong".to_owned();
    expect_unauthorized(get_ticket(&sim, 2, &bad_secret).await, 2).await;
}

#[tokio::test]
async fn a_missing_entity_permission_is_a_500_with_vendor_text_and_the_status_is_switchable() {
    let sim = TestSim::start().await;
    assert!(
        sim.sim()
            .set_entity_permission(NORTHWIND, NORTHWIND_USER, "TimeEntries", false)
    );
    let response = sim
        .nw(Method::POST, "TimeEntries/query")
        .json(&json!({"filter":[{"op":"exist","field":"id"}]}))
        .send()
        .await
        .unwrap();
    expect_error(
        response,
        500,
        "User does not have adequate permissions to query this entity.",
    )
    .await;
    let response = sim
        .nw(Method::POST, "TimeEntries")
        .json(&json!({"resourceID": 1}))
        .send()
        .await
        .unwrap();
    expect_error(response, 500, "adequate permissions to create this entity").await;
    // Other entities still work.
    expect_ok(
        sim.nw(Method::GET, &format!("Tickets/{PRINTER_TICKET}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        sim.sim()
            .set_entity_permission(NORTHWIND, NORTHWIND_USER, "TimeEntries", true)
    );
    expect_ok(
        sim.nw(Method::POST, "TimeEntries/query")
            .json(&json!({"filter":[{"op":"exist","field":"id"}]}))
            .send()
            .await
            .unwrap(),
    )
    .await;

    let forbidden = TestSim::with_options(SimOptions {
        permission_denied_status: 403,
        ..SimOptions::for_tests()
    })
    .await;
    assert!(
        forbidden
            .sim()
            .set_entity_permission(NORTHWIND, NORTHWIND_USER, "Tickets", false)
    );
    let response = forbidden
        .nw(Method::GET, &format!("Tickets/{PRINTER_TICKET}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn cant_read_costs_users_see_no_cost_fields_while_full_users_do() {
    let sim = TestSim::start().await;
    let query = json!({ "filter": [{ "op": "eq", "field": "email", "value": "jane.doe@northwindit.example" }], "maxRecords": 1 });
    let hidden = sim.nw_query("Resources", query).await;
    assert!(
        hidden["items"][0]["internalCost"].is_null(),
        "Can't Read Costs user must not see internalCost"
    );
    let query = json!({ "filter": [{ "op": "eq", "field": "email", "value": "alex.morgan@contoso.example" }], "maxRecords": 1 });
    let response = sim
        .ct(Method::POST, "Resources/query")
        .json(&query)
        .send()
        .await
        .unwrap();
    let visible = expect_ok(response).await;
    assert_eq!(visible["items"][0]["internalCost"], json!(42.5));
    assert!(sim.sim().tenants().iter().any(|tenant| {
        tenant.name == CONTOSO
            && tenant
                .api_users
                .iter()
                .any(|user| user.username == CONTOSO_USER)
    }));
}

#[tokio::test]
async fn impersonation_attributes_a_note_to_the_impersonated_resource() {
    let sim = TestSim::start().await;
    let jane = sim
        .sim()
        .resource_id(NORTHWIND, "jane.doe@northwindit.example")
        .unwrap();
    let api = sim
        .sim()
        .api_user_resource_id(NORTHWIND, NORTHWIND_USER)
        .unwrap();
    let response = sim
        .nw(Method::POST, &format!("Tickets/{PRINTER_TICKET}/Notes"))
        .header("ImpersonationResourceId", jane.to_string())
        .json(&json!({ "description": "On behalf of Jane", "noteType": 1, "publish": 1 }))
        .send()
        .await
        .unwrap();
    let note_id = expect_ok(response).await["itemId"].as_i64().unwrap();
    let note = expect_ok(
        sim.nw(Method::GET, &format!("TicketNotes/{note_id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(note["item"]["creatorResourceID"], json!(jane));
    assert_eq!(note["item"]["impersonatorCreatorResourceID"], json!(api));
    let ticket = expect_ok(
        sim.nw(Method::GET, &format!("Tickets/{PRINTER_TICKET}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(ticket["item"]["lastActivityResourceID"], json!(jane));
    let response = sim
        .nw(Method::POST, &format!("Tickets/{PRINTER_TICKET}/Notes"))
        .header("ImpersonationResourceId", "999")
        .json(&json!({ "description": "x", "noteType": 1, "publish": 1 }))
        .send()
        .await
        .unwrap();
    expect_error(response, 500, "ImpersonationResourceId").await;
}
