//! The organisation-wide pages and the routes outside any organisation: sign-in, sign-out,
//! Settings (Save, Test connection, the "Use this" API URL correction, a new API token), the
//! stylesheet and the health checks. Everything works without JavaScript: each action is a plain
//! form POST carrying the session's CSRF token. The chrome these pages share with the others
//! (navigation, error pages, the caller extractors) is in `page_chrome`.

use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::CookieJar;
use fusion_domain::{ConnectionTestReport, Organisation};
use fusion_engine::ports::PlatformCredentials;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::AppState;
use crate::error::ApiError;
use crate::page_chrome::{
    CsrfOnlyForm, OrgPageCaller, OrgPageWrite, PageForm, csrf_rejected_page, internal_error_page,
    nav_for, settings_url,
};
use crate::platform_settings::{
    self, CleanSettings, Field, RawSettings, SettingsProblem, TestRun, TestedValues, clean,
    validate_save,
};
use crate::session::{
    Caller, ClientAddress, cleared_session_cookie, is_cross_site_request, session_caller,
    session_cookie,
};
use crate::templates::{
    Banner, HistoryRow, ProblemView, ResultView, SettingsPage, SignInPage, render,
};
use crate::throttle::{ThrottleDecision, describe_wait};
use crate::wording::{api_usage_summary, fix_steps, human_date};

const STYLESHEET: &str = include_str!("../static/fusion.css");
/// Change-history lines shown on Settings; the API has the full log.
const HISTORY_ROWS: usize = 10;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/settings", get(home))
        .route("/sign-in", get(sign_in_page).post(sign_in))
        .route("/sign-out", post(sign_out))
        .route(
            "/orgs/{org_id}/settings",
            get(settings_page).post(save_settings),
        )
        .route("/orgs/{org_id}/settings/test", post(test_settings))
        .route("/orgs/{org_id}/api-tokens", post(create_api_token))
        .route("/static/fusion.css", get(stylesheet))
        .route("/healthz", get(healthz))
        .route("/readyz", get(crate::readiness::readyz))
}

async fn stylesheet() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        STYLESHEET,
    )
        .into_response()
}

async fn healthz() -> &'static str {
    "ok"
}

async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match session_caller(&state, &headers).await {
        Ok(Some(caller)) => {
            Redirect::to(&format!("/orgs/{}/settings", caller.person.org_id)).into_response()
        }
        Ok(None) => Redirect::to("/sign-in").into_response(),
        Err(error) => internal_error_page(error),
    }
}

fn sign_in_form(status: StatusCode, email: String, error: Option<String>) -> Response {
    render(
        status,
        &SignInPage {
            title: "Sign in",
            active: "sign-in",
            nav: None,
            email,
            error,
        },
    )
}

async fn sign_in_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match session_caller(&state, &headers).await {
        Ok(Some(caller)) => {
            Redirect::to(&format!("/orgs/{}/settings", caller.person.org_id)).into_response()
        }
        Ok(None) => sign_in_form(StatusCode::OK, String::new(), None),
        Err(error) => internal_error_page(error),
    }
}

/// 429 with `Retry-After`: the attempt was not checked.
fn sign_in_wait(email: String, wait: std::time::Duration) -> Response {
    let mut response = sign_in_form(
        StatusCode::TOO_MANY_REQUESTS,
        email,
        Some(wait_message(wait)),
    );
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(wait.as_secs().max(1)),
    );
    response
}

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default = "empty_secret")]
    password: SecretString,
}

fn empty_secret() -> SecretString {
    SecretString::from(String::new())
}

fn wait_message(wait: std::time::Duration) -> String {
    format!(
        "Too many failed sign-in attempts. Wait {} before trying again; then the right password works as usual.",
        describe_wait(wait)
    )
}

