//! A two-tenant world for engine tests: Contoso (source) and Northwind (target), a configured
//! relationship, a fake store and an engine on a manual clock.

use std::sync::Arc;

use fusion_domain::sync::{ConflictRule, DESCRIPTION, STATUS, TITLE, TicketId, TicketSnapshot};
use fusion_domain::{
    ChoiceValue, DescriptionComposition, FieldMapping, FieldMappingId, ManualClock,
    MappingDirection, RelationshipId, SideConfig, ValueMapping,
};
use fusion_engine::{
    EngineError, EngineSettings, RunSummary, SideSetup, SyncEngine, SyncMode, SyncSetup,
};
use time::{Duration, OffsetDateTime};

use crate::fake_platform::FakePlatform;
use crate::fake_store::FakeStore;

pub fn start_time() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_795_000_000).unwrap()
}

fn mapping(
    relationship: RelationshipId,
    field: &str,
    direction: MappingDirection,
    values: &[(i64, i64)],
) -> FieldMapping {
    FieldMapping {
        id: FieldMappingId::new(),
        relationship_id: relationship,
        ticket_type: "Ticket".into(),
        source_field: field.into(),
        target_field: field.into(),
        direction,
        value_mappings: values
            .iter()
            .map(|(source, target)| ValueMapping {
                source: ChoiceValue::from(*source),
                target: ChoiceValue::from(*target),
            })
            .collect(),
    }
}

fn side_config(company: i64, queue: i64) -> SideConfig {
    let mut config = SideConfig::default();
    config.receive.company = Some(company.into());
    config.receive.queue = Some(queue.into());
    config.receive.status = Some(1.into());
    config.receive.priority = Some(2.into());
    config.receive.public_comment.publish = Some(1.into());
    config.receive.public_comment.note_type = Some(3.into());
    config.receive.internal_comment.publish = Some(2.into());
    config.receive.internal_comment.note_type = Some(4.into());
    config.send.public_publish_levels = vec![1.into()];
    config.send.internal_publish_levels = vec![2.into()];
    config.closure.closed_statuses = vec![5.into()];
    config.closure.status_when_partner_closes = Some(5.into());
    config
}

/// Two tenants and everything between them.
pub struct World {
    pub clock: Arc<ManualClock>,
    pub source: FakePlatform,
    pub target: FakePlatform,
    pub store: Arc<FakeStore>,
    pub engine: SyncEngine,
    pub setup: SyncSetup,
}

impl World {
    pub fn new() -> Self {
        Self::with_settings(|_| {})
    }

    /// A world whose engine settings are adjusted by `adjust`.
    pub fn with_settings(adjust: impl FnOnce(&mut EngineSettings)) -> Self {
        let clock = Arc::new(ManualClock::new(start_time()));
        let source =
            FakePlatform::new("contoso", "api-contoso", clock.clone(), 1000).with_company(500);
        let target = FakePlatform::new("northwind", "api-northwind", clock.clone(), 500_000)
            .with_company(900);
        let store = Arc::new(FakeStore::default());
        let relationship = RelationshipId::new();
        let setup = SyncSetup {
            relationship,
            source: SideSetup {
                platform: Arc::new(source.clone()),
                config: side_config(500, 20),
                organisation_name: "Contoso Manufacturing".into(),
            },
            target: SideSetup {
                platform: Arc::new(target.clone()),
                config: side_config(900, 30),
                organisation_name: "Northwind IT".into(),
            },
            mappings: vec![
                mapping(relationship, TITLE, MappingDirection::Both, &[]),
                mapping(
                    relationship,
                    DESCRIPTION,
                    MappingDirection::SourceToTarget,
                    &[],
                ),
                mapping(
                    relationship,
                    STATUS,
                    MappingDirection::Both,
                    &[(1, 1), (5, 5), (8, 80)],
                ),
                mapping(
                    relationship,
                    "priority",
                    MappingDirection::SourceToTarget,
                    &[(2, 20), (3, 30)],
                ),
            ],
            composition: DescriptionComposition::default(),
            conflict_rule: ConflictRule::default(),
        };
        let mut settings = EngineSettings {
            holder: "test-process".into(),
            ..EngineSettings::default()
        };
        adjust(&mut settings);
        let engine = SyncEngine::new(store.clone(), clock.clone(), settings);
        Self {
            clock,
            source,
            target,
            store,
            engine,
            setup,
        }
    }

    /// Lets a minute pass, so every activity has its own time.
    pub fn tick(&self) {
        self.clock.advance(Duration::minutes(1));
    }

    pub fn since() -> OffsetDateTime {
        start_time() - Duration::days(1)
    }

    pub async fn run(&self, mode: SyncMode) -> Result<RunSummary, EngineError> {
        self.tick();
        let summary = self.engine.sync_once(&self.setup, mode).await;
        self.tick();
        summary
    }

    pub async fn manual(&self) -> RunSummary {
        self.run(SyncMode::Manual {
            since: Self::since(),
        })
        .await
        .expect("manual run")
    }

    pub async fn automatic(&self) -> RunSummary {
        self.run(SyncMode::Automatic).await.expect("automatic run")
    }

    pub async fn dry_run(&self) -> RunSummary {
        self.run(SyncMode::DryRun { since: None })
            .await
            .expect("dry run")
    }

    /// The target copy of a source ticket, found through the link.
    pub fn copy_on_target(&self, source: &TicketId) -> TicketSnapshot {
        let link = self
            .store
            .links()
            .into_iter()
            .find(|link| &link.source == source)
            .expect("source ticket is linked");
        self.target.ticket_now(&link.target)
    }

    /// The source copy of a target ticket (reverse sync).
    pub fn copy_on_source(&self, target: &TicketId) -> TicketSnapshot {
        let link = self
            .store
            .links()
            .into_iter()
            .find(|link| &link.target == target)
            .expect("target ticket is linked");
        self.source.ticket_now(&link.source)
    }
}
