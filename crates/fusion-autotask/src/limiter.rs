//! The concurrency governor: at most N (Autotask: 3) requests in flight per endpoint per
//! database, so we never trigger "Thread Threshold Exceeded" ourselves.
//!
//! Autotask counts threads per (integration code, object endpoint); we key by (database,
//! endpoint), which is at least as strict for one deployment with one integration code.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Hands out permits per (database, endpoint).
#[derive(Debug)]
pub struct EndpointLimiter {
    permits_per_endpoint: usize,
    semaphores: Mutex<HashMap<(String, String), Arc<Semaphore>>>,
}

impl EndpointLimiter {
    pub fn new(permits_per_endpoint: usize) -> EndpointLimiter {
        EndpointLimiter {
            permits_per_endpoint: permits_per_endpoint.max(1),
            semaphores: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for a free slot on `endpoint` (e.g. `Tickets`) of `database`. The slot is released
    /// when the permit is dropped.
    pub async fn acquire(&self, database: &str, endpoint: &str) -> Option<OwnedSemaphorePermit> {
        let semaphore = {
            let mut semaphores = self
                .semaphores
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            semaphores
                .entry((database.to_owned(), endpoint.to_owned()))
                .or_insert_with(|| Arc::new(Semaphore::new(self.permits_per_endpoint)))
                .clone()
        };
        // The semaphores are never closed, so this only fails if that changes; then the call
        // proceeds unthrottled rather than failing.
        semaphore.acquire_owned().await.ok()
    }

    /// Free permits right now (for tests and metrics).
    pub fn available(&self, database: &str, endpoint: &str) -> usize {
        let semaphores = self
            .semaphores
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        semaphores
            .get(&(database.to_owned(), endpoint.to_owned()))
            .map(|semaphore| semaphore.available_permits())
            .unwrap_or(self.permits_per_endpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn at_most_three_permits_per_endpoint_and_database() {
        let limiter = EndpointLimiter::new(3);
        let first = limiter.acquire("db1", "Tickets").await;
        let _second = limiter.acquire("db1", "Tickets").await;
        let _third = limiter.acquire("db1", "Tickets").await;
        assert_eq!(limiter.available("db1", "Tickets"), 0);
        assert_eq!(limiter.available("db1", "TicketNotes"), 3);
        assert_eq!(limiter.available("db2", "Tickets"), 3);
        let _other_endpoint = limiter.acquire("db1", "TicketNotes").await;
        drop(first);
        assert_eq!(limiter.available("db1", "Tickets"), 1);
    }
}
