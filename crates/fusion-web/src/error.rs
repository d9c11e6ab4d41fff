//! The one error type of the JSON API. Its body is always
//! `{"error":{"code":…,"message":…}}` (plus `fix`, `field` or `suggested_api_url` where they help);
//! internal causes are logged here and never reach the body.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fusion_engine::ports::StoreError;
use serde::Serialize;

/// What went wrong with an API request, in the cases a client branches on.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No valid session cookie or API token.
    #[error(
        "sign in first: send a session cookie or an `Authorization: Bearer <API token>` header"
    )]
    Unauthenticated,
    /// Missing or wrong `X-CSRF-Token` on a cookie-authenticated write.
    #[error(
        "this request needs the X-CSRF-Token header (from GET /api/v1/me) because it is authenticated with a session cookie"
    )]
    CsrfRejected,
    /// The action needs a signed-in browser session (e.g. an API token cannot mint more tokens).
    #[error("this action needs a signed-in session; an API token cannot do it")]
    SessionRequired,
    /// Nothing here, or nothing this caller may see (the two are deliberately indistinguishable).
    #[error("not found")]
    NotFound,
    /// The body could not be read as the JSON this endpoint expects.
    #[error(
        "the request body is not valid JSON for this endpoint: check the field names and value types"
    )]
    InvalidBody,
    /// The body is larger than the server accepts.
    #[error("the request body is too large")]
    BodyTooLarge,
    /// A value was refused; `message` says why, `fix` what to do.
    #[error("{message}")]
    Invalid {
        code: &'static str,
        field: Option<&'static str>,
        message: String,
        fix: Option<String>,
        suggested_api_url: Option<String>,
    },
    /// Too many requests of this kind in a short while; `retry_after_secs` says when to try again
    /// (also sent as `Retry-After`).
    #[error("{message}")]
    RateLimited {
        code: &'static str,
        message: String,
        retry_after_secs: u64,
    },
    /// The request body is not sent as `application/json`.
    #[error("send the request body as JSON with the header Content-Type: application/json")]
    UnsupportedMediaType,
    /// Something failed inside the server; the cause is logged, the client sees a generic message.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::CsrfRejected => StatusCode::FORBIDDEN,
            ApiError::SessionRequired => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::InvalidBody => StatusCode::BAD_REQUEST,
            ApiError::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::CsrfRejected => "csrf_rejected",
            ApiError::SessionRequired => "session_required",
            ApiError::NotFound => "not_found",
            ApiError::InvalidBody => "invalid_body",
            ApiError::BodyTooLarge => "body_too_large",
            ApiError::Invalid { code, .. } => code,
            ApiError::RateLimited { code, .. } => code,
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::Internal(_) => "internal",
        }
    }

    /// Whether trying the same request again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, ApiError::Internal(_) | ApiError::RateLimited { .. })
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => ApiError::NotFound,
            other => ApiError::Internal(other.to_string()),
        }
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
    fix: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    suggested_api_url: Option<&'a str>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(%cause, "API request failed inside the server");
        }
        let (fix, field, suggested_api_url) = match &self {
            ApiError::Invalid {
                fix,
                field,
                suggested_api_url,
                ..
            } => (fix.as_deref(), *field, suggested_api_url.as_deref()),
            _ => (None, None, None),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.to_string(),
                fix,
                field,
                suggested_api_url,
            },
        };
        let mut response = (self.status(), Json(body)).into_response();
        if let ApiError::RateLimited {
            retry_after_secs, ..
        } = &self
        {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(*retry_after_secs),
            );
        }
        response
    }
}
