//! `profiles.toml`: the profiles and the current one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{FileTokenStore, Profile, SANDBOX_PROFILE, SandboxEndpoints, TokenStore, fsutil, validate_name};
use crate::error::{Error, Result};

/// Environment variable that replaces the platform config directory.
pub const CONFIG_DIR_ENV: &str = "CRPKI_CONFIG_DIR";
/// Environment variable that overrides the current profile.
pub const PROFILE_ENV: &str = "CRPKI_PROFILE";
/// Environment variable that replaces the default sandbox state directory.
pub const SANDBOX_STATE_ENV: &str = "CRPKI_SANDBOX_STATE";

const CONFIG_FILE: &str = "profiles.toml";
const TOKENS_DIR: &str = "tokens";

#[derive(Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    current: Option<String>,
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

/// The profiles of one config directory.
///
/// Every operation reads `profiles.toml` afresh and every change rewrites
/// it atomically, so several crpki processes see each other's changes (two
/// simultaneous edits: the last one wins).
#[derive(Clone, Debug)]
pub struct ProfileStore {
    dir: PathBuf,
}

impl ProfileStore {
    /// The store in `$CRPKI_CONFIG_DIR`, or else in the platform config
    /// directory.
    pub fn open_default() -> Result<Self> {
        if let Some(dir) = std::env::var_os(CONFIG_DIR_ENV).filter(|d| !d.is_empty()) {
            return Ok(Self::open(PathBuf::from(dir)));
        }
        let dirs = directories::ProjectDirs::from("", "", "crpki").ok_or_else(|| Error::Config {
            detail: format!("cannot find the home directory; set {CONFIG_DIR_ENV}"),
        })?;
        Ok(Self::open(dirs.config_dir().to_path_buf()))
    }

