//! The REST surface of the webhook entities: routing under `/V1.0/` (case-insensitive, like every other
//! entity), query and count, get by id, create/update/replace on the root or the parent-child URL,
//! delete, and `entityInformation` (with the `fieldID` / `udfFieldID` picklists). Validation follows
//! API-NOTES §9.2 and answers the vendor's HTTP 500 `{"errors":[…]}`.

use axum::body::Bytes;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::delivery::DeactivationCall;
use super::filter::parse_query;
use super::tables::{
    ChildKind, Column, ColumnType, ID_COLUMN, Row, Table, TenantWebhooks, WebhookKind,
};
use crate::options::MissingItemMode;
use crate::schema::{EntityKind, definition};
use crate::wire::{canonical_date_time, error_response, errors_response, json_response};
use crate::{Simulator, Tenant, read_lock};

/// Which part of `entityInformation` is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InfoPart {
    Info,
    Fields,
    UserDefinedFields,
}

/// A resolved webhook URL (the path after `/V1.0/`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum WebhookRoute {
    EntityInformation(Table, InfoPart),
    Query {
        table: Table,
        count: bool,
    },
    ById(Table, i64),
    Root(Table),
    /// `/{Webhooks}/{parentId}/{Child}`: the child table and the parent webhook id.
    ChildCollection(Table, i64),
    ChildById(Table, i64, i64),
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

/// Resolves lower-case path segments after `/V1.0/`; None when the path is not a webhook entity.
pub(crate) fn resolve(lower: &[String]) -> Option<WebhookRoute> {
    let table = Table::parse(lower.first()?)?;
    let rest = &lower[1..];
    if let Some(part) = parse_info_part(rest) {
        return Some(WebhookRoute::EntityInformation(table, part));
    }
    let numeric = |text: &String| text.parse::<i64>().ok();
    match rest {
        [] => Some(WebhookRoute::Root(table)),
        [query] if query == "query" => Some(WebhookRoute::Query {
            table,
            count: false,
        }),
        [query, count] if query == "query" && count == "count" => {
            Some(WebhookRoute::Query { table, count: true })
        }
        [id] => numeric(id).map(|id| WebhookRoute::ById(table, id)),
        [parent, segment, tail @ ..] => {
            let parent = numeric(parent)?;
            let child = ChildKind::parse(segment)?.table(table.webhook_kind()?)?;
            if let Some(part) = parse_info_part(tail) {
                return Some(WebhookRoute::EntityInformation(child, part));
            }
            match tail {
                [] => Some(WebhookRoute::ChildCollection(child, parent)),
                [id] => numeric(id).map(|id| WebhookRoute::ChildById(child, parent, id)),
                _ => None,
            }
        }
    }
}

impl WebhookRoute {
    /// The canonical route text for the request log, e.g. `/V1.0/TicketWebhooks/{id}/Fields`.
    pub(crate) fn canonical(&self) -> String {
        let child_base = |table: Table| match table.child() {
            Some((kind, child)) => format!(
                "/V1.0/{}/{{id}}/{}",
                kind.webhooks_table().path_name(),
                child.segment()
            ),
            None => format!("/V1.0/{}", table.path_name()),
        };
        match *self {
            WebhookRoute::EntityInformation(table, _) => {
                format!("/V1.0/{}/entityInformation", table.path_name())
            }
            WebhookRoute::Query {
                table,
                count: false,
            } => format!("/V1.0/{}/query", table.path_name()),
            WebhookRoute::Query { table, count: true } => {
                format!("/V1.0/{}/query/count", table.path_name())
            }
            WebhookRoute::ById(table, _) => format!("/V1.0/{}/{{id}}", table.path_name()),
            WebhookRoute::Root(table) => format!("/V1.0/{}", table.path_name()),
            WebhookRoute::ChildCollection(table, _) => child_base(table),
            WebhookRoute::ChildById(table, _, _) => format!("{}/{{id}}", child_base(table)),
        }
    }

    /// Whether the route only reads (queries and entity information, whatever the verb).
    pub(crate) fn is_read(&self) -> bool {
        matches!(
            self,
            WebhookRoute::Query { .. } | WebhookRoute::EntityInformation(..)
        )
    }

