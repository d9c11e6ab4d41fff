//! Vendor limits: 3 concurrent requests per (integration code, endpoint) with the Itgenatr005
//! rejection, ZoneInformation exempt, and the rolling request threshold with ThresholdInformation and
//! suspension at 100 %.

use fusion_autotask_sim::{FaultKind, FaultRule, SimOptions};
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{NORTHWIND_USER, PRINTER_TICKET, TestSim, expect_error, expect_ok};

#[tokio::test]
async fn a_fourth_concurrent_request_to_one_endpoint_is_rejected_with_the_thread_threshold_message()
{
    let sim = TestSim::start().await;
    // Every Tickets request holds its slot for a while, so the requests overlap.
    sim.sim()
        .inject_fault(FaultRule::new(FaultKind::Latency { millis: 3_000 }).on_endpoint("Tickets"));
    let ticket = |_: usize| {
        sim.nw(Method::GET, &format!("Tickets/{PRINTER_TICKET}"))
            .send()
    };
    let companies = sim
        .nw(Method::POST, "Companies/query")
        .json(&json!({ "maxRecords": 1, "filter": [{ "op": "exist", "field": "id" }] }))
        .send();
    let other_tenant = sim.ct(Method::GET, "Tickets/31000300").send();
    let (first, second, third, fourth, other_endpoint, other_database) = tokio::join!(
        ticket(1),
        ticket(2),
        ticket(3),
        ticket(4),
        companies,
        other_tenant
    );
    let mut statuses = Vec::new();
    let mut rejection = None;
    for response in [first, second, third, fourth] {
        let response = response.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        if status != 200 {
            rejection = Some((status, text));
        }
        statuses.push(status);
    }
    assert_eq!(
        statuses.iter().filter(|status| **status == 200).count(),
        3,
        "{statuses:?}"
    );
    let (status, text) = rejection.expect("one request was rejected");
    assert_eq!(status, 429);
    let body: Value = serde_json::from_str(&text).unwrap();
    let message = body["errors"][0].as_str().unwrap();
    assert!(
        message.contains("Thread Threshold Exceeded") && message.contains("Itgenatr005"),
        "{message}"
    );
    assert!(
        message.contains("thread threshold of 3 threads has been exceeded"),
        "{message}"
    );
    assert_eq!(
        other_endpoint.unwrap().status(),
        200,
        "another endpoint has its own three threads"
    );
    assert_eq!(
        other_database.unwrap().status(),
        200,
        "another database has its own three threads"
    );
}

#[tokio::test]
async fn the_thread_threshold_status_is_switchable_and_zone_information_is_exempt() {
    let sim = TestSim::with_options(SimOptions {
        thread_threshold_status: 500,
        ..SimOptions::for_tests()
    })
    .await;
    sim.sim()
        .inject_fault(FaultRule::new(FaultKind::Latency { millis: 3_000 }));
    let zone_url = format!(
        "{}/webservices.autotask.net/ATServicesRest/V1.0/ZoneInformation?user={NORTHWIND_USER}",
        sim.base()
    );
    let zone = |_: usize| sim.client.get(&zone_url).send();
    let (a, b, c, d, e) = tokio::join!(zone(1), zone(2), zone(3), zone(4), zone(5));
    for response in [a, b, c, d, e] {
        assert_eq!(
            response.unwrap().status(),
            200,
            "ZoneInformation is not thread-limited"
        );
    }
    let ticket = |_: usize| {
        sim.nw(Method::GET, &format!("Tickets/{PRINTER_TICKET}"))
            .send()
    };
    let (a, b, c, d) = tokio::join!(ticket(1), ticket(2), ticket(3), ticket(4));
    let statuses: Vec<u16> = [a, b, c, d]
        .into_iter()
        .map(|response| response.unwrap().status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|status| **status == 500).count(),
        1,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn the_hourly_threshold_suspends_the_tenant_and_threshold_information_reports_usage() {
    let options = SimOptions {
        hourly_request_threshold: 4,
        time_scale: 0.0,
        ..SimOptions::for_tests()
    };
    let sim = TestSim::with_options(options).await;
    for _ in 0..2 {
        expect_ok(
            sim.nw(Method::GET, &format!("Tickets/{PRINTER_TICKET}"))
                .send()
                .await
                .unwrap(),
        )
        .await;
    }
    let threshold = expect_ok(
        sim.nw(Method::GET, "ThresholdInformation")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        threshold,
        json!({ "externalRequestThreshold": 4, "requestThresholdTimeframe": 60, "currentTimeframeRequestCount": 3 })
    );
    expect_ok(
        sim.nw(Method::GET, &format!("Tickets/{PRINTER_TICKET}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let response = sim
        .nw(Method::GET, &format!("Tickets/{PRINTER_TICKET}"))
        .send()
        .await
        .unwrap();
    expect_error(response, 429, "Request threshold exceeded").await;
    let response = sim
        .nw(Method::GET, "ThresholdInformation")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        429,
        "every call of the tenant is suspended"
    );
    // The other database is unaffected.
    expect_ok(
        sim.ct(Method::GET, "ThresholdInformation")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(sim.sim().current_request_count("Northwind IT"), Some(4));
}

#[tokio::test]
async fn the_suspension_status_is_switchable() {
    let options = SimOptions {
        hourly_request_threshold: 1,
        suspended_status: 500,
        time_scale: 0.0,
        ..SimOptions::for_tests()
    };
    let sim = TestSim::with_options(options).await;
    expect_ok(sim.nw(Method::GET, "Modules").send().await.unwrap()).await;
    expect_error(
        sim.nw(Method::GET, "Modules").send().await.unwrap(),
        500,
        "Request threshold exceeded",
    )
    .await;
}

#[tokio::test]
async fn requests_past_half_of_the_threshold_are_slowed_down() {
    // Threshold 4: the 2nd request reaches 50 % and gets the (here very long) added latency.
    let options = SimOptions {
        hourly_request_threshold: 4,
        latency_at_half_threshold: std::time::Duration::from_secs(60),
        latency_at_three_quarters_threshold: std::time::Duration::from_secs(60),
        time_scale: 1.0,
        ..SimOptions::for_tests()
    };
    let sim = TestSim::with_options(options).await;
    expect_ok(sim.nw(Method::GET, "Modules").send().await.unwrap()).await;
    let slowed = sim
        .nw(Method::GET, "Modules")
        .timeout(std::time::Duration::from_millis(1_000))
        .send()
        .await;
    assert!(slowed.expect_err("the request is held back").is_timeout());
}
