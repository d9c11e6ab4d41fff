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

/// "124 of the 10,000 requests Autotask allows this hour (every integration together)" — the
/// same words as the Dashboard's budget sentence.
pub(crate) fn api_usage_summary(usage: &ApiUsage) -> String {
    let period = match usage.timeframe_minutes {
        60 => "this hour".to_owned(),
        0 => "in the current period".to_owned(),
        minutes => format!("in the last {minutes} minutes"),
    };
    format!(
        "{} of the {} requests Autotask allows {period} (every integration together)",
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

/// "What to do" as a short list: an introduction (e.g. "Check in Autotask:") and one step per item.
/// A fix that numbers its checks ("(1) …; (2) …") gives one step per number; otherwise each
/// sentence is a step. Every step is a sentence of its own.
pub(crate) fn fix_steps(fix: &str) -> (Option<String>, Vec<String>) {
    let fix = fix.trim();
    if fix.is_empty() {
        return (None, Vec::new());
    }
    let mut pieces: Vec<&str> = Vec::new();
    let mut rest = fix;
    let mut number = 1;
    while let Some(at) = rest.find(&format!("({number}) ")) {
        pieces.push(&rest[..at]);
        rest = &rest[at + format!("({number}) ").len()..];
        number += 1;
    }
    pieces.push(rest);
    let tidy = |piece: &str| as_sentence(piece.trim().trim_end_matches([';', ',']).trim_end());
    if pieces.len() > 2 {
        let mut pieces = pieces.into_iter();
        let intro = pieces
            .next()
            .map(str::trim)
            .filter(|intro| !intro.is_empty());
        // The intro may itself hold sentences before the list's own lead-in ("Enter … . Check in
        // Autotask:"): those come first as steps of their own.
        let (mut steps, intro) = match intro {
            Some(intro) => {
                let mut sentences = sentences(intro);
                let lead = sentences.pop().map(|last| last.trim().to_owned());
                (sentences.iter().map(|s| tidy(s)).collect::<Vec<_>>(), lead)
            }
            None => (Vec::new(), None),
        };
        steps.extend(pieces.map(tidy).filter(|step| !step.is_empty()));
        return (intro, steps);
    }
    let steps = sentences(fix)
        .into_iter()
        .map(tidy)
        .filter(|step| !step.is_empty())
        .collect();
    (None, steps)
}

/// Splits text after ". " where the next word starts with a capital letter (so "e.g. this" and
/// "webservices2.autotask.net" stay whole).
fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    for (index, _) in text.match_indices(". ") {
        let next = bytes.get(index + 2).copied().unwrap_or(b' ');
        let before = &text[start..index];
        let abbreviation = before.ends_with("e.g") || before.ends_with("i.e");
        if next.is_ascii_uppercase() && !abbreviation {
            out.push(&text[start..=index]);
            start = index + 2;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// "4 Dec 2026": a date the way the product writes it.
pub(crate) fn human_day(date: time::Date) -> String {
    let format = format_description!("[day padding:none] [month repr:short] [year]");
    date.format(&format).unwrap_or_else(|_| date.to_string())
}

/// Reads a start date as people write it: "4 Dec 2026", "4 December 2026", or "2026-12-04".
/// Answers the ISO form (`YYYY-MM-DD`) the sync use cases take, or `None` when unreadable.
pub(crate) fn parse_day(text: &str) -> Option<String> {
    let text = text.trim();
    let iso = format_description!("[year]-[month]-[day]");
    if let Ok(date) = time::Date::parse(text, &iso) {
        return Some(date.to_string());
    }
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|word| !word.is_empty())
        .collect();
    let [day, month, year] = words.as_slice() else {
        return None;
    };
    let day: u8 = day.trim_end_matches('.').parse().ok()?;
    let year: i32 = year.parse().ok()?;
    let month = month.to_lowercase();
    let month = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ]
    .iter()
    .position(|name| month.starts_with(name))?;
    let month = time::Month::try_from(u8::try_from(month + 1).ok()?).ok()?;
    time::Date::from_calendar_date(year, month, day)
        .ok()
        .map(|date| date.to_string())
}

/// "1 ticket", "3 tickets": a count with its noun, never "ticket(s)".
pub(crate) fn counted(count: impl Into<u64>, singular: &str, plural: &str) -> String {
    let count = count.into();
    let noun = if count == 1 { singular } else { plural };
    let digits = u32::try_from(count).map_or_else(|_| count.to_string(), thousands);
    format!("{digits} {noun}")
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
            "124 of the 10,000 requests Autotask allows this hour (every integration together)"
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
    fn numbered_checks_become_a_list_with_their_lead_in() {
        let (intro, steps) = fix_steps(
            "Enter the API username. Check in Autotask: (1) the API secret was copied in full; (2) the API user is Active; (3) the key was not regenerated",
        );
        assert_eq!(intro.as_deref(), Some("Check in Autotask:"));
        assert_eq!(
            steps,
            [
                "Enter the API username.",
                "The API secret was copied in full.",
                "The API user is Active.",
                "The key was not regenerated."
            ]
        );
    }

    #[test]
    fn sentences_become_steps_but_abbreviations_and_hosts_stay_whole() {
        let (intro, steps) = fix_steps(
            "Use https://webservices5.autotask.net/ instead, e.g. from the portal. Then test again",
        );
        assert_eq!(intro, None);
        assert_eq!(
            steps,
            [
                "Use https://webservices5.autotask.net/ instead, e.g. from the portal.",
                "Then test again."
            ]
        );
        assert_eq!(fix_steps("  "), (None, Vec::new()));
    }

    #[test]
    fn counts_read_in_the_singular_or_the_plural() {
        assert_eq!(counted(1u32, "ticket", "tickets"), "1 ticket");
        assert_eq!(counted(0u32, "failed run", "failed runs"), "0 failed runs");
        assert_eq!(counted(12_500u64, "request", "requests"), "12,500 requests");
    }

    #[test]
    fn start_dates_read_the_way_people_write_them() {
        assert_eq!(parse_day("4 Dec 2026").as_deref(), Some("2026-12-04"));
        assert_eq!(
            parse_day(" 4 December, 2026 ").as_deref(),
            Some("2026-12-04")
        );
        assert_eq!(parse_day("2026-12-04").as_deref(), Some("2026-12-04"));
        assert_eq!(parse_day("31 Feb 2026"), None);
        assert_eq!(parse_day("12/04/2026"), None);
        let day = time::macros::date!(2026 - 12 - 04);
        assert_eq!(human_day(day), "4 Dec 2026");
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
