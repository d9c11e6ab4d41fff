//! The configuration audit (issue 16, finding 9): every change either side makes to what the two
//! organisations share — field mappings, directions, value mappings, the description
//! composition, an import — and to its own side's configuration is recorded per connection: who
//! (the person, `None` for Support Fusion itself), which organisation, what changed (one
//! sentence; values of mappings are fine, credentials never appear here — they have their own
//! log that names fields only), and when. Both sides read the whole log.

use fusion_domain::{DescriptionComposition, FieldMapping, SideConfig};

use super::{ConfigurationError, ConfigurationScope, ConfigurationService};

/// "Status → Status (Both ways)".
fn mapping_name(mapping: &FieldMapping) -> String {
    format!(
        "{} → {} ({})",
        mapping.source_field,
        mapping.target_field,
        mapping.direction.label()
    )
}

fn value_count(mapping: &FieldMapping) -> String {
    match mapping.value_mappings.len() {
        0 => String::new(),
        1 => " with 1 value mapping".to_owned(),
        count => format!(" with {count} value mappings"),
    }
}

pub(crate) fn mapping_added(mapping: &FieldMapping) -> String {
    format!(
        "Added the field mapping {}{}",
        mapping_name(mapping),
        value_count(mapping)
    )
}

pub(crate) fn mapping_deleted(mapping: &FieldMapping) -> String {
    format!("Deleted the field mapping {}", mapping_name(mapping))
}

