//! The sandbox over real HTTPS with a plain HTTP client (reqwest), every
//! method and every error the issue lists; signatures checked with the
//! `openssl` CLI.
#![cfg(feature = "sandbox")]
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use base64::Engine as _;
use crpki::sandbox::{FaultSettings, Sandbox, SandboxConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Digest as _;

const SHA256: &str = "2.16.840.1.101.3.4.2.1";
const SHA256_RSA: &str = "1.2.840.113549.1.1.11";
const RSA: &str = "1.2.840.113549.1.1.1";
const PSS: &str = "1.2.840.113549.1.1.10";
const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";

/// One state directory per test binary: RSA keys are generated once.
fn state_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        crpki::sandbox::init_state(&dir).unwrap();
        dir
    })
    .clone()
}

struct T {
    sb: Sandbox,
    http: reqwest::Client,
}

async fn start_with(f: impl FnOnce(&mut SandboxConfig)) -> T {
    let mut cfg = SandboxConfig {
        state_dir: Some(state_dir()),
        ..Default::default()
    };
    // The raw protocol tests below redirect to REDIRECT: registered, as a
    // GビズID client registers its redirect URI.
    cfg.openid.redirect_uris.push(REDIRECT.into());
    f(&mut cfg);
    let sb = Sandbox::start(cfg).await.unwrap();
    let ca = reqwest::Certificate::from_pem(sb.tls_ca_pem().as_bytes()).unwrap();
    let http = reqwest::Client::builder()
        .tls_certs_only([ca])
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    T { sb, http }
}

async fn start() -> T {
    start_with(|_| {}).await
}

fn b64(d: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(d)
}

fn unb64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

impl T {
    /// The token `/admin/...` requires, read from the state directory.
    fn admin_token(&self) -> String {
        std::fs::read_to_string(self.sb.admin_token_path()).unwrap()
    }

