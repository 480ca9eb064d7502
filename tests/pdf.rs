//! PDF signatures (`crpki::pdf`, `crpki pdf`) checked by independent
//! implementations:
//! - pyHanko's validator, `pyhanko sign validate`, run through
//!   `tests/support/pyhanko_validate.py`, which adds exactly the three MOJ
//!   OIDs to pyhanko-certvalidator's supported critical extensions (the
//!   pinned venv of `tests/support/pyhanko_venv.rs`);
//! - `qpdf --check` (Debian `qpdf`);
//! - poppler's `pdfsig` with an NSS database made by `certutil` (Debian
//!   `poppler-utils`, `libnss3-tools`), with a plain TEST signer made here
//!   by `openssl`: NSS refuses the MOJ critical extensions and has no switch.
//!
//! `scripts/test.sh` installs every tool; a missing one fails the test with
//! the package to install. Test PDFs are written here (a classic xref
//! table) and by `qpdf --object-streams=generate` (an xref stream).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crpki::pdf::{self, Level, PdfJob, SignOptions, SubFilter, VerifyOptions};
use crpki::testing::{FaultySigner, fixtures};

#[path = "support/pyhanko_venv.rs"]
mod pyhanko_venv;

const VALIDATE: &str = "tests/support/pyhanko_validate.py";

fn tool(name: &str, package: &str) -> Command {
    crpki::testing::require_tool(name, package);
    Command::new(name)
}

fn output(cmd: &mut Command) -> Output {
    cmd.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A one-page PDF with a classic cross-reference table; with `field`, an
/// AcroForm holding an empty signature field of that name (not on a page).
fn minimal_pdf(words: &str, field: Option<&str>) -> Vec<u8> {
    let content = format!("BT /F1 24 Tf 72 700 Td ({words}) Tj ET");
    let mut objs = vec![
        match field {
            Some(_) => "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [6 0 R] >> >>".to_string(),
            None => "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        },
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".into(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .into(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".into(),
    ];
    if let Some(name) = field {
        objs.push(format!("<< /FT /Sig /T ({name}) >>"));
    }
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objs.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objs.len() + 1).as_bytes());
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /ID [<00112233445566778899AABBCCDDEEFF> \
             <00112233445566778899AABBCCDDEEFF>] >>\nstartxref\n{xref}\n%%EOF\n",
            objs.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// `src` rewritten by qpdf with object streams and an xref stream.
fn with_xref_stream(src: &Path, dst: &Path) {
    let o = output(
        tool("qpdf", "qpdf")
            .args(["--object-streams=generate"])
            .arg(src)
            .arg(dst),
    );
    assert!(o.status.success(), "{}", text(&o));
    let bytes = std::fs::read(dst).unwrap();
    let tail = &bytes[bytes.len() - 64..];
    assert!(
        !String::from_utf8_lossy(&bytes).contains("\ntrailer"),
        "qpdf wrote a table: {}",
        String::from_utf8_lossy(tail)
    );
}

fn qpdf_check(file: &Path) {
    let o = output(tool("qpdf", "qpdf").arg("--check").arg(file));
    let t = text(&o);
    assert!(o.status.success(), "qpdf --check {}: {t}", file.display());
    assert!(t.contains("No syntax or stream encoding errors"), "{t}");
}

/// `pyhanko sign validate` (MOJ OIDs accepted) on `file` against `root`:
/// one summary line per signature, `FIELD:STATUS` (the fingerprint left out).
fn pyhanko(file: &Path, root: &Path, moj_oids: bool) -> (bool, Vec<String>) {
    let (ok, lines, _) = pyhanko_run(file, &[root], moj_oids);
    (ok, lines)
}

fn pyhanko_run(file: &Path, roots: &[&Path], moj_oids: bool) -> (bool, Vec<String>, String) {
    pyhanko_with(
        &["sign", "validate", "--no-revocation-check"],
        file,
        roots,
        moj_oids,
    )
}

/// pyHanko's command `args` (with the MOJ OIDs accepted when `moj_oids`)
/// on `file`, trusting only `roots`.
fn pyhanko_with(args: &[&str], file: &Path, roots: &[&Path], moj_oids: bool) -> (bool, Vec<String>, String) {
    let python = pyhanko_venv::venv_python();
    let mut cmd = Command::new(python);
    if moj_oids {
        cmd.arg(VALIDATE);
    } else {
        cmd.args(["-m", "pyhanko"]);
    }
    cmd.args(args).arg("--trust-replace");
    for root in roots {
        cmd.arg("--trust").arg(root);
    }
    let o = output(cmd.arg(file).env("PYTHONWARNINGS", "ignore"));
    let lines = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| l.contains(':'))
        .map(|l| {
            // FIELD:FINGERPRINT:STATUS → FIELD:STATUS
            let mut parts = l.splitn(3, ':');
            let field = parts.next().unwrap_or_default();
            let _fp = parts.next();
            format!("{field}:{}", parts.next().unwrap_or_default())
        })
        .collect();
    (o.status.success(), lines, text(&o))
}

