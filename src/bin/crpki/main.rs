//! `crpki`: sign and verify files with the commercial-registration
//! certificate (remotely through a CSC service after a GビズID login, or with
//! a legacy PKCS#12 file), manage profiles, the proxy, login and the chosen
//! credential, inspect certificates, and run the local sandbox.
//!
//! Exit codes: 0 success; 1 error; 2 usage error; 3 the signature or
//! certificate did not verify (including a revoked certificate, and no
//! usable revocation answer under `--revocation require`); 4 a password or
//! login is needed or wrong.

/// `println!` that never panics: when stdout is a closed pipe (`crpki
/// certs list | head -1`), the rest of the output is dropped and the
/// command still finishes its work and returns its exit code.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::write_stdout(format_args!($($arg)*))
    };
}

mod manage;
#[cfg(feature = "pdf")]
mod pdf;
mod pkcs11;
mod remote;
mod revocation;
mod sign;
mod timestamp;
mod windows;
#[cfg(feature = "xml")]
mod xml;

/// Writes one line to stdout; see [`out!`]. Errors other than a closed
/// pipe are dropped too: the output is a report, never the only copy of
/// a result (signatures are files, verdicts are exit codes).
pub(crate) fn write_stdout(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_fmt(args).and_then(|()| stdout.write_all(b"\n"));
}

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use crpki::cms;
use crpki::profile::{Profile, ProfileStore};
use crpki::source::{OpenOptions, Pkcs12Source, SignerSource};
use crpki::{Certificate, Error, RemoteSigner};

use manage::{ConfigCommand, LoginArgs, ProfileCommand, SandboxCommand};
use remote::{CertsCommand, PrintOnly};
use sign::SignArgs;

#[derive(Parser)]
#[command(
    name = "crpki",
    version,
    about = "Sign with Japan's commercial-registration certificate (商業登記電子証明書)"
)]
struct Cli {
    /// More log output (repeat for more); logs go to stderr and never contain secrets.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    /// The profile to use (default: the current one, else the sandbox).
    #[arg(long, global = true, env = "CRPKI_PROFILE")]
    profile: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sign files: writes FILE.p7s, a detached CMS signature (DER), for each,
    /// replacing an existing FILE.p7s (see --no-clobber); all or nothing.
    Sign(SignArgs),
    /// Verify a detached CMS signature of FILE against a trusted root.
    Verify(VerifyArgs),
    /// One certificate: show a file, or export yours from the service.
    #[command(subcommand)]
    Cert(CertCommand),
    /// Your signing credentials at the remote service.
    #[command(subcommand)]
    Certs(CertsCommand),
    /// Log in with GビズID (opens the browser; the URL is printed too).
    Login(LoginArgs),
    /// Log out: revoke the tokens where the service allows, and forget them.
    Logout,
    /// Profiles: which services to use and how.
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Settings of the current profile (proxy).
    #[command(subcommand)]
    Config(ConfigCommand),
    /// The local sandbox: a CSC remote signing service and a GビズID-style login on loopback.
    #[command(subcommand)]
    Sandbox(SandboxCommand),
    /// Sign a sample document through an in-process sandbox and verify it, end to end.
    Demo(DemoArgs),
    /// Install a provider: the Windows CSP or KSP, or the PKCS#11 module (Linux, macOS).
    #[command(subcommand)]
    Install(windows::InstallCommand),
    /// Uninstall a provider installed with `crpki install`.
    #[command(subcommand)]
    Uninstall(windows::UninstallCommand),
    /// XML signatures: e-Gov manifests (kousei.xml) and enveloped documents.
    #[cfg(feature = "xml")]
    #[command(subcommand)]
    Xml(xml::XmlCommand),
    /// PDF signatures (PAdES, adbe.pkcs7.detached): sign and verify.
    #[cfg(feature = "pdf")]
    #[command(subcommand)]
    Pdf(pdf::PdfCommand),
}

#[derive(Args)]
struct DemoArgs {
    /// Directory for the sample document, its signature and the sandbox state
    /// (default: a new temporary directory).
    #[arg(long)]
    dir: Option<PathBuf>,
}

