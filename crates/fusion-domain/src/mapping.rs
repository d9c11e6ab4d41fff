//! Field mappings, value mappings and the description composition of a relationship.
//!
//! Field names are the platforms' own (opaque here): the adapter supplies the list of fields and
//! the default mapping set; this module only relates them, suggests value mappings by label, and
//! reports what is left unmapped.

use std::fmt;

use crate::ids::{FieldMappingId, RelationshipId};
use crate::integration::{Choice, ChoiceValue};

/// Which way a mapped field flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MappingDirection {
    SourceToTarget,
    TargetToSource,
    Both,
}

impl MappingDirection {
    /// The words the UI shows.
    pub fn label(&self) -> &'static str {
        match self {
            MappingDirection::SourceToTarget => "Source to target",
            MappingDirection::TargetToSource => "Target to source",
            MappingDirection::Both => "Both",
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            MappingDirection::SourceToTarget => "source_to_target",
            MappingDirection::TargetToSource => "target_to_source",
            MappingDirection::Both => "both",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "source_to_target" | "Source to target" => Some(MappingDirection::SourceToTarget),
            "target_to_source" | "Target to source" => Some(MappingDirection::TargetToSource),
            "both" | "Both" => Some(MappingDirection::Both),
            _ => None,
        }
    }

    pub fn flows_to_target(&self) -> bool {
        matches!(
            self,
            MappingDirection::SourceToTarget | MappingDirection::Both
        )
    }

    pub fn flows_to_source(&self) -> bool {
        matches!(
            self,
            MappingDirection::TargetToSource | MappingDirection::Both
        )
    }
}

impl fmt::Display for MappingDirection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Source value → target value for a picklist field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ValueMapping {
    pub source: ChoiceValue,
    pub target: ChoiceValue,
}

/// One source field ↔ one target field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldMapping {
    pub id: FieldMappingId,
    pub relationship_id: RelationshipId,
    /// The platform's ticket type the mapping applies to ("Ticket" for Autotask).
    pub ticket_type: String,
    pub source_field: String,
    pub target_field: String,
    pub direction: MappingDirection,
    /// Empty for free-text fields.
    pub value_mappings: Vec<ValueMapping>,
}

impl FieldMapping {
    /// The target value for a source value, if mapped.
    pub fn target_for(&self, source: &ChoiceValue) -> Option<&ChoiceValue> {
        self.value_mappings
            .iter()
            .find(|m| &m.source == source)
            .map(|m| &m.target)
    }

    /// The source value for a target value (first match), for fields that flow back.
    pub fn source_for(&self, target: &ChoiceValue) -> Option<&ChoiceValue> {
        self.value_mappings
            .iter()
            .find(|m| &m.target == target)
            .map(|m| &m.source)
    }
}

fn label_key(label: &str) -> String {
    label
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// "Match by label": for each active source choice, the active target choice with the same label
/// (case and spacing ignored). Choices without a match are left for the person to map.
pub fn suggest_value_mappings(source: &[Choice], target: &[Choice]) -> Vec<ValueMapping> {
    source
        .iter()
        .filter(|s| s.is_active)
        .filter_map(|s| {
            let key = label_key(&s.label);
            target
                .iter()
                .filter(|t| t.is_active)
                .find(|t| label_key(&t.label) == key)
                .map(|t| ValueMapping {
                    source: s.value.clone(),
                    target: t.value.clone(),
                })
        })
        .collect()
}

/// Active source values that have no mapping: each would fail at sync time.
pub fn unmapped_active_values<'a>(mapping: &FieldMapping, source: &'a [Choice]) -> Vec<&'a Choice> {
    source
        .iter()
        .filter(|c| c.is_active && mapping.target_for(&c.value).is_none())
        .collect()
}

/// One line of the description composition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposedField {
    /// The source platform's field name.
    pub field: String,
    /// What the line says before the colon.
    pub label: String,
}

/// An ordered list of source fields written as `Label: value` lines, a separator, then the
/// original description. Applies to tickets created from the next sync on; never rewrites
/// descriptions already synced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescriptionComposition {
    pub fields: Vec<ComposedField>,
    pub separator: String,
}

/// The separator used when none is chosen.
pub const DEFAULT_SEPARATOR: &str = "----------------------------------------";

