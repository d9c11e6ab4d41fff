//! Table-style tests of the sync planner: each builds a small scenario (two organisations, a few
//! tickets, links and configuration) and checks the planned actions a person would notice.

use std::collections::BTreeMap;

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::ids::{FieldMappingId, RelationshipId};
use crate::integration::{ChoiceValue, SideConfig};
use crate::mapping::{
    ComposedField, DescriptionComposition, FieldMapping, MappingDirection, ValueMapping,
};
use crate::relationship::Role;
use crate::sync::*;

fn at(minutes: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_795_000_000).expect("valid time")
        + Duration::minutes(minutes)
}

fn relationship() -> RelationshipId {
    RelationshipId::from_uuid(Uuid::from_u128(0x0192_f3c4_a1b2_7c3d_8e9f_0a1b_2c3d_4e5f))
}

fn choice(value: i64) -> ChoiceValue {
    ChoiceValue::from(value)
}

fn ticket(id: &str) -> TicketSnapshot {
    TicketSnapshot {
        id: TicketId::new(id),
        number: format!("T2026.{id}"),
        title: "Printer jammed".into(),
        description: "The printer on floor 2 is jammed.".into(),
        status: Some(choice(1)),
        queue: Some(choice(10)),
        company: Some(choice(500)),
        category: Some(choice(3)),
        fields: BTreeMap::from([("priority".to_owned(), FieldValue::Choice(choice(2)))]),
        labels: BTreeMap::from([("priority".to_owned(), "Medium".to_owned())]),
        marker: None,
        created_at: at(0),
        created_by: Some(ActorId::new("person")),
        last_activity_at: at(0),
        last_activity_by: Some(ActorId::new("person")),
    }
}

fn state(ticket: TicketSnapshot) -> TicketState {
    TicketState {
        ticket,
        comments: Vec::new(),
        attachments: Vec::new(),
        time_entries: None,
    }
}

fn comment(id: &str, ticket: &str, publish: i64, author: &str) -> CommentSnapshot {
    CommentSnapshot {
        id: CommentId::new(id),
        ticket: TicketId::new(ticket),
        publish: Some(choice(publish)),
        note_type: Some(choice(1)),
        author: Some(ActorId::new(author)),
        author_name: "Jane Doe".into(),
        created_at: at(1),
        title: "Update".into(),
        body: "Tried turning it off and on again.".into(),
    }
}

fn attachment(id: &str, ticket: &str, size: u64, author: &str) -> AttachmentSnapshot {
    AttachmentSnapshot {
        id: AttachmentId::new(id),
        ticket: TicketId::new(ticket),
        name: "photo.jpg".into(),
        size_bytes: size,
        content_type: Some("image/jpeg".into()),
        publish: Some(choice(1)),
        author: Some(ActorId::new(author)),
        created_at: at(1),
    }
}

fn mapping(field: &str, direction: MappingDirection, values: &[(i64, i64)]) -> FieldMapping {
    FieldMapping {
        id: FieldMappingId::new(),
        relationship_id: relationship(),
        ticket_type: "Ticket".into(),
        source_field: field.into(),
        target_field: field.into(),
        direction,
        value_mappings: values
            .iter()
            .map(|(source, target)| ValueMapping {
                source: choice(*source),
                target: choice(*target),
            })
            .collect(),
    }
}

fn side_config(closed_status: i64) -> SideConfig {
    let mut config = SideConfig::default();
    config.receive.company = Some(choice(500));
    config.receive.queue = Some(choice(20));
    config.receive.status = Some(choice(1));
    config.receive.public_comment.publish = Some(choice(1));
    config.receive.public_comment.note_type = Some(choice(3));
    config.receive.internal_comment.publish = Some(choice(2));
    config.receive.internal_comment.note_type = Some(choice(4));
    config.send.public_publish_levels = vec![choice(1)];
    config.send.internal_publish_levels = vec![choice(2)];
    config.closure.closed_statuses = vec![choice(closed_status)];
    config.closure.status_when_partner_closes = Some(choice(closed_status));
    config
}

