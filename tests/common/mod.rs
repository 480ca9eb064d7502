//! Helpers shared by the integration tests: fixture loading, the `openssl`
//! CLI, and the conformance suite every `RemoteSigner` backend runs.
#![allow(dead_code)] // each test binary uses a different part
#![allow(clippy::unwrap_used)] // test helpers may unwrap

pub mod conformance;
pub mod openssl;

use std::path::PathBuf;

use crpki::{Certificate, MemorySigner};

/// The password of every fixture `.p12` file.
pub const P12_PASSWORD: &str = "crpki-test";

/// Path of a file under `fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// Reads a fixture file as text.
pub fn fixture_text(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).unwrap_or_else(|e| panic!("reading fixture {name}: {e}"))
}

/// A fixture certificate by its base name (`registrar-root`, `rep-rsa2048`, …).
pub fn fixture_cert(name: &str) -> Certificate {
    let der =
        std::fs::read(fixture(&format!("{name}.der"))).unwrap_or_else(|e| panic!("reading {name}.der: {e}"));
    Certificate::from_der(&der).unwrap()
}

/// A `MemorySigner` over a fixture key and certificate, chained to the
/// registrar root.
pub fn memory_signer(name: &str) -> MemorySigner {
    MemorySigner::from_pem(
        &fixture_text(&format!("{name}.key.pem")),
        &fixture_text(&format!("{name}.pem")),
        &fixture_text("registrar-root.pem"),
    )
    .unwrap()
}