async fn sign_in(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<SignInForm>,
) -> Response {
    if is_cross_site_request(
        &headers,
        state.settings().public_origin.as_deref(),
        state.settings().secure_cookies,
    ) {
        tracing::warn!(client = ?address, "sign-in refused: posted from another site");
        return csrf_rejected_page();
    }
    let email = form.email.trim().to_lowercase();
    if email.is_empty() || form.password.expose_secret().is_empty() {
        return sign_in_form(
            StatusCode::UNPROCESSABLE_ENTITY,
            email,
            Some("Enter your email address and password.".to_owned()),
        );
    }
    let throttle = state.login_throttle();
    if let ThrottleDecision::Wait { retry_after } = throttle.check(&email, address) {
        tracing::warn!(client = ?address, "sign-in refused: too soon after repeated failures");
        return sign_in_wait(email, retry_after);
    }
    let person = match state.store().verify_password(&email, &form.password).await {
        Ok(person) => person,
        Err(error) => return internal_error_page(error.into()),
    };
    let Some(person) = person else {
        let recorded = throttle.record_failure(&email, address);
        if recorded.account_failures >= state.settings().login_free_failures
            || recorded.address_failures >= state.settings().login_free_failures
        {
            // Repeated failures: say which account is being tried and from where, so an
            // administrator can act (the email is quoted with escapes; never the password).
            tracing::warn!(
                client = ?address,
                account = ?email.chars().take(100).collect::<String>(),
                account_failures = recorded.account_failures,
                address_failures = recorded.address_failures,
                "repeated failed sign-ins"
            );
        } else {
            tracing::info!(client = ?address, "sign-in failed: wrong email or password");
        }
        let message = match recorded.next {
            ThrottleDecision::Wait { retry_after } => {
                format!(
                    "The email address or password is wrong. {}",
                    wait_message(retry_after)
                )
            }
            ThrottleDecision::Allowed => {
                "The email address or password is wrong. Check both and try again.".to_owned()
            }
        };
        return sign_in_form(StatusCode::UNAUTHORIZED, email, Some(message));
    };
    throttle.record_success(&email);
    let session = match state
        .store()
        .create_session(person.id, state.settings().session_ttl)
        .await
    {
        Ok(session) => session,
        Err(error) => return internal_error_page(error.into()),
    };
    tracing::info!(person_id = %person.id, "signed in");
    let jar = jar.add(session_cookie(&session.token, &state));
    (
        jar,
        Redirect::to(&format!("/orgs/{}/settings", person.org_id)),
    )
        .into_response()
}

async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<CsrfOnlyForm>,
) -> Response {
    let caller = match session_caller(&state, &headers).await {
        Ok(Some(caller)) => caller,
        Ok(None) => return Redirect::to("/sign-in").into_response(),
        Err(error) => return internal_error_page(error),
    };
    if !caller.csrf_token_matches(Some(form.csrf_token())) {
        return csrf_rejected_page();
    }
    if let crate::session::Credential::Session(token) = &caller.credential
        && let Err(error) = state.store().delete_session(token.expose_secret()).await
    {
        return internal_error_page(error.into());
    }
    let jar = jar.add(cleared_session_cookie(&state));
    (jar, Redirect::to("/sign-in")).into_response()
}

/// What the form shows besides the saved values.
#[derive(Default)]
struct SettingsView {
    /// Values typed into the form, shown again instead of the saved ones.
    entered_api_url: Option<String>,
    entered_username: Option<String>,
    entered_integration_code_override: Option<String>,
    api_url_invalid: bool,
    banner: Option<Banner>,
    problems: Vec<ProblemView>,
    notes: Vec<String>,
    /// A fresh test result; otherwise the stored last result is shown.
    fresh_result: Option<TestRun>,
    new_api_token: Option<String>,
}

/// Which test a result panel shows.
enum ResultSource {
    /// Just run on this request.
    Fresh(TestedValues),
    /// The stored last test; `outdated` when the settings were saved after it.
    Stored { outdated: bool },
}

