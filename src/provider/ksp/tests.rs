//! Unit tests of the KSP semantics over the fixture signers.

use std::sync::Arc;

use super::*;
use crate::MemorySigner;
use crate::provider::error::codes::*;
use crate::provider::error::{Api, status_code};
use crate::provider::testutil::{CountingSigner, dword_of, read};
use crate::provider::worker::DEFAULT_TIMEOUT;
use crate::signer::RemoteSigner;
use crate::signer::{HashAlgorithm, KeyInfo, SignatureAlgorithm, SignatureScheme};
use crate::source::StaticSource;

fn ec_signer() -> MemorySigner {
    MemorySigner::from_pem(
        include_str!("../../../fixtures/rep-ecdsa.key.pem"),
        include_str!("../../../fixtures/rep-ecdsa.pem"),
        include_str!("../../../fixtures/registrar-root.pem"),
    )
    .unwrap()
}

fn ksp_with(signer: Arc<CountingSigner>) -> KspProvider {
    let source = StaticSource::new(vec![
        ("cred-1".into(), signer.clone() as Arc<dyn RemoteSigner>),
        ("cred-2".into(), signer as Arc<dyn RemoteSigner>),
        ("cred-ec".into(), Arc::new(ec_signer()) as Arc<dyn RemoteSigner>),
    ]);
    KspProvider::new(Arc::new(source), Worker::new(DEFAULT_TIMEOUT, None))
}

fn code(e: ProviderError) -> u32 {
    status_code(&e, Api::Cng)
}

fn w(s: &str) -> Vec<u8> {
    utf16z(s)
}

/// The bytes of a lent block.
fn block_bytes(p: &KspProvider, ptr: *mut c_void) -> Vec<u8> {
    p.buffers
        .words(ptr)
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect()
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// The UTF-16 string a pointer inside block `ptr` points to.
fn string_at(b: &[u8], ptr: *mut c_void, addr: u64) -> String {
    let off = (addr as usize) - (ptr as usize);
    let units: Vec<u16> = b[off..]
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0)
        .collect();
    String::from_utf16(&units).unwrap()
}

#[test]
fn provider_properties() {
    let p = ksp_with(Arc::new(CountingSigner::new()));
    let h = p.open_provider(Some(PROVIDER_NAME), 0).unwrap();
    assert_eq!(
        read(|o| p.get_provider_property(h, NCRYPT_NAME_PROPERTY, o, 0)),
        w(PROVIDER_NAME)
    );
    assert_eq!(
        dword_of(&read(|o| p.get_provider_property(
            h,
            NCRYPT_IMPL_TYPE_PROPERTY,
            o,
            0
        ))),
        NCRYPT_IMPL_HARDWARE_FLAG
    );
    assert_eq!(
        dword_of(&read(|o| p.get_provider_property(
            h,
            NCRYPT_VERSION_PROPERTY,
            o,
            0
        ))),
        env!("CARGO_PKG_VERSION_MINOR").parse::<u32>().unwrap()
            | (env!("CARGO_PKG_VERSION_MAJOR").parse::<u32>().unwrap() << 16)
    );
    // Window handle and use context: not set, then set and read back.
    let e = p
        .get_provider_property(h, NCRYPT_WINDOW_HANDLE_PROPERTY, Out::Size, 0)
        .unwrap_err();
    assert_eq!(code(e), NTE_NOT_FOUND);
    p.set_provider_property(h, NCRYPT_WINDOW_HANDLE_PROPERTY, &0x1234usize.to_le_bytes(), 0)
        .unwrap();
    assert_eq!(
        read(|o| p.get_provider_property(h, NCRYPT_WINDOW_HANDLE_PROPERTY, o, 0)),
        0x1234usize.to_le_bytes()
    );
    p.set_provider_property(h, NCRYPT_USE_CONTEXT_PROPERTY, &w("登記申請"), NCRYPT_SILENT_FLAG)
        .unwrap();
    assert_eq!(
        read(|o| p.get_provider_property(h, NCRYPT_USE_CONTEXT_PROPERTY, o, 0)),
        w("登記申請")
    );
    let e = p
        .set_provider_property(h, NCRYPT_WINDOW_HANDLE_PROPERTY, &[1, 2, 3], 0)
        .unwrap_err();
    assert_eq!(code(e), NTE_BAD_LEN);
    let e = p
        .set_provider_property(h, NCRYPT_NAME_PROPERTY, &w("x"), 0)
        .unwrap_err();
    assert_eq!(code(e), NTE_NOT_SUPPORTED);
    let e = p
        .get_provider_property(h, "No Such Property", Out::Size, 0)
        .unwrap_err();
    assert_eq!(code(e), NTE_NOT_SUPPORTED);
    let e = p
        .get_provider_property(h, NCRYPT_NAME_PROPERTY, Out::Size, 0x8000)
        .unwrap_err();
    assert_eq!(code(e), NTE_BAD_FLAGS);
    // Too small: the size comes back with NTE_BUFFER_TOO_SMALL.
    let mut small = [0u8; 4];
    let e = p
        .get_provider_property(h, NCRYPT_NAME_PROPERTY, Out::Buf(&mut small), 0)
        .unwrap_err();
    assert!(matches!(e, ProviderError::MoreData { needed } if needed == w(PROVIDER_NAME).len()));
    assert_eq!(code(e), NTE_BUFFER_TOO_SMALL);
    // Another provider's name, bad flags.
    let e = p
        .open_provider(Some("Microsoft Software Key Storage Provider"), 0)
        .unwrap_err();
    assert_eq!(code(e), NTE_BAD_KEYSET);
    assert_eq!(code(p.open_provider(None, 0x1).unwrap_err()), NTE_BAD_FLAGS);
    p.free_provider(h).unwrap();
    let e = p.free_provider(h).unwrap_err();
    assert_eq!(code(e), NTE_INVALID_HANDLE);
}

