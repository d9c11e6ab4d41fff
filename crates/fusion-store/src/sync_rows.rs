//! Sync data as plain column values, shared by both backends: ticket links (with the store-private
//! serde document behind their JSON column), pending creates, cursors, runs, records, the
//! bookkeeping of pending retries, and lease keys and tokens.
//!
//! The domain types have no serde on purpose; the documents here mirror them field by field
//! (destructured exhaustively, so a field added to the domain fails to compile here until it is
//! stored too). Every document field has a default, so rows written before a field existed still
//! load.

use std::collections::BTreeMap;

use fusion_domain::sync::{
    AttachmentId, CommentId, CopiedItem, CopiedTimeEntry, Fingerprint, HeldPeriod, LinkEnd,
    PendingRetry, RecordOutcome, RunCounts, RunStatus, RunTrigger, SyncCursor, SyncRecord, SyncRun,
    SyncRunId, SyncSchedule, TicketId, TicketLink, TicketMarker, TimeEntryId,
};
use fusion_domain::{RelationshipId, Role};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::timestamps::to_storage_precision;
use crate::{StoreError, StoreResult};
use fusion_engine::ports::{LeaseKey, PendingCreate};

/// The columns every ticket link query selects, in this order.
pub(crate) const LINK_COLUMNS: &str = "relationship_id, source_ticket, target_ticket, \
     source_number, target_number, title, origin, document, created_at, updated_at";

/// The columns every run query selects, in this order.
pub(crate) const RUN_COLUMNS: &str = "id, relationship_id, run_trigger, since, status, \
     created_count, updated_count, closed_count, failed_count, skipped_count, conflict_count, \
     started_at, finished_at, calls_used, error, started_by, trigger_detail, attention_count";

/// The columns every record query selects, in this order.
pub(crate) const RECORD_COLUMNS: &str = "run_id, relationship_id, origin, source_ticket, \
     source_number, target_ticket, target_number, outcome, error, failed_comments, \
     failed_attachments, notes, recorded_at, title";

/// The ticket-link column that holds the ticket of `side`. Only these two constant names are
/// ever put into SQL text.
pub(crate) fn ticket_column(side: Role) -> &'static str {
    match side {
        Role::Source => "source_ticket",
        Role::Target => "target_ticket",
    }
}

fn unknown_value(what: &str, value: &str) -> StoreError {
    StoreError::Backend(format!("unknown {what} {value:?} in the database"))
}

pub(crate) fn parse_role(what: &str, text: &str) -> StoreResult<Role> {
    Role::parse(text).ok_or_else(|| unknown_value(what, text))
}

fn to_json(value: &impl Serialize) -> StoreResult<String> {
    serde_json::to_string(value)
        .map_err(|error| StoreError::Backend(format!("cannot encode a JSON column: {error}")))
}

fn from_json<T: for<'de> Deserialize<'de>>(what: &str, json: &str) -> StoreResult<T> {
    serde_json::from_str(json)
        .map_err(|error| StoreError::Backend(format!("malformed {what} in the database: {error}")))
}

/// A count as stored (a signed 64-bit column).
pub(crate) fn count_column(count: u32) -> i64 {
    i64::from(count)
}

fn count_from_column(what: &str, value: i64) -> StoreResult<u32> {
    u32::try_from(value)
        .map_err(|_| StoreError::Backend(format!("{what} {value} in the database is out of range")))
}

// ---- ticket links ----

/// One `ticket_links` row.
#[derive(Debug, Clone)]
pub(crate) struct LinkColumns {
    pub(crate) relationship: Uuid,
    pub(crate) source_ticket: String,
    pub(crate) target_ticket: String,
    pub(crate) source_number: String,
    pub(crate) target_number: String,
    pub(crate) title: String,
    pub(crate) origin: String,
    pub(crate) document: String,
    pub(crate) created_at: OffsetDateTime,
    pub(crate) updated_at: OffsetDateTime,
}

