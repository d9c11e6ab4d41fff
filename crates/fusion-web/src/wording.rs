//! How values read to people on the pages: dates, API usage, notes about trimmed input, and a
//! domain error's clause shown as a sentence of its own.

use fusion_domain::ApiUsage;
use time::OffsetDateTime;
use time::macros::format_description;

/// "27 Nov 2026, 01:43 UTC".
pub(crate) fn human_date(at: OffsetDateTime) -> String {
    let format =
        format_description!("[day padding:none] [month repr:short] [year], [hour]:[minute] UTC");
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| at.to_string())
}

/// RFC 3339 in UTC with at most millisecond precision, as the JSON API writes timestamps (the
/// same instant reads the same whether it comes fresh or from the database).
pub(crate) fn api_timestamp(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    at.replace_millisecond(at.millisecond())
        .unwrap_or(at)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.to_string())
}

/// 10000 → "10,000".
pub(crate) fn thousands(value: u32) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// "124 of 10,000 requests this hour".
pub(crate) fn api_usage_summary(usage: &ApiUsage) -> String {
    let period = match usage.timeframe_minutes {
        60 => "this hour".to_owned(),
        0 => "in the current period".to_owned(),
        minutes => format!("in the last {minutes} minutes"),
    };
    format!(
        "{} of {} requests {period}",
        thousands(usage.requests_used),
        thousands(usage.request_limit)
    )
}

/// "Removed a trailing newline from the API secret." — what `clean_credential` trimmed, in words.
pub(crate) fn trimmed_note(field_label: &str, removed: &[String]) -> String {
    format!("Removed {} from the {field_label}.", join_words(removed))
}

/// A clause ("reverse sync needs …") as a sentence of its own: capitalised, ending in a full stop.
pub(crate) fn as_sentence(clause: &str) -> String {
    let clause = clause.trim();
    let mut chars = clause.chars();
    let mut sentence: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return String::new(),
    };
    if !sentence.ends_with(['.', '!', '?']) {
        sentence.push('.');
    }
    sentence
}

fn join_words(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_reads_like_a_sentence_with_thousands_separators() {
        let usage = ApiUsage {
            requests_used: 124,
            request_limit: 10_000,
            timeframe_minutes: 60,
        };
        assert_eq!(
            api_usage_summary(&usage),
            "124 of 10,000 requests this hour"
        );
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(0), "0");
    }

    #[test]
    fn dates_are_short_and_in_utc() {
        let at = time::macros::datetime!(2026-11-27 01:43:57 UTC);
        assert_eq!(human_date(at), "27 Nov 2026, 01:43 UTC");
        assert_eq!(api_timestamp(at), "2026-11-27T01:43:57Z");
        let precise = time::macros::datetime!(2026-11-27 01:43:57.123456789 UTC);
        assert_eq!(api_timestamp(precise), "2026-11-27T01:43:57.123Z");
    }

    #[test]
    fn a_clause_becomes_a_sentence_of_its_own() {
        assert_eq!(
            as_sentence("reverse sync needs a company"),
            "Reverse sync needs a company."
        );
        assert_eq!(as_sentence("Already one."), "Already one.");
        assert_eq!(as_sentence("  "), "");
    }

    #[test]
    fn trimmed_notes_name_every_removed_part() {
        assert_eq!(
            trimmed_note("API secret", &["a trailing newline".to_owned()]),
            "Removed a trailing newline from the API secret."
        );
        assert_eq!(
            trimmed_note(
                "API username",
                &["leading spaces".to_owned(), "a trailing tab".to_owned()]
            ),
            "Removed leading spaces and a trailing tab from the API username."
        );
    }
}
