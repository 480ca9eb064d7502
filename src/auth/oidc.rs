//! The OpenID Connect client: discovery, the authorization-code flow with
//! PKCE, ID-token verification, refresh with rotation, userinfo and
//! revocation.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use reqwest::header::LOCATION;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::browser::BrowserLauncher;
use super::loopback::RedirectTarget;
use super::metadata::choose_client_auth;
pub use super::metadata::{IdTokenClaims, ProviderMetadata, discovery_url};
use super::oauth2::{AuthorizedCode, CodeFlow, Grant, OAuthClient, TokenKind};
use super::userinfo::UserInfo;
use crate::error::{Error, Result};
use crate::http::{
    Auth, Call, HttpClient, Reply, RequestFlags, RetryConfig, check_endpoint, error_chain, sanitize,
    shown_url,
};
use crate::profile::{ClientAuthMethod, Profile, Tokens};
use crate::secret::Secret;

/// Default login timeout: time for the user to finish at GビズID
/// (two-factor approval on the phone included).
pub const DEFAULT_LOGIN_TIMEOUT: Duration = Duration::from_secs(300);
/// Clock skew tolerated on `exp` and `iat`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);

/// What the client needs to know about its OpenID provider.
#[derive(Clone, Debug)]
pub struct OidcConfig {
    /// The issuer, compared as an exact string.
    pub issuer: String,
    /// The client id.
    pub client_id: String,
    /// The client secret (sent as [`OidcConfig::client_auth`] says);
    /// `None` for a public client.
    pub client_secret: Option<Secret>,
    /// How the secret is sent; `None`: `client_secret_basic` when the
    /// discovery document lists it (or lists nothing), else
    /// `client_secret_post` when it lists that.
    pub client_auth: Option<ClientAuthMethod>,
    /// A fixed loopback redirect URI registered at the provider; `None`:
    /// a random port on 127.0.0.1.
    pub redirect_uri: Option<String>,
    /// Scopes; `openid` and `offline_access` are always requested.
    pub scopes: Vec<String>,
    /// Revocation endpoint, overriding discovery.
    pub revocation_endpoint: Option<String>,
    /// Clock skew tolerated on `exp` and `iat`.
    pub leeway: Duration,
}

impl OidcConfig {
    /// The OpenID settings of a (resolved) profile, client secret read.
    pub fn from_profile(profile: &Profile) -> Result<Self> {
        let client_secret = match &profile.oidc.client_secret {
            Some(r) => Some(r.resolve(&format!("client secret of profile {}", profile.name))?),
            None => None,
        };
        Ok(Self {
            issuer: profile.oidc.issuer.clone(),
            client_id: profile.oidc.client_id.clone(),
            client_secret,
            client_auth: profile.oidc.client_auth,
            redirect_uri: profile.oidc.redirect_uri.clone(),
            scopes: profile.oidc.scopes.clone(),
            revocation_endpoint: profile.oidc.revocation_endpoint.clone(),
            leeway: DEFAULT_LEEWAY,
        })
    }

    /// The scope parameter: the configured scopes with `openid` first and
    /// `offline_access` (for a refresh token) always present.
    pub fn scope_param(&self) -> String {
        let mut scopes: Vec<&str> = vec!["openid"];
        for s in self.scopes.iter().flat_map(|s| s.split_whitespace()) {
            if !scopes.contains(&s) {
                scopes.push(s);
            }
        }
        if !scopes.contains(&"offline_access") {
            scopes.push("offline_access");
        }
        scopes.join(" ")
    }
}

/// The result of a login: tokens to store and the verified ID token.
#[derive(Debug)]
pub struct Login {
    /// The tokens.
    pub tokens: Tokens,
    /// The verified ID-token claims.
    pub id_token: IdTokenClaims,
}

/// What revocation did at logout.
#[derive(Debug)]
#[non_exhaustive]
pub enum Revocation {
    /// The provider revoked the tokens.
    Revoked,
    /// The provider offers no revocation endpoint (GビズID documents
    /// none): the tokens stay valid until they expire.
    NotOffered,
    /// There were no tokens.
    NothingToRevoke,
    /// Revocation failed; the local tokens were still deleted.
    Failed(Error),
}