fn result_view(report: &ConnectionTestReport, source: ResultSource) -> ResultView {
    let reason = if report.reason == report.outcome.label() {
        String::new()
    } else {
        report.reason.clone()
    };
    let stale = matches!(source, ResultSource::Stored { outdated: true });
    let (fix_intro, fix_steps) = report.fix.as_deref().map(fix_steps).unwrap_or_default();
    ResultView {
        success: report.is_success(),
        stale,
        status: if stale {
            "Not tested since the last change"
        } else {
            report.outcome.label()
        },
        tested_values_label: Some(match source {
            ResultSource::Fresh(TestedValues::Saved) => "Tested the saved settings.",
            ResultSource::Fresh(TestedValues::Unsaved) => {
                "Tested the values in the form. They are not saved yet: Save to keep them."
            }
            ResultSource::Stored { outdated: false } => "Last test of the saved settings.",
            ResultSource::Stored { outdated: true } => {
                "The settings were saved after the last test, so its result may no longer hold. Press Save and test to check them."
            }
        }),
        reason: if stale {
            format!(
                "The last test ({}) read: {}.",
                human_date(report.tested_at),
                report.outcome.label()
            )
        } else {
            reason
        },
        fix_intro: if stale { None } else { fix_intro },
        fix_steps: if stale { Vec::new() } else { fix_steps },
        zone: report.zone.clone(),
        api_usage: report.api_usage.as_ref().map(api_usage_summary),
        tested_at: human_date(report.tested_at),
        notes: report.notes.clone(),
    }
}

fn secret_status(credentials: Option<&PlatformCredentials>) -> String {
    match credentials {
        Some(credentials) if credentials.secret_set => match credentials.secret_changed_at {
            Some(at) => format!("Set — last changed {}", human_date(at)),
            None => "Set".to_owned(),
        },
        _ => "Not set".to_owned(),
    }
}

async fn render_settings(
    state: &AppState,
    caller: &Caller,
    org: &Organisation,
    status: StatusCode,
    view: SettingsView,
) -> Response {
    let credentials = match state.store().platform_credentials(org.id).await {
        Ok(credentials) => credentials,
        Err(error) => return internal_error_page(error.into()),
    };
    let tested_now = view.fresh_result.as_ref().is_some_and(|run| {
        run.report.is_success()
            && run.tested_values == crate::platform_settings::TestedValues::Saved
    });
    let result = match view.fresh_result {
        Some(run) => Some(result_view(
            &run.report,
            ResultSource::Fresh(run.tested_values),
        )),
        None => match state.store().last_test_result(org.id).await {
            Ok(report) => report.map(|report| {
                let outdated = credentials
                    .as_ref()
                    .is_some_and(|saved| saved.updated_at > report.tested_at);
                result_view(&report, ResultSource::Stored { outdated })
            }),
            Err(error) => return internal_error_page(error.into()),
        },
    };
    let history = match platform_settings::change_history(state, org.id).await {
        Ok(history) => history
            .into_iter()
            .take(HISTORY_ROWS)
            .map(|(entry, name)| HistoryRow {
                field: platform_settings::audit_field_label(&entry.field),
                who: name.unwrap_or_else(|| "Command line or setup".to_owned()),
                when: human_date(entry.changed_at),
            })
            .collect(),
        Err(error) => return internal_error_page(error),
    };
    let saved = credentials.as_ref();
    let page = SettingsPage {
        title: "Settings",
        active: "settings",
        nav: nav_for(caller, org),
        org_name: org.name.clone(),
        csrf_token: caller.csrf_token().unwrap_or_default(),
        save_url: settings_url(org),
        test_url: format!("{}/test", settings_url(org)),
        api_url: view
            .entered_api_url
            .unwrap_or_else(|| saved.map(|c| c.api_url.clone()).unwrap_or_default()),
        api_url_invalid: view.api_url_invalid,
        username: view
            .entered_username
            .unwrap_or_else(|| saved.map(|c| c.username.clone()).unwrap_or_default()),
        secret_status: secret_status(saved),
        integration_code_override: view.entered_integration_code_override.unwrap_or_else(|| {
            saved
                .and_then(|c| c.integration_code_override.clone())
                .unwrap_or_default()
        }),
        banner: view.banner,
        problems: view.problems,
        notes: view.notes,
        result,
        api_tokens_url: format!("/orgs/{}/api-tokens", org.id),
        api_tokens_page_url: crate::api_tokens::tokens_page_url(org),
        notifications_url: format!("{}/notifications", settings_url(org)),
        new_api_token: view.new_api_token,
        history,
        budget: crate::sync::budget_sentence(
            None,
            crate::sync::autotask_hourly_limit(state, org.id).await,
        ),
        webhooks: crate::hooks::webhook_panel(state, org.id, tested_now).await,
        api_budget: crate::api_budget::panel(state, org, caller.csrf_token()).await,
    };
    render(status, &page)
}

