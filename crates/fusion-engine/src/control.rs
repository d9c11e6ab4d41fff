//! How a caller follows and stops a run: a [`RunObserver`] hears the run start, its plan grow
//! (a group at a time) and each ticket done (the web's "Sync now" learns the run id, `fusion sync` draws its
//! progress bar), and a [`StopSignal`] asks the run to stop after the tickets in hand (graceful
//! shutdown of `fusion serve`): no further ticket starts, and those in flight finish.
//!
//! Stopping between tickets is always safe: every write of a ticket is recorded in its link
//! when the ticket is done (and a create in its pending create until its copy is read back), and
//! a stopped run keeps the old cursors, so the next run carries on where this one stopped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use fusion_domain::sync::SyncRun;
use tokio::sync::Notify;

/// Hears what a run is doing. Every method has an empty default; calls come from the task that
/// runs the sync and must return quickly.
pub trait RunObserver: Send + Sync {
    /// The run record exists (not called for a dry run).
    fn run_started(&self, _run: &SyncRun) {}
    /// The plan grew: `tickets` tickets will have been looked at once those planned so far are
    /// done. A window run plans a group at a time (`EngineSettings::apply_page` tickets), so this
    /// is called again with a growing running total (once with 0 for a run that plans nothing).
    fn planned(&self, _tickets: usize) {}
    /// `done` of the `total` tickets planned so far are applied (or recorded as failed).
    fn ticket_done(&self, _done: usize, _total: usize) {}
}

/// Asks runs to stop after the tickets in hand. Cheap to clone; every clone shares the signal.
#[derive(Debug, Clone, Default)]
pub struct StopSignal(Arc<StopState>);

#[derive(Debug, Default)]
struct StopState {
    stopped: AtomicBool,
    notify: Notify,
}

impl StopSignal {
    pub fn new() -> Self {
        Self::default()
    }

    /// From now on, runs watching this signal stop at the next safe point.
    pub fn stop(&self) {
        self.0.stopped.store(true, Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }

    pub fn is_stopped(&self) -> bool {
        self.0.stopped.load(Ordering::SeqCst)
    }

    /// Completes once [`StopSignal::stop`] was called (at once if it already was).
    pub async fn stopped(&self) {
        let notified = self.0.notify.notified();
        tokio::pin!(notified);
        // Registered before the check, so a stop between the two is not missed.
        notified.as_mut().enable();
        if self.is_stopped() {
            return;
        }
        notified.await;
    }
}

/// A run's observer and stop signal. The default observes nothing and never stops.
#[derive(Clone, Default)]
pub struct RunControl {
    pub stop: StopSignal,
    pub observer: Option<Arc<dyn RunObserver>>,
    /// Who started the run (a person's email), for history.
    pub started_by: Option<String>,
    /// The process-wide signal of the `SyncService` the run goes through (set by the service).
    pub(crate) service_stop: Option<StopSignal>,
    /// Called once the cursors are saved and before the run record is finished, so that nobody
    /// sees a finished first run on a relationship still marked "Initial sync required".
    pub(crate) cursors_saved: Option<Arc<dyn CursorsSaved>>,
}

/// What the service does when a manual run saved the cursors (sets the baseline).
#[async_trait::async_trait]
pub(crate) trait CursorsSaved: Send + Sync {
    async fn cursors_saved(&self);
}

impl std::fmt::Debug for RunControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunControl")
            .field("stop", &self.stop)
            .field("observer", &self.observer.is_some())
            .field("service_stop", &self.service_stop)
            .finish()
    }
}

impl RunControl {
    /// Watches `stop` (besides the service's own signal) and tells `observer`.
    pub fn new(stop: StopSignal, observer: Option<Arc<dyn RunObserver>>) -> Self {
        Self {
            stop,
            observer,
            started_by: None,
            service_stop: None,
            cursors_saved: None,
        }
    }

    /// Records `person` (an email) as who started the run.
    pub fn started_by(mut self, person: impl Into<String>) -> Self {
        self.started_by = Some(person.into());
        self
    }

    /// Watches `stop`, observes nothing.
    pub fn stoppable(stop: StopSignal) -> Self {
        Self {
            stop,
            ..Self::default()
        }
    }

    /// Observed by `observer`, stopped only with the service.
    pub fn observed(observer: Arc<dyn RunObserver>) -> Self {
        Self {
            observer: Some(observer),
            ..Self::default()
        }
    }

    /// Whether the run should stop: its own signal or its service's.
    pub fn is_stopped(&self) -> bool {
        self.stop.is_stopped()
            || self
                .service_stop
                .as_ref()
                .is_some_and(StopSignal::is_stopped)
    }

    pub(crate) fn run_started(&self, run: &SyncRun) {
        if let Some(observer) = &self.observer {
            observer.run_started(run);
        }
    }

    pub(crate) fn planned(&self, tickets: usize) {
        if let Some(observer) = &self.observer {
            observer.planned(tickets);
        }
    }

    pub(crate) fn ticket_done(&self, done: usize, total: usize) {
        if let Some(observer) = &self.observer {
            observer.ticket_done(done, total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stopped_completes_for_a_stop_before_or_while_waiting() {
        let early = StopSignal::new();
        early.stop();
        early.stopped().await;

        let later = StopSignal::new();
        let waiter = tokio::spawn({
            let later = later.clone();
            async move { later.stopped().await }
        });
        tokio::task::yield_now().await;
        assert!(!later.is_stopped());
        later.stop();
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("the waiter wakes")
            .expect("the task ran");
    }
}
