//! The `PlatformTenants` port: what Settings and the configuration screens ask of a platform about
//! one organisation's tenant, in domain vocabulary — check and clean what a person typed, test the
//! connection, load the tenant's live choices and mappable ticket fields, the platform's default
//! mappings and value suggestions, the ticket facts a description can show, and the preview of one
//! real ticket. The Autotask adapter implements it (`fusion-autotask`'s `AutotaskTenants`); the web
//! layer reaches it only through this trait, so it knows no platform's URL rules or field names.
//!
//! Rules every implementation follows:
//! - A secret crosses the port only inside [`TenantCredentials`] (a `SecretString`, redacted in
//!   `Debug`) and is never logged, echoed or put into an error message.
//! - Errors ([`TenantError`]) carry messages for people; internal causes go to the adapter's log.
//! - A preview shows only a ticket of the company the caller names (privacy between
//!   relationships): a ticket of another company is answered as not found.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use fusion_domain::{
    Choice, ChoiceValue, ConnectionTestReport, FieldMapping, RelationshipId, ValueMapping,
};
use secrecy::SecretString;
use time::OffsetDateTime;

/// One organisation's credentials for its tenant, as saved or as typed into a form (not yet
/// checked: the connection test checks them step by step).
#[derive(Clone)]
pub struct TenantCredentials {
    pub api_url: String,
    pub username: String,
    pub secret: SecretString,
    /// The organisation's own integration code, overriding the deployment's.
    pub integration_code: Option<String>,
}

impl fmt::Debug for TenantCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantCredentials")
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

/// A credential field a person fills in on Settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialField {
    ApiUrl,
    Username,
    Secret,
    IntegrationCode,
}

/// What to tell a person who left a credential field empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialHelp {
    /// The fix shown when a save leaves the field empty (`None`: the field may stay empty, e.g.
    /// the secret, which keeps the saved one).
    pub when_empty: Option<String>,
    /// The fix of a connection test that found nothing saved in the field.
    pub when_not_saved: String,
}

/// A pasted value after cleaning, and what was removed in words ("a trailing newline"), never
/// any part of the value itself.
#[derive(Clone, PartialEq, Eq)]
pub struct CleanedInput {
    pub value: String,
    pub removed: Vec<String>,
}

impl fmt::Debug for CleanedInput {
    // The value may be a secret: never print it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CleanedInput")
            .field("value", &"[redacted]")
            .field("removed", &self.removed)
            .finish()
    }
}

/// Why an entered API URL cannot be used, for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiUrlProblem {
    /// What is wrong ("That is your Autotask portal URL; the API URL is …").
    pub message: String,
    /// What to do instead.
    pub fix: String,
    /// The API URL the person most likely meant (e.g. from a portal URL), when there is one.
    pub suggested_api_url: Option<String>,
}

/// One mappable ticket field of a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketField {
    /// The platform's field name, opaque to the core (`status`, `udf:<name>`, …).
    pub name: String,
    /// What people read, e.g. "Status".
    pub label: String,
    /// The choice list holding its values, for picklist fields ("status", "queue", …).
    pub picklist: Option<&'static str>,
    pub is_required: bool,
    pub is_read_only: bool,
}

/// A ticket fact a description composition can show besides the mappable fields
/// (ticket number, company, contact, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketFact {
    /// The platform's field name.
    pub name: String,
    pub label: String,
}

/// A tenant's live configuration choices as fetched at one moment: named lists of [`Choice`]s
/// ("queue", "status", "company", …) and the ticket fields a mapping can use.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveChoices {
    lists: BTreeMap<String, Vec<Choice>>,
    ticket_fields: Vec<TicketField>,
    fetched_at: OffsetDateTime,
}

impl LiveChoices {
    pub fn new(
        lists: BTreeMap<String, Vec<Choice>>,
        ticket_fields: Vec<TicketField>,
        fetched_at: OffsetDateTime,
    ) -> LiveChoices {
        LiveChoices {
            lists,
            ticket_fields,
            fetched_at,
        }
    }

    /// The choices of a named list, in the tenant's order; inactive values are included and
    /// flagged. An unknown name gives an empty list.
    pub fn list(&self, name: &str) -> Vec<Choice> {
        self.list_ref(name).to_vec()
    }

    /// The same list, borrowed.
    pub fn list_ref(&self, name: &str) -> &[Choice] {
        self.lists.get(name).map(Vec::as_slice).unwrap_or_default()
    }

