//! Encryption at rest for platform secrets: the [`SecretKey`] (where it comes from, how it is kept
//! in memory) and the sealed-blob format written to `platform_credentials.secret_ciphertext`.
//!
//! Blob format, version 1: `key id (1 byte) || nonce (24 bytes) || XChaCha20-Poly1305 ciphertext
//! and tag`. The associated data binds a blob to its place ([`SecretPlace`]):
//! `platform_credentials/api_secret/<org id>` for an organisation's credentials and
//! `relationship_credentials/api_secret/<relationship id>/<org id>` for a relationship's override
//! credentials, `notification_settings/signing_secret/<org id>` for a webhook signing secret, so a ciphertext copied onto another row does not decrypt. XChaCha20's 192-bit nonce is large enough to draw at random for every
//! write without a counter.
//!
//! The key-id byte exists for key rotation. Key files and `FUSION_SECRET_KEY` hold no id, so every
//! key loaded today has id [`CURRENT_KEY_ID`], and a [`KeyRing`] tries each of its keys in turn
//! (the AEAD tag tells which one is right).
//!
//! Zero-downtime rotation: a store holds a [`KeyRing`], not a bare key. One opened with
//! [`KeyRing::watching_key_file`] (what `fusion serve` does) also watches the key file and the two
//! files `fusion keys rotate` writes beside it — `fusion.key.new` (the pending key, written before
//! any secret is re-sealed) and `fusion.key.before-rotate` (the key it moved away from). It looks
//! at them (three `stat` calls) before sealing a secret and whenever no known key opens a blob, and
//! learns any key it finds there; keys it has once known stay known for the life of the process.
//! So every secret opens in a running server before, during and after a rotation, and secrets it
//! saves after the rotation are sealed under the new key. The sealing key follows the key file
//! when the key came from the file, or — for a key from `FUSION_SECRET_KEY` — once
//! `fusion.key.before-rotate` shows a rotation away from that key.

use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

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

    /// Whether both hold the same key material.
    pub fn same_key_as(&self, other: &SecretKey) -> bool {
        self.id == other.id && self.bytes[..] == other.bytes[..]
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
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder
            .create(parent)
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
    /// The webhook signing secret in `notification_settings` of an organisation.
    WebhookSigning(OrgId),
    /// The callout key of a registration in `webhook_registrations`.
    WebhookCallout(fusion_engine::webhooks::WebhookId),
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
            SecretPlace::WebhookSigning(org_id) => {
                format!("notification_settings/signing_secret/{org_id}")
            }
            SecretPlace::WebhookCallout(id) => {
                format!("webhook_registrations/secret/{id}")
            }
        }
    }
}

/// Seals an API secret for the `secret_ciphertext` column of `place` under one key.
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

/// Opens a blob with the store's [`KeyRing`] (see [`KeyRing::open`]).
pub(crate) fn decrypt_api_secret(
    ring: &KeyRing,
    place: SecretPlace,
    blob: &[u8],
) -> StoreResult<SecretString> {
    ring.open(place, blob)
}

