//! The engine's [`PlatformWebhooks`] port for Autotask, on [`AutotaskTenants`]: the ticket and
//! note webhooks made, checked and removed through `webhooks.rs`, callouts verified by
//! `webhook_signature.rs` and read from Autotask's payload (API-NOTES §9), and dropped callouts
//! counted from `WebhookEventErrorLogs`.

use async_trait::async_trait;
use fusion_domain::sync::TicketId;
use fusion_engine::TenantCredentials;
use fusion_engine::webhooks::{Callout, HookError, HookSpec, PlatformHooks, PlatformWebhooks};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::client::AutotaskClient;
use crate::error::AutotaskError;
use crate::tenants::AutotaskTenants;
use crate::webhooks::{
    RegisteredWebhooks, WebhookSetupError, WebhookSpec, ensure_webhooks, remove_webhooks,
    webhooks_state,
};
use crate::wire::{AutotaskEntity, Filter, datetime};

/// A callout's body (the fields the sync needs).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Payload {
    action: String,
    entity_type: String,
    #[serde(default)]
    event_time: Option<String>,
    #[serde(default)]
    fields: serde_json::Map<String, serde_json::Value>,
    guid: String,
    #[serde(default)]
    id: Option<i64>,
    #[serde(default)]
    sequence_number: Option<i64>,
}

/// One `WebhookEventErrorLogs` row.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorLog {
    id: Option<i64>,
    #[serde(default)]
    payload: Option<String>,
}

