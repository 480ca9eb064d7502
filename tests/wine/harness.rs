//! The Wine harness the provider tests share (`tests/wine_csp.rs`,
//! `tests/wine_ksp.rs`, `tests/wine_combined.rs`): prepare the machine
//! with scripts/wine-env.sh, cross-build a DLL flavour and its Windows test
//! programs once, run them
//! in the prefix, check results with the `openssl` CLI. Included with
//! `#[path]`, so each test uses what it needs.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");
/// The container name the fixture PKCS#12 is served under.
pub const CONTAINER: &str = "rep-test";

pub fn fail_setup(what: &str) -> ! {
    panic!(
        "the Wine test cannot run: {what}.\n\
         scripts/wine-env.sh prepares this machine (Debian packages gcc-mingw-w64-x86-64, nasm, wine64, wine; \
         the rustup target x86_64-pc-windows-gnu; the bcryptprimitives.dll shim and the Wine prefix). \
         Run `scripts/wine-env.sh` by hand to see what is missing."
    )
}

/// Runs scripts/wine-env.sh and returns the variables it prints.
pub fn wine_env() -> HashMap<String, String> {
    wine_env_prefix(None)
}

/// [`wine_env`] for a Wine prefix of its own at `prefix` (made when
/// missing), instead of the prefix the suites share.
pub fn wine_env_in(prefix: &Path) -> HashMap<String, String> {
    wine_env_prefix(Some(prefix))
}

