//! CRLs (RFC 5280 §5): read with `x509-cert`'s `CertificateList`,
//! checked against the certificate's issuer.

use std::time::SystemTime;

use der::asn1::{BitString, OctetString};
use der::{Decode, Encode};
use x509_cert::certificate::Rfc5280;
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::CrlReason;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Time;

use super::asn1::{self, SignedRaw};
use super::{Answer, AnswerSource, CertStatus, CheckOptions, RevocationReason, rfc3339};
use crate::cert::{Certificate, names_match, to_rfc4514};
use crate::crypto::{HashAlgorithm, KeyAlgorithm, PrivateKey, SignatureAlgorithm, SignatureScheme};
use crate::error::{Error, Result};

const WHAT: &str = "CRL";

/// The largest CRL read (the HTTP layer's one body limit is the same).
pub const MAX_CRL_SIZE: usize = 8 * 1024 * 1024;

/// CRL extensions crpki processes or that change nothing for a full CRL
/// of the certificate's issuer: cRLNumber and authorityKeyIdentifier.
fn known_crl_extension(oid: &const_oid::ObjectIdentifier) -> bool {
    *oid == asn1::CRL_NUMBER || *oid == crate::cert::oid::AUTHORITY_KEY_IDENTIFIER
}

/// The answer a DER CRL gives about `cert` issued by `issuer`:
/// `Ok(None)` when the CRL is another issuer's; an error when it is
/// `issuer`'s but unusable (signature, window, unsupported critical
/// extensions).
pub(crate) fn answer_for(
    der: &[u8],
    cert: &Certificate,
    issuer: &Certificate,
    options: &CheckOptions,
) -> Result<Option<Answer>> {
    if der.len() > MAX_CRL_SIZE {
        return Err(Error::malformed(
            WHAT,
            format!("{} bytes, over crpki's limit of {MAX_CRL_SIZE}", der.len()),
        ));
    }
    let crl = CertificateList::<Rfc5280>::from_der(der).map_err(|e| Error::malformed_from(WHAT, e))?;
    let tbs = &crl.tbs_cert_list;
    if !names_match(&tbs.issuer, issuer.inner().tbs_certificate().subject()) {
        return Ok(None);
    }
    let raw = SignedRaw::from_der(der).map_err(|e| Error::malformed_from(WHAT, e))?;
    let signed = raw.tbs.to_der().map_err(|e| Error::malformed_from(WHAT, e))?;
    let signature = raw
        .signature
        .as_bytes()
        .ok_or_else(|| Error::malformed(WHAT, "signature BIT STRING has unused bits"))?;
    if crl.signature_algorithm != tbs.signature {
        return Err(Error::BadSignature {
            detail: "the CRL's signatureAlgorithm differs from the signature field inside it".into(),
        });
    }
    issuer
        .verify_signature(&crl.signature_algorithm, &signed, signature)
        .map_err(|e| match e {
            Error::BadSignature { .. } => Error::BadSignature {
                detail: format!(
                    "the signature on the CRL of '{}' does not verify with its key",
                    to_rfc4514(&tbs.issuer)
                ),
            },
            other => other,
        })?;
    if let Some(ext) = tbs
        .crl_extensions
        .iter()
        .flatten()
        .find(|e| e.critical && !known_crl_extension(&e.extn_id))
    {
        return Err(Error::unsupported(format!(
            "CRL with the critical extension {} (partitioned or delta CRLs are not read)",
            ext.extn_id
        )));
    }
    let this_update = tbs.this_update.to_system_time();
    let next_update = tbs.next_update.map(|t| t.to_system_time());
    options
        .check_window(this_update, next_update)
        .map_err(|why| Error::malformed(WHAT, format!("the CRL is not current: {why}")))?;
    let serial = cert.serial_bytes();
    let entry = tbs
        .revoked_certificates
        .iter()
        .flatten()
        .find(|r| r.serial_number.as_bytes() == serial);
    let status = match entry {
        None => CertStatus::Good,
        Some(entry) => {
            let mut reason = None;
            for ext in entry.crl_entry_extensions.iter().flatten() {
                if ext.extn_id == asn1::CRL_REASON {
                    let r = CrlReason::from_der(ext.extn_value.as_bytes())
                        .map_err(|e| Error::malformed_from(WHAT, e))?;
                    reason = Some(RevocationReason::from_x509(r));
                } else if ext.critical && ext.extn_id != asn1::INVALIDITY_DATE {
                    return Err(Error::unsupported(format!(
                        "CRL entry with the critical extension {} (indirect CRLs are not read)",
                        ext.extn_id
                    )));
                }
            }
            if reason == Some(RevocationReason::RemoveFromCrl) {
                CertStatus::Good
            } else {
                CertStatus::Revoked {
                    time: rfc3339(entry.revocation_date.to_system_time()),
                    reason,
                }
            }
        }
    };
    Ok(Some(Answer {
        status,
        source: AnswerSource::Crl,
        url: None,
        this_update: rfc3339(this_update),
        next_update: next_update.map(rfc3339),
    }))
}

