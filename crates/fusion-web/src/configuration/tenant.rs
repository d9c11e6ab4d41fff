//! Each side's Autotask tenant as the configuration screens reach it: which credentials a side
//! uses (the organisation's own, or the relationship's override when that side turned it on), and
//! the cache of its live choices (kept [`CHOICES_TTL`] by the app's clock, refreshed on request).
//!
//! Invariants: credentials are decrypted only to build a client and never leave this module; a
//! partner's choices are loaded with the PARTNER's credentials, server-side, and callers expose
//! only the picklists a mapping needs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use fusion_autotask::{AutotaskClient, AutotaskService, Credentials, TenantChoices, load_choices};
use fusion_domain::{OrgId, RelationshipId};

use crate::AppState;
use crate::configuration::error::ConfigurationError;

/// How long loaded choices are used before they are loaded again (by the injected clock).
pub(crate) const CHOICES_TTL: time::Duration = time::Duration::minutes(10);

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

/// Which credentials a cache entry was loaded with (a changed API user is a new entry).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum CacheKey {
    Organisation(OrgId, String),
    Relationship(RelationshipId, OrgId, String),
}

struct CachedChoices {
    choices: Arc<TenantChoices>,
    loaded_at: time::OffsetDateTime,
}

/// The Autotask service used for configuration screens and the choices cache.
pub(crate) struct TenantAccess {
    service: RwLock<Option<AutotaskService>>,
    cache: Mutex<HashMap<CacheKey, CachedChoices>>,
}

impl TenantAccess {
    /// Shares `service` (normally the connection tester's, so that choices and previews go
    /// through the same integration code, transport override, limiter and budget).
    pub fn new(service: Option<AutotaskService>) -> Self {
        Self {
            service: RwLock::new(service),
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn use_service(&self, service: AutotaskService) {
        *self
            .service
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(service);
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clear();
    }

    fn service(&self) -> Result<AutotaskService, ConfigurationError> {
        self.service
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
            .ok_or_else(|| ConfigurationError::Autotask {
                reason: "this server could not set up its Autotask client".to_owned(),
            })
    }

    fn cached(&self, key: &CacheKey, now: time::OffsetDateTime) -> Option<Arc<TenantChoices>> {
        let cache = self
            .cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        cache
            .get(key)
            .filter(|entry| now - entry.loaded_at < CHOICES_TTL)
            .map(|entry| entry.choices.clone())
    }

    fn remember(&self, key: CacheKey, choices: Arc<TenantChoices>, now: time::OffsetDateTime) {
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(
                key,
                CachedChoices {
                    choices,
                    loaded_at: now,
                },
            );
    }
}

/// A client for `org`'s side of the relationship, and the cache key of its choices.
async fn side_client(
    state: &AppState,
    relationship: RelationshipId,
    org: OrgId,
    whose: Whose,
) -> Result<(AutotaskClient, CacheKey), ConfigurationError> {
    let store = state.store();
    let override_on = store
        .integration_config(relationship, org)
        .await?
        .is_some_and(|side| side.override_api_settings);
    let (credentials, secret, key) = if override_on {
        (
            store.relationship_credentials(relationship, org).await?,
            store.relationship_secret(relationship, org).await?,
            CacheKey::Relationship(relationship, org, String::new()),
        )
    } else {
        (
            store.platform_credentials(org).await?,
            store.platform_secret(org).await?,
            CacheKey::Organisation(org, String::new()),
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
    let key = match key {
        CacheKey::Organisation(org, _) => CacheKey::Organisation(org, credentials.username.clone()),
        CacheKey::Relationship(relationship, org, _) => {
            CacheKey::Relationship(relationship, org, credentials.username.clone())
        }
    };
    let client = state.configuration().service()?.client(Credentials {
        username: credentials.username,
        secret,
        integration_code: credentials.integration_code_override,
        impersonation_resource_id: None,
    });
    Ok((client, key))
}

/// `org`'s live choices for this relationship: from the cache when fresh (unless `refresh`),
/// otherwise loaded from its tenant with its own credentials.
pub(crate) async fn choices(
    state: &AppState,
    relationship: RelationshipId,
    org: OrgId,
    whose: Whose,
    refresh: bool,
) -> Result<Arc<TenantChoices>, ConfigurationError> {
    let (client, key) = side_client(state, relationship, org, whose).await?;
    let now = state.clock().now();
    if !refresh && let Some(choices) = state.configuration().cached(&key, now) {
        return Ok(choices);
    }
    let loaded = load_choices(&client).await.map_err(|error| {
        tracing::warn!(%relationship, %org, kind = error.kind_name(), "loading Autotask choices failed");
        ConfigurationError::Autotask {
            reason: format!(
                "Could not load the choices from {}: {error}",
                whose.tenant()
            ),
        }
    })?;
    let loaded = Arc::new(loaded);
    state.configuration().remember(key, loaded.clone(), now);
    Ok(loaded)
}

/// A client for `org`'s side (for the ticket preview).
pub(crate) async fn client(
    state: &AppState,
    relationship: RelationshipId,
    org: OrgId,
    whose: Whose,
) -> Result<AutotaskClient, ConfigurationError> {
    side_client(state, relationship, org, whose)
        .await
        .map(|(client, _)| client)
}
