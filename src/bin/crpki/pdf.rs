//! `crpki pdf`: PDF signatures (PAdES, adbe.pkcs7.detached) through the
//! same signers as `crpki sign`, and their verification.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use std::sync::Arc;

use crpki::http::{TransportConfig, http_client};
use crpki::pdf::{self, Level, PdfJob, SignOptions, SubFilter, VerifyOptions};
use crpki::revocation::{RevocationClient, RevocationPolicy};
use crpki::tsp::TsaClient;

use crate::xml::{SignerArgs, open_signer};
use crate::{CliResult, Context, fail};

#[derive(Subcommand)]
pub enum PdfCommand {
    /// Sign PDFs with an incremental update (the original bytes stay as
    /// they are). Several inputs are one batch: one authorization, all or
    /// nothing.
    Sign(SignPdfArgs),
    /// Verify every signature of a PDF: signer, time, level, whether the
    /// signed ranges are intact, what was appended after each, the chain.
    Verify(VerifyPdfArgs),
}

#[derive(Args)]
pub struct SignPdfArgs {
    /// The PDFs to sign.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Where to write the signed PDF (one input only; default IN.signed.pdf).
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// The PAdES level.
    #[arg(long, default_value = "B-B", value_parser = parse_level)]
    level: Level,
    /// The /SubFilter: ETSI.CAdES.detached (PAdES) or adbe.pkcs7.detached.
    #[arg(long, default_value = "ETSI.CAdES.detached", value_parser = parse_subfilter)]
    subfilter: SubFilter,
    /// The RFC 3161 timestamp authority for B-T and above (default: the
    /// profile's, such as the sandbox's).
    #[arg(long, value_name = "URL")]
    tsa: Option<String>,
    /// The root(s) the TSA's tokens must chain to (default: the profile's).
    #[arg(long, value_name = "ROOT")]
    tsa_ca: Vec<PathBuf>,
    /// An extra CA (PEM) for the TLS of the TSA, OCSP and CRL requests.
    #[arg(long, value_name = "PEM")]
    tls_ca: Vec<PathBuf>,
    /// Sign this existing empty signature field, or name the new one.
    #[arg(long, value_name = "NAME")]
    field: Option<String>,
    #[command(flatten)]
    signer: SignerArgs,
}

#[derive(Args)]
pub struct VerifyPdfArgs {
    /// The signed PDF.
    file: PathBuf,
    /// Trusted root certificate(s), PEM or DER.
    #[arg(long, value_name = "ROOT", required = true)]
    ca: Vec<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    /// Validate the certificates at TIME (RFC 3339) instead of now (or of
    /// a trusted signature timestamp's time).
    #[arg(long, value_name = "TIME", value_parser = crate::parse_time)]
    at: Option<std::time::SystemTime>,
    /// Trusted root(s) of timestamp authorities: a signature timestamp
    /// that chains to one is checked and its time used to validate the chain.
    #[arg(long, value_name = "ROOT")]
    tsa_ca: Vec<PathBuf>,
    /// Revocation: `require` (no answer fails), `prefer` (no answer warns;
    /// the default, as for `crpki verify`) or `off`. The DSS's data is used
    /// first; what it lacks is asked from the certificates' OCSP responders
    /// and CRL distribution points.
    #[arg(long, default_value = "prefer")]
    revocation: RevocationPolicy,
    /// An extra CA (PEM) for the TLS of the OCSP and CRL requests.
    #[arg(long, value_name = "PEM")]
    tls_ca: Vec<PathBuf>,
}

/// The crate's transport with the extra TLS CAs.
fn http(tls_ca: &[PathBuf], base: TransportConfig) -> CliResult<crpki::http::HttpClient> {
    let mut config = base;
    for file in tls_ca {
        config.extra_ca_pem.push(
            std::fs::read(file)
                .map_err(|e| crpki::Error::io(format!("reading {}", crpki::text::path(file)), e))?,
        );
    }
    Ok(http_client(&config)?)
}