impl Default for DescriptionComposition {
    fn default() -> Self {
        Self {
            fields: Vec::new(),
            separator: DEFAULT_SEPARATOR.into(),
        }
    }
}

impl DescriptionComposition {
    /// Renders the composed description. `value_of(field)` gives the display value of a source
    /// field (label for picklists); fields without a value are written with an empty value so the
    /// layout stays stable.
    pub fn compose(&self, value_of: &dyn Fn(&str) -> Option<String>, original: &str) -> String {
        if self.fields.is_empty() {
            return original.to_owned();
        }
        let mut text = String::new();
        for field in &self.fields {
            let value = value_of(&field.field).unwrap_or_default();
            text.push_str(&field.label);
            text.push_str(": ");
            text.push_str(value.trim());
            text.push('\n');
        }
        text.push_str(&self.separator);
        text.push('\n');
        text.push_str(original);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(value: i64, label: &str, active: bool) -> Choice {
        Choice {
            value: value.into(),
            label: label.into(),
            is_active: active,
            is_default: false,
            parent: None,
        }
    }

    #[test]
    fn value_mappings_are_suggested_by_label_ignoring_case_and_spacing() {
        let source = [
            choice(1, "New", true),
            choice(5, "Complete", true),
            choice(8, "Waiting  Customer", true),
            choice(9, "Old", false),
        ];
        let target = [
            choice(10, "new", true),
            choice(50, "COMPLETE", true),
            choice(80, "Waiting Customer", true),
            choice(90, "Old", true),
        ];
        let suggested = suggest_value_mappings(&source, &target);
        let pairs: Vec<(i64, i64)> = suggested
            .iter()
            .map(|m| {
                (
                    m.source.as_i64().unwrap_or(-1),
                    m.target.as_i64().unwrap_or(-1),
                )
            })
            .collect();
        assert_eq!(pairs, vec![(1, 10), (5, 50), (8, 80)]);
    }

    #[test]
    fn active_source_values_without_mapping_are_reported() {
        let mapping = FieldMapping {
            id: FieldMappingId::new(),
            relationship_id: RelationshipId::new(),
            ticket_type: "Ticket".into(),
            source_field: "status".into(),
            target_field: "status".into(),
            direction: MappingDirection::SourceToTarget,
            value_mappings: vec![ValueMapping {
                source: 1.into(),
                target: 10.into(),
            }],
        };
        let source = [
            choice(1, "New", true),
            choice(2, "In Progress", true),
            choice(3, "Retired", false),
        ];
        let unmapped = unmapped_active_values(&mapping, &source);
        assert_eq!(unmapped.len(), 1);
        assert_eq!(unmapped[0].label, "In Progress");
        assert_eq!(mapping.target_for(&ChoiceValue::new("1")), Some(&10.into()));
        assert_eq!(mapping.source_for(&10.into()), Some(&1.into()));
    }

    #[test]
    fn description_is_composed_as_label_lines_separator_then_original() {
        let composition = DescriptionComposition {
            fields: vec![
                ComposedField {
                    field: "ticketNumber".into(),
                    label: "Customer ticket".into(),
                },
                ComposedField {
                    field: "contact".into(),
                    label: "Contact".into(),
                },
            ],
            separator: "---".into(),
        };
        let text = composition.compose(
            &|field| (field == "ticketNumber").then(|| "T20261127.0001".to_owned()),
            "Printer on floor 2 is jammed.",
        );
        assert_eq!(
            text,
            "Customer ticket: T20261127.0001\nContact: \n---\nPrinter on floor 2 is jammed."
        );
    }

    #[test]
    fn an_empty_composition_keeps_the_original_description() {
        let text = DescriptionComposition::default().compose(&|_| None, "as is");
        assert_eq!(text, "as is");
    }

    #[test]
    fn directions_round_trip_and_say_where_they_flow() {
        for direction in [
            MappingDirection::SourceToTarget,
            MappingDirection::TargetToSource,
            MappingDirection::Both,
        ] {
            assert_eq!(MappingDirection::parse(direction.as_str()), Some(direction));
            assert_eq!(MappingDirection::parse(direction.label()), Some(direction));
        }
        assert!(MappingDirection::Both.flows_to_source());
        assert!(!MappingDirection::SourceToTarget.flows_to_source());
    }
}
