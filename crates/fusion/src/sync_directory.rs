//! `StoreSyncDirectory`: the engine's `SyncDirectory` port over the `Store` and the shared
//! `AutotaskService`. For a relationship it loads both organisations, each side's configuration,
//! the field mappings and the description composition, and builds one `AutotaskPlatform` per
//! side from that side's credentials (the organisation's, or the relationship's own override
//! credentials when the side's configuration says `override_api_settings`), decrypted by the
//! store, with the tenant's live choices.
//!
//! A tenant's choices (picklists, field information) cost six Autotask requests to load, more
//! than a quiet run itself; they are kept for [`CHOICES_FRESH_FOR`] per API user, so a picklist
//! value added in Autotask is known to the sync within that time.
//!
//! A relationship is scheduled when its stored automatic sync is switched on (with its own
//! interval), it is Active, and its baseline is set ("Ready for automatic sync").
//!
//! Reads per tenant: a scheduler sweep (`sweep_begins`, with the relationships due) begins a
//! sweep of the process's `SharedReads`, and an automatic run's setup (`setup_automatic`) reads each side's changed
//! tickets and deletions through that sweep — once per tenant (database and API user) for all
//! its relationships, handed to each filtered to its own company scope. Runs people start read
//! afresh.
//!
//! This file depends on nothing else in the binary (only on library crates), so the end-to-end
//! tests can include it as it is.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;
use fusion_autotask::{
    AutotaskClient, AutotaskError, AutotaskPlatform, AutotaskService, Credentials, TenantChoices,
    load_choices,
};
use fusion_domain::sync::{ActorId, ConflictRule};
use fusion_domain::{
    OrgId, Relationship, RelationshipId, RelationshipState, Role, SideConfig, SyncReadiness,
};
use fusion_engine::{
    LinkedTickets, Platform as _, ScheduledRelationship, SetupError, SharedReads, SharedSide,
    SideSetup, StoreLinkedTickets, SyncDirectory, SyncSetup,
};
use fusion_store::{Store, StoreError};

/// How long a tenant's loaded choices are used before they are loaded again.
pub const CHOICES_FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Relationships, configuration and credentials from the store; platforms from the shared
/// Autotask service (one limiter and request budget for the whole process).
#[derive(Clone)]
pub struct StoreSyncDirectory {
    store: Arc<dyn Store>,
    autotask: AutotaskService,
    /// Choices by API username (lower case), with when they were loaded.
    choices: Arc<Mutex<HashMap<String, (Instant, TenantChoices)>>>,
    /// The API user's own resource id by API username (lower case): it never changes for a
    /// user, and looking it up costs a request per side per run otherwise.
    own_actors: Arc<Mutex<HashMap<String, ActorId>>>,
    /// Each tenant's changes read once per scheduler sweep (`None`: every run reads its own).
    shared: Option<Arc<SharedReads>>,
}

impl std::fmt::Debug for StoreSyncDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreSyncDirectory").finish_non_exhaustive()
    }
}

impl StoreSyncDirectory {
    pub fn new(store: Arc<dyn Store>, autotask: AutotaskService) -> Self {
        Self {
            store,
            autotask,
            choices: Arc::default(),
            own_actors: Arc::default(),
            shared: Some(Arc::default()),
        }
    }

    /// Every automatic run reads its tenants' changes itself, as before shared reads (the
    /// benchmark's comparison).
    pub fn without_shared_reads(mut self) -> Self {
        self.shared = None;
        self
    }

    /// The tenant's choices, from the cache while fresh.
    async fn choices(&self, client: &AutotaskClient) -> Result<TenantChoices, AutotaskError> {
        let key = client.username().trim().to_ascii_lowercase();
        if let Ok(cache) = self.choices.lock()
            && let Some((loaded, choices)) = cache.get(&key)
            && loaded.elapsed() < CHOICES_FRESH_FOR
        {
            return Ok(choices.clone());
        }
        let choices = load_choices(client).await?;
        if let Ok(mut cache) = self.choices.lock() {
            cache.insert(key, (Instant::now(), choices.clone()));
        }
        Ok(choices)
    }

