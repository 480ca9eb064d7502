//! Where a profile's tokens are kept between runs.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::{fsutil, validate_name};
use crate::error::{Error, Result};
use crate::secret::Secret;

/// The tokens of one login. `Debug` shows which tokens are present, never
/// their values; there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Tokens {
    /// The issuer that issued them (a profile whose issuer changed must not
    /// send them elsewhere).
    pub issuer: String,
    /// The client they were issued to.
    pub client_id: String,
    /// The `sub` of the verified ID token.
    pub subject: Option<String>,
    /// The access token.
    pub access_token: Secret,
    /// The refresh token (rotated at every refresh).
    pub refresh_token: Option<Secret>,
    /// The last ID token.
    pub id_token: Option<Secret>,
    /// When the access token expires, if the server said.
    pub expires_at: Option<SystemTime>,
    /// The granted scopes, space-separated.
    pub scope: Option<String>,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let present = |b: bool| if b { "[redacted]" } else { "none" };
        f.debug_struct("Tokens")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("subject", &self.subject)
            .field("access_token", &"[redacted]")
            .field("refresh_token", &present(self.refresh_token.is_some()))
            .field("id_token", &present(self.id_token.is_some()))
            .field("expires_at", &self.expires_at.map(unix_seconds))
            .field("scope", &self.scope)
            .finish()
    }
}

impl Tokens {
    /// Whether the access token is expired or expires within `margin` of
    /// `now`. A token without a known expiry is treated as valid (the
    /// service's 401 then triggers a refresh).
    pub fn expires_within(&self, margin: Duration, now: SystemTime) -> bool {
        match self.expires_at {
            Some(at) => at.duration_since(now).map(|left| left <= margin).unwrap_or(true),
            None => false,
        }
    }
}

fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Keeps one set of [`Tokens`] per profile. Object safe; small synchronous
/// operations (callers in async code may call them directly).
pub trait TokenStore: Send + Sync + fmt::Debug {
    /// The stored tokens of `profile`, `Ok(None)` when not logged in.
    fn load(&self, profile: &str) -> Result<Option<Tokens>>;
    /// Replaces the tokens of `profile`.
    fn save(&self, profile: &str, tokens: &Tokens) -> Result<()>;
    /// Forgets the tokens of `profile`; `Ok(false)` when there were none.
    fn delete(&self, profile: &str) -> Result<bool>;

    /// Takes the exclusive lock of `profile`'s tokens across processes,
    /// waiting for it: `crate::auth::TokenCache` holds it around
    /// read-refresh-save, so that two processes never use the same
    /// (rotating) refresh token. Blocking; released when the guard drops.
    /// `Ok(None)`: this store is not shared between processes.
    fn lock(&self, profile: &str) -> Result<Option<TokenLock>> {
        let _ = profile;
        Ok(None)
    }
}

/// The exclusive lock of one profile's tokens (see [`TokenStore::lock`]);
/// released when dropped (the operating system also releases it when the
/// process ends).
#[derive(Debug)]
pub struct TokenLock {
    file: File,
}

impl Drop for TokenLock {
    fn drop(&mut self) {
        // Closing the file releases the lock too; this only makes it prompt.
        let _ = fs4::FileExt::unlock(&self.file);
    }
}

/// The on-disk form; plain strings live only here, briefly.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenFile {
    version: u32,
    issuer: String,
    client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    subject: Option<String>,
    access_token: Secret,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
}

const TOKEN_FILE_VERSION: u32 = 1;

/// The first bytes of a token file whose content is sealed with Windows
/// DPAPI; the sealed blob follows.
pub const DPAPI_MAGIC: &[u8] = b"crpki-dpapi-1\n";

/// Token files `DIR/<profile>.toml`, one per profile.
///
/// On Unix each file is created with mode 0600 (atomically: a temporary
/// file created 0600, written, fsynced, renamed), and a token file that
/// group or others could read is refused rather than used.
///
/// On Windows the file inherits the ACL of the per-user config directory,
/// and its content is sealed with DPAPI for the current user (it starts
/// with [`DPAPI_MAGIC`]), so that only the Windows user who wrote it can
/// read it. A plain file (one written before, or by crpki on another
/// system sharing the directory) is still read there, and sealed at the
/// next save. Elsewhere a sealed file is refused with a clear error.
#[derive(Clone, Debug)]
pub struct FileTokenStore {
    dir: PathBuf,
}

