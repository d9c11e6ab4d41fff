//! The connection test: proves, step by step, that an organisation's Autotask settings work,
//! and when they do not, says which step failed, why, and what to do (DESIGN §1, §4.3).
//!
//! Order, stopping at the first failure: URL rules → missing values → ZoneInformation for the
//! username → zone vs. entered region → an authenticated call (`ThresholdInformation`) → a
//! one-row read of every entity the sync needs; then notes that fail nothing (cost fields
//! readable; time entries unreadable, or no non-billable one visible — Autotask hides those
//! silently without "Can view non-billable time entries"). Network trouble is always `Unreachable`, never
//! an authentication failure; Autotask's own errors are `PlatformError` with its message.
//!
//! The secret never appears in a report, a log line or Debug output.

use std::fmt;

use fusion_domain::{ApiUsage, ConnectionTestReport, TestFailureKind};
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;

use crate::api_url::{ApiUrl, describe_zone_host};
use crate::client::{AutotaskClient, AutotaskService, Credentials, ResolvedZone};
use crate::credential::{clean_credential, removal_note};
use crate::error::AutotaskError;
use crate::input_checks::{InputField, InputProblem, check_input};
use crate::settings::AutotaskSettings;
use crate::wire::{
    AutotaskEntity, Company, Contact, Filter, QueryModel, Resource, ResourceCost, Ticket,
    TicketAttachment, TicketNote,
};
use crate::zone::zone_name;

/// The security level we tell users to give the API user.
pub const RECOMMENDED_SECURITY_LEVEL: &str = "API User (system) Can't Read Costs";

/// Where in Autotask the API user's credentials are.
const WHERE_TO_FIND_API_USER: &str = "Admin > Extensions & Integrations > Other Extensions & Tools > Integration Centre (or Admin > Resources/Users), open the API user";

/// What the user entered on the settings page.
#[derive(Clone)]
pub struct ConnectionInput {
    pub api_url: String,
    pub username: String,
    pub secret: SecretString,
    /// The organisation's own integration code, overriding the deployment's.
    pub integration_code: Option<String>,
}

impl fmt::Debug for ConnectionInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionInput")
            .field("api_url", &self.api_url)
            .field("username", &self.username)
            .field("secret", &"[redacted]")
            .field(
                "integration_code",
                &self.integration_code.as_ref().map(|_| "[set]"),
            )
            .finish()
    }
}

/// Runs connection tests. Clone freely; shares the HTTP pool, zone cache and request budget.
#[derive(Clone, Debug)]
pub struct ConnectionTester {
    service: Result<AutotaskService, AutotaskError>,
}

impl ConnectionTester {
    pub fn new(settings: AutotaskSettings) -> ConnectionTester {
        ConnectionTester {
            service: AutotaskService::new(settings),
        }
    }

    /// A tester sharing an existing service (its budget, governor and zone cache).
    pub fn with_service(service: AutotaskService) -> ConnectionTester {
        ConnectionTester {
            service: Ok(service),
        }
    }

    /// The service this tester calls Autotask through (its HTTP pool, zone cache, limiter and
    /// budget), so the rest of the app can share it; `None` when the settings were unusable.
    pub fn service(&self) -> Option<&AutotaskService> {
        self.service.as_ref().ok()
    }

    /// Tests the connection; never fails, the outcome is in the report.
    pub async fn test(&self, input: ConnectionInput) -> ConnectionTestReport {
        let mut run = TestRun {
            notes: Vec::new(),
            zone: None,
            tested_at: OffsetDateTime::now_utc(),
        };
        let result = self.run(&input, &mut run).await;
        let mut report = match result {
            Ok(api_usage) => {
                let mut report = ConnectionTestReport::tested("Connection tested", run.tested_at);
                report.api_usage = api_usage;
                report
            }
            Err(failure) => ConnectionTestReport::failed(
                failure.kind,
                failure.reason,
                failure.fix,
                run.tested_at,
            ),
        };
        report.zone = run.zone;
        report.notes = run.notes;
        tracing::info!(
            outcome = report.outcome.label(),
            failure = report.failure.map(|kind| kind.as_str()),
            "Autotask connection test finished"
        );
        report
    }