fn root_pem() -> PathBuf {
    fixtures::path("registrar-root.pem")
}

fn verify(file: &Path) -> pdf::PdfReport {
    pdf::verify_file(
        file,
        &[fixtures::cert("registrar-root")],
        &VerifyOptions::default(),
    )
    .unwrap()
}

async fn sign_one(input: &Path, output: &Path, options: &SignOptions) -> usize {
    let signer = FaultySigner::new(fixtures::memory_signer("rep-rsa2048"), None);
    pdf::sign_files(&signer, &[PdfJob::new(input, output)], options)
        .await
        .unwrap();
    signer.calls()
}

#[tokio::test]
async fn pyhanko_validates_our_cades_and_pkcs7_signatures_on_table_and_stream_files() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("table.pdf");
    std::fs::write(&table, minimal_pdf("crpki PAdES", None)).unwrap();
    let stream = dir.path().join("stream.pdf");
    with_xref_stream(&table, &stream);

    for input in [&table, &stream] {
        let original = std::fs::read(input).unwrap();
        for subfilter in [SubFilter::CadesDetached, SubFilter::Pkcs7Detached] {
            let out = dir.path().join(format!(
                "{}-{}.pdf",
                input.file_stem().unwrap().to_string_lossy(),
                subfilter.name()
            ));
            let options = SignOptions {
                subfilter,
                ..SignOptions::default()
            };
            assert_eq!(sign_one(input, &out, &options).await, 1, "one signer call");
            let signed = std::fs::read(&out).unwrap();
            assert!(signed.starts_with(&original), "the original bytes stay untouched");
            let tail = String::from_utf8_lossy(&signed[original.len()..]).into_owned();
            assert_eq!(
                tail.contains("\ntrailer\n"),
                input == &table,
                "the update's xref is in the original's form: {tail:.300}"
            );
            assert!(tail.contains(&format!("/SubFilter /{}", subfilter.name())));
            qpdf_check(&out);

            let (ok, lines) = pyhanko(&out, &root_pem(), true);
            assert!(ok, "{out:?}: {lines:?}");
            assert_eq!(
                lines,
                vec!["Signature1:INTACT:TRUSTED,UNTOUCHED".to_string()],
                "{out:?}"
            );

            let report = verify(&out);
            assert_eq!(report.signatures.len(), 1);
            let s = &report.signatures[0];
            assert!(s.intact && s.trusted && s.covers_whole_document, "{s:?}");
            assert_eq!(s.subfilter, subfilter.name());
            assert_eq!(
                s.level,
                (subfilter == SubFilter::CadesDetached).then_some(Level::BB)
            );
            assert!(s.signer.as_ref().unwrap().subject().contains("TEST"));
            // PAdES leaves signingTime out (the time is /M); PKCS#7 keeps it.
            assert_eq!(
                s.signing_time.is_some(),
                subfilter == SubFilter::Pkcs7Detached,
                "{s:?}"
            );
            assert!(s.pdf_time.as_deref().is_some_and(|m| m.starts_with("D:20")));
        }
    }

    // Without the wrapper, pyhanko-certvalidator refuses the MOJ critical
    // extensions: the wrapper is what makes the difference.
    let out = dir.path().join("table-ETSI.CAdES.detached.pdf");
    let (ok, lines) = pyhanko(&out, &root_pem(), false);
    assert!(!ok);
    assert_eq!(lines, vec!["Signature1:INTACT:UNTRUSTED,UNTOUCHED".to_string()]);
}

/// Appends an incremental update that replaces page 1's content stream.
fn change_the_page(file: &Path) {
    let mut bytes = std::fs::read(file).unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let prev: usize = text
        .rsplit("startxref")
        .next()
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let size: usize = text
        .rsplit("/Size ")
        .next()
        .unwrap()
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let content = "BT /F1 24 Tf 72 700 Td (Pay me double) Tj ET";
    let content_at = bytes.len();
    bytes.extend_from_slice(
        format!(
            "{size} 0 obj\n<< /Length {} >>\nstream\n{content}\nendstream\nendobj\n",
            content.len()
        )
        .as_bytes(),
    );
    let page_at = bytes.len();
    // Page 1 keeps its /Annots (the signature widget), read back from the file.
    let annots = text
        .rsplit("/Annots")
        .next()
        .unwrap()
        .trim_start()
        .trim_start_matches('[')
        .split(']')
        .next()
        .unwrap()
        .to_string();
    bytes.extend_from_slice(
        format!(
            "3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {size} 0 R \
             /Resources << /Font << /F1 5 0 R >> >> /Annots [{annots}] >>\nendobj\n"
        )
        .as_bytes(),
    );
    let xref = bytes.len();
    bytes.extend_from_slice(
        format!(
            "xref\n3 1\n{page_at:010} 00000 n\r\n{size} 1\n{content_at:010} 00000 n\r\n\
             trailer\n<< /Size {} /Root 1 0 R /Prev {prev} >>\nstartxref\n{xref}\n%%EOF\n",
            size + 1
        )
        .as_bytes(),
    );
    std::fs::write(file, bytes).unwrap();
}

