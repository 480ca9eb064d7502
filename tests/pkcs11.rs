//! The PKCS#11 module (`libcrpki.so`) against the sandbox over HTTPS,
//! through independent consumers: OpenSC's `pkcs11-tool`, OpenSSL with
//! libp11's engine, NSS (`modutil`, `certutil`, `cmsutil`), and a Rust
//! program over the `cryptoki` crate (threads, fork, a service that goes
//! away, a logout while signing). Every signature is checked with the
//! `openssl` CLI.
//!
//! Needs the Debian packages `opensc`, `libengine-pkcs11-openssl`,
//! `libnss3-tools` and `openssl` (`./scripts/test.sh` installs them).
#![cfg(all(
    feature = "pkcs11",
    feature = "sandbox",
    feature = "cli",
    feature = "test-util",
    unix
))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod csc_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crpki::profile::ProfileStore;
use crpki::sandbox::Sandbox;

/// The module built with this test binary: the crate's cdylib, next to
/// the test executable in `target/…/deps` (`cargo test` builds it there
/// with the library and does not copy it up).
fn module_path() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap();
    let so = dir.join(if cfg!(target_os = "macos") {
        "libcrpki.dylib"
    } else {
        "libcrpki.so"
    });
    assert!(
        so.exists(),
        "{} is missing (cargo test builds it with the library)",
        so.display()
    );
    so
}

use crpki::testing::require_tool as need;

/// A logged-in sandbox profile in a temporary directory.
struct Env {
    dir: tempfile::TempDir,
    sb: Option<Sandbox>,
    store: ProfileStore,
}

impl Env {
    async fn new(user: &str) -> Env {
        let env = Env::logged_out().await;
        csc_support::login_profile(&env.store, user).await;
        env
    }

