//! The configuration pages under `/orgs/{org_id}/connections/{id}/`, one module per tab of the
//! connection header: Integration configuration (`configuration`, its form in
//! `configuration_form`), Field mappings (`mappings`), Description composition (`description`)
//! and Export / import (`export_import`); each declares its own routes. This module holds what
//! they share: the URL paths, the extractors `ConnectionPage` and `ConnectionWrite` (a signed-in
//! member on a connection the organisation is part of, else the 404 page; for writes with the
//! session's CSRF token), the failure page and the warnings list; `header` is the connection
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
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::Form;
use fusion_domain::Organisation;
use fusion_engine::configuration::Warning;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::configuration::error::ConfigurationError;
use crate::configuration::{Scope, scope};
use crate::page_chrome::{
    OrgPageCaller, OrgPageWrite, PageForm, internal_error_page, not_found_page,
};
use crate::session::Caller;

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
fn failure_page(error: impl Into<ConfigurationError>) -> Response {
    match error.into() {
        ConfigurationError::Api(crate::error::ApiError::NotFound) => not_found_page(),
        ConfigurationError::Api(error) => internal_error_page(error),
        other => internal_error_page(crate::error::ApiError::Internal(other.to_string())),
    }
}

/// The connection's page URLs start here.
fn base_url(org: &Organisation, scope: &Scope) -> String {
    format!("/orgs/{}/connections/{}", org.id, scope.relationship.id)
}

/// The path of a connection's page, which names the relationship.
trait ConnectionPath: DeserializeOwned + Send + 'static {
    fn relationship_id(&self) -> &str;
}

impl ConnectionPath for RelationshipPath {
    fn relationship_id(&self) -> &str {
        &self.id
    }
}

impl ConnectionPath for MappingPath {
    fn relationship_id(&self) -> &str {
        &self.id
    }
}

/// A signed-in member of the organisation on a page of a connection it is part of: `path` is the
/// page's path, `query` whatever else the page reads from the URL (`()` for nothing).
///
/// Checks run in the order the handlers always ran them: `OrgPageCaller` (redirect to sign-in,
/// or the 404 page for another organisation), the path, the query, then the relationship (the 404
/// page when the organisation is not part of it, exactly like one that does not exist).
struct ConnectionPage<P = RelationshipPath, Q = ()> {
    caller: Caller,
    org: Organisation,
    scope: Scope,
    path: P,
    query: Q,
}

impl<P, Q> FromRequestParts<AppState> for ConnectionPage<P, Q>
where
    P: ConnectionPath,
    Q: FromRequestParts<AppState> + Send,
{
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let OrgPageCaller { caller, org } = OrgPageCaller::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Path(path) = Path::<P>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let query = Q::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let scope = scope(
            state,
            org.id,
            Some(caller.person.id),
            path.relationship_id(),
        )
        .await
        .map_err(failure_page)?;
        Ok(ConnectionPage {
            caller,
            org,
            scope,
            path,
            query,
        })
    }
}

/// A form post on a page of a connection the organisation is part of: `OrgPageWrite` (sign-in,
/// organisation, path, form body, CSRF token), then the relationship (the 404 page). The form is
/// read with `axum_extra`'s `Form`, which keeps every value of a repeated field (multiple
/// selects, the value-mapping table).
struct ConnectionWrite<F, P = RelationshipPath> {
    caller: Caller,
    org: Organisation,
    scope: Scope,
    path: P,
    form: F,
}

impl<F, P> FromRequest<AppState> for ConnectionWrite<F, P>
where
    F: DeserializeOwned + PageForm + Send,
    P: ConnectionPath,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let OrgPageWrite {
            caller,
            org,
            path: Path(path),
            form: Form(form),
        } = OrgPageWrite::<Form<F>, Path<P>>::from_request(request, state).await?;
        let scope = scope(
            state,
            org.id,
            Some(caller.person.id),
            path.relationship_id(),
        )
        .await
        .map_err(failure_page)?;
        Ok(ConnectionWrite {
            caller,
            org,
            scope,
            path,
            form,
        })
    }
}

pub(crate) struct WarningView {
    pub setting: String,
    pub message: String,
    /// The id of the form field to fix, when the page has it.
    pub anchor: Option<String>,
}

fn warning_views(warnings: Vec<Warning>) -> Vec<WarningView> {
    warnings
        .into_iter()
        .map(|warning| WarningView {
            setting: warning.setting,
            message: warning.message,
            anchor: None,
        })
        .collect()
}
