//! UI-like edits: what a person in the Autotask web UI would do (create, update or close a ticket, add a
//! note or an attachment) as a named Resource, so sync tests can play the other side. They bypass
//! authentication, limits and faults, are not logged as API requests, and publish change events.

use base64::Engine as _;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::schema::{EntityKind, definition};
use crate::store::{RenderOptions, render_record};
use crate::writes::{Actor, WriteMode, apply_write};
use crate::{Simulator, read_lock, write_lock};

/// Who does a UI-like edit.
#[derive(Debug, Clone, Copy)]
enum Person<'a> {
    /// A Resource (staff member), by id, e-mail or user name.
    Resource(&'a str),
    /// A customer contact, by id or e-mail address.
    Contact(&'a str),
}

/// Why a UI-like edit or admin operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum UiEditError {
    #[error("no tenant named {0}")]
    UnknownTenant(String),
    #[error("no resource {0} in this tenant")]
    UnknownResource(String),
    #[error("no contact {0} in this tenant")]
    UnknownContact(String),
    #[error("no {entity} with id {id}")]
    NotFound { entity: String, id: i64 },
    #[error("rejected: {}", .0.join("; "))]
    Rejected(Vec<String>),
}

impl Simulator {
    fn ui_write(
        &self,
        tenant: &str,
        as_resource: &str,
        kind: EntityKind,
        mode: WriteMode,
        body: Value,
        parent_id: Option<i64>,
    ) -> Result<i64, UiEditError> {
        self.ui_write_as(
            tenant,
            Person::Resource(as_resource),
            kind,
            mode,
            body,
            parent_id,
        )
    }

    fn ui_write_as(
        &self,
        tenant: &str,
        person: Person<'_>,
        kind: EntityKind,
        mode: WriteMode,
        body: Value,
        parent_id: Option<i64>,
    ) -> Result<i64, UiEditError> {
        let tenant_ref = self
            .tenant(tenant)
            .ok_or_else(|| UiEditError::UnknownTenant(tenant.to_owned()))?;
        let outcome = {
            let mut data = write_lock(&tenant_ref.data);
            let actor = match person {
                Person::Resource(who) => Actor::resource(
                    data.find_resource(who)
                        .ok_or_else(|| UiEditError::UnknownResource(who.to_owned()))?,
                ),
                Person::Contact(who) => Actor::contact(
                    data.find_contact(who)
                        .ok_or_else(|| UiEditError::UnknownContact(who.to_owned()))?,
                ),
            };
            if let Some(parent) = parent_id
                && !data.table(EntityKind::Tickets).contains_key(&parent)
            {
                return Err(UiEditError::NotFound {
                    entity: "Ticket".into(),
                    id: parent,
                });
            }
            apply_write(
                &mut data,
                kind,
                mode,
                &body,
                parent_id,
                actor,
                OffsetDateTime::now_utc(),
            )
            .map_err(UiEditError::Rejected)?
        };
        self.publish(&tenant_ref.name, outcome.events);
        Ok(outcome.id)
    }

    /// Creates a ticket as a customer contact in the Client Portal (`contact`: id or e-mail address):
    /// `createdByContactID` is set, `creatorType` and `lastActivityPersonType` are 2 (contact) and no
    /// resource is recorded (`lastActivityResourceID` stays empty).
    pub fn ui_create_ticket_as_contact(
        &self,
        tenant: &str,
        contact: &str,
        fields: Value,
    ) -> Result<i64, UiEditError> {
        self.ui_write_as(
            tenant,
            Person::Contact(contact),
            EntityKind::Tickets,
            WriteMode::Create,
            fields,
            None,
        )
    }

    /// Adds a note as a customer contact in the Client Portal (see [`Simulator::ui_create_ticket_as_contact`]).
    pub fn ui_add_note_as_contact(
        &self,
        tenant: &str,
        contact: &str,
        ticket_id: i64,
        fields: Value,
    ) -> Result<i64, UiEditError> {
        self.ui_write_as(
            tenant,
            Person::Contact(contact),
            EntityKind::TicketNotes,
            WriteMode::Create,
            fields,
            Some(ticket_id),
        )
    }

    /// Creates a ticket as `as_resource` (id, email or user name); `fields` uses wire names.
    pub fn ui_create_ticket(
        &self,
        tenant: &str,
        as_resource: &str,
        fields: Value,
    ) -> Result<i64, UiEditError> {
        self.ui_write(
            tenant,
            as_resource,
            EntityKind::Tickets,
            WriteMode::Create,
            fields,
            None,
        )
    }

