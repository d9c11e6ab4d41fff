//! Field mappings of a relationship: listing them with the labels of both tenants and the active
//! source values that have no mapping yet, creating, changing and deleting one, the platform's
//! default set (only while there are none), and "match by label".
//!
//! Both organisations may edit mappings. A mapping's source values are the SOURCE tenant's and its
//! targets the TARGET tenant's, so the partner's choices are loaded server-side — and of them only
//! the picklist of the mapping's own field is ever exposed ([`MappingView`]).

use fusion_domain::{
    Choice, ChoiceValue, FieldMapping, FieldMappingId, MappingDirection, RelationshipId, Role,
    ValueMapping, suggest_value_mappings, unmapped_active_values,
};

use super::side::LoadedChoices;
use super::{ConfigurationError, ConfigurationScope, ConfigurationService};
use crate::TicketField;

/// A field mapping as a person enters it (a form, the API): everything but its ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingDraft {
    /// The platform's ticket type (`PlatformTenants::ticket_type`).
    pub ticket_type: String,
    pub source_field: String,
    pub target_field: String,
    pub direction: MappingDirection,
    pub value_mappings: Vec<ValueMapping>,
}

impl MappingDraft {
    /// The mapping with its ids.
    pub fn into_mapping(self, id: FieldMappingId, relationship_id: RelationshipId) -> FieldMapping {
        FieldMapping {
            id,
            relationship_id,
            ticket_type: self.ticket_type,
            source_field: self.source_field,
            target_field: self.target_field,
            direction: self.direction,
            value_mappings: self.value_mappings,
        }
    }
}

/// One value mapping with the labels of both codes where known.
#[derive(Debug, Clone)]
pub struct ValueView {
    pub source: ChoiceValue,
    pub source_label: Option<String>,
    pub target: ChoiceValue,
    pub target_label: Option<String>,
}

/// One field mapping as the screens show it.
#[derive(Debug, Clone)]
pub struct MappingView {
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

/// "Match by label" suggestions for one mapping, labelled from the mapping's own two lists.
#[derive(Debug, Clone)]
pub struct Suggestions {
    pub values: Vec<ValueView>,
    /// Why a tenant's choices could not be loaded (then there are no suggestions).
    pub problems: Vec<String>,
}

/// Both tenants' choices, for the mapping screens.
#[derive(Debug)]
pub struct BothSides {
    pub source: LoadedChoices,
    pub target: LoadedChoices,
    /// The platform's standard mappable fields, for a side whose choices are missing.
    standard_fields: Vec<TicketField>,
}

/// A tenant's mappable fields, or the `standard` ones when its own list is not available.
pub(crate) fn fields_of(choices: &LoadedChoices, standard: &[TicketField]) -> Vec<TicketField> {
    match choices {
        Ok(choices) => choices.ticket_fields().to_vec(),
        Err(_) => standard.to_vec(),
    }
}

fn field_info<'a>(fields: &'a [TicketField], name: &str) -> Option<&'a TicketField> {
    fields.iter().find(|field| field.name == name)
}