#[test]
fn keys_and_their_properties() {
    let signer = Arc::new(CountingSigner::new());
    let p = ksp_with(signer.clone());
    let h = p.open_provider(None, 0).unwrap();
    for name in [None, Some(""), Some("cred-1")] {
        let k = p.open_key(h, name, 0, 0).unwrap();
        assert_eq!(
            read(|o| p.get_key_property(h, k, NCRYPT_NAME_PROPERTY, o, 0)),
            w("cred-1")
        );
        p.free_key(h, k).unwrap();
    }
    let k = p
        .open_key(h, Some("cred-2"), AT_SIGNATURE, NCRYPT_SILENT_FLAG)
        .unwrap();
    let prop = |name: &str| read(|o| p.get_key_property(h, k, name, o, 0));
    assert_eq!(prop(NCRYPT_UNIQUE_NAME_PROPERTY), w("cred-2"));
    assert_eq!(prop(NCRYPT_ALGORITHM_GROUP_PROPERTY), w("RSA"));
    assert_eq!(prop(NCRYPT_ALGORITHM_PROPERTY), w("RSA"));
    assert_eq!(dword_of(&prop(NCRYPT_LENGTH_PROPERTY)), 2048);
    let lengths = prop(NCRYPT_LENGTHS_PROPERTY);
    assert_eq!(lengths.len(), 16);
    assert_eq!(
        lengths.chunks(4).map(dword_of).collect::<Vec<_>>(),
        [2048, 2048, 0, 2048]
    );
    assert_eq!(
        dword_of(&prop(NCRYPT_KEY_USAGE_PROPERTY)),
        NCRYPT_ALLOW_SIGNING_FLAG
    );
    assert_eq!(dword_of(&prop(NCRYPT_EXPORT_POLICY_PROPERTY)), 0);
    assert_eq!(dword_of(&prop(NCRYPT_KEY_TYPE_PROPERTY)), 0);
    assert_eq!(
        prop(NCRYPT_CERTIFICATE_PROPERTY),
        include_bytes!("../../../fixtures/rep-rsa2048.der")
    );
    assert_eq!(
        prop(NCRYPT_CRPKI_REGISTRAR_CERTIFICATE_PROPERTY),
        include_bytes!("../../../fixtures/registrar-root.der")
    );
    p.set_key_property(h, k, NCRYPT_USE_CONTEXT_PROPERTY, &w("invoice"), 0)
        .unwrap();
    assert_eq!(prop(NCRYPT_USE_CONTEXT_PROPERTY), w("invoice"));
    let e = p
        .set_key_property(h, k, NCRYPT_EXPORT_POLICY_PROPERTY, &[1, 0, 0, 0], 0)
        .unwrap_err();
    assert_eq!(code(e), NTE_NOT_SUPPORTED);
    let e = p.get_key_property(h, k, "Nope", Out::Size, 0).unwrap_err();
    assert_eq!(code(e), NTE_NOT_SUPPORTED);
    // Opening fails precisely.
    assert_eq!(
        code(p.open_key(h, Some("nope"), 0, 0).unwrap_err()),
        NTE_BAD_KEYSET
    );
    assert_eq!(
        code(p.open_key(h, None, AT_KEYEXCHANGE, 0).unwrap_err()),
        NTE_NO_KEY
    );
    assert_eq!(code(p.open_key(h, None, 0, 0x4).unwrap_err()), NTE_BAD_FLAGS);
    assert_eq!(signer.calls(), 0, "nothing was signed");
    // Handles: a key is only valid with its provider handle.
    let h2 = p.open_provider(None, 0).unwrap();
    let e = p
        .get_key_property(h2, k, NCRYPT_NAME_PROPERTY, Out::Size, 0)
        .unwrap_err();
    assert_eq!(code(e), NTE_INVALID_HANDLE);
    let e = p
        .get_key_property(h, h, NCRYPT_NAME_PROPERTY, Out::Size, 0)
        .unwrap_err();
    assert_eq!(code(e), NTE_INVALID_HANDLE, "a provider handle is no key handle");
    let e = p
        .get_key_property(h, Handle::from_raw(0x5555), NCRYPT_NAME_PROPERTY, Out::Size, 0)
        .unwrap_err();
    assert_eq!(code(e), NTE_INVALID_HANDLE);
    // DeleteKey forgets the binding and frees the handle, nothing more.
    p.delete_key(h, k, 0).unwrap();
    let e = p
        .get_key_property(h, k, NCRYPT_NAME_PROPERTY, Out::Size, 0)
        .unwrap_err();
    assert_eq!(code(e), NTE_INVALID_HANDLE);
    let k = p.open_key(h, Some("cred-2"), 0, 0).unwrap();
    assert_eq!(p.live_objects().1, 1);
    // FreeProvider frees its keys.
    p.free_provider(h).unwrap();
    assert_eq!(p.live_objects(), (1, 0, 0));
    let e = p.free_key(h, k).unwrap_err();
    assert_eq!(code(e), NTE_INVALID_HANDLE);
    p.free_provider(h2).unwrap();
}

