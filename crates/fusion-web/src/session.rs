//! Who is calling: the session cookie (pages and browser-side API calls) or an API token in
//! `Authorization: Bearer …` (scripts), the CSRF token derived from the session token, and the
//! organisation-scope check that turns any other organisation's route into a 404.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use fusion_domain::{OrgId, Person};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use crate::AppState;
use crate::error::ApiError;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "fusion_session";
/// Header a cookie-authenticated JSON write must carry, with the value from `GET /api/v1/me`.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// How the caller proved who they are.
pub(crate) enum Credential {
    /// A browser session; writes need the CSRF token derived from it.
    Session(SecretString),
    /// An API token; exempt from CSRF because a browser never attaches it on its own.
    ApiToken,
}

/// An authenticated person and how they authenticated.
pub(crate) struct Caller {
    pub person: Person,
    pub credential: Credential,
}

impl Caller {
    /// The CSRF token for this session, `None` for API-token callers.
    pub fn csrf_token(&self) -> Option<String> {
        match &self.credential {
            Credential::Session(token) => Some(csrf_token_for_session(token)),
            Credential::ApiToken => None,
        }
    }

    /// Checks a CSRF token presented by a cookie-authenticated caller; API tokens always pass.
    pub fn csrf_token_matches(&self, presented: Option<&str>) -> bool {
        match &self.credential {
            Credential::ApiToken => true,
            Credential::Session(token) => match presented {
                Some(presented) => csrf_token_is_valid(token, presented),
                None => false,
            },
        }
    }

    pub fn auth_kind(&self) -> &'static str {
        match self.credential {
            Credential::Session(_) => "session",
            Credential::ApiToken => "api_token",
        }
    }
}

fn csrf_mac(session_token: &SecretString) -> Hmac<Sha256> {
    // HMAC keyed with the session token: unforgeable without the (HttpOnly) cookie, and needs no
    // server-side state. Any key length is valid for HMAC.
    let mut mac = Hmac::<Sha256>::new_from_slice(session_token.expose_secret().as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(b"support-fusion/csrf/v1");
    mac
}

/// The CSRF token of a session: HMAC-SHA256(session token, fixed label), URL-safe base64.
pub(crate) fn csrf_token_for_session(session_token: &SecretString) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(csrf_mac(session_token).finalize().into_bytes())
}

/// Constant-time comparison of a presented CSRF token against the session's.
pub(crate) fn csrf_token_is_valid(session_token: &SecretString, presented: &str) -> bool {
    use base64::Engine;
    match base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(presented.trim()) {
        Ok(bytes) => csrf_mac(session_token).verify_slice(&bytes).is_ok(),
        Err(_) => false,
    }
}

/// The session token from the cookie, if any.
pub(crate) fn session_token_from_headers(headers: &HeaderMap) -> Option<SecretString> {
    let jar = CookieJar::from_headers(headers);
    jar.get(SESSION_COOKIE)
        .map(|cookie| cookie.value().to_owned())
        .filter(|value| !value.is_empty())
        .map(SecretString::from)
}

/// The person behind the session cookie, if it is live.
pub(crate) async fn session_caller(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Caller>, ApiError> {
    let Some(token) = session_token_from_headers(headers) else {
        return Ok(None);
    };
    let person = state.store().session_person(token.expose_secret()).await?;
    Ok(person.map(|person| Caller {
        person,
        credential: Credential::Session(token),
    }))
}

/// Authenticates an API request: a Bearer token wins over a cookie (and a wrong Bearer token is
/// refused rather than falling back to the cookie).
pub(crate) async fn api_caller(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value.to_str().map_err(|_| ApiError::Unauthenticated)?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or(ApiError::Unauthenticated)?;
        let person = state.store().api_token_person(token).await?;
        return person
            .map(|person| Caller {
                person,
                credential: Credential::ApiToken,
            })
            .ok_or(ApiError::Unauthenticated);
    }
    session_caller(state, headers)
        .await?
        .ok_or(ApiError::Unauthenticated)
}

/// Parses an organisation id from a path segment; anything unparsable is simply "not found".
pub(crate) fn parse_org_id(raw: &str) -> Option<OrgId> {
    raw.parse().ok()
}

fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// An API caller allowed to act on the organisation named in the path. Extraction order is
/// authentication (401), organisation scope (404), then CSRF for cookie-authenticated writes (403),
/// so another organisation's route is a 404 whatever else is wrong with the request.
pub(crate) struct OrgApiCaller {
    pub caller: Caller,
    pub org_id: OrgId,
}

