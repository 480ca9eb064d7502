//! Unit tests: OCSP answers and CRLs made here with the fixture PKI
//! (`fixtures/`), checked offline. The sandbox's responder and OpenSSL's
//! view of them are tested in `tests/revocation.rs`.

use std::time::{Duration, SystemTime};

use der::Decode;

use super::*;
use crate::crypto::{HashAlgorithm, PrivateKey};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(name),
    )
    .unwrap()
}

fn cert(name: &str) -> Certificate {
    Certificate::from_der(&fixture(&format!("{name}.der"))).unwrap()
}

fn key(name: &str) -> PrivateKey {
    let pem = String::from_utf8(fixture(&format!("{name}.key.pem"))).unwrap();
    let (_, der) = der::pem::decode_vec(pem.as_bytes()).unwrap();
    PrivateKey::from_pkcs8_der(&der).unwrap()
}

fn root_signer() -> ResponderSigner {
    ResponderSigner {
        certificate: cert("registrar-root"),
        key: key("registrar-root"),
        delegated: false,
    }
}

const HOUR: Duration = Duration::from_secs(3600);

/// An OCSP response about `who` (issued by the registrar root) from `signer`.
fn ocsp_for(
    who: &Certificate,
    signer: &ResponderSigner,
    status: OcspStatus,
    hash: CertIdHash,
    nonce: bool,
) -> (OcspRequest, Vec<u8>) {
    let root = cert("registrar-root");
    let request = OcspRequest::new(who, &root, hash, nonce).unwrap();
    let asked = RequestAsked::parse(request.der()).unwrap();
    let now = SystemTime::now();
    let der = OcspResponseBuilder::new(signer, &root)
        .respond(&asked, now - HOUR, Some(now + HOUR), |_| status)
        .unwrap();
    (request, der)
}

fn chain() -> Vec<Certificate> {
    vec![cert("rep-rsa2048"), cert("registrar-root")]
}

fn data_with_ocsp(der: Vec<u8>) -> RevocationData {
    RevocationData {
        ocsp_responses: vec![der],
        ..RevocationData::default()
    }
}

/// The fixture chain checked now against one OCSP response.
fn offline(der: Vec<u8>) -> ChainRevocation {
    check_chain_offline(&chain(), &data_with_ocsp(der), &CheckOptions::default())
}

#[test]
fn good_ocsp_answer_passes_every_policy() {
    for hash in [CertIdHash::Sha1, CertIdHash::Sha2(HashAlgorithm::Sha256)] {
        let (_, der) = ocsp_for(&cert("rep-rsa2048"), &root_signer(), OcspStatus::Good, hash, true);
        let result = offline(der);
        assert_eq!(result.certificates.len(), 1, "the root is not checked");
        let answer = result.certificates[0].answer.as_ref().expect("an answer");
        assert_eq!(
            (&answer.status, answer.source),
            (&CertStatus::Good, AnswerSource::Ocsp)
        );
        assert_eq!(
            result.enforce(RevocationPolicy::Require).unwrap(),
            Vec::<String>::new()
        );
    }
}

#[test]
fn revoked_ocsp_answer_fails_with_reason_and_time() {
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_780_000_000);
    let status = OcspStatus::Revoked(at, Some(RevocationReason::KeyCompromise));
    let (_, der) = ocsp_for(
        &cert("rep-rsa2048"),
        &root_signer(),
        status,
        CertIdHash::Sha1,
        false,
    );
    let result = offline(der);
    for policy in [RevocationPolicy::Require, RevocationPolicy::Prefer] {
        let e = result.enforce(policy).unwrap_err();
        let text = e.to_string();
        assert!(
            matches!(e, Error::Untrusted(TrustFailure::Revoked { .. })),
            "{e:?}"
        );
        assert!(
            text.contains("keyCompromise") && text.contains("2026-05-28T"),
            "{text}"
        );
    }
    assert!(result.enforce(RevocationPolicy::Off).is_ok());

    // A trusted timestamp shows the signature existed before the
    // revocation: a warning naming it, not a failure.
    let before = at - HOUR;
    for policy in [RevocationPolicy::Require, RevocationPolicy::Prefer] {
        let warnings = result.enforce_at(policy, Some(before)).unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("was revoked at 2026-05-28T") && warnings[0].contains("keyCompromise"),
            "{warnings:?}"
        );
    }
    // At or after the revocation, or without a timestamp: revoked.
    for existed in [Some(at), Some(at + HOUR), None] {
        let e = result.enforce_at(RevocationPolicy::Prefer, existed).unwrap_err();
        assert!(
            matches!(e, Error::Untrusted(TrustFailure::Revoked { .. })),
            "{existed:?}: {e:?}"
        );
    }
}