#[test]
fn sign_rsa_pkcs1_and_pss_with_size_query_and_cache() {
    let signer = Arc::new(CountingSigner::new());
    let p = ksp_with(signer.clone());
    let h = p.open_provider(None, 0).unwrap();
    let k = p.open_key(h, None, 0, 0).unwrap();
    let public = signer.certificate().public_key().unwrap();
    let mut calls = 0;
    for (hash, name) in [
        (HashAlgorithm::Sha256, "SHA256"),
        (HashAlgorithm::Sha384, "SHA384"),
        (HashAlgorithm::Sha512, "SHA512"),
    ] {
        let digest = hash.digest(b"document");
        for (flags, scheme) in [
            (BCRYPT_PAD_PKCS1, SignatureScheme::RsaPkcs1v15),
            (BCRYPT_PAD_PSS, SignatureScheme::RsaPss),
        ] {
            let pad = Padding::parse(flags, Some(name), Some(hash.output_len() as u32)).unwrap();
            // The size query signs nothing.
            let n = p
                .sign_hash(h, k, pad, digest.as_bytes(), Out::Size, flags)
                .unwrap();
            assert_eq!(n, 256);
            let mut small = [0u8; 255];
            let e = p
                .sign_hash(h, k, pad, digest.as_bytes(), Out::Buf(&mut small), flags)
                .unwrap_err();
            assert_eq!(code(e), NTE_BUFFER_TOO_SMALL);
            assert_eq!(signer.calls(), calls);
            let mut sig = vec![0u8; n];
            p.sign_hash(h, k, pad, digest.as_bytes(), Out::Buf(&mut sig), flags)
                .unwrap();
            calls += 1;
            assert_eq!(signer.calls(), calls);
            // Big-endian, as the signer made it: the library verifies it.
            let alg = SignatureAlgorithm::new(scheme, hash);
            public.verify_digest(alg, &digest, &sig).unwrap();
            p.verify_signature(h, k, pad, digest.as_bytes(), &sig, flags)
                .unwrap();
            let mut bad = sig.clone();
            bad[10] ^= 1;
            let e = p
                .verify_signature(h, k, pad, digest.as_bytes(), &bad, flags)
                .unwrap_err();
            assert_eq!(code(e), NTE_BAD_SIGNATURE);
            // The same (key, digest) again: from the cache.
            let mut again = vec![0u8; n];
            p.sign_hash(h, k, pad, digest.as_bytes(), Out::Buf(&mut again), flags)
                .unwrap();
            assert_eq!(signer.calls(), calls);
            if scheme == SignatureScheme::RsaPkcs1v15 {
                assert_eq!(again, sig);
            }
        }
    }
    // Wrong inputs.
    let d = HashAlgorithm::Sha256.digest(b"x");
    let pkcs1 = Padding::Pkcs1(HashAlgorithm::Sha384);
    let e = p
        .sign_hash(h, k, pkcs1, d.as_bytes(), Out::Size, BCRYPT_PAD_PKCS1)
        .unwrap_err();
    assert_eq!(code(e), NTE_BAD_LEN);
    let e = p
        .sign_hash(h, k, Padding::None, d.as_bytes(), Out::Size, 0)
        .unwrap_err();
    assert_eq!(code(e), NTE_BAD_FLAGS);
    let e = p
        .sign_hash(
            h,
            k,
            Padding::Pkcs1(HashAlgorithm::Sha256),
            d.as_bytes(),
            Out::Size,
            0x100,
        )
        .unwrap_err();
    assert_eq!(code(e), NTE_BAD_FLAGS);
    assert_eq!(signer.calls(), calls);
    // Signer failures come back as codes, and are not cached.
    *signer.fail_with.lock().unwrap() = Some(|| Error::InteractionRequired {
        detail: "approval on the phone".into(),
    });
    let mut sig = vec![0u8; 256];
    let fresh = HashAlgorithm::Sha256.digest(b"fresh");
    let pad = Padding::Pkcs1(HashAlgorithm::Sha256);
    let e = p
        .sign_hash(h, k, pad, fresh.as_bytes(), Out::Buf(&mut sig), BCRYPT_PAD_PKCS1)
        .unwrap_err();
    assert_eq!(code(e), NTE_SILENT_CONTEXT);
    *signer.fail_with.lock().unwrap() = None;
    p.sign_hash(h, k, pad, fresh.as_bytes(), Out::Buf(&mut sig), BCRYPT_PAD_PKCS1)
        .unwrap();
    // An imported public key verifies but cannot sign.
    let blob = read(|o| p.export_key(h, k, 0, BCRYPT_RSAPUBLIC_BLOB, o, 0));
    let pk = p.import_key(h, 0, BCRYPT_RSAPUBLIC_BLOB, &blob, 0).unwrap();
    p.verify_signature(h, pk, pad, fresh.as_bytes(), &sig, BCRYPT_PAD_PKCS1)
        .unwrap();
    let e = p
        .sign_hash(h, pk, pad, fresh.as_bytes(), Out::Size, BCRYPT_PAD_PKCS1)
        .unwrap_err();
    assert_eq!(code(e), NTE_NO_KEY);
    let e = p
        .get_key_property(h, pk, NCRYPT_CERTIFICATE_PROPERTY, Out::Size, 0)
        .unwrap_err();
    assert_eq!(code(e), NTE_NO_KEY);
    assert_eq!(
        dword_of(&read(|o| p.get_key_property(h, pk, NCRYPT_LENGTH_PROPERTY, o, 0))),
        2048
    );
}