/// The profile, if one resolves: its transport, TSA URL and TSA root.
fn profile(profile_flag: Option<String>) -> Option<crpki::profile::Profile> {
    let ctx = Context {
        store: crate::manage::open_store().ok()?,
        profile_flag,
    };
    ctx.resolved_profile().ok()
}

fn parse_level(s: &str) -> Result<Level, String> {
    s.parse().map_err(|e: crpki::Error| e.to_string())
}

fn parse_subfilter(s: &str) -> Result<SubFilter, String> {
    s.parse().map_err(|e: crpki::Error| e.to_string())
}

pub async fn run(command: PdfCommand, profile_flag: Option<String>) -> CliResult {
    match command {
        PdfCommand::Sign(args) => sign(args, profile_flag).await,
        PdfCommand::Verify(args) => verify(args).await,
    }
}

async fn sign(args: SignPdfArgs, profile_flag: Option<String>) -> CliResult {
    if args.out.is_some() && args.inputs.len() > 1 {
        return Err(fail(
            "-o/--out names the output of one input; several inputs write IN.signed.pdf each",
        ));
    }
    let mut tsa = None;
    let mut revocation = None;
    if args.level > Level::BB {
        let profile = profile(profile_flag.clone());
        let base = match &profile {
            Some(p) => TransportConfig::from_profile(p)?,
            None => TransportConfig::default(),
        };
        let client = http(&args.tls_ca, base)?;
        let url = args
            .tsa
            .clone()
            .or_else(|| profile.as_ref().and_then(|p| p.tsa_url.clone()))
            .ok_or_else(|| {
                fail(format!(
                    "--level {} needs --tsa URL (or a profile with a TSA)",
                    args.level
                ))
            })?;
        let mut roots_files = args.tsa_ca.clone();
        if roots_files.is_empty()
            && let Some(f) = profile.as_ref().and_then(|p| p.tsa_root_file.clone())
        {
            roots_files.push(f);
        }
        let roots = if roots_files.is_empty() {
            None
        } else {
            Some(crate::load_roots(&roots_files)?)
        };
        tsa = Some(Arc::new(TsaClient::new(client.clone(), &url, roots)?));
        revocation = Some(Arc::new(RevocationClient::new(client)));
    }
    let jobs: Vec<PdfJob> = args
        .inputs
        .iter()
        .map(|input| {
            let out = args.out.clone().unwrap_or_else(|| PdfJob::default_output(input));
            PdfJob::new(input.clone(), out)
        })
        .collect();
    let options = SignOptions {
        subfilter: args.subfilter,
        level: args.level,
        field: args.field.clone(),
        tsa,
        revocation,
        ..SignOptions::default()
    };
    let signer = open_signer(&args.signer, profile_flag).await?;
    let signed = pdf::sign_files(signer.as_ref(), &jobs, &options).await?;
    for (job, s) in jobs.iter().zip(&signed) {
        eprintln!(
            "signed {} → {} (field {:?}, {}, {}) as {}",
            crpki::text::path(&job.input),
            crpki::text::path(&s.output),
            s.field,
            args.subfilter.name(),
            args.level,
            signer.certificate().subject()
        );
    }
    Ok(())
}

