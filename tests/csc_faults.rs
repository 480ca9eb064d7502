//! Faults between the CSC client and the RSSP: what is retried (idempotent
//! calls only), what is never repeated (`signHash`, `credentials/authorize`),
//! and replies that must never become output. The sandbox injects server
//! errors, `temporarily_unavailable`, dropped connections and truncated JSON;
//! mockito serves only what the sandbox cannot: fewer signatures than
//! hashes, a signature that does not verify, undecodable signatures.
#![cfg(feature = "sandbox")]
#![allow(clippy::unwrap_used)]

mod common;
mod csc_support;

use std::sync::Arc;

use base64::Engine as _;
use crpki::csc::wire::v2::{AuthDescription, CertDescription, CredentialInfo, KeyDescription};
use crpki::csc::{
    BasicLoginSource, CscClient, CscSigner, CscVersion, ImplicitAuthorizer, RetryConfig, SignerOptions,
    StaticTokenSource,
};
use crpki::sandbox::FaultSettings;
use crpki::signer::oid;
use crpki::{Error, RemoteSigner, Secret, SignatureAlgorithm};
use csc_support::*;

const V2: CscVersion = CscVersion::V2;
const RSA: SignatureAlgorithm = SignatureAlgorithm::RSA_PKCS1_SHA256;

