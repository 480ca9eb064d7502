//! The providers' remote signer source (`ProfileSource`) against the
//! sandbox over HTTPS, on Linux: the profile and token files `crpki` writes,
//! the kept SCAL 1 authorization, silence, logout, a sandbox that went away.
//! Signatures are checked with the `openssl` CLI.
#![cfg(all(feature = "sandbox", feature = "remote"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod csc_support;

use std::path::Path;
use std::sync::Arc;

use crpki::csc::StaticSecrets;
use crpki::profile::{ProfileStore, SANDBOX_PROFILE};
use crpki::provider::error::codes;
use crpki::provider::{
    Api, OpenOptions, ProviderCore, ProviderError, SignatureCache, SignerSource, Worker, status_code,
};
use crpki::sandbox::Sandbox;
use crpki::source::ProfileSource;
use crpki::{HashAlgorithm, SignatureAlgorithm};

async fn start(dir: &Path) -> (Sandbox, ProfileStore) {
    csc_support::profile_sandbox(dir).await
}

async fn login(store: &ProfileStore, user: &str) {
    csc_support::login_profile(store, user).await;
}

fn source(store: &ProfileStore, pin: Option<&str>) -> ProfileSource {
    let secrets = match pin {
        Some(p) => StaticSecrets::new().with("PIN", p),
        None => StaticSecrets::new(),
    };
    ProfileSource::new()
        .with_store(store.clone())
        .with_profile(SANDBOX_PROFILE)
        .with_prompt(Arc::new(secrets))
        .with_browser(None)
}

fn core(source: ProfileSource) -> Arc<ProviderCore> {
    Arc::new(ProviderCore::new(
        Arc::new(source),
        Worker::new(std::time::Duration::from_secs(60), None),
        SignatureCache::default(),
    ))
}

/// Runs a blocking provider call off the test's runtime (the provider
/// blocks its caller, as a Windows export does).
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

fn openssl_verify(dir: &Path, cert_der: &[u8], data: &[u8], signature: &[u8]) -> bool {
    std::fs::write(dir.join("c.der"), cert_der).unwrap();
    std::fs::write(dir.join("d.bin"), data).unwrap();
    std::fs::write(dir.join("s.bin"), signature).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["x509", "-inform", "DER", "-pubkey", "-noout", "-in"])
        .arg(dir.join("c.der"))
        .output()
        .expect("openssl CLI");
    std::fs::write(dir.join("p.pem"), out.stdout).unwrap();
    std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(dir.join("p.pem"))
        .arg("-signature")
        .arg(dir.join("s.bin"))
        .arg(dir.join("d.bin"))
        .output()
        .expect("openssl CLI")
        .status
        .success()
}

