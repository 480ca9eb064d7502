//! What the CSC client tests share: one sandbox state per test binary (the
//! RSA keys are generated once), an in-process sandbox over HTTPS, clients
//! that trust its TLS CA, and explicit authorizers with the sandbox's TEST
//! PINs.
#![allow(dead_code)] // each test binary uses a different part
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crpki::auth::{HttpClient, TransportConfig, http_client};
use crpki::csc::{
    BasicLoginSource, CscClient, CscSigner, CscVersion, ExplicitAuthorizer, OAuthClientConfig, RetryConfig,
    SignerOptions, StaticSecrets,
};
use crpki::sandbox::{Sandbox, SandboxConfig, SandboxStats};
use crpki::{Digest, HashAlgorithm, Secret};

/// One state directory per test binary.
pub fn state_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        crpki::sandbox::init_state(&dir).unwrap();
        dir
    })
    .clone()
}

/// A sandbox on 127.0.0.1:0 over HTTPS with the shared state.
pub async fn sandbox_with(f: impl FnOnce(&mut SandboxConfig)) -> Sandbox {
    let mut cfg = SandboxConfig {
        state_dir: Some(state_dir()),
        ..Default::default()
    };
    f(&mut cfg);
    Sandbox::start(cfg).await.unwrap()
}

/// A default sandbox.
pub async fn sandbox() -> Sandbox {
    sandbox_with(|_| {}).await
}

/// The transport, trusting only the sandbox's TLS CA.
pub fn http(sb: &Sandbox) -> HttpClient {
    http_client(&TransportConfig {
        extra_ca_pem: vec![sb.tls_ca_pem().as_bytes().to_vec()],
        trust_system_roots: false,
        timeout: Duration::from_secs(20),
        ..TransportConfig::default()
    })
    .unwrap()
}

/// Retries that do not slow the tests down.
pub fn fast_retry() -> RetryConfig {
    RetryConfig {
        max_retries: 3,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        max_retry_after: Duration::from_secs(2),
    }
}

/// The API base URL of a version.
pub fn base(sb: &Sandbox, version: CscVersion) -> &str {
    match version {
        CscVersion::V2 => sb.csc_base_v2(),
        CscVersion::V1 => sb.csc_base_v1(),
    }
}

/// A client without service authorization (OAuth client configured).
pub fn bare_client(sb: &Sandbox, version: CscVersion) -> CscClient {
    CscClient::new(http(sb), base(sb, version), version)
        .unwrap()
        .with_retry(fast_retry())
        .with_oauth_client(OAuthClientConfig {
            client_id: sb.client_id().to_owned(),
            client_secret: Some(Secret::new(sb.client_secret())),
            base_url: None,
        })
}

/// A client logged in as `user` through `auth/login` (HTTP Basic).
pub fn client(sb: &Sandbox, version: CscVersion, user: &str) -> CscClient {
    let bare = bare_client(sb, version);
    let password = Secret::new(sb.user(user).unwrap().password.clone());
    let source = BasicLoginSource::new(bare.without_token_source(), user, password);
    bare.with_token_source(Arc::new(source))
}

/// The explicit authorizer with the TEST values of `user`'s credentials.
pub fn authorizer_for(user: &str) -> Arc<ExplicitAuthorizer> {
    let secrets = match user {
        "alice" | "dave" | "erin" => StaticSecrets::new().with("PIN", "1234"),
        "bob" => StaticSecrets::new().with("PIN", "5678").with("OTP", "123456"),
        _ => StaticSecrets::new(),
    };
    Arc::new(ExplicitAuthorizer::new(Arc::new(secrets)))
}

/// A signer over `credential` of `user`.
pub async fn signer(
    sb: &Sandbox,
    version: CscVersion,
    user: &str,
    credential: &str,
    options: SignerOptions,
) -> CscSigner {
    CscSigner::new(
        Arc::new(client(sb, version, user)),
        credential,
        authorizer_for(user),
        options,
    )
    .await
    .unwrap()
}

