//! `AutotaskTenants`, the engine's `PlatformTenants` port, against the simulator: choices kept
//! ten minutes by the injected clock and never served to a caller with another secret, and the
//! ticket preview through the port keeping to the connection's company.

use std::sync::Arc;

use fusion_autotask::AutotaskTenants;
use fusion_autotask_sim::EntityKind;
use fusion_domain::{ChoiceValue, ManualClock};
use fusion_engine::{Freshness, PlatformTenants, PreviewTicket, TenantCredentials, TenantError};
use secrecy::SecretString;
use serde_json::json;

use crate::{CONTOSO, Harness};

fn credentials(harness: &Harness, tenant: &str) -> TenantCredentials {
    let (username, secret) = harness.active_user(tenant);
    TenantCredentials {
        api_url: harness.tenant(tenant).api_url,
        username,
        secret: SecretString::from(secret),
        integration_code: None,
    }
}

fn choice_loads(harness: &Harness) -> usize {
    harness
        .simulator()
        .request_log()
        .iter()
        .filter(|request| {
            request
                .path
                .contains("TicketNotes/entityInformation/fields")
        })
        .count()
}

fn company(harness: &Harness, tenant: &str, name: &str) -> ChoiceValue {
    harness
        .simulator()
        .records(tenant, EntityKind::Companies)
        .into_iter()
        .find(|company| company["companyName"] == name)
        .and_then(|company| company["id"].as_i64())
        .map(ChoiceValue::from)
        .expect("the company exists")
}

#[tokio::test]
async fn choices_are_kept_ten_minutes_for_the_same_secret_only() {
    let harness = Harness::demo().await;
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let tenants = AutotaskTenants::new(harness.tester(), clock.clone());
    let contoso = credentials(&harness, CONTOSO);

    let first = tenants
        .choices(&contoso, Freshness::Cached)
        .await
        .expect("choices");
    assert!(!first.list("status").is_empty());
    assert!(
        first
            .ticket_fields()
            .iter()
            .any(|field| field.name == "status")
    );
    let loads = choice_loads(&harness);
    clock.advance(time::Duration::minutes(9));
    tenants
        .choices(&contoso, Freshness::Cached)
        .await
        .expect("cached");
    assert_eq!(choice_loads(&harness), loads, "served from the cache");

    // The same API user with a wrong secret asks Autotask, which refuses it.
    let wrong = TenantCredentials {
        secret: SecretString::from("not-the-secret".to_owned()),
        ..contoso.clone()
    };
    let refused = tenants.choices(&wrong, Freshness::Cached).await;
    assert!(
        matches!(&refused, Err(TenantError::Refused { .. })),
        "{refused:?}"
    );

    let loads = choice_loads(&harness);

    tenants
        .choices(&contoso, Freshness::Reload)
        .await
        .expect("reloaded");
    assert_eq!(choice_loads(&harness), loads + 1, "a reload asks again");
    clock.advance(time::Duration::minutes(10));
    tenants
        .choices(&contoso, Freshness::Cached)
        .await
        .expect("expired");
    assert_eq!(
        choice_loads(&harness),
        loads + 2,
        "loaded again after ten minutes"
    );
}

#[tokio::test]
async fn the_preview_through_the_port_shows_only_tickets_of_the_given_company() {
    let harness = Harness::demo().await;
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let tenants = AutotaskTenants::new(harness.tester(), clock);
    let contoso = credentials(&harness, CONTOSO);
    let northwind = company(&harness, CONTOSO, "Northwind IT");

    let latest = tenants
        .preview(&contoso, &PreviewTicket::Latest, &northwind)
        .await
        .expect("preview");
    assert_eq!(latest.values["companyID"], "Northwind IT");
    // The ticket number people quote finds the same ticket.
    let by_number = tenants
        .preview(
            &contoso,
            &PreviewTicket::Number(latest.ticket_number.clone()),
            &northwind,
        )
        .await
        .expect("preview by number");
    assert_eq!(by_number, latest);
    let loads = choice_loads(&harness);

    let own = harness
        .simulator()
        .ui_create_ticket(
            CONTOSO,
            "alex.morgan@contoso.example",
            json!({
                "title": "Internal: payroll export",
                "description": "private",
                "companyID": company(&harness, CONTOSO, "Contoso Manufacturing").as_i64(),
                "status": 1,
                "priority": 2,
                "queueID": 30100001,
            }),
        )
        .expect("raised");
    let refused = tenants
        .preview(&contoso, &PreviewTicket::Id(own), &northwind)
        .await;
    assert!(
        matches!(&refused, Err(TenantError::NotFound { message }) if message.contains("only tickets of the company")),
        "{refused:?}"
    );
    let own_number = harness
        .simulator()
        .records(CONTOSO, fusion_autotask_sim::EntityKind::Tickets)
        .into_iter()
        .find(|ticket| ticket["id"].as_i64() == Some(own))
        .and_then(|ticket| ticket["ticketNumber"].as_str().map(str::to_owned))
        .expect("numbered");
    let refused = tenants
        .preview(&contoso, &PreviewTicket::Number(own_number), &northwind)
        .await;
    assert!(
        matches!(&refused, Err(TenantError::NotFound { message }) if message.contains("only tickets of the company")),
        "another company's ticket number is refused like an unknown one: {refused:?}"
    );
    assert_eq!(
        choice_loads(&harness),
        loads,
        "previews reuse the cached choices"
    );
}
