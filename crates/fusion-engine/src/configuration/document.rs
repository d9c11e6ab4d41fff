//! Configuration as a document, out and back in: my side's configuration, the relationship's field
//! mappings and its description composition ([`ConfigurationDocument`]). How a document is
//! written (TOML with labels in comments, or JSON, versioned) is the caller's — the web layer's
//! file format; here it is plain domain data.
//!
//! An import is all or nothing: a document for the other side, a side outside its company scope
//! or a mapping without a ticket type is refused before anything is written, and then nothing
//! changes.

use std::collections::HashMap;

use fusion_domain::{ChoiceValue, DescriptionComposition, FieldMapping, Role, SideConfig};

use super::side::{LIST_NAMES, Warning, scope_sentence, warnings, within_scope};
use super::{ConfigurationError, ConfigurationScope, ConfigurationService};
use crate::Freshness;

/// One side's whole configuration, in domain terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigurationDocument {
    /// The side it configures; an imported document may leave it out.
    pub role: Option<Role>,
    pub side: SideConfig,
    pub mappings: Vec<FieldMapping>,
    pub composition: Option<DescriptionComposition>,
}

/// Labels to write next to codes, for people: list name → code → label of my tenant, and per
/// mapping (in order) the source and target labels of its values.
#[derive(Debug, Default)]
pub struct ExportLabels {
    pub side: HashMap<&'static str, HashMap<ChoiceValue, String>>,
    pub mapping_values: Vec<(HashMap<ChoiceValue, String>, HashMap<ChoiceValue, String>)>,
}

/// What an export gives: the document (its `role` is my side's), my side's company scope in
/// words, and — when asked for — the labels of the codes.
#[derive(Debug)]
pub struct ConfigurationExport {
    pub document: ConfigurationDocument,
    pub scope_sentence: String,
    pub labels: ExportLabels,
}

/// What an import did.
#[derive(Debug, Clone)]
pub struct ImportOutcome {
    pub mappings: usize,
    pub composition: bool,
    /// The imported side checked against my tenant's live choices.
    pub warnings: Vec<Warning>,
}

fn label_map(options: Vec<fusion_domain::Choice>) -> HashMap<ChoiceValue, String> {
    options
        .into_iter()
        .map(|choice| (choice.value, choice.label))
        .collect()
}

impl ConfigurationService {
    /// My side's whole configuration. `partner_name` is how the scope sentence names the partner;
    /// `with_labels` also looks up the labels of every code (my tenant's for my side, both
    /// tenants' for each mapping's own two lists).
    pub async fn export(
        &self,
        scope: &ConfigurationScope,
        partner_name: &str,
        with_labels: bool,
    ) -> Result<ConfigurationExport, ConfigurationError> {
        let (side, _) = self.side_config(scope).await?;
        let mappings = self.mappings(scope).await?;
        let composition = self.composition(scope).await?;
        let mine = self.my_choices(scope, Freshness::Cached).await;
        let sentence = scope_sentence(&side, &mine, partner_name);
        let mut labels = ExportLabels::default();
        if with_labels {
            if let Ok(choices) = &mine {
                for list in LIST_NAMES {
                    labels.side.insert(list, label_map(choices.list(list)));
                }
            }
            if !mappings.is_empty() {
                let sides = self.both_sides(scope).await;
                labels.mapping_values = mappings
                    .iter()
                    .cloned()
                    .map(|mapping| {
                        let view = sides.view(mapping);
                        (
                            label_map(view.source_options),
                            label_map(view.target_options),
                        )
                    })
                    .collect();
            }
        }
        Ok(ConfigurationExport {
            document: ConfigurationDocument {
                role: Some(scope.role),
                side,
                mappings,
                composition,
            },
            scope_sentence: sentence,
            labels,
        })
    }

    /// Replaces my side's configuration, the mappings and the composition with the document's —
    /// or, when any of it is refused, changes nothing. A side outside its company scope is
    /// [`ConfigurationError::OutsideScope`]; the mappings become the relationship's, in order.
    pub async fn import(
        &self,
        scope: &ConfigurationScope,
        document: ConfigurationDocument,
    ) -> Result<ImportOutcome, ConfigurationError> {
        if let Some(role) = document.role
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
        let side = within_scope(document.side).map_err(ConfigurationError::OutsideScope)?;
        let mut mappings = document.mappings;
        for mapping in &mut mappings {
            if mapping.ticket_type.trim().is_empty() {
                return Err(ConfigurationError::invalid(
                    "missing_field",
                    "mappings.ticket_type",
                    format!(
                        "a mapping needs a ticket type (\"{}\")",
                        self.tenants.ticket_type()
                    ),
                ));
            }
            mapping.relationship_id = scope.relationship.id;
        }
        let relationship = scope.relationship.id;
        self.relationships
            .replace_field_mappings(relationship, &mappings)
            .await?;
        self.relationships
            .save_description_composition(relationship, document.composition.as_ref())
            .await?;
        self.relationships
            .save_integration_config(relationship, scope.org_id, &side)
            .await?;
        self.configuration_changed(relationship).await;
        tracing::info!(%relationship, org = %scope.org_id, mappings = mappings.len(), "configuration imported");
        let choices = self.my_choices(scope, Freshness::Cached).await;
        Ok(ImportOutcome {
            mappings: mappings.len(),
            composition: document.composition.is_some(),
            warnings: warnings(&side, &choices),
        })
    }
}

