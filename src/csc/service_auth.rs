//! Service authorization: where the RSSP access token comes from, as
//! [`AccessTokenSource`]s the [`CscClient`] asks (and asks again, once,
//! after the service rejects a token).
//!
//! - the GビズID login ([`crate::auth::TokenCache`], profile mode `gbiz_login`);
//! - [`BasicLoginSource`]: CSC `auth/login` with HTTP Basic (`csc_basic`);
//! - [`RsspOAuth2Source`]: the RSSP's OAuth 2.0 server, scope `service`
//!   (`rssp_oauth2`);
//! - [`crate::auth::EnvTokenSource`] (`bearer_env`) and [`StaticTokenSource`].
//!
//! The renewing ones keep their tokens in the one token cache
//! ([`TokenCache`], one refresh margin [`MIN_TOKEN_TTL`]); each only says how
//! it renews ([`TokenRenewer`]).
//!
//! [`for_profile`] builds the right one for a profile.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::client::CscClient;
use super::oauth::ServiceToken;
use crate::auth::{
    AccessTokenSource, Authenticator, BrowserLauncher, EnvTokenSource, TokenCache, TokenRenewer,
};
use crate::error::{Error, NEXT_STEP, Result};
use crate::profile::{Profile, ServiceAuth, TokenStore, Tokens};
use crate::secret::Secret;

/// A service token with less lifetime left than this is renewed before
/// use: the one refresh margin of [`TokenCache`], whatever the token.
pub const MIN_TOKEN_TTL: Duration = crate::auth::DEFAULT_MIN_TTL;

/// A fixed access token obtained elsewhere; it cannot be refreshed.
#[derive(Clone)]
pub struct StaticTokenSource {
    token: Secret,
}

impl fmt::Debug for StaticTokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticTokenSource").finish_non_exhaustive()
    }
}

impl StaticTokenSource {
    /// Hands out `token`.
    pub fn new(token: impl Into<Secret>) -> Self {
        Self { token: token.into() }
    }
}

#[async_trait]
impl AccessTokenSource for StaticTokenSource {
    async fn access_token(&self) -> Result<Secret> {
        Ok(self.token.clone())
    }

    async fn refresh_after_rejection(&self, _rejected: &Secret) -> Result<Secret> {
        Err(Error::Unauthenticated {
            detail: "the signing service rejected the access token, and a fixed token cannot be refreshed"
                .into(),
            source: None,
        })
    }
}

/// CSC `auth/login` with HTTP Basic: logs in on first use, renews with the
/// refresh token when it has one, else logs in again with the password.
pub struct BasicLoginSource {
    login: Arc<BasicLogin>,
    cache: TokenCache,
}

/// How [`BasicLoginSource`] renews (the [`TokenCache`] decides when).
struct BasicLogin {
    client: CscClient,
    user: String,
    /// `None`: only a kept token (or its refresh token) can be used.
    password: Option<Secret>,
}

impl BasicLogin {
    /// What the kept tokens of this login say in `scope`: the user, so
    /// that a token of another user is never taken for this one's.
    fn scope(&self) -> String {
        format!("csc_basic:{}", self.user)
    }
}

impl fmt::Debug for BasicLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicLogin")
            .field("service", &self.client.base_url())
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for BasicLoginSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicLoginSource")
            .field("service", &self.login.client.base_url())
            .field("user", &self.login.user)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl TokenRenewer for BasicLogin {
    async fn renew(&self, known: Option<&Tokens>) -> Result<Tokens> {
        let scope = self.scope();
        if let Some(rt) = known.and_then(|t| t.refresh_token.as_ref()) {
            match self.client.login_with_refresh_token(rt).await {
                Ok(t) => {
                    let mut t = t.into_tokens(&self.client, Some(&scope));
                    if t.refresh_token.is_none() {
                        t.refresh_token = Some(rt.clone());
                    }
                    return Ok(t);
                }
                Err(e) => tracing::debug!("refreshing the RSSP login failed ({e}); logging in again"),
            }
        }
        let password = self.password.as_ref().ok_or_else(|| Error::InteractionRequired {
            detail: format!(
                "the RSSP password of user {} at {} (no kept login to renew)",
                self.user,
                self.client.service_name()
            ),
        })?;
        let t = self.client.login_basic(&self.user, password, true).await?;
        Ok(t.into_tokens(&self.client, Some(&scope)))
    }

    fn accepts(&self, stored: &Tokens) -> Result<bool> {
        // Kept tokens are this service's, for this user.
        Ok(stored.issuer == self.client.base_url() && stored.scope.as_deref() == Some(self.scope().as_str()))
    }
}

