//! Targeted runs: settled events claimed from the queue become one webhook run per connection.

use std::collections::{BTreeMap, BTreeSet};

use fusion_domain::sync::{RecordOutcome, TicketId};
use fusion_domain::{RelationshipId, Role};
use time::Duration;

use crate::control::RunControl;
use crate::engine::{EngineError, SyncMode};
use crate::ports::{QueuedWebhookEvent, StoreError, WebhookEventDone};
use crate::service::ServiceError;

use super::{WEBHOOK_PROPAGATION_SECONDS, WebhookService};

/// How long a claim lasts: a process that dies mid-run leaves its events to the others.
const CLAIM_FOR: Duration = Duration::minutes(5);
/// Events claimed per pass.
const CLAIM_LIMIT: u32 = 500;
/// A connection another process is running is tried again after this long.
const BUSY_RETRY: Duration = Duration::seconds(20);

/// What one dispatch pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dispatched {
    /// Events claimed.
    pub events: usize,
    /// Targeted runs made.
    pub runs: usize,
    /// Events given back (their connection was busy), to be claimed again.
    pub released: usize,
}

impl WebhookService {
    /// Claims settled events and runs them: for each connection on automatic sync of the
    /// organisation whose webhook sent them, one run of just the tickets named (a ticket outside
    /// the connection's companies is left alone by the planner, as in any run).
    pub async fn dispatch_once(&self, control: &RunControl) -> Result<Dispatched, StoreError> {
        let now = self.clock.now();
        let settled_before = now - self.settings.debounce;
        let events = self
            .store
            .claim_webhook_events(
                settled_before,
                now,
                now + CLAIM_FOR,
                CLAIM_LIMIT,
                now - self.settings.max_debounce,
            )
            .await?;
        let mut dispatched = Dispatched {
            events: events.len(),
            ..Dispatched::default()
        };
        if events.is_empty() {
            return Ok(dispatched);
        }
        let scheduled = match self.directory.automatic_relationships().await {
            Ok(scheduled) => scheduled,
            Err(error) => {
                tracing::warn!(%error, "webhook events wait: could not list the connections");
                let ids: Vec<i64> = events.iter().map(|event| event.id).collect();
                self.store
                    .release_webhook_events(&ids, now + BUSY_RETRY)
                    .await?;
                dispatched.released = ids.len();
                return Ok(dispatched);
            }
        };
        // Each connection's tickets (on the side of the organisation that sent them).
        let mut work: BTreeMap<RelationshipId, Vec<(Role, TicketId, usize)>> = BTreeMap::new();
        for (index, event) in events.iter().enumerate() {
            for relationship in &scheduled {
                for (side, org) in [
                    (Role::Source, relationship.source_org),
                    (Role::Target, relationship.target_org),
                ] {
                    if org == event.org {
                        work.entry(relationship.relationship).or_default().push((
                            side,
                            event.event.ticket.clone(),
                            index,
                        ));
                    }
                }
            }
        }
        // Per event: the earliest time its change reached a partner, and whether it must wait.
        let mut written: BTreeMap<usize, time::OffsetDateTime> = BTreeMap::new();
        let mut retry: BTreeSet<usize> = BTreeSet::new();
        for (relationship, named) in work {
            if control.is_stopped() {
                retry.extend(named.iter().map(|(_, _, index)| *index));
                continue;
            }
            let mut tickets: Vec<(Role, TicketId)> = named
                .iter()
                .map(|(side, ticket, _)| (*side, ticket.clone()))
                .collect();
            tickets.sort();
            tickets.dedup();
            // A deleted ticket cannot be read: a sweep (which reads the deletion log, and every
            // change since its cursor, so the other named tickets too) carries it at once.
            let deleted = named.iter().any(|(_, _, index)| {
                let event = &events[*index].event;
                event.entity == "Ticket" && event.action.eq_ignore_ascii_case("Delete")
            });
            let mode = if deleted {
                SyncMode::Automatic
            } else {
                SyncMode::Webhook { tickets }
            };
            dispatched.runs += 1;
            match self.sync.run_with(relationship, mode, control).await {
                Ok(summary) => {
                    for record in &summary.records {
                        if !matches!(
                            record.outcome,
                            RecordOutcome::Created | RecordOutcome::Updated | RecordOutcome::Closed
                        ) {
                            continue;
                        }
                        for (side, ticket, index) in &named {
                            let names = match side {
                                Role::Source => record.source_ticket.as_ref(),
                                Role::Target => record.target_ticket.as_ref(),
                            };
                            if names == Some(ticket) {
                                let at = written.entry(*index).or_insert(record.recorded_at);
                                *at = (*at).min(record.recorded_at);
                            }
                        }
                    }
                }
                Err(error) => {
                    let busy = matches!(error, ServiceError::Engine(EngineError::Busy(_)));
                    if busy || error_is_passing(&error) {
                        retry.extend(named.iter().map(|(_, _, index)| *index));
                    }
                    if !busy {
                        tracing::warn!(%relationship, %error, "a webhook-triggered run did not happen");
                    }
                }
            }
        }
        let mut done = Vec::new();
        let mut released = Vec::new();
        for (index, QueuedWebhookEvent { id, event, .. }) in events.iter().enumerate() {
            let too_old = now - event.received_at > self.settings.give_up_after;
            if retry.contains(&index) && !too_old {
                released.push(*id);
                continue;
            }
            let delay_ms = written.get(&index).map(|at| {
                let delay = (*at - event.event_time).max(Duration::ZERO);
                metrics::histogram!(WEBHOOK_PROPAGATION_SECONDS).record(delay.as_seconds_f64());
                i64::try_from(delay.whole_milliseconds()).unwrap_or(i64::MAX)
            });
            done.push(WebhookEventDone { id: *id, delay_ms });
        }
        self.store
            .finish_webhook_events(&done, self.clock.now())
            .await?;
        if !released.is_empty() {
            self.store
                .release_webhook_events(&released, self.clock.now() + BUSY_RETRY)
                .await?;
        }
        dispatched.released = released.len();
        Ok(dispatched)
    }
}

/// A run that did not happen for a passing reason (the store or a platform unreachable).
fn error_is_passing(error: &ServiceError) -> bool {
    matches!(
        error,
        ServiceError::Engine(EngineError::Store(_))
            | ServiceError::Setup(crate::service::SetupError::Unavailable(_))
            | ServiceError::Internal(_)
    )
}
