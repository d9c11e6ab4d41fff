//! The adapter's error type: every way an Autotask call can fail, classified so that callers
//! (the sync engine, the connection test) can branch without parsing text.
//!
//! Classification rules come from API-NOTES §2.4, §6.1 and §7: a 401 (usually with an empty
//! body) is `Unauthorized`; 403 or a 500 saying "does not have adequate permissions" is
//! `PermissionDenied`; the thread threshold is recognised by its body text as well as by 429;
//! 500 `{"errors":[…]}` and ASP.NET `{"Message":…}` bodies are `Rejected` with their messages.

use std::fmt;

/// What went wrong below HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportErrorKind {
    /// The host name could not be resolved.
    Dns,
    /// The TCP connection was refused or could not be made.
    Connect,
    /// The TLS handshake failed (certificate, protocol).
    Tls,
    /// No answer in time.
    Timeout,
    Other,
}

impl fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportErrorKind::Dns => "the host name could not be resolved (DNS)",
            TransportErrorKind::Connect => "the connection was refused or could not be made",
            TransportErrorKind::Tls => "the secure (TLS) connection could not be established",
            TransportErrorKind::Timeout => "it did not answer in time (timeout)",
            TransportErrorKind::Other => "the request failed on the network",
        })
    }
}

/// A failed Autotask call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AutotaskError {
    /// 401: wrong username, secret or integration code, inactive user, or wrong zone.
    #[error("Autotask refused the credentials (HTTP 401)")]
    Unauthorized,
    /// ZoneInformation does not know the username.
    #[error("Autotask does not know this API username (zone information could not be determined)")]
    ZoneUnknown,
    /// The API user's security level does not allow this entity.
    #[error("the API user may not access {entity}: {message}")]
    PermissionDenied { entity: String, message: String },
    /// "Thread Threshold Exceeded" (Itgenatr005): more than 3 concurrent calls on one endpoint.
    #[error("Autotask's thread threshold was exceeded: {message}")]
    ThreadThreshold { message: String },
    /// 429 or the hourly request threshold.
    #[error("Autotask rate-limited the request: {message}")]
    RateLimited { message: String },
    /// Autotask refused the request with messages (validation, business rules, framework errors).
    #[error("Autotask rejected the request (HTTP {status}): {}", messages.join("; "))]
    Rejected { status: u16, messages: Vec<String> },
    /// The record or route does not exist.
    #[error("not found in Autotask: {what}")]
    NotFound { what: String },
    /// The call never got an HTTP answer.
    #[error("could not reach {host}: {kind}")]
    Transport {
        kind: TransportErrorKind,
        /// The Autotask host that was meant (never the override's loopback address).
        host: String,
        /// The test transport override the call went through, if any.
        via_override: Option<String>,
        /// The HTTP stack's description (for logs).
        detail: String,
    },
    /// The answer was not the API's JSON (an HTML error page, a proxy page, malformed JSON).
    #[error(
        "Autotask answered with something that is not its API's JSON (HTTP {status}): {detail}"
    )]
    Decode { status: u16, detail: String },
    /// This server's share of the database's hourly requests does not allow the request now (it
    /// says until when); no call was made.
    #[error("{0}; no request was sent")]
    BudgetExhausted(fusion_engine::budget::BudgetWait),
    /// This API username was refused by Autotask too often in the last hour; the request (with a
    /// secret not yet accepted for it) was not sent, so repeated guesses cannot lock the API user
    /// in Autotask or use up its database's allowance.
    #[error(
        "Autotask refused this API username's credentials {refused} times in the last hour; to keep Autotask from locking the API user, this server sends no other secret for it for {retry_after_secs} s"
    )]
    AuthenticationPaused { refused: u32, retry_after_secs: u64 },
    /// ZoneInformation returned a URL that is not an Autotask API host.
    #[error("Autotask's zone information named an unexpected API address: {url}")]
    UnexpectedZoneUrl { url: String },
    /// Neither the deployment nor the organisation configured an `ApiIntegrationCode`.
    #[error("no Autotask integration code is configured")]
    IntegrationCodeMissing,
    /// The adapter could not be set up (e.g. the HTTP client could not be built).
    #[error("the Autotask client could not be set up: {0}")]
    Setup(String),
}

