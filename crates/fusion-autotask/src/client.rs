//! The Autotask REST client: zone discovery and its cache, auth headers, the request pipeline
//! (budget → endpoint permit → HTTP → classification → retry), typed reads, id-cursor paging
//! and writes.
//!
//! [`AutotaskService`] is shared by everything in one process (one HTTP connection pool, one
//! zone cache, one concurrency governor and request budget per database). [`AutotaskClient`] is
//! a cheap handle for one API user's credentials.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;
use url::Url;

use crate::api_url::ApiUrl;
use crate::auth_guard::{AuthOutcome, FailedAuthGuard};
use crate::budget::RequestBudget;
use crate::error::{AutotaskError, classify_response, describe_unreadable_body, excerpt};
use crate::limiter::EndpointLimiter;
use crate::retry::{Idempotency, with_retries};
use crate::settings::AutotaskSettings;
use crate::transport::{HttpTransport, classify_transport_error};
use crate::wire::{
    AutotaskEntity, FieldInformation, FieldInformationResult, Filter, ItemResponse,
    OperationResult, QueryCount, QueryModel, QueryResponse, ThresholdInformation,
    UserDefinedFieldInformation, UserDefinedFieldInformationResult, ZoneInformation,
};
use fusion_engine::budget::RequestGate;

/// Autotask's maximum (and our fixed) page size.
pub const PAGE_SIZE: u32 = 500;
/// The discovery host answers ZoneInformation for every zone.
pub const DISCOVERY_HOST: &str = "webservices.autotask.net";
const REST_ROOT: &str = "ATServicesRest/V1.0/";

/// One API user's credentials.
#[derive(Clone)]
pub struct Credentials {
    /// The API username (integration key), e.g. `7QKXG2MZ4HPWLRB@NORTHWINDIT.EXAMPLE`.
    pub username: String,
    pub secret: SecretString,
    /// Overrides the deployment's integration code for this organisation.
    pub integration_code: Option<String>,
    /// Optional `ImpersonationResourceId`: records are attributed to this resource.
    pub impersonation_resource_id: Option<i64>,
}

impl Credentials {
    pub fn new(username: impl Into<String>, secret: SecretString) -> Credentials {
        Credentials {
            username: username.into(),
            secret,
            integration_code: None,
            impersonation_resource_id: None,
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("secret", &"[redacted]")
            .field(
                "integration_code",
                &self.integration_code.as_ref().map(|_| "[set]"),
            )
            .field("impersonation_resource_id", &self.impersonation_resource_id)
            .finish()
    }
}

/// Where an API user's database lives, learned from ZoneInformation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedZone {
    pub zone: u32,
    pub api_url: ApiUrl,
    /// Autotask's own name for the zone, if it sent one.
    pub zone_name: Option<String>,
    /// The customer database number (`ci`), which keys the budget and the governor.
    pub database: Option<i64>,
}

impl ResolvedZone {
    pub(crate) fn database_key(&self, username: &str) -> String {
        match self.database {
            Some(ci) => format!("ci:{ci}"),
            None => format!("zone:{}:user:{}", self.zone, username.to_ascii_lowercase()),
        }
    }
}

struct ServiceInner {
    http: HttpTransport,
    settings: AutotaskSettings,
    zones: Mutex<HashMap<String, ResolvedZone>>,
    limiter: EndpointLimiter,
    budget: Arc<dyn RequestGate>,
    /// Refused authentications per API username (never more than a few an hour are sent).
    auth_guard: FailedAuthGuard,
}

/// Process-wide Autotask machinery; clone freely.
#[derive(Clone)]
pub struct AutotaskService {
    inner: Arc<ServiceInner>,
}

impl fmt::Debug for AutotaskService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AutotaskService")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

impl AutotaskService {
    /// The service with the adapter's own per-process request counter
    /// ([`AutotaskSettings::hourly_request_budget`]).
    pub fn new(settings: AutotaskSettings) -> Result<AutotaskService, AutotaskError> {
        let gate = Arc::new(RequestBudget::new(settings.hourly_request_budget));
        AutotaskService::with_gate(settings, gate)
    }

