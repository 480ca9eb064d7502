//! Certificates: the X.509 model, the MOJ private extensions, the 法人番号,
//! and chain validation to a trusted root.
//!
//! This room reads certificates (DER, PEM, PEM bundles), answers questions
//! about them (names, validity, key usage, the MOJ corporate information),
//! checks one certificate's signature with another's key, and builds and
//! validates a path to a trusted registrar root ([`validate_chain`]). It
//! touches no files and no network: callers hand it bytes.

use std::fmt;
use std::ops::Range;
use std::time::SystemTime;

use const_oid::ObjectIdentifier;
use der::{Decode, Encode, Reader};
use serde::Serialize;
use x509_cert::ext::Extension;

use crate::crypto::{HashAlgorithm, PublicKey, SignatureAlgorithm, oid as alg_oid, pss};
use crate::error::{Error, Result};

mod chain;
pub(crate) mod ess;
pub mod moj;
mod name;

pub use chain::{
    ID_KP_TIME_STAMPING, MAX_INTERMEDIATES, MAX_ISSUER_CHECKS, MAX_PATH_LEN, validate_chain,
    validate_timestamping_chain,
};
pub use moj::{CorporateInfo, MojInfo};
pub(crate) use name::{names_match, to_rfc4514};

/// OIDs of the standard extensions this module reads (from [`const_oid::db`]).
pub mod oid {
    use const_oid::ObjectIdentifier;
    use const_oid::db::rfc5280;

    /// `2.5.29.14` subjectKeyIdentifier.
    pub const SUBJECT_KEY_IDENTIFIER: ObjectIdentifier = rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER;
    /// `2.5.29.15` keyUsage.
    pub const KEY_USAGE: ObjectIdentifier = rfc5280::ID_CE_KEY_USAGE;
    /// `2.5.29.16` privateKeyUsagePeriod.
    pub const PRIVATE_KEY_USAGE_PERIOD: ObjectIdentifier = rfc5280::ID_CE_PRIVATE_KEY_USAGE_PERIOD;
    /// `2.5.29.17` subjectAltName.
    pub const SUBJECT_ALT_NAME: ObjectIdentifier = rfc5280::ID_CE_SUBJECT_ALT_NAME;
    /// `2.5.29.18` issuerAltName.
    pub const ISSUER_ALT_NAME: ObjectIdentifier = rfc5280::ID_CE_ISSUER_ALT_NAME;
    /// `2.5.29.19` basicConstraints.
    pub const BASIC_CONSTRAINTS: ObjectIdentifier = rfc5280::ID_CE_BASIC_CONSTRAINTS;
    /// `2.5.29.31` cRLDistributionPoints.
    pub const CRL_DISTRIBUTION_POINTS: ObjectIdentifier = rfc5280::ID_CE_CRL_DISTRIBUTION_POINTS;
    /// `2.5.29.32` certificatePolicies.
    pub const CERTIFICATE_POLICIES: ObjectIdentifier = rfc5280::ID_CE_CERTIFICATE_POLICIES;
    /// `2.5.29.35` authorityKeyIdentifier.
    pub const AUTHORITY_KEY_IDENTIFIER: ObjectIdentifier = rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER;
    /// `2.5.29.46` freshestCRL.
    pub const FRESHEST_CRL: ObjectIdentifier = rfc5280::ID_CE_FRESHEST_CRL;
    /// `2.5.29.37` extendedKeyUsage (understood only where a purpose is
    /// checked: [`validate_timestamping_chain`](super::validate_timestamping_chain)).
    pub const EXTENDED_KEY_USAGE: ObjectIdentifier = rfc5280::ID_CE_EXT_KEY_USAGE;
    /// `1.3.6.1.5.5.7.1.1` authorityInfoAccess.
    pub const AUTHORITY_INFO_ACCESS: ObjectIdentifier = rfc5280::ID_PE_AUTHORITY_INFO_ACCESS;
}

