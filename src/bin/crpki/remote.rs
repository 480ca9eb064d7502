//! Signing with the remote service: listing and choosing the credential,
//! exporting certificates, and batch-signing files through one
//! authorization per `multisign` chunk.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use clap::Subcommand;

use crpki::auth::{BrowserLauncher, SystemBrowser};
use crpki::cms;
use crpki::csc::{CredentialDescription, CscClient, CscSigner, PromptRequest, SecretPrompt, SignerOptions};
use crpki::profile::Profile;
use crpki::source::{EnvSecrets, ProfileRecipe, SECRET_ENV_PREFIX};
use crpki::{Error, RemoteSigner, Secret};

use crate::sign::{Show, SignArgs, early};
use crate::{CliResult, Context, fail};

#[derive(Subcommand)]
pub enum CertsCommand {
    /// List the signing credentials (certificates) the RSSP holds for you.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Choose the credential to sign with (automatic when there is exactly one).
    Use {
        /// The credential id (see `crpki certs list`).
        id: String,
        /// On Windows, bind the certificate to this provider: `csp` (CryptoAPI
        /// applications) or `ksp` (CNG applications: signtool, .NET, Office).
        /// Remembered in the profile; default: the profile's choice, else csp.
        #[arg(long, value_name = "csp|ksp")]
        provider: Option<crpki::profile::WindowsProvider>,
    },
}

/// Asks for a PIN/OTP on the terminal, with echo off; never logs it.
#[derive(Debug)]
struct TerminalPrompt;

#[async_trait]
impl SecretPrompt for TerminalPrompt {
    async fn ask(&self, request: &PromptRequest<'_>) -> crpki::Result<Secret> {
        if !std::io::stdin().is_terminal() {
            return Err(Error::InteractionRequired {
                detail: format!(
                    "credential {} needs its {} and there is no terminal to ask on: set {SECRET_ENV_PREFIX}{}",
                    request.credential.id,
                    request.input.id,
                    request.input.id.to_ascii_uppercase()
                ),
            });
        }
        let label = request
            .input
            .label
            .clone()
            .unwrap_or_else(|| request.input.id.clone());
        let line = crate::prompt_secret(&format!(
            "{label} for {} ({} signature(s)): ",
            request.credential.id, request.num_signatures
        ))
        .map_err(|e| Error::Cancelled { detail: e.message })?;
        Ok(line)
    }
}

/// PIN/OTP from environment variables (`CRPKI_PIN`, `CRPKI_OTP`: the
/// DLLs' [`EnvSecrets`]), for pipelines; falls back to the terminal.
#[derive(Debug)]
struct EnvOrTerminal;

#[async_trait]
impl SecretPrompt for EnvOrTerminal {
    async fn ask(&self, request: &PromptRequest<'_>) -> crpki::Result<Secret> {
        match EnvSecrets.ask(request).await {
            Ok(secret) => Ok(secret),
            Err(_) => TerminalPrompt.ask(request).await,
        }
    }
}

/// A browser launcher that only prints the URL (`--no-browser`, headless use).
#[derive(Debug)]
pub struct PrintOnly;

#[async_trait]
impl BrowserLauncher for PrintOnly {
    async fn open(&self, url: &str) -> crpki::Result<()> {
        eprintln!("Open this URL in a browser to continue:\n  {url}");
        Ok(())
    }
}

fn browser() -> Arc<dyn BrowserLauncher> {
    Arc::new(SystemBrowser::new().announce(|url| {
        eprintln!("Approve in your browser. If it did not open, visit:\n  {url}");
    }))
}

