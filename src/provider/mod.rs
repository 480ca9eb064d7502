//! The providers: a CryptoAPI CSP (feature `csp`) and a CNG KSP (feature
//! `ksp`), DLLs that let any Windows signing application sign through a
//! [`RemoteSigner`], and a PKCS#11 module (feature `pkcs11`) for Linux and
//! macOS applications, all on one core.
//!
//! # What lives where
//!
//! Everything but the export shells is safe Rust that compiles and is
//! tested on every platform:
//!
//! - [`handle`]: integer handle tables (generational; a bad handle is a
//!   typed error, never undefined behaviour);
//! - [`worker`]: the one thread with the async runtime that runs signer
//!   calls for the synchronous exports;
//! - [`crate::source`] (outside this room, shared with the `crpki` tool):
//!   the [`SignerSource`] seam that turns container names into signers,
//!   and [`default_source`], the DLLs' choice of source;
//! - [`error`]: [`ProviderError`] and the one function that maps errors to
//!   `NTE_*`/Win32 codes;
//! - [`log`]: the error log; [`guard()`]: the panic-catching wrapper every
//!   export runs in;
//! - [`cache`]: the few-seconds signature cache;
//! - [`hash`], [`blob`]: hash objects, little-endian signatures, key blobs;
//! - [`ProviderCore`]: the above put together, shared by the CSP and KSP;
//! - [`csp`] (feature `csp`): the CryptoAPI CSP: `provider.rs`, its
//!   semantics on plain slices, and `exports.rs`, its `CP*` exports;
//! - [`ksp`] (feature `ksp`): the CNG key storage provider: `provider.rs`
//!   (semantics), `exports.rs` (the function table), `format.rs` (CNG's
//!   byte formats), `padding.rs`, `buffers.rs` (memory lent to the caller);
//! - [`pkcs11`] (feature `pkcs11`): the PKCS#11 module: `module.rs`
//!   (semantics), `token.rs` (tokens and objects), `mech.rs` (mechanisms)
//!   and `exports.rs` (the `C_*` functions and the function list);
//! - `register` (Windows): registering either provider, for
//!   `DllRegisterServer` and `crpki install`.
//!
//! Only these files may use `unsafe`: `pkcs11/exports.rs` (the `C_*`
//! exports, on every platform), `ffi.rs` (raw pointers to slices,
//! `SetLastError`, pinning the DLL), `csp/exports.rs` and `ksp/exports.rs`
//! (the `extern "system"` exports and the KSP's function table, Windows
//! only), each export being: null checks, handle lookup, a call into the
//! safe `provider.rs` next to it, and the error mapping; `register.rs`
//! (Windows only: the registry and BCrypt registration calls,
//! `DllRegisterServer`/`DllUnregisterServer`); and `certstore.rs` (Windows
//! only: binding certificates to the providers in the user's store, crypt32
//! calls only).

// Built with only some of the providers, the overview above names modules
// that are compiled out.
#![cfg_attr(
    not(all(feature = "csp", feature = "ksp", feature = "pkcs11")),
    allow(rustdoc::broken_intra_doc_links)
)]

use std::sync::Arc;

use crate::signer::{Digest, RemoteSigner, SignatureAlgorithm};

pub mod blob;
pub mod cache;
pub mod error;
mod guard;
pub mod handle;
pub mod hash;
pub mod log;
pub mod worker;

#[cfg(all(windows, any(feature = "csp", feature = "ksp")))]
pub mod certstore;
#[cfg(feature = "csp")]
pub mod csp;
pub mod ffi;
#[cfg(feature = "ksp")]
pub mod ksp;
#[cfg(feature = "pkcs11")]
pub mod pkcs11;
#[cfg(windows)]
pub mod register;

pub use crate::profile::WindowsProvider;
pub use crate::source::{
    ContainerInfo, OpenOptions, OpenedSigner, SignerSource, StaticSource, default_source,
};
pub use cache::{CacheKey, SignatureCache};
pub use error::{Api, ProviderError, status_code};
pub use guard::{catch_panic, guard, guard_with};
pub use handle::{Handle, HandleError, HandleProblem, HandleTable, ObjectKind};
pub use log::ErrorLog;
/// CSP registration, for `crpki install csp` and `uninstall csp` on Windows.
#[cfg(all(windows, feature = "csp"))]
pub use register::{install_csp, uninstall_csp};
/// KSP registration, for `crpki install ksp` and `uninstall ksp` on Windows.
#[cfg(all(windows, feature = "ksp"))]
pub use register::{install_ksp, register_ksp, unregister_ksp};
pub use worker::Worker;

