//! Verifying a detached SignedData against content and trusted roots.

use std::io::Read;
use std::time::SystemTime;

use const_oid::ObjectIdentifier;
use der::asn1::{Any, OctetString};
use der::{Encode, Header, Length, Tag};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::{Attribute, Attributes};
use x509_cert::time::Time;

use cms::signed_data::EncapsulatedContentInfo;

use super::VerifiedSignature;
use super::asn1::{self, Tlv, context, decode_any, malformed, malformed_der};
use crate::cert::Certificate;
use crate::cert::ess::{SignerId, find_signer};
use crate::error::{Error, Result};

struct SignedAttrs {
    /// The attributes' exact bytes re-tagged as a SET: what was signed.
    der: Vec<u8>,
    list: Vec<Attribute>,
}

struct ParsedSignerInfo<'a> {
    sid: SignerId,
    digest_alg: AlgorithmIdentifierOwned,
    signed_attrs: Option<SignedAttrs>,
    signature_alg: AlgorithmIdentifierOwned,
    signature: &'a [u8],
    /// The unsigned attributes' value bytes (inside `[1]`), if any.
    unsigned_attrs: Option<&'a [u8]>,
}

struct ParsedSignedData<'a> {
    econtent_type: ObjectIdentifier,
    certificates: Vec<Certificate>,
    signer_infos: Vec<ParsedSignerInfo<'a>>,
}

/// See [`super::verify_detached`].
pub(super) fn verify_detached(
    signature: &[u8],
    content: impl Read,
    trusted_roots: &[Certificate],
    tsa_roots: &[Certificate],
    at: Option<SystemTime>,
) -> Result<VerifiedSignature> {
    if signature.len() > super::MAX_SIGNATURE_SIZE {
        return Err(malformed(format!(
            "{} bytes; crpki reads at most {} bytes",
            signature.len(),
            super::MAX_SIGNATURE_SIZE
        )));
    }
    let input = super::decode_input(signature)?;
    // DER first; BER (indefinite lengths, from streaming encoders) only
    // when the DER reading fails, so that a DER signature is read once and
    // its exact bytes are what is checked.
    let normalized: Vec<u8>;
    let parsed = match parse(&input) {
        Ok(parsed) => parsed,
        Err(e @ Error::Malformed { .. }) => match asn1::signed_data_ber_to_der(&input) {
            Some(der) if der != *input => {
                tracing::debug!(
                    ber = input.len(),
                    der = der.len(),
                    "CMS signature is BER: verifying its DER form"
                );
                normalized = der;
                parse(&normalized)?
            }
            _ => return Err(e),
        },
        Err(e) => return Err(e),
    };

    let si = match parsed.signer_infos.as_slice() {
        [one] => one,
        [] => return Err(malformed("no SignerInfo")),
        many => {
            return Err(Error::unsupported(format!(
                "a CMS signature with {} signers (crpki verifies exactly one)",
                many.len()
            )));
        }
    };
    let signer = find_signer(&parsed.certificates, &si.sid)
        .cloned()
        .ok_or_else(|| malformed("the signer's certificate is not among the certificates in the CMS"))?;
    let hash = asn1::hash_from_id(&si.digest_alg, "digest algorithm")?;
    let (algorithm, pss_salt) = asn1::signature_algorithm_from_id(&si.signature_alg, hash)?;
    let public_key = signer.public_key()?;
    let check = |digest: &crate::Digest| {
        public_key
            .verify_digest_salted(algorithm, pss_salt, digest, si.signature)
            .map_err(|e| match e {
                Error::BadSignature { detail } => Error::BadSignature {
                    detail: format!("the CMS signer's signature: {detail}"),
                },
                other => other,
            })
    };

    let mut hasher = hash.hasher();
    hasher
        .update_reader(content)
        .map_err(|e| Error::io("reading the signed content", e))?;
    let content_digest = hasher.finish();

    let mut signing_time = None;
    match &si.signed_attrs {
        Some(attrs) => {
            let md = single(&attrs.list, asn1::ID_MESSAGE_DIGEST, "messageDigest")?
                .ok_or_else(|| malformed("the signed attributes lack messageDigest"))?;
            let md: OctetString = decode_any(md)?;
            if md.as_bytes() != content_digest.as_bytes() {
                return Err(Error::ContentModified);
            }
            check(&hash.digest(&attrs.der))?;
            let ct = single(&attrs.list, asn1::ID_CONTENT_TYPE, "contentType")?
                .ok_or_else(|| malformed("the signed attributes lack contentType"))?;
            let ct: ObjectIdentifier = decode_any(ct)?;
            if ct != parsed.econtent_type {
                return Err(malformed(format!(
                    "the contentType attribute ({ct}) differs from the encapsulated content type ({})",
                    parsed.econtent_type
                )));
            }
            if let Some(t) = single(&attrs.list, asn1::ID_SIGNING_TIME, "signingTime")? {
                let t: Time = decode_any(t)?;
                signing_time = Some(t.to_system_time());
            }
            crate::cert::ess::check_signing_certificate(&attrs.list, &signer, asn1::WHAT)?;
        }
        None => {
            // RFC 5652 §5.3: without signed attributes the signature is
            // over the content itself, allowed only for id-data.
            if parsed.econtent_type != asn1::ID_DATA {
                return Err(malformed(
                    "signed attributes are required for a content type other than id-data",
                ));
            }
            check(&content_digest)?;
        }
    }

    let mut intermediates: Vec<Certificate> = Vec::new();
    for c in &parsed.certificates {
        // The same certificate twice is one candidate.
        if c.der() != signer.der() && !intermediates.iter().any(|i| i.der() == c.der()) {
            intermediates.push(c.clone());
        }
    }
    // Never the signingTime attribute: it is the signer's claim, not a
    // proof. A signature timestamp from a TSA the caller trusts is one.
    let timestamp = super::timestamp::check_attached(si.unsigned_attrs, si.signature, tsa_roots)?;
    let at = at
        .or_else(|| timestamp.as_ref().filter(|t| t.trusted).map(|t| t.gen_time))
        .unwrap_or_else(SystemTime::now);
    let chain = crate::cert::validate_chain(&signer, &intermediates, trusted_roots, at)?;
    let moj = signer.moj()?;

    Ok(VerifiedSignature {
        signer,
        chain,
        signing_time,
        validated_at: at,
        digest_algorithm: hash,
        signature_algorithm: algorithm,
        content_digest,
        moj,
        timestamp,
    })
}

