//! The Autotask zone table (API-NOTES §1.3): zone number → the label Autotask uses for it.
//!
//! The table is only used for display. Zone discovery accepts any `webservicesN.autotask.net`
//! host Autotask returns, because the vendor keeps adding zones and allow-lists break.

/// The label of zone N (`webservicesN`), e.g. `zone_name(5) == Some("America West")`.
pub fn zone_name(zone: u32) -> Option<&'static str> {
    Some(match zone {
        1 => "Limited Release",
        2 => "Pre-release",
        3 => "America East",
        4 => "UK",
        5 => "America West",
        6 => "Australia",
        11 => "Pre-release (UK)",
        12 => "Spanish",
        14 => "America East 2",
        15 => "America West 2",
        16 => "UK2",
        17 => "Limited Release (UK)",
        18 => "German",
        19 => "EU1",
        22 => "America East 3",
        24 => "America West 3",
        25 => "America West 4",
        26 => "Australia 2",
        28 => "UK3",
        29 => "Australia / New Zealand",
        _ => return None,
    })
}

pub(crate) fn zone_label(zone: u32) -> Option<&'static str> {
    zone_name(zone)
}

/// How a zone is shown to users: "America West (webservices5)", or "webservices30" for a zone
/// missing from the table.
pub fn zone_display(zone: u32) -> String {
    match zone_name(zone) {
        Some(name) => format!("{name} (webservices{zone})"),
        None => format!("webservices{zone}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_zones_have_their_autotask_labels() {
        assert_eq!(zone_name(5), Some("America West"));
        assert_eq!(zone_name(2), Some("Pre-release"));
        assert_eq!(zone_name(19), Some("EU1"));
        assert_eq!(zone_name(7), None);
    }

    #[test]
    fn zones_display_with_name_and_host() {
        assert_eq!(zone_display(5), "America West (webservices5)");
        assert_eq!(zone_display(30), "webservices30");
    }
}