impl FromRequestParts<AppState> for OrgApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = api_caller(state, &parts.headers).await?;
        let org_id = org_id_in_scope(parts, &caller)?;
        if is_write(&parts.method) {
            let presented = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|value| value.to_str().ok());
            if !caller.csrf_token_matches(presented) {
                return Err(ApiError::CsrfRejected);
            }
        }
        Ok(OrgApiCaller { caller, org_id })
    }
}

/// The organisation id in the path if it is the caller's own; otherwise `NotFound`.
pub(crate) fn org_id_in_scope(parts: &Parts, caller: &Caller) -> Result<OrgId, ApiError> {
    let raw = org_id_path_segment(parts.uri.path()).ok_or(ApiError::NotFound)?;
    let org_id = parse_org_id(raw).ok_or(ApiError::NotFound)?;
    if org_id != caller.person.org_id {
        return Err(ApiError::NotFound);
    }
    Ok(org_id)
}

/// The segment after `/orgs/` in a path (API and pages both use `…/orgs/{org_id}/…`).
fn org_id_path_segment(path: &str) -> Option<&str> {
    let mut segments = path.split('/');
    segments.by_ref().find(|segment| *segment == "orgs")?;
    segments.next().filter(|segment| !segment.is_empty())
}

/// The client's address: the peer's, or — when the peer is a configured trusted proxy — the
/// nearest address in `X-Forwarded-For` that is not a trusted proxy itself (read from the right,
/// so a client cannot choose its address by sending the header itself). `None` when not served
/// through [`crate::serve`].
pub(crate) struct ClientAddress(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip());
        Ok(ClientAddress(peer.map(|peer| {
            client_address(peer, &parts.headers, &state.settings().trusted_proxies)
        })))
    }
}

/// See [`ClientAddress`].
pub(crate) fn client_address(
    peer: IpAddr,
    headers: &HeaderMap,
    trusted: &[TrustedProxy],
) -> IpAddr {
    let is_trusted = |address: &IpAddr| trusted.iter().any(|proxy| proxy.contains(*address));
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .map(|hop| hop.parse::<IpAddr>())
        .collect::<Result<_, _>>()
        .unwrap_or_default();
    forwarded
        .into_iter()
        .rev()
        .find(|hop| !is_trusted(hop))
        .unwrap_or(peer)
}

/// A trusted reverse proxy: one address (`10.0.0.5`, `::1`) or a network (`10.0.0.0/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedProxy {
    network: IpAddr,
    prefix: u8,
}

impl TrustedProxy {
    /// Parses `ADDRESS` or `ADDRESS/PREFIX`; the error says what is wrong.
    pub fn parse(text: &str) -> Result<TrustedProxy, String> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address
            .parse()
            .map_err(|_| format!("\"{}\" is not an IP address", text.escape_debug()))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|prefix| *prefix <= max)
                .ok_or_else(|| {
                    format!(
                        "\"{}\" has a prefix length outside 0–{max}",
                        text.escape_debug()
                    )
                })?,
        };
        Ok(TrustedProxy { network, prefix })
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.network, address) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(network) & mask == u32::from(address) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(network) & mask == u128::from(address) & mask
            }
            _ => false,
        }
    }
}

/// The session cookie as set after sign-in.
pub(crate) fn session_cookie(token: &SecretString, state: &AppState) -> Cookie<'static> {
    let ttl = state.settings().session_ttl;
    Cookie::build((SESSION_COOKIE, token.expose_secret().to_owned()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings().secure_cookies)
        .max_age(ttl)
        .build()
}

/// A cookie that makes the browser forget the session.
pub(crate) fn cleared_session_cookie(state: &AppState) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, ""))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings().secure_cookies)
        .max_age(time::Duration::ZERO)
        .build()
}

/// Whether a sign-in POST comes from another site (login CSRF: a foreign page signing the
/// browser in to an account of the attacker's). The sign-in form has no session to derive a
/// token from yet, so the browser's own labels decide, strongest first:
///
/// 1. `Sec-Fetch-Site: cross-site` (current browsers) is refused.
/// 2. Otherwise `Origin`, when sent, must be this server's own origin (`null`, sent by sandboxed
///    frames and some redirects, is refused).
/// 3. Otherwise `Referer`, when sent, must be on this server's own origin.
///
/// A request with none of them (scripts, `curl`) is let through: a browser always sends at least
/// one of them on a cross-site form POST. This server's origin is `public_origin` when
/// configured (`FUSION_PUBLIC_URL`), else the scheme the cookies are set up for and the `Host`
/// header.
pub(crate) fn is_cross_site_request(
    headers: &HeaderMap,
    public_origin: Option<&str>,
    secure: bool,
) -> bool {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::trim)
    };
    if header("sec-fetch-site").is_some_and(|value| value.eq_ignore_ascii_case("cross-site")) {
        return true;
    }
    let own_origin = match public_origin {
        Some(origin) => Some(origin.trim_end_matches('/').to_ascii_lowercase()),
        None => header("host").map(|host| {
            format!(
                "{}://{}",
                if secure { "https" } else { "http" },
                host.to_ascii_lowercase()
            )
        }),
    };
    let same_origin = |origin: &str| {
        own_origin
            .as_deref()
            .is_some_and(|own| origin_of(origin).as_deref() == Some(own))
    };
    if let Some(origin) = header("origin") {
        return !same_origin(origin);
    }
    if let Some(referer) = header("referer") {
        return !same_origin(referer);
    }
    false
}

