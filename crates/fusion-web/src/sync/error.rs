//! What can go wrong with a sync request, beyond the crate's `ApiError`: a run that cannot start
//! now (409: another run holds the connection, or the baseline is missing), a connection that is
//! not ready to sync (422: what to fix), and no sync service in this process or a platform out of
//! reach (503). The JSON body has the same shape as every other API error.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fusion_engine::ports::StoreError;
use serde::Serialize;

use crate::error::ApiError;
use crate::relationships::ConnectionError;

#[derive(Debug, thiserror::Error)]
pub(crate) enum SyncError {
    /// Authentication, scope, body and server failures, answered like the rest of the API.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// This process was started without a sync service (`AppState::with_sync`).
    #[error(
        "sync is not running in this process: start the server with `fusion serve` (or `fusion demo`), which runs syncs"
    )]
    NotRunning,
    /// The run cannot start now.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The connection cannot sync as it is (not Active, credentials or configuration missing).
    #[error("{message}")]
    NotReady { message: String },
    /// The store or a platform could not be reached; try again later.
    #[error("{message}")]
    Unavailable { message: String },
}

impl From<StoreError> for SyncError {
    fn from(error: StoreError) -> Self {
        SyncError::Api(error.into())
    }
}

impl From<ConnectionError> for SyncError {
    fn from(error: ConnectionError) -> Self {
        match error {
            ConnectionError::Api(error) => SyncError::Api(error),
            other => SyncError::Api(ApiError::Internal(other.to_string())),
        }
    }
}

impl SyncError {
    pub fn status(&self) -> StatusCode {
        match self {
            SyncError::Api(error) => error.status(),
            SyncError::NotRunning | SyncError::Unavailable { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            SyncError::Conflict { .. } => StatusCode::CONFLICT,
            SyncError::NotReady { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            SyncError::Api(error) => error.code(),
            SyncError::NotRunning => "sync_not_running",
            SyncError::Conflict { code, .. } => code,
            SyncError::NotReady { .. } => "not_ready_to_sync",
            SyncError::Unavailable { .. } => "sync_unavailable",
        }
    }

    /// Whether this is the "nothing here, or not yours" answer.
    pub fn is_not_found(&self) -> bool {
        matches!(self, SyncError::Api(ApiError::NotFound))
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
}

impl IntoResponse for SyncError {
    fn into_response(self) -> Response {
        if let SyncError::Api(error) = self {
            return error.into_response();
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.to_string(),
            },
        };
        (self.status(), Json(body)).into_response()
    }
}
