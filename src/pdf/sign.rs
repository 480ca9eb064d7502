//! The signing flow: stage every PDF (original + update in a temporary file
//! beside its output), digest the byte ranges from that file, sign all the
//! digests with one call, patch each `/Contents` in place, then rename.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use tempfile::NamedTempFile;

use super::update::{self, Prepared, SigKind, WHAT};
use super::{Level, MAX_PDF_SIZE, PdfJob, SignOptions, SignedPdf, SubFilter, post};
use crate::crypto::{Digest, HashAlgorithm, SignatureAlgorithm};
use crate::error::{Error, Result};
use crate::signer::RemoteSigner;

/// Room in `/Contents` beyond the certificates and the signature value:
/// the SignedData framing and the signed attributes.
const CMS_SLACK: usize = 4096;

/// One PDF written with its placeholder, waiting for its CMS.
struct Staged {
    tmp: NamedTempFile,
    out: PathBuf,
    prepared: Prepared,
    digest: Digest,
}

/// Checks the output name as `.p7s` outputs are checked: nothing or a
/// regular file.
fn check_output(out: &Path) -> Result<()> {
    match std::fs::symlink_metadata(out) {
        Ok(m) if !m.file_type().is_file() => Err(Error::invalid_argument(format!(
            "{} exists and is not a regular file",
            crate::text::path(out)
        ))),
        _ => Ok(()),
    }
}

/// Reads the PDF, lays out its update and writes both to a temporary file
/// beside `job.output`, then digests the byte ranges from that file.
fn stage(
    job: &PdfJob,
    options: &SignOptions,
    reserve: usize,
    hash: HashAlgorithm,
    now: SystemTime,
) -> Result<Staged> {
    let shown = crate::text::path(&job.input);
    check_output(&job.output)?;
    let size = std::fs::metadata(&job.input)
        .map_err(|e| Error::io(format!("reading {shown}"), e))?
        .len();
    if size > MAX_PDF_SIZE {
        return Err(Error::invalid_argument(format!(
            "{shown} is {size} bytes; crpki signs PDFs of at most {MAX_PDF_SIZE} bytes"
        )));
    }
    let bytes = crate::cms::read_limited(&job.input, MAX_PDF_SIZE as usize, WHAT)?;
    let loaded = update::load(&bytes, &shown)?;
    let prepared = update::prepare(
        &loaded,
        bytes.len() as u64,
        bytes.last().copied(),
        SigKind::Signature(options.subfilter),
        options.field.as_deref(),
        reserve,
        now,
    )?;
    drop(loaded);

    let dir = match job.output.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let out_shown = crate::text::path(&job.output);
    let mut tmp = tempfile::Builder::new()
        .prefix(".crpki-")
        .suffix(".pdf.tmp")
        .tempfile_in(&dir)
        .map_err(|e| Error::io(format!("creating a temporary file for {out_shown}"), e))?;
    tmp.as_file_mut()
        .write_all(&bytes)
        .and_then(|()| tmp.as_file_mut().write_all(&prepared.update))
        .and_then(|()| tmp.as_file_mut().flush())
        .map_err(|e| Error::io(format!("writing {out_shown}"), e))?;
    drop(bytes);

    let total = size_of(tmp.as_file(), &out_shown)?;
    let file = tmp
        .reopen()
        .map_err(|e| Error::io(format!("reading {out_shown}"), e))?;
    let digest = digest_ranges(file, prepared.byte_range(total), hash)
        .map_err(|e| Error::io(format!("reading {out_shown}"), e))?;
    Ok(Staged {
        tmp,
        out: job.output.clone(),
        prepared,
        digest,
    })
}

fn size_of(file: &File, shown: &str) -> Result<u64> {
    Ok(file
        .metadata()
        .map_err(|e| Error::io(format!("reading {shown}"), e))?
        .len())
}

/// The digest of the two byte ranges `[a, a+b)` and `[c, c+d)` of `file`,
/// read streaming.
pub(super) fn digest_ranges(mut file: File, range: [u64; 4], hash: HashAlgorithm) -> std::io::Result<Digest> {
    let mut hasher = hash.hasher();
    for (start, len) in [(range[0], range[1]), (range[2], range[3])] {
        file.seek(SeekFrom::Start(start))?;
        let read = hasher.update_reader((&mut file).take(len))?;
        if read != len {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the byte range runs past the end of the file",
            ));
        }
    }
    Ok(hasher.finish())
}

