//! `Pkcs12Signer` on good and bad files: each bad input gets its precise
//! error variant, never a panic, and never shows the password.
//!
//! Files the fixtures do not cover are made once per run with the openssl
//! CLI in a temporary directory.
#![cfg(feature = "pkcs12")]
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use crpki::testing::fixtures::{self, P12_PASSWORD};
use crpki::testing::openssl;
use crpki::{Certificate, Error, KeyAlgorithm, Pkcs12Signer, RemoteSigner};

/// A password that must never show up in an error or a `Debug` output.
const SECRET_WRONG_PASSWORD: &str = "Hunter2-wrong-PASSWORD";

/// Where generated material lives for the whole test binary.
static WORK: LazyLock<tempfile::TempDir> = LazyLock::new(|| tempfile::tempdir().unwrap());

/// Exports a PKCS#12 file named `name` with `openssl pkcs12 -export ARGS`
/// (password `crpki-test`), once; returns its bytes.
fn export(name: &str, args: &[&str]) -> Vec<u8> {
    let dir = WORK.path();
    let out = dir.join(format!("{name}.p12"));
    if !out.exists() {
        let tmp = format!("{name}.p12.tmp");
        let pass = format!("pass:{P12_PASSWORD}");
        let mut all = vec!["pkcs12", "-export", "-out", &tmp, "-passout", &pass];
        all.extend(args);
        openssl::run_ok(dir, &all);
        std::fs::rename(dir.join(&tmp), &out).unwrap();
    }
    std::fs::read(out).unwrap()
}

fn f(name: &str) -> String {
    fixtures::path(name).display().to_string()
}

/// Opens bytes with the fixture password and returns the error.
fn open_err(der: &[u8]) -> Error {
    open_err_with(der, P12_PASSWORD)
}

fn open_err_with(der: &[u8], password: &str) -> Error {
    match Pkcs12Signer::from_bytes(der, password) {
        Ok(signer) => panic!("opened unexpectedly: {signer:?}"),
        Err(e) => {
            assert_no_secret(&e);
            e
        }
    }
}

fn assert_no_secret(e: &Error) {
    for text in [e.to_string(), format!("{e:?}")] {
        assert!(
            !text.contains(SECRET_WRONG_PASSWORD),
            "the password leaked: {text}"
        );
        assert!(!text.contains(P12_PASSWORD), "the password leaked: {text}");
    }
}

fn assert_unsupported_naming(e: Error, name: &str) {
    match e {
        Error::Unsupported { what } => assert!(what.contains(name), "'{what}' does not name {name}"),
        other => panic!("expected Unsupported naming {name}, got {other:?}"),
    }
}

#[test]
fn opens_the_fixture_files() {
    let root = fixtures::cert("registrar-root");
    for (file, cert, algorithm) in [
        ("rep-rsa2048.p12", "rep-rsa2048", KeyAlgorithm::Rsa),
        ("rep-rsa2048-legacy.p12", "rep-rsa2048", KeyAlgorithm::Rsa),
        ("rep-ecdsa.p12", "rep-ecdsa", KeyAlgorithm::EcP256),
    ] {
        let signer = Pkcs12Signer::open(fixtures::path(file), P12_PASSWORD).unwrap();
        assert_eq!(signer.certificate().der(), fixtures::cert(cert).der(), "{file}");
        assert_eq!(signer.chain(), std::slice::from_ref(&root), "{file}");
        assert_eq!(signer.key_info().algorithm, algorithm, "{file}");
        let debug = format!("{signer:?}");
        assert!(
            debug.contains("Pkcs12Signer") && !debug.contains(P12_PASSWORD),
            "{debug}"
        );
    }
}

#[test]
fn wrong_password_modern_and_legacy() {
    for file in ["rep-rsa2048.p12", "rep-rsa2048-legacy.p12", "rep-ecdsa.p12"] {
        let e = open_err_with(&fixtures::bytes(file), SECRET_WRONG_PASSWORD);
        assert!(matches!(e, Error::WrongPassword { .. }), "{file}: {e:?}");
        // An empty password is just another wrong one.
        let e = open_err_with(&fixtures::bytes(file), "");
        assert!(matches!(e, Error::WrongPassword { .. }), "{file}: {e:?}");
    }
}