fn input() -> PlanInput {
    PlanInput {
        relationship: relationship(),
        source: SideInput {
            config: side_config(5),
            organisation_name: "Contoso Manufacturing".into(),
            own_actor: Some(ActorId::new("api-source")),
            tickets: Vec::new(),
            deleted: Vec::new(),
        },
        target: SideInput {
            config: side_config(5),
            organisation_name: "Northwind IT".into(),
            own_actor: Some(ActorId::new("api-target")),
            tickets: Vec::new(),
            deleted: Vec::new(),
        },
        links: Vec::new(),
        mappings: vec![
            mapping(TITLE, MappingDirection::Both, &[]),
            mapping(DESCRIPTION, MappingDirection::SourceToTarget, &[]),
            mapping(STATUS, MappingDirection::Both, &[(1, 1), (5, 5), (8, 80)]),
            mapping(
                "priority",
                MappingDirection::SourceToTarget,
                &[(2, 20), (3, 30)],
            ),
        ],
        composition: DescriptionComposition::default(),
        conflict_rule: ConflictRule::default(),
        attachment_size_limit: 7_000_000,
    }
}

/// A link made when `source`/`target` were last in step with each other as they are given.
fn link_between(input: &PlanInput, source: &TicketSnapshot, target: &TicketSnapshot) -> TicketLink {
    let mut link = TicketLink {
        relationship: relationship(),
        source: source.id.clone(),
        target: target.id.clone(),
        source_number: source.number.clone(),
        target_number: target.number.clone(),
        title: String::new(),
        origin: Role::Source,
        source_fields: BTreeMap::new(),
        target_fields: BTreeMap::new(),
        comments: Vec::new(),
        attachments: Vec::new(),
        time_entries: Vec::new(),
        source_closed: false,
        target_closed: false,
        created_at: at(0),
        updated_at: at(0),
        ended: None,
        held: Vec::new(),
    };
    for mapping in &input.mappings {
        link.source_fields.insert(
            mapping.source_field.clone(),
            Fingerprint::of_value(&source.field(&mapping.source_field)),
        );
        link.target_fields.insert(
            mapping.target_field.clone(),
            Fingerprint::of_value(&target.field(&mapping.target_field)),
        );
    }
    link
}

/// A linked pair "S1" ↔ "T1" in step, with the target's priority mapped (2 → 20).
fn linked_pair() -> (PlanInput, TicketSnapshot, TicketSnapshot) {
    let mut input = input();
    let source = ticket("S1");
    let mut target = ticket("T1");
    target
        .fields
        .insert("priority".into(), FieldValue::Choice(choice(20)));
    let link = link_between(&input, &source, &target);
    input.links.push(link);
    (input, source, target)
}

fn with_tickets(
    mut input: PlanInput,
    source: Vec<TicketState>,
    target: Vec<TicketState>,
) -> PlanInput {
    input.source.tickets = source;
    input.target.tickets = target;
    input
}

fn only_plan(input: &PlanInput) -> TicketPlan {
    let plan = plan(input);
    assert_eq!(plan.tickets.len(), 1, "{plan:#?}");
    plan.tickets.into_iter().next().expect("one ticket plan")
}

fn skip_reason(plan: &TicketPlan) -> String {
    match plan.actions.as_slice() {
        [SyncAction::Skip { reason }] => reason.clone(),
        other => panic!("expected one skip, got {other:#?}"),
    }
}

fn created_draft(plan: &TicketPlan) -> (Role, &TicketDraft) {
    plan.actions
        .iter()
        .find_map(|action| match action {
            SyncAction::CreateTicket { on, draft, .. } => Some((*on, draft.as_ref())),
            _ => None,
        })
        .expect("a create action")
}

fn updates(plan: &TicketPlan, side: Role) -> BTreeMap<String, FieldValue> {
    plan.actions
        .iter()
        .filter_map(|action| match action {
            SyncAction::UpdateFields { on, changes, .. } if *on == side => Some(changes.clone()),
            _ => None,
        })
        .flatten()
        .map(|change| (change.field, change.value))
        .collect()
}

// ---------- creating tickets ----------