/// The bytes reserved for the CMS: the certificates, the signature value and
/// [`CMS_SLACK`].
fn reserve_for(signer: &dyn RemoteSigner, options: &SignOptions) -> usize {
    if let Some(r) = options.reserve {
        return r;
    }
    let certs: usize = std::iter::once(signer.certificate())
        .chain(if options.cms.include_chain {
            signer.chain()
        } else {
            &[]
        })
        .map(|c| c.der().len())
        .sum();
    certs + signer.key_info().max_signature_len() + CMS_SLACK
}

/// See [`super::sign_files`].
pub(super) async fn sign_files(
    signer: &dyn RemoteSigner,
    jobs: &[PdfJob],
    options: &SignOptions,
) -> Result<Vec<SignedPdf>> {
    if jobs.is_empty() {
        return Err(Error::invalid_argument("no PDF to sign"));
    }
    let post = post::PostSign::new(options)?;
    let alg: SignatureAlgorithm = options
        .cms
        .algorithm
        .unwrap_or_else(|| signer.default_algorithm());
    let reserve = reserve_for(signer, options)
        + if options.level >= Level::BT {
            post::TOKEN_RESERVE
        } else {
            0
        };
    let now = options.cms.signing_time.unwrap_or_else(SystemTime::now);

    let mut staged = Vec::with_capacity(jobs.len());
    for job in jobs {
        let job = job.clone();
        let opts = options.clone();
        let one = if tokio::runtime::Handle::try_current().is_ok() {
            tokio::task::spawn_blocking(move || stage(&job, &opts, reserve, alg.hash, now))
                .await
                .map_err(|e| Error::Other(std::sync::Arc::new(e)))?
        } else {
            stage(&job, &opts, reserve, alg.hash, now)
        }?;
        staged.push(one);
    }

    let digests: Vec<Digest> = staged.iter().map(|s| s.digest.clone()).collect();
    let cms_options = crate::cms::SignOptions {
        algorithm: Some(alg),
        signing_time: Some(now),
        // PAdES: the time is /M, not a signingTime attribute (EN 319 142-1
        // §5.2); adbe.pkcs7.detached keeps it, as Acrobat writes it.
        signing_time_attribute: options.subfilter == SubFilter::Pkcs7Detached,
        ..options.cms.clone()
    };
    let signatures = crate::cms::sign_digests(signer, &digests, &cms_options).await?;
    let (signatures, timestamps) = post.timestamp_signatures(signatures, alg.hash).await?;

    let mut done = Vec::with_capacity(staged.len());
    for (s, cms) in staged.iter_mut().zip(&signatures) {
        let room = (s.prepared.contents_len as usize - 2) / 2;
        if cms.len() > room {
            return Err(Error::invalid_argument(format!(
                "the signature is {} bytes but only {room} were reserved in /Contents",
                cms.len()
            )));
        }
        let shown = crate::text::path(&s.out);
        let file = s.tmp.as_file_mut();
        file.seek(SeekFrom::Start(s.prepared.contents_at + 1))
            .and_then(|_| file.write_all(hex::encode_upper(cms).as_bytes()))
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::io(format!("writing {shown}"), e))?;
        done.push(SignedPdf {
            output: s.out.clone(),
            field: s.prepared.field.clone(),
            cms_len: cms.len(),
            reserved: room,
            timestamp: None,
        });
    }
    let mut chain = vec![signer.certificate().clone()];
    chain.extend(signer.chain().iter().cloned());
    for ((s, done), ts) in staged.iter_mut().zip(done.iter_mut()).zip(&timestamps) {
        done.timestamp = post.extend(&mut s.tmp, &s.out, &chain, ts.as_ref()).await?;
    }
    for s in staged {
        let shown = crate::text::path(&s.out);
        s.tmp
            .as_file()
            .sync_all()
            .map_err(|e| Error::io(format!("writing {shown}"), e))?;
        s.tmp
            .persist(&s.out)
            .map_err(|e| Error::io(format!("renaming the signed PDF to {shown}"), e.error))?;
    }
    Ok(done)
}
