//! `crpki::blocking`: signing and verifying from plain `fn main` code,
//! with a PKCS#12 file and with a remote profile against the sandbox.
#![cfg(feature = "pkcs12")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(feature = "sandbox")]
mod csc_support;

use std::path::{Path, PathBuf};

use crpki::blocking::{Signer, verify_file};
use crpki::{Certificate, Error, HashAlgorithm, Secret};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
}

fn root() -> Vec<Certificate> {
    Certificate::parse_all(&std::fs::read(fixture("registrar-root.pem")).unwrap()).unwrap()
}

#[test]
fn pkcs12_sign_and_verify_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("contract.txt");
    std::fs::write(&file, b"blocking facade").unwrap();
    let sig = dir.path().join("contract.txt.p7s");
    let signer = Signer::from_pkcs12(fixture("rep-rsa2048.p12"), &Secret::new("crpki-test")).unwrap();
    signer.sign_file(&file, &sig).unwrap();
    let verified = verify_file(&sig, &file, &root()).unwrap();
    assert_eq!(verified.signer.der(), signer.certificate().der());

    std::fs::write(&file, b"blocking facade, modified").unwrap();
    let e = verify_file(&sig, &file, &root()).unwrap_err();
    assert!(matches!(e, Error::ContentModified), "{e:?}");
}

#[test]
fn pkcs12_sign_digests_and_contents() {
    let signer = Signer::from_pkcs12(fixture("rep-rsa2048.p12"), &Secret::new("crpki-test")).unwrap();
    let alg = signer.default_algorithm();
    let digests = [alg.hash.digest(b"one"), alg.hash.digest(b"two")];
    let signatures = signer.sign_digests(alg, &digests).unwrap();
    assert_eq!(signatures.len(), 2);
    let key = signer.certificate().public_key().unwrap();
    for (d, s) in digests.iter().zip(&signatures) {
        key.verify_digest(alg, d, s).unwrap();
    }
    let cms = signer.sign_contents(&digests).unwrap();
    assert_eq!(cms.len(), 2);
    crpki::cms::verify_detached(&cms[1], &b"two"[..], &root(), None).unwrap();
}

#[test]
fn wrong_password_and_missing_file() {
    let e = Signer::from_pkcs12(fixture("rep-rsa2048.p12"), &Secret::new("nope")).unwrap_err();
    assert!(matches!(e, Error::WrongPassword { .. }), "{e:?}");
    let e = Signer::from_pkcs12("/nonexistent/rep.p12", &Secret::new("x")).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e:?}");
}

#[test]
fn refused_inside_an_async_runtime() {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let e = rt
        .block_on(async { Signer::from_pkcs12(fixture("rep-rsa2048.p12"), &Secret::new("crpki-test")) })
        .unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
    let signer = Signer::from_pkcs12(fixture("rep-rsa2048.p12"), &Secret::new("crpki-test")).unwrap();
    let d = HashAlgorithm::Sha256.digest(b"x");
    let e = rt
        .block_on(async { signer.sign_digests(signer.default_algorithm(), std::slice::from_ref(&d)) })
        .unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
}

#[cfg(feature = "sandbox")]
#[test]
fn remote_profile_through_the_sandbox() {
    use std::sync::Arc;

    use crpki::csc::StaticSecrets;
    use crpki::profile::{ProfileStore, SANDBOX_PROFILE, SandboxEndpoints};
    use crpki::sandbox::{Sandbox, SandboxConfig};
    use crpki::source::ProfileRecipe;

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    let state = config.join("sandbox");
    // The sandbox runs on a runtime of the test's; the facade's calls come
    // from this plain thread.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sandbox = rt
        .block_on(Sandbox::start(SandboxConfig {
            state_dir: Some(state.clone()),
            ..SandboxConfig::default()
        }))
        .unwrap();
    SandboxEndpoints::of(&sandbox).write(&state).unwrap();
    let store = ProfileStore::open(config);
    let profile = store.resolve(SANDBOX_PROFILE).unwrap();
    rt.block_on(csc_support::login_profile(&store, "alice"));

    let recipe = ProfileRecipe::new(Arc::new(StaticSecrets::new().with("PIN", "1234")));
    let signer = Signer::from_recipe(&recipe, &store, &profile).unwrap();
    let file = dir.path().join("doc.txt");
    std::fs::write(&file, b"remote, blocking").unwrap();
    let sig = dir.path().join("doc.txt.p7s");
    signer.sign_file(&file, &sig).unwrap();
    let roots = vec![sandbox.registrar_root().clone()];
    let verified = verify_file(&sig, &file, &roots).unwrap();
    assert_eq!(verified.signer.der(), signer.certificate().der());
    assert_eq!(sandbox.stats().sign_hash_calls, 1);

    let wrong = ProfileRecipe::new(Arc::new(StaticSecrets::new().with("PIN", "0000")));
    let signer = Signer::from_recipe(&wrong, &store, &profile).unwrap();
    let d = HashAlgorithm::Sha256.digest(b"x");
    let e = signer
        .sign_digests(signer.default_algorithm(), std::slice::from_ref(&d))
        .unwrap_err();
    // The service's `invalid_pin` reply.
    assert!(matches!(e, Error::InvalidOtp { .. }), "{e:?}");
    rt.block_on(sandbox.shutdown());
}
