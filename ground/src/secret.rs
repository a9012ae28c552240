//! Secrets and signing, in one home: random secrets (session ids, API keys,
//! screen tokens are 256-bit random strings, stored only as SHA-256 hex:
//! they are random, so a fast hash is enough; passwords use Argon2id
//! instead), constant-time comparison, and HMAC-SHA256 signatures (HIS
//! requests, acknowledgement links).

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A fresh random secret of `bytes` bytes, Base64url without padding.
pub fn random(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// Lower-case hex of the SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether two strings are equal, in time that depends only on their
/// lengths (a secret's digest is compared without telling how much of it
/// matched).
pub fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn mac(key: &str) -> Option<Hmac<Sha256>> {
    <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes()).ok()
}

/// The HMAC-SHA256 (hex) of `text` with `key`.
pub fn sign(key: &str, text: &str) -> String {
    mac(key).map_or_else(String::new, |mut m| {
        m.update(text.as_bytes());
        hex(&m.finalize().into_bytes())
    })
}

/// Whether `signature` (hex) is the HMAC-SHA256 of `text` with `key`,
/// compared in constant time.
pub fn verify(key: &str, text: &str, signature: &str) -> bool {
    let Some(bytes) = unhex(signature) else {
        return false;
    };
    mac(key).is_some_and(|mut m| {
        m.update(text.as_bytes());
        m.verify_slice(&bytes).is_ok()
    })
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || s.len() > 128 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_compare_exactly() {
        let a = random(32);
        assert_eq!(a.len(), 43);
        assert_ne!(a, random(32));
        assert!(same(&sha256_hex(a.as_bytes()), &sha256_hex(a.as_bytes())));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "abcd"));
    }
}
