//! Where a signer comes from, decided in one place: for the `crpki` tool
//! (`crpki sign`, with or without `--p12`), for the Windows DLLs, and for
//! programs through [`crate::blocking`].
//!
//! A [`SignerSource`] lists named containers and opens one as an
//! `Arc<dyn RemoteSigner>`; its callers never see which backend is behind
//! it. This room may use `signer`, `cert`, `profile`, and (feature
//! `remote`) `auth` and `csc` through their public API; it never reaches
//! into the providers.
//!
//! - [`ProfileRecipe`] (feature `remote`): THE recipe "profile → CSC client
//!   → credential authorizer → signer". The tool, the DLLs' source and the
//!   examples differ only in what they give it (how PINs are asked, which
//!   browser, the signer options).
//! - [`ProfileSource`] (feature `remote`): the DLLs' remote source, the
//!   recipe over the user's current `crpki` profile, with signers kept
//!   between calls, PINs from the application, silence, logout.
//! - [`Pkcs12Source`] (feature `pkcs12`): legacy PKCS#12 files, one given
//!   by a program ([`Pkcs12Source::file`]) or those the DLLs are configured
//!   with.
//! - [`StaticSource`]: a fixed list of signers (tests, embedding programs).
//! - [`default_source`]: the one choice a DLL makes.
//!
//! # The remote signer
//!
//! [`ProfileSource`]'s containers are the credential IDs of the user's
//! current `crpki` profile, its selected container the profile's chosen
//! credential. It honours [`OpenOptions::silent`]: when a login or an
//! approval would need the user and the caller asked for silence
//! (`CRYPT_SILENT`, `NCRYPT_SILENT_FLAG`), it returns
//! [`crate::Error::InteractionRequired`], at open time or later from
//! `sign_digests`. [`default_source`] returns it unless a PKCS#12
//! container is configured.
//!
//! # The PKCS#12 source (legacy files)
//!
//! For a DLL, [`Pkcs12Source`]'s containers come from, in this order:
//!
//! - the environment: `CRPKI_PROVIDER_PKCS12` (the file),
//!   `CRPKI_PROVIDER_PKCS12_PASSWORD` (its password) and optionally
//!   `CRPKI_PROVIDER_CONTAINER` (the container name, default `pkcs12`);
//! - `provider.toml` in the config directory (`CRPKI_CONFIG_DIR`, else
//!   `%APPDATA%\crpki\config` on Windows, `~/.config/crpki` on Linux):
//!
//! ```toml
//! selected = "main"            # optional: the container used when none is named
//!
//! [[pkcs12]]
//! name = "main"                # the container name
//! path = "C:/Users/me/rep.p12" # relative paths are relative to the config directory
//! password_env = "MY_P12_PASSWORD"      # where the password comes from: an
//! # password_file = "p12-password.txt"  # environment variable, or a file
//! ```
//!
//! Passwords are never written in `provider.toml` itself. The file is read
//! again on every call (cheap), so a change takes effect without restarting
//! the host application; decrypted files are kept in memory until the file
//! on disk changes.

// Without `remote`/`pkcs12` the overview above names sources that are
// compiled out.
#![cfg_attr(
    not(all(feature = "remote", feature = "pkcs12")),
    allow(rustdoc::broken_intra_doc_links)
)]

#[cfg(feature = "pkcs12")]
mod pkcs12;
#[cfg(feature = "remote")]
mod profile;

#[cfg(feature = "pkcs12")]
pub use pkcs12::{
    FILE_CONTAINER, PKCS12_CONTAINER_ENV, PKCS12_ENV, PKCS12_PASSWORD_ENV, PROVIDER_CONFIG_FILE,
    PasswordFrom, Pkcs12Entry, Pkcs12Source,
};
#[cfg(feature = "remote")]
pub use profile::{EnvSecrets, ProfileRecipe, ProfileSource, SECRET_ENV_PREFIX, resolve_profile};

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;

use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::signer::RemoteSigner;

/// How a container is being opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OpenOptions {
    /// The caller cannot interact with the user: anything that would need a
    /// login or an approval fails with [`Error::InteractionRequired`].
    pub silent: bool,
}

