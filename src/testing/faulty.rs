//! [`FaultySigner`]: the one test wrapper around a signer.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;

use crate::cert::Certificate;
use crate::crypto::{Digest, DigestBatch, SignatureAlgorithm};
use crate::error::{Error, Result};
use crate::signer::{RemoteSigner, sign_checked};

/// How a [`FaultySigner`] breaks the [`RemoteSigner`] contract.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Fault {
    /// Every call fails with [`Error::ServiceUnavailable`].
    Unavailable,
    /// Calls succeed until this many were made (counting from 0), then
    /// every call fails with [`Error::ServiceUnavailable`]: a service that
    /// goes down in the middle of a batch.
    UnavailableFrom(usize),
    /// Flips a bit of the first signature of every batch.
    CorruptsFirst,
    /// Drops the last signature of batches of more than one.
    DropsOne,
    /// Returns the signatures of a batch in reverse order.
    ReversedOrder,
    /// Signs an empty batch (returning no signature) instead of refusing
    /// it: it overrides `sign_digests`, which no real backend may do.
    AcceptsEmptyBatch,
    /// Puts this certificate in front of the real chain.
    StrangerInChain(Box<Certificate>),
}

/// A signer over another one that counts the batches it is asked to sign
/// and, with a [`Fault`], breaks the contract on purpose: tests use it to
/// prove that callers and [`check_signer`](super::check_signer) notice.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use crpki::testing::{FaultySigner, Fault, fixtures};
/// use crpki::{Error, HashAlgorithm, RemoteSigner};
///
/// let signer = FaultySigner::new(fixtures::memory_signer("rep-rsa2048"), Some(Fault::CorruptsFirst));
/// let digest = HashAlgorithm::Sha256.digest(b"TEST");
/// let err = signer.sign_digests(signer.default_algorithm(), &[digest]).await.unwrap_err();
/// // A signature that does not verify is never handed out.
/// assert!(matches!(err, Error::Protocol { .. }));
/// assert_eq!(signer.calls(), 1);
/// # }
/// ```
#[derive(Debug)]
pub struct FaultySigner {
    inner: Arc<dyn RemoteSigner>,
    fault: Option<Fault>,
    chain: Vec<Certificate>,
    calls: AtomicUsize,
}

impl FaultySigner {
    /// Wraps `inner`; `None` forwards everything honestly (and counts).
    pub fn new(inner: impl RemoteSigner, fault: Option<Fault>) -> Self {
        let mut chain = inner.chain().to_vec();
        if let Some(Fault::StrangerInChain(stranger)) = &fault {
            chain.insert(0, Certificate::clone(stranger));
        }
        Self {
            inner: Arc::new(inner),
            fault,
            chain,
            calls: AtomicUsize::new(0),
        }
    }

    /// How many batches reached the wrapped signer (arguments that fail the
    /// checks never do).
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl RemoteSigner for FaultySigner {
    crate::signer::forward_identity!(inner: certificate, key_info, max_batch);

    fn chain(&self) -> &[Certificate] {
        &self.chain
    }

    async fn sign_batch(&self, batch: &DigestBatch<'_>) -> Result<Vec<Vec<u8>>> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        let down = match self.fault {
            Some(Fault::Unavailable) => true,
            Some(Fault::UnavailableFrom(n)) => call >= n,
            _ => false,
        };
        if down {
            return Err(Error::ServiceUnavailable {
                detail: "test signer down".into(),
                source: None,
            });
        }
        let mut signatures = self.inner.sign_batch(batch).await?;
        match self.fault {
            Some(Fault::CorruptsFirst) => {
                if let Some(byte) = signatures.first_mut().and_then(|s| s.get_mut(5)) {
                    *byte ^= 1;
                }
            }
            Some(Fault::DropsOne) if signatures.len() > 1 => {
                signatures.pop();
            }
            Some(Fault::ReversedOrder) => signatures.reverse(),
            _ => {}
        }
        Ok(signatures)
    }

    async fn sign_digests(&self, algorithm: SignatureAlgorithm, digests: &[Digest]) -> Result<Vec<Vec<u8>>> {
        if digests.is_empty() && matches!(self.fault, Some(Fault::AcceptsEmptyBatch)) {
            return Ok(Vec::new());
        }
        sign_checked(self, algorithm, digests).await
    }
}