/// The registered name of the CryptoAPI CSP.
pub const CSP_NAME: &str = WindowsProvider::Csp.name();
/// The registered name of the CNG key storage provider.
pub const KSP_NAME: &str = WindowsProvider::Ksp.name();

/// Where a variable-length answer goes: the caller asks for the size only
/// (a null buffer), or gives a buffer. Both CryptoAPI and CNG work so.
#[derive(Debug)]
pub enum Out<'a> {
    /// Null buffer: only the size is wanted.
    Size,
    /// The caller's buffer, of the length it declared.
    Buf(&'a mut [u8]),
}

impl Out<'_> {
    /// Answers with `data`: its length for a size query, else copies it
    /// (or fails with [`ProviderError::MoreData`]).
    pub fn put(self, data: &[u8]) -> Result<usize, ProviderError> {
        self.fits(data.len())?;
        if let Out::Buf(b) = self {
            b[..data.len()].copy_from_slice(data);
        }
        Ok(data.len())
    }

    /// Answers with a little-endian `DWORD` (both APIs pass numbers so).
    pub fn put_u32(self, value: u32) -> Result<usize, ProviderError> {
        self.put(&value.to_le_bytes())
    }

    /// Whether `len` bytes fit (always true for a size query).
    pub fn fits(&self, len: usize) -> Result<(), ProviderError> {
        match self {
            Out::Buf(b) if b.len() < len => Err(ProviderError::MoreData { needed: len }),
            _ => Ok(()),
        }
    }

    /// Whether only the size is asked for.
    pub fn is_size_query(&self) -> bool {
        matches!(self, Out::Size)
    }
}

/// An opened container: its name and signer, and how it was opened.
#[derive(Debug)]
pub struct Container {
    /// The container's name.
    pub name: String,
    /// Its signer.
    pub signer: Arc<dyn RemoteSigner>,
    /// SHA-256 of the signing certificate: identifies the key in the cache.
    pub key_id: [u8; 32],
    /// The options it was opened with.
    pub options: OpenOptions,
}

impl Container {
    /// The registrar's self-signed certificate (登記官証明書, the seed's
    /// 5.3 ②): the last certificate of the signer's chain when it is
    /// self-signed.
    pub fn registrar_certificate(&self) -> Result<&crate::cert::Certificate, ProviderError> {
        self.signer
            .chain()
            .last()
            .filter(|r| r.is_self_signed())
            .ok_or_else(|| {
                ProviderError::NotFound(
                    "the signer does not know the registrar's self-signed certificate".into(),
                )
            })
    }
}

/// What the CSP and the KSP share: the signer source, the worker and the
/// signature cache.
#[derive(Debug)]
pub struct ProviderCore {
    source: Arc<dyn SignerSource>,
    worker: Worker,
    cache: SignatureCache,
}

impl ProviderCore {
    /// A core over `source`, running signer calls on `worker`.
    pub fn new(source: Arc<dyn SignerSource>, worker: Worker, cache: SignatureCache) -> Self {
        Self {
            source,
            worker,
            cache,
        }
    }

    /// The signer source.
    pub fn source(&self) -> &Arc<dyn SignerSource> {
        &self.source
    }

    /// Opens `name` (the selected container for `None` or `""`).
    pub fn open(&self, name: Option<&str>, options: OpenOptions) -> Result<Arc<Container>, ProviderError> {
        let source = self.source.clone();
        let name = name.map(str::to_owned);
        let opened = self
            .worker
            .run(async move { source.open(name.as_deref(), options).await })?;
        Ok(Arc::new(Container {
            key_id: opened.signer.certificate().sha256_fingerprint(),
            name: opened.name,
            signer: opened.signer,
            options,
        }))
    }

    /// Gives container `name` its PIN (see [`SignerSource::set_pin`]); no
    /// network, so no worker round trip.
    pub fn set_pin(&self, name: &str, pin: crate::Secret) -> Result<(), ProviderError> {
        Ok(self.source.set_pin(name, pin)?)
    }

    /// Gives container `name` a one-time password for its next
    /// authorization (see [`SignerSource::set_otp`]); no network.
    pub fn set_otp(&self, name: &str, otp: crate::Secret) -> Result<(), ProviderError> {
        Ok(self.source.set_otp(name, otp)?)
    }

