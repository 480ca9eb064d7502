//! PDF signing rate (issue 16), measured in one run against the CMS rate of
//! the same files: a batch of 100 PDFs signed through an in-process sandbox
//! (HTTPS on 127.0.0.1, alice's `alice-rsa` credential over CSC v2, one
//! authorization per batch) as PAdES B-B and B-T (the sandbox's TSA, one
//! token per PDF), and the same 100 files signed as detached CMS (`.p7s`).
//! Prints PDFs/s, files/s and the ratios; not a test, no assertion.
//!
//! ```sh
//! cargo bench --bench pdf            # CRPKI_BENCH_PDFS=100 CRPKI_BENCH_ROUNDS=3
//! ```
#![allow(clippy::unwrap_used)]

#[path = "../tests/csc_support/mod.rs"]
mod csc_support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crpki::cms::{self, Existing, OutputBatch};
use crpki::csc::CscVersion;
use crpki::pdf::{self, Level, PdfJob, SignOptions};
use crpki::{HashAlgorithm, RemoteSigner};

/// A one-page PDF of about `kib` KiB (a content stream of text lines).
fn pdf_of(i: usize, kib: usize) -> Vec<u8> {
    let mut content = String::from("BT /F1 10 Tf 72 760 Td\n");
    while content.len() < kib * 1024 {
        content.push_str(&format!("(Contract {i}, clause {}) Tj 0 -12 Td\n", content.len()));
    }
    content.push_str("ET");
    let objs = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".into(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"
            .into(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".into(),
    ];
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (n, o) in objs.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", n + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(b"xref\n0 6\n0000000000 65535 f \n");
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
    );
    out
}

async fn cms_batch(signer: &dyn RemoteSigner, inputs: &[PathBuf]) {
    let outs: Vec<PathBuf> = inputs.iter().map(|p| p.with_extension("pdf.p7s")).collect();
    let batch = OutputBatch::prepare(outs.iter().map(PathBuf::as_path), Existing::Replace).unwrap();
    let digests: Vec<_> = inputs
        .iter()
        .map(|p| crpki::crypto::digest_file(HashAlgorithm::Sha256, p).unwrap())
        .collect();
    let sigs = cms::sign_digests(signer, &digests, &cms::SignOptions::default())
        .await
        .unwrap();
    batch.commit(&sigs).unwrap();
}

fn rate(n: usize, secs: f64) -> f64 {
    n as f64 / secs
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n: usize = std::env::var("CRPKI_BENCH_PDFS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let rounds: usize = std::env::var("CRPKI_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let sb = csc_support::sandbox().await;
    let signer = csc_support::signer(&sb, CscVersion::V2, "alice", "alice-rsa", Default::default()).await;
    let http = csc_support::http(&sb);
    let tsa = crpki::tsp::TsaClient::new(http, &sb.tsa_url(), Some(vec![sb.tsa_root().clone()])).unwrap();
    let bt = SignOptions {
        level: Level::BT,
        tsa: Some(Arc::new(tsa)),
        ..SignOptions::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let inputs: Vec<PathBuf> = (0..n)
        .map(|i| {
            let p = dir.path().join(format!("doc{i:04}.pdf"));
            std::fs::write(&p, pdf_of(i, 32)).unwrap();
            p
        })
        .collect();
    let jobs: Vec<PdfJob> = inputs
        .iter()
        .map(|p| PdfJob::new(p, PdfJob::default_output(p)))
        .collect();
    let size = std::fs::metadata(&inputs[0]).unwrap().len();
    println!(
        "{n} PDFs of {size} bytes, {rounds} rounds, best round shown; sandbox on loopback, alice-rsa (RSA-2048)"
    );

    let mut best = [f64::MAX; 3];
    for _ in 0..rounds {
        let t = Instant::now();
        cms_batch(&signer, &inputs).await;
        best[0] = best[0].min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        pdf::sign_files(&signer, &jobs, &SignOptions::default())
            .await
            .unwrap();
        best[1] = best[1].min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        pdf::sign_files(&signer, &jobs, &bt).await.unwrap();
        best[2] = best[2].min(t.elapsed().as_secs_f64());
    }
    let cms_rate = rate(n, best[0]);
    println!("CMS (.p7s)      {:8.1} files/s  ({:.3} s)", cms_rate, best[0]);
    for (name, secs) in [("PAdES B-B", best[1]), ("PAdES B-T", best[2])] {
        let r = rate(n, secs);
        println!(
            "{name:<15} {r:8.1} PDFs/s   ({secs:.3} s)  = {:.2} x the CMS rate",
            r / cms_rate
        );
    }
    check(&jobs[0].output);
    sb.shutdown().await;
}

/// The last output is a signed PDF (a sanity check, not a test).
fn check(out: &Path) {
    let bytes = std::fs::read(out).unwrap();
    assert!(bytes.windows(12).any(|w| w == b"/ByteRange ["));
}
