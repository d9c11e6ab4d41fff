//! The "Organisation connections" page (`/orgs/{org_id}/connections`): the organisation's
//! connections with their state, readiness and code expiry, the lifecycle buttons, the form that
//! creates a connection (and shows its code once), and the form that accepts a partner's code.
//! Everything is a plain form POST carrying the session's CSRF token; no JavaScript. Revoke and End
//! ask to confirm first (a `<details>` disclosure, so it needs no script), and every lifecycle
//! action but Re-issue redirects back to the list afterwards, so a reload does not repeat it.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use fusion_domain::{Organisation, RelationshipState, SyncReadiness, VerificationCode};
use fusion_engine::{CONTRACT_NAME_MAX_CHARS, LifecycleAction, NewConnection};
use serde::Deserialize;

use crate::AppState;
use crate::page_chrome::{
    CsrfOnlyForm, OrgPageCaller, OrgPageWrite, PageForm, connections_url, internal_error_page,
    nav_for, not_found_page,
};
use crate::relationships::error::ConnectionError;
use crate::relationships::{ConnectionSeen, connections_of, parse_relationship_id};
use crate::session::Caller;
use crate::templates::{Banner, Nav, render};
use crate::wording::human_date;

pub(crate) fn routes() -> Router<AppState> {
    let action = |action: LifecycleAction| {
        post(
            move |state: State<AppState>,
                  write: OrgPageWrite<Form<CsrfOnlyForm>, Path<(String, String)>>| {
                perform(state, write, action)
            },
        )
    };
    Router::new()
        .route(
            "/orgs/{org_id}/connections",
            get(connections_page).post(create_connection),
        )
        .route("/orgs/{org_id}/connections/accept", post(accept_connection))
        .route(
            "/orgs/{org_id}/connections/{id}/revoke",
            action(LifecycleAction::Revoke),
        )
        .route(
            "/orgs/{org_id}/connections/{id}/reissue",
            action(LifecycleAction::Reissue),
        )
        .route(
            "/orgs/{org_id}/connections/{id}/pause",
            action(LifecycleAction::Pause),
        )
        .route(
            "/orgs/{org_id}/connections/{id}/resume",
            action(LifecycleAction::Resume),
        )
        .route(
            "/orgs/{org_id}/connections/{id}/end",
            action(LifecycleAction::End),
        )
}

/// One lifecycle button.
pub(crate) struct ActionButton {
    pub url: String,
    pub label: &'static str,
    /// Revoke and End cannot be undone: the button opens a confirmation first.
    pub is_final: bool,
    /// For a final action, what it does, said before the person confirms.
    pub consequence: &'static str,
    /// For a final action, the confirming button's words after "Yes, ".
    pub confirm_label: &'static str,
}

/// A link from a connection's row to one of its pages.
pub(crate) struct RowLink {
    pub url: String,
    pub label: &'static str,
}

/// What a final action does, said before it is confirmed, and the confirming words.
fn confirmation(action: LifecycleAction) -> (&'static str, &'static str) {
    match action {
        LifecycleAction::Revoke => (
            "The verification code stops working and the connection cannot be accepted any more. This cannot be undone.",
            "revoke the code",
        ),
        LifecycleAction::End => (
            "Sync stops for both organisations and the connection cannot be resumed; tickets already synced stay as they are. This cannot be undone.",
            "end the connection",
        ),
        _ => ("", ""),
    }
}

/// One row of the connections list.
pub(crate) struct ConnectionRow {
    pub contract_name: String,
    pub partner: String,
    pub role_label: &'static str,
    pub state_label: &'static str,
    /// CSS modifier of the state badge, e.g. "active".
    pub state_class: &'static str,
    /// Shown for connections that can sync (Active or Paused).
    pub readiness_label: Option<&'static str>,
    pub readiness_ready: bool,
    /// For Pending connections: when the code runs out (or ran out).
    pub expiry: Option<String>,
    pub code_expired: bool,
    pub actions: Vec<ActionButton>,
    /// The connection's own pages (Sync, Integration configuration), for connections that can sync.
    pub links: Vec<RowLink>,
    /// Where the readiness badge leads: the place its state is resolved (the Sync page).
    pub readiness_url: Option<String>,
    /// What the person does there, as the badge link's title.
    pub readiness_hint: &'static str,
}

