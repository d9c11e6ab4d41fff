//! In-memory fakes of the ports the configuration use cases take, for their unit tests: one
//! connected relationship between a source and a target organisation, each with credentials for
//! its own tenant; each tenant has a company, a status list and a queue list. What the use cases
//! never call answers with a `Backend` error.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use fusion_domain::{
    AcceptCodeError, Choice, ChoiceValue, ConnectionTestReport, DescriptionComposition,
    FieldMapping, FieldMappingId, MappingDirection, OrgId, PersonId, Relationship, RelationshipId,
    RelationshipState, Role, SideConfig, SyncReadiness, ValueMapping, VerificationCode,
    suggest_value_mappings,
};
use secrecy::SecretString;
use time::OffsetDateTime;

use super::{ConfigurationScope, ConfigurationService};
use crate::ports::{
    ConfigurationAuditEntry, CredentialsAuditEntry, CredentialsUpdate, OrganisationCredentials,
    PlatformCredentials, RelationshipStore, StoreError, StoreResult,
};
use crate::{
    ApiUrlProblem, CleanedInput, CredentialField, CredentialHelp, Freshness, LiveChoices,
    PlatformTenants, TenantCredentials, TenantError, TicketFact, TicketField, TicketPreview,
};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn unused<T>() -> StoreResult<T> {
    Err(StoreError::Backend(
        "not used by the configuration use cases".to_owned(),
    ))
}

fn choice(value: &str, label: &str, is_active: bool) -> Choice {
    Choice {
        value: ChoiceValue::new(value),
        label: label.to_owned(),
        is_active,
        is_default: false,
        parent: None,
    }
}

/// A tenant's choices: the partner's company, a status list (one active value, one more) and a
/// queue.
pub(crate) fn company_choices() -> Arc<LiveChoices> {
    Arc::new(LiveChoices::new(
        BTreeMap::from([
            (
                "company".to_owned(),
                vec![choice("29000001", "Contoso Manufacturing", true)],
            ),
            (
                "status".to_owned(),
                vec![choice("1", "New", true), choice("5", "Complete", true)],
            ),
            (
                "queue".to_owned(),
                vec![choice("8", "Level I Support", true)],
            ),
        ]),
        vec![status_field()],
        OffsetDateTime::UNIX_EPOCH,
    ))
}

fn status_field() -> TicketField {
    TicketField {
        name: "status".to_owned(),
        label: "Status".to_owned(),
        picklist: Some("status"),
        is_required: true,
        is_read_only: false,
    }
}

#[derive(Debug, Default)]
pub(crate) struct FakeRelationships {
    relationships: Mutex<Vec<Relationship>>,
    sides: Mutex<HashMap<OrgId, SideConfig>>,
    mappings: Mutex<Vec<FieldMapping>>,
    composition: Mutex<Option<DescriptionComposition>>,
    audit: Mutex<Vec<ConfigurationAuditEntry>>,
}

impl FakeRelationships {
    /// Every recorded change, newest first.
    pub(crate) fn audit(&self) -> Vec<ConfigurationAuditEntry> {
        lock(&self.audit).iter().rev().cloned().collect()
    }

    pub(crate) fn side(&self, org: OrgId) -> Option<SideConfig> {
        lock(&self.sides).get(&org).cloned()
    }

    pub(crate) fn put_side(&self, org: OrgId, side: SideConfig) {
        lock(&self.sides).insert(org, side);
    }

    pub(crate) fn mappings(&self) -> Vec<FieldMapping> {
        lock(&self.mappings).clone()
    }

    pub(crate) fn composition(&self) -> Option<DescriptionComposition> {
        lock(&self.composition).clone()
    }
}

#[async_trait]
impl RelationshipStore for FakeRelationships {
    async fn create_relationship(
        &self,
        _initiator: OrgId,
        _initiator_role: Role,
        _contract_name: &str,
        _code: &VerificationCode,
        _now: OffsetDateTime,
        _code_expires_at: OffsetDateTime,
    ) -> StoreResult<Relationship> {
        unused()
    }

