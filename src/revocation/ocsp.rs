//! OCSP (RFC 6960): requests, responses read and checked, and responses
//! built and signed (for responders such as the sandbox's).

use std::time::SystemTime;

use der::asn1::{BitString, GeneralizedTime, Null, OctetString};
use der::{Decode, Encode};
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::Extension;
use x509_cert::serial_number::SerialNumber;

use super::asn1::{self, ResponderId, ResponseStatus};
use super::{Answer, AnswerSource, CertStatus, CheckOptions, RevocationReason, rfc3339};
use crate::cert::{Certificate, names_match};
use crate::crypto::{HashAlgorithm, PrivateKey, sha1_for_identifiers};
use crate::error::{Error, Result};

const WHAT: &str = "OCSP response";

/// The hash of a CertID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CertIdHash {
    /// SHA-1: what RFC 5019 responders (and OpenSSL's default) expect.
    #[default]
    Sha1,
    /// A SHA-2 hash.
    Sha2(HashAlgorithm),
}

impl CertIdHash {
    fn oid(self) -> const_oid::ObjectIdentifier {
        match self {
            Self::Sha1 => asn1::SHA1,
            Self::Sha2(h) => h.oid(),
        }
    }

    fn from_oid(oid: &const_oid::ObjectIdentifier) -> Result<Self> {
        if *oid == asn1::SHA1 {
            return Ok(Self::Sha1);
        }
        HashAlgorithm::from_oid(oid).map(Self::Sha2)
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha1 => sha1_for_identifiers(data).to_vec(),
            Self::Sha2(h) => h.digest(data).as_bytes().to_vec(),
        }
    }
}

/// The CertID of `cert` issued by `issuer`, with `hash`.
fn cert_id(cert: &Certificate, issuer: &Certificate, hash: CertIdHash) -> Result<asn1::CertId> {
    let name = issuer
        .inner()
        .tbs_certificate()
        .subject()
        .to_der()
        .map_err(|e| Error::malformed_from("certificate", e))?;
    let octets = |v: Vec<u8>| OctetString::new(v).map_err(|e| Error::malformed_from("CertID", e));
    Ok(asn1::CertId {
        hash_algorithm: AlgorithmIdentifierOwned {
            oid: hash.oid(),
            parameters: Some(Null.into()),
        },
        issuer_name_hash: octets(hash.hash(&name))?,
        issuer_key_hash: octets(hash.hash(key_bits(issuer)))?,
        serial_number: SerialNumber::new(cert.serial_bytes())
            .map_err(|e| Error::malformed_from("certificate", e))?,
    })
}

/// The subjectPublicKey BIT STRING's bytes (what key hashes cover).
fn key_bits(cert: &Certificate) -> &[u8] {
    cert.inner()
        .tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .raw_bytes()
}

/// Whether `id` names `cert` issued by `issuer` (whatever hash it uses).
fn names_cert(id: &asn1::CertId, cert: &Certificate, issuer: &Certificate) -> bool {
    let Ok(hash) = CertIdHash::from_oid(&id.hash_algorithm.oid) else {
        return false;
    };
    cert_id(cert, issuer, hash).is_ok_and(|mine| {
        mine.issuer_name_hash == id.issuer_name_hash
            && mine.issuer_key_hash == id.issuer_key_hash
            && mine.serial_number.as_bytes() == id.serial_number.as_bytes()
    })
}

/// An OCSP request for one certificate, with its nonce.
#[derive(Clone, Debug)]
pub struct OcspRequest {
    der: Vec<u8>,
    cert_id_der: Vec<u8>,
    nonce: Option<Extension>,
}

