//! Issue 13's goal, measured in one run: `crpki sign` (the release binary)
//! of 10,000 and 100,000 4 KiB files through `crpki sandbox serve` on
//! loopback (alice, one login, `CRPKI_PIN` set), printing files/s, the
//! process's CPU and max RSS next to the sandbox key's in-process RSA-2048
//! signing rate measured in the same run (target: files/s ≥ 0.85 × that
//! rate; RSS flat). Also: CPU of signing one file (start-up, issue 11 item
//! 17), and hashing a large file against `openssl dgst -sha256`.
//!
//! ```sh
//! cargo bench --bench pipeline
//! # the same workload with another build, side by side (before/after):
//! CRPKI_BENCH_BEFORE=/path/to/old/crpki cargo bench --bench pipeline
//! # sizes: CRPKI_BENCH_FILES=10000,100000  CRPKI_BENCH_BIG_MIB=1024
//! ```
//!
//! Needs GNU time (`/usr/bin/time`, Debian package `time`), `openssl` and
//! `curl` (the login's browser), and about 1 GiB free in `$TMPDIR` for
//! 100,000 files. The older binary gets its files on the command line (it
//! has no `--files-from`; short relative names keep that under ARG_MAX).
//! `cargo test --benches` runs a small smoke version.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use crpki::{HashAlgorithm, PrivateKey, SignatureAlgorithm};

const BIN: &str = env!("CARGO_BIN_EXE_crpki");

/// What `/usr/bin/time -f "%e %U %S %M"` says about one process.
#[derive(Clone, Copy, Debug)]
struct Usage {
    wall: f64,
    cpu: f64,
    max_rss_kib: u64,
}

