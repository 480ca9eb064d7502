//! Interop with an independent CSC client: pyHanko's `CSCSigner` signs a
//! PDF through the sandbox's `/csc/v1/` (token from `auth/login` with
//! HTTP Basic, `credentials/info`, `credentials/authorize` with the PIN,
//! `signatures/signHash`), and pyHanko's own validator checks the result
//! against the sandbox's registrar root, once with PKCS#1 v1.5 and once
//! with RSASSA-PSS (pyHanko asks for the largest salt: 222 bytes with
//! RSA-2048 and SHA-256).
//!
//! The test installs what it needs itself: the pinned packages of
//! `tests/support/pyhanko-requirements.txt` into a venv under
//! `$CRPKI_CACHE` (default `~/.cache/crpki`), made once per set of pins.
//! It needs `python3` with `venv` and `ensurepip` (Debian: `python3-venv`,
//! which `scripts/test.sh` installs) and PyPI the first time.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use crpki::sandbox::{Sandbox, SandboxConfig};

#[path = "support/pyhanko_venv.rs"]
mod pyhanko_venv;
use pyhanko_venv::venv_python;

const SCRIPT: &str = "tests/support/pyhanko_csc.py";
struct Outcome {
    report: serde_json::Value,
    pdf: Vec<u8>,
}

fn sign_with_pyhanko(sb: &Sandbox, python: &Path, pss: bool) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("signed.pdf");
    let mut cmd = Command::new(python);
    cmd.arg(SCRIPT)
        .arg("--base")
        .arg(sb.base_url().trim_end_matches('/'))
        .arg("--tls-ca")
        .arg(sb.tls_ca_path())
        .arg("--root")
        .arg(sb.state_dir().join("registrar-root.pem"))
        .args(["--user", "alice", "--password", "alice-password"])
        .args(["--credential", "alice-rsa", "--pin", "1234"])
        .arg("--out")
        .arg(&out)
        .env("PYTHONWARNINGS", "ignore");
    if pss {
        cmd.arg("--pss");
    }
    let o = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "pyHanko (pss: {pss}) failed ({}):\n{stdout}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    Outcome {
        report,
        pdf: std::fs::read(&out).unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyhanko_signs_a_pdf_through_csc_v1_and_validates_it() {
    let python = tokio::task::spawn_blocking(venv_python).await.unwrap();
    let state = tempfile::tempdir().unwrap();
    crpki::sandbox::init_state(state.path()).unwrap();
    let sb = Sandbox::start(SandboxConfig {
        state_dir: Some(state.path().to_path_buf()),
        ..Default::default()
    })
    .await
    .unwrap();

    for pss in [false, true] {
        let before = sb.stats();
        let python = python.clone();
        let sbr = &sb;
        let outcome = tokio::task::block_in_place(|| sign_with_pyhanko(sbr, &python, pss));
        let r = &outcome.report;
        assert_eq!(r["bottom_line"], true, "pss {pss}: {r}");
        assert_eq!(r["intact"], true, "{r}");
        assert_eq!(r["valid"], true, "{r}");
        assert_eq!(r["trusted"], true, "{r}");
        assert_eq!(r["coverage"], "SignatureCoverageLevel.ENTIRE_FILE", "{r}");
        assert!(r["signer_subject"].as_str().unwrap().contains("TEST"), "{r}");
        if pss {
            assert_eq!(r["signature_algorithm"], "rsassa_pss", "{r}");
            assert_eq!(
                r["pss_salt_length"], 222,
                "pyHanko asks for the largest salt: {r}"
            );
        } else {
            assert_eq!(r["signature_algorithm"], "sha256_rsa", "{r}");
        }
        assert!(outcome.pdf.starts_with(b"%PDF-"), "not a PDF");
        let d = sb.stats();
        assert_eq!(
            d.sign_hash_calls - before.sign_hash_calls,
            1,
            "one signHash per PDF"
        );
        assert_eq!(d.signatures - before.signatures, 1);
    }
    sb.shutdown().await;
}
