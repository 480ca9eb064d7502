//! The CSC client and `CscSigner` against the in-process sandbox over real
//! HTTPS: the conformance suite (RSA and ECDSA, v2 and v1, explicit and
//! oauth2code), batching costs counted at the sandbox, authorization and
//! token lifecycles, credential listing and selection, and the errors a
//! caller branches on. Signatures are also checked with the `openssl` CLI.
#![cfg(feature = "sandbox")]
#![allow(clippy::unwrap_used)]

mod csc_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use crpki::auth::{
    AccessTokenSource, Authenticator, DEFAULT_LEEWAY, HttpFollowLauncher, LoginOptions, OidcClient,
    OidcConfig, TransportConfig, http_client,
};
use crpki::csc::{
    AuthInputKind, AuthMode, CertificateStatus, CscClient, CscSigner, CscVersion, ExplicitAuthorizer,
    ModeAuthorizer, RsspOAuth2Source, Scal, SignerOptions, StaticSecrets, StaticTokenSource, connect_signer,
    select_credential,
};
use crpki::profile::FileTokenStore;
use crpki::testing::{check_signer, fixtures, openssl};
use crpki::{Error, HashAlgorithm, RemoteSigner, Secret, SignatureAlgorithm};
use csc_support::*;

const V2: CscVersion = CscVersion::V2;
const V1: CscVersion = CscVersion::V1;
const RSA: SignatureAlgorithm = SignatureAlgorithm::RSA_PKCS1_SHA256;

fn verify_all(
    signer: &dyn RemoteSigner,
    alg: SignatureAlgorithm,
    digests: &[crpki::Digest],
    sigs: &[Vec<u8>],
) {
    assert_eq!(sigs.len(), digests.len());
    let key = signer.certificate().public_key().unwrap();
    for (d, s) in digests.iter().zip(sigs) {
        key.verify_digest(alg, d, s).unwrap();
    }
}

// ---- conformance ----

