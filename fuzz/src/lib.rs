//! The bodies of crpki's fuzz targets, one function per target.
//!
//! Each function takes the fuzzer's bytes and drives one public entry point
//! of crpki with them; it only has to not panic, not hang and not blow up
//! (errors are the expected outcome). The `cargo-fuzz` binaries in
//! `fuzz_targets/` call these, and so does the main crate's
//! `tests/fuzz_corpora.rs`, which replays the checked-in corpora
//! (`fuzz/corpus/TARGET/`) through them on stable Rust: the same code,
//! fuzzed on nightly, replayed everywhere.
//!
//! Everything here uses crpki's public API only.

use std::io::Cursor;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crpki::cert::moj;
use crpki::cert::{CorporateInfo, MojInfo};
use crpki::csc::CscVersion;
use crpki::csc::wire::replies;
use crpki::provider::csp::CspProvider;
use crpki::provider::ksp::{KspProvider, Padding};
use crpki::provider::worker::DEFAULT_TIMEOUT;
use crpki::provider::{Api, Handle, Out, ProviderError, StaticSource, Worker, status_code};
use crpki::{Certificate, MemorySigner, Pkcs12Signer, RemoteSigner};

/// The content every `cms_verify` input is checked against (the seeds are
/// detached signatures over it).
pub const CMS_CONTENT: &[u8] = b"crpki fuzz corpus content\n";

/// The password `pkcs12` opens every input with (the fixtures' password,
/// so the seeds open).
pub const PKCS12_PASSWORD: &str = "crpki-test";

/// The names of the targets, as `fuzz_targets/NAME.rs` and
/// `fuzz/corpus/NAME/`.
pub const TARGETS: &[&str] = &[
    "cert",
    "cms_verify",
    "csc_replies",
    "pkcs12",
    "provider",
    "revocation",
    "tsp",
];

/// Runs target `name` on `data`; `false` for an unknown name.
pub fn run(name: &str, data: &[u8]) -> bool {
    match name {
        "cert" => cert(data),
        "cms_verify" => cms_verify(data),
        "csc_replies" => csc_replies(data),
        "pkcs12" => pkcs12(data),
        "provider" => provider(data),
        "revocation" => revocation(data),
        "tsp" => tsp(data),
        _ => return false,
    }
    true
}

const REGISTRAR_ROOT: &[u8] = include_bytes!("../../fixtures/registrar-root.der");
const REP_RSA2048: &[u8] = include_bytes!("../../fixtures/rep-rsa2048.der");
const OTHER_ROOT: &[u8] = include_bytes!("../../fixtures/other-root.der");

/// 2030-01-01: inside every fixture certificate's validity but the expired one.
fn fixed_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_893_456_000)
}

fn roots() -> Vec<Certificate> {
    [REGISTRAR_ROOT, OTHER_ROOT]
        .iter()
        .filter_map(|der| Certificate::from_der(der).ok())
        .collect()
}

/// Every reading of a certificate a caller can ask for.
fn exercise(c: &Certificate) {
    let _ = c.subject();
    let _ = c.issuer();
    let _ = c.serial_hex();
    let _ = c.not_before_rfc3339();
    let _ = c.not_after_rfc3339();
    let _ = c.is_valid_at(fixed_time());
    let _ = c.key_usage();
    let _ = c.basic_constraints();
    let _ = c.subject_key_id();
    let _ = c.authority_key_id();
    let _ = c.is_self_signed();
    let _ = c.signature_algorithm();
    let _ = c.public_key();
    let _ = c.moj();
    let _ = c.summary();
    let _ = c.to_pem();
    let _ = c.verify_signed_by(c);
    for ext in c.extensions() {
        let _ = crpki::cert::is_known_extension(&ext.extn_id);
    }
}

