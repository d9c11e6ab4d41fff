//! Issue 16, finding 9: changes either side makes to what the two organisations share are
//! recorded — who, which organisation, what, when — and both sides see them; the partner's
//! pages say "changed by your partner".

use serde_json::json;

use crate::configuration::Connected;

#[tokio::test]
async fn a_mapping_change_by_one_side_is_in_both_sides_history_and_flagged_for_the_partner() {
    let connected = Connected::spawn().await;
    let (alice_org, bob_org) = (&connected.app.alice.org, &connected.app.bob.org);
    let mut alice = connected.alice().await;
    let created = alice
        .post_json(
            &connected.api(alice_org, "mappings"),
            &json!({"source_field": "queueID", "target_field": "queueID", "direction": "Source to target",
                     "values": [{"source": 30100001, "target": 29683354}]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);

    // Bob, the partner, is told on every configuration page.
    let mut bob = connected.bob().await;
    for tab in ["mappings", "configuration", "description"] {
        let page = bob.get(&connected.page(bob_org, tab)).await;
        assert_eq!(page.status, 200, "{tab}: {}", page.body);
        assert!(
            page.body
                .contains("Changed by your partner, Contoso Manufacturing"),
            "{tab}: {}",
            page.body
        );
        assert!(
            page.body.contains(
                "Added the field mapping queueID → queueID (Source to target) with 1 value mapping"
            ),
            "{tab}"
        );
    }
    // The history on Bob's configuration page names Alice and her organisation.
    let page = bob.get(&connected.page(bob_org, "configuration")).await;
    assert!(page.body.contains("Configuration history"), "{}", page.body);
    assert!(
        page.body
            .contains("changed by your partner, Contoso Manufacturing"),
        "{}",
        page.body
    );
    // Alice sees her own change in the history, without the partner note at the top.
    let page = alice.get(&connected.page(alice_org, "configuration")).await;
    assert!(
        page.body.contains("Added the field mapping queueID"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("Changed by your partner"),
        "{}",
        page.body
    );

    // Bob's own change then clears the note on his pages and flags it on Alice's.
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let deleted = bob
        .send_raw(
            reqwest::Method::DELETE,
            &format!("{}/{id}", connected.api(bob_org, "mappings")),
            None,
            "",
            &[],
        )
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    let page = alice.get(&connected.page(alice_org, "mappings")).await;
    assert!(
        page.body.contains("Changed by your partner, Northwind IT"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("Deleted the field mapping queueID"),
        "{}",
        page.body
    );
    let page = bob.get(&connected.page(bob_org, "mappings")).await;
    assert!(
        !page.body.contains("Changed by your partner"),
        "{}",
        page.body
    );
    connected.stop().await;
}

/// The same history through the API, for either side.
#[tokio::test]
async fn the_history_api_lists_both_sides_changes_for_either_side() {
    let connected = Connected::spawn().await;
    let (alice_org, bob_org) = (&connected.app.alice.org, &connected.app.bob.org);
    let mut alice = connected.alice().await;
    let created = alice
        .post_json(
            &connected.api(alice_org, "mappings"),
            &json!({"source_field": "queueID", "target_field": "queueID", "direction": "Both"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let mut bob = connected.bob().await;
    let history = bob
        .get(&connected.api(bob_org, "configuration/history"))
        .await;
    assert_eq!(history.status, 200, "{}", history.body);
    let entries = history.json()["entries"].as_array().unwrap().clone();
    let entry = entries
        .iter()
        .find(|entry| {
            entry["change"]
                .as_str()
                .unwrap_or_default()
                .starts_with("Added the field mapping queueID")
        })
        .unwrap_or_else(|| panic!("{entries:?}"));
    assert_eq!(entry["by"], "Test Person");
    assert_eq!(entry["by_partner"], "Contoso Manufacturing");
    let mine = alice
        .get(&connected.api(alice_org, "configuration/history"))
        .await
        .json();
    assert!(mine["entries"].as_array().unwrap().iter().any(|entry| {
        entry["by_partner"].is_null()
            && entry["change"]
                .as_str()
                .unwrap_or_default()
                .starts_with("Added")
    }));
    // Nobody outside the connection reads it.
    let outsider = connected
        .app
        .browser()
        .get(&connected.api(bob_org, "configuration/history"))
        .await;
    assert_eq!(outsider.status, 401);
    connected.stop().await;
}
