//! Passwords: Argon2id hashes (the `argon2` crate, its default cost:
//! 19 MiB, 2 passes), the hospital's password policy, and a bound on how
//! many hashes run at once so that a flood of logins waits for the hashing
//! thread instead of taking the cores the calling path needs — with fair
//! admission: one hash per client address at a time, so a flood from some
//! addresses cannot fill the queue against a nurse at another.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use tokio::sync::Semaphore;

use crate::config::SecurityPolicy;
use triage_ground::error::{Error, ErrorCode};

/// The PHC string (`$argon2id$v=19$…`) of a password, with a fresh salt.
pub fn hash(password: &str) -> Result<String, Error> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|_| Error::new(ErrorCode::InternalError, "the password could not be hashed"))
}

/// Whether `password` matches the PHC string `phc`. A broken stored hash
/// never matches.
pub fn verify(password: &str, phc: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

/// A hash of nothing anyone knows: verified against when an account does
/// not exist, so that a login takes as long for an unknown account as for
/// a known one.
pub fn decoy() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash(&triage_ground::secret::random(24)).unwrap_or_default())
}

/// The policy in the words the password form shows beside its fields.
pub fn rule_zh(policy: &SecurityPolicy) -> String {
    format!(
        "至少 {} 位，含小写字母、大写字母、数字、其他符号中的至少 {} 类，不含工号，且与当前密码不同",
        policy.password_min_length, policy.password_min_classes
    )
}

/// Checks a new password against the policy: its length, its classes of
/// characters, and not the account's own code.
pub fn check_policy(password: &str, account: &str, policy: &SecurityPolicy) -> Result<(), Error> {
    let weak = |why: String| Err(Error::field(ErrorCode::WeakPassword, "new_password", why));
    if password.chars().count() < policy.password_min_length {
        return weak(format!("密码至少 {} 位", policy.password_min_length));
    }
    if password.chars().count() > 128 {
        return weak("密码最多 128 位".into());
    }
    let classes = [
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    if classes < policy.password_min_classes {
        return weak(format!(
            "密码须含以下至少 {} 类字符：小写字母、大写字母、数字、其他符号",
            policy.password_min_classes
        ));
    }
    if password.to_lowercase().contains(&account.to_lowercase()) {
        return weak("密码不能包含工号".into());
    }
    Ok(())
}

/// Runs password hashes one at a time off the async workers, in the order
/// they came, with at most [`Hashing::MAX_WAITING`] waiting and one per
/// client address: a second login from an address whose first is still
/// hashing, or one beyond the bound, is refused at once (429).
pub struct Hashing {
    permits: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    /// The addresses with a hash waiting or running.
    busy: Arc<dashmap::DashSet<String>>,
}

impl Default for Hashing {
    fn default() -> Self {
        Hashing {
            permits: Arc::new(Semaphore::new(1)),
            waiting: Arc::new(AtomicUsize::new(0)),
            busy: Arc::new(dashmap::DashSet::new()),
        }
    }
}

/// An address's place: freed when its hash is done, not before (a request
/// abandoned while its hash runs keeps the place until the hash ends).
struct Place {
    busy: Arc<dashmap::DashSet<String>>,
    source: String,
}

impl Drop for Place {
    fn drop(&mut self) {
        self.busy.remove(&self.source);
    }
}

/// One of the waiting places, given back however the wait ends.
struct Waiting(Arc<AtomicUsize>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Hashing {
    /// Hashes queued beyond the one running (each of another address).
    pub const MAX_WAITING: usize = 128;

    /// Runs `f` (which hashes) for a request from `source` on the blocking
    /// pool when its turn comes. The turn and the address's place go with
    /// the hash itself, so a request given up meanwhile frees nothing early.
    pub async fn run<T, F>(&self, source: &str, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        if !self.busy.insert(source.to_string()) {
            return Err(Error::new(
                ErrorCode::TooManyRequests,
                "上一次登录尚未处理完，请稍候再试",
            ));
        }
        let place = Place {
            busy: self.busy.clone(),
            source: source.to_string(),
        };
        let waiting = Waiting(self.waiting.clone());
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= Self::MAX_WAITING {
            return Err(Error::new(
                ErrorCode::TooManyRequests,
                "同时登录的人过多，请稍候再试",
            ));
        }
        let permit = self.permits.clone().acquire_owned().await;
        drop(waiting);
        let permit = permit
            .map_err(|_| Error::new(ErrorCode::ServiceUnavailable, "the server is stopping"))?;
        tokio::task::spawn_blocking(move || {
            let out = f();
            drop((permit, place));
            out
        })
        .await
        .map_err(|_| Error::new(ErrorCode::InternalError, "password hashing failed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_policy_holds() {
        let h = hash("Correct-Horse-9").unwrap_or_default();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("Correct-Horse-9", &h));
        assert!(!verify("correct-horse-9", &h));
        assert!(!verify("x", "not a hash"));
        let p = SecurityPolicy::default();
        assert!(check_policy("Correct-Horse-9", "n001", &p).is_ok());
        assert!(check_policy("short1A", "n001", &p).is_err());
        assert!(check_policy("alllowercase", "n001", &p).is_err());
        assert!(check_policy("Abcdefg1-n001", "N001", &p).is_err());
    }
}
