//! [`CscClient`]: one typed method per CSC method, over the shared transport.
//!
//! The v1.0.4.0 and v2 request shapes differ (`hash`/`hashes`,
//! `hashAlgo`/`hashAlgorithmOID`, `PIN`/`OTP` fields or `authData`,
//! `authMode` or `auth.mode`); the typed API is the same for both and the
//! client picks the shape from its [`CscVersion`]. Every request goes
//! through [`retry::run`](super::retry) and every error reply through
//! [`error_from_reply`].

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use const_oid::ObjectIdentifier;
use reqwest::Url;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use super::CscVersion;
use super::errors::{error_from_reply, sanitize};
use super::retry::{self, AttemptError, RequestFlags, RetryConfig};
use super::types::{
    AuthDataItem, AuthObject, AuthorizeRequest, AuthorizeResponse, CertDescription, CredentialInfo,
    CredentialsInfoRequest, CredentialsListRequest, CredentialsListResponse, ErrorBody,
    ExtendTransactionRequest, InfoRequest, InfoResponse, KeyDescription, LoginRequest, RevokeRequest,
    SignHashRequest, SignHashResponse, TokenResponse, V1AuthInput, V1AuthorizeRequest, V1CredentialInfo,
    V1ExtendTransactionRequest, V1SignHashRequest,
};
use crate::auth::oidc::{form_encode, pkce_challenge, random_token};
use crate::auth::{AccessTokenSource, BrowserLauncher, HttpClient, RedirectListener, check_endpoint};
use crate::cert::Certificate;
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::signer::{Digest, HashAlgorithm, SignatureAlgorithm, SignatureScheme, oid};

/// Largest reply body read (a `signHash` reply with 1,000 RSA-4096
/// signatures is under 1 MiB).
const MAX_BODY: usize = 8 * 1024 * 1024;

/// Most pages of a v1 `credentials/list` followed.
const MAX_PAGES: usize = 100;

/// The CSC version an `info.specs` value announces: `1.x` is
/// [`CscVersion::V1`], `2.x` is [`CscVersion::V2`].
pub fn version_from_specs(specs: &str) -> Result<CscVersion> {
    let major = specs.trim().split('.').next().unwrap_or("");
    match major {
        "1" => Ok(CscVersion::V1),
        "2" => Ok(CscVersion::V2),
        _ => Err(Error::unsupported(format!(
            "CSC API version {:?} (crpki speaks 1.0.4.0 and 2.x)",
            sanitize(specs)
        ))),
    }
}

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
    fn from_response(r: TokenResponse) -> Self {
        Self {
            access_token: Secret::new(r.access_token.clone()),
            refresh_token: r.refresh_token.clone().map(Secret::new),
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

/// Signature Activation Data from `credentials/authorize` or
/// `credentials/extendTransaction`.
#[derive(Clone, Debug)]
pub struct Sad {
    /// The SAD (a secret).
    pub sad: Secret,
    /// Its lifetime, when the service said (the specification's default is
    /// one hour).
    pub expires_in: Option<Duration>,
}

/// What authorizes a `signHash` call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Activation {
    /// A SAD from `credentials/authorize`; the call carries the service
    /// access token.
    Sad(Secret),
    /// An access token of scope `credential` from the OAuth 2.0 flow; it
    /// replaces both the SAD and the service token.
    CredentialToken(Secret),
}

/// Sole Control Assurance Level of a credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scal {
    /// SCAL 1: an authorization covers a number of signatures.
    One,
    /// SCAL 2: an authorization is bound to the exact hashes.
    Two,
}

/// What the user provides to authorize a credential in explicit mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthInputKind {
    /// A PIN or password.
    Pin,
    /// A one-time password.
    Otp,
    /// Another kind the service names.
    Other(String),
}

/// One input of explicit authorization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthInput {
    /// PIN, OTP, …
    pub kind: AuthInputKind,
    /// The identifier sent with the value (`PIN`, `OTP`).
    pub id: String,
    /// `A` (alphanumeric) or `N` (numeric), when said.
    pub format: Option<String>,
    /// A label for the prompt.
    pub label: Option<String>,
    /// A description for the prompt.
    pub description: Option<String>,
    /// The service accepts the authorization without it.
    pub optional: bool,
}

/// How a credential is authorized.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthMode {
    /// `credentials/authorize` without user input.
    Implicit,
    /// `credentials/authorize` with the inputs (PIN, OTP) the user provides.
    Explicit {
        /// What to ask for.
        inputs: Vec<AuthInput>,
        /// How the inputs combine (`PIN AND OTP`), when said.
        expression: Option<String>,
    },
    /// The OAuth 2.0 `credential` scope, approved in a browser.
    OAuth2Code,
    /// A mode crpki does not know (or none was said).
    Other(String),
}

/// Status of a credential's certificate, as the service reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertificateStatus {
    /// `valid`.
    Valid,
    /// `expired`.
    Expired,
    /// `revoked`.
    Revoked,
    /// `suspended`.
    Suspended,
    /// Another value.
    Other(String),
    /// The service did not say.
    Unknown,
}

impl fmt::Display for CertificateStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Valid => f.write_str("valid"),
            Self::Expired => f.write_str("expired"),
            Self::Revoked => f.write_str("revoked"),
            Self::Suspended => f.write_str("suspended"),
            Self::Other(s) => f.write_str(s),
            Self::Unknown => f.write_str("unknown"),
        }
    }
}

