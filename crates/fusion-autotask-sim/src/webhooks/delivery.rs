//! Callout delivery (API-NOTES §9.3–§9.4): a background task turns each Ticket / TicketNote change event
//! into signed callouts for the tenant's active, ready, subscribed webhooks, and delivers them per
//! webhook in order — 5 attempts 30 s apart, 10 s timeout each (both scaled by
//! `SimOptions::webhook_time_scale`), then the event is dropped into `WebhookEventErrorLogs`; 25 dropped
//! events in a row deactivate the webhook and call its `deactivationUrl`. The task stops when the
//! simulator shuts down (in-flight callouts are abandoned).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha1::Sha1;
use time::OffsetDateTime;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinSet;

use super::config::{deactivation_call, field_picklist, udf_picklist};
use super::tables::{Row, TenantWebhooks, WebhookKind};
use super::{DeliveryOutcome, WebhookCallKind, WebhookDelivery};
use crate::events::{ChangeAction, ChangeEvent};
use crate::schema::{WireType, definition};
use crate::wire::format_date_time;
use crate::{Simulator, mutex_lock};

/// Attempts per callout before the event is dropped (vendor: 5 within about 2 minutes).
const MAX_ATTEMPTS: u32 = 5;
/// Dropped events in a row that disable a webhook.
const FAILED_EVENTS_BEFORE_DEACTIVATION: u32 = 25;
const RETRY_WAIT: Duration = Duration::from_secs(30);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);
/// A scaled response timeout never drops below this, so a busy test machine does not turn a slow
/// success on loopback into a failure.
const MINIMUM_RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);

/// A notice to a webhook's `deactivationUrl`.
#[derive(Debug, Clone)]
pub(crate) struct DeactivationCall {
    pub tenant: String,
    pub kind: WebhookKind,
    pub webhook_id: i64,
    pub guid: String,
    pub url: String,
    pub secret_key: Option<String>,
}

/// One callout: the exact body bytes are fixed (and signed) when the event is matched.
#[derive(Debug)]
struct Callout {
    tenant: String,
    kind: WebhookKind,
    webhook_id: i64,
    entity_id: i64,
    action: &'static str,
    sequence: u64,
    body: Vec<u8>,
    signature: Option<String>,
}

/// The signature of a callout: over the exact body, or over its .NET-escaped form when the
/// simulator is set to reproduce that quirk.
fn callout_signature(simulator: &Simulator, secret_key: &str, body: &[u8]) -> Option<String> {
    if simulator.inner.options.webhook_sign_dotnet_escaped {
        signature(secret_key, &dotnet_escaped(body)?)
    } else {
        signature(secret_key, body)
    }
}

