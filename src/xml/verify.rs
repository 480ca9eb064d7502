//! Verification: every `Signature` of a document, each of its References
//! (same-document and detached), its value with the key of its
//! `X509Certificate`, and the signer's chain to trusted roots.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use base64::Engine as _;
use roxmltree::{Document, Node};

use super::c14n::{self, C14nMethod, Subset};
use super::dsig::{self, DigestAlg};
use super::{DSIG_NS, element_by_id};
use crate::cert::{Certificate, MojInfo};
use crate::crypto::{SignatureAlgorithm, SignatureScheme};
use crate::error::{Error, Result};

const WHAT: &str = "XML signature";
const EXC_NS: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";

/// How to verify.
#[derive(Clone, Debug, Default)]
pub struct VerifyOptions {
    /// Where detached references are resolved (the manifest's directory);
    /// `None` refuses documents with detached references.
    pub base_dir: Option<PathBuf>,
    /// Validate the certificates at this time instead of now.
    pub at: Option<SystemTime>,
    /// Verify SHA-1 digests and rsa-sha1 (e-Gov still accepts them), each
    /// with a warning; refused otherwise.
    pub allow_sha1: bool,
}

/// What a Reference points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReferenceKind {
    /// `URI=""`: the whole document.
    Document,
    /// `URI="#id"`: the element with that ID (decoded).
    Element(String),
    /// A file beside the document.
    Detached(PathBuf),
}

/// One Reference, checked.
#[derive(Clone, Debug)]
pub struct ReferenceCheck {
    /// The URI attribute as written.
    pub uri: String,
    /// What it points at.
    pub kind: ReferenceKind,
    /// The digest algorithm's name.
    pub digest_algorithm: String,
    /// Whether the data's digest is the signed one.
    pub intact: bool,
    /// Why not, when not.
    pub detail: Option<String>,
}

/// One `Signature`, checked.
#[derive(Debug)]
pub struct SignatureCheck {
    /// Its `Id`, if any.
    pub id: Option<String>,
    /// Whether `SignatureValue` verifies over the canonical `SignedInfo`
    /// with the key of a certificate in `KeyInfo`.
    pub value_valid: bool,
    /// The signer's certificate (the `KeyInfo` certificate whose key
    /// verified the value, else the first one).
    pub signer: Option<Certificate>,
    /// The MOJ extensions of the signer's certificate, if it has them.
    pub moj: Option<MojInfo>,
    /// The chain from the signer to a trusted root, or why there is none.
    pub trust: Result<Vec<Certificate>>,
    /// Every Reference, in order.
    pub references: Vec<ReferenceCheck>,
    /// Legacy algorithms accepted on request, and the like.
    pub warnings: Vec<String>,
}

impl SignatureCheck {
    /// Value, chain and every reference good.
    pub fn is_valid(&self) -> bool {
        self.value_valid && self.trust.is_ok() && self.references.iter().all(|r| r.intact)
    }
}

/// Every signature of a document, checked.
#[derive(Debug)]
pub struct XmlVerification {
    /// The signatures, in document order (at least one).
    pub signatures: Vec<SignatureCheck>,
    /// When the chains were validated.
    pub validated_at: SystemTime,
}

impl XmlVerification {
    /// Whether every signature is valid.
    pub fn is_valid(&self) -> bool {
        self.signatures.iter().all(SignatureCheck::is_valid)
    }

    /// `Ok(self)` when valid, else the first failure as an error
    /// ([`Error::BadSignature`] or [`Error::Untrusted`]).
    pub fn into_result(self) -> Result<Self> {
        for s in &self.signatures {
            if !s.value_valid {
                return Err(Error::BadSignature {
                    detail: "SignatureValue over SignedInfo".into(),
                });
            }
            if let Some(r) = s.references.iter().find(|r| !r.intact) {
                return Err(Error::BadSignature {
                    detail: format!(
                        "Reference {:?}: {}",
                        r.uri,
                        r.detail.as_deref().unwrap_or("digest mismatch")
                    ),
                });
            }
        }
        for s in &self.signatures {
            if let Err(e) = &s.trust {
                return Err(match e {
                    Error::Untrusted(t) => Error::Untrusted(t.clone()),
                    other => Error::BadSignature {
                        detail: other.to_string(),
                    },
                });
            }
        }
        Ok(self)
    }
}

