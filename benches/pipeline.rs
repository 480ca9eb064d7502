//! Issue 13's goal, measured in one run: `crpki sign` (the release binary)
//! of 1,000, 10,000 and 100,000 4 KiB files through `crpki sandbox serve`
//! on loopback (alice, one login, `CRPKI_PIN` set), printing files/s, the
//! process's CPU and max RSS next to the sandbox key's in-process RSA-2048
//! signing rate, measured in the same run right before each repetition
//! (target: files/s ≥ 0.85 × that rate; RSS at 100,000 within 10 % of
//! RSS at 1,000). Also: the CPU of a whole `crpki sign` of one file (an
//! upper bound of start-up to the first request; goal ≤ 10 ms), and
//! hashing a large file against `openssl dgst -sha256`.
//!
//! ```sh
//! scripts/bench-pipeline.sh          # the same, one command (release build)
//! cargo bench --bench pipeline
//! # the same workload with another build, side by side (before/after):
//! CRPKI_BENCH_BEFORE=/path/to/old/crpki cargo bench --bench pipeline
//! # sizes, repetitions, large file:
//! CRPKI_BENCH_FILES=10000,100000 CRPKI_BENCH_REPEAT=5 CRPKI_BENCH_BIG_MIB=1024 cargo bench --bench pipeline
//! ```
//!
//! Every figure is printed with the load average at that moment; each
//! measurement is repeated (`CRPKI_BENCH_REPEAT`, default 3) and summed up
//! as best and median. Ratios, never absolute figures, are what compares
//! across machines; nothing is asserted.
//!
//! Needs GNU time (`/usr/bin/time`, Debian package `time`), `openssl` and
//! `curl` (the login's browser), and about 4 GiB free in `$TMPDIR` (every
//! run signs its own fresh files, see `make_files`; all are deleted at the
//! end). The older binary gets its files on the command line (it
//! may have no `--files-from`; short relative names keep that under
//! ARG_MAX). `cargo test --benches` runs a small smoke version.
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

    /// Runs `program ARGS` in `cwd` under GNU time.
    fn timed(&self, program: &str, cwd: &Path, args: &[&str]) -> Usage {
        let report = self.dir.join("time.txt");
        let out = self
            .command("/usr/bin/time")
            .current_dir(cwd)
            .args(["-f", "%e %U %S %M", "-o"])
            .arg(&report)
            .arg(program)
            .args(args)
            .output()
            .expect("GNU time must be installed (Debian package `time`)");
        assert!(
            out.status.success(),
            "{program} {:?}: {}",
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

    /// The sandbox's own RSA-2048 key (alice's), signing in this process
    /// on one thread.
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

/// The load average (1, 5, 15 minutes) now: other work on the machine
/// takes CPU from the sandbox and the client alike.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "n/a".into())
}

/// `(best, median)` of `values`; `higher_is_better` chooses "best".
fn best_median(values: &[f64], higher_is_better: bool) -> (f64, f64) {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let best = if higher_is_better { v[v.len() - 1] } else { v[0] };
    (best, v[v.len() / 2])
}

/// `n` files of 4 KiB (each different) in a new directory named after
/// `tag`, and their list; then `sync`, so that writing them back does not
/// fall into the measurement.
///
/// Every run gets its own files and nothing is deleted until the end: on
/// an ext4 without a journal, creating a file skips every inode deleted in
/// the last minute or more (`recently_deleted`), so signing right after
/// deleting the previous run's outputs costs several times the system CPU
/// of signing fresh files, which is not what a pipeline meets.
fn make_files(root: &Path, n: usize, tag: &str) -> (PathBuf, PathBuf) {
    let dir = root.join(format!("files-{n}-{tag}"));
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
    let list_path = root.join(format!("list-{n}-{tag}.txt"));
    std::fs::write(&list_path, list).unwrap();
    let _ = Command::new("sync").status();
    (dir, list_path)
}

/// One run of one binary over `n` files.
#[derive(Clone, Copy)]
struct Run {
    rate: f64,
    ratio: f64,
    cpu_us: f64,
    rss_mib: f64,
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
    let repeat: usize = std::env::var("CRPKI_BENCH_REPEAT")
        .ok()
        .map(|s| s.parse().unwrap())
        .unwrap_or(if full { 3 } else { 1 })
        .max(1);
    let big_mib: u64 = std::env::var("CRPKI_BENCH_BIG_MIB")
        .ok()
        .map(|s| s.parse().unwrap())
        .unwrap_or(if full { 1024 } else { 4 });
    let root = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start(root.path());
    println!(
        "machine: {} CPUs; load {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load()
    );
    let mut bins = vec![("after", BIN.to_owned())];
    if let Some(b) = &before {
        bins.insert(0, ("before", b.clone()));
    }

    // Start-up: the CPU of a whole `crpki sign` of one small file (start-up,
    // profile, token, one authorization and one signHash, writing), as the
    // CPU of a shell loop of 50 such processes divided by 50 (GNU time's
    // 10 ms resolution shrinks to 0.2 ms).
    let one = root.path().join("one.txt");
    std::fs::write(&one, "one document\n").unwrap();
    let per_loop = if full { 50 } else { 2 };
    let script = format!(
        "i=0; while [ $i -lt {per_loop} ]; do \"$0\" sign --quiet one.txt || exit 1; i=$((i+1)); done"
    );
    for (label, bin) in &bins {
        let mut ms = Vec::new();
        for _ in 0..repeat {
            let u = sandbox.timed("sh", root.path(), &["-c", &script, bin]);
            let each = u.cpu * 1e3 / per_loop as f64;
            println!(
                "{label:7} sign 1 file: {each:.2} ms CPU per process ({per_loop} processes; load {})",
                load()
            );
            ms.push(each);
        }
        let (best, median) = best_median(&ms, false);
        println!("{label:7} sign 1 file: CPU best {best:.2} ms, median {median:.2} ms (goal ≤ 10 ms)");
    }

    let mut rss_by_size: Vec<(&str, usize, f64)> = Vec::new();
    for &n in &sizes {
        let names: Vec<String> = (0..n).map(|i| format!("{i:06}")).collect();
        let mut runs: Vec<Vec<Run>> = vec![Vec::new(); bins.len()];
        for rep in 0..repeat {
            let key_rate = sandbox.key_rate();
            println!(
                "sandbox key (alice-rsa, RSA-2048 PKCS#1 v1.5) in-process, one thread: {key_rate:.0} signatures/s (load {})",
                load()
            );
            for (b, (label, bin)) in bins.iter().enumerate() {
                let (dir, list) = make_files(root.path(), n, &format!("{label}-{rep}"));
                let u = if *label == "before" {
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
                let run = Run {
                    rate: n as f64 / u.wall,
                    ratio: n as f64 / u.wall / key_rate,
                    cpu_us: u.cpu * 1e6 / n as f64,
                    rss_mib: u.max_rss_kib as f64 / 1024.0,
                };
                println!(
                    "{label:7} {n:>7} files #{}: {:>6.0} files/s = {:.2} × key rate, wall {:.2} s, CPU {:.2} s ({:.0} µs/file), max RSS {:.1} MiB (load {})",
                    rep + 1,
                    run.rate,
                    run.ratio,
                    u.wall,
                    u.cpu,
                    run.cpu_us,
                    run.rss_mib,
                    load()
                );
                runs[b].push(run);
            }
        }
        for (b, (label, _)) in bins.iter().enumerate() {
            let pick = |f: fn(&Run) -> f64, hi| best_median(&runs[b].iter().map(f).collect::<Vec<_>>(), hi);
            let (rate_best, rate_median) = pick(|r| r.rate, true);
            let (ratio_best, ratio_median) = pick(|r| r.ratio, true);
            let (cpu_best, cpu_median) = pick(|r| r.cpu_us, false);
            let (rss_best, rss_median) = pick(|r| r.rss_mib, false);
            println!(
                "{label:7} {n:>7} files, {repeat} runs: files/s best {rate_best:.0} median {rate_median:.0}; × key rate best {ratio_best:.2} median {ratio_median:.2} (goal ≥ 0.85); CPU µs/file best {cpu_best:.0} median {cpu_median:.0}; max RSS MiB best {rss_best:.1} median {rss_median:.1}"
            );
            rss_by_size.push((label, n, rss_median));
        }
    }
    for (label, _) in &bins {
        let mine: Vec<_> = rss_by_size.iter().filter(|(l, _, _)| l == label).collect();
        if let Some((_, n0, base)) = mine.first() {
            for (_, n, rss) in &mine[1..] {
                println!(
                    "{label:7} max RSS at {n} files / at {n0} files (medians): {:.2} (goal ≤ 1.10)",
                    rss / base
                );
            }
        }
    }

    // A large file: our hashing (sign = hash + one signature) against
    // `openssl dgst -sha256`, alternating, each timed from outside.
    let big = root.path().join("big.bin");
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
        let block: Vec<u8> = (0..1024 * 1024).map(|i| (i * 7 % 251) as u8).collect();
        for _ in 0..big_mib {
            f.write_all(&block).unwrap();
        }
    }
    // Written back now, not by a kernel thread during the measurements.
    let _ = Command::new("sync").status();
    let empty = root.path().join("empty.bin");
    std::fs::write(&empty, b"").unwrap();
    let (mut ours, mut openssl, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let mut hashing = Vec::new();
    for rep in 0..repeat {
        let o = sandbox
            .timed("openssl", root.path(), &["dgst", "-sha256", "big.bin"])
            .wall;
        // The hashing alone: the library's `digest_file` in this process,
        // against openssl's time on the file less its time on an empty
        // file (its start-up). GNU time's 10 ms steps: measured here.
        let started = Instant::now();
        let out = Command::new("openssl")
            .args(["dgst", "-sha256"])
            .arg(&big)
            .output()
            .unwrap();
        let o_big = started.elapsed().as_secs_f64();
        let openssl_hex = String::from_utf8_lossy(&out.stdout)
            .trim()
            .rsplit(' ')
            .next()
            .unwrap()
            .to_owned();
        let started = Instant::now();
        Command::new("openssl")
            .args(["dgst", "-sha256"])
            .arg(&empty)
            .output()
            .unwrap();
        let o_start = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let d = crpki::crypto::digest_file(HashAlgorithm::Sha256, &big).unwrap();
        let lib = started.elapsed().as_secs_f64();
        assert_eq!(hex::encode(d.as_bytes()), openssl_hex, "the same digest");
        println!(
            "{big_mib} MiB file #{}: hashing: crpki::crypto::digest_file {lib:.3} s, openssl dgst {o_big:.3} s less its start-up {o_start:.3} s: time ratio {:.3} (load {})",
            rep + 1,
            lib / (o_big - o_start),
            load()
        );
        hashing.push(lib / (o_big - o_start));
        let c = sandbox
            .timed(BIN, root.path(), &["sign", "--quiet", "big.bin"])
            .wall;
        println!(
            "{big_mib} MiB file #{}: crpki sign {c:.3} s, openssl dgst -sha256 {o:.3} s: time ratio {:.3} (load {})",
            rep + 1,
            c / o,
            load()
        );
        ours.push(c);
        openssl.push(o);
        ratios.push(c / o);
    }
    let (ob, om) = best_median(&ours, false);
    let (sb, sm) = best_median(&openssl, false);
    let (rb, rm) = best_median(&ratios, false);
    let (hb, hm) = best_median(&hashing, false);
    println!(
        "{big_mib} MiB file, {repeat} runs: hashing, crpki/openssl time best {hb:.3} median {hm:.3} (goal ≤ 1.0)"
    );
    println!(
        "{big_mib} MiB file, {repeat} runs: crpki sign best {ob:.3} s median {om:.3} s; openssl dgst best {sb:.3} s median {sm:.3} s; crpki/openssl time best {rb:.3} median {rm:.3} (goal ≤ 1.0)"
    );
}
