//! Revocation against the sandbox on 127.0.0.1 over real HTTPS: its OCSP
//! responder and CRL judged by OpenSSL, our client (checks, the per-run
//! cache, the collected data checked again with the sandbox stopped), and
//! `crpki verify --revocation` on signatures by alice and by the revoked
//! TEST user erin, with the responder misbehaving and gone.
#![cfg(all(feature = "cli", feature = "sandbox"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod csc_support;

use std::path::{Path, PathBuf};
use std::process::Output;

use crpki::csc::{CscVersion, SignerOptions};
use crpki::revocation::{
    AnswerSource, CertStatus, CheckOptions, RevocationClient, RevocationData, RevocationPolicy,
    RevocationReason, check_chain_offline,
};
use crpki::sandbox::{FaultSettings, OcspFault, Sandbox, SandboxConfig};
use crpki::testing::openssl;
use crpki::{Certificate, Error, RemoteSigner, TrustFailure};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The certificate the sandbox hands out for `credential` of `user`.
fn served(sb: &Sandbox, user: &str) -> Certificate {
    sb.user(user).unwrap().credentials[0].certificate.clone()
}

fn write_pem(dir: &Path, name: &str, cert: &Certificate) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, cert.to_pem()).unwrap();
    path
}

async fn openssl_in(dir: &Path, args: &[&str]) -> Output {
    let dir = dir.to_path_buf();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        openssl::run(&dir, &args)
    })
    .await
    .unwrap()
}

