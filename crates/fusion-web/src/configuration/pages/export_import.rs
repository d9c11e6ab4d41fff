//! The Export / import page (`…/configuration/import`): my side's configuration, the field
//! mappings and the description composition downloaded as TOML or JSON, and a file pasted back in
//! (all or nothing, with the line and field of the first problem).

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use fusion_domain::Organisation;
use fusion_engine::configuration::Warning;
use serde::Deserialize;

use super::header::{ConnectionHeader, header};
use super::{
    CONNECTION_PAGES, ConnectionPage, ConnectionWrite, RelationshipPath, WarningView, base_url,
    failure_page, warning_views,
};
use crate::AppState;
use crate::configuration::api::download;
use crate::configuration::config_file::FileFormat;
use crate::configuration::error::ConfigurationError;
use crate::configuration::{Scope, exchange};
use crate::page_chrome::{PageForm, nav_for};
use crate::session::Caller;
use crate::templates::{Banner, Nav, render};

/// The page's routes, under [`CONNECTION_PAGES`].
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            &format!("{CONNECTION_PAGES}/configuration/export"),
            get(export_file),
        )
        .route(
            &format!("{CONNECTION_PAGES}/configuration/import"),
            get(import_page).post(import_file),
        )
}

#[derive(Template)]
#[template(path = "configuration_file.html")]
pub(crate) struct FilePage {
    pub title: &'static str,
    pub active: &'static str,
    pub nav: Option<Nav>,
    pub header: ConnectionHeader,
    pub csrf_token: String,
    pub banner: Option<Banner>,
    pub toml_url: String,
    pub json_url: String,
    pub import_url: String,
    pub entered: String,
    pub problem: Option<String>,
    pub warnings: Vec<WarningView>,
}

async fn render_file_page(
    state: &AppState,
    caller: &Caller,
    org: &Organisation,
    scope: &Scope,
    status: StatusCode,
    view: (Option<Banner>, String, Option<String>, Vec<Warning>),
) -> Response {
    let (banner, entered, problem, warnings) = view;
    let base = base_url(org, scope);
    let page = FilePage {
        title: "Export and import",
        active: "connections",
        nav: nav_for(caller, org),
        header: header(state, org, scope, "file").await,
        csrf_token: caller.csrf_token().unwrap_or_default(),
        banner,
        toml_url: format!("{base}/configuration/export?format=toml"),
        json_url: format!("{base}/configuration/export?format=json"),
        import_url: format!("{base}/configuration/import"),
        entered,
        problem,
        warnings: warning_views(warnings),
    };
    render(status, &page)
}

async fn import_page(
    State(state): State<AppState>,
    ConnectionPage {
        caller, org, scope, ..
    }: ConnectionPage,
) -> Response {
    render_file_page(
        &state,
        &caller,
        &org,
        &scope,
        StatusCode::OK,
        (None, String::new(), None, Vec::new()),
    )
    .await
}

#[derive(Deserialize)]
struct FormatQuery {
    #[serde(default)]
    format: Option<String>,
}

async fn export_file(
    State(state): State<AppState>,
    ConnectionPage {
        scope,
        query: Query(query),
        ..
    }: ConnectionPage<RelationshipPath, Query<FormatQuery>>,
) -> Response {
    let format = query
        .format
        .as_deref()
        .and_then(FileFormat::parse)
        .unwrap_or(FileFormat::Toml);
    match exchange::export(&state, &scope, format).await {
        Ok((name, content_type, text)) => download(&name, content_type, text),
        Err(error) => failure_page(error),
    }
}

#[derive(Deserialize)]
struct ImportForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    file: String,
}

impl PageForm for ImportForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

async fn import_file(
    State(state): State<AppState>,
    ConnectionWrite {
        caller,
        org,
        scope,
        form,
        ..
    }: ConnectionWrite<ImportForm>,
) -> Response {
    match exchange::import(&state, &scope, &form.file, None).await {
        Ok(outcome) => {
            let banner = Banner {
                success: true,
                text: format!(
                    "Imported: your side's configuration, {} field mappings{}.",
                    outcome.mappings,
                    if outcome.composition {
                        " and the description composition"
                    } else {
                        " (no description composition)"
                    }
                ),
            };
            render_file_page(
                &state,
                &caller,
                &org,
                &scope,
                StatusCode::OK,
                (Some(banner), String::new(), None, outcome.warnings),
            )
            .await
        }
        Err(error @ (ConfigurationError::InvalidFile(_) | ConfigurationError::Invalid { .. })) => {
            let problem = match &error {
                ConfigurationError::Invalid {
                    field: Some(field),
                    message,
                    ..
                } => {
                    format!("field `{field}`: {message}")
                }
                other => other.to_string(),
            };
            let banner = Banner {
                success: false,
                text: "Not imported: nothing was changed.".to_owned(),
            };
            render_file_page(
                &state,
                &caller,
                &org,
                &scope,
                StatusCode::UNPROCESSABLE_ENTITY,
                (Some(banner), form.file, Some(problem), Vec::new()),
            )
            .await
        }
        Err(error) => failure_page(error),
    }
}
