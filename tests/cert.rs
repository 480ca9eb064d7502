//! The certificate model and chain validation against the committed test PKI
//! (fixtures/, see fixtures/README.md) and against certificates made here
//! with the openssl CLI; openssl's own verdict is checked alongside ours.

#![allow(clippy::unwrap_used)] // tests may unwrap (house rule); clippy only exempts #[test] fns

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crpki::cert::{BasicConstraints, KeyUsageFlag, MAX_PATH_LEN, moj, validate_chain};
use crpki::testing::fixtures;
use crpki::{
    Certificate, Error, HashAlgorithm, KeyAlgorithm, SignatureAlgorithm, SignatureScheme, TrustFailure,
};

const ROOT_SUBJECT: &str =
    "CN=TEST Registrar of Tokyo Legal Affairs Bureau,OU=Ministry of Justice,O=Japanese Government,C=JP";
const OTHER_ROOT_SUBJECT: &str = "CN=TEST Unrelated Root,O=TEST Unrelated Authority,C=JP";
const MAIN_SUBJECT: &str = "CN=法務 太郎,O=株式会社テスト商事 TEST,C=JP";

/// A fixture certificate read from its PEM file (the DER ones:
/// `fixtures::cert`).
fn load(name: &str) -> Certificate {
    Certificate::from_pem(&fixtures::text(&format!("{name}.pem"))).unwrap()
}