    async fn relationship(&self, id: RelationshipId) -> StoreResult<Option<Relationship>> {
        Ok(lock(&self.relationships)
            .iter()
            .find(|relationship| relationship.id == id)
            .cloned())
    }

    async fn relationships_of(&self, _org: OrgId) -> StoreResult<Vec<Relationship>> {
        unused()
    }

    async fn accept_relationship(
        &self,
        _accepting_org: OrgId,
        _code: &VerificationCode,
        _now: OffsetDateTime,
    ) -> StoreResult<Result<Relationship, AcceptCodeError>> {
        unused()
    }

    async fn reissue_code(
        &self,
        _id: RelationshipId,
        _code: &VerificationCode,
        _code_expires_at: OffsetDateTime,
    ) -> StoreResult<Relationship> {
        unused()
    }

    async fn set_relationship_state(
        &self,
        _id: RelationshipId,
        _state: RelationshipState,
    ) -> StoreResult<Relationship> {
        unused()
    }

    async fn set_sync_readiness(
        &self,
        _id: RelationshipId,
        _readiness: SyncReadiness,
    ) -> StoreResult<Relationship> {
        unused()
    }

    async fn integration_config(
        &self,
        _id: RelationshipId,
        org: OrgId,
    ) -> StoreResult<Option<SideConfig>> {
        Ok(self.side(org))
    }

    async fn save_integration_config(
        &self,
        _id: RelationshipId,
        org: OrgId,
        config: &SideConfig,
    ) -> StoreResult<()> {
        self.put_side(org, config.clone());
        Ok(())
    }

    async fn field_mappings(&self, _id: RelationshipId) -> StoreResult<Vec<FieldMapping>> {
        Ok(self.mappings())
    }

    async fn save_field_mapping(&self, mapping: &FieldMapping) -> StoreResult<()> {
        let mut mappings = lock(&self.mappings);
        match mappings.iter_mut().find(|stored| stored.id == mapping.id) {
            Some(stored) => *stored = mapping.clone(),
            None => mappings.push(mapping.clone()),
        }
        Ok(())
    }

    async fn delete_field_mapping(
        &self,
        _id: RelationshipId,
        mapping: FieldMappingId,
    ) -> StoreResult<()> {
        lock(&self.mappings).retain(|stored| stored.id != mapping);
        Ok(())
    }

    async fn replace_field_mappings(
        &self,
        id: RelationshipId,
        mappings: &[FieldMapping],
    ) -> StoreResult<()> {
        if mappings.iter().any(|mapping| mapping.relationship_id != id) {
            return Err(StoreError::Conflict(
                "a mapping names another relationship".to_owned(),
            ));
        }
        *lock(&self.mappings) = mappings.to_vec();
        Ok(())
    }

    async fn description_composition(
        &self,
        _id: RelationshipId,
    ) -> StoreResult<Option<DescriptionComposition>> {
        Ok(self.composition())
    }

    async fn save_description_composition(
        &self,
        _id: RelationshipId,
        composition: Option<&DescriptionComposition>,
    ) -> StoreResult<()> {
        *lock(&self.composition) = composition.cloned();
        Ok(())
    }

    async fn relationship_credentials(
        &self,
        _id: RelationshipId,
        _org: OrgId,
    ) -> StoreResult<Option<PlatformCredentials>> {
        Ok(None)
    }

    async fn save_relationship_credentials(
        &self,
        _id: RelationshipId,
        _org: OrgId,
        _changed_by: Option<PersonId>,
        _update: CredentialsUpdate,
    ) -> StoreResult<PlatformCredentials> {
        unused()
    }

    async fn relationship_secret(
        &self,
        _id: RelationshipId,
        _org: OrgId,
    ) -> StoreResult<Option<SecretString>> {
        Ok(None)
    }