    /// The verbs the Swagger lists for this URL.
    pub(crate) fn allows(&self, method: &Method) -> bool {
        match *self {
            WebhookRoute::EntityInformation(..) => method == Method::GET,
            WebhookRoute::Query { .. } => method == Method::GET || method == Method::POST,
            WebhookRoute::ById(table, _) => {
                method == Method::GET || (method == Method::DELETE && table.root_writes().1)
            }
            WebhookRoute::Root(table) => {
                table.root_writes().0
                    && (method == Method::POST || method == Method::PATCH || method == Method::PUT)
            }
            WebhookRoute::ChildCollection(table, _) => match table.child() {
                Some((_, ChildKind::ExcludedResources)) => {
                    method == Method::GET || method == Method::POST
                }
                _ => [Method::GET, Method::POST, Method::PATCH, Method::PUT].contains(method),
            },
            WebhookRoute::ChildById(..) => method == Method::GET || method == Method::DELETE,
        }
    }
}

/// One authenticated call to a webhook URL.
pub(crate) struct WebhookCall<'a> {
    pub simulator: &'a Simulator,
    pub tenant: &'a Tenant,
    /// The caller's resource (the default `ownerResourceID`).
    pub resource_id: i64,
    pub method: &'a Method,
    pub query_string: Option<&'a str>,
    pub body: &'a Bytes,
}

/// Answers an authenticated call to a resolved webhook route (the verb is already allowed).
pub(crate) fn handle(call: &WebhookCall<'_>, route: WebhookRoute) -> Response {
    match route {
        WebhookRoute::EntityInformation(table, part) => entity_information(call, table, part),
        WebhookRoute::Query { table, count } => query(call, table, count),
        WebhookRoute::ById(table, id) if call.method == Method::DELETE => {
            delete(call, table, id, None)
        }
        WebhookRoute::ById(table, id) => get_by_id(call, table, id, None),
        WebhookRoute::Root(table) => write(call, table, None),
        WebhookRoute::ChildCollection(table, parent) if call.method == Method::GET => {
            child_list(call, table, parent)
        }
        WebhookRoute::ChildCollection(table, parent) => write(call, table, Some(parent)),
        WebhookRoute::ChildById(table, parent, id) if call.method == Method::DELETE => {
            delete(call, table, id, Some(parent))
        }
        WebhookRoute::ChildById(table, parent, id) => get_by_id(call, table, id, Some(parent)),
    }
}

/// `fieldID` picklist: every property of the entity, numbered from 1 in Swagger order.
pub(super) fn field_picklist(kind: WebhookKind) -> Vec<(i64, &'static str)> {
    definition(kind.entity())
        .fields
        .iter()
        .enumerate()
        .map(|(index, field)| (index as i64 + 1, field.name))
        .collect()
}

/// `udfFieldID` picklist: the tenant's ticket UDFs, numbered from 1.
pub(super) fn udf_picklist(tenant: &Tenant) -> Vec<(i64, String)> {
    let data = read_lock(&tenant.data);
    data.udf_definitions(EntityKind::Tickets)
        .iter()
        .enumerate()
        .map(|(index, udf)| (index as i64 + 1, udf.name.clone()))
        .collect()
}

fn picklist_json(values: impl Iterator<Item = (i64, String)>) -> Value {
    Value::Array(
        values
            .enumerate()
            .map(|(position, (value, label))| {
                json!({
                    "value": value.to_string(), "label": label, "isDefaultValue": false, "sortOrder": position,
                    "parentValue": "", "isActive": true, "isSystem": true,
                })
            })
            .collect(),
    )
}

