//! Deployment settings for the Autotask adapter, loaded once by the binary and passed down.

use std::time::Duration;

use crate::transport::{TransportOverride, TransportOverrideError};

/// How the adapter talks to Autotask. Built once in `main` from configuration.
#[derive(Clone)]
pub struct AutotaskSettings {
    /// The deployment's `ApiIntegrationCode` (tracking identifier), from
    /// `FUSION_AUTOTASK_INTEGRATION_CODE`. An organisation may override it.
    pub integration_code: Option<String>,
    /// Redirects every call to a local simulator (`FUSION_AUTOTASK_OVERRIDE`); tests/demos only.
    pub transport_override: Option<TransportOverride>,
    /// Whole-request timeout. Autotask can take many seconds on big queries.
    pub request_timeout: Duration,
    /// TCP + TLS connect timeout.
    pub connect_timeout: Duration,
    /// Concurrent requests per endpoint per database. Autotask allows 3 per integration code
    /// and endpoint; going over yields "Thread Threshold Exceeded".
    pub max_concurrent_per_endpoint: usize,
    /// Our share of the database's hourly request threshold (Autotask: 10,000/hour shared with
    /// every other integration of the tenant).
    pub hourly_request_budget: u32,
    /// Refused authentications sent to Autotask per API username per rolling hour before this
    /// server stops sending secrets it has not seen accepted (see `auth_guard`).
    pub failed_authentications_per_hour: u32,
    /// Retries of retryable failures on reads (and on writes Autotask certainly did not process).
    pub retry: RetryPolicy,
}

/// Exponential backoff for retryable failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts including the first.
    pub max_attempts: u32,
    pub initial_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
        }
    }
}

impl Default for AutotaskSettings {
    fn default() -> Self {
        AutotaskSettings {
            integration_code: None,
            transport_override: None,
            request_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            max_concurrent_per_endpoint: 3,
            hourly_request_budget: 5_000,
            failed_authentications_per_hour: 3,
            retry: RetryPolicy::default(),
        }
    }
}

impl AutotaskSettings {
    /// Settings from the values of `FUSION_AUTOTASK_INTEGRATION_CODE` and
    /// `FUSION_AUTOTASK_OVERRIDE` (the caller reads the environment; blank values count as unset).
    pub fn from_values(
        integration_code: Option<&str>,
        transport_override: Option<&str>,
    ) -> Result<AutotaskSettings, TransportOverrideError> {
        let transport_override = match transport_override.map(str::trim) {
            Some(value) if !value.is_empty() => Some(TransportOverride::parse(value)?),
            _ => None,
        };
        Ok(AutotaskSettings {
            integration_code: integration_code
                .map(str::trim)
                .filter(|code| !code.is_empty())
                .map(str::to_owned),
            transport_override,
            ..AutotaskSettings::default()
        })
    }
}

impl std::fmt::Debug for AutotaskSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AutotaskSettings")
            .field(
                "integration_code",
                &self.integration_code.as_ref().map(|_| "[set]"),
            )
            .field("transport_override", &self.transport_override)
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field(
                "max_concurrent_per_endpoint",
                &self.max_concurrent_per_endpoint,
            )
            .field("hourly_request_budget", &self.hourly_request_budget)
            .field(
                "failed_authentications_per_hour",
                &self.failed_authentications_per_hour,
            )
            .field("retry", &self.retry)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_environment_values_count_as_unset() {
        let settings = AutotaskSettings::from_values(Some("  "), Some("")).expect("valid");
        assert_eq!(settings.integration_code, None);
        assert_eq!(settings.transport_override, None);
    }

    #[test]
    fn values_are_trimmed_and_a_non_loopback_override_is_refused() {
        let settings =
            AutotaskSettings::from_values(Some(" CODE\n"), Some("http://127.0.0.1:9000"))
                .expect("valid");
        assert_eq!(settings.integration_code.as_deref(), Some("CODE"));
        assert!(settings.transport_override.is_some());
        assert_eq!(
            AutotaskSettings::from_values(None, Some("http://example.com:9000")).err(),
            Some(TransportOverrideError::NotLoopback)
        );
        assert!(!format!("{settings:?}").contains("CODE"));
    }
}
