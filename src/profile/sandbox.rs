//! The hand-over file between a running sandbox and the sandbox profile.
//!
//! The sandbox writes what profiles read: this room only knows the file's
//! format and place; the sandbox server fills it in
//! (`SandboxEndpoints::of`, in `crate::sandbox`), so `profile` depends on
//! nothing above it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::CscVersion;
use super::fsutil;
use crate::error::{Error, Result};
use crate::secret::Secret;

/// Where a running sandbox can be reached, written by the sandbox to
/// [`SandboxEndpoints::FILE_NAME`] in its state directory when it starts
/// and removed when it stops; read by [`super::ProfileStore::resolve`]
/// for profiles marked `sandbox`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxEndpoints {
    /// The OpenID issuer, e.g. `https://127.0.0.1:PORT/oauth/`.
    pub oidc_issuer: String,
    /// The client id registered in the sandbox for crpki.
    pub client_id: String,
    /// Its client secret (a sandbox value, not a user credential).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<Secret>,
    /// Token revocation endpoint, when not announced by discovery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    /// The loopback redirect URI the sandbox registered for the sandbox
    /// profile (its OpenID provider accepts only registered redirect URIs,
    /// as GビズID does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// The CSC API root, e.g. `https://127.0.0.1:PORT/csc/v2/`.
    pub rssp_base_url: String,
    /// The CSC version at `rssp_base_url`.
    #[serde(default)]
    pub csc_version: CscVersion,
    /// The PEM file of the CA that issued the sandbox's TLS certificate,
    /// relative to the state directory or absolute; `None` when the
    /// sandbox serves plain HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// The sandbox's RFC 3161 TSA, e.g. `https://127.0.0.1:PORT/tsa`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tsa_url: Option<String>,
    /// The PEM file of its TEST TSA root, relative to the state directory
    /// or absolute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tsa_root_file: Option<PathBuf>,
}

impl SandboxEndpoints {
    /// The file's name inside the state directory.
    pub const FILE_NAME: &'static str = "endpoints.toml";

    /// The CA file's full path.
    pub fn ca_path(&self, state_dir: &Path) -> Option<PathBuf> {
        self.ca_file.as_ref().map(|f| state_dir.join(f))
    }

    /// Writes the file atomically (owner-only: it holds the client secret).
    pub fn write(&self, state_dir: &Path) -> Result<()> {
        fsutil::create_private_dir(state_dir)?;
        let text = toml::to_string(self).map_err(|e| Error::Config {
            detail: format!("cannot encode the sandbox endpoints: {e}"),
        })?;
        let body = format!("# Written by the running crpki sandbox; removed when it stops.\n{text}");
        fsutil::write_atomic(&state_dir.join(Self::FILE_NAME), body.as_bytes())
    }

    /// Reads the file; `Ok(None)` when no sandbox has written one.
    pub fn read(state_dir: &Path) -> Result<Option<Self>> {
        let path = state_dir.join(Self::FILE_NAME);
        let Some(text) = fsutil::read_optional(&path)? else {
            return Ok(None);
        };
        toml::from_str(&text).map(Some).map_err(|e| {
            let (line, col) = e
                .span()
                .map(|s| fsutil::line_col(&text, s.start))
                .unwrap_or((0, 0));
            Error::Config {
                detail: format!("{} (line {line}, column {col}): {}", path.display(), e.message()),
            }
        })
    }

    /// Removes the file (when the sandbox stops); `Ok(false)` if absent.
    pub fn remove(state_dir: &Path) -> Result<bool> {
        fsutil::remove_if_exists(&state_dir.join(Self::FILE_NAME))
    }
}
