//! A person's repair of one ticket: Retry now, Resync, Skip a failure, Unlink, Link two tickets.
//!
//! Every repair is a run (trigger Repair, with who started it) under the same leases as any run:
//! its store change is made once the leases are held — so no run in flight overwrites it — and
//! the ticket is then read, planned and applied like in any run (through the planner and the
//! privacy guard), so its outcome is in the run's records. Nothing is ever deleted.

use fusion_domain::sync::{
    AttentionState, AttentionSubject, LinkEnd, SyncRecord, SyncRun, TicketId, TicketLink,
};
use fusion_domain::{RelationshipId, Role};
use time::OffsetDateTime;

use crate::engine::SyncEngine;
use crate::ports::{AttentionFilter, StoreError, SyncStore};
use crate::setup::SyncSetup;

/// What a person asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepairStep {
    /// Try the ticket's failures again now.
    Retry,
    /// Send every mapped field of the original ticket to its copy again (only values that
    /// differ are written) and any comments and attachments the copy is missing.
    Resync,
    /// Stop trying one failure of the ticket; the ticket keeps syncing otherwise.
    Skip { subject: AttentionSubject },
    /// Stop syncing the pair; nothing is deleted and neither ticket is copied again.
    Unlink,
    /// Pair the source ticket (the repair's ticket) with this target ticket; both must belong to
    /// the relationship's companies and neither may be linked already.
    Link { target: TicketId },
}

impl RepairStep {
    pub fn label(&self) -> &'static str {
        match self {
            RepairStep::Retry => "Retry now",
            RepairStep::Resync => "Resync",
            RepairStep::Skip { .. } => "Skip",
            RepairStep::Unlink => "Unlink",
            RepairStep::Link { .. } => "Link",
        }
    }
}

/// Why a repair could not be done; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepairError {
    /// The ticket, link or failure named does not exist in this relationship.
    #[error("{0}")]
    NotFound(String),
    /// It exists but the repair does not apply (not linked, already linked, other company…).
    #[error("{0}")]
    Refused(String),
}

/// A ticket the connection cannot link: unknown on `side`, or another company's (the same words,
/// so nothing is revealed about tickets outside the connection's companies).
pub(crate) fn not_found_on(number: &str, side: Role) -> RepairError {
    RepairError::NotFound(format!(
        "no ticket {} of this connection's company was found on the {} side",
        number.trim(),
        side.label().to_lowercase()
    ))
}

/// The side and id of the original of the pair `ticket` belongs to (itself when unlinked).
pub(crate) async fn original_of(
    store: &dyn SyncStore,
    relationship: RelationshipId,
    side: Role,
    ticket: &TicketId,
) -> Result<(Role, TicketId, Option<TicketLink>), StoreError> {
    Ok(
        match store.link_by_ticket(relationship, side, ticket).await? {
            Some(link) => (link.origin, link.ticket(link.origin).clone(), Some(link)),
            None => (side, ticket.clone(), None),
        },
    )
}