#[tokio::test]
async fn a_later_update_that_changes_a_page_is_an_illegal_modification() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.pdf");
    std::fs::write(&input, minimal_pdf("Pay me once", None)).unwrap();
    let out = dir.path().join("out.pdf");
    sign_one(&input, &out, &SignOptions::default()).await;
    change_the_page(&out);
    qpdf_check(&out);

    let (ok, lines) = pyhanko(&out, &root_pem(), true);
    assert!(!ok, "{lines:?}");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("Signature1:INTACT:TRUSTED,EXTENDED")
            && lines[0].ends_with("ILLEGAL_MODIFICATIONS"),
        "{lines:?}"
    );

    let report = verify(&out);
    let s = &report.signatures[0];
    assert!(
        s.intact && s.trusted,
        "the signed revision itself is intact: {s:?}"
    );
    assert!(!s.covers_whole_document);
    assert_eq!(s.revisions_after, 1);
    assert!(s.appended_bytes > 100);
}

#[tokio::test]
async fn a_signed_pdf_signed_again_keeps_both_signatures_valid() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("in.pdf");
    std::fs::write(&table, minimal_pdf("Two parties", None)).unwrap();
    let stream = dir.path().join("stream.pdf");
    with_xref_stream(&table, &stream);
    for input in [&table, &stream] {
        let once = dir.path().join("once.pdf");
        let twice = dir.path().join("twice.pdf");
        sign_one(input, &once, &SignOptions::default()).await;
        let options = SignOptions {
            subfilter: SubFilter::Pkcs7Detached,
            ..SignOptions::default()
        };
        sign_one(&once, &twice, &options).await;
        qpdf_check(&twice);
        let (ok, lines) = pyhanko(&twice, &root_pem(), true);
        assert!(ok, "{input:?}: {lines:?}");
        assert_eq!(
            lines,
            vec![
                "Signature1:INTACT:TRUSTED,EXTENDED_WITH_FORM_FILLING,ACCEPTABLE_MODIFICATIONS".to_string(),
                "Signature2:INTACT:TRUSTED,UNTOUCHED".to_string(),
            ],
            "{input:?}"
        );
        let report = verify(&twice);
        assert_eq!(report.signatures.len(), 2);
        assert!(report.signatures.iter().all(|s| s.intact && s.trusted));
        assert!(!report.signatures[0].covers_whole_document);
        assert!(report.signatures[1].covers_whole_document);
    }
}

#[tokio::test]
async fn an_existing_empty_field_is_signed_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("form.pdf");
    std::fs::write(&input, minimal_pdf("Approve here", Some("Approval"))).unwrap();
    let out = dir.path().join("out.pdf");
    let options = SignOptions {
        field: Some("Approval".into()),
        ..SignOptions::default()
    };
    sign_one(&input, &out, &options).await;
    qpdf_check(&out);
    let (ok, lines) = pyhanko(&out, &root_pem(), true);
    assert!(ok, "{lines:?}");
    assert_eq!(lines, vec!["Approval:INTACT:TRUSTED,UNTOUCHED".to_string()]);
    // Signed once, the field is not empty any more.
    let signer = fixtures::memory_signer("rep-rsa2048");
    let again = dir.path().join("again.pdf");
    let err = pdf::sign_files(&signer, &[PdfJob::new(&out, &again)], &options)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("already signed"), "{err}");
    assert!(!again.exists());
}