    /// The checks made before anything is sent: the URL rules, values present, and values that
    /// can never be right (too long for Autotask's fields, control characters, characters an
    /// Autotask credential never has). `Err` is the failed report; callers such as
    /// `fusion autotask test` treat it as invalid input.
    pub fn check_locally(&self, input: &ConnectionInput) -> Result<(), Box<ConnectionTestReport>> {
        let mut run = TestRun {
            notes: Vec::new(),
            zone: None,
            tested_at: OffsetDateTime::now_utc(),
        };
        local_checks(input, &mut run).map(drop).map_err(|failure| {
            let mut report = ConnectionTestReport::failed(
                failure.kind,
                failure.reason,
                failure.fix,
                run.tested_at,
            );
            report.notes = run.notes;
            Box::new(report)
        })
    }

    async fn run(
        &self,
        input: &ConnectionInput,
        run: &mut TestRun,
    ) -> Result<Option<ApiUsage>, Failure> {
        let LocalValues {
            api_url,
            username,
            secret,
            organisation_code,
        } = local_checks(input, run)?;
        let service = self.service.as_ref().map_err(|error| Failure {
            kind: TestFailureKind::PlatformError,
            reason: format!("The Autotask connection could not be set up: {error}"),
            fix: "This is a problem of this server's setup; check its logs".to_owned(),
        })?;
        if organisation_code.is_none() && service.settings().integration_code.is_none() {
            return Err(Failure {
                kind: TestFailureKind::MissingValue,
                reason: "No Autotask integration code is configured".to_owned(),
                fix: "Ask the administrator of this server to set FUSION_AUTOTASK_INTEGRATION_CODE (the API tracking identifier), or enter this organisation's own integration code".to_owned(),
            });
        }

        // 3. Zone discovery: does Autotask know this username?
        let zone = service
            .zone_information(&username)
            .await
            .map_err(|error| match error {
                AutotaskError::ZoneUnknown | AutotaskError::Unauthorized => {
                    unknown_username(&username)
                }
                other => general_failure(other),
            })?;
        run.zone = Some(display_zone(&zone));
        service.remember_zone(&username, zone.clone());

        // 4. The entered region must be the user's zone.
        if zone.zone != api_url.zone() {
            return Err(Failure {
                kind: TestFailureKind::ZoneMismatch,
                reason: format!(
                    "Invalid API URL: this API user lives in {}; use {}",
                    describe_zone_host(zone.zone),
                    zone.api_url
                ),
                fix: format!(
                    "Change the API URL to {} (the API URL of your portal {}); the entered {} is another region",
                    zone.api_url,
                    zone.api_url.portal_url(),
                    api_url
                ),
            });
        }

        // 5. An authenticated call proves the secret and the integration code.
        let client = service.client(Credentials {
            username: username.clone(),
            secret: SecretString::from(secret.value),
            integration_code: organisation_code.map(|code| code.value),
            impersonation_resource_id: None,
        });
        let threshold = client
            .threshold_information()
            .await
            .map_err(|error| match error {
                AutotaskError::Unauthorized => authentication_failed(&username),
                other => general_failure(other),
            })?;
        let api_usage = match (
            threshold.current_timeframe_request_count,
            threshold.external_request_threshold,
        ) {
            (Some(used), Some(limit)) => Some(ApiUsage {
                requests_used: clamp_u32(used),
                request_limit: clamp_u32(limit),
                timeframe_minutes: clamp_u32(threshold.request_threshold_timeframe.unwrap_or(60)),
            }),
            _ => None,
        };

        // 6. A small read of each entity the sync needs proves permissions.
        probe::<Ticket>(&client).await?;
        probe::<TicketNote>(&client).await?;
        probe::<TicketAttachment>(&client).await?;
        probe::<Company>(&client).await?;
        probe::<Contact>(&client).await?;
        probe::<Resource>(&client).await?;

        // 7. Whether this user reads cost fields: the guide's level cannot, and the sync needs none.
        if reads_costs(&client).await {
            run.notes.push(format!(
                "This API user can read cost fields (it read a resource's internal cost). The guide recommends the security level \"{RECOMMENDED_SECURITY_LEVEL}\": the sync never needs costs, and an API user that cannot read them cannot pass them to a partner by mistake. In Autotask, {WHERE_TO_FIND_API_USER} and change its security level."
            ));
        }

        // 8. Whether time a partner may receive is visible: Autotask silently leaves out
        // non-billable entries without "Can view non-billable time entries" (API-NOTES §12.2),
        // so a tenant with time but no visible non-billable entry gets a note, not a failure.
        if let Some(note) = time_entry_visibility(&client).await {
            run.notes.push(note);
        }

        Ok(api_usage)
    }
}

