//! The connection test, case by case, as a user setting up Autotask would meet it.

use fusion_autotask::{ConnectionInput, ConnectionTester, TransportOverride};
use fusion_domain::{TestFailureKind, TestOutcome};
use secrecy::SecretString;

use crate::{CONTOSO, Harness, NORTHWIND, test_settings};

fn with_url(mut input: ConnectionInput, api_url: &str) -> ConnectionInput {
    input.api_url = api_url.to_owned();
    input
}

fn with_secret(mut input: ConnectionInput, secret: &str) -> ConnectionInput {
    input.secret = SecretString::from(secret.to_owned());
    input
}

fn with_username(mut input: ConnectionInput, username: &str) -> ConnectionInput {
    input.username = username.to_owned();
    input
}

#[tokio::test]
async fn correct_values_are_reported_as_connection_tested_with_zone_and_usage() {
    let harness = Harness::demo().await;
    let report = harness.tester().test(harness.correct_input(CONTOSO)).await;
    assert_eq!(report.outcome, TestOutcome::Tested, "{report:?}");
    assert_eq!(report.failure, None);
    assert_eq!(report.reason, "Connection tested");
    assert_eq!(report.fix, None);
    assert_eq!(report.zone.as_deref(), Some("America West (webservices5)"));
    let usage = report.api_usage.expect("usage from ThresholdInformation");
    assert_eq!(usage.request_limit, 10_000);
    assert_eq!(usage.timeframe_minutes, 60);
    assert!(usage.requests_used >= 1);
    // Contoso's API user has a security level that reads costs: the test says so and why the
    // guide's level is recommended.
    assert_eq!(report.notes.len(), 1, "{:?}", report.notes);
    assert!(
        report.notes[0].starts_with("This API user can read cost fields")
            && report.notes[0].contains("\"API User (system) Can't Read Costs\""),
        "{:?}",
        report.notes
    );

    // Every entity the sync needs was read once (Resources twice: once more for the cost check).
    let counts = harness.simulator().request_counts();
    for entity in [
        "Tickets",
        "TicketNotes",
        "TicketAttachments",
        "Companies",
        "Contacts",
    ] {
        assert_eq!(
            counts.get(&format!("POST /V1.0/{entity}/query")),
            Some(&1),
            "{entity}: {counts:?}"
        );
    }
    assert_eq!(counts.get("POST /V1.0/Resources/query"), Some(&2));
}

#[tokio::test]
async fn a_user_who_cannot_see_non_billable_time_is_told_so_and_the_test_still_passes() {
    let harness = Harness::demo().await;
    let username = harness.correct_input(NORTHWIND).username;
    assert!(
        harness
            .simulator()
            .set_non_billable_time_permission(NORTHWIND, &username, false)
    );
    let report = harness
        .tester()
        .test(harness.correct_input(NORTHWIND))
        .await;
    assert!(report.is_success(), "{report:?}");
    assert_eq!(report.notes.len(), 1, "{:?}", report.notes);
    assert!(
        report.notes[0].contains("no non-billable one")
            && report.notes[0].contains("\"Can view non-billable time entries\""),
        "{:?}",
        report.notes
    );

    // Without any access to time entries, the note says a partner gets none of this side's time.
    assert!(
        harness
            .simulator()
            .set_entity_permission(NORTHWIND, &username, "TimeEntries", false)
    );
    let report = harness
        .tester()
        .test(harness.correct_input(NORTHWIND))
        .await;
    assert!(report.is_success(), "{report:?}");
    assert!(
        report.notes[0].starts_with("This API user cannot read time entries"),
        "{:?}",
        report.notes
    );
}

#[tokio::test]
async fn the_msp_tenant_in_the_pre_release_zone_tests_fine_too() {
    let harness = Harness::demo().await;
    let report = harness
        .tester()
        .test(harness.correct_input(NORTHWIND))
        .await;
    assert!(report.is_success(), "{report:?}");
    assert_eq!(report.zone.as_deref(), Some("Pre-release (webservices2)"));
    assert!(
        report.notes.is_empty(),
        "Northwind's API user has the recommended level (costs read as null): {:?}",
        report.notes
    );
}

