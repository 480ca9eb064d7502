//! A blocking facade for programs that run no async runtime: open a signer
//! (from a `crpki` profile or a PKCS#12 file, through [`crate::source`]),
//! sign digests, sign files and verify their detached CMS signatures
//! (through [`crate::cms`]).
//!
//! A [`Signer`] owns a small runtime of its own and blocks the calling
//! thread on it. Calling it from inside an async runtime is refused with
//! [`Error::Unsupported`] (blocking there would stall the runtime): async
//! programs use [`crate::source`] and [`crate::cms`] directly.
//!
//! ```no_run
//! # fn demo() -> crpki::Result<()> {
//! use std::path::Path;
//! use crpki::{Certificate, Secret};
//! use crpki::blocking::{Signer, verify_file};
//!
//! let signer = Signer::from_pkcs12("rep.p12", &Secret::new("password"))?;
//! signer.sign_file(Path::new("contract.pdf"), Path::new("contract.pdf.p7s"))?;
//!
//! let roots = Certificate::parse_all(&std::fs::read("registrar-root.pem").map_err(|e| crpki::Error::io("reading the root", e))?)?;
//! let verified = verify_file(Path::new("contract.pdf.p7s"), Path::new("contract.pdf"), &roots)?;
//! println!("signed by {}", verified.signer.subject());
//! # Ok(()) }
//! ```

use std::path::Path;
use std::sync::Arc;

use crate::cert::Certificate;
use crate::cms::{self, SignOptions, VerifiedSignature};
use crate::error::{Error, Result};
use crate::signer::{Digest, RemoteSigner, SignatureAlgorithm};
use crate::source::{OpenOptions, SignerSource};

/// A signer whose calls block: any [`RemoteSigner`] with a runtime of its
/// own.
pub struct Signer {
    runtime: tokio::runtime::Runtime,
    signer: Arc<dyn RemoteSigner>,
}

crate::crypto::debug_fields!(Signer { signer, .. });

impl Signer {
    /// Wraps `signer`.
    pub fn new(signer: Arc<dyn RemoteSigner>) -> Result<Self> {
        Ok(Self {
            runtime: runtime()?,
            signer,
        })
    }

    /// Opens `container` of `source` (its selected one for `None`).
    pub fn from_source(source: &dyn SignerSource, container: Option<&str>) -> Result<Self> {
        let runtime = runtime()?;
        let opened = runtime.block_on(source.open(container, OpenOptions::default()))?;
        Ok(Self {
            runtime,
            signer: opened.signer,
        })
    }

    /// Opens the PKCS#12 file at `path` with `password`
    /// ([`Pkcs12Source::file`](crate::source::Pkcs12Source::file)).
    #[cfg(feature = "pkcs12")]
    pub fn from_pkcs12(path: impl AsRef<Path>, password: &crate::Secret) -> Result<Self> {
        let source = crate::source::Pkcs12Source::file(path.as_ref(), password);
        Self::from_source(&source, None)
    }

    /// Opens the chosen credential of a `crpki` profile (feature
    /// `remote`): profile `name` of the default config directory, or for
    /// `None` the current one, else the sandbox; its tokens are the ones
    /// `crpki login` stored. PINs and OTPs are asked through `prompt` (for
    /// example [`EnvSecrets`](crate::source::EnvSecrets): `CRPKI_PIN`,
    /// `CRPKI_OTP`); no browser is opened. See
    /// [`ProfileRecipe`](crate::source::ProfileRecipe) for more choices,
    /// and [`from_recipe`](Self::from_recipe) to use them.
    #[cfg(feature = "remote")]
    pub fn from_profile(name: Option<&str>, prompt: Arc<dyn crate::csc::SecretPrompt>) -> Result<Self> {
        let store = crate::profile::ProfileStore::open_default()?;
        let profile = crate::source::resolve_profile(&store, name)?;
        Self::from_recipe(&crate::source::ProfileRecipe::new(prompt), &store, &profile)
    }

    /// Opens the chosen credential of `profile` with `recipe`.
    #[cfg(feature = "remote")]
    pub fn from_recipe(
        recipe: &crate::source::ProfileRecipe,
        store: &crate::profile::ProfileStore,
        profile: &crate::profile::Profile,
    ) -> Result<Self> {
        let runtime = runtime()?;
        let signer = runtime.block_on(recipe.open(store, profile, profile.credential_id.as_deref()))?;
        Ok(Self {
            runtime,
            signer: Arc::new(signer),
        })
    }

    /// The async signer inside, for the rest of the crate's API.
    pub fn remote_signer(&self) -> &Arc<dyn RemoteSigner> {
        &self.signer
    }

    /// The signing certificate.
    pub fn certificate(&self) -> &Certificate {
        self.signer.certificate()
    }

    /// The chain above the certificate (up to the registrar's self-signed
    /// certificate when the signer knows it).
    pub fn chain(&self) -> &[Certificate] {
        self.signer.chain()
    }

    /// The signer's default algorithm for its key.
    pub fn default_algorithm(&self) -> SignatureAlgorithm {
        self.signer.default_algorithm()
    }

    /// Signs `digests` in one batch ([`RemoteSigner::sign_digests`]): one
    /// signature per digest, in order.
    pub fn sign_digests(&self, algorithm: SignatureAlgorithm, digests: &[Digest]) -> Result<Vec<Vec<u8>>> {
        self.block(self.signer.sign_digests(algorithm, digests))
    }

    /// Signs the file at `path` and writes its detached CMS signature (DER)
    /// to `out`, atomically ([`cms::sign_file`]).
    pub fn sign_file(&self, path: &Path, out: &Path) -> Result<()> {
        self.sign_file_with(path, out, &SignOptions::default())
    }

    /// [`sign_file`](Self::sign_file) with `options`.
    pub fn sign_file_with(&self, path: &Path, out: &Path, options: &SignOptions) -> Result<()> {
        self.block(cms::sign_file(self.signer.as_ref(), path, out, options))
    }

    /// Detached CMS signatures (DER) of contents whose digests are given,
    /// in one batch ([`cms::sign_digests`]).
    pub fn sign_contents(&self, content_digests: &[Digest]) -> Result<Vec<Vec<u8>>> {
        self.block(cms::sign_digests(
            self.signer.as_ref(),
            content_digests,
            &SignOptions::default(),
        ))
    }

    fn block<T>(&self, f: impl Future<Output = Result<T>>) -> Result<T> {
        not_in_runtime()?;
        self.runtime.block_on(f)
    }
}

/// Verifies the detached CMS signature at `signature` over the file at
/// `content` against `trusted_roots`, now ([`cms::verify_file`]).
pub fn verify_file(
    signature: &Path,
    content: &Path,
    trusted_roots: &[Certificate],
) -> Result<VerifiedSignature> {
    cms::verify_file(signature, content, trusted_roots, None)
}

fn not_in_runtime() -> Result<()> {
    match tokio::runtime::Handle::try_current() {
        Ok(_) => Err(Error::unsupported(
            "crpki::blocking inside an async runtime: use crpki::source and crpki::cms there",
        )),
        Err(_) => Ok(()),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    not_in_runtime()?;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("starting the runtime of crpki::blocking", e))
}
