//! What the remote-signer scenarios under Wine share: the CSP's
//! (`tests/wine/remote.rs`) and the KSP's (`tests/wine/ksp_remote.rs`).
//!
//! An in-process sandbox on 127.0.0.1 over HTTPS, its `endpoints.toml`
//! and the tokens of a login made here on the Linux side, shared with the
//! DLL through `CRPKI_CONFIG_DIR` (a `Z:\…` path); the DLL then signs with
//! the sandbox profile, as it would with the Ministry's service. Also: the
//! signing loop's results, and the two "the service goes away while an
//! application signs" scenarios (logout, sandbox down), told apart from
//! the provider only by how the loop client is started.
#![allow(clippy::unwrap_used, dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crpki::auth::{Authenticator, HttpFollowLauncher, LoginOptions, TransportConfig, http_client};
use crpki::csc::StaticSecrets;
use crpki::profile::{ProfileStore, SANDBOX_PROFILE, SandboxEndpoints};
use crpki::sandbox::{FaultSettings, Sandbox, SandboxConfig};
use crpki::source::ProfileSource;
use crpki::source::{OpenOptions, SignerSource};
use crpki::{HashAlgorithm, RemoteSigner};

use crate::harness::*;

/// alice's PIN in the sandbox (her credential `alice-rsa`).
pub const ALICE_PIN: &str = "1234";

/// A PIN no sandbox credential has, easy to find in a log.
pub const WRONG_PIN: &str = "wrong-pin-7315";

/// The Windows build of one test (DLL, client, `crpki.exe`), the Wine
/// prefix held for it, a running sandbox, a config directory whose sandbox
/// profile points at it, and a Wine whose providers use that profile.
pub struct RemoteWine {
    /// When the scenario started.
    pub started: Instant,
    /// crpki.dll.
    pub dll: PathBuf,
    /// The Windows test client.
    pub exe: PathBuf,
    /// crpki.exe, the management tool.
    pub crpki_exe: PathBuf,
    _prefix: PrefixLock,
    /// The runtime the sandbox runs on.
    pub rt: tokio::runtime::Runtime,
    /// Everything of this run lives here.
    pub tmp: tempfile::TempDir,
    /// `CRPKI_CONFIG_DIR` of both sides.
    pub config: PathBuf,
    sandbox: Option<Sandbox>,
    /// The profiles of `config`.
    pub store: ProfileStore,
    /// The sandbox registrar's root certificate, PEM (for `openssl cms`).
    pub root: PathBuf,
    /// The provider's error log.
    pub log: PathBuf,
    /// Wine with `CRPKI_CONFIG_DIR`, `CRPKI_PIN` = [`ALICE_PIN`] and the log
    /// set, and no PKCS#12 container: the DLL serves the profile.
    pub wine: Arc<Wine>,
}

impl RemoteWine {
    /// Prepares Wine and takes the prefix, cross-builds with `build` (DLL
    /// and client; `crpki.exe` next to the DLL), starts the sandbox and
    /// writes the sandbox profile's endpoints.
    pub fn start(build: fn() -> (PathBuf, PathBuf)) -> Self {
        Self::start_with(wine_env(), build)
    }

