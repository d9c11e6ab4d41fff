//! Live configuration choices of one Autotask tenant: the ticket, note and attachment picklists,
//! the active companies and the active resources, loaded in one concurrent burst and turned into
//! the domain's named lists of [`Choice`]s ("queue", "status", "company", …).
//!
//! Cost of [`load_choices`] (what the tests check against the simulator's request log): at most
//! one `ZoneInformation` lookup (skipped when the zone is cached), then exactly eight requests for a
//! tenant with up to 500 active companies and 500 active resources, all in flight at once:
//! - `GET Tickets/entityInformation/fields` (eight ticket picklists, required/read-only flags),
//! - `GET Tickets/entityInformation/userDefinedFields` (ticket UDFs for the mappable field list),
//! - `GET TicketNotes/entityInformation/fields` (note type, note publish, note lengths),
//! - `GET TicketAttachments/entityInformation/fields` (attachment publish),
//! - `POST Companies/query` (`isActive eq true`, `includeFields` id and name; one more page per 500),
//! - `POST Resources/query` (`isActive eq true`, `includeFields` id and names; same paging),
//! - `POST Roles/query` (`isActive eq true`, id and name: the roles time entries are logged under),
//! - `POST BillingCodes/query` (`useType eq 1`, active, `billingCodeType` 0: the work types).
//!
//! Roles and work types are read without their rates or prices, and a security level that may not
//! read them gives empty lists rather than failing the whole load. Eight requests in all.
//!
//! Only two of them share an endpoint bucket (`Tickets`), so the burst stays within Autotask's
//! three-threads-per-endpoint rule and goes through the crate's [`EndpointLimiter`] like any call.
//!
//! Caching and refreshing are the caller's job: [`TenantChoices`] is a plain `Clone` value that
//! says when it was fetched.
//!
//! [`EndpointLimiter`]: crate::limiter::EndpointLimiter

use std::collections::BTreeMap;

use fusion_domain::{Choice, ChoiceValue};
use time::OffsetDateTime;

use crate::client::AutotaskClient;
use crate::error::AutotaskError;
use crate::wire::AutotaskEntity as _;
use crate::wire::{
    Company, FieldInformation, Filter, PicklistValue, Resource, UserDefinedFieldInformation,
};

/// List name: the tenant's active companies (value = company id, label = company name).
pub const COMPANY: &str = "company";
/// List name: the tenant's active resources (value = resource id, label = "First Last").
pub const RESOURCE: &str = "resource";
/// List name: the tenant's active roles (value = role id, label = role name).
pub const TIME_ROLE: &str = "time_role";
/// List name: the tenant's work types — active general allocation codes (value = billing code id).
pub const TIME_WORK_TYPE: &str = "time_work_type";

/// Ticket picklist fields (Autotask wire name → list name).
pub const TICKET_PICKLISTS: &[(&str, &str)] = &[
    ("queueID", "queue"),
    ("status", "status"),
    ("priority", "priority"),
    ("ticketType", "ticket_type"),
    ("ticketCategory", "ticket_category"),
    ("source", "source"),
    ("issueType", "issue_type"),
    ("subIssueType", "sub_issue_type"),
];
/// Ticket note picklist fields (wire name → list name).
pub const NOTE_PICKLISTS: &[(&str, &str)] =
    &[("noteType", "note_type"), ("publish", "note_publish")];
/// Ticket attachment picklist fields (wire name → list name).
pub const ATTACHMENT_PICKLISTS: &[(&str, &str)] = &[("publish", "attachment_publish")];

/// The list name of a ticket field that has one: a picklist ("status" → "status", "queueID" →
/// "queue") or a reference to a listed entity ("companyID" → "company", "assignedResourceID" →
/// "resource").
pub fn ticket_list_name(field: &str) -> Option<&'static str> {
    if let Some((_, list)) = TICKET_PICKLISTS.iter().find(|(name, _)| *name == field) {
        return Some(list);
    }
    if field == "companyID" {
        return Some(COMPANY);
    }
    // assignedResourceID, creatorResourceID, completedByResourceID, lastActivityResourceID,
    // impersonatorCreatorResourceID, firstResponse…ResourceID: all reference Resources.
    if field.ends_with("ResourceID") {
        return Some(RESOURCE);
    }
    None
}