/// Extensions that may be critical: the validator either processes them
/// (basicConstraints, keyUsage, the MOJ extensions) or they carry nothing
/// that changes whether a path is valid for signing.
///
/// Not here on purpose, because they would need processing this validator
/// does not do: nameConstraints, policyConstraints, policyMappings,
/// inhibitAnyPolicy, extKeyUsage.
pub fn is_known_extension(oid: &ObjectIdentifier) -> bool {
    use self::oid::*;
    [
        SUBJECT_KEY_IDENTIFIER,
        KEY_USAGE,
        PRIVATE_KEY_USAGE_PERIOD,
        SUBJECT_ALT_NAME,
        ISSUER_ALT_NAME,
        BASIC_CONSTRAINTS,
        CRL_DISTRIBUTION_POINTS,
        CERTIFICATE_POLICIES,
        AUTHORITY_KEY_IDENTIFIER,
        FRESHEST_CRL,
        AUTHORITY_INFO_ACCESS,
    ]
    .contains(oid)
        || moj::is_moj_extension(oid)
}

/// One bit of the keyUsage extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyUsageFlag {
    /// `digitalSignature` (bit 0).
    DigitalSignature,
    /// `nonRepudiation`, a.k.a. contentCommitment (bit 1).
    NonRepudiation,
    /// `keyEncipherment` (bit 2).
    KeyEncipherment,
    /// `dataEncipherment` (bit 3).
    DataEncipherment,
    /// `keyAgreement` (bit 4).
    KeyAgreement,
    /// `keyCertSign` (bit 5).
    KeyCertSign,
    /// `cRLSign` (bit 6).
    CrlSign,
    /// `encipherOnly` (bit 7).
    EncipherOnly,
    /// `decipherOnly` (bit 8).
    DecipherOnly,
}

impl KeyUsageFlag {
    /// Every flag, in bit order.
    pub const ALL: [Self; 9] = [
        Self::DigitalSignature,
        Self::NonRepudiation,
        Self::KeyEncipherment,
        Self::DataEncipherment,
        Self::KeyAgreement,
        Self::KeyCertSign,
        Self::CrlSign,
        Self::EncipherOnly,
        Self::DecipherOnly,
    ];

    /// The bit number in the keyUsage BIT STRING.
    pub const fn bit(self) -> u8 {
        self as u8
    }

    /// The RFC 5280 name (`digitalSignature`, `keyCertSign`, …).
    pub const fn name(self) -> &'static str {
        match self {
            Self::DigitalSignature => "digitalSignature",
            Self::NonRepudiation => "nonRepudiation",
            Self::KeyEncipherment => "keyEncipherment",
            Self::DataEncipherment => "dataEncipherment",
            Self::KeyAgreement => "keyAgreement",
            Self::KeyCertSign => "keyCertSign",
            Self::CrlSign => "cRLSign",
            Self::EncipherOnly => "encipherOnly",
            Self::DecipherOnly => "decipherOnly",
        }
    }
}

impl fmt::Display for KeyUsageFlag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The set of bits in a keyUsage extension.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct KeyUsage(u16);

impl KeyUsage {
    /// The set holding exactly `flags`.
    pub fn from_flags(flags: &[KeyUsageFlag]) -> Self {
        Self(flags.iter().fold(0, |acc, f| acc | (1 << f.bit())))
    }

    /// Decodes the extension value (a BIT STRING).
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let bits = der::asn1::BitString::from_der(der)
            .map_err(|e| Error::malformed_from("keyUsage extension", e))?;
        let mut set = 0u16;
        // Bits past decipherOnly have no meaning; ignore them as RFC 5280 allows.
        for (i, on) in bits.bits().enumerate().take(KeyUsageFlag::ALL.len()) {
            if on {
                set |= 1 << i;
            }
        }
        Ok(Self(set))
    }

    /// Whether `flag` is set.
    pub fn contains(self, flag: KeyUsageFlag) -> bool {
        self.0 & (1 << flag.bit()) != 0
    }

    /// Whether no bit is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The flags that are set, in bit order.
    pub fn flags(self) -> Vec<KeyUsageFlag> {
        KeyUsageFlag::ALL
            .into_iter()
            .filter(|f| self.contains(*f))
            .collect()
    }
}

