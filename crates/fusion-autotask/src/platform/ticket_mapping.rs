//! Tickets between Autotask's wire JSON and the domain: which fields a snapshot reads
//! (`includeFields`), a wire ticket as a [`TicketSnapshot`] with canonical values (picklist and
//! reference codes as `ChoiceValue`, dates as UTC, numbers in canonical decimal), domain values
//! as wire JSON for creates and PATCHes, and the checks made before a create is sent (required
//! fields, lengths) so a missing field is named instead of answered by a vendor 500.

use std::collections::BTreeMap;

use fusion_domain::ChoiceValue;
use fusion_domain::sync::{ActorId, FieldValue, TicketId, TicketSnapshot};
use serde::Deserialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::choices::{TenantChoices, ticket_list_name};
use fusion_engine::TicketField;

use crate::ticket_fields::{UDF_PREFIX, fact_labels, ticket_fields};
use crate::wire::{AutotaskEntity, FieldInformation, datetime};

/// The Autotask field carrying the sync marker.
pub(crate) const MARKER_FIELD: &str = "externalID";
/// `externalID` is a string(50) in Autotask (and in the simulator).
pub(crate) const MARKER_MAX_CHARS: usize = 50;

/// Fields every snapshot needs besides the mappable ones.
const SNAPSHOT_BASE_FIELDS: &[&str] = &[
    "id",
    "ticketNumber",
    "title",
    "description",
    "status",
    "queueID",
    "companyID",
    "ticketCategory",
    MARKER_FIELD,
    "createDate",
    "creatorResourceID",
    "createdByContactID",
    "lastActivityDate",
    "lastActivityResourceID",
    // Composable facts (see `crate::ticket_fields::TICKET_FACTS`) that are not mappable.
    "contactID",
    "assignedResourceID",
];

/// Fields Autotask requires on a new ticket when the tenant's field information is unknown.
const ASSUMED_REQUIRED_ON_CREATE: &[&str] = &["title", "status", "priority", "companyID"];

/// Fields some tenants flag as required that Autotask's REST API fills itself on create
/// (`dueDateTime` was required in SOAP; REST creates without it succeed). Not pre-checked: a
/// wrong refusal here would block creates Autotask accepts, and Autotask names them if needed.
const FILLED_BY_AUTOTASK_ON_CREATE: &[&str] = &["id", "ticketNumber", "dueDateTime", "createDate"];

/// A ticket as raw wire JSON, so every standard field and UDF can be read.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub(crate) struct WireTicket(pub Map<String, Value>);

impl AutotaskEntity for WireTicket {
    const ENDPOINT: &'static str = "Tickets";
    fn id(&self) -> Option<i64> {
        self.0.get("id").and_then(integer)
    }
}

/// What the adapter knows about the tenant's ticket fields, derived once from its choices.
#[derive(Debug, Clone)]
pub(crate) struct TicketSchema {
    choices: TenantChoices,
    mappable: Vec<TicketField>,
    /// `includeFields` of every ticket read: exactly what a snapshot is built from.
    include_fields: Vec<String>,
}

impl TicketSchema {
    pub(crate) fn new(choices: TenantChoices) -> TicketSchema {
        let mappable = ticket_fields(&choices);
        let mut include_fields: Vec<String> = SNAPSHOT_BASE_FIELDS
            .iter()
            .map(|field| (*field).to_owned())
            .collect();
        for field in &mappable {
            let wire = field
                .name
                .strip_prefix(UDF_PREFIX)
                .unwrap_or(&field.name)
                .to_owned();
            if !include_fields.contains(&wire) {
                include_fields.push(wire);
            }
        }
        TicketSchema {
            choices,
            mappable,
            include_fields,
        }
    }

    pub(crate) fn include_fields(&self) -> &[String] {
        &self.include_fields
    }

    pub(crate) fn choices(&self) -> &TenantChoices {
        &self.choices
    }

    fn information(&self, field: &str) -> Option<&FieldInformation> {
        self.choices
            .ticket_field_information()
            .iter()
            .find(|information| information.name.eq_ignore_ascii_case(field))
    }

    fn is_choice_field(&self, field: &str) -> bool {
        ticket_list_name(field).is_some()
            || self
                .information(field)
                .is_some_and(|information| information.is_pick_list || information.is_reference)
    }

    fn is_date_field(&self, field: &str) -> bool {
        match self
            .information(field)
            .and_then(|information| information.data_type.as_deref())
        {
            Some(data_type) => data_type.eq_ignore_ascii_case("datetime"),
            None => field.ends_with("DateTime") || field.ends_with("Date"),
        }
    }