fn entity_information(call: &WebhookCall<'_>, table: Table, part: InfoPart) -> Response {
    match part {
        InfoPart::Info => {
            let (root_writes, deletes) = table.root_writes();
            let child_writes = table.child().is_some();
            json_response(
                StatusCode::OK,
                &json!({ "info": {
                    "name": table.singular(),
                    "canCreate": root_writes || child_writes,
                    "canDelete": deletes || child_writes,
                    "canQuery": true,
                    "canUpdate": root_writes || matches!(table.child(), Some((_, ChildKind::Fields | ChildKind::UdfFields))),
                    "userAccessForCreate": {}, "userAccessForDelete": {}, "userAccessForQuery": {}, "userAccessForUpdate": {},
                    "hasUserDefinedFields": false,
                    "supportsWebhookCallouts": false,
                }}),
            )
        }
        InfoPart::Fields => {
            let fields: Vec<Value> = table
                .columns()
                .iter()
                .map(|column| {
                    let picklist = match (column.name, table.child()) {
                        ("fieldID", Some((kind, _))) => picklist_json(
                            field_picklist(kind)
                                .into_iter()
                                .map(|(value, label)| (value, label.to_owned())),
                        ),
                        ("udfFieldID", _) => picklist_json(udf_picklist(call.tenant).into_iter()),
                        _ => Value::Null,
                    };
                    json!({
                        "name": column.name,
                        "dataType": column.column_type.data_type_label(),
                        "length": column.length,
                        "isRequired": column.required,
                        "isReadOnly": column.read_only,
                        "isQueryable": true,
                        "isReference": column.reference.is_some(),
                        "referenceEntityType": column.reference.unwrap_or_default(),
                        "isPickList": column.picklist,
                        "picklistValues": picklist,
                        "picklistParentValueField": "",
                        "isSupportedWebhookField": false,
                    })
                })
                .collect();
            json_response(StatusCode::OK, &json!({ "fields": fields }))
        }
        InfoPart::UserDefinedFields => json_response(StatusCode::OK, &json!({ "fields": [] })),
    }
}

/// A row as the API shows it: every column in order, `isReady` computed, dates per the `Z` option.
fn render(
    call: &WebhookCall<'_>,
    state: &TenantWebhooks,
    table: Table,
    row: &Row,
) -> Map<String, Value> {
    let dates_with_z = call.simulator.inner.options.dates_with_z;
    let mut object = Map::new();
    for column in table.columns() {
        let mut value = row.get(column.name).cloned().unwrap_or(Value::Null);
        if column.name == "isReady"
            && let (Some(kind), Some(id)) =
                (table.webhook_kind(), row.get("id").and_then(Value::as_i64))
        {
            value = Value::Bool(state.is_ready(kind, id));
        }
        if column.column_type == ColumnType::DateTime
            && dates_with_z
            && let Some(text) = value.as_str()
        {
            value = Value::String(format!("{text}Z"));
        }
        object.insert(column.name.to_owned(), value);
    }
    object
}

/// The JSON body (null when empty), or the vendor-style message for a body that is not JSON.
fn request_body(call: &WebhookCall<'_>) -> Result<Value, String> {
    if call.body.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(call.body)
        .map_err(|error| format!("The request body is not valid JSON: {error}"))
}

fn query(call: &WebhookCall<'_>, table: Table, count: bool) -> Response {
    let body = if call.method == Method::GET {
        let search = call.query_string.and_then(|query| {
            url::form_urlencoded::parse(query.as_bytes())
                .find(|(key, _)| key.eq_ignore_ascii_case("search"))
                .map(|(_, value)| value.into_owned())
        });
        match search.map(|text| serde_json::from_str::<Value>(&text)) {
            Some(Ok(value)) => value,
            Some(Err(error)) => {
                return error_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &format!("The search parameter is not valid JSON: {error}"),
                );
            }
            None => Value::Null,
        }
    } else {
        match request_body(call) {
            Ok(value) => value,
            Err(message) => return error_response(StatusCode::INTERNAL_SERVER_ERROR, &message),
        }
    };
    let parsed = match parse_query(table, &body) {
        Ok(parsed) => parsed,
        Err(message) => return error_response(StatusCode::INTERNAL_SERVER_ERROR, &message),
    };
    let registry = &call.simulator.inner.webhooks;
    let matching: Vec<Map<String, Value>> = registry.with_tenant(&call.tenant.name, |state| {
        state
            .rows(table)
            .map(|row| render(call, state, table, row))
            .filter(|row| parsed.matches(row))
            .collect()
    });
    if count {
        return json_response(StatusCode::OK, &json!({ "queryCount": matching.len() }));
    }
    // The configuration tables are small: one page, no `nextPageUrl` (documented in WEBHOOKS.md).
    let items: Vec<Value> = matching
        .into_iter()
        .take(parsed.max_records)
        .map(|row| match &parsed.include_fields {
            Some(names) => Value::Object(
                row.into_iter()
                    .filter(|(name, _)| names.contains(&name.as_str()))
                    .collect(),
            ),
            None => Value::Object(row),
        })
        .collect();
    json_response(
        StatusCode::OK,
        &json!({
            "items": items,
            "pageDetails": { "count": items.len(), "requestCount": parsed.max_records, "prevPageUrl": null, "nextPageUrl": null }
        }),
    )
}

