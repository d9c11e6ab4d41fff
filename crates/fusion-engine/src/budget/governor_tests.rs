#![allow(clippy::unwrap_used)] // test doubles and assertions
use std::sync::Mutex;

use async_trait::async_trait;
use fusion_domain::ManualClock;
use time::macros::datetime;

use super::*;
use crate::budget::serving;
use crate::ports::{DeferredRun, StoreResult};

/// The ledger as a list, shared by several governors (several processes).
#[derive(Default)]
struct Ledger {
    rows: Mutex<Vec<ApiUsage>>,
    shares: Mutex<HashMap<String, u8>>,
}

#[async_trait]
impl BudgetLedger for Ledger {
    async fn add_api_usage(&self, usage: &[ApiUsage]) -> StoreResult<()> {
        self.rows.lock().unwrap().extend(usage.iter().cloned());
        Ok(())
    }
    async fn api_usage_since(&self, since: OffsetDateTime) -> StoreResult<Vec<ApiUsage>> {
        let rows = self.rows.lock().unwrap();
        Ok(rows.iter().filter(|r| r.minute >= since).cloned().collect())
    }
    async fn api_usage_of(
        &self,
        database: &str,
        since: OffsetDateTime,
    ) -> StoreResult<Vec<ApiUsage>> {
        let rows = self.rows.lock().unwrap();
        Ok(rows
            .iter()
            .filter(|r| r.minute >= since && r.database == database)
            .cloned()
            .collect())
    }
    async fn prune_api_usage(&self, before: OffsetDateTime) -> StoreResult<u64> {
        let mut rows = self.rows.lock().unwrap();
        let len = rows.len();
        rows.retain(|r| r.minute >= before);
        Ok((len - rows.len()) as u64)
    }
    async fn api_shares(&self) -> StoreResult<Vec<(String, u8)>> {
        Ok(self.shares.lock().unwrap().clone().into_iter().collect())
    }
    async fn set_api_share(&self, database: &str, percent: Option<u8>) -> StoreResult<()> {
        let mut shares = self.shares.lock().unwrap();
        match percent {
            Some(p) => shares.insert(database.to_owned(), p),
            None => shares.remove(database),
        };
        Ok(())
    }
    async fn save_deferred_run(&self, _: &DeferredRun) -> StoreResult<()> {
        Ok(())
    }
    async fn deferred_runs(&self) -> StoreResult<Vec<DeferredRun>> {
        Ok(Vec::new())
    }
    async fn clear_deferred_run(&self, _: RelationshipId) -> StoreResult<()> {
        Ok(())
    }
}

const DB: &str = "ci:1";

fn governor(ledger: &Arc<Ledger>, clock: &Arc<ManualClock>) -> BudgetGovernor {
    BudgetGovernor::new(
        ledger.clone(),
        clock.clone(),
        BudgetSettings {
            // A share of 1,000 requests an hour (10 % of 10,000) keeps the numbers readable.
            platform_hourly_limit: 10_000,
            default_percent: 10,
            start_margin: 0,
        },
    )
}

fn setup() -> (Arc<Ledger>, Arc<ManualClock>) {
    (
        Arc::new(Ledger::default()),
        Arc::new(ManualClock::new(datetime!(2026-12-05 12:00:00 UTC))),
    )
}

async fn spend(governor: &BudgetGovernor, purpose: Purpose, n: u32) -> Result<(), BudgetWait> {
    serving(purpose, async {
        for _ in 0..n {
            governor.try_spend(DB)?;
        }
        Ok(())
    })
    .await
}

