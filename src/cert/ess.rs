//! The ESS signing-certificate attributes (RFC 2634, RFC 5035): the
//! signed attribute that binds a CMS signature (ours, or an RFC 3161
//! token's) to one certificate; and how a SignerInfo's identifier finds
//! that certificate.

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5911::{
    ID_AA_SIGNING_CERTIFICATE, ID_AA_SIGNING_CERTIFICATE_V_2 as ID_AA_SIGNING_CERTIFICATE_V2,
};
use der::asn1::{Any, OctetString};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;

use super::Certificate;
use crate::crypto::HashAlgorithm;
use crate::error::{Error, Result};

/// `SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, policies … OPTIONAL }`
#[derive(Clone, Debug, der::Sequence)]
pub(crate) struct SigningCertificateV2 {
    pub certs: Vec<EssCertIdV2>,
    #[asn1(optional = "true")]
    pub policies: Option<Vec<Any>>,
}

/// `ESSCertIDv2 ::= SEQUENCE { hashAlgorithm DEFAULT id-sha256, certHash, issuerSerial OPTIONAL }`
///
/// The default is modelled as an `Option` so that SHA-256 is written by
/// leaving the field out, as DER requires for a value equal to its default.
#[derive(Clone, Debug, der::Sequence)]
pub(crate) struct EssCertIdV2 {
    #[asn1(optional = "true")]
    pub hash_algorithm: Option<AlgorithmIdentifierOwned>,
    pub cert_hash: OctetString,
    #[asn1(optional = "true")]
    pub issuer_serial: Option<IssuerSerial>,
}

/// `SigningCertificate ::= SEQUENCE { certs SEQUENCE OF ESSCertID, policies … OPTIONAL }`
#[derive(Clone, Debug, der::Sequence)]
pub(crate) struct SigningCertificate {
    pub certs: Vec<EssCertId>,
    #[asn1(optional = "true")]
    pub policies: Option<Vec<Any>>,
}

/// `ESSCertID ::= SEQUENCE { certHash (SHA-1), issuerSerial OPTIONAL }`
#[derive(Clone, Debug, der::Sequence)]
pub(crate) struct EssCertId {
    pub cert_hash: OctetString,
    #[asn1(optional = "true")]
    pub issuer_serial: Option<IssuerSerial>,
}

/// `IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber }`
#[derive(Clone, Debug, der::Sequence)]
pub(crate) struct IssuerSerial {
    pub issuer: Vec<GeneralName>,
    pub serial_number: SerialNumber,
}

/// Whether `sc` names `cert` (by hash, and by issuer and serial when
/// those are given). `input` names the structure in errors.
fn v2_names(sc: &SigningCertificateV2, cert: &Certificate, input: &'static str) -> Result<bool> {
    let id = sc
        .certs
        .first()
        .ok_or_else(|| crate::error::Error::malformed(input, "empty signingCertificateV2"))?;
    let hash = match &id.hash_algorithm {
        None => HashAlgorithm::Sha256,
        Some(alg) => crate::crypto::algid::hash_from_id(alg, input, "ESSCertIDv2 hash algorithm")?,
    };
    Ok(hash.digest(cert.der()).as_bytes() == id.cert_hash.as_bytes()
        && id
            .issuer_serial
            .as_ref()
            .is_none_or(|is| issuer_serial_matches(is, cert)))
}

/// Whether `sc` (SHA-1 ESSCertID) names `cert`.
fn v1_names(sc: &SigningCertificate, cert: &Certificate, input: &'static str) -> Result<bool> {
    let id = sc
        .certs
        .first()
        .ok_or_else(|| crate::error::Error::malformed(input, "empty signingCertificate"))?;
    let sha1 = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, cert.der());
    Ok(sha1.as_ref() == id.cert_hash.as_bytes()
        && id
            .issuer_serial
            .as_ref()
            .is_none_or(|is| issuer_serial_matches(is, cert)))
}