#[tokio::test]
async fn a_batch_is_one_signer_call_and_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut jobs = Vec::new();
    for i in 0..5 {
        let input = dir.path().join(format!("doc{i}.pdf"));
        std::fs::write(&input, minimal_pdf(&format!("Document {i}"), None)).unwrap();
        jobs.push(PdfJob::new(&input, PdfJob::default_output(&input)));
    }
    let signer = FaultySigner::new(fixtures::memory_signer("rep-rsa2048"), None);
    let signed = pdf::sign_files(&signer, &jobs, &SignOptions::default())
        .await
        .unwrap();
    assert_eq!(signer.calls(), 1, "one sign_digests call for the batch");
    assert_eq!(signed.len(), 5);
    for job in &jobs {
        assert!(job.output.to_string_lossy().ends_with(".signed.pdf"));
        assert!(verify(&job.output).signatures[0].trusted);
    }

    // One bad PDF: nothing is written, no temporary file is left.
    let bad = dir.path().join("bad.pdf");
    std::fs::write(&bad, b"%PDF-1.7\nnot really\n").unwrap();
    let more: Vec<PdfJob> = (0..2)
        .map(|i| PdfJob::new(&jobs[i].input, dir.path().join(format!("more{i}.pdf"))))
        .chain([PdfJob::new(&bad, dir.path().join("bad.signed.pdf"))])
        .collect();
    assert!(
        pdf::sign_files(&signer, &more, &SignOptions::default())
            .await
            .is_err()
    );
    for job in &more {
        assert!(!job.output.exists(), "{:?}", job.output);
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn crpki() -> Command {
    Command::new(env!("CARGO_BIN_EXE_crpki"))
}

/// The plain TEST PKI (no MOJ extensions) as a PKCS#12 file: (p12, root).
fn plain_signer(dir: &Path) -> (PathBuf, PathBuf) {
    let pki = crpki::testing::openssl::plain_pki(dir, "PDF");
    crpki::testing::openssl::run_ok(
        dir,
        &[
            "pkcs12",
            "-export",
            "-inkey",
            "leaf.key",
            "-in",
            "leaf.pem",
            "-certfile",
            "ca.pem",
            "-out",
            "plain.p12",
            "-passout",
            "pass:crpki-test",
        ],
    );
    (dir.join("plain.p12"), pki.ca)
}

#[test]
fn pdfsig_reports_the_signature_valid_and_the_whole_document_signed() {
    let dir = tempfile::tempdir().unwrap();
    let (p12, root) = plain_signer(dir.path());
    let input = dir.path().join("contract.pdf");
    std::fs::write(&input, minimal_pdf("Plain signer", None)).unwrap();
    let o = output(
        crpki()
            .args(["pdf", "sign"])
            .arg(&input)
            .arg("--p12")
            .arg(&p12)
            .args(["--password-env", "CRPKI_TEST_P12"])
            .env("CRPKI_TEST_P12", "crpki-test"),
    );
    assert!(o.status.success(), "{}", text(&o));
    let out = dir.path().join("contract.signed.pdf");
    assert!(out.exists(), "the default output is IN.signed.pdf");

    let nss = dir.path().join("nss");
    std::fs::create_dir(&nss).unwrap();
    let db = format!("sql:{}", nss.display());
    let o = output(tool("certutil", "libnss3-tools").args(["-N", "-d", &db, "--empty-password"]));
    assert!(o.status.success(), "{}", text(&o));
    let o = output(
        tool("certutil", "libnss3-tools")
            .args(["-A", "-d", &db, "-n", "TEST plain root", "-t", "CT,C,C", "-i"])
            .arg(&root),
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = output(tool("pdfsig", "poppler-utils").args(["-nssdir", &db]).arg(&out));
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("Signature Type: ETSI.CAdES.detached"), "{t}");
    assert!(t.contains("Total document signed"), "{t}");
    assert!(t.contains("Signature Validation: Signature is Valid."), "{t}");
    assert!(
        t.contains("Certificate Validation: Certificate is Trusted."),
        "{t}"
    );

    // And `crpki pdf verify` agrees, in JSON.
    let o = output(
        crpki()
            .args(["pdf", "verify", "--json", "--ca"])
            .arg(&root)
            .arg(&out),
    );
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["signatures"][0]["level"], "B-B");
    assert_eq!(v["signatures"][0]["covers_whole_document"], true);
    // Against another root: intact but not trusted, and a failing exit.
    let o = output(
        crpki()
            .args(["pdf", "verify", "--ca"])
            .arg(fixtures::path("registrar-root.pem"))
            .arg(&out),
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("INTACT, NOT TRUSTED"), "{}", text(&o));
}

fn sign_cli_fails(input: &Path, out: &Path) -> String {
    let o = output(
        crpki()
            .args(["pdf", "sign"])
            .arg(input)
            .arg("-o")
            .arg(out)
            .arg("--p12")
            .arg(fixtures::path("rep-rsa2048.p12"))
            .args(["--password-env", "CRPKI_TEST_P12"])
            .env("CRPKI_TEST_P12", fixtures::P12_PASSWORD),
    );
    assert!(!o.status.success(), "{input:?} was signed");
    assert!(!out.exists(), "{out:?} was written");
    let leftovers: Vec<_> = std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    text(&o)
}

