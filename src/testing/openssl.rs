//! Runs the `openssl` CLI, the independent judge of our signatures.

use std::path::Path;
use std::process::{Command, Output};

use crate::crypto::{HashAlgorithm, SignatureAlgorithm, SignatureScheme};

/// Runs `openssl ARGS` in `dir`; panics with a clear message when the CLI is
/// missing (these tests are about what openssl accepts, so they cannot skip).
pub fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("the openssl CLI is needed by this test and could not be run: {e}"))
}

/// Runs `openssl ARGS` in `dir` and panics with its stderr if it fails.
pub fn run_ok(dir: &Path, args: &[&str]) -> Output {
    let out = run(dir, args);
    assert!(
        out.status.success(),
        "openssl {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// openssl's name of a hash.
pub fn hash_name(hash: HashAlgorithm) -> &'static str {
    match hash {
        HashAlgorithm::Sha256 => "sha256",
        HashAlgorithm::Sha384 => "sha384",
        HashAlgorithm::Sha512 => "sha512",
    }
}

/// The `-pkeyopt`/`-sigopt` values for RSA-PSS as this crate makes it
/// (MGF1 with the same hash, salt as long as the hash).
pub fn pss_options(algorithm: SignatureAlgorithm) -> &'static [&'static str] {
    if algorithm.scheme == SignatureScheme::RsaPss {
        &["rsa_padding_mode:pss", "rsa_pss_saltlen:digest"]
    } else {
        &[]
    }
}

/// Whether `openssl pkeyutl -verify` accepts `signature` over the raw
/// `digest` with the DER SubjectPublicKeyInfo `spki` (files go to `dir`).
pub fn pkeyutl_verifies(
    dir: &Path,
    spki: &[u8],
    algorithm: SignatureAlgorithm,
    digest: &[u8],
    signature: &[u8],
) -> bool {
    std::fs::write(dir.join("spki.der"), spki).unwrap();
    std::fs::write(dir.join("digest.bin"), digest).unwrap();
    std::fs::write(dir.join("sig.bin"), signature).unwrap();
    let digest_opt = format!("digest:{}", hash_name(algorithm.hash));
    let mut args = vec![
        "pkeyutl",
        "-verify",
        "-pubin",
        "-keyform",
        "DER",
        "-inkey",
        "spki.der",
        "-in",
        "digest.bin",
        "-sigfile",
        "sig.bin",
        "-pkeyopt",
        &digest_opt,
    ];
    for opt in pss_options(algorithm) {
        args.extend(["-pkeyopt", opt]);
    }
    run(dir, &args).status.success()
}

/// Whether `openssl cms -verify` accepts the detached DER signature file
/// `sig` over the file `content`, trusting the root certificate file
/// `root` (PEM), as this crate's signatures are checked (`-purpose any`,
/// the MOJ extensions being critical).
pub fn cms_verifies(sig: &Path, content: &Path, root: &Path) -> bool {
    let out = Command::new("openssl")
        .args(["cms", "-verify", "-binary", "-inform", "DER", "-in"])
        .arg(sig)
        .arg("-content")
        .arg(content)
        .arg("-CAfile")
        .arg(root)
        .args(["-purpose", "any", "-ignore_critical", "-out", "/dev/null"])
        .output()
        .unwrap_or_else(|e| panic!("the openssl CLI is needed by this test and could not be run: {e}"));
    if !out.status.success() {
        eprintln!("openssl cms -verify: {}", String::from_utf8_lossy(&out.stderr));
    }
    out.status.success()
}
