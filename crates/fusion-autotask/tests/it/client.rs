//! The client against the simulator: paging, retries, the governor, the budget, reads and writes.

use std::collections::BTreeSet;

use fusion_autotask::wire::{Company, Filter, Ticket, TicketAttachment, TicketNote};
use fusion_autotask::{AutotaskError, AutotaskService, Credentials, PAGE_SIZE};
use fusion_autotask_sim::{FaultKind, FaultRule, World};
use secrecy::SecretString;

use crate::{CONTOSO, Harness, NORTHWIND};

fn route_statuses(harness: &Harness, route: &str) -> Vec<u16> {
    harness
        .simulator()
        .request_log()
        .into_iter()
        .filter(|entry| entry.route == route)
        .map(|entry| entry.status)
        .collect()
}

#[tokio::test]
async fn paging_returns_every_row_past_500_with_id_cursor_pages() {
    let harness = Harness::with_world(World::generated(1_234, 0)).await;
    let client = harness.client_for(NORTHWIND);
    let tickets: Vec<Ticket> = client
        .query_all(vec![Filter::all()])
        .await
        .expect("all tickets");
    let ids: Vec<i64> = tickets
        .iter()
        .map(|ticket| ticket.id.expect("id"))
        .collect();
    let distinct: BTreeSet<i64> = ids.iter().copied().collect();
    assert!(ids.len() >= 1_234, "got {} tickets", ids.len());
    assert_eq!(distinct.len(), ids.len(), "no ticket twice");
    let pages = route_statuses(&harness, "POST /V1.0/Tickets/query");
    assert_eq!(pages.len(), ids.len() / PAGE_SIZE as usize + 1);
    assert!(pages.iter().all(|status| *status == 200));
}

#[tokio::test]
async fn a_page_iterator_yields_pages_of_at_most_500_in_id_order() {
    let harness = Harness::with_world(World::generated(1_001, 0)).await;
    let client = harness.client_for(NORTHWIND);
    let mut pages = client
        .query_pages::<Ticket>(vec![Filter::all()])
        .include_fields(&["title"]);
    let mut previous_last = i64::MIN;
    let mut sizes = Vec::new();
    while let Some(page) = pages.next_page().await.expect("page") {
        let ids: Vec<i64> = page.iter().map(|ticket| ticket.id.expect("id")).collect();
        assert!(ids.first().is_some_and(|first| *first > previous_last));
        previous_last = *ids.last().expect("non-empty page");
        assert!(
            page.iter()
                .all(|ticket| ticket.title.is_some() && ticket.status.is_none())
        );
        sizes.push(page.len());
    }
    assert_eq!(sizes[0], 500);
    assert_eq!(sizes[1], 500);
    assert!(sizes.len() == 3 || sizes.len() == 2);
}

#[tokio::test]
async fn the_thread_threshold_is_retried_and_the_read_succeeds() {
    let harness = Harness::demo().await;
    harness.simulator().inject_fault(
        FaultRule::new(FaultKind::ThreadThreshold)
            .on_endpoint("Companies")
            .times(2),
    );
    let client = harness.client_for(NORTHWIND);
    let companies: Vec<Company> = client
        .query_all(vec![Filter::all()])
        .await
        .expect("retried");
    assert!(!companies.is_empty());
    let statuses = route_statuses(&harness, "POST /V1.0/Companies/query");
    assert_eq!(statuses.len(), 3, "{statuses:?}");
    assert_eq!(statuses.last(), Some(&200));
}