    fn is_number_field(&self, field: &str) -> bool {
        match self
            .information(field)
            .and_then(|information| information.data_type.as_deref())
        {
            Some(data_type) => matches!(
                data_type.to_ascii_lowercase().as_str(),
                "integer" | "long" | "short" | "double" | "decimal" | "float"
            ),
            None => field == "estimatedHours",
        }
    }

    /// A wire ticket as the domain sees it. `None` when it carries no id.
    pub(crate) fn snapshot(&self, ticket: &Map<String, Value>) -> Option<TicketSnapshot> {
        let id = ticket.get("id").and_then(integer)?;
        let text = |field: &str| {
            ticket
                .get(field)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let choice = |field: &str| ticket.get(field).and_then(choice_value);
        let date = |field: &str| {
            ticket
                .get(field)
                .and_then(Value::as_str)
                .and_then(datetime::parse)
        };
        let mut fields = BTreeMap::new();
        let mut labels = BTreeMap::new();
        for field in &self.mappable {
            let value = match field.name.strip_prefix(UDF_PREFIX) {
                Some(udf) => udf_value(ticket, udf),
                None => self.canonical(&field.name, ticket.get(&field.name)),
            };
            if let (FieldValue::Choice(code), Some(list)) = (&value, ticket_list_name(&field.name))
                && let Some(label) = self.choices.label_of(list, code)
            {
                labels.insert(field.name.clone(), label.to_owned());
            }
            fields.insert(field.name.clone(), value);
        }
        // The ticket number, company, contact, creation date… are not mappable fields, but
        // descriptions are composed with them ("Customer ticket: T2026…"); the composition reads
        // fields through their display text, the same as the preview shows. The contact's name
        // is filled in by the platform when a composition needs it.
        let number = text("ticketNumber");
        for (field, display) in fact_labels(ticket, &self.choices, None) {
            labels.entry(field).or_insert(display);
        }
        let created_at = date("createDate");
        let last_activity_at = date("lastActivityDate");
        Some(TicketSnapshot {
            id: TicketId::from(id),
            number,
            title: text("title"),
            description: text("description"),
            status: choice("status"),
            queue: choice("queueID"),
            company: choice("companyID"),
            category: choice("ticketCategory"),
            fields,
            labels,
            marker: Some(text(MARKER_FIELD)).filter(|marker| !marker.trim().is_empty()),
            created_at: created_at
                .or(last_activity_at)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
            created_by: resource_or_contact(ticket, "creatorResourceID", "createdByContactID"),
            last_activity_at: last_activity_at
                .or(created_at)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
            last_activity_by: ticket
                .get("lastActivityResourceID")
                .and_then(integer)
                .map(ActorId::from),
        })
    }

    /// One standard field's wire value in canonical domain form.
    fn canonical(&self, field: &str, value: Option<&Value>) -> FieldValue {
        let Some(value) = value else {
            return FieldValue::Empty;
        };
        if self.is_choice_field(field) {
            return choice_value(value).map_or(FieldValue::Empty, FieldValue::Choice);
        }
        match value {
            Value::Null => FieldValue::Empty,
            Value::String(text) if self.is_date_field(field) => match datetime::parse(text) {
                Some(moment) => FieldValue::DateTime(moment),
                None if text.trim().is_empty() => FieldValue::Empty,
                None => FieldValue::Text(text.clone()),
            },
            Value::String(text) => FieldValue::Text(text.clone()),
            Value::Number(number) => FieldValue::Text(canonical_number(number)),
            Value::Bool(flag) => FieldValue::Text(flag.to_string()),
            other => FieldValue::Text(other.to_string()),
        }
    }

    /// A domain value as the wire value of `field` (a standard field, not a UDF).
    pub(crate) fn wire_value(&self, field: &str, value: &FieldValue) -> Value {
        match value {
            FieldValue::Empty => Value::Null,
            FieldValue::Choice(code) => code
                .as_i64()
                .map_or_else(|| Value::from(code.as_str()), Value::from),
            FieldValue::DateTime(moment) => Value::from(datetime::format(*moment)),
            FieldValue::Text(text) if self.is_number_field(field) => {
                number_value(text).unwrap_or_else(|| Value::from(text.as_str()))
            }
            FieldValue::Text(text) if self.is_choice_field(field) => {
                ChoiceValue::new(text.as_str())
                    .as_i64()
                    .map_or_else(|| Value::from(text.as_str()), Value::from)
            }
            FieldValue::Text(text) => Value::from(text.as_str()),
        }
    }

    /// Puts `field = value` into a create or PATCH body; `udf:<name>` goes into
    /// `userDefinedFields`. Refuses fields the sync must never write.
    pub(crate) fn put(
        &self,
        body: &mut Map<String, Value>,
        field: &str,
        value: &FieldValue,
    ) -> Result<(), String> {
        if let Some(udf) = field.strip_prefix(UDF_PREFIX) {
            let wire = match value {
                FieldValue::Empty => Value::Null,
                FieldValue::DateTime(moment) => Value::from(datetime::format(*moment)),
                other => Value::from(other.to_string()),
            };
            let list = body
                .entry("userDefinedFields")
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(items) = list {
                items.retain(|item| item.get("name").and_then(Value::as_str) != Some(udf));
                items.push(serde_json::json!({ "name": udf, "value": wire }));
            }
            return Ok(());
        }
        if field.eq_ignore_ascii_case("id") || field.eq_ignore_ascii_case(MARKER_FIELD) {
            return Err(format!(
                "the sync does not write the ticket field {field} from a mapping"
            ));
        }
        if let Some(information) = self.information(field)
            && information.is_read_only
        {
            return Err(format!(
                "the ticket field {field} is read-only in this Autotask tenant"
            ));
        }
        body.insert(field.to_owned(), self.wire_value(field, value));
        Ok(())
    }

    /// Checks a create body before it is sent: every field the tenant requires is present and
    /// every text fits its length. The error names the field for people.
    pub(crate) fn check_create(&self, body: &Map<String, Value>) -> Result<(), String> {
        let present = |field: &str| {
            body.iter().any(|(name, value)| {
                name.eq_ignore_ascii_case(field)
                    && !value.is_null()
                    && value.as_str().is_none_or(|text| !text.trim().is_empty())
            })
        };
        let information = self.choices.ticket_field_information();
        let required: Vec<(String, String)> = if information.is_empty() {
            ASSUMED_REQUIRED_ON_CREATE
                .iter()
                .map(|field| ((*field).to_owned(), self.label(field)))
                .collect()
        } else {
            information
                .iter()
                .filter(|field| field.is_required && !field.is_read_only)
                .filter(|field| {
                    !FILLED_BY_AUTOTASK_ON_CREATE
                        .iter()
                        .any(|filled| field.name.eq_ignore_ascii_case(filled))
                })
                .map(|field| (field.name.clone(), self.label(&field.name)))
                .collect()
        };
        for (field, label) in required {
            if !present(&field) {
                return Err(format!(
                    "Autotask requires {label} ({field}) on new tickets in this tenant, and the \
                     ticket to create has none: set a receive default for it or map it"
                ));
            }
        }
        for udf in self.choices.ticket_user_defined_fields() {
            if !udf.is_required {
                continue;
            }
            let given = body
                .get("userDefinedFields")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|item| {
                    item.get("name").and_then(Value::as_str) == Some(udf.name.as_str())
                        && item
                            .get("value")
                            .and_then(Value::as_str)
                            .is_some_and(|text| !text.trim().is_empty())
                });
            if !given {
                return Err(format!(
                    "Autotask requires the user-defined field {} on new tickets in this tenant, \
                     and the ticket to create has none: map it",
                    udf.name
                ));
            }
        }
        self.check_lengths(body)
    }

