//! Every local `RemoteSigner` backend passes the shared conformance suite
//! (`crpki::testing::check_signer`), and the suite itself rejects backends
//! that break the contract.
#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too

use std::sync::Arc;

#[cfg(feature = "pkcs12")]
use crpki::Pkcs12Signer;
#[cfg(feature = "pkcs12")]
use crpki::testing::fixtures::P12_PASSWORD;
use crpki::testing::fixtures::{self, memory_signer};
use crpki::testing::{Fault, FaultySigner, check_signer};
use crpki::{MemorySigner, RemoteSigner};

async fn passes(signer: impl RemoteSigner) {
    let root = fixtures::cert("registrar-root");
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
        &fixtures::text("rep-rsa2048.key.pem"),
        &fixtures::text("rep-rsa2048.pem"),
        "",
    )
    .unwrap();
    check_signer(Arc::new(signer), None).await;
}

#[cfg(feature = "pkcs12")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pkcs12_signer_modern() {
    passes(Pkcs12Signer::open(fixtures::path("rep-rsa2048.p12"), P12_PASSWORD).unwrap()).await;
}

#[cfg(feature = "pkcs12")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pkcs12_signer_legacy() {
    passes(Pkcs12Signer::open(fixtures::path("rep-rsa2048-legacy.p12"), P12_PASSWORD).unwrap()).await;
}

#[cfg(feature = "pkcs12")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pkcs12_signer_ecdsa() {
    passes(Pkcs12Signer::open(fixtures::path("rep-ecdsa.p12"), P12_PASSWORD).unwrap()).await;
}

/// The suite must panic on a broken backend (`crpki::testing::FaultySigner`):
/// run it in a task and look at how the task ended.
async fn fails(fault: Fault) {
    let signer = Arc::new(FaultySigner::new(
        memory_signer("rep-rsa2048"),
        Some(fault.clone()),
    ));
    let root = fixtures::cert("registrar-root");
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
    fails(Fault::StrangerInChain(Box::new(fixtures::cert("other-root")))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fault_wrapper_without_a_fault_passes() {
    // So the failures above come from the faults, not from the wrapper.
    passes(FaultySigner::new(memory_signer("rep-rsa2048"), None)).await;
}
