//! The HTTP face of the simulator: host-prefixed, case-insensitive routing of every zone, zone discovery,
//! authentication, limits and faults around each call, and the entity handlers (get, child lists,
//! writes, deletes here; queries, paging and counts in `query`; entity information in `metadata`). One
//! fallback handler does the routing so the vendor's 404/405 bodies are exact.

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use base64::Engine as _;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::faults::FaultKind;
use crate::limits::{HourlyOutcome, ThreadSlot, suspended_message, thread_threshold_message};
use crate::options::{AuthFailureMode, MissingItemMode};
use crate::schema::{EntityKind, Verbs, child_of, definition};
use crate::store::{ApiUser, RecordView, RenderOptions, render_record};
use crate::wire::{
    error_response, errors_response, json_response, json_text_response, method_not_allowed,
    no_route, status_from_code, unauthorized,
};
use crate::writes::{Actor, WriteMode, apply_delete, apply_write};
use crate::{
    LoggedRequest, Simulator, Tenant, control_plane, mutex_lock, read_lock, write_lock, zone_name,
};

mod metadata;
mod query;

pub(crate) fn router(simulator: Simulator) -> Router {
    let limit = simulator.inner.options.max_body_bytes;
    Router::new()
        .fallback(handle)
        .with_state(simulator)
        .layer(DefaultBodyLimit::max(limit))
}

/// `QueryActionResult[…]`: one page of a query.
#[derive(serde::Serialize)]
struct QueryPage<'a> {
    items: Vec<RecordView<'a>>,
    #[serde(rename = "pageDetails")]
    page_details: PageDetails,
}

/// `PagingModel`.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct PageDetails {
    count: usize,
    request_count: usize,
    prev_page_url: Option<String>,
    next_page_url: Option<String>,
}

/// Marks a response whose connection must be dropped (logged with status 0).
#[derive(Debug, Clone, Copy)]
struct DroppedConnection;

async fn handle(
    State(simulator): State<Simulator>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let segments: Vec<String> = path
        .split('/')
        .filter(|segment| !segment.is_empty())
        .map(str::to_owned)
        .collect();
    if segments
        .first()
        .is_some_and(|first| first.eq_ignore_ascii_case("_sim"))
    {
        if segments
            .get(1)
            .is_some_and(|second| second.eq_ignore_ascii_case("webhooks"))
        {
            return crate::webhooks::control(&simulator, &method, &segments[2..]);
        }
        return control_plane::handle(&simulator, &method, &segments[1..], uri.query(), &body);
    }
    let mut request = ApiRequest {
        simulator: &simulator,
        method: method.clone(),
        headers: &headers,
        query_string: uri.query().map(str::to_owned),
        body,
        base_url: base_url(&headers),
        host: segments
            .first()
            .map(|host| host.to_ascii_lowercase())
            .unwrap_or_default(),
        full_uri: String::new(),
        route: format!("{method} {path}"),
        tenant_name: None,
    };
    request.full_uri = format!(
        "{}{}{}",
        request.base_url,
        path,
        uri.query()
            .map(|query| format!("?{query}"))
            .unwrap_or_default()
    );
    let lower: Vec<String> = segments
        .iter()
        .map(|segment| segment.to_ascii_lowercase())
        .collect();
    let response = request.dispatch(&lower).await;
    let status = if response.extensions().get::<DroppedConnection>().is_some() {
        0
    } else {
        response.status().as_u16()
    };
    tracing::debug!(
        route = %request.route,
        host = %request.host,
        status,
        tenant = request.tenant_name.as_deref().unwrap_or("-"),
        "autotask request"
    );
    mutex_lock(&simulator.inner.log).record(LoggedRequest {
        method: method.to_string(),
        host: request.host.clone(),
        path,
        route: request.route.clone(),
        status,
        tenant: request.tenant_name.clone(),
    });
    response
}

fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