    /// The names of the lists that were loaded.
    pub fn list_names(&self) -> impl Iterator<Item = &str> {
        self.lists.keys().map(String::as_str)
    }

    /// The label of a value in a list ("5" in "status" → "Complete").
    pub fn label_of(&self, list: &str, value: &ChoiceValue) -> Option<&str> {
        self.list_ref(list)
            .iter()
            .find(|choice| &choice.value == value)
            .map(|choice| choice.label.as_str())
    }

    /// The ticket fields a mapping can use in this tenant.
    pub fn ticket_fields(&self) -> &[TicketField] {
        &self.ticket_fields
    }

    /// When the tenant was asked.
    pub fn fetched_at(&self) -> OffsetDateTime {
        self.fetched_at
    }
}

/// Whether loaded choices may come from the adapter's cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Choices loaded a short while ago will do (the adapter says how long, by its clock).
    Cached,
    /// Ask the tenant again (the person pressed "Refresh").
    Reload,
}

/// Which ticket a description preview shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreviewTicket {
    /// The most recently active ticket of the connection's company.
    Latest,
    /// By the platform's id (the number in the ticket's URL).
    Id(i64),
    /// By the ticket number people see and quote, e.g. "T20261204.0001".
    Number(String),
}

/// One real ticket as the configuration screens show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketPreview {
    pub ticket_number: String,
    pub title: String,
    pub description: String,
    /// Field name (as in [`TicketField::name`] and [`TicketFact::name`]) → display value:
    /// labels instead of codes, names instead of ids, readable dates. Empty fields are left out.
    pub values: BTreeMap<String, String>,
}

/// A failed tenant request, with a message for people (what happened; where the platform says
/// it, what to do).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantError {
    /// The platform refused the credentials or the API user may not read what was asked:
    /// nothing works until a person fixes the API user or its settings.
    #[error("{message}")]
    Refused { message: String },
    /// What was asked for does not exist, or is not one the caller may see (a ticket of another
    /// company is answered like this).
    #[error("{message}")]
    NotFound { message: String },
    /// The platform could not be reached or answered in a way that could not be used (limits,
    /// outages, unreadable answers); trying later may work.
    #[error("{message}")]
    Unavailable { message: String },
    /// This server cannot talk to the platform at all (its platform settings are unusable).
    #[error("{message}")]
    NotSetUp { message: String },
    /// This server's share of the tenant's API budget does not allow the request now (nothing
    /// was sent; see [`crate::budget`]): try again in `retry_after_secs`.
    #[error("{message}")]
    WaitingForBudget {
        message: String,
        retry_after_secs: u64,
    },
}

impl TenantError {
    /// A short stable name for logs.
    pub fn kind_name(&self) -> &'static str {
        match self {
            TenantError::Refused { .. } => "refused",
            TenantError::NotFound { .. } => "not_found",
            TenantError::Unavailable { .. } => "unavailable",
            TenantError::NotSetUp { .. } => "not_set_up",
            TenantError::WaitingForBudget { .. } => "waiting_for_budget",
        }
    }
}

/// What Settings and the configuration screens need from a platform about tenants.
#[async_trait]
pub trait PlatformTenants: Send + Sync {
    /// Cleans a pasted credential value (edge whitespace, quotes, zero-width characters) and
    /// says what was removed.
    fn clean_input(&self, raw: &str) -> CleanedInput;

    /// Checks an entered, non-empty API URL: the URL as it will be saved, or why it cannot be.
    fn check_api_url(&self, entered: &str) -> Result<String, ApiUrlProblem>;

    /// What to tell a person who left `field` empty.
    fn credential_help(&self, field: CredentialField) -> CredentialHelp;

    /// Checks a cleaned, non-empty value that is about to be saved or sent: `Err` says (in
    /// words for people, never quoting the value) why it can never be right. The default refuses
    /// control and invisible formatting characters (a line break or NUL in a saved username would
    /// end up in an HTTP header) and values over 1,000 characters; a platform narrows this to its
    /// own fields' limits.
    fn check_credential(&self, field: CredentialField, value: &str) -> Result<(), String> {
        let label = match field {
            CredentialField::ApiUrl => "API URL",
            CredentialField::Username => "API username",
            CredentialField::Secret => "API secret",
            CredentialField::IntegrationCode => "integration code",
        };
        if value.chars().count() > 1_000 {
            return Err(format!("The {label} is longer than any {label} can be."));
        }
        if fusion_domain::has_hidden_controls(value) {
            return Err(format!(
                "The {label} contains control characters (a line break, NUL or an invisible formatting character); enter it on one line, without them."
            ));
        }
        Ok(())
    }

