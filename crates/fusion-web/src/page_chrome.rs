//! What every server-rendered page shares: the signed-in navigation and the URLs it links to, the
//! not-found, error and "Form expired" (CSRF rejected) pages, and `OrgPageCaller`, the extractor
//! that decides whether a page request may go ahead at all (a signed-in member of the
//! organisation in the path). Page modules import this one and never each other's chrome, so no
//! two page modules depend on one another.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use fusion_domain::Organisation;

use crate::AppState;
use crate::error::ApiError;
use crate::session::{Caller, org_id_in_scope, session_caller};
use crate::templates::{MessagePage, Nav, render};

/// The organisation's Settings page.
pub(crate) fn settings_url(org: &Organisation) -> String {
    format!("/orgs/{}/settings", org.id)
}

/// The organisation's "Organisation connections" page.
pub(crate) fn connections_url(org: &Organisation) -> String {
    format!("/orgs/{}/connections", org.id)
}

/// The signed-in part of every page header.
pub(crate) fn nav_for(caller: &Caller, org: &Organisation) -> Option<Nav> {
    Some(Nav {
        person_name: caller.person.display_name.clone(),
        org_name: org.name.clone(),
        settings_url: settings_url(org),
        connections_url: connections_url(org),
        csrf_token: caller.csrf_token().unwrap_or_default(),
    })
}

pub(crate) fn not_found_page() -> Response {
    render(
        StatusCode::NOT_FOUND,
        &MessagePage {
            title: "Page not found",
            active: "",
            nav: None,
            message: "There is nothing here, or you do not have access to it.".to_owned(),
            link_url: "/".to_owned(),
            link_text: "Go to Settings",
        },
    )
}

fn error_page(status: StatusCode, title: &'static str, message: &str) -> Response {
    render(
        status,
        &MessagePage {
            title,
            active: "",
            nav: None,
            message: message.to_owned(),
            link_url: "/".to_owned(),
            link_text: "Back to Settings",
        },
    )
}

pub(crate) fn internal_error_page(error: ApiError) -> Response {
    if let ApiError::Internal(cause) = &error {
        tracing::error!(%cause, "page request failed inside the server");
    }
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "Something went wrong on our side. Try again in a moment.",
    )
}

/// Any route no router claims: a JSON 404 under `/api/`, the not-found page elsewhere.
pub(crate) async fn not_found_fallback(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        return ApiError::NotFound.into_response();
    }
    not_found_page()
}

pub(crate) fn csrf_rejected_page() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "Form expired",
        "This form has expired or did not come from this site. Go back, reload the page and try again.",
    )
}

/// Why a page request cannot go ahead.
pub(crate) enum PageRejection {
    SignInFirst,
    NotFound,
    Failed(ApiError),
}

impl IntoResponse for PageRejection {
    fn into_response(self) -> Response {
        match self {
            PageRejection::SignInFirst => Redirect::to("/sign-in").into_response(),
            PageRejection::NotFound => not_found_page(),
            PageRejection::Failed(error) => internal_error_page(error),
        }
    }
}

/// A signed-in person on a page of their own organisation (sign-in redirect otherwise, and a 404
/// for any other organisation's page).
pub(crate) struct OrgPageCaller {
    pub caller: Caller,
    pub org: Organisation,
}

impl FromRequestParts<AppState> for OrgPageCaller {
    type Rejection = PageRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = session_caller(state, &parts.headers)
            .await
            .map_err(PageRejection::Failed)?
            .ok_or(PageRejection::SignInFirst)?;
        let org_id = org_id_in_scope(parts, &caller).map_err(|_| PageRejection::NotFound)?;
        let org = state
            .store()
            .organisation(org_id)
            .await
            .map_err(|error| PageRejection::Failed(error.into()))?
            .ok_or(PageRejection::NotFound)?;
        Ok(OrgPageCaller { caller, org })
    }
}
