//! The Field mappings pages (`…/mappings`): the list of field mappings with their unmapped
//! values, creating one or the default set, and one mapping's page with its value-mapping table,
//! Match by label and Delete.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use fusion_domain::{ChoiceValue, FieldMapping, MappingDirection, Organisation};
use fusion_engine::configuration::{ConfigurationError as CoreError, MappingView};
use serde::Deserialize;

use super::header::{ConnectionHeader, header};
use super::options::{FieldOption, OptionView, field_options, option_label, options_for, value};
use super::{
    CONNECTION_PAGES, ConnectionPage, ConnectionWrite, MappingPath, RelationshipPath, base_url,
    failure_page,
};
use crate::AppState;
use crate::configuration::config_file::MappingSection;
use crate::configuration::{Scope, mapping_id};
use crate::page_chrome::{CsrfOnlyForm, PageForm, nav_for};
use crate::session::Caller;
use crate::templates::{Banner, Nav, render};

/// The pages' routes, under [`CONNECTION_PAGES`].
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            &format!("{CONNECTION_PAGES}/mappings"),
            get(mappings_page).post(create_mapping),
        )
        .route(
            &format!("{CONNECTION_PAGES}/mappings/defaults"),
            post(default_mappings),
        )
        .route(
            &format!("{CONNECTION_PAGES}/mappings/{{mapping_id}}"),
            get(mapping_page).post(save_mapping),
        )
        .route(
            &format!("{CONNECTION_PAGES}/mappings/{{mapping_id}}/delete"),
            post(delete_mapping),
        )
        .route(
            &format!("{CONNECTION_PAGES}/mappings/{{mapping_id}}/match"),
            post(match_mapping),
        )
}

