//! The relationship half of the storage port: organisation connections, their verification codes,
//! each side's integration configuration, field mappings, the description composition, and the
//! per-relationship API override credentials.
//!
//! Verification codes are stored only as SHA-256 digests; acceptance is one atomic step (a code
//! works once even when two partners race). Time comes from the caller (`now`), so expiry is
//! testable with an injected clock.
//!
//! Errors: an unknown relationship is `NotFound` for writes and `None`/empty for reads; writing an
//! organisation's side (configuration, override credentials) for an organisation that is not the
//! initiator or partner is `NotFound` too. The store is not the authorisation layer, but it only
//! ever returns what the ids name. `fusion-store`'s `Store` has this trait as a supertrait, so
//! `Arc<dyn Store>` offers these methods directly.

use async_trait::async_trait;
use fusion_domain::{
    AcceptCodeError, DescriptionComposition, FieldMapping, FieldMappingId, OrgId, PersonId,
    PlatformKind, Relationship, RelationshipId, RelationshipState, Role, SideConfig, SyncReadiness,
    VerificationCode,
};
use secrecy::SecretString;
use time::OffsetDateTime;

use super::StoreResult;

/// The platform credentials as anyone may read them: the secret only as "set / last changed".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformCredentials {
    pub org_id: OrgId,
    pub platform: PlatformKind,
    pub api_url: String,
    pub username: String,
    pub secret_set: bool,
    pub secret_changed_at: Option<OffsetDateTime>,
    /// Overrides the deployment's Autotask integration code for this organisation.
    pub integration_code_override: Option<String>,
    pub updated_at: OffsetDateTime,
}

/// A save from Settings. `secret: None` keeps the stored secret (the field is write-only, so an
/// empty secret box means "unchanged"). `integration_code_override: Some(None)` clears it.
#[derive(Debug)]
pub struct CredentialsUpdate {
    pub platform: PlatformKind,
    pub api_url: String,
    pub username: String,
    pub secret: Option<SecretString>,
    pub integration_code_override: Option<Option<String>>,
}

/// One audit entry for a credentials change: who, when, which field — never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialsAuditEntry {
    pub org_id: OrgId,
    pub person_id: Option<PersonId>,
    pub field: String,
    pub changed_at: OffsetDateTime,
}

/// One change to a relationship's configuration: by a person, or by Support Fusion itself
/// (`person_id` `None`), e.g. a company filter brought in line with the privacy rule on upgrade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigurationAuditEntry {
    pub org_id: OrgId,
    pub person_id: Option<PersonId>,
    /// One sentence for people.
    pub change: String,
    pub changed_at: OffsetDateTime,
}

/// Relationship storage. Every `fusion_store::Store` is also a `RelationshipStore`.
#[async_trait]
pub trait RelationshipStore: Send + Sync {
    /// Creates a Pending relationship whose verification code (stored hashed) expires at
    /// `code_expires_at`. `NotFound` for an unknown initiator; `Conflict` in the (astronomically
    /// unlikely) case that another Pending relationship has the same code.
    async fn create_relationship(
        &self,
        initiator: OrgId,
        initiator_role: Role,
        contract_name: &str,
        code: &VerificationCode,
        now: OffsetDateTime,
        code_expires_at: OffsetDateTime,
    ) -> StoreResult<Relationship>;

    async fn relationship(&self, id: RelationshipId) -> StoreResult<Option<Relationship>>;

    /// Every relationship `org` is part of (as initiator or partner), newest first.
    async fn relationships_of(&self, org: OrgId) -> StoreResult<Vec<Relationship>>;

    /// Accepts the Pending relationship with this code for `accepting_org`, atomically:
    /// `Ok(Err(reason))` for an unknown, expired, used or revoked code, the initiator's own code,
    /// or a live relationship between the same two organisations with the same contract name.
    async fn accept_relationship(
        &self,
        accepting_org: OrgId,
        code: &VerificationCode,
        now: OffsetDateTime,
    ) -> StoreResult<Result<Relationship, AcceptCodeError>>;

    /// Replaces the code of a Pending (or expired Pending) relationship; the old code stops working
    /// (it is then Unknown). `Conflict` for any other state.
    async fn reissue_code(
        &self,
        id: RelationshipId,
        code: &VerificationCode,
        code_expires_at: OffsetDateTime,
    ) -> StoreResult<Relationship>;

