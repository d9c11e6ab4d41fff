//! Planner tables for the company scope (privacy between relationships), held pairs and deleted
//! tickets.

use super::*;

#[test]
fn without_a_partner_company_nothing_is_sent_from_that_side() {
    let mut input = input();
    input.source.config.receive.company = None;
    let input = with_tickets(input, vec![state(ticket("S1"))], vec![]);
    assert!(skip_reason(&only_plan(&input)).contains("no company is chosen"));
}

#[test]
fn reverse_sync_never_sends_tickets_of_another_company_whatever_its_filter_says() {
    let mut input = input();
    input.target.config.reverse_sync.enabled = true;
    // A stored filter from before the privacy rule that named another company (or none).
    input.target.config.reverse_sync.company = Some(choice(777));
    let mut internal = ticket("T9");
    internal.company = Some(choice(777));
    let input = with_tickets(input, vec![], vec![state(internal)]);
    assert!(skip_reason(&only_plan(&input)).contains("not the partner's company"));
}

#[test]
fn a_linked_ticket_moved_to_another_company_is_held_and_resumes_when_moved_back() {
    let (base, mut source, target) = linked_pair();
    source.title = "Changed while away".into();
    source.company = Some(choice(101));
    source
        .fields
        .insert(TITLE.into(), FieldValue::Text("Changed while away".into()));
    let mut with_comment = state(source.clone());
    with_comment.comments.push(comment("C1", "S1", 1, "person"));
    let held = with_tickets(
        base.clone(),
        vec![with_comment.clone()],
        vec![state(target.clone())],
    );
    let plan = only_plan(&held);
    match plan.actions.as_slice() {
        [SyncAction::Hold { reason }] => {
            assert!(reason.contains("company 101"), "{reason}");
            assert!(reason.contains("until it moves back"), "{reason}");
        }
        other => panic!("expected a hold, got {other:#?}"),
    }
    // Moved back: the title and the comment flow again.
    with_comment.ticket.company = Some(choice(500));
    let resumed = with_tickets(base, vec![with_comment], vec![state(target)]);
    let plan = only_plan(&resumed);
    assert!(plan.actions.iter().any(|a| matches!(
        a,
        SyncAction::UpdateFields {
            on: Role::Target,
            ..
        }
    )));
    assert!(plan.actions.iter().any(|a| matches!(
        a,
        SyncAction::AddComment {
            on: Role::Target,
            ..
        }
    )));
}

#[test]
fn a_copy_moved_to_another_company_on_the_target_side_holds_the_pair_too() {
    let (base, source, mut target) = linked_pair();
    target.company = Some(choice(9));
    target.title = "Edited at the MSP".into();
    let plan = only_plan(&with_tickets(
        base,
        vec![state(source)],
        vec![state(target)],
    ));
    assert!(matches!(plan.actions.as_slice(), [SyncAction::Hold { .. }]));
}

#[test]
fn a_deleted_original_gets_its_copy_noted_closed_and_the_link_ended() {
    let (mut base, source, target) = linked_pair();
    base.source.deleted.push(DeletedTicket {
        id: source.id.clone(),
        number: source.number.clone(),
        title: source.title.clone(),
        deleted_by: Some("Jane Doe".into()),
        deleted_at: at(30),
    });
    let plan = only_plan(&with_tickets(base, vec![], vec![state(target)]));
    match plan.actions.as_slice() {
        [
            SyncAction::AddComment {
                on: Role::Target,
                draft,
                ..
            },
            SyncAction::Close {
                on: Role::Target,
                status,
                ..
            },
            SyncAction::EndLink {
                deleted: Role::Source,
                reason,
            },
        ] => {
            assert!(draft.body.contains("was deleted"), "{}", draft.body);
            assert!(draft.body.contains("Jane Doe"), "{}", draft.body);
            assert!(
                draft.body.contains("Contoso Manufacturing"),
                "{}",
                draft.body
            );
            assert_eq!(status, &choice(5));
            assert!(reason.contains("T2026.S1"), "{reason}");
        }
        other => panic!("unexpected plan {other:#?}"),
    }
}

#[test]
fn a_deleted_copy_whose_original_is_gone_too_only_ends_the_link() {
    let (mut base, _, target) = linked_pair();
    base.target.deleted.push(DeletedTicket {
        id: target.id.clone(),
        number: target.number.clone(),
        title: target.title.clone(),
        deleted_by: None,
        deleted_at: at(30),
    });
    let plan = only_plan(&base);
    assert!(matches!(
        plan.actions.as_slice(),
        [SyncAction::EndLink {
            deleted: Role::Target,
            ..
        }]
    ));
}

#[test]
fn an_ended_link_is_never_synced_or_copied_again() {
    let (mut base, mut source, target) = linked_pair();
    base.links[0].ended = Some(LinkEnd {
        at: at(30),
        reason: "T2026.T1 was deleted".into(),
    });
    source.title = "Still being worked".into();
    let plan = only_plan(&with_tickets(
        base,
        vec![state(source)],
        vec![state(target)],
    ));
    assert!(skip_reason(&plan).contains("no longer synced"));
}

#[test]
fn content_is_read_only_for_tickets_that_can_flow() {
    let (mut base, source, target) = linked_pair();
    // A second, ended pair; an unlinked ticket that would be sent; one of another company.
    let old_source = ticket("S2");
    let old_target = ticket("T2");
    let mut ended = link_between(&base, &old_source, &old_target);
    ended.ended = Some(LinkEnd {
        at: at(5),
        reason: "deleted".into(),
    });
    base.links.push(ended);
    let mut other_company = ticket("S4");
    other_company.company = Some(choice(101));
    let input = with_tickets(
        base,
        vec![
            state(source),
            state(old_source),
            state(ticket("S3")),
            state(other_company),
        ],
        vec![state(target), state(old_target)],
    );
    let needed = tickets_needing_content(&input);
    let ids = |ids: &[TicketId]| {
        ids.iter()
            .map(|id| id.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&needed.source), ["S1", "S3"]);
    assert_eq!(ids(&needed.target), ["T1"]);
}
