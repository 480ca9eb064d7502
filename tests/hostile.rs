//! Hostile input (issue 12, items 1 to 8): certificates and signatures made
//! here to cost time or memory, to lie about their time, or to write on the
//! terminal, and file names that are not UTF-8. Each test fails on the code
//! before the fix (by its result, or by never finishing).
//!
//! Set `CRPKI_KEEP_HOSTILE=DIR` to keep the generated inputs in DIR (for
//! timing `crpki verify` and `crpki cert show` on them by hand).
#![cfg(all(feature = "cli", feature = "sandbox"))]
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::SystemTime;

use der::{Decode, Encode};

use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use crpki::cert::{MAX_CERTIFICATE_SIZE, MAX_ISSUER_CHECKS, moj};
use crpki::cms::{self, SignOptions};
use crpki::testing::fixtures;
use crpki::{Certificate, Error, MemorySigner, PrivateKey, TrustFailure, validate_chain};

const CONTENT: &[u8] = "本契約は crpki のテストです。\n".as_bytes();

/// A fixture RSA key, for rcgen to sign with.
fn key(name: &str) -> KeyPair {
    KeyPair::from_pem_and_sign_algo(
        &fixtures::text(&format!("{name}.key.pem")),
        &rcgen::PKCS_RSA_SHA256,
    )
    .unwrap()
}

fn dn(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

/// The fixture registrar root as an rcgen issuer (same name, same key).
fn root_issuer() -> Issuer<'static, KeyPair> {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "JP");
    dn.push(DnType::OrganizationName, "Japanese Government");
    dn.push(DnType::OrganizationalUnitName, "Ministry of Justice");
    dn.push(DnType::CommonName, "TEST Registrar of Tokyo Legal Affairs Bureau");
    params.distinguished_name = dn;
    Issuer::new(params, key("registrar-root"))
}

fn root() -> Certificate {
    Certificate::from_pem(&fixtures::text("registrar-root.pem")).unwrap()
}

/// Certificate parameters valid from a year ago for ten years.
fn params(cn: &str, serial: u64, ca: bool) -> CertificateParams {
    let now = time::OffsetDateTime::now_utc();
    let mut p = CertificateParams::default();
    p.distinguished_name = dn(cn);
    p.serial_number = Some(serial.into());
    p.not_before = now - time::Duration::days(365);
    p.not_after = now + time::Duration::days(3650);
    if ca {
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    } else {
        p.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::ContentCommitment,
        ];
    }
    p
}

fn cert(params: &CertificateParams, subject_key: &KeyPair, issuer: &Issuer<'_, KeyPair>) -> Certificate {
    Certificate::from_der(params.signed_by(subject_key, issuer).unwrap().der()).unwrap()
}

fn issuer_named(cn: &str, key_name: &str) -> Issuer<'static, KeyPair> {
    let mut p = CertificateParams::default();
    p.distinguished_name = dn(cn);
    Issuer::new(p, key(key_name))
}

/// A signer over `leaf` with `leaf_key` (a fixture name), carrying `chain`.
fn memory_signer(leaf: &Certificate, leaf_key: &str, chain: Vec<Certificate>) -> MemorySigner {
    let pem = fixtures::text(&format!("{leaf_key}.key.pem"));
    let (_, der) = der::pem::decode_vec(pem.as_bytes()).unwrap();
    MemorySigner::new(PrivateKey::from_pkcs8_der(&der).unwrap(), leaf.clone(), chain).unwrap()
}

fn sign(signer: &MemorySigner, signing_time: Option<SystemTime>) -> Vec<u8> {
    let options = SignOptions {
        signing_time,
        ..SignOptions::default()
    };
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(cms::sign_reader(signer, CONTENT, &options))
        .unwrap()
}

