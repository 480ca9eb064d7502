//! Verifying every signature of a PDF: the byte ranges are checked against
//! the file's structure, their digest streamed from the file into
//! [`crate::cms::verify_detached`], and what was appended after each
//! signed revision reported.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier};
use der::{Decode, Encode};
use lopdf::Object;

use super::update::{self, WHAT};
use super::{Level, MAX_PDF_SIZE, PdfReport, SignatureReport, VerifyOptions};
use crate::cert::Certificate;
use crate::error::{Error, Result};

/// id-aa-signatureTimeStampToken (RFC 3161 appendix A).
const ID_AA_SIGNATURE_TIME_STAMP_TOKEN: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");

/// One signature dictionary as found in the file.
struct Found {
    field: String,
    subfilter: String,
    pdf_time: Option<String>,
    range: [u64; 4],
    contents: Vec<u8>,
}

fn range_of(obj: &Object) -> Option<[u64; 4]> {
    let arr = obj.as_array().ok()?;
    if arr.len() != 4 {
        return None;
    }
    let mut out = [0u64; 4];
    for (o, v) in out.iter_mut().zip(arr) {
        *o = u64::try_from(v.as_i64().ok()?).ok()?;
    }
    Some(out)
}

/// The signature dictionaries of the form's signed signature fields.
fn signatures(doc: &lopdf::Document) -> Result<Vec<Found>> {
    let mut out = Vec::new();
    for field in update::fields(doc)? {
        if !update::is_signature_field(&field.dict) {
            continue;
        }
        let Ok(v) = field.dict.get(b"V") else { continue };
        let Ok((_, Object::Dictionary(sig))) = doc.dereference(v) else {
            return Err(Error::malformed(
                WHAT,
                format!("field {:?}: /V is not a dictionary", field.name),
            ));
        };
        let subfilter = sig
            .get(b"SubFilter")
            .and_then(Object::as_name)
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        let range =
            sig.get(b"ByteRange").ok().and_then(range_of).ok_or_else(|| {
                Error::malformed(WHAT, format!("field {:?}: no valid /ByteRange", field.name))
            })?;
        let contents = sig
            .get(b"Contents")
            .and_then(Object::as_str)
            .map_err(|_| Error::malformed(WHAT, format!("field {:?}: no /Contents string", field.name)))?
            .to_vec();
        let pdf_time = sig
            .get(b"M")
            .and_then(Object::as_str)
            .ok()
            .map(|m| String::from_utf8_lossy(m).into_owned());
        out.push(Found {
            field: field.name,
            subfilter,
            pdf_time,
            range,
            contents,
        });
    }
    out.sort_by_key(|f| f.range[2] + f.range[3]);
    Ok(out)
}

/// The DER of a `/Contents` value without the placeholder's zero padding.
fn trim_der(contents: &[u8]) -> &[u8] {
    let len = match contents {
        [0x30, n, ..] if *n < 0x80 => Some(2 + usize::from(*n)),
        [0x30, n, rest @ ..] if (0x81..=0x84).contains(n) => {
            let k = usize::from(n & 0x7f);
            rest.get(..k)
                .map(|b| b.iter().fold(0usize, |a, &x| (a << 8) | usize::from(x)) + 2 + k)
        }
        _ => None,
    };
    match len {
        Some(l) if l <= contents.len() => &contents[..l],
        _ => contents,
    }
}

/// The byte ranges must start at 0, leave out exactly the `/Contents` hex
/// string, and stay inside the file.
fn check_range(bytes: &[u8], f: &Found) -> Result<()> {
    let [a, b, c, d] = f.range;
    let bad = |why: &str| {
        Error::malformed(
            WHAT,
            format!("field {:?}: /ByteRange {:?} {why}", f.field, f.range),
        )
    };
    let end = c.checked_add(d).ok_or_else(|| bad("overflows"))?;
    if a != 0 || b >= c || end > bytes.len() as u64 {
        return Err(bad("is not [0 a b c] inside the file"));
    }
    let gap = &bytes[b as usize..c as usize];
    let hex_ok = gap.len() >= 2
        && gap[0] == b'<'
        && gap[gap.len() - 1] == b'>'
        && hex::decode(&gap[1..gap.len() - 1]).is_ok_and(|v| v == f.contents);
    if !hex_ok {
        return Err(bad("does not leave out exactly the /Contents hex string"));
    }
    Ok(())
}

