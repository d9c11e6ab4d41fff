//! How the core's connection errors are answered: a verification code that does not work (422),
//! too many wrong codes (429) and a lifecycle change the connection's state does not allow (409);
//! everything else (not found, a new connection's details, the store, the server) exactly like
//! the rest of the API. The JSON body has the same shape as every other API error:
//! `{"error":{"code":…,"message":…}}`.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fusion_domain::AcceptCodeError;
use fusion_engine::CreateProblem;
use serde::Serialize;

use crate::error::ApiError;
use crate::throttle::describe_wait;

/// A connection request's answer when it did not work.
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

impl From<fusion_engine::ConnectionError> for ConnectionError {
    fn from(error: fusion_engine::ConnectionError) -> Self {
        use fusion_engine::ConnectionError as Core;
        match error {
            Core::NotFound => ConnectionError::Api(ApiError::NotFound),
            Core::Conflict { message } => ConnectionError::Conflict { message },
            Core::StateChange(error) => ConnectionError::Conflict {
                message: error.to_string(),
            },
            Core::Code(error) => ConnectionError::Code(error),
            Core::Throttled { retry_after } => ConnectionError::Throttled { retry_after },
            Core::Invalid(problem) => ConnectionError::Api(create_problem_error(problem)),
            Core::Store(error) => ConnectionError::Api(error.into()),
            Core::Internal(message) => ConnectionError::Api(ApiError::Internal(message)),
        }
    }
}

/// A new connection's details as entered, refused: 422 `missing_value` or `invalid_value`,
/// naming the field.
pub(crate) fn create_problem_error(problem: CreateProblem) -> ApiError {
    let code = if problem.is_missing() {
        "missing_value"
    } else {
        "invalid_value"
    };
    ApiError::Invalid {
        code,
        field: Some(problem.field()),
        message: problem.message(),
        fix: None,
        suggested_api_url: None,
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

#[cfg(test)]
mod tests {
    use fusion_domain::{RelationshipState, StateChangeError};
    use fusion_engine::ConnectionError as Core;
    use fusion_engine::ports::StoreError;

    use super::*;

    fn answer(error: Core) -> (StatusCode, &'static str, String) {
        let error = ConnectionError::from(error);
        (error.status(), error.code(), error.to_string())
    }

    #[test]
    fn each_core_error_is_answered_with_its_status_code_and_words() {
        assert_eq!(answer(Core::NotFound).0, StatusCode::NOT_FOUND);
        assert_eq!(
            answer(Core::StateChange(StateChangeError {
                from: RelationshipState::Pending,
                to: RelationshipState::Paused,
            })),
            (
                StatusCode::CONFLICT,
                "invalid_state_change",
                "a pending connection cannot be paused".to_owned()
            )
        );
        assert_eq!(
            answer(Core::Conflict {
                message: "only a pending connection's code can be re-issued".to_owned()
            })
            .1,
            "invalid_state_change"
        );
        assert_eq!(
            answer(Core::Code(AcceptCodeError::Expired)).0,
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            answer(Core::Throttled {
                retry_after: Duration::from_secs(600)
            }),
            (
                StatusCode::TOO_MANY_REQUESTS,
                "code_throttled",
                "Too many wrong codes. Accepting codes is locked for 10 minutes; try again then."
                    .to_owned()
            )
        );
        assert_eq!(
            answer(Core::Invalid(CreateProblem::MissingContractName)).1,
            "missing_value"
        );
        assert_eq!(
            answer(Core::Invalid(CreateProblem::ContractNameTooLong)).1,
            "invalid_value"
        );
        assert_eq!(
            answer(Core::Store(StoreError::Unavailable(
                "pool timed out".to_owned()
            )))
            .0,
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(
            answer(Core::Internal("no randomness".to_owned())).0,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
