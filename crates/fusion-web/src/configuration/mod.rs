//! Integration configuration of a relationship, per side: the "Tickets you receive" defaults, the
//! "Tickets you send" filter, sync options, reverse sync, closure, the per-relationship API
//! override, field and value mappings, the description composition, and configuration as code
//! (export and import as TOML or JSON). Every choice comes live from the organisation's own
//! Autotask tenant. A side carries only tickets of its own company (the one that represents the
//! partner in its tenant): saving refuses anything else, and the screens say it in words.
//!
//! | route | what |
//! | --- | --- |
//! | `GET/PUT /api/v1/orgs/{org_id}/relationships/{id}/configuration` | my side's configuration (+ `warnings`) |
//! | `GET /api/v1/orgs/{org_id}/relationships/{id}/choices`, `POST …/choices/refresh` | my tenant's lists with labels |
//! | `GET/POST …/mappings`, `PUT/DELETE …/mappings/{mapping_id}` | field mappings with value mappings |
//! | `POST …/mappings/defaults` | the default mapping set, when there are no mappings |
//! | `GET/POST …/mappings/{mapping_id}/suggest` | "match by label": suggestions / apply them |
//! | `GET/PUT/DELETE …/description`, `GET …/description/preview?ticket_id=` | description composition |
//! | `GET …/export[?format=json]`, `POST …/import[?format=toml\|json]` | configuration as code |
//! | `GET/POST /orgs/{org_id}/connections/{id}/configuration` (+ `/choices/refresh`, `/credentials`, `/credentials/test`) | the configuration page |
//! | `GET/POST /orgs/{org_id}/connections/{id}/mappings`, `…/mappings/defaults`, `GET/POST …/mappings/{mapping_id}` (+ `/delete`, `/match`) | field mappings pages |
//! | `GET/POST /orgs/{org_id}/connections/{id}/description` (+ `/remove`) | description composition page |
//! | `GET /orgs/{org_id}/connections/{id}/configuration/export`, `GET/POST …/configuration/import` | export / import page |
//!
//! Invariants:
//! - Everything is scoped to a relationship the organisation is part of; any other answers 404,
//!   exactly like one that does not exist. "My side" is the organisation's role in it.
//! - One organisation never sees the other's configuration, credentials or tickets: the
//!   partner's choices are loaded server-side with the partner's credentials and only the
//!   picklist values of a mapped field are shown. The one exception is the partner's company
//!   scope, by code ("Partner's side: …" on the configuration page), so each side can see that
//!   the connection carries only the one company's tickets both ways.
//! - Both sides may edit mappings and the composition.
//!
//! The rules behind these invariants are the core's (`fusion_engine::configuration`, reached
//! through `AppState::configuration`); this module translates requests into its use cases and
//! its answers and `ConfigurationError`s into responses and pages. Of its own it keeps the
//! configuration file format (`config_file`, and `exchange` between files and the core's
//! documents), the DTOs and the pages.

mod api;
pub(crate) mod config_file;
mod error;
mod exchange;
pub(crate) mod history;
mod pages;

use axum::Router;
use fusion_domain::{FieldMappingId, OrgId, PersonId, RelationshipId};

use crate::AppState;
use crate::error::ApiError;

pub(crate) use error::ConfigurationError;
/// A relationship seen from one of its organisations (the core's).
pub(crate) use fusion_engine::configuration::ConfigurationScope as Scope;

/// The `/api/v1` routes (to be nested under `/api/v1`).
pub(crate) fn api_routes() -> Router<AppState> {
    api::routes()
}

/// The page routes.
pub(crate) fn page_routes() -> Router<AppState> {
    pages::routes()
}

/// The relationship `raw_id` if `org_id` is part of it; otherwise `NotFound`.
/// `person` is who acts: the configuration audit log names them.
pub(crate) async fn scope(
    state: &AppState,
    org_id: OrgId,
    person: Option<PersonId>,
    raw_id: &str,
) -> Result<Scope, ConfigurationError> {
    let id: RelationshipId = raw_id.parse().map_err(|_| ApiError::NotFound)?;
    Ok(state.configuration().scope_for(org_id, person, id).await?)
}

/// A mapping id from a path; one that cannot be an id is not found, like an unknown one.
pub(crate) fn mapping_id(raw_id: &str) -> Result<FieldMappingId, ConfigurationError> {
    Ok(raw_id.parse().map_err(|_| ApiError::NotFound)?)
}
