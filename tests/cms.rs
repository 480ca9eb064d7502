//! Detached CMS: what we sign verifies with `openssl cms -verify`, what
//! OpenSSL signs verifies with ours, and every failure has its own error.

#![allow(clippy::unwrap_used)] // tests may unwrap (house rule); clippy only exempts #[test] fns

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crpki::cms::{self, SignOptions};
use crpki::testing::fixtures;
use crpki::testing::{Fault, FaultySigner};
use crpki::{
    Certificate, Digest, Error, HashAlgorithm, MemorySigner, RemoteSigner, SignatureAlgorithm,
    SignatureScheme, TrustFailure,
};
use der::{Decode, Encode, Tagged};

fn roots() -> Vec<Certificate> {
    vec![fixtures::cert("registrar-root")]
}

const CONTENT: &[u8] =
    b"%PDF-1.7\n\xe5\xa5\x91\xe7\xb4\x84\xe6\x9b\xb8 (contract) TEST\n\x00\x01\x02\xff\r\n";

/// `openssl cms -verify` of a detached signature; returns whether it succeeded.
fn openssl_verify(sig: &Path, content: &Path, pem: bool) -> bool {
    let out = Command::new("openssl")
        .args([
            "cms",
            "-verify",
            "-binary",
            "-inform",
            if pem { "PEM" } else { "DER" },
            "-in",
        ])
        .arg(sig)
        .arg("-content")
        .arg(content)
        .arg("-CAfile")
        .arg(fixtures::path("registrar-root.pem"))
        .args(["-purpose", "any", "-ignore_critical", "-out", "/dev/null"])
        .output()
        .expect("run openssl");
    if !out.status.success() {
        eprintln!("openssl cms -verify: {}", String::from_utf8_lossy(&out.stderr));
    }
    out.status.success()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Signs CONTENT with `alg`, checks the result with OpenSSL (DER and PEM)
/// and with our verifier.
async fn round_trip(signer: &MemorySigner, alg: Option<SignatureAlgorithm>) -> cms::VerifiedSignature {
    let dir = tempfile::tempdir().unwrap();
    let content = write(dir.path(), "content.bin", CONTENT);
    let options = SignOptions {
        algorithm: alg,
        ..SignOptions::default()
    };
    let der = cms::sign_reader(signer, CONTENT, &options).await.unwrap();
    let sig = write(dir.path(), "content.bin.p7s", &der);
    assert!(
        openssl_verify(&sig, &content, false),
        "openssl rejects our DER CMS"
    );

    let pem = cms::to_pem(&der);
    assert!(pem.starts_with("-----BEGIN CMS-----\n"));
    assert!(pem.ends_with("-----END CMS-----\n"));
    assert!(pem.lines().all(|l| l.len() <= 64));
    let sig_pem = write(dir.path(), "content.bin.pem", pem.as_bytes());
    assert!(
        openssl_verify(&sig_pem, &content, true),
        "openssl rejects our PEM CMS"
    );

    let from_pem = cms::verify_detached(pem.as_bytes(), CONTENT, &roots(), None).unwrap();
    let verified = cms::verify_detached(&der, CONTENT, &roots(), None).unwrap();
    assert_eq!(from_pem.signer, verified.signer);
    assert_eq!(&verified.signer, signer.certificate());
    assert_eq!(
        verified.signature_algorithm,
        alg.unwrap_or(signer.default_algorithm())
    );
    assert_eq!(verified.content_digest, verified.digest_algorithm.digest(CONTENT));
    assert_eq!(verified.chain.last().unwrap(), &fixtures::cert("registrar-root"));
    verified
}

#[tokio::test]
async fn rsa_pkcs1_verifies_with_openssl_and_ours() {
    let s = fixtures::memory_signer_under("rep-rsa2048", "registrar-root");
    let before = SystemTime::now() - Duration::from_secs(1);
    let v = round_trip(&s, None).await;
    assert_eq!(v.signature_algorithm, SignatureAlgorithm::RSA_PKCS1_SHA256);
    assert_eq!(v.digest_algorithm, HashAlgorithm::Sha256);
    let t = v.signing_time.unwrap();
    assert!(
        t >= before && t <= SystemTime::now(),
        "signingTime defaults to now"
    );
    let moj = v.moj.unwrap();
    assert_eq!(moj.corporate_name.as_deref(), Some("株式会社テスト商事 TEST"));
    assert_eq!(moj.corporate_number().as_deref(), Some("5010001008846"));
    assert_eq!(moj.registrar.as_deref(), Some("東京法務局登記官"));
    assert_eq!(v.chain.len(), 2);
}

#[tokio::test]
async fn rsa_pkcs1_sha384_and_sha512() {
    let s = fixtures::memory_signer_under("rep-rsa2048", "registrar-root");
    for hash in [HashAlgorithm::Sha384, HashAlgorithm::Sha512] {
        let v = round_trip(
            &s,
            Some(SignatureAlgorithm::new(SignatureScheme::RsaPkcs1v15, hash)),
        )
        .await;
        assert_eq!(v.digest_algorithm, hash);
    }
}

#[tokio::test]
async fn rsa_pss_verifies_with_openssl_and_ours() {
    let s = fixtures::memory_signer_under("rep-rsa2048", "registrar-root");
    for hash in [HashAlgorithm::Sha256, HashAlgorithm::Sha512] {
        let alg = SignatureAlgorithm::new(SignatureScheme::RsaPss, hash);
        let v = round_trip(&s, Some(alg)).await;
        assert_eq!(v.signature_algorithm, alg);
    }
}

#[tokio::test]
async fn ecdsa_verifies_with_openssl_and_ours() {
    let s = fixtures::memory_signer_under("rep-ecdsa", "registrar-root");
    let v = round_trip(&s, None).await;
    assert_eq!(v.signature_algorithm.scheme, SignatureScheme::Ecdsa);
    assert_eq!(
        v.moj.unwrap().corporate_number().as_deref(),
        Some("7010403012345")
    );
}

#[tokio::test]
async fn modified_content_fails_openssl_and_ours() {
    let dir = tempfile::tempdir().unwrap();
    let der = rep_signature().await;
    let sig = write(dir.path(), "sig.p7s", &der);
    let mut modified = CONTENT.to_vec();
    modified[10] ^= 1;
    let content = write(dir.path(), "modified.bin", &modified);
    assert!(!openssl_verify(&sig, &content, false));
    let err = cms::verify_detached(&der, &modified[..], &roots(), None).unwrap_err();
    assert!(matches!(err, Error::ContentModified), "{err:?}");
    let err = cms::verify_file(&sig, &content, &roots(), None).unwrap_err();
    assert!(matches!(err, Error::ContentModified), "{err:?}");
    // Truncated and extended content too.
    let err = cms::verify_detached(&der, &CONTENT[..CONTENT.len() - 1], &roots(), None).unwrap_err();
    assert!(matches!(err, Error::ContentModified), "{err:?}");
}

#[tokio::test]
async fn foreign_signer_is_untrusted_for_openssl_and_ours() {
    let dir = tempfile::tempdir().unwrap();
    let s = fixtures::memory_signer_under("rep-foreign", "other-root");
    let der = cms::sign_reader(&s, CONTENT, &SignOptions::default())
        .await
        .unwrap();
    let sig = write(dir.path(), "sig.p7s", &der);
    let content = write(dir.path(), "content.bin", CONTENT);
    assert!(!openssl_verify(&sig, &content, false));
    let err = cms::verify_detached(&der, CONTENT, &roots(), None).unwrap_err();
    match err {
        Error::Untrusted(TrustFailure::IssuerNotFound { issuer }) => {
            assert!(issuer.contains("TEST Unrelated Root"), "{issuer}")
        }
        other => panic!("expected Untrusted(IssuerNotFound), got {other:?}"),
    }
    // It is the trust that fails, nothing else: with its own root it verifies.
    cms::verify_detached(&der, CONTENT, &[fixtures::cert("other-root")], None).unwrap();
}

#[tokio::test]
async fn expired_certificate_at_signing_time_is_untrusted() {
    let s = fixtures::memory_signer_under("rep-expired", "registrar-root");
    let der = cms::sign_reader(&s, CONTENT, &SignOptions::default())
        .await
        .unwrap();
    let err = cms::verify_detached(&der, CONTENT, &roots(), None).unwrap_err();
    match err {
        Error::Untrusted(TrustFailure::Expired { subject, .. }) => {
            assert!(subject.contains("旧姓"), "{subject}")
        }
        other => panic!("expected Untrusted(Expired), got {other:?}"),
    }
}

#[tokio::test]
async fn validation_time_is_now_or_the_callers_never_the_signing_time() {
    let s = fixtures::memory_signer_under("rep-rsa2048", "registrar-root");
    // 2036-06-01: after the certificate's notAfter (2035-12-31).
    let late = UNIX_EPOCH + Duration::from_secs(2_095_977_600);
    let options = SignOptions {
        signing_time: Some(late),
        ..SignOptions::default()
    };
    let der = cms::sign_reader(&s, CONTENT, &options).await.unwrap();
    // The caller's time decides (here the claimed one, passed explicitly).
    let err = cms::verify_detached(&der, CONTENT, &roots(), Some(late)).unwrap_err();
    assert!(
        matches!(err, Error::Untrusted(TrustFailure::Expired { .. })),
        "{err:?}"
    );
    let in_2030 = UNIX_EPOCH + Duration::from_secs(1_893_456_000);
    let v = cms::verify_detached(&der, CONTENT, &roots(), Some(in_2030)).unwrap();
    assert_eq!(v.signing_time, Some(late));
    assert_eq!(v.validated_at, in_2030);
    // Without one, now: the signingTime attribute is only the signer's claim.
    let before = SystemTime::now();
    let v = cms::verify_detached(&der, CONTENT, &roots(), None).unwrap();
    assert!(v.validated_at >= before && v.validated_at <= SystemTime::now());
    assert_eq!(v.signing_time, Some(late));
}

/// The elements of a DER TLV's value, each as its exact bytes.
fn children(tlv: &[u8]) -> Vec<&[u8]> {
    use der::Reader;
    let any = der::asn1::AnyRef::from_der(tlv).unwrap();
    let mut reader = der::SliceReader::new(any.value()).unwrap();
    let mut out = Vec::new();
    while !reader.is_finished() {
        out.push(reader.tlv_bytes().unwrap());
    }
    out
}

/// The `[0] IMPLICIT` signed attributes element of the first SignerInfo.
fn signed_attributes_element(der: &[u8]) -> &[u8] {
    let signed_data = children(children(der)[1])[0];
    let fields = children(signed_data);
    let signer_info = children(fields.last().unwrap())[0];
    let attrs = children(signer_info)[3];
    assert_eq!(attrs[0], 0xa0, "signed attributes are [0] IMPLICIT");
    attrs
}

/// The signed attributes of the first SignerInfo, exactly as encoded.
fn signed_attributes_raw(der: &[u8]) -> Vec<&[u8]> {
    children(signed_attributes_element(der))
}

/// (OID, DER of the first value) of each signed attribute.
fn signed_attributes(der: &[u8]) -> Vec<(String, Vec<u8>)> {
    signed_attributes_raw(der)
        .into_iter()
        .map(|attr| {
            let parts = children(attr);
            let oid: const_oid::ObjectIdentifier = const_oid::ObjectIdentifier::from_der(parts[0]).unwrap();
            (oid.to_string(), children(parts[1])[0].to_vec())
        })
        .collect()
}

/// The time of a signingTime attribute as it appears in the DER: tag and text.
fn signing_time_tlv(der: &[u8]) -> (u8, String) {
    let attrs = signed_attributes(der);
    let value = &attrs
        .iter()
        .find(|(oid, _)| oid == "1.2.840.113549.1.9.5")
        .unwrap()
        .1;
    (value[0], String::from_utf8(value[2..].to_vec()).unwrap())
}

#[tokio::test]
async fn signing_time_is_utc_time_before_2050_and_generalized_after() {
    let s = fixtures::memory_signer_under("rep-rsa2048", "registrar-root");
    let in_2030 = UNIX_EPOCH + Duration::from_nanos(1_893_456_000_123_456_789);
    let options = SignOptions {
        signing_time: Some(in_2030),
        ..SignOptions::default()
    };
    let der = cms::sign_reader(&s, CONTENT, &options).await.unwrap();
    assert_eq!(signing_time_tlv(&der), (0x17, "300101000000Z".to_string()));
    let v = cms::verify_detached(&der, CONTENT, &roots(), None).unwrap();
    assert_eq!(
        v.signing_time,
        Some(UNIX_EPOCH + Duration::from_secs(1_893_456_000))
    );

    let in_2051 = UNIX_EPOCH + Duration::from_secs(2_556_143_999); // 2050-12-31T23:59:59Z
    let options = SignOptions {
        signing_time: Some(in_2051),
        ..SignOptions::default()
    };
    let der = cms::sign_reader(&s, CONTENT, &options).await.unwrap();
    assert_eq!(signing_time_tlv(&der), (0x18, "20501231235959Z".to_string()));
    let v = cms::verify_detached(&der, CONTENT, &roots(), Some(in_2030)).unwrap();
    assert_eq!(v.signing_time, Some(in_2051));
}

#[tokio::test]
async fn signed_attributes_are_der_sorted_with_default_ess_hash_omitted() {
    let s = fixtures::memory_signer_under("rep-rsa2048", "registrar-root");
    let der = cms::sign_reader(&s, CONTENT, &SignOptions::default())
        .await
        .unwrap();
    let attrs = signed_attributes_raw(&der);
    assert_eq!(attrs.len(), 4);
    for pair in attrs.windows(2) {
        assert!(pair[0] < pair[1], "signed attributes not in DER SET OF order");
    }
    let ess = signed_attributes(&der)
        .into_iter()
        .find(|(oid, _)| oid == "1.2.840.113549.1.9.16.2.47")
        .unwrap()
        .1;
    // SigningCertificateV2 { certs SEQUENCE OF { ESSCertIDv2 { certHash OCTET STRING, issuerSerial } } }
    let sc = der::asn1::Any::from_der(&ess).unwrap();
    let certs: Vec<der::asn1::Any> = Vec::from_der(sc.value()).unwrap();
    let id: Vec<der::asn1::Any> = certs[0].decode_as().unwrap();
    assert_eq!(id.len(), 2, "hashAlgorithm must be omitted for SHA-256");
    assert_eq!(id[0].tag(), der::Tag::OctetString);
    assert_eq!(
        id[0].value(),
        HashAlgorithm::Sha256.digest(s.certificate().der()).as_bytes()
    );
    assert_eq!(id[1].tag(), der::Tag::Sequence);
}

/// Our DER signature of `CONTENT` with the main fixture certificate.
async fn rep_signature() -> Vec<u8> {
    cms::sign_reader(
        &fixtures::memory_signer_under("rep-rsa2048", "registrar-root"),
        CONTENT,
        &SignOptions::default(),
    )
    .await
    .unwrap()
}

/// Runs `openssl cms -sign` with extra arguments; returns the signature file.
fn openssl_sign(dir: &Path, name: &str, content: &Path, extra: &[&str]) -> PathBuf {
    let out = dir.join(format!("{name}{}.sig", extra.join("_").replace(['-', ':'], "")));
    let status = Command::new("openssl")
        .args(["cms", "-sign", "-binary", "-md", "sha256", "-in"])
        .arg(content)
        .arg("-signer")
        .arg(fixtures::path(&format!("{name}.pem")))
        .arg("-inkey")
        .arg(fixtures::path(&format!("{name}.key.pem")))
        .args(extra)
        .arg("-out")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    out
}

/// `openssl cms -sign` arguments for DER output with RSASSA-PSS and the
/// salt option `salt` (`rsa_pss_saltlen:…`).
const fn pss_der(salt: &'static str) -> [&'static str; 6] {
    [
        "-outform",
        "DER",
        "-keyopt",
        "rsa_padding_mode:pss",
        "-keyopt",
        salt,
    ]
}

/// OpenSSL's signature of `CONTENT` by fixture `name` with `extra`
/// arguments: the directory (removed when dropped), the content file, the
/// signature file and its bytes.
fn openssl_signed(name: &str, extra: &[&str]) -> (tempfile::TempDir, PathBuf, PathBuf, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let content = write(dir.path(), "content.bin", CONTENT);
    let sig = openssl_sign(dir.path(), name, &content, extra);
    let bytes = std::fs::read(&sig).unwrap();
    (dir, content, sig, bytes)
}

#[test]
fn openssl_signatures_verify_with_ours() {
    let dir = tempfile::tempdir().unwrap();
    let content = write(dir.path(), "content.bin", CONTENT);
    let pss = SignatureAlgorithm::new(SignatureScheme::RsaPss, HashAlgorithm::Sha256);
    let ecdsa = SignatureAlgorithm::new(SignatureScheme::Ecdsa, HashAlgorithm::Sha256);
    let pkcs1 = SignatureAlgorithm::RSA_PKCS1_SHA256;
    let cases: &[(&str, &[&str], SignatureAlgorithm)] = &[
        ("rep-rsa2048", &["-outform", "DER"], pkcs1),
        ("rep-rsa2048", &["-outform", "PEM"], pkcs1),
        // signingCertificateV2, as OpenSSL writes it.
        ("rep-rsa2048", &["-outform", "DER", "-cades"], pkcs1),
        // SignerInfo version 3 with subjectKeyIdentifier.
        ("rep-rsa2048", &["-outform", "DER", "-keyid"], pkcs1),
        ("rep-rsa2048", &pss_der("rsa_pss_saltlen:digest"), pss),
        // OpenSSL's default PSS salt: the largest the key allows.
        (
            "rep-rsa2048",
            &["-outform", "DER", "-keyopt", "rsa_padding_mode:pss"],
            pss,
        ),
        ("rep-ecdsa", &["-outform", "DER"], ecdsa),
        // Older MOJ certificates have RSA-1024 keys: verified, never made.
        ("rep-rsa1024", &["-outform", "DER"], pkcs1),
    ];
    for (name, extra, alg) in cases {
        let sig = openssl_sign(dir.path(), name, &content, extra);
        let bytes = std::fs::read(&sig).unwrap();
        let v = cms::verify_detached(&bytes, CONTENT, &roots(), None)
            .unwrap_or_else(|e| panic!("{name} {extra:?}: {e}"));
        assert_eq!(&v.signer, &fixtures::cert(name), "{name} {extra:?}");
        assert_eq!(v.signature_algorithm, *alg, "{name} {extra:?}");
        assert!(v.signing_time.is_some());
        // And OpenSSL's signature also notices a modified content.
        let err = cms::verify_detached(&bytes, &CONTENT[1..], &roots(), None).unwrap_err();
        assert!(matches!(err, Error::ContentModified), "{name} {extra:?}: {err:?}");
    }
}

#[test]
fn pss_salt_other_than_hash_or_largest_is_unsupported() {
    let (_dir, content, sig, bytes) = openssl_signed("rep-rsa2048", &pss_der("rsa_pss_saltlen:20"));
    assert!(openssl_verify(&sig, &content, false));
    let err = cms::verify_detached(&bytes, CONTENT, &roots(), None).unwrap_err();
    assert!(
        matches!(err, Error::Unsupported { .. }) && err.to_string().contains("20-byte salt"),
        "{err}"
    );
}

#[test]
fn pkcs7_pem_label_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let content = write(dir.path(), "content.bin", CONTENT);
    let sig = openssl_sign(dir.path(), "rep-rsa2048", &content, &["-outform", "PEM"]);
    let pem = std::fs::read_to_string(sig).unwrap();
    assert!(pem.starts_with("-----BEGIN CMS-----"));
    let pkcs7 = pem
        .replace("BEGIN CMS", "BEGIN PKCS7")
        .replace("END CMS", "END PKCS7");
    cms::verify_detached(pkcs7.as_bytes(), CONTENT, &roots(), None).unwrap();
    let crlf = pkcs7.replace('\n', "\r\n");
    cms::verify_detached(crlf.as_bytes(), CONTENT, &roots(), None).unwrap();
    let other = pem
        .replace("BEGIN CMS", "BEGIN CERTIFICATE")
        .replace("END CMS", "END CERTIFICATE");
    let err = cms::verify_detached(other.as_bytes(), CONTENT, &roots(), None).unwrap_err();
    assert!(matches!(err, Error::Malformed { .. }), "{err:?}");
}

