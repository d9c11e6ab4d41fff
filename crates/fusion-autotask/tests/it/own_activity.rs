//! The listing of changed tickets leaves out our own activity before a bound
//! (`ChangedTicketsQuery::own_activity_listed`) and nothing else: a person's activity, a
//! contact's (no `lastActivityResourceID`) and our own at or after the bound stay listed.

use fusion_autotask_sim::EntityKind;
use fusion_domain::sync::{FieldChange, FieldValue, TicketId};
use fusion_engine::{ChangedTicketsQuery, OwnActivityListed, Platform};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::platform::platform_for;
use crate::{CONTOSO, Harness};

#[tokio::test]
async fn the_listing_leaves_out_only_our_own_activity_before_the_bound() {
    let harness = Harness::demo().await;
    let simulator = harness.simulator();
    let platform = platform_for(&harness, CONTOSO).await;
    let own = platform.own_actor().await.expect("own actor");
    let mut seeded: Vec<Value> = simulator.records(CONTOSO, EntityKind::Tickets);
    seeded.sort_by_key(|ticket| ticket["id"].as_i64());
    let [ours_before, ours_at_bound, persons, ..] = seeded.as_slice() else {
        panic!("the demo tenant has three tickets");
    };
    let id = |ticket: &Value| ticket["id"].as_i64().expect("id");
    // Before the bound: a person's edit and a contact's portal ticket…
    simulator
        .ui_update_ticket(
            CONTOSO,
            "alex.morgan@contoso.example",
            id(persons),
            json!({ "priority": 4 }),
        )
        .expect("a person's edit");
    let contacts = simulator
        .ui_create_ticket_as_contact(
            CONTOSO,
            "chris.green@northwindit.example",
            json!({
                "title": "Portal ticket", "description": "From the portal",
                "companyID": persons["companyID"], "status": 1, "priority": 2,
                "queueID": persons["queueID"],
            }),
        )
        .expect("a contact's ticket");
    // …then two writes of ours, the bound being the later one's activity.
    for (ticket, title) in [(ours_before, "Ours, before"), (ours_at_bound, "Ours, at")] {
        platform
            .update_ticket(
                &TicketId::from(id(ticket)),
                &[FieldChange {
                    field: "title".to_owned(),
                    value: FieldValue::text(title),
                }],
            )
            .await
            .expect("our write");
    }
    let bound = platform
        .ticket(&TicketId::from(id(ours_at_bound)))
        .await
        .expect("read")
        .expect("exists")
        .last_activity_at;

    let listed = |own_activity_listed: Option<OwnActivityListed>| {
        let platform = &platform;
        async move {
            let page = platform
                .changed_tickets(&ChangedTicketsQuery {
                    since: OffsetDateTime::now_utc() - time::Duration::hours(24),
                    after: None,
                    page_size: 500,
                    own_activity_listed,
                })
                .await
                .expect("a page");
            let mut ids: Vec<i64> = page
                .tickets
                .iter()
                .map(|ticket| ticket.id.as_str().parse().expect("numeric"))
                .collect();
            ids.sort_unstable();
            ids
        }
    };
    let everything = listed(None).await;
    let mut expected = vec![id(ours_at_bound), id(persons), contacts];
    expected.sort_unstable();
    assert_eq!(
        listed(Some(OwnActivityListed {
            actor: own,
            before: bound,
        }))
        .await,
        expected,
        "everything listed without the bound: {everything:?}"
    );
    assert!(everything.contains(&id(ours_before)));
}
