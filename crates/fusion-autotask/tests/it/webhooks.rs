//! Setting up Autotask webhooks through the adapter against the simulator, and verifying the
//! callouts it then sends: created once and adopted by name after, signed (raw and .NET-escaped
//! forms), the sync's own changes not sent back, refused without the permission, removed.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use fusion_autotask::webhook_signature::{SignedForm, verify};
use fusion_autotask::webhooks::{
    WebhookSetupError, WebhookSpec, ensure_webhooks, remove_webhooks, webhooks_state,
};
use fusion_autotask_sim::{SimOptions, World};
use serde_json::{Value, json};

use crate::{CONTOSO, Harness};

const SECRET: &str = "0123456789abcdef0123456789abcdef";
const PERSON: &str = "alex.morgan@contoso.example";

type Received = Arc<Mutex<Vec<(Option<String>, Vec<u8>)>>>;

/// A receiver on a free loopback port: every POST body with its signature header.
async fn receiver() -> (String, Received) {
    let received: Received = Arc::default();
    let app = Router::new()
        .route(
            "/hook",
            post(
                |State(received): State<Received>, headers: HeaderMap, body: Bytes| async move {
                    let signature = headers
                        .get("x-hook-signature")
                        .and_then(|value| value.to_str().ok())
                        .map(str::to_owned);
                    received.lock().unwrap().push((signature, body.to_vec()));
                    "ok"
                },
            ),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{address}/hook"), received)
}

fn spec(url: &str, excluded: Option<i64>) -> WebhookSpec {
    WebhookSpec {
        name: "Support Fusion (test)".into(),
        url: url.to_owned(),
        deactivation_url: format!("{url}/deactivated"),
        secret_key: SECRET.into(),
        excluded_resource: excluded,
    }
}

fn company(harness: &Harness, name: &str) -> i64 {
    harness
        .simulator()
        .records(CONTOSO, fusion_autotask_sim::EntityKind::Companies)
        .into_iter()
        .find(|company| company["companyName"] == name)
        .and_then(|company| company["id"].as_i64())
        .expect("company")
}

fn raise(harness: &Harness, title: &str) -> i64 {
    harness
        .simulator()
        .ui_create_ticket(
            CONTOSO,
            PERSON,
            json!({
                "title": title, "description": "d",
                "companyID": company(harness, "Northwind IT"),
                "status": 1, "priority": 2, "queueID": 30100001,
            }),
        )
        .expect("raised")
}

async fn wait_for(received: &Received, count: usize) -> Vec<(Option<String>, Value, Vec<u8>)> {
    for _ in 0..500 {
        let now = received.lock().unwrap().clone();
        if now.len() >= count {
            return now
                .into_iter()
                .map(|(signature, body)| {
                    let json = serde_json::from_slice(&body).unwrap();
                    (signature, json, body)
                })
                .collect();
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!(
        "{count} callouts did not arrive: {:?}",
        received.lock().unwrap().len()
    );
}

#[tokio::test]
async fn webhooks_are_created_once_signed_and_do_not_echo_our_own_changes() {
    let harness = Harness::demo().await;
    let client = harness.client_for(CONTOSO);
    let (url, received) = receiver().await;
    let own = {
        use fusion_engine::Platform as _;
        let platform = fusion_autotask::platform::AutotaskPlatform::connect(
            client.clone(),
            fusion_autotask::choices::load_choices(&client)
                .await
                .expect("choices"),
        )
        .await
        .expect("platform");
        platform.own_actor().await.expect("own actor")
    };
    let own_resource: i64 = own.as_str().parse().expect("a resource id");
    let first = ensure_webhooks(&client, &spec(&url, Some(own_resource)))
        .await
        .expect("set up");
    assert!(first.healthy(), "{first:?}");
    let again = ensure_webhooks(&client, &spec(&url, Some(own_resource)))
        .await
        .expect("adopted");
    assert_eq!(
        again.ticket.id, first.ticket.id,
        "adopted by name, not duplicated"
    );
    assert_eq!(again.note.id, first.note.id);

    // A person raises a ticket and adds a note: both webhooks call, signed with our key.
    let ticket = raise(&harness, "Signed & delivered");
    harness
        .simulator()
        .ui_add_note(
            CONTOSO,
            PERSON,
            ticket,
            json!({"title": "n", "description": "a note", "noteType": 1, "publish": 1}),
        )
        .expect("note");
    let callouts = wait_for(&received, 2).await;
    for (signature, json, body) in &callouts {
        assert_eq!(
            verify(SECRET, body, signature.as_deref()),
            Some(SignedForm::Raw),
            "{json}"
        );
        assert_eq!(verify("wrong", body, signature.as_deref()), None);
    }
    let note = callouts
        .iter()
        .find(|(_, json, _)| json["EntityType"] == "TicketNote")
        .expect("a note callout");
    assert_eq!(
        note.1["Fields"]["ticketID"], ticket,
        "the note names its ticket"
    );
    assert!(
        callouts
            .iter()
            .any(|(_, json, _)| json["EntityType"] == "Ticket" && json["Id"] == ticket)
    );

    // The sync's own write (as the API user) is not sent back.
    let before = received.lock().unwrap().len();
    client
        .create_child(
            "Tickets",
            ticket,
            "Notes",
            &json!({"title": "ours", "description": "written by the sync", "noteType": 1, "publish": 1, "ticketID": ticket}),
        )
        .await
        .expect("note by the API user");
    raise(&harness, "after our own note");
    wait_for(&received, before + 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let after: Vec<Value> = received
        .lock()
        .unwrap()
        .iter()
        .skip(before)
        .map(|(_, body)| serde_json::from_slice(body).unwrap())
        .collect();
    assert!(
        after
            .iter()
            .all(|json| json["Fields"]["description"] != "written by the sync"),
        "{after:#?}"
    );

    remove_webhooks(&client, "Support Fusion (test)")
        .await
        .expect("removed");
    assert_eq!(
        webhooks_state(&client, "Support Fusion (test)")
            .await
            .expect("read"),
        None
    );
}

#[tokio::test]
async fn a_callout_signed_over_the_dotnet_escaped_body_verifies_as_such() {
    let options = SimOptions {
        webhook_sign_dotnet_escaped: true,
        ..SimOptions::for_tests()
    };
    let harness = Harness::with(World::demo(), options).await;
    let client = harness.client_for(CONTOSO);
    let (url, received) = receiver().await;
    ensure_webhooks(&client, &spec(&url, None))
        .await
        .expect("set up");
    let ticket = raise(&harness, "Printer");
    harness
        .simulator()
        .ui_add_note(
            CONTOSO,
            PERSON,
            ticket,
            json!({"title": "n", "description": "Drucker & Scanner — kaputt", "noteType": 1, "publish": 1}),
        )
        .expect("note");
    let callouts = wait_for(&received, 2).await;
    let (signature, _, body) = callouts
        .iter()
        .find(|(_, json, _)| json["EntityType"] == "TicketNote")
        .expect("the note's callout");
    assert_eq!(
        verify(SECRET, body, signature.as_deref()),
        Some(SignedForm::DotNetEscaped)
    );
}

#[tokio::test]
async fn without_the_webhook_permission_setup_says_how_to_enable_it() {
    let harness = Harness::demo().await;
    let (username, _) = harness.active_user(CONTOSO);
    assert!(
        harness
            .simulator()
            .set_webhook_permission(CONTOSO, &username, false)
    );
    let client = harness.client_for(CONTOSO);
    let refused = ensure_webhooks(&client, &spec("http://127.0.0.1:9/hook", None)).await;
    let Err(WebhookSetupError::NotPermitted(_)) = &refused else {
        panic!("{refused:?}");
    };
    let message = refused.unwrap_err().to_string();
    assert!(message.contains("Can create WebHooks"), "{message}");
}