impl LinkColumns {
    pub(crate) fn from_link(link: &TicketLink) -> StoreResult<Self> {
        let TicketLink {
            relationship,
            source,
            target,
            source_number,
            target_number,
            title,
            origin,
            source_fields,
            target_fields,
            comments,
            attachments,
            time_entries,
            source_closed,
            target_closed,
            created_at,
            updated_at,
            ended,
            held,
        } = link;
        let document = LinkDocument {
            held: held
                .iter()
                .map(|period| HeldDocument {
                    from: to_storage_precision(period.from),
                    until: period.until.map(to_storage_precision),
                })
                .collect(),
            ended: ended.as_ref().map(|end| EndDocument {
                at: to_storage_precision(end.at),
                reason: end.reason.clone(),
            }),
            source_fields: fingerprint_texts(source_fields),
            target_fields: fingerprint_texts(target_fields),
            comments: comments.iter().map(CopiedDocument::from_comment).collect(),
            attachments: attachments
                .iter()
                .map(CopiedDocument::from_attachment)
                .collect(),
            time_entries: time_entries
                .iter()
                .map(TimeEntryDocument::from_item)
                .collect(),
            source_closed: *source_closed,
            target_closed: *target_closed,
        };
        Ok(Self {
            relationship: relationship.as_uuid(),
            source_ticket: source.as_str().to_owned(),
            target_ticket: target.as_str().to_owned(),
            source_number: source_number.clone(),
            target_number: target_number.clone(),
            title: title.clone(),
            origin: origin.as_str().to_owned(),
            document: to_json(&document)?,
            created_at: to_storage_precision(*created_at),
            updated_at: to_storage_precision(*updated_at),
        })
    }

    pub(crate) fn into_link(self) -> StoreResult<TicketLink> {
        let document: LinkDocument = from_json("ticket link", &self.document)?;
        let LinkDocument {
            source_fields,
            target_fields,
            comments,
            attachments,
            time_entries,
            source_closed,
            target_closed,
            ended,
            held,
        } = document;
        Ok(TicketLink {
            relationship: RelationshipId::from_uuid(self.relationship),
            source: TicketId::new(self.source_ticket),
            target: TicketId::new(self.target_ticket),
            source_number: self.source_number,
            target_number: self.target_number,
            title: self.title,
            origin: parse_role("link origin", &self.origin)?,
            source_fields: fingerprints(source_fields),
            target_fields: fingerprints(target_fields),
            comments: comments
                .into_iter()
                .map(|document| document.into_item(CommentId::new))
                .collect::<StoreResult<_>>()?,
            attachments: attachments
                .into_iter()
                .map(|document| document.into_item(AttachmentId::new))
                .collect::<StoreResult<_>>()?,
            time_entries: time_entries
                .into_iter()
                .map(TimeEntryDocument::into_item)
                .collect::<StoreResult<_>>()?,
            source_closed,
            target_closed,
            created_at: self.created_at,
            updated_at: self.updated_at,
            ended: ended.map(|end| LinkEnd {
                at: end.at,
                reason: end.reason,
            }),
            held: held
                .into_iter()
                .map(|period| HeldPeriod {
                    from: period.from,
                    until: period.until,
                })
                .collect(),
        })
    }
}

fn fingerprint_texts(fields: &BTreeMap<String, Fingerprint>) -> BTreeMap<String, String> {
    fields
        .iter()
        .map(|(field, fingerprint)| (field.clone(), fingerprint.as_str().to_owned()))
        .collect()
}

fn fingerprints(texts: BTreeMap<String, String>) -> BTreeMap<String, Fingerprint> {
    texts
        .into_iter()
        .map(|(field, text)| (field, Fingerprint::from_stored(text)))
        .collect()
}

/// The `document` JSON of a ticket link.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct LinkDocument {
    source_fields: BTreeMap<String, String>,
    target_fields: BTreeMap<String, String>,
    comments: Vec<CopiedDocument>,
    attachments: Vec<CopiedDocument>,
    /// Time entries carried (absent when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    time_entries: Vec<TimeEntryDocument>,
    source_closed: bool,
    target_closed: bool,
    /// Absent for a link in use (links written before links could end have none).
    #[serde(skip_serializing_if = "Option::is_none")]
    ended: Option<EndDocument>,
    /// Periods the pair was held back by the privacy rule (absent when never).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    held: Vec<HeldDocument>,
}

/// One `HeldPeriod`.
#[derive(Debug, Serialize, Deserialize)]
struct HeldDocument {
    #[serde(with = "time::serde::rfc3339")]
    from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option", default)]
    until: Option<OffsetDateTime>,
}

/// Why and when a link ended (`LinkEnd`).
#[derive(Debug, Serialize, Deserialize)]
struct EndDocument {
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
    reason: String,
}

