//! What the configuration API and pages both do, in one place: read and save one side's
//! configuration with its warnings, field mappings (CRUD, defaults, "match by label", unmapped
//! values), the description composition with its preview, and export/import of the whole
//! configuration. Handlers only translate requests and responses.
//!
//! Rules: values are checked against the side's live choices but saving is allowed with warnings
//! (a half-filled form may be saved), except where the privacy rule is at stake: a side whose
//! `SideConfig::scope_errors` is not empty is never saved (form, API or import), and what is saved
//! always has its company filters equal to its scope (`SideConfig::with_scope_filters`); a partner's choices are used server-side and only the
//! picklist of one mapping's field is ever shown; a ticket preview is only ever run on the SOURCE
//! tenant, and only for the source organisation itself (the target sees placeholders), so neither
//! organisation can read the other's tickets through it.

use std::collections::HashMap;
use std::sync::Arc;

use fusion_domain::{
    Choice, ChoiceValue, DescriptionComposition, FieldMapping, FieldMappingId, Role, ScopeError,
    SideConfig, ValueMapping, suggest_value_mappings, unmapped_active_values,
};
use fusion_engine::{LiveChoices, PlatformTenants, TicketField};

use crate::AppState;
use crate::configuration::Scope;
use crate::configuration::config_file::{
    ConfigDocument, DescriptionSection, ExportLabels, FileFormat, MappingSection, parse,
};
use crate::configuration::error::ConfigurationError;
use crate::configuration::tenant::{self, Whose};

/// The lists a side configuration uses (for the choices API and the form).
pub(crate) const LIST_NAMES: &[&str] = &[
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
];

/// A warning as shown and returned: which setting, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Warning {
    pub setting: String,
    pub message: String,
}

/// My side's choices, or why they could not be loaded.
pub(crate) type Loaded = Result<Arc<LiveChoices>, ConfigurationError>;

pub(crate) async fn my_choices(state: &AppState, scope: &Scope, refresh: bool) -> Loaded {
    tenant::choices(
        state,
        scope.relationship.id,
        scope.org_id,
        Whose::Mine,
        refresh,
    )
    .await
}

/// The choices of the organisation playing `role` (mine or the partner's).
async fn choices_in_role(state: &AppState, scope: &Scope, role: Role) -> Loaded {
    if role == scope.role {
        return my_choices(state, scope, false).await;
    }
    let partner = scope
        .relationship
        .partner_of(scope.org_id)
        .ok_or_else(|| ConfigurationError::Autotask {
            reason: "The connection has not been accepted yet, so the partner's Autotask tenant is not known.".to_owned(),
        })?;
    tenant::choices(state, scope.relationship.id, partner, Whose::Partner, false).await
}

fn reason_of(error: &ConfigurationError) -> String {
    error.to_string()
}

/// The side configuration's warnings against the live choices (or one warning saying the check
/// could not run).
pub(crate) fn warnings(side: &SideConfig, choices: &Loaded) -> Vec<Warning> {
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
            message: format!(
                "the values could not be checked against your tenant: {}",
                reason_of(error)
            ),
        }],
    }
}

/// My side's configuration and whether it was ever saved.
pub(crate) async fn side_config(
    state: &AppState,
    scope: &Scope,
) -> Result<(SideConfig, bool), ConfigurationError> {
    let saved = state
        .store()
        .integration_config(scope.relationship.id, scope.org_id)
        .await?;
    Ok(match saved {
        Some(side) => (side, true),
        None => (SideConfig::default(), false),
    })
}

