//! What every server-rendered page shares: the signed-in navigation and the URLs it links to, the
//! not-found, error and "Form expired" (CSRF rejected) pages, and the extractors that decide
//! whether a page request may go ahead at all: `OrgPageCaller` (a signed-in member of the
//! organisation in the path) and `OrgPageWrite` (the same, posting a form that carries the
//! session's CSRF token). Page modules import this one and never each other's chrome, so no two
//! page modules depend on one another.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use fusion_domain::Organisation;
use serde::Deserialize;

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

/// A form posted from a page. Every such form carries the session's CSRF token in a hidden
/// `csrf_token` field, because a plain HTML form cannot send a header.
pub(crate) trait PageForm {
    fn csrf_token(&self) -> &str;
}

impl<F: PageForm> PageForm for axum::Form<F> {
    fn csrf_token(&self) -> &str {
        self.0.csrf_token()
    }
}

impl<F: PageForm> PageForm for axum_extra::extract::Form<F> {
    fn csrf_token(&self) -> &str {
        self.0.csrf_token()
    }
}

/// The form of a button that only needs the CSRF token (sign out, lifecycle buttons, Refresh
/// choices, Remove…).
#[derive(Deserialize)]
pub(crate) struct CsrfOnlyForm {
    #[serde(default)]
    csrf_token: String,
}

impl PageForm for CsrfOnlyForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// A form post by a signed-in member of the organisation in the path, with the session's CSRF
/// token: `form` is the body extractor (`axum::Form` or `axum_extra`'s, whichever the form needs
/// for repeated fields) and `path` whatever else the handler reads from the URL (`()` for nothing,
/// usually a `Path`).
///
/// Checks run in this order, each answering as the page handlers always have: session (redirect
/// to sign-in), organisation (404 page), `path`, the form body (its own rejection), then the CSRF
/// token ("Form expired", 403). The token is checked before the handler looks anything up, so a
/// forged post learns nothing about what exists.
pub(crate) struct OrgPageWrite<B, P = ()> {
    pub caller: Caller,
    pub org: Organisation,
    pub path: P,
    pub form: B,
}

impl<B, P> FromRequest<AppState> for OrgPageWrite<B, P>
where
    B: FromRequest<AppState> + PageForm + Send,
    P: FromRequestParts<AppState> + Send,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let OrgPageCaller { caller, org } = OrgPageCaller::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let path = P::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let form = B::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        if !caller.csrf_token_matches(Some(form.csrf_token())) {
            return Err(csrf_rejected_page());
        }
        Ok(OrgPageWrite {
            caller,
            org,
            path,
            form,
        })
    }
}
