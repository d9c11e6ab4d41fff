//! The correctness check of every benchmarked sync: read both simulated tenants directly (not
//! through the client under test) and require that they agree — each Source ticket has exactly
//! one copy in the Target with the same title, each side's comments are on the other side exactly
//! once, attachments carry across by name, and the Target holds nothing else.

use std::collections::{BTreeMap, BTreeSet};

use fusion_autotask_sim::{EntityKind, Simulator};
use fusion_domain::sync::{TicketId, TicketMarker};
use fusion_domain::{RelationshipId, Role};
use serde_json::Value;

use crate::commands::demo::connection::{SOURCE_ORGANISATION, TARGET_ORGANISATION};

/// At most this many mismatches are listed (the rest are counted).
const LISTED: usize = 8;

/// One side's tickets with their notes' texts and attachment names.
struct TenantView {
    /// id → (title, marker)
    tickets: BTreeMap<i64, (String, Option<String>)>,
    notes: BTreeMap<i64, Vec<String>>,
    attachments: BTreeMap<i64, BTreeSet<String>>,
}

fn text(record: &Value, field: &str) -> String {
    record[field].as_str().unwrap_or_default().to_owned()
}

impl TenantView {
    fn read(simulator: &Simulator, tenant: &str) -> TenantView {
        let tickets = simulator
            .records(tenant, EntityKind::Tickets)
            .iter()
            .filter_map(|ticket| {
                let marker = ticket["externalID"].as_str().map(str::to_owned);
                Some((ticket["id"].as_i64()?, (text(ticket, "title"), marker)))
            })
            .collect();
        let mut notes: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        for note in simulator.records(tenant, EntityKind::TicketNotes) {
            if let Some(ticket) = note["ticketID"].as_i64() {
                notes
                    .entry(ticket)
                    .or_default()
                    .push(text(&note, "description"));
            }
        }
        let mut attachments: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
        for attachment in simulator.records(tenant, EntityKind::TicketAttachments) {
            let ticket = attachment["parentID"]
                .as_i64()
                .or_else(|| attachment["ticketID"].as_i64());
            if let Some(ticket) = ticket {
                attachments
                    .entry(ticket)
                    .or_default()
                    .insert(text(&attachment, "title"));
            }
        }
        TenantView {
            tickets,
            notes,
            attachments,
        }
    }
}

/// Every way the two tenants disagree (empty when they agree), with at most [`LISTED`] listed.
pub fn disagreements(simulator: &Simulator, relationship: RelationshipId) -> Vec<String> {
    let source = TenantView::read(simulator, SOURCE_ORGANISATION);
    let target = TenantView::read(simulator, TARGET_ORGANISATION);
    let mut copies: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (id, (_, marker)) in &target.tickets {
        if let Some(marker) = marker {
            copies.entry(marker.clone()).or_default().push(*id);
        }
    }
    let mut found = Vec::new();
    let mut paired = BTreeSet::new();
    let empty_notes = Vec::new();
    let empty_files = BTreeSet::new();
    for (source_id, (title, _)) in &source.tickets {
        let marker = TicketMarker::for_copy_of(
            relationship,
            Role::Source,
            &TicketId::new(source_id.to_string()),
        );
        let copy = match copies.get(marker.as_str()).map(Vec::as_slice) {
            Some([copy]) => *copy,
            other => {
                found.push(format!(
                    "Source ticket {source_id} has {} copies in the Target, expected exactly one",
                    other.map_or(0, <[i64]>::len)
                ));
                continue;
            }
        };
        paired.insert(copy);
        let copy_title = target
            .tickets
            .get(&copy)
            .map_or("", |(title, _)| title.as_str());
        if copy_title != title {
            found.push(format!(
                "Source ticket {source_id} is titled {title:?} but its copy {copy} is titled {copy_title:?}"
            ));
        }
        let source_notes = source.notes.get(source_id).unwrap_or(&empty_notes);
        let copy_notes = target.notes.get(&copy).unwrap_or(&empty_notes);
        if source_notes.len() != copy_notes.len() {
            found.push(format!(
                "Source ticket {source_id} has {} comments but its copy {copy} has {}",
                source_notes.len(),
                copy_notes.len()
            ));
        }
        for (from, to, side) in [
            (source_notes, copy_notes, "the copy"),
            (copy_notes, source_notes, "the Source ticket"),
        ] {
            for note in from {
                let contained = to
                    .iter()
                    .any(|other| other.contains(note.as_str()) || note.contains(other.as_str()));
                if !contained {
                    found.push(format!(
                        "the comment {note:?} of the pair {source_id} ⇄ {copy} is missing on {side}"
                    ));
                }
            }
        }
        let source_files = source.attachments.get(source_id).unwrap_or(&empty_files);
        let copy_files = target.attachments.get(&copy).unwrap_or(&empty_files);
        if source_files != copy_files {
            found.push(format!(
                "Source ticket {source_id} has attachments {source_files:?} but its copy {copy} has {copy_files:?}"
            ));
        }
    }
    for id in target.tickets.keys() {
        if !paired.contains(id) {
            found.push(format!(
                "Target ticket {id} is not the copy of any Source ticket"
            ));
        }
    }
    if found.len() > LISTED {
        let more = found.len() - LISTED;
        found.truncate(LISTED);
        found.push(format!("… and {more} more"));
    }
    found
}

/// Rows of each entity on the tickets of `ids` (tickets, notes, attachments), for the floor.
pub fn rows_on(simulator: &Simulator, tenant: &str, ids: &BTreeSet<i64>) -> [usize; 3] {
    let view = TenantView::read(simulator, tenant);
    let notes = ids
        .iter()
        .map(|id| view.notes.get(id).map_or(0, Vec::len))
        .sum();
    let attachments = ids
        .iter()
        .map(|id| view.attachments.get(id).map_or(0, BTreeSet::len))
        .sum();
    [ids.len(), notes, attachments]
}

/// The Target copy of each Source ticket in `sources`.
pub fn copies_of(
    simulator: &Simulator,
    relationship: RelationshipId,
    sources: &[i64],
) -> BTreeMap<i64, i64> {
    let view = TenantView::read(simulator, TARGET_ORGANISATION);
    let by_marker: BTreeMap<&str, i64> = view
        .tickets
        .iter()
        .filter_map(|(id, (_, marker))| Some((marker.as_deref()?, *id)))
        .collect();
    sources
        .iter()
        .filter_map(|source| {
            let marker = TicketMarker::for_copy_of(
                relationship,
                Role::Source,
                &TicketId::new(source.to_string()),
            );
            Some((*source, *by_marker.get(marker.as_str())?))
        })
        .collect()
}
