//! An in-memory `SyncStore` with the contract's semantics (what the SQLite and PostgreSQL
//! implementations must also do): links keyed by source ticket with a unique target, cursors per
//! side, runs and records in order, pending creates, retries derived from the latest record per
//! ticket pair, and leases that are free once expired.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use fusion_domain::sync::{
    AttentionItem, AttentionKey, PendingRetry, RecordOutcome, RunCounts, RunStatus, RunTrigger,
    SyncCursor, SyncRecord, SyncRun, SyncRunId, SyncSchedule, TicketId, TicketLink,
};
use fusion_domain::{RelationshipId, Role};
use fusion_engine::ports::{
    AttentionFilter, Lease, LeaseKey, LinkQuery, PendingCreate, RunFilter, RunFinish, StoreError,
    StoreResult, SyncStore,
};
use time::{Duration, OffsetDateTime};

#[derive(Debug, Default)]
struct State {
    links: Vec<TicketLink>,
    pending: Vec<PendingCreate>,
    cursors: BTreeMap<(RelationshipId, &'static str), SyncCursor>,
    runs: Vec<SyncRun>,
    records: Vec<SyncRecord>,
    leases: Vec<Lease>,
    schedules: BTreeMap<RelationshipId, SyncSchedule>,
    attention: BTreeMap<AttentionKey, AttentionItem>,
    next_token: u64,
}

#[derive(Debug, Default)]
pub struct FakeStore {
    state: Mutex<State>,
}

impl FakeStore {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn links(&self) -> Vec<TicketLink> {
        self.lock().links.clone()
    }

    pub fn runs(&self) -> Vec<SyncRun> {
        self.lock().runs.clone()
    }

    pub fn attention(&self) -> Vec<AttentionItem> {
        self.lock().attention.values().cloned().collect()
    }

    pub fn records(&self) -> Vec<SyncRecord> {
        self.lock().records.clone()
    }

    pub fn pending(&self) -> Vec<PendingCreate> {
        self.lock().pending.clone()
    }

    /// Another process takes the lease for `key` (as if the holder's had expired).
    pub fn taken_by_another_process(&self, key: &LeaseKey, expires_at: OffsetDateTime) {
        let mut state = self.lock();
        state.leases.retain(|lease| &lease.key != key);
        state.next_token += 1;
        let token = state.next_token.to_string();
        state.leases.push(Lease {
            key: key.clone(),
            holder: "another-process".into(),
            token,
            expires_at,
        });
    }
}

fn pair_key(record: &SyncRecord) -> (Option<TicketId>, Option<TicketId>) {
    match &record.source_ticket {
        Some(source) => (Some(source.clone()), None),
        None => (None, record.target_ticket.clone()),
    }
}

#[async_trait]
impl SyncStore for FakeStore {
    async fn linked_ticket_count(&self, relationship: RelationshipId) -> StoreResult<u64> {
        let links = &self.lock().links;
        let count = links
            .iter()
            .filter(|link| link.relationship == relationship)
            .count();
        Ok(u64::try_from(count).unwrap_or(u64::MAX))
    }

    async fn link_by_ticket(
        &self,
        relationship: RelationshipId,
        side: Role,
        ticket: &TicketId,
    ) -> StoreResult<Option<TicketLink>> {
        Ok(self
            .lock()
            .links
            .iter()
            .find(|link| link.relationship == relationship && link.ticket(side) == ticket)
            .cloned())
    }

    async fn links_by_tickets(
        &self,
        relationship: RelationshipId,
        side: Role,
        tickets: &[TicketId],
    ) -> StoreResult<Vec<TicketLink>> {
        Ok(self
            .lock()
            .links
            .iter()
            .filter(|link| link.relationship == relationship && tickets.contains(link.ticket(side)))
            .cloned()
            .collect())
    }

    async fn upsert_link(&self, link: &TicketLink) -> StoreResult<()> {
        let mut state = self.lock();
        if state.links.iter().any(|other| {
            other.relationship == link.relationship
                && other.target == link.target
                && other.source != link.source
        }) {
            return Err(StoreError::Conflict("target ticket already linked".into()));
        }
        match state
            .links
            .iter_mut()
            .find(|other| other.relationship == link.relationship && other.source == link.source)
        {
            Some(existing) => *existing = link.clone(),
            None => state.links.push(link.clone()),
        }
        Ok(())
    }

    async fn record_pending_create(&self, pending: &PendingCreate) -> StoreResult<()> {
        let mut state = self.lock();
        state.pending.retain(|other| {
            !(other.relationship == pending.relationship
                && other.origin == pending.origin
                && other.origin_ticket == pending.origin_ticket)
        });
        state.pending.push(pending.clone());
        Ok(())
    }

    async fn pending_creates(
        &self,
        relationship: RelationshipId,
    ) -> StoreResult<Vec<PendingCreate>> {
        Ok(self
            .lock()
            .pending
            .iter()
            .filter(|pending| pending.relationship == relationship)
            .cloned()
            .collect())
    }