/// One revoked certificate, for [`build_crl`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrlEntry {
    /// The certificate's serial number (its INTEGER's bytes).
    pub serial: Vec<u8>,
    /// When it was revoked.
    pub time: SystemTime,
    /// Why.
    pub reason: Option<RevocationReason>,
}

/// A DER CRL (v2) of `issuer` listing `entries`, signed with `key`
/// (SHA-256 with RSA PKCS#1 v1.5 or ECDSA), for CRL issuers such as the
/// sandbox and for tests.
pub fn build_crl(
    issuer: &Certificate,
    key: &PrivateKey,
    this_update: SystemTime,
    next_update: SystemTime,
    entries: &[CrlEntry],
) -> Result<Vec<u8>> {
    let bad = |e: der::Error| Error::malformed_from(WHAT, e);
    let algorithm = signing_algorithm(key);
    let revoked = entries
        .iter()
        .map(|entry| {
            let reason = entry
                .reason
                .map(|r| -> Result<Vec<Extension>> {
                    Ok(vec![Extension {
                        extn_id: asn1::CRL_REASON,
                        critical: false,
                        extn_value: OctetString::new(r.to_x509().to_der().map_err(bad)?).map_err(bad)?,
                    }])
                })
                .transpose()?;
            Ok(RevokedCert {
                serial_number: SerialNumber::<Rfc5280>::new(&entry.serial).map_err(bad)?,
                revocation_date: Time::try_from(entry.time).map_err(bad)?,
                crl_entry_extensions: reason,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let tbs: TbsCertList = TbsCertList {
        version: x509_cert::Version::V2,
        signature: algorithm.algorithm_identifier()?,
        issuer: issuer.inner().tbs_certificate().subject().clone(),
        this_update: Time::try_from(this_update).map_err(bad)?,
        next_update: Some(Time::try_from(next_update).map_err(bad)?),
        revoked_certificates: (!revoked.is_empty()).then_some(revoked),
        crl_extensions: None,
    };
    let tbs_der = tbs.to_der().map_err(bad)?;
    let signature = key.sign_digest(algorithm, &algorithm.hash.digest(&tbs_der))?;
    CertificateList {
        tbs_cert_list: tbs,
        signature_algorithm: algorithm.algorithm_identifier()?,
        signature: BitString::from_bytes(&signature).map_err(bad)?,
    }
    .to_der()
    .map_err(bad)
}

/// SHA-256 with the key's scheme: what our issuers sign CRLs and OCSP
/// responses with.
pub(crate) fn signing_algorithm(key: &PrivateKey) -> SignatureAlgorithm {
    let scheme = match key.info().algorithm {
        KeyAlgorithm::Rsa => SignatureScheme::RsaPkcs1v15,
        KeyAlgorithm::EcP256 => SignatureScheme::Ecdsa,
    };
    SignatureAlgorithm::new(scheme, HashAlgorithm::Sha256)
}
