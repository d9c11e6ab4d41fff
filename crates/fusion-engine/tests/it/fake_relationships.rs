//! An in-memory `RelationshipStore` (its connection half) and `OrganisationNames`, with the
//! contract's semantics for connections: codes kept per relationship (a re-issue makes the old
//! one unknown), acceptance in one step with the store's reasons (unknown, expired, used,
//! revoked, own code, duplicate), newest first. The configuration half is not needed by the
//! connection use cases and answers `Backend("not in this fake")`.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use fusion_domain::{
    AcceptCodeError, DescriptionComposition, FieldMapping, FieldMappingId, OrgId, PersonId,
    Relationship, RelationshipId, RelationshipState, Role, SideConfig, SyncReadiness,
    VerificationCode,
};
use fusion_engine::ports::{
    ConfigurationAuditEntry, CredentialsAuditEntry, CredentialsUpdate, OrganisationNames,
    PlatformCredentials, RelationshipStore, StoreError, StoreResult,
};
use secrecy::SecretString;
use time::OffsetDateTime;

#[derive(Debug, Default)]
struct State {
    organisations: BTreeMap<OrgId, String>,
    /// In creation order.
    relationships: Vec<Relationship>,
    /// The current code of each relationship that has one.
    codes: BTreeMap<RelationshipId, String>,
}

#[derive(Debug, Default)]
pub struct FakeRelationships {
    state: Mutex<State>,
}

impl FakeRelationships {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers an organisation and returns its id.
    pub fn organisation(&self, name: &str) -> OrgId {
        let id = OrgId::new();
        self.lock().organisations.insert(id, name.to_owned());
        id
    }

    fn find(state: &mut State, id: RelationshipId) -> StoreResult<&mut Relationship> {
        state
            .relationships
            .iter_mut()
            .find(|relationship| relationship.id == id)
            .ok_or(StoreError::NotFound)
    }
}

fn not_in_this_fake<T>() -> StoreResult<T> {
    Err(StoreError::Backend("not in this fake".to_owned()))
}

#[async_trait]
impl OrganisationNames for FakeRelationships {
    async fn organisation_name(&self, id: OrgId) -> StoreResult<Option<String>> {
        Ok(self.lock().organisations.get(&id).cloned())
    }
}

#[async_trait]
impl RelationshipStore for FakeRelationships {
    async fn create_relationship(
        &self,
        initiator: OrgId,
        initiator_role: Role,
        contract_name: &str,
        code: &VerificationCode,
        now: OffsetDateTime,
        code_expires_at: OffsetDateTime,
    ) -> StoreResult<Relationship> {
        let mut state = self.lock();
        if !state.organisations.contains_key(&initiator) {
            return Err(StoreError::NotFound);
        }
        let relationship = Relationship {
            id: RelationshipId::new(),
            contract_name: contract_name.to_owned(),
            initiator,
            initiator_role,
            partner: None,
            state: RelationshipState::Pending,
            readiness: SyncReadiness::InitialSyncRequired,
            code_expires_at: Some(code_expires_at),
            created_at: now,
            activated_at: None,
        };
        state
            .codes
            .insert(relationship.id, code.as_str().to_owned());
        state.relationships.push(relationship.clone());
        Ok(relationship)
    }

    async fn relationship(&self, id: RelationshipId) -> StoreResult<Option<Relationship>> {
        Ok(self
            .lock()
            .relationships
            .iter()
            .find(|relationship| relationship.id == id)
            .cloned())
    }

    async fn relationships_of(&self, org: OrgId) -> StoreResult<Vec<Relationship>> {
        Ok(self
            .lock()
            .relationships
            .iter()
            .rev()
            .filter(|relationship| relationship.involves(org))
            .cloned()
            .collect())
    }

    async fn accept_relationship(
        &self,
        accepting_org: OrgId,
        code: &VerificationCode,
        now: OffsetDateTime,
    ) -> StoreResult<Result<Relationship, AcceptCodeError>> {
        let mut state = self.lock();
        let Some(id) = state
            .codes
            .iter()
            .find(|(_, stored)| stored.as_str() == code.as_str())
            .map(|(id, _)| *id)
        else {
            return Ok(Err(AcceptCodeError::Unknown));
        };
        let relationship = Self::find(&mut state, id)?.clone();
        let refusal = match relationship.state {
            RelationshipState::Revoked => Some(AcceptCodeError::Revoked),
            RelationshipState::Pending if relationship.initiator == accepting_org => {
                Some(AcceptCodeError::OwnCode)
            }
            RelationshipState::Pending
                if relationship
                    .code_expires_at
                    .is_some_and(|expires_at| expires_at <= now) =>
            {
                Some(AcceptCodeError::Expired)
            }
            RelationshipState::Pending => None,
            _ => Some(AcceptCodeError::AlreadyUsed),
        };
        if let Some(refusal) = refusal {
            return Ok(Err(refusal));
        }
        let duplicate = state.relationships.iter().any(|other| {
            other.id != id
                && other.state.is_live()
                && other.contract_name == relationship.contract_name
                && other.involves(relationship.initiator)
                && other.involves(accepting_org)
        });
        if duplicate {
            return Ok(Err(AcceptCodeError::Duplicate));
        }
        let stored = Self::find(&mut state, id)?;
        stored.partner = Some(accepting_org);
        stored.state = RelationshipState::Active;
        stored.code_expires_at = None;
        stored.activated_at = Some(now);
        Ok(Ok(stored.clone()))
    }