/// Checks every signature of `text` against `roots`. Malformed or
/// unsupported signatures (and refused detached references) are errors;
/// otherwise the report says what holds, see [`XmlVerification::into_result`].
pub fn verify(text: &str, roots: &[Certificate], options: &VerifyOptions) -> Result<XmlVerification> {
    let doc = super::parse(text)?;
    let validated_at = options.at.unwrap_or_else(SystemTime::now);
    let mut signatures = Vec::new();
    for sig in doc.descendants().filter(|n| {
        n.is_element() && n.tag_name().namespace() == Some(DSIG_NS) && n.tag_name().name() == "Signature"
    }) {
        signatures.push(check_signature(&doc, sig, roots, options, validated_at)?);
    }
    if signatures.is_empty() {
        return Err(Error::malformed(
            WHAT,
            "the document has no XMLDSig Signature element",
        ));
    }
    Ok(XmlVerification {
        signatures,
        validated_at,
    })
}

/// [`verify`] of a file; detached references are resolved beside it
/// unless `options.base_dir` says otherwise.
pub fn verify_file(path: &Path, roots: &[Certificate], options: &VerifyOptions) -> Result<XmlVerification> {
    let text = super::read_xml(path)?;
    let mut options = options.clone();
    if options.base_dir.is_none() {
        options.base_dir = Some(match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        });
    }
    verify(&text, roots, &options)
}

fn dsig_children<'a, 'i>(node: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.children().filter(move |n| {
        n.is_element() && n.tag_name().namespace() == Some(DSIG_NS) && n.tag_name().name() == name
    })
}

fn dsig_child<'a, 'i>(node: Node<'a, 'i>, name: &'static str) -> Result<Node<'a, 'i>> {
    dsig_children(node, name)
        .next()
        .ok_or_else(|| Error::malformed(WHAT, format!("no {name} in {}", node.tag_name().name())))
}

fn algorithm_of<'a>(node: Node<'a, '_>) -> Result<&'a str> {
    node.attribute("Algorithm")
        .ok_or_else(|| Error::malformed(WHAT, format!("{} has no Algorithm", node.tag_name().name())))
}

/// A C14N method element (CanonicalizationMethod or Transform), with an
/// exclusive method's InclusiveNamespaces PrefixList.
fn c14n_of(node: Node<'_, '_>) -> Result<Option<C14nMethod>> {
    let Some(mut method) = C14nMethod::from_uri(algorithm_of(node)?) else {
        return Ok(None);
    };
    if method.exclusive
        && let Some(inc) = node.children().find(|n| {
            n.is_element()
                && n.tag_name().namespace() == Some(EXC_NS)
                && n.tag_name().name() == "InclusiveNamespaces"
        })
    {
        method.inclusive_prefixes = inc
            .attribute("PrefixList")
            .unwrap_or("")
            .split_ascii_whitespace()
            .map(str::to_owned)
            .collect();
    }
    Ok(Some(method))
}

fn base64_of(node: Node<'_, '_>) -> Result<Vec<u8>> {
    let text: String = node
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .flat_map(|t| t.chars())
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| Error::malformed_from(WHAT, e))
}

fn legacy(alg: DigestAlg, what: &str, options: &VerifyOptions, warnings: &mut Vec<String>) -> Result<()> {
    if alg == DigestAlg::Sha1 {
        if !options.allow_sha1 {
            return Err(Error::unsupported(format!(
                "{what} uses SHA-1: verify it only if you must (--allow-sha1)"
            )));
        }
        warnings.push(format!(
            "{what} uses SHA-1, which is weak; accepted because it was asked for"
        ));
    }
    Ok(())
}