    async fn post(&self, url: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        let mut rb = self.http.post(url).json(&body);
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        let r = rb.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn v2(&self, method: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.post(&format!("{}{method}", self.sb.csc_base_v2()), token, body)
            .await
    }

    async fn v1(&self, method: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.post(&format!("{}{method}", self.sb.csc_base_v1()), token, body)
            .await
    }

    async fn login(&self, user: &str) -> String {
        let password = self.sb.user(user).unwrap().password.clone();
        let r = self
            .http
            .post(format!("{}auth/login", self.sb.csc_base_v2()))
            .basic_auth(user, Some(password))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        v["access_token"].as_str().unwrap().to_string()
    }

    async fn sad(&self, token: &str, cred: &str, n: u32, pin: &str, hashes: Option<&[String]>) -> String {
        let mut body = json!({"credentialID": cred, "numSignatures": n,
            "authData": [{"id": "PIN", "value": pin}]});
        if let Some(h) = hashes {
            body["hashes"] = json!(h);
            body["hashAlgorithmOID"] = json!(SHA256);
        }
        let (s, v) = self.v2("credentials/authorize", Some(token), body).await;
        assert_eq!(s, 200, "{v}");
        assert!(v["expiresIn"].as_u64().unwrap() > 0);
        v["SAD"].as_str().unwrap().to_string()
    }

    /// The server still answers after a refused request.
    async fn still_serving(&self) {
        let (s, v) = self.v2("info", None, json!({})).await;
        assert_eq!(s, 200);
        assert_eq!(v["specs"], "2.0.0.2");
    }
}

fn assert_error(got: &(StatusCode, Value), status: u16, code: &str, description_part: &str) {
    assert_eq!(got.0.as_u16(), status, "{}", got.1);
    assert_eq!(got.1["error"], code, "{}", got.1);
    let d = got.1["error_description"].as_str().unwrap_or_default();
    assert!(
        d.contains(description_part),
        "description {d:?} lacks {description_part:?}"
    );
}

fn messages(n: usize, tag: &str) -> Vec<(Vec<u8>, String)> {
    (0..n)
        .map(|i| {
            let m = format!("crpki sandbox test document {tag} #{i}").into_bytes();
            let h = b64(&sha2::Sha256::digest(&m));
            (m, h)
        })
        .collect()
}

fn openssl(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl CLI")
}

/// Verifies a raw signature over `message` with the certificate's key, using the openssl CLI.
fn openssl_verify(cert_b64: &str, message: &[u8], sig_b64: &str, scheme: &str) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("cert.der"), unb64(cert_b64)).unwrap();
    std::fs::write(d.join("msg"), message).unwrap();
    std::fs::write(d.join("sig"), unb64(sig_b64)).unwrap();
    let o = openssl(
        &[
            "x509", "-inform", "DER", "-in", "cert.der", "-pubkey", "-noout", "-out", "pub.pem",
        ],
        d,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut args = vec!["dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig"];
    if scheme == "pss" {
        args.extend(["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32"]);
    }
    args.push("msg");
    let o = openssl(&args, d);
    assert!(
        o.status.success() && String::from_utf8_lossy(&o.stdout).contains("Verified OK"),
        "openssl: {} {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[tokio::test]
async fn v2_login_list_info_authorize_sign_and_openssl_verifies() {
    let t = start().await;
    let (s, info) = t.v2("info", None, json!({})).await;
    assert_eq!(s, 200);
    assert!(
        info["methods"]
            .as_array()
            .unwrap()
            .contains(&json!("signatures/signHash"))
    );

    let token = t.login("alice").await;
    let (s, list) = t
        .v2(
            "credentials/list",
            Some(&token),
            json!({"credentialInfo": true, "certInfo": true, "authInfo": true}),
        )
        .await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list["credentialIDs"], json!(["alice-rsa"]));
    assert_eq!(list["credentialInfos"][0]["key"]["len"], 2048);

    let (s, ci) = t
        .v2(
            "credentials/info",
            Some(&token),
            json!({"credentialID": "alice-rsa", "certificates": "chain", "certInfo": true, "authInfo": true}),
        )
        .await;
    assert_eq!(s, 200, "{ci}");
    assert_eq!(ci["key"]["status"], "enabled");
    assert_eq!(ci["SCAL"], "1");
    assert_eq!(ci["auth"]["mode"], "explicit");
    assert_eq!(ci["auth"]["objects"][0]["id"], "PIN");
    assert!(ci["multisign"].as_u64().unwrap() >= 1);
    let certs = ci["cert"]["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 2);
    assert!(
        ci["cert"]["issuerDN"]
            .as_str()
            .unwrap()
            .contains("SANDBOX TEST Registrar")
    );

    // The chain verifies with openssl (the MOJ extensions are critical, hence -ignore_critical),
    // and the certificate carries them.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("leaf.der"), unb64(certs[0].as_str().unwrap())).unwrap();
    std::fs::write(d.join("root.der"), unb64(certs[1].as_str().unwrap())).unwrap();
    assert_eq!(unb64(certs[1].as_str().unwrap()), t.sb.registrar_root().der());
    for n in ["leaf", "root"] {
        let o = openssl(
            &[
                "x509",
                "-inform",
                "DER",
                "-in",
                &format!("{n}.der"),
                "-out",
                &format!("{n}.pem"),
            ],
            d,
        );
        assert!(o.status.success());
    }
    let o = openssl(
        &["verify", "-ignore_critical", "-CAfile", "root.pem", "leaf.pem"],
        d,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = openssl(&["verify", "-CAfile", "root.pem", "leaf.pem"], d);
    assert!(!o.status.success(), "the MOJ extensions must be critical");
    let o = openssl(&["x509", "-in", "leaf.pem", "-noout", "-text"], d);
    let text = String::from_utf8_lossy(&o.stdout);
    for oid in [
        "1.2.392.100300.1.1.1",
        "1.2.392.100300.1.1.2",
        "1.2.392.100300.1.1.3",
    ] {
        assert!(
            text.contains(&format!("{oid}: critical")),
            "{oid} missing:\n{text}"
        );
    }
    assert!(text.contains("Digital Signature, Non Repudiation"), "{text}");

    // Several hashes per call, PKCS#1 v1.5, checked by openssl.
    let docs = messages(3, "v2");
    let hashes: Vec<String> = docs.iter().map(|(_, h)| h.clone()).collect();
    let before = t.sb.stats();
    let sad = t.sad(&token, "alice-rsa", 3, "1234", None).await;
    let (s, v) = t
        .v2(
            "signatures/signHash",
            Some(&token),
            json!({"credentialID": "alice-rsa", "SAD": sad, "hashes": hashes, "signAlgo": SHA256_RSA}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let sigs = v["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), 3);
    for ((m, _), sig) in docs.iter().zip(sigs) {
        openssl_verify(certs[0].as_str().unwrap(), m, sig.as_str().unwrap(), "pkcs1");
    }
    let after = t.sb.stats();
    assert_eq!(after.sign_hash_calls - before.sign_hash_calls, 1);
    assert_eq!(after.signatures - before.signatures, 3);

    // auth/revoke: the token stops working.
    let (s, _) = t.v2("auth/revoke", Some(&token), json!({"token": token})).await;
    assert_eq!(s, 204);
    let r = t.v2("credentials/list", Some(&token), json!({})).await;
    assert_error(&r, 401, "invalid_token", "");
    t.sb.shutdown().await;
}

async fn cert_of(t: &T, token: &str, cred: &str) -> String {
    let (s, v) = t
        .v2("credentials/info", Some(token), json!({"credentialID": cred}))
        .await;
    assert_eq!(s, 200, "{v}");
    v["cert"]["certificates"][0].as_str().unwrap().to_string()
}

#[tokio::test]
async fn pss_ecdsa_and_rsa_encryption_with_hash_oid() {
    let t = start().await;
    let alice = t.login("alice").await;
    let cert = cert_of(&t, &alice, "alice-rsa").await;
    let docs = messages(2, "pss");
    let sad = t.sad(&alice, "alice-rsa", 2, "1234", None).await;
    let (s, v) = t
        .v2(
            "signatures/signHash",
            Some(&alice),
            json!({"credentialID": "alice-rsa", "SAD": sad,
            "hashes": [docs[0].1], "signAlgo": PSS, "hashAlgorithmOID": SHA256}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    openssl_verify(&cert, &docs[0].0, v["signatures"][0].as_str().unwrap(), "pss");
    // RSASSA-PSS-params as OpenSSL writes them (SHA-256, MGF1-SHA-256) with
    // a 32-byte salt are what the sandbox signs; a 222-byte salt it refuses
    // rather than sign with another salt than asked.
    let params = |salt: u8| {
        let mut der = hex::decode(concat!(
            "3034a00f300d06096086480165030402010500a11c301a06092a864886f70d010108",
            "300d06096086480165030402010500a203020120"
        ))
        .unwrap();
        *der.last_mut().unwrap() = salt;
        b64(&der)
    };
    let sad = t.sad(&alice, "alice-rsa", 2, "1234", None).await;
    for (salt, status) in [(32u8, 200), (222, 400)] {
        let (s, v) = t
            .v2(
                "signatures/signHash",
                Some(&alice),
                json!({"credentialID": "alice-rsa", "SAD": sad, "hashes": [docs[0].1],
                "signAlgo": PSS, "signAlgoParams": params(salt)}),
            )
            .await;
        assert_eq!(s, status, "salt {salt}: {v}");
        if status == 200 {
            openssl_verify(&cert, &docs[0].0, v["signatures"][0].as_str().unwrap(), "pss");
        } else {
            assert!(
                v["error_description"]
                    .as_str()
                    .unwrap()
                    .contains("signAlgoParams"),
                "{v}"
            );
        }
    }
    // rsaEncryption needs hashAlgorithmOID; with it, PKCS#1 v1.5.
    let (s, v) = t
        .v2(
            "signatures/signHash",
            Some(&alice),
            json!({"credentialID": "alice-rsa", "SAD": sad,
            "hashes": [docs[1].1], "signAlgo": RSA, "hashAlgorithmOID": SHA256}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    openssl_verify(&cert, &docs[1].0, v["signatures"][0].as_str().unwrap(), "pkcs1");

    let bob = t.login("bob").await;
    let cert = cert_of(&t, &bob, "bob-ecdsa").await;
    let (s, ci) = t
        .v2(
            "credentials/info",
            Some(&bob),
            json!({"credentialID": "bob-ecdsa"}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(ci["key"]["curve"], "1.2.840.10045.3.1.7");
    let docs = messages(2, "ecdsa");
    let hashes: Vec<String> = docs.iter().map(|(_, h)| h.clone()).collect();
    let sad = t.sad(&bob, "bob-ecdsa", 2, "5678", None).await;
    let (s, v) = t
        .v2(
            "signatures/signHash",
            Some(&bob),
            json!({"credentialID": "bob-ecdsa", "SAD": sad, "hashes": hashes, "signAlgo": ECDSA_SHA256}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    for (i, (m, _)) in docs.iter().enumerate() {
        openssl_verify(&cert, m, v["signatures"][i].as_str().unwrap(), "ecdsa");
    }
    t.sb.shutdown().await;
}

#[tokio::test]
async fn v1_paths_speak_v1_shapes() {
    let t = start().await;
    let (s, info) = t.v1("info", None, json!({})).await;
    assert_eq!(s, 200);
    assert_eq!(info["specs"], "1.0.4.0");
    let r = t
        .http
        .post(format!("{}auth/login", t.sb.csc_base_v1()))
        .basic_auth("alice", Some("alice-password"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let token = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, list) = t.v1("credentials/list", Some(&token), json!({})).await;
    assert_eq!(s, 200);
    assert_eq!(list["credentialIDs"], json!(["alice-rsa"]));
    let (s, ci) = t
        .v1(
            "credentials/info",
            Some(&token),
            json!({"credentialID": "alice-rsa"}),
        )
        .await;
    assert_eq!(s, 200, "{ci}");
    assert_eq!(ci["authMode"], "explicit");
    assert_eq!(ci["PIN"]["presence"], "true");
    assert_eq!(ci["OTP"]["presence"], "false");
    let cert = ci["cert"]["certificates"][0].as_str().unwrap().to_string();

    let docs = messages(2, "v1");
    let hashes: Vec<String> = docs.iter().map(|(_, h)| h.clone()).collect();
    let wrong = t
        .v1(
            "credentials/authorize",
            Some(&token),
            json!({"credentialID": "alice-rsa", "numSignatures": 2, "PIN": "0000"}),
        )
        .await;
    assert_error(&wrong, 400, "invalid_pin", "PIN");
    let (s, a) = t
        .v1(
            "credentials/authorize",
            Some(&token),
            json!({"credentialID": "alice-rsa", "numSignatures": 2, "hash": hashes, "PIN": "1234"}),
        )
        .await;
    assert_eq!(s, 200, "{a}");
    let sad = a["SAD"].as_str().unwrap();
    let (s, e) = t
        .v1(
            "credentials/extendTransaction",
            Some(&token),
            json!({"credentialID": "alice-rsa", "hash": hashes, "SAD": sad}),
        )
        .await;
    assert_eq!(s, 200, "{e}");
    let sad = e["SAD"].as_str().unwrap();
    let (s, v) = t
        .v1(
            "signatures/signHash",
            Some(&token),
            json!({"credentialID": "alice-rsa", "SAD": sad, "hash": hashes,
            "hashAlgo": SHA256, "signAlgo": RSA}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    for (i, (m, _)) in docs.iter().enumerate() {
        openssl_verify(&cert, m, v["signatures"][i].as_str().unwrap(), "pkcs1");
    }
    let spent = t
        .v1(
            "signatures/signHash",
            Some(&token),
            json!({"credentialID": "alice-rsa", "SAD": sad, "hash": [hashes[0]], "signAlgo": SHA256_RSA}),
        )
        .await;
    assert_error(&spent, 400, "invalid_request", "SAD");
    let (s, _) = t.v1("auth/revoke", Some(&token), json!({"token": token})).await;
    assert_eq!(s, 204);
    t.sb.shutdown().await;
}

#[tokio::test]
async fn bad_credentials_pins_and_otps() {
    let t = start().await;
    let alice = t.login("alice").await;
    let h = messages(1, "x")[0].1.clone();
    let r = t
        .v2("credentials/info", Some(&alice), json!({"credentialID": "nope"}))
        .await;
    assert_error(&r, 400, "invalid_request", "Invalid parameter credentialID");
    // Another user's credential is unknown to alice.
    let r = t.v2("credentials/authorize", Some(&alice), json!({"credentialID": "bob-ecdsa", "numSignatures": 1, "authData": [{"id": "PIN", "value": "5678"}]})).await;
    assert_error(&r, 400, "invalid_request", "Invalid parameter credentialID");
    let r = t
        .v2(
            "signatures/signHash",
            Some(&alice),
            json!({"credentialID": "nope", "SAD": "x", "hashes": [h], "signAlgo": SHA256_RSA}),
        )
        .await;
    assert_error(&r, 400, "invalid_request", "Invalid parameter credentialID");
    let r = t.v2("credentials/authorize", Some(&alice), json!({"credentialID": "alice-rsa", "numSignatures": 1, "authData": [{"id": "PIN", "value": "9999"}]})).await;
    assert_error(&r, 400, "invalid_pin", "PIN");
    let bob = t.login("bob").await;
    let r = t.v2("credentials/authorize", Some(&bob), json!({"credentialID": "bob-rsa-scal2", "numSignatures": 1, "hashes": [h], "hashAlgorithmOID": SHA256, "authData": [{"id": "OTP", "value": "000000"}]})).await;
    assert_error(&r, 400, "invalid_otp", "OTP");
    let r = t.v2("credentials/authorize", Some(&bob), json!({"credentialID": "bob-expired", "numSignatures": 1, "authData": [{"id": "PIN", "value": "5678"}]})).await;
    assert_error(&r, 400, "invalid_request", "expired");
    let dave = t.login("dave").await;
    let r = t.v2("credentials/authorize", Some(&dave), json!({"credentialID": "dave-rsa", "numSignatures": 1, "authData": [{"id": "PIN", "value": "1234"}]})).await;
    assert_error(&r, 400, "invalid_request", "disabled");
    let (s, ci) = t
        .v2(
            "credentials/info",
            Some(&dave),
            json!({"credentialID": "dave-rsa"}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(ci["key"]["status"], "disabled");
    let carol = t.login("carol").await;
    let (s, list) = t.v2("credentials/list", Some(&carol), json!({})).await;
    assert_eq!(s, 200);
    assert_eq!(list["credentialIDs"], json!([]));
    let (s, list) = t
        .v2("credentials/list", Some(&bob), json!({"onlyValid": true}))
        .await;
    assert_eq!(s, 200);
    assert!(
        !list["credentialIDs"]
            .as_array()
            .unwrap()
            .contains(&json!("bob-expired"))
    );
    // Wrong password at auth/login.
    let r = t
        .http
        .post(format!("{}auth/login", t.sb.csc_base_v2()))
        .basic_auth("alice", Some("wrong"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "authentication_error");
    t.still_serving().await;
    t.sb.shutdown().await;
}

#[tokio::test]
async fn sad_budget_binding_and_expiry() {
    let t = start().await;
    let alice = t.login("alice").await;
    let docs = messages(3, "sad");
    let hashes: Vec<String> = docs.iter().map(|(_, h)| h.clone()).collect();
    // numSignatures 2: two signatures, then refused.
    let sad = t.sad(&alice, "alice-rsa", 2, "1234", None).await;
    let sign = |sad: String, hashes: Vec<String>, cred: &'static str, token: String| {
        let t = &t;
        async move {
            t.v2(
                "signatures/signHash",
                Some(&token),
                json!({"credentialID": cred, "SAD": sad, "hashes": hashes, "signAlgo": SHA256_RSA}),
            )
            .await
        }
    };
    let r = sign(sad.clone(), hashes.clone(), "alice-rsa", alice.clone()).await;
    assert_error(&r, 400, "invalid_request", "SAD");
    let (s, _) = sign(sad.clone(), hashes[..2].to_vec(), "alice-rsa", alice.clone()).await;
    assert_eq!(s, 200);
    let r = sign(sad.clone(), hashes[..1].to_vec(), "alice-rsa", alice.clone()).await;
    assert_error(&r, 400, "invalid_request", "SAD");

    // SCAL 2: the SAD signs exactly the authorized hashes.
    let bob = t.login("bob").await;
    let body = json!({"credentialID": "bob-rsa-scal2", "numSignatures": 2, "hashes": hashes[..2], "hashAlgorithmOID": SHA256,
        "authData": [{"id": "OTP", "value": "123456"}]});
    let r = t.v2("credentials/authorize", Some(&bob), json!({"credentialID": "bob-rsa-scal2", "numSignatures": 1, "authData": [{"id": "OTP", "value": "123456"}]})).await;
    assert_error(&r, 400, "invalid_request", "hashes");
    let (s, a) = t.v2("credentials/authorize", Some(&bob), body).await;
    assert_eq!(s, 200, "{a}");
    let sad2 = a["SAD"].as_str().unwrap().to_string();
    let r = sign(
        sad2.clone(),
        vec![hashes[2].clone()],
        "bob-rsa-scal2",
        bob.clone(),
    )
    .await;
    assert_error(&r, 400, "invalid_request", "hashes");
    let (s, v) = sign(
        sad2.clone(),
        vec![hashes[1].clone()],
        "bob-rsa-scal2",
        bob.clone(),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let cert = cert_of(&t, &bob, "bob-rsa-scal2").await;
    openssl_verify(&cert, &docs[1].0, v["signatures"][0].as_str().unwrap(), "pkcs1");
    let r = sign(
        sad2.clone(),
        vec![hashes[1].clone()],
        "bob-rsa-scal2",
        bob.clone(),
    )
    .await;
    assert_error(&r, 400, "invalid_request", "");

    // Expired SAD (early expiry through the fault handle, and through the admin endpoint).
    let sad3 = t.sad(&alice, "alice-rsa", 5, "1234", None).await;
    t.sb.faults().expire_sads_now();
    let r = sign(sad3, hashes[..1].to_vec(), "alice-rsa", alice.clone()).await;
    assert_error(&r, 400, "invalid_request", "SAD expired");
    let sad4 = t.sad(&alice, "alice-rsa", 5, "1234", None).await;
    let (s, _) = t
        .post(
            &format!("{}/admin/expire", t.sb.base_url()),
            Some(&t.admin_token()),
            json!({"sads": true}),
        )
        .await;
    assert_eq!(s, 204);
    let r = sign(sad4.clone(), hashes[..1].to_vec(), "alice-rsa", alice.clone()).await;
    assert_error(&r, 400, "invalid_request", "SAD expired");
    let r = t
        .v2(
            "credentials/extendTransaction",
            Some(&alice),
            json!({"credentialID": "alice-rsa", "SAD": sad4}),
        )
        .await;
    assert_error(&r, 400, "invalid_request", "SAD expired");
    t.still_serving().await;
    t.sb.shutdown().await;
}

#[tokio::test]
async fn sad_expires_by_configured_lifetime() {
    let t = start_with(|c| c.sad_ttl = std::time::Duration::from_secs(1)).await;
    let alice = t.login("alice").await;
    let sad = t.sad(&alice, "alice-rsa", 1, "1234", None).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let h = messages(1, "ttl")[0].1.clone();
    let r = t
        .v2(
            "signatures/signHash",
            Some(&alice),
            json!({"credentialID": "alice-rsa", "SAD": sad, "hashes": [h], "signAlgo": SHA256_RSA}),
        )
        .await;
    assert_error(&r, 400, "invalid_request", "SAD expired");
    t.sb.shutdown().await;
}

#[tokio::test]
async fn bad_tokens_hashes_algorithms_and_bodies() {
    let t = start().await;
    let r = t.v2("credentials/list", None, json!({})).await;
    assert_error(&r, 401, "invalid_token", "");
    let r = t.v2("credentials/list", Some("forged-token"), json!({})).await;
    assert_error(&r, 401, "invalid_token", "");
    // A JWT signed by another key.
    let forged = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
    let r = t.v2("credentials/list", Some(forged), json!({})).await;
    assert_error(&r, 401, "invalid_token", "");
    let alice = t.login("alice").await;
    let sad = t.sad(&alice, "alice-rsa", 10, "1234", None).await;
    let short = b64(&[1u8; 20]);
    let r = t
        .v2(
            "signatures/signHash",
            Some(&alice),
            json!({"credentialID": "alice-rsa", "SAD": sad, "hashes": [short], "signAlgo": SHA256_RSA}),
        )
        .await;
    assert_error(&r, 400, "invalid_hash", "length");
    let h = messages(1, "alg")[0].1.clone();
    let r = t
        .v2(
            "signatures/signHash",
            Some(&alice),
            json!({"credentialID": "alice-rsa", "SAD": sad, "hashes": [h], "signAlgo": "1.2.3.4"}),
        )
        .await;
    assert_error(&r, 400, "invalid_request", "signAlgo");
    let r = t
        .v2(
            "signatures/signHash",
            Some(&alice),
            json!({"credentialID": "alice-rsa", "SAD": sad, "hashes": [h], "signAlgo": ECDSA_SHA256}),
        )
        .await;
    assert_error(&r, 400, "invalid_request", "signAlgo");
    let r = t
        .v2(
            "signatures/signHash",
            Some(&alice),
            json!({"credentialID": "alice-rsa", "SAD": sad, "hashes": [h], "signAlgo": RSA}),
        )
        .await;
    assert_error(&r, 400, "invalid_request", "hashAlgorithmOID");
    // Malformed and oversized bodies.
    let r = t
        .http
        .post(format!("{}signatures/signHash", t.sb.csc_base_v2()))
        .bearer_auth(&alice)
        .header("content-type", "application/json")
        .body("{\"credentialID\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_request");
    let r = t
        .http
        .post(format!("{}signatures/signHash", t.sb.csc_base_v2()))
        .bearer_auth(&alice)
        .header("content-type", "application/json")
        .body(r#"{"credentialID": 5}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let big = format!("{{\"credentialID\":\"{}\"}}", "a".repeat(2 * 1024 * 1024));
    let r = t
        .http
        .post(format!("{}credentials/info", t.sb.csc_base_v2()))
        .bearer_auth(&alice)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_request");
    // Early token expiry.
    t.sb.faults().expire_tokens_now();
    let r = t.v2("credentials/list", Some(&alice), json!({})).await;
    assert_error(&r, 401, "expired_token", "");
    t.still_serving().await;
    t.sb.shutdown().await;
}

fn pkce() -> (String, String) {
    let verifier = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand_bytes());
    let challenge =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn rand_bytes() -> [u8; 32] {
    let mut b = [0u8; 32];
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let h = sha2::Sha256::digest(format!("{n}-{:?}", std::thread::current().id()).as_bytes());
    b.copy_from_slice(&h);
    b
}

async fn authorize(t: &T, path: &str, params: &[(&str, &str)]) -> reqwest::Response {
    t.http
        .get(format!("{}{path}", t.sb.base_url()))
        .query(params)
        .send()
        .await
        .unwrap()
}

fn location_params(r: &reqwest::Response) -> std::collections::HashMap<String, String> {
    let loc = r.headers()["location"].to_str().unwrap();
    reqwest::Url::parse(loc)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

const REDIRECT: &str = "http://127.0.0.1:9/callback";

async fn oidc_code(t: &T, challenge: &str, scope: &str) -> String {
    let r = authorize(
        t,
        "/oauth/authorize",
        &[
            ("response_type", "code"),
            ("client_id", "crpki-cli"),
            ("redirect_uri", REDIRECT),
            ("scope", scope),
            ("state", "st-1"),
            ("nonce", "n-1"),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
            ("login_hint", "bob"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303, "{:?}", r.headers());
    let p = location_params(&r);
    assert_eq!(p["state"], "st-1");
    p["code"].clone()
}

async fn token_call(t: &T, path: &str, form: &[(&str, &str)], secret: &str) -> (StatusCode, Value) {
    let r = t
        .http
        .post(format!("{}{path}", t.sb.base_url()))
        .basic_auth("crpki-cli", Some(secret))
        .form(form)
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap())
}

#[tokio::test]
async fn oidc_code_flow_pkce_id_token_userinfo_refresh_rotation() {
    let t = start().await;
    let (s, _) = t
        .post(
            &format!("{}.well-known/openid-configuration", t.sb.oidc_issuer()),
            None,
            json!({}),
        )
        .await;
    assert_eq!(s, 405); // discovery is GET
    let disc: Value = t
        .http
        .get(format!("{}.well-known/openid-configuration", t.sb.oidc_issuer()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(disc["issuer"], t.sb.oidc_issuer());
    assert!(t.sb.oidc_issuer().ends_with("/oauth/"));
    assert_eq!(disc["code_challenge_methods_supported"], json!(["S256"]));
    let jwks: Value = t
        .http
        .get(disc["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let (verifier, challenge) = pkce();
    let code = oidc_code(&t, &challenge, "openid profile offline_access").await;
    let secret = t.sb.client_secret().to_string();
    let (s, tok) = token_call(
        &t,
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ],
        &secret,
    )
    .await;
    assert_eq!(s, 200, "{tok}");
    assert_eq!(tok["token_type"], "Bearer");
    // ID token: RS256, verified against the JWKS.
    let jwk: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks).unwrap();
    let id_token = tok["id_token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk.find(header.kid.as_deref().unwrap()).unwrap()).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_audience(&["crpki-cli"]);
    v.set_issuer(&[t.sb.oidc_issuer()]);
    let claims = jsonwebtoken::decode::<Value>(id_token, &key, &v).unwrap().claims;
    assert_eq!(claims["nonce"], "n-1");
    assert_eq!(claims["sub"], t.sb.user("bob").unwrap().subject);
    assert!(claims["auth_time"].as_u64().is_some() && claims["jti"].as_str().is_some());
    // UserInfo with the GビズID claims.
    let access = tok["access_token"].as_str().unwrap().to_string();
    let ui: Value = t
        .http
        .get(format!("{}userinfo", t.sb.oidc_issuer()))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bob = t.sb.user("bob").unwrap();
    assert_eq!(ui["corporate_number"], bob.corporate_number);
    assert_eq!(ui["corporate_number"].as_str().unwrap().len(), 13);
    assert_eq!(ui["account_type"], "2");
    assert_eq!(ui["corp_type"], "1");
    assert_eq!(ui["name"], bob.corporate_name);
    // The 法人番号 matches the certificate's registered number.
    let cert = crpki::Certificate::from_der(bob.credentials[0].certificate.der()).unwrap();
    let ext = cert
        .inner()
        .tbs_certificate()
        .extensions()
        .unwrap()
        .iter()
        .find(|e| e.extn_id == crpki::cert::moj::OID_REGISTERED_CORPORATE_INFO)
        .unwrap();
    let info = crpki::cert::moj::CorporateInfo::from_der(ext.extn_value.as_bytes()).unwrap();
    assert_eq!(info.corporate_number().unwrap(), bob.corporate_number);
    // The OIDC access token is service authorization at the RSSP.
    let (s, list) = t.v2("credentials/list", Some(&access), json!({})).await;
    assert_eq!(s, 200, "{list}");
    assert!(
        list["credentialIDs"]
            .as_array()
            .unwrap()
            .contains(&json!("bob-ecdsa"))
    );
    // Refresh rotation.
    let rt1 = tok["refresh_token"].as_str().unwrap().to_string();
    let (s, tok2) = token_call(
        &t,
        "/oauth/token",
        &[("grant_type", "refresh_token"), ("refresh_token", &rt1)],
        &secret,
    )
    .await;
    assert_eq!(s, 200, "{tok2}");
    let rt2 = tok2["refresh_token"].as_str().unwrap();
    assert_ne!(rt1, rt2);
    let r = token_call(
        &t,
        "/oauth/token",
        &[("grant_type", "refresh_token"), ("refresh_token", &rt1)],
        &secret,
    )
    .await;
    assert_error(&r, 400, "invalid_grant", "");
    // Early expiry of the JWT access tokens.
    t.sb.faults().expire_tokens_now();
    let r = t.v2("credentials/list", Some(&access), json!({})).await;
    assert_error(&r, 401, "expired_token", "");
    t.sb.shutdown().await;
}

#[tokio::test]
async fn oauth_errors_verifier_reuse_redirect_client() {
    let t = start().await;
    let secret = t.sb.client_secret().to_string();
    let (verifier, challenge) = pkce();
    let code = oidc_code(&t, &challenge, "openid").await;
    let r = token_call(
        &t,
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", "wrong-verifier-wrong-verifier-wrong-verifier"),
        ],
        &secret,
    )
    .await;
    assert_error(&r, 400, "invalid_grant", "PKCE");
    let r = token_call(
        &t,
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:10/other"),
            ("code_verifier", &verifier),
        ],
        &secret,
    )
    .await;
    assert_error(&r, 400, "invalid_grant", "redirect_uri");
    let r = token_call(
        &t,
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ],
        "bad-secret",
    )
    .await;
    assert_error(&r, 401, "invalid_client", "");
    let (s, _) = token_call(
        &t,
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ],
        &secret,
    )
    .await;
    assert_eq!(s, 200);
    let r = token_call(
        &t,
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ],
        &secret,
    )
    .await;
    assert_error(&r, 400, "invalid_grant", "already been used");
    // client_secret_post is not accepted by the OpenID provider.
    let r = t
        .http
        .post(format!("{}token", t.sb.oidc_issuer()))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("client_id", "crpki-cli"),
            ("client_secret", secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // A non-loopback redirect is refused on the page, never redirected to.
    let r = authorize(
        &t,
        "/oauth/authorize",
        &[
            ("response_type", "code"),
            ("client_id", "crpki-cli"),
            ("redirect_uri", "https://evil.example/cb"),
            ("scope", "openid"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("location").is_none());
    // Missing PKCE: error sent back to the client.
    let r = authorize(
        &t,
        "/oauth/authorize",
        &[
            ("response_type", "code"),
            ("client_id", "crpki-cli"),
            ("redirect_uri", REDIRECT),
            ("scope", "openid"),
            ("state", "s"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location_params(&r)["error"], "invalid_request");
    let r = authorize(
        &t,
        "/oauth/authorize",
        &[
            ("response_type", "code"),
            ("client_id", "crpki-cli"),
            ("redirect_uri", REDIRECT),
            ("scope", "openid"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "plain"),
        ],
    )
    .await;
    assert_eq!(location_params(&r)["error"], "invalid_request");
    t.still_serving().await;
    t.sb.shutdown().await;
}

#[tokio::test]
async fn consent_page_approve_deny_and_wrong_password() {
    let t = start_with(|c| c.auto_approve = false).await;
    let (_, challenge) = pkce();
    let params = [
        ("response_type", "code"),
        ("client_id", "crpki-cli"),
        ("redirect_uri", REDIRECT),
        ("scope", "openid profile"),
        ("state", "xyz"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let page = authorize(&t, "/oauth/authorize", &params)
        .await
        .text()
        .await
        .unwrap();
    for needle in [
        "承認する",
        "Approve",
        "拒否する",
        "Deny",
        "crpki (SANDBOX TEST client)",
        "SANDBOX",
        "scope: openid profile",
    ] {
        assert!(page.contains(needle), "{needle} not on the page");
    }
    let rid = page
        .split("name=\"request_id\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let consent = |form: Vec<(&'static str, String)>| {
        t.http
            .post(format!("{}authorize", t.sb.oidc_issuer()))
            .form(&form)
            .send()
    };
    let r = consent(vec![
        ("request_id", rid.clone()),
        ("user", "alice".into()),
        ("password", "nope".into()),
        ("decision", "approve".into()),
    ])
    .await
    .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains("Wrong user or password"));
    let r = consent(vec![
        ("request_id", rid.clone()),
        ("user", "alice".into()),
        ("password", "alice-password".into()),
        ("decision", "approve".into()),
    ])
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    let p = location_params(&r);
    assert!(p["code"].starts_with("code_") && p["state"] == "xyz");
    // The request is spent; a second page denied.
    let r = consent(vec![("request_id", rid), ("decision", "approve".into())])
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let page = authorize(&t, "/oauth/authorize", &params)
        .await
        .text()
        .await
        .unwrap();
    let rid = page
        .split("name=\"request_id\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let r = consent(vec![("request_id", rid), ("decision", "deny".into())])
        .await
        .unwrap();
    assert_eq!(location_params(&r)["error"], "access_denied");
    t.sb.shutdown().await;
}

#[tokio::test]
async fn csc_oauth2_service_and_credential_scopes() {
    let t = start().await;
    let secret = t.sb.client_secret().to_string();
    // service scope
    let (verifier, challenge) = pkce();
    let r = authorize(
        &t,
        "/csc/v2/oauth2/authorize",
        &[
            ("response_type", "code"),
            ("client_id", "crpki-cli"),
            ("redirect_uri", REDIRECT),
            ("scope", "service"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("login_hint", "bob"),
        ],
    )
    .await;
    let code = location_params(&r)["code"].clone();
    // CSC token endpoint accepts client_secret_post too.
    let r = t
        .http
        .post(format!("{}oauth2/token", t.sb.csc_base_v2()))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier.as_str()),
            ("client_id", "crpki-cli"),
            ("client_secret", secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let tok: Value = r.json().await.unwrap();
    let service = tok["access_token"].as_str().unwrap().to_string();
    let (s, list) = t.v2("credentials/list", Some(&service), json!({})).await;
    assert_eq!(s, 200);
    assert!(
        list["credentialIDs"]
            .as_array()
            .unwrap()
            .contains(&json!("bob-oauth"))
    );
    // credentials/authorize is refused for an oauth2code credential.
    let r = t
        .v2(
            "credentials/authorize",
            Some(&service),
            json!({"credentialID": "bob-oauth", "numSignatures": 1}),
        )
        .await;
    assert_error(&r, 400, "invalid_request", "oauth2code");

    // credential scope with authorization_details bound to two hashes.
    let docs = messages(3, "cred");
    let details = json!([{"type": "credential", "credentialID": "bob-oauth", "hashAlgorithmOID": SHA256,
        "documentDigests": [{"hash": docs[0].1, "label": "a"}, {"hash": docs[1].1, "label": "b"}]}])
    .to_string();
    let (verifier, challenge) = pkce();
    let r = authorize(
        &t,
        "/csc/v2/oauth2/authorize",
        &[
            ("response_type", "code"),
            ("client_id", "crpki-cli"),
            ("redirect_uri", REDIRECT),
            ("authorization_details", &details),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    let code = location_params(&r)["code"].clone();
    let (s, tok) = token_call(
        &t,
        "/csc/v2/oauth2/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ],
        &secret,
    )
    .await;
    assert_eq!(s, 200, "{tok}");
    assert_eq!(tok["credentialID"], "bob-oauth");
    let cred_token = tok["access_token"].as_str().unwrap().to_string();
    let r = t
        .v2(
            "signatures/signHash",
            Some(&cred_token),
            json!({"credentialID": "bob-oauth", "hashes": [docs[2].1], "signAlgo": SHA256_RSA}),
        )
        .await;
    assert_error(&r, 400, "invalid_request", "hashes");
    let (s, v) = t
        .v2(
            "signatures/signHash",
            Some(&cred_token),
            json!({"credentialID": "bob-oauth", "hashes": [docs[0].1, docs[1].1], "signAlgo": SHA256_RSA}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let cert = cert_of(&t, &service, "bob-oauth").await;
    openssl_verify(&cert, &docs[0].0, v["signatures"][0].as_str().unwrap(), "pkcs1");
    openssl_verify(&cert, &docs[1].0, v["signatures"][1].as_str().unwrap(), "pkcs1");
    let r = t
        .v2(
            "signatures/signHash",
            Some(&cred_token),
            json!({"credentialID": "bob-oauth", "hashes": [docs[0].1], "signAlgo": SHA256_RSA}),
        )
        .await;
    assert_error(&r, 400, "invalid_request", "");

    // credential scope with the `hashes` parameter on v1, then oauth2/revoke.
    let (verifier, challenge) = pkce();
    let hashes = format!("{},{}", docs[2].1, docs[0].1);
    let r = authorize(
        &t,
        "/csc/v1/oauth2/authorize",
        &[
            ("response_type", "code"),
            ("client_id", "crpki-cli"),
            ("redirect_uri", REDIRECT),
            ("scope", "credential"),
            ("credentialID", "bob-oauth"),
            ("numSignatures", "2"),
            ("hash", &hashes),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    let code = location_params(&r)["code"].clone();
    let (s, tok) = token_call(
        &t,
        "/csc/v1/oauth2/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ],
        &secret,
    )
    .await;
    assert_eq!(s, 200, "{tok}");
    let cred_token = tok["access_token"].as_str().unwrap().to_string();
    let r = t
        .http
        .post(format!("{}oauth2/revoke", t.sb.csc_base_v2()))
        .basic_auth("crpki-cli", Some(&secret))
        .form(&[("token", cred_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = t
        .v2(
            "signatures/signHash",
            Some(&cred_token),
            json!({"credentialID": "bob-oauth", "hashes": [docs[2].1], "signAlgo": SHA256_RSA}),
        )
        .await;
    assert_error(&r, 401, "invalid_token", "");
    t.sb.shutdown().await;
}

#[tokio::test]
async fn faults_unavailable_dropped_malformed_and_admin_reset() {
    let t = start_with(|c| {
        c.faults = FaultSettings {
            unavailable_rate: 1.0,
            ..Default::default()
        }
    })
    .await;
    let r = t.v2("info", None, json!({})).await;
    assert_error(&r, 503, "temporarily_unavailable", "");
    t.sb.faults().set(FaultSettings {
        drop_rate: 1.0,
        ..Default::default()
    });
    let res = async {
        let r = t
            .http
            .post(format!("{}info", t.sb.csc_base_v2()))
            .json(&json!({}))
            .send()
            .await?;
        r.bytes().await
    }
    .await;
    assert!(res.is_err(), "a dropped connection must be an error, got {res:?}");
    t.sb.faults().set(FaultSettings {
        malformed_json_rate: 1.0,
        latency_ms: 5,
        ..Default::default()
    });
    let r = t
        .http
        .post(format!("{}info", t.sb.csc_base_v2()))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(serde_json::from_slice::<Value>(&r.bytes().await.unwrap()).is_err());
    // The admin endpoint needs the token of the state directory (an
    // owner-only file): without it, or with another, nothing changes.
    let admin = format!("{}/admin/faults", t.sb.base_url());
    let token = t.admin_token();
    assert!(token.len() >= 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(t.sb.admin_token_path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let wrong = format!("{token}x");
    for bad in [None, Some(""), Some(wrong.as_str())] {
        let (s, v) = t.post(&admin, bad, json!({})).await;
        assert_eq!(s, 401, "{bad:?}: {v}");
        let r = t.http.get(&admin).send().await.unwrap();
        assert_eq!(r.status(), 401);
        let (s, _) = t
            .post(
                &format!("{}/admin/expire", t.sb.base_url()),
                bad,
                json!({"sads": true}),
            )
            .await;
        assert_eq!(s, 401);
    }
    assert_eq!(t.sb.faults().settings().malformed_json_rate, 1.0);
    // The admin endpoint is never faulty and switches everything off.
    let (s, v) = t.post(&admin, Some(&token), json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(t.sb.faults().settings(), FaultSettings::default());
    t.still_serving().await;
    t.sb.shutdown().await;
}

#[tokio::test]
async fn loopback_only_http_option_and_persistent_state() {
    let err = Sandbox::start(SandboxConfig {
        listen: "0.0.0.0:0".parse().unwrap(),
        state_dir: Some(state_dir()),
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert!(matches!(err, crpki::Error::Config { .. }), "{err}");
    let a = start().await;
    let b = Sandbox::start(SandboxConfig {
        https: false,
        state_dir: Some(state_dir()),
        ..Default::default()
    })
    .await
    .unwrap();
    assert!(b.base_url().starts_with("http://127.0.0.1:"));
    // Same state: same registrar, same credential certificates and client secret.
    assert_eq!(a.sb.registrar_root(), b.registrar_root());
    assert_eq!(a.sb.client_secret(), b.client_secret());
    assert_eq!(
        a.sb.user("alice").unwrap().credentials[0].certificate,
        b.user("alice").unwrap().credentials[0].certificate
    );
    let v: Value = reqwest::Client::new()
        .post(format!("{}info", b.csc_base_v2()))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["specs"], "2.0.0.2");
    assert!(!format!("{:?}", b.users()).contains("PRIVATE KEY"));
    b.shutdown().await;
    a.sb.shutdown().await;
}
