//! XML signatures (issue 17), checked against `xmlsec1` (Debian's, OpenSSL
//! backend) and `openssl`: our C14N against the W3C examples and against
//! xmlsec1 over generated namespace-heavy documents; e-Gov manifests and
//! enveloped documents signed by us and verified by xmlsec1, signed by
//! xmlsec1 and verified by us; tampering seen by both; hostile input
//! refused.
#![allow(clippy::unwrap_used)]

mod csc_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crpki::testing::fixtures;
use crpki::testing::openssl::{PlainPki, plain_pki};
use crpki::xml::{self, C14nMethod, EgovOptions, EnvelopedOptions, VerifyOptions};
use crpki::{Certificate, RemoteSigner};

const KOUSEI_NS: &str = "http://www.e-gov.go.jp/test/kousei";

fn run(dir: &Path, program: &str, args: &[&str]) -> Output {
    crpki::testing::require_tool(program, program);
    Command::new(program)
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn roots(path: &Path) -> Vec<Certificate> {
    Certificate::parse_all(&std::fs::read(path).unwrap()).unwrap()
}

fn id_attr() -> String {
    format!("{KOUSEI_NS}:構成情報")
}

fn xmlsec_verify(dir: &Path, file: &Path, ca: &Path, extra: &[&str]) -> Output {
    let id = id_attr();
    let mut args = vec![
        "--verify",
        "--trusted-pem",
        ca.to_str().unwrap(),
        "--id-attr:ID",
        &id,
    ];
    args.extend_from_slice(extra);
    args.push(file.to_str().unwrap());
    run(dir, "xmlsec1", &args)
}

/// `xmlsec1 --sign` of the template in `file`, in place, with the plain
/// TEST key (the e-Gov ID attribute registered).
fn xmlsec_sign(dir: &Path, pki: &PlainPki, file: &Path) {
    let key = format!("{},{}", pki.key.display(), pki.cert.display());
    let id = id_attr();
    let f = file.to_str().unwrap();
    let out = run(
        dir,
        "xmlsec1",
        &[
            "--sign",
            "--privkey-pem",
            &key,
            "--id-attr:ID",
            &id,
            "--output",
            f,
            f,
        ],
    );
    assert!(
        out.status.success(),
        "xmlsec1 --sign on\n{}\n{}",
        std::fs::read_to_string(file).unwrap_or_default(),
        text(&out.stderr)
    );
}

/// A synthetic e-Gov manifest (the default namespace declared on the
/// root, above the signed `<構成情報>`) and its application files.
fn egov_dir(dir: &Path) -> PathBuf {
    std::fs::write(
        dir.join("900A010200001000_01.xml"),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<様式><氏名>山田 太郎</氏名></様式>\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("attachment.pdf"),
        b"%PDF-1.4 synthetic \x00\x01\x02 attachment\n",
    )
    .unwrap();
    let manifest = dir.join("kousei.xml");
    std::fs::write(
        &manifest,
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<申請データ xmlns=\"{KOUSEI_NS}\" xmlns:未使用=\"urn:unused\" xml:lang=\"ja\">\n\t<DataRoot>\n\t\t<様式ID>900A010200001000</様式ID>\n\t\t<構成情報 ID=\"構成情報\">\n\t\t\t<管理情報><手続ID>900A010200001000</手続ID><申請種別>新規申請</申請種別></管理情報>\n\t\t\t<申請書属性情報><申請書様式ID>900A01020000100001</申請書様式ID><申請書ファイル名称>900A010200001000_01.xml</申請書ファイル名称></申請書属性情報>\n\t\t\t<添付書類属性情報><添付書類名称>参考資料</添付書類名称><添付書類ファイル名称>attachment.pdf</添付書類ファイル名称></添付書類属性情報>\n\t\t</構成情報>\n\t\t<その他/>\n\t</DataRoot>\n</申請データ>\n"
        ),
    )
    .unwrap();
    manifest
}

async fn sign_egov(signer: &dyn RemoteSigner, manifest: &Path, iri: bool) {
    xml::sign_egov_file(
        signer,
        manifest,
        &EgovOptions {
            iri_reference: iri,
            ..EgovOptions::default()
        },
    )
    .await
    .unwrap();
}

fn our_verify(file: &Path, ca: &Path) -> crpki::Result<xml::XmlVerification> {
    xml::verify_file(file, &roots(ca), &VerifyOptions::default()).and_then(|r| r.into_result())
}

