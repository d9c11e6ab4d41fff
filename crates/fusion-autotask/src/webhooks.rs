//! Autotask's ticket and ticket-note webhooks, set up by Support Fusion (API-NOTES §9, §12.1):
//! one `TicketWebhooks` and one `TicketNoteWebhooks` record per tenant and server, found (adopted)
//! by name, active, with a secret key, the fields the sync reads, and the sync's own API user in
//! `ExcludedResources` so its writes do not come back. Removing deletes both (Autotask deletes their
//! fields and exclusions with them).
//!
//! The ticket webhook subscribes to `lastActivityDate`, which Autotask moves on every change of a
//! ticket, its notes and attachments — one subscription that catches all of them — and always
//! shows `companyID`; the note webhook subscribes to the note's `description` and always shows
//! `ticketID`, so a callout names the ticket to read either way.

use serde::{Deserialize, Serialize};

use crate::client::AutotaskClient;
use crate::error::AutotaskError;
use crate::wire::{AutotaskEntity, Filter};

/// What to set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSpec {
    /// Names both webhooks (Autotask allows 50 characters); the same name is adopted, not duplicated.
    pub name: String,
    /// Where callouts go, e.g. `https://sync.example.com/hooks/autotask/<id>`.
    pub url: String,
    /// Where Autotask says a webhook was deactivated.
    pub deactivation_url: String,
    /// The HMAC key Autotask signs callouts with (at most 64 characters).
    pub secret_key: String,
    /// The resource whose changes are not sent (the sync's own API user).
    pub excluded_resource: Option<i64>,
}

/// One webhook record as Autotask keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredWebhook {
    pub id: i64,
    /// Names the webhook in every callout (`Guid`).
    pub guid: String,
    pub active: bool,
    pub ready: bool,
}

/// The two webhooks of one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredWebhooks {
    pub ticket: RegisteredWebhook,
    pub note: RegisteredWebhook,
}

impl RegisteredWebhooks {
    pub fn healthy(&self) -> bool {
        self.ticket.active && self.ticket.ready && self.note.active && self.note.ready
    }
}

/// Why webhooks could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum WebhookSetupError {
    /// The API user's security level lacks the webhook permission (or Tickets): how to enable it.
    #[error(
        "not permitted — in Autotask, give the API user's security level \"Can create WebHooks\" (Admin › Account Settings & Users › Resources/Users (HR) › Security › Security Levels › the level › Other › Web Services API) and access to Tickets; until then the connection polls: {0}"
    )]
    NotPermitted(String),
    #[error(transparent)]
    Failed(#[from] AutotaskError),
}

