//! Cleaning of pasted credentials (API username, API secret, integration code).
//!
//! People copy these from Autotask's one-time dialog, password managers, emails and chat, which
//! bring along trailing newlines, quotes, non-breaking spaces and zero-width characters. We
//! remove exactly those and report, in words, what was removed, so the UI can tell the user
//! ("A trailing newline was removed from the API secret"). The descriptions never contain the
//! value or any part of it.
//!
//! Removed: whitespace at either edge (including newlines, tabs, U+00A0 and U+202F), one or more
//! layers of matching surrounding quotes (straight, curly, backticks), and zero-width characters
//! (U+200B..U+200D, U+FEFF, U+2060) anywhere. Nothing inside the value is otherwise changed.

/// A cleaned value plus human descriptions of what was removed (e.g. "a trailing newline").
#[derive(Clone, PartialEq, Eq)]
pub struct CleanedValue {
    pub value: String,
    pub removed: Vec<String>,
}

impl std::fmt::Debug for CleanedValue {
    // The value may be a secret: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CleanedValue")
            .field("value", &"[redacted]")
            .field("removed", &self.removed)
            .finish()
    }
}

const QUOTE_PAIRS: &[(char, char)] = &[
    ('"', '"'),
    ('\'', '\''),
    ('`', '`'),
    ('\u{201C}', '\u{201D}'), // “ ”
    ('\u{201D}', '\u{201D}'), // ” ”
    ('\u{201E}', '\u{201C}'), // „ “
    ('\u{2018}', '\u{2019}'), // ‘ ’
    ('\u{2019}', '\u{2019}'), // ’ ’
    ('\u{00AB}', '\u{00BB}'), // « »
];

/// Cleans a pasted credential and says what was removed.
pub fn clean_credential(raw: &str) -> CleanedValue {
    let mut removed = Vec::new();

    let mut invisible_counts: Vec<(char, usize)> = Vec::new();
    let mut value: String = raw
        .chars()
        .filter(|c| {
            if is_zero_width(*c) {
                match invisible_counts.iter_mut().find(|(seen, _)| seen == c) {
                    Some((_, count)) => *count += 1,
                    None => invisible_counts.push((*c, 1)),
                }
                false
            } else {
                true
            }
        })
        .collect();

    loop {
        let before = value.len();
        value = trim_edge_whitespace(&value, &mut removed);
        if let Some(inner) = strip_matching_quotes(&value) {
            removed.push("surrounding quotes".to_owned());
            value = inner;
        }
        if value.len() == before {
            break;
        }
    }

    for (character, count) in invisible_counts {
        removed.push(describe_count(count, zero_width_name(character)));
    }
    CleanedValue { value, removed }
}

fn is_zero_width(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200D}' | '\u{FEFF}' | '\u{2060}')
}

fn zero_width_name(c: char) -> (&'static str, &'static str) {
    match c {
        '\u{200B}' => ("zero-width space", "zero-width spaces"),
        '\u{200C}' => ("zero-width non-joiner", "zero-width non-joiners"),
        '\u{200D}' => ("zero-width joiner", "zero-width joiners"),
        '\u{FEFF}' => (
            "byte-order mark (zero-width no-break space)",
            "byte-order marks (zero-width no-break spaces)",
        ),
        _ => ("word joiner (zero-width)", "word joiners (zero-width)"),
    }
}