/// `webservicesN.autotask.net` → Some(Some(N)); the discovery host → Some(None); anything else → None.
fn parse_zone_host(host: &str) -> Option<Option<u32>> {
    let rest = host
        .strip_prefix("webservices")?
        .strip_suffix(".autotask.net")?;
    if rest.is_empty() {
        return Some(None);
    }
    rest.parse::<u32>().ok().map(Some)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InfoPart {
    Info,
    Fields,
    UserDefinedFields,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QueryStyle {
    Plain,
    Count,
    Next,
}

#[derive(Debug, Clone, Copy)]
enum Route {
    Modules,
    ThresholdInformation,
    EntityInformation(EntityKind, InfoPart),
    Query(EntityKind, QueryStyle),
    ById(EntityKind, i64),
    Root(EntityKind),
    ChildCollection(EntityKind, i64),
    ChildById(EntityKind, i64, i64),
}

impl Route {
    fn allowed(self) -> Vec<Method> {
        let entity_verbs = |verbs: Verbs, get: bool, writes: bool, delete: bool| {
            let mut methods = Vec::new();
            if get {
                methods.push(Method::GET);
            }
            if writes {
                if verbs.create {
                    methods.push(Method::POST);
                }
                if verbs.update {
                    methods.push(Method::PATCH);
                    methods.push(Method::PUT);
                }
            }
            if delete && verbs.delete {
                methods.push(Method::DELETE);
            }
            methods
        };
        match self {
            Route::Modules | Route::ThresholdInformation | Route::EntityInformation(..) => {
                vec![Method::GET]
            }
            Route::Query(kind, _) => {
                if definition(kind).root.query {
                    vec![Method::GET, Method::POST]
                } else {
                    Vec::new()
                }
            }
            Route::ById(kind, _) => {
                let verbs = definition(kind).root;
                entity_verbs(verbs, verbs.get, false, true)
            }
            Route::Root(kind) => entity_verbs(definition(kind).root, false, true, false),
            Route::ChildCollection(kind, _) => match &definition(kind).parent {
                Some(link) => entity_verbs(link.verbs, link.verbs.query, true, false),
                None => Vec::new(),
            },
            Route::ChildById(kind, _, _) => match &definition(kind).parent {
                Some(link) => entity_verbs(link.verbs, link.verbs.get, false, true),
                None => Vec::new(),
            },
        }
    }

    /// The entity whose permission and thread bucket the call uses.
    fn entity(self) -> Option<EntityKind> {
        match self {
            Route::Modules | Route::ThresholdInformation => None,
            Route::EntityInformation(kind, _)
            | Route::Query(kind, _)
            | Route::ById(kind, _)
            | Route::Root(kind)
            | Route::ChildCollection(kind, _)
            | Route::ChildById(kind, _, _) => Some(kind),
        }
    }
}

fn parse_info_part(rest: &[String]) -> Option<InfoPart> {
    match rest {
        [info] if info == "entityinformation" => Some(InfoPart::Info),
        [info, part] if info == "entityinformation" && part == "fields" => Some(InfoPart::Fields),
        [info, part] if info == "entityinformation" && part == "userdefinedfields" => {
            Some(InfoPart::UserDefinedFields)
        }
        _ => None,
    }
}

/// Resolves the path after `/V1.0/` (lower-cased) to a route and the canonical route text.
fn resolve(lower: &[String]) -> Option<(Route, String)> {
    let first = lower.first()?;
    match lower.len() {
        1 if first == "modules" => return Some((Route::Modules, "/V1.0/Modules".into())),
        1 if first == "thresholdinformation" => {
            return Some((
                Route::ThresholdInformation,
                "/V1.0/ThresholdInformation".into(),
            ));
        }
        _ => {}
    }
    let kind = EntityKind::parse(first)?;
    let entity = definition(kind);
    let name = entity.path_name;
    let rest = &lower[1..];
    if let Some(part) = parse_info_part(rest) {
        return Some((
            Route::EntityInformation(kind, part),
            format!("/V1.0/{name}/entityInformation"),
        ));
    }
    let numeric = |text: &String| text.parse::<i64>().ok();
    match rest {
        [] => Some((Route::Root(kind), format!("/V1.0/{name}"))),
        [query] if query == "query" => Some((
            Route::Query(kind, QueryStyle::Plain),
            format!("/V1.0/{name}/query"),
        )),
        [query, count] if query == "query" && count == "count" => Some((
            Route::Query(kind, QueryStyle::Count),
            format!("/V1.0/{name}/query/count"),
        )),
        [query, next] if query == "query" && next == "next" => Some((
            Route::Query(kind, QueryStyle::Next),
            format!("/V1.0/{name}/query/next"),
        )),
        [id] => numeric(id).map(|id| (Route::ById(kind, id), format!("/V1.0/{name}/{{id}}"))),
        [parent_id, segment, tail @ ..] => {
            let parent_id = numeric(parent_id)?;
            let child = child_of(kind, segment)?;
            let child_name = match child.kind {
                EntityKind::TicketNotes => "Notes",
                EntityKind::TicketAttachments => "Attachments",
                _ => "Contacts",
            };
            let base = format!("/V1.0/{name}/{{id}}/{child_name}");
            if let Some(part) = parse_info_part(tail) {
                return Some((
                    Route::EntityInformation(child.kind, part),
                    format!("{base}/entityInformation"),
                ));
            }
            match tail {
                [] => Some((Route::ChildCollection(child.kind, parent_id), base)),
                [id] => numeric(id).map(|id| {
                    (
                        Route::ChildById(child.kind, parent_id, id),
                        format!("{base}/{{id}}"),
                    )
                }),
                _ => None,
            }
        }
    }
}

struct ApiRequest<'a> {
    simulator: &'a Simulator,
    method: Method,
    headers: &'a HeaderMap,
    query_string: Option<String>,
    body: Bytes,
    base_url: String,
    host: String,
    full_uri: String,
    route: String,
    tenant_name: Option<String>,
}

/// The authenticated caller.
struct Caller {
    tenant: std::sync::Arc<Tenant>,
    user: ApiUser,
    integration_code: String,
    actor: Actor,
}

fn header_text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

impl ApiRequest<'_> {
    fn query_param(&self, name: &str) -> Option<String> {
        let query = self.query_string.as_deref()?;
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.into_owned())
    }

    async fn dispatch(&mut self, lower: &[String]) -> Response {
        let Some(zone_host) = lower.first().and_then(|host| parse_zone_host(host)) else {
            return no_route(&self.full_uri);
        };
        if lower.get(1).map(String::as_str) != Some("atservicesrest") {
            return no_route(&self.full_uri);
        }
        // IIS refuses long query strings (404.15); long GET next-page URLs fail this way.
        let query_length = self.query_string.as_deref().map_or(0, str::len);
        if query_length > self.simulator.inner.options.max_query_string_bytes {
            return no_route(&self.full_uri);
        }
        match lower.get(2).map(String::as_str) {
            Some("versioninformation") if lower.len() == 3 => {
                self.route = format!("{} /VersionInformation", self.method);
                if self.method != Method::GET {
                    return method_not_allowed(self.method.as_str());
                }
                json_response(StatusCode::OK, &json!({ "apiVersions": ["V1.0", "V2.0"] }))
            }
            Some("v1.0") => {
                let rest = &lower[3..];
                if rest.len() == 1 && rest[0] == "zoneinformation" {
                    self.route = format!("{} /V1.0/ZoneInformation", self.method);
                    return self.zone_information().await;
                }
                if let Some(webhook_route) = crate::webhooks::resolve(rest) {
                    // Webhook configuration entities (crate::webhooks): normal auth, no limits or faults.
                    self.route = format!("{} {}", self.method, webhook_route.canonical());
                    if !webhook_route.allows(&self.method) {
                        return method_not_allowed(self.method.as_str());
                    }
                    let caller = match self.authenticate(zone_host) {
                        Ok(caller) => caller,
                        Err(response) => return response,
                    };
                    self.tenant_name = Some(caller.tenant.name.clone());
                    let reads = self.method == Method::GET || webhook_route.is_read();
                    if !caller.user.can_create_webhooks && !reads {
                        let verb = match self.method {
                            Method::DELETE => "delete",
                            Method::PATCH | Method::PUT => "update",
                            _ => "create",
                        };
                        return error_response(
                            status_from_code(self.simulator.inner.options.permission_denied_status),
                            &format!(
                                "User does not have adequate permissions to {verb} this entity."
                            ),
                        );
                    }
                    let call = crate::webhooks::WebhookCall {
                        simulator: self.simulator,
                        tenant: &caller.tenant,
                        resource_id: caller.actor.resource_id,
                        method: &self.method,
                        query_string: self.query_string.as_deref(),
                        body: &self.body,
                    };
                    return crate::webhooks::handle(&call, webhook_route);
                }
                let Some((route, canonical)) = resolve(rest) else {
                    return no_route(&self.full_uri);
                };
                self.route = format!("{} {canonical}", self.method);
                let allowed = route.allowed();
                if allowed.is_empty() {
                    return no_route(&self.full_uri);
                }
                if !allowed.contains(&self.method) {
                    return method_not_allowed(self.method.as_str());
                }
                self.entity_call(zone_host, route).await
            }
            _ => no_route(&self.full_uri),
        }
    }

    async fn zone_information(&mut self) -> Response {
        if self.method != Method::GET {
            return method_not_allowed(self.method.as_str());
        }
        let user = self.query_param("user").unwrap_or_default();
        let tenant = self
            .simulator
            .all_tenants()
            .into_iter()
            .find(|tenant| read_lock(&tenant.data).api_user(user.trim()).is_some());
        let decision = self.simulator.decide_faults(
            tenant.as_ref().map(|t| t.name.as_str()),
            "ZoneInformation",
            self.method.as_str(),
        );
        if decision.latency_millis > 0
            && !self
                .pause(Duration::from_millis(decision.latency_millis))
                .await
        {
            return error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "The simulator is shutting down.",
            );
        }
        if let Some(failure) = decision.failure
            && let Some(response) = self.pre_apply_failure(&failure)
        {
            return response;
        }
        let Some(tenant) = tenant else {
            return error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Zone information could not be determined",
            );
        };
        json_response(
            StatusCode::OK,
            &json!({
                "zoneName": zone_name(tenant.zone()),
                "url": format!("{}/webservices{}.autotask.net/ATServicesRest/", self.base_url, tenant.zone()),
                "webUrl": format!("https://ww{}.autotask.net/", tenant.zone()),
                "ci": tenant.ci,
            }),
        )
    }

    /// Sleeps unless the simulator is stopping; false when interrupted.
    async fn pause(&self, duration: Duration) -> bool {
        if duration.is_zero() {
            return true;
        }
        let mut stopping = self.simulator.inner.stopping.subscribe();
        if *stopping.borrow() {
            return false;
        }
        tokio::select! {
            () = tokio::time::sleep(duration) => true,
            _ = stopping.changed() => false,
        }
    }

    #[allow(clippy::result_large_err)] // a ready-made response per request; size is irrelevant here
    fn authenticate(&self, zone: Option<u32>) -> Result<Caller, Response> {
        let realm = self.host.clone();
        let fail = || unauthorized(&realm);
        let legacy = self.simulator.inner.options.auth_failure_mode == AuthFailureMode::Legacy2023;
        let legacy_error =
            |message: &str| error_response(StatusCode::INTERNAL_SERVER_ERROR, message);
        let (Some(code), Some(username), Some(secret)) = (
            header_text(self.headers, "ApiIntegrationCode"),
            header_text(self.headers, "UserName"),
            header_text(self.headers, "Secret"),
        ) else {
            return Err(fail());
        };
        let code_known = read_lock(&self.simulator.inner.integration_codes)
            .iter()
            .any(|known| known == code);
        let found = self.simulator.all_tenants().into_iter().find_map(|tenant| {
            let user = read_lock(&tenant.data).api_user(username).cloned();
            user.map(|user| (tenant, user))
        });
        let Some((tenant, user)) = found else {
            return Err(if legacy {
                legacy_error("Unable to authenticate: the user name is not valid.")
            } else {
                fail()
            });
        };
        if !code_known {
            return Err(if legacy {
                legacy_error("Unable to authenticate: the ApiIntegrationCode is not valid.")
            } else {
                fail()
            });
        }
        if user.secret != secret || !user.active || zone != Some(tenant.zone()) {
            return Err(fail());
        }
        let impersonated = match header_text(self.headers, "ImpersonationResourceId") {
            None => None,
            Some(text) => {
                let data = read_lock(&tenant.data);
                let valid = text.parse::<i64>().ok().filter(|id| {
                    let is_api_user = data
                        .api_users
                        .iter()
                        .any(|api_user| api_user.resource_id == *id);
                    let active = data
                        .table(EntityKind::Resources)
                        .get(id)
                        .is_some_and(|record| {
                            record
                                .get(definition(EntityKind::Resources), "isActive")
                                .as_bool()
                                != Some(false)
                        });
                    active && !is_api_user
                });
                match valid {
                    Some(id) => Some(id),
                    None => {
                        return Err(error_response(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            &format!(
                                "ImpersonationResourceId {text} is not a valid, active resource."
                            ),
                        ));
                    }
                }
            }
        };
        let actor = match impersonated {
            Some(id) => Actor::impersonating(id, user.resource_id),
            None => Actor::resource(user.resource_id),
        };
        Ok(Caller {
            tenant,
            user,
            integration_code: code.to_owned(),
            actor,
        })
    }

    fn pre_apply_failure(&self, failure: &FaultKind) -> Option<Response> {
        let options = &self.simulator.inner.options;
        Some(match failure {
            FaultKind::ServerError => error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "An unexpected error has occurred. Please contact Autotask support. (simulated fault)",
            ),
            FaultKind::TooManyRequests => {
                error_response(StatusCode::TOO_MANY_REQUESTS, &suspended_message(options))
            }
            FaultKind::ThreadThreshold => error_response(
                status_from_code(options.thread_threshold_status),
                &thread_threshold_message(options.thread_limit),
            ),
            FaultKind::ConnectionReset => dropped_connection(),
            FaultKind::HtmlBody { status } => {
                let mut response = Response::new(Body::from(
                    "<!DOCTYPE html><html><head><title>Service Unavailable</title></head><body><h1>Service \
                     Unavailable</h1><p>The service is temporarily unavailable. Please try again later.</p></body></html>",
                ));
                *response.status_mut() = status_from_code(*status);
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                );
                response
            }
            FaultKind::Latency { .. } | FaultKind::TimeoutAfterWrite | FaultKind::MalformedBody => {
                return None;
            }
        })
    }

    async fn entity_call(&mut self, zone_host: Option<u32>, route: Route) -> Response {
        let caller = match self.authenticate(zone_host) {
            Ok(caller) => caller,
            Err(response) => return response,
        };
        self.tenant_name = Some(caller.tenant.name.clone());
        let options = &self.simulator.inner.options;
        let counts =
            !matches!(route, Route::ThresholdInformation) || options.threshold_information_counts;
        let threshold_latency = match mutex_lock(&caller.tenant.limits).admit_request(
            Instant::now(),
            options,
            counts,
        ) {
            HourlyOutcome::Suspended => {
                return error_response(
                    status_from_code(options.suspended_status),
                    &suspended_message(options),
                );
            }
            HourlyOutcome::Allowed { added_latency } => added_latency,
        };
        let endpoint = match route.entity() {
            Some(kind) => match route {
                Route::ChildCollection(..) | Route::ChildById(..) => definition(kind)
                    .parent
                    .as_ref()
                    .map_or(kind.path_name(), |link| link.parent.path_name()),
                _ => kind.path_name(),
            },
            None if matches!(route, Route::Modules) => "Modules",
            None => "ThresholdInformation",
        };
        // Per database as well: two tenants served with one deployment code do not share slots.
        let key = (
            format!(
                "{}/{}",
                caller.tenant.name,
                caller.integration_code.to_ascii_lowercase()
            ),
            endpoint.to_ascii_lowercase(),
        );
        let Some(_slot) =
            ThreadSlot::acquire(&self.simulator.inner.threads, key, options.thread_limit)
        else {
            return error_response(
                status_from_code(options.thread_threshold_status),
                &thread_threshold_message(options.thread_limit),
            );
        };
        let decision =
            self.simulator
                .decide_faults(Some(&caller.tenant.name), endpoint, self.method.as_str());
        let delay = threshold_latency + Duration::from_millis(decision.latency_millis);
        if !self.pause(delay).await {
            return error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "The simulator is shutting down.",
            );
        }
        if let Some(failure) = &decision.failure
            && let Some(response) = self.pre_apply_failure(failure)
        {
            return response;
        }
        // Refused for permissions only once the request has counted and held its thread slot.
        let verb = match (route, &self.method) {
            (_, &Method::POST) if !matches!(route, Route::Query(..)) => "create",
            (_, &Method::PATCH | &Method::PUT) => "update",
            (_, &Method::DELETE) => "delete",
            _ => "query",
        };
        if let Some(kind) = route.entity()
            && (caller.user.denied.contains(&kind)
                || caller.user.denied_verbs.contains(&(kind, verb)))
        {
            return error_response(
                status_from_code(options.permission_denied_status),
                &format!("User does not have adequate permissions to {verb} this entity."),
            );
        }
        let response = self.execute(&caller, route);
        match decision.failure {
            Some(FaultKind::TimeoutAfterWrite) => {
                self.pause(options.timeout_fault_hold).await;
                error_response(StatusCode::GATEWAY_TIMEOUT, "The request timed out.")
            }
            Some(FaultKind::MalformedBody) => {
                let mut truncated = json_text_response(
                    StatusCode::OK,
                    "{\"items\":[{\"id\":1,\"title\":\"Trunc".to_owned(),
                );
                *truncated.status_mut() = response.status();
                truncated
            }
            _ => response,
        }
    }

    fn render_options(&self, caller: &Caller, include_data: bool) -> (bool, bool, bool) {
        (
            !caller.user.can_read_costs(),
            include_data,
            self.simulator.inner.options.dates_with_z,
        )
    }

    fn execute(&self, caller: &Caller, route: Route) -> Response {
        match route {
            Route::Modules => {
                let data = read_lock(&caller.tenant.data);
                let modules: Vec<Value> = data
                    .modules
                    .iter()
                    .map(|(key, active)| json!({ "key": key, "value": active }))
                    .collect();
                json_response(StatusCode::OK, &json!({ "modules": modules }))
            }
            Route::ThresholdInformation => {
                let options = &self.simulator.inner.options;
                let count =
                    mutex_lock(&caller.tenant.limits).current_count(Instant::now(), options);
                json_response(
                    StatusCode::OK,
                    &json!({
                        "externalRequestThreshold": options.hourly_request_threshold,
                        "requestThresholdTimeframe": options.threshold_window.as_secs() / 60,
                        "currentTimeframeRequestCount": count,
                    }),
                )
            }
            Route::EntityInformation(kind, part) => self.entity_information(caller, kind, part),
            Route::Query(kind, style) => self.query(caller, kind, style),
            Route::ById(kind, id) => {
                if self.method == Method::DELETE {
                    return self.delete(caller, kind, id, None);
                }
                self.get_by_id(caller, kind, id, None)
            }
            Route::Root(kind) => self.write(caller, kind, None),
            Route::ChildCollection(kind, parent_id) => {
                if self.method == Method::GET {
                    self.child_list(caller, kind, parent_id)
                } else {
                    self.write(caller, kind, Some(parent_id))
                }
            }
            Route::ChildById(kind, parent_id, id) => {
                if self.method == Method::DELETE {
                    self.delete(caller, kind, id, Some(parent_id))
                } else {
                    self.get_by_id(caller, kind, id, Some(parent_id))
                }
            }
        }
    }

    #[allow(clippy::result_large_err)] // a ready-made response per request; size is irrelevant here
    fn body_json(&self) -> Result<Value, Response> {
        if self.body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&self.body).map_err(|error| {
            error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("The request body is not valid JSON: {error}"),
            )
        })
    }

    fn get_by_id(
        &self,
        caller: &Caller,
        kind: EntityKind,
        id: i64,
        parent_id: Option<i64>,
    ) -> Response {
        let entity = definition(kind);
        let data = read_lock(&caller.tenant.data);
        let visible = query::visible_rows(&data, kind, caller);
        let record = visible
            .get(&id)
            .filter(|record| match (&entity.parent, parent_id) {
                (Some(link), Some(parent)) => {
                    record.get(entity, link.field).as_i64() == Some(parent)
                }
                _ => true,
            });
        let attachment_child = kind == EntityKind::TicketAttachments && parent_id.is_some();
        let (hide_costs, include_data, dates_with_z) =
            self.render_options(caller, attachment_child);
        let render = RenderOptions {
            projection: None,
            hide_costs,
            include_data,
            dates_with_z,
        };
        match record {
            Some(record) if attachment_child => json_response(
                StatusCode::OK,
                &json!({ "items": [render_record(entity, record, render)] }),
            ),
            Some(record) => json_response(
                StatusCode::OK,
                &json!({ "item": render_record(entity, record, render) }),
            ),
            None => match self.simulator.inner.options.missing_item {
                MissingItemMode::NotFound => {
                    json_response(StatusCode::NOT_FOUND, &json!({ "item": null }))
                }
                MissingItemMode::NullItem => {
                    json_response(StatusCode::OK, &json!({ "item": null }))
                }
            },
        }
    }

    fn child_list(&self, caller: &Caller, kind: EntityKind, parent_id: i64) -> Response {
        let entity = definition(kind);
        let Some(link) = &entity.parent else {
            return no_route(&self.full_uri);
        };
        let data = read_lock(&caller.tenant.data);
        let (hide_costs, include_data, dates_with_z) = self.render_options(caller, false);
        let render = RenderOptions {
            projection: None,
            hide_costs,
            include_data,
            dates_with_z,
        };
        let items: Vec<Value> = data
            .table(kind)
            .values()
            .filter(|record| record.get(entity, link.field).as_i64() == Some(parent_id))
            .take(500)
            .map(|record| render_record(entity, record, render))
            .collect();
        json_response(
            StatusCode::OK,
            &json!({
                "items": items,
                "pageDetails": { "count": items.len(), "requestCount": 500, "prevPageUrl": null, "nextPageUrl": null }
            }),
        )
    }

    fn write(&self, caller: &Caller, kind: EntityKind, parent_id: Option<i64>) -> Response {
        let mode = match self.method {
            Method::POST => WriteMode::Create,
            Method::PATCH => WriteMode::Patch,
            _ => WriteMode::Put,
        };
        let body = match self.body_json() {
            Ok(body) => body,
            Err(response) => return response,
        };
        let options = &self.simulator.inner.options;
        if kind == EntityKind::TicketAttachments && mode == WriteMode::Create {
            let encoded = body
                .as_object()
                .and_then(|object| {
                    object
                        .iter()
                        .find(|(key, _)| key.eq_ignore_ascii_case("data"))
                })
                .and_then(|(_, value)| value.as_str());
            if let Some(encoded) = encoded {
                let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(encoded) else {
                    return error_response(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "The attachment data is not valid base64.",
                    );
                };
                let admitted = mutex_lock(&caller.tenant.limits).admit_attachment(
                    Instant::now(),
                    bytes.len() as u64,
                    options,
                );
                if let Err(message) = admitted {
                    return error_response(StatusCode::INTERNAL_SERVER_ERROR, &message);
                }
            }
        }
        let outcome = {
            let mut data = write_lock(&caller.tenant.data);
            apply_write(
                &mut data,
                kind,
                mode,
                &body,
                parent_id,
                caller.actor,
                OffsetDateTime::now_utc(),
            )
        };
        match outcome {
            Ok(outcome) => {
                self.simulator.publish(&caller.tenant.name, outcome.events);
                json_response(StatusCode::OK, &json!({ "itemId": outcome.id }))
            }
            Err(messages) => errors_response(StatusCode::INTERNAL_SERVER_ERROR, &messages),
        }
    }

    fn delete(
        &self,
        caller: &Caller,
        kind: EntityKind,
        id: i64,
        parent_id: Option<i64>,
    ) -> Response {
        let events = {
            let mut data = write_lock(&caller.tenant.data);
            apply_delete(
                &mut data,
                kind,
                id,
                parent_id,
                caller.actor,
                OffsetDateTime::now_utc(),
            )
        };
        match events {
            Some(events) => {
                self.simulator.publish(&caller.tenant.name, events);
                json_response(StatusCode::OK, &json!({ "itemId": id }))
            }
            None => error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("{} with id {id} does not exist.", definition(kind).singular),
            ),
        }
    }
}

/// A response whose body fails at once, so hyper drops the connection without a complete response.
fn dropped_connection() -> Response {
    struct FailingBody;
    impl http_body::Body for FailingBody {
        type Data = Bytes;
        type Error = std::io::Error;
        fn poll_frame(
            self: std::pin::Pin<&mut Self>,
            _context: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
            std::task::Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "simulated connection reset",
            ))))
        }
    }
    let mut response = Response::new(Body::new(FailingBody));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response.extensions_mut().insert(DroppedConnection);
    response
}