#[tokio::test]
async fn corrupt_or_truncated_cms_is_malformed_without_panic() {
    let der = rep_signature().await;
    for len in 0..der.len() {
        match cms::verify_detached(&der[..len], CONTENT, &roots(), None) {
            Err(Error::Malformed { .. }) => {}
            other => panic!("truncated to {len} bytes: {other:?}"),
        }
    }
    let mut extended = der.clone();
    extended.push(0);
    assert!(matches!(
        cms::verify_detached(&extended, CONTENT, &roots(), None),
        Err(Error::Malformed { .. })
    ));
    for garbage in [
        &b""[..],
        b"\x30",
        b"\x30\x80\x00\x00",
        b"-----BEGIN CMS-----\n!!\n-----END CMS-----\n",
        b"hello",
    ] {
        assert!(matches!(
            cms::verify_detached(garbage, CONTENT, &roots(), None),
            Err(Error::Malformed { .. })
        ));
    }
    // Flip every byte in turn: never a panic, and a change anywhere in what
    // is signed (everything but the certificates) is an error.
    let certs_end = {
        let cert_der = fixtures::cert("rep-rsa2048");
        let root_der = fixtures::cert("registrar-root");
        let a = find(&der, cert_der.der()).unwrap() + cert_der.der().len();
        let b = find(&der, root_der.der()).unwrap() + root_der.der().len();
        a.max(b)
    };
    let mut failures = 0;
    for i in 0..der.len() {
        let mut bad = der.clone();
        bad[i] ^= 0x55;
        let result = cms::verify_detached(&bad, CONTENT, &roots(), None);
        if result.is_err() {
            failures += 1;
        } else {
            assert!(
                i < certs_end,
                "flipping byte {i} (after the certificates) went unnoticed"
            );
        }
    }
    assert!(failures > der.len() / 2);
}

