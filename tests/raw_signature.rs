//! Raw signatures from the PKCS#12 signer over a file's digest are what
//! `openssl dgst -verify` accepts for that file, and a tampered file fails
//! both openssl and `PublicKey::verify_digest`.
#![cfg(feature = "pkcs12")]
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too

use std::path::Path;

use crpki::signer::digest_file;
use crpki::testing::fixtures::{self, P12_PASSWORD};
use crpki::testing::openssl;
use crpki::{Error, HashAlgorithm, Pkcs12Signer, RemoteSigner, SignatureAlgorithm, SignatureScheme};

/// Writes the signer certificate's public key as `pubkey.pem` in `dir`.
fn write_public_key(dir: &Path, signer: &Pkcs12Signer) {
    std::fs::write(dir.join("cert.der"), signer.certificate().der()).unwrap();
    let out = openssl::run_ok(
        dir,
        &["x509", "-inform", "DER", "-in", "cert.der", "-pubkey", "-noout"],
    );
    std::fs::write(dir.join("pubkey.pem"), out.stdout).unwrap();
}

/// `openssl dgst -<hash> -verify pubkey.pem -signature sig.bin [-sigopt …] FILE`
fn openssl_dgst_verifies(dir: &Path, algorithm: SignatureAlgorithm, file: &str) -> bool {
    let hash = format!("-{}", openssl::hash_name(algorithm.hash));
    let mut args = vec![
        "dgst",
        hash.as_str(),
        "-verify",
        "pubkey.pem",
        "-signature",
        "sig.bin",
    ];
    for opt in openssl::pss_options(algorithm) {
        args.extend(["-sigopt", opt]);
    }
    args.push(file);
    let out = openssl::run(dir, &args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.success(),
        stdout.contains("Verified OK"),
        "openssl dgst's exit status and message disagree: {stdout}"
    );
    out.status.success()
}

/// A document of a few hundred kilobytes, and a copy with one byte changed.
fn write_documents(dir: &Path) {
    let document: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(dir.join("document.bin"), &document).unwrap();
    let mut tampered = document;
    tampered[123_456] ^= 0x01;
    std::fs::write(dir.join("tampered.bin"), &tampered).unwrap();
}

async fn check(p12: &str, algorithms: &[SignatureAlgorithm]) {
    let signer = Pkcs12Signer::open(fixtures::path(p12), P12_PASSWORD).unwrap();
    let public = signer.certificate().public_key().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    write_public_key(dir, &signer);
    write_documents(dir);

    for &algorithm in algorithms {
        let digest = digest_file(algorithm.hash, &dir.join("document.bin")).unwrap();
        let signature = signer.sign_digests(algorithm, &[digest]).await.unwrap().remove(0);
        std::fs::write(dir.join("sig.bin"), &signature).unwrap();

        assert!(
            openssl_dgst_verifies(dir, algorithm, "document.bin"),
            "{p12}: {algorithm}: openssl refuses"
        );
        assert!(
            !openssl_dgst_verifies(dir, algorithm, "tampered.bin"),
            "{p12}: {algorithm}: openssl accepted the tampered file"
        );

        let tampered = digest_file(algorithm.hash, &dir.join("tampered.bin")).unwrap();
        match public.verify_digest(algorithm, &tampered, &signature) {
            Err(Error::BadSignature { .. }) => {}
            other => panic!("{p12}: {algorithm}: tampered file gave {other:?}"),
        }
        let original = digest_file(algorithm.hash, &dir.join("document.bin")).unwrap();
        public.verify_digest(algorithm, &original, &signature).unwrap();
    }
}

#[tokio::test]
async fn rsa_pkcs1_and_pss_verify_with_openssl_dgst() {
    use HashAlgorithm::*;
    use SignatureScheme::*;
    let algorithms = [
        SignatureAlgorithm::new(RsaPkcs1v15, Sha256),
        SignatureAlgorithm::new(RsaPss, Sha256),
        SignatureAlgorithm::new(RsaPkcs1v15, Sha512),
        SignatureAlgorithm::new(RsaPss, Sha384),
    ];
    check("rep-rsa2048.p12", &algorithms).await;
    check("rep-rsa2048-legacy.p12", &algorithms[..2]).await;
}

#[tokio::test]
async fn ecdsa_verifies_with_openssl_dgst() {
    check(
        "rep-ecdsa.p12",
        &[SignatureAlgorithm::new(
            SignatureScheme::Ecdsa,
            HashAlgorithm::Sha256,
        )],
    )
    .await;
}

/// RSASSA-PSS from `openssl pkeyutl` with each salt length it offers:
/// as long as the hash and the largest the key allows verify (the latter
/// is OpenSSL's default in CMS), others are Unsupported, and a salt length
/// that does not match the signature is a bad signature. An odd key size
/// (2050 bits) checks the largest salt's arithmetic.
#[test]
fn pss_salt_lengths_from_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl::run_ok(
        d,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2050",
            "-out",
            "odd.key.pem",
        ],
    );
    std::fs::copy(fixtures::path("rep-rsa2048.key.pem"), d.join("rep.key.pem")).unwrap();
    for (key, bits) in [("rep.key.pem", 2048usize), ("odd.key.pem", 2050)] {
        let spki = openssl::run_ok(d, &["pkey", "-in", key, "-pubout", "-outform", "DER"]).stdout;
        let public = crpki::PublicKey::from_spki_der(&spki).unwrap();
        for hash in [
            HashAlgorithm::Sha256,
            HashAlgorithm::Sha384,
            HashAlgorithm::Sha512,
        ] {
            let digest = hash.digest(format!("pss {bits} {hash}").as_bytes());
            std::fs::write(d.join("digest.bin"), digest.as_bytes()).unwrap();
            let max = bits.div_ceil(8) - hash.output_len() - 2;
            let sign = |saltlen: &str| {
                let digest_opt = format!("digest:{}", openssl::hash_name(hash));
                let salt_opt = format!("rsa_pss_saltlen:{saltlen}");
                openssl::run_ok(
                    d,
                    &[
                        "pkeyutl",
                        "-sign",
                        "-inkey",
                        key,
                        "-in",
                        "digest.bin",
                        "-out",
                        "sig.bin",
                        "-pkeyopt",
                        &digest_opt,
                        "-pkeyopt",
                        "rsa_padding_mode:pss",
                        "-pkeyopt",
                        &salt_opt,
                    ],
                );
                std::fs::read(d.join("sig.bin")).unwrap()
            };
            for (saltlen, len) in [("digest", hash.output_len()), ("max", max)] {
                let sig = sign(saltlen);
                public
                    .verify_digest_pss(&digest, len, &sig)
                    .unwrap_or_else(|e| panic!("{bits}-bit key, {hash}, salt {saltlen} ({len}): {e}"));
                let mut bad = sig.clone();
                bad[10] ^= 1;
                let e = public.verify_digest_pss(&digest, len, &bad).unwrap_err();
                assert!(matches!(e, Error::BadSignature { .. }), "{e:?}");
                // The parameters name the other supported length.
                let other = if len == max { hash.output_len() } else { max };
                let e = public.verify_digest_pss(&digest, other, &sig).unwrap_err();
                assert!(matches!(e, Error::BadSignature { .. }), "{saltlen}: {e:?}");
            }
            let sig = sign("20");
            let e = public.verify_digest_pss(&digest, 20, &sig).unwrap_err();
            assert!(
                matches!(e, Error::Unsupported { .. }) && e.to_string().contains("20-byte salt"),
                "{e}"
            );
        }
    }
}