/// Autotask answers both validation errors and its own failures with HTTP 500 `{"errors":[…]}`;
/// these texts (and 502–504) mean the server failed, not that it judged the request (the same
/// texts the platform's error mapping treats as an unknown outcome of a write).
fn looks_like_server_failure(status: u16, messages: &[String]) -> bool {
    if matches!(status, 502..=504) {
        return true;
    }
    status >= 500
        && messages.iter().any(|message| {
            let lowered = message.to_ascii_lowercase();
            lowered.contains("unexpected error")
                || lowered.contains("timed out")
                || lowered.contains("internal server error")
                || lowered.contains("try again")
        })
}

impl AutotaskError {
    /// Worth trying again later with the same request: the failure is about load or the network,
    /// not about the request.
    pub fn is_retryable(&self) -> bool {
        match self {
            AutotaskError::ThreadThreshold { .. } | AutotaskError::RateLimited { .. } => true,
            AutotaskError::Transport { kind, .. } => !matches!(kind, TransportErrorKind::Tls),
            // A gateway page, or a success answer cut short on the way.
            AutotaskError::Decode { status, .. } => matches!(status, 200..=299 | 502..=504),
            AutotaskError::Rejected { status, messages } => {
                looks_like_server_failure(*status, messages)
            }
            _ => false,
        }
    }

    /// A non-idempotent write may be sent again: Autotask definitely did not process it.
    pub fn write_was_not_processed(&self) -> bool {
        match self {
            AutotaskError::ThreadThreshold { .. } | AutotaskError::RateLimited { .. } => true,
            AutotaskError::Transport { kind, .. } => {
                matches!(kind, TransportErrorKind::Dns | TransportErrorKind::Connect)
            }
            _ => false,
        }
    }

    /// A short stable name for metrics and logs.
    pub fn kind_name(&self) -> &'static str {
        match self {
            AutotaskError::Unauthorized => "unauthorized",
            AutotaskError::ZoneUnknown => "zone_unknown",
            AutotaskError::PermissionDenied { .. } => "permission_denied",
            AutotaskError::ThreadThreshold { .. } => "thread_threshold",
            AutotaskError::RateLimited { .. } => "rate_limited",
            AutotaskError::Rejected { .. } => "rejected",
            AutotaskError::NotFound { .. } => "not_found",
            AutotaskError::Transport { .. } => "transport",
            AutotaskError::Decode { .. } => "decode",
            AutotaskError::BudgetExhausted(_) => "budget_exhausted",
            AutotaskError::AuthenticationPaused { .. } => "authentication_paused",
            AutotaskError::UnexpectedZoneUrl { .. } => "unexpected_zone_url",
            AutotaskError::IntegrationCodeMissing => "integration_code_missing",
            AutotaskError::Setup(_) => "setup",
        }
    }
}

/// The longest body excerpt kept in an error.
const MAX_DETAIL_CHARS: usize = 300;

/// Classifies a non-success HTTP answer. `entity` names the endpoint for permission messages.
pub(crate) fn classify_response(status: u16, body: &str, entity: &str) -> AutotaskError {
    let messages = error_messages(body);
    let all_text = messages
        .as_ref()
        .map(|m| m.join(" "))
        .unwrap_or_else(|| body.to_owned());
    let lowered = all_text.to_ascii_lowercase();

    if lowered.contains("thread threshold") || lowered.contains("itgenatr005") {
        return AutotaskError::ThreadThreshold {
            message: excerpt(&all_text),
        };
    }
    if status == 429 {
        return AutotaskError::RateLimited {
            message: if all_text.trim().is_empty() {
                "HTTP 429 Too Many Requests".to_owned()
            } else {
                excerpt(&all_text)
            },
        };
    }
    if lowered.contains("request threshold") || lowered.contains("api usage threshold") {
        return AutotaskError::RateLimited {
            message: excerpt(&all_text),
        };
    }
    // 401 today; 2023-era tenants answered some authentication failures with a 500 and text.
    if status == 401
        || lowered.contains("unable to authenticate")
        || lowered.contains("authentication failed")
    {
        return AutotaskError::Unauthorized;
    }
    if lowered.contains("zone information could not be determined") {
        return AutotaskError::ZoneUnknown;
    }
    if status == 403
        || lowered.contains("adequate permission")
        || lowered.contains("not have permission")
        || lowered.contains("permission denied")
    {
        return AutotaskError::PermissionDenied {
            entity: entity.to_owned(),
            message: if all_text.trim().is_empty() {
                format!("HTTP {status}")
            } else {
                excerpt(&all_text)
            },
        };
    }
    match messages {
        Some(messages) if status == 404 => AutotaskError::NotFound {
            what: if messages.is_empty() {
                entity.to_owned()
            } else {
                excerpt(&messages.join("; "))
            },
        },
        Some(messages) => AutotaskError::Rejected {
            status,
            messages: messages.iter().map(|m| excerpt(m)).collect(),
        },
        None if status == 404 => AutotaskError::NotFound {
            what: entity.to_owned(),
        },
        None => AutotaskError::Decode {
            status,
            detail: describe_unreadable_body(body),
        },
    }
}