fn belongs_to(row: &Row, parent: Option<i64>) -> bool {
    parent.is_none_or(|parent| row.get("webhookID").and_then(Value::as_i64) == Some(parent))
}

fn get_by_id(call: &WebhookCall<'_>, table: Table, id: i64, parent: Option<i64>) -> Response {
    let found = call
        .simulator
        .inner
        .webhooks
        .with_tenant(&call.tenant.name, |state| {
            state
                .row(table, id)
                .filter(|row| belongs_to(row, parent))
                .map(|row| render(call, state, table, row))
        });
    match found {
        Some(item) => json_response(StatusCode::OK, &json!({ "item": item })),
        None => match call.simulator.inner.options.missing_item {
            MissingItemMode::NotFound => {
                json_response(StatusCode::NOT_FOUND, &json!({ "item": null }))
            }
            MissingItemMode::NullItem => json_response(StatusCode::OK, &json!({ "item": null })),
        },
    }
}

fn child_list(call: &WebhookCall<'_>, table: Table, parent: i64) -> Response {
    let items: Vec<Value> = call
        .simulator
        .inner
        .webhooks
        .with_tenant(&call.tenant.name, |state| {
            state
                .children(table, parent)
                .map(|row| Value::Object(render(call, state, table, row)))
                .collect()
        });
    json_response(
        StatusCode::OK,
        &json!({
            "items": items,
            "pageDetails": { "count": items.len(), "requestCount": 500, "prevPageUrl": null, "nextPageUrl": null }
        }),
    )
}

pub(super) fn deactivation_call(
    tenant: &str,
    kind: WebhookKind,
    id: i64,
    row: &Row,
) -> Option<DeactivationCall> {
    let url = row
        .get("deactivationUrl")
        .and_then(Value::as_str)
        .filter(|url| !url.is_empty())?;
    Some(DeactivationCall {
        tenant: tenant.to_owned(),
        kind,
        webhook_id: id,
        guid: row
            .get("webhookGUID")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        url: url.to_owned(),
        secret_key: row
            .get("secretKey")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

fn delete(call: &WebhookCall<'_>, table: Table, id: i64, parent: Option<i64>) -> Response {
    let tenant = &call.tenant.name;
    let outcome = call.simulator.inner.webhooks.with_tenant(tenant, |state| {
        if !state
            .row(table, id)
            .is_some_and(|row| belongs_to(row, parent))
        {
            return None;
        }
        let row = state.remove(table, id)?;
        let Some(kind) = table.webhook_kind() else {
            return Some(None);
        };
        for child in [
            Some(kind.fields_table()),
            kind.udf_fields_table(),
            Some(kind.excluded_table()),
        ]
        .into_iter()
        .flatten()
        {
            let ids: Vec<i64> = state
                .children(child, id)
                .filter_map(|row| row.get("id").and_then(Value::as_i64))
                .collect();
            for child_id in ids {
                state.remove(child, child_id);
            }
        }
        state.consecutive_failed_events.remove(&id);
        Some(deactivation_call(tenant, kind, id, &row))
    });
    match outcome {
        Some(notice) => {
            if let Some(notice) = notice {
                call.simulator.inner.webhooks.send_deactivation(notice);
            }
            json_response(StatusCode::OK, &json!({ "itemId": id }))
        }
        None => error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("{} with id {id} does not exist.", table.singular()),
        ),
    }
}

/// Converts a body value to the stored form of a column, or says why it cannot be.
fn coerce(column: &Column, value: &Value) -> Result<Value, String> {
    let invalid = || {
        format!(
            "Value '{}' is not valid for field {}.",
            display(value),
            column.name
        )
    };
    match (column.column_type, value) {
        (_, Value::Null) => Ok(Value::Null),
        (ColumnType::Long | ColumnType::Integer, Value::Number(number)) => {
            number.as_i64().map(Value::from).ok_or_else(invalid)
        }
        (ColumnType::Long | ColumnType::Integer, Value::String(text)) => text
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| invalid()),
        (ColumnType::Boolean, Value::Bool(flag)) => Ok(Value::Bool(*flag)),
        (ColumnType::Boolean, Value::String(text)) => {
            match text.trim().to_ascii_lowercase().as_str() {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                _ => Err(invalid()),
            }
        }
        (ColumnType::Text, Value::String(text)) => Ok(Value::String(text.clone())),
        (ColumnType::Text, Value::Number(number)) => Ok(Value::String(number.to_string())),
        (ColumnType::DateTime, Value::String(text)) => canonical_date_time(text)
            .map(Value::String)
            .ok_or_else(invalid),
        _ => Err(invalid()),
    }
}

fn display(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// A fresh row: booleans false, everything else null.
fn empty_row(table: Table) -> Row {
    table
        .columns()
        .iter()
        .map(|column| {
            let value = if column.column_type == ColumnType::Boolean {
                Value::Bool(false)
            } else {
                Value::Null
            };
            (column.name.to_owned(), value)
        })
        .collect()
}

fn text_of<'r>(row: &'r Row, name: &str) -> Option<&'r str> {
    row.get(name).and_then(Value::as_str)
}