fn unix(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// 2026-06-01T00:00:00Z
fn june_2026() -> SystemTime {
    unix(1_780_272_000)
}

fn root() -> Certificate {
    load("registrar-root")
}

fn trust_failure(result: crpki::Result<Vec<Certificate>>) -> TrustFailure {
    match result {
        Err(Error::Untrusted(f)) => f,
        other => panic!("expected Error::Untrusted, got {other:?}"),
    }
}

const ALL_CERTS: [&str; 8] = [
    "registrar-root",
    "other-root",
    "rep-rsa2048",
    "rep-expired",
    "rep-rsa1024",
    "rep-ecdsa",
    "rep-foreign",
    "rep-bad-moj",
];

#[test]
fn every_fixture_parses_as_pem_and_der() {
    for name in ALL_CERTS {
        let der = fixtures::bytes(&format!("{name}.der"));
        let pem = fixtures::bytes(&format!("{name}.pem"));
        let from_der = Certificate::from_der(&der).unwrap();
        let from_pem = Certificate::from_pem(std::str::from_utf8(&pem).unwrap()).unwrap();
        assert_eq!(from_der, from_pem, "{name}");
        assert_eq!(from_pem.der(), der.as_slice(), "{name}");
        assert_eq!(Certificate::from_pem_or_der(&der).unwrap(), from_der, "{name}");
        assert_eq!(Certificate::from_pem_or_der(&pem).unwrap(), from_der, "{name}");
        assert_eq!(
            Certificate::parse_all(&pem).unwrap(),
            vec![from_der.clone()],
            "{name}"
        );
        assert_eq!(
            Certificate::parse_all(&der).unwrap(),
            vec![from_der.clone()],
            "{name}"
        );
        // to_pem round-trips and openssl reads it.
        assert_eq!(
            Certificate::from_pem(&from_der.to_pem()).unwrap(),
            from_der,
            "{name}"
        );
        let expected_fp = openssl_fingerprint(&fixtures::path(&format!("{name}.pem")));
        assert_eq!(hex::encode(from_der.sha256_fingerprint()), expected_fp, "{name}");
    }
}

fn openssl_fingerprint(pem: &Path) -> String {
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(pem)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    text.trim()
        .rsplit('=')
        .next()
        .unwrap()
        .replace(':', "")
        .to_lowercase()
}

#[test]
fn pem_bundle_of_every_fixture() {
    let mut bundle = Vec::new();
    for name in ALL_CERTS {
        bundle.extend_from_slice(&fixtures::bytes(&format!("{name}.pem")));
    }
    let all = Certificate::parse_all(&bundle).unwrap();
    let subjects: Vec<String> = all.iter().map(Certificate::subject).collect();
    assert_eq!(all.len(), ALL_CERTS.len());
    assert_eq!(subjects[0], ROOT_SUBJECT);
    assert_eq!(subjects[1], OTHER_ROOT_SUBJECT);
    assert_eq!(subjects[2], MAIN_SUBJECT);
    assert!(matches!(
        Certificate::from_pem(std::str::from_utf8(&bundle).unwrap()),
        Err(Error::Malformed { .. })
    ));
}

#[test]
fn main_certificate_fields() {
    let cert = load("rep-rsa2048");
    assert_eq!(cert.subject(), MAIN_SUBJECT);
    assert_eq!(cert.issuer(), ROOT_SUBJECT);
    assert_eq!(
        cert.subject_attribute(const_oid::db::rfc4519::CN),
        vec!["法務 太郎"]
    );
    assert_eq!(cert.serial_hex(), "1001");
    assert_eq!(cert.serial_bytes(), [0x10, 0x01]);
    assert_eq!(cert.not_before_rfc3339(), "2025-01-01T00:00:00Z");
    assert_eq!(cert.not_after_rfc3339(), "2035-12-31T23:59:59Z");
    assert_eq!(cert.not_before(), unix(1_735_689_600));
    assert_eq!(cert.not_after(), unix(2_082_758_399));
    assert!(cert.is_valid_at(june_2026()));
    assert!(cert.is_valid_at(cert.not_after()));
    assert!(!cert.is_valid_at(cert.not_after() + Duration::from_secs(1)));
    assert!(!cert.is_valid_at(unix(1_717_200_000)));
    let ku = cert.key_usage().unwrap().unwrap();
    assert_eq!(
        ku.flags(),
        [KeyUsageFlag::DigitalSignature, KeyUsageFlag::NonRepudiation]
    );
    assert_eq!(
        cert.basic_constraints().unwrap(),
        Some(BasicConstraints {
            is_ca: false,
            path_len: None
        })
    );
    assert!(!cert.is_self_signed());
    assert_eq!(
        cert.signature_algorithm().unwrap(),
        SignatureAlgorithm::RSA_PKCS1_SHA256
    );
    let key = cert.public_key().unwrap();
    assert_eq!((key.info().algorithm, key.info().bits), (KeyAlgorithm::Rsa, 2048));
    assert_eq!(key.spki_der(), cert.public_key_der());
    cert.verify_signed_by(&root()).unwrap();

    let info = cert.moj().unwrap().unwrap();
    assert_eq!(info.corporate_name.as_deref(), Some("株式会社テスト商事 TEST"));
    assert_eq!(info.registered_number.as_deref(), Some("010001008846"));
    assert_eq!(info.corporate_number().as_deref(), Some("5010001008846"));
    assert_eq!(
        info.corporate_address.as_deref(),
        Some("東京都千代田区霞が関一丁目1番1号")
    );
    assert_eq!(info.director_name.as_deref(), Some("法務 太郎"));
    assert_eq!(info.director_title.as_deref(), Some("代表取締役"));
    assert_eq!(info.registry_office.as_deref(), Some("東京法務局"));
    assert_eq!(info.registrar.as_deref(), Some("東京法務局登記官"));
    assert_eq!(info.policy_oids, vec![moj::OID_MOJ_POLICY]);
    assert!(info.has_moj_policy());
    // The unknown [5] and [7] elements were skipped; the rest round-trips.
    let reencoded = moj::CorporateInfo::from_der(&info.corporate_info().to_der().unwrap()).unwrap();
    assert_eq!(reencoded, info.corporate_info());
    // All three MOJ extensions are critical.
    for oid in [
        moj::OID_J_CERTIFICATE_POLICIES,
        moj::OID_REGISTRAR,
        moj::OID_REGISTERED_CORPORATE_INFO,
    ] {
        assert!(cert.extension(oid).unwrap().critical, "{oid}");
    }
}

#[test]
fn other_representative_certificates() {
    let ecdsa = load("rep-ecdsa");
    assert_eq!(ecdsa.subject(), "CN=電子 花子,O=合同会社テスト電子 TEST,C=JP");
    assert_eq!(ecdsa.serial_hex(), "1004");
    assert_eq!(ecdsa.public_key().unwrap().info().algorithm, KeyAlgorithm::EcP256);
    // Signed by the RSA root, so the signature is still RSA.
    assert_eq!(
        ecdsa.signature_algorithm().unwrap(),
        SignatureAlgorithm::RSA_PKCS1_SHA256
    );
    let info = ecdsa.moj().unwrap().unwrap();
    assert_eq!(info.corporate_name.as_deref(), Some("合同会社テスト電子 TEST"));
    assert_eq!(info.registered_number.as_deref(), Some("010403012345"));
    assert_eq!(info.corporate_number().as_deref(), Some("7010403012345"));
    assert_eq!(
        info.corporate_address.as_deref(),
        Some("東京都港区芝公園四丁目2番8号")
    );
    assert_eq!(info.director_name.as_deref(), Some("電子 花子"));
    assert_eq!(info.director_title.as_deref(), Some("代表社員"));
    assert_eq!(info.registry_office.as_deref(), Some("東京法務局港出張所"));
    assert_eq!(info.registrar.as_deref(), Some("東京法務局登記官"));

    let expired = load("rep-expired");
    assert_eq!(expired.subject(), "CN=旧姓 次郎,O=株式会社旧テスト TEST,C=JP");
    assert_eq!(expired.not_before_rfc3339(), "2020-01-01T00:00:00Z");
    assert_eq!(expired.not_after_rfc3339(), "2021-01-01T00:00:00Z");
    let info = expired.moj().unwrap().unwrap();
    assert_eq!(info.corporate_name.as_deref(), Some("株式会社旧テスト TEST"));
    assert_eq!(info.registered_number.as_deref(), Some("011001099999"));
    assert_eq!(info.corporate_number().as_deref(), Some("5011001099999"));
    assert_eq!(
        info.corporate_address.as_deref(),
        Some("東京都新宿区西新宿二丁目8番1号")
    );
    assert_eq!(info.director_name.as_deref(), Some("旧姓 次郎"));
    assert_eq!(info.director_title.as_deref(), Some("代表取締役"));
    assert_eq!(info.registry_office.as_deref(), Some("東京法務局新宿出張所"));

    let rsa1024 = load("rep-rsa1024");
    assert_eq!(rsa1024.public_key().unwrap().info().bits, 1024);
    assert_eq!(rsa1024.subject(), MAIN_SUBJECT);
    let main = load("rep-rsa2048").moj().unwrap();
    assert_eq!(rsa1024.moj().unwrap(), main);
    let foreign = load("rep-foreign");
    assert_eq!(foreign.issuer(), OTHER_ROOT_SUBJECT);
    assert_eq!(foreign.serial_hex(), "2001");
    assert_eq!(foreign.moj().unwrap(), main);
}

#[test]
fn roots() {
    let root = root();
    assert_eq!(root.subject(), ROOT_SUBJECT);
    assert_eq!(root.issuer(), ROOT_SUBJECT);
    assert_eq!(root.serial_hex(), "01");
    assert!(root.is_self_signed());
    assert_eq!(root.not_before_rfc3339(), "2024-01-01T00:00:00Z");
    assert_eq!(root.not_after_rfc3339(), "2037-12-31T23:59:59Z");
    assert_eq!(
        root.basic_constraints().unwrap(),
        Some(BasicConstraints {
            is_ca: true,
            path_len: None
        })
    );
    assert_eq!(root.moj().unwrap(), None);
    let other = load("other-root");
    assert!(other.is_self_signed());
    assert!(matches!(
        load("rep-rsa2048").verify_signed_by(&other),
        Err(Error::BadSignature { .. })
    ));
    assert!(matches!(
        root.verify_signed_by(&other),
        Err(Error::BadSignature { .. })
    ));
}

#[test]
fn bad_moj_certificate_parses_but_its_moj_info_is_malformed() {
    let cert = load("rep-bad-moj");
    assert_eq!(cert.subject(), "CN=不正 三郎,O=株式会社不正データ TEST,C=JP");
    cert.verify_signed_by(&root()).unwrap();
    assert!(matches!(cert.moj(), Err(Error::Malformed { .. })));
    let summary = cert.summary();
    assert_eq!(summary.subject, cert.subject());
    assert_eq!(summary.corporate_name, None);
    // A critical MOJ extension that does not decode is not understood.
    let err = validate_chain(&cert, &[], &[root()], june_2026()).unwrap_err();
    assert!(matches!(err, Error::Malformed { .. }), "{err:?}");
}

#[test]
fn summary_has_the_documented_fields() {
    let s = load("rep-rsa2048").summary();
    assert_eq!(s.subject, MAIN_SUBJECT);
    assert_eq!(s.issuer, ROOT_SUBJECT);
    assert_eq!(s.serial, "1001");
    assert_eq!(s.not_before, "2025-01-01T00:00:00Z");
    assert_eq!(s.not_after, "2035-12-31T23:59:59Z");
    assert_eq!(s.corporate_name.as_deref(), Some("株式会社テスト商事 TEST"));
    assert_eq!(s.registered_number.as_deref(), Some("010001008846"));
    assert_eq!(s.corporate_number.as_deref(), Some("5010001008846"));
    assert_eq!(
        s.corporate_address.as_deref(),
        Some("東京都千代田区霞が関一丁目1番1号")
    );
    assert_eq!(s.director_name.as_deref(), Some("法務 太郎"));
    assert_eq!(s.director_title.as_deref(), Some("代表取締役"));
    assert_eq!(s.registry_office.as_deref(), Some("東京法務局"));
    assert_eq!(s.registrar.as_deref(), Some("東京法務局登記官"));
    let root = root().summary();
    assert_eq!(
        (root.corporate_name, root.corporate_number, root.registrar),
        (None, None, None)
    );
}

#[cfg(feature = "cli")]
#[test]
fn summary_json_keys() {
    let json = serde_json::to_value(load("rep-ecdsa").summary()).unwrap();
    let obj = json.as_object().unwrap();
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut expected = vec![
        "subject",
        "issuer",
        "serial",
        "not_before",
        "not_after",
        "corporate_name",
        "registered_number",
        "corporate_number",
        "corporate_address",
        "director_name",
        "director_title",
        "registry_office",
        "registrar",
    ];
    expected.sort_unstable();
    assert_eq!(keys, expected);
    assert_eq!(obj["corporate_number"], "7010403012345");
    assert_eq!(obj["director_name"], "電子 花子");
    assert_eq!(obj["not_after"], "2035-12-31T23:59:59Z");
    let root = serde_json::to_value(load("registrar-root").summary()).unwrap();
    assert!(root["corporate_name"].is_null());
    let info = serde_json::to_value(load("rep-rsa2048").moj().unwrap().unwrap()).unwrap();
    assert_eq!(info["policy_oids"], serde_json::json!(["1.2.392.100300.1.3.4"]));
}

#[test]
fn corrupt_and_truncated_input_is_malformed() {
    let der = fixtures::bytes("rep-rsa2048.der");
    let pem = String::from_utf8(fixtures::bytes("rep-rsa2048.pem")).unwrap();
    let mut wrong_tag = der.clone();
    wrong_tag[4] = 0x31; // tbsCertificate SEQUENCE -> SET
    let mut trailing = der.clone();
    trailing.extend_from_slice(&[0, 0]);
    let ders: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("truncated", der[..der.len() - 10].to_vec()),
        ("header only", der[..4].to_vec()),
        ("wrong inner tag", wrong_tag),
        ("trailing bytes", trailing),
        ("not a certificate", vec![0x30, 0x03, 0x02, 0x01, 0x05]),
        ("binary garbage", vec![0xff, 0xfe, 0x00, 0x81]),
    ];
    for (what, bytes) in &ders {
        for result in [Certificate::from_der(bytes), Certificate::from_pem_or_der(bytes)] {
            assert!(
                matches!(result, Err(Error::Malformed { .. })),
                "{what}: {result:?}"
            );
        }
        assert!(
            matches!(Certificate::parse_all(bytes), Err(Error::Malformed { .. })),
            "{what}"
        );
    }

    let body_start = pem.find('\n').unwrap() + 1;
    let mut bad_base64 = pem.clone();
    bad_base64.replace_range(body_start + 10..body_start + 11, "*");
    let lines: Vec<&str> = pem.lines().collect();
    let missing_lines = [&lines[..3], &lines[lines.len() - 1..]].concat().join("\n");
    let pems: Vec<(&str, String)> = vec![
        ("no END line", pem[..pem.len() / 2].to_string()),
        ("bad base64", bad_base64),
        ("body cut short", missing_lines),
        ("empty", String::new()),
        ("no PEM at all", "hello".to_string()),
        ("wrong label only", pem.replace("CERTIFICATE", "PRIVATE KEY")),
        (
            "valid base64, not a certificate",
            "-----BEGIN CERTIFICATE-----\nMAMCAQU=\n-----END CERTIFICATE-----\n".into(),
        ),
    ];
    for (what, text) in &pems {
        let results = [
            Certificate::from_pem(text),
            Certificate::from_pem_or_der(text.as_bytes()),
            Certificate::parse_all(text.as_bytes()).map(|mut v| v.remove(0)),
        ];
        for result in results {
            assert!(
                matches!(result, Err(Error::Malformed { .. })),
                "{what}: {result:?}"
            );
        }
    }
}