impl BasicLoginSource {
    /// Logs in through `client` (a client without a token source: see
    /// [`CscClient::without_token_source`]) as `user`.
    pub fn new(client: CscClient, user: impl Into<String>, password: Secret) -> Self {
        Self::build(client, user.into(), Some(password), None)
    }

    /// Like [`new`](Self::new), the tokens kept in `store` under `key` (a
    /// profile-like name) so that other processes reuse the login, as the
    /// other service tokens are. Without a password, only a kept login
    /// (renewed with its refresh token) can be used; when none is left,
    /// the password is [`Error::InteractionRequired`].
    pub fn with_store(
        client: CscClient,
        user: impl Into<String>,
        password: Option<Secret>,
        store: Arc<dyn TokenStore>,
        key: impl Into<String>,
    ) -> Self {
        Self::build(client, user.into(), password, Some((store, key.into())))
    }

    fn build(client: CscClient, user: String, password: Option<Secret>, store: StoredAs) -> Self {
        let login = Arc::new(BasicLogin {
            client,
            user,
            password,
        });
        Self {
            cache: TokenCache::with_renewer(login.clone(), store),
            login,
        }
    }

    /// Revokes the tokens at the service (`auth/revoke`) and forgets them.
    pub async fn logout(&self) -> Result<()> {
        let Some(t) = self.cache.take().await? else {
            return Ok(());
        };
        let client = &self.login.client;
        if let Some(rt) = &t.refresh_token {
            client
                .auth_revoke(&t.access_token, rt, Some("refresh_token"))
                .await?;
        }
        client
            .auth_revoke(&t.access_token, &t.access_token, Some("access_token"))
            .await
    }
}

#[async_trait]
impl AccessTokenSource for BasicLoginSource {
    async fn access_token(&self) -> Result<Secret> {
        self.cache.access_token().await
    }

    async fn refresh_after_rejection(&self, rejected: &Secret) -> Result<Secret> {
        self.cache.refresh_after_rejection(rejected).await
    }
}

/// Where the tokens are kept: a store and the key in it.
type StoredAs = Option<(Arc<dyn TokenStore>, String)>;

/// The RSSP's own OAuth 2.0 server, scope `service`: the authorization
/// code flow with PKCE through a browser on first use (or an explicit
/// [`login`](Self::login)), then the refresh token. Tokens are kept in a
/// [`TokenStore`] when one is given, so other processes reuse them.
pub struct RsspOAuth2Source {
    login: Arc<RsspLogin>,
    store: StoredAs,
    cache: TokenCache,
}

/// How [`RsspOAuth2Source`] renews (the [`TokenCache`] decides when).
struct RsspLogin {
    client: CscClient,
    launcher: Option<Arc<dyn BrowserLauncher>>,
    timeout: Duration,
}

impl fmt::Debug for RsspLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsspLogin")
            .field("service", &self.client.base_url())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for RsspOAuth2Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsspOAuth2Source")
            .field("service", &self.login.client.base_url())
            .field("store_key", &self.store.as_ref().map(|(_, k)| k))
            .finish_non_exhaustive()
    }
}

impl RsspLogin {
    async fn browser_login(&self) -> Result<Tokens> {
        let launcher = self.launcher.as_ref().ok_or_else(|| Error::Unauthenticated {
            detail: format!("not logged in to {}", self.client.service_name()),
            source: None,
        })?;
        let r = self
            .client
            .oauth2_code_flow(launcher.as_ref(), &[("scope", "service".into())], self.timeout)
            .await
            .map_err(|e| match e {
                Error::AuthorizationInvalid { detail } => Error::Unauthenticated { detail, source: None },
                other => other,
            })?;
        Ok(ServiceToken::from_grant(r).into_tokens(&self.client, Some("service")))
    }
}

