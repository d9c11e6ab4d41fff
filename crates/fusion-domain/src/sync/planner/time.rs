//! Planning time entries: the entries one side logs on a synced ticket arrive on the partner's
//! copy as notes (when the receiving side chose "as notes"). A new entry becomes one note (who,
//! when, hours, summary); an edit (day, times, hours, worker or summary) and a deletion each
//! become a follow-up note, once. Internal notes, rates, costs and billing amounts are never
//! carried — the snapshots do not even hold them.
//!
//! Loop and duplicate safety, the same as comments: the notes are written by the sync's own API
//! user (never sent back as comments), every note ends with the entry's reference, and a note
//! made before a crash is found again by its exact content among our own notes and linked
//! instead of written twice.

use std::collections::BTreeSet;

use time::OffsetDateTime;

use crate::integration::{TimeArrival, TimeSendFilter};
use crate::relationship::Role;
use crate::sync::action::{CarriedTimeEntry, CommentDraft, PlannedTicket, SyncAction, TimeChange};
use crate::sync::fingerprint::Fingerprint;
use crate::sync::link::{CopiedTimeEntry, TicketLink};
use crate::sync::snapshot::TimeEntrySnapshot;

use super::{Planner, TicketState};

/// The fingerprint of what a time entry says (day, start, end, hours, worker, summary): a
/// change to any of them is carried as an edit.
pub(crate) fn time_entry_fingerprint(entry: &TimeEntrySnapshot) -> Fingerprint {
    let at = |time: Option<OffsetDateTime>| {
        time.map_or_else(String::new, |time| time.unix_timestamp().to_string())
    };
    Fingerprint::of_text(&format!(
        "time:{}|{}|{}|{}|{}|{}",
        entry.date_worked,
        at(entry.start),
        at(entry.end),
        entry.hours.hundredths(),
        entry.resource_name.trim(),
        entry.summary.trim()
    ))
}

/// "1.50 h by Jane Doe on 2026-12-04".
pub(crate) fn describe_time_entry(entry: &TimeEntrySnapshot) -> String {
    let name = entry.resource_name.trim();
    if name.is_empty() {
        format!("{} on {}", entry.hours, entry.date_worked)
    } else {
        format!("{} by {name} on {}", entry.hours, entry.date_worked)
    }
}

/// "09:00–10:30 UTC" when both times are known.
fn span(entry: &TimeEntrySnapshot) -> Option<String> {
    let (start, end) = (entry.start?, entry.end?);
    let clock = |at: OffsetDateTime| {
        let at = at.to_offset(time::UtcOffset::UTC);
        format!("{:02}:{:02}", at.hour(), at.minute())
    };
    Some(format!("{}\u{2013}{} UTC", clock(start), clock(end)))
}