// ---- chain validation over the fixtures ------------------------------------------

#[test]
fn main_certificate_validates_to_the_registrar_root() {
    let leaf = load("rep-rsa2048");
    let path = validate_chain(&leaf, &[], &[root()], june_2026()).unwrap();
    assert_eq!(path, vec![leaf.clone(), root()]);
    // Unrelated certificates among the intermediates and roots do not matter.
    let noise = [load("other-root"), load("rep-ecdsa")];
    let path = validate_chain(&leaf, &noise, &[load("other-root"), root()], june_2026()).unwrap();
    assert_eq!(path.len(), 2);
    for name in ["rep-rsa1024", "rep-ecdsa"] {
        let path = validate_chain(&load(name), &[], &[root()], june_2026()).unwrap();
        assert_eq!(path[1], root(), "{name}");
    }
    let foreign = load("rep-foreign");
    assert_eq!(
        validate_chain(&foreign, &[], &[load("other-root")], june_2026())
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn expired_and_not_yet_valid() {
    let failure = trust_failure(validate_chain(&load("rep-expired"), &[], &[root()], june_2026()));
    assert_eq!(
        failure,
        TrustFailure::Expired {
            subject: "CN=旧姓 次郎,O=株式会社旧テスト TEST,C=JP".into(),
            not_after: "2021-01-01T00:00:00Z".into()
        }
    );
    let leaf = load("rep-rsa2048");
    // 2040-01-01: the leaf has expired (and the root too; the leaf is reported).
    let failure = trust_failure(validate_chain(&leaf, &[], &[root()], unix(2_208_988_800)));
    assert_eq!(
        failure,
        TrustFailure::Expired {
            subject: MAIN_SUBJECT.into(),
            not_after: "2035-12-31T23:59:59Z".into()
        }
    );
    // 2024-06-01: before the leaf's notBefore.
    let failure = trust_failure(validate_chain(&leaf, &[], &[root()], unix(1_717_200_000)));
    assert!(
        matches!(failure, TrustFailure::NotYetValid { ref not_before, .. } if not_before == "2025-01-01T00:00:00Z")
    );
    // 2020-06-01: rep-expired itself is valid, but its issuer is not yet.
    let failure = trust_failure(validate_chain(
        &load("rep-expired"),
        &[],
        &[root()],
        unix(1_590_969_600),
    ));
    assert_eq!(
        failure,
        TrustFailure::NotYetValid {
            subject: ROOT_SUBJECT.into(),
            not_before: "2024-01-01T00:00:00Z".into()
        }
    );
}

#[test]
fn foreign_certificate_has_no_trusted_issuer() {
    let foreign = load("rep-foreign");
    let failure = trust_failure(validate_chain(&foreign, &[], &[root()], june_2026()));
    assert_eq!(
        failure,
        TrustFailure::IssuerNotFound {
            issuer: OTHER_ROOT_SUBJECT.into()
        }
    );
    // Handing over the other root as an intermediate does not make it trusted.
    let failure = trust_failure(validate_chain(
        &foreign,
        &[load("other-root")],
        &[root()],
        june_2026(),
    ));
    assert_eq!(
        failure,
        TrustFailure::IssuerNotFound {
            issuer: OTHER_ROOT_SUBJECT.into()
        }
    );
    // No roots at all.
    let failure = trust_failure(validate_chain(&load("rep-rsa2048"), &[], &[], june_2026()));
    assert_eq!(
        failure,
        TrustFailure::IssuerNotFound {
            issuer: ROOT_SUBJECT.into()
        }
    );
}

#[test]
fn tampered_signature_or_content() {
    let der = fixtures::bytes("rep-rsa2048.der");
    let mut bad_sig = der.clone();
    let last = bad_sig.len() - 1;
    bad_sig[last] ^= 0x01;
    // The serial 0x1001 sits at a fixed place in the tbsCertificate; make it 0x1002.
    let mut bad_tbs = der.clone();
    let at = bad_tbs
        .windows(4)
        .position(|w| w == [0x02, 0x02, 0x10, 0x01])
        .unwrap();
    bad_tbs[at + 3] = 0x02;
    for (what, bytes) in [("signature", bad_sig), ("content", bad_tbs)] {
        let cert = Certificate::from_der(&bytes).unwrap();
        assert!(
            matches!(cert.verify_signed_by(&root()), Err(Error::BadSignature { .. })),
            "{what}"
        );
        let failure = trust_failure(validate_chain(&cert, &[], &[root()], june_2026()));
        assert_eq!(
            failure,
            TrustFailure::BadCertificateSignature {
                subject: MAIN_SUBJECT.into()
            },
            "{what}"
        );
    }
}

#[test]
fn openssl_agrees_on_the_fixtures() {
    let cases = [
        ("rep-rsa2048", "registrar-root"),
        ("rep-rsa1024", "registrar-root"),
        ("rep-ecdsa", "registrar-root"),
        ("rep-expired", "registrar-root"),
        ("rep-foreign", "registrar-root"),
        ("rep-foreign", "other-root"),
    ];
    for (leaf, anchor) in cases {
        let ours = validate_chain(&load(leaf), &[], &[load(anchor)], june_2026()).is_ok();
        let theirs = openssl_verify(
            &fixtures::path(&format!("{anchor}.pem")),
            None,
            &fixtures::path(&format!("{leaf}.pem")),
            Some(1_780_272_000),
            true,
        );
        assert_eq!(ours, theirs, "{leaf} under {anchor}");
    }
}

fn openssl_verify(
    ca: &Path,
    untrusted: Option<&Path>,
    leaf: &Path,
    attime: Option<u64>,
    ignore_critical: bool,
) -> bool {
    let mut cmd = Command::new("openssl");
    cmd.arg("verify").arg("-CAfile").arg(ca);
    if let Some(u) = untrusted {
        cmd.arg("-untrusted").arg(u);
    }
    if let Some(t) = attime {
        cmd.args(["-attime", &t.to_string()]);
    }
    if ignore_critical {
        cmd.arg("-ignore_critical");
    }
    cmd.arg(leaf).output().unwrap().status.success()
}

// ---- chain validation over certificates made here with openssl ------------------

/// Certificates made once per test binary in a temp dir, with the fixture
/// keys (no key generation), valid from now for ten years.
struct Pki {
    dir: tempfile::TempDir,
}

const EXT_CNF: &str = r#"
[req]
distinguished_name = dn
prompt = no
[dn]

[root_ext]
basicConstraints       = critical,CA:TRUE
keyUsage               = critical,keyCertSign,cRLSign
subjectKeyIdentifier   = hash

[ca_ext]
basicConstraints       = critical,CA:TRUE
keyUsage               = critical,keyCertSign,cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ca0_ext]
basicConstraints       = critical,CA:TRUE,pathlen:0
keyUsage               = critical,keyCertSign,cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[not_ca_ext]
basicConstraints       = critical,CA:FALSE
keyUsage               = critical,keyCertSign,cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[no_certsign_ext]
basicConstraints       = critical,CA:TRUE
keyUsage               = critical,digitalSignature
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[leaf_ext]
basicConstraints       = critical,CA:FALSE
keyUsage               = critical,digitalSignature,nonRepudiation
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[leaf_encipher_ext]
basicConstraints       = critical,CA:FALSE
keyUsage               = critical,keyEncipherment
authorityKeyIdentifier = keyid:always

[leaf_unknown_critical_ext]
basicConstraints       = critical,CA:FALSE
keyUsage               = critical,digitalSignature,nonRepudiation
authorityKeyIdentifier = keyid:always
1.2.3.4.5.6.7          = critical,ASN1:UTF8String:TEST unknown

[leaf_unknown_noncritical_ext]
basicConstraints       = critical,CA:FALSE
keyUsage               = critical,digitalSignature,nonRepudiation
authorityKeyIdentifier = keyid:always
1.2.3.4.5.6.7          = ASN1:UTF8String:TEST unknown
"#;

/// One certificate to make: (name, subject, fixture key, issuer name ("" =
/// self-signed), extension section of EXT_CNF, extra `openssl x509` args).
type Step = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

/// A [`Step`] with owned names, for the steps made in a loop.
type OwnedStep = (
    String,
    String,
    &'static str,
    String,
    &'static str,
    &'static [&'static str],
);