fn tamper_text(file: &Path, from: &str, to: &str) {
    let t = std::fs::read_to_string(file).unwrap();
    assert!(t.contains(from), "{from} not in {}", file.display());
    std::fs::write(file, t.replacen(from, to, 1)).unwrap();
}

// ---------------------------------------------------------------- C14N

fn c14n(text: &str, apex: Option<&str>, method: &C14nMethod) -> String {
    String::from_utf8(xml::canonicalize_text(text, apex, method).unwrap()).unwrap()
}

fn with_comments(mut m: C14nMethod) -> C14nMethod {
    m.with_comments = true;
    m
}

#[test]
fn c14n_w3c_examples() {
    // Canonical XML 1.0, example 3.1 (its DOCTYPE left out: we refuse DTDs).
    let doc = "<?xml version=\"1.0\"?>\n\n<?xml-stylesheet   href=\"doc.xsl\"\n   type=\"text/xsl\"   ?>\n\n<doc>Hello, world!<!-- Comment 1 --></doc>\n\n<?pi-without-data     ?>\n\n<!-- Comment 2 -->\n\n<!-- Comment 3 -->\n";
    assert_eq!(
        c14n(doc, None, &C14nMethod::inclusive()),
        "<?xml-stylesheet href=\"doc.xsl\"\n   type=\"text/xsl\"   ?>\n<doc>Hello, world!</doc>\n<?pi-without-data?>"
    );
    assert_eq!(
        c14n(doc, None, &with_comments(C14nMethod::inclusive())),
        "<?xml-stylesheet href=\"doc.xsl\"\n   type=\"text/xsl\"   ?>\n<doc>Hello, world!<!-- Comment 1 --></doc>\n<?pi-without-data?>\n<!-- Comment 2 -->\n<!-- Comment 3 -->"
    );
    // Example 3.2: whitespace in content is kept.
    let doc = "<doc>\n   <clean>   </clean>\n   <dirty>   A   B   </dirty>\n   <mixed>\n      A\n      <clean>   </clean>\n      B\n      <dirty>   A   B   </dirty>\n      C\n   </mixed>\n</doc>";
    assert_eq!(c14n(doc, None, &C14nMethod::inclusive()), doc);
    // Example 3.3 (its DTD left out, so e9 gets no defaulted attribute):
    // empty elements, attribute and namespace order, superfluous
    // declarations, default namespace undeclarations.
    let doc = "<doc>\n   <e1   />\n   <e2   ></e2>\n   <e3   name = \"elem3\"   id=\"elem3\"   />\n   <e4   name=\"elem4\"   id=\"elem4\"   ></e4>\n   <e5 a:attr=\"out\" b:attr=\"sorted\" attr2=\"all\" attr=\"I'm\"\n      xmlns:b=\"http://www.ietf.org\"\n      xmlns:a=\"http://www.w3.org\"\n      xmlns=\"http://example.org\"/>\n   <e6 xmlns=\"\" xmlns:a=\"http://www.w3.org\">\n      <e7 xmlns=\"http://www.ietf.org\">\n         <e8 xmlns=\"\" xmlns:a=\"http://www.w3.org\">\n            <e9 xmlns=\"\" xmlns:a=\"http://www.ietf.org\"/>\n         </e8>\n      </e7>\n   </e6>\n</doc>";
    assert_eq!(
        c14n(doc, None, &C14nMethod::inclusive()),
        "<doc>\n   <e1></e1>\n   <e2></e2>\n   <e3 id=\"elem3\" name=\"elem3\"></e3>\n   <e4 id=\"elem4\" name=\"elem4\"></e4>\n   <e5 xmlns=\"http://example.org\" xmlns:a=\"http://www.w3.org\" xmlns:b=\"http://www.ietf.org\" attr=\"I'm\" attr2=\"all\" b:attr=\"sorted\" a:attr=\"out\"></e5>\n   <e6 xmlns:a=\"http://www.w3.org\">\n      <e7 xmlns=\"http://www.ietf.org\">\n         <e8 xmlns=\"\">\n            <e9 xmlns:a=\"http://www.ietf.org\"></e9>\n         </e8>\n      </e7>\n   </e6>\n</doc>"
    );
    // Example 3.6 (in UTF-8: other encodings are refused): a character
    // reference becomes the UTF-8 character.
    assert_eq!(
        c14n(
            "<?xml version=\"1.0\"?><doc>&#169;</doc>",
            None,
            &C14nMethod::inclusive()
        ),
        "<doc>\u{a9}</doc>"
    );
    // Example 3.4 (the parts without a DTD): character references and escapes.
    let doc = "<doc>\n   <text>First line&#x0d;&#10;Second line</text>\n   <value>&#x32;</value>\n   <compute><![CDATA[value>\"0\" && value<\"10\" ?\"valid\":\"error\"]]></compute>\n   <compute expr='value>\"0\" &amp;&amp; value&lt;\"10\" ?\"valid\":\"error\"'>valid</compute>\n</doc>";
    assert_eq!(
        c14n(doc, None, &C14nMethod::inclusive()),
        "<doc>\n   <text>First line&#xD;\nSecond line</text>\n   <value>2</value>\n   <compute>value&gt;\"0\" &amp;&amp; value&lt;\"10\" ?\"valid\":\"error\"</compute>\n   <compute expr=\"value>&quot;0&quot; &amp;&amp; value&lt;&quot;10&quot; ?&quot;valid&quot;:&quot;error&quot;\">valid</compute>\n</doc>"
    );
    // Exclusive XML Canonicalization 1.0, the example of section 2.2.
    let doc = "<n0:local xmlns:n0=\"foo:bar\" xmlns:n3=\"ftp://example.org\"><n1:elem2 xmlns:n1=\"http://example.net\" xml:lang=\"en\"><n3:stuff xmlns:n3=\"ftp://example.org\"/></n1:elem2></n0:local>";
    assert_eq!(
        c14n(doc, Some("elem2"), &C14nMethod::inclusive()),
        "<n1:elem2 xmlns:n0=\"foo:bar\" xmlns:n1=\"http://example.net\" xmlns:n3=\"ftp://example.org\" xml:lang=\"en\"><n3:stuff></n3:stuff></n1:elem2>"
    );
    assert_eq!(
        c14n(doc, Some("elem2"), &C14nMethod::exclusive()),
        "<n1:elem2 xmlns:n1=\"http://example.net\" xml:lang=\"en\"><n3:stuff xmlns:n3=\"ftp://example.org\"></n3:stuff></n1:elem2>"
    );
}