/// One copied comment or attachment.
#[derive(Debug, Serialize, Deserialize)]
struct CopiedDocument {
    from: String,
    original: String,
    copy: String,
}

impl CopiedDocument {
    fn from_comment(item: &CopiedItem<CommentId>) -> Self {
        let CopiedItem {
            from,
            original,
            copy,
        } = item;
        Self {
            from: from.as_str().to_owned(),
            original: original.as_str().to_owned(),
            copy: copy.as_str().to_owned(),
        }
    }

    fn from_attachment(item: &CopiedItem<AttachmentId>) -> Self {
        let CopiedItem {
            from,
            original,
            copy,
        } = item;
        Self {
            from: from.as_str().to_owned(),
            original: original.as_str().to_owned(),
            copy: copy.as_str().to_owned(),
        }
    }

    fn into_item<Id>(self, id: impl Fn(String) -> Id) -> StoreResult<CopiedItem<Id>> {
        Ok(CopiedItem {
            from: parse_role("copied item side", &self.from)?,
            original: id(self.original),
            copy: id(self.copy),
        })
    }
}

/// One `CopiedTimeEntry`.
#[derive(Debug, Serialize, Deserialize)]
struct TimeEntryDocument {
    from: String,
    original: String,
    notes: Vec<String>,
    fingerprint: String,
    described: String,
    #[serde(default)]
    deleted: bool,
    /// The time-entry copy (absent when carried as notes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    copy: Option<String>,
}

impl TimeEntryDocument {
    fn from_item(item: &CopiedTimeEntry) -> Self {
        let CopiedTimeEntry {
            from,
            original,
            notes,
            fingerprint,
            described,
            deleted,
            copy,
        } = item;
        Self {
            from: from.as_str().to_owned(),
            original: original.as_str().to_owned(),
            notes: notes.iter().map(|note| note.as_str().to_owned()).collect(),
            fingerprint: fingerprint.as_str().to_owned(),
            described: described.clone(),
            deleted: *deleted,
            copy: copy.as_ref().map(|copy| copy.as_str().to_owned()),
        }
    }

    fn into_item(self) -> StoreResult<CopiedTimeEntry> {
        Ok(CopiedTimeEntry {
            from: parse_role("time entry side", &self.from)?,
            original: TimeEntryId::new(self.original),
            notes: self.notes.into_iter().map(CommentId::new).collect(),
            fingerprint: Fingerprint::from_stored(self.fingerprint),
            described: self.described,
            deleted: self.deleted,
            copy: self.copy.map(TimeEntryId::new),
        })
    }
}

// ---- pending creates ----

/// One `pending_creates` row.
#[derive(Debug, Clone)]
pub(crate) struct PendingCreateColumns {
    pub(crate) relationship: Uuid,
    pub(crate) origin: String,
    pub(crate) origin_ticket: String,
    pub(crate) marker: String,
    pub(crate) started_at: OffsetDateTime,
}

impl PendingCreateColumns {
    pub(crate) fn from_pending(pending: &PendingCreate) -> Self {
        let PendingCreate {
            relationship,
            origin,
            origin_ticket,
            marker,
            started_at,
        } = pending;
        Self {
            relationship: relationship.as_uuid(),
            origin: origin.as_str().to_owned(),
            origin_ticket: origin_ticket.as_str().to_owned(),
            marker: marker.as_str().to_owned(),
            started_at: to_storage_precision(*started_at),
        }
    }

    pub(crate) fn into_pending(self) -> StoreResult<PendingCreate> {
        // A marker is a function of what it names, so the stored text is read back by parsing it
        // and writing it again (the domain offers no other way to make one).
        let parts = TicketMarker::parse(&self.marker)
            .ok_or_else(|| unknown_value("ticket marker", &self.marker))?;
        let marker =
            TicketMarker::for_copy_of(parts.relationship, parts.origin, &parts.origin_ticket);
        if marker.as_str() != self.marker {
            return Err(unknown_value("ticket marker", &self.marker));
        }
        Ok(PendingCreate {
            relationship: RelationshipId::from_uuid(self.relationship),
            origin: parse_role("pending create origin", &self.origin)?,
            origin_ticket: TicketId::new(self.origin_ticket),
            marker,
            started_at: self.started_at,
        })
    }
}

// ---- cursors ----