/// alice's `alice-rsa` signer over `client`, with her TEST PIN and the
/// default options.
pub async fn alice_signer(client: Arc<CscClient>) -> CscSigner {
    CscSigner::new(
        client,
        "alice-rsa",
        authorizer_for("alice"),
        SignerOptions::default(),
    )
    .await
    .unwrap()
}

/// `n` distinct SHA-256 digests.
pub fn digests(tag: &str, n: usize) -> Vec<Digest> {
    (0..n)
        .map(|i| HashAlgorithm::Sha256.digest(format!("csc test {tag} #{i}").as_bytes()))
        .collect()
}

/// What changed in the counters between two snapshots.
pub fn delta(before: SandboxStats, after: SandboxStats) -> SandboxStats {
    SandboxStats {
        sign_hash_calls: after.sign_hash_calls - before.sign_hash_calls,
        signatures: after.signatures - before.signatures,
        authorizations: after.authorizations - before.authorizations,
        authorized_signatures: after.authorized_signatures - before.authorized_signatures,
        logins: after.logins - before.logins,
        tokens_issued: after.tokens_issued - before.tokens_issued,
        requests: after.requests - before.requests,
    }
}

/// A sandbox with its own state in `DIR/config/sandbox`, where the
/// `sandbox` profile of the config directory `DIR/config` finds it (as
/// `crpki sandbox serve` leaves it for other processes), and that store.
pub async fn profile_sandbox(dir: &std::path::Path) -> (Sandbox, crpki::profile::ProfileStore) {
    let config = dir.join("config");
    let state = config.join("sandbox");
    let sb = Sandbox::start(SandboxConfig {
        state_dir: Some(state.clone()),
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    crpki::profile::SandboxEndpoints::of(&sb).write(&state).unwrap();
    (sb, crpki::profile::ProfileStore::open(config))
}

/// Logs `user` in to the sandbox profile of `store` (GビズID-style login,
/// the consent page followed over HTTP), storing the tokens as `crpki
/// login` does.
pub async fn login_profile(store: &crpki::profile::ProfileStore, user: &str) {
    let profile = store.resolve(crpki::profile::SANDBOX_PROFILE).unwrap();
    let http = http_client(&TransportConfig::from_profile(&profile).unwrap()).unwrap();
    crpki::auth::Authenticator::for_profile(&profile, Arc::new(store.token_store()))
        .unwrap()
        .login(
            &crpki::auth::HttpFollowLauncher::new(http),
            &crpki::auth::LoginOptions {
                login_hint: Some(user.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
}

/// `url` with its `nonce` replaced: the provider then issues an ID token
/// for another nonce (the code is good, the ID-token check must fail).
pub fn with_other_nonce(url: &str) -> reqwest::Url {
    let mut url = reqwest::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "nonce" {
                "another-nonce".into()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url
}

/// Plain JSON requests, as another CSC client sends them.
pub struct Raw {
    pub http: reqwest::Client,
    pub base: String,
    /// The service access token from `auth/login`.
    pub token: String,
}

impl Raw {
    /// Logs `user` in with `auth/login` (HTTP Basic) at the `version` root.
    pub async fn login(sb: &Sandbox, version: CscVersion, user: &str) -> Self {
        let http = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(sb.tls_ca_pem().as_bytes()).unwrap())
            .build()
            .unwrap();
        let base = base(sb, version).to_owned();
        let password = sb.user(user).unwrap().password.clone();
        let r: serde_json::Value = http
            .post(format!("{base}auth/login"))
            .basic_auth(user, Some(password))
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = r["access_token"].as_str().unwrap().to_owned();
        Self { http, base, token }
    }

    /// POSTs `body` to `method`: the status and the JSON reply (`Null` if none).
    pub async fn post(&self, method: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let r = self
            .http
            .post(format!("{}{method}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }
}
