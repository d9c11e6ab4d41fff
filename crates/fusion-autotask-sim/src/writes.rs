//! Creates, updates (PATCH sparse / PUT full) and deletes, with the vendor's validation: required fields,
//! per-tenant picklists, references, lengths, and the system fields Autotask stamps (ticket numbers,
//! `lastActivityDate`, creators, completion) including the parent ticket's activity on notes and attachments.

use std::collections::HashSet;

use base64::Engine as _;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::events::ChangeAction;
use crate::schema::{EntityDefinition, EntityKind, WireType, definition};
use crate::store::{Record, RenderOptions, TenantData, coerce_value, display_value, render_record};
use crate::wire::format_date_time;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteMode {
    Create,
    Patch,
    Put,
}

/// Who makes a change: the effective resource and, when impersonating, the API user's own resource; or
/// a contact (a customer working in the Client Portal), in which case no resource is recorded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Actor {
    pub resource_id: i64,
    pub impersonator: Option<i64>,
    pub contact_id: Option<i64>,
}

impl Actor {
    pub(crate) fn resource(resource_id: i64) -> Actor {
        Actor {
            resource_id,
            impersonator: None,
            contact_id: None,
        }
    }

    pub(crate) fn impersonating(resource_id: i64, api_user_resource_id: i64) -> Actor {
        Actor {
            resource_id,
            impersonator: Some(api_user_resource_id),
            contact_id: None,
        }
    }

    pub(crate) fn contact(contact_id: i64) -> Actor {
        Actor {
            resource_id: 0,
            impersonator: None,
            contact_id: Some(contact_id),
        }
    }

    /// The person id events report (`PersonID` in webhook payloads).
    pub(crate) fn person_id(self) -> i64 {
        self.contact_id.unwrap_or(self.resource_id)
    }

    /// The resource to record, if any (none for contacts).
    fn resource_value(self) -> Value {
        if self.contact_id.is_some() {
            Value::Null
        } else {
            Value::from(self.resource_id)
        }
    }

    /// `creatorType` / `lastActivityPersonType`: 1 = resource, 2 = contact.
    fn person_type(self) -> Value {
        Value::from(if self.contact_id.is_some() { 2 } else { 1 })
    }
}

/// An event to publish once the tenant lock is released.
#[derive(Debug, Clone)]
pub(crate) struct PendingEvent {
    pub entity: EntityKind,
    pub id: i64,
    pub action: ChangeAction,
    pub changed_fields: Vec<String>,
    pub person_id: i64,
    pub at: OffsetDateTime,
    pub record: Value,
}

fn snapshot(kind: EntityKind, record: &Record) -> Value {
    let options = RenderOptions {
        projection: None,
        hide_costs: false,
        include_data: false,
        dates_with_z: false,
    };
    render_record(definition(kind), record, options)
}

#[derive(Debug)]
pub(crate) struct WriteOutcome {
    pub id: i64,
    pub events: Vec<PendingEvent>,
}

/// Properties the API never lets a client set, beyond the schema's read-only list, on create.
const PICKLIST_LABEL_COMPLETE: &str = "complete";

fn case_insensitive<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    body.iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
}

