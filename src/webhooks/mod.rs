//! Patient notifications through the hospital's own channel (issue 28,
//! ADR 0020): signed webhooks, in the Standard Webhooks format, to the
//! hospital's gateway, which reaches the patient by its WeChat service
//! account or SMS platform. Three events: a patient came within N of a
//! room (`patient.ahead`), was called (`patient.called`), missed the call
//! (`patient.missed`). They wait in a durable outbox (`db/webhooks.rs`);
//! `sender.rs` sends and retries them, `ahead.rs` watches the queues for
//! N-ahead. The signing secret is derived from the server key and stored
//! nowhere (`triage server-key webhook-secret` prints it for the
//! receiver); after a change of generation each webhook carries the new
//! and the previous signature, as Standard Webhooks allows.

pub mod ahead;
pub mod sender;

use base64::Engine as _;
use triage_ground::secret::{self, ServerKey};

/// The prefix of a Standard Webhooks secret's text.
pub const SECRET_PREFIX: &str = "whsec_";

/// The signing secret's bytes of generation `version`.
pub fn secret_bytes(key: &ServerKey, version: u32) -> Vec<u8> {
    secret::from_hex(&key.derive(&format!("patient-webhook\n{version}"))).unwrap_or_default()
}

/// The secrets a webhook is signed with: generation `version`'s and the
/// one before it (none before the first).
pub fn secrets(key: &ServerKey, version: u32) -> Vec<Vec<u8>> {
    let mut all = vec![secret_bytes(key, version)];
    if version > 1 {
        all.push(secret_bytes(key, version - 1));
    }
    all
}

/// The secret as the receiver configures it: `whsec_` and Base64.
pub fn secret_text(bytes: &[u8]) -> String {
    format!(
        "{SECRET_PREFIX}{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// The `webhook-signature` header's value: `v1,` and the Base64 of the
/// HMAC-SHA256 of `{id}.{timestamp}.{body}`.
pub fn signature(secret: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    let mac = secret::hmac_sha256(secret, format!("{id}.{timestamp}.{body}").as_bytes());
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_standard_webhooks_one() {
        // The example of the Standard Webhooks specification (and of its
        // reference libraries' tests).
        let secret = base64::engine::general_purpose::STANDARD
            .decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .unwrap_or_default();
        let sig = signature(
            &secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn each_generation_has_its_own_secret() {
        let key = ServerKey::generate();
        let one = secret_bytes(&key, 1);
        assert_eq!(one.len(), 32);
        assert_ne!(one, secret_bytes(&key, 2));
        assert!(secret_text(&one).starts_with("whsec_"));
    }
}
