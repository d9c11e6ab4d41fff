//! The run's view of its relationship's attention items: which planned actions are held back
//! (a permanent failure not retried until something changes, or one a person skipped), which
//! failures are new (they make the run Partial) and which are known (counted once, as "needs
//! attention"), and which items resolved themselves.
//!
//! Rules:
//! - A permanent failure becomes an open item at once; a transient one is retried by the next runs
//!   (with backoff, through the retry queue) and shows as needing attention once it has lasted
//!   [`fusion_domain::sync::TRANSIENT_ATTENTION_AFTER`].
//! - An open permanent item holds its action back until the original ticket's last activity moves
//!   past the one it failed at, or a retry is requested (a person, or a change of configuration,
//!   mappings or credentials). A skipped item holds it back for good.
//! - Items are saved right after their ticket, so a crash loses at most that ticket's bookkeeping.

use std::collections::{BTreeSet, HashMap, HashSet};

use fusion_domain::sync::{
    AttentionItem, AttentionKey, AttentionState, Plan, SyncAction, TicketId, TicketLink,
    TicketPlan, what_to_do,
};
use fusion_domain::{RelationshipId, Role};
use time::OffsetDateTime;

use crate::apply::{Failure, what_failed};
use crate::ports::{StoreError, SyncStore};

/// The reason a held-back action gives on the run's record.
pub(crate) const HELD_BACK: &str = "not retried until the ticket, the configuration or the \
     credentials change, or a person asks";

/// One ticket as applied, for [`AttentionBook::after_ticket`].
#[derive(Debug)]
pub(crate) struct AppliedTicket<'a> {
    pub plan: &'a TicketPlan,
    /// The pair's link as it stands after the ticket (a copy created in this run has its number).
    pub link: Option<&'a TicketLink>,
    /// The keys whose actions were held back.
    pub held: &'a [AttentionKey],
    pub failures: &'a [Failure],
    /// The original ticket's last activity as read in this run.
    pub activity: Option<OffsetDateTime>,
    /// The run stopped in this ticket (nothing is resolved then).
    pub stopped: bool,
}

/// Attention items of one relationship during one run.
#[derive(Debug)]
pub(crate) struct AttentionBook {
    relationship: RelationshipId,
    items: HashMap<AttentionKey, AttentionItem>,
    /// Keys that needed attention when the run started: their failures are not news.
    known: HashSet<AttentionKey>,
}

impl AttentionBook {
    pub(crate) fn new(relationship: RelationshipId, items: Vec<AttentionItem>) -> Self {
        let known = items
            .iter()
            .filter(|item| item.needs_attention() || item.state == AttentionState::Skipped)
            .map(|item| item.key.clone())
            .collect();
        Self {
            relationship,
            items: items
                .into_iter()
                .map(|item| (item.key.clone(), item))
                .collect(),
            known,
        }
    }

    /// Original tickets with an item a person or a change asked to retry: read even when quiet.
    pub(crate) fn retry_requested(&self) -> Vec<(Role, TicketId)> {
        let set: BTreeSet<(Role, TicketId)> = self
            .items
            .values()
            .filter(|item| item.state == AttentionState::Open && item.retry_requested)
            .map(|item| (item.key.origin, item.key.origin_ticket.clone()))
            .collect();
        set.into_iter().collect()
    }

    /// Whether every open or skipped item of the original ticket holds back without a change of
    /// the ticket (so re-reading it for a retry would be wasted).
    pub(crate) fn waits_for_change(&self, origin: Role, ticket: &TicketId) -> bool {
        let mut any = false;
        for item in self.items.values() {
            if item.key.origin == origin && &item.key.origin_ticket == ticket {
                match item.state {
                    AttentionState::Resolved => {}
                    _ if item.holds_back(None) => any = true,
                    _ => return false,
                }
            }
        }
        any
    }

    /// Replaces every action an item holds back with a `Skip` saying why (a held-back create holds
    /// back the whole ticket). Returns, per ticket plan index, the keys held back.
    pub(crate) fn hold_back(
        &self,
        plan: &mut Plan,
        activity: &HashMap<(Role, TicketId), OffsetDateTime>,
    ) -> HashMap<usize, Vec<AttentionKey>> {
        let mut held: HashMap<usize, Vec<AttentionKey>> = HashMap::new();
        if self.items.is_empty() {
            return held;
        }
        for (index, ticket) in plan.tickets.iter_mut().enumerate() {
            let Some(original) = ticket.ticket(ticket.origin).map(|t| t.id.clone()) else {
                continue;
            };
            let now_activity = activity.get(&(ticket.origin, original)).copied();
            let mut keys = Vec::new();
            let mut whole_ticket: Option<String> = None;
            let relationship = self.relationship;
            let origin_plan = ticket.clone();
            for action in &mut ticket.actions {
                let Some(key) = AttentionKey::of(relationship, &origin_plan, action) else {
                    continue;
                };
                let Some(item) = self.items.get(&key) else {
                    continue;
                };
                if !item.holds_back(now_activity) {
                    continue;
                }
                let reason = format!(
                    "{} {}: {} ({})",
                    what_failed(action),
                    match item.state {
                        AttentionState::Skipped => "skipped by a person",
                        _ => "needs attention",
                    },
                    item.why,
                    HELD_BACK
                );
                if matches!(action, SyncAction::CreateTicket { .. }) {
                    whole_ticket = Some(reason.clone());
                }
                *action = SyncAction::Skip { reason };
                keys.push(key);
            }
            if let Some(reason) = whole_ticket {
                ticket.actions = vec![SyncAction::Skip { reason }];
            }
            if !keys.is_empty() {
                held.insert(index, keys);
            }
        }
        held
    }

