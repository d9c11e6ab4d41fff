//! Relationships: creating and accepting connections with single-use verification codes (every
//! refusal, expiry through the caller's clock, a race for one code), re-issued codes, state and
//! readiness, each side's configuration (a property test: any configuration comes back exactly),
//! field mappings and their order, the description composition, per-relationship override
//! credentials (encrypted, audited), and that an organisation outside a relationship gets nothing.

use std::sync::Arc;

use fusion_domain::{
    AcceptCodeError, ChoiceValue, ClosureSettings, ComposedField, DescriptionComposition,
    FieldMapping, FieldMappingId, MappingDirection, NoteDefaults, OrgId, PlatformKind,
    ReceiveDefaults, Relationship, RelationshipId, RelationshipState, ReverseSync, Role,
    SendFilter, SideConfig, SyncOptions, SyncReadiness, VERIFICATION_CODE_LIFETIME, ValueMapping,
    VerificationCode,
};
use fusion_engine::ports::CredentialsUpdate;
use fusion_store::{SecretKey, Store, StoreError};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use secrecy::ExposeSecret;
use time::OffsetDateTime;
use time::macros::datetime;

use crate::harness::{
    Backend, TestDatabase, backends_under_test, for_each_backend, organisation,
    organisation_with_person, secret,
};

const NOW: OffsetDateTime = datetime!(2026-11-27 02:00:00.123456 UTC);
const CONTRACT: &str = "Managed services";

fn new_code() -> VerificationCode {
    let bytes = [
        uuid::Uuid::new_v4().into_bytes(),
        uuid::Uuid::new_v4().into_bytes(),
    ];
    VerificationCode::from_random_bytes(bytes.into_iter().flatten()).expect("enough random bytes")
}

/// A Pending relationship created by `initiator` at [`NOW`], with its code.
async fn pending(
    store: &Arc<dyn Store>,
    initiator: OrgId,
    contract_name: &str,
) -> (Relationship, VerificationCode) {
    let code = new_code();
    let relationship = store
        .create_relationship(
            initiator,
            Role::Source,
            contract_name,
            &code,
            NOW,
            NOW + VERIFICATION_CODE_LIFETIME,
        )
        .await
        .expect("creates");
    (relationship, code)
}

/// An Active relationship between `initiator` (source) and `partner` (target).
pub(crate) async fn connected(
    store: &Arc<dyn Store>,
    initiator: OrgId,
    partner: OrgId,
    contract_name: &str,
) -> Relationship {
    let (_, code) = pending(store, initiator, contract_name).await;
    store
        .accept_relationship(partner, &code, NOW)
        .await
        .expect("the database answers")
        .expect("accepted")
}

async fn accept(
    store: &Arc<dyn Store>,
    org: OrgId,
    code: &VerificationCode,
    now: OffsetDateTime,
) -> Result<Relationship, AcceptCodeError> {
    store
        .accept_relationship(org, code, now)
        .await
        .expect("the database answers")
}

fn mapping(relationship_id: RelationshipId, field: &str) -> FieldMapping {
    FieldMapping {
        id: FieldMappingId::new(),
        relationship_id,
        ticket_type: "Ticket".to_owned(),
        source_field: field.to_owned(),
        target_field: field.to_owned(),
        direction: MappingDirection::SourceToTarget,
        value_mappings: Vec::new(),
    }
}

fn credentials(username: &str, api_secret: Option<&str>) -> CredentialsUpdate {
    CredentialsUpdate {
        platform: PlatformKind::Autotask,
        api_url: "https://webservices5.autotask.net/".to_owned(),
        username: username.to_owned(),
        secret: api_secret.map(secret),
        integration_code_override: None,
    }
}

fn sample_config() -> SideConfig {
    let mut config = SideConfig::default();
    config.receive.queue = Some(ChoiceValue::from(29_682_833));
    config.receive.public_comment.publish = Some(ChoiceValue::from(1));
    config.send.queues = vec![ChoiceValue::from(8), ChoiceValue::from(5)];
    config.options.internal_comments = true;
    config.closure.closed_statuses = vec![ChoiceValue::from(5)];
    config.override_api_settings = true;
    config
}

#[tokio::test]
async fn a_new_relationship_is_pending_and_listed_for_its_initiator() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let org_a = organisation(&store, "Contoso Manufacturing").await;
        let org_b = organisation(&store, "Northwind IT").await;
        let (created, _) = pending(&store, org_a, CONTRACT).await;

        assert_eq!(created.state, RelationshipState::Pending);
        assert_eq!(created.initiator, org_a);
        assert_eq!(created.initiator_role, Role::Source);
        assert_eq!(created.partner, None);
        assert_eq!(created.contract_name, CONTRACT);
        assert_eq!(created.created_at, NOW);
        assert_eq!(
            created.code_expires_at,
            Some(NOW + VERIFICATION_CODE_LIFETIME)
        );
        assert_eq!(created.readiness, SyncReadiness::InitialSyncRequired);
        assert_eq!(
            store.relationship(created.id).await.expect("reads"),
            Some(created.clone())
        );
        assert_eq!(
            store.relationships_of(org_a).await.expect("lists"),
            vec![created]
        );
        assert!(
            store
                .relationships_of(org_b)
                .await
                .expect("lists")
                .is_empty()
        );
        assert_eq!(
            store
                .relationship(RelationshipId::new())
                .await
                .expect("reads"),
            None
        );
    })
    .await;
}

