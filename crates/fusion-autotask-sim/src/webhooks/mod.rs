//! Webhooks (API-NOTES §9): the per-tenant configuration entities (`TicketWebhooks`,
//! `TicketNoteWebhooks`, their `Fields` / `UdfFields` / `ExcludedResources` children and
//! `WebhookEventErrorLogs`) served through the normal REST surface, and signed callouts delivered from
//! the change-event stream by a background task that runs while the simulator is spawned.
//!
//! - `tables`: columns and rows; `filter`: queries; `config`: the REST handlers and validation;
//!   `delivery`: matching events to webhooks, signing, ordered delivery with retries, error log,
//!   deactivation.
//! - Every delivery attempt is recorded; [`Simulator::webhook_deliveries`] and
//!   `GET /_sim/webhooks/deliveries` show them.

mod config;
mod delivery;
mod filter;
mod tables;

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde::Serialize;
use serde_json::json;
use tokio::sync::mpsc;

pub(crate) use config::{WebhookCall, handle, resolve};
pub(crate) use delivery::start_delivery;

use crate::wire::{error_response, json_response};
use crate::{Simulator, mutex_lock};
use delivery::DeactivationCall;
use tables::TenantWebhooks;

/// What a recorded outbound call was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookCallKind {
    /// A change callout to `webhookUrl`.
    Callout,
    /// The notice to `deactivationUrl` (webhook deleted, deactivated, or disabled after failures).
    Deactivation,
}

/// How one delivery attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryOutcome {
    /// The receiver answered 2xx.
    Delivered,
    /// Non-2xx, timeout or connection error; the callout will be retried.
    Failed,
    /// The last attempt failed: the event was dropped and a `WebhookEventErrorLogs` entry written.
    Dropped,
    /// Not sent: the webhook was deleted or deactivated before this attempt.
    Skipped,
}

/// One outbound call the simulator made (or skipped), in the order they happened.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookDelivery {
    pub tenant: String,
    pub webhook_id: i64,
    /// `Ticket` or `TicketNote`.
    pub entity_type: String,
    pub kind: WebhookCallKind,
    /// The changed record's id (the webhook's own id for a deactivation notice).
    pub entity_id: i64,
    /// `Create`, `Update`, `Delete`, or `Deactivated`.
    pub action: String,
    /// The payload's `SequenceNumber` (0 for a deactivation notice).
    pub sequence_number: u64,
    /// 1-based attempt number (a callout gets at most 5).
    pub attempt: u32,
    pub url: String,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<u16>,
    pub outcome: DeliveryOutcome,
    /// Why the attempt failed (status text, timeout, connection error).
    pub error: Option<String>,
    /// When the attempt finished, wire format (UTC, no `Z`).
    pub at: String,
}

/// The webhook state of one simulator: configuration per tenant, the delivery record, and the channel
/// to the delivery task (present while it runs).
#[derive(Debug, Default)]
pub(crate) struct WebhookRegistry {
    /// Keyed by lower-case tenant name.
    tenants: Mutex<HashMap<String, TenantWebhooks>>,
    deliveries: Mutex<Vec<WebhookDelivery>>,
    outbox: Mutex<Option<mpsc::UnboundedSender<DeactivationCall>>>,
}

impl WebhookRegistry {
    /// Runs `change` on one tenant's webhook state (created empty on first use).
    pub(crate) fn with_tenant<T>(
        &self,
        tenant: &str,
        change: impl FnOnce(&mut TenantWebhooks) -> T,
    ) -> T {
        let mut tenants = mutex_lock(&self.tenants);
        change(tenants.entry(tenant.to_ascii_lowercase()).or_default())
    }

    pub(super) fn record(&self, delivery: WebhookDelivery) {
        tracing::debug!(
            webhook = delivery.webhook_id,
            sequence = delivery.sequence_number,
            attempt = delivery.attempt,
            outcome = ?delivery.outcome,
            "webhook delivery attempt"
        );
        mutex_lock(&self.deliveries).push(delivery);
    }

    /// Hands a deactivation notice to the delivery task; false when it is not running.
    pub(super) fn send_deactivation(&self, call: DeactivationCall) -> bool {
        mutex_lock(&self.outbox)
            .as_ref()
            .is_some_and(|sender| sender.send(call).is_ok())
    }
}

impl Simulator {
    /// Every webhook call attempted so far (callouts and deactivation notices), oldest first.
    pub fn webhook_deliveries(&self) -> Vec<WebhookDelivery> {
        mutex_lock(&self.inner.webhooks.deliveries).clone()
    }

    pub fn clear_webhook_deliveries(&self) {
        mutex_lock(&self.inner.webhooks.deliveries).clear();
    }
}

/// `/_sim/webhooks/...`: `GET deliveries` lists [`WebhookDelivery`] records, `DELETE deliveries` clears them.
pub(crate) fn control(simulator: &Simulator, method: &Method, segments: &[String]) -> Response {
    let parts: Vec<String> = segments
        .iter()
        .map(|segment| segment.to_ascii_lowercase())
        .collect();
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    match (method.as_str(), parts.as_slice()) {
        ("GET", ["deliveries"]) => json_response(
            StatusCode::OK,
            &json!({ "deliveries": simulator.webhook_deliveries() }),
        ),
        ("DELETE", ["deliveries"]) => {
            simulator.clear_webhook_deliveries();
            json_response(StatusCode::OK, &json!({ "ok": true }))
        }
        _ => error_response(StatusCode::NOT_FOUND, "no such control-plane route"),
    }
}