/// One reason a side configuration may not be saved because it would carry another company's
/// tickets (or reverse sync would have no company to keep to).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScopeProblem {
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
pub(crate) fn within_scope(side: SideConfig) -> Result<SideConfig, Vec<ScopeProblem>> {
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

/// Saves my side, refusing one outside its company scope; returns what was stored (its company
/// filters equal to the scope) and the warnings (saving is allowed with warnings).
pub(crate) async fn save_side(
    state: &AppState,
    scope: &Scope,
    side: SideConfig,
) -> Result<(SideConfig, Vec<Warning>), ConfigurationError> {
    let side = within_scope(side).map_err(ConfigurationError::OutsideScope)?;
    state
        .store()
        .save_integration_config(scope.relationship.id, scope.org_id, &side)
        .await?;
    tracing::info!(relationship = %scope.relationship.id, org = %scope.org_id, "integration configuration saved");
    let choices = my_choices(state, scope, false).await;
    let warnings = warnings(&side, &choices);
    Ok((side, warnings))
}

/// One value mapping with the labels of both codes where known.
#[derive(Debug, Clone)]
pub(crate) struct ValueView {
    pub source: ChoiceValue,
    pub source_label: Option<String>,
    pub target: ChoiceValue,
    pub target_label: Option<String>,
}

/// One field mapping as the screens show it.
#[derive(Debug, Clone)]
pub(crate) struct MappingView {
    pub mapping: FieldMapping,
    pub source_label: String,
    pub target_label: String,
    /// The source field's list name, for picklist fields.
    pub source_list: Option<&'static str>,
    pub values: Vec<ValueView>,
    /// Active source values without a mapping (each would fail at sync time).
    pub unmapped: Vec<Choice>,
    /// Every source value (for the value-mapping table).
    pub source_options: Vec<Choice>,
    /// Every target value (for the target select).
    pub target_options: Vec<Choice>,
}

/// Both tenants' choices for mapping screens.
pub(crate) struct BothSides {
    pub source: Loaded,
    pub target: Loaded,
    /// The platform's standard mappable fields, for a side whose choices are missing.
    standard_fields: Vec<TicketField>,
}

impl BothSides {
    pub async fn load(state: &AppState, scope: &Scope) -> BothSides {
        BothSides {
            source: choices_in_role(state, scope, Role::Source).await,
            target: choices_in_role(state, scope, Role::Target).await,
            standard_fields: state.tenants().standard_ticket_fields(),
        }
    }

    /// Why either side's choices are missing, for a notice on the page.
    pub fn problems(&self) -> Vec<String> {
        [&self.source, &self.target]
            .into_iter()
            .filter_map(|side| side.as_ref().err().map(reason_of))
            .collect()
    }
}

/// A tenant's mappable fields, or the `standard` ones when its own list is not available.
fn fields_of(choices: &Loaded, standard: &[TicketField]) -> Vec<TicketField> {
    match choices {
        Ok(choices) => choices.ticket_fields().to_vec(),
        Err(_) => standard.to_vec(),
    }
}

/// The mappable ticket fields of the source and the target tenant.
pub(crate) fn mappable_fields(sides: &BothSides) -> (Vec<TicketField>, Vec<TicketField>) {
    (
        fields_of(&sides.source, &sides.standard_fields),
        fields_of(&sides.target, &sides.standard_fields),
    )
}

fn field_info<'a>(fields: &'a [TicketField], name: &str) -> Option<&'a TicketField> {
    fields.iter().find(|field| field.name == name)
}

fn list_of(choices: &Loaded, list: Option<&'static str>) -> Vec<Choice> {
    match (choices, list) {
        (Ok(choices), Some(list)) => choices.list(list),
        _ => Vec::new(),
    }
}

fn label_in(options: &[Choice], value: &ChoiceValue) -> Option<String> {
    options
        .iter()
        .find(|choice| &choice.value == value)
        .map(|choice| choice.label.clone())
}

pub(crate) fn mapping_view(mapping: FieldMapping, sides: &BothSides) -> MappingView {
    let (source_fields, target_fields) = mappable_fields(sides);
    let source_field = field_info(&source_fields, &mapping.source_field);
    let target_field = field_info(&target_fields, &mapping.target_field);
    let source_list = source_field.and_then(|field| field.picklist);
    let target_list = target_field.and_then(|field| field.picklist);
    let source_options = list_of(&sides.source, source_list);
    let target_options = list_of(&sides.target, target_list);
    let values = mapping
        .value_mappings
        .iter()
        .map(|value| ValueView {
            source: value.source.clone(),
            source_label: label_in(&source_options, &value.source),
            target: value.target.clone(),
            target_label: label_in(&target_options, &value.target),
        })
        .collect();
    let unmapped = if source_list.is_some() {
        unmapped_active_values(&mapping, &source_options)
            .into_iter()
            .cloned()
            .collect()
    } else {
        Vec::new()
    };
    MappingView {
        source_label: source_field
            .map_or_else(|| mapping.source_field.clone(), |f| f.label.clone()),
        target_label: target_field
            .map_or_else(|| mapping.target_field.clone(), |f| f.label.clone()),
        source_list,
        values,
        unmapped,
        source_options,
        target_options,
        mapping,
    }
}

