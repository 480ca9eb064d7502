//! # crpki
//!
//! Sign with Japan's commercial-registration certificate (商業登記電子証明書),
//! whose key now lives in a remote signing service (a CSC RSSP reached after
//! a GビズID login), in a legacy PKCS#12 file, or in memory for tests.
//!
//! The core is the [`RemoteSigner`] trait: it gives the signing certificate
//! and its chain, and signs batches of digests. Everything else only sees
//! the trait:
//!
//! - [`signer`]: the trait, algorithms, digests, local keys, and the
//!   [`MemorySigner`] (NO SECURITY, tests) and `Pkcs12Signer` backends;
//! - [`cert`]: certificates, the MOJ extensions, the 法人番号, chain validation;
//! - [`cms`]: detached CMS signatures built through any signer, and verified;
//! - [`csc`]: the Cloud Signature Consortium API (wire types; with feature
//!   `remote`, the client and the `CscSigner` backend);
//! - `auth` (feature `remote`): the HTTPS transport and the GビズID login;
//! - [`profile`]: profiles and token files;
//! - [`source`]: where a signer comes from, decided in one place (the
//!   profile → client → authorizer → signer recipe, PKCS#12 files), for
//!   the tool, the DLLs and [`blocking`];
//! - [`blocking`]: a blocking facade (open a signer, sign digests, sign and
//!   verify files) for programs with no async runtime;
//! - `sandbox` (feature `sandbox`): our CSC RSSP and GビズID-style provider
//!   on loopback, the default profile of the `crpki` tool;
//! - `provider` (features `csp`, `ksp`): the Windows CryptoAPI CSP and CNG
//!   KSP DLLs.
//!
//! `unsafe` is denied everywhere but in the Windows FFI files, which say so
//! at their top: `provider/{ffi,csp/exports,ksp/exports,register,certstore}.rs`
//! (the DLLs' C ABI, their registration, the certificate store) and
//! `profile/dpapi.rs` (sealing token files).
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "remote")]
pub mod auth;
pub mod blocking;
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
pub mod source;

pub use cert::{CertSummary, Certificate, MojInfo, validate_chain};
pub use error::{Error, Result, TrustFailure};
pub use secret::Secret;
#[cfg(feature = "pkcs12")]
pub use signer::Pkcs12Signer;
pub use signer::{
    Digest, HashAlgorithm, KeyAlgorithm, KeyInfo, MemorySigner, PrivateKey, PublicKey, RemoteSigner,
    SignatureAlgorithm, SignatureScheme,
};
