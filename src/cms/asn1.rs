//! The ASN.1 pieces the `cms` crate does not model (ESS signing-certificate
//! attributes, RSASSA-PSS parameters), algorithm identifiers, and a small
//! TLV splitter used where the exact input bytes matter.

use const_oid::ObjectIdentifier;
use der::asn1::{Any, AnyRef};
use der::{Decode, Encode, Reader, SliceReader, Tag, Tagged};
use spki::AlgorithmIdentifierOwned;

use const_oid::db::rfc5911;

use crate::crypto::{HashAlgorithm, SignatureAlgorithm, algid};
use crate::error::{Error, Result};

/// id-data
pub(crate) const ID_DATA: ObjectIdentifier = rfc5911::ID_DATA;
/// id-signedData
pub(crate) const ID_SIGNED_DATA: ObjectIdentifier = rfc5911::ID_SIGNED_DATA;
/// id-contentType
pub(crate) const ID_CONTENT_TYPE: ObjectIdentifier = rfc5911::ID_CONTENT_TYPE;
/// id-messageDigest
pub(crate) const ID_MESSAGE_DIGEST: ObjectIdentifier = rfc5911::ID_MESSAGE_DIGEST;
/// id-signingTime
pub(crate) const ID_SIGNING_TIME: ObjectIdentifier = rfc5911::ID_SIGNING_TIME;
/// id-aa-signingCertificateV2 (RFC 5035)
pub(crate) const ID_AA_SIGNING_CERTIFICATE_V2: ObjectIdentifier = rfc5911::ID_AA_SIGNING_CERTIFICATE_V_2;

/// What every error about an input CMS structure calls it.
pub(crate) const WHAT: &str = "CMS signature";

pub(crate) fn malformed(detail: impl Into<String>) -> Error {
    Error::malformed(WHAT, detail)
}

pub(crate) fn malformed_der(e: der::Error) -> Error {
    Error::malformed_from(WHAT, e)
}

pub(crate) use crate::cert::ess::{EssCertIdV2, IssuerSerial, SigningCertificateV2};

/// The digest AlgorithmIdentifier as CMS writes it (RFC 5754: parameters absent).
pub(crate) fn digest_algorithm_id(hash: HashAlgorithm) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: hash.oid(),
        parameters: None,
    }
}

/// The signatureAlgorithm of a SignerInfo.
pub(crate) fn signature_algorithm_id(alg: SignatureAlgorithm) -> Result<AlgorithmIdentifierOwned> {
    alg.algorithm_identifier()
}

/// The hash of a digestAlgorithm (see [`algid::hash_from_id`]).
pub(crate) fn hash_from_id(id: &AlgorithmIdentifierOwned, what: &str) -> Result<HashAlgorithm> {
    algid::hash_from_id(id, WHAT, what)
}

/// The SignerInfo's signature algorithm (see [`algid::signature_algorithm_from_id`]).
pub(crate) fn signature_algorithm_from_id(
    id: &AlgorithmIdentifierOwned,
    digest: HashAlgorithm,
) -> Result<(SignatureAlgorithm, Option<usize>)> {
    algid::signature_algorithm_from_id(id, digest, WHAT)
}

/// The DER form of a BER-encoded `ContentInfo` with SignedData, or `None`
/// when `input` is not one.
///
/// Streaming encoders (Windows' `CryptMsg` with streaming, BouncyCastle's
/// `CMSSignedDataStreamGenerator`, `openssl cms -stream`) write indefinite
/// lengths. RFC 5652 still requires the signed attributes to be DER, and
/// certificates are DER, so decoding with der's BER rules into the `cms`
/// crate's types and encoding again gives those parts back byte for byte;
/// only the framing changes.
pub(crate) fn signed_data_ber_to_der(input: &[u8]) -> Option<Vec<u8>> {
    use cms::content_info::ContentInfo;
    use cms::signed_data::SignedData;

    let outer = ContentInfo::from_ber(input).ok()?;
    if outer.content_type != ID_SIGNED_DATA {
        return None;
    }
    // The content keeps its BER inside an `Any`: decode that with BER too.
    let inner = outer.content.to_der().ok()?;
    let mut reader = SliceReader::new_with_encoding_rules(&inner, der::EncodingRules::Ber).ok()?;
    let signed_data = SignedData::decode(&mut reader).ok()?;
    reader.finish().ok()?;
    ContentInfo {
        content_type: outer.content_type,
        content: Any::encode_from(&signed_data).ok()?,
    }
    .to_der()
    .ok()
}

/// Decodes an `Any` as `T` (works for CHOICE types too, which
/// `Any::decode_as` does not handle).
pub(crate) fn decode_any<T: for<'a> Decode<'a, Error = der::Error>>(any: &Any) -> Result<T> {
    let der = any.to_der().map_err(malformed_der)?;
    T::from_der(&der).map_err(malformed_der)
}

/// An encoding failure of a value crpki built itself: not the caller's input.
pub(crate) fn internal(e: der::Error) -> Error {
    Error::Other(std::sync::Arc::new(e))
}

/// One TLV of the input, with its exact bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tlv<'a> {
    pub tag: Tag,
    pub value: &'a [u8],
    pub raw: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// Exactly one DER TLV, nothing after it.
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        let any = AnyRef::from_der(bytes).map_err(malformed_der)?;
        Ok(Self {
            tag: any.tag(),
            value: any.value(),
            raw: bytes,
        })
    }

    /// The TLVs that make up this one's value (a SEQUENCE's or SET's elements).
    pub fn children(&self) -> Result<Vec<Tlv<'a>>> {
        let mut reader = SliceReader::new(self.value).map_err(malformed_der)?;
        let mut out = Vec::new();
        while !reader.is_finished() {
            let raw = reader.tlv_bytes().map_err(malformed_der)?;
            out.push(Self::parse(raw)?);
        }
        Ok(out)
    }

    /// Fails unless the tag is `tag`.
    pub fn expect(self, tag: Tag, what: &str) -> Result<Self> {
        if self.tag == tag {
            Ok(self)
        } else {
            Err(malformed(format!("{what}: expected {tag}, found {}", self.tag)))
        }
    }

    /// Decodes the exact bytes as `T`.
    pub fn decode<T: Decode<'a, Error = der::Error>>(&self) -> Result<T> {
        T::from_der(self.raw).map_err(malformed_der)
    }
}

/// `[n]` IMPLICIT or EXPLICIT constructed context tag.
pub(crate) fn context(number: u8) -> Tag {
    Tag::ContextSpecific {
        constructed: true,
        number: der::TagNumber(number.into()),
    }
}
