//! HTTP transport: the reqwest client (rustls with ring, webpki roots, timeouts, no redirects),
//! the test transport override, and the mapping of low-level failures to
//! [`TransportErrorKind`].
//!
//! The override (`FUSION_AUTOTASK_OVERRIDE=http://127.0.0.1:PORT`, DESIGN §4.2) rewrites every
//! `https://<host>/<path>` to `http://127.0.0.1:PORT/<host>/<path>`. It is applied here, below
//! every rule: the user-facing URL and all validation stay exactly as in production, and only a
//! loopback http URL is accepted as an override, so it cannot become an SSRF hole.

use std::error::Error as _;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::error::{AutotaskError, TransportErrorKind};

/// Redirects Autotask calls to a local simulator (tests and demos only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportOverride {
    /// Always `http://<loopback>:<port>` with no path.
    base: String,
}

/// Why a transport override was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportOverrideError {
    #[error("FUSION_AUTOTASK_OVERRIDE is not a URL: {0}")]
    NotAUrl(String),
    #[error("FUSION_AUTOTASK_OVERRIDE must be an http:// URL (e.g. http://127.0.0.1:8099)")]
    NotHttp,
    #[error(
        "FUSION_AUTOTASK_OVERRIDE must point at a loopback address (127.0.0.1, ::1 or localhost)"
    )]
    NotLoopback,
    #[error(
        "FUSION_AUTOTASK_OVERRIDE must be just scheme, host and port (no path, query, user or password)"
    )]
    HasExtraParts,
}

