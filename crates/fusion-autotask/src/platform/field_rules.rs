//! What one Autotask tenant's ticket and note fields accept, as the domain's [`FieldRules`]: text
//! lengths and picklist values with their active flags, read from the field information already
//! loaded with the tenant's choices (`entityInformation/fields`), so building them costs no call.
//!
//! Keys are the field names the engine writes (`TicketDraft.fields`, `FieldChange.field`, the
//! domain's `title` and `description`): Autotask ticket field names spelled as the mappable field
//! list spells them (`queueID`, `subIssueType`), and `udf:<name>` for user-defined fields.

use std::collections::BTreeMap;

use fusion_domain::ChoiceValue;
use fusion_domain::sync::{FieldRule, FieldRules};

use crate::choices::{TICKET_PICKLISTS, TenantChoices, picklist_choices};
use crate::ticket_fields::{UDF_PREFIX, ticket_fields};
use crate::wire::{FieldInformation, PicklistValue};

/// Longest ticket note text when the tenant's `TicketNotes` field information is unknown
/// (hand-built choices): Autotask's long-text length, 32,000 (API-NOTES §4.2, "e.g. 32000 for
/// long text"; the `TicketNotes` entity page [D-NOTES] listed in API-NOTES §0).
pub(crate) const NOTE_DESCRIPTION_MAX_CHARS: usize = 32_000;
/// Longest ticket note title when the tenant's field information is unknown: 250 in the
/// `TicketNotes` entity page [D-NOTES] (API-NOTES §0) and in the simulator; API-NOTES itself
/// states no number, so a tenant's own `TicketNotes/entityInformation/fields` wins when loaded.
pub(crate) const NOTE_TITLE_MAX_CHARS: usize = 250;

/// The tenant's field rules (see the module docs).
pub(crate) fn field_rules(choices: &TenantChoices) -> FieldRules {
    let engine_names: Vec<String> = ticket_fields(choices)
        .into_iter()
        .map(|field| field.name)
        .collect();
    let engine_name = |wire: &str| -> String {
        engine_names
            .iter()
            .map(String::as_str)
            .chain(TICKET_PICKLISTS.iter().map(|(name, _)| *name))
            .find(|name| name.eq_ignore_ascii_case(wire))
            .unwrap_or(wire)
            .to_owned()
    };

    let mut ticket_fields: BTreeMap<String, FieldRule> = BTreeMap::new();
    let information = choices.ticket_field_information();
    for field in information {
        if field.name.trim().is_empty() {
            continue;
        }
        let rule = FieldRule {
            max_length: text_length(field),
            choices: field
                .is_pick_list
                .then(|| choice_flags(&field.picklist_values)),
        };
        if rule != FieldRule::default() {
            ticket_fields.insert(engine_name(&field.name), rule);
        }
    }
    if information.is_empty() {
        // Hand-built choices: no lengths known, but the named picklists still say what is active.
        for (field, list) in TICKET_PICKLISTS {
            let values = choices.list_ref(list);
            if !values.is_empty() {
                ticket_fields.insert(
                    (*field).to_owned(),
                    FieldRule {
                        max_length: None,
                        choices: Some(
                            values
                                .iter()
                                .map(|choice| (choice.value.clone(), choice.is_active))
                                .collect(),
                        ),
                    },
                );
            }
        }
    }
    for udf in choices.ticket_user_defined_fields() {
        if udf.name.trim().is_empty() {
            continue;
        }
        let is_text = udf
            .field_type
            .as_deref()
            .is_none_or(|kind| kind.eq_ignore_ascii_case("string"));
        let rule = FieldRule {
            max_length: (is_text && !udf.is_pick_list)
                .then(|| positive(udf.length))
                .flatten(),
            choices: udf.is_pick_list.then(|| choice_flags(&udf.picklist_values)),
        };
        if rule != FieldRule::default() {
            ticket_fields.insert(format!("{UDF_PREFIX}{}", udf.name), rule);
        }
    }

    let note_length = |name: &str| {
        choices
            .note_field_information()
            .iter()
            .find(|field| field.name.eq_ignore_ascii_case(name))
            .and_then(text_length)
    };
    FieldRules {
        ticket_fields,
        comment_body_max: Some(note_length("description").unwrap_or(NOTE_DESCRIPTION_MAX_CHARS)),
        comment_title_max: Some(note_length("title").unwrap_or(NOTE_TITLE_MAX_CHARS)),
    }
}

