//! The webhooks phase: edits on both sides spread over time, with every Autotask request held
//! 150 ms, carried by the simulator's real callouts to the product's own receiver (served on
//! loopback) and the runtime's dispatcher — measured from the edit to the moment the other
//! tenant shows it. Then a quiet hour, priced from measured parts: a quiet safety-net sweep and
//! a webhook check, against polling every 5 minutes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use fusion_autotask_sim::{EntityKind, FaultKind, FaultRule, Simulator};
use fusion_domain::sync::{SyncSchedule, TicketMarker};
use fusion_domain::{Clock, Role, SystemClock};
use fusion_engine::ports::AppStore;
use fusion_engine::webhooks::{HookState, WebhookSettings};
use fusion_engine::{SyncMode, SyncService};
use serde::Serialize;
use serde_json::json;
use tokio::net::TcpListener;

use super::bed::{Bed, bench_sim_options};
use super::world::{WorldShape, generated_world};
use crate::commands::demo::connection::{SOURCE_ORGANISATION, TARGET_ORGANISATION};
use crate::scheduler::{SchedulerSettings, SyncRuntime, sync_with_webhooks};

/// How long a change may take before it counts as missed.
const MISSED_AFTER: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Serialize)]
pub struct WebhookFigures {
    pub changes: usize,
    pub latency_ms: u64,
    /// From the edit to the other tenant showing it.
    pub p50_s: f64,
    pub p95_s: f64,
    pub max_s: f64,
    /// Autotask requests (both tenants, the webhook checks included) per change.
    pub calls_per_change: f64,
    pub missed: usize,
    pub quiet_hour: QuietHour,
}

/// Requests a quiet hour costs one connection's two tenants.
#[derive(Debug, Clone, Serialize)]
pub struct QuietHour {
    /// Two safety-net sweeps and two webhook checks of both tenants (each every 30 minutes).
    pub with_webhooks: u64,
    /// Twelve sweeps (every 5 minutes).
    pub polling: u64,
    /// Measured: one sweep that found nothing.
    pub sweep_requests: u64,
    /// Measured: one check of both tenants' webhooks (state and error log).
    pub check_requests: u64,
}

enum Change {
    /// A title edited in the Source tenant; visible when the Target copy carries it.
    Title { copy: i64, title: String },
    /// A note added in the Target tenant; visible when the Source original has it.
    Note { original: i64, text: String },
}

pub async fn webhooks(
    changes: usize,
    spread: Duration,
    latency: Duration,
) -> anyhow::Result<WebhookFigures> {
    let shape = WorldShape {
        tickets: changes.clamp(10, 60),
        notes_per_ticket: 1,
        attachment_every: 0,
    };
    let bed = Bed::start(generated_world(shape)?, bench_sim_options()).await?;
    let figures = measure(&bed, changes, spread, latency).await;
    bed.stop().await;
    figures
}

