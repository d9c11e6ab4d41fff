//! The two things Settings does, shared by the JSON API and the pages: save platform credentials
//! (cleaned and the API URL checked by the platform, through the engine's `PlatformTenants` port)
//! and test a connection (the saved values, or values not saved yet). Only orchestration lives
//! here; the rules belong to the platform's adapter.

use fusion_domain::{ConnectionTestReport, OrgId, PersonId, PlatformKind, TestFailureKind};
use fusion_engine::{CredentialField, PlatformTenants, TenantCredentials};
use std::collections::HashMap;

use fusion_engine::ports::{CredentialsAuditEntry, CredentialsUpdate, PlatformCredentials};
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;

use crate::AppState;
use crate::error::ApiError;
use crate::wording::trimmed_note;

/// A credentials field, with the name the API uses and the label people read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    ApiUrl,
    Username,
    Secret,
    IntegrationCodeOverride,
}

impl Field {
    pub fn api_name(self) -> &'static str {
        match self {
            Field::ApiUrl => "api_url",
            Field::Username => "username",
            Field::Secret => "secret",
            Field::IntegrationCodeOverride => "integration_code_override",
        }
    }

    /// The same field in the port's words.
    fn credential(self) -> CredentialField {
        match self {
            Field::ApiUrl => CredentialField::ApiUrl,
            Field::Username => CredentialField::Username,
            Field::Secret => CredentialField::Secret,
            Field::IntegrationCodeOverride => CredentialField::IntegrationCode,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Field::ApiUrl => "API URL",
            Field::Username => "API username",
            Field::Secret => "API secret",
            Field::IntegrationCodeOverride => "integration code override",
        }
    }
}

/// What cleaning removed from one field.
#[derive(Debug, Clone)]
pub(crate) struct Trimmed {
    pub field: Field,
    pub removed: Vec<String>,
}

impl Trimmed {
    pub fn note(&self) -> String {
        trimmed_note(self.field.label(), &self.removed)
    }
}

/// Settings as entered (form or JSON), before cleaning.
pub(crate) struct RawSettings {
    pub platform: Option<String>,
    pub api_url: Option<String>,
    pub username: Option<String>,
    /// `None` or empty: keep the saved secret.
    pub secret: Option<SecretString>,
    /// `None`: keep; `Some(None)` or `Some(Some(""))`: clear; `Some(Some(code))`: set.
    pub integration_code_override: Option<Option<String>>,
}

/// Settings after cleaning; `None` fields were not given.
pub(crate) struct CleanSettings {
    pub platform: Option<String>,
    pub api_url: Option<String>,
    pub username: Option<String>,
    pub secret: Option<SecretString>,
    pub integration_code_override: Option<Option<String>>,
    pub trimmed: Vec<Trimmed>,
}

impl CleanSettings {
    pub fn notes(&self) -> Vec<String> {
        self.trimmed.iter().map(Trimmed::note).collect()
    }
}

fn clean_field(
    tenants: &dyn PlatformTenants,
    field: Field,
    raw: &str,
    trimmed: &mut Vec<Trimmed>,
) -> String {
    let cleaned = tenants.clean_input(raw);
    if !cleaned.removed.is_empty() {
        trimmed.push(Trimmed {
            field,
            removed: cleaned.removed.clone(),
        });
    }
    cleaned.value
}

pub(crate) fn clean(tenants: &dyn PlatformTenants, raw: RawSettings) -> CleanSettings {
    let mut trimmed = Vec::new();
    let api_url = raw
        .api_url
        .map(|value| clean_field(tenants, Field::ApiUrl, &value, &mut trimmed));
    let username = raw
        .username
        .map(|value| clean_field(tenants, Field::Username, &value, &mut trimmed));
    let secret = raw
        .secret
        .map(|value| clean_field(tenants, Field::Secret, value.expose_secret(), &mut trimmed))
        .filter(|value| !value.is_empty())
        .map(SecretString::from);
    let integration_code_override = raw.integration_code_override.map(|value| {
        value
            .map(|code| clean_field(tenants, Field::IntegrationCodeOverride, &code, &mut trimmed))
            .filter(|code| !code.is_empty())
    });
    CleanSettings {
        platform: raw.platform.map(|value| value.trim().to_owned()),
        api_url,
        username,
        secret,
        integration_code_override,
        trimmed,
    }
}

