//! Random secrets and their digests: session ids, API keys and screen
//! tokens are 256-bit random strings, stored only as SHA-256 hex (they are
//! random, so a fast hash is enough; passwords use Argon2id instead), and
//! compared in constant time.

use base64::Engine as _;
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
