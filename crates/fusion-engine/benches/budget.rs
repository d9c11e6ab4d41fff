//! Criterion benchmark of the API budget's request gate (`BudgetGovernor::try_spend`, called
//! before every Autotask request): a database used by one connection, and a hub database used by
//! 300 connections in every minute of the hour, for a sweep and for an initial sync past half its
//! share (the fair-part check). Run with `cargo bench -p fusion-engine --bench budget`.

use std::hint::black_box;
use std::sync::Arc;

use async_trait::async_trait;
use criterion::{Criterion, criterion_group, criterion_main};
use fusion_domain::{ManualClock, RelationshipId};
use fusion_engine::budget::{
    BudgetGovernor, BudgetSettings, Priority, Purpose, RequestGate, serving,
};
use fusion_engine::ports::{ApiUsage, BudgetLedger, DeferredRun, StoreResult};
use time::{Duration, OffsetDateTime};

/// The gate never touches the ledger; `sync` is not benchmarked.
struct NoLedger;

#[async_trait]
impl BudgetLedger for NoLedger {
    async fn add_api_usage(&self, _: &[ApiUsage]) -> StoreResult<()> {
        Ok(())
    }
    async fn api_usage_since(&self, _: OffsetDateTime) -> StoreResult<Vec<ApiUsage>> {
        Ok(Vec::new())
    }
    async fn api_usage_of(&self, _: &str, _: OffsetDateTime) -> StoreResult<Vec<ApiUsage>> {
        Ok(Vec::new())
    }
    async fn prune_api_usage(&self, _: OffsetDateTime) -> StoreResult<u64> {
        Ok(0)
    }
    async fn api_shares(&self) -> StoreResult<Vec<(String, u8)>> {
        Ok(Vec::new())
    }
    async fn set_api_share(&self, _: &str, _: Option<u8>) -> StoreResult<()> {
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

/// A governor whose database `connections` connections used in each of the last 59 minutes
/// (2 requests each a minute), past half of a share of 50,000.
fn governor(
    runtime: &tokio::runtime::Runtime,
    connections: usize,
) -> (BudgetGovernor, Vec<RelationshipId>) {
    let clock = Arc::new(ManualClock::new(
        OffsetDateTime::from_unix_timestamp(1_795_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH),
    ));
    let governor = BudgetGovernor::new(
        Arc::new(NoLedger),
        clock.clone(),
        BudgetSettings {
            platform_hourly_limit: 100_000,
            default_percent: 50,
            start_margin: 40,
        },
    );
    let ids: Vec<RelationshipId> = (0..connections).map(|_| RelationshipId::new()).collect();
    for _ in 0..59 {
        for id in &ids {
            runtime.block_on(serving(Purpose::of(*id, Priority::Sweep), async {
                governor.try_spend(DB).ok();
                governor.try_spend(DB).ok();
            }));
        }
        clock.advance(Duration::minutes(1));
    }
    (governor, ids)
}

fn gate(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|error| panic!("a runtime: {error}"));
    for (connections, priority, name) in [
        (1, Priority::Sweep, "try_spend/1 connection/sweep"),
        (300, Priority::Sweep, "try_spend/300 connections/sweep"),
        (
            300,
            Priority::Bulk,
            "try_spend/300 connections/initial sync past half",
        ),
    ] {
        let (governor, ids) = governor(&runtime, connections);
        let purpose = Purpose::of(ids[0], priority);
        c.bench_function(name, |b| {
            b.iter(|| {
                runtime.block_on(serving(purpose, async {
                    let spent = governor.try_spend(black_box(DB));
                    governor.refund(DB);
                    black_box(spent)
                }))
            });
        });
    }
}

criterion_group!(benches, gate);
criterion_main!(benches);
