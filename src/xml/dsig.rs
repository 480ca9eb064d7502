//! The XMLDSig vocabulary we write and read: algorithm URIs and the
//! `Signature` element's text.

use base64::Engine as _;

use super::c14n::C14nMethod;
use crate::cert::Certificate;
use crate::crypto::{Digest, HashAlgorithm, SignatureAlgorithm, SignatureScheme};
use crate::error::{Error, Result};

/// The enveloped-signature transform.
pub const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
/// rsa-sha1 (verified on request only).
pub const RSA_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
/// SHA-1 (verified on request only).
pub const SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";

/// A digest algorithm of a `DigestMethod`: ours, or legacy SHA-1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DigestAlg {
    /// SHA-256, SHA-384 or SHA-512.
    Modern(HashAlgorithm),
    /// SHA-1: verified only when asked, with a warning.
    Sha1,
}

impl DigestAlg {
    pub fn from_uri(uri: &str) -> Option<Self> {
        Some(match uri {
            "http://www.w3.org/2001/04/xmlenc#sha256" => Self::Modern(HashAlgorithm::Sha256),
            "http://www.w3.org/2001/04/xmldsig-more#sha384" => Self::Modern(HashAlgorithm::Sha384),
            "http://www.w3.org/2001/04/xmlenc#sha512" => Self::Modern(HashAlgorithm::Sha512),
            SHA1 => Self::Sha1,
            _ => return None,
        })
    }

    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Modern(h) => h.digest(data).as_bytes().to_vec(),
            Self::Sha1 => aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, data)
                .as_ref()
                .to_vec(),
        }
    }

    pub fn name(self) -> String {
        match self {
            Self::Modern(h) => h.to_string(),
            Self::Sha1 => "SHA-1".to_owned(),
        }
    }
}

/// The `DigestMethod` URI of a hash.
pub fn digest_uri(hash: HashAlgorithm) -> &'static str {
    match hash {
        HashAlgorithm::Sha384 => "http://www.w3.org/2001/04/xmldsig-more#sha384",
        HashAlgorithm::Sha512 => "http://www.w3.org/2001/04/xmlenc#sha512",
        _ => "http://www.w3.org/2001/04/xmlenc#sha256",
    }
}

/// The `SignatureMethod` URIs we know: RSA PKCS#1 v1.5 and ECDSA, each
/// with its hash.
const SIGNATURE_METHODS: [(&str, SignatureScheme, DigestAlg); 7] = [
    (
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        SignatureScheme::RsaPkcs1v15,
        DigestAlg::Modern(HashAlgorithm::Sha256),
    ),
    (
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
        SignatureScheme::RsaPkcs1v15,
        DigestAlg::Modern(HashAlgorithm::Sha384),
    ),
    (
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
        SignatureScheme::RsaPkcs1v15,
        DigestAlg::Modern(HashAlgorithm::Sha512),
    ),
    (RSA_SHA1, SignatureScheme::RsaPkcs1v15, DigestAlg::Sha1),
    (
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
        SignatureScheme::Ecdsa,
        DigestAlg::Modern(HashAlgorithm::Sha256),
    ),
    (
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
        SignatureScheme::Ecdsa,
        DigestAlg::Modern(HashAlgorithm::Sha384),
    ),
    (
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
        SignatureScheme::Ecdsa,
        DigestAlg::Modern(HashAlgorithm::Sha512),
    ),
];

/// The `SignatureMethod` URI of a signature algorithm.
pub fn signature_uri(alg: SignatureAlgorithm) -> Option<&'static str> {
    SIGNATURE_METHODS
        .iter()
        .find(|(_, scheme, hash)| *scheme == alg.scheme && *hash == DigestAlg::Modern(alg.hash))
        .map(|(uri, _, _)| *uri)
}

/// The scheme and hash a `SignatureMethod` URI names.
pub fn signature_method(uri: &str) -> Option<(SignatureScheme, DigestAlg)> {
    SIGNATURE_METHODS
        .iter()
        .find(|(u, _, _)| *u == uri)
        .map(|(_, scheme, hash)| (*scheme, *hash))
}

/// `Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }`
#[derive(der::Sequence)]
struct EcdsaSigValue<'a> {
    r: der::asn1::UintRef<'a>,
    s: der::asn1::UintRef<'a>,
}

