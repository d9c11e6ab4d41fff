//! `GET …/entityInformation[/fields|/userDefinedFields]`: what an entity can do and its fields, as
//! the tenant's schema and picklists say.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::read_lock;
use crate::schema::{EntityKind, Verbs, definition};
use crate::wire::json_response;

use super::{ApiRequest, Caller, InfoPart};

impl ApiRequest<'_> {
    pub(super) fn entity_information(
        &self,
        caller: &Caller,
        kind: EntityKind,
        part: InfoPart,
    ) -> Response {
        let entity = definition(kind);
        let data = read_lock(&caller.tenant.data);
        match part {
            InfoPart::Info => {
                let link = entity.parent.as_ref().map(|link| link.verbs);
                let root = entity.root;
                let can = |pick: fn(Verbs) -> bool| pick(root) || link.is_some_and(pick);
                json_response(
                    StatusCode::OK,
                    &json!({ "info": {
                        "name": entity.singular,
                        "canCreate": can(|verbs| verbs.create),
                        "canDelete": can(|verbs| verbs.delete),
                        "canQuery": can(|verbs| verbs.query),
                        "canUpdate": can(|verbs| verbs.update),
                        "userAccessForCreate": {},
                        "userAccessForDelete": {},
                        "userAccessForQuery": {},
                        "userAccessForUpdate": {},
                        "hasUserDefinedFields": entity.has_udfs,
                        "supportsWebhookCallouts": matches!(kind, EntityKind::Tickets | EntityKind::TicketNotes | EntityKind::Companies | EntityKind::Contacts),
                    }}),
                )
            }
            InfoPart::Fields => {
                let fields: Vec<Value> = entity
                    .fields
                    .iter()
                    .map(|field| {
                        let picklist_values = if field.picklist {
                            let values = data.picklist(kind, field.name).cloned().unwrap_or_default();
                            Value::Array(
                                values
                                    .iter()
                                    .map(|value| {
                                        json!({
                                            "value": value.value.to_string(),
                                            "label": value.label,
                                            "isDefaultValue": value.is_default,
                                            "sortOrder": value.sort_order,
                                            "parentValue": value.parent_value.map(|parent| parent.to_string()).unwrap_or_default(),
                                            "isActive": value.is_active,
                                            "isSystem": value.is_system,
                                        })
                                    })
                                    .collect(),
                            )
                        } else {
                            Value::Null
                        };
                        json!({
                            "name": field.name,
                            "dataType": field.wire.data_type_label(),
                            "length": field.length,
                            "isRequired": field.required || data.extra_required.contains(&(kind, field.name)),
                            "isReadOnly": field.read_only,
                            "isQueryable": field.queryable,
                            "isReference": field.reference.is_some(),
                            "referenceEntityType": field.reference.map(|target| definition(target).singular).unwrap_or_default(),
                            "isPickList": field.picklist,
                            "picklistValues": picklist_values,
                            "picklistParentValueField": field.picklist_parent.unwrap_or_default(),
                            "isSupportedWebhookField": matches!(kind, EntityKind::Tickets | EntityKind::TicketNotes) && !field.read_only,
                        })
                    })
                    .collect();
                json_response(StatusCode::OK, &json!({ "fields": fields }))
            }
            InfoPart::UserDefinedFields => {
                let fields: Vec<Value> = data
                    .udf_definitions(kind)
                    .iter()
                    .map(|udf| {
                        json!({
                            "name": udf.name,
                            "label": udf.label,
                            "type": udf.data_type,
                            "length": udf.length,
                            "description": "",
                            "isRequired": udf.is_required,
                            "isReadOnly": false,
                            "isQueryable": true,
                            "isReference": false,
                            "referenceEntityType": "",
                            "isPickList": false,
                            "picklistValues": Value::Null,
                            "picklistParentValueField": "",
                            "defaultValue": "",
                            "isSupportedWebhookField": kind == EntityKind::Tickets,
                        })
                    })
                    .collect();
                json_response(StatusCode::OK, &json!({ "fields": fields }))
            }
        }
    }
}
