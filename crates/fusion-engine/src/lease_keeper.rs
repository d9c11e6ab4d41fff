//! Keeping a run's leases: renewed whenever a third of their lifetime has passed, checked between
//! pages while reading and between tickets while writing, so a long run never outlives its leases
//! (another process would then start the same work and could create the same ticket twice).

use crate::ports::{Lease, StoreError, SyncStore};
use fusion_domain::Clock;
use time::{Duration, OffsetDateTime};

/// The leases a run holds.
pub(crate) struct LeaseKeeper<'a> {
    store: &'a dyn SyncStore,
    clock: &'a dyn Clock,
    ttl: Duration,
    leases: Vec<Lease>,
    last_renewal: OffsetDateTime,
}

/// The run no longer holds one of its leases.
#[derive(Debug)]
pub(crate) struct LeaseLost;

impl<'a> LeaseKeeper<'a> {
    pub fn new(
        store: &'a dyn SyncStore,
        clock: &'a dyn Clock,
        ttl: Duration,
        leases: Vec<Lease>,
    ) -> Self {
        let last_renewal = clock.now();
        Self {
            store,
            clock,
            ttl,
            leases,
            last_renewal,
        }
    }

    /// Renews the leases if a third of their lifetime has passed since the last renewal.
    /// `Ok(Err(LeaseLost))` when one was lost (expired and taken by another process).
    pub async fn keep(&mut self) -> Result<Result<(), LeaseLost>, StoreError> {
        let now = self.clock.now();
        if now - self.last_renewal < self.ttl / 3 {
            return Ok(Ok(()));
        }
        self.last_renewal = now;
        for lease in &mut self.leases {
            match self.store.renew_lease(lease, now, self.ttl).await? {
                Some(renewed) => *lease = renewed,
                None => return Ok(Err(LeaseLost)),
            }
        }
        Ok(Ok(()))
    }
}