#[derive(Args)]
struct VerifyArgs {
    /// The signed file.
    file: PathBuf,
    /// The signature (default FILE.p7s).
    sig: Option<PathBuf>,
    /// Trusted root certificate(s), PEM or DER (the registrar's self-signed certificate).
    #[arg(long, value_name = "ROOT", required = true)]
    ca: Vec<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    /// Validate the certificates at TIME (RFC 3339, such as
    /// 2024-06-01T00:00:00Z) instead of now. The signature's own signingTime
    /// is only the signer's claim and is never used for this.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    at: Option<std::time::SystemTime>,
    /// Revocation checking of the signer's chain, with answers current now:
    /// OCSP, then CRLs, from the certificates' authority information access
    /// and CRL distribution points, through the profile's proxy. `require`:
    /// a certificate without a usable answer fails (exit 3); `prefer`: it
    /// is a warning; `off`: no check, no network. A revoked certificate
    /// fails (exit 3) under require and prefer, with the reason and time,
    /// unless a trusted signature timestamp (--tsa-ca) shows the signature
    /// existed before the revocation (then a warning; --at does not count).
    /// The default is prefer: revocation is caught whenever the
    /// certificates say where to ask (MOJ certificates do since the 2026
    /// renewal) and the responder answers, while signatures whose
    /// certificates name no responder, or checked with no network, still
    /// verify, as they did before this option existed.
    #[arg(long, value_name = "POLICY", default_value = "prefer", value_parser = ["require", "prefer", "off"])]
    revocation: String,
    /// Trusted TSA root(s), PEM or DER: a signature timestamp (CAdES-T)
    /// whose TSA chains to one of them makes the certificates validated at
    /// its time instead of now (a certificate that has expired since then
    /// still verifies).
    #[arg(long, value_name = "ROOT")]
    tsa_ca: Vec<PathBuf>,
}

/// An RFC 3339 time, for `--at`.
fn parse_time(s: &str) -> Result<std::time::SystemTime, String> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(std::time::SystemTime::from)
        .map_err(|e| format!("not an RFC 3339 time such as 2024-06-01T00:00:00Z: {e}"))
}

