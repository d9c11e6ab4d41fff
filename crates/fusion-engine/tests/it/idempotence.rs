//! Property: after any completed run, planning again over the tenants as they now are yields no
//! further writes (a dry run plans nothing), whatever people did on either side before the run —
//! new tickets, comments public and internal, attachments, edits of both-way and one-way fields,
//! closures and reopenings, on one side or on both at once.

use fusion_domain::sync::{FieldValue, RunStatus, TicketId};
use proptest::prelude::*;

use crate::harness::World;

#[derive(Debug, Clone)]
enum Edit {
    NewTicket {
        title: u8,
        on_target: bool,
    },
    Comment {
        ticket: usize,
        public: bool,
        on_target: bool,
    },
    Attach {
        ticket: usize,
        size: u16,
        on_target: bool,
    },
    Title {
        ticket: usize,
        title: u8,
        on_target: bool,
    },
    Priority {
        ticket: usize,
        high: bool,
        on_target: bool,
    },
    Status {
        ticket: usize,
        status: u8,
        on_target: bool,
    },
    Run,
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0_u8..4, any::<bool>())
            .prop_map(|(title, on_target)| Edit::NewTicket { title, on_target }),
        (0_usize..6, any::<bool>(), any::<bool>()).prop_map(|(ticket, public, on_target)| {
            Edit::Comment {
                ticket,
                public,
                on_target,
            }
        }),
        (0_usize..6, 1_u16..2000, any::<bool>()).prop_map(|(ticket, size, on_target)| {
            Edit::Attach {
                ticket,
                size,
                on_target,
            }
        }),
        (0_usize..6, 0_u8..4, any::<bool>()).prop_map(|(ticket, title, on_target)| Edit::Title {
            ticket,
            title,
            on_target
        }),
        (0_usize..6, any::<bool>(), any::<bool>()).prop_map(|(ticket, high, on_target)| {
            Edit::Priority {
                ticket,
                high,
                on_target,
            }
        }),
        (0_usize..6, 0_u8..3, any::<bool>()).prop_map(|(ticket, status, on_target)| Edit::Status {
            ticket,
            status,
            on_target
        }),
        Just(Edit::Run),
    ]
}

/// Tickets on one side, in creation order (originals and copies alike).
fn nth_ticket(world: &World, on_target: bool, index: usize) -> Option<TicketId> {
    let tickets = if on_target {
        world.target.tickets()
    } else {
        world.source.tickets()
    };
    if tickets.is_empty() {
        return None;
    }
    Some(tickets[index % tickets.len()].id.clone())
}

async fn apply(world: &World, edit: &Edit) {
    let platform = |on_target: bool| {
        if on_target {
            &world.target
        } else {
            &world.source
        }
    };
    match edit {
        Edit::NewTicket { title, on_target } => {
            platform(*on_target).person_creates_ticket(&format!("Ticket {title}"), "Body");
        }
        Edit::Comment {
            ticket,
            public,
            on_target,
        } => {
            if let Some(id) = nth_ticket(world, *on_target, *ticket) {
                let publish = if *public { 1 } else { 2 };
                platform(*on_target).person_comments(&id, publish, &format!("Note {ticket}"));
            }
        }
        Edit::Attach {
            ticket,
            size,
            on_target,
        } => {
            if let Some(id) = nth_ticket(world, *on_target, *ticket) {
                platform(*on_target).person_attaches(&id, "file.bin", vec![1; *size as usize]);
            }
        }
        Edit::Title {
            ticket,
            title,
            on_target,
        } => {
            if let Some(id) = nth_ticket(world, *on_target, *ticket) {
                platform(*on_target).person_sets_title(&id, &format!("Title {title}"));
            }
        }
        Edit::Priority {
            ticket,
            high,
            on_target,
        } => {
            if let Some(id) = nth_ticket(world, *on_target, *ticket) {
                let value = match (*on_target, *high) {
                    (false, false) => 2,
                    (false, true) => 3,
                    (true, false) => 20,
                    (true, true) => 30,
                };
                platform(*on_target).person_sets_field(
                    &id,
                    "priority",
                    FieldValue::Choice(value.into()),
                );
            }
        }
        Edit::Status {
            ticket,
            status,
            on_target,
        } => {
            if let Some(id) = nth_ticket(world, *on_target, *ticket) {
                let value = match (status, on_target) {
                    (0, _) => 1,
                    (1, false) => 8,
                    (1, true) => 80,
                    _ => 5,
                };
                platform(*on_target).person_sets_status(&id, value);
            }
        }
        Edit::Run => {
            world.automatic().await;
        }
    }
    world.tick();
}

async fn scenario(edits: Vec<Edit>, reverse_sync: bool, internal: bool) {
    let mut world = World::new();
    world.setup.target.config.reverse_sync.enabled = reverse_sync;
    world.setup.source.config.options.internal_comments = internal;
    world.source.person_creates_ticket("First", "Body");
    world.manual().await;
    for edit in &edits {
        apply(&world, edit).await;
    }
    let last = world.automatic().await;
    assert_ne!(last.status, RunStatus::Failed, "{:?}", last.error);
    let dry = world.dry_run().await;
    assert!(
        !dry.plan.writes(),
        "a completed run left work behind: {:#?}\nedits: {edits:#?}",
        dry.plan
    );
    // Two runs over the same state write nothing either.
    let again = world.automatic().await;
    assert!(!again.plan.writes(), "{:#?}", again.plan);
}

proptest! {
    #![proptest_config(ProptestConfig::default())]

    #[test]
    fn a_completed_run_leaves_nothing_for_the_next_plan(
        edits in proptest::collection::vec(edit(), 0..14),
        reverse_sync in any::<bool>(),
        internal in any::<bool>(),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(scenario(edits, reverse_sync, internal));
    }
}
