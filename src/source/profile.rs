//! Remote signers from profiles (feature `remote`): [`ProfileRecipe`],
//! the one recipe "profile → CSC client → authorizer → signer" that the
//! `crpki` tool, the DLLs and the examples share, and [`ProfileSource`],
//! the DLLs' [`SignerSource`] over the `crpki` profile the command-line
//! tool set up.
//!
//! # What the source serves
//!
//! The profile is the one `crpki` uses: `$CRPKI_PROFILE`, else the current
//! one (`crpki profile use`), else the built-in sandbox profile, resolved
//! from the config directory (`$CRPKI_CONFIG_DIR` or the platform's, see
//! [`crate::profile`]). Its tokens are the ones `crpki login` stored: the
//! DLL and the tool share the token files.
//!
//! - The containers are the account's credentials (`credentials/list`); the
//!   selected one is the profile's chosen credential (`crpki certs use`), or
//!   the only one.
//! - Opening a container builds a [`CscSigner`] over that credential with
//!   `reuse_authorizations`, so that a SCAL 1 authorization (one PIN for
//!   `multisign` signatures) serves the following signatures.
//!
//! # Silence, PINs and browsers
//!
//! Credentials authorized with a PIN get the one the application gave
//! ([`SignerSource::set_pin`]: the KSP's `NCRYPT_PIN_PROPERTY`, the CSP's
//! `PP_SIGNATURE_PIN`, as with a smart card), else it comes from the
//! environment (`CRPKI_PIN`, `CRPKI_OTP`: the variable is `CRPKI_` and the
//! input's id in capitals). A one-time password likewise comes from the
//! application when it gave one ([`SignerSource::set_otp`]: the PKCS#11
//! module's `C_Login(CKU_CONTEXT_SPECIFIC)`), else from the environment;
//! the application's OTP serves one authorization only (it is taken, and
//! its memory wiped, by the one that uses it; a signature that fails first
//! wipes it too) and never reaches a log. Neither needs anybody, so
//! both serve with and without `CRYPT_SILENT`. A PIN dialog of the
//! provider's own is future work: until then a missing PIN is
//! [`Error::InteractionRequired`] (`NTE_SILENT_CONTEXT`), whatever the
//! flags. A PIN the service refuses is forgotten at once, so that it is
//! never sent twice (each refusal may count towards a lock-out), and the
//! application's PINs go when the profile logs out, or when the
//! application logs the container out ([`SignerSource::log_out`], the
//! PKCS#11 module's `C_Logout`), which also drops the authorization those
//! PINs bought: the next signature is authorized, and its PIN checked,
//! again.
//!
//! Only a non-silent open may use the system browser (credentials in
//! `oauth2code` mode, and the RSSP's own OAuth2 login for profiles in
//! `rssp_oauth2` mode). A silent open never opens one, and a missing or
//! refused login then is [`Error::InteractionRequired`] too. The GビズID
//! login itself is `crpki login`'s job; without it a non-silent open fails
//! with [`Error::Unauthenticated`] (`NTE_PERM`), naming the command.
//!
//! # What is kept between calls
//!
//! Signers are kept per (profile, credential, silent), so that the kept
//! authorization survives from one `CryptAcquireContext` to the next. A
//! kept signer is dropped when the resolved profile changes (another
//! service, a sandbox restarted on other ports) and when the profile's
//! token file changes under it (another login) or disappears
//! (`crpki logout`). A signature is refused as soon as the token file is
//! gone, even by a container opened before: logging out stops the
//! provider from signing.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use async_trait::async_trait;

use super::{ContainerInfo, OpenOptions, OpenedSigner, SignerSource};
use crate::auth::{BrowserLauncher, SystemBrowser};
use crate::cert::Certificate;
use crate::csc::{
    AuthInputKind, AuthMode, CscClient, CscSigner, ModeAuthorizer, PromptRequest, Scal, SecretPrompt,
    SignerOptions, connect_signer, service_auth,
};
use crate::error::{Error, Result};
use crate::profile::{Profile, ProfileStore, SANDBOX_PROFILE, ServiceAuth};
use crate::secret::Secret;
use crate::signer::{DigestBatch, RemoteSigner, UserAuthentication};

