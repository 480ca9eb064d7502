//! What the benches share: the fixture signer, a plain timed loop, and
//! `openssl speed` as the yardstick.
#![allow(dead_code)] // each bench uses a different part

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use crpki::MemorySigner;

/// How long the side-by-side loop runs (as long as `openssl speed -seconds 3`).
pub const COMPARE_FOR: Duration = Duration::from_secs(3);

/// `cargo bench` passes `--bench`; `cargo test --benches` does not, and then
/// criterion runs each bench once and the openssl comparison is skipped.
pub fn is_bench_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn fixture_text(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The RSA-2048 fixture signer (`fixtures/rep-rsa2048.*`).
pub fn rsa2048_signer() -> MemorySigner {
    MemorySigner::from_pem(
        &fixture_text("rep-rsa2048.key.pem"),
        &fixture_text("rep-rsa2048.pem"),
        &fixture_text("registrar-root.pem"),
    )
    .expect("fixture signer")
}

/// Operations per second of `op`, run back to back for `COMPARE_FOR`.
pub fn rate(mut op: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut count = 0u64;
    while start.elapsed() < COMPARE_FOR {
        op();
        count += 1;
    }
    count as f64 / start.elapsed().as_secs_f64()
}

/// RSA-2048 `(sign/s, verify/s)` from `openssl speed -seconds 3 rsa2048`,
/// or why it could not be had.
pub fn openssl_speed_rsa2048() -> Result<(f64, f64), String> {
    let out = Command::new("openssl")
        .args(["speed", "-seconds", "3", "rsa2048"])
        .output()
        .map_err(|e| format!("openssl is not available ({e})"))?;
    if !out.status.success() {
        return Err(format!(
            "openssl speed failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    parse_speed(&String::from_utf8_lossy(&out.stdout))
        .ok_or_else(|| "no 'rsa 2048 bits' line in openssl speed's output".to_owned())
}

/// Reads `rsa 2048 bits 0.000247s 0.000016s   4048.9  60932.0`: the last
/// two columns are sign/s and verify/s.
fn parse_speed(text: &str) -> Option<(f64, f64)> {
    let line = text
        .lines()
        .find(|l| l.starts_with("rsa") && l.contains("2048 bits"))?;
    let numbers: Vec<f64> = line.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    match numbers.as_slice() {
        [.., sign, verify] => Some((*sign, *verify)),
        _ => None,
    }
}

/// Prints ours against openssl's figure.
pub fn report(what: &str, ours: f64, openssl: f64) {
    println!(
        "{what}: crpki {ours:.0}/s, openssl speed {openssl:.0}/s, crpki/openssl = {:.2}",
        ours / openssl
    );
}