#[test]
fn padding_parsing() {
    assert_eq!(Padding::parse(0, None, None).unwrap(), Padding::None);
    assert_eq!(
        Padding::parse(BCRYPT_PAD_PKCS1 | NCRYPT_SILENT_FLAG, Some("SHA384"), None).unwrap(),
        Padding::Pkcs1(HashAlgorithm::Sha384)
    );
    assert_eq!(
        Padding::parse(BCRYPT_PAD_PSS, Some("SHA512"), Some(64)).unwrap(),
        Padding::Pss(HashAlgorithm::Sha512)
    );
    let cases: [(u32, Option<&str>, Option<u32>, u32); 6] = [
        (BCRYPT_PAD_PKCS1, Some("SHA1"), None, NTE_NOT_SUPPORTED),
        (BCRYPT_PAD_PKCS1, None, None, NTE_NOT_SUPPORTED),
        (BCRYPT_PAD_PSS, Some("SHA256"), Some(20), NTE_NOT_SUPPORTED),
        (BCRYPT_PAD_PSS, Some("SHA256"), None, NTE_INVALID_PARAMETER),
        (BCRYPT_PAD_NONE, None, None, NTE_NOT_SUPPORTED),
        (
            BCRYPT_PAD_PKCS1 | BCRYPT_PAD_PSS,
            Some("SHA256"),
            Some(32),
            NTE_BAD_FLAGS,
        ),
    ];
    for (flags, alg, salt, want) in cases {
        assert_eq!(
            code(Padding::parse(flags, alg, salt).unwrap_err()),
            want,
            "{flags:#x} {alg:?} {salt:?}"
        );
    }
}