/// A code just issued, shown this once.
pub(crate) struct IssuedCodeView {
    pub code: String,
    pub contract_name: String,
    pub role_label: &'static str,
    pub expires: String,
}

#[derive(Template)]
#[template(path = "connections.html")]
pub(crate) struct ConnectionsPage {
    pub title: &'static str,
    pub active: &'static str,
    pub nav: Option<Nav>,
    pub org_name: String,
    pub csrf_token: String,
    pub create_url: String,
    pub accept_url: String,
    pub banner: Option<Banner>,
    pub issued_code: Option<IssuedCodeView>,
    pub connections: Vec<ConnectionRow>,
    pub create_error: Option<String>,
    pub create_error_field: &'static str,
    pub entered_role: String,
    pub entered_contract_name: String,
    pub contract_name_max_chars: usize,
    pub accept_error: Option<String>,
    pub entered_code: String,
}

/// What the page shows besides the list.
#[derive(Default)]
struct ConnectionsView {
    banner: Option<Banner>,
    issued_code: Option<IssuedCodeView>,
    create_error: Option<(&'static str, String)>,
    entered_role: String,
    entered_contract_name: String,
    accept_error: Option<String>,
    entered_code: String,
}

fn state_class(state: RelationshipState) -> &'static str {
    state.as_str()
}

fn connection_row(
    org: &Organisation,
    seen: &ConnectionSeen,
    now: time::OffsetDateTime,
) -> ConnectionRow {
    let relationship = &seen.relationship;
    let base = format!("{}/{}", connections_url(org), relationship.id);
    let can_sync = matches!(
        relationship.state,
        RelationshipState::Active | RelationshipState::Paused
    );
    let partner = match (&seen.partner_name, relationship.state) {
        (Some(name), _) => name.clone(),
        (None, RelationshipState::Pending) => {
            "Waiting for your partner to enter the code".to_owned()
        }
        (None, _) => "No partner".to_owned(),
    };
    let code_expired = seen.code_expired(now);
    let ready = relationship.readiness == SyncReadiness::ReadyForAutomaticSync;
    let sync_page = format!("/orgs/{}/sync?relationship={}", org.id, relationship.id);
    let expiry = (relationship.state == RelationshipState::Pending)
        .then_some(relationship.code_expires_at)
        .flatten()
        .map(|expires_at| {
            if code_expired {
                format!("Code expired on {}", human_date(expires_at))
            } else {
                format!("Code expires on {}", human_date(expires_at))
            }
        });
    ConnectionRow {
        contract_name: relationship.contract_name.clone(),
        partner,
        role_label: seen.role().label(),
        state_label: relationship.state.label(),
        state_class: state_class(relationship.state),
        readiness_label: can_sync.then_some(relationship.readiness.label()),
        readiness_ready: ready,
        expiry,
        code_expired,
        actions: seen
            .available_actions()
            .into_iter()
            .map(|action| {
                let (consequence, confirm_label) = confirmation(action);
                ActionButton {
                    url: format!("{base}/{}", action.as_str()),
                    label: action.label(),
                    is_final: matches!(action, LifecycleAction::Revoke | LifecycleAction::End),
                    consequence,
                    confirm_label,
                }
            })
            .collect(),
        links: if can_sync {
            vec![
                RowLink {
                    url: sync_page.clone(),
                    label: "Sync",
                },
                RowLink {
                    url: format!("/orgs/{}/sync/{}/tickets", org.id, relationship.id),
                    label: "Tickets",
                },
                RowLink {
                    url: format!("{base}/configuration"),
                    label: "Integration configuration",
                },
            ]
        } else {
            Vec::new()
        },
        readiness_url: can_sync.then(|| {
            if ready {
                format!("{sync_page}#automatic-sync")
            } else {
                format!("{sync_page}#sync-now")
            }
        }),
        readiness_hint: if ready {
            "Switch automatic sync on or off on the Sync page"
        } else {
            "Run the first manual sync on the Sync page"
        },
    }
}