fn wine_env_prefix(prefix: Option<&Path>) -> HashMap<String, String> {
    let mut cmd = Command::new("bash");
    if let Some(prefix) = prefix {
        cmd.env("CRPKI_WINEPREFIX", prefix);
    }
    let out = cmd
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
pub struct PrefixLock(PathBuf);

impl Drop for PrefixLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

pub fn lock_prefix(env: &HashMap<String, String>) -> PrefixLock {
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

/// The target directory of the cargo running the tests (absolute); the
/// Windows builds go into directories of their own below it.
pub fn target_root() -> PathBuf {
    let outer = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(MANIFEST).join("target"));
    if outer.is_absolute() {
        outer
    } else {
        Path::new(MANIFEST).join(outer)
    }
}

/// Builds crpki.dll with `features`, the binaries `bins` (e.g.
/// `crpki.exe`) and the Windows test program `example` (an example
/// target whose source is in `tests/wine/clients/`, see Cargo.toml) in
/// one cargo run, into
/// `<target dir>/<dir>`; returns the DLL's and the program's paths. Each
/// DLL flavour has its own directory, so test binaries running at once
/// never overwrite the DLL another one is running.
pub fn build_with_bins(features: &str, bins: &[&str], example: &str, dir: &str) -> (PathBuf, PathBuf) {
    let (dll, mut exes) = build_flavour(features, bins, &[example], dir);
    (dll, exes.remove(0))
}

/// [`build_with_bins`] with several Windows test programs; returns the
/// DLL's path and the programs' paths in the order given.
pub fn build_flavour(features: &str, bins: &[&str], examples: &[&str], dir: &str) -> (PathBuf, Vec<PathBuf>) {
    let target_dir = target_root().join(dir);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(MANIFEST)
        .env("CARGO_TARGET_DIR", &target_dir)
        .args([
            "build",
            "--target",
            "x86_64-pc-windows-gnu",
            "--no-default-features",
            "--features",
            features,
            "--lib",
        ]);
    for example in examples {
        cmd.args(["--example", example]);
    }
    for bin in bins {
        cmd.args(["--bin", bin]);
    }
    let status = cmd.status().expect("running cargo");
    assert!(
        status.success(),
        "cross-building the DLL and the client failed (scripts/wine-env.sh installs the mingw-w64 linker, nasm \
         and the x86_64-pc-windows-gnu target they need)"
    );
    let dir = target_dir.join("x86_64-pc-windows-gnu").join("debug");
    let dll = dir.join("crpki.dll");
    assert!(dll.is_file(), "missing {}", dll.display());
    let exes: Vec<PathBuf> = examples
        .iter()
        .map(|example| dir.join("examples").join(format!("{example}.exe")))
        .collect();
    for exe in &exes {
        assert!(exe.is_file(), "missing {}", exe.display());
    }
    (dll, exes)
}

/// A Unix path as Wine's Z: drive sees it.
pub fn win(p: &Path) -> String {
    let abs = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    format!("Z:{}", abs.display().to_string().replace('/', "\\"))
}

/// The CSP's registered name.
pub const CSP_PROVIDER: &str = "crpki Remote Signing CSP (open source)";

/// Runs programs in the prepared Wine prefix.
pub struct Wine {
    /// What scripts/wine-env.sh reported.
    pub env: HashMap<String, String>,
    /// More variables for the Windows programs.
    pub extra: Vec<(String, String)>,
}

impl Wine {
    /// Runs `wine ARGS`, with a generous limit so a hang fails the test.
    pub fn run(&self, args: &[&str]) -> Output {
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
    /// The CSP's registry key as `reg query` prints it, if it is there.
    pub fn csp_key(&self) -> Option<String> {
        let key = format!(r"HKLM\SOFTWARE\Microsoft\Cryptography\Defaults\Provider\{CSP_PROVIDER}");
        let out = self.run(&["reg", "query", &key]);
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
            .filter(|t| t.contains("Image Path"))
    }

    pub fn client(&self, exe: &Path, args: &[&str]) -> String {
        let program = exe.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
        let exe = exe.to_string_lossy();
        let mut all = vec![exe.as_ref()];
        all.extend_from_slice(args);
        let out = self.run(&all);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success() && text.trim_end().ends_with("done"),
            "{} {args:?} failed ({}):\n{text}\n{}",
            program,
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        text
    }
}

pub fn openssl(args: &[&str]) -> Output {
    Command::new("openssl")
        .args(args)
        .output()
        .expect("the openssl CLI is needed by the tests")
}

pub fn openssl_ok(args: &[&str]) {
    let out = openssl(args);
    assert!(
        out.status.success(),
        "openssl {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

impl Wine {
    /// A Wine whose providers serve the fixture PKCS#12 (rep-rsa2048) as
    /// [`CONTAINER`], log to `<tmp>/provider.log`, and use `<tmp>/config`.
    pub fn with_fixture_signer(env: HashMap<String, String>, tmp: &Path) -> Self {
        std::fs::create_dir_all(tmp.join("config")).expect("config dir");
        Wine {
            env,
            extra: vec![
                (
                    "CRPKI_PROVIDER_PKCS12".into(),
                    win(&Path::new(MANIFEST).join("fixtures/rep-rsa2048.p12")),
                ),
                ("CRPKI_PROVIDER_PKCS12_PASSWORD".into(), "crpki-test".into()),
                ("CRPKI_PROVIDER_CONTAINER".into(), CONTAINER.into()),
                ("CRPKI_PROVIDER_LOG".into(), format!("{}\\provider.log", win(tmp))),
                ("CRPKI_CONFIG_DIR".into(), win(&tmp.join("config"))),
            ],
        }
    }
}

/// Checks with openssl the SHA-256 PKCS#1 signatures `c-T-I.sig` over
/// `c-T-I.msg` that a concurrency run wrote for `threads` x `each`.
pub fn verify_concurrent(dir: &Path, pubkey: &Path, threads: usize, each: usize) {
    for t in 0..threads {
        for i in 0..each {
            openssl_ok(&[
                "dgst",
                "-sha256",
                "-verify",
                path(pubkey),
                "-signature",
                path(&dir.join(format!("c-{t}-{i}.sig"))),
                path(&dir.join(format!("c-{t}-{i}.msg"))),
            ]);
        }
    }
}

/// Writes the public key of the DER certificate `cert_der` to `out` (PEM).
pub fn pubkey_of(cert_der: &Path, out: &Path) {
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

/// Checks what the KSP client's `sign` wrote to `dir`: Wine's bcrypt
/// hashed `data.bin` as openssl does (`hash-SHA*.bin`), and openssl
/// accepts the PKCS#1 and PSS signatures `sig-{pkcs1,pss}-SHA*.bin` over
/// it, and not over other data.
pub fn check_sign_outputs(dir: &Path, pubkey: &Path) {
    let data = dir.join("data.bin");
    for (alg, cng) in [("sha256", "SHA256"), ("sha384", "SHA384"), ("sha512", "SHA512")] {
        let digest = openssl(&["dgst", &format!("-{alg}"), "-binary", path(&data)]).stdout;
        assert_eq!(
            std::fs::read(dir.join(format!("hash-{cng}.bin"))).expect("the hash file"),
            digest
        );
        let pss = [
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            "rsa_pss_saltlen:digest",
        ];
        for (kind, extra) in [("pkcs1", &[][..]), ("pss", &pss[..])] {
            let sig = dir.join(format!("sig-{kind}-{cng}.bin"));
            check_dgst(alg, pubkey, &sig, &data, extra);
        }
    }
}

/// Every one of `expected` appears in `text` (what `what` names: the
/// client's output, the provider log).
pub fn assert_all_in<S: AsRef<str>>(text: &str, expected: impl IntoIterator<Item = S>, what: &str) {
    for e in expected {
        let e = e.as_ref();
        assert!(text.contains(e), "missing `{e}` in {what}:\n{text}");
    }
}

/// `openssl dgst -ALG -verify PUBKEY -signature SIG [EXTRA] DATA`
/// accepts the signature, and rejects it over other data (the public key
/// file), so that the check can fail.
pub fn check_dgst(alg: &str, pubkey: &Path, sig: &Path, data: &Path, extra: &[&str]) {
    let dgst = format!("-{alg}");
    let verifies = |over: &Path| {
        let mut args = vec!["dgst", &dgst, "-verify", path(pubkey), "-signature", path(sig)];
        args.extend_from_slice(extra);
        args.push(path(over));
        openssl(&args).status.success()
    };
    assert!(
        verifies(data),
        "openssl rejected the {alg} signature {}",
        sig.display()
    );
    assert!(
        !verifies(pubkey),
        "openssl accepted the {alg} signature {} over other data",
        sig.display()
    );
}
