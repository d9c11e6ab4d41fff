//! Applying one ticket's plan: each action through the platform of the side it writes to, the
//! link saved once the ticket's actions are done (one write to the store per ticket, not one per
//! action), and the ticket's record built from what happened.
//!
//! Safety rules:
//! - A create is announced to the store (pending create) before it is sent and the link is saved
//!   when the ticket is done; the pending entry is cleared only then (for a copy not read back
//!   yet, only once it is read back: `apply/read_back.rs`). A stop in between loses nothing: the
//!   next run finds the copy by its marker, and what was written to it by content.
//! - After an ambiguous failure (`PlatformError::is_ambiguous_write`) a ticket is looked up by its
//!   marker, a comment by its body among our own comments, an attachment by name and size among
//!   our own attachments — found means done. A ticket not found is created once more; a comment or
//!   attachment not found is left to the next run (whose planner finds it by content if it did
//!   land), so nothing is ever written twice.
//! - Field updates and closures are idempotent and are simply sent again once.
//! - An error that stops the run (authentication, budget) ends the ticket and the run at once.

use std::collections::HashMap;

use crate::ports::{PendingCreate, StoreError, SyncStore};
use fusion_domain::sync::{
    ActionOutcome, ActorId, AttentionSubject, CommentDraft, FailureClass, FieldRules, Fitting,
    HeldPeriod, PlannedTicket, RecordOutcome, SyncAction, SyncRecord, SyncRunId, TicketDraft,
    TicketId, TicketLink, TicketPlan, link_after_success, split_text,
};
use fusion_domain::{BySide, ChoiceValue, Clock, Role, SideConfig};
use time::OffsetDateTime;

use crate::budget::{Priority, current_purpose, serving};
use crate::platform::{CreatedTicket, Platform, PlatformError};
use crate::setup::SyncSetup;

mod read_back;
mod time_entries;
mod time_notes;

pub(crate) use read_back::{ReadBack, complete_link};

/// Applies ticket plans for one run.
pub(crate) struct TicketApplier<'a> {
    pub store: &'a dyn SyncStore,
    pub clock: &'a dyn Clock,
    pub setup: &'a SyncSetup,
    pub run: SyncRunId,
    /// The sync's own actor per side (source, target).
    pub own_actors: BySide<Option<ActorId>>,
    /// The last activity of every ticket as read for planning, by side and id.
    pub activity: HashMap<(Role, TicketId), OffsetDateTime>,
    /// The company of every ticket as read for planning, by side and id: the privacy guard's
    /// second look, independent of the planner's.
    pub companies: HashMap<(Role, TicketId), Option<ChoiceValue>>,
    /// What each side's platform accepts (source, target), to fit values before writing.
    pub field_rules: BySide<FieldRules>,
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
    /// The stop is the API budget's: the run waits, nothing failed.
    pub waits_for_budget: bool,
    /// Every failure (and every field warning a person should act on), by what it concerns.
    pub failures: Vec<Failure>,
    /// The pair's link as this ticket left it (`None` when it has none).
    pub link: Option<TicketLink>,
    /// A copy created without being read back: the run reads it with the others of its page
    /// and then completes the link (`read_back.rs`).
    pub read_back: Option<ReadBack>,
}

/// One failure of one part of a ticket, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub subject: AttentionSubject,
    pub class: FailureClass,
    /// What failed, e.g. "copying the attachment setup.iso".
    pub what: String,
    pub why: String,
    /// A warning: the ticket synced with a default value; it needs a person but is no failure.
    pub warning: bool,
}

impl Failure {
    fn of_action(action: &SyncAction, class: FailureClass, why: String) -> Option<Self> {
        Some(Self {
            subject: AttentionSubject::of_action(action)?,
            class,
            what: what_failed(action),
            why,
            warning: matches!(action, SyncAction::FieldWarning { .. }),
        })
    }
}

/// Whether a platform failure may go away on its own.
pub(crate) fn classify(error: &PlatformError) -> FailureClass {
    match error {
        PlatformError::Rejected(_)
        | PlatformError::PermissionDenied(_)
        | PlatformError::NotFound(_) => FailureClass::Permanent,
        PlatformError::Authentication(_)
        | PlatformError::RateLimited(_)
        | PlatformError::BudgetExhausted(_)
        | PlatformError::Unavailable(_)
        | PlatformError::OutcomeUnknown(_)
        | PlatformError::Malformed(_) => FailureClass::Transient,
    }
}

