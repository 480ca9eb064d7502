//! # crpki
//!
//! Sign with Japan's commercial-registration certificate (商業登記電子証明書),
//! whose key now lives in a remote signing service (a CSC RSSP reached after
//! a GビズID login), in a legacy PKCS#12 file, or in memory for tests.
//!
//! The core is the [`RemoteSigner`] trait: it gives the signing certificate
//! and its chain, and signs batches of digests. Everything else only sees
//! the trait. The rooms, from the bottom (each uses only rooms above it in
//! this list; `tests/layering.rs` checks it, CONTRIBUTING.md has the rules):
//!
//! - [`alg`]: the algorithm vocabulary (hashes, key types, signature
//!   schemes, their OIDs); [`secret`]: [`Secret`]; [`error`]: the one
//!   [`Error`]; [`text`]: certificate values and file names made safe to
//!   print;
//! - [`crypto`]: digests and hashing, local keys (sign, verify), RSASSA-PSS
//!   parameters, the checked [`DigestBatch`];
//! - [`cert`]: certificates, the MOJ extensions, the 法人番号, bounded chain
//!   building and validation;
//! - [`signer`]: the trait and the [`MemorySigner`] (NO SECURITY, tests)
//!   and `Pkcs12Signer` backends;
//! - [`tsp`]: RFC 3161 timestamps: requests, replies, tokens checked
//!   against an imprint and a TSA root; with feature `remote` the TSA
//!   client (`tsp::TsaClient`) over `http`;
//! - [`cms`]: detached CMS signatures built through any signer, and verified
//!   (CAdES-T: signature timestamps added and checked);
//!   `xml` (feature `xml`): XML signatures (XMLDSig: the e-Gov manifest,
//!   enveloped documents) through any signer, our C14N, verification;
//! - `http` (feature `remote`): the one HTTP layer every remote call goes
//!   through (transport, retry policy, body limit, `sanitize`);
//! - [`revocation`]: OCSP and CRLs checked offline, and (feature `remote`)
//!   fetched through `http` with a per-run cache;
//! - [`profile`]: profiles and token files;
//! - `auth` (feature `remote`): the one OAuth 2.0 client (`auth::oauth2`),
//!   the GビズID OpenID login on top (`auth::oidc`), the one token cache;
//! - [`csc`]: the Cloud Signature Consortium API: the credential model, one
//!   wire adapter per version; with feature `remote`, one authenticated POST
//!   (`csc::exchange`), the client and the `CscSigner` backend;
//! - [`source`]: where a signer comes from, decided in one place (the
//!   profile → client → authorizer → signer recipe, PKCS#12 files), for
//!   the tool, the DLLs and [`blocking`];
//! - `sandbox` (feature `sandbox`): our CSC RSSP and GビズID-style provider
//!   on loopback, the default profile of the `crpki` tool;
//! - `provider` (features `csp`, `ksp`, `pkcs11`): the PKCS#11 module, and the Windows CryptoAPI CSP and CNG
//!   KSP DLLs; [`blocking`]: a blocking facade (open a signer, sign digests,
//!   sign and verify files) for programs with no async runtime; `testing`
//!   (feature `test-util`): the conformance suite (`check_signer`) any
//!   `RemoteSigner` backend can run, the test fixtures loader, and a
//!   fault-injecting signer wrapper.
//!
//! ## The flows, and where to read them
//!
//! - **Remote signing** (`crpki sign`): `source::ProfileRecipe` opens a
//!   `csc::CscSigner`; its `sign_batch` authorizes (`csc::authorize`) and
//!   calls `signatures/signHash` (`csc::client` → `csc::exchange` → `http`);
//!   [`cms`] wraps the signatures.
//! - **Login** (`crpki login`): `auth::oidc` (discovery, JWKS, ID token) on
//!   `auth::oauth2` (PKCE code flow over the loopback listener); tokens go to
//!   [`profile`]'s token files through the token cache.
//! - **Verification** (`crpki verify`): [`cms::verify_detached`] → the
//!   signer's certificate → [`cert::validate_chain`].
//! - **Windows applications**: `provider::csp` / `provider::ksp` (exports →
//!   provider semantics) → the provider core → [`source`]; **PKCS#11
//!   consumers** (NSS, OpenSSL, …): `provider::pkcs11` the same way.
//!
//! `unsafe` is denied everywhere but in the FFI files, which say so
//! at their top: `provider/{ffi,csp/exports,ksp/exports,register,certstore}.rs`
//! (the DLLs' C ABI, their registration, the certificate store),
//! `provider/pkcs11/exports.rs` (the PKCS#11 module's C ABI),
//! `profile/dpapi.rs` (sealing token files) and `memory.rs` (one
//! allocator setting for long batches).
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
pub mod memory;
#[cfg(feature = "pdf")]
pub mod pdf;
pub mod profile;
#[cfg(any(feature = "csp", feature = "ksp", feature = "pkcs11"))]
pub mod provider;
pub mod revocation;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod secret;
pub mod signer;
pub mod source;
#[cfg(feature = "test-util")]
pub mod testing;
pub mod text;
pub mod tsp;
#[cfg(feature = "xml")]
pub mod xml;

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
