//! The page templates (compiled, auto-escaping askama templates in `templates/`) and the small
//! view models they read. Rendering failures become a logged 500 page, never a panic.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// The signed-in part of the page header.
pub(crate) struct Nav {
    pub person_name: String,
    pub org_name: String,
    pub settings_url: String,
    pub connections_url: String,
    pub csrf_token: String,
}

#[derive(Template)]
#[template(path = "sign_in.html")]
pub(crate) struct SignInPage {
    pub title: &'static str,
    pub active: &'static str,
    pub nav: Option<Nav>,
    pub email: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "message.html")]
pub(crate) struct MessagePage {
    pub title: &'static str,
    pub active: &'static str,
    pub nav: Option<Nav>,
    pub message: String,
    pub link_url: String,
    pub link_text: &'static str,
}

pub(crate) struct Banner {
    pub success: bool,
    pub text: String,
}

pub(crate) struct ProblemView {
    pub message: String,
    pub fix: Option<String>,
    pub suggestion: Option<String>,
}

pub(crate) struct ResultView {
    pub success: bool,
    pub status: &'static str,
    pub tested_values_label: Option<&'static str>,
    pub reason: String,
    /// The lead-in of "What to do" ("Check in Autotask:"), when the steps have one.
    pub fix_intro: Option<String>,
    /// "What to do", one plain step per line.
    pub fix_steps: Vec<String>,
    /// The result no longer describes the saved values (they were changed after the test): it is
    /// greyed out and says so, instead of still reading "Connection tested" in green.
    pub stale: bool,
    pub zone: Option<String>,
    pub api_usage: Option<String>,
    pub tested_at: String,
    pub notes: Vec<String>,
}

/// One line of the change history: which field, who, when.
pub(crate) struct HistoryRow {
    pub field: String,
    pub who: String,
    pub when: String,
}

#[derive(Template)]
#[template(path = "settings.html")]
pub(crate) struct SettingsPage {
    pub title: &'static str,
    pub active: &'static str,
    pub nav: Option<Nav>,
    pub org_name: String,
    pub csrf_token: String,
    pub save_url: String,
    pub test_url: String,
    pub api_url: String,
    pub api_url_invalid: bool,
    pub username: String,
    pub secret_status: String,
    pub integration_code_override: String,
    pub banner: Option<Banner>,
    pub problems: Vec<ProblemView>,
    pub notes: Vec<String>,
    pub result: Option<ResultView>,
    pub api_tokens_url: String,
    /// The API tokens page: list, expiry, revoke.
    pub api_tokens_page_url: String,
    /// Settings › Notifications.
    pub notifications_url: String,
    /// A token just created, shown this once.
    pub new_api_token: Option<String>,
    /// The most recent credential changes, newest first.
    pub history: Vec<HistoryRow>,
    /// This server's request budget in the Dashboard's words.
    pub budget: String,
    /// This organisation's Autotask webhooks (made or checked at once after a passing test).
    pub webhooks: Option<crate::hooks::WebhookPanel>,
    /// The API budget of the organisation's database, once known.
    pub api_budget: Option<crate::api_budget::BudgetPanel>,
}

/// One event checkbox of the notifications page.
pub(crate) struct EventCheckbox {
    pub name: String,
    pub label: &'static str,
    pub checked: bool,
}

/// One problem the organisation was told about and that is not resolved yet.
pub(crate) struct OpenProblemRow {
    pub event: &'static str,
    pub summary: String,
    pub since: String,
}

#[derive(Template)]
#[template(path = "notifications.html")]
pub(crate) struct NotificationsPage {
    pub title: &'static str,
    pub active: &'static str,
    pub nav: Option<Nav>,
    pub org_name: String,
    pub csrf_token: String,
    pub settings_url: String,
    pub save_url: String,
    pub test_email_url: String,
    pub test_webhook_url: String,
    pub signing_secret_url: String,
    /// Whether this server has an SMTP server configured.
    pub email_available: bool,
    /// One address per line.
    pub email_recipients: String,
    pub webhook_url: String,
    pub recipients_invalid: bool,
    pub webhook_invalid: bool,
    pub events: Vec<EventCheckbox>,
    pub signing_secret_status: String,
    /// A signing secret just created, shown this once.
    pub new_signing_secret: Option<String>,
    pub signing_secret_note: &'static str,
    pub banner: Option<Banner>,
    pub open_problems: Vec<OpenProblemRow>,
}

/// Renders a template with a status code.
pub(crate) fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(%error, "a page template failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<!doctype html><title>Error</title><p>Something went wrong on our side. Try again.</p>"),
            )
                .into_response()
        }
    }
}