/// Every named choice list of one tenant, as fetched at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantChoices {
    lists: BTreeMap<String, Vec<Choice>>,
    ticket_field_information: Vec<FieldInformation>,
    ticket_user_defined_fields: Vec<UserDefinedFieldInformation>,
    /// `TicketNotes/entityInformation/fields`, kept for the note lengths (the picklists are in
    /// `lists` already); fetched anyway for the note picklists, so keeping it costs no call.
    note_field_information: Vec<FieldInformation>,
    fetched_at: OffsetDateTime,
}

impl TenantChoices {
    /// Choices built by hand (tests, other platforms). The lists are kept in the given order;
    /// without field information, [`crate::ticket_fields::ticket_fields`] assumes the standard
    /// Autotask ticket fields.
    pub fn from_lists<I, N>(lists: I, fetched_at: OffsetDateTime) -> TenantChoices
    where
        I: IntoIterator<Item = (N, Vec<Choice>)>,
        N: Into<String>,
    {
        TenantChoices {
            lists: lists
                .into_iter()
                .map(|(name, choices)| (name.into(), choices))
                .collect(),
            ticket_field_information: Vec::new(),
            ticket_user_defined_fields: Vec::new(),
            note_field_information: Vec::new(),
            fetched_at,
        }
    }

    /// Adds the tenant's ticket field metadata (required/read-only flags, UDFs).
    pub fn with_ticket_field_information(
        mut self,
        fields: Vec<FieldInformation>,
        user_defined_fields: Vec<UserDefinedFieldInformation>,
    ) -> TenantChoices {
        self.ticket_field_information = fields;
        self.ticket_user_defined_fields = user_defined_fields;
        self
    }

    /// Adds the tenant's ticket note field metadata (lengths of a note's title and text).
    pub fn with_note_field_information(mut self, fields: Vec<FieldInformation>) -> TenantChoices {
        self.note_field_information = fields;
        self
    }

    /// The choices of a named list ("queue", "status", …), sorted by the tenant's sort order then
    /// label; inactive values are included and flagged. An unknown name gives an empty list.
    pub fn list(&self, name: &str) -> Vec<Choice> {
        self.lists.get(name).cloned().unwrap_or_default()
    }

    /// The same list, borrowed.
    pub fn list_ref(&self, name: &str) -> &[Choice] {
        self.lists.get(name).map(Vec::as_slice).unwrap_or_default()
    }

    /// The names of the lists that were loaded.
    pub fn list_names(&self) -> impl Iterator<Item = &str> {
        self.lists.keys().map(String::as_str)
    }

    /// One choice of a list by value.
    pub fn choice(&self, list: &str, value: &ChoiceValue) -> Option<&Choice> {
        self.list_ref(list)
            .iter()
            .find(|choice| &choice.value == value)
    }

    /// The label of a value in a list ("5" in "status" → "Complete").
    pub fn label_of(&self, list: &str, value: &ChoiceValue) -> Option<&str> {
        self.choice(list, value).map(|choice| choice.label.as_str())
    }

    /// When the tenant was asked.
    pub fn fetched_at(&self) -> OffsetDateTime {
        self.fetched_at
    }

    /// `Tickets/entityInformation/fields` as fetched (empty for hand-built choices).
    pub fn ticket_field_information(&self) -> &[FieldInformation] {
        &self.ticket_field_information
    }

    /// `Tickets/entityInformation/userDefinedFields` as fetched (empty for hand-built choices).
    pub fn ticket_user_defined_fields(&self) -> &[UserDefinedFieldInformation] {
        &self.ticket_user_defined_fields
    }

    /// `TicketNotes/entityInformation/fields` as fetched (empty for hand-built choices).
    pub fn note_field_information(&self) -> &[FieldInformation] {
        &self.note_field_information
    }
}

