//! Fault injection: rules scoped by tenant / endpoint / method that fire for the next N matching requests
//! or with a probability drawn from a seeded generator (so a run is repeatable).

use serde::{Deserialize, Serialize};

/// What an injected fault does to a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Adds latency (while the request holds its thread slot) and then serves normally.
    Latency { millis: u64 },
    /// HTTP 500 `{"errors":[…]}`; nothing is applied.
    ServerError,
    /// HTTP 429 with a threshold message; nothing is applied.
    TooManyRequests,
    /// The "Thread Threshold Exceeded" rejection (status from `SimOptions`); nothing is applied.
    ThreadThreshold,
    /// The connection is dropped without a complete response; nothing is applied.
    ConnectionReset,
    /// The request IS applied, then the response is held (`SimOptions::timeout_fault_hold`) and ends in 504:
    /// the client times out not knowing its write landed.
    TimeoutAfterWrite,
    /// The request is applied and answered 200 with a truncated JSON body.
    MalformedBody,
    /// An HTML error page (like a proxy or maintenance page) with the given status; nothing is applied.
    HtmlBody {
        #[serde(default = "default_html_status")]
        status: u16,
    },
}

impl FaultKind {
    /// The kind's name as in JSON (`server_error`, `timeout_after_write`, …).
    pub fn label(&self) -> &'static str {
        match self {
            FaultKind::Latency { .. } => "latency",
            FaultKind::ServerError => "server_error",
            FaultKind::TooManyRequests => "too_many_requests",
            FaultKind::ThreadThreshold => "thread_threshold",
            FaultKind::ConnectionReset => "connection_reset",
            FaultKind::TimeoutAfterWrite => "timeout_after_write",
            FaultKind::MalformedBody => "malformed_body",
            FaultKind::HtmlBody { .. } => "html_body",
        }
    }
}

fn default_html_status() -> u16 {
    503
}

/// One fault rule. Empty scopes match everything.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    #[serde(flatten)]
    pub kind: FaultKind,
    /// Tenant name (case-insensitive).
    #[serde(default)]
    pub tenant: Option<String>,
    /// Endpoint = the first segment after `/V1.0/`, e.g. `Tickets`, `TicketNotes`, `ZoneInformation`
    /// (case-insensitive). `/Tickets/{id}/Notes` counts as `Tickets`.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// HTTP method, e.g. `POST`.
    #[serde(default)]
    pub method: Option<String>,
    /// Fire for the next N matching requests, then retire (None = no limit).
    #[serde(default)]
    pub count: Option<u32>,
    /// Fire with this probability (0.0–1.0) per matching request (None = always).
    #[serde(default)]
    pub probability: Option<f64>,
    /// Seed for the probability draws.
    #[serde(default)]
    pub seed: Option<u64>,
}

impl FaultRule {
    pub fn new(kind: FaultKind) -> FaultRule {
        FaultRule {
            kind,
            tenant: None,
            endpoint: None,
            method: None,
            count: None,
            probability: None,
            seed: None,
        }
    }

    pub fn for_tenant(mut self, tenant: impl Into<String>) -> FaultRule {
        self.tenant = Some(tenant.into());
        self
    }

    pub fn on_endpoint(mut self, endpoint: impl Into<String>) -> FaultRule {
        self.endpoint = Some(endpoint.into());
        self
    }

    pub fn on_method(mut self, method: impl Into<String>) -> FaultRule {
        self.method = Some(method.into());
        self
    }

    pub fn times(mut self, count: u32) -> FaultRule {
        self.count = Some(count);
        self
    }

    pub fn with_probability(mut self, probability: f64, seed: u64) -> FaultRule {
        self.probability = Some(probability);
        self.seed = Some(seed);
        self
    }
}

/// A rule with its remaining count and generator state.
#[derive(Debug)]
pub(crate) struct ActiveFault {
    pub rule: FaultRule,
    remaining: Option<u32>,
    rng_state: u64,
}

impl ActiveFault {
    pub(crate) fn new(rule: FaultRule) -> ActiveFault {
        let remaining = rule.count;
        let rng_state = rule.seed.unwrap_or(0x9E37_79B9_7F4A_7C15);
        ActiveFault {
            rule,
            remaining,
            rng_state,
        }
    }

    /// splitmix64: small, seeded, good enough to decide "does this request fail".
    fn next_unit(&mut self) -> f64 {
        self.rng_state = self.rng_state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng_state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    fn matches(&self, tenant: Option<&str>, endpoint: &str, method: &str) -> bool {
        let scope = |wanted: &Option<String>, actual: Option<&str>| match wanted {
            None => true,
            Some(wanted) => actual.is_some_and(|actual| actual.eq_ignore_ascii_case(wanted)),
        };
        scope(&self.rule.tenant, tenant)
            && scope(&self.rule.endpoint, Some(endpoint))
            && scope(&self.rule.method, Some(method))
    }
}

/// The faults that apply to one request: summed latency and at most one failure.
#[derive(Debug, Default)]
pub(crate) struct FaultDecision {
    pub latency_millis: u64,
    pub failure: Option<FaultKind>,
}

pub(crate) fn decide(
    faults: &mut Vec<ActiveFault>,
    tenant: Option<&str>,
    endpoint: &str,
    method: &str,
) -> FaultDecision {
    let mut decision = FaultDecision::default();
    for fault in faults.iter_mut() {
        if !fault.matches(tenant, endpoint, method) {
            continue;
        }
        let is_latency = matches!(fault.rule.kind, FaultKind::Latency { .. });
        if !is_latency && decision.failure.is_some() {
            continue;
        }
        if let Some(probability) = fault.rule.probability
            && fault.next_unit() >= probability
        {
            continue;
        }
        if let Some(remaining) = fault.remaining.as_mut() {
            if *remaining == 0 {
                continue;
            }
            *remaining -= 1;
        }
        match &fault.rule.kind {
            FaultKind::Latency { millis } => decision.latency_millis += millis,
            other => decision.failure = Some(other.clone()),
        }
    }
    faults.retain(|fault| fault.remaining != Some(0));
    decision
}