#[tokio::test]
async fn relationships_are_listed_newest_first_for_both_organisations() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let org_a = organisation(&store, "Contoso Manufacturing").await;
        let org_b = organisation(&store, "Northwind IT").await;
        let older = connected(&store, org_a, org_b, "Older contract").await;
        let code = new_code();
        let created_newer = store
            .create_relationship(
                org_b,
                Role::Target,
                "Newer contract",
                &code,
                NOW + time::Duration::minutes(1),
                NOW + VERIFICATION_CODE_LIFETIME,
            )
            .await
            .expect("creates");
        let newer = accept(&store, org_a, &code, NOW + time::Duration::minutes(2))
            .await
            .expect("accepted");
        assert_eq!(newer.id, created_newer.id);
        for org in [org_a, org_b] {
            let ids: Vec<RelationshipId> = store
                .relationships_of(org)
                .await
                .expect("lists")
                .into_iter()
                .map(|relationship| relationship.id)
                .collect();
            assert_eq!(ids, vec![newer.id, older.id]);
        }
        assert_eq!(newer.role_of(org_a), Some(Role::Source));
        assert_eq!(newer.role_of(org_b), Some(Role::Target));
    })
    .await;
}

#[tokio::test]
async fn accepting_a_code_connects_the_partner_and_requires_an_initial_sync() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let org_a = organisation(&store, "Contoso Manufacturing").await;
        let org_b = organisation(&store, "Northwind IT").await;
        let (created, code) = pending(&store, org_a, CONTRACT).await;
        let accepted_at = NOW + time::Duration::hours(3);

        // A typed code with other spacing and case is the same code.
        let typed = VerificationCode::parse(&code.as_str().to_lowercase().replace('-', " "))
            .expect("valid");
        let accepted = accept(&store, org_b, &typed, accepted_at)
            .await
            .expect("accepted");
        assert_eq!(accepted.id, created.id);
        assert_eq!(accepted.state, RelationshipState::Active);
        assert_eq!(accepted.partner, Some(org_b));
        assert_eq!(accepted.activated_at, Some(accepted_at));
        assert_eq!(accepted.readiness, SyncReadiness::InitialSyncRequired);
        assert_eq!(accepted.code_expires_at, None, "a used code has no expiry");
        assert_eq!(accepted.source_org(), Some(org_a));
        assert_eq!(accepted.target_org(), Some(org_b));
        assert_eq!(
            store.relationship(created.id).await.expect("reads"),
            Some(accepted.clone())
        );
        assert_eq!(
            store.relationships_of(org_b).await.expect("lists"),
            vec![accepted]
        );
    })
    .await;
}

#[tokio::test]
async fn a_code_works_once() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let org_a = organisation(&store, "Contoso Manufacturing").await;
        let org_b = organisation(&store, "Northwind IT").await;
        let org_c = organisation(&store, "Fabrikam").await;
        let (_, code) = pending(&store, org_a, CONTRACT).await;
        let first = accept(&store, org_b, &code, NOW).await.expect("accepted");
        for org in [org_b, org_c] {
            assert_eq!(
                accept(&store, org, &code, NOW).await,
                Err(AcceptCodeError::AlreadyUsed)
            );
        }
        assert_eq!(
            store.relationship(first.id).await.expect("reads"),
            Some(first),
            "a refused attempt changes nothing"
        );
    })
    .await;
}

#[tokio::test]
async fn an_unknown_code_is_refused_as_unknown() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let org_a = organisation(&store, "Contoso Manufacturing").await;
        let org_b = organisation(&store, "Northwind IT").await;
        pending(&store, org_a, CONTRACT).await;
        assert_eq!(
            accept(&store, org_b, &new_code(), NOW).await,
            Err(AcceptCodeError::Unknown)
        );
    })
    .await;
}

#[tokio::test]
async fn a_code_expires_at_its_expiry_time_by_the_callers_clock() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let org_a = organisation(&store, "Contoso Manufacturing").await;
        let org_b = organisation(&store, "Northwind IT").await;
        let (created, code) = pending(&store, org_a, CONTRACT).await;
        let expires_at = NOW + VERIFICATION_CODE_LIFETIME;
        for late in [expires_at, expires_at + time::Duration::days(30)] {
            assert_eq!(
                accept(&store, org_b, &code, late).await,
                Err(AcceptCodeError::Expired)
            );
        }
        let state = store.relationship(created.id).await.expect("reads");
        assert_eq!(state.map(|r| r.state), Some(RelationshipState::Pending));
        let just_in_time = expires_at - time::Duration::microseconds(1);
        assert!(accept(&store, org_b, &code, just_in_time).await.is_ok());
    })
    .await;
}

#[tokio::test]
async fn a_revoked_relationships_code_is_refused_as_revoked() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let org_a = organisation(&store, "Contoso Manufacturing").await;
        let org_b = organisation(&store, "Northwind IT").await;
        let (created, code) = pending(&store, org_a, CONTRACT).await;
        store
            .set_relationship_state(created.id, RelationshipState::Revoked)
            .await
            .expect("revokes");
        assert_eq!(
            accept(&store, org_b, &code, NOW).await,
            Err(AcceptCodeError::Revoked)
        );
    })
    .await;
}