impl OpenOptions {
    /// Options with `silent` set as given.
    pub fn silent(silent: bool) -> Self {
        Self { silent }
    }
}

/// One container a source offers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerInfo {
    /// Its name (what `CryptAcquireContext` takes).
    pub name: String,
    /// Whether it is the one used when no name is given.
    pub selected: bool,
    /// The certificate's subject, when known without opening it.
    pub subject: Option<String>,
}

/// An opened container.
#[derive(Clone, Debug)]
pub struct OpenedSigner {
    /// The container's name (the selected container's real name when the
    /// caller named none).
    pub name: String,
    /// Its signer.
    pub signer: Arc<dyn RemoteSigner>,
}

/// A source of signers, by container name.
#[async_trait]
pub trait SignerSource: fmt::Debug + Send + Sync + 'static {
    /// The containers, the selected one marked.
    async fn containers(&self, options: OpenOptions) -> Result<Vec<ContainerInfo>>;

    /// Opens `container`, or the selected one for `None` or an empty name.
    ///
    /// Errors: [`Error::NotFound`] for an unknown name, [`Error::Config`]
    /// when nothing is configured, [`Error::InteractionRequired`] when the
    /// user would be needed and `options.silent` is set, and whatever the
    /// backend reports.
    async fn open(&self, container: Option<&str>, options: OpenOptions) -> Result<OpenedSigner>;

    /// Forgets what this machine keeps about `container` (the KSP's
    /// `DeleteKey`): a remote source drops the local selection and cached
    /// material of that credential. It never deletes the key itself, which
    /// belongs to the signing service. The default keeps nothing, so has
    /// nothing to forget.
    async fn forget(&self, container: &str) -> Result<()> {
        let _ = container;
        Ok(())
    }

    /// Takes the PIN of `container` from the application, as a smart card
    /// provider does (the KSP's `NCRYPT_PIN_PROPERTY`, the CSP's
    /// `PP_SIGNATURE_PIN`): the next authorization that needs a PIN uses
    /// it instead of asking. A source whose containers need no PIN refuses
    /// it ([`Error::Unsupported`], the default) rather than ignore it.
    fn set_pin(&self, container: &str, pin: Secret) -> Result<()> {
        let _ = pin;
        Err(Error::unsupported(format!(
            "setting a PIN: container '{container}' is not protected by one"
        )))
    }

    /// Takes a one-time password for `container` from the application (the
    /// PKCS#11 module's `C_Login(CKU_CONTEXT_SPECIFIC)`): the next
    /// authorization that needs an OTP uses it instead of asking, and it
    /// is gone after that one use (wiped unused once the signature it was
    /// given for is over). A source whose containers need no OTP refuses it
    /// ([`Error::Unsupported`], the default) rather than ignore it.
    fn set_otp(&self, container: &str, otp: Secret) -> Result<()> {
        let _ = otp;
        Err(Error::unsupported(format!(
            "setting a one-time password: container '{container}' does not take one"
        )))
    }

    /// Forgets what the application gave for `container` (its PIN, an
    /// unused one-time password) and the authorizations they bought, so
    /// that the next signature is authorized again with what it gives next
    /// (the PKCS#11 module's `C_Logout`). Nothing happens to the login of
    /// the `crpki` profile. The default keeps nothing, so has nothing to
    /// forget.
    async fn log_out(&self, container: &str) -> Result<()> {
        let _ = container;
        Ok(())
    }
}

/// The source a provider DLL uses: the PKCS#12 source (see the module
/// documentation) when a PKCS#12 container is configured, else, with the
/// `remote` feature, the current `crpki` profile ([`ProfileSource`]); a source
/// with no container when neither is built in. Chosen once, when the DLL
/// is first used.
pub fn default_source() -> Arc<dyn SignerSource> {
    #[cfg(feature = "pkcs12")]
    {
        let p12 = Pkcs12Source::from_environment();
        if p12.is_configured() || !cfg!(feature = "remote") {
            return Arc::new(p12);
        }
    }
    #[cfg(feature = "remote")]
    {
        Arc::new(ProfileSource::new())
    }
    #[cfg(not(feature = "remote"))]
    {
        Arc::new(StaticSource::new(Vec::new()))
    }
}

