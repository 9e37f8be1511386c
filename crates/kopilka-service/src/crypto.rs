//! Secrets: tokens, keyed code hashes, password hashes. Nothing here is ever logged.

use crate::{ServiceError, ServiceResult};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use kopilka_store::Store;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fmt;
use std::sync::OnceLock;
use subtle::ConstantTimeEq;

/// A bearer token as handed to a client: a kind prefix and 256 random bits.
pub fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    format!("{prefix}_{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Tokens are stored only as their SHA-256: a leaked table signs nobody in. The tokens are
/// random and long, so a plain hash is enough (no salt, no stretching).
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Lower-case hex. Every till request hashes its key, and every purchase its body: a
/// formatting call per byte showed in the till's profile.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// The key one-time codes are hashed with, so a copy of the database alone cannot reverse a
/// six-digit code by trying all million.
#[derive(Clone)]
pub struct SecretKey(Vec<u8>);

impl SecretKey {
    pub async fn load_or_create(store: &dyn Store) -> ServiceResult<Self> {
        let mut candidate = [0u8; 32];
        OsRng.fill_bytes(&mut candidate);
        let stored = store.server_secret(&hex(&candidate)).await?;
        Ok(Self(stored.into_bytes()))
    }

    /// A key given in the settings (`KOPILKA_SECRET_KEY`), so that it need not live in the
    /// database it protects.
    pub fn from_setting(key: &str) -> Self {
        Self(key.as_bytes().to_vec())
    }

    /// HMAC-SHA256 over the parts, separated so that no two inputs collide.
    pub fn code_hash(&self, parts: &[&str]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        for part in parts {
            mac.update(part.as_bytes());
            mac.update(&[0x1f]);
        }
        hex(&mac.finalize().into_bytes())
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

pub fn hashes_equal(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// At most one argon2 computation per core at a time: each takes 19 MiB and tens of
/// milliseconds, and tokio's blocking pool would otherwise run hundreds at once under a
/// flood of sign-ins.
fn hashing_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    })
}

async fn hashing_permit() -> ServiceResult<tokio::sync::SemaphorePermit<'static>> {
    hashing_permits()
        .acquire()
        .await
        .map_err(|e| ServiceError::Internal(format!("password hashing permits: {e}")))
}

/// argon2id with the crate's defaults (OWASP's 19 MiB, 2 passes), on a blocking thread: a
/// hash takes tens of milliseconds that must not stall the async workers.
pub async fn hash_password(password: String) -> ServiceResult<String> {
    let _permit = hashing_permit().await?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ServiceError::Internal(format!("password hashing: {e}")))
    })
    .await
    .map_err(|e| ServiceError::Internal(format!("password hashing task: {e}")))?
}

/// Checks a password against a stored hash. With no hash (unknown login, or no password set)
/// it still spends the same time, so response times do not tell which logins exist.
pub async fn verify_password(password: String, stored: Option<String>) -> ServiceResult<bool> {
    let _permit = hashing_permit().await?;
    tokio::task::spawn_blocking(move || {
        let decoy = decoy_hash();
        let (hash, real) = match stored.as_deref() {
            Some(h) => (h, true),
            None => (decoy, false),
        };
        let parsed = PasswordHash::new(hash)
            .map_err(|e| ServiceError::Internal(format!("stored password hash: {e}")))?;
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(ok && real)
    })
    .await
    .map_err(|e| ServiceError::Internal(format!("password check task: {e}")))?
}

fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(b"decoy password", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lower_case_and_two_digits_a_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let a = new_token("kpc");
        let b = new_token("kpc");
        assert_ne!(a, b);
        assert!(a.starts_with("kpc_") && a.len() == 4 + 43);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), token_hash(&b));
    }

    #[test]
    fn code_hashes_depend_on_key_and_every_part() {
        let k1 = SecretKey(b"one".to_vec());
        let k2 = SecretKey(b"two".to_vec());
        assert_ne!(
            k1.code_hash(&["a", "123456"]),
            k2.code_hash(&["a", "123456"])
        );
        assert_ne!(
            k1.code_hash(&["a1", "23456"]),
            k1.code_hash(&["a", "123456"])
        );
        assert!(hashes_equal(&k1.code_hash(&["x"]), &k1.code_hash(&["x"])));
    }

    #[tokio::test]
    async fn passwords_round_trip() {
        let h = hash_password("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse".into(), Some(h.clone()))
            .await
            .unwrap());
        assert!(!verify_password("wrong horse".into(), Some(h))
            .await
            .unwrap());
        assert!(!verify_password("decoy password".into(), None)
            .await
            .unwrap());
    }
}
