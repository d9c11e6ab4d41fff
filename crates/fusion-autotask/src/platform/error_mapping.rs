//! How an [`AutotaskError`] becomes the engine's [`PlatformError`]: retryable stays retryable,
//! permanent stays permanent, and a write whose outcome Autotask left open (timeout or 5xx after
//! the request was sent, an unreadable success answer) is `OutcomeUnknown`, so the engine looks
//! the marker up before writing again.

use fusion_engine::PlatformError;

use crate::error::{AutotaskError, TransportErrorKind};

/// Whether the failed call was a read or a write (only writes can be ambiguous).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallKind {
    Read,
    Write,
}

/// Autotask answers both validation errors and its own failures with HTTP 500 `{"errors":[…]}`;
/// these texts (and 502–504) mean the server failed, not that it judged the data.
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

pub(crate) fn to_platform_error(error: AutotaskError, call: CallKind) -> PlatformError {
    let text = error.to_string();
    match error {
        AutotaskError::Unauthorized
        | AutotaskError::ZoneUnknown
        | AutotaskError::AuthenticationPaused { .. }
        | AutotaskError::IntegrationCodeMissing => PlatformError::Authentication(text),
        AutotaskError::PermissionDenied { .. } => PlatformError::PermissionDenied(text),
        AutotaskError::ThreadThreshold { .. } | AutotaskError::RateLimited { .. } => {
            PlatformError::RateLimited(text)
        }
        AutotaskError::BudgetExhausted(_) => PlatformError::BudgetExhausted(text),
        AutotaskError::NotFound { .. } => PlatformError::NotFound(text),
        AutotaskError::Rejected { status, messages } => {
            if messages
                .iter()
                .any(|message| message.to_ascii_lowercase().contains("threshold exceeded"))
            {
                // E.g. the attachment threshold: nothing was written; it lifts after a while.
                PlatformError::RateLimited(text)
            } else if looks_like_server_failure(status, &messages) {
                match call {
                    CallKind::Read => PlatformError::Unavailable(text),
                    CallKind::Write => PlatformError::OutcomeUnknown(text),
                }
            } else {
                PlatformError::Rejected(messages.join("; "))
            }
        }
        AutotaskError::Transport { kind, .. } => match (call, kind) {
            // Nothing left the machine: the request was certainly not processed.
            (
                _,
                TransportErrorKind::Dns | TransportErrorKind::Connect | TransportErrorKind::Tls,
            )
            | (CallKind::Read, _) => PlatformError::Unavailable(text),
            (CallKind::Write, TransportErrorKind::Timeout | TransportErrorKind::Other) => {
                PlatformError::OutcomeUnknown(text)
            }
        },
        AutotaskError::Decode { status, .. } => match call {
            CallKind::Read if (200..300).contains(&status) => PlatformError::Malformed(text),
            CallKind::Read if status >= 500 => PlatformError::Unavailable(text),
            CallKind::Read => PlatformError::Malformed(text),
            // An unreadable success body, or a gateway page after the write was sent.
            CallKind::Write if (200..300).contains(&status) || status >= 500 => {
                PlatformError::OutcomeUnknown(text)
            }
            CallKind::Write => PlatformError::Rejected(text),
        },
        AutotaskError::UnexpectedZoneUrl { .. } | AutotaskError::Setup(_) => {
            PlatformError::Unavailable(text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport(kind: TransportErrorKind) -> AutotaskError {
        AutotaskError::Transport {
            kind,
            host: "webservices2.autotask.net".into(),
            via_override: None,
            detail: String::new(),
        }
    }

    #[test]
    fn a_timeout_on_a_write_is_ambiguous_but_on_a_read_it_is_unavailable() {
        let write = to_platform_error(transport(TransportErrorKind::Timeout), CallKind::Write);
        assert!(write.is_ambiguous_write());
        let read = to_platform_error(transport(TransportErrorKind::Timeout), CallKind::Read);
        assert!(matches!(read, PlatformError::Unavailable(_)));
        let refused = to_platform_error(transport(TransportErrorKind::Connect), CallKind::Write);
        assert!(matches!(refused, PlatformError::Unavailable(_)));
    }

    #[test]
    fn validation_errors_are_rejected_and_server_failures_on_writes_are_ambiguous() {
        let validation = AutotaskError::Rejected {
            status: 500,
            messages: vec!["Picklist value [99] does not exist for priority.".into()],
        };
        let mapped = to_platform_error(validation, CallKind::Write);
        assert_eq!(
            mapped,
            PlatformError::Rejected("Picklist value [99] does not exist for priority.".into())
        );
        assert!(!mapped.is_retryable());
        let failure = AutotaskError::Rejected {
            status: 500,
            messages: vec!["An unexpected error has occurred.".into()],
        };
        assert!(to_platform_error(failure.clone(), CallKind::Write).is_ambiguous_write());
        assert!(matches!(
            to_platform_error(failure, CallKind::Read),
            PlatformError::Unavailable(_)
        ));
        let gateway = AutotaskError::Rejected {
            status: 504,
            messages: vec!["The request timed out.".into()],
        };
        assert!(to_platform_error(gateway, CallKind::Write).is_ambiguous_write());
    }

    #[test]
    fn credentials_stop_the_run_and_limits_are_retryable() {
        assert!(to_platform_error(AutotaskError::Unauthorized, CallKind::Read).stops_the_run());
        let threshold = to_platform_error(
            AutotaskError::ThreadThreshold {
                message: "Itgenatr005".into(),
            },
            CallKind::Write,
        );
        assert!(threshold.is_retryable() && !threshold.is_ambiguous_write());
        let unreadable_success = to_platform_error(
            AutotaskError::Decode {
                status: 200,
                detail: "truncated".into(),
            },
            CallKind::Write,
        );
        assert!(unreadable_success.is_ambiguous_write());
        let attachment_block = to_platform_error(
            AutotaskError::Rejected {
                status: 500,
                messages: vec![
                    "Attachment threshold exceeded: no more than 10000000 bytes.".into(),
                ],
            },
            CallKind::Write,
        );
        assert!(matches!(attachment_block, PlatformError::RateLimited(_)));
    }
}
