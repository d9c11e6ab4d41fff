//! Each side's tenant as the configuration screens reach it: which credentials a side uses (the
//! organisation's own, or the relationship's override when that side turned it on), handed to the
//! platform through the engine's `PlatformTenants` port, which loads the live choices (and keeps
//! them for a while: the cache is the adapter's).
//!
//! Invariants: credentials are decrypted only to be handed to the port and never leave this
//! module otherwise; a partner's choices are loaded with the PARTNER's credentials, server-side,
//! and callers expose only the picklists a mapping needs.

use std::sync::Arc;

use fusion_domain::{OrgId, RelationshipId};
use fusion_engine::{Freshness, LiveChoices, TenantCredentials, TenantError};

use crate::AppState;
use crate::configuration::error::ConfigurationError;

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

/// The credentials `org`'s side of the relationship uses.
pub(crate) async fn credentials(
    state: &AppState,
    relationship: RelationshipId,
    org: OrgId,
    whose: Whose,
) -> Result<TenantCredentials, ConfigurationError> {
    let store = state.store();
    let override_on = store
        .integration_config(relationship, org)
        .await?
        .is_some_and(|side| side.override_api_settings);
    let (credentials, secret) = if override_on {
        (
            store.relationship_credentials(relationship, org).await?,
            store.relationship_secret(relationship, org).await?,
        )
    } else {
        (
            store.platform_credentials(org).await?,
            store.platform_secret(org).await?,
        )
    };
    let (Some(credentials), Some(secret)) = (credentials, secret) else {
        let reason = match (whose, override_on) {
            (Whose::Mine, true) => {
                "Override API settings is on for this connection, but its API settings are not saved yet: save them under \"Override API settings for this relationship\", or turn the override off."
            }
            (Whose::Mine, false) => {
                "Your organisation has no saved Autotask API settings yet: save them in Settings first."
            }
            (Whose::Partner, _) => {
                "The partner organisation has not saved working Autotask API settings yet."
            }
        };
        return Err(ConfigurationError::Autotask {
            reason: reason.to_owned(),
        });
    };
    Ok(TenantCredentials {
        api_url: credentials.api_url,
        username: credentials.username,
        secret,
        integration_code: credentials.integration_code_override,
    })
}

/// `org`'s live choices for this relationship: recently loaded ones will do (unless `refresh`),
/// otherwise loaded from its tenant with its own credentials.
pub(crate) async fn choices(
    state: &AppState,
    relationship: RelationshipId,
    org: OrgId,
    whose: Whose,
    refresh: bool,
) -> Result<Arc<LiveChoices>, ConfigurationError> {
    let credentials = credentials(state, relationship, org, whose).await?;
    let freshness = if refresh {
        Freshness::Reload
    } else {
        Freshness::Cached
    };
    state
        .tenants()
        .choices(&credentials, freshness)
        .await
        .map_err(|error| {
            tracing::warn!(%relationship, %org, kind = error.kind_name(), "loading tenant choices failed");
            ConfigurationError::Autotask {
                reason: match error {
                    // Not about this tenant: the server cannot reach the platform at all.
                    TenantError::NotSetUp { message } => message,
                    error => format!(
                        "Could not load the choices from {}: {error}",
                        whose.tenant()
                    ),
                },
            }
        })
}
