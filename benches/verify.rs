//! RSA-2048 PKCS#1 v1.5 SHA-256 signature verification through
//! `PublicKey::verify_digest`, against `openssl speed rsa2048`'s verify/s.
//!
//! `cargo bench --bench verify`

mod support;

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use crpki::{HashAlgorithm, RemoteSigner, SignatureAlgorithm};

fn main() {
    let signer = support::rsa2048_signer();
    let public = signer.certificate().public_key().expect("fixture public key");
    let algorithm = SignatureAlgorithm::RSA_PKCS1_SHA256;
    let digest = HashAlgorithm::Sha256.digest(b"benchmark document");
    let signature = signer
        .private_key()
        .sign_digest(algorithm, &digest)
        .expect("fixture signs");
    let verify = || {
        public
            .verify_digest(algorithm, black_box(&digest), black_box(&signature))
            .expect("signature verifies")
    };

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("verify");
    group.throughput(Throughput::Elements(1));
    group.bench_function("rsa2048_pkcs1_sha256", |b| b.iter(verify));
    group.finish();
    c.final_summary();

    if !support::is_bench_run() {
        return;
    }
    match support::openssl_speed_rsa2048() {
        Ok((_, openssl_verify)) => {
            let ours = support::rate(verify);
            support::report("RSA-2048 verify", ours, openssl_verify);
        }
        Err(why) => println!("skipping the openssl comparison: {why}"),
    }
}
