//! The CNG KSP DLL, for real: cross-built for `x86_64-pc-windows-gnu`
//! (features `ksp,cli`, with `crpki.exe`) and driven under Wine by a Windows program
//! (`tests/wine/clients/ksp_client.rs`, cargo target `wine_ksp_client`) that does what Windows' CNG router does
//! (Wine's ncrypt does not route to third-party KSPs): `LoadLibraryW`,
//! `GetKeyStorageInterface`, then calls through the function table, with
//! hash values from Wine's bcrypt. What it produces is checked here with
//! the `openssl` CLI.
//!
//! Same harness as `tests/wine_csp.rs` (`tests/wine/harness.rs`): it runs
//! `scripts/wine-env.sh` first and fails, naming the script, when the
//! machine cannot run Wine; it never passes without running.
//!
//! This file's scenario signs with the fixture PKCS#12 file (a local
//! signer, so the table's own behaviour is tested without a network);
//! `tests/wine/ksp_remote.rs` signs with the sandbox's remote keys.
#![cfg(feature = "ksp")]

#[cfg(all(feature = "sandbox", feature = "remote"))]
#[path = "wine/ksp_remote.rs"]
mod ksp_remote;
#[cfg(all(feature = "sandbox", feature = "remote"))]
#[path = "wine/remote_support.rs"]
mod remote_support;

use std::path::Path;

#[path = "wine/harness.rs"]
mod harness;

use harness::*;

/// Builds crpki.dll (KSP, with the PKCS#12 and the remote signer),
/// crpki.exe and the client in one cargo run; returns the DLL's and the
/// client's paths.
fn build() -> (std::path::PathBuf, std::path::PathBuf) {
    build_with_bins("ksp,cli", &["crpki"], "wine_ksp_client", "wine-build-ksp")
}

const PROVIDER: &str = "crpki Remote Signing KSP (open source)";