/// A note when this user cannot read time entries, or reads some but no non-billable one (two
/// `TimeEntries/query/count` calls); `None` when all looks visible or the counts cannot be had.
async fn time_entry_visibility(client: &AutotaskClient) -> Option<String> {
    let all = match client.count("TimeEntries", vec![Filter::gt("id", 0)]).await {
        Ok(count) => count,
        Err(AutotaskError::PermissionDenied { .. }) => {
            return Some(format!(
                "This API user cannot read time entries: a partner that receives your time (as notes or time entries) gets none of it. In Autotask, {WHERE_TO_FIND_API_USER} and allow its security level to view Time Entries if you want to share time."
            ));
        }
        Err(_) => return None,
    };
    if all == 0 {
        return None;
    }
    let non_billable = client
        .count("TimeEntries", vec![Filter::eq("isNonBillable", true)])
        .await
        .ok()?;
    (non_billable == 0).then(|| format!(
        "This API user sees {all} time entries but no non-billable one. If your technicians log non-billable time, the security level lacks \"Can view non-billable time entries\": Autotask then leaves that time out without an error, and a partner that receives your time never gets it. In Autotask, {WHERE_TO_FIND_API_USER} and turn that setting on."
    ))
}

/// What the local checks let through.
struct LocalValues {
    api_url: ApiUrl,
    username: String,
    secret: crate::credential::CleanedValue,
    organisation_code: Option<crate::credential::CleanedValue>,
}

fn invalid_value(problem: InputProblem) -> Failure {
    Failure {
        kind: TestFailureKind::InvalidValue,
        reason: format!("Not tested: {}", problem.message),
        fix: problem.fix,
    }
}

