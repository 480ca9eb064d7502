//! Where a provider's signers come from: the seam between the Windows
//! exports and the key sources.
//!
//! The exports only know container names. A [`SignerSource`] lists the
//! containers and opens one as an `Arc<dyn RemoteSigner>`; the exports never
//! see which backend is behind it. [`default_source`] is the one place that
//! picks the source for a DLL.
//!
//! # The remote signer
//!
//! The CSC remote signer is
//! [`ProfileSource`](super::profile_source::ProfileSource) (feature
//! `remote`): its containers are the credential IDs of the user's current
//! `crpki` profile, its selected container the profile's chosen
//! credential. It honours [`OpenOptions::silent`]: when a login or an
//! approval would need the user and the caller asked for silence
//! (`CRYPT_SILENT`, `NCRYPT_SILENT_FLAG`), it returns
//! [`crate::Error::InteractionRequired`], at open time or later from
//! `sign_digests`. [`default_source`] returns it unless a PKCS#12
//! container is configured.
//!
//! # The PKCS#12 source (legacy files)
//!
//! [`Pkcs12Source`] (feature `pkcs12`) serves legacy 商業登記電子証明書
//! files. Its containers come from, in this order:
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
}

/// The source a provider DLL uses: the PKCS#12 source (see the module
/// documentation) when a PKCS#12 container is configured, else, with the
/// `remote` feature, the current `crpki` profile
/// ([`ProfileSource`](super::profile_source::ProfileSource)); a source
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
        Arc::new(super::profile_source::ProfileSource::new())
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

#[cfg(feature = "pkcs12")]
pub use pkcs12_source::{
    PKCS12_CONTAINER_ENV, PKCS12_ENV, PKCS12_PASSWORD_ENV, PROVIDER_CONFIG_FILE, PasswordFrom, Pkcs12Entry,
    Pkcs12Source,
};

#[cfg(feature = "pkcs12")]
mod pkcs12_source {
    use std::collections::HashMap;
    use std::path::Path;
    use std::sync::{Mutex, PoisonError};
    use std::time::SystemTime;

    use serde::Deserialize;
    use zeroize::Zeroizing;

    use super::*;
    use crate::signer::Pkcs12Signer;

    /// Environment variable naming a PKCS#12 file to serve.
    pub const PKCS12_ENV: &str = "CRPKI_PROVIDER_PKCS12";
    /// Environment variable holding that file's password.
    pub const PKCS12_PASSWORD_ENV: &str = "CRPKI_PROVIDER_PKCS12_PASSWORD";
    /// Environment variable naming its container (default `pkcs12`).
    pub const PKCS12_CONTAINER_ENV: &str = "CRPKI_PROVIDER_CONTAINER";
    /// The provider's file in the config directory.
    pub const PROVIDER_CONFIG_FILE: &str = "provider.toml";

    /// Where a PKCS#12 password comes from. `Debug` never shows it.
    #[derive(Clone)]
    pub enum PasswordFrom {
        /// An environment variable, read when the file is opened.
        Env(String),
        /// A file whose content (without a trailing newline) is the password.
        File(PathBuf),
        /// The password itself (programs embedding the provider, tests).
        Value(Zeroizing<String>),
    }