const PSS: &[&str] = &[
    "-sigopt",
    "rsa_padding_mode:pss",
    "-sigopt",
    "rsa_pss_saltlen:digest",
    "-sigopt",
    "rsa_mgf1_md:sha256",
];

/// PSS with the largest salt the root's key allows.
const PSS_MAX: &[&str] = &[
    "-sigopt",
    "rsa_padding_mode:pss",
    "-sigopt",
    "rsa_pss_saltlen:max",
    "-sigopt",
    "rsa_mgf1_md:sha256",
];

/// PSS with a 20-byte salt, which crpki does not verify.
const PSS_20: &[&str] = &[
    "-sigopt",
    "rsa_padding_mode:pss",
    "-sigopt",
    "rsa_pss_saltlen:20",
    "-sigopt",
    "rsa_mgf1_md:sha256",
];

#[rustfmt::skip]
const PLAN: &[Step] = &[
    ("unknown-crit", "/CN=TEST unknown critical", "rep-rsa2048", "root", "leaf_unknown_critical_ext", &[]),
    ("unknown-noncrit", "/CN=TEST unknown non-critical", "rep-rsa2048", "root", "leaf_unknown_noncritical_ext", &[]),
    ("encipher-only", "/CN=TEST encipher only", "rep-rsa2048", "root", "leaf_encipher_ext", &[]),
    // root -> int (CA:FALSE) -> leaf
    ("int-not-ca", "/CN=TEST intermediate not CA", "other-root", "root", "not_ca_ext", &[]),
    ("leaf-under-not-ca", "/CN=TEST leaf under not-CA", "rep-ecdsa", "int-not-ca", "leaf_ext", &[]),
    // root -> int (CA, keyUsage without keyCertSign) -> leaf
    ("int-no-certsign", "/CN=TEST intermediate without keyCertSign", "other-root", "root", "no_certsign_ext", &[]),
    ("leaf-under-no-certsign", "/CN=TEST leaf under no-certsign", "rep-ecdsa", "int-no-certsign", "leaf_ext", &[]),
    // root -> int-a (pathlen:0) -> int-b -> leaf exceeds int-a's pathLen; root -> int-a -> leaf does not.
    ("int-a", "/CN=TEST intermediate A pathlen 0", "other-root", "root", "ca0_ext", &[]),
    ("int-b", "/CN=TEST intermediate B", "rep-bad-moj", "int-a", "ca_ext", &[]),
    ("leaf-under-b", "/CN=TEST leaf under B", "rep-ecdsa", "int-b", "leaf_ext", &[]),
    ("leaf-under-a", "/CN=TEST leaf under A", "rep-ecdsa", "int-a", "leaf_ext", &[]),
    // An RSA-1024 root, an RSA-PSS signature, an ECDSA root signing with SHA-384.
    ("root1024", "/CN=TEST RSA-1024 root", "rep-rsa1024", "", "root_ext", &[]),
    ("leaf-under-1024", "/CN=TEST leaf under RSA-1024", "rep-ecdsa", "root1024", "leaf_ext", &[]),
    ("leaf-pss", "/CN=TEST leaf signed with PSS", "rep-ecdsa", "root", "leaf_ext", PSS),
    ("leaf-pss-max", "/CN=TEST leaf signed with PSS, largest salt", "rep-ecdsa", "root", "leaf_ext", PSS_MAX),
    ("leaf-pss-20", "/CN=TEST leaf signed with PSS, 20-byte salt", "rep-ecdsa", "root", "leaf_ext", PSS_20),
    ("root-ec", "/CN=TEST ECDSA root", "rep-ecdsa", "", "root_ext", &[]),
    ("leaf-under-ec", "/CN=TEST leaf under ECDSA", "rep-rsa2048", "root-ec", "leaf_ext", &["-sha384"]),
    // A renewed root: the registrar's name on another key.
    ("root-renewed", "/C=JP/O=Japanese Government/OU=Ministry of Justice/CN=TEST Registrar of Tokyo Legal Affairs Bureau",
        "other-root", "", "root_ext", &[]),
];

