//! The one OAuth 2.0 client of crpki: the authorization-code flow with
//! PKCE S256 over the loopback redirect listener, the token exchange,
//! refresh, revocation (RFC 7009) and client authentication
//! (`client_secret_basic`, or the client id in the form for a public
//! client), built on the [`oauth2`](::oauth2) crate with our HTTP transport
//! plugged in through its [`AsyncHttpClient`] trait.
//!
//! Both OAuth users sit on it: the GビズID login (`super::oidc`, OpenID
//! Connect on top) and the RSSP's own authorization server (`crate::csc`,
//! scopes `service` and `credential`). Every OAuth grant request
//! (`grant_type`) of crpki is built here, by the `oauth2` crate.
//!
//! What `oauth2` 5 cannot do, and what this module does instead:
//! - it refuses a revocation endpoint that is not `https://`, even on a
//!   loopback address (the sandbox's plain-HTTP mode): for such an endpoint
//!   the crate is handed the `https://` spelling and [`Adapter`] sends the
//!   request to the real `http://` loopback URL (`check_endpoint` admits
//!   plain HTTP to loopback addresses only);
//! - it reports an error reply without a body as a bare text, without the
//!   HTTP status: [`Adapter`] keeps the status of the last reply so that
//!   errors still say what the server answered;
//! - it accepts only HTTP 200 as success (RFC 6749 §5.1), where the former
//!   hand-written client accepted any 2xx;
//! - it keeps the client secret, the PKCE verifier, the code and the tokens
//!   in its own `String` newtypes (redacted in `Debug`, not zeroized): they
//!   are built per request from our [`Secret`]s and dropped with it, and
//!   everything handed out of this module is a [`Secret`] again;
//! - its standard token response insists on `token_type` and a numeric
//!   `expires_in`: [`GrantResponse`] (its `TokenResponse` trait, our type)
//!   takes a missing `token_type` as Bearer and `expires_in` as a number or
//!   a string of digits (GビズID), and carries `id_token` (OpenID Connect)
//!   and `credentialID` (CSC).

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use ::oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType,
};
use ::oauth2::{
    AccessToken, AsyncHttpClient, AuthType, AuthUrl, AuthorizationCode, Client, ClientId, ClientSecret,
    CsrfToken, EndpointNotSet, HttpRequest, HttpResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    RefreshToken, RequestTokenError, RevocationUrl, Scope, StandardErrorResponse, StandardRevocableToken,
    TokenUrl,
};
use reqwest::Url;
use serde::{Deserialize, Deserializer, Serialize};

use super::browser::BrowserLauncher;
use super::loopback::{BrowserPage, RedirectListener, RedirectTarget};
use crate::error::{Error, Result};
use crate::http::{
    Call, HttpClient, Reply, RequestFlags, RetryConfig, check_endpoint, sanitize, sanitize_quoted, shown_url,
};
use crate::profile::ClientAuthMethod;
use crate::secret::Secret;

fn opt_number<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum N {
        Num(u64),
        Text(String),
    }
    match Option::<N>::deserialize(d)? {
        None => Ok(None),
        Some(N::Num(n)) => Ok(Some(n)),
        Some(N::Text(t)) => t.trim().parse().map(Some).map_err(serde::de::Error::custom),
    }
}

fn bearer() -> BasicTokenType {
    BasicTokenType::Bearer
}

/// A token endpoint's answer, as the `oauth2` crate reads it (see the
/// module docs for why it is our type).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct GrantResponse {
    access_token: AccessToken,
    #[serde(default = "bearer")]
    token_type: BasicTokenType,
    #[serde(
        default,
        deserialize_with = "opt_number",
        skip_serializing_if = "Option::is_none"
    )]
    expires_in: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<RefreshToken>,
    #[serde(
        rename = "scope",
        default,
        deserialize_with = "::oauth2::helpers::deserialize_space_delimited_vec",
        serialize_with = "::oauth2::helpers::serialize_space_delimited_vec",
        skip_serializing_if = "Option::is_none"
    )]
    scopes: Option<Vec<Scope>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<Secret>,
    #[serde(default, rename = "credentialID", skip_serializing_if = "Option::is_none")]
    credential_id: Option<String>,
}

impl ::oauth2::TokenResponse for GrantResponse {
    type TokenType = BasicTokenType;