#[test]
fn c14n_subset_inherits_the_default_namespace_without_a_stray_undeclaration() {
    let doc = "<申請データ xmlns=\"urn:k\" xml:lang=\"ja\"><構成情報 ID=\"構成情報\"><氏名>山田</氏名><x xmlns=\"\"><y/></x></構成情報></申請データ>";
    assert_eq!(
        c14n(doc, Some("構成情報"), &C14nMethod::inclusive()),
        "<構成情報 xmlns=\"urn:k\" ID=\"構成情報\" xml:lang=\"ja\"><氏名>山田</氏名><x xmlns=\"\"><y></y></x></構成情報>"
    );
    assert_eq!(
        c14n(doc, Some("構成情報"), &C14nMethod::exclusive()),
        "<構成情報 xmlns=\"urn:k\" ID=\"構成情報\"><氏名>山田</氏名><x xmlns=\"\"><y></y></x></構成情報>"
    );
    // An apex in no namespace gets no xmlns="" at all.
    assert_eq!(
        c14n(doc, Some("x"), &C14nMethod::inclusive()),
        "<x xml:lang=\"ja\"><y></y></x>"
    );
    assert_eq!(c14n(doc, Some("x"), &C14nMethod::exclusive()), "<x><y></y></x>");
}

/// A tiny deterministic generator (no dependency for a test corpus).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