/// The configuration directory: the one of the `crpki` profiles
/// (`CRPKI_CONFIG_DIR`, else the platform's, see [`crate::profile`]).
pub fn config_dir() -> Option<PathBuf> {
    crate::profile::ProfileStore::open_default()
        .ok()
        .map(|store| store.dir().to_path_buf())
}

/// The selected name among `names`: `selected` if it is there, else the
/// first.
fn selected_name<'a>(names: impl Iterator<Item = &'a str> + Clone, selected: Option<&str>) -> Option<String> {
    match selected {
        Some(s) => names.clone().find(|n| *n == s).map(str::to_owned),
        None => names.clone().next().map(str::to_owned),
    }
}

/// A fixed list of signers (tests, and programs embedding the providers).
/// The first one is selected unless [`select`](Self::select) says otherwise.
#[derive(Debug, Default)]
pub struct StaticSource {
    entries: Vec<(String, Arc<dyn RemoteSigner>)>,
    selected: Option<String>,
}

impl StaticSource {
    /// A source over `entries` (name, signer).
    pub fn new(entries: Vec<(String, Arc<dyn RemoteSigner>)>) -> Self {
        Self {
            entries,
            selected: None,
        }
    }

    /// Marks `name` as the selected container.
    pub fn select(mut self, name: &str) -> Self {
        self.selected = Some(name.to_owned());
        self
    }
}

#[async_trait]
impl SignerSource for StaticSource {
    async fn containers(&self, _options: OpenOptions) -> Result<Vec<ContainerInfo>> {
        let selected = selected_name(
            self.entries.iter().map(|(n, _)| n.as_str()),
            self.selected.as_deref(),
        );
        Ok(self
            .entries
            .iter()
            .map(|(name, signer)| ContainerInfo {
                name: name.clone(),
                selected: selected.as_deref() == Some(name),
                subject: Some(signer.certificate().subject()),
            })
            .collect())
    }

    async fn open(&self, container: Option<&str>, _options: OpenOptions) -> Result<OpenedSigner> {
        let name = match container.filter(|c| !c.is_empty()) {
            Some(c) => c.to_owned(),
            None => selected_name(
                self.entries.iter().map(|(n, _)| n.as_str()),
                self.selected.as_deref(),
            )
            .ok_or_else(|| Error::Config {
                detail: "no signer is configured for the provider".into(),
            })?,
        };
        self.entries
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, s)| OpenedSigner {
                name: n.clone(),
                signer: s.clone(),
            })
            .ok_or_else(|| Error::NotFound {
                what: format!("container '{name}'"),
            })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::MemorySigner;

    /// Runs `f` to completion on a one-thread runtime.
    pub(crate) fn block<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn memory_signer() -> Arc<dyn RemoteSigner> {
        Arc::new(
            MemorySigner::from_pem(
                include_str!("../../fixtures/rep-rsa2048.key.pem"),
                include_str!("../../fixtures/rep-rsa2048.pem"),
                include_str!("../../fixtures/registrar-root.pem"),
            )
            .unwrap(),
        )
    }

    #[test]
    fn static_source() {
        let s = StaticSource::new(vec![("a".into(), memory_signer()), ("b".into(), memory_signer())]);
        let list = block(s.containers(OpenOptions::default())).unwrap();
        assert_eq!(
            list.iter()
                .map(|c| (c.name.as_str(), c.selected))
                .collect::<Vec<_>>(),
            [("a", true), ("b", false)]
        );
        assert!(list[0].subject.as_deref().unwrap().contains("CN="));
        assert_eq!(block(s.open(None, OpenOptions::default())).unwrap().name, "a");
        assert_eq!(block(s.open(Some(""), OpenOptions::default())).unwrap().name, "a");
        assert_eq!(
            block(s.open(Some("b"), OpenOptions::default())).unwrap().name,
            "b"
        );
        let e = block(s.open(Some("c"), OpenOptions::default())).unwrap_err();
        assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
        let s = s.select("b");
        assert_eq!(block(s.open(None, OpenOptions::silent(true))).unwrap().name, "b");
        let e = block(StaticSource::default().open(None, OpenOptions::default())).unwrap_err();
        assert!(matches!(e, Error::Config { .. }), "{e:?}");
    }
}