fn list_of(choices: &LoadedChoices, list: Option<&'static str>) -> Vec<Choice> {
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

impl BothSides {
    /// Why either side's choices are missing, for a notice on the page.
    pub fn problems(&self) -> Vec<String> {
        [&self.source, &self.target]
            .into_iter()
            .filter_map(|side| side.as_ref().err().map(ToString::to_string))
            .collect()
    }

    /// The mappable ticket fields of the source and the target tenant.
    pub fn mappable_fields(&self) -> (Vec<TicketField>, Vec<TicketField>) {
        (
            fields_of(&self.source, &self.standard_fields),
            fields_of(&self.target, &self.standard_fields),
        )
    }

    /// `mapping` with the labels of its fields and values, its unmapped source values and the
    /// options of its own two lists.
    pub fn view(&self, mapping: FieldMapping) -> MappingView {
        let (source_fields, target_fields) = self.mappable_fields();
        let source_field = field_info(&source_fields, &mapping.source_field);
        let target_field = field_info(&target_fields, &mapping.target_field);
        let source_list = source_field.and_then(|field| field.picklist);
        let target_list = target_field.and_then(|field| field.picklist);
        let source_options = list_of(&self.source, source_list);
        let target_options = list_of(&self.target, target_list);
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

    /// Checks a mapping's fields against the tenants' field lists (where loaded).
    fn validate(&self, draft: &MappingDraft) -> Result<(), ConfigurationError> {
        let (source_fields, target_fields) = self.mappable_fields();
        for (name, value, fields, loaded) in [
            (
                "source_field",
                &draft.source_field,
                &source_fields,
                &self.source,
            ),
            (
                "target_field",
                &draft.target_field,
                &target_fields,
                &self.target,
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
}

/// Adds suggestions for source values that have no mapping yet; existing ones are kept. Returns
/// how many were added.
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

impl ConfigurationService {
    /// Both tenants' choices (the partner's loaded server-side) and the platform's standard
    /// fields for a side whose choices are missing.
    pub async fn both_sides(&self, scope: &ConfigurationScope) -> BothSides {
        BothSides {
            source: self.choices_in_role(scope, Role::Source).await,
            target: self.choices_in_role(scope, Role::Target).await,
            standard_fields: self.tenants.standard_ticket_fields(),
        }
    }

    /// The relationship's field mappings in the order they were created.
    pub async fn mappings(
        &self,
        scope: &ConfigurationScope,
    ) -> Result<Vec<FieldMapping>, ConfigurationError> {
        Ok(self
            .relationships
            .field_mappings(scope.relationship.id)
            .await?)
    }

    /// One of the relationship's mappings; `NotFound` for any other id.
    pub async fn mapping(
        &self,
        scope: &ConfigurationScope,
        id: FieldMappingId,
    ) -> Result<FieldMapping, ConfigurationError> {
        self.mappings(scope)
            .await?
            .into_iter()
            .find(|mapping| mapping.id == id)
            .ok_or(ConfigurationError::NotFound)
    }

    pub async fn create_mapping(
        &self,
        scope: &ConfigurationScope,
        draft: MappingDraft,
    ) -> Result<MappingView, ConfigurationError> {
        let sides = self.both_sides(scope).await;
        sides.validate(&draft)?;
        let mapping = draft.into_mapping(FieldMappingId::new(), scope.relationship.id);
        self.relationships.save_field_mapping(&mapping).await?;
        self.configuration_changed(scope.relationship.id).await;
        Ok(sides.view(mapping))
    }

    pub async fn update_mapping(
        &self,
        scope: &ConfigurationScope,
        id: FieldMappingId,
        draft: MappingDraft,
    ) -> Result<MappingView, ConfigurationError> {
        let existing = self.mapping(scope, id).await?;
        let sides = self.both_sides(scope).await;
        sides.validate(&draft)?;
        let mapping = draft.into_mapping(existing.id, scope.relationship.id);
        self.relationships.save_field_mapping(&mapping).await?;
        self.configuration_changed(scope.relationship.id).await;
        Ok(sides.view(mapping))
    }

    pub async fn delete_mapping(
        &self,
        scope: &ConfigurationScope,
        id: FieldMappingId,
    ) -> Result<(), ConfigurationError> {
        let existing = self.mapping(scope, id).await?;
        self.relationships
            .delete_field_mapping(scope.relationship.id, existing.id)
            .await?;
        self.configuration_changed(scope.relationship.id).await;
        Ok(())
    }

    /// "Match by label" value suggestions for one mapping (only for picklist fields with both
    /// sides loaded).
    fn suggested_values(&self, mapping: &FieldMapping, sides: &BothSides) -> Vec<ValueMapping> {
        let (Ok(source), Ok(target)) = (&sides.source, &sides.target) else {
            return Vec::new();
        };
        let (source_fields, target_fields) = sides.mappable_fields();
        let (Some(source_field), Some(target_field)) = (
            field_info(&source_fields, &mapping.source_field),
            field_info(&target_fields, &mapping.target_field),
        ) else {
            return Vec::new();
        };
        match (source_field.picklist, target_field.picklist) {
            (Some(source_list), Some(target_list)) if source_list == target_list => self
                .tenants
                .suggested_value_mappings(source_field, source, target),
            (Some(source_list), Some(target_list)) => {
                suggest_value_mappings(source.list_ref(source_list), target.list_ref(target_list))
            }
            _ => Vec::new(),
        }
    }

    /// What "match by label" would suggest for a stored mapping, changing nothing. Labels come
    /// from the mapping's own two lists, nothing else of either tenant.
    pub async fn suggestions(
        &self,
        scope: &ConfigurationScope,
        id: FieldMappingId,
    ) -> Result<Suggestions, ConfigurationError> {
        let mapping = self.mapping(scope, id).await?;
        let sides = self.both_sides(scope).await;
        let suggested = self.suggested_values(&mapping, &sides);
        let preview = FieldMapping {
            value_mappings: suggested,
            ..mapping
        };
        Ok(Suggestions {
            values: sides.view(preview).values,
            problems: sides.problems(),
        })
    }

    /// Applies "match by label" to a stored mapping; returns it and how many values were added.
    pub async fn match_by_label(
        &self,
        scope: &ConfigurationScope,
        id: FieldMappingId,
    ) -> Result<(MappingView, usize), ConfigurationError> {
        let mut mapping = self.mapping(scope, id).await?;
        let sides = self.both_sides(scope).await;
        if let Some(error) = [&sides.source, &sides.target]
            .into_iter()
            .find_map(|side| side.as_ref().err())
        {
            return Err(ConfigurationError::Tenant {
                reason: error.to_string(),
            });
        }
        let suggested = self.suggested_values(&mapping, &sides);
        let added = merge_suggestions(&mut mapping, suggested);
        self.relationships.save_field_mapping(&mapping).await?;
        self.configuration_changed(scope.relationship.id).await;
        Ok((sides.view(mapping), added))
    }

    /// Creates the platform's default mapping set (with label-matched values where both tenants'
    /// choices are loaded), only when the relationship has no mappings yet.
    pub async fn create_default_mappings(
        &self,
        scope: &ConfigurationScope,
    ) -> Result<Vec<MappingView>, ConfigurationError> {
        if !self.mappings(scope).await?.is_empty() {
            return Err(ConfigurationError::Conflict {
                code: "mappings_exist",
                message: "This connection already has field mappings; the default set is only created when there are none.".to_owned(),
            });
        }
        let sides = self.both_sides(scope).await;
        let mut created = Vec::new();
        for mut mapping in self.tenants.default_field_mappings(scope.relationship.id) {
            let suggested = self.suggested_values(&mapping, &sides);
            merge_suggestions(&mut mapping, suggested);
            created.push(mapping);
        }
        self.relationships
            .replace_field_mappings(scope.relationship.id, &created)
            .await?;
        self.configuration_changed(scope.relationship.id).await;
        Ok(created
            .into_iter()
            .map(|mapping| sides.view(mapping))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use fusion_domain::{ChoiceValue, MappingDirection, ValueMapping};

    use super::*;
    use crate::configuration::fakes::Fixture;

    fn value(source: &str, target: &str) -> ValueMapping {
        ValueMapping {
            source: ChoiceValue::new(source),
            target: ChoiceValue::new(target),
        }
    }

    fn draft(source_field: &str, target_field: &str) -> MappingDraft {
        MappingDraft {
            ticket_type: "Ticket".to_owned(),
            source_field: source_field.to_owned(),
            target_field: target_field.to_owned(),
            direction: MappingDirection::SourceToTarget,
            value_mappings: Vec::new(),
        }
    }

    #[test]
    fn merging_suggestions_keeps_every_value_already_mapped() {
        let mut mapping =
            draft("status", "status").into_mapping(FieldMappingId::new(), RelationshipId::new());
        mapping.value_mappings.push(value("1", "7"));
        let added = merge_suggestions(&mut mapping, vec![value("1", "1"), value("5", "5")]);
        assert_eq!(added, 1);
        assert_eq!(mapping.value_mappings, [value("1", "7"), value("5", "5")]);
    }

    #[tokio::test]
    async fn a_mapping_needs_both_fields_and_fields_the_tenants_know() {
        let fixture = Fixture::connected();
        let scope = fixture.source_scope().await;
        let error = fixture
            .service
            .create_mapping(&scope, draft(" ", "status"))
            .await
            .err();
        assert!(
            matches!(&error, Some(ConfigurationError::Invalid { code: "missing_field", field: Some(field), .. }) if field == "source_field"),
            "{error:?}"
        );
        let error = fixture
            .service
            .create_mapping(&scope, draft("status", "no_such_field"))
            .await
            .err();
        assert!(
            matches!(&error, Some(ConfigurationError::Invalid { code: "unknown_field", field: Some(field), .. }) if field == "target_field"),
            "{error:?}"
        );
        assert!(fixture.store.mappings().is_empty());
    }

    #[tokio::test]
    async fn a_mapping_shows_its_labels_and_the_active_source_values_left_unmapped() {
        let fixture = Fixture::connected();
        let scope = fixture.target_scope().await;
        let mut entered = draft("status", "status");
        entered.value_mappings.push(value("1", "1"));
        let view = fixture
            .service
            .create_mapping(&scope, entered)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(view.source_label, "Status");
        assert_eq!(view.values[0].source_label.as_deref(), Some("New"));
        let unmapped: Vec<&str> = view.unmapped.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(unmapped, ["Complete"]);
        assert_eq!(fixture.store.mappings().len(), 1);
    }

    #[tokio::test]
    async fn defaults_are_created_only_while_there_are_no_mappings() {
        let fixture = Fixture::connected();
        let scope = fixture.source_scope().await;
        let created = fixture
            .service
            .create_default_mappings(&scope)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(created.len(), 1);
        // Matched by label between the two tenants' status lists.
        assert_eq!(created[0].mapping.value_mappings.len(), 2);
        let again = fixture.service.create_default_mappings(&scope).await.err();
        assert!(
            matches!(
                again,
                Some(ConfigurationError::Conflict {
                    code: "mappings_exist",
                    ..
                })
            ),
            "{again:?}"
        );
    }

    #[tokio::test]
    async fn match_by_label_needs_both_tenants_choices() {
        let fixture = Fixture::connected();
        let scope = fixture.source_scope().await;
        let view = fixture
            .service
            .create_mapping(&scope, draft("status", "status"))
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        let fixture = fixture.without_partner_credentials();
        let error = fixture
            .service
            .match_by_label(&scope, view.mapping.id)
            .await
            .err();
        assert!(
            matches!(&error, Some(ConfigurationError::Tenant { reason }) if reason.contains("partner organisation")),
            "{error:?}"
        );
    }
}
