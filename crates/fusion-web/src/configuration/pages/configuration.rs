//! The Integration configuration page (`…/configuration`): my side's receive defaults, send
//! filter, sync options, reverse sync and closure (Save, with warnings against my tenant's live
//! choices; a side outside its company scope is refused with the form kept as entered), Refresh
//! choices, and the per-relationship API override with its Save and Test. At the top it says in
//! words which company's tickets each side carries: mine from my stored configuration, named as my
//! tenant names it; the partner's from the partner's stored configuration, by its code only (the
//! partner's choices are not loaded here). Below the form, "Configuration history" lists the
//! changes recorded for the connection by either side (`shared_history`: mappings, the
//! description composition, imports and each side's configuration), each saying who made it —
//! "changed by your partner" with the partner's name for the other side's — and those Support
//! Fusion made itself when an upgrade brought a side within its company scope.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};

use fusion_domain::{Organisation, SideConfig};
use fusion_engine::configuration::{
    ConfigurationError as CoreError, Warning, company_label, warnings as side_warnings,
};
use fusion_engine::{Freshness, LiveChoices, TenantCredentials};
use secrecy::SecretString;
use serde::Deserialize;

use super::configuration_form::{ConfigurationForm, SectionView, sections};
use super::header::{ConnectionHeader, header};
use super::{
    CONNECTION_PAGES, ConnectionPage, ConnectionWrite, WarningView, base_url, failure_page,
    warning_views,
};
use crate::AppState;
use crate::configuration::Scope;
use crate::configuration::history::{ConfigurationChangeRow, configuration_history};
use crate::page_chrome::{CsrfOnlyForm, PageForm, internal_error_page, nav_for};
use crate::platform_settings::{RawSettings, clean, validate_save};
use crate::session::Caller;
use crate::templates::{Banner, Nav, ResultView, render};
use crate::wording::{api_usage_summary, as_sentence, human_date};

/// The page's routes, under [`CONNECTION_PAGES`].
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            &format!("{CONNECTION_PAGES}/configuration"),
            get(configuration_page).post(save_configuration),
        )
        .route(
            &format!("{CONNECTION_PAGES}/configuration/choices/refresh"),
            post(refresh_choices),
        )
        .route(
            &format!("{CONNECTION_PAGES}/configuration/credentials"),
            post(save_override_credentials),
        )
        .route(
            &format!("{CONNECTION_PAGES}/configuration/credentials/test"),
            post(test_override_credentials),
        )
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
    /// Which company's tickets my side carries, in words (as stored).
    pub my_scope: String,
    /// The same for the partner's side, once there is a partner.
    pub partner_scope: Option<String>,
    /// Why the form was not saved (the company scope), one sentence each.
    pub scope_problems: Vec<String>,
    pub warnings: Vec<WarningView>,
    pub sections: Vec<SectionView>,
    pub override_api_settings: bool,
    /// The override's fields show only when chosen (or already saved).
    pub show_override: bool,
    /// An example API URL in the organisation's own zone (from Settings).
    pub api_url_example: String,
    pub credentials_url: String,
    pub credentials_test_url: String,
    pub override_api_url: String,
    pub override_username: String,
    pub override_secret_status: String,
    pub override_problems: Vec<String>,
    pub override_result: Option<ResultView>,
    /// Recorded changes to my side, newest first; the section is left out when empty.
    pub history: Vec<ConfigurationChangeRow>,
}

/// The history section alone (it is included in `configuration.html`), so it can be rendered by
/// itself in tests.
#[cfg(test)]
#[derive(Template)]
#[template(path = "configuration_history.html")]
struct HistorySection {
    history: Vec<ConfigurationChangeRow>,
}

#[derive(Default)]
struct ConfigurationView {
    banner: Option<Banner>,
    /// The side as entered, shown instead of the stored one when it was refused.
    entered: Option<SideConfig>,
    scope_problems: Vec<String>,
    warnings: Option<Vec<Warning>>,
    refresh: bool,
    entered_api_url: Option<String>,
    entered_username: Option<String>,
    override_problems: Vec<String>,
    override_result: Option<ResultView>,
}

/// The partner's company scope as I read it. `SideConfig::scope_sentence` speaks to the side's own
/// organisation ("until you choose…", "stay in your tenant"), so the partner's side is worded here,
/// by its company code.
fn partner_scope_sentence(partner_side: &SideConfig, partner_name: &str) -> String {
    match partner_side.company_scope() {
        Some(company) => format!(
            "Only tickets of company {} in {partner_name}'s tenant are sent to you, and only they are kept in step; tickets of every other company stay in {partner_name}'s tenant.",
            company.as_str()
        ),
        None => format!(
            "No tickets come from {partner_name} until they choose the company that represents you in their tenant."
        ),
    }
}

