//! The configuration use cases of a relationship, per side, written against the core's ports
//! ([`RelationshipStore`], [`OrganisationCredentials`], [`PlatformTenants`]): which relationship a
//! caller may configure ([`ConfigurationService::scope`]), my tenant's live choices (and the
//! partner's, server-side), reading and saving a side configuration with its warnings and the
//! privacy rule (`side`), field mappings — CRUD, the default set, "match by label", unmapped
//! values (`mappings`) —, the description composition with its company-restricted preview
//! (`description`), the configuration history, and the whole configuration out and back in as a
//! document (`document`). Which credentials a side uses is decided in `tenant_access`.
//!
//! Rules:
//! - Everything is scoped to a relationship the organisation is part of; any other is
//!   [`ConfigurationError::NotFound`], exactly like one that does not exist. "My side" is the
//!   organisation's role in it.
//! - Values are checked against the side's live choices, but saving is allowed with warnings (a
//!   half-filled form may be saved), except where the privacy rule is at stake: a side whose
//!   `SideConfig::scope_errors` is not empty is never saved (form, API or import), and what is
//!   saved always has its company filters equal to its scope (`SideConfig::with_scope_filters`).
//! - One organisation never sees the other's configuration, credentials or tickets: a partner's
//!   choices are loaded with the partner's credentials, server-side, and only the picklists of a
//!   mapping's fields are ever exposed; of the partner's configuration only its company scope is
//!   read. A ticket preview runs only on the SOURCE tenant, for the source organisation itself,
//!   and only on a ticket of the company the connection carries.
//! - An import changes nothing unless the whole document is accepted.
//!
//! The file format a document is written in (TOML or JSON, versioned) is the web layer's; this
//! module knows no HTTP, no SQL and no adapter.

mod description;
mod document;
mod error;
mod mappings;
mod side;
mod tenant_access;

use std::fmt;
use std::sync::Arc;

use fusion_domain::{OrgId, Relationship, RelationshipId, Role};

use crate::PlatformTenants;
use crate::ports::{
    ConfigurationAuditEntry, OrganisationCredentials, RelationshipStore, SyncStore,
};

pub use description::{ComposableField, Preview, validate_composition};
pub use document::{ConfigurationDocument, ConfigurationExport, ExportLabels, ImportOutcome};
pub use error::ConfigurationError;
pub use mappings::{BothSides, MappingDraft, MappingView, Suggestions, ValueView};
pub use side::{
    LIST_NAMES, LoadedChoices, ScopeProblem, Warning, company_label, scope_sentence, warnings,
    within_scope,
};

/// A relationship seen from one of its organisations.
#[derive(Debug, Clone)]
pub struct ConfigurationScope {
    pub org_id: OrgId,
    pub relationship: Relationship,
    /// The organisation's role: "my side".
    pub role: Role,
}

/// The configuration use cases over the ports they need. Cheap to clone.
#[derive(Clone)]
pub struct ConfigurationService {
    relationships: Arc<dyn RelationshipStore>,
    credentials: Arc<dyn OrganisationCredentials>,
    tenants: Arc<dyn PlatformTenants>,
    /// Where failures waiting for a change are told that the configuration changed.
    attention: Option<Arc<dyn SyncStore>>,
}

impl fmt::Debug for ConfigurationService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigurationService")
            .finish_non_exhaustive()
    }
}

impl ConfigurationService {
    /// The use cases over the relationships' storage, the organisations' own credentials and
    /// the platform's tenants. No rule here reads the time: how long loaded choices stay fresh
    /// is the `PlatformTenants` implementation's, by its own clock.
    pub fn new(
        relationships: Arc<dyn RelationshipStore>,
        credentials: Arc<dyn OrganisationCredentials>,
        tenants: Arc<dyn PlatformTenants>,
    ) -> Self {
        Self {
            relationships,
            credentials,
            tenants,
            attention: None,
        }
    }

    /// Every saved change of a relationship's configuration or mappings asks the next run to
    /// retry the relationship's failures that wait for a change (attention items).
    pub fn with_attention_retries(mut self, store: Arc<dyn SyncStore>) -> Self {
        self.attention = Some(store);
        self
    }

    /// The configuration of `relationship` changed: failures waiting for a change are retried.
    pub(crate) async fn configuration_changed(&self, relationship: RelationshipId) {
        if let Some(store) = &self.attention
            && let Err(error) = store.request_attention_retry(relationship, None).await
        {
            // The next change of the tickets themselves still retries them.
            tracing::warn!(%relationship, %error, "could not ask for failed tickets to be retried");
        }
    }

    /// The relationship `id` seen from `org_id`, if `org_id` is part of it; otherwise `NotFound`.
    pub async fn scope(
        &self,
        org_id: OrgId,
        id: RelationshipId,
    ) -> Result<ConfigurationScope, ConfigurationError> {
        let relationship = self
            .relationships
            .relationship(id)
            .await?
            .ok_or(ConfigurationError::NotFound)?;
        let role = relationship
            .role_of(org_id)
            .ok_or(ConfigurationError::NotFound)?;
        Ok(ConfigurationScope {
            org_id,
            relationship,
            role,
        })
    }

    /// The recorded changes to my side of the configuration, newest first (by a person, or by
    /// Support Fusion itself, e.g. a company filter brought within the scope on upgrade).
    pub async fn history(
        &self,
        scope: &ConfigurationScope,
    ) -> Result<Vec<ConfigurationAuditEntry>, ConfigurationError> {
        Ok(self
            .relationships
            .configuration_audit_log(scope.relationship.id, scope.org_id)
            .await?)
    }
}

#[cfg(test)]
mod fakes;

#[cfg(test)]
mod tests {
    use fusion_domain::{OrgId, RelationshipId};

    use super::fakes::Fixture;

    #[tokio::test]
    async fn a_relationship_the_organisation_is_not_part_of_is_not_found() {
        let fixture = Fixture::connected();
        let error = fixture
            .service
            .scope(OrgId::new(), fixture.relationship)
            .await
            .err();
        assert!(
            error.as_ref().is_some_and(|error| error.is_not_found()),
            "{error:?}"
        );
        let error = fixture
            .service
            .scope(fixture.source_org, RelationshipId::new())
            .await
            .err();
        assert!(
            error.as_ref().is_some_and(|error| error.is_not_found()),
            "{error:?}"
        );
    }
}
