//! Argon2id password hashing on a fixed set of hashing threads.
//!
//! A hash costs tens of milliseconds of CPU; run on the async workers it would stall every
//! other request. Each hash takes a permit of a semaphore *before* it is handed to one of
//! `threads` dedicated threads, so at most `threads` hashes run at once and the rest wait
//! without holding a thread, leaving the async workers (and the remaining cores) to everything
//! else.
//!
//! Dedicated threads rather than `spawn_blocking`: each hash allocates its Argon2 memory
//! (19 MiB by default) and the allocator keeps freed blocks in the arena of the thread that
//! freed them. Tokio's blocking threads come and go, each hash could land in another arena,
//! and the process kept ~19 MiB per arena it ever used (the bench saw RSS climb from 63 to
//! 236 MB under password grants and stay there). A fixed set of threads keeps that to one
//! block per hashing thread.

use crate::settings::HashingSettings;
use argon2::password_hash::{Output, PasswordHash, Salt, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Block, Params, PasswordHasher as _, Version};
use shopkeeper_domain::ApiKey;
use std::cell::RefCell;
use std::sync::{Arc, Mutex, mpsc};
use tokio::sync::{Semaphore, oneshot};

type HashJob = Box<dyn FnOnce() + Send>;

/// Starts `threads` hashing threads; they end when every sender is dropped.
fn start_hashing_threads(threads: usize) -> anyhow::Result<mpsc::Sender<HashJob>> {
    let (jobs, queue) = mpsc::channel::<HashJob>();
    let queue = Arc::new(Mutex::new(queue));
    for n in 0..threads {
        let queue = queue.clone();
        std::thread::Builder::new()
            .name(format!("argon2-{n}"))
            .spawn(move || {
                loop {
                    // The lock is held only while waiting for the next job.
                    let next = match queue.lock() {
                        Ok(queue) => queue.recv(),
                        Err(_) => return,
                    };
                    let Ok(job) = next else { return };
                    // A panicking job drops its reply (the caller gets an error); the thread
                    // stays for the next one.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                }
            })?;
    }
    Ok(jobs)
}

#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    jobs: mpsc::Sender<HashJob>,
    params: Params,
    /// Verified against when the username is unknown, so that an unknown user and a wrong
    /// password take the same time.
    dummy_hash: Arc<str>,
}

impl PasswordHasher {
    pub fn new(settings: &HashingSettings) -> anyhow::Result<Self> {
        let params = Params::new(
            settings.argon2_memory_kib,
            settings.argon2_iterations,
            1,
            None,
        )
        .map_err(|e| anyhow::anyhow!("invalid Argon2 parameters: {e}"))?;
        let dummy = hash_blocking(&params, "dummy password for unknown users")?;
        Ok(Self {
            permits: Arc::new(Semaphore::new(settings.threads())),
            jobs: start_hashing_threads(settings.threads())?,
            params,
            dummy_hash: dummy.into(),
        })
    }

    /// Hashes a new password (PHC string, Argon2id, random salt).
    pub async fn hash(&self, password: String) -> anyhow::Result<String> {
        let params = self.params.clone();
        self.run(move || hash_blocking(&params, &password)).await?
    }

    /// Checks a password against a stored PHC string, or against the dummy hash when there is
    /// none (unknown user), which always fails. Each check is counted, when it runs, in
    /// `shopkeeper_password_verifications_total` under `api_key` (the sign-in's client).
    pub async fn verify(
        &self,
        password: String,
        stored: Option<String>,
        api_key: &ApiKey,
    ) -> anyhow::Result<bool> {
        let known = stored.is_some();
        let phc = stored.unwrap_or_else(|| self.dummy_hash.to_string());
        let api_key = api_key.clone();
        let ok = self
            .run(move || {
                crate::instruments::password_verified(&api_key);
                verify_blocking(password.as_bytes(), &phc)
            })
            .await?;
        Ok(known && ok)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let _permit = self.permits.acquire().await?;
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = reply.send(work());
            }))
            .map_err(|_| anyhow::anyhow!("the hashing threads have stopped"))?;
        Ok(answer.await?)
    }
}

thread_local! {
    /// The Argon2 work memory of this hashing thread, kept between hashes: a verification
    /// then allocates (and page-faults in) nothing, and the process holds one block per
    /// hashing thread instead of whatever the allocator retained from freed ones.
    static WORK_MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Checks `password` against a PHC string with the parameters the string names (algorithm,
/// version, cost, salt, output length), in this thread's work memory. What
/// `PasswordVerifier::verify_password` does, minus its per-call allocation; the final
/// comparison is `Output`'s constant-time equality.
fn verify_blocking(password: &[u8], phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let mut salt_bytes = [0u8; Salt::MAX_LENGTH];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut computed = [0u8; Output::MAX_LENGTH];
    let computed = &mut computed[..expected.len()];
    let blocks = params.block_count();
    let argon = Argon2::new(algorithm, version, params);
    let hashed = WORK_MEMORY.with_borrow_mut(|memory| {
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        argon
            .hash_password_into_with_memory(password, salt, computed, &mut memory[..blocks])
            .is_ok()
    });
    hashed && Output::new(computed).is_ok_and(|output| output == expected)
}

fn hash_blocking(params: &Params, password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    Ok(argon
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))?
        .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ApiKey {
        ApiKey::parse("k").unwrap()
    }

    fn cheap() -> HashingSettings {
        HashingSettings {
            hashing_threads: Some(1),
            argon2_memory_kib: 1024,
            argon2_iterations: 1,
        }
    }

    #[tokio::test]
    async fn hash_then_verify() {
        let h = PasswordHasher::new(&cheap()).unwrap();
        let phc = h.hash("s3cret".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(
            h.verify("s3cret".into(), Some(phc.clone()), &key())
                .await
                .unwrap()
        );
        assert!(!h.verify("wrong".into(), Some(phc), &key()).await.unwrap());
    }

    #[test]
    fn verifies_exactly_what_the_crate_verifier_accepts() {
        use argon2::PasswordVerifier;
        let params = Params::new(1024, 1, 1, None).unwrap();
        let phc = hash_blocking(&params, "correct horse").unwrap();
        let parsed = PasswordHash::new(&phc).unwrap();
        for (password, expected) in [
            ("correct horse", true),
            ("correct hors", false),
            ("", false),
        ] {
            let by_crate = Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok();
            assert_eq!(by_crate, expected);
            assert_eq!(
                verify_blocking(password.as_bytes(), &phc),
                expected,
                "{password}"
            );
        }
        // A hash made with other parameters (the stored string names them) still verifies,
        // in memory left over from a bigger one.
        let small = hash_blocking(&Params::new(256, 2, 1, None).unwrap(), "pw").unwrap();
        assert!(verify_blocking(b"pw", &small));
        // Tampered or malformed strings never verify.
        let tampered = phc.replace("m=1024", "m=2048");
        assert!(!verify_blocking(b"correct horse", &tampered));
        assert!(!verify_blocking(b"correct horse", "$argon2id$v=19$garbage"));
        assert!(!verify_blocking(b"correct horse", "not a hash"));
    }

    #[tokio::test]
    async fn unknown_user_never_verifies() {
        let h = PasswordHasher::new(&cheap()).unwrap();
        assert!(
            !h.verify("dummy password for unknown users".into(), None, &key())
                .await
                .unwrap()
        );
    }
}