    async fn relationship_credentials_audit_log(
        &self,
        _id: RelationshipId,
        _org: OrgId,
    ) -> StoreResult<Vec<CredentialsAuditEntry>> {
        unused()
    }

    async fn configuration_audit_log(
        &self,
        _id: RelationshipId,
        org: OrgId,
    ) -> StoreResult<Vec<ConfigurationAuditEntry>> {
        Ok(self
            .audit()
            .into_iter()
            .filter(|entry| entry.org_id == org)
            .collect())
    }

    async fn record_configuration_change(
        &self,
        _id: RelationshipId,
        org: OrgId,
        person: Option<PersonId>,
        change: &str,
    ) -> StoreResult<()> {
        lock(&self.audit).push(ConfigurationAuditEntry {
            org_id: org,
            person_id: person,
            change: change.to_owned(),
            changed_at: time::OffsetDateTime::now_utc(),
        });
        Ok(())
    }

    async fn relationship_configuration_audit_log(
        &self,
        _id: RelationshipId,
    ) -> StoreResult<Vec<ConfigurationAuditEntry>> {
        Ok(self.audit())
    }
}

/// Organisations' own credentials; the API username names the tenant.
#[derive(Debug, Default)]
pub(crate) struct FakeCredentials {
    by_org: Mutex<HashMap<OrgId, String>>,
}

#[async_trait]
impl OrganisationCredentials for FakeCredentials {
    async fn organisation_tenant_credentials(
        &self,
        org: OrgId,
    ) -> StoreResult<Option<TenantCredentials>> {
        Ok(lock(&self.by_org)
            .get(&org)
            .map(|username| TenantCredentials {
                api_url: "https://webservices2.autotask.net/".to_owned(),
                username: username.clone(),
                secret: SecretString::from("secret"),
                integration_code: None,
            }))
    }
}

/// Every tenant has the same choices; previews are recorded by the company asked for.
#[derive(Debug, Default)]
pub(crate) struct FakeTenants {
    previews: Mutex<Vec<ChoiceValue>>,
}

impl FakeTenants {
    pub(crate) fn previews_asked(&self) -> usize {
        lock(&self.previews).len()
    }

    pub(crate) fn preview_companies(&self) -> Vec<ChoiceValue> {
        lock(&self.previews).clone()
    }
}

#[async_trait]
impl PlatformTenants for FakeTenants {
    fn clean_input(&self, raw: &str) -> CleanedInput {
        CleanedInput {
            value: raw.trim().to_owned(),
            removed: Vec::new(),
        }
    }

    fn check_api_url(&self, entered: &str) -> Result<String, ApiUrlProblem> {
        Ok(entered.to_owned())
    }

    fn credential_help(&self, _field: CredentialField) -> CredentialHelp {
        CredentialHelp {
            when_empty: None,
            when_not_saved: String::new(),
        }
    }

    async fn test_connection(&self, _credentials: TenantCredentials) -> ConnectionTestReport {
        unreachable!("the configuration use cases never test a connection")
    }

    async fn choices(
        &self,
        _credentials: &TenantCredentials,
        _freshness: Freshness,
    ) -> Result<Arc<LiveChoices>, TenantError> {
        Ok(company_choices())
    }

    fn standard_ticket_fields(&self) -> Vec<TicketField> {
        vec![
            status_field(),
            TicketField {
                name: "description".to_owned(),
                label: "Description".to_owned(),
                picklist: None,
                is_required: false,
                is_read_only: false,
            },
        ]
    }

    fn default_field_mappings(&self, relationship: RelationshipId) -> Vec<FieldMapping> {
        vec![FieldMapping {
            id: FieldMappingId::new(),
            relationship_id: relationship,
            ticket_type: "Ticket".to_owned(),
            source_field: "status".to_owned(),
            target_field: "status".to_owned(),
            direction: MappingDirection::SourceToTarget,
            value_mappings: Vec::new(),
        }]
    }

