//! A timestamp token (a SignedData over a TSTInfo) read and checked.

use std::time::{Duration, SystemTime};

use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerInfo};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5911;
use der::asn1::{Any, OctetString};
use der::{Decode, Encode};
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;

use super::asn1::{ID_CT_TST_INFO, TstInfo};
use super::{MAX_TOKEN_SIZE, TOKEN, Timestamp, imprint_of, parse_gen_time};
use crate::cert::Certificate;
use crate::crypto::Digest;
use crate::crypto::algid;
use crate::error::{Error, Result};

fn malformed(detail: impl Into<String>) -> Error {
    Error::malformed(TOKEN, detail)
}

fn malformed_der(e: der::Error) -> Error {
    Error::malformed_from(TOKEN, e)
}

fn bad(detail: impl Into<String>) -> Error {
    Error::BadSignature {
        detail: format!("timestamp token: {}", detail.into()),
    }
}

/// A token taken apart and its TSA signature checked, before any trust
/// decision.
struct Opened {
    tst: TstInfo,
    tsa_cert: Certificate,
    others: Vec<Certificate>,
    gen_time: SystemTime,
}

/// Checks a token (DER `ContentInfo`) for `imprint` (see the room's docs
/// for the steps and their errors). With `tsa_roots`, the TSA certificate
/// must chain to one of them at genTime; with `None` the chain is not
/// checked and [`Timestamp::trusted`] is false.
pub fn check_token(token: &[u8], imprint: &Digest, tsa_roots: Option<&[Certificate]>) -> Result<Timestamp> {
    check_token_with(token, |_| Ok(imprint.clone()), tsa_roots)
}

/// [`check_token`] for an imprint that depends on the token's own hash
/// algorithm: `imprint_for` gets it and returns the expected digest (the
/// data is hashed once, with the algorithm the TSA used; the token is
/// opened and its signature checked once).
pub fn check_token_with(
    token: &[u8],
    imprint_for: impl FnOnce(crate::crypto::HashAlgorithm) -> Result<Digest>,
    tsa_roots: Option<&[Certificate]>,
) -> Result<Timestamp> {
    let opened = open(token)?;
    let covered = imprint_of(&opened.tst.message_imprint, TOKEN)?;
    let imprint = imprint_for(covered.algorithm())?;
    if covered != imprint {
        return Err(bad(format!(
            "its message imprint ({} {}) is not the expected digest ({} {})",
            covered.algorithm(),
            hex::encode(covered.as_bytes()),
            imprint.algorithm(),
            hex::encode(imprint.as_bytes())
        )));
    }
    let (chain, trusted) = match tsa_roots {
        Some(roots) => (
            crate::cert::validate_timestamping_chain(
                &opened.tsa_cert,
                &opened.others,
                roots,
                opened.gen_time,
            )?,
            true,
        ),
        None => {
            // The purpose is checked even when trust is not.
            crate::cert::validate_timestamping_chain(
                &opened.tsa_cert,
                &[],
                std::slice::from_ref(&opened.tsa_cert),
                opened.gen_time,
            )?;
            (Vec::new(), false)
        }
    };
    Ok(finish(opened, covered, chain, trusted, token))
}

/// Reads a token and checks its TSA signature, without an imprint or a
/// trust decision (for reports: which TSA, when). [`Timestamp::trusted`] is false.
pub fn read_token(token: &[u8]) -> Result<Timestamp> {
    let opened = open(token)?;
    let covered = imprint_of(&opened.tst.message_imprint, TOKEN)?;
    Ok(finish(opened, covered, Vec::new(), false, token))
}

fn finish(
    opened: Opened,
    imprint: Digest,
    chain: Vec<Certificate>,
    trusted: bool,
    token: &[u8],
) -> Timestamp {
    let tst = &opened.tst;
    let accuracy = tst.accuracy.map(|a| {
        Duration::from_secs(u64::from(a.seconds.unwrap_or(0)))
            + Duration::from_millis(u64::from(a.millis.unwrap_or(0)))
            + Duration::from_micros(u64::from(a.micros.unwrap_or(0)))
    });
    let tsa_name = match &tst.tsa {
        Some(GeneralName::DirectoryName(name)) => name.to_string(),
        _ => opened.tsa_cert.subject(),
    };
    Timestamp {
        gen_time: opened.gen_time,
        accuracy,
        serial_hex: hex::encode(tst.serial_number.as_bytes()),
        policy: tst.policy,
        tsa_name,
        nonce: tst.nonce.as_ref().map(|n| n.as_bytes().to_vec()),
        tsa_certificate: opened.tsa_cert,
        chain,
        trusted,
        imprint,
        token: token.to_vec(),
    }
}