#[test]
fn a_new_source_ticket_is_created_once_on_the_target_with_its_marker() {
    let input = with_tickets(input(), vec![state(ticket("S1"))], vec![]);
    let plan = only_plan(&input);
    let (on, draft) = created_draft(&plan);
    assert_eq!(on, Role::Target);
    let marker = TicketMarker::parse(draft.marker.as_str()).expect("marker");
    assert_eq!(marker.origin_ticket, TicketId::new("S1"));
    assert_eq!(marker.origin, Role::Source);
    assert_eq!(draft.title, "Printer jammed");
    assert_eq!(
        plan.actions
            .iter()
            .filter(|a| matches!(a, SyncAction::CreateTicket { .. }))
            .count(),
        1
    );
}

#[test]
fn a_created_ticket_carries_the_receiving_sides_defaults() {
    let input = with_tickets(input(), vec![state(ticket("S1"))], vec![]);
    let plan = only_plan(&input);
    let (_, draft) = created_draft(&plan);
    assert_eq!(draft.company, Some(choice(500)));
    assert_eq!(draft.queue, Some(choice(20)));
}

#[test]
fn picklist_values_are_translated_through_the_value_mappings() {
    let mut source = ticket("S1");
    source.status = Some(choice(8));
    let input = with_tickets(input(), vec![state(source)], vec![]);
    let plan = only_plan(&input);
    let (_, draft) = created_draft(&plan);
    assert_eq!(
        draft.fields.get(STATUS),
        Some(&FieldValue::Choice(choice(80)))
    );
    assert_eq!(
        draft.fields.get("priority"),
        Some(&FieldValue::Choice(choice(20)))
    );
}

#[test]
fn the_description_is_composed_with_the_configured_fields_on_create() {
    let mut input = input();
    input.composition = DescriptionComposition {
        fields: vec![ComposedField {
            field: "priority".into(),
            label: "Customer priority".into(),
        }],
        separator: "---".into(),
    };
    let input = with_tickets(input, vec![state(ticket("S1"))], vec![]);
    let plan = only_plan(&input);
    let (_, draft) = created_draft(&plan);
    assert_eq!(
        draft.description,
        "Customer priority: Medium\n---\nThe printer on floor 2 is jammed."
    );
}

#[test]
fn an_unmapped_picklist_value_falls_back_to_the_configured_default_with_a_warning_naming_the_field()
{
    let mut source = ticket("S1");
    source
        .fields
        .insert("priority".into(), FieldValue::Choice(choice(9)));
    let input = with_tickets(input(), vec![state(source)], vec![]);
    let plan = only_plan(&input);
    created_draft(&plan);
    let failure = plan
        .actions
        .iter()
        .find_map(|action| match action {
            SyncAction::FieldWarning { field, reason } => Some((field.clone(), reason.clone())),
            _ => None,
        })
        .expect("a field warning");
    assert_eq!(failure.0, "priority");
    assert!(failure.1.contains("no value mapping"), "{}", failure.1);
    assert!(failure.1.contains("configured default"), "{}", failure.1);
    assert!(!plan.actions.iter().any(SyncAction::is_failure));
    assert!(!created_draft(&plan).1.fields.contains_key("priority"));
}

#[test]
fn a_source_ticket_outside_the_send_queues_is_skipped_with_the_reason() {
    let mut input = input();
    input.source.config.send.queues = vec![choice(11)];
    let input = with_tickets(input, vec![state(ticket("S1"))], vec![]);
    assert!(skip_reason(&only_plan(&input)).contains("queue"));
}

#[test]
fn a_source_ticket_of_another_company_is_not_sent() {
    let mut other = ticket("S1");
    other.company = Some(choice(101));
    let input = with_tickets(input(), vec![state(other)], vec![]);
    assert!(skip_reason(&only_plan(&input)).contains("company (101)"));
}

#[test]
fn a_source_ticket_outside_the_send_categories_is_not_sent() {
    let mut input = input();
    input.source.config.send.categories = vec![choice(4)];
    let input = with_tickets(input, vec![state(ticket("S1"))], vec![]);
    assert!(skip_reason(&only_plan(&input)).contains("category"));
}