#[tokio::test]
async fn the_initiator_cannot_accept_its_own_code() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let org_a = organisation(&store, "Contoso Manufacturing").await;
        let org_b = organisation(&store, "Northwind IT").await;
        let (_, code) = pending(&store, org_a, CONTRACT).await;
        assert_eq!(
            accept(&store, org_a, &code, NOW).await,
            Err(AcceptCodeError::OwnCode)
        );
        assert!(
            accept(&store, org_b, &code, NOW).await.is_ok(),
            "the refusal did not use up the code"
        );
    })
    .await;
}

#[tokio::test]
async fn a_second_live_connection_under_the_same_contract_name_is_a_duplicate() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let org_a = organisation(&store, "Contoso Manufacturing").await;
        let org_b = organisation(&store, "Northwind IT").await;
        let first = connected(&store, org_a, org_b, "Managed Services").await;

        // Same pair, other spelling, either side initiating.
        let (_, same_direction) = pending(&store, org_a, "managed services").await;
        assert_eq!(
            accept(&store, org_b, &same_direction, NOW).await,
            Err(AcceptCodeError::Duplicate)
        );
        let (_, other_direction) = pending(&store, org_b, "MANAGED SERVICES").await;
        assert_eq!(
            accept(&store, org_a, &other_direction, NOW).await,
            Err(AcceptCodeError::Duplicate)
        );
        // Paused still counts as live.
        store
            .set_relationship_state(first.id, RelationshipState::Paused)
            .await
            .expect("pauses");
        assert_eq!(
            accept(&store, org_b, &same_direction, NOW).await,
            Err(AcceptCodeError::Duplicate)
        );
        // Another contract name is fine; so is the same name once the first has ended.
        let (_, other_contract) = pending(&store, org_a, "Project work").await;
        assert!(accept(&store, org_b, &other_contract, NOW).await.is_ok());
        store
            .set_relationship_state(first.id, RelationshipState::Ended)
            .await
            .expect("ends");
        let again = accept(&store, org_b, &same_direction, NOW)
            .await
            .expect("accepted after the first ended");
        assert_eq!(again.state, RelationshipState::Active);
        // With the new one live, the old one cannot be brought back alongside it.
        let error = store
            .set_relationship_state(first.id, RelationshipState::Active)
            .await
            .expect_err("two connected relationships under one name");
        assert!(matches!(error, StoreError::Conflict(_)), "{error:?}");
    })
    .await;
}

#[tokio::test]
async fn two_partners_racing_for_one_code_get_exactly_one_connection() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let org_a = organisation(&store, "Contoso Manufacturing").await;
        let org_b = organisation(&store, "Northwind IT").await;
        let org_c = organisation(&store, "Fabrikam").await;
        for round in 0..5 {
            let (created, code) = pending(&store, org_a, &format!("Contract {round}")).await;
            let (from_b, from_c) = tokio::join!(
                store.accept_relationship(org_b, &code, NOW),
                store.accept_relationship(org_c, &code, NOW),
            );
            let outcomes = [
                from_b.expect("the database answers"),
                from_c.expect("the database answers"),
            ];
            let winners: Vec<&Relationship> =
                outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
            assert_eq!(winners.len(), 1, "round {round}: {outcomes:?}");
            assert!(
                outcomes
                    .iter()
                    .any(|o| o == &Err(AcceptCodeError::AlreadyUsed)),
                "round {round}: {outcomes:?}"
            );
            let stored = store
                .relationship(created.id)
                .await
                .expect("reads")
                .expect("exists");
            assert_eq!(stored.partner, winners[0].partner);
        }
    })
    .await;
}

#[tokio::test]
async fn two_codes_for_the_same_pair_and_contract_accepted_at_once_connect_once() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let org_a = organisation(&store, "Contoso Manufacturing").await;
        let org_b = organisation(&store, "Northwind IT").await;
        for round in 0..5 {
            let contract = format!("Contract {round}");
            let (_, first_code) = pending(&store, org_a, &contract).await;
            let (_, second_code) = pending(&store, org_a, &contract.to_uppercase()).await;
            let (first, second) = tokio::join!(
                store.accept_relationship(org_b, &first_code, NOW),
                store.accept_relationship(org_b, &second_code, NOW),
            );
            let outcomes = [
                first.expect("the database answers"),
                second.expect("the database answers"),
            ];
            assert_eq!(
                outcomes.iter().filter(|o| o.is_ok()).count(),
                1,
                "round {round}: {outcomes:?}"
            );
            assert!(
                outcomes
                    .iter()
                    .any(|o| o == &Err(AcceptCodeError::Duplicate)),
                "round {round}: {outcomes:?}"
            );
        }
        let live = store
            .relationships_of(org_b)
            .await
            .expect("lists")
            .into_iter()
            .filter(|relationship| relationship.state == RelationshipState::Active)
            .count();
        assert_eq!(live, 5);
    })
    .await;
}