/// What an action does, naming its item, for an attention item.
pub(crate) fn what_failed(action: &SyncAction) -> String {
    match action {
        SyncAction::CreateTicket { on, .. } => {
            format!(
                "creating the copy on the {} side",
                on.label().to_lowercase()
            )
        }
        SyncAction::UpdateFields { changes, .. } => format!(
            "updating {}",
            changes
                .iter()
                .map(|change| change.field.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        SyncAction::AddComment { draft, .. } if !draft.title.is_empty() => {
            format!("copying the note \"{}\"", draft.title)
        }
        SyncAction::AddComment { .. } => "copying a note".into(),
        SyncAction::AddTimeNote { carried, .. } => format!(
            "telling the partner of the time entry {} ({})",
            carried.described,
            carried.change.as_str()
        ),
        SyncAction::CopyTimeEntry { carried, .. } => time_entries::what_failed(carried),
        SyncAction::AddAttachment { draft, .. } => {
            format!("copying the attachment {}", draft.name)
        }
        SyncAction::AttachmentFailure { name, .. } => format!("copying the attachment {name}"),
        SyncAction::FieldFailure { field, .. } | SyncAction::FieldWarning { field, .. } => {
            format!("carrying the field {field}")
        }
        SyncAction::Close { .. } => "closing the copy".into(),
        other => describe(other).into(),
    }
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
        | SyncAction::AddTimeNote { on, .. }
        | SyncAction::CopyTimeEntry { on, .. }
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
        SyncAction::AddTimeNote { .. } => "adding a time entry note",
        SyncAction::CopyTimeEntry { .. } => "copying a time entry",
        SyncAction::Close { .. } => "closing the ticket",
        SyncAction::EndLink { .. } => "ending the link",
        _ => "recording the link",
    }
}

/// The privacy rule checked again just before a write, independently of the planner: the
/// ticket written to and the ticket the content comes from must both belong to their side's
/// company scope, and a created ticket must be stamped with it. A refusal is an error on the
/// ticket's record; nothing is written.
pub(crate) fn privacy_guard(
    configs: [&SideConfig; 2],
    companies: &HashMap<(Role, TicketId), Option<ChoiceValue>>,
    plan: &TicketPlan,
    link: Option<&TicketLink>,
    action: &SyncAction,
) -> Result<(), String> {
    let config_of = |side: Role| match side {
        Role::Source => configs[0],
        Role::Target => configs[1],
    };
    let Some(on) = written_side(action) else {
        return Ok(());
    };
    let check = |side: Role, id: &TicketId| -> Result<(), String> {
        let config = config_of(side);
        match companies.get(&(side, id.clone())) {
            Some(company) if config.in_scope(company.as_ref()) => Ok(()),
            Some(company) => Err(format!(
                "refused by the privacy guard: ticket {} on the {} side belongs to company {}, \
                 not to the company this relationship carries ({})",
                id.as_str(),
                side.label().to_lowercase(),
                company.as_ref().map_or("none", ChoiceValue::as_str),
                config
                    .company_scope()
                    .map_or("none chosen", ChoiceValue::as_str)
            )),
            None => Err(format!(
                "refused by the privacy guard: ticket {} on the {} side was not read in this \
                 run, so its company cannot be checked",
                id.as_str(),
                side.label().to_lowercase()
            )),
        }
    };
    // Where the content comes from (a deleted ticket cannot be read: its notice carries only
    // what the deletion log said).
    let deletion = plan
        .actions
        .iter()
        .any(|action| matches!(action, SyncAction::EndLink { .. }));
    if !deletion {
        let from = on.opposite();
        let from_id = plan
            .ticket(from)
            .map(|ticket| ticket.id.clone())
            .or_else(|| link.map(|link| link.ticket(from).clone()));
        match from_id {
            Some(id) => check(from, &id)?,
            None => {
                return Err("refused by the privacy guard: the original ticket is unknown".into());
            }
        }
    }
    // Where it goes.
    let target = match action {
        SyncAction::CreateTicket { draft, .. } => {
            let config = config_of(on);
            if !config.in_scope(draft.company.as_ref()) {
                return Err(format!(
                    "refused by the privacy guard: the copy would be created for company {} on \
                     the {} side, not for the partner's company ({})",
                    draft.company.as_ref().map_or("none", ChoiceValue::as_str),
                    on.label().to_lowercase(),
                    config
                        .company_scope()
                        .map_or("none chosen", ChoiceValue::as_str)
                ));
            }
            return Ok(());
        }
        SyncAction::UpdateFields { ticket, .. } => Some(ticket.clone()),
        SyncAction::AddComment { ticket, .. }
        | SyncAction::AddAttachment { ticket, .. }
        | SyncAction::AddTimeNote { ticket, .. }
        | SyncAction::CopyTimeEntry { ticket, .. }
        | SyncAction::Close { ticket, .. } => match ticket {
            PlannedTicket::Existing(id) => Some(id.clone()),
            // Created in this plan, stamped with the scope company (checked at its create).
            PlannedTicket::Created => None,
        },
        _ => None,
    };
    match target {
        Some(id) => check(on, &id),
        None => Ok(()),
    }
}

impl TicketApplier<'_> {
    fn rules(&self, side: Role) -> &FieldRules {
        self.field_rules.get(side)
    }

    /// The action with its values fitted to what the receiving platform takes.
    fn fitted(&self, action: &SyncAction) -> (SyncAction, Vec<Fitting>) {
        let mut action = action.clone();
        let fittings = match &mut action {
            SyncAction::CreateTicket {
                on,
                draft,
                fingerprints,
                baseline_fields,
                ..
            } => self
                .rules(*on)
                .fit_draft(*on, draft, fingerprints, baseline_fields),
            SyncAction::UpdateFields {
                on,
                changes,
                fingerprints,
                ..
            } => self.rules(*on).fit_changes(*on, changes, fingerprints),
            SyncAction::AddComment { on, draft, .. }
            | SyncAction::AddTimeNote { on, draft, .. } => self.rules(*on).fit_comment(draft),
            _ => Vec::new(),
        };
        (action, fittings)
    }

    /// Adds the full text of every cut value as notes on the ticket just written; a failure is
    /// a note on the record, never a failed ticket.
    async fn add_full_texts(
        &self,
        on: Role,
        ticket: &TicketId,
        fittings: &[Fitting],
        notes: &mut Vec<String>,
    ) {
        let defaults = &self.setup.side(on).config.receive.public_comment;
        let max = self.rules(on).comment_body_max.unwrap_or(32_000);
        for fitting in fittings {
            let Some(full) = &fitting.full_text else {
                continue;
            };
            let header = format!(
                "Full text of {} from {} (cut to fit this field):\n",
                fitting.field,
                self.setup.side(on.opposite()).organisation_name
            );
            let room = max.saturating_sub(header.encode_utf16().count()).max(1);
            let pieces = split_text(full, room);
            let count = pieces.len();
            for (index, piece) in pieces.into_iter().enumerate() {
                let title = if count > 1 {
                    format!("Full {} ({} of {count})", fitting.field, index + 1)
                } else {
                    format!("Full {}", fitting.field)
                };
                let draft = CommentDraft {
                    title,
                    body: format!("{header}{piece}"),
                    publish: defaults.publish.clone(),
                    note_type: defaults.note_type.clone(),
                };
                if let Err(error) = self.platform(on).add_comment(ticket, &draft).await {
                    notes.push(format!(
                        "The full text of {} could not be added as a note: {error}",
                        fitting.field
                    ));
                    break;
                }
            }
        }
    }

    fn platform(&self, side: Role) -> &dyn Platform {
        self.setup.side(side).platform.as_ref()
    }

    fn own_actor(&self, side: Role) -> Option<&ActorId> {
        self.own_actors.get(side).as_ref()
    }

    /// Applies the plan's actions in order. Store failures end the run (returned as `Err`).
    pub async fn apply(&self, plan: &TicketPlan) -> Result<TicketResult, StoreError> {
        // A closure goes first when the API budget runs low (crate::budget).
        if plan
            .actions
            .iter()
            .any(|action| matches!(action, SyncAction::Close { .. }))
        {
            let purpose = current_purpose().at(Priority::Person);
            return serving(purpose, self.apply_actions(plan)).await;
        }
        self.apply_actions(plan).await
    }

    async fn apply_actions(&self, plan: &TicketPlan) -> Result<TicketResult, StoreError> {
        let mut result = TicketResult::default();
        let mut link = plan.link.clone();
        let (mut created, mut closed, mut updated) = (false, false, false);
        let (mut failed_comments, mut failed_attachments) = (0_u32, 0_u32);
        let mut errors: Vec<String> = Vec::new();
        let mut notes: Vec<String> = Vec::new();
        let mut create_failed = false;
        let mut held: Option<String> = None;
        let mut link_changed = false;
        // Pending creates the link now records, cleared once it is saved.
        let mut cleared: Vec<(Role, TicketId)> = Vec::new();
        for action in &plan.actions {
            match action {
                SyncAction::Skip { .. } => continue,
                SyncAction::Hold { reason } => {
                    held = Some(reason.clone());
                    // Open a held period: whatever is written while the ticket belongs to
                    // someone else stays withheld even after it moves back.
                    if let Some(current) = &link
                        && !current.is_held()
                    {
                        let mut holding = current.clone();
                        holding.held.push(HeldPeriod {
                            from: current.updated_at,
                            until: None,
                        });
                        link_changed = true;
                        link = Some(holding);
                    }
                    continue;
                }
                SyncAction::FieldWarning { field, reason } => {
                    notes.push(format!("Field {field}: {reason}"));
                    result.failures.extend(Failure::of_action(
                        action,
                        FailureClass::Permanent,
                        reason.clone(),
                    ));
                    continue;
                }
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
                    result.failures.extend(Failure::of_action(
                        action,
                        FailureClass::Permanent,
                        reason.clone(),
                    ));
                    continue;
                }
                SyncAction::AttachmentFailure { reason, .. } => {
                    result.partial = true;
                    failed_attachments += 1;
                    notes.push(format!("Attachment not synced: {reason}"));
                    result.failures.extend(Failure::of_action(
                        action,
                        FailureClass::Permanent,
                        reason.clone(),
                    ));
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
                } | SyncAction::AddTimeNote {
                    ticket: PlannedTicket::Created,
                    ..
                } | SyncAction::CopyTimeEntry {
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
            if let Err(refusal) = privacy_guard(
                [&self.setup.source.config, &self.setup.target.config],
                &self.companies,
                plan,
                link.as_ref(),
                action,
            ) {
                tracing::error!(relationship = %self.setup.relationship, %refusal, "privacy guard refused a write the planner allowed");
                result.partial = true;
                match action {
                    SyncAction::CreateTicket { .. } => create_failed = true,
                    SyncAction::AddComment { .. } => failed_comments += 1,
                    SyncAction::AddAttachment { .. } => failed_attachments += 1,
                    _ => {}
                }
                result.failures.extend(Failure::of_action(
                    action,
                    FailureClass::Permanent,
                    refusal.clone(),
                ));
                errors.push(refusal);
                continue;
            }
            let (action, fittings) = self.fitted(action);
            let action = &action;
            notes.extend(fittings.iter().map(|fitting| fitting.message.clone()));
            match self.write(link.as_ref(), action).await {
                Ok((outcome, unread)) => {
                    let now = self.clock.now();
                    // An unread copy's baseline fields are taken when it is read back.
                    let without_baseline;
                    let linked_action = match action {
                        SyncAction::CreateTicket {
                            on,
                            from,
                            baseline_fields,
                            ..
                        } if unread => {
                            if let ActionOutcome::TicketCreated(copy) = &outcome {
                                result.read_back = Some(ReadBack {
                                    on: *on,
                                    copy: copy.id.clone(),
                                    original: from.clone(),
                                    baseline_fields: baseline_fields.clone(),
                                });
                            }
                            let mut stripped = action.clone();
                            if let SyncAction::CreateTicket {
                                baseline_fields, ..
                            } = &mut stripped
                            {
                                baseline_fields.clear();
                            }
                            without_baseline = stripped;
                            &without_baseline
                        }
                        _ => action,
                    };
                    if let Some(new_link) = link_after_success(
                        self.setup.relationship,
                        plan,
                        link.as_ref(),
                        linked_action,
                        &outcome,
                        now,
                    ) {
                        let mut new_link = new_link;
                        if let Some(original) = plan.ticket(plan.origin)
                            && !original.title.is_empty()
                        {
                            new_link.title = original.title.clone();
                        }
                        link_changed = true;
                        link = Some(new_link);
                    }
                    if fittings.iter().any(|fitting| fitting.full_text.is_some())
                        && let Some(on) = written_side(action)
                    {
                        let written = match (&outcome, action) {
                            (ActionOutcome::TicketCreated(ticket), _) => Some(ticket.id.clone()),
                            (_, SyncAction::UpdateFields { ticket, .. }) => Some(ticket.clone()),
                            (_, SyncAction::AddComment { ticket, .. }) => {
                                self.resolve(ticket, link.as_ref(), on).ok()
                            }
                            _ => None,
                        };
                        if let Some(written) = written {
                            self.add_full_texts(on, &written, &fittings, &mut notes)
                                .await;
                        }
                    }
                    match action {
                        SyncAction::CreateTicket { on, from, .. } => {
                            // Read back later: the pending create stays until the link is
                            // complete, so a crash before then is finished by the next run.
                            if !unread {
                                cleared.push((on.opposite(), from.clone()));
                            }
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
                            cleared.push((*origin, original.clone()));
                            created = true;
                        }
                        SyncAction::Close { .. } => closed = true,
                        SyncAction::EndLink { reason, .. } => {
                            notes.push(format!("No longer synced: {reason}"));
                            updated = true;
                        }
                        SyncAction::Resume { .. } => {
                            notes.push(
                                "Back in its relationship's company, so it is synced again; what \
                                 was written while it belonged to another company stays withheld"
                                    .into(),
                            );
                            updated = true;
                        }
                        SyncAction::UpdateFields { .. }
                        | SyncAction::AddComment { .. }
                        | SyncAction::AddAttachment { .. } => updated = true,
                        SyncAction::AddTimeNote { on, carried, .. } => {
                            notes.push(time_notes::sent_note(*on, carried));
                            updated = true;
                        }
                        SyncAction::LinkTimeNote { from, carried, .. } => {
                            notes.push(time_notes::sent_note(from.opposite(), carried));
                        }
                        SyncAction::CopyTimeEntry { on, carried, .. } => {
                            notes.push(time_entries::copied_note(*on, carried));
                            updated = true;
                        }
                        SyncAction::LinkTimeEntry { from, carried, .. } => {
                            notes.push(time_entries::copied_note(from.opposite(), carried));
                        }
                        _ => {}
                    }
                }
                Err(ApplyError::Store(error)) => return Err(error),
                Err(ApplyError::Platform(PlatformError::BudgetExhausted(reason))) => {
                    // Refused before anything was sent: not a failure of this ticket. The run
                    // waits; the next one plans the rest of it again from its link.
                    result.stop = Some(reason);
                    result.waits_for_budget = true;
                    break;
                }
                Err(ApplyError::Platform(error)) => {
                    result.partial = true;
                    match action {
                        SyncAction::CreateTicket { .. } => create_failed = true,
                        SyncAction::AddComment { .. } => failed_comments += 1,
                        SyncAction::AddAttachment { .. } => failed_attachments += 1,
                        _ => {}
                    }
                    errors.push(format!("{} failed: {error}", describe(action)));
                    result.failures.extend(Failure::of_action(
                        action,
                        classify(&error),
                        error.to_string(),
                    ));
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
                link_changed = true;
                link = Some(seen);
            }
        }
        // The ticket's link, saved once with everything its writes did. A stop in the middle of
        // the ticket loses no write: the next run finds a copy by its marker (the pending create
        // is still there) and comments and attachments by content, and links them.
        if link_changed && let Some(current) = &link {
            self.store.upsert_link(current).await?;
        }
        // Only now that the link is saved are the creates it records no longer pending.
        for (origin, original) in &cleared {
            self.store
                .clear_pending_create(self.setup.relationship, *origin, original)
                .await?;
        }
        result.link = link.clone();
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
        } else if let Some(reason) = held {
            notes.push(reason);
            Some(RecordOutcome::Held)
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
                title: plan
                    .ticket(plan.origin)
                    .map(|ticket| ticket.title.clone())
                    .filter(|title| !title.is_empty())
                    .or_else(|| link.as_ref().map(|link| link.title.clone()))
                    .unwrap_or_default(),
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

    /// The record of a ticket the run saw and did not send, with why — only for tickets of the
    /// relationship's own company (another company's tickets are never named in its history) and
    /// not for pairs simply in step. `held_back`: a failure waiting for a change was not retried.
    pub fn skipped_record(&self, plan: &TicketPlan, held_back: bool) -> Option<SyncRecord> {
        let reasons: Vec<String> = plan
            .actions
            .iter()
            .filter_map(|action| match action {
                SyncAction::Skip { reason } if reason != "already in step" => Some(reason.clone()),
                _ => None,
            })
            .collect();
        if reasons.is_empty() && !held_back {
            return None;
        }
        let original = plan.ticket(plan.origin)?;
        let company = self.companies.get(&(plan.origin, original.id.clone()))?;
        if !self
            .setup
            .side(plan.origin)
            .config
            .in_scope(company.as_ref())
        {
            return None;
        }
        let reference = |side: Role| {
            plan.ticket(side)
                .map(|ticket| (ticket.id.clone(), ticket.number.clone()))
        };
        let source = reference(Role::Source);
        let target = reference(Role::Target);
        Some(SyncRecord {
            run: self.run,
            relationship: self.setup.relationship,
            origin: plan.origin,
            source_ticket: source.as_ref().map(|(id, _)| id.clone()),
            source_number: source.map(|(_, number)| number),
            target_ticket: target.as_ref().map(|(id, _)| id.clone()),
            target_number: target.map(|(_, number)| number),
            title: original.title.clone(),
            outcome: RecordOutcome::Skipped,
            error: None,
            failed_comments: 0,
            failed_attachments: 0,
            notes: reasons,
            recorded_at: self.clock.now(),
        })
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

    /// Sends one action. A ticket created but not read back yet comes with `true`: its snapshot
    /// holds only what the draft said (see [`read_back::unread_copy`]).
    async fn write(
        &self,
        link: Option<&TicketLink>,
        action: &SyncAction,
    ) -> Result<(ActionOutcome, bool), ApplyError> {
        match action {
            SyncAction::CreateTicket {
                on, from, draft, ..
            } => self.create(*on, from, draft).await,
            other => self
                .write_other(link, other)
                .await
                .map(|outcome| (outcome, false)),
        }
    }

    /// The pending create, then the create; after an ambiguous failure the marker is looked up
    /// first.
    async fn create(
        &self,
        on: Role,
        from: &TicketId,
        draft: &TicketDraft,
    ) -> Result<(ActionOutcome, bool), ApplyError> {
        let platform = self.platform(on);
        self.store
            .record_pending_create(&PendingCreate {
                relationship: self.setup.relationship,
                origin: on.opposite(),
                origin_ticket: from.clone(),
                marker: draft.marker.clone(),
                started_at: self.clock.now(),
            })
            .await?;
        let created = match platform.create_ticket_unread(draft).await {
            Ok(created) => created,
            Err(error) if error.is_ambiguous_write() => {
                match platform.find_by_marker(&draft.marker).await? {
                    Some(ticket) => CreatedTicket::Read(Box::new(ticket)),
                    // Not there: the create never happened; send it once more (a second
                    // ambiguous failure leaves the pending create for the next run).
                    None => platform.create_ticket_unread(draft).await?,
                }
            }
            Err(error) => {
                self.store
                    .clear_pending_create(self.setup.relationship, on.opposite(), from)
                    .await?;
                return Err(error.into());
            }
        };
        Ok(match created {
            CreatedTicket::Read(ticket) => (ActionOutcome::TicketCreated(ticket), false),
            CreatedTicket::Unread(id) => (
                ActionOutcome::TicketCreated(Box::new(read_back::unread_copy(
                    id,
                    draft,
                    self.clock.now(),
                ))),
                true,
            ),
        })
    }

    async fn write_other(
        &self,
        link: Option<&TicketLink>,
        action: &SyncAction,
    ) -> Result<ActionOutcome, ApplyError> {
        match action {
            SyncAction::CreateTicket {
                on, from, draft, ..
            } => self
                .create(*on, from, draft)
                .await
                .map(|(outcome, _)| outcome),
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
            }
            | SyncAction::AddTimeNote {
                on, ticket, draft, ..
            } => {
                let id = self.resolve(ticket, link, *on)?;
                self.add_note_once(*on, &id, draft, link).await
            }
            SyncAction::CopyTimeEntry {
                on, ticket, write, ..
            } => {
                let id = self.resolve(ticket, link, *on)?;
                self.write_time_entry_once(*on, &id, write).await
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
            | SyncAction::LinkTimeNote { .. }
            | SyncAction::LinkTimeEntry { .. }
            | SyncAction::LinkAttachment { .. }
            | SyncAction::ClosedState { .. }
            | SyncAction::Resume { .. }
            | SyncAction::EndLink { .. } => Ok(ActionOutcome::Applied),
            SyncAction::Skip { .. }
            | SyncAction::Hold { .. }
            | SyncAction::FieldWarning { .. }
            | SyncAction::Conflict { .. }
            | SyncAction::FieldFailure { .. }
            | SyncAction::AttachmentFailure { .. } => Ok(ActionOutcome::Applied),
        }
    }
}

#[cfg(test)]
mod tests;
