//! Verifying Autotask webhook callouts: `X-Hook-Signature: sha1=<base64(HMAC-SHA1(secretKey, body))>`
//! (API-NOTES §9.3). The exact bytes received are checked first; then the form Autotask is
//! reported to sign in some cases — the same JSON text with `&`, `<`, `>`, `'`, `"`, `` ` ``, `+` and
//! every non-ASCII character inside string values written as upper-case `\uXXXX`, as .NET's
//! `System.Text.Json` default encoder does. Comparison is constant-time (`Mac::verify_slice`).

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Which form of the body the signature matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedForm {
    /// The exact bytes received.
    Raw,
    /// The body with string contents escaped as .NET's encoder writes them.
    DotNetEscaped,
}

/// Checks `header` (the `X-Hook-Signature` value) against `body` under `secret_key`. `None` when
/// the header is missing, malformed or matches neither form.
pub fn verify(secret_key: &str, body: &[u8], header: Option<&str>) -> Option<SignedForm> {
    let encoded = header?.trim().strip_prefix("sha1=")?;
    let expected = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    if expected.len() != 20 {
        return None;
    }
    let matches = |message: &[u8]| {
        let Ok(mut mac) = <Hmac<Sha1> as Mac>::new_from_slice(secret_key.as_bytes()) else {
            return false;
        };
        mac.update(message);
        mac.verify_slice(&expected).is_ok()
    };
    if matches(body) {
        return Some(SignedForm::Raw);
    }
    let escaped = dotnet_escaped(body)?;
    (escaped != body && matches(&escaped)).then_some(SignedForm::DotNetEscaped)
}

/// The signature Autotask would send for `body` (for tests and tools).
pub fn sign(secret_key: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(secret_key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body);
    format!(
        "sha1={}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

/// `body` with the characters .NET's default JSON encoder escapes written as upper-case `\uXXXX`
/// inside string values (an escaped quote `\"` becomes `\u0022`); structure and other escapes are
/// kept byte for byte. `None` for a body that is not UTF-8.
pub fn dotnet_escaped(body: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(body).ok()?;
    let mut out = String::with_capacity(text.len() + 16);
    let mut in_string = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if !in_string {
            if c == '"' {
                in_string = true;
            }
            out.push(c);
            continue;
        }
        match c {
            '"' => {
                in_string = false;
                out.push('"');
            }
            '\\' => match chars.next() {
                Some('"') => out.push_str("\\u0022"),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            '&' | '<' | '>' | '\'' | '`' | '+' => push_escape(&mut out, c),
            c if !c.is_ascii() => push_escape(&mut out, c),
            c => out.push(c),
        }
    }
    Some(out.into_bytes())
}

fn push_escape(out: &mut String, c: char) {
    let mut units = [0_u16; 2];
    for unit in c.encode_utf16(&mut units) {
        out.push_str(&format!("\\u{unit:04X}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "f3Zs9Qm1x0Lk";

    #[test]
    fn the_exact_bytes_verify_and_anything_else_does_not() {
        let body =
            br#"{"Action":"Update","EntityType":"Ticket","Id":29000300,"SequenceNumber":42}"#;
        let header = sign(KEY, body);
        assert_eq!(verify(KEY, body, Some(&header)), Some(SignedForm::Raw));
        assert_eq!(verify("another key", body, Some(&header)), None);
        let mut changed = body.to_vec();
        changed[10] = b'X';
        assert_eq!(verify(KEY, &changed, Some(&header)), None);
        assert_eq!(verify(KEY, body, None), None);
        assert_eq!(verify(KEY, body, Some("sha1=not base64!")), None);
        assert_eq!(verify(KEY, body, Some("sha256=abc")), None);
        assert_eq!(verify(KEY, body, Some(&header.replace("sha1=", ""))), None);
    }

    #[test]
    fn a_body_signed_in_its_dotnet_escaped_form_verifies_as_such() {
        let body = r#"{"Fields":{"title":"Drucker & Scanner <3> \"neu\" + café 😀"},"Id":7}"#;
        let escaped = dotnet_escaped(body.as_bytes()).expect("UTF-8");
        assert_eq!(
            String::from_utf8(escaped.clone()).expect("UTF-8"),
            r#"{"Fields":{"title":"Drucker \u0026 Scanner \u003C3\u003E \u0022neu\u0022 \u002B caf\u00E9 \uD83D\uDE00"},"Id":7}"#
        );
        let header = sign(KEY, &escaped);
        assert_eq!(
            verify(KEY, body.as_bytes(), Some(&header)),
            Some(SignedForm::DotNetEscaped)
        );
        // A body with nothing to escape has one form only.
        let plain = br#"{"Id":7}"#;
        assert_eq!(dotnet_escaped(plain).expect("UTF-8"), plain.to_vec());
    }
}
