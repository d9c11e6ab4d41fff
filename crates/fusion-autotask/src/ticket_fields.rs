//! Which Autotask ticket fields a relationship can map, the default mapping set with the reasons
//! for each direction, value-mapping suggestions by label, and the preview of one real ticket with
//! display values (labels instead of codes) for the mapping and description-composition screens.

use std::collections::BTreeMap;

use fusion_domain::{
    Choice, ChoiceValue, FieldMapping, FieldMappingId, MappingDirection, RelationshipId,
    ValueMapping, suggest_value_mappings,
};
use fusion_engine::{PreviewTicket, TicketField, TicketPreview};
use serde::Deserialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::choices::{COMPANY, RESOURCE, TenantChoices, ticket_list_name};
use crate::client::AutotaskClient;
use crate::error::AutotaskError;
use crate::wire::{AutotaskEntity, Contact, Filter, PicklistValue, datetime};

/// The one Autotask ticket type mappings apply to.
pub const TICKET_TYPE: &str = "Ticket";

/// Prefix of user-defined ticket fields in mapping field names (`udf:Customer Reference`).
pub const UDF_PREFIX: &str = "udf:";

/// The standard mappable ticket fields (wire name, label). `externalID` is deliberately absent:
/// it carries the sync marker. Ids that only mean something inside one tenant and have no shared
/// list (companyID, contactID, assigned resource) are absent too: the receiving side sets those
/// from its own receive defaults, and the contact can be written into the description instead.
const MAPPABLE_TICKET_FIELDS: &[(&str, &str)] = &[
    ("title", "Title"),
    ("description", "Description"),
    ("status", "Status"),
    ("priority", "Priority"),
    ("queueID", "Queue"),
    ("issueType", "Issue type"),
    ("subIssueType", "Sub-issue type"),
    ("ticketType", "Ticket type"),
    ("ticketCategory", "Ticket category"),
    ("source", "Source"),
    ("dueDateTime", "Due date"),
    ("estimatedHours", "Estimated hours"),
    ("resolution", "Resolution"),
    ("purchaseOrderNumber", "Purchase order number"),
];

/// Fields Autotask requires on every ticket, assumed when no field information was fetched.
const STANDARD_REQUIRED: &[&str] = &["title", "status", "priority"];

/// The mappable ticket fields of a tenant: the standard list (minus any field the tenant's field
/// information does not know), with its required/read-only flags, then its ticket UDFs as
/// `udf:<name>`. Choices built by hand (no field information) give the standard list.
pub fn ticket_fields(choices: &TenantChoices) -> Vec<TicketField> {
    let information = choices.ticket_field_information();
    let mut fields: Vec<TicketField> = MAPPABLE_TICKET_FIELDS
        .iter()
        .filter_map(|(name, label)| {
            let known = information
                .iter()
                .find(|field| field.name.eq_ignore_ascii_case(name));
            if !information.is_empty() && known.is_none() {
                return None;
            }
            Some(TicketField {
                name: (*name).to_owned(),
                label: (*label).to_owned(),
                picklist: ticket_list_name(name),
                is_required: known.map_or(STANDARD_REQUIRED.contains(name), |f| f.is_required),
                is_read_only: known.is_some_and(|f| f.is_read_only),
            })
        })
        .collect();
    fields.extend(
        choices
            .ticket_user_defined_fields()
            .iter()
            .filter(|udf| !udf.name.trim().is_empty())
            .map(|udf| TicketField {
                name: format!("{UDF_PREFIX}{}", udf.name),
                label: udf
                    .label
                    .as_deref()
                    .map(str::trim)
                    .filter(|label| !label.is_empty())
                    .unwrap_or(&udf.name)
                    .to_owned(),
                // UDF picklists are not one of the named lists; they are mapped as text.
                picklist: None,
                is_required: udf.is_required,
                is_read_only: udf.is_read_only,
            }),
    );
    fields
}