/// One `sync_cursors` row.
#[derive(Debug, Clone)]
pub(crate) struct CursorColumns {
    pub(crate) relationship: Uuid,
    pub(crate) side: String,
    pub(crate) last_activity_at: OffsetDateTime,
    pub(crate) last_id: Option<String>,
}

impl CursorColumns {
    pub(crate) fn from_cursor(cursor: &SyncCursor) -> Self {
        let SyncCursor {
            relationship,
            side,
            last_activity_at,
            last_id,
        } = cursor;
        Self {
            relationship: relationship.as_uuid(),
            side: side.as_str().to_owned(),
            last_activity_at: to_storage_precision(*last_activity_at),
            last_id: last_id.as_ref().map(|id| id.as_str().to_owned()),
        }
    }

    pub(crate) fn into_cursor(self) -> StoreResult<SyncCursor> {
        Ok(SyncCursor {
            relationship: RelationshipId::from_uuid(self.relationship),
            side: parse_role("cursor side", &self.side)?,
            last_activity_at: self.last_activity_at,
            last_id: self.last_id.map(TicketId::new),
        })
    }
}

// ---- runs ----

/// One `sync_runs` row.
#[derive(Debug, Clone)]
pub(crate) struct RunColumns {
    pub(crate) id: Uuid,
    pub(crate) relationship: Uuid,
    pub(crate) trigger: String,
    pub(crate) since: Option<OffsetDateTime>,
    pub(crate) status: String,
    pub(crate) created: i64,
    pub(crate) updated: i64,
    pub(crate) closed: i64,
    pub(crate) failed: i64,
    pub(crate) skipped: i64,
    pub(crate) conflicts: i64,
    pub(crate) started_at: OffsetDateTime,
    pub(crate) finished_at: Option<OffsetDateTime>,
    pub(crate) calls_used: i64,
    pub(crate) error: Option<String>,
    pub(crate) started_by: Option<String>,
    pub(crate) trigger_detail: Option<String>,
    pub(crate) attention: i64,
}

impl RunColumns {
    pub(crate) fn into_run(self) -> StoreResult<SyncRun> {
        Ok(SyncRun {
            id: SyncRunId::from_uuid(self.id),
            relationship: RelationshipId::from_uuid(self.relationship),
            trigger: match self.trigger_detail.as_deref() {
                Some("repair") => RunTrigger::Repair,
                Some("webhook") => RunTrigger::Webhook,
                _ => RunTrigger::parse(&self.trigger)
                    .ok_or_else(|| unknown_value("run trigger", &self.trigger))?,
            },
            since: self.since,
            status: RunStatus::parse(&self.status)
                .ok_or_else(|| unknown_value("run status", &self.status))?,
            counts: RunCounts {
                created: count_from_column("created count", self.created)?,
                updated: count_from_column("updated count", self.updated)?,
                closed: count_from_column("closed count", self.closed)?,
                failed: count_from_column("failed count", self.failed)?,
                skipped: count_from_column("skipped count", self.skipped)?,
                conflicts: count_from_column("conflict count", self.conflicts)?,
                attention: count_from_column("attention count", self.attention)?,
            },
            started_at: self.started_at,
            finished_at: self.finished_at,
            calls_used: u64::try_from(self.calls_used).map_err(|_| {
                StoreError::Backend(format!(
                    "calls used {} in the database is out of range",
                    self.calls_used
                ))
            })?,
            error: self.error,
            started_by: self.started_by,
        })
    }
}

/// How a trigger is stored: the `run_trigger` column keeps manual/automatic (its CHECK constraint
/// predates repairs) and `trigger_detail` says 'repair' for a person's repair of one ticket and
/// 'webhook' for a run a platform's webhook triggered.
pub(crate) fn trigger_columns(trigger: RunTrigger) -> (&'static str, Option<&'static str>) {
    match trigger {
        RunTrigger::Repair => ("manual", Some("repair")),
        RunTrigger::Webhook => ("automatic", Some("webhook")),
        other => (other.as_str(), None),
    }
}

/// The stored form of a run's call count; counts beyond `i64::MAX` cannot be stored.
pub(crate) fn calls_used_column(calls_used: u64) -> StoreResult<i64> {
    i64::try_from(calls_used).map_err(|_| {
        StoreError::Backend(format!(
            "{calls_used} calls is more than the store can record"
        ))
    })
}