fn gen_element(rng: &mut Lcg, depth: usize, in_scope: &[&'static str], out: &mut String) {
    const PREFIXES: [&str; 3] = ["a", "b", "ゆ"];
    // libxml2 refuses namespace URIs that are not URIs (such as "urn:三").
    const URIS: [&str; 3] = ["urn:one", "http://example.org/two", "urn:%E4%B8%89"];
    const NAMES: [&str; 4] = ["e", "項目", "item", "データ"];
    let mut scope: Vec<&'static str> = in_scope.to_vec();
    let mut decls = String::new();
    for (i, p) in PREFIXES.iter().enumerate() {
        if rng.next(3) == 0 {
            decls.push_str(&format!(" xmlns:{p}=\"{}\"", URIS[(i + rng.next(3)) % 3]));
            if !scope.contains(p) {
                scope.push(p);
            }
        }
    }
    match rng.next(4) {
        0 => decls.push_str(&format!(" xmlns=\"{}\"", URIS[rng.next(3)])),
        1 if depth > 0 => decls.push_str(" xmlns=\"\""),
        _ => {}
    }
    let prefix = if !scope.is_empty() && rng.next(2) == 0 {
        Some(scope[rng.next(scope.len())])
    } else {
        None
    };
    let name = match prefix {
        Some(p) => format!("{p}:{}", NAMES[rng.next(4)]),
        None => NAMES[rng.next(4)].to_owned(),
    };
    let mut attrs = String::new();
    if rng.next(2) == 0 {
        attrs.push_str(" z=\"1 &amp; &lt;2&gt; &quot;q&quot; &#9;tab&#10;nl&#13;cr\"");
    }
    if rng.next(2) == 0 {
        attrs.push_str(" 属性='値'");
    }
    if let Some(p) = scope.first().filter(|_| rng.next(2) == 0) {
        attrs.push_str(&format!(" {p}:attr=\"x\""));
    }
    out.push_str(&format!("<{name}{decls}{attrs}>"));
    for _ in 0..rng.next(4) {
        match rng.next(6) {
            0 if depth < 4 => gen_element(rng, depth + 1, &scope, out),
            1 => out.push_str("text &amp; &lt;more&gt; &#13;\r\n日本語 "),
            2 => out.push_str("<!-- a comment -->"),
            3 => out.push_str("<?pi some data ?>"),
            4 => out.push_str("<![CDATA[<cdata> & ]]>"),
            _ => out.push_str("\n  "),
        }
    }
    out.push_str(&format!("</{name}>"));
}

/// Our canonical form of generated documents against xmlsec1's: xmlsec1
/// digests `#xpointer(/)` (the whole document, comments kept) through
/// the enveloped transform and each of the four methods; we compare its
/// DigestValue with the SHA-256 of our canonical output.
#[test]
fn c14n_matches_xmlsec1_over_a_generated_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let pki = plain_pki(dir.path(), "XML");
    let methods = [
        C14nMethod::inclusive(),
        with_comments(C14nMethod::inclusive()),
        C14nMethod::exclusive(),
        with_comments(C14nMethod::exclusive()),
    ];
    let mut rng = Lcg(17);
    let mut compared = 0;
    for case in 0..12 {
        let mut body = String::new();
        gen_element(&mut rng, 0, &[], &mut body);
        let doc = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- before -->\n{body}\n<?after the root?>\n"
        );
        for method in &methods {
            let template = format!(
                "<Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><SignedInfo><CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/><SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/><Reference URI=\"#xpointer(/)\"><Transforms><Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/><Transform Algorithm=\"{}\"/></Transforms><DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/><DigestValue></DigestValue></Reference></SignedInfo><SignatureValue/></Signature>",
                method.uri()
            );
            let end = doc.rfind("</").unwrap();
            let templated = format!("{}{template}{}", &doc[..end], &doc[end..]);
            let input = dir.path().join(format!("c{case}.xml"));
            std::fs::write(&input, &templated).unwrap();
            xmlsec_sign(dir.path(), &pki, &input);
            let signed = std::fs::read_to_string(&input).unwrap();
            let theirs = signed
                .split("<DigestValue>")
                .nth(1)
                .unwrap()
                .split("</DigestValue>")
                .next()
                .unwrap();
            let ours_c14n = xml::canonicalize_text(&doc, None, method).unwrap();
            let ours = base64_sha256(&ours_c14n);
            assert_eq!(
                ours,
                theirs,
                "{} of\n{doc}\nours:\n{}",
                method.uri(),
                String::from_utf8_lossy(&ours_c14n)
            );
            compared += 1;
        }
    }
    assert_eq!(compared, 48);
}

fn base64_sha256(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(crpki::HashAlgorithm::Sha256.digest(data).as_bytes())
}

// ------------------------------------------------- e-Gov and enveloped

#[tokio::test]
async fn egov_plain_signer_verified_by_xmlsec1_and_by_us() {
    let dir = tempfile::tempdir().unwrap();
    let pki = plain_pki(dir.path(), "XML");
    for iri in [true, false] {
        let manifest = egov_dir(dir.path());
        sign_egov(&pki.signer, &manifest, iri).await;
        let signed = std::fs::read_to_string(&manifest).unwrap();
        assert!(signed.contains("<署名情報><Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\" Id=\""));
        assert!(signed.contains("<Reference URI=\"900A010200001000_01.xml\">"));
        assert!(signed.contains("<Reference URI=\"attachment.pdf\">"));
        let report = our_verify(&manifest, &pki.ca).unwrap();
        assert_eq!(report.signatures[0].references.len(), 3);
        let out = xmlsec_verify(dir.path(), &manifest, &pki.ca, &[]);
        if iri {
            assert!(out.status.success(), "xmlsec1: {}", text(&out.stderr));
        } else {
            // e-Gov's percent-encoded "#%E6%A7%8B…": xmlsec1 1.2 looks the
            // fragment up without decoding it, so it cannot find the element.
            assert!(signed.contains("URI=\"#%E6%A7%8B%E6%88%90%E6%83%85%E5%A0%B1\""));
            let err = text(&out.stderr);
            assert!(
                !out.status.success() && err.contains("xpointer(id('%E6%A7%8B"),
                "{err}"
            );
        }
    }
}

