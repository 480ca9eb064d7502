//! The JSON bodies of the Cloud Signature Consortium API v2, as they travel
//! on the wire: one request and one response type per method (v1.0.4.0
//! shares those whose shape is the same; the others are in `v1`), plus the
//! common error body.
//!
//! Field names follow the specification exactly (`credentialID`, `SAD`,
//! `hashAlgorithmOID`, …) through serde renames. Optional fields are
//! `Option` and are left out of the JSON when `None`, because several RSSPs
//! reject `null` where the specification says "optional". Hashes and
//! certificates are base64 strings, as the specification sends them; the
//! types do not decode them, so that the client and the sandbox decide how
//! strict to be.
//!
//! Both the sandbox server and the CSC client use these types. Fields that
//! hold secrets (SAD, PIN/OTP values, tokens) are [`Secret`]s: redacted in
//! `Debug`, wiped on drop.

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// The error body every CSC method and OAuth endpoint returns with a 4xx/5xx status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error code (`invalid_request`, `invalid_token`, `expired_token`, …).
    pub error: String,
    /// A human-readable description (often the only way to tell two
    /// `invalid_request` errors apart, e.g. "SAD expired").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

/// `info` request (both versions).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InfoRequest {
    /// Preferred language of the response (RFC 5646, e.g. `ja-JP`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

/// Signature algorithms an RSSP supports (v2 `info.signAlgorithms`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignAlgorithms {
    /// Signature algorithm OIDs.
    pub algos: Vec<String>,
    /// Base64 DER parameters, one per algorithm (empty string when none).
    #[serde(default, rename = "algoParams", skip_serializing_if = "Option::is_none")]
    pub algo_params: Option<Vec<String>>,
}

/// `info` response (v2; v1 services send a subset of the same fields).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InfoResponse {
    /// The specification version implemented (`"2.0.0.2"`, `"1.0.4.0"`).
    pub specs: String,
    /// The service's name.
    pub name: String,
    /// URI of the service's logo.
    pub logo: String,
    /// ISO 3166-1 country code of the service.
    pub region: String,
    /// Language of the response.
    pub lang: String,
    /// Description of the service.
    pub description: String,
    /// Supported service authorization types (`basic`, `oauth2code`, `external`, …).
    #[serde(rename = "authType")]
    pub auth_type: Vec<String>,
    /// Base URI of the OAuth 2.0 authorization server, when `oauth2code` is supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<String>,
    /// v2: issuer of the OAuth 2.0 authorization server metadata.
    #[serde(default, rename = "oauth2Issuer", skip_serializing_if = "Option::is_none")]
    pub oauth2_issuer: Option<String>,
    /// v2: whether asynchronous operation mode is supported.
    #[serde(
        default,
        rename = "asynchronousOperationMode",
        skip_serializing_if = "Option::is_none"
    )]
    pub asynchronous_operation_mode: Option<bool>,
    /// The method names implemented (`auth/login`, `credentials/list`, …).
    pub methods: Vec<String>,
    /// v2: whether `signDoc` returns validation info.
    #[serde(default, rename = "validationInfo", skip_serializing_if = "Option::is_none")]
    pub validation_info: Option<bool>,
    /// v2: supported signature algorithms.
    #[serde(default, rename = "signAlgorithms", skip_serializing_if = "Option::is_none")]
    pub sign_algorithms: Option<SignAlgorithms>,
}

/// `auth/login` request (both versions). The user's credentials travel in
/// an `Authorization: Basic` header.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRequest {
    /// Ask for a refresh token.
    #[serde(default, rename = "rememberMe", skip_serializing_if = "Option::is_none")]
    pub remember_me: Option<bool>,
    /// v1: a refresh token to exchange for a new access token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
    /// Opaque data for the service.
    #[serde(default, rename = "clientData", skip_serializing_if = "Option::is_none")]
    pub client_data: Option<String>,
}

/// `auth/login` response, also the shape of `oauth2/token` responses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: Secret,
    /// A refresh token, when one was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
    /// Always `Bearer` where the method defines it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// Lifetime of the access token in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// OpenID Connect: the ID token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<Secret>,
    /// The granted scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// CSC `credential` scope: the credential the token authorizes.
    #[serde(default, rename = "credentialID", skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
}