    fn access_token(&self) -> &AccessToken {
        &self.access_token
    }

    fn token_type(&self) -> &BasicTokenType {
        &self.token_type
    }

    fn expires_in(&self) -> Option<Duration> {
        self.expires_in.map(Duration::from_secs)
    }

    fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh_token.as_ref()
    }

    fn scopes(&self) -> Option<&Vec<Scope>> {
        self.scopes.as_ref()
    }
}

/// Tokens granted by a token endpoint, secrets in [`Secret`]s.
#[derive(Clone, Debug)]
pub(crate) struct Grant {
    /// The access token.
    pub access_token: Secret,
    /// A refresh token, when one was granted.
    pub refresh_token: Option<Secret>,
    /// OpenID Connect: the ID token.
    pub id_token: Option<Secret>,
    /// Lifetime of the access token in seconds.
    pub expires_in: Option<u64>,
    /// The granted scope (space-separated).
    pub scope: Option<String>,
    /// CSC `credential` scope: the credential the token authorizes.
    pub credential_id: Option<String>,
}

/// An OAuth error body (`{"error","error_description"}`).
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct OAuthErrorBody {
    /// The error code.
    pub error: String,
    /// Its description.
    #[serde(default)]
    pub error_description: Option<String>,
}

/// How a client turns a refusal into the crate's error: one mapping per
/// boundary ([`standard_refusal`] for an OpenID provider, the CSC mapping
/// for the RSSP). Arguments: the service, the request (`what`, as in
/// messages), the HTTP status, the error body if readable, what was asked.
pub(crate) type RefusalMap = fn(&str, &str, u16, Option<&OAuthErrorBody>, GrantKind) -> Error;

/// [`refusal_error`] as a [`RefusalMap`].
pub(crate) fn standard_refusal(
    service: &str,
    _what: &str,
    status: u16,
    body: Option<&OAuthErrorBody>,
    kind: GrantKind,
) -> Error {
    refusal_error(service, status, body, kind)
}

/// What was asked for when a token endpoint refused (for the message).
#[derive(Clone, Copy, Debug)]
pub(crate) enum GrantKind {
    /// An authorization code.
    Code,
    /// A refresh (or a revocation, which presents the same tokens).
    Refresh,
}

/// The mapping of an OAuth error reply to the crate's error, for a plain
/// OAuth 2.0 / OpenID provider (the CSC service maps its replies in
/// `crate::csc::errors`):
///
/// | reply | error |
/// |---|---|
/// | `invalid_grant` | [`Error::Unauthenticated`] (log in again) |
/// | to a refresh: `invalid_token` (400 or 401), or HTTP 401 without `invalid_client` | [`Error::Unauthenticated`] (log in again) |
/// | `invalid_client`, `unauthorized_client` | [`Error::Config`] |
/// | `temporarily_unavailable`, `server_error`, any 5xx | [`Error::ServiceUnavailable`] |
/// | no OAuth error body | [`Error::Protocol`] |
/// | anything else | [`Error::Remote`] |
pub(crate) fn refusal_error(
    service: &str,
    status: u16,
    body: Option<&OAuthErrorBody>,
    kind: GrantKind,
) -> Error {
    let (code, description) = match body {
        Some(b) => (
            b.error.as_str(),
            b.error_description.as_deref().map(sanitize).unwrap_or_default(),
        ),
        None => ("", String::new()),
    };
    let status_text = reqwest::StatusCode::from_u16(status)
        .map(|s| s.to_string())
        .unwrap_or_else(|_| status.to_string());
    let refresh = matches!(kind, GrantKind::Refresh);
    let client_refused = matches!(code, "invalid_client" | "unauthorized_client");
    // Providers refuse a used or revoked refresh token in several ways
    // (`invalid_token`, a bare 401): each one means "log in again".
    let code = if refresh && (code == "invalid_token" || (status == 401 && !client_refused)) {
        "invalid_grant"
    } else {
        code
    };
    let description = if description.is_empty() {
        format!("HTTP {status_text}")
    } else {
        description
    };
    match code {
        "invalid_grant" => Error::Unauthenticated {
            detail: match kind {
                GrantKind::Code => {
                    format!("{service} rejected the authorization code ({description}); log in again")
                }
                GrantKind::Refresh => format!(
                    "{service} rejected the refresh token (revoked, expired or already used: {description}); \
                     log in again"
                ),
            },
            source: None,
        },
        "invalid_client" | "unauthorized_client" => Error::Config {
            detail: format!(
                "{service} rejected the client credentials ({code}: {description}); check the profile's \
                 client id and client secret"
            ),
        },
        "temporarily_unavailable" | "server_error" => Error::ServiceUnavailable {
            detail: format!("{service}: {code}: {description}"),
            source: None,
        },
        _ if status >= 500 => Error::ServiceUnavailable {
            detail: format!("{service}: token endpoint answered HTTP {status_text}"),
            source: None,
        },
        "" => Error::Protocol {
            service: service.to_owned(),
            detail: format!("the token endpoint answered HTTP {status_text} without an OAuth error"),
        },
        _ => Error::Remote {
            service: service.to_owned(),
            status,
            code: sanitize(code),
            description: body
                .and_then(|b| b.error_description.as_deref())
                .map(sanitize)
                .unwrap_or_default(),
        },
    }
}