async fn render_connections(
    state: &AppState,
    caller: &Caller,
    org: &Organisation,
    status: StatusCode,
    view: ConnectionsView,
) -> Response {
    let connections = match connections_of(state, org.id).await {
        Ok(connections) => connections,
        Err(ConnectionError::Api(error)) => return internal_error_page(error),
        Err(other) => {
            return internal_error_page(crate::error::ApiError::Internal(other.to_string()));
        }
    };
    let now = state.clock().now();
    let (create_error_field, create_error) = match view.create_error {
        Some((field, message)) => (field, Some(message)),
        None => ("", None),
    };
    let page = ConnectionsPage {
        title: "Organisation connections",
        active: "connections",
        nav: nav_for(caller, org),
        org_name: org.name.clone(),
        csrf_token: caller.csrf_token().unwrap_or_default(),
        create_url: connections_url(org),
        accept_url: format!("{}/accept", connections_url(org)),
        banner: view.banner,
        issued_code: view.issued_code,
        connections: connections
            .iter()
            .map(|seen| connection_row(org, seen, now))
            .collect(),
        create_error,
        create_error_field,
        entered_role: view.entered_role,
        entered_contract_name: view.entered_contract_name,
        contract_name_max_chars: CONTRACT_NAME_MAX_CHARS,
        accept_error: view.accept_error,
        entered_code: view.entered_code,
    };
    render(status, &page)
}

fn issued_code_view(
    seen: &ConnectionSeen,
    code: &VerificationCode,
    now: time::OffsetDateTime,
) -> IssuedCodeView {
    let expires_at = seen
        .relationship
        .code_expires_at
        .unwrap_or(now + fusion_domain::VERIFICATION_CODE_LIFETIME);
    IssuedCodeView {
        code: code.as_str().to_owned(),
        contract_name: seen.relationship.contract_name.clone(),
        role_label: seen.role().label(),
        expires: human_date(expires_at),
    }
}

/// After a lifecycle action the browser is sent back here (`?done=end&connection=…`), so a reload
/// shows the list again instead of repeating the action; the banner says what was done.
#[derive(Deserialize, Default)]
struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    connection: Option<String>,
}

async fn connections_page(
    State(state): State<AppState>,
    OrgPageCaller { caller, org }: OrgPageCaller,
    Query(query): Query<DoneQuery>,
) -> Response {
    let mut view = ConnectionsView::default();
    let action = query.done.as_deref().and_then(|done| {
        LifecycleAction::ALL
            .into_iter()
            .find(|a| a.as_str() == done)
    });
    if let (Some(action), Some(id)) = (
        action,
        query
            .connection
            .as_deref()
            .and_then(|id| parse_relationship_id(id).ok()),
    ) && let Ok(connections) = connections_of(&state, org.id).await
        && let Some(seen) = connections.iter().find(|seen| seen.relationship.id == id)
    {
        view.banner = Some(Banner {
            success: true,
            text: format!(
                "{} — {}",
                seen.relationship.contract_name,
                action.done_message()
            ),
        });
    }
    render_connections(&state, &caller, &org, StatusCode::OK, view).await
}

#[derive(Deserialize)]
struct CreateForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    contract_name: Option<String>,
}

impl PageForm for CreateForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

async fn create_connection(
    State(state): State<AppState>,
    OrgPageWrite {
        caller,
        org,
        form: Form(form),
        ..
    }: OrgPageWrite<Form<CreateForm>>,
) -> Response {
    let new = match NewConnection::parse(form.role.as_deref(), form.contract_name.as_deref()) {
        Ok(new) => new,
        Err(problem) => {
            let view = ConnectionsView {
                create_error: Some((problem.field(), problem.message())),
                entered_role: form.role.unwrap_or_default().trim().to_lowercase(),
                entered_contract_name: form.contract_name.unwrap_or_default(),
                ..ConnectionsView::default()
            };
            return render_connections(
                &state,
                &caller,
                &org,
                StatusCode::UNPROCESSABLE_ENTITY,
                view,
            )
            .await;
        }
    };
    match state
        .connections()
        .create(org.id, new)
        .await
        .map_err(ConnectionError::from)
    {
        Ok(issued) => {
            let view = ConnectionsView {
                issued_code: Some(issued_code_view(
                    &issued.connection,
                    &issued.code,
                    state.clock().now(),
                )),
                ..ConnectionsView::default()
            };
            render_connections(&state, &caller, &org, StatusCode::OK, view).await
        }
        Err(error) => error_response(&state, &caller, &org, error).await,
    }
}