/// A credential as `credentials/info` (or `credentials/list` with
/// `credentialInfo`) describes it, the same for v1 and v2, with the
/// certificates decoded.
#[derive(Clone, Debug)]
pub struct CredentialDescription {
    /// The `credentialID`.
    pub id: String,
    /// The service's description.
    pub description: Option<String>,
    /// The key's status (`enabled`, `disabled`).
    pub key_status: String,
    /// Signature algorithm OIDs the key supports (dotted).
    pub key_algorithms: Vec<String>,
    /// Key length in bits.
    pub key_len: u32,
    /// EC curve OID, for EC keys.
    pub key_curve: Option<String>,
    /// The certificate's status.
    pub cert_status: CertificateStatus,
    /// The signing certificate, when the service returned it.
    pub certificate: Option<Certificate>,
    /// Its issuers, as returned (may be empty).
    pub chain: Vec<Certificate>,
    /// How to authorize it.
    pub auth_mode: AuthMode,
    /// Its Sole Control Assurance Level.
    pub scal: Scal,
    /// Most signatures one authorization may cover.
    pub multisign: u32,
}

impl CredentialDescription {
    /// Whether the key is enabled.
    pub fn key_enabled(&self) -> bool {
        self.key_status.eq_ignore_ascii_case("enabled")
    }

    /// Checks that the credential can sign now: key enabled, certificate
    /// neither expired, revoked nor suspended (as the service says and by
    /// its dates). Otherwise [`Error::CredentialUnusable`] saying which.
    pub fn check_usable(&self) -> Result<()> {
        let subject = self
            .certificate
            .as_ref()
            .map(|c| format!(" ('{}')", c.subject()))
            .unwrap_or_default();
        if !self.key_enabled() {
            return Err(Error::CredentialUnusable {
                detail: format!(
                    "the key of credential {}{subject} is {} at the signing service",
                    self.id,
                    sanitize(&self.key_status)
                ),
            });
        }
        match &self.cert_status {
            CertificateStatus::Expired | CertificateStatus::Revoked | CertificateStatus::Suspended => {
                return Err(Error::CredentialUnusable {
                    detail: format!(
                        "the certificate of credential {}{subject} is {}",
                        self.id, self.cert_status
                    ),
                });
            }
            _ => {}
        }
        if let Some(cert) = &self.certificate {
            let validity = cert.inner().tbs_certificate().validity();
            let now = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default();
            let not_after = validity.not_after.to_unix_duration();
            let not_before = validity.not_before.to_unix_duration();
            if now > not_after {
                return Err(Error::CredentialUnusable {
                    detail: format!(
                        "the certificate of credential {}{subject} expired at {}",
                        self.id,
                        rfc3339(not_after)
                    ),
                });
            }
            if now < not_before {
                return Err(Error::CredentialUnusable {
                    detail: format!(
                        "the certificate of credential {}{subject} is not valid before {}",
                        self.id,
                        rfc3339(not_before)
                    ),
                });
            }
        }
        Ok(())
    }
}

fn rfc3339(since_epoch: Duration) -> String {
    time::OffsetDateTime::from_unix_timestamp(since_epoch.as_secs() as i64)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| format!("{} s after 1970", since_epoch.as_secs()))
}

/// A signature algorithm as `signatures/signHash` names it: `signAlgo`,
/// its parameters (RSASSA-PSS), and the hash (`hashAlgorithmOID`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CscSignAlgorithm {
    /// The algorithm.
    pub algorithm: SignatureAlgorithm,
    /// The `signAlgo` OID.
    pub sign_algo: ObjectIdentifier,
    /// DER `signAlgoParams` (RSASSA-PSS-params), if any.
    pub sign_algo_params: Option<Vec<u8>>,
}

impl CscSignAlgorithm {
    /// The `signAlgo` for `algorithm`, preferring the OID that names the
    /// hash when the key lists it (`key_algorithms` from
    /// `credentials/info`; empty means "not said": assume it), else
    /// `rsaEncryption` with `hashAlgorithmOID`. RSASSA-PSS uses MGF1 with
    /// the same hash and a salt as long as the hash. An algorithm the key
    /// does not list is [`Error::Unsupported`].
    pub fn new(algorithm: SignatureAlgorithm, key_algorithms: &[String]) -> Result<Self> {
        let listed = |o: &ObjectIdentifier| {
            key_algorithms.is_empty() || key_algorithms.iter().any(|k| k.trim() == o.to_string())
        };
        let specific = algorithm.oid();
        let (sign_algo, params) = match algorithm.scheme {
            SignatureScheme::RsaPkcs1v15 if listed(&specific) => (specific, None),
            SignatureScheme::RsaPkcs1v15 if listed(&oid::RSA_ENCRYPTION) => (oid::RSA_ENCRYPTION, None),
            SignatureScheme::RsaPss if listed(&oid::RSASSA_PSS) => (
                oid::RSASSA_PSS,
                Some(crate::signer::pss::params_der(algorithm.hash)?),
            ),
            SignatureScheme::Ecdsa if listed(&specific) => (specific, None),
            _ => {
                return Err(Error::unsupported(format!(
                    "{algorithm}: the credential's key lists only {}",
                    key_algorithms.join(", ")
                )));
            }
        };
        Ok(Self {
            algorithm,
            sign_algo,
            sign_algo_params: params,
        })
    }
}

/// Inputs of `credentials/authorize`.
#[derive(Clone, Copy, Debug)]
pub struct AuthorizeCall<'a> {
    /// The credential.
    pub credential_id: &'a str,
    /// Signatures the SAD will allow.
    pub num_signatures: u32,
    /// The hashes to bind the SAD to (required for SCAL 2).
    pub hashes: Option<&'a [Digest]>,
    /// PIN/OTP values by input id (`PIN`, `OTP`).
    pub auth_data: &'a [(String, Secret)],
    /// A description of the operation shown to the user.
    pub description: Option<&'a str>,
}