fn check_signature(
    doc: &Document<'_>,
    sig: Node<'_, '_>,
    roots: &[Certificate],
    options: &VerifyOptions,
    at: SystemTime,
) -> Result<SignatureCheck> {
    let mut warnings = Vec::new();
    let signed_info = dsig_child(sig, "SignedInfo")?;
    let c14n_node = dsig_child(signed_info, "CanonicalizationMethod")?;
    let method = c14n_of(c14n_node)?.ok_or_else(|| {
        Error::unsupported(format!(
            "CanonicalizationMethod {}",
            algorithm_of(c14n_node).unwrap_or("")
        ))
    })?;
    let sm = algorithm_of(dsig_child(signed_info, "SignatureMethod")?)?;
    let (scheme, sig_hash) =
        dsig::signature_method(sm).ok_or_else(|| Error::unsupported(format!("SignatureMethod {sm}")))?;
    legacy(sig_hash, "SignatureMethod", options, &mut warnings)?;

    let mut references = Vec::new();
    for r in dsig_children(signed_info, "Reference") {
        references.push(check_reference(doc, sig, r, options, &mut warnings)?);
    }
    if references.is_empty() {
        return Err(Error::malformed(WHAT, "SignedInfo has no Reference"));
    }
    unsigned_application_files(doc, &mut references)?;

    let value = base64_of(dsig_child(sig, "SignatureValue")?)?;
    let mut certs = Vec::new();
    if let Some(key_info) = dsig_children(sig, "KeyInfo").next() {
        for c in key_info.descendants().filter(|n| {
            n.is_element()
                && n.tag_name().namespace() == Some(DSIG_NS)
                && n.tag_name().name() == "X509Certificate"
        }) {
            certs.push(Certificate::from_der(&base64_of(c)?)?);
        }
    }
    if certs.is_empty() {
        return Err(Error::unsupported(
            "a signature without KeyInfo/X509Data/X509Certificate (the signer's certificate is needed)",
        ));
    }
    let canonical = c14n::canonicalize(
        doc,
        Subset {
            apex: Some(signed_info),
            exclude: None,
            comments: true,
        },
        &method,
    )?;
    let signer_at = certs
        .iter()
        .position(|c| verify_value(c, scheme, sig_hash, &canonical, &value));
    let value_valid = signer_at.is_some();
    let signer = certs.remove(signer_at.unwrap_or(0));
    let trust = crate::cert::validate_chain(&signer, &certs, roots, at);
    Ok(SignatureCheck {
        id: sig.attribute("Id").map(str::to_owned),
        value_valid,
        moj: signer.moj().ok().flatten(),
        signer: Some(signer),
        trust,
        references,
        warnings,
    })
}

/// An e-Gov signature over `<構成情報>` must also cover every application
/// file it names: each one without a detached Reference is reported as a
/// reference that does not hold.
fn unsigned_application_files(doc: &Document<'_>, references: &mut Vec<ReferenceCheck>) -> Result<()> {
    let manifest = ReferenceKind::Element(super::EGOV_MANIFEST_ID.to_owned());
    if !references.iter().any(|r| r.kind == manifest) {
        return Ok(());
    }
    let signed: Vec<String> = references
        .iter()
        .filter(|r| matches!(r.kind, ReferenceKind::Detached(_)))
        .filter_map(|r| super::percent_decode(&r.uri).ok())
        .collect();
    for name in super::egov_files(doc)? {
        if !signed.contains(&name) {
            references.push(ReferenceCheck {
                uri: name.clone(),
                kind: ReferenceKind::Detached(PathBuf::from(&name)),
                digest_algorithm: String::new(),
                intact: false,
                detail: Some("named in <構成情報> but not signed".to_owned()),
            });
        }
    }
    Ok(())
}

fn verify_value(
    cert: &Certificate,
    scheme: SignatureScheme,
    hash: DigestAlg,
    canonical: &[u8],
    value: &[u8],
) -> bool {
    match (scheme, hash) {
        (_, DigestAlg::Modern(h)) => {
            let value = match scheme {
                SignatureScheme::Ecdsa => match dsig::ecdsa_raw_to_der(value) {
                    Ok(der) => der,
                    Err(_) => return false,
                },
                _ => value.to_vec(),
            };
            cert.public_key().is_ok_and(|k| {
                k.verify_message(SignatureAlgorithm::new(scheme, h), canonical, &value)
                    .is_ok()
            })
        }
        (SignatureScheme::Ecdsa, DigestAlg::Sha1) => false,
        (_, DigestAlg::Sha1) => {
            let spki = cert.inner().tbs_certificate().subject_public_key_info();
            let Some(pkcs1) = spki.subject_public_key.as_bytes() else {
                return false;
            };
            aws_lc_rs::signature::UnparsedPublicKey::new(
                &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
                pkcs1,
            )
            .verify(canonical, value)
            .is_ok()
        }
    }
}

