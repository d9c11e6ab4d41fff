//! Settings › Notifications (`/orgs/{org_id}/settings/notifications`): email recipients, the
//! outgoing webhook URL, which events, the webhook signing secret (shown once when created or
//! rotated) and a "Send test" button per channel. Plain form posts with the CSRF token; works
//! without JavaScript.

use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use fusion_domain::Organisation;
use fusion_engine::notify::{
    EventKind, NotificationSettingsDraft, NotificationSettingsError, TestChannel,
};
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::SIGNING_SECRET_SHOWN_ONCE;
use crate::AppState;
use crate::page_chrome::{
    CsrfOnlyForm, OrgPageCaller, OrgPageWrite, PageForm, internal_error_page, nav_for, settings_url,
};
use crate::session::Caller;
use crate::templates::{Banner, EventCheckbox, NotificationsPage, OpenProblemRow, render};
use crate::wording::human_date;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/orgs/{org_id}/settings/notifications",
            get(notifications_page).post(save_notifications),
        )
        .route(
            "/orgs/{org_id}/settings/notifications/test-email",
            post(test_email),
        )
        .route(
            "/orgs/{org_id}/settings/notifications/test-webhook",
            post(test_webhook),
        )
        .route(
            "/orgs/{org_id}/settings/notifications/signing-secret",
            post(rotate_signing_secret),
        )
}

fn page_url(org: &Organisation) -> String {
    format!("{}/notifications", settings_url(org))
}

/// What one rendering shows besides the saved settings.
#[derive(Default)]
struct View {
    banner: Option<Banner>,
    /// The values as entered, when a save was refused.
    entered: Option<NotificationSettingsDraft>,
    problem_field: Option<&'static str>,
    new_signing_secret: Option<String>,
}

async fn render_page(
    state: &AppState,
    caller: &Caller,
    org: &Organisation,
    status: StatusCode,
    view: View,
) -> Response {
    let service = state.notifications();
    let settings = match service.settings(org.id).await {
        Ok(settings) => settings,
        Err(error) => return internal_error_page(error.into()),
    };
    let problems = match service.open_problems(org.id).await {
        Ok(problems) => problems,
        Err(error) => return internal_error_page(error.into()),
    };
    let (recipients, webhook_url, events) = match view.entered {
        Some(draft) => (draft.email_recipients, draft.webhook_url, draft.events),
        None => (
            settings.email_recipients.join("\n"),
            settings.webhook_url.clone().unwrap_or_default(),
            settings.events.clone(),
        ),
    };
    let url = page_url(org);
    let page = NotificationsPage {
        title: "Notifications",
        active: "settings",
        nav: nav_for(caller, org),
        org_name: org.name.clone(),
        csrf_token: caller.csrf_token().unwrap_or_default(),
        settings_url: settings_url(org),
        save_url: url.clone(),
        test_email_url: format!("{url}/test-email"),
        test_webhook_url: format!("{url}/test-webhook"),
        signing_secret_url: format!("{url}/signing-secret"),
        email_available: service.email_available(),
        email_recipients: recipients,
        webhook_url,
        recipients_invalid: view.problem_field == Some("email_recipients"),
        webhook_invalid: view.problem_field == Some("webhook_url"),
        events: EventKind::ALL
            .iter()
            .map(|kind| EventCheckbox {
                name: format!("event_{}", kind.code()),
                label: kind.label(),
                checked: events.contains(kind),
            })
            .collect(),
        signing_secret_status: match settings.signing_secret_created_at {
            Some(at) => format!("A signing secret was created {}.", human_date(at)),
            None => "No signing secret yet: one is created when you save a webhook URL.".to_owned(),
        },
        new_signing_secret: view.new_signing_secret,
        signing_secret_note: SIGNING_SECRET_SHOWN_ONCE,
        banner: view.banner,
        open_problems: problems
            .iter()
            .map(|problem| OpenProblemRow {
                event: problem.kind.label(),
                summary: problem.summary.clone(),
                since: human_date(problem.opened_at),
            })
            .collect(),
    };
    render(status, &page)
}

async fn notifications_page(
    State(state): State<AppState>,
    OrgPageCaller { caller, org }: OrgPageCaller,
) -> Response {
    render_page(&state, &caller, &org, StatusCode::OK, View::default()).await
}

