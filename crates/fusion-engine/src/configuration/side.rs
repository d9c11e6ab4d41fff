//! One side's configuration: reading it (mine, and of the partner's only what the privacy rule
//! lets me see), saving it under the privacy rule, its warnings against my tenant's live choices,
//! and its company scope in words.
//!
//! Saving is allowed with warnings (a half-filled form may be saved) but never outside the
//! company scope: [`within_scope`] refuses a side whose `SideConfig::scope_errors` is not empty,
//! and what it lets through has its company filters equal to its scope
//! (`SideConfig::with_scope_filters`).

use std::sync::Arc;

use fusion_domain::{ChoiceValue, ScopeError, SideConfig};

use super::{ConfigurationError, ConfigurationScope, ConfigurationService};
use crate::{Freshness, LiveChoices};

/// The lists a side configuration uses (for the choices a form offers and labels in exports).
pub const LIST_NAMES: &[&str] = &[
    "company",
    "queue",
    "status",
    "priority",
    "ticket_type",
    "ticket_category",
    "source",
    "issue_type",
    "sub_issue_type",
    "note_type",
    "note_publish",
    "attachment_publish",
    "resource",
    "time_role",
    "time_work_type",
];

/// A tenant's choices, or why they could not be loaded (screens still show what they can).
pub type LoadedChoices = Result<Arc<LiveChoices>, ConfigurationError>;

/// A warning as shown and returned: which setting, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub setting: String,
    pub message: String,
}

/// The side configuration's warnings against the live choices (or one warning saying the check
/// could not run).
pub fn warnings(side: &SideConfig, choices: &LoadedChoices) -> Vec<Warning> {
    match choices {
        Ok(choices) => side
            .warnings(&|list| choices.list(list))
            .into_iter()
            .map(|warning| Warning {
                setting: warning.setting.to_owned(),
                message: warning.message,
            })
            .collect(),
        Err(error) => vec![Warning {
            setting: "Autotask".to_owned(),
            message: format!("the values could not be checked against your tenant: {error}"),
        }],
    }
}

/// One reason a side configuration may not be saved because it would carry another company's
/// tickets (or reverse sync would have no company to keep to).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeProblem {
    /// The setting's key in the configuration (the API body and, under `side.`, the file).
    pub field: &'static str,
    pub message: String,
}

/// The key of the setting a [`ScopeError`] is about.
fn field_of_scope_error(error: &ScopeError) -> &'static str {
    match error {
        ScopeError::ReverseSyncWithoutCompany => "reverse_sync.enabled",
        ScopeError::OtherCompany { setting, .. } if setting.starts_with("Reverse sync") => {
            "reverse_sync.company"
        }
        ScopeError::OtherCompany { .. } => "send.partner_company",
    }
}

/// The side as it may be stored — its company filters set to its scope — or why it may not be.
pub fn within_scope(side: SideConfig) -> Result<SideConfig, Vec<ScopeProblem>> {
    let errors = side.scope_errors();
    if errors.is_empty() {
        return Ok(side.with_scope_filters());
    }
    Err(errors
        .iter()
        .map(|error| ScopeProblem {
            field: field_of_scope_error(error),
            message: error.to_string(),
        })
        .collect())
}

/// The label my tenant gives `company`, when my choices are loaded and list it.
pub fn company_label(choices: &LoadedChoices, company: Option<&ChoiceValue>) -> Option<String> {
    match (choices, company) {
        (Ok(choices), Some(company)) => choices.label_of("company", company).map(str::to_owned),
        _ => None,
    }
}

/// My side's company scope in words (`SideConfig::scope_sentence`): the company named as my
/// tenant names it where my choices are loaded (else by its code), the partner by `partner_name`.
pub fn scope_sentence(side: &SideConfig, choices: &LoadedChoices, partner_name: &str) -> String {
    let label = company_label(choices, side.company_scope());
    side.scope_sentence(label.as_deref(), partner_name)
}

impl ConfigurationService {
    /// My side's configuration and whether it was ever saved.
    pub async fn side_config(
        &self,
        scope: &ConfigurationScope,
    ) -> Result<(SideConfig, bool), ConfigurationError> {
        let saved = self
            .relationships
            .integration_config(scope.relationship.id, scope.org_id)
            .await?;
        Ok(match saved {
            Some(side) => (side, true),
            None => (SideConfig::default(), false),
        })
    }

    /// The partner's side as stored (the default until saved), once there is a partner. Callers
    /// show only its company scope, by code: of the partner's configuration that is all either
    /// organisation may see, so each can tell the connection carries one company's tickets.
    pub async fn partner_side(
        &self,
        scope: &ConfigurationScope,
    ) -> Result<Option<SideConfig>, ConfigurationError> {
        let Some(partner) = scope.relationship.partner_of(scope.org_id) else {
            return Ok(None);
        };
        Ok(Some(
            self.relationships
                .integration_config(scope.relationship.id, partner)
                .await?
                .unwrap_or_default(),
        ))
    }