    /// The platform with its API user's resource id from the cache, or looked up now (once per
    /// API user) and remembered. A failed look-up is left to the run, which reports it.
    async fn with_own_actor(&self, platform: AutotaskPlatform) -> AutotaskPlatform {
        let key = platform.username().trim().to_ascii_lowercase();
        let cached = self
            .own_actors
            .lock()
            .ok()
            .and_then(|cache| cache.get(&key).cloned());
        if let Some(actor) = cached {
            return platform.with_own_actor(actor);
        }
        if let Ok(actor) = platform.own_actor().await
            && let Ok(mut cache) = self.own_actors.lock()
        {
            cache.insert(key, actor);
        }
        platform
    }

    async fn relationship(&self, id: RelationshipId) -> Result<Relationship, SetupError> {
        self.store
            .relationship(id)
            .await
            .map_err(unavailable)?
            .ok_or(SetupError::NotFound)
    }

    /// One side: its organisation, configuration, credentials and a connected platform.
    async fn side(
        &self,
        relationship: &Relationship,
        role: Role,
        contact_names: bool,
    ) -> Result<(SideSetup, String), SetupError> {
        let role_name = role.label();
        let org = relationship.org_in_role(role).ok_or_else(|| {
            SetupError::NotReady(format!(
                "the connection has no {role_name} organisation yet; it must be accepted first"
            ))
        })?;
        let organisation = self
            .store
            .organisation(org)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| {
                SetupError::NotReady(format!("the {role_name} organisation no longer exists"))
            })?;
        let config = self
            .store
            .integration_config(relationship.id, org)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| {
                SetupError::NotReady(format!(
                    "{} ({role_name}) has not saved its integration configuration yet",
                    organisation.name
                ))
            })?;
        let credentials = self
            .credentials(relationship.id, org, &config, &organisation.name)
            .await?;
        let client = self.autotask.client(credentials);
        // Rejected credentials or a missing permission need a person; the rest may pass.
        let choices = self.choices(&client).await.map_err(|error| {
            let reason = format!(
                "cannot read {}'s Autotask choices: {error}",
                organisation.name
            );
            if error.is_retryable() {
                SetupError::Unavailable(reason)
            } else {
                SetupError::NotReady(reason)
            }
        })?;
        let platform = AutotaskPlatform::connect(client, choices)
            .await
            .map_err(|error| {
                SetupError::Unavailable(format!(
                    "cannot connect to {}'s Autotask: {error}",
                    organisation.name
                ))
            })?;
        let platform = self.with_own_actor(platform).await;
        // The tenant as this API user reads it.
        let tenant_key = format!(
            "{}|{}",
            platform.database_key(),
            platform.username().trim().to_ascii_lowercase()
        );
        let platform = if contact_names {
            platform.with_contact_names()
        } else {
            platform
        };
        Ok((
            SideSetup {
                platform: Arc::new(platform),
                config,
                organisation_name: organisation.name,
            },
            tenant_key,
        ))
    }

    /// The setup and each side's tenant key.
    async fn setup_with_keys(
        &self,
        relationship: RelationshipId,
    ) -> Result<(SyncSetup, [String; 2]), SetupError> {
        let relationship = self.relationship(relationship).await?;
        if relationship.state != RelationshipState::Active {
            return Err(SetupError::NotReady(format!(
                "the connection is {}; only an Active connection syncs",
                relationship.state.label()
            )));
        }
        let composition = self
            .store
            .description_composition(relationship.id)
            .await
            .map_err(unavailable)?
            .unwrap_or_default();
        // A "Contact" line needs the contact's name, one extra query per page of tickets.
        let contact_names = composition
            .fields
            .iter()
            .any(|line| line.field == "contactID");
        let (source, source_key) = self
            .side(&relationship, Role::Source, contact_names)
            .await?;
        let (target, target_key) = self
            .side(&relationship, Role::Target, contact_names)
            .await?;
        let mappings = self
            .store
            .field_mappings(relationship.id)
            .await
            .map_err(unavailable)?;
        Ok((
            SyncSetup {
                relationship: relationship.id,
                source,
                target,
                mappings,
                composition,
                conflict_rule: ConflictRule::default(),
            },
            [source_key, target_key],
        ))
    }

    /// The side's API user: the relationship's own credentials when the side overrides the
    /// organisation's API settings, else the organisation's.
    async fn credentials(
        &self,
        relationship: RelationshipId,
        org: OrgId,
        config: &SideConfig,
        organisation_name: &str,
    ) -> Result<Credentials, SetupError> {
        let (stored, secret) = if config.override_api_settings {
            (
                self.store
                    .relationship_credentials(relationship, org)
                    .await
                    .map_err(unavailable)?,
                self.store
                    .relationship_secret(relationship, org)
                    .await
                    .map_err(unavailable)?,
            )
        } else {
            (
                self.store
                    .platform_credentials(org)
                    .await
                    .map_err(unavailable)?,
                self.store.platform_secret(org).await.map_err(unavailable)?,
            )
        };
        let where_to_fix = if config.override_api_settings {
            "in this connection's API settings"
        } else {
            "in Settings"
        };
        let (Some(stored), Some(secret)) = (stored, secret) else {
            return Err(SetupError::NotReady(format!(
                "{organisation_name} has no Autotask API username and secret; enter them {where_to_fix}"
            )));
        };
        let mut credentials = Credentials::new(stored.username, secret);
        credentials.integration_code = stored.integration_code_override;
        Ok(credentials)
    }
}