/// Options of one login.
#[derive(Clone, Debug)]
pub struct LoginOptions {
    /// `prompt` (GビズID supports `login`).
    pub prompt: Option<String>,
    /// `login_hint` (the account's e-mail address).
    pub login_hint: Option<String>,
    /// How long to wait for the browser to come back.
    pub timeout: Duration,
}

impl Default for LoginOptions {
    fn default() -> Self {
        Self {
            prompt: None,
            login_hint: None,
            timeout: DEFAULT_LOGIN_TIMEOUT,
        }
    }
}

/// An OpenID Connect relying party for one provider and client. Discovery
/// happens on first use and is cached, as are the provider's keys.
pub struct OidcClient {
    http: HttpClient,
    oauth: OAuthClient,
    config: OidcConfig,
    service: String,
    retry: RetryConfig,
    metadata: tokio::sync::OnceCell<ProviderMetadata>,
    jwks: tokio::sync::Mutex<Option<JwkSet>>,
}

impl fmt::Debug for OidcClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcClient")
            .field("issuer", &self.config.issuer)
            .field("client_id", &self.config.client_id)
            .finish_non_exhaustive()
    }
}

/// 32 random bytes, base64url: `state`, `nonce` and PKCE verifiers.
pub(crate) fn random_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| Error::ServiceUnavailable {
        detail: "the system random generator failed".into(),
        source: None,
    })?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// `500 Internal Server Error`, as messages said before replies were read
