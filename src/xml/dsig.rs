//! The XMLDSig vocabulary we write and read: algorithm URIs and the
//! `Signature` element's text.

use base64::Engine as _;

use super::c14n::C14nMethod;
use crate::cert::Certificate;
use crate::crypto::{Digest, HashAlgorithm};

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

/// The RSA PKCS#1 v1.5 `SignatureMethod` URI with a hash, and back.
pub fn rsa_signature_uri(hash: HashAlgorithm) -> &'static str {
    match hash {
        HashAlgorithm::Sha384 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
        HashAlgorithm::Sha512 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
        _ => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    }
}

/// The hash of an RSA `SignatureMethod`; `Sha1` for rsa-sha1.
pub fn rsa_signature_hash(uri: &str) -> Option<DigestAlg> {
    Some(match uri {
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" => DigestAlg::Modern(HashAlgorithm::Sha256),
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384" => DigestAlg::Modern(HashAlgorithm::Sha384),
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512" => DigestAlg::Modern(HashAlgorithm::Sha512),
        RSA_SHA1 => DigestAlg::Sha1,
        _ => return None,
    })
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
    hash: HashAlgorithm,
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
        rsa_signature_uri(hash)
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