/// The tool's ingredients for the one recipe of [`crpki::source`]: PINs
/// and OTPs from the environment or the terminal, the system browser (the
/// URL printed too), the RSSP password of `csc_basic` profiles from
/// `CRPKI_RSSP_PASSWORD`.
fn recipe() -> ProfileRecipe {
    ProfileRecipe::new(Arc::new(EnvOrTerminal))
        .with_browser(Some(browser()))
        .with_rssp_password(std::env::var("CRPKI_RSSP_PASSWORD").ok().map(Secret::new))
        .with_options(SignerOptions {
            // One batch per process: authorize exactly its signatures (per
            // `multisign` chunk), never the service's maximum.
            reuse_authorizations: false,
            description: Some("crpki sign".to_owned()),
            ..SignerOptions::default()
        })
}

/// A CSC client for the profile, authorized as the profile says.
pub fn client(ctx: &Context, profile: &Profile) -> CliResult<Arc<CscClient>> {
    Ok(recipe().client(&ctx.store, profile)?)
}

/// The signer for the profile's credential.
pub async fn signer(ctx: &Context, profile: &Profile) -> CliResult<CscSigner> {
    Ok(recipe()
        .open(&ctx.store, profile, profile.credential_id.as_deref())
        .await?)
}

pub async fn certs(ctx: &Context, command: CertsCommand) -> CliResult {
    let profile = ctx.resolved_profile()?;
    let client = client(ctx, &profile)?;
    match command {
        CertsCommand::List { json } => {
            let list = client.list_credentials().await?;
            let chosen = profile.credential_id.as_deref();
            if json {
                let rows: Vec<_> = list.iter().map(|c| credential_json(c, chosen)).collect();
                let v = serde_json::json!({ "profile": profile.name, "sandbox": profile.sandbox, "credentials": rows });
                out!(
                    "{}",
                    serde_json::to_string_pretty(&v).map_err(|e| fail(e.to_string()))?
                );
            } else if list.is_empty() {
                out!("no signing credential for this account");
            } else {
                for c in &list {
                    print_credential(c, chosen);
                }
            }
        }
        CertsCommand::Use { id, provider } => {
            let description = client.credential_info(&id).await?;
            if let Err(e) = description.check_usable() {
                eprintln!("warning: {e}");
            }
            if let Some(cert) = &description.certificate {
                check_account_matches(ctx, &profile, cert).await?;
            }
            let provider = provider.unwrap_or(profile.windows_provider);
            ctx.store.edit(&profile.name, |p| {
                p.credential_id = Some(id.clone());
                p.windows_provider = provider;
                Ok(())
            })?;
            out!("profile {}: signing with credential {id}", profile.name);
            crate::windows::bind(description.certificate.as_ref(), &id, provider);
        }
    }
    Ok(())
}

/// With a GビズID login, the account's 13-digit `corporate_number` must be
/// the 法人番号 derived from the certificate's registered number, when both
/// are present: signing for another company is refused before it happens.
async fn check_account_matches(ctx: &Context, profile: &Profile, cert: &crpki::Certificate) -> CliResult {
    if !matches!(profile.rssp.service_auth, crpki::profile::ServiceAuth::GbizLogin) {
        return Ok(());
    }
    let has_number = matches!(cert.moj(), Ok(Some(m)) if m.registered_number.is_some());
    if !has_number {
        return Ok(());
    }
    let auth = crpki::auth::Authenticator::for_profile(profile, Arc::new(ctx.store.token_store()))?;
    let info = auth.userinfo(&auth.token_cache()).await?;
    if let Some(number) = &info.corporate_number {
        crpki::auth::check_corporate_number(number, cert)?;
    }
    Ok(())
}

fn credential_json(c: &CredentialDescription, chosen: Option<&str>) -> serde_json::Value {
    let summary = c.certificate.as_ref().map(|cert| cert.summary());
    serde_json::json!({
        "id": c.id,
        "chosen": chosen == Some(c.id.as_str()),
        "subject": summary.as_ref().map(|s| s.subject.clone()),
        "corporate_name": summary.as_ref().and_then(|s| s.corporate_name.clone()),
        "corporate_number": summary.as_ref().and_then(|s| s.corporate_number.clone()),
        "not_before": summary.as_ref().map(|s| s.not_before.clone()),
        "not_after": summary.as_ref().map(|s| s.not_after.clone()),
        "status": c.cert_status.to_string(),
        "key_enabled": c.key_enabled(),
        "algorithm": key_label(c),
        "scal": format!("{:?}", c.scal),
        "multisign": c.multisign,
    })
}

