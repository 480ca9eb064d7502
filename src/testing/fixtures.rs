//! The one loader of the committed test PKI in this crate's `fixtures/`
//! (see `fixtures/README.md`): certificates as `NAME.pem` and `NAME.der`,
//! keys as `NAME.key.pem`, PKCS#12 files as `NAME.p12` (password
//! [`P12_PASSWORD`]). Every certificate chains to `registrar-root`, but
//! `other-root` and what it issued.
//!
//! Names: `registrar-root`, `other-root`, `rep-rsa2048`, `rep-rsa1024`,
//! `rep-ecdsa`, `rep-expired`, `rep-foreign`, `rep-bad-moj`; PKCS#12:
//! `rep-rsa2048.p12`, `rep-rsa2048-legacy.p12`, `rep-ecdsa.p12`,
//! `rep-rsa1024.p12`.

use std::path::PathBuf;

use crate::cert::Certificate;
use crate::crypto::PrivateKey;
use crate::signer::MemorySigner;

/// The password of every fixture `.p12` file.
pub const P12_PASSWORD: &str = "crpki-test";

/// The `fixtures/` directory.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Path of a file under `fixtures/`.
pub fn path(name: &str) -> PathBuf {
    dir().join(name)
}

/// The bytes of a fixture file.
pub fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(path(name)).unwrap_or_else(|e| panic!("reading fixture {name}: {e}"))
}

/// A fixture file as text.
pub fn text(name: &str) -> String {
    std::fs::read_to_string(path(name)).unwrap_or_else(|e| panic!("reading fixture {name}: {e}"))
}

/// A fixture certificate by its base name (`registrar-root`, `rep-rsa2048`, …).
pub fn cert(name: &str) -> Certificate {
    Certificate::from_der(&bytes(&format!("{name}.der")))
        .unwrap_or_else(|e| panic!("fixture certificate {name}: {e}"))
}

/// A fixture private key by its base name.
pub fn key(name: &str) -> PrivateKey {
    let pem = bytes(&format!("{name}.key.pem"));
    let (label, der) = der::pem::decode_vec(&pem).unwrap_or_else(|e| panic!("fixture key {name}: {e}"));
    assert_eq!(label, "PRIVATE KEY", "fixture key {name}");
    PrivateKey::from_pkcs8_der(&der).unwrap_or_else(|e| panic!("fixture key {name}: {e}"))
}

/// A [`MemorySigner`] over a fixture key and certificate, chained to the
/// registrar root.
pub fn memory_signer(name: &str) -> MemorySigner {
    memory_signer_under(name, "registrar-root")
}

/// A [`MemorySigner`] over a fixture key and certificate whose chain is the
/// fixture certificate `root`.
pub fn memory_signer_under(name: &str, root: &str) -> MemorySigner {
    MemorySigner::new(key(name), cert(name), vec![cert(root)])
        .unwrap_or_else(|e| panic!("fixture signer {name} under {root}: {e}"))
}