async fn conformance(version: CscVersion, user: &str, credential: &str) {
    let sb = sandbox().await;
    let s = signer(&sb, version, user, credential, SignerOptions::default()).await;
    check_signer(Arc::new(s), Some(sb.registrar_root())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_rsa_v2() {
    conformance(V2, "alice", "alice-rsa").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_rsa_v1() {
    conformance(V1, "alice", "alice-rsa").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_ecdsa_v2() {
    conformance(V2, "bob", "bob-ecdsa").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_ecdsa_v1() {
    conformance(V1, "bob", "bob-ecdsa").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_scal2_otp_v2() {
    conformance(V2, "bob", "bob-rsa-scal2").await;
}

async fn conformance_oauth2code(version: CscVersion) {
    let sb = sandbox().await;
    let launcher = Arc::new(HttpFollowLauncher::new(http(&sb)));
    let authorizer = Arc::new(ModeAuthorizer::new().with_browser(launcher));
    let s = CscSigner::new(
        Arc::new(client(&sb, version, "bob")),
        "bob-oauth",
        authorizer,
        SignerOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(s.credential().auth_mode, AuthMode::OAuth2Code);
    assert_eq!(s.credential().scal, Scal::Two);
    check_signer(Arc::new(s), Some(sb.registrar_root())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_oauth2code_v2() {
    conformance_oauth2code(V2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_oauth2code_v1() {
    conformance_oauth2code(V1).await;
}

// ---- batching: costs counted at the sandbox ----

async fn batch_of_250(version: CscVersion, user: &str, credential: &str) {
    let sb = sandbox_with(|c| c.multisign = 100).await;
    let s = signer(&sb, version, user, credential, SignerOptions::default()).await;
    let messages: Vec<Vec<u8>> = (0..250)
        .map(|i| format!("document {i} for {credential} over {version}").into_bytes())
        .collect();
    let batch: Vec<_> = messages.iter().map(|m| HashAlgorithm::Sha256.digest(m)).collect();
    let before = sb.stats();
    let sigs = s.sign_digests(RSA, &batch).await.unwrap();
    let d = delta(before, sb.stats());
    assert_eq!(d.authorizations, 3, "{d:?}");
    assert_eq!(d.sign_hash_calls, 3, "{d:?}");
    assert_eq!(d.signatures, 250, "{d:?}");
    verify_all(&s, RSA, &batch, &sigs);

    // The openssl CLI, on the messages themselves, for a sample across the chunks.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("spki.der"), s.certificate().public_key_der()).unwrap();
    openssl::run_ok(
        dir.path(),
        &[
            "pkey", "-pubin", "-inform", "DER", "-in", "spki.der", "-out", "pub.pem",
        ],
    );
    for i in [0usize, 99, 100, 199, 249] {
        std::fs::write(dir.path().join("msg.bin"), &messages[i]).unwrap();
        std::fs::write(dir.path().join("sig.bin"), &sigs[i]).unwrap();
        openssl::run_ok(
            dir.path(),
            &[
                "dgst",
                "-sha256",
                "-verify",
                "pub.pem",
                "-signature",
                "sig.bin",
                "msg.bin",
            ],
        );
        // A signature in the wrong place is refused.
        std::fs::write(dir.path().join("sig.bin"), &sigs[(i + 1) % 250]).unwrap();
        let out = openssl::run(
            dir.path(),
            &[
                "dgst",
                "-sha256",
                "-verify",
                "pub.pem",
                "-signature",
                "sig.bin",
                "msg.bin",
            ],
        );
        assert!(
            !out.status.success(),
            "openssl accepted signature {} for message {i}",
            (i + 1) % 250
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_of_250_with_multisign_100_scal1_v2() {
    batch_of_250(V2, "alice", "alice-rsa").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_of_250_with_multisign_100_scal1_v1() {
    batch_of_250(V1, "alice", "alice-rsa").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_of_250_with_multisign_100_scal2_v2() {
    batch_of_250(V2, "bob", "bob-rsa-scal2").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_of_250_with_multisign_100_scal2_v1() {
    batch_of_250(V1, "bob", "bob-rsa-scal2").await;
}

/// The sandbox signs a large request on several threads (as an HSM would):
/// the signatures still come back one per hash, in the hashes' order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_request_is_signed_in_parallel_and_in_order() {
    let sb = sandbox().await;
    let alice = signer(&sb, V2, "alice", "alice-rsa", SignerOptions::default()).await;
    let batch = digests("parallel", 301);
    let before = sb.stats();
    let sigs = alice.sign_digests(RSA, &batch).await.unwrap();
    let d = delta(before, sb.stats());
    assert_eq!((d.sign_hash_calls, d.signatures), (1, 301), "{d:?}");
    verify_all(&alice, RSA, &batch, &sigs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scal1_authorization_is_reused_across_calls_and_scal2_is_not() {
    let sb = sandbox().await;
    let alice = signer(&sb, V2, "alice", "alice-rsa", SignerOptions::default()).await;
    let before = sb.stats();
    for i in 0..5 {
        let batch = digests(&format!("reuse {i}"), 3);
        let sigs = alice.sign_digests(RSA, &batch).await.unwrap();
        verify_all(&alice, RSA, &batch, &sigs);
    }
    let d = delta(before, sb.stats());
    assert_eq!((d.authorizations, d.sign_hash_calls), (1, 5), "{d:?}");

    let exact = signer(
        &sb,
        V2,
        "alice",
        "alice-rsa",
        SignerOptions {
            reuse_authorizations: false,
            ..Default::default()
        },
    )
    .await;
    let before = sb.stats();
    for i in 0..3 {
        exact
            .sign_digests(RSA, &digests(&format!("exact {i}"), 2))
            .await
            .unwrap();
    }
    let d = delta(before, sb.stats());
    assert_eq!((d.authorizations, d.sign_hash_calls), (3, 3), "{d:?}");

    let bob = signer(&sb, V2, "bob", "bob-rsa-scal2", SignerOptions::default()).await;
    let before = sb.stats();
    for i in 0..3 {
        bob.sign_digests(RSA, &digests(&format!("scal2 {i}"), 2))
            .await
            .unwrap();
    }
    let d = delta(before, sb.stats());
    assert_eq!((d.authorizations, d.sign_hash_calls), (3, 3), "{d:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_signatures_per_call_splits_requests_not_authorizations() {
    let sb = sandbox().await;
    let s = signer(
        &sb,
        V2,
        "alice",
        "alice-rsa",
        SignerOptions {
            max_signatures_per_call: Some(7),
            ..Default::default()
        },
    )
    .await;
    let batch = digests("split", 30);
    let before = sb.stats();
    let sigs = s.sign_digests(RSA, &batch).await.unwrap();
    let d = delta(before, sb.stats());
    assert_eq!((d.authorizations, d.sign_hash_calls), (1, 5), "{d:?}");
    verify_all(&s, RSA, &batch, &sigs);
}

// ---- authorization: PIN/OTP, SAD expiry, extension ----

async fn wrong_secret(version: CscVersion, user: &str, credential: &str, secrets: StaticSecrets) {
    let sb = sandbox().await;
    let s = CscSigner::new(
        Arc::new(client(&sb, version, user)),
        credential,
        Arc::new(ExplicitAuthorizer::new(Arc::new(secrets))),
        SignerOptions::default(),
    )
    .await
    .unwrap();
    let before = sb.stats();
    let e = s.sign_digests(RSA, &digests("wrong", 2)).await.unwrap_err();
    assert!(matches!(e, Error::InvalidOtp { .. }), "{e:?}");
    let d = delta(before, sb.stats());
    assert_eq!((d.authorizations, d.sign_hash_calls), (0, 0), "{d:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_pin_is_invalid_otp_v2_and_v1() {
    wrong_secret(V2, "alice", "alice-rsa", StaticSecrets::new().with("PIN", "0000")).await;
    wrong_secret(V1, "alice", "alice-rsa", StaticSecrets::new().with("PIN", "0000")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_otp_is_invalid_otp_v2_and_v1() {
    wrong_secret(
        V2,
        "bob",
        "bob-rsa-scal2",
        StaticSecrets::new().with("OTP", "000000"),
    )
    .await;
    wrong_secret(
        V1,
        "bob",
        "bob-rsa-scal2",
        StaticSecrets::new().with("OTP", "000000"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_credential_without_a_prompt_needs_interaction() {
    let sb = sandbox().await;
    let s = CscSigner::new(
        Arc::new(client(&sb, V2, "alice")),
        "alice-rsa",
        Arc::new(ModeAuthorizer::new()),
        SignerOptions::default(),
    )
    .await
    .unwrap();
    let e = s.sign_digests(RSA, &digests("noprompt", 1)).await.unwrap_err();
    assert!(matches!(e, Error::InteractionRequired { .. }), "{e:?}");
    assert!(e.to_string().contains("PIN"), "{e}");
}

/// A prompt that counts how often it was asked.
#[derive(Debug, Default)]
struct CountingPrompt {
    asked: AtomicU32,
}

#[async_trait]
impl crpki::csc::SecretPrompt for CountingPrompt {
    async fn ask(&self, request: &crpki::csc::PromptRequest<'_>) -> crpki::Result<Secret> {
        assert_eq!(request.input.kind, AuthInputKind::Pin);
        assert_eq!(request.credential.id, "alice-rsa");
        self.asked.fetch_add(1, Ordering::SeqCst);
        Ok(Secret::new("1234"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_share_one_authorization() {
    let sb = sandbox().await;
    let prompt = Arc::new(CountingPrompt::default());
    let s = Arc::new(
        CscSigner::new(
            Arc::new(client(&sb, V2, "alice")),
            "alice-rsa",
            Arc::new(ModeAuthorizer::new().with_prompt(prompt.clone())),
            SignerOptions::default(),
        )
        .await
        .unwrap(),
    );
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let s = Arc::clone(&s);
            tokio::spawn(async move {
                let batch = digests(&format!("concurrent {t}"), 4);
                let sigs = s.sign_digests(RSA, &batch).await.unwrap();
                verify_all(s.as_ref(), RSA, &batch, &sigs);
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        prompt.asked.load(Ordering::SeqCst),
        1,
        "the PIN was asked more than once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sad_expired_at_the_service_is_authorized_again() {
    for version in [V2, V1] {
        let sb = sandbox().await;
        let s = signer(&sb, version, "alice", "alice-rsa", SignerOptions::default()).await;
        s.sign_digests(RSA, &digests("warm", 1)).await.unwrap();
        // "Early SAD expiry": the kept SAD dies at the service before its time.
        sb.faults().expire_sads_now();
        let batch = digests("after expiry", 5);
        let before = sb.stats();
        let sigs = s.sign_digests(RSA, &batch).await.unwrap();
        let d = delta(before, sb.stats());
        assert_eq!((d.authorizations, d.sign_hash_calls), (1, 2), "{version}: {d:?}");
        verify_all(&s, RSA, &batch, &sigs);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sads_expiring_during_a_batch_give_signatures_or_a_clean_error() {
    let sb = Arc::new(sandbox_with(|c| c.multisign = 10).await);
    for credential in ["alice-rsa", "bob-rsa-scal2"] {
        let user = if credential.starts_with("alice") {
            "alice"
        } else {
            "bob"
        };
        let s = signer(&sb, V2, user, credential, SignerOptions::default()).await;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let expirer = {
            let faults = sb.faults();
            let stop = Arc::clone(&stop);
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    faults.expire_sads_now();
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            })
        };
        let batch = digests(&format!("expiring {credential}"), 100);
        let result = s.sign_digests(RSA, &batch).await;
        stop.store(true, Ordering::SeqCst);
        expirer.await.unwrap();
        match result {
            Ok(sigs) => verify_all(&s, RSA, &batch, &sigs),
            Err(e) => assert!(matches!(e, Error::AuthorizationInvalid { .. }), "{e:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_sad_close_to_expiry_is_extended() {
    for version in [V2, V1] {
        let sb = sandbox().await;
        let s = signer(
            &sb,
            version,
            "alice",
            "alice-rsa",
            SignerOptions {
                // Every kept SAD counts as close to expiry.
                extend_before_expiry: Duration::from_secs(24 * 3600),
                ..Default::default()
            },
        )
        .await;
        s.sign_digests(RSA, &digests("warm", 1)).await.unwrap();
        assert!(s.client().supports("credentials/extendTransaction").await);
        for i in 0..2 {
            let batch = digests(&format!("extended {i}"), 3);
            let before = sb.stats();
            let sigs = s.sign_digests(RSA, &batch).await.unwrap();
            let d = delta(before, sb.stats());
            // extendTransaction + signHash, no new authorization.
            assert_eq!(
                (d.authorizations, d.sign_hash_calls, d.requests),
                (0, 1, 2),
                "{version}: {d:?}"
            );
            verify_all(&s, RSA, &batch, &sigs);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_sad_about_to_expire_is_not_used() {
    let sb = sandbox_with(|c| c.sad_ttl = Duration::from_secs(1)).await;
    let s = signer(&sb, V2, "alice", "alice-rsa", SignerOptions::default()).await;
    let before = sb.stats();
    s.sign_digests(RSA, &digests("short 1", 1)).await.unwrap();
    s.sign_digests(RSA, &digests("short 2", 1)).await.unwrap();
    let d = delta(before, sb.stats());
    // A 1-second SAD is inside the default 10-second margin: never reused.
    assert_eq!((d.authorizations, d.sign_hash_calls), (2, 2), "{d:?}");
}

// ---- the service access token ----

/// Passes tokens through, and makes every token expire at the service
/// just before handing out the `at`-th one (so it dies mid-batch).
#[derive(Debug)]
struct ExpireOnNth {
    inner: Arc<dyn AccessTokenSource>,
    faults: crpki::sandbox::FaultControl,
    calls: AtomicU32,
    at: u32,
}

#[async_trait]
impl AccessTokenSource for ExpireOnNth {
    async fn access_token(&self) -> crpki::Result<Secret> {
        let token = self.inner.access_token().await?;
        if self.calls.fetch_add(1, Ordering::SeqCst) == self.at {
            self.faults.expire_tokens_now();
        }
        Ok(token)
    }

    async fn refresh_after_rejection(&self, rejected: &Secret) -> crpki::Result<Secret> {
        self.inner.refresh_after_rejection(rejected).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_token_expiring_mid_batch_is_refreshed_once() {
    for version in [V2, V1] {
        let sb = sandbox_with(|c| c.multisign = 10).await;
        let bare = bare_client(&sb, version);
        let login = crpki::csc::BasicLoginSource::new(
            bare.without_token_source(),
            "alice",
            Secret::new("alice-password"),
        );
        let source = Arc::new(ExpireOnNth {
            inner: Arc::new(login),
            faults: sb.faults(),
            calls: AtomicU32::new(0),
            // credentials/info, then authorize + signHash per chunk: the
            // token dies before the third chunk's authorization.
            at: 5,
        });
        let c = Arc::new(bare.with_token_source(source));
        let s = alice_signer(c).await;
        let batch = digests("token mid-batch", 60);
        let before = sb.stats();
        let sigs = s.sign_digests(RSA, &batch).await.unwrap();
        verify_all(&s, RSA, &batch, &sigs);
        let d = delta(before, sb.stats());
        assert_eq!(d.tokens_issued, 1, "{version}: one refresh: {d:?}");
        assert_eq!((d.authorizations, d.sign_hash_calls), (6, 6), "{version}: {d:?}");
        // 6 × (authorize + signHash) + the refused request + the refresh.
        assert_eq!(d.requests, 12 + 2, "{version}: {d:?}");
    }
}

/// Hands out `first`, then `second` after a rejection, counting refreshes.
#[derive(Debug)]
struct TwoTokens {
    first: Secret,
    second: Secret,
    refreshes: AtomicU32,
}

#[async_trait]
impl AccessTokenSource for TwoTokens {
    async fn access_token(&self) -> crpki::Result<Secret> {
        Ok(self.first.clone())
    }

    async fn refresh_after_rejection(&self, rejected: &Secret) -> crpki::Result<Secret> {
        assert_eq!(rejected, &self.first);
        self.refreshes.fetch_add(1, Ordering::SeqCst);
        Ok(self.second.clone())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_that_does_not_help_is_a_clear_unauthenticated_error() {
    let sb = sandbox().await;
    let bare = bare_client(&sb, V2);
    let password = Secret::new("alice-password");
    let first = bare
        .login_basic("alice", &password, false)
        .await
        .unwrap()
        .access_token;
    let second = bare
        .login_basic("alice", &password, false)
        .await
        .unwrap()
        .access_token;
    let source = Arc::new(TwoTokens {
        first,
        second,
        refreshes: AtomicU32::new(0),
    });
    let c = Arc::new(bare.without_token_source().with_token_source(source.clone()));
    let s = alice_signer(c.clone()).await;
    sb.faults().expire_tokens_now();
    let before = sb.stats();
    let e = s.sign_digests(RSA, &digests("dead token", 3)).await.unwrap_err();
    assert!(matches!(e, Error::Unauthenticated { .. }), "{e:?}");
    assert!(e.needs_login());
    assert_eq!(
        source.refreshes.load(Ordering::SeqCst),
        1,
        "refreshed exactly once"
    );
    assert_eq!(delta(before, sb.stats()).authorizations, 0);

    // A source that cannot refresh at all.
    let fixed = CscClient::new(http(&sb), sb.csc_base_v2(), V2)
        .unwrap()
        .with_token_source(Arc::new(StaticTokenSource::new("at_not-a-token")));
    let e = fixed.credential_ids().await.unwrap_err();
    assert!(matches!(e, Error::Unauthenticated { .. }), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gbiz_login_token_cache_serves_the_rssp_and_refreshes() {
    let sb = sandbox().await;
    let http = http(&sb);
    let oidc = OidcClient::new(
        http.clone(),
        OidcConfig {
            issuer: sb.oidc_issuer().to_owned(),
            client_id: sb.client_id().to_owned(),
            client_secret: Some(Secret::new(sb.client_secret())),
            client_auth: None,
            // The sandbox's OpenID provider accepts registered redirect URIs only.
            redirect_uri: Some(sb.cli_redirect_uri().to_owned()),
            scopes: vec!["openid".into(), "profile".into()],
            revocation_endpoint: None,
            leeway: DEFAULT_LEEWAY,
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let auth = Authenticator::new(
        Arc::new(oidc),
        Arc::new(FileTokenStore::new(dir.path())),
        "sandbox",
    );
    auth.login(
        &HttpFollowLauncher::new(http.clone()),
        &LoginOptions {
            login_hint: Some("alice".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let c = Arc::new(bare_client(&sb, V2).with_token_source(Arc::new(auth.token_cache())));
    let s = alice_signer(c).await;
    s.sign_digests(RSA, &digests("gbiz", 2)).await.unwrap();
    sb.faults().expire_tokens_now();
    // JWTs issued in the second of the cut-off count as expired too.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let before = sb.stats();
    let batch = digests("gbiz after expiry", 2);
    let sigs = s.sign_digests(RSA, &batch).await.unwrap();
    verify_all(&s, RSA, &batch, &sigs);
    assert_eq!(delta(before, sb.stats()).tokens_issued, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rssp_oauth2_service_scope_login_refresh_and_logout() {
    let sb = sandbox().await;
    let launcher = Arc::new(HttpFollowLauncher::new(http(&sb)));
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FileTokenStore::new(dir.path()));
    let bare = bare_client(&sb, V2);
    let source = Arc::new(
        RsspOAuth2Source::new(bare.without_token_source(), Some(launcher))
            .with_store(store.clone(), "sandbox.rssp"),
    );
    let c = bare.with_token_source(source.clone());
    // The sandbox approves as alice when nobody is named.
    assert_eq!(c.credential_ids().await.unwrap(), vec!["alice-rsa".to_string()]);
    assert!(
        crpki::profile::TokenStore::load(store.as_ref(), "sandbox.rssp")
            .unwrap()
            .is_some()
    );
    let token = source.access_token().await.unwrap();

    sb.faults().expire_tokens_now();
    let before = sb.stats();
    assert_eq!(c.credential_ids().await.unwrap().len(), 1);
    assert_eq!(
        delta(before, sb.stats()).tokens_issued,
        1,
        "refreshed with the refresh token"
    );
    assert_ne!(source.access_token().await.unwrap(), token);

    let current = source.access_token().await.unwrap();
    source.logout().await.unwrap();
    assert!(
        crpki::profile::TokenStore::load(store.as_ref(), "sandbox.rssp")
            .unwrap()
            .is_none()
    );
    let revoked = bare_client(&sb, V2).with_token_source(Arc::new(StaticTokenSource::new(current)));
    let e = revoked.credential_ids().await.unwrap_err();
    assert!(matches!(e, Error::Unauthenticated { .. }), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_login_logout_revokes_the_token() {
    let sb = sandbox().await;
    let bare = bare_client(&sb, V1);
    let source =
        crpki::csc::BasicLoginSource::new(bare.without_token_source(), "bob", Secret::new("bob-password"));
    let token = source.access_token().await.unwrap();
    let c = bare
        .without_token_source()
        .with_token_source(Arc::new(StaticTokenSource::new(token.clone())));
    assert_eq!(c.credential_ids().await.unwrap().len(), 4);
    source.logout().await.unwrap();
    let e = c.credential_ids().await.unwrap_err();
    assert!(matches!(e, Error::Unauthenticated { .. }), "{e:?}");
    let e = bare
        .login_basic("bob", &Secret::new("wrong"), false)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unauthenticated { .. }), "{e:?}");
}

// ---- credentials: listing, selection, unusable ones ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_describe_and_select_credentials() {
    let sb = sandbox().await;
    for version in [V2, V1] {
        let alice = client(&sb, version, "alice");
        let list = alice.list_credentials().await.unwrap();
        assert_eq!(list.len(), 1, "{version}");
        let c = select_credential(&list, None).unwrap();
        assert_eq!(c.id, "alice-rsa");
        assert_eq!(c.scal, Scal::One);
        assert_eq!(c.cert_status, CertificateStatus::Valid);
        assert!(c.key_enabled());
        assert_eq!(c.key_len, 2048);
        assert_eq!(c.chain.len(), 1);
        assert_eq!(c.chain[0].der(), sb.registrar_root().der());
        let cert = c.certificate.as_ref().unwrap();
        assert_eq!(cert.issuer(), sb.registrar_root().subject(), "{version}");
        match &c.auth_mode {
            AuthMode::Explicit { inputs, .. } => {
                assert_eq!(inputs.len(), 1);
                assert_eq!(inputs[0].kind, AuthInputKind::Pin);
                assert_eq!(inputs[0].id, "PIN");
            }
            other => panic!("{version}: {other:?}"),
        }

        let bob = client(&sb, version, "bob");
        let list = bob.list_credentials().await.unwrap();
        let mut ids: Vec<&str> = list.iter().map(|c| c.id.as_str()).collect();
        ids.sort();
        assert_eq!(ids, ["bob-ecdsa", "bob-expired", "bob-oauth", "bob-rsa-scal2"]);
        let e = select_credential(&list, None).unwrap_err();
        assert!(matches!(e, Error::Config { .. }), "{e:?}");
        assert!(e.to_string().contains("crpki certs use"), "{e}");
        assert!(
            select_credential(&list, Some("bob-ecdsa"))
                .unwrap()
                .key_curve
                .is_some()
        );
        let e = select_credential(&list, Some("alice-rsa")).unwrap_err();
        assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
        assert!(e.to_string().contains("crpki certs use"), "{e}");
        let expired = list.iter().find(|c| c.id == "bob-expired").unwrap();
        assert_eq!(expired.cert_status, CertificateStatus::Expired);
        let scal2 = list.iter().find(|c| c.id == "bob-rsa-scal2").unwrap();
        assert_eq!(scal2.scal, Scal::Two);

        let carol = client(&sb, version, "carol");
        let list = carol.list_credentials().await.unwrap();
        assert!(matches!(
            select_credential(&list, None),
            Err(Error::NotFound { .. })
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_signer_uses_the_choice_or_the_only_credential() {
    let sb = sandbox().await;
    let alice = Arc::new(client(&sb, V2, "alice"));
    let s = connect_signer(
        alice.clone(),
        None,
        authorizer_for("alice"),
        SignerOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(s.credential().id, "alice-rsa");
    let bob = Arc::new(client(&sb, V2, "bob"));
    let e = connect_signer(bob.clone(), None, authorizer_for("bob"), SignerOptions::default())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("crpki certs use"), "{e}");
    let s = connect_signer(
        bob.clone(),
        Some("bob-ecdsa"),
        authorizer_for("bob"),
        SignerOptions::default(),
    )
    .await
    .unwrap();
    let alg = s.default_algorithm();
    let batch = crpki::HashAlgorithm::Sha256.digest(b"ecdsa");
    s.sign_digests(alg, std::slice::from_ref(&batch)).await.unwrap();
    let e = connect_signer(bob, Some("gone"), authorizer_for("bob"), SignerOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    assert!(e.to_string().contains("crpki certs use"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_and_unknown_credentials() {
    let sb = sandbox().await;
    for version in [V2, V1] {
        let dave = Arc::new(client(&sb, version, "dave"));
        let e = CscSigner::new(dave, "dave-rsa", authorizer_for("dave"), SignerOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(e, Error::CredentialUnusable { .. }), "{version}: {e:?}");
        assert!(e.to_string().contains("key of credential dave-rsa"), "{e}");
        assert!(e.to_string().contains("disabled"), "{e}");

        let bob = Arc::new(client(&sb, version, "bob"));
        let e = CscSigner::new(
            bob.clone(),
            "bob-expired",
            authorizer_for("bob"),
            SignerOptions::default(),
        )
        .await
        .unwrap_err();
        assert!(matches!(e, Error::CredentialUnusable { .. }), "{version}: {e:?}");
        assert!(e.to_string().contains("expired"), "{e}");

        for unknown in ["no-such-credential", "alice-rsa"] {
            let e = CscSigner::new(
                bob.clone(),
                unknown,
                authorizer_for("bob"),
                SignerOptions::default(),
            )
            .await
            .unwrap_err();
            assert!(matches!(e, Error::NotFound { .. }), "{version} {unknown}: {e:?}");
            assert!(e.to_string().contains(unknown), "{e}");
        }
    }
}

// ---- transport ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_down_is_service_unavailable() {
    let sb = sandbox().await;
    let c = client(&sb, V2, "alice");
    let url = sb.csc_base_v2().to_owned();
    sb.shutdown().await;
    let e = c.credential_ids().await.unwrap_err();
    assert!(matches!(e, Error::ServiceUnavailable { .. }), "{e:?}");
    assert!(e.is_retryable());
    let e = CscClient::new(http_client(&TransportConfig::default()).unwrap(), &url, V2)
        .unwrap()
        .with_retry(fast_retry())
        .info()
        .await
        .unwrap_err();
    assert!(matches!(e, Error::ServiceUnavailable { .. }), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_tls_is_a_clear_tls_error_and_not_retried() {
    let sb = sandbox().await;
    let other = fixtures::bytes("other-root.pem");
    let http = http_client(&TransportConfig {
        extra_ca_pem: vec![other],
        trust_system_roots: false,
        ..TransportConfig::default()
    })
    .unwrap();
    let c = CscClient::new(http, sb.csc_base_v2(), V2)
        .unwrap()
        .with_retry(fast_retry());
    let before = sb.stats();
    let e = c.info().await.unwrap_err();
    assert!(matches!(e, Error::Config { .. }), "{e:?}");
    let text = e.to_string();
    assert!(text.contains("TLS") && text.contains("not trusted"), "{text}");
    // The handshake failed: the server never saw an HTTP request.
    assert_eq!(delta(before, sb.stats()).requests, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_is_refused_except_to_loopback() {
    let http = http_client(&TransportConfig::default()).unwrap();
    let e = CscClient::new(http.clone(), "http://rssp.example/csc/v2/", V2).unwrap_err();
    assert!(matches!(e, Error::Config { .. }), "{e:?}");
    CscClient::new(http, "http://127.0.0.1:9/csc/v2", V2).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_detection_from_info() {
    let sb = sandbox().await;
    for (url, version) in [(sb.csc_base_v2(), V2), (sb.csc_base_v1(), V1)] {
        let c = CscClient::detect(http(&sb), url).await.unwrap();
        assert_eq!(c.version(), version);
        assert!(c.supports("signatures/signHash").await);
        assert!(c.supports("credentials/extendTransaction").await);
    }
}

// ---- profiles ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_authorization_for_each_profile_mode() {
    use crpki::profile::{Profile, SecretRef, ServiceAuth};
    let sb = sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn crpki::profile::TokenStore> = Arc::new(FileTokenStore::new(dir.path()));
    let mut p = Profile::new("csc-test", sb.oidc_issuer(), sb.client_id(), sb.csc_base_v1());
    p.sandbox = true;
    p.rssp.api_version = V1;
    p.extra_ca_files = vec![sb.tls_ca_path()];
    p.oidc.client_secret = Some(SecretRef::Value(Secret::new(sb.client_secret())));

    p.rssp.service_auth = ServiceAuth::CscBasic {
        user: "bob".into(),
        password: None,
    };
    let e = crpki::csc::service_auth::for_profile(&p, store.clone(), None, None).unwrap_err();
    assert!(matches!(e, Error::InteractionRequired { .. }), "{e:?}");
    let source =
        crpki::csc::service_auth::for_profile(&p, store.clone(), None, Some(Secret::new("bob-password")))
            .unwrap();
    let c = CscClient::for_profile(&p).unwrap().with_token_source(source);
    assert_eq!(c.version(), V1);
    assert_eq!(c.list_credentials().await.unwrap().len(), 4);

    p.rssp.service_auth = ServiceAuth::RsspOauth2;
    let launcher: Arc<dyn crpki::auth::BrowserLauncher> = Arc::new(HttpFollowLauncher::new(http(&sb)));
    let source = crpki::csc::service_auth::for_profile(&p, store.clone(), Some(launcher), None).unwrap();
    let c = CscClient::for_profile(&p).unwrap().with_token_source(source);
    assert_eq!(c.credential_ids().await.unwrap(), ["alice-rsa"]);
    assert!(store.load("csc-test.rssp").unwrap().is_some());

    p.rssp.service_auth = ServiceAuth::BearerEnv {
        var: "CRPKI_CSC_TEST_TOKEN_THAT_IS_NOT_SET".into(),
    };
    let source = crpki::csc::service_auth::for_profile(&p, store.clone(), None, None).unwrap();
    let e = CscClient::for_profile(&p)
        .unwrap()
        .with_token_source(source)
        .credential_ids()
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unauthenticated { .. }), "{e:?}");

    p.rssp.service_auth = ServiceAuth::GbizLogin;
    let source = crpki::csc::service_auth::for_profile(&p, store, None, None).unwrap();
    let e = CscClient::for_profile(&p)
        .unwrap()
        .with_token_source(source)
        .credential_ids()
        .await
        .unwrap_err();
    assert!(e.needs_login(), "not logged in yet: {e:?}");
}