/// by the HTTP layer.
fn status_text(code: u16) -> String {
    match StatusCode::from_u16(code) {
        Ok(s) => s.to_string(),
        Err(_) => code.to_string(),
    }
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl OidcClient {
    /// A client for `config`, reaching the provider through `http`. The
    /// issuer must be HTTPS (plain HTTP only on loopback).
    pub fn new(http: HttpClient, config: OidcConfig) -> Result<Self> {
        check_endpoint(&config.issuer)?;
        if config.client_id.is_empty() {
            return Err(Error::Config {
                detail: "the OpenID client id is empty".into(),
            });
        }
        if let Some(r) = &config.revocation_endpoint {
            check_endpoint(r)?;
        }
        let redirect = config
            .redirect_uri
            .as_deref()
            .map(RedirectTarget::parse)
            .transpose()?;
        let service = format!("OpenID provider {}", config.issuer);
        Ok(Self {
            oauth: OAuthClient::new(
                http.clone(),
                service.clone(),
                config.client_id.clone(),
                config.client_secret.clone(),
            )
            .with_redirect(redirect),
            service,
            http,
            config,
            retry: RetryConfig::default(),
            metadata: tokio::sync::OnceCell::new(),
            jwks: tokio::sync::Mutex::new(None),
        })
    }

    /// Replaces the retry policy (reads and revocation are retried, the
    /// token grants only when they never reached the provider).
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.oauth = self.oauth.with_retry(retry.clone());
        self.retry = retry;
        self
    }

    /// The configuration.
    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    /// The configured issuer.
    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    /// The HTTP client.
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// The provider's discovery document, fetched once and checked: the
    /// `issuer` equals the configured string exactly, endpoints are HTTPS,
    /// PKCE S256 and RS256 are supported where the document says.
    pub async fn metadata(&self) -> Result<&ProviderMetadata> {
        self.metadata.get_or_try_init(|| self.discover()).await
    }

    async fn discover(&self) -> Result<ProviderMetadata> {
        let url = discovery_url(&self.config.issuer);
        let (reply, shown) = self.get(&url, "discovery document", None).await?;
        if reply.status == StatusCode::NOT_FOUND.as_u16() {
            return Err(Error::Config {
                detail: format!(
                    "no OpenID configuration at {url} (HTTP 404): check the issuer of the profile"
                ),
            });
        }
        let meta: ProviderMetadata = self.document(&reply, &shown, "discovery document")?;
        if meta.issuer != self.config.issuer {
            return Err(Error::Protocol {
                service: self.service.clone(),
                detail: format!(
                    "the discovery document names the issuer {:?}, not {:?} (the issuer must match exactly)",
                    sanitize(&meta.issuer),
                    self.config.issuer
                ),
            });
        }
        for endpoint in [&meta.authorization_endpoint, &meta.token_endpoint, &meta.jwks_uri]
            .into_iter()
            .chain(meta.userinfo_endpoint.as_ref())
            .chain(meta.revocation_endpoint.as_ref())
        {
            check_endpoint(endpoint)?;
        }
        let lacks = |list: &Option<Vec<String>>, item: &str| {
            list.as_ref().is_some_and(|l| !l.iter().any(|x| x == item))
        };
        if lacks(&meta.code_challenge_methods_supported, "S256") {
            return Err(Error::unsupported(format!(
                "{} does not support PKCE S256",
                self.service
            )));
        }
        if lacks(&meta.id_token_signing_alg_values_supported, "RS256") {
            return Err(Error::unsupported(format!(
                "{} does not sign ID tokens with RS256",
                self.service
            )));
        }
        if self.config.client_secret.is_some() {
            choose_client_auth(&self.service, self.config.client_auth, &meta)?;
        }
        Ok(meta)
    }

    /// The OAuth client with the client authentication chosen for this
    /// provider.
    async fn oauth(&self) -> Result<(OAuthClient, &ProviderMetadata)> {
        let meta = self.metadata().await?;
        let method = match self.config.client_secret {
            Some(_) => choose_client_auth(&self.service, self.config.client_auth, meta)?,
            None => ClientAuthMethod::ClientSecretBasic,
        };
        Ok((self.oauth.clone().with_client_auth(method), meta))
    }

    /// The client authentication used at the token endpoint (after
    /// discovery), `None` for a public client.
    pub async fn client_auth(&self) -> Result<Option<ClientAuthMethod>> {
        match self.config.client_secret {
            Some(_) => Ok(Some(choose_client_auth(
                &self.service,
                self.config.client_auth,
                self.metadata().await?,
            )?)),
            None => Ok(None),
        }
    }

    /// The issuer as the provider's discovery document spells it, when it
    /// differs from the configured one only by a trailing slash (GビズID's
    /// issuer ends with `/`; the discovery URL is the same either way, but
    /// ID tokens are checked against the exact string). `Ok(None)` when
    /// they are equal or differ otherwise (then [`OidcClient::metadata`]
    /// refuses the document).
    pub async fn issuer_spelling_hint(&self) -> Result<Option<String>> {
        let url = discovery_url(&self.config.issuer);
        let (reply, shown) = self.get(&url, "discovery document", None).await?;
        #[derive(Deserialize)]
        struct Issuer {
            issuer: String,
        }
        let named: Issuer = self.document(&reply, &shown, "discovery document")?;
        let configured = &self.config.issuer;
        Ok((named.issuer != *configured
            && named.issuer.trim_end_matches('/') == configured.trim_end_matches('/'))
        .then(|| sanitize(&named.issuer)))
    }

    /// A GET of a JSON document (`bearer` for userinfo), retried under the
    /// policy; with the URL as messages show it.
    async fn get(&self, url: &str, what: &str, bearer: Option<&Secret>) -> Result<(Reply, String)> {
        let url = check_endpoint(url)?;
        let shown = shown_url(&url);
        let flags = match bearer {
            Some(_) => RequestFlags::SENSITIVE_IDEMPOTENT,
            None => RequestFlags::READ,
        };
        let auth = bearer.map_or(Auth::None, Auth::Bearer);
        let build = || self.http.request(Method::GET, &url, auth);
        let unavailable = |r: &Reply| Error::ServiceUnavailable {
            detail: format!(
                "{}: {shown} answered HTTP {}",
                self.service,
                status_text(r.status)
            ),
            source: None,
        };
        let reply = self
            .http
            .fetch(&self.retry, self.call(what, flags), build, unavailable)
            .await?;
        Ok((reply, shown))
    }

    fn call<'a>(&'a self, what: &'a str, flags: RequestFlags) -> Call<'a> {
        Call {
            service: &self.service,
            what,
            protocol: "OpenID",
            flags,
        }
    }

    /// The JSON document of a successful reply.
    fn document<T: DeserializeOwned>(&self, reply: &Reply, url: &str, what: &str) -> Result<T> {
        if !reply.is_success() {
            return Err(Error::Protocol {
                service: self.service.clone(),
                detail: format!("{url} answered HTTP {} for the {what}", status_text(reply.status)),
            });
        }
        serde_json::from_slice(&reply.body).map_err(|e| Error::Protocol {
            service: self.service.clone(),
            detail: format!("malformed {what} from {url}: {e}"),
        })
    }

    /// Binds the loopback redirect listener and builds the authorization
    /// request. Show [`PendingLogin::authorization_url`] to the user, then
    /// call [`PendingLogin::finish`].
    pub async fn start_login(&self, options: &LoginOptions) -> Result<PendingLogin<'_>> {
        let meta = self.metadata().await?;
        let nonce = random_token()?;
        let scope = self.config.scope_param();
        let mut extra = vec![("scope", scope.as_str()), ("nonce", nonce.as_str())];
        if let Some(p) = &options.prompt {
            extra.push(("prompt", p));
        }
        if let Some(h) = &options.login_hint {
            extra.push(("login_hint", h));
        }
        let flow = self
            .oauth
            .start_code_flow(&meta.authorization_endpoint, &extra, options.timeout)
            .await?;
        Ok(PendingLogin {
            client: self,
            flow,
            nonce,
        })
    }

    /// The whole login: start, open the browser through `launcher`, wait
    /// for the redirect, exchange the code, verify the ID token.
    pub async fn login(&self, launcher: &dyn BrowserLauncher, options: &LoginOptions) -> Result<Login> {
        self.start_login(options).await?.finish(launcher).await
    }

    /// Exchanges the code and checks the ID token, then tells the browser
    /// the outcome: "login complete" only when both succeeded.
    async fn exchange_code(&self, mut code: AuthorizedCode, nonce: &str) -> Result<Login> {
        let page = code.take_page();
        let login = self.exchange_and_verify(code, nonce).await;
        if let Some(page) = page {
            page.finish(&login).await;
        }
        login
    }

    async fn exchange_and_verify(&self, code: AuthorizedCode, nonce: &str) -> Result<Login> {
        let (oauth, meta) = self.oauth().await?;
        let response = oauth.exchange_code(&meta.token_endpoint, code).await?;
        let id_token = response.id_token.clone().ok_or_else(|| Error::Protocol {
            service: self.service.clone(),
            detail: "the token response has no ID token (is `openid` among the scopes?)".into(),
        })?;
        let claims = self.verify_id_token(id_token.expose(), Some(nonce)).await?;
        let tokens = self.tokens_from(response, Some(claims.sub.clone()), None);
        Ok(Login {
            tokens,
            id_token: claims,
        })
    }

    fn tokens_from(&self, r: Grant, subject: Option<String>, previous: Option<&Tokens>) -> Tokens {
        Tokens {
            issuer: self.config.issuer.clone(),
            client_id: self.config.client_id.clone(),
            subject,
            access_token: r.access_token,
            // Without rotation the old refresh token stays valid.
            refresh_token: r
                .refresh_token
                .or_else(|| previous.and_then(|p| p.refresh_token.clone())),
            id_token: r.id_token.or_else(|| previous.and_then(|p| p.id_token.clone())),
            // Whole seconds: what the token file keeps.
            expires_at: r
                .expires_in
                .map(|s| UNIX_EPOCH + Duration::from_secs(now_unix().saturating_add(s))),
            scope: r.scope.or_else(|| previous.and_then(|p| p.scope.clone())),
        }
    }

    /// Uses the refresh token of `tokens` for new tokens. The provider
    /// rotates refresh tokens, so the result must replace `tokens` in the
    /// store at once. A rejected refresh token is
    /// [`Error::Unauthenticated`] (log in again).
    pub async fn refresh(&self, tokens: &Tokens) -> Result<Tokens> {
        self.check_bound(tokens)?;
        let refresh_token = tokens
            .refresh_token
            .as_ref()
            .ok_or_else(|| Error::Unauthenticated {
                detail: "the access token expired and there is no refresh token; log in again".into(),
                source: None,
            })?;
        let (oauth, meta) = self.oauth().await?;
        let response = oauth.refresh(&meta.token_endpoint, refresh_token).await?;
        let mut subject = tokens.subject.clone();
        if let Some(id) = &response.id_token {
            // OpenID Connect Core §12.2: same subject, no nonce.
            let claims = self.verify_id_token(id.expose(), None).await?;
            if tokens.subject.as_ref().is_some_and(|s| *s != claims.sub) {
                return Err(Error::Unauthenticated {
                    detail: "the refreshed ID token names another user; log in again".into(),
                    source: None,
                });
            }
            subject = Some(claims.sub);
        }
        Ok(self.tokens_from(response, subject, Some(tokens)))
    }

    /// Refuses tokens issued by another issuer or to another client than
    /// this client's (a profile edited since the login).
    pub fn check_bound(&self, tokens: &Tokens) -> Result<()> {
        if tokens.issuer != self.config.issuer || tokens.client_id != self.config.client_id {
            return Err(Error::Unauthenticated {
                detail: format!(
                    "the stored tokens were issued by {} to client {}, but the profile now names {} and \
                     client {}; log in again",
                    tokens.issuer, tokens.client_id, self.config.issuer, self.config.client_id
                ),
                source: None,
            });
        }
        Ok(())
    }

    async fn jwks(&self, refetch: bool) -> Result<JwkSet> {
        let mut cached = self.jwks.lock().await;
        if !refetch && let Some(set) = cached.as_ref() {
            return Ok(set.clone());
        }
        let meta = self.metadata().await?;
        let (reply, shown) = self.get(&meta.jwks_uri, "JWKS", None).await?;
        let set: JwkSet = self.document(&reply, &shown, "JWKS")?;
        *cached = Some(set.clone());
        Ok(set)
    }

    fn pick_key<'a>(set: &'a JwkSet, kid: Option<&str>) -> std::result::Result<&'a Jwk, String> {
        match kid {
            Some(kid) => set
                .find(kid)
                .ok_or_else(|| format!("the provider's JWKS has no key {kid:?}")),
            None => {
                let rsa: Vec<&Jwk> = set
                    .keys
                    .iter()
                    .filter(|k| matches!(k.algorithm, AlgorithmParameters::RSA(_)))
                    .collect();
                match rsa.as_slice() {
                    [one] => Ok(one),
                    _ => Err(format!(
                        "the ID token names no key (kid) and the JWKS holds {} RSA keys",
                        rsa.len()
                    )),
                }
            }
        }
    }

    /// Verifies an ID token against the provider's JWKS: RS256 only, a
    /// valid signature, `iss` equal to the issuer, `aud` containing the
    /// client id, `azp` equal to it when present (and present when there
    /// are several audiences),
    /// `exp` not passed and `iat` not in the future (both within the
    /// leeway), and `nonce` equal to `expected_nonce` when given. Any
    /// refusal is [`Error::Unauthenticated`] saying which check failed.
    pub async fn verify_id_token(
        &self,
        id_token: &str,
        expected_nonce: Option<&str>,
    ) -> Result<IdTokenClaims> {
        let refuse = |detail: String| Error::Unauthenticated {
            detail: format!("ID token refused: {detail}"),
            source: None,
        };
        let header = jsonwebtoken::decode_header(id_token).map_err(|e| match e.kind() {
            ErrorKind::InvalidAlgorithmName | ErrorKind::UnsupportedAlgorithm => {
                refuse("its signature algorithm is not RS256".into())
            }
            _ => refuse(format!("not a well-formed JWT ({e})")),
        })?;
        if header.alg != Algorithm::RS256 {
            return Err(refuse(format!(
                "signed with {:?}; only RS256 is accepted",
                header.alg
            )));
        }
        let mut set = self.jwks(false).await?;
        let jwk = match Self::pick_key(&set, header.kid.as_deref()) {
            Ok(k) => k.clone(),
            Err(_) => {
                // The provider may have rotated its keys since they were cached.
                set = self.jwks(true).await?;
                Self::pick_key(&set, header.kid.as_deref())
                    .map_err(&refuse)?
                    .clone()
            }
        };
        if !matches!(jwk.algorithm, AlgorithmParameters::RSA(_)) {
            return Err(refuse("the JWKS key it names is not an RSA key".into()));
        }
        let key = DecodingKey::from_jwk(&jwk).map_err(|e| Error::Protocol {
            service: self.service.clone(),
            detail: format!("unusable key in the JWKS: {e}"),
        })?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.client_id]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = self.config.leeway.as_secs();
        let data = jsonwebtoken::decode::<IdTokenClaims>(id_token, &key, &validation).map_err(|e| {
            let unverified: Option<BTreeMap<String, serde_json::Value>> =
                jsonwebtoken::dangerous::insecure_decode_claims(id_token).ok();
            let claim = |name: &str| {
                unverified
                    .as_ref()
                    .and_then(|c| c.get(name))
                    .map(|v| sanitize(&v.to_string()))
                    .unwrap_or_else(|| "nothing".into())
            };
            refuse(match e.kind() {
                ErrorKind::InvalidSignature => "its signature does not verify with the provider's key".into(),
                ErrorKind::InvalidIssuer => {
                    format!(
                        "issuer {} is not the expected {:?}",
                        claim("iss"),
                        self.config.issuer
                    )
                }
                ErrorKind::InvalidAudience => format!(
                    "audience {} does not include the client id {:?}",
                    claim("aud"),
                    self.config.client_id
                ),
                ErrorKind::ExpiredSignature => format!("it expired (exp {})", claim("exp")),
                ErrorKind::ImmatureSignature => "it is not valid yet (nbf)".into(),
                ErrorKind::MissingRequiredClaim(c) => format!("it lacks the claim {c}"),
                ErrorKind::InvalidClaimFormat(c) => format!("its claim {c} is malformed"),
                ErrorKind::InvalidAlgorithm => "its algorithm does not match the key".into(),
                _ => error_chain(&e),
            })
        })?;
        let claims = data.claims;
        let now = now_unix();
        match claims.iat {
            None => return Err(refuse("it lacks the claim iat".into())),
            Some(iat) if iat > now + self.config.leeway.as_secs() => {
                return Err(refuse(format!(
                    "it was issued in the future (iat {iat}, now {now})"
                )));
            }
            Some(_) => {}
        }
        // OpenID Connect Core §3.1.3.7: with several audiences `azp` must
        // be present; whenever it is present it must be this client.
        match claims.azp.as_deref() {
            Some(azp) if azp != self.config.client_id => {
                return Err(refuse(format!(
                    "its azp {:?} is not this client {:?}",
                    sanitize(azp),
                    self.config.client_id
                )));
            }
            None if claims.aud.len() > 1 => {
                return Err(refuse(
                    "it has several audiences and no azp naming this client".into(),
                ));
            }
            _ => {}
        }
        if let Some(expected) = expected_nonce {
            match claims.nonce.as_deref() {
                Some(n) if n == expected => {}
                Some(_) => {
                    return Err(refuse(
                        "its nonce does not match this login's (a replayed or foreign token)".into(),
                    ));
                }
                None => return Err(refuse("it carries no nonce".into())),
            }
        }
        Ok(claims)
    }

    /// The user's claims from the UserInfo endpoint, for the tokens'
    /// access token; the `sub` must be the ID token's.
    pub async fn userinfo(&self, tokens: &Tokens) -> Result<UserInfo> {
        self.check_bound(tokens)?;
        let meta = self.metadata().await?;
        let endpoint = meta
            .userinfo_endpoint
            .as_deref()
            .ok_or_else(|| Error::unsupported(format!("{} announces no userinfo endpoint", self.service)))?;
        let (reply, shown) = self.get(endpoint, "userinfo", Some(&tokens.access_token)).await?;
        if reply.status == StatusCode::UNAUTHORIZED.as_u16() {
            return Err(Error::Unauthenticated {
                detail: format!("{} rejected the access token at userinfo", self.service),
                source: None,
            });
        }
        let info: UserInfo = self.document(&reply, &shown, "userinfo")?;
        if let Some(sub) = &tokens.subject
            && *sub != info.sub
        {
            return Err(Error::Protocol {
                service: self.service.clone(),
                detail: "userinfo names another subject than the ID token".into(),
            });
        }
        Ok(info)
    }

    /// The revocation endpoint: the configured one, else discovery's.
    pub async fn revocation_endpoint(&self) -> Result<Option<String>> {
        if let Some(r) = &self.config.revocation_endpoint {
            return Ok(Some(r.clone()));
        }
        Ok(self.metadata().await?.revocation_endpoint.clone())
    }

    /// Revokes the refresh token, then the access token (RFC 7009), where
    /// the provider offers revocation.
    pub async fn revoke(&self, tokens: &Tokens) -> Result<Revocation> {
        let Some(endpoint) = self.revocation_endpoint().await? else {
            return Ok(Revocation::NotOffered);
        };
        let mut list: Vec<(&Secret, TokenKind)> = Vec::new();
        if let Some(r) = &tokens.refresh_token {
            list.push((r, TokenKind::Refresh));
        }
        list.push((&tokens.access_token, TokenKind::Access));
        let (oauth, _) = self.oauth().await?;
        for (token, kind) in list {
            oauth.revoke(&endpoint, token, kind).await?;
        }
        Ok(Revocation::Revoked)
    }
}

