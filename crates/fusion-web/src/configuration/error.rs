//! What can go wrong with a configuration request beyond the crate's `ApiError`: Autotask could
//! not give the tenant's choices (502), an imported file is broken (422, naming the line and the
//! field), a value is refused (422), a side would carry tickets outside its company scope (422,
//! `outside_company_scope`, every reason in `message`, the first setting in `field`) or the request
//! conflicts with what exists (409). The JSON body
//! has the same shape as every other API error: `{"error":{"code":…,"message":…}}`.
//!
//! The core's `fusion_engine::configuration::ConfigurationError` converts into this one case by
//! case (`From`), so a use case's refusal is answered the same wherever it is called from.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fusion_engine::ports::StoreError;
use serde::Serialize;

use fusion_engine::configuration::{ConfigurationError as CoreError, ScopeProblem};

use crate::configuration::config_file::ImportProblem;
use crate::error::ApiError;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ConfigurationError {
    /// Authentication, scope, body and server failures, answered like the rest of the API.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The tenant's choices (or a ticket) could not be read from Autotask; `reason` says why.
    #[error("{reason}")]
    Autotask { reason: String },
    /// An imported configuration file is broken.
    #[error("{0}")]
    InvalidFile(ImportProblem),
    /// A value in the request was refused.
    #[error("{message}")]
    Invalid {
        code: &'static str,
        field: Option<String>,
        message: String,
    },
    /// The side configuration names a company other than its scope, or turns reverse sync on
    /// without one: nothing is saved (privacy between relationships). Never empty.
    #[error("{}", joined(.0))]
    OutsideScope(Vec<ScopeProblem>),
    /// The request conflicts with what is stored (e.g. default mappings when mappings exist).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
}

impl From<StoreError> for ConfigurationError {
    fn from(error: StoreError) -> Self {
        ConfigurationError::Api(error.into())
    }
}

impl From<CoreError> for ConfigurationError {
    fn from(error: CoreError) -> Self {
        match error {
            CoreError::NotFound => ConfigurationError::Api(ApiError::NotFound),
            CoreError::Tenant { reason } => ConfigurationError::Autotask { reason },
            CoreError::WaitingForBudget {
                reason,
                retry_after_secs,
            } => ConfigurationError::Api(ApiError::RateLimited {
                code: "waiting_for_budget",
                message: reason,
                retry_after_secs,
            }),
            CoreError::OutsideScope(problems) => ConfigurationError::OutsideScope(problems),
            CoreError::Invalid {
                code,
                field,
                message,
            } => ConfigurationError::Invalid {
                code,
                field,
                message,
            },
            CoreError::Conflict { code, message } => ConfigurationError::Conflict { code, message },
            CoreError::Store(error) => ConfigurationError::Api(error.into()),
        }
    }
}

/// Every reason, in one message.
fn joined(problems: &[ScopeProblem]) -> String {
    problems
        .iter()
        .map(|problem| problem.message.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

impl ConfigurationError {
    /// The same refusal as an import error naming the file's key (`side.…`).
    pub fn outside_scope_in_file(problems: &[ScopeProblem]) -> Self {
        ConfigurationError::InvalidFile(ImportProblem {
            line: None,
            field: problems
                .first()
                .map(|problem| format!("side.{}", problem.field)),
            message: joined(problems),
        })
    }

    pub fn invalid(code: &'static str, field: &str, message: impl Into<String>) -> Self {
        ConfigurationError::Invalid {
            code,
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ConfigurationError::Api(error) => error.status(),
            ConfigurationError::Autotask { .. } => StatusCode::BAD_GATEWAY,
            ConfigurationError::InvalidFile(_)
            | ConfigurationError::Invalid { .. }
            | ConfigurationError::OutsideScope(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ConfigurationError::Conflict { .. } => StatusCode::CONFLICT,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ConfigurationError::Api(error) => error.code(),
            ConfigurationError::Autotask { .. } => "autotask_unavailable",
            ConfigurationError::InvalidFile(_) => "invalid_file",
            ConfigurationError::OutsideScope(_) => "outside_company_scope",
            ConfigurationError::Invalid { code, .. }
            | ConfigurationError::Conflict { code, .. } => code,
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, ConfigurationError::Api(ApiError::NotFound))
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
    field: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
}

impl IntoResponse for ConfigurationError {
    fn into_response(self) -> Response {
        if let ConfigurationError::Api(error) = self {
            return error.into_response();
        }
        let (field, line) = match &self {
            ConfigurationError::InvalidFile(problem) => (problem.field.as_deref(), problem.line),
            ConfigurationError::Invalid { field, .. } => (field.as_deref(), None),
            ConfigurationError::OutsideScope(problems) => {
                (problems.first().map(|problem| problem.field), None)
            }
            _ => (None, None),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.to_string(),
                field,
                line,
            },
        };
        (self.status(), Json(body)).into_response()
    }
}
