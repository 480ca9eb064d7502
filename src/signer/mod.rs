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
use crate::error::{Error, Result};

mod memory;
#[cfg(feature = "pkcs12")]
mod pkcs12;

// The algorithm types and local keys live in `crate::crypto`; these paths
// (`crpki::signer::Digest`, …) keep working.
pub use crate::crypto::{
    Digest, DigestBatch, HashAlgorithm, Hasher, KeyAlgorithm, KeyInfo, PrivateKey, PublicKey,
    SignatureAlgorithm, SignatureScheme, digest_file, key, oid,
};
pub use memory::MemorySigner;
#[cfg(feature = "pkcs12")]
pub use pkcs12::Pkcs12Signer;

/// Writes a [`RemoteSigner`]'s identity methods as forwards to the signer
/// held in `self.$field`: all four (`certificate`, `chain`, `key_info`,
/// `max_batch`), or
/// those named after a colon. For wrappers that add behaviour only around
/// `sign_batch`.
// Unused only when no backend or wrapper is built in.
#[cfg_attr(
    not(any(feature = "pkcs12", feature = "remote", feature = "test-util")),
    allow(unused_macros)
)]
macro_rules! forward_identity {
    ($field:ident) => {
        $crate::signer::forward_identity!($field: certificate, chain, key_info, max_batch);
    };
    ($field:ident: $($method:ident),+) => {
        $($crate::signer::forward_identity!(@ $field $method);)+
    };
    (@ $field:ident certificate) => {
        fn certificate(&self) -> &$crate::cert::Certificate {
            self.$field.certificate()
        }
    };
    (@ $field:ident chain) => {
        fn chain(&self) -> &[$crate::cert::Certificate] {
            self.$field.chain()
        }
    };
    (@ $field:ident max_batch) => {
        fn max_batch(&self) -> Option<usize> {
            self.$field.max_batch()
        }
    };
    (@ $field:ident key_info) => {
        fn key_info(&self) -> $crate::signer::KeyInfo {
            self.$field.key_info()
        }
    };
}
#[cfg_attr(
    not(any(feature = "pkcs12", feature = "remote", feature = "test-util")),
    allow(unused_imports)
)]
pub(crate) use forward_identity;

/// A source of signatures: a remote signing service, a PKCS#12 file, or a
/// key in memory.
///
/// Object safe; callers hold `Arc<dyn RemoteSigner>`.
///
/// Callers call [`sign_digests`](Self::sign_digests); backends implement
/// [`sign_batch`](Self::sign_batch). Between the two, `sign_digests` (a
/// provided method: do not override it) checks the arguments once, into a
/// [`DigestBatch`], and verifies every signature the backend returns once,
/// with the certificate's public key. A backend therefore neither checks
/// its input nor verifies its output.
///
/// Contract, checked by the conformance suite
/// (`crpki::testing::check_signer`, feature `test-util`):
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

    /// What the user must supply before this key signs, as a smart card
    /// tells its applications (the PKCS#11 module's token flags). The
    /// default, for keys in this process or in files opened with their
    /// password, is nothing.
    fn user_authentication(&self) -> UserAuthentication {
        UserAuthentication::default()
    }

    /// The most digests one [`sign_batch`](Self::sign_batch) call handles
    /// in one go (a CSC credential's `multisign`), when the backend has
    /// such a limit; batch callers such as
    /// [`crate::cms::sign_pipeline`] cut their chunks to it. `None` (the
    /// default): no limit worth following.
    fn max_batch(&self) -> Option<usize> {
        None
    }

    /// What a backend implements: signs a batch already checked against
    /// [`key_info`](Self::key_info), one signature per digest, in order.
    /// The signatures are verified by [`sign_digests`](Self::sign_digests),
    /// the one caller.
    async fn sign_batch(&self, batch: &DigestBatch<'_>) -> Result<Vec<Vec<u8>>>;

    /// Signs a batch of digests; signatures come back in input order.
    ///
    /// The arguments are checked into a [`DigestBatch`] (an empty batch and
    /// digests of another hash are [`Error::InvalidArgument`], an algorithm
    /// the key cannot make is [`Error::Unsupported`]), the backend's
    /// [`sign_batch`](Self::sign_batch) signs it, and each signature is
    /// verified with the certificate's public key: a missing, extra or
    /// non-verifying signature is [`Error::Protocol`], never an output.
    /// Backends do not override this method.
    async fn sign_digests(&self, algorithm: SignatureAlgorithm, digests: &[Digest]) -> Result<Vec<Vec<u8>>> {
        sign_checked(self, algorithm, digests).await
    }
}

/// The body of [`RemoteSigner::sign_digests`]: check, sign, verify.
pub(crate) async fn sign_checked<S: RemoteSigner + ?Sized>(
    signer: &S,
    algorithm: SignatureAlgorithm,
    digests: &[Digest],
) -> Result<Vec<Vec<u8>>> {
    let batch = DigestBatch::new(&signer.key_info(), algorithm, digests)?;
    let signatures = signer.sign_batch(&batch).await?;
    verify_signatures(signer.certificate(), &batch, &signatures)?;
    Ok(signatures)
}

/// The one verification of what a backend returned: one signature per
/// digest, each verifying with the certificate's public key.
fn verify_signatures(
    certificate: &Certificate,
    batch: &DigestBatch<'_>,
    signatures: &[Vec<u8>],
) -> Result<()> {
    let protocol = |detail: String| Error::Protocol {
        service: "signer".into(),
        detail,
    };
    if signatures.len() != batch.len() {
        return Err(protocol(format!(
            "{} signatures for {} hashes",
            signatures.len(),
            batch.len()
        )));
    }
    let public_key = certificate.public_key()?;
    for (i, (digest, signature)) in batch.digests().iter().zip(signatures).enumerate() {
        public_key
            .verify_digest(batch.algorithm(), digest, signature)
            .map_err(|e| {
                protocol(format!(
                    "signature {} of {} does not verify with the key of '{}' ({e}); nothing was returned",
                    i + 1,
                    batch.len(),
                    certificate.subject()
                ))
            })?;
    }
    Ok(())
}

/// What a signer needs from its user before it signs (see
/// [`RemoteSigner::user_authentication`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserAuthentication {
    /// A PIN (given by the application, see
    /// [`crate::source::SignerSource::set_pin`]) authorizes signatures.
    pub pin: bool,
    /// Every authorization needs the user again (SCAL 2, a one-time
    /// password): a PIN or OTP per signature operation.
    pub per_signature: bool,
    /// A one-time password (given by the application, see
    /// [`crate::source::SignerSource::set_otp`]) authorizes signatures.
    pub otp: bool,
}

impl UserAuthentication {
    /// The given needs (no one-time password: see
    /// [`with_otp`](Self::with_otp)).
    pub fn new(pin: bool, per_signature: bool) -> Self {
        Self {
            pin,
            per_signature,
            otp: false,
        }
    }

    /// The same, with `otp` saying whether a one-time password is needed.
    pub fn with_otp(mut self, otp: bool) -> Self {
        self.otp = otp;
        self
    }
}

/// Convenience: a shared signer.
pub type SharedSigner = Arc<dyn RemoteSigner>;
