//! Platform credentials as stored, and what a save from Settings changes — decided once here for
//! both backends, which only read the current row, write the planned one and its audit entries.
//!
//! Rules:
//! - The secret is write-only: `secret: None` (or an empty secret) keeps the stored one.
//! - A secret equal to the stored one is not a change (no audit entry, `secret_changed_at` stays).
//!   A stored secret that no longer decrypts (the key was changed) is replaced: re-entering the
//!   secret is how an operator recovers from a lost key.
//! - One audit entry per field that actually changed, named by [`CredentialField`]; values are
//!   never recorded.

use fusion_domain::{OrgId, PersonId, PlatformKind};
use fusion_engine::ports::{CredentialsAuditEntry, CredentialsUpdate, PlatformCredentials};
use secrecy::ExposeSecret;
use time::OffsetDateTime;

use crate::crypto::{KeyRing, SecretPlace, decrypt_api_secret};
use crate::{StoreError, StoreResult};

/// The audited fields of `platform_credentials`, by the names the audit log shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CredentialField {
    Platform,
    ApiUrl,
    Username,
    ApiSecret,
    IntegrationCodeOverride,
}

impl CredentialField {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CredentialField::Platform => "platform",
            CredentialField::ApiUrl => "api_url",
            CredentialField::Username => "username",
            CredentialField::ApiSecret => "api_secret",
            CredentialField::IntegrationCodeOverride => "integration_code_override",
        }
    }
}

/// One `platform_credentials` row without its organisation id.
#[derive(Debug, Clone)]
pub(crate) struct StoredCredentials {
    pub(crate) platform: String,
    pub(crate) api_url: String,
    pub(crate) username: String,
    pub(crate) secret_ciphertext: Option<Vec<u8>>,
    pub(crate) secret_changed_at: Option<OffsetDateTime>,
    pub(crate) integration_code_override: Option<String>,
    pub(crate) updated_at: OffsetDateTime,
}

impl StoredCredentials {
    /// What anyone may read: the secret only as "set / last changed".
    pub(crate) fn to_public(&self, org_id: OrgId) -> StoreResult<PlatformCredentials> {
        Ok(PlatformCredentials {
            org_id,
            platform: parse_platform(&self.platform)?,
            api_url: self.api_url.clone(),
            username: self.username.clone(),
            secret_set: self.secret_ciphertext.is_some(),
            secret_changed_at: self.secret_changed_at,
            integration_code_override: self.integration_code_override.clone(),
            updated_at: self.updated_at,
        })
    }
}

pub(crate) fn parse_platform(name: &str) -> StoreResult<PlatformKind> {
    PlatformKind::parse(name)
        .ok_or_else(|| StoreError::Backend(format!("unknown platform {name:?} in the database")))
}

/// The row to write and the audit entries to append for one save.
#[derive(Debug)]
pub(crate) struct CredentialsSave {
    pub(crate) row: StoredCredentials,
    pub(crate) audit: Vec<CredentialsAuditEntry>,
}

/// Decides what `update` changes relative to `existing` (the row as it is, `None` before the
/// first save). Encrypts a new secret with `key`'s sealing key for `place` (organisation credentials or a
/// relationship's override credentials of `org_id`).
pub(crate) fn plan_credentials_save(
    key: &KeyRing,
    place: SecretPlace,
    org_id: OrgId,
    changed_by: Option<PersonId>,
    existing: Option<StoredCredentials>,
    update: CredentialsUpdate,
    now: OffsetDateTime,
) -> StoreResult<CredentialsSave> {
    let mut changed = Vec::new();
    let platform = update.platform.as_str().to_owned();

    let (
        old_platform,
        old_api_url,
        old_username,
        old_ciphertext,
        old_secret_changed_at,
        old_override,
    ) = match existing {
        Some(row) => (
            Some(row.platform),
            Some(row.api_url),
            Some(row.username),
            row.secret_ciphertext,
            row.secret_changed_at,
            row.integration_code_override,
        ),
        None => (None, None, None, None, None, None),
    };

    if old_platform.as_deref() != Some(platform.as_str()) {
        changed.push(CredentialField::Platform);
    }
    if old_api_url.as_deref() != Some(update.api_url.as_str()) {
        changed.push(CredentialField::ApiUrl);
    }
    if old_username.as_deref() != Some(update.username.as_str()) {
        changed.push(CredentialField::Username);
    }

    let new_secret = update
        .secret
        .filter(|secret| !secret.expose_secret().is_empty());
    let (secret_ciphertext, secret_changed_at) = match new_secret {
        None => (old_ciphertext, old_secret_changed_at),
        Some(secret) => {
            let unchanged = old_ciphertext
                .as_deref()
                .and_then(|blob| decrypt_api_secret(key, place, blob).ok())
                .is_some_and(|old| old.expose_secret() == secret.expose_secret());
            if unchanged {
                (old_ciphertext, old_secret_changed_at)
            } else {
                changed.push(CredentialField::ApiSecret);
                (Some(key.seal(place, &secret)?), Some(now))
            }
        }
    };

    let integration_code_override = match update.integration_code_override {
        None => old_override,
        Some(new_override) => {
            if new_override != old_override {
                changed.push(CredentialField::IntegrationCodeOverride);
            }
            new_override
        }
    };

    let audit = changed
        .into_iter()
        .map(|field| CredentialsAuditEntry {
            org_id,
            person_id: changed_by,
            field: field.as_str().to_owned(),
            changed_at: now,
        })
        .collect();

    Ok(CredentialsSave {
        row: StoredCredentials {
            platform,
            api_url: update.api_url,
            username: update.username,
            secret_ciphertext,
            secret_changed_at,
            integration_code_override,
            updated_at: now,
        },
        audit,
    })
}
