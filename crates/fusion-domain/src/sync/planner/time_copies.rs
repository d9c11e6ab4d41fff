//! Planning time entries that arrive as time entries: a new entry of the sending side becomes a
//! real time entry on the receiving side's linked ticket (by the resource with the worker's
//! e-mail, else the fallback resource, under the configured role and work type), an edit
//! (day, times, hours, worker or summary) changes that copy and a deletion deletes it — each
//! once. Rates, costs, billing amounts and internal notes are never carried: the snapshots do
//! not hold them, and the draft has no place for them.
//!
//! Loop and duplicate safety: every copy carries a [`TimeEntryMarker`] naming the relationship
//! and the original, so a copy is never sent back (whoever's entries the sending side reads) and
//! a copy made before a crash is found again among the receiving ticket's entries and linked
//! instead of logged twice.

use time::{OffsetDateTime, Time};

use crate::relationship::Role;
use crate::sync::action::{
    CarriedTimeEntry, PlannedTicket, SyncAction, TimeChange, TimeEntryDraft, TimeEntryWrite,
};
use crate::sync::ids::TimeEntryMarker;
use crate::sync::link::TicketLink;
use crate::sync::snapshot::TimeEntrySnapshot;

use super::time::{describe_time_entry, hours_of, time_entry_fingerprint};
use super::{Planner, TicketState};

/// Start and end for the copy: the original's when it has both, else 09:00 UTC of the day
/// worked (or the original's start) and that plus the hours.
fn span_of(entry: &TimeEntrySnapshot) -> (OffsetDateTime, OffsetDateTime) {
    if let (Some(start), Some(end)) = (entry.start, entry.end)
        && end > start
    {
        return (start, end);
    }
    let start = entry.start.unwrap_or_else(|| {
        entry
            .date_worked
            .with_time(Time::from_hms(9, 0, 0).unwrap_or(Time::MIDNIGHT))
            .assume_utc()
    });
    let minutes = i64::from(entry.hours.hundredths()) * 60 / 100;
    (start, start + time::Duration::minutes(minutes))
}

impl Planner<'_> {
    /// Time-entry copies for the entries of `state` (on side `from`) when the other side
    /// receives time as time entries: logged, changed or deleted since last carried.
    pub(super) fn plan_time_entry_copies(
        &self,
        from: Role,
        state: &TicketState,
        partner: Option<&TicketState>,
        ticket: PlannedTicket,
        link: Option<&TicketLink>,
        actions: &mut Vec<SyncAction>,
    ) {
        let sender = self.input.side(from);
        let receiver = self.input.side(from.opposite());
        let Some(entries) = &state.time_entries else {
            return;
        };
        let settings = &receiver.config.time_entries;
        let organisation = &sender.organisation_name;
        let relationship = self.input.relationship;
        let draft_of = |entry: &TimeEntrySnapshot| {
            let (start, end) = span_of(entry);
            let worker = entry.resource_name.trim();
            let worker = if worker.is_empty() {
                "someone".to_owned()
            } else {
                worker.to_owned()
            };
            let marker = TimeEntryMarker::for_copy_of(relationship, from, &entry.id);
            Box::new(TimeEntryDraft {
                worker_email: entry.resource_email.trim().to_owned(),
                worker_name: worker.clone(),
                fallback_resource: settings.fallback_resource.clone(),
                role: settings.role.clone(),
                billing_code: settings.billing_code.clone(),
                billable: settings.billable,
                date_worked: entry.date_worked,
                start,
                end,
                hours: entry.hours,
                summary: entry.summary.trim().to_owned(),
                origin_note: format!(
                    "Logged by {worker} at {organisation} (their time entry {}); copied by \
                     Support Fusion — change it there, not here.\n{marker}",
                    entry.id.as_str()
                ),
                marker,
            })
        };
        for entry in entries {
            if entry.resource.is_some() && entry.resource == sender.own_actor {
                continue;
            }
            // A copy the sync made (for any relationship) is never sent back.
            if entry.marker.is_some()
                || link.is_some_and(|link| link.knows_time_entry_copy(from, &entry.id))
            {
                continue;
            }
            let known = link.and_then(|link| link.time_entry(from, &entry.id));
            if known.is_none() && link.is_some_and(|link| link.withheld(entry.created_at)) {
                continue;
            }
            if sender.config.time_entries.send
                == crate::integration::TimeSendFilter::PublicSummaryOnly
                && !entry.summary_public
            {
                continue;
            }
            let fingerprint = time_entry_fingerprint(entry);
            let carried = |change| CarriedTimeEntry {
                change,
                fingerprint: fingerprint.clone(),
                described: describe_time_entry(entry),
                hours: entry.hours,
            };
            match known {
                None => {
                    let wanted = TimeEntryMarker::for_copy_of(relationship, from, &entry.id);
                    let found = partner.and_then(|partner| {
                        partner.time_entries.iter().flatten().find(|candidate| {
                            candidate.marker.as_ref() == Some(&wanted)
                                && !link.is_some_and(|link| {
                                    link.knows_time_entry_copy(from.opposite(), &candidate.id)
                                })
                        })
                    });
                    match found {
                        Some(copy) => actions.push(SyncAction::LinkTimeEntry {
                            from,
                            original: entry.id.clone(),
                            copy: copy.id.clone(),
                            carried: carried(TimeChange::Logged),
                        }),
                        None => actions.push(SyncAction::CopyTimeEntry {
                            on: from.opposite(),
                            ticket: ticket.clone(),
                            from: entry.id.clone(),
                            write: TimeEntryWrite::Create(draft_of(entry)),
                            carried: carried(TimeChange::Logged),
                        }),
                    }
                }
                // Deleted already, or carried as notes before time arrived as time entries
                // (its notes stay; it is not logged a second time).
                Some(known) if known.deleted || known.copy.is_none() => {}
                Some(known) if known.fingerprint == fingerprint => {}
                Some(known) => {
                    if let Some(copy) = &known.copy {
                        actions.push(SyncAction::CopyTimeEntry {
                            on: from.opposite(),
                            ticket: ticket.clone(),
                            from: entry.id.clone(),
                            write: TimeEntryWrite::Update {
                                copy: copy.clone(),
                                draft: draft_of(entry),
                            },
                            carried: carried(TimeChange::Changed),
                        });
                    }
                }
            }
        }
        // Entries copied before and gone now were deleted on their side: delete the copy.
        let gone = link.into_iter().flat_map(|link| {
            link.time_entries.iter().filter(|item| {
                item.from == from
                    && !item.deleted
                    && item.copy.is_some()
                    && !entries.iter().any(|entry| entry.id == item.original)
            })
        });
        for item in gone {
            let Some(copy) = &item.copy else { continue };
            actions.push(SyncAction::CopyTimeEntry {
                on: from.opposite(),
                ticket: ticket.clone(),
                from: item.original.clone(),
                write: TimeEntryWrite::Delete { copy: copy.clone() },
                carried: CarriedTimeEntry {
                    change: TimeChange::Deleted,
                    fingerprint: item.fingerprint.clone(),
                    described: item.described.clone(),
                    hours: hours_of(&item.described),
                },
            });
        }
    }
}