#[tokio::test]
async fn reissuing_a_code_invalidates_the_old_one() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let org_a = organisation(&store, "Contoso Manufacturing").await;
        let org_b = organisation(&store, "Northwind IT").await;
        let (created, old_code) = pending(&store, org_a, CONTRACT).await;
        let fresh_code = new_code();
        let later = NOW + time::Duration::days(10);
        let reissued = store
            .reissue_code(created.id, &fresh_code, later + VERIFICATION_CODE_LIFETIME)
            .await
            .expect("re-issues an expired pending code");
        assert_eq!(reissued.state, RelationshipState::Pending);
        assert_eq!(
            reissued.code_expires_at,
            Some(later + VERIFICATION_CODE_LIFETIME)
        );
        assert_eq!(
            accept(&store, org_b, &old_code, later).await,
            Err(AcceptCodeError::Unknown)
        );
        let accepted = accept(&store, org_b, &fresh_code, later)
            .await
            .expect("accepted");
        assert_eq!(accepted.id, created.id);

        let error = store
            .reissue_code(accepted.id, &new_code(), later)
            .await
            .expect_err("an active connection has no code to re-issue");
        match error {
            StoreError::Conflict(message) => assert!(message.contains("pending"), "{message}"),
            other => panic!("expected Conflict, got {other:?}"),
        }
        assert!(matches!(
            store
                .reissue_code(RelationshipId::new(), &new_code(), later)
                .await,
            Err(StoreError::NotFound)
        ));
    })
    .await;
}

#[tokio::test]
async fn state_and_readiness_changes_are_returned_and_kept() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let org_a = organisation(&store, "Contoso Manufacturing").await;
        let org_b = organisation(&store, "Northwind IT").await;
        let relationship = connected(&store, org_a, org_b, CONTRACT).await;
        for state in [
            RelationshipState::Paused,
            RelationshipState::Active,
            RelationshipState::Ended,
        ] {
            let changed = store
                .set_relationship_state(relationship.id, state)
                .await
                .expect("changes");
            assert_eq!(changed.state, state);
            assert_eq!(changed.partner, Some(org_b));
            assert_eq!(
                store.relationship(relationship.id).await.expect("reads"),
                Some(changed)
            );
        }
        let ready = store
            .set_sync_readiness(relationship.id, SyncReadiness::ReadyForAutomaticSync)
            .await
            .expect("changes");
        assert_eq!(ready.readiness, SyncReadiness::ReadyForAutomaticSync);
        assert_eq!(ready.state, RelationshipState::Ended);
        assert_eq!(
            store.relationship(relationship.id).await.expect("reads"),
            Some(ready)
        );
        assert!(matches!(
            store
                .set_relationship_state(RelationshipId::new(), RelationshipState::Paused)
                .await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            store
                .set_sync_readiness(RelationshipId::new(), SyncReadiness::InitialSyncRequired)
                .await,
            Err(StoreError::NotFound)
        ));
    })
    .await;
}

#[tokio::test]
async fn each_side_keeps_its_own_configuration() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let org_a = organisation(&store, "Contoso Manufacturing").await;
        let org_b = organisation(&store, "Northwind IT").await;
        let org_c = organisation(&store, "Fabrikam").await;
        let relationship = connected(&store, org_a, org_b, CONTRACT).await;
        assert_eq!(
            store
                .integration_config(relationship.id, org_a)
                .await
                .expect("reads"),
            None
        );
        let config_a = sample_config();
        store
            .save_integration_config(relationship.id, org_a, &config_a)
            .await
            .expect("saves");
        assert_eq!(
            store
                .integration_config(relationship.id, org_b)
                .await
                .expect("reads"),
            None
        );
        let mut config_b = SideConfig::default();
        config_b.receive.company = Some(ChoiceValue::from(0));
        store
            .save_integration_config(relationship.id, org_b, &config_b)
            .await
            .expect("saves");
        let mut changed_a = config_a.clone();
        changed_a.send.queues.clear();
        store
            .save_integration_config(relationship.id, org_a, &changed_a)
            .await
            .expect("saves again");
        assert_eq!(
            store
                .integration_config(relationship.id, org_a)
                .await
                .expect("reads"),
            Some(changed_a)
        );
        assert_eq!(
            store
                .integration_config(relationship.id, org_b)
                .await
                .expect("reads"),
            Some(config_b)
        );

        // An organisation outside the relationship neither reads nor writes a side.
        assert_eq!(
            store
                .integration_config(relationship.id, org_c)
                .await
                .expect("reads"),
            None
        );
        assert!(matches!(
            store
                .save_integration_config(relationship.id, org_c, &config_a)
                .await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            store
                .save_integration_config(RelationshipId::new(), org_a, &config_a)
                .await,
            Err(StoreError::NotFound)
        ));
    })
    .await;
}

fn choice_value() -> impl Strategy<Value = ChoiceValue> {
    prop_oneof![
        any::<i64>().prop_map(ChoiceValue::from),
        "[ -~]{0,12}".prop_map(ChoiceValue::new),
        any::<String>().prop_map(ChoiceValue::new),
    ]
}

fn optional_choice() -> impl Strategy<Value = Option<ChoiceValue>> {
    proptest::option::of(choice_value())
}

fn choice_list() -> impl Strategy<Value = Vec<ChoiceValue>> {
    proptest::collection::vec(choice_value(), 0..4)
}

