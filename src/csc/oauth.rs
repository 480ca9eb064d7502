//! The RSSP's own OAuth 2.0 authorization server (CSC §8, scopes `service`
//! and `credential`): the authorization code flow with PKCE over the
//! loopback listener, `oauth2/token` refresh and `oauth2/revoke`; and the
//! service token ([`ServiceToken`]) that `auth/login` and `oauth2/token`
//! give.
//!
//! Kept apart from the CSC methods of `client` so that it can be replaced by
//! the one OAuth 2.0 client of [`crate::auth`] as a whole.

use std::time::{Duration, Instant};

use reqwest::Url;

use super::client::CscClient;
use super::exchange::{Bearer, Credentials, Payload};
use super::wire::v2::TokenResponse;
use crate::auth::oidc::{form_encode, pkce_challenge, random_token};
use crate::auth::{BrowserLauncher, RedirectListener};
use crate::error::{Error, Result};
use crate::http::{RequestFlags, check_endpoint, sanitize};
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

    /// Whether it has less than `margin` of its lifetime left (never, when
    /// the lifetime is unknown).
    pub fn expires_within(&self, margin: Duration) -> bool {
        self.expires_in
            .is_some_and(|ttl| self.received.elapsed() + margin >= ttl)
    }
}

impl CscClient {
    fn oauth_config(&self) -> Result<&OAuthClientConfig> {
        self.oauth.as_ref().ok_or_else(|| Error::Config {
            detail: format!(
                "no OAuth 2.0 client is configured for {} (needed for the oauth2code flows)",
                self.ex.service
            ),
        })
    }

    async fn oauth_endpoint(&self, path: &str) -> Result<Url> {
        let config = self.oauth_config()?;
        let base = match &config.base_url {
            Some(b) => b.clone(),
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

    async fn post_form(
        &self,
        what: &str,
        url: &Url,
        form: &[(&str, &str)],
        flags: RequestFlags,
    ) -> Result<Vec<u8>> {
        let config = self.oauth_config()?;
        let mut pairs: Vec<(&str, &str)> = form.to_vec();
        let id = form_encode(&config.client_id);
        let secret = config
            .client_secret
            .as_ref()
            .map(|s| Secret::new(form_encode(s.expose())));
        let credentials = match &secret {
            Some(s) => Credentials::Basic(&id, s),
            None => {
                pairs.push(("client_id", &config.client_id));
                Credentials::None
            }
        };
        self.ex
            .send(what, url, Payload::Form(&pairs), flags, credentials)
            .await?
            .map_err(|r| self.ex.refusal_error(what, &r, Bearer::None))
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
    ) -> Result<TokenResponse> {
        let config = self.oauth_config()?;
        let listener = RedirectListener::bind().await?;
        let redirect_uri = listener.redirect_uri();
        let state = random_token()?;
        let verifier = Secret::new(random_token()?);
        let mut url = self.oauth_endpoint("oauth2/authorize").await?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &config.client_id)
                .append_pair("redirect_uri", &redirect_uri)
                .append_pair("state", &state)
                .append_pair("code_challenge", &pkce_challenge(&verifier))
                .append_pair("code_challenge_method", "S256");
            for (k, v) in extra {
                q.append_pair(k, v);
            }
        }
        let deadline = Instant::now() + timeout;
        let opened = async {
            launcher.open(url.as_str()).await?;
            std::future::pending::<Result<Secret>>().await
        };
        let code = tokio::select! {
            biased;
            r = listener.wait(&state, deadline, timeout) => r?,
            r = opened => r?,
        };
        let token_url = self.oauth_endpoint("oauth2/token").await?;
        let bytes = self
            .post_form(
                "oauth2/token",
                &token_url,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code.expose()),
                    ("redirect_uri", &redirect_uri),
                    ("code_verifier", verifier.expose()),
                ],
                RequestFlags::SENSITIVE_ONCE,
            )
            .await?;
        self.token_response(&bytes)
    }

    fn token_response(&self, bytes: &[u8]) -> Result<TokenResponse> {
        let r: TokenResponse = self.ex.parse("oauth2/token", bytes)?;
        if let Some(tt) = &r.token_type {
            if !tt.eq_ignore_ascii_case("bearer") {
                return Err(self
                    .ex
                    .protocol(format!("token type {:?} is not Bearer", sanitize(tt))));
            }
        }
        if r.access_token.is_empty() {
            return Err(self.ex.protocol("oauth2/token returned an empty access token"));
        }
        Ok(r)
    }

    /// `oauth2/token` with `grant_type=refresh_token` (scope `service`).
    /// A refused refresh token is [`Error::Unauthenticated`].
    pub async fn oauth2_refresh(&self, refresh_token: &Secret) -> Result<ServiceToken> {
        let url = self.oauth_endpoint("oauth2/token").await?;
        let bytes = self
            .post_form(
                "oauth2/token",
                &url,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token.expose()),
                ],
                RequestFlags::SENSITIVE_ONCE,
            )
            .await
            .map_err(|e| match e {
                Error::AuthorizationInvalid { detail } => Error::Unauthenticated { detail, source: None },
                other => other,
            })?;
        Ok(ServiceToken::from_response(self.token_response(&bytes)?))
    }

    /// `oauth2/revoke` (RFC 7009) of an access or refresh token.
    pub async fn oauth2_revoke(&self, token: &Secret, hint: Option<&str>) -> Result<()> {
        let url = self.oauth_endpoint("oauth2/revoke").await?;
        let mut form = vec![("token", token.expose())];
        if let Some(h) = hint {
            form.push(("token_type_hint", h));
        }
        self.post_form("oauth2/revoke", &url, &form, RequestFlags::SENSITIVE_IDEMPOTENT)
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_and_tokens() {
        assert_eq!(form_encode("a b:c/é"), "a+b%3Ac%2F%C3%A9");
        let a = random_token().unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token().unwrap());
        assert_eq!(
            pkce_challenge(&Secret::new("dBjftJeZ4CK-V9ZcjPcL3dHYaAEm5fDRlqbRAkhpcBE")),
            "reOvHDvSJUMRAC-kTUJKPq2SePCiVtvhQN9XiXV78-w"
        );
    }

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
