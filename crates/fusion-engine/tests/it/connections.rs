//! The connection use cases (`Connections`) on an in-memory relationship store and a manual
//! clock: create and accept, who sees what, the wrong-code lock, re-issue and the lifecycle.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use fusion_domain::{
    AcceptCodeError, Clock, ManualClock, OrgId, RelationshipId, RelationshipState, Role,
    VERIFICATION_CODE_LIFETIME,
};
use fusion_engine::{
    ConnectionError, Connections, LifecycleAction, NewConnection, WrongCodeThrottle,
};
use time::{Duration, OffsetDateTime};

use crate::fake_relationships::FakeRelationships;

struct Bed {
    connections: Connections,
    clock: Arc<ManualClock>,
    contoso: OrgId,
    northwind: OrgId,
    outsider: OrgId,
}

/// Three organisations; three wrong codes lock an organisation for fifteen minutes.
fn bed() -> Bed {
    let store = Arc::new(FakeRelationships::default());
    let contoso = store.organisation("Contoso");
    let northwind = store.organisation("Northwind");
    let outsider = store.organisation("Fabrikam");
    let clock = Arc::new(ManualClock::new(
        OffsetDateTime::UNIX_EPOCH + Duration::days(365),
    ));
    let connections = Connections::new(
        store.clone(),
        store,
        clock.clone(),
        WrongCodeThrottle::new(3, StdDuration::from_secs(15 * 60)),
    );
    Bed {
        connections,
        clock,
        contoso,
        northwind,
        outsider,
    }
}

fn support() -> NewConnection {
    NewConnection::new(Role::Source, "Managed services").unwrap()
}

/// A code of the right shape that no connection has.
const UNKNOWN_CODE: &str = "2222-2222-2222";