#[test]
fn a_ticket_raised_on_the_target_stays_there_without_reverse_sync() {
    let input = with_tickets(input(), vec![], vec![state(ticket("T9"))]);
    assert!(skip_reason(&only_plan(&input)).contains("reverse sync is off"));
}

#[test]
fn with_reverse_sync_a_ticket_raised_on_the_target_is_created_on_the_source() {
    let mut input = input();
    input.target.config.reverse_sync.enabled = true;
    let input = with_tickets(input, vec![], vec![state(ticket("T9"))]);
    let plan = only_plan(&input);
    let (on, draft) = created_draft(&plan);
    assert_eq!(on, Role::Source);
    assert_eq!(plan.origin, Role::Target);
    let marker = TicketMarker::parse(draft.marker.as_str()).expect("marker");
    assert_eq!(marker.origin, Role::Target);
    // status flows both ways (1 ↔ 1); priority only source → target, so it is not carried back
    assert_eq!(
        draft.fields.get(STATUS),
        Some(&FieldValue::Choice(choice(1)))
    );
    assert!(!draft.fields.contains_key("priority"));
}

#[test]
fn reverse_sync_sends_only_the_chosen_queues() {
    let mut input = input();
    input.target.config.reverse_sync.enabled = true;
    input.target.config.reverse_sync.queues = vec![choice(99)];
    let input = with_tickets(input, vec![], vec![state(ticket("T9"))]);
    assert!(skip_reason(&only_plan(&input)).contains("queue"));
}

#[test]
fn a_ticket_our_own_api_user_created_is_never_sent_back() {
    let mut input = input();
    input.target.config.reverse_sync.enabled = true;
    let mut copy = ticket("T9");
    copy.created_by = Some(ActorId::new("api-target"));
    let input = with_tickets(input, vec![], vec![state(copy)]);
    assert!(skip_reason(&only_plan(&input)).contains("own API user"));
}

#[test]
fn a_ticket_closed_before_it_was_ever_synced_is_not_created() {
    let mut source = ticket("S1");
    source.status = Some(choice(5));
    let input = with_tickets(input(), vec![state(source)], vec![]);
    assert!(skip_reason(&only_plan(&input)).contains("closed"));
}

#[test]
fn a_copy_found_by_its_marker_is_linked_instead_of_created_again() {
    let source = ticket("S1");
    let mut copy = ticket("T1");
    copy.marker =
        Some(TicketMarker::for_copy_of(relationship(), Role::Source, &source.id).to_string());
    copy.created_by = Some(ActorId::new("api-target"));
    copy.fields
        .insert("priority".into(), FieldValue::Choice(choice(20)));
    let input = with_tickets(input(), vec![state(source)], vec![state(copy)]);
    let plan = only_plan(&input);
    assert!(
        matches!(plan.actions.first(), Some(SyncAction::LinkExisting { source, target, .. })
        if source.as_str() == "S1" && target.as_str() == "T1")
    );
    assert!(
        !plan
            .actions
            .iter()
            .any(|a| matches!(a, SyncAction::CreateTicket { .. }))
    );
}

// ---------- fields of linked tickets ----------

#[test]
fn a_linked_pair_with_nothing_changed_is_already_in_step() {
    let (input, source, target) = linked_pair();
    let input = with_tickets(input, vec![state(source)], vec![state(target)]);
    assert_eq!(skip_reason(&only_plan(&input)), "already in step");
}

#[test]
fn a_changed_source_title_updates_the_target() {
    let (input, mut source, target) = linked_pair();
    source.title = "Printer on fire".into();
    let input = with_tickets(input, vec![state(source)], vec![state(target)]);
    let plan = only_plan(&input);
    assert_eq!(
        updates(&plan, Role::Target),
        BTreeMap::from([(TITLE.to_owned(), FieldValue::text("Printer on fire"))])
    );
    assert!(updates(&plan, Role::Source).is_empty());
}