pub(crate) struct DirectionOption {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

fn direction_options(selected: MappingDirection) -> Vec<DirectionOption> {
    [
        MappingDirection::SourceToTarget,
        MappingDirection::TargetToSource,
        MappingDirection::Both,
    ]
    .into_iter()
    .map(|direction| DirectionOption {
        value: direction.as_str(),
        label: direction.label(),
        selected: direction == selected,
    })
    .collect()
}

pub(crate) struct MappingRow {
    pub source_label: String,
    pub target_label: String,
    pub direction: &'static str,
    pub values: usize,
    pub unmapped: Vec<String>,
    /// For mappings that flow back: target values several source values map to, each as
    /// "In Progress goes back as New (also mapped from: Waiting)".
    pub ambiguous_way_back: Vec<String>,
    pub edit_url: String,
    pub delete_url: String,
}

#[derive(Template)]
#[template(path = "mappings.html")]
pub(crate) struct MappingsPage {
    pub title: &'static str,
    pub active: &'static str,
    pub nav: Option<Nav>,
    pub header: ConnectionHeader,
    pub csrf_token: String,
    pub banner: Option<Banner>,
    pub problems: Vec<String>,
    pub rows: Vec<MappingRow>,
    pub create_url: String,
    pub defaults_url: String,
    pub source_fields: Vec<FieldOption>,
    pub target_fields: Vec<FieldOption>,
    pub directions: Vec<DirectionOption>,
}

async fn render_mappings(
    state: &AppState,
    caller: &Caller,
    org: &Organisation,
    scope: &Scope,
    status: StatusCode,
    banner: Option<Banner>,
) -> Response {
    let mappings = match state.configuration().mappings(scope).await {
        Ok(mappings) => mappings,
        Err(error) => return failure_page(error),
    };
    let sides = state.configuration().both_sides(scope).await;
    let (source_fields, target_fields) = sides.mappable_fields();
    let base = base_url(org, scope);
    let rows = mappings
        .into_iter()
        .map(|mapping| {
            let view = sides.view(mapping);
            let ambiguous_way_back = way_back_rows(&view)
                .into_iter()
                .filter(|row| row.ambiguous)
                .map(|row| {
                    let others: Vec<&str> = row
                        .sources
                        .iter()
                        .filter(|source| !source.selected)
                        .map(|source| source.label.as_str())
                        .collect();
                    format!(
                        "{} goes back as {} (also mapped from: {})",
                        row.target_label,
                        row.chosen_label,
                        others.join(", ")
                    )
                })
                .collect();
            MappingRow {
                ambiguous_way_back,
                edit_url: format!("{base}/mappings/{}", view.mapping.id),
                delete_url: format!("{base}/mappings/{}/delete", view.mapping.id),
                source_label: view.source_label,
                target_label: view.target_label,
                direction: view.mapping.direction.label(),
                values: view.mapping.value_mappings.len(),
                unmapped: view
                    .unmapped
                    .into_iter()
                    .map(|choice| choice.label)
                    .collect(),
            }
        })
        .collect();
    let page = MappingsPage {
        title: "Field mappings",
        active: "connections",
        nav: nav_for(caller, org),
        header: header(state, org, scope, "mappings").await,
        csrf_token: caller.csrf_token().unwrap_or_default(),
        banner,
        problems: sides.problems(),
        rows,
        create_url: format!("{base}/mappings"),
        defaults_url: format!("{base}/mappings/defaults"),
        source_fields: field_options(&source_fields, ""),
        target_fields: field_options(&target_fields, ""),
        directions: direction_options(MappingDirection::SourceToTarget),
    };
    render(status, &page)
}

/// `?removed=1` after a mapping was deleted: the delete redirects here (post/redirect/get), so a
/// reload shows the list instead of repeating the delete.
#[derive(Deserialize)]
struct RemovedQuery {
    #[serde(default)]
    removed: Option<String>,
}

async fn mappings_page(
    State(state): State<AppState>,
    ConnectionPage {
        caller,
        org,
        scope,
        query: Query(query),
        ..
    }: ConnectionPage<RelationshipPath, Query<RemovedQuery>>,
) -> Response {
    let banner = query.removed.is_some().then(|| Banner {
        success: true,
        text: "Mapping removed.".to_owned(),
    });
    render_mappings(&state, &caller, &org, &scope, StatusCode::OK, banner).await
}

#[derive(Deserialize)]
struct MappingForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    source_field: String,
    #[serde(default)]
    target_field: String,
    #[serde(default)]
    direction: String,
    #[serde(default)]
    value_source: Vec<String>,
    #[serde(default)]
    value_target: Vec<String>,
    /// The way back: for each target value listed, the source value it becomes.
    #[serde(default)]
    way_back_target: Vec<String>,
    #[serde(default)]
    way_back_source: Vec<String>,
}

impl PageForm for MappingForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

impl MappingForm {
    /// The mapping as entered, for `ticket_type` (the platform's, see `PlatformTenants`).
    fn section(&self, ticket_type: &str) -> MappingSection {
        let direction =
            MappingDirection::parse(&self.direction).unwrap_or(MappingDirection::SourceToTarget);
        let mut values: Vec<crate::configuration::config_file::ValueSection> = Vec::new();
        for (source, target) in self.value_source.iter().zip(&self.value_target) {
            if let (Some(source), Some(target)) = (value(source), value(target))
                && !values.iter().any(|existing| existing.source.0 == source)
            {
                values.push(crate::configuration::config_file::ValueSection {
                    source: crate::configuration::config_file::Code(source),
                    target: crate::configuration::config_file::Code(target),
                });
            }
        }
        // The way back takes the first value mapping with the target value (`source_for`), so
        // the chosen source value's pair moves to the front.
        for (target, source) in self.way_back_target.iter().zip(&self.way_back_source) {
            let (Some(target), Some(source)) = (value(target), value(source)) else {
                continue;
            };
            if let Some(index) = values
                .iter()
                .position(|pair| pair.source.0 == source && pair.target.0 == target)
            {
                let chosen = values.remove(index);
                values.insert(0, chosen);
            }
        }
        MappingSection {
            ticket_type: ticket_type.to_owned(),
            source_field: self.source_field.trim().to_owned(),
            target_field: self.target_field.trim().to_owned(),
            direction: crate::configuration::config_file::DirectionText(direction),
            values,
        }
    }
}

