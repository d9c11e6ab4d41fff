//! `/api/v1/orgs/{org_id}/relationships/{id}/…`: configuration, choices, mappings, description
//! composition, export and import as JSON. Authentication, organisation scope (404) and CSRF come
//! from the `OrgApiCaller` extractor; a relationship the organisation is not part of is a 404.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use fusion_domain::Choice;
use fusion_engine::configuration::{
    LIST_NAMES, MappingView, ValueView, Warning, validate_composition, warnings,
};
use fusion_engine::{Freshness, PreviewTicket, TicketField};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::configuration::config_file::{
    Code, DescriptionField, DescriptionSection, FileFormat, MappingSection, SideSection,
};
use crate::configuration::error::ConfigurationError;
use crate::configuration::{Scope, exchange, mapping_id, scope};
use crate::error::ApiError;
use crate::session::OrgApiCaller;
use crate::wording::api_timestamp;

pub(crate) fn routes() -> Router<AppState> {
    const BASE: &str = "/orgs/{org_id}/relationships/{id}";
    Router::new()
        .route(
            &format!("{BASE}/configuration"),
            get(read_configuration).put(save_configuration),
        )
        .route(&format!("{BASE}/choices"), get(read_choices))
        .route(&format!("{BASE}/choices/refresh"), post(refresh_choices))
        .route(
            &format!("{BASE}/mappings"),
            get(list_mappings).post(create_mapping),
        )
        .route(&format!("{BASE}/mappings/defaults"), post(default_mappings))
        .route(
            &format!("{BASE}/mappings/{{mapping_id}}"),
            put(update_mapping).delete(delete_mapping),
        )
        .route(
            &format!("{BASE}/mappings/{{mapping_id}}/suggest"),
            get(suggest_values).post(apply_suggestions),
        )
        .route(
            &format!("{BASE}/description"),
            get(read_description)
                .put(save_description)
                .delete(remove_description),
        )
        .route(
            &format!("{BASE}/description/preview"),
            get(preview_description),
        )
        .route(
            &format!("{BASE}/configuration/history"),
            get(configuration_history),
        )
        .route(&format!("{BASE}/export"), get(export_configuration))
        .route(&format!("{BASE}/import"), post(import_configuration))
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

/// A JSON body read with precise errors (which field, what is wrong): these bodies hold codes and
/// field names, never secrets, so the parser's message may be shown.
struct ConfigJson<T>(T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ConfigJson<T> {
    type Rejection = ConfigurationError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = crate::api::request_content_type(request.headers());
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::BodyTooLarge
                } else {
                    ApiError::InvalidBody
                }
            })?;
        crate::api::require_json(content_type.as_deref(), &bytes)?;
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(&mut deserializer)
            .map(ConfigJson)
            .map_err(|error| {
                let path = fusion_domain::echo_for_message(&error.path().to_string(), 200);
                let message = fusion_domain::echo_for_message(&error.into_inner().to_string(), 500);
                ConfigurationError::Invalid {
                    code: "invalid_body",
                    field: (path != ".").then_some(path),
                    message,
                }
            })
    }
}

#[derive(Serialize)]
struct RelationshipDto {
    id: String,
    contract_name: String,
    my_role: &'static str,
    state: &'static str,
    readiness: &'static str,
}

impl From<&Scope> for RelationshipDto {
    fn from(scope: &Scope) -> Self {
        Self {
            id: scope.relationship.id.to_string(),
            contract_name: scope.relationship.contract_name.clone(),
            my_role: scope.role.as_str(),
            state: scope.relationship.state.label(),
            readiness: scope.relationship.readiness.label(),
        }
    }
}

#[derive(Serialize)]
struct WarningDto {
    setting: String,
    message: String,
}

fn warning_dtos(warnings: Vec<Warning>) -> Vec<WarningDto> {
    warnings
        .into_iter()
        .map(|warning| WarningDto {
            setting: warning.setting,
            message: warning.message,
        })
        .collect()
}

