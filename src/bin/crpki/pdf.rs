//! `crpki pdf`: PDF signatures (PAdES, adbe.pkcs7.detached) through the
//! same signers as `crpki sign`, and their verification.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crpki::pdf::{self, Level, PdfJob, SignOptions, SubFilter, VerifyOptions};

use crate::xml::{SignerArgs, open_signer};
use crate::{CliResult, fail};

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
    /// The RFC 3161 timestamp authority for B-T and above.
    #[arg(long, value_name = "URL")]
    tsa: Option<String>,
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
    /// Validate the certificates at TIME (RFC 3339) instead of now.
    #[arg(long, value_name = "TIME", value_parser = crate::parse_time)]
    at: Option<std::time::SystemTime>,
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
        PdfCommand::Verify(args) => verify(args),
    }
}

async fn sign(args: SignPdfArgs, profile_flag: Option<String>) -> CliResult {
    if args.out.is_some() && args.inputs.len() > 1 {
        return Err(fail(
            "-o/--out names the output of one input; several inputs write IN.signed.pdf each",
        ));
    }
    if args.level > Level::BB && args.tsa.is_none() {
        return Err(fail(format!("--level {} needs --tsa URL", args.level)));
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

fn verify(args: VerifyPdfArgs) -> CliResult {
    let roots = crate::load_roots(&args.ca)?;
    let report = pdf::verify_file(&args.file, &roots, &VerifyOptions { at: args.at })?;
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
                    "timestamp": s.has_timestamp,
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
            out!(
                "  timestamp:     {}",
                if s.has_timestamp {
                    "present (not checked)"
                } else {
                    "none"
                }
            );
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