#[tokio::test]
async fn egov_tampering_is_seen_by_both() {
    let dir = tempfile::tempdir().unwrap();
    let pki = plain_pki(dir.path(), "XML");
    // One changed text node of the manifest part.
    let manifest = egov_dir(dir.path());
    sign_egov(&pki.signer, &manifest, true).await;
    tamper_text(&manifest, "新規申請", "再申請");
    assert!(our_verify(&manifest, &pki.ca).is_err());
    assert!(
        !xmlsec_verify(dir.path(), &manifest, &pki.ca, &[])
            .status
            .success()
    );
    // One changed byte of an application file.
    let manifest = egov_dir(dir.path());
    sign_egov(&pki.signer, &manifest, true).await;
    let app = dir.path().join("attachment.pdf");
    let mut bytes = std::fs::read(&app).unwrap();
    bytes[5] ^= 1;
    std::fs::write(&app, bytes).unwrap();
    let report = xml::verify_file(&manifest, &roots(&pki.ca), &VerifyOptions::default()).unwrap();
    let bad: Vec<_> = report.signatures[0]
        .references
        .iter()
        .filter(|r| !r.intact)
        .collect();
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].uri, "attachment.pdf");
    assert!(report.into_result().is_err());
    assert!(
        !xmlsec_verify(dir.path(), &manifest, &pki.ca, &[])
            .status
            .success()
    );
}

#[tokio::test]
async fn enveloped_plain_signer_verified_by_xmlsec1_and_by_us() {
    let dir = tempfile::tempdir().unwrap();
    let pki = plain_pki(dir.path(), "XML");
    let doc = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- header -->\n<p:申請 xmlns:p=\"urn:p\" xmlns=\"urn:d\"><p:氏名 p:種別=\"個人\">山田 &amp; 太郎</p:氏名><内容 xmlns=\"\">本文</内容></p:申請>\n";
    for method in [C14nMethod::exclusive(), C14nMethod::inclusive()] {
        let signed = xml::sign_enveloped(
            &pki.signer,
            doc,
            &EnvelopedOptions {
                c14n: method.clone(),
                ..EnvelopedOptions::default()
            },
        )
        .await
        .unwrap();
        let file = dir.path().join("enveloped.xml");
        std::fs::write(&file, &signed).unwrap();
        our_verify(&file, &pki.ca).unwrap();
        let out = xmlsec_verify(dir.path(), &file, &pki.ca, &[]);
        assert!(
            out.status.success(),
            "xmlsec1 ({}): {}",
            method.uri(),
            text(&out.stderr)
        );
        tamper_text(&file, "本文", "本分");
        assert!(our_verify(&file, &pki.ca).is_err());
        assert!(!xmlsec_verify(dir.path(), &file, &pki.ca, &[]).status.success());
    }
}

/// The MOJ certificate: xmlsec1 refuses its critical extensions with no
/// switch; `--insecure` checks signature and references with the key of
/// X509Data, and `openssl verify -ignore_critical` checks the chain.
#[tokio::test]
async fn moj_signer_xmlsec1_insecure_plus_openssl_chain() {
    let root = fixtures::path("registrar-root.pem");
    // RSA (rsa-sha256) and P-256 (ecdsa-sha256, r ‖ s in SignatureValue).
    for name in ["rep-rsa2048", "rep-ecdsa"] {
        let dir = tempfile::tempdir().unwrap();
        let signer = fixtures::memory_signer(name);
        let manifest = egov_dir(dir.path());
        sign_egov(&signer, &manifest, true).await;
        let enveloped = dir.path().join("enveloped.xml");
        let signed = xml::sign_enveloped(&signer, "<doc>MOJ</doc>", &EnvelopedOptions::default())
            .await
            .unwrap();
        std::fs::write(&enveloped, signed).unwrap();
        for file in [&manifest, &enveloped] {
            let report = our_verify(file, &root).unwrap();
            let moj = report.signatures[0].moj.as_ref().expect("MOJ fields");
            assert!(moj.corporate_name.is_some());
            let strict = xmlsec_verify(dir.path(), file, &root, &[]);
            let err = text(&strict.stderr);
            assert!(
                !strict.status.success() && err.contains("unhandled critical extension"),
                "{name}: {err}"
            );
            let insecure = xmlsec_verify(dir.path(), file, &root, &["--insecure"]);
            assert!(
                insecure.status.success(),
                "{name}: xmlsec1 --insecure: {}",
                text(&insecure.stderr)
            );
        }
        let chain = run(
            dir.path(),
            "openssl",
            &[
                "verify",
                "-ignore_critical",
                "-CAfile",
                root.to_str().unwrap(),
                fixtures::path(&format!("{name}.pem")).to_str().unwrap(),
            ],
        );
        assert!(chain.status.success(), "openssl verify: {}", text(&chain.stderr));
    }
}

