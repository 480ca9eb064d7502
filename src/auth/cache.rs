//! Handing out a valid access token: the one place that decides when to
//! refresh, for every kind of token crpki holds (GビズID, the RSSP's OAuth
//! 2.0 server, CSC `auth/login`).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::oidc::OidcClient;
use crate::error::{Error, Result};
use crate::profile::{TokenStore, Tokens};
use crate::secret::Secret;

/// Minimum remaining lifetime of a handed-out access token by default.
pub const DEFAULT_MIN_TTL: Duration = Duration::from_secs(60);

/// Something that hands out a bearer access token. Object safe; callers
/// hold `Arc<dyn AccessTokenSource>`.
#[async_trait]
pub trait AccessTokenSource: Send + Sync + fmt::Debug {
    /// A token the service should accept now.
    async fn access_token(&self) -> Result<Secret>;

    /// A new token, after the service rejected `rejected` (HTTP 401).
    async fn refresh_after_rejection(&self, rejected: &Secret) -> Result<Secret>;
}

/// How one kind of token is obtained and renewed: the part that differs
/// between the GビズID login, the RSSP's OAuth 2.0 server and CSC
/// `auth/login`. [`TokenCache`] decides when; a renewer only says how.
#[async_trait]
pub trait TokenRenewer: Send + Sync + fmt::Debug {
    /// New tokens, from `known` (its refresh token) when given; without
    /// usable tokens, a new login where this renewer can log in, else
    /// [`Error::Unauthenticated`].
    async fn renew(&self, known: Option<&Tokens>) -> Result<Tokens>;

    /// Whether stored tokens are this renewer's: `Ok(false)` ignores them
    /// (as if absent), an error refuses them.
    fn accepts(&self, stored: &Tokens) -> Result<bool>;
}

/// The GビズID tokens of a logged-in profile: refreshed, never logged in
/// here (that takes `crpki login`).
#[derive(Debug)]
struct ProfileLogin {
    client: Arc<OidcClient>,
    profile: String,
}

#[async_trait]
impl TokenRenewer for ProfileLogin {
    async fn renew(&self, known: Option<&Tokens>) -> Result<Tokens> {
        match known {
            Some(t) => self.client.refresh(t).await,
            None => Err(Error::Unauthenticated {
                detail: format!("not logged in (profile {})", self.profile),
                source: None,
            }),
        }
    }

    fn accepts(&self, stored: &Tokens) -> Result<bool> {
        self.client.check_bound(stored).map(|()| true)
    }
}

/// The one token cache: hands out an access token with at least the
/// minimum TTL ([`DEFAULT_MIN_TTL`]) left, renewing it through its
/// [`TokenRenewer`] (and storing the result) before that.
///
/// With a [`TokenStore`], the token file is shared with other crpki
/// processes (the CLI, the Windows providers in other applications):
/// read-refresh-save runs under the store's cross-process lock
/// ([`TokenStore::lock`]), and before renewing, and after a refresh token
/// is refused (however the provider says it: see
/// `auth::oauth2::refusal_error`), the cache re-reads the file in case
/// another process renewed first.
pub struct TokenCache {
    renewer: Arc<dyn TokenRenewer>,
    store: Option<(Arc<dyn TokenStore>, String)>,
    min_ttl: Duration,
    current: tokio::sync::Mutex<Option<Tokens>>,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("key", &self.store.as_ref().map(|(_, k)| k))
            .field("renewer", &self.renewer)
            .field("min_ttl", &self.min_ttl)
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    /// A cache for `profile`'s GビズID tokens in `store`, refreshed
    /// through `client`.
    pub fn new(client: Arc<OidcClient>, store: Arc<dyn TokenStore>, profile: impl Into<String>) -> Self {
        let profile = profile.into();
        let renewer = Arc::new(ProfileLogin {
            client,
            profile: profile.clone(),
        });
        Self::with_renewer(renewer, Some((store, profile)))
    }

    /// A cache for the tokens `renewer` obtains, kept in `store` under the
    /// given key when there is one.
    pub fn with_renewer(
        renewer: Arc<dyn TokenRenewer>,
        store: Option<(Arc<dyn TokenStore>, String)>,
    ) -> Self {
        Self {
            renewer,
            store,
            min_ttl: DEFAULT_MIN_TTL,
            current: tokio::sync::Mutex::new(None),
        }
    }

    /// Sets the minimum remaining lifetime of handed-out tokens. Keep it
    /// below the provider's token lifetime (GビズID: 3600 s): a token that
    /// lives less than this is refreshed at every use.
    pub fn with_min_ttl(mut self, min_ttl: Duration) -> Self {
        self.min_ttl = min_ttl;
        self
    }

    /// The key of the tokens in the store (the profile), if stored.
    pub fn profile(&self) -> &str {
        self.store.as_ref().map(|(_, k)| k.as_str()).unwrap_or("")
    }

    fn stored(&self) -> Result<Option<Tokens>> {
        let Some((store, key)) = &self.store else {
            return Ok(None);
        };
        match store.load(key)? {
            Some(t) if self.renewer.accepts(&t)? => Ok(Some(t)),
            _ => Ok(None),
        }
    }