fn code(e: &ProviderError) -> u32 {
    status_code(e, Api::CryptoApi)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_source_against_the_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let (sb, store) = start(dir.path()).await;

    // Not logged in: silent is NTE_SILENT_CONTEXT, otherwise NTE_PERM naming `crpki login`.
    let c = core(source(&store, Some("1234")));
    let e = blocking({
        let c = c.clone();
        move || c.open(None, OpenOptions::silent(true)).unwrap_err()
    })
    .await;
    assert_eq!(code(&e), codes::NTE_SILENT_CONTEXT, "{e}");
    let e = blocking({
        let c = c.clone();
        move || c.open(None, OpenOptions::silent(false)).unwrap_err()
    })
    .await;
    assert_eq!(code(&e), codes::NTE_PERM, "{e}");
    assert!(e.to_string().contains("crpki login"), "{e}");

    login(&store, "alice").await;

    // The containers are alice's credentials; the only one is selected.
    let list = blocking({
        let c = c.clone();
        move || c.containers(OpenOptions::default()).unwrap()
    })
    .await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].name, "alice-rsa");
    assert!(list[0].selected);

    // Three signatures through two opens: one authorization, three signHash calls.
    let before = sb.stats();
    let alg = SignatureAlgorithm::RSA_PKCS1_SHA256;
    let (sigs, cert) = blocking({
        let c = c.clone();
        move || {
            let mut sigs = Vec::new();
            let mut cert = Vec::new();
            for i in 0..3 {
                let container = c.open(None, OpenOptions::default()).unwrap();
                assert_eq!(container.name, "alice-rsa");
                let data = format!("document {i}");
                let d = HashAlgorithm::Sha256.digest(data.as_bytes());
                sigs.push((data, c.sign(&container, alg, &d).unwrap()));
                cert = container.signer.certificate().der().to_vec();
            }
            (sigs, cert)
        }
    })
    .await;
    let after = sb.stats();
    assert_eq!(after.signatures - before.signatures, 3);
    assert_eq!(
        after.authorizations - before.authorizations,
        1,
        "the SCAL 1 authorization is kept across opens"
    );
    for (data, sig) in &sigs {
        assert!(openssl_verify(dir.path(), &cert, data.as_bytes(), sig));
    }
    assert!(!openssl_verify(dir.path(), &cert, b"other", &sigs[0].1));

    // Silent opens work with the PIN from the source; a wrong PIN is SCARD_W_WRONG_CHV.
    let silent = blocking({
        let c = c.clone();
        move || c.open(Some("alice-rsa"), OpenOptions::silent(true)).unwrap()
    })
    .await;
    assert!(silent.options.silent);
    let wrong = core(source(&store, Some("9999")));
    let e = blocking(move || {
        let k = wrong.open(None, OpenOptions::default()).unwrap();
        wrong
            .sign(&k, alg, &HashAlgorithm::Sha256.digest(b"x"))
            .unwrap_err()
    })
    .await;
    assert_eq!(code(&e), codes::SCARD_W_WRONG_CHV, "{e}");
    // No PIN at all: the interaction the provider cannot have yet.
    let none = core(source(&store, None));
    let e = blocking(move || {
        let k = none.open(None, OpenOptions::default()).unwrap();
        none.sign(&k, alg, &HashAlgorithm::Sha256.digest(b"y"))
            .unwrap_err()
    })
    .await;
    assert_eq!(code(&e), codes::NTE_SILENT_CONTEXT, "{e}");
    // An unknown container.
    let e = blocking({
        let c = c.clone();
        move || c.open(Some("nobody-rsa"), OpenOptions::default()).unwrap_err()
    })
    .await;
    assert_eq!(code(&e), codes::NTE_BAD_KEYSET, "{e}");

    // Logout (the token file goes): an opened container stops signing at
    // once, and opening again says "log in".
    let opened = blocking({
        let c = c.clone();
        move || c.open(None, OpenOptions::default()).unwrap()
    })
    .await;
    std::fs::remove_file(store.token_store().path(SANDBOX_PROFILE).unwrap()).unwrap();
    let before = sb.stats();
    let e = blocking({
        let c = c.clone();
        move || {
            c.sign(&opened, alg, &HashAlgorithm::Sha256.digest(b"after logout"))
                .unwrap_err()
        }
    })
    .await;
    assert_eq!(code(&e), codes::NTE_PERM, "{e}");
    assert_eq!(sb.stats().sign_hash_calls, before.sign_hash_calls);
    let e = blocking({
        let c = c.clone();
        move || c.open(None, OpenOptions::silent(true)).unwrap_err()
    })
    .await;
    assert_eq!(code(&e), codes::NTE_SILENT_CONTEXT, "{e}");

    // Logged in again: a new authorization (nothing kept survives the logout).
    login(&store, "alice").await;
    let before = sb.stats();
    blocking({
        let c = c.clone();
        move || {
            let k = c.open(None, OpenOptions::default()).unwrap();
            c.sign(&k, alg, &HashAlgorithm::Sha256.digest(b"again")).unwrap();
        }
    })
    .await;
    assert_eq!(sb.stats().authorizations - before.authorizations, 1);

    // The sandbox goes away: NTE_DEVICE_NOT_READY, for an opened container and a new open.
    let opened = blocking({
        let c = c.clone();
        move || c.open(None, OpenOptions::default()).unwrap()
    })
    .await;
    sb.shutdown().await;
    let e = blocking({
        let c = c.clone();
        move || {
            c.sign(&opened, alg, &HashAlgorithm::Sha256.digest(b"down"))
                .unwrap_err()
        }
    })
    .await;
    assert_eq!(code(&e), codes::NTE_DEVICE_NOT_READY, "{e}");
    let fresh = core(source(&store, Some("1234")));
    let e = blocking(move || fresh.open(None, OpenOptions::default()).unwrap_err()).await;
    assert_eq!(code(&e), codes::NTE_DEVICE_NOT_READY, "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_sandbox_running_is_a_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = ProfileStore::open(dir.path().join("config"));
    let s = source(&store, Some("1234"));
    let e = s.open(None, OpenOptions::default()).await.unwrap_err();
    assert!(matches!(e, crpki::Error::Config { .. }), "{e:?}");
    assert_eq!(code(&ProviderError::from(e)), codes::NTE_KEYSET_NOT_DEF);
}

