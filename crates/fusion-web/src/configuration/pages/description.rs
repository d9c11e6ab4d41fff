//! The Description composition page (`…/description`): the ordered lines (field and label) and
//! separator the description is composed of, adding, moving and removing lines, removing the
//! composition, and a live preview on one of my tickets.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use fusion_domain::{DescriptionComposition, Organisation};
use serde::Deserialize;

use super::header::{ConnectionHeader, header};
use super::options::FieldOption;
use super::{
    CONNECTION_PAGES, ConnectionPage, ConnectionWrite, RelationshipPath, base_url, failure_page,
};
use crate::AppState;
use crate::configuration::api::parse_ticket_id;
use crate::configuration::{ConfigurationError, Scope};
use crate::page_chrome::{CsrfOnlyForm, PageForm, nav_for};
use crate::session::Caller;
use crate::templates::{Banner, Nav, render};

/// The page's routes, under [`CONNECTION_PAGES`].
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            &format!("{CONNECTION_PAGES}/description"),
            get(description_page).post(change_description),
        )
        .route(
            &format!("{CONNECTION_PAGES}/description/remove"),
            post(remove_description),
        )
}

pub(crate) struct CompositionLine {
    pub index: usize,
    pub field: String,
    pub label: String,
    pub first: bool,
    pub last: bool,
}

#[derive(Template)]
#[template(path = "configuration_description.html")]
pub(crate) struct DescriptionPage {
    pub title: &'static str,
    pub active: &'static str,
    pub nav: Option<Nav>,
    pub header: ConnectionHeader,
    pub csrf_token: String,
    pub banner: Option<Banner>,
    pub change_url: String,
    pub remove_url: String,
    pub preview_url: String,
    pub has_composition: bool,
    pub lines: Vec<CompositionLine>,
    pub separator: String,
    pub fields: Vec<FieldOption>,
    pub is_source: bool,
    pub ticket_id: String,
    pub preview_ticket: Option<String>,
    pub preview_text: Option<String>,
    pub preview_error: Option<String>,
}

#[derive(Deserialize, Default)]
struct PreviewQuery {
    #[serde(default)]
    ticket_id: Option<String>,
}

async fn render_description(
    state: &AppState,
    caller: &Caller,
    org: &Organisation,
    scope: &Scope,
    ticket_id: Option<String>,
    banner: Option<Banner>,
) -> Response {
    let configuration = state.configuration();
    let stored = match configuration.composition(scope).await {
        Ok(stored) => stored,
        Err(error) => return failure_page(error),
    };
    let composition = stored.clone().unwrap_or_default();
    let fields = configuration.composable_fields(scope).await;
    let labels: HashMap<&str, &str> = fields
        .iter()
        .map(|field| (field.name.as_str(), field.label.as_str()))
        .collect();
    let (mut preview_ticket, mut preview_text, mut preview_error) = (None, None, None);
    if stored.is_some() {
        let result = match parse_ticket_id(ticket_id.as_deref()) {
            Ok(id) => configuration
                .preview(scope, &composition, id)
                .await
                .map_err(ConfigurationError::from),
            Err(error) => Err(error),
        };
        match result {
            Ok(preview) => {
                preview_ticket = Some(preview.ticket);
                preview_text = Some(preview.text);
            }
            Err(error) if error.is_not_found() => return failure_page(error),
            Err(error) => preview_error = Some(error.to_string()),
        }
    }
    let count = composition.fields.len();
    let base = base_url(org, scope);
    let page = DescriptionPage {
        title: "Description composition",
        active: "connections",
        nav: nav_for(caller, org),
        header: header(state, org, scope, "description").await,
        csrf_token: caller.csrf_token().unwrap_or_default(),
        banner,
        change_url: format!("{base}/description"),
        remove_url: format!("{base}/description/remove"),
        preview_url: format!("{base}/description"),
        has_composition: stored.is_some(),
        lines: composition
            .fields
            .iter()
            .enumerate()
            .map(|(index, field)| CompositionLine {
                index,
                field: labels
                    .get(field.field.as_str())
                    .map_or_else(|| field.field.clone(), |label| (*label).to_owned()),
                label: field.label.clone(),
                first: index == 0,
                last: index + 1 == count,
            })
            .collect(),
        separator: composition.separator.clone(),
        fields: fields
            .into_iter()
            .map(|field| FieldOption {
                name: field.name,
                label: field.label,
                selected: false,
            })
            .collect(),
        is_source: scope.role == fusion_domain::Role::Source,
        ticket_id: ticket_id.unwrap_or_default(),
        preview_ticket,
        preview_text,
        preview_error,
    };
    render(StatusCode::OK, &page)
}