pub(crate) async fn mappings(
    state: &AppState,
    scope: &Scope,
) -> Result<Vec<FieldMapping>, ConfigurationError> {
    Ok(state.store().field_mappings(scope.relationship.id).await?)
}

pub(crate) async fn mapping(
    state: &AppState,
    scope: &Scope,
    raw_id: &str,
) -> Result<FieldMapping, ConfigurationError> {
    let id: FieldMappingId = raw_id
        .parse()
        .map_err(|_| ConfigurationError::Api(crate::error::ApiError::NotFound))?;
    mappings(state, scope)
        .await?
        .into_iter()
        .find(|mapping| mapping.id == id)
        .ok_or(ConfigurationError::Api(crate::error::ApiError::NotFound))
}

/// Checks a mapping's fields against the tenants' field lists (when loaded).
fn validate_mapping(section: &MappingSection, sides: &BothSides) -> Result<(), ConfigurationError> {
    let (source_fields, target_fields) = mappable_fields(sides);
    for (name, value, fields, loaded) in [
        (
            "source_field",
            &section.source_field,
            &source_fields,
            &sides.source,
        ),
        (
            "target_field",
            &section.target_field,
            &target_fields,
            &sides.target,
        ),
    ] {
        if value.trim().is_empty() {
            return Err(ConfigurationError::invalid(
                "missing_field",
                name,
                format!("choose the {} field", name.trim_end_matches("_field")),
            ));
        }
        if loaded.is_ok() && field_info(fields, value).is_none() {
            return Err(ConfigurationError::invalid(
                "unknown_field",
                name,
                format!("\"{value}\" is not a mappable ticket field of that tenant"),
            ));
        }
    }
    Ok(())
}

pub(crate) async fn create_mapping(
    state: &AppState,
    scope: &Scope,
    section: MappingSection,
) -> Result<MappingView, ConfigurationError> {
    let sides = BothSides::load(state, scope).await;
    validate_mapping(&section, &sides)?;
    let mapping = section.into_mapping(FieldMappingId::new(), scope.relationship.id);
    state.store().save_field_mapping(&mapping).await?;
    Ok(mapping_view(mapping, &sides))
}

pub(crate) async fn update_mapping(
    state: &AppState,
    scope: &Scope,
    raw_id: &str,
    section: MappingSection,
) -> Result<MappingView, ConfigurationError> {
    let existing = mapping(state, scope, raw_id).await?;
    let sides = BothSides::load(state, scope).await;
    validate_mapping(&section, &sides)?;
    let mapping = section.into_mapping(existing.id, scope.relationship.id);
    state.store().save_field_mapping(&mapping).await?;
    Ok(mapping_view(mapping, &sides))
}

pub(crate) async fn delete_mapping(
    state: &AppState,
    scope: &Scope,
    raw_id: &str,
) -> Result<(), ConfigurationError> {
    let existing = mapping(state, scope, raw_id).await?;
    state
        .store()
        .delete_field_mapping(scope.relationship.id, existing.id)
        .await?;
    Ok(())
}

/// "Match by label" suggestions for one mapping (only for picklist fields with both sides loaded).
pub(crate) fn suggestions(
    tenants: &dyn PlatformTenants,
    mapping: &FieldMapping,
    sides: &BothSides,
) -> Vec<ValueMapping> {
    let (Ok(source), Ok(target)) = (&sides.source, &sides.target) else {
        return Vec::new();
    };
    let (source_fields, target_fields) = mappable_fields(sides);
    let (Some(source_field), Some(target_field)) = (
        field_info(&source_fields, &mapping.source_field),
        field_info(&target_fields, &mapping.target_field),
    ) else {
        return Vec::new();
    };
    match (source_field.picklist, target_field.picklist) {
        (Some(source_list), Some(target_list)) if source_list == target_list => {
            tenants.suggested_value_mappings(source_field, source, target)
        }
        (Some(source_list), Some(target_list)) => {
            suggest_value_mappings(source.list_ref(source_list), target.list_ref(target_list))
        }
        _ => Vec::new(),
    }
}

