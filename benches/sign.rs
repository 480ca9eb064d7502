//! RSA-2048 PKCS#1 v1.5 SHA-256 signing through `PrivateKey::sign_digest`
//! and `MemorySigner::sign_digests`, against `openssl speed rsa2048`'s sign/s.
//!
//! `cargo bench --bench sign`

mod support;

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use crpki::{HashAlgorithm, RemoteSigner, SignatureAlgorithm};

fn main() {
    let signer = support::rsa2048_signer();
    let algorithm = SignatureAlgorithm::RSA_PKCS1_SHA256;
    let digest = HashAlgorithm::Sha256.digest(b"benchmark document");
    let batch = [digest.clone()];
    let key = signer.private_key();
    let sign = || {
        key.sign_digest(algorithm, black_box(&digest))
            .expect("fixture signs")
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("sign");
    group.throughput(Throughput::Elements(1));
    group.bench_function("private_key_rsa2048_pkcs1_sha256", |b| b.iter(sign));
    group.bench_function("memory_signer_rsa2048_pkcs1_sha256", |b| {
        b.to_async(&runtime).iter(|| async {
            signer
                .sign_digests(algorithm, black_box(&batch))
                .await
                .expect("fixture signs")
        })
    });
    group.finish();
    c.final_summary();

    if !support::is_bench_run() {
        return;
    }
    match support::openssl_speed_rsa2048() {
        Ok((openssl_sign, _)) => {
            let ours = support::rate(|| {
                sign();
            });
            support::report("RSA-2048 sign", ours, openssl_sign);
        }
        Err(why) => println!("skipping the openssl comparison: {why}"),
    }
}