/// The mapping set a new relationship starts with. Value mappings are left empty: the
/// configuration screen fills them with [`suggested_value_mappings`] once both tenants' choices
/// are loaded, and the person confirms them.
///
/// - **title — Both.** Either side may correct the subject; both should see the same one.
/// - **description — Source to target.** It is the requester's account of the problem; the
///   provider's findings belong in comments, and a target-side edit must not overwrite it.
/// - **status — Both.** The target works the ticket, so its progress must flow back; the source
///   may still close or reopen. Needs value mappings because codes differ per tenant.
/// - **priority — Source to target.** The requester states the business impact; the target may
///   re-prioritise for its own planning without that flowing back as the customer's statement.
/// - **dueDateTime — Source to target.** The requester's deadline; the target schedules to it.
/// - **issueType / subIssueType — Source to target.** The requester's classification routes the
///   ticket on the target side; the target's internal re-classification stays internal. Both map
///   values, and the sub-issue type follows the issue type it belongs to.
pub fn default_field_mappings(relationship: RelationshipId) -> Vec<FieldMapping> {
    [
        ("title", MappingDirection::Both),
        ("description", MappingDirection::SourceToTarget),
        ("status", MappingDirection::Both),
        ("priority", MappingDirection::SourceToTarget),
        ("dueDateTime", MappingDirection::SourceToTarget),
        ("issueType", MappingDirection::SourceToTarget),
        ("subIssueType", MappingDirection::SourceToTarget),
    ]
    .into_iter()
    .map(|(field, direction)| FieldMapping {
        id: FieldMappingId::new(),
        relationship_id: relationship,
        ticket_type: TICKET_TYPE.to_owned(),
        source_field: field.to_owned(),
        target_field: field.to_owned(),
        direction,
        value_mappings: Vec::new(),
    })
    .collect()
}

/// "Match by label" for one picklist field between the two tenants (active values only, case and
/// spacing ignored). Sub-issue types match on "issue type / sub-issue type", so "Other" under
/// "Hardware" never maps to "Other" under "Software". Non-picklist fields give nothing.
pub fn suggested_value_mappings(
    field: &TicketField,
    source: &TenantChoices,
    target: &TenantChoices,
) -> Vec<ValueMapping> {
    suggest_between(field, &|list| source.list_ref(list), &|list| {
        target.list_ref(list)
    })
}

/// [`suggested_value_mappings`] over any two tenants' named lists (the adapter's own
/// [`TenantChoices`] or the engine's `LiveChoices`).
pub(crate) fn suggest_between<'s, 't>(
    field: &TicketField,
    source: &dyn Fn(&str) -> &'s [Choice],
    target: &dyn Fn(&str) -> &'t [Choice],
) -> Vec<ValueMapping> {
    let Some(list) = field.picklist else {
        return Vec::new();
    };
    if list == "sub_issue_type" {
        return suggest_value_mappings(
            &qualified_sub_issue_types(source),
            &qualified_sub_issue_types(target),
        );
    }
    suggest_value_mappings(source(list), target(list))
}

/// Sub-issue types labelled "issue type / sub-issue type", so "Other" under "Hardware" only
/// matches "Other" under "Hardware".
fn qualified_sub_issue_types<'c>(lists: &dyn Fn(&str) -> &'c [Choice]) -> Vec<Choice> {
    let issue_types = lists("issue_type");
    lists("sub_issue_type")
        .iter()
        .cloned()
        .map(|mut choice| {
            let parent = choice
                .parent
                .as_ref()
                .and_then(|parent| issue_types.iter().find(|issue| &issue.value == parent))
                .map_or("", |issue| issue.label.as_str());
            choice.label = format!("{parent} / {}", choice.label);
            choice
        })
        .collect()
}

/// A ticket as raw JSON, so every field (and UDF) the tenant returns can be previewed.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
struct RawTicket(Map<String, Value>);

impl AutotaskEntity for RawTicket {
    const ENDPOINT: &'static str = "Tickets";
    fn id(&self) -> Option<i64> {
        integer(self.0.get("id")?)
    }
}

/// How far back "the most recently active ticket" is looked for, narrowest first.
const RECENT_WINDOWS_HOURS: &[i64] = &[1, 24, 7 * 24, 30 * 24, 365 * 24];
/// Pages read within one window before settling for the best ticket seen (bounds the cost on a
/// tenant where thousands of tickets moved inside one window).
const MAX_PAGES_PER_WINDOW: usize = 4;

