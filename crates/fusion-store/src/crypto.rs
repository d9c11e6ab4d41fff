//! Encryption at rest for platform secrets: the [`SecretKey`] (where it comes from, how it is kept
//! in memory) and the sealed-blob format written to `platform_credentials.secret_ciphertext`.
//!
//! Blob format, version 1: `key id (1 byte) || nonce (24 bytes) || XChaCha20-Poly1305 ciphertext
//! and tag`. The associated data binds a blob to its place ([`SecretPlace`]):
//! `platform_credentials/api_secret/<org id>` for an organisation's credentials and
//! `relationship_credentials/api_secret/<relationship id>/<org id>` for a relationship's override
//! credentials, so a ciphertext copied onto another row does not decrypt. XChaCha20's 192-bit nonce is large enough to draw at random for every
//! write without a counter.
//!
//! The key-id byte exists for key rotation: during `fusion keys rotate` the store holds a key ring
//! (the configured key and the new one, see [`decrypt_api_secret_with_ring`]); a blob is opened by
//! the ring's keys whose id matches its key-id byte (the AEAD tag tells which one is right) and
//! sealed again under the new key. Key files and `FUSION_SECRET_KEY` hold no id, so every key
//! loaded today has id [`CURRENT_KEY_ID`] and the ring tries each key in turn.

use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use fusion_domain::{OrgId, RelationshipId};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::{StoreError, StoreResult};

/// Length of a [`SecretKey`] in bytes (XChaCha20-Poly1305 uses 256-bit keys).
pub const SECRET_KEY_LEN: usize = 32;

/// The id written into every blob sealed with today's single key.
pub const CURRENT_KEY_ID: u8 = 1;

const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// What the operator reads when the configured key cannot open a stored secret.
const KEY_MISMATCH: &str = "the configured secret key does not match the key the API secret was saved with \
     (FUSION_SECRET_KEY or the key file was changed or lost); restore the original key, or enter the \
     API secret again in Settings to store it under the current key";

/// The key that encrypts platform secrets at rest. 32 bytes, wiped from memory on drop, and
/// printed as `SecretKey(<redacted>)` by `Debug`.
#[derive(Clone)]
pub struct SecretKey {
    id: u8,
    bytes: Zeroizing<[u8; SECRET_KEY_LEN]>,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// Why a secret key could not be loaded or created. Messages name where the key came from and what
/// to do; they never contain key material.
#[derive(Debug, thiserror::Error)]
pub enum SecretKeyError {
    #[error(
        "{origin} is not valid base64; it must hold a base64-encoded 32-byte key (generate one with `openssl rand -base64 32`)"
    )]
    NotBase64 { origin: String },
    #[error(
        "{origin} decodes to {length} bytes, but a secret key is exactly 32 bytes (generate one with `openssl rand -base64 32`)"
    )]
    WrongLength { origin: String, length: usize },
    #[error(
        "{origin} is set but empty; set it to a base64-encoded 32-byte key or unset it to use the key file"
    )]
    Empty { origin: String },
    #[error("cannot {action} the secret key file {path}: {source}")]
    KeyFile {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl SecretKey {
    /// A fresh random key (operating-system seeded CSPRNG).
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; SECRET_KEY_LEN]);
        rand::fill(&mut bytes[..]);
        Self {
            id: CURRENT_KEY_ID,
            bytes,
        }
    }

    /// Parses a base64 key (standard or URL-safe alphabet, padding optional, surrounding
    /// whitespace ignored) that decodes to exactly 32 bytes.
    pub fn from_base64(encoded: &str) -> Result<Self, SecretKeyError> {
        Self::decode(encoded, "the secret key")
    }

    /// The key as standard base64 with padding: the format [`SecretKey::from_base64`], the
    /// `FUSION_SECRET_KEY` variable and the key file use. For `fusion` commands that print a new
    /// key on purpose; never log it.
    pub fn to_base64(&self) -> SecretString {
        SecretString::from(STANDARD.encode(&self.bytes[..]))
    }

    /// The key a server runs with: `env_value` (the content of `FUSION_SECRET_KEY`) if given, else
    /// the content of `key_file`, else a new random key written to `key_file` with mode 0600 (the
    /// file is created exclusively, so two processes starting at once end up with the same key).
    ///
    /// An existing key file is never overwritten, even when it is unreadable or malformed: that
    /// key may be the only way to decrypt the stored secrets.
    pub fn from_env_or_file(
        env_value: Option<&str>,
        key_file: &Path,
    ) -> Result<Self, SecretKeyError> {
        if let Some(value) = env_value {
            return Self::decode(value, "FUSION_SECRET_KEY");
        }
        match read_key_file(key_file) {
            Ok(key) => Ok(key),
            Err(SecretKeyError::KeyFile { source, .. })
                if source.kind() == io::ErrorKind::NotFound =>
            {
                create_key_file(key_file)
            }
            Err(error) => Err(error),
        }
    }

    /// Which key this is, as written into the blobs it seals.
    pub fn key_id(&self) -> u8 {
        self.id
    }

    fn decode(encoded: &str, origin: &str) -> Result<Self, SecretKeyError> {
        let trimmed = encoded.trim();
        if trimmed.is_empty() {
            return Err(SecretKeyError::Empty {
                origin: origin.to_owned(),
            });
        }
        let decoded = [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(trimmed).ok())
            .map(Zeroizing::new)
            .ok_or_else(|| SecretKeyError::NotBase64 {
                origin: origin.to_owned(),
            })?;
        if decoded.len() != SECRET_KEY_LEN {
            return Err(SecretKeyError::WrongLength {
                origin: origin.to_owned(),
                length: decoded.len(),
            });
        }
        let mut bytes = Zeroizing::new([0u8; SECRET_KEY_LEN]);
        bytes.copy_from_slice(&decoded);
        Ok(Self {
            id: CURRENT_KEY_ID,
            bytes,
        })
    }

    fn cipher(&self) -> StoreResult<XChaCha20Poly1305> {
        XChaCha20Poly1305::new_from_slice(&self.bytes[..])
            .map_err(|_| StoreError::Crypto("the secret key has the wrong length".to_owned()))
    }
}

