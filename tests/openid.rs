//! Working with OpenID providers we did not write (issue 11, items 1-8),
//! at the library level, against the sandbox's provider over real HTTPS in
//! the mode each behaviour needs: registered redirect URIs (exact, or any
//! loopback port), refresh tokens refused in the four ways providers do,
//! refused tokens quoted in error text, `client_secret_basic` or
//! `client_secret_post` with a secret that needs encoding. The CLI side is
//! in `tests/openid_cli.rs`.
#![cfg(feature = "sandbox")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod csc_support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use crpki::Error;
use crpki::auth::{
    BrowserLauncher, DEFAULT_LEEWAY, HttpFollowLauncher, LoginOptions, OidcClient, OidcConfig,
    RedirectTarget, TokenCache,
};
use crpki::profile::{ClientAuthMethod, FileTokenStore, TokenStore, Tokens};
use crpki::sandbox::{RedirectUriPolicy, RefreshRefusal, Sandbox};
use crpki::{Secret, auth::AccessTokenSource};
use csc_support::{http, sandbox_with};

fn config(sb: &Sandbox, redirect_uri: Option<String>) -> OidcConfig {
    OidcConfig {
        issuer: sb.oidc_issuer().to_owned(),
        client_id: sb.client_id().to_owned(),
        client_secret: Some(Secret::new(sb.client_secret())),
        client_auth: None,
        redirect_uri,
        scopes: vec!["openid".into(), "profile".into()],
        revocation_endpoint: None,
        leeway: DEFAULT_LEEWAY,
    }
}

fn client(sb: &Sandbox, config: OidcConfig) -> Arc<OidcClient> {
    Arc::new(OidcClient::new(http(sb), config).unwrap())
}

fn follow(sb: &Sandbox) -> HttpFollowLauncher {
    HttpFollowLauncher::new(http(sb))
}