/// Which token a revocation names (its `token_type_hint`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// An access token.
    Access,
    /// A refresh token.
    Refresh,
}

type BaseClient = Client<
    BasicErrorResponse,
    GrantResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
>;

/// One OAuth 2.0 client registration at one authorization server: the
/// client id, its secret (none for a public client) and the transport.
/// Endpoints are given per call (they come from discovery or from the CSC
/// `info`).
#[derive(Clone)]
pub(crate) struct OAuthClient {
    http: HttpClient,
    service: String,
    client_id: String,
    client_secret: Option<Secret>,
    auth_method: ClientAuthMethod,
    redirect: Option<RedirectTarget>,
    retry: RetryConfig,
    refusal: RefusalMap,
    /// The token and revocation requests, as messages and logs name them.
    names: (&'static str, &'static str),
}

impl fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthClient")
            .field("service", &self.service)
            .field("client_id", &self.client_id)
            .field("confidential", &self.client_secret.is_some())
            .field("auth_method", &self.auth_method)
            .field("redirect", &self.redirect)
            .finish_non_exhaustive()
    }
}

/// The `oauth2` crate's HTTP client: our HTTP layer (transport, retry
/// policy by request flags, one body reader), one per request.
pub(crate) struct Adapter<'a> {
    client: &'a OAuthClient,
    what: &'static str,
    kind: GrantKind,
    flags: RequestFlags,
    /// Where to send instead of the request's URL (see the module docs).
    endpoint: Option<Url>,
    /// The secrets this request carries: removed from error text quoted
    /// from the server.
    sent: Vec<Secret>,
    /// The status of the last reply.
    status: std::sync::Mutex<Option<u16>>,
}

impl<'a> Adapter<'a> {
    fn new(client: &'a OAuthClient, what: &'static str, kind: GrantKind, flags: RequestFlags) -> Self {
        Self {
            client,
            what,
            kind,
            flags,
            endpoint: None,
            sent: client.client_secret.iter().cloned().collect(),
            status: std::sync::Mutex::new(None),
        }
    }

    fn last_status(&self) -> u16 {
        self.status.lock().map(|s| s.unwrap_or(0)).unwrap_or(0)
    }

    fn sending(mut self, secrets: &[&Secret]) -> Self {
        self.sent.extend(secrets.iter().map(|s| (*s).clone()));
        self
    }

    /// The crate's error for a refusal, by the client's mapping, with the
    /// server's text rid of secrets first.
    fn refused(&self, status: u16, body: Option<&OAuthErrorBody>) -> Error {
        let sent: Vec<&str> = self.sent.iter().map(Secret::expose).collect();
        let clean = body.map(|b| OAuthErrorBody {
            error: sanitize_quoted(&b.error, &sent),
            error_description: b.error_description.as_deref().map(|d| sanitize_quoted(d, &sent)),
        });
        (self.client.refusal)(&self.client.service, self.what, status, clean.as_ref(), self.kind)
    }

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse> {
        let OAuthClient { http, service, .. } = self.client;
        let (parts, body) = request.into_parts();
        let url = match &self.endpoint {
            Some(u) => u.clone(),
            None => check_endpoint(&parts.uri.to_string())?,
        };
        let build = || {
            http.reqwest()
                .request(parts.method.clone(), url.clone())
                .headers(parts.headers.clone())
                .body(body.clone())
        };
        let unavailable = |r: &Reply| self.refused(r.status, serde_json::from_slice(&r.body).ok().as_ref());
        let call = Call {
            service,
            what: self.what,
            protocol: "OAuth",
            flags: self.flags,
        };
        let reply = http.fetch(&self.client.retry, call, build, unavailable).await?;
        if let Ok(mut s) = self.status.lock() {
            *s = Some(reply.status);
        }
        let mut response = HttpResponse::new(reply.body);
        *response.status_mut() = ::oauth2::http::StatusCode::from_u16(reply.status)
            .map_err(|e| config_error("reply status", e))?;
        Ok(response)
    }
}