async fn description_page(
    State(state): State<AppState>,
    ConnectionPage {
        caller,
        org,
        scope,
        query: Query(query),
        ..
    }: ConnectionPage<RelationshipPath, Query<PreviewQuery>>,
) -> Response {
    render_description(&state, &caller, &org, &scope, query.ticket_id, None).await
}

#[derive(Deserialize)]
struct DescriptionForm {
    #[serde(default)]
    csrf_token: String,
    /// "add", "up", "down", "remove" or "separator".
    #[serde(default)]
    action: String,
    #[serde(default)]
    index: Option<usize>,
    #[serde(default)]
    field: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    separator: Option<String>,
}

impl PageForm for DescriptionForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

fn apply_change(
    composition: &mut DescriptionComposition,
    form: &DescriptionForm,
    labels: &HashMap<String, String>,
) -> Result<&'static str, String> {
    let index = form.index.unwrap_or(usize::MAX);
    let count = composition.fields.len();
    match form.action.as_str() {
        "add" => {
            let field = form.field.trim();
            if field.is_empty() {
                return Err("Choose a field to add.".to_owned());
            }
            let label = match form.label.trim() {
                "" => labels
                    .get(field)
                    .cloned()
                    .unwrap_or_else(|| field.to_owned()),
                label => label.to_owned(),
            };
            composition.fields.push(fusion_domain::ComposedField {
                field: field.to_owned(),
                label,
            });
            Ok("Line added.")
        }
        "up" if index > 0 && index < count => {
            composition.fields.swap(index, index - 1);
            Ok("Moved up.")
        }
        "down" if index + 1 < count => {
            composition.fields.swap(index, index + 1);
            Ok("Moved down.")
        }
        "remove" if index < count => {
            composition.fields.remove(index);
            Ok("Line removed.")
        }
        "separator" => {
            composition.separator = form.separator.clone().unwrap_or_default();
            Ok("Separator saved.")
        }
        _ => Err(
            "That change is not possible (the list may have changed): reload the page.".to_owned(),
        ),
    }
}

async fn change_description(
    State(state): State<AppState>,
    ConnectionWrite {
        caller,
        org,
        scope,
        form,
        ..
    }: ConnectionWrite<DescriptionForm>,
) -> Response {
    let configuration = state.configuration();
    let mut composition = match configuration.composition(&scope).await {
        Ok(stored) => stored.unwrap_or_default(),
        Err(error) => return failure_page(error),
    };
    let labels: HashMap<String, String> = configuration
        .composable_fields(&scope)
        .await
        .into_iter()
        .map(|field| (field.name, field.label))
        .collect();
    let banner = match apply_change(&mut composition, &form, &labels) {
        Ok(text) => {
            if let Err(error) = configuration.save_composition(&scope, &composition).await {
                return failure_page(error);
            }
            Banner {
                success: true,
                text: format!(
                    "{text} Applies from the next sync; descriptions already synced are not rewritten."
                ),
            }
        }
        Err(text) => Banner {
            success: false,
            text,
        },
    };
    render_description(&state, &caller, &org, &scope, None, Some(banner)).await
}

async fn remove_description(
    State(state): State<AppState>,
    ConnectionWrite {
        caller, org, scope, ..
    }: ConnectionWrite<CsrfOnlyForm>,
) -> Response {
    if let Err(error) = state.configuration().remove_composition(&scope).await {
        return failure_page(error);
    }
    let banner = Banner {
        success: true,
        text: "Description composition removed: the description is mapped as it is.".to_owned(),
    };
    render_description(&state, &caller, &org, &scope, None, Some(banner)).await
}