async fn verify(args: VerifyPdfArgs) -> CliResult {
    let roots = crate::load_roots(&args.ca)?;
    let tsa_roots = if args.tsa_ca.is_empty() {
        Vec::new()
    } else {
        crate::load_roots(&args.tsa_ca)?
    };
    let options = VerifyOptions {
        at: args.at,
        tsa_roots,
        revocation: args.revocation,
    };
    let mut report = pdf::verify_file(&args.file, &roots, &options)?;
    let unanswered = report.signatures.iter().any(|s| {
        !s.chain.is_empty()
            && !s
                .revocation
                .as_ref()
                .is_some_and(|r| r.certificates.iter().all(|c| c.answer.is_some()))
    });
    if args.revocation != RevocationPolicy::Off && unanswered {
        let client = RevocationClient::new(http(&args.tls_ca, TransportConfig::default())?);
        pdf::check_revocation_online(&mut report, &client, args.revocation).await;
    }
    let all_trusted = !report.signatures.is_empty() && report.signatures.iter().all(|s| s.trusted);
    if args.json {
        let signatures: Vec<_> = report
            .signatures
            .iter()
            .map(|s| {
                serde_json::json!({
                    "field": s.field,
                    "subfilter": s.subfilter,
                    "level": s.level.map(|l| l.to_string()),
                    "signer": s.signer.as_ref().map(|c| c.summary()),
                    "pdf_time": s.pdf_time,
                    "signing_time": s.signing_time.map(crate::rfc3339),
                    "byte_range": s.byte_range,
                    "intact": s.intact,
                    "trusted": s.trusted,
                    "covers_whole_document": s.covers_whole_document,
                    "appended_bytes": s.appended_bytes,
                    "revisions_after": s.revisions_after,
                    "document_timestamp": s.is_document_timestamp(),
                    "timestamp": s.timestamp.as_ref().map(|t| serde_json::json!({
                        "time": t.gen_time.map(crate::rfc3339),
                        "tsa": t.tsa,
                        "intact": t.intact,
                        "trusted": t.trusted,
                        "error": t.error,
                    })),
                    "revocation": s.revocation,
                    "warnings": s.warnings,
                    "error": s.error.as_ref().map(|e| e.to_string()),
                })
            })
            .collect();
        let value = serde_json::json!({
            "valid": all_trusted,
            "file": crpki::text::path(&args.file),
            "size": report.file_size,
            "signatures": signatures,
        });
        out!(
            "{}",
            serde_json::to_string_pretty(&value).map_err(|e| fail(e.to_string()))?
        );
    } else {
        if report.signatures.is_empty() {
            out!("no signatures");
        }
        for (i, s) in report.signatures.iter().enumerate() {
            let verdict = match (s.intact, s.trusted) {
                (true, true) => "VALID",
                (true, false) => "INTACT, NOT TRUSTED",
                _ => "NOT VALID",
            };
            out!("signature {} (field {:?}): {verdict}", i + 1, s.field);
            out!(
                "  subfilter:     {}{}",
                s.subfilter,
                s.level.map(|l| format!(" (PAdES {l})")).unwrap_or_default()
            );
            if let Some(cert) = &s.signer {
                crate::print_signer(&cert.summary());
            }
            if let Some(m) = &s.pdf_time {
                out!("  /M:            {m}");
            }
            if let Some(t) = s.signing_time {
                out!("  signing time:  {} (claimed by the signer)", crate::rfc3339(t));
            }
            out!("  intact:        {}", if s.intact { "yes" } else { "NO" });
            if s.covers_whole_document {
                out!("  covers:        the whole document");
            } else {
                out!(
                    "  covers:        not the whole document: {} bytes in {} revision(s) were appended after it",
                    s.appended_bytes,
                    s.revisions_after
                );
            }
            match &s.timestamp {
                Some(t) => out!(
                    "  timestamp:     {} by {} ({})",
                    t.gen_time.map(crate::rfc3339).unwrap_or_default(),
                    t.tsa.as_deref().unwrap_or("?"),
                    match (t.intact, t.trusted) {
                        (true, true) => "intact, trusted".to_string(),
                        (true, false) => "intact, TSA not trusted".to_string(),
                        _ => format!("NOT intact: {}", t.error.as_deref().unwrap_or("")),
                    }
                ),
                None => out!("  timestamp:     none"),
            }
            if let Some(r) = &s.revocation {
                for c in &r.certificates {
                    out!(
                        "  revocation:    {}: {}",
                        c.subject,
                        match &c.answer {
                            Some(a) => format!("{:?} ({:?})", a.status, a.source),
                            None => format!("no answer ({})", c.problems.join("; ")),
                        }
                    );
                }
            }
            for w in &s.warnings {
                out!("  warning:       {w}");
            }
            if let Some(e) = &s.error {
                out!("  problem:       {e}");
            }
        }
    }
    if all_trusted {
        Ok(())
    } else {
        Err(fail("not every signature of the PDF is intact and trusted"))
    }
}