/// Signatures made by `xmlsec1 --sign` from templates of both layouts,
/// the e-Gov one with the Japanese ID, verified by us.
#[test]
fn xmlsec1_signatures_verified_by_us() {
    let dir = tempfile::tempdir().unwrap();
    let pki = plain_pki(dir.path(), "XML");
    let manifest = egov_dir(dir.path());
    let egov_template = "<署名情報><Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\" Id=\"20260101090000\"><SignedInfo><CanonicalizationMethod Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"/><SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/><Reference URI=\"#構成情報\"><Transforms><Transform Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"/></Transforms><DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/><DigestValue/></Reference><Reference URI=\"900A010200001000_01.xml\"><DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/><DigestValue/></Reference><Reference URI=\"attachment.pdf\"><DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/><DigestValue/></Reference></SignedInfo><SignatureValue/><KeyInfo><X509Data/></KeyInfo></Signature></署名情報>";
    tamper_text(&manifest, "</構成情報>", &format!("</構成情報>{egov_template}"));
    let enveloped = dir.path().join("enveloped.xml");
    std::fs::write(&enveloped, "<?xml version=\"1.0\"?>\n<a:doc xmlns:a=\"urn:a\" xmlns=\"urn:d\"><b>xmlsec1 &amp; crpki</b><Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><SignedInfo><CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/><SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/><Reference URI=\"\"><Transforms><Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/><Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/></Transforms><DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/><DigestValue/></Reference></SignedInfo><SignatureValue/><KeyInfo><X509Data/></KeyInfo></Signature></a:doc>\n").unwrap();
    // Exclusive C14N with an InclusiveNamespaces PrefixList, in the
    // Reference and in SignedInfo.
    let prefixed = dir.path().join("prefixes.xml");
    let inc = "<ec:InclusiveNamespaces xmlns:ec=\"http://www.w3.org/2001/10/xml-exc-c14n#\" PrefixList=\"u #default\"/>";
    std::fs::write(&prefixed, format!("<r xmlns=\"urn:d\" xmlns:u=\"urn:u\" xmlns:v=\"urn:v\"><x xmlns=\"\">1</x><Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\" xmlns:u=\"urn:u2\"><SignedInfo><CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\">{inc}</CanonicalizationMethod><SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/><Reference URI=\"\"><Transforms><Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/><Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\">{inc}</Transform></Transforms><DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/><DigestValue/></Reference></SignedInfo><SignatureValue/><KeyInfo><X509Data/></KeyInfo></Signature></r>")).unwrap();
    for file in [&manifest, &enveloped, &prefixed] {
        xmlsec_sign(dir.path(), &pki, file);
        let report = our_verify(file, &pki.ca).unwrap();
        assert!(report.signatures[0].references.iter().all(|r| r.intact));
    }

    // A signature over <構成情報> that leaves out a file the manifest
    // names does not hold (xmlsec1 signs what the template lists).
    let manifest = egov_dir(dir.path());
    let partial = egov_template.replace("<Reference URI=\"attachment.pdf\"><DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/><DigestValue/></Reference>", "");
    tamper_text(&manifest, "</構成情報>", &format!("</構成情報>{partial}"));
    xmlsec_sign(dir.path(), &pki, &manifest);
    let report = xml::verify_file(&manifest, &roots(&pki.ca), &VerifyOptions::default()).unwrap();
    let missing: Vec<_> = report.signatures[0]
        .references
        .iter()
        .filter(|r| !r.intact)
        .collect();
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0].uri, "attachment.pdf");
    assert!(report.into_result().is_err());
}