/// Steps 1 and 2 of the test, and the values that can never be right; nothing is sent.
fn local_checks(input: &ConnectionInput, run: &mut TestRun) -> Result<LocalValues, Failure> {
    // 1. URL rules (a URL longer than any web address is refused before it is read; other
    // characters are the URL rules' business, which name what is wrong with the host).
    if input.api_url.trim().chars().count() > InputField::ApiUrl.max_chars() {
        check_input(InputField::ApiUrl, input.api_url.trim()).map_err(invalid_value)?;
    }
    let api_url = ApiUrl::parse(&input.api_url).map_err(|error| Failure {
        kind: TestFailureKind::InvalidApiUrl,
        reason: error.to_string(),
        fix: error.fix(),
    })?;
    let entered = input.api_url.trim();
    if !entered.eq_ignore_ascii_case(api_url.as_str())
        && !entered.eq_ignore_ascii_case(api_url.as_str().trim_end_matches('/'))
    {
        run.notes.push(format!("The API URL was read as {api_url}"));
    }

    // 2. Values present (after cleaning pasted text).
    let username = clean_credential(&input.username);
    run.note_removals(&username.removed, "API username");
    let secret = clean_credential(input.secret.expose_secret());
    run.note_removals(&secret.removed, "API secret");
    if username.value.is_empty() {
        return Err(Failure {
            kind: TestFailureKind::MissingValue,
            reason: "The API username is missing".to_owned(),
            fix: format!(
                "Enter the API username (integration key): in Autotask, {WHERE_TO_FIND_API_USER} and copy its Username (Key)"
            ),
        });
    }
    if secret.value.is_empty() {
        return Err(Failure {
            kind: TestFailureKind::MissingValue,
            reason: "The API secret is missing".to_owned(),
            fix: "Enter the API secret. Autotask shows it only once: if it is lost, generate a new secret for the API user in Autotask (this invalidates the old one) and enter the new one here".to_owned(),
        });
    }
    let organisation_code = input
        .integration_code
        .as_deref()
        .map(clean_credential)
        .filter(|cleaned| !cleaned.value.is_empty());
    if let Some(code) = &organisation_code {
        run.note_removals(&code.removed, "integration code");
    }
    check_input(InputField::Username, &username.value).map_err(invalid_value)?;
    check_input(InputField::Secret, &secret.value).map_err(invalid_value)?;
    if let Some(code) = &organisation_code {
        check_input(InputField::IntegrationCode, &code.value).map_err(invalid_value)?;
    }
    let username = username.value;
    if !is_header_safe(&username) {
        return Err(Failure {
            kind: TestFailureKind::AuthenticationFailed,
            reason: "Authentication failed: the API username contains characters an Autotask API username never has (letters with accents, symbols outside plain ASCII, or control characters)".to_owned(),
            fix: format!("Copy the API username again: in Autotask, {WHERE_TO_FIND_API_USER} and copy its Username (Key)"),
        });
    }
    if !is_header_safe(&secret.value) {
        return Err(Failure {
            kind: TestFailureKind::AuthenticationFailed,
            reason: "Authentication failed: the API secret contains characters an Autotask secret never has (letters with accents, symbols outside plain ASCII, or control characters)".to_owned(),
            fix: "Copy the API secret again from where it was saved when the key was generated; if it is lost, generate a new secret for the API user in Autotask and enter it here".to_owned(),
        });
    }
    if let Some(code) = &organisation_code
        && !is_header_safe(&code.value)
    {
        return Err(Failure {
            kind: TestFailureKind::InvalidValue,
            reason: "Not tested: the integration code contains characters an Autotask integration code never has".to_owned(),
            fix: "Copy the integration code (API tracking identifier) again from the API user in Autotask".to_owned(),
        });
    }
    Ok(LocalValues {
        api_url,
        username,
        secret,
        organisation_code,
    })
}

struct TestRun {
    notes: Vec<String>,
    zone: Option<String>,
    tested_at: OffsetDateTime,
}

impl TestRun {
    fn note_removals(&mut self, removed: &[String], field: &str) {
        for description in removed {
            self.notes.push(removal_note(description, field));
        }
    }
}

struct Failure {
    kind: TestFailureKind,
    reason: String,
    fix: String,
}

async fn probe<T: AutotaskEntity>(client: &AutotaskClient) -> Result<(), Failure> {
    let query = QueryModel {
        max_records: 1,
        include_fields: vec!["id".to_owned()],
        filter: vec![Filter::all()],
    };
    match client.query_page::<T>(&query).await {
        Ok(_) => Ok(()),
        Err(AutotaskError::PermissionDenied { entity, .. }) => Err(Failure {
            kind: TestFailureKind::PermissionMissing,
            reason: format!("Permission missing: the API user may not read {entity}"),
            fix: format!(
                "In Autotask, {WHERE_TO_FIND_API_USER} and set its security level to \"{RECOMMENDED_SECURITY_LEVEL}\" (or give its custom security level read access to {entity}), then test again"
            ),
        }),
        Err(AutotaskError::Unauthorized) => Err(authentication_failed(client.username())),
        Err(other) => Err(general_failure(other)),
    }
}

