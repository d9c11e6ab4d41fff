//! Planning comments and attachments: what each side sends, attributed and with the receiving
//! side's note defaults, and copies already made (found by content) linked instead of written again.

use std::collections::BTreeSet;

use crate::relationship::Role;
use crate::sync::action::{AttachmentDraft, CommentDraft, PlannedTicket, SyncAction};
use crate::sync::fingerprint::Fingerprint;
use crate::sync::link::TicketLink;

use super::{Planner, TicketState, is_public_comment};

impl Planner<'_> {
    // ---------- comments and attachments ----------

    pub(super) fn plan_comments(
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
        let mut claimed = BTreeSet::new();
        for comment in &state.comments {
            if comment.author.is_some() && comment.author == sender.own_actor {
                continue;
            }
            if link.is_some_and(|link| {
                link.knows_comment(from, &comment.id) || link.withheld(comment.created_at)
            }) {
                continue;
            }
            let is_public = is_public_comment(&sender.config, comment);
            let allowed = if is_public {
                sender.config.options.public_comments
            } else {
                sender.config.options.internal_comments
            };
            if !allowed {
                continue;
            }
            let defaults = if is_public {
                &receiver.config.receive.public_comment
            } else {
                &receiver.config.receive.internal_comment
            };
            let attribution = if comment.author_name.trim().is_empty() {
                format!("From {}:", sender.organisation_name)
            } else {
                format!(
                    "From {} \u{2014} {}:",
                    sender.organisation_name,
                    comment.author_name.trim()
                )
            };
            let draft = CommentDraft {
                title: if comment.title.trim().is_empty() {
                    format!("Comment from {}", sender.organisation_name)
                } else {
                    comment.title.clone()
                },
                body: format!("{attribution}\n{}", comment.body),
                publish: defaults.publish.clone().or_else(|| comment.publish.clone()),
                note_type: defaults
                    .note_type
                    .clone()
                    .or_else(|| comment.note_type.clone()),
            };
            let body = Fingerprint::of_text(&draft.body);
            let existing = partner.and_then(|partner| {
                partner.comments.iter().find(|candidate| {
                    candidate.author.is_some()
                        && candidate.author == receiver.own_actor
                        && !claimed.contains(&candidate.id)
                        && !link
                            .is_some_and(|link| link.knows_comment(from.opposite(), &candidate.id))
                        && Fingerprint::of_text(&candidate.body) == body
                })
            });
            match existing {
                Some(copy) => {
                    claimed.insert(copy.id.clone());
                    actions.push(SyncAction::LinkComment {
                        from,
                        original: comment.id.clone(),
                        copy: copy.id.clone(),
                    });
                }
                None => actions.push(SyncAction::AddComment {
                    on: from.opposite(),
                    ticket: ticket.clone(),
                    from: comment.id.clone(),
                    draft,
                }),
            }
        }
    }

    pub(super) fn plan_attachments(
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
        if !sender.config.options.attachments {
            return;
        }
        let mut claimed = BTreeSet::new();
        for attachment in &state.attachments {
            if attachment.author.is_some() && attachment.author == sender.own_actor {
                continue;
            }
            if link.is_some_and(|link| {
                link.knows_attachment(from, &attachment.id) || link.withheld(attachment.created_at)
            }) {
                continue;
            }
            if attachment.size_bytes > self.input.attachment_size_limit {
                actions.push(SyncAction::AttachmentFailure {
                    attachment: attachment.id.clone(),
                    name: attachment.name.clone(),
                    reason: format!(
                        "{} is {} bytes, more than the {} bytes the partner's platform accepts",
                        attachment.name, attachment.size_bytes, self.input.attachment_size_limit
                    ),
                });
                continue;
            }
            let existing = partner.and_then(|partner| {
                partner.attachments.iter().find(|candidate| {
                    candidate.author.is_some()
                        && candidate.author == receiver.own_actor
                        && !claimed.contains(&candidate.id)
                        && !link.is_some_and(|link| {
                            link.knows_attachment(from.opposite(), &candidate.id)
                        })
                        && candidate.name == attachment.name
                        && candidate.size_bytes == attachment.size_bytes
                })
            });
            match existing {
                Some(copy) => {
                    claimed.insert(copy.id.clone());
                    actions.push(SyncAction::LinkAttachment {
                        from,
                        original: attachment.id.clone(),
                        copy: copy.id.clone(),
                    });
                }
                None => actions.push(SyncAction::AddAttachment {
                    on: from.opposite(),
                    ticket: ticket.clone(),
                    from_ticket: state.ticket.id.clone(),
                    from: attachment.id.clone(),
                    draft: AttachmentDraft {
                        name: attachment.name.clone(),
                        size_bytes: attachment.size_bytes,
                        content_type: attachment.content_type.clone(),
                        publish: receiver
                            .config
                            .receive
                            .attachment_publish
                            .clone()
                            .or_else(|| attachment.publish.clone()),
                    },
                }),
            }
        }
    }
}
