//! The CryptoAPI CSP DLL, for real: cross-built for
//! `x86_64-pc-windows-gnu`, registered in a Wine prefix with `regsvr32`, and
//! driven by a Windows program (`tests/wine/clients/csp_client.rs`, cargo target `wine_csp_client`) through
//! advapi32 and crypt32. What it produces is checked here with the
//! `openssl` CLI.
//!
//! Needs mingw-w64, nasm, Wine and the rustup target, all of which
//! `scripts/wine-env.sh` installs (it runs first, and is quick when
//! everything is in place). On a machine where that fails, this test
//! fails, naming the script: it never passes without running.
//!
//! The Windows artifacts are built once, into `<target dir>/wine-build`
//! (a separate directory, so the nested cargo never waits for the lock of
//! the cargo running this test), and each scenario group is one Wine
//! process.
#![cfg(feature = "csp")]

#[cfg(all(feature = "sandbox", feature = "remote"))]
#[path = "wine/remote_support.rs"]
mod remote_support;
#[cfg(all(feature = "sandbox", feature = "remote"))]
#[path = "wine/remote.rs"]
mod wine_remote;

use std::path::Path;

#[path = "wine/harness.rs"]
mod harness;

use harness::*;

const PROVIDER: &str = CSP_PROVIDER;

/// Builds crpki.dll with the remote signer, crpki.exe and the client .exe
/// in one cargo run (`cli` brings pkcs12 and remote: one feature set, one
/// build); returns the DLL's and the client's paths.
fn build() -> (std::path::PathBuf, std::path::PathBuf) {
    build_with_bins("csp,cli", &["crpki"], "wine_csp_client", "wine-build")
}