    async fn clear_pending_create(
        &self,
        relationship: RelationshipId,
        origin: Role,
        origin_ticket: &TicketId,
    ) -> StoreResult<()> {
        self.lock().pending.retain(|pending| {
            !(pending.relationship == relationship
                && pending.origin == origin
                && &pending.origin_ticket == origin_ticket)
        });
        Ok(())
    }

    async fn cursor(
        &self,
        relationship: RelationshipId,
        side: Role,
    ) -> StoreResult<Option<SyncCursor>> {
        Ok(self
            .lock()
            .cursors
            .get(&(relationship, side.as_str()))
            .cloned())
    }

    async fn save_cursor(&self, cursor: &SyncCursor) -> StoreResult<()> {
        self.lock()
            .cursors
            .insert((cursor.relationship, cursor.side.as_str()), cursor.clone());
        Ok(())
    }

    async fn start_run(
        &self,
        relationship: RelationshipId,
        trigger: RunTrigger,
        since: Option<OffsetDateTime>,
        now: OffsetDateTime,
        started_by: Option<&str>,
    ) -> StoreResult<SyncRun> {
        let run = SyncRun {
            id: SyncRunId::new(),
            relationship,
            trigger,
            since,
            status: RunStatus::Running,
            counts: RunCounts::default(),
            started_at: now,
            finished_at: None,
            calls_used: 0,
            error: None,
            started_by: started_by.map(str::to_owned),
        };
        self.lock().runs.push(run.clone());
        Ok(run)
    }

    async fn finish_run(&self, run: SyncRunId, finish: &RunFinish) -> StoreResult<()> {
        let mut state = self.lock();
        let stored = state
            .runs
            .iter_mut()
            .find(|stored| stored.id == run)
            .ok_or(StoreError::NotFound)?;
        stored.status = finish.status;
        stored.counts = finish.counts;
        stored.finished_at = Some(finish.finished_at);
        stored.calls_used = finish.calls_used;
        stored.error = finish.error.clone();
        Ok(())
    }

    async fn add_record(&self, record: &SyncRecord) -> StoreResult<()> {
        let mut state = self.lock();
        if !state.runs.iter().any(|run| run.id == record.run) {
            return Err(StoreError::NotFound);
        }
        state.records.push(record.clone());
        Ok(())
    }

    async fn pending_retries(
        &self,
        relationship: RelationshipId,
    ) -> StoreResult<Vec<PendingRetry>> {
        let state = self.lock();
        let mut by_pair: BTreeMap<(Option<TicketId>, Option<TicketId>), Vec<&SyncRecord>> =
            BTreeMap::new();
        for record in state
            .records
            .iter()
            .filter(|record| record.relationship == relationship)
        {
            if let (Some(_), Some(target)) = (&record.source_ticket, &record.target_ticket)
                && let Some(earlier) = by_pair.remove(&(None, Some(target.clone())))
            {
                // A record naming both tickets continues a failure recorded under the target alone.
                by_pair.entry(pair_key(record)).or_default().extend(earlier);
            }
            by_pair.entry(pair_key(record)).or_default().push(record);
        }
        let mut retries: Vec<PendingRetry> = by_pair
            .into_values()
            .filter_map(|records| {
                let latest = records.last()?;
                if latest.outcome != RecordOutcome::Failed {
                    return None;
                }
                let attempts = records
                    .iter()
                    .rev()
                    .take_while(|record| record.outcome == RecordOutcome::Failed)
                    .count() as u32;
                Some(PendingRetry {
                    relationship,
                    source_ticket: latest.source_ticket.clone(),
                    target_ticket: latest.target_ticket.clone(),
                    attempts,
                    last_error: latest.error.clone(),
                    last_failed_at: latest.recorded_at,
                })
            })
            .collect();
        retries.sort_by_key(|retry| retry.last_failed_at);
        Ok(retries)
    }

    async fn sync_runs(&self, filter: &RunFilter) -> StoreResult<Vec<SyncRun>> {
        let state = self.lock();
        let mut runs: Vec<SyncRun> = state
            .runs
            .iter()
            .filter(|run| filter.relationship.is_none_or(|id| run.relationship == id))
            .filter(|run| filter.status.is_none_or(|status| run.status == status))
            .filter(|run| {
                filter
                    .started_from
                    .is_none_or(|from| run.started_at >= from)
            })
            .filter(|run| {
                filter
                    .started_before
                    .is_none_or(|before| run.started_at < before)
            })
            .cloned()
            .collect();
        runs.reverse();
        runs.truncate(filter.limit as usize);
        Ok(runs)
    }

    async fn last_sweep_started(
        &self,
        relationship: RelationshipId,
    ) -> StoreResult<Option<OffsetDateTime>> {
        Ok(self
            .lock()
            .runs
            .iter()
            .filter(|run| run.relationship == relationship)
            .filter(|run| matches!(run.trigger, RunTrigger::Manual | RunTrigger::Automatic))
            .map(|run| run.started_at)
            .max())
    }