/// Create (POST), sparse update (PATCH) or full replace (PUT) of a webhook (root) or a child row.
fn write(call: &WebhookCall<'_>, table: Table, parent: Option<i64>) -> Response {
    let body = match request_body(call) {
        Ok(body) => body,
        Err(message) => return error_response(StatusCode::INTERNAL_SERVER_ERROR, &message),
    };
    let Some(body) = body.as_object() else {
        return error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("The request body is not a valid {}.", table.singular()),
        );
    };
    let body_value = |name: &str| {
        body.iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    };
    let creating = call.method == Method::POST;
    let update_id = if creating {
        None
    } else {
        match body_value("id")
            .and_then(|value| coerce(&ID_COLUMN, value).ok())
            .and_then(|value| value.as_i64())
        {
            Some(id) => Some(id),
            None => {
                return error_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "id is required for an update.",
                );
            }
        }
    };
    let resources_exist = |id: i64| {
        read_lock(&call.tenant.data)
            .table(EntityKind::Resources)
            .contains_key(&id)
    };
    let udf_ids: Vec<i64> = udf_picklist(call.tenant)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let tenant = &call.tenant.name;
    let registry = &call.simulator.inner.webhooks;
    let result = registry.with_tenant(
        tenant,
        |state| -> Result<(i64, Option<DeactivationCall>), Vec<String>> {
            if let (Some(parent), Some((kind, _))) = (parent, table.child())
                && state.row(kind.webhooks_table(), parent).is_none()
            {
                return Err(vec![
                    "Value does not reference an existing entity for webhookID.".to_owned(),
                ]);
            }
            let existing = match update_id {
                Some(id) => match state.row(table, id).filter(|row| belongs_to(row, parent)) {
                    Some(row) => Some(row.clone()),
                    None => {
                        return Err(vec![format!(
                            "{} with id {id} does not exist.",
                            table.singular()
                        )]);
                    }
                },
                None => None,
            };
            let mut row = match (&existing, call.method == Method::PATCH) {
                (Some(existing), true) => existing.clone(),
                (Some(existing), false) => {
                    let mut fresh = empty_row(table);
                    for kept in ["id", "webhookGUID", "webhookID"] {
                        if let Some(value) = existing.get(kept) {
                            fresh.insert(kept.to_owned(), value.clone());
                        }
                    }
                    fresh
                }
                (None, _) => empty_row(table),
            };
            let mut errors = Vec::new();
            for (key, value) in body {
                let Some(column) = table.column(key) else {
                    continue;
                };
                if column.read_only || column.name == "webhookID" {
                    continue;
                }
                match coerce(column, value) {
                    Ok(value) => {
                        row.insert(column.name.to_owned(), value);
                    }
                    Err(message) => errors.push(message),
                }
            }
            if let Some(parent) = parent {
                row.insert("webhookID".to_owned(), Value::from(parent));
            }
            if existing.is_none() && table.webhook_kind().is_some() {
                row.insert(
                    "webhookGUID".to_owned(),
                    Value::from(uuid::Uuid::new_v4().to_string()),
                );
                if row.get("ownerResourceID").is_none_or(Value::is_null) {
                    row.insert("ownerResourceID".to_owned(), Value::from(call.resource_id));
                }
            }
            validate(
                table,
                &row,
                state,
                update_id,
                &resources_exist,
                &udf_ids,
                &mut errors,
            );
            if !errors.is_empty() {
                return Err(errors);
            }
            let id = match update_id {
                Some(id) => id,
                None => state.allocate_id(),
            };
            row.insert("id".to_owned(), Value::from(id));
            let mut notice = None;
            if let Some(kind) = table.webhook_kind() {
                let was_active = existing
                    .as_ref()
                    .is_some_and(|old| old.get("isActive") == Some(&Value::Bool(true)));
                let is_active = row.get("isActive") == Some(&Value::Bool(true));
                if was_active && !is_active {
                    notice = deactivation_call(tenant, kind, id, &row);
                }
                if is_active && !was_active {
                    state.consecutive_failed_events.remove(&id);
                }
            }
            state.insert(table, id, row);
            Ok((id, notice))
        },
    );
    match result {
        Ok((id, notice)) => {
            if let Some(notice) = notice {
                registry.send_deactivation(notice);
            }
            json_response(StatusCode::OK, &json!({ "itemId": id }))
        }
        Err(messages) => errors_response(StatusCode::INTERNAL_SERVER_ERROR, &messages),
    }
}