#[test]
fn csp_under_wine() {
    let env = wine_env();
    let _one = lock_prefix(&env);
    let (dll, exe) = build();
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("provider.log");
    let wine = Wine::with_fixture_signer(env, tmp.path());
    let dll_win = win(&dll);

    // Registration with regsvr32: DllUnregisterServer, then DllRegisterServer.
    let out = wine.run(&["regsvr32", "/s", "/u", &dll_win]);
    assert!(out.status.success(), "regsvr32 /u failed: {out:?}");
    assert_eq!(
        wine.csp_key(),
        None,
        "the provider key is still there after regsvr32 /u"
    );
    let out = wine.run(&["regsvr32", "/s", &dll_win]);
    assert!(out.status.success(), "regsvr32 failed: {out:?}");
    let key = wine.csp_key().expect("DllRegisterServer wrote no provider key");
    assert!(
        key.contains(&format!("Image Path    REG_SZ    {dll_win}")),
        "{key}"
    );
    assert!(key.contains("Type    REG_DWORD    0x18"), "{key}");
    assert!(key.contains("SigInFile    REG_DWORD    0x0"), "{key}");

    // 1. The seed's sequence through advapi32, and CryptSignMessage.
    let sign_dir = tmp.path().join("sign");
    std::fs::create_dir(&sign_dir).unwrap();
    let text = wine.client(&exe, &["sign", &win(&sign_dir)]);
    println!("{text}");
    let read = |name: &str| std::fs::read(sign_dir.join(name)).unwrap();
    assert_eq!(
        read("cert.der"),
        std::fs::read(Path::new(MANIFEST).join("fixtures/rep-rsa2048.der")).unwrap()
    );
    assert_eq!(
        read("root.der"),
        std::fs::read(Path::new(MANIFEST).join("fixtures/registrar-root.der")).unwrap()
    );
    let info = String::from_utf8(read("info.txt")).unwrap();
    assert!(info.contains(&format!("name={PROVIDER}\n")), "{info}");
    assert!(info.contains(&format!("container={CONTAINER}\n")), "{info}");
    assert!(info.contains(&format!("containers={CONTAINER}\n")), "{info}");
    assert!(info.contains("keylen=2048\n"), "{info}");
    let data = sign_dir.join("data.bin");
    let pubkey = sign_dir.join("pub.pem");
    openssl_ok(&[
        "x509",
        "-inform",
        "DER",
        "-in",
        path(&sign_dir.join("cert.der")),
        "-pubkey",
        "-noout",
        "-out",
        path(&pubkey),
    ]);
    for alg in ["sha256", "sha384", "sha512"] {
        check_dgst(alg, &pubkey, &sign_dir.join(format!("sig-{alg}.bin")), &data, &[]);
    }
    let digest = openssl(&["dgst", "-sha256", "-binary", path(&data)]).stdout;
    assert_eq!(
        read("hash-sha256.bin"),
        digest,
        "HP_HASHVAL is not SHA-256 of the data"
    );
    // CryptExportKey(PUBLICKEYBLOB) matches OpenSSL's MSBLOB but for aiKeyAlg.
    let msblob = openssl(&["rsa", "-pubin", "-in", path(&pubkey), "-outform", "MSBLOB"]).stdout;
    let ours = read("pub.blob");
    assert_eq!(ours.len(), msblob.len());
    assert_eq!(&ours[4..8], &0x2400u32.to_le_bytes(), "aiKeyAlg is CALG_RSA_SIGN");
    assert_eq!((&ours[..4], &ours[8..]), (&msblob[..4], &msblob[8..]));
    // crypt32's CryptSignMessage signed through the CSP: a valid detached CMS.
    let root_pem = sign_dir.join("root.pem");
    openssl_ok(&[
        "x509",
        "-inform",
        "DER",
        "-in",
        path(&sign_dir.join("root.der")),
        "-out",
        path(&root_pem),
    ]);
    openssl_ok(&[
        "cms",
        "-verify",
        "-inform",
        "DER",
        "-in",
        path(&sign_dir.join("message.p7s")),
        "-binary",
        "-content",
        path(&data),
        "-CAfile",
        path(&root_pem),
        "-purpose",
        "any",
        "-ignore_critical",
        "-out",
        "/dev/null",
    ]);

    // 2. Error paths, through advapi32 and straight into the exports.
    let err_dir = tmp.path().join("errors");
    std::fs::create_dir(&err_dir).unwrap();
    let text = wine.client(&exe, &["errors", &win(&err_dir), &dll_win]);
    println!("{text}");
    let expected = [
        "CryptGetKeyParam(KP_CERTIFICATE, 16-byte buffer) -> 0x000000ea",
        "... and the size 1359 came back",
        "CryptSignHash(8-byte buffer) -> 0x000000ea",
        "CPAcquireContext(phProv = NULL) -> 0x00000057",
        "CPGetProvParam(hProv = 0) -> 0x80090001",
        "CPGetProvParam(foreign hProv) -> 0x80090001",
        "CPGetProvParam(hash handle as hProv) -> 0x80090001",
        "CPHashData(destroyed hash) -> 0x80090002",
        "CPHashData(key handle as hash) -> 0x80090002",
        "CPGetKeyParam(released context) -> 0x80090001",
        "CPGetKeyParam(forged key handle) -> 0x80090003",
    ];
    assert_all_in(&text, expected, "the client's output");
    let log_text = std::fs::read_to_string(&log).expect("the provider wrote no log");
    let expected = [
        "CPVerifySignature 0x80090006 NTE_BAD_SIGNATURE signature does not verify",
        "CPCreateHash 0x80090008 NTE_BAD_ALGID",
        "CPAcquireContext 0x80090016 NTE_BAD_KEYSET container 'no-such-container' not found",
        "CPAcquireContext 0x00000057 ERROR_INVALID_PARAMETER required argument phProv is a null pointer",
        "CPHashData 0x80090002 NTE_BAD_HASH invalid hash handle",
        "already destroyed",
        "it is a key handle",
        "CPGetProvParam 0x80090001 NTE_BAD_UID invalid context handle 0x12345678: not issued by this provider",
    ];
    assert_all_in(&log_text, expected, "the provider log");
    assert!(
        !log_text.contains("ERROR_MORE_DATA"),
        "size queries are not failures:\n{log_text}"
    );
    assert!(
        !log_text.contains("crpki-test"),
        "the password leaked into the log"
    );
    assert!(log_text.lines().all(|l| l.contains(" pid=")), "{log_text}");

    // 3. 4 threads x 25 signatures at once; every one checked by openssl.
    let conc = tmp.path().join("concurrent");
    std::fs::create_dir(&conc).unwrap();
    wine.client(&exe, &["concurrent", &win(&conc)]);
    let mut checked = 0;
    for t in 0..4 {
        for i in 0..25 {
            let msg = conc.join(format!("c-{t}-{i}.msg"));
            let sig = conc.join(format!("c-{t}-{i}.sig"));
            openssl_ok(&[
                "dgst",
                "-sha256",
                "-verify",
                path(&pubkey),
                "-signature",
                path(&sig),
                path(&msg),
            ]);
            checked += 1;
        }
    }
    assert_eq!(checked, 100);

    // Unregistering removes the key.
    let out = wine.run(&["regsvr32", "/s", "/u", &dll_win]);
    assert!(out.status.success(), "regsvr32 /u failed: {out:?}");
    assert_eq!(wine.csp_key(), None, "DllUnregisterServer left the provider key");
}