#[derive(Subcommand)]
enum CertCommand {
    /// Show a certificate (DER or PEM, at most 128 KiB) and its MOJ fields.
    ///
    /// Control and bidi characters in names and MOJ values are shown as
    /// hex pairs (\0a). MOJ extensions that do not decode give a warning
    /// (text) or an "error" field (JSON), with exit code 0.
    Show {
        /// The certificate file.
        cert: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Export your signing certificate (or, with --ca, the registrar's
    /// self-signed certificate) from the remote service, DER.
    Export {
        /// Export the registrar's self-signed certificate instead.
        #[arg(long)]
        ca: bool,
        /// Write to FILE (default: standard output, when it is not a terminal).
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
}

/// What every command may need: the profile store and the chosen profile.
pub struct Context {
    store: ProfileStore,
    profile_flag: Option<String>,
}

impl Context {
    /// The profile name in effect: `--profile`, else the current one, else the sandbox.
    fn profile_name(&self) -> CliResult<String> {
        if let Some(p) = &self.profile_flag {
            return Ok(p.clone());
        }
        Ok(self
            .store
            .current_name()?
            .unwrap_or_else(|| manage::DEFAULT_PROFILE.to_owned()))
    }

    /// The profile in effect, with its endpoints resolved; a sandbox
    /// profile is announced on stderr so nobody mistakes it for the real service.
    fn resolved_profile(&self) -> CliResult<Profile> {
        let profile = self.store.resolve(&self.profile_name()?)?;
        if profile.sandbox {
            eprintln!(
                "[SANDBOX] profile '{}': the local crpki test service; signatures made here have no legal effect",
                profile.name
            );
        }
        Ok(profile)
    }
}

/// What went wrong, and which exit code it deserves.
pub struct Failure {
    /// The exit code.
    pub code: u8,
    /// The message for stderr.
    pub message: String,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let code = match &e {
            Error::BadSignature { .. } | Error::ContentModified | Error::Untrusted(_) => 3,
            Error::WrongPassword { .. }
            | Error::Unauthenticated { .. }
            | Error::InvalidOtp { .. }
            | Error::InteractionRequired { .. } => 4,
            _ => 1,
        };
        let mut message = e.to_string();
        if let Error::WrongPassword { .. } = e {
            message.push_str(" (check the password and try again)");
        }
        Failure { code, message }
    }
}

/// A failure with exit code 1.
pub fn fail(message: impl Into<String>) -> Failure {
    Failure {
        code: 1,
        message: message.into(),
    }
}

/// What a command returns.
pub type CliResult<T = ()> = Result<T, Failure>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("crpki: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("crpki: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

fn init_logging(verbose: u8) {
    // Logs name operations and errors; tokens, passwords and PINs are never
    // logged at any level (they are `Secret`s, whose Debug is redacted).
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CRPKI_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

async fn run(cli: Cli) -> CliResult {
    match cli.command {
        Command::Verify(args) => {
            let transport = revocation::transport(cli.profile.as_deref());
            return verify(args, &transport).await;
        }
        Command::Cert(CertCommand::Show { cert, json }) => return cert_show(&cert, json),
        Command::Demo(args) => return demo(args).await,
        Command::Sandbox(command) => return manage::sandbox(command).await,
        Command::Install(command) => return windows::install(command),
        Command::Uninstall(command) => return windows::uninstall(command),
        Command::Sign(args) if args.p12.is_some() => return sign_p12(args, cli.profile).await,
        #[cfg(feature = "xml")]
        Command::Xml(command) => return xml::run(command, cli.profile).await,
        #[cfg(feature = "pdf")]
        Command::Pdf(command) => return pdf::run(command, cli.profile).await,
        Command::Sign(ref args) => args.check()?,
        _ => {}
    }
    let ctx = Context {
        store: manage::open_store()?,
        profile_flag: cli.profile,
    };
    match cli.command {
        Command::Sign(args) => {
            if args.out.is_some() {
                return Err(fail(
                    "--out is for --p12 signing of one file; remote signing writes FILE.p7s",
                ));
            }
            remote::sign_remote(&ctx, &args).await
        }
        Command::Cert(CertCommand::Export { ca, out }) => remote::export(&ctx, ca, out).await,
        Command::Certs(command) => remote::certs(&ctx, command).await,
        Command::Login(args) => manage::login(&ctx, args).await,
        Command::Logout => manage::logout(&ctx).await,
        Command::Profile(command) => manage::profile(&ctx, command),
        Command::Config(command) => manage::config(&ctx, command),
        Command::Verify(_)
        | Command::Cert(CertCommand::Show { .. })
        | Command::Demo(_)
        | Command::Sandbox(_)
        | Command::Install(_)
        | Command::Uninstall(_) => Ok(()),
        #[cfg(feature = "xml")]
        Command::Xml(_) => Ok(()),
        #[cfg(feature = "pdf")]
        Command::Pdf(_) => Ok(()),
    }
}

fn read_file(path: &Path) -> CliResult<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(format!("reading {}", crpki::text::path(path)), e).into())
}

fn password(var: Option<&str>) -> CliResult<crpki::Secret> {
    match var {
        Some(var) => std::env::var(var).map(crpki::Secret::new).map_err(|_| Failure {
            code: 4,
            message: format!("the environment variable {var} (--password-env) is not set"),
        }),
        None => prompt_secret("PKCS#12 password: "),
    }
}

/// Reads a secret from the terminal with echo off (`rpassword`: the
/// terminal device on Unix, the console on Windows) after showing `prompt`.
pub fn prompt_secret(prompt: &str) -> CliResult<crpki::Secret> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        return Err(Failure {
            code: 4,
            message: "a password is needed: pass --password-env VAR (no terminal to ask on)".into(),
        });
    }
    rpassword::prompt_password(prompt)
        .map(crpki::Secret::new)
        .map_err(|e| fail(format!("reading the password: {e}")))
}

/// `FILE.p7s`.
pub fn default_sig_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_os_string();
    name.push(".p7s");
    PathBuf::from(name)
}

