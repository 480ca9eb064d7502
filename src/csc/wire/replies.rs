//! The client's reading of CSC replies, on bytes: what
//! [`CscClient`](crate::csc::CscClient) does with a reply body once the HTTP
//! exchange is over. Each function is the one the client calls, public so
//! that the fuzz targets (`fuzz/`) and tests reach exactly that code
//! without a server.
//!
//! `service` names the RSSP in errors (the client passes `RSSP host:port`).

use super::v2::{AuthorizeResponse, CredentialsListResponse, ErrorBody, InfoResponse, TokenResponse};
use super::{for_version, parse, protocol, unb64};
use crate::csc::model::{CredentialDescription, Sad};
use crate::csc::{CscVersion, ServiceToken};
use crate::error::{Error, Result};

/// An `info` reply.
pub fn info(service: &str, bytes: &[u8]) -> Result<InfoResponse> {
    parse(service, "info", bytes)
}

/// An `auth/login` reply.
pub fn token(service: &str, bytes: &[u8]) -> Result<ServiceToken> {
    let reply: TokenResponse = parse(service, "auth/login", bytes)?;
    Ok(ServiceToken::from_response(reply))
}

/// A `credentials/list` reply.
pub fn credentials_list(service: &str, bytes: &[u8]) -> Result<CredentialsListResponse> {
    parse(service, "credentials/list", bytes)
}

/// A `credentials/list` reply asked with `credentialInfo`: the
/// descriptions when it carries one per credential, else the ids.
pub fn listed_descriptions(
    service: &str,
    bytes: &[u8],
) -> Result<std::result::Result<Vec<CredentialDescription>, Vec<String>>> {
    super::v2::listed_descriptions(service, credentials_list(service, bytes)?)
}

/// A `credentials/info` reply about credential `id`, in the shape of
/// `version`.
pub fn credential_info(
    version: CscVersion,
    service: &str,
    id: &str,
    bytes: &[u8],
) -> Result<CredentialDescription> {
    for_version(version).describe(service, id, bytes)
}

/// A `credentials/authorize` or `credentials/extendTransaction` reply
/// (`method`): an empty SAD is [`Error::Protocol`].
pub fn sad(service: &str, method: &str, bytes: &[u8]) -> Result<Sad> {
    let reply: AuthorizeResponse = parse(service, method, bytes)?;
    if reply.sad.is_empty() {
        return Err(protocol(service, format!("{method} returned an empty SAD")));
    }
    Ok(Sad {
        sad: reply.sad,
        expires_in: reply.expires_in.map(std::time::Duration::from_secs),
    })
}

/// A `signatures/signHash` reply to `expected` hashes: the signatures,
/// decoded, in order. Another count, or one that is not base64, is
/// [`Error::Protocol`]. Each signature is decoded as the reply is read,
/// with no string per signature in between (a 1,000-signature reply is
/// held once, as bytes, not three times).
pub fn signatures(service: &str, bytes: &[u8], expected: usize) -> Result<Vec<Vec<u8>>> {
    let method = "signatures/signHash";
    let reply: DecodedSignHash = parse(service, method, bytes)?;
    if reply.signatures.len() != expected {
        return Err(protocol(
            service,
            format!(
                "{method} returned {} signatures for {expected} hashes",
                reply.signatures.len()
            ),
        ));
    }
    reply
        .signatures
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            s.0.ok_or_else(|| protocol(service, format!("signature {i} of {method} is not base64")))
        })
        .collect()
}

/// The part of a `signatures/signHash` reply the client reads.
#[derive(serde::Deserialize)]
struct DecodedSignHash {
    signatures: Vec<Decoded>,
}

/// One signature, decoded from base64 while the reply is parsed; `None`
/// when it is not base64 (reported with its index).
struct Decoded(Option<Vec<u8>>);

impl<'de> serde::Deserialize<'de> for Decoded {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Base64;
        impl serde::de::Visitor<'_> for Base64 {
            type Value = Decoded;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a base64 signature")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> std::result::Result<Decoded, E> {
                Ok(Decoded(unb64(s)))
            }
        }
        d.deserialize_str(Base64)
    }
}

/// The error body of a refused request, if it is one.
pub fn error_body(bytes: &[u8]) -> Option<ErrorBody> {
    serde_json::from_slice(bytes).ok()
}

/// The error a refusal of `method` with HTTP `status` and body `bytes`
/// is ([`crate::csc::error_from_reply`]).
pub fn refusal(service: &str, method: &str, status: u16, bytes: &[u8]) -> Error {
    crate::csc::errors::reply_error(service, method, status, error_body(bytes).as_ref(), bytes)
}