    /// Runs the connection test step by step; never fails, the outcome is in the report.
    async fn test_connection(&self, credentials: TenantCredentials) -> ConnectionTestReport;

    /// The tenant's live choices and mappable ticket fields.
    async fn choices(
        &self,
        credentials: &TenantCredentials,
        freshness: Freshness,
    ) -> Result<Arc<LiveChoices>, TenantError>;

    /// The mappable ticket fields every tenant has, for when a tenant's own list is not loaded.
    fn standard_ticket_fields(&self) -> Vec<TicketField>;

    /// The mapping set a new relationship starts with (value mappings empty).
    fn default_field_mappings(&self, relationship: RelationshipId) -> Vec<FieldMapping>;

    /// "Match by label" for one picklist field between two tenants' choices.
    fn suggested_value_mappings(
        &self,
        field: &TicketField,
        source: &LiveChoices,
        target: &LiveChoices,
    ) -> Vec<ValueMapping>;

    /// The ticket facts a description composition can show besides the mappable fields.
    fn ticket_facts(&self) -> Vec<TicketFact>;

    /// The ticket type mappings apply to (e.g. "Ticket").
    fn ticket_type(&self) -> &'static str;

    /// The address of ticket `ticket` in the tenant's own web UI, from the tenant's saved API URL
    /// (`None` when the URL is not valid). Opens in the person's signed-in browser session.
    fn ticket_web_url(
        &self,
        api_url: &str,
        ticket: &fusion_domain::sync::TicketId,
    ) -> Option<String>;

    /// The preview of `ticket` (by id, by the ticket number people know, or the most recently
    /// active one) — only ever a ticket of `company` (the company the connection carries on this
    /// side); any other ticket is [`TenantError::NotFound`].
    async fn preview(
        &self,
        credentials: &TenantCredentials,
        ticket: &PreviewTicket,
        company: &ChoiceValue,
    ) -> Result<TicketPreview, TenantError>;

    /// Requests per hour this server allows itself per tenant unless the tenant's organisation
    /// set another share; `None` when it cannot call the platform at all.
    fn hourly_request_limit(&self) -> Option<u32>;

    /// Requests this server sent in the last hour to the tenant of API user `username`, once
    /// known (costs no request).
    fn requests_last_hour(&self, username: &str) -> Option<u32>;

    /// This server's hourly share of the tenant of API user `username` — its organisation may have
    /// set one (see [`crate::budget`]) — else [`Self::hourly_request_limit`].
    fn hourly_request_limit_for(&self, username: &str) -> Option<u32> {
        let _ = username;
        self.hourly_request_limit()
    }

    /// The key the API budget counts the tenant of API user `username` under
    /// ([`crate::budget`]), once known (costs no request).
    fn budget_key(&self, username: &str) -> Option<String>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_cleaned_values_never_print_the_secret() {
        let credentials = TenantCredentials {
            api_url: "https://webservices2.autotask.net/".to_owned(),
            username: "abc@example.com".to_owned(),
            secret: SecretString::from("s3cr3t-value"),
            integration_code: Some("CODE-123".to_owned()),
        };
        let printed = format!("{credentials:?}");
        assert!(!printed.contains("s3cr3t-value"), "{printed}");
        assert!(!printed.contains("CODE-123"), "{printed}");
        let cleaned = CleanedInput {
            value: "s3cr3t-value".to_owned(),
            removed: vec!["a trailing newline".to_owned()],
        };
        let printed = format!("{cleaned:?}");
        assert!(!printed.contains("s3cr3t-value"), "{printed}");
        assert!(printed.contains("a trailing newline"), "{printed}");
    }

    #[test]
    fn live_choices_look_up_lists_and_labels_by_name() {
        let status = Choice {
            value: ChoiceValue::new("5"),
            label: "Complete".to_owned(),
            is_active: true,
            is_default: false,
            parent: None,
        };
        let choices = LiveChoices::new(
            BTreeMap::from([("status".to_owned(), vec![status])]),
            Vec::new(),
            OffsetDateTime::UNIX_EPOCH,
        );
        assert_eq!(
            choices.label_of("status", &ChoiceValue::new("5")),
            Some("Complete")
        );
        assert!(choices.list("queue").is_empty());
        assert_eq!(choices.list_names().collect::<Vec<_>>(), ["status"]);
    }
}
