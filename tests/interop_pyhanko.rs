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

use std::path::{Path, PathBuf};
use std::process::Command;

use crpki::sandbox::{Sandbox, SandboxConfig};

const SCRIPT: &str = "tests/support/pyhanko_csc.py";
const REQUIREMENTS: &str = "tests/support/pyhanko-requirements.txt";

fn cache_dir() -> PathBuf {
    match std::env::var_os("CRPKI_CACHE") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => directories::BaseDirs::new()
            .map(|b| b.home_dir().join(".cache/crpki"))
            .unwrap_or_else(|| std::env::temp_dir().join("crpki-cache")),
    }
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The venv's python, the venv made first when missing. The venv's name
/// carries a hash of the pins, so a new pin makes a new venv; it is built
/// beside its final place and renamed into it, so that a test run that
/// stops halfway, or two that run at once, never leave a broken one.
fn venv_python() -> PathBuf {
    use sha2::Digest as _;
    let pins = std::fs::read(REQUIREMENTS).unwrap();
    let tag = hex::encode(&sha2::Sha256::digest(&pins)[..6]);
    let venv = cache_dir().join(format!("pyhanko-venv-{tag}"));
    let python = venv.join("bin/python");
    if python.exists() && venv.join(".complete").exists() {
        return python;
    }
    std::fs::create_dir_all(cache_dir()).unwrap();
    let building = cache_dir().join(format!(".pyhanko-venv-{tag}.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&building);
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&building)
        .output();
    match made {
        Ok(o) if o.status.success() => {}
        other => panic!(
            "python3 -m venv failed ({other:?}): install python3 and python3-venv \
             (`apt-get install python3-venv`; scripts/test.sh does it)"
        ),
    }
    run(
        Command::new(building.join("bin/python"))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(REQUIREMENTS),
        "pip install of the pinned pyHanko (needs PyPI the first time)",
    );
    std::fs::write(building.join(".complete"), b"").unwrap();
    // The venv's scripts name their directory: rename and keep that
    // working by calling `bin/python` only (its path is resolved at run
    // time from the interpreter's location).
    if std::fs::rename(&building, &venv).is_err() {
        // Another run finished first; use its venv.
        let _ = std::fs::remove_dir_all(&building);
    }
    assert!(
        venv.join(".complete").exists(),
        "no complete venv at {}",
        venv.display()
    );
    python
}

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
