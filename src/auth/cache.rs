//! Handing out a valid access token: the one place that decides when to
//! refresh.

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

/// The access token of a logged-in profile, refreshed (and the rotated
/// refresh token stored) before it has less than the minimum TTL left.
///
/// The token file is shared with other crpki processes (the CLI, the
/// Windows providers in other applications): before refreshing, and after
/// a refresh token is refused, the cache re-reads the file in case another
/// process refreshed first.
pub struct TokenCache {
    client: Arc<OidcClient>,
    store: Arc<dyn TokenStore>,
    profile: String,
    min_ttl: Duration,
    current: tokio::sync::Mutex<Option<Tokens>>,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("profile", &self.profile)
            .field("issuer", &self.client.issuer())
            .field("min_ttl", &self.min_ttl)
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    /// A cache for `profile`'s tokens in `store`, refreshed through `client`.
    pub fn new(client: Arc<OidcClient>, store: Arc<dyn TokenStore>, profile: impl Into<String>) -> Self {
        Self {
            client,
            store,
            profile: profile.into(),
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

    /// The profile.
    pub fn profile(&self) -> &str {
        &self.profile
    }

    fn not_logged_in(&self) -> Error {
        Error::Unauthenticated {
            detail: format!("not logged in (profile {})", self.profile),
            source: None,
        }
    }

    fn stored(&self) -> Result<Option<Tokens>> {
        let tokens = self.store.load(&self.profile)?;
        if let Some(t) = &tokens {
            self.client.check_bound(t)?;
        }
        Ok(tokens)
    }

    fn fresh(&self, t: &Tokens) -> bool {
        !t.expires_within(self.min_ttl, SystemTime::now())
    }

    /// Valid tokens (refreshed if needed), for callers that need more than
    /// the access token (the subject, the ID token).
    pub async fn tokens(&self) -> Result<Tokens> {
        let mut current = self.current.lock().await;
        let tokens = match current.take() {
            Some(t) => t,
            None => self.stored()?.ok_or_else(|| self.not_logged_in())?,
        };
        let tokens = if self.fresh(&tokens) {
            tokens
        } else {
            self.refresh_from(tokens, None).await?
        };
        *current = Some(tokens.clone());
        Ok(tokens)
    }

    /// Refreshes starting from `known`. `rejected` is an access token the
    /// service refused: stored tokens still carrying it are not "fresh".
    async fn refresh_from(&self, known: Tokens, rejected: Option<&Secret>) -> Result<Tokens> {
        let usable = |t: &Tokens| self.fresh(t) && rejected.is_none_or(|r| t.access_token != *r);
        let base = match self.stored()? {
            Some(s) if usable(&s) => return Ok(s),
            // Another process may hold a newer refresh token than ours.
            Some(s) => s,
            None => known,
        };
        match self.client.refresh(&base).await {
            Ok(new) => {
                self.store.save(&self.profile, &new)?;
                Ok(new)
            }
            Err(e @ Error::Unauthenticated { .. }) => {
                // Lost a race with another process that rotated the token?
                match self.stored()? {
                    Some(s) if s.refresh_token != base.refresh_token && usable(&s) => Ok(s),
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
            Some(t) => t,
            None => self.stored()?.ok_or_else(|| self.not_logged_in())?,
        };
        if known.access_token != *rejected && self.fresh(&known) {
            // Somebody refreshed since the caller got its token.
            let token = known.access_token.clone();
            *current = Some(known);
            return Ok(token);
        }
        let tokens = self.refresh_from(known, Some(rejected)).await?;
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