fn parse(der: &[u8]) -> Result<ParsedSignedData<'_>> {
    let content_info = Tlv::parse(der)?.expect(Tag::Sequence, "ContentInfo")?;
    let [content_type, content] = content_info.children()?[..] else {
        return Err(malformed("ContentInfo must have two elements"));
    };
    let content_type: ObjectIdentifier = content_type.decode()?;
    if content_type != asn1::ID_SIGNED_DATA {
        return Err(malformed(format!(
            "content type {content_type} is not signedData"
        )));
    }
    let content = content.expect(context(0), "ContentInfo content")?;
    let signed_data = Tlv::parse(content.value)?.expect(Tag::Sequence, "SignedData")?;

    let fields = signed_data.children()?;
    let mut fields = fields.into_iter().peekable();
    let mut next = |what: &str| {
        fields
            .next()
            .ok_or_else(|| malformed(format!("SignedData lacks {what}")))
    };
    let version: u8 = next("version")?.decode()?;
    if ![1, 3, 4, 5].contains(&version) {
        return Err(malformed(format!("SignedData version {version}")));
    }
    next("digestAlgorithms")?.expect(Tag::Set, "SignedData digestAlgorithms")?;
    let encap: EncapsulatedContentInfo = next("encapContentInfo")?.decode()?;
    if encap.econtent.is_some() {
        return Err(Error::unsupported(
            "a CMS signature with embedded content (crpki verifies detached signatures)",
        ));
    }
    let mut certificates = Vec::new();
    let mut field = next("signerInfos")?;
    if field.tag == context(0) {
        for choice in field.children()? {
            // Other CertificateChoices (attribute certificates, …) are
            // never a signer's certificate: skip them.
            if choice.tag == Tag::Sequence {
                if certificates.len() == super::MAX_CERTIFICATES {
                    return Err(malformed(format!(
                        "more than {} certificates; crpki reads at most that many",
                        super::MAX_CERTIFICATES
                    )));
                }
                certificates.push(Certificate::from_der(choice.raw)?);
            }
        }
        field = next("signerInfos")?;
    }
    if field.tag == context(1) {
        field = next("signerInfos")?;
    }
    let signer_infos = field
        .expect(Tag::Set, "SignedData signerInfos")?
        .children()?
        .into_iter()
        .map(parse_signer_info)
        .collect::<Result<Vec<_>>>()?;
    if fields.next().is_some() {
        return Err(malformed("unexpected data after SignedData signerInfos"));
    }
    Ok(ParsedSignedData {
        econtent_type: encap.econtent_type,
        certificates,
        signer_infos,
    })
}

