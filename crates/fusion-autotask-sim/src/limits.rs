//! Vendor limits: the rolling-window request threshold per database (with added latency at 50 % / 75 %
//! and suspension at 100 %), the per-(integration code, endpoint) thread limit, and the attachment
//! byte budget per database.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::options::SimOptions;

/// Rolling counters of one database, behind the tenant's limits mutex.
#[derive(Debug, Default)]
pub(crate) struct TenantLimits {
    request_times: VecDeque<Instant>,
    attachment_uploads: VecDeque<(Instant, u64)>,
    attachment_blocked_until: Option<Instant>,
}

pub(crate) enum HourlyOutcome {
    Allowed { added_latency: Duration },
    Suspended,
}

impl TenantLimits {
    fn prune(&mut self, now: Instant, window: Duration) {
        while self
            .request_times
            .front()
            .is_some_and(|&at| now.duration_since(at) >= window)
        {
            self.request_times.pop_front();
        }
    }

    /// Requests counted in the current window.
    pub(crate) fn current_count(&mut self, now: Instant, options: &SimOptions) -> u64 {
        self.prune(now, options.threshold_window);
        self.request_times.len() as u64
    }

    /// Counts one request (when `counts`) and says whether it may run and how much latency it gets.
    pub(crate) fn admit_request(
        &mut self,
        now: Instant,
        options: &SimOptions,
        counts: bool,
    ) -> HourlyOutcome {
        let threshold = options.hourly_request_threshold.max(1);
        if self.current_count(now, options) >= threshold {
            return HourlyOutcome::Suspended;
        }
        if counts {
            self.request_times.push_back(now);
        }
        let used = self.request_times.len() as u64;
        let added_latency = if used * 4 >= threshold * 3 {
            options.scaled(options.latency_at_three_quarters_threshold)
        } else if used * 2 >= threshold {
            options.scaled(options.latency_at_half_threshold)
        } else {
            Duration::ZERO
        };
        HourlyOutcome::Allowed { added_latency }
    }

    /// Checks and records an attachment upload against the per-file limit and the rolling byte budget.
    pub(crate) fn admit_attachment(
        &mut self,
        now: Instant,
        bytes: u64,
        options: &SimOptions,
    ) -> Result<(), String> {
        if bytes > options.attachment_max_file_bytes {
            return Err(format!(
                "The attachment is {bytes} bytes; attachments created through the API cannot exceed {} bytes.",
                options.attachment_max_file_bytes
            ));
        }
        if let Some(until) = self.attachment_blocked_until {
            if now < until {
                return Err(attachment_blocked_message(options));
            }
            self.attachment_blocked_until = None;
        }
        while self
            .attachment_uploads
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) >= options.attachment_budget_window)
        {
            self.attachment_uploads.pop_front();
        }
        let used: u64 = self.attachment_uploads.iter().map(|(_, size)| size).sum();
        if used + bytes > options.attachment_budget_bytes {
            self.attachment_blocked_until = Some(now + options.attachment_block);
            return Err(attachment_blocked_message(options));
        }
        self.attachment_uploads.push_back((now, bytes));
        Ok(())
    }
}

fn attachment_blocked_message(options: &SimOptions) -> String {
    format!(
        "Attachment threshold exceeded: no more than {} bytes of attachments may be added in {} minutes. \
         Attachment creation is blocked for {} minutes.",
        options.attachment_budget_bytes,
        options.attachment_budget_window.as_secs() / 60,
        options.attachment_block.as_secs() / 60
    )
}

/// In-flight requests per (integration code, endpoint).
pub(crate) type ThreadCounters = Arc<Mutex<HashMap<(String, String), u32>>>;

/// Holds one thread slot; releases it on drop (also when the client disconnects mid-request).
#[derive(Debug)]
pub(crate) struct ThreadSlot {
    counters: ThreadCounters,
    key: (String, String),
}

impl ThreadSlot {
    pub(crate) fn acquire(
        counters: &ThreadCounters,
        key: (String, String),
        limit: u32,
    ) -> Option<ThreadSlot> {
        let mut map = counters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let current = map.entry(key.clone()).or_insert(0);
        if *current >= limit {
            return None;
        }
        *current += 1;
        Some(ThreadSlot {
            counters: Arc::clone(counters),
            key,
        })
    }
}

impl Drop for ThreadSlot {
    fn drop(&mut self) {
        let mut map = self
            .counters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(current) = map.get_mut(&self.key) {
            *current = current.saturating_sub(1);
            if *current == 0 {
                map.remove(&self.key);
            }
        }
    }
}

/// The vendor's rejection text (internal code `Itgenatr005`).
pub(crate) fn thread_threshold_message(limit: u32) -> String {
    format!(
        "Thread Threshold Exceeded — The Autotask API thread threshold of {limit} threads has been exceeded. (Itgenatr005)"
    )
}

pub(crate) fn suspended_message(options: &SimOptions) -> String {
    format!(
        "Request threshold exceeded: this database has reached its limit of {} API requests per {} minutes. \
         Requests are suspended until usage falls below the threshold.",
        options.hourly_request_threshold,
        options.threshold_window.as_secs() / 60
    )
}
