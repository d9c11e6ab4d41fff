//! Registration: each organisation in an automatic connection keeps one set of webhooks in its
//! tenant, checked, re-activated and removed as its connections come and go.

use std::collections::BTreeSet;

use fusion_domain::OrgId;
use time::{Duration, OffsetDateTime};

use crate::ports::{StoreError, WebhookRegistration};
use crate::service::SetupError;
use crate::tenant::TenantCredentials;

use super::{HookError, HookSpec, HookState, WebhookId, WebhookService, new_secret};

/// An organisation's webhooks as Settings and the Dashboard show them.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantWebhookStatus {
    /// "Active", "Inactive", "Not permitted", "Failed", "Off" (no public address) or "Not in use"
    /// (no automatic connection yet).
    pub state: String,
    pub healthy: bool,
    /// Why, and what to do.
    pub detail: Option<String>,
    pub last_event_at: Option<OffsetDateTime>,
    pub events_last_hour: u64,
    pub waiting: u64,
    /// Propagation delay of the last hour's changes (event time → written on the other side).
    pub p50_delay_s: Option<f64>,
    pub p95_delay_s: Option<f64>,
    /// The connections' polling interval while healthy, in minutes.
    pub safety_interval_minutes: i64,
}

impl WebhookService {
    /// One pass over every organisation: makes, checks, re-activates or removes webhooks as
    /// due, and refreshes which organisations are healthy. Called on every scheduler tick; it
    /// talks to a platform only for registrations that are due.
    pub async fn keep_registrations(&self) -> Result<(), SetupError> {
        let Some(_) = &self.settings.public_url else {
            self.health
                .set(BTreeSet::new(), self.settings.safety_interval);
            return Ok(());
        };
        let now = self.clock.now();
        let needed: BTreeSet<OrgId> = self
            .directory
            .automatic_relationships()
            .await?
            .into_iter()
            .flat_map(|scheduled| [scheduled.source_org, scheduled.target_org])
            .collect();
        let registrations = self
            .store
            .webhook_registrations()
            .await
            .map_err(unavailable)?;
        for registration in &registrations {
            if !needed.contains(&registration.org) {
                self.retire(registration).await;
            }
        }
        for org in &needed {
            let existing = registrations.iter().find(|r| r.org == *org);
            if let Err(error) = self.keep_one(*org, existing, now, false).await {
                tracing::warn!(%org, %error, "could not keep this organisation's webhooks");
            }
        }
        let healthy = self
            .store
            .webhook_registrations()
            .await
            .map_err(unavailable)?
            .into_iter()
            .filter(|registration| {
                registration.state == HookState::Active
                    && registration.unhealthy_since.is_none()
                    && needed.contains(&registration.org)
            })
            .map(|registration| registration.org)
            .collect();
        self.health.set(healthy, self.settings.safety_interval);
        Ok(())
    }

    /// Makes or checks `org`'s webhooks now, whatever the timers say (after its credentials
    /// were saved and tested), and says where they stand.
    pub async fn register_now(&self, org: OrgId) -> Result<TenantWebhookStatus, StoreError> {
        if self.settings.public_url.is_some() && self.org_in_automatic_connection(org).await {
            let existing = self
                .store
                .webhook_registrations()
                .await?
                .into_iter()
                .find(|registration| registration.org == org);
            self.keep_one(org, existing.as_ref(), self.clock.now(), true)
                .await?;
            let healthy = self
                .store
                .webhook_registrations()
                .await?
                .into_iter()
                .find(|registration| registration.org == org)
                .is_some_and(|r| r.state == HookState::Active && r.unhealthy_since.is_none());
            if healthy {
                let mut all: BTreeSet<OrgId> = BTreeSet::new();
                all.insert(org);
                for other in self.store.webhook_registrations().await? {
                    if self.health.is_healthy(other.org) {
                        all.insert(other.org);
                    }
                }
                self.health.set(all, self.settings.safety_interval);
            } else {
                self.health.forget(org);
            }
        }
        self.status(org).await
    }

    async fn org_in_automatic_connection(&self, org: OrgId) -> bool {
        self.directory
            .automatic_relationships()
            .await
            .map(|all| {
                all.iter()
                    .any(|s| s.source_org == org || s.target_org == org)
            })
            .unwrap_or(false)
    }