    /// Every text in a create or PATCH body fits its field's length (the marker: 50).
    pub(crate) fn check_lengths(&self, body: &Map<String, Value>) -> Result<(), String> {
        for (name, value) in body {
            let Some(text) = value.as_str() else { continue };
            let limit = if name == MARKER_FIELD {
                Some(MARKER_MAX_CHARS as i64)
            } else {
                self.information(name).and_then(|field| field.length)
            };
            if let Some(limit) = limit.filter(|limit| *limit > 0)
                && text.chars().count() as i64 > limit
            {
                return Err(format!(
                    "the ticket's {} ({name}) has {} characters; Autotask allows {limit}",
                    self.label(name),
                    text.chars().count()
                ));
            }
        }
        Ok(())
    }

    fn label(&self, field: &str) -> String {
        self.mappable
            .iter()
            .find(|candidate| candidate.name.eq_ignore_ascii_case(field))
            .map(|candidate| candidate.label.clone())
            .unwrap_or_else(|| match field {
                "companyID" => "Company".to_owned(),
                "contactID" => "Contact".to_owned(),
                other => other.to_owned(),
            })
    }
}

fn udf_value(ticket: &Map<String, Value>, name: &str) -> FieldValue {
    ticket
        .get("userDefinedFields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|item| {
            item.get("name")
                .and_then(Value::as_str)
                .is_some_and(|candidate| candidate.eq_ignore_ascii_case(name))
        })
        .and_then(|item| item.get("value"))
        .map_or(FieldValue::Empty, |value| match value {
            Value::Null => FieldValue::Empty,
            Value::String(text) => FieldValue::Text(text.clone()),
            Value::Number(number) => FieldValue::Text(canonical_number(number)),
            other => FieldValue::Text(other.to_string()),
        })
}