fn note_defaults() -> impl Strategy<Value = NoteDefaults> {
    (optional_choice(), optional_choice())
        .prop_map(|(note_type, publish)| NoteDefaults { note_type, publish })
}

fn side_config() -> impl Strategy<Value = SideConfig> {
    let receive = (
        optional_choice(),
        optional_choice(),
        optional_choice(),
        optional_choice(),
        optional_choice(),
        optional_choice(),
        optional_choice(),
        optional_choice(),
        optional_choice(),
        note_defaults(),
        note_defaults(),
        optional_choice(),
    )
        .prop_map(
            |(
                company,
                queue,
                status,
                priority,
                ticket_type,
                ticket_category,
                source,
                issue_type,
                sub_issue_type,
                public_comment,
                internal_comment,
                attachment_publish,
            )| ReceiveDefaults {
                company,
                queue,
                status,
                priority,
                ticket_type,
                ticket_category,
                source,
                issue_type,
                sub_issue_type,
                public_comment,
                internal_comment,
                attachment_publish,
            },
        );
    let send = (
        choice_list(),
        optional_choice(),
        choice_list(),
        choice_list(),
        choice_list(),
    )
        .prop_map(
            |(
                queues,
                partner_company,
                categories,
                public_publish_levels,
                internal_publish_levels,
            )| {
                SendFilter {
                    queues,
                    partner_company,
                    categories,
                    public_publish_levels,
                    internal_publish_levels,
                }
            },
        );
    let options = (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(public_comments, internal_comments, attachments)| SyncOptions {
            public_comments,
            internal_comments,
            attachments,
        },
    );
    let reverse_sync =
        (any::<bool>(), choice_list(), optional_choice()).prop_map(|(enabled, queues, company)| {
            ReverseSync {
                enabled,
                queues,
                company,
            }
        });
    let closure = (choice_list(), optional_choice()).prop_map(
        |(closed_statuses, status_when_partner_closes)| ClosureSettings {
            closed_statuses,
            status_when_partner_closes,
        },
    );
    let time_entries = (
        0..3_u8,
        any::<bool>(),
        (optional_choice(), optional_choice(), optional_choice()),
        any::<bool>(),
    )
        .prop_map(
            |(arrival, public_only, (fallback_resource, role, billing_code), billable)| {
                fusion_domain::TimeEntrySettings {
                    arrive_as: match arrival {
                        0 => fusion_domain::TimeArrival::Off,
                        1 => fusion_domain::TimeArrival::Notes,
                        _ => fusion_domain::TimeArrival::TimeEntries,
                    },
                    send: if public_only {
                        fusion_domain::TimeSendFilter::PublicSummaryOnly
                    } else {
                        fusion_domain::TimeSendFilter::All
                    },
                    fallback_resource,
                    role,
                    billing_code,
                    billable,
                }
            },
        );
    (
        receive,
        send,
        options,
        reverse_sync,
        closure,
        (time_entries, any::<bool>()),
    )
        .prop_map(
            |(
                receive,
                send,
                options,
                reverse_sync,
                closure,
                (time_entries, override_api_settings),
            )| {
                SideConfig {
                    receive,
                    send,
                    options,
                    reverse_sync,
                    closure,
                    time_entries,
                    override_api_settings,
                }
            },
        )
}

/// Property: whatever configuration is saved is exactly what loads, on every backend, also after
/// overwriting a previous one.
#[test]
fn any_integration_configuration_loads_exactly_as_saved() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    for backend in backends_under_test() {
        let database = runtime.block_on(TestDatabase::fresh(backend));
        let store = runtime.block_on(database.store(&SecretKey::generate()));
        let (relationship, org_a) = runtime.block_on(async {
            let org_a = organisation(&store, "Contoso Manufacturing").await;
            let org_b = organisation(&store, "Northwind IT").await;
            (connected(&store, org_a, org_b, CONTRACT).await, org_a)
        });
        let mut runner = TestRunner::new(ProptestConfig {
            cases: 32,
            failure_persistence: None,
            ..ProptestConfig::default()
        });
        runner
            .run(&side_config(), |config| {
                let loaded = runtime.block_on(async {
                    store
                        .save_integration_config(relationship.id, org_a, &config)
                        .await
                        .map_err(|error| TestCaseError::fail(format!("save: {error}")))?;
                    store
                        .integration_config(relationship.id, org_a)
                        .await
                        .map_err(|error| TestCaseError::fail(format!("load: {error}")))
                })?;
                prop_assert_eq!(loaded, Some(config));
                Ok(())
            })
            .unwrap_or_else(|failure| panic!("{backend:?}: {failure}"));
        drop(store);
        drop(database);
    }
}