#[derive(Deserialize)]
struct NotificationsForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    email_recipients: String,
    #[serde(default)]
    webhook_url: String,
    #[serde(default)]
    event_run_failed: Option<String>,
    #[serde(default)]
    event_attention_item: Option<String>,
    #[serde(default)]
    event_not_synced: Option<String>,
    #[serde(default)]
    event_api_budget: Option<String>,
    #[serde(default)]
    event_connection_changed: Option<String>,
}

impl PageForm for NotificationsForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

impl NotificationsForm {
    fn draft(&self) -> NotificationSettingsDraft {
        let ticked = [
            (EventKind::RunFailed, &self.event_run_failed),
            (EventKind::AttentionItem, &self.event_attention_item),
            (EventKind::NotSynced, &self.event_not_synced),
            (EventKind::ApiBudget, &self.event_api_budget),
            (EventKind::ConnectionChanged, &self.event_connection_changed),
        ];
        NotificationSettingsDraft {
            email_recipients: self.email_recipients.clone(),
            webhook_url: self.webhook_url.clone(),
            events: ticked
                .into_iter()
                .filter(|(_, value)| value.is_some())
                .map(|(kind, _)| kind)
                .collect(),
        }
    }
}

async fn save_notifications(
    State(state): State<AppState>,
    OrgPageWrite {
        caller,
        org,
        form: Form(form),
        ..
    }: OrgPageWrite<Form<NotificationsForm>>,
) -> Response {
    let draft = form.draft();
    match state.notifications().save(org.id, &draft).await {
        Ok(saved) => {
            let view = View {
                banner: Some(Banner {
                    success: true,
                    text: "Notification settings saved".to_owned(),
                }),
                new_signing_secret: saved
                    .new_signing_secret
                    .map(|secret| secret.expose_secret().to_owned()),
                ..View::default()
            };
            render_page(&state, &caller, &org, StatusCode::OK, view).await
        }
        Err(NotificationSettingsError::Invalid { field, message }) => {
            let view = View {
                banner: Some(Banner {
                    success: false,
                    text: format!("Not saved: {message}"),
                }),
                entered: Some(draft),
                problem_field: Some(field),
                ..View::default()
            };
            render_page(
                &state,
                &caller,
                &org,
                StatusCode::UNPROCESSABLE_ENTITY,
                view,
            )
            .await
        }
        Err(other) => internal_error_page(super::api_error(other)),
    }
}

async fn send_test(
    state: &AppState,
    caller: &Caller,
    org: &Organisation,
    channel: TestChannel,
) -> Response {
    let (success, text) = match state.notifications().send_test(org.id, channel).await {
        Ok(message) => (true, message),
        Err(
            NotificationSettingsError::Delivery(message)
            | NotificationSettingsError::NotSetUp(message),
        ) => (false, format!("Test failed: {message}")),
        Err(other) => return internal_error_page(super::api_error(other)),
    };
    let view = View {
        banner: Some(Banner { success, text }),
        ..View::default()
    };
    render_page(state, caller, org, StatusCode::OK, view).await
}

async fn test_email(
    State(state): State<AppState>,
    OrgPageWrite { caller, org, .. }: OrgPageWrite<Form<CsrfOnlyForm>>,
) -> Response {
    send_test(&state, &caller, &org, TestChannel::Email).await
}

async fn test_webhook(
    State(state): State<AppState>,
    OrgPageWrite { caller, org, .. }: OrgPageWrite<Form<CsrfOnlyForm>>,
) -> Response {
    send_test(&state, &caller, &org, TestChannel::Webhook).await
}

async fn rotate_signing_secret(
    State(state): State<AppState>,
    OrgPageWrite { caller, org, .. }: OrgPageWrite<Form<CsrfOnlyForm>>,
) -> Response {
    match state.notifications().rotate_signing_secret(org.id).await {
        Ok(secret) => {
            let view = View {
                banner: Some(Banner {
                    success: true,
                    text: "New signing secret created; events from now on are signed with it"
                        .to_owned(),
                }),
                new_signing_secret: Some(secret.expose_secret().to_owned()),
                ..View::default()
            };
            render_page(&state, &caller, &org, StatusCode::OK, view).await
        }
        Err(error) => internal_error_page(super::api_error(error)),
    }
}
