//! The sync planner: both sides' changed tickets (with their comments and attachments), the
//! existing links and the relationship's configuration in, a [`Plan`] out. Pure and deterministic:
//! the same input always gives the same plan, so a dry run shows exactly what a run would do.

use std::collections::{BTreeMap, BTreeSet};

use crate::ids::RelationshipId;
use crate::integration::{ChoiceValue, SideConfig};
use crate::mapping::{DescriptionComposition, FieldMapping, MappingDirection};
use crate::relationship::{BySide, Role};
use crate::sync::action::{
    FieldChange, FieldFingerprint, Plan, PlannedTicket, SyncAction, TicketDraft, TicketPlan,
    TicketRef,
};
use crate::sync::fingerprint::Fingerprint;
use crate::sync::ids::{ActorId, TicketId, TicketMarker};
use crate::sync::link::TicketLink;

mod content;
mod deletion;
mod time;
mod time_copies;
use crate::sync::snapshot::{
    AttachmentSnapshot, CommentSnapshot, DESCRIPTION, DeletedTicket, FieldValue, STATUS, TITLE,
    TicketSnapshot, TimeEntrySnapshot,
};

/// What happens when both sides changed the same mapped field since the last sync.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ConflictRule {
    /// One-way fields: the side the mapping flows from wins. Both-way fields: the ticket with the
    /// later last activity wins (the source on a tie).
    #[default]
    MappingDirection,
    SourceWins,
    TargetWins,
    /// The later last activity wins whatever the direction (still only writes the way the
    /// mapping flows).
    LatestActivityWins,
}

/// One ticket as read for planning, with its comments and attachments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketState {
    pub ticket: TicketSnapshot,
    /// Every comment of the ticket the engine read (at least those since the window start).
    pub comments: Vec<CommentSnapshot>,
    /// Every attachment of the ticket.
    pub attachments: Vec<AttachmentSnapshot>,
    /// Every time entry of the ticket the sync's API user can see, or `None` when they were not
    /// read (the partner receives no time, or the ticket needs no content): then no entry is
    /// planned, and none counts as deleted.
    pub time_entries: Option<Vec<TimeEntrySnapshot>>,
}

/// One side of the relationship as the planner needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SideInput {
    /// This side's organisation's configuration.
    pub config: SideConfig,
    /// This side's organisation's name: comments copied *from* this side are attributed to it.
    pub organisation_name: String,
    /// The sync's own API user on this side; its comments and attachments are never copied back,
    /// and unlinked tickets it created are never sent on.
    pub own_actor: Option<ActorId>,
    /// Tickets changed in the window, tickets being retried, and the partners of linked ones.
    pub tickets: Vec<TicketState>,
    /// Tickets deleted in this side's tenant since the window start (only linked ones matter).
    pub deleted: Vec<DeletedTicket>,
}

/// Everything the planner looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanInput {
    pub relationship: RelationshipId,
    pub source: SideInput,
    pub target: SideInput,
    /// The links of every ticket in `source.tickets` and `target.tickets` that has one.
    pub links: Vec<TicketLink>,
    pub mappings: Vec<FieldMapping>,
    pub composition: DescriptionComposition,
    pub conflict_rule: ConflictRule,
    /// Largest attachment the receiving platform accepts, in bytes (the adapter's knowledge:
    /// Autotask takes about 7 MB through its API).
    pub attachment_size_limit: u64,
}

impl PlanInput {
    pub fn side(&self, side: Role) -> &SideInput {
        match side {
            Role::Source => &self.source,
            Role::Target => &self.target,
        }
    }
}

/// Plans one run.
///
/// Per ticket pair, in this order: create the copy (or link a copy found by its marker), field
/// updates per mapping direction (conflicts resolved by [`PlanInput::conflict_rule`]), comments,
/// attachments, closure. Tickets are planned in the order given, source side first; a linked pair
/// is planned once even when both tickets changed.
pub fn plan(input: &PlanInput) -> Plan {
    let planner = Planner::new(input);
    planner.plan()
}