/// `body` with `&`, `<`, `>`, `'`, `"` (written `\"`), `` ` ``, `+` and every non-ASCII character
/// inside JSON string values as upper-case `\uXXXX` — what .NET's default JSON encoder emits.
fn dotnet_escaped(body: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(body).ok()?;
    let mut out = String::with_capacity(text.len() + 16);
    let mut in_string = false;
    let mut chars = text.chars();
    let escape = |out: &mut String, c: char| {
        let mut units = [0_u16; 2];
        for unit in c.encode_utf16(&mut units) {
            out.push_str(&format!("\\u{unit:04X}"));
        }
    };
    while let Some(c) = chars.next() {
        match (in_string, c) {
            (false, '"') => {
                in_string = true;
                out.push(c);
            }
            (false, c) => out.push(c),
            (true, '"') => {
                in_string = false;
                out.push(c);
            }
            (true, '\\') => match chars.next() {
                Some('"') => out.push_str("\\u0022"),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            (true, '&' | '<' | '>' | '\'' | '`' | '+') => escape(&mut out, c),
            (true, c) if !c.is_ascii() => escape(&mut out, c),
            (true, c) => out.push(c),
        }
    }
    Some(out.into_bytes())
}

/// `sha1=<base64(HMAC-SHA1(secretKey, body))>`.
fn signature(secret_key: &str, body: &[u8]) -> Option<String> {
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(secret_key.as_bytes()).ok()?;
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    Some(format!(
        "sha1={}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    ))
}

fn scaled(simulator: &Simulator, duration: Duration) -> Duration {
    let scale = simulator.inner.options.webhook_time_scale;
    if scale <= 0.0 {
        Duration::ZERO
    } else {
        duration.mul_f64(scale)
    }
}

fn now_text() -> String {
    format_date_time(OffsetDateTime::now_utc())
}

/// An HTTP client for callouts with its own ring-backed TLS configuration (never the process default).
fn build_client() -> Result<reqwest::Client, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| error.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        // Receivers are local (tests, `fusion serve`); a system proxy would only get in the way.
        .no_proxy()
        .user_agent("Autotask-Webhooks (fusion-autotask-sim)")
        .build()
        .map_err(|error| error.to_string())
}

/// Starts the delivery task unless it already runs. Subscribes before returning, so every change made
/// after `Simulator::spawn` returns is seen.
pub(crate) fn start_delivery(simulator: &Simulator) {
    let registry = &simulator.inner.webhooks;
    let mut outbox = mutex_lock(&registry.outbox);
    if outbox.as_ref().is_some_and(|sender| !sender.is_closed()) {
        return;
    }
    let client = match build_client() {
        Ok(client) => client,
        Err(error) => {
            tracing::warn!(%error, "webhook delivery disabled: the HTTP client could not be built");
            return;
        }
    };
    let (sender, notices) = mpsc::unbounded_channel();
    *outbox = Some(sender);
    let events = simulator.subscribe_changes();
    let stopping = simulator.inner.stopping.subscribe();
    tokio::spawn(run(simulator.clone(), client, events, notices, stopping));
}

async fn run(
    simulator: Simulator,
    client: reqwest::Client,
    mut events: broadcast::Receiver<ChangeEvent>,
    mut notices: mpsc::UnboundedReceiver<DeactivationCall>,
    mut stopping: watch::Receiver<bool>,
) {
    let mut queues: HashMap<(String, i64), mpsc::UnboundedSender<Callout>> = HashMap::new();
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            _ = stopping.wait_for(|stopped| *stopped) => break,
            received = events.recv() => match received {
                Ok(event) => {
                    for callout in plan(&simulator, &event) {
                        let key = (callout.tenant.to_ascii_lowercase(), callout.webhook_id);
                        let queue = queues.entry(key).or_insert_with(|| {
                            let (sender, receiver) = mpsc::unbounded_channel();
                            tasks.spawn(deliver_queue(simulator.clone(), client.clone(), receiver));
                            sender
                        });
                        let _ = queue.send(callout);
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "webhook delivery fell behind; events were skipped");
                }
                Err(RecvError::Closed) => break,
            },
            Some(notice) = notices.recv() => {
                tasks.spawn(notify_deactivation(simulator.clone(), client.clone(), notice));
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    tasks.shutdown().await;
}

/// What one matching webhook needs for a callout.
struct Target {
    id: i64,
    guid: String,
    secret_key: Option<String>,
    /// (property or UDF name, subscribed, display always).
    fields: Vec<(String, bool, bool)>,
}

fn flag(row: &Row, name: &str) -> bool {
    row.get(name).and_then(Value::as_bool) == Some(true)
}

/// The webhooks of this kind that take the event, at most one per `webhookUrl` (the vendor never sends
/// exact duplicates, API-NOTES §9.2).
fn matching_targets(
    state: &TenantWebhooks,
    kind: WebhookKind,
    event: &ChangeEvent,
    field_names: &HashMap<i64, String>,
    udf_names: &HashMap<i64, String>,
) -> Vec<Target> {
    let mut seen_urls = HashSet::new();
    let mut targets = Vec::new();
    for row in state.rows(kind.webhooks_table()) {
        let Some(id) = row.get("id").and_then(Value::as_i64) else {
            continue;
        };
        let subscribed = match event.action {
            ChangeAction::Create => flag(row, "isSubscribedToCreateEvents"),
            ChangeAction::Update => flag(row, "isSubscribedToUpdateEvents"),
            ChangeAction::Delete => flag(row, "isSubscribedToDeleteEvents"),
        };
        if !subscribed || !flag(row, "isActive") || !state.is_ready(kind, id) {
            continue;
        }
        let excluded = state.children(kind.excluded_table(), id).any(|excluded| {
            excluded.get("resourceID").and_then(Value::as_i64) == Some(event.person_id)
        });
        if excluded {
            continue;
        }
        let mut fields: Vec<(String, bool, bool)> = state
            .children(kind.fields_table(), id)
            .filter_map(|field| {
                let name = field_names.get(&field.get("fieldID").and_then(Value::as_i64)?)?;
                Some((
                    name.clone(),
                    flag(field, "isSubscribedField"),
                    flag(field, "isDisplayAlwaysField"),
                ))
            })
            .collect();
        if let Some(udf_table) = kind.udf_fields_table() {
            fields.extend(state.children(udf_table, id).filter_map(|field| {
                let name = udf_names.get(&field.get("udfFieldID").and_then(Value::as_i64)?)?;
                Some((
                    name.clone(),
                    flag(field, "isSubscribedField"),
                    flag(field, "isDisplayAlwaysField"),
                ))
            }));
        }
        let changed = |name: &str| {
            event
                .changed_fields
                .iter()
                .any(|changed| changed.eq_ignore_ascii_case(name))
        };
        if event.action == ChangeAction::Update
            && !fields
                .iter()
                .any(|(name, subscribed, _)| *subscribed && changed(name))
        {
            continue;
        }
        let url = row
            .get("webhookUrl")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if !seen_urls.insert(url) {
            continue;
        }
        targets.push(Target {
            id,
            guid: row
                .get("webhookGUID")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            secret_key: row
                .get("secretKey")
                .and_then(Value::as_str)
                .filter(|key| !key.is_empty())
                .map(str::to_owned),
            fields,
        });
    }
    targets
}

/// Builds the signed callouts one change event causes.
fn plan(simulator: &Simulator, event: &ChangeEvent) -> Vec<Callout> {
    let Some(kind) = WebhookKind::for_entity(event.entity) else {
        return Vec::new();
    };
    // Most events meet no webhook at all: skip the picklists then.
    let has_webhooks = simulator
        .inner
        .webhooks
        .with_tenant(&event.tenant, |state| {
            state.rows(kind.webhooks_table()).next().is_some()
        });
    if !has_webhooks {
        return Vec::new();
    }
    let Some(tenant) = simulator.tenant(&event.tenant) else {
        return Vec::new();
    };
    let field_names: HashMap<i64, String> = field_picklist(kind)
        .into_iter()
        .map(|(id, name)| (id, name.to_owned()))
        .collect();
    let udf_names: HashMap<i64, String> = if kind == WebhookKind::Ticket {
        udf_picklist(&tenant).into_iter().collect()
    } else {
        HashMap::new()
    };
    let targets = simulator
        .inner
        .webhooks
        .with_tenant(&event.tenant, |state| {
            matching_targets(state, kind, event, &field_names, &udf_names)
        });
    if targets.is_empty() {
        return Vec::new();
    }
    let dates_with_z = simulator.inner.options.dates_with_z;
    // The event carries the record as it was right after the change (before it, for a Delete).
    let value_of = |name: &str| -> Option<Value> {
        let record = event.record.as_object()?;
        if let Some(value) = record.get(name) {
            let is_date = definition(kind.entity())
                .field(name)
                .is_some_and(|field| field.wire == WireType::DateTime);
            return Some(match value.as_str() {
                Some(text) if is_date && dates_with_z => Value::String(format!("{text}Z")),
                _ => value.clone(),
            });
        }
        let udfs = record.get("userDefinedFields")?.as_array()?;
        udfs.iter()
            .find(|udf| {
                udf.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|udf_name| udf_name.eq_ignore_ascii_case(name))
            })
            .and_then(|udf| udf.get("value").cloned())
    };
    let changed = |name: &str| {
        event
            .changed_fields
            .iter()
            .any(|changed| changed.eq_ignore_ascii_case(name))
    };
    let mut event_time = format_date_time(event.at);
    if dates_with_z {
        event_time.push('Z');
    }
    targets
        .into_iter()
        .map(|target| {
            let mut fields = Map::new();
            for (name, subscribed, display_always) in &target.fields {
                if (*display_always || (*subscribed && changed(name)))
                    && let Some(value) = value_of(name)
                {
                    fields.insert(name.clone(), value);
                }
            }
            let payload = json!({
                "Guid": target.guid,
                "EntityType": kind.entity_type(),
                "Id": event.id,
                "Action": event.action.label(),
                "Fields": fields,
                "EventTime": event_time,
                "SequenceNumber": event.sequence,
                "PersonID": event.person_id,
            });
            let body = serde_json::to_vec(&payload).unwrap_or_default();
            let signature = target
                .secret_key
                .as_deref()
                .and_then(|key| callout_signature(simulator, key, &body));
            Callout {
                tenant: tenant.name.clone(),
                kind,
                webhook_id: target.id,
                entity_id: event.id,
                action: event.action.label(),
                sequence: event.sequence,
                body,
                signature,
            }
        })
        .collect()
}

async fn deliver_queue(
    simulator: Simulator,
    client: reqwest::Client,
    mut queue: mpsc::UnboundedReceiver<Callout>,
) {
    while let Some(callout) = queue.recv().await {
        deliver(&simulator, &client, callout).await;
    }
}

/// Sends one request; Ok(status) when the receiver answered, Err(reason) otherwise.
async fn post(
    client: &reqwest::Client,
    url: &str,
    body: &[u8],
    signature: Option<&str>,
    timeout: Duration,
) -> Result<u16, String> {
    let mut request = client
        .post(url)
        .timeout(timeout)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )
        .body(body.to_vec());
    if let Some(signature) = signature {
        request = request.header("X-Hook-Signature", signature);
    }
    match request.send().await {
        Ok(response) => Ok(response.status().as_u16()),
        Err(error) if error.is_timeout() => Err(format!(
            "The callout timed out after {} ms.",
            timeout.as_millis()
        )),
        Err(error) if error.is_connect() => {
            Err("The receiver could not be reached (connection failed).".to_owned())
        }
        Err(error) => Err(format!("The callout failed: {error}")),
    }
}

/// The URL to call now, if the webhook still exists and is active and ready.
fn current_url(state: &TenantWebhooks, kind: WebhookKind, id: i64) -> Option<String> {
    let row = state.row(kind.webhooks_table(), id)?;
    if !flag(row, "isActive") || !state.is_ready(kind, id) {
        return None;
    }
    row.get("webhookUrl")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

async fn deliver(simulator: &Simulator, client: &reqwest::Client, callout: Callout) {
    let registry = &simulator.inner.webhooks;
    let timeout = scaled(simulator, RESPONSE_TIMEOUT).max(MINIMUM_RESPONSE_TIMEOUT);
    let record = |attempt: u32,
                  url: String,
                  status: Option<u16>,
                  outcome: DeliveryOutcome,
                  error: Option<String>| {
        registry.record(WebhookDelivery {
            tenant: callout.tenant.clone(),
            webhook_id: callout.webhook_id,
            entity_type: callout.kind.entity_type().to_owned(),
            kind: WebhookCallKind::Callout,
            entity_id: callout.entity_id,
            action: callout.action.to_owned(),
            sequence_number: callout.sequence,
            attempt,
            url,
            status,
            outcome,
            error,
            at: now_text(),
        });
    };
    let mut last_error = String::new();
    for attempt in 1..=MAX_ATTEMPTS {
        let url = registry.with_tenant(&callout.tenant, |state| {
            current_url(state, callout.kind, callout.webhook_id)
        });
        let Some(url) = url else {
            record(
                attempt,
                String::new(),
                None,
                DeliveryOutcome::Skipped,
                Some("The webhook is inactive or was deleted.".into()),
            );
            return;
        };
        let result = post(
            client,
            &url,
            &callout.body,
            callout.signature.as_deref(),
            timeout,
        )
        .await;
        let (status, error) = match result {
            Ok(status) if (200..300).contains(&status) => {
                record(attempt, url, Some(status), DeliveryOutcome::Delivered, None);
                registry.with_tenant(&callout.tenant, |state| {
                    state.consecutive_failed_events.remove(&callout.webhook_id)
                });
                return;
            }
            Ok(status) => (
                Some(status),
                format!("The receiver answered HTTP {status}."),
            ),
            Err(reason) => (None, reason),
        };
        let last = attempt == MAX_ATTEMPTS;
        let outcome = if last {
            DeliveryOutcome::Dropped
        } else {
            DeliveryOutcome::Failed
        };
        record(attempt, url, status, outcome, Some(error.clone()));
        last_error = error;
        if !last {
            tokio::time::sleep(scaled(simulator, RETRY_WAIT)).await;
        }
    }
    let notice = registry.with_tenant(&callout.tenant, |state| {
        let id = state.allocate_id();
        let mut row = Row::new();
        row.insert("id".into(), Value::from(id));
        row.insert("accountWebhookID".into(), Value::Null);
        row.insert("contactWebhookID".into(), Value::Null);
        row.insert("createDateTime".into(), Value::from(now_text()));
        row.insert(
            "errorMessage".into(),
            Value::from(format!(
                "The callout failed {MAX_ATTEMPTS} times and was dropped. Last error: {last_error}"
            )),
        );
        row.insert(
            "payload".into(),
            Value::from(String::from_utf8_lossy(&callout.body).into_owned()),
        );
        row.insert("sequenceNumber".into(), Value::from(callout.sequence));
        state.insert(super::tables::Table::WebhookEventErrorLogs, id, row);
        let failed = state
            .consecutive_failed_events
            .entry(callout.webhook_id)
            .or_insert(0);
        *failed += 1;
        if *failed < FAILED_EVENTS_BEFORE_DEACTIVATION {
            return None;
        }
        state.consecutive_failed_events.remove(&callout.webhook_id);
        let row = state.row_mut(callout.kind.webhooks_table(), callout.webhook_id)?;
        row.insert("isActive".into(), Value::Bool(false));
        let row = row.clone();
        tracing::info!(
            webhook = callout.webhook_id,
            "webhook deactivated after {FAILED_EVENTS_BEFORE_DEACTIVATION} failed events"
        );
        deactivation_call(&callout.tenant, callout.kind, callout.webhook_id, &row)
    });
    if let Some(notice) = notice {
        notify_deactivation(simulator.clone(), client.clone(), notice).await;
    }
}

/// One signed POST to `deactivationUrl` (not retried).
async fn notify_deactivation(
    simulator: Simulator,
    client: reqwest::Client,
    notice: DeactivationCall,
) {
    let mut event_time = now_text();
    if simulator.inner.options.dates_with_z {
        event_time.push('Z');
    }
    let payload = json!({
        "Guid": notice.guid,
        "EntityType": notice.kind.entity_type(),
        "Id": notice.webhook_id,
        "Action": "Deactivated",
        "EventTime": event_time,
    });
    let body = serde_json::to_vec(&payload).unwrap_or_default();
    let signature = notice
        .secret_key
        .as_deref()
        .filter(|key| !key.is_empty())
        .and_then(|key| callout_signature(&simulator, key, &body));
    let timeout = scaled(&simulator, RESPONSE_TIMEOUT).max(MINIMUM_RESPONSE_TIMEOUT);
    let result = post(&client, &notice.url, &body, signature.as_deref(), timeout).await;
    let (status, outcome, error) = match result {
        Ok(status) if (200..300).contains(&status) => {
            (Some(status), DeliveryOutcome::Delivered, None)
        }
        Ok(status) => (
            Some(status),
            DeliveryOutcome::Failed,
            Some(format!("The receiver answered HTTP {status}.")),
        ),
        Err(reason) => (None, DeliveryOutcome::Failed, Some(reason)),
    };
    simulator.inner.webhooks.record(WebhookDelivery {
        tenant: notice.tenant,
        webhook_id: notice.webhook_id,
        entity_type: notice.kind.entity_type().to_owned(),
        kind: WebhookCallKind::Deactivation,
        entity_id: notice.webhook_id,
        action: "Deactivated".to_owned(),
        sequence_number: 0,
        attempt: 1,
        url: notice.url,
        status,
        outcome,
        error,
        at: now_text(),
    });
}

#[cfg(test)]
mod tests {
    use super::{dotnet_escaped, signature};

    #[test]
    fn the_dotnet_escaped_form_escapes_only_inside_strings() {
        let body = r#"{"Fields":{"title":"A & B <c> \"d\" + é"},"Id":7}"#;
        let escaped =
            String::from_utf8(dotnet_escaped(body.as_bytes()).expect("UTF-8")).expect("UTF-8");
        assert_eq!(
            escaped,
            r#"{"Fields":{"title":"A \u0026 B \u003Cc\u003E \u0022d\u0022 \u002B \u00E9"},"Id":7}"#
        );
    }

    #[test]
    fn signature_matches_a_known_hmac_sha1_vector() {
        // RFC 2202 test case 2: key "Jefe", data "what do ya want for nothing?".
        let signed = signature("Jefe", b"what do ya want for nothing?")
            .expect("HMAC accepts any key length");
        assert_eq!(signed, "sha1=7/zfauXrL6LSdBbV8YTfnCWafHk=");
    }
}
