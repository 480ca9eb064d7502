//! Sign a file with the credential of a remote profile (the one `crpki
//! login` logged in and `crpki certs use` chose), then verify it.
//!
//! ```sh
//! cargo run -- sandbox serve &          # or a real profile: crpki profile use NAME
//! cargo run -- login
//! CRPKI_PIN=1234 cargo run --example sign_remote -- FILE
//! ```
//! The PIN/OTP comes from `CRPKI_PIN` / `CRPKI_OTP` (a real tool asks the user).

use std::path::PathBuf;
use std::sync::Arc;

use crpki::cms::{self, SignOptions};
use crpki::profile::ProfileStore;
use crpki::source::{EnvSecrets, ProfileRecipe, resolve_profile};
use crpki::{Certificate, RemoteSigner};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let file = PathBuf::from(std::env::args_os().nth(1).ok_or("usage: sign_remote FILE")?);

    // The profile `crpki` uses: the current one, else the sandbox.
    let store = ProfileStore::open_default()?;
    let profile = resolve_profile(&store, None)?;

    // The crate's one recipe: service authorization as the profile says
    // (GビズID tokens from `crpki login`), then the chosen credential,
    // authorized with the PIN/OTP from the environment.
    let signer = ProfileRecipe::new(Arc::new(EnvSecrets))
        .open(&store, &profile, profile.credential_id.as_deref())
        .await?;

    let sig = PathBuf::from(format!("{}.p7s", file.display()));
    cms::sign_file(&signer, &file, &sig, &SignOptions::default()).await?;

    // Trust the registrar root the service returned with the chain.
    let roots: Vec<Certificate> = signer
        .chain()
        .iter()
        .filter(|c| c.is_self_signed())
        .cloned()
        .collect();
    let verified = cms::verify_file(&sig, &file, &roots, None)?;
    println!("{} signed by {}", file.display(), verified.signer.subject());
    Ok(())
}