/// Certificate parsing (DER, PEM, bundles) and the MOJ extensions: the
/// whole input as a certificate or bundle, and as each MOJ extension
/// value on its own.
pub fn cert(data: &[u8]) {
    if let Ok(c) = Certificate::from_pem_or_der(data) {
        exercise(&c);
        let _ = crpki::validate_chain(&c, &[], &roots(), fixed_time());
    }
    if let Ok(all) = Certificate::parse_all(data) {
        for c in &all {
            exercise(c);
        }
        if let Some((leaf, rest)) = all.split_first() {
            let _ = crpki::validate_chain(leaf, rest, &roots(), fixed_time());
        }
    }
    if let Ok(info) = CorporateInfo::from_der(data) {
        let _ = info.corporate_number();
        let _ = info.to_der();
    }
    if let Ok(registrar) = moj::registrar_from_der(data) {
        let _ = moj::registrar_to_der(&registrar);
    }
    let _ = moj::policies_from_der(data);
    if let Ok(Some(info)) = MojInfo::from_extension_values(Some(data), Some(data), Some(data)) {
        let _ = info.corporate_number();
        let _ = info.has_moj_policy();
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = moj::corporate_number(text);
    }
}

/// `cms::verify_detached` over arbitrary signature bytes, against
/// [`CMS_CONTENT`] and the fixture roots.
pub fn cms_verify(data: &[u8]) {
    if let Ok(v) = crpki::cms::verify_detached(data, Cursor::new(CMS_CONTENT), &roots(), Some(fixed_time())) {
        exercise(&v.signer);
    }
}

/// RFC 3161 as a stranger sends it: the bytes as a TSA reply, as a
/// token (read, and checked against its own imprint without roots and
/// against the fixture roots), and as a request (what a TSA reads).
pub fn tsp(data: &[u8]) {
    use crpki::tsp;
    let mut tokens = vec![data.to_vec()];
    if let Ok(reply) = tsp::parse_reply(data) {
        tokens.extend(reply.token);
    }
    for token in &tokens {
        if let Ok(ts) = tsp::read_token(token) {
            let _ = ts.gen_time_rfc3339();
            let _ = tsp::check_token(token, &ts.imprint, None);
            let _ = tsp::check_token(token, &ts.imprint, Some(&roots()));
        }
    }
    let _ = tsp::parse_request(data);
}

/// Which CSC reply the bytes after the first are, by the first byte.
const CSC_REPLIES: u8 = 9;

/// The CSC client's reading of every reply (`crpki::csc::wire::replies`):
/// the first byte picks the method (and the count of hashes a signHash
/// reply must answer), the rest is the body.
pub fn csc_replies(data: &[u8]) {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    let service = "RSSP fuzz";
    match which % CSC_REPLIES {
        0 => {
            if let Ok(info) = replies::info(service, body) {
                let _ = crpki::csc::version_from_specs(&info.specs);
            }
        }
        1 => {
            let _ = replies::token(service, body);
        }
        2 => {
            let _ = replies::credentials_list(service, body);
        }
        3 => {
            if let Ok(Ok(all)) = replies::listed_descriptions(service, body) {
                for d in &all {
                    if let Some(c) = &d.certificate {
                        exercise(c);
                    }
                }
            }
        }
        4 | 5 => {
            let version = if which % CSC_REPLIES == 4 {
                CscVersion::V2
            } else {
                CscVersion::V1
            };
            if let Ok(d) = replies::credential_info(version, service, "fuzz-credential", body)
                && let Some(c) = &d.certificate
            {
                exercise(c);
            }
        }
        6 => {
            let _ = replies::sad(service, "credentials/authorize", body);
        }
        7 => {
            let _ = replies::signatures(service, body, usize::from(which / CSC_REPLIES));
        }
        _ => {
            let status = 400 + u16::from(which / CSC_REPLIES);
            let _ = replies::refusal(service, "signatures/signHash", status, body).to_string();
        }
    }
}

/// PKCS#12 parsing: the input opened with [`PKCS12_PASSWORD`].
pub fn pkcs12(data: &[u8]) {
    if let Ok(signer) = Pkcs12Signer::from_bytes(data, PKCS12_PASSWORD) {
        exercise(signer.certificate());
        for c in signer.chain() {
            exercise(c);
        }
    }
}

/// Reads the fuzzer's bytes as arguments.
struct Args<'a>(&'a [u8]);

impl<'a> Args<'a> {
    fn u8(&mut self) -> u8 {
        let Some((&b, rest)) = self.0.split_first() else {
            return 0;
        };
        self.0 = rest;
        b
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    fn bytes(&mut self) -> &'a [u8] {
        let n = usize::from(self.u8()).min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }

