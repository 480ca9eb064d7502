//! The RSSP's own OAuth 2.0 authorization server (CSC §8, scopes `service`
//! and `credential`): the authorization code flow with PKCE over the
//! loopback listener, `oauth2/token` refresh and `oauth2/revoke`; and the
//! service token ([`ServiceToken`]) that `auth/login` and `oauth2/token`
//! give.
//!
//! The requests themselves are made by the one OAuth 2.0 client of
//! [`crate::auth`] (`auth/oauth2.rs`); this module only knows where the
//! RSSP's endpoints are and maps refusals with the CSC error table
//! ([`error_from_reply`]).

use std::time::{Duration, Instant, SystemTime};

use reqwest::Url;

use super::client::CscClient;
use super::errors::error_from_reply;
use super::wire::v2::{ErrorBody, TokenResponse};
use crate::auth::BrowserLauncher;
use crate::auth::oauth2::{Grant, GrantKind, OAuthClient, OAuthErrorBody, TokenKind};
use crate::error::{Error, Result};
use crate::http::check_endpoint;
use crate::profile::Tokens;
use crate::secret::Secret;

/// How the client identifies itself to the RSSP's OAuth 2.0 authorization
/// server (for the `service` and `credential` scopes).
#[derive(Clone, Debug)]
pub struct OAuthClientConfig {
    /// The registered client id.
    pub client_id: String,
    /// Its secret, sent with HTTP Basic (`client_secret_basic`); without
    /// one the client id goes in the form (a public client).
    pub client_secret: Option<Secret>,
    /// The authorization server's base URI (`{base}/oauth2/authorize`, …);
    /// `None` takes `info.oauth2`, else the API base URL.
    pub base_url: Option<String>,
}

/// An access token for the whole service (`auth/login`, `oauth2/token`
/// with scope `service`).
#[derive(Clone, Debug)]
pub struct ServiceToken {
    /// The access token.
    pub access_token: Secret,
    /// A refresh token, when the service gave one.
    pub refresh_token: Option<Secret>,
    /// Lifetime of the access token, when the service said.
    pub expires_in: Option<Duration>,
    /// When it was received.
    pub received: Instant,
}

impl ServiceToken {
    pub(super) fn from_response(r: TokenResponse) -> Self {
        Self {
            access_token: r.access_token,
            refresh_token: r.refresh_token,
            expires_in: r.expires_in.map(Duration::from_secs),
            received: Instant::now(),
        }
    }

    pub(super) fn from_grant(g: Grant) -> Self {
        Self {
            access_token: g.access_token,
            refresh_token: g.refresh_token,
            expires_in: g.expires_in.map(Duration::from_secs),
            received: Instant::now(),
        }
    }

    /// As the one token cache keeps tokens: issued by `client`'s service
    /// to its OAuth client (if any), of `scope`.
    pub(crate) fn into_tokens(self, client: &CscClient, scope: Option<&str>) -> Tokens {
        let left = self
            .expires_in
            .map(|ttl| ttl.saturating_sub(self.received.elapsed()));
        Tokens {
            issuer: client.base_url().to_owned(),
            client_id: client.oauth_client_id().unwrap_or_default().to_owned(),
            subject: None,
            access_token: self.access_token,
            refresh_token: self.refresh_token,
            id_token: None,
            expires_at: left.map(|d| SystemTime::now() + d),
            scope: scope.map(str::to_owned),
        }
    }

    /// Whether it has less than `margin` of its lifetime left (never, when
    /// the lifetime is unknown).
    pub fn expires_within(&self, margin: Duration) -> bool {
        self.expires_in
            .is_some_and(|ttl| self.received.elapsed() + margin >= ttl)
    }
}

/// The CSC mapping of the authorization server's refusals
/// ([`error_from_reply`]), as the one OAuth client's refusal map.
fn csc_refusal(service: &str, what: &str, status: u16, body: Option<&OAuthErrorBody>, _: GrantKind) -> Error {
    let body = body.map(|b| ErrorBody {
        error: b.error.clone(),
        error_description: b.error_description.clone(),
    });
    error_from_reply(service, what, status, body.as_ref())
}

