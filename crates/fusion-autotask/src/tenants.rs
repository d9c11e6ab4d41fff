//! [`AutotaskTenants`]: the engine's `PlatformTenants` port for Autotask — what Settings and the
//! configuration screens ask of an organisation's tenant, answered with this crate's URL rules,
//! credential cleaning, connection test, choices, ticket fields and previews.
//!
//! It also keeps the tenants' choices for [`CHOICES_TTL`] by the injected clock: the screens ask
//! for them on every page, and a preview needs the same choices (with the field information only
//! this crate reads) to show labels instead of codes. An entry is keyed by API user and
//! integration code and only served to a caller holding the same secret, so a cache hit never
//! skips the proof a request to Autotask would have asked for.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use fusion_domain::{
    ChoiceValue, Clock, ConnectionTestReport, FieldMapping, RelationshipId, ValueMapping,
};
use fusion_engine::{
    ApiUrlProblem, CleanedInput, CredentialField, CredentialHelp, Freshness, LiveChoices,
    PlatformTenants, PreviewTicket, TenantCredentials, TenantError, TicketFact, TicketField,
    TicketPreview,
};
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;

use crate::api_url::{ApiUrl, ApiUrlError, suggest_api_url};
use crate::choices::{TenantChoices, load_choices};
use crate::client::{AutotaskClient, AutotaskService, Credentials};
use crate::connection_test::{ConnectionInput, ConnectionTester};
use crate::credential::clean_credential;
use crate::error::AutotaskError;
use crate::ticket_fields::{
    TICKET_FACTS, TICKET_TYPE, default_field_mappings, preview_values, suggest_between,
    ticket_fields,
};

/// How long loaded choices are used before they are loaded again (by the injected clock):
/// picklists change rarely, and each load costs eight requests of the tenant's budget.
pub const CHOICES_TTL: time::Duration = time::Duration::minutes(10);

/// Which tenant and API user an entry was loaded for (a changed API user is a new entry).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CacheKey {
    username: String,
    integration_code: Option<String>,
}

struct CachedChoices {
    /// The secret the choices were loaded with; a caller with another secret loads its own.
    secret: SecretString,
    autotask: Arc<TenantChoices>,
    live: Arc<LiveChoices>,
    loaded_at: OffsetDateTime,
}

/// Autotask's answer to the `PlatformTenants` port. Shares the connection tester's
/// [`AutotaskService`] (one HTTP pool, zone cache, limiter and request budget with the rest of
/// the process).
pub struct AutotaskTenants {
    tester: ConnectionTester,
    clock: Arc<dyn Clock>,
    cache: Mutex<HashMap<CacheKey, CachedChoices>>,
}

impl std::fmt::Debug for AutotaskTenants {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AutotaskTenants")
            .field("tester", &self.tester)
            .finish_non_exhaustive()
    }
}

