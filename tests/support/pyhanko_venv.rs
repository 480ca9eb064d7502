//! The pinned pyHanko venv shared by tests/interop_pyhanko.rs and
//! tests/pdf.rs: the packages of `tests/support/pyhanko-requirements.txt`
//! (pyHanko, pyhanko-certvalidator, the `pyhanko` CLI) installed once per
//! set of pins into a venv under `$CRPKI_CACHE` (default `~/.cache/crpki`).
//! It needs `python3` with `venv` and `ensurepip` (Debian: `python3-venv`,
//! which `scripts/test.sh` installs) and PyPI the first time.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

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
pub fn venv_python() -> PathBuf {
    use sha2::Digest as _;
    // Tests of one binary run on threads of one process: the building
    // directory is named by the process, so they take turns here (other
    // processes build beside them under their own name).
    static BUILDING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = BUILDING.lock().unwrap_or_else(|e| e.into_inner());
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
