//! The `<option>` lists the configuration pages share — a tenant's choices (labelled, inactive
//! ones marked, saved values the tenant no longer lists kept) and ticket fields — and reading a
//! posted option back into a `ChoiceValue`.

use fusion_domain::{Choice, ChoiceValue};
use fusion_engine::TicketField;

/// One `<option>`.
pub(crate) struct OptionView {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// A choice's label, marked when the tenant has made it inactive.
pub(super) fn option_label(choice: &Choice) -> String {
    if choice.is_active {
        choice.label.clone()
    } else {
        format!("{} (inactive)", choice.label)
    }
}

/// Options for `list`, with `selected` marked; saved values the tenant does not list are kept as
/// options so a save never drops them silently.
pub(super) fn options_for(choices: &[Choice], selected: &[ChoiceValue]) -> Vec<OptionView> {
    let mut options: Vec<OptionView> = choices
        .iter()
        .map(|choice| OptionView {
            value: choice.value.as_str().to_owned(),
            label: option_label(choice),
            selected: selected.contains(&choice.value),
        })
        .collect();
    for value in selected {
        if !choices.iter().any(|choice| &choice.value == value) {
            options.push(OptionView {
                value: value.as_str().to_owned(),
                label: format!("{} (not in your tenant)", value.as_str()),
                selected: true,
            });
        }
    }
    options
}

/// A posted option; an empty one means "not set".
pub(super) fn value(raw: &str) -> Option<ChoiceValue> {
    let trimmed = raw.trim();
    (!trimmed.is_empty()).then(|| ChoiceValue::new(trimmed))
}

/// Posted options of a multiple select, without empties and repeats, in their order.
pub(super) fn values(raw: &[String]) -> Vec<ChoiceValue> {
    let mut out: Vec<ChoiceValue> = Vec::new();
    for item in raw.iter().filter_map(|raw| value(raw)) {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// One ticket field in a field `<select>`.
pub(crate) struct FieldOption {
    pub name: String,
    pub label: String,
    pub selected: bool,
}

/// The tenant's ticket fields as options; a saved field the tenant no longer lists stays, selected.
pub(super) fn field_options(fields: &[TicketField], selected: &str) -> Vec<FieldOption> {
    let mut options: Vec<FieldOption> = fields
        .iter()
        .map(|field| FieldOption {
            name: field.name.clone(),
            label: field.label.clone(),
            selected: field.name == selected,
        })
        .collect();
    if !selected.is_empty() && !fields.iter().any(|field| field.name == selected) {
        options.push(FieldOption {
            name: selected.to_owned(),
            label: selected.to_owned(),
            selected: true,
        });
    }
    options
}
