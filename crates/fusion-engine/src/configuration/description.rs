//! The description composition of a relationship: which fields it may show, reading, checking,
//! saving and removing it, and its preview.
//!
//! The preview runs on a real ticket only on the SOURCE tenant, for the source organisation
//! itself, and only on a ticket of the company the connection carries on that side (its
//! `SideConfig::company_scope`); the target sees `<Label>` placeholders. So neither organisation
//! can read the other's tickets — nor its own tickets of another company — through it.

use std::collections::HashMap;

use fusion_domain::{DescriptionComposition, Role};

use super::mappings::fields_of;
use super::tenant_access::Whose;
use super::{ConfigurationError, ConfigurationScope, ConfigurationService};
use crate::Freshness;

/// A field a composition line can show: the platform's field name and its label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposableField {
    pub name: String,
    pub label: String,
}

/// A composed description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    /// Which ticket it was rendered on, e.g. "T20261127.0001 — Printer jams"; placeholders say so.
    pub ticket: String,
    pub text: String,
    /// Whether real ticket values were used.
    pub real: bool,
}

/// A composition received whole (the API) may be stored only if every line names a field.
pub fn validate_composition(
    composition: &DescriptionComposition,
) -> Result<(), ConfigurationError> {
    for (index, field) in composition.fields.iter().enumerate() {
        if field.field.trim().is_empty() {
            return Err(ConfigurationError::invalid(
                "missing_field",
                &format!("fields[{index}].field"),
                "every line needs a source field",
            ));
        }
    }
    Ok(())
}

/// The composition with `<Label>` placeholders instead of a ticket's values.
fn placeholders(composition: &DescriptionComposition) -> Preview {
    let labels: HashMap<&str, &str> = composition
        .fields
        .iter()
        .map(|field| (field.field.as_str(), field.label.as_str()))
        .collect();
    let text = composition.compose(
        &|field| labels.get(field).map(|label| format!("<{label}>")),
        "<the original description>",
    );
    Preview {
        ticket: "placeholders (the tickets are the partner's, so only the partner can preview a real one)".to_owned(),
        text,
        real: false,
    }
}

impl ConfigurationService {
    /// Fields a description composition can use: the ticket facts, then the source tenant's
    /// mappable fields (when the caller is the source, from its live choices) or the platform's
    /// standard ones — never the description itself.
    pub async fn composable_fields(&self, scope: &ConfigurationScope) -> Vec<ComposableField> {
        let source = if scope.role == Role::Source {
            self.my_choices(scope, Freshness::Cached).await
        } else {
            // The partner's fields are not loaded for this: the standard ones will do.
            Err(ConfigurationError::NotFound)
        };
        let mut fields: Vec<ComposableField> = self
            .tenants
            .ticket_facts()
            .into_iter()
            .map(|fact| ComposableField {
                name: fact.name,
                label: fact.label,
            })
            .collect();
        fields.extend(
            fields_of(&source, &self.tenants.standard_ticket_fields())
                .into_iter()
                .filter(|field| field.name != "description")
                .map(|field| ComposableField {
                    name: field.name,
                    label: field.label,
                }),
        );
        fields
    }

    pub async fn composition(
        &self,
        scope: &ConfigurationScope,
    ) -> Result<Option<DescriptionComposition>, ConfigurationError> {
        Ok(self
            .relationships
            .description_composition(scope.relationship.id)
            .await?)
    }

    /// Stores the composition (from the next sync on; descriptions already synced stay).
    pub async fn save_composition(
        &self,
        scope: &ConfigurationScope,
        composition: &DescriptionComposition,
    ) -> Result<(), ConfigurationError> {
        let before = self
            .relationships
            .description_composition(scope.relationship.id)
            .await?;
        self.relationships
            .save_description_composition(scope.relationship.id, Some(composition))
            .await?;
        self.record(
            scope,
            super::audit::composition_saved(before.as_ref(), composition),
        )
        .await;
        Ok(())
    }

    /// Back to a plain description mapping.
    pub async fn remove_composition(
        &self,
        scope: &ConfigurationScope,
    ) -> Result<(), ConfigurationError> {
        let before = self
            .relationships
            .description_composition(scope.relationship.id)
            .await?;
        self.relationships
            .save_description_composition(scope.relationship.id, None)
            .await?;
        if before.is_some() {
            self.record(
                scope,
                Some(
                    "Removed the description composition (back to the plain description)"
                        .to_owned(),
                ),
            )
            .await;
        }
        Ok(())
    }