impl AutotaskEntity for ErrorLog {
    const ENDPOINT: &'static str = "WebhookEventErrorLogs";
    fn id(&self) -> Option<i64> {
        self.id
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Resource {
    id: Option<i64>,
}

impl AutotaskEntity for Resource {
    const ENDPOINT: &'static str = "Resources";
    fn id(&self) -> Option<i64> {
        self.id
    }
}

fn failed(error: AutotaskError) -> HookError {
    match error {
        AutotaskError::PermissionDenied { .. } => {
            HookError::NotPermitted(WebhookSetupError::NotPermitted(error.to_string()).to_string())
        }
        other => HookError::Failed(other.to_string()),
    }
}

fn hooks(registered: RegisteredWebhooks) -> PlatformHooks {
    PlatformHooks {
        healthy: registered.healthy(),
        platform_ids: vec![
            registered.ticket.id.to_string(),
            registered.note.id.to_string(),
        ],
        guids: vec![registered.ticket.guid, registered.note.guid],
    }
}

/// The resource of the API user (by userName, then email): excluded from callouts so the
/// sync's own writes do not come back.
async fn api_user_resource(client: &AutotaskClient) -> Result<Option<i64>, AutotaskError> {
    let username = client.username().trim().to_owned();
    for field in ["userName", "email"] {
        let found: Vec<Resource> = client
            .query_all(vec![Filter::eq(field, username.as_str())])
            .await?;
        if let Some(id) = found.iter().filter_map(|r| r.id).min() {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

impl AutotaskTenants {
    fn hook_client(&self, credentials: &TenantCredentials) -> Result<AutotaskClient, HookError> {
        self.client(credentials)
            .map_err(|error| HookError::Failed(error.to_string()))
    }
}

#[async_trait]
impl PlatformWebhooks for AutotaskTenants {
    fn tenant_of(&self, credentials: &TenantCredentials) -> String {
        format!(
            "{} {}",
            credentials
                .api_url
                .trim()
                .trim_end_matches('/')
                .to_ascii_lowercase(),
            credentials.username.trim().to_ascii_lowercase()
        )
    }

    async fn ensure_webhooks(
        &self,
        credentials: &TenantCredentials,
        spec: &HookSpec,
    ) -> Result<PlatformHooks, HookError> {
        let client = self.hook_client(credentials)?;
        let excluded_resource = api_user_resource(&client).await.map_err(failed)?;
        let registered = ensure_webhooks(
            &client,
            &WebhookSpec {
                name: spec.name.clone(),
                url: spec.callout_url.clone(),
                deactivation_url: spec.deactivation_url.clone(),
                secret_key: spec.secret.expose_secret().to_owned(),
                excluded_resource,
            },
        )
        .await
        .map_err(|error| match error {
            WebhookSetupError::NotPermitted(_) => HookError::NotPermitted(error.to_string()),
            WebhookSetupError::Failed(error) => failed(error),
        })?;
        Ok(hooks(registered))
    }

    async fn webhooks_state(
        &self,
        credentials: &TenantCredentials,
        name: &str,
    ) -> Result<Option<PlatformHooks>, HookError> {
        let client = self.hook_client(credentials)?;
        Ok(webhooks_state(&client, name)
            .await
            .map_err(failed)?
            .map(hooks))
    }

    async fn remove_webhooks(
        &self,
        credentials: &TenantCredentials,
        name: &str,
    ) -> Result<(), HookError> {
        let client = self.hook_client(credentials)?;
        remove_webhooks(&client, name).await.map_err(failed)
    }

    async fn dropped_events_since(
        &self,
        credentials: &TenantCredentials,
        guids: &[String],
        since: OffsetDateTime,
    ) -> Result<u32, HookError> {
        let client = self.hook_client(credentials)?;
        let logs: Vec<ErrorLog> = client
            .query_all(vec![Filter::gte("createDateTime", datetime::format(since))])
            .await
            .map_err(failed)?;
        let ours = |payload: &str| {
            serde_json::from_str::<Payload>(payload)
                .map(|payload| guids.iter().any(|g| g.eq_ignore_ascii_case(&payload.guid)))
                .unwrap_or(false)
        };
        let dropped = logs
            .iter()
            .filter(|log| log.payload.as_deref().is_some_and(ours))
            .count();
        Ok(u32::try_from(dropped).unwrap_or(u32::MAX))
    }

    fn verify_callout(&self, secret: &SecretString, body: &[u8], signature: Option<&str>) -> bool {
        crate::webhook_signature::verify(secret.expose_secret(), body, signature).is_some()
    }

    fn read_callout(&self, body: &[u8]) -> Result<Callout, String> {
        read_callout(body)
    }
}

/// Reads Autotask's callout body: a ticket's change names the ticket by `Id`, a note's by its
/// `ticketID` field; a deactivation notice names the webhook.
pub fn read_callout(body: &[u8]) -> Result<Callout, String> {
    let payload: Payload = serde_json::from_slice(body)
        .map_err(|error| format!("not an Autotask webhook callout: {error}"))?;
    if payload.action.eq_ignore_ascii_case("Deactivated") {
        return Ok(Callout::Deactivated { guid: payload.guid });
    }
    let ticket = match payload.entity_type.as_str() {
        "Ticket" => payload.id,
        "TicketNote" => payload
            .fields
            .get("ticketID")
            .and_then(|value| value.as_i64().or_else(|| value.as_str()?.parse().ok())),
        other => return Err(format!("callouts for {other} are not synced")),
    }
    .ok_or_else(|| format!("the {} callout names no ticket", payload.entity_type))?;
    let event_time = payload
        .event_time
        .as_deref()
        .and_then(datetime::parse)
        .ok_or_else(|| "the callout has no readable EventTime".to_owned())?;
    Ok(Callout::Change {
        guid: payload.guid,
        sequence_number: payload
            .sequence_number
            .ok_or_else(|| "the callout has no SequenceNumber".to_owned())?,
        entity: payload.entity_type,
        action: payload.action,
        ticket: TicketId::new(ticket.to_string()),
        event_time,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_callout_names_its_ticket_and_a_ticket_callout_its_id() {
        let note = br#"{"Action":"Create","EntityType":"TicketNote","EventTime":"2026-11-27T01:43:57.123","Fields":{"ticketID":29000300,"description":"x"},"Guid":"G","Id":5,"PersonID":1,"SequenceNumber":42}"#;
        match read_callout(note).expect("reads") {
            Callout::Change {
                ticket,
                sequence_number,
                ..
            } => {
                assert_eq!(ticket, TicketId::new("29000300"));
                assert_eq!(sequence_number, 42);
            }
            other => panic!("{other:?}"),
        }
        let ticket = br#"{"Action":"Update","EntityType":"Ticket","EventTime":"2026-11-27T01:43:57Z","Fields":{},"Guid":"G","Id":7,"SequenceNumber":1}"#;
        assert!(
            matches!(read_callout(ticket).expect("reads"), Callout::Change { ticket, .. } if ticket == TicketId::new("7"))
        );
        let gone = br#"{"Action":"Deactivated","EntityType":"Ticket","Guid":"G","Id":3,"EventTime":"2026-11-27T01:43:57"}"#;
        assert_eq!(
            read_callout(gone).expect("reads"),
            Callout::Deactivated { guid: "G".into() }
        );
        assert!(read_callout(b"{}").is_err());
        assert!(read_callout(br#"{"Action":"Create","EntityType":"Company","Guid":"G","Id":1,"SequenceNumber":1,"EventTime":"2026-11-27T01:43:57"}"#).is_err());
    }
}
