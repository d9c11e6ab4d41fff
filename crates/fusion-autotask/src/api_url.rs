//! The Autotask API URL rules (DESIGN §4.1): which user-entered URLs we accept, how they are
//! normalised, and the reason and fix for everything we refuse.
//!
//! These rules are also the SSRF guard: whatever a user types, the only host the adapter will
//! ever call for a tenant is `webservicesN.autotask.net` over https.
//!
//! The host is checked on the raw text between `://` and the first `/`, `?`, `#` or `\`, not on
//! a URL parser's normalised view, so parser quirks (percent-decoding, IDNA mapping, default
//! ports, user-info) can never turn a rejected string into an accepted one.
//!
//! Decision on a missing scheme: `webservices2.autotask.net` (or `webservices2.autotask.net/x`)
//! is accepted as `https://webservices2.autotask.net/`, because that is plainly what the user
//! meant and the result is the same canonical https URL; the connection test notes the
//! normalisation. An explicit `http://` is refused (with the https URL named), because it is a
//! sign the user copied something other than the API URL, and Autotask only serves https.

use std::fmt;
use std::net::Ipv4Addr;

use crate::zone::zone_label;

/// Longest piece of user input we echo back in a message.
const MAX_ECHOED_CHARS: usize = 80;

/// A valid Autotask API URL, always exactly `https://webservicesN.autotask.net/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ApiUrl {
    zone: u32,
    canonical: String,
}

impl ApiUrl {
    /// Parses user input under the URL rules. Any path, query or fragment is dropped.
    pub fn parse(input: &str) -> Result<ApiUrl, ApiUrlError> {
        let trimmed = trim_url_input(input);
        if trimmed.is_empty() {
            return Err(ApiUrlError::Empty);
        }
        let (scheme, rest) = split_scheme(&trimmed)?;
        let authority = authority_of(rest);
        let host_verdict = classify_authority(authority);
        match host_verdict {
            HostVerdict::Api(url) => match scheme {
                Scheme::Https | Scheme::Missing => Ok(url),
                Scheme::Http => Err(ApiUrlError::InsecureScheme { api_url: url }),
                Scheme::Other(other) => Err(ApiUrlError::UnsupportedScheme {
                    scheme: echo(&other),
                    api_url: Some(url),
                }),
            },
            HostVerdict::Rejected(error) => match scheme {
                Scheme::Other(other) if !matches!(error, ApiUrlError::PortalUrl { .. }) => {
                    Err(ApiUrlError::UnsupportedScheme {
                        scheme: echo(&other),
                        api_url: None,
                    })
                }
                _ => Err(error),
            },
        }
    }

    /// Builds the API URL of a zone (`6` → `https://webservices6.autotask.net/`).
    pub fn for_zone(zone: u32) -> ApiUrl {
        ApiUrl {
            zone,
            canonical: format!("https://webservices{zone}.autotask.net/"),
        }
    }

    /// The canonical form, e.g. `https://webservices2.autotask.net/`.
    pub fn as_str(&self) -> &str {
        &self.canonical
    }

    /// The zone number N of `webservicesN`.
    pub fn zone(&self) -> u32 {
        self.zone
    }

    /// The API host, e.g. `webservices2.autotask.net`.
    pub fn host(&self) -> String {
        format!("webservices{}.autotask.net", self.zone)
    }

    /// The web portal of the same zone, e.g. `https://ww2.autotask.net/`.
    pub fn portal_url(&self) -> String {
        format!("https://ww{}.autotask.net/", self.zone)
    }
}

/// The ticket detail page of Autotask's web UI for ticket `id` in the zone of `api_url`
/// (`webservicesN` → `wwN`, the portal that ZoneInformation's `webUrl` names): `None` for an API
/// URL that is not valid or an id that is not a number.
pub fn ticket_detail_url(api_url: &str, id: &str) -> Option<String> {
    let url = ApiUrl::parse(api_url).ok()?;
    let id: u64 = id.parse().ok()?;
    Some(format!(
        "{}Mvc/ServiceDesk/TicketDetail.mvc?workspace=False&mode=0&ticketId={id}",
        url.portal_url()
    ))
}

