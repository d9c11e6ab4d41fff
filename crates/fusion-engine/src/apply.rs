//! Applying one ticket's plan: each action through the platform of the side it writes to, the
//! link saved after every successful write, and the ticket's record built from what happened.
//!
//! Safety rules:
//! - A create is announced to the store (pending create) before it is sent and the link is saved
//!   right after it succeeds; the pending entry is cleared only then.
//! - After an ambiguous failure (`PlatformError::is_ambiguous_write`) a ticket is looked up by its
//!   marker, a comment by its body among our own comments, an attachment by name and size among
//!   our own attachments — found means done. A ticket not found is created once more; a comment or
//!   attachment not found is left to the next run (whose planner finds it by content if it did
//!   land), so nothing is ever written twice.
//! - Field updates and closures are idempotent and are simply sent again once.
//! - An error that stops the run (authentication, budget) ends the ticket and the run at once.

use std::collections::HashMap;

use fusion_domain::Clock;
use fusion_domain::Role;
use fusion_domain::sync::{
    ActionOutcome, ActorId, Fingerprint, PlannedTicket, RecordOutcome, SyncAction, SyncRecord,
    SyncRunId, TicketId, TicketLink, TicketPlan, link_after_success,
};
use fusion_store::{PendingCreate, StoreError, SyncStore};
use time::OffsetDateTime;

use crate::engine::SyncSetup;
use crate::platform::{Platform, PlatformError};

/// Applies ticket plans for one run.
pub(crate) struct TicketApplier<'a> {
    pub store: &'a dyn SyncStore,
    pub clock: &'a dyn Clock,
    pub setup: &'a SyncSetup,
    pub run: SyncRunId,
    /// The sync's own actor per side (source, target).
    pub own_actors: [Option<ActorId>; 2],
    /// The last activity of every ticket as read for planning, by side and id.
    pub activity: HashMap<(Role, TicketId), OffsetDateTime>,
}

/// What applying one ticket's plan gave.
#[derive(Debug, Default)]
pub(crate) struct TicketResult {
    /// `None` when nothing was written and nothing failed (skipped).
    pub record: Option<SyncRecord>,
    pub conflicts: u32,
    /// A planned failure (field, attachment) or a failed write: the run is Partial.
    pub partial: bool,
    /// Set when the run must stop (authentication failed, budget used up): the reason.
    pub stop: Option<String>,
}

enum ApplyError {
    Store(StoreError),
    Platform(PlatformError),
}

impl From<StoreError> for ApplyError {
    fn from(error: StoreError) -> Self {
        ApplyError::Store(error)
    }
}

impl From<PlatformError> for ApplyError {
    fn from(error: PlatformError) -> Self {
        ApplyError::Platform(error)
    }
}

/// The side an action writes to on a platform, if any.
fn written_side(action: &SyncAction) -> Option<Role> {
    match action {
        SyncAction::CreateTicket { on, .. }
        | SyncAction::UpdateFields { on, .. }
        | SyncAction::AddComment { on, .. }
        | SyncAction::AddAttachment { on, .. }
        | SyncAction::Close { on, .. } => Some(*on),
        _ => None,
    }
}

fn describe(action: &SyncAction) -> &'static str {
    match action {
        SyncAction::CreateTicket { .. } => "creating the ticket",
        SyncAction::UpdateFields { .. } => "updating fields",
        SyncAction::AddComment { .. } => "adding a comment",
        SyncAction::AddAttachment { .. } => "adding an attachment",
        SyncAction::Close { .. } => "closing the ticket",
        _ => "recording the link",
    }
}

