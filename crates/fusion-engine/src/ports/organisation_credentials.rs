//! The smallest port the configuration use cases need besides the relationships: the platform
//! credentials an organisation saved in Settings, with the secret, as its tenant is reached.
//! Which credentials a side of a relationship uses (these, or the relationship's override in
//! [`super::RelationshipStore`]) is the core's decision (`ConfigurationService`), not the store's.
//!
//! `fusion-store`'s `Store` has this trait as a supertrait, so `Arc<dyn Store>` coerces to
//! `Arc<dyn OrganisationCredentials>`.

use async_trait::async_trait;
use fusion_domain::OrgId;

use super::StoreResult;
use crate::TenantCredentials;

/// Organisations' own platform credentials.
#[async_trait]
pub trait OrganisationCredentials: Send + Sync {
    /// `org`'s saved API URL, username, integration code override and decrypted secret; `None`
    /// until both the settings and the secret are saved.
    async fn organisation_tenant_credentials(
        &self,
        org: OrgId,
    ) -> StoreResult<Option<TenantCredentials>>;
}
