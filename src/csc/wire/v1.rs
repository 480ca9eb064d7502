//! The CSC v1.0.4.0 bodies whose shape differs from v2 (`hash`/`hashAlgo`,
//! `PIN`/`OTP` fields, `authMode`), and the client's v1 adapter: it builds
//! the v2 request and reshapes it, and reshapes v1 replies into v2 ones, so
//! that the model is decoded in one place. The bodies v1 shares with v2 are
//! in [`v2`](super::v2).

use serde::{Deserialize, Serialize};

use super::v2::{CertDescription, KeyDescription};
use crate::secret::Secret;

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
    /// `implicit`, `explicit` or `oauth2code`. Some services leave it out
    /// (read as empty: the client infers `explicit` from `PIN`/`OTP`).
    #[serde(rename = "authMode", default)]
    pub auth_mode: String,
    /// SCAL, `"1"` or `"2"`, read from a string or a number (missing: 1).
    #[serde(rename = "SCAL", default, deserialize_with = "super::v2::scal_text")]
    pub scal: String,
    /// The PIN, for explicit mode.
    #[serde(default, rename = "PIN", skip_serializing_if = "Option::is_none")]
    pub pin: Option<V1AuthInput>,
    /// The OTP, for explicit mode.
    #[serde(default, rename = "OTP", skip_serializing_if = "Option::is_none")]
    pub otp: Option<V1AuthInput>,
    /// Maximum number of signatures per authorization (missing, as with
    /// some services: 1).
    #[serde(default = "super::v2::one")]
    pub multisign: u32,
    /// Language of the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

/// `authMode` of a v1 credential that left it out: `explicit` when it
/// describes a PIN or an OTP that is not absent, else unknown (empty), which
/// the authorizer refuses with a clear error rather than guessing that no
/// authorization is needed.
#[cfg_attr(not(feature = "remote"), allow(dead_code))]
fn inferred_auth_mode(info: &V1CredentialInfo) -> String {
    if !info.auth_mode.trim().is_empty() {
        return info.auth_mode.clone();
    }
    let asked = |i: &Option<V1AuthInput>| i.as_ref().is_some_and(|i| i.presence != "false");
    if asked(&info.pin) || asked(&info.otp) {
        "explicit".into()
    } else {
        String::new()
    }
}

/// `credentials/authorize` request, v1.0.4.0 shape.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
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
    /// The PIN.
    #[serde(default, rename = "PIN", skip_serializing_if = "Option::is_none")]
    pub pin: Option<Secret>,
    /// The OTP.
    #[serde(default, rename = "OTP", skip_serializing_if = "Option::is_none")]
    pub otp: Option<Secret>,
    /// A description of the operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Opaque data for the service.
    #[serde(default, rename = "clientData", skip_serializing_if = "Option::is_none")]
    pub client_data: Option<String>,
}

/// `credentials/extendTransaction` request, v1.0.4.0 shape (`hash`, `hashAlgo`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
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
    /// The SAD to extend.
    #[serde(rename = "SAD")]
    pub sad: Secret,
    /// Opaque data for the service.
    #[serde(default, rename = "clientData", skip_serializing_if = "Option::is_none")]
    pub client_data: Option<String>,
}

/// `signatures/signHash` request, v1.0.4.0 shape.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct V1SignHashRequest {
    /// The credential.
    #[serde(rename = "credentialID")]
    pub credential_id: String,
    /// The SAD (empty when a `credential`-scope token authorizes the call).
    #[serde(rename = "SAD")]
    pub sad: Secret,
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

/// The client's adapter for CSC v1.0.4.0.
#[cfg(feature = "remote")]
#[derive(Debug)]
pub(crate) struct V1;

#[cfg(feature = "remote")]
mod adapter {
    use super::super::v2::{self, AuthDescription, CredentialInfo, CredentialsListRequest};
    use super::*;
    use crate::csc::CscVersion;
    use crate::csc::model::{
        AuthInput, AuthInputKind, AuthMode, AuthorizeCall, CredentialDescription, SignHashCall,
    };
    use crate::csc::wire::{Json, Wire, parse};
    use crate::error::{Error, Result};
    use crate::http::sanitize;
    use crate::signer::{Digest, HashAlgorithm};

