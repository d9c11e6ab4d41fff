//! Fitting values to what the receiving platform accepts, before a create or update is sent: a
//! text longer than its field is cut on a grapheme boundary with a visible marker (the full text
//! then goes into a note), a picklist value the receiving tenant does not have or has made
//! inactive is left out so the configured default applies (or, on an update, the field is left
//! as it is). Each fitting is reported for the ticket's record; none fails the ticket.
//!
//! Lengths are counted in UTF-16 code units, which is at least the number of characters: a text
//! that fits by this count fits a platform that counts characters too (Autotask is a .NET
//! service, whose string lengths are UTF-16 units). Text is never interpreted: HTML stays text.

use std::collections::BTreeMap;

use unicode_segmentation::UnicodeSegmentation;

use crate::integration::ChoiceValue;
use crate::relationship::Role;
use crate::sync::action::{CommentDraft, FieldChange, FieldFingerprint, TicketDraft};
use crate::sync::fingerprint::Fingerprint;
use crate::sync::snapshot::{DESCRIPTION, FieldValue, TITLE};

/// What the sync appends where it cut a text.
pub const TRUNCATION_MARKER: &str = "\u{2026} [truncated by Support Fusion]";

/// One field's rules on the receiving platform.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldRule {
    /// Longest text the field takes, in UTF-16 code units.
    pub max_length: Option<usize>,
    /// For picklists: every value the tenant has, with whether it is active.
    pub choices: Option<Vec<(ChoiceValue, bool)>>,
}

/// A receiving platform's field rules for tickets and notes, by the platform's field names. Empty
/// rules fit nothing (a platform that does not say accepts what it is sent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldRules {
    pub ticket_fields: BTreeMap<String, FieldRule>,
    /// Longest note (comment) body and title.
    pub comment_body_max: Option<usize>,
    pub comment_title_max: Option<usize>,
}

/// One value changed to fit, for the ticket's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fitting {
    pub field: String,
    /// One sentence for people.
    pub message: String,
    /// The whole text when a text was cut, to be added as a note.
    pub full_text: Option<String>,
}

/// Length as the platform counts it.
pub fn text_length(text: &str) -> usize {
    text.encode_utf16().count()
}

/// `text` cut to at most `max` UTF-16 units including [`TRUNCATION_MARKER`], on a grapheme
/// boundary (an emoji, a letter with its combining marks, a flag stay whole); `None` when it fits.
pub fn fit_text(text: &str, max: usize) -> Option<String> {
    if text_length(text) <= max {
        return None;
    }
    let room = max.saturating_sub(text_length(TRUNCATION_MARKER));
    let mut kept = String::new();
    let mut used = 0;
    for grapheme in text.graphemes(true) {
        let length = text_length(grapheme);
        if used + length > room {
            break;
        }
        used += length;
        kept.push_str(grapheme);
    }
    if max < text_length(TRUNCATION_MARKER) {
        return Some(kept);
    }
    Some(format!("{}{TRUNCATION_MARKER}", kept.trim_end()))
}