/// The counts of a finished run as stored, in [`RUN_COLUMNS`] order.
pub(crate) fn count_columns(counts: &RunCounts) -> [i64; 7] {
    let RunCounts {
        created,
        updated,
        closed,
        failed,
        skipped,
        conflicts,
        attention,
    } = *counts;
    [
        created, updated, closed, failed, skipped, conflicts, attention,
    ]
    .map(count_column)
}

// ---- records ----

/// One `sync_records` row (without its insertion-order id).
#[derive(Debug, Clone)]
pub(crate) struct RecordColumns {
    pub(crate) run: Uuid,
    pub(crate) relationship: Uuid,
    pub(crate) origin: String,
    pub(crate) source_ticket: Option<String>,
    pub(crate) source_number: Option<String>,
    pub(crate) target_ticket: Option<String>,
    pub(crate) target_number: Option<String>,
    pub(crate) outcome: String,
    pub(crate) error: Option<String>,
    pub(crate) failed_comments: i64,
    pub(crate) failed_attachments: i64,
    pub(crate) notes: String,
    pub(crate) recorded_at: OffsetDateTime,
    pub(crate) title: String,
}

impl RecordColumns {
    pub(crate) fn from_record(record: &SyncRecord) -> StoreResult<Self> {
        let SyncRecord {
            run,
            relationship,
            origin,
            source_ticket,
            source_number,
            target_ticket,
            target_number,
            title,
            outcome,
            error,
            failed_comments,
            failed_attachments,
            notes,
            recorded_at,
        } = record;
        Ok(Self {
            run: run.as_uuid(),
            relationship: relationship.as_uuid(),
            origin: origin.as_str().to_owned(),
            source_ticket: source_ticket.as_ref().map(|id| id.as_str().to_owned()),
            source_number: source_number.clone(),
            target_ticket: target_ticket.as_ref().map(|id| id.as_str().to_owned()),
            target_number: target_number.clone(),
            outcome: outcome.as_str().to_owned(),
            error: error.clone(),
            failed_comments: count_column(*failed_comments),
            failed_attachments: count_column(*failed_attachments),
            notes: to_json(notes)?,
            recorded_at: to_storage_precision(*recorded_at),
            title: title.clone(),
        })
    }

    pub(crate) fn into_record(self) -> StoreResult<SyncRecord> {
        Ok(SyncRecord {
            run: SyncRunId::from_uuid(self.run),
            relationship: RelationshipId::from_uuid(self.relationship),
            origin: parse_role("record origin", &self.origin)?,
            source_ticket: self.source_ticket.map(TicketId::new),
            source_number: self.source_number,
            target_ticket: self.target_ticket.map(TicketId::new),
            target_number: self.target_number,
            title: self.title,
            outcome: RecordOutcome::parse(&self.outcome)
                .ok_or_else(|| unknown_value("record outcome", &self.outcome))?,
            error: self.error,
            failed_comments: count_from_column("failed comment count", self.failed_comments)?,
            failed_attachments: count_from_column(
                "failed attachment count",
                self.failed_attachments,
            )?,
            notes: from_json("record notes", &self.notes)?,
            recorded_at: self.recorded_at,
        })
    }
}

// ---- pending retries ----

/// How adding one record changes the pending retries of its relationship.
///
/// A ticket is identified by its source ticket when the record names one, else by its target
/// ticket (`key`). A record naming both also settles an earlier failure recorded under its target
/// ticket alone (`alias`): that failure happened before the source ticket existed, and the ticket
/// is the same one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RetryChange {
    pub(crate) key: String,
    pub(crate) alias: Option<String>,
    /// Whether the record is a failure (the ticket is to be retried) or not (it is settled).
    pub(crate) failed: bool,
}

impl RetryChange {
    /// `None` for a record that names no ticket at all (nothing could be retried).
    pub(crate) fn of(record: &SyncRecord) -> Option<Self> {
        let target_key = record
            .target_ticket
            .as_ref()
            .map(|ticket| format!("t:{}", ticket.as_str()));
        let (key, alias) = match &record.source_ticket {
            Some(source) => (format!("s:{}", source.as_str()), target_key),
            None => (target_key?, None),
        };
        Some(Self {
            key,
            alias,
            failed: record.outcome == RecordOutcome::Failed,
        })
    }