    /// The service with `gate` judging every request instead
    /// (`fusion_engine::budget::BudgetGovernor`: shared by processes, fair by connection).
    pub fn with_gate(
        settings: AutotaskSettings,
        gate: Arc<dyn RequestGate>,
    ) -> Result<AutotaskService, AutotaskError> {
        let http = HttpTransport::new(
            settings.transport_override.clone(),
            settings.request_timeout,
            settings.connect_timeout,
        )?;
        Ok(AutotaskService {
            inner: Arc::new(ServiceInner {
                http,
                limiter: EndpointLimiter::new(settings.max_concurrent_per_endpoint),
                budget: gate,
                auth_guard: FailedAuthGuard::new(settings.failed_authentications_per_hour),
                zones: Mutex::new(HashMap::new()),
                settings,
            }),
        })
    }

    pub fn settings(&self) -> &AutotaskSettings {
        &self.inner.settings
    }

    /// A client for one API user.
    pub fn client(&self, credentials: Credentials) -> AutotaskClient {
        AutotaskClient {
            service: self.clone(),
            credentials: Arc::new(credentials),
        }
    }

    pub fn limiter(&self) -> &EndpointLimiter {
        &self.inner.limiter
    }

    /// What every request passes before it is sent: the adapter's own per-process counter
    /// unless [`AutotaskService::with_gate`] gave the product's governor.
    pub fn budget(&self) -> &dyn RequestGate {
        self.inner.budget.as_ref()
    }

    /// Asks Autotask (without credentials) where `username` lives. Not cached.
    pub async fn zone_information(&self, username: &str) -> Result<ResolvedZone, AutotaskError> {
        let mut logical = Url::parse(&format!(
            "https://{DISCOVERY_HOST}/{REST_ROOT}ZoneInformation"
        ))
        .map_err(|error| AutotaskError::Setup(error.to_string()))?;
        logical.query_pairs_mut().append_pair("user", username);
        let physical = self.inner.http.physical_url(&logical);
        let span = tracing::debug_span!(
            "autotask_request",
            method = "GET",
            endpoint = "ZoneInformation",
            host = DISCOVERY_HOST
        );
        let answer = async {
            let response = self
                .inner
                .http
                .client()
                .get(&physical)
                .header(ACCEPT, "application/json")
                .send()
                .instrument(span.clone())
                .await
                .map_err(|error| {
                    classify_transport_error(
                        &error,
                        DISCOVERY_HOST,
                        self.inner.http.transport_override(),
                    )
                })?;
            let status = response.status().as_u16();
            let body = read_body(
                response,
                DISCOVERY_HOST,
                self.inner.http.transport_override(),
            )
            .await?;
            Ok((status, body))
        }
        .await;
        crate::telemetry::record_attempt("ZoneInformation", &answer);
        let (status, body) = answer?;
        span.in_scope(|| tracing::debug!(status, "ZoneInformation answered"));
        if !(200..300).contains(&status) {
            return Err(match classify_response(status, &body, "ZoneInformation") {
                // Older tenants answer an unknown user with a bare 500 or 404.
                AutotaskError::Rejected { messages, .. }
                    if messages
                        .iter()
                        .any(|m| m.to_ascii_lowercase().contains("zone")) =>
                {
                    AutotaskError::ZoneUnknown
                }
                other => other,
            });
        }
        let information: ZoneInformation = decode(status, &body)?;
        let Some(url) = information.url.clone().filter(|url| !url.trim().is_empty()) else {
            return Err(AutotaskError::ZoneUnknown);
        };
        let api_url = self.api_url_from_zone_url(&url)?;
        Ok(ResolvedZone {
            zone: api_url.zone(),
            api_url,
            zone_name: information.zone_name,
            database: information.ci,
        })
    }

    /// Accepts any `https://webservicesN.autotask.net/…` (or its overridden form) and nothing else.
    fn api_url_from_zone_url(&self, url: &str) -> Result<ApiUrl, AutotaskError> {
        let unexpected = || AutotaskError::UnexpectedZoneUrl { url: excerpt(url) };
        if let Some(transport_override) = self.inner.http.transport_override()
            && let Some(host) = transport_override.host_of_rewritten(url)
        {
            return ApiUrl::parse(&format!("https://{host}/")).map_err(|_| unexpected());
        }
        if !url
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("https://")
        {
            return Err(unexpected());
        }
        ApiUrl::parse(url).map_err(|_| unexpected())
    }

