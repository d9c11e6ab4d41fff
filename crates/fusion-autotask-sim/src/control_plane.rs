//! The HTTP control plane under `/_sim/` (JSON): fault injection, the request log, tenant and API-user
//! administration, and UI-like edits. Each route calls the same `Simulator` method a Rust test would.
//!
//! | route | body | answer |
//! | --- | --- | --- |
//! | `GET /_sim/tenants` | | `[TenantInfo]` |
//! | `POST /_sim/tenants` | a tenant seed (SEED-FORMAT.md) | `TenantInfo` |
//! | `POST /_sim/tenants/{tenant}/zone` | `{"zone":N}` (migrate the tenant) | `{"ok":true}` |
//! | `POST /_sim/integration-codes` | `{"code"}` | `{"ok":true}` |
//! | `GET/POST/DELETE /_sim/faults` | `FaultRule` on POST | rules / `{"ok":true}` |
//! | `GET/DELETE /_sim/requests` | | `{"requests":[…],"counts":{route:n}}` |
//! | `POST /_sim/tenants/{tenant}/api-users` | `{"username","security_level"?}` | `ApiUserInfo` |
//! | `POST /_sim/tenants/{tenant}/api-users/{user}/regenerate-secret` | | `{"secret"}` |
//! | `POST /_sim/tenants/{tenant}/api-users/{user}/active` | `{"active":bool}` | `{"ok":true}` |
//! | `POST /_sim/tenants/{tenant}/api-users/{user}/permissions` | `{"entity","allowed","verb"?}` (verb: create, update, delete or query; without it the whole entity) | `{"ok":true}` |
//! | `POST /_sim/tenants/{tenant}/api-users/{user}/webhook-permission` | `{"allowed"}` ("Can create WebHooks") | `{"ok":true}` |
//! | `POST /_sim/tenants/{tenant}/api-users/{user}/non-billable-time-permission` | `{"allowed"}` ("Can view non-billable time entries") | `{"ok":true}` |
//! | `POST /_sim/tenants/{tenant}/api-users/{user}/security-level` | `{"security_level"}` | `{"ok":true}` |
//! | `POST /_sim/tenants/{tenant}/tickets` | `{"as_resource"` or `"as_contact","fields"}` | `{"id"}` |
//! | `PATCH /_sim/tenants/{tenant}/tickets/{id}` | `{"as_resource","fields"}` | `{"ok":true}` |
//! | `POST /_sim/tenants/{tenant}/tickets/{id}/close` | `{"as_resource"}` | `{"ok":true}` |
//! | `DELETE /_sim/tenants/{tenant}/tickets/{id}` | `{"as_resource"}` (logged in DeletedTicketLogs) | `{"ok":true}` |
//! | `POST /_sim/tenants/{tenant}/tickets/{id}/notes` | `{"as_resource"` or `"as_contact","fields"}` | `{"id"}` |
//! | `POST /_sim/tenants/{tenant}/tickets/{id}/time-entries` | `{"as_resource","fields"}` | `{"id"}` |
//! | `POST /_sim/tenants/{tenant}/tickets/{id}/attachments` | `{"as_resource","file_name","data"(base64),"publish"}` | `{"id"}` |
//! | `GET /_sim/tenants/{tenant}/records/{Entity}/{id}` | | the record |
//!
//! `{tenant}` is the tenant name (URL-encoded) or its slug (`northwind-it`); `{user}` the API username.
//!
//! A fault rule in JSON: `{"kind":"latency","millis":800,"endpoint":"Tickets"}`,
//! `{"kind":"server_error","tenant":"Northwind IT","method":"POST","count":2}`,
//! `{"kind":"html_body","status":503,"probability":0.1,"seed":7}`; kinds are `latency`, `server_error`,
//! `too_many_requests`, `thread_threshold`, `connection_reset`, `timeout_after_write`, `malformed_body`,
//! `html_body`.

use axum::body::Bytes;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use serde_json::{Value, json};

use crate::Simulator;
use crate::faults::FaultRule;
use crate::schema::EntityKind;
use crate::seed::{SECURITY_LEVEL_FULL, TenantSeed};
use crate::ui_edits::UiEditError;
use crate::wire::{error_response, json_response};

fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%'
            && index + 2 < bytes.len()
            && let Ok(byte) = std::str::from_utf8(&bytes[index + 1..index + 3])
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .ok_or(())
        {
            out.push(byte);
            index += 3;
            continue;
        }
        out.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn ok() -> Response {
    json_response(StatusCode::OK, &json!({ "ok": true }))
}

fn bad_request(message: &str) -> Response {
    error_response(StatusCode::BAD_REQUEST, message)
}

fn edit_error(error: &UiEditError) -> Response {
    let status = match error {
        UiEditError::UnknownTenant(_)
        | UiEditError::NotFound { .. }
        | UiEditError::UnknownResource(_)
        | UiEditError::UnknownContact(_) => StatusCode::NOT_FOUND,
        UiEditError::Rejected(_) => StatusCode::UNPROCESSABLE_ENTITY,
    };
    error_response(status, &error.to_string())
}

