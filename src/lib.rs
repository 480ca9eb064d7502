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
//! - [`alg`]: the algorithm vocabulary (hashes, key types, signature
//!   schemes, their OIDs), the lowest room;
//! - [`crypto`]: digests and hashing, local keys (sign, verify), RSASSA-PSS
//!   parameters;
//! - [`signer`]: the trait and the [`MemorySigner`] (NO SECURITY, tests)
//!   and `Pkcs12Signer` backends;
//! - [`cert`]: certificates, the MOJ extensions, the 法人番号, chain validation;
//! - [`cms`]: detached CMS signatures built through any signer, and verified;
//! - [`csc`]: the Cloud Signature Consortium API (wire types; with feature
//!   `remote`, the client and the `CscSigner` backend);
//! - `http` (feature `remote`): the one HTTP layer every remote call goes
//!   through (transport, retry policy, body limit);
//! - `auth` (feature `remote`): the GビズID login;
//! - [`profile`]: profiles and token files;
//! - [`text`]: certificate values and file names made safe to print;
//! - [`source`]: where a signer comes from, decided in one place (the
//!   profile → client → authorizer → signer recipe, PKCS#12 files), for
//!   the tool, the DLLs and [`blocking`];
//! - [`blocking`]: a blocking facade (open a signer, sign digests, sign and
//!   verify files) for programs with no async runtime;
//! - `sandbox` (feature `sandbox`): our CSC RSSP and GビズID-style provider
//!   on loopback, the default profile of the `crpki` tool;
//! - `provider` (features `csp`, `ksp`): the Windows CryptoAPI CSP and CNG
//!   KSP DLLs;
//! - `testing` (feature `test-util`): the conformance suite
//!   (`check_signer`) any `RemoteSigner` backend can run, the test fixtures
//!   loader, and a fault-injecting signer wrapper.
//!
//! `unsafe` is denied everywhere but in the Windows FFI files, which say so
//! at their top: `provider/{ffi,csp/exports,ksp/exports,register,certstore}.rs`
//! (the DLLs' C ABI, their registration, the certificate store) and
//! `profile/dpapi.rs` (sealing token files).
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod alg;
#[cfg(feature = "remote")]
pub mod auth;
pub mod blocking;
pub mod cert;
pub mod cms;
pub mod crypto;
pub mod csc;
pub mod error;
#[cfg(feature = "remote")]
pub mod http;
pub mod profile;
#[cfg(any(feature = "csp", feature = "ksp"))]
pub mod provider;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod secret;
pub mod signer;
pub mod source;
#[cfg(feature = "test-util")]
pub mod testing;
pub mod text;

pub use cert::{CertSummary, Certificate, MojInfo, validate_chain};
pub use crypto::{
    Digest, DigestBatch, HashAlgorithm, KeyAlgorithm, KeyInfo, PrivateKey, PublicKey, SignatureAlgorithm,
    SignatureScheme,
};
pub use error::{Error, Result, TrustFailure};
pub use secret::Secret;
#[cfg(feature = "pkcs12")]
pub use signer::Pkcs12Signer;
pub use signer::{MemorySigner, RemoteSigner};
