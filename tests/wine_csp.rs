//! The CryptoAPI CSP DLL, for real: cross-built for
//! `x86_64-pc-windows-gnu`, registered in a Wine prefix with `regsvr32`, and
//! driven by a Windows program (`examples/wine_csp_client.rs`) through
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
#[path = "wine/remote.rs"]
mod wine_remote;

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");
const PROVIDER: &str = "crpki Remote Signing CSP (open source)";
const CONTAINER: &str = "rep-test";

fn fail_setup(what: &str) -> ! {
    panic!(
        "the Wine test cannot run: {what}.\n\
         scripts/wine-env.sh prepares this machine (Debian packages gcc-mingw-w64-x86-64, nasm, wine64, wine; \
         the rustup target x86_64-pc-windows-gnu; the bcryptprimitives.dll shim and the Wine prefix). \
         Run `scripts/wine-env.sh` by hand to see what is missing."
    )
}

/// Runs scripts/wine-env.sh and returns the variables it prints.
fn wine_env() -> HashMap<String, String> {
    let out = Command::new("bash")
        .arg(Path::new(MANIFEST).join("scripts/wine-env.sh"))
        .arg("--env")
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| fail_setup(&format!("cannot run bash: {e}")));
    if !out.status.success() {
        fail_setup(&format!("scripts/wine-env.sh exited with {}", out.status));
    }
    let env: HashMap<String, String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect();
    for k in ["WINEPREFIX", "CRPKI_WINE"] {
        if env.get(k).is_none_or(|v| v.is_empty()) {
            fail_setup(&format!("scripts/wine-env.sh did not report {k}"));
        }
    }
    env
}

/// One Wine scenario at a time per prefix, across test binaries and
/// checkouts: they share the prefix's registry (the provider key) and its
/// certificate store. The lock is a file holding the owner's pid, removed
/// when the guard drops; a lock whose process is gone is taken over.
struct PrefixLock(PathBuf);

impl Drop for PrefixLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn lock_prefix(env: &HashMap<String, String>) -> PrefixLock {
    let path = PathBuf::from(format!("{}.tests.lock", env["WINEPREFIX"].trim_end_matches('/')));
    let start = Instant::now();
    loop {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut f) => {
                use std::io::Write;
                let _ = write!(f, "{}", std::process::id());
                return PrefixLock(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let owner = std::fs::read_to_string(&path).unwrap_or_default();
                let alive = owner
                    .trim()
                    .parse::<u32>()
                    .is_ok_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
                if !alive && !owner.is_empty() {
                    let _ = std::fs::remove_file(&path);
                }
                assert!(
                    start.elapsed() < Duration::from_secs(1800),
                    "{} has been held for 30 minutes",
                    path.display()
                );
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => fail_setup(&format!("cannot create the lock file {}: {e}", path.display())),
        }
    }
}

/// Builds crpki.dll (with the remote signer), crpki.exe and the client
/// .exe in one cargo run; returns the DLL's and the client's paths.
fn build() -> (PathBuf, PathBuf) {
    let outer = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(MANIFEST).join("target"));
    let outer = if outer.is_absolute() {
        outer
    } else {
        Path::new(MANIFEST).join(outer)
    };
    let target_dir = outer.join("wine-build");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(MANIFEST)
        .env("CARGO_TARGET_DIR", &target_dir)
        .args([
            "build",
            "--target",
            "x86_64-pc-windows-gnu",
            "--no-default-features",
            // `cli` brings pkcs12 and remote: one feature set, one build
            // for the DLL, crpki.exe and the client.
            "--features",
            "csp,cli",
            "--lib",
            "--bin",
            "crpki",
            "--example",
            "wine_csp_client",
        ])
        .status()
        .expect("running cargo");
    assert!(
        status.success(),
        "cross-building the DLL and the client failed (scripts/wine-env.sh installs the mingw-w64 linker, nasm \
         and the x86_64-pc-windows-gnu target they need)"
    );
    let dir = target_dir.join("x86_64-pc-windows-gnu").join("debug");
    let dll = dir.join("crpki.dll");
    let exe = dir.join("examples").join("wine_csp_client.exe");
    assert!(
        dll.is_file() && exe.is_file(),
        "missing {} or {}",
        dll.display(),
        exe.display()
    );
    (dll, exe)
}

/// A Unix path as Wine's Z: drive sees it.
fn win(p: &Path) -> String {
    let abs = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    format!("Z:{}", abs.display().to_string().replace('/', "\\"))
}

struct Wine {
    env: HashMap<String, String>,
    extra: Vec<(String, String)>,
}

