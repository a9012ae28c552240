//! HIS clients' credentials: the API key (`Authorization: Bearer
//! tk_<key id>_<secret>`) and the request signature a client may be
//! required to add. A signing client sends only its key id
//! (`Authorization: Bearer tk_<key id>`), so the secret never travels:
//!
//! ```text
//! X-Triage-Timestamp: <unix seconds>
//! X-Triage-Nonce:     <8-64 of A-Z a-z 0-9 - _, never used twice>
//! X-Triage-Signature: hex(HMAC-SHA256(key = hex(SHA-256(API key)),
//!     METHOD "\n" PATH?QUERY "\n" TIMESTAMP "\n" NONCE "\n"
//!     X-Acting-Staff (empty if none) "\n" hex(SHA-256(body))))
//! ```
//!
//! The signing key is the SHA-256 of the API key, which the client
//! computes from its key: a captured request shows neither. The server
//! keeps it sealed under the server key (`server_key`), never in the
//! clear, and keeps of the API key only its [`verifier`] (the SHA-256 of
//! the signing key), which signs nothing and from which no key follows:
//! a stolen database or backup authenticates no one (ADR 0016). A timestamp
//! more than [`MAX_SKEW`] seconds away from the server's clock, a nonce
//! seen before, or a signature that does not match (another key, a changed
//! body, path, method or acting staff member) is 401.

use triage_ground::secret;
/// The HMAC-SHA256 of the HIS protocol (the ground floor's).
pub use triage_ground::secret::{sign, verify};

/// The largest clock difference accepted (seconds).
pub const MAX_SKEW: i64 = 300;
pub const TIMESTAMP_HEADER: &str = "x-triage-timestamp";
pub const NONCE_HEADER: &str = "x-triage-nonce";
pub const SIGNATURE_HEADER: &str = "x-triage-signature";
/// The staff member a HIS workstation calls for.
pub const ACTING_HEADER: &str = "x-acting-staff";

/// The key id of an API key (`tk_<id>_<secret>`).
pub fn key_id(key: &str) -> Option<&str> {
    let mut parts = key.splitn(3, '_');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("tk"), Some(id), Some(rest)) if !id.is_empty() && !rest.is_empty() => Some(id),
        _ => None,
    }
}

/// The key id of a bare `tk_<id>` (a signing client's Authorization).
pub fn bare_key_id(token: &str) -> Option<&str> {
    let id = token.strip_prefix("tk_")?;
    (!id.is_empty() && !id.contains('_')).then_some(id)
}

/// The key a client signs with: the hex SHA-256 of its API key (what the
/// server stores).
pub fn signing_key(api_key: &str) -> String {
    secret::sha256_hex(api_key.as_bytes())
}

/// What the server keeps to recognise an API key sent whole: `v1:` and the
/// hex SHA-256 of its signing key. It is not the signing key, and neither the
/// key nor the signing key follows from it.
pub fn verifier(api_key: &str) -> String {
    verifier_of_signing_key(&signing_key(api_key))
}

/// What a verifier starts with (a digest kept before sealing does not).
const VERIFIER_TAG: &str = "v1:";

/// The verifier of the API key whose signing key this is.
pub fn verifier_of_signing_key(signing: &str) -> String {
    format!("{VERIFIER_TAG}{}", secret::sha256_hex(signing.as_bytes()))
}

/// Whether a stored `key_hash` is a verifier (not a digest kept before
/// sealing, which was the signing key itself).
pub fn is_verifier(stored: &str) -> bool {
    stored.starts_with(VERIFIER_TAG)
}

/// The text a request's signature covers.
pub fn string_to_sign(
    method: &str,
    path: &str,
    timestamp: &str,
    nonce: &str,
    acting: &str,
    body: &[u8],
) -> String {
    format!(
        "{method}\n{path}\n{timestamp}\n{nonce}\n{acting}\n{}",
        secret::sha256_hex(body)
    )
}

/// Whether a nonce has an acceptable shape.
pub fn nonce_ok(nonce: &str) -> bool {
    (8..=64).contains(&nonce.len())
        && nonce
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_with_its_key_and_text() {
        let text = string_to_sign(
            "PUT",
            "/api/v1/registrations/V1",
            "1700000000",
            "abcdefgh",
            "",
            b"{}",
        );
        let sig = sign("tk_a_b", &text);
        assert!(verify("tk_a_b", &text, &sig));
        assert!(!verify("tk_a_c", &text, &sig));
        assert!(!verify("tk_a_b", &text.replace("PUT", "GET"), &sig));
        assert!(!verify("tk_a_b", &text, "zz"));
        assert_eq!(key_id("tk_12ab_x_y"), Some("12ab"));
        assert_eq!(key_id("Bearer"), None);
        assert_eq!(bare_key_id("tk_12ab"), Some("12ab"));
        assert_eq!(bare_key_id("tk_12ab_secret"), None);
    }

    /// The worked example of docs/security.md (its Python gives the same).
    #[test]
    fn the_documented_example_signs_as_documented() {
        let key = format!("tk_0123456789ab_{}", "A".repeat(43));
        let signing = signing_key(&key);
        assert_eq!(
            signing,
            "c84cb7010ef19f90453047464cf836e083a552cd0f414de43438ebe912e0f701"
        );
        let text = string_to_sign(
            "PUT",
            "/api/v1/registrations/V1",
            "1700000000",
            "abcdefgh",
            "D1001",
            br#"{"visit_no":"V1"}"#,
        );
        assert_eq!(
            sign(&signing, &text),
            "80ad049ce629f74a995a7abff079190361eb85efb6d31a81e3fd0c9e785f0a70"
        );
    }
}
