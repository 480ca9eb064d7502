//! Named profiles: which GビズID (OpenID) issuer and client, which RSSP and
//! CSC version, how the RSSP service is authorized, the proxy, extra trusted
//! CAs and the chosen credential, stored as TOML in the platform config
//! directory; and the per-profile token files.
//!
//! This room only reads and writes local files (no network): the `auth`
//! room and the CSC client consume a [`Profile`], the CLI edits them.
//!
//! # Files
//!
//! The config directory is `$CRPKI_CONFIG_DIR` when set (tests, pipelines),
//! otherwise the platform's (`~/.config/crpki` on Linux,
//! `~/Library/Application Support/crpki` on macOS, `%APPDATA%\crpki\config`
//! on Windows). It holds `profiles.toml` (all profiles and the current one)
//! and `tokens/<profile>.toml` (see [`FileTokenStore`]). Both are written
//! atomically with owner-only permissions; on Windows the token files are
//! also sealed with DPAPI for the user who wrote them.
//!
//! # The sandbox profile
//!
//! A built-in profile named [`SANDBOX_PROFILE`] always exists and is marked
//! [`Profile::sandbox`]. Its endpoints change at every start of the sandbox
//! (the ports are ephemeral), so they are not stored in the profile: a
//! running sandbox writes [`SandboxEndpoints`] to `endpoints.toml` in its
//! state directory, and [`ProfileStore::resolve`] fills the profile from
//! that file. The state directory is [`Profile::sandbox_state`] when set,
//! otherwise `$CRPKI_SANDBOX_STATE`, otherwise `<config dir>/sandbox`
//! ([`ProfileStore::default_sandbox_state_dir`]), the same default
//! `crpki sandbox serve` uses. A profile never switches to the sandbox
//! silently: only profiles marked `sandbox = true` read that file.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::secret::Secret;

#[cfg(windows)]
mod dpapi;
mod fsutil;
mod sandbox;
mod store;
mod tokens;
#[cfg(feature = "remote")]
mod transport;

pub use sandbox::SandboxEndpoints;
pub use store::{CONFIG_DIR_ENV, PROFILE_ENV, ProfileStore, SANDBOX_STATE_ENV};
pub use tokens::{DPAPI_MAGIC, FileTokenStore, TokenLock, TokenStore, Tokens};

/// Name of the built-in sandbox profile.
pub const SANDBOX_PROFILE: &str = "sandbox";

/// Scopes asked of GビズID when a profile names none: `offline_access`
/// is what yields a refresh token.
pub const DEFAULT_SCOPES: &[&str] = &["openid", "profile", "offline_access"];

/// One named configuration: where to log in, which RSSP to sign with, and
/// how to reach both.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The profile's name (the key in `profiles.toml`; not stored inside).
    #[serde(skip)]
    pub name: String,
    /// Marks a profile that talks to the crpki sandbox, never to the
    /// Ministry's service. Tools show it prominently.
    #[serde(default)]
    pub sandbox: bool,
    /// Free text shown by `profile list`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The OpenID provider (GビズID).
    pub oidc: OidcSettings,
    /// The remote signing service.
    pub rssp: RsspSettings,
    /// The HTTP proxy for both services, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<ProxySettings>,
    /// PEM files with CA certificates trusted in addition to the system's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_ca_files: Vec<PathBuf>,
    /// The credential (certificate and key) chosen for signing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
    /// For sandbox profiles: the sandbox's state directory (see the module
    /// documentation). Ignored for other profiles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox_state: Option<PathBuf>,
    /// On Windows, the provider that `crpki certs use` binds the chosen
    /// certificate to in the user's store: the CryptoAPI CSP (the default)
    /// or the CNG KSP.
    #[serde(default, skip_serializing_if = "is_default")]
    pub windows_provider: WindowsProvider,
    /// The RFC 3161 time-stamping authority `crpki sign --timestamp` asks
    /// when no `--tsa` is given (for sandbox profiles, filled in from the
    /// running sandbox).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tsa_url: Option<String>,
    /// The PEM or DER root that the TSA's certificate must chain to when
    /// signing with `--timestamp` (and when verifying, if no `--tsa-ca`
    /// is given); without it the TSA's chain is not checked at signing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tsa_root_file: Option<PathBuf>,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// The OpenID provider of a profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcSettings {
    /// The issuer, compared as an exact string (GビズID:
    /// `https://gbiz-id.go.jp/oauth/`, with the trailing slash).
    pub issuer: String,
    /// The registered client id.
    pub client_id: String,
    /// Where the client secret comes from. It identifies the application,
    /// not the user, but is still kept out of logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<SecretRef>,
    /// Scopes to request; `openid` and `offline_access` are always added.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// Token revocation endpoint (RFC 7009) when discovery does not
    /// announce one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    /// A fixed loopback redirect URI registered at the provider
    /// (`http://127.0.0.1:PORT/PATH`, `http://localhost:PORT/PATH` or
    /// `http://[::1]:PORT/PATH`): the login listens on exactly that address
    /// and path. `None`: a random port on 127.0.0.1 (RFC 8252 §7.3), for
    /// providers that accept any loopback port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// How the client authenticates at the token endpoint when it has a
    /// secret; `None`: chosen from the provider's discovery document
    /// (`token_endpoint_auth_methods_supported`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_auth: Option<ClientAuthMethod>,
}

