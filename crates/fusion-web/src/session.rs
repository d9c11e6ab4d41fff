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

/// The client's address as seen by this server (a proxy's when behind one), when served through
/// [`crate::serve`].
pub(crate) struct ClientAddress(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0.ip()),
        ))
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

/// Browsers label cross-site requests; refusing them on sign-in blocks login CSRF without any
/// extra token (the sign-in form has no session to derive one from yet).
pub(crate) fn is_cross_site_request(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.eq_ignore_ascii_case("cross-site"))
}

#[cfg(test)]
mod tests {
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