#[tokio::test]
async fn an_initial_sync_stops_at_its_fair_part_and_leaves_the_rest_to_other_connections() {
    let (ledger, clock) = setup();
    let governor = governor(&ledger, &clock);
    let (big, small, late) = (
        RelationshipId::new(),
        RelationshipId::new(),
        RelationshipId::new(),
    );
    // A partner's scheduled sweeps use a little.
    spend(&governor, Purpose::of(small, Priority::Sweep), 50)
        .await
        .unwrap();
    // Another partner's initial sync goes freely until half the share is used…
    clock.advance(Duration::minutes(1));
    let refused = spend(&governor, Purpose::of(big, Priority::Bulk), 1_000)
        .await
        .unwrap_err();
    assert_eq!(governor.used(DB), 500);
    // …and then waits: it used more than its fair part of the 75 % initial syncs may use
    // (750 ÷ 2 connections).
    assert_eq!(refused.fair_share, Some((450, 375)));
    assert_eq!(refused.priority, Priority::Bulk);
    // The sweeps' 50 of 12:00 leave the hour at 13:00, and the use falls below half again.
    assert_eq!(refused.resume_at, datetime!(2026-12-05 13:00:00 UTC));
    assert!(refused.to_string().contains("fair part (375)"), "{refused}");
    // A third partner's initial sync still gets its fair part (750 ÷ 3)…
    let late_refused = spend(&governor, Purpose::of(late, Priority::Bulk), 1_000)
        .await
        .unwrap_err();
    assert_eq!(governor.used(DB), 750);
    assert_eq!(late_refused.used, 750);
    // …and the sweeps and a person's work are not held back by either.
    spend(&governor, Purpose::of(small, Priority::Sweep), 150)
        .await
        .unwrap();
    spend(&governor, Purpose::default(), 100).await.unwrap();
    assert_eq!(governor.used(DB), 1_000);
}

#[tokio::test]
async fn each_priority_has_its_ceiling_and_the_wait_ends_as_the_hour_rolls_on() {
    let (ledger, clock) = setup();
    let governor = governor(&ledger, &clock);
    let sweep = Purpose::of(RelationshipId::new(), Priority::Sweep);
    spend(&governor, sweep, 300).await.unwrap();
    clock.advance(Duration::minutes(10));
    let refused = spend(&governor, sweep, 1_000).await.unwrap_err();
    // Sweeps stop at 90 % of 1,000; a person's work may use the rest, not more.
    assert_eq!(refused.used, 900);
    assert_eq!(refused.allowance, 1_000);
    assert!(refused.fair_share.is_none());
    spend(&governor, Purpose::default(), 100).await.unwrap();
    let full = spend(&governor, Purpose::default(), 1).await.unwrap_err();
    assert_eq!(full.used, 1_000);
    // The 300 of 12:00 leave the window at 13:00: the sweep may go on then.
    assert_eq!(refused.resume_at, datetime!(2026-12-05 13:00:00 UTC));
    clock.advance(Duration::minutes(50));
    spend(&governor, sweep, 150).await.unwrap();
    assert_eq!(governor.used(DB), 850);
}

#[tokio::test]
async fn processes_share_one_count_through_the_ledger_and_a_set_share_applies_to_all() {
    let (ledger, clock) = setup();
    let (first, second) = (governor(&ledger, &clock), governor(&ledger, &clock));
    let sweep = Purpose::of(RelationshipId::new(), Priority::Sweep);
    spend(&first, sweep, 600).await.unwrap();
    first.sync().await.unwrap();
    second.sync().await.unwrap();
    assert_eq!(second.used(DB), 600);
    let refused = spend(&second, sweep, 400).await.unwrap_err();
    assert_eq!(refused.used, 900);
    // An organisation raises its share to 20 %: every process follows on its next sync.
    second.set_share(DB, Some(20)).await.unwrap();
    first.sync().await.unwrap();
    assert_eq!(first.allowance(DB), 2_000);
    let usage = first.usage(DB).await.unwrap();
    assert_eq!((usage.percent, usage.share_set), (20, true));
    assert_eq!(usage.last_hour, 600);
    assert_eq!(usage.connections.len(), 1);
    assert_eq!(usage.connections[0].last_day, 600);
    second.sync().await.unwrap();
    assert_eq!(first.usage(DB).await.unwrap().last_hour, 900);
}

#[tokio::test]
async fn admission_keeps_a_margin_so_runs_stop_between_tickets() {
    let (ledger, clock) = setup();
    let governor = BudgetGovernor::new(
        ledger.clone(),
        clock.clone(),
        BudgetSettings {
            platform_hourly_limit: 10_000,
            default_percent: 10,
            start_margin: 40,
        },
    );
    let sweep = Purpose::of(RelationshipId::new(), Priority::Sweep);
    spend(&governor, sweep, 859).await.unwrap();
    assert!(governor.admit(&[DB.to_owned()], sweep).is_ok());
    spend(&governor, sweep, 1).await.unwrap();
    let waiting = governor.admit(&[DB.to_owned()], sweep).unwrap_err();
    assert_eq!(waiting.used, 860);
    // The gate itself still lets the ticket in hand finish.
    spend(&governor, sweep, 40).await.unwrap();
    assert!(governor.admit(&[DB.to_owned()], Purpose::default()).is_ok());
}
