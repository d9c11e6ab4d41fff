//! The configuration pages under `/orgs/{org_id}/connections/{id}/`: Integration configuration
//! (receive defaults, send filter, sync options, reverse sync, closure, the API override with its
//! Test button, Refresh choices), Field mappings (list, create, edit with the value-mapping table,
//! Match by label), Description composition (ordered lines, separator, live preview, remove) and
//! Export / import. Everything is a plain form POST with the session's CSRF token; no JavaScript
//! (sub-issue types are grouped under their issue type in `<optgroup>`s).

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::Form;
use fusion_autotask::{ConnectionInput, TenantChoices, TicketField};
use fusion_domain::{
    Choice, ChoiceValue, DescriptionComposition, FieldMapping, MappingDirection, NoteDefaults,
    Organisation, SideConfig, SyncReadiness,
};
use secrecy::SecretString;
use serde::Deserialize;

use crate::AppState;
use crate::configuration::api::{download, parse_ticket_id};
use crate::configuration::config_file::{FileFormat, MappingSection};
use crate::configuration::error::ConfigurationError;
use crate::configuration::operations::{self, BothSides, Loaded, MappingView, Warning};
use crate::configuration::{Scope, scope};
use crate::page_chrome::{
    CsrfOnlyForm, OrgPageCaller, OrgPageWrite, PageForm, connections_url, internal_error_page,
    nav_for, not_found_page,
};
use crate::platform_settings::{RawSettings, clean, validate_save};
use crate::session::Caller;
use crate::templates::{Banner, Nav, ResultView, render};
use crate::wording::{api_usage_summary, human_date};