impl fmt::Debug for KeyUsage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.flags()).finish()
    }
}

impl fmt::Display for KeyUsage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.flags().into_iter().map(KeyUsageFlag::name).collect();
        f.write_str(&names.join(", "))
    }
}

/// The basicConstraints extension.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct BasicConstraints {
    /// `cA`: the subject may issue certificates.
    pub is_ca: bool,
    /// `pathLenConstraint`: how many intermediate CAs may follow this one.
    pub path_len: Option<u8>,
}

/// A short description of a certificate, for people and for `--json`.
///
/// Times are RFC 3339; the MOJ fields are `None` (JSON `null`) when the
/// certificate has no MOJ extensions or they do not decode (see
/// [`Certificate::moj`] for the error). Every text field is safe to print:
/// names and MOJ values have their control, bidi and separator characters
/// escaped as RFC 4514 hex pairs ([`crate::text::escape_value`]); the raw
/// values are in [`MojInfo`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CertSummary {
    /// RFC 4514 subject.
    pub subject: String,
    /// RFC 4514 issuer.
    pub issuer: String,
    /// Serial number, lowercase hex.
    pub serial: String,
    /// `notBefore`, RFC 3339.
    pub not_before: String,
    /// `notAfter`, RFC 3339.
    pub not_after: String,
    /// 商号.
    pub corporate_name: Option<String>,
    /// 会社法人等番号 (12 digits).
    pub registered_number: Option<String>,
    /// 法人番号 (13 digits), derived from the registered number.
    pub corporate_number: Option<String>,
    /// 本店.
    pub corporate_address: Option<String>,
    /// 代表者氏名.
    pub director_name: Option<String>,
    /// 資格.
    pub director_title: Option<String>,
    /// 管轄登記所.
    pub registry_office: Option<String>,
    /// 登記官 (the registrar extension).
    pub registrar: Option<String>,
}

/// The largest DER certificate crpki reads: 64 KiB. Real certificates,
/// registrar roots included, are a few KiB; the limit keeps a hostile
/// certificate (tens of thousands of extensions) from costing time and memory.
pub const MAX_CERTIFICATE_SIZE: usize = 64 * 1024;

/// A signature algorithm identifier read: the algorithm and, for
/// RSASSA-PSS, the salt length.
fn signature_parts(alg: &spki::AlgorithmIdentifierOwned) -> Result<(SignatureAlgorithm, Option<usize>)> {
    if alg.oid == alg_oid::RSASSA_PSS {
        let pss = pss::parse(alg.parameters.as_ref(), WHAT)?;
        let algorithm = SignatureAlgorithm::from_oid(&alg.oid, Some(pss.hash))?;
        return Ok((algorithm, Some(pss.salt_len)));
    }
    Ok((SignatureAlgorithm::from_oid(&alg.oid, None)?, None))
}

const PEM_LABEL: &str = "CERTIFICATE";
const PEM_BEGIN: &str = "-----BEGIN ";
const WHAT: &str = "certificate";

/// An X.509 certificate, kept with its exact DER encoding.
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    der: Vec<u8>,
    inner: x509_cert::Certificate,
    spki_der: Vec<u8>,
    /// Where the tbsCertificate lies in `der`: the signature covers these
    /// exact bytes, not a re-encoding.
    tbs: Range<usize>,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &self.subject())
            .field("issuer", &self.issuer())
            .field("serial", &self.serial_hex())
            .finish()
    }
}

