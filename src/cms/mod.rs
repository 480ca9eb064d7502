//! Detached CMS SignedData (RFC 5652): built through any [`RemoteSigner`],
//! and verified against the content and trusted roots.
//!
//! Signing never touches a key: the signed attributes (contentType,
//! messageDigest, signingTime, signingCertificateV2) are encoded, hashed,
//! and only their digest goes to [`RemoteSigner::sign_digests`], exactly
//! what a CSC `signHash` call receives. [`sign_digests`] signs many contents
//! with one call to the signer, so a remote service authorizes them once;
//! [`sign_pipeline`] signs any number of files in chunks, hashing, signing
//! and writing at the same time, all or nothing and durably.
//!
//! The output is what `openssl cms -sign -binary` (without `-nodetach`)
//! writes and `openssl cms -verify` accepts: SignerInfo version 1 with
//! issuerAndSerialNumber, `sha256WithRSAEncryption` (or RSASSA-PSS with
//! explicit parameters, or `ecdsa-with-SHA256`), the signer's certificate
//! and chain, and no encapsulated content.
//!
//! This room uses the `cms` crate for its types only, the signer trait,
//! and [`crate::cert`] for certificates and chain validation.
//!
//! ```no_run
//! # async fn demo(signer: &dyn crpki::RemoteSigner, roots: &[crpki::Certificate]) -> crpki::Result<()> {
//! use std::path::Path;
//! use crpki::cms::{self, SignOptions};
//! let (pdf, sig) = (Path::new("contract.pdf"), Path::new("contract.pdf.p7s"));
//! cms::sign_file(signer, pdf, sig, &SignOptions::default()).await?;
//! let verified = cms::verify_file(sig, pdf, roots, None)?;
//! println!("signed by {}", verified.signer.subject());
//! # Ok(()) }
//! ```

use std::borrow::Cow;
use std::io::Read;
use std::path::Path;
use std::time::SystemTime;

use crate::cert::{Certificate, MojInfo};
use crate::crypto::{Digest, HashAlgorithm, SignatureAlgorithm};
use crate::error::{Error, Result};
use crate::signer::RemoteSigner;

mod asn1;
mod output;
mod pipeline;
mod sign;
#[cfg(feature = "sandbox")]
pub(crate) use sign::{signed_attributes, signed_data, signing_certificate_v2};
mod timestamp;

pub use output::{Existing, OutputBatch, check_output};
#[cfg(feature = "remote")]
pub use pipeline::TSA_IN_FLIGHT;
pub use pipeline::{
    DEFAULT_CHUNK, PipelineEvent, PipelineFailure, PipelineOptions, SignJob, read_path_list, sign_pipeline,
};
#[cfg(feature = "remote")]
pub use timestamp::timestamp_signature;
pub use timestamp::{add_signature_timestamp, signature_timestamp_imprint, signature_timestamp_tokens};
mod verify;

/// The largest signature [`verify_detached`] and [`verify_file`] accept:
/// 1 MiB (DER or PEM). A detached signature with its chain is a few KiB;
/// [`verify_file`] refuses a larger file before reading it.
pub const MAX_SIGNATURE_SIZE: usize = 1024 * 1024;

/// The most certificates a signature may carry (the signer's and its
/// chain); more is [`Error::Malformed`].
pub const MAX_CERTIFICATES: usize = 64;

/// How to sign.
#[derive(Clone, Debug)]
pub struct SignOptions {
    /// The signature algorithm; `None` uses the signer's
    /// [`default_algorithm`](RemoteSigner::default_algorithm) (for
    /// [`sign_digest`] and [`sign_digests`], with the content digests' hash).
    pub algorithm: Option<SignatureAlgorithm>,
    /// The signingTime attribute; `None` means now. Stored to the second.
    pub signing_time: Option<SystemTime>,
    /// Whether to include the signer's [`chain`](RemoteSigner::chain)
    /// besides its certificate (default `true`).
    pub include_chain: bool,
    /// Whether to write the signingTime attribute (default `true`). PAdES
    /// (ETSI EN 319 142-1) leaves it out: the time is the PDF's `/M`.
    pub signing_time_attribute: bool,
}