/// `auth/revoke` request (both versions).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeRequest {
    /// The token to revoke.
    pub token: Secret,
    /// `access_token` or `refresh_token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type_hint: Option<String>,
    /// Opaque data for the service.
    #[serde(default, rename = "clientData", skip_serializing_if = "Option::is_none")]
    pub client_data: Option<String>,
}

/// `credentials/list` request (both versions; v1 knows only the first fields).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialsListRequest {
    /// The user whose credentials to list (only when the service
    /// authorization is not user-specific).
    #[serde(default, rename = "userID", skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// v2: also return the information of each credential.
    #[serde(default, rename = "credentialInfo", skip_serializing_if = "Option::is_none")]
    pub credential_info: Option<bool>,
    /// v2: `none`, `single` or `chain`, for `credentialInfos`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificates: Option<String>,
    /// v2: return certificate details in `credentialInfos`.
    #[serde(default, rename = "certInfo", skip_serializing_if = "Option::is_none")]
    pub cert_info: Option<bool>,
    /// v2: return authorization details in `credentialInfos`.
    #[serde(default, rename = "authInfo", skip_serializing_if = "Option::is_none")]
    pub auth_info: Option<bool>,
    /// v2: list only credentials with a valid certificate and an enabled key.
    #[serde(default, rename = "onlyValid", skip_serializing_if = "Option::is_none")]
    pub only_valid: Option<bool>,
    /// Preferred language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// v1: maximum number of items per page.
    #[serde(default, rename = "maxResults", skip_serializing_if = "Option::is_none")]
    pub max_results: Option<u32>,
    /// v1: page token from a previous response.
    #[serde(default, rename = "pageToken", skip_serializing_if = "Option::is_none")]
    pub page_token: Option<String>,
    /// Opaque data for the service.
    #[serde(default, rename = "clientData", skip_serializing_if = "Option::is_none")]
    pub client_data: Option<String>,
}

/// `credentials/list` response.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialsListResponse {
    /// The credential identifiers.
    #[serde(rename = "credentialIDs")]
    pub credential_ids: Vec<String>,
    /// v2: the information of each credential, when asked for.
    #[serde(default, rename = "credentialInfos", skip_serializing_if = "Option::is_none")]
    pub credential_infos: Option<Vec<CredentialInfo>>,
    /// v2: whether the list holds only valid credentials.
    #[serde(default, rename = "onlyValid", skip_serializing_if = "Option::is_none")]
    pub only_valid: Option<bool>,
    /// v1: token of the next page.
    #[serde(default, rename = "nextPageToken", skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// `credentials/info` request (both versions).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialsInfoRequest {
    /// The credential.
    #[serde(rename = "credentialID")]
    pub credential_id: String,
    /// `none`, `single` (default) or `chain`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificates: Option<String>,
    /// Return certificate details.
    #[serde(default, rename = "certInfo", skip_serializing_if = "Option::is_none")]
    pub cert_info: Option<bool>,
    /// Return authorization details.
    #[serde(default, rename = "authInfo", skip_serializing_if = "Option::is_none")]
    pub auth_info: Option<bool>,
    /// Preferred language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// Opaque data for the service.
    #[serde(default, rename = "clientData", skip_serializing_if = "Option::is_none")]
    pub client_data: Option<String>,
}

/// The key of a credential.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyDescription {
    /// `enabled` or `disabled`.
    pub status: String,
    /// The signature algorithm OIDs the key supports.
    pub algo: Vec<String>,
    /// Key length in bits.
    pub len: u32,
    /// For EC keys, the curve OID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curve: Option<String>,
}

/// The certificate of a credential.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertDescription {
    /// `valid`, `expired`, `revoked` or `suspended`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Base64 DER certificates: the signing certificate first, then its issuers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificates: Option<Vec<String>>,
    /// Issuer distinguished name.
    #[serde(default, rename = "issuerDN", skip_serializing_if = "Option::is_none")]
    pub issuer_dn: Option<String>,
    /// Serial number, hex.
    #[serde(default, rename = "serialNumber", skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    /// Subject distinguished name.
    #[serde(default, rename = "subjectDN", skip_serializing_if = "Option::is_none")]
    pub subject_dn: Option<String>,
    /// Start of validity, `YYYYMMDDHHMMSSZ`.
    #[serde(default, rename = "validFrom", skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
    /// End of validity, `YYYYMMDDHHMMSSZ`.
    #[serde(default, rename = "validTo", skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<String>,
}

