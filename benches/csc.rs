//! The CSC client against the in-process sandbox over loopback HTTPS.
//!
//! 1. Per-signature client overhead: one-hash `signatures/signHash` through
//!    `CscClient::sign_hash` and through `CscSigner::sign_digests` (which
//!    also verifies the signature and manages the SAD), against a bare
//!    reqwest POST of the same JSON body to the same sandbox. Printed as
//!    ratios to the bare POST, measured side by side in the same run.
//! 2. Signatures per second for 1,000 digests through `CscSigner` with
//!    batch (`multisign`) sizes 1, 10 and 100: one authorization and one
//!    `signHash` per batch, as the protocol allows.
//!
//! `cargo bench --bench csc --features sandbox`
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use criterion::{Criterion, Throughput};
use crpki::auth::{HttpClient, TransportConfig, http_client};
use crpki::csc::{
    Activation, AuthorizeCall, BasicLoginSource, CscClient, CscSignAlgorithm, CscSigner, CscVersion,
    ExplicitAuthorizer, SignHashCall, SignerOptions, StaticSecrets,
};
use crpki::sandbox::{Sandbox, SandboxConfig};
use crpki::{Digest, HashAlgorithm, RemoteSigner, Secret, SignatureAlgorithm};
use serde_json::{Value, json};

const RSA: SignatureAlgorithm = SignatureAlgorithm::RSA_PKCS1_SHA256;

fn is_bench_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}

async fn start(state: &std::path::Path, multisign: u32) -> Sandbox {
    Sandbox::start(SandboxConfig {
        state_dir: Some(state.to_path_buf()),
        multisign,
        sad_ttl: Duration::from_secs(24 * 3600),
        ..Default::default()
    })
    .await
    .unwrap()
}

fn transport(sb: &Sandbox) -> HttpClient {
    http_client(&TransportConfig {
        extra_ca_pem: vec![sb.tls_ca_pem().as_bytes().to_vec()],
        trust_system_roots: false,
        ..TransportConfig::default()
    })
    .unwrap()
}

fn client(sb: &Sandbox) -> Arc<CscClient> {
    let bare = CscClient::new(transport(sb), sb.csc_base_v2(), CscVersion::V2).unwrap();
    let login = BasicLoginSource::new(
        bare.without_token_source(),
        "alice",
        Secret::new("alice-password"),
    );
    Arc::new(bare.with_token_source(Arc::new(login)))
}

async fn signer(sb: &Sandbox) -> CscSigner {
    CscSigner::new(
        client(sb),
        "alice-rsa",
        Arc::new(ExplicitAuthorizer::new(Arc::new(
            StaticSecrets::new().with("PIN", "1234"),
        ))),
        SignerOptions::default(),
    )
    .await
    .unwrap()
}

fn digests(tag: &str, n: usize) -> Vec<Digest> {
    (0..n)
        .map(|i| HashAlgorithm::Sha256.digest(format!("bench {tag} {i}").as_bytes()))
        .collect()
}

/// Everything the one-hash comparisons share.
struct Overhead {
    sb: Sandbox,
    client: Arc<CscClient>,
    signer: CscSigner,
    bare: reqwest::Client,
    token: String,
    sad: Secret,
    algorithm: CscSignAlgorithm,
    digest: Vec<Digest>,
}

impl Overhead {
    async fn setup(state: &std::path::Path) -> Self {
        let sb = start(state, u32::MAX).await;
        let client = client(&sb);
        let signer = signer(&sb).await;
        let token = client
            .token_source()
            .unwrap()
            .access_token()
            .await
            .unwrap()
            .expose()
            .to_owned();
        let pin = [("PIN".to_string(), Secret::new("1234"))];
        let sad = client
            .authorize(&AuthorizeCall {
                credential_id: "alice-rsa",
                num_signatures: u32::MAX,
                hashes: None,
                auth_data: &pin,
                description: None,
            })
            .await
            .unwrap()
            .sad;
        let ca = reqwest::Certificate::from_pem(sb.tls_ca_pem().as_bytes()).unwrap();
        let bare = reqwest::Client::builder().tls_certs_only([ca]).build().unwrap();
        let algorithm = CscSignAlgorithm::new(RSA, &[]).unwrap();
        // Warm the signer's SAD and every connection pool.
        let digest = digests("overhead", 1);
        signer.sign_digests(RSA, &digest).await.unwrap();
        let o = Self {
            sb,
            client,
            signer,
            bare,
            token,
            sad,
            algorithm,
            digest,
        };
        o.bare_post().await;
        o.client_call().await;
        o
    }

