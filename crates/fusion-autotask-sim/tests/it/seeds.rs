//! Seeds: the documented example world file, generated large worlds, the ready line, seed errors, and
//! `run_until`.

use fusion_autotask_sim::{EntityKind, SimOptions, Simulator, World, run_until};
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{TestSim, expect_ok, ids};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/world.toml");

#[tokio::test]
async fn the_documented_example_world_loads_and_serves_its_records() {
    let world = World::from_file(EXAMPLE).expect("examples/world.toml is a valid world");
    let sim = TestSim::with(world, SimOptions::for_tests()).await;
    let tenants = sim.sim().tenants();
    assert_eq!(tenants.len(), 1);
    let tenant = &tenants[0];
    let user = tenant.api_users.iter().find(|user| user.active).unwrap();
    let credentials = crate::harness::Credentials {
        username: user.username.clone(),
        secret: user.secret.clone(),
        integration_code: tenant.integration_code.clone(),
    };
    let url = sim.url(tenant.zone, "Tickets/query");
    let body = json!({ "maxRecords": 10, "filter": [{ "op": "exist", "field": "id" }] });
    let page = expect_ok(
        sim.authed(Method::POST, &url, &credentials)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(ids(&page), vec![1001, 1002]);
    assert_eq!(page["items"][0]["userDefinedFields"][0]["value"], "ACME-1");
    let notes = expect_ok(
        sim.authed(
            Method::GET,
            &sim.url(tenant.zone, "Tickets/1001/Notes"),
            &credentials,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(notes["items"].as_array().unwrap().len(), 1);
    let fields = expect_ok(
        sim.authed(
            Method::GET,
            &sim.url(tenant.zone, "Tickets/entityInformation/fields"),
            &credentials,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    let queue = fields["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|field| field["name"] == "queueID")
        .unwrap();
    assert_eq!(
        queue["isRequired"],
        json!(true),
        "required_fields in the seed apply"
    );
}

#[test]
fn a_generated_world_holds_ten_thousand_tickets_with_two_notes_each() {
    let simulator = Simulator::new(World::generated(10_000, 2), SimOptions::for_tests()).unwrap();
    assert_eq!(
        simulator.record_count("Northwind IT", EntityKind::Tickets),
        10_000
    );
    assert_eq!(
        simulator.record_count("Northwind IT", EntityKind::TicketNotes),
        20_000
    );
}

#[tokio::test]
async fn the_ready_line_is_one_json_line_with_tenants_and_credentials() {
    let sim = TestSim::start().await;
    let line = sim.running.ready_line();
    assert!(!line.contains('\n'));
    assert!(
        line.starts_with("{\"ready\":true,\"base_url\":"),
        "documented key order: {line}"
    );
    let ready: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(ready["ready"], json!(true));
    assert_eq!(ready["base_url"], json!(sim.base()));
    let northwind = &ready["tenants"][0];
    assert_eq!(northwind["name"], "Northwind IT");
    assert_eq!(northwind["zone"], json!(2));
    assert_eq!(northwind["api_url"], "https://webservices2.autotask.net/");
    assert_eq!(northwind["integration_code"], "FUSIONDEMOINTEGRATIONCODE01");
    let users = northwind["api_users"].as_array().unwrap();
    assert_eq!(users.len(), 2);
    assert!(
        users.iter().any(|user| user["active"] == json!(true))
            && users.iter().any(|user| user["active"] == json!(false))
    );
    assert!(users[0]["secret"].is_string() && users[0]["username"].as_str().unwrap().contains('@'));
    assert_eq!(ready["tenants"][1]["zone"], json!(5));
}

#[test]
fn seed_errors_name_the_problem() {
    let unknown_entity = World::from_toml_str(
        "[[tenants]]\nname = \"A\"\nzone = 3\n[[tenants.records.Widgets]]\nid = 1\n",
    )
    .unwrap();
    let error = Simulator::new(unknown_entity, SimOptions::default())
        .unwrap_err()
        .to_string();
    assert!(error.contains("Widgets"), "{error}");
    let unknown_field = World::from_toml_str(
        "[[tenants]]\nname = \"A\"\nzone = 3\n[[tenants.records.Companies]]\ncolour = \"red\"\n",
    )
    .unwrap();
    let error = Simulator::new(unknown_field, SimOptions::default())
        .unwrap_err()
        .to_string();
    assert!(error.contains("colour"), "{error}");
    let error = World::from_file("/nonexistent/world.toml")
        .unwrap_err()
        .to_string();
    assert!(error.contains("/nonexistent/world.toml"), "{error}");
    let bad_toml = World::from_toml_str("tenants = 3").unwrap_err().to_string();
    assert!(bad_toml.contains("TOML"), "{bad_toml}");
}

#[test]
fn a_json_world_loads_like_a_toml_one() {
    let path = std::env::temp_dir().join(format!("fusion-sim-world-{}.json", std::process::id()));
    let world = json!({ "integration_codes": ["CODE"], "tenants": [{ "name": "J", "zone": 19,
        "api_users": [{ "username": "K@J.EXAMPLE", "secret": "s" }] }] });
    std::fs::write(&path, world.to_string()).unwrap();
    let loaded = World::from_file(&path);
    let _ = std::fs::remove_file(&path);
    let simulator = Simulator::new(loaded.unwrap(), SimOptions::default()).unwrap();
    assert_eq!(
        simulator.tenants()[0].api_url,
        "https://webservices19.autotask.net/"
    );
}

#[tokio::test]
async fn run_until_serves_until_the_shutdown_future_resolves() {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(run_until(
        "127.0.0.1:0".parse().unwrap(),
        World::demo(),
        SimOptions::for_tests(),
        async move {
            let _ = stopped.await;
        },
    ));
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
}
