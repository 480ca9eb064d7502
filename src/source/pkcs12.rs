//! The PKCS#12 source (feature `pkcs12`): legacy 商業登記電子証明書 files,
//! named by the environment and `provider.toml` for the DLLs, or one file
//! given by a program ([`Pkcs12Source::file`], what `crpki sign --p12` and
//! [`crate::blocking`] use). See the [module documentation](super) for
//! where the DLLs find their files.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use async_trait::async_trait;

use serde::Deserialize;
use zeroize::Zeroizing;

use super::{ContainerInfo, OpenOptions, OpenedSigner, SignerSource, config_dir, selected_name};
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::signer::{Pkcs12Signer, RemoteSigner};

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
                let text =
                    Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
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

/// The container name of a file given by a program ([`Pkcs12Source::file`]).
pub const FILE_CONTAINER: &str = "pkcs12";

impl Pkcs12Source {
    /// A source over the one file `path` opened with `password`, as
    /// container [`FILE_CONTAINER`] (`crpki sign --p12`,
    /// [`crate::blocking::Signer::from_pkcs12`]). No configuration is read.
    pub fn file(path: impl Into<PathBuf>, password: &Secret) -> Self {
        let entry = Pkcs12Entry {
            name: FILE_CONTAINER.to_owned(),
            path: path.into(),
            password: PasswordFrom::Value(Zeroizing::new(password.expose().to_owned())),
        };
        Self::new(Some(entry), None)
    }

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
                    .unwrap_or_else(|| FILE_CONTAINER.to_owned()),
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
        let m = std::fs::metadata(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
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

#[cfg(test)]
mod tests {
    use zeroize::Zeroizing;

    use super::*;
    use crate::source::tests::block;

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
    fn one_file_given_by_a_program() {
        let s = Pkcs12Source::file(P12, &Secret::new("crpki-test"));
        let a = block(s.open(None, OpenOptions::default())).unwrap();
        assert_eq!(a.name, FILE_CONTAINER);
        assert!(a.signer.certificate().subject().contains("CN="));
        let e = block(Pkcs12Source::file(P12, &Secret::new("nope")).open(None, OpenOptions::default()))
            .unwrap_err();
        assert!(matches!(e, Error::WrongPassword { .. }), "{e:?}");
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