    fn fresh(&self, t: &Tokens) -> bool {
        !t.expires_within(self.min_ttl, SystemTime::now())
    }

    /// Valid tokens (renewed if needed), for callers that need more than
    /// the access token (the subject, the ID token).
    pub async fn tokens(&self) -> Result<Tokens> {
        let mut current = self.current.lock().await;
        let known = match current.take() {
            Some(t) => Some(t),
            None => self.stored()?,
        };
        let tokens = match known {
            Some(t) if self.fresh(&t) => t,
            known => self.renew_from(known, None).await?,
        };
        *current = Some(tokens.clone());
        Ok(tokens)
    }

    /// Forgets the kept tokens and returns them (or the stored ones), for
    /// a logout; the store is left as it is.
    pub async fn take(&self) -> Result<Option<Tokens>> {
        match self.current.lock().await.take() {
            Some(t) => Ok(Some(t)),
            None => self.stored(),
        }
    }

    /// Keeps (and stores) tokens obtained elsewhere, e.g. an explicit login.
    pub async fn put(&self, tokens: Tokens) -> Result<()> {
        let mut current = self.current.lock().await;
        self.save(&tokens)?;
        *current = Some(tokens);
        Ok(())
    }

    /// The store's cross-process lock of these tokens, taken off the async
    /// threads (it may wait for another process's refresh).
    async fn lock(&self) -> Result<Option<crate::profile::TokenLock>> {
        let Some((store, key)) = &self.store else {
            return Ok(None);
        };
        let (store, key) = (store.clone(), key.clone());
        tokio::task::spawn_blocking(move || store.lock(&key))
            .await
            .map_err(|e| Error::Other(Arc::new(e)))?
    }

    fn save(&self, tokens: &Tokens) -> Result<()> {
        match &self.store {
            Some((store, key)) => store.save(key, tokens),
            None => Ok(()),
        }
    }

    /// Renews starting from `known`. `rejected` is an access token the
    /// service refused: stored tokens still carrying it are not "fresh".
    async fn renew_from(&self, known: Option<Tokens>, rejected: Option<&Secret>) -> Result<Tokens> {
        // Held until the renewed tokens are saved: another process waits,
        // then re-reads them below instead of spending the same refresh token.
        let _lock = self.lock().await?;
        let usable = |t: &Tokens| self.fresh(t) && rejected.is_none_or(|r| t.access_token != *r);
        let base = match self.stored()? {
            Some(s) if usable(&s) => return Ok(s),
            // Another process may hold a newer refresh token than ours.
            Some(s) => Some(s),
            None => known,
        };
        match self.renewer.renew(base.as_ref()).await {
            Ok(new) => {
                self.save(&new)?;
                Ok(new)
            }
            Err(e @ Error::Unauthenticated { .. }) => {
                // Lost a race with another process that rotated the token?
                match self.stored()? {
                    Some(s)
                        if base.as_ref().is_none_or(|b| s.refresh_token != b.refresh_token) && usable(&s) =>
                    {
                        Ok(s)
                    }
                    _ => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl AccessTokenSource for TokenCache {
    async fn access_token(&self) -> Result<Secret> {
        Ok(self.tokens().await?.access_token)
    }

    async fn refresh_after_rejection(&self, rejected: &Secret) -> Result<Secret> {
        let mut current = self.current.lock().await;
        let known = match current.take() {
            Some(t) => Some(t),
            None => self.stored()?,
        };
        if let Some(k) = known
            .as_ref()
            .filter(|k| k.access_token != *rejected && self.fresh(k))
        {
            // Somebody refreshed since the caller got its token.
            let token = k.access_token.clone();
            *current = known;
            return Ok(token);
        }
        let tokens = self.renew_from(known, Some(rejected)).await?;
        let token = tokens.access_token.clone();
        *current = Some(tokens);
        Ok(token)
    }
}

/// A token supplied through an environment variable (read at every use),
/// for pipelines that obtain it elsewhere. It cannot be refreshed.
#[derive(Clone, Debug)]
pub struct EnvTokenSource {
    var: String,
}

impl EnvTokenSource {
    /// Reads the token from `var`.
    pub fn new(var: impl Into<String>) -> Self {
        Self { var: var.into() }
    }
}

#[async_trait]
impl AccessTokenSource for EnvTokenSource {
    async fn access_token(&self) -> Result<Secret> {
        match std::env::var(&self.var) {
            Ok(v) if !v.trim().is_empty() => Ok(Secret::new(v.trim())),
            _ => Err(Error::Unauthenticated {
                detail: format!("the environment variable {} holds no access token", self.var),
                source: None,
            }),
        }
    }

    async fn refresh_after_rejection(&self, _rejected: &Secret) -> Result<Secret> {
        Err(Error::Unauthenticated {
            detail: format!(
                "the service rejected the access token from {}; supply a fresh one",
                self.var
            ),
            source: None,
        })
    }
}