/// Applies one write. Errors are the vendor's `errors` messages (HTTP 500).
pub(crate) fn apply_write(
    data: &mut TenantData,
    kind: EntityKind,
    mode: WriteMode,
    body: &Value,
    parent_id: Option<i64>,
    actor: Actor,
    now: OffsetDateTime,
) -> Result<WriteOutcome, Vec<String>> {
    let entity = definition(kind);
    let Some(body) = body.as_object() else {
        return Err(vec![format!(
            "The request body is not a valid {}.",
            entity.singular
        )]);
    };
    if let (Some(link), Some(parent)) = (&entity.parent, parent_id)
        && !data.table(link.parent).contains_key(&parent)
    {
        return Err(vec![format!(
            "Value does not reference an existing entity for {}.",
            link.field
        )]);
    }
    let existing = match mode {
        WriteMode::Create => None,
        WriteMode::Patch | WriteMode::Put => {
            let id = case_insensitive(body, "id")
                .and_then(|value| coerce_value(WireType::Long, "id", value).ok())
                .and_then(|value| value.as_i64())
                .ok_or_else(|| vec!["id is required for an update.".to_owned()])?;
            let record = data
                .table(kind)
                .get(&id)
                .filter(|record| match (&entity.parent, parent_id) {
                    (Some(link), Some(parent)) => {
                        record.get(entity, link.field).as_i64() == Some(parent)
                    }
                    _ => true,
                })
                .ok_or_else(|| vec![format!("{} with id {id} does not exist.", entity.singular)])?;
            Some(record.clone())
        }
    };
    let mut record = match (&existing, mode) {
        (None, _) => Record::empty(entity, data.udf_definitions(kind)),
        (Some(old), WriteMode::Put) => {
            let mut replaced = old.clone();
            for (index, field) in entity.fields.iter().enumerate() {
                if !field.read_only && field.wire != WireType::Bytes {
                    replaced.values[index] = Value::Null;
                }
            }
            replaced
                .udfs
                .iter_mut()
                .for_each(|(_, value)| *value = None);
            replaced
        }
        (Some(old), _) => old.clone(),
    };

    let mut errors = Vec::new();
    let mut touched: HashSet<&'static str> = HashSet::new();
    for (key, value) in body {
        if key.eq_ignore_ascii_case("userDefinedFields") {
            apply_udfs(data, kind, &mut record, value, &mut errors);
            continue;
        }
        let Some(index) = entity.field_index(key) else {
            continue;
        };
        let field = &entity.fields[index];
        if field.read_only || (field.wire == WireType::Bytes && mode != WriteMode::Create) {
            continue;
        }
        match coerce_value(field.wire, field.name, value) {
            Ok(coerced) => {
                record.values[index] = coerced;
                touched.insert(field.name);
            }
            Err(message) => errors.push(message),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    let moment = data.next_activity_time(now);
    let stamp = Value::from(format_date_time(moment));
    let person = actor.resource_value();
    let impersonator = actor.impersonator.map_or(Value::Null, Value::from);

    if mode == WriteMode::Create {
        for (index, field) in entity.fields.iter().enumerate() {
            if field.picklist
                && !field.required
                && !touched.contains(field.name)
                && record.values[index].is_null()
                && let Some(default) = data
                    .picklist(kind, field.name)
                    .and_then(|values| values.iter().find(|value| value.is_default))
            {
                record.values[index] = Value::from(default.value);
            }
        }
        if let (Some(link), Some(parent)) = (&entity.parent, parent_id) {
            record.set(entity, link.field, Value::from(parent));
        }
        let id = data.allocate_id(kind);
        record.values[0] = Value::from(id);
        for field in ["createDate", "createDateTime", "attachDate"] {
            record.set(entity, field, stamp.clone());
        }
        for field in [
            "creatorResourceID",
            "createdByResourceID",
            "attachedByResourceID",
            "creatorUserID",
        ] {
            record.set(entity, field, person.clone());
        }
        record.set(
            entity,
            "impersonatorCreatorResourceID",
            impersonator.clone(),
        );
        if entity.field_index("creatorType").is_some() {
            record.set(entity, "creatorType", actor.person_type());
        }
        if let Some(contact) = actor.contact_id {
            for field in ["createdByContactID", "attachedByContactID"] {
                record.set(entity, field, Value::from(contact));
            }
        }
        if kind == EntityKind::Tickets {
            let number = data.next_ticket_number(moment);
            record.set(entity, "ticketNumber", Value::from(number));
        }
        if kind == EntityKind::TicketAttachments {
            finish_attachment(entity, &mut record, &mut errors);
        }
    } else if entity
        .field_index("impersonatorUpdaterResourceID")
        .is_some()
    {
        record.set(
            entity,
            "impersonatorUpdaterResourceID",
            impersonator.clone(),
        );
    }
    for field in [
        "lastActivityDate",
        "lastModifiedDate",
        "lastModifiedDateTime",
        "lastTrackedModificationDateTime",
        "lastTrackedModifiedDateTime",
    ] {
        record.set(entity, field, stamp.clone());
    }
    record.set(entity, "lastModifiedUserID", person.clone());
    if kind == EntityKind::Tickets {
        record.set(entity, "lastActivityResourceID", person.clone());
        record.set(entity, "lastActivityPersonType", actor.person_type());
        let complete = is_complete_status(data, record.get(entity, "status"));
        let was_complete = existing
            .as_ref()
            .is_some_and(|old| is_complete_status(data, old.get(entity, "status")));
        if complete && !was_complete {
            record.set(entity, "completedDate", stamp.clone());
            record.set(entity, "completedByResourceID", person.clone());
        } else if !complete {
            record.set(entity, "completedDate", Value::Null);
            record.set(entity, "completedByResourceID", Value::Null);
        }
    }

    validate(data, entity, &record, &touched, mode, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }

    let id = record.id();
    let changed_fields = changed_fields(entity, existing.as_ref(), &record);
    let action = if existing.is_some() {
        ChangeAction::Update
    } else {
        ChangeAction::Create
    };
    let ticket_to_touch = match kind {
        EntityKind::TicketNotes | EntityKind::TicketAttachments | EntityKind::TimeEntries => {
            record.get(entity, "ticketID").as_i64()
        }
        _ => None,
    };
    let after = snapshot(kind, &record);
    data.table_mut(kind).insert(id, record);
    let mut events = vec![PendingEvent {
        entity: kind,
        id,
        action,
        changed_fields,
        person_id: actor.person_id(),
        at: moment,
        record: after,
    }];
    if let Some(ticket_id) = ticket_to_touch {
        events.extend(touch_ticket(data, ticket_id, actor, moment));
    }
    Ok(WriteOutcome { id, events })
}

/// Deletes a record (only where the route allows it); touches the parent ticket.
pub(crate) fn apply_delete(
    data: &mut TenantData,
    kind: EntityKind,
    id: i64,
    parent_id: Option<i64>,
    actor: Actor,
    now: OffsetDateTime,
) -> Option<Vec<PendingEvent>> {
    let entity = definition(kind);
    let record = data.table(kind).get(&id)?;
    if let (Some(link), Some(parent)) = (&entity.parent, parent_id)
        && record.get(entity, link.field).as_i64() != Some(parent)
    {
        return None;
    }
    let ticket_id = match kind {
        EntityKind::TicketAttachments | EntityKind::TimeEntries => {
            record.get(entity, "ticketID").as_i64()
        }
        _ => None,
    };
    let before = snapshot(kind, record);
    data.table_mut(kind).remove(&id);
    let moment = data.next_activity_time(now);
    let mut events = vec![PendingEvent {
        entity: kind,
        id,
        action: ChangeAction::Delete,
        changed_fields: Vec::new(),
        person_id: actor.person_id(),
        at: moment,
        record: before,
    }];
    if let Some(ticket_id) = ticket_id {
        events.extend(touch_ticket(data, ticket_id, actor, moment));
    }
    Some(events)
}

/// A note, attachment or time entry moves the ticket's `lastActivityDate` and `lastActivityResourceID`.
fn touch_ticket(
    data: &mut TenantData,
    ticket_id: i64,
    actor: Actor,
    moment: OffsetDateTime,
) -> Option<PendingEvent> {
    let entity = definition(EntityKind::Tickets);
    let ticket = data.table_mut(EntityKind::Tickets).get_mut(&ticket_id)?;
    ticket.set(
        entity,
        "lastActivityDate",
        Value::from(format_date_time(moment)),
    );
    ticket.set(entity, "lastActivityResourceID", actor.resource_value());
    ticket.set(entity, "lastActivityPersonType", actor.person_type());
    let after = snapshot(EntityKind::Tickets, ticket);
    Some(PendingEvent {
        entity: EntityKind::Tickets,
        id: ticket_id,
        action: ChangeAction::Update,
        changed_fields: vec!["lastActivityDate".into(), "lastActivityResourceID".into()],
        person_id: actor.person_id(),
        at: moment,
        record: after,
    })
}

fn is_complete_status(data: &TenantData, status: &Value) -> bool {
    let Some(status) = status.as_i64() else {
        return false;
    };
    data.picklist(EntityKind::Tickets, "status")
        .is_some_and(|values| {
            values.iter().any(|value| {
                value.value == status && value.label.eq_ignore_ascii_case(PICKLIST_LABEL_COMPLETE)
            })
        })
}

fn apply_udfs(
    data: &TenantData,
    kind: EntityKind,
    record: &mut Record,
    value: &Value,
    errors: &mut Vec<String>,
) {
    let Some(items) = value.as_array() else {
        errors.push("userDefinedFields must be an array of {name, value}.".to_owned());
        return;
    };
    let definitions = data.udf_definitions(kind);
    for item in items {
        let Some(item) = item.as_object() else {
            continue;
        };
        let name = case_insensitive(item, "name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let Some(definition) = definitions
            .iter()
            .find(|udf| udf.name.eq_ignore_ascii_case(name))
        else {
            errors.push(format!("User defined field {name} does not exist."));
            continue;
        };
        let new_value = case_insensitive(item, "value")
            .filter(|value| !value.is_null())
            .map(display_value);
        if let Some(text) = &new_value {
            if definition.length > 0 && text.chars().count() > definition.length as usize {
                errors.push(format!(
                    "String value exceeds maximum length (field:{})",
                    definition.name
                ));
            }
            if matches!(definition.data_type.as_str(), "integer" | "double")
                && text.parse::<f64>().is_err()
            {
                errors.push(format!(
                    "Value '{text}' is not valid for user defined field {}.",
                    definition.name
                ));
            }
        }
        if let Some(slot) = record
            .udfs
            .iter_mut()
            .find(|(udf, _)| udf.eq_ignore_ascii_case(&definition.name))
        {
            slot.1 = new_value;
        }
    }
}

fn finish_attachment(entity: &EntityDefinition, record: &mut Record, errors: &mut Vec<String>) {
    let attachment_type = record
        .get(entity, "attachmentType")
        .as_str()
        .unwrap_or_default()
        .to_owned();
    match record.get(entity, "data").as_str() {
        Some(encoded) => match base64::engine::general_purpose::STANDARD.decode(encoded) {
            Ok(bytes) => record.set(entity, "fileSize", Value::from(bytes.len() as f64)),
            Err(_) => errors.push("The attachment data is not valid base64.".to_owned()),
        },
        None if attachment_type.eq_ignore_ascii_case("FILE_ATTACHMENT") => {
            errors.push("data is required for a FILE_ATTACHMENT.".to_owned());
        }
        None => {}
    }
    if !attachment_type.is_empty()
        && !["FILE_ATTACHMENT", "URL", "FOLDER_LINK"]
            .iter()
            .any(|known| known.eq_ignore_ascii_case(&attachment_type))
    {
        errors.push(format!(
            "Value '{attachment_type}' is not valid for field attachmentType."
        ));
    }
    let ticket = record.get(entity, "ticketID").clone();
    record.set(entity, "parentID", ticket);
    record.set(entity, "parentType", Value::from(4));
    record.set(entity, "isTaskAttachment", Value::Bool(false));
}

fn validate(
    data: &TenantData,
    entity: &'static EntityDefinition,
    record: &Record,
    touched: &HashSet<&'static str>,
    mode: WriteMode,
    errors: &mut Vec<String>,
) {
    let kind = entity.kind;
    for (index, field) in entity.fields.iter().enumerate() {
        let value = &record.values[index];
        let required = field.required || data.extra_required.contains(&(kind, field.name));
        let empty = value.is_null() || value.as_str().is_some_and(|text| text.trim().is_empty());
        if required && empty && !field.read_only {
            errors.push(format!("{} is required", field.name));
            continue;
        }
        if let Some(text) = value.as_str()
            && field.wire == WireType::String
            && text.chars().count() > field.length as usize
        {
            errors.push(format!(
                "String value exceeds maximum length (field:{})",
                field.name
            ));
        }
        if !touched.contains(field.name) || value.is_null() {
            continue;
        }
        if field.picklist
            && let Some(values) = data.picklist(kind, field.name)
        {
            let code = value.as_i64().unwrap_or(i64::MIN);
            let known = values
                .iter()
                .find(|candidate| candidate.value == code && candidate.is_active);
            let parent_ok = match (known, field.picklist_parent) {
                (Some(found), Some(parent_field)) => {
                    found.parent_value.is_none()
                        || found.parent_value == record.get(entity, parent_field).as_i64()
                }
                _ => true,
            };
            if known.is_none() || !parent_ok {
                errors.push(format!(
                    "Picklist value [{}] does not exist for {}.",
                    display_value(value),
                    field.name
                ));
            }
        }
        if let Some(target) = field.reference {
            let exists = value
                .as_i64()
                .is_some_and(|id| data.table(target).contains_key(&id));
            if !exists {
                errors.push(format!(
                    "Value does not reference an existing entity for {}.",
                    field.name
                ));
            }
        }
    }
    for udf in data.udf_definitions(kind) {
        let missing = record
            .udfs
            .iter()
            .any(|(name, value)| name == &udf.name && value.is_none());
        if udf.is_required && missing && mode == WriteMode::Create {
            errors.push(format!("{} is required", udf.name));
        }
    }
    match kind {
        EntityKind::Tickets => {
            let assigned = !record.get(entity, "assignedResourceID").is_null();
            let role = !record.get(entity, "assignedResourceRoleID").is_null();
            if assigned && !role {
                errors.push(
                    "assignedResourceRoleID is required when assignedResourceID is set.".to_owned(),
                );
            }
            // API-only users are Resources but can never own or be assigned records.
            let assigned_id = record.get(entity, "assignedResourceID").as_i64();
            if touched.contains("assignedResourceID")
                && assigned_id
                    .is_some_and(|id| data.api_users.iter().any(|user| user.resource_id == id))
            {
                errors.push(
                    "An API user cannot be assigned to a ticket (assignedResourceID).".to_owned(),
                );
            }
        }
        EntityKind::TimeEntries => {
            let hours = !record.get(entity, "hoursWorked").is_null();
            let span = !record.get(entity, "startDateTime").is_null()
                && !record.get(entity, "endDateTime").is_null();
            if !hours && !span {
                errors.push(
                    "Either hoursWorked or startDateTime and endDateTime are required.".to_owned(),
                );
            }
            if !record.get(entity, "ticketID").is_null() && record.get(entity, "roleID").is_null() {
                errors.push("TimeEntries for Tickets must have a roleID".to_owned());
            }
            // API-only users are Resources but can never own records.
            if record
                .get(entity, "resourceID")
                .as_i64()
                .is_some_and(|id| data.api_users.iter().any(|user| user.resource_id == id))
            {
                errors.push(
                    "An API user cannot own a time entry (resourceID): use a real resource."
                        .to_owned(),
                );
            }
            if let Some(worked) = record.get(entity, "hoursWorked").as_f64()
                && !(worked > 0.0 && worked <= 24.0)
            {
                errors.push("hoursWorked must be greater than 0 and at most 24.".to_owned());
            }
            if record.get(entity, "startDateTime").is_null()
                && record.get(entity, "dateWorked").is_null()
            {
                errors.push("dateWorked is required when no startDateTime is given.".to_owned());
            }
            validate_time_entry_references(data, entity, record, touched, errors);
        }
        _ => {}
    }
}

/// The rules Autotask applies to a ticket time entry's resource, role and work type, with the
/// messages practitioners saw (API-NOTES §3.7, §12.2): the resource must hold the role, the
/// billing code must be an active general allocation code, and service-ticket time needs start
/// and stop times where the tenant requires them.
fn validate_time_entry_references(
    data: &TenantData,
    entity: &'static EntityDefinition,
    record: &Record,
    touched: &HashSet<&'static str>,
    errors: &mut Vec<String>,
) {
    let on_ticket = !record.get(entity, "ticketID").is_null();
    let resource = record.get(entity, "resourceID").as_i64();
    let role = record.get(entity, "roleID").as_i64();
    if on_ticket
        && (touched.contains("resourceID") || touched.contains("roleID"))
        && let (Some(resource), Some(role)) = (resource, role)
    {
        let roles = definition(EntityKind::Roles);
        let role_active = data
            .table(EntityKind::Roles)
            .get(&role)
            .is_some_and(|row| row.get(roles, "isActive").as_bool() == Some(true));
        let holds = definition(EntityKind::ResourceRoles);
        let held = data.table(EntityKind::ResourceRoles).values().any(|row| {
            row.get(holds, "resourceID").as_i64() == Some(resource)
                && row.get(holds, "roleID").as_i64() == Some(role)
                && row.get(holds, "isActive").as_bool() != Some(false)
        });
        if !role_active || !held {
            errors.push(
                "The specified AssignedResourceID and AssignedRoleID combination is not currently \
                 defined."
                    .to_owned(),
            );
        }
    }
    if touched.contains("billingCodeID")
        && let Some(code) = record.get(entity, "billingCodeID").as_i64()
    {
        let codes = definition(EntityKind::BillingCodes);
        let work_type = data
            .table(EntityKind::BillingCodes)
            .get(&code)
            .is_some_and(|row| {
                row.get(codes, "isActive").as_bool() == Some(true)
                    && row.get(codes, "billingCodeType").as_i64().unwrap_or(0) == 0
                    && row.get(codes, "useType").as_i64() == Some(1)
            });
        if !work_type {
            errors.push(
                "The given allocation code is not an active general allocation code.".to_owned(),
            );
        }
    }
    if on_ticket
        && data.time_entries_need_start_and_stop
        && (record.get(entity, "startDateTime").is_null()
            || record.get(entity, "endDateTime").is_null())
    {
        errors.push("TimeEntries for Service tickets require a start and stop time.".to_owned());
    }
}

fn changed_fields(entity: &EntityDefinition, old: Option<&Record>, new: &Record) -> Vec<String> {
    let mut changed: Vec<String> = entity
        .fields
        .iter()
        .enumerate()
        .filter(|(index, _)| match old {
            Some(old) => old.values[*index] != new.values[*index],
            None => !new.values[*index].is_null(),
        })
        .map(|(_, field)| field.name.to_owned())
        .collect();
    for (position, (name, value)) in new.udfs.iter().enumerate() {
        let before = old
            .and_then(|old| old.udfs.get(position))
            .and_then(|(_, value)| value.clone());
        if (old.is_some() && before != *value) || (old.is_none() && value.is_some()) {
            changed.push(name.clone());
        }
    }
    changed
}

/// A ticket deleted in the UI: the ticket and its notes, attachments and time entries go, and a
/// `DeletedTicketLogs` record remains (the API itself cannot delete tickets).
pub(crate) fn delete_ticket_with_log(
    data: &mut TenantData,
    ticket_id: i64,
    actor: Actor,
    now: OffsetDateTime,
) -> Option<Vec<PendingEvent>> {
    let tickets = definition(EntityKind::Tickets);
    let ticket = data.table_mut(EntityKind::Tickets).remove(&ticket_id)?;
    let moment = data.next_activity_time(now);
    let before = snapshot(EntityKind::Tickets, &ticket);
    for kind in [
        EntityKind::TicketNotes,
        EntityKind::TicketAttachments,
        EntityKind::TimeEntries,
    ] {
        let entity = definition(kind);
        data.table_mut(kind)
            .retain(|_, record| record.get(entity, "ticketID").as_i64() != Some(ticket_id));
    }
    let logs = definition(EntityKind::DeletedTicketLogs);
    let mut log = Record::empty(logs, &[]);
    let log_id = data.allocate_id(EntityKind::DeletedTicketLogs);
    log.values[0] = Value::from(log_id);
    log.set(logs, "ticketID", Value::from(ticket_id));
    log.set(
        logs,
        "ticketNumber",
        ticket.get(tickets, "ticketNumber").clone(),
    );
    log.set(logs, "ticketTitle", ticket.get(tickets, "title").clone());
    log.set(logs, "deletedByResourceID", Value::from(actor.resource_id));
    log.set(
        logs,
        "deletedDateTime",
        Value::from(format_date_time(moment)),
    );
    let log_snapshot = snapshot(EntityKind::DeletedTicketLogs, &log);
    data.table_mut(EntityKind::DeletedTicketLogs)
        .insert(log_id, log);
    Some(vec![
        PendingEvent {
            entity: EntityKind::Tickets,
            id: ticket_id,
            action: ChangeAction::Delete,
            changed_fields: Vec::new(),
            person_id: actor.person_id(),
            at: moment,
            record: before,
        },
        PendingEvent {
            entity: EntityKind::DeletedTicketLogs,
            id: log_id,
            action: ChangeAction::Create,
            changed_fields: vec!["ticketID".into(), "deletedDateTime".into()],
            person_id: actor.person_id(),
            at: moment,
            record: log_snapshot,
        },
    ])
}
