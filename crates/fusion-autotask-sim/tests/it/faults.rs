//! Fault injection: each fault kind, counts, seeded probabilities, and scoping by tenant / endpoint /
//! method.

use std::time::Duration;

use fusion_autotask_sim::{EntityKind, FaultKind, FaultRule, SimOptions};
use reqwest::Method;
use serde_json::json;

use crate::harness::{
    CONTOSO, NORTHWIND, NORTHWIND_CUSTOMER_COMPANY, PRINTER_TICKET, TestSim, expect_error,
    expect_ok,
};

fn ticket_body(title: &str, external: &str) -> serde_json::Value {
    json!({ "companyID": NORTHWIND_CUSTOMER_COMPANY, "title": title, "status": 1, "priority": 2, "externalID": external })
}

#[tokio::test]
async fn a_server_error_fault_fires_for_the_next_request_only() {
    let sim = TestSim::start().await;
    sim.sim().inject_fault(
        FaultRule::new(FaultKind::ServerError)
            .on_endpoint("Tickets")
            .times(1),
    );
    let response = sim
        .nw(Method::GET, &format!("Tickets/{PRINTER_TICKET}"))
        .send()
        .await
        .unwrap();
    expect_error(response, 500, "unexpected error").await;
    expect_ok(
        sim.nw(Method::GET, &format!("Tickets/{PRINTER_TICKET}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(sim.sim().faults().is_empty(), "a used-up rule retires");
}

#[tokio::test]
async fn too_many_requests_and_thread_threshold_faults_answer_like_the_vendor() {
    let sim = TestSim::start().await;
    sim.sim()
        .inject_fault(FaultRule::new(FaultKind::TooManyRequests).times(1));
    let response = sim.nw(Method::GET, "Modules").send().await.unwrap();
    assert_eq!(response.status(), 429);
    sim.sim()
        .inject_fault(FaultRule::new(FaultKind::ThreadThreshold).times(1));
    let response = sim.nw(Method::GET, "Modules").send().await.unwrap();
    expect_error(response, 429, "Itgenatr005").await;
}

#[tokio::test]
async fn a_connection_reset_fails_the_request_and_applies_nothing() {
    let sim = TestSim::start().await;
    let before = sim.sim().record_count(NORTHWIND, EntityKind::Tickets);
    sim.sim().inject_fault(
        FaultRule::new(FaultKind::ConnectionReset)
            .on_method("POST")
            .times(1),
    );
    let outcome = match sim
        .nw(Method::POST, "Tickets")
        .json(&ticket_body("reset", "reset-1"))
        .send()
        .await
    {
        Ok(response) => response.text().await.map(|_| ()),
        Err(error) => Err(error),
    };
    assert!(outcome.is_err(), "the client must see a broken connection");
    assert_eq!(
        sim.sim().record_count(NORTHWIND, EntityKind::Tickets),
        before
    );
    assert!(
        sim.sim()
            .request_log()
            .iter()
            .any(|entry| entry.status == 0)
    );
}

#[tokio::test]
async fn a_timeout_after_write_leaves_the_ticket_created() {
    let sim = TestSim::with_options(SimOptions {
        timeout_fault_hold: Duration::from_secs(60),
        ..SimOptions::for_tests()
    })
    .await;
    sim.sim().inject_fault(
        FaultRule::new(FaultKind::TimeoutAfterWrite)
            .on_endpoint("Tickets")
            .on_method("POST")
            .times(1),
    );
    let result = sim
        .nw(Method::POST, "Tickets")
        .json(&ticket_body("ambiguous", "fusion:ambiguous-1"))
        .timeout(Duration::from_millis(1_500))
        .send()
        .await;
    let error = result.expect_err("the client times out");
    assert!(error.is_timeout(), "{error}");
    let found = sim
        .ticket_ids(json!([{ "op": "eq", "field": "externalID", "value": "fusion:ambiguous-1" }]))
        .await;
    assert_eq!(
        found.len(),
        1,
        "the write landed although the client saw a timeout"
    );
}

#[tokio::test]
async fn a_malformed_body_fault_returns_truncated_json() {
    let sim = TestSim::start().await;
    sim.sim()
        .inject_fault(FaultRule::new(FaultKind::MalformedBody).times(1));
    let response = sim
        .nw(Method::GET, &format!("Tickets/{PRINTER_TICKET}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(
        serde_json::from_str::<serde_json::Value>(&text).is_err(),
        "{text}"
    );
}

#[tokio::test]
async fn an_html_body_fault_returns_an_html_page() {
    let sim = TestSim::start().await;
    sim.sim()
        .inject_fault(FaultRule::new(FaultKind::HtmlBody { status: 503 }).times(1));
    let response = sim
        .nw(Method::GET, &format!("Tickets/{PRINTER_TICKET}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        response
            .text()
            .await
            .unwrap()
            .starts_with("<!DOCTYPE html>")
    );
}

#[tokio::test]
async fn faults_are_scoped_by_tenant_endpoint_and_method() {
    let sim = TestSim::start().await;
    sim.sim()
        .inject_fault(FaultRule::new(FaultKind::ServerError).for_tenant(CONTOSO));
    sim.sim().inject_fault(
        FaultRule::new(FaultKind::ServerError)
            .for_tenant(NORTHWIND)
            .on_endpoint("Companies"),
    );
    sim.sim().inject_fault(
        FaultRule::new(FaultKind::ServerError)
            .for_tenant(NORTHWIND)
            .on_endpoint("Tickets")
            .on_method("PATCH"),
    );
    expect_ok(
        sim.nw(Method::GET, &format!("Tickets/{PRINTER_TICKET}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        sim.nw(
            Method::GET,
            &format!("Companies/{NORTHWIND_CUSTOMER_COMPANY}")
        )
        .send()
        .await
        .unwrap()
        .status(),
        500
    );
    assert_eq!(
        sim.nw(Method::PATCH, "Tickets")
            .json(&json!({ "id": PRINTER_TICKET }))
            .send()
            .await
            .unwrap()
            .status(),
        500
    );
    assert_eq!(
        sim.ct(Method::GET, "Modules")
            .send()
            .await
            .unwrap()
            .status(),
        500
    );
    sim.sim().clear_faults();
    expect_ok(sim.ct(Method::GET, "Modules").send().await.unwrap()).await;
}

async fn statuses_with_seed(seed: u64) -> Vec<u16> {
    let sim = TestSim::start().await;
    sim.sim().inject_fault(
        FaultRule::new(FaultKind::ServerError)
            .on_endpoint("Tickets")
            .with_probability(0.5, seed),
    );
    let mut statuses = Vec::new();
    for _ in 0..24 {
        statuses.push(
            sim.nw(Method::GET, &format!("Tickets/{PRINTER_TICKET}"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    statuses
}

#[tokio::test]
async fn probabilistic_faults_repeat_exactly_with_the_same_seed() {
    let first = statuses_with_seed(42).await;
    let second = statuses_with_seed(42).await;
    assert_eq!(first, second);
    assert!(first.contains(&200) && first.contains(&500), "{first:?}");
}