impl FileTokenStore {
    /// A store in `dir` (created, owner-only, on first save).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The token file of a profile.
    pub fn path(&self, profile: &str) -> Result<PathBuf> {
        validate_name(profile)?;
        Ok(self.dir.join(format!("{profile}.toml")))
    }

    /// Refuses a token directory that group or others can write (Unix):
    /// another user could swap the token files in it. A missing directory
    /// is fine (created owner-only on the first save).
    fn check_dir(&self) -> Result<()> {
        match std::fs::metadata(&self.dir) {
            Ok(meta) => fsutil::refuse_writable_by_others(&meta, &self.dir, "token directory", "700"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(format!("reading {}", self.dir.display()), e)),
        }
    }

    fn read_private(path: &Path) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>> {
        let meta = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
        };
        if !meta.file_type().is_file() {
            return Err(Error::Config {
                detail: format!(
                    "token file {} is not a regular file; refusing to read it",
                    path.display()
                ),
            });
        }
        let mut file = File::open(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        // Checked on the open handle, so a swap after the check above cannot slip through.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = file
                .metadata()
                .map_err(|e| Error::io(format!("reading {}", path.display()), e))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(Error::Config {
                    detail: format!(
                        "token file {} is readable or writable by group or others (mode {:04o}); \
                         refusing to use it: run `chmod 600 {}` if you trust it, or log in again",
                        path.display(),
                        mode & 0o7777,
                        path.display()
                    ),
                });
            }
        }
        let mut bytes = zeroize::Zeroizing::new(Vec::new());
        file.read_to_end(&mut bytes)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        Ok(Some(bytes))
    }

    /// The file's TOML text: unsealed on Windows when it is sealed.
    fn text_of(path: &Path, bytes: &[u8]) -> Result<zeroize::Zeroizing<String>> {
        let plain: zeroize::Zeroizing<Vec<u8>> = match bytes.strip_prefix(DPAPI_MAGIC) {
            #[cfg(windows)]
            Some(sealed) => super::dpapi::unprotect(sealed, path)?,
            #[cfg(not(windows))]
            Some(_) => {
                return Err(Error::Config {
                    detail: format!(
                        "token file {} is sealed with Windows DPAPI: only the Windows user who wrote it \
                         can read it; log in again here",
                        path.display()
                    ),
                });
            }
            None => zeroize::Zeroizing::new(bytes.to_vec()),
        };
        match std::str::from_utf8(&plain) {
            Ok(t) => Ok(zeroize::Zeroizing::new(t.to_owned())),
            Err(_) => Err(Error::Config {
                detail: format!("token file {} is not UTF-8 text; log in again", path.display()),
            }),
        }
    }

    /// What is written for `text`: sealed with DPAPI on Windows.
    fn sealed(text: &str) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        #[cfg(windows)]
        {
            let mut out = DPAPI_MAGIC.to_vec();
            out.extend_from_slice(&super::dpapi::protect(text.as_bytes())?);
            Ok(zeroize::Zeroizing::new(out))
        }
        #[cfg(not(windows))]
        Ok(zeroize::Zeroizing::new(text.as_bytes().to_vec()))
    }
}