/// Checks the ESS signing-certificate attributes among the signed
/// attributes `attrs` against the signer's `cert` (they bind the signature
/// to that certificate, so another with the same key cannot be put in its
/// place): each present must name it, else [`Error::BadSignature`]
/// (`crate::Error::BadSignature`). Returns whether one was present.
/// `input` names the structure in errors.
pub(crate) fn check_signing_certificate(
    attrs: &[Attribute],
    cert: &Certificate,
    input: &'static str,
) -> Result<bool> {
    let mismatch = |what: &str| Error::BadSignature {
        detail: format!("the {what} attribute names another certificate than the signer's"),
    };
    let malformed = |e| Error::malformed_from(input, e);
    let v2 = single_attribute(attrs, ID_AA_SIGNING_CERTIFICATE_V2, "signingCertificateV2", input)?;
    if let Some(v) = v2
        && !v2_names(&v.decode_as().map_err(malformed)?, cert, input)?
    {
        return Err(mismatch("signingCertificateV2"));
    }
    let v1 = single_attribute(attrs, ID_AA_SIGNING_CERTIFICATE, "signingCertificate", input)?;
    if let Some(v) = v1
        && !v1_names(&v.decode_as().map_err(malformed)?, cert, input)?
    {
        return Err(mismatch("signingCertificate"));
    }
    Ok(v2.is_some() || v1.is_some())
}

fn issuer_serial_matches(is: &IssuerSerial, cert: &Certificate) -> bool {
    let tbs = cert.inner().tbs_certificate();
    &is.serial_number == tbs.serial_number()
        && is
            .issuer
            .iter()
            .any(|n| matches!(n, GeneralName::DirectoryName(name) if name == tbs.issuer()))
}

/// The one value of the one attribute of type `oid` among `attrs`, if
/// present; two such attributes, or one with other than one value, is
/// [`Error::Malformed`](crate::Error::Malformed) about `input`.
pub(crate) fn single_attribute<'a>(
    attrs: &'a [Attribute],
    oid: ObjectIdentifier,
    name: &str,
    input: &'static str,
) -> Result<Option<&'a Any>> {
    let mut found = attrs.iter().filter(|a| a.oid == oid);
    let Some(attr) = found.next() else { return Ok(None) };
    if found.next().is_some() {
        return Err(crate::error::Error::malformed(
            input,
            format!("more than one {name} attribute"),
        ));
    }
    match attr.values.as_slice() {
        [value] => Ok(Some(value)),
        _ => Err(crate::error::Error::malformed(
            input,
            format!("the {name} attribute must have exactly one value"),
        )),
    }
}

/// How a SignerInfo (of a CMS signature or a timestamp token) names its
/// certificate.
pub(crate) enum SignerId {
    IssuerAndSerial(cms::cert::IssuerAndSerialNumber),
    SubjectKeyId(Vec<u8>),
}

impl From<&cms::signed_data::SignerIdentifier> for SignerId {
    fn from(sid: &cms::signed_data::SignerIdentifier) -> Self {
        match sid {
            cms::signed_data::SignerIdentifier::IssuerAndSerialNumber(isn) => {
                Self::IssuerAndSerial(isn.clone())
            }
            cms::signed_data::SignerIdentifier::SubjectKeyIdentifier(ski) => {
                Self::SubjectKeyId(ski.0.as_bytes().to_vec())
            }
        }
    }
}

/// The certificate among `certificates` that `sid` names.
pub(crate) fn find_signer<'a>(certificates: &'a [Certificate], sid: &SignerId) -> Option<&'a Certificate> {
    certificates.iter().find(|c| {
        let tbs = c.inner().tbs_certificate();
        match sid {
            SignerId::IssuerAndSerial(isn) => {
                tbs.issuer() == &isn.issuer && tbs.serial_number() == &isn.serial_number
            }
            SignerId::SubjectKeyId(ski) => c.subject_key_id().ok().flatten().is_some_and(|k| k == *ski),
        }
    })
}
