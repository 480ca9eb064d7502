//! The management commands and remote signing of `crpki`, run as a user
//! would run them, against the sandbox over real HTTPS. The "browser" is a
//! two-line script that fetches the login URL with curl (set through
//! `$BROWSER`, which the system-browser launcher honours), so the real
//! system-browser path is the one exercised.
#![cfg(all(feature = "cli", feature = "sandbox"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use crpki::profile::SandboxEndpoints;
use crpki::sandbox::{Sandbox, SandboxConfig};

struct Env {
    dir: tempfile::TempDir,
    sandbox: Sandbox,
}

impl Env {
    async fn start() -> Self {
        Self::start_with(SandboxConfig::default()).await
    }

    async fn start_with(config: SandboxConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let sandbox = Sandbox::start(SandboxConfig {
            state_dir: Some(state.clone()),
            ..config
        })
        .await
        .unwrap();
        SandboxEndpoints::of(&sandbox).write(&state).unwrap();
        let browser = dir.path().join("browser.sh");
        std::fs::write(
            &browser,
            format!(
                "#!/bin/sh\nexec curl -sS --fail --cacert '{}' -L -o /dev/null \"$1\"\n",
                sandbox.tls_ca_path().display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(sandbox_root(dir.path()), sandbox.registrar_root().to_pem()).unwrap();
        Env { dir, sandbox }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    async fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_crpki"));
        cmd.args(args)
            .env("CRPKI_CONFIG_DIR", self.path("config"))
            .env("CRPKI_SANDBOX_STATE", self.path("state"))
            .env("BROWSER", self.path("browser.sh"))
            .env_remove("CRPKI_PROFILE")
            .env_remove("CRPKI_PIN")
            .env_remove("CRPKI_LOG")
            .stdin(std::process::Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap()
    }
}

fn sandbox_root(dir: &Path) -> PathBuf {
    dir.join("sandbox-root.pem")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_list_sign_export_proxy_logout() {
    let env = Env::start().await;

    // A fresh user is on the sandbox profile, and every output says so.
    let out = env.run(&["profile", "list"], &[]).await;
    ok(&out);
    assert!(
        text(&out.stdout).contains("* sandbox  [SANDBOX"),
        "{}",
        text(&out.stdout)
    );

    // Not logged in yet: a clear error with exit code 4.
    let out = env.run(&["certs", "list"], &[]).await;
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("crpki login"), "{}", text(&out.stderr));

    let out = env.run(&["login", "--login-hint", "alice"], &[]).await;
    ok(&out);
    assert!(text(&out.stderr).contains("[SANDBOX]"));
    let token_file = env.path("config/tokens/sandbox.toml");
    let mode = std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "token file must be readable by the user alone");
    let tokens = std::fs::read_to_string(&token_file).unwrap();
    let access = tokens
        .lines()
        .find_map(|l| l.strip_prefix("access_token = \""))
        .map(|l| l.trim_end_matches('"').to_owned())
        .expect("access token stored");
    assert!(!text(&out.stdout).contains(&access) && !text(&out.stderr).contains(&access));

    let out = env.run(&["certs", "list", "--json"], &[]).await;
    ok(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["sandbox"], true);
    let creds = v["credentials"].as_array().unwrap();
    assert_eq!(creds.len(), 1);
    assert_eq!(creds[0]["id"], "alice-rsa");
    assert_eq!(creds[0]["algorithm"], "RSA-2048");
    assert_eq!(creds[0]["status"], "valid");

    // Three files, one authorization and one signHash call.
    let before = env.sandbox.stats();
    let files: Vec<PathBuf> = (0..3).map(|i| env.path(&format!("doc{i}.txt"))).collect();
    for (i, f) in files.iter().enumerate() {
        std::fs::write(f, format!("書類 {i}\n")).unwrap();
    }
    let mut args = vec!["sign"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let out = env.run(&args, &[("CRPKI_PIN", "1234")]).await;
    ok(&out);
    let after = env.sandbox.stats();
    assert_eq!(after.authorizations - before.authorizations, 1);
    assert_eq!(after.sign_hash_calls - before.sign_hash_calls, 1);
    assert_eq!(after.signatures - before.signatures, 3);
    for f in &files {
        let sig = PathBuf::from(format!("{}.p7s", f.display()));
        assert!(
            crpki::testing::openssl::cms_verifies(&sig, f, &sandbox_root(env.dir.path())),
            "{}",
            sig.display()
        );
        let out = env
            .run(
                &[
                    "verify",
                    f.to_str().unwrap(),
                    "--ca",
                    sandbox_root(env.dir.path()).to_str().unwrap(),
                ],
                &[],
            )
            .await;
        ok(&out);
        assert!(text(&out.stdout).contains("株式会社サンドボックス商事 TEST"));
    }

    // A wrong PIN: exit 4, no signature file.
    let other = env.path("other.txt");
    std::fs::write(&other, "x").unwrap();
    let out = env
        .run(&["sign", other.to_str().unwrap()], &[("CRPKI_PIN", "0000")])
        .await;
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(!env.path("other.txt.p7s").exists());
    // No PIN and no terminal: says what is needed.
    let out = env.run(&["sign", other.to_str().unwrap()], &[]).await;
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("PIN"), "{}", text(&out.stderr));

    // Certificates out of the service, DER.
    let user_der = env.path("user.der");
    let root_der = env.path("root.der");
    ok(&env
        .run(&["cert", "export", "--out", user_der.to_str().unwrap()], &[])
        .await);
    ok(&env
        .run(
            &["cert", "export", "--ca", "--out", root_der.to_str().unwrap()],
            &[],
        )
        .await);
    assert_eq!(
        std::fs::read(&root_der).unwrap(),
        env.sandbox.registrar_root().der()
    );
    let user = crpki::Certificate::from_der(&std::fs::read(&user_der).unwrap()).unwrap();
    assert_eq!(
        user.moj().unwrap().unwrap().corporate_number().as_deref(),
        Some("9010401100001")
    );

    // A proxy that refuses connections: never used for the sandbox (on
    // loopback, with its bearer token), ...
    let out = env
        .run(
            &[
                "config",
                "proxy",
                "set",
                "http://127.0.0.1:9",
                "--no-proxy",
                "example.com",
            ],
            &[],
        )
        .await;
    ok(&out);
    let out = env.run(&["config", "show"], &[]).await;
    ok(&out);
    assert!(text(&out.stdout).contains("http://127.0.0.1:9"));
    ok(&env.run(&["certs", "list"], &[]).await);
    ok(&env.run(&["config", "proxy", "clear"], &[]).await);
    ok(&env.run(&["certs", "list"], &[]).await);
    // ... but used for a provider elsewhere: a clear error naming the proxy.
    ok(&env
        .run(
            &[
                "profile",
                "add",
                "remote",
                "--issuer",
                "https://crpki-test.invalid/oauth/",
                "--client-id",
                "my-client",
                "--rssp",
                "https://crpki-test.invalid/csc/v2/",
            ],
            &[],
        )
        .await);
    ok(&env
        .run(
            &[
                "config",
                "proxy",
                "set",
                "http://127.0.0.1:9",
                "--profile",
                "remote",
            ],
            &[],
        )
        .await);
    let out = env.run(&["login", "--profile", "remote"], &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("proxy http://127.0.0.1:9"),
        "{}",
        text(&out.stderr)
    );

    // Logout forgets the tokens; the next call asks for a login.
    let out = env.run(&["logout"], &[]).await;
    ok(&out);
    assert!(!token_file.exists());
    let out = env.run(&["certs", "list"], &[]).await;
    assert_eq!(out.status.code(), Some(4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_credentials_need_a_choice() {
    let env = Env::start().await;
    ok(&env.run(&["login", "--login-hint", "bob"], &[]).await);
    let doc = env.path("doc.txt");
    std::fs::write(&doc, "bob").unwrap();

    let out = env
        .run(&["sign", doc.to_str().unwrap()], &[("CRPKI_PIN", "5678")])
        .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("crpki certs use"),
        "{}",
        text(&out.stderr)
    );
    assert!(!env.path("doc.txt.p7s").exists());

    let out = env.run(&["certs", "list"], &[]).await;
    ok(&out);
    let listing = text(&out.stdout);
    assert!(
        listing.contains("bob-ecdsa") && listing.contains("bob-expired"),
        "{listing}"
    );
    assert!(
        listing.contains("UNUSABLE"),
        "the expired credential is flagged: {listing}"
    );

    // The Windows provider choice is remembered in the profile (on Linux
    // nothing is bound); an unknown one is a usage error that changes nothing.
    ok(&env
        .run(&["certs", "use", "bob-ecdsa", "--provider", "ksp"], &[])
        .await);
    let out = env.run(&["config", "show"], &[]).await;
    assert!(
        text(&out.stdout).contains("Windows provider: ksp"),
        "{}",
        text(&out.stdout)
    );
    let out = env
        .run(&["certs", "use", "bob-expired", "--provider", "pkcs11"], &[])
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("csp"), "{}", text(&out.stderr));
    ok(&env.run(&["certs", "use", "bob-ecdsa"], &[]).await);
    let out = env.run(&["config", "show"], &[]).await;
    assert!(
        text(&out.stdout).contains("Windows provider: ksp"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stdout).contains("credential:     bob-ecdsa"),
        "{}",
        text(&out.stdout)
    );
    let out = env
        .run(&["sign", doc.to_str().unwrap()], &[("CRPKI_PIN", "5678")])
        .await;
    ok(&out);
    assert!(crpki::testing::openssl::cms_verifies(
        &env.path("doc.txt.p7s"),
        &doc,
        &sandbox_root(env.dir.path())
    ));

    // The expired credential is refused before anything is signed.
    ok(&env.run(&["certs", "use", "bob-expired"], &[]).await);
    let out = env
        .run(&["sign", doc.to_str().unwrap()], &[("CRPKI_PIN", "5678")])
        .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("expired"), "{}", text(&out.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_add_use_edit_remove() {
    let env = Env::start().await;
    let out = env
        .run(
            &[
                "profile",
                "add",
                "prod",
                "--issuer",
                "https://gbiz-id.go.jp/oauth/",
                "--client-id",
                "my-client",
                "--rssp",
                "https://rssp.example/csc/v2/",
            ],
            &[],
        )
        .await;
    ok(&out);
    ok(&env.run(&["profile", "use", "prod"], &[]).await);
    let out = env.run(&["profile", "list"], &[]).await;
    assert!(text(&out.stdout).contains("* prod"), "{}", text(&out.stdout));
    let out = env.run(&["config", "show"], &[]).await;
    ok(&out);
    assert!(!text(&out.stdout).contains("SANDBOX"), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("https://gbiz-id.go.jp/oauth/"));

    ok(&env
        .run(
            &[
                "profile",
                "edit",
                "prod",
                "--csc-version",
                "v1",
                "--service-auth",
                "basic:alice",
            ],
            &[],
        )
        .await);
    let out = env.run(&["profile", "show", "prod"], &[]).await;
    assert!(text(&out.stdout).contains("CSC v1"), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("auth/login as alice"));

    // Plain HTTP to a non-loopback host is refused when it is stored.
    let out = env
        .run(
            &["profile", "edit", "prod", "--rssp", "http://rssp.example/csc/v2/"],
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("HTTPS") || text(&out.stderr).contains("https"),
        "{}",
        text(&out.stderr)
    );
    let out = env.run(&["profile", "show", "prod"], &[]).await;
    assert!(
        text(&out.stdout).contains("https://rssp.example/csc/v2/"),
        "unchanged: {}",
        text(&out.stdout)
    );

    // --profile overrides the current one for one command.
    let out = env.run(&["--profile", "sandbox", "config", "show"], &[]).await;
    assert!(text(&out.stdout).contains("SANDBOX"));

    ok(&env.run(&["profile", "use", "sandbox"], &[]).await);
    ok(&env.run(&["profile", "remove", "prod"], &[]).await);
    let out = env.run(&["profile", "use", "prod"], &[]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("not found"));
}

/// Logging out while a batch is being signed: the batch either completes
/// (every signature valid) or fails with a clear error, and in both cases
/// no partial set of signature files is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_while_a_batch_is_signing() {
    let env = Env::start_with(SandboxConfig {
        multisign: 5,
        ..SandboxConfig::default()
    })
    .await;
    ok(&env.run(&["login", "--login-hint", "alice"], &[]).await);
    let files: Vec<PathBuf> = (0..40).map(|i| env.path(&format!("batch{i}.txt"))).collect();
    for (i, f) in files.iter().enumerate() {
        std::fs::write(f, format!("document {i}\n")).unwrap();
    }
    // Slow replies, so that the logout lands in the middle of the batch
    // (8 authorizations and 8 signHash calls).
    env.sandbox.faults().set(crpki::sandbox::FaultSettings {
        latency_ms: 150,
        ..Default::default()
    });
    let mut args = vec!["sign", "--quiet"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let sign = env.run(&args, &[("CRPKI_PIN", "1234")]);
    let logout = async {
        tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
        env.run(&["logout"], &[]).await
    };
    let (signed, logged_out) = tokio::join!(sign, logout);
    ok(&logged_out);
    env.sandbox.faults().set(crpki::sandbox::FaultSettings::default());

    let written: Vec<&PathBuf> = files
        .iter()
        .filter(|f| PathBuf::from(format!("{}.p7s", f.display())).exists())
        .collect();
    eprintln!(
        "logout during the batch: sign exited {:?}; {} of {} signature files; stderr: {}",
        signed.status.code(),
        written.len(),
        files.len(),
        text(&signed.stderr)
    );
    if signed.status.success() {
        assert_eq!(
            written.len(),
            files.len(),
            "a successful batch writes every signature"
        );
        for f in &files {
            let sig = PathBuf::from(format!("{}.p7s", f.display()));
            assert!(crpki::testing::openssl::cms_verifies(
                &sig,
                f,
                &sandbox_root(env.dir.path())
            ));
        }
    } else {
        assert!(
            written.is_empty(),
            "a failed batch writes no signature: {written:?}"
        );
        assert_eq!(signed.status.code(), Some(4), "{}", text(&signed.stderr));
        assert!(
            text(&signed.stderr).contains("log"),
            "names what to do: {}",
            text(&signed.stderr)
        );
    }
    // Either way the service keeps working for the next login.
    ok(&env.run(&["login", "--login-hint", "alice"], &[]).await);
    ok(&env.run(&["certs", "list"], &[]).await);
}

/// `crpki sandbox serve` as a human runs it: it prints its URLs and TEST
/// users, hands its endpoints to the `sandbox` profile of other crpki
/// processes, serves them, and cleans up on Ctrl-C. A non-loopback
/// address is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_serve_as_a_process() {
    use std::io::{BufRead, BufReader};

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    let state = dir.path().join("state");
    let bin = env!("CARGO_BIN_EXE_crpki");

    let refused = std::process::Command::new(bin)
        .args(["sandbox", "serve", "--listen", "0.0.0.0:0", "--state"])
        .arg(&state)
        .env("CRPKI_CONFIG_DIR", &config)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("loopback"),
        "{}",
        text(&refused.stderr)
    );

    let mut child = std::process::Command::new(bin)
        .args(["sandbox", "serve", "--state"])
        .arg(&state)
        .env("CRPKI_CONFIG_DIR", &config)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let banner = tokio::task::spawn_blocking(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            let done = line.contains("now points here");
            lines.push(line);
            if done {
                break;
            }
        }
        lines.join("\n")
    })
    .await
    .unwrap();
    assert!(banner.contains("SANDBOX"), "{banner}");
    assert!(
        banner.contains("CSC v2") && banner.contains("https://127.0.0.1:"),
        "{banner}"
    );
    assert!(banner.contains("alice"), "{banner}");
    assert!(state.join("endpoints.toml").exists());

    // Another crpki process finds it through the sandbox profile.
    let browser = dir.path().join("browser.sh");
    std::fs::write(
        &browser,
        format!(
            "#!/bin/sh\nexec curl -sS --fail --cacert '{}' -L -o /dev/null \"$1\"\n",
            state.join("tls/ca.pem").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = |args: &'static [&'static str]| {
        let mut cmd = std::process::Command::new(bin);
        cmd.args(args)
            .env("CRPKI_CONFIG_DIR", &config)
            .env("CRPKI_SANDBOX_STATE", &state)
            .env("BROWSER", &browser)
            .stdin(std::process::Stdio::null());
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
    };
    ok(&run(&["login"]).await.unwrap());
    let out = run(&["certs", "list", "--json"]).await.unwrap();
    ok(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["credentials"][0]["id"], "alice-rsa");

    // Ctrl-C: the server stops and withdraws its endpoints.
    let pid = child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");
    assert!(!state.join("endpoints.toml").exists());
    let out = run(&["certs", "list"]).await.unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("sandbox serve"),
        "{}",
        text(&out.stderr)
    );
}

/// Issue 12, items 12, 14 and 17: the batch's exact signature count is
/// authorized; --no-clobber refuses before any remote work; the
/// no-terminal message names the variable to set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_authorizes_the_batch_count_and_no_clobber_asks_nothing() {
    let env = Env::start().await;
    ok(&env.run(&["login", "--login-hint", "alice"], &[]).await);
    let files: Vec<PathBuf> = (0..3).map(|i| env.path(&format!("doc{i}.txt"))).collect();
    for (i, f) in files.iter().enumerate() {
        std::fs::write(f, format!("書類 {i}\n")).unwrap();
    }
    let mut args = vec!["sign"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));

    // No PIN and no terminal: the message names CRPKI_PIN itself.
    let out = env.run(&args, &[]).await;
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("set CRPKI_PIN"), "{err}");
    assert!(!err.contains("_ENV"), "{err}");

    let before = env.sandbox.stats();
    ok(&env.run(&args, &[("CRPKI_PIN", "1234")]).await);
    let after = env.sandbox.stats();
    assert_eq!(after.authorizations - before.authorizations, 1);
    assert_eq!(
        after.authorized_signatures - before.authorized_signatures,
        3,
        "the RSSP must be asked for exactly the batch's 3 signatures"
    );

    // --no-clobber: refused before any authorization or signHash.
    let sig = env.path("doc1.txt.p7s");
    let old = std::fs::read(&sig).unwrap();
    let before = env.sandbox.stats();
    let mut clobber_args = args.clone();
    clobber_args.push("--no-clobber");
    let out = env.run(&clobber_args, &[("CRPKI_PIN", "1234")]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("already exists"),
        "{}",
        text(&out.stderr)
    );
    let after = env.sandbox.stats();
    assert_eq!(after.authorizations, before.authorizations);
    assert_eq!(after.sign_hash_calls, before.sign_hash_calls);
    assert_eq!(std::fs::read(&sig).unwrap(), old);

    // Replacing (the default) says so in the summary.
    let out = env.run(&args, &[("CRPKI_PIN", "1234")]).await;
    ok(&out);
    assert!(
        text(&out.stderr).contains("replaced 3 existing signature file(s)"),
        "{}",
        text(&out.stderr)
    );
}

