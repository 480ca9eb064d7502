//! The CSP with the REMOTE signer under Wine (part of `tests/wine_csp.rs`,
//! sharing its build and harness): an in-process sandbox on 127.0.0.1 over
//! HTTPS and a login made on the Linux side (`tests/wine/remote_support.rs`);
//! `crpki.exe` under Wine installs the CSP and binds the certificate in the
//! CurrentUser `MY` store. Every signature is checked with `openssl`, and
//! the sandbox counts the remote signatures.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use crate::remote_support::*;

use super::*;

fn bench_us(text: &str, label: &str) -> Option<(f64, usize)> {
    let line = text.lines().find(|l| l.starts_with(&format!("bench {label} ")))?;
    let n: usize = line.split("n=").nth(1)?.split(' ').next()?.parse().ok()?;
    let total: f64 = line.split("total_us=").nth(1)?.trim().parse().ok()?;
    Some((total / n as f64, n))
}

#[test]
fn csp_remote_under_wine() {
    let mut rw = RemoteWine::start(build);
    let (dll, exe) = (rw.dll.clone(), rw.exe.clone());
    let wine = rw.wine.clone();
    let tmp = rw.tmp.path().to_owned();
    let root = rw.root.clone();
    let dll_win = win(&dll);
    let crpki = |args: &[&str]| rw.crpki(args);
    let log_text = || rw.log_text();

    // Installed by crpki.exe (the registration code of DllRegisterServer).
    let out = wine.run(&["regsvr32", "/s", "/u", &dll_win]);
    assert!(out.status.success(), "regsvr32 /u failed: {out:?}");
    assert_eq!(wine.csp_key(), None);
    let text = crpki(&["install", "csp", "--dll", &dll_win]);
    assert!(text.contains("installed the CSP"), "{text}");
    let key = wine.csp_key().expect("crpki install csp wrote no provider key");
    assert!(
        key.contains(&format!("Image Path    REG_SZ    {dll_win}")),
        "{key}"
    );
    assert!(key.contains("Type    REG_DWORD    0x18"), "{key}");

    // 1. CRYPT_SILENT without a login: NTE_SILENT_CONTEXT, and a log line.
    wine.client(&exe, &["acquire-error", "silent", "80090022"]);
    assert!(
        log_text().contains("CPAcquireContext 0x80090022 NTE_SILENT_CONTEXT"),
        "{}",
        log_text()
    );

    // Logged in on the Linux side: the DLL uses the same token file.
    rw.login("alice");
    let linux_signer = rw.library_signer();
    let alice_cert = linux_signer.certificate().der().to_vec();

    // 2. The seed's sequence with the remote key, and CryptSignMessage.
    let sign_dir = tmp.as_path().join("sign");
    std::fs::create_dir(&sign_dir).unwrap();
    let before = rw.signatures();
    let text = wine.client(&exe, &["sign", &win(&sign_dir)]);
    println!("{text}");
    let signed = rw.signatures() - before;
    let read = |name: &str| std::fs::read(sign_dir.join(name)).unwrap();
    assert_eq!(read("cert.der"), alice_cert);
    assert_eq!(read("root.der"), rw.sandbox().registrar_root().der());
    let info = String::from_utf8(read("info.txt")).unwrap();
    assert!(info.contains("container=alice-rsa\n"), "{info}");
    assert!(info.contains("containers=alice-rsa\n"), "{info}");
    assert!(info.contains("keylen=2048\n"), "{info}");
    let pubkey = tmp.as_path().join("alice.pub.pem");
    pubkey_of(&sign_dir.join("cert.der"), &pubkey);
    let data = sign_dir.join("data.bin");
    for alg in ["sha256", "sha384", "sha512"] {
        check_dgst(alg, &pubkey, &sign_dir.join(format!("sig-{alg}.bin")), &data, &[]);
    }
    assert!(cms_ok(&sign_dir.join("message.p7s"), &data, &root));
    assert!(!cms_ok(&sign_dir.join("message.p7s"), &pubkey, &root));
    // Three hashes; the HP_HASHVAL re-sign and the message (no signed
    // attributes: it signs SHA-256 of the same data) come from the cache.
    assert_eq!(signed, 3, "remote signatures for the seed's sequence");

    // The application gives the PIN (PP_SIGNATURE_PIN), as for a smart
    // card, with no CRPKI_PIN: refused without it and with a wrong one.
    let pin_dir = tmp.join("pin");
    std::fs::create_dir(&pin_dir).unwrap();
    let text = rw
        .wine_with_pin(None)
        .client(&exe, &["pin", &win(&pin_dir), WRONG_PIN, ALICE_PIN]);
    rw.check_application_pin(&text, &pin_dir, &pubkey);

    // 3. crpki.exe binds the chosen credential's certificate in MY.
    let text = crpki(&["certs", "use", "alice-rsa"]);
    assert!(text.contains("bound to the crpki CSP"), "{text}");
    assert!(wine.client(&exe, &["bound"]).contains("bound=1"));
    // Binding again replaces, never duplicates.
    crpki(&["certs", "use", "alice-rsa"]);

    // 4. Through the store: by certificate, by provider name, and three
    // CryptSignMessage, each exactly one remote signature.
    let store_dir = tmp.as_path().join("store");
    std::fs::create_dir(&store_dir).unwrap();
    let before = rw.signatures();
    let store_text = wine.client(&exe, &["store", &win(&store_dir), "3"]);
    println!("{store_text}");
    let signed = rw.signatures() - before;
    assert_eq!(signed, 2 + 3, "one remote signature per CryptSignMessage");
    assert_eq!(std::fs::read(store_dir.join("cert.der")).unwrap(), alice_cert);
    assert_eq!(
        std::fs::read_to_string(store_dir.join("bound.txt")).unwrap(),
        "alice-rsa"
    );
    for which in ["bycert", "byname"] {
        assert!(sig_ok(
            &pubkey,
            &store_dir.join(format!("{which}.bin")),
            &store_dir.join(format!("sig-{which}.bin"))
        ));
    }
    for i in 0..3 {
        assert!(
            cms_ok(
                &store_dir.join(format!("msg-{i}.p7s")),
                &store_dir.join(format!("msg-{i}.bin")),
                &root
            ),
            "message {i}"
        );
    }

    // 5. 4 threads x 25 remote signatures at once, all valid.
    let conc = tmp.as_path().join("concurrent");
    std::fs::create_dir(&conc).unwrap();
    let before = rw.signatures();
    wine.client(&exe, &["concurrent", &win(&conc)]);
    assert_eq!(rw.signatures() - before, 100);
    for t in 0..4 {
        for i in 0..25 {
            assert!(sig_ok(
                &pubkey,
                &conc.join(format!("c-{t}-{i}.msg")),
                &conc.join(format!("c-{t}-{i}.sig"))
            ));
        }
    }

    // 6. Bench (printed, never asserted): Wine + CSP vs the library.
    let bench_text = wine.client(&exe, &["bench", "20"]);
    let lib_us = rw.library_us(&linux_signer, 20);
    // The library in the same Wine process: what Wine itself costs.
    let wine_lib = bench_us(&bench_text, "library").map(|(us, _)| us);
    for (label, text) in [("cryptsignhash", &bench_text), ("cryptsignmessage", &store_text)] {
        if let Some((us, n)) = bench_us(text, label) {
            println!(
                "BENCH {label}: {:.2} ms per signature (n={n}) vs the library on Linux {:.2} ms: ratio {:.2}, \
                 difference {:+.2} ms",
                us / 1000.0,
                lib_us / 1000.0,
                us / lib_us,
                (us - lib_us) / 1000.0
            );
            if let Some(w) = wine_lib {
                println!(
                    "BENCH {label}: vs the library in the same Wine process {:.2} ms: ratio {:.2}, difference {:+.2} ms",
                    w / 1000.0,
                    us / w,
                    (us - w) / 1000.0
                );
            }
        }
    }

    // 7. Logout while signing: each signature valid, or a clean error; the
    // process lives on; the certificate is unbound.
    let loop_args = |dir: &Path, stop: &Path| {
        vec![
            exe.to_string_lossy().into_owned(),
            "loop".to_owned(),
            win(dir),
            win_file(stop),
            "2000".to_owned(),
        ]
    };
    rw.logout_while_signing(&pubkey, |d, s| start_loop(&wine, loop_args(d, s)));
    assert!(
        wine.client(&exe, &["bound"]).contains("bound=0"),
        "logout unbinds"
    );

    // 8. The sandbox goes down while signing: NTE_DEVICE_NOT_READY, the
    // process lives on.
    rw.login("alice");
    rw.sandbox_down_while_signing(&pubkey, |d, s| start_loop(&wine, loop_args(d, s)));

    // Uninstalled by crpki.exe.
    let text = rw.crpki(&["uninstall", "csp"]);
    assert!(text.contains("uninstalled"), "{text}");
    assert_eq!(wine.csp_key(), None);
    rw.assert_log_has_no_secrets();
    println!(
        "Wine remote scenario: {:.0} s",
        rw.started.elapsed().as_secs_f64()
    );
}