    /// Logs `container` out (see [`SignerSource::log_out`]): the source
    /// forgets its PIN, OTP and kept authorization, and the cache forgets
    /// the signatures of its key, so that nothing is signed again before
    /// the next authorization.
    pub fn log_out(&self, container: &Container) -> Result<(), ProviderError> {
        self.cache.forget_key(&container.key_id);
        let source = self.source.clone();
        let name = container.name.clone();
        self.worker.run(async move { source.log_out(&name).await })
    }

    /// Forgets the local binding of `name` (see [`SignerSource::forget`]).
    pub fn forget(&self, name: &str) -> Result<(), ProviderError> {
        let source = self.source.clone();
        let name = name.to_owned();
        self.worker.run(async move { source.forget(&name).await })
    }

    /// The containers of the source.
    pub fn containers(&self, options: OpenOptions) -> Result<Vec<ContainerInfo>, ProviderError> {
        let source = self.source.clone();
        self.worker.run(async move { source.containers(options).await })
    }

    /// Signs `digest` with the container's key: from the cache when the
    /// same signature was just made, otherwise through the signer on the
    /// worker. The signature is big-endian, as the signer made it.
    pub fn sign(
        &self,
        container: &Container,
        algorithm: SignatureAlgorithm,
        digest: &Digest,
    ) -> Result<Vec<u8>, ProviderError> {
        let key = CacheKey {
            key_id: container.key_id,
            algorithm,
            digest: digest.as_bytes().to_vec(),
        };
        if let Some(signature) = self.cache.get(&key) {
            return Ok(signature);
        }
        let signer = container.signer.clone();
        let digests = vec![digest.clone()];
        let mut signatures = self
            .worker
            .run(async move { signer.sign_digests(algorithm, &digests).await })?;
        let signature = match (signatures.pop(), signatures.is_empty()) {
            (Some(s), true) => s,
            _ => {
                return Err(crate::Error::Protocol {
                    service: "signer".into(),
                    detail: "did not return exactly one signature for one digest".into(),
                }
                .into());
            }
        };
        self.cache.put(key, signature.clone());
        Ok(signature)
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Signers for the provider's unit tests.

    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;

    use super::*;
    use crate::{MemorySigner, Result};

    /// The fixture signer (rep-rsa2048 with the registrar root as chain).
    pub fn fixture_signer() -> MemorySigner {
        MemorySigner::from_pem(
            include_str!("../../fixtures/rep-rsa2048.key.pem"),
            include_str!("../../fixtures/rep-rsa2048.pem"),
            include_str!("../../fixtures/registrar-root.pem"),
        )
        .unwrap()
    }

    /// Reads a variable-length answer the way callers do: size query,
    /// then fill.
    pub fn read(f: impl Fn(Out<'_>) -> Result<usize, ProviderError>) -> Vec<u8> {
        let n = f(Out::Size).unwrap();
        let mut buf = vec![0u8; n];
        let m = f(Out::Buf(&mut buf)).unwrap();
        buf.truncate(m);
        buf
    }

    /// A little-endian `DWORD`.
    pub fn dword_of(v: &[u8]) -> u32 {
        u32::from_le_bytes(v.try_into().unwrap())
    }

    /// Counts the signatures it makes; can be told to fail.
    #[derive(Debug)]
    pub struct CountingSigner {
        pub inner: MemorySigner,
        pub calls: AtomicUsize,
        pub fail_with: std::sync::Mutex<Option<fn() -> crate::Error>>,
        pub auth: crate::signer::UserAuthentication,
    }

    impl CountingSigner {
        pub fn new() -> Self {
            Self {
                inner: fixture_signer(),
                calls: AtomicUsize::new(0),
                fail_with: std::sync::Mutex::new(None),
                auth: crate::signer::UserAuthentication::default(),
            }
        }

        /// The same, saying it needs `auth` from its user.
        pub fn with_auth(mut self, auth: crate::signer::UserAuthentication) -> Self {
            self.auth = auth;
            self
        }

        pub fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }
    }

    #[async_trait]
    impl RemoteSigner for CountingSigner {
        crate::signer::forward_identity!(inner);

        fn user_authentication(&self) -> crate::signer::UserAuthentication {
            self.auth
        }

        async fn sign_batch(&self, batch: &crate::signer::DigestBatch<'_>) -> Result<Vec<Vec<u8>>> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if let Some(f) = *self.fail_with.lock().unwrap() {
                return Err(f());
            }
            self.inner.sign_batch(batch).await
        }
    }

    /// A source over `inner` whose containers take PINs and OTPs: it
    /// records them as (container, value), and its logouts, for the test to
    /// read.
    #[derive(Debug)]
    pub struct PinRecorder {
        pub inner: StaticSource,
        pub pins: std::sync::Mutex<Vec<(String, String)>>,
        pub otps: std::sync::Mutex<Vec<(String, String)>>,
        pub logouts: std::sync::Mutex<Vec<String>>,
    }