impl<'c> AsyncHttpClient<'c> for Adapter<'_> {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}

fn config_error(what: &str, e: impl fmt::Display) -> Error {
    Error::Config {
        detail: format!("OAuth {what}: {e}"),
    }
}

/// A code flow in progress: the listener is bound and the authorization
/// URL built; nothing was sent yet.
pub(crate) struct CodeFlow {
    listener: RedirectListener,
    url: String,
    redirect_uri: String,
    state: CsrfToken,
    verifier: PkceCodeVerifier,
    deadline: Instant,
    timeout: Duration,
}

impl fmt::Debug for CodeFlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodeFlow")
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

/// The code the redirect brought back, with what its exchange needs, and
/// the browser waiting for its page.
pub(crate) struct AuthorizedCode {
    code: Secret,
    redirect_uri: String,
    verifier: PkceCodeVerifier,
    page: Option<BrowserPage>,
}

impl AuthorizedCode {
    /// Takes the browser's page, for a caller that checks more after the
    /// exchange (the ID token) and answers the browser itself; otherwise
    /// [`OAuthClient::exchange_code`] answers it with the exchange's outcome.
    pub(crate) fn take_page(&mut self) -> Option<BrowserPage> {
        self.page.take()
    }
}

impl CodeFlow {
    /// The URL to open in the browser.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// The loopback redirect URI.
    pub(crate) fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Opens the URL through `launcher` and waits for the redirect (until
    /// the timeout: [`Error::Cancelled`]), `state` checked.
    pub(crate) async fn authorize(self, launcher: &dyn BrowserLauncher) -> Result<AuthorizedCode> {
        let Self {
            listener,
            url,
            redirect_uri,
            state,
            verifier,
            deadline,
            timeout,
        } = self;
        let opened = async {
            launcher.open(&url).await?;
            // The launcher's part is done; only the redirect ends the wait.
            std::future::pending::<Result<(Secret, BrowserPage)>>().await
        };
        let waited = listener.wait(state.secret(), deadline, timeout);
        let (code, page) = tokio::select! {
            biased;
            r = waited => r?,
            r = opened => r?,
        };
        Ok(AuthorizedCode {
            code,
            redirect_uri,
            verifier,
            page: Some(page),
        })
    }
}

impl OAuthClient {
    /// A client `client_id` (with `client_secret` for a confidential
    /// client) of the authorization server `service` (a name for messages).
    pub(crate) fn new(
        http: HttpClient,
        service: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: Option<Secret>,
    ) -> Self {
        Self {
            http,
            service: service.into(),
            client_id: client_id.into(),
            client_secret,
            auth_method: ClientAuthMethod::ClientSecretBasic,
            redirect: None,
            retry: RetryConfig::default(),
            refusal: standard_refusal,
            names: ("token request", "revocation"),
        }
    }

    /// Replaces the retry policy (token grants are retried only when they
    /// never reached the server; revocations also when the outcome is
    /// unknown or the server was unavailable).
    pub(crate) fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// Authenticates with `method` when the client has a secret (default
    /// `client_secret_basic`).
    pub(crate) fn with_client_auth(mut self, method: ClientAuthMethod) -> Self {
        self.auth_method = method;
        self
    }

    /// Listens on exactly `redirect` for the code flow's redirect instead
    /// of a random loopback port.
    pub(crate) fn with_redirect(mut self, redirect: Option<RedirectTarget>) -> Self {
        self.redirect = redirect;
        self
    }