/// Adds suggestions for source values that have no mapping yet; existing ones are kept.
pub(crate) fn merge_suggestions(mapping: &mut FieldMapping, suggested: Vec<ValueMapping>) -> usize {
    let mut added = 0;
    for suggestion in suggested {
        if mapping.target_for(&suggestion.source).is_none() {
            mapping.value_mappings.push(suggestion);
            added += 1;
        }
    }
    added
}

/// Applies "match by label" to a stored mapping; returns it and how many values were added.
pub(crate) async fn match_by_label(
    state: &AppState,
    scope: &Scope,
    raw_id: &str,
) -> Result<(MappingView, usize), ConfigurationError> {
    let mut mapping = mapping(state, scope, raw_id).await?;
    let sides = BothSides::load(state, scope).await;
    if let Some(error) = [&sides.source, &sides.target]
        .into_iter()
        .find_map(|side| side.as_ref().err())
    {
        return Err(ConfigurationError::Autotask {
            reason: reason_of(error),
        });
    }
    let suggested = suggestions(state.tenants(), &mapping, &sides);
    let added = merge_suggestions(&mut mapping, suggested);
    state.store().save_field_mapping(&mapping).await?;
    Ok((mapping_view(mapping, &sides), added))
}

/// Creates the adapter's default mapping set (with label-matched values where both tenants'
/// choices are loaded), only when the relationship has no mappings yet.
pub(crate) async fn create_default_mappings(
    state: &AppState,
    scope: &Scope,
) -> Result<Vec<MappingView>, ConfigurationError> {
    if !mappings(state, scope).await?.is_empty() {
        return Err(ConfigurationError::Conflict {
            code: "mappings_exist",
            message: "This connection already has field mappings; the default set is only created when there are none.".to_owned(),
        });
    }
    let sides = BothSides::load(state, scope).await;
    let mut created = Vec::new();
    for mut mapping in state
        .tenants()
        .default_field_mappings(scope.relationship.id)
    {
        let suggested = suggestions(state.tenants(), &mapping, &sides);
        merge_suggestions(&mut mapping, suggested);
        created.push(mapping);
    }
    state
        .store()
        .replace_field_mappings(scope.relationship.id, &created)
        .await?;
    Ok(created
        .into_iter()
        .map(|mapping| mapping_view(mapping, &sides))
        .collect())
}

/// Fields a description composition can use: the source tenant's mappable fields (when the
/// caller is the source) or the standard ones, plus ticket facts that are not mapped.
pub(crate) async fn composable_fields(state: &AppState, scope: &Scope) -> Vec<(String, String)> {
    let source = if scope.role == Role::Source {
        my_choices(state, scope, false).await
    } else {
        Err(ConfigurationError::Autotask {
            reason: String::new(),
        })
    };
    let tenants = state.tenants();
    let mut fields: Vec<(String, String)> = tenants
        .ticket_facts()
        .into_iter()
        .map(|fact| (fact.name, fact.label))
        .collect();
    fields.extend(
        fields_of(&source, &tenants.standard_ticket_fields())
            .into_iter()
            .filter(|field| field.name != "description")
            .map(|field| (field.name, field.label)),
    );
    fields
}

pub(crate) async fn composition(
    state: &AppState,
    scope: &Scope,
) -> Result<Option<DescriptionComposition>, ConfigurationError> {
    Ok(state
        .store()
        .description_composition(scope.relationship.id)
        .await?)
}

pub(crate) fn validate_composition(
    section: DescriptionSection,
) -> Result<DescriptionComposition, ConfigurationError> {
    for (index, field) in section.fields.iter().enumerate() {
        if field.field.trim().is_empty() {
            return Err(ConfigurationError::invalid(
                "missing_field",
                &format!("fields[{index}].field"),
                "every line needs a source field",
            ));
        }
    }
    Ok(section.into_composition())
}

