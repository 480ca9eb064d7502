//! Unit tests of the parsing details (tests/cert.rs covers the fixtures and
//! chain validation end to end).

use super::*;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn main_cert() -> Certificate {
    Certificate::from_der(&fixture("rep-rsa2048.der")).unwrap()
}

#[test]
fn tbs_bytes_are_the_signed_part() {
    let cert = main_cert();
    assert_eq!(
        cert.tbs_der(),
        cert.inner().tbs_certificate().to_der().unwrap().as_slice()
    );
    assert_eq!(cert.tbs_der()[0], 0x30);
}

#[test]
fn key_usage_bits() {
    let leaf = main_cert().key_usage().unwrap().unwrap();
    assert_eq!(
        leaf.flags(),
        vec![KeyUsageFlag::DigitalSignature, KeyUsageFlag::NonRepudiation]
    );
    assert_eq!(leaf.to_string(), "digitalSignature, nonRepudiation");
    let root = Certificate::from_der(&fixture("registrar-root.der")).unwrap();
    let ku = root.key_usage().unwrap().unwrap();
    assert!(ku.contains(KeyUsageFlag::KeyCertSign) && ku.contains(KeyUsageFlag::CrlSign));
    assert!(!ku.contains(KeyUsageFlag::DigitalSignature));
    assert_eq!(
        ku,
        KeyUsage::from_flags(&[KeyUsageFlag::CrlSign, KeyUsageFlag::KeyCertSign])
    );
    // decipherOnly is bit 8, in the second byte.
    let ku = KeyUsage::from_der(&[0x03, 0x03, 0x07, 0x80, 0x80]).unwrap();
    assert_eq!(
        ku.flags(),
        vec![KeyUsageFlag::DigitalSignature, KeyUsageFlag::DecipherOnly]
    );
    assert!(matches!(
        KeyUsage::from_der(&[0x04, 0x01, 0x00]),
        Err(Error::Malformed { .. })
    ));
}

#[test]
fn basic_constraints_and_key_ids() {
    let root = Certificate::from_der(&fixture("registrar-root.der")).unwrap();
    assert_eq!(
        root.basic_constraints().unwrap(),
        Some(BasicConstraints {
            is_ca: true,
            path_len: None
        })
    );
    let leaf = main_cert();
    assert_eq!(
        leaf.basic_constraints().unwrap(),
        Some(BasicConstraints::default())
    );
    let ski = root.subject_key_id().unwrap().unwrap();
    assert_eq!(ski.len(), 20);
    assert_eq!(leaf.authority_key_id().unwrap(), Some(ski));
    assert_eq!(root.authority_key_id().unwrap(), None);
}

#[test]
fn repeated_extension_is_malformed() {
    // Rename the subjectKeyIdentifier (2.5.29.14) to authorityKeyIdentifier
    // (2.5.29.35), which the certificate also has: same length, so the DER
    // stays well-formed.
    let mut der = fixture("rep-rsa2048.der");
    let ski_oid = [0x06, 0x03, 0x55, 0x1d, 0x0e];
    let at = der.windows(5).position(|w| w == ski_oid).unwrap();
    der[at + 4] = 0x23;
    let err = Certificate::from_der(&der).unwrap_err();
    assert!(matches!(err, Error::Malformed { .. }), "{err:?}");
    assert!(err.to_string().contains("2.5.29.35"), "{err}");
}

#[test]
fn pem_blocks_skip_text_and_other_labels() {
    let cert = main_cert();
    let root = Certificate::from_der(&fixture("registrar-root.der")).unwrap();
    let bundle = format!(
        "Bag Attributes\n    friendlyName: x\nsubject=CN = x\n{}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n\r\n{}",
        cert.to_pem(),
        root.to_pem().replace('\n', "\r\n")
    );
    let all = Certificate::parse_all(bundle.as_bytes()).unwrap();
    assert_eq!(all, vec![cert.clone(), root]);
    assert!(matches!(
        Certificate::from_pem(&bundle),
        Err(Error::Malformed { .. })
    ));
    let one = format!("leading text\n{}trailing", cert.to_pem());
    assert_eq!(Certificate::from_pem(&one).unwrap(), cert);
    assert_eq!(Certificate::from_pem_or_der(one.as_bytes()).unwrap(), cert);
}

#[test]
fn known_extensions() {
    assert!(is_known_extension(&oid::KEY_USAGE));
    assert!(is_known_extension(&moj::OID_REGISTERED_CORPORATE_INFO));
    // nameConstraints would need processing this validator does not do.
    assert!(!is_known_extension(&ObjectIdentifier::new_unwrap("2.5.29.30")));
}