impl fmt::Display for ApiUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical)
    }
}

/// Why an API URL was refused. `Display` is the reason the user reads; [`ApiUrlError::fix`] says
/// what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiUrlError {
    #[error("Invalid API URL: no API URL was entered")]
    Empty,
    #[error("Invalid API URL: it must begin with https://, not http://")]
    InsecureScheme { api_url: ApiUrl },
    #[error("Invalid API URL: it must begin with https://, not {scheme}://")]
    UnsupportedScheme {
        scheme: String,
        api_url: Option<ApiUrl>,
    },
    #[error("Invalid API URL: {portal_host} is the Autotask web portal, not the API")]
    PortalUrl {
        portal_host: String,
        api_url: ApiUrl,
    },
    #[error(
        "Invalid API URL: webservices.autotask.net is Autotask's zone discovery host, not your zone's API"
    )]
    DiscoveryHost,
    #[error("Invalid API URL: it contains a user name or password before the host (\"…@\")")]
    UserInfo,
    #[error(
        "Invalid API URL: it names a port; Autotask's API is only served on the standard https port"
    )]
    Port { api_url: Option<ApiUrl> },
    #[error("Invalid API URL: {host} is an IP address; the API URL must name the Autotask host")]
    IpAddress { host: String },
    #[error("Invalid API URL: {host} looks like an Autotask address but is not one")]
    Lookalike { host: String },
    #[error("Invalid API URL: {host} is not an Autotask API host")]
    UnknownAutotaskHost { host: String },
    #[error("Invalid API URL: {host} is not an Autotask address")]
    NotAutotask { host: String },
    #[error("Invalid API URL: it could not be read as a web address")]
    Malformed,
}

const GENERIC_FIX: &str = "Enter the API URL of your Autotask zone: your portal address with ww replaced by webservices, e.g. https://webservices5.autotask.net/ for https://ww5.autotask.net/";

impl ApiUrlError {
    /// What the user should do instead, naming the right URL when we can infer it.
    pub fn fix(&self) -> String {
        match self {
            ApiUrlError::InsecureScheme { api_url } => {
                format!("Use {api_url} (Autotask's API only answers over https)")
            }
            ApiUrlError::UnsupportedScheme {
                api_url: Some(api_url),
                ..
            } => format!("Use {api_url}"),
            ApiUrlError::PortalUrl { api_url, .. } => format!(
                "Use {api_url} — the API URL is the portal URL with ww replaced by webservices, same number"
            ),
            ApiUrlError::DiscoveryHost => "Use your zone's numbered host, e.g. https://webservices5.autotask.net/: it is your portal address with ww replaced by webservices (https://ww5.autotask.net/ → https://webservices5.autotask.net/)".to_owned(),
            ApiUrlError::Port {
                api_url: Some(api_url),
            } => format!("Remove the port and use {api_url}"),
            ApiUrlError::UserInfo => format!("Remove everything up to and including the @ after https://. {GENERIC_FIX}"),
            _ => GENERIC_FIX.to_owned(),
        }
    }

    /// The API URL the user most likely meant, when one can be inferred.
    pub fn suggested_api_url(&self) -> Option<&ApiUrl> {
        match self {
            ApiUrlError::InsecureScheme { api_url } | ApiUrlError::PortalUrl { api_url, .. } => {
                Some(api_url)
            }
            ApiUrlError::UnsupportedScheme { api_url, .. } | ApiUrlError::Port { api_url } => {
                api_url.as_ref()
            }
            _ => None,
        }
    }
}