#[test]
fn answers_about_others_or_from_others_do_not_count() {
    // About another certificate: no answer, and require fails saying so.
    let (_, der) = ocsp_for(
        &cert("rep-ecdsa"),
        &root_signer(),
        OcspStatus::Good,
        CertIdHash::Sha1,
        false,
    );
    let result = offline(der);
    assert!(result.certificates[0].answer.is_none());
    let e = result.enforce(RevocationPolicy::Require).unwrap_err();
    assert!(
        matches!(e, Error::Untrusted(TrustFailure::RevocationUnknown { .. })),
        "{e:?}"
    );
    let warnings = result.enforce(RevocationPolicy::Prefer).unwrap();
    assert!(warnings[0].contains("no OCSP response or CRL"), "{warnings:?}");

    // Signed by a key that is not the issuer's, claiming to be the issuer.
    let forged = ResponderSigner {
        certificate: cert("registrar-root"),
        key: key("other-root"),
        delegated: false,
    };
    let (_, der) = ocsp_for(
        &cert("rep-rsa2048"),
        &forged,
        OcspStatus::Good,
        CertIdHash::Sha1,
        false,
    );
    let result = offline(der);
    assert!(result.certificates[0].answer.is_none());
    assert!(
        result.certificates[0].problems[0].contains("does not verify"),
        "{:?}",
        result.certificates[0].problems
    );

    // A "delegated" responder the issuer never issued.
    let stranger = ResponderSigner {
        certificate: cert("rep-ecdsa"),
        key: key("rep-ecdsa"),
        delegated: true,
    };
    let (_, der) = ocsp_for(
        &cert("rep-rsa2048"),
        &stranger,
        OcspStatus::Good,
        CertIdHash::Sha1,
        false,
    );
    let result = offline(der);
    let problems = &result.certificates[0].problems;
    assert!(
        problems[0].contains("lacks the extended key usage id-kp-OCSPSigning"),
        "{problems:?}"
    );
}

#[test]
fn stale_future_and_malformed_answers_are_named() {
    let (_, der) = ocsp_for(
        &cert("rep-rsa2048"),
        &root_signer(),
        OcspStatus::Good,
        CertIdHash::Sha1,
        false,
    );
    let later = CheckOptions::at(SystemTime::now() + 3 * HOUR);
    let result = check_chain_offline(&chain(), &data_with_ocsp(der.clone()), &later);
    assert!(
        result.certificates[0].problems[0].contains("stale"),
        "{:?}",
        result.certificates[0].problems
    );
    // Long-term validation from embedded data accepts it.
    let ltv = CheckOptions {
        accept_expired: true,
        ..later
    };
    assert!(
        check_chain_offline(&chain(), &data_with_ocsp(der.clone()), &ltv).certificates[0]
            .answer
            .is_some()
    );
    let earlier = CheckOptions::at(SystemTime::now() - 3 * HOUR);
    let result = check_chain_offline(&chain(), &data_with_ocsp(der.clone()), &earlier);
    assert!(
        result.certificates[0].problems[0].contains("future"),
        "{:?}",
        result.certificates[0].problems
    );

    let mut broken = der;
    broken.truncate(broken.len() - 10);
    let result = check_chain_offline(&chain(), &data_with_ocsp(broken), &CheckOptions::default());
    assert!(
        result.certificates[0].problems[0].contains("malformed OCSP response"),
        "{:?}",
        result.certificates[0].problems
    );

    let refused = error_response(OcspResponseStatus::Unauthorized).unwrap();
    let result = check_chain_offline(&chain(), &data_with_ocsp(refused), &CheckOptions::default());
    assert!(
        result.certificates[0].problems[0].contains("answered unauthorized"),
        "{:?}",
        result.certificates[0].problems
    );
}

