//! The privacy rule as a property: an MSP tenant in three relationships (three customers, each
//! represented by its own company in the MSP's tenant, reverse sync on in all). Whatever tickets,
//! companies, queues, links, comments, attachments and time entries there are, and whichever side raised them,
//! no relationship's plan ever writes anything that comes from, or goes to, a ticket of another
//! company.

use std::collections::BTreeMap;

use proptest::prelude::*;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::ids::{FieldMappingId, RelationshipId};
use crate::integration::{ChoiceValue, SideConfig};
use crate::mapping::{DescriptionComposition, FieldMapping, MappingDirection};
use crate::relationship::Role;
use crate::sync::*;

/// Companies in the MSP's tenant: one per customer, plus the MSP's own (internal tickets).
const CUSTOMER_COMPANIES: [i64; 3] = [501, 502, 503];
const MSP_OWN_COMPANY: i64 = 0;
/// The company that represents the MSP in each customer's tenant, and another one there.
const MSP_IN_CUSTOMER: i64 = 900;
const OTHER_IN_CUSTOMER: i64 = 901;

fn at(minutes: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_795_000_000).expect("valid time")
        + time::Duration::minutes(minutes)
}

fn relationship(index: usize) -> RelationshipId {
    RelationshipId::from_uuid(Uuid::from_u128(0xAB00 + index as u128))
}

fn config(company: i64) -> SideConfig {
    let mut config = SideConfig::default();
    config.receive.company = Some(company.into());
    config.receive.status = Some(1.into());
    config.closure.closed_statuses = vec![5.into()];
    config.send.public_publish_levels = vec![1.into()];
    config.options.internal_comments = true;
    config.reverse_sync.enabled = true;
    // Half the sides take time as notes, half as time entries: both go through the scope.
    if company % 2 == 0 {
        config.time_entries.arrive_as = crate::integration::TimeArrival::Notes;
    } else {
        config.time_entries.arrive_as = crate::integration::TimeArrival::TimeEntries;
        config.time_entries.role = Some(7.into());
        config.time_entries.billing_code = Some(8.into());
        config.time_entries.fallback_resource = Some(9.into());
    }
    config
}

/// One generated ticket: company choice index, queue, a comment, an attachment, activity.
#[derive(Debug, Clone)]
struct Generated {
    company: usize,
    queue: i64,
    comment: bool,
    attachment: bool,
    closed: bool,
    linked_to: Option<usize>,
}

fn generated() -> impl Strategy<Value = Generated> {
    (
        0..5usize,
        10..13i64,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        proptest::option::of(0..3usize),
    )
        .prop_map(
            |(company, queue, comment, attachment, closed, linked_to)| Generated {
                company,
                queue,
                comment,
                attachment,
                closed,
                linked_to,
            },
        )
}

fn snapshot(side: &str, index: usize, company: i64, generated: &Generated) -> TicketState {
    let id = TicketId::new(format!("{side}{index}"));
    let ticket = TicketSnapshot {
        id: id.clone(),
        number: format!("T.{side}{index}"),
        title: format!("{side} ticket {index} of company {company}"),
        description: format!("private to company {company}"),
        status: Some(if generated.closed { 5 } else { 1 }.into()),
        queue: Some(generated.queue.into()),
        company: Some(company.into()),
        category: None,
        fields: BTreeMap::new(),
        labels: BTreeMap::new(),
        marker: None,
        created_at: at(0),
        created_by: Some(ActorId::new("person")),
        last_activity_at: at(index as i64 + 1),
        last_activity_by: Some(ActorId::new("person")),
    };
    TicketState {
        comments: generated
            .comment
            .then(|| CommentSnapshot {
                id: CommentId::new(format!("c-{side}{index}")),
                ticket: id.clone(),
                publish: Some(1.into()),
                note_type: Some(1.into()),
                author: Some(ActorId::new("person")),
                author_name: "Someone".into(),
                created_at: at(1),
                title: String::new(),
                body: format!("note of company {company}"),
            })
            .into_iter()
            .collect(),
        attachments: generated
            .attachment
            .then(|| AttachmentSnapshot {
                id: AttachmentId::new(format!("a-{side}{index}")),
                ticket: id.clone(),
                name: format!("company-{company}.pdf"),
                size_bytes: 10,
                content_type: None,
                publish: Some(1.into()),
                author: Some(ActorId::new("person")),
                created_at: at(1),
            })
            .into_iter()
            .collect(),
        time_entries: Some(
            generated
                .comment
                .then(|| TimeEntrySnapshot {
                    id: TimeEntryId::new(format!("t-{side}{index}")),
                    ticket: id.clone(),
                    resource: Some(ActorId::new("person")),
                    resource_name: "Someone".into(),
                    resource_email: String::new(),
                    date_worked: at(1).date(),
                    start: None,
                    end: None,
                    hours: Hours::from_hundredths(150),
                    summary: format!("work for company {company}"),
                    summary_public: true,
                    created_at: at(1),
                    marker: None,
                })
                .into_iter()
                .collect(),
        ),
        ticket,
    }
}