/// The API URL to offer in a "did you mean …?" hint: for a portal URL (`ww2` → `webservices2`),
/// an `http://` or ported form of an API host, or a valid URL that is not yet in canonical form.
/// `None` when nothing better can be suggested or the input is already canonical.
pub fn suggest_api_url(input: &str) -> Option<ApiUrl> {
    match ApiUrl::parse(input) {
        Ok(url) if url.as_str() != input.trim() => Some(url),
        Ok(_) => None,
        Err(error) => error.suggested_api_url().cloned(),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Scheme {
    Https,
    Http,
    Missing,
    Other(String),
}

enum HostVerdict {
    Api(ApiUrl),
    Rejected(ApiUrlError),
}

/// Removes surrounding whitespace and invisible characters that copy-paste brings along.
fn trim_url_input(input: &str) -> String {
    let without_invisible: String = input
        .chars()
        .filter(|c| !matches!(c, '\u{200B}'..='\u{200D}' | '\u{FEFF}' | '\u{2060}'))
        .collect();
    without_invisible
        .trim_matches(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>'))
        .to_owned()
}

fn split_scheme(input: &str) -> Result<(Scheme, &str), ApiUrlError> {
    if let Some(index) = input.find("://") {
        let scheme = &input[..index];
        let rest = &input[index + 3..];
        let valid_scheme = scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if !valid_scheme {
            return Err(ApiUrlError::Malformed);
        }
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "https" => Scheme::Https,
            "http" => Scheme::Http,
            other => Scheme::Other(other.to_owned()),
        };
        return Ok((scheme, rest));
    }
    let lowered = input.to_ascii_lowercase();
    if lowered.starts_with("https:") || lowered.starts_with("http:") {
        // `https:webservices2…` or `https:/webservices2…`: a mangled scheme.
        return Err(ApiUrlError::Malformed);
    }
    Ok((Scheme::Missing, input.strip_prefix("//").unwrap_or(input)))
}

/// The raw authority: everything up to the first path, query or fragment delimiter. `\` counts
/// as a delimiter because WHATWG URL parsers treat it as `/` for https.
fn authority_of(rest: &str) -> &str {
    let end = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
    &rest[..end]
}

fn classify_authority(authority: &str) -> HostVerdict {
    use HostVerdict::Rejected;
    if authority.is_empty() {
        return Rejected(ApiUrlError::Malformed);
    }
    if authority.contains('@') {
        return Rejected(ApiUrlError::UserInfo);
    }
    if authority.starts_with('[') {
        return Rejected(ApiUrlError::IpAddress {
            host: echo(authority),
        });
    }
    let (host, has_port) = match authority.rsplit_once(':') {
        Some((host, _port)) => (host, true),
        None => (authority, false),
    };
    let lowered = host.to_ascii_lowercase();
    if host.parse::<Ipv4Addr>().is_ok() || looks_numeric_host(&lowered) {
        return Rejected(ApiUrlError::IpAddress { host: echo(host) });
    }
    let verdict = classify_host(&lowered, host);
    if has_port {
        return Rejected(ApiUrlError::Port {
            api_url: match verdict {
                HostVerdict::Api(url) => Some(url),
                HostVerdict::Rejected(ApiUrlError::PortalUrl { api_url, .. }) => Some(api_url),
                HostVerdict::Rejected(_) => None,
            },
        });
    }
    verdict
}

/// Hosts made only of digits and dots (`2130706433`, `127.1`) are IP addresses to a resolver.
fn looks_numeric_host(host: &str) -> bool {
    !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == 'x')
        && host.chars().next().is_some_and(|c| c.is_ascii_digit())
}

fn classify_host(lowered: &str, original: &str) -> HostVerdict {
    use HostVerdict::{Api, Rejected};
    if let Some(zone) = numbered_host(lowered, "webservices") {
        return Api(ApiUrl::for_zone(zone));
    }
    if lowered == "webservices.autotask.net" {
        return Rejected(ApiUrlError::DiscoveryHost);
    }
    if let Some(zone) = numbered_host(lowered, "ww") {
        return Rejected(ApiUrlError::PortalUrl {
            portal_host: format!("ww{zone}.autotask.net"),
            api_url: ApiUrl::for_zone(zone),
        });
    }
    if lowered.ends_with(".autotask.net") || lowered == "autotask.net" {
        return Rejected(ApiUrlError::UnknownAutotaskHost {
            host: echo(original),
        });
    }
    if lowered.contains("autotask") || lowered.contains("webservices") {
        return Rejected(ApiUrlError::Lookalike {
            host: echo(original),
        });
    }
    if lowered.is_empty() {
        return Rejected(ApiUrlError::Malformed);
    }
    Rejected(ApiUrlError::NotAutotask {
        host: echo(original),
    })
}

/// `webservices12.autotask.net` → `Some(12)` for prefix `webservices`. Digits only, no leading
/// zero, fits in a u32.
fn numbered_host(lowered: &str, prefix: &str) -> Option<u32> {
    let digits = lowered
        .strip_suffix(".autotask.net")?
        .strip_prefix(prefix)?;
    if digits.is_empty()
        || digits.len() > 4
        || digits.starts_with('0')
        || !digits.chars().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    digits.parse().ok()
}

/// User input as we may echo it: printable, bounded.
fn echo(value: &str) -> String {
    let printable: String = value
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(MAX_ECHOED_CHARS)
        .collect();
    if value.chars().count() > MAX_ECHOED_CHARS {
        format!("{printable}…")
    } else {
        printable
    }
}

/// A short description of where a zone lives, for messages: "webservices5 (America West)".
pub(crate) fn describe_zone_host(zone: u32) -> String {
    match zone_label(zone) {
        Some(label) => format!("webservices{zone} ({label})"),
        None => format!("webservices{zone}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn canonical_api_urls_are_accepted_and_normalised() {
        for input in [
            "https://webservices2.autotask.net",
            "https://webservices2.autotask.net/",
            "https://webservices2.autotask.net/ATServicesRest/V1.0/Tickets?x=1#frag",
            "HTTPS://WebServices2.AutoTask.NET/",
            "  https://webservices2.autotask.net/\n",
            "webservices2.autotask.net",
            "webservices2.autotask.net/atservicesrest",
        ] {
            let url = ApiUrl::parse(input).unwrap();
            assert_eq!(
                url.as_str(),
                "https://webservices2.autotask.net/",
                "{input}"
            );
            assert_eq!(url.zone(), 2);
        }
        assert_eq!(
            ApiUrl::parse("https://webservices29.autotask.net/")
                .unwrap()
                .zone(),
            29
        );
    }

    #[test]
    fn portal_url_is_refused_and_names_the_api_url() {
        for input in [
            "https://ww2.autotask.net/",
            "ww2.autotask.net",
            "https://ww2.autotask.net/Mvc/Home",
        ] {
            let error = ApiUrl::parse(input).unwrap_err();
            assert!(matches!(error, ApiUrlError::PortalUrl { .. }), "{input}");
            assert!(
                error
                    .to_string()
                    .contains("ww2.autotask.net is the Autotask web portal")
            );
            assert!(error.fix().contains("https://webservices2.autotask.net/"));
        }
        assert_eq!(
            suggest_api_url("ww2.autotask.net").unwrap().as_str(),
            "https://webservices2.autotask.net/"
        );
    }

    #[test]
    fn http_is_refused_and_the_https_url_is_named() {
        let error = ApiUrl::parse("http://webservices5.autotask.net/").unwrap_err();
        assert!(matches!(error, ApiUrlError::InsecureScheme { .. }));
        assert!(error.to_string().contains("https://"));
        assert!(error.fix().contains("https://webservices5.autotask.net/"));
        let portal = ApiUrl::parse("http://ww5.autotask.net/").unwrap_err();
        assert!(portal.fix().contains("https://webservices5.autotask.net/"));
    }

    #[test]
    fn the_discovery_host_is_refused_with_advice_to_use_the_numbered_host() {
        let error = ApiUrl::parse("https://webservices.autotask.net/").unwrap_err();
        assert_eq!(error, ApiUrlError::DiscoveryHost);
        assert!(error.fix().contains("numbered host"));
    }

    #[test]
    fn tricks_and_lookalikes_are_refused() {
        type Expectation = fn(&ApiUrlError) -> bool;
        let cases: &[(&str, Expectation)] = &[
            ("https://webservices2.autotask.net@evil.example/", |e| {
                matches!(e, ApiUrlError::UserInfo)
            }),
            ("https://user:pw@webservices2.autotask.net/", |e| {
                matches!(e, ApiUrlError::UserInfo)
            }),
            ("https://webservices2.autotask.net.evil.example/", |e| {
                matches!(e, ApiUrlError::Lookalike { .. })
            }),
            ("https://webservices2-autotask.net/", |e| {
                matches!(e, ApiUrlError::Lookalike { .. })
            }),
            ("https://evil.example/webservices2.autotask.net", |e| {
                matches!(e, ApiUrlError::NotAutotask { .. })
            }),
            ("https://127.0.0.1/", |e| {
                matches!(e, ApiUrlError::IpAddress { .. })
            }),
            ("https://[::1]/", |e| {
                matches!(e, ApiUrlError::IpAddress { .. })
            }),
            ("https://2130706433/", |e| {
                matches!(e, ApiUrlError::IpAddress { .. })
            }),
            ("https://webservices2.autotask.net:8443/", |e| {
                matches!(e, ApiUrlError::Port { api_url: Some(_) })
            }),
            ("https://webservices2.autotask.net:443/", |e| {
                matches!(e, ApiUrlError::Port { .. })
            }),
            ("https://webservices02.autotask.net/", |e| {
                matches!(e, ApiUrlError::UnknownAutotaskHost { .. })
            }),
            ("https://prde.autotask.net/", |e| {
                matches!(e, ApiUrlError::UnknownAutotaskHost { .. })
            }),
            ("https://webservices2%2Eautotask.net/", |e| {
                matches!(e, ApiUrlError::Lookalike { .. })
            }),
            ("https://webservices2.autotask.net./", |e| {
                matches!(e, ApiUrlError::Lookalike { .. })
            }),
            ("ftp://webservices2.autotask.net/", |e| {
                matches!(e, ApiUrlError::UnsupportedScheme { .. })
            }),
            ("https:webservices2.autotask.net", |e| {
                matches!(e, ApiUrlError::Malformed)
            }),
            ("https://", |e| matches!(e, ApiUrlError::Malformed)),
            ("", |e| matches!(e, ApiUrlError::Empty)),
        ];
        for (input, expected) in cases {
            let error = ApiUrl::parse(input).unwrap_err();
            assert!(expected(&error), "{input}: {error:?}");
            assert!(error.to_string().starts_with("Invalid API URL"), "{input}");
            assert!(!error.fix().is_empty());
        }
    }

    #[test]
    fn suggestion_is_none_for_an_already_canonical_url_or_an_unrelated_host() {
        assert_eq!(suggest_api_url("https://webservices2.autotask.net/"), None);
        assert_eq!(suggest_api_url("https://example.com/"), None);
        assert_eq!(
            suggest_api_url("https://webservices2.autotask.net/ATServicesRest")
                .unwrap()
                .as_str(),
            "https://webservices2.autotask.net/"
        );
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        fn is_canonical(url: &ApiUrl) -> bool {
            let Some(digits) = url
                .as_str()
                .strip_prefix("https://webservices")
                .and_then(|rest| rest.strip_suffix(".autotask.net/"))
            else {
                return false;
            };
            !digits.is_empty()
                && !digits.starts_with('0')
                && digits.chars().all(|c| c.is_ascii_digit())
                && digits.parse::<u32>().ok() == Some(url.zone())
        }

        /// What a standards-following URL parser (the one the HTTP client uses) would call.
        fn host_a_url_parser_sees(input: &str) -> Option<String> {
            let trimmed = trim_url_input(input);
            let with_scheme = if trimmed.contains("://") {
                trimmed
            } else {
                format!("https://{}", trimmed.trim_start_matches('/'))
            };
            url::Url::parse(&with_scheme)
                .ok()
                .and_then(|url| url.host_str().map(str::to_owned))
        }

        fn url_like() -> impl Strategy<Value = String> {
            let scheme = prop_oneof![
                Just(""),
                Just("https://"),
                Just("http://"),
                Just("HTTPS://"),
                Just("ftp://"),
                Just("//"),
                Just("https:")
            ];
            let userinfo = prop_oneof![
                Just(""),
                Just("user@"),
                Just("webservices2.autotask.net@"),
                Just("a:b@")
            ];
            let host = prop_oneof![
                (0u32..40).prop_map(|n| format!("webservices{n}.autotask.net")),
                (0u32..40).prop_map(|n| format!("ww{n}.autotask.net")),
                Just("webservices.autotask.net".to_owned()),
                Just("webservices2.autotask.net.evil.example".to_owned()),
                Just("webservices2-autotask.net".to_owned()),
                Just("127.0.0.1".to_owned()),
                Just("[::1]".to_owned()),
                "[a-z0-9.-]{1,30}",
                "[a-zA-Z0-9.@:%\\[\\]-]{1,40}",
            ];
            let port = prop_oneof![Just(""), Just(":443"), Just(":8080"), Just(":")];
            let path = prop_oneof![
                Just(String::new()),
                Just("/".to_owned()),
                Just("/ATServicesRest/V1.0".to_owned()),
                Just("?q=1".to_owned()),
                Just("#x".to_owned()),
                Just("\\@evil.example".to_owned()),
                "[ -~]{0,20}",
            ];
            (scheme, userinfo, host, port, path).prop_map(|(scheme, userinfo, host, port, path)| {
                format!("{scheme}{userinfo}{host}{port}{path}")
            })
        }

        proptest! {
            #[test]
            fn any_accepted_url_is_exactly_one_canonical_form(input in url_like()) {
                if let Ok(url) = ApiUrl::parse(&input) {
                    prop_assert!(is_canonical(&url), "{input:?} → {url}");
                    prop_assert_eq!(host_a_url_parser_sees(&input), Some(url.host()), "{:?}", input);
                }
            }

            #[test]
            fn arbitrary_text_is_either_refused_or_canonical(input in any::<String>()) {
                if let Ok(url) = ApiUrl::parse(&input) {
                    prop_assert!(is_canonical(&url), "{input:?} → {url}");
                    prop_assert_eq!(host_a_url_parser_sees(&input), Some(url.host()), "{:?}", input);
                }
            }

            #[test]
            fn nothing_with_a_non_autotask_host_is_accepted(
                host in "[a-z0-9-]{1,20}(\\.[a-z0-9-]{1,20}){0,3}",
                path in "(/[a-zA-Z0-9.@_-]{0,15}){0,3}",
            ) {
                prop_assume!(!host.ends_with("autotask.net"));
                for input in [format!("https://{host}{path}"), format!("{host}{path}"), format!("https://webservices2.autotask.net@{host}{path}")] {
                    prop_assert!(ApiUrl::parse(&input).is_err(), "{input:?} was accepted");
                }
            }

            #[test]
            fn every_zone_host_round_trips(zone in 1u32..10_000) {
                let url = ApiUrl::parse(&format!("https://webservices{zone}.autotask.net/x")).expect("valid");
                prop_assert_eq!(url.zone(), zone);
                prop_assert_eq!(url, ApiUrl::for_zone(zone));
            }
        }
    }
}
