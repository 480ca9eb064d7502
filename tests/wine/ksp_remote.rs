//! The KSP with the REMOTE signer under Wine (part of `tests/wine_ksp.rs`,
//! sharing its build and harness): an in-process sandbox on 127.0.0.1 over
//! HTTPS and a login made on the Linux side (`tests/wine/remote_support.rs`).
//! The Windows client plays the CNG router and calls through the
//! function table; `crpki.exe` under Wine installs the KSP and binds the
//! certificate to it in the CurrentUser `MY` store. Every signature is
//! checked with `openssl`, and the sandbox counts the remote signatures.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;

use crate::remote_support::*;

use super::*;

/// The `bench` line of the client: (KSP µs, library-in-the-same-process µs).
fn bench_figures(text: &str) -> Option<(f64, f64)> {
    let line = text.lines().find(|l| l.starts_with("bench n="))?;
    let field = |name: &str| -> Option<f64> {
        line.split(&format!("{name}="))
            .nth(1)?
            .split(' ')
            .next()?
            .parse()
            .ok()
    };
    Some((field("ksp_sign_hash_us")?, field("library_sign_us")?))
}

#[test]
fn ksp_remote_under_wine() {
    let mut rw = RemoteWine::start(build);
    let (dll, exe) = (rw.dll.clone(), rw.exe.clone());
    let wine = rw.wine.clone();
    let tmp = rw.tmp.path().to_owned();
    let dll_win = win(&dll);
    let client = |args: &[&str]| {
        let mut all = vec![args[0], args[1], &dll_win];
        all.extend_from_slice(&args[2..]);
        wine.client(&exe, &all)
    };
    let tmp_win = win(&tmp);

    // Installed by crpki.exe: BCryptRegisterProvider and
    // BCryptAddContextFunctionProvider. Wine 8 accepts both without
    // storing anything, so only the outcome can be checked here.
    let text = rw.crpki(&["install", "ksp", "--dll", &dll_win]);
    assert!(text.contains("installed the KSP"), "{text}");

    // 1. NCRYPT_SILENT_FLAG without a login: NTE_SILENT_CONTEXT, on the
    // provider and on the key, with a log line.
    let text = client(&["silent", &tmp_win]);
    assert!(
        text.contains("OpenKey(NCRYPT_SILENT_FLAG) -> 0x80090022"),
        "{text}"
    );
    assert!(text.contains("OpenKey(silent provider) -> 0x80090022"), "{text}");
    assert!(
        rw.log_text().contains("OpenKey 0x80090022 NTE_SILENT_CONTEXT"),
        "{}",
        rw.log_text()
    );

    // 2. The seed's sequence through the table with the remote key.
    rw.login("alice");
    let linux_signer = rw.library_signer();
    let alice_cert = linux_signer.certificate().der().to_vec();
    let dir = tmp.join("sign");
    std::fs::create_dir(&dir).unwrap();
    let before = rw.signatures();
    let text = client(&["sign", &win(&dir)]);
    println!("{text}");
    let signed = rw.signatures() - before;
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    assert_eq!(read("cert.der"), alice_cert);
    assert_eq!(read("root.der"), rw.sandbox().registrar_root().der());
    let info = String::from_utf8(read("info.txt")).unwrap();
    for line in ["keys=alice-rsa:RSA\n", "selected=alice-rsa\n", "length=2048\n"] {
        assert!(info.contains(line), "missing {line:?} in {info}");
    }
    let pubkey = tmp.join("alice.pub.pem");
    pubkey_of(&dir.join("cert.der"), &pubkey);
    check_sign_outputs(&dir, &pubkey);
    // Six signatures (PKCS#1 and PSS over three hashes), each one remote
    // signature; the size queries and VerifySignature are local.
    assert_eq!(signed, 6, "remote signatures for the seed's sequence");

    // The application gives the PIN (NCRYPT_PIN_PROPERTY), as for a smart
    // card, with no CRPKI_PIN: refused without it and with a wrong one.
    let pin_dir = tmp.join("pin");
    std::fs::create_dir(&pin_dir).unwrap();
    let text = rw
        .wine_with_pin(None)
        .client(&exe, &["pin", &win(&pin_dir), &dll_win, WRONG_PIN, ALICE_PIN]);
    rw.check_application_pin(&text, &pin_dir, &pubkey);

    // 3. crpki.exe binds the certificate to the KSP (dwProvType 0,
    // CERT_NCRYPT_KEY_SPEC), and remembers the choice in the profile.
    let text = rw.crpki(&["certs", "use", "alice-rsa", "--provider", "ksp"]);
    assert!(text.contains("bound to the crpki KSP"), "{text}");
    let text = client(&["bound", &tmp_win]);
    assert!(text.contains("bound=1\ncontainer=alice-rsa\n"), "{text}");
    let text = rw.crpki(&["config", "show"]);
    assert!(text.contains("Windows provider: ksp"), "{text}");
    // Again, without --provider: the profile's choice; replaced, not duplicated.
    rw.crpki(&["certs", "use", "alice-rsa"]);
    assert!(client(&["bound", &tmp_win]).contains("bound=1\n"));

    // 4. 4 threads x 25 remote signatures at once, all valid.
    let conc = tmp.join("concurrent");
    std::fs::create_dir(&conc).unwrap();
    let before = rw.signatures();
    client(&["concurrent", &win(&conc)]);
    assert_eq!(rw.signatures() - before, 100);
    verify_concurrent(&conc, &pubkey, 4, 25);

    // 5. Bench (printed, never asserted): SignHash through the KSP under
    // Wine, against the library signing in the same Windows process and
    // on Linux, all against this sandbox.
    let n = "50";
    let text = client(&["bench", &tmp_win, n]);
    let linux_us = rw.library_us(&linux_signer, 50);
    if let Some((ksp_us, lib_us)) = bench_figures(&text) {
        println!(
            "BENCH ksp SignHash: {:.2} ms per signature (n={n}) vs the library in the same Wine process {:.2} ms \
             (ratio {:.2}, {:+.2} ms) and on Linux {:.2} ms (ratio {:.2})",
            ksp_us / 1000.0,
            lib_us / 1000.0,
            ksp_us / lib_us,
            (ksp_us - lib_us) / 1000.0,
            linux_us / 1000.0,
            ksp_us / linux_us,
        );
    } else {
        panic!("no bench line in:\n{text}");
    }

    // 6. Logout while signing: valid signatures or clean errors, the
    // process lives on, and the KSP binding goes.
    let loop_args = |dir: &Path, stop: &Path| {
        vec![
            exe.to_string_lossy().into_owned(),
            "loop".to_owned(),
            win(dir),
            dll_win.clone(),
            win_file(stop),
            "2000".to_owned(),
        ]
    };
    let wine2 = Arc::clone(&wine);
    rw.logout_while_signing(&pubkey, |d, s| start_loop(&wine2, loop_args(d, s)));
    assert!(client(&["bound", &tmp_win]).contains("bound=0"), "logout unbinds");

    // 7. ECDSA P-256 through the KSP: bob's bob-ecdsa (PIN 5678). The
    // CSP, RSA only, is not offered his EC certificate; the KSP is.
    rw.login("bob");
    let text = rw.crpki(&["certs", "use", "bob-ecdsa", "--provider", "csp"]);
    assert!(text.contains("the crpki CSP signs with RSA keys only"), "{text}");
    assert!(client(&["bound", &tmp_win]).contains("bound=0"));
    let text = rw.crpki(&["certs", "use", "bob-ecdsa", "--provider", "ksp"]);
    assert!(text.contains("bound to the crpki KSP"), "{text}");
    assert!(client(&["bound", &tmp_win]).contains("bound=1\ncontainer=bob-ecdsa\n"));
    let ec_dir = tmp.join("ecdsa");
    std::fs::create_dir(&ec_dir).unwrap();
    let bob_wine = rw.wine_with_pin(Some("5678"));
    let text = bob_wine.client(&exe, &["ecdsa", &win(&ec_dir), &dll_win, "bob-ecdsa"]);
    println!("{text}");
    let info = std::fs::read_to_string(ec_dir.join("info.txt")).unwrap();
    for line in ["group=ECDSA\n", "algorithm=ECDSA_P256\n", "length=256\n"] {
        assert!(info.contains(line), "missing {line:?} in {info}");
    }
    let raw = std::fs::read(ec_dir.join("sig.raw")).unwrap();
    assert_eq!(raw.len(), 64, "r||s of P-256");
    let der = crpki::provider::ksp::ecdsa_raw_to_der(&raw).unwrap();
    std::fs::write(ec_dir.join("sig.der"), der).unwrap();
    let ec_pub = ec_dir.join("pub.pem");
    pubkey_of(&ec_dir.join("cert.der"), &ec_pub);
    let ec_verify = |d: &Path| {
        openssl(&[
            "dgst",
            "-sha256",
            "-verify",
            path(&ec_pub),
            "-signature",
            path(&ec_dir.join("sig.der")),
            path(d),
        ])
        .status
        .success()
    };
    assert!(
        ec_verify(&ec_dir.join("data.bin")),
        "the ECDSA signature does not verify"
    );
    assert!(
        !ec_verify(&ec_pub),
        "openssl accepted the ECDSA signature over other data"
    );
    // ECCPUBLICBLOB: ECS1 (P-256 public), 32-byte coordinates, then X and Y
    // as in the certificate's uncompressed point.
    let blob = std::fs::read(ec_dir.join("pub.blob")).unwrap();
    assert_eq!(&blob[..8], b"ECS1\x20\0\0\0");
    let cert = crpki::Certificate::from_der(&std::fs::read(ec_dir.join("cert.der")).unwrap()).unwrap();
    // The SubjectPublicKeyInfo of P-256 ends with the 65-byte point.
    let spki = cert.public_key_der();
    let point = &spki[spki.len() - 65..];
    assert_eq!(point[0], 4, "uncompressed point");
    assert_eq!(&blob[8..], &point[1..]);

    // 8. The sandbox goes down while signing: NTE_DEVICE_NOT_READY.
    rw.login("alice");
    let text = rw.crpki(&["certs", "use", "alice-rsa"]);
    assert!(text.contains("bound to the crpki KSP"), "{text}");
    rw.sandbox_down_while_signing(&pubkey, |d, s| start_loop(&wine2, loop_args(d, s)));

    // Uninstalled by crpki.exe: Wine 8 does not implement
    // BCryptUnregisterProvider, and crpki says which call failed instead of
    // claiming success.
    let (ok, text) = rw.crpki_output(&["uninstall", "ksp"]);
    if !ok {
        assert!(text.contains("BCryptUnregisterProvider"), "{text}");
    } else {
        assert!(text.contains("uninstalled the KSP"), "{text}");
    }
    rw.assert_log_has_no_secrets();
    println!(
        "Wine KSP remote scenario: {:.0} s",
        rw.started.elapsed().as_secs_f64()
    );
}