async fn render_configuration(
    state: &AppState,
    caller: &Caller,
    org: &Organisation,
    scope: &Scope,
    status: StatusCode,
    view: ConfigurationView,
) -> Response {
    let configuration = state.configuration();
    let stored = match configuration.side_config(scope).await {
        Ok((side, _)) => side,
        Err(error) => return failure_page(error),
    };
    let partner = scope.relationship.partner_of(scope.org_id);
    let partner_side = match configuration.partner_side(scope).await {
        Ok(side) => side,
        Err(error) => return failure_page(error),
    };
    let history = match configuration_history(state, scope).await {
        Ok(history) => history,
        Err(error) => return failure_page(error),
    };
    let side = view.entered.unwrap_or_else(|| stored.clone());
    let freshness = if view.refresh {
        Freshness::Reload
    } else {
        Freshness::Cached
    };
    let choices = configuration.my_choices(scope, freshness).await;
    let header = header(state, org, scope, "configuration").await;
    let partner_name = if partner.is_some() {
        header.partner_name.clone()
    } else {
        "your partner".to_owned()
    };
    let scope_sentence = |side: &SideConfig| {
        side.scope_sentence(
            company_label(&choices, side.company_scope()).as_deref(),
            &partner_name,
        )
    };
    let warnings = view
        .warnings
        .unwrap_or_else(|| side_warnings(&side, &choices));
    let credentials = match state
        .store()
        .relationship_credentials(scope.relationship.id, scope.org_id)
        .await
    {
        Ok(credentials) => credentials,
        Err(error) => return internal_error_page(error.into()),
    };
    let base = base_url(org, scope);
    let sections = sections(&side, &choices, &scope_sentence(&side));
    let mut warnings = warning_views(
        warnings
            .into_iter()
            // The choices error is shown once, at the top.
            .filter(|warning| choices.is_ok() || warning.setting != "Autotask")
            .collect(),
    );
    // Each warning links to the field it is about.
    for warning in &mut warnings {
        warning.anchor = sections
            .iter()
            .flat_map(|section| &section.selects)
            .find(|select| select.label.eq_ignore_ascii_case(&warning.setting))
            .map(|select| select.name.to_owned());
    }
    let api_url_example = match state.store().platform_credentials(org.id).await {
        Ok(Some(own)) if !own.api_url.is_empty() => own.api_url,
        _ => "https://webservices2.autotask.net/".to_owned(),
    };
    let page = ConfigurationPage {
        title: "Integration configuration",
        active: "connections",
        nav: nav_for(caller, org),
        my_scope: scope_sentence(&stored),
        partner_scope: partner_side
            .as_ref()
            .map(|partner_side| partner_scope_sentence(partner_side, &partner_name)),
        header,
        csrf_token: caller.csrf_token().unwrap_or_default(),
        save_url: format!("{base}/configuration"),
        refresh_url: format!("{base}/configuration/choices/refresh"),
        choices_loaded: choices
            .as_ref()
            .ok()
            .map(|choices: &std::sync::Arc<LiveChoices>| human_date(choices.fetched_at())),
        choices_error: choices.as_ref().err().map(ToString::to_string),
        banner: view.banner,
        scope_problems: view.scope_problems,
        warnings,
        sections,
        override_api_settings: side.override_api_settings,
        show_override: side.override_api_settings
            || credentials.is_some()
            || !view.override_problems.is_empty()
            || view.override_result.is_some(),
        api_url_example,
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
        history,
    };
    render(status, &page)
}