#[derive(Serialize)]
struct ConfigurationResponse {
    relationship: RelationshipDto,
    saved: bool,
    config: SideSection,
    warnings: Vec<WarningDto>,
}

async fn configuration_response(
    state: &AppState,
    scope: &Scope,
    warnings: Option<Vec<Warning>>,
) -> Result<ConfigurationResponse, ConfigurationError> {
    let configuration = state.configuration();
    let (side, saved) = configuration.side_config(scope).await?;
    let warnings = match warnings {
        Some(warnings) => warnings,
        None => {
            let choices = configuration.my_choices(scope, Freshness::Cached).await;
            self::warnings(&side, &choices)
        }
    };
    Ok(ConfigurationResponse {
        relationship: RelationshipDto::from(scope),
        saved,
        config: SideSection::from_config(Some(scope.role), &side),
        warnings: warning_dtos(warnings),
    })
}

async fn read_configuration(
    State(state): State<AppState>,
    OrgApiCaller { org_id, caller }: OrgApiCaller,
    Path(path): Path<RelationshipPath>,
) -> Result<Json<ConfigurationResponse>, ConfigurationError> {
    let scope = scope(&state, org_id, Some(caller.person.id), &path.id).await?;
    Ok(Json(configuration_response(&state, &scope, None).await?))
}

async fn save_configuration(
    State(state): State<AppState>,
    OrgApiCaller { org_id, caller }: OrgApiCaller,
    Path(path): Path<RelationshipPath>,
    ConfigJson(section): ConfigJson<SideSection>,
) -> Result<Json<ConfigurationResponse>, ConfigurationError> {
    let scope = scope(&state, org_id, Some(caller.person.id), &path.id).await?;
    if let Some(role) = section.role
        && role.0 != scope.role
    {
        return Err(ConfigurationError::invalid(
            "wrong_side",
            "role",
            format!(
                "your organisation is the {} in this connection; leave role out or send \"{}\"",
                scope.role.as_str(),
                scope.role.as_str()
            ),
        ));
    }
    let (_, warnings) = state
        .configuration()
        .save_side(&scope, section.into_config())
        .await?;
    Ok(Json(
        configuration_response(&state, &scope, Some(warnings)).await?,
    ))
}

#[derive(Serialize)]
pub(crate) struct ChoiceDto {
    value: Code,
    label: String,
    is_active: bool,
    is_default: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent: Option<Code>,
}

impl From<&Choice> for ChoiceDto {
    fn from(choice: &Choice) -> Self {
        Self {
            value: Code(choice.value.clone()),
            label: choice.label.clone(),
            is_active: choice.is_active,
            is_default: choice.is_default,
            parent: choice.parent.clone().map(Code),
        }
    }
}

#[derive(Serialize)]
struct TicketFieldDto {
    name: String,
    label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    picklist: Option<&'static str>,
    is_required: bool,
    is_read_only: bool,
}

impl From<&TicketField> for TicketFieldDto {
    fn from(field: &TicketField) -> Self {
        Self {
            name: field.name.clone(),
            label: field.label.clone(),
            picklist: field.picklist,
            is_required: field.is_required,
            is_read_only: field.is_read_only,
        }
    }
}

#[derive(Serialize)]
struct ChoicesResponse {
    fetched_at: String,
    lists: BTreeMap<&'static str, Vec<ChoiceDto>>,
    ticket_fields: Vec<TicketFieldDto>,
}

async fn choices_response(
    state: &AppState,
    org_id: fusion_domain::OrgId,
    id: &str,
    refresh: bool,
) -> Result<Json<ChoicesResponse>, ConfigurationError> {
    let scope = scope(state, org_id, None, id).await?;
    let freshness = if refresh {
        Freshness::Reload
    } else {
        Freshness::Cached
    };
    let choices = state.configuration().my_choices(&scope, freshness).await?;
    Ok(Json(ChoicesResponse {
        fetched_at: api_timestamp(choices.fetched_at()),
        lists: LIST_NAMES
            .iter()
            .map(|list| {
                (
                    *list,
                    choices.list_ref(list).iter().map(ChoiceDto::from).collect(),
                )
            })
            .collect(),
        ticket_fields: choices
            .ticket_fields()
            .iter()
            .map(TicketFieldDto::from)
            .collect(),
    }))
}