    /// [`RemoteWine::start`] in the Wine of `env` (e.g. a prefix of the
    /// test's own, from [`wine_env_in`]).
    pub fn start_with(env: HashMap<String, String>, build: fn() -> (PathBuf, PathBuf)) -> Self {
        let started = Instant::now();
        let prefix = lock_prefix(&env);
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
                ("CRPKI_PIN".into(), ALICE_PIN.into()),
                (
                    "CRPKI_PROVIDER_LOG".into(),
                    format!("{}\\provider.log", win(tmp.path())),
                ),
                ("CRPKI_PROVIDER_PKCS12".into(), String::new()),
            ],
        });
        Self {
            started,
            dll,
            exe,
            crpki_exe,
            _prefix: prefix,
            rt,
            tmp,
            config,
            sandbox: Some(sb),
            store,
            root,
            log,
            wine,
        }
    }

    /// The running sandbox.
    pub fn sandbox(&self) -> &Sandbox {
        self.sandbox.as_ref().expect("the sandbox was shut down")
    }

    /// Stops the sandbox (the "service down" scenario).
    pub fn shutdown_sandbox(&mut self) {
        if let Some(sb) = self.sandbox.take() {
            self.rt.block_on(sb.shutdown());
        }
    }

    /// Signatures the sandbox has made so far.
    pub fn signatures(&self) -> u64 {
        self.sandbox().stats().signatures
    }

    /// Logs `user` in to the sandbox profile, here on the Linux side; the
    /// DLL finds the tokens in the shared config directory.
    pub fn login(&self, user: &str) {
        let profile = self.store.resolve(SANDBOX_PROFILE).unwrap();
        let http = http_client(&TransportConfig::from_profile(&profile).unwrap()).unwrap();
        self.rt
            .block_on(
                Authenticator::for_profile(&profile, Arc::new(self.store.token_store()))
                    .unwrap()
                    .login(
                        &HttpFollowLauncher::new(http),
                        &LoginOptions {
                            login_hint: Some(user.into()),
                            ..Default::default()
                        },
                    ),
            )
            .unwrap();
    }

    /// The signer the library opens for the profile's selected credential
    /// (PIN [`ALICE_PIN`]), as the DLL does.
    pub fn library_signer(&self) -> Arc<dyn RemoteSigner> {
        let source = ProfileSource::new()
            .with_store(self.store.clone())
            .with_prompt(Arc::new(StaticSecrets::new().with("PIN", ALICE_PIN)))
            .with_browser(None);
        self.rt
            .block_on(source.open(None, OpenOptions::default()))
            .unwrap()
            .signer
    }

    /// Mean microseconds per single-digest signature through `signer`
    /// (the library on Linux, against the same sandbox) over `n` calls.
    pub fn library_us(&self, signer: &Arc<dyn RemoteSigner>, n: usize) -> f64 {
        let start = Instant::now();
        for i in 0..n {
            let d = HashAlgorithm::Sha256.digest(format!("library bench {i}").as_bytes());
            self.rt
                .block_on(signer.sign_digests(signer.default_algorithm(), &[d]))
                .unwrap();
        }
        start.elapsed().as_micros() as f64 / n as f64
    }

    /// The same Wine with `CRPKI_PIN` = `pin`, or without it for `None`.
    pub fn wine_with_pin(&self, pin: Option<&str>) -> Wine {
        let mut extra: Vec<(String, String)> = self
            .wine
            .extra
            .iter()
            .filter(|(k, _)| k != "CRPKI_PIN")
            .cloned()
            .collect();
        if let Some(pin) = pin {
            extra.push(("CRPKI_PIN".into(), pin.into()));
        }
        Wine {
            env: self.wine.env.clone(),
            extra,
        }
    }

    /// What a client's `pin` command did, with no `CRPKI_PIN` around: no
    /// PIN is NTE_SILENT_CONTEXT, the wrong one SCARD_W_WRONG_CHV, and the
    /// signature made with the right one (`sig-pin.bin` over `pin.bin` in
    /// `dir`) verifies with openssl.
    pub fn check_application_pin(&self, text: &str, dir: &Path, pubkey: &Path) {
        assert!(
            text.contains("ok with no PIN") && text.contains("0x80090022"),
            "{text}"
        );
        assert!(
            text.contains("ok with the wrong PIN") && text.contains("0x8010006b"),
            "{text}"
        );
        assert!(sig_ok(pubkey, &dir.join("pin.bin"), &dir.join("sig-pin.bin")));
        assert!(!self.log_text().contains(WRONG_PIN), "the PIN is in the log");
    }

    /// The provider log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Runs `crpki.exe ARGS` under Wine: (success, stdout and stderr).
    pub fn crpki_output(&self, args: &[&str]) -> (bool, String) {
        let exe = self.crpki_exe.to_string_lossy();
        let mut all = vec![exe.as_ref()];
        all.extend_from_slice(args);
        let out = self.wine.run(&all);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    /// Runs `crpki.exe ARGS` under Wine, which must succeed; its output.
    pub fn crpki(&self, args: &[&str]) -> String {
        let (ok, text) = self.crpki_output(args);
        assert!(ok, "crpki.exe {args:?} failed:\n{text}");
        text
    }

    /// Logging out while an application signs in a loop (the loop client
    /// that `start` starts in a directory, with a stop file): every
    /// signature it got is valid, the others are clean errors (`NTE_PERM`
    /// or `NTE_SILENT_CONTEXT`, as `expected_error` checks), and the
    /// process lives on. crpki.exe logs out (revokes, deletes the token
    /// file, unbinds the certificate).
    pub fn logout_while_signing(
        &self,
        pubkey: &Path,
        start: impl Fn(&Path, &Path) -> std::thread::JoinHandle<String>,
    ) {
        self.sandbox().faults().set(FaultSettings {
            latency_ms: 100,
            ..FaultSettings::default()
        });
        let dir = self.tmp.path().join("loop-logout");
        std::fs::create_dir(&dir).unwrap();
        let stop = self.tmp.path().join("stop-logout");
        let _stop_guard = StopOnDrop(stop.clone());
        let handle = start(&dir, &stop);
        wait_for(
            "three signatures before the logout",
            Duration::from_secs(120),
            || files_with_prefix(&dir, "sig-") >= 3,
        );
        let text = self.crpki(&["logout"]);
        assert!(text.contains("logged out of profile sandbox"), "{text}");
        wait_for("errors after the logout", Duration::from_secs(120), || {
            files_with_prefix(&dir, "err-") >= 3
        });
        std::fs::write(&stop, b"").unwrap();
        println!("{}", handle.join().expect("the loop thread"));
        let (valid, errors) = loop_results(&dir, pubkey);
        assert!(valid >= 3 && errors.len() >= 3, "{valid} valid, {errors:?}");
        for e in &errors {
            assert!(
                e.contains("0x80090010") || e.contains("0x80090022"),
                "not a clean logout error: {e}"
            );
        }
        assert!(self.log_text().contains("NTE_PERM"), "{}", self.log_text());
        self.sandbox().faults().set(FaultSettings::default());
    }

    /// The sandbox goes down while an application signs in a loop: the
    /// signatures made before are valid, then NTE_DEVICE_NOT_READY, and
    /// the process lives on. Needs a login.
    pub fn sandbox_down_while_signing(
        &mut self,
        pubkey: &Path,
        start: impl Fn(&Path, &Path) -> std::thread::JoinHandle<String>,
    ) {
        let dir = self.tmp.path().join("loop-down");
        std::fs::create_dir(&dir).unwrap();
        let stop = self.tmp.path().join("stop-down");
        let _stop_guard = StopOnDrop(stop.clone());
        let handle = start(&dir, &stop);
        wait_for("signatures before the shutdown", Duration::from_secs(120), || {
            files_with_prefix(&dir, "sig-") >= 2
        });
        self.shutdown_sandbox();
        wait_for("errors after the shutdown", Duration::from_secs(180), || {
            files_with_prefix(&dir, "err-") >= 2
        });
        std::fs::write(&stop, b"").unwrap();
        println!("{}", handle.join().expect("the loop thread"));
        let (valid, errors) = loop_results(&dir, pubkey);
        assert!(valid >= 2 && errors.len() >= 2, "{valid} valid, {errors:?}");
        for e in &errors {
            assert!(e.contains("0x80090030"), "not NTE_DEVICE_NOT_READY: {e}");
        }
        assert!(
            self.log_text().contains("NTE_DEVICE_NOT_READY"),
            "{}",
            self.log_text()
        );
    }

    /// No PIN and no token in the provider log.
    pub fn assert_log_has_no_secrets(&self) {
        let log = self.log_text();
        assert!(
            !log.contains(&format!("{ALICE_PIN}\n")) && !log.contains("access_token"),
            "secrets in the log"
        );
    }
}

