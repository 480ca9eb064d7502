//! Batch-sign every file of a directory: hash them all (streaming), then
//! sign all digests through ONE `sign_digests` call, which a remote signer
//! turns into one authorization and one `signHash` per `multisign` chunk.
//!
//! ```sh
//! cargo run --example batch_sign -- DIR [P12]
//! ```
//! With a PKCS#12 file (password in `P12_PASSWORD`, default the fixtures'
//! `crpki-test`); without one, the fixture file is used. The remote variant
//! is the same with the signer of `examples/sign_remote.rs`.

use std::path::PathBuf;
use std::sync::Arc;

use crpki::cms::{self, SignOptions};
use crpki::signer::digest_file;
use crpki::{Pkcs12Signer, RemoteSigner};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let dir = args.next().ok_or("usage: batch_sign DIR [P12]")?;
    let p12 = args
        .next()
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/rep-rsa2048.p12"));
    let password = std::env::var("P12_PASSWORD").unwrap_or_else(|_| "crpki-test".into());
    let signer: Arc<dyn RemoteSigner> = Arc::new(Pkcs12Signer::open(&p12, &password)?);

    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        if path.is_file() && path.extension().is_none_or(|e| e != "p7s") {
            files.push(path);
        }
    }
    files.sort();

    let hash = signer.default_algorithm().hash;
    let digests = files
        .iter()
        .map(|f| digest_file(hash, f))
        .collect::<Result<Vec<_>, _>>()?;
    let signatures = cms::sign_digests(signer.as_ref(), &digests, &SignOptions::default()).await?;
    for (file, der) in files.iter().zip(&signatures) {
        cms::write_atomically(&PathBuf::from(format!("{}.p7s", file.display())), der)?;
    }
    println!(
        "signed {} file(s) in {} with one batch",
        files.len(),
        dir.display()
    );
    Ok(())
}
