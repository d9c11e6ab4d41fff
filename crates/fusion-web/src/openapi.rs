//! `GET /api/v1/openapi.json`: the OpenAPI 3.0 document of the JSON API, kept in the repository as
//! `crates/fusion-web/openapi.json` and embedded at compile time. No authentication: it describes
//! the API, it reveals nothing about any organisation. The drift test (`tests/it/openapi.rs`)
//! fails when the document and the router disagree.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::AppState;

/// The document, byte for byte as committed.
pub const OPENAPI_DOCUMENT: &str = include_str!("../openapi.json");

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/openapi.json", get(openapi_document))
}

async fn openapi_document() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        OPENAPI_DOCUMENT,
    )
}