#[test]
fn ksp_under_wine() {
    let env = wine_env();
    let _one = lock_prefix(&env);
    let (dll, exe) = build();
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("provider.log");
    let wine = Wine::with_fixture_signer(env, tmp.path());
    let dll_win = win(&dll);

    // 1. The seed's sequence through the table.
    let dir = tmp.path().join("sign");
    std::fs::create_dir(&dir).unwrap();
    let text = wine.client(&exe, &["sign", &win(&dir), &dll_win]);
    println!("{text}");
    assert!(text.contains("29 slots filled"), "{text}");
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    assert_eq!(
        read("cert.der"),
        std::fs::read(Path::new(MANIFEST).join("fixtures/rep-rsa2048.der")).unwrap()
    );
    assert_eq!(
        read("root.der"),
        std::fs::read(Path::new(MANIFEST).join("fixtures/registrar-root.der")).unwrap()
    );
    let info = String::from_utf8(read("info.txt")).unwrap();
    for line in [
        format!("name={PROVIDER}\n"),
        format!("keys={CONTAINER}:RSA\n"),
        "group=RSA\n".into(),
        "length=2048\n".into(),
        format!("selected={CONTAINER}\n"),
    ] {
        assert!(info.contains(&line), "missing {line:?} in {info}");
    }
    let pubkey = dir.join("pub.pem");
    pubkey_of(&dir.join("cert.der"), &pubkey);
    check_sign_outputs(&dir, &pubkey);
    // ExportKey(RSAPUBLICBLOB): magic, bits, exponent and modulus big-endian.
    let blob = read("pub.blob");
    let modulus_hex =
        String::from_utf8(openssl(&["rsa", "-pubin", "-in", path(&pubkey), "-modulus", "-noout"]).stdout)
            .unwrap();
    let modulus_hex = modulus_hex.trim().trim_start_matches("Modulus=").to_lowercase();
    assert_eq!(
        &blob[..8],
        &[0x52, 0x53, 0x41, 0x31, 0, 8, 0, 0],
        "RSA1, 2048 bits"
    );
    assert_eq!(&blob[24..27], &[1, 0, 1]);
    assert_eq!(hex::encode(&blob[27..]), modulus_hex);

    // 2. Error paths straight into the table; the log has the reasons.
    let text = wine.client(&exe, &["errors", &win(tmp.path()), &dll_win]);
    println!("{text}");
    let expected = [
        "OpenProvider(phProvider = NULL) -> 0x80090027",
        "GetProviderProperty(hProvider = 0) -> 0x80090026",
        "GetProviderProperty(forged hProvider) -> 0x80090026",
        "GetProviderProperty(Name, 4-byte buffer) -> 0x80090028",
        &format!("... and the size {} came back", (PROVIDER.len() + 1) * 2),
        "OpenKey(no-such-credential) -> 0x80090016",
        "SignHash(16-byte buffer) -> 0x80090028",
        "... and the size 256 came back",
        "SignHash(31-byte hash) -> 0x80090004",
        "SignHash(PKCS1, pPaddingInfo = NULL) -> 0x80090027",
        "SignHash(PSS, 20-byte salt) -> 0x80090029",
        "SignHash(PKCS1, SHA1) -> 0x80090029",
        "Encrypt -> 0x80090029",
        "CreatePersistedKey -> 0x80090029",
        "FreeBuffer(foreign pointer) -> 0x80090027",
        "GetKeyProperty(key of another hProvider) -> 0x80090026",
        "GetKeyProperty(freed key) -> 0x80090026",
        "FreeKey(again) -> 0x80090026",
        "FreeProvider(again) -> 0x80090026",
    ];
    assert_all_in(&text, expected, "the client's output");
    let log_text = std::fs::read_to_string(&log).expect("the provider wrote no log");
    let expected = [
        "VerifySignature 0x80090006 NTE_BAD_SIGNATURE signature does not verify",
        "OpenKey 0x80090016 NTE_BAD_KEYSET container 'no-such-credential' not found",
        "OpenProvider 0x80090027 NTE_INVALID_PARAMETER required argument phProvider is a null pointer",
        "SignHash 0x80090004 NTE_BAD_LEN wrong length: a 31-byte hash value for SHA-256",
        "SignHash 0x80090029 NTE_NOT_SUPPORTED not supported: BCRYPT_PAD_PSS with a 20-byte salt",
        "FreeBuffer 0x80090027 NTE_INVALID_PARAMETER",
        "GetKeyProperty 0x80090026 NTE_INVALID_HANDLE invalid key handle",
        "it belongs to another context",
        "already destroyed",
    ];
    assert_all_in(&log_text, expected, "the provider log");
    assert!(
        !log_text.contains("NTE_BUFFER_TOO_SMALL") && !log_text.contains("NTE_NO_MORE_ITEMS"),
        "size queries and the end of an enumeration are not failures:\n{log_text}"
    );
    assert!(
        !log_text.contains("crpki-test"),
        "the password leaked into the log"
    );

    // 3. 4 threads x 25 signatures at once; every one checked by openssl.
    let conc = tmp.path().join("concurrent");
    std::fs::create_dir(&conc).unwrap();
    wine.client(&exe, &["concurrent", &win(&conc), &dll_win]);
    verify_concurrent(&conc, &pubkey, 4, 25);

    // 4. Logging out while another thread signs: the application deletes
    // the key and frees the provider; the signing thread gets
    // NTE_INVALID_HANDLE on its next call, and nothing crashes.
    let text = wine.client(&exe, &["logout", &win(tmp.path()), &dll_win]);
    assert!(text.contains("signed before) -> 0x80090026"), "{text}");

    // The library's token file on Windows is sealed with DPAPI: no token in
    // the clear, loaded back there, refused here with the reason.
    let tokens_dir = tmp.path().join("tokens");
    std::fs::create_dir(&tokens_dir).unwrap();
    let text = wine.client(&exe, &["tokens", &win(&tokens_dir), &dll_win]);
    assert!(text.contains("ok token file saved and loaded back"), "{text}");
    let file = tokens_dir.join("wine.toml");
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.starts_with(crpki::profile::DPAPI_MAGIC), "{bytes:?}");
    let needle = b"sealed-by-dpapi-4711";
    assert!(
        !bytes.windows(needle.len()).any(|w| w == needle),
        "a token in the clear"
    );
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    use crpki::profile::TokenStore;
    match crpki::profile::FileTokenStore::new(&tokens_dir).load("wine") {
        Err(crpki::Error::Config { detail }) => assert!(detail.contains("DPAPI"), "{detail}"),
        other => panic!("{other:?}"),
    }

    // 5. Registration. Wine 8's bcrypt accepts BCryptRegisterProvider and
    // BCryptAddContextFunctionProvider without storing anything, and does
    // not implement BCryptUnregisterProvider: DllRegisterServer succeeds,
    // DllUnregisterServer reports the failure (and logs which call failed)
    // instead of claiming success. The registry itself can only be
    // checked on Windows.
    let text = wine.client(&exe, &["register", &win(tmp.path()), &dll_win]);
    assert!(text.contains("DllRegisterServer -> 0x00000000"), "{text}");
    let log_text = std::fs::read_to_string(&log).unwrap();
    if !text.contains("DllUnregisterServer -> 0x00000000") {
        assert!(text.contains("DllUnregisterServer -> 0x80040201"), "{text}");
        assert!(
            log_text.contains("DllUnregisterServer 0x80090020 NTE_FAIL BCryptUnregisterProvider failed"),
            "{log_text}"
        );
    }
}

/// Time per SignHash through the KSP under Wine against the same signature
/// made by the library in the same process. Prints the figures; asserts
/// nothing about them. Run with `cargo test --features ksp --test
/// wine_ksp -- --ignored --nocapture`.
#[test]
#[ignore = "a benchmark: run it explicitly"]
fn ksp_sign_hash_bench_under_wine() {
    let env = wine_env();
    let _one = lock_prefix(&env);
    let (dll, exe) = build();
    let tmp = tempfile::tempdir().unwrap();
    let wine = Wine::with_fixture_signer(env, tmp.path());
    let p12 = win(&Path::new(MANIFEST).join("fixtures/rep-rsa2048.p12"));
    let text = wine.client(
        &exe,
        &["bench", &win(tmp.path()), &win(&dll), "200", &p12, "crpki-test"],
    );
    println!("{text}");
    assert!(text.contains("bench n=200 ksp_sign_hash_us="), "{text}");
}
