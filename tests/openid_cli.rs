//! `crpki` against OpenID providers that behave like GビズID rather than
//! like our old sandbox (issue 11, items 1-8), run as a user would: the
//! sandbox over real HTTPS, registering redirect URIs strictly, and a
//! "browser" that fetches the login URL with curl (through `$BROWSER`, as
//! in `tests/cli_remote.rs`).
#![cfg(all(feature = "cli", feature = "sandbox", unix))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use crpki::profile::SandboxEndpoints;
use crpki::sandbox::{RefreshRefusal, Sandbox, SandboxConfig};

/// A sandbox whose `sandbox` profile the `crpki` runs below use.
struct Cli {
    dir: tempfile::TempDir,
    sb: Sandbox,
}

impl Cli {
    async fn start(f: impl FnOnce(&mut SandboxConfig)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let mut config = SandboxConfig {
            state_dir: Some(state.clone()),
            ..SandboxConfig::default()
        };
        f(&mut config);
        let sb = Sandbox::start(config).await.unwrap();
        SandboxEndpoints::of(&sb).write(&state).unwrap();
        let browser = dir.path().join("browser.sh");
        let script = format!(
            "#!/bin/sh\nexec curl -sS --cacert '{}' -L -o /dev/null \"$1\"\n",
            sb.tls_ca_path().display()
        );
        std::fs::write(&browser, script).unwrap();
        std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
        Cli { dir, sb }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn command(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_crpki"));
        cmd.args(args)
            .env("CRPKI_CONFIG_DIR", self.path("config"))
            .env("CRPKI_SANDBOX_STATE", self.path("state"))
            .env("BROWSER", self.path("browser.sh"))
            .env("CRPKI_PIN", "1234")
            .env_remove("CRPKI_PROFILE")
            .env_remove("CRPKI_LOG")
            .stdin(std::process::Stdio::null());
        cmd
    }

    async fn run(&self, args: &[&str]) -> Output {
        let mut cmd = self.command(args);
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap()
    }

    fn token_file(&self) -> PathBuf {
        self.path("config/tokens/sandbox.toml")
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn stored(path: &Path, field: &str) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix(&format!("{field} = \""))
                .map(|v| v.trim_end_matches('"').to_owned())
        })
        .unwrap()
}

/// Items 3 and 5: however the provider refuses a used refresh token, the
/// CLI exits with 4 and says to run `crpki login`, and never prints the
/// token the provider quoted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_refresh_tokens_exit_4_and_are_never_printed() {
    for mode in [
        RefreshRefusal::InvalidGrant,
        RefreshRefusal::InvalidToken400,
        RefreshRefusal::InvalidToken401,
        RefreshRefusal::Bare401,
    ] {
        // Tokens living 20 s: every run refreshes (the minimum TTL is 60 s).
        let cli = Cli::start(|c| {
            c.access_token_ttl = Duration::from_secs(20);
            c.openid.refresh_refusal = mode;
            c.openid.quote_tokens_in_errors = true;
        })
        .await;
        ok(&cli.run(&["login", "--login-hint", "alice"]).await);
        let old = std::fs::read(cli.token_file()).unwrap();
        let used = stored(&cli.token_file(), "refresh_token");
        ok(&cli.run(&["certs", "list"]).await);
        // Back to the tokens whose refresh token the last run used up.
        std::fs::write(cli.token_file(), &old).unwrap();
        let out = cli.run(&["certs", "list"]).await;
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(4), "{mode:?}: {err}");
        assert!(err.contains("crpki login"), "{mode:?}: {err}");
        assert!(
            !err.contains(&used) && !text(&out.stdout).contains(&used),
            "{mode:?}: {err}"
        );
        cli.sb.shutdown().await;
    }
}