// ---- BER from streaming encoders ----

/// The element of `b` at `at`: where its contents start and where it ends,
/// for definite and indefinite lengths (single-byte tags only). Written
/// here rather than taken from `der`, so that the tests do not read BER
/// with the code they test.
fn ber_element(b: &[u8], at: usize) -> (usize, usize) {
    assert_ne!(b[at] & 0x1f, 0x1f, "multi-byte tags are not used here");
    match b[at + 1] {
        0x80 => {
            let mut pos = at + 2;
            while b[pos..pos + 2] != [0, 0] {
                pos = ber_element(b, pos).1;
            }
            (at + 2, pos + 2)
        }
        n if n < 0x80 => (at + 2, at + 2 + n as usize),
        n => {
            let k = usize::from(n & 0x7f);
            let len = b[at + 2..at + 2 + k]
                .iter()
                .fold(0usize, |len, &x| len << 8 | usize::from(x));
            (at + 2 + k, at + 2 + k + len)
        }
    }
}

/// `der` with every constructed element re-framed with an indefinite
/// length, as a streaming encoder could write it, except the elements in
/// `keep` (certificates: their signature is over their own DER bytes).
fn all_indefinite(der: &[u8], keep: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < der.len() {
        let (start, end) = ber_element(der, at);
        if der[at] & 0x20 != 0 && !keep.contains(&&der[at..end]) {
            out.extend_from_slice(&[der[at], 0x80]);
            out.extend(all_indefinite(&der[start..end], keep));
            out.extend_from_slice(&[0, 0]);
        } else {
            out.extend_from_slice(&der[at..end]);
        }
        at = end;
    }
    out
}

