//! Criterion benchmarks of the hot pure code: the sync planner (`fusion_domain::sync::plan`) on
//! an initial-sync input (1,000 unlinked tickets with comments) and on an incremental input
//! (1,000 linked pairs in step, 1 % changed on each side), value mapping lookups and the
//! description composition. Run with `cargo bench -p fusion-domain`.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use fusion_domain::sync::{
    ActorId, CommentId, CommentSnapshot, ConflictRule, DESCRIPTION, FieldValue, Fingerprint,
    PlanInput, STATUS, SideInput, TITLE, TicketId, TicketLink, TicketSnapshot, TicketState, plan,
};
use fusion_domain::{
    ChoiceValue, ComposedField, DescriptionComposition, FieldMapping, FieldMappingId,
    MappingDirection, RelationshipId, Role, SideConfig, ValueMapping,
};
use time::{Duration, OffsetDateTime};

const TICKETS: usize = 1_000;

fn at(minutes: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_795_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
        + Duration::minutes(minutes)
}

fn relationship() -> RelationshipId {
    RelationshipId::from_uuid(uuid::Uuid::from_u128(
        0x0192_f3c4_a1b2_7c3d_8e9f_0a1b_2c3d_4e5f,
    ))
}

fn choice(value: i64) -> ChoiceValue {
    ChoiceValue::from(value)
}

fn ticket(id: &str, minutes: i64) -> TicketSnapshot {
    TicketSnapshot {
        id: TicketId::new(id),
        number: format!("T20261127.{id}"),
        title: format!("Printer {id} jammed"),
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
        last_activity_at: at(minutes),
        last_activity_by: Some(ActorId::new("person")),
    }
}

fn comment(id: String, ticket: &str) -> CommentSnapshot {
    CommentSnapshot {
        id: CommentId::new(id),
        ticket: TicketId::new(ticket),
        publish: Some(choice(1)),
        note_type: Some(choice(1)),
        author: Some(ActorId::new("person")),
        author_name: "Jane Doe".into(),
        created_at: at(1),
        title: "Update".into(),
        body: "Tried turning it off and on again.".into(),
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

fn side_config() -> SideConfig {
    let mut config = SideConfig::default();
    config.receive.company = Some(choice(500));
    config.receive.queue = Some(choice(20));
    config.receive.status = Some(choice(1));
    config.receive.public_comment.publish = Some(choice(1));
    config.receive.public_comment.note_type = Some(choice(3));
    config.send.public_publish_levels = vec![choice(1)];
    config.closure.closed_statuses = vec![choice(5)];
    config.closure.status_when_partner_closes = Some(choice(5));
    config
}

fn composition() -> DescriptionComposition {
    DescriptionComposition {
        fields: [
            ("ticketNumber", "Customer ticket"),
            ("priority", "Customer priority"),
        ]
        .into_iter()
        .map(|(field, label)| ComposedField {
            field: field.into(),
            label: label.into(),
        })
        .collect(),
        ..DescriptionComposition::default()
    }
}

fn empty_input() -> PlanInput {
    let side = |name: &str, actor: &str| SideInput {
        config: side_config(),
        organisation_name: name.into(),
        own_actor: Some(ActorId::new(actor)),
        tickets: Vec::new(),
        deleted: Vec::new(),
    };
    PlanInput {
        relationship: relationship(),
        source: side("Contoso Manufacturing", "api-source"),
        target: side("Northwind IT", "api-target"),
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
        composition: composition(),
        conflict_rule: ConflictRule::default(),
        attachment_size_limit: 7_000_000,
    }
}

/// 1,000 new Source tickets with two public comments each: everything is created.
fn initial_input() -> PlanInput {
    let mut input = empty_input();
    input.source.tickets = (0..TICKETS)
        .map(|index| {
            let id = format!("S{index}");
            TicketState {
                comments: (0..2)
                    .map(|n| comment(format!("C{index}-{n}"), &id))
                    .collect(),
                ticket: ticket(&id, 0),
                attachments: Vec::new(),
            }
        })
        .collect();
    input
}

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

/// 1,000 linked pairs in step; 1 % retitled in the Source, 1 % with a new priority in the Target.
fn incremental_input() -> PlanInput {
    let mut input = empty_input();
    let mut sources = Vec::with_capacity(TICKETS);
    let mut targets = Vec::with_capacity(TICKETS);
    for index in 0..TICKETS {
        let source = ticket(&format!("S{index}"), 0);
        let mut target = ticket(&format!("T{index}"), 0);
        target
            .fields
            .insert("priority".into(), FieldValue::Choice(choice(20)));
        let link = link_between(&input, &source, &target);
        input.links.push(link);
        let (mut source, mut target) = (source, target);
        if index % 100 == 0 {
            source.title.push_str(" (edited)");
            source.last_activity_at = at(5);
        }
        if index % 100 == 50 {
            target.title.push_str(" (edited by the provider)");
            target.last_activity_at = at(5);
        }
        sources.push(TicketState {
            ticket: source,
            comments: Vec::new(),
            attachments: Vec::new(),
        });
        targets.push(TicketState {
            ticket: target,
            comments: Vec::new(),
            attachments: Vec::new(),
        });
    }
    input.source.tickets = sources;
    input.target.tickets = targets;
    input
}

fn planner(c: &mut Criterion) {
    let initial = initial_input();
    let planned = plan(&initial);
    assert_eq!(planned.tickets.len(), TICKETS, "every ticket is planned");
    c.bench_function("plan initial 1000 tickets x 2 comments", |b| {
        b.iter(|| plan(black_box(&initial)))
    });
    let incremental = incremental_input();
    c.bench_function(
        "plan incremental 1000 linked pairs, 1% changed each side",
        |b| b.iter(|| plan(black_box(&incremental))),
    );
}

fn mapping_and_composition(c: &mut Criterion) {
    let status = mapping(
        STATUS,
        MappingDirection::Both,
        &(0..40)
            .map(|value| (value, value + 100))
            .collect::<Vec<_>>(),
    );
    c.bench_function("value mapping lookup (40 values), both directions", |b| {
        b.iter(|| {
            for value in 0..40 {
                black_box(status.target_for(&choice(black_box(value))));
                black_box(status.source_for(&choice(black_box(value + 100))));
            }
        })
    });
    let composition = composition();
    let source = ticket("S1", 0);
    let value_of = |field: &str| match field {
        "ticketNumber" => Some(source.number.clone()),
        other => source.labels.get(other).cloned(),
    };
    c.bench_function("description composition (2 fields)", |b| {
        b.iter(|| composition.compose(&value_of, black_box(&source.description)))
    });
}

criterion_group!(benches, planner, mapping_and_composition);
criterion_main!(benches);