impl TransportOverride {
    /// Accepts only `http://<loopback>[:port][/]`.
    pub fn parse(input: &str) -> Result<TransportOverride, TransportOverrideError> {
        let url = Url::parse(input.trim())
            .map_err(|error| TransportOverrideError::NotAUrl(error.to_string()))?;
        if url.scheme() != "http" {
            return Err(TransportOverrideError::NotHttp);
        }
        if !url.username().is_empty()
            || url.password().is_some()
            || url.query().is_some()
            || url.fragment().is_some()
            || url.path() != "/"
        {
            return Err(TransportOverrideError::HasExtraParts);
        }
        let loopback = match url.host() {
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
            Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
            None => false,
        };
        if !loopback {
            return Err(TransportOverrideError::NotLoopback);
        }
        let mut base = url.to_string();
        if base.ends_with('/') {
            base.pop();
        }
        Ok(TransportOverride { base })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn as_str(&self) -> &str {
        &self.base
    }

    /// `https://host/path?q` → `http://127.0.0.1:PORT/host/path?q`.
    pub fn rewrite(&self, url: &Url) -> String {
        let host = url.host_str().unwrap_or_default();
        let mut rewritten = format!("{}/{}{}", self.base, host, url.path());
        if let Some(query) = url.query() {
            rewritten.push('?');
            rewritten.push_str(query);
        }
        rewritten
    }

    /// The reverse of [`TransportOverride::rewrite`] for the host part:
    /// `http://127.0.0.1:PORT/webservices5.autotask.net/ATServicesRest/` → the host
    /// `webservices5.autotask.net`. `None` if the URL is not under this override.
    pub fn host_of_rewritten(&self, url: &str) -> Option<String> {
        let rest = strip_prefix_ignore_case(url, &self.base)?.strip_prefix('/')?;
        let host = rest.split('/').next()?;
        (!host.is_empty()).then(|| host.to_owned())
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// The configured HTTP client plus the override.
#[derive(Debug, Clone)]
pub(crate) struct HttpTransport {
    client: reqwest::Client,
    transport_override: Option<TransportOverride>,
}

impl HttpTransport {
    pub(crate) fn new(
        transport_override: Option<TransportOverride>,
        request_timeout: Duration,
        connect_timeout: Duration,
    ) -> Result<HttpTransport, AutotaskError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| AutotaskError::Setup(error.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(request_timeout)
            .connect_timeout(connect_timeout)
            // Autotask never redirects API calls; following one could leave the allowed hosts.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("support-fusion/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| AutotaskError::Setup(error.to_string()))?;
        Ok(HttpTransport {
            client,
            transport_override,
        })
    }

    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.client
    }

    pub(crate) fn transport_override(&self) -> Option<&TransportOverride> {
        self.transport_override.as_ref()
    }

    /// The URL actually requested for a logical `https://…autotask.net/…` URL.
    pub(crate) fn physical_url(&self, logical: &Url) -> String {
        match &self.transport_override {
            Some(transport_override) => transport_override.rewrite(logical),
            None => logical.to_string(),
        }
    }
}

/// Maps a reqwest failure to our error, naming the logical (Autotask) host.
pub(crate) fn classify_transport_error(
    error: &reqwest::Error,
    host: &str,
    via_override: Option<&TransportOverride>,
) -> AutotaskError {
    let mut chain_text = String::new();
    let mut refused = false;
    let mut source: Option<&dyn std::error::Error> = Some(error);
    while let Some(current) = source {
        chain_text.push_str(&current.to_string().to_ascii_lowercase());
        chain_text.push(' ');
        if let Some(io) = current.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::ConnectionReset
            )
        {
            refused = true;
        }
        if current.downcast_ref::<rustls::Error>().is_some() {
            chain_text.push_str(" tls ");
        }
        source = current.source();
    }
    let kind = if error.is_timeout() || chain_text.contains("timed out") {
        TransportErrorKind::Timeout
    } else if chain_text.contains("dns error")
        || chain_text.contains("failed to lookup address")
        || chain_text.contains("name or service not known")
        || chain_text.contains("no address associated")
    {
        TransportErrorKind::Dns
    } else if chain_text.contains(" tls ")
        || chain_text.contains("certificate")
        || chain_text.contains("handshake")
    {
        TransportErrorKind::Tls
    } else if refused || error.is_connect() {
        TransportErrorKind::Connect
    } else {
        TransportErrorKind::Other
    };
    AutotaskError::Transport {
        kind,
        host: host.to_owned(),
        via_override: via_override.map(|transport_override| transport_override.as_str().to_owned()),
        detail: first_line(error),
    }
}

fn first_line(error: &reqwest::Error) -> String {
    // reqwest's Display includes the URL; without the query it carries no credentials (they
    // travel in headers), but keep it short anyway.
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(url.as_str(), "the Autotask API");
    }
    if let Some(source) = error.source() {
        text.push_str(": ");
        text.push_str(&source.to_string());
    }
    text.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn only_loopback_http_overrides_are_accepted() {
        assert_eq!(
            TransportOverride::parse("http://127.0.0.1:8099")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:8099"
        );
        assert!(TransportOverride::parse("http://127.0.0.1:8099/").is_ok());
        assert!(TransportOverride::parse("http://localhost:8099").is_ok());
        assert!(TransportOverride::parse("http://[::1]:8099").is_ok());
        assert_eq!(
            TransportOverride::parse("https://127.0.0.1:8099"),
            Err(TransportOverrideError::NotHttp)
        );
        assert_eq!(
            TransportOverride::parse("http://10.0.0.1:8099"),
            Err(TransportOverrideError::NotLoopback)
        );
        assert_eq!(
            TransportOverride::parse("http://evil.example:80"),
            Err(TransportOverrideError::NotLoopback)
        );
        assert_eq!(
            TransportOverride::parse("http://127.0.0.1:8099/prefix"),
            Err(TransportOverrideError::HasExtraParts)
        );
        assert_eq!(
            TransportOverride::parse("http://user@127.0.0.1:8099"),
            Err(TransportOverrideError::HasExtraParts)
        );
        assert!(matches!(
            TransportOverride::parse("not a url"),
            Err(TransportOverrideError::NotAUrl(_))
        ));
    }

    #[test]
    fn override_rewrites_host_into_the_path_and_maps_back() {
        let transport_override = TransportOverride::parse("http://127.0.0.1:8099").unwrap();
        let logical = Url::parse(
            "https://webservices5.autotask.net/ATServicesRest/V1.0/ZoneInformation?user=a%40b.example",
        )
        .unwrap();
        assert_eq!(
            transport_override.rewrite(&logical),
            "http://127.0.0.1:8099/webservices5.autotask.net/ATServicesRest/V1.0/ZoneInformation?user=a%40b.example"
        );
        assert_eq!(
            transport_override
                .host_of_rewritten(
                    "http://127.0.0.1:8099/webservices5.autotask.net/ATServicesRest/"
                )
                .as_deref(),
            Some("webservices5.autotask.net")
        );
        assert_eq!(
            transport_override
                .host_of_rewritten("http://127.0.0.2:8099/webservices5.autotask.net/"),
            None
        );
    }
}