impl Default for SignOptions {
    fn default() -> Self {
        Self {
            algorithm: None,
            signing_time: None,
            include_chain: true,
            signing_time_attribute: true,
        }
    }
}

/// What a successful [`verify_detached`] found out.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct VerifiedSignature {
    /// The signer's certificate.
    pub signer: Certificate,
    /// The validated chain, from the signer's certificate to the trusted root.
    pub chain: Vec<Certificate>,
    /// The signingTime attribute, if present (as claimed by the signer:
    /// the chain is not validated at this time, see [`verify_detached`]).
    pub signing_time: Option<SystemTime>,
    /// The time the chain was validated at: the caller's `at`, or the
    /// time of verification.
    pub validated_at: SystemTime,
    /// The digest algorithm of the content and the signed attributes.
    pub digest_algorithm: HashAlgorithm,
    /// The signature algorithm.
    pub signature_algorithm: SignatureAlgorithm,
    /// The digest of the content, as computed while verifying.
    pub content_digest: Digest,
    /// The MOJ extensions of the signer's certificate (corporate name,
    /// 会社法人等番号, representative, registrar, …), if it has them.
    pub moj: Option<MojInfo>,
    /// The signature timestamp (CAdES-T), if the signature carries one:
    /// checked against the signature value, and, when
    /// [`Timestamp::trusted`](crate::tsp::Timestamp::trusted), against the
    /// caller's TSA roots; then `validated_at` is its genTime.
    pub timestamp: Option<crate::tsp::Timestamp>,
}

/// Signs everything `reader` yields and returns the DER detached CMS.
///
/// The content is hashed in fixed-size chunks (memory stays flat whatever
/// its size); reading is blocking I/O done on the calling task.
pub async fn sign_reader(
    signer: &dyn RemoteSigner,
    reader: impl Read,
    options: &SignOptions,
) -> Result<Vec<u8>> {
    sign::sign_reader(signer, reader, options).await
}

/// Signs content whose digest was computed elsewhere and returns the DER
/// detached CMS. The digest's hash must be the algorithm's.
pub async fn sign_digest(
    signer: &dyn RemoteSigner,
    content_digest: &Digest,
    options: &SignOptions,
) -> Result<Vec<u8>> {
    sign::sign_digest(signer, content_digest, options).await
}

/// Signs many contents with one call to [`RemoteSigner::sign_digests`]
/// (one authorization on a remote service) and returns one DER detached
/// CMS per content digest, in input order.
///
/// All digests must use the same hash; an empty slice is
/// [`Error::InvalidArgument`]. Every signature the signer returns is
/// checked against its certificate before it is used
/// ([`Error::Protocol`] otherwise).
pub async fn sign_digests(
    signer: &dyn RemoteSigner,
    content_digests: &[Digest],
    options: &SignOptions,
) -> Result<Vec<Vec<u8>>> {
    sign::sign_digests(signer, content_digests, options).await
}

/// Signs the file at `path` and writes the DER detached CMS to `out`.
///
/// `out` is written through a temporary file in its directory and a
/// rename: on any error it is left as it was (absent, or the old file).
pub async fn sign_file(
    signer: &dyn RemoteSigner,
    path: &Path,
    out: &Path,
    options: &SignOptions,
) -> Result<()> {
    sign::sign_file(signer, path, out, options).await
}

/// Writes `bytes` to `out` through a temporary file in the same directory
/// and a rename: `out` is either the complete new file or left as it was.
/// (What [`sign_file`] does; for callers that sign with [`sign_digests`].)
pub fn write_atomically(out: &Path, bytes: &[u8]) -> Result<()> {
    output::write_atomically(out, bytes)
}

