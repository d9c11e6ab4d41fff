//! Organisation connections (relationships): the JSON API under
//! `/api/v1/orgs/{org_id}/relationships` and the "Organisation connections" page under
//! `/orgs/{org_id}/connections`.
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
//! - Wrong codes are throttled per organisation (`WebSettings::code_max_failures`, then locked
//!   for `WebSettings::code_lock`), in memory like the sign-in throttle, timed by the app's clock.
//! - Codes: 422 `code_malformed`, `code_unknown`, `code_expired`, `code_used`, `code_revoked`,
//!   `own_code`, `duplicate_relationship`; 429 `code_throttled`; an illegal lifecycle change is 409
//!   `invalid_state_change` with the domain's message.

mod api;
mod error;
mod lifecycle;
mod pages;
mod wrong_codes;

use axum::Router;

use crate::AppState;

pub(crate) use error::ConnectionError;
pub(crate) use lifecycle::{ConnectionSeen, connection, connections_of, parse_relationship_id};
pub(crate) use wrong_codes::WrongCodeThrottle;

/// The `/api/v1` routes (to be nested under `/api/v1`).
pub(crate) fn api_routes() -> Router<AppState> {
    api::routes()
}

/// The page routes.
pub(crate) fn page_routes() -> Router<AppState> {
    pages::routes()
}
