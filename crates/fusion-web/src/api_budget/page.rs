//! Settings' form for the share: `POST /orgs/{org_id}/settings/api-budget`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Form, Router};
use serde::Deserialize;

use super::{checked_percent, set_share, share_problem};
use crate::AppState;
use crate::error::ApiError;
use crate::page_chrome::{OrgPageWrite, PageForm, internal_error_page, settings_url};
use crate::templates::{MessagePage, render};

pub(crate) fn page_routes() -> Router<AppState> {
    Router::new().route("/orgs/{org_id}/settings/api-budget", post(save_share))
}

#[derive(Deserialize)]
pub(crate) struct ShareForm {
    #[serde(default)]
    csrf_token: String,
    /// Empty: the server's default.
    #[serde(default)]
    percent: String,
}

impl PageForm for ShareForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

async fn save_share(
    State(state): State<AppState>,
    OrgPageWrite { org, form, .. }: OrgPageWrite<Form<ShareForm>>,
) -> Response {
    let text = form.0.percent.trim();
    let parsed = if text.is_empty() {
        Ok(None)
    } else {
        text.trim_end_matches('%')
            .trim()
            .parse::<i64>()
            .map_err(|_| share_problem(format!("\"{text}\" is not a whole number.")))
            .and_then(|percent| checked_percent(Some(percent)))
    };
    let saved = match parsed {
        Ok(percent) => set_share(&state, org.id, percent).await,
        Err(problem) => Err(problem),
    };
    match saved {
        Ok(()) => Redirect::to(&format!("{}#api-budget", settings_url(&org))).into_response(),
        Err(ApiError::Invalid { message, fix, .. }) => render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &MessagePage {
                title: "The API budget was not changed",
                active: "settings",
                nav: None,
                message: match fix {
                    Some(fix) => format!("{message} {fix}"),
                    None => message,
                },
                link_url: settings_url(&org),
                link_text: "Back to Settings",
            },
        ),
        Err(other) => internal_error_page(other),
    }
}