impl TokenStore for FileTokenStore {
    fn load(&self, profile: &str) -> Result<Option<Tokens>> {
        let path = self.path(profile)?;
        self.check_dir()?;
        let Some(bytes) = Self::read_private(&path)? else {
            return Ok(None);
        };
        let text = Self::text_of(&path, &bytes)?;
        // `text` is wiped when dropped, at the end of this function.
        match toml::from_str::<TokenFile>(&text) {
            Ok(f) if f.version == TOKEN_FILE_VERSION => Ok(Some(Tokens {
                issuer: f.issuer,
                client_id: f.client_id,
                subject: f.subject,
                access_token: f.access_token,
                refresh_token: f.refresh_token,
                id_token: f.id_token,
                expires_at: f.expires_at.map(|s| UNIX_EPOCH + Duration::from_secs(s)),
                scope: f.scope,
            })),
            Ok(f) => Err(Error::Config {
                detail: format!(
                    "token file {} has version {}, this crpki reads version {TOKEN_FILE_VERSION}; log in again",
                    path.display(),
                    f.version
                ),
            }),
            // The parser's message could quote a token: give only the position.
            Err(e) => {
                let (line, _) = e
                    .span()
                    .map(|s| fsutil::line_col(&text, s.start))
                    .unwrap_or((0, 0));
                Err(Error::Config {
                    detail: format!(
                        "token file {} is malformed (line {line}); log in again",
                        path.display()
                    ),
                })
            }
        }
    }

    fn save(&self, profile: &str, tokens: &Tokens) -> Result<()> {
        let path = self.path(profile)?;
        fsutil::create_private_dir(&self.dir)?;
        self.check_dir()?;
        let file = TokenFile {
            version: TOKEN_FILE_VERSION,
            issuer: tokens.issuer.clone(),
            client_id: tokens.client_id.clone(),
            subject: tokens.subject.clone(),
            access_token: tokens.access_token.clone(),
            refresh_token: tokens.refresh_token.clone(),
            id_token: tokens.id_token.clone(),
            expires_at: tokens.expires_at.map(unix_seconds),
            scope: tokens.scope.clone(),
        };
        let mut text = toml::to_string(&file).map_err(|e| Error::Config {
            detail: format!("cannot encode the tokens of profile {profile}: {e}"),
        })?;
        let result = Self::sealed(&text).and_then(|bytes| fsutil::write_atomic(&path, &bytes));
        zeroize::Zeroize::zeroize(&mut text);
        result
    }

    fn delete(&self, profile: &str) -> Result<bool> {
        fsutil::remove_if_exists(&self.path(profile)?)
    }

    /// Locks `DIR/<profile>.lock` (created owner-only, never removed): the
    /// token file itself is replaced by a rename at every save, so a lock
    /// on it would not outlive the save. `flock` on Unix, `LockFileEx` on
    /// Windows (through the `fs4` crate).
    fn lock(&self, profile: &str) -> Result<Option<TokenLock>> {
        validate_name(profile)?;
        fsutil::create_private_dir(&self.dir)?;
        self.check_dir()?;
        let path = self.dir.join(format!("{profile}.lock"));
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let context = || format!("locking {}", path.display());
        let file = options.open(&path).map_err(|e| Error::io(context(), e))?;
        fs4::FileExt::lock(&file).map_err(|e| Error::io(context(), e))?;
        Ok(Some(TokenLock { file }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_every_token() {
        let t = Tokens {
            issuer: "https://i/".into(),
            client_id: "c".into(),
            subject: Some("sub-1".into()),
            access_token: Secret::new("AT-value"),
            refresh_token: Some(Secret::new("RT-value")),
            id_token: Some(Secret::new("IDT-value")),
            expires_at: Some(UNIX_EPOCH + Duration::from_secs(1_800_000_000)),
            scope: Some("openid".into()),
        };
        let d = format!("{t:?}");
        for v in ["AT-value", "RT-value", "IDT-value"] {
            assert!(!d.contains(v), "{d}");
        }
        assert!(d.contains("1800000000") && d.contains("sub-1"), "{d}");
    }

    #[test]
    fn expiry_margin() {
        let now = UNIX_EPOCH + Duration::from_secs(1000);
        let mut t = Tokens {
            issuer: String::new(),
            client_id: String::new(),
            subject: None,
            access_token: Secret::new("a"),
            refresh_token: None,
            id_token: None,
            expires_at: Some(now + Duration::from_secs(120)),
            scope: None,
        };
        assert!(!t.expires_within(Duration::from_secs(60), now));
        assert!(t.expires_within(Duration::from_secs(120), now));
        t.expires_at = Some(now - Duration::from_secs(1));
        assert!(t.expires_within(Duration::ZERO, now));
        t.expires_at = None;
        assert!(!t.expires_within(Duration::from_secs(60), now));
    }
}