#[cfg(test)]
mod tests {
    use fusion_domain::{
        ChoiceValue, ComposedField, FieldMappingId, MappingDirection, RelationshipId,
    };

    use super::*;
    use crate::configuration::fakes::Fixture;

    fn document(role: Option<Role>, company: &str) -> ConfigurationDocument {
        let mut side = SideConfig::default();
        side.receive.company = Some(ChoiceValue::new(company));
        ConfigurationDocument {
            role,
            side,
            mappings: vec![FieldMapping {
                id: FieldMappingId::new(),
                relationship_id: RelationshipId::new(),
                ticket_type: "Ticket".to_owned(),
                source_field: "status".to_owned(),
                target_field: "status".to_owned(),
                direction: MappingDirection::SourceToTarget,
                value_mappings: Vec::new(),
            }],
            composition: Some(DescriptionComposition {
                separator: "----".to_owned(),
                fields: vec![ComposedField {
                    field: "ticketNumber".to_owned(),
                    label: "Customer ticket".to_owned(),
                }],
            }),
        }
    }

    #[tokio::test]
    async fn an_import_replaces_the_side_the_mappings_and_the_composition() {
        let fixture = Fixture::connected();
        let scope = fixture.source_scope().await;
        let outcome = fixture
            .service
            .import(&scope, document(Some(Role::Source), "29000001"))
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!((outcome.mappings, outcome.composition), (1, true));
        assert!(outcome.warnings.is_empty(), "{:?}", outcome.warnings);
        let stored = fixture.store.side(fixture.source_org).unwrap_or_default();
        assert_eq!(
            stored.send.partner_company,
            Some(ChoiceValue::new("29000001")),
            "stored with its company filters set to its scope"
        );
        let mappings = fixture.store.mappings();
        assert_eq!(mappings[0].relationship_id, scope.relationship.id);
        assert!(fixture.store.composition().is_some());

        let exported = fixture
            .service
            .export(&scope, "Northwind IT", true)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(exported.document.role, Some(Role::Source));
        assert_eq!(exported.document.side, stored);
        assert_eq!(exported.document.mappings, mappings);
        assert!(
            exported.scope_sentence.contains("Contoso Manufacturing"),
            "{}",
            exported.scope_sentence
        );
        assert_eq!(
            exported.labels.side["company"][&ChoiceValue::new("29000001")],
            "Contoso Manufacturing"
        );
        assert_eq!(exported.labels.mapping_values.len(), 1);
    }

    #[tokio::test]
    async fn a_refused_import_changes_nothing() {
        let fixture = Fixture::connected();
        let scope = fixture.source_scope().await;

        let error = fixture
            .service
            .import(&scope, document(Some(Role::Target), "29000001"))
            .await
            .err();
        assert!(
            matches!(&error, Some(ConfigurationError::Invalid { code: "wrong_side", field: Some(field), .. }) if field == "side.role"),
            "{error:?}"
        );

        let mut outside = document(None, "29000001");
        outside.side.send.partner_company = Some(ChoiceValue::new("29000002"));
        let error = fixture.service.import(&scope, outside).await.err();
        assert!(
            matches!(&error, Some(ConfigurationError::OutsideScope(problems)) if problems[0].field == "send.partner_company"),
            "{error:?}"
        );

        let mut untyped = document(None, "29000001");
        untyped.mappings[0].ticket_type = " ".to_owned();
        let error = fixture.service.import(&scope, untyped).await.err();
        assert!(
            matches!(&error, Some(ConfigurationError::Invalid { code: "missing_field", message, .. }) if message.contains("\"Ticket\"")),
            "{error:?}"
        );

        assert_eq!(fixture.store.side(fixture.source_org), None);
        assert!(fixture.store.mappings().is_empty());
        assert!(fixture.store.composition().is_none());
    }
}
