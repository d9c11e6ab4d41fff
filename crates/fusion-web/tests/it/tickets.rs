//! The Tickets API and page of a connection, and repairs through them: both organisations see it,
//! nobody else; a repair is a run recorded with who asked; wrong input gets a specific 422.

use serde_json::{Value, json};

use crate::sync::{SyncApp, assert_matches_schema, minutes_ago};

const NORTHWIND: &str = "Northwind IT";

async fn first_run(app: &mut SyncApp) {
    let runs_api = format!("{}/runs", app.sync_api());
    let started = app
        .alice
        .post_json(&runs_api, &json!({"since": minutes_ago(5)}))
        .await;
    assert_eq!(started.status, 202, "{}", started.body);
    let run_id = started.json()["run"]["id"].as_str().unwrap().to_owned();
    let details = app.finished_run(&run_id).await;
    assert_eq!(
        details["run"]["started_by"], "alice@contoso.example",
        "{details:#}"
    );
    app.wait_until_ready().await;
}

fn tickets_api(app: &SyncApp) -> String {
    app.alice_api(&format!("/relationships/{}/tickets", app.relationship))
}

#[tokio::test]
async fn both_organisations_list_the_tickets_search_them_and_repair_them() {
    let mut app = SyncApp::spawn().await;
    let raised = app.raise_in_contoso("Conveyor belt squeaks");
    app.raise_in_contoso("Badge printer empty");
    first_run(&mut app).await;

    let list = app.alice.get(&tickets_api(&app)).await;
    assert_eq!(list.status, 200, "{}", list.body);
    let list = list.json();
    assert_matches_schema(&list, "TicketList");
    let tickets = list["tickets"].as_array().unwrap();
    assert_eq!(tickets.len(), 2, "{list:#}");
    let belt = tickets
        .iter()
        .find(|ticket| ticket["title"] == "Conveyor belt squeaks")
        .expect("listed with its title");
    assert_eq!(belt["state"], "in_sync");
    assert_eq!(belt["source"]["ticket_id"], raised.to_string());
    let url = belt["target"]["url"]
        .as_str()
        .expect("a link into Northwind's Autotask");
    assert!(
        url.starts_with("https://ww")
            && url.contains("TicketDetail.mvc")
            && url.contains("ticketId="),
        "{url}"
    );

    // Search by title words and by the number people know.
    let by_words = app
        .alice
        .get(&format!("{}?search=BELT%20conveyor", tickets_api(&app)))
        .await
        .json();
    assert_eq!(
        by_words["tickets"].as_array().unwrap().len(),
        1,
        "{by_words:#}"
    );
    let number = belt["target"]["ticket_number"].as_str().unwrap().to_owned();
    let by_number = app
        .alice
        .get(&format!("{}?search={number}", tickets_api(&app)))
        .await
        .json();
    assert_eq!(by_number["tickets"][0]["title"], "Conveyor belt squeaks");
    let none = app
        .alice
        .get(&format!("{}?state=needs_attention", tickets_api(&app)))
        .await
        .json();
    assert_eq!(none["tickets"], json!([]));

    // The partner sees the same connection's tickets through its own organisation.
    let bob_api = format!(
        "/api/v1/orgs/{}/relationships/{}/tickets",
        app.app.bob.org.id, app.relationship
    );
    let bob_list = app.bob.get(&bob_api).await;
    assert_eq!(bob_list.status, 200, "{}", bob_list.body);
    assert_eq!(bob_list.json()["tickets"].as_array().unwrap().len(), 2);
    // Another organisation's path, or a connection that does not exist: 404.
    assert_eq!(app.alice.get(&bob_api).await.status, 404);
    let unknown = app.alice_api(&format!(
        "/relationships/{}/tickets",
        fusion_domain::RelationshipId::new()
    ));
    assert_eq!(app.alice.get(&unknown).await.status, 404);

    // Resync through the API: a repair run, recorded with who asked.
    let repair_api = format!("{}/repair", tickets_api(&app));
    let resynced = app
        .bob
        .post_json(
            &format!(
                "/api/v1/orgs/{}/relationships/{}/tickets/repair",
                app.app.bob.org.id, app.relationship
            ),
            &json!({"action": "resync", "side": "source", "ticket": raised.to_string()}),
        )
        .await;
    assert_eq!(resynced.status, 200, "{}", resynced.body);
    let resynced = resynced.json();
    assert_matches_schema(&resynced, "SyncRunDetails");
    assert_eq!(resynced["run"]["trigger"], "repair");
    assert_eq!(resynced["run"]["started_by"], "bob@northwind.example");
    let notes: Vec<&Value> = resynced["records"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|record| record["notes"].as_array().unwrap())
        .collect();
    assert!(
        notes
            .iter()
            .any(|note| note.as_str().unwrap().starts_with("Resync of ")),
        "{resynced:#}"
    );

    // Unlink, then it shows as unlinked; unlinking again is refused with the reason.
    let unlink = json!({"action": "unlink", "side": "source", "ticket": raised.to_string()});
    let unlinked = app.alice.post_json(&repair_api, &unlink).await;
    assert_eq!(unlinked.status, 200, "{}", unlinked.body);
    let again = app.alice.post_json(&repair_api, &unlink).await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert_eq!(again.json()["error"]["code"], "repair_refused");
    let unlinked_list = app
        .alice
        .get(&format!("{}?state=unlinked", tickets_api(&app)))
        .await
        .json();
    assert_eq!(unlinked_list["tickets"].as_array().unwrap().len(), 1);
    assert!(
        unlinked_list["tickets"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("alice@contoso.example"),
        "{unlinked_list:#}"
    );

    // Link it back by the numbers people know.
    let source_number = belt["source"]["ticket_number"].as_str().unwrap().to_owned();
    let linked = app
        .alice
        .post_json(
            &format!("{}/link", tickets_api(&app)),
            &json!({"source": source_number, "target": number}),
        )
        .await;
    assert_eq!(linked.status, 200, "{}", linked.body);
    let in_sync = app
        .alice
        .get(&format!("{}?state=in_sync", tickets_api(&app)))
        .await
        .json();
    assert_eq!(
        in_sync["tickets"].as_array().unwrap().len(),
        2,
        "{in_sync:#}"
    );
    let _ = NORTHWIND;
}

#[tokio::test]
async fn wrong_repair_requests_get_a_specific_answer() {
    let mut app = SyncApp::spawn().await;
    first_run(&mut app).await;
    let repair_api = format!("{}/repair", tickets_api(&app));
    for (body, field) in [
        (
            json!({"action": "explode", "side": "source", "ticket": "1"}),
            "action",
        ),
        (
            json!({"action": "retry", "side": "middle", "ticket": "1"}),
            "side",
        ),
        (
            json!({"action": "retry", "side": "source", "ticket": "T2026.1"}),
            "ticket",
        ),
        (
            json!({"action": "skip", "side": "source", "ticket": "1"}),
            "action",
        ),
    ] {
        let reply = app.alice.post_json(&repair_api, &body).await;
        assert_eq!(reply.status, 422, "{body}: {}", reply.body);
        assert_eq!(reply.json()["error"]["field"], field, "{}", reply.body);
    }
    let unknown = app
        .alice
        .post_json(
            &format!("{}/link", tickets_api(&app)),
            &json!({"source": "T19990101.0001", "target": "T19990101.0002"}),
        )
        .await;
    assert_eq!(unknown.status, 409, "{}", unknown.body);
    assert_eq!(unknown.json()["error"]["code"], "repair_not_found");
    let bad_state = app
        .alice
        .get(&format!("{}?state=broken", tickets_api(&app)))
        .await;
    assert_eq!(bad_state.status, 422, "{}", bad_state.body);
}

#[tokio::test]
async fn the_tickets_page_lists_the_connection_and_its_repairs_redirect_to_the_run() {
    let mut app = SyncApp::spawn().await;
    let raised = app.raise_in_contoso("Loading dock door stuck");
    first_run(&mut app).await;
    let org = app.app.alice.org.id;
    let page_url = format!("/orgs/{org}/sync/{}/tickets", app.relationship);
    let page = app.alice.get(&page_url).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("Loading dock door stuck"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Retry now"));
    let csrf = app.alice.csrf();
    let reply = app
        .alice
        .post_form(
            &format!("{page_url}/repair"),
            &[
                ("csrf_token", csrf.as_str()),
                ("action", "retry"),
                ("side", "source"),
                ("ticket", &raised.to_string()),
            ],
        )
        .await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    let location = reply.header("location").expect("redirected to the run");
    assert!(
        location.starts_with(&format!("/orgs/{org}/sync/runs/")),
        "{location}"
    );
    let run_page = app.alice.get(&location).await;
    assert!(
        run_page.body.contains("started by alice@contoso.example"),
        "{}",
        run_page.body
    );
    assert!(run_page.body.contains("Retry now of"), "{}", run_page.body);
}