impl WebhookSetupError {
    fn from_autotask(error: AutotaskError) -> WebhookSetupError {
        match error {
            AutotaskError::PermissionDenied { .. } => {
                WebhookSetupError::NotPermitted(error.to_string())
            }
            other => WebhookSetupError::Failed(other),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct WebhookRecord {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<i64>,
    name: String,
    webhook_url: String,
    deactivation_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_key: Option<String>,
    is_active: bool,
    #[serde(skip_serializing)]
    is_ready: bool,
    is_subscribed_to_create_events: bool,
    is_subscribed_to_update_events: bool,
    is_subscribed_to_delete_events: bool,
    #[serde(rename = "webhookGUID", skip_serializing)]
    webhook_guid: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Listed(WebhookRecord);

impl AutotaskEntity for Listed {
    const ENDPOINT: &'static str = "TicketWebhooks";
    fn id(&self) -> Option<i64> {
        self.0.id
    }
}

#[derive(Debug, Clone, Deserialize)]
struct ListedNote(WebhookRecord);

impl AutotaskEntity for ListedNote {
    const ENDPOINT: &'static str = "TicketNoteWebhooks";
    fn id(&self) -> Option<i64> {
        self.0.id
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct FieldRecord {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<i64>,
    #[serde(rename = "webhookID")]
    webhook_id: i64,
    #[serde(rename = "fieldID")]
    field_id: i64,
    is_subscribed_field: bool,
    is_display_always_field: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ExcludedRecord {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<i64>,
    #[serde(rename = "webhookID")]
    webhook_id: i64,
    #[serde(rename = "resourceID")]
    resource_id: i64,
}

/// Which webhook entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ticket,
    Note,
}

impl Kind {
    fn endpoint(self) -> &'static str {
        match self {
            Kind::Ticket => "TicketWebhooks",
            Kind::Note => "TicketNoteWebhooks",
        }
    }

    fn fields_endpoint(self) -> &'static str {
        match self {
            Kind::Ticket => "TicketWebhookFields",
            Kind::Note => "TicketNoteWebhookFields",
        }
    }

    /// (field, subscribed, display always).
    fn fields(self) -> &'static [(&'static str, bool, bool)] {
        match self {
            Kind::Ticket => &[
                ("lastActivityDate", true, false),
                ("companyID", false, true),
            ],
            Kind::Note => &[("description", true, false), ("ticketID", false, true)],
        }
    }
}

async fn find(
    client: &AutotaskClient,
    kind: Kind,
    name: &str,
) -> Result<Option<WebhookRecord>, AutotaskError> {
    let filter = vec![Filter::eq("name", name)];
    Ok(match kind {
        Kind::Ticket => client
            .query_all::<Listed>(filter)
            .await?
            .into_iter()
            .map(|listed| listed.0)
            .next(),
        Kind::Note => client
            .query_all::<ListedNote>(filter)
            .await?
            .into_iter()
            .map(|listed| listed.0)
            .next(),
    })
}

async fn field_ids(
    client: &AutotaskClient,
    kind: Kind,
) -> Result<Vec<(String, i64)>, AutotaskError> {
    let fields = client.field_information(kind.fields_endpoint()).await?;
    Ok(fields
        .into_iter()
        .find(|field| field.name.eq_ignore_ascii_case("fieldID"))
        .map(|field| {
            field
                .picklist_values
                .into_iter()
                .filter_map(|value| Some((value.label, value.value?)))
                .collect()
        })
        .unwrap_or_default())
}

async fn ensure_one(
    client: &AutotaskClient,
    kind: Kind,
    spec: &WebhookSpec,
) -> Result<RegisteredWebhook, AutotaskError> {
    let record = WebhookRecord {
        id: None,
        name: spec.name.clone(),
        webhook_url: spec.url.clone(),
        deactivation_url: spec.deactivation_url.clone(),
        secret_key: Some(spec.secret_key.clone()),
        is_active: true,
        is_ready: false,
        is_subscribed_to_create_events: true,
        is_subscribed_to_update_events: true,
        is_subscribed_to_delete_events: true,
        webhook_guid: None,
    };
    let id = match find(client, kind, &spec.name).await? {
        Some(existing) => {
            let id = existing.id.unwrap_or_default();
            client
                .update(
                    kind.endpoint(),
                    &WebhookRecord {
                        id: Some(id),
                        ..record
                    },
                )
                .await?;
            id
        }
        None => client.create(kind.endpoint(), &record).await?,
    };
    // Fields: add the ones missing (a field twice is refused by Autotask).
    let wanted = kind.fields();
    let ids = field_ids(client, kind).await?;
    let existing: Vec<FieldRecord> = client.list_children(kind.endpoint(), id, "Fields").await?;
    for (name, subscribed, display_always) in wanted {
        let Some((_, field_id)) = ids.iter().find(|(label, _)| label == name) else {
            continue;
        };
        if existing.iter().any(|field| field.field_id == *field_id) {
            continue;
        }
        client
            .create_child(
                kind.endpoint(),
                id,
                "Fields",
                &FieldRecord {
                    id: None,
                    webhook_id: id,
                    field_id: *field_id,
                    is_subscribed_field: *subscribed,
                    is_display_always_field: *display_always,
                },
            )
            .await?;
    }
    if let Some(resource) = spec.excluded_resource {
        let excluded: Vec<ExcludedRecord> = client
            .list_children(kind.endpoint(), id, "ExcludedResources")
            .await?;
        if !excluded.iter().any(|row| row.resource_id == resource) {
            client
                .create_child(
                    kind.endpoint(),
                    id,
                    "ExcludedResources",
                    &ExcludedRecord {
                        id: None,
                        webhook_id: id,
                        resource_id: resource,
                    },
                )
                .await?;
        }
    }
    let now = find(client, kind, &spec.name)
        .await?
        .ok_or_else(|| AutotaskError::Decode {
            status: 200,
            detail: "the webhook just saved is not listed".to_owned(),
        })?;
    Ok(RegisteredWebhook {
        id,
        guid: now.webhook_guid.unwrap_or_default(),
        active: now.is_active,
        ready: now.is_ready,
    })
}

/// Creates or adopts (by `spec.name`) the tenant's ticket and note webhooks, active, with the
/// spec's URL, secret, fields and excluded resource.
pub async fn ensure_webhooks(
    client: &AutotaskClient,
    spec: &WebhookSpec,
) -> Result<RegisteredWebhooks, WebhookSetupError> {
    let ticket = ensure_one(client, Kind::Ticket, spec)
        .await
        .map_err(WebhookSetupError::from_autotask)?;
    let note = ensure_one(client, Kind::Note, spec)
        .await
        .map_err(WebhookSetupError::from_autotask)?;
    Ok(RegisteredWebhooks { ticket, note })
}

/// The webhooks named `name` as Autotask has them now (`None` when either is missing).
pub async fn webhooks_state(
    client: &AutotaskClient,
    name: &str,
) -> Result<Option<RegisteredWebhooks>, AutotaskError> {
    let state = |record: WebhookRecord| RegisteredWebhook {
        id: record.id.unwrap_or_default(),
        guid: record.webhook_guid.unwrap_or_default(),
        active: record.is_active,
        ready: record.is_ready,
    };
    let ticket = find(client, Kind::Ticket, name).await?;
    let note = find(client, Kind::Note, name).await?;
    Ok(match (ticket, note) {
        (Some(ticket), Some(note)) => Some(RegisteredWebhooks {
            ticket: state(ticket),
            note: state(note),
        }),
        _ => None,
    })
}

/// Deletes the webhooks named `name` (nothing when there are none).
pub async fn remove_webhooks(client: &AutotaskClient, name: &str) -> Result<(), AutotaskError> {
    for kind in [Kind::Ticket, Kind::Note] {
        if let Some(record) = find(client, kind, name).await?
            && let Some(id) = record.id
        {
            client.delete(kind.endpoint(), id).await?;
        }
    }
    Ok(())
}