/// Loads every choice list of the client's tenant (eight concurrent requests; see the module docs).
pub async fn load_choices(client: &AutotaskClient) -> Result<TenantChoices, AutotaskError> {
    // Resolve (and cache) the zone first: eight concurrent calls on a cold cache would each ask.
    client.zone().await?;
    let (
        ticket_fields,
        ticket_udfs,
        note_fields,
        attachment_fields,
        companies,
        resources,
        roles,
        work_types,
    ) = tokio::try_join!(
        client.field_information("Tickets"),
        client.user_defined_fields("Tickets"),
        client.field_information("TicketNotes"),
        client.field_information("TicketAttachments"),
        active_companies(client),
        active_resources(client),
        unless_denied(active_roles(client)),
        unless_denied(work_types(client)),
    )?;
    let mut lists = BTreeMap::new();
    for (fields, picklists) in [
        (&ticket_fields, TICKET_PICKLISTS),
        (&note_fields, NOTE_PICKLISTS),
        (&attachment_fields, ATTACHMENT_PICKLISTS),
    ] {
        for (field, list) in picklists {
            let values = fields
                .iter()
                .find(|information| information.name.eq_ignore_ascii_case(field))
                .map(|information| information.picklist_values.as_slice())
                .unwrap_or_default();
            lists.insert((*list).to_owned(), picklist_choices(values));
        }
    }
    lists.insert(COMPANY.to_owned(), companies);
    lists.insert(RESOURCE.to_owned(), resources);
    lists.insert(TIME_ROLE.to_owned(), roles);
    lists.insert(TIME_WORK_TYPE.to_owned(), work_types);
    Ok(TenantChoices {
        lists,
        ticket_field_information: ticket_fields,
        ticket_user_defined_fields: ticket_udfs,
        note_field_information: note_fields,
        fetched_at: OffsetDateTime::now_utc(),
    })
}

/// Picklist values as choices: integer codes canonical, sorted by sort order (values without one
/// last) then label. Values without a code cannot be sent back to Autotask and are dropped.
pub fn picklist_choices(values: &[PicklistValue]) -> Vec<Choice> {
    let mut sorted: Vec<&PicklistValue> = values.iter().filter(|v| v.value.is_some()).collect();
    sorted.sort_by(|left, right| {
        (left.sort_order.is_none(), left.sort_order)
            .cmp(&(right.sort_order.is_none(), right.sort_order))
            .then_with(|| left.label.to_lowercase().cmp(&right.label.to_lowercase()))
            .then_with(|| left.value.cmp(&right.value))
    });
    sorted
        .into_iter()
        .filter_map(|value| {
            Some(Choice {
                value: ChoiceValue::from(value.value?),
                label: value.label.trim().to_owned(),
                is_active: value.is_active,
                is_default: value.is_default_value,
                parent: value.parent_value.map(ChoiceValue::from),
            })
        })
        .collect()
}

fn sorted_by_label(mut choices: Vec<Choice>) -> Vec<Choice> {
    choices.sort_by(|left, right| {
        left.label
            .to_lowercase()
            .cmp(&right.label.to_lowercase())
            .then_with(|| left.value.cmp(&right.value))
    });
    choices
}

fn plain_choice(id: i64, label: String) -> Choice {
    Choice {
        value: ChoiceValue::from(id),
        label,
        is_active: true,
        is_default: false,
        parent: None,
    }
}

async fn active_companies(client: &AutotaskClient) -> Result<Vec<Choice>, AutotaskError> {
    let mut pages = client
        .query_pages::<Company>(vec![Filter::eq("isActive", true)])
        .include_fields(&["id", "companyName"]);
    let mut choices = Vec::new();
    while let Some(page) = pages.next_page().await? {
        choices.extend(page.into_iter().filter_map(|company| {
            let id = company.id?;
            let name = company
                .company_name
                .map(|name| name.trim().to_owned())
                .filter(|name| !name.is_empty())
                .unwrap_or_else(|| format!("Company {id}"));
            Some(plain_choice(id, name))
        }));
    }
    Ok(sorted_by_label(choices))
}

async fn active_resources(client: &AutotaskClient) -> Result<Vec<Choice>, AutotaskError> {
    let mut pages = client
        .query_pages::<Resource>(vec![Filter::eq("isActive", true)])
        .include_fields(&["id", "firstName", "lastName"]);
    let mut choices = Vec::new();
    while let Some(page) = pages.next_page().await? {
        choices.extend(page.into_iter().filter_map(|resource| {
            let id = resource.id?;
            Some(plain_choice(id, resource_name(&resource, id)))
        }));
    }
    Ok(sorted_by_label(choices))
}