#[test]
fn streamed_ber_signature_from_openssl_verifies() {
    // `-indef` makes OpenSSL stream: indefinite lengths, and the content
    // embedded (it has no detached streaming mode for DER output).
    let (dir, content, _, ber) = openssl_signed("rep-rsa2048", &["-outform", "DER", "-indef"]);
    assert_eq!(ber[..2], [0x30, 0x80], "OpenSSL did not stream");
    let err = cms::verify_detached(&ber, CONTENT, &roots(), None).unwrap_err();
    assert!(
        matches!(err, Error::Unsupported { .. }) && err.to_string().contains("embedded content"),
        "BER must be read far enough to see the embedded content: {err:?}"
    );

    // Dropping eContent from encapContentInfo leaves a detached signature
    // whose signed attributes still hold the content's digest.
    let id_data_then_econtent = [
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01, 0xa0,
    ];
    let oid = find(&ber, &id_data_then_econtent).unwrap();
    assert_eq!(ber[oid - 2..oid], [0x30, 0x80], "encapContentInfo is indefinite");
    let econtent = oid + id_data_then_econtent.len() - 1;
    let (_, end) = ber_element(&ber, econtent);
    let detached = [&ber[..econtent], &ber[end..]].concat();
    let sig = write(dir.path(), "detached-ber.p7s", &detached);
    assert!(
        openssl_verify(&sig, &content, false),
        "the stripped BER signature is not valid for OpenSSL either"
    );

    let v = cms::verify_detached(&detached, CONTENT, &roots(), None).unwrap();
    assert_eq!(&v.signer, &fixtures::cert("rep-rsa2048"));
    assert!(v.signing_time.is_some());
    let err = cms::verify_detached(&detached, &CONTENT[1..], &roots(), None).unwrap_err();
    assert!(matches!(err, Error::ContentModified), "{err:?}");
    let pem = cms::to_pem(&detached);
    cms::verify_detached(pem.as_bytes(), CONTENT, &roots(), None).unwrap();
}

