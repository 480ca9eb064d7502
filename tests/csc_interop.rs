//! The CSC edges met with services and clients we did not write (issue 11,
//! items 9 to 14), each against the sandbox in the matching mode:
//!
//! - "no `certInfo`": `credentials/info` (and v2 `credentials/list`)
//!   answer 501 or 400 to `certInfo: true`; the client asks once more
//!   without it, and never retries a 4xx or 501;
//! - "plain-text errors" (text and HTML error bodies): the client shows
//!   them shortened, with the HTTP status, and names an unknown credential;
//! - the CSC v1 quirks: no `multisign`, no `authMode`, `SCAL` as a
//!   number, hash pinning required for SCAL 1 too;
//! - any RSASSA-PSS salt from another client, signed with exactly that
//!   salt (checked with `openssl pkeyutl`);
//! - errors under `/csc/v1/` naming the v1 fields.
#![allow(clippy::unwrap_used)]

mod csc_support;

use std::process::Command;

use base64::Engine as _;
use crpki::csc::CscVersion::{V1, V2};
use crpki::csc::SignerOptions;
use crpki::sandbox::{ErrorBodies, FaultSettings};
use crpki::{Error, RemoteSigner, SignatureAlgorithm};
use csc_support::*;

const RSA: SignatureAlgorithm = SignatureAlgorithm::RSA_PKCS1_SHA256;
const SHA256_OID: &str = "2.16.840.1.101.3.4.2.1";
const PSS_OID: &str = "1.2.840.113549.1.1.10";

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// DER `RSASSA-PSS-params`: SHA-256, MGF1-SHA-256, salt `salt` bytes.
fn pss_params_sha256(salt: u16) -> Vec<u8> {
    let sha256: &[u8] = &[
        0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
    ];
    let mgf1_oid: &[u8] = &[0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08];
    let tlv = |tag: u8, content: &[u8]| {
        assert!(content.len() < 128);
        let mut v = vec![tag, content.len() as u8];
        v.extend_from_slice(content);
        v
    };
    let hash = tlv(0xa0, sha256);
    let mgf = tlv(0xa1, &tlv(0x30, &[mgf1_oid, sha256].concat()));
    let int = if salt < 128 {
        tlv(0x02, &[salt as u8])
    } else if salt < 256 {
        tlv(0x02, &[0, salt as u8])
    } else {
        tlv(0x02, &salt.to_be_bytes())
    };
    let salt = tlv(0xa2, &int);
    tlv(0x30, &[hash, mgf, salt].concat())
}

