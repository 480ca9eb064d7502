//! Signing: prepare each document (references digested, the `Signature`
//! placed with an empty value, its `SignedInfo` canonicalized in place and
//! hashed), then sign every prepared document with one call to the signer.

use std::path::PathBuf;

use super::c14n::{self, C14nMethod, Subset};
use super::dsig::{self, RefSpec};
use crate::crypto::{Digest, HashAlgorithm, KeyAlgorithm, SignatureAlgorithm, SignatureScheme};
use crate::error::{Error, Result};
use crate::signer::RemoteSigner;

/// A document ready for its signature value: the text with the
/// `Signature` in place, where the value goes, and what to sign.
#[derive(Debug)]
pub struct Prepared {
    text: String,
    value_at: usize,
    signed_info_digest: Digest,
    /// Detached files and the digests that were signed: checked again
    /// after signing, so a file that changed meanwhile fails the batch.
    files: Vec<(PathBuf, Digest)>,
}

impl Prepared {
    /// The SHA-256 of the canonical `SignedInfo`: what the signer signs.
    pub fn signed_info_digest(&self) -> &Digest {
        &self.signed_info_digest
    }
}

/// The signature algorithm we sign with: rsa-sha256 (what e-Gov and the
/// MOJ certificate use) for RSA keys, ecdsa-sha256 for P-256 keys.
pub(super) fn algorithm(signer: &dyn RemoteSigner) -> Result<SignatureAlgorithm> {
    let key = signer.key_info();
    let scheme = match key.algorithm {
        KeyAlgorithm::EcP256 => SignatureScheme::Ecdsa,
        _ => SignatureScheme::RsaPkcs1v15,
    };
    let alg = SignatureAlgorithm::new(scheme, HashAlgorithm::Sha256);
    if !alg.fits(&key) {
        return Err(Error::unsupported(format!("XML signatures with a {key} key")));
    }
    Ok(alg)
}

/// Where a signature goes: `insert` (whose `Signature` element starts
/// `sig_offset` bytes into it, its value `value_offset` bytes after that)
/// at byte `at` of the text.
pub(super) struct Placement<'a> {
    pub at: usize,
    pub insert: &'a str,
    pub sig_offset: usize,
    pub value_offset: usize,
}

/// The text with `element` able to take content (`<e/>` becomes
/// `<e></e>`, which canonicalizes the same) and the offset of its end tag.
pub(super) fn before_end_tag(text: &str, element: roxmltree::Node<'_, '_>) -> Result<(String, usize)> {
    let range = element.range();
    let source = &text[range.clone()];
    if source.ends_with("/>") {
        let name = c14n::qname_of(text, element);
        let mut expanded = String::with_capacity(text.len() + name.len() + 3);
        expanded.push_str(&text[..range.end - 2]);
        expanded.push('>');
        let at = expanded.len();
        expanded.push_str(&format!("</{name}>"));
        expanded.push_str(&text[range.end..]);
        return Ok((expanded, at));
    }
    let end_tag = source
        .rfind("</")
        .ok_or_else(|| Error::malformed("XML document", "an element without an end tag"))?;
    Ok((text.to_owned(), range.start + end_tag))
}

/// Inserts the signature as `placement` says and canonicalizes its
/// `SignedInfo` where it now stands.
pub(super) fn place(
    signer: &dyn RemoteSigner,
    text: &str,
    placement: Placement<'_>,
    c14n: &C14nMethod,
    files: Vec<(PathBuf, Digest)>,
) -> Result<Prepared> {
    let Placement {
        at,
        insert,
        sig_offset,
        value_offset,
    } = placement;
    let alg = algorithm(signer)?;
    let mut out = String::with_capacity(text.len() + insert.len());
    out.push_str(&text[..at]);
    out.push_str(insert);
    out.push_str(&text[at..]);
    let doc = super::parse(&out)?;
    let sig_start = at + sig_offset;
    let signature = doc
        .descendants()
        .find(|n| n.is_element() && n.range().start == sig_start)
        .ok_or_else(|| Error::invalid_argument("the signature could not be placed in the document"))?;
    let signed_info = signature
        .children()
        .find(|n| n.is_element())
        .ok_or_else(|| Error::invalid_argument("the signature has no SignedInfo"))?;
    let canonical = c14n::canonicalize(
        &doc,
        Subset {
            apex: Some(signed_info),
            exclude: None,
            comments: false,
        },
        c14n,
    )?;
    Ok(Prepared {
        signed_info_digest: alg.hash.digest(&canonical),
        value_at: sig_start + value_offset,
        text: out,
        files,
    })
}