fn strip_matching_quotes(value: &str) -> Option<String> {
    let mut chars = value.chars();
    let first = chars.next()?;
    let last = chars.next_back()?;
    let inner = chars.as_str();
    if inner.is_empty() {
        return None;
    }
    QUOTE_PAIRS
        .iter()
        .any(|(open, close)| *open == first && *close == last)
        .then(|| inner.to_owned())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum WhitespaceKind {
    Newline,
    Space,
    Tab,
    NonBreakingSpace,
    Other,
}

impl WhitespaceKind {
    fn of(c: char) -> WhitespaceKind {
        match c {
            '\n' | '\r' | '\u{2028}' | '\u{2029}' | '\u{85}' => WhitespaceKind::Newline,
            ' ' => WhitespaceKind::Space,
            '\t' => WhitespaceKind::Tab,
            '\u{A0}' | '\u{202F}' | '\u{2007}' => WhitespaceKind::NonBreakingSpace,
            _ => WhitespaceKind::Other,
        }
    }

    fn names(self) -> (&'static str, &'static str) {
        match self {
            WhitespaceKind::Newline => ("newline", "newlines"),
            WhitespaceKind::Space => ("space", "spaces"),
            WhitespaceKind::Tab => ("tab", "tabs"),
            WhitespaceKind::NonBreakingSpace => ("non-breaking space", "non-breaking spaces"),
            WhitespaceKind::Other => ("whitespace character", "whitespace characters"),
        }
    }
}

fn trim_edge_whitespace(value: &str, removed: &mut Vec<String>) -> String {
    let leading: Vec<char> = value.chars().take_while(|c| c.is_whitespace()).collect();
    let rest = &value[leading.iter().map(|c| c.len_utf8()).sum::<usize>()..];
    let trailing: Vec<char> = {
        let mut chars: Vec<char> = rest
            .chars()
            .rev()
            .take_while(|c| c.is_whitespace())
            .collect();
        chars.reverse();
        chars
    };
    let kept = &rest[..rest.len() - trailing.iter().map(|c| c.len_utf8()).sum::<usize>()];
    describe_whitespace(&leading, "leading", removed);
    describe_whitespace(&trailing, "trailing", removed);
    kept.to_owned()
}

fn describe_whitespace(chars: &[char], side: &str, removed: &mut Vec<String>) {
    let mut kinds: Vec<(WhitespaceKind, usize)> = Vec::new();
    let mut previous_was_carriage_return = false;
    for &c in chars {
        // "\r\n" is one newline to a user.
        if c == '\n' && previous_was_carriage_return {
            previous_was_carriage_return = false;
            continue;
        }
        previous_was_carriage_return = c == '\r';
        let kind = WhitespaceKind::of(c);
        match kinds.iter_mut().find(|(seen, _)| *seen == kind) {
            Some((_, count)) => *count += 1,
            None => kinds.push((kind, 1)),
        }
    }
    for (kind, count) in kinds {
        let (singular, plural) = kind.names();
        let singular = format!("{side} {singular}");
        let plural = format!("{side} {plural}");
        removed.push(describe_count(count, (&singular, &plural)));
    }
}

fn describe_count(count: usize, (singular, plural): (&str, &str)) -> String {
    if count == 1 {
        let article = if singular.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        format!("{article} {singular}")
    } else {
        format!("{count} {plural}")
    }
}

/// Turns a removal description into a sentence for the user, e.g.
/// ("a trailing newline", "API secret") → "A trailing newline was removed from the API secret".
pub fn removal_note(description: &str, field: &str) -> String {
    let singular = description.starts_with("a ") || description.starts_with("an ");
    let verb = if singular { "was" } else { "were" };
    let mut characters = description.chars();
    let capitalised = match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect::<String>(),
        None => String::new(),
    };
    format!("{capitalised} {verb} removed from the {field}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clean_value_is_left_alone() {
        let cleaned = clean_credential("b*1Qm@2R#7Zs$k");
        assert_eq!(cleaned.value, "b*1Qm@2R#7Zs$k");
        assert!(cleaned.removed.is_empty());
    }

    #[test]
    fn a_trailing_newline_is_removed_and_described() {
        let cleaned = clean_credential("s3cr3t\n");
        assert_eq!(cleaned.value, "s3cr3t");
        assert_eq!(cleaned.removed, vec!["a trailing newline"]);
        let crlf = clean_credential("s3cr3t\r\n");
        assert_eq!(crlf.removed, vec!["a trailing newline"]);
    }

    #[test]
    fn surrounding_spaces_tabs_and_non_breaking_spaces_are_removed() {
        let cleaned = clean_credential("\t s3cr3t  \u{A0}");
        assert_eq!(cleaned.value, "s3cr3t");
        assert_eq!(
            cleaned.removed,
            vec![
                "a leading tab",
                "a leading space",
                "2 trailing spaces",
                "a trailing non-breaking space"
            ]
        );
        let narrow = clean_credential("\u{202F}s3cr3t");
        assert_eq!(narrow.removed, vec!["a leading non-breaking space"]);
    }

    #[test]
    fn inner_spaces_are_kept() {
        assert_eq!(clean_credential("a b\u{A0}c").value, "a b\u{A0}c");
    }

    #[test]
    fn matching_straight_and_curly_quotes_are_removed() {
        for raw in [
            "\"s3cr3t\"",
            "'s3cr3t'",
            "“s3cr3t”",
            "‘s3cr3t’",
            " \"s3cr3t\"\n",
        ] {
            let cleaned = clean_credential(raw);
            assert_eq!(cleaned.value, "s3cr3t", "{raw:?}");
            assert!(cleaned.removed.contains(&"surrounding quotes".to_owned()));
        }
        assert_eq!(clean_credential("\"s3cr3t").value, "\"s3cr3t");
        assert_eq!(clean_credential("\"").value, "\"");
        assert_eq!(clean_credential("\"\"").value, "\"\"");
    }

    #[test]
    fn zero_width_characters_are_removed_anywhere() {
        let cleaned = clean_credential("\u{FEFF}s3\u{200B}cr\u{200B}3t\u{2060}");
        assert_eq!(cleaned.value, "s3cr3t");
        assert!(cleaned.removed.contains(&"2 zero-width spaces".to_owned()));
        assert!(
            cleaned
                .removed
                .iter()
                .any(|d| d.contains("byte-order mark"))
        );
        assert!(cleaned.removed.iter().any(|d| d.contains("word joiner")));
        assert_eq!(
            clean_credential("a\u{200D}b").removed,
            vec!["a zero-width joiner"]
        );
    }

    #[test]
    fn descriptions_never_contain_the_value() {
        let cleaned = clean_credential(" \"Zq9Secret\"\u{200B}\n");
        assert_eq!(cleaned.value, "Zq9Secret");
        for description in &cleaned.removed {
            assert!(!description.contains("Zq9"), "{description}");
        }
        assert!(!format!("{cleaned:?}").contains("Zq9"));
    }

    #[test]
    fn removal_notes_read_as_sentences() {
        assert_eq!(
            removal_note("a trailing newline", "API secret"),
            "A trailing newline was removed from the API secret"
        );
        assert_eq!(
            removal_note("surrounding quotes", "API username"),
            "Surrounding quotes were removed from the API username"
        );
    }
}