#[tokio::test]
async fn wrong_secret_is_reported_as_authentication_failed_with_the_checks_to_make() {
    let harness = Harness::demo().await;
    let input = with_secret(harness.correct_input(NORTHWIND), "not-the-secret");
    let report = harness.tester().test(input).await;
    assert_eq!(report.outcome, TestOutcome::Failed);
    assert_eq!(
        report.failure,
        Some(TestFailureKind::AuthenticationFailed),
        "{report:?}"
    );
    assert!(report.reason.starts_with("Authentication failed"));
    let fix = report.fix.expect("a fix");
    for check in [
        "copied in full",
        "Active",
        "regenerated",
        "integration code",
    ] {
        assert!(fix.contains(check), "fix should mention {check}: {fix}");
    }
    assert_eq!(report.zone.as_deref(), Some("Pre-release (webservices2)"));
}

#[tokio::test]
async fn secret_with_a_trailing_newline_is_trimmed_works_and_the_user_is_told() {
    let harness = Harness::demo().await;
    let (_, secret) = harness.active_user(NORTHWIND);
    let input = with_secret(harness.correct_input(NORTHWIND), &format!("{secret}\n"));
    let report = harness.tester().test(input).await;
    assert!(report.is_success(), "{report:?}");
    assert_eq!(
        report.notes,
        vec!["A trailing newline was removed from the API secret"]
    );
}

#[tokio::test]
async fn secret_and_username_with_spaces_and_quotes_are_trimmed_and_each_removal_is_noted() {
    let harness = Harness::demo().await;
    let (username, secret) = harness.active_user(CONTOSO);
    let mut input = with_secret(harness.correct_input(CONTOSO), &format!("\"{secret}\" "));
    input.username = format!(" {username}\u{200B}");
    let report = harness.tester().test(input).await;
    assert!(report.is_success(), "{report:?}");
    assert!(
        report
            .notes
            .contains(&"A leading space was removed from the API username".to_owned()),
        "{:?}",
        report.notes
    );
    assert!(
        report
            .notes
            .contains(&"A zero-width space was removed from the API username".to_owned())
    );
    assert!(
        report
            .notes
            .contains(&"A trailing space was removed from the API secret".to_owned())
    );
    assert!(
        report
            .notes
            .contains(&"Surrounding quotes were removed from the API secret".to_owned())
    );
}

#[tokio::test]
async fn a_person_email_entered_as_username_is_explained() {
    let harness = Harness::demo().await;
    let input = with_username(
        harness.correct_input(NORTHWIND),
        "jane.doe@northwindit.example",
    );
    let report = harness.tester().test(input).await;
    assert_eq!(
        report.failure,
        Some(TestFailureKind::UnknownUsername),
        "{report:?}"
    );
    assert!(report.reason.starts_with(
        "Authentication failed: no Autotask API user is named jane.doe@northwindit.example"
    ));
    assert!(
        report.reason.contains("person's email address"),
        "{}",
        report.reason
    );
    let fix = report.fix.expect("a fix");
    assert!(fix.contains("API username (integration key)"), "{fix}");
    assert!(fix.contains("Username (Key)"), "{fix}");
    assert!(fix.contains("Integration Centre"), "{fix}");
}

#[tokio::test]
async fn an_unknown_username_is_reported_by_name() {
    let harness = Harness::demo().await;
    let input = with_username(
        harness.correct_input(NORTHWIND),
        "ZZZZ9999ZZZZ999@NORTHWINDIT.EXAMPLE",
    );
    let report = harness.tester().test(input).await;
    assert_eq!(report.failure, Some(TestFailureKind::UnknownUsername));
    assert_eq!(
        report.reason,
        "Authentication failed: no Autotask API user is named ZZZZ9999ZZZZ999@NORTHWINDIT.EXAMPLE"
    );
    assert!(!report.reason.contains("email"));
    assert_eq!(report.zone, None);
}

#[tokio::test]
async fn an_inactive_api_user_fails_authentication_and_the_fix_mentions_active() {
    let harness = Harness::demo().await;
    let (username, secret) = harness.inactive_user(NORTHWIND);
    let input = with_secret(
        with_username(harness.correct_input(NORTHWIND), &username),
        &secret,
    );
    let report = harness.tester().test(input).await;
    assert_eq!(
        report.failure,
        Some(TestFailureKind::AuthenticationFailed),
        "{report:?}"
    );
    assert!(report.fix.expect("fix").contains("the API user is Active"));
}

#[tokio::test]
async fn a_user_deactivated_after_a_good_test_now_fails() {
    let harness = Harness::demo().await;
    let tester = harness.tester();
    let input = harness.correct_input(CONTOSO);
    assert!(tester.test(input.clone()).await.is_success());
    assert!(
        harness
            .simulator()
            .set_api_user_active(CONTOSO, &input.username, false)
    );
    let report = tester.test(input).await;
    assert_eq!(report.failure, Some(TestFailureKind::AuthenticationFailed));
}