    /// Maps refusals with `refusal`, naming the token and revocation
    /// requests `token` and `revocation` in messages.
    pub(crate) fn with_refusals(
        mut self,
        refusal: RefusalMap,
        token: &'static str,
        revocation: &'static str,
    ) -> Self {
        self.refusal = refusal;
        self.names = (token, revocation);
        self
    }

    /// The `oauth2` client for one request: the one place where client
    /// authentication is decided. RFC 6749 §2.3.1: `client_secret_basic`
    /// sends HTTP Basic of the id and secret each encoded with
    /// `application/x-www-form-urlencoded` first (`a+b/c=:%` becomes
    /// `a%2Bb%2Fc%3D%3A%25`); `client_secret_post` sends both as form
    /// fields (form-encoded like the rest of the body); a public client
    /// (no secret) names itself with `client_id` in the form.
    fn base(&self) -> BaseClient {
        let auth_type = match self.auth_method {
            ClientAuthMethod::ClientSecretBasic => AuthType::BasicAuth,
            ClientAuthMethod::ClientSecretPost => AuthType::RequestBody,
        };
        let client = Client::new(ClientId::new(self.client_id.clone())).set_auth_type(auth_type);
        match &self.client_secret {
            Some(s) => client.set_client_secret(ClientSecret::new(s.expose().to_owned())),
            None => client,
        }
    }

