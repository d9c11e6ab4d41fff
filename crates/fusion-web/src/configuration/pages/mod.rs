//! The configuration pages under `/orgs/{org_id}/connections/{id}/`, one module per tab of the
//! connection header: Integration configuration (`configuration`, its form in
//! `configuration_form`), Field mappings (`mappings`), Description composition (`description`)
//! and Export / import (`export_import`); each declares its own routes. This module holds what
//! they share: the URL paths, resolving the connection (a relationship the organisation is part
//! of, else the 404 page), the failure page and the warnings list; `header` is the connection
//! header and `options` the `<option>` lists. Everything is a plain form POST with the session's
//! CSRF token; no JavaScript (sub-issue types are grouped under their issue type in
//! `<optgroup>`s).

mod configuration;
mod configuration_form;
mod description;
mod export_import;
mod header;
mod mappings;
mod options;

use axum::Router;
use axum::response::Response;
use fusion_domain::Organisation;
use serde::Deserialize;

use crate::AppState;
use crate::configuration::error::ConfigurationError;
use crate::configuration::operations::Warning;
use crate::configuration::{Scope, scope};
use crate::page_chrome::{internal_error_page, not_found_page};

/// Where every configuration page of a connection lives.
const CONNECTION_PAGES: &str = "/orgs/{org_id}/connections/{id}";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .merge(configuration::routes())
        .merge(mappings::routes())
        .merge(description::routes())
        .merge(export_import::routes())
}

#[derive(Deserialize)]
struct RelationshipPath {
    #[allow(dead_code)]
    org_id: String,
    id: String,
}

#[derive(Deserialize)]
struct MappingPath {
    #[allow(dead_code)]
    org_id: String,
    id: String,
    mapping_id: String,
}

/// A page failure: 404 stays a 404 page, the rest is logged as a 500 page.
fn failure_page(error: ConfigurationError) -> Response {
    match error {
        ConfigurationError::Api(crate::error::ApiError::NotFound) => not_found_page(),
        ConfigurationError::Api(error) => internal_error_page(error),
        other => internal_error_page(crate::error::ApiError::Internal(other.to_string())),
    }
}

/// The connection's page URLs start here.
fn base_url(org: &Organisation, scope: &Scope) -> String {
    format!("/orgs/{}/connections/{}", org.id, scope.relationship.id)
}

/// Resolves the page's relationship, or the response to send instead.
async fn page_scope(state: &AppState, org: &Organisation, id: &str) -> Result<Scope, Response> {
    scope(state, org.id, id).await.map_err(failure_page)
}

pub(crate) struct WarningView {
    pub setting: String,
    pub message: String,
}

fn warning_views(warnings: Vec<Warning>) -> Vec<WarningView> {
    warnings
        .into_iter()
        .map(|warning| WarningView {
            setting: warning.setting,
            message: warning.message,
        })
        .collect()
}
