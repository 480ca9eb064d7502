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
//! [`for_profile`] builds the right one for a profile.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::client::CscClient;
use super::oauth::ServiceToken;
use crate::auth::{AccessTokenSource, Authenticator, BrowserLauncher, EnvTokenSource};
use crate::error::{Error, Result};
use crate::profile::{Profile, ServiceAuth, TokenStore, Tokens};
use crate::secret::Secret;

/// A service token with less lifetime left than this is renewed before use.
pub const MIN_TOKEN_TTL: Duration = Duration::from_secs(30);

/// The kept token while it has [`MIN_TOKEN_TTL`] left, else a new one from
/// `obtain` (given the old one, e.g. for its refresh token), kept for next time.
async fn cached_or_obtain<F, Fut>(
    current: &tokio::sync::Mutex<Option<ServiceToken>>,
    obtain: F,
) -> Result<Secret>
where
    F: FnOnce(Option<ServiceToken>) -> Fut,
    Fut: std::future::Future<Output = Result<ServiceToken>>,
{
    let mut current = current.lock().await;
    if let Some(t) = current.as_ref().filter(|t| !t.expires_within(MIN_TOKEN_TTL)) {
        return Ok(t.access_token.clone());
    }
    let t = obtain(current.take()).await?;
    let token = t.access_token.clone();
    *current = Some(t);
    Ok(token)
}

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
    client: CscClient,
    user: String,
    password: Secret,
    current: tokio::sync::Mutex<Option<ServiceToken>>,
}

impl fmt::Debug for BasicLoginSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicLoginSource")
            .field("service", &self.client.base_url())
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl BasicLoginSource {
    /// Logs in through `client` (a client without a token source: see
    /// [`CscClient::without_token_source`]) as `user`.
    pub fn new(client: CscClient, user: impl Into<String>, password: Secret) -> Self {
        Self {
            client,
            user: user.into(),
            password,
            current: tokio::sync::Mutex::new(None),
        }
    }

    async fn obtain(&self, previous: Option<ServiceToken>) -> Result<ServiceToken> {
        if let Some(rt) = previous.as_ref().and_then(|t| t.refresh_token.as_ref()) {
            match self.client.login_with_refresh_token(rt).await {
                Ok(t) => return Ok(t),
                Err(e) => tracing::debug!("refreshing the RSSP login failed ({e}); logging in again"),
            }
        }
        self.client.login_basic(&self.user, &self.password, true).await
    }

    /// Revokes the tokens at the service (`auth/revoke`) and forgets them.
    pub async fn logout(&self) -> Result<()> {
        let Some(t) = self.current.lock().await.take() else {
            return Ok(());
        };
        if let Some(rt) = &t.refresh_token {
            self.client
                .auth_revoke(&t.access_token, rt, Some("refresh_token"))
                .await?;
        }
        self.client
            .auth_revoke(&t.access_token, &t.access_token, Some("access_token"))
            .await
    }
}

#[async_trait]
impl AccessTokenSource for BasicLoginSource {
    async fn access_token(&self) -> Result<Secret> {
        cached_or_obtain(&self.current, |previous| self.obtain(previous)).await
    }

    async fn refresh_after_rejection(&self, rejected: &Secret) -> Result<Secret> {
        let mut current = self.current.lock().await;
        if let Some(t) = current.as_ref().filter(|t| t.access_token != *rejected) {
            return Ok(t.access_token.clone());
        }
        let t = self.obtain(current.take()).await?;
        let token = t.access_token.clone();
        *current = Some(t);
        Ok(token)
    }
}

/// The RSSP's own OAuth 2.0 server, scope `service`: the authorization
/// code flow with PKCE through a browser on first use (or an explicit
/// [`login`](Self::login)), then the refresh token. Tokens are kept in a
/// [`TokenStore`] when one is given, so other processes reuse them.
pub struct RsspOAuth2Source {
    client: CscClient,
    launcher: Option<Arc<dyn BrowserLauncher>>,
    timeout: Duration,
    store: Option<(Arc<dyn TokenStore>, String)>,
    current: tokio::sync::Mutex<Option<ServiceToken>>,
}

impl fmt::Debug for RsspOAuth2Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsspOAuth2Source")
            .field("service", &self.client.base_url())
            .field("store_key", &self.store.as_ref().map(|(_, k)| k))
            .finish_non_exhaustive()
    }
}

impl RsspOAuth2Source {
    /// Authorizes through `client` (which needs an OAuth client: see
    /// [`CscClient::with_oauth_client`]); `launcher` opens the browser when
    /// a login is needed (without one, a missing login is
    /// [`Error::Unauthenticated`]).
    pub fn new(client: CscClient, launcher: Option<Arc<dyn BrowserLauncher>>) -> Self {
        Self {
            client,
            launcher,
            timeout: super::authorize::DEFAULT_APPROVAL_TIMEOUT,
            store: None,
            current: tokio::sync::Mutex::new(None),
        }
    }

    /// Keeps the tokens in `store` under `key` (a profile-like name).
    pub fn with_store(mut self, store: Arc<dyn TokenStore>, key: impl Into<String>) -> Self {
        self.store = Some((store, key.into()));
        self
    }