/// The signer's certificate and whether a signature timestamp is present,
/// read from the CMS without verifying anything.
fn inspect(der: &[u8]) -> (Option<Certificate>, bool) {
    let Ok(ci) = ContentInfo::from_der(der) else {
        return (None, false);
    };
    let Ok(sd) = ci.content.decode_as::<SignedData>() else {
        return (None, false);
    };
    let Some(si) = sd.signer_infos.0.iter().next() else {
        return (None, false);
    };
    let has_ts = si
        .unsigned_attrs
        .as_ref()
        .is_some_and(|attrs| attrs.iter().any(|a| a.oid == ID_AA_SIGNATURE_TIME_STAMP_TOKEN));
    let signer = match &si.sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => sd.certificates.as_ref().and_then(|set| {
            set.0.iter().find_map(|c| match c {
                cms::cert::CertificateChoices::Certificate(c)
                    if c.tbs_certificate().issuer() == &ias.issuer
                        && c.tbs_certificate().serial_number() == &ias.serial_number =>
                {
                    c.to_der().ok().and_then(|d| Certificate::from_der(&d).ok())
                }
                _ => None,
            })
        }),
        SignerIdentifier::SubjectKeyIdentifier(_) => None,
    };
    (signer, has_ts)
}

/// A reader over the two signed ranges of the file.
fn ranges_reader(path: &Path, range: [u64; 4]) -> Result<impl Read> {
    let shown = crate::text::path(path);
    let open = |at: u64| -> Result<File> {
        let mut f = File::open(path).map_err(|e| Error::io(format!("opening {shown}"), e))?;
        f.seek(SeekFrom::Start(at))
            .map_err(|e| Error::io(format!("reading {shown}"), e))?;
        Ok(f)
    };
    Ok(open(range[0])?
        .take(range[1])
        .chain(open(range[2])?.take(range[3])))
}

/// See [`super::verify_file`].
pub(super) fn verify_file(path: &Path, roots: &[Certificate], options: &VerifyOptions) -> Result<PdfReport> {
    let bytes = crate::cms::read_limited(path, MAX_PDF_SIZE as usize, WHAT)?;
    let shown = crate::text::path(path);
    let loaded = update::load(&bytes, &shown)?;
    let found = signatures(&loaded.doc)?;
    let has_dss = loaded.doc.catalog().is_ok_and(|c| c.has(b"DSS"));
    let file_size = bytes.len() as u64;
    let mut reports = Vec::with_capacity(found.len());
    for (i, f) in found.iter().enumerate() {
        let end = f.range[2] + f.range[3];
        let der = trim_der(&f.contents);
        let (signer, has_timestamp) = inspect(der);
        let outcome = check_range(&bytes, f).and_then(|()| {
            crate::cms::verify_detached(der, ranges_reader(path, f.range)?, roots, options.at)
        });
        let (intact, trusted, signing_time, error, signer) = match outcome {
            Ok(v) => (true, true, v.signing_time, None, Some(v.signer)),
            Err(e) => {
                let intact = matches!(e, Error::Untrusted(_));
                (intact, false, None, Some(e), signer)
            }
        };
        let level = (f.subfilter == "ETSI.CAdES.detached").then(|| {
            let later_doc_ts = found[i + 1..].iter().any(|g| g.subfilter == "ETSI.RFC3161");
            match (has_timestamp, has_dss, later_doc_ts) {
                (false, _, _) => Level::BB,
                (true, false, _) => Level::BT,
                (true, true, false) => Level::BLT,
                (true, true, true) => Level::BLTA,
            }
        });
        let tail = bytes.get(end as usize..).unwrap_or_default();
        let revisions_after = tail.windows(5).filter(|w| w == b"%%EOF").count();
        reports.push(SignatureReport {
            field: f.field.clone(),
            subfilter: f.subfilter.clone(),
            level,
            signer,
            pdf_time: f.pdf_time.clone(),
            signing_time,
            byte_range: f.range,
            intact,
            trusted,
            covers_whole_document: end == file_size,
            appended_bytes: file_size.saturating_sub(end),
            revisions_after,
            has_timestamp,
            error,
        });
    }
    Ok(PdfReport {
        file_size,
        signatures: reports,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_padding_is_trimmed_by_the_outer_length() {
        assert_eq!(trim_der(&[0x30, 0x02, 1, 2, 0, 0, 0]), &[0x30, 0x02, 1, 2]);
        let mut long = vec![0x30, 0x82, 0x01, 0x00];
        long.extend(std::iter::repeat_n(7u8, 256));
        long.extend([0u8; 10]);
        assert_eq!(trim_der(&long).len(), 260);
        // Not DER SEQUENCE: left as is.
        assert_eq!(trim_der(&[0x31, 0x00, 0x00]), &[0x31, 0x00, 0x00]);
    }
}
