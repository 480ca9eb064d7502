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

/// Whether `openssl ts -verify` accepts `token.der` in `d` for the data
/// file or hex digest `over` (`flag`: `-data` or `-digest`), trusting `ca`.
fn ts_verify(d: &Path, flag: &str, over: &str, ca: &str) -> bool {
    let out = run(
        d,
        &[
            "ts",
            "-verify",
            "-token_in",
            "-in",
            "token.der",
            flag,
            over,
            "-CAfile",
            ca,
        ],
    );
    if !out.status.success() {
        eprintln!("openssl ts -verify: {}", String::from_utf8_lossy(&out.stderr));
    }
    out.status.success()
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
        assert!(
            ts_verify(d, "-data", "data.bin", "tsa-root.pem"),
            "openssl ts -verify refused the token"
        );
        // And against the digest itself.
        let hex_digest = hex::encode(imprint.as_bytes());
        assert!(
            ts_verify(d, "-digest", &hex_digest, "tsa-root.pem"),
            "openssl ts -verify refused the token"
        );
        // openssl refuses other data: the check is real.
        write(d, "other.bin", b"another contract");
        let refused = !ts_verify(d, "-data", "other.bin", "tsa-root.pem");
        assert!(refused, "openssl accepted other data ({name})");
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

/// A TEST TSA made and run with the openssl CLI (`openssl ts -reply`).
struct OpensslTsa {
    dir: tempfile::TempDir,
}

impl OpensslTsa {
    /// A root, and a TSA certificate under it with `extensions` (an
    /// openssl extension file's lines).
    fn new(extensions: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        crpki::testing::openssl::ca_and_leaf(
            d,
            "/O=crpki TEST/CN=openssl TEST TSA root",
            "/O=crpki TEST/CN=openssl TEST TSA",
            extensions,
        );
        write(
            d,
            "ts.cnf",
            b"[ tsa ]\ndefault_tsa = tsa1\n[ tsa1 ]\ndir = .\nserial = ./tsaserial\ncrypto_device = builtin\n\
              signer_cert = ./leaf.pem\nsigner_key = ./leaf.key\nsigner_digest = sha256\n\
              default_policy = 1.2.3.4.1\ndigests = sha256, sha384, sha512\naccuracy = secs:1\n\
              ordering = no\ntsa_name = yes\ness_cert_id_chain = no\ness_cert_id_alg = sha256\n",
        );
        write(d, "tsaserial", b"01\n");
        Self { dir }
    }

    fn root(&self) -> crpki::Certificate {
        crpki::Certificate::from_pem_or_der(&std::fs::read(self.dir.path().join("ca.pem")).expect("root"))
            .expect("root")
    }

    /// A reply made by the sandbox's TSA code with this TSA's key and
    /// certificate (for certificates `openssl ts -reply` refuses to use).
    fn signed_by_our_code(&self, request: &[u8]) -> Vec<u8> {
        let pem = std::fs::read(self.dir.path().join("leaf.key")).expect("key");
        let (_, der) = der::pem::decode_vec(&pem).expect("PEM key");
        let key = crpki::PrivateKey::from_pkcs8_der(&der).expect("key");
        let cert = crpki::Certificate::from_pem_or_der(
            &std::fs::read(self.dir.path().join("leaf.pem")).expect("cert"),
        )
        .expect("cert");
        crpki::sandbox::timestamp_reply(&key, &cert, request, SystemTime::now()).expect("reply")
    }

    /// `openssl ts -reply` to a DER request.
    fn reply(&self, request: &[u8]) -> Vec<u8> {
        reply_in(self.dir.path(), request)
    }
}

fn reply_in(d: &Path, request: &[u8]) -> Vec<u8> {
    let name = format!(
        "req-{}.tsq",
        hex::encode(&HashAlgorithm::Sha256.digest(request).as_bytes()[..8])
    );
    write(d, &name, request);
    let out = format!("{name}.tsr");
    run_ok(
        d,
        &[
            "ts",
            "-reply",
            "-config",
            "ts.cnf",
            "-queryfile",
            &name,
            "-out",
            &out,
        ],
    );
    std::fs::read(d.join(out)).expect("reply")
}

const TSA_EXTENSIONS: &str = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n\
                              extendedKeyUsage=critical,timeStamping\n";

fn plain_client() -> crpki::http::HttpClient {
    http_client(&TransportConfig::default()).expect("http client")
}

#[tokio::test]
async fn our_client_accepts_openssl_ts_reply_tokens() {
    let tsa = OpensslTsa::new(TSA_EXTENSIONS);
    let tsa_dir = tsa.dir.path().to_path_buf();
    let mut server = mockito::Server::new_async().await;
    let mock = server
        .mock("POST", "/tsa")
        .match_header("content-type", tsp::TIMESTAMP_QUERY)
        .with_header("content-type", tsp::TIMESTAMP_REPLY)
        .with_body_from_request(move |req| reply_in(&tsa_dir, req.body().expect("body")))
        .expect(3)
        .create_async()
        .await;
    let url = format!("{}/tsa", server.url());
    let client = TsaClient::new(plain_client(), &url, Some(vec![tsa.root()])).expect("client");
    for hash in [
        HashAlgorithm::Sha256,
        HashAlgorithm::Sha384,
        HashAlgorithm::Sha512,
    ] {
        let imprint = hash.digest(b"contract");
        let ts = client.timestamp(&imprint).await.expect("openssl token");
        assert!(ts.trusted);
        assert_eq!(ts.imprint, imprint);
        assert_eq!(ts.policy.to_string(), "1.2.3.4.1");
        assert!(ts.tsa_name.contains("openssl TEST TSA"), "{}", ts.tsa_name);
    }
    mock.assert_async().await;
}

#[tokio::test]
async fn tsa_failures_give_clear_errors() {
    let tsa = OpensslTsa::new(TSA_EXTENSIONS);
    let imprint = HashAlgorithm::Sha256.digest(b"contract");
    let mut server = mockito::Server::new_async().await;
    let url = format!("{}/tsa", server.url());
    let client = || {
        TsaClient::new(plain_client(), &url, Some(vec![tsa.root()]))
            .expect("client")
            .with_retry(crpki::http::RetryConfig::none())
    };
    // Serves one reply and returns the client's error about it.
    let mut refused = async |status: usize, ct: &str, body: Vec<u8>| -> Error {
        let m = server
            .mock("POST", "/tsa")
            .with_status(status)
            .with_header("content-type", ct)
            .with_body(body)
            .create();
        let err = client().timestamp(&imprint).await.expect_err("refused");
        m.remove();
        err
    };
    let protocol = |err: &Error, word: &str| {
        assert!(
            matches!(err, Error::Protocol { detail, .. } if detail.contains(word)),
            "{err}"
        );
    };

    // An HTTP refusal.
    let err = refused(403, "text/plain", b"forbidden for this client".to_vec()).await;
    assert!(
        matches!(&err, Error::Remote { status: 403, description, .. } if description.contains("forbidden")),
        "{err}"
    );
    // A server error, after the (disabled) retries.
    let err = refused(503, "text/plain", b"down".to_vec()).await;
    assert!(matches!(&err, Error::ServiceUnavailable { .. }), "{err}");
    // A reply that is not a timestamp reply (a captive portal, a proxy page).
    let other = tsa.reply(tsp::TimestampRequest::new(&imprint).expect("req").to_der());
    protocol(&refused(200, "text/html", other.clone()).await, "text/html");
    // A valid token for the same imprint but another request: wrong nonce.
    protocol(&refused(200, tsp::TIMESTAMP_REPLY, other).await, "nonce");
    // A valid token for another imprint (tampered or mixed up).
    let elsewhere = tsa.reply(
        tsp::TimestampRequest::new(&HashAlgorithm::Sha256.digest(b"other"))
            .expect("req")
            .to_der(),
    );
    protocol(&refused(200, tsp::TIMESTAMP_REPLY, elsewhere).await, "imprint");
    // A reply larger than any token: refused before it is parsed.
    let too_large = vec![0x30; tsp::MAX_TOKEN_SIZE + 1];
    protocol(&refused(200, tsp::TIMESTAMP_REPLY, too_large).await, "at most");
    // A rejection, with its reason and failure bit.
    let rejection =
        crpki::sandbox::timestamp_rejection("policy 1.2.3 is not offered", 15).expect("rejection");
    let err = refused(200, tsp::TIMESTAMP_REPLY, rejection).await;
    let shown = err.to_string();
    assert!(
        matches!(&err, Error::Remote { code, .. } if code == "PKIStatus rejection"),
        "{shown}"
    );
    assert!(
        shown.contains("policy 1.2.3 is not offered") && shown.contains("unacceptedPolicy"),
        "{shown}"
    );
}

#[test]
fn a_tsa_certificate_without_the_timestamping_purpose_is_refused() {
    // openssl ts -reply refuses to sign with such a certificate, so the
    // token is made by the sandbox's TSA code with a TEST signing
    // certificate (MOJ-style, no extendedKeyUsage) as the "TSA".
    let key = crpki::testing::fixtures::key("rep-rsa2048");
    let cert = crpki::testing::fixtures::cert("rep-rsa2048");
    let root = crpki::testing::fixtures::cert("registrar-root");
    let at = cert.not_before() + Duration::from_secs(86_400);
    let imprint = HashAlgorithm::Sha256.digest(b"x");
    let req = tsp::TimestampRequest::new(&imprint).expect("req");
    let reply = crpki::sandbox::timestamp_reply(&key, &cert, req.to_der(), at).expect("reply");
    let err =
        tsp::check_reply(&reply, &req, Some(std::slice::from_ref(&root)), "test TSA").expect_err("no EKU");
    assert!(
        matches!(&err, Error::Untrusted(crpki::TrustFailure::KeyUsage { needed, .. }) if needed.contains("timeStamping")),
        "{err}"
    );
    // Without roots too: the purpose is checked even when trust is not.
    let err = tsp::check_reply(&reply, &req, None, "test TSA").expect_err("no EKU");
    assert!(matches!(&err, Error::Untrusted(_)), "{err}");
    // The purpose in a non-critical extension (RFC 3161 §2.3 requires it
    // critical; openssl ts -reply refuses to sign with it): refused too.
    let tsa = OpensslTsa::new("basicConstraints=CA:FALSE\nextendedKeyUsage=timeStamping\n");
    let reply = tsa.signed_by_our_code(req.to_der());
    let err = tsp::check_reply(&reply, &req, Some(&[tsa.root()]), "test TSA").expect_err("not critical");
    assert!(
        matches!(&err, Error::Untrusted(crpki::TrustFailure::KeyUsage { .. })),
        "{err}"
    );
    // Critical, but with a second purpose: RFC 3161 wants timeStamping only.
    let tsa =
        OpensslTsa::new("basicConstraints=CA:FALSE\nextendedKeyUsage=critical,timeStamping,serverAuth\n");
    let reply = tsa.signed_by_our_code(req.to_der());
    let err = tsp::check_reply(&reply, &req, Some(&[tsa.root()]), "test TSA").expect_err("two purposes");
    assert!(
        matches!(&err, Error::Untrusted(crpki::TrustFailure::KeyUsage { .. })),
        "{err}"
    );
}

/// A signer whose certificate (under the fixture registrar root, same
/// name and key) expires `seconds` from now.
fn short_lived_signer(seconds: i64) -> (crpki::MemorySigner, SystemTime) {
    use rcgen::{CertificateParams, DistinguishedName, DnType, Issuer, KeyPair, KeyUsagePurpose};
    let rsa = |name: &str| {
        KeyPair::from_pem_and_sign_algo(
            &crpki::testing::fixtures::text(&format!("{name}.key.pem")),
            &rcgen::PKCS_RSA_SHA256,
        )
        .expect("key")
    };
    let mut root = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "JP");
    dn.push(DnType::OrganizationName, "Japanese Government");
    dn.push(DnType::OrganizationalUnitName, "Ministry of Justice");
    dn.push(DnType::CommonName, "TEST Registrar of Tokyo Legal Affairs Bureau");
    root.distinguished_name = dn;
    let issuer = Issuer::new(root, rsa("registrar-root"));
    let now = time::OffsetDateTime::now_utc();
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "short-lived TEST signer");
    p.distinguished_name = dn;
    p.serial_number = Some(4242u64.into());
    p.not_before = now - time::Duration::hours(1);
    p.not_after = now + time::Duration::seconds(seconds);
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::ContentCommitment,
    ];
    let leaf = p.signed_by(&rsa("rep-rsa2048"), &issuer).expect("leaf");
    let cert = crpki::Certificate::from_der(leaf.der()).expect("cert");
    let not_after = cert.not_after();
    let signer = crpki::MemorySigner::new(
        crpki::testing::fixtures::key("rep-rsa2048"),
        cert,
        vec![crpki::testing::fixtures::cert("registrar-root")],
    )
    .expect("signer");
    (signer, not_after)
}

