//! `SimOptions`: limits, timings and the switches for behaviour the API notes mark [UNCERTAIN]. The
//! defaults are the newest vendor evidence (401 empty bodies, dates without `Z`, 10,000 requests/hour,
//! 3 threads per endpoint).

use std::time::Duration;

/// How authentication failures look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthFailureMode {
    /// 2026 probes: every failure is 401 with an empty body and `WWW-Authenticate: Basic Realm=…`.
    #[default]
    Current,
    /// 2023 reports: unknown user and unknown integration code answer HTTP 500 `{"errors":[…]}`;
    /// a wrong secret is still 401.
    Legacy2023,
}

/// What `GET /{Entity}/{id}` answers for a missing record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingItemMode {
    /// HTTP 404 (apigrate's observation).
    #[default]
    NotFound,
    /// HTTP 200 `{"item": null}`.
    NullItem,
}

#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Requests per rolling window per database (vendor: 10,000 per hour).
    pub hourly_request_threshold: u64,
    /// The rolling window (`requestThresholdTimeframe`).
    pub threshold_window: Duration,
    /// Latency added per request once usage reaches 50 % of the threshold.
    pub latency_at_half_threshold: Duration,
    /// Latency added per request once usage reaches 75 % of the threshold.
    pub latency_at_three_quarters_threshold: Duration,
    /// Multiplies every simulated threshold latency (0.0 disables it, tests use a tiny value).
    pub time_scale: f64,
    /// Status once the threshold is reached (suspension). [UNCERTAIN] 429 or 500.
    pub suspended_status: u16,
    /// Concurrent requests per (integration code, entity endpoint).
    pub thread_limit: u32,
    /// Status of the "Thread Threshold Exceeded" rejection (it may come without a 429).
    pub thread_threshold_status: u16,
    pub auth_failure_mode: AuthFailureMode,
    /// Status when the API user's security level lacks the entity (500 with vendor text by default;
    /// the Swagger declares 403).
    pub permission_denied_status: u16,
    /// Append `Z` to every date-time on the wire.
    pub dates_with_z: bool,
    pub missing_item: MissingItemMode,
    /// Whether `ThresholdInformation` calls count toward the hourly threshold. [UNCERTAIN]
    pub threshold_information_counts: bool,
    /// Longest query string accepted; longer GET URLs are a 404 like IIS's 404.15 (default 2,048).
    pub max_query_string_bytes: usize,
    /// Largest attachment accepted through the API, in bytes (vendor: 6–7 MB).
    pub attachment_max_file_bytes: u64,
    /// Attachment bytes allowed per `attachment_budget_window` per database (vendor: 10,000,000 / 5 min).
    pub attachment_budget_bytes: u64,
    pub attachment_budget_window: Duration,
    /// How long attachment creation stays blocked after the budget is exceeded (vendor: 5 minutes).
    pub attachment_block: Duration,
    /// How long a `TimeoutAfterWrite` fault holds the response before giving up with a 504.
    pub timeout_fault_hold: Duration,
    /// Largest request body accepted (attachments arrive base64-encoded in JSON).
    pub max_body_bytes: usize,
    /// Multiplies the webhook waits (30 s between attempts, 10 s response timeout; see WEBHOOKS.md).
    pub webhook_time_scale: f64,
    /// Signs callouts over the body's .NET-escaped form (`&`, `<`, `>`, `'`, `"`, `` ` ``, `+` and
    /// non-ASCII inside strings as upper-case `\uXXXX`) instead of the bytes sent — the quirk
    /// reported of Autotask (API-NOTES §9.3). Off by default.
    pub webhook_sign_dotnet_escaped: bool,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            hourly_request_threshold: 10_000,
            threshold_window: Duration::from_secs(3600),
            latency_at_half_threshold: Duration::from_millis(500),
            latency_at_three_quarters_threshold: Duration::from_secs(1),
            time_scale: 1.0,
            suspended_status: 429,
            thread_limit: 3,
            thread_threshold_status: 429,
            auth_failure_mode: AuthFailureMode::Current,
            permission_denied_status: 500,
            dates_with_z: false,
            missing_item: MissingItemMode::NotFound,
            threshold_information_counts: true,
            max_query_string_bytes: 2048,
            attachment_max_file_bytes: 7_000_000,
            attachment_budget_bytes: 10_000_000,
            attachment_budget_window: Duration::from_secs(300),
            attachment_block: Duration::from_secs(300),
            timeout_fault_hold: Duration::from_secs(30),
            max_body_bytes: 32 * 1024 * 1024,
            webhook_time_scale: 1.0,
            webhook_sign_dotnet_escaped: false,
        }
    }
}

impl SimOptions {
    /// Options for fast tests: threshold latency scaled down to almost nothing.
    pub fn for_tests() -> SimOptions {
        SimOptions {
            time_scale: 0.001,
            webhook_time_scale: 0.001,
            ..SimOptions::default()
        }
    }

    pub(crate) fn scaled(&self, duration: Duration) -> Duration {
        // NaN, negative or absurd scales must not panic inside a request.
        if !(self.time_scale.is_finite() && self.time_scale > 0.0) {
            return Duration::ZERO;
        }
        Duration::try_from_secs_f64(duration.as_secs_f64() * self.time_scale)
            .unwrap_or(Duration::MAX)
    }
}