#[tokio::test]
async fn a_regenerated_key_makes_the_old_secret_fail_and_the_new_one_work() {
    let harness = Harness::demo().await;
    let tester = harness.tester();
    let old_input = harness.correct_input(NORTHWIND);
    assert!(tester.test(old_input.clone()).await.is_success());
    let (username, _) = harness.active_user(NORTHWIND);
    let new_secret = harness
        .simulator()
        .regenerate_secret(NORTHWIND, &username)
        .expect("regenerated");
    let report = tester.test(old_input.clone()).await;
    assert_eq!(report.failure, Some(TestFailureKind::AuthenticationFailed));
    assert!(report.fix.expect("fix").contains("regenerated"));
    assert!(
        tester
            .test(with_secret(old_input, &new_secret))
            .await
            .is_success()
    );
}

#[tokio::test]
async fn an_unknown_integration_code_fails_authentication() {
    let harness = Harness::demo().await;
    let mut input = harness.correct_input(NORTHWIND);
    input.integration_code = Some("NOTAKNOWNINTEGRATIONCODE000".to_owned());
    let report = harness.tester().test(input).await;
    assert_eq!(report.failure, Some(TestFailureKind::AuthenticationFailed));
    assert!(report.fix.expect("fix").contains("integration code"));
}

#[tokio::test]
async fn an_organisation_integration_code_overrides_a_missing_deployment_code() {
    let harness = Harness::demo().await;
    let mut settings = harness.settings.clone();
    settings.integration_code = None;
    let tester = ConnectionTester::new(settings);
    let report = tester.test(harness.correct_input(NORTHWIND)).await;
    assert_eq!(report.failure, Some(TestFailureKind::MissingValue));
    assert!(
        report
            .fix
            .expect("fix")
            .contains("FUSION_AUTOTASK_INTEGRATION_CODE")
    );
    let mut input = harness.correct_input(NORTHWIND);
    input.integration_code = Some(fusion_autotask_sim::DEMO_INTEGRATION_CODE.to_owned());
    assert!(tester.test(input).await.is_success());
}

#[tokio::test]
async fn the_ww2_portal_url_is_refused_with_the_api_url_named_and_nothing_is_called() {
    let harness = Harness::demo().await;
    let input = with_url(
        harness.correct_input(NORTHWIND),
        "https://ww2.autotask.net/",
    );
    let report = harness.tester().test(input).await;
    assert_eq!(report.failure, Some(TestFailureKind::InvalidApiUrl));
    assert!(report.reason.starts_with("Invalid API URL"));
    assert!(
        report
            .fix
            .expect("fix")
            .contains("https://webservices2.autotask.net/")
    );
    assert!(harness.simulator().request_log().is_empty());
}

#[tokio::test]
async fn http_is_refused_with_the_https_url_named() {
    let harness = Harness::demo().await;
    let input = with_url(
        harness.correct_input(NORTHWIND),
        "http://webservices2.autotask.net/",
    );
    let report = harness.tester().test(input).await;
    assert_eq!(report.failure, Some(TestFailureKind::InvalidApiUrl));
    assert!(report.reason.contains("https://"));
    assert!(
        report
            .fix
            .expect("fix")
            .contains("https://webservices2.autotask.net/")
    );
    assert!(harness.simulator().request_log().is_empty());
}

#[tokio::test]
async fn a_url_without_scheme_is_read_as_https_and_noted() {
    let harness = Harness::demo().await;
    let input = with_url(
        harness.correct_input(NORTHWIND),
        "webservices2.autotask.net",
    );
    let report = harness.tester().test(input).await;
    assert!(report.is_success(), "{report:?}");
    assert_eq!(
        report.notes,
        vec!["The API URL was read as https://webservices2.autotask.net/"]
    );
}

#[tokio::test]
async fn the_wrong_region_is_reported_with_the_right_url() {
    let harness = Harness::demo().await;
    let input = with_url(
        harness.correct_input(CONTOSO),
        "https://webservices2.autotask.net/",
    );
    let report = harness.tester().test(input).await;
    assert_eq!(
        report.failure,
        Some(TestFailureKind::ZoneMismatch),
        "{report:?}"
    );
    assert_eq!(
        report.reason,
        "Invalid API URL: this API user lives in webservices5 (America West); use https://webservices5.autotask.net/"
    );
    assert!(
        report
            .fix
            .expect("fix")
            .contains("https://webservices5.autotask.net/")
    );
    assert_eq!(report.zone.as_deref(), Some("America West (webservices5)"));
}