#[test]
fn unknown_status_is_not_an_answer() {
    let (_, der) = ocsp_for(
        &cert("rep-rsa2048"),
        &root_signer(),
        OcspStatus::Unknown,
        CertIdHash::Sha1,
        false,
    );
    let result = offline(der);
    assert!(result.certificates[0].answer.is_none());
    assert!(result.certificates[0].problems[0].contains("status unknown"));
}

#[test]
fn a_replayed_nonce_is_refused() {
    let root = cert("registrar-root");
    let rep = cert("rep-rsa2048");
    let (_, der) = ocsp_for(&rep, &root_signer(), OcspStatus::Good, CertIdHash::Sha1, true);
    let other = OcspRequest::new(&rep, &root, CertIdHash::Sha1, true).unwrap();
    let parsed = ocsp::ParsedResponse::parse(&der).unwrap();
    let e = parsed
        .answer_for(&rep, &root, other.nonce(), &CheckOptions::default())
        .unwrap_err();
    assert!(e.to_string().contains("nonce"), "{e}");
}

/// A CRL of the registrar root listing `revoked` serials, signed by `signer`.
fn crl(revoked: &[(&[u8], Option<RevocationReason>)], signer: &str, next: SystemTime) -> Vec<u8> {
    let entries: Vec<CrlEntry> = revoked
        .iter()
        .map(|(serial, reason)| CrlEntry {
            serial: serial.to_vec(),
            time: SystemTime::now() - HOUR,
            reason: *reason,
        })
        .collect();
    build_crl(
        &cert("registrar-root"),
        &key(signer),
        SystemTime::now() - HOUR,
        next,
        &entries,
    )
    .unwrap()
}

#[test]
fn crl_lookups() {
    let rep = cert("rep-rsa2048");
    let later = SystemTime::now() + HOUR;
    let crl_data = |der| RevocationData {
        crls: vec![der],
        ..RevocationData::default()
    };
    // Listed with a reason.
    let listed = crl(
        &[(rep.serial_bytes(), Some(RevocationReason::KeyCompromise))],
        "registrar-root",
        later,
    );
    let result = check_chain_offline(&chain(), &crl_data(listed), &CheckOptions::default());
    let (_, reason) = result.certificates[0].revoked().expect("revoked");
    assert_eq!(reason, Some(RevocationReason::KeyCompromise));
    assert_eq!(
        result.certificates[0].answer.as_ref().unwrap().source,
        AnswerSource::Crl
    );
    // Not listed.
    let other = crl(&[(&[0x77], None)], "registrar-root", later);
    let result = check_chain_offline(&chain(), &crl_data(other), &CheckOptions::default());
    assert_eq!(
        result.certificates[0].answer.as_ref().unwrap().status,
        CertStatus::Good
    );
    // Forged.
    let forged = crl(&[], "other-root", later);
    let result = check_chain_offline(&chain(), &crl_data(forged), &CheckOptions::default());
    assert!(
        result.certificates[0].problems[0].contains("does not verify"),
        "{:?}",
        result.certificates[0].problems
    );
    // Stale.
    let stale = crl(&[], "registrar-root", SystemTime::now() - HOUR / 2);
    let result = check_chain_offline(&chain(), &crl_data(stale), &CheckOptions::default());
    assert!(
        result.certificates[0].problems[0].contains("stale"),
        "{:?}",
        result.certificates[0].problems
    );
    // A parse round trip of the decoder used.
    assert!(
        x509_cert::crl::CertificateList::<x509_cert::certificate::Rfc5280>::from_der(&crl(
            &[],
            "registrar-root",
            later
        ))
        .is_ok()
    );
}