impl Certificate {
    /// Parses a DER certificate. Trailing bytes, a non-DER encoding, a
    /// repeated extension, or more than [`MAX_CERTIFICATE_SIZE`] bytes are
    /// [`Error::Malformed`].
    pub fn from_der(der: &[u8]) -> Result<Self> {
        if der.len() > MAX_CERTIFICATE_SIZE {
            return Err(Error::malformed(
                WHAT,
                format!(
                    "{} bytes, over crpki's limit of {MAX_CERTIFICATE_SIZE} bytes for one certificate",
                    der.len()
                ),
            ));
        }
        let inner = x509_cert::Certificate::from_der(der).map_err(|e| Error::malformed_from(WHAT, e))?;
        let spki_der = inner
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(|e| Error::malformed_from(WHAT, e))?;
        let tbs = tbs_range(der).map_err(|e| Error::malformed_from(WHAT, e))?;
        let exts = inner
            .tbs_certificate()
            .extensions()
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut seen = std::collections::HashSet::with_capacity(exts.len());
        for e in exts {
            if !seen.insert(&e.extn_id) {
                return Err(Error::malformed(
                    WHAT,
                    format!("extension {} appears more than once", e.extn_id),
                ));
            }
        }
        Ok(Self {
            der: der.to_vec(),
            inner,
            spki_der,
            tbs,
        })
    }

    /// Parses exactly one PEM `CERTIFICATE` block; text outside the block
    /// (such as openssl's `subject=` lines) is ignored.
    pub fn from_pem(pem: &str) -> Result<Self> {
        let mut all = pem_blocks(pem)?;
        match all.len() {
            1 => Ok(all.remove(0)),
            0 => Err(Error::malformed(WHAT, "no PEM CERTIFICATE block")),
            n => Err(Error::malformed(
                WHAT,
                format!("expected one PEM certificate, found {n}"),
            )),
        }
    }

    /// Parses one certificate, DER or PEM, whichever `data` is.
    pub fn from_pem_or_der(data: &[u8]) -> Result<Self> {
        if looks_like_der(data) {
            Self::from_der(data)
        } else {
            Self::from_pem(pem_text(data)?)
        }
    }