/// Opens a blob written by [`encrypt_api_secret`] for the same place with one key. A wrong key,
/// a blob moved from another row, or a damaged blob all fail with [`StoreError::Crypto`].
fn decrypt_with_key(key: &SecretKey, place: SecretPlace, blob: &[u8]) -> StoreResult<SecretString> {
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
    ring: &[SecretKey],
    place: SecretPlace,
    blob: &[u8],
) -> StoreResult<SecretString> {
    let mut first_error = None;
    for key in ring {
        match decrypt_with_key(key, place, blob) {
            Ok(secret) => return Ok(secret),
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    Err(first_error
        .unwrap_or_else(|| StoreError::Crypto("no secret key was configured".to_owned())))
}

/// The suffix of the pending key file `fusion keys rotate` writes first: `fusion.key.new`.
pub const PENDING_KEY_SUFFIX: &str = "new";
/// The suffix of the copy of the key a rotation moved away from: `fusion.key.before-rotate`.
pub const PREVIOUS_KEY_SUFFIX: &str = "before-rotate";

/// `path` with `.suffix` appended to its file name (`fusion.key` → `fusion.key.new`).
pub fn key_file_sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

/// The keys a store seals and opens API secrets with: one sealing key, and every key it has met
/// (the sealing key first), all of which open. Cheap to clone; clones share their keys.
///
/// A ring made from a bare [`SecretKey`] (`KeyRing::from(key)`) never changes. One made by
/// [`KeyRing::watching_key_file`] follows key rotation on disk (see the module documentation).
#[derive(Clone)]
pub struct KeyRing {
    inner: Arc<KeyRingInner>,
}

struct KeyRingInner {
    watched: Option<WatchedKeyFiles>,
    /// A std mutex: it is never held across an `.await`, only around a few `stat` calls, key-file
    /// reads and AEAD operations of microseconds.
    state: Mutex<RingState>,
}

/// The key file and the two files a rotation writes beside it.
struct WatchedKeyFiles {
    key_file: PathBuf,
    pending: PathBuf,
    previous: PathBuf,
}

struct RingState {
    sealing: SecretKey,
    /// Whether the sealing key is the key file's (else it came from `FUSION_SECRET_KEY` or the
    /// caller): a changed key file is then adopted for sealing without further evidence.
    sealing_from_key_file: bool,
    /// Every key met so far, the sealing key first; none is ever forgotten while running.
    known: Vec<SecretKey>,
    /// The key in `fusion.key.before-rotate` at the last look.
    previous_file_key: Option<SecretKey>,
    /// What each watched file looked like at the last successful look (`Some(None)`: absent);
    /// `None` means look again (never looked, or it could not be read).
    stamps: [Option<Option<FileStamp>>; 3],
}

/// Enough of a file's metadata to notice a rewrite or a rename over it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Watched {
    Pending = 0,
    Previous = 1,
    KeyFile = 2,
}

impl RingState {
    fn new(sealing: SecretKey, sealing_from_key_file: bool) -> Self {
        Self {
            known: vec![sealing.clone()],
            sealing,
            sealing_from_key_file,
            previous_file_key: None,
            stamps: [None, None, None],
        }
    }

    /// Adds `key` to the known keys; `true` if it was new.
    fn learn(&mut self, key: &SecretKey) -> bool {
        if self.known.iter().any(|known| known.same_key_as(key)) {
            return false;
        }
        self.known.push(key.clone());
        true
    }

    fn open(&self, place: SecretPlace, blob: &[u8]) -> StoreResult<SecretString> {
        decrypt_api_secret_with_ring(&self.known, place, blob)
    }
}

impl From<SecretKey> for KeyRing {
    fn from(key: SecretKey) -> Self {
        Self {
            inner: Arc::new(KeyRingInner {
                watched: None,
                state: Mutex::new(RingState::new(key, false)),
            }),
        }
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("KeyRing");
        if let Some(watched) = &self.inner.watched {
            debug.field("key_file", &watched.key_file);
        }
        debug.finish_non_exhaustive()
    }
}

impl KeyRing {
    /// The ring a server runs with: the key from `env_value` (`FUSION_SECRET_KEY`) or the key file
    /// (created if missing), exactly as [`SecretKey::from_env_or_file`], and then the watch on
    /// `key_file`, `<key_file>.new` and `<key_file>.before-rotate` that lets a running server
    /// follow `fusion keys rotate` without a restart. Keys found in those files at start open
    /// secrets too (so a secret a server sealed under the old key in the last moments of a
    /// rotation still opens after a restart, while the `.before-rotate` file is kept).
    pub fn watching_key_file(
        env_value: Option<&str>,
        key_file: &Path,
    ) -> Result<Self, SecretKeyError> {
        let sealing = SecretKey::from_env_or_file(env_value, key_file)?;
        let ring = Self {
            inner: Arc::new(KeyRingInner {
                watched: Some(WatchedKeyFiles {
                    key_file: key_file.to_owned(),
                    pending: key_file_sibling(key_file, PENDING_KEY_SUFFIX),
                    previous: key_file_sibling(key_file, PREVIOUS_KEY_SUFFIX),
                }),
                state: Mutex::new(RingState::new(sealing, env_value.is_none())),
            }),
        };
        // At start the configured key seals, whatever the files say; they only add keys to open with.
        ring.look_at_key_files(false);
        Ok(ring)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, RingState> {
        // A panic while holding the lock cannot leave the state half-changed in a way that
        // matters (keys are only added), so a poisoned lock is used as it is.
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Seals `secret` for `place` under the current sealing key, after a look at the key files.
    pub(crate) fn seal(&self, place: SecretPlace, secret: &SecretString) -> StoreResult<Vec<u8>> {
        self.look_at_key_files(true);
        let state = self.state();
        encrypt_api_secret(&state.sealing, place, secret)
    }

    /// Opens a blob with any known key; when none does, looks at the key files for a key it has
    /// not met yet (a rotation in progress or just finished) and tries again. Fails with the
    /// sealing key's error (which says what to do) when no key opens it.
    pub(crate) fn open(&self, place: SecretPlace, blob: &[u8]) -> StoreResult<SecretString> {
        let first_try = self.state().open(place, blob);
        match first_try {
            Ok(secret) => Ok(secret),
            Err(error) => {
                if self.look_at_key_files(true) {
                    self.state().open(place, blob)
                } else {
                    Err(error)
                }
            }
        }
    }

    /// Every key a rotation to `new_key` must be able to open blobs with: the known keys (after
    /// a look at the key files) and `new_key` itself (after an interrupted rotation some blobs
    /// are already sealed under it).
    pub(crate) fn rotation_ring(&self, new_key: &SecretKey) -> Vec<SecretKey> {
        self.look_at_key_files(true);
        let mut ring = self.state().known.clone();
        if !ring.iter().any(|key| key.same_key_as(new_key)) {
            ring.push(new_key.clone());
        }
        ring
    }

    /// Whether `key` is the key new secrets are sealed under now (after a look at the key files).
    pub fn seals_with(&self, key: &SecretKey) -> bool {
        self.look_at_key_files(true);
        self.state().sealing.same_key_as(key)
    }

    /// Looks at the watched files and learns the keys of those that changed since the last look;
    /// with `adopt`, a changed key file becomes the sealing key (see the module documentation).
    /// Returns whether a key was learnt. A file that cannot be read (half-written, damaged) is
    /// skipped with a warning and looked at again next time; the keys in use stay.
    fn look_at_key_files(&self, adopt: bool) -> bool {
        let Some(files) = &self.inner.watched else {
            return false;
        };
        let mut state = self.state();
        let mut learnt = false;
        let mut new_key_file_key = None;
        for (which, path) in [
            (Watched::Pending, &files.pending),
            (Watched::Previous, &files.previous),
            (Watched::KeyFile, &files.key_file),
        ] {
            let slot = which as usize;
            let stamp = file_stamp(path);
            if state.stamps[slot] == Some(stamp) {
                continue;
            }
            if stamp.is_none() {
                state.stamps[slot] = Some(None);
                if which == Watched::Previous {
                    state.previous_file_key = None;
                }
                continue;
            }
            match read_key_file_content(path) {
                Ok(key) => {
                    state.stamps[slot] = Some(stamp);
                    learnt |= state.learn(&key);
                    match which {
                        Watched::Previous => state.previous_file_key = Some(key),
                        Watched::KeyFile => new_key_file_key = Some(key),
                        Watched::Pending => {}
                    }
                }
                Err(error) => {
                    state.stamps[slot] = None;
                    tracing::warn!(%error, "a secret key file cannot be read; the keys in use stay in use");
                }
            }
        }
        if adopt
            && let Some(key) = new_key_file_key
            && !key.same_key_as(&state.sealing)
        {
            let rotated_away_from_ours = state
                .previous_file_key
                .as_ref()
                .is_some_and(|previous| previous.same_key_as(&state.sealing));
            if state.sealing_from_key_file || rotated_away_from_ours {
                state.sealing = key;
                state.sealing_from_key_file = true;
                tracing::info!(
                    path = %files.key_file.display(),
                    "the secret key file changed (key rotation); new secrets are sealed under the new key"
                );
            }
        }
        learnt
    }
}

fn file_stamp(path: &Path) -> Option<FileStamp> {
    let metadata = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&metadata);
    #[cfg(not(unix))]
    let inode = 0;
    Some(FileStamp {
        len: metadata.len(),
        modified: metadata.modified().ok(),
        inode,
    })
}

/// Reads a key file without the permission warning (already given at start).
fn read_key_file_content(path: &Path) -> Result<SecretKey, SecretKeyError> {
    let mut content = Zeroizing::new(String::new());
    std::fs::File::open(path)
        .and_then(|mut file| file.read_to_string(&mut content))
        .map_err(|source| SecretKeyError::KeyFile {
            action: "read",
            path: path.to_owned(),
            source,
        })?;
    SecretKey::decode(&content, &format!("the key file {}", path.display()))
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
        let opened = decrypt_with_key(&key, place, &blob).expect("decrypts");
        assert_eq!(opened.expose_secret(), "s3cr3t-value");

        let other_org = decrypt_with_key(&key, SecretPlace::Organisation(OrgId::new()), &blob);
        assert!(matches!(other_org, Err(StoreError::Crypto(_))));
        let other_key = decrypt_with_key(&SecretKey::generate(), place, &blob);
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
            let opened = decrypt_api_secret_with_ring(&[old.clone(), new.clone()], place, &blob)
                .expect("opens");
            assert_eq!(opened.expose_secret(), "rotating");
        }
        let stranger =
            encrypt_api_secret(&SecretKey::generate(), place, &secret).expect("encrypts");
        assert!(matches!(
            decrypt_api_secret_with_ring(&[old.clone(), new.clone()], place, &stranger),
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
        let opened = decrypt_with_key(&key, place, &blob).expect("decrypts");
        assert_eq!(opened.expose_secret(), "override");
        for elsewhere in [
            SecretPlace::Organisation(org),
            SecretPlace::Relationship(RelationshipId::new(), org),
            SecretPlace::Relationship(relationship, OrgId::new()),
        ] {
            assert!(matches!(
                decrypt_with_key(&key, elsewhere, &blob),
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