impl Pki {
    fn get() -> &'static Pki {
        static PKI: OnceLock<Pki> = OnceLock::new();
        PKI.get_or_init(Pki::build)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.pem"))
    }

    fn cert(&self, name: &str) -> Certificate {
        Certificate::from_pem(&std::fs::read_to_string(self.path(name)).unwrap()).unwrap()
    }

    fn build() -> Pki {
        let pki = Pki {
            dir: tempfile::tempdir().unwrap(),
        };
        let d = pki.dir.path();
        std::fs::write(d.join("ext.cnf"), EXT_CNF).unwrap();
        // The registrar root, copied in so that it can issue here.
        std::fs::copy(fixtures::path("registrar-root.pem"), d.join("root.pem")).unwrap();

        // A chain longer than MAX_PATH_LEN: root -> long1 -> ... -> long7 -> leaf.
        let mut plan: Vec<OwnedStep> = PLAN
            .iter()
            .map(|&(n, s, k, i, e, x)| (n.to_string(), s.to_string(), k, i.to_string(), e, x))
            .collect();
        let mut issuer = "root".to_string();
        for i in 1..MAX_PATH_LEN {
            let name = format!("long{i}");
            let key = ["other-root", "rep-rsa2048"][i % 2];
            plan.push((
                name.clone(),
                format!("/CN=TEST long chain {i}"),
                key,
                issuer,
                "ca_ext",
                &[],
            ));
            issuer = name;
        }
        plan.push((
            "leaf-long".into(),
            "/CN=TEST long chain leaf".into(),
            "rep-ecdsa",
            issuer,
            "leaf_ext",
            &[],
        ));

        let key_path = |k: &str| fixtures::path(&format!("{k}.key.pem"));
        let mut keys: HashMap<String, PathBuf> = HashMap::from([("root".into(), key_path("registrar-root"))]);
        for (serial, (name, subject, key, issuer, ext, extra)) in plan.into_iter().enumerate() {
            let key = key_path(key);
            let mut cmd = Command::new("openssl");
            cmd.current_dir(d);
            if issuer.is_empty() {
                cmd.args(["x509", "-new", "-subj", &subject, "-key"]).arg(&key);
            } else {
                let csr = d.join(format!("{name}.csr"));
                let st = Command::new("openssl")
                    .current_dir(d)
                    .args(["req", "-new", "-config", "ext.cnf", "-subj", &subject, "-key"])
                    .arg(&key)
                    .arg("-out")
                    .arg(&csr)
                    .status()
                    .unwrap();
                assert!(st.success(), "req {name}");
                cmd.args(["x509", "-req", "-in"]).arg(&csr);
                cmd.arg("-CA").arg(d.join(format!("{issuer}.pem")));
                cmd.arg("-CAkey").arg(&keys[&issuer]);
            }
            let serial = (serial + 100).to_string();
            cmd.args([
                "-days",
                "3650",
                "-set_serial",
                &serial,
                "-extfile",
                "ext.cnf",
                "-extensions",
                ext,
            ]);
            cmd.args(extra).arg("-out").arg(d.join(format!("{name}.pem")));
            let output = cmd.output().unwrap();
            assert!(
                output.status.success(),
                "{name}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            keys.insert(name, key);
        }
        pki
    }
}

