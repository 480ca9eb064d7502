//! `C_Sign` through the PKCS#11 module against the sandbox, next to the
//! same signature made by the library in the same process: what the module
//! adds per signature (goal: at most 1 ms). Both sign one SHA-256 digest
//! per remote `signHash` with alice's SCAL 1 credential (the authorization
//! is kept between signatures by both).
//!
//! `cargo bench --bench pkcs11 --features pkcs11` (the module is the
//! crate's cdylib that `cargo bench` builds next to this program).
#![allow(clippy::unwrap_used, unsafe_code)]

#[path = "../tests/csc_support/mod.rs"]
mod csc_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crpki::csc::StaticSecrets;
use crpki::source::{OpenOptions, ProfileSource, SignerSource};
use crpki::{HashAlgorithm, SignatureAlgorithm};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;

const N: usize = 200;

fn per_signature(total: Duration) -> f64 {
    total.as_secs_f64() * 1000.0 / N as f64
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return; // `cargo test --benches` only checks that it builds
    }
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (_sb, store) = rt.block_on(async {
        let (sb, store) = csc_support::profile_sandbox(dir.path()).await;
        csc_support::login_profile(&store, "alice").await;
        (sb, store)
    });
    // SAFETY: set before the module is loaded, while no other thread of
    // this program reads the environment.
    unsafe {
        std::env::set_var("CRPKI_CONFIG_DIR", store.dir());
        std::env::set_var("CRPKI_PROVIDER_LOG", dir.path().join("provider.log"));
        std::env::remove_var("CRPKI_PROFILE");
    }

    // The library: the providers' profile source, a signer, one digest per call.
    let source = ProfileSource::new()
        .with_store(store.clone())
        .with_prompt(Arc::new(StaticSecrets::new().with("PIN", "1234")))
        .with_browser(None);
    let signer = rt
        .block_on(source.open(Some("alice-rsa"), OpenOptions::default()))
        .unwrap()
        .signer;
    let library = |i: usize| {
        let d = HashAlgorithm::Sha256.digest(format!("library {i}").as_bytes());
        rt.block_on(signer.sign_digests(SignatureAlgorithm::RSA_PKCS1_SHA256, &[d]))
            .unwrap();
    };

    // The module: C_Sign with CKM_SHA256_RSA_PKCS.
    let so = std::env::current_exe().unwrap().with_file_name("libcrpki.so");
    let p = Pkcs11::new(so).unwrap();
    p.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .unwrap();
    let slot = p.get_slots_with_token().unwrap()[0];
    let s = p.open_ro_session(slot).unwrap();
    s.login(UserType::User, Some(&AuthPin::new("1234".into())))
        .unwrap();
    let key = s
        .find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY)])
        .unwrap()[0];
    let module = |i: usize| {
        s.sign(&Mechanism::Sha256RsaPkcs, key, format!("module {i}").as_bytes())
            .unwrap();
    };

    for i in 0..10 {
        library(i);
        module(i);
    }
    // Interleaved rounds, so that both see the same machine load.
    let (mut lib, mut md) = (Duration::ZERO, Duration::ZERO);
    for round in 0..4 {
        let t = Instant::now();
        (0..N / 4).for_each(|i| library(1000 * round + i));
        lib += t.elapsed();
        let t = Instant::now();
        (0..N / 4).for_each(|i| module(1000 * round + i));
        md += t.elapsed();
    }
    let (lib, md) = (per_signature(lib), per_signature(md));
    println!("pkcs11: library {lib:.3} ms/signature, C_Sign through the module {md:.3} ms/signature");
    println!(
        "pkcs11: the module adds {:+.3} ms per signature (goal: at most +1 ms)",
        md - lib
    );
}
