//! The result of testing an organisation's platform connection, in the words the user reads.
//!
//! The adapter (e.g. `fusion-autotask`) produces a [`ConnectionTestReport`]; the store keeps the
//! last one per organisation; the web layer shows it. The texts are written for the person doing
//! the setup: `reason` says what happened, `fix` says what to do next.

use time::OffsetDateTime;

/// The two outcomes a user can see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TestOutcome {
    Tested,
    Failed,
}

impl TestOutcome {
    /// Exactly the words the UI, the CLI and the JSON API show.
    pub fn label(&self) -> &'static str {
        match self {
            TestOutcome::Tested => "Connection tested",
            TestOutcome::Failed => "Test failed",
        }
    }

    pub fn parse_label(s: &str) -> Option<Self> {
        match s {
            "Connection tested" => Some(TestOutcome::Tested),
            "Test failed" => Some(TestOutcome::Failed),
            _ => None,
        }
    }
}

/// Which step of the connection test failed: lets callers (and tests) branch without parsing
/// the message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TestFailureKind {
    /// The API URL breaks the URL rules (wrong host, `http://`, portal URL, port, IP, …).
    InvalidApiUrl,
    /// The API username is unknown (often: an email address entered instead of the API username).
    UnknownUsername,
    /// The user lives in another zone than the entered API URL.
    ZoneMismatch,
    /// The authenticated call was refused: secret, inactive user or integration code.
    AuthenticationFailed,
    /// The user may sign in but lacks permission for an entity the sync needs.
    PermissionMissing,
    /// The platform could not be reached (DNS, TLS, connection, timeout).
    Unreachable,
    /// The platform answered with a server error or something that is not its API.
    PlatformError,
    /// A required value is missing (e.g. no secret saved yet).
    MissingValue,
    /// A value can never be right: longer than the platform's field, or with control characters
    /// (checked before anything is sent).
    InvalidValue,
}

impl TestFailureKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            TestFailureKind::InvalidApiUrl => "invalid_api_url",
            TestFailureKind::UnknownUsername => "unknown_username",
            TestFailureKind::ZoneMismatch => "zone_mismatch",
            TestFailureKind::AuthenticationFailed => "authentication_failed",
            TestFailureKind::PermissionMissing => "permission_missing",
            TestFailureKind::Unreachable => "unreachable",
            TestFailureKind::PlatformError => "platform_error",
            TestFailureKind::MissingValue => "missing_value",
            TestFailureKind::InvalidValue => "invalid_value",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "invalid_api_url" => TestFailureKind::InvalidApiUrl,
            "unknown_username" => TestFailureKind::UnknownUsername,
            "zone_mismatch" => TestFailureKind::ZoneMismatch,
            "authentication_failed" => TestFailureKind::AuthenticationFailed,
            "permission_missing" => TestFailureKind::PermissionMissing,
            "unreachable" => TestFailureKind::Unreachable,
            "platform_error" => TestFailureKind::PlatformError,
            "missing_value" => TestFailureKind::MissingValue,
            "invalid_value" => TestFailureKind::InvalidValue,
            _ => return None,
        })
    }
}

/// API usage as reported by the platform (Autotask: `ThresholdInformation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiUsage {
    pub requests_used: u32,
    pub request_limit: u32,
    pub timeframe_minutes: u32,
}

/// One connection test's outcome, ready to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionTestReport {
    pub outcome: TestOutcome,
    /// `Some` exactly when `outcome` is `Failed`.
    pub failure: Option<TestFailureKind>,
    /// What happened, e.g. "Authentication failed: the API username looks like an email address".
    /// On success, a one-line summary ("Connected to America West (webservices5) …").
    pub reason: String,
    /// What to do next. `None` on success.
    pub fix: Option<String>,
    /// The zone the API user lives in, when it was learned (e.g. "America West (webservices5)").
    pub zone: Option<String>,
    pub api_usage: Option<ApiUsage>,
    /// Things the user should know that did not fail the test, e.g. "A trailing newline was
    /// removed from the API secret".
    pub notes: Vec<String>,
    pub tested_at: OffsetDateTime,
}

impl ConnectionTestReport {
    pub fn tested(reason: impl Into<String>, tested_at: OffsetDateTime) -> Self {
        Self {
            outcome: TestOutcome::Tested,
            failure: None,
            reason: reason.into(),
            fix: None,
            zone: None,
            api_usage: None,
            notes: Vec::new(),
            tested_at,
        }
    }

    pub fn failed(
        kind: TestFailureKind,
        reason: impl Into<String>,
        fix: impl Into<String>,
        tested_at: OffsetDateTime,
    ) -> Self {
        Self {
            outcome: TestOutcome::Failed,
            failure: Some(kind),
            reason: reason.into(),
            fix: Some(fix.into()),
            zone: None,
            api_usage: None,
            notes: Vec::new(),
            tested_at,
        }
    }

    pub fn is_success(&self) -> bool {
        self.outcome == TestOutcome::Tested
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_labels_are_the_words_users_read_and_round_trip() {
        for outcome in [TestOutcome::Tested, TestOutcome::Failed] {
            assert_eq!(TestOutcome::parse_label(outcome.label()), Some(outcome));
        }
        assert_eq!(TestOutcome::Tested.label(), "Connection tested");
        assert_eq!(TestOutcome::Failed.label(), "Test failed");
    }

    #[test]
    fn failure_kinds_round_trip_through_their_stable_names() {
        use TestFailureKind::*;
        for kind in [
            InvalidApiUrl,
            UnknownUsername,
            ZoneMismatch,
            AuthenticationFailed,
            PermissionMissing,
            Unreachable,
            PlatformError,
            MissingValue,
        ] {
            assert_eq!(TestFailureKind::parse(kind.as_str()), Some(kind));
        }
    }
}