    /// Renders `composition` on ticket `ticket_id` (or the most recently active one) of the
    /// source tenant — for the source organisation only, and only a ticket of the company its
    /// side carries — or with `<Label>` placeholders for the target.
    pub async fn preview(
        &self,
        scope: &ConfigurationScope,
        composition: &DescriptionComposition,
        ticket_id: crate::tenant::PreviewTicket,
    ) -> Result<Preview, ConfigurationError> {
        if scope.role != Role::Source {
            return Ok(placeholders(composition));
        }
        // Only ever a ticket of the company this connection carries (privacy between
        // relationships).
        let (side, _) = self.side_config(scope).await?;
        let Some(company) = side.company_scope().cloned() else {
            return Err(ConfigurationError::Conflict {
                code: "company_required",
                message: "Choose the company that represents your partner (under \"Tickets you \
                          receive\" → Company) first: the preview shows one of the tickets this \
                          connection carries, and only that company's tickets are carried."
                    .to_owned(),
            });
        };
        let credentials = self
            .side_credentials(scope.relationship.id, scope.org_id, Whose::Mine)
            .await?;
        let ticket = self
            .tenants
            .preview(&credentials, &ticket_id, &company)
            .await
            .map_err(|error| {
                ConfigurationError::tenant(
                    "Could not read the ticket from your Autotask tenant",
                    error,
                )
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
}

#[cfg(test)]
mod tests {
    use fusion_domain::{ChoiceValue, ComposedField, SideConfig};

    use super::*;
    use crate::configuration::fakes::Fixture;

    fn composition() -> DescriptionComposition {
        DescriptionComposition {
            separator: "----".to_owned(),
            fields: vec![ComposedField {
                field: "ticketNumber".to_owned(),
                label: "Customer ticket".to_owned(),
            }],
        }
    }

    #[test]
    fn every_line_of_a_composition_needs_a_field() {
        let mut composition = composition();
        assert!(validate_composition(&composition).is_ok());
        composition.fields.push(ComposedField {
            field: "  ".to_owned(),
            label: "Nothing".to_owned(),
        });
        let error = validate_composition(&composition).err();
        assert!(
            matches!(&error, Some(ConfigurationError::Invalid { field: Some(field), .. }) if field == "fields[1].field"),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn the_target_previews_placeholders_and_reads_no_ticket() {
        let fixture = Fixture::connected();
        let scope = fixture.target_scope().await;
        let preview = fixture
            .service
            .preview(&scope, &composition(), crate::tenant::PreviewTicket::Id(1))
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        assert!(!preview.real);
        assert!(preview.text.contains("<Customer ticket>"), "{preview:?}");
        assert_eq!(fixture.tenants.previews_asked(), 0);
    }

    #[tokio::test]
    async fn the_source_previews_only_a_ticket_of_its_company_scope() {
        let fixture = Fixture::connected();
        let scope = fixture.source_scope().await;
        let error = fixture
            .service
            .preview(&scope, &composition(), crate::tenant::PreviewTicket::Latest)
            .await
            .err();
        assert!(
            matches!(
                error,
                Some(ConfigurationError::Conflict {
                    code: "company_required",
                    ..
                })
            ),
            "{error:?}"
        );
        assert_eq!(fixture.tenants.previews_asked(), 0);

        let mut side = SideConfig::default();
        side.receive.company = Some(ChoiceValue::new("29000001"));
        fixture.store.put_side(fixture.source_org, side);
        let preview = fixture
            .service
            .preview(&scope, &composition(), crate::tenant::PreviewTicket::Latest)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        assert!(preview.real);
        assert!(preview.text.contains("T20261127.0001"), "{preview:?}");
        assert_eq!(
            fixture.tenants.preview_companies(),
            [ChoiceValue::new("29000001")]
        );
    }

    #[tokio::test]
    async fn composable_fields_are_the_facts_then_the_fields_without_the_description() {
        let fixture = Fixture::connected();
        let scope = fixture.target_scope().await;
        let names: Vec<String> = fixture
            .service
            .composable_fields(&scope)
            .await
            .into_iter()
            .map(|field| field.name)
            .collect();
        assert_eq!(names, ["ticketNumber", "status"]);
    }
}
