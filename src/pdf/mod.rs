//! PDF signatures (PAdES baseline, and `adbe.pkcs7.detached` as MOJ's
//! Acrobat plug-in writes it) through any [`RemoteSigner`], and their
//! verification.
//!
//! Signing appends an **incremental update** to the file: the original
//! bytes stay untouched, and the update adds one signature dictionary
//! (`/Type /Sig`, `/Filter /Adobe.PPKLite`, the chosen `/SubFilter`, `/M`,
//! `/ByteRange` and a `/Contents` placeholder), its field (a new invisible
//! widget on page 1, or an existing empty signature field), the page's
//! `/Annots` or the AcroForm they live in, and a cross-reference section in
//! the same form as the file's last one (a table, also after a hybrid
//! file's table; a stream after a stream). The CMS inside is
//! [`crate::cms`]'s detached SignedData with signingCertificateV2, over
//! the signed byte ranges, whose digest is computed streaming from the
//! written file; then only the placeholder is patched in place.
//!
//! [`sign_files`] signs a batch with one [`RemoteSigner::sign_digests`]
//! call (one authorization on a remote service), all or nothing: every
//! output is a temporary file beside its name, renamed only when every
//! signature is in place.
//!
//! Limits: a PDF over [`MAX_PDF_SIZE`] is refused before it is read (lopdf
//! parses the whole file in memory once, before the update is written);
//! encrypted PDFs and PDFs whose cross-reference data lopdf had to repair
//! are refused with errors that say so. Nothing is written on error.
//!
//! Levels (B-T and above need feature `remote`, for the TSA and the
//! revocation clients of [`SignOptions`]):
//! - **B-B**: the signature alone;
//! - **B-T**: the CMS carries a signature timestamp
//!   (`id-aa-signatureTimeStampToken`, [`crate::tsp`]) over its signature value;
//! - **B-LT**: then an update adds the DSS with the signer's and the TSA's
//!   certificates, OCSP responses and CRLs ([`crate::revocation`]);
//!   a revoked signer fails the signing;
//! - **B-LTA**: then an update adds a document timestamp
//!   (`/Type /DocTimeStamp`, `/SubFilter /ETSI.RFC3161`) over it all.
//!
//! ```no_run
//! # async fn demo(signer: &dyn crpki::RemoteSigner, roots: &[crpki::Certificate]) -> crpki::Result<()> {
//! use std::path::Path;
//! use crpki::pdf::{self, PdfJob, SignOptions, VerifyOptions};
//! let job = PdfJob::new("contract.pdf", "contract.signed.pdf");
//! pdf::sign_files(signer, &[job], &SignOptions::default()).await?;
//! let report = pdf::verify_file(Path::new("contract.signed.pdf"), roots, &VerifyOptions::default())?;
//! assert!(report.signatures.iter().all(|s| s.trusted));
//! # Ok(()) }
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::SystemTime;

use crate::cert::Certificate;
use crate::error::{Error, Result};
use crate::signer::RemoteSigner;

mod ltv;
mod post;
mod sign;
mod update;
mod verify;

/// The largest PDF crpki signs or verifies: 256 MiB. lopdf parses the
/// whole file in memory; a larger file is [`Error::InvalidArgument`],
/// refused before it is read.
pub const MAX_PDF_SIZE: u64 = 256 * 1024 * 1024;

/// The `/SubFilter` of the signature.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SubFilter {
    /// `ETSI.CAdES.detached`: PAdES (ETSI EN 319 142-1), the default.
    #[default]
    CadesDetached,
    /// `adbe.pkcs7.detached`: ISO 32000-1's PKCS#7 signature, what MOJ's
    /// Acrobat plug-in writes.
    Pkcs7Detached,
}

impl SubFilter {
    /// The PDF name, without the slash.
    pub fn name(self) -> &'static str {
        match self {
            Self::CadesDetached => "ETSI.CAdES.detached",
            Self::Pkcs7Detached => "adbe.pkcs7.detached",
        }
    }
}

impl FromStr for SubFilter {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "ETSI.CAdES.detached" => Ok(Self::CadesDetached),
            "adbe.pkcs7.detached" => Ok(Self::Pkcs7Detached),
            other => Err(Error::invalid_argument(format!(
                "subfilter {other:?}: ETSI.CAdES.detached or adbe.pkcs7.detached"
            ))),
        }
    }
}

