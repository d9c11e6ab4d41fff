//! Webhooks over HTTP: configuration entities and their validation, signed callouts for ticket and note
//! changes, field selection on updates, excluded resources, retries, the error log, deactivation, and
//! the `/_sim/webhooks/deliveries` record. A small axum receiver inside the test records each callout
//! and reports it over a channel; tests wait on that channel (with a generous timeout), never on sleeps.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use base64::Engine as _;
use fusion_autotask_sim::SimOptions;
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha1::Sha1;
use tokio::sync::mpsc;

use crate::harness::{
    Credentials, NORTHWIND, NORTHWIND_CUSTOMER_COMPANY, NORTHWIND_USER, PRINTER_TICKET, TestSim,
    expect_error, expect_ok,
};

const SECRET_KEY: &str = "s3cr3t-k3y-for-callouts";
const WAIT: Duration = Duration::from_secs(30);

/// One request the receiver got.
#[derive(Debug)]
struct Received {
    path: String,
    signature: Option<String>,
    body: Vec<u8>,
    json: Value,
    answered: u16,
}

#[derive(Clone)]
struct ReceiverState {
    sender: mpsc::UnboundedSender<Received>,
    failures_left: Arc<AtomicU32>,
    always_fail: Arc<AtomicBool>,
    hang_once: Arc<AtomicBool>,
}

/// A webhook receiver on 127.0.0.1:0: `/hook` answers 500 while told to fail, `/deactivated` always 200.
struct Receiver {
    base_url: String,
    requests: mpsc::UnboundedReceiver<Received>,
    failures_left: Arc<AtomicU32>,
    always_fail: Arc<AtomicBool>,
    hang_once: Arc<AtomicBool>,
}

async fn receive(
    State(state): State<ReceiverState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let path = uri.path().to_owned();
    let hanging = path == "/hook" && state.hang_once.swap(false, Ordering::SeqCst);
    let failing = path == "/hook"
        && (state.always_fail.load(Ordering::SeqCst)
            || state
                .failures_left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                    left.checked_sub(1)
                })
                .is_ok());
    let status = if failing {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    let received = Received {
        path,
        signature: headers
            .get("x-hook-signature")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned),
        json: serde_json::from_slice(&body).unwrap_or(Value::Null),
        body: body.to_vec(),
        answered: if hanging { 0 } else { status.as_u16() },
    };
    let _ = state.sender.send(received);
    if hanging {
        std::future::pending::<()>().await;
    }
    status
}

impl Receiver {
    async fn start() -> Receiver {
        let (sender, requests) = mpsc::unbounded_channel();
        let failures_left = Arc::new(AtomicU32::new(0));
        let always_fail = Arc::new(AtomicBool::new(false));
        let hang_once = Arc::new(AtomicBool::new(false));
        let state = ReceiverState {
            sender,
            failures_left: failures_left.clone(),
            always_fail: always_fail.clone(),
            hang_once: hang_once.clone(),
        };
        let router = Router::new().fallback(receive).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Receiver {
            base_url,
            requests,
            failures_left,
            always_fail,
            hang_once,
        }
    }

    fn hook_url(&self) -> String {
        format!("{}/hook", self.base_url)
    }

    fn deactivation_url(&self) -> String {
        format!("{}/deactivated", self.base_url)
    }

    fn fail_next(&self, count: u32) {
        self.failures_left.store(count, Ordering::SeqCst);
    }

    fn fail_always(&self) {
        self.always_fail.store(true, Ordering::SeqCst);
    }

    /// The next callout gets no answer at all (the handler never returns).
    fn hang_once(&self) {
        self.hang_once.store(true, Ordering::SeqCst);
    }

    async fn next(&mut self) -> Received {
        tokio::time::timeout(WAIT, self.requests.recv())
            .await
            .expect("the receiver got a request in time")
            .expect("the receiver is still running")
    }

    /// The next request to `path`, skipping others.
    async fn next_on(&mut self, path: &str) -> Received {
        loop {
            let received = self.next().await;
            if received.path == path {
                return received;
            }
        }
    }
}

