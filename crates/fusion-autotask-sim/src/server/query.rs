//! Queries: `POST …/query` and `GET …/query?search=`, `…/query/count`, with the filter grammar,
//! `includeFields`, `maxRecords` and the next/previous page URLs.

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::query::{PageToken, parse_query};
use crate::read_lock;
use crate::schema::{EntityDefinition, EntityKind, definition};
use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::store::{Record, RecordView, RenderOptions, TenantData};
use crate::wire::{error_response, json_response, json_text_response, method_not_allowed};

use super::{ApiRequest, Caller, PageDetails, QueryPage, QueryStyle};

/// The rows of `kind` the caller may see: without "Can view non-billable time entries",
/// non-billable time entries are left out — silently, as Autotask does (API-NOTES §12.2).
pub(super) fn visible_rows<'a>(
    data: &'a TenantData,
    kind: EntityKind,
    caller: &Caller,
) -> Cow<'a, BTreeMap<i64, Record>> {
    let table = data.table(kind);
    if kind != EntityKind::TimeEntries || caller.user.can_view_non_billable_time {
        return Cow::Borrowed(table);
    }
    let entity = definition(kind);
    Cow::Owned(
        table
            .iter()
            .filter(|(_, record)| record.get(entity, "isNonBillable").as_bool() != Some(true))
            .map(|(id, record)| (*id, record.clone()))
            .collect(),
    )
}

impl ApiRequest<'_> {
    pub(super) fn query(&self, caller: &Caller, kind: EntityKind, style: QueryStyle) -> Response {
        let entity = definition(kind);
        let mut token = None;
        if style == QueryStyle::Next {
            let decoded = self
                .query_param("paging")
                .as_deref()
                .and_then(PageToken::decode);
            let Some(decoded) = decoded else {
                return error_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The paging parameter is missing or invalid.",
                );
            };
            if self.method == Method::GET && !decoded.method.eq_ignore_ascii_case("GET") {
                return method_not_allowed("GET");
            }
            token = Some(decoded);
        }
        let query_body = if self.method == Method::GET {
            match self.query_param("search") {
                Some(search) => match serde_json::from_str::<Value>(&search) {
                    Ok(value) => value,
                    Err(error) => {
                        return error_response(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            &format!("The search parameter is not valid JSON: {error}"),
                        );
                    }
                },
                None => Value::Null,
            }
        } else {
            match self.body_json() {
                Ok(value) => value,
                Err(response) => return response,
            }
        };
        let data = read_lock(&caller.tenant.data);
        let query = match parse_query(
            entity,
            data.udf_definitions(kind),
            &query_body,
            style != QueryStyle::Count,
        ) {
            Ok(query) => query,
            Err(message) => return error_response(StatusCode::INTERNAL_SERVER_ERROR, &message),
        };
        let table = visible_rows(&data, kind, caller);
        if style == QueryStyle::Count {
            return json_response(
                StatusCode::OK,
                &json!({ "queryCount": query.count(&table) }),
            );
        }
        let (page_size, after, previous) = match &token {
            Some(token) => (
                token.page_size.clamp(1, 500),
                token.after,
                token.previous_ids.clone(),
            ),
            None => (query.max_records, None, Vec::new()),
        };
        let mut query = query;
        query.max_records = page_size;
        let (rows, more) = query.page(&table, after);
        let (hide_costs, include_data, dates_with_z) = self.render_options(caller, false);
        let render = RenderOptions {
            projection: query.projection.as_ref(),
            hide_costs,
            include_data,
            dates_with_z,
        };
        let items: Vec<RecordView<'_>> = rows
            .iter()
            .map(|record| RecordView {
                entity,
                record,
                options: render,
            })
            .collect();
        let method = if self.method == Method::GET {
            "GET"
        } else {
            "POST"
        };
        let method = token.as_ref().map_or(method, |token| {
            if token.method.eq_ignore_ascii_case("GET") {
                "GET"
            } else {
                "POST"
            }
        });
        let next_url = if more {
            let mut history = previous.clone();
            history.push(after);
            let next = PageToken {
                method: method.to_owned(),
                page_size,
                after: rows.last().map(|record| record.id()),
                previous_ids: history,
            };
            Some(self.paging_url(entity, &next, method, &query_body))
        } else {
            None
        };
        let prev_url = previous.last().map(|previous_after| {
            let prev = PageToken {
                method: method.to_owned(),
                page_size,
                after: *previous_after,
                previous_ids: previous[..previous.len() - 1].to_vec(),
            };
            self.paging_url(entity, &prev, method, &query_body)
        });
        let page = QueryPage {
            page_details: PageDetails {
                count: items.len(),
                request_count: page_size,
                prev_page_url: prev_url,
                next_page_url: next_url,
            },
            items,
        };
        match serde_json::to_string(&page) {
            Ok(text) => json_text_response(StatusCode::OK, text),
            Err(error) => error_response(StatusCode::INTERNAL_SERVER_ERROR, &error.to_string()),
        }
    }

    fn paging_url(
        &self,
        entity: &EntityDefinition,
        token: &PageToken,
        method: &str,
        body: &Value,
    ) -> String {
        let mut url = format!(
            "{}/{}/ATServicesRest/V1.0/{}/query/next?paging={}",
            self.base_url,
            self.host,
            entity.path_name,
            token.encode()
        );
        if method == "GET" {
            let search: String =
                url::form_urlencoded::byte_serialize(body.to_string().as_bytes()).collect();
            url.push_str("&search=");
            url.push_str(&search);
        }
        url
    }
}
