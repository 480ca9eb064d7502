//! The CSP with the REMOTE signer under Wine (part of `tests/wine_csp.rs`,
//! sharing its build and harness): an in-process sandbox on 127.0.0.1 over
//! HTTPS, its `endpoints.toml` and the tokens of a login made here on the
//! Linux side, shared with the DLL through `CRPKI_CONFIG_DIR` (a `Z:\…`
//! path); `crpki.exe` under Wine installs the CSP and binds the
//! certificate in the CurrentUser `MY` store. Every signature is checked
//! with `openssl`, and the sandbox counts the remote signatures.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crpki::HashAlgorithm;
use crpki::auth::{Authenticator, HttpFollowLauncher, LoginOptions, TransportConfig, http_client};
use crpki::csc::StaticSecrets;
use crpki::profile::{ProfileStore, SANDBOX_PROFILE, SandboxEndpoints};
use crpki::provider::profile_source::ProfileSource;
use crpki::provider::{OpenOptions, SignerSource};
use crpki::sandbox::{FaultSettings, Sandbox, SandboxConfig};

use super::*;

async fn login(store: &ProfileStore) {
    let profile = store.resolve(SANDBOX_PROFILE).unwrap();
    let http = http_client(&TransportConfig::from_profile(&profile).unwrap()).unwrap();
    Authenticator::for_profile(&profile, Arc::new(store.token_store()))
        .unwrap()
        .login(
            &HttpFollowLauncher::new(http),
            &LoginOptions {
                login_hint: Some("alice".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
}

fn pubkey_of(cert_der: &Path, out: &Path) {
    openssl_ok(&[
        "x509",
        "-inform",
        "DER",
        "-in",
        path(cert_der),
        "-pubkey",
        "-noout",
        "-out",
        path(out),
    ]);
}

fn sig_ok(pubkey: &Path, data: &Path, sig: &Path) -> bool {
    openssl(&[
        "dgst",
        "-sha256",
        "-verify",
        path(pubkey),
        "-signature",
        path(sig),
        path(data),
    ])
    .status
    .success()
}

fn cms_ok(p7s: &Path, data: &Path, root: &Path) -> bool {
    openssl(&[
        "cms",
        "-verify",
        "-inform",
        "DER",
        "-in",
        path(p7s),
        "-binary",
        "-content",
        path(data),
        "-CAfile",
        path(root),
        "-purpose",
        "any",
        "-ignore_critical",
        "-out",
        "/dev/null",
    ])
    .status
    .success()
}

fn wait_for(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn files_with_prefix(dir: &Path, prefix: &str) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().starts_with(prefix))
        })
        .count()
}

/// The loop client's results: (signatures checked valid, error texts).
fn loop_results(dir: &Path, pubkey: &Path) -> (usize, Vec<String>) {
    let mut valid = 0;
    let mut errors = Vec::new();
    for i in 0.. {
        let data = dir.join(format!("data-{i}.bin"));
        if !data.exists() {
            break;
        }
        let sig = dir.join(format!("sig-{i}.bin"));
        let err = dir.join(format!("err-{i}.txt"));
        if sig.exists() {
            assert!(sig_ok(pubkey, &data, &sig), "signature {i} does not verify");
            valid += 1;
        } else if err.exists() {
            errors.push(std::fs::read_to_string(err).unwrap());
        }
        // Neither: the round the stop file interrupted while writing; nothing returned.
    }
    (valid, errors)
}

/// Runs the loop client in a thread; returns its join handle.
fn start_loop(wine: &Arc<Wine>, exe: &Path, dir: &Path, stop: &Path) -> std::thread::JoinHandle<String> {
    let wine = wine.clone();
    let args = [
        exe.to_string_lossy().into_owned(),
        "loop".to_owned(),
        win(dir),
        format!(
            "{}\\{}",
            win(stop.parent().unwrap()),
            stop.file_name().unwrap().to_string_lossy()
        ),
        "2000".to_owned(),
    ];
    std::thread::spawn(move || {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = wine.run(&refs);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success() && text.trim_end().ends_with("done"),
            "the loop client failed or died ({}):\n{text}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        text
    })
}

/// Creates the stop file when dropped, so a failing test does not leave
/// the loop client running.
struct StopOnDrop(std::path::PathBuf);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::write(&self.0, b"");
    }
}

fn bench_us(text: &str, label: &str) -> Option<(f64, usize)> {
    let line = text.lines().find(|l| l.starts_with(&format!("bench {label} ")))?;
    let n: usize = line.split("n=").nth(1)?.split(' ').next()?.parse().ok()?;
    let total: f64 = line.split("total_us=").nth(1)?.trim().parse().ok()?;
    Some((total / n as f64, n))
}