fn unavailable(error: StoreError) -> SetupError {
    SetupError::Unavailable(format!("the database failed: {error}"))
}

#[async_trait]
impl SyncDirectory for StoreSyncDirectory {
    async fn automatic_relationships(&self) -> Result<Vec<ScheduledRelationship>, SetupError> {
        let mut scheduled = Vec::new();
        for (id, schedule) in self
            .store
            .automatic_schedules()
            .await
            .map_err(unavailable)?
        {
            let Some(relationship) = self.store.relationship(id).await.map_err(unavailable)? else {
                continue;
            };
            if !schedule.is_scheduled(relationship.state, relationship.readiness) {
                continue;
            }
            let (Some(source_org), Some(target_org)) =
                (relationship.source_org(), relationship.target_org())
            else {
                continue;
            };
            // Time entries have no webhook: a connection carrying them keeps its own interval.
            let mut carries_time_entries = false;
            for org in [source_org, target_org] {
                let config = self
                    .store
                    .integration_config(id, org)
                    .await
                    .map_err(unavailable)?;
                carries_time_entries |= config.is_some_and(|config| {
                    config.time_entries.arrive_as != fusion_domain::TimeArrival::Off
                });
            }
            scheduled.push(ScheduledRelationship {
                relationship: id,
                interval: schedule.interval(),
                source_org,
                target_org,
                carries_time_entries,
            });
        }
        Ok(scheduled)
    }

    async fn setup(&self, relationship: RelationshipId) -> Result<SyncSetup, SetupError> {
        Ok(self.setup_with_keys(relationship).await?.0)
    }

    async fn sweep_begins(&self, due: &[RelationshipId]) {
        if let Some(shared) = &self.shared {
            shared.begin_sweep(due.iter().copied());
        }
    }

    async fn setup_automatic(&self, relationship: RelationshipId) -> Result<SyncSetup, SetupError> {
        let (mut setup, [source_key, target_key]) = self.setup_with_keys(relationship).await?;
        let Some(shared) = &self.shared else {
            return Ok(setup);
        };
        if !shared.take_turn(relationship) {
            return Ok(setup);
        }
        let links: Arc<dyn LinkedTickets> = Arc::new(StoreLinkedTickets(self.store.clone()));
        for (side, tenant_key) in [(Role::Source, source_key), (Role::Target, target_key)] {
            let side_setup = match side {
                Role::Source => &mut setup.source,
                Role::Target => &mut setup.target,
            };
            side_setup.platform = shared.platform(
                SharedSide {
                    relationship,
                    side,
                    tenant_key,
                    config: side_setup.config.clone(),
                },
                side_setup.platform.clone(),
                links.clone(),
            );
        }
        Ok(setup)
    }

    async fn baseline_set(&self, relationship: RelationshipId) -> Result<(), SetupError> {
        self.store
            .set_sync_readiness(relationship, SyncReadiness::ReadyForAutomaticSync)
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
