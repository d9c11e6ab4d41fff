//! Planning for a deleted ticket: its partner is told and closed, then the link ends.

use crate::relationship::Role;
use crate::sync::action::{CommentDraft, PlannedTicket, SyncAction, TicketPlan, TicketRef};
use crate::sync::ids::CommentId;
use crate::sync::link::TicketLink;
use crate::sync::snapshot::{DeletedTicket, STATUS};

use super::{Planner, is_closed};

impl Planner<'_> {
    // ---------- deleted tickets ----------

    /// The ticket on `side` was deleted: its partner gets a note saying so and is closed with the
    /// configured closure status, then the link ends (kept, so neither is ever copied again).
    /// Nothing is deleted, and a partner outside its scope is not written to.
    pub(super) fn plan_deleted(
        &self,
        side: Role,
        deleted: &DeletedTicket,
        link: &TicketLink,
    ) -> TicketPlan {
        let other = side.opposite();
        let deleter = &self.input.side(side).organisation_name;
        let who = deleted
            .deleted_by
            .as_deref()
            .map_or_else(String::new, |name| format!(" by {name}"));
        let when = deleted
            .deleted_at
            .format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .unwrap_or_default();
        let reason = format!(
            "{} was deleted in {deleter}'s tenant{who} on {when}",
            link.number(side)
        );
        let mut actions = Vec::new();
        if let Some(partner) = self.state(other, link.ticket(other)) {
            let receiver = &self.input.side(other).config;
            if receiver.in_scope(partner.ticket.company.as_ref()) {
                let defaults = &receiver.receive.public_comment;
                actions.push(SyncAction::AddComment {
                    on: other,
                    ticket: PlannedTicket::Existing(partner.ticket.id.clone()),
                    from: CommentId::new(format!("deleted:{}", deleted.id.as_str())),
                    draft: CommentDraft {
                        title: format!("Ticket deleted by {deleter}"),
                        body: format!(
                            "{deleter}'s ticket {} (\"{}\") was deleted in their tenant{who} on \
                             {when}. Support Fusion closed this ticket and no longer keeps it in step.",
                            link.number(side),
                            deleted.title
                        ),
                        publish: defaults.publish.clone(),
                        note_type: defaults.note_type.clone(),
                    },
                });
                if !is_closed(receiver, &partner.ticket) {
                    let closure = &receiver.closure;
                    match closure
                        .status_when_partner_closes
                        .clone()
                        .or_else(|| closure.closed_statuses.first().cloned())
                    {
                        Some(status) => actions.push(SyncAction::Close {
                            on: other,
                            ticket: PlannedTicket::Existing(partner.ticket.id.clone()),
                            status,
                            fingerprints: Vec::new(),
                        }),
                        None => actions.push(SyncAction::FieldWarning {
                            field: STATUS.to_owned(),
                            reason: format!(
                                "the {} ticket was not closed: no closing status is configured \
                                 for that side",
                                other.label().to_lowercase()
                            ),
                        }),
                    }
                }
            }
        }
        actions.push(SyncAction::EndLink {
            deleted: side,
            reason,
        });
        TicketPlan {
            source: Some(TicketRef {
                id: link.source.clone(),
                number: link.source_number.clone(),
                title: link.title.clone(),
            }),
            target: Some(TicketRef {
                id: link.target.clone(),
                number: link.target_number.clone(),
                title: link.title.clone(),
            }),
            origin: link.origin,
            link: Some(link.clone()),
            actions,
        }
    }
}