fn now() -> SystemTime {
    SystemTime::now()
}

#[test]
fn unknown_critical_extension_is_refused() {
    let pki = Pki::get();
    let leaf = pki.cert("unknown-crit");
    let failure = trust_failure(validate_chain(&leaf, &[], &[root()], now()));
    assert_eq!(
        failure,
        TrustFailure::UnhandledCriticalExtension {
            subject: "CN=TEST unknown critical".into(),
            oid: "1.2.3.4.5.6.7".into()
        }
    );
    // openssl agrees, unless told to ignore it.
    let root_pem = fixtures::path("registrar-root.pem");
    assert!(!openssl_verify(
        &root_pem,
        None,
        &pki.path("unknown-crit"),
        None,
        false
    ));
    assert!(openssl_verify(
        &root_pem,
        None,
        &pki.path("unknown-crit"),
        None,
        true
    ));
    // The same extension, non-critical, is fine.
    let leaf = pki.cert("unknown-noncrit");
    assert_eq!(validate_chain(&leaf, &[], &[root()], now()).unwrap().len(), 2);
    assert!(openssl_verify(
        &root_pem,
        None,
        &pki.path("unknown-noncrit"),
        None,
        false
    ));
}

#[test]
fn issuer_must_be_a_ca_within_its_path_length() {
    let pki = Pki::get();
    let failure = trust_failure(validate_chain(
        &pki.cert("leaf-under-not-ca"),
        &[pki.cert("int-not-ca")],
        &[root()],
        now(),
    ));
    assert_eq!(
        failure,
        TrustFailure::NotCa {
            subject: "CN=TEST intermediate not CA".into()
        }
    );

    let failure = trust_failure(validate_chain(
        &pki.cert("leaf-under-b"),
        &[pki.cert("int-b"), pki.cert("int-a")],
        &[root()],
        now(),
    ));
    assert_eq!(
        failure,
        TrustFailure::NotCa {
            subject: "CN=TEST intermediate A pathlen 0".into()
        }
    );

    let path = validate_chain(&pki.cert("leaf-under-a"), &[pki.cert("int-a")], &[root()], now()).unwrap();
    let subjects: Vec<String> = path.iter().map(Certificate::subject).collect();
    assert_eq!(
        subjects,
        [
            "CN=TEST leaf under A",
            "CN=TEST intermediate A pathlen 0",
            ROOT_SUBJECT
        ]
    );
    // Without the intermediate there is no path.
    let failure = trust_failure(validate_chain(&pki.cert("leaf-under-a"), &[], &[root()], now()));
    assert_eq!(
        failure,
        TrustFailure::IssuerNotFound {
            issuer: "CN=TEST intermediate A pathlen 0".into()
        }
    );
}

