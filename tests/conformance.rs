//! Every local `RemoteSigner` backend passes the shared conformance suite
//! (`tests/common/conformance.rs`), and the suite itself rejects backends
//! that break the contract.
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too

mod common;

use std::sync::Arc;

use async_trait::async_trait;
use common::conformance::check_signer;
#[cfg(feature = "pkcs12")]
use common::{P12_PASSWORD, fixture};
use common::{fixture_cert, memory_signer};
#[cfg(feature = "pkcs12")]
use crpki::Pkcs12Signer;
use crpki::{Certificate, Digest, KeyInfo, MemorySigner, RemoteSigner, SignatureAlgorithm};

async fn passes(signer: impl RemoteSigner) {
    let root = fixture_cert("registrar-root");
    check_signer(Arc::new(signer), Some(&root)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_signer_rsa2048() {
    passes(memory_signer("rep-rsa2048")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_signer_p256() {
    passes(memory_signer("rep-ecdsa")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_signer_without_chain() {
    // A backend that does not know the chain may say so with an empty one.
    let signer = MemorySigner::from_pem(
        &common::fixture_text("rep-rsa2048.key.pem"),
        &common::fixture_text("rep-rsa2048.pem"),
        "",
    )
    .unwrap();
    check_signer(Arc::new(signer), None).await;
}

#[cfg(feature = "pkcs12")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pkcs12_signer_modern() {
    passes(Pkcs12Signer::open(fixture("rep-rsa2048.p12"), P12_PASSWORD).unwrap()).await;
}

#[cfg(feature = "pkcs12")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pkcs12_signer_legacy() {
    passes(Pkcs12Signer::open(fixture("rep-rsa2048-legacy.p12"), P12_PASSWORD).unwrap()).await;
}

#[cfg(feature = "pkcs12")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pkcs12_signer_ecdsa() {
    passes(Pkcs12Signer::open(fixture("rep-ecdsa.p12"), P12_PASSWORD).unwrap()).await;
}

/// How a deliberately broken backend breaks the contract.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// Returns the signatures of a batch in reverse order.
    ReversedOrder,
    /// Signs an empty batch instead of refusing it.
    AcceptsEmptyBatch,
    /// Drops the last signature of batches of more than one.
    DropsOne,
    /// Puts an unrelated root in front of the real chain.
    StrangerInChain,
}

#[derive(Debug)]
struct Broken {
    inner: MemorySigner,
    fault: Fault,
    chain: Vec<Certificate>,
}

#[async_trait]
impl RemoteSigner for Broken {
    fn certificate(&self) -> &Certificate {
        self.inner.certificate()
    }

    fn chain(&self) -> &[Certificate] {
        &self.chain
    }

    fn key_info(&self) -> KeyInfo {
        self.inner.key_info()
    }

    async fn sign_digests(
        &self,
        algorithm: SignatureAlgorithm,
        digests: &[Digest],
    ) -> crpki::Result<Vec<Vec<u8>>> {
        if digests.is_empty() && matches!(self.fault, Fault::AcceptsEmptyBatch) {
            return Ok(Vec::new());
        }
        let mut signatures = self.inner.sign_digests(algorithm, digests).await?;
        match self.fault {
            Fault::ReversedOrder => signatures.reverse(),
            Fault::DropsOne if signatures.len() > 1 => {
                signatures.pop();
            }
            _ => {}
        }
        Ok(signatures)
    }
}

/// The suite must panic on a broken backend: run it in a task and look at
/// how the task ended.
async fn fails(fault: Fault) {
    let inner = memory_signer("rep-rsa2048");
    let mut chain = inner.chain().to_vec();
    if matches!(fault, Fault::StrangerInChain) {
        chain.insert(0, fixture_cert("other-root"));
    }
    let signer = Arc::new(Broken { inner, fault, chain });
    let root = fixture_cert("registrar-root");
    let outcome = tokio::spawn(async move { check_signer(signer, Some(&root)).await }).await;
    assert!(
        outcome.as_ref().is_err_and(|e| e.is_panic()),
        "the conformance suite accepted a backend with fault {fault:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suite_rejects_reversed_order() {
    fails(Fault::ReversedOrder).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suite_rejects_accepted_empty_batch() {
    fails(Fault::AcceptsEmptyBatch).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suite_rejects_missing_signature() {
    fails(Fault::DropsOne).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suite_rejects_chain_with_a_stranger() {
    fails(Fault::StrangerInChain).await;
}