/// XMLDSig's ECDSA `SignatureValue` is r and s, each the field's length,
/// concatenated (RFC 4050), where signers give DER.
pub fn ecdsa_der_to_raw(der_sig: &[u8], field_len: usize) -> Result<Vec<u8>> {
    use der::Decode as _;
    let v = EcdsaSigValue::from_der(der_sig).map_err(|e| Error::malformed_from("ECDSA signature", e))?;
    let mut out = vec![0u8; 2 * field_len];
    for (i, n) in [v.r.as_bytes(), v.s.as_bytes()].into_iter().enumerate() {
        if n.len() > field_len {
            return Err(Error::malformed(
                "ECDSA signature",
                "an integer longer than the curve",
            ));
        }
        out[(i + 1) * field_len - n.len()..(i + 1) * field_len].copy_from_slice(n);
    }
    Ok(out)
}

/// The DER form of an XMLDSig ECDSA `SignatureValue` (r ‖ s).
pub fn ecdsa_raw_to_der(raw: &[u8]) -> Result<Vec<u8>> {
    use der::Encode as _;
    if raw.is_empty() || !raw.len().is_multiple_of(2) {
        return Err(Error::malformed("ECDSA signature", "r and s of unequal length"));
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    let strip = |b: &[u8]| -> Vec<u8> {
        let at = b
            .iter()
            .position(|x| *x != 0)
            .unwrap_or(b.len().saturating_sub(1));
        b[at..].to_vec()
    };
    let (r, s) = (strip(r), strip(s));
    let value = EcdsaSigValue {
        r: der::asn1::UintRef::new(&r).map_err(|e| Error::malformed_from("ECDSA signature", e))?,
        s: der::asn1::UintRef::new(&s).map_err(|e| Error::malformed_from("ECDSA signature", e))?,
    };
    value
        .to_der()
        .map_err(|e| Error::malformed_from("ECDSA signature", e))
}

/// One Reference to write.
pub struct RefSpec {
    /// The URI attribute, already a URI (percent-encoded where needed).
    pub uri: String,
    /// Transform algorithm URIs, in order.
    pub transforms: Vec<&'static str>,
    /// The digest of the referenced data.
    pub digest: Digest,
}

/// Escapes text for an attribute value or element content.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\r' => out.push_str("&#13;"),
            _ => out.push(c),
        }
    }
    out
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The `Signature` element with an empty `SignatureValue`, in the
/// default XMLDSig namespace, and the offset in it where the value goes.
pub fn signature_xml(
    id: Option<&str>,
    c14n: &C14nMethod,
    alg: SignatureAlgorithm,
    refs: &[RefSpec],
    cert: &Certificate,
) -> (String, usize) {
    let mut s = format!("<Signature xmlns=\"{}\"", super::DSIG_NS);
    if let Some(id) = id {
        s.push_str(&format!(" Id=\"{}\"", escape(id)));
    }
    s.push_str("><SignedInfo>");
    s.push_str(&format!(
        "<CanonicalizationMethod Algorithm=\"{}\"></CanonicalizationMethod>",
        c14n.uri()
    ));
    s.push_str(&format!(
        "<SignatureMethod Algorithm=\"{}\"></SignatureMethod>",
        signature_uri(alg).unwrap_or_default()
    ));
    for r in refs {
        s.push_str(&format!("<Reference URI=\"{}\">", escape(&r.uri)));
        if !r.transforms.is_empty() {
            s.push_str("<Transforms>");
            for t in &r.transforms {
                s.push_str(&format!("<Transform Algorithm=\"{t}\"></Transform>"));
            }
            s.push_str("</Transforms>");
        }
        s.push_str(&format!(
            "<DigestMethod Algorithm=\"{}\"></DigestMethod><DigestValue>{}</DigestValue></Reference>",
            digest_uri(r.digest.algorithm()),
            b64(r.digest.as_bytes())
        ));
    }
    s.push_str("</SignedInfo><SignatureValue>");
    let value_at = s.len();
    s.push_str("</SignatureValue><KeyInfo><X509Data><X509Certificate>");
    s.push_str(&b64(cert.der()));
    s.push_str("</X509Certificate></X509Data></KeyInfo></Signature>");
    (s, value_at)
}
