//! Shared reads per tenant: one tenant in several relationships is read once per sweep, and each
//! relationship is handed only its own company's tickets (and its linked ones) — what reaches its
//! planner is exactly what these pages hold.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use fusion_domain::sync::TicketId;
use fusion_domain::{ManualClock, RelationshipId, Role, SideConfig};
use fusion_engine::ports::StoreError;
use fusion_engine::{
    ChangedTicketsQuery, LinkedTickets, Platform, SharedReads, SharedSide, TicketPage,
};
use time::{Duration, OffsetDateTime};

use crate::fake_platform::FakePlatform;

const COMPANY_A: i64 = 100;
const COMPANY_B: i64 = 200;
const COMPANY_C: i64 = 300;

/// Links by relationship: which hub tickets each relationship has linked.
struct Links(Vec<(RelationshipId, TicketId)>);

#[async_trait]
impl LinkedTickets for Links {
    async fn linked(
        &self,
        relationship: RelationshipId,
        _side: Role,
        tickets: &[TicketId],
    ) -> Result<BTreeSet<TicketId>, StoreError> {
        Ok(self
            .0
            .iter()
            .filter(|(owner, ticket)| *owner == relationship && tickets.contains(ticket))
            .map(|(_, ticket)| ticket.clone())
            .collect())
    }
}

fn scope(company: i64) -> SideConfig {
    let mut config = SideConfig::default();
    config.receive.company = Some(company.into());
    config
}

fn everything_since(since: OffsetDateTime) -> ChangedTicketsQuery {
    ChangedTicketsQuery {
        since,
        after: None,
        page_size: 2,
        own_activity_listed: None,
    }
}

fn companies(page: &TicketPage) -> Vec<Option<String>> {
    page.tickets
        .iter()
        .map(|ticket| ticket.company.as_ref().map(|c| c.as_str().to_owned()))
        .collect()
}

#[tokio::test]
async fn each_relationship_is_handed_only_its_companys_and_its_linked_tickets_from_one_read() {
    let start = OffsetDateTime::now_utc() - Duration::hours(1);
    let clock = Arc::new(ManualClock::new(start));
    let hub = FakePlatform::new("hub", "api-hub", clock.clone(), 1000);
    let mut raised = Vec::new();
    for (company, title) in [
        (COMPANY_A, "A's printer"),
        (COMPANY_B, "B's payroll export"),
        (COMPANY_C, "C's VPN"),
        (COMPANY_A, "A's second"),
        (COMPANY_B, "B's second"),
    ] {
        clock.advance(Duration::minutes(1));
        raised.push(hub.person_creates_ticket_for(company, title));
    }
    // A ticket relationship A linked earlier was moved to company C since: A still sees it (the
    // planner holds the pair), B never does.
    clock.advance(Duration::minutes(1));
    let moved = hub.person_creates_ticket_for(COMPANY_C, "Moved from A to C");
    let (a, b) = (RelationshipId::new(), RelationshipId::new());
    let links: Arc<dyn LinkedTickets> = Arc::new(Links(vec![(a, moved.clone())]));

    let shared = SharedReads::new();
    shared.begin_sweep([a, b]);
    let mut pages = Vec::new();
    for (relationship, company) in [(a, COMPANY_A), (b, COMPANY_B)] {
        assert!(shared.take_turn(relationship), "part of the sweep");
        let platform = shared.platform(
            SharedSide {
                relationship,
                side: Role::Target,
                tenant_key: "hub|api".into(),
                config: scope(company),
            },
            Arc::new(hub.clone()),
            links.clone(),
        );
        let page = platform
            .changed_tickets(&everything_since(start))
            .await
            .expect("the shared read answers");
        pages.push(page);
    }
    let a100 = Some(COMPANY_A.to_string());
    let b200 = Some(COMPANY_B.to_string());
    let c300 = Some(COMPANY_C.to_string());
    assert_eq!(companies(&pages[0]), vec![a100.clone(), a100, c300]);
    assert_eq!(pages[0].tickets[2].id, moved);
    assert_eq!(companies(&pages[1]), vec![b200.clone(), b200]);
    for page in &pages {
        assert_eq!(page.next, None, "one page");
        // The cursor may move past everything read, the others' tickets included.
        assert_eq!(
            page.read_through.as_ref().map(|(_, id)| id),
            Some(&moved),
            "{page:?}"
        );
    }
    // One read for both: three full pages of two and the empty page after them.
    assert_eq!(hub.calls_used(), 4);

    // A relationship outside the sweep, or on its second turn, is not handed shared platforms.
    assert!(!shared.take_turn(a));
    assert!(!shared.take_turn(RelationshipId::new()));
}

#[tokio::test]
async fn a_relationship_further_behind_reads_again_wider_and_a_new_sweep_reads_afresh() {
    let start = OffsetDateTime::now_utc() - Duration::hours(1);
    let clock = Arc::new(ManualClock::new(start));
    let hub = FakePlatform::new("hub", "api-hub", clock.clone(), 1000);
    clock.advance(Duration::minutes(1));
    hub.person_creates_ticket_for(COMPANY_A, "old");
    clock.advance(Duration::minutes(30));
    let recent = hub.person_creates_ticket_for(COMPANY_A, "recent");
    let links: Arc<dyn LinkedTickets> = Arc::new(Links(Vec::new()));
    let shared = SharedReads::new();
    let (a, b, c) = (
        RelationshipId::new(),
        RelationshipId::new(),
        RelationshipId::new(),
    );
    shared.begin_sweep([a, b, c]);
    let side = |relationship| SharedSide {
        relationship,
        side: Role::Target,
        tenant_key: "hub|api".into(),
        config: scope(COMPANY_A),
    };
    let platform =
        |relationship| shared.platform(side(relationship), Arc::new(hub.clone()), links.clone());
    let recent_only = platform(a)
        .changed_tickets(&everything_since(start + Duration::minutes(20)))
        .await
        .expect("answers");
    assert_eq!(recent_only.tickets.len(), 1);
    assert_eq!(hub.calls_used(), 1);
    let everything = platform(b)
        .changed_tickets(&everything_since(start))
        .await
        .expect("answers");
    assert_eq!(everything.tickets.len(), 2, "the wider window read again");
    // A full page of two, and the empty one after it.
    assert_eq!(hub.calls_used(), 3);
    let again = platform(c)
        .changed_tickets(&everything_since(start + Duration::minutes(20)))
        .await
        .expect("answers");
    assert_eq!(again.tickets.len(), 1);
    assert_eq!(hub.calls_used(), 3, "the wider read served it");

    // Next sweep: a change since is seen.
    hub.person_sets_title(&recent, "recent, edited");
    shared.begin_sweep([a]);
    let next = platform(a)
        .changed_tickets(&everything_since(start + Duration::minutes(20)))
        .await
        .expect("answers");
    assert_eq!(next.tickets[0].title, "recent, edited");
    assert_eq!(hub.calls_used(), 4);
}