#[test]
fn ecdsa_keys_sign_raw_r_s() {
    let p = ksp_with(Arc::new(CountingSigner::new()));
    let h = p.open_provider(None, NCRYPT_SILENT_FLAG).unwrap();
    let k = p.open_key(h, Some("cred-ec"), 0, 0).unwrap();
    let prop = |name: &str| read(|o| p.get_key_property(h, k, name, o, 0));
    assert_eq!(prop(NCRYPT_ALGORITHM_GROUP_PROPERTY), w("ECDSA"));
    assert_eq!(prop(NCRYPT_ALGORITHM_PROPERTY), w("ECDSA_P256"));
    assert_eq!(dword_of(&prop(NCRYPT_LENGTH_PROPERTY)), 256);
    {
        let hash = HashAlgorithm::Sha256;
        let d = hash.digest(b"ec document");
        let n = p
            .sign_hash(h, k, Padding::None, d.as_bytes(), Out::Size, 0)
            .unwrap();
        assert_eq!(n, 64);
        let mut sig = vec![0u8; n];
        p.sign_hash(h, k, Padding::None, d.as_bytes(), Out::Buf(&mut sig), 0)
            .unwrap();
        let der = ecdsa_raw_to_der(&sig).unwrap();
        assert_eq!(ecdsa_der_to_raw(&der).unwrap(), sig);
        ec_signer()
            .certificate()
            .public_key()
            .unwrap()
            .verify_digest(SignatureAlgorithm::new(SignatureScheme::Ecdsa, hash), &d, &der)
            .unwrap();
        p.verify_signature(h, k, Padding::None, d.as_bytes(), &sig, 0)
            .unwrap();
        // Through an imported ECCPUBLICBLOB too.
        let blob = read(|o| p.export_key(h, k, 0, BCRYPT_ECCPUBLIC_BLOB, o, 0));
        assert_eq!(blob.len(), 72);
        assert_eq!(dword_of(&blob[..4]), BCRYPT_ECDSA_PUBLIC_P256_MAGIC);
        let pk = p.import_key(h, 0, BCRYPT_PUBLIC_KEY_BLOB, &blob, 0).unwrap();
        p.verify_signature(h, pk, Padding::None, d.as_bytes(), &sig, 0)
            .unwrap();
        let mut bad = sig.clone();
        bad[40] ^= 0x80;
        let e = p
            .verify_signature(h, pk, Padding::None, d.as_bytes(), &bad, 0)
            .unwrap_err();
        assert_eq!(code(e), NTE_BAD_SIGNATURE);
    }
    // The library's P-256 keys sign SHA-256 only.
    let d384 = HashAlgorithm::Sha384.digest(b"x");
    let mut sig = [0u8; 64];
    let e = p
        .sign_hash(h, k, Padding::None, d384.as_bytes(), Out::Buf(&mut sig), 0)
        .unwrap_err();
    assert_eq!(code(e), NTE_NOT_SUPPORTED);
    let d = HashAlgorithm::Sha256.digest(b"x");
    let e = p
        .sign_hash(
            h,
            k,
            Padding::Pkcs1(HashAlgorithm::Sha256),
            d.as_bytes(),
            Out::Size,
            BCRYPT_PAD_PKCS1,
        )
        .unwrap_err();
    assert_eq!(code(e), NTE_BAD_FLAGS);
    let e = p
        .sign_hash(h, k, Padding::None, &[0u8; 20], Out::Size, 0)
        .unwrap_err();
    assert_eq!(code(e), NTE_BAD_LEN);
    let e = p
        .verify_signature(h, k, Padding::None, d.as_bytes(), &[0u8; 63], 0)
        .unwrap_err();
    assert_eq!(code(e), NTE_BAD_SIGNATURE);
    let e = p
        .export_key(h, k, 0, BCRYPT_RSAPUBLIC_BLOB, Out::Size, 0)
        .unwrap_err();
    assert_eq!(code(e), NTE_BAD_DATA);
}