/// Prefix of the environment variables that hold PINs and OTPs
/// (`CRPKI_PIN`, `CRPKI_OTP`).
pub const SECRET_ENV_PREFIX: &str = "CRPKI_";

/// PINs and OTPs from the environment: input `PIN` from `CRPKI_PIN`, and
/// so on. A missing or empty variable is [`Error::InteractionRequired`].
#[derive(Clone, Copy, Debug, Default)]
pub struct EnvSecrets;

#[async_trait]
impl SecretPrompt for EnvSecrets {
    async fn ask(&self, request: &PromptRequest<'_>) -> Result<Secret> {
        let var = format!("{SECRET_ENV_PREFIX}{}", request.input.id.to_ascii_uppercase());
        match std::env::var(&var) {
            Ok(v) if !v.is_empty() => Ok(Secret::new(v)),
            _ => Err(Error::InteractionRequired {
                detail: format!(
                    "credential {} needs its {} and the provider cannot ask for it yet: set ${var}",
                    request.credential.id, request.input.id
                ),
            }),
        }
    }
}

/// THE recipe for a remote signer: profile → CSC client (with the service
/// access token the profile's `service_auth` says) → credential authorizer
/// (per the credential's `auth.mode`) → [`CscSigner`] over the chosen
/// credential. Callers differ only in what they hand it: how PINs and OTPs
/// are asked, the browser (for `oauth2code` credentials and RSSP OAuth2
/// logins), the RSSP password of `csc_basic` profiles, the signer options.
///
/// ```no_run
/// # async fn demo() -> crpki::Result<()> {
/// use std::sync::Arc;
/// use crpki::profile::ProfileStore;
/// use crpki::source::{EnvSecrets, ProfileRecipe, resolve_profile};
///
/// let store = ProfileStore::open_default()?;
/// let profile = resolve_profile(&store, None)?;
/// let signer = ProfileRecipe::new(Arc::new(EnvSecrets))
///     .open(&store, &profile, profile.credential_id.as_deref())
///     .await?;
/// # let _ = signer; Ok(()) }
/// ```
#[derive(Clone)]
pub struct ProfileRecipe {
    prompt: Arc<dyn SecretPrompt>,
    browser: Option<Arc<dyn BrowserLauncher>>,
    rssp_password: Option<Secret>,
    options: SignerOptions,
}

impl fmt::Debug for ProfileRecipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProfileRecipe")
            .field("prompt", &self.prompt)
            .field("browser", &self.browser.is_some())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl ProfileRecipe {
    /// PINs and OTPs asked through `prompt`; no browser, no RSSP password,
    /// default signer options.
    pub fn new(prompt: Arc<dyn SecretPrompt>) -> Self {
        Self {
            prompt,
            browser: None,
            rssp_password: None,
            options: SignerOptions::default(),
        }
    }

    /// Opens logins and approvals through `browser` (`None`: never).
    pub fn with_browser(mut self, browser: Option<Arc<dyn BrowserLauncher>>) -> Self {
        self.browser = browser;
        self
    }

    /// The password of a `csc_basic` profile that keeps none.
    pub fn with_rssp_password(mut self, password: Option<Secret>) -> Self {
        self.rssp_password = password;
        self
    }

    /// How the signer spends authorizations.
    pub fn with_options(mut self, options: SignerOptions) -> Self {
        self.options = options;
        self
    }

    /// The CSC client of `profile`, its access token coming from where the
    /// profile's `service_auth` says (the token files of `store`).
    pub fn client(&self, store: &ProfileStore, profile: &Profile) -> Result<Arc<CscClient>> {
        if profile.rssp.service_auth == ServiceAuth::None {
            return Ok(Arc::new(
                CscClient::for_profile(profile)?.without_service_authorization(),
            ));
        }
        let tokens = service_auth::for_profile(
            profile,
            Arc::new(store.token_store()),
            self.browser.clone(),
            self.rssp_password.clone(),
        )?;
        Ok(Arc::new(
            CscClient::for_profile(profile)?.with_token_source(tokens),
        ))
    }

    /// The credential authorizer: PINs and OTPs from the prompt, approvals
    /// in the browser (if any).
    pub fn authorizer(&self) -> ModeAuthorizer {
        let authorizer = ModeAuthorizer::new().with_prompt(self.prompt.clone());
        match &self.browser {
            Some(b) => authorizer.with_browser(b.clone()),
            None => authorizer,
        }
    }

    /// The signer over `credential` (the only one when `None`) of the
    /// service behind `client`.
    pub async fn signer(&self, client: Arc<CscClient>, credential: Option<&str>) -> Result<CscSigner> {
        connect_signer(
            client,
            credential,
            Arc::new(self.authorizer()),
            self.options.clone(),
        )
        .await
    }

    /// The whole recipe: [`client`](Self::client), then
    /// [`signer`](Self::signer).
    pub async fn open(
        &self,
        store: &ProfileStore,
        profile: &Profile,
        credential: Option<&str>,
    ) -> Result<CscSigner> {
        let client = self.client(store, profile)?;
        self.signer(client, credential).await
    }
}