fn read_key_file(path: &Path) -> Result<SecretKey, SecretKeyError> {
    let key_file_error = |action, source| SecretKeyError::KeyFile {
        action,
        path: path.to_owned(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(|source| key_file_error("open", source))?;
    warn_if_readable_by_others(&file, path);
    let mut content = Zeroizing::new(String::new());
    file.read_to_string(&mut content)
        .map_err(|source| key_file_error("read", source))?;
    SecretKey::decode(&content, &format!("the key file {}", path.display()))
}

#[cfg(unix)]
fn warn_if_readable_by_others(file: &std::fs::File, path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(metadata) = file.metadata()
        && metadata.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            path = %path.display(),
            "the secret key file is accessible to other users; restrict it with `chmod 600`"
        );
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_file: &std::fs::File, _path: &Path) {}

fn create_key_file(path: &Path) -> Result<SecretKey, SecretKeyError> {
    let key_file_error = |action, source| SecretKeyError::KeyFile {
        action,
        path: path.to_owned(),
        source,
    };
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent)
            .map_err(|source| key_file_error("create the folder of", source))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = match options.open(path) {
        Ok(file) => file,
        // Another process created it between our read and our create: use its key.
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => return read_key_file(path),
        Err(source) => return Err(key_file_error("create", source)),
    };
    let key = SecretKey::generate();
    let mut encoded = Zeroizing::new(STANDARD.encode(&key.bytes[..]));
    encoded.push('\n');
    file.write_all(encoded.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|source| key_file_error("write", source))?;
    tracing::info!(path = %path.display(), "created a new secret key file; back it up with the database");
    Ok(key)
}

/// Where a sealed API secret lives; its associated data ties the blob to that row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SecretPlace {
    /// `platform_credentials` of an organisation.
    Organisation(OrgId),
    /// `relationship_credentials` of one organisation in one relationship.
    Relationship(RelationshipId, OrgId),
}

impl SecretPlace {
    fn associated_data(self) -> String {
        match self {
            SecretPlace::Organisation(org_id) => {
                format!("platform_credentials/api_secret/{org_id}")
            }
            SecretPlace::Relationship(relationship_id, org_id) => {
                format!("relationship_credentials/api_secret/{relationship_id}/{org_id}")
            }
        }
    }
}

