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
use super::{Level, MAX_PDF_SIZE, PdfReport, SignatureReport, TimestampReport, VerifyOptions};
use crate::cert::Certificate;
use crate::error::{Error, Result};
use crate::revocation::{CheckOptions, RevocationPolicy};

use crate::tsp::ID_AA_SIGNATURE_TIME_STAMP_TOKEN;

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

/// The first signature timestamp of a CMS, checked against its signature
/// value and (when given) the TSA roots.
fn signature_timestamp(der: &[u8], tsa_roots: &[Certificate]) -> Option<TimestampReport> {
    let token = crate::cms::signature_timestamp_tokens(der)
        .ok()?
        .into_iter()
        .next()?;
    let checked = crate::tsp::check_token_with(
        &token,
        |hash| crate::cms::signature_timestamp_imprint(der, hash),
        (!tsa_roots.is_empty()).then_some(tsa_roots),
    );
    Some(timestamp_report(checked, &token))
}

fn timestamp_report(checked: Result<crate::tsp::Timestamp>, token: &[u8]) -> TimestampReport {
    match checked {
        Ok(t) => TimestampReport {
            gen_time: Some(t.gen_time),
            tsa: Some(t.tsa_certificate.subject()),
            intact: true,
            trusted: t.trusted,
            error: None,
        },
        Err(e) => {
            let read = crate::tsp::read_token(token).ok();
            TimestampReport {
                gen_time: read.as_ref().map(|t| t.gen_time),
                tsa: read.map(|t| t.tsa_certificate.subject()),
                intact: matches!(e, Error::Untrusted(_)),
                trusted: false,
                error: Some(e.to_string()),
            }
        }
    }
}

/// See [`super::verify_file`].
pub(super) fn verify_file(path: &Path, roots: &[Certificate], options: &VerifyOptions) -> Result<PdfReport> {
    let bytes = crate::cms::read_limited(path, MAX_PDF_SIZE as usize, WHAT)?;
    let shown = crate::text::path(path);
    let loaded = update::load(&bytes, &shown)?;
    let found = signatures(&loaded.doc)?;
    let dss = super::ltv::read_dss(&loaded.doc);
    let file_size = bytes.len() as u64;
    let mut reports = Vec::with_capacity(found.len());
    for (i, f) in found.iter().enumerate() {
        let end = f.range[2] + f.range[3];
        let der = trim_der(&f.contents);
        let tail = bytes.get(end as usize..).unwrap_or_default();
        let mut report = SignatureReport {
            field: f.field.clone(),
            subfilter: f.subfilter.clone(),
            level: None,
            signer: None,
            chain: Vec::new(),
            pdf_time: f.pdf_time.clone(),
            signing_time: None,
            byte_range: f.range,
            intact: false,
            trusted: false,
            covers_whole_document: end == file_size,
            appended_bytes: file_size.saturating_sub(end),
            revisions_after: tail.windows(5).filter(|w| w == b"%%EOF").count(),
            has_timestamp: false,
            timestamp: None,
            revocation: None,
            warnings: Vec::new(),
            error: None,
        };
        if f.subfilter == "ETSI.RFC3161" {
            // A document timestamp: the token's imprint is the ranges' digest.
            let checked = check_range(&bytes, f).and_then(|()| {
                let tsa_roots = (!options.tsa_roots.is_empty()).then_some(&options.tsa_roots[..]);
                crate::tsp::check_token_with(
                    der,
                    |hash| {
                        let mut hasher = hash.hasher();
                        hasher
                            .update_reader(ranges_reader(path, f.range)?)
                            .map_err(|e| Error::io(format!("reading {shown}"), e))?;
                        Ok(hasher.finish())
                    },
                    tsa_roots,
                )
            });
            let ts = timestamp_report(checked, der);
            report.intact = ts.intact;
            report.trusted = ts.trusted;
            report.error = ts.error.as_ref().map(|e| Error::invalid_argument(e.clone()));
            report.signing_time = ts.gen_time;
            report.has_timestamp = true;
            report.timestamp = Some(ts);
            reports.push(report);
            continue;
        }
        let (signer, has_timestamp) = inspect(der);
        report.signer = signer;
        report.has_timestamp = has_timestamp;
        report.timestamp = signature_timestamp(der, &options.tsa_roots);
        // The chain is validated at a trusted timestamp's time; else now
        // (or the caller's time).
        let at = options.at.or(report.existed_at());
        let outcome = check_range(&bytes, f)
            .and_then(|()| crate::cms::verify_detached(der, ranges_reader(path, f.range)?, roots, at));
        match outcome {
            Ok(v) => {
                report.intact = true;
                report.trusted = true;
                report.signing_time = v.signing_time;
                report.signer = Some(v.signer);
                report.chain = v.chain;
            }
            Err(e) => {
                report.intact = matches!(e, Error::Untrusted(_));
                report.error = Some(e);
            }
        }
        if report.trusted && options.revocation != RevocationPolicy::Off {
            let data = dss.clone().unwrap_or_default();
            let check = CheckOptions {
                accept_expired: dss.is_some(),
                ..CheckOptions::at(at.unwrap_or_else(std::time::SystemTime::now))
            };
            let result = crate::revocation::check_chain_offline(&report.chain, &data, &check);
            match result.enforce_at(options.revocation, report.existed_at()) {
                Ok(w) => report.warnings = w,
                Err(e) => {
                    report.trusted = false;
                    report.error = Some(e);
                }
            }
            report.revocation = Some(result);
        }
        report.level = (f.subfilter == "ETSI.CAdES.detached").then(|| {
            let later_doc_ts = found[i + 1..].iter().any(|g| g.subfilter == "ETSI.RFC3161");
            match (has_timestamp, dss.is_some(), later_doc_ts) {
                (false, _, _) => Level::BB,
                (true, false, _) => Level::BT,
                (true, true, false) => Level::BLT,
                (true, true, true) => Level::BLTA,
            }
        });
        reports.push(report);
    }
    Ok(PdfReport {
        file_size,
        signatures: reports,
    })
}

/// See [`super::check_revocation_online`].
#[cfg(feature = "remote")]
pub(super) async fn check_revocation_online(
    report: &mut PdfReport,
    client: &crate::revocation::RevocationClient,
    policy: RevocationPolicy,
) {
    if policy == RevocationPolicy::Off {
        return;
    }
    for s in &mut report.signatures {
        // A chain is only there when the signature verified.
        let answered = s
            .revocation
            .as_ref()
            .is_some_and(|r| r.certificates.iter().all(|c| c.answer.is_some()));
        if s.chain.is_empty() || answered {
            continue;
        }
        let (result, _) = client.check_chain(&s.chain, &CheckOptions::default()).await;
        match result.enforce_at(policy, s.existed_at()) {
            Ok(w) => {
                s.warnings = w;
                s.trusted = true;
                s.error = None;
            }
            Err(e) => {
                s.trusted = false;
                s.error = Some(e);
            }
        }
        s.revocation = Some(result);
    }
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