#[test]
fn key_usage_is_enforced() {
    let pki = Pki::get();
    let failure = trust_failure(validate_chain(
        &pki.cert("leaf-under-no-certsign"),
        &[pki.cert("int-no-certsign")],
        &[root()],
        now(),
    ));
    assert_eq!(
        failure,
        TrustFailure::KeyUsage {
            subject: "CN=TEST intermediate without keyCertSign".into(),
            needed: "keyCertSign"
        }
    );
    let failure = trust_failure(validate_chain(&pki.cert("encipher-only"), &[], &[root()], now()));
    assert_eq!(
        failure,
        TrustFailure::KeyUsage {
            subject: "CN=TEST encipher only".into(),
            needed: "digitalSignature or nonRepudiation"
        }
    );
}

#[test]
fn signature_algorithms_and_legacy_rsa_1024_issuer() {
    let pki = Pki::get();
    let leaf = pki.cert("leaf-under-1024");
    assert_eq!(pki.cert("root1024").public_key().unwrap().info().bits, 1024);
    assert_eq!(
        validate_chain(&leaf, &[], &[pki.cert("root1024")], now())
            .unwrap()
            .len(),
        2
    );

    let pss = pki.cert("leaf-pss");
    assert_eq!(
        pss.signature_algorithm().unwrap(),
        SignatureAlgorithm::new(SignatureScheme::RsaPss, HashAlgorithm::Sha256)
    );
    assert_eq!(validate_chain(&pss, &[], &[root()], now()).unwrap().len(), 2);
    let pss_max = pki.cert("leaf-pss-max");
    assert_eq!(
        pss_max.signature_algorithm().unwrap(),
        pss.signature_algorithm().unwrap()
    );
    pss_max.verify_signed_by(&root()).unwrap();
    // Another issuer's key: the largest salt differs, the signature fails.
    let e = pss_max.verify_signed_by(&pki.cert("root1024")).unwrap_err();
    assert!(
        matches!(e, Error::BadSignature { .. } | Error::Unsupported { .. }),
        "{e:?}"
    );
    let e = pki.cert("leaf-pss-20").verify_signed_by(&root()).unwrap_err();
    assert!(
        matches!(e, Error::Unsupported { .. }) && e.to_string().contains("20-byte salt"),
        "{e}"
    );

    let ec = pki.cert("leaf-under-ec");
    assert_eq!(
        ec.signature_algorithm().unwrap(),
        SignatureAlgorithm::new(SignatureScheme::Ecdsa, HashAlgorithm::Sha384)
    );
    assert_eq!(
        validate_chain(&ec, &[], &[pki.cert("root-ec")], now())
            .unwrap()
            .len(),
        2
    );
    // An ECDSA signature cannot come from an RSA root of the same name... or any RSA key.
    assert!(matches!(
        ec.verify_signed_by(&root()),
        Err(Error::BadSignature { .. })
    ));
    assert!(pki.cert("root1024").is_self_signed());
    assert!(pki.cert("root-ec").is_self_signed());
}