#[tokio::test]
async fn ber_framing_keeps_verification_and_its_errors() {
    let dir = tempfile::tempdir().unwrap();
    let content = write(dir.path(), "content.bin", CONTENT);
    let der = rep_signature().await;
    // Every structure indefinite but the certificates and the signed
    // attributes, which RFC 5652 requires to be DER (their bytes are what
    // is signed): those must come back byte for byte.
    let (leaf, root) = (fixtures::cert("rep-rsa2048"), fixtures::cert("registrar-root"));
    let attrs = signed_attributes_element(&der);
    let ber = all_indefinite(&der, &[leaf.der(), root.der(), attrs]);
    assert_eq!(ber[..2], [0x30, 0x80]);
    assert!(find(&ber, attrs).is_some());
    let sig = write(dir.path(), "all-indefinite.p7s", &ber);
    assert!(
        openssl_verify(&sig, &content, false),
        "OpenSSL rejects the BER form"
    );

    let from_der = cms::verify_detached(&der, CONTENT, &roots(), None).unwrap();
    let from_ber = cms::verify_detached(&ber, CONTENT, &roots(), None).unwrap();
    assert_eq!(from_ber.signer, from_der.signer);
    assert_eq!(from_ber.signing_time, from_der.signing_time);
    assert_eq!(from_ber.chain, from_der.chain);
    let err = cms::verify_detached(&ber, &CONTENT[1..], &roots(), None).unwrap_err();
    assert!(matches!(err, Error::ContentModified), "{err:?}");
    let err = cms::verify_detached(&ber, CONTENT, &[fixtures::cert("other-root")], None).unwrap_err();
    assert!(matches!(err, Error::Untrusted(_)), "{err:?}");

    // The DER ends with the signature value; a change there, in the BER
    // form, is a bad signature.
    let tail = &der[der.len() - 32..];
    let last = find(&ber, tail).unwrap() + tail.len() - 1;
    let mut flipped = ber.clone();
    flipped[last] ^= 1;
    let err = cms::verify_detached(&flipped, CONTENT, &roots(), None).unwrap_err();
    assert!(matches!(err, Error::BadSignature { .. }), "{err:?}");

    for len in (0..ber.len()).step_by(7).chain(ber.len() - 3..ber.len()) {
        match cms::verify_detached(&ber[..len], CONTENT, &roots(), None) {
            Err(Error::Malformed { .. }) => {}
            other => panic!("BER truncated to {len} bytes: {other:?}"),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The one test wrapper: counts the batches that reach the signer, and
/// fails or breaks signatures on demand.
fn test_signer(fault: Option<Fault>) -> FaultySigner {
    FaultySigner::new(
        fixtures::memory_signer_under("rep-rsa2048", "registrar-root"),
        fault,
    )
}

#[tokio::test]
async fn batch_of_five_makes_one_signer_call() {
    let dir = tempfile::tempdir().unwrap();
    let s = test_signer(None);
    let contents: Vec<Vec<u8>> = (0..5)
        .map(|i| format!("document {i} TEST\n").repeat(i + 1).into_bytes())
        .collect();
    let digests: Vec<Digest> = contents.iter().map(|c| HashAlgorithm::Sha256.digest(c)).collect();
    let sigs = cms::sign_digests(&s, &digests, &SignOptions::default())
        .await
        .unwrap();
    assert_eq!(s.calls(), 1);
    assert_eq!(sigs.len(), 5);
    for (i, (content, sig)) in contents.iter().zip(&sigs).enumerate() {
        let c = write(dir.path(), &format!("doc{i}.txt"), content);
        let p = write(dir.path(), &format!("doc{i}.p7s"), sig);
        assert!(openssl_verify(&p, &c, false), "document {i}");
        let v = cms::verify_detached(sig, &content[..], &roots(), None).unwrap();
        assert_eq!(v.content_digest, digests[i]);
        // In input order: each signature belongs to its own document only.
        let other = &contents[(i + 1) % 5];
        assert!(matches!(
            cms::verify_detached(sig, &other[..], &roots(), None),
            Err(Error::ContentModified)
        ));
    }
}

#[tokio::test]
async fn bad_arguments_and_bad_signers_are_reported() {
    let s = test_signer(None);
    let err = cms::sign_digests(&s, &[], &SignOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
    let mixed = [
        HashAlgorithm::Sha256.digest(b"a"),
        HashAlgorithm::Sha384.digest(b"b"),
    ];
    let err = cms::sign_digests(&s, &mixed, &SignOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
    let ecdsa = SignOptions {
        algorithm: Some(SignatureAlgorithm::new(
            SignatureScheme::Ecdsa,
            HashAlgorithm::Sha256,
        )),
        ..SignOptions::default()
    };
    let err = cms::sign_reader(&s, CONTENT, &ecdsa).await.unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
    assert_eq!(s.calls(), 0, "nothing reaches the signer");

    let err = cms::sign_reader(
        &test_signer(Some(Fault::CorruptsFirst)),
        CONTENT,
        &SignOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Protocol { .. }), "{err:?}");
    let two = [
        HashAlgorithm::Sha256.digest(b"a"),
        HashAlgorithm::Sha256.digest(b"b"),
    ];
    let err = cms::sign_digests(&test_signer(Some(Fault::DropsOne)), &two, &SignOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Protocol { .. }), "{err:?}");
}

#[tokio::test]
async fn sign_file_leaves_no_output_on_error() {
    let dir = tempfile::tempdir().unwrap();
    let content = write(dir.path(), "content.bin", CONTENT);
    let out = dir.path().join("content.bin.p7s");
    let listing = || {
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };

    let failing = test_signer(Some(Fault::Unavailable));
    let err = cms::sign_file(&failing, &content, &out, &SignOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ServiceUnavailable { .. }), "{err:?}");
    assert_eq!(listing(), ["content.bin"]);

    let corrupt = test_signer(Some(Fault::CorruptsFirst));
    assert!(
        cms::sign_file(&corrupt, &content, &out, &SignOptions::default())
            .await
            .is_err()
    );
    assert_eq!(listing(), ["content.bin"]);

    let honest = test_signer(None);
    let missing = dir.path().join("missing.bin");
    let err = cms::sign_file(&honest, &missing, &out, &SignOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert_eq!(listing(), ["content.bin"]);
    assert_eq!(honest.calls(), 0);

    // The rename target is a directory: the temporary file must go too.
    std::fs::create_dir(&out).unwrap();
    let err = cms::sign_file(&honest, &content, &out, &SignOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert_eq!(listing(), ["content.bin", "content.bin.p7s"]);
    assert!(out.is_dir());
    std::fs::remove_dir(&out).unwrap();

    // An existing output is replaced only by a complete new one.
    std::fs::write(&out, b"old").unwrap();
    assert!(
        cms::sign_file(&failing, &content, &out, &SignOptions::default())
            .await
            .is_err()
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"old");
    cms::sign_file(&honest, &content, &out, &SignOptions::default())
        .await
        .unwrap();
    assert_eq!(listing(), ["content.bin", "content.bin.p7s"]);
    assert!(openssl_verify(&out, &content, false));
    cms::verify_file(&out, &content, &roots(), None).unwrap();
}

#[tokio::test]
async fn large_file_streams() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("large.bin");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let block: Vec<u8> = (0..1024 * 1024).map(|i| (i * 7 % 251) as u8).collect();
        for i in 0..64u8 {
            f.write_all(&[i]).unwrap();
            f.write_all(&block[1..]).unwrap();
        }
        f.flush().unwrap();
    }
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 64 * 1024 * 1024);
    let out = dir.path().join("large.bin.p7s");
    let s = fixtures::memory_signer_under("rep-rsa2048", "registrar-root");
    cms::sign_file(&s, &path, &out, &SignOptions::default())
        .await
        .unwrap();
    let v = cms::verify_file(&out, &path, &roots(), None).unwrap();
    assert_eq!(
        v.content_digest,
        crpki::signer::digest_file(HashAlgorithm::Sha256, &path).unwrap()
    );
    assert!(openssl_verify(&out, &path, false));
}

#[tokio::test]
async fn include_chain_false_still_verifies_against_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let s = fixtures::memory_signer_under("rep-rsa2048", "registrar-root");
    let options = SignOptions {
        include_chain: false,
        ..SignOptions::default()
    };
    let der = cms::sign_reader(&s, CONTENT, &options).await.unwrap();
    assert!(find(&der, fixtures::cert("registrar-root").der()).is_none());
    assert!(find(&der, s.certificate().der()).is_some());
    let content = write(dir.path(), "c.bin", CONTENT);
    let sig = write(dir.path(), "c.p7s", &der);
    assert!(openssl_verify(&sig, &content, false));
    cms::verify_detached(&der, CONTENT, &roots(), None).unwrap();
}