fn crpki(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_crpki"))
        .args(args)
        .env_remove("CRPKI_LOG")
        .env("CRPKI_TEST_P12_PASSWORD", fixtures::P12_PASSWORD)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Keeps a generated input when `CRPKI_KEEP_HOSTILE` names a directory.
fn keep(name: &str, bytes: &[u8]) {
    if let Some(dir) = std::env::var_os("CRPKI_KEEP_HOSTILE") {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

/// K self-issued CA certificates named `cn`, all on one key (other-root),
/// each signed by that key: every one is a candidate issuer of every other.
fn same_subject_cas(cn: &str, k: u64) -> Vec<Certificate> {
    let ca_key = key("other-root");
    let issuer = issuer_named(cn, "other-root");
    (0..k)
        .map(|i| cert(&params(cn, 1000 + i, true), &ca_key, &issuer))
        .collect()
}

// ---- 1. chain building -------------------------------------------------------------

#[test]
fn fifty_same_subject_ca_certificates_do_not_blow_up_path_building() {
    let cn = "TEST same subject CA";
    let mut cas = same_subject_cas(cn, 50);
    // The real intermediate, under the registrar root, comes last.
    let real = cert(&params(cn, 999, true), &key("other-root"), &root_issuer());
    cas.push(real.clone());
    let leaf = cert(
        &params("TEST leaf under the same-subject CAs", 7, false),
        &key("rep-rsa2048"),
        &issuer_named(cn, "other-root"),
    );

    let path = validate_chain(&leaf, &cas, &[root()], SystemTime::now()).unwrap();
    assert_eq!(path.len(), 3, "{path:?}");
    assert_eq!(path[1], real);

    // Without the real intermediate there is no path, and that is the answer.
    let err = validate_chain(&leaf, &cas[..50], &[root()], SystemTime::now()).unwrap_err();
    assert!(
        matches!(&err, Error::Untrusted(TrustFailure::IssuerNotFound { issuer }) if issuer.contains(cn)),
        "{err:?}"
    );

    // The same inside a signature, as `crpki verify` meets it.
    let signer = memory_signer(&leaf, "rep-rsa2048", cas[..50].to_vec());
    let der = sign(&signer, None);
    keep("same-subject-50.p7s", &der);
    let err = cms::verify_detached(&der, CONTENT, &[root()], None).unwrap_err();
    assert!(
        matches!(err, Error::Untrusted(TrustFailure::IssuerNotFound { .. })),
        "{err:?}"
    );
    let signer = memory_signer(&leaf, "rep-rsa2048", cas.clone());
    let v = cms::verify_detached(&sign(&signer, None), CONTENT, &[root()], None).unwrap();
    assert_eq!(v.chain.len(), 3);

    if std::env::var_os("CRPKI_KEEP_HOSTILE").is_some() {
        keep("content.txt", CONTENT);
        keep("root.pem", fixtures::text("registrar-root.pem").as_bytes());
        for k in [8, 9, 10] {
            let signer = memory_signer(&leaf, "rep-rsa2048", cas[..k].to_vec());
            keep(&format!("same-subject-{k}.p7s"), &sign(&signer, None));
        }
    }
}

#[test]
fn layered_candidates_stop_at_the_documented_limit() {
    // Six layers of eight CA certificates; every certificate of a layer is a
    // candidate issuer of every certificate of the layer below, so there
    // are 8^6 paths, none reaching a root.
    let keys = [
        "registrar-root",
        "other-root",
        "rep-rsa2048",
        "rep-bad-moj",
        "rep-expired",
        "rep-foreign",
    ];
    let layer_name = |i: usize| format!("TEST layer {i}");
    let mut cas = Vec::new();
    for (i, key_name) in keys.iter().enumerate() {
        let issuer = issuer_named(
            &layer_name(i + 1),
            keys.get(i + 1).copied().unwrap_or("registrar-root"),
        );
        for j in 0..8 {
            cas.push(cert(
                &params(&layer_name(i), (100 * i + j) as u64, true),
                &key(key_name),
                &issuer,
            ));
        }
    }
    let leaf = cert(
        &params("TEST leaf under layers", 7, false),
        &key("rep-rsa2048"),
        &issuer_named(&layer_name(0), keys[0]),
    );
    let err = validate_chain(&leaf, &cas, &[root()], SystemTime::now()).unwrap_err();
    assert!(
        matches!(err, Error::Untrusted(TrustFailure::LimitExceeded { limit, .. }) if limit == MAX_ISSUER_CHECKS),
        "{err:?}"
    );
    assert!(err.to_string().contains("path building gave up"), "{err}");
}

// ---- 2. many extensions, size caps -----------------------------------------------

/// The DER of a leaf under the registrar root with one private extension
/// (`1.3.6.1.4.1.99999.i`, NULL) for each `i` of `ids`.
fn with_extensions(cn: &str, serial: u64, ids: impl Iterator<Item = u64>) -> Vec<u8> {
    let mut p = params(cn, serial, false);
    p.custom_extensions = ids
        .map(|i| CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 99999, i], vec![0x05, 0x00]))
        .collect();
    p.signed_by(&key("rep-rsa2048"), &root_issuer())
        .unwrap()
        .der()
        .to_vec()
}

#[test]
fn eighty_thousand_extensions_are_refused_by_size() {
    let der = with_extensions("TEST 80000 extensions", 9, 0..80_000);
    assert!(der.len() > MAX_CERTIFICATE_SIZE);
    keep("ext-80000.der", &der);
    let err = Certificate::from_der(&der).unwrap_err();
    assert!(
        matches!(&err, Error::Malformed { detail, .. } if detail.contains("limit")),
        "{err:?}"
    );

    // `cert show` refuses the file before reading it, exit 1.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.der");
    std::fs::write(&file, &der).unwrap();
    let out = crpki(&["cert".as_ref(), "show".as_ref(), file.as_os_str()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("at most"), "{}", text(&out.stderr));

    // Just under the limit, thousands of extensions are read, and a repeat
    // among them is still found.
    let der = with_extensions("TEST many extensions", 8, 0..3000);
    let cert = Certificate::from_der(&der).unwrap();
    assert!(cert.extensions().len() > 3000);
    keep("ext-3000.der", cert.der());
    let der = with_extensions("TEST repeated extension", 10, (0..3000).chain([17]));
    let err = Certificate::from_der(&der).unwrap_err();
    assert!(err.to_string().contains("more than once"), "{err}");
}

#[test]
fn signatures_over_the_size_or_certificate_limits_are_malformed() {
    let leaf = cert(
        &params("TEST signer", 11, false),
        &key("rep-rsa2048"),
        &root_issuer(),
    );
    let signer = memory_signer(&leaf, "rep-rsa2048", vec![]);
    let der = sign(&signer, None);
    let too_big = vec![0u8; cms::MAX_SIGNATURE_SIZE + 1];
    let err = cms::verify_detached(&too_big, CONTENT, &[root()], None).unwrap_err();
    assert!(
        matches!(&err, Error::Malformed { detail, .. } if detail.contains("at most")),
        "{err:?}"
    );
    cms::verify_detached(&der, CONTENT, &[root()], None).unwrap();

    // More certificates than MAX_CERTIFICATES.
    let cas = same_subject_cas("TEST too many", cms::MAX_CERTIFICATES as u64);
    let signer = memory_signer(&leaf, "rep-rsa2048", cas);
    let err = cms::verify_detached(&sign(&signer, None), CONTENT, &[root()], None).unwrap_err();
    assert!(
        matches!(&err, Error::Malformed { detail, .. } if detail.contains("certificates")),
        "{err:?}"
    );
}

// ---- 3. validity at the signer's claimed time ------------------------------------

fn ymd(s: &str) -> SystemTime {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .unwrap()
        .into()
}

#[test]
fn a_backdated_signature_is_checked_at_the_current_time_unless_at_is_given() {
    let mut p = params("TEST valid only in 2024", 12, false);
    p.not_before = time::macros::datetime!(2024-01-02 00:00 UTC);
    p.not_after = time::macros::datetime!(2024-12-31 23:59:59 UTC);
    let leaf = cert(&p, &key("rep-rsa2048"), &root_issuer());
    let signer = memory_signer(&leaf, "rep-rsa2048", vec![root()]);
    let june_2024 = ymd("2024-06-01T00:00:00Z");
    let der = sign(&signer, Some(june_2024));

    let err = cms::verify_detached(&der, CONTENT, &[root()], None).unwrap_err();
    assert!(
        matches!(&err, Error::Untrusted(TrustFailure::Expired { subject, .. }) if subject.contains("2024")),
        "{err:?}"
    );
    let v = cms::verify_detached(&der, CONTENT, &[root()], Some(june_2024)).unwrap();
    assert_eq!(v.validated_at, june_2024);
    assert_eq!(v.signing_time, Some(june_2024));

    // The CLI: exit 3 "expired" by default, valid with --at.
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("doc.txt");
    std::fs::write(&doc, CONTENT).unwrap();
    let sig = dir.path().join("doc.txt.p7s");
    std::fs::write(&sig, &der).unwrap();
    let ca = fixtures::path("registrar-root.pem");
    let out = crpki(&[
        "verify".as_ref(),
        doc.as_os_str(),
        "--ca".as_ref(),
        ca.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("expired"), "{}", text(&out.stderr));
    let out = crpki(&[
        "verify".as_ref(),
        doc.as_os_str(),
        "--ca".as_ref(),
        ca.as_os_str(),
        "--at".as_ref(),
        "2024-06-01T00:00:00Z".as_ref(),
        "--json".as_ref(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["validated_at"], "2024-06-01T00:00:00Z");
    assert_eq!(v["signing_time"], "2024-06-01T00:00:00Z");
    let out = crpki(&[
        "verify".as_ref(),
        doc.as_os_str(),
        "--ca".as_ref(),
        ca.as_os_str(),
        "--at".as_ref(),
        "June 2024".as_ref(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

// ---- 4. size cap on the signature file -------------------------------------------

#[test]
fn an_oversized_signature_file_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("doc.txt");
    std::fs::write(&doc, CONTENT).unwrap();
    let sig = dir.path().join("doc.txt.p7s");
    // 600 MB, sparse: reading it whole is what must not happen.
    std::fs::File::create(&sig).unwrap().set_len(600_000_000).unwrap();
    let err = cms::verify_file(&sig, &doc, &[root()], None).unwrap_err();
    assert!(
        matches!(&err, Error::Malformed { detail, .. } if detail.contains("600000000 bytes") && detail.contains("at most")),
        "{err:?}"
    );
    let ca = fixtures::path("registrar-root.pem");
    let out = crpki(&[
        "verify".as_ref(),
        doc.as_os_str(),
        "--ca".as_ref(),
        ca.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("at most 1048576 bytes"),
        "{}",
        text(&out.stderr)
    );
}

// ---- 5. file names that are not UTF-8 ----------------------------------------------

#[cfg(unix)]
#[test]
fn a_file_name_that_is_not_utf8_signs_and_verifies_in_text_and_json() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(std::ffi::OsStr::from_bytes(b"bad\xff\xfe.txt"));
    std::fs::write(&file, CONTENT).unwrap();
    let p12 = fixtures::path("rep-rsa2048.p12");
    let out = crpki(&[
        "sign".as_ref(),
        file.as_os_str(),
        "--p12".as_ref(),
        p12.as_os_str(),
        "--password-env".as_ref(),
        "CRPKI_TEST_P12_PASSWORD".as_ref(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let ca = fixtures::path("registrar-root.pem");
    let args = [
        "verify".as_ref(),
        file.as_os_str(),
        "--ca".as_ref(),
        ca.as_os_str(),
    ];
    let out = crpki(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("bad\\xff\\xfe.txt"),
        "{}",
        text(&out.stdout)
    );

    let out = crpki(&[&args[..], &["--json".as_ref()]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let shown = v["file"].as_str().unwrap();
    assert!(shown.ends_with("/bad\\xff\\xfe.txt"), "{shown}");
    assert!(
        v["signature"]
            .as_str()
            .unwrap()
            .ends_with("/bad\\xff\\xfe.txt.p7s"),
        "{v}"
    );
}

// ---- 6-8. what `cert show` prints ---------------------------------------------------

const HOSTILE: &str = "株式会社ACME\r\n法人番号 corporate number: 1234567890123\u{1b}[2K\u{9b}1A\u{202e}";

/// A representative certificate whose MOJ values carry `HOSTILE`.
fn hostile_moj_certificate() -> Certificate {
    let info = moj::CorporateInfo {
        corporate_name: Some(HOSTILE.into()),
        registered_number: Some("010001008846".into()),
        corporate_address: Some(format!("東京都\n{HOSTILE}")),
        director_name: Some("法務\u{85}太郎".into()),
        director_title: Some("代表\u{2066}取締役".into()),
        registry_office: Some("東京法務局\u{7}".into()),
    };
    let mut p = params("TEST hostile MOJ values", 13, false);
    let ext = |oid: &const_oid::ObjectIdentifier, value: Vec<u8>| {
        let arcs: Vec<u64> = oid.arcs().map(u64::from).collect();
        CustomExtension::from_oid_content(&arcs, value)
    };
    p.custom_extensions = vec![
        ext(
            &moj::OID_REGISTRAR,
            moj::registrar_to_der("登記官\r\n法人番号 corporate number: 1").unwrap(),
        ),
        ext(&moj::OID_REGISTERED_CORPORATE_INFO, info.to_der().unwrap()),
    ];
    cert(&p, &key("rep-rsa2048"), &root_issuer())
}

fn assert_terminal_safe(out: &str) {
    for c in out.chars() {
        assert!(
            !crpki::text::is_unsafe_char(c) || c == '\n',
            "{c:?} reached the output: {out:?}"
        );
    }
}

#[test]
fn moj_values_are_escaped_and_cannot_fake_a_line() {
    let cert = hostile_moj_certificate();
    // The library keeps the raw values; the summary is what is shown.
    assert_eq!(
        cert.moj().unwrap().unwrap().corporate_name.as_deref(),
        Some(HOSTILE)
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hostile.pem");
    std::fs::write(&file, cert.to_pem()).unwrap();
    keep("hostile-moj.pem", cert.to_pem().as_bytes());

    let out = crpki(&["cert".as_ref(), "show".as_ref(), file.as_os_str()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_terminal_safe(&stdout);
    let numbers: Vec<&str> = stdout.lines().filter(|l| l.starts_with("法人番号")).collect();
    assert_eq!(numbers, ["法人番号 corporate number: 5010001008846"], "{stdout}");
    assert!(stdout.contains("株式会社ACME\\0d\\0a法人番号"), "{stdout}");
    assert!(stdout.contains("\\1b[2K\\c2\\9b1A\\e2\\80\\ae"), "{stdout}");

    let out = crpki(&[
        "cert".as_ref(),
        "show".as_ref(),
        file.as_os_str(),
        "--json".as_ref(),
    ]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "corporate_name",
        "corporate_address",
        "director_name",
        "director_title",
        "registry_office",
        "registrar",
    ] {
        let value = v[key].as_str().unwrap();
        assert_terminal_safe(value);
        assert!(!value.contains('\n'), "{key}: {value:?}");
    }
    assert_eq!(v["error"], serde_json::Value::Null);

    // `verify` prints the same values, as safely.
    let signer = memory_signer(&cert, "rep-rsa2048", vec![root()]);
    let doc = dir.path().join("doc.txt");
    std::fs::write(&doc, CONTENT).unwrap();
    std::fs::write(dir.path().join("doc.txt.p7s"), sign(&signer, None)).unwrap();
    let ca = fixtures::path("registrar-root.pem");
    let out = crpki(&[
        "verify".as_ref(),
        doc.as_os_str(),
        "--ca".as_ref(),
        ca.as_os_str(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_terminal_safe(&stdout);
    let numbers: Vec<&str> = stdout.lines().filter(|l| l.starts_with("法人番号")).collect();
    assert_eq!(numbers, ["法人番号:      5010001008846"], "{stdout}");
}

#[test]
fn cert_show_json_reports_malformed_moj_extensions_like_text_mode() {
    let pem = fixtures::path("rep-bad-moj.pem");
    let text_mode = crpki(&["cert".as_ref(), "show".as_ref(), pem.as_os_str()]);
    let json_mode = crpki(&[
        "cert".as_ref(),
        "show".as_ref(),
        pem.as_os_str(),
        "--json".as_ref(),
    ]);
    assert_eq!(json_mode.status.code(), text_mode.status.code());
    let v: serde_json::Value = serde_json::from_slice(&json_mode.stdout).unwrap();
    let error = v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error field: {v}"));
    assert!(error.contains("malformed registeredCorporateInfo"), "{error}");
    assert!(
        text(&text_mode.stdout).contains(error),
        "{}",
        text(&text_mode.stdout)
    );
    // The rest of the certificate is still there.
    assert!(v["subject"].as_str().unwrap().contains("TEST"), "{v}");
}

#[test]
fn repeated_corporate_info_tags_make_the_certificate_malformed_everywhere() {
    let real = moj::CorporateInfo {
        corporate_name: Some("株式会社本物".into()),
        registered_number: Some("010001008846".into()),
        ..Default::default()
    };
    let fake = moj::CorporateInfo {
        corporate_name: Some("株式会社偽物".into()),
        ..Default::default()
    };
    // SEQUENCE { [0] real, [1] number, [0] fake }: the contents of both, re-wrapped.
    let strip = |der: Vec<u8>| {
        let any = der::asn1::Any::from_der(&der).unwrap();
        any.value().to_vec()
    };
    let mut body = strip(real.to_der().unwrap());
    body.extend(strip(fake.to_der().unwrap()));
    let value = der::asn1::Any::new(der::Tag::Sequence, body)
        .unwrap()
        .to_der()
        .unwrap();
    let arcs: Vec<u64> = moj::OID_REGISTERED_CORPORATE_INFO.arcs().map(u64::from).collect();
    let mut p = params("TEST repeated corporate name", 14, false);
    p.custom_extensions = vec![CustomExtension::from_oid_content(&arcs, value)];
    let cert = cert(&p, &key("rep-rsa2048"), &root_issuer());
    let err = cert.moj().unwrap_err();
    assert!(err.to_string().contains("[0] appears more than once"), "{err}");
    assert_eq!(cert.summary().corporate_name, None);
}
