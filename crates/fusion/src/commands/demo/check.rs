//! `fusion demo --check`: the self-test a user runs after installing. Runs the demo world
//! headless — the simulator, a throw-away SQLite store, the two demo organisations registered,
//! connected and configured exactly as `fusion demo` does — syncs, then edits, comments on,
//! attaches to and closes tickets as a person would, syncs again, and checks that both
//! simulated tenants agree. Prints one JSON line and exits 0 when they do, 1 otherwise.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use fusion_autotask::AutotaskService;
use fusion_autotask_sim::{EntityKind, SimOptions, Simulator, World};
use fusion_domain::sync::{RunStatus, TicketId, TicketMarker};
use fusion_domain::{RelationshipId, Role, SystemClock};
use fusion_engine::{EngineSettings, RunSummary, SyncEngine, SyncMode, SyncService};
use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::commands::serve::{autotask_settings, open_store};
use crate::database_location::DatabaseLocation;
use crate::exit_status::Completion;
use crate::sync_directory::StoreSyncDirectory;

use super::connection::{SOURCE_ORGANISATION, TARGET_ORGANISATION};

/// A person at the customer, working in the Source tenant's Autotask.
const SOURCE_PERSON: &str = "alex.morgan@contoso.example";
/// The provider's technician, working the copies in the Target tenant's Autotask.
const TARGET_TECHNICIAN: &str = "jane.doe@northwindit.example";
const EDITED_TITLE: &str = "Press line 3 controller offline (checked by fusion demo --check)";
const SOURCE_COMMENT: &str = "fusion demo --check: the customer's public comment";
const TARGET_COMMENT: &str = "fusion demo --check: the technician's public comment";
const ATTACHMENT_NAME: &str = "demo-check.log";
/// 2000-01-01T00:00:00Z: before every ticket of the demo world.
const INITIAL_SINCE_UNIX: i64 = 946_684_800;

#[derive(Serialize)]
struct CheckLine {
    ok: bool,
    runs: Vec<CheckRun>,
    mismatches: Vec<String>,
}

#[derive(Serialize)]
struct CheckRun {
    status: &'static str,
    created: u32,
    updated: u32,
    closed: u32,
    failed: u32,
}

impl CheckRun {
    fn from_summary(summary: &RunSummary) -> CheckRun {
        CheckRun {
            status: summary.status.label(),
            created: summary.counts.created,
            updated: summary.counts.updated,
            closed: summary.counts.closed,
            failed: summary.counts.failed,
        }
    }
}

pub async fn run() -> anyhow::Result<Completion> {
    let data_dir = super::fresh_temporary_directory()
        .context("cannot create a temporary directory for the check")?;
    let outcome = check_in(&data_dir).await;
    if let Err(error) = std::fs::remove_dir_all(&data_dir) {
        tracing::warn!("cannot remove {}: {error}", data_dir.display());
    }
    let line = outcome?;
    let ok = line.ok;
    super::print_to_stdout(&format!(
        "{}\n",
        serde_json::to_string(&line).context("cannot write the result line")?
    ));
    Ok(if ok {
        Completion::Succeeded
    } else {
        Completion::CheckFailed
    })
}

