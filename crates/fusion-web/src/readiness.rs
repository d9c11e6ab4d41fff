//! `GET /readyz`: whether this process should receive traffic. It runs every check and answers
//! 200 when all pass, 503 when any fails, with a JSON body listing each check:
//! `{"ready":false,"checks":[{"name":"database","ok":true},{"name":"migrations","ok":false,"reason":"…"}]}`.
//!
//! Built in: `database` (a round trip within [`DATABASE_CHECK_TIMEOUT`]) and `migrations` (the
//! database's schema version equals the binary's). The binary adds its own with
//! [`crate::AppState::with_readiness_check`] (e.g. the sync scheduler's heartbeat). Reasons are
//! written for the operator and never carry database error text (that goes to the log).

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fusion_engine::ports::SchemaVersions;
use serde::Serialize;

use crate::AppState;

/// A check the binary registers: `Ok(())` when ready, else the reason (shown in the `/readyz`
/// body, so it must hold no secret). Called on every `/readyz` request: keep it cheap and
/// non-blocking (read an atomic, compare a timestamp).
pub type ReadinessCheck = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// How long the database round trip may take before the database counts as unreachable; a
/// readiness probe must answer well within a load balancer's probe timeout.
pub const DATABASE_CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// One check's result in the `/readyz` body.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CheckResult {
    pub name: String,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl CheckResult {
    fn passed(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            ok: true,
            reason: None,
        }
    }

    fn failed(name: &str, reason: String) -> Self {
        Self {
            name: name.to_owned(),
            ok: false,
            reason: Some(reason),
        }
    }
}

#[derive(Debug, Serialize)]
struct ReadinessBody {
    ready: bool,
    checks: Vec<CheckResult>,
}

/// What an operator reads when the schema does not match this binary.
pub(crate) fn migrations_reason(versions: SchemaVersions) -> Option<String> {
    match versions.database {
        _ if versions.is_current() => None,
        None => Some(format!(
            "the database has no schema yet; this binary expects version {}: run `fusion migrate`",
            versions.binary
        )),
        Some(database) if database < versions.binary => Some(format!(
            "the database is at schema version {database}, this binary expects {}: run `fusion migrate` (or restart to migrate)",
            versions.binary
        )),
        Some(database) => Some(format!(
            "the database is at schema version {database}, newer than this binary's {}: upgrade Support Fusion",
            versions.binary
        )),
    }
}

async fn database_checks(state: &AppState) -> [CheckResult; 2] {
    let store = state.store();
    let ping = tokio::time::timeout(DATABASE_CHECK_TIMEOUT, store.ping()).await;
    let reachable = match ping {
        Ok(Ok(())) => true,
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness check: the database is not reachable");
            false
        }
        Err(_) => {
            tracing::warn!(
                timeout_seconds = DATABASE_CHECK_TIMEOUT.as_secs(),
                "readiness check: the database did not answer in time"
            );
            false
        }
    };
    if !reachable {
        return [
            CheckResult::failed(
                "database",
                "the database is not reachable (see the server log)".to_owned(),
            ),
            CheckResult::failed(
                "migrations",
                "not checked: the database is not reachable".to_owned(),
            ),
        ];
    }
    let migrations =
        match tokio::time::timeout(DATABASE_CHECK_TIMEOUT, store.schema_versions()).await {
            Ok(Ok(versions)) => match migrations_reason(versions) {
                None => CheckResult::passed("migrations"),
                Some(reason) => CheckResult::failed("migrations", reason),
            },
            Ok(Err(error)) => {
                tracing::warn!(%error, "readiness check: the schema version cannot be read");
                CheckResult::failed(
                    "migrations",
                    "the schema version cannot be read (see the server log)".to_owned(),
                )
            }
            Err(_) => CheckResult::failed(
                "migrations",
                "the schema version was not read in time".to_owned(),
            ),
        };
    [CheckResult::passed("database"), migrations]
}

/// Every check's result: the database's first, then the registered ones in registration order.
pub(crate) async fn run_checks(state: &AppState) -> Vec<CheckResult> {
    let mut results = database_checks(state).await.to_vec();
    for (name, check) in state.readiness_checks() {
        results.push(match check() {
            Ok(()) => CheckResult::passed(&name),
            Err(reason) => CheckResult::failed(&name, reason),
        });
    }
    results
}

pub(crate) async fn readyz(State(state): State<AppState>) -> Response {
    let checks = run_checks(&state).await;
    let ready = checks.iter().all(|check| check.ok);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(ReadinessBody { ready, checks })).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_migrations_reason_says_which_way_the_schema_is_off() {
        let at = |database, binary| SchemaVersions { database, binary };
        assert_eq!(migrations_reason(at(Some(4), 4)), None);
        let behind = migrations_reason(at(Some(3), 4)).expect("behind");
        assert!(behind.contains("fusion migrate"), "{behind}");
        let ahead = migrations_reason(at(Some(5), 4)).expect("ahead");
        assert!(ahead.contains("upgrade"), "{ahead}");
        let empty = migrations_reason(at(None, 4)).expect("empty");
        assert!(empty.contains("no schema"), "{empty}");
    }
}