    /// Changes the given ticket fields as `as_resource`.
    pub fn ui_update_ticket(
        &self,
        tenant: &str,
        as_resource: &str,
        ticket_id: i64,
        fields: Value,
    ) -> Result<(), UiEditError> {
        let mut body = fields.as_object().cloned().unwrap_or_default();
        body.insert("id".into(), json!(ticket_id));
        self.ui_write(
            tenant,
            as_resource,
            EntityKind::Tickets,
            WriteMode::Patch,
            Value::Object(body),
            None,
        )
        .map(|_| ())
        .map_err(|error| match error {
            UiEditError::Rejected(messages)
                if messages
                    .iter()
                    .any(|message| message.contains("does not exist")) =>
            {
                UiEditError::NotFound {
                    entity: "Ticket".into(),
                    id: ticket_id,
                }
            }
            other => other,
        })
    }

    /// Sets the ticket's status to the tenant's "Complete" status.
    pub fn ui_close_ticket(
        &self,
        tenant: &str,
        as_resource: &str,
        ticket_id: i64,
    ) -> Result<(), UiEditError> {
        let complete = self.complete_status(tenant).ok_or_else(|| {
            UiEditError::Rejected(vec!["this tenant has no Complete status".into()])
        })?;
        self.ui_update_ticket(
            tenant,
            as_resource,
            ticket_id,
            json!({ "status": complete }),
        )
    }

    /// Adds a note (`description`, `noteType`, `publish`, optional `title`) as `as_resource`.
    pub fn ui_add_note(
        &self,
        tenant: &str,
        as_resource: &str,
        ticket_id: i64,
        fields: Value,
    ) -> Result<i64, UiEditError> {
        self.ui_write(
            tenant,
            as_resource,
            EntityKind::TicketNotes,
            WriteMode::Create,
            fields,
            Some(ticket_id),
        )
    }

    /// Attaches a file as `as_resource` (the UI's own limits apply, not the API's).
    pub fn ui_add_attachment(
        &self,
        tenant: &str,
        as_resource: &str,
        ticket_id: i64,
        file_name: &str,
        bytes: &[u8],
        publish: i64,
    ) -> Result<i64, UiEditError> {
        let body = json!({
            "attachmentType": "FILE_ATTACHMENT",
            "fullPath": file_name,
            "title": file_name,
            "publish": publish,
            "data": base64::engine::general_purpose::STANDARD.encode(bytes),
        });
        self.ui_write(
            tenant,
            as_resource,
            EntityKind::TicketAttachments,
            WriteMode::Create,
            body,
            Some(ticket_id),
        )
    }

    /// Deletes a ticket as `as_resource` (something only the UI can do): its notes, attachments and time
    /// entries go with it and a `DeletedTicketLogs` record is written.
    pub fn ui_delete_ticket(
        &self,
        tenant: &str,
        as_resource: &str,
        ticket_id: i64,
    ) -> Result<(), UiEditError> {
        let tenant_ref = self
            .tenant(tenant)
            .ok_or_else(|| UiEditError::UnknownTenant(tenant.to_owned()))?;
        let events = {
            let mut data = write_lock(&tenant_ref.data);
            let resource_id = data
                .find_resource(as_resource)
                .ok_or_else(|| UiEditError::UnknownResource(as_resource.to_owned()))?;
            let actor = Actor::resource(resource_id);
            crate::writes::delete_ticket_with_log(
                &mut data,
                ticket_id,
                actor,
                OffsetDateTime::now_utc(),
            )
            .ok_or(UiEditError::NotFound {
                entity: "Ticket".into(),
                id: ticket_id,
            })?
        };
        self.publish(&tenant_ref.name, events);
        Ok(())
    }

    /// Logs time on a ticket as `as_resource` (`fields`: `hoursWorked` or start/end, `roleID`,
    /// `summaryNotes`, …; `ticketID` and `resourceID` are filled in).
    pub fn ui_add_time_entry(
        &self,
        tenant: &str,
        as_resource: &str,
        ticket_id: i64,
        fields: Value,
    ) -> Result<i64, UiEditError> {
        let resource_id = self
            .resource_id(tenant, as_resource)
            .ok_or_else(|| UiEditError::UnknownResource(as_resource.to_owned()))?;
        let mut body = fields.as_object().cloned().unwrap_or_default();
        body.insert("ticketID".into(), json!(ticket_id));
        body.insert("resourceID".into(), json!(resource_id));
        self.ui_write(
            tenant,
            as_resource,
            EntityKind::TimeEntries,
            WriteMode::Create,
            Value::Object(body),
            None,
        )
    }