    impl fmt::Debug for PasswordFrom {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                Self::Env(v) => write!(f, "Env({v})"),
                Self::File(p) => write!(f, "File({})", p.display()),
                Self::Value(_) => f.write_str("Value(..)"),
            }
        }
    }

    impl PasswordFrom {
        fn read(&self, container: &str) -> Result<Zeroizing<String>> {
            match self {
                Self::Env(var) => std::env::var(var).map(Zeroizing::new).map_err(|_| Error::Config {
                    detail: format!(
                        "the password of container '{container}' should be in ${var}, which is not set"
                    ),
                }),
                Self::File(path) => {
                    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
                        Error::io(format!("reading the password file {}", path.display()), e)
                    })?);
                    Ok(Zeroizing::new(text.trim_end_matches(['\r', '\n']).to_owned()))
                }
                Self::Value(v) => Ok(v.clone()),
            }
        }
    }

    /// One PKCS#12 container.
    #[derive(Clone, Debug)]
    pub struct Pkcs12Entry {
        /// The container name.
        pub name: String,
        /// The file.
        pub path: PathBuf,
        /// Its password.
        pub password: PasswordFrom,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct ConfigFile {
        selected: Option<String>,
        #[serde(default)]
        pkcs12: Vec<ConfigEntry>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct ConfigEntry {
        name: String,
        path: PathBuf,
        password_env: Option<String>,
        password_file: Option<PathBuf>,
    }

    struct Opened {
        path: PathBuf,
        stamp: (u64, Option<SystemTime>),
        signer: Arc<dyn RemoteSigner>,
    }

    /// Serves PKCS#12 files named by the environment and `provider.toml`
    /// (see the module documentation).
    pub struct Pkcs12Source {
        env_entry: Option<Pkcs12Entry>,
        config_file: Option<PathBuf>,
        opened: Mutex<HashMap<String, Opened>>,
    }

    impl fmt::Debug for Pkcs12Source {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("Pkcs12Source")
                .field("env_entry", &self.env_entry)
                .field("config_file", &self.config_file)
                .finish_non_exhaustive()
        }
    }

    impl Pkcs12Source {
        /// A source over `entry` (if any) and the containers of `config_file`
        /// (if given; a missing file has none).
        pub fn new(entry: Option<Pkcs12Entry>, config_file: Option<PathBuf>) -> Self {
            Self {
                env_entry: entry,
                config_file,
                opened: Mutex::new(HashMap::new()),
            }
        }

        /// The source configured by the environment and
        /// `<config dir>/provider.toml`.
        pub fn from_environment() -> Self {
            let entry = std::env::var_os(PKCS12_ENV)
                .filter(|p| !p.is_empty())
                .map(|path| Pkcs12Entry {
                    name: std::env::var(PKCS12_CONTAINER_ENV)
                        .ok()
                        .filter(|n| !n.is_empty())
                        .unwrap_or_else(|| "pkcs12".to_owned()),
                    path: PathBuf::from(path),
                    password: PasswordFrom::Env(PKCS12_PASSWORD_ENV.to_owned()),
                });
            Self::new(entry, config_dir().map(|d| d.join(PROVIDER_CONFIG_FILE)))
        }

        /// Whether any container is configured (a broken `provider.toml`
        /// counts: its error is what the caller should see).
        pub fn is_configured(&self) -> bool {
            self.entries().map_or(true, |(entries, _)| !entries.is_empty())
        }

        /// All entries and the selected name.
        fn entries(&self) -> Result<(Vec<Pkcs12Entry>, Option<String>)> {
            let mut entries: Vec<Pkcs12Entry> = self.env_entry.iter().cloned().collect();
            let mut selected = None;
            if let Some(file) = &self.config_file {
                match std::fs::read_to_string(file) {
                    Ok(text) => {
                        let config: ConfigFile = toml::from_str(&text).map_err(|e| Error::Config {
                            detail: format!("{}: {e}", file.display()),
                        })?;
                        let base = file.parent().unwrap_or(Path::new("."));
                        for e in config.pkcs12 {
                            let password = match (e.password_env, e.password_file) {
                                (Some(var), None) => PasswordFrom::Env(var),
                                (None, Some(p)) => PasswordFrom::File(base.join(p)),
                                _ => {
                                    return Err(Error::Config {
                                        detail: format!(
                                            "{}: container '{}' needs exactly one of password_env, password_file",
                                            file.display(),
                                            e.name
                                        ),
                                    });
                                }
                            };
                            entries.push(Pkcs12Entry {
                                name: e.name,
                                path: base.join(e.path),
                                password,
                            });
                        }
                        selected = config.selected;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::io(format!("reading {}", file.display()), e)),
                }
            }
            for (i, e) in entries.iter().enumerate() {
                if e.name.is_empty() || entries[..i].iter().any(|o| o.name == e.name) {
                    return Err(Error::Config {
                        detail: format!("the container name '{}' is empty or used twice", e.name),
                    });
                }
            }
            if let Some(s) = &selected
                && !entries.iter().any(|e| e.name == *s)
            {
                return Err(Error::Config {
                    detail: format!("the selected container '{s}' is not configured"),
                });
            }
            Ok((entries, selected))
        }

        fn stamp(path: &Path) -> Result<(u64, Option<SystemTime>)> {
            let m =
                std::fs::metadata(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
            Ok((m.len(), m.modified().ok()))
        }
    }

    #[async_trait]
    impl SignerSource for Pkcs12Source {
        async fn containers(&self, _options: OpenOptions) -> Result<Vec<ContainerInfo>> {
            let (entries, selected) = self.entries()?;
            let selected = selected_name(entries.iter().map(|e| e.name.as_str()), selected.as_deref());
            let opened = self.opened.lock().unwrap_or_else(PoisonError::into_inner);
            Ok(entries
                .iter()
                .map(|e| ContainerInfo {
                    name: e.name.clone(),
                    selected: selected.as_deref() == Some(e.name.as_str()),
                    subject: opened
                        .get(&e.name)
                        .filter(|o| o.path == e.path)
                        .map(|o| o.signer.certificate().subject()),
                })
                .collect())
        }

        async fn open(&self, container: Option<&str>, _options: OpenOptions) -> Result<OpenedSigner> {
            // Opening a file never needs the user: `silent` changes nothing.
            let (entries, selected) = self.entries()?;
            let name = match container.filter(|c| !c.is_empty()) {
                Some(c) => c.to_owned(),
                None => selected_name(entries.iter().map(|e| e.name.as_str()), selected.as_deref()).ok_or_else(
                    || Error::Config {
                        detail: format!(
                            "no signer is configured for the provider: set {PKCS12_ENV} and {PKCS12_PASSWORD_ENV}, or write {PROVIDER_CONFIG_FILE} in the crpki config directory"
                        ),
                    },
                )?,
            };
            let entry = entries
                .iter()
                .find(|e| e.name == name)
                .ok_or_else(|| Error::NotFound {
                    what: format!("container '{name}'"),
                })?;
            let stamp = Self::stamp(&entry.path)?;
            {
                let opened = self.opened.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(o) = opened
                    .get(&name)
                    .filter(|o| o.path == entry.path && o.stamp == stamp)
                {
                    return Ok(OpenedSigner {
                        name,
                        signer: o.signer.clone(),
                    });
                }
            }
            let password = entry.password.read(&name)?;
            let signer: Arc<dyn RemoteSigner> = Arc::new(Pkcs12Signer::open(&entry.path, &password)?);
            self.opened.lock().unwrap_or_else(PoisonError::into_inner).insert(
                name.clone(),
                Opened {
                    path: entry.path.clone(),
                    stamp,
                    signer: signer.clone(),
                },
            );
            Ok(OpenedSigner { name, signer })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemorySigner;

    fn block<T>(f: impl std::future::Future<Output = T>) -> T {
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

    #[cfg(feature = "pkcs12")]
    mod pkcs12 {
        use zeroize::Zeroizing;

        use super::*;

        const P12: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/rep-rsa2048.p12");
        const LEGACY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/rep-rsa2048-legacy.p12");

        fn entry(name: &str, path: &str, password: &str) -> Pkcs12Entry {
            Pkcs12Entry {
                name: name.into(),
                path: path.into(),
                password: PasswordFrom::Value(Zeroizing::new(password.into())),
            }
        }

        #[test]
        fn env_entry_opens_and_is_reused() {
            let s = Pkcs12Source::new(Some(entry("rep", P12, "crpki-test")), None);
            let a = block(s.open(None, OpenOptions::default())).unwrap();
            assert_eq!(a.name, "rep");
            assert!(a.signer.certificate().subject().contains("CN="));
            assert_eq!(a.signer.chain().len(), 1);
            let b = block(s.open(Some("rep"), OpenOptions::default())).unwrap();
            assert!(Arc::ptr_eq(&a.signer, &b.signer), "decrypted once, then reused");
            let list = block(s.containers(OpenOptions::default())).unwrap();
            assert_eq!(list.len(), 1);
            assert!(list[0].selected && list[0].subject.is_some());
        }

        #[test]
        fn wrong_password_and_missing_things() {
            let s = Pkcs12Source::new(Some(entry("rep", P12, "nope")), None);
            let e = block(s.open(None, OpenOptions::default())).unwrap_err();
            assert!(matches!(e, Error::WrongPassword { .. }), "{e:?}");
            assert!(!format!("{e} {e:?}").contains("nope"));
            let e = block(s.open(Some("other"), OpenOptions::default())).unwrap_err();
            assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
            let s = Pkcs12Source::new(Some(entry("rep", "/nonexistent/x.p12", "x")), None);
            let e = block(s.open(None, OpenOptions::default())).unwrap_err();
            assert!(matches!(e, Error::Io { .. }), "{e:?}");
            let s = Pkcs12Source::new(None, Some("/nonexistent/provider.toml".into()));
            let e = block(s.open(None, OpenOptions::default())).unwrap_err();
            assert!(matches!(e, Error::Config { .. }), "{e:?}");
            assert!(block(s.containers(OpenOptions::default())).unwrap().is_empty());
        }

        #[test]
        fn config_file() {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("pw.txt"), "crpki-test\n").unwrap();
            std::fs::copy(LEGACY, dir.path().join("legacy.p12")).unwrap();
            let file = dir.path().join(PROVIDER_CONFIG_FILE);
            std::fs::write(
                &file,
                format!(
                    "selected = \"legacy\"\n\
                     [[pkcs12]]\nname = \"modern\"\npath = '{P12}'\npassword_file = \"pw.txt\"\n\
                     [[pkcs12]]\nname = \"legacy\"\npath = \"legacy.p12\"\npassword_file = \"pw.txt\"\n"
                ),
            )
            .unwrap();
            let s = Pkcs12Source::new(Some(entry("env", P12, "crpki-test")), Some(file.clone()));
            let list = block(s.containers(OpenOptions::default())).unwrap();
            assert_eq!(
                list.iter()
                    .map(|c| (c.name.as_str(), c.selected))
                    .collect::<Vec<_>>(),
                [("env", false), ("modern", false), ("legacy", true)]
            );
            assert_eq!(
                block(s.open(None, OpenOptions::default())).unwrap().name,
                "legacy"
            );
            assert_eq!(
                block(s.open(Some("modern"), OpenOptions::default()))
                    .unwrap()
                    .name,
                "modern"
            );

            for (bad, why) in [
                ("[[pkcs12]]\nname = \"x\"\npath = \"a\"\n", "no password source"),
                (
                    "[[pkcs12]]\nname = \"x\"\npath = \"a\"\npassword_env = \"A\"\npassword_file = \"b\"\n",
                    "two",
                ),
                ("selected = \"zz\"\n", "unknown selected"),
                ("surprise = 1\n", "unknown field"),
                (
                    "[[pkcs12]]\nname = \"env\"\npath = \"a\"\npassword_env = \"A\"\n",
                    "duplicate name",
                ),
            ] {
                std::fs::write(&file, bad).unwrap();
                let e = block(s.open(None, OpenOptions::default())).unwrap_err();
                assert!(matches!(e, Error::Config { .. }), "{why}: {e:?}");
            }
        }

        #[test]
        fn password_from_env_var_that_is_unset() {
            let s = Pkcs12Source::new(
                Some(Pkcs12Entry {
                    name: "rep".into(),
                    path: P12.into(),
                    password: PasswordFrom::Env("CRPKI_TEST_SURELY_UNSET_VARIABLE".into()),
                }),
                None,
            );
            let e = block(s.open(None, OpenOptions::default())).unwrap_err();
            assert!(matches!(e, Error::Config { .. }), "{e:?}");
            assert_eq!(
                format!("{:?}", PasswordFrom::Value(Zeroizing::new("secret".into()))),
                "Value(..)"
            );
        }
    }
}