    /// Writes a new state (the caller checked the transition with the domain rules) and returns the
    /// relationship as it is now. `Conflict` when resuming would give the pair two connected
    /// relationships under one contract name.
    async fn set_relationship_state(
        &self,
        id: RelationshipId,
        state: RelationshipState,
    ) -> StoreResult<Relationship>;

    async fn set_sync_readiness(
        &self,
        id: RelationshipId,
        readiness: SyncReadiness,
    ) -> StoreResult<Relationship>;

    /// `org`'s side of the configuration; `None` until first saved.
    async fn integration_config(
        &self,
        id: RelationshipId,
        org: OrgId,
    ) -> StoreResult<Option<SideConfig>>;

    async fn save_integration_config(
        &self,
        id: RelationshipId,
        org: OrgId,
        config: &SideConfig,
    ) -> StoreResult<()>;

    /// The relationship's field mappings in the order they were created.
    async fn field_mappings(&self, id: RelationshipId) -> StoreResult<Vec<FieldMapping>>;

    /// Inserts or replaces one mapping (by its id); a new one goes last, a replaced one keeps its
    /// place. `NotFound` for an unknown relationship, `Conflict` when the id belongs to another.
    async fn save_field_mapping(&self, mapping: &FieldMapping) -> StoreResult<()>;

    /// `NotFound` when the relationship has no such mapping.
    async fn delete_field_mapping(
        &self,
        id: RelationshipId,
        mapping: FieldMappingId,
    ) -> StoreResult<()>;

    /// Replaces every mapping of the relationship in one transaction (used by import), keeping the
    /// order given. `Conflict` (and nothing changed) when a mapping names another relationship.
    async fn replace_field_mappings(
        &self,
        id: RelationshipId,
        mappings: &[FieldMapping],
    ) -> StoreResult<()>;

    async fn description_composition(
        &self,
        id: RelationshipId,
    ) -> StoreResult<Option<DescriptionComposition>>;

    /// `None` removes the composition (back to a plain description mapping).
    async fn save_description_composition(
        &self,
        id: RelationshipId,
        composition: Option<&DescriptionComposition>,
    ) -> StoreResult<()>;

    /// "Override API settings for this relationship": `org`'s separate credentials, if any.
    async fn relationship_credentials(
        &self,
        id: RelationshipId,
        org: OrgId,
    ) -> StoreResult<Option<PlatformCredentials>>;

    /// Saves override credentials exactly like organisation credentials (secret encrypted with an
    /// AAD naming the relationship and organisation, audit entries for changed fields).
    async fn save_relationship_credentials(
        &self,
        id: RelationshipId,
        org: OrgId,
        changed_by: Option<PersonId>,
        update: CredentialsUpdate,
    ) -> StoreResult<PlatformCredentials>;

    async fn relationship_secret(
        &self,
        id: RelationshipId,
        org: OrgId,
    ) -> StoreResult<Option<SecretString>>;

    /// The audit trail of `org`'s override credentials in this relationship, newest first (kept
    /// apart from the organisation's own, `fusion_store::Store::credentials_audit_log`).
    async fn relationship_credentials_audit_log(
        &self,
        id: RelationshipId,
        org: OrgId,
    ) -> StoreResult<Vec<CredentialsAuditEntry>>;

    /// Changes to `org`'s side of the configuration that people should be able to look up,
    /// newest first.
    async fn configuration_audit_log(
        &self,
        id: RelationshipId,
        org: OrgId,
    ) -> StoreResult<Vec<ConfigurationAuditEntry>>;

    /// Records a configuration change made by `org` (and `person`, `None` for Support Fusion
    /// itself) in relationship `id`, now. `change` is one sentence for people, never a secret.
    async fn record_configuration_change(
        &self,
        id: RelationshipId,
        org: OrgId,
        person: Option<PersonId>,
        change: &str,
    ) -> StoreResult<()>;

    /// Every recorded configuration change of relationship `id`, by either organisation,
    /// newest first: both sides read the same log.
    async fn relationship_configuration_audit_log(
        &self,
        id: RelationshipId,
    ) -> StoreResult<Vec<ConfigurationAuditEntry>>;
}