/// The profile `name` of `store` with its endpoints resolved; for `None`,
/// the current profile (`crpki profile use`), else the built-in sandbox
/// profile.
pub fn resolve_profile(store: &ProfileStore, name: Option<&str>) -> Result<Profile> {
    let name = match name {
        Some(n) => n.to_owned(),
        None => store
            .current_name()?
            .unwrap_or_else(|| SANDBOX_PROFILE.to_owned()),
    };
    store.resolve(&name)
}

/// Secrets the application gave, by (profile, credential id): one map for
/// the PINs (kept until a logout or a refusal), one for the one-time
/// passwords (each taken by the one authorization that uses it).
#[derive(Clone, Default)]
struct Pins(Arc<Mutex<HashMap<(String, String), Secret>>>);

impl fmt::Debug for Pins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pins(..)")
    }
}

impl Pins {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Secret>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn get(&self, profile: &str, credential: &str) -> Option<Secret> {
        self.lock()
            .get(&(profile.to_owned(), credential.to_owned()))
            .cloned()
    }

    /// The value, removed: a one-time password serves once.
    fn take(&self, profile: &str, credential: &str) -> Option<Secret> {
        self.lock().remove(&(profile.to_owned(), credential.to_owned()))
    }

    fn set(&self, profile: &str, credential: &str, pin: Secret) {
        self.lock()
            .insert((profile.to_owned(), credential.to_owned()), pin);
    }

    fn forget(&self, profile: &str, credential: &str) {
        self.lock().remove(&(profile.to_owned(), credential.to_owned()));
    }

    fn forget_profile(&self, profile: &str) {
        self.lock().retain(|(p, _), _| p != profile);
    }

    /// Forgets `credential` in every profile (a logout must not depend on
    /// the profile still resolving).
    fn forget_credential(&self, credential: &str) {
        self.lock().retain(|(_, c), _| c != credential);
    }
}

/// Answers a `PIN` input with the application's PIN for the credential,
/// an `OTP` input with its one-time password (taken: it serves once), and
/// everything else (or a value not given) through `fallback`.
#[derive(Debug)]
struct PinsFirst {
    pins: Pins,
    otps: Pins,
    profile: String,
    fallback: Arc<dyn SecretPrompt>,
}

#[async_trait]
impl SecretPrompt for PinsFirst {
    async fn ask(&self, request: &PromptRequest<'_>) -> Result<Secret> {
        let (input, credential) = (request.input, &request.credential.id);
        let given = if input.id.eq_ignore_ascii_case("PIN") {
            self.pins.get(&self.profile, credential)
        } else if input.kind == AuthInputKind::Otp || input.id.eq_ignore_ascii_case("OTP") {
            self.otps.take(&self.profile, credential)
        } else {
            None
        };
        match given {
            Some(value) => Ok(value),
            None => self.fallback.ask(request).await,
        }
    }
}

