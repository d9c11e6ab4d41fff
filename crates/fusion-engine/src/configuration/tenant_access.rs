//! Each side's tenant as the configuration use cases reach it: which credentials a side uses (the
//! organisation's own, or the relationship's override when that side turned it on), handed to the
//! platform through the `PlatformTenants` port, which loads the live choices (and keeps them for
//! a while: the cache is the adapter's).
//!
//! Invariants: credentials are read only to be handed to the port and never leave this module
//! otherwise; a partner's choices are loaded with the PARTNER's credentials, server-side, and
//! callers expose only the picklists a mapping needs.

use std::sync::Arc;

use fusion_domain::{OrgId, RelationshipId, Role};

use super::{ConfigurationError, ConfigurationScope, ConfigurationService};
use crate::{Freshness, LiveChoices, TenantCredentials, TenantError};

/// Whose tenant: the caller's organisation or its partner (only changes the wording).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Whose {
    Mine,
    Partner,
}

impl Whose {
    fn tenant(self) -> &'static str {
        match self {
            Whose::Mine => "your Autotask tenant",
            Whose::Partner => "the partner's Autotask tenant",
        }
    }
}

/// Why a side has no credentials to reach its tenant with, and what to do.
fn missing_credentials(whose: Whose, override_on: bool) -> &'static str {
    match (whose, override_on) {
        (Whose::Mine, true) => {
            "Override API settings is on for this connection, but its API settings are not saved yet: save them under \"Override API settings for this relationship\", or turn the override off."
        }
        (Whose::Mine, false) => {
            "Your organisation has no saved Autotask API settings yet: save them in Settings first."
        }
        (Whose::Partner, _) => {
            "The partner organisation has not saved working Autotask API settings yet."
        }
    }
}

impl ConfigurationService {
    /// The credentials `org`'s side of the relationship uses.
    pub(crate) async fn side_credentials(
        &self,
        relationship: RelationshipId,
        org: OrgId,
        whose: Whose,
    ) -> Result<TenantCredentials, ConfigurationError> {
        let override_on = self
            .relationships
            .integration_config(relationship, org)
            .await?
            .is_some_and(|side| side.override_api_settings);
        let credentials = if override_on {
            let saved = self
                .relationships
                .relationship_credentials(relationship, org)
                .await?;
            let secret = self
                .relationships
                .relationship_secret(relationship, org)
                .await?;
            match (saved, secret) {
                (Some(saved), Some(secret)) => Some(TenantCredentials {
                    api_url: saved.api_url,
                    username: saved.username,
                    secret,
                    integration_code: saved.integration_code_override,
                }),
                _ => None,
            }
        } else {
            self.credentials
                .organisation_tenant_credentials(org)
                .await?
        };
        credentials.ok_or_else(|| ConfigurationError::Tenant {
            reason: missing_credentials(whose, override_on).to_owned(),
        })
    }

    /// `org`'s live choices for this relationship: recently loaded ones will do (unless
    /// `Freshness::Reload`), otherwise loaded from its tenant with its own credentials.
    pub(crate) async fn choices_of(
        &self,
        relationship: RelationshipId,
        org: OrgId,
        whose: Whose,
        freshness: Freshness,
    ) -> Result<Arc<LiveChoices>, ConfigurationError> {
        let credentials = self.side_credentials(relationship, org, whose).await?;
        self.tenants
            .choices(&credentials, freshness)
            .await
            .map_err(|error| {
                tracing::warn!(%relationship, %org, kind = error.kind_name(), "loading tenant choices failed");
                match error {
                    // Not about this tenant: the server cannot reach the platform at all.
                    TenantError::NotSetUp { message } => {
                        ConfigurationError::Tenant { reason: message }
                    }
                    error => ConfigurationError::tenant(
                        &format!("Could not load the choices from {}", whose.tenant()),
                        error,
                    ),
                }
            })
    }

    /// My tenant's live choices (and mappable ticket fields), or why they could not be loaded.
    pub async fn my_choices(
        &self,
        scope: &ConfigurationScope,
        freshness: Freshness,
    ) -> Result<Arc<LiveChoices>, ConfigurationError> {
        self.choices_of(scope.relationship.id, scope.org_id, Whose::Mine, freshness)
            .await
    }

    /// The choices of the organisation playing `role` (mine, or the partner's — server-side).
    pub(crate) async fn choices_in_role(
        &self,
        scope: &ConfigurationScope,
        role: Role,
    ) -> Result<Arc<LiveChoices>, ConfigurationError> {
        if role == scope.role {
            return self.my_choices(scope, Freshness::Cached).await;
        }
        let partner = scope
            .relationship
            .partner_of(scope.org_id)
            .ok_or_else(|| ConfigurationError::Tenant {
                reason: "The connection has not been accepted yet, so the partner's Autotask tenant is not known.".to_owned(),
            })?;
        self.choices_of(
            scope.relationship.id,
            partner,
            Whose::Partner,
            Freshness::Cached,
        )
        .await
    }
}