/// A login in progress: the listener is bound and the authorization URL
/// built; nothing was sent yet.
pub struct PendingLogin<'a> {
    client: &'a OidcClient,
    flow: CodeFlow,
    nonce: String,
}

impl fmt::Debug for PendingLogin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingLogin")
            .field("redirect_uri", &self.flow.redirect_uri())
            .finish_non_exhaustive()
    }
}

impl PendingLogin<'_> {
    /// The URL to open in the browser (print it too: the browser may not
    /// start).
    pub fn authorization_url(&self) -> &str {
        self.flow.url()
    }

    /// The loopback redirect URI.
    pub fn redirect_uri(&self) -> &str {
        self.flow.redirect_uri()
    }

    /// Opens the authorization URL through `launcher`, waits for the
    /// redirect (until the timeout: [`Error::Cancelled`]), checks `state`,
    /// exchanges the code with the PKCE verifier and verifies the ID token.
    pub async fn finish(self, launcher: &dyn BrowserLauncher) -> Result<Login> {
        let code = self.flow.authorize(launcher).await?;
        self.client.exchange_code(code, &self.nonce).await
    }
}

/// Following a redirect by hand (used by [`super::HttpFollowLauncher`]).
pub(crate) fn location(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_url_keeps_the_issuer_path() {
        assert_eq!(
            discovery_url("https://gbiz-id.go.jp/oauth/"),
            "https://gbiz-id.go.jp/oauth/.well-known/openid-configuration"
        );
        assert_eq!(
            discovery_url("https://op.example"),
            "https://op.example/.well-known/openid-configuration"
        );
    }

    #[test]
    fn nonces_are_random() {
        // The PKCE challenge test moved to `super::super::oauth2`.
        let a = random_token().unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token().unwrap());
    }

    #[test]
    fn scopes_always_include_openid_and_offline_access() {
        let mut c = OidcConfig {
            issuer: "https://i/".into(),
            client_id: "c".into(),
            client_secret: None,
            client_auth: None,
            redirect_uri: None,
            scopes: vec!["profile user".into(), "openid".into()],
            revocation_endpoint: None,
            leeway: DEFAULT_LEEWAY,
        };
        assert_eq!(c.scope_param(), "openid profile user offline_access");
        c.scopes.clear();
        assert_eq!(c.scope_param(), "openid offline_access");
    }
}
