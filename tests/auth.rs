//! GビズID login against the in-process sandbox over real HTTPS, and ID-token
//! refusals against a mock provider (mockito) serving tokens the sandbox
//! cannot produce.
#![cfg(feature = "sandbox")]
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use base64::Engine as _;
use crpki::auth::{
    AccessTokenSource, Authenticator, BrowserLauncher, HttpFollowLauncher, LoginOptions, OidcClient,
    OidcConfig, ProxyConfig, Revocation, TransportConfig, http_client,
};
use crpki::profile::{FileTokenStore, Profile, ProfileStore, SANDBOX_PROFILE, SandboxEndpoints, TokenStore};
use crpki::sandbox::{Sandbox, SandboxConfig};
use crpki::{Error, PrivateKey, Secret};
use serde_json::json;

/// One sandbox state per test binary: its RSA keys are generated once.
fn state_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        crpki::sandbox::init_state(&dir).unwrap();
        dir
    })
    .clone()
}

struct Env {
    sb: Sandbox,
    profile: Profile,
    tokens: Arc<FileTokenStore>,
    auth: Authenticator,
    _dir: tempfile::TempDir,
}

/// A sandbox, and the built-in sandbox profile pointed at it the way
/// `crpki sandbox serve` does: through `endpoints.toml` in a state directory.
async fn start_with(f: impl FnOnce(&mut SandboxConfig)) -> Env {
    let mut cfg = SandboxConfig {
        state_dir: Some(state_dir()),
        ..Default::default()
    };
    f(&mut cfg);
    let sb = Sandbox::start(cfg).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = ProfileStore::open(dir.path().join("config"));
    let handover = dir.path().join("sandbox-state");
    SandboxEndpoints::of(&sb).write(&handover).unwrap();
    store
        .edit(SANDBOX_PROFILE, |p| {
            p.sandbox_state = Some(handover.clone());
            Ok(())
        })
        .unwrap();
    let profile = store.resolve(SANDBOX_PROFILE).unwrap();
    assert_eq!(profile.oidc.issuer, sb.oidc_issuer());
    let tokens = Arc::new(store.token_store());
    let auth = Authenticator::for_profile(&profile, tokens.clone()).unwrap();
    Env {
        sb,
        profile,
        tokens,
        auth,
        _dir: dir,
    }
}

async fn start() -> Env {
    start_with(|_| {}).await
}

impl Env {
    fn follow(&self) -> HttpFollowLauncher {
        HttpFollowLauncher::new(http_client(&TransportConfig::from_profile(&self.profile).unwrap()).unwrap())
    }

    fn options(&self, user: &str) -> LoginOptions {
        LoginOptions {
            login_hint: Some(user.into()),
            timeout: Duration::from_secs(30),
            ..LoginOptions::default()
        }
    }

    /// A reqwest client trusting the sandbox, for launchers written here.
    fn raw_http(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(self.sb.tls_ca_pem().as_bytes()).unwrap()])
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[tokio::test]
async fn full_login_stores_owner_only_tokens_and_verifies_the_id_token() {
    let env = start().await;
    let bob = env.sb.user("bob").unwrap().clone();
    let login = env.auth.login(&env.follow(), &env.options("bob")).await.unwrap();

    assert_eq!(login.id_token.sub, bob.subject);
    assert_eq!(login.id_token.iss, env.sb.oidc_issuer());
    assert_eq!(login.id_token.aud, vec![env.sb.client_id().to_owned()]);
    assert!(login.id_token.nonce.is_some());
    assert!(login.tokens.refresh_token.is_some());
    assert!(login.tokens.expires_at.is_some());
    let debug = format!("{:?}", login.tokens);
    assert!(!debug.contains(login.tokens.access_token.expose()), "{debug}");

    let stored = env.tokens.load(SANDBOX_PROFILE).unwrap().unwrap();
    assert_eq!(stored, login.tokens);
    assert_eq!(stored.subject.as_deref(), Some(bob.subject.as_str()));
    #[cfg(unix)]
    assert_eq!(mode(&env.tokens.path(SANDBOX_PROFILE).unwrap()), 0o600);

    // The access token works at userinfo; the account is bob's corporation.
    let cache = env.auth.token_cache();
    let info = env.auth.userinfo(&cache).await.unwrap();
    assert_eq!(info.sub, bob.subject);
    assert_eq!(
        info.corporate_number.as_deref(),
        Some(bob.corporate_number.as_str())
    );
    assert_eq!(info.account_type, Some(crpki::auth::AccountType::Prime));
    let bob_cert = &bob.credentials[0].certificate;
    info.check_certificate(bob_cert).unwrap();
    let alice_cert = &env.sb.user("alice").unwrap().credentials[0].certificate;
    match info.check_certificate(alice_cert) {
        Err(Error::Unauthenticated { detail, .. }) => {
            assert!(detail.contains(&bob.corporate_number), "{detail}")
        }
        other => panic!("{other:?}"),
    }
}