#[test]
fn blobs_round_trip_and_bad_blobs_fail() {
    let p = ksp_with(Arc::new(CountingSigner::new()));
    let h = p.open_provider(None, 0).unwrap();
    let k = p.open_key(h, None, 0, 0).unwrap();
    let blob = read(|o| p.export_key(h, k, 0, BCRYPT_RSAPUBLIC_BLOB, o, 0));
    assert_eq!(
        read(|o| p.export_key(h, k, 0, BCRYPT_PUBLIC_KEY_BLOB, o, 0)),
        blob
    );
    assert_eq!(dword_of(&blob[..4]), BCRYPT_RSAPUBLIC_MAGIC);
    assert_eq!(dword_of(&blob[4..8]), 2048);
    let (exp_len, mod_len) = (dword_of(&blob[8..12]) as usize, dword_of(&blob[12..16]) as usize);
    assert_eq!((exp_len, mod_len, blob.len()), (3, 256, 24 + 3 + 256));
    assert_eq!(&blob[24..27], &[1, 0, 1], "the exponent, big-endian");
    let (modulus, _) = crate::signer::PublicKey::from_spki_der(
        CountingSigner::new()
            .certificate()
            .public_key()
            .unwrap()
            .spki_der(),
    )
    .unwrap()
    .rsa_components()
    .unwrap();
    assert_eq!(&blob[27..], &modulus[..], "the modulus, big-endian");
    let pk = p.import_key(h, 0, BCRYPT_RSAPUBLIC_BLOB, &blob, 0).unwrap();
    assert_eq!(
        read(|o| p.export_key(h, pk, 0, BCRYPT_RSAPUBLIC_BLOB, o, 0)),
        blob
    );
    for (ty, data, want) in [
        (BCRYPT_RSAPUBLIC_BLOB, &blob[..20], NTE_BAD_LEN),
        (BCRYPT_RSAPUBLIC_BLOB, &blob[..blob.len() - 1], NTE_BAD_LEN),
        (BCRYPT_ECCPUBLIC_BLOB, &blob[..], NTE_BAD_DATA),
        ("RSAPRIVATEBLOB", &blob[..], NTE_NOT_SUPPORTED),
        (BCRYPT_RSAPUBLIC_BLOB, &[][..], NTE_BAD_DATA),
    ] {
        let e = p.import_key(h, 0, ty, data, 0).unwrap_err();
        assert_eq!(code(e), want, "{ty} of {} bytes", data.len());
    }
    let e = p.import_key(h, 7, BCRYPT_RSAPUBLIC_BLOB, &blob, 0).unwrap_err();
    assert_eq!(code(e), NTE_NOT_SUPPORTED);
    let e = p.export_key(h, k, 0, "RSAPRIVATEBLOB", Out::Size, 0).unwrap_err();
    assert_eq!(code(e), NTE_BAD_KEY_STATE);
    let e = p
        .export_key(h, k, 0, "OpaqueTransport", Out::Size, 0)
        .unwrap_err();
    assert_eq!(code(e), NTE_NOT_SUPPORTED);
}