impl Wine {
    /// Runs `wine ARGS`, with a generous limit so a hang fails the test.
    fn run(&self, args: &[&str]) -> Output {
        let mut child = Command::new(&self.env["CRPKI_WINE"])
            .args(args)
            .envs(&self.env)
            .envs(self.extra.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| fail_setup(&format!("cannot start wine: {e}")));
        let start = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().expect("waiting for wine") {
                break s;
            }
            if start.elapsed() > Duration::from_secs(600) {
                let _ = child.kill();
                panic!("wine {args:?} did not finish within 10 minutes");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        child.stdout.take().map(|mut s| s.read_to_end(&mut stdout));
        child.stderr.take().map(|mut s| s.read_to_end(&mut stderr));
        Output {
            status,
            stdout,
            stderr,
        }
    }

    /// Runs the client; panics with its output unless it succeeded.
    fn client(&self, exe: &Path, args: &[&str]) -> String {
        let exe = exe.to_string_lossy();
        let mut all = vec![exe.as_ref()];
        all.extend_from_slice(args);
        let out = self.run(&all);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success() && text.trim_end().ends_with("done"),
            "wine_csp_client {args:?} failed ({}):\n{text}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        text
    }

    fn provider_key(&self) -> Option<String> {
        let key = format!(r"HKLM\SOFTWARE\Microsoft\Cryptography\Defaults\Provider\{PROVIDER}");
        let out = self.run(&["reg", "query", &key]);
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
            .filter(|t| t.contains("Image Path"))
    }
}

fn openssl(args: &[&str]) -> Output {
    Command::new("openssl")
        .args(args)
        .output()
        .expect("the openssl CLI is needed by the tests")
}

fn openssl_ok(args: &[&str]) {
    let out = openssl(args);
    assert!(
        out.status.success(),
        "openssl {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

#[test]
fn csp_under_wine() {
    let env = wine_env();
    let _one = lock_prefix(&env);
    let (dll, exe) = build();
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("provider.log");
    std::fs::create_dir_all(tmp.path().join("config")).unwrap();
    let wine = Wine {
        env,
        extra: vec![
            (
                "CRPKI_PROVIDER_PKCS12".into(),
                win(&Path::new(MANIFEST).join("fixtures/rep-rsa2048.p12")),
            ),
            ("CRPKI_PROVIDER_PKCS12_PASSWORD".into(), "crpki-test".into()),
            ("CRPKI_PROVIDER_CONTAINER".into(), CONTAINER.into()),
            (
                "CRPKI_PROVIDER_LOG".into(),
                format!("{}\\provider.log", win(tmp.path())),
            ),
            ("CRPKI_CONFIG_DIR".into(), win(&tmp.path().join("config"))),
        ],
    };
    let dll_win = win(&dll);

    // Registration with regsvr32: DllUnregisterServer, then DllRegisterServer.
    let out = wine.run(&["regsvr32", "/s", "/u", &dll_win]);
    assert!(out.status.success(), "regsvr32 /u failed: {out:?}");
    assert_eq!(
        wine.provider_key(),
        None,
        "the provider key is still there after regsvr32 /u"
    );
    let out = wine.run(&["regsvr32", "/s", &dll_win]);
    assert!(out.status.success(), "regsvr32 failed: {out:?}");
    let key = wine
        .provider_key()
        .expect("DllRegisterServer wrote no provider key");
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
        let sig = sign_dir.join(format!("sig-{alg}.bin"));
        openssl_ok(&[
            "dgst",
            &format!("-{alg}"),
            "-verify",
            path(&pubkey),
            "-signature",
            path(&sig),
            path(&data),
        ]);
        // And it fails on other data: the check can fail.
        let out = openssl(&[
            "dgst",
            &format!("-{alg}"),
            "-verify",
            path(&pubkey),
            "-signature",
            path(&sig),
            path(&pubkey),
        ]);
        assert!(
            !out.status.success(),
            "openssl accepted a {alg} signature over other data"
        );
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
    for expected in [
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
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
    let log_text = std::fs::read_to_string(&log).expect("the provider wrote no log");
    for expected in [
        "CPVerifySignature 0x80090006 NTE_BAD_SIGNATURE signature does not verify",
        "CPCreateHash 0x80090008 NTE_BAD_ALGID",
        "CPAcquireContext 0x80090016 NTE_BAD_KEYSET container 'no-such-container' not found",
        "CPAcquireContext 0x00000057 ERROR_INVALID_PARAMETER required argument phProv is a null pointer",
        "CPHashData 0x80090002 NTE_BAD_HASH invalid hash handle",
        "already destroyed",
        "it is a key handle",
        "CPGetProvParam 0x80090001 NTE_BAD_UID invalid context handle 0x12345678: not issued by this provider",
    ] {
        assert!(
            log_text.contains(expected),
            "missing `{expected}` in the provider log:\n{log_text}"
        );
    }
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
    assert_eq!(
        wine.provider_key(),
        None,
        "DllUnregisterServer left the provider key"
    );
}
