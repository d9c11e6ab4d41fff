//! What can go wrong with an organisation connection request, beyond the crate's `ApiError`: a
//! verification code that does not work (422), too many wrong codes (429) and a lifecycle change
//! the connection's state does not allow (409). The JSON body has the same shape as every other
//! API error: `{"error":{"code":…,"message":…}}`.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fusion_domain::{AcceptCodeError, StateChangeError};
use fusion_store::StoreError;
use serde::Serialize;

use crate::error::ApiError;
use crate::throttle::describe_wait;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectionError {
    /// Authentication, scope, body and server failures, answered exactly like the rest of the API.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The verification code did not open a pending connection.
    #[error("{0}")]
    Code(AcceptCodeError),
    /// Too many wrong codes from this organisation; accepting is locked for `retry_after`.
    #[error("Too many wrong codes. Accepting codes is locked for {wait}; try again then.", wait = describe_wait(*retry_after))]
    Throttled { retry_after: Duration },
    /// The connection's state does not allow this change.
    #[error("{message}")]
    Conflict { message: String },
}

impl From<StoreError> for ConnectionError {
    fn from(error: StoreError) -> Self {
        ConnectionError::Api(error.into())
    }
}

impl From<StateChangeError> for ConnectionError {
    fn from(error: StateChangeError) -> Self {
        ConnectionError::Conflict {
            message: error.to_string(),
        }
    }
}

/// The stable name a client branches on for each code problem.
pub(crate) fn accept_code_error_name(error: AcceptCodeError) -> &'static str {
    match error {
        AcceptCodeError::Malformed => "code_malformed",
        AcceptCodeError::Unknown => "code_unknown",
        AcceptCodeError::Expired => "code_expired",
        AcceptCodeError::AlreadyUsed => "code_used",
        AcceptCodeError::Revoked => "code_revoked",
        AcceptCodeError::OwnCode => "own_code",
        AcceptCodeError::Duplicate => "duplicate_relationship",
        AcceptCodeError::Throttled => "code_throttled",
    }
}

impl ConnectionError {
    pub fn status(&self) -> StatusCode {
        match self {
            ConnectionError::Api(error) => error.status(),
            ConnectionError::Code(AcceptCodeError::Throttled) => StatusCode::TOO_MANY_REQUESTS,
            ConnectionError::Code(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ConnectionError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            ConnectionError::Conflict { .. } => StatusCode::CONFLICT,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ConnectionError::Api(error) => error.code(),
            ConnectionError::Code(error) => accept_code_error_name(*error),
            ConnectionError::Throttled { .. } => "code_throttled",
            ConnectionError::Conflict { .. } => "invalid_state_change",
        }
    }

    /// Whether this is the "nothing here, or not yours" answer.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ConnectionError::Api(ApiError::NotFound))
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after_seconds: Option<u64>,
}

impl IntoResponse for ConnectionError {
    fn into_response(self) -> Response {
        if let ConnectionError::Api(error) = self {
            return error.into_response();
        }
        let retry_after = match &self {
            ConnectionError::Throttled { retry_after } => Some(retry_after.as_secs().max(1)),
            _ => None,
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.to_string(),
                retry_after_seconds: retry_after,
            },
        };
        let mut response = (self.status(), Json(body)).into_response();
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