    /// A flags word: mostly a few of the bits the APIs know, sometimes any.
    fn flags(&mut self) -> u32 {
        const KNOWN: [u32; 8] = [0, 1, 2, 0x20, 0x40, 0x80, 0xF000_0000, 0x8];
        match self.u8() {
            b @ 0..=239 => KNOWN[usize::from(b % 8)] | KNOWN[usize::from(b / 8 % 8)],
            _ => self.u32(),
        }
    }

    /// A parameter or algorithm number: small ones (most of the API's) or any.
    fn param(&mut self) -> u32 {
        match self.u8() {
            b @ 0..=63 => u32::from(b),
            b @ 64..=127 => 0x8000 | u32::from(b - 64),
            128 => 0x4352_0001,
            _ => self.u32(),
        }
    }

    /// A handle: one the provider gave out (or freed), or a forged one.
    fn handle(&mut self, seen: &[Handle]) -> Handle {
        match self.u8() {
            b if usize::from(b) < seen.len() => seen[usize::from(b)],
            200..=219 => Handle::from_raw(u64::from(self.u32()) | (u64::from(self.u32()) << 32)),
            b => Handle::from_raw(u64::from(b)),
        }
    }

    /// Where an answer goes: a size query or a buffer of a chosen length.
    fn buffer(&mut self) -> Option<Vec<u8>> {
        match self.u8() {
            0 => None,
            1 => Some(vec![0; 4096]),
            n => Some(vec![0; usize::from(n) - 2]),
        }
    }

    /// A property name of the KSP, or any text.
    fn property(&mut self) -> String {
        const NAMES: [&str; 16] = [
            "Name",
            "Unique Name",
            "Impl Type",
            "Version",
            "Max Name Length",
            "HWND Handle",
            "Use Context",
            "Algorithm Group",
            "Algorithm Name",
            "Length",
            "Lengths",
            "Key Usage",
            "Export Policy",
            "SmartCardKeyCertificate",
            "SmartCardPin",
            "crpki Registrar Certificate",
        ];
        match self.u8() {
            b @ 0..=239 => NAMES[usize::from(b % 16)].to_owned(),
            _ => String::from_utf8_lossy(self.bytes()).into_owned(),
        }
    }

    fn done(&self) -> bool {
        self.0.is_empty()
    }
}

fn out(buffer: &mut Option<Vec<u8>>) -> Out<'_> {
    match buffer {
        None => Out::Size,
        Some(b) => Out::Buf(b),
    }
}

/// A size answer must fit the buffer the caller gave (the exports copy
/// exactly so many bytes back).
fn check_len(result: Result<usize, ProviderError>, buffer: &Option<Vec<u8>>, api: Api) {
    match (result, buffer) {
        (Ok(n), Some(b)) => assert!(n <= b.len(), "answered {n} bytes into a {}-byte buffer", b.len()),
        (Ok(_), None) => {}
        (Err(e), _) => {
            let _ = status_code(&e, api);
        }
    }
}

fn note<T>(result: Result<T, ProviderError>, api: Api) -> Option<T> {
    result.map_err(|e| status_code(&e, api)).ok()
}

/// The providers' containers: `rsa` (selected) and `ecdsa`, the fixture
/// keys in memory.
fn source() -> Arc<StaticSource> {
    let root = include_str!("../../fixtures/registrar-root.pem");
    let keys = [
        (
            "rsa",
            include_str!("../../fixtures/rep-rsa2048.key.pem"),
            include_str!("../../fixtures/rep-rsa2048.pem"),
        ),
        (
            "ecdsa",
            include_str!("../../fixtures/rep-ecdsa.key.pem"),
            include_str!("../../fixtures/rep-ecdsa.pem"),
        ),
    ];
    let entries = keys
        .iter()
        .filter_map(|(name, key, cert)| {
            let signer: Arc<dyn RemoteSigner> = Arc::new(MemorySigner::from_pem(key, cert, root).ok()?);
            Some(((*name).to_owned(), signer))
        })
        .collect();
    Arc::new(StaticSource::new(entries))
}

/// At most this many calls per input (the providers' tables hold more).
const MAX_CALLS: usize = 64;

