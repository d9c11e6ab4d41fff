//! A small soak: random activity on both sides, random ambiguous timeouts after applied writes and
//! a crash (the run dropped) at a random write, then a restart — after which every original ticket,
//! comment and attachment exists exactly once on the other side and nothing is left to do.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};

use fusion_domain::sync::TicketMarker;
use fusion_engine::SyncMode;
use proptest::prelude::*;
use time::Duration;

use crate::fake_platform::{FakePlatform, Fault, Operation};
use crate::harness::World;

#[derive(Debug, Clone)]
enum Activity {
    Ticket { on_target: bool },
    Comment { ticket: usize, on_target: bool },
    Attach { ticket: usize, on_target: bool },
    Title { ticket: usize, on_target: bool },
}

fn activity() -> impl Strategy<Value = Activity> {
    prop_oneof![
        any::<bool>().prop_map(|on_target| Activity::Ticket { on_target }),
        (0_usize..8, any::<bool>())
            .prop_map(|(ticket, on_target)| Activity::Comment { ticket, on_target }),
        (0_usize..8, any::<bool>())
            .prop_map(|(ticket, on_target)| Activity::Attach { ticket, on_target }),
        (0_usize..8, any::<bool>())
            .prop_map(|(ticket, on_target)| Activity::Title { ticket, on_target }),
    ]
}

static UNIQUE: AtomicU32 = AtomicU32::new(0);

fn unique() -> u32 {
    UNIQUE.fetch_add(1, Ordering::SeqCst)
}

fn act(world: &World, activity: &Activity) {
    let platform = |on_target: bool| {
        if on_target {
            &world.target
        } else {
            &world.source
        }
    };
    let pick = |on_target: bool, index: usize| {
        let tickets = platform(on_target).tickets();
        (!tickets.is_empty()).then(|| tickets[index % tickets.len()].id.clone())
    };
    match activity {
        Activity::Ticket { on_target } => {
            platform(*on_target).person_creates_ticket(&format!("Ticket {}", unique()), "Body");
        }
        Activity::Comment { ticket, on_target } => {
            if let Some(id) = pick(*on_target, *ticket) {
                platform(*on_target).person_comments(&id, 1, &format!("Note {}", unique()));
            }
        }
        Activity::Attach { ticket, on_target } => {
            if let Some(id) = pick(*on_target, *ticket) {
                platform(*on_target).person_attaches(
                    &id,
                    &format!("file-{}.bin", unique()),
                    vec![1; 64],
                );
            }
        }
        Activity::Title { ticket, on_target } => {
            if let Some(id) = pick(*on_target, *ticket) {
                platform(*on_target).person_sets_title(&id, &format!("Title {}", unique()));
            }
        }
    }
    world.tick();
}

/// Every original has exactly one copy on the other side.
fn assert_exactly_once(world: &World) {
    let sides: [(&FakePlatform, &FakePlatform); 2] = [
        (&world.source, &world.target),
        (&world.target, &world.source),
    ];
    let links = world.store.links();
    for (from, to) in sides {
        // The sync's own API users are "api-contoso" and "api-northwind".
        let own = |_: &FakePlatform, author: &Option<fusion_domain::sync::ActorId>| {
            author
                .as_ref()
                .is_some_and(|actor| actor.as_str().starts_with("api-"))
        };
        for original in from.tickets().into_iter().filter(|t| t.marker.is_none()) {
            let copies: Vec<_> = to
                .tickets()
                .into_iter()
                .filter(|copy| {
                    copy.marker
                        .as_deref()
                        .and_then(TicketMarker::parse)
                        .is_some_and(|parts| parts.origin_ticket == original.id)
                })
                .collect();
            assert_eq!(copies.len(), 1, "copies of {}: {copies:#?}", original.id);
            let copy = &copies[0];
            assert!(links.iter().any(|link| {
                (link.source == original.id && link.target == copy.id)
                    || (link.target == original.id && link.source == copy.id)
            }));
            let mut copied_bodies: BTreeMap<String, usize> = BTreeMap::new();
            for comment in to.comments_of(&copy.id) {
                if own(to, &comment.author) {
                    *copied_bodies.entry(comment.body).or_default() += 1;
                }
            }
            for comment in from.comments_of(&original.id) {
                if own(from, &comment.author) {
                    continue;
                }
                let count = copied_bodies
                    .iter()
                    .filter(|(body, _)| body.ends_with(&format!("\n{}", comment.body)))
                    .map(|(_, n)| *n)
                    .sum::<usize>();
                assert_eq!(count, 1, "copies of comment {:?}", comment.body);
            }
            let copied_files: Vec<String> = to
                .attachments_of(&copy.id)
                .into_iter()
                .map(|(meta, _)| meta.name)
                .collect();
            for (meta, _) in from.attachments_of(&original.id) {
                if own(from, &meta.author) {
                    continue;
                }
                let count = copied_files
                    .iter()
                    .filter(|name| **name == meta.name)
                    .count();
                assert_eq!(count, 1, "copies of attachment {}", meta.name);
            }
        }
    }
}

async fn soak(activities: Vec<Activity>, timeouts: Vec<(bool, u32)>, crash_at: u32) {
    let mut world = World::new();
    world.setup.target.config.reverse_sync.enabled = true;
    world.source.person_creates_ticket("First", "Body");
    world.manual().await;
    for activity in &activities {
        act(&world, activity);
    }
    for (on_target, skip) in &timeouts {
        let platform = if *on_target {
            &world.target
        } else {
            &world.source
        };
        platform.inject(Operation::AnyWrite, Fault::TimeoutAfterApply, *skip, 1);
    }
    world
        .target
        .inject(Operation::AnyWrite, Fault::HangAfterApply, crash_at, 1);
    let crashed = tokio::select! {
        _ = world.engine.sync_once(&world.setup, SyncMode::Automatic) => false,
        _ = world.target.hung() => true,
    };
    world.source.clear_faults();
    world.target.clear_faults();
    if crashed {
        world.clock.advance(Duration::minutes(11));
    }
    world.automatic().await;
    world.automatic().await;
    assert_exactly_once(&world);
    let dry = world.dry_run().await;
    assert!(!dry.plan.writes(), "left to do: {:#?}", dry.plan);
}

proptest! {
    #![proptest_config(ProptestConfig::default())]

    #[test]
    fn after_faults_and_a_crash_everything_exists_exactly_once(
        activities in proptest::collection::vec(activity(), 1..16),
        timeouts in proptest::collection::vec((any::<bool>(), 0_u32..10), 0..4),
        crash_at in 0_u32..12,
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(soak(activities, timeouts, crash_at));
    }
}
