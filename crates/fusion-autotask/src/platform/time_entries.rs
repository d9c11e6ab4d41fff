//! Reading ticket time entries (`TimeEntries`) for the sync: one `POST TimeEntries/query`
//! (`ticketID in [...]`) per 500 tickets and per 500 entries, asking only for the fields the sync
//! uses — who, when, how long, the customer-visible summary and whether it is shown on invoices.
//! Internal notes, rates, costs, billing codes and amounts are never asked for, so the sync works
//! with the "API User (system) Can't Read Costs" level. Entries the API user's security level
//! cannot see (non-billable time without "Can view non-billable time entries") are simply not
//! returned by Autotask and are therefore never sent.
//!
//! Autotask has no webhook for time entries; a new, changed or deleted entry moves the ticket's
//! `lastActivityDate`, so the ticket is among the changed ones and its entries are read here.

use std::collections::{BTreeMap, BTreeSet};

use fusion_domain::sync::{ActorId, Hours, TicketId, TimeEntryId, TimeEntrySnapshot};
use fusion_engine::PlatformError;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::ticket_mapping::integer;
use super::{AutotaskPlatform, numeric, numeric_ids, ticket_filter};
use crate::client::PAGE_SIZE;
use crate::wire::{AutotaskEntity, datetime};

/// The only `TimeEntries` fields the sync reads.
const TIME_ENTRY_FIELDS: &[&str] = &[
    "id",
    "ticketID",
    "resourceID",
    "dateWorked",
    "startDateTime",
    "endDateTime",
    "hoursWorked",
    "summaryNotes",
    "showOnInvoice",
    "createDateTime",
];

/// A time entry as raw JSON.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(transparent)]
struct RawTimeEntry(Map<String, Value>);

impl AutotaskEntity for RawTimeEntry {
    const ENDPOINT: &'static str = "TimeEntries";
    fn id(&self) -> Option<i64> {
        self.0.get("id").and_then(integer)
    }
}

fn time_of(row: &Map<String, Value>, field: &str) -> Option<OffsetDateTime> {
    row.get(field)
        .and_then(Value::as_str)
        .and_then(datetime::parse)
}

fn snapshot(row: &Map<String, Value>) -> Option<TimeEntrySnapshot> {
    let id = row.get("id").and_then(integer)?;
    let ticket = row.get("ticketID").and_then(integer)?;
    let start = time_of(row, "startDateTime");
    let end = time_of(row, "endDateTime");
    let created_at = time_of(row, "createDateTime").unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let date_worked = time_of(row, "dateWorked")
        .or(start)
        .unwrap_or(created_at)
        .date();
    let hours = row
        .get("hoursWorked")
        .and_then(Value::as_f64)
        .map(Hours::from_decimal)
        .or_else(|| {
            let (start, end) = (start?, end?);
            Some(Hours::from_decimal((end - start).as_seconds_f64() / 3600.0))
        })
        .unwrap_or(Hours::from_hundredths(0));
    Some(TimeEntrySnapshot {
        id: TimeEntryId::from(id),
        ticket: TicketId::from(ticket),
        resource: row.get("resourceID").and_then(integer).map(ActorId::from),
        resource_name: String::new(),
        date_worked,
        start,
        end,
        hours,
        summary: row
            .get("summaryNotes")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        summary_public: row
            .get("showOnInvoice")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        created_at,
    })
}

impl AutotaskPlatform {
    /// The time entries of several tickets, each list oldest first, every asked ticket with an
    /// entry; workers named from the tenant's resources (or one `Resources/query` for the rest).
    pub async fn time_entries_for_tickets(
        &self,
        tickets: &[TicketId],
    ) -> Result<BTreeMap<TicketId, Vec<TimeEntrySnapshot>>, PlatformError> {
        let mut by_ticket: BTreeMap<TicketId, Vec<TimeEntrySnapshot>> = tickets
            .iter()
            .map(|ticket| (ticket.clone(), Vec::new()))
            .collect();
        let include: Vec<String> = TIME_ENTRY_FIELDS.iter().map(|f| (*f).to_owned()).collect();
        for chunk in numeric_ids(tickets)?.chunks(PAGE_SIZE as usize) {
            let rows: Vec<RawTimeEntry> = self
                .query_rows(vec![ticket_filter(chunk)], &include)
                .await?;
            for entry in rows.iter().filter_map(|row| snapshot(&row.0)) {
                by_ticket
                    .entry(entry.ticket.clone())
                    .or_default()
                    .push(entry);
            }
        }
        let workers: BTreeSet<ActorId> = by_ticket
            .values()
            .flatten()
            .filter_map(|entry| entry.resource.clone())
            .collect();
        let unknown: BTreeSet<ActorId> = workers
            .iter()
            .filter(|worker| {
                self.known_resource_name(numeric(worker.as_str()))
                    .starts_with("resource ")
            })
            .cloned()
            .collect();
        if !unknown.is_empty() {
            self.actor_names(&unknown).await?;
        }
        for entry in by_ticket.values_mut().flatten() {
            if let Some(worker) = &entry.resource {
                entry.resource_name = self.known_resource_name(numeric(worker.as_str()));
            }
        }
        for entries in by_ticket.values_mut() {
            entries.sort_by_key(|entry| (entry.created_at, numeric(entry.id.as_str())));
        }
        Ok(by_ticket)
    }
}