#[async_trait]
impl TokenRenewer for RsspLogin {
    async fn renew(&self, known: Option<&Tokens>) -> Result<Tokens> {
        if let Some(rt) = known.and_then(|p| p.refresh_token.as_ref()) {
            match self.client.oauth2_refresh(rt).await {
                Ok(t) => {
                    let mut t = t.into_tokens(&self.client, Some("service"));
                    // Without rotation the old refresh token stays valid.
                    if t.refresh_token.is_none() {
                        t.refresh_token = Some(rt.clone());
                    }
                    return Ok(t);
                }
                Err(e @ Error::Unauthenticated { .. }) => {
                    tracing::debug!("the RSSP refused the refresh token ({e})");
                }
                Err(e) => return Err(e),
            }
        }
        self.browser_login().await
    }

    fn accepts(&self, stored: &Tokens) -> Result<bool> {
        Ok(stored.issuer == self.client.base_url())
    }
}

impl RsspOAuth2Source {
    /// Authorizes through `client` (which needs an OAuth client: see
    /// [`CscClient::with_oauth_client`]); `launcher` opens the browser when
    /// a login is needed (without one, a missing login is
    /// [`Error::Unauthenticated`]).
    pub fn new(client: CscClient, launcher: Option<Arc<dyn BrowserLauncher>>) -> Self {
        Self::build(
            RsspLogin {
                client,
                launcher,
                timeout: super::authorize::DEFAULT_APPROVAL_TIMEOUT,
            },
            None,
        )
    }

    fn build(login: RsspLogin, store: StoredAs) -> Self {
        let login = Arc::new(login);
        Self {
            cache: TokenCache::with_renewer(login.clone(), store.clone()),
            login,
            store,
        }
    }

    /// The renewer back, to build anew (only the cache shares it).
    fn into_parts(self) -> (RsspLogin, StoredAs) {
        let Self { login, store, cache } = self;
        drop(cache);
        let login = Arc::try_unwrap(login).unwrap_or_else(|shared| RsspLogin {
            client: shared.client.without_token_source(),
            launcher: shared.launcher.clone(),
            timeout: shared.timeout,
        });
        (login, store)
    }

    /// Keeps the tokens in `store` under `key` (a profile-like name).
    pub fn with_store(self, store: Arc<dyn TokenStore>, key: impl Into<String>) -> Self {
        let (login, _) = self.into_parts();
        Self::build(login, Some((store, key.into())))
    }

    /// How long the user has to approve in the browser.
    pub fn with_timeout(self, timeout: Duration) -> Self {
        let (mut login, store) = self.into_parts();
        login.timeout = timeout;
        Self::build(login, store)
    }

    /// Runs the browser flow for scope `service` now and keeps the tokens.
    pub async fn login(&self) -> Result<()> {
        let t = self.login.browser_login().await?;
        self.cache.put(t).await
    }

    /// Revokes the tokens (`oauth2/revoke`) and forgets them here and in the store.
    pub async fn logout(&self) -> Result<()> {
        let client = &self.login.client;
        let mut result = Ok(());
        if let Some(t) = self.cache.take().await? {
            if let Some(rt) = &t.refresh_token {
                result = client.oauth2_revoke(rt, Some("refresh_token")).await;
            }
            let access = client.oauth2_revoke(&t.access_token, Some("access_token")).await;
            result = result.and(access);
        }
        if let Some((store, key)) = &self.store {
            store.delete(key)?;
        }
        result
    }
}

#[async_trait]
impl AccessTokenSource for RsspOAuth2Source {
    async fn access_token(&self) -> Result<Secret> {
        self.cache.access_token().await
    }

    async fn refresh_after_rejection(&self, rejected: &Secret) -> Result<Secret> {
        self.cache.refresh_after_rejection(rejected).await
    }
}

