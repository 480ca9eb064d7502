//! The signing contract every key source implements, and its backends.
//!
//! A [`RemoteSigner`] receives digests that were already computed (exactly
//! what CSC `signHash`, `CPSignHash` and `NCryptSignHash` receive) and signs
//! them in batches, because the remote protocol authorizes and signs many
//! hashes per round trip. Everything above this room (CMS, the CLI, the
//! Windows providers) only sees the trait.
//!
//! This room may use `cert` (for [`crate::cert::Certificate`]) and the
//! primitives in [`crate::crypto`] (re-exported here, where they lived
//! before); it never touches the network itself.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::cert::Certificate;
use crate::error::Result;

mod memory;
#[cfg(feature = "pkcs12")]
mod pkcs12;

// The algorithm types and local keys live in `crate::crypto`; these paths
// (`crpki::signer::Digest`, …) keep working.
pub(crate) use crate::crypto::pss;
pub use crate::crypto::{
    Digest, HashAlgorithm, Hasher, KeyAlgorithm, KeyInfo, PrivateKey, PublicKey, SignatureAlgorithm,
    SignatureScheme, check_batch, digest_file, key, oid,
};
pub use memory::MemorySigner;
#[cfg(feature = "pkcs12")]
pub use pkcs12::Pkcs12Signer;

/// A source of signatures: a remote signing service, a PKCS#12 file, or a
/// key in memory.
///
/// Object safe; callers hold `Arc<dyn RemoteSigner>`.
///
/// Contract, checked by the conformance suite in `tests/conformance.rs`:
/// - [`certificate`](Self::certificate) is the signing certificate and
///   [`chain`](Self::chain) its issuers, ending with the registrar's
///   self-signed certificate when the backend knows it;
/// - [`sign_digests`](Self::sign_digests) returns exactly one signature per
///   input digest, in input order, each verifying with the certificate's
///   public key; an empty batch is an error; every digest must use
///   `algorithm.hash`; an algorithm that does not fit the key is
///   [`Error::Unsupported`].
#[async_trait]
pub trait RemoteSigner: fmt::Debug + Send + Sync + 'static {
    /// The signing certificate.
    fn certificate(&self) -> &Certificate;

    /// The issuing chain, from the signing certificate's issuer up to the
    /// self-signed root (may be empty when the backend does not know it).
    fn chain(&self) -> &[Certificate];

    /// The key's algorithm and size.
    fn key_info(&self) -> KeyInfo;

    /// The algorithm used when the caller has no preference: PKCS#1 v1.5
    /// with SHA-256 for RSA keys, ECDSA with SHA-256 for EC keys.
    fn default_algorithm(&self) -> SignatureAlgorithm {
        match self.key_info().algorithm {
            KeyAlgorithm::Rsa => SignatureAlgorithm::RSA_PKCS1_SHA256,
            KeyAlgorithm::EcP256 => SignatureAlgorithm::new(SignatureScheme::Ecdsa, HashAlgorithm::Sha256),
        }
    }

    /// Signs a batch of digests; signatures come back in input order.
    async fn sign_digests(&self, algorithm: SignatureAlgorithm, digests: &[Digest]) -> Result<Vec<Vec<u8>>>;
}

/// Convenience: a shared signer.
pub type SharedSigner = Arc<dyn RemoteSigner>;