impl SyncEngine {
    /// Makes the repair's store change (leases held, run not started yet). Returns the sentences
    /// for the repair's own record.
    pub(crate) async fn prepare_repair(
        &self,
        setup: &SyncSetup,
        side: Role,
        ticket: &TicketId,
        step: &RepairStep,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<Result<Vec<String>, RepairError>, StoreError> {
        let store = self.store();
        let relationship = setup.relationship;
        let (origin, original, link) = original_of(store, relationship, side, ticket).await?;
        let number = |link: &Option<TicketLink>| {
            link.as_ref()
                .map_or_else(|| ticket.as_str().to_owned(), |l| l.number(side).to_owned())
        };
        match step {
            RepairStep::Retry => {
                store
                    .request_attention_retry(relationship, Some((origin, original)))
                    .await?;
                Ok(Ok(vec![format!(
                    "Retry now of {} asked by {by}",
                    number(&link)
                )]))
            }
            RepairStep::Resync => {
                let Some(mut link) = link else {
                    return Ok(Err(RepairError::Refused(
                        "the ticket is not linked, so there is nothing to resync; use Retry now"
                            .into(),
                    )));
                };
                if link.ended.is_some() {
                    return Ok(Err(RepairError::Refused(
                        "the pair is unlinked; link it again first".into(),
                    )));
                }
                // Forget what was last sent from the original: every mapped field counts as
                // changed there, and the planner writes those that differ on the copy.
                link.fields_mut(origin).clear();
                link.updated_at = now;
                store.upsert_link(&link).await?;
                store
                    .request_attention_retry(relationship, Some((origin, original)))
                    .await?;
                Ok(Ok(vec![format!(
                    "Resync of {} asked by {by}: every mapped field is sent again, and any \
                     missing notes and attachments",
                    link.number(side)
                )]))
            }
            RepairStep::Skip { subject } => {
                let items = store
                    .attention_items(
                        relationship,
                        &AttentionFilter {
                            states: vec![AttentionState::Open],
                            origin_ticket: Some((origin, original)),
                        },
                    )
                    .await?;
                let Some(mut item) = items.into_iter().find(|item| &item.key.subject == subject)
                else {
                    return Ok(Err(RepairError::NotFound(
                        "no open failure of this ticket matches; it may have been resolved or \
                         skipped already"
                            .into(),
                    )));
                };
                item.state = AttentionState::Skipped;
                item.skipped_by = Some(by.to_owned());
                item.retry_requested = false;
                store.save_attention_item(&item).await?;
                Ok(Ok(vec![format!(
                    "Skipped by {by}: {} ({}); the rest of the ticket keeps syncing",
                    item.what, item.why
                )]))
            }
            RepairStep::Unlink => {
                let Some(mut link) = link else {
                    return Ok(Err(RepairError::Refused("the ticket is not linked".into())));
                };
                if link.ended.is_some() {
                    return Ok(Err(RepairError::Refused(
                        "the pair is already unlinked".into(),
                    )));
                }
                link.ended = Some(LinkEnd {
                    at: now,
                    reason: format!("unlinked by {by}"),
                });
                link.updated_at = now;
                store.upsert_link(&link).await?;
                for mut item in store
                    .attention_items(
                        relationship,
                        &AttentionFilter {
                            states: vec![AttentionState::Open],
                            origin_ticket: Some((origin, original)),
                        },
                    )
                    .await?
                {
                    item.state = AttentionState::Resolved;
                    item.resolved_at = Some(now);
                    store.save_attention_item(&item).await?;
                }
                Ok(Ok(vec![format!(
                    "Unlinked by {by}: {} and {} are no longer synced; nothing was deleted",
                    link.source_number, link.target_number
                )]))
            }
            RepairStep::Link { target } => self.prepare_link(setup, ticket, target, by, now).await,
        }
    }

    async fn prepare_link(
        &self,
        setup: &SyncSetup,
        source_id: &TicketId,
        target_id: &TicketId,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<Result<Vec<String>, RepairError>, StoreError> {
        let store = self.store();
        let relationship = setup.relationship;
        let mut read = Vec::new();
        for (side, id) in [(Role::Source, source_id), (Role::Target, target_id)] {
            let found = match setup.side(side).platform.ticket(id).await {
                Ok(found) => found,
                Err(error) => {
                    return Ok(Err(RepairError::Refused(format!(
                        "reading the {} ticket failed: {error}",
                        side.label().to_lowercase()
                    ))));
                }
            };
            let Some(ticket) = found else {
                return Ok(Err(RepairError::NotFound(format!(
                    "the {} ticket no longer exists",
                    side.label().to_lowercase()
                ))));
            };
            // Another company's ticket answers exactly like a number that does not exist: the
            // connection never learns whether other companies' tickets exist.
            let config = &setup.side(side).config;
            if !config.in_scope(ticket.company.as_ref()) {
                return Ok(Err(not_found_on(&ticket.number, side)));
            }
            if let Some(existing) = store.link_by_ticket(relationship, side, id).await?
                && existing.ended.is_none()
            {
                return Ok(Err(RepairError::Refused(format!(
                    "{} is already linked to {}; unlink it first",
                    ticket.number,
                    existing.number(side.opposite())
                ))));
            }
            read.push(ticket);
        }
        let (source, target) = (&read[0], &read[1]);
        // A pair unlinked earlier is replaced; a ticket is never linked twice.
        if let Some(old) = store
            .link_by_ticket(relationship, Role::Target, target_id)
            .await?
            && &old.source != source_id
        {
            return Ok(Err(RepairError::Refused(format!(
                "{} was linked to {} before; it cannot be linked to another ticket",
                target.number, old.source_number
            ))));
        }
        let link = TicketLink::paired_by_person(relationship, source, target, now);
        store.upsert_link(&link).await?;
        Ok(Ok(vec![format!(
            "Linked by {by}: {} ↔ {}; changes from now on are synced (earlier notes and \
             attachments stay where they are)",
            source.number, target.number
        )]))
    }
}

/// The record a repair's own change leaves in its run.
pub(crate) fn repair_record(
    step: &RepairStep,
    run: &SyncRun,
    link: Option<&TicketLink>,
    side: Role,
    ticket: &TicketId,
    notes: Vec<String>,
    now: OffsetDateTime,
) -> SyncRecord {
    let (source, target) = match link {
        Some(link) => (
            Some((link.source.clone(), link.source_number.clone())),
            Some((link.target.clone(), link.target_number.clone())),
        ),
        None => match side {
            Role::Source => (Some((ticket.clone(), ticket.as_str().to_owned())), None),
            Role::Target => (None, Some((ticket.clone(), ticket.as_str().to_owned()))),
        },
    };
    SyncRecord {
        run: run.id,
        relationship: run.relationship,
        origin: link.map_or(side, |link| link.origin),
        source_ticket: source.as_ref().map(|(id, _)| id.clone()),
        source_number: source.map(|(_, number)| number),
        target_ticket: target.as_ref().map(|(id, _)| id.clone()),
        target_number: target.map(|(_, number)| number),
        title: link.map(|link| link.title.clone()).unwrap_or_default(),
        outcome: match step {
            RepairStep::Skip { .. } => fusion_domain::sync::RecordOutcome::Skipped,
            _ => fusion_domain::sync::RecordOutcome::Updated,
        },
        error: None,
        failed_comments: 0,
        failed_attachments: 0,
        notes,
        recorded_at: now,
    }
}
