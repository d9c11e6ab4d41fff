//! The `/api/v1` request and response bodies. Domain types carry no serde; these DTOs are the
//! only JSON shapes, so the wire format changes only here. Request DTOs hold secrets as
//! `SecretString` and derive no `Debug`.

use fusion_domain::{ApiUsage, ConnectionTestReport, Organisation, Person};
use fusion_engine::ports::{CredentialsAuditEntry, PlatformCredentials};
use secrecy::SecretString;
use serde::{Deserialize, Deserializer, Serialize};

use crate::platform_settings::{CleanSettings, RawSettings, TestRun, Trimmed, clean};
use crate::wording::{api_timestamp, api_usage_summary};

#[derive(Serialize)]
pub(crate) struct MeResponse {
    pub person: PersonDto,
    pub organisation: OrganisationDto,
    /// "session" or "api_token".
    pub auth: &'static str,
    /// For cookie-authenticated callers: the value to send as `X-CSRF-Token` on writes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct PersonDto {
    pub id: String,
    pub email: String,
    pub display_name: String,
}

impl From<&Person> for PersonDto {
    fn from(person: &Person) -> Self {
        Self {
            id: person.id.to_string(),
            email: person.email.clone(),
            display_name: person.display_name.clone(),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct OrganisationDto {
    pub id: String,
    pub name: String,
    pub platform: Option<&'static str>,
}

impl From<&Organisation> for OrganisationDto {
    fn from(org: &Organisation) -> Self {
        Self {
            id: org.id.to_string(),
            name: org.name.clone(),
            platform: org.platform.map(|platform| platform.as_str()),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct SecretStatusDto {
    pub set: bool,
    pub changed_at: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct PlatformDto {
    pub platform: Option<&'static str>,
    pub api_url: String,
    pub username: String,
    /// Write-only: only whether it is set and when it last changed.
    pub secret: SecretStatusDto,
    pub integration_code_override: Option<String>,
    pub updated_at: Option<String>,
    pub last_test: Option<TestResultDto>,
    /// True when the settings were saved after the last test, so it may no longer hold.
    pub last_test_outdated: bool,
}

impl PlatformDto {
    pub fn new(
        credentials: Option<&PlatformCredentials>,
        last_test: Option<&ConnectionTestReport>,
    ) -> Self {
        let last_test_outdated = match (credentials, last_test) {
            (Some(credentials), Some(report)) => credentials.updated_at > report.tested_at,
            _ => false,
        };
        let last_test = last_test.map(TestResultDto::from_report);
        match credentials {
            Some(credentials) => Self {
                platform: Some(credentials.platform.as_str()),
                api_url: credentials.api_url.clone(),
                username: credentials.username.clone(),
                secret: SecretStatusDto {
                    set: credentials.secret_set,
                    changed_at: credentials.secret_changed_at.map(api_timestamp),
                },
                integration_code_override: credentials.integration_code_override.clone(),
                updated_at: Some(api_timestamp(credentials.updated_at)),
                last_test,
                last_test_outdated,
            },
            None => Self {
                platform: None,
                api_url: String::new(),
                username: String::new(),
                secret: SecretStatusDto {
                    set: false,
                    changed_at: None,
                },
                integration_code_override: None,
                updated_at: None,
                last_test,
                last_test_outdated,
            },
        }
    }
}

#[derive(Serialize)]
pub(crate) struct TrimmedDto {
    pub field: &'static str,
    pub removed: Vec<String>,
}

impl From<&Trimmed> for TrimmedDto {
    fn from(trimmed: &Trimmed) -> Self {
        Self {
            field: trimmed.field.api_name(),
            removed: trimmed.removed.clone(),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct SaveResponse {
    #[serde(flatten)]
    pub platform: PlatformDto,
    /// What cleaning removed from the values sent, per field.
    pub trimmed: Vec<TrimmedDto>,
    /// The same, as sentences to show.
    pub notes: Vec<String>,
}

/// Distinguishes "absent" (keep) from `null` (clear) for the integration code override.
fn double_option<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// `PUT …/platform` and the optional body of `POST …/platform/test`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct PlatformSettingsRequest {
    #[serde(default)]
    pub platform: Option<String>,
    #[serde(default)]
    pub api_url: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    /// Absent, `null` or empty: keep the saved secret.
    #[serde(default)]
    pub secret: Option<SecretString>,
    /// Absent: keep; `null`: clear; a string: set.
    #[serde(default, deserialize_with = "double_option")]
    pub integration_code_override: Option<Option<String>>,
}

impl PlatformSettingsRequest {
    pub fn clean(self, tenants: &dyn fusion_engine::PlatformTenants) -> CleanSettings {
        clean(
            tenants,
            RawSettings {
                platform: self.platform,
                api_url: self.api_url,
                username: self.username,
                secret: self.secret,
                integration_code_override: self.integration_code_override,
            },
        )
    }
}

#[derive(Serialize)]
pub(crate) struct ApiUsageDto {
    pub requests_used: u32,
    pub request_limit: u32,
    pub timeframe_minutes: u32,
    /// E.g. "124 of the 10,000 requests Autotask allows this hour (every integration together)".
    pub summary: String,
}

impl From<&ApiUsage> for ApiUsageDto {
    fn from(usage: &ApiUsage) -> Self {
        Self {
            requests_used: usage.requests_used,
            request_limit: usage.request_limit,
            timeframe_minutes: usage.timeframe_minutes,
            summary: api_usage_summary(usage),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct TestResultDto {
    /// "Connection tested" or "Test failed".
    pub status: &'static str,
    pub reason: String,
    pub fix: Option<String>,
    pub zone: Option<String>,
    /// Stable name of the failed step, e.g. "authentication_failed"; `null` on success.
    pub failure: Option<&'static str>,
    pub notes: Vec<String>,
    pub api_usage: Option<ApiUsageDto>,
    pub tested_at: String,
}

impl TestResultDto {
    pub fn from_report(report: &ConnectionTestReport) -> Self {
        Self {
            status: report.outcome.label(),
            reason: report.reason.clone(),
            fix: report.fix.clone(),
            zone: report.zone.clone(),
            failure: report.failure.map(|kind| kind.as_str()),
            notes: report.notes.clone(),
            api_usage: report.api_usage.as_ref().map(ApiUsageDto::from),
            tested_at: api_timestamp(report.tested_at),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct TestResponse {
    #[serde(flatten)]
    pub result: TestResultDto,
    /// "saved" (stored as the last test result) or "unsaved" (values from the request, not stored).
    pub tested_values: &'static str,
    /// After a passing test of the saved credentials: the organisation's webhooks, made or checked
    /// at once ("Webhooks: available" or why not).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhooks: Option<crate::hooks::WebhookStatusDto>,
}

impl From<&TestRun> for TestResponse {
    fn from(run: &TestRun) -> Self {
        Self {
            result: TestResultDto::from_report(&run.report),
            tested_values: run.tested_values.as_str(),
            webhooks: None,
        }
    }
}

#[derive(Serialize)]
pub(crate) struct AuditEntryDto {
    /// Which field changed (never its value), e.g. "api_secret".
    pub field: String,
    pub changed_at: String,
    /// The person's id, `null` when the change was not made by a person (e.g. the CLI).
    pub changed_by: Option<String>,
    pub changed_by_name: Option<String>,
}

impl AuditEntryDto {
    pub fn new(entry: &CredentialsAuditEntry, changed_by_name: Option<String>) -> Self {
        Self {
            field: entry.field.clone(),
            changed_at: api_timestamp(entry.changed_at),
            changed_by: entry.person_id.map(|id| id.to_string()),
            changed_by_name,
        }
    }
}

#[derive(Serialize)]
pub(crate) struct AuditResponse {
    pub entries: Vec<AuditEntryDto>,
}