    /// The cached zone of `username`, resolving it on first use.
    pub async fn resolve_zone(&self, username: &str) -> Result<ResolvedZone, AutotaskError> {
        let key = username.to_ascii_lowercase();
        if let Some(zone) = self.cached_zone(&key) {
            return Ok(zone);
        }
        let zone = with_retries(self.inner.settings.retry, Idempotency::Read, || {
            self.zone_information(username)
        })
        .await?;
        self.remember_zone(username, zone.clone());
        Ok(zone)
    }

    /// Stores a freshly resolved zone (e.g. by the connection test).
    pub fn remember_zone(&self, username: &str, zone: ResolvedZone) {
        self.inner
            .zones
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(username.to_ascii_lowercase(), zone);
    }

    /// Drops the cached zone (after a 401: the tenant may have moved).
    pub fn forget_zone(&self, username: &str) {
        self.inner
            .zones
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(&username.to_ascii_lowercase());
    }

    /// Requests this process sent in the last hour to the Autotask database `username` lives
    /// in (every API user of that database together), if that user's zone is known here yet.
    /// Costs no request.
    pub fn budget_used_by(&self, username: &str) -> Option<u32> {
        Some(self.inner.budget.used(&self.budget_key_of(username)?))
    }

    /// The key requests to `username`'s database are counted under, if its zone is known here
    /// yet. Costs no request.
    pub fn budget_key_of(&self, username: &str) -> Option<String> {
        let username = username.trim();
        let zone = self.cached_zone(&username.to_ascii_lowercase())?;
        Some(zone.database_key(username))
    }

    fn cached_zone(&self, key: &str) -> Option<ResolvedZone> {
        self.inner
            .zones
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(key)
            .cloned()
    }
}

/// A handle for one API user's calls. Clone freely.
#[derive(Clone)]
pub struct AutotaskClient {
    service: AutotaskService,
    credentials: Arc<Credentials>,
}

impl fmt::Debug for AutotaskClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AutotaskClient")
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

/// What one request needs, independent of the attempt.
struct RequestSpec<'a> {
    method: Method,
    /// The thread-limit bucket and the entity named in permission errors.
    endpoint: &'a str,
    /// Path below `ATServicesRest/V1.0/`.
    path: String,
    body: Option<serde_json::Value>,
    idempotency: Idempotency,
}

impl AutotaskClient {
    pub fn username(&self) -> &str {
        &self.credentials.username
    }

    pub fn service(&self) -> &AutotaskService {
        &self.service
    }

    /// The zone this client's API user lives in (cached).
    pub async fn zone(&self) -> Result<ResolvedZone, AutotaskError> {
        self.service.resolve_zone(&self.credentials.username).await
    }

    /// `GET /V1.0/ThresholdInformation`.
    pub async fn threshold_information(&self) -> Result<ThresholdInformation, AutotaskError> {
        self.send_json(RequestSpec {
            method: Method::GET,
            endpoint: "ThresholdInformation",
            path: "ThresholdInformation".to_owned(),
            body: None,
            idempotency: Idempotency::Read,
        })
        .await
    }

    /// One page of `POST /V1.0/{Entity}/query`.
    pub async fn query_page<T: AutotaskEntity>(
        &self,
        query: &QueryModel,
    ) -> Result<QueryResponse<T>, AutotaskError> {
        let body =
            serde_json::to_value(query).map_err(|error| AutotaskError::Setup(error.to_string()))?;
        self.send_json(RequestSpec {
            method: Method::POST,
            endpoint: T::ENDPOINT,
            path: format!("{}/query", T::ENDPOINT),
            body: Some(body),
            idempotency: Idempotency::Read,
        })
        .await
    }

    /// Pages through every record matching `filter` by id cursor (`id gt <last>`, 500 at a time)
    /// until a short page.
    pub fn query_pages<T: AutotaskEntity>(&self, filter: Vec<Filter>) -> QueryPages<T> {
        QueryPages {
            client: self.clone(),
            filter,
            include_fields: Vec::new(),
            page_size: PAGE_SIZE,
            last_id: None,
            finished: false,
            _entity: std::marker::PhantomData,
        }
    }

