//! An organisation's Settings: its own platform credentials (read, saved with an audit entry per
//! changed field, the decrypted secret), their audit log, and the last connection test's result.
//! [`super::OrganisationCredentials`] is the narrower read the configuration use cases need.
//!
//! `fusion-store`'s `Store` has this trait as a supertrait, so `Arc<dyn Store>` coerces to
//! `Arc<dyn OrganisationSettings>`.

use async_trait::async_trait;
use fusion_domain::{ConnectionTestReport, OrgId, PersonId};
use secrecy::SecretString;

use super::{CredentialsAuditEntry, CredentialsUpdate, PlatformCredentials, StoreResult};

/// Organisations' own platform credentials, their audit log and connection-test results.
#[async_trait]
pub trait OrganisationSettings: Send + Sync {
    async fn platform_credentials(&self, org_id: OrgId)
    -> StoreResult<Option<PlatformCredentials>>;
    /// Saves credentials, encrypts a new secret, and writes one audit entry per changed field.
    async fn save_platform_credentials(
        &self,
        org_id: OrgId,
        changed_by: Option<PersonId>,
        update: CredentialsUpdate,
    ) -> StoreResult<PlatformCredentials>;
    /// The decrypted secret, for the adapter only.
    async fn platform_secret(&self, org_id: OrgId) -> StoreResult<Option<SecretString>>;
    async fn credentials_audit_log(&self, org_id: OrgId)
    -> StoreResult<Vec<CredentialsAuditEntry>>;

    async fn record_test_result(
        &self,
        org_id: OrgId,
        report: &ConnectionTestReport,
    ) -> StoreResult<()>;
    async fn last_test_result(&self, org_id: OrgId) -> StoreResult<Option<ConnectionTestReport>>;
}
