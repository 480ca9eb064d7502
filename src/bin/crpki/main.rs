//! `crpki`: sign and verify files with the commercial-registration
//! certificate, inspect certificates, and (with the sandbox) try the whole
//! remote-signing flow with no account.
//!
//! Exit codes: 0 success; 1 error; 2 usage error; 3 the signature or
//! certificate did not verify; 4 a password or login is needed or wrong.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use crpki::cms::{self, SignOptions};
use crpki::{Certificate, Error, RemoteSigner};

#[derive(Parser)]
#[command(name = "crpki", version, about = "Sign with Japan's commercial-registration certificate (商業登記電子証明書)")]
struct Cli {
    /// More log output (repeat for more); logs go to stderr and never contain secrets.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sign FILE: writes FILE.p7s, a detached CMS signature (DER).
    Sign(SignArgs),
    /// Verify a detached CMS signature of FILE against a trusted root.
    Verify(VerifyArgs),
    /// Certificates.
    #[command(subcommand)]
    Cert(CertCommand),
    /// Sign a sample document and verify it, end to end, with test keys.
    Demo(DemoArgs),
}

#[derive(Args)]
struct DemoArgs {
    /// Directory for the sample document and its signature (default: a new temporary directory).
    #[arg(long)]
    dir: Option<PathBuf>,
}

#[derive(Args)]
struct SignArgs {
    /// The file to sign.
    file: PathBuf,
    /// Sign with this PKCS#12 file (the legacy 商業登記電子証明書 file).
    #[arg(long, value_name = "P12")]
    p12: PathBuf,
    /// Read the PKCS#12 password from this environment variable
    /// (otherwise it is asked for on the terminal).
    #[arg(long, value_name = "VAR")]
    password_env: Option<String>,
    /// Where to write the signature (default FILE.p7s).
    #[arg(long, short)]
    out: Option<PathBuf>,
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
}

#[derive(Subcommand)]
enum CertCommand {
    /// Show a certificate (DER or PEM) and its MOJ fields.
    Show {
        /// The certificate file.
        cert: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// What went wrong, and which exit code it deserves.
struct Failure {
    code: u8,
    message: String,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let code = match &e {
            Error::BadSignature { .. } | Error::ContentModified | Error::Untrusted(_) => 3,
            Error::WrongPassword { .. } | Error::Unauthenticated { .. } => 4,
            _ => 1,
        };
        let mut message = e.to_string();
        if let Error::WrongPassword { .. } = e {
            message.push_str(" (check the password and try again)");
        }
        Failure { code, message }
    }
}

fn fail(message: impl Into<String>) -> Failure {
    Failure {
        code: 1,
        message: message.into(),
    }
}

type CliResult<T = ()> = Result<T, Failure>;

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
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("crpki: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

fn init_logging(verbose: u8) {
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

async fn run(command: Command) -> CliResult {
    match command {
        Command::Sign(args) => sign(args).await,
        Command::Verify(args) => verify(args),
        Command::Cert(CertCommand::Show { cert, json }) => cert_show(&cert, json),
        Command::Demo(args) => demo(args).await,
    }
}

fn read_file(path: &Path) -> CliResult<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e).into())
}

fn password(var: Option<&str>) -> CliResult<String> {
    match var {
        Some(var) => std::env::var(var).map_err(|_| Failure {
            code: 4,
            message: format!("the environment variable {var} (--password-env) is not set"),
        }),
        None => prompt_password("PKCS#12 password: "),
    }
}

fn prompt_password(prompt: &str) -> CliResult<String> {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        return Err(Failure {
            code: 4,
            message: "a password is needed: pass --password-env VAR (no terminal to ask on)".into(),
        });
    }
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| fail(format!("reading the password: {e}")))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn default_sig_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_os_string();
    name.push(".p7s");
    PathBuf::from(name)
}

async fn sign(args: SignArgs) -> CliResult {
    let password = password(args.password_env.as_deref())?;
    let p12 = read_file(&args.p12)?;
    let signer: Arc<dyn RemoteSigner> = Arc::new(crpki::Pkcs12Signer::from_bytes(&p12, &password)?);
    let out = args.out.unwrap_or_else(|| default_sig_path(&args.file));
    let options = SignOptions::default();
    cms::sign_file(signer.as_ref(), &args.file, &out, &options).await?;
    eprintln!(
        "signed {} as {} → {}",
        args.file.display(),
        signer.certificate().subject(),
        out.display()
    );
    Ok(())
}