/// One input the user must provide to authorize a credential (v2 `auth.objects`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthObject {
    /// `Password`, `Otp`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// The identifier to use in `authData` (`PIN`, `OTP`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `A` (alphanumeric) or `N` (numeric).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// A label for the input field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// A description of the input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// How a credential is authorized (v2 `auth`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthDescription {
    /// `implicit`, `explicit` or `oauth2code`.
    pub mode: String,
    /// For `explicit`: how the objects combine (e.g. `PIN AND OTP`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    /// For `explicit`: what the user must provide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objects: Option<Vec<AuthObject>>,
}

/// `credentials/info` response (v2), also an item of `credentialInfos`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialInfo {
    /// The credential (only inside `credentialInfos`).
    #[serde(default, rename = "credentialID", skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
    /// A description of the credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The key.
    pub key: KeyDescription,
    /// The certificate, unless `certificates` was `none` and `certInfo` false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<CertDescription>,
    /// How to authorize it, when `authInfo` was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthDescription>,
    /// Sole Control Assurance Level: `"1"` or `"2"` (SCAL 2 binds the
    /// authorization to the exact hashes). Read from a JSON string or
    /// number, as services send either; missing is the specification's
    /// default, `"1"`.
    #[serde(rename = "SCAL", default, deserialize_with = "scal_text")]
    pub scal: String,
    /// Maximum number of signatures per authorization (missing: 1).
    #[serde(default = "one")]
    pub multisign: u32,
    /// Language of the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

/// `multisign` when a service leaves it out: one signature per
/// authorization, which every service supports.
pub(crate) fn one() -> u32 {
    1
}

/// `SCAL` as a string, read from a JSON string or number (`"2"` or `2`).
pub(crate) fn scal_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scal {
        Text(String),
        Number(u64),
    }
    Ok(match Scal::deserialize(d)? {
        Scal::Text(t) => t,
        Scal::Number(n) => n.to_string(),
    })
}

/// One item of v2 `authData`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthDataItem {
    /// The object's identifier (`PIN`, `OTP`).
    pub id: String,
    /// The value.
    pub value: Secret,
}

/// `credentials/authorize` request (v2).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizeRequest {
    /// The credential.
    #[serde(rename = "credentialID")]
    pub credential_id: String,
    /// How many signatures the SAD will allow.
    #[serde(rename = "numSignatures")]
    pub num_signatures: u32,
    /// Base64 hashes to bind the SAD to (required for SCAL 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashes: Option<Vec<String>>,
    /// OID of the hash algorithm of `hashes`.
    #[serde(default, rename = "hashAlgorithmOID", skip_serializing_if = "Option::is_none")]
    pub hash_algorithm_oid: Option<String>,
    /// PIN/OTP values for explicit authorization.
    #[serde(default, rename = "authData", skip_serializing_if = "Option::is_none")]
    pub auth_data: Option<Vec<AuthDataItem>>,
    /// A description of the operation, shown to the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Opaque data for the service.
    #[serde(default, rename = "clientData", skip_serializing_if = "Option::is_none")]
    pub client_data: Option<String>,
}

/// `credentials/authorize` and `credentials/extendTransaction` response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizeResponse {
    /// The Signature Activation Data.
    #[serde(rename = "SAD")]
    pub sad: Secret,
    /// Lifetime of the SAD in seconds.
    #[serde(default, rename = "expiresIn", skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
}

/// `credentials/extendTransaction` request (v2; v1 sends `hash` instead of `hashes`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtendTransactionRequest {
    /// The credential.
    #[serde(rename = "credentialID")]
    pub credential_id: String,
    /// The hashes the SAD is bound to (SCAL 2).
    #[serde(default, alias = "hash", skip_serializing_if = "Option::is_none")]
    pub hashes: Option<Vec<String>>,
    /// OID of the hash algorithm.
    #[serde(default, rename = "hashAlgorithmOID", skip_serializing_if = "Option::is_none")]
    pub hash_algorithm_oid: Option<String>,
    /// The SAD to extend.
    #[serde(rename = "SAD")]
    pub sad: Secret,
    /// Opaque data for the service.
    #[serde(default, rename = "clientData", skip_serializing_if = "Option::is_none")]
    pub client_data: Option<String>,
}