fn problem_banner(error: &CoreError) -> Banner {
    Banner {
        success: false,
        text: format!("Not saved: {error}."),
    }
}

async fn create_mapping(
    State(state): State<AppState>,
    ConnectionWrite {
        caller,
        org,
        scope,
        form,
        ..
    }: ConnectionWrite<MappingForm>,
) -> Response {
    let draft = form.section(state.tenants().ticket_type()).into_draft();
    match state.configuration().create_mapping(&scope, draft).await {
        Ok(view) => Redirect::to(&format!(
            "{}/mappings/{}",
            base_url(&org, &scope),
            view.mapping.id
        ))
        .into_response(),
        Err(error) if matches!(error, CoreError::Invalid { .. }) => {
            render_mappings(
                &state,
                &caller,
                &org,
                &scope,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(problem_banner(&error)),
            )
            .await
        }
        Err(error) => failure_page(error),
    }
}

async fn default_mappings(
    State(state): State<AppState>,
    ConnectionWrite {
        caller, org, scope, ..
    }: ConnectionWrite<CsrfOnlyForm>,
) -> Response {
    let banner = match state.configuration().create_default_mappings(&scope).await {
        Ok(created) => Banner {
            success: true,
            text: format!(
                "Created {} default mappings; values were matched by label where both tenants have the same label. Check each one.",
                created.len()
            ),
        },
        Err(error @ CoreError::Conflict { .. }) => Banner {
            success: false,
            text: error.to_string(),
        },
        Err(error) => return failure_page(error),
    };
    render_mappings(&state, &caller, &org, &scope, StatusCode::OK, Some(banner)).await
}

/// One row of the value-mapping table: a source value and the chosen target.
pub(crate) struct ValueRow {
    pub source: String,
    pub source_label: String,
    pub unmapped: bool,
    pub targets: Vec<OptionView>,
}

/// One target value on the way back (for mappings that flow target → source).
pub(crate) struct WayBackRow {
    pub target: String,
    pub target_label: String,
    /// The source values mapped to this target; the selected one is what it becomes.
    pub sources: Vec<OptionView>,
    pub chosen_label: String,
    /// Several source values map to this target, so the way back has to pick one.
    pub ambiguous: bool,
}