    fn auth_input(i: Option<&V1AuthInput>, kind: AuthInputKind, id: &str) -> Option<AuthInput> {
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

    impl Wire for V1 {
        fn version(&self) -> CscVersion {
            CscVersion::V1
        }

        fn pages_credential_list(&self) -> bool {
            true
        }

        fn list_with_infos(&self) -> Option<CredentialsListRequest> {
            None
        }

        /// Read as the v2 reply it would be, with the v1 `PIN`/`OTP`
        /// descriptions as the inputs of explicit mode.
        fn describe(&self, service: &str, id: &str, reply: &[u8]) -> Result<CredentialDescription> {
            let info: V1CredentialInfo = parse(service, "credentials/info", reply)?;
            let inputs: Vec<AuthInput> = [
                auth_input(info.pin.as_ref(), AuthInputKind::Pin, "PIN"),
                auth_input(info.otp.as_ref(), AuthInputKind::Otp, "OTP"),
            ]
            .into_iter()
            .flatten()
            .collect();
            let mode = inferred_auth_mode(&info);
            let as_v2 = CredentialInfo {
                credential_id: None,
                description: info.description,
                key: info.key,
                cert: Some(info.cert),
                auth: Some(AuthDescription {
                    mode,
                    expression: None,
                    objects: None,
                }),
                scal: info.scal,
                multisign: info.multisign,
                lang: info.lang,
            };
            let mut described = v2::describe(service, id, as_v2)?;
            if let AuthMode::Explicit {
                inputs: v2_inputs, ..
            } = &mut described.auth_mode
            {
                *v2_inputs = inputs;
            }
            Ok(described)
        }

        fn authorize(&self, call: &AuthorizeCall<'_>) -> Result<Json> {
            let v2 = v2::authorize_request(call)?;
            let mut body = V1AuthorizeRequest {
                credential_id: v2.credential_id,
                num_signatures: v2.num_signatures,
                hash: v2.hashes,
                description: v2.description,
                ..Default::default()
            };
            for item in v2.auth_data.into_iter().flatten() {
                match item.id.to_ascii_uppercase().as_str() {
                    "PIN" => body.pin = Some(item.value),
                    "OTP" => body.otp = Some(item.value),
                    other => {
                        return Err(Error::unsupported(format!(
                            "authorization input {other:?} with CSC v1 (only PIN and OTP)"
                        )));
                    }
                }
            }
            Json::of("credentials/authorize", &body)
        }

        fn extend_transaction(
            &self,
            credential_id: &str,
            sad: &Secret,
            hashes: Option<&[Digest]>,
        ) -> Result<Json> {
            let v2 = v2::extend_request(credential_id, sad, hashes)?;
            let body = V1ExtendTransactionRequest {
                credential_id: v2.credential_id,
                hash: v2.hashes,
                hash_algo: v2.hash_algorithm_oid,
                sad: v2.sad,
                client_data: v2.client_data,
            };
            Json::of("credentials/extendTransaction", &body)
        }

        /// A v1 credential token travels as the bearer; the SAD field is
        /// required by the v1 shape and left empty then.
        fn sign_hash(&self, call: &SignHashCall<'_>) -> Result<Json> {
            let v2 = v2::sign_hash_request(call);
            let body = V1SignHashRequest {
                credential_id: v2.credential_id,
                sad: v2.sad.unwrap_or_default(),
                hash: v2.hashes,
                hash_algo: v2.hash_algorithm_oid,
                sign_algo: v2.sign_algo,
                sign_algo_params: v2.sign_algo_params,
                client_data: v2.client_data,
            };
            Json::of("signatures/signHash", &body)
        }

        fn credential_scope_hashes(
            &self,
            hashes: String,
            _hash: HashAlgorithm,
        ) -> Vec<(&'static str, String)> {
            vec![("hash", hashes)]
        }
    }
}

#[cfg(all(test, any(feature = "cli", feature = "sandbox")))]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::v2::*;
    use super::*;
    use crate::secret::Secret;

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
        assert_eq!(v1.pin.as_ref().map(Secret::expose), Some("1"));
        assert!(
            !format!("{v1:?}").contains("PIN"),
            "secrets must stay out of Debug"
        );
    }

    #[test]
    fn v1_quirks_are_read() {
        let key = r#""key":{"status":"enabled","algo":["1.2.840.113549.1.1.11"],"len":2048},"cert":{}"#;
        let quirky: V1CredentialInfo =
            serde_json::from_str(&format!(r#"{{{key},"SCAL":2,"PIN":{{"presence":"true"}}}}"#)).unwrap();
        assert_eq!(quirky.scal, "2");
        assert_eq!(
            quirky.multisign, 1,
            "a missing multisign is one signature per authorization"
        );
        assert_eq!(inferred_auth_mode(&quirky), "explicit");
        let as_text: V1CredentialInfo = serde_json::from_str(&format!(
            r#"{{{key},"SCAL":"1","authMode":"explicit","multisign":5}}"#
        ))
        .unwrap();
        assert_eq!((as_text.scal.as_str(), as_text.multisign), ("1", 5));
        let silent: V1CredentialInfo = serde_json::from_str(&format!(r#"{{{key}}}"#)).unwrap();
        assert_eq!(
            inferred_auth_mode(&silent),
            "",
            "no mode and no PIN/OTP: unknown, not implicit"
        );
        assert!(serde_json::from_str::<V1CredentialInfo>(&format!(r#"{{{key},"SCAL":true}}"#)).is_err());
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