    /// Saves my side, refusing one outside its company scope; returns what was stored (its
    /// company filters equal to the scope) and the warnings (saving is allowed with warnings).
    pub async fn save_side(
        &self,
        scope: &ConfigurationScope,
        side: SideConfig,
    ) -> Result<(SideConfig, Vec<Warning>), ConfigurationError> {
        let side = within_scope(side).map_err(ConfigurationError::OutsideScope)?;
        let before = self
            .relationships
            .integration_config(scope.relationship.id, scope.org_id)
            .await?;
        self.relationships
            .save_integration_config(scope.relationship.id, scope.org_id, &side)
            .await?;
        self.record(scope, super::audit::side_changed(before.as_ref(), &side))
            .await;
        tracing::info!(relationship = %scope.relationship.id, org = %scope.org_id, "integration configuration saved");
        let choices = self.my_choices(scope, Freshness::Cached).await;
        let warnings = warnings(&side, &choices);
        Ok((side, warnings))
    }
}

#[cfg(test)]
mod tests {
    use fusion_domain::{ChoiceValue, SideConfig};

    use super::*;
    use crate::configuration::fakes::{Fixture, company_choices};

    fn side_for(company: Option<&str>) -> SideConfig {
        let mut side = SideConfig::default();
        side.receive.company = company.map(ChoiceValue::new);
        side
    }

    #[test]
    fn a_side_within_its_scope_is_stored_with_its_company_filters_set_to_the_scope() {
        let side = side_for(Some("29000001"));
        let stored = within_scope(side).unwrap_or_default();
        assert_eq!(
            stored.send.partner_company,
            Some(ChoiceValue::new("29000001"))
        );
        assert_eq!(
            stored.reverse_sync.company,
            Some(ChoiceValue::new("29000001"))
        );
    }

    #[test]
    fn each_scope_problem_names_the_setting_it_is_about() {
        let mut side = side_for(Some("29000001"));
        side.send.partner_company = Some(ChoiceValue::new("29000002"));
        side.reverse_sync.enabled = true;
        side.reverse_sync.company = Some(ChoiceValue::new("29000003"));
        let problems = within_scope(side).err().unwrap_or_default();
        let fields: Vec<&str> = problems.iter().map(|problem| problem.field).collect();
        assert_eq!(fields, ["reverse_sync.company", "send.partner_company"]);

        let mut side = side_for(None);
        side.reverse_sync.enabled = true;
        let problems = within_scope(side).err().unwrap_or_default();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].field, "reverse_sync.enabled");
    }

    #[tokio::test]
    async fn saving_a_side_outside_its_scope_stores_nothing() {
        let fixture = Fixture::connected();
        let scope = fixture.source_scope().await;
        let mut side = side_for(Some("29000001"));
        side.send.partner_company = Some(ChoiceValue::new("29000002"));
        let error = fixture.service.save_side(&scope, side).await.err();
        assert!(
            matches!(error, Some(ConfigurationError::OutsideScope(ref problems)) if problems.len() == 1),
            "{error:?}"
        );
        assert_eq!(fixture.store.side(fixture.source_org), None);
    }

    #[tokio::test]
    async fn a_saved_side_keeps_to_its_scope_and_is_checked_against_my_choices() {
        let fixture = Fixture::connected();
        let scope = fixture.source_scope().await;
        let mut side = side_for(Some("29000001"));
        side.receive.queue = Some(ChoiceValue::new("404"));
        let (stored, warnings) = fixture
            .service
            .save_side(&scope, side)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(fixture.store.side(fixture.source_org), Some(stored.clone()));
        assert_eq!(
            stored.send.partner_company,
            Some(ChoiceValue::new("29000001"))
        );
        let settings: Vec<&str> = warnings.iter().map(|w| w.setting.as_str()).collect();
        assert_eq!(settings, ["Queue"], "{warnings:?}");
        let sentence = scope_sentence(&stored, &Ok(company_choices()), "Northwind IT");
        assert!(sentence.contains("Contoso Manufacturing"), "{sentence}");
    }

    #[tokio::test]
    async fn without_my_credentials_the_warning_says_why_the_values_were_not_checked() {
        let fixture = Fixture::connected().without_credentials();
        let scope = fixture.source_scope().await;
        let (_, warnings) = fixture
            .service
            .save_side(&scope, side_for(Some("29000001")))
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].setting, "Autotask");
        assert!(
            warnings[0].message.contains("save them in Settings first"),
            "{warnings:?}"
        );
    }
}