impl CscClient {
    /// The one OAuth 2.0 client ([`crate::auth`]'s) for this service's
    /// authorization server, with this client's transport and retry policy.
    fn oauth_client(&self) -> Result<OAuthClient> {
        let config = self.oauth.as_ref().ok_or_else(|| Error::Config {
            detail: format!(
                "no OAuth 2.0 client is configured for {} (needed for the oauth2code flows)",
                self.ex.service
            ),
        })?;
        Ok(OAuthClient::new(
            self.ex.http.clone(),
            self.ex.service.clone(),
            config.client_id.clone(),
            config.client_secret.clone(),
        )
        .with_retry(self.ex.retry.clone())
        .with_refusals(csc_refusal, "oauth2/token", "oauth2/revoke"))
    }

    async fn oauth_endpoint(&self, path: &str) -> Result<Url> {
        let base = match self.oauth.as_ref().and_then(|c| c.base_url.clone()) {
            Some(b) => b,
            None => match self.info().await.ok().and_then(|i| i.oauth2.clone()) {
                Some(b) if !b.trim().is_empty() => b,
                _ => self.ex.base.as_str().to_owned(),
            },
        };
        let mut url = check_endpoint(base.trim())?;
        if !url.path().ends_with('/') {
            let p = format!("{}/", url.path());
            url.set_path(&p);
        }
        url.join(path).map_err(|e| Error::Config {
            detail: format!("OAuth endpoint {path}: {e}"),
        })
    }

    /// Runs the OAuth 2.0 authorization code flow with PKCE against the
    /// RSSP: binds the loopback redirect listener, opens the authorization
    /// URL (with `extra` parameters such as `scope`) through `launcher`,
    /// waits for the redirect until `timeout`, checks `state` and exchanges
    /// the code.
    pub(crate) async fn oauth2_code_flow(
        &self,
        launcher: &dyn BrowserLauncher,
        extra: &[(&str, String)],
        timeout: Duration,
    ) -> Result<Grant> {
        let oauth = self.oauth_client()?;
        let authorize = self.oauth_endpoint("oauth2/authorize").await?;
        let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let flow = oauth.start_code_flow(authorize.as_str(), &extra, timeout).await?;
        let code = flow.authorize(launcher).await?;
        let token = self.oauth_endpoint("oauth2/token").await?;
        oauth.exchange_code(token.as_str(), code).await
    }

    /// `oauth2/token` with the refresh token (scope `service`).
    /// A refused refresh token is [`Error::Unauthenticated`].
    pub async fn oauth2_refresh(&self, refresh_token: &Secret) -> Result<ServiceToken> {
        let oauth = self.oauth_client()?;
        let url = self.oauth_endpoint("oauth2/token").await?;
        let grant = oauth
            .refresh(url.as_str(), refresh_token)
            .await
            .map_err(|e| match e {
                Error::AuthorizationInvalid { detail } => Error::Unauthenticated { detail, source: None },
                other => other,
            })?;
        Ok(ServiceToken::from_grant(grant))
    }

    /// `oauth2/revoke` (RFC 7009) of an access or refresh token (`hint`
    /// `refresh_token`; anything else is taken for an access token).
    pub async fn oauth2_revoke(&self, token: &Secret, hint: Option<&str>) -> Result<()> {
        let oauth = self.oauth_client()?;
        let url = self.oauth_endpoint("oauth2/revoke").await?;
        let kind = match hint {
            Some("refresh_token") => TokenKind::Refresh,
            _ => TokenKind::Access,
        };
        oauth.revoke(url.as_str(), token, kind).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_token_expiry() {
        let t = ServiceToken {
            access_token: Secret::new("t"),
            refresh_token: None,
            expires_in: Some(Duration::from_secs(60)),
            received: Instant::now(),
        };
        assert!(!t.expires_within(Duration::from_secs(10)));
        assert!(t.expires_within(Duration::from_secs(61)));
        assert!(!format!("{t:?}").contains("\"t\""));
    }
}