/// The providers' argument handling through their safe API (what the CSP
/// and KSP exports call after turning pointers into slices): the first
/// byte picks the CSP or the KSP, then each call is an opcode and its
/// arguments (handles given out earlier or forged, buffer sizes, flags,
/// parameters). Every size answered must fit the buffer given.
pub fn provider(data: &[u8]) {
    let mut args = Args(data);
    if args.u8() % 2 == 0 {
        csp(&mut args);
    } else {
        ksp(&mut args);
    }
}

fn csp(args: &mut Args<'_>) {
    let api = Api::CryptoApi;
    let p = CspProvider::new(source(), Worker::new(DEFAULT_TIMEOUT, None));
    let mut seen: Vec<Handle> = Vec::new();
    for _ in 0..MAX_CALLS {
        if args.done() {
            break;
        }
        match args.u8() % 16 {
            0 => {
                let name = match args.u8() % 4 {
                    0 => None,
                    1 => Some(&b"rsa"[..]),
                    2 => Some(&b"ecdsa"[..]),
                    _ => Some(args.bytes()),
                };
                let flags = args.flags();
                seen.extend(note(p.acquire_context(name, flags), api));
            }
            1 => {
                let (h, flags) = (args.handle(&seen), args.flags());
                let _ = note(p.release_context(h, flags), api);
            }
            2 => {
                let (h, param, flags) = (args.handle(&seen), args.param(), args.flags());
                let mut buf = args.buffer();
                check_len(p.get_prov_param(h, param, out(&mut buf), flags), &buf, api);
            }
            3 => {
                let (h, param) = (args.handle(&seen), args.param());
                let pin = if args.u8().is_multiple_of(2) {
                    None
                } else {
                    Some(args.bytes())
                };
                let _ = note(p.set_prov_param(h, param, pin, args.flags()), api);
            }
            4 => {
                let (h, spec) = (args.handle(&seen), args.param());
                seen.extend(note(p.get_user_key(h, spec), api));
            }
            5 => {
                let (h, key, param, flags) =
                    (args.handle(&seen), args.handle(&seen), args.param(), args.flags());
                let mut buf = args.buffer();
                check_len(p.get_key_param(h, key, param, out(&mut buf), flags), &buf, api);
            }
            6 => {
                let (h, key) = (args.handle(&seen), args.handle(&seen));
                let _ = note(p.destroy_key(h, key), api);
            }
            7 => {
                let (h, key, flags) = (args.handle(&seen), args.handle(&seen), args.flags());
                seen.extend(note(p.duplicate_key(h, key, flags), api));
            }
            8 => {
                let (h, blob, flags) = (args.handle(&seen), args.bytes(), args.flags());
                seen.extend(note(p.import_key(h, blob, u64::from(args.u8() % 2), flags), api));
            }
            9 => {
                let (h, key, blob_type, flags) =
                    (args.handle(&seen), args.handle(&seen), args.param(), args.flags());
                let mut buf = args.buffer();
                let pub_key = u64::from(args.u8() % 2);
                check_len(
                    p.export_key(h, key, pub_key, blob_type, flags, out(&mut buf)),
                    &buf,
                    api,
                );
            }
            10 => {
                let (h, alg, flags) = (args.handle(&seen), args.param(), args.flags());
                seen.extend(note(p.create_hash(h, alg, u64::from(args.u8() % 2), flags), api));
            }
            11 => {
                let (h, hash, data, flags) =
                    (args.handle(&seen), args.handle(&seen), args.bytes(), args.flags());
                let _ = note(p.hash_data(h, hash, data, flags), api);
            }
            12 => {
                let (h, hash, param, data, flags) = (
                    args.handle(&seen),
                    args.handle(&seen),
                    args.param(),
                    args.bytes(),
                    args.flags(),
                );
                let _ = note(p.set_hash_param(h, hash, param, data, flags), api);
            }
            13 => {
                let (h, hash, param, flags) =
                    (args.handle(&seen), args.handle(&seen), args.param(), args.flags());
                let mut buf = args.buffer();
                check_len(p.get_hash_param(h, hash, param, out(&mut buf), flags), &buf, api);
                let _ = note(p.hash_len(h, hash), api);
            }
            14 => {
                let (h, hash, spec, flags) =
                    (args.handle(&seen), args.handle(&seen), args.param(), args.flags());
                let mut buf = args.buffer();
                let result = p.sign_hash(h, hash, spec, flags, out(&mut buf));
                check_len(result, &buf, api);
                if let Some(signature) = buf {
                    let key = args.handle(&seen);
                    let _ = note(p.verify_signature(h, hash, &signature, key, args.flags()), api);
                }
            }
            _ => match args.u8() % 4 {
                0 => {
                    let (h, hash, flags) = (args.handle(&seen), args.handle(&seen), args.flags());
                    seen.extend(note(p.duplicate_hash(h, hash, flags), api));
                }
                1 => {
                    let (h, hash) = (args.handle(&seen), args.handle(&seen));
                    let _ = note(p.destroy_hash(h, hash), api);
                }
                2 => {
                    let h = args.handle(&seen);
                    let mut buf = vec![0; usize::from(args.u8())];
                    let _ = note(p.gen_random(h, &mut buf), api);
                }
                _ => {
                    let (h, key, signature, flags) =
                        (args.handle(&seen), args.handle(&seen), args.bytes(), args.flags());
                    let hash = args.handle(&seen);
                    let _ = note(p.verify_signature(h, hash, signature, key, flags), api);
                    let _ = note(p.set_key_param(h, key, args.param()), api);
                }
            },
        }
    }
}