/// The way back of a mapping that flows target → source: each mapped target value and the source
/// value it becomes (the first value mapping with it, see `FieldMapping::source_for`). Empty for a
/// mapping that only flows source → target.
fn way_back_rows(view: &MappingView) -> Vec<WayBackRow> {
    if view.mapping.direction == MappingDirection::SourceToTarget {
        return Vec::new();
    }
    let source_label = |value: &ChoiceValue| {
        view.source_options
            .iter()
            .find(|choice| &choice.value == value)
            .map(option_label)
            .unwrap_or_else(|| value.as_str().to_owned())
    };
    let target_label = |value: &ChoiceValue| {
        view.target_options
            .iter()
            .find(|choice| &choice.value == value)
            .map(option_label)
            .unwrap_or_else(|| value.as_str().to_owned())
    };
    let mut targets: Vec<&ChoiceValue> = Vec::new();
    for pair in &view.mapping.value_mappings {
        if !targets.contains(&&pair.target) {
            targets.push(&pair.target);
        }
    }
    targets
        .into_iter()
        .map(|target| {
            let chosen = view.mapping.source_for(target);
            let sources: Vec<OptionView> = view
                .mapping
                .value_mappings
                .iter()
                .filter(|pair| &pair.target == target)
                .map(|pair| OptionView {
                    value: pair.source.as_str().to_owned(),
                    label: source_label(&pair.source),
                    selected: Some(&pair.source) == chosen,
                })
                .collect();
            WayBackRow {
                target: target.as_str().to_owned(),
                target_label: target_label(target),
                chosen_label: chosen.map(source_label).unwrap_or_default(),
                ambiguous: sources.len() > 1,
                sources,
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "mappings_edit.html")]
pub(crate) struct MappingEditPage {
    pub title: &'static str,
    pub active: &'static str,
    pub nav: Option<Nav>,
    pub header: ConnectionHeader,
    pub csrf_token: String,
    pub banner: Option<Banner>,
    pub problems: Vec<String>,
    pub save_url: String,
    pub match_url: String,
    pub delete_url: String,
    pub back_url: String,
    pub source_fields: Vec<FieldOption>,
    pub target_fields: Vec<FieldOption>,
    pub directions: Vec<DirectionOption>,
    pub source_label: String,
    pub target_label: String,
    pub has_values: bool,
    pub rows: Vec<ValueRow>,
    pub unmapped: Vec<String>,
    /// Shown for mappings that flow back (Both, Target to source).
    pub way_back: Vec<WayBackRow>,
}

fn value_rows(view: &MappingView) -> Vec<ValueRow> {
    let mut sources: Vec<(ChoiceValue, String, bool)> = view
        .source_options
        .iter()
        .map(|choice| (choice.value.clone(), option_label(choice), choice.is_active))
        .collect();
    for mapped in &view.values {
        if !sources.iter().any(|(value, _, _)| value == &mapped.source) {
            sources.push((
                mapped.source.clone(),
                mapped
                    .source_label
                    .clone()
                    .unwrap_or_else(|| mapped.source.as_str().to_owned()),
                true,
            ));
        }
    }
    sources
        .into_iter()
        .map(|(source, label, active)| {
            let chosen = view.mapping.target_for(&source).cloned();
            let mut targets = vec![OptionView {
                value: String::new(),
                label: "— not mapped —".to_owned(),
                selected: chosen.is_none(),
            }];
            targets.extend(options_for(
                &view.target_options,
                &chosen.iter().cloned().collect::<Vec<_>>(),
            ));
            ValueRow {
                source: source.as_str().to_owned(),
                source_label: label,
                unmapped: active && chosen.is_none(),
                targets,
            }
        })
        .collect()
}

async fn render_mapping(
    state: &AppState,
    caller: &Caller,
    org: &Organisation,
    scope: &Scope,
    mapping: FieldMapping,
    status: StatusCode,
    banner: Option<Banner>,
) -> Response {
    let sides = state.configuration().both_sides(scope).await;
    let (source_fields, target_fields) = sides.mappable_fields();
    let view = sides.view(mapping);
    let base = base_url(org, scope);
    let rows = value_rows(&view);
    let way_back = way_back_rows(&view);
    let page = MappingEditPage {
        way_back,
        title: "Field mapping",
        active: "connections",
        nav: nav_for(caller, org),
        header: header(state, org, scope, "mappings").await,
        csrf_token: caller.csrf_token().unwrap_or_default(),
        banner,
        problems: sides.problems(),
        save_url: format!("{base}/mappings/{}", view.mapping.id),
        match_url: format!("{base}/mappings/{}/match", view.mapping.id),
        delete_url: format!("{base}/mappings/{}/delete", view.mapping.id),
        back_url: format!("{base}/mappings"),
        source_fields: field_options(&source_fields, &view.mapping.source_field),
        target_fields: field_options(&target_fields, &view.mapping.target_field),
        directions: direction_options(view.mapping.direction),
        source_label: view.source_label.clone(),
        target_label: view.target_label.clone(),
        has_values: view.source_list.is_some() || !rows.is_empty(),
        rows,
        unmapped: view
            .unmapped
            .iter()
            .map(|choice| choice.label.clone())
            .collect(),
    };
    render(status, &page)
}

async fn mapping_page(
    State(state): State<AppState>,
    ConnectionPage {
        caller,
        org,
        scope,
        path,
        ..
    }: ConnectionPage<MappingPath>,
) -> Response {
    let id = match mapping_id(&path.mapping_id) {
        Ok(id) => id,
        Err(error) => return failure_page(error),
    };
    match state.configuration().mapping(&scope, id).await {
        Ok(mapping) => {
            render_mapping(&state, &caller, &org, &scope, mapping, StatusCode::OK, None).await
        }
        Err(error) => failure_page(error),
    }
}

async fn save_mapping(
    State(state): State<AppState>,
    ConnectionWrite {
        caller,
        org,
        scope,
        path,
        form,
        ..
    }: ConnectionWrite<MappingForm, MappingPath>,
) -> Response {
    let id = match mapping_id(&path.mapping_id) {
        Ok(id) => id,
        Err(error) => return failure_page(error),
    };
    let draft = form.section(state.tenants().ticket_type()).into_draft();
    match state
        .configuration()
        .update_mapping(&scope, id, draft)
        .await
    {
        Ok(view) => {
            let banner = Banner {
                success: view.unmapped.is_empty(),
                text: if view.unmapped.is_empty() {
                    "Saved.".to_owned()
                } else {
                    "Saved, but some active source values have no mapping: tickets with them would fail to sync that field.".to_owned()
                },
            };
            render_mapping(
                &state,
                &caller,
                &org,
                &scope,
                view.mapping,
                StatusCode::OK,
                Some(banner),
            )
            .await
        }
        Err(error @ CoreError::Invalid { .. }) => {
            match state.configuration().mapping(&scope, id).await {
                Ok(mapping) => {
                    render_mapping(
                        &state,
                        &caller,
                        &org,
                        &scope,
                        mapping,
                        StatusCode::UNPROCESSABLE_ENTITY,
                        Some(problem_banner(&error)),
                    )
                    .await
                }
                Err(error) => failure_page(error),
            }
        }
        Err(error) => failure_page(error),
    }
}

async fn delete_mapping(
    State(state): State<AppState>,
    ConnectionWrite {
        caller: _,
        org,
        scope,
        path,
        ..
    }: ConnectionWrite<CsrfOnlyForm, MappingPath>,
) -> Response {
    let id = match mapping_id(&path.mapping_id) {
        Ok(id) => id,
        Err(error) => return failure_page(error),
    };
    match state.configuration().delete_mapping(&scope, id).await {
        Ok(()) => {
            Redirect::to(&format!("{}/mappings?removed=1", base_url(&org, &scope))).into_response()
        }
        Err(error) => failure_page(error),
    }
}

async fn match_mapping(
    State(state): State<AppState>,
    ConnectionWrite {
        caller,
        org,
        scope,
        path,
        ..
    }: ConnectionWrite<CsrfOnlyForm, MappingPath>,
) -> Response {
    let id = match mapping_id(&path.mapping_id) {
        Ok(id) => id,
        Err(error) => return failure_page(error),
    };
    match state.configuration().match_by_label(&scope, id).await {
        Ok((view, added)) => {
            let banner = Banner {
                success: true,
                text: format!(
                    "Matched {added} values by label. Values with no equal label stay for you to choose."
                ),
            };
            render_mapping(
                &state,
                &caller,
                &org,
                &scope,
                view.mapping,
                StatusCode::OK,
                Some(banner),
            )
            .await
        }
        Err(error @ CoreError::Tenant { .. }) => {
            match state.configuration().mapping(&scope, id).await {
                Ok(mapping) => {
                    render_mapping(
                        &state,
                        &caller,
                        &org,
                        &scope,
                        mapping,
                        StatusCode::OK,
                        Some(Banner {
                            success: false,
                            text: error.to_string(),
                        }),
                    )
                    .await
                }
                Err(error) => failure_page(error),
            }
        }
        Err(error) => failure_page(error),
    }
}