#[tokio::test]
async fn field_mappings_keep_creation_order_and_change_in_place() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let org_a = organisation(&store, "Contoso Manufacturing").await;
        let org_b = organisation(&store, "Northwind IT").await;
        let relationship = connected(&store, org_a, org_b, CONTRACT).await;
        assert!(
            store
                .field_mappings(relationship.id)
                .await
                .expect("reads")
                .is_empty()
        );

        // Ids that sort in the opposite order of creation, so the order cannot come from them.
        let mut mappings: Vec<FieldMapping> = ["title", "status", "priority", "dueDateTime"]
            .iter()
            .map(|field| mapping(relationship.id, field))
            .collect();
        mappings.sort_by_key(|m| std::cmp::Reverse(m.id.as_uuid()));
        for m in &mappings {
            store.save_field_mapping(m).await.expect("saves");
        }
        assert_eq!(
            store.field_mappings(relationship.id).await.expect("reads"),
            mappings
        );

        let mut status = mappings[1].clone();
        status.direction = MappingDirection::Both;
        status.target_field = "status".to_owned();
        status.value_mappings = vec![
            ValueMapping {
                source: ChoiceValue::from(1),
                target: ChoiceValue::from(10),
            },
            ValueMapping {
                source: ChoiceValue::from(5),
                target: ChoiceValue::new("Complete"),
            },
        ];
        store.save_field_mapping(&status).await.expect("updates");
        mappings[1] = status;
        assert_eq!(
            store.field_mappings(relationship.id).await.expect("reads"),
            mappings,
            "an updated mapping keeps its place"
        );

        store
            .delete_field_mapping(relationship.id, mappings[0].id)
            .await
            .expect("deletes");
        mappings.remove(0);
        assert_eq!(
            store.field_mappings(relationship.id).await.expect("reads"),
            mappings
        );
        assert!(matches!(
            store
                .delete_field_mapping(relationship.id, FieldMappingId::new())
                .await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            store
                .save_field_mapping(&mapping(RelationshipId::new(), "title"))
                .await,
            Err(StoreError::NotFound)
        ));
    })
    .await;
}

#[tokio::test]
async fn replacing_field_mappings_swaps_the_whole_set_or_nothing() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let org_a = organisation(&store, "Contoso Manufacturing").await;
        let org_b = organisation(&store, "Northwind IT").await;
        let org_c = organisation(&store, "Fabrikam").await;
        let relationship = connected(&store, org_a, org_b, CONTRACT).await;
        let other = connected(&store, org_a, org_c, CONTRACT).await;
        let original: Vec<FieldMapping> = ["title", "description"]
            .iter()
            .map(|field| mapping(relationship.id, field))
            .collect();
        for m in &original {
            store.save_field_mapping(m).await.expect("saves");
        }
        let other_mapping = mapping(other.id, "title");
        store
            .save_field_mapping(&other_mapping)
            .await
            .expect("saves");

        let mut imported: Vec<FieldMapping> = ["priority", "title", "status"]
            .iter()
            .map(|field| mapping(relationship.id, field))
            .collect();
        imported[0].value_mappings = vec![ValueMapping {
            source: ChoiceValue::from(3),
            target: ChoiceValue::from(4),
        }];
        imported.reverse();
        store
            .replace_field_mappings(relationship.id, &imported)
            .await
            .expect("replaces");
        assert_eq!(
            store.field_mappings(relationship.id).await.expect("reads"),
            imported
        );

        // A set naming another relationship's mapping is refused and changes nothing.
        let mut stolen = other_mapping.clone();
        stolen.relationship_id = relationship.id;
        let refused = store
            .replace_field_mappings(relationship.id, &[mapping(relationship.id, "x"), stolen])
            .await;
        assert!(
            matches!(refused, Err(StoreError::Conflict(_))),
            "{refused:?}"
        );
        let foreign = store
            .replace_field_mappings(relationship.id, std::slice::from_ref(&other_mapping))
            .await;
        assert!(
            matches!(foreign, Err(StoreError::Conflict(_))),
            "{foreign:?}"
        );
        assert_eq!(
            store.field_mappings(relationship.id).await.expect("reads"),
            imported
        );
        assert_eq!(
            store.field_mappings(other.id).await.expect("reads"),
            vec![other_mapping]
        );

        store
            .replace_field_mappings(relationship.id, &[])
            .await
            .expect("replaces with nothing");
        assert!(
            store
                .field_mappings(relationship.id)
                .await
                .expect("reads")
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn a_description_composition_can_be_set_replaced_and_removed() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let org_a = organisation(&store, "Contoso Manufacturing").await;
        let org_b = organisation(&store, "Northwind IT").await;
        let relationship = connected(&store, org_a, org_b, CONTRACT).await;
        assert_eq!(
            store
                .description_composition(relationship.id)
                .await
                .expect("reads"),
            None
        );
        let composition = DescriptionComposition {
            fields: vec![
                ComposedField {
                    field: "ticketNumber".to_owned(),
                    label: "Customer ticket".to_owned(),
                },
                ComposedField {
                    field: "contactID".to_owned(),
                    label: "Reported by".to_owned(),
                },
            ],
            separator: "=====".to_owned(),
        };
        store
            .save_description_composition(relationship.id, Some(&composition))
            .await
            .expect("saves");
        assert_eq!(
            store
                .description_composition(relationship.id)
                .await
                .expect("reads"),
            Some(composition.clone())
        );
        let mut shorter = composition;
        shorter.fields.truncate(1);
        shorter.separator = DescriptionComposition::default().separator;
        store
            .save_description_composition(relationship.id, Some(&shorter))
            .await
            .expect("replaces");
        assert_eq!(
            store
                .description_composition(relationship.id)
                .await
                .expect("reads"),
            Some(shorter)
        );
        store
            .save_description_composition(relationship.id, None)
            .await
            .expect("removes");
        assert_eq!(
            store
                .description_composition(relationship.id)
                .await
                .expect("reads"),
            None
        );
    })
    .await;
}