/// Client authentication at the token endpoint (RFC 6749 §2.3.1). Either
/// way the id and secret are first encoded with
/// `application/x-www-form-urlencoded` (so `+` becomes `%2B`, a space `+`,
/// `:` `%3A`, `/` `%2F`, `=` `%3D`, `%` `%25`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    /// `client_secret_basic`: `Authorization: Basic base64(id:secret)` of
    /// the form-encoded id and secret.
    ClientSecretBasic,
    /// `client_secret_post`: `client_id` and `client_secret` in the form
    /// body.
    ClientSecretPost,
}

impl ClientAuthMethod {
    /// The name used in discovery documents and profiles.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
        }
    }
}

impl std::str::FromStr for ClientAuthMethod {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "client_secret_basic" | "basic" => Ok(Self::ClientSecretBasic),
            "client_secret_post" | "post" => Ok(Self::ClientSecretPost),
            _ => Err(crate::Error::invalid_argument(format!(
                "client authentication {s:?}: use client_secret_basic or client_secret_post"
            ))),
        }
    }
}

fn default_scopes() -> Vec<String> {
    DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect()
}

/// The remote signing service of a profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RsspSettings {
    /// The CSC API root the method names are appended to, e.g.
    /// `https://rssp.example/csc/v2/`.
    pub base_url: String,
    /// The CSC API version it speaks.
    #[serde(default)]
    pub api_version: CscVersion,
    /// How the service (account-level) access is authorized.
    #[serde(default)]
    pub service_auth: ServiceAuth,
}

/// CSC API version spoken by an RSSP.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CscVersion {
    /// CSC API v2.
    #[default]
    V2,
    /// CSC API v1.0.4.0.
    V1,
}

impl fmt::Display for CscVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::V2 => "v2",
            Self::V1 => "v1",
        })
    }
}

/// How the RSSP's account-level (`service`) access is obtained.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum ServiceAuth {
    /// The GビズID login's access token is presented to the RSSP (the
    /// Ministry's service).
    #[default]
    GbizLogin,
    /// CSC `auth/login` with HTTP Basic credentials.
    CscBasic {
        /// The user name.
        user: String,
        /// Where the password comes from; prompt when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password: Option<SecretRef>,
    },
    /// The RSSP's own OAuth2 authorization server, scope `service`.
    RsspOauth2,
    /// An access token supplied through an environment variable
    /// (headless pipelines that obtain it elsewhere).
    BearerEnv {
        /// The variable's name.
        var: String,
    },
    /// No service authorization at all: requests carry no `Authorization`
    /// header (services that need none, such as a signing service inside
    /// a closed network).
    None,
}

impl ServiceAuth {
    /// Whether the mode logs in through the profile's OpenID provider
    /// (GビズID), and so needs its issuer and client id.
    pub fn uses_gbiz(&self) -> bool {
        matches!(self, Self::GbizLogin)
    }
}

/// The proxy for both services.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxySettings {
    /// `http://host:port` (or `https://`, `socks5://` where supported).
    pub url: String,
    /// User name for proxy Basic authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Password for proxy Basic authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretRef>,
    /// Hosts reached directly: names (matching subdomains too), IP
    /// addresses, CIDR blocks, or `*`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub no_proxy: Vec<String>,
}

