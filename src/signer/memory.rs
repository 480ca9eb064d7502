//! `MemorySigner`: a key held in this process's memory.
//!
//! **NO SECURITY.** It exists for tests, examples and benchmarks: the key
//! is a plain in-memory value with no protection at all.

use async_trait::async_trait;

use super::{Digest, KeyInfo, PrivateKey, RemoteSigner, SignatureAlgorithm, check_batch};
use crate::cert::Certificate;
use crate::error::Result;

/// A [`RemoteSigner`] over a private key in memory. **NO SECURITY**: for
/// tests and examples only.
#[derive(Debug)]
pub struct MemorySigner {
    key: PrivateKey,
    certificate: Certificate,
    chain: Vec<Certificate>,
}

impl MemorySigner {
    /// Wraps a key and its certificate (and the certificate's issuers, up to
    /// the root). Fails with [`crate::Error::KeyMismatch`] when the
    /// certificate is not the key's.
    pub fn new(key: PrivateKey, certificate: Certificate, chain: Vec<Certificate>) -> Result<Self> {
        key.check_matches(certificate.public_key_der())?;
        Ok(Self {
            key,
            certificate,
            chain,
        })
    }

    /// The private key (for tests that need to compare signatures).
    pub fn private_key(&self) -> &PrivateKey {
        &self.key
    }
}

#[async_trait]
impl RemoteSigner for MemorySigner {
    fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    fn chain(&self) -> &[Certificate] {
        &self.chain
    }

    fn key_info(&self) -> KeyInfo {
        self.key.info()
    }

    async fn sign_digests(&self, algorithm: SignatureAlgorithm, digests: &[Digest]) -> Result<Vec<Vec<u8>>> {
        check_batch(&self.key.info(), algorithm, digests)?;
        digests
            .iter()
            .map(|d| self.key.sign_digest(algorithm, d))
            .collect()
    }
}
