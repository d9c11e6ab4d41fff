//! The outgoing webhook: URL checks against server-side request forgery, the JSON body, the
//! signature, and the POST itself.
//!
//! A user-entered URL is checked in three steps: its form (`https://`, no user name or password
//! in it; `http://` only for a host the server configuration allows), then every address its
//! host resolves to (none may be internal, see `address_policy`), and the request then connects
//! only to those checked addresses (the host name is pinned to them in the client), so a DNS
//! answer that changes between the check and the connection (DNS rebinding) cannot send the
//! request elsewhere. Redirects are not followed and no proxy is used, for the same reason. A
//! host on the server's allow-list skips the address check (for receivers on the operator's own
//! network), nothing else.
//!
//! Body: JSON with a Slack- and Teams-compatible `text` and the structured fields (see
//! [`webhook_body`]). Signature: header `X-Fusion-Signature: sha256=<hex>`, the HMAC-SHA256 of
//! the exact body bytes under the organisation's signing secret (its UTF-8 text as the key).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use fusion_engine::notify::{DeliveryError, NotificationEvent, WebhookUrlProblem};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use url::{Host, Url};

use crate::address_policy::refused_because;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-Fusion-Signature";
/// The header naming the event kind (`run_failed`, …).
pub const EVENT_HEADER: &str = "X-Fusion-Event";

/// Server-side webhook settings.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Host names (or IP literals) whose addresses are not checked, lower case. Set by the
    /// operator (`FUSION_NOTIFY_WEBHOOK_ALLOW_HOSTS`), never by users.
    pub allowed_hosts: Vec<String>,
    /// Whole request, connection included.
    pub timeout: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            allowed_hosts: Vec::new(),
            timeout: Duration::from_secs(10),
        }
    }
}

/// A URL that passed every check, with the addresses the request may connect to.
#[derive(Debug, Clone)]
pub struct CheckedUrl {
    pub url: Url,
    pub addresses: Vec<SocketAddr>,
}

/// Checks and posts webhooks.
#[derive(Debug, Clone)]
pub struct WebhookClient {
    settings: WebhookSettings,
    tls: Arc<rustls::ClientConfig>,
}