/// Issue 17: `crpki xml sign-egov` signs through the profile's credential,
/// as `crpki sign` does: two manifests, one authorization of exactly two
/// signatures; `crpki xml verify` accepts both against the sandbox root.
#[cfg(feature = "xml")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xml_sign_egov_through_the_remote_service() {
    let env = Env::start().await;
    ok(&env.run(&["login", "--login-hint", "alice"], &[]).await);
    let mut manifests = Vec::new();
    for name in ["a", "b"] {
        let dir = env.path(name);
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("app.xml"), format!("<様式>{name}</様式>")).unwrap();
        let manifest = dir.join("kousei.xml");
        std::fs::write(
            &manifest,
            "<申請データ xmlns=\"urn:test:kousei\"><構成情報 ID=\"構成情報\"><申請書属性情報><申請書ファイル名称>app.xml</申請書ファイル名称></申請書属性情報></構成情報></申請データ>",
        )
        .unwrap();
        manifests.push(manifest);
    }
    let mut args = vec!["xml", "sign-egov"];
    args.extend(manifests.iter().map(|m| m.to_str().unwrap()));
    let before = env.sandbox.stats();
    ok(&env.run(&args, &[("CRPKI_PIN", "1234")]).await);
    let after = env.sandbox.stats();
    assert_eq!(after.authorizations - before.authorizations, 1);
    assert_eq!(after.authorized_signatures - before.authorized_signatures, 2);
    let root = sandbox_root(env.dir.path());
    for m in &manifests {
        let out = env
            .run(
                &[
                    "xml",
                    "verify",
                    m.to_str().unwrap(),
                    "--ca",
                    root.to_str().unwrap(),
                ],
                &[],
            )
            .await;
        ok(&out);
        assert!(text(&out.stdout).contains("VALID"), "{}", text(&out.stdout));
    }
}