#[derive(Deserialize)]
struct AcceptForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    code: String,
}

impl PageForm for AcceptForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

async fn accept_connection(
    State(state): State<AppState>,
    OrgPageWrite {
        caller,
        org,
        form: Form(form),
        ..
    }: OrgPageWrite<Form<AcceptForm>>,
) -> Response {
    match state
        .connections()
        .accept(org.id, &form.code)
        .await
        .map_err(ConnectionError::from)
    {
        Ok(seen) => {
            let partner = seen
                .partner_name
                .clone()
                .unwrap_or_else(|| "your partner".to_owned());
            let view = ConnectionsView {
                banner: Some(Banner {
                    success: true,
                    text: format!(
                        "Connected with {partner} as {}. The connection is active; configure it, then run the initial sync.",
                        seen.role().label()
                    ),
                }),
                ..ConnectionsView::default()
            };
            render_connections(&state, &caller, &org, StatusCode::OK, view).await
        }
        Err(error @ (ConnectionError::Code(_) | ConnectionError::Throttled { .. })) => {
            let view = ConnectionsView {
                accept_error: Some(error.to_string()),
                entered_code: form.code.trim().to_owned(),
                ..ConnectionsView::default()
            };
            render_connections(&state, &caller, &org, error.status(), view).await
        }
        Err(error) => error_response(&state, &caller, &org, error).await,
    }
}

async fn perform(
    State(state): State<AppState>,
    OrgPageWrite {
        caller,
        org,
        path: Path((_, id)),
        ..
    }: OrgPageWrite<Form<CsrfOnlyForm>, Path<(String, String)>>,
    action: LifecycleAction,
) -> Response {
    let id = match parse_relationship_id(&id) {
        Ok(id) => id,
        Err(_) => return not_found_page(),
    };
    match state
        .connections()
        .perform(org.id, id, action)
        .await
        .map_err(ConnectionError::from)
    {
        Ok(outcome) => {
            let Some(code) = outcome.new_code.as_ref() else {
                // Post/redirect/get: a reload of the page that follows does not repeat the action.
                return Redirect::to(&format!(
                    "{}?done={}&connection={id}",
                    connections_url(&org),
                    action.as_str()
                ))
                .into_response();
            };
            // A re-issued code is shown this once, so it is rendered rather than redirected to.
            let now = state.clock().now();
            let view = ConnectionsView {
                banner: Some(Banner {
                    success: true,
                    text: format!(
                        "{} — {}",
                        outcome.connection.relationship.contract_name,
                        action.done_message()
                    ),
                }),
                issued_code: Some(issued_code_view(&outcome.connection, code, now)),
                ..ConnectionsView::default()
            };
            render_connections(&state, &caller, &org, StatusCode::OK, view).await
        }
        Err(error) => error_response(&state, &caller, &org, error).await,
    }
}

/// Not found looks exactly like any other missing page; a refused change is shown on the page.
async fn error_response(
    state: &AppState,
    caller: &Caller,
    org: &Organisation,
    error: ConnectionError,
) -> Response {
    match error {
        error if error.is_not_found() => not_found_page(),
        ConnectionError::Api(error) => internal_error_page(error),
        error => {
            let status = error.status();
            let view = ConnectionsView {
                banner: Some(Banner {
                    success: false,
                    text: capitalised(&error.to_string()),
                }),
                ..ConnectionsView::default()
            };
            render_connections(state, caller, org, status, view).await
        }
    }
}

/// "a pending connection cannot be paused" → "A pending connection cannot be paused."
fn capitalised(message: &str) -> String {
    let mut chars = message.chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    };
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}