/// Whether the API user reads cost fields: a few resources' internal cost, where a level that
/// "Can't Read Costs" gets null. Unknown (no resource has a cost, or the read fails) counts as no:
/// the test only says what it can tell.
async fn reads_costs(client: &AutotaskClient) -> bool {
    let query = QueryModel {
        max_records: 20,
        include_fields: vec!["id".to_owned(), "internalCost".to_owned()],
        filter: vec![Filter::all()],
    };
    match client.query_page::<ResourceCost>(&query).await {
        Ok(page) => page
            .items
            .iter()
            .any(|resource| resource.internal_cost.is_some()),
        Err(_) => false,
    }
}

fn display_zone(zone: &ResolvedZone) -> String {
    match (zone_name(zone.zone), zone.zone_name.as_deref()) {
        (Some(name), _) => format!("{name} (webservices{})", zone.zone),
        (None, Some(name)) if !name.trim().is_empty() => {
            format!("{} (webservices{})", name.trim(), zone.zone)
        }
        _ => format!("webservices{}", zone.zone),
    }
}

/// A person's address (`jane.doe@…`, `jdoe@…`) rather than a generated integration key
/// (`7QKXG2MZ4HPWLRB@…`, random letters and digits).
pub fn looks_like_person_email(username: &str) -> bool {
    let Some((local, domain)) = username.rsplit_once('@') else {
        return false;
    };
    if local.is_empty() || !domain.contains('.') {
        return false;
    }
    let has_separator_between_letters = local
        .split(['.', '_', '-', '+'])
        .filter(|piece| !piece.is_empty())
        .count()
        > 1
        && local
            .split(['.', '_', '-', '+'])
            .any(|piece| piece.len() >= 2 && piece.chars().all(|c| c.is_alphabetic()));
    let only_letters = local.chars().all(|c| c.is_alphabetic()) && local.chars().count() <= 12;
    has_separator_between_letters || only_letters
}

fn unknown_username(username: &str) -> Failure {
    let username = &fusion_domain::echo_for_message(username, 300);
    if looks_like_person_email(username) {
        return Failure {
            kind: TestFailureKind::UnknownUsername,
            reason: format!(
                "Authentication failed: no Autotask API user is named {username}; this looks like a person's email address, not the API username (integration key)"
            ),
            fix: format!(
                "Enter the API username (integration key) instead of the email address: in Autotask, {WHERE_TO_FIND_API_USER} and copy its Username (Key) (it looks like ABCD1234EFGH567@YOURCOMPANY.COM). If there is no API user yet, create one with security level \"{RECOMMENDED_SECURITY_LEVEL}\""
            ),
        };
    }
    Failure {
        kind: TestFailureKind::UnknownUsername,
        reason: format!("Authentication failed: no Autotask API user is named {username}"),
        fix: format!(
            "Check the API username: in Autotask, {WHERE_TO_FIND_API_USER} and copy its Username (Key) in full, without extra characters"
        ),
    }
}

fn authentication_failed(username: &str) -> Failure {
    let checks = "Check in Autotask: (1) the API secret was copied in full, without extra characters; (2) the API user is Active; (3) the key or secret was not regenerated since it was copied here (regenerating invalidates the old one: enter the new secret); (4) the integration code (API tracking identifier) used by this server is accepted for this Autotask database";
    if looks_like_person_email(username) {
        return Failure {
            kind: TestFailureKind::AuthenticationFailed,
            reason: "Authentication failed: the API username looks like a person's email address, not the API username (integration key)".to_owned(),
            fix: format!(
                "Enter the API username (integration key): in Autotask, {WHERE_TO_FIND_API_USER} and copy its Username (Key). {checks}"
            ),
        };
    }
    Failure {
        kind: TestFailureKind::AuthenticationFailed,
        reason: "Authentication failed: Autotask refused the API username and secret".to_owned(),
        fix: checks.to_owned(),
    }
}