    async fn reissue_code(
        &self,
        id: RelationshipId,
        code: &VerificationCode,
        code_expires_at: OffsetDateTime,
    ) -> StoreResult<Relationship> {
        let mut state = self.lock();
        let relationship = Self::find(&mut state, id)?;
        if relationship.state != RelationshipState::Pending {
            return Err(StoreError::Conflict("not pending".to_owned()));
        }
        relationship.code_expires_at = Some(code_expires_at);
        let relationship = relationship.clone();
        state.codes.insert(id, code.as_str().to_owned());
        Ok(relationship)
    }

    async fn set_relationship_state(
        &self,
        id: RelationshipId,
        state: RelationshipState,
    ) -> StoreResult<Relationship> {
        let mut stored = self.lock();
        let relationship = Self::find(&mut stored, id)?;
        relationship.state = state;
        Ok(relationship.clone())
    }

    async fn set_sync_readiness(
        &self,
        id: RelationshipId,
        readiness: SyncReadiness,
    ) -> StoreResult<Relationship> {
        let mut state = self.lock();
        let relationship = Self::find(&mut state, id)?;
        relationship.readiness = readiness;
        Ok(relationship.clone())
    }

    async fn integration_config(
        &self,
        _id: RelationshipId,
        _org: OrgId,
    ) -> StoreResult<Option<SideConfig>> {
        not_in_this_fake()
    }

    async fn save_integration_config(
        &self,
        _id: RelationshipId,
        _org: OrgId,
        _config: &SideConfig,
    ) -> StoreResult<()> {
        not_in_this_fake()
    }

    async fn field_mappings(&self, _id: RelationshipId) -> StoreResult<Vec<FieldMapping>> {
        not_in_this_fake()
    }

    async fn save_field_mapping(&self, _mapping: &FieldMapping) -> StoreResult<()> {
        not_in_this_fake()
    }

    async fn delete_field_mapping(
        &self,
        _id: RelationshipId,
        _mapping: FieldMappingId,
    ) -> StoreResult<()> {
        not_in_this_fake()
    }

    async fn replace_field_mappings(
        &self,
        _id: RelationshipId,
        _mappings: &[FieldMapping],
    ) -> StoreResult<()> {
        not_in_this_fake()
    }

    async fn description_composition(
        &self,
        _id: RelationshipId,
    ) -> StoreResult<Option<DescriptionComposition>> {
        not_in_this_fake()
    }

    async fn save_description_composition(
        &self,
        _id: RelationshipId,
        _composition: Option<&DescriptionComposition>,
    ) -> StoreResult<()> {
        not_in_this_fake()
    }

    async fn relationship_credentials(
        &self,
        _id: RelationshipId,
        _org: OrgId,
    ) -> StoreResult<Option<PlatformCredentials>> {
        not_in_this_fake()
    }

    async fn save_relationship_credentials(
        &self,
        _id: RelationshipId,
        _org: OrgId,
        _changed_by: Option<PersonId>,
        _update: CredentialsUpdate,
    ) -> StoreResult<PlatformCredentials> {
        not_in_this_fake()
    }

    async fn relationship_secret(
        &self,
        _id: RelationshipId,
        _org: OrgId,
    ) -> StoreResult<Option<SecretString>> {
        not_in_this_fake()
    }

    async fn relationship_credentials_audit_log(
        &self,
        _id: RelationshipId,
        _org: OrgId,
    ) -> StoreResult<Vec<CredentialsAuditEntry>> {
        not_in_this_fake()
    }

    async fn configuration_audit_log(
        &self,
        _id: RelationshipId,
        _org: OrgId,
    ) -> StoreResult<Vec<ConfigurationAuditEntry>> {
        not_in_this_fake()
    }

    async fn record_configuration_change(
        &self,
        _id: RelationshipId,
        _org: OrgId,
        _person: Option<PersonId>,
        _change: &str,
    ) -> StoreResult<()> {
        not_in_this_fake()
    }

    async fn relationship_configuration_audit_log(
        &self,
        _id: RelationshipId,
    ) -> StoreResult<Vec<ConfigurationAuditEntry>> {
        not_in_this_fake()
    }
}