fn options(user: &str) -> LoginOptions {
    LoginOptions {
        login_hint: Some(user.into()),
        timeout: Duration::from_secs(20),
        ..LoginOptions::default()
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn redirect_uris_are_loopback_http_with_a_port() {
    for good in [
        "http://127.0.0.1:8765/cb",
        "http://localhost:8765/a/b",
        "http://[::1]:8765/crpki/callback",
    ] {
        assert_eq!(RedirectTarget::parse(good).unwrap().as_str(), good);
    }
    for bad in [
        "https://127.0.0.1:8765/cb",
        "http://example.com:8765/cb",
        "http://192.0.2.1:8765/cb",
        "http://127.0.0.1/cb",
        "http://127.0.0.1:8765/cb?x=1",
        "http://127.0.0.1:8765/cb#f",
        "http://user:pw@127.0.0.1:8765/cb",
        "not a url",
    ] {
        let e = RedirectTarget::parse(bad).unwrap_err();
        assert!(matches!(e, Error::Config { .. }), "{bad}: {e:?}");
        assert!(e.to_string().contains("127.0.0.1:PORT"), "{e}");
    }
}

/// Item 1: the listener binds exactly the registered address and path,
/// and a provider that matches exactly (the sandbox's default) accepts it.
#[tokio::test]
async fn login_listens_on_exactly_the_registered_redirect_uri() {
    let uris = [
        format!("http://127.0.0.1:{}/my/callback", free_port()),
        format!("http://localhost:{}/cb", free_port()),
        format!("http://[::1]:{}/v6", free_port()),
    ];
    let registered = uris.to_vec();
    let sb = sandbox_with(|c| c.openid.redirect_uris = registered).await;
    for uri in &uris {
        let c = client(&sb, config(&sb, Some(uri.clone())));
        let pending = c.start_login(&options("alice")).await.unwrap();
        assert_eq!(pending.redirect_uri(), uri);
        assert!(
            pending
                .authorization_url()
                .contains(&format!("redirect_uri={}", form_encode(uri)))
        );
        let login = pending.finish(&follow(&sb)).await.unwrap();
        assert_eq!(login.id_token.sub, sb.user("alice").unwrap().subject);
    }
    sb.shutdown().await;
}

fn form_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Item 1: a port in use is a clear error naming it.
#[tokio::test]
async fn a_busy_redirect_port_is_named() {
    let sb = sandbox_with(|_| {}).await;
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let c = client(&sb, config(&sb, Some(format!("http://127.0.0.1:{port}/cb"))));
    let e = c.start_login(&options("alice")).await.unwrap_err();
    assert!(matches!(e, Error::Config { .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains(&format!("127.0.0.1:{port}")) && text.contains("in use"),
        "{text}"
    );
    sb.shutdown().await;
}

/// Item 2: by default only registered redirect URIs, matched exactly; with
/// `AnyLoopbackPort` a registered loopback URI with any port (RFC 8252).
#[tokio::test]
async fn the_provider_registers_redirect_uris_strictly_or_per_rfc_8252() {
    let strict = sandbox_with(|_| {}).await;
    // A random port (the default of a profile without a redirect URI).
    let e = client(&strict, config(&strict, None))
        .login(&follow(&strict), &options("alice"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("HTTP 400"), "{e}");
    // The page says why, as strict providers do.
    let c = client(&strict, config(&strict, None));
    let pending = c.start_login(&options("alice")).await.unwrap();
    let raw = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(strict.tls_ca_pem().as_bytes()).unwrap()])
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = raw.get(pending.authorization_url()).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("invalid_request"));
    // Another path on the registered port is not the registered URI either.
    let other_path = strict.cli_redirect_uri().replace("/crpki/callback", "/other");
    let e = client(&strict, config(&strict, Some(other_path.clone())))
        .login(&follow(&strict), &options("alice"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("HTTP 400"), "{e}");
    strict.shutdown().await;

    let any_port = sandbox_with(|c| c.openid.redirect_policy = RedirectUriPolicy::AnyLoopbackPort).await;
    let login = client(&any_port, config(&any_port, None))
        .login(&follow(&any_port), &options("bob"))
        .await
        .unwrap();
    assert_eq!(login.id_token.sub, any_port.user("bob").unwrap().subject);
    // The port may vary, the path may not.
    let other_path = format!("http://127.0.0.1:{}/other", free_port());
    let e = client(&any_port, config(&any_port, Some(other_path)))
        .login(&follow(&any_port), &options("bob"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("HTTP 400"), "{e}");
    any_port.shutdown().await;
}

/// A token store that shows the old tokens to the first `stale` loads, as
/// a file read just before another process rotated the refresh token.
#[derive(Debug)]
struct StaleFirst {
    inner: FileTokenStore,
    old: Tokens,
    stale: Mutex<u32>,
}

impl TokenStore for StaleFirst {
    fn load(&self, profile: &str) -> crpki::Result<Option<Tokens>> {
        let mut left = self.stale.lock().unwrap();
        if *left > 0 {
            *left -= 1;
            return Ok(Some(self.old.clone()));
        }
        self.inner.load(profile)
    }
    fn save(&self, profile: &str, tokens: &Tokens) -> crpki::Result<()> {
        self.inner.save(profile, tokens)
    }
    fn delete(&self, profile: &str) -> crpki::Result<bool> {
        self.inner.delete(profile)
    }
}

/// Items 3 and 5: a used refresh token refused with `400 invalid_grant`,
/// `400 invalid_token`, `401 invalid_token` or a bare 401 always means
/// "log in again", the token never shows in the message, and a newer
/// token rotated by another process is picked up after any of them.
#[tokio::test]
async fn every_refresh_refusal_means_log_in_again() {
    for mode in [
        RefreshRefusal::InvalidGrant,
        RefreshRefusal::InvalidToken400,
        RefreshRefusal::InvalidToken401,
        RefreshRefusal::Bare401,
    ] {
        let sb = sandbox_with(|c| {
            c.openid.refresh_refusal = mode;
            c.openid.quote_tokens_in_errors = true;
        })
        .await;
        let c = client(&sb, config(&sb, Some(sb.cli_redirect_uri().to_owned())));
        let first = c.login(&follow(&sb), &options("alice")).await.unwrap().tokens;
        let second = c.refresh(&first).await.unwrap();
        let e = c.refresh(&first).await.unwrap_err();
        assert!(e.needs_login(), "{mode:?}: {e:?}");
        let text = e.to_string();
        assert!(text.contains("log in again"), "{mode:?}: {text}");
        let used = first.refresh_token.as_ref().unwrap().expose().to_owned();
        assert!(
            !text.contains(&used),
            "{mode:?}: the refused token was shown: {text}"
        );

        // Another process rotated to `second`; this one still read `first`.
        let dir = tempfile::tempdir().unwrap();
        let file = FileTokenStore::new(dir.path());
        file.save("p", &second).unwrap();
        let mut old = first.clone();
        old.expires_at = Some(UNIX_EPOCH);
        let store = Arc::new(StaleFirst {
            inner: file,
            old,
            stale: Mutex::new(2),
        });
        let cache = TokenCache::new(c.clone(), store, "p").with_min_ttl(Duration::from_secs(1));
        assert_eq!(
            cache.access_token().await.unwrap(),
            second.access_token,
            "{mode:?}"
        );
        sb.shutdown().await;
    }
}

/// Opens the authorization URL like a browser and keeps what the loopback
/// listener answered; `tamper_nonce` swaps the nonce on the way, so that
/// the code is good but the ID token fails its check.
#[derive(Debug)]
struct PageReader {
    http: reqwest::Client,
    tamper_nonce: bool,
    page: Arc<Mutex<Option<(u16, String)>>>,
}

#[async_trait]
impl BrowserLauncher for PageReader {
    async fn open(&self, url: &str) -> crpki::Result<()> {
        let url = if self.tamper_nonce {
            csc_support::with_other_nonce(url)
        } else {
            reqwest::Url::parse(url).unwrap()
        };
        // The sandbox approves at once: one redirect, to the listener.
        let r = self.http.get(url).send().await.unwrap();
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        let (http, page) = (self.http.clone(), self.page.clone());
        tokio::spawn(async move {
            let r = http.get(location).send().await.unwrap();
            let status = r.status().as_u16();
            *page.lock().unwrap() = Some((status, r.text().await.unwrap()));
        });
        Ok(())
    }
}

async fn page_of(reader: &PageReader) -> (u16, String) {
    for _ in 0..200 {
        if let Some(p) = reader.page.lock().unwrap().clone() {
            return p;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the listener never answered the browser");
}

/// Item 6: "login complete" only after the exchange and the ID-token
/// checks; otherwise "login failed" and why.
#[tokio::test]
async fn the_browser_page_tells_the_real_outcome() {
    let sb = sandbox_with(|_| {}).await;
    let c = client(&sb, config(&sb, Some(sb.cli_redirect_uri().to_owned())));
    let raw = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(sb.tls_ca_pem().as_bytes()).unwrap()])
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let reader = |tamper_nonce| PageReader {
        http: raw.clone(),
        tamper_nonce,
        page: Arc::default(),
    };

    let good = reader(false);
    c.login(&good, &options("alice")).await.unwrap();
    let (status, page) = page_of(&good).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Login complete"), "{page}");

    let bad = reader(true);
    let e = c.login(&bad, &options("alice")).await.unwrap_err();
    assert!(e.to_string().contains("nonce"), "{e}");
    let (status, page) = page_of(&bad).await;
    assert_eq!(status, 400, "{page}");
    assert!(
        page.contains("Login failed") && !page.contains("Login complete"),
        "{page}"
    );
    assert!(page.contains("nonce does not match"), "the page says why: {page}");
    sb.shutdown().await;
}

/// Item 7: both client authentications, chosen from discovery when the
/// profile says nothing, with a secret holding `+ / = : %` (and a space),
/// which the sandbox decodes as RFC 6749 §2.3.1 says.
#[tokio::test]
async fn client_secret_basic_and_post_with_a_secret_that_needs_encoding() {
    use ClientAuthMethod::{ClientSecretBasic as Basic, ClientSecretPost as Post};
    const SECRET: &str = "a+b/c=d:e%25f g";
    let cases: [(&[ClientAuthMethod], Option<ClientAuthMethod>, ClientAuthMethod); 4] = [
        (&[Basic], None, Basic),
        (&[Post], None, Post),
        (&[Basic, Post], None, Basic),
        (&[Basic, Post], Some(Post), Post),
    ];
    for (offered, configured, used) in cases {
        let sb = sandbox_with(|c| {
            c.openid.client_secret = Some(Secret::new(SECRET));
            c.openid.token_endpoint_auth_methods = offered.to_vec();
        })
        .await;
        assert_eq!(sb.client_secret(), SECRET);
        let mut cfg = config(&sb, Some(sb.cli_redirect_uri().to_owned()));
        cfg.client_auth = configured;
        let c = client(&sb, cfg);
        let login = c.login(&follow(&sb), &options("alice")).await.unwrap();
        assert_eq!(c.client_auth().await.unwrap(), Some(used));
        c.refresh(&login.tokens).await.unwrap();
        sb.shutdown().await;
    }

    // A method the provider does not offer is refused before any request.
    let sb = sandbox_with(|c| c.openid.client_secret = Some(Secret::new(SECRET))).await;
    let mut cfg = config(&sb, Some(sb.cli_redirect_uri().to_owned()));
    cfg.client_auth = Some(Post);
    let e = client(&sb, cfg)
        .login(&follow(&sb), &options("alice"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("client_secret_post"), "{e}");

    // The sandbox decodes as the RFC says: the form-encoded secret
    // authenticates (the refresh token is then refused), the raw one does not.
    let raw = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(sb.tls_ca_pem().as_bytes()).unwrap()])
        .build()
        .unwrap();
    let token = format!("{}token", sb.oidc_issuer());
    for (secret, status) in [(form_encode(SECRET), 400), (SECRET.to_owned(), 401)] {
        let r = raw
            .post(&token)
            .basic_auth(sb.client_id(), Some(secret))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", "unknown")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status);
    }
    sb.shutdown().await;
}

/// Item 8: an issuer missing the trailing slash its discovery names gets
/// a hint.
#[tokio::test]
async fn an_issuer_without_its_trailing_slash_gets_a_hint() {
    let sb = sandbox_with(|_| {}).await;
    let mut cfg = config(&sb, None);
    cfg.issuer = sb.oidc_issuer().trim_end_matches('/').to_owned();
    assert_eq!(
        client(&sb, cfg).issuer_spelling_hint().await.unwrap().as_deref(),
        Some(sb.oidc_issuer())
    );
    assert_eq!(
        client(&sb, config(&sb, None))
            .issuer_spelling_hint()
            .await
            .unwrap(),
        None
    );
    sb.shutdown().await;
}