impl AutotaskTenants {
    /// Tenants reached through `tester`'s service; `clock` times the choices cache.
    pub fn new(tester: ConnectionTester, clock: Arc<dyn Clock>) -> AutotaskTenants {
        AutotaskTenants {
            tester,
            clock,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn service(&self) -> Result<&AutotaskService, TenantError> {
        self.tester.service().ok_or_else(|| TenantError::NotSetUp {
            message: "this server could not set up its Autotask client".to_owned(),
        })
    }

    pub(crate) fn client(
        &self,
        credentials: &TenantCredentials,
    ) -> Result<AutotaskClient, TenantError> {
        Ok(self.service()?.client(Credentials {
            username: credentials.username.clone(),
            secret: credentials.secret.clone(),
            integration_code: credentials.integration_code.clone(),
            impersonation_resource_id: None,
        }))
    }

    /// The tenant's choices in both shapes: from the cache when fresh enough, else loaded.
    async fn load(
        &self,
        credentials: &TenantCredentials,
        freshness: Freshness,
    ) -> Result<(Arc<TenantChoices>, Arc<LiveChoices>), TenantError> {
        let client = self.client(credentials)?;
        let key = CacheKey {
            username: credentials.username.clone(),
            integration_code: credentials.integration_code.clone(),
        };
        let now = self.clock.now();
        if freshness == Freshness::Cached
            && let Some(cached) = self.cached(&key, &credentials.secret, now)
        {
            return Ok(cached);
        }
        let loaded = load_choices(&client).await.map_err(|error| {
            tracing::warn!(kind = error.kind_name(), "loading Autotask choices failed");
            tenant_error(error)
        })?;
        let live = Arc::new(live_choices(&loaded));
        let autotask = Arc::new(loaded);
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache.retain(|_, entry| now - entry.loaded_at < CHOICES_TTL);
        cache.insert(
            key,
            CachedChoices {
                secret: credentials.secret.clone(),
                autotask: autotask.clone(),
                live: live.clone(),
                loaded_at: now,
            },
        );
        Ok((autotask, live))
    }

    fn cached(
        &self,
        key: &CacheKey,
        secret: &SecretString,
        now: OffsetDateTime,
    ) -> Option<(Arc<TenantChoices>, Arc<LiveChoices>)> {
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache
            .get(key)
            .filter(|entry| now - entry.loaded_at < CHOICES_TTL)
            .filter(|entry| same_secret(&entry.secret, secret))
            .map(|entry| (entry.autotask.clone(), entry.live.clone()))
    }
}

/// Compares two secrets in time that depends only on their lengths.
fn same_secret(left: &SecretString, right: &SecretString) -> bool {
    let (left, right) = (
        left.expose_secret().as_bytes(),
        right.expose_secret().as_bytes(),
    );
    left.len() == right.len()
        && left
            .iter()
            .zip(right)
            .fold(0u8, |difference, (a, b)| difference | (a ^ b))
            == 0
}

/// The engine's view of a tenant's choices: the named lists and the mappable ticket fields.
fn live_choices(choices: &TenantChoices) -> LiveChoices {
    LiveChoices::new(
        choices
            .list_names()
            .map(|name| (name.to_owned(), choices.list(name)))
            .collect(),
        ticket_fields(choices),
        choices.fetched_at(),
    )
}

/// An Autotask failure as the port's error; the message is the adapter's words for people.
fn tenant_error(error: AutotaskError) -> TenantError {
    let message = error.to_string();
    match error {
        AutotaskError::Unauthorized
        | AutotaskError::ZoneUnknown
        | AutotaskError::AuthenticationPaused { .. }
        | AutotaskError::PermissionDenied { .. } => TenantError::Refused { message },
        AutotaskError::NotFound { .. } => TenantError::NotFound { message },
        AutotaskError::IntegrationCodeMissing | AutotaskError::Setup(_) => {
            TenantError::NotSetUp { message }
        }
        AutotaskError::ThreadThreshold { .. }
        | AutotaskError::RateLimited { .. }
        | AutotaskError::Rejected { .. }
        | AutotaskError::Transport { .. }
        | AutotaskError::Decode { .. }
        | AutotaskError::UnexpectedZoneUrl { .. } => TenantError::Unavailable { message },
        AutotaskError::BudgetExhausted(wait) => TenantError::WaitingForBudget {
            message: format!("{wait}."),
            retry_after_secs: wait.retry_after_secs(time::OffsetDateTime::now_utc()),
        },
    }
}

/// The problem with an entered API URL, naming the API URL when a portal URL was entered.
fn api_url_problem(entered: &str, error: &ApiUrlError) -> ApiUrlProblem {
    let suggested_api_url = suggest_api_url(entered).map(|url| url.as_str().to_owned());
    let message = match (&suggested_api_url, error) {
        (Some(api_url), ApiUrlError::PortalUrl { .. }) => {
            format!("That is your Autotask portal URL; the API URL is {api_url}")
        }
        _ => error.to_string(),
    };
    ApiUrlProblem {
        message,
        fix: error.fix(),
        suggested_api_url,
    }
}

#[async_trait]
impl PlatformTenants for AutotaskTenants {
    fn clean_input(&self, raw: &str) -> CleanedInput {
        let cleaned = clean_credential(raw);
        CleanedInput {
            value: cleaned.value,
            removed: cleaned.removed,
        }
    }

    fn check_api_url(&self, entered: &str) -> Result<String, ApiUrlProblem> {
        ApiUrl::parse(entered)
            .map(|url| url.as_str().to_owned())
            .map_err(|error| api_url_problem(entered, &error))
    }

    fn check_credential(&self, field: CredentialField, value: &str) -> Result<(), String> {
        let field = match field {
            CredentialField::ApiUrl => crate::input_checks::InputField::ApiUrl,
            CredentialField::Username => crate::input_checks::InputField::Username,
            CredentialField::Secret => crate::input_checks::InputField::Secret,
            CredentialField::IntegrationCode => crate::input_checks::InputField::IntegrationCode,
        };
        crate::input_checks::check_input(field, value)
            .map_err(|problem| format!("{}. {}.", problem.message, problem.fix))
    }

    fn credential_help(&self, field: CredentialField) -> CredentialHelp {
        let (when_empty, when_not_saved) = match field {
            CredentialField::ApiUrl => (
                Some(
                    "Use your portal URL with ww replaced by webservices, e.g. https://webservices2.autotask.net/ for https://ww2.autotask.net/.",
                ),
                "Enter the API URL: your portal URL with ww replaced by webservices, e.g. https://webservices2.autotask.net/, then Save.",
            ),
            CredentialField::Username => (
                Some(
                    "Use the API username shown when the API key was generated in Autotask (an integration key, not your email address).",
                ),
                "Enter the API username shown when the API key was generated in Autotask (not your email address), then Save.",
            ),
            CredentialField::Secret => (
                None,
                "Enter the API secret shown when the API key was generated in Autotask, then Save. If you no longer have it, regenerate the key in Autotask (this invalidates the old secret) and enter the new one.",
            ),
            CredentialField::IntegrationCode => (
                None,
                "Enter the integration code Autotask issued for Support Fusion, or leave it empty to use this server's, then Save.",
            ),
        };
        CredentialHelp {
            when_empty: when_empty.map(str::to_owned),
            when_not_saved: when_not_saved.to_owned(),
        }
    }

    async fn test_connection(&self, credentials: TenantCredentials) -> ConnectionTestReport {
        self.tester
            .test(ConnectionInput {
                api_url: credentials.api_url,
                username: credentials.username,
                secret: credentials.secret,
                integration_code: credentials.integration_code,
            })
            .await
    }

    async fn choices(
        &self,
        credentials: &TenantCredentials,
        freshness: Freshness,
    ) -> Result<Arc<LiveChoices>, TenantError> {
        self.load(credentials, freshness)
            .await
            .map(|(_, live)| live)
    }

    fn standard_ticket_fields(&self) -> Vec<TicketField> {
        ticket_fields(&TenantChoices::from_lists(
            Vec::<(String, Vec<fusion_domain::Choice>)>::new(),
            OffsetDateTime::UNIX_EPOCH,
        ))
    }

    fn default_field_mappings(&self, relationship: RelationshipId) -> Vec<FieldMapping> {
        default_field_mappings(relationship)
    }

    fn suggested_value_mappings(
        &self,
        field: &TicketField,
        source: &LiveChoices,
        target: &LiveChoices,
    ) -> Vec<ValueMapping> {
        suggest_between(field, &|list| source.list_ref(list), &|list| {
            target.list_ref(list)
        })
    }

    fn ticket_facts(&self) -> Vec<TicketFact> {
        TICKET_FACTS
            .iter()
            .map(|(name, label)| TicketFact {
                name: (*name).to_owned(),
                label: (*label).to_owned(),
            })
            .collect()
    }

    fn ticket_type(&self) -> &'static str {
        TICKET_TYPE
    }

    fn ticket_web_url(
        &self,
        api_url: &str,
        ticket: &fusion_domain::sync::TicketId,
    ) -> Option<String> {
        crate::api_url::ticket_detail_url(api_url, ticket.as_str())
    }

    async fn preview(
        &self,
        credentials: &TenantCredentials,
        ticket: &PreviewTicket,
        company: &ChoiceValue,
    ) -> Result<TicketPreview, TenantError> {
        let (choices, _) = self.load(credentials, Freshness::Cached).await?;
        let client = self.client(credentials)?;
        preview_values(&client, &choices, ticket, company)
            .await
            .map_err(tenant_error)
    }

    fn hourly_request_limit(&self) -> Option<u32> {
        self.tester
            .service()
            .map(|service| service.budget().default_allowance())
    }

    fn requests_last_hour(&self, username: &str) -> Option<u32> {
        self.tester.service()?.budget_used_by(username)
    }

    fn hourly_request_limit_for(&self, username: &str) -> Option<u32> {
        let service = self.tester.service()?;
        Some(match service.budget_key_of(username) {
            Some(key) => service.budget().allowance(&key),
            None => service.budget().default_allowance(),
        })
    }

    fn budget_key(&self, username: &str) -> Option<String> {
        self.tester.service()?.budget_key_of(username)
    }
}

#[cfg(test)]
mod tests {
    use fusion_domain::ManualClock;