pub(crate) async fn save_composition(
    state: &AppState,
    scope: &Scope,
    composition: &DescriptionComposition,
) -> Result<(), ConfigurationError> {
    state
        .store()
        .save_description_composition(scope.relationship.id, Some(composition))
        .await?;
    Ok(())
}

pub(crate) async fn remove_composition(
    state: &AppState,
    scope: &Scope,
) -> Result<(), ConfigurationError> {
    state
        .store()
        .save_description_composition(scope.relationship.id, None)
        .await?;
    Ok(())
}

/// A composed description.
#[derive(Debug, Clone)]
pub(crate) struct Preview {
    /// Which ticket it was rendered on, e.g. "T20261127.0001 — Printer jams"; placeholders say so.
    pub ticket: String,
    pub text: String,
    /// Whether real ticket values were used.
    pub real: bool,
}

/// Renders the composition on a real ticket of the source tenant (the source organisation only),
/// or with `<Label>` placeholders for the target.
pub(crate) async fn preview(
    state: &AppState,
    scope: &Scope,
    composition: &DescriptionComposition,
    ticket_id: Option<i64>,
) -> Result<Preview, ConfigurationError> {
    if scope.role != Role::Source {
        let labels: HashMap<&str, &str> = composition
            .fields
            .iter()
            .map(|field| (field.field.as_str(), field.label.as_str()))
            .collect();
        let text = composition.compose(
            &|field| labels.get(field).map(|label| format!("<{label}>")),
            "<the original description>",
        );
        return Ok(Preview {
            ticket: "placeholders (the tickets are the partner's, so only the partner can preview a real one)".to_owned(),
            text,
            real: false,
        });
    }
    // Only ever a ticket of the company this connection carries (privacy between relationships).
    let (side, _) = side_config(state, scope).await?;
    let Some(company) = side.company_scope().cloned() else {
        return Err(ConfigurationError::Conflict {
            code: "company_required",
            message: "Choose the company that represents your partner (under \"Tickets you \
                      receive\" → Company) first: the preview shows one of the tickets this \
                      connection carries, and only that company's tickets are carried."
                .to_owned(),
        });
    };
    let credentials =
        tenant::credentials(state, scope.relationship.id, scope.org_id, Whose::Mine).await?;
    let ticket = state
        .tenants()
        .preview(&credentials, ticket_id, &company)
        .await
        .map_err(|error| ConfigurationError::Autotask {
            reason: format!("Could not read the ticket from your Autotask tenant: {error}"),
        })?;
    let text = composition.compose(
        &|field| match field {
            "ticketNumber" => Some(ticket.ticket_number.clone()),
            "title" => Some(ticket.title.clone()),
            other => ticket.values.get(other).cloned(),
        },
        &ticket.description,
    );
    Ok(Preview {
        ticket: format!("{} — {}", ticket.ticket_number, ticket.title),
        text,
        real: true,
    })
}

fn label_map(options: Vec<Choice>) -> HashMap<ChoiceValue, String> {
    options
        .into_iter()
        .map(|choice| (choice.value, choice.label))
        .collect()
}

/// My side's company scope in words (`SideConfig::scope_sentence`): the company named as my tenant
/// names it where my choices are loaded (else by its code), the partner by its organisation name.
pub(crate) async fn scope_in_words(
    state: &AppState,
    scope: &Scope,
    side: &SideConfig,
    choices: &Loaded,
) -> Result<String, ConfigurationError> {
    let partner_name = match scope.relationship.partner_of(scope.org_id) {
        Some(partner) => state
            .store()
            .organisation(partner)
            .await?
            .map_or_else(|| "your partner".to_owned(), |partner| partner.name),
        None => "your partner".to_owned(),
    };
    let label = company_label(choices, side.company_scope());
    Ok(side.scope_sentence(label.as_deref(), &partner_name))
}

/// The label my tenant gives `company`, when my choices are loaded and list it.
pub(crate) fn company_label(choices: &Loaded, company: Option<&ChoiceValue>) -> Option<String> {
    match (choices, company) {
        (Ok(choices), Some(company)) => label_in(&choices.list("company"), company),
        _ => None,
    }
}

