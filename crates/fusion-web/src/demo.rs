//! The demo's "raise a test ticket" form: in `fusion demo` only, the Sync page offers a person of
//! the organisation where tickets start a one-field form that raises a ticket in its simulated
//! tenant, as someone working in Autotask would, so the first five minutes need no simulator
//! fields or ids. The binary gives the web app a [`DemoTickets`] (over the simulator); without one
//! nothing of this shows and the route answers 404 like any unknown page.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Form, Router};
use serde::Deserialize;

use crate::AppState;
use crate::page_chrome::{OrgPageWrite, PageForm, not_found_page};

/// Raises tickets in the demo's simulated tenants.
pub trait DemoTickets: Send + Sync {
    /// Whether people of `organisation` (by name) can raise a test ticket that the demo's
    /// connection carries across (the organisation where tickets start).
    fn can_raise(&self, organisation: &str) -> bool;

    /// Raises a ticket titled `title` in `organisation`'s simulated tenant, with the fields a person
    /// there would pick; answers its ticket number ("T20261204.0003") or what went wrong.
    fn raise_ticket(&self, organisation: &str, title: &str) -> Result<String, String>;
}

/// What the Sync page shows of the demo form.
pub(crate) struct DemoForm {
    pub url: String,
}

pub(crate) fn form_for(state: &AppState, org: &fusion_domain::Organisation) -> Option<DemoForm> {
    state
        .demo_tickets()
        .filter(|demo| demo.can_raise(&org.name))
        .map(|_| DemoForm {
            url: format!("/orgs/{}/demo/ticket", org.id),
        })
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/orgs/{org_id}/demo/ticket", post(raise_ticket))
}

#[derive(Deserialize)]
struct RaiseForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    title: String,
}

impl PageForm for RaiseForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Title used when the person leaves the box empty.
const DEFAULT_TITLE: &str = "Test ticket raised from the demo";
/// Autotask's ticket title limit.
const TITLE_MAX_CHARS: usize = 255;

async fn raise_ticket(
    State(state): State<AppState>,
    OrgPageWrite {
        org,
        form: Form(form),
        ..
    }: OrgPageWrite<Form<RaiseForm>>,
) -> Response {
    let Some(demo) = state
        .demo_tickets()
        .filter(|demo| demo.can_raise(&org.name))
    else {
        return not_found_page();
    };
    let title: String = match form.title.trim() {
        "" => DEFAULT_TITLE.to_owned(),
        title => title.chars().take(TITLE_MAX_CHARS).collect(),
    };
    let outcome = match demo.raise_ticket(&org.name, &title) {
        Ok(number) => format!("raised={}", url_encode(&number)),
        Err(error) => format!("raise_failed={}", url_encode(&error)),
    };
    Redirect::to(&format!("/orgs/{}/sync?{outcome}", org.id)).into_response()
}

/// Percent-encodes a query value (everything but unreserved characters).
fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