/// Item 4: eight `crpki sign` processes on one profile whose access token
/// needs refreshing at every run, ten times over: no failure, and the
/// signatures verify with openssl.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_parallel_signers_refreshing_never_fail() {
    let cli = Cli::start(|c| c.access_token_ttl = Duration::from_secs(20)).await;
    ok(&cli.run(&["login", "--login-hint", "alice"]).await);
    let root = cli.path("root.pem");
    std::fs::write(&root, cli.sb.registrar_root().to_pem()).unwrap();
    let mut failures = Vec::new();
    let mut signed = Vec::new();
    for round in 0..10 {
        let children: Vec<_> = (0..8)
            .map(|p| {
                let doc = cli.path(&format!("doc-{round}-{p}.txt"));
                std::fs::write(&doc, format!("round {round} process {p}\n")).unwrap();
                let child = cli
                    .command(&["sign", doc.to_str().unwrap()])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap();
                (doc, child)
            })
            .collect();
        for (doc, child) in children {
            let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
                .await
                .unwrap();
            if out.status.success() {
                signed.push(doc);
            } else {
                failures.push(format!("{}: {}", doc.display(), text(&out.stderr)));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 80 failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    for doc in [&signed[0], &signed[79]] {
        let sig = PathBuf::from(format!("{}.p7s", doc.display()));
        assert!(
            crpki::testing::openssl::cms_verifies(&sig, doc, &root),
            "openssl refused {}",
            sig.display()
        );
    }
    cli.sb.shutdown().await;
}

/// Items 1, 7 and 8: the profile settings, and what `profile add` checks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_redirect_uri_scope_client_auth_and_the_issuer_hint() {
    let cli = Cli::start(|_| {}).await;
    let issuer = cli.sb.oidc_issuer().to_owned();
    let ca = cli.sb.tls_ca_path();
    let common = |name: &'static str, issuer: String| {
        let mut a = vec![
            "profile".to_owned(),
            "add".into(),
            name.into(),
            "--issuer".into(),
            issuer,
            "--client-id".into(),
            "crpki-cli".into(),
            "--rssp".into(),
            cli.sb.csc_base_v2().into(),
            "--extra-ca".into(),
            ca.display().to_string(),
        ];
        a.extend(["--redirect-uri".into(), "http://[::1]:18765/cb".into()]);
        a
    };
    // Without the trailing slash its discovery names: added, with a warning.
    let mut args = common("prod", issuer.trim_end_matches('/').to_owned());
    args.extend(
        [
            "--scope",
            "openid profile email",
            "--client-auth",
            "client_secret_post",
        ]
        .map(String::from),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = cli.run(&args).await;
    ok(&out);
    let err = text(&out.stderr);
    assert!(err.contains("warning") && err.contains(&issuer), "{err}");
    let shown = ok(&cli.run(&["profile", "show", "prod"]).await);
    assert!(shown.contains("http://[::1]:18765/cb"), "{shown}");
    assert!(shown.contains("openid profile email"), "{shown}");
    assert!(shown.contains("client_secret_post"), "{shown}");
    // The exact issuer: no warning.
    let args = common("exact", issuer.clone());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = cli.run(&args).await;
    ok(&out);
    assert!(!text(&out.stderr).contains("warning"), "{}", text(&out.stderr));

    // Non-loopback redirect URIs are refused; `random` goes back to the default.
    for bad in [
        "http://example.com:80/cb",
        "https://127.0.0.1:8080/cb",
        "http://127.0.0.1/cb",
    ] {
        let out = cli.run(&["profile", "edit", "prod", "--redirect-uri", bad]).await;
        assert_eq!(out.status.code(), Some(1), "{bad}");
        assert!(text(&out.stderr).contains("loopback") || text(&out.stderr).contains("port"));
    }
    ok(&cli
        .run(&[
            "profile",
            "edit",
            "prod",
            "--redirect-uri",
            "random",
            "--client-auth",
            "auto",
        ])
        .await);
    let shown = ok(&cli.run(&["profile", "show", "prod"]).await);
    assert!(
        shown.contains("<random port>") && shown.contains("auto"),
        "{shown}"
    );
    cli.sb.shutdown().await;
}

/// Items 1 and 8: `crpki login` on the sandbox profile listens on the
/// registered redirect URI, says who logged in (corporate name, 法人番号
/// from userinfo), and names a busy redirect port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_names_the_corporation_and_a_busy_port() {
    let cli = Cli::start(|_| {}).await;
    let out = ok(&cli.run(&["login", "--login-hint", "bob"]).await);
    let bob = cli.sb.user("bob").unwrap();
    assert!(out.contains(&bob.corporate_name), "{out}");
    assert!(out.contains(&bob.corporate_number), "{out}");

    let uri = reqwest::Url::parse(cli.sb.cli_redirect_uri()).unwrap();
    let busy = std::net::TcpListener::bind(("127.0.0.1", uri.port().unwrap())).unwrap();
    let out = cli.run(&["login", "--login-hint", "bob"]).await;
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("127.0.0.1:{}", uri.port().unwrap())) && err.contains("in use"),
        "{err}"
    );
    drop(busy);
    cli.sb.shutdown().await;
}