/// The PAdES baseline level.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// B-B: the signature only.
    #[default]
    BB,
    /// B-T: with a signature timestamp.
    BT,
    /// B-LT: with the validation data in the document security store.
    BLT,
    /// B-LTA: with a document timestamp over it all.
    BLTA,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BB => "B-B",
            Self::BT => "B-T",
            Self::BLT => "B-LT",
            Self::BLTA => "B-LTA",
        })
    }
}

impl FromStr for Level {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "B-B" => Ok(Self::BB),
            "B-T" => Ok(Self::BT),
            "B-LT" => Ok(Self::BLT),
            "B-LTA" => Ok(Self::BLTA),
            other => Err(Error::invalid_argument(format!(
                "level {other:?}: B-B, B-T, B-LT or B-LTA"
            ))),
        }
    }
}

/// How to sign a PDF.
#[derive(Clone, Debug, Default)]
pub struct SignOptions {
    /// The `/SubFilter` (default `ETSI.CAdES.detached`).
    pub subfilter: SubFilter,
    /// The level (default B-B).
    pub level: Level,
    /// Sign this existing empty signature field (its full name), or create
    /// a new field by this name; `None` creates `SignatureN`.
    pub field: Option<String>,
    /// The CMS options: algorithm, chain, and the signing time (also the
    /// `/M` of the signature dictionary; `None` means now).
    pub cms: crate::cms::SignOptions,
    /// The bytes reserved for the CMS in `/Contents`; `None` sizes it from
    /// the certificates (and a timestamp token for B-T and above).
    pub reserve: Option<usize>,
    /// The timestamp authority for B-T and above: the signature timestamp
    /// and, for B-LTA, the document timestamp.
    #[cfg(feature = "remote")]
    pub tsa: Option<std::sync::Arc<crate::tsp::TsaClient>>,
    /// Where B-LT and B-LTA collect the OCSP responses and CRLs of the
    /// signer's chain (and the TSA's) for the DSS.
    #[cfg(feature = "remote")]
    pub revocation: Option<std::sync::Arc<crate::revocation::RevocationClient>>,
}

/// One PDF to sign and where to write the signed copy.
#[derive(Clone, Debug)]
pub struct PdfJob {
    /// The PDF to sign.
    pub input: PathBuf,
    /// Where to write the signed PDF (may be `input`: it is replaced by rename).
    pub output: PathBuf,
}

impl PdfJob {
    /// A job from two paths.
    pub fn new(input: impl Into<PathBuf>, output: impl Into<PathBuf>) -> Self {
        Self {
            input: input.into(),
            output: output.into(),
        }
    }

    /// The default output name: `IN.signed.pdf` beside `IN.pdf`.
    pub fn default_output(input: &Path) -> PathBuf {
        let stem = input.file_stem().map(|s| s.to_os_string()).unwrap_or_default();
        let mut name = stem;
        name.push(".signed.pdf");
        input.with_file_name(name)
    }
}

/// What signing one PDF produced.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SignedPdf {
    /// The output written.
    pub output: PathBuf,
    /// The signature field's full name.
    pub field: String,
    /// The CMS's size in bytes.
    pub cms_len: usize,
    /// The bytes reserved for it.
    pub reserved: usize,
    /// The signature timestamp's time (B-T and above).
    pub timestamp: Option<SystemTime>,
}

/// Signs every job's PDF with one call to the signer (one authorization),
/// all or nothing; see the [module docs](self).
pub async fn sign_files(
    signer: &dyn RemoteSigner,
    jobs: &[PdfJob],
    options: &SignOptions,
) -> Result<Vec<SignedPdf>> {
    sign::sign_files(signer, jobs, options).await
}

/// How to verify.
#[derive(Clone, Debug, Default)]
pub struct VerifyOptions {
    /// Validate the chains at this time instead of now (or instead of a
    /// trusted signature timestamp's time).
    pub at: Option<SystemTime>,
    /// The roots timestamp tokens must chain to; empty: timestamps are
    /// checked but not trusted, and the chains are validated now.
    pub tsa_roots: Vec<Certificate>,
    /// What to do without revocation data (default `prefer`: warn). The
    /// data is the document's DSS only: verifying needs no network
    /// (`check_revocation_online`, with feature `remote`, asks the responders for the rest).
    pub revocation: crate::revocation::RevocationPolicy,
}