async fn read_choices(
    State(state): State<AppState>,
    OrgApiCaller { org_id, .. }: OrgApiCaller,
    Path(path): Path<RelationshipPath>,
) -> Result<Json<ChoicesResponse>, ConfigurationError> {
    choices_response(&state, org_id, &path.id, false).await
}

async fn refresh_choices(
    State(state): State<AppState>,
    OrgApiCaller { org_id, .. }: OrgApiCaller,
    Path(path): Path<RelationshipPath>,
) -> Result<Json<ChoicesResponse>, ConfigurationError> {
    choices_response(&state, org_id, &path.id, true).await
}

#[derive(Serialize)]
struct ValueDto {
    source: Code,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_label: Option<String>,
    target: Code,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_label: Option<String>,
}

impl From<ValueView> for ValueDto {
    fn from(value: ValueView) -> Self {
        Self {
            source: Code(value.source),
            source_label: value.source_label,
            target: Code(value.target),
            target_label: value.target_label,
        }
    }
}

#[derive(Serialize)]
struct UnmappedDto {
    value: Code,
    label: String,
}

#[derive(Serialize)]
struct MappingDto {
    id: String,
    ticket_type: String,
    source_field: String,
    source_label: String,
    target_field: String,
    target_label: String,
    direction: &'static str,
    values: Vec<ValueDto>,
    /// Active source values with no value mapping: each would be a field failure at sync time.
    unmapped: Vec<UnmappedDto>,
}

impl From<MappingView> for MappingDto {
    fn from(view: MappingView) -> Self {
        Self {
            id: view.mapping.id.to_string(),
            ticket_type: view.mapping.ticket_type,
            source_field: view.mapping.source_field,
            source_label: view.source_label,
            target_field: view.mapping.target_field,
            target_label: view.target_label,
            direction: view.mapping.direction.label(),
            values: view.values.into_iter().map(ValueDto::from).collect(),
            unmapped: view
                .unmapped
                .into_iter()
                .map(|choice| UnmappedDto {
                    value: Code(choice.value),
                    label: choice.label,
                })
                .collect(),
        }
    }
}

#[derive(Serialize)]
struct MappingsResponse {
    mappings: Vec<MappingDto>,
    source_fields: Vec<TicketFieldDto>,
    target_fields: Vec<TicketFieldDto>,
    /// Why a tenant's choices could not be loaded (labels and checks are then incomplete).
    problems: Vec<String>,
}

async fn list_mappings(
    State(state): State<AppState>,
    OrgApiCaller { org_id, caller }: OrgApiCaller,
    Path(path): Path<RelationshipPath>,
) -> Result<Json<MappingsResponse>, ConfigurationError> {
    let scope = scope(&state, org_id, Some(caller.person.id), &path.id).await?;
    let mappings = state.configuration().mappings(&scope).await?;
    let sides = state.configuration().both_sides(&scope).await;
    let (source_fields, target_fields) = sides.mappable_fields();
    Ok(Json(MappingsResponse {
        mappings: mappings
            .into_iter()
            .map(|mapping| MappingDto::from(sides.view(mapping)))
            .collect(),
        source_fields: source_fields.iter().map(TicketFieldDto::from).collect(),
        target_fields: target_fields.iter().map(TicketFieldDto::from).collect(),
        problems: sides.problems(),
    }))
}

async fn create_mapping(
    State(state): State<AppState>,
    OrgApiCaller { org_id, caller }: OrgApiCaller,
    Path(path): Path<RelationshipPath>,
    ConfigJson(section): ConfigJson<MappingSection>,
) -> Result<(StatusCode, Json<MappingDto>), ConfigurationError> {
    let scope = scope(&state, org_id, Some(caller.person.id), &path.id).await?;
    let view = state
        .configuration()
        .create_mapping(&scope, section.into_draft())
        .await?;
    Ok((StatusCode::CREATED, Json(MappingDto::from(view))))
}