#[test]
fn content_equal_to_what_we_last_wrote_is_not_echoed_back() {
    let (mut input, mut source, mut target) = linked_pair();
    // We wrote "Printer on fire" to the target last run; the link remembers it on both sides.
    source.title = "Printer on fire".into();
    target.title = "Printer on fire".into();
    target.last_activity_by = Some(ActorId::new("api-target"));
    input.links[0] = link_between(&input, &source, &target);
    let input = with_tickets(input, vec![state(source)], vec![state(target)]);
    assert_eq!(skip_reason(&only_plan(&input)), "already in step");
}

#[test]
fn a_target_change_to_a_source_to_target_field_is_not_carried_back() {
    let (input, source, mut target) = linked_pair();
    target
        .fields
        .insert("priority".into(), FieldValue::Choice(choice(30)));
    let input = with_tickets(input, vec![state(source)], vec![state(target)]);
    assert_eq!(skip_reason(&only_plan(&input)), "already in step");
}

#[test]
fn a_target_change_to_a_both_way_field_flows_to_the_source_through_the_value_mapping() {
    let (input, source, mut target) = linked_pair();
    target.status = Some(choice(80));
    let input = with_tickets(input, vec![state(source)], vec![state(target)]);
    let plan = only_plan(&input);
    assert_eq!(
        updates(&plan, Role::Source),
        BTreeMap::from([(STATUS.to_owned(), FieldValue::Choice(choice(8)))])
    );
}

#[test]
fn when_both_sides_change_a_both_way_field_the_later_activity_wins_and_the_conflict_is_recorded() {
    let (input, mut source, mut target) = linked_pair();
    source.title = "Source title".into();
    source.last_activity_at = at(10);
    target.title = "Target title".into();
    target.last_activity_at = at(20);
    let input = with_tickets(input, vec![state(source)], vec![state(target)]);
    let plan = only_plan(&input);
    assert!(plan.actions.contains(&SyncAction::Conflict {
        field: TITLE.into(),
        winner: Role::Target
    }));
    assert_eq!(
        updates(&plan, Role::Source).get(TITLE),
        Some(&FieldValue::text("Target title"))
    );
    assert!(updates(&plan, Role::Target).is_empty());
}

#[test]
fn when_both_sides_change_a_one_way_field_the_mapping_direction_decides() {
    let (input, mut source, mut target) = linked_pair();
    source
        .fields
        .insert("priority".into(), FieldValue::Choice(choice(3)));
    source.last_activity_at = at(10);
    target
        .fields
        .insert("priority".into(), FieldValue::Choice(choice(99)));
    target.last_activity_at = at(20);
    let input = with_tickets(input, vec![state(source)], vec![state(target)]);
    let plan = only_plan(&input);
    assert!(plan.actions.contains(&SyncAction::Conflict {
        field: "priority".into(),
        winner: Role::Source
    }));
    assert_eq!(
        updates(&plan, Role::Target).get("priority"),
        Some(&FieldValue::Choice(choice(30)))
    );
}

#[test]
fn the_source_wins_rule_overrides_a_later_target_change() {
    let (mut input, mut source, mut target) = linked_pair();
    input.conflict_rule = ConflictRule::SourceWins;
    source.title = "Source title".into();
    target.title = "Target title".into();
    target.last_activity_at = at(20);
    let input = with_tickets(input, vec![state(source)], vec![state(target)]);
    let plan = only_plan(&input);
    assert_eq!(
        updates(&plan, Role::Target).get(TITLE),
        Some(&FieldValue::text("Source title"))
    );
}

#[test]
fn a_description_change_on_the_source_is_written_composed_to_the_target() {
    let (mut input, mut source, target) = linked_pair();
    input.composition = DescriptionComposition {
        fields: vec![ComposedField {
            field: "priority".into(),
            label: "Priority".into(),
        }],
        separator: "--".into(),
    };
    source.description = "Now it smokes.".into();
    let input = with_tickets(input, vec![state(source)], vec![state(target)]);
    let plan = only_plan(&input);
    assert_eq!(
        updates(&plan, Role::Target).get(DESCRIPTION),
        Some(&FieldValue::text("Priority: Medium\n--\nNow it smokes."))
    );
}