    /// Changes a time entry as `as_resource` (`fields`: `hoursWorked`, `summaryNotes`, …), as a
    /// technician editing it in the UI.
    pub fn ui_update_time_entry(
        &self,
        tenant: &str,
        as_resource: &str,
        time_entry_id: i64,
        fields: Value,
    ) -> Result<(), UiEditError> {
        let mut body = fields.as_object().cloned().unwrap_or_default();
        body.insert("id".into(), json!(time_entry_id));
        self.ui_write(
            tenant,
            as_resource,
            EntityKind::TimeEntries,
            WriteMode::Patch,
            Value::Object(body),
            None,
        )
        .map(|_| ())
    }

    /// Deletes a time entry as `as_resource`; its ticket's last activity moves (that is how a
    /// poller notices).
    pub fn ui_delete_time_entry(
        &self,
        tenant: &str,
        as_resource: &str,
        time_entry_id: i64,
    ) -> Result<(), UiEditError> {
        let tenant_ref = self
            .tenant(tenant)
            .ok_or_else(|| UiEditError::UnknownTenant(tenant.to_owned()))?;
        let events = {
            let mut data = write_lock(&tenant_ref.data);
            let resource_id = data
                .find_resource(as_resource)
                .ok_or_else(|| UiEditError::UnknownResource(as_resource.to_owned()))?;
            crate::writes::apply_delete(
                &mut data,
                EntityKind::TimeEntries,
                time_entry_id,
                None,
                Actor::resource(resource_id),
                OffsetDateTime::now_utc(),
            )
            .ok_or(UiEditError::NotFound {
                entity: "TimeEntry".into(),
                id: time_entry_id,
            })?
        };
        self.publish(&tenant_ref.name, events);
        Ok(())
    }

    /// The value of the tenant's ticket status labelled "Complete".
    pub fn complete_status(&self, tenant: &str) -> Option<i64> {
        let tenant = self.tenant(tenant)?;
        let data = read_lock(&tenant.data);
        data.picklist(EntityKind::Tickets, "status")?
            .iter()
            .find(|value| value.label.eq_ignore_ascii_case("complete"))
            .map(|value| value.value)
    }

    /// One record as wire JSON (attachments with `data`), for test assertions.
    pub fn record(&self, tenant: &str, entity: EntityKind, id: i64) -> Option<Value> {
        let tenant = self.tenant(tenant)?;
        let data = read_lock(&tenant.data);
        let record = data.table(entity).get(&id)?;
        Some(render_record(
            definition(entity),
            record,
            self.full_render(),
        ))
    }

    /// Every record of an entity, ordered by id, as wire JSON.
    pub fn records(&self, tenant: &str, entity: EntityKind) -> Vec<Value> {
        let Some(tenant) = self.tenant(tenant) else {
            return Vec::new();
        };
        let data = read_lock(&tenant.data);
        data.table(entity)
            .values()
            .map(|record| render_record(definition(entity), record, self.full_render()))
            .collect()
    }

    /// Number of records of an entity.
    pub fn record_count(&self, tenant: &str, entity: EntityKind) -> usize {
        self.tenant(tenant)
            .map_or(0, |tenant| read_lock(&tenant.data).table(entity).len())
    }

    /// The Resource id behind an API user (what `lastActivityResourceID` shows for its writes).
    pub fn api_user_resource_id(&self, tenant: &str, username: &str) -> Option<i64> {
        let tenant = self.tenant(tenant)?;
        let data = read_lock(&tenant.data);
        data.api_user(username).map(|user| user.resource_id)
    }

    /// The Resource id of a person by email or user name.
    pub fn resource_id(&self, tenant: &str, email: &str) -> Option<i64> {
        let tenant = self.tenant(tenant)?;
        let data = read_lock(&tenant.data);
        data.find_resource(email)
    }

    fn full_render(&self) -> RenderOptions<'static> {
        RenderOptions {
            projection: None,
            hide_costs: false,
            include_data: true,
            dates_with_z: self.inner.options.dates_with_z,
        }
    }
}
