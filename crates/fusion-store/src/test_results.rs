//! The last connection test per organisation as plain column values, shared by both backends:
//! a [`ConnectionTestReport`] goes in, the same report comes out.
//!
//! The outcome is stored as its user-facing label (`TestOutcome::label`) and the failure kind as
//! its stable name (`TestFailureKind::as_str`), so the table reads well to an operator.

use fusion_domain::{ApiUsage, ConnectionTestReport, TestFailureKind, TestOutcome};
use time::OffsetDateTime;

use crate::timestamps::to_storage_precision;
use crate::{StoreError, StoreResult};

/// One `connection_tests` row without its organisation id.
#[derive(Debug, Clone)]
pub(crate) struct TestResultColumns {
    pub(crate) outcome: String,
    pub(crate) failure_kind: Option<String>,
    pub(crate) reason: String,
    pub(crate) fix: Option<String>,
    pub(crate) zone: Option<String>,
    pub(crate) api_requests_used: Option<i64>,
    pub(crate) api_request_limit: Option<i64>,
    pub(crate) api_timeframe_minutes: Option<i64>,
    pub(crate) notes: Vec<String>,
    pub(crate) tested_at: OffsetDateTime,
}

impl TestResultColumns {
    pub(crate) fn from_report(report: &ConnectionTestReport) -> Self {
        let usage = report.api_usage;
        Self {
            outcome: report.outcome.label().to_owned(),
            failure_kind: report.failure.map(|kind| kind.as_str().to_owned()),
            reason: report.reason.clone(),
            fix: report.fix.clone(),
            zone: report.zone.clone(),
            api_requests_used: usage.map(|usage| i64::from(usage.requests_used)),
            api_request_limit: usage.map(|usage| i64::from(usage.request_limit)),
            api_timeframe_minutes: usage.map(|usage| i64::from(usage.timeframe_minutes)),
            notes: report.notes.clone(),
            tested_at: to_storage_precision(report.tested_at),
        }
    }

    pub(crate) fn into_report(self) -> StoreResult<ConnectionTestReport> {
        let outcome = TestOutcome::parse_label(&self.outcome).ok_or_else(|| {
            StoreError::Backend(format!(
                "unknown connection test outcome {:?} in the database",
                self.outcome
            ))
        })?;
        let failure = self
            .failure_kind
            .map(|name| {
                TestFailureKind::parse(&name).ok_or_else(|| {
                    StoreError::Backend(format!(
                        "unknown test failure kind {name:?} in the database"
                    ))
                })
            })
            .transpose()?;
        let api_usage = match (
            self.api_requests_used,
            self.api_request_limit,
            self.api_timeframe_minutes,
        ) {
            (Some(used), Some(limit), Some(minutes)) => Some(ApiUsage {
                requests_used: stored_count(used)?,
                request_limit: stored_count(limit)?,
                timeframe_minutes: stored_count(minutes)?,
            }),
            _ => None,
        };
        Ok(ConnectionTestReport {
            outcome,
            failure,
            reason: self.reason,
            fix: self.fix,
            zone: self.zone,
            api_usage,
            notes: self.notes,
            tested_at: self.tested_at,
        })
    }
}

fn stored_count(value: i64) -> StoreResult<u32> {
    u32::try_from(value).map_err(|_| {
        StoreError::Backend(format!(
            "API usage count {value} out of range in the database"
        ))
    })
}