/// Several documents through the remote path (the sandbox's CSC RSSP
/// over HTTPS): one authorization and one signHash for the whole batch,
/// one signature per document, each verified by us and by xmlsec1.
#[tokio::test]
async fn a_batch_is_one_authorization_at_the_remote_service() {
    use csc_support::{alice_signer, client, delta, sandbox};
    let sb = sandbox().await;
    let signer = alice_signer(std::sync::Arc::new(client(
        &sb,
        crpki::csc::CscVersion::V2,
        "alice",
    )))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root.pem");
    std::fs::write(&root, sb.registrar_root().to_pem()).unwrap();
    let manifest = egov_dir(dir.path());
    let mut prepared = vec![
        xml::prepare_egov(
            &signer,
            &std::fs::read_to_string(&manifest).unwrap(),
            dir.path(),
            &EgovOptions {
                iri_reference: true,
                ..EgovOptions::default()
            },
        )
        .unwrap(),
    ];
    for i in 0..3 {
        let doc = format!("<doc n=\"{i}\">document {i}</doc>");
        prepared.push(xml::prepare_enveloped(&signer, &doc, &EnvelopedOptions::default()).unwrap());
    }
    let before = sb.stats();
    let signed = xml::sign_prepared(&signer, prepared).await.unwrap();
    let d = delta(before, sb.stats());
    assert_eq!((d.authorizations, d.sign_hash_calls, d.signatures), (1, 1, 4));
    for (i, signed_text) in signed.iter().enumerate() {
        let file = if i == 0 {
            manifest.clone()
        } else {
            dir.path().join(format!("doc{i}.xml"))
        };
        std::fs::write(&file, signed_text).unwrap();
        our_verify(&file, &root).unwrap();
        let out = xmlsec_verify(dir.path(), &file, &root, &["--insecure"]);
        assert!(out.status.success(), "xmlsec1: {}", text(&out.stderr));
    }
    sb.shutdown().await;
}

/// SHA-1 (rsa-sha1, sha1 digests): e-Gov still accepts it. We never make
/// it and verify it only when asked, with a warning.
#[test]
fn sha1_is_verified_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let pki = plain_pki(dir.path(), "XML");
    let file = dir.path().join("sha1.xml");
    std::fs::write(&file, "<doc><a>sha1</a><Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><SignedInfo><CanonicalizationMethod Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"/><SignatureMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#rsa-sha1\"/><Reference URI=\"\"><Transforms><Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/></Transforms><DigestMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#sha1\"/><DigestValue/></Reference></SignedInfo><SignatureValue/><KeyInfo><X509Data/></KeyInfo></Signature></doc>").unwrap();
    xmlsec_sign(dir.path(), &pki, &file);
    let e = xml::verify_file(&file, &roots(&pki.ca), &VerifyOptions::default()).unwrap_err();
    assert!(e.to_string().contains("--allow-sha1"), "{e}");
    let options = VerifyOptions {
        allow_sha1: true,
        ..VerifyOptions::default()
    };
    let report = xml::verify_file(&file, &roots(&pki.ca), &options)
        .unwrap()
        .into_result()
        .unwrap();
    assert_eq!(
        report.signatures[0].warnings.len(),
        2,
        "{:?}",
        report.signatures[0].warnings
    );
    tamper_text(&file, ">sha1<", ">sha2<");
    assert!(
        xml::verify_file(&file, &roots(&pki.ca), &options)
            .unwrap()
            .into_result()
            .is_err()
    );
}

// ---------------------------------------------------------- hostile input

