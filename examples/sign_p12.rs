//! Sign a file with a PKCS#12 file (the legacy 商業登記電子証明書 file) and
//! verify the detached CMS signature against the registrar's root.
//!
//! ```sh
//! cargo run --example sign_p12 -- FILE [P12] [ROOT]
//! ```
//! The password is read from `P12_PASSWORD` (the fixtures' is `crpki-test`,
//! which is the default when the variable is unset and the fixture is used).

use std::path::PathBuf;
use std::sync::Arc;

use crpki::cms::{self, SignOptions};
use crpki::{Certificate, Pkcs12Signer, RemoteSigner};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let file = args.next().ok_or("usage: sign_p12 FILE [P12] [ROOT]")?;
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let p12 = args.next().unwrap_or_else(|| fixtures.join("rep-rsa2048.p12"));
    let root = args.next().unwrap_or_else(|| fixtures.join("registrar-root.pem"));
    let password = std::env::var("P12_PASSWORD").unwrap_or_else(|_| "crpki-test".into());

    let signer: Arc<dyn RemoteSigner> = Arc::new(Pkcs12Signer::open(&p12, &password)?);
    let mut sig = file.clone().into_os_string();
    sig.push(".p7s");
    let sig = PathBuf::from(sig);
    cms::sign_file(signer.as_ref(), &file, &sig, &SignOptions::default()).await?;

    let roots = Certificate::parse_all(&std::fs::read(&root)?)?;
    let verified = cms::verify_file(&sig, &file, &roots, None)?;
    let who = verified.signer.summary();
    println!(
        "{} signed by {} ({}), 法人番号 {}",
        file.display(),
        who.subject,
        who.corporate_name.unwrap_or_default(),
        who.corporate_number.unwrap_or_default()
    );
    Ok(())
}