/// Size and modification time of a file; `None` when it does not exist.
type Stamp = Option<(u64, Option<SystemTime>)>;

fn stamp(path: &Path) -> Stamp {
    std::fs::metadata(path).ok().map(|m| (m.len(), m.modified().ok()))
}

/// A kept signer and what it was made from.
struct Kept {
    profile: Profile,
    signer: Arc<ProfileSigner>,
}

/// Serves the credentials of the current `crpki` profile (see the module
/// documentation).
pub struct ProfileSource {
    store: Option<ProfileStore>,
    profile: Option<String>,
    prompt: Arc<dyn SecretPrompt>,
    browser: Option<Arc<dyn BrowserLauncher>>,
    kept: Mutex<HashMap<(String, String, bool), Kept>>,
    pins: Pins,
    otps: Pins,
}

impl fmt::Debug for ProfileSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProfileSource")
            .field("store", &self.store.as_ref().map(ProfileStore::dir))
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
}

impl Default for ProfileSource {
    fn default() -> Self {
        Self::new()
    }
}

impl ProfileSource {
    /// The source a DLL uses: the default config directory and profile
    /// (looked up again at every call), PINs from the environment, the
    /// system browser for non-silent opens.
    pub fn new() -> Self {
        Self {
            store: None,
            profile: None,
            prompt: Arc::new(EnvSecrets),
            browser: Some(Arc::new(SystemBrowser::new())),
            kept: Mutex::new(HashMap::new()),
            pins: Pins::default(),
            otps: Pins::default(),
        }
    }

    /// Uses the profiles of `store` instead of the default config directory.
    pub fn with_store(mut self, store: ProfileStore) -> Self {
        self.store = Some(store);
        self
    }

    /// Uses profile `name` instead of the current one.
    pub fn with_profile(mut self, name: impl Into<String>) -> Self {
        self.profile = Some(name.into());
        self
    }

    /// Asks PINs and OTPs through `prompt` instead of the environment.
    pub fn with_prompt(mut self, prompt: Arc<dyn SecretPrompt>) -> Self {
        self.prompt = prompt;
        self
    }

    /// Opens approvals through `browser` (non-silent opens only); `None`:
    /// never.
    pub fn with_browser(mut self, browser: Option<Arc<dyn BrowserLauncher>>) -> Self {
        self.browser = browser;
        self
    }

    /// The store, and the resolved profile in effect.
    fn profile(&self) -> Result<(ProfileStore, Profile)> {
        let store = match &self.store {
            Some(s) => s.clone(),
            None => ProfileStore::open_default()?,
        };
        let profile = resolve_profile(&store, self.profile.as_deref())?;
        Ok((store, profile))
    }

    /// The recipe for `profile`: the application's PINs first, then the
    /// prompt; no browser when silent; authorizations kept for the
    /// following signatures.
    fn recipe(&self, profile: &str, silent: bool) -> ProfileRecipe {
        let prompt = PinsFirst {
            pins: self.pins.clone(),
            otps: self.otps.clone(),
            profile: profile.to_owned(),
            fallback: self.prompt.clone(),
        };
        ProfileRecipe::new(Arc::new(prompt))
            .with_browser(if silent { None } else { self.browser.clone() })
            .with_options(SignerOptions {
                reuse_authorizations: true,
                description: Some("crpki provider".to_owned()),
                ..SignerOptions::default()
            })
    }

    /// A client for `profile`, authorized as the profile says; no browser
    /// when silent.
    fn client(&self, store: &ProfileStore, profile: &Profile, silent: bool) -> Result<Arc<CscClient>> {
        self.recipe(&profile.name, silent)
            .client(store, profile)
            .map_err(|e| silence(e, silent))
    }