fn check_reference(
    doc: &Document<'_>,
    sig: Node<'_, '_>,
    r: Node<'_, '_>,
    options: &VerifyOptions,
    warnings: &mut Vec<String>,
) -> Result<ReferenceCheck> {
    let uri = r
        .attribute("URI")
        .ok_or_else(|| Error::unsupported("a Reference without URI"))?
        .to_owned();
    let dm = algorithm_of(dsig_child(r, "DigestMethod")?)?;
    let alg = DigestAlg::from_uri(dm).ok_or_else(|| Error::unsupported(format!("DigestMethod {dm}")))?;
    legacy(alg, &format!("Reference {uri:?}"), options, warnings)?;
    let expected = base64_of(dsig_child(r, "DigestValue")?)?;
    let transforms: Vec<Node<'_, '_>> = match dsig_children(r, "Transforms").next() {
        Some(t) => dsig_children(t, "Transform").collect(),
        None => Vec::new(),
    };

    let (kind, actual) = if uri.is_empty() || uri.starts_with('#') {
        let (kind, apex) = if uri.is_empty() {
            (ReferenceKind::Document, None)
        } else {
            let id = super::percent_decode(&uri[1..])?;
            if id.starts_with("xpointer(") {
                return Err(Error::unsupported(format!("XPointer reference {uri:?}")));
            }
            let apex = element_by_id(doc, &id)?;
            (ReferenceKind::Element(id), Some(apex))
        };
        let mut exclude = None;
        let mut method = None;
        for t in &transforms {
            if method.is_some() {
                return Err(Error::unsupported("a transform after canonicalization"));
            }
            let a = algorithm_of(*t)?;
            if a == dsig::ENVELOPED {
                exclude = Some(sig);
            } else if let Some(m) = c14n_of(*t)? {
                method = Some(m);
            } else {
                return Err(Error::unsupported(format!("Transform {a}")));
            }
        }
        let method = method.unwrap_or_else(C14nMethod::inclusive);
        let canonical = c14n::canonicalize(
            doc,
            Subset {
                apex,
                exclude,
                comments: false,
            },
            &method,
        )?;
        (kind, Some(alg.digest(&canonical)))
    } else {
        if !transforms.is_empty() {
            return Err(Error::unsupported(format!(
                "transforms on the detached reference {uri:?}"
            )));
        }
        let dir = options.base_dir.as_deref().ok_or_else(|| {
            Error::invalid_argument(format!(
                "the detached reference {uri:?} needs the document's directory"
            ))
        })?;
        match super::resolve_detached(dir, &uri) {
            Ok(path) => {
                let digest = match alg {
                    DigestAlg::Modern(h) => crate::crypto::digest_file(h, &path)?.as_bytes().to_vec(),
                    DigestAlg::Sha1 => {
                        let data = std::fs::read(&path)
                            .map_err(|e| Error::io(format!("reading {}", crate::text::path(&path)), e))?;
                        alg.digest(&data)
                    }
                };
                (ReferenceKind::Detached(path), Some(digest))
            }
            Err(Error::Io { .. }) => (ReferenceKind::Detached(dir.join(&uri)), None),
            Err(e) => return Err(e),
        }
    };
    let (intact, detail) = match actual {
        None => (false, Some("the file is missing".to_owned())),
        Some(d) if d == expected => (true, None),
        Some(_) => (
            false,
            Some("digest mismatch: the data changed after signing".to_owned()),
        ),
    };
    Ok(ReferenceCheck {
        uri,
        kind,
        digest_algorithm: alg.name(),
        intact,
        detail,
    })
}
