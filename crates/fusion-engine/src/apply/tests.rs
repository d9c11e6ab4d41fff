//! The privacy guard's own tests: it refuses what a wrong plan would leak.
use fusion_domain::sync::{TicketDraft, TicketMarker, TicketRef};
use fusion_domain::{RelationshipId, SideConfig};

use super::*;

fn config(company: i64) -> SideConfig {
    let mut config = SideConfig::default();
    config.receive.company = Some(company.into());
    config
}

fn reference(id: &str) -> TicketRef {
    TicketRef {
        id: TicketId::new(id),
        number: format!("T.{id}"),
        title: String::new(),
    }
}

fn create_on_target(company: i64) -> (TicketPlan, SyncAction) {
    let relationship = RelationshipId::new();
    let draft = TicketDraft {
        marker: TicketMarker::for_copy_of(relationship, Role::Source, &TicketId::new("1")),
        title: "Printer".into(),
        description: String::new(),
        company: Some(company.into()),
        queue: None,
        status: None,
        priority: None,
        ticket_type: None,
        category: None,
        source: None,
        issue_type: None,
        sub_issue_type: None,
        fields: Default::default(),
    };
    let action = SyncAction::CreateTicket {
        on: Role::Target,
        from: TicketId::new("1"),
        draft: Box::new(draft),
        fingerprints: Vec::new(),
        baseline_fields: Vec::new(),
    };
    let plan = TicketPlan {
        source: Some(reference("1")),
        target: None,
        origin: Role::Source,
        link: None,
        actions: vec![action.clone()],
    };
    (plan, action)
}

/// The guard does not trust the planner: whatever a plan says, a write that would carry
/// another company's ticket, or stamp a copy with another company, is refused.
#[test]
fn the_guard_refuses_what_a_wrong_plan_would_leak_whatever_the_planner_said() {
    let (source, target) = (config(500), config(900));
    let configs = [&source, &target];
    let mut companies = HashMap::new();
    companies.insert(
        (Role::Source, TicketId::new("1")),
        Some(ChoiceValue::from(500)),
    );
    let (plan, action) = create_on_target(900);
    assert_eq!(
        privacy_guard(configs, &companies, &plan, None, &action),
        Ok(())
    );

    // A copy stamped with another company of the MSP's tenant.
    let (plan, action) = create_on_target(901);
    let refusal = privacy_guard(configs, &companies, &plan, None, &action).expect_err("refused");
    assert!(refusal.contains("company 901"), "{refusal}");

    // The original belongs to another of the customer's companies.
    companies.insert(
        (Role::Source, TicketId::new("1")),
        Some(ChoiceValue::from(501)),
    );
    let (plan, action) = create_on_target(900);
    let refusal = privacy_guard(configs, &companies, &plan, None, &action).expect_err("refused");
    assert!(refusal.contains("company 501"), "{refusal}");

    // A comment to a linked ticket that now belongs to someone else.
    companies.insert(
        (Role::Source, TicketId::new("1")),
        Some(ChoiceValue::from(500)),
    );
    companies.insert(
        (Role::Target, TicketId::new("2")),
        Some(ChoiceValue::from(777)),
    );
    let comment = SyncAction::AddComment {
        on: Role::Target,
        ticket: PlannedTicket::Existing(TicketId::new("2")),
        from: fusion_domain::sync::CommentId::new("c"),
        draft: CommentDraft {
            title: String::new(),
            body: "secret".into(),
            publish: None,
            note_type: None,
        },
    };
    let plan = TicketPlan {
        source: Some(reference("1")),
        target: Some(reference("2")),
        origin: Role::Source,
        link: None,
        actions: vec![comment.clone()],
    };
    assert!(privacy_guard(configs, &companies, &plan, None, &comment).is_err());

    // A ticket not read in this run cannot be checked, so it is not written to.
    companies.remove(&(Role::Target, TicketId::new("2")));
    assert!(privacy_guard(configs, &companies, &plan, None, &comment).is_err());
}
