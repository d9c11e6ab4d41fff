//! Zones and discovery: ZoneInformation without credentials, VersionInformation, host-prefixed and
//! case-insensitive routing, and the framework's 404/405 bodies.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{NORTHWIND_USER, PRINTER_TICKET, TestSim, all_filter, expect_ok, ids};

#[tokio::test]
async fn zone_information_needs_no_credentials_and_points_back_at_the_simulator() {
    let sim = TestSim::start().await;
    let url = format!(
        "{}/webservices.autotask.net/ATServicesRest/V1.0/ZoneInformation?user={}",
        sim.base(),
        NORTHWIND_USER
    );
    let body = expect_ok(sim.client.get(&url).send().await.unwrap()).await;
    let zone_url = format!("{}/webservices2.autotask.net/ATServicesRest/", sim.base());
    assert_eq!(body["url"], json!(zone_url));
    assert_eq!(body["zoneName"], "Pre-release");
    assert_eq!(body["webUrl"], "https://ww2.autotask.net/");
    assert!(body["ci"].is_i64());
    // The returned URL works for data calls.
    let credentials = sim.northwind();
    let response = sim
        .authed(
            Method::POST,
            &format!("{zone_url}V1.0/Tickets/query"),
            &credentials,
        )
        .json(&json!({ "filter": all_filter(), "maxRecords": 10 }))
        .send()
        .await
        .unwrap();
    assert!(!ids(&expect_ok(response).await).is_empty());
}

#[tokio::test]
async fn zone_information_answers_on_any_zone_host_and_matches_user_case_insensitively() {
    let sim = TestSim::start().await;
    let url = format!(
        "{}/webservices14.autotask.net/atservicesrest/v1.0/zoneinformation?user={}",
        sim.base(),
        NORTHWIND_USER.to_lowercase()
    );
    let body = expect_ok(sim.client.get(&url).send().await.unwrap()).await;
    assert_eq!(body["zoneName"], "Pre-release");
    let contoso = format!(
        "{}/webservices.autotask.net/ATServicesRest/V1.0/ZoneInformation?user=M8RZT4WQ2KXHJNC@CONTOSO.EXAMPLE",
        sim.base()
    );
    let body = expect_ok(sim.client.get(&contoso).send().await.unwrap()).await;
    assert_eq!(body["zoneName"], "America West");
    assert!(
        body["url"]
            .as_str()
            .unwrap()
            .ends_with("/webservices5.autotask.net/ATServicesRest/")
    );
}

#[tokio::test]
async fn zone_information_for_an_unknown_user_is_a_500_saying_zone_could_not_be_determined() {
    let sim = TestSim::start().await;
    for user in ["jane.doe@northwindit.example", "nobody@example.com", ""] {
        let url = format!(
            "{}/webservices.autotask.net/ATServicesRest/V1.0/ZoneInformation?user={user}",
            sim.base()
        );
        let response = sim.client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 500);
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body,
            json!({ "errors": ["Zone information could not be determined"] })
        );
    }
}

#[tokio::test]
async fn version_information_lists_v1_and_v2_but_v2_routes_do_not_exist() {
    let sim = TestSim::start().await;
    let url = format!(
        "{}/webservices.autotask.net/ATServicesRest/VersionInformation",
        sim.base()
    );
    let body = expect_ok(sim.client.get(&url).send().await.unwrap()).await;
    assert_eq!(body, json!({ "apiVersions": ["V1.0", "V2.0"] }));
    let v2 = format!(
        "{}/webservices.autotask.net/ATServicesRest/V2.0/zoneInformation?user={NORTHWIND_USER}",
        sim.base()
    );
    let response = sim.client.get(&v2).send().await.unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["Message"]
            .as_str()
            .unwrap()
            .starts_with("No HTTP resource was found that matches the request URI")
    );
}

#[tokio::test]
async fn paths_and_header_names_are_case_insensitive() {
    let sim = TestSim::start().await;
    let credentials = sim.northwind();
    let url = format!(
        "{}/WEBSERVICES2.AUTOTASK.NET/atservicesrest/v1.0/tickets/{PRINTER_TICKET}",
        sim.base()
    );
    let response = sim
        .client
        .get(&url)
        .header("apiintegrationcode", &credentials.integration_code)
        .header("USERNAME", &credentials.username)
        .header("sEcReT", &credentials.secret)
        .send()
        .await
        .unwrap();
    let body = expect_ok(response).await;
    assert_eq!(body["item"]["id"], json!(PRINTER_TICKET));
}

#[tokio::test]
async fn unknown_routes_are_404_with_the_asp_net_message() {
    let sim = TestSim::start().await;
    for path in ["Tasks/query", "Tickets/query/sideways", "Tickets/abc"] {
        let response = sim
            .nw(Method::POST, path)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
        let body: Value = response.json().await.unwrap();
        let message = body["Message"].as_str().unwrap();
        assert!(
            message.starts_with("No HTTP resource was found that matches the request URI '"),
            "{message}"
        );
        assert!(message.contains(path), "{message}");
    }
    let other_host = format!(
        "{}/example.com/ATServicesRest/V1.0/Tickets/query",
        sim.base()
    );
    assert_eq!(
        sim.client.get(&other_host).send().await.unwrap().status(),
        404
    );
    // A POST to a child entity's root collection is not a route either.
    let response = sim
        .nw(Method::POST, "TicketNotes")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn an_unsupported_verb_on_a_known_route_is_405_naming_the_method() {
    let sim = TestSim::start().await;
    let response = sim
        .nw(Method::DELETE, &format!("Tickets/{PRINTER_TICKET}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({ "Message": "The requested resource does not support http method 'DELETE'." })
    );
    let response = sim
        .nw(Method::PATCH, "TicketNotes/query")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
}

#[tokio::test]
async fn a_tenant_moved_to_another_zone_gets_401_on_the_old_zone_until_rediscovered() {
    let sim = TestSim::start().await;
    expect_ok(
        sim.nw(Method::GET, &format!("Tickets/{PRINTER_TICKET}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(sim.sim().move_tenant_to_zone("Northwind IT", 14));
    let response = sim
        .nw(Method::GET, &format!("Tickets/{PRINTER_TICKET}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let url = format!(
        "{}/webservices.autotask.net/ATServicesRest/V1.0/ZoneInformation?user={NORTHWIND_USER}",
        sim.base()
    );
    let zone = expect_ok(sim.client.get(&url).send().await.unwrap()).await;
    assert_eq!(zone["zoneName"], "America East 2");
    let credentials = sim.northwind();
    let moved = sim
        .authed(
            Method::GET,
            &sim.url(14, &format!("Tickets/{PRINTER_TICKET}")),
            &credentials,
        )
        .send()
        .await
        .unwrap();
    expect_ok(moved).await;
}