/// `signatures/signHash` request (v2).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignHashRequest {
    /// The credential.
    #[serde(rename = "credentialID")]
    pub credential_id: String,
    /// The SAD from `credentials/authorize` (absent when a `credential`-scope
    /// access token authorizes the call).
    #[serde(default, rename = "SAD", skip_serializing_if = "Option::is_none")]
    pub sad: Option<Secret>,
    /// Base64 hashes to sign.
    pub hashes: Vec<String>,
    /// OID of the hash algorithm (required when `signAlgo` does not name it).
    #[serde(default, rename = "hashAlgorithmOID", skip_serializing_if = "Option::is_none")]
    pub hash_algorithm_oid: Option<String>,
    /// Signature algorithm OID.
    #[serde(rename = "signAlgo")]
    pub sign_algo: String,
    /// Base64 DER parameters of the signature algorithm (RSASSA-PSS).
    #[serde(default, rename = "signAlgoParams", skip_serializing_if = "Option::is_none")]
    pub sign_algo_params: Option<String>,
    /// `S` (synchronous, default) or `A`.
    #[serde(default, rename = "operationMode", skip_serializing_if = "Option::is_none")]
    pub operation_mode: Option<String>,
    /// Opaque data for the service.
    #[serde(default, rename = "clientData", skip_serializing_if = "Option::is_none")]
    pub client_data: Option<String>,
}

impl std::fmt::Debug for SignHashRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignHashRequest")
            .field("credential_id", &self.credential_id)
            .field("hashes", &self.hashes.len())
            .field("hash_algorithm_oid", &self.hash_algorithm_oid)
            .field("sign_algo", &self.sign_algo)
            .finish_non_exhaustive()
    }
}

/// `signatures/signHash` response (both versions).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignHashResponse {
    /// Base64 signatures, in the order of the hashes.
    pub signatures: Vec<String>,
    /// v2 asynchronous mode: the transaction to poll.
    #[serde(default, rename = "responseID", skip_serializing_if = "Option::is_none")]
    pub response_id: Option<String>,
}

/// One document digest of a v2 `credential` authorization detail.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentDigest {
    /// Base64 hash.
    pub hash: String,
    /// A label shown to the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// A v2 `authorization_details` entry of type `credential` (RFC 9396 style).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialAuthorizationDetails {
    /// Always `credential`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The credential.
    #[serde(rename = "credentialID")]
    pub credential_id: String,
    /// The digests to sign.
    #[serde(rename = "documentDigests")]
    pub document_digests: Vec<DocumentDigest>,
    /// OID of the hash algorithm.
    #[serde(rename = "hashAlgorithmOID")]
    pub hash_algorithm_oid: String,
}

/// The client's adapter for CSC v2.
#[cfg(feature = "remote")]
#[derive(Debug)]
pub(crate) struct V2;

#[cfg(feature = "remote")]
mod adapter {
    use super::*;
    use crate::csc::CscVersion;
    use crate::csc::model::{
        Activation, AuthInput, AuthInputKind, AuthMode, AuthorizeCall, CredentialDescription, SignHashCall,
    };
    use crate::csc::wire::{Json, Wire, b64, cert_status, certificates, encode_hashes, parse, scal};
    use crate::error::Result;
    use crate::http::sanitize;
    use crate::signer::{Digest, HashAlgorithm};

    /// The v2 `credentials/authorize` request for `call`.
    pub(crate) fn authorize_request(call: &AuthorizeCall<'_>) -> Result<AuthorizeRequest> {
        let (hashes, hash) = encode_hashes(call.hashes)?;
        Ok(AuthorizeRequest {
            credential_id: call.credential_id.to_owned(),
            num_signatures: call.num_signatures,
            hashes,
            hash_algorithm_oid: hash.map(|h| h.oid().to_string()),
            auth_data: (!call.auth_data.is_empty()).then(|| {
                call.auth_data
                    .iter()
                    .map(|(id, value)| AuthDataItem {
                        id: id.clone(),
                        value: value.clone(),
                    })
                    .collect()
            }),
            description: call.description.map(str::to_owned),
            client_data: None,
        })
    }

    /// The v2 `credentials/extendTransaction` request.
    pub(crate) fn extend_request(
        credential_id: &str,
        sad: &Secret,
        hashes: Option<&[Digest]>,
    ) -> Result<ExtendTransactionRequest> {
        let (hashes, hash) = encode_hashes(hashes)?;
        Ok(ExtendTransactionRequest {
            credential_id: credential_id.to_owned(),
            hashes,
            hash_algorithm_oid: hash.map(|h| h.oid().to_string()),
            sad: sad.clone(),
            client_data: None,
        })
    }

