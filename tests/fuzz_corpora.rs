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

#[test]
fn revocation() {
    replay("revocation");
}

#[test]
fn tsp() {
    replay("tsp");
}

fn seed(target: &str, name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The seeds lead the targets past the first checks: the fuzzer starts
/// from inputs that verify, open and decode.
#[test]
fn seeds_reach_the_success_paths() {
    use crpki::csc::CscVersion;
    use crpki::csc::wire::replies;

    let roots = [crpki::Certificate::from_der(&seed("cert", "seed-registrar-root.der")).unwrap()];
    let at = Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_893_456_000));
    for name in [
        "seed-rsa.p7s",
        "seed-rsa-chain.p7s",
        "seed-rsa-noattr.p7s",
        "seed-rsa-pss.p7s",
        "seed-ecdsa.p7s",
    ] {
        let sig = seed("cms_verify", name);
        crpki::cms::verify_detached(&sig, targets::CMS_CONTENT, &roots, at)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    for name in [
        "seed-rep-rsa2048.p12",
        "seed-rep-rsa2048-legacy.p12",
        "seed-rep-ecdsa.p12",
    ] {
        crpki::Pkcs12Signer::from_bytes(&seed("pkcs12", name), targets::PKCS12_PASSWORD)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let body = |name: &str| seed("csc_replies", name)[1..].to_vec();
    let service = "RSSP seeds";
    replies::info(service, &body("seed-info.bin")).unwrap();
    replies::token(service, &body("seed-token.bin")).unwrap();
    replies::credentials_list(service, &body("seed-list.bin")).unwrap();
    let listed = replies::listed_descriptions(service, &body("seed-list-infos.bin")).unwrap();
    assert_eq!(listed.unwrap().len(), 1);
    for (name, version) in [
        ("seed-info-v2.bin", CscVersion::V2),
        ("seed-info-v1.bin", CscVersion::V1),
    ] {
        let d = replies::credential_info(version, service, "c1", &body(name)).unwrap();
        assert!(d.certificate.is_some(), "{name}");
    }
    replies::sad(service, "credentials/authorize", &body("seed-sad.bin")).unwrap();
    assert_eq!(
        replies::signatures(service, &body("seed-signatures.bin"), 1)
            .unwrap()
            .len(),
        1
    );
    let refusal = replies::refusal(service, "signatures/signHash", 400, &body("seed-error.bin"));
    assert!(refusal.to_string().contains("bad hash"), "{refusal}");
}

/// The `tsp` seeds are what openssl's TSA writes, and crpki reads them.
#[test]
fn tsp_seeds_reach_the_success_paths() {
    let reply = crpki::tsp::parse_reply(&seed("tsp", "seed-reply-sha256.tsr")).unwrap();
    let token = reply.token.expect("a granted reply has a token");
    let ts = crpki::tsp::read_token(&token).unwrap();
    assert_eq!(ts.accuracy, Some(std::time::Duration::from_millis(1500)));
    crpki::tsp::check_token(&token, &ts.imprint, None).unwrap();
    crpki::tsp::read_token(&seed("tsp", "seed-token.der")).unwrap();
    crpki::tsp::parse_request(&seed("tsp", "seed-request.tsq")).unwrap();
    let rejection = crpki::tsp::parse_reply(&seed("tsp", "seed-rejection.tsr")).unwrap();
    assert_eq!(rejection.status, crpki::tsp::PkiStatus::Rejection);
    assert_eq!(rejection.failures, vec!["badAlg".to_string()]);
}
