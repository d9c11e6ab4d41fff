//! Writing notes once: a comment or a time-entry note is added by the sync's API user, and after
//! an ambiguous failure it is looked for (ours, same body, not yet known to the link) before it
//! counts as failed — the next run's planner finds it by content too, so it is never written
//! twice. Also the record's words for a time entry carried.

use fusion_domain::Role;
use fusion_domain::sync::{
    ActionOutcome, CarriedTimeEntry, CommentDraft, Fingerprint, TicketId, TicketLink,
};

use super::{ApplyError, TicketApplier};

/// The record's note for a time entry told to side `on`, e.g. "Time entry logged: 1.50 h by
/// Jane Doe on 2026-12-04, sent to the source side as a note".
pub(super) fn sent_note(on: Role, carried: &CarriedTimeEntry) -> String {
    format!(
        "Time entry {}: {}, sent to the {} side as a note",
        carried.change.as_str(),
        carried.described,
        on.label().to_lowercase()
    )
}

impl TicketApplier<'_> {
    /// Adds `draft` to ticket `id` on side `on`; after an ambiguous failure, a note of ours with
    /// the same body that the link does not know yet is taken as the one just written.
    pub(super) async fn add_note_once(
        &self,
        on: Role,
        id: &TicketId,
        draft: &CommentDraft,
        link: Option<&TicketLink>,
    ) -> Result<ActionOutcome, ApplyError> {
        let platform = self.platform(on);
        match platform.add_comment(id, draft).await {
            Ok(comment) => Ok(ActionOutcome::CommentAdded(comment)),
            Err(error) if error.is_ambiguous_write() => {
                let body = Fingerprint::of_text(&draft.body);
                let own = self.own_actor(on);
                let existing = platform.comments(id, None).await?;
                let found = existing.into_iter().find(|comment| {
                    own.is_some()
                        && comment.author.as_ref() == own
                        && Fingerprint::of_text(&comment.body) == body
                        && !link.is_some_and(|link| {
                            link.knows_comment(on, &comment.id)
                                || link.knows_time_note(on, &comment.id)
                        })
                });
                match found {
                    Some(comment) => Ok(ActionOutcome::CommentAdded(comment.id)),
                    None => Err(error.into()),
                }
            }
            Err(error) => Err(error.into()),
        }
    }
}
