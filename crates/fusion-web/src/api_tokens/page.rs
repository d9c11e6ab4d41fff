//! The API tokens page in Settings: the caller's tokens (label, created, last used, expiry, a
//! Revoke button each) and a form creating one with a chosen expiry, its token shown once.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use fusion_domain::{ApiTokenId, Organisation};
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::expiry_from;
use crate::AppState;
use crate::page_chrome::{
    CsrfOnlyForm, OrgPageCaller, OrgPageWrite, PageForm, internal_error_page, nav_for, settings_url,
};
use crate::platform_settings::api_token_label;
use crate::session::Caller;
use crate::templates::{Banner, Nav, render};
use crate::wording::human_date;

pub(crate) fn page_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/orgs/{org_id}/settings/api-tokens",
            get(tokens_page).post(create_from_page),
        )
        .route(
            "/orgs/{org_id}/settings/api-tokens/{id}/revoke",
            post(revoke_from_page),
        )
}

/// One row of the tokens page.
pub(crate) struct TokenRow {
    pub label: String,
    pub created: String,
    pub last_used: String,
    pub expires: String,
    pub expired: bool,
    pub revoke_url: String,
}

#[derive(askama::Template)]
#[template(path = "api_tokens.html")]
pub(crate) struct ApiTokensPage {
    pub title: &'static str,
    pub active: &'static str,
    pub nav: Option<Nav>,
    pub csrf_token: String,
    pub settings_url: String,
    pub create_url: String,
    pub tokens: Vec<TokenRow>,
    pub new_token: Option<String>,
    pub banner: Option<Banner>,
}

pub(crate) fn tokens_page_url(org: &Organisation) -> String {
    format!("/orgs/{}/settings/api-tokens", org.id)
}

async fn render_tokens_page(
    state: &AppState,
    caller: &Caller,
    org: &Organisation,
    status: StatusCode,
    new_token: Option<String>,
    banner: Option<Banner>,
) -> Response {
    let tokens = match state.store().api_tokens_of(caller.person.id).await {
        Ok(tokens) => tokens,
        Err(error) => return internal_error_page(error.into()),
    };
    let now = state.clock().now();
    let base = tokens_page_url(org);
    let rows = tokens
        .iter()
        .map(|info| TokenRow {
            label: info.label.clone(),
            created: human_date(info.created_at),
            last_used: info
                .last_used_at
                .map_or_else(|| "never".to_owned(), human_date),
            expires: info
                .expires_at
                .map_or_else(|| "never".to_owned(), human_date),
            expired: info.expires_at.is_some_and(|at| at <= now),
            revoke_url: format!("{base}/{}/revoke", info.id),
        })
        .collect();
    render(
        status,
        &ApiTokensPage {
            title: "API tokens",
            active: "settings",
            nav: nav_for(caller, org),
            csrf_token: caller.csrf_token().unwrap_or_default(),
            settings_url: settings_url(org),
            create_url: base,
            tokens: rows,
            new_token,
            banner,
        },
    )
}

async fn tokens_page(
    State(state): State<AppState>,
    OrgPageCaller { caller, org }: OrgPageCaller,
) -> Response {
    render_tokens_page(&state, &caller, &org, StatusCode::OK, None, None).await
}

#[derive(Deserialize)]
pub(crate) struct NewTokenForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    expires: Option<String>,
}

impl PageForm for NewTokenForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

async fn create_from_page(
    State(state): State<AppState>,
    OrgPageWrite {
        caller,
        org,
        form: Form(form),
        ..
    }: OrgPageWrite<Form<NewTokenForm>>,
) -> Response {
    let label = api_token_label(form.label.as_deref());
    let requested = form
        .expires
        .filter(|value| !value.trim().is_empty())
        .map(serde_json::Value::String);
    let expires_at = match expiry_from(requested.as_ref(), state.clock().now()) {
        Ok(expires_at) => expires_at,
        Err(error) => {
            let banner = Banner {
                success: false,
                text: error.to_string(),
            };
            return render_tokens_page(
                &state,
                &caller,
                &org,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(banner),
            )
            .await;
        }
    };
    match state
        .store()
        .create_api_token(caller.person.id, &label, expires_at)
        .await
    {
        Ok(created) => {
            tracing::info!(person_id = %caller.person.id, token_id = %created.id, "API token created");
            let token = created.token.expose_secret().to_owned();
            render_tokens_page(&state, &caller, &org, StatusCode::OK, Some(token), None).await
        }
        Err(error) => internal_error_page(error.into()),
    }
}

async fn revoke_from_page(
    State(state): State<AppState>,
    OrgPageWrite {
        caller, org, path, ..
    }: OrgPageWrite<Form<CsrfOnlyForm>, Path<(String, String)>>,
) -> Response {
    let Path((_, id)) = path;
    let revoked = match id.parse::<ApiTokenId>() {
        Ok(id) => state.store().revoke_api_token(caller.person.id, id).await,
        Err(_) => Err(fusion_engine::ports::StoreError::NotFound),
    };
    let banner = match revoked {
        Ok(()) => {
            tracing::info!(person_id = %caller.person.id, token_id = %id, "API token revoked");
            Banner {
                success: true,
                text: "Token revoked: it no longer works.".to_owned(),
            }
        }
        Err(fusion_engine::ports::StoreError::NotFound) => Banner {
            success: false,
            text: "That token does not exist (any more).".to_owned(),
        },
        Err(error) => return internal_error_page(error.into()),
    };
    let status = if banner.success {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    render_tokens_page(&state, &caller, &org, status, None, Some(banner)).await
}