fn expected_signature(body: &[u8]) -> String {
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(SECRET_KEY.as_bytes()).unwrap();
    mac.update(body);
    format!(
        "sha1={}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

fn assert_signed(received: &Received) {
    let signature = received
        .signature
        .as_deref()
        .expect("X-Hook-Signature header present");
    assert_eq!(
        signature,
        expected_signature(&received.body),
        "signature over the raw body bytes"
    );
}

/// Webhook config options for [`create_webhook`].
fn webhook_body(receiver: &Receiver, name: &str, create: bool, update: bool) -> Value {
    json!({
        "name": name, "webhookUrl": receiver.hook_url(), "deactivationUrl": receiver.deactivation_url(),
        "secretKey": SECRET_KEY, "isActive": true, "isSubscribedToCreateEvents": create,
        "isSubscribedToUpdateEvents": update, "isSubscribedToDeleteEvents": false,
    })
}

async fn create_webhook(sim: &TestSim, entity: &str, body: Value) -> i64 {
    let response = sim
        .nw(Method::POST, entity)
        .json(&body)
        .send()
        .await
        .unwrap();
    expect_ok(response).await["itemId"]
        .as_i64()
        .expect("itemId")
}

async fn get_webhook(sim: &TestSim, entity: &str, id: i64) -> Value {
    expect_ok(
        sim.nw(Method::GET, &format!("{entity}/{id}"))
            .send()
            .await
            .unwrap(),
    )
    .await["item"]
        .clone()
}

/// The `fieldID` for a property name, read from `{Fields entity}/entityInformation/fields`.
async fn field_id(sim: &TestSim, fields_entity: &str, name: &str) -> i64 {
    let response = sim
        .nw(
            Method::GET,
            &format!("{fields_entity}/entityInformation/fields"),
        )
        .send()
        .await
        .unwrap();
    let info = expect_ok(response).await;
    let column = info["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|field| field["name"] == "fieldID")
        .expect("fieldID");
    assert_eq!(column["isPickList"], json!(true));
    let value = column["picklistValues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|value| value["label"] == name);
    value.unwrap_or_else(|| panic!("{name} is in the fieldID picklist"))["value"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn add_field(
    sim: &TestSim,
    entity: &str,
    webhook: i64,
    name: &str,
    subscribed: bool,
    display_always: bool,
) {
    let fields_entity = if entity == "TicketWebhooks" {
        "TicketWebhookFields"
    } else {
        "TicketNoteWebhookFields"
    };
    let id = field_id(sim, fields_entity, name).await;
    let body = json!({ "fieldID": id, "isSubscribedField": subscribed, "isDisplayAlwaysField": display_always });
    let response = sim
        .nw(Method::POST, &format!("{entity}/{webhook}/Fields"))
        .json(&body)
        .send()
        .await
        .unwrap();
    expect_ok(response).await;
}

fn ticket(title: &str) -> Value {
    json!({ "companyID": NORTHWIND_CUSTOMER_COMPANY, "title": title, "status": 1, "priority": 2,
            "queueID": 29683354, "description": "Created by a webhook test" })
}

async fn create_ticket(sim: &TestSim, body: Value) -> i64 {
    expect_ok(
        sim.nw(Method::POST, "Tickets")
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await["itemId"]
        .as_i64()
        .unwrap()
}

async fn patch_ticket(sim: &TestSim, id: i64, mut changes: Value) {
    changes["id"] = json!(id);
    expect_ok(
        sim.nw(Method::PATCH, "Tickets")
            .json(&changes)
            .send()
            .await
            .unwrap(),
    )
    .await;
}

async fn deliveries(sim: &TestSim) -> Vec<Value> {
    let url = format!("{}/_sim/webhooks/deliveries", sim.base());
    expect_ok(sim.client.get(url).send().await.unwrap()).await["deliveries"]
        .as_array()
        .unwrap()
        .clone()
}

fn api_resource(sim: &TestSim) -> i64 {
    sim.sim()
        .api_user_resource_id(NORTHWIND, NORTHWIND_USER)
        .unwrap()
}

#[tokio::test]
async fn a_ticket_created_through_the_api_sends_a_correctly_signed_create_callout() {
    let sim = TestSim::start().await;
    let mut receiver = Receiver::start().await;
    let webhook = create_webhook(
        &sim,
        "TicketWebhooks",
        webhook_body(&receiver, "Fusion tickets", true, true),
    )
    .await;
    assert_eq!(
        get_webhook(&sim, "TicketWebhooks", webhook).await["isReady"],
        json!(false),
        "no fields yet"
    );
    add_field(&sim, "TicketWebhooks", webhook, "title", true, false).await;
    add_field(&sim, "TicketWebhooks", webhook, "status", false, true).await;
    let config = get_webhook(&sim, "TicketWebhooks", webhook).await;
    assert_eq!(config["isReady"], json!(true));

    // Non-ASCII and HTML-ish characters: the signature must hold over the exact bytes sent.
    let title = "Café printer <jammed> & \"stuck\" ☕";
    let id = create_ticket(&sim, ticket(title)).await;
    let callout = receiver.next().await;
    assert_eq!(callout.path, "/hook");
    assert_signed(&callout);
    let payload = &callout.json;
    assert_eq!(payload["Guid"], config["webhookGUID"]);
    assert_eq!(payload["EntityType"], "Ticket");
    assert_eq!(payload["Id"], json!(id));
    assert_eq!(payload["Action"], "Create");
    assert_eq!(payload["Fields"], json!({ "title": title, "status": 1 }));
    assert_eq!(payload["PersonID"], json!(api_resource(&sim)));
    assert!(
        payload["SequenceNumber"]
            .as_u64()
            .is_some_and(|sequence| sequence > 0),
        "{payload}"
    );
    let event_time = payload["EventTime"].as_str().unwrap();
    assert!(
        event_time.len() == 23 && !event_time.ends_with('Z'),
        "wire date without Z: {event_time}"
    );
}

#[tokio::test]
async fn adding_a_note_sends_a_signed_ticket_note_create_callout() {
    let sim = TestSim::start().await;
    let mut receiver = Receiver::start().await;
    let webhook = create_webhook(
        &sim,
        "TicketNoteWebhooks",
        webhook_body(&receiver, "Fusion notes", true, false),
    )
    .await;
    add_field(
        &sim,
        "TicketNoteWebhooks",
        webhook,
        "description",
        true,
        false,
    )
    .await;
    add_field(&sim, "TicketNoteWebhooks", webhook, "ticketID", false, true).await;

    let note = json!({ "title": "Update", "description": "Replaced the fuser", "noteType": 1, "publish": 1 });
    let response = sim
        .nw(Method::POST, &format!("Tickets/{PRINTER_TICKET}/Notes"))
        .json(&note)
        .send()
        .await
        .unwrap();
    let note_id = expect_ok(response).await["itemId"].as_i64().unwrap();

    let callout = receiver.next().await;
    assert_signed(&callout);
    assert_eq!(callout.json["EntityType"], "TicketNote");
    assert_eq!(callout.json["Action"], "Create");
    assert_eq!(callout.json["Id"], json!(note_id));
    assert_eq!(
        callout.json["Fields"],
        json!({ "description": "Replaced the fuser", "ticketID": PRINTER_TICKET })
    );
}

#[tokio::test]
async fn an_update_carries_only_subscribed_changed_fields_and_display_always_fields() {
    let sim = TestSim::start().await;
    let mut receiver = Receiver::start().await;
    let webhook = create_webhook(
        &sim,
        "TicketWebhooks",
        webhook_body(&receiver, "Status changes", false, true),
    )
    .await;
    add_field(&sim, "TicketWebhooks", webhook, "status", true, false).await;
    add_field(&sim, "TicketWebhooks", webhook, "priority", true, false).await;
    add_field(&sim, "TicketWebhooks", webhook, "title", false, true).await;

    // Neither a create (not subscribed) nor a change to an unsubscribed field sends anything.
    let id = create_ticket(&sim, ticket("Monitor flickers")).await;
    patch_ticket(
        &sim,
        id,
        json!({ "description": "Only the description changes" }),
    )
    .await;
    patch_ticket(&sim, id, json!({ "status": 8, "description": "And again" })).await;

    // Callouts of one webhook arrive in order, so the first one is the status change.
    let callout = receiver.next().await;
    assert_signed(&callout);
    assert_eq!(callout.json["Action"], "Update");
    assert_eq!(callout.json["Id"], json!(id));
    assert_eq!(
        callout.json["Fields"],
        json!({ "status": 8, "title": "Monitor flickers" })
    );
}

#[tokio::test]
async fn changes_by_an_excluded_resource_send_nothing() {
    let sim = TestSim::start().await;
    let mut receiver = Receiver::start().await;
    let webhook = create_webhook(
        &sim,
        "TicketWebhooks",
        webhook_body(&receiver, "Not my own writes", true, false),
    )
    .await;
    add_field(&sim, "TicketWebhooks", webhook, "title", true, false).await;
    let excluded = json!({ "resourceID": api_resource(&sim) });
    let response = sim
        .nw(
            Method::POST,
            &format!("TicketWebhooks/{webhook}/ExcludedResources"),
        )
        .json(&excluded)
        .send()
        .await
        .unwrap();
    expect_ok(response).await;

    create_ticket(&sim, ticket("Written by the integration")).await;
    let jane = sim
        .sim()
        .resource_id(NORTHWIND, "jane.doe@northwindit.example")
        .unwrap();
    let response = sim
        .nw(Method::POST, "Tickets")
        .header("ImpersonationResourceId", jane.to_string())
        .json(&ticket("Written by Jane"))
        .send()
        .await
        .unwrap();
    let janes_ticket = expect_ok(response).await["itemId"].as_i64().unwrap();

    let callout = receiver.next().await;
    assert_eq!(
        callout.json["Id"],
        json!(janes_ticket),
        "the excluded resource's ticket was not sent first"
    );
    assert_eq!(callout.json["PersonID"], json!(jane));
    assert_eq!(
        callout.json["Fields"],
        json!({ "title": "Written by Jane" })
    );
}

#[tokio::test]
async fn a_failing_receiver_is_retried_until_it_answers_2xx() {
    let sim = TestSim::start().await;
    let mut receiver = Receiver::start().await;
    receiver.fail_next(2);
    let webhook = create_webhook(
        &sim,
        "TicketWebhooks",
        webhook_body(&receiver, "Flaky receiver", true, false),
    )
    .await;
    add_field(&sim, "TicketWebhooks", webhook, "title", true, false).await;

    let first = create_ticket(&sim, ticket("Retried")).await;
    let attempts = [
        receiver.next().await,
        receiver.next().await,
        receiver.next().await,
    ];
    assert_eq!(
        attempts
            .iter()
            .map(|attempt| attempt.answered)
            .collect::<Vec<_>>(),
        [500, 500, 200]
    );
    for attempt in &attempts {
        assert_eq!(
            attempt.body, attempts[0].body,
            "every attempt sends the same bytes"
        );
        assert_signed(attempt);
        assert_eq!(attempt.json["Id"], json!(first));
    }
    // A later event arrives only after the first one is finished.
    let second = create_ticket(&sim, ticket("After the retries")).await;
    assert_eq!(receiver.next().await.json["Id"], json!(second));

    let sequence = attempts[0].json["SequenceNumber"].clone();
    let record: Vec<(u64, String, Value)> = deliveries(&sim)
        .await
        .into_iter()
        .filter(|delivery| {
            delivery["webhook_id"] == json!(webhook) && delivery["sequence_number"] == sequence
        })
        .map(|delivery| {
            (
                delivery["attempt"].as_u64().unwrap(),
                delivery["outcome"].as_str().unwrap().to_owned(),
                delivery["status"].clone(),
            )
        })
        .collect();
    assert_eq!(
        record,
        [
            (1, "failed".to_owned(), json!(500)),
            (2, "failed".to_owned(), json!(500)),
            (3, "delivered".to_owned(), json!(200))
        ]
    );
}

#[tokio::test]
async fn five_failed_attempts_drop_the_event_into_the_error_log() {
    let sim = TestSim::start().await;
    let mut receiver = Receiver::start().await;
    receiver.fail_next(5);
    let webhook = create_webhook(
        &sim,
        "TicketWebhooks",
        webhook_body(&receiver, "Down receiver", true, false),
    )
    .await;
    add_field(&sim, "TicketWebhooks", webhook, "title", true, false).await;

    let dropped = create_ticket(&sim, ticket("Never delivered")).await;
    let mut attempts = Vec::new();
    for _ in 0..5 {
        attempts.push(receiver.next().await);
    }
    assert!(
        attempts
            .iter()
            .all(|attempt| attempt.answered == 500 && attempt.json["Id"] == json!(dropped))
    );
    // The next event is delivered, and only after the dropped one was logged.
    let next = create_ticket(&sim, ticket("Delivered")).await;
    let delivered = receiver.next().await;
    assert_eq!(
        (delivered.json["Id"].clone(), delivered.answered),
        (json!(next), 200),
        "no sixth attempt"
    );

    let query = json!({ "filter": [{ "op": "exist", "field": "id" }] });
    let logs = expect_ok(
        sim.nw(Method::POST, "WebhookEventErrorLogs/query")
            .json(&query)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let items = logs["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{logs}");
    let entry = &items[0];
    assert_eq!(
        entry["payload"].as_str().unwrap().as_bytes(),
        attempts[0].body.as_slice()
    );
    assert_eq!(entry["sequenceNumber"], attempts[0].json["SequenceNumber"]);
    assert!(
        entry["errorMessage"].as_str().unwrap().contains("HTTP 500"),
        "{entry}"
    );
    assert!(entry["createDateTime"].is_string());
    let last_attempt = deliveries(&sim)
        .await
        .into_iter()
        .find(|delivery| delivery["entity_id"] == json!(dropped) && delivery["attempt"] == json!(5))
        .expect("the fifth attempt is recorded");
    assert_eq!(last_attempt["outcome"], "dropped");
    let id = entry["id"].as_i64().unwrap();
    let count = json!({ "filter": [{ "op": "eq", "field": "id", "value": id }] });
    let counted = expect_ok(
        sim.nw(Method::POST, "WebhookEventErrorLogs/query/count")
            .json(&count)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(counted, json!({ "queryCount": 1 }));
}

#[tokio::test]
async fn twenty_five_failed_events_deactivate_the_webhook_and_call_its_deactivation_url() {
    let sim = TestSim::with_options(SimOptions {
        webhook_time_scale: 0.0002,
        ..SimOptions::for_tests()
    })
    .await;
    let mut receiver = Receiver::start().await;
    receiver.fail_always();
    let webhook = create_webhook(
        &sim,
        "TicketWebhooks",
        webhook_body(&receiver, "Dead receiver", false, true),
    )
    .await;
    add_field(&sim, "TicketWebhooks", webhook, "title", true, false).await;

    let id = create_ticket(&sim, ticket("Renamed often")).await;
    for round in 0..25 {
        patch_ticket(&sim, id, json!({ "title": format!("Renamed {round}") })).await;
    }
    let mut callouts = 0;
    let notice = loop {
        let received = receiver.next().await;
        if received.path == "/deactivated" {
            break received;
        }
        callouts += 1;
    };
    assert_eq!(callouts, 25 * 5, "five attempts for each of the 25 events");
    assert_signed(&notice);
    let config = get_webhook(&sim, "TicketWebhooks", webhook).await;
    assert_eq!(notice.json["Guid"], config["webhookGUID"]);
    assert_eq!(notice.json["Action"], "Deactivated");
    assert_eq!(config["isActive"], json!(false));
    let query = json!({ "filter": [{ "op": "gt", "field": "id", "value": 0 }] });
    let counted = expect_ok(
        sim.nw(Method::POST, "WebhookEventErrorLogs/query/count")
            .json(&query)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(counted, json!({ "queryCount": 25 }));
}

#[tokio::test]
async fn deactivating_or_deleting_a_webhook_through_the_api_calls_its_deactivation_url() {
    let sim = TestSim::start().await;
    let mut receiver = Receiver::start().await;
    let paused = create_webhook(
        &sim,
        "TicketWebhooks",
        webhook_body(&receiver, "Paused", true, true),
    )
    .await;
    let deleted = create_webhook(
        &sim,
        "TicketNoteWebhooks",
        webhook_body(&receiver, "Deleted", true, true),
    )
    .await;
    add_field(
        &sim,
        "TicketNoteWebhooks",
        deleted,
        "description",
        true,
        false,
    )
    .await;

    let response = sim
        .nw(Method::PATCH, "TicketWebhooks")
        .json(&json!({ "id": paused, "isActive": false }))
        .send()
        .await
        .unwrap();
    expect_ok(response).await;
    let notice = receiver.next_on("/deactivated").await;
    assert_eq!(notice.json["Id"], json!(paused));
    assert_eq!(notice.json["EntityType"], "Ticket");
    assert_signed(&notice);

    let response = sim
        .nw(Method::DELETE, &format!("TicketNoteWebhooks/{deleted}"))
        .send()
        .await
        .unwrap();
    assert_eq!(expect_ok(response).await, json!({ "itemId": deleted }));
    let notice = receiver.next_on("/deactivated").await;
    assert_eq!(
        (notice.json["Id"].clone(), notice.json["EntityType"].clone()),
        (json!(deleted), json!("TicketNote"))
    );
    let gone = sim
        .nw(Method::GET, &format!("TicketNoteWebhooks/{deleted}"))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
    let children = expect_ok(
        sim.nw(Method::POST, "TicketNoteWebhookFields/query")
            .json(&json!({ "filter": [{ "op": "exist", "field": "id" }] }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        children["items"],
        json!([]),
        "a deleted webhook's fields go with it"
    );
}

#[tokio::test]
async fn webhooks_without_urls_or_with_overlong_values_are_refused_with_vendor_errors() {
    let sim = TestSim::start().await;
    let response = sim
        .nw(Method::POST, "TicketWebhooks")
        .json(&json!({ "name": "No URLs", "isActive": true }))
        .send()
        .await
        .unwrap();
    let body = expect_error(response, 500, "webhookUrl is required").await;
    assert_eq!(
        body,
        json!({ "errors": ["deactivationUrl is required", "webhookUrl is required"] })
    );

    let long = json!({
        "name": "n".repeat(51), "webhookUrl": format!("https://example.test/{}", "a".repeat(500)),
        "deactivationUrl": "https://example.test/off", "secretKey": "k".repeat(65),
    });
    let response = sim
        .nw(Method::POST, "TicketWebhooks")
        .json(&long)
        .send()
        .await
        .unwrap();
    let body = expect_error(response, 500, "(field:name)").await;
    let errors: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| error.as_str().unwrap())
        .collect();
    assert!(
        errors.contains(&"String value exceeds maximum length (field:secretKey)"),
        "{errors:?}"
    );
    assert!(
        errors.contains(&"String value exceeds maximum length (field:webhookUrl)"),
        "{errors:?}"
    );

    let response = sim
        .nw(Method::POST, "TicketWebhooks/999999/Fields")
        .json(&json!({ "fieldID": 1, "isSubscribedField": true }))
        .send()
        .await
        .unwrap();
    expect_error(
        response,
        500,
        "Value does not reference an existing entity for webhookID.",
    )
    .await;
    let query = json!({ "filter": [{ "op": "exist", "field": "id" }] });
    let counted = expect_ok(
        sim.nw(Method::POST, "TicketWebhooks/query/count")
            .json(&query)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(counted, json!({ "queryCount": 0 }), "nothing was stored");
}

#[tokio::test]
async fn webhook_configuration_is_queryable_and_read_only_fields_stay_read_only() {
    let sim = TestSim::start().await;
    let receiver = Receiver::start().await;
    let mut body = webhook_body(&receiver, "Queried", true, false);
    body["webhookGUID"] = json!("caller-chosen");
    body["isReady"] = json!(true);
    let webhook = create_webhook(&sim, "TicketWebhooks", body).await;
    let config = get_webhook(&sim, "TicketWebhooks", webhook).await;
    assert_ne!(config["webhookGUID"], "caller-chosen");
    assert_eq!(config["webhookGUID"].as_str().unwrap().len(), 36);
    assert_eq!(config["isReady"], json!(false));
    assert_eq!(config["ownerResourceID"], json!(api_resource(&sim)));

    let response = sim
        .nw(Method::POST, &format!("TicketWebhooks/{webhook}/Fields"))
        .json(&json!({ "fieldID": 99999, "isSubscribedField": true }))
        .send()
        .await
        .unwrap();
    expect_error(
        response,
        500,
        "Picklist value [99999] does not exist for fieldID.",
    )
    .await;
    add_field(&sim, "TicketWebhooks", webhook, "title", true, true).await;
    let children = expect_ok(
        sim.nw(Method::GET, &format!("ticketwebhooks/{webhook}/fields"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let title = field_id(&sim, "TicketWebhookFields", "title").await;
    assert_eq!(
        children["items"][0]["fieldID"],
        json!(title),
        "paths are case-insensitive"
    );
    assert_eq!(children["items"][0]["webhookID"], json!(webhook));

    let query = json!({ "filter": [{ "op": "eq", "field": "isReady", "value": true },
                                   { "op": "beginsWith", "field": "name", "value": "que" }], "includeFields": ["id", "name"] });
    let found = expect_ok(
        sim.nw(Method::POST, "TicketWebhooks/query")
            .json(&query)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        found["items"],
        json!([{ "id": webhook, "name": "Queried" }])
    );
    let info = expect_ok(
        sim.nw(Method::GET, "TicketWebhooks/entityInformation/fields")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let secret = info["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|field| field["name"] == "secretKey")
        .unwrap();
    assert_eq!(secret["length"], json!(64));
    let unauthenticated = sim
        .client
        .get(sim.url(2, "TicketWebhooks/entityInformation"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), 401);
}

#[tokio::test]
async fn a_subscribed_user_defined_field_change_is_sent_under_its_name() {
    let world_file = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/world.toml");
    let world = fusion_autotask_sim::World::from_file(world_file).expect("example world loads");
    let sim = TestSim::with(world, SimOptions::for_tests()).await;
    let acme = Credentials {
        integration_code: "EXAMPLEINTEGRATIONCODE00001".to_owned(),
        ..sim.credentials("Acme Widgets", "Q4T7ZK2LMW9XPRD@ACMEWIDGETS.EXAMPLE")
    };
    let acme_call = |method: Method, path: &str| sim.authed(method, &sim.url(3, path), &acme);
    let mut receiver = Receiver::start().await;
    let response = acme_call(Method::POST, "TicketWebhooks")
        .json(&webhook_body(&receiver, "Customer references", false, true))
        .send()
        .await
        .unwrap();
    let webhook = expect_ok(response).await["itemId"].as_i64().unwrap();
    let info = acme_call(
        Method::GET,
        "TicketWebhookUdfFields/entityInformation/fields",
    )
    .send()
    .await
    .unwrap();
    let info = expect_ok(info).await;
    let column = info["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|field| field["name"] == "udfFieldID")
        .unwrap();
    let udf_id: i64 = column["picklistValues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|value| value["label"] == "Customer Reference")
        .expect("the tenant's UDF is in the picklist")["value"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let udf_field =
        json!({ "udfFieldID": udf_id, "isSubscribedField": true, "isDisplayAlwaysField": false });
    let response = acme_call(Method::POST, &format!("TicketWebhooks/{webhook}/UdfFields"))
        .json(&udf_field)
        .send()
        .await
        .unwrap();
    expect_ok(response).await;

    // A title change is not subscribed; the UDF change is.
    let rename = json!({ "id": 1001, "title": "Label printer still offline" });
    expect_ok(
        acme_call(Method::PATCH, "Tickets")
            .json(&rename)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let udf_change = json!({ "id": 1001, "userDefinedFields": [{ "name": "Customer Reference", "value": "ACME-2" }] });
    expect_ok(
        acme_call(Method::PATCH, "Tickets")
            .json(&udf_change)
            .send()
            .await
            .unwrap(),
    )
    .await;

    let callout = receiver.next().await;
    assert_signed(&callout);
    assert_eq!(callout.json["Id"], json!(1001));
    assert_eq!(
        callout.json["Fields"],
        json!({ "Customer Reference": "ACME-2" })
    );
}

#[tokio::test]
async fn a_receiver_that_never_answers_times_out_and_the_callout_is_retried() {
    let sim = TestSim::start().await;
    let mut receiver = Receiver::start().await;
    receiver.hang_once();
    let webhook = create_webhook(
        &sim,
        "TicketWebhooks",
        webhook_body(&receiver, "Slow receiver", true, false),
    )
    .await;
    add_field(&sim, "TicketWebhooks", webhook, "title", true, false).await;

    let id = create_ticket(&sim, ticket("Timed out once")).await;
    let first = receiver.next().await;
    let second = receiver.next().await;
    assert_eq!((first.answered, second.answered), (0, 200));
    assert_eq!(first.body, second.body);
    assert_eq!(second.json["Id"], json!(id));
    // Another event is delivered only after the retried one finished, so its attempts are recorded by then.
    let later = create_ticket(&sim, ticket("Later")).await;
    assert_eq!(receiver.next().await.json["Id"], json!(later));
    let attempts: Vec<Value> = deliveries(&sim)
        .await
        .into_iter()
        .filter(|delivery| delivery["entity_id"] == json!(id))
        .collect();
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert_eq!(attempts[0]["outcome"], "failed");
    assert!(
        attempts[0]["error"].as_str().unwrap().contains("timed out"),
        "{}",
        attempts[0]
    );
    assert_eq!(attempts[0]["status"], Value::Null);
    assert_eq!(attempts[1]["outcome"], "delivered");
}