async fn settings_page(
    State(state): State<AppState>,
    OrgPageCaller { caller, org }: OrgPageCaller,
) -> Response {
    render_settings(
        &state,
        &caller,
        &org,
        StatusCode::OK,
        SettingsView::default(),
    )
    .await
}

#[derive(Deserialize)]
struct SettingsForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    platform: Option<String>,
    #[serde(default)]
    api_url: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    secret: Option<SecretString>,
    #[serde(default)]
    integration_code_override: Option<String>,
    /// "test" from the **Save and test** button: test the saved values right after saving.
    #[serde(default)]
    then: Option<String>,
}

impl PageForm for SettingsForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

impl SettingsForm {
    fn into_clean(self, state: &AppState) -> CleanSettings {
        clean(
            state.tenants(),
            RawSettings {
                platform: self.platform,
                api_url: self.api_url,
                username: self.username,
                secret: self.secret,
                // An empty box clears the override; a form always sends the field.
                integration_code_override: Some(self.integration_code_override),
            },
        )
    }
}

fn problem_view(problem: &SettingsProblem) -> ProblemView {
    ProblemView {
        message: problem.message(),
        fix: problem.fix(),
        suggestion: problem.suggestion().map(str::to_owned),
    }
}

async fn save_settings(
    State(state): State<AppState>,
    OrgPageWrite {
        caller,
        org,
        form: Form(form),
        ..
    }: OrgPageWrite<Form<SettingsForm>>,
) -> Response {
    let and_test = form.then.as_deref() == Some("test");
    let settings = form.into_clean(&state);
    let notes = settings.notes();
    match validate_save(state.tenants(), &settings) {
        Ok(valid) => {
            if let Err(error) =
                platform_settings::save(&state, org.id, caller.person.id, valid).await
            {
                return internal_error_page(error);
            }
            let fresh_result = if and_test {
                match platform_settings::test_connection(&state, org.id, caller.person.id, None)
                    .await
                {
                    Ok(run) => Some(run),
                    Err(error) => return internal_error_page(error),
                }
            } else {
                None
            };
            let text = match &fresh_result {
                Some(run) if run.report.is_success() => "Saved and tested.",
                Some(_) => "Saved, but the test failed: see what to do below.",
                None => "Saved. Press Save and test to check the settings.",
            };
            let view = SettingsView {
                banner: Some(Banner {
                    success: fresh_result
                        .as_ref()
                        .is_none_or(|run| run.report.is_success()),
                    text: text.to_owned(),
                }),
                notes,
                fresh_result,
                ..SettingsView::default()
            };
            render_settings(&state, &caller, &org, StatusCode::OK, view).await
        }
        Err(problems) => {
            let banner =
                match save_all_but_api_url(&state, &caller, &org, &settings, &problems).await {
                    Ok(banner) => banner,
                    Err(error) => return internal_error_page(error),
                };
            let view = SettingsView {
                entered_api_url: settings.api_url.clone(),
                entered_username: settings.username.clone(),
                entered_integration_code_override: settings
                    .integration_code_override
                    .clone()
                    .map(Option::unwrap_or_default),
                api_url_invalid: problems.iter().any(|problem| problem.field() == "api_url"),
                banner,
                problems: problems.iter().map(problem_view).collect(),
                notes,
                fresh_result: None,
                new_api_token: None,
            };
            render_settings(
                &state,
                &caller,
                &org,
                StatusCode::UNPROCESSABLE_ENTITY,
                view,
            )
            .await
        }
    }
}

