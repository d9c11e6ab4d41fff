//! Reading created copies back together: a platform may answer a create with only the new
//! ticket's id (Autotask's `POST Tickets` does), and its number and the platform's defaults are
//! read for a whole page of created tickets at once (`Platform::tickets`: one query per 500).
//!
//! Crash-safe order for one copy: the pending create is recorded before the create is sent; the
//! link is saved right after it, with the copy's id but no number yet (a link whose copy has no
//! number is a create not read back); the copy is read back with the others of its page, the
//! link completed (number, baseline fingerprints of the fields the copy got from its defaults)
//! and only then is the pending create cleared. A crash in between leaves the pending create
//! and the incomplete link: the next run's gather reads the copy and completes the link before
//! planning (`gather::complete_unread_copies`), so nothing is created twice and no default of
//! the copy is ever mistaken for a change.

use std::collections::HashMap;

use fusion_domain::Role;
use fusion_domain::sync::{Fingerprint, TicketDraft, TicketId, TicketLink, TicketSnapshot};
use time::OffsetDateTime;

use super::{TicketApplier, TicketResult};
use crate::ports::StoreError;

/// A copy created in this run and not read back yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReadBack {
    /// The side the copy was created on.
    pub on: Role,
    pub copy: TicketId,
    /// The original's id (on the other side): the key of the pending create.
    pub original: TicketId,
    /// Fields of side `on` whose value the copy got from its defaults: their fingerprints are
    /// taken from the copy as read back.
    pub baseline_fields: Vec<String>,
}

/// What is known of a copy the platform has not returned yet: its id and what the draft said.
/// Its number is empty (the mark of a link not read back) and its baseline fields are not
/// trusted: they are taken when the copy is read back.
pub(crate) fn unread_copy(
    id: TicketId,
    draft: &TicketDraft,
    now: OffsetDateTime,
) -> TicketSnapshot {
    TicketSnapshot {
        id,
        number: String::new(),
        title: draft.title.clone(),
        description: draft.description.clone(),
        status: draft.status.clone(),
        queue: draft.queue.clone(),
        company: draft.company.clone(),
        category: draft.category.clone(),
        fields: draft.fields.clone(),
        labels: Default::default(),
        marker: Some(draft.marker.as_str().to_owned()),
        created_at: now,
        created_by: None,
        last_activity_at: now,
        last_activity_by: None,
    }
}

/// Completes the link of a copy created on `on` from the copy as read back: its number, and for
/// each of `fields` without a fingerprint on that side, the fingerprint of the copy's value (that
/// value counts as in step, exactly as when the copy is read back at once).
pub(crate) fn complete_link<'f>(
    link: &mut TicketLink,
    on: Role,
    copy: &TicketSnapshot,
    fields: impl IntoIterator<Item = &'f str>,
) {
    match on {
        Role::Source => link.source_number = copy.number.clone(),
        Role::Target => link.target_number = copy.number.clone(),
    }
    for field in fields {
        link.fields_mut(on)
            .entry(field.to_owned())
            .or_insert_with(|| Fingerprint::of_value(&copy.field(field)));
    }
}

impl TicketApplier<'_> {
    /// Reads back every copy the tickets of `results` created unread (per side, in one call),
    /// completes their links and clears their pending creates (in one store transaction) and
    /// puts the numbers in their records. A copy that cannot be read now is left to the next run (its pending create
    /// stays), with a note on the record. Store failures end the run.
    pub async fn complete_read_backs(
        &self,
        results: &mut [(usize, TicketResult)],
    ) -> Result<(), StoreError> {
        for side in [Role::Source, Role::Target] {
            let ids: Vec<TicketId> = results
                .iter()
                .filter_map(|(_, result)| result.read_back.as_ref())
                .filter(|read_back| read_back.on == side)
                .map(|read_back| read_back.copy.clone())
                .collect();
            if ids.is_empty() {
                continue;
            }
            let read: Result<HashMap<TicketId, TicketSnapshot>, _> =
                self.platform(side).tickets(&ids).await.map(|found| {
                    found
                        .into_iter()
                        .map(|ticket| (ticket.id.clone(), ticket))
                        .collect()
                });
            let mut links = Vec::new();
            let mut cleared = Vec::new();
            for (_, result) in results.iter_mut() {
                if result.read_back.as_ref().is_none_or(|rb| rb.on != side) {
                    continue;
                }
                let Some(read_back) = result.read_back.take() else {
                    continue;
                };
                let copy = match &read {
                    Ok(read) => read.get(&read_back.copy),
                    Err(error) => {
                        unread_note(result, &read_back, &error.to_string());
                        continue;
                    }
                };
                let (Some(copy), Some(link)) = (copy, result.link.as_mut()) else {
                    unread_note(result, &read_back, "the platform did not return it");
                    continue;
                };
                complete_link(
                    link,
                    side,
                    copy,
                    read_back.baseline_fields.iter().map(String::as_str),
                );
                links.push(link.clone());
                cleared.push((side.opposite(), read_back.original.clone()));
                if let Some(record) = &mut result.record {
                    let number = Some(copy.number.clone());
                    match side {
                        Role::Source => record.source_number = number,
                        Role::Target => record.target_number = number,
                    }
                }
            }
            self.store
                .complete_links(self.setup.relationship, &links, &cleared)
                .await?;
        }
        Ok(())
    }
}

fn unread_note(result: &mut TicketResult, read_back: &ReadBack, why: &str) {
    tracing::warn!(copy = %read_back.copy.as_str(), %why, "a created copy could not be read back; the next run reads it");
    if let Some(record) = &mut result.record {
        record.notes.push(format!(
            "The copy {} was created but could not be read back yet ({why}); the next run reads \
             its number",
            read_back.copy.as_str()
        ));
    }
}