impl OcspRequest {
    /// A request about `cert` issued by `issuer`, its CertID hashed with
    /// `hash`, with a 16-byte random nonce when `nonce` (RFC 8954).
    pub fn new(cert: &Certificate, issuer: &Certificate, hash: CertIdHash, nonce: bool) -> Result<Self> {
        let id = cert_id(cert, issuer, hash)?;
        let cert_id_der = id.to_der().map_err(|e| Error::malformed_from("CertID", e))?;
        let nonce = if nonce {
            let value = OctetString::new(crate::crypto::random_bytes::<16>()?.to_vec())
                .and_then(|o| o.to_der())
                .and_then(OctetString::new)
                .map_err(|e| Error::malformed_from("OCSP nonce", e))?;
            Some(Extension {
                extn_id: asn1::OCSP_NONCE,
                critical: false,
                extn_value: value,
            })
        } else {
            None
        };
        let request = asn1::OcspRequest {
            tbs_request: asn1::TbsRequest {
                request_list: vec![asn1::Request {
                    req_cert: id,
                    single_request_extensions: None,
                }],
                request_extensions: nonce.clone().map(|n| vec![n]),
            },
        };
        let der = request
            .to_der()
            .map_err(|e| Error::malformed_from("OCSP request", e))?;
        Ok(Self {
            der,
            cert_id_der,
            nonce,
        })
    }

    /// The DER `OCSPRequest` (the body of a POST, `application/ocsp-request`).
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The DER CertID (a cache key).
    pub fn cert_id_der(&self) -> &[u8] {
        &self.cert_id_der
    }

    /// The nonce extension's value (the DER OCTET STRING inside
    /// `extnValue`), if one is sent.
    pub fn nonce(&self) -> Option<&OctetString> {
        self.nonce.as_ref().map(|n| &n.extn_value)
    }
}

/// An `OCSPResponse` read: a successful basic response, not yet checked.
pub(crate) struct ParsedResponse {
    data: asn1::ResponseData,
    tbs: Vec<u8>,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: Vec<u8>,
    certs: Vec<Certificate>,
}

fn status_name(status: ResponseStatus) -> &'static str {
    match status {
        ResponseStatus::Successful => "successful",
        ResponseStatus::MalformedRequest => "malformedRequest",
        ResponseStatus::InternalError => "internalError",
        ResponseStatus::TryLater => "tryLater",
        ResponseStatus::SigRequired => "sigRequired",
        ResponseStatus::Unauthorized => "unauthorized",
    }
}

impl ParsedResponse {
    /// Reads a DER `OCSPResponse`: anything but a successful basic
    /// response is an error saying what it is.
    pub fn parse(der: &[u8]) -> Result<Self> {
        let outer = asn1::OcspResponse::from_der(der).map_err(|e| Error::malformed_from(WHAT, e))?;
        if outer.response_status != ResponseStatus::Successful {
            return Err(Error::malformed(
                WHAT,
                format!(
                    "the responder answered {} instead of a status",
                    status_name(outer.response_status)
                ),
            ));
        }
        let bytes = outer
            .response_bytes
            .ok_or_else(|| Error::malformed(WHAT, "successful, but without responseBytes"))?;
        if bytes.response_type != asn1::OCSP_BASIC {
            return Err(Error::unsupported(format!(
                "OCSP response type {}",
                bytes.response_type
            )));
        }
        let basic = asn1::BasicResponseRaw::from_der(bytes.response.as_bytes())
            .map_err(|e| Error::malformed_from(WHAT, e))?;
        let tbs = basic
            .tbs_response_data
            .to_der()
            .map_err(|e| Error::malformed_from(WHAT, e))?;
        let data = asn1::ResponseData::from_der(&tbs).map_err(|e| Error::malformed_from(WHAT, e))?;
        if data.version != 0 {
            return Err(Error::unsupported(format!(
                "OCSP response version {}",
                data.version + 1
            )));
        }
        let signature = basic
            .signature
            .as_bytes()
            .ok_or_else(|| Error::malformed(WHAT, "signature BIT STRING has unused bits"))?
            .to_vec();
        let mut certs = Vec::new();
        for c in basic.certs.unwrap_or_default() {
            let der = c.to_der().map_err(|e| Error::malformed_from(WHAT, e))?;
            certs.push(Certificate::from_der(&der)?);
        }
        Ok(Self {
            data,
            tbs,
            signature_algorithm: basic.signature_algorithm,
            signature,
            certs,
        })
    }