#[tokio::test]
async fn lookalike_ip_and_user_info_urls_are_refused_before_any_call() {
    let harness = Harness::demo().await;
    for url in [
        "https://webservices2.autotask.net.evil.example/",
        "https://webservices2-autotask.net/",
        "https://webservices2.autotask.net@evil.example/",
        "https://127.0.0.1/",
        "https://[::1]/",
        "https://webservices2.autotask.net:8443/",
        "https://webservices.autotask.net/",
    ] {
        let report = harness
            .tester()
            .test(with_url(harness.correct_input(NORTHWIND), url))
            .await;
        assert_eq!(
            report.failure,
            Some(TestFailureKind::InvalidApiUrl),
            "{url}"
        );
        assert!(
            report.reason.starts_with("Invalid API URL"),
            "{url}: {}",
            report.reason
        );
        assert!(report.fix.is_some());
    }
    assert!(harness.simulator().request_log().is_empty());
}

#[tokio::test]
async fn missing_username_or_secret_is_a_missing_value() {
    let harness = Harness::demo().await;
    let report = harness
        .tester()
        .test(with_secret(harness.correct_input(NORTHWIND), " \n"))
        .await;
    assert_eq!(report.failure, Some(TestFailureKind::MissingValue));
    assert_eq!(report.reason, "The API secret is missing");
    let report = harness
        .tester()
        .test(with_username(harness.correct_input(NORTHWIND), ""))
        .await;
    assert_eq!(report.failure, Some(TestFailureKind::MissingValue));
    assert_eq!(report.reason, "The API username is missing");
}

#[tokio::test]
async fn a_missing_entity_permission_names_the_entity_and_the_security_level() {
    let harness = Harness::demo().await;
    let (username, _) = harness.active_user(NORTHWIND);
    assert!(harness.simulator().set_entity_permission(
        NORTHWIND,
        &username,
        "TicketAttachments",
        false
    ));
    let report = harness
        .tester()
        .test(harness.correct_input(NORTHWIND))
        .await;
    assert_eq!(
        report.failure,
        Some(TestFailureKind::PermissionMissing),
        "{report:?}"
    );
    assert_eq!(
        report.reason,
        "Permission missing: the API user may not read TicketAttachments"
    );
    assert!(
        report
            .fix
            .expect("fix")
            .contains("API User (system) Can't Read Costs")
    );
}

#[tokio::test]
async fn an_unreachable_host_is_unreachable_not_an_authentication_failure() {
    let harness = Harness::demo().await;
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let mut settings = test_settings(&format!("http://127.0.0.1:{closed_port}"));
    settings.transport_override = Some(
        TransportOverride::parse(&format!("http://127.0.0.1:{closed_port}")).expect("override"),
    );
    let report = ConnectionTester::new(settings)
        .test(harness.correct_input(NORTHWIND))
        .await;
    assert_eq!(
        report.failure,
        Some(TestFailureKind::Unreachable),
        "{report:?}"
    );
    assert!(
        report.reason.contains("webservices.autotask.net"),
        "{}",
        report.reason
    );
    assert!(
        report.reason.contains("connection was refused"),
        "{}",
        report.reason
    );
    assert!(report.fix.expect("fix").contains("firewall"));
}

#[tokio::test]
async fn a_server_error_from_autotask_is_a_platform_error_with_its_message() {
    let harness = Harness::demo().await;
    harness.simulator().inject_fault(
        fusion_autotask_sim::FaultRule::new(fusion_autotask_sim::FaultKind::ServerError)
            .on_endpoint("ThresholdInformation"),
    );
    let report = harness
        .tester()
        .test(harness.correct_input(NORTHWIND))
        .await;
    assert_eq!(
        report.failure,
        Some(TestFailureKind::PlatformError),
        "{report:?}"
    );
    assert!(report.reason.contains("HTTP 500"), "{}", report.reason);
    assert!(
        report.reason.contains("An unexpected error has occurred"),
        "{}",
        report.reason
    );
}

#[tokio::test]
async fn an_html_maintenance_page_is_a_platform_error_not_a_decode_crash() {
    let harness = Harness::demo().await;
    harness.simulator().inject_fault(
        fusion_autotask_sim::FaultRule::new(fusion_autotask_sim::FaultKind::HtmlBody {
            status: 503,
        })
        .on_endpoint("ZoneInformation"),
    );
    let report = harness
        .tester()
        .test(harness.correct_input(NORTHWIND))
        .await;
    assert_eq!(
        report.failure,
        Some(TestFailureKind::PlatformError),
        "{report:?}"
    );
    assert!(report.reason.contains("HTML page"), "{}", report.reason);
    assert!(
        report.reason.contains("Service Unavailable"),
        "{}",
        report.reason
    );
}