fn link(relationship: RelationshipId, customer: &TicketState, msp: &TicketState) -> TicketLink {
    TicketLink {
        relationship,
        source: customer.ticket.id.clone(),
        target: msp.ticket.id.clone(),
        source_number: customer.ticket.number.clone(),
        target_number: msp.ticket.number.clone(),
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
    }
}

/// The company of the ticket an action writes to or copies from, on `side`.
fn company_of(states: &[TicketState], id: &TicketId) -> Option<ChoiceValue> {
    states
        .iter()
        .find(|state| &state.ticket.id == id)
        .and_then(|state| state.ticket.company.clone())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn no_ticket_note_or_attachment_of_one_company_ever_reaches_another_customer(
        msp_tickets in proptest::collection::vec(generated(), 0..12),
        customer_tickets in proptest::collection::vec(proptest::collection::vec(generated(), 0..6), 3),
        queues_filtered in any::<bool>(),
    ) {
        // The MSP's tickets: each of one of the three customers' companies, the MSP's own, or an
        // unknown one.
        let msp_company = |choice: usize| match choice {
            0..=2 => CUSTOMER_COMPANIES[choice],
            3 => MSP_OWN_COMPANY,
            _ => 777,
        };
        let msp_states: Vec<TicketState> = msp_tickets
            .iter()
            .enumerate()
            .map(|(index, generated)| snapshot("M", index, msp_company(generated.company), generated))
            .collect();
        for (customer, tickets) in customer_tickets.iter().enumerate() {
            let relationship = relationship(customer);
            let own_company = CUSTOMER_COMPANIES[customer];
            let customer_states: Vec<TicketState> = tickets
                .iter()
                .enumerate()
                .map(|(index, generated)| {
                    let company = if generated.company % 2 == 0 { MSP_IN_CUSTOMER } else { OTHER_IN_CUSTOMER };
                    snapshot(&format!("C{customer}-"), index, company, generated)
                })
                .collect();
            // Links between this customer's tickets and any MSP ticket (whatever company it has
            // now: tickets move after they are linked).
            let mut links = Vec::new();
            let mut used = std::collections::BTreeSet::new();
            for (index, generated) in tickets.iter().enumerate() {
                if let Some(target) = generated.linked_to.map(|t| t * 3 + customer)
                    && target < msp_states.len()
                    && used.insert(target)
                {
                    links.push(link(relationship, &customer_states[index], &msp_states[target]));
                }
            }
            let mut msp_config = config(own_company);
            if queues_filtered {
                msp_config.reverse_sync.queues = vec![10.into(), 11.into()];
            }
            let input = PlanInput {
                relationship,
                source: SideInput {
                    config: config(MSP_IN_CUSTOMER),
                    organisation_name: format!("Customer {customer}"),
                    own_actor: Some(ActorId::new("api-customer")),
                    tickets: customer_states.clone(),
                    deleted: Vec::new(),
                },
                target: SideInput {
                    config: msp_config,
                    organisation_name: "The MSP".into(),
                    own_actor: Some(ActorId::new("api-msp")),
                    tickets: msp_states.clone(),
                    deleted: Vec::new(),
                },
                links,
                mappings: vec![FieldMapping {
                    id: FieldMappingId::new(),
                    relationship_id: relationship,
                    ticket_type: "Ticket".into(),
                    source_field: TITLE.into(),
                    target_field: TITLE.into(),
                    direction: MappingDirection::Both,
                    value_mappings: Vec::new(),
                }],
                composition: DescriptionComposition::default(),
                conflict_rule: ConflictRule::default(),
                attachment_size_limit: 7_000_000,
            };
            let plan = plan(&input);
            let scope = |side: Role| -> ChoiceValue {
                match side {
                    Role::Source => MSP_IN_CUSTOMER.into(),
                    Role::Target => own_company.into(),
                }
            };
            let states = |side: Role| match side {
                Role::Source => &customer_states,
                Role::Target => &msp_states,
            };
            for ticket_plan in &plan.tickets {
                for action in &ticket_plan.actions {
                    let on = match action {
                        SyncAction::CreateTicket { on, draft, .. } => {
                            prop_assert_eq!(draft.company.clone(), Some(scope(*on)), "a copy stamped with another company");
                            *on
                        }
                        SyncAction::UpdateFields { on, .. }
                        | SyncAction::AddComment { on, .. }
                        | SyncAction::AddAttachment { on, .. }
                        | SyncAction::AddTimeNote { on, .. }
                        | SyncAction::CopyTimeEntry { on, .. }
                        | SyncAction::Close { on, .. } => *on,
                        _ => continue,
                    };
                    for side in [on, on.opposite()] {
                        if let Some(reference) = ticket_plan.ticket(side) {
                            let company = company_of(states(side), &reference.id);
                            prop_assert_eq!(
                                company.clone(),
                                Some(scope(side)),
                                "relationship {} would write {:?} involving {} ticket {} of company {:?}",
                                customer, action, side.label(), reference.number, company
                            );
                        }
                    }
                }
            }
        }
    }
}