    /// The certificates the response carries (a delegated responder's).
    #[cfg_attr(not(feature = "remote"), allow(dead_code))]
    pub fn certificates(&self) -> &[Certificate] {
        &self.certs
    }

    fn responder_is(&self, cert: &Certificate) -> bool {
        match &self.data.responder_id {
            ResponderId::ByName(name) => names_match(name, cert.inner().tbs_certificate().subject()),
            ResponderId::ByKey(hash) => hash.as_bytes() == sha1_for_identifiers(key_bits(cert)),
        }
    }

    /// Checks who signed: `issuer` itself, or a certificate of the response
    /// that `issuer` issued for OCSP signing (valid when the response was
    /// produced).
    fn check_signer(&self, issuer: &Certificate) -> Result<()> {
        let signer = if self.responder_is(issuer) {
            issuer
        } else {
            let delegated = self.certs.iter().find(|c| self.responder_is(c)).ok_or_else(|| {
                Error::BadSignature {
                    detail: format!(
                        "the OCSP response is signed by a responder that is neither '{}' nor a certificate it carries",
                        issuer.subject()
                    ),
                }
            })?;
            check_delegated(delegated, issuer, self.data.produced_at.to_system_time())?;
            delegated
        };
        signer
            .verify_signature(&self.signature_algorithm, &self.tbs, &self.signature)
            .map_err(|e| match e {
                Error::BadSignature { .. } => Error::BadSignature {
                    detail: format!(
                        "the OCSP response's signature does not verify with the key of '{}'",
                        signer.subject()
                    ),
                },
                other => other,
            })
    }

    /// The answer about `cert` (issued by `issuer`): `Ok(None)` when the
    /// response is about other certificates; an error when it is about
    /// `cert` but unusable (signature, responder, nonce, window, unknown).
    pub fn answer_for(
        &self,
        cert: &Certificate,
        issuer: &Certificate,
        nonce: Option<&OctetString>,
        options: &CheckOptions,
    ) -> Result<Option<Answer>> {
        let Some(single) = self
            .data
            .responses
            .iter()
            .find(|s| names_cert(&s.cert_id, cert, issuer))
        else {
            return Ok(None);
        };
        self.check_signer(issuer)?;
        if let Some(sent) = nonce {
            let echoed = self
                .data
                .response_extensions
                .iter()
                .flatten()
                .find(|e| e.extn_id == asn1::OCSP_NONCE);
            if echoed.is_some_and(|e| &e.extn_value != sent) {
                return Err(Error::BadSignature {
                    detail: "the OCSP response's nonce is not the one sent (a replayed answer?)".into(),
                });
            }
        }
        let this_update = single.this_update.to_system_time();
        let next_update = single.next_update.map(|t| t.to_system_time());
        options
            .check_window(this_update, next_update)
            .map_err(|why| Error::malformed(WHAT, format!("the answer is not current: {why}")))?;
        let status = match &single.cert_status {
            asn1::CertStatus::Good(_) => CertStatus::Good,
            asn1::CertStatus::Revoked(info) => CertStatus::Revoked {
                time: rfc3339(info.revocation_time.to_system_time()),
                reason: info.revocation_reason.map(RevocationReason::from_x509),
            },
            asn1::CertStatus::Unknown(_) => {
                return Err(Error::malformed(
                    WHAT,
                    "the responder does not know the certificate (status unknown)",
                ));
            }
        };
        Ok(Some(Answer {
            status,
            source: AnswerSource::Ocsp,
            url: None,
            this_update: rfc3339(this_update),
            next_update: next_update.map(rfc3339),
        }))
    }
}