pub(crate) fn mapping_changed(before: &FieldMapping, after: &FieldMapping) -> Option<String> {
    let mut changes = Vec::new();
    if before.source_field != after.source_field || before.target_field != after.target_field {
        changes.push(format!(
            "fields {} → {} became {} → {}",
            before.source_field, before.target_field, after.source_field, after.target_field
        ));
    }
    if before.direction != after.direction {
        changes.push(format!(
            "direction {} became {}",
            before.direction.label(),
            after.direction.label()
        ));
    }
    if before.value_mappings != after.value_mappings {
        let pairs = after
            .value_mappings
            .iter()
            .take(10)
            .map(|value| format!("{} → {}", value.source.as_str(), value.target.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        let more = after.value_mappings.len().saturating_sub(10);
        changes.push(if after.value_mappings.is_empty() {
            "value mappings removed".to_owned()
        } else if more > 0 {
            format!("value mappings now {pairs} and {more} more")
        } else {
            format!("value mappings now {pairs}")
        });
    }
    (!changes.is_empty()).then(|| {
        format!(
            "Changed the field mapping {}: {}",
            mapping_name(after),
            changes.join("; ")
        )
    })
}

pub(crate) fn composition_saved(
    before: Option<&DescriptionComposition>,
    after: &DescriptionComposition,
) -> Option<String> {
    if before == Some(after) {
        return None;
    }
    let labels = after
        .fields
        .iter()
        .map(|field| field.label.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    Some(if labels.is_empty() {
        "Set the description composition to no lines (only the original description)".to_owned()
    } else {
        format!("Set the description composition to the lines {labels}")
    })
}

/// Which parts of a side's configuration differ, in the words of the configuration page.
pub(crate) fn side_changed(before: Option<&SideConfig>, after: &SideConfig) -> Option<String> {
    let default = SideConfig::default();
    let before = before.unwrap_or(&default);
    let mut parts = Vec::new();
    if before.receive != after.receive {
        parts.push("defaults for received tickets");
    }
    if before.send != after.send {
        parts.push("what is sent");
    }
    if before.options != after.options {
        parts.push("sync options");
    }
    if before.reverse_sync != after.reverse_sync {
        parts.push("reverse sync");
    }
    if before.closure != after.closure {
        parts.push("closure");
    }
    if before.override_api_settings != after.override_api_settings {
        parts.push(if after.override_api_settings {
            "own API settings for this connection switched on"
        } else {
            "own API settings for this connection switched off"
        });
    }
    (!parts.is_empty()).then(|| format!("Changed its side's configuration: {}", parts.join(", ")))
}

impl ConfigurationService {
    /// Records one change made through `scope` (by its person and organisation). A change is
    /// recorded after it was stored; a failure to record is logged and does not undo it.
    pub(crate) async fn record(&self, scope: &ConfigurationScope, change: Option<String>) {
        let Some(change) = change else {
            return;
        };
        // A changed configuration may cure failures that wait for a change.
        self.configuration_changed(scope.relationship.id).await;
        if let Err(error) = self
            .relationships
            .record_configuration_change(
                scope.relationship.id,
                scope.org_id,
                scope.person_id,
                &change,
            )
            .await
        {
            tracing::error!(relationship = %scope.relationship.id, %error, "a configuration change could not be recorded in the audit log");
        }
    }

    /// The shared configuration log of the connection, both sides' changes, newest first.
    pub async fn shared_history(
        &self,
        scope: &ConfigurationScope,
    ) -> Result<Vec<crate::ports::ConfigurationAuditEntry>, ConfigurationError> {
        Ok(self
            .relationships
            .relationship_configuration_audit_log(scope.relationship.id)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use fusion_domain::{ComposedField, MappingDirection, PersonId};

    use crate::configuration::MappingDraft;
    use crate::configuration::fakes::Fixture;

    #[tokio::test]
    async fn every_shared_change_is_recorded_with_person_organisation_and_what_changed() {
        let fixture = Fixture::connected();
        let alice = PersonId::new();
        let bob = PersonId::new();
        let source = fixture
            .service
            .scope_for(fixture.source_org, Some(alice), fixture.relationship)
            .await
            .expect("in scope");
        let target = fixture
            .service
            .scope_for(fixture.target_org, Some(bob), fixture.relationship)
            .await
            .expect("in scope");
        let created = fixture
            .service
            .create_mapping(
                &source,
                MappingDraft {
                    ticket_type: "Ticket".to_owned(),
                    source_field: "status".to_owned(),
                    target_field: "status".to_owned(),
                    direction: MappingDirection::SourceToTarget,
                    value_mappings: Vec::new(),
                },
            )
            .await
            .expect("created");
        fixture
            .service
            .update_mapping(
                &target,
                created.mapping.id,
                MappingDraft {
                    ticket_type: "Ticket".to_owned(),
                    source_field: "status".to_owned(),
                    target_field: "status".to_owned(),
                    direction: MappingDirection::Both,
                    value_mappings: Vec::new(),
                },
            )
            .await
            .expect("updated");
        let composition = fusion_domain::DescriptionComposition {
            fields: vec![ComposedField {
                field: "priority".to_owned(),
                label: "Priority".to_owned(),
            }],
            ..Default::default()
        };
        fixture
            .service
            .save_composition(&target, &composition)
            .await
            .expect("saved");
        // Saving the same composition again changes nothing and records nothing.
        fixture
            .service
            .save_composition(&target, &composition)
            .await
            .expect("saved");
        fixture
            .service
            .delete_mapping(&source, created.mapping.id)
            .await
            .expect("deleted");

        let log = fixture
            .service
            .shared_history(&source)
            .await
            .expect("reads");
        let seen: Vec<(Option<PersonId>, bool, &str)> = log
            .iter()
            .map(|entry| {
                (
                    entry.person_id,
                    entry.org_id == fixture.source_org,
                    entry.change.as_str(),
                )
            })
            .collect();
        assert_eq!(seen.len(), 4, "{seen:#?}");
        assert_eq!(seen[0].0, Some(alice));
        assert!(seen[0].1);
        assert!(
            seen[0]
                .2
                .starts_with("Deleted the field mapping status → status"),
            "{seen:#?}"
        );
        assert_eq!(seen[1].0, Some(bob));
        assert!(!seen[1].1, "the partner's change");
        assert_eq!(
            seen[1].2,
            "Set the description composition to the lines Priority"
        );
        assert!(
            seen[2].2.contains("direction Source to target became Both"),
            "{seen:#?}"
        );
        assert!(
            seen[3]
                .2
                .starts_with("Added the field mapping status → status"),
            "{seen:#?}"
        );
        // The partner reads the same log.
        assert_eq!(
            fixture
                .service
                .shared_history(&target)
                .await
                .expect("reads"),
            log
        );
    }
}