    /// How long the user has to approve in the browser.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn load(&self) -> Result<Option<ServiceToken>> {
        let Some((store, key)) = &self.store else {
            return Ok(None);
        };
        let Some(t) = store.load(key)? else {
            return Ok(None);
        };
        if t.issuer != self.client.base_url() {
            return Ok(None);
        }
        let now = SystemTime::now();
        Ok(Some(ServiceToken {
            access_token: t.access_token,
            refresh_token: t.refresh_token,
            expires_in: t
                .expires_at
                .map(|at| at.duration_since(now).unwrap_or(Duration::ZERO)),
            received: std::time::Instant::now(),
        }))
    }

    fn save(&self, t: &ServiceToken) -> Result<()> {
        let Some((store, key)) = &self.store else {
            return Ok(());
        };
        let client_id = self.client.oauth_client_id().unwrap_or_default().to_owned();
        store.save(
            key,
            &Tokens {
                issuer: self.client.base_url().to_owned(),
                client_id,
                subject: None,
                access_token: t.access_token.clone(),
                refresh_token: t.refresh_token.clone(),
                id_token: None,
                expires_at: t.expires_in.map(|d| SystemTime::now() + d),
                scope: Some("service".into()),
            },
        )
    }

    /// Runs the browser flow for scope `service` now and keeps the tokens.
    pub async fn login(&self) -> Result<()> {
        let t = self.browser_login().await?;
        self.save(&t)?;
        *self.current.lock().await = Some(t);
        Ok(())
    }

    async fn browser_login(&self) -> Result<ServiceToken> {
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
        Ok(ServiceToken {
            access_token: r.access_token.clone(),
            refresh_token: r.refresh_token.clone(),
            expires_in: r.expires_in.map(Duration::from_secs),
            received: std::time::Instant::now(),
        })
    }

    async fn obtain(&self, previous: Option<ServiceToken>) -> Result<ServiceToken> {
        let previous = match previous {
            Some(p) => Some(p),
            None => self.load()?,
        };
        if let Some(p) = &previous {
            if !p.expires_within(MIN_TOKEN_TTL) {
                return Ok(p.clone());
            }
        }
        let refreshed = match previous.as_ref().and_then(|p| p.refresh_token.as_ref()) {
            Some(rt) => match self.client.oauth2_refresh(rt).await {
                Ok(mut t) => {
                    // Without rotation the old refresh token stays valid.
                    if t.refresh_token.is_none() {
                        t.refresh_token = Some(rt.clone());
                    }
                    Some(t)
                }
                Err(e @ Error::Unauthenticated { .. }) => {
                    tracing::debug!("the RSSP refused the refresh token ({e})");
                    None
                }
                Err(e) => return Err(e),
            },
            None => None,
        };
        let t = match refreshed {
            Some(t) => t,
            None => self.browser_login().await?,
        };
        self.save(&t)?;
        Ok(t)
    }

    /// Revokes the tokens (`oauth2/revoke`) and forgets them here and in the store.
    pub async fn logout(&self) -> Result<()> {
        let t = match self.current.lock().await.take() {
            Some(t) => Some(t),
            None => self.load()?,
        };
        let mut result = Ok(());
        if let Some(t) = t {
            if let Some(rt) = &t.refresh_token {
                result = self.client.oauth2_revoke(rt, Some("refresh_token")).await;
            }
            let access = self
                .client
                .oauth2_revoke(&t.access_token, Some("access_token"))
                .await;
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
        cached_or_obtain(&self.current, |previous| self.obtain(previous)).await
    }

    async fn refresh_after_rejection(&self, rejected: &Secret) -> Result<Secret> {
        let mut current = self.current.lock().await;
        if let Some(t) = current.as_ref().filter(|t| t.access_token != *rejected) {
            return Ok(t.access_token.clone());
        }
        let mut previous = current.take().or(self.load()?);
        if let Some(p) = previous.as_mut() {
            // Rejected: whatever its lifetime says, it must be renewed.
            p.expires_in = Some(Duration::ZERO);
        }
        let t = self.obtain(previous).await?;
        let token = t.access_token.clone();
        *current = Some(t);
        Ok(token)
    }
}

/// The service token source a profile's `rssp.service_auth` asks for.
///
/// - `gbiz_login`: the GビズID login's [`TokenCache`](crate::auth::TokenCache)
///   (tokens in `store` under the profile's name);
/// - `csc_basic`: [`BasicLoginSource`] with the profile's password, or
///   `password` when given (the CLI prompts for it); none is
///   [`Error::InteractionRequired`];
/// - `rssp_oauth2`: [`RsspOAuth2Source`] through `launcher`, tokens in
///   `store` under `<profile>.rssp`;
/// - `bearer_env`: [`EnvTokenSource`].
pub fn for_profile(
    profile: &Profile,
    store: Arc<dyn TokenStore>,
    launcher: Option<Arc<dyn BrowserLauncher>>,
    password: Option<Secret>,
) -> Result<Arc<dyn AccessTokenSource>> {
    Ok(match &profile.rssp.service_auth {
        ServiceAuth::GbizLogin => Arc::new(Authenticator::for_profile(profile, store)?.token_cache()),
        ServiceAuth::CscBasic {
            user,
            password: stored,
        } => {
            let password = match (password, stored) {
                (Some(p), _) => p,
                (None, Some(r)) => r.resolve(&format!("RSSP password of profile {}", profile.name))?,
                (None, None) => {
                    return Err(Error::InteractionRequired {
                        detail: format!("the RSSP password of user {user} (profile {})", profile.name),
                    });
                }
            };
            Arc::new(BasicLoginSource::new(
                CscClient::for_profile(profile)?,
                user.clone(),
                password,
            ))
        }
        ServiceAuth::RsspOauth2 => Arc::new(
            RsspOAuth2Source::new(CscClient::for_profile(profile)?, launcher)
                .with_store(store, format!("{}.rssp", profile.name)),
        ),
        ServiceAuth::BearerEnv { var } => Arc::new(EnvTokenSource::new(var.clone())),
    })
}