async fn check_in(data_dir: &std::path::Path) -> anyhow::Result<CheckLine> {
    let simulator = Simulator::new(World::demo(), SimOptions::default())
        .map_err(|error| anyhow::anyhow!("the demo world is invalid: {error}"))?;
    let running_simulator = simulator
        .spawn(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .context("cannot start the Autotask simulator")?;
    let outcome = check_against(&simulator, running_simulator.base_url(), data_dir).await;
    running_simulator.shutdown().await;
    outcome
}

async fn check_against(
    simulator: &Simulator,
    simulator_url: &str,
    data_dir: &std::path::Path,
) -> anyhow::Result<CheckLine> {
    let tenants = simulator.tenants();
    let integration_code = tenants
        .first()
        .map(|tenant| tenant.integration_code.clone())
        .context("the demo world has no tenants")?;
    let store = open_store(&DatabaseLocation::sqlite_in(data_dir), None).await?;
    let mut organisations = Vec::new();
    for tenant in &tenants {
        organisations.push(super::register(store.as_ref(), tenant).await?);
    }
    let autotask = autotask_settings(Some(integration_code), Some(simulator_url))?;
    let connection = super::connect(&store, &autotask, &organisations).await?;
    let relationship = connection.relationship.id;

    let service = AutotaskService::new(autotask).context("cannot set up the Autotask client")?;
    let clock = Arc::new(SystemClock);
    let engine = SyncEngine::new(store.clone(), clock.clone(), EngineSettings::default());
    let directory = Arc::new(StoreSyncDirectory::new(store.clone(), service));
    let sync = SyncService::new(engine, directory, store, clock);

    let tenants_view = Tenants {
        simulator,
        relationship,
    };
    // The send filter skips tickets already closed before they were ever synced.
    let closed_before_syncing = tenants_view.closed_sent_source_tickets();
    let since = OffsetDateTime::from_unix_timestamp(INITIAL_SINCE_UNIX)
        .context("the initial start date is valid")?;
    let first = sync
        .run(relationship, SyncMode::Manual { since })
        .await
        .context("the initial sync did not run")?;

    let mut mismatches = Vec::new();
    let edits = tenants_view.edit_as_people(&mut mismatches)?;

    let second = sync
        .run(relationship, SyncMode::Automatic)
        .await
        .context("the second sync did not run")?;

    for (label, summary) in [("initial", &first), ("second", &second)] {
        if summary.status != RunStatus::Success {
            mismatches.push(format!(
                "the {label} run ended \"{}\" (error: {}; failed tickets: {})",
                summary.status.label(),
                summary.error.as_deref().unwrap_or("none"),
                summary.counts.failed
            ));
        }
    }
    if first.counts.created == 0 {
        mismatches.push("the initial run created no tickets in the Target".to_owned());
    }
    if let Some(edits) = &edits {
        tenants_view.verify(edits, &closed_before_syncing, &mut mismatches);
    }

    Ok(CheckLine {
        ok: mismatches.is_empty(),
        runs: vec![
            CheckRun::from_summary(&first),
            CheckRun::from_summary(&second),
        ],
        mismatches,
    })
}

/// The tickets the check changed between the two runs.
struct Edits {
    /// Retitled, commented on both sides, attached to.
    edited_source: i64,
    edited_copy: i64,
    /// Closed in the Source.
    closed_source: i64,
    closed_copy: i64,
}

/// Reads and edits the two simulated tenants as a person in their Autotask would.
struct Tenants<'a> {
    simulator: &'a Simulator,
    relationship: RelationshipId,
}