/// The actor of a resource id (`"29682885"`) or, failing that, a contact id (`"contact:123"`).
pub(crate) fn resource_or_contact(
    record: &Map<String, Value>,
    resource_field: &str,
    contact_field: &str,
) -> Option<ActorId> {
    if let Some(resource) = record.get(resource_field).and_then(integer) {
        return Some(ActorId::from(resource));
    }
    record
        .get(contact_field)
        .and_then(integer)
        .map(|contact| ActorId::new(format!("contact:{contact}")))
}

pub(crate) fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_i64().or_else(|| {
            number
                .as_f64()
                .filter(|float| float.fract() == 0.0)
                .map(|float| float as i64)
        }),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

fn choice_value(value: &Value) -> Option<ChoiceValue> {
    match value {
        Value::Null => None,
        Value::String(text) if text.trim().is_empty() => None,
        Value::String(text) => Some(ChoiceValue::new(text.as_str())),
        other => integer(other).map(ChoiceValue::from),
    }
}

fn canonical_number(number: &serde_json::Number) -> String {
    if let Some(whole) = number.as_i64() {
        return whole.to_string();
    }
    match number.as_f64() {
        Some(float) if float.fract() == 0.0 && float.abs() < 9.0e15 => (float as i64).to_string(),
        Some(float) => float.to_string(),
        None => number.to_string(),
    }
}

fn number_value(text: &str) -> Option<Value> {
    let trimmed = text.trim();
    if let Ok(whole) = trimmed.parse::<i64>() {
        return Some(Value::from(whole));
    }
    trimmed
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> TicketSchema {
        TicketSchema::new(TenantChoices::from_lists(
            [(
                "priority",
                vec![fusion_domain::Choice {
                    value: ChoiceValue::from(4),
                    label: "Critical".into(),
                    is_active: true,
                    is_default: false,
                    parent: None,
                }],
            )],
            OffsetDateTime::UNIX_EPOCH,
        ))
    }

    #[test]
    fn a_wire_ticket_becomes_a_snapshot_with_codes_utc_dates_and_canonical_numbers() {
        let ticket: Map<String, Value> = serde_json::from_value(serde_json::json!({
            "id": 42, "ticketNumber": "T20261127.0001", "title": "Printer", "description": "Jammed",
            "status": "05", "priority": 4, "queueID": null, "companyID": 7, "estimatedHours": 2.0,
            "dueDateTime": "2026-11-27T01:43:57.123", "externalID": "",
            "createDate": "2026-11-27T01:00:00", "lastActivityDate": "2026-11-27T02:00:00Z",
            "createdByContactID": 12, "lastActivityResourceID": 29682885
        }))
        .expect("object");
        let snapshot = schema().snapshot(&ticket).expect("has an id");
        assert_eq!(snapshot.id, TicketId::new("42"));
        assert_eq!(snapshot.status, Some(ChoiceValue::from(5)));
        assert_eq!(
            snapshot.fields["priority"],
            FieldValue::Choice(ChoiceValue::from(4))
        );
        assert_eq!(snapshot.labels["priority"], "Critical");
        assert_eq!(
            snapshot.display("ticketNumber").as_deref(),
            Some("T20261127.0001"),
            "descriptions are composed with the ticket number"
        );
        assert_eq!(snapshot.fields["queueID"], FieldValue::Empty);
        assert_eq!(snapshot.fields["estimatedHours"], FieldValue::text("2"));
        assert_eq!(
            snapshot.fields["dueDateTime"],
            FieldValue::DateTime(datetime::parse("2026-11-27T01:43:57.123Z").expect("date"))
        );
        assert_eq!(snapshot.marker, None);
        assert_eq!(snapshot.created_by, Some(ActorId::new("contact:12")));
        assert_eq!(snapshot.last_activity_by, Some(ActorId::new("29682885")));
    }

    #[test]
    fn a_create_without_a_required_field_is_refused_naming_it() {
        let mut body = Map::new();
        body.insert("title".into(), Value::from("Printer"));
        body.insert("status".into(), Value::from(1));
        body.insert("companyID".into(), Value::from(7));
        let refusal = schema().check_create(&body).expect_err("priority missing");
        assert!(refusal.contains("Priority (priority)"), "{refusal}");
        body.insert("priority".into(), Value::from(4));
        assert_eq!(schema().check_create(&body), Ok(()));
        body.insert(MARKER_FIELD.into(), Value::from("x".repeat(51)));
        assert!(schema().check_create(&body).is_err());
    }
}
