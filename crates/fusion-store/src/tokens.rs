//! Bearer tokens for sign-in sessions and API access: 32 random bytes shown once as base64url,
//! stored only as their SHA-256 digest. A stolen database therefore yields no usable token, and a
//! fast hash is enough because the tokens carry 256 bits of entropy (no guessing to slow down).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Random bytes in a token.
const TOKEN_BYTES: usize = 32;

/// The SHA-256 digest under which a token is stored and looked up.
pub(crate) type TokenDigest = [u8; 32];

/// A new token: the caller hands `token` to the client once and stores `digest`.
pub(crate) struct IssuedToken {
    pub(crate) token: SecretString,
    pub(crate) digest: TokenDigest,
}

pub(crate) fn issue_token() -> IssuedToken {
    let mut bytes = Zeroizing::new([0u8; TOKEN_BYTES]);
    rand::fill(&mut bytes[..]);
    let token = Zeroizing::new(URL_SAFE_NO_PAD.encode(&bytes[..]));
    let digest = token_digest(&token);
    IssuedToken {
        token: SecretString::from(token.as_str().to_owned()),
        digest,
    }
}

/// The digest of a presented token, as text exactly as it was issued.
pub(crate) fn token_digest(token: &str) -> TokenDigest {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn tokens_are_43_url_safe_characters_and_unique() {
        let first = issue_token();
        let second = issue_token();
        let text = first.token.expose_secret();
        assert_eq!(text.len(), 43);
        assert!(
            text.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_ne!(text, second.token.expose_secret());
        assert_eq!(token_digest(text), first.digest);
    }
}
