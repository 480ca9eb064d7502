//! The JSON bodies of the Cloud Signature Consortium API, as they travel on
//! the wire: one request and one response type per method, for v2 and (where
//! the shape differs) for v1.0.4.0, plus the common error body.
//!
//! Field names follow the specification exactly (`credentialID`, `SAD`,
//! `hashAlgorithmOID`, …) through serde renames. Optional fields are
//! `Option` and are left out of the JSON when `None`, because several RSSPs
//! reject `null` where the specification says "optional". Hashes and
//! certificates are base64 strings, as the specification sends them; the
//! types do not decode them, so that the client and the sandbox decide how
//! strict to be.
//!
//! Both the sandbox server and the CSC client use these types.

use serde::{Deserialize, Serialize};

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
    pub refresh_token: Option<String>,
    /// Opaque data for the service.
    #[serde(default, rename = "clientData", skip_serializing_if = "Option::is_none")]
    pub client_data: Option<String>,
}

/// `auth/login` response, also the shape of `oauth2/token` responses.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The access token (a secret).
    pub access_token: String,
    /// A refresh token, when one was asked for (a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Always `Bearer` where the method defines it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// Lifetime of the access token in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// OpenID Connect: the ID token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// The granted scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// CSC `credential` scope: the credential the token authorizes.
    #[serde(default, rename = "credentialID", skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Tokens are secrets: never print them.
        f.debug_struct("TokenResponse")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .field("credential_id", &self.credential_id)
            .finish_non_exhaustive()
    }
}

/// `auth/revoke` request (both versions).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeRequest {
    /// The token to revoke (a secret).
    pub token: String,
    /// `access_token` or `refresh_token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type_hint: Option<String>,
    /// Opaque data for the service.
    #[serde(default, rename = "clientData", skip_serializing_if = "Option::is_none")]
    pub client_data: Option<String>,
}

impl std::fmt::Debug for RevokeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevokeRequest")
            .field("token_type_hint", &self.token_type_hint)
            .finish_non_exhaustive()
    }
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
    /// authorization to the exact hashes).
    #[serde(rename = "SCAL")]
    pub scal: String,
    /// Maximum number of signatures per authorization.
    pub multisign: u32,
    /// Language of the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

/// v1 description of the PIN or OTP a credential needs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct V1AuthInput {
    /// `true`, `false` or `optional`.
    pub presence: String,
    /// v1 OTP: `offline` or `online`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `A` or `N`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// A label for the input field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// A description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `credentials/info` response, v1.0.4.0 shape.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct V1CredentialInfo {
    /// A description of the credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The key.
    pub key: KeyDescription,
    /// The certificate.
    pub cert: CertDescription,
    /// `implicit`, `explicit` or `oauth2code`.
    #[serde(rename = "authMode")]
    pub auth_mode: String,
    /// SCAL, `"1"` or `"2"`.
    #[serde(rename = "SCAL")]
    pub scal: String,
    /// The PIN, for explicit mode.
    #[serde(default, rename = "PIN", skip_serializing_if = "Option::is_none")]
    pub pin: Option<V1AuthInput>,
    /// The OTP, for explicit mode.
    #[serde(default, rename = "OTP", skip_serializing_if = "Option::is_none")]
    pub otp: Option<V1AuthInput>,
    /// Maximum number of signatures per authorization.
    pub multisign: u32,
    /// Language of the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

/// One item of v2 `authData`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthDataItem {
    /// The object's identifier (`PIN`, `OTP`).
    pub id: String,
    /// The value (a secret).
    pub value: String,
}

impl std::fmt::Debug for AuthDataItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthDataItem")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
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

/// `credentials/authorize` request, v1.0.4.0 shape.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct V1AuthorizeRequest {
    /// The credential.
    #[serde(rename = "credentialID")]
    pub credential_id: String,
    /// How many signatures the SAD will allow.
    #[serde(rename = "numSignatures")]
    pub num_signatures: u32,
    /// Base64 hashes to bind the SAD to (required for SCAL 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<Vec<String>>,
    /// The PIN (a secret).
    #[serde(default, rename = "PIN", skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
    /// The OTP (a secret).
    #[serde(default, rename = "OTP", skip_serializing_if = "Option::is_none")]
    pub otp: Option<String>,
    /// A description of the operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Opaque data for the service.
    #[serde(default, rename = "clientData", skip_serializing_if = "Option::is_none")]
    pub client_data: Option<String>,
}

impl std::fmt::Debug for V1AuthorizeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("V1AuthorizeRequest")
            .field("credential_id", &self.credential_id)
            .field("num_signatures", &self.num_signatures)
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}

/// `credentials/authorize` and `credentials/extendTransaction` response.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizeResponse {
    /// The Signature Activation Data (a secret).
    #[serde(rename = "SAD")]
    pub sad: String,
    /// Lifetime of the SAD in seconds.
    #[serde(default, rename = "expiresIn", skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
}