#[tokio::test]
async fn the_thread_threshold_without_429_is_recognised_by_its_text() {
    let simulator = fusion_autotask_sim::Simulator::new(
        World::demo(),
        fusion_autotask_sim::SimOptions {
            thread_threshold_status: 500,
            ..fusion_autotask_sim::SimOptions::for_tests()
        },
    )
    .expect("seeded");
    let running = simulator
        .spawn("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("listens");
    let mut settings = crate::test_settings(running.base_url());
    settings.retry.max_attempts = 1;
    simulator.inject_fault(
        FaultRule::new(FaultKind::ThreadThreshold)
            .on_endpoint("Companies")
            .times(1),
    );
    let user = simulator.tenants()[0].api_users[0].clone();
    let client = AutotaskService::new(settings)
        .expect("service")
        .client(Credentials::new(
            user.username,
            SecretString::from(user.secret),
        ));
    let error = client
        .query_all::<Company>(vec![Filter::all()])
        .await
        .expect_err("no retries allowed");
    assert!(
        matches!(error, AutotaskError::ThreadThreshold { .. }),
        "{error:?}"
    );
    assert!(error.is_retryable());
}

#[tokio::test]
async fn many_concurrent_reads_stay_within_three_threads_per_endpoint() {
    let harness = Harness::demo().await;
    harness
        .simulator()
        .inject_fault(FaultRule::new(FaultKind::Latency { millis: 30 }).on_endpoint("Tickets"));
    let mut settings = harness.settings.clone();
    settings.retry.max_attempts = 1; // a thread-threshold rejection would surface as an error
    let (username, secret) = harness.active_user(NORTHWIND);
    let client = AutotaskService::new(settings)
        .expect("service")
        .client(Credentials::new(username, SecretString::from(secret)));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..9 {
        let client = client.clone();
        tasks.spawn(async move { client.query_all::<Ticket>(vec![Filter::all()]).await });
    }
    while let Some(result) = tasks.join_next().await {
        result.expect("task").expect("no thread threshold");
    }
    let statuses = route_statuses(&harness, "POST /V1.0/Tickets/query");
    assert_eq!(statuses.len(), 9);
    assert!(statuses.iter().all(|status| *status == 200), "{statuses:?}");
}

#[tokio::test]
async fn the_request_budget_refuses_with_a_clear_error_and_sends_nothing() {
    let harness = Harness::demo().await;
    let mut settings = harness.settings.clone();
    settings.hourly_request_budget = 2;
    let (username, secret) = harness.active_user(CONTOSO);
    let client = AutotaskService::new(settings)
        .expect("service")
        .client(Credentials::new(username, SecretString::from(secret)));
    client.threshold_information().await.expect("first");
    client.threshold_information().await.expect("second");
    let error = client
        .threshold_information()
        .await
        .expect_err("budget spent");
    let AutotaskError::BudgetExhausted(wait) = &error else {
        panic!("expected the budget to refuse, got {error:?}");
    };
    assert_eq!((wait.used, wait.allowance), (2, 2));
    assert!(error.to_string().contains("no request was sent"));
    assert_eq!(
        route_statuses(&harness, "GET /V1.0/ThresholdInformation").len(),
        2
    );
}

async fn first_company_id(client: &fusion_autotask::AutotaskClient) -> i64 {
    let companies: Vec<Company> = client
        .query_all(vec![Filter::all()])
        .await
        .expect("companies");
    companies
        .iter()
        .filter_map(|company| company.id)
        .max()
        .expect("a company")
}

fn new_ticket(company_id: i64, title: &str) -> Ticket {
    Ticket {
        title: Some(title.to_owned()),
        company_id: Some(company_id),
        status: Some(1),
        priority: Some(2),
        external_id: Some("fusion:test:1".to_owned()),
        ..Ticket::default()
    }
}

#[tokio::test]
async fn a_ticket_with_a_note_and_an_attachment_is_created_read_and_patched() {
    let harness = Harness::demo().await;
    let client = harness.client_for(NORTHWIND);
    let company_id = first_company_id(&client).await;
    let ticket_id = client
        .create("Tickets", &new_ticket(company_id, "Printer on fire"))
        .await
        .expect("created");
    let ticket: Ticket = client.get(ticket_id).await.expect("read").expect("exists");
    assert_eq!(ticket.title.as_deref(), Some("Printer on fire"));
    assert!(ticket.create_date.is_some(), "dates without Z parse");

    let patch = Ticket {
        id: Some(ticket_id),
        status: Some(8),
        ..Ticket::default()
    };
    assert_eq!(
        client.update("Tickets", &patch).await.expect("patched"),
        ticket_id
    );
    let patched: Ticket = client.get(ticket_id).await.expect("read").expect("exists");
    assert_eq!(patched.status, Some(8));
    assert_eq!(
        patched.title.as_deref(),
        Some("Printer on fire"),
        "PATCH is sparse"
    );

    let note = TicketNote {
        title: Some("Update".into()),
        description: Some("Extinguisher applied".into()),
        note_type: Some(1),
        publish: Some(1),
        ..TicketNote::default()
    };
    let note_id = client
        .create_child("Tickets", ticket_id, "Notes", &note)
        .await
        .expect("note");
    let notes: Vec<TicketNote> = client
        .query_all(vec![Filter::eq("ticketID", ticket_id)])
        .await
        .expect("notes");
    assert!(notes.iter().any(|note| note.id == Some(note_id)));

    let attachment = TicketAttachment {
        attachment_type: Some("FILE_ATTACHMENT".into()),
        full_path: Some("log.txt".into()),
        title: Some("log.txt".into()),
        publish: Some(1),
        data: Some("aGVsbG8=".into()),
        ..TicketAttachment::default()
    };
    let attachment_id = client
        .create_child("Tickets", ticket_id, "Attachments", &attachment)
        .await
        .expect("attachment");
    let read: TicketAttachment = client
        .get_child("Tickets", ticket_id, "Attachments", attachment_id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(read.data.as_deref(), Some("aGVsbG8="));
}

#[tokio::test]
async fn a_missing_record_reads_as_none() {
    let harness = Harness::demo().await;
    let client = harness.client_for(NORTHWIND);
    assert_eq!(
        client.get::<Ticket>(987_654_321).await.expect("answered"),
        None
    );
}

#[tokio::test]
async fn a_validation_error_keeps_autotask_messages_and_is_not_retried() {
    let harness = Harness::demo().await;
    let client = harness.client_for(NORTHWIND);
    let error = client
        .create(
            "Tickets",
            &Ticket {
                title: Some("no company".into()),
                ..Ticket::default()
            },
        )
        .await
        .expect_err("invalid");
    match &error {
        AutotaskError::Rejected {
            status: 500,
            messages,
        } => {
            assert!(
                messages.iter().any(|message| message.contains("companyID")),
                "{messages:?}"
            );
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert_eq!(route_statuses(&harness, "POST /V1.0/Tickets").len(), 1);
}

#[tokio::test]
async fn a_create_is_not_retried_after_a_server_error_but_is_after_a_thread_threshold() {
    let harness = Harness::demo().await;
    let client = harness.client_for(NORTHWIND);
    let company_id = first_company_id(&client).await;
    harness.simulator().inject_fault(
        FaultRule::new(FaultKind::ServerError)
            .on_endpoint("Tickets")
            .on_method("POST")
            .times(1),
    );
    let error = client
        .create("Tickets", &new_ticket(company_id, "once"))
        .await
        .expect_err("5xx");
    assert!(matches!(error, AutotaskError::Rejected { status: 500, .. }));
    assert_eq!(route_statuses(&harness, "POST /V1.0/Tickets"), vec![500]);

    harness.simulator().inject_fault(
        FaultRule::new(FaultKind::ThreadThreshold)
            .on_endpoint("Tickets")
            .on_method("POST")
            .times(1),
    );
    client
        .create("Tickets", &new_ticket(company_id, "twice"))
        .await
        .expect("retried after a definite rejection");
    assert_eq!(
        route_statuses(&harness, "POST /V1.0/Tickets"),
        vec![500, 429, 200]
    );
}

/// Found by the sync soak test: one such answer used to fail the whole run's reading.
#[tokio::test]
async fn a_read_is_retried_after_a_server_failure_and_after_a_body_cut_short() {
    let harness = Harness::demo().await;
    let client = harness.client_for(NORTHWIND);
    // (A 504 after a held answer is covered by `error::tests`; holding it here takes seconds.)
    for kind in [FaultKind::ServerError, FaultKind::MalformedBody] {
        harness.simulator().clear_request_log();
        harness.simulator().inject_fault(
            FaultRule::new(kind.clone())
                .on_endpoint("Companies")
                .times(1),
        );
        let companies = client
            .query_all::<Company>(vec![Filter::all()])
            .await
            .unwrap_or_else(|error| panic!("{kind:?} is retried: {error:?}"));
        assert!(!companies.is_empty());
        let statuses = route_statuses(&harness, "POST /V1.0/Companies/query");
        assert_eq!(statuses.len(), 2, "{kind:?}: {statuses:?}");
        assert_eq!(statuses.last(), Some(&200), "{kind:?}: {statuses:?}");
    }
}

#[tokio::test]
async fn a_malformed_body_is_a_decode_error() {
    let harness = Harness::demo().await;
    harness
        .simulator()
        .inject_fault(FaultRule::new(FaultKind::MalformedBody).on_endpoint("Companies"));
    let mut settings = harness.settings.clone();
    settings.retry.max_attempts = 1;
    let (username, secret) = harness.active_user(NORTHWIND);
    let client = AutotaskService::new(settings)
        .expect("service")
        .client(Credentials::new(username, SecretString::from(secret)));
    let error = client
        .query_all::<Company>(vec![Filter::all()])
        .await
        .expect_err("malformed");
    assert!(
        matches!(error, AutotaskError::Decode { status: 200, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn the_zone_is_discovered_once_per_username_and_cached() {
    let harness = Harness::demo().await;
    let client = harness.client_for(CONTOSO);
    let zone = client.zone().await.expect("zone");
    assert_eq!(zone.zone, 5);
    assert_eq!(zone.api_url.as_str(), "https://webservices5.autotask.net/");
    client.threshold_information().await.expect("call");
    client.threshold_information().await.expect("call");
    assert_eq!(
        route_statuses(&harness, "GET /V1.0/ZoneInformation").len(),
        1
    );
    let hosts: BTreeSet<String> = harness
        .simulator()
        .request_log()
        .into_iter()
        .map(|entry| entry.host)
        .collect();
    assert_eq!(
        hosts,
        BTreeSet::from([
            "webservices.autotask.net".to_owned(),
            "webservices5.autotask.net".to_owned()
        ])
    );
}

#[tokio::test]
async fn picklists_from_entity_information_are_integers() {
    let harness = Harness::demo().await;
    let client = harness.client_for(CONTOSO);
    let fields = client.field_information("Tickets").await.expect("fields");
    let priority = fields
        .iter()
        .find(|field| field.name == "priority")
        .expect("priority field");
    assert!(priority.is_pick_list);
    let values: BTreeSet<i64> = priority
        .picklist_values
        .iter()
        .filter_map(|value| value.value)
        .collect();
    assert!(
        values.contains(&5) && !values.contains(&3),
        "Contoso has no priority 3: {values:?}"
    );
    let udfs = client.user_defined_fields("Tickets").await.expect("udfs");
    assert!(udfs.iter().any(|udf| udf.name == "Customer Reference"));
}

#[tokio::test]
async fn a_wrong_secret_is_unauthorized_and_not_retried_endlessly() {
    let harness = Harness::demo().await;
    let (username, _) = harness.active_user(NORTHWIND);
    let client = harness.service().client(Credentials::new(
        username,
        SecretString::from("wrong".to_owned()),
    ));
    assert_eq!(
        client.threshold_information().await,
        Err(AutotaskError::Unauthorized)
    );
    assert_eq!(
        route_statuses(&harness, "GET /V1.0/ThresholdInformation"),
        vec![401]
    );
}

#[tokio::test]
async fn a_401_from_a_stale_zone_re_resolves_the_zone_and_succeeds() {
    let harness = Harness::demo().await;
    let service = harness.service();
    let (username, secret) = harness.active_user(CONTOSO);
    let client = service.client(Credentials::new(
        username.clone(),
        SecretString::from(secret),
    ));
    // As if the tenant had been migrated from zone 2 to zone 5 since we cached its zone.
    service.remember_zone(
        &username,
        fusion_autotask::ResolvedZone {
            zone: 2,
            api_url: fusion_autotask::ApiUrl::for_zone(2),
            zone_name: None,
            database: Some(1),
        },
    );
    client
        .threshold_information()
        .await
        .expect("re-resolved and retried");
    let log = harness.simulator().request_log();
    let hosts: Vec<(String, u16)> = log
        .iter()
        .map(|entry| (entry.host.clone(), entry.status))
        .collect();
    assert_eq!(
        hosts,
        vec![
            ("webservices2.autotask.net".to_owned(), 401),
            ("webservices.autotask.net".to_owned(), 200),
            ("webservices5.autotask.net".to_owned(), 200),
        ]
    );
    assert_eq!(client.zone().await.expect("zone").zone, 5);
}

#[tokio::test]
async fn count_matches_the_rows_a_full_query_returns() {
    let harness = Harness::with_world(World::generated(640, 0)).await;
    let client = harness.client_for(NORTHWIND);
    let count = client
        .count("Tickets", vec![Filter::all()])
        .await
        .expect("count");
    let tickets: Vec<Ticket> = client.query_all(vec![Filter::all()]).await.expect("all");
    assert_eq!(count, tickets.len() as i64);
    assert!(count >= 640);
}

#[tokio::test]
async fn a_missing_record_answered_as_a_null_item_also_reads_as_none() {
    let options = fusion_autotask_sim::SimOptions {
        missing_item: fusion_autotask_sim::MissingItemMode::NullItem,
        ..fusion_autotask_sim::SimOptions::for_tests()
    };
    let harness = Harness::with(World::demo(), options).await;
    let client = harness.client_for(CONTOSO);
    assert_eq!(
        client.get::<Ticket>(987_654_321).await.expect("answered"),
        None
    );
}

#[tokio::test]
async fn an_impersonated_note_is_attributed_to_the_person() {
    let harness = Harness::demo().await;
    let plain = harness.client_for(NORTHWIND);
    let people: Vec<fusion_autotask::wire::Resource> = plain
        .query_all(vec![Filter::compare("contains", "email", "jane.doe")])
        .await
        .expect("people");
    let jane = people
        .first()
        .and_then(|person| person.id)
        .expect("Jane is a resource");
    let tickets: Vec<Ticket> = plain.query_all(vec![Filter::all()]).await.expect("tickets");
    let ticket_id = tickets
        .first()
        .and_then(|ticket| ticket.id)
        .expect("a ticket");

    let (username, secret) = harness.active_user(NORTHWIND);
    let mut credentials = Credentials::new(username, SecretString::from(secret));
    credentials.impersonation_resource_id = Some(jane);
    let as_jane = harness.service().client(credentials);
    let note = TicketNote {
        description: Some("Written on Jane's behalf".into()),
        note_type: Some(1),
        publish: Some(1),
        ..TicketNote::default()
    };
    let note_id = as_jane
        .create_child("Tickets", ticket_id, "Notes", &note)
        .await
        .expect("note");
    let stored: TicketNote = plain.get(note_id).await.expect("read").expect("exists");
    assert_eq!(stored.creator_resource_id, Some(jane));
    assert!(stored.impersonator_creator_resource_id.is_some());
}