/// A delegated responder must be issued by `issuer`, carry
/// `id-kp-OCSPSigning`, and be valid at `at`.
fn check_delegated(responder: &Certificate, issuer: &Certificate, at: SystemTime) -> Result<()> {
    let refuse = |why: &str| Error::BadSignature {
        detail: format!("OCSP responder '{}' {why}", responder.subject()),
    };
    if !responder.issuer_name_matches(issuer) || responder.verify_signed_by(issuer).is_err() {
        return Err(refuse(&format!("was not issued by '{}'", issuer.subject())));
    }
    let eku = responder
        .extension(asn1::EXT_KEY_USAGE)
        .map(|e| x509_cert::ext::pkix::ExtendedKeyUsage::from_der(e.extn_value.as_bytes()))
        .transpose()
        .map_err(|e| Error::malformed_from("certificate", e))?;
    if !eku.is_some_and(|k| k.0.contains(&asn1::KP_OCSP_SIGNING)) {
        return Err(refuse("lacks the extended key usage id-kp-OCSPSigning"));
    }
    if !responder.is_valid_at(at) {
        return Err(refuse("was not valid when the response was produced"));
    }
    Ok(())
}

/// Who signs a responder's answers: the issuer itself, or a delegated
/// responder certificate it issued with `id-kp-OCSPSigning` (sent along
/// in the response).
pub struct ResponderSigner {
    /// The signing certificate.
    pub certificate: Certificate,
    /// Its key.
    pub key: PrivateKey,
    /// Whether `certificate` is a delegated responder (sent in `certs`).
    pub delegated: bool,
}

impl std::fmt::Debug for ResponderSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponderSigner")
            .field("certificate", &self.certificate)
            .field("delegated", &self.delegated)
            .finish_non_exhaustive()
    }
}

/// The status a responder gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OcspStatus {
    /// Not revoked.
    Good,
    /// Revoked at a time, for a reason.
    Revoked(SystemTime, Option<RevocationReason>),
    /// Not a certificate of this issuer's.
    Unknown,
}

/// Builds signed OCSP responses (for responders: the sandbox's, tests).
#[derive(Debug)]
pub struct OcspResponseBuilder<'a> {
    signer: &'a ResponderSigner,
    issuer: &'a Certificate,
}

/// A parsed request: the CertIDs asked about and the nonce extension.
pub struct RequestAsked {
    ids: Vec<asn1::CertId>,
    nonce: Option<Extension>,
}

impl RequestAsked {
    /// Reads a DER `OCSPRequest` (signed requests are read, their signature ignored).
    pub fn parse(der: &[u8]) -> Result<Self> {
        #[derive(der::Sequence)]
        struct SignedRequest<'a> {
            tbs: asn1::TbsRequestRead,
            #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
            signature: Option<der::asn1::AnyRef<'a>>,
        }
        let request = SignedRequest::from_der(der).map_err(|e| Error::malformed_from("OCSP request", e))?;
        let nonce = request
            .tbs
            .request_extensions
            .into_iter()
            .flatten()
            .find(|e| e.extn_id == asn1::OCSP_NONCE);
        Ok(Self {
            ids: request.tbs.request_list.into_iter().map(|r| r.req_cert).collect(),
            nonce,
        })
    }

    /// The serial numbers asked about whose CertID names `issuer`, each
    /// with the index of its CertID.
    pub fn serials_of(&self, issuer: &Certificate) -> Vec<(usize, Vec<u8>)> {
        self.ids
            .iter()
            .enumerate()
            .filter(|(_, id)| {
                CertIdHash::from_oid(&id.hash_algorithm.oid).is_ok_and(|h| {
                    let name = issuer
                        .inner()
                        .tbs_certificate()
                        .subject()
                        .to_der()
                        .unwrap_or_default();
                    id.issuer_name_hash.as_bytes() == h.hash(&name)
                        && id.issuer_key_hash.as_bytes() == h.hash(key_bits(issuer))
                })
            })
            .map(|(i, id)| (i, id.serial_number.as_bytes().to_vec()))
            .collect()
    }

    /// How many CertIDs were asked about.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether no CertID was asked about.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