impl WebhookClient {
    pub fn new(settings: WebhookSettings) -> Result<Self, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| error.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let allowed_hosts = settings
            .allowed_hosts
            .iter()
            .map(|host| host.trim().trim_matches(['[', ']']).to_ascii_lowercase())
            .filter(|host| !host.is_empty())
            .collect();
        Ok(Self {
            settings: WebhookSettings {
                allowed_hosts,
                ..settings
            },
            tls: Arc::new(tls),
        })
    }

    fn is_allowed_host(&self, host: &str) -> bool {
        let host = host.trim_matches(['[', ']']).to_ascii_lowercase();
        self.settings.allowed_hosts.contains(&host)
    }

    /// Checks `entered` (form, then every address its host resolves to) and answers with the
    /// addresses the request may use.
    pub async fn check(&self, entered: &str) -> Result<CheckedUrl, WebhookUrlProblem> {
        let problem = |message: String| WebhookUrlProblem(message);
        let url = Url::parse(entered.trim()).map_err(|error| {
            problem(format!(
                "the webhook URL is not a valid URL ({error}); enter the full address, e.g. https://hooks.example.com/…"
            ))
        })?;
        let host = url
            .host()
            .ok_or_else(|| problem("the webhook URL has no host".to_owned()))?;
        let host_text = match &host {
            Host::Domain(domain) => domain.to_string(),
            Host::Ipv4(ip) => ip.to_string(),
            Host::Ipv6(ip) => ip.to_string(),
        };
        let allowed = self.is_allowed_host(&host_text);
        match url.scheme() {
            "https" => {}
            "http" if allowed => {}
            "http" => {
                return Err(problem(
                    "the webhook URL must begin with https:// (events are signed but not \
                     encrypted over http)"
                        .to_owned(),
                ));
            }
            other => {
                return Err(problem(format!(
                    "the webhook URL must begin with https://, not {other}://"
                )));
            }
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(problem(
                "the webhook URL must not contain a user name or password; put any token in \
                 the path or query instead"
                    .to_owned(),
            ));
        }
        let port = url.port_or_known_default().unwrap_or(443);
        let addresses: Vec<SocketAddr> = match host {
            Host::Ipv4(ip) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
            Host::Ipv6(ip) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
            Host::Domain(domain) => tokio::net::lookup_host((domain, port))
                .await
                .map_err(|error| {
                    problem(format!(
                        "the webhook host {domain} could not be resolved ({error}); check the URL"
                    ))
                })?
                .collect(),
        };
        if addresses.is_empty() {
            return Err(problem(format!(
                "the webhook host {host_text} has no addresses; check the URL"
            )));
        }
        if !allowed {
            for address in &addresses {
                if let Some(why) = refused_because(address.ip()) {
                    let resolved = if host_text == address.ip().to_string() {
                        String::new()
                    } else {
                        format!(" resolves to {} which", address.ip())
                    };
                    return Err(problem(format!(
                        "the webhook host {host_text}{resolved} is {why}; webhooks may only \
                         call public addresses (the server's operator can allow a host with \
                         FUSION_NOTIFY_WEBHOOK_ALLOW_HOSTS)"
                    )));
                }
            }
        }
        Ok(CheckedUrl { url, addresses })
    }

    /// Checks `url` again, then posts `event` to one of its checked addresses, signed with
    /// `secret`. Any answer other than 2xx is a failure naming the status.
    pub async fn post(
        &self,
        url: &str,
        secret: &SecretString,
        event: &NotificationEvent,
    ) -> Result<(), DeliveryError> {
        let checked = self.check(url).await?;
        let body = webhook_body(event);
        let signature = sign(secret, &body);
        let mut builder = reqwest::Client::builder()
            .tls_backend_preconfigured((*self.tls).clone())
            .timeout(self.settings.timeout)
            .connect_timeout(self.settings.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("support-fusion/", env!("CARGO_PKG_VERSION")));
        if let Some(Host::Domain(domain)) = checked.url.host() {
            // Connect only to the addresses that were checked (no second DNS look-up).
            builder = builder.resolve_to_addrs(domain, &checked.addresses);
        }
        let client = builder.build().map_err(|error| {
            DeliveryError::Failed(format!("the HTTP client could not be built: {error}"))
        })?;
        let response = client
            .post(checked.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, format!("sha256={signature}"))
            .header(EVENT_HEADER, event.kind.code())
            .body(body)
            .send()
            .await
            .map_err(|error| {
                let what = if error.is_timeout() {
                    "did not answer in time".to_owned()
                } else if error.is_connect() {
                    "could not be reached".to_owned()
                } else {
                    "failed".to_owned()
                };
                DeliveryError::Failed(format!(
                    "the webhook at {} {what} ({})",
                    host_of(&checked.url),
                    error_chain(&error)
                ))
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let text = response.text().await.unwrap_or_default();
        let excerpt: String = text.chars().take(200).collect();
        Err(DeliveryError::Failed(format!(
            "the webhook at {} answered HTTP {status}{}",
            host_of(&checked.url),
            if excerpt.trim().is_empty() {
                String::new()
            } else {
                format!(": {}", excerpt.trim())
            }
        )))
    }
}

fn host_of(url: &Url) -> String {
    url.host_str().unwrap_or("?").to_owned()
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// HMAC-SHA256 of `body` under `secret`, lower-case hex: what `X-Fusion-Signature` carries
/// after `sha256=`.
pub fn sign(secret: &SecretString, body: &[u8]) -> String {
    // HMAC accepts keys of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.expose_secret().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The JSON body of a webhook call:
///
/// ```json
/// { "text": "[Support Fusion] Sync failed: …\nWhy: …",
///   "event": "run_failed", "status": "opened", "problem_key": "run_failed:<id>",
///   "id": "<uuid>", "occurred_at": "2026-12-04T10:00:00Z", "organisation_id": "<uuid>",
///   "title": "Sync failed: …", "connection": { "id": "<uuid>", "name": "…" },
///   "details": { "why": "…", "what_to_do": "…" } }
/// ```
pub fn webhook_body(event: &NotificationEvent) -> Vec<u8> {
    let details: serde_json::Map<String, serde_json::Value> = event
        .facts
        .iter()
        .map(|fact| {
            (
                fact.key.to_owned(),
                serde_json::Value::from(fact.value.clone()),
            )
        })
        .collect();
    let body = serde_json::json!({
        "text": event.text(),
        "event": event.kind.code(),
        "status": event.phase.code(),
        "problem_key": event.problem_key,
        "id": uuid::Uuid::now_v7().to_string(),
        "occurred_at": event
            .occurred_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        "organisation_id": event.organisation.to_string(),
        "title": event.title,
        "connection": event.connection.as_ref().map(|connection| serde_json::json!({
            "id": connection.id.to_string(),
            "name": connection.name,
        })),
        "details": details,
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hmac_sha256_of_the_body_in_hex() {
        // RFC 4231 test case 2.
        let secret = SecretString::from("Jefe".to_owned());
        assert_eq!(
            sign(&secret, b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