    /// The v2 `signatures/signHash` request (the digests already checked to
    /// be of the algorithm's hash).
    pub(crate) fn sign_hash_request(call: &SignHashCall<'_>) -> SignHashRequest {
        SignHashRequest {
            credential_id: call.credential_id.to_owned(),
            sad: match call.activation {
                Activation::Sad(s) => Some(s.clone()),
                Activation::CredentialToken(_) => None,
            },
            hashes: call.digests.iter().map(|d| b64(d.as_bytes())).collect(),
            hash_algorithm_oid: Some(call.algorithm.algorithm.hash.oid().to_string()),
            sign_algo: call.algorithm.sign_algo.to_string(),
            sign_algo_params: call.algorithm.sign_algo_params.as_deref().map(b64),
            operation_mode: None,
            client_data: None,
        }
    }

    /// The descriptions a `credentials/list` reply carries, when it carries
    /// one for each credential.
    pub(crate) fn listed_descriptions(
        service: &str,
        reply: CredentialsListResponse,
    ) -> Result<std::result::Result<Vec<CredentialDescription>, Vec<String>>> {
        match reply.credential_infos {
            Some(infos) if infos.len() == reply.credential_ids.len() => reply
                .credential_ids
                .iter()
                .zip(infos)
                .map(|(id, info)| {
                    let id = info.credential_id.clone().unwrap_or_else(|| id.clone());
                    describe(service, &id, info)
                })
                .collect::<Result<_>>()
                .map(Ok),
            _ => Ok(Err(reply.credential_ids)),
        }
    }

    fn auth_input(o: &AuthObject) -> AuthInput {
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

    /// A `credentials/info` reply (or an item of `credentialInfos`) as the model.
    pub(crate) fn describe(service: &str, id: &str, info: CredentialInfo) -> Result<CredentialDescription> {
        let (certificate, chain) = certificates(service, id, info.cert.as_ref())?;
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
                        .map(auth_input)
                        .collect(),
                    expression: a.expression.clone(),
                },
                other => AuthMode::Other(sanitize(other)),
            },
        };
        Ok(CredentialDescription {
            id: id.to_owned(),
            description: info.description.as_deref().map(sanitize),
            key_status: sanitize(&info.key.status),
            key_algorithms: info.key.algo,
            key_len: info.key.len,
            key_curve: info.key.curve,
            cert_status: cert_status(info.cert.as_ref()),
            certificate,
            chain,
            auth_mode,
            scal: scal(service, id, &info.scal)?,
            multisign: info.multisign.max(1),
        })
    }

    impl Wire for V2 {
        fn version(&self) -> CscVersion {
            CscVersion::V2
        }

        fn pages_credential_list(&self) -> bool {
            false
        }

        fn list_with_infos(&self) -> Option<CredentialsListRequest> {
            Some(CredentialsListRequest {
                credential_info: Some(true),
                certificates: Some("chain".into()),
                cert_info: Some(true),
                auth_info: Some(true),
                ..Default::default()
            })
        }

        fn describe(&self, service: &str, id: &str, reply: &[u8]) -> Result<CredentialDescription> {
            describe(service, id, parse(service, "credentials/info", reply)?)
        }

        fn authorize(&self, call: &AuthorizeCall<'_>) -> Result<Json> {
            Json::of("credentials/authorize", &authorize_request(call)?)
        }

        fn extend_transaction(
            &self,
            credential_id: &str,
            sad: &Secret,
            hashes: Option<&[Digest]>,
        ) -> Result<Json> {
            Json::of(
                "credentials/extendTransaction",
                &extend_request(credential_id, sad, hashes)?,
            )
        }

        fn sign_hash(&self, call: &SignHashCall<'_>) -> Result<Json> {
            Json::of("signatures/signHash", &sign_hash_request(call))
        }

        fn credential_scope_hashes(
            &self,
            hashes: String,
            hash: HashAlgorithm,
        ) -> Vec<(&'static str, String)> {
            vec![("hashes", hashes), ("hashAlgorithmOID", hash.oid().to_string())]
        }
    }
}

#[cfg(feature = "remote")]
pub(crate) use adapter::{
    authorize_request, describe, extend_request, listed_descriptions, sign_hash_request,
};
