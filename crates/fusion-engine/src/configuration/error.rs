//! What can go wrong with a configuration use case, in the cases a caller branches on: nothing
//! there for this organisation, the platform could not give a tenant's choices or ticket (with a
//! message for people), a side outside its company scope, a refused value, a conflict with what
//! is stored, and storage failures (whose details go to the log, never to people).

use crate::TenantError;
use crate::ports::StoreError;

use super::side::ScopeProblem;

#[derive(Debug, thiserror::Error)]
pub enum ConfigurationError {
    /// No such relationship or mapping, or none this organisation is part of (the two are
    /// deliberately indistinguishable).
    #[error("not found")]
    NotFound,
    /// A tenant's choices (or a ticket) could not be read from the platform; `reason` says why
    /// and what to do, in words for people.
    #[error("{reason}")]
    Tenant { reason: String },
    /// The tenant's API budget does not allow reading it now (nothing was sent): try again in
    /// `retry_after_secs`.
    #[error("{reason}")]
    WaitingForBudget {
        reason: String,
        retry_after_secs: u64,
    },
    /// The side configuration names a company other than its scope, or turns reverse sync on
    /// without one: nothing is saved (privacy between relationships). Never empty.
    #[error("{}", joined(.0))]
    OutsideScope(Vec<ScopeProblem>),
    /// A value was refused: `code` for programs, `field` the key it is about.
    #[error("{message}")]
    Invalid {
        code: &'static str,
        field: Option<String>,
        message: String,
    },
    /// The request conflicts with what is stored (e.g. default mappings when mappings exist, a
    /// preview before the company scope is chosen).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// Storage failed; the cause is for the log.
    #[error("internal error")]
    Store(#[source] StoreError),
}

impl From<StoreError> for ConfigurationError {
    fn from(error: StoreError) -> Self {
        match error {
            // Something named by the request vanished (or never was): like any other not-found.
            StoreError::NotFound => ConfigurationError::NotFound,
            other => ConfigurationError::Store(other),
        }
    }
}

/// Every reason, in one message.
pub(crate) fn joined(problems: &[ScopeProblem]) -> String {
    problems
        .iter()
        .map(|problem| problem.message.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

impl ConfigurationError {
    /// A tenant's failure in words for people, after `what` ("Could not read the ticket from your
    /// Autotask tenant"); a wait for the API budget stays one.
    pub(crate) fn tenant(what: &str, error: TenantError) -> Self {
        match error {
            TenantError::WaitingForBudget {
                message,
                retry_after_secs,
            } => ConfigurationError::WaitingForBudget {
                reason: format!("{what}: {message}"),
                retry_after_secs,
            },
            error => ConfigurationError::Tenant {
                reason: format!("{what}: {error}"),
            },
        }
    }

    pub fn invalid(code: &'static str, field: &str, message: impl Into<String>) -> Self {
        ConfigurationError::Invalid {
            code,
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, ConfigurationError::NotFound)
    }
}