/// Seals an API secret for the `secret_ciphertext` column of `place`.
pub(crate) fn encrypt_api_secret(
    key: &SecretKey,
    place: SecretPlace,
    secret: &SecretString,
) -> StoreResult<Vec<u8>> {
    let mut nonce_bytes = [0u8; NONCE_LEN];
    rand::fill(&mut nonce_bytes[..]);
    let nonce = XNonce::from(nonce_bytes);
    let associated_data = place.associated_data();
    let ciphertext = key
        .cipher()?
        .encrypt(
            &nonce,
            Payload {
                msg: secret.expose_secret().as_bytes(),
                aad: associated_data.as_bytes(),
            },
        )
        .map_err(|_| StoreError::Crypto("encrypting the API secret failed".to_owned()))?;
    let mut blob = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
    blob.push(key.id);
    blob.extend_from_slice(&nonce_bytes);
    blob.extend_from_slice(&ciphertext);
    Ok(blob)
}

/// Opens a blob written by [`encrypt_api_secret`] for the same place. A wrong key, a blob moved
/// from another row, or a damaged blob all fail with [`StoreError::Crypto`].
pub(crate) fn decrypt_api_secret(
    key: &SecretKey,
    place: SecretPlace,
    blob: &[u8],
) -> StoreResult<SecretString> {
    let Some((&key_id, rest)) = blob.split_first() else {
        return Err(StoreError::Crypto(
            "the stored API secret is empty".to_owned(),
        ));
    };
    if key_id != key.id {
        return Err(StoreError::Crypto(format!(
            "the API secret was saved with key id {key_id}, but the configured key has id {}; {KEY_MISMATCH}",
            key.id
        )));
    }
    if rest.len() < NONCE_LEN + TAG_LEN {
        return Err(StoreError::Crypto(
            "the stored API secret is truncated; enter the API secret again in Settings".to_owned(),
        ));
    }
    let (nonce_bytes, ciphertext) = rest.split_at(NONCE_LEN);
    let mut nonce = XNonce::default();
    nonce.copy_from_slice(nonce_bytes);
    let associated_data = place.associated_data();
    let plaintext = key
        .cipher()?
        .decrypt(
            &nonce,
            Payload {
                msg: ciphertext,
                aad: associated_data.as_bytes(),
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| StoreError::Crypto(KEY_MISMATCH.to_owned()))?;
    let text = std::str::from_utf8(&plaintext)
        .map_err(|_| StoreError::Crypto("the stored API secret is not valid text".to_owned()))?;
    Ok(SecretString::from(text.to_owned()))
}

/// Opens a blob with the first key of `ring` that can: keys whose id matches the blob's key-id
/// byte are tried in order. Used while rotating, when a blob may be sealed under the old key or
/// (after an interrupted rotation) already under the new one. Fails like [`decrypt_api_secret`]
/// with the first key when none opens it.
pub(crate) fn decrypt_api_secret_with_ring(
    ring: &[&SecretKey],
    place: SecretPlace,
    blob: &[u8],
) -> StoreResult<SecretString> {
    let mut first_error = None;
    for key in ring {
        match decrypt_api_secret(key, place, blob) {
            Ok(secret) => return Ok(secret),
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    Err(first_error
        .unwrap_or_else(|| StoreError::Crypto("no secret key was configured".to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secret_opens_with_the_same_key_and_organisation_only() {
        let key = SecretKey::generate();
        let org = OrgId::new();
        let place = SecretPlace::Organisation(org);
        let secret = SecretString::from("s3cr3t-value".to_owned());
        let blob = encrypt_api_secret(&key, place, &secret).expect("encrypts");
        assert_eq!(blob[0], CURRENT_KEY_ID);
        let opened = decrypt_api_secret(&key, place, &blob).expect("decrypts");
        assert_eq!(opened.expose_secret(), "s3cr3t-value");

        let other_org = decrypt_api_secret(&key, SecretPlace::Organisation(OrgId::new()), &blob);
        assert!(matches!(other_org, Err(StoreError::Crypto(_))));
        let other_key = decrypt_api_secret(&SecretKey::generate(), place, &blob);
        let message = other_key.expect_err("wrong key must fail").to_string();
        assert!(message.contains("FUSION_SECRET_KEY"), "{message}");
    }

    #[test]
    fn a_key_ring_opens_blobs_sealed_under_any_of_its_keys() {
        let (old, new) = (SecretKey::generate(), SecretKey::generate());
        let place = SecretPlace::Organisation(OrgId::new());
        let secret = SecretString::from("rotating".to_owned());
        for sealing_key in [&old, &new] {
            let blob = encrypt_api_secret(sealing_key, place, &secret).expect("encrypts");
            let opened = decrypt_api_secret_with_ring(&[&old, &new], place, &blob).expect("opens");
            assert_eq!(opened.expose_secret(), "rotating");
        }
        let stranger =
            encrypt_api_secret(&SecretKey::generate(), place, &secret).expect("encrypts");
        assert!(matches!(
            decrypt_api_secret_with_ring(&[&old, &new], place, &stranger),
            Err(StoreError::Crypto(_))
        ));
    }

    #[test]
    fn two_encryptions_of_one_secret_differ() {
        let key = SecretKey::generate();
        let place = SecretPlace::Organisation(OrgId::new());
        let secret = SecretString::from("same".to_owned());
        let first = encrypt_api_secret(&key, place, &secret).expect("encrypts");
        let second = encrypt_api_secret(&key, place, &secret).expect("encrypts");
        assert_ne!(first, second);
    }

    #[test]
    fn a_relationship_secret_opens_only_in_its_relationship_and_organisation() {
        let key = SecretKey::generate();
        let (relationship, org) = (RelationshipId::new(), OrgId::new());
        let place = SecretPlace::Relationship(relationship, org);
        let secret = SecretString::from("override".to_owned());
        let blob = encrypt_api_secret(&key, place, &secret).expect("encrypts");
        let opened = decrypt_api_secret(&key, place, &blob).expect("decrypts");
        assert_eq!(opened.expose_secret(), "override");
        for elsewhere in [
            SecretPlace::Organisation(org),
            SecretPlace::Relationship(RelationshipId::new(), org),
            SecretPlace::Relationship(relationship, OrgId::new()),
        ] {
            assert!(matches!(
                decrypt_api_secret(&key, elsewhere, &blob),
                Err(StoreError::Crypto(_))
            ));
        }
    }

    #[test]
    fn debug_output_never_shows_key_material() {
        let key = SecretKey::generate();
        let encoded = key.to_base64();
        let debug = format!("{key:?}");
        assert_eq!(debug, "SecretKey(<redacted>)");
        assert!(!debug.contains(encoded.expose_secret()));
    }

    #[test]
    fn base64_keys_round_trip_in_every_common_spelling() {
        let key = SecretKey::generate();
        let standard = key.to_base64();
        let bytes = STANDARD
            .decode(standard.expose_secret())
            .expect("valid base64");
        for spelling in [
            STANDARD.encode(&bytes),
            STANDARD_NO_PAD.encode(&bytes),
            URL_SAFE.encode(&bytes),
            format!("  {}\n", URL_SAFE_NO_PAD.encode(&bytes)),
        ] {
            let parsed = SecretKey::from_base64(&spelling).expect("parses");
            assert_eq!(parsed.to_base64().expose_secret(), standard.expose_secret());
        }
    }

    #[test]
    fn short_or_garbled_keys_are_refused_with_advice() {
        let short =
            SecretKey::from_base64(&STANDARD.encode([7u8; 16])).expect_err("16 bytes is too short");
        assert!(short.to_string().contains("16 bytes"), "{short}");
        let garbled = SecretKey::from_base64("not base64 at all!").expect_err("not base64");
        assert!(
            garbled.to_string().contains("openssl rand -base64 32"),
            "{garbled}"
        );
        let empty = SecretKey::from_env_or_file(Some(" "), Path::new("/nonexistent/never-created"))
            .expect_err("empty env value");
        assert!(empty.to_string().contains("FUSION_SECRET_KEY"), "{empty}");
    }
}