    /// The store in `dir` (created on first save).
    pub fn open(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The config directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of `profiles.toml`.
    pub fn config_file(&self) -> PathBuf {
        self.dir.join(CONFIG_FILE)
    }

    /// The token files of these profiles (`<dir>/tokens`).
    pub fn token_store(&self) -> FileTokenStore {
        FileTokenStore::new(self.dir.join(TOKENS_DIR))
    }

    /// Where the sandbox keeps its state when neither the profile nor
    /// `crpki sandbox serve --state` names a directory:
    /// `$CRPKI_SANDBOX_STATE`, or else `<config dir>/sandbox`.
    pub fn default_sandbox_state_dir(&self) -> PathBuf {
        match std::env::var_os(SANDBOX_STATE_ENV).filter(|d| !d.is_empty()) {
            Some(d) => PathBuf::from(d),
            None => self.dir.join("sandbox"),
        }
    }

    fn load(&self) -> Result<ConfigFile> {
        let path = self.config_file();
        let Some(text) = fsutil::read_optional(&path)? else {
            return Ok(ConfigFile::default());
        };
        let mut config: ConfigFile = toml::from_str(&text).map_err(|e| {
            let (line, col) = e
                .span()
                .map(|s| fsutil::line_col(&text, s.start))
                .unwrap_or((0, 0));
            Error::Config {
                detail: format!("{} (line {line}, column {col}): {}", path.display(), e.message()),
            }
        })?;
        for (name, profile) in &mut config.profiles {
            validate_name(name).map_err(|e| Error::Config {
                detail: format!("{}: {e}", path.display()),
            })?;
            profile.name.clone_from(name);
        }
        Ok(config)
    }

    fn save(&self, config: &ConfigFile) -> Result<()> {
        fsutil::create_private_dir(&self.dir)?;
        let text = toml::to_string(config).map_err(|e| Error::Config {
            detail: format!("cannot encode {}: {e}", self.config_file().display()),
        })?;
        let body = format!("# crpki profiles; edit with `crpki profile …`.\n{text}");
        fsutil::write_atomic(&self.config_file(), body.as_bytes())
    }

    fn lookup(config: &ConfigFile, name: &str) -> Result<Profile> {
        validate_name(name)?;
        match config.profiles.get(name) {
            Some(p) => Ok(p.clone()),
            None if name == SANDBOX_PROFILE => Ok(Profile::builtin_sandbox()),
            None => Err(not_found(name)),
        }
    }

    /// All profiles, the built-in sandbox included, sorted by name.
    pub fn list(&self) -> Result<Vec<Profile>> {
        let config = self.load()?;
        let mut all: Vec<Profile> = config.profiles.into_values().collect();
        if !all.iter().any(|p| p.name == SANDBOX_PROFILE) {
            all.push(Profile::builtin_sandbox());
            all.sort_by(|a, b| a.name.cmp(&b.name));
        }
        Ok(all)
    }

    /// A profile as stored (sandbox endpoints not filled in), for display
    /// and editing. [`Error::NotFound`] if there is none by that name.
    pub fn get(&self, name: &str) -> Result<Profile> {
        Self::lookup(&self.load()?, name)
    }

    /// A profile ready for use: a sandbox profile gets the endpoints of the
    /// running sandbox, and the endpoints must be present.
    pub fn resolve(&self, name: &str) -> Result<Profile> {
        let mut profile = self.get(name)?;
        if profile.sandbox {
            let state = profile
                .sandbox_state
                .clone()
                .unwrap_or_else(|| self.default_sandbox_state_dir());
            let endpoints = SandboxEndpoints::read(&state)?.ok_or_else(|| Error::Config {
                detail: format!(
                    "profile {name} is a SANDBOX profile but no sandbox is running: {} does not exist \
                     (start one with `crpki sandbox serve --state {}`)",
                    state.join(SandboxEndpoints::FILE_NAME).display(),
                    state.display()
                ),
            })?;
            profile.apply_sandbox_endpoints(&endpoints, &state);
        }
        profile.validate()?;
        Ok(profile)
    }

    /// Adds a new profile. A sandbox-marked profile may leave its endpoints
    /// empty; others must name them. The name of the built-in sandbox is
    /// reserved (change it with [`ProfileStore::edit`]).
    pub fn add(&self, profile: Profile) -> Result<()> {
        validate_name(&profile.name)?;
        if profile.name == SANDBOX_PROFILE {
            return Err(Error::invalid_argument(format!(
                "{SANDBOX_PROFILE} is the built-in sandbox profile; edit it instead of adding it"
            )));
        }
        if !profile.sandbox {
            profile.validate()?;
        }
        let mut config = self.load()?;
        if config.profiles.contains_key(&profile.name) {
            return Err(Error::invalid_argument(format!(
                "profile {} already exists",
                profile.name
            )));
        }
        config.profiles.insert(profile.name.clone(), profile);
        self.save(&config)
    }

    /// Changes a profile through `change` and stores the result, which it
    /// returns. Editing the built-in sandbox stores its settings (such as
    /// the chosen credential); its endpoints still come from the running
    /// sandbox.
    pub fn edit(&self, name: &str, change: impl FnOnce(&mut Profile) -> Result<()>) -> Result<Profile> {
        let mut config = self.load()?;
        let mut profile = Self::lookup(&config, name)?;
        change(&mut profile)?;
        if profile.name != name {
            return Err(Error::invalid_argument(
                "a profile cannot be renamed by editing it",
            ));
        }
        if name == SANDBOX_PROFILE && !profile.sandbox {
            return Err(Error::invalid_argument(format!(
                "the built-in {SANDBOX_PROFILE} profile stays marked as the sandbox"
            )));
        }
        if !profile.sandbox {
            profile.validate()?;
        }
        config.profiles.insert(name.to_owned(), profile.clone());
        self.save(&config)?;
        Ok(profile)
    }

    /// Makes `name` the current profile.
    pub fn use_profile(&self, name: &str) -> Result<()> {
        let mut config = self.load()?;
        Self::lookup(&config, name)?;
        config.current = Some(name.to_owned());
        self.save(&config)
    }

    /// The current profile's name: `$CRPKI_PROFILE` when set, else the one
    /// chosen with [`ProfileStore::use_profile`].
    pub fn current_name(&self) -> Result<Option<String>> {
        if let Ok(name) = std::env::var(PROFILE_ENV)
            && !name.is_empty()
        {
            return Ok(Some(name));
        }
        Ok(self.load()?.current)
    }

    /// The current profile, resolved. [`Error::Config`] when none is
    /// selected: crpki never picks one (least of all the sandbox) by itself.
    pub fn current(&self) -> Result<Profile> {
        let name = self.current_name()?.ok_or_else(|| Error::Config {
            detail: format!(
                "no profile selected: add one with `crpki profile add` and select it with \
                 `crpki profile use NAME` (or set {PROFILE_ENV})"
            ),
        })?;
        self.resolve(&name)
    }

    /// Removes a profile and its token file (log out first to revoke the
    /// tokens at the service). Removing the edited built-in sandbox reverts
    /// it to its defaults; the unedited built-in cannot be removed.
    pub fn remove(&self, name: &str) -> Result<()> {
        validate_name(name)?;
        let mut config = self.load()?;
        if config.profiles.remove(name).is_none() {
            return Err(if name == SANDBOX_PROFILE {
                Error::invalid_argument(format!(
                    "the built-in {SANDBOX_PROFILE} profile cannot be removed"
                ))
            } else {
                not_found(name)
            });
        }
        if config.current.as_deref() == Some(name) && name != SANDBOX_PROFILE {
            config.current = None;
        }
        self.save(&config)?;
        self.token_store().delete(name)?;
        // The RSSP's own tokens (`rssp_oauth2`, `csc_basic`) go too.
        for kept in ["rssp", "basic"] {
            self.token_store().delete(&format!("{name}.{kept}"))?;
        }
        Ok(())
    }
}

fn not_found(name: &str) -> Error {
    Error::NotFound {
        what: format!("profile {name}"),
    }
}