#[test]
fn encrypted_broken_and_oversized_pdfs_are_refused_with_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.pdf");
    let bytes = minimal_pdf("Secret", None);
    std::fs::write(&plain, &bytes).unwrap();

    let encrypted = dir.path().join("encrypted.pdf");
    let o = output(
        tool("qpdf", "qpdf")
            .args(["--encrypt", "", "owner", "256", "--"])
            .arg(&plain)
            .arg(&encrypted),
    );
    assert!(o.status.success(), "{}", text(&o));
    let t = sign_cli_fails(&encrypted, &dir.path().join("e.signed.pdf"));
    assert!(t.contains("is encrypted"), "{t}");

    // The xref table's offsets point 7 bytes past the objects.
    let broken = dir.path().join("broken.pdf");
    let xref_at = bytes.windows(6).rposition(|w| w == b"\nxref\n").unwrap();
    let mut damaged = bytes[..xref_at].to_vec();
    for line in String::from_utf8(bytes[xref_at..].to_vec())
        .unwrap()
        .split_inclusive('\n')
    {
        match line.strip_suffix(" 00000 n \n") {
            Some(offset) => {
                let moved = offset.parse::<u64>().unwrap() + 7;
                damaged.extend_from_slice(format!("{moved:010} 00000 n \n").as_bytes());
            }
            None => damaged.extend_from_slice(line.as_bytes()),
        }
    }
    assert_eq!(damaged.len(), bytes.len());
    assert_ne!(damaged, bytes);
    std::fs::write(&broken, damaged).unwrap();
    let t = sign_cli_fails(&broken, &dir.path().join("b.signed.pdf"));
    assert!(t.contains("cross-reference"), "{t}");

    let garbage = dir.path().join("garbage.pdf");
    std::fs::write(&garbage, b"%PDF-1.7\n1 0 obj\n<<\n").unwrap();
    let t = sign_cli_fails(&garbage, &dir.path().join("g.signed.pdf"));
    assert!(t.contains("PDF"), "{t}");

    // Over the documented limit, refused by its size (a sparse file).
    let big = dir.path().join("big.pdf");
    let f = std::fs::File::create(&big).unwrap();
    use std::io::Write as _;
    (&f).write_all(&bytes).unwrap();
    f.set_len(pdf::MAX_PDF_SIZE + 1).unwrap();
    let t = sign_cli_fails(&big, &dir.path().join("big.signed.pdf"));
    assert!(t.contains(&format!("at most {}", pdf::MAX_PDF_SIZE)), "{t}");
}

fn sandbox_client(sb: &crpki::sandbox::Sandbox) -> crpki::http::HttpClient {
    crpki::http::http_client(&crpki::http::TransportConfig {
        extra_ca_pem: vec![sb.tls_ca_pem().as_bytes().to_vec()],
        trust_system_roots: false,
        ..crpki::http::TransportConfig::default()
    })
    .unwrap()
}

/// Level options with the sandbox's TSA and a revocation client.
fn level_options(sb: &crpki::sandbox::Sandbox, level: Level) -> SignOptions {
    let http = sandbox_client(sb);
    let tsa =
        crpki::tsp::TsaClient::new(http.clone(), &sb.tsa_url(), Some(vec![sb.tsa_root().clone()])).unwrap();
    SignOptions {
        level,
        tsa: Some(std::sync::Arc::new(tsa)),
        revocation: Some(std::sync::Arc::new(crpki::revocation::RevocationClient::new(
            http,
        ))),
        ..SignOptions::default()
    }
}