fn open(token: &[u8]) -> Result<Opened> {
    if token.len() > MAX_TOKEN_SIZE {
        return Err(malformed(format!(
            "{} bytes; crpki reads at most {MAX_TOKEN_SIZE}",
            token.len()
        )));
    }
    let ci = ContentInfo::from_der(token).map_err(malformed_der)?;
    if ci.content_type != rfc5911::ID_SIGNED_DATA {
        return Err(malformed(format!(
            "content type {} is not signedData",
            ci.content_type
        )));
    }
    let sd: SignedData = ci.content.decode_as().map_err(malformed_der)?;
    if sd.encap_content_info.econtent_type != ID_CT_TST_INFO {
        return Err(malformed(format!(
            "eContentType {} is not id-ct-TSTInfo",
            sd.encap_content_info.econtent_type
        )));
    }
    let econtent = sd
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or_else(|| malformed("no TSTInfo"))?;
    let tst_der: OctetString = econtent.decode_as().map_err(malformed_der)?;
    let tst_der = tst_der.as_bytes();
    let tst = TstInfo::from_der(tst_der).map_err(malformed_der)?;
    if tst.version != 1 {
        return Err(malformed(format!("TSTInfo version {}", tst.version)));
    }
    let gen_time = parse_gen_time(&tst.gen_time)?;

    let si = match sd.signer_infos.0.as_slice() {
        [one] => one,
        other => {
            return Err(malformed(format!(
                "{} SignerInfos (a token has one)",
                other.len()
            )));
        }
    };
    let mut certs = Vec::new();
    for choice in sd.certificates.iter().flat_map(|c| c.0.iter()) {
        if let CertificateChoices::Certificate(c) = choice {
            certs.push(Certificate::from_der(&c.to_der().map_err(malformed_der)?)?);
        }
    }
    let tsa_cert = crate::cert::ess::find_signer(&certs, &crate::cert::ess::SignerId::from(&si.sid))
        .cloned()
        .ok_or_else(|| malformed("the TSA certificate is not in the token (ask with certReq)"))?;
    let others: Vec<Certificate> = certs.into_iter().filter(|c| c.der() != tsa_cert.der()).collect();

    check_signer_info(si, tst_der, &tsa_cert)?;
    Ok(Opened {
        tst,
        tsa_cert,
        others,
        gen_time,
    })
}

/// The one value of the one attribute `oid`, if present.
fn single<'a>(attrs: &'a [Attribute], oid: ObjectIdentifier, name: &str) -> Result<Option<&'a Any>> {
    crate::cert::ess::single_attribute(attrs, oid, name, TOKEN)
}

fn check_signer_info(si: &SignerInfo, tst_der: &[u8], cert: &Certificate) -> Result<()> {
    let hash = algid::hash_from_id(&si.digest_alg, TOKEN, "digest algorithm")?;
    let (alg, pss_salt) = algid::signature_algorithm_from_id(&si.signature_algorithm, hash, TOKEN)?;
    let attrs = si
        .signed_attrs
        .as_ref()
        .ok_or_else(|| malformed("no signed attributes (RFC 3161 requires them)"))?;
    let list = attrs.as_slice();
    let ct = single(list, rfc5911::ID_CONTENT_TYPE, "contentType")?
        .ok_or_else(|| malformed("no contentType attribute"))?;
    let ct: ObjectIdentifier = ct.decode_as().map_err(malformed_der)?;
    if ct != ID_CT_TST_INFO {
        return Err(malformed(format!("contentType attribute {ct}")));
    }
    let md = single(list, rfc5911::ID_MESSAGE_DIGEST, "messageDigest")?
        .ok_or_else(|| malformed("no messageDigest attribute"))?;
    let md: OctetString = md.decode_as().map_err(malformed_der)?;
    if md.as_bytes() != hash.digest(tst_der).as_bytes() {
        return Err(bad("the TSTInfo does not match the signed messageDigest"));
    }
    let present = crate::cert::ess::check_signing_certificate(list, cert, TOKEN).map_err(|e| match e {
        Error::BadSignature { detail } => bad(detail),
        other => other,
    })?;
    if !present {
        return Err(malformed(
            "no ESS signingCertificate attribute (RFC 3161 requires one)",
        ));
    }
    let signed = attrs.to_der().map_err(malformed_der)?;
    let digest = hash.digest(&signed);
    let key = cert.public_key()?;
    key.verify_digest_salted(alg, pss_salt, &digest, si.signature.as_bytes())
        .map_err(|e| match e {
            Error::BadSignature { detail } => bad(format!("the TSA's signature: {detail}")),
            other => other,
        })
}