impl Tenants<'_> {
    fn provider_company_in_source(&self) -> Option<i64> {
        self.simulator
            .records(SOURCE_ORGANISATION, EntityKind::Companies)
            .into_iter()
            .find(|company| company["companyName"] == TARGET_ORGANISATION)
            .and_then(|company| company["id"].as_i64())
    }

    /// Source tickets raised for the provider's company (the send filter's company; the demo
    /// connection sends every queue and category).
    fn sent_source_tickets(&self) -> Vec<Value> {
        let provider = self.provider_company_in_source();
        self.simulator
            .records(SOURCE_ORGANISATION, EntityKind::Tickets)
            .into_iter()
            .filter(|ticket| provider.is_some() && ticket["companyID"].as_i64() == provider)
            .collect()
    }

    fn copies_in_target(&self, source_ticket: i64) -> Vec<Value> {
        let marker = TicketMarker::for_copy_of(
            self.relationship,
            Role::Source,
            &TicketId::new(source_ticket.to_string()),
        );
        self.simulator
            .records(TARGET_ORGANISATION, EntityKind::Tickets)
            .into_iter()
            .filter(|ticket| ticket["externalID"].as_str() == Some(marker.as_str()))
            .collect()
    }

    fn the_copy(&self, source_ticket: i64) -> Option<i64> {
        match self.copies_in_target(source_ticket).as_slice() {
            [copy] => copy["id"].as_i64(),
            _ => None,
        }
    }

    fn notes_containing(&self, tenant: &str, ticket: i64, text: &str) -> usize {
        self.simulator
            .records(tenant, EntityKind::TicketNotes)
            .into_iter()
            .filter(|note| note["ticketID"].as_i64() == Some(ticket))
            .filter(|note| note["description"].as_str().unwrap_or("").contains(text))
            .count()
    }

    fn attachments_named(&self, tenant: &str, ticket: i64, name: &str) -> usize {
        self.simulator
            .records(tenant, EntityKind::TicketAttachments)
            .into_iter()
            .filter(|attachment| {
                attachment["parentID"].as_i64() == Some(ticket)
                    || attachment["ticketID"].as_i64() == Some(ticket)
            })
            .filter(|attachment| attachment["title"] == name)
            .count()
    }

    fn is_open(&self, tenant: &str, ticket: &Value) -> bool {
        ticket["status"].as_i64() != self.simulator.complete_status(tenant)
    }

    /// Picks two open tickets the initial run copied, then: retitles the first in the Source,
    /// adds a public comment to it on each side and an attachment in the Source, and closes the
    /// second in the Source. `None` (with a mismatch) when the initial run copied too little.
    fn edit_as_people(&self, mismatches: &mut Vec<String>) -> anyhow::Result<Option<Edits>> {
        let copied: Vec<(i64, i64)> = self
            .sent_source_tickets()
            .into_iter()
            .filter(|ticket| self.is_open(SOURCE_ORGANISATION, ticket))
            .filter_map(|ticket| {
                let id = ticket["id"].as_i64()?;
                Some((id, self.the_copy(id)?))
            })
            .collect();
        let (Some(&(edited_source, edited_copy)), Some(&(closed_source, closed_copy))) =
            (copied.first(), copied.get(1))
        else {
            mismatches.push(format!(
                "the initial run left {} open Source ticket(s) with exactly one copy; the check needs 2",
                copied.len()
            ));
            return Ok(None);
        };

        let simulator = self.simulator;
        simulator
            .ui_update_ticket(
                SOURCE_ORGANISATION,
                SOURCE_PERSON,
                edited_source,
                json!({ "title": EDITED_TITLE }),
            )
            .map_err(|error| anyhow::anyhow!("cannot retitle the Source ticket: {error}"))?;
        simulator
            .ui_add_note(
                SOURCE_ORGANISATION,
                SOURCE_PERSON,
                edited_source,
                json!({"title": "Update", "description": SOURCE_COMMENT, "noteType": 1, "publish": 1}),
            )
            .map_err(|error| anyhow::anyhow!("cannot comment in the Source: {error}"))?;
        simulator
            .ui_add_note(
                TARGET_ORGANISATION,
                TARGET_TECHNICIAN,
                edited_copy,
                json!({"title": "Onsite", "description": TARGET_COMMENT, "noteType": 1, "publish": 1}),
            )
            .map_err(|error| anyhow::anyhow!("cannot comment in the Target: {error}"))?;
        simulator
            .ui_add_attachment(
                SOURCE_ORGANISATION,
                SOURCE_PERSON,
                edited_source,
                ATTACHMENT_NAME,
                b"E42 at 03:12\nE17 at 03:15\n",
                1,
            )
            .map_err(|error| anyhow::anyhow!("cannot attach in the Source: {error}"))?;
        simulator
            .ui_close_ticket(SOURCE_ORGANISATION, SOURCE_PERSON, closed_source)
            .map_err(|error| anyhow::anyhow!("cannot close the Source ticket: {error}"))?;
        Ok(Some(Edits {
            edited_source,
            edited_copy,
            closed_source,
            closed_copy,
        }))
    }

    /// Source tickets for the provider that are closed already (before the initial run).
    fn closed_sent_source_tickets(&self) -> BTreeSet<i64> {
        self.sent_source_tickets()
            .into_iter()
            .filter(|ticket| !self.is_open(SOURCE_ORGANISATION, ticket))
            .filter_map(|ticket| ticket["id"].as_i64())
            .collect()
    }

    fn verify(
        &self,
        edits: &Edits,
        closed_before_syncing: &BTreeSet<i64>,
        mismatches: &mut Vec<String>,
    ) {
        for ticket in self.sent_source_tickets() {
            let Some(id) = ticket["id"].as_i64() else {
                continue;
            };
            if closed_before_syncing.contains(&id) {
                if !self.copies_in_target(id).is_empty() {
                    mismatches.push(format!(
                        "Source ticket {id} was closed before it was ever synced, yet the Target has a copy"
                    ));
                }
                continue;
            }
            let copies = self.copies_in_target(id);
            match copies.as_slice() {
                [copy] => {
                    if copy["title"] != ticket["title"] {
                        mismatches.push(format!(
                            "Source ticket {id} is titled {} but its copy {} is titled {}",
                            ticket["title"], copy["id"], copy["title"]
                        ));
                    }
                }
                _ => mismatches.push(format!(
                    "Source ticket {id} ({}) has {} copies in the Target, expected exactly one",
                    ticket["title"],
                    copies.len()
                )),
            }
        }

        let copy_title = self
            .simulator
            .record(TARGET_ORGANISATION, EntityKind::Tickets, edits.edited_copy)
            .map(|copy| copy["title"].clone());
        if copy_title != Some(Value::from(EDITED_TITLE)) {
            mismatches.push(format!(
                "the copy {} of the retitled ticket {} is titled {}, expected {EDITED_TITLE:?}",
                edits.edited_copy,
                edits.edited_source,
                copy_title.unwrap_or(Value::Null)
            ));
        }
        let expect_once = |count: usize, what: String, mismatches: &mut Vec<String>| {
            if count != 1 {
                mismatches.push(format!("{what}: found {count} times, expected once"));
            }
        };
        expect_once(
            self.notes_containing(TARGET_ORGANISATION, edits.edited_copy, SOURCE_COMMENT),
            format!(
                "the Source's public comment in the Target copy {}",
                edits.edited_copy
            ),
            mismatches,
        );
        expect_once(
            self.notes_containing(SOURCE_ORGANISATION, edits.edited_source, TARGET_COMMENT),
            format!(
                "the Target's public comment in the Source ticket {}",
                edits.edited_source
            ),
            mismatches,
        );
        expect_once(
            self.notes_containing(SOURCE_ORGANISATION, edits.edited_source, SOURCE_COMMENT),
            format!(
                "the Source's own comment in the Source ticket {}",
                edits.edited_source
            ),
            mismatches,
        );
        expect_once(
            self.attachments_named(TARGET_ORGANISATION, edits.edited_copy, ATTACHMENT_NAME),
            format!(
                "the attachment {ATTACHMENT_NAME} in the Target copy {}",
                edits.edited_copy
            ),
            mismatches,
        );
        expect_once(
            self.attachments_named(SOURCE_ORGANISATION, edits.edited_source, ATTACHMENT_NAME),
            format!(
                "the attachment {ATTACHMENT_NAME} in the Source ticket {}",
                edits.edited_source
            ),
            mismatches,
        );
        let closed_copy =
            self.simulator
                .record(TARGET_ORGANISATION, EntityKind::Tickets, edits.closed_copy);
        if closed_copy
            .as_ref()
            .is_none_or(|copy| self.is_open(TARGET_ORGANISATION, copy))
        {
            mismatches.push(format!(
                "Source ticket {} was closed but its copy {} is still open in the Target",
                edits.closed_source, edits.closed_copy
            ));
        }
    }
}
