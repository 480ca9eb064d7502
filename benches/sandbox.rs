//! signHash throughput of the sandbox on loopback HTTPS (1 and 16 client
//! tasks, batches of 1 and 100 hashes) against the raw RSA-2048 signing
//! rate of the same key in-process (`PrivateKey::sign_digest`). The sandbox
//! must not be what limits client benchmarks: the printed ratio says how
//! close to the raw key rate it gets.
//!
//! `cargo bench --bench sandbox --features sandbox`
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use crpki::sandbox::{Sandbox, SandboxConfig};
use crpki::{HashAlgorithm, PrivateKey, SignatureAlgorithm};
use serde_json::{Value, json};

struct Bench {
    sb: Sandbox,
    http: reqwest::Client,
    token: String,
    sad: String,
    key: PrivateKey,
}

async fn setup() -> Bench {
    let sb = Sandbox::start(SandboxConfig {
        multisign: u32::MAX,
        sad_ttl: Duration::from_secs(24 * 3600),
        ..Default::default()
    })
    .await
    .unwrap();
    // The same key, read from the sandbox's state directory, for the in-process baseline.
    let pem = std::fs::read_to_string(sb.state_dir().join("credentials/alice-rsa.key.pem")).unwrap();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let key =
        PrivateKey::from_pkcs8_der(&base64::engine::general_purpose::STANDARD.decode(body).unwrap()).unwrap();
    let ca = reqwest::Certificate::from_pem(sb.tls_ca_pem().as_bytes()).unwrap();
    let http = reqwest::Client::builder().tls_certs_only([ca]).build().unwrap();
    let r: Value = http
        .post(format!("{}auth/login", sb.csc_base_v2()))
        .basic_auth("alice", Some("alice-password"))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = r["access_token"].as_str().unwrap().to_string();
    let r: Value = http
        .post(format!("{}credentials/authorize", sb.csc_base_v2()))
        .bearer_auth(&token)
        .json(&json!({"credentialID": "alice-rsa", "numSignatures": u32::MAX, "authData": [{"id": "PIN", "value": "1234"}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sad = r["SAD"].as_str().unwrap().to_string();
    Bench {
        sb,
        http,
        token,
        sad,
        key,
    }
}

async fn sign_call(b: &Bench, hashes: &[String]) {
    let r = b
        .http
        .post(format!("{}signatures/signHash", b.sb.csc_base_v2()))
        .bearer_auth(&b.token)
        .json(&json!({"credentialID": "alice-rsa", "SAD": b.sad, "hashes": hashes, "signAlgo": "1.2.840.113549.1.1.11"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["signatures"].as_array().unwrap().len(), hashes.len());
}

fn hashes(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let d = HashAlgorithm::Sha256.digest(format!("bench {i}").as_bytes());
            base64::engine::general_purpose::STANDARD.encode(d.as_bytes())
        })
        .collect()
}

/// Signatures per second over `dur` with `tasks` concurrent clients sending batches of `batch`.
async fn sandbox_rate(b: &Arc<Bench>, tasks: usize, batch: usize, dur: Duration) -> f64 {
    let start = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let b = Arc::clone(b);
        handles.push(tokio::spawn(async move {
            let h = hashes(batch);
            let mut n = 0usize;
            while start.elapsed() < dur {
                sign_call(&b, &h).await;
                n += batch;
            }
            n
        }));
    }
    let mut total = 0;
    for h in handles {
        total += h.await.unwrap();
    }
    total as f64 / start.elapsed().as_secs_f64()
}

fn raw_rate(key: &PrivateKey, threads: usize, dur: Duration) -> f64 {
    let digest = HashAlgorithm::Sha256.digest(b"bench");
    let start = Instant::now();
    let total: usize = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut n = 0;
                    while start.elapsed() < dur {
                        key.sign_digest(SignatureAlgorithm::RSA_PKCS1_SHA256, &digest)
                            .unwrap();
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).sum()
    });
    total as f64 / start.elapsed().as_secs_f64()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let b = Arc::new(rt.block_on(setup()));
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);

    let mut g = c.benchmark_group("sandbox_signHash");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    let digest = HashAlgorithm::Sha256.digest(b"bench");
    g.throughput(Throughput::Elements(1));
    g.bench_function("in_process_sign_digest_rsa2048", |bn| {
        bn.iter(|| {
            b.key
                .sign_digest(SignatureAlgorithm::RSA_PKCS1_SHA256, &digest)
                .unwrap()
        })
    });
    for (tasks, batch) in [(1usize, 1usize), (1, 100), (16, 1), (16, 100)] {
        g.throughput(Throughput::Elements((tasks * batch) as u64));
        let h = hashes(batch);
        g.bench_function(format!("https_{tasks}_tasks_batch_{batch}"), |bn| {
            bn.to_async(&rt).iter(|| {
                let b = Arc::clone(&b);
                let h = h.clone();
                async move {
                    let mut js = Vec::new();
                    for _ in 0..tasks {
                        let b = Arc::clone(&b);
                        let h = h.clone();
                        js.push(tokio::spawn(async move { sign_call(&b, &h).await }));
                    }
                    for j in js {
                        j.await.unwrap();
                    }
                }
            })
        });
    }
    g.finish();

    // The summary the issue asks for: signatures per second and the ratio
    // to the raw key rate on all cores (the sandbox's own ceiling).
    let dur = Duration::from_secs(3);
    let raw1 = raw_rate(&b.key, 1, dur);
    let raw_all = raw_rate(&b.key, cores, dur);
    println!(
        "\nraw RSA-2048 sign_digest in-process: {raw1:.0}/s on 1 thread, {raw_all:.0}/s on {cores} threads"
    );
    for (tasks, batch) in [(1usize, 1usize), (1, 100), (16, 1), (16, 100)] {
        let r = rt.block_on(sandbox_rate(&b, tasks, batch, dur));
        println!(
            "sandbox signHash over HTTPS, {tasks:>2} client task(s), batch {batch:>3}: {r:>7.0} signatures/s = {:>5.1}% of the raw rate on {cores} threads",
            100.0 * r / raw_all
        );
    }
    let b = Arc::try_unwrap(b).ok().unwrap();
    rt.block_on(b.sb.shutdown());
}

criterion_group!(benches, bench);
criterion_main!(benches);