#[tokio::test]
async fn hostile_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pki = plain_pki(dir.path(), "XML");
    let laughs = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\"><!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]><lolz>&lol3;</lolz>";
    let external =
        "<?xml version=\"1.0\"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><foo>&xxe;</foo>";
    let dtd_only = "<?xml version=\"1.0\"?><!DOCTYPE foo SYSTEM \"foo.dtd\"><foo/>";
    for doc in [laughs, external, dtd_only] {
        let e = xml::sign_enveloped(&pki.signer, doc, &EnvelopedOptions::default())
            .await
            .unwrap_err();
        assert!(e.to_string().contains("DTD"), "{e}");
        let e = xml::verify(doc, &roots(&pki.ca), &VerifyOptions::default()).unwrap_err();
        assert!(e.to_string().contains("DTD"), "{e}");
    }

    // Duplicate IDs.
    let dup = "<r><構成情報 ID=\"構成情報\"/><x ID=\"構成情報\"/></r>";
    let e = xml::prepare_egov(&pki.signer, dup, dir.path(), &EgovOptions::default()).unwrap_err();
    assert!(e.to_string().contains("more than one element"), "{e}");

    // References outside DIR, when signing and when verifying.
    let inner = dir.path().join("inner");
    std::fs::create_dir(&inner).unwrap();
    std::fs::write(dir.path().join("outside.txt"), "secret").unwrap();
    for name in [
        "../outside.txt",
        "/etc/passwd",
        "http://example.com/a.xml",
        "file:///etc/passwd",
        "a/../../outside.txt",
    ] {
        let manifest = format!(
            "<r><構成情報 ID=\"構成情報\"><申請書ファイル名称>{name}</申請書ファイル名称></構成情報></r>"
        );
        let e = xml::prepare_egov(&pki.signer, &manifest, &inner, &EgovOptions::default()).unwrap_err();
        assert!(e.to_string().contains("refused"), "{name}: {e}");
    }
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(dir.path().join("outside.txt"), inner.join("link.txt")).unwrap();
        let manifest =
            "<r><構成情報 ID=\"構成情報\"><申請書ファイル名称>link.txt</申請書ファイル名称></構成情報></r>";
        let e = xml::prepare_egov(&pki.signer, manifest, &inner, &EgovOptions::default()).unwrap_err();
        assert!(e.to_string().contains("outside"), "{e}");
    }
    // A signed manifest whose reference is edited to point outside: refused on verify.
    let manifest = egov_dir(&inner);
    sign_egov(&pki.signer, &manifest, false).await;
    tamper_text(&manifest, "URI=\"attachment.pdf\"", "URI=\"../outside.txt\"");
    let e = xml::verify_file(&manifest, &roots(&pki.ca), &VerifyOptions::default()).unwrap_err();
    assert!(e.to_string().contains("refused"), "{e}");
}

// ------------------------------------------------------------------ CLI

fn crpki(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_crpki"))
        .args(args)
        .env("CRPKI_TEST_P12_PASSWORD", fixtures::P12_PASSWORD)
        .env_remove("CRPKI_LOG")
        .output()
        .expect("run crpki")
}

#[test]
fn cli_sign_egov_verify_json_and_tamper() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = egov_dir(dir.path());
    let p12 = fixtures::path("rep-rsa2048.p12");
    let root = fixtures::path("registrar-root.pem");
    let m = manifest.to_str().unwrap();
    let out = crpki(&[
        "xml",
        "sign-egov",
        m,
        "--p12",
        p12.to_str().unwrap(),
        "--password-env",
        "CRPKI_TEST_P12_PASSWORD",
    ]);
    assert!(out.status.success(), "sign-egov: {}", text(&out.stderr));
    let out = crpki(&["xml", "verify", m, "--ca", root.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "verify: {}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], true);
    let sig = &v["signatures"][0];
    assert_eq!(sig["references"].as_array().unwrap().len(), 3);
    assert!(sig["signer"]["corporate_number"].is_string(), "{sig}");

    std::fs::write(dir.path().join("900A010200001000_01.xml"), "changed").unwrap();
    let out = crpki(&["xml", "verify", m, "--ca", root.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("NOT intact"), "{}", text(&out.stdout));

    // Enveloped, through the CLI.
    let input = dir.path().join("in.xml");
    std::fs::write(&input, "<doc xmlns=\"urn:x\"><a>1</a></doc>").unwrap();
    let output = dir.path().join("out.xml");
    let out = crpki(&[
        "xml",
        "sign",
        input.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
        "--p12",
        p12.to_str().unwrap(),
        "--password-env",
        "CRPKI_TEST_P12_PASSWORD",
    ]);
    assert!(out.status.success(), "sign: {}", text(&out.stderr));
    let out = crpki(&[
        "xml",
        "verify",
        output.to_str().unwrap(),
        "--ca",
        root.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "verify: {}", text(&out.stderr));

    // A manifest naming a missing file is refused before signing.
    std::fs::remove_file(dir.path().join("attachment.pdf")).unwrap();
    let fresh = dir.path().join("kousei2.xml");
    std::fs::write(&fresh, "<r><構成情報 ID=\"構成情報\"><添付書類ファイル名称>attachment.pdf</添付書類ファイル名称></構成情報></r>").unwrap();
    let out = crpki(&[
        "xml",
        "sign-egov",
        fresh.to_str().unwrap(),
        "--p12",
        p12.to_str().unwrap(),
        "--password-env",
        "CRPKI_TEST_P12_PASSWORD",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
}