/// Why settings cannot be saved as entered.
#[derive(Debug, Clone)]
pub(crate) enum SettingsProblem {
    UnsupportedPlatform(String),
    /// Nothing was entered; `fix` is the platform's help for the field.
    Missing {
        field: Field,
        fix: Option<String>,
    },
    InvalidApiUrl {
        message: String,
        fix: String,
        suggestion: Option<String>,
    },
    /// A value that can never be right (control characters, longer than the platform's field).
    InvalidValue {
        field: Field,
        message: String,
    },
}

impl SettingsProblem {
    pub fn field(&self) -> &'static str {
        match self {
            SettingsProblem::UnsupportedPlatform(_) => "platform",
            SettingsProblem::Missing { field, .. } => field.api_name(),
            SettingsProblem::InvalidApiUrl { .. } => "api_url",
            SettingsProblem::InvalidValue { field, .. } => field.api_name(),
        }
    }

    pub fn message(&self) -> String {
        match self {
            SettingsProblem::UnsupportedPlatform(name) => {
                format!(
                    "\"{}\" is not a supported platform; the supported platform is Autotask.",
                    fusion_domain::echo_for_message(name, 100)
                )
            }
            SettingsProblem::Missing { field, .. } => format!("Enter the {}.", field.label()),
            SettingsProblem::InvalidApiUrl { message, .. } => message.clone(),
            SettingsProblem::InvalidValue { message, .. } => message.clone(),
        }
    }

    pub fn fix(&self) -> Option<String> {
        match self {
            SettingsProblem::UnsupportedPlatform(_) => Some("Choose Autotask.".to_owned()),
            SettingsProblem::Missing { fix, .. } => fix.clone(),
            SettingsProblem::InvalidApiUrl { fix, .. } => Some(fix.clone()),
            SettingsProblem::InvalidValue { .. } => None,
        }
    }

    pub fn suggestion(&self) -> Option<&str> {
        match self {
            SettingsProblem::InvalidApiUrl { suggestion, .. } => suggestion.as_deref(),
            _ => None,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            SettingsProblem::UnsupportedPlatform(_) => "unsupported_platform",
            SettingsProblem::Missing { .. } => "missing_value",
            SettingsProblem::InvalidApiUrl { .. } => "invalid_api_url",
            SettingsProblem::InvalidValue { .. } => "invalid_value",
        }
    }

    pub fn into_api_error(self) -> ApiError {
        ApiError::Invalid {
            code: self.code(),
            field: Some(self.field()),
            message: self.message(),
            fix: self.fix(),
            suggested_api_url: self.suggestion().map(str::to_owned),
        }
    }
}

/// A missing value, with the platform's help for the field.
fn missing(tenants: &dyn PlatformTenants, field: Field) -> SettingsProblem {
    SettingsProblem::Missing {
        field,
        fix: tenants.credential_help(field.credential()).when_empty,
    }
}

/// Checks an API URL the way a save does: the URL as it will be saved.
pub(crate) fn check_api_url(
    tenants: &dyn PlatformTenants,
    raw: &str,
) -> Result<String, SettingsProblem> {
    if raw.is_empty() {
        return Err(missing(tenants, Field::ApiUrl));
    }
    tenants
        .check_api_url(raw)
        .map_err(|problem| SettingsProblem::InvalidApiUrl {
            message: problem.message,
            fix: problem.fix,
            suggestion: problem.suggested_api_url,
        })
}

/// A save that passed every check.
pub(crate) struct ValidSave {
    pub update: CredentialsUpdate,
}