// ---------- comments ----------

#[test]
fn a_public_comment_is_copied_with_the_attribution_line_and_the_receivers_note_defaults() {
    let (input, source, target) = linked_pair();
    let mut source_state = state(source);
    source_state.comments.push(comment("C1", "S1", 1, "person"));
    let input = with_tickets(input, vec![source_state], vec![state(target)]);
    let plan = only_plan(&input);
    let draft = plan
        .actions
        .iter()
        .find_map(|action| match action {
            SyncAction::AddComment {
                on: Role::Target,
                ticket: PlannedTicket::Existing(id),
                draft,
                ..
            } if id.as_str() == "T1" => Some(draft.clone()),
            _ => None,
        })
        .expect("comment copied to T1");
    assert_eq!(
        draft.body,
        "From Contoso Manufacturing \u{2014} Jane Doe:\nTried turning it off and on again."
    );
    assert_eq!(draft.publish, Some(choice(1)));
    assert_eq!(draft.note_type, Some(choice(3)));
}

#[test]
fn internal_comments_stay_internal_unless_the_sender_enables_them() {
    let (mut input, source, target) = linked_pair();
    let mut source_state = state(source);
    source_state.comments.push(comment("C2", "S1", 2, "person"));
    input.source.tickets = vec![source_state];
    input.target.tickets = vec![state(target)];
    assert_eq!(skip_reason(&only_plan(&input)), "already in step");

    input.source.config.options.internal_comments = true;
    let plan = only_plan(&input);
    let draft = plan
        .actions
        .iter()
        .find_map(|action| match action {
            SyncAction::AddComment { draft, .. } => Some(draft.clone()),
            _ => None,
        })
        .expect("internal comment copied");
    assert_eq!(draft.publish, Some(choice(2)));
    assert_eq!(draft.note_type, Some(choice(4)));
}

#[test]
fn comments_flow_from_the_target_back_to_the_source_too() {
    let (input, source, target) = linked_pair();
    let mut target_state = state(target);
    target_state
        .comments
        .push(comment("C7", "T1", 1, "technician"));
    let input = with_tickets(input, vec![state(source)], vec![target_state]);
    let plan = only_plan(&input);
    assert!(plan.actions.iter().any(|action| matches!(action,
        SyncAction::AddComment { on: Role::Source, draft, .. } if draft.body.starts_with("From Northwind IT"))));
}

#[test]
fn comments_written_by_our_own_api_user_are_not_copied_back() {
    let (input, source, target) = linked_pair();
    let mut target_state = state(target);
    target_state
        .comments
        .push(comment("C8", "T1", 1, "api-target"));
    let input = with_tickets(input, vec![state(source)], vec![target_state]);
    assert_eq!(skip_reason(&only_plan(&input)), "already in step");
}

#[test]
fn a_comment_already_copied_is_not_copied_again() {
    let (mut input, source, target) = linked_pair();
    input.links[0].comments.push(CopiedItem {
        from: Role::Source,
        original: CommentId::new("C1"),
        copy: CommentId::new("C1-copy"),
    });
    let mut source_state = state(source);
    source_state.comments.push(comment("C1", "S1", 1, "person"));
    let input = with_tickets(input, vec![source_state], vec![state(target)]);
    assert_eq!(skip_reason(&only_plan(&input)), "already in step");
}

#[test]
fn a_copy_written_before_a_crash_is_found_by_its_content_and_linked_not_added_again() {
    let (input, source, target) = linked_pair();
    let mut source_state = state(source);
    source_state.comments.push(comment("C1", "S1", 1, "person"));
    let mut copy = comment("C1-copy", "T1", 1, "api-target");
    copy.body =
        "From Contoso Manufacturing \u{2014} Jane Doe:\r\nTried turning it off and on again.\n"
            .into();
    let mut target_state = state(target);
    target_state.comments.push(copy);
    let input = with_tickets(input, vec![source_state], vec![target_state]);
    let plan = only_plan(&input);
    assert_eq!(
        plan.actions,
        vec![SyncAction::LinkComment {
            from: Role::Source,
            original: CommentId::new("C1"),
            copy: CommentId::new("C1-copy"),
        }]
    );
}