async fn update_mapping(
    State(state): State<AppState>,
    OrgApiCaller { org_id, caller }: OrgApiCaller,
    Path(path): Path<MappingPath>,
    ConfigJson(section): ConfigJson<MappingSection>,
) -> Result<Json<MappingDto>, ConfigurationError> {
    let scope = scope(&state, org_id, Some(caller.person.id), &path.id).await?;
    let id = mapping_id(&path.mapping_id)?;
    let view = state
        .configuration()
        .update_mapping(&scope, id, section.into_draft())
        .await?;
    Ok(Json(MappingDto::from(view)))
}

async fn delete_mapping(
    State(state): State<AppState>,
    OrgApiCaller { org_id, caller }: OrgApiCaller,
    Path(path): Path<MappingPath>,
) -> Result<StatusCode, ConfigurationError> {
    let scope = scope(&state, org_id, Some(caller.person.id), &path.id).await?;
    let id = mapping_id(&path.mapping_id)?;
    state.configuration().delete_mapping(&scope, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
struct DefaultMappingsResponse {
    mappings: Vec<MappingDto>,
}

async fn default_mappings(
    State(state): State<AppState>,
    OrgApiCaller { org_id, caller }: OrgApiCaller,
    Path(path): Path<RelationshipPath>,
) -> Result<(StatusCode, Json<DefaultMappingsResponse>), ConfigurationError> {
    let scope = scope(&state, org_id, Some(caller.person.id), &path.id).await?;
    let views = state
        .configuration()
        .create_default_mappings(&scope)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(DefaultMappingsResponse {
            mappings: views.into_iter().map(MappingDto::from).collect(),
        }),
    ))
}

#[derive(Serialize)]
struct SuggestionsResponse {
    suggestions: Vec<ValueDto>,
    problems: Vec<String>,
}

async fn suggest_values(
    State(state): State<AppState>,
    OrgApiCaller { org_id, caller }: OrgApiCaller,
    Path(path): Path<MappingPath>,
) -> Result<Json<SuggestionsResponse>, ConfigurationError> {
    let scope = scope(&state, org_id, Some(caller.person.id), &path.id).await?;
    let id = mapping_id(&path.mapping_id)?;
    let suggestions = state.configuration().suggestions(&scope, id).await?;
    Ok(Json(SuggestionsResponse {
        suggestions: suggestions.values.into_iter().map(ValueDto::from).collect(),
        problems: suggestions.problems,
    }))
}

#[derive(Serialize)]
struct AppliedSuggestionsResponse {
    added: usize,
    mapping: MappingDto,
}

async fn apply_suggestions(
    State(state): State<AppState>,
    OrgApiCaller { org_id, caller }: OrgApiCaller,
    Path(path): Path<MappingPath>,
) -> Result<Json<AppliedSuggestionsResponse>, ConfigurationError> {
    let scope = scope(&state, org_id, Some(caller.person.id), &path.id).await?;
    let id = mapping_id(&path.mapping_id)?;
    let (view, added) = state.configuration().match_by_label(&scope, id).await?;
    Ok(Json(AppliedSuggestionsResponse {
        added,
        mapping: MappingDto::from(view),
    }))
}

#[derive(Serialize)]
struct DescriptionResponse {
    composition: Option<DescriptionSection>,
    /// Fields a composition line can use.
    fields: Vec<DescriptionField>,
}

/// The fields a composition line can use, as the API lists them.
async fn composable_fields(state: &AppState, scope: &Scope) -> Vec<DescriptionField> {
    state
        .configuration()
        .composable_fields(scope)
        .await
        .into_iter()
        .map(|field| DescriptionField {
            field: field.name,
            label: field.label,
        })
        .collect()
}

