//! Argon2id password hashing on a bounded set of blocking threads.
//!
//! A hash costs tens of milliseconds of CPU; run on the async workers it would stall every
//! other request. Each hash takes a permit of a semaphore *before* it is handed to
//! `spawn_blocking`, so at most `threads` hashes run at once and the rest wait without holding
//! a thread, leaving the async workers (and the remaining cores) to everything else.

use crate::config::HashingSettings;
use argon2::password_hash::{PasswordHash, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier, Version};
use std::sync::Arc;
use tokio::sync::Semaphore;

#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
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
    /// none (unknown user), which always fails.
    pub async fn verify(&self, password: String, stored: Option<String>) -> anyhow::Result<bool> {
        let known = stored.is_some();
        let phc = stored.unwrap_or_else(|| self.dummy_hash.to_string());
        let ok = self
            .run(move || {
                PasswordHash::new(&phc)
                    .map(|parsed| {
                        Argon2::default()
                            .verify_password(password.as_bytes(), &parsed)
                            .is_ok()
                    })
                    .unwrap_or(false)
            })
            .await?;
        Ok(known && ok)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let _permit = self.permits.acquire().await?;
        Ok(tokio::task::spawn_blocking(work).await?)
    }
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
        assert!(h.verify("s3cret".into(), Some(phc.clone())).await.unwrap());
        assert!(!h.verify("wrong".into(), Some(phc)).await.unwrap());
    }

    #[tokio::test]
    async fn unknown_user_never_verifies() {
        let h = PasswordHasher::new(&cheap()).unwrap();
        assert!(
            !h.verify("dummy password for unknown users".into(), None)
                .await
                .unwrap()
        );
    }
}