/// Fetches `url` (plain HTTP) into `to` with curl, which must succeed.
async fn download(url: &str, to: &Path) {
    let args = vec![
        "-sS".to_owned(),
        "--fail".into(),
        "-o".into(),
        to.display().to_string(),
        url.into(),
    ];
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("curl")
            .args(&args)
            .output()
            .unwrap_or_else(|e| {
                panic!("curl is needed by this test (apt-get install curl; scripts/test.sh does): {e}")
            })
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// `openssl ocsp` verified the response and says `cert` is revoked.
fn verified_revoked(out: &Output, cert: &str) {
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(stdout.contains(&format!("{cert}: revoked")), "{stdout}{stderr}");
    assert!(stderr.contains("Response verify OK"), "{stderr}");
}

/// `openssl ocsp -issuer root.pem -cert CERT… -url URL -CAfile CA` in `dir`.
async fn openssl_ask(dir: &Path, certs: &[&str], url: &str, ca: &str) -> Output {
    let mut args = vec!["ocsp", "-issuer", "root.pem"];
    for c in certs {
        args.extend(["-cert", c]);
    }
    args.extend(["-url", url, "-CAfile", ca]);
    openssl_in(dir, &args).await
}

fn client(sb: &Sandbox) -> RevocationClient {
    RevocationClient::new(csc_support::http(sb))
}

/// A sandbox with a state of its own: it then serves the revocation
/// origin its certificates name (no other sandbox holds that port).
async fn own_sandbox() -> Sandbox {
    let sb = Sandbox::start(SandboxConfig::default()).await.unwrap();
    assert!(sb.revocation_origin().is_some());
    sb
}

fn origin(sb: &Sandbox) -> String {
    sb.revocation_origin().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssl_accepts_the_responder_and_the_crl() {
    let sb = own_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_pem(d, "root.pem", sb.registrar_root());
    write_pem(d, "alice.pem", &served(&sb, "alice"));
    write_pem(d, "erin.pem", &served(&sb, "erin"));
    let ocsp_url = format!("{}/ocsp", origin(&sb));

    // The certificates name the responder, caIssuers and the CRL, on the
    // state's plain-HTTP revocation origin.
    let aia = openssl_in(
        d,
        &[
            "x509",
            "-in",
            "alice.pem",
            "-noout",
            "-ext",
            "authorityInfoAccess,crlDistributionPoints",
        ],
    )
    .await;
    let aia = text(&aia.stdout);
    assert!(aia.contains(&format!("OCSP - URI:{ocsp_url}")), "{aia}");
    assert!(
        aia.contains(&format!("CA Issuers - URI:{}/ca/registrar-root.der", origin(&sb))),
        "{aia}"
    );
    assert!(
        aia.contains(&format!("URI:{}/crl/registrar.crl", origin(&sb))),
        "{aia}"
    );

    // openssl ocsp over POST: alice good, erin revoked (keyCompromise); the
    // responder's certificate chains to the registrar root.
    let out = openssl_ask(d, &["alice.pem", "erin.pem"], &ocsp_url, "root.pem").await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("Response verify OK"), "{stderr}");
    assert!(stdout.contains("alice.pem: good"), "{stdout}");
    assert!(
        stdout.contains("erin.pem: revoked") && stdout.contains("Reason: keyCompromise"),
        "{stdout}"
    );
    // The same responder on the sandbox's HTTPS origin.
    let https_url = format!("{}/ocsp", sb.base_url());
    let out = openssl_ask(d, &["erin.pem"], &https_url, "root.pem").await;
    verified_revoked(&out, "erin.pem");
    // The same answers do not verify against another root.
    std::fs::write(
        d.join("other.pem"),
        std::fs::read(fixture("other-root.pem")).unwrap(),
    )
    .unwrap();
    let out = openssl_ask(d, &["alice.pem"], &ocsp_url, "other.pem").await;
    assert!(
        text(&out.stderr).contains("Response Verify Failure"),
        "{}",
        text(&out.stderr)
    );

    // GET (RFC 6960 appendix A): the request's base64, URL-encoded, after the responder URL.
    openssl::run_ok(
        d,
        &[
            "ocsp",
            "-issuer",
            "root.pem",
            "-cert",
            "erin.pem",
            "-no_nonce",
            "-reqout",
            "req.der",
        ],
    );
    let b64 = {
        use base64::Engine as _;
        let der = std::fs::read(d.join("req.der")).unwrap();
        base64::engine::general_purpose::STANDARD
            .encode(der)
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D")
    };
    download(&format!("{ocsp_url}/{b64}"), &d.join("get.der")).await;
    let out = openssl_in(
        d,
        &[
            "ocsp",
            "-respin",
            "get.der",
            "-issuer",
            "root.pem",
            "-cert",
            "erin.pem",
            "-CAfile",
            "root.pem",
            "-no_nonce",
        ],
    )
    .await;
    verified_revoked(&out, "erin.pem");

    // The CRL: signed by the registrar, listing erin's serial with keyCompromise, not alice's.
    download(&format!("{}/crl/registrar.crl", origin(&sb)), &d.join("crl.der")).await;
    let out = openssl_in(
        d,
        &[
            "crl", "-inform", "DER", "-in", "crl.der", "-CAfile", "root.pem", "-verify", "-noout", "-text",
        ],
    )
    .await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(
        out.status.success() && stderr.contains("verify OK"),
        "{stdout}\n{stderr}"
    );
    let serial = |c: &Certificate| c.serial_hex().to_uppercase();
    assert!(
        stdout.contains(&format!("Serial Number: {}", serial(&served(&sb, "erin")))),
        "{stdout}"
    );
    assert!(stdout.contains("Key Compromise"), "{stdout}");
    assert!(!stdout.contains(&serial(&served(&sb, "alice"))), "{stdout}");
    sb.shutdown().await;
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_checks_caches_collects_and_checks_offline() {
    let sb = own_sandbox().await;
    let root = sb.registrar_root().clone();
    let alice = vec![served(&sb, "alice"), root.clone()];
    let erin = vec![served(&sb, "erin"), root.clone()];
    let client = client(&sb);
    let now = CheckOptions::default();

    let (alice_result, alice_data) = client.check_chain(&alice, &now).await;
    let answer = alice_result.certificates[0]
        .answer
        .clone()
        .expect("an answer for alice");
    assert_eq!(
        (answer.status, answer.source),
        (CertStatus::Good, AnswerSource::Ocsp)
    );
    assert_eq!(
        answer.url.as_deref(),
        Some(format!("{}/ocsp", origin(&sb)).as_str())
    );
    assert_eq!(
        alice_result.enforce(RevocationPolicy::Require).unwrap(),
        Vec::<String>::new()
    );
    // What was collected: the OCSP response and the delegated responder's certificate.
    assert_eq!(alice_data.ocsp_responses.len(), 1);
    assert!(
        alice_data
            .certificates
            .iter()
            .any(|c| c.subject().contains("OCSP responder"))
    );

    let (erin_result, erin_data) = client.check_chain(&erin, &now).await;
    let (time, reason) = erin_result.certificates[0].revoked().expect("erin is revoked");
    assert_eq!(reason, Some(RevocationReason::KeyCompromise));
    assert!(!time.is_empty());
    let e = erin_result.enforce(RevocationPolicy::Prefer).unwrap_err();
    assert!(
        matches!(e, Error::Untrusted(TrustFailure::Revoked { .. })),
        "{e:?}"
    );

    // A chain without its issuer: the issuer comes from caIssuers, and is collected.
    let (lone_result, lone_data) = RevocationClient::new(csc_support::http(&sb))
        .check_chain(&alice[..1], &now)
        .await;
    assert_eq!(
        lone_result.certificates[0].answer.as_ref().unwrap().status,
        CertStatus::Good
    );
    assert!(
        lone_data.certificates.contains(&root),
        "{:?}",
        lone_data.certificates
    );

    // The per-run cache: asking again sends nothing.
    let (ocsp_before, _) = sb.revocation_requests();
    assert_eq!(ocsp_before, 3, "one OCSP request per certificate and client");
    let sent = client.requests_sent();
    let again = client.check_chain(&alice, &now).await.0;
    assert_eq!(again, alice_result);
    assert_eq!(
        (sb.revocation_requests().0, client.requests_sent()),
        (ocsp_before, sent)
    );

    // Without a usable OCSP answer the CRL is fetched, once.
    sb.faults().set(FaultSettings {
        ocsp: OcspFault::Stale,
        ..Default::default()
    });
    let fresh = RevocationClient::new(csc_support::http(&sb));
    let (result, crl_data) = fresh.check_chain(&erin, &now).await;
    let c = &result.certificates[0];
    assert_eq!(c.answer.as_ref().unwrap().source, AnswerSource::Crl);
    assert_eq!(c.revoked().unwrap().1, Some(RevocationReason::KeyCompromise));
    assert!(c.problems[0].contains("stale"), "{:?}", c.problems);
    let _ = fresh.check_chain(&alice, &now).await;
    assert_eq!(
        sb.revocation_requests().1,
        1,
        "the CRL is fetched once for both chains"
    );
    sb.faults().set(FaultSettings::default());
    sb.shutdown().await;

    // Offline, from what was collected, with the sandbox stopped.
    let offline = check_chain_offline(&alice, &alice_data, &now);
    assert_eq!(
        offline.certificates[0].answer.as_ref().unwrap().status,
        CertStatus::Good
    );
    assert!(offline.enforce(RevocationPolicy::Require).is_ok());
    for data in [&erin_data, &crl_data] {
        let offline = check_chain_offline(&erin, data, &now);
        assert!(offline.certificates[0].revoked().is_some(), "{offline:?}");
    }
    // Nothing collected: require fails, prefer warns.
    let none = check_chain_offline(&alice, &RevocationData::default(), &now);
    let e = none.enforce(RevocationPolicy::Require).unwrap_err();
    assert!(
        matches!(e, Error::Untrusted(TrustFailure::RevocationUnknown { .. })),
        "{e:?}"
    );
    assert_eq!(none.enforce(RevocationPolicy::Prefer).unwrap().len(), 1);
}

/// Runs `crpki` with the config directory whose `sandbox` profile points
/// at the test's sandbox.
async fn crpki(config: &Path, args: &[&str]) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_crpki"));
    cmd.args(args)
        .env("CRPKI_CONFIG_DIR", config)
        .env_remove("CRPKI_PROFILE")
        .env_remove("CRPKI_SANDBOX_STATE")
        .env_remove("CRPKI_LOG")
        .stdin(std::process::Stdio::null());
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

async fn sign_file(sb: &Sandbox, user: &str, credential: &str, file: &Path) {
    let signer = csc_support::signer(sb, CscVersion::V2, user, credential, SignerOptions::default()).await;
    let signer: &dyn RemoteSigner = &signer;
    let sig = crpki::cms::sign_reader(signer, std::fs::File::open(file).unwrap(), &Default::default())
        .await
        .unwrap();
    std::fs::write(format!("{}.p7s", file.display()), sig).unwrap();
}

/// `crpki verify FILE --ca ROOT EXTRA…` with the test's config directory.
async fn verify(config: &Path, file: &str, root: &str, extra: &[&str]) -> Output {
    let mut args = vec!["verify", file, "--ca", root];
    args.extend_from_slice(extra);
    crpki(config, &args).await
}

/// The `revocation` member of `crpki verify --json --revocation require`
/// for `file`, which must verify.
async fn require_json(config: &Path, file: &str, root: &str) -> serde_json::Value {
    let out = verify(config, file, root, &["--revocation", "require", "--json"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["revocation"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crpki_verify_revocation_policies() {
    let dir = tempfile::tempdir().unwrap();
    let (sb, _store) = csc_support::profile_sandbox(dir.path()).await;
    let config = dir.path().join("config");
    let root = write_pem(dir.path(), "root.pem", sb.registrar_root());
    let root = root.display().to_string();
    let (alice, erin) = (dir.path().join("alice.txt"), dir.path().join("erin.txt"));
    std::fs::write(&alice, "signed by alice").unwrap();
    std::fs::write(&erin, "signed by erin, whose certificate is revoked").unwrap();
    sign_file(&sb, "alice", "alice-rsa", &alice).await;
    sign_file(&sb, "erin", "erin-rsa", &erin).await;
    let (alice, erin) = (alice.display().to_string(), erin.display().to_string());
    // The signatures are good as signatures (openssl agrees).
    for f in [&alice, &erin] {
        let sig = PathBuf::from(format!("{f}.p7s"));
        assert!(openssl::cms_verifies(&sig, Path::new(f), Path::new(&root)));
    }

    // erin: revoked under require and under the default (prefer), exit 3, reason and time.
    for extra in [&["--revocation", "require"][..], &[][..]] {
        let out = verify(&config, &erin, &root, extra).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{stderr}");
        assert!(
            stderr.contains("was revoked at") && stderr.contains("reason keyCompromise"),
            "{stderr}"
        );
    }
    // off: no check.
    let out = verify(&config, &erin, &root, &["--revocation", "off"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));

    // alice: good, by OCSP; --json says so.
    let out = verify(&config, &alice, &root, &["--revocation", "require"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("revocation:    not revoked (OCSP"),
        "{}",
        text(&out.stdout)
    );
    let r = require_json(&config, &alice, &root).await;
    assert_eq!(r["policy"], "require");
    assert_eq!(r["certificates"][0]["answer"]["status"], "good");
    assert_eq!(r["certificates"][0]["answer"]["source"], "ocsp");

    // A misbehaving responder: each is named, and the CRL answers instead.
    for (fault, said) in [
        (OcspFault::Stale, "stale"),
        (OcspFault::Garbage, "malformed OCSP response"),
        (OcspFault::BadSignature, "does not verify"),
        (OcspFault::TryLater, "answered tryLater"),
        (OcspFault::Unavailable, "503"),
    ] {
        sb.faults().set(FaultSettings {
            ocsp: fault,
            ..Default::default()
        });
        let c = require_json(&config, &alice, &root).await["certificates"][0].clone();
        assert_eq!(c["answer"]["source"], "crl", "{fault:?}: {c}");
        assert!(
            c["problems"][0].as_str().unwrap().contains(said),
            "{fault:?}: {c}"
        );
        let out = verify(&config, &erin, &root, &["--revocation", "require"]).await;
        assert_eq!(out.status.code(), Some(3), "{fault:?}: {}", text(&out.stderr));
    }
    sb.faults().set(FaultSettings::default());

    // The sandbox gone: require fails (exit 3), prefer warns and passes.
    sb.shutdown().await;
    let out = verify(&config, &alice, &root, &["--revocation", "require"]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("revocation status of") && stderr.contains("unknown"),
        "{stderr}"
    );
    let out = verify(&config, &alice, &root, &[]).await;
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: revocation of") && stderr.contains("not checked"),
        "{stderr}"
    );
}

/// A signature timestamp over the signature value of `cms`, made with the
/// sandbox TSA's key and dated `at` (the live TSA only dates tokens now).
fn backdated_token(sb: &Sandbox, cms: &[u8], at: std::time::SystemTime) -> Vec<u8> {
    let dir = sb.tsa_root_path().parent().unwrap();
    let pem = std::fs::read_to_string(dir.join("tsa.key.pem")).unwrap();
    let (_, der) = der::pem::decode_vec(pem.as_bytes()).unwrap();
    let key = crpki::PrivateKey::from_pkcs8_der(&der).unwrap();
    let cert = Certificate::from_pem_or_der(&std::fs::read(dir.join("tsa.pem")).unwrap()).unwrap();
    let imprint = crpki::cms::signature_timestamp_imprint(cms, crpki::HashAlgorithm::Sha256).unwrap();
    let request = crpki::tsp::TimestampRequest::new(&imprint).unwrap();
    let reply = crpki::sandbox::timestamp_reply(&key, &cert, request.to_der(), at).unwrap();
    crpki::tsp::parse_reply(&reply).unwrap().token.unwrap()
}

/// Long-term validation: erin's certificate was revoked a day after its
/// notBefore. A signature that a trusted timestamp dates before that still
/// verifies (with a warning naming the revocation); dated after it, or
/// with the timestamp not trusted, it fails as revoked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_timestamp_before_the_revocation_keeps_the_signature() {
    const HOUR: std::time::Duration = std::time::Duration::from_secs(3600);
    let dir = tempfile::tempdir().unwrap();
    let (sb, _store) = csc_support::profile_sandbox(dir.path()).await;
    let config = dir.path().join("config");
    let root = write_pem(dir.path(), "root.pem", sb.registrar_root());
    let root = root.display().to_string();
    let tsa_root = sb.tsa_root_path().display().to_string();
    let revoked_at = served(&sb, "erin").not_before() + 24 * HOUR;
    let doc = dir.path().join("erin.txt");
    std::fs::write(&doc, "signed by erin before her key was reported compromised").unwrap();
    sign_file(&sb, "erin", "erin-rsa", &doc).await;
    let sig = PathBuf::from(format!("{}.p7s", doc.display()));
    let plain = std::fs::read(&sig).unwrap();
    let doc = doc.display().to_string();
    let trusted = ["--tsa-ca", tsa_root.as_str(), "--revocation", "require"];

    let before =
        crpki::cms::add_signature_timestamp(&plain, &backdated_token(&sb, &plain, revoked_at - 12 * HOUR))
            .unwrap();
    std::fs::write(&sig, &before).unwrap();
    let out = verify(&config, &doc, &root, &trusted).await;
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning:") && stderr.contains("was revoked at") && stderr.contains("keyCompromise"),
        "{stderr}"
    );
    // The same token, not trusted (no --tsa-ca): revoked.
    let out = verify(&config, &doc, &root, &["--revocation", "require"]).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));

    let after =
        crpki::cms::add_signature_timestamp(&plain, &backdated_token(&sb, &plain, revoked_at + 12 * HOUR))
            .unwrap();
    std::fs::write(&sig, &after).unwrap();
    let out = verify(&config, &doc, &root, &trusted).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("was revoked at"), "{stderr}");
    sb.shutdown().await;
}