async fn read_description(
    State(state): State<AppState>,
    OrgApiCaller { org_id, caller }: OrgApiCaller,
    Path(path): Path<RelationshipPath>,
) -> Result<Json<DescriptionResponse>, ConfigurationError> {
    let scope = scope(&state, org_id, Some(caller.person.id), &path.id).await?;
    let composition = state.configuration().composition(&scope).await?;
    Ok(Json(DescriptionResponse {
        composition: composition
            .as_ref()
            .map(DescriptionSection::from_composition),
        fields: composable_fields(&state, &scope).await,
    }))
}

async fn save_description(
    State(state): State<AppState>,
    OrgApiCaller { org_id, caller }: OrgApiCaller,
    Path(path): Path<RelationshipPath>,
    ConfigJson(section): ConfigJson<DescriptionSection>,
) -> Result<Json<DescriptionResponse>, ConfigurationError> {
    let scope = scope(&state, org_id, Some(caller.person.id), &path.id).await?;
    let composition = section.into_composition();
    validate_composition(&composition)?;
    state
        .configuration()
        .save_composition(&scope, &composition)
        .await?;
    Ok(Json(DescriptionResponse {
        composition: Some(DescriptionSection::from_composition(&composition)),
        fields: composable_fields(&state, &scope).await,
    }))
}

