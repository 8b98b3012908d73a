//! Password hashing with argon2id (OWASP: m=19 MiB, t=2, p=1), off the
//! request threads on one dedicated thread per core, so a login storm
//! queues instead of starving token requests or growing memory.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, mpsc};

use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;

const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;
const SALT_LEN: usize = 16;
/// Stored hashes asking for more memory than this are refused, not run.
const MAX_MEMORY_KIB: u32 = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("the password hashing threads have stopped")]
    Closed,
    #[error("too many password checks are waiting")]
    Busy,
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).expect("constant argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Argon2 memory reused across hashes on one thread. One allocation that
/// lives as long as its owner: a fresh 19 MiB per hash is what allocators
/// keep around afterwards.
#[derive(Default)]
pub struct Workspace {
    blocks: Vec<Block>,
}

impl Workspace {
    /// Hashes a password: a PHC string with the OWASP parameters.
    pub fn hash(&mut self, password: &str) -> Result<String, PasswordError> {
        let params =
            Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).expect("constant argon2 parameters are valid");
        let needed = params.block_count();
        if self.blocks.len() < needed {
            self.blocks.resize(needed, Block::default());
        }
        let salt = crate::crypto::random_bytes(SALT_LEN);
        let mut out = [0u8; 32];
        argon2()
            .hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, &mut self.blocks[..needed])
            .map_err(|e| PasswordError::Hash(e.to_string()))?;
        let b64 = |bytes: &[u8]| STANDARD_NO_PAD.encode(bytes);
        Ok(format!("$argon2id$v=19$m={MEMORY_KIB},t={ITERATIONS},p={PARALLELISM}${}${}", b64(&salt), b64(&out)))
    }

    /// Checks a password against a stored PHC string; a malformed hash never matches.
    pub fn verify(&mut self, hash: &str, password: &str) -> bool {
        verify_with_memory(hash, password, &mut self.blocks)
    }
}

/// Hashes a password on the calling thread (CLI, bootstrap admin).
pub fn hash_blocking(password: &str) -> Result<String, PasswordError> {
    Workspace::default().hash(password)
}

/// Checks a password on the calling thread.
pub fn verify_blocking(hash: &str, password: &str) -> bool {
    Workspace::default().verify(hash, password)
}

/// Verifies with a caller-owned memory buffer, so a worker reuses its 19 MiB
/// instead of allocating (and the allocator keeping) a fresh one per check.
fn verify_with_memory(hash: &str, password: &str, blocks: &mut Vec<Block>) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    if params.m_cost() > MAX_MEMORY_KIB {
        return false;
    }
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm.as_str()) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let needed = params.block_count();
    if blocks.len() < needed {
        blocks.resize(needed, Block::default());
    }
    let mut out = vec![0u8; expected.as_bytes().len()];
    let matched = Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt.as_ref(), &mut out, &mut blocks[..needed])
        .is_ok()
        && crate::crypto::constant_time_eq(&out, expected.as_bytes());
    // A hash asking for more memory than realmgate's own (an imported one)
    // does not leave the thread holding that much for good.
    let own = MEMORY_KIB as usize;
    if blocks.len() > own {
        blocks.truncate(own);
        blocks.shrink_to_fit();
    }
    matched
}

type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

/// The hashing service the request paths use: a few dedicated threads (one
/// per core), each with its own reusable argon2 memory, fed by a queue.
#[derive(Clone)]
pub struct PasswordHasher {
    jobs: Arc<Mutex<mpsc::Sender<Job>>>,
    dummy: Arc<OnceLock<String>>,
    /// Jobs queued or running; beyond `max_pending` new ones are refused
    /// at once (503) instead of waiting minutes behind a flood.
    pending: Arc<AtomicUsize>,
    max_pending: usize,
}

/// Queued checks allowed per hashing thread (≈ 30 ms each: about a second).
const PENDING_PER_THREAD: usize = 32;