#[test]
fn csp_remote_under_wine() {
    let started = Instant::now();
    let env = wine_env();
    let _one = lock_prefix(&env);
    let (dll, exe) = build();
    let crpki_exe = dll.with_file_name("crpki.exe");
    assert!(crpki_exe.is_file(), "missing {}", crpki_exe.display());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("config");
    let state = config.join("sandbox");
    std::fs::create_dir_all(&state).unwrap();
    let sb = rt
        .block_on(Sandbox::start(SandboxConfig {
            state_dir: Some(state.clone()),
            ..SandboxConfig::default()
        }))
        .unwrap();
    SandboxEndpoints::of(&sb).write(&state).unwrap();
    let store = ProfileStore::open(&config);
    let root = tmp.path().join("sandbox-root.pem");
    std::fs::write(&root, sb.registrar_root().to_pem()).unwrap();
    let log = tmp.path().join("provider.log");
    let wine = Arc::new(Wine {
        env,
        extra: vec![
            ("CRPKI_CONFIG_DIR".into(), win(&config)),
            ("CRPKI_SANDBOX_STATE".into(), win(&state)),
            ("CRPKI_PIN".into(), "1234".into()),
            (
                "CRPKI_PROVIDER_LOG".into(),
                format!("{}\\provider.log", win(tmp.path())),
            ),
            // No PKCS#12 container: the DLL serves the profile.
            ("CRPKI_PROVIDER_PKCS12".into(), String::new()),
        ],
    });
    let dll_win = win(&dll);
    let crpki = |args: &[&str]| -> String {
        let exe = crpki_exe.to_string_lossy();
        let mut all = vec![exe.as_ref()];
        all.extend_from_slice(args);
        let out = wine.run(&all);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "crpki.exe {args:?} failed ({}):\n{text}",
            out.status
        );
        text
    };
    let stats = || sb.stats();
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();

    // Installed by crpki.exe (the registration code of DllRegisterServer).
    let out = wine.run(&["regsvr32", "/s", "/u", &dll_win]);
    assert!(out.status.success(), "regsvr32 /u failed: {out:?}");
    assert_eq!(wine.provider_key(), None);
    let text = crpki(&["install", "csp", "--dll", &dll_win]);
    assert!(text.contains("installed the CSP"), "{text}");
    let key = wine
        .provider_key()
        .expect("crpki install csp wrote no provider key");
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
    rt.block_on(login(&store));
    let source = ProfileSource::new()
        .with_store(store.clone())
        .with_prompt(Arc::new(StaticSecrets::new().with("PIN", "1234")))
        .with_browser(None);
    let linux_signer = rt
        .block_on(source.open(None, OpenOptions::default()))
        .unwrap()
        .signer;
    let alice_cert = linux_signer.certificate().der().to_vec();

    // 2. The seed's sequence with the remote key, and CryptSignMessage.
    let sign_dir = tmp.path().join("sign");
    std::fs::create_dir(&sign_dir).unwrap();
    let before = stats();
    let text = wine.client(&exe, &["sign", &win(&sign_dir)]);
    println!("{text}");
    let signed = stats().signatures - before.signatures;
    let read = |name: &str| std::fs::read(sign_dir.join(name)).unwrap();
    assert_eq!(read("cert.der"), alice_cert);
    assert_eq!(read("root.der"), sb.registrar_root().der());
    let info = String::from_utf8(read("info.txt")).unwrap();
    assert!(info.contains("container=alice-rsa\n"), "{info}");
    assert!(info.contains("containers=alice-rsa\n"), "{info}");
    assert!(info.contains("keylen=2048\n"), "{info}");
    let pubkey = tmp.path().join("alice.pub.pem");
    pubkey_of(&sign_dir.join("cert.der"), &pubkey);
    let data = sign_dir.join("data.bin");
    for alg in ["sha256", "sha384", "sha512"] {
        let sig = sign_dir.join(format!("sig-{alg}.bin"));
        let ok = |d: &Path| {
            openssl(&[
                "dgst",
                &format!("-{alg}"),
                "-verify",
                path(&pubkey),
                "-signature",
                path(&sig),
                path(d),
            ])
            .status
            .success()
        };
        assert!(ok(&data), "{alg} signature does not verify");
        assert!(!ok(&pubkey), "openssl accepted a {alg} signature over other data");
    }
    assert!(cms_ok(&sign_dir.join("message.p7s"), &data, &root));
    assert!(!cms_ok(&sign_dir.join("message.p7s"), &pubkey, &root));
    // Three hashes; the HP_HASHVAL re-sign and the message (no signed
    // attributes: it signs SHA-256 of the same data) come from the cache.
    assert_eq!(signed, 3, "remote signatures for the seed's sequence");

    // 3. crpki.exe binds the chosen credential's certificate in MY.
    let text = crpki(&["certs", "use", "alice-rsa"]);
    assert!(text.contains("bound to the crpki CSP"), "{text}");
    assert!(wine.client(&exe, &["bound"]).contains("bound=1"));
    // Binding again replaces, never duplicates.
    crpki(&["certs", "use", "alice-rsa"]);

    // 4. Through the store: by certificate, by provider name, and three
    // CryptSignMessage, each exactly one remote signature.
    let store_dir = tmp.path().join("store");
    std::fs::create_dir(&store_dir).unwrap();
    let before = stats();
    let store_text = wine.client(&exe, &["store", &win(&store_dir), "3"]);
    println!("{store_text}");
    let signed = stats().signatures - before.signatures;
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
    let conc = tmp.path().join("concurrent");
    std::fs::create_dir(&conc).unwrap();
    let before = stats();
    wine.client(&exe, &["concurrent", &win(&conc)]);
    assert_eq!(stats().signatures - before.signatures, 100);
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
    let lib_start = Instant::now();
    for i in 0..20 {
        let d = HashAlgorithm::Sha256.digest(format!("library bench {i}").as_bytes());
        rt.block_on(linux_signer.sign_digests(linux_signer.default_algorithm(), &[d]))
            .unwrap();
    }
    let lib_us = lib_start.elapsed().as_micros() as f64 / 20.0;
    for (label, text) in [("cryptsignhash", &bench_text), ("cryptsignmessage", &store_text)] {
        if let Some((us, n)) = bench_us(text, label) {
            println!(
                "BENCH {label}: {:.1} ms per signature (n={n}) vs library {:.1} ms: ratio {:.2}, difference {:+.1} ms",
                us / 1000.0,
                lib_us / 1000.0,
                us / lib_us,
                (us - lib_us) / 1000.0
            );
        }
    }

    // 7. Logout while signing: each signature valid, or a clean error; the
    // process lives on. crpki.exe logs out (revokes, deletes the token
    // file, unbinds the certificate) while the loop signs.
    sb.faults().set(FaultSettings {
        latency_ms: 100,
        ..FaultSettings::default()
    });
    let loop_dir = tmp.path().join("loop-logout");
    std::fs::create_dir(&loop_dir).unwrap();
    let stop = tmp.path().join("stop-logout");
    let _stop_guard = StopOnDrop(stop.clone());
    let handle = start_loop(&wine, &exe, &loop_dir, &stop);
    wait_for(
        "three signatures before the logout",
        Duration::from_secs(120),
        || files_with_prefix(&loop_dir, "sig-") >= 3,
    );
    let text = crpki(&["logout"]);
    assert!(text.contains("logged out of profile sandbox"), "{text}");
    wait_for("errors after the logout", Duration::from_secs(120), || {
        files_with_prefix(&loop_dir, "err-") >= 3
    });
    std::fs::write(&stop, b"").unwrap();
    println!("{}", handle.join().expect("the loop thread"));
    let (valid, errors) = loop_results(&loop_dir, &pubkey);
    assert!(valid >= 3 && errors.len() >= 3, "{valid} valid, {errors:?}");
    for e in &errors {
        assert!(
            e.contains("0x80090010") || e.contains("0x80090022"),
            "not a clean logout error: {e}"
        );
    }
    assert!(log_text().contains("NTE_PERM"), "{}", log_text());
    assert!(
        wine.client(&exe, &["bound"]).contains("bound=0"),
        "logout unbinds"
    );
    sb.faults().set(FaultSettings::default());

    // 8. The sandbox goes down while signing: NTE_DEVICE_NOT_READY, the
    // process lives on.
    rt.block_on(login(&store));
    let down_dir = tmp.path().join("loop-down");
    std::fs::create_dir(&down_dir).unwrap();
    let stop = tmp.path().join("stop-down");
    let _stop_guard2 = StopOnDrop(stop.clone());
    let handle = start_loop(&wine, &exe, &down_dir, &stop);
    wait_for("signatures before the shutdown", Duration::from_secs(120), || {
        files_with_prefix(&down_dir, "sig-") >= 2
    });
    rt.block_on(sb.shutdown());
    wait_for("errors after the shutdown", Duration::from_secs(180), || {
        files_with_prefix(&down_dir, "err-") >= 2
    });
    std::fs::write(&stop, b"").unwrap();
    println!("{}", handle.join().expect("the loop thread"));
    let (valid, errors) = loop_results(&down_dir, &pubkey);
    assert!(valid >= 2 && errors.len() >= 2, "{valid} valid, {errors:?}");
    for e in &errors {
        assert!(e.contains("0x80090030"), "not NTE_DEVICE_NOT_READY: {e}");
    }
    assert!(log_text().contains("NTE_DEVICE_NOT_READY"), "{}", log_text());

    // Uninstalled by crpki.exe.
    let text = crpki(&["uninstall", "csp"]);
    assert!(text.contains("uninstalled"), "{text}");
    assert_eq!(wine.provider_key(), None);
    let log_all = log_text();
    assert!(
        !log_all.contains("1234\n") && !log_all.contains("access_token"),
        "secrets in the log"
    );
    println!("Wine remote scenario: {:.0} s", started.elapsed().as_secs_f64());
}