    use super::*;
    use crate::settings::AutotaskSettings;

    fn tenants() -> AutotaskTenants {
        AutotaskTenants::new(
            ConnectionTester::new(AutotaskSettings::default()),
            Arc::new(ManualClock::new(OffsetDateTime::UNIX_EPOCH)),
        )
    }

    #[test]
    fn a_portal_url_is_refused_naming_the_api_url() {
        let problem = tenants()
            .check_api_url("https://ww2.autotask.net/")
            .expect_err("a portal URL is not the API URL");
        assert_eq!(
            problem.message,
            "That is your Autotask portal URL; the API URL is https://webservices2.autotask.net/"
        );
        assert_eq!(
            problem.suggested_api_url.as_deref(),
            Some("https://webservices2.autotask.net/")
        );
        assert_eq!(
            tenants().check_api_url("https://webservices2.autotask.net"),
            Ok("https://webservices2.autotask.net/".to_owned())
        );
    }

    #[test]
    fn secrets_are_compared_in_full() {
        let secret = |text: &str| SecretString::from(text.to_owned());
        assert!(same_secret(&secret("s3cr3t"), &secret("s3cr3t")));
        assert!(!same_secret(&secret("s3cr3t"), &secret("s3cr3T")));
        assert!(!same_secret(&secret("s3cr3t"), &secret("s3cr3")));
    }

    #[test]
    fn failures_keep_the_adapter_message_and_say_what_kind_they_are() {
        let refused = tenant_error(AutotaskError::Unauthorized);
        assert_eq!(refused.kind_name(), "refused");
        assert_eq!(refused.to_string(), AutotaskError::Unauthorized.to_string());
        let missing = tenant_error(AutotaskError::NotFound {
            what: "ticket 7".to_owned(),
        });
        assert!(matches!(missing, TenantError::NotFound { .. }));
    }

    #[test]
    fn the_standard_fields_come_without_a_tenant() {
        let fields = tenants().standard_ticket_fields();
        assert!(fields.iter().any(|field| field.name == "status"));
        assert!(fields.iter().all(|field| field.name != "externalID"));
    }
}