/// When only the API URL is wrong, the username and a newly typed secret are saved anyway, so
/// nothing the user typed is lost (the secret cannot be shown again in the form) and "Use this"
/// completes the save in one click. The saved API URL stays as it was.
async fn save_all_but_api_url(
    state: &AppState,
    caller: &Caller,
    org: &Organisation,
    settings: &CleanSettings,
    problems: &[SettingsProblem],
) -> Result<Option<Banner>, ApiError> {
    let only_api_url_is_wrong = problems.iter().all(|problem| problem.field() == "api_url");
    let username = settings.username.clone().unwrap_or_default();
    if !only_api_url_is_wrong || username.is_empty() {
        return Ok(Some(Banner {
            success: false,
            text: "Not saved: fix the problems below and Save again.".to_owned(),
        }));
    }
    let saved = state.store().platform_credentials(org.id).await?;
    let username_changed = saved.as_ref().is_none_or(|c| c.username != username);
    if settings.secret.is_none() && !username_changed {
        return Ok(Some(Banner {
            success: false,
            text: "Not saved: the API URL needs fixing.".to_owned(),
        }));
    }
    let mut fields = vec![Field::Username.label()];
    if settings.secret.is_some() {
        fields.push(Field::Secret.label());
    }
    let update = fusion_engine::ports::CredentialsUpdate {
        platform: fusion_domain::PlatformKind::Autotask,
        api_url: saved
            .as_ref()
            .map(|c| c.api_url.clone())
            .unwrap_or_default(),
        username,
        secret: settings.secret.clone(),
        integration_code_override: settings.integration_code_override.clone(),
    };
    state
        .store()
        .save_platform_credentials(org.id, Some(caller.person.id), update)
        .await?;
    crate::platform_settings::credentials_changed(state, org.id).await;
    Ok(Some(Banner {
        success: false,
        text: format!(
            "Saved the {}. The API URL was not saved: fix it below.",
            fields.join(" and ")
        ),
    }))
}

async fn test_settings(
    State(state): State<AppState>,
    OrgPageWrite {
        caller,
        org,
        form: Form(form),
        ..
    }: OrgPageWrite<Form<SettingsForm>>,
) -> Response {
    let settings = form.into_clean(&state);
    let entered_api_url = settings.api_url.clone();
    let entered_username = settings.username.clone();
    let entered_code = settings
        .integration_code_override
        .clone()
        .map(Option::unwrap_or_default);
    let run =
        match platform_settings::test_connection(&state, org.id, caller.person.id, Some(settings))
            .await
        {
            Ok(run) => run,
            Err(ApiError::RateLimited { message, .. }) => {
                let view = SettingsView {
                    entered_api_url,
                    entered_username,
                    entered_integration_code_override: entered_code,
                    banner: Some(Banner {
                        success: false,
                        text: message,
                    }),
                    ..SettingsView::default()
                };
                return render_settings(&state, &caller, &org, StatusCode::TOO_MANY_REQUESTS, view)
                    .await;
            }
            Err(error) => return internal_error_page(error),
        };
    let view = SettingsView {
        entered_api_url,
        entered_username,
        entered_integration_code_override: entered_code,
        fresh_result: Some(run),
        ..SettingsView::default()
    };
    render_settings(&state, &caller, &org, StatusCode::OK, view).await
}

#[derive(Deserialize)]
struct NewApiTokenForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    label: Option<String>,
}

impl PageForm for NewApiTokenForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

async fn create_api_token(
    State(state): State<AppState>,
    OrgPageWrite {
        caller,
        org,
        form: Form(form),
        ..
    }: OrgPageWrite<Form<NewApiTokenForm>>,
) -> Response {
    let label = platform_settings::api_token_label(form.label.as_deref());
    let token = match state
        .store()
        .create_api_token(
            caller.person.id,
            &label,
            Some(state.clock().now() + time::Duration::days(crate::api_tokens::DEFAULT_TOKEN_DAYS)),
        )
        .await
    {
        Ok(created) => created.token,
        Err(error) => return internal_error_page(error.into()),
    };
    tracing::info!(person_id = %caller.person.id, "API token created");
    let view = SettingsView {
        new_api_token: Some(token.expose_secret().to_owned()),
        ..SettingsView::default()
    };
    render_settings(&state, &caller, &org, StatusCode::OK, view).await
}