/// Signs every prepared document with one call to the signer (one
/// authorization for the batch at a remote service) and returns the
/// signed documents, in order. A detached file that changed since it was
/// digested fails the whole batch.
pub async fn sign_prepared(signer: &dyn RemoteSigner, prepared: Vec<Prepared>) -> Result<Vec<String>> {
    if prepared.is_empty() {
        return Ok(Vec::new());
    }
    let alg = algorithm(signer)?;
    let digests: Vec<Digest> = prepared.iter().map(|p| p.signed_info_digest.clone()).collect();
    let signatures = signer.sign_digests(alg, &digests).await?;
    let mut out = Vec::with_capacity(prepared.len());
    for (p, sig) in prepared.into_iter().zip(signatures) {
        for (path, digest) in &p.files {
            let now = crate::crypto::digest_file(digest.algorithm(), path)?;
            if now != *digest {
                return Err(Error::invalid_argument(format!(
                    "{} changed while it was being signed: nothing was written",
                    crate::text::path(path)
                )));
            }
        }
        let sig = match alg.scheme {
            SignatureScheme::Ecdsa => {
                dsig::ecdsa_der_to_raw(&sig, signer.key_info().bits.div_ceil(8) as usize)?
            }
            _ => sig,
        };
        let mut text = p.text;
        text.insert_str(p.value_at, &dsig::b64(&sig));
        out.push(text);
    }
    Ok(out)
}

/// How to make an enveloped signature.
#[derive(Clone, Debug)]
pub struct EnvelopedOptions {
    /// The canonicalization of the document and of `SignedInfo`
    /// (default: exclusive C14N 1.0 without comments).
    pub c14n: C14nMethod,
    /// The signature's `Id`, if any.
    pub id: Option<String>,
}

impl Default for EnvelopedOptions {
    fn default() -> Self {
        Self {
            c14n: C14nMethod::exclusive(),
            id: None,
        }
    }
}

/// Prepares an enveloped signature of the whole document `text`
/// (`Reference URI=""`, the enveloped-signature transform, then the
/// chosen C14N), placed as the last child of the document element.
pub fn prepare_enveloped(
    signer: &dyn RemoteSigner,
    text: &str,
    options: &EnvelopedOptions,
) -> Result<Prepared> {
    let alg = algorithm(signer)?;
    let doc = super::parse(text)?;
    let root = doc.root_element();
    // The signature goes before the root's end tag, so the document's
    // text nodes are unchanged: the digest of the document as it is now
    // is the digest of the signed document less its signature.
    let canonical = c14n::canonicalize(
        &doc,
        Subset {
            apex: None,
            exclude: None,
            comments: false,
        },
        &options.c14n,
    )?;
    let reference = RefSpec {
        uri: String::new(),
        transforms: vec![dsig::ENVELOPED, options.c14n.uri()],
        digest: alg.hash.digest(&canonical),
    };
    let (sig, value_offset) = dsig::signature_xml(
        options.id.as_deref(),
        &options.c14n,
        alg,
        std::slice::from_ref(&reference),
        signer.certificate(),
    );
    let (text, at) = before_end_tag(text, root)?;
    let placement = Placement {
        at,
        insert: &sig,
        sig_offset: 0,
        value_offset,
    };
    place(signer, &text, placement, &options.c14n, Vec::new())
}

/// Signs `text` with an enveloped signature; see [`prepare_enveloped`].
pub async fn sign_enveloped(
    signer: &dyn RemoteSigner,
    text: &str,
    options: &EnvelopedOptions,
) -> Result<String> {
    let prepared = prepare_enveloped(signer, text, options)?;
    super::sign_one(signer, prepared).await
}