    /// Brings the items of one applied ticket up to date and saves what changed. Returns whether
    /// any failure (warnings aside) was new — the run is then Partial.
    pub(crate) async fn after_ticket(
        &mut self,
        store: &dyn SyncStore,
        applied: AppliedTicket<'_>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let AppliedTicket {
            plan,
            link,
            held,
            failures,
            activity,
            stopped,
        } = applied;
        let Some(original) = plan.ticket(plan.origin) else {
            return Ok(false);
        };
        let mut news = false;
        let mut failed_keys = HashSet::new();
        for failure in failures {
            let key = AttentionKey {
                relationship: self.relationship,
                origin: plan.origin,
                origin_ticket: original.id.clone(),
                subject: failure.subject.clone(),
            };
            if !failure.warning && !self.known.contains(&key) {
                news = true;
            }
            failed_keys.insert(key.clone());
            let reference = |side: Role| {
                plan.ticket(side)
                    .map(|t| (t.id.clone(), t.number.clone()))
                    .or_else(|| link.map(|l| (l.ticket(side).clone(), l.number(side).to_owned())))
            };
            let (source, target) = (reference(Role::Source), reference(Role::Target));
            let item = match self.items.get(&key) {
                Some(existing) if existing.state == AttentionState::Open => AttentionItem {
                    last_seen: now,
                    times: existing.times.saturating_add(1),
                    why: failure.why.clone(),
                    what: failure.what.clone(),
                    what_to_do: what_to_do(&failure.subject, failure.class, &failure.why),
                    class: failure.class,
                    ticket_activity: activity,
                    retry_requested: false,
                    source_ticket: source.as_ref().map(|(id, _)| id.clone()),
                    source_number: source.as_ref().map(|(_, number)| number.clone()),
                    target_ticket: target.as_ref().map(|(id, _)| id.clone()),
                    target_number: target.as_ref().map(|(_, number)| number.clone()),
                    ..existing.clone()
                },
                _ => AttentionItem {
                    key: key.clone(),
                    source_ticket: source.as_ref().map(|(id, _)| id.clone()),
                    source_number: source.as_ref().map(|(_, number)| number.clone()),
                    target_ticket: target.as_ref().map(|(id, _)| id.clone()),
                    target_number: target.as_ref().map(|(_, number)| number.clone()),
                    title: original.title.clone(),
                    what: failure.what.clone(),
                    why: failure.why.clone(),
                    what_to_do: what_to_do(&failure.subject, failure.class, &failure.why),
                    class: failure.class,
                    state: AttentionState::Open,
                    first_seen: now,
                    last_seen: now,
                    times: 1,
                    ticket_activity: activity,
                    retry_requested: false,
                    skipped_by: None,
                    resolved_at: None,
                },
            };
            store.save_attention_item(&item).await?;
            self.items.insert(key, item);
        }
        if stopped {
            return Ok(news);
        }
        // What did not fail again (and was not held back) is resolved.
        let resolved: Vec<AttentionKey> = self
            .items
            .values()
            .filter(|item| {
                item.state == AttentionState::Open
                    && item.key.origin == plan.origin
                    && item.key.origin_ticket == original.id
                    && !failed_keys.contains(&item.key)
                    && !held.contains(&item.key)
            })
            .map(|item| item.key.clone())
            .collect();
        for key in resolved {
            if let Some(item) = self.items.get_mut(&key) {
                item.state = AttentionState::Resolved;
                item.resolved_at = Some(now);
                item.retry_requested = false;
                store.save_attention_item(item).await?;
            }
        }
        Ok(news)
    }

    /// Original tickets with at least one item needing attention now.
    pub(crate) fn tickets_needing_attention(&self) -> u32 {
        let tickets: HashSet<(Role, &TicketId)> = self
            .items
            .values()
            .filter(|item| item.needs_attention())
            .map(|item| (item.key.origin, &item.key.origin_ticket))
            .collect();
        u32::try_from(tickets.len()).unwrap_or(u32::MAX)
    }
}