fn ksp(args: &mut Args<'_>) {
    let api = Api::Cng;
    let p = KspProvider::new(source(), Worker::new(DEFAULT_TIMEOUT, None));
    let mut seen: Vec<Handle> = Vec::new();
    let mut lent: Vec<*mut std::ffi::c_void> = Vec::new();
    for _ in 0..MAX_CALLS {
        if args.done() {
            break;
        }
        match args.u8() % 12 {
            0 => {
                let name = match args.u8() % 3 {
                    0 => None,
                    1 => Some(crpki::provider::ksp::PROVIDER_NAME.to_owned()),
                    _ => Some(String::from_utf8_lossy(args.bytes()).into_owned()),
                };
                seen.extend(note(p.open_provider(name.as_deref(), args.flags()), api));
            }
            1 => {
                let h = args.handle(&seen);
                let _ = note(p.free_provider(h), api);
            }
            2 => {
                let h = args.handle(&seen);
                let name = match args.u8() % 4 {
                    0 => None,
                    1 => Some("rsa".to_owned()),
                    2 => Some("ecdsa".to_owned()),
                    _ => Some(String::from_utf8_lossy(args.bytes()).into_owned()),
                };
                let (spec, flags) = (args.param(), args.flags());
                seen.extend(note(p.open_key(h, name.as_deref(), spec, flags), api));
            }
            3 => {
                let (h, key) = (args.handle(&seen), args.handle(&seen));
                if args.u8().is_multiple_of(2) {
                    let _ = note(p.free_key(h, key), api);
                } else {
                    let _ = note(p.delete_key(h, key, args.flags()), api);
                }
            }
            4 => {
                let (h, property, flags) = (args.handle(&seen), args.property(), args.flags());
                let mut buf = args.buffer();
                check_len(
                    p.get_provider_property(h, &property, out(&mut buf), flags),
                    &buf,
                    api,
                );
            }
            5 => {
                let (h, property, data, flags) =
                    (args.handle(&seen), args.property(), args.bytes(), args.flags());
                let _ = note(p.set_provider_property(h, &property, data, flags), api);
            }
            6 => {
                let (h, key, property, flags) = (
                    args.handle(&seen),
                    args.handle(&seen),
                    args.property(),
                    args.flags(),
                );
                let mut buf = args.buffer();
                check_len(
                    p.get_key_property(h, key, &property, out(&mut buf), flags),
                    &buf,
                    api,
                );
            }
            7 => {
                let (h, key, property) = (args.handle(&seen), args.handle(&seen), args.property());
                let (data, flags) = (args.bytes(), args.flags());
                let _ = note(p.set_key_property(h, key, &property, data, flags), api);
            }
            8 => {
                let h = args.handle(&seen);
                let blob_type = match args.u8() % 4 {
                    0 => "RSAPUBLICBLOB".to_owned(),
                    1 => "ECCPUBLICBLOB".to_owned(),
                    2 => "PUBLICBLOB".to_owned(),
                    _ => String::from_utf8_lossy(args.bytes()).into_owned(),
                };
                let (data, flags) = (args.bytes(), args.flags());
                let import_key = usize::from(args.u8() % 2);
                seen.extend(note(p.import_key(h, import_key, &blob_type, data, flags), api));
                let key = args.handle(&seen);
                let mut buf = args.buffer();
                let result = p.export_key(h, key, import_key, &blob_type, out(&mut buf), args.flags());
                check_len(result, &buf, api);
            }
            9 | 10 => {
                let (h, key, flags) = (args.handle(&seen), args.handle(&seen), args.flags());
                let alg = match args.u8() % 5 {
                    0 => None,
                    1 => Some("SHA256".to_owned()),
                    2 => Some("SHA384".to_owned()),
                    3 => Some("SHA512".to_owned()),
                    _ => Some(String::from_utf8_lossy(args.bytes()).into_owned()),
                };
                let salt = match args.u8() % 3 {
                    0 => None,
                    _ => Some(u32::from(args.u8())),
                };
                let hash = args.bytes();
                let Some(padding) = note(Padding::parse(flags, alg.as_deref(), salt), api) else {
                    continue;
                };
                let mut buf = args.buffer();
                let result = p.sign_hash(h, key, padding, hash, out(&mut buf), flags);
                check_len(result, &buf, api);
                let signature: &[u8] = match &buf {
                    Some(b) => b,
                    None => args.bytes(),
                };
                let _ = note(p.verify_signature(h, key, padding, hash, signature, flags), api);
            }
            _ => match args.u8() % 4 {
                0 => {
                    let (h, ops, flags) = (args.handle(&seen), args.u32(), args.flags());
                    if let Some((_, list)) = note(p.enum_algorithms(h, ops, flags), api) {
                        lent.push(list);
                    }
                }
                1 => {
                    let h = args.handle(&seen);
                    let state = match args.u8() {
                        b if usize::from(b) < lent.len() => lent[usize::from(b)],
                        b => usize::from(b) as *mut std::ffi::c_void,
                    };
                    if let Some(step) = note(p.enum_keys(h, state, args.flags()), api) {
                        lent.push(step.key_name);
                        lent.push(step.state);
                    }
                }
                2 => {
                    let buffer = match args.u8() {
                        b if usize::from(b) < lent.len() => lent[usize::from(b)],
                        b => usize::from(b) as *mut std::ffi::c_void,
                    };
                    let _ = note(p.free_buffer(buffer), api);
                }
                _ => {
                    let (h, flags) = (args.handle(&seen), args.flags());
                    let alg = String::from_utf8_lossy(args.bytes()).into_owned();
                    let _ = note(p.is_alg_supported(h, &alg, flags), api);
                }
            },
        }
    }
    for b in lent {
        let _ = p.free_buffer(b);
    }
}

/// What responders and CRL issuers send, and what a responder receives:
/// the bytes as an OCSP response and as a CRL about the fixture
/// representative certificate (checked offline at a fixed time, stale
/// answers accepted so that the seeds reach the status), and as an OCSP
/// request read by a responder.
pub fn revocation(data: &[u8]) {
    use crpki::revocation::{
        CheckOptions, RequestAsked, RevocationData, RevocationPolicy, check_chain_offline,
    };
    let (Ok(rep), Ok(root)) = (
        Certificate::from_der(REP_RSA2048),
        Certificate::from_der(REGISTRAR_ROOT),
    ) else {
        return;
    };
    let chain = [rep, root];
    let options = CheckOptions {
        accept_expired: true,
        ..CheckOptions::at(fixed_time())
    };
    for given in [
        RevocationData {
            ocsp_responses: vec![data.to_vec()],
            ..RevocationData::default()
        },
        RevocationData {
            crls: vec![data.to_vec()],
            ..RevocationData::default()
        },
    ] {
        let result = check_chain_offline(&chain, &given, &options);
        let _ = result.enforce(RevocationPolicy::Require);
    }
    if let Ok(asked) = RequestAsked::parse(data) {
        let _ = asked.serials_of(&chain[1]);
    }
}