/// A row of a list entity (roles, billing codes) as raw JSON.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(transparent)]
struct NamedRow<const ROLE: bool>(serde_json::Map<String, serde_json::Value>);

impl<const ROLE: bool> crate::wire::AutotaskEntity for NamedRow<ROLE> {
    const ENDPOINT: &'static str = if ROLE { "Roles" } else { "BillingCodes" };
    fn id(&self) -> Option<i64> {
        self.0.get("id").and_then(serde_json::Value::as_i64)
    }
}

impl<const ROLE: bool> NamedRow<ROLE> {
    fn choice(&self) -> Option<Choice> {
        let id = self.id()?;
        let name = self
            .0
            .get("name")
            .and_then(serde_json::Value::as_str)
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map_or_else(
                || format!("{} {id}", <Self as crate::wire::AutotaskEntity>::ENDPOINT),
                str::to_owned,
            );
        Some(plain_choice(id, name))
    }
}

/// An empty list when the API user's security level may not read the entity.
async fn unless_denied(
    load: impl std::future::Future<Output = Result<Vec<Choice>, AutotaskError>>,
) -> Result<Vec<Choice>, AutotaskError> {
    match load.await {
        Err(AutotaskError::PermissionDenied { .. }) => Ok(Vec::new()),
        other => other,
    }
}

async fn active_roles(client: &AutotaskClient) -> Result<Vec<Choice>, AutotaskError> {
    let mut pages = client
        .query_pages::<NamedRow<true>>(vec![Filter::eq("isActive", true)])
        .include_fields(&["id", "name"]);
    let mut choices = Vec::new();
    while let Some(page) = pages.next_page().await? {
        choices.extend(page.iter().filter_map(NamedRow::choice));
    }
    Ok(sorted_by_label(choices))
}

/// Work types: active general allocation codes (`billingCodeType` 0, `useType` 1), the only
/// billing codes a time entry takes.
async fn work_types(client: &AutotaskClient) -> Result<Vec<Choice>, AutotaskError> {
    let mut pages = client
        .query_pages::<NamedRow<false>>(vec![
            Filter::eq("useType", 1),
            Filter::eq("isActive", true),
            Filter::eq("billingCodeType", 0),
        ])
        .include_fields(&["id", "name"]);
    let mut choices = Vec::new();
    while let Some(page) = pages.next_page().await? {
        choices.extend(page.iter().filter_map(NamedRow::choice));
    }
    Ok(sorted_by_label(choices))
}

/// "First Last", or "Resource <id>" when both are empty.
fn resource_name(resource: &Resource, id: i64) -> String {
    let name = [&resource.first_name, &resource.last_name]
        .into_iter()
        .flatten()
        .map(|part| part.trim())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if name.is_empty() {
        format!("Resource {id}")
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(code: i64, label: &str, sort: Option<i64>, active: bool) -> PicklistValue {
        PicklistValue {
            value: Some(code),
            label: label.into(),
            sort_order: sort,
            is_active: active,
            ..PicklistValue::default()
        }
    }

    #[test]
    fn picklist_values_sort_by_sort_order_then_label_and_keep_inactive_flagged() {
        let choices = picklist_choices(&[
            value(3, "Zeta", None, true),
            value(1, "beta", Some(2), true),
            value(2, "Alpha", Some(2), false),
            value(4, "Gamma", Some(1), true),
            value(5, "Alpha2", None, true),
        ]);
        let labels: Vec<&str> = choices.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(labels, ["Gamma", "Alpha", "beta", "Alpha2", "Zeta"]);
        assert!(!choices[1].is_active);
        assert_eq!(choices[1].value, ChoiceValue::new("2"));
    }

    #[test]
    fn list_names_of_ticket_fields_cover_picklists_and_references() {
        assert_eq!(ticket_list_name("queueID"), Some("queue"));
        assert_eq!(ticket_list_name("subIssueType"), Some("sub_issue_type"));
        assert_eq!(ticket_list_name("companyID"), Some("company"));
        assert_eq!(ticket_list_name("assignedResourceID"), Some("resource"));
        assert_eq!(ticket_list_name("title"), None);
    }
}