    async fn sync_run(&self, run: SyncRunId) -> StoreResult<Option<SyncRun>> {
        Ok(self
            .lock()
            .runs
            .iter()
            .find(|stored| stored.id == run)
            .cloned())
    }

    async fn sync_records(&self, run: SyncRunId) -> StoreResult<Vec<SyncRecord>> {
        Ok(self
            .lock()
            .records
            .iter()
            .filter(|record| record.run == run)
            .cloned()
            .collect())
    }

    async fn delete_runs_before(&self, cutoff: OffsetDateTime) -> StoreResult<u64> {
        let mut state = self.lock();
        let gone: Vec<SyncRunId> = state
            .runs
            .iter()
            .filter(|run| run.finished_at.is_some_and(|finished| finished < cutoff))
            .map(|run| run.id)
            .collect();
        state.runs.retain(|run| !gone.contains(&run.id));
        state.records.retain(|record| !gone.contains(&record.run));
        Ok(gone.len() as u64)
    }

    async fn claim_lease(
        &self,
        key: &LeaseKey,
        holder: &str,
        now: OffsetDateTime,
        ttl: Duration,
    ) -> StoreResult<Option<Lease>> {
        let mut state = self.lock();
        if state
            .leases
            .iter()
            .any(|lease| &lease.key == key && lease.expires_at > now)
        {
            return Ok(None);
        }
        state.leases.retain(|lease| &lease.key != key);
        state.next_token += 1;
        let lease = Lease {
            key: key.clone(),
            holder: holder.to_owned(),
            token: state.next_token.to_string(),
            expires_at: now + ttl,
        };
        state.leases.push(lease.clone());
        Ok(Some(lease))
    }

    async fn renew_lease(
        &self,
        lease: &Lease,
        now: OffsetDateTime,
        ttl: Duration,
    ) -> StoreResult<Option<Lease>> {
        let mut state = self.lock();
        match state
            .leases
            .iter_mut()
            .find(|held| held.key == lease.key && held.token == lease.token)
        {
            Some(held) => {
                held.expires_at = now + ttl;
                Ok(Some(held.clone()))
            }
            None => Ok(None),
        }
    }

    async fn release_lease(&self, lease: &Lease) -> StoreResult<()> {
        self.lock()
            .leases
            .retain(|held| !(held.key == lease.key && held.token == lease.token));
        Ok(())
    }

    async fn sync_schedule(&self, relationship: RelationshipId) -> StoreResult<SyncSchedule> {
        Ok(self
            .lock()
            .schedules
            .get(&relationship)
            .copied()
            .unwrap_or_default())
    }

    async fn set_sync_schedule(
        &self,
        relationship: RelationshipId,
        schedule: &SyncSchedule,
        _now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.lock().schedules.insert(relationship, *schedule);
        Ok(())
    }

    async fn automatic_schedules(&self) -> StoreResult<Vec<(RelationshipId, SyncSchedule)>> {
        Ok(self
            .lock()
            .schedules
            .iter()
            .filter(|(_, schedule)| schedule.automatic)
            .map(|(relationship, schedule)| (*relationship, *schedule))
            .collect())
    }

    async fn attention_items(
        &self,
        relationship: RelationshipId,
        filter: &AttentionFilter,
    ) -> StoreResult<Vec<AttentionItem>> {
        Ok(self
            .lock()
            .attention
            .values()
            .filter(|item| item.key.relationship == relationship)
            .filter(|item| filter.states.is_empty() || filter.states.contains(&item.state))
            .filter(|item| {
                filter.origin_ticket.as_ref().is_none_or(|(side, ticket)| {
                    item.key.origin == *side && &item.key.origin_ticket == ticket
                })
            })
            .cloned()
            .collect())
    }

    async fn save_attention_item(&self, item: &AttentionItem) -> StoreResult<()> {
        self.lock().attention.insert(item.key.clone(), item.clone());
        Ok(())
    }

    async fn request_attention_retry(
        &self,
        relationship: RelationshipId,
        ticket: Option<(Role, TicketId)>,
    ) -> StoreResult<u64> {
        let mut count = 0;
        for item in self.lock().attention.values_mut() {
            let matches = item.key.relationship == relationship
                && item.state == fusion_domain::sync::AttentionState::Open
                && ticket.as_ref().is_none_or(|(side, id)| {
                    item.key.origin == *side && &item.key.origin_ticket == id
                });
            if matches {
                item.retry_requested = true;
                count += 1;
            }
        }
        Ok(count)
    }

    async fn links(
        &self,
        relationship: RelationshipId,
        query: &LinkQuery,
    ) -> StoreResult<Vec<TicketLink>> {
        let words: Vec<String> = query
            .search
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
        Ok(self
            .lock()
            .links
            .iter()
            .filter(|link| link.relationship == relationship)
            .filter(|link| {
                words.iter().all(|word| {
                    link.title.to_lowercase().contains(word)
                        || link.source_number.to_lowercase().contains(word)
                        || link.target_number.to_lowercase().contains(word)
                })
            })
            .take(query.limit as usize)
            .cloned()
            .collect())
    }
}