/// The length of a text field (Autotask gives 0 for fields that are not text).
fn text_length(field: &FieldInformation) -> Option<usize> {
    let is_text = field
        .data_type
        .as_deref()
        .is_none_or(|kind| kind.eq_ignore_ascii_case("string"));
    if !is_text || field.is_pick_list || field.is_reference {
        return None;
    }
    positive(field.length)
}

fn positive(length: Option<i64>) -> Option<usize> {
    length
        .filter(|length| *length > 0)
        .and_then(|length| usize::try_from(length).ok())
}

/// Every value of a picklist with whether it is active (codes as canonical integers).
fn choice_flags(values: &[PicklistValue]) -> Vec<(ChoiceValue, bool)> {
    picklist_choices(values)
        .into_iter()
        .map(|choice| (choice.value, choice.is_active))
        .collect()
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;

    use super::*;
    use crate::wire::UserDefinedFieldInformation;

    fn text(name: &str, length: i64) -> FieldInformation {
        FieldInformation {
            name: name.into(),
            data_type: Some("string".into()),
            length: Some(length),
            ..FieldInformation::default()
        }
    }

    fn value(code: &str, active: bool) -> PicklistValue {
        PicklistValue {
            value: code.parse().ok(),
            label: format!("value {code}"),
            is_active: active,
            ..PicklistValue::default()
        }
    }

    #[test]
    fn lengths_and_picklists_are_keyed_by_the_names_the_engine_writes() {
        let choices =
            TenantChoices::from_lists(Vec::<(String, _)>::new(), OffsetDateTime::UNIX_EPOCH)
                .with_ticket_field_information(
                    vec![
                        text("title", 255),
                        text("Description", 8000),
                        FieldInformation {
                            name: "QueueId".into(),
                            data_type: Some("integer".into()),
                            length: Some(0),
                            is_pick_list: true,
                            picklist_values: vec![value("5", true), value("8", false)],
                            ..FieldInformation::default()
                        },
                        FieldInformation {
                            name: "companyID".into(),
                            data_type: Some("integer".into()),
                            is_reference: true,
                            ..FieldInformation::default()
                        },
                    ],
                    vec![UserDefinedFieldInformation {
                        name: "Customer Reference".into(),
                        field_type: Some("string".into()),
                        length: Some(100),
                        ..UserDefinedFieldInformation::default()
                    }],
                )
                .with_note_field_information(vec![text("title", 120)]);
        let rules = field_rules(&choices);
        assert_eq!(rules.ticket_fields["title"].max_length, Some(255));
        assert_eq!(rules.ticket_fields["description"].max_length, Some(8000));
        assert_eq!(
            rules.ticket_fields["queueID"].choices,
            Some(vec![
                (ChoiceValue::from(5), true),
                (ChoiceValue::from(8), false)
            ])
        );
        assert_eq!(rules.ticket_fields["queueID"].max_length, None);
        assert!(!rules.ticket_fields.contains_key("companyID"));
        assert_eq!(
            rules.ticket_fields["udf:Customer Reference"].max_length,
            Some(100)
        );
        assert_eq!(
            rules.comment_title_max,
            Some(120),
            "the tenant's own length"
        );
        assert_eq!(
            rules.comment_body_max,
            Some(NOTE_DESCRIPTION_MAX_CHARS),
            "the documented length when the tenant's is unknown"
        );
    }

    #[test]
    fn hand_built_choices_give_their_picklists_and_the_documented_note_lengths() {
        let choices = TenantChoices::from_lists(
            [(
                "priority",
                vec![fusion_domain::Choice {
                    value: ChoiceValue::from(4),
                    label: "Critical".into(),
                    is_active: false,
                    is_default: false,
                    parent: None,
                }],
            )],
            OffsetDateTime::UNIX_EPOCH,
        );
        let rules = field_rules(&choices);
        assert_eq!(
            rules.ticket_fields["priority"].choices,
            Some(vec![(ChoiceValue::from(4), false)])
        );
        assert_eq!(rules.ticket_fields.len(), 1);
        assert_eq!(rules.comment_body_max, Some(32_000));
        assert_eq!(rules.comment_title_max, Some(250));
    }
}