    /// Where `org`'s webhooks stand, for people.
    pub async fn status(&self, org: OrgId) -> Result<TenantWebhookStatus, StoreError> {
        let safety_interval_minutes = self.settings.safety_interval.whole_minutes();
        let off = |state: &str, detail: String| TenantWebhookStatus {
            state: state.to_owned(),
            healthy: false,
            detail: Some(detail),
            last_event_at: None,
            events_last_hour: 0,
            waiting: 0,
            p50_delay_s: None,
            p95_delay_s: None,
            safety_interval_minutes,
        };
        if self.settings.public_url.is_none() {
            return Ok(off("Off", self.settings.off_reason.clone()));
        }
        let registration = self
            .store
            .webhook_registrations()
            .await?
            .into_iter()
            .find(|registration| registration.org == org);
        let Some(registration) = registration else {
            return Ok(off(
                "Not in use",
                "webhooks are made once this organisation takes part in a connection on automatic \
                 sync; until then nothing is polled either"
                    .to_owned(),
            ));
        };
        let activity = self
            .store
            .webhook_activity(registration.id, self.clock.now() - Duration::hours(1))
            .await?;
        let mut delays = activity.delays_ms.clone();
        delays.sort_unstable();
        let healthy =
            registration.state == HookState::Active && registration.unhealthy_since.is_none();
        Ok(TenantWebhookStatus {
            state: registration.state.label().to_owned(),
            healthy,
            detail: registration.detail.clone(),
            last_event_at: activity.last_event_at,
            events_last_hour: activity.events,
            waiting: activity.waiting,
            p50_delay_s: percentile(&delays, 50),
            p95_delay_s: percentile(&delays, 95),
            safety_interval_minutes,
        })
    }

    /// The organisation is about to save credentials for `api_url` and `username`: when they
    /// reach another tenant (or API user) than its webhooks were made in, those webhooks are
    /// removed now — with the credentials still saved, the last moment they can be — and the
    /// registration forgotten; the next pass makes new ones in the new tenant.
    pub async fn before_credentials_change(&self, org: OrgId, api_url: &str, username: &str) {
        let Ok(registrations) = self.store.webhook_registrations().await else {
            return;
        };
        let Some(registration) = registrations.into_iter().find(|r| r.org == org) else {
            return;
        };
        let Ok(Some(current)) = self.store.organisation_tenant_credentials(org).await else {
            return;
        };
        let next = TenantCredentials {
            api_url: api_url.to_owned(),
            username: username.to_owned(),
            ..current.clone()
        };
        if self.platform.tenant_of(&next) == registration.tenant {
            return;
        }
        self.retire(&registration).await;
    }

    /// Removes the webhooks of an organisation no automatic connection needs any more.
    async fn retire(&self, registration: &WebhookRegistration) {
        let credentials = match self
            .store
            .organisation_tenant_credentials(registration.org)
            .await
        {
            Ok(credentials) => credentials,
            Err(error) => {
                tracing::warn!(org = %registration.org, %error, "could not read credentials to remove webhooks");
                return;
            }
        };
        if let Some(credentials) = credentials
            && self.platform.tenant_of(&credentials) == registration.tenant
            && !registration.platform_ids.is_empty()
            && let Err(error) = self
                .platform
                .remove_webhooks(&credentials, &self.settings.hook_name())
                .await
        {
            tracing::warn!(org = %registration.org, %error, "could not remove the webhooks of an organisation with no automatic connection; tried again later");
            return;
        }
        if let Err(error) = self
            .store
            .delete_webhook_registration(registration.id)
            .await
        {
            tracing::warn!(org = %registration.org, %error, "could not forget a removed webhook registration");
        }
        self.health.forget(registration.org);
    }