/// Where a secret comes from, so that a profile can name it without
/// holding it. In TOML: `{ env = "VAR" }`, `{ file = "/path" }` or
/// `{ value = "…" }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretRef {
    /// An environment variable.
    Env(String),
    /// A file (its first line; a trailing newline is ignored).
    File(PathBuf),
    /// The value itself, in the profile file (owner-only).
    Value(Secret),
}

impl SecretRef {
    /// Reads the secret. `what` names it in errors ("client secret of
    /// profile prod"); the value never appears in them.
    pub fn resolve(&self, what: &str) -> Result<Secret> {
        match self {
            Self::Env(var) => match std::env::var(var) {
                Ok(v) if !v.is_empty() => Ok(Secret::new(v)),
                _ => Err(Error::Config {
                    detail: format!("the environment variable {var} ({what}) is not set"),
                }),
            },
            Self::File(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| Error::io(format!("reading {what} from {}", path.display()), e))?;
                let line = text.lines().next().unwrap_or("");
                if line.is_empty() {
                    return Err(Error::Config {
                        detail: format!("{} ({what}) is empty", path.display()),
                    });
                }
                Ok(Secret::new(line))
            }
            Self::Value(s) => Ok(s.clone()),
        }
    }
}

impl Profile {
    /// A profile with the given endpoints and every other setting at its
    /// default.
    pub fn new(
        name: impl Into<String>,
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        rssp_base_url: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            sandbox: false,
            description: None,
            oidc: OidcSettings {
                issuer: issuer.into(),
                client_id: client_id.into(),
                client_secret: None,
                scopes: default_scopes(),
                revocation_endpoint: None,
                redirect_uri: None,
                client_auth: None,
            },
            rssp: RsspSettings {
                base_url: rssp_base_url.into(),
                api_version: CscVersion::V2,
                service_auth: ServiceAuth::GbizLogin,
            },
            proxy: None,
            extra_ca_files: Vec::new(),
            credential_id: None,
            sandbox_state: None,
            windows_provider: WindowsProvider::Csp,
            tsa_url: None,
            tsa_root_file: None,
        }
    }

    /// The built-in sandbox profile, endpoints empty until resolved against
    /// a running sandbox.
    pub fn builtin_sandbox() -> Self {
        let mut p = Self::new(SANDBOX_PROFILE, "", "", "");
        p.sandbox = true;
        p.description = Some(
            "SANDBOX: the local crpki test service started by `crpki sandbox serve`; \
             signatures made here are worthless"
                .to_owned(),
        );
        p
    }

    /// Fills the endpoints of a sandbox profile from a running sandbox's
    /// [`SandboxEndpoints`]; the credential choice and other settings stay.
    pub fn apply_sandbox_endpoints(&mut self, endpoints: &SandboxEndpoints, state_dir: &Path) {
        self.oidc.issuer = endpoints.oidc_issuer.clone();
        self.oidc.client_id = endpoints.client_id.clone();
        self.oidc.client_secret = endpoints.client_secret.clone().map(SecretRef::Value);
        if endpoints.revocation_endpoint.is_some() {
            self.oidc.revocation_endpoint = endpoints.revocation_endpoint.clone();
        }
        if endpoints.redirect_uri.is_some() {
            self.oidc.redirect_uri = endpoints.redirect_uri.clone();
        }
        self.rssp.base_url = endpoints.rssp_base_url.clone();
        self.rssp.api_version = endpoints.csc_version;
        if let Some(ca) = endpoints.ca_path(state_dir)
            && !self.extra_ca_files.contains(&ca)
        {
            self.extra_ca_files.push(ca);
        }
        if endpoints.tsa_url.is_some() {
            self.tsa_url = endpoints.tsa_url.clone();
            self.tsa_root_file = endpoints.tsa_root_file.as_ref().map(|f| state_dir.join(f));
        }
    }

    /// Checks what can be checked without the network: a valid name and
    /// non-empty endpoints (for resolved profiles).
    pub fn validate(&self) -> Result<()> {
        validate_name(&self.name)?;
        let missing = |field: &str| Error::Config {
            detail: format!("profile {}: {field} is empty", self.name),
        };
        // Only the GビズID login needs the OpenID provider; the RSSP's own
        // OAuth2 server needs a client id, its issuer is the RSSP. Other
        // modes may leave the OpenID section empty, but not half-filled:
        // a client id names a provider.
        let oauth2 = self.rssp.service_auth == ServiceAuth::RsspOauth2;
        let names_client = !self.oidc.client_id.trim().is_empty();
        let needs_issuer = self.rssp.service_auth.uses_gbiz() || (names_client && !oauth2);
        if needs_issuer && self.oidc.issuer.trim().is_empty() {
            return Err(missing("oidc.issuer"));
        }
        let needs_client = matches!(
            self.rssp.service_auth,
            ServiceAuth::GbizLogin | ServiceAuth::RsspOauth2
        );
        if needs_client && self.oidc.client_id.trim().is_empty() {
            return Err(missing("oidc.client_id"));
        }
        if self.rssp.base_url.trim().is_empty() {
            return Err(missing("rssp.base_url"));
        }
        Ok(())
    }
}