#[tokio::test]
async fn a_created_connection_is_accepted_with_its_code_and_each_side_sees_the_other_by_name() {
    let bed = bed();
    let issued = bed
        .connections
        .create(bed.contoso, support())
        .await
        .unwrap();
    let pending = &issued.connection;
    assert_eq!(pending.relationship.state, RelationshipState::Pending);
    assert_eq!(pending.partner_name, None);
    assert_eq!(pending.role(), Role::Source);
    assert_eq!(
        pending.relationship.code_expires_at,
        Some(bed.clock.now() + VERIFICATION_CODE_LIFETIME)
    );
    assert_eq!(
        pending.available_actions(),
        vec![LifecycleAction::Reissue, LifecycleAction::Revoke]
    );

    let accepted = bed
        .connections
        .accept(bed.northwind, &issued.code.as_str().to_lowercase())
        .await
        .unwrap();
    assert_eq!(accepted.relationship.state, RelationshipState::Active);
    assert_eq!(accepted.partner_name.as_deref(), Some("Contoso"));
    assert_eq!(accepted.role(), Role::Target);
    assert!(!accepted.initiated_by_viewer());

    let contoso_sees = bed.connections.list(bed.contoso).await.unwrap();
    assert_eq!(contoso_sees.len(), 1);
    assert_eq!(contoso_sees[0].partner_name.as_deref(), Some("Northwind"));
    assert!(contoso_sees[0].initiated_by_viewer());
    assert!(bed.connections.list(bed.outsider).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_connection_the_organisation_is_not_part_of_is_not_found_exactly_like_an_unknown_one() {
    let bed = bed();
    let issued = bed
        .connections
        .create(bed.contoso, support())
        .await
        .unwrap();
    let id = issued.connection.relationship.id;
    // Pending: only the initiator is on it.
    assert!(matches!(
        bed.connections.visible(bed.northwind, id).await,
        Err(ConnectionError::NotFound)
    ));
    bed.connections
        .accept(bed.northwind, issued.code.as_str())
        .await
        .unwrap();
    for (org, id) in [(bed.outsider, id), (bed.contoso, RelationshipId::new())] {
        assert!(matches!(
            bed.connections.connection(org, id).await,
            Err(ConnectionError::NotFound)
        ));
        assert!(matches!(
            bed.connections.perform(org, id, LifecycleAction::End).await,
            Err(ConnectionError::NotFound)
        ));
    }
    let seen = bed.connections.connection(bed.northwind, id).await.unwrap();
    assert_eq!(seen.partner_name.as_deref(), Some("Contoso"));
}

#[tokio::test]
async fn wrong_codes_lock_the_organisation_and_even_the_right_code_waits_until_the_lock_ends() {
    let bed = bed();
    let issued = bed
        .connections
        .create(bed.contoso, support())
        .await
        .unwrap();
    // Typos and the organisation's own code do not count towards the lock.
    for _ in 0..3 {
        assert!(matches!(
            bed.connections.accept(bed.northwind, "not a code").await,
            Err(ConnectionError::Code(AcceptCodeError::Malformed))
        ));
        assert!(matches!(
            bed.connections
                .accept(bed.contoso, issued.code.as_str())
                .await,
            Err(ConnectionError::Code(AcceptCodeError::OwnCode))
        ));
    }
    for _ in 0..3 {
        assert!(matches!(
            bed.connections.accept(bed.northwind, UNKNOWN_CODE).await,
            Err(ConnectionError::Code(AcceptCodeError::Unknown))
        ));
    }
    bed.clock.advance(Duration::minutes(5));
    match bed
        .connections
        .accept(bed.northwind, issued.code.as_str())
        .await
    {
        Err(ConnectionError::Throttled { retry_after }) => {
            assert_eq!(retry_after, StdDuration::from_secs(10 * 60));
        }
        other => panic!("expected the lock, got {other:?}"),
    }
    // Another organisation is not locked.
    assert!(matches!(
        bed.connections.accept(bed.outsider, UNKNOWN_CODE).await,
        Err(ConnectionError::Code(AcceptCodeError::Unknown))
    ));
    bed.clock.advance(Duration::minutes(10));
    let accepted = bed
        .connections
        .accept(bed.northwind, issued.code.as_str())
        .await
        .unwrap();
    assert_eq!(accepted.relationship.state, RelationshipState::Active);
}

#[tokio::test]
async fn an_expired_code_is_refused_until_the_initiator_reissues_it_and_the_old_code_stops_working()
{
    let bed = bed();
    let issued = bed
        .connections
        .create(bed.contoso, support())
        .await
        .unwrap();
    let id = issued.connection.relationship.id;
    bed.clock.advance(VERIFICATION_CODE_LIFETIME);
    let expired = bed.connections.connection(bed.contoso, id).await.unwrap();
    assert!(expired.code_expired(bed.clock.now()));
    assert!(matches!(
        bed.connections
            .accept(bed.northwind, issued.code.as_str())
            .await,
        Err(ConnectionError::Code(AcceptCodeError::Expired))
    ));

    let reissued = bed
        .connections
        .perform(bed.contoso, id, LifecycleAction::Reissue)
        .await
        .unwrap();
    let new_code = reissued.new_code.expect("a re-issue gives a new code");
    assert_ne!(new_code, issued.code);
    assert!(!reissued.connection.code_expired(bed.clock.now()));
    assert!(matches!(
        bed.connections
            .accept(bed.northwind, issued.code.as_str())
            .await,
        Err(ConnectionError::Code(AcceptCodeError::Unknown))
    ));
    bed.connections
        .accept(bed.northwind, new_code.as_str())
        .await
        .unwrap();
    match bed
        .connections
        .perform(bed.contoso, id, LifecycleAction::Reissue)
        .await
    {
        Err(ConnectionError::Conflict { message }) => assert_eq!(
            message,
            "only a pending connection's code can be re-issued; this one is active"
        ),
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[tokio::test]
async fn either_side_pauses_resumes_and_ends_a_connection_and_the_lifecycle_rules_refuse_the_rest()
{
    let bed = bed();
    let issued = bed
        .connections
        .create(bed.contoso, support())
        .await
        .unwrap();
    let id = issued.connection.relationship.id;
    match bed
        .connections
        .perform(bed.contoso, id, LifecycleAction::Pause)
        .await
    {
        Err(ConnectionError::StateChange(error)) => {
            assert_eq!(error.to_string(), "a pending connection cannot be paused");
        }
        other => panic!("expected a refused change, got {other:?}"),
    }
    bed.connections
        .accept(bed.northwind, issued.code.as_str())
        .await
        .unwrap();
    // Only the initiator revokes, and only while Pending.
    assert!(matches!(
        bed.connections
            .perform(bed.contoso, id, LifecycleAction::Revoke)
            .await,
        Err(ConnectionError::StateChange(_))
    ));
    for (org, action, state) in [
        (
            bed.northwind,
            LifecycleAction::Pause,
            RelationshipState::Paused,
        ),
        (
            bed.contoso,
            LifecycleAction::Resume,
            RelationshipState::Active,
        ),
        (
            bed.northwind,
            LifecycleAction::End,
            RelationshipState::Ended,
        ),
    ] {
        let outcome = bed.connections.perform(org, id, action).await.unwrap();
        assert_eq!(outcome.connection.relationship.state, state);
        assert!(outcome.new_code.is_none());
    }
    assert!(matches!(
        bed.connections
            .perform(bed.contoso, id, LifecycleAction::Resume)
            .await,
        Err(ConnectionError::StateChange(_))
    ));
}

#[tokio::test]
async fn a_revoked_code_says_so_and_an_unknown_organisation_cannot_create_a_connection() {
    let bed = bed();
    let issued = bed
        .connections
        .create(bed.contoso, support())
        .await
        .unwrap();
    let id = issued.connection.relationship.id;
    bed.connections
        .perform(bed.contoso, id, LifecycleAction::Revoke)
        .await
        .unwrap();
    assert!(matches!(
        bed.connections
            .accept(bed.northwind, issued.code.as_str())
            .await,
        Err(ConnectionError::Code(AcceptCodeError::Revoked))
    ));
    assert!(matches!(
        bed.connections.create(OrgId::new(), support()).await,
        Err(ConnectionError::NotFound)
    ));
}