fn text_field<'a>(body: &'a Value, name: &str) -> Option<&'a str> {
    body.get(name).and_then(Value::as_str)
}

pub(crate) fn handle(
    simulator: &Simulator,
    method: &Method,
    segments: &[String],
    _query: Option<&str>,
    body: &Bytes,
) -> Response {
    let body: Value = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(body) {
            Ok(value) => value,
            Err(error) => return bad_request(&format!("body is not JSON: {error}")),
        }
    };
    let decoded: Vec<String> = segments
        .iter()
        .map(|segment| percent_decode(segment))
        .collect();
    let parts: Vec<&str> = decoded.iter().map(String::as_str).collect();
    let as_resource = text_field(&body, "as_resource")
        .unwrap_or_default()
        .to_owned();
    let as_contact = text_field(&body, "as_contact").map(str::to_owned);
    let fields = body.get("fields").cloned().unwrap_or_else(|| json!({}));
    match (method.as_str(), parts.as_slice()) {
        ("GET", ["tenants"]) => json_response(StatusCode::OK, &json!(simulator.tenants())),
        ("POST", ["tenants"]) => match serde_json::from_value::<TenantSeed>(body) {
            Ok(seed) => match simulator.add_tenant(seed) {
                Ok(info) => json_response(StatusCode::OK, &json!(info)),
                Err(error) => error_response(StatusCode::UNPROCESSABLE_ENTITY, &error.to_string()),
            },
            Err(error) => bad_request(&format!("not a tenant seed: {error}")),
        },
        ("POST", ["tenants", tenant, "zone"]) => {
            let Some(zone) = body
                .get("zone")
                .and_then(Value::as_u64)
                .and_then(|zone| u32::try_from(zone).ok())
            else {
                return bad_request("zone (a number) is required");
            };
            if simulator.move_tenant_to_zone(tenant, zone) {
                ok()
            } else {
                error_response(StatusCode::NOT_FOUND, "no such tenant")
            }
        }
        ("POST", ["integration-codes"]) => {
            let Some(code) = text_field(&body, "code") else {
                return bad_request("code is required");
            };
            simulator.add_integration_code(code);
            ok()
        }
        ("GET", ["faults"]) => json_response(StatusCode::OK, &json!(simulator.faults())),
        ("POST", ["faults"]) => match serde_json::from_value::<FaultRule>(body) {
            Ok(rule) => {
                simulator.inject_fault(rule);
                ok()
            }
            Err(error) => bad_request(&format!("not a fault rule: {error}")),
        },
        ("DELETE", ["faults"]) => {
            simulator.clear_faults();
            ok()
        }
        ("GET", ["requests"]) => json_response(
            StatusCode::OK,
            &json!({ "requests": simulator.request_log(), "counts": simulator.request_counts() }),
        ),
        ("DELETE", ["requests"]) => {
            simulator.clear_request_log();
            ok()
        }
        ("POST", ["tenants", tenant, "api-users"]) => {
            let Some(username) = text_field(&body, "username") else {
                return bad_request("username is required");
            };
            let level = text_field(&body, "security_level").unwrap_or(SECURITY_LEVEL_FULL);
            match simulator.create_api_user(tenant, username, level) {
                Ok(info) => json_response(StatusCode::OK, &json!(info)),
                Err(error) => edit_error(&error),
            }
        }
        ("POST", ["tenants", tenant, "api-users", user, "regenerate-secret"]) => {
            match simulator.regenerate_secret(tenant, user) {
                Some(secret) => json_response(StatusCode::OK, &json!({ "secret": secret })),
                None => error_response(StatusCode::NOT_FOUND, "no such tenant or API user"),
            }
        }
        ("POST", ["tenants", tenant, "api-users", user, "active"]) => {
            let Some(active) = body.get("active").and_then(Value::as_bool) else {
                return bad_request("active (true/false) is required");
            };
            if simulator.set_api_user_active(tenant, user, active) {
                ok()
            } else {
                error_response(StatusCode::NOT_FOUND, "no such tenant or API user")
            }
        }
        ("POST", ["tenants", tenant, "api-users", user, "permissions"]) => {
            let (Some(entity), Some(allowed)) = (
                text_field(&body, "entity"),
                body.get("allowed").and_then(Value::as_bool),
            ) else {
                return bad_request("entity and allowed are required");
            };
            let done = match text_field(&body, "verb") {
                // One verb (create, update, delete, query) of the entity, as unticking "Add" does.
                Some(verb) => {
                    simulator.set_entity_verb_permission(tenant, user, entity, verb, allowed)
                }
                None => simulator.set_entity_permission(tenant, user, entity, allowed),
            };
            if done {
                ok()
            } else {
                error_response(
                    StatusCode::NOT_FOUND,
                    "no such tenant, API user, entity or verb (create, update, delete, query)",
                )
            }
        }
        ("POST", ["tenants", tenant, "api-users", user, "webhook-permission"]) => {
            let Some(allowed) = body.get("allowed").and_then(Value::as_bool) else {
                return bad_request("allowed is required");
            };
            if simulator.set_webhook_permission(tenant, user, allowed) {
                ok()
            } else {
                error_response(StatusCode::NOT_FOUND, "no such tenant or API user")
            }
        }
        (
            "POST",
            [
                "tenants",
                tenant,
                "api-users",
                user,
                "non-billable-time-permission",
            ],
        ) => {
            let Some(allowed) = body.get("allowed").and_then(Value::as_bool) else {
                return bad_request("allowed is required");
            };
            if simulator.set_non_billable_time_permission(tenant, user, allowed) {
                ok()
            } else {
                error_response(StatusCode::NOT_FOUND, "no such tenant or API user")
            }
        }
        ("POST", ["tenants", tenant, "api-users", user, "security-level"]) => {
            let Some(level) = text_field(&body, "security_level") else {
                return bad_request("security_level is required");
            };
            if simulator.set_security_level(tenant, user, level) {
                ok()
            } else {
                error_response(StatusCode::NOT_FOUND, "no such tenant or API user")
            }
        }
        ("POST", ["tenants", tenant, "tickets"]) => {
            let created = match &as_contact {
                Some(contact) => simulator.ui_create_ticket_as_contact(tenant, contact, fields),
                None => simulator.ui_create_ticket(tenant, &as_resource, fields),
            };
            match created {
                Ok(id) => json_response(StatusCode::OK, &json!({ "id": id })),
                Err(error) => edit_error(&error),
            }
        }
        ("PATCH", ["tenants", tenant, "tickets", id]) => {
            let Ok(id) = id.parse::<i64>() else {
                return bad_request("ticket id must be a number");
            };
            match simulator.ui_update_ticket(tenant, &as_resource, id, fields) {
                Ok(()) => ok(),
                Err(error) => edit_error(&error),
            }
        }
        ("DELETE", ["tenants", tenant, "tickets", id]) => {
            let Ok(id) = id.parse::<i64>() else {
                return bad_request("ticket id must be a number");
            };
            match simulator.ui_delete_ticket(tenant, &as_resource, id) {
                Ok(()) => ok(),
                Err(error) => edit_error(&error),
            }
        }
        ("POST", ["tenants", tenant, "tickets", id, "close"]) => {
            let Ok(id) = id.parse::<i64>() else {
                return bad_request("ticket id must be a number");
            };
            match simulator.ui_close_ticket(tenant, &as_resource, id) {
                Ok(()) => ok(),
                Err(error) => edit_error(&error),
            }
        }
        ("POST", ["tenants", tenant, "tickets", id, "notes"]) => {
            let Ok(id) = id.parse::<i64>() else {
                return bad_request("ticket id must be a number");
            };
            let added = match &as_contact {
                Some(contact) => simulator.ui_add_note_as_contact(tenant, contact, id, fields),
                None => simulator.ui_add_note(tenant, &as_resource, id, fields),
            };
            match added {
                Ok(note) => json_response(StatusCode::OK, &json!({ "id": note })),
                Err(error) => edit_error(&error),
            }
        }
        ("POST", ["tenants", tenant, "tickets", id, "time-entries"]) => {
            let Ok(id) = id.parse::<i64>() else {
                return bad_request("ticket id must be a number");
            };
            match simulator.ui_add_time_entry(tenant, &as_resource, id, fields) {
                Ok(entry) => json_response(StatusCode::OK, &json!({ "id": entry })),
                Err(error) => edit_error(&error),
            }
        }
        ("POST", ["tenants", tenant, "tickets", id, "attachments"]) => {
            let Ok(id) = id.parse::<i64>() else {
                return bad_request("ticket id must be a number");
            };
            let Some(file_name) = text_field(&body, "file_name") else {
                return bad_request("file_name is required");
            };
            let Some(bytes) = text_field(&body, "data")
                .and_then(|data| base64::engine::general_purpose::STANDARD.decode(data).ok())
            else {
                return bad_request("data (base64) is required");
            };
            let publish = body.get("publish").and_then(Value::as_i64).unwrap_or(1);
            match simulator.ui_add_attachment(tenant, &as_resource, id, file_name, &bytes, publish)
            {
                Ok(attachment) => json_response(StatusCode::OK, &json!({ "id": attachment })),
                Err(error) => edit_error(&error),
            }
        }
        ("GET", ["tenants", tenant, "records", entity, id]) => {
            let (Some(kind), Ok(id)) = (EntityKind::parse(entity), id.parse::<i64>()) else {
                return bad_request("unknown entity or id");
            };
            match simulator.record(tenant, kind, id) {
                Some(record) => json_response(StatusCode::OK, &record),
                None => error_response(StatusCode::NOT_FOUND, "no such record"),
            }
        }
        _ => error_response(StatusCode::NOT_FOUND, "unknown control-plane route"),
    }
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn tenant_names_are_percent_decoded_without_panicking_on_odd_input() {
        assert_eq!(percent_decode("Northwind%20IT"), "Northwind IT");
        assert_eq!(percent_decode("%C3%A9t%C3%A9"), "été");
        assert_eq!(percent_decode("%é%"), "%é%");
        assert_eq!(percent_decode("100%"), "100%");
    }
}
