//! The fuzz targets' corpora, replayed on stable Rust.
//!
//! `fuzz/src/lib.rs` holds the bodies of the cargo-fuzz targets (run on
//! nightly by `scripts/fuzz.sh`); this test compiles the same file into
//! the normal test suite and feeds it every checked-in input of
//! `fuzz/corpus/TARGET/` (the seeds, and the inputs of past findings
//! kept as regressions), so that without nightly the targets still build
//! and every known input still passes.

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code, missing_docs)]
mod targets;

use std::path::Path;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .filter(|p| p.is_file())
        .map(|p| {
            let name = p.file_name().expect("file name").to_string_lossy().into_owned();
            (name, std::fs::read(&p).expect("read corpus input"))
        })
        .collect();
    inputs.sort();
    inputs
}

fn replay(target: &str) {
    let inputs = corpus(target);
    assert!(!inputs.is_empty(), "fuzz/corpus/{target}/ has no input");
    for (name, data) in &inputs {
        eprintln!("{target}: {name} ({} bytes)", data.len());
        assert!(targets::run(target, data), "unknown target {target}");
    }
}

#[test]
fn every_target_has_a_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/fuzz_targets");
    let mut binaries: Vec<String> = std::fs::read_dir(&dir)
        .expect("fuzz/fuzz_targets")
        .map(|e| e.expect("entry").path())
        .filter_map(|p| Some(p.file_stem()?.to_string_lossy().into_owned()))
        .collect();
    binaries.sort();
    assert_eq!(
        binaries,
        targets::TARGETS,
        "fuzz/fuzz_targets/ and fuzz/src/lib.rs's TARGETS differ"
    );
}

#[test]
fn cert() {
    replay("cert");
}

#[test]
fn cms_verify() {
    replay("cms_verify");
}

#[test]
fn csc_replies() {
    replay("csc_replies");
}

#[test]
fn pkcs12() {
    replay("pkcs12");
}

#[test]
fn provider() {
    replay("provider");
}