/// The service token source a profile's `rssp.service_auth` asks for.
///
/// - `gbiz_login`: the GビズID login's [`TokenCache`]
///   (tokens in `store` under the profile's name);
/// - `csc_basic`: [`BasicLoginSource`] with the profile's password, or
///   `password` when given (the CLI reads it from the environment);
///   without one, only a kept login can be used;
/// - `rssp_oauth2`: [`RsspOAuth2Source`] through `launcher`, tokens in
///   `store` under `<profile>.rssp`;
/// - `bearer_env`: [`EnvTokenSource`];
/// - `none`: no token source ([`Error::Config`]; the client sends no
///   `Authorization`, see [`CscClient::without_service_authorization`]).
///
/// The sources but the GビズID login's say the next step of their mode
/// ([`next_step`]) when the service refuses them (an
/// [`Error::Unauthenticated`] whose detail names it), and `csc_basic` keeps its login in
/// `store` under `<profile>.basic`.
pub fn for_profile(
    profile: &Profile,
    store: Arc<dyn TokenStore>,
    launcher: Option<Arc<dyn BrowserLauncher>>,
    password: Option<Secret>,
) -> Result<Arc<dyn AccessTokenSource>> {
    let name = &profile.name;
    let source: Arc<dyn AccessTokenSource> = match &profile.rssp.service_auth {
        ServiceAuth::GbizLogin => {
            return Ok(Arc::new(
                Authenticator::for_profile(profile, store)?.token_cache(),
            ));
        }
        ServiceAuth::CscBasic {
            user,
            password: stored,
        } => {
            let key = format!("{name}.basic");
            let password = match (password, stored) {
                (Some(p), _) => Some(p),
                (None, Some(r)) => Some(r.resolve(&format!("RSSP password of profile {name}"))?),
                // Without a password only a kept login can serve.
                (None, None) if store.load(&key)?.is_some() => None,
                (None, None) => {
                    return Err(Error::InteractionRequired {
                        detail: format!(
                            "the RSSP password of user {user} (profile {name}); {}",
                            next_step(profile)
                        ),
                    });
                }
            };
            Arc::new(BasicLoginSource::with_store(
                CscClient::for_profile(profile)?,
                user.clone(),
                password,
                store,
                key,
            ))
        }
        ServiceAuth::RsspOauth2 => Arc::new(
            RsspOAuth2Source::new(CscClient::for_profile(profile)?, launcher)
                .with_store(store, format!("{name}.rssp")),
        ),
        ServiceAuth::BearerEnv { var } => Arc::new(EnvTokenSource::new(var.clone())),
        ServiceAuth::None => {
            return Err(Error::Config {
                detail: format!(
                    "profile {name} sends no service authorization (service_auth none): use a client \
                     without a token source (CscClient::without_service_authorization)"
                ),
            });
        }
    };
    Ok(Arc::new(NextStep {
        inner: source,
        step: next_step(profile),
    }))
}

/// What a user does when the service authorization of `profile` is
/// missing or refused: the step that fits its mode (`crpki login` only
/// for the GビズID login).
pub fn next_step(profile: &Profile) -> String {
    let name = &profile.name;
    match &profile.rssp.service_auth {
        ServiceAuth::GbizLogin => format!("run `crpki login --profile {name}`"),
        ServiceAuth::CscBasic { user, .. } => format!(
            "profile {name} logs in to the RSSP as {user} with CSC auth/login: give the password (the crpki tool \
             reads CRPKI_RSSP_PASSWORD) and check it; the login is kept for later runs"
        ),
        ServiceAuth::RsspOauth2 => format!(
            "profile {name} logs in at the RSSP's own OAuth2 server: run `crpki certs list --profile {name}` \
             without --silent to log in in the browser"
        ),
        ServiceAuth::BearerEnv { var } => format!(
            "profile {name} reads the RSSP access token from ${var}: put a valid token there (no login \
             command applies)"
        ),
        ServiceAuth::None => format!(
            "profile {name} sends no authorization (service_auth none) and the RSSP wants one: choose \
             basic:USER, env:VAR or oauth2 with `crpki profile edit {name} --service-auth`"
        ),
    }
}

/// A token source whose "not authenticated" errors say the next step of
/// the profile's mode (after [`NEXT_STEP`]) instead of `crpki login`.
struct NextStep {
    inner: Arc<dyn AccessTokenSource>,
    step: String,
}

impl fmt::Debug for NextStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl NextStep {
    fn explain(&self, e: Error) -> Error {
        match e {
            Error::Unauthenticated { detail, source } if !detail.contains(NEXT_STEP) => {
                Error::Unauthenticated {
                    detail: format!("{detail}{NEXT_STEP}{}", self.step),
                    source,
                }
            }
            Error::InteractionRequired { detail } => Error::InteractionRequired {
                detail: format!("{detail}; {}", self.step),
            },
            other => other,
        }
    }
}

#[async_trait]
impl AccessTokenSource for NextStep {
    async fn access_token(&self) -> Result<Secret> {
        self.inner.access_token().await.map_err(|e| self.explain(e))
    }

    async fn refresh_after_rejection(&self, rejected: &Secret) -> Result<Secret> {
        self.inner
            .refresh_after_rejection(rejected)
            .await
            .map_err(|e| self.explain(e))
    }
}