/// Opens the selected container and signs `digest` (PKCS#1, SHA-256).
async fn sign_once(src: &ProfileSource, digest: &crpki::Digest) -> crpki::Result<Vec<Vec<u8>>> {
    let opened = src.open(None, OpenOptions::default()).await?;
    opened
        .signer
        .sign_digests(SignatureAlgorithm::RSA_PKCS1_SHA256, std::slice::from_ref(digest))
        .await
}

/// An application gives the PIN (the KSP's `NCRYPT_PIN_PROPERTY`, the
/// CSP's `PP_SIGNATURE_PIN`): the next authorization uses it; a PIN the
/// service refuses is not sent again; a logout forgets it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pin_given_by_the_application_is_used_refused_once_and_gone_at_logout() {
    let dir = tempfile::tempdir().unwrap();
    let (sb, store) = start(dir.path()).await;
    login(&store, "alice").await;
    // Nothing answers a PIN prompt: the environment is not consulted here.
    let src = source(&store, None);
    let digest = HashAlgorithm::Sha256.digest(b"signed with the application's PIN");
    let e = sign_once(&src, &digest).await.unwrap_err();
    assert!(matches!(e, crpki::Error::InteractionRequired { .. }), "{e:?}");

    // A wrong PIN is refused by the service once, then forgotten.
    src.set_pin("alice-rsa", crpki::Secret::new("0000")).unwrap();
    let e = sign_once(&src, &digest).await.unwrap_err();
    assert!(matches!(e, crpki::Error::InvalidOtp { .. }), "{e:?}");
    let refused = sb.stats().requests;
    let e = sign_once(&src, &digest).await.unwrap_err();
    assert!(matches!(e, crpki::Error::InteractionRequired { .. }), "{e:?}");
    assert!(
        sb.stats().requests - refused <= 1,
        "the refused PIN was sent again"
    );

    // The right one signs; openssl agrees.
    let before = sb.stats();
    src.set_pin("alice-rsa", crpki::Secret::new("1234")).unwrap();
    let sigs = sign_once(&src, &digest).await.unwrap();
    assert_eq!(sb.stats().authorizations - before.authorizations, 1);
    let opened = src.open(None, OpenOptions::default()).await.unwrap();
    assert!(openssl_verify(
        dir.path(),
        opened.signer.certificate().der(),
        b"signed with the application's PIN",
        &sigs[0]
    ));
    assert!(matches!(
        src.set_pin("alice-rsa", crpki::Secret::new("")),
        Err(crpki::Error::InvalidArgument { .. })
    ));

    // A logout forgets it: logged in again, the PIN is asked for anew.
    std::fs::remove_file(store.token_store().path(SANDBOX_PROFILE).unwrap()).unwrap();
    assert!(sign_once(&src, &digest).await.is_err());
    login(&store, "alice").await;
    let e = sign_once(&src, &digest).await.unwrap_err();
    assert!(matches!(e, crpki::Error::InteractionRequired { .. }), "{e:?}");
}