async fn sign_p12(args: SignArgs, profile_flag: Option<String>) -> CliResult {
    let Some(p12_path) = &args.p12 else {
        return Err(fail("--p12 is required here"));
    };
    args.check()?;
    let show = sign::Show {
        quiet: args.quiet,
        json: args.json,
    };
    let (jobs, count) = args.jobs().map_err(|f| sign::early(show, f))?;
    let replaced = match &args.out {
        Some(out) => count_existing(std::slice::from_ref(out)),
        None => count_existing(&args.files.iter().map(|f| default_sig_path(f)).collect::<Vec<_>>()),
    };
    let stamper = timestamp::Stamper::from_args(&args.stamp_args(), || timestamp::profile_of(profile_flag))
        .map_err(|f| sign::early(show, f))?;
    let signer = open_p12(p12_path, args.password_env.as_deref())
        .await
        .map_err(|f| sign::early(show, f))?;
    if args.is_stdin() {
        return sign::sign_stdin(signer.as_ref(), stamper.as_ref()).await;
    }
    let signed = sign::sign_jobs(
        signer.as_ref(),
        jobs,
        count,
        &args.options(),
        show,
        stamper.as_ref(),
    )
    .await?;
    if !args.quiet && !args.json {
        eprintln!(
            "signed {signed} file(s) as {}{}",
            signer.certificate().subject(),
            replaced_note(replaced)
        );
    }
    Ok(())
}

/// The signer of a PKCS#12 file, its password from `password_env` or the terminal.
pub async fn open_p12(p12_path: &Path, password_env: Option<&str>) -> CliResult<Arc<dyn RemoteSigner>> {
    let password = password(password_env)?;
    Ok(Pkcs12Source::file(p12_path, &password)
        .open(None, OpenOptions::default())
        .await?
        .signer)
}

/// How many of `outs` exist now (and will be replaced).
pub fn count_existing(outs: &[PathBuf]) -> usize {
    outs.iter().filter(|o| o.symlink_metadata().is_ok()).count()
}

/// The summary line's note on replaced signatures.
pub fn replaced_note(replaced: usize) -> String {
    match replaced {
        0 => String::new(),
        n => format!("; replaced {n} existing signature file(s)"),
    }
}

fn load_roots(paths: &[PathBuf]) -> CliResult<Vec<Certificate>> {
    let mut roots = Vec::new();
    for p in paths {
        roots.extend(Certificate::parse_all(&read_file(p)?)?);
    }
    Ok(roots)
}

async fn verify(args: VerifyArgs, transport: &crpki::http::TransportConfig) -> CliResult {
    let sig_path = args.sig.clone().unwrap_or_else(|| default_sig_path(&args.file));
    let roots = load_roots(&args.ca)?;
    let tsa_roots = timestamp::tsa_roots(&args.tsa_ca)?;
    let sig = cms::read_limited(&sig_path, cms::MAX_SIGNATURE_SIZE, "CMS signature")?;
    let content = std::fs::File::open(&args.file)
        .map_err(|e| Error::io(format!("opening {}", crpki::text::path(&args.file)), e))?;
    let verified = cms::verify_detached_timestamped(&sig, content, &roots, &tsa_roots, args.at)?;
    let policy = args.revocation.parse::<crpki::revocation::RevocationPolicy>()?;
    // Only a trusted timestamp proves when the signature existed (--at is
    // the caller's choice of validation time, not a proof).
    let existed_at = verified
        .timestamp
        .as_ref()
        .filter(|t| t.trusted)
        .map(|t| t.gen_time + t.accuracy.unwrap_or_default());
    let revocation = revocation::check(&verified.chain, policy, existed_at, transport).await?;
    for w in &revocation.warnings {
        eprintln!("warning: {w}");
    }
    let summary = verified.signer.summary();
    let signing_time = verified.signing_time.map(rfc3339);
    if args.json {
        let value = serde_json::json!({
            "valid": true,
            "file": crpki::text::path(&args.file),
            "signature": crpki::text::path(&sig_path),
            "signing_time": signing_time,
            "validated_at": rfc3339(verified.validated_at),
            "timestamp": timestamp::json(verified.timestamp.as_ref()),
            "signer": summary,
            "revocation": revocation.json(),
        });
        out!(
            "{}",
            serde_json::to_string_pretty(&value).map_err(|e| fail(e.to_string()))?
        );
    } else {
        out!(
            "OK: {} is signed and the signature is valid",
            crpki::text::path(&args.file)
        );
        print_signer(&summary);
        if let Some(t) = &signing_time {
            out!("signing time:  {t} (claimed by the signer)");
        }
        if let Some(ts) = &verified.timestamp {
            timestamp::print(ts);
        }
        if args.at.is_some() {
            out!("validated at:  {} (--at)", rfc3339(verified.validated_at));
        }
        for c in &revocation.result.certificates {
            if let Some(a) = &c.answer {
                let from = a.url.as_deref().unwrap_or("embedded data");
                let source = match a.source {
                    crpki::revocation::AnswerSource::Ocsp => "OCSP",
                    crpki::revocation::AnswerSource::Crl => "CRL",
                };
                out!("revocation:    not revoked ({source} {from}): {}", c.subject);
            }
        }
    }
    Ok(())
}