// ---- injected by the sandbox ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_for_idempotent_calls_only() {
    let sb = sandbox().await;
    let kept = signer(&sb, V2, "alice", "alice-rsa", SignerOptions::default()).await;
    kept.sign_digests(RSA, &digests("warm", 1)).await.unwrap();
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
    sb.faults().set(FaultSettings {
        server_error_rate: 1.0,
        ..Default::default()
    });

    let before = sb.stats();
    let e = kept.client().credential_info("alice-rsa").await.unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    assert_eq!(
        delta(before, sb.stats()).requests,
        4,
        "credentials/info: 1 + 3 retries"
    );

    let before = sb.stats();
    let e = kept.sign_digests(RSA, &digests("5xx sign", 2)).await.unwrap_err();
    assert!(matches!(e, Error::ServiceUnavailable { .. }), "{e:?}");
    assert_eq!(delta(before, sb.stats()).requests, 1, "signHash is sent once");

    let before = sb.stats();
    let e = exact
        .sign_digests(RSA, &digests("5xx authorize", 2))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::ServiceUnavailable { .. }), "{e:?}");
    assert_eq!(
        delta(before, sb.stats()).requests,
        1,
        "credentials/authorize is sent once"
    );

    sb.faults().set(FaultSettings::default());
    let before = sb.stats();
    let batch = digests("after 5xx", 2);
    let sigs = kept.sign_digests(RSA, &batch).await.unwrap();
    let d = delta(before, sb.stats());
    // The SAD kept before the failure was dropped: a fresh authorization.
    assert_eq!((d.authorizations, d.sign_hash_calls), (1, 1), "{d:?}");
    let key = kept.certificate().public_key().unwrap();
    for (d, s) in batch.iter().zip(&sigs) {
        key.verify_digest(RSA, d, s).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporarily_unavailable_honours_retry_after_for_reads_only() {
    let sb = sandbox().await;
    let bare = bare_client(&sb, V2).with_retry(RetryConfig {
        max_retries: 1,
        ..fast_retry()
    });
    let login = BasicLoginSource::new(
        bare.without_token_source(),
        "alice",
        Secret::new("alice-password"),
    );
    let c = Arc::new(bare.with_token_source(Arc::new(login)));
    assert_eq!(c.credential_ids().await.unwrap(), ["alice-rsa"]);
    let s = alice_signer(c.clone()).await;
    s.sign_digests(RSA, &digests("warm", 1)).await.unwrap();
    sb.faults().set(FaultSettings {
        unavailable_rate: 1.0,
        ..Default::default()
    });
    let before = sb.stats();
    let e = c.credential_ids().await.unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    assert!(e.to_string().contains("temporarily_unavailable"), "{e}");
    assert_eq!(delta(before, sb.stats()).requests, 2);
    let before = sb.stats();
    let e = s.sign_digests(RSA, &digests("503", 1)).await.unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    assert_eq!(delta(before, sb.stats()).requests, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connection_on_sign_hash_is_not_repeated() {
    let sb = sandbox().await;
    let s = signer(&sb, V2, "alice", "alice-rsa", SignerOptions::default()).await;
    s.sign_digests(RSA, &digests("warm", 1)).await.unwrap();
    sb.faults().set(FaultSettings {
        drop_rate: 1.0,
        ..Default::default()
    });

    let before = sb.stats();
    let e = s.client().credential_ids().await.unwrap_err();
    assert!(matches!(e, Error::ServiceUnavailable { .. }), "{e:?}");
    assert_eq!(delta(before, sb.stats()).requests, 4, "a read is retried");

    let before = sb.stats();
    let e = s.sign_digests(RSA, &digests("dropped", 3)).await.unwrap_err();
    assert!(matches!(e, Error::ServiceUnavailable { .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("signatures/signHash") && text.contains("unknown"),
        "{text}"
    );
    assert_eq!(delta(before, sb.stats()).requests, 1, "signHash was sent again");

    sb.faults().set(FaultSettings::default());
    let before = sb.stats();
    let batch = digests("after the drop", 3);
    let sigs = s.sign_digests(RSA, &batch).await.unwrap();
    let d = delta(before, sb.stats());
    assert_eq!(
        (d.authorizations, d.sign_hash_calls),
        (1, 1),
        "the SAD of the dropped call must not be reused: {d:?}"
    );
    assert_eq!(sigs.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_json_is_a_protocol_error_and_not_retried() {
    let sb = sandbox().await;
    let s = signer(&sb, V2, "alice", "alice-rsa", SignerOptions::default()).await;
    s.sign_digests(RSA, &digests("warm", 1)).await.unwrap();
    sb.faults().set(FaultSettings {
        malformed_json_rate: 1.0,
        ..Default::default()
    });
    let before = sb.stats();
    let e = s.client().credential_ids().await.unwrap_err();
    assert!(matches!(e, Error::Protocol { .. }), "{e:?}");
    assert_eq!(delta(before, sb.stats()).requests, 1);

    let before = sb.stats();
    let e = s.sign_digests(RSA, &digests("truncated", 2)).await.unwrap_err();
    assert!(matches!(e, Error::Protocol { .. }), "{e:?}");
    let d = delta(before, sb.stats());
    assert_eq!((d.requests, d.sign_hash_calls), (1, 1), "{d:?}");

    sb.faults().set(FaultSettings::default());
    let before = sb.stats();
    s.sign_digests(RSA, &digests("after truncation", 2))
        .await
        .unwrap();
    assert_eq!(delta(before, sb.stats()).authorizations, 1);
}

// ---- served by mockito: replies the sandbox never gives ----

fn b64(d: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(d)
}

fn credential_info_body() -> String {
    let cert = std::fs::read(common::fixture("rep-rsa2048.der")).unwrap();
    let root = std::fs::read(common::fixture("registrar-root.der")).unwrap();
    serde_json::to_string(&CredentialInfo {
        key: KeyDescription {
            status: "enabled".into(),
            algo: vec![oid::SHA256_WITH_RSA.to_string()],
            len: 2048,
            curve: None,
        },
        cert: Some(CertDescription {
            status: Some("valid".into()),
            certificates: Some(vec![b64(&cert), b64(&root)]),
            ..Default::default()
        }),
        auth: Some(AuthDescription {
            mode: "implicit".into(),
            ..Default::default()
        }),
        scal: "1".into(),
        multisign: 10,
        ..Default::default()
    })
    .unwrap()
}

struct Mock {
    server: mockito::ServerGuard,
    signer: CscSigner,
}

async fn mock_rssp() -> Mock {
    let mut server = mockito::Server::new_async().await;
    server
        .mock("POST", "/csc/v2/credentials/info")
        .with_header("content-type", "application/json")
        .with_body(credential_info_body())
        .create_async()
        .await;
    server
        .mock("POST", "/csc/v2/credentials/authorize")
        .with_header("content-type", "application/json")
        .with_body(r#"{"SAD":"sad_mock","expiresIn":300}"#)
        .create_async()
        .await;
    let http = crpki::auth::http_client(&crpki::auth::TransportConfig::default()).unwrap();
    let client = CscClient::new(http, &format!("{}/csc/v2/", server.url()), V2)
        .unwrap()
        .with_retry(fast_retry())
        .with_token_source(Arc::new(StaticTokenSource::new("at_mock")));
    let signer = CscSigner::new(
        Arc::new(client),
        "mock-rsa",
        Arc::new(ImplicitAuthorizer),
        SignerOptions {
            reuse_authorizations: false,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    Mock { server, signer }
}

/// The reference signatures of `digests`, from the same key.
async fn real_signatures(digests: &[crpki::Digest]) -> Vec<Vec<u8>> {
    common::memory_signer("rep-rsa2048")
        .sign_digests(RSA, digests)
        .await
        .unwrap()
}

/// Signs `batch` against a mock whose `signHash` answers `reply` with
/// `status`; the request must be sent exactly once.
async fn sign_with_reply(reply: String, status: usize, batch: &[crpki::Digest]) -> Error {
    let mut m = mock_rssp().await;
    let sign = m
        .server
        .mock("POST", "/csc/v2/signatures/signHash")
        .with_status(status)
        .with_header("content-type", "application/json")
        .with_body(reply)
        .expect(1)
        .create_async()
        .await;
    let e = m.signer.sign_digests(RSA, batch).await.unwrap_err();
    sign.assert_async().await;
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mock_serves_good_signatures() {
    let mut m = mock_rssp().await;
    let batch = digests("mock good", 3);
    let reply = serde_json::json!({"signatures": real_signatures(&batch).await.iter().map(|s| b64(s)).collect::<Vec<_>>()});
    m.server
        .mock("POST", "/csc/v2/signatures/signHash")
        .match_header("authorization", "Bearer at_mock")
        .match_body(mockito::Matcher::PartialJson(serde_json::json!({
            "credentialID": "mock-rsa",
            "SAD": "sad_mock",
            "signAlgo": oid::SHA256_WITH_RSA.to_string(),
            "hashAlgorithmOID": oid::SHA256.to_string(),
        })))
        .with_header("content-type", "application/json")
        .with_body(reply.to_string())
        .expect(1)
        .create_async()
        .await;
    let sigs = m.signer.sign_digests(RSA, &batch).await.unwrap();
    assert_eq!(sigs, real_signatures(&batch).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fewer_signatures_than_hashes_is_a_protocol_error() {
    let batch = digests("mock fewer", 3);
    let sigs = real_signatures(&batch).await;
    let reply = serde_json::json!({"signatures": [b64(&sigs[0]), b64(&sigs[1])]}).to_string();
    let e = sign_with_reply(reply, 200, &batch).await;
    assert!(matches!(e, Error::Protocol { .. }), "{e:?}");
    assert!(e.to_string().contains("2 signatures for 3 hashes"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_signatures_than_hashes_is_a_protocol_error() {
    let batch = digests("mock more", 2);
    let mut sigs = real_signatures(&batch).await;
    sigs.push(sigs[0].clone());
    let reply =
        serde_json::json!({"signatures": sigs.iter().map(|s| b64(s)).collect::<Vec<_>>()}).to_string();
    let e = sign_with_reply(reply, 200, &batch).await;
    assert!(matches!(e, Error::Protocol { .. }), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signature_that_does_not_verify_is_never_returned() {
    let batch = digests("mock bad", 3);
    let mut sigs = real_signatures(&batch).await;
    // Swapped: each is a good signature, of another digest.
    sigs.swap(1, 2);
    let reply =
        serde_json::json!({"signatures": sigs.iter().map(|s| b64(s)).collect::<Vec<_>>()}).to_string();
    let e = sign_with_reply(reply, 200, &batch).await;
    assert!(matches!(e, Error::Protocol { .. }), "{e:?}");
    assert!(e.to_string().contains("signature 2 of 3"), "{e}");

    // A corrupted signature.
    let mut sigs = real_signatures(&batch).await;
    sigs[0][10] ^= 0x40;
    let reply =
        serde_json::json!({"signatures": sigs.iter().map(|s| b64(s)).collect::<Vec<_>>()}).to_string();
    let e = sign_with_reply(reply, 200, &batch).await;
    assert!(matches!(e, Error::Protocol { .. }), "{e:?}");
    assert!(e.to_string().contains("signature 1 of 3"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_with_200_is_a_protocol_error() {
    let batch = digests("mock garbage", 2);
    for reply in [
        "<html>proxy login</html>".to_string(),
        r#"{"signatures": "not a list"}"#.to_string(),
        r#"{"signatures": ["@@@ not base64 @@@", "AAAA"]}"#.to_string(),
        String::new(),
    ] {
        let mut m = mock_rssp().await;
        let sign = m
            .server
            .mock("POST", "/csc/v2/signatures/signHash")
            .with_header("content-type", "application/json")
            .with_body(reply.clone())
            .expect(1)
            .create_async()
            .await;
        let e = m.signer.sign_digests(RSA, &batch).await.unwrap_err();
        assert!(matches!(e, Error::Protocol { .. }), "{reply:?}: {e:?}");
        // Sent once: a garbled reply to signHash is not a reason to sign again.
        sign.assert_async().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_reply_without_a_csc_body_is_a_protocol_error() {
    let batch = digests("mock 4xx", 1);
    let e = sign_with_reply("<html>forbidden</html>".into(), 403, &batch).await;
    assert!(matches!(e, Error::Protocol { .. }), "{e:?}");
    assert!(e.to_string().contains("403"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bearer_rejected_twice_is_unauthenticated_after_one_refresh() {
    let mut m = mock_rssp().await;
    let sign = m
        .server
        .mock("POST", "/csc/v2/signatures/signHash")
        .with_status(401)
        .with_header("content-type", "application/json")
        .with_body(r#"{"error":"invalid_token","error_description":"The access token is not valid"}"#)
        .expect(1)
        .create_async()
        .await;
    // The static source cannot refresh: one request, then Unauthenticated.
    let e = m.signer.sign_digests(RSA, &digests("401", 1)).await.unwrap_err();
    assert!(matches!(e, Error::Unauthenticated { .. }), "{e:?}");
    sign.assert_async().await;
}
