//! The e-Gov application manifest (`kousei.xml`): its signature inside
//! `<署名情報>`, over `<構成情報 ID="構成情報">` and the application files
//! it names. See the room's docs for the layout and where it comes from.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use roxmltree::{Document, Node};

use super::c14n::{self, C14nMethod, Subset};
use super::dsig::{self, RefSpec};
use super::sign::{Placement, Prepared, before_end_tag, place};
use crate::crypto::HashAlgorithm;
use crate::error::{Error, Result};
use crate::signer::RemoteSigner;

/// The ID of the signed part of the manifest, `構成情報`.
pub const EGOV_MANIFEST_ID: &str = "構成情報";

/// The elements of `<構成情報>` that name application files.
const FILE_ELEMENTS: [&str; 2] = ["申請書ファイル名称", "添付書類ファイル名称"];

/// The element that holds the signatures.
const SIGNATURES: &str = "署名情報";

/// The application files `<構成情報>` names, in document order, each once.
pub fn egov_files(doc: &Document<'_>) -> Result<Vec<String>> {
    let manifest = super::element_by_id(doc, EGOV_MANIFEST_ID)?;
    let mut names: Vec<String> = Vec::new();
    for n in manifest.descendants().filter(|n| n.is_element()) {
        if FILE_ELEMENTS.contains(&n.tag_name().name()) {
            let name = n.text().unwrap_or("").trim().to_owned();
            if !name.is_empty() && !names.contains(&name) {
                names.push(name);
            }
        }
    }
    Ok(names)
}

/// The signature's Id, as e-Gov clients make it: the signing time
/// `yyyyMMddHHmmss` (Japan time), made unique in the document.
fn signature_id(doc: &Document<'_>, now: SystemTime) -> String {
    let t = time::OffsetDateTime::from(now)
        .to_offset(time::UtcOffset::from_hms(9, 0, 0).unwrap_or(time::UtcOffset::UTC));
    let base = format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let taken = |id: &str| {
        doc.descendants()
            .any(|n| ["Id", "ID", "id"].iter().any(|a| n.attribute(*a) == Some(id)))
    };
    let mut id = base.clone();
    let mut n = 2;
    while taken(&id) {
        id = format!("{base}-{n}");
        n += 1;
    }
    id
}

fn prefix_of<'i>(text: &'i str, node: Node<'_, 'i>) -> &'i str {
    c14n::qname_of(text, node).split_once(':').map_or("", |(p, _)| p)
}

/// How to make an e-Gov signature.
#[derive(Clone, Debug, Default)]
pub struct EgovOptions {
    /// The signing time the signature's Id is made from (default now).
    pub signing_time: Option<SystemTime>,
    /// Write the manifest reference as the IRI `#構成情報` instead of
    /// e-Gov's percent-encoded `#%E6%A7%8B%E6%88%90%E6%83%85%E5%A0%B1`.
    /// xmlsec1 1.2 resolves only this form (it does not decode the
    /// fragment); e-Gov clients write the encoded one.
    pub iri_reference: bool,
}

/// Prepares the e-Gov signature of the manifest `text`, whose application
/// files are read from `dir` (they must exist there; names leading
/// outside are refused).
pub fn prepare_egov(
    signer: &dyn RemoteSigner,
    text: &str,
    dir: &Path,
    options: &EgovOptions,
) -> Result<Prepared> {
    let now = options.signing_time.unwrap_or_else(SystemTime::now);
    let doc = super::parse(text)?;
    let manifest = super::element_by_id(&doc, EGOV_MANIFEST_ID)?;
    let method = C14nMethod::inclusive();
    let hash = HashAlgorithm::Sha256;
    let canonical = c14n::canonicalize(
        &doc,
        Subset {
            apex: Some(manifest),
            exclude: None,
            comments: false,
        },
        &method,
    )?;
    let mut refs = vec![RefSpec {
        uri: if options.iri_reference {
            format!("#{EGOV_MANIFEST_ID}")
        } else {
            format!("#{}", super::percent_encode(EGOV_MANIFEST_ID))
        },
        transforms: vec![method.uri()],
        digest: hash.digest(&canonical),
    }];
    let mut files: Vec<(PathBuf, crate::Digest)> = Vec::new();
    for name in egov_files(&doc)? {
        if name.contains('%') {
            return Err(Error::invalid_argument(format!(
                "application file name {name:?}: '%' is refused in names"
            )));
        }
        let path = super::resolve_detached(dir, &name)?;
        let digest = crate::crypto::digest_file(hash, &path)?;
        refs.push(RefSpec {
            uri: name,
            transforms: Vec::new(),
            digest: digest.clone(),
        });
        files.push((path, digest));
    }
    let id = signature_id(&doc, now);
    let alg = super::sign::algorithm(signer)?;
    let (sig, value_offset) = dsig::signature_xml(Some(&id), &method, alg, &refs, signer.certificate());

    let existing = doc
        .descendants()
        .find(|n| n.is_element() && n.tag_name().name() == SIGNATURES);
    match existing {
        Some(holder) => {
            let (text, at) = before_end_tag(text, holder)?;
            let placement = Placement {
                at,
                insert: &sig,
                sig_offset: 0,
                value_offset,
            };
            place(signer, &text, placement, &method, files)
        }
        None => {
            let prefix = prefix_of(text, manifest);
            let qname = if prefix.is_empty() {
                SIGNATURES.to_owned()
            } else {
                format!("{prefix}:{SIGNATURES}")
            };
            let open = format!("<{qname}>");
            let insert = format!("{open}{sig}</{qname}>");
            let placement = Placement {
                at: manifest.range().end,
                insert: &insert,
                sig_offset: open.len(),
                value_offset,
            };
            place(signer, text, placement, &method, files)
        }
    }
}

/// Signs the manifest at `path` in place; see [`sign_egov_files`].
pub async fn sign_egov_file(signer: &dyn RemoteSigner, path: &Path, options: &EgovOptions) -> Result<()> {
    sign_egov_files(signer, std::slice::from_ref(&path.to_path_buf()), options).await
}

/// Signs several manifests in place with one call to the signer (one
/// authorization at a remote service), all or nothing: the application
/// files each names must be in its directory and unchanged while
/// signing, and every manifest is replaced (atomically, each by a rename)
/// only when all are signed and none changed meanwhile.
pub async fn sign_egov_files(
    signer: &dyn RemoteSigner,
    paths: &[PathBuf],
    options: &EgovOptions,
) -> Result<()> {
    for (i, p) in paths.iter().enumerate() {
        if paths[..i].contains(p) {
            return Err(Error::invalid_argument(format!(
                "{} is named twice",
                crate::text::path(p)
            )));
        }
    }
    let output =
        crate::cms::OutputBatch::prepare(paths.iter().map(PathBuf::as_path), crate::cms::Existing::Replace)?;
    let mut originals = Vec::with_capacity(paths.len());
    let mut prepared = Vec::with_capacity(paths.len());
    for path in paths {
        let original = crate::cms::read_limited(path, super::MAX_XML_SIZE, "XML document")?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        prepared.push(prepare_egov(signer, super::decode(&original)?, &dir, options)?);
        originals.push(original);
    }
    let signed = super::sign_prepared(signer, prepared).await?;
    for (path, original) in paths.iter().zip(&originals) {
        let again = crate::cms::read_limited(path, super::MAX_XML_SIZE, "XML document")?;
        if again != *original {
            return Err(Error::invalid_argument(format!(
                "{} changed while it was being signed: nothing was written",
                crate::text::path(path)
            )));
        }
    }
    output.commit(&signed)
}