/// Who signed: subject, the MOJ fields, issuer.
pub fn print_signer(summary: &crpki::CertSummary) {
    out!("signed by:     {}", summary.subject);
    if let Some(name) = &summary.corporate_name {
        out!("corporation:   {name}");
    }
    if let Some(n) = &summary.corporate_number {
        out!("法人番号:      {n}");
    }
    if let Some(d) = &summary.director_name {
        let title = summary.director_title.as_deref().unwrap_or("");
        out!("representative: {title} {d}");
    }
    out!("issuer:        {}", summary.issuer);
}

/// The largest file `cert show` reads: a maximal DER certificate as PEM fits.
const MAX_CERTIFICATE_FILE: usize = 2 * crpki::cert::MAX_CERTIFICATE_SIZE;

fn cert_show(path: &Path, json: bool) -> CliResult {
    let data = cms::read_limited(path, MAX_CERTIFICATE_FILE, "certificate")?;
    let cert = Certificate::from_pem_or_der(&data)?;
    let summary = cert.summary();
    // Malformed MOJ extensions: the rest is still shown, with the reason.
    let moj_error = cert.moj().err().map(|e| e.to_string());
    if json {
        let mut value = serde_json::to_value(&summary).map_err(|e| fail(e.to_string()))?;
        if let Some(map) = value.as_object_mut() {
            map.insert("error".into(), moj_error.into());
        }
        out!(
            "{}",
            serde_json::to_string_pretty(&value).map_err(|e| fail(e.to_string()))?
        );
        return Ok(());
    }
    print_summary(&summary);
    if let Some(e) = moj_error {
        out!("warning: {e}");
    }
    Ok(())
}

fn print_summary(s: &crpki::CertSummary) {
    let rows: [(&str, Option<&str>); 13] = [
        ("subject", Some(&s.subject)),
        ("issuer", Some(&s.issuer)),
        ("serial", Some(&s.serial)),
        ("not before", Some(&s.not_before)),
        ("not after", Some(&s.not_after)),
        ("商号 corporate name", s.corporate_name.as_deref()),
        ("会社法人等番号 registered number", s.registered_number.as_deref()),
        ("法人番号 corporate number", s.corporate_number.as_deref()),
        ("本店 head office", s.corporate_address.as_deref()),
        ("代表者 representative", s.director_name.as_deref()),
        ("資格 title", s.director_title.as_deref()),
        ("管轄登記所 registry office", s.registry_office.as_deref()),
        ("登記官 registrar", s.registrar.as_deref()),
    ];
    for (label, value) in rows {
        if let Some(v) = value {
            out!("{label}: {v}");
        }
    }
}

fn rfc3339(t: std::time::SystemTime) -> String {
    time::OffsetDateTime::from(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| format!("{t:?}"))
}

