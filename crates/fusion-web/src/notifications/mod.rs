//! Notification settings, per organisation: the Settings › Notifications page and
//! `/api/v1/orgs/{org_id}/notifications…` (read, save, rotate the webhook signing secret, send a
//! test). Both call the core's `NotificationSettingsService` (held in `AppState`); this module
//! only translates HTTP and forms to it and back.

mod api;
mod pages;

use fusion_engine::notify::{EventKind, NotificationSettingsError};

use crate::error::ApiError;

pub(crate) use api::routes as api_routes;
pub(crate) use pages::routes as page_routes;

/// Shown with a signing secret, the only time it is.
pub(crate) const SIGNING_SECRET_SHOWN_ONCE: &str = "Store this signing secret now: it is shown only once. Your receiver checks each event's X-Fusion-Signature header (sha256=HMAC-SHA256 of the body under this secret, hex).";

/// The core's refusal as the API's error.
pub(crate) fn api_error(error: NotificationSettingsError) -> ApiError {
    match error {
        NotificationSettingsError::Invalid { field, message } => ApiError::Invalid {
            code: "invalid_value",
            field: Some(field),
            message,
            fix: None,
            suggested_api_url: None,
        },
        NotificationSettingsError::NotSetUp(message) => ApiError::Invalid {
            code: "notifications_not_set_up",
            field: None,
            message,
            fix: None,
            suggested_api_url: None,
        },
        NotificationSettingsError::Delivery(message) => ApiError::Invalid {
            code: "delivery_failed",
            field: None,
            message,
            fix: None,
            suggested_api_url: None,
        },
        NotificationSettingsError::Store(error) => error.into(),
        NotificationSettingsError::Internal(cause) => ApiError::Internal(cause),
    }
}

/// Event kinds from their codes; an unknown code is named.
pub(crate) fn events_from_codes(
    codes: &[String],
) -> Result<std::collections::BTreeSet<EventKind>, ApiError> {
    codes
        .iter()
        .map(|code| {
            EventKind::from_code(code.trim()).ok_or_else(|| ApiError::Invalid {
                code: "invalid_value",
                field: Some("events"),
                message: format!(
                    "unknown event {code:?}; the events are {}",
                    EventKind::ALL
                        .iter()
                        .map(|kind| kind.code())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                fix: None,
                suggested_api_url: None,
            })
        })
        .collect()
}