impl Planner<'_> {
    /// Notes for the time entries of `state` (on side `from`) that the other side has not been
    /// told about yet: new, changed or deleted since the last note.
    pub(super) fn plan_time_entries(
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
        match receiver.config.time_entries.arrive_as {
            TimeArrival::Off => return,
            TimeArrival::TimeEntries => {
                self.plan_time_entry_copies(from, state, partner, ticket, link, actions);
                return;
            }
            TimeArrival::Notes => {}
        }
        // Not read in this run (the sending side's entries were not needed): nothing is known,
        // so nothing is planned — above all, no entry counts as deleted.
        let Some(entries) = &state.time_entries else {
            return;
        };
        let organisation = &sender.organisation_name;
        let reference = |id: &str| format!("[{organisation} time entry {id}]");
        let defaults = &receiver.config.receive.public_comment;
        let mut claimed = BTreeSet::new();
        let mut notes = Vec::new();
        for entry in entries {
            if entry.resource.is_some() && entry.resource == sender.own_actor {
                continue;
            }
            // A copy the sync made is never sent back.
            if entry.marker.is_some()
                || link.is_some_and(|link| link.knows_time_entry_copy(from, &entry.id))
            {
                continue;
            }
            let known = link.and_then(|link| link.time_entry(from, &entry.id));
            if known.is_none() && link.is_some_and(|link| link.withheld(entry.created_at)) {
                continue;
            }
            if sender.config.time_entries.send == TimeSendFilter::PublicSummaryOnly
                && !entry.summary_public
            {
                continue;
            }
            let fingerprint = time_entry_fingerprint(entry);
            let described = describe_time_entry(entry);
            let change = match known {
                None => TimeChange::Logged,
                Some(known) if known.deleted || known.fingerprint == fingerprint => continue,
                Some(_) => TimeChange::Changed,
            };
            let worker = entry.resource_name.trim();
            let attribution = if worker.is_empty() {
                format!("From {organisation}:")
            } else {
                format!("From {organisation} \u{2014} {worker}:")
            };
            let when = match span(entry) {
                Some(span) => format!("{} worked on {} ({span})", entry.hours, entry.date_worked),
                None => format!("{} worked on {}", entry.hours, entry.date_worked),
            };
            let summary = entry.summary.trim();
            let summary = if summary.is_empty() {
                String::new()
            } else {
                format!("\n\n{summary}")
            };
            let by = if worker.is_empty() {
                String::new()
            } else {
                format!(" by {worker}")
            };
            let (title, body) = match (change, known) {
                (TimeChange::Changed, Some(known)) => (
                    format!("Time entry changed: now {}{by}", entry.hours),
                    format!(
                        "{attribution} a time entry was changed; it now reads {when} (it read {}).{summary}\n\n{}",
                        known.described,
                        reference(entry.id.as_str())
                    ),
                ),
                _ => (
                    format!("Time logged: {}{by}", entry.hours),
                    format!(
                        "{attribution} {when}.{summary}\n\n{}",
                        reference(entry.id.as_str())
                    ),
                ),
            };
            notes.push((
                entry.id.clone(),
                title,
                body,
                CarriedTimeEntry {
                    change,
                    fingerprint,
                    described,
                    hours: entry.hours,
                },
            ));
        }
        // Entries carried before and gone now were deleted on their side.
        let gone = link.into_iter().flat_map(|link| {
            link.time_entries.iter().filter(|item| {
                item.from == from
                    && !item.deleted
                    && item.copy.is_none()
                    && !entries.iter().any(|entry| entry.id == item.original)
            })
        });
        for item in gone {
            let CopiedTimeEntry {
                original,
                fingerprint,
                described,
                ..
            } = item;
            notes.push((
                original.clone(),
                format!("Time entry deleted: {described}"),
                format!(
                    "From {organisation}: the time entry of {described} was deleted.\n\n{}",
                    reference(original.as_str())
                ),
                CarriedTimeEntry {
                    change: TimeChange::Deleted,
                    fingerprint: fingerprint.clone(),
                    described: described.clone(),
                    hours: hours_of(described),
                },
            ));
        }
        for (original, title, body, carried) in notes {
            let draft = CommentDraft {
                title,
                body,
                publish: defaults.publish.clone(),
                note_type: defaults.note_type.clone(),
            };
            let wanted = Fingerprint::of_text(&draft.body);
            let existing = partner.and_then(|partner| {
                partner.comments.iter().find(|candidate| {
                    candidate.author.is_some()
                        && candidate.author == receiver.own_actor
                        && !claimed.contains(&candidate.id)
                        && !link.is_some_and(|link| {
                            link.knows_comment(from.opposite(), &candidate.id)
                                || link.knows_time_note(from.opposite(), &candidate.id)
                        })
                        && Fingerprint::of_text(&candidate.body) == wanted
                })
            });
            match existing {
                Some(note) => {
                    claimed.insert(note.id.clone());
                    actions.push(SyncAction::LinkTimeNote {
                        from,
                        original,
                        note: note.id.clone(),
                        carried,
                    });
                }
                None => actions.push(SyncAction::AddTimeNote {
                    on: from.opposite(),
                    ticket: ticket.clone(),
                    from: original,
                    draft,
                    carried,
                }),
            }
        }
    }
}

/// The hours at the start of a description ("1.50 h by …"), 0 when it cannot be read.
pub(super) fn hours_of(described: &str) -> crate::sync::snapshot::Hours {
    crate::sync::snapshot::Hours::from_description(described)
}
