//! Password hashing for people who sign in: argon2id PHC strings, computed off the async runtime.
//!
//! Production uses the `argon2` crate's default parameters (argon2id, 19 MiB, 2 passes), which are
//! slow on purpose. [`PasswordHashing::Fast`] uses the smallest parameters argon2 allows so test
//! suites that create many people stay quick; a hash records its own parameters, so a database
//! written either way verifies under both settings.

use std::fmt;
use std::sync::{Arc, OnceLock};

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};

use crate::{StoreError, StoreResult};

/// How expensive password hashes are. Choose [`PasswordHashing::Standard`] for anything real.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PasswordHashing {
    /// The argon2 crate's defaults (argon2id v19, m = 19 MiB, t = 2, p = 1).
    #[default]
    Standard,
    /// The cheapest parameters argon2 accepts (m = 8 KiB, t = 1). For tests only: such hashes
    /// fall quickly to offline guessing.
    Fast,
}

/// Hashes and verifies passwords. Cheap to clone (the state is shared).
#[derive(Clone)]
pub(crate) struct PasswordHasher {
    inner: Arc<PasswordHasherInner>,
}

struct PasswordHasherInner {
    hashing: PasswordHashing,
    /// A hash of a fixed password, verified against when an email is unknown so that "no such
    /// person" takes as long as "wrong password" and does not reveal which emails exist.
    decoy_hash: OnceLock<String>,
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("hashing", &self.inner.hashing)
            .finish_non_exhaustive()
    }
}

impl PasswordHasher {
    pub(crate) fn new(hashing: PasswordHashing) -> Self {
        Self {
            inner: Arc::new(PasswordHasherInner {
                hashing,
                decoy_hash: OnceLock::new(),
            }),
        }
    }

    /// A PHC string (`$argon2id$v=19$...`) with a fresh random salt.
    pub(crate) async fn hash(&self, password: &SecretString) -> StoreResult<String> {
        let password = password.clone();
        let hashing = self.inner.hashing;
        tokio::task::spawn_blocking(move || hash_blocking(hashing, password.expose_secret()))
            .await
            .map_err(|error| {
                StoreError::Backend(format!("password hashing task failed: {error}"))
            })?
    }

    /// Whether `password` matches `stored_hash`; with `None` (unknown person) it spends the same
    /// effort on a decoy and answers `false`.
    pub(crate) async fn verify(
        &self,
        stored_hash: Option<String>,
        password: &SecretString,
    ) -> StoreResult<bool> {
        let password = password.clone();
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let known_person = stored_hash.is_some();
            let hash = match stored_hash {
                Some(hash) => hash,
                None => inner.decoy_hash()?.to_owned(),
            };
            let matches = verify_blocking(&hash, password.expose_secret())?;
            Ok(known_person && matches)
        })
        .await
        .map_err(|error| {
            StoreError::Backend(format!("password verification task failed: {error}"))
        })?
    }
}

impl PasswordHasherInner {
    fn decoy_hash(&self) -> StoreResult<&str> {
        if let Some(hash) = self.decoy_hash.get() {
            return Ok(hash);
        }
        let hash = hash_blocking(self.hashing, "decoy password for unknown sign-in names")?;
        Ok(self.decoy_hash.get_or_init(|| hash))
    }
}

fn argon2_for(hashing: PasswordHashing) -> StoreResult<Argon2<'static>> {
    let params = match hashing {
        PasswordHashing::Standard => Params::default(),
        PasswordHashing::Fast => Params::new(
            Params::MIN_M_COST,
            Params::MIN_T_COST,
            Params::MIN_P_COST,
            None,
        )
        .map_err(|error| StoreError::Backend(format!("argon2 parameters rejected: {error}")))?,
    };
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hash_blocking(hashing: PasswordHashing, password: &str) -> StoreResult<String> {
    let hash = argon2_for(hashing)?
        .hash_password(password.as_bytes())
        .map_err(|error| StoreError::Backend(format!("password hashing failed: {error}")))?;
    Ok(hash.to_string())
}

fn verify_blocking(stored_hash: &str, password: &str) -> StoreResult<bool> {
    // The parameters come from the PHC string, not from this Argon2 value.
    match Argon2::default().verify_password(password.as_bytes(), stored_hash) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
        Err(error) => Err(StoreError::Backend(format!(
            "a stored password hash is unreadable: {error}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(text: &str) -> SecretString {
        SecretString::from(text.to_owned())
    }

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify_only_the_right_password() {
        let hasher = PasswordHasher::new(PasswordHashing::Fast);
        let hash = hasher.hash(&secret("correct horse")).await.expect("hashes");
        assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
        assert!(!hash.contains("correct horse"));
        assert!(
            hasher
                .verify(Some(hash.clone()), &secret("correct horse"))
                .await
                .expect("verifies")
        );
        assert!(
            !hasher
                .verify(Some(hash), &secret("Correct horse"))
                .await
                .expect("verifies")
        );
    }

    #[tokio::test]
    async fn unknown_people_never_verify() {
        let hasher = PasswordHasher::new(PasswordHashing::Fast);
        let decoy_password = secret("decoy password for unknown sign-in names");
        assert!(
            !hasher
                .verify(None, &decoy_password)
                .await
                .expect("verifies")
        );
    }

    #[test]
    fn standard_hashing_uses_the_argon2_crate_defaults() {
        let hash = hash_blocking(PasswordHashing::Standard, "pw").expect("hashes");
        assert!(hash.contains("m=19456,t=2,p=1"), "{hash}");
    }
}