fn openssl_pss_verifies(dir: &std::path::Path, digest: &[u8], sig: &[u8], salt: u16) -> bool {
    std::fs::write(dir.join("digest.bin"), digest).unwrap();
    std::fs::write(dir.join("sig.bin"), sig).unwrap();
    let out = Command::new("openssl")
        .current_dir(dir)
        .args([
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            "pub.pem",
            "-in",
            "digest.bin",
        ])
        .args([
            "-sigfile",
            "sig.bin",
            "-pkeyopt",
            "rsa_padding_mode:pss",
            "-pkeyopt",
            "digest:sha256",
        ])
        .args(["-pkeyopt", &format!("rsa_pss_saltlen:{salt}")])
        .output()
        .expect("openssl not found: install it (apt-get install openssl; scripts/test.sh does it)");
    out.status.success()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_pss_salt_is_signed_with_exactly_that_salt() {
    let sb = sandbox().await;
    let raw = Raw::login(&sb, V1, "alice").await;
    let dir = tempfile::tempdir().unwrap();
    let (status, info) = raw
        .post(
            "credentials/info",
            serde_json::json!({"credentialID": "alice-rsa", "certificates": "single"}),
        )
        .await;
    assert_eq!(status, 200, "{info}");
    let cert = base64::engine::general_purpose::STANDARD
        .decode(info["cert"]["certificates"][0].as_str().unwrap())
        .unwrap();
    std::fs::write(dir.path().join("cert.der"), cert).unwrap();
    let out = Command::new("openssl")
        .current_dir(dir.path())
        .args([
            "x509", "-inform", "DER", "-in", "cert.der", "-pubkey", "-noout", "-out", "pub.pem",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");

    // 0, SHA-1's length, the hash length, something between, and the
    // largest RSA-2048 allows with SHA-256 (256 - 32 - 2), pyHanko's.
    let salts = [0u16, 20, 32, 100, 222];
    let (status, auth) = raw
        .post(
            "credentials/authorize",
            serde_json::json!({"credentialID": "alice-rsa", "numSignatures": salts.len() + 1, "PIN": "1234"}),
        )
        .await;
    assert_eq!(status, 200, "{auth}");
    let sad = auth["SAD"].as_str().unwrap();
    for salt in salts {
        let digest = crpki::HashAlgorithm::Sha256.digest(format!("salt {salt}").as_bytes());
        let (status, r) = raw
            .post(
                "signatures/signHash",
                serde_json::json!({
                    "credentialID": "alice-rsa", "SAD": sad, "hash": [b64(digest.as_bytes())],
                    "hashAlgo": SHA256_OID, "signAlgo": PSS_OID,
                    "signAlgoParams": b64(&pss_params_sha256(salt)),
                }),
            )
            .await;
        assert_eq!(status, 200, "salt {salt}: {r}");
        let sig = base64::engine::general_purpose::STANDARD
            .decode(r["signatures"][0].as_str().unwrap())
            .unwrap();
        assert!(
            openssl_pss_verifies(dir.path(), digest.as_bytes(), &sig, salt),
            "salt {salt}: openssl does not verify with that salt length"
        );
        let other = if salt == 32 { 20 } else { 32 };
        assert!(
            !openssl_pss_verifies(dir.path(), digest.as_bytes(), &sig, other),
            "salt {salt}: the signature must not verify with salt {other}"
        );
    }
    // One byte longer than the key allows: refused, naming the parameter,
    // and the authorization not spent on it.
    let digest = crpki::HashAlgorithm::Sha256.digest(b"too long a salt");
    let (status, r) = raw
        .post(
            "signatures/signHash",
            serde_json::json!({
                "credentialID": "alice-rsa", "SAD": sad, "hash": [b64(digest.as_bytes())],
                "hashAlgo": SHA256_OID, "signAlgo": PSS_OID,
                "signAlgoParams": b64(&pss_params_sha256(223)),
            }),
        )
        .await;
    assert_eq!(status, 400, "{r}");
    assert!(
        r["error_description"]
            .as_str()
            .unwrap()
            .contains("signAlgoParams"),
        "{r}"
    );
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_errors_name_v1_fields() {
    let sb = sandbox().await;
    let raw = Raw::login(&sb, V1, "bob").await;
    // SCAL 2 without the hashes.
    let (status, r) = raw
        .post(
            "credentials/authorize",
            serde_json::json!({"credentialID": "bob-rsa-scal2", "numSignatures": 1, "OTP": "123456"}),
        )
        .await;
    assert_eq!(status, 400, "{r}");
    let d = r["error_description"].as_str().unwrap();
    assert!(d.contains("parameter hash") && !d.contains("hashes"), "{d}");
    // PSS without the hash algorithm.
    let digest = crpki::HashAlgorithm::Sha256.digest(b"v1 names");
    let (status, r) = raw
        .post(
            "signatures/signHash",
            serde_json::json!({"credentialID": "bob-ecdsa", "SAD": "x", "hash": [b64(digest.as_bytes())], "signAlgo": PSS_OID}),
        )
        .await;
    assert_eq!(status, 400, "{r}");
    let d = r["error_description"].as_str().unwrap();
    assert!(d.contains("hashAlgo") && !d.contains("hashAlgorithmOID"), "{d}");
    // A hash of the wrong length for the algorithm named.
    let (status, r) = raw
        .post(
            "signatures/signHash",
            serde_json::json!({"credentialID": "bob-ecdsa", "SAD": "x", "hash": [b64(b"short")],
                "hashAlgo": SHA256_OID, "signAlgo": "1.2.840.10045.4.3.2"}),
        )
        .await;
    assert_eq!(status, 400, "{r}");
    assert!(!r.to_string().contains("hashes"), "{r}");
    // The v2 API keeps the v2 names.
    let raw2 = Raw::login(&sb, V2, "bob").await;
    let (_, r) = raw2
        .post(
            "credentials/authorize",
            serde_json::json!({"credentialID": "bob-rsa-scal2", "numSignatures": 1}),
        )
        .await;
    assert!(r["error_description"].as_str().unwrap().contains("hashes"), "{r}");
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cert_info_refused_is_asked_again_without_it_once() {
    let sb = sandbox().await;
    for (status, version) in [(501, V1), (400, V1), (501, V2), (400, V2)] {
        sb.faults().set(FaultSettings {
            cert_info_status: status,
            ..Default::default()
        });
        let client = client(&sb, version, "alice");
        client.credential_ids().await.unwrap(); // logged in before counting
        let before = sb.stats();
        let d = client.credential_info("alice-rsa").await.unwrap();
        assert_eq!(d.id, "alice-rsa");
        assert!(
            d.certificate.is_some(),
            "the certificate is read without certInfo"
        );
        assert_eq!(
            delta(before, sb.stats()).requests,
            2,
            "{status} {version:?}: one refused, one without certInfo, no retry"
        );
        // Listing with descriptions (v2 asks credentials/list for certInfo).
        let listed = client.list_credentials().await.unwrap();
        assert_eq!(listed.len(), 1);
        // And signing (the signer reads the credential first).
        let s = signer(&sb, version, "alice", "alice-rsa", SignerOptions::default()).await;
        s.sign_digests(RSA, &digests("no certInfo", 2)).await.unwrap();
    }
    // 501 is never retried, even for a read; 502-504 still are.
    sb.faults().set(FaultSettings {
        cert_info_status: 501,
        error_bodies: ErrorBodies::Text,
        ..Default::default()
    });
    let c = client(&sb, V1, "alice");
    c.credential_ids().await.unwrap();
    let before = sb.stats();
    c.credential_info("alice-rsa").await.unwrap();
    assert_eq!(
        delta(before, sb.stats()).requests,
        2,
        "plain-text 501, then without certInfo"
    );
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_text_and_html_errors_are_shown_with_their_status() {
    let sb = sandbox().await;
    for bodies in [ErrorBodies::Text, ErrorBodies::Html] {
        sb.faults().set(FaultSettings {
            error_bodies: bodies,
            ..Default::default()
        });
        for version in [V1, V2] {
            let c = client(&sb, version, "alice");
            // An unknown credential: named.
            let e = c.credential_info("no-such-cred").await.unwrap_err();
            assert!(matches!(e, Error::NotFound { .. }), "{bodies:?}: {e:?}");
            assert!(e.to_string().contains("no-such-cred"), "{e}");
            // A wrong password at auth/login: the status and the text.
            let bare = bare_client(&sb, version);
            let e = bare
                .login_basic("alice", &crpki::Secret::new("wrong"), false)
                .await
                .unwrap_err();
            let shown = e.to_string();
            assert!(shown.contains("HTTP 401"), "{bodies:?}: {shown}");
            assert!(
                !shown.contains('<') && !shown.contains("without a CSC error body"),
                "{shown}"
            );
            // A refused PIN: still understood from the text.
            let bad_pin = crpki::csc::ExplicitAuthorizer::new(std::sync::Arc::new(
                crpki::csc::StaticSecrets::new().with("PIN", "0000"),
            ));
            let s = crpki::csc::CscSigner::new(
                std::sync::Arc::new(client(&sb, version, "alice")),
                "alice-rsa",
                std::sync::Arc::new(bad_pin),
                SignerOptions::default(),
            )
            .await
            .unwrap();
            let e = s.sign_digests(RSA, &digests("bad pin", 1)).await.unwrap_err();
            assert!(matches!(e, Error::InvalidOtp { .. }), "{bodies:?}: {e:?}");
            assert!(e.to_string().contains("HTTP 400"), "{e}");
        }
    }
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_quirks_are_tolerated() {
    let sb = sandbox().await;
    sb.faults().set(FaultSettings {
        v1_quirks: true,
        ..Default::default()
    });
    let c = client(&sb, V1, "bob");
    let d = c.credential_info("bob-rsa-scal2").await.unwrap();
    assert_eq!(d.scal, crpki::csc::Scal::Two, "SCAL 2 as a number");
    assert_eq!(d.multisign, 1, "no multisign: one per authorization");
    assert!(
        matches!(d.auth_mode, crpki::csc::AuthMode::Explicit { .. }),
        "{:?}",
        d.auth_mode
    );
    for (user, cred) in [("alice", "alice-rsa"), ("bob", "bob-rsa-scal2")] {
        let s = signer(&sb, V1, user, cred, SignerOptions::default()).await;
        let before = sb.stats();
        s.sign_digests(RSA, &digests("quirks", 3)).await.unwrap();
        let d = delta(before, sb.stats());
        assert_eq!(
            (d.signatures, d.sign_hash_calls),
            (3, 3),
            "{cred}: one hash per call when multisign is missing"
        );
    }
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hash_pinning_for_scal_1_is_followed() {
    let sb = sandbox().await;
    sb.faults().set(FaultSettings {
        pin_hashes_always: true,
        ..Default::default()
    });
    for version in [V1, V2] {
        let s = signer(&sb, version, "alice", "alice-rsa", SignerOptions::default()).await;
        let before = sb.stats();
        s.sign_digests(RSA, &digests("pinned 1", 3)).await.unwrap();
        s.sign_digests(RSA, &digests("pinned 2", 2)).await.unwrap();
        let d = delta(before, sb.stats());
        assert_eq!(d.signatures, 5, "{version:?}");
        assert_eq!(
            d.authorized_signatures, 5,
            "{version:?}: after the first refusal every authorization names exactly its hashes"
        );
    }
    sb.shutdown().await;
}

/// `text` names `step` as what to do, and not `crpki login`.
fn names_step(text: &str, step: &str) {
    assert!(text.contains(step) && !text.contains("crpki login"), "{text}");
}

/// `crpki` with its own config directory, as a user runs it.
async fn crpki(config: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crpki"));
    cmd.args(args)
        .env("CRPKI_CONFIG_DIR", config)
        .env_remove("CRPKI_PROFILE")
        .env_remove("CRPKI_RSSP_PASSWORD")
        .env_remove("CRPKI_PIN")
        .env_remove("RSSP_TOKEN")
        .stdin(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_without_gbiz_work_through_the_cli() {
    let sb = sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    let ca = sb.tls_ca_path();
    let ca = ca.to_str().unwrap();
    let rssp = sb.csc_base_v2().to_owned();
    let add = |name: &'static str, mode: &'static str| {
        let (config, rssp) = (config.clone(), rssp.clone());
        async move {
            let args = [
                "profile",
                "add",
                name,
                "--rssp",
                &rssp,
                "--service-auth",
                mode,
                "--extra-ca",
                ca,
            ];
            crpki(&config, &args, &[]).await
        }
    };

    // The GビズID login still needs its provider.
    let (code, _, err) = crpki(&config, &["profile", "add", "g", "--rssp", &rssp], &[]).await;
    assert_ne!(code, 0);
    assert!(
        err.contains("--issuer") && err.contains("--service-auth"),
        "{err}"
    );

    // basic:USER — the login is kept in the token store for later runs.
    let (code, out, err) = add("b", "basic:alice").await;
    assert_eq!(code, 0, "{err}");
    names_step(&out, "CRPKI_RSSP_PASSWORD");
    let (code, _, err) = crpki(&config, &["certs", "list", "--profile", "b"], &[]).await;
    assert_eq!(code, 4, "no password and no kept login: {err}");
    names_step(&err, "CRPKI_RSSP_PASSWORD");
    let before = sb.stats();
    let pw = [("CRPKI_RSSP_PASSWORD", "alice-password")];
    let (code, out, err) = crpki(&config, &["certs", "list", "--profile", "b"], &pw).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("alice-rsa"), "{out}");
    assert_eq!(delta(before, sb.stats()).logins, 1);
    assert!(
        config.join("tokens/b.basic.toml").exists(),
        "the basic login is kept"
    );
    let before = sb.stats();
    let (code, out, err) = crpki(&config, &["certs", "list", "--profile", "b"], &[]).await;
    assert_eq!(code, 0, "the kept login serves without the password: {err}");
    assert!(out.contains("alice-rsa"), "{out}");
    assert_eq!(delta(before, sb.stats()).logins, 0, "no second auth/login");
    // It signs, and OpenSSL verifies the signature.
    let doc = dir.path().join("doc.txt");
    std::fs::write(&doc, b"signed through a csc_basic profile").unwrap();
    let doc_s = doc.to_str().unwrap();
    let (code, _, err) = crpki(
        &config,
        &["sign", doc_s, "--profile", "b"],
        &[("CRPKI_PIN", "1234")],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let root = dir.path().join("root.pem");
    std::fs::write(&root, sb.registrar_root().to_pem()).unwrap();
    assert!(crpki::testing::openssl::cms_verifies(
        std::path::Path::new(&format!("{doc_s}.p7s")),
        &doc,
        &root
    ));

    // env:VAR — the next step is the variable, never `crpki login`.
    let (code, out, err) = add("e", "env:RSSP_TOKEN").await;
    assert_eq!(code, 0, "{err}");
    names_step(&out, "$RSSP_TOKEN");
    let (code, _, err) = crpki(&config, &["certs", "list", "--profile", "e"], &[]).await;
    assert_eq!(code, 4, "{err}");
    names_step(&err, "RSSP_TOKEN");
    let bad = [("RSSP_TOKEN", "not-a-token")];
    let (code, _, err) = crpki(&config, &["certs", "list", "--profile", "e"], &bad).await;
    assert_eq!(code, 4, "{err}");
    names_step(&err, "$RSSP_TOKEN");
    assert!(!err.contains("not-a-token"), "the token is never shown: {err}");
    let (code, _, err) = crpki(&config, &["login", "--profile", "e"], &[]).await;
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("does not log in with GビズID") && err.contains("$RSSP_TOKEN"),
        "{err}"
    );
    let raw = Raw::login(&sb, V2, "bob").await;
    let good = [("RSSP_TOKEN", raw.token.as_str())];
    let (code, out, err) = crpki(&config, &["certs", "list", "--profile", "e"], &good).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("bob-ecdsa"), "{out}");

    // none — no Authorization header at all.
    let (code, _, err) = add("n", "none").await;
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = crpki(&config, &["certs", "list", "--profile", "n"], &[]).await;
    assert_eq!(code, 4, "the sandbox wants a token by default: {err}");
    names_step(&err, "service_auth none");
    sb.faults().set(FaultSettings {
        anonymous_user: Some("alice".into()),
        ..Default::default()
    });
    // The sandbox takes a request as alice only when it has no
    // Authorization header: a bearer of any kind would be refused.
    let (code, out, err) = crpki(&config, &["certs", "list", "--profile", "n"], &[]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("alice-rsa"), "{out}");
    sb.shutdown().await;
}