/// Replaces the signer's certificate inside a CMS by another one with the
/// same issuer, serial number and key: the signature still verifies, but
/// signingCertificateV2 no longer names the certificate.
#[tokio::test]
async fn substituted_certificate_fails_signing_certificate_v2() {
    use cms_types::*;
    let s = fixtures::memory_signer_under("rep-rsa2048", "registrar-root");
    let der = cms::sign_reader(&s, CONTENT, &SignOptions::default())
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let twin = dir.path().join("twin.pem");
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "openssl req -new -key {key} -subj '/C=JP/CN=TEST twin' | openssl x509 -req -CA {ca} -CAkey {cakey} \
             -set_serial 0x1001 -days 30 -outform DER -out {out} 2>/dev/null",
            key = fixtures::path("rep-rsa2048.key.pem").display(),
            ca = fixtures::path("registrar-root.pem").display(),
            cakey = fixtures::path("registrar-root.key.pem").display(),
            out = twin.display()
        ))
        .status()
        .unwrap();
    assert!(status.success());
    let twin = x509_cert::Certificate::from_der(&std::fs::read(&twin).unwrap()).unwrap();

    let ci = ContentInfo::from_der(&der).unwrap();
    let mut sd: SignedData = ci.content.decode_as().unwrap();
    let certs = vec![
        CertificateChoices::Certificate(twin),
        CertificateChoices::Certificate(fixtures::cert("registrar-root").inner().clone()),
    ];
    sd.certificates = Some(CertificateSet::try_from(certs).unwrap());
    let forged = ContentInfo {
        content_type: ci.content_type,
        content: der::asn1::Any::encode_from(&sd).unwrap(),
    }
    .to_der()
    .unwrap();
    let err = cms::verify_detached(&forged, CONTENT, &roots(), None).unwrap_err();
    match err {
        Error::BadSignature { detail } => assert!(detail.contains("signingCertificateV2"), "{detail}"),
        other => panic!("expected BadSignature, got {other:?}"),
    }
}

