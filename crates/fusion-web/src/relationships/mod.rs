//! Organisation connections (relationships): the JSON API under
//! `/api/v1/orgs/{org_id}/relationships` and the "Organisation connections" page under
//! `/orgs/{org_id}/connections`. Both translate HTTP to the core's connection use cases
//! (`fusion_engine::Connections`, held by `AppState`) and their answers and errors back.
//!
//! | route | what |
//! | --- | --- |
//! | `GET /api/v1/orgs/{org_id}/relationships` | the organisation's connections, newest first |
//! | `POST /api/v1/orgs/{org_id}/relationships` | create one (`{role, contract_name}`); 201 with the code, shown once |
//! | `POST /api/v1/orgs/{org_id}/relationships/accept` | accept a partner's code (`{code}`) |
//! | `GET /api/v1/orgs/{org_id}/relationships/{id}` | one connection |
//! | `POST /api/v1/orgs/{org_id}/relationships/{id}/{revoke,reissue,pause,resume,end}` | lifecycle |
//! | `GET/POST /orgs/{org_id}/connections` | the page; POST creates a connection |
//! | `POST /orgs/{org_id}/connections/accept` | accept a partner's code |
//! | `POST /orgs/{org_id}/connections/{id}/{revoke,reissue,pause,resume,end}` | lifecycle buttons |
//!
//! Invariants:
//! - A connection the organisation is not part of answers 404, exactly like one that does not
//!   exist; a Pending connection is visible only to the organisation that created it.
//! - A verification code appears in exactly one response: the one that created (or re-issued) it.
//! - Wrong codes are throttled per organisation by the core (`WebSettings::code_max_failures`,
//!   then locked for `WebSettings::code_lock`), in memory, timed by the app's clock.
//! - Codes: 422 `code_malformed`, `code_unknown`, `code_expired`, `code_used`, `code_revoked`,
//!   `own_code`, `duplicate_relationship`; 429 `code_throttled`; an illegal lifecycle change is 409
//!   `invalid_state_change` with the domain's message.

mod api;
mod error;
mod pages;

use axum::Router;
use fusion_domain::{OrgId, RelationshipId};

use crate::AppState;
use crate::error::ApiError;

pub(crate) use error::ConnectionError;
pub(crate) use fusion_engine::ConnectionSeen;

/// Every connection `org` is part of, newest first.
pub(crate) async fn connections_of(
    state: &AppState,
    org: OrgId,
) -> Result<Vec<ConnectionSeen>, ConnectionError> {
    Ok(state.connections().list(org).await?)
}

/// Connection `id` as `org` sees it; 404 unless `org` is part of it.
pub(crate) async fn connection(
    state: &AppState,
    org: OrgId,
    id: RelationshipId,
) -> Result<ConnectionSeen, ConnectionError> {
    Ok(state.connections().connection(org, id).await?)
}

/// Parses a relationship id from a path segment; anything unparsable is "not found".
pub(crate) fn parse_relationship_id(raw: &str) -> Result<RelationshipId, ConnectionError> {
    raw.parse().map_err(|_| ApiError::NotFound.into())
}

/// The `/api/v1` routes (to be nested under `/api/v1`).
pub(crate) fn api_routes() -> Router<AppState> {
    api::routes()
}

/// The page routes.
pub(crate) fn page_routes() -> Router<AppState> {
    pages::routes()
}