/// `text` in pieces of at most `max` UTF-16 units each, split on grapheme boundaries (for the
/// notes that carry a cut text in full).
pub fn split_text(text: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut used = 0;
    for grapheme in text.graphemes(true) {
        let length = text_length(grapheme);
        if used + length > max && !current.is_empty() {
            pieces.push(std::mem::take(&mut current));
            used = 0;
        }
        used += length;
        current.push_str(grapheme);
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

fn field_label(field: &str) -> &str {
    match field {
        TITLE => "Title",
        DESCRIPTION => "Description",
        other => other,
    }
}

fn cut_message(field: &str, original: usize, max: usize) -> String {
    format!(
        "{} was {original} characters, more than the {max} the receiving platform takes: it was \
         cut and the full text added as a note",
        field_label(field)
    )
}

impl FieldRules {
    fn max_length(&self, field: &str) -> Option<usize> {
        self.ticket_fields
            .get(field)
            .and_then(|rule| rule.max_length)
    }

    /// `Some(reason)` when `value` is a picklist value the receiving tenant does not take.
    fn refuses_choice(&self, field: &str, value: &ChoiceValue) -> Option<String> {
        let choices = self.ticket_fields.get(field)?.choices.as_ref()?;
        match choices.iter().find(|(choice, _)| choice == value) {
            Some((_, true)) => None,
            Some((_, false)) => Some(format!(
                "value {} of {field} is inactive in the receiving tenant",
                value.as_str()
            )),
            None => Some(format!(
                "value {} of {field} does not exist in the receiving tenant",
                value.as_str()
            )),
        }
    }

    /// Fits a ticket to create on side `on`. Fingerprints of fitted fields are corrected to
    /// what is really written (so the next run does not take the cut text for a change), and a
    /// left-out picklist field joins `baseline_fields` (its fingerprint is taken from the created
    /// ticket: the configured default).
    pub fn fit_draft(
        &self,
        on: Role,
        draft: &mut TicketDraft,
        fingerprints: &mut Vec<FieldFingerprint>,
        baseline_fields: &mut Vec<String>,
    ) -> Vec<Fitting> {
        let mut fittings = Vec::new();
        for (field, text) in [
            (TITLE, &mut draft.title),
            (DESCRIPTION, &mut draft.description),
        ] {
            if let Some(max) = self.max_length(field)
                && let Some(cut) = fit_text(text, max)
            {
                fittings.push(Fitting {
                    field: field.to_owned(),
                    message: cut_message(field, text_length(text), max),
                    full_text: Some(std::mem::replace(text, cut.clone())),
                });
                set_fingerprint(fingerprints, on, field, &FieldValue::Text(cut));
            }
        }
        let mut left_out = Vec::new();
        for (field, value) in &mut draft.fields {
            match value {
                FieldValue::Text(text) => {
                    if let Some(max) = self.max_length(field)
                        && let Some(cut) = fit_text(text, max)
                    {
                        fittings.push(Fitting {
                            field: field.clone(),
                            message: cut_message(field, text_length(text), max),
                            full_text: Some(std::mem::replace(text, cut.clone())),
                        });
                        set_fingerprint(fingerprints, on, field, &FieldValue::Text(cut));
                    }
                }
                FieldValue::Choice(choice) => {
                    if let Some(reason) = self.refuses_choice(field, choice) {
                        fittings.push(Fitting {
                            field: field.clone(),
                            message: format!("{reason}: the configured default was used"),
                            full_text: None,
                        });
                        left_out.push(field.clone());
                    }
                }
                _ => {}
            }
        }
        for field in left_out {
            draft.fields.remove(&field);
            fingerprints.retain(|entry| !(entry.side == on && entry.field == field));
            if !baseline_fields.contains(&field) {
                baseline_fields.push(field);
            }
        }
        fittings
    }

    /// Fits an update of a ticket on side `on`: texts are cut, a refused picklist value is not
    /// written (the field keeps its value; its fingerprint stays what it was).
    pub fn fit_changes(
        &self,
        on: Role,
        changes: &mut Vec<FieldChange>,
        fingerprints: &mut Vec<FieldFingerprint>,
    ) -> Vec<Fitting> {
        let mut fittings = Vec::new();
        let mut refused = Vec::new();
        for change in changes.iter_mut() {
            match &mut change.value {
                FieldValue::Text(text) => {
                    if let Some(max) = self.max_length(&change.field)
                        && let Some(cut) = fit_text(text, max)
                    {
                        fittings.push(Fitting {
                            field: change.field.clone(),
                            message: cut_message(&change.field, text_length(text), max),
                            full_text: Some(std::mem::replace(text, cut.clone())),
                        });
                        set_fingerprint(fingerprints, on, &change.field, &FieldValue::Text(cut));
                    }
                }
                FieldValue::Choice(choice) => {
                    if let Some(reason) = self.refuses_choice(&change.field, choice) {
                        fittings.push(Fitting {
                            field: change.field.clone(),
                            message: format!("{reason}: the field was left as it is"),
                            full_text: None,
                        });
                        refused.push(change.field.clone());
                    }
                }
                _ => {}
            }
        }
        changes.retain(|change| !refused.contains(&change.field));
        fingerprints.retain(|entry| !(entry.side == on && refused.contains(&entry.field)));
        fittings
    }

    /// Fits a comment: its title is cut with the marker; a body too long is cut and the rest is
    /// not lost (the caller adds the full text as further notes).
    pub fn fit_comment(&self, draft: &mut CommentDraft) -> Vec<Fitting> {
        let mut fittings = Vec::new();
        if let Some(max) = self.comment_title_max
            && let Some(cut) = fit_text(&draft.title, max)
        {
            draft.title = cut;
        }
        if let Some(max) = self.comment_body_max
            && let Some(cut) = fit_text(&draft.body, max)
        {
            fittings.push(Fitting {
                field: "comment".into(),
                message: format!(
                    "A comment was {} characters, more than the {max} the receiving platform takes \
                     for a note: it was cut and the rest added as further notes",
                    text_length(&draft.body)
                ),
                full_text: Some(std::mem::replace(&mut draft.body, cut)),
            });
        }
        fittings
    }
}

fn set_fingerprint(
    fingerprints: &mut [FieldFingerprint],
    side: Role,
    field: &str,
    value: &FieldValue,
) {
    for entry in fingerprints.iter_mut() {
        if entry.side == side && entry.field == field {
            entry.fingerprint = Fingerprint::of_value(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_that_fits_is_left_alone() {
        assert_eq!(fit_text("short", 10), None);
        assert_eq!(fit_text(&"x".repeat(10), 10), None);
    }

    #[test]
    fn a_long_text_is_cut_to_the_limit_with_the_marker() {
        let cut = fit_text(&"a".repeat(9_000), 8_000).expect("cut");
        assert_eq!(text_length(&cut), 8_000);
        assert!(cut.ends_with(TRUNCATION_MARKER));
    }

    #[test]
    fn emoji_combining_marks_and_right_to_left_text_are_never_split() {
        // A family emoji (several code points joined), an e with a combining acute accent, Hebrew.
        let family = "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}";
        let text = format!(
            "{}{}{}",
            family.repeat(50),
            "e\u{301}".repeat(50),
            "\u{5E9}\u{5DC}\u{5D5}\u{5DD} ".repeat(50)
        );
        for max in 40..200 {
            let cut = fit_text(&text, max).expect("cut");
            assert!(text_length(&cut) <= max, "{max}");
            let kept = cut.trim_end_matches(TRUNCATION_MARKER);
            assert!(text.starts_with(kept), "cut inside a grapheme at {max}");
            assert_eq!(
                kept.graphemes(true).next_back().map(|g| text.contains(g)),
                Some(true)
            );
        }
    }

    #[test]
    fn split_pieces_fit_and_join_back_to_the_whole_text() {
        let text = format!("{}<b>not html</b>", "\u{1F600}".repeat(30));
        let pieces = split_text(&text, 7);
        assert!(pieces.iter().all(|piece| text_length(piece) <= 7));
        assert_eq!(pieces.concat(), text);
    }

    fn rules() -> FieldRules {
        FieldRules {
            ticket_fields: BTreeMap::from([
                (
                    TITLE.to_owned(),
                    FieldRule {
                        max_length: Some(20),
                        choices: None,
                    },
                ),
                (
                    "priority".to_owned(),
                    FieldRule {
                        max_length: None,
                        choices: Some(vec![(1.into(), true), (2.into(), false)]),
                    },
                ),
            ]),
            comment_body_max: Some(50),
            comment_title_max: Some(10),
        }
    }

    #[test]
    fn an_inactive_picklist_value_in_an_update_is_not_written_and_says_why() {
        let mut changes = vec![
            FieldChange {
                field: "priority".into(),
                value: FieldValue::Choice(2.into()),
            },
            FieldChange {
                field: TITLE.into(),
                value: FieldValue::Text("a title that is far too long".into()),
            },
        ];
        let mut fingerprints = vec![FieldFingerprint {
            side: Role::Target,
            field: "priority".into(),
            fingerprint: Fingerprint::of_value(&FieldValue::Choice(2.into())),
        }];
        let fittings = rules().fit_changes(Role::Target, &mut changes, &mut fingerprints);
        assert_eq!(changes.len(), 1);
        assert!(fingerprints.is_empty());
        assert_eq!(fittings.len(), 2);
        assert!(fittings[0].message.contains("inactive"));
        assert_eq!(
            fittings[1].full_text.as_deref(),
            Some("a title that is far too long")
        );
    }
}