async fn remove_description(
    State(state): State<AppState>,
    OrgApiCaller { org_id, caller }: OrgApiCaller,
    Path(path): Path<RelationshipPath>,
) -> Result<StatusCode, ConfigurationError> {
    let scope = scope(&state, org_id, Some(caller.person.id), &path.id).await?;
    state.configuration().remove_composition(&scope).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct PreviewQuery {
    #[serde(default)]
    ticket_id: Option<String>,
}

#[derive(Serialize)]
struct PreviewResponse {
    ticket: String,
    text: String,
    real_ticket: bool,
}

/// A ticket id from a query or form: digits, optionally with spaces around.
/// The ticket a preview asks for: the ticket number people quote ("T20261204.0001", any case),
/// the id from the ticket's URL, or — when empty — the most recently active ticket.
pub(crate) fn parse_ticket_id(raw: Option<&str>) -> Result<PreviewTicket, ConfigurationError> {
    let Some(raw) = raw.map(str::trim).filter(|raw| !raw.is_empty()) else {
        return Ok(PreviewTicket::Latest);
    };
    if let Ok(id) = raw.parse::<i64>()
        && id > 0
    {
        return Ok(PreviewTicket::Id(id));
    }
    let number = raw.to_uppercase();
    let looks_like_number = number.strip_prefix('T').is_some_and(|rest| {
        rest.split_once('.').is_some_and(|(day, sequence)| {
            day.len() == 8
                && day.chars().all(|c| c.is_ascii_digit())
                && !sequence.is_empty()
                && sequence.len() <= 6
                && sequence.chars().all(|c| c.is_ascii_digit())
        })
    });
    if looks_like_number {
        return Ok(PreviewTicket::Number(number));
    }
    Err(ConfigurationError::invalid(
        "invalid_ticket_id",
        "ticket_id",
        "enter the ticket number as Autotask shows it (e.g. T20261204.0001) or the id from the ticket's URL",
    ))
}

async fn preview_description(
    State(state): State<AppState>,
    OrgApiCaller { org_id, caller }: OrgApiCaller,
    Path(path): Path<RelationshipPath>,
    Query(query): Query<PreviewQuery>,
) -> Result<Json<PreviewResponse>, ConfigurationError> {
    let scope = scope(&state, org_id, Some(caller.person.id), &path.id).await?;
    let ticket_id = parse_ticket_id(query.ticket_id.as_deref())?;
    let composition = state
        .configuration()
        .composition(&scope)
        .await?
        .unwrap_or_default();
    let preview = state
        .configuration()
        .preview(&scope, &composition, ticket_id)
        .await?;
    Ok(Json(PreviewResponse {
        ticket: preview.ticket,
        text: preview.text,
        real_ticket: preview.real,
    }))
}

#[derive(Deserialize)]
struct FormatQuery {
    #[serde(default)]
    format: Option<String>,
}

fn requested_format(raw: Option<&str>) -> Result<Option<FileFormat>, ConfigurationError> {
    match raw.map(str::trim).filter(|raw| !raw.is_empty()) {
        None => Ok(None),
        Some(raw) => FileFormat::parse(raw).map(Some).ok_or_else(|| {
            ConfigurationError::invalid(
                "invalid_format",
                "format",
                "use format=toml or format=json",
            )
        }),
    }
}

/// The export as a download.
pub(crate) fn download(name: &str, content_type: &'static str, text: String) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    let mut response = text.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

async fn export_configuration(
    State(state): State<AppState>,
    OrgApiCaller { org_id, caller }: OrgApiCaller,
    Path(path): Path<RelationshipPath>,
    Query(query): Query<FormatQuery>,
) -> Result<Response, ConfigurationError> {
    let scope = scope(&state, org_id, Some(caller.person.id), &path.id).await?;
    let format = requested_format(query.format.as_deref())?.unwrap_or(FileFormat::Toml);
    let (name, content_type, text) = exchange::export(&state, &scope, format).await?;
    Ok(download(&name, content_type, text))
}

#[derive(Serialize)]
struct ImportResponse {
    imported: bool,
    mappings: usize,
    description_composition: bool,
    warnings: Vec<WarningDto>,
}

async fn import_configuration(
    State(state): State<AppState>,
    OrgApiCaller { org_id, caller }: OrgApiCaller,
    Path(path): Path<RelationshipPath>,
    Query(query): Query<FormatQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ImportResponse>, ConfigurationError> {
    let scope = scope(&state, org_id, Some(caller.person.id), &path.id).await?;
    // A file, as TOML or JSON; never a form (a cross-site form cannot pass for an import).
    if crate::api::request_content_type(&headers).is_some_and(|kind| {
        kind == "application/x-www-form-urlencoded" || kind.starts_with("multipart/")
    }) {
        return Err(ApiError::UnsupportedMediaType.into());
    }
    let mut format = requested_format(query.format.as_deref())?;
    if format.is_none()
        && headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.contains("json"))
    {
        format = Some(FileFormat::Json);
    }
    let text = std::str::from_utf8(&body).map_err(|_| {
        ConfigurationError::invalid("invalid_file", "file", "the file is not UTF-8 text")
    })?;
    let outcome = exchange::import(&state, &scope, text, format).await?;
    Ok(Json(ImportResponse {
        imported: true,
        mappings: outcome.mappings,
        description_composition: outcome.composition,
        warnings: warning_dtos(outcome.warnings),
    }))
}

#[derive(Serialize)]
struct HistoryEntryDto {
    change: String,
    /// The person's name, "Support Fusion" for its own changes, or "a person" when unknown.
    by: String,
    /// The partner organisation's name when the partner's side made the change.
    by_partner: Option<String>,
    changed_at: String,
}

#[derive(Serialize)]
struct HistoryResponse {
    entries: Vec<HistoryEntryDto>,
}

/// Both sides' recorded configuration changes of the connection, newest first.
async fn configuration_history(
    State(state): State<AppState>,
    OrgApiCaller { org_id, caller }: OrgApiCaller,
    Path(path): Path<RelationshipPath>,
) -> Result<Json<HistoryResponse>, ConfigurationError> {
    let scope = scope(&state, org_id, Some(caller.person.id), &path.id).await?;
    let rows = super::history::configuration_history(&state, &scope).await?;
    Ok(Json(HistoryResponse {
        entries: rows
            .into_iter()
            .map(|row| HistoryEntryDto {
                change: row.change,
                by: row.who,
                by_partner: row.by_partner,
                changed_at: api_timestamp(row.changed_at),
            })
            .collect(),
    }))
}
