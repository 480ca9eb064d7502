//! One `crpki.dll` with both providers (`--features csp,ksp`), as the README
//! suggests for a machine that serves CryptoAPI and CNG applications:
//! cross-built with `crpki.exe` and both Windows test programs, registered
//! with `regsvr32` (the CSP key appears; the KSP registers through bcrypt),
//! and each provider signs through its own interface in the one DLL:
//! advapi32 for the CSP, the `GetKeyStorageInterface` table for the KSP.
//! `openssl` checks the signatures. The single-provider builds have their
//! own suites (`tests/wine_csp.rs`, `tests/wine_ksp.rs`).
#![cfg(all(feature = "csp", feature = "ksp"))]

#[path = "wine/harness.rs"]
mod harness;

use harness::*;

#[test]
fn csp_and_ksp_in_one_dll_under_wine() {
    let env = wine_env();
    let _one = lock_prefix(&env);
    let (dll, exes) = build_flavour(
        "csp,ksp,cli",
        &["crpki"],
        &["wine_csp_client", "wine_ksp_client"],
        "wine-build-both",
    );
    let [csp_client, ksp_client] = &exes[..] else {
        unreachable!("two programs were built")
    };
    let tmp = tempfile::tempdir().unwrap();
    let wine = Wine::with_fixture_signer(env, tmp.path());
    let dll_win = win(&dll);

    // DllRegisterServer registers both; Wine keeps only the CSP's key.
    let out = wine.run(&["regsvr32", "/s", &dll_win]);
    assert!(out.status.success(), "regsvr32 failed: {out:?}");
    let key = wine.csp_key().expect("the combined DLL registered no CSP");
    assert!(
        key.contains(&format!("Image Path    REG_SZ    {dll_win}")),
        "{key}"
    );

    // The CSP, found by name through advapi32.
    let csp_dir = tmp.path().join("csp");
    std::fs::create_dir(&csp_dir).unwrap();
    let text = wine.client(csp_client, &["sign", &win(&csp_dir)]);
    println!("{text}");
    let pubkey = tmp.path().join("pub.pem");
    pubkey_of(&csp_dir.join("cert.der"), &pubkey);
    for alg in ["sha256", "sha384", "sha512"] {
        let sig = csp_dir.join(format!("sig-{alg}.bin"));
        check_dgst(alg, &pubkey, &sig, &csp_dir.join("data.bin"), &[]);
    }

    // The KSP, through the table of the same DLL.
    let ksp_dir = tmp.path().join("ksp");
    std::fs::create_dir(&ksp_dir).unwrap();
    let text = wine.client(ksp_client, &["sign", &win(&ksp_dir), &dll_win]);
    println!("{text}");
    assert!(text.contains("29 slots filled"), "{text}");
    check_sign_outputs(&ksp_dir, &pubkey);

    // DllUnregisterServer removes the CSP's key first; Wine 8 then lacks
    // BCryptUnregisterProvider for the KSP's part, which must say so.
    let out = wine.run(&["regsvr32", "/s", "/u", &dll_win]);
    assert_eq!(
        wine.csp_key(),
        None,
        "the CSP key is still there after regsvr32 /u"
    );
    if !out.status.success() {
        let log = std::fs::read_to_string(tmp.path().join("provider.log")).unwrap_or_default();
        assert!(
            log.contains("BCryptUnregisterProvider"),
            "regsvr32 /u failed without naming the call: {out:?}\n{log}"
        );
    }
}
