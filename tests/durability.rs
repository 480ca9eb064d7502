//! The batch signer's durability, seen from outside through the system
//! calls `crpki sign` makes (`strace`, an independent observer): before any
//! output name is touched, every signature's temporary file has been
//! written and `fsync`ed; then the renames; then every output directory is
//! synced after its last rename; and exit 0 comes only after all of that.
//! With several writer threads the order is checked on the completion of
//! each `fsync` against the start of each rename.
#![cfg(all(feature = "cli", target_os = "linux"))]
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crpki::testing::fixtures;

/// One finished system call from an `strace -f -y` log, in log order.
#[derive(Debug)]
struct Call {
    name: String,
    /// The arguments as strace printed them (fds with their paths, `-y`).
    args: String,
    ok: bool,
}

/// Reads an `strace -f -y -o` log, joining `<unfinished ...>` calls with
/// their `resumed>` ends; each call is placed where it finished.
fn parse(log: &str) -> Vec<Call> {
    let mut pending: HashMap<String, String> = HashMap::new();
    let mut calls = Vec::new();
    for line in log.lines() {
        // strace pads with runs of spaces; one is enough.
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        let Some((pid, rest)) = line.split_once(' ') else {
            continue;
        };
        let whole = if let Some(start) = rest.strip_suffix(" <unfinished ...>") {
            pending.insert(pid.to_owned(), start.to_owned());
            continue;
        } else if let Some(resumed) = rest.strip_prefix("<... ") {
            let Some((_, tail)) = resumed.split_once("resumed>") else {
                continue;
            };
            format!("{}{tail}", pending.remove(pid).unwrap_or_default())
        } else {
            rest.to_owned()
        };
        let Some((name, after)) = whole.split_once('(') else {
            continue;
        };
        let Some((args, result)) = after.rsplit_once(") = ") else {
            continue;
        };
        calls.push(Call {
            name: name.to_owned(),
            args: args.to_owned(),
            ok: result.trim_start().starts_with('0'),
        });
    }
    calls
}

/// The path strace shows for an fd argument (`5</dir/file>`).
fn fd_path(args: &str) -> Option<PathBuf> {
    let start = args.find('<')?;
    let end = args[start..].find('>')? + start;
    Some(PathBuf::from(&args[start + 1..end]))
}

/// The two quoted paths of a rename call.
fn rename_paths(args: &str) -> (PathBuf, PathBuf) {
    let quoted: Vec<&str> = args.split('"').skip(1).step_by(2).collect();
    assert_eq!(quoted.len(), 2, "a rename with two paths: {args}");
    (PathBuf::from(quoted[0]), PathBuf::from(quoted[1]))
}

#[test]
fn every_signature_is_synced_before_any_rename_and_each_directory_after_its_renames() {
    if Command::new("strace").arg("-V").output().is_err() {
        panic!("strace is needed: apt-get install strace (scripts/test.sh installs it)");
    }
    let dir = tempfile::tempdir().unwrap();
    // Canonical: strace prints fds' real paths.
    let root = dir.path().canonicalize().unwrap();
    let mut inputs = Vec::new();
    for sub in ["a", "b"] {
        std::fs::create_dir(root.join(sub)).unwrap();
        for i in 0..12 {
            let f = root.join(sub).join(format!("doc{i:02}.txt"));
            std::fs::write(&f, format!("document {sub} {i}\n")).unwrap();
            inputs.push(f);
        }
    }
    // One output exists already: it is replaced the same way.
    std::fs::write(root.join("a/doc00.txt.p7s"), b"old").unwrap();
    let list = root.join("list.txt");
    let text: String = inputs.iter().map(|f| format!("{}\n", f.display())).collect();
    std::fs::write(&list, text).unwrap();

    let log = root.join("strace.log");
    let out = Command::new("strace")
        .args(["-f", "-y", "-qq", "-o"])
        .arg(&log)
        .args([
            "-e",
            "trace=fsync,fdatasync,syncfs,sync,rename,renameat,renameat2",
        ])
        .arg(env!("CARGO_BIN_EXE_crpki"))
        .args(["sign", "--quiet", "--files-from"])
        .arg(&list)
        .arg("--p12")
        .arg(fixtures::path("rep-rsa2048.p12"))
        .args(["--password-env", "CRPKI_TEST_P12_PASSWORD"])
        .env("CRPKI_TEST_P12_PASSWORD", "crpki-test")
        .env_remove("CRPKI_LOG")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let calls = parse(&std::fs::read_to_string(&log).unwrap());

    let synced_at: HashMap<PathBuf, usize> = calls
        .iter()
        .enumerate()
        .filter(|(_, c)| c.ok && (c.name == "fsync" || c.name == "fdatasync"))
        .filter_map(|(i, c)| Some((fd_path(&c.args)?, i)))
        .collect();
    let renames: Vec<(usize, PathBuf, PathBuf)> = calls
        .iter()
        .enumerate()
        .filter(|(_, c)| c.ok && c.name.starts_with("rename"))
        .map(|(i, c)| {
            let (from, to) = rename_paths(&c.args);
            (i, from, to)
        })
        .collect();
    let first_rename = renames.iter().map(|r| r.0).min().expect("renames");

    for input in &inputs {
        let output = PathBuf::from(format!("{}.p7s", input.display()));
        let (at, tmp, _) = renames
            .iter()
            .find(|(_, _, to)| *to == output)
            .unwrap_or_else(|| panic!("no rename to {}", output.display()));
        let tmp_name = tmp.file_name().unwrap().to_string_lossy();
        assert!(
            tmp_name.starts_with(".crpki-") && tmp.parent() == output.parent(),
            "a temporary file beside the output: {}",
            tmp.display()
        );
        // Its data: synced (finished) before the first rename of the batch.
        let synced = synced_at
            .get(tmp)
            .unwrap_or_else(|| panic!("{} was never synced", tmp.display()));
        assert!(
            *synced < first_rename,
            "{} synced after the renames began",
            tmp.display()
        );
        assert!(*at >= first_rename);
        // Its name: the directory is synced after its last rename.
        let parent = output.parent().unwrap();
        let last_in_dir = renames
            .iter()
            .filter(|(_, _, to)| to.parent() == Some(parent))
            .map(|r| r.0)
            .max()
            .unwrap();
        let dir_synced = calls
            .iter()
            .enumerate()
            .skip(last_in_dir + 1)
            .any(|(_, c)| c.ok && c.name == "fsync" && fd_path(&c.args).as_deref() == Some(parent));
        assert!(
            dir_synced,
            "{} not synced after its last rename",
            parent.display()
        );
        assert!(verifies(&output, input), "{}", output.display());
    }
    // Nothing but the outputs is left.
    for sub in ["a", "b"] {
        for e in std::fs::read_dir(root.join(sub)).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            assert!(!name.starts_with(".crpki-"), "{name} left behind");
        }
    }
}

fn verifies(sig: &Path, content: &Path) -> bool {
    crpki::testing::openssl::cms_verifies(sig, content, &fixtures::path("registrar-root.pem"))
}
