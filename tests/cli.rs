//! The `crpki` tool as a shell user meets it: exit codes, messages, files
//! written (and not written), and OpenSSL agreeing with what it signs.
#![cfg(feature = "cli")]
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crpki::testing::fixtures;

fn crpki(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_crpki"))
        .args(args)
        .env("CRPKI_TEST_P12_PASSWORD", "crpki-test")
        .env("CRPKI_WRONG_PASSWORD", "not-the-password")
        .env_remove("CRPKI_LOG")
        .output()
        .expect("run crpki")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn sample(dir: &Path) -> PathBuf {
    let file = dir.join("契約書.txt");
    std::fs::write(&file, "本契約は crpki のテストです。\n").unwrap();
    file
}

fn sign_ok(file: &Path) -> PathBuf {
    let p12 = fixtures::path("rep-rsa2048.p12");
    let out = crpki(&sign_p12(file, &p12, "CRPKI_TEST_P12_PASSWORD"));
    assert!(out.status.success(), "sign failed: {}", text(&out.stderr));
    let mut sig = file.as_os_str().to_owned();
    sig.push(".p7s");
    PathBuf::from(sig)
}

fn openssl_verify(sig: &Path, content: &Path) -> bool {
    Command::new("openssl")
        .args(["cms", "-verify", "-binary", "-inform", "DER", "-in"])
        .arg(sig)
        .arg("-content")
        .arg(content)
        .arg("-CAfile")
        .arg(fixtures::path("registrar-root.pem"))
        .args(["-purpose", "any", "-ignore_critical", "-out", "/dev/null"])
        .output()
        .expect("openssl must be installed (scripts/test.sh installs it)")
        .status
        .success()
}

/// `crpki sign FILE --p12 P12 --password-env VAR`'s arguments.
fn sign_p12<'a>(file: &'a Path, p12: &'a Path, password_var: &'a str) -> [&'a str; 6] {
    let path = |p: &'a Path| p.to_str().expect("test paths are UTF-8");
    [
        "sign",
        path(file),
        "--p12",
        path(p12),
        "--password-env",
        password_var,
    ]
}

#[test]
fn sign_then_verify_and_openssl_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let file = sample(dir.path());
    let sig = sign_ok(&file);
    assert!(sig.exists());
    assert!(openssl_verify(&sig, &file), "openssl rejected crpki's signature");

    let root = fixtures::path("registrar-root.pem");
    let out = crpki(&["verify", file.to_str().unwrap(), "--ca", root.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("株式会社テスト商事 TEST"), "{stdout}");
    assert!(stdout.contains("5010001008846"), "{stdout}");
    assert!(stdout.contains("法務 太郎"), "{stdout}");

    let out = crpki(&[
        "verify",
        file.to_str().unwrap(),
        sig.to_str().unwrap(),
        "--ca",
        root.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["signer"]["corporate_number"], "5010001008846");
}

#[test]
fn tampered_file_fails_with_exit_3_naming_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let file = sample(dir.path());
    let sig = sign_ok(&file);
    std::fs::write(&file, "本契約は改ざんされました。\n").unwrap();
    assert!(!openssl_verify(&sig, &file));
    let root = fixtures::path("registrar-root.pem");
    let out = crpki(&["verify", file.to_str().unwrap(), "--ca", root.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("modified"), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
}

#[test]
fn untrusted_root_fails_with_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let file = sample(dir.path());
    sign_ok(&file);
    let other = fixtures::path("other-root.pem");
    let out = crpki(&["verify", file.to_str().unwrap(), "--ca", other.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("not trusted"), "{}", text(&out.stderr));
}

#[test]
fn wrong_password_says_so_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = sample(dir.path());
    let p12 = fixtures::path("rep-rsa2048-legacy.p12");
    let out = crpki(&sign_p12(&file, &p12, "CRPKI_WRONG_PASSWORD"));
    assert_eq!(out.status.code(), Some(4));
    let err = text(&out.stderr);
    assert!(err.contains("wrong password"), "{err}");
    assert!(!err.contains("not-the-password"), "the password leaked: {err}");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "only the input file may exist: {leftovers:?}");
}