/// The whole configuration as a file: (file name, content type, text).
pub(crate) async fn export(
    state: &AppState,
    scope: &Scope,
    format: FileFormat,
) -> Result<(String, &'static str, String), ConfigurationError> {
    let (side, _) = side_config(state, scope).await?;
    let mappings = mappings(state, scope).await?;
    let composition = composition(state, scope).await?;
    let mine = my_choices(state, scope, false).await;
    let document = ConfigDocument::new(scope.role, &side, &mappings, composition.as_ref())
        .with_scope(scope_in_words(state, scope, &side, &mine).await?);
    let mut labels = ExportLabels::default();
    if format == FileFormat::Toml {
        if let Ok(choices) = &mine {
            for list in LIST_NAMES {
                labels.side.insert(list, label_map(choices.list(list)));
            }
        }
        if !mappings.is_empty() {
            let sides = BothSides::load(state, scope).await;
            labels.mapping_values = mappings
                .iter()
                .cloned()
                .map(|mapping| {
                    let view = mapping_view(mapping, &sides);
                    (
                        label_map(view.source_options),
                        label_map(view.target_options),
                    )
                })
                .collect();
        }
    }
    let heading = format!(
        "Support Fusion configuration of \"{}\" ({} side).\nCodes are your Autotask tenant's; labels in comments are for people and are ignored on import.",
        scope.relationship.contract_name.replace(['\n', '\r'], " "),
        scope.role.label()
    );
    let text = crate::configuration::config_file::export(&document, format, &heading, &labels)
        .map_err(|error| {
            ConfigurationError::Api(crate::error::ApiError::Internal(error.to_string()))
        })?;
    let slug: String = scope
        .relationship
        .contract_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect::<String>()
        .split('-')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let name = format!(
        "support-fusion-{}-{}.{}",
        if slug.is_empty() { "connection" } else { &slug },
        scope.role.as_str(),
        format.extension()
    );
    Ok((name, format.content_type(), text))
}

/// What an import did.
#[derive(Debug, Clone)]
pub(crate) struct ImportOutcome {
    pub mappings: usize,
    pub composition: bool,
    pub warnings: Vec<Warning>,
}

/// Reads a file and replaces my side's configuration, the mappings and the composition.
pub(crate) async fn import(
    state: &AppState,
    scope: &Scope,
    text: &str,
    format: Option<FileFormat>,
) -> Result<ImportOutcome, ConfigurationError> {
    let format = format.unwrap_or_else(|| FileFormat::sniff(text));
    let document = parse(text, format).map_err(ConfigurationError::InvalidFile)?;
    let imported = document.into_imported(scope.relationship.id);
    if let Some(role) = imported.role
        && role != scope.role
    {
        return Err(ConfigurationError::invalid(
            "wrong_side",
            "side.role",
            format!(
                "this file configures the {} side, but your organisation is the {} in this connection",
                role.as_str(),
                scope.role.as_str()
            ),
        ));
    }
    let side = within_scope(imported.side)
        .map_err(|problems| ConfigurationError::outside_scope_in_file(&problems))?;
    for mapping in &imported.mappings {
        if mapping.ticket_type.trim().is_empty() {
            return Err(ConfigurationError::invalid(
                "missing_field",
                "mappings.ticket_type",
                format!(
                    "a mapping needs a ticket type (\"{}\")",
                    state.tenants().ticket_type()
                ),
            ));
        }
    }
    let store = state.store();
    store
        .replace_field_mappings(scope.relationship.id, &imported.mappings)
        .await?;
    store
        .save_description_composition(scope.relationship.id, imported.composition.as_ref())
        .await?;
    store
        .save_integration_config(scope.relationship.id, scope.org_id, &side)
        .await?;
    tracing::info!(relationship = %scope.relationship.id, org = %scope.org_id, mappings = imported.mappings.len(), "configuration imported");
    let choices = my_choices(state, scope, false).await;
    Ok(ImportOutcome {
        mappings: imported.mappings.len(),
        composition: imported.composition.is_some(),
        warnings: warnings(&side, &choices),
    })
}