    /// The attempts to store for a failure, given the attempts of the failure it continues, if
    /// any (each Failed record in a row is one attempt).
    pub(crate) fn attempts_after(previous: Option<i64>) -> i64 {
        previous.map_or(1, |attempts| attempts.saturating_add(1))
    }
}

/// One `sync_retries` row, as `pending_retries` reads it.
#[derive(Debug, Clone)]
pub(crate) struct RetryColumns {
    pub(crate) relationship: Uuid,
    pub(crate) source_ticket: Option<String>,
    pub(crate) target_ticket: Option<String>,
    pub(crate) attempts: i64,
    pub(crate) last_error: Option<String>,
    pub(crate) last_failed_at: OffsetDateTime,
}

impl RetryColumns {
    pub(crate) fn into_retry(self) -> StoreResult<PendingRetry> {
        Ok(PendingRetry {
            relationship: RelationshipId::from_uuid(self.relationship),
            source_ticket: self.source_ticket.map(TicketId::new),
            target_ticket: self.target_ticket.map(TicketId::new),
            attempts: count_from_column("retry attempts", self.attempts)?,
            last_error: self.last_error,
            last_failed_at: self.last_failed_at,
        })
    }
}

// ---- leases ----

/// The `lease_key` text of a lease.
pub(crate) fn lease_key_text(key: &LeaseKey) -> String {
    match key {
        LeaseKey::Relationship(relationship) => {
            format!("relationship:{}", relationship.as_uuid().hyphenated())
        }
        LeaseKey::Database(database) => format!("database:{database}"),
    }
}

/// A fresh lease token: 122 random bits, so a holder whose lease was taken over cannot guess the
/// new one.
pub(crate) fn new_lease_token() -> String {
    Uuid::new_v4().simple().to_string()
}

/// A stored schedule row back to the domain type (the CHECK constraint keeps the interval in
/// range; a value outside it means the row was edited by hand).
pub(crate) fn schedule_from_columns(
    automatic: bool,
    interval_seconds: i64,
) -> StoreResult<SyncSchedule> {
    SyncSchedule::new(automatic, Duration::seconds(interval_seconds)).map_err(|error| {
        StoreError::Backend(format!(
            "malformed sync schedule interval {interval_seconds} s: {error}"
        ))
    })
}

/// The interval as stored (whole seconds).
pub(crate) fn schedule_interval_seconds(schedule: &SyncSchedule) -> i64 {
    schedule.interval().whole_seconds()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(source: Option<&str>, target: Option<&str>, outcome: RecordOutcome) -> SyncRecord {
        SyncRecord {
            run: SyncRunId::new(),
            relationship: RelationshipId::new(),
            origin: Role::Source,
            source_ticket: source.map(TicketId::new),
            source_number: None,
            target_ticket: target.map(TicketId::new),
            target_number: None,
            title: String::new(),
            outcome,
            error: None,
            failed_comments: 0,
            failed_attachments: 0,
            notes: Vec::new(),
            recorded_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_ticket_is_known_by_its_source_ticket_and_else_by_its_target_ticket() {
        let both = RetryChange::of(&record(Some("7"), Some("9"), RecordOutcome::Updated))
            .expect("names a ticket");
        assert_eq!(both.key, "s:7");
        assert_eq!(both.alias.as_deref(), Some("t:9"));
        assert!(!both.failed);
        let target_only = RetryChange::of(&record(None, Some("9"), RecordOutcome::Failed))
            .expect("names a ticket");
        assert_eq!(target_only.key, "t:9");
        assert_eq!(target_only.alias, None);
        assert!(target_only.failed);
        assert_eq!(
            RetryChange::of(&record(None, None, RecordOutcome::Failed)),
            None
        );
    }

    #[test]
    fn each_failure_in_a_row_is_one_more_attempt() {
        assert_eq!(RetryChange::attempts_after(None), 1);
        assert_eq!(RetryChange::attempts_after(Some(1)), 2);
        assert_eq!(RetryChange::attempts_after(Some(i64::MAX)), i64::MAX);
    }

    #[test]
    fn lease_keys_of_different_kinds_never_collide() {
        let relationship = RelationshipId::new();
        let by_relationship = lease_key_text(&LeaseKey::Relationship(relationship));
        let by_database = lease_key_text(&LeaseKey::Database(
            relationship.as_uuid().hyphenated().to_string(),
        ));
        assert_ne!(by_relationship, by_database);
        assert_ne!(new_lease_token(), new_lease_token());
    }
}