/// The preview of `ticket` (by id, by ticket number, or the most recently active one) — only
/// ever a ticket of `company`, the company the connection carries on this side (the privacy rule:
/// a preview never shows a ticket of another company; a ticket id of another company is refused
/// as if it did not exist).
///
/// Autotask queries cannot sort, and ids only say when a ticket was created. So the latest
/// ticket is found by widening windows: query `lastActivityDate gte now − 1 hour` (then 24
/// hours, 7, 30, 365 days) returning only `id` and `lastActivityDate`, and take the newest
/// activity in the first window that has any. On a live tenant that is usually one small query;
/// a quiet tenant costs one empty query per window. Then one `GET Tickets/{id}`, and one
/// `GET Contacts/{id}` for the contact's name (skipped, keeping the id, if that fails).
pub async fn preview_values(
    client: &AutotaskClient,
    choices: &TenantChoices,
    ticket: &PreviewTicket,
    company: &ChoiceValue,
) -> Result<TicketPreview, AutotaskError> {
    let id = match ticket {
        PreviewTicket::Id(id) => *id,
        PreviewTicket::Number(number) => ticket_by_number(client, number, company).await?,
        PreviewTicket::Latest => most_recently_active_ticket(client, company).await?,
    };
    let ticket = client
        .get::<RawTicket>(id)
        .await?
        .filter(|ticket| ticket.0.get("companyID").and_then(integer) == company.as_i64())
        .ok_or_else(|| AutotaskError::NotFound {
            what: format!(
                "ticket {id} among this connection's tickets (a preview shows only tickets of the \
                 company this connection carries)"
            ),
        })?;
    let contact_name = match ticket.0.get("contactID").and_then(integer) {
        Some(contact_id) => client
            .get::<Contact>(contact_id)
            .await
            .ok()
            .flatten()
            .and_then(|contact| contact_display_name(&contact)),
        None => None,
    };
    Ok(render_preview(&ticket.0, choices, contact_name))
}

/// The id of the ticket numbered `number` among `company`'s tickets (one query for its id).
async fn ticket_by_number(
    client: &AutotaskClient,
    number: &str,
    company: &ChoiceValue,
) -> Result<i64, AutotaskError> {
    let mut pages = client
        .query_pages::<RawTicket>(vec![
            Filter::eq("ticketNumber", Value::from(number)),
            Filter::eq(
                "companyID",
                company
                    .as_i64()
                    .map_or_else(|| Value::from(company.as_str()), Value::from),
            ),
        ])
        .include_fields(&["id"]);
    if let Some(page) = pages.next_page().await?
        && let Some(id) = page.iter().find_map(AutotaskEntity::id)
    {
        return Ok(id);
    }
    Err(AutotaskError::NotFound {
        what: format!(
            "ticket {number} among this connection's tickets (a preview shows only tickets of the \
             company this connection carries)"
        ),
    })
}

async fn most_recently_active_ticket(
    client: &AutotaskClient,
    company: &ChoiceValue,
) -> Result<i64, AutotaskError> {
    let now = OffsetDateTime::now_utc();
    for hours in RECENT_WINDOWS_HOURS {
        let since = datetime::format(now - time::Duration::hours(*hours));
        let mut pages = client
            .query_pages::<RawTicket>(vec![
                Filter::gte("lastActivityDate", since),
                Filter::eq(
                    "companyID",
                    company
                        .as_i64()
                        .map_or_else(|| Value::from(company.as_str()), Value::from),
                ),
            ])
            .include_fields(&["id", "lastActivityDate"]);
        let mut best: Option<(OffsetDateTime, i64)> = None;
        let mut read = 0;
        while read < MAX_PAGES_PER_WINDOW
            && let Some(page) = pages.next_page().await?
        {
            read += 1;
            for ticket in page {
                let Some(id) = ticket.id() else { continue };
                let activity = ticket
                    .0
                    .get("lastActivityDate")
                    .and_then(Value::as_str)
                    .and_then(datetime::parse)
                    .unwrap_or(OffsetDateTime::UNIX_EPOCH);
                if best.is_none_or(|current| (activity, id) > current) {
                    best = Some((activity, id));
                }
            }
        }
        if let Some((_, id)) = best {
            return Ok(id);
        }
    }
    Err(AutotaskError::NotFound {
        what:
            "a ticket of this connection's company with activity in the last year (give a ticket \
               id instead)"
                .to_owned(),
    })
}