async fn configuration_page(
    State(state): State<AppState>,
    ConnectionPage {
        caller, org, scope, ..
    }: ConnectionPage,
) -> Response {
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
    ConnectionWrite {
        caller,
        org,
        scope,
        form,
        ..
    }: ConnectionWrite<ConfigurationForm>,
) -> Response {
    let entered = form.into_side();
    let warnings = match state
        .configuration()
        .save_side(&scope, entered.clone())
        .await
    {
        Ok((_, warnings)) => warnings,
        Err(CoreError::OutsideScope(problems)) => {
            let view = ConfigurationView {
                banner: Some(Banner {
                    success: false,
                    text: "Not saved: a connection only ever carries tickets of the company that represents your partner. Fix the settings below, then Save again.".to_owned(),
                }),
                entered: Some(entered),
                scope_problems: problems
                    .iter()
                    .map(|problem| as_sentence(&problem.message))
                    .collect(),
                ..ConfigurationView::default()
            };
            return render_configuration(
                &state,
                &caller,
                &org,
                &scope,
                StatusCode::UNPROCESSABLE_ENTITY,
                view,
            )
            .await;
        }
        Err(error) => return failure_page(error),
    };
    let text = if warnings.is_empty() {
        "Saved.".to_owned()
    } else if scope.relationship.readiness == fusion_domain::SyncReadiness::ReadyForAutomaticSync {
        "Saved, with warnings: check the settings listed below; they apply from the next sync."
            .to_owned()
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
    ConnectionWrite {
        caller, org, scope, ..
    }: ConnectionWrite<CsrfOnlyForm>,
) -> Response {
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
    fn into_clean(self, state: &AppState) -> crate::platform_settings::CleanSettings {
        clean(
            state.tenants(),
            RawSettings {
                platform: Some("autotask".to_owned()),
                api_url: self.api_url,
                username: self.username,
                secret: self.secret,
                integration_code_override: None,
            },
        )
    }
}

async fn save_override_credentials(
    State(state): State<AppState>,
    ConnectionWrite {
        caller,
        org,
        scope,
        form,
        ..
    }: ConnectionWrite<OverrideForm>,
) -> Response {
    let settings = form.into_clean(&state);
    match validate_save(state.tenants(), &settings) {
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
    let (fix_intro, fix_steps) = report
        .fix
        .as_deref()
        .map(crate::wording::fix_steps)
        .unwrap_or_default();
    ResultView {
        success: report.is_success(),
        stale: false,
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
        fix_intro,
        fix_steps,
        zone: report.zone.clone(),
        api_usage: report.api_usage.as_ref().map(api_usage_summary),
        tested_at: human_date(report.tested_at),
        notes: report.notes.clone(),
    }
}

async fn test_override_credentials(
    State(state): State<AppState>,
    ConnectionWrite {
        caller,
        org,
        scope,
        form,
        ..
    }: ConnectionWrite<OverrideForm>,
) -> Response {
    let settings = form.into_clean(&state);
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
    let limited = state.start_connection_test(org.id, caller.person.id).err();
    let view = match secret {
        _ if limited.is_some() => ConfigurationView {
            entered_api_url: settings.api_url,
            entered_username: settings.username,
            override_problems: limited.map(|error| error.to_string()).into_iter().collect(),
            ..ConfigurationView::default()
        },
        Some(secret) if !api_url.is_empty() && !username.is_empty() => {
            let report = state
                .tenants()
                .test_connection(TenantCredentials {
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use fusion_domain::{OrgId, PersonId};
    use fusion_engine::ports::ConfigurationAuditEntry;

    use super::*;
    use crate::configuration::history::history_rows;

    fn entry(person_id: Option<PersonId>, change: &str) -> ConfigurationAuditEntry {
        ConfigurationAuditEntry {
            org_id: OrgId::new(),
            person_id,
            change: change.to_owned(),
            changed_at: time::macros::datetime!(2026-11-27 01:43:57 UTC),
        }
    }

    #[test]
    fn history_names_support_fusion_the_person_or_a_person() {
        let (known, gone) = (PersonId::new(), PersonId::new());
        let names = HashMap::from([(known, "Bob Example".to_owned())]);
        let rows = history_rows(
            vec![
                entry(None, "Reverse sync now keeps to Contoso Manufacturing."),
                entry(Some(known), "Saved."),
                entry(Some(gone), "Saved before."),
            ],
            &names,
            None,
        );
        let who: Vec<&str> = rows.iter().map(|row| row.who.as_str()).collect();
        assert_eq!(who, ["Support Fusion", "Bob Example", "a person"]);
        assert_eq!(rows[0].when, "27 Nov 2026, 01:43 UTC");
        assert_eq!(
            rows[0].change,
            "Reverse sync now keeps to Contoso Manufacturing."
        );
    }

    #[test]
    fn the_history_section_lists_each_change_and_is_left_out_when_there_are_none() {
        let section = HistorySection {
            history: history_rows(
                vec![entry(
                    None,
                    "Reverse sync was limited to company 29000001 <the partner's>.",
                )],
                &HashMap::new(),
                None,
            ),
        };
        let html = section.render().unwrap_or_default();
        assert!(html.contains("Configuration history"), "{html}");
        assert!(html.contains("made by Support Fusion itself"), "{html}");
        assert!(html.contains("<td>Support Fusion</td>"), "{html}");
        assert!(html.contains("27 Nov 2026, 01:43 UTC"), "{html}");
        assert!(
            html.contains("limited to company 29000001 &#60;the partner&#39;s&#62;."),
            "escaped: {html}"
        );
        let empty = HistorySection {
            history: Vec::new(),
        };
        assert_eq!(empty.render().unwrap_or_default().trim(), "");
    }
}