pub(crate) fn routes() -> Router<AppState> {
    const BASE: &str = "/orgs/{org_id}/connections/{id}";
    Router::new()
        .route(
            &format!("{BASE}/configuration"),
            get(configuration_page).post(save_configuration),
        )
        .route(
            &format!("{BASE}/configuration/choices/refresh"),
            post(refresh_choices),
        )
        .route(
            &format!("{BASE}/configuration/credentials"),
            post(save_override_credentials),
        )
        .route(
            &format!("{BASE}/configuration/credentials/test"),
            post(test_override_credentials),
        )
        .route(&format!("{BASE}/configuration/export"), get(export_file))
        .route(
            &format!("{BASE}/configuration/import"),
            get(import_page).post(import_file),
        )
        .route(
            &format!("{BASE}/mappings"),
            get(mappings_page).post(create_mapping),
        )
        .route(&format!("{BASE}/mappings/defaults"), post(default_mappings))
        .route(
            &format!("{BASE}/mappings/{{mapping_id}}"),
            get(mapping_page).post(save_mapping),
        )
        .route(
            &format!("{BASE}/mappings/{{mapping_id}}/delete"),
            post(delete_mapping),
        )
        .route(
            &format!("{BASE}/mappings/{{mapping_id}}/match"),
            post(match_mapping),
        )
        .route(
            &format!("{BASE}/description"),
            get(description_page).post(change_description),
        )
        .route(
            &format!("{BASE}/description/remove"),
            post(remove_description),
        )
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

/// The links and facts every configuration page shows at the top.
pub(crate) struct ConnectionHeader {
    pub contract_name: String,
    pub partner_name: String,
    pub role_label: &'static str,
    pub state_label: &'static str,
    pub readiness_label: &'static str,
    pub readiness_ready: bool,
    pub connections_url: String,
    pub configuration_url: String,
    pub mappings_url: String,
    pub description_url: String,
    pub file_url: String,
    /// Which tab is shown: "configuration", "mappings", "description" or "file".
    pub tab: &'static str,
}

fn base_url(org: &Organisation, scope: &Scope) -> String {
    format!("/orgs/{}/connections/{}", org.id, scope.relationship.id)
}

async fn header(
    state: &AppState,
    org: &Organisation,
    scope: &Scope,
    tab: &'static str,
) -> ConnectionHeader {
    let partner_name = match scope.relationship.partner_of(scope.org_id) {
        Some(partner) => match state.store().organisation(partner).await {
            Ok(Some(partner)) => partner.name,
            _ => "the partner".to_owned(),
        },
        None => "(not accepted yet)".to_owned(),
    };
    let base = base_url(org, scope);
    ConnectionHeader {
        contract_name: scope.relationship.contract_name.clone(),
        partner_name,
        role_label: scope.role.label(),
        state_label: scope.relationship.state.label(),
        readiness_label: scope.relationship.readiness.label(),
        readiness_ready: scope.relationship.readiness == SyncReadiness::ReadyForAutomaticSync,
        connections_url: connections_url(org),
        configuration_url: format!("{base}/configuration"),
        mappings_url: format!("{base}/mappings"),
        description_url: format!("{base}/description"),
        file_url: format!("{base}/configuration/import"),
        tab,
    }
}

/// One `<option>`.
pub(crate) struct OptionView {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// Options under a heading (sub-issue types under their issue type).
pub(crate) struct GroupView {
    pub label: String,
    pub options: Vec<OptionView>,
}

/// One `<select>` of the configuration form.
pub(crate) struct SelectView {
    pub name: &'static str,
    pub label: &'static str,
    pub help: &'static str,
    pub multiple: bool,
    pub options: Vec<OptionView>,
    pub groups: Vec<GroupView>,
}

pub(crate) struct CheckboxView {
    pub name: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

/// One section of the configuration form.
pub(crate) struct SectionView {
    pub id: &'static str,
    pub title: &'static str,
    pub help: &'static str,
    pub checkboxes: Vec<CheckboxView>,
    pub selects: Vec<SelectView>,
}

fn option_label(choice: &Choice) -> String {
    if choice.is_active {
        choice.label.clone()
    } else {
        format!("{} (inactive)", choice.label)
    }
}

/// Options for `list`, with `selected` marked; saved values the tenant does not list are kept as
/// options so a save never drops them silently.
fn options_for(choices: &[Choice], selected: &[ChoiceValue]) -> Vec<OptionView> {
    let mut options: Vec<OptionView> = choices
        .iter()
        .map(|choice| OptionView {
            value: choice.value.as_str().to_owned(),
            label: option_label(choice),
            selected: selected.contains(&choice.value),
        })
        .collect();
    for value in selected {
        if !choices.iter().any(|choice| &choice.value == value) {
            options.push(OptionView {
                value: value.as_str().to_owned(),
                label: format!("{} (not in your tenant)", value.as_str()),
                selected: true,
            });
        }
    }
    options
}

fn list(choices: &Loaded, name: &str) -> Vec<Choice> {
    choices
        .as_ref()
        .map(|choices| choices.list(name))
        .unwrap_or_default()
}

fn single(
    choices: &Loaded,
    list_name: &str,
    name: &'static str,
    label: &'static str,
    help: &'static str,
    value: &Option<ChoiceValue>,
) -> SelectView {
    let selected: Vec<ChoiceValue> = value.iter().cloned().collect();
    SelectView {
        name,
        label,
        help,
        multiple: false,
        options: options_for(&list(choices, list_name), &selected),
        groups: Vec::new(),
    }
}

fn multiple(
    choices: &Loaded,
    list_name: &str,
    name: &'static str,
    label: &'static str,
    help: &'static str,
    values: &[ChoiceValue],
) -> SelectView {
    SelectView {
        name,
        label,
        help,
        multiple: true,
        options: options_for(&list(choices, list_name), values),
        groups: Vec::new(),
    }
}

/// Sub-issue types grouped by issue type ("Hardware › Printer"), so the choice makes sense
/// without JavaScript filtering.
fn sub_issue_select(choices: &Loaded, value: &Option<ChoiceValue>) -> SelectView {
    let issues = list(choices, "issue_type");
    let subs = list(choices, "sub_issue_type");
    let selected: Vec<ChoiceValue> = value.iter().cloned().collect();
    let groups: Vec<GroupView> = issues
        .iter()
        .map(|issue| GroupView {
            label: issue.label.clone(),
            options: subs
                .iter()
                .filter(|sub| sub.parent.as_ref() == Some(&issue.value))
                .map(|sub| OptionView {
                    value: sub.value.as_str().to_owned(),
                    label: format!("{} › {}", issue.label, option_label(sub)),
                    selected: selected.contains(&sub.value),
                })
                .collect(),
        })
        .filter(|group| !group.options.is_empty())
        .collect();
    let grouped: Vec<&Choice> = subs
        .iter()
        .filter(|sub| {
            sub.parent
                .as_ref()
                .is_some_and(|parent| issues.iter().any(|issue| &issue.value == parent))
        })
        .collect();
    let ungrouped: Vec<Choice> = subs
        .iter()
        .filter(|sub| !grouped.iter().any(|g| g.value == sub.value))
        .cloned()
        .collect();
    let mut options: Vec<OptionView> = options_for(&ungrouped, &[])
        .into_iter()
        .map(|mut option| {
            option.selected = selected.iter().any(|value| value.as_str() == option.value);
            option
        })
        .collect();
    if let Some(value) = value
        && !subs.iter().any(|sub| &sub.value == value)
    {
        options.push(OptionView {
            value: value.as_str().to_owned(),
            label: format!("{} (not in your tenant)", value.as_str()),
            selected: true,
        });
    }
    SelectView {
        name: "sub_issue_type",
        label: "Sub-issue type",
        help: "Listed under its issue type; it must belong to the issue type chosen above.",
        multiple: false,
        options,
        groups,
    }
}

fn note_selects(choices: &Loaded, notes: &NoteDefaults, kind: &'static str) -> [SelectView; 2] {
    let (type_name, type_label, publish_name, publish_label) = if kind == "public" {
        (
            "public_note_type",
            "Note type for public comments",
            "public_note_publish",
            "Publish level for public comments",
        )
    } else {
        (
            "internal_note_type",
            "Note type for internal comments",
            "internal_note_publish",
            "Publish level for internal comments",
        )
    };
    [
        single(
            choices,
            "note_type",
            type_name,
            type_label,
            "",
            &notes.note_type,
        ),
        single(
            choices,
            "note_publish",
            publish_name,
            publish_label,
            "",
            &notes.publish,
        ),
    ]
}

fn sections(side: &SideConfig, choices: &Loaded) -> Vec<SectionView> {
    let receive = &side.receive;
    let mut receive_selects = vec![
        single(
            choices,
            "company",
            "company",
            "Company",
            "The company in your Autotask that represents the partner.",
            &receive.company,
        ),
        single(choices, "queue", "queue", "Queue", "", &receive.queue),
        single(
            choices,
            "status",
            "status",
            "Status for new tickets",
            "",
            &receive.status,
        ),
        single(
            choices,
            "priority",
            "priority",
            "Priority",
            "",
            &receive.priority,
        ),
        single(
            choices,
            "ticket_type",
            "ticket_type",
            "Ticket type",
            "",
            &receive.ticket_type,
        ),
        single(
            choices,
            "ticket_category",
            "ticket_category",
            "Ticket category",
            "",
            &receive.ticket_category,
        ),
        single(choices, "source", "source", "Source", "", &receive.source),
        single(
            choices,
            "issue_type",
            "issue_type",
            "Issue type",
            "",
            &receive.issue_type,
        ),
        sub_issue_select(choices, &receive.sub_issue_type),
    ];
    receive_selects.extend(note_selects(choices, &receive.public_comment, "public"));
    receive_selects.extend(note_selects(choices, &receive.internal_comment, "internal"));
    receive_selects.push(single(
        choices,
        "attachment_publish",
        "attachment_publish",
        "Publish level for attachments",
        "",
        &receive.attachment_publish,
    ));
    let send = &side.send;
    vec![
        SectionView {
            id: "receive",
            title: "When I receive tickets",
            help: "What is set on tickets your partner sends you. Leave a box empty to use your tenant's default.",
            checkboxes: Vec::new(),
            selects: receive_selects,
        },
        SectionView {
            id: "send",
            title: "When I send tickets",
            help: "Which of your tickets and comments go to the partner. No queue or category chosen means all of them.",
            checkboxes: Vec::new(),
            selects: vec![
                multiple(
                    choices,
                    "queue",
                    "send_queues",
                    "Queues",
                    "Hold Ctrl (Cmd on a Mac) to choose several.",
                    &send.queues,
                ),
                single(
                    choices,
                    "company",
                    "send_partner_company",
                    "Only tickets of this company",
                    "Optional: typically the company that represents the partner.",
                    &send.partner_company,
                ),
                multiple(
                    choices,
                    "ticket_category",
                    "send_categories",
                    "Ticket categories",
                    "",
                    &send.categories,
                ),
                multiple(
                    choices,
                    "note_publish",
                    "public_publish_levels",
                    "Note publish levels that count as public comments",
                    "",
                    &send.public_publish_levels,
                ),
                multiple(
                    choices,
                    "note_publish",
                    "internal_publish_levels",
                    "Note publish levels that count as internal comments",
                    "",
                    &send.internal_publish_levels,
                ),
            ],
        },
        SectionView {
            id: "options",
            title: "Sync options",
            help: "What flows besides the ticket itself.",
            checkboxes: vec![
                CheckboxView {
                    name: "public_comments",
                    label: "Public comments",
                    checked: side.options.public_comments,
                },
                CheckboxView {
                    name: "internal_comments",
                    label: "Internal comments",
                    checked: side.options.internal_comments,
                },
                CheckboxView {
                    name: "attachments",
                    label: "Attachments",
                    checked: side.options.attachments,
                },
            ],
            selects: Vec::new(),
        },
        SectionView {
            id: "reverse",
            title: "Reverse sync",
            help: "Send tickets created on the target side back to the source.",
            checkboxes: vec![CheckboxView {
                name: "reverse_enabled",
                label: "Send tickets created on the target side back to the source",
                checked: side.reverse_sync.enabled,
            }],
            selects: vec![
                multiple(
                    choices,
                    "queue",
                    "reverse_queues",
                    "Only these queues",
                    "",
                    &side.reverse_sync.queues,
                ),
                single(
                    choices,
                    "company",
                    "reverse_company",
                    "Only this company",
                    "",
                    &side.reverse_sync.company,
                ),
            ],
        },
        SectionView {
            id: "closure",
            title: "Closure",
            help: "Which of your statuses mean closed, and what to set when the partner closes its ticket.",
            checkboxes: Vec::new(),
            selects: vec![
                multiple(
                    choices,
                    "status",
                    "closed_statuses",
                    "Statuses that mean closed",
                    "",
                    &side.closure.closed_statuses,
                ),
                single(
                    choices,
                    "status",
                    "status_when_partner_closes",
                    "Status to set when the partner closes",
                    "",
                    &side.closure.status_when_partner_closes,
                ),
            ],
        },
    ]
}

#[derive(Deserialize, Default)]
struct ConfigurationForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    company: String,
    #[serde(default)]
    queue: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    ticket_type: String,
    #[serde(default)]
    ticket_category: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    issue_type: String,
    #[serde(default)]
    sub_issue_type: String,
    #[serde(default)]
    public_note_type: String,
    #[serde(default)]
    public_note_publish: String,
    #[serde(default)]
    internal_note_type: String,
    #[serde(default)]
    internal_note_publish: String,
    #[serde(default)]
    attachment_publish: String,
    #[serde(default)]
    send_queues: Vec<String>,
    #[serde(default)]
    send_partner_company: String,
    #[serde(default)]
    send_categories: Vec<String>,
    #[serde(default)]
    public_publish_levels: Vec<String>,
    #[serde(default)]
    internal_publish_levels: Vec<String>,
    #[serde(default)]
    public_comments: Option<String>,
    #[serde(default)]
    internal_comments: Option<String>,
    #[serde(default)]
    attachments: Option<String>,
    #[serde(default)]
    reverse_enabled: Option<String>,
    #[serde(default)]
    reverse_queues: Vec<String>,
    #[serde(default)]
    reverse_company: String,
    #[serde(default)]
    closed_statuses: Vec<String>,
    #[serde(default)]
    status_when_partner_closes: String,
    #[serde(default)]
    override_api_settings: Option<String>,
}

impl PageForm for ConfigurationForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

fn value(raw: &str) -> Option<ChoiceValue> {
    let trimmed = raw.trim();
    (!trimmed.is_empty()).then(|| ChoiceValue::new(trimmed))
}

fn values(raw: &[String]) -> Vec<ChoiceValue> {
    let mut out: Vec<ChoiceValue> = Vec::new();
    for item in raw.iter().filter_map(|raw| value(raw)) {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

impl ConfigurationForm {
    fn into_side(self) -> SideConfig {
        SideConfig {
            receive: fusion_domain::ReceiveDefaults {
                company: value(&self.company),
                queue: value(&self.queue),
                status: value(&self.status),
                priority: value(&self.priority),
                ticket_type: value(&self.ticket_type),
                ticket_category: value(&self.ticket_category),
                source: value(&self.source),
                issue_type: value(&self.issue_type),
                sub_issue_type: value(&self.sub_issue_type),
                public_comment: NoteDefaults {
                    note_type: value(&self.public_note_type),
                    publish: value(&self.public_note_publish),
                },
                internal_comment: NoteDefaults {
                    note_type: value(&self.internal_note_type),
                    publish: value(&self.internal_note_publish),
                },
                attachment_publish: value(&self.attachment_publish),
            },
            send: fusion_domain::SendFilter {
                queues: values(&self.send_queues),
                partner_company: value(&self.send_partner_company),
                categories: values(&self.send_categories),
                public_publish_levels: values(&self.public_publish_levels),
                internal_publish_levels: values(&self.internal_publish_levels),
            },
            options: fusion_domain::SyncOptions {
                public_comments: self.public_comments.is_some(),
                internal_comments: self.internal_comments.is_some(),
                attachments: self.attachments.is_some(),
            },
            reverse_sync: fusion_domain::ReverseSync {
                enabled: self.reverse_enabled.is_some(),
                queues: values(&self.reverse_queues),
                company: value(&self.reverse_company),
            },
            closure: fusion_domain::ClosureSettings {
                closed_statuses: values(&self.closed_statuses),
                status_when_partner_closes: value(&self.status_when_partner_closes),
            },
            override_api_settings: self.override_api_settings.is_some(),
        }
    }
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

#[derive(Template)]
#[template(path = "configuration.html")]
pub(crate) struct ConfigurationPage {
    pub title: &'static str,
    pub active: &'static str,
    pub nav: Option<Nav>,
    pub header: ConnectionHeader,
    pub csrf_token: String,
    pub save_url: String,
    pub refresh_url: String,
    pub choices_loaded: Option<String>,
    pub choices_error: Option<String>,
    pub banner: Option<Banner>,
    pub warnings: Vec<WarningView>,
    pub sections: Vec<SectionView>,
    pub override_api_settings: bool,
    pub credentials_url: String,
    pub credentials_test_url: String,
    pub override_api_url: String,
    pub override_username: String,
    pub override_secret_status: String,
    pub override_problems: Vec<String>,
    pub override_result: Option<ResultView>,
}

#[derive(Default)]
struct ConfigurationView {
    banner: Option<Banner>,
    warnings: Option<Vec<Warning>>,
    refresh: bool,
    entered_api_url: Option<String>,
    entered_username: Option<String>,
    override_problems: Vec<String>,
    override_result: Option<ResultView>,
}

async fn render_configuration(
    state: &AppState,
    caller: &Caller,
    org: &Organisation,
    scope: &Scope,
    status: StatusCode,
    view: ConfigurationView,
) -> Response {
    let (side, _) = match operations::side_config(state, scope).await {
        Ok(side) => side,
        Err(error) => return failure_page(error),
    };
    let choices = operations::my_choices(state, scope, view.refresh).await;
    let warnings = view
        .warnings
        .unwrap_or_else(|| operations::warnings(&side, &choices));
    let credentials = match state
        .store()
        .relationship_credentials(scope.relationship.id, scope.org_id)
        .await
    {
        Ok(credentials) => credentials,
        Err(error) => return internal_error_page(error.into()),
    };
    let base = base_url(org, scope);
    let page = ConfigurationPage {
        title: "Integration configuration",
        active: "connections",
        nav: nav_for(caller, org),
        header: header(state, org, scope, "configuration").await,
        csrf_token: caller.csrf_token().unwrap_or_default(),
        save_url: format!("{base}/configuration"),
        refresh_url: format!("{base}/configuration/choices/refresh"),
        choices_loaded: choices
            .as_ref()
            .ok()
            .map(|choices: &std::sync::Arc<TenantChoices>| human_date(choices.fetched_at())),
        choices_error: choices.as_ref().err().map(ToString::to_string),
        banner: view.banner,
        warnings: warning_views(
            warnings
                .into_iter()
                // The choices error is shown once, at the top.
                .filter(|warning| choices.is_ok() || warning.setting != "Autotask")
                .collect(),
        ),
        sections: sections(&side, &choices),
        override_api_settings: side.override_api_settings,
        credentials_url: format!("{base}/configuration/credentials"),
        credentials_test_url: format!("{base}/configuration/credentials/test"),
        override_api_url: view.entered_api_url.unwrap_or_else(|| {
            credentials
                .as_ref()
                .map(|c| c.api_url.clone())
                .unwrap_or_default()
        }),
        override_username: view.entered_username.unwrap_or_else(|| {
            credentials
                .as_ref()
                .map(|c| c.username.clone())
                .unwrap_or_default()
        }),
        override_secret_status: match &credentials {
            Some(credentials) if credentials.secret_set => match credentials.secret_changed_at {
                Some(at) => format!("Set — last changed {}", human_date(at)),
                None => "Set".to_owned(),
            },
            _ => "Not set".to_owned(),
        },
        override_problems: view.override_problems,
        override_result: view.override_result,
    };
    render(status, &page)
}

/// Resolves the page's relationship, or the response to send instead.
async fn page_scope(state: &AppState, org: &Organisation, id: &str) -> Result<Scope, Response> {
    scope(state, org.id, id).await.map_err(failure_page)
}

async fn configuration_page(
    State(state): State<AppState>,
    OrgPageCaller { caller, org }: OrgPageCaller,
    Path(path): Path<RelationshipPath>,
) -> Response {
    let scope = match page_scope(&state, &org, &path.id).await {
        Ok(scope) => scope,
        Err(response) => return response,
    };
    render_configuration(
        &state,
        &caller,
        &org,
        &scope,
        StatusCode::OK,
        ConfigurationView::default(),
    )
    .await
}

async fn save_configuration(
    State(state): State<AppState>,
    OrgPageWrite {
        caller,
        org,
        path: Path(path),
        form: Form(form),
    }: OrgPageWrite<Form<ConfigurationForm>, Path<RelationshipPath>>,
) -> Response {
    let scope = match page_scope(&state, &org, &path.id).await {
        Ok(scope) => scope,
        Err(response) => return response,
    };
    let side = form.into_side();
    let warnings = match operations::save_side(&state, &scope, &side).await {
        Ok(warnings) => warnings,
        Err(error) => return failure_page(error),
    };
    let text = if warnings.is_empty() {
        "Saved.".to_owned()
    } else {
        "Saved, with warnings: check the settings listed below before the first sync.".to_owned()
    };
    let view = ConfigurationView {
        banner: Some(Banner {
            success: warnings.is_empty(),
            text,
        }),
        warnings: Some(warnings),
        ..ConfigurationView::default()
    };
    render_configuration(&state, &caller, &org, &scope, StatusCode::OK, view).await
}

async fn refresh_choices(
    State(state): State<AppState>,
    OrgPageWrite {
        caller,
        org,
        path: Path(path),
        ..
    }: OrgPageWrite<Form<CsrfOnlyForm>, Path<RelationshipPath>>,
) -> Response {
    let scope = match page_scope(&state, &org, &path.id).await {
        Ok(scope) => scope,
        Err(response) => return response,
    };
    let view = ConfigurationView {
        refresh: true,
        ..ConfigurationView::default()
    };
    render_configuration(&state, &caller, &org, &scope, StatusCode::OK, view).await
}

#[derive(Deserialize)]
struct OverrideForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    api_url: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    secret: Option<SecretString>,
}

impl PageForm for OverrideForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

impl OverrideForm {
    fn into_clean(self) -> crate::platform_settings::CleanSettings {
        clean(RawSettings {
            platform: Some("autotask".to_owned()),
            api_url: self.api_url,
            username: self.username,
            secret: self.secret,
            integration_code_override: None,
        })
    }
}

async fn save_override_credentials(
    State(state): State<AppState>,
    OrgPageWrite {
        caller,
        org,
        path: Path(path),
        form: Form(form),
    }: OrgPageWrite<Form<OverrideForm>, Path<RelationshipPath>>,
) -> Response {
    let scope = match page_scope(&state, &org, &path.id).await {
        Ok(scope) => scope,
        Err(response) => return response,
    };
    let settings = form.into_clean();
    match validate_save(&settings) {
        Ok(valid) => {
            if let Err(error) = state
                .store()
                .save_relationship_credentials(
                    scope.relationship.id,
                    scope.org_id,
                    Some(caller.person.id),
                    valid.update,
                )
                .await
            {
                return internal_error_page(error.into());
            }
            tracing::info!(relationship = %scope.relationship.id, org = %scope.org_id, "relationship API settings saved");
            let view = ConfigurationView {
                banner: Some(Banner {
                    success: true,
                    text: "Saved the API settings for this relationship. Use Test to check them; they are used when \"Override API settings for this relationship\" is on.".to_owned(),
                }),
                ..ConfigurationView::default()
            };
            render_configuration(&state, &caller, &org, &scope, StatusCode::OK, view).await
        }
        Err(problems) => {
            let view = ConfigurationView {
                banner: Some(Banner {
                    success: false,
                    text: "Not saved: fix the API settings below.".to_owned(),
                }),
                entered_api_url: settings.api_url.clone(),
                entered_username: settings.username.clone(),
                override_problems: problems
                    .iter()
                    .map(|problem| match problem.fix() {
                        Some(fix) => format!("{} {fix}", problem.message()),
                        None => problem.message(),
                    })
                    .collect(),
                ..ConfigurationView::default()
            };
            render_configuration(
                &state,
                &caller,
                &org,
                &scope,
                StatusCode::UNPROCESSABLE_ENTITY,
                view,
            )
            .await
        }
    }
}

fn result_view(report: &fusion_domain::ConnectionTestReport, unsaved: bool) -> ResultView {
    ResultView {
        success: report.is_success(),
        status: report.outcome.label(),
        tested_values_label: Some(if unsaved {
            "Tested the values in the form. They are not saved yet: Save to keep them."
        } else {
            "Tested the saved API settings of this relationship."
        }),
        reason: if report.reason == report.outcome.label() {
            String::new()
        } else {
            report.reason.clone()
        },
        fix: report.fix.clone(),
        zone: report.zone.clone(),
        api_usage: report.api_usage.as_ref().map(api_usage_summary),
        tested_at: human_date(report.tested_at),
        notes: report.notes.clone(),
    }
}

async fn test_override_credentials(
    State(state): State<AppState>,
    OrgPageWrite {
        caller,
        org,
        path: Path(path),
        form: Form(form),
    }: OrgPageWrite<Form<OverrideForm>, Path<RelationshipPath>>,
) -> Response {
    let scope = match page_scope(&state, &org, &path.id).await {
        Ok(scope) => scope,
        Err(response) => return response,
    };
    let settings = form.into_clean();
    let store = state.store();
    let (saved, saved_secret) = match (
        store
            .relationship_credentials(scope.relationship.id, scope.org_id)
            .await,
        store
            .relationship_secret(scope.relationship.id, scope.org_id)
            .await,
    ) {
        (Ok(saved), Ok(secret)) => (saved, secret),
        (Err(error), _) | (_, Err(error)) => return internal_error_page(error.into()),
    };
    let saved_api_url = saved
        .as_ref()
        .map(|c| c.api_url.clone())
        .unwrap_or_default();
    let saved_username = saved
        .as_ref()
        .map(|c| c.username.clone())
        .unwrap_or_default();
    let api_url = settings
        .api_url
        .clone()
        .filter(|value| !value.is_empty())
        .unwrap_or_else(|| saved_api_url.clone());
    let username = settings
        .username
        .clone()
        .filter(|value| !value.is_empty())
        .unwrap_or_else(|| saved_username.clone());
    let unsaved =
        api_url != saved_api_url || username != saved_username || settings.secret.is_some();
    let secret = settings.secret.clone().or(saved_secret);
    let view = match secret {
        Some(secret) if !api_url.is_empty() && !username.is_empty() => {
            let report = state
                .tester()
                .test(ConnectionInput {
                    api_url,
                    username,
                    secret,
                    integration_code: saved.and_then(|c| c.integration_code_override),
                })
                .await;
            tracing::info!(relationship = %scope.relationship.id, org = %scope.org_id, outcome = report.outcome.label(), "relationship API settings tested");
            ConfigurationView {
                entered_api_url: settings.api_url,
                entered_username: settings.username,
                override_result: Some(result_view(&report, unsaved)),
                ..ConfigurationView::default()
            }
        }
        _ => ConfigurationView {
            entered_api_url: settings.api_url,
            entered_username: settings.username,
            override_problems: vec![
                "Enter the API URL, API username and API secret of this relationship's API user, then Test.".to_owned(),
            ],
            ..ConfigurationView::default()
        },
    };
    render_configuration(&state, &caller, &org, &scope, StatusCode::OK, view).await
}

// ---------------------------------------------------------------------------------------------
// Field mappings

pub(crate) struct FieldOption {
    pub name: String,
    pub label: String,
    pub selected: bool,
}

fn field_options(fields: &[TicketField], selected: &str) -> Vec<FieldOption> {
    let mut options: Vec<FieldOption> = fields
        .iter()
        .map(|field| FieldOption {
            name: field.name.clone(),
            label: field.label.clone(),
            selected: field.name == selected,
        })
        .collect();
    if !selected.is_empty() && !fields.iter().any(|field| field.name == selected) {
        options.push(FieldOption {
            name: selected.to_owned(),
            label: selected.to_owned(),
            selected: true,
        });
    }
    options
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
    let mappings = match operations::mappings(state, scope).await {
        Ok(mappings) => mappings,
        Err(error) => return failure_page(error),
    };
    let sides = BothSides::load(state, scope).await;
    let (source_fields, target_fields) = operations::mappable_fields(&sides);
    let base = base_url(org, scope);
    let rows = mappings
        .into_iter()
        .map(|mapping| {
            let view = operations::mapping_view(mapping, &sides);
            MappingRow {
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

async fn mappings_page(
    State(state): State<AppState>,
    OrgPageCaller { caller, org }: OrgPageCaller,
    Path(path): Path<RelationshipPath>,
) -> Response {
    let scope = match page_scope(&state, &org, &path.id).await {
        Ok(scope) => scope,
        Err(response) => return response,
    };
    render_mappings(&state, &caller, &org, &scope, StatusCode::OK, None).await
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
}

impl PageForm for MappingForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

impl MappingForm {
    fn section(&self) -> MappingSection {
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
        MappingSection {
            ticket_type: fusion_autotask::TICKET_TYPE.to_owned(),
            source_field: self.source_field.trim().to_owned(),
            target_field: self.target_field.trim().to_owned(),
            direction: crate::configuration::config_file::DirectionText(direction),
            values,
        }
    }
}

fn problem_banner(error: &ConfigurationError) -> Banner {
    Banner {
        success: false,
        text: format!("Not saved: {error}."),
    }
}

async fn create_mapping(
    State(state): State<AppState>,
    OrgPageWrite {
        caller,
        org,
        path: Path(path),
        form: Form(form),
    }: OrgPageWrite<Form<MappingForm>, Path<RelationshipPath>>,
) -> Response {
    let scope = match page_scope(&state, &org, &path.id).await {
        Ok(scope) => scope,
        Err(response) => return response,
    };
    match operations::create_mapping(&state, &scope, form.section()).await {
        Ok(view) => Redirect::to(&format!(
            "{}/mappings/{}",
            base_url(&org, &scope),
            view.mapping.id
        ))
        .into_response(),
        Err(error) if matches!(error, ConfigurationError::Invalid { .. }) => {
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
    OrgPageWrite {
        caller,
        org,
        path: Path(path),
        ..
    }: OrgPageWrite<Form<CsrfOnlyForm>, Path<RelationshipPath>>,
) -> Response {
    let scope = match page_scope(&state, &org, &path.id).await {
        Ok(scope) => scope,
        Err(response) => return response,
    };
    let banner = match operations::create_default_mappings(&state, &scope).await {
        Ok(created) => Banner {
            success: true,
            text: format!(
                "Created {} default mappings; values were matched by label where both tenants have the same label. Check each one.",
                created.len()
            ),
        },
        Err(error @ ConfigurationError::Conflict { .. }) => Banner {
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
    let sides = BothSides::load(state, scope).await;
    let (source_fields, target_fields) = operations::mappable_fields(&sides);
    let view = operations::mapping_view(mapping, &sides);
    let base = base_url(org, scope);
    let rows = value_rows(&view);
    let page = MappingEditPage {
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
    OrgPageCaller { caller, org }: OrgPageCaller,
    Path(path): Path<MappingPath>,
) -> Response {
    let scope = match page_scope(&state, &org, &path.id).await {
        Ok(scope) => scope,
        Err(response) => return response,
    };
    match operations::mapping(&state, &scope, &path.mapping_id).await {
        Ok(mapping) => {
            render_mapping(&state, &caller, &org, &scope, mapping, StatusCode::OK, None).await
        }
        Err(error) => failure_page(error),
    }
}

async fn save_mapping(
    State(state): State<AppState>,
    OrgPageWrite {
        caller,
        org,
        path: Path(path),
        form: Form(form),
    }: OrgPageWrite<Form<MappingForm>, Path<MappingPath>>,
) -> Response {
    let scope = match page_scope(&state, &org, &path.id).await {
        Ok(scope) => scope,
        Err(response) => return response,
    };
    match operations::update_mapping(&state, &scope, &path.mapping_id, form.section()).await {
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
        Err(error @ ConfigurationError::Invalid { .. }) => {
            match operations::mapping(&state, &scope, &path.mapping_id).await {
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
    OrgPageWrite {
        caller,
        org,
        path: Path(path),
        ..
    }: OrgPageWrite<Form<CsrfOnlyForm>, Path<MappingPath>>,
) -> Response {
    let scope = match page_scope(&state, &org, &path.id).await {
        Ok(scope) => scope,
        Err(response) => return response,
    };
    match operations::delete_mapping(&state, &scope, &path.mapping_id).await {
        Ok(()) => {
            render_mappings(
                &state,
                &caller,
                &org,
                &scope,
                StatusCode::OK,
                Some(Banner {
                    success: true,
                    text: "Mapping removed.".to_owned(),
                }),
            )
            .await
        }
        Err(error) => failure_page(error),
    }
}

async fn match_mapping(
    State(state): State<AppState>,
    OrgPageWrite {
        caller,
        org,
        path: Path(path),
        ..
    }: OrgPageWrite<Form<CsrfOnlyForm>, Path<MappingPath>>,
) -> Response {
    let scope = match page_scope(&state, &org, &path.id).await {
        Ok(scope) => scope,
        Err(response) => return response,
    };
    match operations::match_by_label(&state, &scope, &path.mapping_id).await {
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
        Err(error @ ConfigurationError::Autotask { .. }) => {
            match operations::mapping(&state, &scope, &path.mapping_id).await {
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

// ---------------------------------------------------------------------------------------------
// Description composition

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
    let stored = match operations::composition(state, scope).await {
        Ok(stored) => stored,
        Err(error) => return failure_page(error),
    };
    let composition = stored.clone().unwrap_or_default();
    let fields = operations::composable_fields(state, scope).await;
    let labels: HashMap<&str, &str> = fields
        .iter()
        .map(|(name, label)| (name.as_str(), label.as_str()))
        .collect();
    let (mut preview_ticket, mut preview_text, mut preview_error) = (None, None, None);
    if stored.is_some() {
        let result = match parse_ticket_id(ticket_id.as_deref()) {
            Ok(id) => operations::preview(state, scope, &composition, id).await,
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
                field: labels.get(field.field.as_str()).map_or_else(
                    || field.field.clone(),
                    |label| format!("{label} ({})", field.field),
                ),
                label: field.label.clone(),
                first: index == 0,
                last: index + 1 == count,
            })
            .collect(),
        separator: composition.separator.clone(),
        fields: fields
            .into_iter()
            .map(|(name, label)| FieldOption {
                name,
                label,
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
    OrgPageCaller { caller, org }: OrgPageCaller,
    Path(path): Path<RelationshipPath>,
    Query(query): Query<PreviewQuery>,
) -> Response {
    let scope = match page_scope(&state, &org, &path.id).await {
        Ok(scope) => scope,
        Err(response) => return response,
    };
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
    OrgPageWrite {
        caller,
        org,
        path: Path(path),
        form: Form(form),
    }: OrgPageWrite<Form<DescriptionForm>, Path<RelationshipPath>>,
) -> Response {
    let scope = match page_scope(&state, &org, &path.id).await {
        Ok(scope) => scope,
        Err(response) => return response,
    };
    let mut composition = match operations::composition(&state, &scope).await {
        Ok(stored) => stored.unwrap_or_default(),
        Err(error) => return failure_page(error),
    };
    let labels: HashMap<String, String> = operations::composable_fields(&state, &scope)
        .await
        .into_iter()
        .collect();
    let banner = match apply_change(&mut composition, &form, &labels) {
        Ok(text) => {
            if let Err(error) = operations::save_composition(&state, &scope, &composition).await {
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
    OrgPageWrite {
        caller,
        org,
        path: Path(path),
        ..
    }: OrgPageWrite<Form<CsrfOnlyForm>, Path<RelationshipPath>>,
) -> Response {
    let scope = match page_scope(&state, &org, &path.id).await {
        Ok(scope) => scope,
        Err(response) => return response,
    };
    if let Err(error) = operations::remove_composition(&state, &scope).await {
        return failure_page(error);
    }
    let banner = Banner {
        success: true,
        text: "Description composition removed: the description is mapped as it is.".to_owned(),
    };
    render_description(&state, &caller, &org, &scope, None, Some(banner)).await
}

// ---------------------------------------------------------------------------------------------
// Export / import

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
    OrgPageCaller { caller, org }: OrgPageCaller,
    Path(path): Path<RelationshipPath>,
) -> Response {
    let scope = match page_scope(&state, &org, &path.id).await {
        Ok(scope) => scope,
        Err(response) => return response,
    };
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
    OrgPageCaller { org, .. }: OrgPageCaller,
    Path(path): Path<RelationshipPath>,
    Query(query): Query<FormatQuery>,
) -> Response {
    let scope = match page_scope(&state, &org, &path.id).await {
        Ok(scope) => scope,
        Err(response) => return response,
    };
    let format = query
        .format
        .as_deref()
        .and_then(FileFormat::parse)
        .unwrap_or(FileFormat::Toml);
    match operations::export(&state, &scope, format).await {
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
    OrgPageWrite {
        caller,
        org,
        path: Path(path),
        form: Form(form),
    }: OrgPageWrite<Form<ImportForm>, Path<RelationshipPath>>,
) -> Response {
    let scope = match page_scope(&state, &org, &path.id).await {
        Ok(scope) => scope,
        Err(response) => return response,
    };
    match operations::import(&state, &scope, &form.file, None).await {
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
