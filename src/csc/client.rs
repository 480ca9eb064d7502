//! [`CscClient`]: one typed method per CSC method.
//!
//! The methods do not know which API version they speak: the version's
//! wire adapter (`wire`) shapes each request and reads each reply, and
//! `exchange` sends it (bearer, retries, error replies). The RSSP's OAuth
//! 2.0 server is reached through the methods of `oauth`.

use std::fmt;
use std::sync::Arc;

use super::CscVersion;
use super::exchange::{Bearer, Exchange};
use super::model::{Activation, AuthorizeCall, CredentialDescription, Sad, SignHashCall};
use super::oauth::{OAuthClientConfig, ServiceToken};
use super::wire::v2::{
    CredentialsInfoRequest, CredentialsListRequest, CredentialsListResponse, InfoRequest, InfoResponse,
    LoginRequest, RevokeRequest, TokenResponse,
};
use super::wire::{Json, Wire, for_version, replies, version_from_specs};
use crate::auth::AccessTokenSource;
use crate::error::{Error, Result};
use crate::http::{HttpClient, RequestFlags, RetryConfig};
use crate::secret::Secret;
use crate::signer::Digest;

/// Most pages of a v1 `credentials/list` followed.
const MAX_PAGES: usize = 100;

/// A CSC API client: base URL, API version, transport, service
/// authorization, retry policy. Share it behind an `Arc`.
pub struct CscClient {
    pub(super) ex: Exchange,
    wire: &'static dyn Wire,
    pub(super) oauth: Option<OAuthClientConfig>,
    info: tokio::sync::OnceCell<InfoResponse>,
}

impl fmt::Debug for CscClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CscClient")
            .field("base_url", &self.ex.base.as_str())
            .field("version", &self.version())
            .field("tokens", &self.ex.tokens)
            .finish_non_exhaustive()
    }
}

impl CscClient {
    /// A client for the CSC API at `base_url` (the root the method names
    /// are appended to, e.g. `https://rssp.example/csc/v2/`), speaking
    /// `version`. The URL must be `https://` (plain HTTP to loopback only).
    /// Add the service authorization with [`with_token_source`](Self::with_token_source).
    pub fn new(http: HttpClient, base_url: &str, version: CscVersion) -> Result<Self> {
        Ok(Self {
            ex: Exchange::new(http, base_url)?,
            wire: for_version(version),
            oauth: None,
            info: tokio::sync::OnceCell::new(),
        })
    }

    /// A client whose version is read from the service's `info` (`specs`).
    pub async fn detect(http: HttpClient, base_url: &str) -> Result<Self> {
        let mut client = Self::new(http, base_url, CscVersion::V2)?;
        let info = client.call_info().await?;
        client.wire = for_version(version_from_specs(&info.specs)?);
        client.info = tokio::sync::OnceCell::new_with(Some(info));
        Ok(client)
    }

    /// A client for a profile's RSSP: its transport (proxy, CAs), base URL
    /// and version; its OpenID client id and secret are used for the RSSP's
    /// OAuth 2.0 server too. The service authorization is added by the
    /// caller (see [`super::service_auth::for_profile`]).
    pub fn for_profile(profile: &crate::profile::Profile) -> Result<Self> {
        profile.validate()?;
        let http = crate::http::http_client(&crate::http::TransportConfig::from_profile(profile)?)?;
        let secret = match &profile.oidc.client_secret {
            Some(r) => Some(r.resolve(&format!("client secret of profile {}", profile.name))?),
            None => None,
        };
        Ok(
            Self::new(http, &profile.rssp.base_url, profile.rssp.api_version)?.with_oauth_client(
                OAuthClientConfig {
                    client_id: profile.oidc.client_id.clone(),
                    client_secret: secret,
                    base_url: None,
                },
            ),
        )
    }

    /// Uses `tokens` for the service access token of every authenticated
    /// method.
    pub fn with_token_source(mut self, tokens: Arc<dyn AccessTokenSource>) -> Self {
        self.ex.tokens = Some(tokens);
        self.ex.anonymous = false;
        self
    }

    /// Sends no service authorization: the methods that need the service
    /// token go without an `Authorization` header, for services that need
    /// none (profile mode `none`). A token source set later takes over.
    pub fn without_service_authorization(mut self) -> Self {
        self.ex.tokens = None;
        self.ex.anonymous = true;
        self
    }