mod cms_types {
    pub use ::cms::cert::CertificateChoices;
    pub use ::cms::content_info::ContentInfo;
    pub use ::cms::signed_data::{CertificateSet, SignedData};
}

#[tokio::test]
async fn malformed_moj_extension_is_reported() {
    // OpenSSL accepts it (it does not read the MOJ extensions); we refuse
    // to return a verified signer whose corporate identity cannot be read.
    let dir = tempfile::tempdir().unwrap();
    let s = fixtures::memory_signer_under("rep-bad-moj", "registrar-root");
    let digest = HashAlgorithm::Sha256.digest(CONTENT);
    let der = cms::sign_digest(&s, &digest, &SignOptions::default())
        .await
        .unwrap();
    let content = write(dir.path(), "c.bin", CONTENT);
    let sig = write(dir.path(), "c.p7s", &der);
    assert!(openssl_verify(&sig, &content, false));
    match cms::verify_detached(&der, CONTENT, &roots(), None).unwrap_err() {
        Error::Malformed { what, .. } => assert!(what.contains("registeredCorporateInfo"), "{what}"),
        other => panic!("expected Malformed, got {other:?}"),
    }
}

#[test]
fn openssl_signature_without_signed_attributes_verifies() {
    // RFC 5652 allows a SignerInfo without signed attributes for id-data:
    // the signature is then over the content digest itself.
    let (_dir, _, _, bytes) = openssl_signed("rep-rsa2048", &["-outform", "DER", "-noattr"]);
    let in_2030 = UNIX_EPOCH + Duration::from_secs(1_893_456_000);
    let v = cms::verify_detached(&bytes, CONTENT, &roots(), Some(in_2030)).unwrap();
    assert_eq!(v.signing_time, None);
    assert_eq!(v.signer, fixtures::cert("rep-rsa2048"));
    // No messageDigest to compare: a modified content shows as a bad signature.
    let err = cms::verify_detached(&bytes, &CONTENT[1..], &roots(), Some(in_2030)).unwrap_err();
    assert!(matches!(err, Error::BadSignature { .. }), "{err:?}");
}