    /// Parses every certificate in `data`: a PEM bundle (all `CERTIFICATE`
    /// blocks, in order; other blocks are skipped) or a single DER
    /// certificate. No certificate at all is [`Error::Malformed`].
    pub fn parse_all(data: &[u8]) -> Result<Vec<Self>> {
        if looks_like_der(data) {
            return Ok(vec![Self::from_der(data)?]);
        }
        let all = pem_blocks(pem_text(data)?)?;
        if all.is_empty() {
            return Err(Error::malformed(WHAT, "no PEM CERTIFICATE block"));
        }
        Ok(all)
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The PEM encoding (`-----BEGIN CERTIFICATE-----`, LF line endings).
    pub fn to_pem(&self) -> String {
        // Encoding bytes we hold can only fail on absurd sizes; fall back to
        // an empty string rather than panic.
        der::pem::encode_string(PEM_LABEL, der::pem::LineEnding::LF, &self.der).unwrap_or_default()
    }

    /// The parsed structure.
    pub fn inner(&self) -> &x509_cert::Certificate {
        &self.inner
    }

    /// The exact DER of the tbsCertificate, what the issuer signed.
    pub fn tbs_der(&self) -> &[u8] {
        // The range was computed from these bytes when parsing.
        self.der.get(self.tbs.clone()).unwrap_or_default()
    }

    /// The subject's DER `SubjectPublicKeyInfo`.
    pub fn public_key_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The subject's public key.
    pub fn public_key(&self) -> Result<PublicKey> {
        PublicKey::from_spki_der(&self.spki_der)
    }

    /// The subject name, RFC 4514 string (Japanese values stay readable).
    pub fn subject(&self) -> String {
        name::to_rfc4514(self.inner.tbs_certificate().subject())
    }

    /// The issuer name, RFC 4514 string.
    pub fn issuer(&self) -> String {
        name::to_rfc4514(self.inner.tbs_certificate().issuer())
    }

    /// The subject's attribute values of type `attribute` (such as
    /// `2.5.4.3` commonName), as text, in order.
    pub fn subject_attribute(&self, attribute: ObjectIdentifier) -> Vec<String> {
        self.inner
            .tbs_certificate()
            .subject()
            .iter()
            .filter(|atv| atv.oid == attribute)
            .filter_map(|atv| name::string_value(&atv.value))
            .collect()
    }

    /// The serial number, lowercase hex without leading zero bytes (`1001`).
    pub fn serial_hex(&self) -> String {
        let bytes = self.inner.tbs_certificate().serial_number().as_bytes();
        if bytes.is_empty() {
            "00".to_string()
        } else {
            hex::encode(bytes)
        }
    }

    /// The serial number, big-endian unsigned bytes without leading zeros.
    pub fn serial_bytes(&self) -> &[u8] {
        self.inner.tbs_certificate().serial_number().as_bytes()
    }

    /// `notBefore`.
    pub fn not_before(&self) -> SystemTime {
        self.inner
            .tbs_certificate()
            .validity()
            .not_before
            .to_system_time()
    }

    /// `notAfter`.
    pub fn not_after(&self) -> SystemTime {
        self.inner.tbs_certificate().validity().not_after.to_system_time()
    }

    /// `notBefore`, RFC 3339 (`2025-01-01T00:00:00Z`).
    pub fn not_before_rfc3339(&self) -> String {
        self.inner
            .tbs_certificate()
            .validity()
            .not_before
            .to_date_time()
            .to_string()
    }

    /// `notAfter`, RFC 3339 (`2035-12-31T23:59:59Z`).
    pub fn not_after_rfc3339(&self) -> String {
        self.inner
            .tbs_certificate()
            .validity()
            .not_after
            .to_date_time()
            .to_string()
    }

    /// Whether `at` lies within `notBefore ..= notAfter`.
    pub fn is_valid_at(&self, at: SystemTime) -> bool {
        self.not_before() <= at && at <= self.not_after()
    }

    /// The extensions, in certificate order (empty for v1 certificates).
    pub fn extensions(&self) -> &[Extension] {
        self.inner
            .tbs_certificate()
            .extensions()
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The extension `oid`, if present (each appears at most once; parsing checked).
    pub fn extension(&self, oid: ObjectIdentifier) -> Option<&Extension> {
        self.extensions().iter().find(|e| e.extn_id == oid)
    }

    fn extension_value(&self, oid: ObjectIdentifier) -> Option<&[u8]> {
        self.extension(oid).map(|e| e.extn_value.as_bytes())
    }

    /// The keyUsage extension; `None` when absent (every usage allowed).
    pub fn key_usage(&self) -> Result<Option<KeyUsage>> {
        self.extension_value(oid::KEY_USAGE)
            .map(KeyUsage::from_der)
            .transpose()
    }

    /// The basicConstraints extension; `None` when absent.
    pub fn basic_constraints(&self) -> Result<Option<BasicConstraints>> {
        self.extension_value(oid::BASIC_CONSTRAINTS)
            .map(|v| {
                x509_cert::ext::pkix::BasicConstraints::from_der(v)
                    .map(|bc| BasicConstraints {
                        is_ca: bc.ca,
                        path_len: bc.path_len_constraint,
                    })
                    .map_err(|e| Error::malformed_from("basicConstraints extension", e))
            })
            .transpose()
    }

    /// The subjectKeyIdentifier, if present.
    pub fn subject_key_id(&self) -> Result<Option<Vec<u8>>> {
        self.extension_value(oid::SUBJECT_KEY_IDENTIFIER)
            .map(|v| {
                x509_cert::ext::pkix::SubjectKeyIdentifier::from_der(v)
                    .map(|ski| ski.0.as_bytes().to_vec())
                    .map_err(|e| Error::malformed_from("subjectKeyIdentifier extension", e))
            })
            .transpose()
    }

    /// The keyIdentifier of the authorityKeyIdentifier, if present.
    pub fn authority_key_id(&self) -> Result<Option<Vec<u8>>> {
        Ok(self
            .extension_value(oid::AUTHORITY_KEY_IDENTIFIER)
            .map(|v| {
                x509_cert::ext::pkix::AuthorityKeyIdentifier::from_der(v)
                    .map_err(|e| Error::malformed_from("authorityKeyIdentifier extension", e))
            })
            .transpose()?
            .and_then(|aki| aki.key_identifier.map(|k| k.as_bytes().to_vec())))
    }

    /// Whether the certificate is self-signed: subject and issuer are the
    /// same name and its signature verifies with its own key.
    pub fn is_self_signed(&self) -> bool {
        self.is_self_issued() && self.verify_signed_by(self).is_ok()
    }

    /// Whether subject and issuer are the same name.
    pub fn is_self_issued(&self) -> bool {
        let tbs = self.inner.tbs_certificate();
        name::names_match(tbs.subject(), tbs.issuer())
    }

    /// Whether `self`'s issuer name is `issuer`'s subject name.
    pub fn issuer_name_matches(&self, issuer: &Certificate) -> bool {
        name::names_match(
            self.inner.tbs_certificate().issuer(),
            issuer.inner.tbs_certificate().subject(),
        )
    }

    /// The algorithm of the issuer's signature on this certificate.
    ///
    /// RSASSA-PSS is supported with SHA-256/384/512 and MGF1 of the same
    /// hash; other parameters are [`Error::Unsupported`]. Its salt, as long
    /// as the hash or the largest the key allows, is checked by
    /// [`Certificate::verify_signed_by`].
    pub fn signature_algorithm(&self) -> Result<SignatureAlgorithm> {
        self.signature_parts().map(|(algorithm, _)| algorithm)
    }

    /// The signature algorithm and, for RSASSA-PSS, the salt length.
    fn signature_parts(&self) -> Result<(SignatureAlgorithm, Option<usize>)> {
        signature_parts(self.inner.signature_algorithm())
    }

    /// The SHA-256 of the DER encoding.
    pub fn sha256_fingerprint(&self) -> [u8; 32] {
        let digest = HashAlgorithm::Sha256.digest(&self.der);
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_bytes());
        out
    }

    /// Checks the signature on this certificate with `issuer`'s public key.
    ///
    /// A signature that does not verify, or whose algorithm does not fit the
    /// issuer's key, is [`Error::BadSignature`]; an algorithm crpki does not
    /// implement is [`Error::Unsupported`]. RSA-1024 issuer keys are accepted
    /// (older registrar certificates).
    pub fn verify_signed_by(&self, issuer: &Certificate) -> Result<()> {
        let bad = |why: &str| Error::BadSignature {
            detail: format!(
                "the signature on '{}' {why} the key of '{}'",
                self.subject(),
                issuer.subject()
            ),
        };
        if self.inner.signature_algorithm() != self.inner.tbs_certificate().signature() {
            return Err(Error::BadSignature {
                detail: format!(
                    "'{}': signatureAlgorithm differs from the signature field inside the certificate",
                    self.subject()
                ),
            });
        }
        let signature = self
            .inner
            .signature()
            .as_bytes()
            .ok_or_else(|| Error::malformed(WHAT, "signature BIT STRING has unused bits"))?;
        match issuer.verify_signature(self.inner.signature_algorithm(), self.tbs_der(), signature) {
            Err(Error::BadSignature { detail }) if detail.starts_with('(') => {
                Err(bad(&format!("{detail} cannot come from")))
            }
            Err(Error::BadSignature { .. }) => Err(bad("does not verify with")),
            other => other,
        }
    }

    /// Checks a signature made with this certificate's key over `data`
    /// (the exact signed bytes: a tbsCertificate, tbsCertList, OCSP
    /// tbsResponseData…), its algorithm named by `algorithm` as in X.509
    /// structures.
    ///
    /// A signature that does not verify, or whose algorithm does not fit
    /// the key (the detail is then the algorithm in parentheses), is
    /// [`Error::BadSignature`]; an algorithm crpki does not implement is
    /// [`Error::Unsupported`].
    pub fn verify_signature(
        &self,
        algorithm: &spki::AlgorithmIdentifierOwned,
        data: &[u8],
        signature: &[u8],
    ) -> Result<()> {
        let (algorithm, pss_salt) = signature_parts(algorithm)?;
        let key = self.public_key()?;
        if !algorithm.fits(&key.info()) {
            return Err(Error::BadSignature {
                detail: format!("({algorithm})"),
            });
        }
        match pss_salt {
            Some(salt) => key.verify_digest_pss(&algorithm.hash.digest(data), salt, signature),
            None => key.verify_message(algorithm, data, signature),
        }
    }

    /// The MOJ extensions, decoded; `None` if the certificate has none of them.
    pub fn moj(&self) -> Result<Option<MojInfo>> {
        MojInfo::from_extension_values(
            self.extension_value(moj::OID_REGISTERED_CORPORATE_INFO),
            self.extension_value(moj::OID_REGISTRAR),
            self.extension_value(moj::OID_J_CERTIFICATE_POLICIES),
        )
    }

    /// A summary for display and `--json`. MOJ fields are left empty when
    /// the MOJ extensions are absent or malformed, and escaped like the
    /// names' values ([`crate::text::escape_value`]).
    pub fn summary(&self) -> CertSummary {
        let moj = self.moj().ok().flatten().unwrap_or_default();
        let shown = |v: Option<String>| v.map(|v| crate::text::escape_value(&v).into_owned());
        CertSummary {
            subject: self.subject(),
            issuer: self.issuer(),
            serial: self.serial_hex(),
            not_before: self.not_before_rfc3339(),
            not_after: self.not_after_rfc3339(),
            corporate_number: moj.corporate_number(),
            corporate_name: shown(moj.corporate_name),
            registered_number: shown(moj.registered_number),
            corporate_address: shown(moj.corporate_address),
            director_name: shown(moj.director_name),
            director_title: shown(moj.director_title),
            registry_office: shown(moj.registry_office),
            registrar: shown(moj.registrar),
        }
    }
}

/// The byte range of the tbsCertificate inside a certificate's DER.
fn tbs_range(der: &[u8]) -> der::Result<Range<usize>> {
    let mut reader = der::SliceReader::new(der)?;
    der::Header::decode(&mut reader)?;
    let start = usize::try_from(reader.position())?;
    let tbs = der::Header::decode(&mut reader)?;
    let header_end = usize::try_from(reader.position())?;
    let end = header_end + usize::try_from(tbs.length())?;
    if end > der.len() {
        return Err(der::ErrorKind::Incomplete {
            expected_len: tbs.length(),
            actual_len: reader.remaining_len(),
        }
        .into());
    }
    Ok(start..end)
}

/// A certificate's DER starts with a SEQUENCE tag; PEM text never does.
fn looks_like_der(data: &[u8]) -> bool {
    data.first() == Some(&0x30)
}

fn pem_text(data: &[u8]) -> Result<&str> {
    std::str::from_utf8(data).map_err(|_| Error::malformed(WHAT, "neither DER nor PEM text"))
}

/// Every `CERTIFICATE` block of `text`, in order. Other PEM blocks and text
/// between blocks are skipped; a `CERTIFICATE` block that does not decode is
/// an error.
fn pem_blocks(text: &str) -> Result<Vec<Certificate>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(PEM_BEGIN) {
        let block = &rest[start..];
        let label_end = block[PEM_BEGIN.len()..]
            .find("-----")
            .ok_or_else(|| Error::malformed(WHAT, "unterminated PEM header"))?;
        let label = &block[PEM_BEGIN.len()..PEM_BEGIN.len() + label_end];
        let end_marker = format!("-----END {label}-----");
        let end = block
            .find(&end_marker)
            .ok_or_else(|| Error::malformed(WHAT, format!("PEM block {label} has no END line")))?;
        let whole = &block[..end + end_marker.len()];
        if label == PEM_LABEL {
            let (_, der) = der::pem::decode_vec(whole.trim().as_bytes())
                .map_err(|e| Error::malformed(WHAT, format!("PEM: {e}")))?;
            out.push(Certificate::from_der(&der)?);
        }
        rest = &block[whole.len()..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
