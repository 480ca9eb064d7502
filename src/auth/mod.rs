//! GビズID login: an OpenID Connect relying party for a native
//! application (RFC 8252 loopback redirect, PKCE S256, `state` and `nonce`),
//! ID-token verification, refresh with rotation, a token cache, userinfo,
//! logout. Its requests go through [`crate::http`].
//!
//! Inside: `oauth2.rs` is the one OAuth 2.0 client of crpki (code flow
//! with PKCE over the loopback listener, token, refresh, revocation,
//! client authentication), built on the `oauth2` crate and used by the
//! GビズID login and the RSSP's authorization server alike; `oidc.rs` puts
//! OpenID Connect on top (discovery, JWKS, ID token, nonce); `cache.rs`
//! is the one token cache ([`TokenCache`], one refresh margin
//! [`DEFAULT_MIN_TTL`]) with a [`TokenRenewer`] per kind of token.
//!
//! This room talks to OAuth 2.0 / OpenID servers only; it reads profiles
//! and writes token files through [`crate::profile`], and is used by the
//! CSC client (the bearer token, the RSSP's OAuth server through the one
//! OAuth client) and the CLI (`crpki login`/`logout`).
//!
//! ```no_run
//! # async fn demo() -> crpki::Result<()> {
//! use std::sync::Arc;
//! use crpki::auth::{Authenticator, LoginOptions, SystemBrowser};
//! use crpki::profile::ProfileStore;
//!
//! let store = ProfileStore::open_default()?;
//! let profile = store.current()?;
//! let auth = Authenticator::for_profile(&profile, Arc::new(store.token_store()))?;
//! let browser = SystemBrowser::new().announce(|url| eprintln!("Log in at: {url}"));
//! let login = auth.login(&browser, &LoginOptions::default()).await?;
//! println!("logged in as {}", login.id_token.sub);
//! let bearer = auth.token_cache().tokens().await?.access_token;
//! # let _ = bearer; Ok(()) }
//! ```

use std::sync::Arc;

use crate::error::Result;
use crate::profile::{Profile, TokenStore, Tokens};

mod browser;
mod cache;
mod loopback;
mod metadata;
pub(crate) mod oauth2;
pub(crate) mod oidc;
mod userinfo;

pub use browser::{BrowserLauncher, HttpFollowLauncher, SystemBrowser};
pub use cache::{AccessTokenSource, DEFAULT_MIN_TTL, EnvTokenSource, TokenCache, TokenRenewer};
pub use loopback::RedirectTarget;
pub use oidc::{
    DEFAULT_LEEWAY, DEFAULT_LOGIN_TIMEOUT, IdTokenClaims, Login, LoginOptions, OidcClient, OidcConfig,
    PendingLogin, ProviderMetadata, Revocation, discovery_url,
};
// The transport moved to `crate::http`; these paths stay for callers of
// the earlier layout.
pub use crate::http::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT, HttpClient, ProxyConfig, TransportConfig, check_endpoint,
    http_client, is_loopback,
};
pub use userinfo::{AccountType, CorpType, UserInfo, check_corporate_number};

/// The outcome of [`Authenticator::logout`].
#[derive(Debug)]
pub struct Logout {
    /// What happened at the provider.
    pub revocation: Revocation,
    /// Whether a local token file was deleted.
    pub local_tokens_deleted: bool,
}

/// Login, logout and tokens of one profile: an [`OidcClient`] together with
/// the profile's token store.
#[derive(Debug, Clone)]
pub struct Authenticator {
    client: Arc<OidcClient>,
    store: Arc<dyn TokenStore>,
    profile: String,
}

impl Authenticator {
    /// For a resolved profile: its transport (proxy, CAs) and OpenID
    /// settings, tokens in `store`.
    pub fn for_profile(profile: &Profile, store: Arc<dyn TokenStore>) -> Result<Self> {
        profile.validate()?;
        let http = http_client(&TransportConfig::from_profile(profile)?)?;
        let client = OidcClient::new(http, OidcConfig::from_profile(profile)?)?;
        Ok(Self::new(Arc::new(client), store, profile.name.clone()))
    }

    /// From parts.
    pub fn new(client: Arc<OidcClient>, store: Arc<dyn TokenStore>, profile: impl Into<String>) -> Self {
        Self {
            client,
            store,
            profile: profile.into(),
        }
    }

    /// The OpenID client.
    pub fn client(&self) -> &Arc<OidcClient> {
        &self.client
    }

    /// The profile's name.
    pub fn profile(&self) -> &str {
        &self.profile
    }

    /// Logs in (see [`OidcClient::login`]) and stores the tokens.
    pub async fn login(&self, launcher: &dyn BrowserLauncher, options: &LoginOptions) -> Result<Login> {
        let login = self.client.login(launcher, options).await?;
        self.store.save(&self.profile, &login.tokens)?;
        Ok(login)
    }

    /// Finishes a login started with [`OidcClient::start_login`] (after
    /// showing its URL) and stores the tokens.
    pub async fn finish_login(
        &self,
        pending: PendingLogin<'_>,
        launcher: &dyn BrowserLauncher,
    ) -> Result<Login> {
        let login = pending.finish(launcher).await?;
        self.store.save(&self.profile, &login.tokens)?;
        Ok(login)
    }

    /// The stored tokens, if logged in (not refreshed).
    pub fn stored_tokens(&self) -> Result<Option<Tokens>> {
        self.store.load(&self.profile)
    }

    /// A token cache for this profile (share it: it serializes refreshes).
    pub fn token_cache(&self) -> TokenCache {
        TokenCache::new(self.client.clone(), self.store.clone(), self.profile.clone())
    }

    /// The user's claims, with a valid access token from `cache`.
    pub async fn userinfo(&self, cache: &TokenCache) -> Result<UserInfo> {
        let tokens = cache.tokens().await?;
        self.client.userinfo(&tokens).await
    }

    /// Revokes the tokens where the provider offers revocation, then
    /// deletes the token file whatever revocation did (a failure is
    /// reported in [`Logout::revocation`]).
    pub async fn logout(&self) -> Result<Logout> {
        // Unreadable tokens (bad permissions, corrupt) are still deleted.
        let tokens = self.store.load(&self.profile).ok().flatten();
        let revocation = match &tokens {
            None => Revocation::NothingToRevoke,
            Some(t) => match self.client.check_bound(t) {
                Err(e) => Revocation::Failed(e),
                Ok(()) => match self.client.revoke(t).await {
                    Ok(r) => r,
                    Err(e) => Revocation::Failed(e),
                },
            },
        };
        let local_tokens_deleted = self.store.delete(&self.profile)?;
        Ok(Logout {
            revocation,
            local_tokens_deleted,
        })
    }
}