/// Issue 13: `--files-from` through the pipeline against the RSSP: chunks
/// follow the credential's `multisign` (one authorization and one
/// signHash each), `--json` reports every file, OpenSSL verifies each;
/// a service failing every call leaves no signature and says so in JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_from_signs_in_multisign_chunks_with_json_lines() {
    let env = Env::start_with(SandboxConfig {
        multisign: 4,
        ..SandboxConfig::default()
    })
    .await;
    ok(&env.run(&["login", "--login-hint", "alice"], &[]).await);
    let files: Vec<PathBuf> = (0..10).map(|i| env.path(&format!("page{i}.txt"))).collect();
    for (i, f) in files.iter().enumerate() {
        std::fs::write(f, format!("page {i}\n")).unwrap();
    }
    let list = env.path("list.txt");
    let text_list: String = files.iter().map(|f| format!("{}\n", f.display())).collect();
    std::fs::write(&list, text_list).unwrap();
    let args = ["sign", "--json", "--files-from", list.to_str().unwrap()];

    let before = env.sandbox.stats();
    let out = env.run(&args, &[("CRPKI_PIN", "1234")]).await;
    ok(&out);
    let after = env.sandbox.stats();
    assert_eq!(after.authorizations - before.authorizations, 3, "⌈10 / 4⌉ chunks");
    assert_eq!(after.sign_hash_calls - before.sign_hash_calls, 3);
    assert_eq!(after.authorized_signatures - before.authorized_signatures, 10);
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 10, "{}", text(&out.stdout));
    for (line, f) in lines.iter().zip(&files) {
        let sig = PathBuf::from(format!("{}.p7s", f.display()));
        assert_eq!(line["path"], f.to_str().unwrap());
        assert_eq!(line["signature"], sig.to_str().unwrap());
        assert!(line["error"].is_null());
        assert!(crpki::testing::openssl::cms_verifies(
            &sig,
            f,
            &sandbox_root(env.dir.path())
        ));
    }

    // The service failing every call: nothing written, a JSON line for
    // the batch, a non-zero exit.
    for f in &files {
        std::fs::remove_file(format!("{}.p7s", f.display())).unwrap();
    }
    env.sandbox.faults().set(crpki::sandbox::FaultSettings {
        server_error_rate: 1.0,
        ..Default::default()
    });
    let out = env.run(&args, &[("CRPKI_PIN", "1234")]).await;
    env.sandbox.faults().set(crpki::sandbox::FaultSettings::default());
    assert!(!out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{}", text(&out.stdout));
    assert!(lines[0]["signature"].is_null());
    assert!(lines[0]["error"].is_string());
    for f in &files {
        assert!(!PathBuf::from(format!("{}.p7s", f.display())).exists());
    }
    let leftovers: Vec<_> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".crpki-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Issue 16: `crpki sign --timestamp` through the remote credential: the
/// batch is still one authorization of exactly its signatures, and every
/// signature carries a token of the sandbox TSA over its signature value
/// (one TSA request per signature).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_timestamp_through_the_remote_service() {
    let env = Env::start().await;
    ok(&env.run(&["login", "--login-hint", "alice"], &[]).await);
    let files: Vec<PathBuf> = (0..3).map(|i| env.path(&format!("ts{i}.txt"))).collect();
    for (i, f) in files.iter().enumerate() {
        std::fs::write(f, format!("timestamped {i}\n")).unwrap();
    }
    let mut args = vec!["sign", "--timestamp"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let before = env.sandbox.stats();
    ok(&env.run(&args, &[("CRPKI_PIN", "1234")]).await);
    let after = env.sandbox.stats();
    assert_eq!(after.authorizations - before.authorizations, 1);
    assert_eq!(after.authorized_signatures - before.authorized_signatures, 3);
    let tsa_root = env.sandbox.tsa_root().clone();
    for f in &files {
        let sig = std::fs::read(format!("{}.p7s", f.display())).unwrap();
        let tokens = crpki::cms::signature_timestamp_tokens(&sig).unwrap();
        assert_eq!(tokens.len(), 1);
        let imprint = crpki::cms::signature_timestamp_imprint(&sig, crpki::HashAlgorithm::Sha256).unwrap();
        crpki::tsp::check_token(&tokens[0], &imprint, Some(std::slice::from_ref(&tsa_root))).unwrap();
        assert!(crpki::testing::openssl::cms_verifies(
            Path::new(&format!("{}.p7s", f.display())),
            f,
            &sandbox_root(env.dir.path())
        ));
    }
    // crpki verify reports the timestamp, trusted with --tsa-ca.
    let out = env
        .run(
            &[
                "verify",
                files[0].to_str().unwrap(),
                "--ca",
                sandbox_root(env.dir.path()).to_str().unwrap(),
                "--tsa-ca",
                env.sandbox.tsa_root_path().to_str().unwrap(),
            ],
            &[],
        )
        .await;
    ok(&out);
    assert!(
        text(&out.stdout).contains("trusted (--tsa-ca)"),
        "{}",
        text(&out.stdout)
    );
}
