//! Showing text someone typed (or Autotask sent) inside our own messages, safely: control
//! characters and the invisible Unicode controls that reorder or hide text (bidi overrides such
//! as U+202E, isolates, zero-width characters) are written as visible `<U+202E>` marks, and long
//! values are cut. Why: a value echoed as is can make a message read differently from what it
//! says ("Test failed: …" turned around by U+202E), or hide characters that make two values look
//! equal when they are not.

/// `value` made safe to show inside a message, at most `max_chars` characters of it (then `…`).
pub fn echo_for_message(value: &str, max_chars: usize) -> String {
    let mut shown = String::new();
    for (index, character) in value.chars().enumerate() {
        if index == max_chars {
            shown.push('…');
            break;
        }
        if is_hidden_control(character) {
            shown.push_str(&format!("<U+{:04X}>", u32::from(character)));
        } else {
            shown.push(character);
        }
    }
    shown
}

/// Whether a character is invisible yet changes how text reads: C0/C1 controls, bidi embeddings,
/// overrides, isolates and marks, zero-width characters, and the byte-order mark.
pub fn is_hidden_control(character: char) -> bool {
    character.is_control()
        || matches!(
            character,
            '\u{061C}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

/// Whether `value` holds any character [`echo_for_message`] would mark.
pub fn has_hidden_controls(value: &str) -> bool {
    value.chars().any(is_hidden_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_overrides_and_controls_are_shown_as_marks_and_long_values_cut() {
        assert_eq!(
            echo_for_message("evil\u{202E}lmth.exe\r\n", 100),
            "evil<U+202E>lmth.exe<U+000D><U+000A>"
        );
        assert_eq!(
            echo_for_message("a\u{2066}b\u{200B}c", 100),
            "a<U+2066>b<U+200B>c"
        );
        assert_eq!(echo_for_message("abcdef", 3), "abc…");
        assert_eq!(echo_for_message("ordinary ü", 100), "ordinary ü");
        assert!(has_hidden_controls("x\u{0}"));
        assert!(!has_hidden_controls("plain"));
    }
}