/// Plays the browser, but hands the listener a redirect with another state.
#[derive(Debug)]
struct ForgedStateLauncher(reqwest::Client);

#[async_trait]
impl BrowserLauncher for ForgedStateLauncher {
    async fn open(&self, url: &str) -> crpki::Result<()> {
        let r = self.0.get(url).send().await.unwrap();
        assert!(r.status().is_redirection(), "{}", r.status());
        let mut target = reqwest::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
        let pairs: Vec<(String, String)> = target
            .query_pairs()
            .map(|(k, v)| {
                let v = if k == "state" {
                    "forged".into()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        target.query_pairs_mut().clear().extend_pairs(pairs);
        let page = self.0.get(target).send().await.unwrap();
        assert_eq!(page.status(), 400);
        Ok(())
    }
}

#[tokio::test]
async fn a_redirect_with_a_foreign_state_is_refused() {
    let env = start().await;
    let r = env
        .auth
        .login(&ForgedStateLauncher(env.raw_http()), &env.options("alice"))
        .await;
    match r {
        Err(Error::Unauthenticated { detail, .. }) => assert!(detail.contains("state"), "{detail}"),
        other => panic!("{other:?}"),
    }
    assert!(env.tokens.load(SANDBOX_PROFILE).unwrap().is_none());
}

/// Presses "deny" on the sandbox's login page, then follows the redirect.
#[derive(Debug)]
struct DenyingLauncher(reqwest::Client, String);

#[async_trait]
impl BrowserLauncher for DenyingLauncher {
    async fn open(&self, url: &str) -> crpki::Result<()> {
        let page = self.0.get(url).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        let attr = |name: &str| {
            let start = html.find(name).unwrap() + name.len();
            html[start..].split('"').next().unwrap().to_owned()
        };
        let action = attr("action=\"");
        let request_id = attr("name=\"request_id\" value=\"");
        let r = self
            .0
            .post(format!("{}{action}", self.1))
            .form(&[("request_id", request_id.as_str()), ("decision", "deny")])
            .send()
            .await
            .unwrap();
        assert!(r.status().is_redirection(), "{}", r.status());
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.contains("error=access_denied"), "{location}");
        self.0.get(location).send().await.unwrap();
        Ok(())
    }
}

#[tokio::test]
async fn denying_at_the_provider_cancels_the_login() {
    let env = start_with(|c| c.auto_approve = false).await;
    // Without auto-approve the following launcher reports that a human is needed.
    match env.auth.login(&env.follow(), &env.options("alice")).await {
        Err(Error::InteractionRequired { .. }) => {}
        other => panic!("{other:?}"),
    }
    let launcher = DenyingLauncher(env.raw_http(), env.sb.base_url().to_owned());
    match env.auth.login(&launcher, &env.options("alice")).await {
        Err(Error::Cancelled { detail }) => assert!(detail.contains("denied"), "{detail}"),
        other => panic!("{other:?}"),
    }
    assert!(env.tokens.load(SANDBOX_PROFILE).unwrap().is_none());
}

/// A browser that never comes back.
#[derive(Debug)]
struct SilentLauncher;

#[async_trait]
impl BrowserLauncher for SilentLauncher {
    async fn open(&self, _url: &str) -> crpki::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn login_times_out() {
    let env = start().await;
    let options = LoginOptions {
        timeout: Duration::from_millis(500),
        ..LoginOptions::default()
    };
    let pending = env.auth.client().start_login(&options).await.unwrap();
    let url = reqwest::Url::parse(pending.authorization_url()).unwrap();
    let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["redirect_uri"], pending.redirect_uri());
    assert!(q["redirect_uri"].starts_with("http://127.0.0.1:"));
    assert!(q["scope"].starts_with("openid") && q["scope"].contains("offline_access"));
    assert!(q["state"].len() >= 43 && q["nonce"].len() >= 43 && q["state"] != q["nonce"]);
    match env.auth.finish_login(pending, &SilentLauncher).await {
        Err(Error::Cancelled { detail }) => assert!(detail.contains("timed out"), "{detail}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn refresh_rotates_and_the_old_refresh_token_dies() {
    let env = start().await;
    let first = env
        .auth
        .login(&env.follow(), &env.options("alice"))
        .await
        .unwrap()
        .tokens;
    let client = env.auth.client();
    let second = client.refresh(&first).await.unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_ne!(second.access_token, first.access_token);
    assert_eq!(second.subject, first.subject);
    match client.refresh(&first).await {
        Err(e @ Error::Unauthenticated { .. }) => {
            assert!(e.needs_login());
            assert!(e.to_string().contains("log in again"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    let third = client.refresh(&second).await.unwrap();
    assert_ne!(third.refresh_token, second.refresh_token);
}

#[tokio::test]
async fn revoked_refresh_token_means_log_in_again() {
    let env = start().await;
    let tokens = env
        .auth
        .login(&env.follow(), &env.options("alice"))
        .await
        .unwrap()
        .tokens;
    let client = env.auth.client();
    assert!(matches!(
        client.revoke(&tokens).await.unwrap(),
        Revocation::Revoked
    ));
    match client.refresh(&tokens).await {
        Err(Error::Unauthenticated { detail, .. }) => assert!(detail.contains("refresh token"), "{detail}"),
        other => panic!("{other:?}"),
    }
    // The cache, finding the access token expired, says the same.
    let mut expired = tokens.clone();
    expired.expires_at = Some(SystemTime::now() - Duration::from_secs(1));
    env.tokens.save(SANDBOX_PROFILE, &expired).unwrap();
    let err = env.auth.token_cache().access_token().await.unwrap_err();
    assert!(err.needs_login(), "{err:?}");
}

#[tokio::test]
async fn logout_revokes_and_deletes_the_token_file() {
    let env = start().await;
    let tokens = env
        .auth
        .login(&env.follow(), &env.options("alice"))
        .await
        .unwrap()
        .tokens;
    let out = env.auth.logout().await.unwrap();
    assert!(matches!(out.revocation, Revocation::Revoked), "{out:?}");
    assert!(out.local_tokens_deleted);
    assert!(!env.tokens.path(SANDBOX_PROFILE).unwrap().exists());
    assert!(
        env.auth
            .client()
            .refresh(&tokens)
            .await
            .unwrap_err()
            .needs_login()
    );
    // Logging out again has nothing to do.
    let again = env.auth.logout().await.unwrap();
    assert!(matches!(again.revocation, Revocation::NothingToRevoke));
    assert!(!again.local_tokens_deleted);
    assert!(
        env.auth
            .token_cache()
            .access_token()
            .await
            .unwrap_err()
            .needs_login()
    );
}

#[tokio::test]
async fn expiring_access_token_is_refreshed_by_the_cache() {
    // Tokens live 20 s, less than the cache's default minimum TTL of 60 s.
    let env = start_with(|c| c.access_token_ttl = Duration::from_secs(20)).await;
    let login = env
        .auth
        .login(&env.follow(), &env.options("carol"))
        .await
        .unwrap()
        .tokens;
    let cache = env.auth.token_cache();
    let refreshed = cache.access_token().await.unwrap();
    assert_ne!(refreshed, login.access_token);
    let stored = env.tokens.load(SANDBOX_PROFILE).unwrap().unwrap();
    assert_eq!(stored.access_token, refreshed);
    assert_ne!(
        stored.refresh_token, login.refresh_token,
        "the rotated refresh token is stored"
    );
    assert!(env.auth.client().refresh(&login).await.unwrap_err().needs_login());

    // A cache content with 20 s hands out the stored token without refreshing.
    let relaxed = env.auth.token_cache().with_min_ttl(Duration::from_secs(1));
    assert_eq!(relaxed.access_token().await.unwrap(), refreshed);
    assert_eq!(relaxed.access_token().await.unwrap(), refreshed);
    let info = env.auth.userinfo(&relaxed).await.unwrap();
    assert_eq!(info.sub, env.sb.user("carol").unwrap().subject);

    // The service rejected it: a new one, stored.
    let renewed = relaxed.refresh_after_rejection(&refreshed).await.unwrap();
    assert_ne!(renewed, refreshed);
    assert_eq!(
        env.tokens.load(SANDBOX_PROFILE).unwrap().unwrap().access_token,
        renewed
    );
}

#[tokio::test]
async fn two_processes_sharing_the_token_file_keep_the_rotation_intact() {
    let env = start_with(|c| c.access_token_ttl = Duration::from_secs(20)).await;
    env.auth
        .login(&env.follow(), &env.options("alice"))
        .await
        .unwrap();
    // Two caches over the same file, as in two processes; every use refreshes
    // (lifetime 20 s < minimum TTL 60 s).
    let a = env.auth.token_cache();
    let b = env.auth.token_cache();
    let from_b = b.access_token().await.unwrap();
    let from_a = a.access_token().await.unwrap();
    assert_ne!(from_a, from_b);
    // b still holds the tokens whose refresh token a has used up: it must
    // take a's from the file instead of failing.
    let again_b = b.access_token().await.unwrap();
    assert_ne!(again_b, from_a);
    assert_eq!(
        env.tokens.load(SANDBOX_PROFILE).unwrap().unwrap().access_token,
        again_b
    );
}

#[tokio::test]
async fn tokens_of_another_issuer_are_not_used() {
    let env = start().await;
    let mut tokens = env
        .auth
        .login(&env.follow(), &env.options("alice"))
        .await
        .unwrap()
        .tokens;
    tokens.issuer = "https://gbiz-id.go.jp/oauth/".into();
    env.tokens.save(SANDBOX_PROFILE, &tokens).unwrap();
    match env.auth.token_cache().access_token().await {
        Err(Error::Unauthenticated { detail, .. }) => assert!(detail.contains("gbiz-id.go.jp"), "{detail}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn plain_http_issuer_is_refused_except_on_loopback() {
    let http = http_client(&TransportConfig::default()).unwrap();
    let config = |issuer: &str| OidcConfig {
        issuer: issuer.into(),
        client_id: "c".into(),
        client_secret: None,
        client_auth: None,
        redirect_uri: None,
        scopes: vec![],
        revocation_endpoint: None,
        leeway: crpki::auth::DEFAULT_LEEWAY,
    };
    match OidcClient::new(http.clone(), config("http://gbiz-id.go.jp/oauth/")) {
        Err(Error::Config { detail }) => assert!(detail.contains("http://gbiz-id.go.jp/oauth/"), "{detail}"),
        other => panic!("{other:?}"),
    }
    OidcClient::new(http.clone(), config("http://127.0.0.1:9/oauth/")).unwrap();
    let profile = Profile::new(
        "p",
        "http://gbiz-id.go.jp/oauth/",
        "c",
        "https://rssp.example/csc/v2/",
    );
    let store: Arc<dyn TokenStore> = Arc::new(FileTokenStore::new(std::env::temp_dir()));
    assert!(matches!(
        Authenticator::for_profile(&profile, store),
        Err(Error::Config { .. })
    ));
}

#[tokio::test]
async fn untrusted_tls_is_a_clear_tls_error() {
    let env = start().await;
    // The system roots only: the sandbox's CA is not among them.
    let http = http_client(&TransportConfig::default()).unwrap();
    let client = OidcClient::new(http, OidcConfig::from_profile(&env.profile).unwrap()).unwrap();
    match client.metadata().await {
        Err(Error::Config { detail }) => {
            assert!(detail.starts_with("TLS"), "{detail}");
            assert!(detail.contains("not trusted"), "{detail}");
            assert!(detail.contains(env.sb.base_url()), "{detail}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_refusing_proxy_is_named() {
    let env = start().await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut transport = TransportConfig::from_profile(&env.profile).unwrap();
    transport.proxy = Some(ProxyConfig {
        url: format!("http://127.0.0.1:{closed}"),
        user: Some("proxy-user".into()),
        password: Some(Secret::new("proxy-password")),
        no_proxy: vec![],
    });
    // A provider that is not on loopback is reached through the proxy
    // (the name is never resolved here: the proxy would).
    let mut remote = OidcConfig::from_profile(&env.profile).unwrap();
    remote.issuer = "https://crpki-test.invalid/oauth/".into();
    let client = OidcClient::new(http_client(&transport).unwrap(), remote).unwrap();
    match client.metadata().await {
        Err(e @ Error::ServiceUnavailable { .. }) => {
            let text = e.to_string();
            assert!(
                text.contains(&format!("proxy http://127.0.0.1:{closed}")),
                "{text}"
            );
            assert!(!text.contains("proxy-password"), "{text}");
            assert!(e.is_retryable());
        }
        other => panic!("{other:?}"),
    }
    // The sandbox, on loopback, is reached directly: with no no-proxy
    // entry and with one naming another host.
    for no_proxy in [
        vec![],
        vec!["intra.example".to_owned()],
        vec!["127.0.0.1".to_owned()],
    ] {
        transport.proxy.as_mut().unwrap().no_proxy = no_proxy;
        let client = OidcClient::new(
            http_client(&transport).unwrap(),
            OidcConfig::from_profile(&env.profile).unwrap(),
        )
        .unwrap();
        assert_eq!(client.metadata().await.unwrap().issuer, env.sb.oidc_issuer());
    }
}

// ---- ID tokens the sandbox cannot produce, from a mock provider ----

struct Keys {
    good: jsonwebtoken::EncodingKey,
    other: jsonwebtoken::EncodingKey,
    jwks: serde_json::Value,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let encoding = |k: &PrivateKey| {
            let der = k.to_pkcs8_der().unwrap();
            let b64 = base64::engine::general_purpose::STANDARD.encode(der);
            let pem = format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n");
            jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap()
        };
        let good = PrivateKey::generate_rsa(2048).unwrap();
        let other = PrivateKey::generate_rsa(2048).unwrap();
        let (n, e) = good.public_key().rsa_components().unwrap();
        let b64u = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        Keys {
            good: encoding(&good),
            other: encoding(&other),
            jwks: json!({"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": "k1",
                "n": b64u(&n), "e": b64u(&e)}]}),
        }
    })
}

const CLIENT: &str = "mock-client";

struct Mock {
    server: mockito::ServerGuard,
    issuer: String,
    client: OidcClient,
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn claims(issuer: &str, nonce: &str) -> serde_json::Value {
    json!({"iss": issuer, "sub": "user-1", "aud": CLIENT, "exp": now() + 600, "iat": now(),
        "auth_time": now(), "nonce": nonce, "jti": "j1"})
}

fn sign(claims: &serde_json::Value, key: &jsonwebtoken::EncodingKey) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some("k1".into());
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

/// A plain-HTTP mock provider on loopback (allowed: loopback) with
/// discovery and JWKS.
async fn mock_provider() -> Mock {
    mock_provider_with(|_| {}, keys().jwks.clone()).await
}

/// [`mock_provider`] with its discovery document changed by `discovery`
/// and serving `jwks`.
async fn mock_provider_with(discovery: impl FnOnce(&mut serde_json::Value), jwks: serde_json::Value) -> Mock {
    let mut server = mockito::Server::new_async().await;
    let issuer = format!("{}/oauth/", server.url());
    let mut document = json!({"issuer": issuer, "authorization_endpoint": format!("{issuer}authorize"),
        "token_endpoint": format!("{issuer}token"), "jwks_uri": format!("{issuer}jwks"),
        "userinfo_endpoint": format!("{issuer}userinfo"),
        "code_challenge_methods_supported": ["S256"],
        "id_token_signing_alg_values_supported": ["RS256"]});
    discovery(&mut document);
    server
        .mock("GET", "/oauth/.well-known/openid-configuration")
        .with_header("content-type", "application/json")
        .with_body(document.to_string())
        .create_async()
        .await;
    server
        .mock("GET", "/oauth/jwks")
        .with_header("content-type", "application/json")
        .with_body(jwks.to_string())
        .create_async()
        .await;
    let client = OidcClient::new(
        http_client(&TransportConfig::default()).unwrap(),
        OidcConfig {
            issuer: issuer.clone(),
            client_id: CLIENT.into(),
            client_secret: Some(Secret::new("mock-secret")),
            client_auth: None,
            redirect_uri: None,
            scopes: vec!["openid".into(), "profile".into()],
            revocation_endpoint: None,
            leeway: Duration::from_secs(30),
        },
    )
    .unwrap();
    Mock {
        server,
        issuer,
        client,
    }
}

fn expect_refusal(r: crpki::Result<crpki::auth::IdTokenClaims>, words: &str) {
    match r {
        Err(Error::Unauthenticated { detail, .. }) => {
            assert!(detail.contains(words), "{words:?} not in {detail}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn id_token_checks() {
    let m = mock_provider().await;
    let k = keys();
    let good = sign(&claims(&m.issuer, "n1"), &k.good);
    let c = m.client.verify_id_token(&good, Some("n1")).await.unwrap();
    assert_eq!(c.sub, "user-1");

    expect_refusal(m.client.verify_id_token(&good, Some("n2")).await, "nonce");
    expect_refusal(
        m.client
            .verify_id_token(&sign(&claims(&m.issuer, "n1"), &k.other), Some("n1"))
            .await,
        "signature",
    );
    expect_refusal(
        m.client
            .verify_id_token(
                &sign(&claims("https://evil.example/oauth/", "n1"), &k.good),
                Some("n1"),
            )
            .await,
        "issuer",
    );
    // The issuer must match exactly: no trailing slash is another issuer.
    expect_refusal(
        m.client
            .verify_id_token(
                &sign(&claims(m.issuer.trim_end_matches('/'), "n1"), &k.good),
                Some("n1"),
            )
            .await,
        "issuer",
    );
    let mut c = claims(&m.issuer, "n1");
    c["aud"] = json!("another-client");
    expect_refusal(
        m.client.verify_id_token(&sign(&c, &k.good), Some("n1")).await,
        "audience",
    );
    let mut c = claims(&m.issuer, "n1");
    c["exp"] = json!(now() - 3600);
    expect_refusal(
        m.client.verify_id_token(&sign(&c, &k.good), Some("n1")).await,
        "expired",
    );
    let mut c = claims(&m.issuer, "n1");
    c["iat"] = json!(now() + 3600);
    expect_refusal(
        m.client.verify_id_token(&sign(&c, &k.good), Some("n1")).await,
        "future",
    );
    let mut c = claims(&m.issuer, "n1");
    c.as_object_mut().unwrap().remove("nonce");
    expect_refusal(
        m.client.verify_id_token(&sign(&c, &k.good), Some("n1")).await,
        "nonce",
    );
    // HS256 "signed" with the public modulus as a secret: refused on the algorithm.
    let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    h.kid = Some("k1".into());
    let hs = jsonwebtoken::encode(
        &h,
        &claims(&m.issuer, "n1"),
        &jsonwebtoken::EncodingKey::from_secret(b"k"),
    )
    .unwrap();
    expect_refusal(m.client.verify_id_token(&hs, Some("n1")).await, "RS256");
    // A kid the JWKS does not have (even after re-fetching it).
    let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    h.kid = Some("k9".into());
    let unknown = jsonwebtoken::encode(&h, &claims(&m.issuer, "n1"), &k.good).unwrap();
    expect_refusal(m.client.verify_id_token(&unknown, Some("n1")).await, "k9");
    expect_refusal(m.client.verify_id_token("not.a.jwt", Some("n1")).await, "JWT");
}

#[tokio::test]
async fn id_token_audience_azp_and_iat_checks() {
    let m = mock_provider().await;
    let k = keys();
    let verify = |c: serde_json::Value| {
        let token = sign(&c, &k.good);
        let client = &m.client;
        async move { client.verify_id_token(&token, Some("n1")).await }
    };
    // Several audiences: azp must be present and name this client.
    let mut c = claims(&m.issuer, "n1");
    c["aud"] = json!([CLIENT, "another-client"]);
    expect_refusal(verify(c.clone()).await, "several audiences and no azp");
    c["azp"] = json!("another-client");
    expect_refusal(verify(c.clone()).await, "azp \"another-client\"");
    c["azp"] = json!(CLIENT);
    assert_eq!(verify(c).await.unwrap().sub, "user-1");
    // A single audience with an azp that is another client.
    let mut c = claims(&m.issuer, "n1");
    c["azp"] = json!("another-client");
    expect_refusal(
        verify(c.clone()).await,
        "azp \"another-client\" is not this client",
    );
    c["azp"] = json!(CLIENT);
    verify(c).await.unwrap();
    // No iat.
    let mut c = claims(&m.issuer, "n1");
    c.as_object_mut().unwrap().remove("iat");
    expect_refusal(verify(c).await, "lacks the claim iat");
}

#[tokio::test]
async fn a_non_rsa_key_in_the_jwks_is_refused() {
    let k = keys();
    let b64u = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    for key in [
        json!({"kty": "EC", "crv": "P-256", "kid": "k1", "use": "sig",
            "x": b64u(&[1u8; 32]), "y": b64u(&[2u8; 32])}),
        json!({"kty": "oct", "kid": "k1", "k": b64u(b"a shared secret")}),
    ] {
        let m = mock_provider_with(|_| {}, json!({"keys": [key]})).await;
        expect_refusal(
            m.client
                .verify_id_token(&sign(&claims(&m.issuer, "n1"), &k.good), Some("n1"))
                .await,
            "not an RSA key",
        );
    }
}

#[tokio::test]
async fn a_provider_without_pkce_s256_is_refused() {
    for methods in [json!(["plain"]), json!([])] {
        let m = mock_provider_with(
            |d| d["code_challenge_methods_supported"] = methods,
            keys().jwks.clone(),
        )
        .await;
        match m.client.metadata().await {
            Err(e @ Error::Unsupported { .. }) => {
                assert!(e.to_string().contains("PKCE S256"), "{e}")
            }
            other => panic!("{other:?}"),
        }
        let options = LoginOptions {
            timeout: Duration::from_secs(5),
            ..LoginOptions::default()
        };
        assert!(matches!(
            m.client.start_login(&options).await.map(|_| ()),
            Err(Error::Unsupported { .. })
        ));
    }
}

/// Tokens from an earlier login at the mock provider, for refreshing.
fn stored_tokens(issuer: &str) -> crpki::profile::Tokens {
    crpki::profile::Tokens {
        issuer: issuer.into(),
        client_id: CLIENT.into(),
        subject: Some("user-1".into()),
        access_token: Secret::new("old-at"),
        refresh_token: Some(Secret::new("old-rt")),
        id_token: None,
        expires_at: None,
        scope: Some("openid".into()),
    }
}

#[tokio::test]
async fn a_refresh_naming_another_user_or_not_bearer_is_refused() {
    let mut m = mock_provider().await;
    let mut other = claims(&m.issuer, "unused");
    other["sub"] = json!("user-2");
    other.as_object_mut().unwrap().remove("nonce");
    let token_mock = m
        .server
        .mock("POST", "/oauth/token")
        .match_body(mockito::Matcher::UrlEncoded(
            "grant_type".into(),
            "refresh_token".into(),
        ))
        .with_header("content-type", "application/json")
        .with_body(
            json!({"access_token": "new-at", "token_type": "Bearer", "expires_in": 3600,
                "refresh_token": "new-rt", "id_token": sign(&other, &keys().good)})
            .to_string(),
        )
        .create_async()
        .await;
    match m.client.refresh(&stored_tokens(&m.issuer)).await {
        Err(Error::Unauthenticated { detail, .. }) => assert!(detail.contains("another user"), "{detail}"),
        other => panic!("{other:?}"),
    }
    token_mock.assert_async().await;
    token_mock.remove_async().await;

    // The same user: accepted (so the refusal above is about the subject).
    let mut same = other.clone();
    same["sub"] = json!("user-1");
    let ok_mock = m
        .server
        .mock("POST", "/oauth/token")
        .with_header("content-type", "application/json")
        .with_body(
            json!({"access_token": "new-at", "token_type": "Bearer", "expires_in": 3600,
                "refresh_token": "new-rt", "id_token": sign(&same, &keys().good)})
            .to_string(),
        )
        .create_async()
        .await;
    let fresh = m.client.refresh(&stored_tokens(&m.issuer)).await.unwrap();
    assert_eq!(fresh.access_token.expose(), "new-at");
    ok_mock.remove_async().await;

    // A token type other than Bearer.
    for token_type in ["mac", "DPoP", "N_A"] {
        let mock = m
            .server
            .mock("POST", "/oauth/token")
            .with_header("content-type", "application/json")
            .with_body(
                json!({"access_token": "new-at", "token_type": token_type, "expires_in": 3600,
                    "refresh_token": "new-rt"})
                .to_string(),
            )
            .create_async()
            .await;
        match m.client.refresh(&stored_tokens(&m.issuer)).await {
            Err(Error::Protocol { detail, .. }) => {
                assert!(
                    detail.contains(&format!("token type \"{token_type}\" is not Bearer")),
                    "{detail}"
                );
                assert!(!detail.contains("new-at"), "{detail}");
            }
            other => panic!("{token_type}: {other:?}"),
        }
        mock.remove_async().await;
    }
}

/// Acts as the provider's authorization endpoint: sends the code straight
/// to the listener with the login's own state.
#[derive(Debug)]
struct InstantProvider;

#[async_trait]
impl BrowserLauncher for InstantProvider {
    async fn open(&self, url: &str) -> crpki::Result<()> {
        let url = reqwest::Url::parse(url).unwrap();
        let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
        let mut back = reqwest::Url::parse(&q["redirect_uri"]).unwrap();
        back.query_pairs_mut()
            .append_pair("code", "mock-code")
            .append_pair("state", &q["state"]);
        let r = reqwest::get(back).await.unwrap();
        assert_eq!(r.status(), 200);
        Ok(())
    }
}

#[tokio::test]
async fn login_refuses_an_id_token_for_another_nonce() {
    let mut m = mock_provider().await;
    let token = sign(&claims(&m.issuer, "some-other-login"), &keys().good);
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT}:mock-secret"))
    );
    let token_mock = m
        .server
        .mock("POST", "/oauth/token")
        .match_header("authorization", basic.as_str())
        .match_body(mockito::Matcher::AllOf(vec![
            mockito::Matcher::UrlEncoded("grant_type".into(), "authorization_code".into()),
            mockito::Matcher::UrlEncoded("code".into(), "mock-code".into()),
            mockito::Matcher::Regex("code_verifier=[A-Za-z0-9_-]{43}".into()),
        ]))
        .with_header("content-type", "application/json")
        .with_body(
            json!({"access_token": "at", "token_type": "Bearer", "expires_in": 3600,
                "refresh_token": "rt", "id_token": token})
            .to_string(),
        )
        .create_async()
        .await;
    let options = LoginOptions {
        timeout: Duration::from_secs(30),
        ..LoginOptions::default()
    };
    expect_refusal(
        m.client
            .login(&InstantProvider, &options)
            .await
            .map(|l| l.id_token),
        "nonce",
    );
    token_mock.assert_async().await;
}

#[tokio::test]
async fn discovery_issuer_must_match_exactly() {
    let mut server = mockito::Server::new_async().await;
    let issuer = format!("{}/oauth/", server.url());
    server
        .mock("GET", "/oauth/.well-known/openid-configuration")
        .with_body(
            json!({"issuer": issuer.trim_end_matches('/'), "authorization_endpoint": "https://x/a",
                "token_endpoint": "https://x/t", "jwks_uri": "https://x/j"})
            .to_string(),
        )
        .create_async()
        .await;
    let client = OidcClient::new(
        http_client(&TransportConfig::default()).unwrap(),
        OidcConfig {
            issuer,
            client_id: CLIENT.into(),
            client_secret: None,
            client_auth: None,
            redirect_uri: None,
            scopes: vec![],
            revocation_endpoint: None,
            leeway: Duration::from_secs(30),
        },
    )
    .unwrap();
    match client.metadata().await {
        Err(Error::Protocol { detail, .. }) => assert!(detail.contains("exactly"), "{detail}"),
        other => panic!("{other:?}"),
    }
}