    async fn logged_out() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let (sb, store) = csc_support::profile_sandbox(dir.path()).await;
        Env {
            dir,
            sb: Some(sb),
            store,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.path("provider.log")).unwrap_or_default()
    }

    fn sb(&self) -> &Sandbox {
        self.sb.as_ref().unwrap()
    }

    /// `program args…` with the module's environment, off the runtime.
    async fn run(&self, program: &str, args: &[&str]) -> Output {
        self.run_with(program, args, &[]).await
    }

    /// [`run`](Self::run) with more environment variables.
    async fn run_with(&self, program: &str, args: &[&str], vars: &[(&str, &Path)]) -> Output {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .envs(vars.iter().copied())
            .current_dir(self.dir.path())
            .env("CRPKI_CONFIG_DIR", self.store.dir())
            .env("CRPKI_PROVIDER_LOG", self.path("provider.log"))
            .env_remove("CRPKI_PROFILE")
            .env_remove("CRPKI_PIN")
            .env_remove("CRPKI_OTP")
            .env_remove("CRPKI_PROVIDER_PKCS12");
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap()
    }

    async fn ok(&self, program: &str, args: &[&str]) -> String {
        let out = self.run(program, args).await;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "{program} {args:?} failed:\n{text}\nlog:\n{}",
            self.log()
        );
        text
    }

    async fn tool(&self, args: &[&str]) -> Output {
        let module = module_path();
        let mut all = vec!["--module", module.to_str().unwrap()];
        all.extend_from_slice(args);
        self.run("pkcs11-tool", &all).await
    }

    /// `pkcs11-tool --sign` after a login with `pin`, `how` naming the
    /// mechanism and its parameters.
    async fn sign(&self, slot: &str, pin: &str, how: &[&str], input: &Path, output: &Path) -> Output {
        let mut args = vec!["--slot", slot, "--login", "--pin", pin, "--sign"];
        args.extend_from_slice(how);
        args.extend(["-i", s(input), "-o", s(output)]);
        self.tool(&args).await
    }

    async fn sign_ok(&self, slot: &str, pin: &str, how: &[&str], input: &Path, output: &Path) {
        let out = self.sign(slot, pin, how, input, output).await;
        assert!(
            out.status.success(),
            "pkcs11-tool {how:?}: {out:?}\nlog:\n{}",
            self.log()
        );
    }

    /// `pkcs11-tool --sign` with a `pin` the service refuses:
    /// `CKR_PIN_INCORRECT` at `C_Sign`, in the log too.
    async fn sign_refused(&self, slot: &str, pin: &str, data: &Path) {
        let how = ["-m", "SHA256-RSA-PKCS"];
        let wrong = self.sign(slot, pin, &how, data, &self.path("wrong.sig")).await;
        assert!(!wrong.status.success());
        assert!(
            String::from_utf8_lossy(&wrong.stderr).contains("CKR_PIN_INCORRECT"),
            "{wrong:?}"
        );
        assert!(
            self.log().contains("C_Sign 0x000000a0 CKR_PIN_INCORRECT"),
            "{}",
            self.log()
        );
    }

    async fn tool_ok(&self, args: &[&str]) -> String {
        let module = module_path();
        let mut all = vec!["--module", module.to_str().unwrap()];
        all.extend_from_slice(args);
        self.ok("pkcs11-tool", &all).await
    }

    /// The slot (`0x…`) whose description names `credential`.
    async fn slot_of(&self, credential: &str) -> String {
        let slots = self.tool_ok(&["--list-slots"]).await;
        let line = slots
            .lines()
            .find(|l| l.starts_with("Slot ") && l.trim_end().ends_with(&format!("crpki {credential}")))
            .unwrap_or_else(|| panic!("no slot for {credential}:\n{slots}"));
        let start = line.find("(0x").unwrap() + 1;
        let end = start + line[start..].find(')').unwrap();
        line[start..end].to_owned()
    }

    /// The certificate of `credential`, read with `pkcs11-tool`, as PEM
    /// public key for openssl.
    async fn read_cert(&self, slot: &str, credential: &str) -> PathBuf {
        let der = self.path(&format!("{credential}.der"));
        self.tool_ok(&[
            "--slot",
            slot,
            "--read-object",
            "--type",
            "cert",
            "--label",
            credential,
            "-o",
            der.to_str().unwrap(),
        ])
        .await;
        let cert = crpki::cert::Certificate::from_der(&std::fs::read(&der).unwrap()).unwrap();
        let pem = self.path(&format!("{credential}.pem"));
        std::fs::write(&pem, cert.to_pem()).unwrap();
        let key = self.path(&format!("{credential}.pub.pem"));
        self.ok(
            "openssl",
            &[
                "x509",
                "-in",
                pem.to_str().unwrap(),
                "-pubkey",
                "-noout",
                "-out",
                key.to_str().unwrap(),
            ],
        )
        .await;
        key
    }

    async fn openssl_verify(&self, key: &Path, data: &Path, sig: &Path, extra: &[&str]) {
        let mut args = vec![
            "dgst",
            "-sha256",
            "-verify",
            key.to_str().unwrap(),
            "-signature",
            sig.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        args.push(data.to_str().unwrap());
        let text = self.ok("openssl", &args).await;
        assert!(text.contains("Verified OK"), "{text}");
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn sha256_of(file: &Path) -> Vec<u8> {
    crpki::HashAlgorithm::Sha256
        .digest(&std::fs::read(file).unwrap())
        .as_bytes()
        .to_vec()
}

#[tokio::test(flavor = "multi_thread")]
async fn pkcs11_tool_rsa_with_alice() {
    need("pkcs11-tool", "opensc");
    need("openssl", "openssl");
    let env = Env::new("alice").await;
    let slots = env.tool_ok(&["--list-slots"]).await;
    assert!(slots.contains("crpki alice-rsa"), "{slots}");
    assert!(slots.contains("login required"), "{slots}");
    assert!(slots.contains("token manufacturer : crpki"), "{slots}");
    assert!(slots.contains("readonly"), "{slots}");
    let slot = env.slot_of("alice-rsa").await;

    // Before login: the certificates and the public key; after: the private key too.
    let public = env.tool_ok(&["--slot", &slot, "--list-objects"]).await;
    assert!(public.contains("Certificate Object"), "{public}");
    assert!(public.contains("registrar root"), "{public}");
    assert!(!public.contains("Private Key Object"), "{public}");
    let all = env
        .tool_ok(&["--slot", &slot, "--login", "--pin", "1234", "--list-objects"])
        .await;
    assert!(all.contains("Private Key Object; RSA"), "{all}");
    assert!(all.contains("Usage:      sign"), "{all}");

    let key = env.read_cert(&slot, "alice-rsa").await;
    let data = env.path("data.txt");
    std::fs::write(&data, b"signed through PKCS#11 by pkcs11-tool").unwrap();

    let before = env.sb().stats();
    let sig = env.path("sha256-rsa.sig");
    env.sign_ok(&slot, "1234", &["-m", "SHA256-RSA-PKCS"], &data, &sig)
        .await;
    env.openssl_verify(&key, &data, &sig, &[]).await;

    // PSS on the hash, then PSS hashing here.
    let hash = env.path("data.sha256");
    std::fs::write(&hash, sha256_of(&data)).unwrap();
    let pss_params = ["--mgf", "MGF1-SHA256", "--salt-len", "32"];
    let pss = env.path("pss.sig");
    let raw_pss = ["-m", "RSA-PKCS-PSS", "--hash-algorithm", "SHA256"];
    env.sign_ok(&slot, "1234", &[&raw_pss[..], &pss_params].concat(), &hash, &pss)
        .await;
    let pss_opts = ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32"];
    env.openssl_verify(&key, &data, &pss, &pss_opts).await;
    let pss2 = env.path("sha256-pss.sig");
    let how = [&["-m", "SHA256-RSA-PKCS-PSS"][..], &pss_params].concat();
    env.sign_ok(&slot, "1234", &how, &data, &pss2).await;
    env.openssl_verify(&key, &data, &pss2, &pss_opts).await;
    // A salt the service cannot make is refused before any network call.
    let how = [&raw_pss[..], &["--mgf", "MGF1-SHA256", "--salt-len", "20"]].concat();
    let bad = env.sign(&slot, "1234", &how, &hash, &env.path("bad.sig")).await;
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("CKR_MECHANISM_PARAM_INVALID"),
        "{bad:?}"
    );
    let after = env.sb().stats();
    assert_eq!(
        after.signatures - before.signatures,
        3,
        "one remote signature per pkcs11-tool --sign"
    );

    // A wrong PIN: CKR_PIN_INCORRECT, logged, nothing signed.
    env.sign_refused(&slot, "9999", &data).await;
    assert_eq!(env.sb().stats().signatures, after.signatures);
}

#[tokio::test(flavor = "multi_thread")]
async fn before_crpki_login_a_slot_without_token() {
    need("pkcs11-tool", "opensc");
    let env = Env::logged_out().await;
    let slots = env.tool_ok(&["--list-slots"]).await;
    assert!(
        slots.contains("(empty)") && slots.contains("run `crpki login`"),
        "{slots}"
    );
    let out = env.tool(&["--slot", "0", "--list-objects"]).await;
    assert!(!out.status.success());
    assert!(
        env.log()
            .contains("C_GetSlotList 0x000000e0 CKR_TOKEN_NOT_PRESENT"),
        "{}",
        env.log()
    );
    assert!(env.log().contains("crpki login"), "{}", env.log());
}

#[tokio::test(flavor = "multi_thread")]
async fn pkcs11_tool_ecdsa_with_bob() {
    need("pkcs11-tool", "opensc");
    need("openssl", "openssl");
    let env = Env::new("bob").await;
    let slot = env.slot_of("bob-ecdsa").await;
    let all = env
        .tool_ok(&["--slot", &slot, "--login", "--pin", "5678", "--list-objects"])
        .await;
    assert!(all.contains("Private Key Object; EC"), "{all}");
    let key = env.read_cert(&slot, "bob-ecdsa").await;
    let data = env.path("data.txt");
    std::fs::write(&data, b"an ECDSA signature through PKCS#11").unwrap();
    let hash = env.path("data.sha256");
    std::fs::write(&hash, sha256_of(&data)).unwrap();
    for (mech, input) in [("ECDSA", &hash), ("ECDSA-SHA256", &data)] {
        let sig = env.path(&format!("{mech}.sig"));
        let how = ["-m", mech, "--signature-format", "openssl"];
        env.sign_ok(&slot, "5678", &how, input, &sig).await;
        env.openssl_verify(&key, &data, &sig, &[]).await;
    }
}

/// bob's SCAL 2 credential takes a one-time password per signature, in
/// `C_Login(CKU_CONTEXT_SPECIFIC)`: `pkcs11-tool` sends its `--pin` there
/// for a key with `CKA_ALWAYS_AUTHENTICATE`. Nothing else gives one
/// (`CRPKI_OTP` is unset).
#[tokio::test(flavor = "multi_thread")]
async fn pkcs11_tool_otp_per_signature_with_bob() {
    need("pkcs11-tool", "opensc");
    need("openssl", "openssl");
    let env = Env::new("bob").await;
    let slot = env.slot_of("bob-rsa-scal2").await;
    let objects = env.tool_ok(&["--slot", &slot, "--list-objects"]).await;
    assert!(objects.contains("Private Key Object; RSA"), "{objects}");
    assert!(objects.contains("always authenticate"), "{objects}");
    let key = env.read_cert(&slot, "bob-rsa-scal2").await;
    let data = env.path("data.txt");
    std::fs::write(&data, b"a SCAL 2 signature with a one-time password").unwrap();
    let before = env.sb().stats();
    let sig = env.path("otp.sig");
    env.sign_ok(&slot, "123456", &["-m", "SHA256-RSA-PKCS"], &data, &sig)
        .await;
    env.openssl_verify(&key, &data, &sig, &[]).await;
    let after = env.sb().stats();
    assert_eq!(after.signatures - before.signatures, 1);
    assert_eq!(
        after.authorizations - before.authorizations,
        1,
        "one authorization, with the OTP"
    );

    // A wrong OTP: CKR_PIN_INCORRECT, logged, nothing signed.
    env.sign_refused(&slot, "000000", &data).await;
    let log = env.log();
    assert!(
        !log.contains("000000 ") && !log.contains("123456"),
        "an OTP is never logged:\n{log}"
    );
    assert_eq!(env.sb().stats().signatures, after.signatures);
}

/// bob's `oauth2code` credential is approved in the browser for each
/// signature (here a "browser" that follows the sandbox's auto-approval
/// with curl): its key asks for no `CKU_CONTEXT_SPECIFIC` value
/// (`CKA_ALWAYS_AUTHENTICATE` false), so `pkcs11-tool` signs without a PIN.
#[tokio::test(flavor = "multi_thread")]
async fn pkcs11_tool_browser_approval_with_bob() {
    need("pkcs11-tool", "opensc");
    need("openssl", "openssl");
    need("curl", "curl");
    let env = Env::new("bob").await;
    let slot = env.slot_of("bob-oauth").await;
    let key = env.read_cert(&slot, "bob-oauth").await;
    let browser = env.path("browser.sh");
    std::fs::write(&browser, "#!/bin/sh\nexec curl -sk -L -o /dev/null \"$1\"\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let data = env.path("data.txt");
    std::fs::write(&data, b"a SCAL 2 signature approved in the browser").unwrap();
    let sig = env.path("approved.sig");
    let module = module_path();
    let args = [
        "--module",
        s(&module),
        "--slot",
        &slot,
        "--sign",
        "-m",
        "SHA256-RSA-PKCS",
        "-i",
        s(&data),
        "-o",
        s(&sig),
    ];
    let before = env.sb().stats();
    let out = env.run_with("pkcs11-tool", &args, &[("BROWSER", &browser)]).await;
    assert!(out.status.success(), "{out:?}\nlog:\n{}", env.log());
    env.openssl_verify(&key, &data, &sig, &[]).await;
    let after = env.sb().stats();
    assert_eq!(after.signatures - before.signatures, 1);
    assert_eq!(after.authorizations - before.authorizations, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn openssl_cms_through_libp11_engine() {
    need("openssl", "openssl");
    need("pkcs11-tool", "opensc");
    let engine = Path::new("/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so");
    assert!(
        engine.exists() || cfg!(not(target_arch = "x86_64")),
        "libp11's engine is missing: apt-get install libengine-pkcs11-openssl (./scripts/test.sh installs it)"
    );
    need("p11-kit", "p11-kit");
    let env = Env::new("alice").await;
    // `crpki install pkcs11`: p11-kit lists the module, and the printed
    // OpenSSL configuration is the one used below.
    let home = env.path("home");
    std::fs::create_dir(&home).unwrap();
    let crpki = env!("CARGO_BIN_EXE_crpki");
    // p11-kit reads no user configuration for root, so the listing runs as
    // `nobody` (p11_kit_list), which loads the module: a copy in the test's
    // home, as the build directory may be in a private one (~/.cache).
    let module = home.join("libcrpki.so");
    std::fs::copy(module_path(), &module).unwrap();
    let with_home = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .env("HOME", &home)
            .env_remove("XDG_CONFIG_HOME")
            .env("CRPKI_CONFIG_DIR", env.store.dir())
            .env("CRPKI_PROVIDER_LOG", env.path("provider.log"))
            .output()
            .unwrap()
    };
    let installed = with_home(crpki, &["install", "pkcs11", "--module", s(&module)]);
    let printed = String::from_utf8_lossy(&installed.stdout).into_owned();
    assert!(installed.status.success(), "{installed:?}");
    assert!(home.join(".config/pkcs11/modules/crpki.module").exists());
    assert!(
        printed.contains("modutil -dbdir sql:$HOME/.pki/nssdb -add crpki -libfile"),
        "{printed}"
    );
    let listed = p11_kit_list(&home);
    assert!(
        listed.contains("crpki:") && listed.contains("library-manufacturer: crpki"),
        "{listed}"
    );
    let snippet = &printed[printed.find("openssl_conf").unwrap()..printed.find("init = 0").unwrap() + 8];
    let conf = env.path("openssl.cnf");
    std::fs::write(&conf, snippet).unwrap();
    let removed = with_home(crpki, &["uninstall", "pkcs11"]);
    assert!(removed.status.success(), "{removed:?}");
    assert!(!p11_kit_list(&home).contains("crpki:"));

    let slot = env.slot_of("alice-rsa").await;
    env.read_cert(&slot, "alice-rsa").await;
    let root = env.path("root.pem");
    std::fs::write(&root, env.sb().registrar_root().to_pem()).unwrap();
    let data = env.path("contract.txt");
    std::fs::write(&data, b"a contract signed by OpenSSL through PKCS#11").unwrap();
    let p7s = env.path("contract.txt.p7s");
    let out = {
        let mut cmd = Command::new("openssl");
        cmd.args([
            "cms",
            "-sign",
            "-binary",
            "-engine",
            "pkcs11",
            "-keyform",
            "engine",
            "-inkey",
            "pkcs11:object=alice-rsa;type=private?pin-value=1234",
            "-signer",
            s(&env.path("alice-rsa.pem")),
            "-in",
            s(&data),
            "-outform",
            "DER",
            "-out",
            s(&p7s),
        ])
        .env("OPENSSL_CONF", &conf)
        .env("CRPKI_CONFIG_DIR", env.store.dir())
        .env("CRPKI_PROVIDER_LOG", env.path("provider.log"));
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap()
    };
    assert!(
        out.status.success(),
        "openssl cms -sign: {out:?}\nlog:\n{}",
        env.log()
    );
    env.ok(
        "openssl",
        &[
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            s(&p7s),
            "-content",
            s(&data),
            "-CAfile",
            s(&root),
            "-purpose",
            "any",
            "-ignore_critical",
            "-out",
            "/dev/null",
        ],
    )
    .await;
    let verified = env
        .ok(
            env!("CARGO_BIN_EXE_crpki"),
            &["verify", s(&data), "--ca", s(&root)],
        )
        .await;
    assert!(verified.to_lowercase().contains("valid"), "{verified}");
}

/// `p11-kit list-modules` for the user whose home is `home`. p11-kit reads
/// no user configuration as root, so as root (CI containers) it runs as
/// `nobody` through `setpriv`, with the directories opened for reading.
fn p11_kit_list(home: &Path) -> String {
    let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    let mut cmd = if root {
        use std::os::unix::fs::PermissionsExt;
        let mut dir = Some(home);
        while let Some(d) = dir.filter(|d| d.starts_with(std::env::temp_dir()) && *d != std::env::temp_dir())
        {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
            dir = d.parent();
        }
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "p11-kit",
            "list-modules",
        ]);
        c
    } else {
        let mut c = Command::new("p11-kit");
        c.arg("list-modules");
        c
    };
    let out = cmd
        .env("HOME", home)
        .env_remove("XDG_CONFIG_HOME")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn nss_modutil_certutil_cmsutil() {
    need("modutil", "libnss3-tools");
    need("openssl", "openssl");
    let env = Env::new("alice").await;
    let db = format!("sql:{}", env.path("nssdb").display());
    std::fs::create_dir(env.path("nssdb")).unwrap();
    env.ok("certutil", &["-N", "-d", &db, "--empty-password"]).await;
    let module = module_path();
    env.ok(
        "modutil",
        &["-force", "-dbdir", &db, "-add", "crpki", "-libfile", s(&module)],
    )
    .await;
    let list = env.ok("modutil", &["-dbdir", &db, "-list", "crpki"]).await;
    assert!(list.contains("crpki alice-rsa"), "{list}");
    let certs = env.ok("certutil", &["-L", "-d", &db, "-h", "all"]).await;
    let line = certs
        .lines()
        .find(|l| l.contains(":alice-rsa"))
        .unwrap_or_else(|| panic!("no alice-rsa certificate:\n{certs}"));
    let nickname = line[..line.find(":alice-rsa").unwrap() + ":alice-rsa".len()]
        .trim()
        .to_owned();
    let data = env.path("data.txt");
    std::fs::write(&data, b"signed by NSS through PKCS#11").unwrap();
    let p7 = env.path("data.p7s");
    env.ok(
        "cmsutil",
        &[
            "-S",
            "-T",
            "-Y",
            "NONE",
            "-d",
            &db,
            "-N",
            &nickname,
            "-p",
            "1234",
            "-i",
            s(&data),
            "-o",
            s(&p7),
        ],
    )
    .await;
    let root = env.path("root.pem");
    std::fs::write(&root, env.sb().registrar_root().to_pem()).unwrap();
    env.ok(
        "openssl",
        &[
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            s(&p7),
            "-content",
            s(&data),
            "-CAfile",
            s(&root),
            "-purpose",
            "any",
            "-ignore_critical",
            "-out",
            "/dev/null",
        ],
    )
    .await;
}

// --- the module in a process of its own, through the `cryptoki` crate ------

/// Environment variable that makes [`pkcs11_child`] run a scenario.
const CHILD_ENV: &str = "CRPKI_P11_CHILD";

impl Env {
    /// Runs [`pkcs11_child`] with `scenario` in a child process (the module
    /// reads the profile from the environment, which a test must not
    /// change in its own process), its output files in `out/`.
    fn child(&self, scenario: &str) -> std::process::Child {
        std::fs::create_dir_all(self.path("out")).unwrap();
        Command::new(std::env::current_exe().unwrap())
            .args(["pkcs11_child", "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, scenario)
            .env("CRPKI_P11_OUT", self.path("out"))
            .env("CRPKI_P11_MODULE", module_path())
            .env("CRPKI_CONFIG_DIR", self.store.dir())
            .env("CRPKI_PROVIDER_LOG", self.path("provider.log"))
            .env_remove("CRPKI_PROFILE")
            .env_remove("CRPKI_PIN")
            .env_remove("CRPKI_OTP")
            .env_remove("CRPKI_PROVIDER_PKCS12")
            .spawn()
            .unwrap()
    }

    async fn wait(&self, child: std::process::Child) {
        let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
            .await
            .unwrap();
        assert!(out.status.success(), "the child failed\nlog:\n{}", self.log());
    }

    /// Checks every `NAME.sig` of `out/` over `out/NAME.data` with openssl
    /// and the certificate in `out/cert.der`; returns how many.
    async fn verify_out(&self) -> usize {
        let out = self.path("out");
        let cert = crpki::cert::Certificate::from_der(&std::fs::read(out.join("cert.der")).unwrap()).unwrap();
        std::fs::write(out.join("cert.pem"), cert.to_pem()).unwrap();
        let key = out.join("key.pem");
        self.ok(
            "openssl",
            &[
                "x509",
                "-in",
                s(&out.join("cert.pem")),
                "-pubkey",
                "-noout",
                "-out",
                s(&key),
            ],
        )
        .await;
        let mut n = 0;
        for entry in std::fs::read_dir(&out).unwrap() {
            let sig = entry.unwrap().path();
            if sig.extension().is_some_and(|e| e == "sig") {
                self.openssl_verify(&key, &sig.with_extension("data"), &sig, &[])
                    .await;
                n += 1;
            }
        }
        n
    }
}

async fn wait_for(path: &Path) {
    for _ in 0..600 {
        if path.exists() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{} never appeared", path.display());
}

#[tokio::test(flavor = "multi_thread")]
async fn threads_and_fork_through_one_initialize() {
    need("openssl", "openssl");
    let env = Env::new("alice").await;
    let before = env.sb().stats();
    let child = env.child("threads");
    env.wait(child).await;
    let signed = env.sb().stats().signatures - before.signatures;
    assert_eq!(
        env.verify_out().await,
        8 * 25 + 1,
        "8 threads × 25 signatures, and one from the fork"
    );
    assert_eq!(signed, 8 * 25 + 1, "each C_Sign is one remote signature");
}

#[tokio::test(flavor = "multi_thread")]
async fn service_down_and_logout_while_signing() {
    need("openssl", "openssl");
    let mut env = Env::new("alice").await;
    // The service goes away between two signatures.
    let child = env.child("down");
    wait_for(&env.path("out/ready")).await;
    env.sb.take().unwrap().shutdown().await;
    std::fs::write(env.path("out/go"), b"").unwrap();
    env.wait(child).await;
    assert!(
        env.log().contains("C_Sign 0x00000030 CKR_DEVICE_ERROR"),
        "{}",
        env.log()
    );
    assert_eq!(env.verify_out().await, 1);

    // A logout while four threads sign: valid signatures or clean errors.
    let env = Env::new("alice").await;
    let child = env.child("logout");
    env.wait(child).await;
    let n = env.verify_out().await;
    assert!(
        (8..40).contains(&n),
        "{n} signatures before the logout stopped the rest"
    );
    assert!(env.log().contains("CKR_DEVICE_REMOVED"), "{}", env.log());
}

/// `C_Logout` wipes the PIN and the authorization it bought: signing needs
/// `C_Login` again, and a wrong PIN after a good one is `CKR_PIN_INCORRECT`
/// (never a signature on the old authorization), after `C_Logout` as after
/// the last session closed. A second `C_Login` is
/// `CKR_USER_ALREADY_LOGGED_IN`.
#[tokio::test(flavor = "multi_thread")]
async fn logout_then_a_wrong_pin_signs_nothing() {
    need("openssl", "openssl");
    let env = Env::new("alice").await;
    let before = env.sb().stats();
    env.wait(env.child("relogin")).await;
    let after = env.sb().stats();
    assert_eq!(env.verify_out().await, 3, "good, good again, still good");
    assert_eq!(after.signatures - before.signatures, 3);
    assert_eq!(
        after.authorizations - before.authorizations,
        2,
        "the logout dropped the first authorization; the second served two signatures"
    );
    let log = env.log();
    assert_eq!(
        log.matches("CKR_PIN_INCORRECT").count(),
        2,
        "the wrong PIN after C_Logout and after the last session closed:\n{log}"
    );
    assert!(log.contains("CKR_USER_ALREADY_LOGGED_IN"), "{log}");
}

/// The one-time password through the `cryptoki` crate: given per
/// signature with `CKU_CONTEXT_SPECIFIC` between `C_SignInit` and
/// `C_SignFinal`, spent by that signature; a wrong one is
/// `CKR_PIN_INCORRECT` and the next signature brings another.
#[tokio::test(flavor = "multi_thread")]
async fn otp_through_cryptoki() {
    need("openssl", "openssl");
    let env = Env::new("bob").await;
    let before = env.sb().stats();
    env.wait(env.child("otp")).await;
    let after = env.sb().stats();
    assert_eq!(env.verify_out().await, 4, "two, then two after C_Finalize");
    assert_eq!(after.signatures - before.signatures, 4);
    assert_eq!(after.authorizations - before.authorizations, 4);
    let log = env.log();
    assert!(
        log.contains("CKF_LIBRARY_CANT_CREATE_OS_THREADS: accepted"),
        "{log}"
    );
    assert!(!log.contains("123456"), "an OTP is never logged:\n{log}");
}

/// Not a test by itself: the program [`Env::child`] runs in a child
/// process (with [`CHILD_ENV`] set); without it, it does nothing.
#[test]
fn pkcs11_child() {
    let Ok(scenario) = std::env::var(CHILD_ENV) else {
        return;
    };
    child::run(&scenario);
}

#[allow(unsafe_code)] // fork and _exit, in the child only
mod child {
    use std::path::PathBuf;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
    use cryptoki::error::{Error, RvError};
    use cryptoki::mechanism::Mechanism;
    use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
    use cryptoki::session::{Session, UserType};
    use cryptoki::slot::Slot;
    use cryptoki::types::AuthPin;

    fn out(name: &str) -> PathBuf {
        PathBuf::from(std::env::var("CRPKI_P11_OUT").unwrap()).join(name)
    }

    fn open() -> (Pkcs11, Slot) {
        let p = Pkcs11::new(std::env::var("CRPKI_P11_MODULE").unwrap()).unwrap();
        p.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
            .unwrap();
        let slot = p.get_slots_with_token().unwrap()[0];
        (p, slot)
    }

    fn login(p: &Pkcs11, slot: Slot) -> (Session, ObjectHandle) {
        let s = p.open_ro_session(slot).unwrap();
        s.login(UserType::User, Some(&AuthPin::new("1234".into())))
            .unwrap();
        let key = key_and_cert(&s, "alice-rsa");
        (s, key)
    }

    /// The private key of the session's token; the certificate labelled
    /// `label` goes to `out/cert.der`.
    fn key_and_cert(s: &Session, label: &str) -> ObjectHandle {
        let key = s
            .find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY)])
            .unwrap()[0];
        let cert = s
            .find_objects(&[
                Attribute::Class(ObjectClass::CERTIFICATE),
                Attribute::Label(label.as_bytes().to_vec()),
            ])
            .unwrap()[0];
        if let [Attribute::Value(der)] = &s.get_attributes(cert, &[AttributeType::Value]).unwrap()[..] {
            std::fs::write(out("cert.der"), der).unwrap();
        }
        key
    }

    /// Signs `name`'s data; the signature goes to `out/NAME.sig`.
    fn sign(s: &Session, key: ObjectHandle, name: &str) -> Result<(), Error> {
        let data = format!("PKCS#11 signature {name} of process {}", std::process::id());
        let sig = s.sign(&Mechanism::Sha256RsaPkcs, key, data.as_bytes())?;
        std::fs::write(out(&format!("{name}.data")), data).unwrap();
        std::fs::write(out(&format!("{name}.sig")), sig).unwrap();
        Ok(())
    }

    pub fn run(scenario: &str) {
        if scenario == "otp" {
            return otp();
        }
        let (p, slot) = open();
        let (main, key) = login(&p, slot);
        match scenario {
            "threads" => {
                let threads: Vec<_> = (0..8)
                    .map(|t| {
                        let p = p.clone();
                        std::thread::spawn(move || {
                            let s = p.open_ro_session(slot).unwrap();
                            for i in 0..25 {
                                sign(&s, key, &format!("t{t}-{i}")).unwrap();
                            }
                        })
                    })
                    .collect();
                threads.into_iter().for_each(|t| t.join().unwrap());
                fork_and_sign();
            }
            "down" => {
                sign(&main, key, "before").unwrap();
                std::fs::write(out("ready"), b"").unwrap();
                while !out("go").exists() {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                let e = sign(&main, key, "after").unwrap_err();
                assert!(matches!(e, Error::Pkcs11(RvError::DeviceError, _)), "{e}");
                // Still alive and answering.
                assert!(!p.get_slots_with_token().unwrap().is_empty());
            }
            "logout" => {
                let done = Arc::new(AtomicUsize::new(0));
                let threads: Vec<_> = (0..4)
                    .map(|t| {
                        let (p, done) = (p.clone(), done.clone());
                        std::thread::spawn(move || {
                            let s = p.open_ro_session(slot).unwrap();
                            for i in 0..10 {
                                match sign(&s, key, &format!("t{t}-{i}")) {
                                    Ok(()) => {}
                                    Err(Error::Pkcs11(
                                        RvError::DeviceRemoved | RvError::UserNotLoggedIn,
                                        _,
                                    )) => {}
                                    Err(e) => panic!("not a clean error: {e}"),
                                }
                                done.fetch_add(1, Ordering::SeqCst);
                            }
                        })
                    })
                    .collect();
                while done.load(Ordering::SeqCst) < 8 {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                // What `crpki logout` does locally: the token file goes.
                let store = crpki::profile::ProfileStore::open(std::env::var("CRPKI_CONFIG_DIR").unwrap());
                std::fs::remove_file(store.token_store().path(crpki::profile::SANDBOX_PROFILE).unwrap())
                    .unwrap();
                threads.into_iter().for_each(|t| t.join().unwrap());
            }
            "relogin" => relogin(&p, slot, main, key),
            other => panic!("unknown scenario {other}"),
        }
    }

    fn pin(p: &str) -> AuthPin {
        AuthPin::new(p.into())
    }

    fn code(e: Error) -> RvError {
        match e {
            Error::Pkcs11(rv, _) => rv,
            other => panic!("not a PKCS#11 error: {other}"),
        }
    }

    /// Good PIN, logout, wrong PIN, good PIN, a second login, then the
    /// last session closes and a new one logs in with a wrong PIN.
    fn relogin(p: &Pkcs11, slot: Slot, main: Session, key: ObjectHandle) {
        sign(&main, key, "good").unwrap();
        main.logout().unwrap();
        let e = code(sign(&main, key, "after-logout").unwrap_err());
        assert!(
            matches!(e, RvError::KeyHandleInvalid | RvError::UserNotLoggedIn),
            "{e}"
        );
        // The service checks this PIN at the next signature.
        main.login(UserType::User, Some(&pin("9999"))).unwrap();
        assert_eq!(
            code(sign(&main, key, "wrong").unwrap_err()),
            RvError::PinIncorrect
        );
        main.login(UserType::User, Some(&pin("1234"))).unwrap();
        sign(&main, key, "good-again").unwrap();
        assert_eq!(
            code(main.login(UserType::User, Some(&pin("9999"))).unwrap_err()),
            RvError::UserAlreadyLoggedIn
        );
        sign(&main, key, "still-good").unwrap();
        drop(main);
        let s = p.open_ro_session(slot).unwrap();
        s.login(UserType::User, Some(&pin("9999"))).unwrap();
        assert_eq!(
            code(sign(&s, key, "wrong-after-close").unwrap_err()),
            RvError::PinIncorrect
        );
    }

    /// bob's SCAL 2 credential: an OTP per signature, through a module
    /// initialized as NSS does (`CKF_LIBRARY_CANT_CREATE_OS_THREADS`), then
    /// finalized and initialized again.
    fn otp() {
        let p = Pkcs11::new(std::env::var("CRPKI_P11_MODULE").unwrap()).unwrap();
        p.initialize(CInitializeArgs::new(
            CInitializeFlags::OS_LOCKING_OK | CInitializeFlags::LIBRARY_CANT_CREATE_OS_THREADS,
        ))
        .unwrap();
        otp_signatures(&p, "");
        p.finalize().unwrap();
        let p = Pkcs11::new(std::env::var("CRPKI_P11_MODULE").unwrap()).unwrap();
        p.initialize(CInitializeArgs::new(CInitializeFlags::empty()))
            .unwrap();
        otp_signatures(&p, "again-");
    }

    /// Signatures with bob's OTP, named with `prefix`.
    fn otp_signatures(p: &Pkcs11, prefix: &str) {
        let slot = p
            .get_slots_with_token()
            .unwrap()
            .into_iter()
            .find(|s| p.get_token_info(*s).unwrap().label().starts_with("bob-rsa-scal2"))
            .expect("a token for bob-rsa-scal2");
        let s = p.open_ro_session(slot).unwrap();
        let key = key_and_cert(&s, "bob-rsa-scal2");
        let signed = |name: &str, otp: Option<&str>| -> Result<(), Error> {
            let name = format!("{prefix}{name}");
            let data = format!("an OTP signature {name}");
            s.sign_init(&Mechanism::Sha256RsaPkcs, key)?;
            if let Some(otp) = otp {
                s.login(UserType::ContextSpecific, Some(&pin(otp)))?;
            }
            s.sign_update(data.as_bytes())?;
            let sig = s.sign_final()?;
            std::fs::write(out(&format!("{name}.data")), data).unwrap();
            std::fs::write(out(&format!("{name}.sig")), sig).unwrap();
            Ok(())
        };
        assert_eq!(
            code(signed("none", None).unwrap_err()),
            RvError::UserNotLoggedIn,
            "no signature without its OTP"
        );
        signed("first", Some("123456")).unwrap();
        assert_eq!(
            code(signed("again", None).unwrap_err()),
            RvError::UserNotLoggedIn,
            "the OTP served one signature"
        );
        assert_eq!(
            code(signed("wrong", Some("000000")).unwrap_err()),
            RvError::PinIncorrect
        );
        signed("second", Some("123456")).unwrap();
    }

    /// Forks; the child initializes the module again and signs once.
    fn fork_and_sign() {
        // SAFETY: the child only calls the module, writes a file and exits.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let ok = std::panic::catch_unwind(|| {
                let (p, slot) = open();
                let (s, key) = login(&p, slot);
                sign(&s, key, "forked").unwrap();
            })
            .is_ok();
            // SAFETY: leaves the forked child without running the parent's
            // exit handlers.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        let mut status = 0;
        // SAFETY: waits for the child just made.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "the forked child failed: {status}"
        );
    }
}
