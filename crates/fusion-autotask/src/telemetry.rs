//! Metrics about Autotask calls, recorded through the `metrics` facade: one count per HTTP
//! attempt by endpoint and result, and the hourly request budget used per Autotask database.
//! Labels carry entity names, zone hosts and database numbers only — never usernames or secrets.
//! Without an installed recorder these calls do nothing.

use crate::error::{AutotaskError, classify_response};

/// Counter: `fusion_autotask_requests_total{endpoint,result}`.
pub const AUTOTASK_REQUESTS_TOTAL: &str = "fusion_autotask_requests_total";
/// Gauge: `fusion_autotask_budget_used{database}`.
pub const AUTOTASK_BUDGET_USED: &str = "fusion_autotask_budget_used";

/// How one HTTP attempt ended, as the `result` label spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptResult {
    Ok,
    Unauthorized,
    RateLimited,
    ThreadThreshold,
    ServerError,
    ClientError,
    Transport,
}

impl AttemptResult {
    pub fn label(self) -> &'static str {
        match self {
            AttemptResult::Ok => "ok",
            AttemptResult::Unauthorized => "unauthorized",
            AttemptResult::RateLimited => "rate_limited",
            AttemptResult::ThreadThreshold => "thread_threshold",
            AttemptResult::ServerError => "server_error",
            AttemptResult::ClientError => "client_error",
            AttemptResult::Transport => "transport",
        }
    }

    /// Classifies an answer the way the client does (a 500 saying "thread threshold" is the
    /// thread threshold, a 500 saying "unable to authenticate" is unauthorized).
    pub(crate) fn from_answer(status: u16, body: &str, endpoint: &str) -> AttemptResult {
        if (200..300).contains(&status) {
            return AttemptResult::Ok;
        }
        match classify_response(status, body, endpoint) {
            AutotaskError::Unauthorized => AttemptResult::Unauthorized,
            AutotaskError::RateLimited { .. } => AttemptResult::RateLimited,
            AutotaskError::ThreadThreshold { .. } => AttemptResult::ThreadThreshold,
            _ if status >= 500 => AttemptResult::ServerError,
            _ => AttemptResult::ClientError,
        }
    }
}

/// Counts one finished HTTP attempt: `answer` is the status and body, or the transport error.
pub(crate) fn record_attempt(endpoint: &str, answer: &Result<(u16, String), AutotaskError>) {
    let result = match answer {
        Ok((status, body)) => AttemptResult::from_answer(*status, body, endpoint),
        Err(_) => AttemptResult::Transport,
    };
    metrics::counter!(
        AUTOTASK_REQUESTS_TOTAL,
        "endpoint" => endpoint.to_owned(),
        "result" => result.label(),
    )
    .increment(1);
}

/// Publishes the requests counted in the last hour for one database (`host` + customer
/// database number). Databases known only by username are not published.
pub(crate) fn record_budget_used(host: &str, database: Option<i64>, used: u32) {
    if let Some(ci) = database {
        metrics::gauge!(AUTOTASK_BUDGET_USED, "database" => format!("{host}/ci:{ci}"))
            .set(f64::from(used));
    }
}