/// What verifying a PDF found: one entry per signature, in file order.
#[derive(Debug)]
#[non_exhaustive]
pub struct PdfReport {
    /// The file's size.
    pub file_size: u64,
    /// Every signature and document timestamp.
    pub signatures: Vec<SignatureReport>,
}

/// One signature of a PDF.
#[derive(Debug)]
#[non_exhaustive]
pub struct SignatureReport {
    /// The field's full name.
    pub field: String,
    /// The `/SubFilter`.
    pub subfilter: String,
    /// The level, for `ETSI.CAdES.detached` signatures.
    pub level: Option<Level>,
    /// The signer's certificate (from the CMS, even when not trusted; the
    /// TSA's for a document timestamp).
    pub signer: Option<Certificate>,
    /// The validated chain, signer first (when trusted).
    pub chain: Vec<Certificate>,
    /// The `/M` entry as written.
    pub pdf_time: Option<String>,
    /// The CMS signingTime attribute, if any.
    pub signing_time: Option<SystemTime>,
    /// The signed byte ranges.
    pub byte_range: [u64; 4],
    /// The byte ranges' digest is the signed one and the signature verifies.
    pub intact: bool,
    /// Intact and the chain is trusted to one of the given roots.
    pub trusted: bool,
    /// The ranges end at the end of the file.
    pub covers_whole_document: bool,
    /// Bytes appended after the signed revision.
    pub appended_bytes: u64,
    /// Revisions (`%%EOF` markers) appended after the signed revision.
    pub revisions_after: usize,
    /// Whether a signature timestamp is present (or this is a document
    /// timestamp).
    pub has_timestamp: bool,
    /// The signature timestamp (or the document timestamp), checked.
    pub timestamp: Option<TimestampReport>,
    /// The revocation status of the chain, from the DSS (and the network
    /// after `check_revocation_online`); `None` when not checked.
    pub revocation: Option<crate::revocation::ChainRevocation>,
    /// Revocation not checked, under `prefer`.
    pub warnings: Vec<String>,
    /// Why it is not intact or not trusted.
    pub error: Option<Error>,
}

impl SignatureReport {
    /// When a trusted signature timestamp shows the signature existed
    /// (its genTime); `None` without one. A certificate revoked after that
    /// time does not fail the signature.
    pub fn existed_at(&self) -> Option<SystemTime> {
        self.timestamp
            .as_ref()
            .filter(|t| t.trusted)
            .and_then(|t| t.gen_time)
    }

    /// Whether this is a document timestamp (`ETSI.RFC3161`).
    pub fn is_document_timestamp(&self) -> bool {
        self.subfilter == "ETSI.RFC3161"
    }
}

/// A timestamp token, checked.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TimestampReport {
    /// Its genTime.
    pub gen_time: Option<SystemTime>,
    /// The TSA certificate's subject.
    pub tsa: Option<String>,
    /// The token's signature verifies and its imprint is what it stamps.
    pub intact: bool,
    /// Intact and its TSA chains to one of the TSA roots.
    pub trusted: bool,
    /// Why not.
    pub error: Option<String>,
}

/// Verifies every signature of the PDF at `path` against `trusted_roots`.
pub fn verify_file(path: &Path, trusted_roots: &[Certificate], options: &VerifyOptions) -> Result<PdfReport> {
    verify::verify_file(path, trusted_roots, options)
}

/// Asks the OCSP responders and CRL distribution points of each verified
/// signature whose revocation the DSS did not answer for every
/// certificate, and applies `policy` again: a revoked certificate makes
/// the signature untrusted (with [`crate::TrustFailure::Revoked`]).
#[cfg(feature = "remote")]
pub async fn check_revocation_online(
    report: &mut PdfReport,
    client: &crate::revocation::RevocationClient,
    policy: crate::revocation::RevocationPolicy,
) {
    verify::check_revocation_online(report, client, policy).await
}