/// Messages from `{"errors":[…]}` or `{"Message":…}`; `None` when the body is neither.
pub(crate) fn error_messages(body: &str) -> Option<Vec<String>> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    let object = value.as_object()?;
    for (key, value) in object {
        if key.eq_ignore_ascii_case("errors") {
            let messages = value
                .as_array()?
                .iter()
                .map(|item| match item {
                    serde_json::Value::String(text) => text.clone(),
                    other => other
                        .get("message")
                        .and_then(|m| m.as_str())
                        .map(str::to_owned)
                        .unwrap_or_else(|| other.to_string()),
                })
                .collect();
            return Some(messages);
        }
    }
    for (key, value) in object {
        if key.eq_ignore_ascii_case("message") {
            return Some(vec![value.as_str().unwrap_or_default().to_owned()]);
        }
    }
    None
}

/// A short, safe description of a body that is not JSON.
pub(crate) fn describe_unreadable_body(body: &str) -> String {
    let trimmed = body.trim_start();
    if trimmed.is_empty() {
        return "an empty body".to_owned();
    }
    let lowered = trimmed.to_ascii_lowercase();
    if lowered.starts_with("<!doctype html")
        || lowered.starts_with("<html")
        || lowered.contains("<body")
    {
        let title = lowered
            .find("<title>")
            .and_then(|start| {
                let rest = &trimmed[start + 7..];
                rest.find("</").map(|end| rest[..end].trim().to_owned())
            })
            .filter(|title| !title.is_empty());
        return match title {
            Some(title) => format!("an HTML page titled \"{}\"", excerpt(&title)),
            None => "an HTML page".to_owned(),
        };
    }
    format!(
        "an unreadable body starting \"{}\"",
        excerpt(&trimmed.chars().take(80).collect::<String>())
    )
}