    impl PinRecorder {
        pub fn new(inner: StaticSource) -> Self {
            Self {
                inner,
                pins: std::sync::Mutex::default(),
                otps: std::sync::Mutex::default(),
                logouts: std::sync::Mutex::default(),
            }
        }

        pub fn pins(&self) -> Vec<(String, String)> {
            self.pins.lock().unwrap().clone()
        }

        pub fn otps(&self) -> Vec<(String, String)> {
            self.otps.lock().unwrap().clone()
        }

        pub fn logouts(&self) -> Vec<String> {
            self.logouts.lock().unwrap().clone()
        }
    }

    fn record(
        list: &std::sync::Mutex<Vec<(String, String)>>,
        container: &str,
        value: &crate::Secret,
    ) -> Result<()> {
        list.lock()
            .unwrap()
            .push((container.to_owned(), value.expose().to_owned()));
        Ok(())
    }

    #[async_trait]
    impl SignerSource for PinRecorder {
        async fn containers(&self, options: OpenOptions) -> Result<Vec<ContainerInfo>> {
            self.inner.containers(options).await
        }
        async fn open(&self, container: Option<&str>, options: OpenOptions) -> Result<OpenedSigner> {
            self.inner.open(container, options).await
        }
        fn set_pin(&self, container: &str, pin: crate::Secret) -> Result<()> {
            record(&self.pins, container, &pin)
        }
        fn set_otp(&self, container: &str, otp: crate::Secret) -> Result<()> {
            record(&self.otps, container, &otp)
        }
        async fn log_out(&self, container: &str) -> Result<()> {
            self.logouts.lock().unwrap().push(container.to_owned());
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;
    use crate::HashAlgorithm;

    fn core_with(signer: Arc<CountingSigner>) -> ProviderCore {
        let source = StaticSource::new(vec![("rep".into(), signer as Arc<dyn RemoteSigner>)]);
        ProviderCore::new(
            Arc::new(source),
            Worker::new(worker::DEFAULT_TIMEOUT, None),
            SignatureCache::default(),
        )
    }

    #[test]
    fn open_sign_and_cache() {
        let signer = Arc::new(CountingSigner::new());
        let core = core_with(signer.clone());
        let c = core.open(None, OpenOptions::default()).unwrap();
        assert_eq!(c.name, "rep");
        assert_eq!(c.key_id, signer.certificate().sha256_fingerprint());
        let d = HashAlgorithm::Sha256.digest(b"document");
        let alg = SignatureAlgorithm::RSA_PKCS1_SHA256;
        let s1 = core.sign(&c, alg, &d).unwrap();
        let s2 = core.sign(&c, alg, &d).unwrap();
        assert_eq!(s1, s2);
        assert_eq!(signer.calls(), 1, "the second request comes from the cache");
        signer
            .certificate()
            .public_key()
            .unwrap()
            .verify_digest(alg, &d, &s1)
            .unwrap();
        core.sign(&c, alg, &HashAlgorithm::Sha256.digest(b"other"))
            .unwrap();
        assert_eq!(signer.calls(), 2);
        let list = core.containers(OpenOptions::default()).unwrap();
        assert_eq!(list.len(), 1);
        let e = core.open(Some("nope"), OpenOptions::default()).unwrap_err();
        assert!(
            matches!(e, ProviderError::Crate(crate::Error::NotFound { .. })),
            "{e:?}"
        );
    }

    #[test]
    fn signer_errors_are_not_cached() {
        let signer = Arc::new(CountingSigner::new());
        let core = core_with(signer.clone());
        let c = core.open(Some("rep"), OpenOptions::silent(true)).unwrap();
        assert!(c.options.silent);
        *signer.fail_with.lock().unwrap() = Some(|| crate::Error::InteractionRequired {
            detail: "approval on the phone".into(),
        });
        let d = HashAlgorithm::Sha256.digest(b"x");
        let e = core
            .sign(&c, SignatureAlgorithm::RSA_PKCS1_SHA256, &d)
            .unwrap_err();
        assert_eq!(status_code(&e, Api::CryptoApi), error::codes::NTE_SILENT_CONTEXT);
        *signer.fail_with.lock().unwrap() = None;
        core.sign(&c, SignatureAlgorithm::RSA_PKCS1_SHA256, &d).unwrap();
        assert_eq!(signer.calls(), 2);
    }
}