fn render_preview(
    ticket: &Map<String, Value>,
    choices: &TenantChoices,
    contact_name: Option<String>,
) -> TicketPreview {
    let text = |field: &str| {
        ticket
            .get(field)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let mut values = BTreeMap::new();
    for (field, value) in ticket {
        if field == "userDefinedFields" {
            for udf in value.as_array().into_iter().flatten() {
                let name = udf.get("name").and_then(Value::as_str).unwrap_or_default();
                let Some(value) = udf.get("value") else {
                    continue;
                };
                let picklist = choices
                    .ticket_user_defined_fields()
                    .iter()
                    .find(|definition| definition.name == name && definition.is_pick_list)
                    .map(|definition| definition.picklist_values.as_slice());
                if let Some(display) =
                    unlisted_picklist_label(picklist, value).or_else(|| plain_display(value))
                    && !name.is_empty()
                {
                    values.insert(format!("{UDF_PREFIX}{name}"), display);
                }
            }
            continue;
        }
        let display = display_value(field, value, choices, contact_name.as_deref());
        if let Some(display) = display {
            values.insert(field.clone(), display);
        }
    }
    TicketPreview {
        ticket_number: text("ticketNumber"),
        title: text("title"),
        description: text("description"),
        values,
    }
}

/// Ticket facts a description composition can show besides the mappable fields, with their
/// labels. The sync fills them in exactly as the preview does ([`fact_labels`]).
pub const TICKET_FACTS: &[(&str, &str)] = &[
    ("ticketNumber", "Ticket number"),
    ("companyID", "Company"),
    ("contactID", "Contact"),
    ("createDate", "Created"),
    ("creatorResourceID", "Created by"),
    ("assignedResourceID", "Assigned to"),
];

/// The display text of the [`TICKET_FACTS`] a raw ticket has, as the preview shows them
/// (company and resource names from the choices, the contact's name when known, dates as
/// `2026-11-27 01:43 UTC`).
pub(crate) fn fact_labels(
    ticket: &Map<String, Value>,
    choices: &TenantChoices,
    contact_name: Option<&str>,
) -> BTreeMap<String, String> {
    TICKET_FACTS
        .iter()
        .filter_map(|(field, _)| {
            let value = ticket.get(*field)?;
            let display = display_value(field, value, choices, contact_name)?;
            Some(((*field).to_owned(), display))
        })
        .collect()
}

/// How one standard field's value reads for people: picklist labels instead of codes, company
/// and resource names instead of ids, the contact's name (`contact_name`) for `contactID`.
fn display_value(
    field: &str,
    value: &Value,
    choices: &TenantChoices,
    contact_name: Option<&str>,
) -> Option<String> {
    if field == "contactID" {
        return contact_name
            .map(str::to_owned)
            .or_else(|| plain_display(value));
    }
    match ticket_list_name(field) {
        Some(list) => integer(value).map(|code| {
            let code = ChoiceValue::from(code);
            match choices.label_of(list, &code) {
                Some(label) => label.to_owned(),
                // Not in the lists (an inactive resource or company, a value removed since).
                None if list == RESOURCE => format!("Resource {}", code.as_str()),
                None if list == COMPANY => format!("Company {}", code.as_str()),
                None => code.as_str().to_owned(),
            }
        }),
        // Other picklists (creatorType, …) have no named list: use the field information.
        None => unlisted_picklist_label(
            choices
                .ticket_field_information()
                .iter()
                .find(|information| information.name == field)
                .map(|information| information.picklist_values.as_slice()),
            value,
        )
        .or_else(|| plain_display(value)),
    }
}

/// The label of a code in a picklist that is not one of the named lists.
fn unlisted_picklist_label(values: Option<&[PicklistValue]>, value: &Value) -> Option<String> {
    let code = integer(value)?;
    values?
        .iter()
        .find(|candidate| candidate.value == Some(code))
        .map(|candidate| candidate.label.trim().to_owned())
        .filter(|label| !label.is_empty())
}

/// A scalar as people read it: dates as `2026-11-27 01:43 UTC`, booleans as Yes/No. Nulls,
/// empty strings, arrays and objects give nothing.
fn plain_display(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if text.trim().is_empty() => None,
        Value::String(text) => Some(match datetime::parse(text) {
            Some(moment) if text.len() >= 19 && text.as_bytes().get(10) == Some(&b'T') => {
                display_date_time(moment)
            }
            _ => text.clone(),
        }),
        Value::Bool(flag) => Some(if *flag { "Yes" } else { "No" }.to_owned()),
        Value::Number(number) => Some(number.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

fn display_date_time(moment: OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    moment.format(format).unwrap_or_default()
}

fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

fn contact_display_name(contact: &Contact) -> Option<String> {
    let name = [&contact.first_name, &contact.last_name]
        .into_iter()
        .flatten()
        .map(|part| part.trim())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use fusion_domain::Choice;

    use super::*;

    fn choice(value: i64, label: &str, parent: Option<i64>) -> Choice {
        Choice {
            value: value.into(),
            label: label.into(),
            is_active: true,
            is_default: false,
            parent: parent.map(ChoiceValue::from),
        }
    }

    #[test]
    fn default_mappings_cover_the_agreed_fields_with_their_directions() {
        let relationship = RelationshipId::new();
        let mappings = default_field_mappings(relationship);
        let summary: Vec<(&str, MappingDirection)> = mappings
            .iter()
            .map(|m| (m.source_field.as_str(), m.direction))
            .collect();
        assert_eq!(
            summary,
            [
                ("title", MappingDirection::Both),
                ("description", MappingDirection::SourceToTarget),
                ("status", MappingDirection::Both),
                ("priority", MappingDirection::SourceToTarget),
                ("dueDateTime", MappingDirection::SourceToTarget),
                ("issueType", MappingDirection::SourceToTarget),
                ("subIssueType", MappingDirection::SourceToTarget),
            ]
        );
        assert!(mappings.iter().all(|m| m.relationship_id == relationship
            && m.ticket_type == TICKET_TYPE
            && m.source_field == m.target_field));
    }

    #[test]
    fn hand_built_choices_give_the_standard_fields_without_the_sync_marker() {
        let choices = TenantChoices::from_lists(
            Vec::<(String, Vec<Choice>)>::new(),
            OffsetDateTime::UNIX_EPOCH,
        );
        let fields = ticket_fields(&choices);
        assert!(fields.iter().all(|field| field.name != "externalID"));
        let status = fields.iter().find(|f| f.name == "status").expect("status");
        assert_eq!(status.picklist, Some("status"));
        assert!(status.is_required);
        let queue = fields.iter().find(|f| f.name == "queueID").expect("queue");
        assert_eq!(
            (queue.label.as_str(), queue.picklist),
            ("Queue", Some("queue"))
        );
    }

    #[test]
    fn sub_issue_types_are_suggested_within_the_same_issue_type() {
        let side = |other_code: i64| {
            TenantChoices::from_lists(
                [
                    (
                        "issue_type",
                        vec![choice(1, "Hardware", None), choice(2, "Software", None)],
                    ),
                    (
                        "sub_issue_type",
                        vec![
                            choice(10, "Other", Some(1)),
                            choice(other_code, "Other", Some(2)),
                        ],
                    ),
                ],
                OffsetDateTime::UNIX_EPOCH,
            )
        };
        let source = side(20);
        let target = TenantChoices::from_lists(
            [
                (
                    "issue_type",
                    vec![choice(7, "Software", None), choice(8, "Hardware", None)],
                ),
                (
                    "sub_issue_type",
                    vec![choice(71, "Other", Some(7)), choice(81, "Other", Some(8))],
                ),
            ],
            OffsetDateTime::UNIX_EPOCH,
        );
        let field = ticket_fields(&source)
            .into_iter()
            .find(|f| f.name == "subIssueType")
            .expect("sub-issue type field");
        let pairs: Vec<(String, String)> = suggested_value_mappings(&field, &source, &target)
            .into_iter()
            .map(|m| (m.source.as_str().to_owned(), m.target.as_str().to_owned()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("10".to_owned(), "81".to_owned()),
                ("20".to_owned(), "71".to_owned())
            ]
        );
    }

    #[test]
    fn preview_shows_labels_names_and_readable_dates() {
        let choices = TenantChoices::from_lists(
            [
                ("status", vec![choice(5, "Complete", None)]),
                ("company", vec![choice(7, "Contoso Manufacturing", None)]),
                ("resource", vec![choice(3, "Jane Doe", None)]),
            ],
            OffsetDateTime::UNIX_EPOCH,
        );
        let ticket: Map<String, Value> = serde_json::from_value(serde_json::json!({
            "id": 1, "ticketNumber": "T20261127.0001", "title": "Printer", "description": "Jammed",
            "status": "5", "companyID": 7, "assignedResourceID": 3, "creatorResourceID": 99,
            "priority": 4, "dueDateTime": "2026-11-27T01:43:57.123", "queueID": null,
            "userDefinedFields": [{"name": "Customer Reference", "value": "CR-1"}]
        }))
        .expect("json object");
        let preview = render_preview(&ticket, &choices, None);
        assert_eq!(preview.ticket_number, "T20261127.0001");
        assert_eq!(preview.values["status"], "Complete");
        assert_eq!(preview.values["companyID"], "Contoso Manufacturing");
        assert_eq!(preview.values["assignedResourceID"], "Jane Doe");
        assert_eq!(preview.values["creatorResourceID"], "Resource 99");
        assert_eq!(preview.values["priority"], "4");
        assert_eq!(preview.values["dueDateTime"], "2026-11-27 01:43 UTC");
        assert_eq!(preview.values["udf:Customer Reference"], "CR-1");
        assert!(!preview.values.contains_key("queueID"));
    }
}
