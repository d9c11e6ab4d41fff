//! Ticket time entries (`TimeEntries`) for the sync.
//!
//! Reading: one `POST TimeEntries/query` (`ticketID in [...]`) per 500 tickets and per 500
//! entries, asking only for the fields the sync uses — who, when, how long, the customer-visible
//! summary and whether it is shown on invoices — plus `internalNotes`, of which only the sync's
//! own copy marker is kept (the rest is dropped here and never sent). Then one
//! `POST Resources/query` (`id in [...]`) names the workers and gives their e-mail addresses.
//! Rates, costs, billing codes and amounts are never asked for, so the sync works with the "API
//! User (system) Can't Read Costs" level. Entries the API user's security level cannot see
//! (non-billable time without "Can view non-billable time entries") are simply not returned by
//! Autotask and are therefore never sent.
//!
//! Writing a copy (when the receiving side takes time as time entries): the worker is matched by
//! e-mail to an active resource (`POST Resources/query`) that holds the configured role
//! (`POST ResourceRoles/query`), else the fallback resource logs it; then one `POST TimeEntries`
//! with the role, work type (`billingCodeID`), `isNonBillable`, day, start, end, hours, summary
//! and the marker in `internalNotes`. A change is one `PATCH TimeEntries` (day, times, hours,
//! summary), a deletion one `DELETE TimeEntries/{id}`. No rate, cost or billing amount is sent:
//! the receiving tenant prices its own time.
//!
//! Autotask has no webhook for time entries; a new, changed or deleted entry moves the ticket's
//! `lastActivityDate`, so the ticket is among the changed ones and its entries are read here.

use std::collections::{BTreeMap, BTreeSet};

use fusion_domain::sync::{
    ActorId, Hours, TicketId, TimeEntryDraft, TimeEntryId, TimeEntryMarker, TimeEntrySnapshot,
};
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
    // Read only for the sync's copy marker; nothing else of it is kept.
    "internalNotes",
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
        resource_email: String::new(),
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
        marker: row
            .get("internalNotes")
            .and_then(Value::as_str)
            .and_then(TimeEntryMarker::find_in),
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
        let people = self.workers(&workers).await?;
        for entry in by_ticket.values_mut().flatten() {
            if let Some(worker) = &entry.resource {
                let id = numeric(worker.as_str());
                match people.get(&id) {
                    Some((name, email)) => {
                        entry.resource_name = name.clone();
                        entry.resource_email = email.clone();
                    }
                    None => entry.resource_name = self.known_resource_name(id),
                }
            }
        }
        for entries in by_ticket.values_mut() {
            entries.sort_by_key(|entry| (entry.created_at, numeric(entry.id.as_str())));
        }
        Ok(by_ticket)
    }
}

/// A resource as raw JSON.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(transparent)]
struct RawResource(Map<String, Value>);

impl AutotaskEntity for RawResource {
    const ENDPOINT: &'static str = "Resources";
    fn id(&self) -> Option<i64> {
        self.0.get("id").and_then(integer)
    }
}

/// A resource-role row as raw JSON.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(transparent)]
struct RawResourceRole(Map<String, Value>);

impl AutotaskEntity for RawResourceRole {
    const ENDPOINT: &'static str = "ResourceRoles";
    fn id(&self) -> Option<i64> {
        self.0.get("id").and_then(integer)
    }
}

fn strings(fields: &[&str]) -> Vec<String> {
    fields.iter().map(|field| (*field).to_owned()).collect()
}

fn choice_number(
    value: Option<&fusion_domain::ChoiceValue>,
    what: &str,
) -> Result<i64, PlatformError> {
    value
        .and_then(fusion_domain::ChoiceValue::as_i64)
        .ok_or_else(|| {
            PlatformError::Rejected(format!(
                "no {what} is chosen for time entries received from your partner: choose one under \
             \"Time entries\" in the Integration configuration"
            ))
        })
}

/// The wire body of a copy's day, times, hours and summary (create and change alike).
fn timing(body: &mut Map<String, Value>, draft: &TimeEntryDraft) {
    let day = draft.date_worked.midnight().assume_utc();
    body.insert("dateWorked".into(), Value::from(datetime::format(day)));
    body.insert(
        "startDateTime".into(),
        Value::from(datetime::format(draft.start)),
    );
    body.insert(
        "endDateTime".into(),
        Value::from(datetime::format(draft.end)),
    );
    body.insert("hoursWorked".into(), Value::from(draft.hours.as_decimal()));
    body.insert("summaryNotes".into(), Value::from(draft.summary.as_str()));
}