async fn measure(
    bed: &Bed,
    changes: usize,
    spread: Duration,
    latency: Duration,
) -> anyhow::Result<WebhookFigures> {
    // The initial sync links every ticket (a sweep: the baseline).
    let initial = bed
        .sync
        .run(
            bed.relationship,
            SyncMode::Manual {
                since: time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(365 * 30),
            },
        )
        .await
        .context("the initial sync of the webhooks phase did not run")?;
    if initial.counts.failed > 0 {
        anyhow::bail!(
            "the webhooks phase's initial sync failed tickets: {:?}",
            initial.error
        );
    }
    // Tickets and notes only (time entries have no webhook and keep the normal interval).
    for org in [bed.source_org, bed.target_org] {
        if let Some(mut config) = bed
            .store
            .integration_config(bed.relationship, org)
            .await
            .context("reading the configuration")?
        {
            config.time_entries.arrive_as = fusion_domain::TimeArrival::Off;
            bed.store
                .save_integration_config(bed.relationship, org, &config)
                .await
                .context("saving the configuration")?;
        }
    }
    bed.store
        .set_sync_schedule(
            bed.relationship,
            &SyncSchedule::new(true, time::Duration::minutes(5))
                .map_err(|error| anyhow::anyhow!("{error}"))?,
            SystemClock.now(),
        )
        .await
        .context("switching automatic sync on")?;

    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot listen for webhooks")?;
    let base = format!("http://{}", listener.local_addr()?);
    let autotask = bed.fresh_service()?;
    let (sync, webhooks) = sync_with_webhooks(
        bed.store.clone(),
        autotask.clone(),
        WebhookSettings::on(base),
        None,
    );
    let app_store: Arc<dyn AppStore> = bed.store.clone();
    let state = fusion_web::AppState::new(
        app_store,
        crate::commands::web_app::tenants(autotask),
        fusion_web::WebSettings::default(),
    )
    .with_webhooks(webhooks.clone());
    let server = tokio::spawn(async move {
        let _ = fusion_web::serve(
            listener,
            fusion_web::router(state),
            std::future::pending::<()>(),
        )
        .await;
    });
    let runtime = SyncRuntime::start(
        sync.clone(),
        bed.store.clone(),
        SchedulerSettings {
            tick: Duration::from_secs(5),
            ..SchedulerSettings::default()
        },
        Some(webhooks.clone()),
    );
    let outcome = async {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let registrations = bed.store.webhook_registrations().await?;
            if registrations.len() == 2
                && registrations.iter().all(|r| r.state == HookState::Active)
            {
                break;
            }
            if Instant::now() > deadline {
                anyhow::bail!("the webhooks did not become active: {registrations:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let millis = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        bed.simulator
            .inject_fault(FaultRule::new(FaultKind::Latency { millis }));
        bed.simulator.clear_request_log();
        let delays = edit_and_watch(bed, changes, spread).await?;
        let calls: u64 = bed.simulator.request_counts().values().sum();
        let quiet = quiet_hour(bed, &sync, &webhooks).await?;
        bed.simulator.clear_faults();
        anyhow::Ok((delays, calls, quiet, millis))
    }
    .await;
    runtime.shut_down().await;
    server.abort();
    let (delays, calls, quiet_hour, latency_ms) = outcome?;
    let missed = delays.iter().filter(|delay| delay.is_none()).count();
    let mut seen: Vec<f64> = delays.iter().flatten().map(Duration::as_secs_f64).collect();
    seen.sort_by(f64::total_cmp);
    let percentile = |p: usize| {
        if seen.is_empty() {
            return f64::NAN;
        }
        let rank = (seen.len() * p).div_ceil(100).max(1) - 1;
        seen[rank.min(seen.len() - 1)]
    };
    Ok(WebhookFigures {
        changes,
        latency_ms,
        p50_s: percentile(50),
        p95_s: percentile(95),
        max_s: seen.last().copied().unwrap_or(f64::NAN),
        calls_per_change: calls as f64 / changes.max(1) as f64,
        missed,
        quiet_hour,
    })
}

/// Makes `changes` edits, alternating sides, evenly over `spread`, and waits for each to show
/// on the other side: its delay, or `None` when it did not within [`MISSED_AFTER`].
async fn edit_and_watch(
    bed: &Bed,
    changes: usize,
    spread: Duration,
) -> anyhow::Result<Vec<Option<Duration>>> {
    let simulator = &bed.simulator;
    let originals: Vec<i64> = simulator
        .records(SOURCE_ORGANISATION, EntityKind::Tickets)
        .iter()
        .filter_map(|ticket| ticket["id"].as_i64())
        .collect();
    let copies = copies_by_original(simulator, bed);
    let pairs: Vec<(i64, i64)> = originals
        .iter()
        .filter_map(|original| copies.get(original).map(|copy| (*original, *copy)))
        .collect();
    if pairs.is_empty() {
        anyhow::bail!("the webhooks phase has no linked tickets to edit");
    }
    let source_person = person(simulator, SOURCE_ORGANISATION)?;
    let target_person = person(simulator, TARGET_ORGANISATION)?;
    let gap = spread / u32::try_from(changes.max(1)).unwrap_or(u32::MAX);
    let mut pending: Vec<(usize, Change, Instant)> = Vec::new();
    let mut delays: Vec<Option<Duration>> = vec![None; changes];
    let mut next_edit = Instant::now();
    let mut made = 0;
    loop {
        if made < changes && Instant::now() >= next_edit {
            let (original, copy) = pairs[made % pairs.len()];
            let change = if made % 2 == 0 {
                let title = format!("Webhook bench edit {made}");
                simulator
                    .ui_update_ticket(
                        SOURCE_ORGANISATION,
                        &source_person,
                        original,
                        json!({"title": title}),
                    )
                    .map_err(|error| anyhow::anyhow!("editing a ticket: {error:?}"))?;
                Change::Title { copy, title }
            } else {
                let text = format!("Webhook bench note {made}");
                simulator
                    .ui_add_note(
                        TARGET_ORGANISATION,
                        &target_person,
                        copy,
                        json!({"title": "Bench", "description": text, "noteType": 1, "publish": 1}),
                    )
                    .map_err(|error| anyhow::anyhow!("adding a note: {error:?}"))?;
                Change::Note { original, text }
            };
            pending.push((made, change, Instant::now()));
            made += 1;
            next_edit += gap;
        }
        pending.retain(|(index, change, at)| {
            if visible(simulator, change) {
                delays[*index] = Some(at.elapsed());
                false
            } else {
                at.elapsed() < MISSED_AFTER
            }
        });
        if made == changes && pending.is_empty() {
            return Ok(delays);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn visible(simulator: &Simulator, change: &Change) -> bool {
    match change {
        Change::Title { copy, title } => simulator
            .record(TARGET_ORGANISATION, EntityKind::Tickets, *copy)
            .is_some_and(|ticket| ticket["title"].as_str() == Some(title.as_str())),
        Change::Note { original, text } => simulator
            .records(SOURCE_ORGANISATION, EntityKind::TicketNotes)
            .iter()
            .any(|note| {
                note["ticketID"].as_i64() == Some(*original)
                    && note["description"]
                        .as_str()
                        .is_some_and(|description| description.contains(text.as_str()))
            }),
    }
}

/// Target copies by their Source original (the sync's `externalID` marker).
fn copies_by_original(simulator: &Simulator, bed: &Bed) -> BTreeMap<i64, i64> {
    simulator
        .records(TARGET_ORGANISATION, EntityKind::Tickets)
        .iter()
        .filter_map(|copy| {
            let marker = TicketMarker::parse(copy["externalID"].as_str()?)?;
            (marker.relationship == bed.relationship && marker.origin == Role::Source)
                .then(|| {
                    Some((
                        marker.origin_ticket.as_str().parse().ok()?,
                        copy["id"].as_i64()?,
                    ))
                })
                .flatten()
        })
        .collect()
}

/// A person (resource) who works in `tenant`.
fn person(simulator: &Simulator, tenant: &str) -> anyhow::Result<String> {
    simulator
        .records(tenant, EntityKind::Resources)
        .iter()
        .find(|resource| {
            resource["isActive"] != json!(false)
                && resource["email"]
                    .as_str()
                    .is_some_and(|email| !email.is_empty())
                && resource["userName"]
                    .as_str()
                    .is_none_or(|name| !name.contains("api"))
        })
        .and_then(|resource| resource["email"].as_str().map(str::to_owned))
        .with_context(|| format!("{tenant} has no person to make edits"))
}

/// Prices a quiet hour from a measured quiet sweep and a measured check of both tenants'
/// webhooks.
async fn quiet_hour(
    bed: &Bed,
    sync: &SyncService,
    webhooks: &fusion_engine::webhooks::WebhookService,
) -> anyhow::Result<QuietHour> {
    // Let the last targeted runs finish, then sweep once: that catches up on everything.
    tokio::time::sleep(Duration::from_secs(2)).await;
    sync.run(bed.relationship, SyncMode::Automatic)
        .await
        .context("the settling sweep did not run")?;
    bed.simulator.clear_request_log();
    let quiet = sync
        .run(bed.relationship, SyncMode::Automatic)
        .await
        .context("the quiet sweep did not run")?;
    let sweep_requests: u64 = bed.simulator.request_counts().values().sum();
    if quiet.counts.created + quiet.counts.updated > 0 {
        anyhow::bail!("the quiet sweep found work: {:?}", quiet.counts);
    }
    bed.simulator.clear_request_log();
    for org in [bed.source_org, bed.target_org] {
        webhooks
            .register_now(org)
            .await
            .context("checking the webhooks")?;
    }
    let check_requests: u64 = bed.simulator.request_counts().values().sum();
    Ok(QuietHour {
        with_webhooks: 2 * sweep_requests + 2 * check_requests,
        polling: 12 * sweep_requests,
        sweep_requests,
        check_requests,
    })
}
