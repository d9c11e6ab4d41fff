//! Queries: every operator, groups, UDF filters, case-insensitive bodies, maxRecords bounds, empty
//! filters, includeFields, id order, paging past 500 through nextPageUrl (POST and GET), count, GET
//! `?search=`, and the child lists.

use fusion_autotask_sim::{SimOptions, World};
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{
    OUTLOOK_TICKET, PRINTER_TICKET, TestSim, VPN_TICKET, all_filter, expect_error, expect_ok, ids,
};

#[tokio::test]
async fn every_comparison_operator_filters_as_documented() {
    let sim = TestSim::start().await;
    let cases: Vec<(Value, Vec<i64>)> = vec![
        (
            json!([{ "op": "eq", "field": "status", "value": 5 }]),
            vec![OUTLOOK_TICKET],
        ),
        (
            json!([{ "op": "noteq", "field": "status", "value": 5 }]),
            vec![PRINTER_TICKET, VPN_TICKET],
        ),
        (
            json!([{ "op": "gt", "field": "id", "value": PRINTER_TICKET }]),
            vec![VPN_TICKET, OUTLOOK_TICKET],
        ),
        (
            json!([{ "op": "gte", "field": "id", "value": VPN_TICKET }]),
            vec![VPN_TICKET, OUTLOOK_TICKET],
        ),
        (
            json!([{ "op": "lt", "field": "id", "value": VPN_TICKET }]),
            vec![PRINTER_TICKET],
        ),
        (
            json!([{ "op": "lte", "field": "id", "value": VPN_TICKET }]),
            vec![PRINTER_TICKET, VPN_TICKET],
        ),
        (
            json!([{ "op": "beginsWith", "field": "title", "value": "PRINTER" }]),
            vec![PRINTER_TICKET],
        ),
        (
            json!([{ "op": "endsWith", "field": "title", "value": "password" }]),
            vec![OUTLOOK_TICKET],
        ),
        (
            json!([{ "op": "contains", "field": "title", "value": "vpn" }]),
            vec![VPN_TICKET],
        ),
        (
            json!([{ "op": "exist", "field": "completedDate" }]),
            vec![OUTLOOK_TICKET],
        ),
        (
            json!([{ "op": "notExist", "field": "completedDate" }]),
            vec![PRINTER_TICKET, VPN_TICKET],
        ),
        (
            json!([{ "op": "in", "field": "issueType", "value": [1, 2] }]),
            vec![PRINTER_TICKET, OUTLOOK_TICKET],
        ),
        (
            json!([{ "op": "notIn", "field": "issueType", "value": [1, 2] }]),
            vec![VPN_TICKET],
        ),
        (
            json!([{ "op": "eq", "field": "status", "value": "5" }]),
            vec![OUTLOOK_TICKET],
        ),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            sim.ticket_ids(filter.clone()).await,
            expected,
            "filter {filter}"
        );
    }
}

#[tokio::test]
async fn top_level_items_are_anded_and_groups_nest() {
    let sim = TestSim::start().await;
    let anded = json!([
        { "op": "gte", "field": "id", "value": 0 },
        { "op": "noteq", "field": "status", "value": 5 },
        { "op": "contains", "field": "title", "value": "o" }
    ]);
    assert_eq!(
        sim.ticket_ids(anded).await,
        vec![PRINTER_TICKET, VPN_TICKET]
    );
    let or_group = json!([{ "op": "or", "items": [
        { "op": "eq", "field": "status", "value": 5 },
        { "op": "eq", "field": "issueType", "value": 3 }
    ]}]);
    assert_eq!(
        sim.ticket_ids(or_group).await,
        vec![VPN_TICKET, OUTLOOK_TICKET]
    );
    let nested = json!([{ "op": "or", "items": [
        { "op": "and", "items": [
            { "op": "eq", "field": "issueType", "value": 1 },
            { "op": "beginsWith", "field": "title", "value": "printer" }
        ]},
        { "op": "eq", "field": "id", "value": OUTLOOK_TICKET }
    ]}]);
    assert_eq!(
        sim.ticket_ids(nested).await,
        vec![PRINTER_TICKET, OUTLOOK_TICKET]
    );
}