/// `scheme://host[:port]` of a URL, lower-cased, with the scheme's default port dropped;
/// `None` for anything that is not an http(s) URL (including `null`).
pub(crate) fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = rest
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let authority = match (scheme.as_str(), authority.rsplit_once(':')) {
        ("http", Some((host, "80"))) | ("https", Some((host, "443"))) => host.to_owned(),
        _ => authority,
    };
    Some(format!("{scheme}://{authority}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn csrf_token_is_accepted_only_for_its_own_session() {
        let session = SecretString::from("session-one".to_owned());
        let other = SecretString::from("session-two".to_owned());
        let token = csrf_token_for_session(&session);
        assert!(csrf_token_is_valid(&session, &token));
        assert!(!csrf_token_is_valid(&other, &token));
        assert!(!csrf_token_is_valid(&session, "not-a-token"));
        assert!(!csrf_token_is_valid(&session, ""));
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn sign_in_from_another_origin_is_cross_site_even_without_sec_fetch_site() {
        let host = ("host", "fusion.example:8080");
        let cases: [(&[(&'static str, &str)], bool); 9] = [
            (&[host], false),
            (&[host, ("origin", "http://fusion.example:8080")], false),
            (&[host, ("origin", "https://evil.example")], true),
            (&[host, ("origin", "null")], true),
            (
                &[host, ("referer", "http://fusion.example:8080/sign-in")],
                false,
            ),
            (&[host, ("referer", "https://evil.example/page")], true),
            (
                &[
                    host,
                    ("referer", "http://fusion.example:8080.evil.example/"),
                ],
                true,
            ),
            (&[host, ("sec-fetch-site", "cross-site")], true),
            // Origin wins over a same-origin Referer.
            (
                &[
                    host,
                    ("origin", "https://evil.example"),
                    ("referer", "http://fusion.example:8080/"),
                ],
                true,
            ),
        ];
        for (pairs, cross_site) in cases {
            assert_eq!(
                is_cross_site_request(&headers(pairs), None, false),
                cross_site,
                "{pairs:?}"
            );
        }
        // A configured public URL is the origin, whatever Host a proxy sent.
        let behind_proxy = headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "https://fusion.example"),
        ]);
        assert!(!is_cross_site_request(
            &behind_proxy,
            Some("https://fusion.example/"),
            true
        ));
        assert!(is_cross_site_request(&behind_proxy, None, true));
    }

    #[test]
    fn x_forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let proxies = [
            TrustedProxy::parse("10.0.0.0/8").unwrap(),
            TrustedProxy::parse("::1").unwrap(),
        ];
        let forwarded = headers(&[("x-forwarded-for", "1.2.3.4, 198.51.100.7, 10.1.1.1")]);
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let stranger: IpAddr = "203.0.113.5".parse().unwrap();
        // From the proxy: the nearest untrusted hop (the client cannot pick 1.2.3.4 for itself).
        assert_eq!(
            client_address(proxy, &forwarded, &proxies),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        // From anyone else the header is ignored.
        assert_eq!(client_address(stranger, &forwarded, &proxies), stranger);
        // Garbage in the header: the proxy's own address.
        let garbage = headers(&[("x-forwarded-for", "not-an-address")]);
        assert_eq!(client_address(proxy, &garbage, &proxies), proxy);
        assert!(TrustedProxy::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxy::parse("proxy.example").is_err());
        assert!(TrustedProxy::parse("0.0.0.0/0").unwrap().contains(stranger));
    }

    #[test]
    fn org_id_is_found_in_api_and_page_paths() {
        assert_eq!(
            org_id_path_segment("/api/v1/orgs/abc/platform"),
            Some("abc")
        );
        assert_eq!(org_id_path_segment("/orgs/abc/settings"), Some("abc"));
        assert_eq!(org_id_path_segment("/api/v1/me"), None);
    }
}