    fn suggested_value_mappings(
        &self,
        field: &TicketField,
        source: &LiveChoices,
        target: &LiveChoices,
    ) -> Vec<ValueMapping> {
        let list = field.picklist.unwrap_or_default();
        suggest_value_mappings(source.list_ref(list), target.list_ref(list))
    }

    fn ticket_facts(&self) -> Vec<TicketFact> {
        vec![TicketFact {
            name: "ticketNumber".to_owned(),
            label: "Ticket number".to_owned(),
        }]
    }

    fn ticket_type(&self) -> &'static str {
        "Ticket"
    }

    fn ticket_web_url(
        &self,
        api_url: &str,
        ticket: &fusion_domain::sync::TicketId,
    ) -> Option<String> {
        Some(format!("{api_url}tickets/{}", ticket.as_str()))
    }

    async fn preview(
        &self,
        _credentials: &TenantCredentials,
        _ticket: &crate::tenant::PreviewTicket,
        company: &ChoiceValue,
    ) -> Result<TicketPreview, TenantError> {
        lock(&self.previews).push(company.clone());
        Ok(TicketPreview {
            ticket_number: "T20261127.0001".to_owned(),
            title: "Printer jams".to_owned(),
            description: "It jams.".to_owned(),
            values: BTreeMap::new(),
        })
    }

    fn hourly_request_limit(&self) -> Option<u32> {
        None
    }

    fn requests_last_hour(&self, _username: &str) -> Option<u32> {
        None
    }

    fn budget_key(&self, _username: &str) -> Option<String> {
        None
    }
}

/// One connected relationship (the source organisation initiated it) and the service over it.
pub(crate) struct Fixture {
    pub(crate) service: ConfigurationService,
    pub(crate) store: Arc<FakeRelationships>,
    pub(crate) tenants: Arc<FakeTenants>,
    credentials: Arc<FakeCredentials>,
    pub(crate) relationship: RelationshipId,
    pub(crate) source_org: OrgId,
    pub(crate) target_org: OrgId,
}

impl Fixture {
    pub(crate) fn connected() -> Fixture {
        let (source_org, target_org) = (OrgId::new(), OrgId::new());
        let relationship = Relationship {
            id: RelationshipId::new(),
            contract_name: "Managed service".to_owned(),
            initiator: source_org,
            initiator_role: Role::Source,
            partner: Some(target_org),
            state: RelationshipState::Active,
            readiness: SyncReadiness::InitialSyncRequired,
            code_expires_at: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
            activated_at: Some(OffsetDateTime::UNIX_EPOCH),
        };
        let store = Arc::new(FakeRelationships::default());
        let id = relationship.id;
        lock(&store.relationships).push(relationship);
        let credentials = Arc::new(FakeCredentials::default());
        lock(&credentials.by_org).extend([
            (source_org, "source@example.com".to_owned()),
            (target_org, "target@example.com".to_owned()),
        ]);
        let tenants = Arc::new(FakeTenants::default());
        Fixture {
            service: ConfigurationService::new(store.clone(), credentials.clone(), tenants.clone()),
            store,
            tenants,
            credentials,
            relationship: id,
            source_org,
            target_org,
        }
    }

    /// The source organisation has no saved credentials.
    pub(crate) fn without_credentials(self) -> Fixture {
        lock(&self.credentials.by_org).remove(&self.source_org);
        self
    }

    /// The target organisation (the partner, seen from the source) has no saved credentials.
    pub(crate) fn without_partner_credentials(self) -> Fixture {
        lock(&self.credentials.by_org).remove(&self.target_org);
        self
    }

    async fn scope_of(&self, org: OrgId) -> ConfigurationScope {
        self.service
            .scope(org, self.relationship)
            .await
            .unwrap_or_else(|error| panic!("{error}"))
    }

    pub(crate) async fn source_scope(&self) -> ConfigurationScope {
        self.scope_of(self.source_org).await
    }

    pub(crate) async fn target_scope(&self) -> ConfigurationScope {
        self.scope_of(self.target_org).await
    }
}