impl TicketApplier<'_> {
    fn platform(&self, side: Role) -> &dyn Platform {
        self.setup.side(side).platform.as_ref()
    }

    fn own_actor(&self, side: Role) -> Option<&ActorId> {
        match side {
            Role::Source => self.own_actors[0].as_ref(),
            Role::Target => self.own_actors[1].as_ref(),
        }
    }

    /// Applies the plan's actions in order. Store failures end the run (returned as `Err`).
    pub async fn apply(&self, plan: &TicketPlan) -> Result<TicketResult, StoreError> {
        let mut result = TicketResult::default();
        let mut link = plan.link.clone();
        let (mut created, mut closed, mut updated) = (false, false, false);
        let (mut failed_comments, mut failed_attachments) = (0_u32, 0_u32);
        let mut errors: Vec<String> = Vec::new();
        let mut notes: Vec<String> = Vec::new();
        let mut create_failed = false;
        for action in &plan.actions {
            match action {
                SyncAction::Skip { .. } => continue,
                SyncAction::Conflict { field, winner } => {
                    result.conflicts += 1;
                    notes.push(format!(
                        "Conflict on {field}: both sides changed it; the {} value was kept",
                        winner.label().to_lowercase()
                    ));
                    continue;
                }
                SyncAction::FieldFailure { field, reason } => {
                    result.partial = true;
                    notes.push(format!("Field {field} not synced: {reason}"));
                    continue;
                }
                SyncAction::AttachmentFailure { reason, .. } => {
                    result.partial = true;
                    failed_attachments += 1;
                    notes.push(format!("Attachment not synced: {reason}"));
                    continue;
                }
                _ => {}
            }
            let on_created = matches!(
                action,
                SyncAction::AddComment {
                    ticket: PlannedTicket::Created,
                    ..
                } | SyncAction::AddAttachment {
                    ticket: PlannedTicket::Created,
                    ..
                } | SyncAction::Close {
                    ticket: PlannedTicket::Created,
                    ..
                }
            );
            if create_failed && on_created {
                match action {
                    SyncAction::AddComment { .. } => failed_comments += 1,
                    SyncAction::AddAttachment { .. } => failed_attachments += 1,
                    _ => {}
                }
                continue;
            }
            match self.write(link.as_ref(), action).await {
                Ok(outcome) => {
                    let now = self.clock.now();
                    if let Some(new_link) = link_after_success(
                        self.setup.relationship,
                        plan,
                        link.as_ref(),
                        action,
                        &outcome,
                        now,
                    ) {
                        self.store.upsert_link(&new_link).await?;
                        link = Some(new_link);
                    }
                    match action {
                        SyncAction::CreateTicket { on, from, .. } => {
                            self.store
                                .clear_pending_create(self.setup.relationship, on.opposite(), from)
                                .await?;
                            created = true;
                        }
                        SyncAction::LinkExisting {
                            source,
                            target,
                            origin,
                            ..
                        } => {
                            let original = match origin {
                                Role::Source => source,
                                Role::Target => target,
                            };
                            self.store
                                .clear_pending_create(self.setup.relationship, *origin, original)
                                .await?;
                            created = true;
                        }
                        SyncAction::Close { .. } => closed = true,
                        SyncAction::UpdateFields { .. }
                        | SyncAction::AddComment { .. }
                        | SyncAction::AddAttachment { .. } => updated = true,
                        _ => {}
                    }
                }
                Err(ApplyError::Store(error)) => return Err(error),
                Err(ApplyError::Platform(error)) => {
                    result.partial = true;
                    match action {
                        SyncAction::CreateTicket { .. } => create_failed = true,
                        SyncAction::AddComment { .. } => failed_comments += 1,
                        SyncAction::AddAttachment { .. } => failed_attachments += 1,
                        _ => {}
                    }
                    errors.push(format!("{} failed: {error}", describe(action)));
                    if error.stops_the_run() {
                        result.stop = Some(error.to_string());
                        break;
                    }
                }
            }
        }
        // A pair left in step: remember the activity read on each side nothing was written to, so
        // the next run does not read it again until something happens to it.
        if errors.is_empty()
            && !result.partial
            && result.stop.is_none()
            && let Some(current) = &link
        {
            let mut seen = current.clone();
            for side in [Role::Source, Role::Target] {
                let written = plan
                    .actions
                    .iter()
                    .any(|action| written_side(action) == Some(side));
                if let Some(at) = self.activity.get(&(side, current.ticket(side).clone()))
                    && !written
                {
                    seen.mark_seen(side, *at);
                }
            }
            if &seen != current {
                self.store.upsert_link(&seen).await?;
                link = Some(seen);
            }
        }
        let outcome = if !errors.is_empty() {
            Some(RecordOutcome::Failed)
        } else if created {
            Some(RecordOutcome::Created)
        } else if closed {
            Some(RecordOutcome::Closed)
        } else if updated {
            Some(RecordOutcome::Updated)
        } else if result.partial {
            Some(RecordOutcome::Failed)
        } else {
            None
        };
        result.record = outcome.map(|outcome| {
            let reference = |side: Role| {
                plan.ticket(side)
                    .map(|ticket| (ticket.id.clone(), ticket.number.clone()))
                    .or_else(|| {
                        link.as_ref()
                            .map(|link| (link.ticket(side).clone(), link.number(side).to_owned()))
                    })
            };
            let source = reference(Role::Source);
            let target = reference(Role::Target);
            SyncRecord {
                run: self.run,
                relationship: self.setup.relationship,
                origin: plan.origin,
                source_ticket: source.as_ref().map(|(id, _)| id.clone()),
                source_number: source.map(|(_, number)| number),
                target_ticket: target.as_ref().map(|(id, _)| id.clone()),
                target_number: target.map(|(_, number)| number),
                outcome,
                error: errors.first().cloned().or_else(|| {
                    (outcome == RecordOutcome::Failed)
                        .then(|| notes.first().cloned())
                        .flatten()
                }),
                failed_comments,
                failed_attachments,
                notes,
                recorded_at: self.clock.now(),
            }
        });
        Ok(result)
    }

    fn resolve(
        &self,
        ticket: &PlannedTicket,
        link: Option<&TicketLink>,
        on: Role,
    ) -> Result<TicketId, ApplyError> {
        match ticket {
            PlannedTicket::Existing(id) => Ok(id.clone()),
            PlannedTicket::Created => link.map(|link| link.ticket(on).clone()).ok_or_else(|| {
                ApplyError::Platform(PlatformError::NotFound(
                    "the ticket this was meant for was not created".into(),
                ))
            }),
        }
    }

    async fn write(
        &self,
        link: Option<&TicketLink>,
        action: &SyncAction,
    ) -> Result<ActionOutcome, ApplyError> {
        match action {
            SyncAction::CreateTicket {
                on, from, draft, ..
            } => {
                let platform = self.platform(*on);
                self.store
                    .record_pending_create(&PendingCreate {
                        relationship: self.setup.relationship,
                        origin: on.opposite(),
                        origin_ticket: from.clone(),
                        marker: draft.marker.clone(),
                        started_at: self.clock.now(),
                    })
                    .await?;
                let created = match platform.create_ticket(draft).await {
                    Ok(ticket) => ticket,
                    Err(error) if error.is_ambiguous_write() => {
                        match platform.find_by_marker(&draft.marker).await? {
                            Some(ticket) => ticket,
                            // Not there: the create never happened; send it once more (a second
                            // ambiguous failure leaves the pending create for the next run).
                            None => platform.create_ticket(draft).await?,
                        }
                    }
                    Err(error) => {
                        self.store
                            .clear_pending_create(self.setup.relationship, on.opposite(), from)
                            .await?;
                        return Err(error.into());
                    }
                };
                Ok(ActionOutcome::TicketCreated(Box::new(created)))
            }
            SyncAction::UpdateFields {
                on,
                ticket,
                changes,
                ..
            } => {
                let platform = self.platform(*on);
                match platform.update_ticket(ticket, changes).await {
                    Err(error) if error.is_ambiguous_write() => {
                        platform.update_ticket(ticket, changes).await?
                    }
                    other => other?,
                }
                Ok(ActionOutcome::Applied)
            }
            SyncAction::Close {
                on, ticket, status, ..
            } => {
                let platform = self.platform(*on);
                let id = self.resolve(ticket, link, *on)?;
                match platform.close_ticket(&id, status).await {
                    Err(error) if error.is_ambiguous_write() => {
                        platform.close_ticket(&id, status).await?
                    }
                    other => other?,
                }
                Ok(ActionOutcome::Applied)
            }
            SyncAction::AddComment {
                on, ticket, draft, ..
            } => {
                let platform = self.platform(*on);
                let id = self.resolve(ticket, link, *on)?;
                match platform.add_comment(&id, draft).await {
                    Ok(comment) => Ok(ActionOutcome::CommentAdded(comment)),
                    Err(error) if error.is_ambiguous_write() => {
                        let body = Fingerprint::of_text(&draft.body);
                        let own = self.own_actor(*on);
                        let existing = platform.comments(&id, None).await?;
                        let found = existing.into_iter().find(|comment| {
                            own.is_some()
                                && comment.author.as_ref() == own
                                && Fingerprint::of_text(&comment.body) == body
                                && !link.is_some_and(|link| link.knows_comment(*on, &comment.id))
                        });
                        match found {
                            Some(comment) => Ok(ActionOutcome::CommentAdded(comment.id)),
                            None => Err(error.into()),
                        }
                    }
                    Err(error) => Err(error.into()),
                }
            }
            SyncAction::AddAttachment {
                on,
                ticket,
                from_ticket,
                from,
                draft,
            } => {
                let platform = self.platform(*on);
                let id = self.resolve(ticket, link, *on)?;
                let data = self
                    .platform(on.opposite())
                    .attachment_data(from_ticket, from)
                    .await?;
                match platform.add_attachment(&id, draft, data).await {
                    Ok(attachment) => Ok(ActionOutcome::AttachmentAdded(attachment)),
                    Err(error) if error.is_ambiguous_write() => {
                        let own = self.own_actor(*on);
                        let existing = platform.attachments(&id).await?;
                        let found = existing.into_iter().find(|attachment| {
                            own.is_some()
                                && attachment.author.as_ref() == own
                                && attachment.name == draft.name
                                && attachment.size_bytes == draft.size_bytes
                                && !link
                                    .is_some_and(|link| link.knows_attachment(*on, &attachment.id))
                        });
                        match found {
                            Some(attachment) => Ok(ActionOutcome::AttachmentAdded(attachment.id)),
                            None => Err(error.into()),
                        }
                    }
                    Err(error) => Err(error.into()),
                }
            }
            SyncAction::LinkExisting { .. }
            | SyncAction::LinkComment { .. }
            | SyncAction::LinkAttachment { .. }
            | SyncAction::ClosedState { .. } => Ok(ActionOutcome::Applied),
            SyncAction::Skip { .. }
            | SyncAction::Conflict { .. }
            | SyncAction::FieldFailure { .. }
            | SyncAction::AttachmentFailure { .. } => Ok(ActionOutcome::Applied),
        }
    }
}
