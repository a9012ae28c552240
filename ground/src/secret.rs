//! Secrets and signing, in one home: random secrets (session ids, API keys,
//! screen tokens are 256-bit random strings, stored only as SHA-256 hex:
//! they are random, so a fast hash is enough; passwords use Argon2id
//! instead), constant-time comparison, HMAC-SHA256 signatures (HIS
//! requests, acknowledgement links), and the [`ServerKey`] that seals the
//! few secrets a server must read back (a HIS client's signing key, an
//! account's second factor): what the database keeps of them opens only
//! with a key that lives in a file outside it (ADR 0016).

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
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

/// The raw HMAC-SHA256 of `data` under a key of bytes (the Standard
/// Webhooks signature of the patient webhooks).
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    if let Ok(mut m) = <Hmac<Sha256> as KeyInit>::new_from_slice(key) {
        m.update(data);
        out.copy_from_slice(&m.finalize().into_bytes());
    }
    out
}

/// The bytes of a hex text (`None` when it is not hex).
pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    unhex(s)
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

/// What a sealed value starts with (the format's version).
const SEALED_PREFIX: &str = "s1.";

/// The server key: 32 random bytes, kept in a file outside the database
/// (mode 0600, named by `[security] server_key_file`). It seals values
/// with XChaCha20-Poly1305 under a random nonce, bound to their purpose
/// (the row they belong to), so a sealed value neither opens without the
/// key nor opens as another row's. Never printed: `Debug` shows its id.
pub struct ServerKey {
    key: [u8; 32],
    id: String,
}

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ServerKey({})", self.id)
    }
}

/// Why a server key or a sealed value could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("a server key file holds 32 bytes in Base64 (one line)")]
    BadKey,
    #[error("not a sealed value")]
    NotSealed,
    #[error("sealed under server key {0}, not under this one")]
    OtherKey(String),
    #[error("the sealed value does not open (altered, or not for this row)")]
    Broken,
}

impl ServerKey {
    /// A new random key.
    pub fn generate() -> ServerKey {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        ServerKey::from_bytes(key)
    }

    fn from_bytes(key: [u8; 32]) -> ServerKey {
        let id =
            sha256_hex(&[b"triage-server-key-id\n".as_slice(), &key].concat())[..8].to_string();
        ServerKey { key, id }
    }

    /// The key of a key file's text: Base64 (standard) of 32 bytes.
    pub fn from_text(text: &str) -> Result<ServerKey, SealError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| SealError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| SealError::BadKey)?;
        Ok(ServerKey::from_bytes(key))
    }

    /// The text of its key file.
    pub fn to_text(&self) -> String {
        format!(
            "{}\n",
            base64::engine::general_purpose::STANDARD.encode(self.key)
        )
    }

    /// Its public id (8 hex digits): what a sealed value names, so that a
    /// server with another key says so instead of failing obscurely.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn cipher(&self) -> Option<XChaCha20Poly1305> {
        XChaCha20Poly1305::new_from_slice(&self.key).ok()
    }

    /// Seals `plain` for `purpose` (e.g. `his-signing\n<key id>`):
    /// `s1.<key id>.<nonce>.<ciphertext>`, Base64url.
    pub fn seal(&self, purpose: &str, plain: &[u8]) -> String {
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self.cipher().and_then(|c| {
            c.encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plain,
                    aad: purpose.as_bytes(),
                },
            )
            .ok()
        });
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{SEALED_PREFIX}{}.{}.{}",
            self.id,
            b64.encode(nonce),
            b64.encode(sealed.unwrap_or_default())
        )
    }

    /// A secret for `purpose` derived from the key (hex HMAC-SHA256): a
    /// signing key the server needs and nothing stores, e.g. the one of
    /// alert acknowledgement links.
    pub fn derive(&self, purpose: &str) -> String {
        <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key).map_or_else(
            |_| String::new(),
            |mut m| {
                m.update(b"triage-derive\n");
                m.update(purpose.as_bytes());
                hex(&m.finalize().into_bytes())
            },
        )
    }

    /// Opens a value sealed for `purpose` under this key.
    pub fn open(&self, purpose: &str, sealed: &str) -> Result<Vec<u8>, SealError> {
        let rest = sealed
            .strip_prefix(SEALED_PREFIX)
            .ok_or(SealError::NotSealed)?;
        let mut parts = rest.split('.');
        let (Some(id), Some(nonce), Some(body), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(SealError::NotSealed);
        };
        if id != self.id {
            return Err(SealError::OtherKey(id.to_string()));
        }
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let nonce: [u8; 24] = b64
            .decode(nonce)
            .ok()
            .and_then(|n| n.try_into().ok())
            .ok_or(SealError::Broken)?;
        let body = b64.decode(body).map_err(|_| SealError::Broken)?;
        self.cipher()
            .ok_or(SealError::Broken)?
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &body,
                    aad: purpose.as_bytes(),
                },
            )
            .map_err(|_| SealError::Broken)
    }
}

/// Makes a file that holds secrets or patients' data readable and
/// writable by its owner only (mode 0600): the database, its backups.
pub fn owner_only(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

/// Whether a stored value is sealed, and under which key id.
pub fn sealed_under(value: &str) -> Option<&str> {
    value.strip_prefix(SEALED_PREFIX)?.split('.').next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_purpose() {
        let key = ServerKey::generate();
        let sealed = key.seal("totp\nA1", b"JBSWY3DPEHPK3PXP");
        assert!(!sealed.contains("JBSWY3DPEHPK3PXP"));
        assert_eq!(sealed_under(&sealed), Some(key.id()));
        assert_eq!(
            key.open("totp\nA1", &sealed).as_deref(),
            Ok(&b"JBSWY3DPEHPK3PXP"[..])
        );
        assert_eq!(key.open("totp\nA2", &sealed), Err(SealError::Broken));
        let other = ServerKey::generate();
        assert_eq!(
            other.open("totp\nA1", &sealed),
            Err(SealError::OtherKey(key.id().to_string()))
        );
        assert_eq!(
            key.open("totp\nA1", "JBSWY3DPEHPK3PXP"),
            Err(SealError::NotSealed)
        );
        let again = ServerKey::from_text(&key.to_text()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again.id(), key.id());
        assert_eq!(
            again.open("totp\nA1", &sealed).as_deref(),
            Ok(&b"JBSWY3DPEHPK3PXP"[..])
        );
        assert_eq!(ServerKey::from_text("short").err(), Some(SealError::BadKey));
        assert!(!format!("{key:?}").contains(&key.to_text().trim().to_string()));
        assert_eq!(key.derive("a"), again.derive("a"));
        assert_ne!(key.derive("a"), key.derive("b"));
        assert_ne!(key.derive("a"), other.derive("a"));
    }

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