pub(crate) fn excerpt(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_DETAIL_CHARS)
        .collect();
    if text.chars().count() > MAX_DETAIL_CHARS {
        format!("{}…", cleaned.trim_end())
    } else {
        cleaned.trim().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_401_is_unauthorized() {
        assert_eq!(
            classify_response(401, "", "Tickets"),
            AutotaskError::Unauthorized
        );
    }

    #[test]
    fn the_thread_threshold_is_recognised_by_body_text_without_429() {
        let body = r#"{"errors":["Thread Threshold Exceeded - The Autotask API thread threshold of 3 threads has been exceeded."]}"#;
        let error = classify_response(500, body, "Tickets");
        assert!(matches!(error, AutotaskError::ThreadThreshold { .. }));
        assert!(error.is_retryable());
        let coded = classify_response(500, r#"{"errors":["Itgenatr005"]}"#, "Tickets");
        assert!(matches!(coded, AutotaskError::ThreadThreshold { .. }));
    }

    #[test]
    fn a_bare_429_is_rate_limited_and_retryable() {
        let error = classify_response(429, "", "Tickets");
        assert!(matches!(error, AutotaskError::RateLimited { .. }));
        assert!(error.is_retryable());
        assert!(error.write_was_not_processed());
    }

    #[test]
    fn both_error_body_shapes_keep_their_messages() {
        let errors = classify_response(
            500,
            r#"{"errors":["queueID is required","Picklist value [99] does not exist for priority."]}"#,
            "Tickets",
        );
        assert_eq!(
            errors,
            AutotaskError::Rejected {
                status: 500,
                messages: vec![
                    "queueID is required".to_owned(),
                    "Picklist value [99] does not exist for priority.".to_owned()
                ]
            }
        );
        assert!(!errors.is_retryable());
        let failure = classify_response(
            500,
            r#"{"errors":["An unexpected error has occurred. Please contact Autotask support."]}"#,
            "Tickets",
        );
        assert!(
            failure.is_retryable(),
            "the server failed; reading again is safe: {failure:?}"
        );
        assert!(!failure.write_was_not_processed());
        let gateway = classify_response(504, r#"{"errors":["The request timed out."]}"#, "Tickets");
        assert!(gateway.is_retryable(), "{gateway:?}");
        let framework = classify_response(
            405,
            r#"{"Message":"The requested resource does not support http method 'GET'."}"#,
            "Tickets",
        );
        assert!(
            matches!(framework, AutotaskError::Rejected { status: 405, ref messages } if messages[0].contains("does not support"))
        );
    }

    #[test]
    fn permissions_are_recognised_from_403_and_500_text() {
        assert!(matches!(
            classify_response(403, "", "Tickets"),
            AutotaskError::PermissionDenied { ref entity, .. } if entity == "Tickets"
        ));
        assert!(matches!(
            classify_response(500, r#"{"errors":["User does not have adequate permissions to query this entity."]}"#, "Contacts"),
            AutotaskError::PermissionDenied { ref entity, .. } if entity == "Contacts"
        ));
    }

    #[test]
    fn legacy_500_authentication_texts_are_unauthorized() {
        assert_eq!(
            classify_response(
                500,
                r#"{"errors":["Unable to authenticate: the ApiIntegrationCode is not valid."]}"#,
                "Tickets"
            ),
            AutotaskError::Unauthorized
        );
    }

    #[test]
    fn unknown_zone_user_is_zone_unknown() {
        assert_eq!(
            classify_response(
                500,
                r#"{"errors":["Zone information could not be determined"]}"#,
                "ZoneInformation"
            ),
            AutotaskError::ZoneUnknown
        );
    }

    #[test]
    fn html_and_malformed_bodies_are_decode_errors() {
        let html = classify_response(
            502,
            "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head></html>",
            "Tickets",
        );
        assert!(
            matches!(html, AutotaskError::Decode { status: 502, ref detail } if detail.contains("502 Bad Gateway"))
        );
        assert!(html.is_retryable());
        let garbage = classify_response(500, "{not json", "Tickets");
        assert!(matches!(garbage, AutotaskError::Decode { status: 500, .. }));
        assert!(!garbage.is_retryable());
        let truncated = classify_response(200, r#"{"items":[{"id":1,"title":"Trunc"#, "Tickets");
        assert!(matches!(
            truncated,
            AutotaskError::Decode { status: 200, .. }
        ));
        assert!(
            truncated.is_retryable(),
            "a success answer cut short is read again"
        );
        assert!(!truncated.write_was_not_processed());
    }

    #[test]
    fn a_404_is_not_found() {
        assert!(matches!(
            classify_response(404, "", "Tickets"),
            AutotaskError::NotFound { .. }
        ));
        assert!(matches!(
            classify_response(404, r#"{"Message":"No HTTP resource"}"#, "Tickets"),
            AutotaskError::NotFound { .. }
        ));
    }

    #[test]
    fn timeouts_and_refused_connections_are_retryable_but_tls_is_not() {
        let transport = |kind| AutotaskError::Transport {
            kind,
            host: "webservices2.autotask.net".into(),
            via_override: None,
            detail: String::new(),
        };
        assert!(transport(TransportErrorKind::Timeout).is_retryable());
        assert!(transport(TransportErrorKind::Connect).is_retryable());
        assert!(!transport(TransportErrorKind::Tls).is_retryable());
        assert!(!transport(TransportErrorKind::Timeout).write_was_not_processed());
    }
}