    /// Replaces the retry policy.
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.ex.retry = retry;
        self
    }

    /// Sets the OAuth 2.0 client used for the `service` and `credential` scopes.
    pub fn with_oauth_client(mut self, oauth: OAuthClientConfig) -> Self {
        self.oauth = Some(oauth);
        self
    }

    /// A client for the same service (transport, version, retry policy,
    /// OAuth client) without the token source: what the token sources that
    /// log in through CSC methods ([`super::BasicLoginSource`]) use.
    pub fn without_token_source(&self) -> Self {
        let mut ex = self.ex.clone();
        ex.tokens = None;
        Self {
            ex,
            wire: self.wire,
            oauth: self.oauth.clone(),
            info: tokio::sync::OnceCell::new(),
        }
    }

    /// The OAuth 2.0 client id, if one is configured.
    pub fn oauth_client_id(&self) -> Option<&str> {
        self.oauth.as_ref().map(|o| o.client_id.as_str())
    }

    /// The API base URL (ends with `/`).
    pub fn base_url(&self) -> &str {
        self.ex.base.as_str()
    }

    /// The API version spoken.
    pub fn version(&self) -> CscVersion {
        self.wire.version()
    }

    /// The version's wire adapter.
    pub(super) fn wire(&self) -> &'static dyn Wire {
        self.wire
    }

    /// The service's name in messages (`RSSP host:port`).
    pub fn service_name(&self) -> &str {
        &self.ex.service
    }

    /// The transport.
    pub fn http(&self) -> &HttpClient {
        &self.ex.http
    }

    /// The retry policy.
    pub fn retry_config(&self) -> &RetryConfig {
        &self.ex.retry
    }

    /// The token source, if any.
    pub fn token_source(&self) -> Option<&Arc<dyn AccessTokenSource>> {
        self.ex.tokens.as_ref()
    }

    async fn call_info(&self) -> Result<InfoResponse> {
        self.ex
            .post_json("info", &InfoRequest::default(), RequestFlags::READ, Bearer::None)
            .await
    }

    /// `info` (no authentication), fetched once and cached.
    pub async fn info(&self) -> Result<&InfoResponse> {
        self.info.get_or_try_init(|| self.call_info()).await
    }

    /// Whether the service lists `method` (e.g. `credentials/extendTransaction`)
    /// in `info.methods`; `false` when `info` fails.
    pub async fn supports(&self, method: &str) -> bool {
        match self.info().await {
            Ok(i) => i.methods.iter().any(|m| m == method),
            Err(_) => false,
        }
    }

    /// `auth/login` with HTTP Basic: a service access token (and a refresh
    /// token when `remember_me`).
    pub async fn login_basic(
        &self,
        user: &str,
        password: &Secret,
        remember_me: bool,
    ) -> Result<ServiceToken> {
        let body = LoginRequest {
            remember_me: remember_me.then_some(true),
            ..Default::default()
        };
        let (method, flags) = ("auth/login", RequestFlags::SENSITIVE_ONCE);
        let basic = Some((user, password));
        let bytes = self
            .ex
            .post_body(method, &body, flags, Bearer::None, basic)
            .await?;
        replies::token(&self.ex.service, &bytes)
    }

    /// `auth/login` with a refresh token from an earlier login.
    pub async fn login_with_refresh_token(&self, refresh_token: &Secret) -> Result<ServiceToken> {
        let body = LoginRequest {
            refresh_token: Some(refresh_token.clone()),
            ..Default::default()
        };
        match self
            .ex
            .post_json::<TokenResponse>("auth/login", &body, RequestFlags::SENSITIVE_ONCE, Bearer::None)
            .await
        {
            Ok(r) => Ok(ServiceToken::from_response(r)),
            Err(Error::Remote {
                code, description, ..
            }) if code == "invalid_grant" => Err(Error::Unauthenticated {
                detail: format!("{} rejected the refresh token ({description})", self.ex.service),
                source: None,
            }),
            Err(e) => Err(e),
        }
    }

    /// `auth/revoke`: revokes `token` (an access or refresh token), the
    /// request authenticated with the access token `bearer`.
    pub async fn auth_revoke(&self, bearer: &Secret, token: &Secret, hint: Option<&str>) -> Result<()> {
        let body = RevokeRequest {
            token: token.clone(),
            token_type_hint: hint.map(str::to_owned),
            client_data: None,
        };
        let flags = RequestFlags::SENSITIVE_IDEMPOTENT;
        let bearer = Bearer::Given(bearer);
        self.ex
            .post_body("auth/revoke", &body, flags, bearer, None)
            .await
            .map(|_| ())
    }

    /// The ids of the user's credentials (`credentials/list`; pages
    /// followed where the version pages).
    pub async fn credential_ids(&self) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        let mut page_token = None;
        for _ in 0..MAX_PAGES {
            let body = CredentialsListRequest {
                page_token: page_token.take(),
                ..Default::default()
            };
            let r: CredentialsListResponse = self
                .ex
                .post_json("credentials/list", &body, RequestFlags::READ, Bearer::Service)
                .await?;
            ids.extend(r.credential_ids);
            match r.next_page_token.filter(|t| !t.is_empty()) {
                Some(t) if self.wire.pages_credential_list() => page_token = Some(t),
                _ => return Ok(ids),
            }
        }
        Err(self
            .ex
            .protocol(format!("credentials/list has more than {MAX_PAGES} pages")))
    }

    /// Every credential of the user with its description (one
    /// `credentials/list` with `credentialInfo` where the version has it;
    /// otherwise one `credentials/info` per credential).
    pub async fn list_credentials(&self) -> Result<Vec<CredentialDescription>> {
        let ids = match self.wire.list_with_infos() {
            Some(mut body) => {
                let bytes = self
                    .read_asking_cert_info("credentials/list", &mut body, |b| b.cert_info = None)
                    .await?;
                match replies::listed_descriptions(&self.ex.service, &bytes)? {
                    Ok(all) => return Ok(all),
                    Err(ids) => ids,
                }
            }
            None => self.credential_ids().await?,
        };
        let mut out = Vec::with_capacity(ids.len());
        for id in &ids {
            out.push(self.credential_info(id).await?);
        }
        Ok(out)
    }

    /// `credentials/info` with the certificate chain, certificate details
    /// and authorization details. A service that refuses `certInfo` (some
    /// answer `501` or `400` to it) is asked once more without it: the
    /// certificate itself says what `certInfo` would have.
    pub async fn credential_info(&self, credential_id: &str) -> Result<CredentialDescription> {
        let mut body = CredentialsInfoRequest {
            credential_id: credential_id.to_owned(),
            certificates: Some("chain".into()),
            cert_info: Some(true),
            auth_info: Some(true),
            ..Default::default()
        };
        let result = async {
            let bytes = self
                .read_asking_cert_info("credentials/info", &mut body, |b| b.cert_info = None)
                .await?;
            replies::credential_info(self.wire.version(), &self.ex.service, credential_id, &bytes)
        }
        .await;
        result.map_err(|e| match e {
            Error::NotFound { .. } => Error::NotFound {
                what: format!("credential {credential_id:?} at {}", self.ex.service),
            },
            other => other,
        })
    }

    /// `credentials/authorize`: a SAD for `num_signatures` signatures
    /// (bound to `hashes` when given). Wrong PIN/OTP is
    /// [`Error::InvalidOtp`]. Never retried once sent (see
    /// [`RequestFlags::SENSITIVE_ONCE`]).
    pub async fn authorize(&self, call: &AuthorizeCall<'_>) -> Result<Sad> {
        if call.num_signatures == 0 {
            return Err(Error::invalid_argument("an authorization for no signature"));
        }
        let body = self.wire.authorize(call)?;
        self.sad("credentials/authorize", &body).await
    }

    /// `credentials/extendTransaction`: a fresh SAD with what is left of
    /// `sad` (which the service invalidates).
    pub async fn extend_transaction(
        &self,
        credential_id: &str,
        sad: &Secret,
        hashes: Option<&[Digest]>,
    ) -> Result<Sad> {
        let body = self.wire.extend_transaction(credential_id, sad, hashes)?;
        self.sad("credentials/extendTransaction", &body).await
    }

    /// Sends a request that answers with a SAD.
    async fn sad(&self, method: &str, body: &Json) -> Result<Sad> {
        let bytes = self
            .ex
            .post(method, body, RequestFlags::SENSITIVE_ONCE, Bearer::Service, None)
            .await?;
        replies::sad(&self.ex.service, method, &bytes)
    }

    /// `signatures/signHash`: one signature per digest, in input order,
    /// decoded. Fewer or more signatures than digests is
    /// [`Error::Protocol`]. The signatures are *not* verified here (the
    /// signer does it with the certificate's key). Never retried once sent.
    pub async fn sign_hash(&self, call: &SignHashCall<'_>) -> Result<Vec<Vec<u8>>> {
        if call.digests.is_empty() {
            return Err(Error::invalid_argument("no digest to sign"));
        }
        let hash = call.algorithm.algorithm.hash;
        if call.digests.iter().any(|d| d.algorithm() != hash) {
            return Err(Error::invalid_argument(format!(
                "digests of another hash than {hash} for {}",
                call.algorithm.algorithm
            )));
        }
        let method = "signatures/signHash";
        let bearer = match call.activation {
            Activation::Sad(_) => Bearer::Service,
            Activation::CredentialToken(t) => Bearer::Credential(t),
        };
        let body = self.wire.sign_hash(call)?;
        let bytes = self
            .ex
            .post(method, &body, RequestFlags::SENSITIVE_ONCE, bearer, None)
            .await?;
        replies::signatures(&self.ex.service, &bytes, call.digests.len())
    }
}

impl CscClient {
    /// POSTs `body`, a read that asks for `certInfo`, to `method`. A service
    /// that refuses `certInfo` ([`refuses_cert_info`]) is asked once more,
    /// `without_cert_info` having taken it out of `body`.
    async fn read_asking_cert_info<B: serde::Serialize>(
        &self,
        method: &str,
        body: &mut B,
        without_cert_info: fn(&mut B),
    ) -> Result<Vec<u8>> {
        let flags = RequestFlags::READ;
        match self
            .ex
            .post_body(method, body, flags, Bearer::Service, None)
            .await
        {
            Err(e) if refuses_cert_info(&e) => {
                tracing::debug!(target: "crpki::csc", "{method} refused certInfo ({e}); asking without it");
                without_cert_info(body);
                self.ex
                    .post_body(method, body, flags, Bearer::Service, None)
                    .await
            }
            other => other,
        }
    }
}

/// Whether a refused `credentials/info` or `credentials/list` may be the
/// service refusing `certInfo`: `501`, or a `400` that says nothing more
/// specific (not an unknown credential, not the token).
fn refuses_cert_info(e: &Error) -> bool {
    matches!(super::errors::refusal(e), Some((400 | 501, _)))
}
