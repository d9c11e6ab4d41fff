//! Writing time-entry copies once: a copy is logged, changed or deleted on the receiving side's
//! ticket; after an ambiguous failure of a create the ticket's entries are read and the copy's
//! marker looked for before it counts as failed (the next run's planner finds it by the same
//! marker, so it is never logged twice). A change is idempotent and is sent again once; a copy
//! already gone counts as deleted. Also the record's words for a copy.

use fusion_domain::Role;
use fusion_domain::sync::{
    ActionOutcome, CarriedTimeEntry, TicketId, TimeEntryDraft, TimeEntryWrite,
};

use super::{ApplyError, TicketApplier};
use crate::platform::PlatformError;

/// The record's note for a copy written on side `on`, e.g. "Time entry logged: 1.50 h by Jane
/// Doe on 2026-12-04, copied to the source side as a time entry".
pub(super) fn copied_note(on: Role, carried: &CarriedTimeEntry) -> String {
    format!(
        "Time entry {}: {}, copied to the {} side as a time entry",
        carried.change.as_str(),
        carried.described,
        on.label().to_lowercase()
    )
}

/// What failed, for an attention item: "copying the time entry 1.50 h by Jane Doe on … (logged)".
pub(super) fn what_failed(carried: &CarriedTimeEntry) -> String {
    format!(
        "copying the time entry {} ({})",
        carried.described,
        carried.change.as_str()
    )
}

/// Refuses a draft the receiving side's configuration cannot log yet, before anything is sent.
fn check_configured(draft: &TimeEntryDraft) -> Result<(), PlatformError> {
    let mut missing = Vec::new();
    if draft.role.is_none() {
        missing.push("the role");
    }
    if draft.billing_code.is_none() {
        missing.push("the work type");
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(PlatformError::Rejected(format!(
        "time entries arrive as time entries, but {} for them is not chosen: choose it under \
         \"Time entries\" in the Integration configuration",
        missing.join(" and ")
    )))
}

impl TicketApplier<'_> {
    /// Applies one time-entry write on ticket `id` of side `on`.
    pub(super) async fn write_time_entry_once(
        &self,
        on: Role,
        id: &TicketId,
        write: &TimeEntryWrite,
    ) -> Result<ActionOutcome, ApplyError> {
        let platform = self.platform(on);
        match write {
            TimeEntryWrite::Create(draft) => {
                check_configured(draft)?;
                match platform.create_time_entry(id, draft).await {
                    Ok(entry) => Ok(ActionOutcome::TimeEntryWritten(entry)),
                    Err(error) if error.is_ambiguous_write() => {
                        let mut entries = platform
                            .time_entries_of_tickets(std::slice::from_ref(id))
                            .await?;
                        let found = entries
                            .remove(id)
                            .unwrap_or_default()
                            .into_iter()
                            .find(|entry| entry.marker.as_ref() == Some(&draft.marker));
                        match found {
                            Some(entry) => Ok(ActionOutcome::TimeEntryWritten(entry.id)),
                            None => Err(error.into()),
                        }
                    }
                    Err(error) => Err(error.into()),
                }
            }
            TimeEntryWrite::Update { copy, draft } => {
                match platform.update_time_entry(copy, draft).await {
                    Err(error) if error.is_ambiguous_write() => {
                        platform.update_time_entry(copy, draft).await?
                    }
                    other => other?,
                }
                Ok(ActionOutcome::Applied)
            }
            TimeEntryWrite::Delete { copy } => {
                match platform.delete_time_entry(copy).await {
                    Ok(()) | Err(PlatformError::NotFound(_)) => {}
                    Err(error) if error.is_ambiguous_write() => {
                        match platform.delete_time_entry(copy).await {
                            Ok(()) | Err(PlatformError::NotFound(_)) => {}
                            Err(error) => return Err(error.into()),
                        }
                    }
                    Err(error) => return Err(error.into()),
                }
                Ok(ActionOutcome::Applied)
            }
        }
    }
}