/// Verifies a detached CMS signature (DER, or PEM labelled `CMS` or
/// `PKCS7`) over `content`, which is read once, streaming.
///
/// BER as streaming encoders write it (indefinite lengths: Windows
/// `CryptMsg`, BouncyCastle, `openssl cms -stream`) is accepted too: it is
/// read as BER only when it is not DER, and verified in its DER form, which
/// is what RFC 5652 and RFC 5280 define the signatures of the signed
/// attributes and of the certificates over.
///
/// The checks run in this order, each with its own error:
/// 1. the structure parses ([`Error::Malformed`]); it has exactly one
///    signer ([`Error::Unsupported`] otherwise) whose certificate is
///    included (found by issuerAndSerialNumber or subjectKeyIdentifier);
/// 2. the messageDigest attribute is the content's digest
///    ([`Error::ContentModified`]);
/// 3. the signature over the signed attributes verifies with the
///    certificate's key ([`Error::BadSignature`]);
/// 4. contentType is present ([`Error::Malformed`]), and the
///    signingCertificateV2 (or signingCertificate) attribute, if present,
///    names that certificate ([`Error::BadSignature`]);
/// 5. the certificate chains to one of `trusted_roots` at `at`, which
///    defaults to now ([`crate::cert::validate_chain`]:
///    [`Error::Untrusted`]). The signingTime attribute is only what the
///    signer claims, so it is never used for this: a certificate that has
///    expired does not verify because the signature says it was made
///    earlier. Pass `at` to validate at another time you have reason to
///    trust (`crpki verify --at`);
/// 6. its MOJ extensions, if present, decode ([`Error::Malformed`]).
///
/// Limits: a signature over [`MAX_SIGNATURE_SIZE`] bytes or with more than
/// [`MAX_CERTIFICATES`] certificates is [`Error::Malformed`]; a certificate
/// over [`crate::cert::MAX_CERTIFICATE_SIZE`] too; the path search is bounded by
/// [`crate::cert::MAX_ISSUER_CHECKS`].
///
/// A SignerInfo without signed attributes (RFC 5652 allows it for
/// id-data; `openssl cms -noattr`) is accepted: its signature is over the
/// content digest, so a modified content shows as [`Error::BadSignature`].
pub fn verify_detached(
    signature: &[u8],
    content: impl Read,
    trusted_roots: &[Certificate],
    at: Option<SystemTime>,
) -> Result<VerifiedSignature> {
    verify::verify_detached(signature, content, trusted_roots, &[], at)
}

/// [`verify_detached`] for signatures that may carry a signature timestamp
/// (CAdES-T, the `id-aa-signatureTimeStampToken` unsigned attribute).
///
/// When the signature carries one, its first token is checked before the
/// chain ([`crate::tsp::check_token`]): its imprint must be the digest of
/// the SignerInfo's signature value, and with `tsa_roots` not empty the TSA
/// certificate (critical timeStamping extendedKeyUsage) must chain to one
/// of them at genTime. A token that fails is an error (the timestamp is
/// part of what is verified). With a trusted token and no `at`, the
/// signer's chain is validated at genTime: a certificate that has expired
/// since still verifies, because a TSA the caller trusts says the
/// signature existed while it was valid. Without `tsa_roots` the token is
/// checked but not trusted ([`crate::tsp::Timestamp::trusted`] false) and
/// the chain is validated at `at` or now, as [`verify_detached`] does.
pub fn verify_detached_timestamped(
    signature: &[u8],
    content: impl Read,
    trusted_roots: &[Certificate],
    tsa_roots: &[Certificate],
    at: Option<SystemTime>,
) -> Result<VerifiedSignature> {
    verify::verify_detached(signature, content, trusted_roots, tsa_roots, at)
}