impl AutotaskPlatform {
    /// Names and e-mail addresses of the workers, by resource id: one `POST Resources/query`
    /// per 500 (none without workers).
    async fn workers(
        &self,
        workers: &BTreeSet<ActorId>,
    ) -> Result<BTreeMap<i64, (String, String)>, PlatformError> {
        let ids: Vec<i64> = workers
            .iter()
            .filter_map(|worker| worker.as_str().parse().ok())
            .collect();
        let mut people = BTreeMap::new();
        for chunk in ids.chunks(PAGE_SIZE as usize) {
            let filter = if let [single] = chunk {
                crate::wire::Filter::eq("id", *single)
            } else {
                crate::wire::Filter::compare("in", "id", Value::from(chunk.to_vec()))
            };
            let rows: Vec<RawResource> = self
                .query_rows(
                    vec![filter],
                    &strings(&["id", "firstName", "lastName", "email"]),
                )
                .await?;
            for row in rows {
                let Some(id) = row.id() else { continue };
                let text = |field: &str| {
                    row.0
                        .get(field)
                        .and_then(Value::as_str)
                        .map(str::trim)
                        .unwrap_or_default()
                        .to_owned()
                };
                let name = [text("firstName"), text("lastName")]
                    .into_iter()
                    .filter(|part| !part.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ");
                people.insert(id, (name, text("email")));
            }
        }
        Ok(people)
    }

    /// The resource that logs a copy: the active resource with the worker's e-mail when it holds
    /// `role`, else the fallback.
    async fn resource_for(&self, draft: &TimeEntryDraft, role: i64) -> Result<i64, PlatformError> {
        let email = draft.worker_email.trim();
        if !email.is_empty() {
            let matches: Vec<RawResource> = self
                .query_rows(
                    vec![
                        crate::wire::Filter::eq("email", email),
                        crate::wire::Filter::eq("isActive", true),
                    ],
                    &strings(&["id"]),
                )
                .await?;
            for candidate in matches.iter().filter_map(AutotaskEntity::id) {
                let held: Vec<RawResourceRole> = self
                    .query_rows(
                        vec![
                            crate::wire::Filter::eq("resourceID", candidate),
                            crate::wire::Filter::eq("roleID", role),
                            crate::wire::Filter::eq("isActive", true),
                        ],
                        &strings(&["id"]),
                    )
                    .await?;
                if !held.is_empty() {
                    return Ok(candidate);
                }
            }
        }
        draft
            .fallback_resource
            .as_ref()
            .and_then(fusion_domain::ChoiceValue::as_i64)
            .ok_or_else(|| {
                PlatformError::Rejected(format!(
                    "no active resource here with the e-mail {} holds the chosen role, and no \
                     fallback resource is chosen: choose one under \"Time entries\" in the \
                     Integration configuration",
                    if email.is_empty() {
                        "(none known)"
                    } else {
                        email
                    }
                ))
            })
    }

    /// `POST TimeEntries`: the copy of a partner's time entry on `ticket`.
    pub async fn create_time_entry_copy(
        &self,
        ticket: &TicketId,
        draft: &TimeEntryDraft,
    ) -> Result<TimeEntryId, PlatformError> {
        let ticket_id = ticket.as_str().parse::<i64>().map_err(|_| {
            PlatformError::NotFound(format!("{ticket} is not an Autotask ticket id"))
        })?;
        let role = choice_number(draft.role.as_ref(), "role")?;
        let billing_code = choice_number(draft.billing_code.as_ref(), "work type")?;
        let resource = self.resource_for(draft, role).await?;
        let mut body = Map::new();
        body.insert("ticketID".into(), Value::from(ticket_id));
        body.insert("resourceID".into(), Value::from(resource));
        body.insert("roleID".into(), Value::from(role));
        body.insert("billingCodeID".into(), Value::from(billing_code));
        body.insert("isNonBillable".into(), Value::from(!draft.billable));
        timing(&mut body, draft);
        body.insert(
            "internalNotes".into(),
            Value::from(draft.origin_note.as_str()),
        );
        self.count_call();
        self.client
            .create("TimeEntries", &Value::Object(body))
            .await
            .map(TimeEntryId::from)
            .map_err(|error| {
                super::error_mapping::to_platform_error(
                    error,
                    super::error_mapping::CallKind::Write,
                )
            })
    }

    /// `PATCH TimeEntries`: the copy follows a change of its original.
    pub async fn update_time_entry_copy(
        &self,
        entry: &TimeEntryId,
        draft: &TimeEntryDraft,
    ) -> Result<(), PlatformError> {
        let id = entry.as_str().parse::<i64>().map_err(|_| {
            PlatformError::NotFound(format!("{entry} is not an Autotask time entry id"))
        })?;
        let mut body = Map::new();
        body.insert("id".into(), Value::from(id));
        timing(&mut body, draft);
        self.count_call();
        self.client
            .update("TimeEntries", &Value::Object(body))
            .await
            .map(|_| ())
            .map_err(|error| {
                super::error_mapping::to_platform_error(
                    error,
                    super::error_mapping::CallKind::Write,
                )
            })
    }

    /// `DELETE TimeEntries/{id}`: the original was deleted (one already gone is fine).
    pub async fn delete_time_entry_copy(&self, entry: &TimeEntryId) -> Result<(), PlatformError> {
        let id = entry.as_str().parse::<i64>().map_err(|_| {
            PlatformError::NotFound(format!("{entry} is not an Autotask time entry id"))
        })?;
        self.count_call();
        self.client
            .delete("TimeEntries", id)
            .await
            .map_err(|error| {
                super::error_mapping::to_platform_error(
                    error,
                    super::error_mapping::CallKind::Write,
                )
            })
    }
}