#[test]
fn comments_of_a_new_ticket_go_to_the_ticket_being_created() {
    let mut source_state = state(ticket("S1"));
    source_state.comments.push(comment("C1", "S1", 1, "person"));
    let input = with_tickets(input(), vec![source_state], vec![]);
    let plan = only_plan(&input);
    assert!(matches!(
        plan.actions.as_slice(),
        [
            SyncAction::CreateTicket { .. },
            SyncAction::AddComment {
                ticket: PlannedTicket::Created,
                ..
            }
        ]
    ));
}

// ---------- attachments ----------

#[test]
fn an_attachment_over_the_size_limit_is_a_failure_that_says_why() {
    let (input, source, target) = linked_pair();
    let mut source_state = state(source);
    source_state
        .attachments
        .push(attachment("A1", "S1", 8_000_000, "person"));
    let input = with_tickets(input, vec![source_state], vec![state(target)]);
    let plan = only_plan(&input);
    match plan.actions.as_slice() {
        [SyncAction::AttachmentFailure { name, reason, .. }] => {
            assert_eq!(name, "photo.jpg");
            assert!(reason.contains("8000000 bytes"), "{reason}");
        }
        other => panic!("{other:#?}"),
    }
}

#[test]
fn attachments_are_copied_within_the_limit_and_not_at_all_when_switched_off() {
    let (mut input, source, target) = linked_pair();
    let mut source_state = state(source);
    source_state
        .attachments
        .push(attachment("A1", "S1", 1_000, "person"));
    input.source.tickets = vec![source_state];
    input.target.tickets = vec![state(target)];
    assert!(matches!(only_plan(&input).actions.as_slice(),
        [SyncAction::AddAttachment { on: Role::Target, from, .. }] if from.as_str() == "A1"));
    input.source.config.options.attachments = false;
    assert_eq!(skip_reason(&only_plan(&input)), "already in step");
}

#[test]
fn an_attachment_copy_of_ours_with_the_same_name_and_size_is_linked_not_uploaded_again() {
    let (input, source, target) = linked_pair();
    let mut source_state = state(source);
    source_state
        .attachments
        .push(attachment("A1", "S1", 1_000, "person"));
    let mut target_state = state(target);
    target_state
        .attachments
        .push(attachment("A1-copy", "T1", 1_000, "api-target"));
    let input = with_tickets(input, vec![source_state], vec![target_state]);
    assert!(matches!(only_plan(&input).actions.as_slice(),
        [SyncAction::LinkAttachment { copy, .. }] if copy.as_str() == "A1-copy"));
}

// ---------- closures ----------

#[test]
fn closing_the_source_closes_the_target_with_the_configured_status_instead_of_a_status_update() {
    let (mut input, mut source, target) = linked_pair();
    input.target.config.closure.status_when_partner_closes = Some(choice(5));
    source.status = Some(choice(5));
    let input = with_tickets(input, vec![state(source)], vec![state(target)]);
    let plan = only_plan(&input);
    assert!(plan.actions.iter().any(|action| matches!(action,
        SyncAction::Close { on: Role::Target, status, .. } if *status == choice(5))));
    assert!(!updates(&plan, Role::Target).contains_key(STATUS));
}

#[test]
fn closing_the_target_closes_the_source() {
    let (input, source, mut target) = linked_pair();
    target.status = Some(choice(5));
    let input = with_tickets(input, vec![state(source)], vec![state(target)]);
    let plan = only_plan(&input);
    assert!(plan.actions.iter().any(|action| matches!(
        action,
        SyncAction::Close {
            on: Role::Source,
            ..
        }
    )));
}