    /// Every record matching `filter` (all pages).
    pub async fn query_all<T: AutotaskEntity>(
        &self,
        filter: Vec<Filter>,
    ) -> Result<Vec<T>, AutotaskError> {
        let mut pages = self.query_pages::<T>(filter);
        let mut rows = Vec::new();
        while let Some(page) = pages.next_page().await? {
            rows.extend(page);
        }
        Ok(rows)
    }

    /// `POST /V1.0/{endpoint}/query/count`.
    pub async fn count(&self, endpoint: &str, filter: Vec<Filter>) -> Result<i64, AutotaskError> {
        let body = serde_json::json!({ "filter": filter });
        let count: QueryCount = self
            .send_json(RequestSpec {
                method: Method::POST,
                endpoint,
                path: format!("{endpoint}/query/count"),
                body: Some(body),
                idempotency: Idempotency::Read,
            })
            .await?;
        Ok(count.query_count.unwrap_or(0))
    }

    /// `GET /V1.0/{Entity}/{id}`; `None` when the record does not exist.
    pub async fn get<T: AutotaskEntity>(&self, id: i64) -> Result<Option<T>, AutotaskError> {
        self.get_at(T::ENDPOINT, format!("{}/{id}", T::ENDPOINT))
            .await
    }

    /// `GET /V1.0/{parent}/{parent_id}/{child}/{id}`, e.g. an attachment with its data.
    pub async fn get_child<T: DeserializeOwned>(
        &self,
        parent: &str,
        parent_id: i64,
        child: &str,
        id: i64,
    ) -> Result<Option<T>, AutotaskError> {
        self.get_at(parent, format!("{parent}/{parent_id}/{child}/{id}"))
            .await
    }

    /// `GET /V1.0/{parent}/{parent_id}/{child}`: every child record (`{"items":[…]}`), e.g. a
    /// webhook's fields.
    pub async fn list_children<T: DeserializeOwned>(
        &self,
        parent: &str,
        parent_id: i64,
        child: &str,
    ) -> Result<Vec<T>, AutotaskError> {
        #[derive(serde::Deserialize)]
        struct Items<T> {
            #[serde(default = "Vec::new")]
            items: Vec<T>,
        }
        let listed: Items<T> = self
            .send_json(RequestSpec {
                method: Method::GET,
                endpoint: parent,
                path: format!("{parent}/{parent_id}/{child}"),
                body: None,
                idempotency: Idempotency::Read,
            })
            .await?;
        Ok(listed.items)
    }

