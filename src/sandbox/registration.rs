//! The sandbox OpenID provider's client registration and the behaviour
//! real providers differ in: which redirect URIs it accepts (registered
//! ones exactly, as GビズID, or any loopback port per RFC 8252), how the
//! client authenticates at the token endpoint (RFC 6749 §2.3.1), how a
//! refresh token is refused.

use axum::http::{HeaderMap, StatusCode};

use super::api::{ApiError, ApiResult, basic, secret_eq};
use super::core::Shared;
use super::oidc::Door;
use super::state::CLIENT_ID;
use crate::profile::ClientAuthMethod;
use crate::secret::Secret;

/// Which redirect URIs the OpenID provider (`/oauth/`) accepts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedirectUriPolicy {
    /// Only the registered URIs, compared as exact strings, as GビズID
    /// does (the default).
    #[default]
    Registered,
    /// A registered loopback URI with any port (RFC 8252 §7.3): scheme,
    /// host and path must match a registered one, the port may differ.
    AnyLoopbackPort,
}

/// How the OpenID provider refuses a refresh token it does not accept
/// (used, revoked, expired, unknown): real providers differ.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefreshRefusal {
    /// `400 {"error":"invalid_grant"}` (RFC 6749 §5.2; the default).
    #[default]
    InvalidGrant,
    /// `400 {"error":"invalid_token"}`.
    InvalidToken400,
    /// `401 {"error":"invalid_token"}`.
    InvalidToken401,
    /// `401` with an empty body.
    Bare401,
}

/// How the sandbox's GビズID-style OpenID provider behaves where real
/// providers differ ([`super::SandboxConfig::openid`]).
#[derive(Clone, Debug)]
pub struct OpenIdSettings {
    /// Which redirect URIs `authorize` accepts.
    pub redirect_policy: RedirectUriPolicy,
    /// Registered redirect URIs besides the CLI's (and those added with
    /// [`super::Sandbox::register_redirect_uri`]).
    pub redirect_uris: Vec<String>,
    /// The redirect URI registered for the `sandbox` profile (handed over
    /// in `endpoints.toml`); `None`: `http://127.0.0.1:PORT/crpki/callback`
    /// with a port free when the sandbox starts.
    pub cli_redirect_uri: Option<String>,
    /// The client secret, instead of the one in the state directory.
    pub client_secret: Option<Secret>,
    /// The client authentication methods the token endpoint accepts (and
    /// discovery announces). Default: `client_secret_basic`, as GビズID.
    pub token_endpoint_auth_methods: Vec<ClientAuthMethod>,
    /// How a refresh token is refused.
    pub refresh_refusal: RefreshRefusal,
    /// Quote the refused token in `error_description`, as some providers
    /// do (clients must not show it).
    pub quote_tokens_in_errors: bool,
}

impl Default for OpenIdSettings {
    fn default() -> Self {
        Self {
            redirect_policy: RedirectUriPolicy::Registered,
            redirect_uris: Vec::new(),
            cli_redirect_uri: None,
            client_secret: None,
            token_endpoint_auth_methods: vec![ClientAuthMethod::ClientSecretBasic],
            refresh_refusal: RefreshRefusal::InvalidGrant,
            quote_tokens_in_errors: false,
        }
    }
}

/// Whether `uri` may receive a code from `door`. The OpenID provider
/// follows [`OpenIdSettings::redirect_policy`] over the registered list;
/// the CSC authorization servers accept any loopback redirect (any port,
/// any path) as well as the registered ones.
pub(crate) fn redirect_allowed(shared: &Shared, door: Door, uri: &str) -> bool {
    let registered = shared.lock_redirects().clone();
    if registered.iter().any(|r| r == uri) {
        return true;
    }
    let Ok(url) = reqwest::Url::parse(uri) else {
        return false;
    };
    let loopback = url.scheme() == "http"
        && matches!(
            url.host_str(),
            Some("127.0.0.1") | Some("[::1]") | Some("localhost")
        )
        && url.fragment().is_none();
    match (door, shared.openid.redirect_policy) {
        (Door::CscV1 | Door::CscV2, _) => loopback,
        (Door::Oidc, RedirectUriPolicy::Registered) => false,
        (Door::Oidc, RedirectUriPolicy::AnyLoopbackPort) => {
            let ip_literal = matches!(url.host_str(), Some("127.0.0.1") | Some("[::1]"));
            loopback
                && ip_literal
                && registered
                    .iter()
                    .filter_map(|r| reqwest::Url::parse(r).ok())
                    .any(|r| {
                        r.scheme() == url.scheme()
                            && r.host_str() == url.host_str()
                            && r.path() == url.path()
                            && r.query() == url.query()
                    })
        }
    }
}

/// Client authentication (RFC 6749 §2.3.1): `client_secret_basic` where
/// `allow_basic`, `client_secret_post` where `allow_post`.
pub(crate) fn client_auth(
    shared: &Shared,
    headers: &HeaderMap,
    form: (Option<&str>, Option<&str>),
    allow_basic: bool,
    allow_post: bool,
) -> ApiResult<()> {
    let (id, secret) = match basic(headers) {
        // Basic credentials are form-urlencoded first, then joined by `:`
        // (so the first `:` separates them).
        Some((id, secret)) if allow_basic => (decode_form_component(&id), decode_form_component(&secret)),
        // Form fields were decoded with the rest of the body.
        None if allow_post => (
            form.0.unwrap_or_default().to_owned(),
            form.1.unwrap_or_default().to_owned(),
        ),
        _ => return Err(ApiError::invalid_client()),
    };
    if id == CLIENT_ID && secret_eq(&secret, &shared.client_secret) {
        Ok(())
    } else {
        Err(ApiError::invalid_client())
    }
}

fn decode_form_component(s: &str) -> String {
    reqwest::Url::parse(&format!("http://x/?v={s}"))
        .ok()
        .and_then(|u| u.query_pairs().next().map(|(_, v)| v.into_owned()))
        .unwrap_or_else(|| s.to_string())
}

/// A refused refresh token, the way [`OpenIdSettings::refresh_refusal`]
/// says at the OpenID door (the CSC doors always answer `invalid_grant`).
pub(crate) fn refresh_refused(shared: &Shared, door: Door, token: &str, why: &str) -> ApiError {
    let settings = &shared.openid;
    let description = if settings.quote_tokens_in_errors {
        format!("The refresh token {token} {why}")
    } else {
        format!("The refresh token {why}")
    };
    if door != Door::Oidc {
        return ApiError::invalid_grant(description);
    }
    match settings.refresh_refusal {
        RefreshRefusal::InvalidGrant => ApiError::invalid_grant(description),
        RefreshRefusal::InvalidToken400 => {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_token", description)
        }
        RefreshRefusal::InvalidToken401 => ApiError::invalid_token(description),
        // An empty code: `token` answers the bare status.
        RefreshRefusal::Bare401 => ApiError::new(StatusCode::UNAUTHORIZED, "", description),
    }
}