#[test]
fn renewed_root_with_the_same_name_is_told_apart_by_key() {
    let pki = Pki::get();
    let leaf = load("rep-rsa2048");
    let renewed = pki.cert("root-renewed");
    assert_eq!(renewed.subject(), ROOT_SUBJECT);
    // The authorityKeyIdentifier rules the renewed root out.
    let failure = trust_failure(validate_chain(
        &leaf,
        &[],
        std::slice::from_ref(&renewed),
        june_2026(),
    ));
    assert_eq!(
        failure,
        TrustFailure::IssuerNotFound {
            issuer: ROOT_SUBJECT.into()
        }
    );
    let path = validate_chain(&leaf, &[], &[renewed, root()], june_2026()).unwrap();
    assert_eq!(path[1], root());
}

#[test]
fn long_chains_are_refused() {
    let pki = Pki::get();
    let ints: Vec<Certificate> = (1..MAX_PATH_LEN).map(|i| pki.cert(&format!("long{i}"))).collect();
    let leaf = pki.cert("leaf-long");
    // leaf + (MAX_PATH_LEN - 1) intermediates + root = MAX_PATH_LEN + 1 certificates.
    let failure = trust_failure(validate_chain(&leaf, &ints, &[root()], now()));
    assert_eq!(failure, TrustFailure::PathTooLong);
    // Trusting the intermediate just below the root shortens the path to
    // MAX_PATH_LEN certificates: accepted.
    let below_root = ints[0].clone();
    let path = validate_chain(&leaf, &ints, &[below_root], now()).unwrap();
    assert_eq!(path.len(), MAX_PATH_LEN);
}

#[test]
fn openssl_agrees_on_made_chains() {
    let pki = Pki::get();
    let root_pem = fixtures::path("registrar-root.pem");
    let cases: [(&str, &[&str], &str); 7] = [
        ("leaf-under-not-ca", &["int-not-ca"], "root"),
        ("leaf-under-no-certsign", &["int-no-certsign"], "root"),
        ("leaf-under-b", &["int-b", "int-a"], "root"),
        ("leaf-under-a", &["int-a"], "root"),
        ("leaf-under-1024", &[], "root1024"),
        ("leaf-pss", &[], "root"),
        ("leaf-pss-max", &[], "root"),
    ];
    for (leaf, ints, anchor) in cases {
        let anchor_path = if anchor == "root" {
            root_pem.clone()
        } else {
            pki.path(anchor)
        };
        let anchor_cert = Certificate::from_pem(&std::fs::read_to_string(&anchor_path).unwrap()).unwrap();
        let int_certs: Vec<Certificate> = ints.iter().map(|i| pki.cert(i)).collect();
        let ours = validate_chain(&pki.cert(leaf), &int_certs, &[anchor_cert], now()).is_ok();
        let bundle = pki.dir.path().join(format!("{leaf}-untrusted.pem"));
        let text: String = ints
            .iter()
            .map(|i| std::fs::read_to_string(pki.path(i)).unwrap())
            .collect();
        std::fs::write(&bundle, text).unwrap();
        let theirs = openssl_verify(
            &anchor_path,
            (!ints.is_empty()).then_some(bundle.as_path()),
            &pki.path(leaf),
            None,
            false,
        );
        assert_eq!(ours, theirs, "{leaf}");
    }
}