#[tokio::test]
async fn a_timestamp_keeps_a_signature_valid_after_its_certificate_expires() {
    let sb = Sandbox::start(SandboxConfig::default()).await.expect("sandbox");
    let (signer, not_after) = short_lived_signer(3);
    let data = b"signed while the certificate was valid";
    let cms = crpki::cms::sign_reader(&signer, &data[..], &crpki::cms::SignOptions::default())
        .await
        .expect("sign");
    let tsa = TsaClient::new(client_for(&sb), &sb.tsa_url(), None).expect("client");
    let (stamped, ts) = crpki::cms::timestamp_signature(&cms, &tsa, HashAlgorithm::Sha256)
        .await
        .expect("timestamp");
    // Wait until the certificate has expired (not a timing assertion: the
    // checks below hold however long this takes).
    while SystemTime::now() <= not_after + Duration::from_secs(1) {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let root = crpki::testing::fixtures::cert("registrar-root");
    let tsa_root = sb.tsa_root().clone();

    // Trusted timestamp: the chain is validated at genTime.
    let v = crpki::cms::verify_detached_timestamped(
        &stamped,
        &data[..],
        std::slice::from_ref(&root),
        std::slice::from_ref(&tsa_root),
        None,
    )
    .expect("valid at the timestamp's time");
    let got = v.timestamp.expect("timestamp");
    assert!(got.trusted);
    assert_eq!(got.serial_hex, ts.serial_hex);
    assert_eq!(v.validated_at, got.gen_time);

    // Without a trusted timestamp: validated now, and expired.
    for result in [
        crpki::cms::verify_detached(&stamped, &data[..], std::slice::from_ref(&root), None),
        crpki::cms::verify_detached_timestamped(&stamped, &data[..], std::slice::from_ref(&root), &[], None),
        // A TSA root that is not the sandbox's: the timestamp is refused.
        crpki::cms::verify_detached_timestamped(
            &stamped,
            &data[..],
            std::slice::from_ref(&root),
            std::slice::from_ref(&root),
            None,
        ),
    ] {
        let err = result.expect_err("expired now");
        assert!(
            matches!(&err, Error::Untrusted(crpki::TrustFailure::Expired { .. }))
                || matches!(&err, Error::BadSignature { detail } if detail.contains("TSA is not trusted")),
            "{err}"
        );
    }
    // The signature without its timestamp: expired.
    let err = crpki::cms::verify_detached_timestamped(&cms, &data[..], &[root], &[tsa_root], None)
        .expect_err("no ts");
    assert!(
        matches!(&err, Error::Untrusted(crpki::TrustFailure::Expired { .. })),
        "{err}"
    );
    sb.shutdown().await;
}

/// The byte ranges openssl's own parser (`openssl asn1parse`) gives for a
/// CAdES-T file: the signature-timestamp token (whole TLV) and the
/// SignerInfo's signature value (contents of the OCTET STRING just before
/// the unsigned attributes).
fn openssl_extract(dir: &Path, file: &str) -> (Vec<u8>, Vec<u8>) {
    let out = run_ok(dir, &["asn1parse", "-inform", "DER", "-in", file]);
    let listing = String::from_utf8_lossy(&out.stdout).into_owned();
    let bytes = std::fs::read(dir.join(file)).expect("read");
    // "  123:d=4  hl=2 l= 256 prim: OCTET STRING"
    let parse = |line: &str| -> (usize, usize, usize, usize) {
        let num = |key: &str| -> usize {
            let at = line.find(key).expect(key) + key.len();
            line[at..]
                .trim_start()
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .expect("n")
                .parse()
                .expect("n")
        };
        let offset = line
            .trim_start()
            .split(':')
            .next()
            .expect("offset")
            .trim()
            .parse()
            .expect("offset");
        (offset, num("d="), num("hl="), num(" l="))
    };
    let lines: Vec<&str> = listing.lines().collect();
    let oid_at = lines
        .iter()
        .position(|l| l.contains("id-smime-aa-timeStampToken"))
        .expect("openssl sees the signature-timestamp attribute");
    // OID, then SET, then the token's SEQUENCE.
    let (off, _, hl, l) = parse(lines[oid_at + 2]);
    let token = bytes[off..off + hl + l].to_vec();
    // The unsigned attributes' [1] is the line before the attribute's SEQUENCE;
    // the signature value is the last OCTET STRING at the same depth before it.
    let (_, cont_depth, _, _) = parse(lines[oid_at - 2]);
    assert!(lines[oid_at - 2].contains("cont [ 1 ]"), "{}", lines[oid_at - 2]);
    let sig_line = lines[..oid_at - 2]
        .iter()
        .rev()
        .find(|l| l.contains("OCTET STRING") && parse(l).1 == cont_depth)
        .expect("signature value");
    let (off, _, hl, l) = parse(sig_line);
    (token, bytes[off + hl..off + hl + l].to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crpki_sign_timestamp_makes_cades_t_that_openssl_and_crpki_verify() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let state = d.join("state");
    let sb = Sandbox::start(SandboxConfig {
        state_dir: Some(state.clone()),
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox");
    crpki::profile::SandboxEndpoints::of(&sb)
        .write(&state)
        .expect("endpoints");
    let files = ["a.txt", "b.txt"];
    for f in files {
        write(d, f, format!("document {f}\n").as_bytes());
    }
    write(
        d,
        "root.pem",
        crpki::testing::fixtures::text("registrar-root.pem").as_bytes(),
    );
    let crpki = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_crpki"))
            .args(args)
            .current_dir(d)
            .env("CRPKI_CONFIG_DIR", d.join("config"))
            .env("CRPKI_SANDBOX_STATE", &state)
            .env("P12_PASSWORD", crpki::testing::fixtures::P12_PASSWORD)
            .env_remove("CRPKI_PROFILE")
            .output()
            .expect("crpki");
        assert!(
            out.status.success(),
            "crpki {args:?}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let p12 = crpki::testing::fixtures::path("rep-rsa2048.p12");
    let p12 = p12.to_str().expect("path");
    let sign_p12 = |how: &[&str]| {
        let mut args = vec!["sign", "--p12", p12, "--password-env", "P12_PASSWORD", "--quiet"];
        args.extend_from_slice(how);
        crpki(&args)
    };
    // The sandbox profile knows the TSA and its root: no --tsa needed.
    sign_p12(&["--timestamp", "a.txt", "b.txt"]);
    let tsa_root = sb.tsa_root_path().to_str().expect("path").to_owned();
    for f in files {
        let sig = format!("{f}.p7s");
        let json = crpki(&["verify", f, "--ca", "root.pem", "--tsa-ca", &tsa_root, "--json"]);
        let v: serde_json::Value = serde_json::from_str(&json).expect("json");
        assert_eq!(v["timestamp"]["trusted"], true, "{json}");
        assert_eq!(v["validated_at"], v["timestamp"]["time"], "{json}");
        let text = crpki(&["verify", f, "--ca", "root.pem"]);
        assert!(
            text.contains("timestamp:") && text.contains("NOT trusted"),
            "{text}"
        );

        // openssl: the signature as a whole, and the token inside it over
        // the signature value, both found by openssl's own parser.
        assert!(crpki::testing::openssl::cms_verifies(
            &d.join(&sig),
            &d.join(f),
            &d.join("root.pem")
        ));
        let (token, signature_value) = openssl_extract(d, &sig);
        write(d, "token.der", &token);
        write(d, "sigvalue.bin", &signature_value);
        assert!(
            ts_verify(d, "-data", "sigvalue.bin", &tsa_root),
            "openssl ts -verify refused the token"
        );
        let mut other = signature_value.clone();
        other[0] ^= 1;
        write(d, "other.bin", &other);
        let refused = !ts_verify(d, "-data", "other.bin", &tsa_root);
        assert!(refused, "openssl accepted the token for another signature value");
    }
    // An explicit --tsa works the same way.
    let url = sb.tsa_url();
    sign_p12(&["--tsa", &url, "a.txt"]);
    assert!(
        crpki(&["verify", "a.txt", "--ca", "root.pem", "--tsa-ca", &tsa_root]).contains("trusted (--tsa-ca)")
    );
    sb.shutdown().await;
}

#[test]
fn truncated_or_altered_tokens_are_errors_not_panics() {
    let tsa = OpensslTsa::new(TSA_EXTENSIONS);
    let imprint = HashAlgorithm::Sha256.digest(b"robust");
    let req = tsp::TimestampRequest::new(&imprint).expect("req");
    let reply = tsa.reply(req.to_der());
    let token = tsp::parse_reply(&reply).expect("reply").token.expect("token");
    let roots = [tsa.root()];
    tsp::check_token(&token, &imprint, Some(&roots)).expect("the original is good");
    for len in (0..token.len()).step_by(7) {
        assert!(
            tsp::check_token(&token[..len], &imprint, Some(&roots)).is_err(),
            "truncated to {len}"
        );
        assert!(tsp::check_reply(&reply[..len.min(reply.len())], &req, Some(&roots), "t").is_err());
    }
    // Single-byte changes: whatever they hit, an error or a still-valid
    // token, never a panic; and never a changed genTime, serial or imprint
    // that still verifies.
    let good = tsp::check_token(&token, &imprint, Some(&roots)).expect("good");
    for at in (0..token.len()).step_by(3) {
        let mut t = token.clone();
        t[at] ^= 0x5a;
        if let Ok(ts) = tsp::check_token(&t, &imprint, Some(&roots)) {
            assert_eq!(ts.gen_time, good.gen_time, "byte {at}");
            assert_eq!(ts.serial_hex, good.serial_hex, "byte {at}");
        }
    }
}

/// The pipelined batch signer timestamps every signature when given a TSA
/// (`PipelineOptions::timestamps`): each output carries one token over
/// its own signature value, trusted with the sandbox TSA's root, chunk
/// after chunk; a TSA that refuses leaves no output at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipeline_timestamps_every_signature_of_every_chunk() {
    let sb = Sandbox::start(SandboxConfig::default()).await.expect("sandbox");
    let dir = tempfile::tempdir().expect("tempdir");
    let inputs: Vec<std::path::PathBuf> = (0..5)
        .map(|i| {
            let f = dir.path().join(format!("doc{i}.txt"));
            write(
                dir.path(),
                &format!("doc{i}.txt"),
                format!("document {i}").as_bytes(),
            );
            f
        })
        .collect();
    let jobs = || {
        inputs
            .iter()
            .map(|f| Ok(crpki::cms::SignJob::beside(f)))
            .collect::<Vec<_>>()
    };
    let signer = crpki::testing::fixtures::memory_signer("rep-rsa2048");
    let tsa =
        TsaClient::new(client_for(&sb), &sb.tsa_url(), Some(vec![sb.tsa_root().clone()])).expect("client");
    let mut options = crpki::cms::PipelineOptions::default();
    options.chunk_size = Some(2);
    options.timestamps = Some(std::sync::Arc::new(tsa));
    let n = crpki::cms::sign_pipeline(&signer, jobs(), &options, |_| {})
        .await
        .expect("pipeline");
    assert_eq!(n, 5);
    let root = crpki::testing::fixtures::cert("registrar-root");
    for f in &inputs {
        let sig = std::fs::read(crpki::cms::SignJob::beside(f).output).expect("signature");
        let tokens = crpki::cms::signature_timestamp_tokens(&sig).expect("tokens");
        assert_eq!(tokens.len(), 1, "{}", f.display());
        let v = crpki::cms::verify_detached_timestamped(
            &sig,
            std::fs::File::open(f).expect("content"),
            std::slice::from_ref(&root),
            &[sb.tsa_root().clone()],
            None,
        )
        .expect("verifies");
        let ts = v.timestamp.expect("timestamp");
        assert!(ts.trusted);
        assert_eq!(v.validated_at, ts.gen_time);
    }

    // A TSA that answers with an error page: nothing new is written.
    for f in &inputs {
        std::fs::remove_file(crpki::cms::SignJob::beside(f).output).expect("remove");
    }
    let mut server = mockito::Server::new_async().await;
    let _down = server
        .mock("POST", "/tsa")
        .with_status(500)
        .with_body("down")
        .create_async()
        .await;
    let refusing = TsaClient::new(plain_client(), &format!("{}/tsa", server.url()), None)
        .expect("client")
        .with_retry(crpki::http::RetryConfig::none());
    options.timestamps = Some(std::sync::Arc::new(refusing));
    let failure = crpki::cms::sign_pipeline(&signer, jobs(), &options, |_| {})
        .await
        .expect_err("TSA down");
    assert!(
        matches!(failure.error, Error::ServiceUnavailable { .. }),
        "{failure}"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".txt"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    sb.shutdown().await;
}
