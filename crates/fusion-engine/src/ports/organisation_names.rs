//! The smallest port the connection use cases need besides the relationships: the name of an
//! organisation by id, so a connection can be shown with its partner's name.
//!
//! `fusion-store`'s `Store` has this trait as a supertrait, so `Arc<dyn Store>` coerces to
//! `Arc<dyn OrganisationNames>`.

use async_trait::async_trait;
use fusion_domain::OrgId;

use super::StoreResult;

/// Organisation names by id.
#[async_trait]
pub trait OrganisationNames: Send + Sync {
    /// The organisation's name; `None` for an unknown id.
    async fn organisation_name(&self, id: OrgId) -> StoreResult<Option<String>>;
}