    async fn keep_one(
        &self,
        org: OrgId,
        existing: Option<&WebhookRegistration>,
        now: OffsetDateTime,
        force: bool,
    ) -> Result<(), StoreError> {
        let Some(credentials) = self.store.organisation_tenant_credentials(org).await? else {
            return Ok(());
        };
        let id = existing.map_or_else(WebhookId::new, |registration| registration.id);
        let Some(callout_url) = self.settings.callout_url(id) else {
            return Ok(());
        };
        let tenant = self.platform.tenant_of(&credentials);
        let moved = existing.is_some_and(|r| r.tenant != tenant || r.callout_url != callout_url);
        let due = match existing {
            _ if force => true,
            None => true,
            Some(_) if moved => true,
            Some(registration) => {
                let every = if registration.state == HookState::Active
                    && registration.unhealthy_since.is_none()
                {
                    self.settings.check_every
                } else {
                    self.settings.retry_every
                };
                registration
                    .checked_at
                    .is_none_or(|checked| now - checked >= every)
            }
        };
        if !due {
            return Ok(());
        }
        // A new key for new webhooks (or webhooks in another tenant); the same key otherwise.
        let fresh_key = existing.is_none() || moved;
        let secret = match (fresh_key, self.store.webhook_secret(id).await?) {
            (false, Some(secret)) => secret,
            _ => new_secret().map_err(StoreError::Backend)?,
        };
        let mut registration = existing.cloned().unwrap_or(WebhookRegistration {
            id,
            org,
            state: HookState::Failed,
            detail: None,
            callout_url: callout_url.clone(),
            tenant: tenant.clone(),
            platform_ids: Vec::new(),
            guids: Vec::new(),
            created_at: now,
            checked_at: None,
            unhealthy_since: Some(now),
        });
        let was_healthy =
            registration.state == HookState::Active && registration.unhealthy_since.is_none();
        let last_checked = registration.checked_at.unwrap_or(registration.created_at);
        registration.callout_url = callout_url.clone();
        registration.tenant = tenant;
        registration.checked_at = Some(now);
        let spec = HookSpec {
            name: self.settings.hook_name(),
            deactivation_url: format!("{callout_url}/deactivated"),
            callout_url,
            secret: secret.clone(),
        };
        let outcome = if was_healthy && !moved {
            self.check(&credentials, last_checked, &spec).await
        } else {
            self.platform
                .ensure_webhooks(&credentials, &spec)
                .await
                .map(|hooks| (hooks, 0))
        };
        match outcome {
            Ok((hooks, dropped)) => {
                registration.platform_ids = hooks.platform_ids;
                registration.guids = hooks.guids;
                if hooks.healthy && dropped == 0 {
                    registration.state = HookState::Active;
                    registration.detail = None;
                    registration.unhealthy_since = None;
                } else {
                    registration.state = HookState::Inactive;
                    registration.detail = Some(if dropped > 0 {
                        format!(
                            "Autotask could not deliver {dropped} change(s) to this server (see \
                             Autotask's webhook error log); the connections poll at their own \
                             interval until the webhooks deliver again"
                        )
                    } else {
                        "the webhooks are not active in Autotask yet; the connections poll at \
                         their own interval meanwhile"
                            .to_owned()
                    });
                    registration.unhealthy_since.get_or_insert(now);
                }
            }
            Err(HookError::NotPermitted(how)) => {
                registration.state = HookState::NotPermitted;
                registration.detail = Some(how);
                registration.unhealthy_since.get_or_insert(now);
            }
            Err(HookError::Failed(why)) => {
                registration.state = HookState::Failed;
                registration.detail = Some(format!(
                    "could not set up the webhooks ({why}); the connections poll at their own \
                     interval and Support Fusion tries again in a few minutes"
                ));
                registration.unhealthy_since.get_or_insert(now);
            }
        }
        if registration.state != HookState::Active && was_healthy {
            self.health.forget(org);
        }
        self.store
            .save_webhook_registration(&registration, Some(&secret))
            .await
    }

    /// A healthy registration's periodic check: still there and active, and no callouts
    /// dropped since the last check; re-made if missing or deactivated.
    async fn check(
        &self,
        credentials: &TenantCredentials,
        since: OffsetDateTime,
        spec: &HookSpec,
    ) -> Result<(super::PlatformHooks, u32), HookError> {
        let now = self
            .platform
            .webhooks_state(credentials, &spec.name)
            .await?;
        let hooks = match now {
            Some(hooks) if hooks.healthy => hooks,
            _ => self.platform.ensure_webhooks(credentials, spec).await?,
        };
        let dropped = self
            .platform
            .dropped_events_since(credentials, &hooks.guids, since)
            .await?;
        Ok((hooks, dropped))
    }
}

fn unavailable(error: StoreError) -> SetupError {
    SetupError::Unavailable(error.to_string())
}

/// The `p`th percentile of sorted delays in ms, in seconds.
fn percentile(sorted_ms: &[i64], p: usize) -> Option<f64> {
    if sorted_ms.is_empty() {
        return None;
    }
    let rank = (sorted_ms.len() * p).div_ceil(100).max(1) - 1;
    Some(sorted_ms[rank.min(sorted_ms.len() - 1)] as f64 / 1000.0)
}
