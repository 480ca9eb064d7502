//! What a credential is, the same for CSC v1 and v2: its description
//! ([`CredentialDescription`]: key, certificates, [`AuthMode`], [`Scal`]),
//! what authorizes a signature ([`Sad`], [`Activation`]), the signature
//! algorithm as CSC names it ([`CscSignAlgorithm`]), and the inputs of the
//! two calls with effects ([`AuthorizeCall`], [`SignHashCall`]).
//!
//! No wire shapes and no requests here: `wire` turns these into JSON and
//! back, `client` sends them.

use std::fmt;
use std::time::{Duration, SystemTime};

use const_oid::ObjectIdentifier;

use crate::cert::Certificate;
use crate::error::{Error, Result};
use crate::http::sanitize;
use crate::secret::Secret;
use crate::signer::{Digest, SignatureAlgorithm, SignatureScheme, oid};

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
                Some(crate::crypto::pss::params_der(algorithm.hash)?),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signer::HashAlgorithm;

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
}