#[tokio::test]
async fn override_credentials_belong_to_one_relationship_and_organisation_and_are_audited() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let (org_a, person) = organisation_with_person(
            &store,
            "Contoso Manufacturing",
            "jane@contoso.example",
            "pw",
        )
        .await;
        let org_a = org_a.id;
        let org_b = organisation(&store, "Northwind IT").await;
        let org_c = organisation(&store, "Fabrikam").await;
        let relationship = connected(&store, org_a, org_b, CONTRACT).await;
        let other = connected(&store, org_a, org_c, CONTRACT).await;
        store
            .save_platform_credentials(
                org_a,
                None,
                credentials("ORG@CONTOSO.EXAMPLE", Some("org-secret")),
            )
            .await
            .expect("saves the organisation's own credentials");

        let saved = store
            .save_relationship_credentials(
                relationship.id,
                org_a,
                Some(person.id),
                credentials("OVERRIDE@CONTOSO.EXAMPLE", Some("override-secret")),
            )
            .await
            .expect("saves");
        assert_eq!(saved.org_id, org_a);
        assert_eq!(saved.username, "OVERRIDE@CONTOSO.EXAMPLE");
        assert!(saved.secret_set);
        assert!(!format!("{saved:?}").contains("override-secret"));
        assert_eq!(
            store
                .relationship_credentials(relationship.id, org_a)
                .await
                .expect("reads"),
            Some(saved.clone())
        );
        let read_secret = store
            .relationship_secret(relationship.id, org_a)
            .await
            .expect("decrypts")
            .expect("set");
        assert_eq!(read_secret.expose_secret(), "override-secret");

        // Saving without a secret keeps it; the audit trail names fields, never values.
        store
            .save_relationship_credentials(
                relationship.id,
                org_a,
                Some(person.id),
                credentials("RENAMED@CONTOSO.EXAMPLE", None),
            )
            .await
            .expect("saves again");
        let audit = store
            .relationship_credentials_audit_log(relationship.id, org_a)
            .await
            .expect("reads");
        let mut fields: Vec<&str> = audit.iter().map(|entry| entry.field.as_str()).collect();
        fields.sort();
        assert_eq!(
            fields,
            ["api_secret", "api_url", "platform", "username", "username"]
        );
        assert!(audit.iter().all(|entry| entry.person_id == Some(person.id)));
        assert!(audit.iter().all(|entry| entry.org_id == org_a));
        assert_eq!(
            store
                .relationship_secret(relationship.id, org_a)
                .await
                .expect("decrypts")
                .map(|s| s.expose_secret().to_owned())
                .as_deref(),
            Some("override-secret")
        );

        // Nothing leaks into the organisation's own credentials, the partner's side, another
        // relationship, or an organisation outside it.
        assert_eq!(
            store
                .platform_secret(org_a)
                .await
                .expect("decrypts")
                .map(|s| s.expose_secret().to_owned())
                .as_deref(),
            Some("org-secret")
        );
        let org_audit = store.credentials_audit_log(org_a).await.expect("reads");
        assert_eq!(org_audit.len(), 4, "{org_audit:?}");
        for (id, org) in [
            (relationship.id, org_b),
            (relationship.id, org_c),
            (other.id, org_a),
        ] {
            assert_eq!(
                store
                    .relationship_credentials(id, org)
                    .await
                    .expect("reads"),
                None
            );
            assert!(
                store
                    .relationship_secret(id, org)
                    .await
                    .expect("reads")
                    .is_none()
            );
            assert!(
                store
                    .relationship_credentials_audit_log(id, org)
                    .await
                    .expect("reads")
                    .is_empty()
            );
        }
        assert!(matches!(
            store
                .save_relationship_credentials(
                    relationship.id,
                    org_c,
                    None,
                    credentials("INTRUDER@FABRIKAM.EXAMPLE", Some("x"))
                )
                .await,
            Err(StoreError::NotFound)
        ));
    })
    .await;
}

#[tokio::test]
async fn another_key_cannot_open_an_override_secret() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let org_a = organisation(&store, "Contoso Manufacturing").await;
        let org_b = organisation(&store, "Northwind IT").await;
        let relationship = connected(&store, org_a, org_b, CONTRACT).await;
        store
            .save_relationship_credentials(
                relationship.id,
                org_b,
                None,
                credentials("OVERRIDE@NORTHWIND.EXAMPLE", Some("override-secret")),
            )
            .await
            .expect("saves");
        drop(store);
        let store = database.store(&SecretKey::generate()).await;
        let error = store
            .relationship_secret(relationship.id, org_b)
            .await
            .expect_err("a different key must not decrypt");
        assert!(matches!(error, StoreError::Crypto(_)), "{error:?}");
        assert!(!error.to_string().contains("override-secret"));
    })
    .await;
}