fn validate(
    table: Table,
    row: &Row,
    state: &TenantWebhooks,
    update_id: Option<i64>,
    resource_exists: &dyn Fn(i64) -> bool,
    udf_ids: &[i64],
    errors: &mut Vec<String>,
) {
    for column in table.columns() {
        let value = row.get(column.name).unwrap_or(&Value::Null);
        let blank = value.is_null() || value.as_str().is_some_and(|text| text.trim().is_empty());
        if column.required && blank && column.name != "webhookID" {
            errors.push(format!("{} is required", column.name));
            continue;
        }
        if let Some(text) = value.as_str()
            && column.length > 0
            && text.chars().count() > column.length as usize
        {
            errors.push(format!(
                "String value exceeds maximum length (field:{})",
                column.name
            ));
        }
        if let (Some(_), Some(id)) = (column.reference, value.as_i64())
            && !resource_exists(id)
        {
            errors.push(format!(
                "Value does not reference an existing entity for {}.",
                column.name
            ));
        }
    }
    for url_column in ["webhookUrl", "deactivationUrl"] {
        if let Some(text) = text_of(row, url_column).filter(|text| !text.trim().is_empty()) {
            let valid = url::Url::parse(text.trim())
                .is_ok_and(|url| matches!(url.scheme(), "http" | "https"));
            if !valid {
                errors.push(format!(
                    "{url_column} must be an absolute http or https URL."
                ));
            }
        }
    }
    let Some((kind, child)) = table.child() else {
        return;
    };
    let webhook_id = row.get("webhookID").and_then(Value::as_i64);
    let duplicate = |column: &str| {
        let value = row.get(column).filter(|value| !value.is_null());
        value.is_some()
            && webhook_id.is_some_and(|webhook_id| {
                state.children(table, webhook_id).any(|other| {
                    other.get("id").and_then(Value::as_i64) != update_id
                        && other.get(column) == value
                })
            })
    };
    match child {
        ChildKind::Fields => {
            if let Some(field_id) = row.get("fieldID").and_then(Value::as_i64) {
                if !field_picklist(kind).iter().any(|(id, _)| *id == field_id) {
                    errors.push(format!(
                        "Picklist value [{field_id}] does not exist for fieldID."
                    ));
                } else if duplicate("fieldID") {
                    errors.push(format!(
                        "Field [{field_id}] is already part of this webhook."
                    ));
                }
            }
        }
        ChildKind::UdfFields => {
            if let Some(udf_id) = row.get("udfFieldID").and_then(Value::as_i64) {
                if !udf_ids.contains(&udf_id) {
                    errors.push(format!(
                        "Picklist value [{udf_id}] does not exist for udfFieldID."
                    ));
                } else if duplicate("udfFieldID") {
                    errors.push(format!(
                        "User defined field [{udf_id}] is already part of this webhook."
                    ));
                }
            }
        }
        ChildKind::ExcludedResources => {
            if duplicate("resourceID") {
                errors.push("The resource is already excluded from this webhook.".to_owned());
            }
        }
    }
}