#[test]
fn missing_password_variable_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = sample(dir.path());
    let p12 = fixtures::path("rep-rsa2048.p12");
    let out = crpki(&sign_p12(&file, &p12, "CRPKI_NO_SUCH_VAR"));
    assert_eq!(out.status.code(), Some(4));
    assert!(text(&out.stderr).contains("CRPKI_NO_SUCH_VAR"));
}

#[test]
fn cert_show_json_has_the_documented_keys_and_values() {
    let pem = fixtures::path("rep-rsa2048.pem");
    let out = crpki(&["cert", "show", pem.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "subject",
        "issuer",
        "serial",
        "not_before",
        "not_after",
        "corporate_name",
        "registered_number",
        "corporate_number",
        "corporate_address",
        "director_name",
        "director_title",
        "registry_office",
        "registrar",
    ] {
        assert!(v.get(key).is_some(), "missing key {key} in {v}");
    }
    assert_eq!(v["registered_number"], "010001008846");
    assert_eq!(v["corporate_number"], "5010001008846");
    assert_eq!(v["director_title"], "代表取締役");
    assert_eq!(v["registrar"], "東京法務局登記官");

    // DER gives the same answer.
    let der = fixtures::path("rep-rsa2048.der");
    let out2 = crpki(&["cert", "show", der.to_str().unwrap(), "--json"]);
    assert_eq!(out.stdout, out2.stdout);
}

#[test]
fn cert_show_text_and_bad_input() {
    let out = crpki(&["cert", "show", fixtures::path("rep-ecdsa.pem").to_str().unwrap()]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("合同会社テスト電子 TEST"));

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.der");
    let mut der = fixtures::bytes("rep-rsa2048.der");
    der.truncate(der.len() / 2);
    std::fs::write(&bad, der).unwrap();
    let out = crpki(&["cert", "show", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("malformed certificate"),
        "{}",
        text(&out.stderr)
    );

    let out = crpki(&[
        "cert",
        "show",
        fixtures::path("rep-bad-moj.pem").to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("malformed registeredCorporateInfo"));
}

#[test]
fn demo_signs_and_verifies_end_to_end_through_the_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let out = crpki(&["demo", "--dir", dir.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("SANDBOX"), "{stdout}");
    assert!(
        stdout.contains("1 credential authorization(s), 1 signHash call(s)"),
        "{stdout}"
    );
    let doc = dir.path().join("申請書.txt");
    let sig = dir.path().join("申請書.txt.p7s");
    let root = dir.path().join("registrar-root.pem");
    let ok = Command::new("openssl")
        .args(["cms", "-verify", "-binary", "-inform", "DER", "-in"])
        .arg(&sig)
        .arg("-content")
        .arg(&doc)
        .arg("-CAfile")
        .arg(&root)
        .args(["-purpose", "any", "-ignore_critical", "-out", "/dev/null"])
        .status()
        .unwrap()
        .success();
    assert!(ok, "openssl rejected the demo's signature");
}

/// Runs crpki with stdout a stream whose reading end is already closed
/// (as in `crpki … | head -0`): every write fails with EPIPE.
#[cfg(unix)]
fn crpki_into_closed_pipe(args: &[&str]) -> Output {
    let (writer, reader) = std::os::unix::net::UnixStream::pair().unwrap();
    drop(reader);
    Command::new(env!("CARGO_BIN_EXE_crpki"))
        .args(args)
        .env("CRPKI_TEST_P12_PASSWORD", "crpki-test")
        .env_remove("CRPKI_LOG")
        .stdout(std::os::fd::OwnedFd::from(writer))
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("run crpki")
}

#[cfg(unix)]
#[test]
fn a_closed_stdout_pipe_neither_panics_nor_changes_the_outcome() {
    let cert = fixtures::path("rep-rsa2048.pem");
    let out = crpki_into_closed_pipe(&["cert", "show", cert.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("panicked"), "{}", text(&out.stderr));

    // Signing still writes a valid signature; verifying still says 0 or 3.
    let dir = tempfile::tempdir().unwrap();
    let file = sample(dir.path());
    let p12 = fixtures::path("rep-rsa2048.p12");
    let out = crpki_into_closed_pipe(&sign_p12(&file, &p12, "CRPKI_TEST_P12_PASSWORD"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let sig = dir.path().join("契約書.txt.p7s");
    assert!(openssl_verify(&sig, &file));
    let root = fixtures::path("registrar-root.pem");
    let verify =
        || crpki_into_closed_pipe(&["verify", file.to_str().unwrap(), "--ca", root.to_str().unwrap()]);
    assert_eq!(verify().status.code(), Some(0));
    std::fs::write(&file, "本契約は改ざんされました。\n").unwrap();
    let out = verify();
    assert_eq!(out.status.code(), Some(3));
    assert!(!text(&out.stderr).contains("panicked"), "{}", text(&out.stderr));
}

// ---- Output files: all or nothing, regular files only, short temporary
// names, --no-clobber (issue 12, items 9 to 12).

/// `crpki sign --p12 … --password-env … ARGS…` (the PKCS#12 fixture).
fn sign_p12_command(args: &[&std::ffi::OsStr]) -> Command {
    let p12 = fixtures::path("rep-rsa2048.p12");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crpki"));
    cmd.arg("sign")
        .args(args)
        .arg("--p12")
        .arg(&p12)
        .args(["--password-env", "CRPKI_TEST_P12_PASSWORD"])
        .env("CRPKI_TEST_P12_PASSWORD", "crpki-test")
        .env_remove("CRPKI_LOG");
    cmd
}

/// Runs [`sign_p12_command`].
fn sign_p12_with(args: &[&std::ffi::OsStr]) -> Output {
    sign_p12_command(args).output().expect("run crpki")
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_batch_whose_second_output_cannot_be_written_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ok = dir.path().join("ok.txt");
    let bad = dir.path().join("r.txt");
    std::fs::write(&ok, "one\n").unwrap();
    std::fs::write(&bad, "two\n").unwrap();
    // r.txt.p7s cannot become a file: a directory holds the name.
    std::fs::create_dir(dir.path().join("r.txt.p7s")).unwrap();
    let out = sign_p12_with(&[ok.as_os_str(), bad.as_os_str()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("r.txt.p7s"), "{}", text(&out.stderr));
    // No ok.txt.p7s, and no temporary file left behind.
    assert_eq!(names(dir.path()), ["ok.txt", "r.txt", "r.txt.p7s"]);
}

#[cfg(unix)]
#[test]
fn an_output_that_is_a_fifo_is_refused_and_left_alone() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let file = sample(dir.path());
    let fifo = dir.path().join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let out = sign_p12_with(&[file.as_os_str(), "--out".as_ref(), fifo.as_os_str()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("not a regular file"), "{err}");
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    assert_eq!(names(dir.path()), ["fifo", "契約書.txt"]);

    // The same for FILE.p7s in a batch.
    let sig = dir.path().join("契約書.txt.p7s");
    assert!(Command::new("mkfifo").arg(&sig).status().unwrap().success());
    let out = sign_p12_with(&[file.as_os_str()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(std::fs::symlink_metadata(&sig).unwrap().file_type().is_fifo());
}

#[test]
fn an_input_name_of_251_bytes_signs_when_its_p7s_fits() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("{}.txt", "a".repeat(247));
    assert_eq!(name.len(), 251);
    let file = dir.path().join(&name);
    std::fs::write(&file, "long name\n").unwrap();
    let out = sign_p12_with(&[file.as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let sig = dir.path().join(format!("{name}.p7s"));
    assert!(openssl_verify(&sig, &file));
    assert_eq!(names(dir.path()).len(), 2);
}

#[test]
fn existing_signatures_are_replaced_and_said_so_or_refused_with_no_clobber() {
    let help = crpki(&["sign", "--help"]);
    let help = text(&help.stdout);
    assert!(help.contains("--no-clobber"), "{help}");
    assert!(help.contains("replacing an existing FILE.p7s"), "{help}");

    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.txt");
    let b = dir.path().join("b.txt");
    std::fs::write(&a, "a\n").unwrap();
    std::fs::write(&b, "b\n").unwrap();
    let b_sig = dir.path().join("b.txt.p7s");
    std::fs::write(&b_sig, "old").unwrap();

    // --no-clobber: refused before anything is signed or written.
    let out = sign_p12_with(&[a.as_os_str(), b.as_os_str(), "--no-clobber".as_ref()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("b.txt.p7s already exists"), "{err}");
    assert!(!err.contains("signed 2 file(s)"), "{err}");
    assert_eq!(std::fs::read(&b_sig).unwrap(), b"old");
    assert_eq!(names(dir.path()), ["a.txt", "b.txt", "b.txt.p7s"]);

    // By default: replaced, and the summary says how many were.
    let out = sign_p12_with(&[a.as_os_str(), b.as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("signed 2 file(s)"), "{err}");
    assert!(err.contains("replaced 1 existing signature file(s)"), "{err}");
    assert!(openssl_verify(&b_sig, &b));
    assert!(openssl_verify(&dir.path().join("a.txt.p7s"), &a));

    // --no-clobber with --out as well.
    let out = sign_p12_with(&[
        a.as_os_str(),
        "--out".as_ref(),
        b_sig.as_os_str(),
        "--no-clobber".as_ref(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(openssl_verify(&b_sig, &b), "b.txt.p7s was overwritten");
}

/// Issue 12, item 13: the PKCS#12 password typed on a terminal is not
/// echoed (the PIN and OTP prompts read through the same function). Runs
/// crpki under a pseudo-terminal (python3's `pty`).
#[cfg(unix)]
#[test]
fn the_password_typed_on_a_terminal_is_not_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let file = sample(dir.path());
    let p12 = fixtures::path("rep-rsa2048.p12");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/pty_answer.py");
    let out = Command::new("python3")
        .arg(&script)
        .args([
            "PKCS#12 password: ",
            "crpki-test",
            env!("CARGO_BIN_EXE_crpki"),
            "sign",
        ])
        .arg(&file)
        .arg("--p12")
        .arg(&p12)
        .env_remove("CRPKI_LOG")
        .output()
        .expect("python3 must be installed (scripts/test.sh installs it)");
    let shown = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{shown}\n{}", text(&out.stderr));
    assert!(shown.contains("PKCS#12 password: "), "{shown}");
    assert!(shown.contains("signed 1 file(s)"), "{shown}");
    assert!(!shown.contains("crpki-test"), "the password was echoed: {shown}");
    assert!(openssl_verify(&dir.path().join("契約書.txt.p7s"), &file));
}

// ---- Pipelines (issue 13): --files-from, -0, `-`, --json, exit status.

/// [`sign_p12_with`] with `stdin` as standard input.
fn sign_p12_stdin(args: &[&std::ffi::OsStr], stdin: &[u8]) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = sign_p12_command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run crpki");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

/// The `--json` lines of a run, parsed.
fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect()
}

fn pipeline_files(dir: &Path, n: usize) -> Vec<PathBuf> {
    (0..n)
        .map(|i| {
            let f = dir.join(format!("請求書 {i:02}.txt"));
            std::fs::write(&f, format!("invoice {i}\n")).unwrap();
            f
        })
        .collect()
}

#[test]
fn files_from_a_list_by_lines_or_nuls_and_json_lines_per_file() {
    let dir = tempfile::tempdir().unwrap();
    let files = pipeline_files(dir.path(), 6);
    let help = text(&crpki(&["sign", "--help"]).stdout);
    for option in ["--files-from", "--null", "--json"] {
        assert!(help.contains(option), "{help}");
    }

    // One path per line (CRLF too), two of them also on the command line's list.
    let list = dir.path().join("list.txt");
    let lines: Vec<String> = files[..4]
        .iter()
        .map(|f| format!("{}\r\n", f.display()))
        .collect();
    std::fs::write(&list, lines.concat() + "\n").unwrap();
    let out = sign_p12_with(&["--json".as_ref(), "--files-from".as_ref(), list.as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 4, "{}", text(&out.stdout));
    for (line, file) in lines.iter().zip(&files) {
        let sig = format!("{}.p7s", file.display());
        assert_eq!(line["path"], file.to_str().unwrap());
        assert_eq!(line["signature"], sig.as_str());
        assert!(
            line["signer"].as_str().unwrap().contains("株式会社テスト商事"),
            "{line}"
        );
        assert!(line["error"].is_null(), "{line}");
        assert!(openssl_verify(Path::new(&sig), file));
    }

    // NUL-separated, from standard input, after a file named on the command line.
    let mut nul_list = Vec::new();
    for f in &files[4..] {
        nul_list.extend_from_slice(f.to_str().unwrap().as_bytes());
        nul_list.push(0);
    }
    let out = sign_p12_stdin(
        &[
            files[0].as_os_str(),
            "--quiet".as_ref(),
            "-0".as_ref(),
            "--files-from".as_ref(),
            "-".as_ref(),
        ],
        &nul_list,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "quiet");
    for f in &files {
        assert!(openssl_verify(Path::new(&format!("{}.p7s", f.display())), f));
    }
}

#[test]
fn a_failed_list_says_which_file_in_json_exits_non_zero_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let files = pipeline_files(dir.path(), 3);
    let missing = dir.path().join("missing.txt");
    let list = dir.path().join("list.txt");
    let entries = [&files[0], &files[1], &missing, &files[2]];
    let text_list: String = entries.iter().map(|f| format!("{}\n", f.display())).collect();
    std::fs::write(&list, text_list).unwrap();
    let before = names(dir.path());
    let out = sign_p12_with(&["--json".as_ref(), "--files-from".as_ref(), list.as_os_str()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("missing.txt"), "{}", text(&out.stderr));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "{}", text(&out.stdout));
    assert_eq!(lines[0]["path"], missing.to_str().unwrap());
    assert!(lines[0]["signature"].is_null());
    assert!(lines[0]["error"].as_str().unwrap().contains("missing.txt"));
    assert_eq!(names(dir.path()), before, "no signature, no temporary file");

    // An unreadable list: a JSON line for the batch (path null).
    let out = sign_p12_with(&[
        "--json".as_ref(),
        "--files-from".as_ref(),
        dir.path().join("no-list").as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "{}", text(&out.stdout));
    assert!(lines[0]["path"].is_null());
    assert!(lines[0]["error"].as_str().unwrap().contains("no-list"));
    assert_eq!(names(dir.path()), before);
}

#[test]
fn dash_signs_standard_input_to_standard_output() {
    let dir = tempfile::tempdir().unwrap();
    let content = "標準入力の書類\n".repeat(1000);
    let out = sign_p12_stdin(&["-".as_ref()], content.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let file = dir.path().join("content.txt");
    let sig = dir.path().join("content.p7s");
    std::fs::write(&file, &content).unwrap();
    std::fs::write(&sig, &out.stdout).unwrap();
    assert!(
        openssl_verify(&sig, &file),
        "openssl rejected the signature on stdout"
    );
    assert_eq!(names(dir.path()), ["content.p7s", "content.txt"]);

    // `-` only alone, and not with --json (both want standard output).
    let other = sample(dir.path());
    for args in [
        vec!["-".as_ref(), other.as_os_str()],
        vec!["-".as_ref(), "--json".as_ref()],
    ] {
        let out = sign_p12_stdin(&args, b"x");
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(out.stdout.is_empty());
    }
    assert!(!dir.path().join("契約書.txt.p7s").exists());
}
