//! Password hashing with argon2id (OWASP: m=19 MiB, t=2, p=1), off the
//! request threads and at most about one hash per core at a time, so a login
//! storm cannot starve token requests.

use std::sync::{Arc, OnceLock};

use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};
use tokio::sync::Semaphore;

const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;
const SALT_LEN: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("password worker failed: {0}")]
    Worker(#[from] tokio::task::JoinError),
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).expect("constant argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password on the calling thread (CLI and realm import).
pub fn hash_blocking(password: &str) -> Result<String, PasswordError> {
    let salt = crate::crypto::random_bytes(SALT_LEN);
    argon2()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Checks a password against a stored PHC string; a malformed hash never matches.
pub fn verify_blocking(hash: &str, password: &str) -> bool {
    argon2().verify_password(password.as_bytes(), hash).is_ok()
}

/// The bounded hashing service the request paths use.
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    dummy: Arc<OnceLock<String>>,
}

impl PasswordHasher {
    pub fn new(concurrency: usize) -> Self {
        Self { permits: Arc::new(Semaphore::new(concurrency.max(1))), dummy: Arc::new(OnceLock::new()) }
    }

    /// Verifies `password`; with no stored hash (unknown user, unusable
    /// password) a dummy hash is checked so the answer takes as long.
    pub async fn verify(&self, hash: Option<String>, password: String) -> Result<bool, PasswordError> {
        let _permit = self.permits.acquire().await.expect("the semaphore is never closed");
        let dummy = Arc::clone(&self.dummy);
        Ok(tokio::task::spawn_blocking(move || match hash {
            Some(hash) => verify_blocking(&hash, &password),
            None => {
                let dummy = dummy.get_or_init(|| {
                    hash_blocking(&crate::crypto::random_token(16)).expect("hashing a random password works")
                });
                let _ = verify_blocking(dummy, &password);
                false
            }
        })
        .await?)
    }

    pub async fn hash(&self, password: String) -> Result<String, PasswordError> {
        let _permit = self.permits.acquire().await.expect("the semaphore is never closed");
        tokio::task::spawn_blocking(move || hash_blocking(&password)).await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters() {
        let hash = hash_blocking("s3cret").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(verify_blocking(&hash, "s3cret"));
        assert!(!verify_blocking(&hash, "s3creT"));
        assert!(!verify_blocking("not a hash", "s3cret"));
    }

    #[tokio::test]
    async fn unknown_users_never_match() {
        let hasher = PasswordHasher::new(1);
        assert!(!hasher.verify(None, "anything".into()).await.unwrap());
    }
}
