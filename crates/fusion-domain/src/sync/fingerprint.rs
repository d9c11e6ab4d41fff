//! Fingerprints: a short, stable digest of a value, stored in ticket links so the planner can tell
//! "changed since the last sync" and "equal to what we last wrote" without keeping the values.
//!
//! The digest is persisted, so its definition is frozen: two FNV-1a 64-bit hashes (offset bases
//! `0xcbf29ce484222325` and `0x84222325cbf29ce4`) of a canonical encoding, written as 32 lower-case
//! hex digits. Text is canonicalised first (line endings to `\n`, trailing whitespace on each line
//! and around the whole text removed), because platforms normalise text they store.

use std::fmt;

use crate::sync::snapshot::FieldValue;

/// A stable digest of a value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(String);

const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv1a(offset: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(offset, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(FNV_PRIME)
    })
}

/// Canonical form of text for comparison.
pub fn canonical_text(text: &str) -> String {
    let unified = text.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = unified.lines().map(str::trim_end).collect();
    lines.join("\n").trim().to_owned()
}

impl Fingerprint {
    fn of_bytes(bytes: &[u8]) -> Self {
        let first = fnv1a(0xcbf2_9ce4_8422_2325, bytes);
        let second = fnv1a(0x8422_2325_cbf2_9ce4, bytes);
        Self(format!("{first:016x}{second:016x}"))
    }

    /// The fingerprint of a field value. Empty text and `Empty` are the same value.
    pub fn of_value(value: &FieldValue) -> Self {
        let encoded = match value {
            FieldValue::Empty => "e:".to_owned(),
            FieldValue::Text(text) => {
                let canonical = canonical_text(text);
                if canonical.is_empty() {
                    "e:".to_owned()
                } else {
                    format!("t:{canonical}")
                }
            }
            FieldValue::Choice(choice) => format!("c:{}", choice.as_str()),
            FieldValue::DateTime(at) => {
                format!("d:{}", at.to_offset(time::UtcOffset::UTC).unix_timestamp())
            }
        };
        Self::of_bytes(encoded.as_bytes())
    }

    /// The fingerprint of a piece of text (comment bodies).
    pub fn of_text(text: &str) -> Self {
        Self::of_value(&FieldValue::Text(text.to_owned()))
    }

    /// Re-reads a stored fingerprint.
    pub fn from_stored(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::integration::ChoiceValue;

    #[test]
    fn the_stored_digest_never_changes_between_versions() {
        assert_eq!(
            Fingerprint::of_text("hello").as_str(),
            Fingerprint::of_bytes(b"t:hello").as_str()
        );
        assert_eq!(
            Fingerprint::of_bytes(b"").as_str(),
            "cbf29ce48422232584222325cbf29ce4"
        );
    }

    #[test]
    fn platform_text_normalisation_does_not_count_as_a_change() {
        assert_eq!(
            Fingerprint::of_text("line one\r\nline two  \n"),
            Fingerprint::of_text("line one\nline two")
        );
        assert_eq!(
            Fingerprint::of_text("  "),
            Fingerprint::of_value(&FieldValue::Empty)
        );
        assert_ne!(Fingerprint::of_text("a"), Fingerprint::of_text("b"));
    }

    #[test]
    fn a_choice_and_the_same_text_are_different_values() {
        assert_ne!(
            Fingerprint::of_value(&FieldValue::Choice(ChoiceValue::new("5"))),
            Fingerprint::of_text("5")
        );
    }
}
