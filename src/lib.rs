//! # crpki
//!
//! Sign with Japan's commercial-registration certificate (商業登記電子証明書),
//! whose key now lives in a remote signing service (a CSC RSSP reached after
//! a GビズID login), in a legacy PKCS#12 file, or in memory for tests.
//!
//! The core is the [`RemoteSigner`] trait: it gives the signing certificate
//! and its chain, and signs batches of digests. [`cms`] builds detached CMS
//! signatures through any signer and verifies them; [`cert`] understands the
//! MOJ certificate extensions and validates chains.
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "remote")]
pub mod auth;
pub mod cert;
pub mod cms;
pub mod csc;
pub mod error;
pub mod profile;
#[cfg(any(feature = "csp", feature = "ksp"))]
pub mod provider;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod secret;
pub mod signer;

pub use cert::{CertSummary, Certificate, MojInfo, validate_chain};
pub use error::{Error, Result, TrustFailure};
pub use secret::Secret;
#[cfg(feature = "pkcs12")]
pub use signer::Pkcs12Signer;
pub use signer::{
    Digest, HashAlgorithm, KeyAlgorithm, KeyInfo, MemorySigner, PrivateKey, PublicKey, RemoteSigner,
    SignatureAlgorithm, SignatureScheme,
};