/// The tickets whose comments and attachments a run must read before it plans (the input's
/// tickets come without them): both tickets of every linked pair that may flow (not ended, both
/// in scope), both tickets of a copy found by its marker and its original, and every unlinked
/// ticket that would be sent. A ticket the rules leave out costs no further reading — and, with
/// the company scope, no other company's notes are ever read.
pub fn tickets_needing_content(input: &PlanInput) -> BySide<Vec<TicketId>> {
    let planner = Planner::new(input);
    let mut needed: BySide<BTreeSet<TicketId>> = BySide::default();
    for side in [Role::Source, Role::Target] {
        for state in &input.side(side).tickets {
            let ticket = &state.ticket;
            if let Some(link) = planner.links.get(&(side, &ticket.id)) {
                let other = side.opposite();
                let flows = link.ended.is_none()
                    && [side, other].iter().all(|each| {
                        planner
                            .state(*each, link.ticket(*each))
                            .is_some_and(|state| {
                                input
                                    .side(*each)
                                    .config
                                    .in_scope(state.ticket.company.as_ref())
                            })
                    });
                if flows {
                    needed.get_mut(side).insert(ticket.id.clone());
                    needed.get_mut(other).insert(link.ticket(other).clone());
                }
                continue;
            }
            if let Some(parts) = ticket.marker.as_deref().and_then(TicketMarker::parse)
                && parts.relationship == input.relationship
                && parts.origin != side
                && planner.state(parts.origin, &parts.origin_ticket).is_some()
            {
                needed.get_mut(side).insert(ticket.id.clone());
                needed
                    .get_mut(parts.origin)
                    .insert(parts.origin_ticket.clone());
                continue;
            }
            if planner.not_sent_because(side, ticket).is_none() {
                needed.get_mut(side).insert(ticket.id.clone());
            }
        }
    }
    BySide::new(
        needed.source.into_iter().collect(),
        needed.target.into_iter().collect(),
    )
}