    /// Binds the loopback listener and builds the authorization request to
    /// `authorization_endpoint`: `response_type=code`, the client id, a
    /// random `state`, the PKCE S256 challenge, the redirect URI, then
    /// `extra` (`scope`, `nonce`, CSC's `credentialID`, …).
    pub(crate) async fn start_code_flow(
        &self,
        authorization_endpoint: &str,
        extra: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<CodeFlow> {
        let auth_url = AuthUrl::from_url(check_endpoint(authorization_endpoint.trim())?);
        let listener = RedirectListener::bind(self.redirect.as_ref()).await?;
        let redirect_uri = listener.redirect_uri();
        let redirect = RedirectUrl::new(redirect_uri.clone()).map_err(|e| config_error("redirect URI", e))?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let client = self.base().set_auth_uri(auth_url).set_redirect_uri(redirect);
        let mut request = client
            .authorize_url(|| CsrfToken::new_random_len(32))
            .set_pkce_challenge(challenge);
        for (k, v) in extra {
            request = request.add_extra_param(*k, *v);
        }
        let (url, state) = request.url();
        Ok(CodeFlow {
            listener,
            url: url.to_string(),
            redirect_uri,
            state,
            verifier,
            deadline: Instant::now() + timeout,
            timeout,
        })
    }

    /// Exchanges an authorization code at `token_endpoint`, with its PKCE
    /// verifier and redirect URI; the browser (unless its page was taken)
    /// is told the outcome.
    pub(crate) async fn exchange_code(
        &self,
        token_endpoint: &str,
        mut code: AuthorizedCode,
    ) -> Result<Grant> {
        let page = code.take_page();
        let grant = self.exchange_code_only(token_endpoint, code).await;
        if let Some(page) = page {
            page.finish(&grant).await;
        }
        grant
    }

    async fn exchange_code_only(&self, token_endpoint: &str, code: AuthorizedCode) -> Result<Grant> {
        let token_url = TokenUrl::from_url(check_endpoint(token_endpoint)?);
        let redirect = RedirectUrl::new(code.redirect_uri).map_err(|e| config_error("redirect URI", e))?;
        let client = self.base().set_token_uri(token_url);
        let adapter = Adapter::new(self, self.names.0, GrantKind::Code, RequestFlags::SENSITIVE_ONCE)
            .sending(&[&code.code]);
        let reply = client
            .exchange_code(AuthorizationCode::new(code.code.expose().to_owned()))
            .set_pkce_verifier(code.verifier)
            .set_redirect_uri(Cow::Owned(redirect))
            .request_async(&adapter)
            .await;
        self.grant(reply, &adapter)
    }

    /// Uses `refresh_token` at `token_endpoint`.
    pub(crate) async fn refresh(&self, token_endpoint: &str, refresh_token: &Secret) -> Result<Grant> {
        let token_url = TokenUrl::from_url(check_endpoint(token_endpoint)?);
        let client = self.base().set_token_uri(token_url);
        let adapter = Adapter::new(
            self,
            self.names.0,
            GrantKind::Refresh,
            RequestFlags::SENSITIVE_ONCE,
        )
        .sending(&[refresh_token]);
        let token = RefreshToken::new(refresh_token.expose().to_owned());
        let reply = client
            .exchange_refresh_token(&token)
            .request_async(&adapter)
            .await;
        self.grant(reply, &adapter)
    }

    /// Revokes `token` at `revocation_endpoint` (RFC 7009).
    pub(crate) async fn revoke(
        &self,
        revocation_endpoint: &str,
        token: &Secret,
        kind: TokenKind,
    ) -> Result<()> {
        let url = check_endpoint(revocation_endpoint)?;
        // `oauth2` requires an https:// revocation URL; check_endpoint let
        // plain HTTP through only to a loopback address (module docs).
        let (spelled, endpoint) = if url.scheme() == "http" {
            let mut https = url.clone();
            https
                .set_scheme("https")
                .map_err(|()| config_error("revocation endpoint", shown_url(&url)))?;
            (https, Some(url))
        } else {
            (url, None)
        };
        let client = self.base().set_revocation_url(RevocationUrl::from_url(spelled));
        let revocable = match kind {
            TokenKind::Access => {
                StandardRevocableToken::AccessToken(AccessToken::new(token.expose().to_owned()))
            }
            TokenKind::Refresh => {
                StandardRevocableToken::RefreshToken(RefreshToken::new(token.expose().to_owned()))
            }
        };
        let mut adapter = Adapter::new(
            self,
            self.names.1,
            GrantKind::Refresh,
            RequestFlags::SENSITIVE_IDEMPOTENT,
        )
        .sending(&[token]);
        adapter.endpoint = endpoint;
        let request = client
            .revoke_token(revocable)
            .map_err(|e| config_error("revocation endpoint", e))?;
        match request.request_async(&adapter).await {
            Ok(()) => Ok(()),
            Err(e) => Err(self.failure(e, &adapter)),
        }
    }

    fn failure<T: ::oauth2::ErrorResponseType + AsRef<str> + fmt::Display>(
        &self,
        e: RequestTokenError<Error, StandardErrorResponse<T>>,
        adapter: &Adapter<'_>,
    ) -> Error {
        let status = adapter.last_status();
        match e {
            RequestTokenError::Request(e) => e,
            RequestTokenError::ServerResponse(b) => {
                let body = OAuthErrorBody {
                    error: b.error().as_ref().to_owned(),
                    error_description: b.error_description().cloned(),
                };
                adapter.refused(status, Some(&body))
            }
            RequestTokenError::Parse(..) | RequestTokenError::Other(_) if status != 200 => {
                adapter.refused(status, None)
            }
            RequestTokenError::Parse(e, _) => Error::Protocol {
                service: self.service.clone(),
                detail: format!("malformed token response: {e}"),
            },
            RequestTokenError::Other(text) => Error::Protocol {
                service: self.service.clone(),
                detail: format!("unusable token response: {}", sanitize(&text)),
            },
        }
    }

    fn grant(
        &self,
        reply: std::result::Result<GrantResponse, RequestTokenError<Error, BasicErrorResponse>>,
        adapter: &Adapter<'_>,
    ) -> Result<Grant> {
        let r = reply.map_err(|e| self.failure(e, adapter))?;
        let token_type = r.token_type.as_ref();
        if !token_type.eq_ignore_ascii_case("bearer") {
            return Err(Error::Protocol {
                service: self.service.clone(),
                detail: format!("token type {:?} is not Bearer", sanitize(token_type)),
            });
        }
        if r.access_token.secret().is_empty() {
            return Err(Error::Protocol {
                service: self.service.clone(),
                detail: "the token endpoint returned an empty access token".into(),
            });
        }
        Ok(Grant {
            access_token: Secret::new(r.access_token.into_secret()),
            refresh_token: r.refresh_token.map(|t| Secret::new(t.into_secret())),
            id_token: r.id_token,
            expires_in: r.expires_in,
            scope: r
                .scopes
                .map(|s| s.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")),
            credential_id: r.credential_id,
        })
    }
}

#[cfg(test)]
#[path = "oauth2_tests.rs"]
mod tests;
