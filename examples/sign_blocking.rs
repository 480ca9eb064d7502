//! Sign a file and verify the signature from plain, synchronous code (no
//! async runtime) with `crpki::blocking`: with a PKCS#12 file, or with the
//! credential of a remote profile (the one `crpki login` logged in and
//! `crpki certs use` chose).
//!
//! ```sh
//! P12_PASSWORD=crpki-test cargo run --example sign_blocking -- FILE --p12 fixtures/rep-rsa2048.p12
//! CRPKI_PIN=1234 cargo run --example sign_blocking -- FILE       # the current profile
//! ```
//! The signature goes to `FILE.p7s`. It is verified against the registrar
//! root the signer knows (the last certificate of its chain).

use std::path::PathBuf;
use std::sync::Arc;

use crpki::Secret;
use crpki::blocking::{Signer, verify_file};
use crpki::source::EnvSecrets;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: sign_blocking FILE [--p12 P12]";
    let file = PathBuf::from(args.first().ok_or(usage)?);
    let signer = match args.get(1).map(String::as_str) {
        Some("--p12") => {
            let p12 = args.get(2).ok_or(usage)?;
            let password = Secret::new(std::env::var("P12_PASSWORD").map_err(|_| "set P12_PASSWORD")?);
            Signer::from_pkcs12(p12, &password)?
        }
        Some(_) => return Err(usage.into()),
        // PINs and OTPs from CRPKI_PIN / CRPKI_OTP.
        None => Signer::from_profile(None, Arc::new(EnvSecrets))?,
    };

    let sig = PathBuf::from(format!("{}.p7s", file.display()));
    signer.sign_file(&file, &sig)?;

    let roots: Vec<_> = signer
        .chain()
        .iter()
        .filter(|c| c.is_self_signed())
        .cloned()
        .collect();
    let verified = verify_file(&sig, &file, &roots)?;
    println!("{} signed by {}", file.display(), verified.signer.subject());
    Ok(())
}