/// Checks a full save. The platform defaults to Autotask, the only one there is.
pub(crate) fn validate_save(
    tenants: &dyn PlatformTenants,
    settings: &CleanSettings,
) -> Result<ValidSave, Vec<SettingsProblem>> {
    let mut problems = Vec::new();
    let platform = match settings.platform.as_deref() {
        None | Some("") => Some(PlatformKind::Autotask),
        Some(name) => {
            let parsed = PlatformKind::parse(name);
            if parsed.is_none() {
                problems.push(SettingsProblem::UnsupportedPlatform(name.to_owned()));
            }
            parsed
        }
    };
    let api_url = match check_api_url(tenants, settings.api_url.as_deref().unwrap_or_default()) {
        Ok(url) => Some(url),
        Err(problem) => {
            problems.push(problem);
            None
        }
    };
    let username = settings.username.clone().unwrap_or_default();
    if username.is_empty() {
        problems.push(missing(tenants, Field::Username));
    }
    let mut refuse = |field: Field, value: &str| {
        if let Err(message) = tenants.check_credential(field.credential(), value) {
            problems.push(SettingsProblem::InvalidValue { field, message });
        }
    };
    if !username.is_empty() {
        refuse(Field::Username, &username);
    }
    if let Some(secret) = &settings.secret {
        refuse(Field::Secret, secret.expose_secret());
    }
    if let Some(Some(code)) = &settings.integration_code_override {
        refuse(Field::IntegrationCodeOverride, code);
    }
    match (platform, api_url) {
        (Some(platform), Some(api_url)) if problems.is_empty() => Ok(ValidSave {
            update: CredentialsUpdate {
                platform,
                api_url,
                username,
                secret: settings.secret.clone(),
                integration_code_override: settings.integration_code_override.clone(),
            },
        }),
        _ => Err(problems),
    }
}

pub(crate) async fn save(
    state: &AppState,
    org_id: OrgId,
    person_id: PersonId,
    valid: ValidSave,
) -> Result<PlatformCredentials, ApiError> {
    if let Some(webhooks) = state.webhooks() {
        webhooks
            .before_credentials_change(org_id, &valid.update.api_url, &valid.update.username)
            .await;
    }
    let saved = state
        .store()
        .save_platform_credentials(org_id, Some(person_id), valid.update)
        .await?;
    credentials_changed(state, org_id).await;
    Ok(saved)
}

/// New credentials may cure failures that wait for a change (a revoked permission, another API
/// user): the next run of each of the organisation's connections retries them.
pub(crate) async fn credentials_changed(state: &AppState, org_id: OrgId) {
    // New credentials may reach another tenant: its webhooks are looked at on the next pass.
    if let Some(webhooks) = state.webhooks() {
        webhooks.credentials_changed(org_id);
    }
    let relationships = match state.store().relationships_of(org_id).await {
        Ok(relationships) => relationships,
        Err(error) => {
            tracing::warn!(org = %org_id, %error, "could not list connections to retry their failed tickets");
            return;
        }
    };
    for relationship in relationships {
        if let Err(error) = state
            .store()
            .request_attention_retry(relationship.id, None)
            .await
        {
            tracing::warn!(relationship = %relationship.id, %error, "could not ask for failed tickets to be retried");
        }
    }
}

/// Which values a connection test used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TestedValues {
    /// Exactly what is saved; the result is stored as the last test result.
    Saved,
    /// Values given with the request and not saved; the result is shown, not stored.
    Unsaved,
}

impl TestedValues {
    pub fn as_str(self) -> &'static str {
        match self {
            TestedValues::Saved => "saved",
            TestedValues::Unsaved => "unsaved",
        }
    }
}

pub(crate) struct TestRun {
    pub report: ConnectionTestReport,
    pub tested_values: TestedValues,
}

fn missing_value_report(tenants: &dyn PlatformTenants, field: Field) -> ConnectionTestReport {
    ConnectionTestReport::failed(
        TestFailureKind::MissingValue,
        format!("No {} is saved.", field.label()),
        tenants.credential_help(field.credential()).when_not_saved,
        OffsetDateTime::now_utc(),
    )
}