#[test]
fn reopening_one_side_is_not_undone_by_the_partners_closed_state() {
    let (mut input, mut source, mut target) = linked_pair();
    source.status = Some(choice(5));
    target.status = Some(choice(5));
    input.links[0] = link_between(&input, &source, &target);
    input.links[0].source_closed = true;
    input.links[0].target_closed = true;
    // The customer reopens the source ticket.
    source.status = Some(choice(1));
    let input = with_tickets(input, vec![state(source)], vec![state(target)]);
    let plan = only_plan(&input);
    assert!(!plan.actions.iter().any(|action| matches!(
        action,
        SyncAction::Close {
            on: Role::Source,
            ..
        }
    )));
    // The reopened status flows to the target, so neither side counts as closed afterwards.
    assert_eq!(
        updates(&plan, Role::Target).get(STATUS),
        Some(&FieldValue::Choice(choice(1)))
    );
    assert!(plan.actions.contains(&SyncAction::ClosedState {
        source_closed: false,
        target_closed: false
    }));
}

#[test]
fn a_closure_without_a_closing_status_on_the_other_side_is_a_failure() {
    let (mut input, mut source, target) = linked_pair();
    input.target.config.closure = Default::default();
    source.status = Some(choice(5));
    let input = with_tickets(input, vec![state(source)], vec![state(target)]);
    let plan = only_plan(&input);
    assert!(plan.actions.iter().any(|action| matches!(action,
        SyncAction::FieldFailure { field, reason } if field == STATUS && reason.contains("no closing status"))));
}

// ---------- pairs and bookkeeping ----------

#[test]
fn a_linked_pair_changed_on_both_sides_is_planned_once() {
    let (input, mut source, target) = linked_pair();
    source.title = "New".into();
    let input = with_tickets(input, vec![state(source)], vec![state(target)]);
    assert_eq!(plan(&input).tickets.len(), 1);
}

#[test]
fn a_linked_ticket_whose_partner_could_not_be_read_is_skipped_with_the_reason() {
    let (input, source, _) = linked_pair();
    let input = with_tickets(input, vec![state(source)], vec![]);
    assert!(skip_reason(&only_plan(&input)).contains("could not be read"));
}

#[test]
fn applying_a_create_and_its_comment_gives_a_link_that_plans_nothing_more() {
    let mut source_state = state(ticket("S1"));
    source_state.comments.push(comment("C1", "S1", 1, "person"));
    let input = with_tickets(input(), vec![source_state.clone()], vec![]);
    let ticket_plan = only_plan(&input);
    let created = ActionOutcome::TicketCreated(Box::new(ticket("T1")));
    let link = link_after_success(
        relationship(),
        &ticket_plan,
        None,
        &ticket_plan.actions[0],
        &created,
        at(5),
    )
    .expect("link made by the create");
    let link = link_after_success(
        relationship(),
        &ticket_plan,
        Some(&link),
        &ticket_plan.actions[1],
        &ActionOutcome::CommentAdded(CommentId::new("C1-copy")),
        at(5),
    )
    .expect("link records the comment");
    assert_eq!((link.source.as_str(), link.target.as_str()), ("S1", "T1"));
    assert!(link.knows_comment(Role::Source, &CommentId::new("C1")));

    // The target ticket as the create wrote it.
    let (_, draft) = created_draft(&ticket_plan);
    let mut copy = ticket("T1");
    copy.title = draft.title.clone();
    copy.description = draft.description.clone();
    copy.fields = draft.fields.clone();
    copy.status = Some(choice(1));
    let mut copy_state = state(copy);
    let mut written = comment("C1-copy", "T1", 1, "api-target");
    written.body = "whatever".into();
    copy_state.comments.push(written);
    let mut again = with_tickets(input, vec![source_state], vec![copy_state]);
    again.links = vec![link];
    assert_eq!(skip_reason(&only_plan(&again)), "already in step");
}

#[test]
fn the_same_input_always_gives_the_same_plan() {
    let mut source_state = state(ticket("S1"));
    source_state.comments.push(comment("C1", "S1", 1, "person"));
    let input = with_tickets(
        input(),
        vec![source_state, state(ticket("S2"))],
        vec![state(ticket("T7"))],
    );
    assert_eq!(plan(&input), plan(&input));
}

mod scope_and_deletion;
#[cfg(test)]
mod time_entries;
mod time_entry_copies;