#[tokio::test]
async fn udf_filters_match_user_defined_field_values() {
    let sim = TestSim::start().await;
    let filter = json!([{ "op": "eq", "field": "Customer Reference", "value": format!("CR-{VPN_TICKET}"), "udf": true }]);
    assert_eq!(sim.ticket_ids(filter).await, vec![VPN_TICKET]);
    let filter =
        json!([{ "op": "beginsWith", "field": "customer reference", "value": "cr-", "udf": true }]);
    assert_eq!(sim.ticket_ids(filter).await.len(), 3);
}

#[tokio::test]
async fn date_filters_accept_values_with_and_without_z() {
    let sim = TestSim::start().await;
    let all = sim
        .ticket_ids(
            json!([{ "op": "gte", "field": "lastActivityDate", "value": "2000-01-01T00:00:00Z" }]),
        )
        .await;
    assert_eq!(all.len(), 3);
    let none = sim.ticket_ids(json!([{ "op": "gt", "field": "lastActivityDate", "value": "2999-01-01T00:00:00.000" }])).await;
    assert!(none.is_empty());
}

#[tokio::test]
async fn query_property_names_are_case_insensitive() {
    let sim = TestSim::start().await;
    let body = json!({
        "MaxRecords": 2,
        "IncludeFields": ["ID", "Title"],
        "Filter": [{ "Op": "GTE", "Field": "Id", "Value": 0 }]
    });
    let result = sim.nw_query("Tickets", body).await;
    assert_eq!(ids(&result), vec![PRINTER_TICKET, VPN_TICKET]);
    assert!(result["items"][0].get("status").is_none());
}

#[tokio::test]
async fn an_empty_or_missing_filter_is_refused() {
    let sim = TestSim::start().await;
    for body in [
        json!({ "maxRecords": 10, "filter": [] }),
        json!({ "maxRecords": 10 }),
    ] {
        let response = sim
            .nw(Method::POST, "Tickets/query")
            .json(&body)
            .send()
            .await
            .unwrap();
        expect_error(response, 500, "filter").await;
    }
}

#[tokio::test]
async fn max_records_must_be_between_1_and_500() {
    let sim = TestSim::start().await;
    for bad in [0, 501, -1] {
        let response = sim
            .nw(Method::POST, "Tickets/query")
            .json(&json!({ "maxRecords": bad, "filter": all_filter() }))
            .send()
            .await
            .unwrap();
        let body = expect_error(
            response,
            500,
            "maxCountOfRecordsToReturn must be between 1 and 500",
        )
        .await;
        assert_eq!(
            body,
            json!({ "errors": ["maxCountOfRecordsToReturn must be between 1 and 500"] })
        );
    }
    for good in [1, 500] {
        let body = sim
            .nw_query(
                "Tickets",
                json!({ "maxRecords": good, "filter": all_filter() }),
            )
            .await;
        assert_eq!(body["pageDetails"]["requestCount"], json!(good));
    }
}

#[tokio::test]
async fn unknown_or_unqueryable_fields_are_refused() {
    let sim = TestSim::start().await;
    let response = sim
        .nw(Method::POST, "Tickets/query")
        .json(&json!({ "maxRecords": 5, "filter": [{ "op": "eq", "field": "nonsense", "value": 1 }] }))
        .send()
        .await
        .unwrap();
    expect_error(response, 500, "nonsense").await;
    let response = sim
        .nw(Method::POST, "Tickets/query")
        .json(&json!({ "maxRecords": 5, "filter": [{ "op": "eq", "field": "creatorType", "value": 1 }] }))
        .send()
        .await
        .unwrap();
    expect_error(response, 500, "creatorType").await;
    let response = sim
        .nw(Method::POST, "Tickets/query")
        .json(&json!({ "maxRecords": 5, "filter": [{ "op": "eq", "field": "isVisibleToComanaged", "value": "yes" }] }))
        .send()
        .await
        .unwrap();
    expect_error(response, 500, "true or false").await;
}