/// `pyhanko sign validate` with both the registrar's and the TSA's roots.
fn pyhanko_with_tsa(file: &Path, tsa_root: &Path) -> (bool, Vec<String>, String) {
    pyhanko_run(file, &[root_pem().as_path(), tsa_root], true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b_t_carries_a_signature_timestamp_that_pyhanko_trusts() {
    let sb = crpki::sandbox::Sandbox::start(crpki::sandbox::SandboxConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.pdf");
    std::fs::write(&input, minimal_pdf("Timestamped", None)).unwrap();
    let out = dir.path().join("bt.pdf");
    let signer = fixtures::memory_signer("rep-rsa2048");
    let signed = pdf::sign_files(
        &signer,
        &[PdfJob::new(&input, &out)],
        &level_options(&sb, Level::BT),
    )
    .await
    .unwrap();
    assert!(signed[0].timestamp.is_some());
    qpdf_check(&out);
    let tsa_root = dir.path().join("tsa-root.pem");
    std::fs::write(&tsa_root, sb.tsa_root().to_pem()).unwrap();
    let (ok, lines, all) = tokio::task::block_in_place(|| pyhanko_with_tsa(&out, &tsa_root));
    assert!(ok, "{all}");
    assert_eq!(
        lines,
        vec!["Signature1:INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>,UNTOUCHED".to_string()],
        "{all}"
    );

    let options = VerifyOptions {
        tsa_roots: vec![sb.tsa_root().clone()],
        ..VerifyOptions::default()
    };
    let report = pdf::verify_file(&out, &[fixtures::cert("registrar-root")], &options).unwrap();
    let s = &report.signatures[0];
    assert_eq!(s.level, Some(Level::BT));
    assert!(s.trusted, "{s:?}");
    let ts = s.timestamp.as_ref().unwrap();
    assert!(ts.intact && ts.trusted, "{ts:?}");
    // Without the TSA root the token is intact but not trusted.
    let report = pdf::verify_file(
        &out,
        &[fixtures::cert("registrar-root")],
        &VerifyOptions::default(),
    )
    .unwrap();
    let ts = report.signatures[0].timestamp.as_ref().unwrap();
    assert!(ts.intact && !ts.trusted, "{ts:?}");
    sb.shutdown().await;
}

#[path = "csc_support/mod.rs"]
mod csc_support;

/// A sandbox with a state of its own (a temporary directory), so that it
/// alone serves its certificates' OCSP responder and CRL.
async fn own_state_sandbox() -> crpki::sandbox::Sandbox {
    let sb = csc_support::sandbox_with(|c| c.state_dir = None).await;
    assert!(sb.revocation_origin().is_some());
    sb
}

/// A CSC signer of the sandbox for `user`'s `credential` (PIN 1234): its
/// certificate carries the sandbox's AIA (OCSP, caIssuers) and CRL DP.
async fn sandbox_signer(sb: &crpki::sandbox::Sandbox, user: &str, credential: &str) -> crpki::csc::CscSigner {
    use crpki::csc::{CscSigner, CscVersion, ExplicitAuthorizer, SignerOptions, StaticSecrets};
    let secrets = StaticSecrets::new().with("PIN", "1234");
    CscSigner::new(
        std::sync::Arc::new(csc_support::client(sb, CscVersion::V2, user)),
        credential,
        std::sync::Arc::new(ExplicitAuthorizer::new(std::sync::Arc::new(secrets))),
        SignerOptions::default(),
    )
    .await
    .unwrap()
}

/// pyHanko's AdES validator (`sign adesverify`), with the sandbox stopped,
/// trusts the B-LT and B-LTA signatures through the revocation answers in
/// their DSS, and does not trust the same signature cut back to its own
/// revision (no DSS). It runs at an explicit validation time (now): without
/// one, pyHanko 0.38 reports the signer's revocation data as missing even
/// though the DSS holds it, and looks for a proof of existence that our
/// TEST TSA's certificate (no revocation pointers) cannot give.
fn pyhanko_finds_the_revocation_proof_in_the_dss(
    outs: &[(Level, PathBuf)],
    root: &Path,
    tsa_root: &Path,
    dir: &Path,
) {
    let now = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]+00:00"
        ))
        .unwrap();
    let ades = ["sign", "adesverify", "--validation-time", now.as_str()];
    let roots = [root, tsa_root];
    for (level, out) in outs {
        let (ok, lines, all) = pyhanko_with(&ades, out, &roots, true);
        assert!(ok, "{level}: {all}");
        assert!(
            lines[0].starts_with("Signature1:INTACT:TRUSTED,"),
            "{level}: {all}"
        );
    }
    // The B-LT file up to the end of the signature's revision: no DSS.
    let blt = std::fs::read(&outs[0].1).unwrap();
    let eofs: Vec<usize> = blt
        .windows(5)
        .enumerate()
        .filter(|(_, w)| w == b"%%EOF")
        .map(|(i, _)| i + 5)
        .collect();
    let mut cut = eofs[eofs.len() - 2];
    while matches!(blt.get(cut), Some(b'\r' | b'\n')) {
        cut += 1;
    }
    let bare = dir.join("no-dss.pdf");
    std::fs::write(&bare, &blt[..cut]).unwrap();
    let (ok, lines, all) = pyhanko_with(&ades, &bare, &roots, true);
    assert!(!ok, "{all}");
    assert!(lines[0].starts_with("Signature1:INTACT:UNTRUSTED,"), "{all}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b_lt_and_b_lta_verify_with_the_network_off() {
    // Its own state: the revocation origin of a state is served by one
    // sandbox at a time, and the other tests' sandboxes stop when they end.
    let sb = own_state_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.pdf");
    std::fs::write(&input, minimal_pdf("Kept for ten years", None)).unwrap();
    let signer = sandbox_signer(&sb, "alice", "alice-rsa").await;
    let root = dir.path().join("registrar-root.pem");
    std::fs::write(&root, sb.registrar_root().to_pem()).unwrap();
    let tsa_root = dir.path().join("tsa-root.pem");
    std::fs::write(&tsa_root, sb.tsa_root().to_pem()).unwrap();
    let (ocsp_before, _) = sb.revocation_requests();
    let mut outs = Vec::new();
    for level in [Level::BLT, Level::BLTA] {
        let out = dir.path().join(format!("{level}.pdf"));
        pdf::sign_files(&signer, &[PdfJob::new(&input, &out)], &level_options(&sb, level))
            .await
            .unwrap();
        qpdf_check(&out);
        outs.push((level, out));
    }
    let (ocsp_after, _) = sb.revocation_requests();
    assert!(
        ocsp_after > ocsp_before,
        "the signer's chain was checked online while signing"
    );
    sb.shutdown().await;

    // The network is off: everything needed is in the DSS.
    pyhanko_finds_the_revocation_proof_in_the_dss(&outs, &root, &tsa_root, dir.path());
    for (level, out) in &outs {
        let o = output(
            crpki()
                .args(["pdf", "verify", "--json", "--revocation", "require", "--ca"])
                .arg(&root)
                .arg("--tsa-ca")
                .arg(&tsa_root)
                .arg(out),
        );
        assert!(o.status.success(), "{level}: {}", text(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let sig = &v["signatures"][0];
        assert_eq!(sig["level"], level.to_string(), "{v:#}");
        assert_eq!(sig["trusted"], true, "{v:#}");
        assert_eq!(sig["timestamp"]["trusted"], true, "{v:#}");
        let certs = sig["revocation"]["certificates"].as_array().unwrap();
        assert!(
            !certs.is_empty() && certs.iter().all(|c| c["answer"]["status"] == "good"),
            "{v:#}"
        );
        if *level == Level::BLTA {
            let dts = &v["signatures"][1];
            assert_eq!(dts["document_timestamp"], true, "{v:#}");
            assert_eq!(dts["trusted"], true, "{v:#}");
            assert_eq!(dts["covers_whole_document"], true, "{v:#}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_signer_fails_pdf_verify_and_cannot_sign_b_lt() {
    // Its own state: the revocation origin of a state is served by one
    // sandbox at a time, and the other tests' sandboxes stop when they end.
    let sb = own_state_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.pdf");
    std::fs::write(&input, minimal_pdf("Signed by erin", None)).unwrap();
    let signer = sandbox_signer(&sb, "erin", "erin-rsa").await;
    let out = dir.path().join("erin.pdf");
    pdf::sign_files(&signer, &[PdfJob::new(&input, &out)], &SignOptions::default())
        .await
        .unwrap();
    let root = dir.path().join("registrar-root.pem");
    std::fs::write(&root, sb.registrar_root().to_pem()).unwrap();
    let tls_ca = dir.path().join("tls-ca.pem");
    std::fs::write(&tls_ca, sb.tls_ca_pem()).unwrap();
    for policy in ["prefer", "require"] {
        let o = output(
            crpki()
                .args(["pdf", "verify", "--revocation", policy, "--ca"])
                .arg(&root)
                .arg("--tls-ca")
                .arg(&tls_ca)
                .arg(&out),
        );
        let t = text(&o);
        assert!(!o.status.success(), "{policy}: {t}");
        assert!(
            t.contains("revoked") && t.contains("keyCompromise"),
            "{policy}: {t}"
        );
    }
    // With revocation off, the same signature is intact and trusted.
    let o = output(
        crpki()
            .args(["pdf", "verify", "--revocation", "off", "--ca"])
            .arg(&root)
            .arg(&out),
    );
    assert!(o.status.success(), "{}", text(&o));

    // B-LT refuses to embed the proof of a revoked signer: no output.
    let lt = dir.path().join("erin-lt.pdf");
    let err = pdf::sign_files(
        &signer,
        &[PdfJob::new(&input, &lt)],
        &level_options(&sb, Level::BLT),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("revoked"), "{err}");
    assert!(!lt.exists());

    // Long-term validation: B-T with a signature timestamp from the
    // sandbox TSA's key dated 12 h before erin's revocation (a TSA on
    // mockito makes it for each real request) verifies, with a warning,
    // when the TSA is trusted; untrusted, it is revoked as before.
    let tsa_dir = sb.tsa_root_path().parent().unwrap().to_path_buf();
    let pem = std::fs::read_to_string(tsa_dir.join("tsa.key.pem")).unwrap();
    let (_, der) = der::pem::decode_vec(pem.as_bytes()).unwrap();
    let tsa_key = crpki::PrivateKey::from_pkcs8_der(&der).unwrap();
    let tsa_cert =
        crpki::Certificate::from_pem_or_der(&std::fs::read(tsa_dir.join("tsa.pem")).unwrap()).unwrap();
    let revoked_at =
        crpki::RemoteSigner::certificate(&signer).not_before() + std::time::Duration::from_secs(24 * 3600);
    let stamped_at = revoked_at - std::time::Duration::from_secs(12 * 3600);
    let mut server = mockito::Server::new_async().await;
    let _mock = server
        .mock("POST", "/tsa")
        .with_header("content-type", crpki::tsp::TIMESTAMP_REPLY)
        .with_body_from_request(move |req| {
            crpki::sandbox::timestamp_reply(&tsa_key, &tsa_cert, req.body().unwrap(), stamped_at).unwrap()
        })
        .create_async()
        .await;
    let tsa = crpki::tsp::TsaClient::new(
        sandbox_client(&sb),
        &format!("{}/tsa", server.url()),
        Some(vec![sb.tsa_root().clone()]),
    )
    .unwrap();
    let bt = dir.path().join("erin-bt.pdf");
    let options = SignOptions {
        level: Level::BT,
        tsa: Some(std::sync::Arc::new(tsa)),
        ..SignOptions::default()
    };
    pdf::sign_files(&signer, &[PdfJob::new(&input, &bt)], &options)
        .await
        .unwrap();
    let verify_bt = |tsa_ca: bool| {
        let mut cmd = crpki();
        cmd.args(["pdf", "verify", "--revocation", "require", "--ca"])
            .arg(&root)
            .arg("--tls-ca")
            .arg(&tls_ca);
        if tsa_ca {
            cmd.arg("--tsa-ca").arg(sb.tsa_root_path());
        }
        output(cmd.arg(&bt))
    };
    let o = verify_bt(true);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("was revoked at") && t.contains("keyCompromise"), "{t}");
    let o = verify_bt(false);
    assert!(!o.status.success(), "{}", text(&o));
    sb.shutdown().await;
}

/// A hybrid-reference file (PDF 1.5 §7.5.8.4): a classic table whose
/// trailer's `/XRefStm` points at an xref stream holding the one object
/// (the font) that lives in an object stream.
fn hybrid_pdf() -> Vec<u8> {
    let content = "BT /F1 24 Tf 72 700 Td (Hybrid) Tj ET";
    let font = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>";
    let objstm_body = format!("5 0 {font}");
    let objs = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".into(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .into(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
    ];
    let mut out = b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objs.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let objstm_at = out.len();
    out.extend_from_slice(
        format!(
            "6 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Length {} >>\nstream\n{objstm_body}\nendstream\nendobj\n",
            objstm_body.len()
        )
        .as_bytes(),
    );
    // Object 5 is entry 0 of object stream 6.
    let data = [2u8, 0, 6, 0];
    let xrefstm_at = out.len();
    out.extend_from_slice(b"7 0 obj\n<< /Type /XRef /Size 8 /W [1 2 1] /Index [5 1] /Length 4 >>\nstream\n");
    out.extend_from_slice(&data);
    out.extend_from_slice(b"\nendstream\nendobj\n");
    let xref = out.len();
    out.extend_from_slice(b"xref\n0 8\n0000000000 65535 f \n");
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    // Object 5 is free in the table; the xref stream has it.
    out.extend_from_slice(b"0000000000 00001 f \n");
    out.extend_from_slice(format!("{objstm_at:010} 00000 n \n{xrefstm_at:010} 00000 n \n").as_bytes());
    out.extend_from_slice(
        format!("trailer\n<< /Size 8 /Root 1 0 R /XRefStm {xrefstm_at} >>\nstartxref\n{xref}\n%%EOF\n")
            .as_bytes(),
    );
    out
}

#[tokio::test]
async fn a_hybrid_reference_file_gets_a_table_update() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("hybrid.pdf");
    std::fs::write(&input, hybrid_pdf()).unwrap();
    qpdf_check(&input);
    let out = dir.path().join("hybrid.signed.pdf");
    sign_one(&input, &out, &SignOptions::default()).await;
    let original = std::fs::read(&input).unwrap();
    let signed = std::fs::read(&out).unwrap();
    assert!(signed.starts_with(&original));
    let tail = String::from_utf8_lossy(&signed[original.len()..]).into_owned();
    assert!(
        tail.contains("\nxref\n") && tail.contains("\ntrailer\n"),
        "{tail:.400}"
    );
    qpdf_check(&out);
    let report = verify(&out);
    assert!(report.signatures[0].trusted && report.signatures[0].covers_whole_document);
    // pyHanko reads hybrid files only with --no-strict-syntax.
    let python = pyhanko_venv::venv_python();
    let o = output(
        Command::new(python)
            .arg(VALIDATE)
            .args([
                "sign",
                "validate",
                "--no-strict-syntax",
                "--no-revocation-check",
                "--trust-replace",
                "--trust",
            ])
            .arg(root_pem())
            .arg(&out)
            .env("PYTHONWARNINGS", "ignore"),
    );
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains(":INTACT:TRUSTED,UNTOUCHED"), "{t}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_through_the_sandbox_is_one_sign_hash_call() {
    let sb = csc_support::sandbox().await;
    let signer = sandbox_signer(&sb, "alice", "alice-rsa").await;
    let dir = tempfile::tempdir().unwrap();
    let jobs: Vec<PdfJob> = (0..4)
        .map(|i| {
            let input = dir.path().join(format!("c{i}.pdf"));
            std::fs::write(&input, minimal_pdf(&format!("Contract {i}"), None)).unwrap();
            PdfJob::new(&input, PdfJob::default_output(&input))
        })
        .collect();
    let before = sb.stats();
    pdf::sign_files(&signer, &jobs, &SignOptions::default())
        .await
        .unwrap();
    let after = sb.stats();
    assert_eq!(
        after.sign_hash_calls - before.sign_hash_calls,
        1,
        "one signHash for the batch"
    );
    assert_eq!(after.signatures - before.signatures, 4);
    let root = sb.registrar_root().clone();
    for job in &jobs {
        let report = pdf::verify_file(
            &job.output,
            std::slice::from_ref(&root),
            &VerifyOptions {
                revocation: crpki::revocation::RevocationPolicy::Off,
                ..VerifyOptions::default()
            },
        )
        .unwrap();
        assert!(report.signatures[0].trusted, "{:?}", report.signatures[0]);
    }
    sb.shutdown().await;
}
