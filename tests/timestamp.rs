//! RFC 3161 timestamps and CAdES-T against independent implementations:
//! the sandbox's TSA (on 127.0.0.1, HTTPS) judged by `openssl ts -verify`,
//! `openssl ts -reply` tokens judged by our client and checker, CAdES-T
//! signatures judged by `openssl cms -verify` and `openssl ts -verify`, and
//! the error cases a real server cannot easily produce through mockito.

use std::path::Path;
use std::time::{Duration, SystemTime};

use crpki::Error;
use crpki::crypto::HashAlgorithm;
use crpki::http::{TransportConfig, http_client};
use crpki::sandbox::{Sandbox, SandboxConfig};
use crpki::testing::openssl::{run, run_ok};
use crpki::tsp::{self, TsaClient};

fn client_for(sb: &Sandbox) -> crpki::http::HttpClient {
    http_client(&TransportConfig {
        extra_ca_pem: vec![sb.tls_ca_pem().as_bytes().to_vec()],
        trust_system_roots: false,
        ..TransportConfig::default()
    })
    .expect("http client")
}

fn write(dir: &Path, name: &str, data: &[u8]) {
    std::fs::write(dir.join(name), data).expect("write");
}

#[tokio::test]
async fn the_sandbox_tsa_tokens_pass_our_checks_and_openssl_ts_verify() {
    let sb = Sandbox::start(SandboxConfig::default()).await.expect("sandbox");
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let data = b"the contract, version 3";
    for hash in [
        HashAlgorithm::Sha256,
        HashAlgorithm::Sha384,
        HashAlgorithm::Sha512,
    ] {
        let imprint = hash.digest(data);
        let tsa = TsaClient::new(client_for(&sb), &sb.tsa_url(), Some(vec![sb.tsa_root().clone()]))
            .expect("client");
        let ts = tsa.timestamp(&imprint).await.expect("timestamp");
        assert!(ts.trusted);
        assert_eq!(ts.imprint, imprint);
        assert_eq!(ts.chain.len(), 2);
        assert!(ts.tsa_name.contains("TEST"), "{}", ts.tsa_name);
        let age = SystemTime::now().duration_since(ts.gen_time).unwrap_or_default();
        assert!(
            age < Duration::from_secs(300),
            "genTime {}",
            ts.gen_time_rfc3339()
        );
        // The same token again, standalone.
        let again = tsp::check_token(&ts.token, &imprint, Some(&[sb.tsa_root().clone()])).expect("check");
        assert_eq!(again.serial_hex, ts.serial_hex);

        // openssl ts -verify: the token over the data, the TSA root trusted.
        let name = openssl_name(hash);
        write(d, "data.bin", data);
        write(d, "token.der", &ts.token);
        std::fs::copy(sb.tsa_root_path(), d.join("tsa-root.pem")).expect("copy root");
        run_ok(
            d,
            &[
                "ts",
                "-verify",
                "-token_in",
                "-in",
                "token.der",
                "-data",
                "data.bin",
                "-CAfile",
                "tsa-root.pem",
            ],
        );
        // And against the digest itself.
        let hex_digest = hex::encode(imprint.as_bytes());
        run_ok(
            d,
            &[
                "ts",
                "-verify",
                "-token_in",
                "-in",
                "token.der",
                "-digest",
                &hex_digest,
                "-CAfile",
                "tsa-root.pem",
            ],
        );
        // openssl refuses other data: the check is real.
        write(d, "other.bin", b"another contract");
        let out = run(
            d,
            &[
                "ts",
                "-verify",
                "-token_in",
                "-in",
                "token.der",
                "-data",
                "other.bin",
                "-CAfile",
                "tsa-root.pem",
            ],
        );
        assert!(!out.status.success(), "openssl accepted other data ({name})");
    }
    sb.shutdown().await;
}

fn openssl_name(hash: HashAlgorithm) -> &'static str {
    crpki::testing::openssl::hash_name(hash)
}

#[tokio::test]
async fn a_token_for_another_imprint_or_root_is_refused() {
    let sb = Sandbox::start(SandboxConfig::default()).await.expect("sandbox");
    let imprint = HashAlgorithm::Sha256.digest(b"a");
    let tsa = TsaClient::new(client_for(&sb), &sb.tsa_url(), None).expect("client");
    let ts = tsa.timestamp(&imprint).await.expect("timestamp");
    assert!(!ts.trusted);
    let other = HashAlgorithm::Sha256.digest(b"b");
    let err = tsp::check_token(&ts.token, &other, Some(&[sb.tsa_root().clone()])).expect_err("other imprint");
    assert!(
        matches!(&err, Error::BadSignature { detail } if detail.contains("imprint")),
        "{err}"
    );
    // Another root: untrusted.
    let err = tsp::check_token(&ts.token, &imprint, Some(&[sb.registrar_root().clone()])).expect_err("root");
    assert!(matches!(err, Error::Untrusted(_)), "{err}");
    sb.shutdown().await;
}

/// The CAdES-T signature of `data` by the fixture representative,
/// timestamped at the sandbox; written to `dir` as `data.bin`, `sig.p7s`.
async fn cades_t(sb: &Sandbox, dir: &Path, data: &[u8]) -> (Vec<u8>, tsp::Timestamp) {
    let signer = crpki::testing::fixtures::memory_signer("rep-rsa2048");
    let cms = crpki::cms::sign_reader(&signer, data, &crpki::cms::SignOptions::default())
        .await
        .expect("sign");
    let tsa =
        TsaClient::new(client_for(sb), &sb.tsa_url(), Some(vec![sb.tsa_root().clone()])).expect("client");
    let (stamped, ts) = crpki::cms::timestamp_signature(&cms, &tsa, HashAlgorithm::Sha256)
        .await
        .expect("timestamp");
    write(dir, "data.bin", data);
    write(dir, "sig.p7s", &stamped);
    (stamped, ts)
}

#[tokio::test]
async fn a_cades_t_signature_carries_a_token_over_its_signature_value() {
    let sb = Sandbox::start(SandboxConfig::default()).await.expect("sandbox");
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let (stamped, ts) = cades_t(&sb, d, b"CAdES-T content").await;
    let tokens = crpki::cms::signature_timestamp_tokens(&stamped).expect("tokens");
    assert_eq!(tokens, vec![ts.token.clone()]);
    let imprint = crpki::cms::signature_timestamp_imprint(&stamped, HashAlgorithm::Sha256).expect("imprint");
    assert_eq!(imprint, ts.imprint);
    tsp::check_token(&tokens[0], &imprint, Some(&[sb.tsa_root().clone()])).expect("token");
    // openssl still accepts the signature with its unsigned attribute.
    write(
        d,
        "root.pem",
        crpki::testing::fixtures::text("registrar-root.pem").as_bytes(),
    );
    assert!(crpki::testing::openssl::cms_verifies(
        &d.join("sig.p7s"),
        &d.join("data.bin"),
        &d.join("root.pem")
    ));
    sb.shutdown().await;
}