#[tokio::test]
async fn a_thread_threshold_during_the_test_is_retried_and_the_test_passes() {
    let harness = Harness::demo().await;
    harness.simulator().inject_fault(
        fusion_autotask_sim::FaultRule::new(fusion_autotask_sim::FaultKind::ThreadThreshold)
            .on_endpoint("Tickets")
            .times(2),
    );
    let report = harness
        .tester()
        .test(harness.correct_input(NORTHWIND))
        .await;
    assert!(report.is_success(), "{report:?}");
}

#[tokio::test]
async fn an_autotask_that_does_not_answer_in_time_is_unreachable() {
    let harness = Harness::demo().await;
    harness.simulator().inject_fault(
        fusion_autotask_sim::FaultRule::new(fusion_autotask_sim::FaultKind::Latency {
            millis: 60_000,
        })
        .on_endpoint("ZoneInformation"),
    );
    let mut settings = harness.settings.clone();
    settings.request_timeout = std::time::Duration::from_millis(200);
    let report = ConnectionTester::new(settings)
        .test(harness.correct_input(NORTHWIND))
        .await;
    assert_eq!(
        report.failure,
        Some(TestFailureKind::Unreachable),
        "{report:?}"
    );
    assert!(
        report.reason.contains("did not answer in time"),
        "{}",
        report.reason
    );
}

#[tokio::test]
async fn legacy_tenants_answering_an_unknown_integration_code_with_500_fail_authentication() {
    let options = fusion_autotask_sim::SimOptions {
        auth_failure_mode: fusion_autotask_sim::AuthFailureMode::Legacy2023,
        ..fusion_autotask_sim::SimOptions::for_tests()
    };
    let harness = Harness::with(fusion_autotask_sim::World::demo(), options).await;
    let mut input = harness.correct_input(CONTOSO);
    input.integration_code = Some("NOTAKNOWNINTEGRATIONCODE000".to_owned());
    let report = harness.tester().test(input).await;
    assert_eq!(
        report.failure,
        Some(TestFailureKind::AuthenticationFailed),
        "{report:?}"
    );
}

#[tokio::test]
async fn a_secret_with_characters_autotask_never_uses_is_explained_without_echoing_it() {
    let harness = Harness::demo().await;
    let report = harness
        .tester()
        .test(with_secret(harness.correct_input(NORTHWIND), "pässwörd"))
        .await;
    assert_eq!(report.failure, Some(TestFailureKind::AuthenticationFailed));
    assert!(report.reason.contains("the API secret contains characters"));
    assert!(!format!("{report:?}").contains("pässwörd"));
}

/// Issue 16, finding 1: someone who knows another organisation's API username tests it with
/// wrong secrets over and over. Autotask hears only a few of those failed authentications an hour
/// (so the API user is not locked), none of them is charged to the victim database's request
/// budget, and the victim's own, proven secret still works.
#[tokio::test]
async fn repeated_wrong_secrets_for_one_username_send_only_a_few_failed_authentications_and_cost_no_budget()
 {
    let harness = Harness::demo().await;
    let tester = harness.tester();
    let victim = harness.correct_input(CONTOSO);
    assert!(tester.test(victim.clone()).await.is_success());
    let service = tester.service().expect("a service").clone();
    let used_after_good_test = service
        .budget_used_by(&victim.username)
        .expect("the zone is known");
    let threshold_calls = |harness: &Harness| {
        harness
            .simulator()
            .request_counts()
            .get("GET /V1.0/ThresholdInformation")
            .copied()
            .unwrap_or_default()
    };
    let calls_before = threshold_calls(&harness);

    let mut reports = Vec::new();
    for attempt in 0..20 {
        let guess = with_secret(victim.clone(), &format!("wrong-secret-{attempt}"));
        reports.push(tester.test(guess).await);
    }
    // Three refusals reached Autotask; every later guess was stopped here.
    assert_eq!(threshold_calls(&harness) - calls_before, 3);
    for report in &reports {
        assert_eq!(report.failure, Some(TestFailureKind::AuthenticationFailed));
    }
    let last = reports.last().expect("reports");
    assert!(
        last.reason.contains("sends no other secret for it"),
        "{}",
        last.reason
    );
    // Refused requests are not charged to the victim database's allowance.
    assert_eq!(
        service.budget_used_by(&victim.username),
        Some(used_after_good_test)
    );
    // The victim's proven secret is still sent and still works.
    assert!(tester.test(victim).await.is_success());
}