#[test]
fn wrong_password_names_the_file() {
    let path = fixtures::path("rep-rsa2048-legacy.p12");
    let e = Pkcs12Signer::open(&path, SECRET_WRONG_PASSWORD).unwrap_err();
    assert_no_secret(&e);
    match &e {
        Error::WrongPassword { what } => assert!(what.contains("rep-rsa2048-legacy.p12"), "{what}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_file_is_an_io_error() {
    let e = Pkcs12Signer::open(WORK.path().join("absent.p12"), P12_PASSWORD).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e:?}");
}

#[test]
fn truncated_files_are_malformed() {
    for file in ["rep-rsa2048.p12", "rep-rsa2048-legacy.p12"] {
        let der = fixtures::bytes(file);
        for len in [
            0,
            1,
            2,
            10,
            der.len() / 3,
            der.len() / 2,
            der.len() - 40,
            der.len() - 1,
        ] {
            let e = open_err(&der[..len]);
            assert!(
                matches!(e, Error::Malformed { .. }),
                "{file} cut to {len} bytes: {e:?}"
            );
        }
    }
}

#[test]
fn trailing_garbage_is_malformed() {
    let mut der = fixtures::bytes("rep-rsa2048.p12");
    der.extend_from_slice(b"junk");
    let e = open_err(&der);
    assert!(matches!(e, Error::Malformed { .. }), "{e:?}");
}

/// Deterministic pseudo-random bytes (xorshift), so a failure can be replayed.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[test]
fn random_bytes_are_malformed() {
    for seed in 0..50 {
        let mut bytes = noise(seed, 64 + seed as usize * 37);
        if seed % 2 == 0 {
            // Look like a DER SEQUENCE to get past the first byte.
            bytes[0] = 0x30;
            bytes[1] = 0x82;
        }
        let e = open_err(&bytes);
        assert!(matches!(e, Error::Malformed { .. }), "seed {seed}: {e:?}");
    }
    let e = open_err(b"-----BEGIN CERTIFICATE-----\nnot a p12\n");
    assert!(matches!(e, Error::Malformed { .. }), "{e:?}");
}

#[test]
fn other_der_is_malformed() {
    // A certificate is DER, but not a PFX.
    let e = open_err(fixtures::cert("rep-rsa2048").der());
    assert!(matches!(e, Error::Malformed { .. }), "{e:?}");
}

#[test]
fn flipped_bytes_never_panic() {
    for file in ["rep-rsa2048.p12", "rep-rsa2048-legacy.p12"] {
        let der = fixtures::bytes(file);
        let step = der.len() / 40;
        for pos in (0..der.len()).step_by(step) {
            let mut copy = der.clone();
            copy[pos] ^= 0x5a;
            if let Err(e) = Pkcs12Signer::from_bytes(&copy, P12_PASSWORD) {
                assert_no_secret(&e);
                assert!(
                    matches!(
                        e,
                        Error::Malformed { .. } | Error::WrongPassword { .. } | Error::Unsupported { .. }
                    ),
                    "{file}, byte {pos} flipped: {e:?}"
                );
            }
        }
    }
}

#[test]
fn camellia_cipher_is_unsupported() {
    let der = export(
        "camellia",
        &[
            "-keypbe",
            "camellia-256-cbc",
            "-certpbe",
            "camellia-256-cbc",
            "-inkey",
            &f("rep-rsa2048.key.pem"),
            "-in",
            &f("rep-rsa2048.pem"),
        ],
    );
    assert_unsupported_naming(open_err(&der), "CAMELLIA-256-CBC");
    // Unsupported wins whatever the password: it cannot be opened at all.
    assert_unsupported_naming(open_err_with(&der, SECRET_WRONG_PASSWORD), "CAMELLIA-256-CBC");
}

#[test]
fn des_in_pbes2_is_unsupported() {
    let der = export(
        "des",
        &[
            "-legacy",
            "-keypbe",
            "DES-CBC",
            "-certpbe",
            "DES-CBC",
            "-inkey",
            &f("rep-rsa2048.key.pem"),
            "-in",
            &f("rep-rsa2048.pem"),
        ],
    );
    assert_unsupported_naming(open_err(&der), "DES-CBC");
}

#[test]
fn rc4_is_unsupported() {
    let der = export(
        "rc4",
        &[
            "-legacy",
            "-keypbe",
            "PBE-SHA1-RC4-128",
            "-certpbe",
            "PBE-SHA1-RC4-128",
            "-inkey",
            &f("rep-rsa2048.key.pem"),
            "-in",
            &f("rep-rsa2048.pem"),
        ],
    );
    assert_unsupported_naming(open_err(&der), "RC4");
}

#[test]
fn sha3_and_md5_macs_are_unsupported() {
    for (name, macalg, shown) in [("sha3mac", "sha3-256", "SHA3-256"), ("md5mac", "md5", "MD5")] {
        let der = export(
            name,
            &[
                "-macalg",
                macalg,
                "-inkey",
                &f("rep-rsa2048.key.pem"),
                "-in",
                &f("rep-rsa2048.pem"),
            ],
        );
        assert_unsupported_naming(open_err(&der), shown);
    }
}

#[test]
fn file_without_mac_opens_and_detects_a_wrong_password() {
    let der = export(
        "nomac",
        &[
            "-nomac",
            "-certpbe",
            "NONE",
            "-inkey",
            &f("rep-rsa2048.key.pem"),
            "-in",
            &f("rep-rsa2048.pem"),
            "-certfile",
            &f("registrar-root.pem"),
        ],
    );
    let signer = Pkcs12Signer::from_bytes(&der, P12_PASSWORD).unwrap();
    assert_eq!(signer.certificate().der(), fixtures::cert("rep-rsa2048").der());
    assert_eq!(signer.chain().len(), 1);
    let e = open_err_with(&der, SECRET_WRONG_PASSWORD);
    assert!(matches!(e, Error::WrongPassword { .. }), "{e:?}");
}

#[test]
fn unprotected_file_opens_with_any_password() {
    // No MAC and nothing encrypted: the password protects nothing, and
    // p12-keystore (like OpenSSL) then ignores it.
    let der = export(
        "plain",
        &[
            "-nomac",
            "-keypbe",
            "NONE",
            "-certpbe",
            "NONE",
            "-inkey",
            &f("rep-ecdsa.key.pem"),
            "-in",
            &f("rep-ecdsa.pem"),
        ],
    );
    for password in [P12_PASSWORD, SECRET_WRONG_PASSWORD] {
        let signer = Pkcs12Signer::from_bytes(&der, password).unwrap();
        assert_eq!(signer.certificate().der(), fixtures::cert("rep-ecdsa").der());
        assert!(signer.chain().is_empty());
    }
}

#[test]
fn key_not_matching_its_certificate() {
    // openssl refuses to pair them directly; -nocerts -certfile puts them
    // side by side without a localKeyId.
    let der = export(
        "mismatch",
        &[
            "-nocerts",
            "-inkey",
            &f("rep-expired.key.pem"),
            "-certfile",
            &f("rep-rsa2048.pem"),
        ],
    );
    let e = open_err(&der);
    assert!(matches!(e, Error::KeyMismatch { .. }), "{e:?}");
}

#[test]
fn file_without_a_key() {
    let der = export("nokey", &["-nokeys", "-in", &f("rep-rsa2048.pem")]);
    match open_err(&der) {
        Error::NotFound { what } => assert!(what.contains("private key"), "{what}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn file_without_a_certificate() {
    let der = export("nocert", &["-nocerts", "-inkey", &f("rep-rsa2048.key.pem")]);
    match open_err(&der) {
        Error::NotFound { what } => assert!(what.contains("certificate"), "{what}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn rsa1024_key_is_unsupported() {
    let e = open_err(&fixtures::bytes("rep-rsa1024.p12"));
    assert_unsupported_naming(e, "2048");
}

/// Issues a certificate with openssl: `key` signed by `ca` (a CA itself
/// when `is_ca`), written to `WORK/name.pem`.
fn issue(name: &str, subject: &str, key: &str, ca: (&Path, &str), is_ca: bool) -> PathBuf {
    let dir = WORK.path();
    let ext = dir.join(format!("{name}.ext"));
    let basic = if is_ca {
        "critical,CA:TRUE"
    } else {
        "critical,CA:FALSE"
    };
    std::fs::write(
        &ext,
        format!("basicConstraints={basic}\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"),
    )
    .unwrap();
    let csr = format!("{name}.csr");
    let out = dir.join(format!("{name}.pem"));
    openssl::run_ok(dir, &["req", "-new", "-key", key, "-subj", subject, "-out", &csr]);
    openssl::run_ok(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca.0.display().to_string(),
            "-CAkey",
            ca.1,
            "-days",
            "3650",
            "-set_serial",
            "7",
            "-extfile",
            &ext.display().to_string(),
            "-out",
            &out.display().to_string(),
        ],
    );
    out
}

#[test]
fn chain_is_ordered_by_names_not_by_file_order() {
    let root = (fixtures::path("registrar-root.pem"), f("registrar-root.key.pem"));
    let inter_subject = "/C=JP/O=TEST Intermediate/CN=TEST Intermediate CA";
    let inter = issue(
        "inter",
        inter_subject,
        &f("rep-expired.key.pem"),
        (&root.0, &root.1),
        true,
    );
    // A renewed intermediate: same name, another key. Only the key
    // identifiers tell it is not the leaf's issuer.
    let stale = issue(
        "stale",
        inter_subject,
        &f("rep-foreign.key.pem"),
        (&root.0, &root.1),
        true,
    );
    let leaf = issue(
        "leaf",
        "/C=JP/O=TEST Leaf/CN=TEST Leaf",
        &f("rep-bad-moj.key.pem"),
        (&inter, &f("rep-expired.key.pem")),
        false,
    );
    // Stored root first, a stranger and the stale twin before the real issuer.
    let bundle = WORK.path().join("bundle.pem");
    let text: String = [
        fixtures::path("registrar-root.pem"),
        fixtures::path("other-root.pem"),
        stale,
        inter.clone(),
    ]
    .iter()
    .map(|p| std::fs::read_to_string(p).unwrap())
    .collect();
    std::fs::write(&bundle, text).unwrap();
    let der = export(
        "ordered",
        &[
            "-inkey",
            &f("rep-bad-moj.key.pem"),
            "-in",
            &leaf.display().to_string(),
            "-certfile",
            &bundle.display().to_string(),
        ],
    );
    let signer = Pkcs12Signer::from_bytes(&der, P12_PASSWORD).unwrap();
    let pem_der = |p: &Path| {
        let out = openssl::run_ok(
            WORK.path(),
            &["x509", "-in", &p.display().to_string(), "-outform", "DER"],
        );
        Certificate::from_der(&out.stdout).unwrap()
    };
    assert_eq!(signer.certificate(), &pem_der(&leaf));
    let chain: Vec<String> = signer.chain().iter().map(Certificate::subject).collect();
    assert_eq!(
        signer.chain(),
        &[pem_der(&inter), fixtures::cert("registrar-root")],
        "{chain:?}"
    );
}

/// A DER TLV at the start of `der`: (tag, content, rest).
fn tlv(der: &[u8]) -> (u8, &[u8], &[u8]) {
    let (tag, first) = (der[0], der[1]);
    let (len, head) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        let len = der[2..2 + n].iter().fold(0, |l, b| (l << 8) | usize::from(*b));
        (len, 2 + n)
    };
    (tag, &der[head..head + len], &der[head + len..])
}

fn children(mut der: &[u8]) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    while !der.is_empty() {
        let (tag, content, rest) = tlv(der);
        out.push((tag, content));
        der = rest;
    }
    out
}

fn encode(tag: u8, content: &[u8]) -> Vec<u8> {
    let len = content.len();
    let mut out = vec![tag];
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// pkcs8ShroudedKeyBag (1.2.840.113549.1.12.10.1.2), the OID's content bytes.
const SHROUDED_KEY_BAG: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01, 0x02];

/// `der` (a PFX whose safes are all id-data) with every SafeContents that
/// holds one shrouded key bag holding it `copies` times.
fn with_bags_repeated(der: &[u8], copies: usize) -> Vec<u8> {
    let pfx = children(tlv(der).1);
    let (version, auth_safe) = (pfx[0], children(pfx[1].1));
    let octets = children(children(auth_safe[1].1)[0].1)[0].1; // [0] OCTET STRING
    let mut safes = Vec::new();
    for (_, safe) in children(octets) {
        let parts = children(safe); // id-data, [0] { OCTET STRING { SafeContents } }
        let contents = children(children(parts[1].1)[0].1)[0].1;
        let bags = children(contents);
        let bags: Vec<u8> = if bags.len() == 1 && children(bags[0].1)[0].1 == SHROUDED_KEY_BAG {
            (0..copies).flat_map(|_| encode(bags[0].0, bags[0].1)).collect()
        } else {
            contents.to_vec()
        };
        let inner = encode(0xa0, &encode(0x04, &encode(0x30, &bags)));
        safes.extend(encode(0x30, &[encode(parts[0].0, parts[0].1), inner].concat()));
    }
    let auth = encode(0xa0, &encode(0x04, &encode(0x30, &safes)));
    let auth_safe = encode(0x30, &[encode(auth_safe[0].0, auth_safe[0].1), auth].concat());
    let rest: Vec<u8> = pfx[2..]
        .iter()
        .flat_map(|(tag, content)| encode(*tag, content))
        .collect();
    encode(0x30, &[encode(version.0, version.1), auth_safe, rest].concat())
}

/// Each derivation is bounded, and so are all of a file's together: four
/// shrouded key bags of 10^6 PBKDF2 iterations each (a few KB) are refused
/// before any is derived, instead of costing seconds of CPU per bag (fuzz
/// finding by hand, see CONTRIBUTING.md's "Fuzzing").
#[test]
fn many_expensive_key_bags_are_refused_before_deriving() {
    let one = export(
        "nomac-1m",
        &[
            // -iter also sets the MAC's iterations: before -nomac.
            "-iter",
            "1000000",
            "-nomac",
            "-certpbe",
            "NONE",
            "-inkey",
            &f("rep-rsa2048.key.pem"),
            "-in",
            &f("rep-rsa2048.pem"),
        ],
    );
    let rebuilt = with_bags_repeated(&one, 1);
    assert!(rebuilt == one, "the DER surgery must rebuild the file unchanged");
    let many = with_bags_repeated(&one, 4);
    assert!(many.len() < 10 * 1024, "{} bytes", many.len());
    assert_unsupported_naming(open_err(&many), "iterations in all");
}