    /// The same body `CscClient::sign_hash` sends, posted with reqwest alone.
    async fn bare_post(&self) -> usize {
        let b64 = base64::engine::general_purpose::STANDARD;
        let body = json!({
            "credentialID": "alice-rsa",
            "SAD": self.sad.expose(),
            "hashes": [b64.encode(self.digest[0].as_bytes())],
            "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1",
            "signAlgo": "1.2.840.113549.1.1.11",
        });
        let v: Value = self
            .bare
            .post(format!("{}signatures/signHash", self.sb.csc_base_v2()))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["signatures"].as_array().unwrap().len()
    }

    async fn client_call(&self) -> usize {
        self.client
            .sign_hash(&SignHashCall {
                credential_id: "alice-rsa",
                activation: &Activation::Sad(self.sad.clone()),
                digests: &self.digest,
                algorithm: &self.algorithm,
            })
            .await
            .unwrap()
            .len()
    }

    async fn signer_call(&self) -> usize {
        self.signer.sign_digests(RSA, &self.digest).await.unwrap().len()
    }
}

/// Mean time per call of each of the three, run interleaved for `rounds`.
async fn side_by_side(o: &Overhead, rounds: usize) -> [Duration; 3] {
    let mut total = [Duration::ZERO; 3];
    for _ in 0..rounds {
        let t = Instant::now();
        o.bare_post().await;
        total[0] += t.elapsed();
        let t = Instant::now();
        o.client_call().await;
        total[1] += t.elapsed();
        let t = Instant::now();
        o.signer_call().await;
        total[2] += t.elapsed();
    }
    total.map(|d| d / rounds as u32)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let state = tempfile::tempdir().unwrap();
    crpki::sandbox::init_state(state.path()).unwrap();
    let mut c = Criterion::default().configure_from_args();

    // 1. Per-signature overhead.
    let o = rt.block_on(Overhead::setup(state.path()));
    {
        let mut g = c.benchmark_group("csc_one_hash");
        g.throughput(Throughput::Elements(1));
        g.bench_function("bare_reqwest_post", |b| b.to_async(&rt).iter(|| o.bare_post()));
        g.bench_function("csc_client_sign_hash", |b| {
            b.to_async(&rt).iter(|| o.client_call())
        });
        g.bench_function("csc_signer_sign_digests", |b| {
            b.to_async(&rt).iter(|| o.signer_call())
        });
        g.finish();
    }

    // 2. 1,000 digests by batch size.
    let batch = digests("throughput", 1000);
    let mut rates = Vec::new();
    for size in [1u32, 10, 100] {
        let sb = rt.block_on(start(state.path(), size));
        let s = rt.block_on(signer(&sb));
        let before = sb.stats();
        rt.block_on(s.sign_digests(RSA, &batch)).unwrap();
        let calls = sb.stats().sign_hash_calls - before.sign_hash_calls;
        assert_eq!(calls, u64::from(1000 / size), "one signHash per batch");
        let mut g = c.benchmark_group("csc_1000_digests");
        g.throughput(Throughput::Elements(1000))
            .sample_size(10)
            .measurement_time(Duration::from_secs(if size == 1 { 20 } else { 8 }));
        g.bench_function(format!("batch_{size}"), |b| {
            b.to_async(&rt)
                .iter(|| async { s.sign_digests(RSA, &batch).await.unwrap().len() })
        });
        g.finish();
        if is_bench_run() {
            let t = Instant::now();
            let runs = if size == 1 { 2 } else { 5 };
            for _ in 0..runs {
                rt.block_on(s.sign_digests(RSA, &batch)).unwrap();
            }
            rates.push((size, 1000.0 * runs as f64 / t.elapsed().as_secs_f64()));
        }
        rt.block_on(sb.shutdown());
    }
    c.final_summary();

    if !is_bench_run() {
        return;
    }
    let [bare, client, signer] = rt.block_on(side_by_side(&o, 300));
    println!("\none-hash signHash over loopback HTTPS, mean of 300 interleaved rounds:");
    println!("  bare reqwest POST        {:>8.1} µs", bare.as_secs_f64() * 1e6);
    println!(
        "  CscClient::sign_hash     {:>8.1} µs  ({:.2}× the bare POST)",
        client.as_secs_f64() * 1e6,
        client.as_secs_f64() / bare.as_secs_f64()
    );
    println!(
        "  CscSigner::sign_digests  {:>8.1} µs  ({:.2}× the bare POST; includes verifying the signature)",
        signer.as_secs_f64() * 1e6,
        signer.as_secs_f64() / bare.as_secs_f64()
    );
    println!("1,000 digests through CscSigner (one authorization + one signHash per batch):");
    for (size, rate) in rates {
        println!("  batch {size:>3}: {rate:>8.0} signatures/s");
    }
}