fn general_failure(error: AutotaskError) -> Failure {
    match error {
        AutotaskError::Transport {
            kind,
            host,
            via_override,
            ..
        } => {
            let via = via_override
                .map(|base| format!(" (through the test transport override {base})"))
                .unwrap_or_default();
            Failure {
                kind: TestFailureKind::Unreachable,
                reason: format!("Autotask could not be reached: {host}{via}: {kind}"),
                fix: format!(
                    "Check that this server can reach https://{host}/ (DNS, firewall, proxy, outbound https), then test again; your credentials were not checked yet"
                ),
            }
        }
        AutotaskError::ThreadThreshold { message } | AutotaskError::RateLimited { message } => Failure {
            kind: TestFailureKind::PlatformError,
            reason: format!("Autotask is limiting requests for this database: {message}"),
            fix: "Wait a few minutes and test again; other integrations may be using this database's API allowance".to_owned(),
        },
        AutotaskError::AuthenticationPaused { .. } => Failure {
            kind: TestFailureKind::AuthenticationFailed,
            reason: format!("Not tested: {error}"),
            fix: "Check the API username and secret in Autotask before testing again: the secret saved here was refused, and a secret Autotask already accepted for this user is still tried. If this is not your API user, someone may be trying to guess its secret".to_owned(),
        },
        AutotaskError::BudgetExhausted(_) => Failure {
            kind: TestFailureKind::PlatformError,
            reason: format!("Not tested: {error}"),
            fix: "Wait until the hourly request budget frees up (it is a rolling hour), or raise this server's Autotask request budget".to_owned(),
        },
        AutotaskError::Rejected { status, messages } => Failure {
            kind: TestFailureKind::PlatformError,
            reason: format!("Autotask answered with an error (HTTP {status}): {}", messages.join("; ")),
            fix: "Try again in a few minutes; if it keeps failing, contact Autotask support with this message".to_owned(),
        },
        AutotaskError::Decode { status, detail } => Failure {
            kind: TestFailureKind::PlatformError,
            reason: format!("Autotask answered with something that is not its API (HTTP {status}): {detail}"),
            fix: "Try again in a few minutes; if it keeps failing, check the Autotask service status or any proxy between this server and Autotask".to_owned(),
        },
        AutotaskError::IntegrationCodeMissing => Failure {
            kind: TestFailureKind::MissingValue,
            reason: "No Autotask integration code is configured".to_owned(),
            fix: "Ask the administrator of this server to set FUSION_AUTOTASK_INTEGRATION_CODE, or enter this organisation's own integration code".to_owned(),
        },
        other => Failure {
            kind: TestFailureKind::PlatformError,
            reason: format!("Autotask answered unexpectedly: {other}"),
            fix: "Try again in a few minutes; if it keeps failing, contact support with this message".to_owned(),
        },
    }
}

/// Autotask credentials are printable ASCII; anything else cannot be sent as a header value.
fn is_header_safe(value: &str) -> bool {
    value.chars().all(|c| c.is_ascii_graphic() || c == ' ')
}

fn clamp_u32(value: i64) -> u32 {
    u32::try_from(value.max(0)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn person_emails_are_told_apart_from_integration_keys() {
        assert!(looks_like_person_email("jane.doe@northwindit.example"));
        assert!(looks_like_person_email("jane_doe@contoso.example"));
        assert!(looks_like_person_email("jdoe@contoso.example"));
        assert!(!looks_like_person_email(
            "7QKXG2MZ4HPWLRB@NORTHWINDIT.EXAMPLE"
        ));
        assert!(!looks_like_person_email("mfcjtkh5ijzwtc3@contoso.example"));
        assert!(!looks_like_person_email("not-an-email"));
    }

    #[test]
    fn connection_input_debug_redacts_the_secret() {
        let input = ConnectionInput {
            api_url: "https://webservices2.autotask.net/".into(),
            username: "KEY@X.EXAMPLE".into(),
            secret: SecretString::from("Zq9-very-secret"),
            integration_code: Some("CODE".into()),
        };
        let debug = format!("{input:?}");
        assert!(!debug.contains("Zq9"));
        assert!(!debug.contains("CODE"));
    }
}