/// Profile names become file names: letters, digits, `.`, `_` and `-`,
/// starting with a letter or digit, at most 64 characters.
pub fn validate_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_argument(format!(
            "profile name {name:?}: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )))
    }
}

/// The registered name of the CryptoAPI CSP. It names this project so
/// that it can never be taken for the Ministry's driver.
const CSP_NAME: &str = "crpki Remote Signing CSP (open source)";
/// The registered name of the CNG key storage provider (likewise).
const KSP_NAME: &str = "crpki Remote Signing KSP (open source)";

/// Which of crpki's two Windows providers signing applications are sent
/// to: the profile setting `windows_provider`, chosen with `crpki certs use
/// ID --provider csp|ksp`. It decides how `certs use` binds the
/// certificate in the user's `MY` store (`crate::provider::certstore`, Windows only).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WindowsProvider {
    /// The CryptoAPI CSP (`CryptAcquireContext`, `CryptSignHash`,
    /// `CryptSignMessage`): what older applications use. The default.
    #[default]
    Csp,
    /// The CNG key storage provider (`NCryptOpenKey`, `NCryptSignHash`):
    /// what signtool, .NET, Office and newer PDF tools use.
    Ksp,
}

impl WindowsProvider {
    /// Both providers.
    pub const ALL: [Self; 2] = [Self::Csp, Self::Ksp];

    /// The provider's registered name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Csp => CSP_NAME,
            Self::Ksp => KSP_NAME,
        }
    }

    /// The provider whose registered name is `name`, if it is one of ours.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The short name used in settings and on the command line.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Csp => "csp",
            Self::Ksp => "ksp",
        }
    }
}

impl std::fmt::Display for WindowsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for WindowsProvider {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "csp" => Ok(Self::Csp),
            "ksp" => Ok(Self::Ksp),
            _ => Err(crate::Error::invalid_argument(
                "the Windows provider is `csp` (CryptoAPI) or `ksp` (CNG)",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for good in ["prod", "gbiz-stg", "a.b_c", "0"] {
            validate_name(good).unwrap();
        }
        for bad in ["", ".hidden", "a/b", "../x", "x y", "名前", &"a".repeat(65)] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn service_auth_toml_forms() {
        #[derive(Serialize, Deserialize, Debug, PartialEq)]
        struct W {
            a: ServiceAuth,
        }
        for a in [
            ServiceAuth::GbizLogin,
            ServiceAuth::CscBasic {
                user: "u".into(),
                password: Some(SecretRef::Env("P".into())),
            },
            ServiceAuth::RsspOauth2,
            ServiceAuth::BearerEnv { var: "TOKEN".into() },
            ServiceAuth::None,
        ] {
            let w = W { a };
            let text = toml::to_string(&w).unwrap();
            assert_eq!(toml::from_str::<W>(&text).unwrap(), w, "{text}");
        }
        let w: W = toml::from_str("a = { mode = \"bearer_env\", var = \"X\" }").unwrap();
        assert_eq!(w.a, ServiceAuth::BearerEnv { var: "X".into() });
    }

    #[test]
    fn secret_ref_resolves_without_leaking() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("s");
        std::fs::write(&f, "s3cret\n").unwrap();
        assert_eq!(SecretRef::File(f).resolve("x").unwrap().expose(), "s3cret");
        let e = SecretRef::Env("CRPKI_TEST_SURELY_UNSET_VAR".into())
            .resolve("proxy password")
            .unwrap_err();
        assert!(e.to_string().contains("CRPKI_TEST_SURELY_UNSET_VAR"), "{e}");
        assert!(!format!("{:?}", SecretRef::Value(Secret::new("s3cret"))).contains("s3cret"));
    }
}