impl std::fmt::Debug for AuthorizeResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizeResponse")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// `credentials/extendTransaction` request (v2; v1 sends `hash` instead of `hashes`).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
    /// The SAD to extend (a secret).
    #[serde(rename = "SAD")]
    pub sad: String,
    /// Opaque data for the service.
    #[serde(default, rename = "clientData", skip_serializing_if = "Option::is_none")]
    pub client_data: Option<String>,
}

impl std::fmt::Debug for ExtendTransactionRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExtendTransactionRequest")
            .field("credential_id", &self.credential_id)
            .field("hashes", &self.hashes)
            .finish_non_exhaustive()
    }
}

/// `credentials/extendTransaction` request, v1.0.4.0 shape (`hash`, `hashAlgo`).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct V1ExtendTransactionRequest {
    /// The credential.
    #[serde(rename = "credentialID")]
    pub credential_id: String,
    /// The hashes the SAD is bound to (SCAL 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<Vec<String>>,
    /// OID of the hash algorithm.
    #[serde(default, rename = "hashAlgo", skip_serializing_if = "Option::is_none")]
    pub hash_algo: Option<String>,
    /// The SAD to extend (a secret).
    #[serde(rename = "SAD")]
    pub sad: String,
    /// Opaque data for the service.
    #[serde(default, rename = "clientData", skip_serializing_if = "Option::is_none")]
    pub client_data: Option<String>,
}

impl std::fmt::Debug for V1ExtendTransactionRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("V1ExtendTransactionRequest")
            .field("credential_id", &self.credential_id)
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}

/// `signatures/signHash` request (v2).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignHashRequest {
    /// The credential.
    #[serde(rename = "credentialID")]
    pub credential_id: String,
    /// The SAD from `credentials/authorize` (absent when a `credential`-scope
    /// access token authorizes the call). A secret.
    #[serde(default, rename = "SAD", skip_serializing_if = "Option::is_none")]
    pub sad: Option<String>,
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

/// `signatures/signHash` request, v1.0.4.0 shape.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct V1SignHashRequest {
    /// The credential.
    #[serde(rename = "credentialID")]
    pub credential_id: String,
    /// The SAD (a secret).
    #[serde(rename = "SAD")]
    pub sad: String,
    /// Base64 hashes to sign.
    pub hash: Vec<String>,
    /// OID of the hash algorithm.
    #[serde(default, rename = "hashAlgo", skip_serializing_if = "Option::is_none")]
    pub hash_algo: Option<String>,
    /// Signature algorithm OID.
    #[serde(rename = "signAlgo")]
    pub sign_algo: String,
    /// Base64 DER parameters of the signature algorithm.
    #[serde(default, rename = "signAlgoParams", skip_serializing_if = "Option::is_none")]
    pub sign_algo_params: Option<String>,
    /// Opaque data for the service.
    #[serde(default, rename = "clientData", skip_serializing_if = "Option::is_none")]
    pub client_data: Option<String>,
}

impl std::fmt::Debug for V1SignHashRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("V1SignHashRequest")
            .field("credential_id", &self.credential_id)
            .field("hash", &self.hash.len())
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

#[cfg(all(test, any(feature = "cli", feature = "sandbox")))]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn field_names_follow_the_specification() {
        let req = SignHashRequest {
            credential_id: "c1".into(),
            sad: Some("s".into()),
            hashes: vec!["AA==".into()],
            hash_algorithm_oid: Some("2.16.840.1.101.3.4.2.1".into()),
            sign_algo: "1.2.840.113549.1.1.11".into(),
            ..Default::default()
        };
        let v = serde_json::to_value(&req).unwrap();
        for key in ["credentialID", "SAD", "hashes", "hashAlgorithmOID", "signAlgo"] {
            assert!(v.get(key).is_some(), "{key} missing in {v}");
        }
        assert!(v.get("signAlgoParams").is_none(), "None must be left out");
        let v1: V1AuthorizeRequest =
            serde_json::from_str(r#"{"credentialID":"c","numSignatures":2,"hash":["AA=="],"PIN":"1"}"#)
                .unwrap();
        assert_eq!(v1.pin.as_deref(), Some("1"));
        assert!(
            !format!("{v1:?}").contains("PIN"),
            "secrets must stay out of Debug"
        );
    }

    #[test]
    fn error_body_round_trips() {
        let e: ErrorBody =
            serde_json::from_str(r#"{"error":"invalid_request","error_description":"SAD expired"}"#).unwrap();
        assert_eq!(e.error_description.as_deref(), Some("SAD expired"));
        let e: ErrorBody = serde_json::from_str(r#"{"error":"invalid_token"}"#).unwrap();
        assert_eq!(e.error_description, None);
    }
}
