//! CMS signing through `MemorySigner`, and streaming SHA-256 compared with
//! `openssl dgst -sha256` on the same 256 MiB file.
//!
//! Run with `cargo bench --bench cms`. The OpenSSL comparison is printed as
//! a ratio (ours / openssl, lower is better; 1.0 means as fast as OpenSSL).

use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use crpki::cms::{self, SignOptions};
use crpki::signer::digest_file;
use crpki::{Certificate, HashAlgorithm, MemorySigner, PrivateKey, RemoteSigner};

const BIG: usize = 256 * 1024 * 1024;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
}

fn memory_signer() -> MemorySigner {
    let pem = std::fs::read(fixture("rep-rsa2048.key.pem")).expect("fixture key");
    let (_, der) = der::pem::decode_vec(&pem).expect("PEM key");
    let key = PrivateKey::from_pkcs8_der(&der).expect("PKCS#8 key");
    let cert = |n: &str| Certificate::from_der(&std::fs::read(fixture(n)).expect("fixture")).expect("cert");
    MemorySigner::new(key, cert("rep-rsa2048.der"), vec![cert("registrar-root.der")]).expect("signer")
}

fn big_buffer() -> Vec<u8> {
    (0..BIG).map(|i| (i % 251) as u8).collect()
}

fn best_of_3(mut f: impl FnMut()) -> Duration {
    (0..3)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn bench_sign(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let signer = memory_signer();
    let content = b"a small document to sign, TEST\n".repeat(64);
    let options = SignOptions::default();
    c.bench_function("cms sign 2 KiB (MemorySigner, RSA-2048 PKCS#1)", |b| {
        b.to_async(&rt).iter(|| async {
            cms::sign_reader(&signer, black_box(&content[..]), &options)
                .await
                .expect("sign")
        })
    });
    let der = rt
        .block_on(cms::sign_reader(&signer, &content[..], &options))
        .expect("sign");
    let roots = [signer.chain()[0].clone()];
    c.bench_function("cms verify 2 KiB", |b| {
        b.iter(|| cms::verify_detached(black_box(&der), &content[..], &roots, None).expect("verify"))
    });
}

fn bench_sha256(c: &mut Criterion) {
    let buffer = big_buffer();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("big.bin");
    {
        let mut f = std::fs::File::create(&path).expect("create");
        f.write_all(&buffer).expect("write");
        f.sync_all().expect("sync");
    }

    let mut group = c.benchmark_group("sha256 256 MiB");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Bytes(BIG as u64));
    group.bench_function("buffer (Hasher::update)", |b| {
        b.iter(|| HashAlgorithm::Sha256.digest(black_box(&buffer)))
    });
    group.bench_function("file (digest_file)", |b| {
        b.iter(|| digest_file(HashAlgorithm::Sha256, black_box(&path)).expect("digest"))
    });
    group.finish();
    drop(buffer);

    // Same file, same page cache, timed the same way for both.
    let ours = best_of_3(|| {
        black_box(digest_file(HashAlgorithm::Sha256, &path).expect("digest"));
    });
    let mut expected = String::new();
    let openssl = best_of_3(|| {
        let out = Command::new("openssl")
            .args(["dgst", "-sha256", "-r"])
            .arg(&path)
            .output()
            .expect("openssl");
        assert!(out.status.success(), "openssl dgst failed");
        expected = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_string();
    });
    let ours_hex = hex::encode(
        digest_file(HashAlgorithm::Sha256, &path)
            .expect("digest")
            .as_bytes(),
    );
    assert_eq!(ours_hex, expected, "digest_file and openssl disagree");
    let mib_s = |d: Duration| BIG as f64 / (1024.0 * 1024.0) / d.as_secs_f64();
    println!(
        "sha256 of a 256 MiB file, best of 3: digest_file {:.0} ms ({:.0} MiB/s), openssl dgst {:.0} ms ({:.0} MiB/s, \
         process included); ratio ours/openssl = {:.2}",
        ours.as_secs_f64() * 1e3,
        mib_s(ours),
        openssl.as_secs_f64() * 1e3,
        mib_s(openssl),
        ours.as_secs_f64() / openssl.as_secs_f64()
    );
}

criterion_group!(benches, bench_sign, bench_sha256);
criterion_main!(benches);
