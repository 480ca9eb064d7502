//! A real browser drives the sandbox's login and consent page: Debian's
//! headless Chromium through chromedriver (WebDriver over HTTP with
//! reqwest), approving a request, and the authorization code arriving at a
//! loopback redirect listener in the test; and crpki's own login, whose
//! loopback page the browser shows.
//!
//! Needs `chromium` and `chromium-driver` (`apt-get install -y chromium
//! chromium-driver`); the test fails, with that message, when they are missing.
#![cfg(feature = "sandbox")]
#![allow(clippy::unwrap_used)]

mod csc_support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use crpki::sandbox::{Sandbox, SandboxConfig};
use serde_json::{Value, json};
use sha2::Digest as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn find_binary(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(|p| p.to_string())
}

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn wd(http: &reqwest::Client, method: reqwest::Method, url: String, body: Option<Value>) -> Value {
    let mut rb = http.request(method, &url);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.unwrap_or_else(|e| panic!("WebDriver {url}: {e}"));
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert!(status.is_success(), "WebDriver {url}: {status} {v}");
    v["value"].clone()
}

/// chromedriver and a headless Chromium session, ended on drop.
struct Chromium {
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT/session/ID`.
    session: String,
    _driver: Driver,
    _profile: tempfile::TempDir,
}

impl Chromium {
    async fn start() -> Self {
        let driver_bin = find_binary(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]);
        let chrome_bin = find_binary(&["/usr/bin/chromium", "/usr/lib/chromium/chromium"]);
        let (Some(driver_bin), Some(chrome_bin)) = (driver_bin, chrome_bin) else {
            panic!(
                "chromium and chromedriver are required for this test: install them with \
             `apt-get update && apt-get install -y chromium chromium-driver`"
            );
        };

        // chromedriver on a free port.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {driver_bin}: {e}"));
        let driver = Driver(child);
        let wd_url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let mut ready = false;
        for _ in 0..100 {
            if let Ok(r) = http.get(format!("{wd_url}/status")).send().await
                && r.json::<Value>()
                    .await
                    .map(|v| v["value"]["ready"] == true)
                    .unwrap_or(false)
            {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(ready, "chromedriver did not become ready");

        let profile = tempfile::tempdir().unwrap();
        let session = wd(
            &http,
            reqwest::Method::POST,
            format!("{wd_url}/session"),
            Some(json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "acceptInsecureCerts": true,
                "goog:chromeOptions": {
                    "binary": chrome_bin,
                    "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        "--no-first-run", format!("--user-data-dir={}", profile.path().display())]
                }
            }}})),
        )
        .await;
        let sid = session["sessionId"].as_str().unwrap().to_string();
        let s = format!("{wd_url}/session/{sid}");

        Chromium {
            http,
            session: s,
            _driver: driver,
            _profile: profile,
        }
    }
}

#[tokio::test]
async fn headless_chromium_approves_and_code_reaches_loopback_redirect() {
    let state = tempfile::tempdir().unwrap();
    let sb = Sandbox::start(SandboxConfig {
        state_dir: Some(state.path().to_path_buf()),
        auto_approve: false,
        ..Default::default()
    })
    .await
    .unwrap();

    // The client's loopback redirect listener (RFC 8252).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let redirect = format!(
        "http://127.0.0.1:{}/callback",
        listener.local_addr().unwrap().port()
    );
    // Registered, as a GビズID client registers its redirect URI.
    sb.register_redirect_uri(redirect.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<String>();
    tokio::spawn(async move {
        let mut tx = Some(tx);
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let mut buf = vec![0u8; 8192];
            let n = sock.read(&mut buf).await.unwrap_or(0);
            let req = String::from_utf8_lossy(&buf[..n]).to_string();
            let target = req.split_whitespace().nth(1).unwrap_or_default().to_string();
            let _ = sock
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
                .await;
            if target.starts_with("/callback")
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(target);
            }
        }
    });

    let chromium = Chromium::start().await;
    let (http, s) = (chromium.http.clone(), chromium.session.clone());

    let verifier = "browser-test-verifier-0123456789-0123456789-abcdef";
    let challenge =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    let mut url = reqwest::Url::parse(&format!("{}authorize", sb.oidc_issuer())).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", sb.client_id())
        .append_pair("redirect_uri", &redirect)
        .append_pair("scope", "openid profile")
        .append_pair("state", "browser-state-42")
        .append_pair("nonce", "browser-nonce")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    wd(
        &http,
        reqwest::Method::POST,
        format!("{s}/url"),
        Some(json!({"url": url.as_str()})),
    )
    .await;
    let title = wd(&http, reqwest::Method::GET, format!("{s}/title"), None).await;
    assert!(
        title.as_str().unwrap().contains("Sandbox login and consent"),
        "{title}"
    );

    let find = |css: &'static str| {
        let http = http.clone();
        let s = s.clone();
        async move {
            let v = wd(
                &http,
                reqwest::Method::POST,
                format!("{s}/element"),
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
            v[ELEMENT]
                .as_str()
                .unwrap_or_else(|| panic!("no element {css}: {v}"))
                .to_string()
        }
    };
    let pw = find("#password").await;
    wd(
        &http,
        reqwest::Method::POST,
        format!("{s}/element/{pw}/value"),
        Some(json!({"text": "alice-password"})),
    )
    .await;
    let approve = find("#approve").await;
    wd(
        &http,
        reqwest::Method::POST,
        format!("{s}/element/{approve}/click"),
        Some(json!({})),
    )
    .await;

    let target = tokio::time::timeout(Duration::from_secs(30), rx)
        .await
        .expect("the authorization code did not reach the loopback redirect")
        .unwrap();
    let params: std::collections::HashMap<String, String> =
        reqwest::Url::parse(&format!("http://127.0.0.1{target}"))
            .unwrap()
            .query_pairs()
            .into_owned()
            .collect();
    assert_eq!(params.get("state").map(String::as_str), Some("browser-state-42"));
    let code = params.get("code").expect("code in the redirect").clone();
    let _ = http.delete(&s).send().await;

    // The code is good: exchange it.
    let ca = reqwest::Certificate::from_pem(sb.tls_ca_pem().as_bytes()).unwrap();
    let client = reqwest::Client::builder().tls_certs_only([ca]).build().unwrap();
    let r = client
        .post(format!("{}token", sb.oidc_issuer()))
        .basic_auth(sb.client_id(), Some(sb.client_secret()))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let tok: Value = r.json().await.unwrap();
    assert!(tok["id_token"].as_str().is_some());
    sb.shutdown().await;
}

/// Hands the authorization URL to the headless browser (optionally with
/// another nonce, so that the code is good but the ID token fails).
#[derive(Debug)]
struct ChromiumLauncher {
    http: reqwest::Client,
    session: String,
    tamper_nonce: bool,
}

#[async_trait::async_trait]
impl crpki::auth::BrowserLauncher for ChromiumLauncher {
    async fn open(&self, url: &str) -> crpki::Result<()> {
        let url = if self.tamper_nonce {
            csc_support::with_other_nonce(url)
        } else {
            reqwest::Url::parse(url).unwrap()
        };
        // Returns once the page loaded, i.e. after the login ended; the
        // login does not wait for it.
        let (http, session) = (self.http.clone(), self.session.clone());
        tokio::spawn(async move {
            let _ = http
                .post(format!("{session}/url"))
                .json(&json!({"url": url.as_str()}))
                .send()
                .await;
        });
        Ok(())
    }
}

/// Issue 11 item 6 in a real browser: our login's loopback page says
/// "Login complete" only after the code exchange and the ID-token checks,
/// and "Login failed" with the reason otherwise.
#[tokio::test]
async fn chromium_shows_login_complete_only_when_it_is() {
    use crpki::auth::{LoginOptions, OidcClient, OidcConfig, TransportConfig, http_client};
    let state = tempfile::tempdir().unwrap();
    let sb = Sandbox::start(SandboxConfig {
        state_dir: Some(state.path().to_path_buf()),
        ..Default::default()
    })
    .await
    .unwrap();
    let http = http_client(&TransportConfig {
        extra_ca_pem: vec![sb.tls_ca_pem().as_bytes().to_vec()],
        trust_system_roots: false,
        ..TransportConfig::default()
    })
    .unwrap();
    let client = OidcClient::new(
        http,
        OidcConfig {
            issuer: sb.oidc_issuer().into(),
            client_id: sb.client_id().into(),
            client_secret: Some(crpki::Secret::new(sb.client_secret())),
            client_auth: None,
            redirect_uri: Some(sb.cli_redirect_uri().into()),
            scopes: vec!["openid".into()],
            revocation_endpoint: None,
            leeway: crpki::auth::DEFAULT_LEEWAY,
        },
    )
    .unwrap();
    let chromium = Chromium::start().await;
    let options = LoginOptions {
        timeout: Duration::from_secs(30),
        ..LoginOptions::default()
    };
    for tamper_nonce in [false, true] {
        // No page of the previous login left to read.
        wd(
            &chromium.http,
            reqwest::Method::POST,
            format!("{}/url", chromium.session),
            Some(json!({"url": "about:blank"})),
        )
        .await;
        let launcher = ChromiumLauncher {
            http: chromium.http.clone(),
            session: chromium.session.clone(),
            tamper_nonce,
        };
        let outcome = client.login(&launcher, &options).await;
        assert_eq!(
            outcome.is_err(),
            tamper_nonce,
            "{:?}",
            outcome.map(|l| l.id_token.sub)
        );
        let mut text = String::new();
        for _ in 0..100 {
            let source = wd(
                &chromium.http,
                reqwest::Method::GET,
                format!("{}/source", chromium.session),
                None,
            )
            .await;
            text = source.as_str().unwrap_or_default().to_owned();
            if text.contains("Login complete") || text.contains("Login failed") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if tamper_nonce {
            assert!(text.contains("Login failed") && text.contains("nonce"), "{text}");
            assert!(!text.contains("Login complete"), "{text}");
        } else {
            assert!(text.contains("Login complete"), "{text}");
        }
    }
    let _ = chromium.http.delete(&chromium.session).send().await;
    sb.shutdown().await;
}