fn key_label(c: &CredentialDescription) -> String {
    match c.certificate.as_ref().and_then(|cert| cert.public_key().ok()) {
        Some(k) => k.info().to_string(),
        None => format!("{} bits", c.key_len),
    }
}

fn print_credential(c: &CredentialDescription, chosen: Option<&str>) {
    let mark = if chosen == Some(c.id.as_str()) { "*" } else { " " };
    let usable = match c.check_usable() {
        Ok(()) => "usable".to_owned(),
        Err(e) => format!("UNUSABLE: {e}"),
    };
    out!(
        "{mark} {}  [{}; {}; {}]",
        c.id,
        key_label(c),
        c.cert_status,
        usable
    );
    if let Some(cert) = &c.certificate {
        let s = cert.summary();
        out!("    subject:   {}", s.subject);
        if let Some(name) = &s.corporate_name {
            out!(
                "    商号:      {name}  法人番号 {}",
                s.corporate_number.as_deref().unwrap_or("-")
            );
        }
        out!("    valid:     {} .. {}", s.not_before, s.not_after);
    }
}

pub async fn export(ctx: &Context, ca: bool, out: Option<PathBuf>) -> CliResult {
    let profile = ctx.resolved_profile()?;
    let signer = signer(ctx, &profile).await?;
    let der = if ca {
        let root = signer
            .chain()
            .iter()
            .find(|c| c.is_self_signed())
            .ok_or_else(|| fail("the service did not return the registrar's self-signed certificate"))?;
        root.der().to_vec()
    } else {
        signer.certificate().der().to_vec()
    };
    match out {
        Some(path) => {
            cms::write_atomically(&path, &der)?;
            eprintln!("wrote {} ({} bytes, DER)", crpki::text::path(&path), der.len());
        }
        None => {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            if stdout.is_terminal() {
                return Err(fail(
                    "refusing to write DER to a terminal: use --out FILE or a pipe",
                ));
            }
            stdout
                .write_all(&der)
                .map_err(|e| Error::io("writing the certificate to stdout", e))?;
        }
    }
    Ok(())
}

/// `crpki sign` with the profile's credential: one pipelined batch (one
/// authorization per `multisign` chunk), or standard input to standard
/// output.
pub async fn sign_remote(ctx: &Context, args: &SignArgs) -> CliResult {
    let show = Show {
        quiet: args.quiet,
        json: args.json,
    };
    let (jobs, count) = args.jobs().map_err(|f| early(show, f))?;
    let replaced = crate::count_existing(
        &args
            .files
            .iter()
            .map(|f| crate::default_sig_path(f))
            .collect::<Vec<_>>(),
    );
    let profile = ctx.resolved_profile().map_err(|f| early(show, f))?;
    let stamper = crate::timestamp::Stamper::from_args(&args.stamp_args(), || Ok(profile.clone()))
        .map_err(|f| early(show, f))?;
    let signer = signer(ctx, &profile).await.map_err(|f| early(show, f))?;
    if args.is_stdin() {
        return crate::sign::sign_stdin(&signer, stamper.as_ref()).await;
    }
    let signed =
        crate::sign::sign_jobs(&signer, jobs, count, &args.options(), show, stamper.as_ref()).await?;
    if !args.quiet && !args.json {
        eprintln!(
            "signed {signed} file(s) as {} (credential {}){}",
            signer.certificate().subject(),
            signer.credential().id,
            crate::replaced_note(replaced)
        );
    }
    Ok(())
}

/// Called after `crpki logout`: nothing is cached in this process, but the
/// Windows certificate binding of the profile goes away with the login.
pub fn after_logout(_ctx: &Context, _profile: &Profile) {
    crate::windows::unbind();
}