#[tokio::test]
async fn include_fields_returns_only_the_named_fields() {
    let sim = TestSim::start().await;
    let body = sim
        .nw_query(
            "Tickets",
            json!({ "maxRecords": 500, "includeFields": ["id", "title"], "filter": all_filter() }),
        )
        .await;
    for item in body["items"].as_array().unwrap() {
        let mut keys: Vec<&str> = item
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, vec!["id", "title", "userDefinedFields"]);
        assert_eq!(item["userDefinedFields"], json!([]));
    }
    let full = sim
        .nw_query(
            "Tickets",
            json!({ "maxRecords": 1, "filter": all_filter() }),
        )
        .await;
    assert!(
        full["items"][0].as_object().unwrap().len() > 60,
        "without includeFields every field is present"
    );
    assert!(
        full["items"][0]
            .get("purchaseOrderNumber")
            .unwrap()
            .is_null(),
        "empty fields are null, not absent"
    );
}

async fn generated_sim(tickets: usize) -> TestSim {
    TestSim::with(World::generated(tickets, 1), SimOptions::for_tests()).await
}

#[tokio::test]
async fn paging_past_500_follows_next_page_url_with_post_and_the_same_body() {
    let sim = generated_sim(1_203).await;
    let body = json!({ "maxRecords": 500, "filter": [{ "op": "gte", "field": "id", "value": 0 }] });
    let mut page = sim.nw_query("Tickets", body.clone()).await;
    let mut all = ids(&page);
    assert_eq!(all.len(), 500);
    assert!(page["pageDetails"]["prevPageUrl"].is_null());
    let mut pages = 1;
    while let Some(next) = page["pageDetails"]["nextPageUrl"]
        .as_str()
        .map(str::to_owned)
    {
        assert!(
            next.starts_with(&format!(
                "{}/webservices2.autotask.net/ATServicesRest/V1.0/Tickets/query/next?paging=",
                sim.base()
            )),
            "{next}"
        );
        let credentials = sim.northwind();
        let response = sim
            .authed(Method::POST, &next, &credentials)
            .json(&body)
            .send()
            .await
            .unwrap();
        page = expect_ok(response).await;
        assert!(page["pageDetails"]["prevPageUrl"].is_string());
        all.extend(ids(&page));
        pages += 1;
    }
    assert_eq!(pages, 3);
    assert_eq!(all.len(), 1_203);
    assert!(
        all.windows(2).all(|pair| pair[0] < pair[1]),
        "ids ascend without duplicates"
    );
    let count = expect_ok(
        sim.nw(Method::POST, "Tickets/query/count")
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(count, json!({ "queryCount": 1_203 }));
}

#[tokio::test]
async fn get_on_a_post_style_next_page_url_is_405() {
    let sim = generated_sim(600).await;
    let body = json!({ "maxRecords": 500, "filter": all_filter() });
    let page = sim.nw_query("Tickets", body).await;
    let next = page["pageDetails"]["nextPageUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    let credentials = sim.northwind();
    let response = sim
        .authed(Method::GET, &next, &credentials)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({ "Message": "The requested resource does not support http method 'GET'." })
    );
}

#[tokio::test]
async fn get_style_queries_use_search_and_their_next_page_url_works_with_get() {
    let sim = generated_sim(700).await;
    let search = json!({ "maxRecords": 500, "filter": all_filter() }).to_string();
    let response = sim
        .nw(Method::GET, "Tickets/query")
        .query(&[("search", search.as_str())])
        .send()
        .await
        .unwrap();
    let page = expect_ok(response).await;
    assert_eq!(ids(&page).len(), 500);
    let next = page["pageDetails"]["nextPageUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    let credentials = sim.northwind();
    let second = expect_ok(
        sim.authed(Method::GET, &next, &credentials)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(ids(&second).len(), 200);
    assert!(second["pageDetails"]["nextPageUrl"].is_null());
    assert!(ids(&second)[0] > *ids(&page).last().unwrap());
    let count = sim
        .nw(Method::GET, "Tickets/query/count")
        .query(&[("search", search.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(expect_ok(count).await["queryCount"], json!(700));
}

#[tokio::test]
async fn id_cursor_paging_returns_every_ticket_once() {
    let sim = generated_sim(1_001).await;
    let mut last = 0_i64;
    let mut seen = 0;
    loop {
        let body =
            json!({ "maxRecords": 500, "filter": [{ "op": "gt", "field": "id", "value": last }] });
        let page = ids(&sim.nw_query("Tickets", body).await);
        seen += page.len();
        match page.last() {
            Some(id) if page.len() == 500 => last = *id,
            _ => break,
        }
    }
    assert_eq!(seen, 1_001, "1,001 generated tickets");
}

#[tokio::test]
async fn child_lists_return_a_tickets_notes_and_attachments_and_an_attachment_carries_its_data() {
    let sim = TestSim::start().await;
    let notes = expect_ok(
        sim.nw(Method::GET, &format!("Tickets/{PRINTER_TICKET}/Notes"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(notes["items"].as_array().unwrap().len(), 2);
    assert!(
        notes["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|note| note["ticketID"] == json!(PRINTER_TICKET))
    );
    let note_id = notes["items"][0]["id"].as_i64().unwrap();
    let note = expect_ok(
        sim.nw(
            Method::GET,
            &format!("Tickets/{PRINTER_TICKET}/Notes/{note_id}"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(note["item"]["id"], json!(note_id));
    let attachments = expect_ok(
        sim.nw(
            Method::GET,
            &format!("Tickets/{PRINTER_TICKET}/Attachments"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    let listed = &attachments["items"][0];
    assert!(listed["data"].is_null(), "lists do not carry file data");
    let attachment_id = listed["id"].as_i64().unwrap();
    let single = expect_ok(
        sim.nw(
            Method::GET,
            &format!("Tickets/{PRINTER_TICKET}/Attachments/{attachment_id}"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        single["items"][0]["data"],
        json!("UHJpbnRlciBlcnJvciAxMzoganFtIGluIHRyYXkgMgo=")
    );
    let notes_query = sim
        .nw_query("TicketNotes", json!({ "maxRecords": 500, "filter": [{ "op": "eq", "field": "ticketID", "value": VPN_TICKET }] }))
        .await;
    assert_eq!(ids(&notes_query).len(), 2);
    let response = sim
        .nw(Method::POST, "TicketAttachments/query")
        .json(&json!({ "maxRecords": 5, "filter": [{ "op": "exist", "field": "data" }] }))
        .send()
        .await
        .unwrap();
    expect_error(response, 500, "data").await;
}

#[tokio::test]
async fn more_than_500_or_conditions_are_refused() {
    let sim = TestSim::start().await;
    let items: Vec<Value> = (0..501)
        .map(|id| json!({ "op": "eq", "field": "id", "value": id }))
        .collect();
    let response = sim
        .nw(Method::POST, "Tickets/query")
        .json(&json!({ "maxRecords": 10, "filter": [{ "op": "or", "items": items }] }))
        .send()
        .await
        .unwrap();
    expect_error(response, 500, "OR conditions").await;
}

#[tokio::test]
async fn a_get_query_string_longer_than_2048_characters_is_404() {
    let sim = TestSim::start().await;
    let long_title = "x".repeat(2_100);
    let search = json!({ "maxRecords": 5, "filter": [{ "op": "eq", "field": "title", "value": long_title }] }).to_string();
    let response = sim
        .nw(Method::GET, "Tickets/query")
        .query(&[("search", search.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let response = sim
        .nw(Method::POST, "Tickets/query")
        .json(&json!({ "maxRecords": 5, "filter": [{ "op": "eq", "field": "title", "value": "x".repeat(2_100) }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "the same query as a POST works");
}
