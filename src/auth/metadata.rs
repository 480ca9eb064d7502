//! What an OpenID provider says about itself and its users: the discovery
//! document, the ID token's claims, and the choice of client
//! authentication from what discovery lists.

use serde::{Deserialize, Deserializer};

use crate::error::{Error, Result};
use crate::http::sanitize;
use crate::profile::ClientAuthMethod;

/// The discovery document (`/.well-known/openid-configuration`), the
/// fields crpki uses.
#[derive(Clone, Debug, Deserialize)]
pub struct ProviderMetadata {
    /// The issuer; equal to the configured one.
    pub issuer: String,
    /// Authorization endpoint.
    pub authorization_endpoint: String,
    /// Token endpoint.
    pub token_endpoint: String,
    /// JWKS with the ID-token signing keys.
    pub jwks_uri: String,
    /// UserInfo endpoint.
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    /// Token revocation endpoint (RFC 7009).
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    /// Supported scopes.
    #[serde(default)]
    pub scopes_supported: Option<Vec<String>>,
    /// Supported PKCE methods.
    #[serde(default)]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// Supported ID-token signature algorithms.
    #[serde(default)]
    pub id_token_signing_alg_values_supported: Option<Vec<String>>,
    /// Supported client authentication methods at the token endpoint.
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
}

/// The discovery URL of an issuer: `/.well-known/openid-configuration`
/// appended to the issuer string (so GビズID's `https://…/oauth/` gives
/// `https://…/oauth/.well-known/openid-configuration`).
pub fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

/// The verified claims of an ID token.
#[derive(Clone, Debug, Deserialize)]
pub struct IdTokenClaims {
    /// Issuer.
    pub iss: String,
    /// Subject: the GビズID account's stable identifier.
    pub sub: String,
    /// Audiences.
    #[serde(deserialize_with = "one_or_many")]
    pub aud: Vec<String>,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Issue time, seconds since the epoch.
    #[serde(default)]
    pub iat: Option<u64>,
    /// When the user authenticated.
    #[serde(default)]
    pub auth_time: Option<u64>,
    /// The nonce of the authorization request.
    #[serde(default)]
    pub nonce: Option<String>,
    /// Token id.
    #[serde(default)]
    pub jti: Option<String>,
    /// Authorized party.
    #[serde(default)]
    pub azp: Option<String>,
}

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

/// The client authentication to use with this provider: the configured
/// method if the discovery document does not exclude it; else
/// `client_secret_basic` (the default of OpenID Connect Discovery when
/// the document names none), else `client_secret_post`.
pub(crate) fn choose_client_auth(
    service: &str,
    configured: Option<ClientAuthMethod>,
    meta: &ProviderMetadata,
) -> Result<ClientAuthMethod> {
    let listed = |m: ClientAuthMethod| {
        meta.token_endpoint_auth_methods_supported
            .as_ref()
            .is_none_or(|l| l.iter().any(|x| x == m.as_str()))
    };
    match configured {
        Some(m) if listed(m) => Ok(m),
        Some(m) => Err(Error::unsupported(format!(
            "{service} does not accept {} (its discovery document lists {}); change the profile's \
             client authentication",
            m.as_str(),
            meta.token_endpoint_auth_methods_supported
                .as_deref()
                .unwrap_or_default()
                .iter()
                .map(|s| sanitize(s))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
        None => [
            ClientAuthMethod::ClientSecretBasic,
            ClientAuthMethod::ClientSecretPost,
        ]
        .into_iter()
        .find(|m| listed(*m))
        .ok_or_else(|| {
            Error::unsupported(format!(
                "{service} accepts neither client_secret_basic nor client_secret_post"
            ))
        }),
    }
}