fn parse_signer_info(tlv: Tlv<'_>) -> Result<ParsedSignerInfo<'_>> {
    let tlv = tlv.expect(Tag::Sequence, "SignerInfo")?;
    let fields = tlv.children()?;
    let mut fields = fields.into_iter();
    let mut next = |what: &str| {
        fields
            .next()
            .ok_or_else(|| malformed(format!("SignerInfo lacks {what}")))
    };
    let version: u8 = next("version")?.decode()?;
    let sid = next("sid")?;
    // RFC 5652 §5.3: version 1 goes with issuerAndSerialNumber, 3 with subjectKeyIdentifier.
    let sid = match (sid.tag, version) {
        (Tag::Sequence, 1) => SignerId::IssuerAndSerial(sid.decode()?),
        (
            Tag::ContextSpecific {
                constructed: false,
                number,
            },
            3,
        ) if number.value() == 0 => SignerId::SubjectKeyId(sid.value.to_vec()),
        (tag, version) => {
            return Err(malformed(format!(
                "SignerInfo version {version} with a sid tagged {tag}"
            )));
        }
    };
    let digest_alg: AlgorithmIdentifierOwned = next("digestAlgorithm")?.decode()?;
    let mut field = next("signatureAlgorithm")?;
    let mut signed_attrs = None;
    if field.tag == context(0) {
        // The signature covers the attributes' own bytes with the SET tag,
        // not a re-encoding: a re-encoding may reorder a SET OF.
        let len = Length::try_from(field.value.len()).map_err(malformed_der)?;
        let mut der = Header::new(Tag::Set, len).to_der().map_err(malformed_der)?;
        der.extend_from_slice(field.value);
        let list = Tlv::parse(&der)?.decode::<Attributes>()?.into_vec();
        signed_attrs = Some(SignedAttrs { der, list });
        field = next("signatureAlgorithm")?;
    }
    let signature_alg: AlgorithmIdentifierOwned = field.decode()?;
    let signature = next("signature")?
        .expect(Tag::OctetString, "SignerInfo signature")?
        .value;
    let unsigned_attrs = match fields.next() {
        None => None,
        Some(f) if f.tag == context(1) && fields.next().is_none() => Some(f.value),
        Some(_) => return Err(malformed("unexpected data after the SignerInfo signature")),
    };
    Ok(ParsedSignerInfo {
        sid,
        digest_alg,
        signed_attrs,
        signature_alg,
        signature,
        unsigned_attrs,
    })
}

/// The one value of the one attribute of type `oid`, if present.
fn single<'a>(attrs: &'a [Attribute], oid: ObjectIdentifier, name: &str) -> Result<Option<&'a Any>> {
    crate::cert::ess::single_attribute(attrs, oid, name, asn1::WHAT)
}