    async fn get_at<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        path: String,
    ) -> Result<Option<T>, AutotaskError> {
        let result: Result<ItemResponse<T>, AutotaskError> = self
            .send_json(RequestSpec {
                method: Method::GET,
                endpoint,
                path,
                body: None,
                idempotency: Idempotency::Read,
            })
            .await;
        match result {
            Ok(response) => Ok(response.into_item()),
            Err(AutotaskError::NotFound { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// `POST /V1.0/{endpoint}` → the new record's id. Not retried unless Autotask certainly
    /// did not process it.
    pub async fn create<T: Serialize>(
        &self,
        endpoint: &str,
        record: &T,
    ) -> Result<i64, AutotaskError> {
        self.write(Method::POST, endpoint, endpoint.to_owned(), record)
            .await
    }

    /// `PATCH /V1.0/{endpoint}` with the record's `id` in the body; only the sent fields change.
    pub async fn update<T: Serialize>(
        &self,
        endpoint: &str,
        record: &T,
    ) -> Result<i64, AutotaskError> {
        self.write(Method::PATCH, endpoint, endpoint.to_owned(), record)
            .await
    }

    /// `POST /V1.0/{parent}/{parent_id}/{child}`, e.g. a note: `("Tickets", 42, "Notes")`.
    pub async fn create_child<T: Serialize>(
        &self,
        parent: &str,
        parent_id: i64,
        child: &str,
        record: &T,
    ) -> Result<i64, AutotaskError> {
        self.write(
            Method::POST,
            parent,
            format!("{parent}/{parent_id}/{child}"),
            record,
        )
        .await
    }

    /// `PATCH /V1.0/{parent}/{parent_id}/{child}`.
    pub async fn update_child<T: Serialize>(
        &self,
        parent: &str,
        parent_id: i64,
        child: &str,
        record: &T,
    ) -> Result<i64, AutotaskError> {
        self.write(
            Method::PATCH,
            parent,
            format!("{parent}/{parent_id}/{child}"),
            record,
        )
        .await
    }

    /// `DELETE /V1.0/{endpoint}/{id}`. A record already gone is not an error.
    pub async fn delete(&self, endpoint: &str, id: i64) -> Result<(), AutotaskError> {
        let outcome: Result<serde_json::Value, AutotaskError> = self
            .send_json(RequestSpec {
                method: Method::DELETE,
                endpoint,
                path: format!("{endpoint}/{id}"),
                body: None,
                // Deleting twice leaves the same state.
                idempotency: Idempotency::Read,
            })
            .await;
        match outcome {
            Ok(_) | Err(AutotaskError::NotFound { .. }) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// `GET /V1.0/{endpoint}/entityInformation/fields` (picklists, required flags).
    pub async fn field_information(
        &self,
        endpoint: &str,
    ) -> Result<Vec<FieldInformation>, AutotaskError> {
        let result: FieldInformationResult = self
            .send_json(RequestSpec {
                method: Method::GET,
                endpoint,
                path: format!("{endpoint}/entityInformation/fields"),
                body: None,
                idempotency: Idempotency::Read,
            })
            .await?;
        Ok(result.fields)
    }

    /// `GET /V1.0/{endpoint}/entityInformation/userDefinedFields`.
    pub async fn user_defined_fields(
        &self,
        endpoint: &str,
    ) -> Result<Vec<UserDefinedFieldInformation>, AutotaskError> {
        let result: UserDefinedFieldInformationResult = self
            .send_json(RequestSpec {
                method: Method::GET,
                endpoint,
                path: format!("{endpoint}/entityInformation/userDefinedFields"),
                body: None,
                idempotency: Idempotency::Read,
            })
            .await?;
        Ok(result.fields)
    }

    async fn write<T: Serialize>(
        &self,
        method: Method,
        endpoint: &str,
        path: String,
        record: &T,
    ) -> Result<i64, AutotaskError> {
        let body = serde_json::to_value(record)
            .map_err(|error| AutotaskError::Setup(error.to_string()))?;
        let result: OperationResult = self
            .send_json(RequestSpec {
                method,
                endpoint,
                path,
                body: Some(body),
                idempotency: Idempotency::Write,
            })
            .await?;
        result.item_id.ok_or_else(|| AutotaskError::Decode {
            status: 200,
            detail: "the answer carried no itemId".to_owned(),
        })
    }

    /// Retries, and on a 401 re-resolves the zone once (the tenant may have moved).
    async fn send_json<T: DeserializeOwned>(
        &self,
        spec: RequestSpec<'_>,
    ) -> Result<T, AutotaskError> {
        let policy = self.service.inner.settings.retry;
        let first = with_retries(policy, spec.idempotency, || self.attempt(&spec)).await;
        match first {
            Err(AutotaskError::Unauthorized) => {
                let username = &self.credentials.username;
                let before = self.service.cached_zone(&username.to_ascii_lowercase());
                self.service.forget_zone(username);
                let after = match self.service.resolve_zone(username).await {
                    Ok(zone) => zone,
                    Err(AutotaskError::ZoneUnknown) => return Err(AutotaskError::Unauthorized),
                    Err(other) => return Err(other),
                };
                if before.as_ref().map(|zone| zone.zone) == Some(after.zone) {
                    return Err(AutotaskError::Unauthorized);
                }
                tracing::info!(
                    zone = after.zone,
                    "Autotask API user moved zone; retrying there"
                );
                with_retries(policy, spec.idempotency, || self.attempt(&spec)).await
            }
            other => other,
        }
    }

    async fn attempt<T: DeserializeOwned>(
        &self,
        spec: &RequestSpec<'_>,
    ) -> Result<T, AutotaskError> {
        let zone = self.zone().await?;
        let host = zone.api_url.host();
        let database = zone.database_key(&self.credentials.username);
        let admission = self
            .service
            .inner
            .auth_guard
            .admit(
                &self.credentials.username,
                self.credentials.secret.expose_secret(),
            )
            .await?;
        if let Err(wait) = self.service.inner.budget.try_spend(&database) {
            self.service.inner.auth_guard.finish(
                &self.credentials.username,
                admission,
                AuthOutcome::Unknown,
            );
            return Err(AutotaskError::BudgetExhausted(wait));
        }
        crate::telemetry::record_budget_used(
            &host,
            zone.database,
            self.service.inner.budget.used(&database),
        );
        let _permit = self
            .service
            .inner
            .limiter
            .acquire(&database, spec.endpoint)
            .await;

        let logical = Url::parse(&format!(
            "{}{REST_ROOT}{}",
            zone.api_url.as_str(),
            spec.path
        ))
        .map_err(|error| AutotaskError::Setup(error.to_string()))?;
        let physical = self.service.inner.http.physical_url(&logical);
        let headers = self.auth_headers()?;
        let span = tracing::debug_span!(
            "autotask_request",
            method = %spec.method,
            endpoint = spec.endpoint,
            host = %host,
            path = %spec.path,
        );
        let mut request = self
            .service
            .inner
            .http
            .client()
            .request(spec.method.clone(), &physical)
            .headers(headers);
        if let Some(body) = &spec.body {
            request = request.json(body);
        }
        let transport_override = self.service.inner.http.transport_override();
        let answer = async {
            let response = request
                .send()
                .instrument(span.clone())
                .await
                .map_err(|error| classify_transport_error(&error, &host, transport_override))?;
            let status = response.status().as_u16();
            let body = read_body(response, &host, transport_override).await?;
            Ok((status, body))
        }
        .await;
        crate::telemetry::record_attempt(spec.endpoint, &answer);
        let auth_outcome = match &answer {
            Err(_) => AuthOutcome::Unknown,
            Ok((status, body))
                if !(200..300).contains(status)
                    && matches!(
                        classify_response(*status, body, spec.endpoint),
                        AutotaskError::Unauthorized
                    ) =>
            {
                AuthOutcome::Refused
            }
            Ok(_) => AuthOutcome::Accepted,
        };
        self.service
            .inner
            .auth_guard
            .finish(&self.credentials.username, admission, auth_outcome);
        if auth_outcome == AuthOutcome::Refused {
            // Refused credentials are not charged to the database's shared allowance.
            self.service.inner.budget.refund(&database);
        }
        let (status, body) = answer?;
        let _entered = span.enter();
        if !(200..300).contains(&status) {
            let error = classify_response(status, &body, spec.endpoint);
            tracing::debug!(
                status,
                error_kind = error.kind_name(),
                "Autotask refused the request"
            );
            return Err(error);
        }
        tracing::debug!(status, "Autotask answered");
        // Some 200 answers still carry an `errors` array.
        if body.contains("\"errors\"")
            && let Ok(serde_json::Value::Object(object)) = serde_json::from_str(&body)
            && let Some(serde_json::Value::Array(errors)) = object.get("errors")
            && !errors.is_empty()
        {
            return Err(match classify_response(500, &body, spec.endpoint) {
                AutotaskError::Rejected { messages, .. } => {
                    AutotaskError::Rejected { status, messages }
                }
                other => other,
            });
        }
        decode(status, &body)
    }

    fn auth_headers(&self) -> Result<HeaderMap, AutotaskError> {
        let settings = &self.service.inner.settings;
        let integration_code = self
            .credentials
            .integration_code
            .as_deref()
            .or(settings.integration_code.as_deref())
            .ok_or(AutotaskError::IntegrationCodeMissing)?;
        let invalid = |what: &str| {
            AutotaskError::Setup(format!(
                "the {what} contains characters that cannot be sent in an HTTP header"
            ))
        };
        let mut headers = HeaderMap::new();
        let mut code =
            HeaderValue::from_str(integration_code).map_err(|_| invalid("integration code"))?;
        code.set_sensitive(true);
        headers.insert("ApiIntegrationCode", code);
        headers.insert(
            "UserName",
            HeaderValue::from_str(&self.credentials.username)
                .map_err(|_| invalid("API username"))?,
        );
        let mut secret = HeaderValue::from_str(self.credentials.secret.expose_secret())
            .map_err(|_| invalid("API secret"))?;
        secret.set_sensitive(true);
        headers.insert("Secret", secret);
        if let Some(resource_id) = self.credentials.impersonation_resource_id {
            headers.insert("ImpersonationResourceId", HeaderValue::from(resource_id));
        }
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Ok(headers)
    }
}

async fn read_body(
    response: reqwest::Response,
    host: &str,
    transport_override: Option<&crate::transport::TransportOverride>,
) -> Result<String, AutotaskError> {
    response
        .text()
        .await
        .map_err(|error| classify_transport_error(&error, host, transport_override))
}

pub(crate) fn decode<T: DeserializeOwned>(status: u16, body: &str) -> Result<T, AutotaskError> {
    serde_json::from_str(body).map_err(|error| AutotaskError::Decode {
        status,
        detail: if serde_json::from_str::<serde_json::Value>(body).is_ok() {
            format!("unexpected JSON shape: {}", excerpt(&error.to_string()))
        } else {
            describe_unreadable_body(body)
        },
    })
}

/// Id-cursor pager over one query; see [`AutotaskClient::query_pages`].
pub struct QueryPages<T> {
    client: AutotaskClient,
    filter: Vec<Filter>,
    include_fields: Vec<String>,
    page_size: u32,
    last_id: Option<i64>,
    finished: bool,
    _entity: std::marker::PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for QueryPages<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueryPages")
            .field("filter", &self.filter)
            .field("last_id", &self.last_id)
            .field("finished", &self.finished)
            .finish()
    }
}

impl<T: AutotaskEntity> QueryPages<T> {
    /// Return only these fields (`id` is always added: paging needs it).
    pub fn include_fields(mut self, fields: &[&str]) -> QueryPages<T> {
        self.include_fields = fields.iter().map(|field| (*field).to_owned()).collect();
        if !self
            .include_fields
            .iter()
            .any(|field| field.eq_ignore_ascii_case("id"))
        {
            self.include_fields.push("id".to_owned());
        }
        self
    }

    /// Page size, 1–500 (default 500).
    pub fn page_size(mut self, page_size: u32) -> QueryPages<T> {
        self.page_size = page_size.clamp(1, PAGE_SIZE);
        self
    }

    /// Resume after a known id.
    pub fn after_id(mut self, id: i64) -> QueryPages<T> {
        self.last_id = Some(id);
        self
    }

    /// The highest id returned so far.
    pub fn last_id(&self) -> Option<i64> {
        self.last_id
    }

    /// The next page, or `None` when every page was returned.
    pub async fn next_page(&mut self) -> Result<Option<Vec<T>>, AutotaskError> {
        if self.finished {
            return Ok(None);
        }
        let mut filter = self.filter.clone();
        if filter.is_empty() {
            filter.push(Filter::all());
        }
        if let Some(last_id) = self.last_id {
            filter.push(Filter::gt("id", last_id));
        }
        let query = QueryModel {
            max_records: self.page_size,
            include_fields: self.include_fields.clone(),
            filter,
        };
        let page = self.client.query_page::<T>(&query).await?;
        let rows = page.items;
        if rows.len() < self.page_size as usize {
            self.finished = true;
        }
        if let Some(highest) = rows.iter().filter_map(AutotaskEntity::id).max() {
            if self.last_id.is_some_and(|last| highest <= last) {
                return Err(AutotaskError::Decode {
                    status: 200,
                    detail: "paging did not advance (ids not increasing)".to_owned(),
                });
            }
            self.last_id = Some(highest);
        } else if !rows.is_empty() {
            return Err(AutotaskError::Decode {
                status: 200,
                detail: "query rows carry no id, so they cannot be paged".to_owned(),
            });
        }
        if rows.is_empty() {
            self.finished = true;
            return Ok(None);
        }
        Ok(Some(rows))
    }
}