/// Inputs of `signatures/signHash`.
#[derive(Clone, Copy, Debug)]
pub struct SignHashCall<'a> {
    /// The credential.
    pub credential_id: &'a str,
    /// What authorizes the call.
    pub activation: &'a Activation,
    /// The digests (all of `algorithm.algorithm.hash`).
    pub digests: &'a [Digest],
    /// The signature algorithm.
    pub algorithm: &'a CscSignAlgorithm,
}

/// A CSC API client: base URL, API version, transport, service
/// authorization, retry policy. Share it behind an `Arc`.
pub struct CscClient {
    http: HttpClient,
    base: Url,
    version: CscVersion,
    service: String,
    tokens: Option<Arc<dyn AccessTokenSource>>,
    retry: RetryConfig,
    oauth: Option<OAuthClientConfig>,
    info: tokio::sync::OnceCell<InfoResponse>,
}

impl fmt::Debug for CscClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CscClient")
            .field("base_url", &self.base.as_str())
            .field("version", &self.version)
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

/// Which header authenticates a request.
#[derive(Clone, Copy)]
enum Credentials<'a> {
    None,
    Bearer(&'a Secret),
    Basic(&'a str, &'a Secret),
}

/// Who the bearer token of a request is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Bearer<'a> {
    /// No authentication (`info`, or HTTP Basic at `auth/login`).
    None,
    /// The service access token from the token source (refreshed once on rejection).
    Service,
    /// A given token: a credential-scope token, whose rejection means the
    /// authorization is gone.
    Credential(&'a Secret),
    /// A given service token (logout).
    Given(&'a Secret),
}

#[derive(Clone, Copy)]
enum Payload<'a> {
    Json(&'a [u8]),
    Form(&'a [(&'a str, &'a str)]),
}

/// An error reply that is not retried.
#[derive(Debug)]
struct Refusal {
    status: u16,
    body: Option<ErrorBody>,
}

impl Refusal {
    fn rejects_token(&self) -> bool {
        let code = self.body.as_ref().map(|b| b.error.as_str()).unwrap_or("");
        self.status == 401 || matches!(code, "invalid_token" | "expired_token")
    }
}

fn unavailable_reply(status: u16, body: Option<&ErrorBody>) -> bool {
    status >= 500
        || status == 429
        || body.is_some_and(|b| matches!(b.error.as_str(), "temporarily_unavailable" | "server_error"))
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

fn b64(data: &[u8]) -> String {
    STANDARD.encode(data)
}

fn unb64(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    STANDARD
        .decode(s)
        .or_else(|_| URL_SAFE.decode(s))
        .or_else(|_| URL_SAFE_NO_PAD.decode(s))
        .or_else(|_| STANDARD_NO_PAD.decode(s))
        .ok()
}

fn one_hash_algorithm(hashes: &[Digest]) -> Result<Option<HashAlgorithm>> {
    let Some(first) = hashes.first() else {
        return Ok(None);
    };
    if hashes.iter().any(|d| d.algorithm() != first.algorithm()) {
        return Err(Error::invalid_argument(
            "hashes of different algorithms in one request",
        ));
    }
    Ok(Some(first.algorithm()))
}

impl CscClient {
    /// A client for the CSC API at `base_url` (the root the method names
    /// are appended to, e.g. `https://rssp.example/csc/v2/`), speaking
    /// `version`. The URL must be `https://` (plain HTTP to loopback only).
    /// Add the service authorization with [`with_token_source`](Self::with_token_source).
    pub fn new(http: HttpClient, base_url: &str, version: CscVersion) -> Result<Self> {
        let mut base = check_endpoint(base_url)?;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let host = base.host_str().unwrap_or("?");
        let service = match base.port() {
            Some(p) => format!("RSSP {host}:{p}"),
            None => format!("RSSP {host}"),
        };
        Ok(Self {
            http,
            base,
            version,
            service,
            tokens: None,
            retry: RetryConfig::default(),
            oauth: None,
            info: tokio::sync::OnceCell::new(),
        })
    }

    /// A client whose version is read from the service's `info` (`specs`).
    pub async fn detect(http: HttpClient, base_url: &str) -> Result<Self> {
        let mut client = Self::new(http, base_url, CscVersion::V2)?;
        let info = client.call_info().await?;
        client.version = version_from_specs(&info.specs)?;
        client.info = tokio::sync::OnceCell::new_with(Some(info));
        Ok(client)
    }

    /// A client for a profile's RSSP: its transport (proxy, CAs), base URL
    /// and version; its OpenID client id and secret are used for the RSSP's
    /// OAuth 2.0 server too. The service authorization is added by the
    /// caller (see [`super::service_auth::for_profile`]).
    pub fn for_profile(profile: &crate::profile::Profile) -> Result<Self> {
        profile.validate()?;
        let http = crate::auth::http_client(&crate::auth::TransportConfig::from_profile(profile)?)?;
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
        self.tokens = Some(tokens);
        self
    }

    /// Replaces the retry policy.
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
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
        Self {
            http: self.http.clone(),
            base: self.base.clone(),
            version: self.version,
            service: self.service.clone(),
            tokens: None,
            retry: self.retry.clone(),
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
        self.base.as_str()
    }

    /// The API version spoken.
    pub fn version(&self) -> CscVersion {
        self.version
    }

    /// The service's name in messages (`RSSP host:port`).
    pub fn service_name(&self) -> &str {
        &self.service
    }

    /// The transport.
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// The retry policy.
    pub fn retry_config(&self) -> &RetryConfig {
        &self.retry
    }

    /// The token source, if any.
    pub fn token_source(&self) -> Option<&Arc<dyn AccessTokenSource>> {
        self.tokens.as_ref()
    }

    fn method_url(&self, method: &str) -> Result<Url> {
        self.base.join(method).map_err(|e| Error::Config {
            detail: format!("CSC method URL {method}: {e}"),
        })
    }

    fn protocol(&self, detail: impl Into<String>) -> Error {
        Error::Protocol {
            service: self.service.clone(),
            detail: detail.into(),
        }
    }

    fn classify(&self, e: reqwest::Error) -> AttemptError {
        let connect = e.is_connect();
        match self.http.transport_error(&self.service, e) {
            // An untrusted certificate does not get better by retrying.
            err @ Error::Config { .. } => AttemptError::Final(err),
            err if connect => AttemptError::NotSent(err),
            err => AttemptError::OutcomeUnknown(err),
        }
    }

    async fn read_body(&self, mut response: reqwest::Response) -> std::result::Result<Vec<u8>, AttemptError> {
        if response.content_length().is_some_and(|l| l > MAX_BODY as u64) {
            return Err(AttemptError::Final(self.protocol("reply too large")));
        }
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_BODY {
                        return Err(AttemptError::Final(self.protocol("reply too large")));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => return Ok(body),
                Err(e) => return Err(self.classify(e)),
            }
        }
    }

    /// One request with retries; an error reply that is not retried comes
    /// back as `Ok(Err(refusal))` for the caller to interpret.
    async fn exchange(
        &self,
        what: &str,
        url: &Url,
        payload: Payload<'_>,
        flags: RequestFlags,
        credentials: Credentials<'_>,
    ) -> Result<std::result::Result<Vec<u8>, Refusal>> {
        retry::run(&self.retry, flags, what, |attempt| async move {
            let mut request = self
                .http
                .reqwest()
                .post(url.clone())
                .header(ACCEPT, "application/json");
            request = match payload {
                Payload::Json(bytes) => request
                    .header(CONTENT_TYPE, "application/json")
                    .body(bytes.to_vec()),
                Payload::Form(pairs) => request.form(pairs),
            };
            request = match credentials {
                Credentials::None => request,
                Credentials::Bearer(t) => request.bearer_auth(t.expose()),
                Credentials::Basic(user, password) => request.basic_auth(user, Some(password.expose())),
            };
            let response = request.send().await.map_err(|e| self.classify(e))?;
            let status = response.status().as_u16();
            let wait = retry_after(response.headers());
            let body = self.read_body(response).await?;
            tracing::debug!(
                target: "crpki::csc",
                request = what,
                attempt,
                status,
                bytes = body.len(),
                "CSC reply"
            );
            if !flags.sensitive {
                tracing::trace!(
                    target: "crpki::csc",
                    request = what,
                    body = %String::from_utf8_lossy(&body[..body.len().min(4096)]),
                    "CSC reply body"
                );
            }
            if (200..300).contains(&status) {
                return Ok(Ok(body));
            }
            let parsed: Option<ErrorBody> = serde_json::from_slice(&body).ok();
            if unavailable_reply(status, parsed.as_ref()) {
                return Err(AttemptError::Unavailable {
                    error: error_from_reply(&self.service, what, status, parsed.as_ref()),
                    retry_after: wait,
                });
            }
            Ok(Err(Refusal { status, body: parsed }))
        })
        .await
    }

    fn refusal_error(&self, what: &str, refusal: &Refusal, bearer: Bearer<'_>) -> Error {
        if refusal.rejects_token() {
            if let Bearer::Credential(_) = bearer {
                return Error::AuthorizationInvalid {
                    detail: format!(
                        "{} rejected the credential authorization token for {what} (expired or spent)",
                        self.service
                    ),
                };
            }
        }
        error_from_reply(&self.service, what, refusal.status, refusal.body.as_ref())
    }

    /// POSTs a JSON body to a CSC method with the given authentication, the
    /// service token refreshed once if the service rejects it.
    async fn post_bytes(
        &self,
        method: &str,
        body: &(impl Serialize + ?Sized),
        flags: RequestFlags,
        bearer: Bearer<'_>,
        basic: Option<(&str, &Secret)>,
    ) -> Result<Vec<u8>> {
        let url = self.method_url(method)?;
        let payload = Zeroizing::new(
            serde_json::to_vec(body)
                .map_err(|e| Error::invalid_argument(format!("{method} request: {e}")))?,
        );
        let payload = Payload::Json(&payload);
        fn credentials<'a>(t: Option<&'a Secret>, basic: Option<(&'a str, &'a Secret)>) -> Credentials<'a> {
            match (t, basic) {
                (Some(t), _) => Credentials::Bearer(t),
                (None, Some((u, p))) => Credentials::Basic(u, p),
                (None, None) => Credentials::None,
            }
        }
        match bearer {
            Bearer::None => self
                .exchange(method, &url, payload, flags, credentials(None, basic))
                .await?
                .map_err(|r| self.refusal_error(method, &r, bearer)),
            Bearer::Credential(t) | Bearer::Given(t) => self
                .exchange(method, &url, payload, flags, credentials(Some(t), None))
                .await?
                .map_err(|r| self.refusal_error(method, &r, bearer)),
            Bearer::Service => {
                let source = self.tokens.as_ref().ok_or_else(|| Error::Unauthenticated {
                    detail: format!("no service authorization is configured for {}", self.service),
                    source: None,
                })?;
                let token = source.access_token().await?;
                match self
                    .exchange(method, &url, payload, flags, credentials(Some(&token), None))
                    .await?
                {
                    Ok(bytes) => Ok(bytes),
                    Err(r) if r.rejects_token() => {
                        // Refreshed once per request: a second rejection is final.
                        tracing::debug!(target: "crpki::csc", request = method, "access token rejected; refreshing");
                        let fresh = source.refresh_after_rejection(&token).await?;
                        self.exchange(method, &url, payload, flags, credentials(Some(&fresh), None))
                            .await?
                            .map_err(|r| self.refusal_error(method, &r, bearer))
                    }
                    Err(r) => Err(self.refusal_error(method, &r, bearer)),
                }
            }
        }
    }

    fn parse<T: DeserializeOwned>(&self, what: &str, bytes: &[u8]) -> Result<T> {
        serde_json::from_slice(bytes).map_err(|e| self.protocol(format!("malformed reply to {what}: {e}")))
    }

    async fn post_json<T: DeserializeOwned>(
        &self,
        method: &str,
        body: &(impl Serialize + ?Sized),
        flags: RequestFlags,
        bearer: Bearer<'_>,
    ) -> Result<T> {
        let bytes = self.post_bytes(method, body, flags, bearer, None).await?;
        self.parse(method, &bytes)
    }

    async fn call_info(&self) -> Result<InfoResponse> {
        self.post_json("info", &InfoRequest::default(), RequestFlags::READ, Bearer::None)
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
        let bytes = self
            .post_bytes(
                "auth/login",
                &body,
                RequestFlags::SENSITIVE_ONCE,
                Bearer::None,
                Some((user, password)),
            )
            .await?;
        let r: TokenResponse = self.parse("auth/login", &bytes)?;
        Ok(ServiceToken::from_response(r))
    }

    /// `auth/login` with a refresh token from an earlier login.
    pub async fn login_with_refresh_token(&self, refresh_token: &Secret) -> Result<ServiceToken> {
        let body = LoginRequest {
            refresh_token: Some(refresh_token.expose().to_owned()),
            ..Default::default()
        };
        match self
            .post_json::<TokenResponse>("auth/login", &body, RequestFlags::SENSITIVE_ONCE, Bearer::None)
            .await
        {
            Ok(r) => Ok(ServiceToken::from_response(r)),
            Err(Error::Remote {
                code, description, ..
            }) if code == "invalid_grant" => Err(Error::Unauthenticated {
                detail: format!("{} rejected the refresh token ({description})", self.service),
                source: None,
            }),
            Err(e) => Err(e),
        }
    }

    /// `auth/revoke`: revokes `token` (an access or refresh token), the
    /// request authenticated with the access token `bearer`.
    pub async fn auth_revoke(&self, bearer: &Secret, token: &Secret, hint: Option<&str>) -> Result<()> {
        let body = RevokeRequest {
            token: token.expose().to_owned(),
            token_type_hint: hint.map(str::to_owned),
            client_data: None,
        };
        self.post_bytes(
            "auth/revoke",
            &body,
            RequestFlags::SENSITIVE_IDEMPOTENT,
            Bearer::Given(bearer),
            None,
        )
        .await
        .map(|_| ())
    }

    /// The ids of the user's credentials (`credentials/list`; v1 pages followed).
    pub async fn credential_ids(&self) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        let mut page_token = None;
        for _ in 0..MAX_PAGES {
            let body = CredentialsListRequest {
                page_token: page_token.take(),
                ..Default::default()
            };
            let r: CredentialsListResponse = self
                .post_json("credentials/list", &body, RequestFlags::READ, Bearer::Service)
                .await?;
            ids.extend(r.credential_ids);
            match r.next_page_token.filter(|t| !t.is_empty()) {
                Some(t) if self.version == CscVersion::V1 => page_token = Some(t),
                _ => return Ok(ids),
            }
        }
        Err(self.protocol(format!("credentials/list has more than {MAX_PAGES} pages")))
    }

    /// Every credential of the user with its description (v2: one
    /// `credentials/list` with `credentialInfo`; otherwise one
    /// `credentials/info` per credential).
    pub async fn list_credentials(&self) -> Result<Vec<CredentialDescription>> {
        if self.version == CscVersion::V2 {
            let body = CredentialsListRequest {
                credential_info: Some(true),
                certificates: Some("chain".into()),
                cert_info: Some(true),
                auth_info: Some(true),
                ..Default::default()
            };
            let r: CredentialsListResponse = self
                .post_json("credentials/list", &body, RequestFlags::READ, Bearer::Service)
                .await?;
            if let Some(infos) = r.credential_infos.filter(|i| i.len() == r.credential_ids.len()) {
                return r
                    .credential_ids
                    .iter()
                    .zip(infos)
                    .map(|(id, info)| {
                        let id = info.credential_id.clone().unwrap_or_else(|| id.clone());
                        self.describe_v2(&id, info)
                    })
                    .collect();
            }
            let mut out = Vec::with_capacity(r.credential_ids.len());
            for id in &r.credential_ids {
                out.push(self.credential_info(id).await?);
            }
            return Ok(out);
        }
        let ids = self.credential_ids().await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in &ids {
            out.push(self.credential_info(id).await?);
        }
        Ok(out)
    }

    /// `credentials/info` with the certificate chain, certificate details
    /// and authorization details.
    pub async fn credential_info(&self, credential_id: &str) -> Result<CredentialDescription> {
        let body = CredentialsInfoRequest {
            credential_id: credential_id.to_owned(),
            certificates: Some("chain".into()),
            cert_info: Some(true),
            auth_info: Some(true),
            ..Default::default()
        };
        let result = async {
            match self.version {
                CscVersion::V2 => {
                    let info: CredentialInfo = self
                        .post_json("credentials/info", &body, RequestFlags::READ, Bearer::Service)
                        .await?;
                    self.describe_v2(credential_id, info)
                }
                CscVersion::V1 => {
                    let info: V1CredentialInfo = self
                        .post_json("credentials/info", &body, RequestFlags::READ, Bearer::Service)
                        .await?;
                    self.describe_v1(credential_id, info)
                }
            }
        }
        .await;
        result.map_err(|e| match e {
            Error::NotFound { .. } => Error::NotFound {
                what: format!("credential {credential_id:?} at {}", self.service),
            },
            other => other,
        })
    }

    fn certificates(
        &self,
        id: &str,
        cert: Option<&CertDescription>,
    ) -> Result<(Option<Certificate>, Vec<Certificate>)> {
        let list = cert.and_then(|c| c.certificates.as_deref()).unwrap_or_default();
        let mut decoded = Vec::with_capacity(list.len());
        for (i, c) in list.iter().enumerate() {
            let der = unb64(c)
                .ok_or_else(|| self.protocol(format!("certificate {i} of credential {id} is not base64")))?;
            decoded.push(Certificate::from_der(&der).map_err(|e| {
                self.protocol(format!("certificate {i} of credential {id} does not parse: {e}"))
            })?);
        }
        let mut it = decoded.into_iter();
        let leaf = it.next();
        Ok((leaf, it.collect()))
    }

    fn cert_status(cert: Option<&CertDescription>) -> CertificateStatus {
        match cert
            .and_then(|c| c.status.as_deref())
            .map(str::to_ascii_lowercase)
        {
            None => CertificateStatus::Unknown,
            Some(s) => match s.as_str() {
                "valid" => CertificateStatus::Valid,
                "expired" => CertificateStatus::Expired,
                "revoked" => CertificateStatus::Revoked,
                "suspended" => CertificateStatus::Suspended,
                _ => CertificateStatus::Other(sanitize(&s)),
            },
        }
    }

    fn scal(&self, id: &str, scal: &str) -> Result<Scal> {
        match scal.trim() {
            "1" | "" => Ok(Scal::One),
            "2" => Ok(Scal::Two),
            other => Err(self.protocol(format!("credential {id}: unknown SCAL {:?}", sanitize(other)))),
        }
    }

    fn key_fields(key: &KeyDescription) -> (String, Vec<String>, u32, Option<String>) {
        (
            sanitize(&key.status),
            key.algo.clone(),
            key.len,
            key.curve.clone(),
        )
    }

    fn describe_v2(&self, id: &str, info: CredentialInfo) -> Result<CredentialDescription> {
        let (certificate, chain) = self.certificates(id, info.cert.as_ref())?;
        let auth_mode = match &info.auth {
            None => AuthMode::Other(String::new()),
            Some(a) => match a.mode.to_ascii_lowercase().as_str() {
                "implicit" => AuthMode::Implicit,
                "oauth2code" => AuthMode::OAuth2Code,
                "explicit" => AuthMode::Explicit {
                    inputs: a
                        .objects
                        .as_deref()
                        .unwrap_or_default()
                        .iter()
                        .map(auth_input_v2)
                        .collect(),
                    expression: a.expression.clone(),
                },
                other => AuthMode::Other(sanitize(other)),
            },
        };
        let (key_status, key_algorithms, key_len, key_curve) = Self::key_fields(&info.key);
        Ok(CredentialDescription {
            id: id.to_owned(),
            description: info.description.as_deref().map(sanitize),
            key_status,
            key_algorithms,
            key_len,
            key_curve,
            cert_status: Self::cert_status(info.cert.as_ref()),
            certificate,
            chain,
            auth_mode,
            scal: self.scal(id, &info.scal)?,
            multisign: info.multisign.max(1),
        })
    }

    fn describe_v1(&self, id: &str, info: V1CredentialInfo) -> Result<CredentialDescription> {
        let (certificate, chain) = self.certificates(id, Some(&info.cert))?;
        let auth_mode = match info.auth_mode.to_ascii_lowercase().as_str() {
            "implicit" => AuthMode::Implicit,
            "oauth2code" => AuthMode::OAuth2Code,
            "explicit" => {
                let mut inputs = Vec::new();
                if let Some(i) = auth_input_v1(info.pin.as_ref(), AuthInputKind::Pin, "PIN") {
                    inputs.push(i);
                }
                if let Some(i) = auth_input_v1(info.otp.as_ref(), AuthInputKind::Otp, "OTP") {
                    inputs.push(i);
                }
                AuthMode::Explicit {
                    inputs,
                    expression: None,
                }
            }
            other => AuthMode::Other(sanitize(other)),
        };
        let (key_status, key_algorithms, key_len, key_curve) = Self::key_fields(&info.key);
        Ok(CredentialDescription {
            id: id.to_owned(),
            description: info.description.as_deref().map(sanitize),
            key_status,
            key_algorithms,
            key_len,
            key_curve,
            cert_status: Self::cert_status(Some(&info.cert)),
            certificate,
            chain,
            auth_mode,
            scal: self.scal(id, &info.scal)?,
            multisign: info.multisign.max(1),
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
        let hash_alg = call.hashes.map(one_hash_algorithm).transpose()?.flatten();
        let hashes = call
            .hashes
            .filter(|h| !h.is_empty())
            .map(|h| h.iter().map(|d| b64(d.as_bytes())).collect::<Vec<_>>());
        let r: AuthorizeResponse = match self.version {
            CscVersion::V2 => {
                let body = AuthorizeRequest {
                    credential_id: call.credential_id.to_owned(),
                    num_signatures: call.num_signatures,
                    hashes,
                    hash_algorithm_oid: hash_alg.map(|h| h.oid().to_string()),
                    auth_data: (!call.auth_data.is_empty()).then(|| {
                        call.auth_data
                            .iter()
                            .map(|(id, v)| AuthDataItem {
                                id: id.clone(),
                                value: v.expose().to_owned(),
                            })
                            .collect()
                    }),
                    description: call.description.map(str::to_owned),
                    client_data: None,
                };
                let r = self
                    .post_json(
                        "credentials/authorize",
                        &body,
                        RequestFlags::SENSITIVE_ONCE,
                        Bearer::Service,
                    )
                    .await;
                zeroize_auth_data(body.auth_data);
                r?
            }
            CscVersion::V1 => {
                let mut body = V1AuthorizeRequest {
                    credential_id: call.credential_id.to_owned(),
                    num_signatures: call.num_signatures,
                    hash: hashes,
                    description: call.description.map(str::to_owned),
                    ..Default::default()
                };
                for (id, value) in call.auth_data {
                    match id.to_ascii_uppercase().as_str() {
                        "PIN" => body.pin = Some(value.expose().to_owned()),
                        "OTP" => body.otp = Some(value.expose().to_owned()),
                        other => {
                            return Err(Error::unsupported(format!(
                                "authorization input {other:?} with CSC v1 (only PIN and OTP)"
                            )));
                        }
                    }
                }
                let r = self
                    .post_json(
                        "credentials/authorize",
                        &body,
                        RequestFlags::SENSITIVE_ONCE,
                        Bearer::Service,
                    )
                    .await;
                for s in [body.pin.take(), body.otp.take()].into_iter().flatten() {
                    drop(Secret::new(s));
                }
                r?
            }
        };
        self.sad_from(r, "credentials/authorize")
    }

    fn sad_from(&self, r: AuthorizeResponse, what: &str) -> Result<Sad> {
        if r.sad.is_empty() {
            return Err(self.protocol(format!("{what} returned an empty SAD")));
        }
        Ok(Sad {
            sad: Secret::new(r.sad.clone()),
            expires_in: r.expires_in.map(Duration::from_secs),
        })
    }

    /// `credentials/extendTransaction`: a fresh SAD with what is left of
    /// `sad` (which the service invalidates).
    pub async fn extend_transaction(
        &self,
        credential_id: &str,
        sad: &Secret,
        hashes: Option<&[Digest]>,
    ) -> Result<Sad> {
        let hash_alg = hashes.map(one_hash_algorithm).transpose()?.flatten();
        let encoded = hashes
            .filter(|h| !h.is_empty())
            .map(|h| h.iter().map(|d| b64(d.as_bytes())).collect::<Vec<_>>());
        let method = "credentials/extendTransaction";
        let r: AuthorizeResponse = match self.version {
            CscVersion::V2 => {
                let body = ExtendTransactionRequest {
                    credential_id: credential_id.to_owned(),
                    hashes: encoded,
                    hash_algorithm_oid: hash_alg.map(|h| h.oid().to_string()),
                    sad: sad.expose().to_owned(),
                    client_data: None,
                };
                let r = self
                    .post_json(method, &body, RequestFlags::SENSITIVE_ONCE, Bearer::Service)
                    .await;
                drop(Secret::new(body.sad));
                r?
            }
            CscVersion::V1 => {
                let body = V1ExtendTransactionRequest {
                    credential_id: credential_id.to_owned(),
                    hash: encoded,
                    hash_algo: hash_alg.map(|h| h.oid().to_string()),
                    sad: sad.expose().to_owned(),
                    client_data: None,
                };
                let r = self
                    .post_json(method, &body, RequestFlags::SENSITIVE_ONCE, Bearer::Service)
                    .await;
                drop(Secret::new(body.sad));
                r?
            }
        };
        self.sad_from(r, method)
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
        let hashes: Vec<String> = call.digests.iter().map(|d| b64(d.as_bytes())).collect();
        let params = call.algorithm.sign_algo_params.as_deref().map(b64);
        let method = "signatures/signHash";
        let (sad, bearer) = match call.activation {
            Activation::Sad(s) => (Some(s.expose().to_owned()), Bearer::Service),
            Activation::CredentialToken(t) => (None, Bearer::Credential(t)),
        };
        let reply: SignHashResponse = match self.version {
            CscVersion::V2 => {
                let body = SignHashRequest {
                    credential_id: call.credential_id.to_owned(),
                    sad,
                    hashes,
                    hash_algorithm_oid: Some(hash.oid().to_string()),
                    sign_algo: call.algorithm.sign_algo.to_string(),
                    sign_algo_params: params,
                    operation_mode: None,
                    client_data: None,
                };
                let r = self
                    .post_json(method, &body, RequestFlags::SENSITIVE_ONCE, bearer)
                    .await;
                drop(body.sad.map(Secret::new));
                r?
            }
            CscVersion::V1 => {
                // A v1 credential token travels as the bearer; the SAD field
                // is required by the v1 shape and left empty then.
                let body = V1SignHashRequest {
                    credential_id: call.credential_id.to_owned(),
                    sad: sad.unwrap_or_default(),
                    hash: hashes,
                    hash_algo: Some(hash.oid().to_string()),
                    sign_algo: call.algorithm.sign_algo.to_string(),
                    sign_algo_params: params,
                    client_data: None,
                };
                let r = self
                    .post_json(method, &body, RequestFlags::SENSITIVE_ONCE, bearer)
                    .await;
                drop(Secret::new(body.sad));
                r?
            }
        };
        if reply.signatures.len() != call.digests.len() {
            return Err(self.protocol(format!(
                "{method} returned {} signatures for {} hashes",
                reply.signatures.len(),
                call.digests.len()
            )));
        }
        reply
            .signatures
            .iter()
            .enumerate()
            .map(|(i, s)| {
                unb64(s).ok_or_else(|| self.protocol(format!("signature {i} of {method} is not base64")))
            })
            .collect()
    }

    // ---- OAuth 2.0 (the RSSP's authorization server) ----

    fn oauth_config(&self) -> Result<&OAuthClientConfig> {
        self.oauth.as_ref().ok_or_else(|| Error::Config {
            detail: format!(
                "no OAuth 2.0 client is configured for {} (needed for the oauth2code flows)",
                self.service
            ),
        })
    }

    async fn oauth_endpoint(&self, path: &str) -> Result<Url> {
        let config = self.oauth_config()?;
        let base = match &config.base_url {
            Some(b) => b.clone(),
            None => match self.info().await.ok().and_then(|i| i.oauth2.clone()) {
                Some(b) if !b.trim().is_empty() => b,
                _ => self.base.as_str().to_owned(),
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
        self.exchange(what, url, Payload::Form(&pairs), flags, credentials)
            .await?
            .map_err(|r| self.refusal_error(what, &r, Bearer::None))
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
        let r: TokenResponse = self.parse("oauth2/token", bytes)?;
        if let Some(tt) = &r.token_type {
            if !tt.eq_ignore_ascii_case("bearer") {
                return Err(self.protocol(format!("token type {:?} is not Bearer", sanitize(tt))));
            }
        }
        if r.access_token.is_empty() {
            return Err(self.protocol("oauth2/token returned an empty access token"));
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

fn zeroize_auth_data(items: Option<Vec<AuthDataItem>>) {
    for item in items.into_iter().flatten() {
        drop(Secret::new(item.value));
    }
}

fn auth_input_v2(o: &AuthObject) -> AuthInput {
    let kind = match o.kind.to_ascii_lowercase().as_str() {
        "password" | "pin" => AuthInputKind::Pin,
        "otp" => AuthInputKind::Otp,
        other => AuthInputKind::Other(sanitize(other)),
    };
    let id = o.id.clone().unwrap_or_else(|| match &kind {
        AuthInputKind::Pin => "PIN".into(),
        AuthInputKind::Otp => "OTP".into(),
        AuthInputKind::Other(k) => k.clone(),
    });
    AuthInput {
        kind,
        id,
        format: o.format.clone(),
        label: o.label.as_deref().map(sanitize),
        description: o.description.as_deref().map(sanitize),
        optional: false,
    }
}

fn auth_input_v1(i: Option<&V1AuthInput>, kind: AuthInputKind, id: &str) -> Option<AuthInput> {
    let i = i?;
    let optional = match i.presence.to_ascii_lowercase().as_str() {
        "true" => false,
        "optional" => true,
        _ => return None,
    };
    Some(AuthInput {
        kind,
        id: id.to_owned(),
        format: i.format.clone(),
        label: i.label.as_deref().map(sanitize),
        description: i.description.as_deref().map(sanitize),
        optional,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_to_version() {
        assert_eq!(version_from_specs("1.0.4.0").unwrap(), CscVersion::V1);
        assert_eq!(version_from_specs("2.0.0.2").unwrap(), CscVersion::V2);
        assert_eq!(version_from_specs("2.1").unwrap(), CscVersion::V2);
        assert!(matches!(
            version_from_specs("3.0"),
            Err(Error::Unsupported { .. })
        ));
    }

    #[test]
    fn sign_algo_mapping() {
        use HashAlgorithm::*;
        use SignatureScheme::*;
        let rsa_all: Vec<String> = [
            oid::SHA256_WITH_RSA,
            oid::SHA384_WITH_RSA,
            oid::RSA_ENCRYPTION,
            oid::RSASSA_PSS,
        ]
        .iter()
        .map(|o| o.to_string())
        .collect();
        let a = CscSignAlgorithm::new(SignatureAlgorithm::new(RsaPkcs1v15, Sha256), &rsa_all).unwrap();
        assert_eq!(a.sign_algo, oid::SHA256_WITH_RSA);
        assert!(a.sign_algo_params.is_none());
        // SHA-512 is not listed by name: rsaEncryption plus hashAlgorithmOID.
        let a = CscSignAlgorithm::new(SignatureAlgorithm::new(RsaPkcs1v15, Sha512), &rsa_all).unwrap();
        assert_eq!(a.sign_algo, oid::RSA_ENCRYPTION);
        let a = CscSignAlgorithm::new(SignatureAlgorithm::new(RsaPss, Sha384), &rsa_all).unwrap();
        assert_eq!(a.sign_algo, oid::RSASSA_PSS);
        assert!(a.sign_algo_params.is_some());
        let ec = vec![oid::ECDSA_SHA256.to_string()];
        assert!(matches!(
            CscSignAlgorithm::new(SignatureAlgorithm::new(RsaPss, Sha256), &ec),
            Err(Error::Unsupported { .. })
        ));
        assert_eq!(
            CscSignAlgorithm::new(SignatureAlgorithm::new(Ecdsa, Sha256), &ec)
                .unwrap()
                .sign_algo,
            oid::ECDSA_SHA256
        );
        // Nothing listed: assume the specific OID.
        assert_eq!(
            CscSignAlgorithm::new(SignatureAlgorithm::new(Ecdsa, Sha384), &[])
                .unwrap()
                .sign_algo,
            oid::ECDSA_SHA384
        );
    }

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