#[tokio::test]
async fn everything_saved_survives_reopening_the_store() {
    for_each_backend(async |database| {
        let key = SecretKey::generate();
        let store = database.store(&key).await;
        let org_a = organisation(&store, "Contoso Manufacturing").await;
        let org_b = organisation(&store, "Northwind IT").await;
        let relationship = connected(&store, org_a, org_b, CONTRACT).await;
        let (waiting, waiting_code) = pending(&store, org_b, "Project work").await;
        let relationship = store
            .set_sync_readiness(relationship.id, SyncReadiness::ReadyForAutomaticSync)
            .await
            .expect("changes");
        let config = sample_config();
        store
            .save_integration_config(relationship.id, org_b, &config)
            .await
            .expect("saves");
        let mappings = vec![
            mapping(relationship.id, "title"),
            mapping(relationship.id, "status"),
        ];
        store
            .replace_field_mappings(relationship.id, &mappings)
            .await
            .expect("saves");
        let composition = DescriptionComposition::default();
        store
            .save_description_composition(relationship.id, Some(&composition))
            .await
            .expect("saves");
        let saved_credentials = store
            .save_relationship_credentials(
                relationship.id,
                org_b,
                None,
                credentials("OVERRIDE@NORTHWIND.EXAMPLE", Some("override-secret")),
            )
            .await
            .expect("saves");
        drop(store);

        let store = database.store(&key).await;
        assert_eq!(
            store.relationship(relationship.id).await.expect("reads"),
            Some(relationship.clone())
        );
        assert_eq!(
            store.relationship(waiting.id).await.expect("reads"),
            Some(waiting)
        );
        assert_eq!(
            store
                .integration_config(relationship.id, org_b)
                .await
                .expect("reads"),
            Some(config)
        );
        assert_eq!(
            store.field_mappings(relationship.id).await.expect("reads"),
            mappings
        );
        assert_eq!(
            store
                .description_composition(relationship.id)
                .await
                .expect("reads"),
            Some(composition)
        );
        assert_eq!(
            store
                .relationship_credentials(relationship.id, org_b)
                .await
                .expect("reads"),
            Some(saved_credentials)
        );
        assert_eq!(
            store
                .relationship_secret(relationship.id, org_b)
                .await
                .expect("decrypts")
                .map(|s| s.expose_secret().to_owned())
                .as_deref(),
            Some("override-secret")
        );
        // The pending code still works after the restart.
        assert!(accept(&store, org_a, &waiting_code, NOW).await.is_ok());
    })
    .await;
}

#[tokio::test]
async fn an_organisation_outside_a_relationship_gets_nothing_of_it() {
    for_each_backend(async |database| {
        let store = database.store(&SecretKey::generate()).await;
        let org_a = organisation(&store, "Contoso Manufacturing").await;
        let org_b = organisation(&store, "Northwind IT").await;
        let org_c = organisation(&store, "Fabrikam").await;
        let relationship = connected(&store, org_a, org_b, CONTRACT).await;
        pending(&store, org_a, "Project work").await;
        for org in [org_a, org_b] {
            store
                .save_integration_config(relationship.id, org, &sample_config())
                .await
                .expect("saves");
            store
                .save_relationship_credentials(
                    relationship.id,
                    org,
                    None,
                    credentials("OVERRIDE@EXAMPLE", Some("override-secret")),
                )
                .await
                .expect("saves");
        }
        assert!(
            store
                .relationships_of(org_c)
                .await
                .expect("lists")
                .is_empty()
        );
        assert_eq!(store.relationships_of(org_a).await.expect("lists").len(), 2);
        assert_eq!(store.relationships_of(org_b).await.expect("lists").len(), 1);
        assert_eq!(
            store
                .integration_config(relationship.id, org_c)
                .await
                .expect("reads"),
            None
        );
        assert_eq!(
            store
                .relationship_credentials(relationship.id, org_c)
                .await
                .expect("reads"),
            None
        );
        assert!(
            store
                .relationship_secret(relationship.id, org_c)
                .await
                .expect("reads")
                .is_none()
        );
    })
    .await;
}

#[tokio::test]
async fn override_secrets_and_codes_never_reach_the_sqlite_files_in_plain_text() {
    let database = TestDatabase::fresh(Backend::Sqlite).await;
    let store = database.store(&SecretKey::generate()).await;
    let org_a = organisation(&store, "Contoso Manufacturing").await;
    let org_b = organisation(&store, "Northwind IT").await;
    let relationship = connected(&store, org_a, org_b, CONTRACT).await;
    let (_, pending_code) = pending(&store, org_a, "Project work").await;
    let override_secret = "PLAINTEXT-OVERRIDE-SECRET-4d2a7f";
    store
        .save_relationship_credentials(
            relationship.id,
            org_b,
            None,
            credentials("VISIBLE-OVERRIDE@NORTHWIND.EXAMPLE", Some(override_secret)),
        )
        .await
        .expect("saves");
    let contains = |haystack: &[u8], needle: &str| {
        haystack
            .windows(needle.len())
            .any(|window| window == needle.as_bytes())
    };
    let while_open = database.sqlite_file_bytes();
    assert!(
        contains(&while_open, "VISIBLE-OVERRIDE@NORTHWIND.EXAMPLE"),
        "the scan must see the saved row, or it proves nothing"
    );
    drop(store);
    let after_close = database.sqlite_file_bytes();
    for bytes in [&while_open, &after_close] {
        assert!(!contains(bytes, override_secret));
        assert!(!contains(bytes, pending_code.as_str()));
    }
}