struct Sandbox {
    dir: PathBuf,
    child: Child,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-INT")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

impl Sandbox {
    fn start(dir: &Path) -> Self {
        let state = dir.join("state");
        let child = Command::new(BIN)
            .args(["sandbox", "serve", "--state"])
            .arg(&state)
            .env("CRPKI_CONFIG_DIR", dir.join("config"))
            .env("CRPKI_SANDBOX_STATE", &state)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while !state.join("endpoints.toml").exists() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the sandbox did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let browser = dir.join("browser.sh");
        std::fs::write(
            &browser,
            format!(
                "#!/bin/sh\nexec curl -sS --fail --cacert '{}' -L -o /dev/null \"$1\"\n",
                state.join("tls/ca.pem").display()
            ),
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let sandbox = Self {
            dir: dir.to_path_buf(),
            child,
        };
        let out = sandbox
            .command(BIN)
            .args(["login", "--login-hint", "alice"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "login: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        sandbox
    }

    fn command(&self, bin: &str) -> Command {
        let mut cmd = Command::new(bin);
        cmd.env("CRPKI_CONFIG_DIR", self.dir.join("config"))
            .env("CRPKI_SANDBOX_STATE", self.dir.join("state"))
            .env("BROWSER", self.dir.join("browser.sh"))
            .env("CRPKI_PIN", "1234")
            .env_remove("CRPKI_PROFILE")
            .env_remove("CRPKI_LOG")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `bin ARGS` in `cwd` under GNU time.
    fn timed(&self, bin: &str, cwd: &Path, args: &[&str]) -> Usage {
        let report = self.dir.join("time.txt");
        let out = self
            .command("/usr/bin/time")
            .current_dir(cwd)
            .args(["-f", "%e %U %S %M", "-o"])
            .arg(&report)
            .arg(bin)
            .args(args)
            .output()
            .expect("GNU time must be installed (Debian package `time`)");
        assert!(
            out.status.success(),
            "{bin} {:?}: {}",
            args.first(),
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(&report).unwrap();
        let v: Vec<f64> = text.split_whitespace().filter_map(|w| w.parse().ok()).collect();
        Usage {
            wall: v[0],
            cpu: v[1] + v[2],
            max_rss_kib: v[3] as u64,
        }
    }

    /// The sandbox's own RSA-2048 key (alice's), signing in this process.
    fn key_rate(&self) -> f64 {
        let pem = std::fs::read_to_string(self.dir.join("state/credentials/alice-rsa.key.pem")).unwrap();
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = base64::engine::general_purpose::STANDARD.decode(body).unwrap();
        let key = PrivateKey::from_pkcs8_der(&der).unwrap();
        let digest = HashAlgorithm::Sha256.digest(b"benchmark document");
        support::rate(|| {
            key.sign_digest(SignatureAlgorithm::RSA_PKCS1_SHA256, &digest)
                .unwrap();
        })
    }
}

/// `n` files of 4 KiB (each different) in a new directory, and their list.
fn make_files(root: &Path, n: usize) -> (PathBuf, PathBuf) {
    let dir = root.join(format!("files-{n}"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut list = String::new();
    for i in 0..n {
        let name = format!("{i:06}");
        let mut body = format!("invoice {i}\n").into_bytes();
        body.resize(4096, b'.');
        std::fs::write(dir.join(&name), body).unwrap();
        list.push_str(&name);
        list.push('\n');
    }
    let list_path = root.join(format!("list-{n}.txt"));
    std::fs::write(&list_path, list).unwrap();
    (dir, list_path)
}

fn remove_signatures(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "p7s") {
            std::fs::remove_file(p).unwrap();
        }
    }
}

fn line(label: &str, n: usize, u: Usage, key_rate: f64) {
    let rate = n as f64 / u.wall;
    println!(
        "{label:7} {n:>7} files: {rate:>7.0} files/s = {:.2} × key rate, wall {:.2} s, CPU {:.2} s ({:.0} µs/file), max RSS {:.1} MiB",
        rate / key_rate,
        u.wall,
        u.cpu,
        u.cpu * 1e6 / n as f64,
        u.max_rss_kib as f64 / 1024.0
    );
}

fn main() {
    let full = support::is_bench_run();
    let before = std::env::var("CRPKI_BENCH_BEFORE").ok();
    let sizes: Vec<usize> = std::env::var("CRPKI_BENCH_FILES")
        .ok()
        .map(|s| s.split(',').map(|n| n.trim().parse().unwrap()).collect())
        .unwrap_or_else(|| {
            if full {
                vec![1_000, 10_000, 100_000]
            } else {
                vec![20]
            }
        });
    let big_mib: u64 = std::env::var("CRPKI_BENCH_BIG_MIB")
        .ok()
        .map(|s| s.parse().unwrap())
        .unwrap_or(if full { 1024 } else { 4 });
    let root = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start(root.path());
    let key_rate = sandbox.key_rate();
    println!("sandbox key (alice-rsa, RSA-2048 PKCS#1 v1.5) in-process: {key_rate:.0} signatures/s");
    let mut bins = vec![("after", BIN.to_owned())];
    if let Some(b) = &before {
        bins.insert(0, ("before", b.clone()));
    }

    // Start-up: one file, CPU of the whole process.
    let one = root.path().join("one.txt");
    std::fs::write(&one, "one document\n").unwrap();
    let runs = if full { 20 } else { 2 };
    for (label, bin) in &bins {
        let mut cpu = Vec::new();
        for _ in 0..runs {
            cpu.push(
                sandbox
                    .timed(bin, root.path(), &["sign", "--quiet", "one.txt"])
                    .cpu,
            );
        }
        cpu.sort_by(f64::total_cmp);
        println!(
            "{label:7} sign 1 file: CPU median {:.1} ms, min {:.1} ms ({runs} runs; GNU time has 10 ms resolution)",
            cpu[runs / 2] * 1e3,
            cpu[0] * 1e3
        );
    }

    for &n in &sizes {
        let (dir, list) = make_files(root.path(), n);
        let names: Vec<String> = (0..n).map(|i| format!("{i:06}")).collect();
        for (label, bin) in &bins {
            let usage = if *label == "before" {
                let mut args = vec!["sign", "--quiet"];
                args.extend(names.iter().map(String::as_str));
                sandbox.timed(bin, &dir, &args)
            } else {
                sandbox.timed(
                    bin,
                    &dir,
                    &["sign", "--quiet", "--files-from", list.to_str().unwrap()],
                )
            };
            line(label, n, usage, key_rate);
            remove_signatures(&dir);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
    println!(
        "sandbox key in-process again: {:.0} signatures/s",
        sandbox.key_rate()
    );

    // A large file: our hashing (sign = hash + one signature) against openssl dgst.
    let big = root.path().join("big.bin");
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
        let block: Vec<u8> = (0..1024 * 1024).map(|i| (i * 7 % 251) as u8).collect();
        for _ in 0..big_mib {
            f.write_all(&block).unwrap();
        }
    }
    let mut ours = f64::MAX;
    let mut openssl = f64::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        let out = Command::new("openssl")
            .args(["dgst", "-sha256"])
            .arg(&big)
            .output()
            .expect("openssl must be installed");
        assert!(out.status.success());
        openssl = openssl.min(started.elapsed().as_secs_f64());
        ours = ours.min(
            sandbox
                .timed(BIN, root.path(), &["sign", "--quiet", "big.bin"])
                .wall,
        );
    }
    println!(
        "{big_mib} MiB file: crpki sign {ours:.2} s, openssl dgst -sha256 {openssl:.2} s: crpki/openssl time = {:.2} (best of 3)",
        ours / openssl
    );
}
