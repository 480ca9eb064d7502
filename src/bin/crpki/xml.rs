//! `crpki xml`: XML signatures (the e-Gov manifest, enveloped documents)
//! through the same signers as `crpki sign`, and their verification.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Subcommand};

use crpki::RemoteSigner;
use crpki::xml::{self, C14nMethod, EgovOptions, EnvelopedOptions, VerifyOptions};

use crate::{CliResult, Context, fail};

#[derive(Subcommand)]
pub enum XmlCommand {
    /// Sign e-Gov manifests (DIR/kousei.xml) in place: a Signature in
    /// <署名情報> over <構成情報> and every application file it names (which
    /// must be in DIR and unchanged while signing). One authorization for
    /// all; all or nothing.
    SignEgov(SignEgovArgs),
    /// Sign a whole XML document with an enveloped signature.
    Sign(SignXmlArgs),
    /// Verify every XML signature of FILE: each Reference (detached files
    /// beside FILE), the signature value and the signer's chain.
    Verify(VerifyXmlArgs),
}

/// Where the signature comes from: as for `crpki sign`.
#[derive(Args)]
pub struct SignerArgs {
    /// Sign with this PKCS#12 file instead of the remote service.
    #[arg(long, value_name = "P12")]
    pub p12: Option<PathBuf>,
    /// Read the PKCS#12 password from this environment variable.
    #[arg(long, value_name = "VAR", requires = "p12")]
    pub password_env: Option<String>,
}

#[derive(Args)]
pub struct SignEgovArgs {
    /// The manifests, DIR/kousei.xml (several: signed as one batch).
    #[arg(required = true)]
    manifests: Vec<PathBuf>,
    #[command(flatten)]
    signer: SignerArgs,
    /// Write the manifest reference as "#構成情報" rather than e-Gov's
    /// percent-encoded form (xmlsec1 1.2 resolves only this one).
    #[arg(long)]
    iri_reference: bool,
}

#[derive(Args)]
pub struct SignXmlArgs {
    /// The document to sign.
    input: PathBuf,
    /// Where to write the signed document.
    #[arg(long, short)]
    out: PathBuf,
    #[command(flatten)]
    signer: SignerArgs,
    /// Canonicalize with inclusive C14N 1.0 (default: exclusive).
    #[arg(long)]
    inclusive: bool,
}

#[derive(Args)]
pub struct VerifyXmlArgs {
    /// The signed document.
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
    /// Accept SHA-1 digests and rsa-sha1 (e-Gov still accepts them), with a warning.
    #[arg(long)]
    allow_sha1: bool,
}

/// The signer `crpki sign` would use: the PKCS#12 file, else the profile's credential
/// (shared with `crpki pdf`).
pub async fn open_signer(
    args: &SignerArgs,
    profile_flag: Option<String>,
) -> CliResult<Arc<dyn RemoteSigner>> {
    if let Some(p12) = &args.p12 {
        return crate::open_p12(p12, args.password_env.as_deref()).await;
    }
    let ctx = Context {
        store: crate::manage::open_store()?,
        profile_flag,
    };
    let profile = ctx.resolved_profile()?;
    Ok(Arc::new(crate::remote::signer(&ctx, &profile).await?))
}

pub async fn run(command: XmlCommand, profile_flag: Option<String>) -> CliResult {
    match command {
        XmlCommand::SignEgov(args) => {
            let signer = open_signer(&args.signer, profile_flag).await?;
            let options = EgovOptions {
                iri_reference: args.iri_reference,
                ..EgovOptions::default()
            };
            xml::sign_egov_files(signer.as_ref(), &args.manifests, &options).await?;
            eprintln!(
                "signed {} manifest(s) as {}",
                args.manifests.len(),
                signer.certificate().subject()
            );
            Ok(())
        }
        XmlCommand::Sign(args) => {
            let text = xml::read_xml(&args.input)?;
            let signer = open_signer(&args.signer, profile_flag).await?;
            let options = EnvelopedOptions {
                c14n: if args.inclusive {
                    C14nMethod::inclusive()
                } else {
                    C14nMethod::exclusive()
                },
                ..EnvelopedOptions::default()
            };
            let signed = xml::sign_enveloped(signer.as_ref(), &text, &options).await?;
            crpki::cms::write_atomically(&args.out, signed.as_bytes())?;
            eprintln!(
                "signed {} → {} as {}",
                crpki::text::path(&args.input),
                crpki::text::path(&args.out),
                signer.certificate().subject()
            );
            Ok(())
        }
        XmlCommand::Verify(args) => verify(args),
    }
}

fn verify(args: VerifyXmlArgs) -> CliResult {
    let roots = crate::load_roots(&args.ca)?;
    let options = VerifyOptions {
        base_dir: None,
        at: args.at,
        allow_sha1: args.allow_sha1,
    };
    let report = xml::verify_file(&args.file, &roots, &options)?;
    if args.json {
        let signatures: Vec<_> = report
            .signatures
            .iter()
            .map(|s| {
                serde_json::json!({
                    "id": s.id,
                    "valid": s.is_valid(),
                    "signature_value_valid": s.value_valid,
                    "trusted": s.trust.is_ok(),
                    "trust_error": s.trust.as_ref().err().map(|e| e.to_string()),
                    "signer": s.signer.as_ref().map(|c| c.summary()),
                    "references": s.references.iter().map(|r| serde_json::json!({
                        "uri": r.uri,
                        "kind": match &r.kind {
                            xml::ReferenceKind::Document => "document".to_owned(),
                            xml::ReferenceKind::Element(id) => format!("element #{id}"),
                            xml::ReferenceKind::Detached(_) => "file".to_owned(),
                        },
                        "digest_algorithm": r.digest_algorithm,
                        "intact": r.intact,
                        "detail": r.detail,
                    })).collect::<Vec<_>>(),
                    "warnings": s.warnings,
                })
            })
            .collect();
        let value = serde_json::json!({
            "valid": report.is_valid(),
            "file": crpki::text::path(&args.file),
            "validated_at": crate::rfc3339(report.validated_at),
            "signatures": signatures,
        });
        out!(
            "{}",
            serde_json::to_string_pretty(&value).map_err(|e| fail(e.to_string()))?
        );
    } else {
        for (i, s) in report.signatures.iter().enumerate() {
            out!(
                "signature {} (Id {}): {}",
                i + 1,
                s.id.as_deref().unwrap_or("-"),
                if s.is_valid() { "VALID" } else { "NOT VALID" }
            );
            out!(
                "  signature value: {}",
                if s.value_valid { "ok" } else { "does not verify" }
            );
            for r in &s.references {
                let what = match &r.kind {
                    xml::ReferenceKind::Document => "the document".to_owned(),
                    xml::ReferenceKind::Element(id) => format!("element #{id}"),
                    xml::ReferenceKind::Detached(_) => "file".to_owned(),
                };
                out!(
                    "  reference {:?} ({what}, {}): {}",
                    r.uri,
                    r.digest_algorithm,
                    if r.intact {
                        "intact".to_owned()
                    } else {
                        format!("NOT intact: {}", r.detail.as_deref().unwrap_or(""))
                    }
                );
            }
            if let Some(cert) = &s.signer {
                let summary = cert.summary();
                crate::print_signer(&summary);
            }
            match &s.trust {
                Ok(_) => out!("  chain:         trusted"),
                Err(e) => out!("  chain:         NOT trusted: {e}"),
            }
            for w in &s.warnings {
                out!("  warning: {w}");
            }
        }
    }
    report.into_result()?;
    Ok(())
}