    /// Keeps `value` (a `what`) of `container` in `map`, for the current
    /// profile.
    fn give(&self, map: &Pins, what: &str, container: &str, value: Secret) -> Result<()> {
        if value.is_empty() {
            return Err(Error::invalid_argument(format!("an empty {what}")));
        }
        let (_, profile) = self.profile()?;
        map.set(&profile.name, container, value);
        Ok(())
    }

    /// Forgets every kept signer (and so their authorizations).
    pub fn forget_all(&self) {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

/// The file whose presence means "logged in" for `profile`, if its service
/// authorization has one.
fn session_file(store: &ProfileStore, profile: &Profile) -> Result<Option<PathBuf>> {
    let tokens = store.token_store();
    Ok(match &profile.rssp.service_auth {
        ServiceAuth::GbizLogin => Some(tokens.path(&profile.name)?),
        ServiceAuth::RsspOauth2 => Some(tokens.path(&format!("{}.rssp", profile.name))?),
        ServiceAuth::CscBasic { .. } | ServiceAuth::BearerEnv { .. } | ServiceAuth::None => None,
    })
}

/// In silent mode, what needs a login is an interaction the caller forbade.
fn silence(e: Error, silent: bool) -> Error {
    match e {
        Error::Unauthenticated { detail, .. } if silent => Error::InteractionRequired {
            detail: format!("a login is needed (run `crpki login`): {detail}"),
        },
        other => other,
    }
}

fn not_logged_in(profile: &str, silent: bool) -> Error {
    silence(
        Error::Unauthenticated {
            detail: format!("not logged in (profile {profile}): run `crpki login`"),
            source: None,
        },
        silent,
    )
}

#[async_trait]
impl SignerSource for ProfileSource {
    async fn containers(&self, options: OpenOptions) -> Result<Vec<ContainerInfo>> {
        let (store, profile) = self.profile()?;
        if let Some(file) = session_file(&store, &profile)?
            && stamp(&file).is_none()
        {
            return Err(not_logged_in(&profile.name, options.silent));
        }
        let client = self.client(&store, &profile, options.silent)?;
        let list = client
            .list_credentials()
            .await
            .map_err(|e| silence(e, options.silent))?;
        let selected = match profile.credential_id.as_deref() {
            Some(id) => Some(id),
            None if list.len() == 1 => Some(list[0].id.as_str()),
            None => None,
        };
        Ok(list
            .iter()
            .map(|c| ContainerInfo {
                name: c.id.clone(),
                selected: selected == Some(c.id.as_str()),
                subject: c.certificate.as_ref().map(Certificate::subject),
            })
            .collect())
    }

    fn set_pin(&self, container: &str, pin: Secret) -> Result<()> {
        self.give(&self.pins, "PIN", container, pin)
    }

    fn set_otp(&self, container: &str, otp: Secret) -> Result<()> {
        self.give(&self.otps, "one-time password", container, otp)
    }

    async fn log_out(&self, container: &str) -> Result<()> {
        self.pins.forget_credential(container);
        self.otps.forget_credential(container);
        let signers: Vec<_> = self
            .kept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .filter(|k| k.signer.inner.credential().id == container)
            .map(|k| k.signer.clone())
            .collect();
        for signer in signers {
            signer.inner.forget_authorization().await;
        }
        Ok(())
    }

    async fn open(&self, container: Option<&str>, options: OpenOptions) -> Result<OpenedSigner> {
        let silent = options.silent;
        let (store, profile) = self.profile()?;
        let session = session_file(&store, &profile)?;
        let current = session.as_deref().map(stamp);
        if current == Some(None) {
            // Logged out: nothing kept for this profile may sign again.
            self.kept
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .retain(|(p, _, _), _| *p != profile.name);
            self.pins.forget_profile(&profile.name);
            self.otps.forget_profile(&profile.name);
            return Err(not_logged_in(&profile.name, silent));
        }
        let chosen = container
            .filter(|c| !c.is_empty())
            .or(profile.credential_id.as_deref())
            .map(str::to_owned);
        let key = (profile.name.clone(), chosen.clone().unwrap_or_default(), silent);
        {
            let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(k) = kept.get(&key) {
                if k.profile == profile && current.as_ref().is_none_or(|s| *s == k.signer.stamp()) {
                    return Ok(OpenedSigner {
                        name: k.signer.inner.credential().id.clone(),
                        signer: k.signer.clone(),
                    });
                }
                kept.remove(&key);
            }
        }
        let recipe = self.recipe(&profile.name, silent);
        let client = recipe.client(&store, &profile).map_err(|e| silence(e, silent))?;
        let inner = recipe
            .signer(client, chosen.as_deref())
            .await
            .map_err(|e| silence(e, silent))?;
        let signer = Arc::new(ProfileSigner {
            inner,
            pins: self.pins.clone(),
            otps: self.otps.clone(),
            profile: profile.name.clone(),
            session: session.clone(),
            stamp: Mutex::new(session.as_deref().and_then(stamp)),
            silent,
        });
        let name = signer.inner.credential().id.clone();
        self.kept.lock().unwrap_or_else(PoisonError::into_inner).insert(
            key,
            Kept {
                profile,
                signer: signer.clone(),
            },
        );
        Ok(OpenedSigner { name, signer })
    }
}

/// A [`CscSigner`] that stops signing when its profile logs out.
struct ProfileSigner {
    inner: CscSigner,
    pins: Pins,
    otps: Pins,
    profile: String,
    session: Option<PathBuf>,
    /// The token file as this signer last saw it (its own token refreshes
    /// rewrite the file too).
    stamp: Mutex<Stamp>,
    silent: bool,
}

crate::crypto::debug_fields!(ProfileSigner {
    inner,
    profile,
    silent,
    ..
});

impl ProfileSigner {
    fn stamp(&self) -> Stamp {
        *self.stamp.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl RemoteSigner for ProfileSigner {
    crate::signer::forward_identity!(inner);

    fn user_authentication(&self) -> UserAuthentication {
        let credential = self.inner.credential();
        let needs = |kind: AuthInputKind| match &credential.auth_mode {
            AuthMode::Explicit { inputs, .. } => inputs.iter().any(|i| i.kind == kind && !i.optional),
            _ => false,
        };
        UserAuthentication::new(
            needs(AuthInputKind::Pin),
            credential.scal == Scal::Two || needs(AuthInputKind::Otp),
        )
        .with_otp(needs(AuthInputKind::Otp))
    }

    async fn sign_batch(&self, batch: &DigestBatch<'_>) -> Result<Vec<Vec<u8>>> {
        if let Some(file) = &self.session
            && stamp(file).is_none()
        {
            self.inner.forget_authorization().await;
            self.pins.forget_profile(&self.profile);
            self.otps.forget_profile(&self.profile);
            return Err(not_logged_in(&self.profile, self.silent));
        }
        let signatures = match self.inner.sign_batch(batch).await {
            Ok(s) => s,
            Err(e) => {
                let credential = &self.inner.credential().id;
                if matches!(e, Error::WrongPassword { .. } | Error::InvalidOtp { .. }) {
                    // Never sent again: the application must give another.
                    self.pins.forget(&self.profile, credential);
                }
                // A one-time password given for this signature and not
                // used (the call failed before the authorization) goes too.
                self.otps.forget(&self.profile, credential);
                return Err(silence(e, self.silent));
            }
        };
        if let Some(file) = &self.session {
            *self.stamp.lock().unwrap_or_else(PoisonError::into_inner) = stamp(file);
        }
        Ok(signatures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Adds a profile "prod" for a production-like service.
    fn add_prod(store: &ProfileStore) {
        store
            .add(Profile::new(
                "prod",
                "https://gbiz.example/oauth/",
                "client",
                "https://rssp.example/csc/v2/",
            ))
            .unwrap();
    }

    #[test]
    fn resolve_profile_named_current_or_sandbox() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::open(dir.path());
        // No current profile: the sandbox, which needs a running sandbox.
        let e = resolve_profile(&store, None).unwrap_err();
        assert!(
            matches!(&e, Error::Config { detail } if detail.contains("SANDBOX")),
            "{e:?}"
        );
        add_prod(&store);
        store.use_profile("prod").unwrap();
        assert_eq!(resolve_profile(&store, None).unwrap().name, "prod");
        assert_eq!(resolve_profile(&store, Some("prod")).unwrap().name, "prod");
        assert!(resolve_profile(&store, Some("nope")).is_err());
    }

    /// What `PinsFirst` answers for `input` of credential `cred`; `None`
    /// when it fell back to the prompt (which has nothing here).
    fn answer(first: &PinsFirst, cred: &str, kind: AuthInputKind, id: &str) -> Option<String> {
        let credential = crate::csc::CredentialDescription {
            id: cred.into(),
            description: None,
            key_status: "enabled".into(),
            key_algorithms: Vec::new(),
            key_len: 2048,
            key_curve: None,
            cert_status: crate::csc::CertificateStatus::Valid,
            certificate: None,
            chain: Vec::new(),
            auth_mode: AuthMode::Implicit,
            scal: Scal::Two,
            multisign: 1,
        };
        let input = crate::csc::AuthInput {
            kind,
            id: id.into(),
            format: None,
            label: None,
            description: None,
            optional: false,
        };
        let request = PromptRequest {
            credential: &credential,
            input: &input,
            num_signatures: 1,
        };
        super::super::tests::block(first.ask(&request))
            .ok()
            .map(|s| s.expose().to_owned())
    }

    #[test]
    fn otps_serve_once_and_a_logout_wipes_pins_and_otps() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::open(dir.path());
        add_prod(&store);
        /// A prompt with nothing to give.
        #[derive(Debug)]
        struct Nothing;
        #[async_trait]
        impl SecretPrompt for Nothing {
            async fn ask(&self, _: &PromptRequest<'_>) -> Result<Secret> {
                Err(Error::InteractionRequired {
                    detail: "none".into(),
                })
            }
        }
        let source = ProfileSource::new()
            .with_store(store)
            .with_profile("prod")
            .with_prompt(Arc::new(Nothing));
        source.set_pin("cred", Secret::new("1234")).unwrap();
        source.set_otp("cred", Secret::new("123456")).unwrap();
        assert!(source.set_otp("cred", Secret::new("")).is_err());
        let first = PinsFirst {
            pins: source.pins.clone(),
            otps: source.otps.clone(),
            profile: "prod".into(),
            fallback: source.prompt.clone(),
        };
        assert_eq!(answer(&first, "other", AuthInputKind::Otp, "OTP"), None);
        assert_eq!(
            answer(&first, "cred", AuthInputKind::Otp, "OTP").as_deref(),
            Some("123456")
        );
        assert_eq!(
            answer(&first, "cred", AuthInputKind::Otp, "OTP"),
            None,
            "a one-time password serves once"
        );
        assert_eq!(
            answer(&first, "cred", AuthInputKind::Pin, "PIN").as_deref(),
            Some("1234")
        );
        assert_eq!(
            answer(&first, "cred", AuthInputKind::Pin, "PIN").as_deref(),
            Some("1234"),
            "a PIN is kept"
        );
        source.set_otp("cred", Secret::new("654321")).unwrap();
        super::super::tests::block(source.log_out("cred")).unwrap();
        assert_eq!(answer(&first, "cred", AuthInputKind::Pin, "PIN"), None);
        assert_eq!(answer(&first, "cred", AuthInputKind::Otp, "OTP"), None);
    }

    #[test]
    fn recipe_debug_shows_no_secret() {
        let recipe =
            ProfileRecipe::new(Arc::new(EnvSecrets)).with_rssp_password(Some(Secret::new("hunter2")));
        let text = format!("{recipe:?}");
        assert!(!text.contains("hunter2"), "{text}");
    }
}
