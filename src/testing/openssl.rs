//! Runs the `openssl` CLI, the independent judge of our signatures.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::crypto::{HashAlgorithm, SignatureAlgorithm, SignatureScheme};
use crate::signer::MemorySigner;

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

/// A TEST CA and a signer certificate (RSA-2048, keyUsage digitalSignature
/// and nonRepudiation) without the MOJ extensions, made by openssl in
/// `dir`: what verifiers that refuse the MOJ critical extensions (xmlsec1,
/// NSS's pdfsig) can check.
#[derive(Debug)]
pub struct PlainPki {
    /// A signer over the key and certificate, chained to the CA.
    pub signer: MemorySigner,
    /// The CA certificate (PEM).
    pub ca: PathBuf,
    /// The signer's private key (PEM, unencrypted).
    pub key: PathBuf,
    /// The signer's certificate (PEM).
    pub cert: PathBuf,
}

/// Makes with the openssl CLI, in `dir`, a TEST CA (`ca.pem`, `ca.key`:
/// RSA-2048, basicConstraints and keyUsage critical) and a certificate
/// under it (`leaf.pem`, `leaf.key`) with `leaf_extensions` (the lines of
/// an openssl extension file); both valid for 30 days.
pub fn ca_and_leaf(dir: &Path, ca_subject: &str, leaf_subject: &str, leaf_extensions: &str) {
    run_ok(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-subj",
            ca_subject,
            "-days",
            "30",
            "-addext",
            "basicConstraints=critical,CA:true",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    run_ok(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
            "-subj",
            leaf_subject,
        ],
    );
    std::fs::write(dir.join("leaf.ext"), leaf_extensions).unwrap_or_else(|e| panic!("writing leaf.ext: {e}"));
    run_ok(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-set_serial",
            "7",
            "-days",
            "30",
            "-extfile",
            "leaf.ext",
            "-out",
            "leaf.pem",
        ],
    );
}

/// Makes a [`PlainPki`] in `dir`, its subjects `crpki TEST {name} CA` and
/// `crpki TEST {name} signer`.
pub fn plain_pki(dir: &Path, name: &str) -> PlainPki {
    ca_and_leaf(
        dir,
        &format!("/CN=crpki TEST {name} CA"),
        &format!("/CN=crpki TEST {name} signer"),
        "keyUsage=critical,digitalSignature,nonRepudiation\nbasicConstraints=CA:false\n",
    );
    let read = |n: &str| std::fs::read_to_string(dir.join(n)).unwrap_or_else(|e| panic!("reading {n}: {e}"));
    let signer = MemorySigner::from_pem(&read("leaf.key"), &read("leaf.pem"), &read("ca.pem"))
        .unwrap_or_else(|e| panic!("the plain TEST signer: {e}"));
    PlainPki {
        signer,
        ca: dir.join("ca.pem"),
        key: dir.join("leaf.key"),
        cert: dir.join("leaf.pem"),
    }
}