#[test]
fn enumerations_and_buffers() {
    let p = ksp_with(Arc::new(CountingSigner::new()));
    let h = p.open_provider(None, 0).unwrap();
    let mut state = std::ptr::null_mut();
    let mut seen = Vec::new();
    loop {
        match p.enum_keys(h, state, 0) {
            Ok(step) => {
                state = step.state;
                let b = block_bytes(&p, step.key_name);
                seen.push((
                    string_at(&b, step.key_name, u64_at(&b, 0)),
                    string_at(&b, step.key_name, u64_at(&b, 8)),
                    dword_of(&b[16..20]),
                    dword_of(&b[20..24]),
                ));
                p.free_buffer(step.key_name).unwrap();
            }
            Err(e) => {
                assert_eq!(code(e), NTE_NO_MORE_ITEMS);
                break;
            }
        }
    }
    assert_eq!(
        seen,
        [
            ("cred-1".to_owned(), "RSA".to_owned(), AT_SIGNATURE, 0),
            ("cred-2".to_owned(), "RSA".to_owned(), AT_SIGNATURE, 0),
            ("cred-ec".to_owned(), "ECDSA_P256".to_owned(), AT_SIGNATURE, 0),
        ]
    );
    // Past the end it stays at the end; then the caller frees the state.
    assert_eq!(code(p.enum_keys(h, state, 0).unwrap_err()), NTE_NO_MORE_ITEMS);
    assert_eq!(p.live_objects().2, 1);
    p.free_buffer(state).unwrap();
    assert_eq!(p.live_objects().2, 0);
    // Freeing twice, or something never lent, is refused.
    assert_eq!(code(p.free_buffer(state).unwrap_err()), NTE_INVALID_PARAMETER);
    let mut local = 0u64;
    let e = p.free_buffer((&mut local as *mut u64).cast()).unwrap_err();
    assert_eq!(code(e), NTE_INVALID_PARAMETER);
    // A state from another provider handle is not accepted.
    let h2 = p.open_provider(None, 0).unwrap();
    let step = p.enum_keys(h, std::ptr::null_mut(), 0).unwrap();
    let e = p.enum_keys(h2, step.state, 0).unwrap_err();
    assert_eq!(code(e), NTE_INVALID_PARAMETER);
    p.free_buffer(step.key_name).unwrap();
    // FreeProvider takes back its enumeration states.
    p.free_provider(h).unwrap();
    assert_eq!(p.live_objects().2, 0);

    let (n, algs) = p.enum_algorithms(h2, NCRYPT_SIGNATURE_OPERATION, 0).unwrap();
    assert_eq!(n, 2);
    let b = block_bytes(&p, algs);
    let names: Vec<_> = (0..2)
        .map(|i| {
            let at = i * ALG_NAME_LEN;
            (
                string_at(&b, algs, u64_at(&b, at)),
                dword_of(&b[at + 8..at + 12]),
                dword_of(&b[at + 12..at + 16]),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            (
                "RSA".to_owned(),
                NCRYPT_SIGNATURE_INTERFACE,
                NCRYPT_SIGNATURE_OPERATION
            ),
            (
                "ECDSA_P256".to_owned(),
                NCRYPT_SIGNATURE_INTERFACE,
                NCRYPT_SIGNATURE_OPERATION
            ),
        ]
    );
    p.free_buffer(algs).unwrap();
    let (n, none) = p.enum_algorithms(h2, 0x1, 0).unwrap();
    assert_eq!(n, 0);
    p.free_buffer(none).unwrap();
    p.is_alg_supported(h2, "RSA", 0).unwrap();
    p.is_alg_supported(h2, "ECDSA_P256", 0).unwrap();
    assert_eq!(
        code(p.is_alg_supported(h2, "AES", 0).unwrap_err()),
        NTE_NOT_SUPPORTED
    );
    assert_eq!(code(p.unsupported(h2, "Encrypt").unwrap_err()), NTE_NOT_SUPPORTED);
    assert_eq!(
        code(p.unsupported(Handle::from_raw(0), "Encrypt").unwrap_err()),
        NTE_INVALID_HANDLE
    );
    p.free_provider(h2).unwrap();
    assert_eq!(p.live_objects(), (0, 0, 0));
}

#[test]
fn empty_source_enumerates_nothing_and_leaks_no_state() {
    let p = KspProvider::new(
        Arc::new(StaticSource::new(Vec::new())),
        Worker::new(DEFAULT_TIMEOUT, None),
    );
    let h = p.open_provider(None, 0).unwrap();
    assert_eq!(
        code(p.enum_keys(h, std::ptr::null_mut(), 0).unwrap_err()),
        NTE_NO_MORE_ITEMS
    );
    assert_eq!(p.live_objects().2, 0);
    assert_eq!(code(p.open_key(h, None, 0, 0).unwrap_err()), NTE_KEYSET_NOT_DEF);
}

#[test]
fn concurrent_signing() {
    let signer = Arc::new(CountingSigner::new());
    let p = Arc::new(ksp_with(signer.clone()));
    let public = signer.certificate().public_key().unwrap();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let p = p.clone();
            let public = public.clone();
            std::thread::spawn(move || {
                let h = p.open_provider(None, 0).unwrap();
                let k = p.open_key(h, None, 0, 0).unwrap();
                for i in 0..25 {
                    let d = HashAlgorithm::Sha256.digest(format!("{t}-{i}").as_bytes());
                    let pad = Padding::Pkcs1(HashAlgorithm::Sha256);
                    let mut sig = vec![0u8; 256];
                    p.sign_hash(h, k, pad, d.as_bytes(), Out::Buf(&mut sig), BCRYPT_PAD_PKCS1)
                        .unwrap();
                    public
                        .verify_digest(SignatureAlgorithm::RSA_PKCS1_SHA256, &d, &sig)
                        .unwrap();
                }
                p.free_provider(h).unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(signer.calls(), 100);
    assert_eq!(p.live_objects(), (0, 0, 0));
}

/// A signer that takes its time, so that the caller can "log out" (free
/// the key and the provider) while a signature is in flight.
#[derive(Debug)]
struct SlowSigner(MemorySigner);

#[async_trait::async_trait]
impl RemoteSigner for SlowSigner {
    fn certificate(&self) -> &crate::Certificate {
        self.0.certificate()
    }
    fn chain(&self) -> &[crate::Certificate] {
        self.0.chain()
    }
    fn key_info(&self) -> KeyInfo {
        self.0.key_info()
    }
    async fn sign_batch(&self, batch: &crate::signer::DigestBatch<'_>) -> crate::Result<Vec<Vec<u8>>> {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        self.0.sign_batch(batch).await
    }
}

#[test]
fn freeing_everything_while_signing() {
    let signer = Arc::new(SlowSigner(crate::provider::testutil::fixture_signer()));
    let public = signer.certificate().public_key().unwrap();
    let p = Arc::new(KspProvider::new(
        Arc::new(StaticSource::new(vec![(
            "slow".into(),
            signer as Arc<dyn RemoteSigner>,
        )])),
        Worker::new(DEFAULT_TIMEOUT, None),
    ));
    let h = p.open_provider(None, 0).unwrap();
    let k = p.open_key(h, None, 0, 0).unwrap();
    let d = HashAlgorithm::Sha256.digest(b"in flight");
    let signing = {
        let (p, d) = (p.clone(), d.clone());
        std::thread::spawn(move || {
            let mut sig = vec![0u8; 256];
            let pad = Padding::Pkcs1(HashAlgorithm::Sha256);
            p.sign_hash(h, k, pad, d.as_bytes(), Out::Buf(&mut sig), BCRYPT_PAD_PKCS1)
                .map(|_| sig)
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(100));
    // The user logs out: the application frees the key and the provider.
    p.delete_key(h, k, 0).unwrap();
    p.free_provider(h).unwrap();
    assert_eq!(p.live_objects(), (0, 0, 0));
    // The signature already asked for completes, and is right; nothing
    // later can use the freed handles.
    let sig = signing.join().unwrap().unwrap();
    public
        .verify_digest(SignatureAlgorithm::RSA_PKCS1_SHA256, &d, &sig)
        .unwrap();
    let pad = Padding::Pkcs1(HashAlgorithm::Sha256);
    let e = p
        .sign_hash(h, k, pad, d.as_bytes(), Out::Size, BCRYPT_PAD_PKCS1)
        .unwrap_err();
    assert_eq!(code(e), NTE_INVALID_HANDLE);
}

#[test]
fn smart_card_pin_on_a_key_reaches_the_source_and_is_not_readable() {
    let signer = Arc::new(CountingSigner::new());
    let source = Arc::new(crate::provider::testutil::PinRecorder::new(StaticSource::new(
        vec![
            ("cred-1".into(), signer.clone() as Arc<dyn RemoteSigner>),
            ("cred-2".into(), signer as Arc<dyn RemoteSigner>),
        ],
    )));
    let p = KspProvider::new(source.clone(), Worker::new(DEFAULT_TIMEOUT, None));
    let h = p.open_provider(None, 0).unwrap();
    let k = p.open_key(h, Some("cred-2"), 0, 0).unwrap();
    p.set_key_property(h, k, NCRYPT_PIN_PROPERTY, &w("1234"), 0)
        .unwrap();
    // Without the NUL too.
    let mut bare = w("5678");
    bare.truncate(bare.len() - 2);
    p.set_key_property(h, k, NCRYPT_PIN_PROPERTY, &bare, NCRYPT_SILENT_FLAG)
        .unwrap();
    assert_eq!(
        source.pins(),
        [
            ("cred-2".to_owned(), "1234".to_owned()),
            ("cred-2".to_owned(), "5678".to_owned())
        ]
    );
    let e = p
        .get_key_property(h, k, NCRYPT_PIN_PROPERTY, Out::Size, 0)
        .unwrap_err();
    assert_eq!(code(e), NTE_NOT_SUPPORTED);
    let e = p
        .set_key_property(h, k, NCRYPT_PIN_PROPERTY, &[0x31, 0x00, 0x32], 0)
        .unwrap_err();
    assert_eq!(code(e), NTE_BAD_LEN);
    // The selected key gets the PIN under its real name.
    let selected = p.open_key(h, Some(""), 0, 0).unwrap();
    p.set_key_property(h, selected, NCRYPT_PIN_PROPERTY, &w("0000"), 0)
        .unwrap();
    assert_eq!(source.pins()[2].0, "cred-1");
    // A source without PINs refuses rather than ignores one.
    let plain = ksp_with(Arc::new(CountingSigner::new()));
    let h = plain.open_provider(None, 0).unwrap();
    let k = plain.open_key(h, Some("cred-1"), 0, 0).unwrap();
    let e = plain
        .set_key_property(h, k, NCRYPT_PIN_PROPERTY, &w("1234"), 0)
        .unwrap_err();
    assert_eq!(code(e), NTE_NOT_SUPPORTED);
}