struct Planner<'a> {
    input: &'a PlanInput,
    tickets: BTreeMap<(Role, &'a TicketId), &'a TicketState>,
    links: BTreeMap<(Role, &'a TicketId), &'a TicketLink>,
}

fn field_of(mapping: &FieldMapping, side: Role) -> &str {
    match side {
        Role::Source => &mapping.source_field,
        Role::Target => &mapping.target_field,
    }
}

fn flows_to(direction: MappingDirection, to: Role) -> bool {
    match to {
        Role::Target => direction.flows_to_target(),
        Role::Source => direction.flows_to_source(),
    }
}

fn fingerprint(value: &FieldValue) -> Fingerprint {
    Fingerprint::of_value(value)
}

fn is_closed(config: &SideConfig, ticket: &TicketSnapshot) -> bool {
    ticket
        .status
        .as_ref()
        .is_some_and(|status| config.closure.closed_statuses.contains(status))
}

/// A comment is public when its publish level is one of the public levels, or — when only internal
/// levels are configured — when it is not one of those. With neither configured every comment
/// counts as internal: nothing is published to the partner by accident.
fn is_public_comment(config: &SideConfig, comment: &CommentSnapshot) -> bool {
    let filter = &config.send;
    let Some(publish) = comment.publish.as_ref() else {
        return false;
    };
    if filter.public_publish_levels.contains(publish) {
        return true;
    }
    filter.public_publish_levels.is_empty()
        && !filter.internal_publish_levels.is_empty()
        && !filter.internal_publish_levels.contains(publish)
}

fn by_side<T>(side: Role, source: T, target: T) -> T {
    match side {
        Role::Source => source,
        Role::Target => target,
    }
}

impl<'a> Planner<'a> {
    fn new(input: &'a PlanInput) -> Self {
        let mut tickets = BTreeMap::new();
        for side in [Role::Source, Role::Target] {
            for state in &input.side(side).tickets {
                tickets.entry((side, &state.ticket.id)).or_insert(state);
            }
        }
        let mut links = BTreeMap::new();
        for link in input
            .links
            .iter()
            .filter(|link| link.relationship == input.relationship)
        {
            links.insert((Role::Source, &link.source), link);
            links.insert((Role::Target, &link.target), link);
        }
        Self {
            input,
            tickets,
            links,
        }
    }

    fn state(&self, side: Role, id: &TicketId) -> Option<&'a TicketState> {
        self.tickets.get(&(side, id)).copied()
    }

    fn plan(&self) -> Plan {
        let mut done: BTreeSet<(Role, &TicketId)> = BTreeSet::new();
        let mut tickets = Vec::new();
        // Deletions first: the copy of a deleted ticket is told, closed and let go.
        for side in [Role::Source, Role::Target] {
            for deleted in &self.input.side(side).deleted {
                let Some(link) = self.links.get(&(side, &deleted.id)) else {
                    continue;
                };
                if link.ended.is_some() || !done.insert((side, &deleted.id)) {
                    continue;
                }
                done.insert((side.opposite(), link.ticket(side.opposite())));
                tickets.push(self.plan_deleted(side, deleted, link));
            }
        }
        // Copies made earlier but not linked (a crash between create and link) are linked first,
        // so their originals are not created a second time.
        for side in [Role::Source, Role::Target] {
            for state in &self.input.side(side).tickets {
                let id = &state.ticket.id;
                if done.contains(&(side, id)) || self.links.contains_key(&(side, id)) {
                    continue;
                }
                let Some(parts) = state.ticket.marker.as_deref().and_then(TicketMarker::parse)
                else {
                    continue;
                };
                if parts.relationship != self.input.relationship || parts.origin == side {
                    continue;
                }
                let origin = parts.origin;
                if self.links.contains_key(&(origin, &parts.origin_ticket)) {
                    // The original is linked to another copy: this one is a stray duplicate.
                    continue;
                }
                let Some(original) = self.state(origin, &parts.origin_ticket) else {
                    continue;
                };
                done.insert((side, id));
                done.insert((origin, &original.ticket.id));
                tickets.push(self.plan_adoption(origin, original, state));
            }
        }
        for side in [Role::Source, Role::Target] {
            for state in &self.input.side(side).tickets {
                let id = &state.ticket.id;
                if !done.insert((side, id)) {
                    continue;
                }
                match self.links.get(&(side, id)) {
                    Some(link) => {
                        let other = side.opposite();
                        done.insert((other, link.ticket(other)));
                        tickets.push(self.plan_linked(link));
                    }
                    None => tickets.push(self.plan_unlinked(side, state)),
                }
            }
        }
        Plan { tickets }
    }

    fn ticket_ref(ticket: &TicketSnapshot) -> TicketRef {
        TicketRef {
            id: ticket.id.clone(),
            number: ticket.number.clone(),
            title: ticket.title.clone(),
        }
    }

    // ---------- unlinked tickets ----------

    /// Why an unlinked ticket on `side` is not sent, if it is not.
    fn not_sent_because(&self, side: Role, ticket: &TicketSnapshot) -> Option<String> {
        let config = &self.input.side(side).config;
        if ticket.created_by.is_some() && ticket.created_by == self.input.side(side).own_actor {
            return Some("created by Support Fusion's own API user, so it is not sent back".into());
        }
        if is_closed(config, ticket) {
            return Some("already closed before it was ever synced".into());
        }
        let queue_ok = |queues: &[ChoiceValue]| {
            queues.is_empty() || ticket.queue.as_ref().is_some_and(|q| queues.contains(q))
        };
        if !config.in_scope(ticket.company.as_ref()) {
            return Some(match config.company_scope() {
                None => format!(
                    "no company is chosen for the partner on the {} side, so nothing is sent",
                    side.label().to_lowercase()
                ),
                Some(scope) => format!(
                    "its company ({}) is not the partner's company ({}): a relationship carries only \
                     its own company's tickets",
                    ticket.company.as_ref().map_or("none", ChoiceValue::as_str),
                    scope.as_str()
                ),
            });
        }
        match side {
            Role::Source => {
                let filter = &config.send;
                if !queue_ok(&filter.queues) {
                    return Some("its queue is not in the send filter".into());
                }
                if !filter.categories.is_empty()
                    && !ticket
                        .category
                        .as_ref()
                        .is_some_and(|c| filter.categories.contains(c))
                {
                    return Some("its category is not in the send filter".into());
                }
                None
            }
            Role::Target => {
                let reverse = &config.reverse_sync;
                if !reverse.enabled {
                    return Some("raised on the target side and reverse sync is off".into());
                }
                if !queue_ok(&reverse.queues) {
                    return Some("its queue is not in the reverse sync filter".into());
                }
                None
            }
        }
    }

    fn plan_unlinked(&self, side: Role, state: &TicketState) -> TicketPlan {
        let ticket = &state.ticket;
        let mut plan = TicketPlan {
            source: None,
            target: None,
            origin: side,
            link: None,
            actions: Vec::new(),
        };
        match side {
            Role::Source => plan.source = Some(Self::ticket_ref(ticket)),
            Role::Target => plan.target = Some(Self::ticket_ref(ticket)),
        }
        if let Some(reason) = self.not_sent_because(side, ticket) {
            plan.actions.push(SyncAction::Skip { reason });
            return plan;
        }
        let to = side.opposite();
        let receive = &self.input.side(to).config.receive;
        let mut failures = Vec::new();
        let mut fields = BTreeMap::new();
        let mut fingerprints = Vec::new();
        let mut baseline_fields = Vec::new();
        let mut title = ticket.title.clone();
        let original_description = ticket.field(DESCRIPTION).to_string();
        let composed = self.compose(ticket, &original_description);
        for mapping in &self.input.mappings {
            let from_field = field_of(mapping, side);
            let to_field = field_of(mapping, to);
            let value = ticket.field(from_field);
            if !flows_to(mapping.direction, to) {
                fingerprints.push(FieldFingerprint {
                    side,
                    field: from_field.to_owned(),
                    fingerprint: fingerprint(&value),
                });
                baseline_fields.push(to_field.to_owned());
                continue;
            }
            let carried = if to_field == DESCRIPTION && from_field == DESCRIPTION {
                Ok(FieldValue::Text(composed.clone()))
            } else {
                self.carry(mapping, side, ticket, &value)
            };
            match carried {
                Err(reason) => {
                    // The copy gets the configured default; its value is read back as the baseline.
                    baseline_fields.push(to_field.to_owned());
                    failures.push(SyncAction::FieldWarning {
                        field: from_field.to_owned(),
                        reason: format!("{reason}; the configured default was used"),
                    })
                }
                Ok(carried) => {
                    fingerprints.push(FieldFingerprint {
                        side,
                        field: from_field.to_owned(),
                        fingerprint: fingerprint(&value),
                    });
                    fingerprints.push(FieldFingerprint {
                        side: to,
                        field: to_field.to_owned(),
                        fingerprint: fingerprint(&carried),
                    });
                    match to_field {
                        TITLE => title = carried.to_string(),
                        DESCRIPTION => {}
                        _ => {
                            fields.insert(to_field.to_owned(), carried);
                        }
                    }
                }
            }
        }
        let draft = TicketDraft {
            marker: TicketMarker::for_copy_of(self.input.relationship, side, &ticket.id),
            title,
            description: composed,
            company: receive.company.clone(),
            queue: receive.queue.clone(),
            status: receive.status.clone(),
            priority: receive.priority.clone(),
            ticket_type: receive.ticket_type.clone(),
            category: receive.ticket_category.clone(),
            source: receive.source.clone(),
            issue_type: receive.issue_type.clone(),
            sub_issue_type: receive.sub_issue_type.clone(),
            fields,
        };
        plan.actions.push(SyncAction::CreateTicket {
            on: to,
            from: ticket.id.clone(),
            draft: Box::new(draft),
            fingerprints,
            baseline_fields,
        });
        plan.actions.extend(failures);
        self.plan_comments(
            side,
            state,
            None,
            PlannedTicket::Created,
            None,
            &mut plan.actions,
        );
        self.plan_attachments(
            side,
            state,
            None,
            PlannedTicket::Created,
            None,
            &mut plan.actions,
        );
        self.plan_time_entries(
            side,
            state,
            None,
            PlannedTicket::Created,
            None,
            &mut plan.actions,
        );
        plan
    }

    /// A copy found by its marker: link it, then plan the pair as linked.
    fn plan_adoption(
        &self,
        origin: Role,
        original: &TicketState,
        copy: &TicketState,
    ) -> TicketPlan {
        let copy_side = origin.opposite();
        let (source, target) = by_side(origin, (original, copy), (copy, original));
        // The original's fields count as not yet carried (no fingerprints), the copy's as they are:
        // anything the original changed since the copy was made is carried now.
        let fingerprints: Vec<FieldFingerprint> = self
            .input
            .mappings
            .iter()
            .map(|mapping| {
                let field = field_of(mapping, copy_side);
                FieldFingerprint {
                    side: copy_side,
                    field: field.to_owned(),
                    fingerprint: fingerprint(&copy.ticket.field(field)),
                }
            })
            .collect();
        let link_action = SyncAction::LinkExisting {
            source: source.ticket.id.clone(),
            source_number: source.ticket.number.clone(),
            target: target.ticket.id.clone(),
            target_number: target.ticket.number.clone(),
            origin,
            fingerprints: fingerprints.clone(),
        };
        let mut link = TicketLink {
            relationship: self.input.relationship,
            source: source.ticket.id.clone(),
            target: target.ticket.id.clone(),
            source_number: source.ticket.number.clone(),
            target_number: target.ticket.number.clone(),
            title: match origin {
                Role::Source => source.ticket.title.clone(),
                Role::Target => target.ticket.title.clone(),
            },
            origin,
            source_fields: BTreeMap::new(),
            target_fields: BTreeMap::new(),
            comments: Vec::new(),
            attachments: Vec::new(),
            time_entries: Vec::new(),
            source_closed: false,
            target_closed: false,
            created_at: copy.ticket.created_at,
            updated_at: copy.ticket.created_at,
            ended: None,
            held: Vec::new(),
        };
        for entry in &fingerprints {
            link.fields_mut(entry.side)
                .insert(entry.field.clone(), entry.fingerprint.clone());
        }
        let mut plan = self.plan_pair(&link, source, target);
        plan.link = None;
        plan.actions
            .retain(|action| !matches!(action, SyncAction::Skip { .. }));
        plan.actions.insert(0, link_action);
        plan
    }

    // ---------- linked tickets ----------

    fn plan_linked(&self, link: &TicketLink) -> TicketPlan {
        if let Some(end) = &link.ended {
            return TicketPlan {
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
                actions: vec![SyncAction::Skip {
                    reason: format!("no longer synced: {}", end.reason),
                }],
            };
        }
        let source = self.state(Role::Source, &link.source);
        let target = self.state(Role::Target, &link.target);
        match (source, target) {
            (Some(source), Some(target)) => self.plan_pair(link, source, target),
            (source, target) => TicketPlan {
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
                actions: vec![SyncAction::Skip {
                    reason: format!(
                        "the linked {} ticket {} could not be read (deleted?)",
                        if source.is_none() { "source" } else { "target" },
                        if source.is_none() {
                            &link.source_number
                        } else if target.is_none() {
                            &link.target_number
                        } else {
                            ""
                        }
                    ),
                }],
            },
        }
    }

    fn plan_pair(
        &self,
        link: &TicketLink,
        source: &TicketState,
        target: &TicketState,
    ) -> TicketPlan {
        let mut actions = Vec::new();
        let states = |side: Role| by_side(side, source, target);
        // Privacy: a pair flows only while both tickets belong to their side's scope company.
        for side in [Role::Source, Role::Target] {
            let config = &self.input.side(side).config;
            let ticket = &states(side).ticket;
            if !config.in_scope(ticket.company.as_ref()) {
                return TicketPlan {
                    source: Some(Self::ticket_ref(&source.ticket)),
                    target: Some(Self::ticket_ref(&target.ticket)),
                    origin: link.origin,
                    link: Some(link.clone()),
                    actions: vec![SyncAction::Hold {
                        reason: format!(
                            "{} ({}) now belongs to company {}, not to company {} that this \
                             relationship carries on the {} side: nothing is sent either way until \
                             it moves back, and notes and files written before Support Fusion sees \
                             it back are never sent",
                            ticket.number,
                            side.label().to_lowercase(),
                            ticket.company.as_ref().map_or("none", ChoiceValue::as_str),
                            config
                                .company_scope()
                                .map_or("(none chosen)", ChoiceValue::as_str),
                            side.label().to_lowercase()
                        ),
                    }],
                };
            }
        }
        // Back in scope after a hold: the held period closes before anything flows.
        if link.is_held() {
            actions.push(SyncAction::Resume {
                until: source
                    .ticket
                    .last_activity_at
                    .max(target.ticket.last_activity_at),
            });
        }
        // Closure first: a closure replaces the status update towards the side it closes.
        let mut closes: Vec<SyncAction> = Vec::new();
        let mut closing: Option<Role> = None;
        let source_closed = is_closed(&self.input.source.config, &source.ticket);
        let target_closed = is_closed(&self.input.target.config, &target.ticket);
        let newly_closed = |side: Role| match side {
            Role::Source => source_closed && !link.source_closed,
            Role::Target => target_closed && !link.target_closed,
        };
        let closed_now = |side: Role| by_side(side, source_closed, target_closed);
        for side in [Role::Source, Role::Target] {
            let other = side.opposite();
            if newly_closed(side) && !closed_now(other) && closing.is_none() {
                let config = &self.input.side(other).config.closure;
                let status = config
                    .status_when_partner_closes
                    .clone()
                    .or_else(|| config.closed_statuses.first().cloned());
                match status {
                    Some(status) => {
                        let mut fingerprints = Vec::new();
                        for mapping in &self.input.mappings {
                            if field_of(mapping, other) == STATUS {
                                let from_field = field_of(mapping, side);
                                fingerprints.push(FieldFingerprint {
                                    side: other,
                                    field: STATUS.to_owned(),
                                    fingerprint: fingerprint(&FieldValue::Choice(status.clone())),
                                });
                                fingerprints.push(FieldFingerprint {
                                    side,
                                    field: from_field.to_owned(),
                                    fingerprint: fingerprint(&states(side).ticket.field(from_field)),
                                });
                            }
                        }
                        closing = Some(other);
                        closes.push(SyncAction::Close {
                            on: other,
                            ticket: PlannedTicket::Existing(link.ticket(other).clone()),
                            status,
                            fingerprints,
                        });
                    }
                    None => closes.push(SyncAction::FieldFailure {
                        field: STATUS.to_owned(),
                        reason: format!(
                            "the {} ticket was closed but no closing status is configured for the {} side",
                            side.label().to_lowercase(),
                            other.label().to_lowercase()
                        ),
                    }),
                }
            }
        }

        // Fields.
        let mut changes: BTreeMap<Role, (Vec<FieldChange>, Vec<FieldFingerprint>)> =
            BTreeMap::new();
        for mapping in &self.input.mappings {
            let source_field = &mapping.source_field;
            let target_field = &mapping.target_field;
            // A closure being carried across wins over any status change in this run, both ways:
            // the closed side stays closed and the other side gets the closing status.
            if closing.is_some() && (source_field == STATUS || target_field == STATUS) {
                continue;
            }
            let source_value = source.ticket.field(source_field);
            let target_value = target.ticket.field(target_field);
            let source_changed =
                link.source_fields.get(source_field) != Some(&fingerprint(&source_value));
            let target_changed =
                link.target_fields.get(target_field) != Some(&fingerprint(&target_value));
            let to_target = mapping.direction.flows_to_target();
            let to_source = mapping.direction.flows_to_source();
            let from = match (source_changed, target_changed) {
                (false, false) => continue,
                (true, false) => Role::Source,
                (false, true) => Role::Target,
                (true, true) => {
                    let winner = self.conflict_winner(mapping.direction, source, target);
                    let flows = flows_to(mapping.direction, winner.opposite());
                    let (from_value, to_value) = by_side(
                        winner,
                        (&source_value, &target_value),
                        (&target_value, &source_value),
                    );
                    let differs = fingerprint(from_value) != fingerprint(to_value);
                    if flows && differs {
                        actions.push(SyncAction::Conflict {
                            field: field_of(mapping, winner).to_owned(),
                            winner,
                        });
                    }
                    winner
                }
            };
            let to = from.opposite();
            if !by_side(from, to_target, to_source) {
                continue;
            }

            let from_state = states(from);
            let from_field = field_of(mapping, from);
            let to_field = field_of(mapping, to);
            let from_value = by_side(from, &source_value, &target_value);
            let to_value = by_side(to, &source_value, &target_value);
            let carried =
                if from_field == DESCRIPTION && to_field == DESCRIPTION && link.origin == from {
                    Ok(FieldValue::Text(
                        self.compose(&from_state.ticket, &from_value.to_string()),
                    ))
                } else {
                    self.carry(mapping, from, &from_state.ticket, from_value)
                };
            match carried {
                Err(reason) => actions.push(SyncAction::FieldWarning {
                    field: from_field.to_owned(),
                    reason: format!("{reason}; the field was left as it is"),
                }),
                Ok(carried) => {
                    if fingerprint(&carried) == fingerprint(to_value) {
                        continue;
                    }
                    let entry = changes.entry(to).or_default();
                    entry.0.push(FieldChange {
                        field: to_field.to_owned(),
                        value: carried.clone(),
                    });
                    entry.1.push(FieldFingerprint {
                        side: to,
                        field: to_field.to_owned(),
                        fingerprint: fingerprint(&carried),
                    });
                    entry.1.push(FieldFingerprint {
                        side: from,
                        field: from_field.to_owned(),
                        fingerprint: fingerprint(from_value),
                    });
                }
            }
        }
        // Which sides are closed once this plan's status updates are applied.
        let closed_after = |side: Role| {
            let status_written = changes.get(&side).and_then(|(changes, _)| {
                changes
                    .iter()
                    .find(|change| change.field == STATUS)
                    .map(|change| change.value.as_choice().cloned())
            });
            match status_written {
                Some(status) => status.is_some_and(|status| {
                    self.input
                        .side(side)
                        .config
                        .closure
                        .closed_statuses
                        .contains(&status)
                }),
                None => closed_now(side),
            }
        };
        let (source_closed_after, target_closed_after) =
            (closed_after(Role::Source), closed_after(Role::Target));
        if closing.is_none()
            && (source_closed_after != link.source_closed
                || target_closed_after != link.target_closed)
            && !closes.iter().any(SyncAction::is_failure)
        {
            closes.push(SyncAction::ClosedState {
                source_closed: source_closed_after,
                target_closed: target_closed_after,
            });
        }
        for (on, (changes, fingerprints)) in changes {
            actions.push(SyncAction::UpdateFields {
                on,
                ticket: link.ticket(on).clone(),
                changes,
                fingerprints,
            });
        }

        for from in [Role::Source, Role::Target] {
            let to = from.opposite();
            let planned = PlannedTicket::Existing(link.ticket(to).clone());
            self.plan_comments(
                from,
                states(from),
                Some(states(to)),
                planned.clone(),
                Some(link),
                &mut actions,
            );
            self.plan_attachments(
                from,
                states(from),
                Some(states(to)),
                planned.clone(),
                Some(link),
                &mut actions,
            );
            self.plan_time_entries(
                from,
                states(from),
                Some(states(to)),
                planned,
                Some(link),
                &mut actions,
            );
        }
        actions.extend(closes);
        if actions.is_empty() {
            actions.push(SyncAction::Skip {
                reason: "already in step".into(),
            });
        }
        TicketPlan {
            source: Some(Self::ticket_ref(&source.ticket)),
            target: Some(Self::ticket_ref(&target.ticket)),
            origin: link.origin,
            link: Some(link.clone()),
            actions,
        }
    }

    fn conflict_winner(
        &self,
        direction: MappingDirection,
        source: &TicketState,
        target: &TicketState,
    ) -> Role {
        let later = if target.ticket.last_activity_at > source.ticket.last_activity_at {
            Role::Target
        } else {
            Role::Source
        };
        match self.input.conflict_rule {
            ConflictRule::SourceWins => Role::Source,
            ConflictRule::TargetWins => Role::Target,
            ConflictRule::LatestActivityWins => later,
            ConflictRule::MappingDirection => match direction {
                MappingDirection::SourceToTarget => Role::Source,
                MappingDirection::TargetToSource => Role::Target,
                MappingDirection::Both => later,
            },
        }
    }

    // ---------- values ----------

    fn compose(&self, ticket: &TicketSnapshot, original: &str) -> String {
        self.input
            .composition
            .compose(&|field| ticket.display(field), original)
    }

    /// `value` of `mapping`'s field on side `from`, as the other side must receive it.
    fn carry(
        &self,
        mapping: &FieldMapping,
        from: Role,
        ticket: &TicketSnapshot,
        value: &FieldValue,
    ) -> Result<FieldValue, String> {
        let FieldValue::Choice(choice) = value else {
            return Ok(value.clone());
        };
        if mapping.value_mappings.is_empty() {
            return Ok(value.clone());
        }
        let mapped = match from {
            Role::Source => mapping.target_for(choice),
            Role::Target => mapping.source_for(choice),
        };
        match mapped {
            Some(mapped) => Ok(FieldValue::Choice(mapped.clone())),
            None => {
                let field = field_of(mapping, from);
                let shown = match ticket.labels.get(field) {
                    Some(label) => format!("\"{label}\" ({})", choice.as_str()),
                    None => choice.as_str().to_owned(),
                };
                Err(format!(
                    "the {} value {shown} of {field} has no value mapping; add one under Field mappings",
                    from.label().to_lowercase()
                ))
            }
        }
    }
}