fn load_roots(paths: &[PathBuf]) -> CliResult<Vec<Certificate>> {
    let mut roots = Vec::new();
    for p in paths {
        roots.extend(Certificate::parse_all(&read_file(p)?)?);
    }
    Ok(roots)
}

fn verify(args: VerifyArgs) -> CliResult {
    let sig_path = args.sig.clone().unwrap_or_else(|| default_sig_path(&args.file));
    let roots = load_roots(&args.ca)?;
    let verified = cms::verify_file(&sig_path, &args.file, &roots, None)?;
    let summary = verified.signer.summary();
    let signing_time = verified.signing_time.map(rfc3339);
    if args.json {
        let value = serde_json::json!({
            "valid": true,
            "file": args.file,
            "signature": sig_path,
            "signing_time": signing_time,
            "signer": summary,
        });
        println!("{}", serde_json::to_string_pretty(&value).map_err(|e| fail(e.to_string()))?);
    } else {
        println!("OK: {} is signed and the signature is valid", args.file.display());
        println!("signed by:     {}", summary.subject);
        if let Some(name) = &summary.corporate_name {
            println!("corporation:   {name}");
        }
        if let Some(n) = &summary.corporate_number {
            println!("法人番号:      {n}");
        }
        if let Some(d) = &summary.director_name {
            let title = summary.director_title.as_deref().unwrap_or("");
            println!("representative: {title} {d}");
        }
        println!("issuer:        {}", summary.issuer);
        if let Some(t) = &signing_time {
            println!("signing time:  {t}");
        }
    }
    Ok(())
}

fn cert_show(path: &Path, json: bool) -> CliResult {
    let cert = Certificate::from_pem_or_der(&read_file(path)?)?;
    let summary = cert.summary();
    if json {
        println!("{}", serde_json::to_string_pretty(&summary).map_err(|e| fail(e.to_string()))?);
        return Ok(());
    }
    print_summary(&summary);
    if let Err(e) = cert.moj() {
        println!("warning: {e}");
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
            println!("{label}: {v}");
        }
    }
}

fn rfc3339(t: std::time::SystemTime) -> String {
    time::OffsetDateTime::from(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| format!("{t:?}"))
}

/// The fixtures of this repository (TEST keys), for `crpki demo`.
fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
}

async fn demo(args: DemoArgs) -> CliResult {
    let dir = match args.dir {
        Some(d) => {
            std::fs::create_dir_all(&d).map_err(|e| Error::io(format!("creating {}", d.display()), e))?;
            d
        }
        None => {
            let d = std::env::temp_dir().join(format!("crpki-demo-{}", std::process::id()));
            std::fs::create_dir_all(&d).map_err(|e| Error::io(format!("creating {}", d.display()), e))?;
            d
        }
    };
    println!("crpki demo — TEST keys only (fixtures/rep-rsa2048.p12, password crpki-test): NOT a real certificate");
    let doc = dir.join("申請書.txt");
    std::fs::write(&doc, "登記申請書 (crpki demo)\nThis document is signed with a TEST certificate.\n")
        .map_err(|e| Error::io(format!("writing {}", doc.display()), e))?;
    println!("1. wrote {}", doc.display());

    let p12 = read_file(&fixture("rep-rsa2048.p12"))?;
    let signer: Arc<dyn RemoteSigner> = Arc::new(crpki::Pkcs12Signer::from_bytes(&p12, "crpki-test")?);
    println!("2. signer: {} ({})", signer.certificate().subject(), signer.key_info());

    let sig = default_sig_path(&doc);
    cms::sign_file(signer.as_ref(), &doc, &sig, &SignOptions::default()).await?;
    println!("3. signed → {}", sig.display());

    let root_path = fixture("registrar-root.pem");
    verify(VerifyArgs {
        file: doc.clone(),
        sig: Some(sig.clone()),
        ca: vec![root_path.clone()],
        json: false,
    })?;
    println!(
        "4. cross-check with OpenSSL:\n   openssl cms -verify -binary -inform DER -in '{}' -content '{}' -CAfile '{}' -purpose any -ignore_critical -out /dev/null",
        sig.display(),
        doc.display(),
        root_path.display()
    );
    Ok(())
}