impl PasswordHasher {
    pub fn new(threads: usize) -> Self {
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..threads.max(1) {
            let receiver = Arc::clone(&receiver);
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    let mut blocks: Vec<Block> = Vec::new();
                    loop {
                        let job = match receiver.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(&mut blocks),
                            Err(_) => return,
                        }
                    }
                })
                .expect("spawning a hashing thread");
        }
        Self {
            jobs: Arc::new(Mutex::new(sender)),
            dummy: Arc::new(OnceLock::new()),
            pending: Arc::new(AtomicUsize::new(0)),
            max_pending: threads.max(1) * PENDING_PER_THREAD,
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        if self.pending.fetch_add(1, Ordering::SeqCst) >= self.max_pending {
            self.pending.fetch_sub(1, Ordering::SeqCst);
            return Err(PasswordError::Busy);
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let pending = Arc::clone(&self.pending);
        let job: Job = Box::new(move |blocks| {
            // The caller gave up (client gone): skip the 19 MiB of work.
            if !tx.is_closed() {
                let _ = tx.send(work(blocks));
            }
            pending.fetch_sub(1, Ordering::SeqCst);
        });
        let sent = self.jobs.lock().map_err(|_| PasswordError::Closed)?.send(job);
        if sent.is_err() {
            self.pending.fetch_sub(1, Ordering::SeqCst);
            return Err(PasswordError::Closed);
        }
        rx.await.map_err(|_| PasswordError::Closed)
    }

    /// Verifies `password`; with no stored hash (unknown user, unusable
    /// password) a dummy hash is checked so the answer takes as long.
    pub async fn verify(&self, hash: Option<String>, password: String) -> Result<bool, PasswordError> {
        let dummy = Arc::clone(&self.dummy);
        self.run(move |blocks| match hash {
            Some(hash) => verify_with_memory(&hash, &password, blocks),
            None => {
                let dummy = dummy.get_or_init(|| {
                    let mut workspace = Workspace { blocks: std::mem::take(blocks) };
                    let hash =
                        workspace.hash(&crate::crypto::random_token(16)).expect("hashing a random password works");
                    *blocks = workspace.blocks;
                    hash
                });
                let _ = verify_with_memory(dummy, &password, blocks);
                false
            }
        })
        .await
    }

    pub async fn hash(&self, password: String) -> Result<String, PasswordError> {
        self.run(move |blocks| {
            let mut workspace = Workspace { blocks: std::mem::take(blocks) };
            let hash = workspace.hash(&password);
            *blocks = workspace.blocks;
            hash
        })
        .await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters() {
        use argon2::PasswordVerifier as _;
        let hash = hash_blocking("s3cret").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        // The crate's own verifier accepts what the workspace wrote.
        assert!(argon2().verify_password(b"s3cret", hash.as_str()).is_ok());
        assert!(verify_blocking(&hash, "s3cret"));
        assert!(!verify_blocking(&hash, "s3creT"));
        assert!(!verify_blocking("not a hash", "s3cret"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_flood_is_refused_not_queued() {
        let hasher = PasswordHasher::new(1);
        let hash = hasher.hash("pw".into()).await.unwrap();
        let checks: Vec<_> = (0..60)
            .map(|_| {
                let (hasher, hash) = (hasher.clone(), hash.clone());
                tokio::spawn(async move { hasher.verify(Some(hash), "pw".into()).await })
            })
            .collect();
        let mut busy = 0;
        for check in checks {
            match check.await.unwrap() {
                Ok(ok) => assert!(ok),
                Err(PasswordError::Busy) => busy += 1,
                Err(other) => panic!("{other}"),
            }
        }
        assert!(busy >= 60 - PENDING_PER_THREAD, "{busy} refused");
        assert!(hasher.verify(Some(hash), "pw".into()).await.unwrap(), "works again once drained");
    }

    #[tokio::test]
    async fn the_pool_verifies_like_the_crate() {
        let hasher = PasswordHasher::new(1);
        assert!(!hasher.verify(None, "anything".into()).await.unwrap());
        let hash = hasher.hash("s3cret".into()).await.unwrap();
        assert!(hasher.verify(Some(hash.clone()), "s3cret".into()).await.unwrap());
        assert!(!hasher.verify(Some(hash.clone()), "s3creT".into()).await.unwrap());
        assert!(!hasher.verify(Some("garbage".into()), "s3cret".into()).await.unwrap());
        let greedy = hash.replace("m=19456", "m=4194304");
        assert!(!hasher.verify(Some(greedy), "s3cret".into()).await.unwrap());
    }
}