/// Tests the connection with the saved values, each overridden by a value in `form` that differs
/// from what is saved. A test of exactly the saved values is stored as the last test result.
pub(crate) async fn test_connection(
    state: &AppState,
    org_id: OrgId,
    person_id: PersonId,
    form: Option<CleanSettings>,
) -> Result<TestRun, ApiError> {
    state.start_connection_test(org_id, person_id)?;
    let saved = state.store().platform_credentials(org_id).await?;
    let saved_secret = state.store().platform_secret(org_id).await?;

    let mut tested_values = TestedValues::Saved;
    let mut api_url = saved
        .as_ref()
        .map(|c| c.api_url.clone())
        .unwrap_or_default();
    let mut username = saved
        .as_ref()
        .map(|c| c.username.clone())
        .unwrap_or_default();
    let mut integration_code = saved
        .as_ref()
        .and_then(|c| c.integration_code_override.clone());
    let mut secret = saved_secret;
    let mut notes = Vec::new();

    if let Some(form) = form {
        notes = form.notes();
        if let Some(value) = form
            .api_url
            .filter(|value| !value.is_empty() && *value != api_url)
        {
            api_url = value;
            tested_values = TestedValues::Unsaved;
        }
        if let Some(value) = form
            .username
            .filter(|value| !value.is_empty() && *value != username)
        {
            username = value;
            tested_values = TestedValues::Unsaved;
        }
        if let Some(value) = form.secret {
            secret = Some(value);
            tested_values = TestedValues::Unsaved;
        }
        if let Some(value) = form.integration_code_override
            && value != integration_code
        {
            integration_code = value;
            tested_values = TestedValues::Unsaved;
        }
    }

    let tenants = state.tenants();
    let mut report = if api_url.is_empty() {
        missing_value_report(tenants, Field::ApiUrl)
    } else if username.is_empty() {
        missing_value_report(tenants, Field::Username)
    } else {
        match secret {
            None => missing_value_report(tenants, Field::Secret),
            Some(secret) => {
                tenants
                    .test_connection(TenantCredentials {
                        api_url,
                        username,
                        secret,
                        integration_code,
                    })
                    .await
            }
        }
    };
    report.notes.extend(notes);
    if tested_values == TestedValues::Saved {
        state.store().record_test_result(org_id, &report).await?;
    }
    tracing::info!(
        %org_id,
        outcome = report.outcome.label(),
        failure = report.failure.map(|kind| kind.as_str()),
        tested_values = tested_values.as_str(),
        "connection tested"
    );
    Ok(TestRun {
        report,
        tested_values,
    })
}

/// Shown with a new API token.
pub(crate) const API_TOKEN_SHOWN_ONCE: &str =
    "This token is shown only once: store it now. Send it as `Authorization: Bearer <token>`.";

/// A tidy label for a new API token (kept short: it is only for telling tokens apart).
pub(crate) fn api_token_label(raw: Option<&str>) -> String {
    let label: String = raw.unwrap_or_default().trim().chars().take(100).collect();
    if label.is_empty() {
        "API token".to_owned()
    } else {
        label
    }
}

/// The credentials audit log, newest first, with the name of the person behind each change.
pub(crate) async fn change_history(
    state: &AppState,
    org_id: OrgId,
) -> Result<Vec<(CredentialsAuditEntry, Option<String>)>, ApiError> {
    let entries = state.store().credentials_audit_log(org_id).await?;
    let mut names: HashMap<PersonId, Option<String>> = HashMap::new();
    let mut history = Vec::with_capacity(entries.len());
    for entry in entries {
        let name = match entry.person_id {
            None => None,
            Some(person_id) => match names.get(&person_id) {
                Some(name) => name.clone(),
                None => {
                    let name = state
                        .store()
                        .person(person_id)
                        .await?
                        .filter(|person| person.org_id == org_id)
                        .map(|person| person.display_name);
                    names.insert(person_id, name.clone());
                    name
                }
            },
        };
        history.push((entry, name));
    }
    Ok(history)
}

/// The label people read for an audit-log field name.
pub(crate) fn audit_field_label(field: &str) -> String {
    match field {
        "platform" => "Platform".to_owned(),
        "api_url" => "API URL".to_owned(),
        "username" => "API username".to_owned(),
        "api_secret" | "secret" => "API secret".to_owned(),
        "integration_code_override" => "Integration code override".to_owned(),
        other => other.replace('_', " "),
    }
}