async fn demo(args: DemoArgs) -> CliResult {
    use crpki::auth::{Authenticator, HttpFollowLauncher, LoginOptions, TransportConfig};
    use crpki::csc::{CscClient, CscSigner, ModeAuthorizer, SignerOptions, StaticSecrets, select_credential};
    use crpki::profile::SandboxEndpoints;
    use crpki::sandbox::{CredentialAuthMode, Sandbox, SandboxConfig};

    let dir = args
        .dir
        .unwrap_or_else(|| std::env::temp_dir().join(format!("crpki-demo-{}", std::process::id())));
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::io(format!("creating {}", crpki::text::path(&dir)), e))?;
    out!(
        "crpki demo: sign and verify through the SANDBOX (test keys; no legal effect), in {}",
        crpki::text::path(&dir)
    );

    let sandbox = Sandbox::start(SandboxConfig {
        state_dir: Some(dir.join("sandbox-state")),
        ..SandboxConfig::default()
    })
    .await?;
    out!(
        "1. sandbox RSSP {} and GビズID-style provider {}",
        sandbox.csc_base_v2(),
        sandbox.oidc_issuer()
    );

    let store = ProfileStore::open(dir.join("config"));
    let mut profile = Profile::builtin_sandbox();
    profile.apply_sandbox_endpoints(&SandboxEndpoints::of(&sandbox), sandbox.state_dir());

    let auth = Authenticator::for_profile(&profile, Arc::new(store.token_store()))?;
    let http = crpki::auth::http_client(&TransportConfig::from_profile(&profile)?)?;
    let user = "alice";
    let login = auth
        .login(
            &HttpFollowLauncher::new(http),
            &LoginOptions {
                login_hint: Some(user.to_owned()),
                ..LoginOptions::default()
            },
        )
        .await?;
    out!(
        "2. logged in (auto-approved) as {} — subject {}",
        user,
        login.id_token.sub
    );

    let client = Arc::new(CscClient::for_profile(&profile)?.with_token_source(Arc::new(auth.token_cache())));
    let credentials = client.list_credentials().await?;
    let ids: Vec<&str> = credentials.iter().map(|c| c.id.as_str()).collect();
    out!("3. credentials at the RSSP: {}", ids.join(", "));

    // The sandbox publishes its TEST PINs; a real service asks the user.
    let mut secrets = StaticSecrets::new();
    if let Some(u) = sandbox.user(user) {
        for c in &u.credentials {
            if let CredentialAuthMode::Explicit { pin, otp } = &c.auth_mode {
                if let Some(pin) = pin {
                    secrets = secrets.with("PIN", pin.as_str());
                }
                if let Some(otp) = otp {
                    secrets = secrets.with("OTP", otp.as_str());
                }
            }
        }
    }
    let authorizer = ModeAuthorizer::new().with_prompt(Arc::new(secrets));
    // The list is already here: pick from it rather than asking again.
    let chosen = select_credential(&credentials, None)?.clone();
    let signer = CscSigner::from_description(client, chosen, Arc::new(authorizer), SignerOptions::default())?;
    out!(
        "4. signing with {} ({})",
        signer.certificate().subject(),
        signer.key_info()
    );

    let doc = dir.join("申請書.txt");
    std::fs::write(
        &doc,
        "登記申請書 (crpki demo)\nThis document is signed with a SANDBOX TEST certificate.\n",
    )
    .map_err(|e| Error::io(format!("writing {}", crpki::text::path(&doc)), e))?;
    let sig = default_sig_path(&doc);
    let jobs: sign::Jobs = Box::new(std::iter::once(Ok(cms::SignJob::beside(&doc))));
    let show = sign::Show {
        quiet: true,
        json: false,
    };
    sign::sign_jobs(
        &signer,
        jobs,
        Some(1),
        &cms::PipelineOptions::default(),
        show,
        None,
    )
    .await?;
    let stats = sandbox.stats();
    out!(
        "5. signed {} → {} ({} credential authorization(s), {} signHash call(s) at the RSSP)",
        crpki::text::path(&doc),
        crpki::text::path(&sig),
        stats.authorizations,
        stats.sign_hash_calls
    );

    let root_path = dir.join("registrar-root.pem");
    std::fs::write(&root_path, sandbox.registrar_root().to_pem())
        .map_err(|e| Error::io(format!("writing {}", crpki::text::path(&root_path)), e))?;
    out!(
        "6. verifying against the sandbox registrar root {}",
        crpki::text::path(&root_path)
    );
    // The certificate names the sandbox's OCSP responder (plain HTTP on
    // the state's revocation origin): it is asked, and must answer.
    let transport = crpki::http::TransportConfig::default();
    verify(
        VerifyArgs {
            file: doc.clone(),
            sig: Some(sig.clone()),
            ca: vec![root_path.clone()],
            json: false,
            at: None,
            revocation: "require".into(),
            tsa_ca: Vec::new(),
        },
        &transport,
    )
    .await?;
    out!(
        "7. cross-check with OpenSSL:\n   openssl cms -verify -binary -inform DER -in '{}' -content '{}' -CAfile '{}' -purpose any -ignore_critical -out /dev/null",
        crpki::text::path(&sig),
        crpki::text::path(&doc),
        crpki::text::path(&root_path)
    );
    sandbox.shutdown().await;
    Ok(())
}
