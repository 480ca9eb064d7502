//! Test support for crpki and for third-party [`RemoteSigner`] backends
//! (feature `test-util`), the way `object_store` exports its integration
//! suite:
//!
//! - [`check_signer`]: the conformance suite every backend passes;
//! - [`fixtures`]: the committed test PKI (`fixtures/` of this crate: a
//!   registrar root, representative certificates, keys, PKCS#12 files);
//! - [`FaultySigner`]: one wrapper around any signer that counts calls and
//!   can break the contract on purpose, to prove that callers and the
//!   suite notice;
//! - [`openssl`]: the `openssl` CLI as an independent judge of signatures.
//!
//! Everything here panics on failure, as test code does. The suite needs
//! the `openssl` CLI on `PATH`.
//!
//! [`RemoteSigner`]: crate::signer::RemoteSigner
#![allow(clippy::unwrap_used)] // test support panics on failure by design
#![allow(clippy::missing_panics_doc)]

mod conformance;
mod faulty;
pub mod fixtures;
pub mod openssl;

pub use conformance::{algorithms_for, check_signer, digests};

/// Fails the test, naming the install step, when the program `tool`
/// (Debian package `package`) is not on `PATH`: the tests that judge our
/// output with independent tools never skip silently (`scripts/test.sh`
/// installs them).
pub fn require_tool(tool: &str, package: &str) {
    let found = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "`{tool}` is missing: apt-get install {package} (./scripts/test.sh installs it)"
    );
}
pub use faulty::{Fault, FaultySigner};