/// [`verify_detached`] with the signature and the content read from files.
///
/// A signature file over [`MAX_SIGNATURE_SIZE`] bytes is refused
/// ([`Error::Malformed`]) before it is read; no more than that is ever
/// read from it, whatever it is.
pub fn verify_file(
    signature: &Path,
    content: &Path,
    trusted_roots: &[Certificate],
    at: Option<SystemTime>,
) -> Result<VerifiedSignature> {
    let sig = read_limited(signature, MAX_SIGNATURE_SIZE, asn1::WHAT)?;
    let file = std::fs::File::open(content)
        .map_err(|e| Error::io(format!("opening {}", crate::text::path(content)), e))?;
    verify_detached(&sig, file, trusted_roots, at)
}

/// Reads the file at `path`, refusing one over `limit` bytes: by its size
/// before reading, and by what it yields (a file that grows, a device).
/// Too large is [`Error::Malformed`] about `what`.
///
/// What [`verify_file`] does with [`MAX_SIGNATURE_SIZE`]; for callers that
/// read other input from strangers (`crpki cert show` reads certificates
/// with it).
pub fn read_limited(path: &Path, limit: usize, what: &'static str) -> Result<Vec<u8>> {
    use std::io::Read as _;
    let shown = crate::text::path(path);
    let too_large = |size: String| {
        Error::malformed(
            what,
            format!("{shown} is {size} bytes; crpki reads at most {limit} bytes"),
        )
    };
    let file = std::fs::File::open(path).map_err(|e| Error::io(format!("opening {shown}"), e))?;
    let size = file
        .metadata()
        .map_err(|e| Error::io(format!("reading {shown}"), e))?
        .len();
    if size > limit as u64 {
        return Err(too_large(size.to_string()));
    }
    let mut data = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(limit as u64 + 1)
        .read_to_end(&mut data)
        .map_err(|e| Error::io(format!("reading {shown}"), e))?;
    if data.len() > limit {
        return Err(too_large(format!("more than {limit}")));
    }
    Ok(data)
}

/// PEM-encodes a DER CMS with the `CMS` label (RFC 7468), as
/// `openssl cms -outform PEM` writes it.
pub fn to_pem(der: &[u8]) -> String {
    // Encoding fails only on lengths near `usize::MAX`; like
    // `Certificate::to_pem`, give an empty string rather than panic.
    der::pem::encode_string("CMS", der::pem::LineEnding::LF, der).unwrap_or_default()
}

/// DER as given, or the DER inside a `CMS` / `PKCS7` PEM document.
fn decode_input(input: &[u8]) -> Result<Cow<'_, [u8]>> {
    let trimmed = input.trim_ascii();
    if !trimmed.starts_with(b"-----BEGIN ") {
        return Ok(Cow::Borrowed(input));
    }
    let (label, der) = der::pem::decode_vec(trimmed).map_err(|e| Error::malformed_from(asn1::WHAT, e))?;
    match label {
        "CMS" | "PKCS7" | "PKCS #7 SIGNED DATA" => Ok(Cow::Owned(der)),
        other => Err(Error::malformed(
            asn1::WHAT,
            format!("PEM label {other:?} is not CMS or PKCS7"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trips_every_length_and_accepts_both_labels() {
        let data: Vec<u8> = (0u8..=200).collect();
        for len in 1..70 {
            let pem = to_pem(&data[..len]);
            let (label, der) = der::pem::decode_vec(pem.as_bytes()).expect("valid PEM");
            assert_eq!(label, "CMS");
            assert_eq!(der, &data[..len]);
            assert_eq!(
                decode_input(pem.as_bytes()).expect("CMS label").as_ref(),
                &data[..len]
            );
            let pkcs7 = pem.replace(" CMS-----", " PKCS7-----");
            assert_eq!(
                decode_input(pkcs7.as_bytes()).expect("PKCS7 label").as_ref(),
                &data[..len]
            );
        }
        assert_eq!(decode_input(b"\x30\x00").expect("DER").as_ref(), b"\x30\x00");
    }
}