/// Whether `openssl cms -verify` accepts the detached CMS `p7s` over
/// `data`, chained to `root` (PEM).
pub fn cms_ok(p7s: &Path, data: &Path, root: &Path) -> bool {
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

/// Whether openssl accepts `sig` as an RSA PKCS#1 SHA-256 signature of `data`.
pub fn sig_ok(pubkey: &Path, data: &Path, sig: &Path) -> bool {
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

/// Waits until `ready`, failing the test after `limit`.
pub fn wait_for(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// How many files of `dir` start with `prefix`.
pub fn files_with_prefix(dir: &Path, prefix: &str) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().starts_with(prefix))
        })
        .count()
}

/// The loop client's results: (signatures checked valid, error texts).
pub fn loop_results(dir: &Path, pubkey: &Path) -> (usize, Vec<String>) {
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

/// `dir\name` of a Unix path, as Wine sees it (for a file that does not
/// exist yet, which `win` cannot canonicalize).
pub fn win_file(file: &Path) -> String {
    format!(
        "{}\\{}",
        win(file.parent().unwrap()),
        file.file_name().unwrap().to_string_lossy()
    )
}

/// Runs a loop client (`wine ARGS`) in a thread; it must finish with
/// `done`. Returns its output through the join handle.
pub fn start_loop(wine: &Arc<Wine>, args: Vec<String>) -> std::thread::JoinHandle<String> {
    let wine = wine.clone();
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
pub struct StopOnDrop(pub PathBuf);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::write(&self.0, b"");
    }
}