impl<'a> OcspResponseBuilder<'a> {
    /// Answers for certificates of `issuer`, signed by `signer`.
    pub fn new(signer: &'a ResponderSigner, issuer: &'a Certificate) -> Self {
        Self { signer, issuer }
    }

    /// A DER `OCSPResponse` for a request: one SingleResponse per CertID
    /// (statuses from `status_of(index, serial)` for CertIDs of this
    /// issuer, `unknown` for others), valid from `this_update` to
    /// `next_update`, the nonce echoed.
    pub fn respond(
        &self,
        request: &RequestAsked,
        this_update: SystemTime,
        next_update: Option<SystemTime>,
        status_of: impl Fn(&[u8]) -> OcspStatus,
    ) -> Result<Vec<u8>> {
        let mine: Vec<usize> = request
            .serials_of(self.issuer)
            .into_iter()
            .map(|(i, _)| i)
            .collect();
        let gt =
            |t: SystemTime| GeneralizedTime::from_system_time(t).map_err(|e| Error::malformed_from(WHAT, e));
        let mut responses = Vec::new();
        for (i, id) in request.ids.iter().enumerate() {
            let status = if mine.contains(&i) {
                status_of(id.serial_number.as_bytes())
            } else {
                OcspStatus::Unknown
            };
            let cert_status = match status {
                OcspStatus::Good => asn1::CertStatus::Good(Null),
                OcspStatus::Unknown => asn1::CertStatus::Unknown(Null),
                OcspStatus::Revoked(at, reason) => asn1::CertStatus::Revoked(asn1::RevokedInfo {
                    revocation_time: gt(at)?,
                    revocation_reason: reason.map(RevocationReason::to_x509),
                }),
            };
            responses.push(asn1::SingleResponse {
                cert_id: id.clone(),
                cert_status,
                this_update: gt(this_update)?,
                next_update: next_update.map(gt).transpose()?,
                single_extensions: None,
            });
        }
        let data = asn1::ResponseData {
            version: 0,
            responder_id: ResponderId::ByName(
                self.signer
                    .certificate
                    .inner()
                    .tbs_certificate()
                    .subject()
                    .clone(),
            ),
            produced_at: gt(SystemTime::now())?,
            responses,
            response_extensions: request.nonce.clone().map(|n| vec![n]),
        };
        self.sign(data)
    }

    fn sign(&self, data: asn1::ResponseData) -> Result<Vec<u8>> {
        let key = &self.signer.key;
        let algorithm = super::crl::signing_algorithm(key);
        let tbs = data.to_der().map_err(|e| Error::malformed_from(WHAT, e))?;
        let signature = key.sign_digest(algorithm, &algorithm.hash.digest(&tbs))?;
        let certs = if self.signer.delegated {
            let der = self.signer.certificate.der();
            Some(vec![
                x509_cert::Certificate::from_der(der).map_err(|e| Error::malformed_from(WHAT, e))?,
            ])
        } else {
            None
        };
        let basic = asn1::BasicResponse {
            tbs_response_data: data,
            signature_algorithm: algorithm.algorithm_identifier()?,
            signature: BitString::from_bytes(&signature).map_err(|e| Error::malformed_from(WHAT, e))?,
            certs,
        };
        let response = asn1::OcspResponse {
            response_status: ResponseStatus::Successful,
            response_bytes: Some(asn1::ResponseBytes {
                response_type: asn1::OCSP_BASIC,
                response: OctetString::new(basic.to_der().map_err(|e| Error::malformed_from(WHAT, e))?)
                    .map_err(|e| Error::malformed_from(WHAT, e))?,
            }),
        };
        response.to_der().map_err(|e| Error::malformed_from(WHAT, e))
    }
}

/// A DER `OCSPResponse` with an error status and no body
/// (`malformedRequest`, `unauthorized`, …).
pub fn error_response(status: ResponseStatus) -> Result<Vec<u8>> {
    asn1::OcspResponse {
        response_status: status,
        response_bytes: None,
    }
    .to_der()
    .map_err(|e| Error::malformed_from(WHAT, e))
}
