//! Unit tests of the CSP semantics over the fixture signer.

use std::sync::Arc;

use async_trait::async_trait;

use super::super::{PROV_ENUMALGS_EX_LEN, PROV_ENUMALGS_LEN};
use super::*;
use crate::provider::error::codes::*;
use crate::provider::error::{Api, status_code};
use crate::provider::handle::{HandleError, HandleProblem};
use crate::provider::testutil::{CountingSigner, dword_of, read};
use crate::provider::worker::DEFAULT_TIMEOUT;
use crate::signer::HashAlgorithm;
use crate::signer::RemoteSigner;
use crate::source::{ContainerInfo, OpenedSigner, StaticSource};

fn provider_with(signer: Arc<CountingSigner>) -> CspProvider {
    let source = StaticSource::new(vec![
        ("cred-1".into(), signer.clone() as Arc<dyn RemoteSigner>),
        ("cred-2".into(), signer as Arc<dyn RemoteSigner>),
    ]);
    CspProvider::new(Arc::new(source), Worker::new(DEFAULT_TIMEOUT, None))
}

fn code(e: ProviderError) -> u32 {
    status_code(&e, Api::CryptoApi)
}

#[test]
fn provider_parameters() {
    let p = provider_with(Arc::new(CountingSigner::new()));
    let h = p.acquire_context(None, 0).unwrap();
    assert_eq!(
        read(|o| p.get_prov_param(h, PP_NAME, o, 0)),
        format!("{PROVIDER_NAME}\0").as_bytes()
    );
    assert_eq!(read(|o| p.get_prov_param(h, PP_CONTAINER, o, 0)), b"cred-1\0");
    assert_eq!(
        read(|o| p.get_prov_param(h, PP_UNIQUE_CONTAINER, o, 0)),
        b"cred-1\0"
    );
    assert_eq!(dword_of(&read(|o| p.get_prov_param(h, PP_PROVTYPE, o, 0))), 24);
    assert_eq!(
        dword_of(&read(|o| p.get_prov_param(h, PP_IMPTYPE, o, 0))),
        CRYPT_IMPL_MIXED
    );
    assert_eq!(
        dword_of(&read(|o| p.get_prov_param(h, PP_KEYSPEC, o, 0))),
        AT_SIGNATURE
    );
    assert_eq!(dword_of(&read(|o| p.get_prov_param(h, PP_VERSION, o, 0))), 0x0001);
    let e = p.get_prov_param(h, 999, Out::Size, 0).unwrap_err();
    assert_eq!(code(e), NTE_BAD_TYPE);
    let e = p.get_prov_param(h, PP_NAME, Out::Size, 4).unwrap_err();
    assert_eq!(code(e), NTE_BAD_FLAGS);
    // A short buffer: ERROR_MORE_DATA with the size.
    let mut small = [0u8; 3];
    let e = p.get_prov_param(h, PP_NAME, Out::Buf(&mut small), 0).unwrap_err();
    assert!(matches!(e, ProviderError::MoreData { needed } if needed == PROVIDER_NAME.len() + 1));
    assert_eq!(code(e), ERROR_MORE_DATA);
    // A named container.
    let h2 = p.acquire_context(Some(b"cred-2"), 0).unwrap();
    assert_eq!(read(|o| p.get_prov_param(h2, PP_CONTAINER, o, 0)), b"cred-2\0");
    let e = p.acquire_context(Some(b"cred-9"), 0).unwrap_err();
    assert_eq!(code(e), NTE_BAD_KEYSET);
    let e = p.acquire_context(Some(&[0xff, 0xfe]), 0).unwrap_err();
    assert_eq!(code(e), NTE_BAD_KEYSET);
}

#[test]
fn enumerations() {
    let p = provider_with(Arc::new(CountingSigner::new()));
    let h = p.acquire_context(None, CRYPT_VERIFYCONTEXT).unwrap();
    // Size query: the longest name; it does not advance.
    assert_eq!(
        p.get_prov_param(h, PP_ENUMCONTAINERS, Out::Size, CRYPT_FIRST)
            .unwrap(),
        7
    );
    let mut names = Vec::new();
    let mut flags = CRYPT_FIRST;
    loop {
        let mut buf = [0u8; 7];
        match p.get_prov_param(h, PP_ENUMCONTAINERS, Out::Buf(&mut buf), flags) {
            Ok(n) => names.push(String::from_utf8(buf[..n - 1].to_vec()).unwrap()),
            Err(e) => {
                assert_eq!(code(e), ERROR_NO_MORE_ITEMS);
                break;
            }
        }
        flags = CRYPT_NEXT;
    }
    assert_eq!(names, ["cred-1", "cred-2"]);
    // CRYPT_FIRST starts over.
    let mut buf = [0u8; 7];
    p.get_prov_param(h, PP_ENUMCONTAINERS, Out::Buf(&mut buf), CRYPT_FIRST)
        .unwrap();
    assert_eq!(&buf, b"cred-1\0");

    for (param, len) in [
        (PP_ENUMALGS, PROV_ENUMALGS_LEN),
        (PP_ENUMALGS_EX, PROV_ENUMALGS_EX_LEN),
    ] {
        let mut ids = Vec::new();
        let mut flags = CRYPT_FIRST;
        loop {
            assert_eq!(
                p.get_prov_param(h, param, Out::Size, flags).ok().unwrap_or(len),
                len
            );
            let mut buf = vec![0u8; len];
            match p.get_prov_param(h, param, Out::Buf(&mut buf), flags) {
                Ok(n) => {
                    assert_eq!(n, len);
                    ids.push(dword_of(&buf[..4]));
                    let name_len_at = if param == PP_ENUMALGS { 8 } else { 20 };
                    let name_len = dword_of(&buf[name_len_at..name_len_at + 4]) as usize;
                    let name = &buf[name_len_at + 4..name_len_at + 4 + name_len];
                    assert_eq!(name.last(), Some(&0));
                    if param == PP_ENUMALGS_EX {
                        assert_eq!(dword_of(&buf[16..20]), CRYPT_FLAG_SIGNING);
                        let long_len = dword_of(&buf[44..48]) as usize;
                        assert!(buf[48..48 + long_len].ends_with(&[0]));
                    }
                }
                Err(e) => {
                    assert_eq!(code(e), ERROR_NO_MORE_ITEMS);
                    break;
                }
            }
            flags = 0;
        }
        assert_eq!(ids, [CALG_SHA_256, CALG_SHA_384, CALG_SHA_512, CALG_RSA_SIGN]);
    }
}

#[test]
fn user_key_parameters() {
    let signer = Arc::new(CountingSigner::new());
    let p = provider_with(signer.clone());
    let h = p.acquire_context(Some(b""), CRYPT_SILENT).unwrap();
    let k = p.get_user_key(h, AT_SIGNATURE).unwrap();
    assert_eq!(
        dword_of(&read(|o| p.get_key_param(h, k, KP_ALGID, o, 0))),
        CALG_RSA_SIGN
    );
    assert_eq!(dword_of(&read(|o| p.get_key_param(h, k, KP_KEYLEN, o, 0))), 2048);
    assert_eq!(
        dword_of(&read(|o| p.get_key_param(h, k, KP_BLOCKLEN, o, 0))),
        2048
    );
    let cert = read(|o| p.get_key_param(h, k, KP_CERTIFICATE, o, 0));
    assert_eq!(cert, signer.certificate().der());
    let root = read(|o| p.get_key_param(h, k, KP_CRPKI_ROOT_CERTIFICATE, o, 0));
    assert_eq!(root, include_bytes!("../../../fixtures/registrar-root.der"));
    let mut small = vec![0u8; 100];
    let e = p
        .get_key_param(h, k, KP_CERTIFICATE, Out::Buf(&mut small), 0)
        .unwrap_err();
    assert!(matches!(e, ProviderError::MoreData { needed } if needed == cert.len()));
    assert_eq!(
        code(p.get_key_param(h, k, 12345, Out::Size, 0).unwrap_err()),
        NTE_BAD_TYPE
    );
    assert_eq!(code(p.get_user_key(h, AT_KEYEXCHANGE).unwrap_err()), NTE_NO_KEY);
    // No root known: NTE_NOT_FOUND.
    let no_chain = crate::MemorySigner::from_pem(
        include_str!("../../../fixtures/rep-rsa2048.key.pem"),
        include_str!("../../../fixtures/rep-rsa2048.pem"),
        "",
    )
    .unwrap();
    let p2 = CspProvider::new(
        Arc::new(StaticSource::new(vec![(
            "x".into(),
            Arc::new(no_chain) as Arc<dyn RemoteSigner>,
        )])),
        Worker::new(DEFAULT_TIMEOUT, None),
    );
    let h2 = p2.acquire_context(None, 0).unwrap();
    let k2 = p2.get_user_key(h2, AT_SIGNATURE).unwrap();
    assert_eq!(
        code(
            p2.get_key_param(h2, k2, KP_CRPKI_ROOT_CERTIFICATE, Out::Size, 0)
                .unwrap_err()
        ),
        NTE_NOT_FOUND
    );
}

#[test]
fn sign_verify_and_the_cache() {
    let signer = Arc::new(CountingSigner::new());
    let p = provider_with(signer.clone());
    let h = p.acquire_context(None, 0).unwrap();
    let k = p.get_user_key(h, AT_SIGNATURE).unwrap();
    let hh = p.create_hash(h, CALG_SHA_256, 0, 0).unwrap();
    p.hash_data(h, hh, b"hello ", 0).unwrap();
    p.hash_data(h, hh, b"world", 0).unwrap();
    // The size query signs nothing and leaves the hash open.
    assert_eq!(p.sign_hash(h, hh, AT_SIGNATURE, 0, Out::Size).unwrap(), 256);
    let mut small = [0u8; 255];
    let e = p
        .sign_hash(h, hh, AT_SIGNATURE, 0, Out::Buf(&mut small))
        .unwrap_err();
    assert!(matches!(e, ProviderError::MoreData { needed: 256 }));
    assert_eq!(signer.calls(), 0);
    p.hash_data(h, hh, b"!", 0).unwrap();
    let mut sig = [0u8; 300];
    let n = p.sign_hash(h, hh, AT_SIGNATURE, 0, Out::Buf(&mut sig)).unwrap();
    assert_eq!((n, signer.calls()), (256, 1));
    let sig = &sig[..n];
    // Little-endian: reversed, it is the PKCS#1 signature.
    let digest = HashAlgorithm::Sha256.digest(b"hello world!");
    let public = signer.certificate().public_key().unwrap();
    public
        .verify_digest(SignatureAlgorithm::RSA_PKCS1_SHA256, &digest, &blob::reverse(sig))
        .unwrap();
    // The hash is finished now.
    assert_eq!(
        code(p.hash_data(h, hh, b"more", 0).unwrap_err()),
        NTE_BAD_HASH_STATE
    );
    assert_eq!(
        read(|o| p.get_hash_param(h, hh, HP_HASHVAL, o, 0)),
        digest.as_bytes()
    );
    // CPVerifySignature with the user key.
    p.verify_signature(h, hh, sig, k, 0).unwrap();
    let mut bad = sig.to_vec();
    bad[10] ^= 1;
    assert_eq!(
        code(p.verify_signature(h, hh, &bad, k, 0).unwrap_err()),
        NTE_BAD_SIGNATURE
    );
    assert_eq!(
        code(p.verify_signature(h, hh, &[0; 300], k, 0).unwrap_err()),
        NTE_BAD_SIGNATURE
    );

    // The same digest again, via HP_HASHVAL: answered from the cache.
    let h2 = p.create_hash(h, CALG_SHA_256, 0, 0).unwrap();
    p.set_hash_param(h, h2, HP_HASHVAL, digest.as_bytes(), 0).unwrap();
    let mut again = [0u8; 256];
    p.sign_hash(h, h2, AT_SIGNATURE, 0, Out::Buf(&mut again)).unwrap();
    assert_eq!(&again[..], sig);
    assert_eq!(signer.calls(), 1);

    // Verification with an imported public key (exported from the user key).
    let blob = read(|o| p.export_key(h, k, 0, PUBLICKEYBLOB, 0, o));
    let v = p.acquire_context(None, CRYPT_VERIFYCONTEXT).unwrap();
    let imported = p.import_key(v, &blob, 0, 0).unwrap();
    assert_eq!(
        dword_of(&read(|o| p.get_key_param(v, imported, KP_KEYLEN, o, 0))),
        2048
    );
    assert_eq!(
        dword_of(&read(|o| p.get_key_param(v, imported, KP_ALGID, o, 0))),
        CALG_RSA_SIGN
    );
    assert_eq!(
        code(
            p.get_key_param(v, imported, KP_CERTIFICATE, Out::Size, 0)
                .unwrap_err()
        ),
        NTE_BAD_TYPE
    );
    let vh = p.create_hash(v, CALG_SHA_256, 0, 0).unwrap();
    p.hash_data(v, vh, b"hello world!", 0).unwrap();
    p.verify_signature(v, vh, sig, imported, 0).unwrap();
    // Round trip of the blob.
    assert_eq!(read(|o| p.export_key(v, imported, 0, PUBLICKEYBLOB, 0, o)), blob);
}

#[test]
fn sha384_and_sha512() {
    let signer = Arc::new(CountingSigner::new());
    let p = provider_with(signer.clone());
    let h = p.acquire_context(None, 0).unwrap();
    for (calg, alg) in [
        (CALG_SHA_384, HashAlgorithm::Sha384),
        (CALG_SHA_512, HashAlgorithm::Sha512),
    ] {
        let hh = p.create_hash(h, calg, 0, 0).unwrap();
        assert_eq!(dword_of(&read(|o| p.get_hash_param(h, hh, HP_ALGID, o, 0))), calg);
        assert_eq!(
            dword_of(&read(|o| p.get_hash_param(h, hh, HP_HASHSIZE, o, 0))) as usize,
            alg.output_len()
        );
        p.hash_data(h, hh, b"data", 0).unwrap();
        let sig = read(|o| p.sign_hash(h, hh, AT_SIGNATURE, 0, o));
        signer
            .certificate()
            .public_key()
            .unwrap()
            .verify_digest(
                SignatureAlgorithm::new(SignatureScheme::RsaPkcs1v15, alg),
                &alg.digest(b"data"),
                &blob::reverse(&sig),
            )
            .unwrap();
    }
}

#[test]
fn handle_errors() {
    let p = provider_with(Arc::new(CountingSigner::new()));
    let h = p.acquire_context(None, 0).unwrap();
    let other = p.acquire_context(None, 0).unwrap();
    let k = p.get_user_key(h, AT_SIGNATURE).unwrap();
    let hh = p.create_hash(h, CALG_SHA_256, 0, 0).unwrap();
    // Wrong kind: a key handle where a hash is expected, and so on.
    assert_eq!(code(p.hash_data(h, k, b"x", 0).unwrap_err()), NTE_BAD_HASH);
    assert_eq!(code(p.destroy_key(h, hh).unwrap_err()), NTE_BAD_KEY);
    assert_eq!(
        code(p.get_prov_param(k, PP_NAME, Out::Size, 0).unwrap_err()),
        NTE_BAD_UID
    );
    // Null and foreign.
    assert_eq!(
        code(p.hash_data(h, Handle::from_raw(0), b"x", 0).unwrap_err()),
        NTE_BAD_HASH
    );
    assert_eq!(
        code(p.release_context(Handle::from_raw(0xdead_beef), 0).unwrap_err()),
        NTE_BAD_UID
    );
    // Another context's objects.
    let e = p.hash_data(other, hh, b"x", 0).unwrap_err();
    assert!(matches!(
        e,
        ProviderError::Handle(HandleError {
            problem: HandleProblem::OtherContext,
            ..
        })
    ));
    assert_eq!(code(e), NTE_BAD_HASH);
    // Stale after destroy.
    let h2 = p.duplicate_hash(h, hh, 0).unwrap();
    p.destroy_hash(h, hh).unwrap();
    assert_eq!(code(p.hash_data(h, hh, b"x", 0).unwrap_err()), NTE_BAD_HASH);
    assert_eq!(code(p.destroy_hash(h, hh).unwrap_err()), NTE_BAD_HASH);
    p.hash_data(h, h2, b"x", 0).unwrap();
    let k2 = p.duplicate_key(h, k, 0).unwrap();
    p.destroy_key(h, k).unwrap();
    assert_eq!(
        code(p.get_key_param(h, k, KP_KEYLEN, Out::Size, 0).unwrap_err()),
        NTE_BAD_KEY
    );
    p.get_key_param(h, k2, KP_KEYLEN, Out::Size, 0).unwrap();
    // Releasing the context destroys its objects.
    assert_eq!(p.live_objects(), (2, 1, 1));
    assert_eq!(code(p.release_context(h, 1).unwrap_err()), NTE_BAD_FLAGS);
    p.release_context(h, 0).unwrap();
    assert_eq!(p.live_objects(), (1, 0, 0));
    assert_eq!(code(p.hash_data(h, h2, b"x", 0).unwrap_err()), NTE_BAD_UID);
    assert_eq!(code(p.release_context(h, 0).unwrap_err()), NTE_BAD_UID);
    p.release_context(other, 0).unwrap();
    assert_eq!(p.live_objects(), (0, 0, 0));
}

#[test]
fn refused_requests() {
    let p = provider_with(Arc::new(CountingSigner::new()));
    assert_eq!(
        code(p.acquire_context(Some(b"new"), CRYPT_NEWKEYSET).unwrap_err()),
        NTE_NOT_SUPPORTED
    );
    assert_eq!(
        code(
            p.acquire_context(Some(b"cred-1"), CRYPT_DELETEKEYSET)
                .unwrap_err()
        ),
        NTE_NOT_SUPPORTED
    );
    assert_eq!(
        code(p.acquire_context(None, 0x4_0000).unwrap_err()),
        NTE_BAD_FLAGS
    );
    p.acquire_context(None, CRYPT_MACHINE_KEYSET).unwrap();
    let h = p.acquire_context(None, 0).unwrap();
    assert_eq!(
        code(p.create_hash(h, CALG_SSL3_SHAMD5, 0, 0).unwrap_err()),
        NTE_BAD_ALGID
    );
    assert_eq!(code(p.create_hash(h, 0x8004, 0, 0).unwrap_err()), NTE_BAD_ALGID); // SHA-1
    assert_eq!(
        code(p.create_hash(h, CALG_SHA_256, 5, 0).unwrap_err()),
        NTE_NOT_SUPPORTED
    );
    let hh = p.create_hash(h, CALG_SHA_256, 0, 0).unwrap();
    assert_eq!(
        code(p.set_hash_param(h, hh, HP_HASHVAL, &[0; 20], 0).unwrap_err()),
        NTE_BAD_LEN
    );
    assert_eq!(
        code(p.set_hash_param(h, hh, 5, &[0; 32], 0).unwrap_err()),
        NTE_BAD_TYPE
    );
    assert_eq!(
        code(p.sign_hash(h, hh, AT_KEYEXCHANGE, 0, Out::Size).unwrap_err()),
        NTE_NO_KEY
    );
    assert_eq!(
        code(
            p.sign_hash(h, hh, AT_SIGNATURE, CRYPT_NOHASHOID, Out::Size)
                .unwrap_err()
        ),
        NTE_BAD_FLAGS
    );
    let k = p.get_user_key(h, AT_SIGNATURE).unwrap();
    assert_eq!(
        code(p.export_key(h, k, 0, PRIVATEKEYBLOB, 0, Out::Size).unwrap_err()),
        NTE_BAD_KEY_STATE
    );
    assert_eq!(
        code(p.export_key(h, k, 0, 1, 0, Out::Size).unwrap_err()),
        NTE_BAD_TYPE
    );
    assert_eq!(
        code(p.import_key(h, &[7, 2, 0, 0], 0, 0).unwrap_err()),
        NTE_BAD_TYPE
    );
    assert_eq!(
        code(p.import_key(h, &[6, 2, 0, 0], 0, 0).unwrap_err()),
        NTE_BAD_LEN
    );
    assert_eq!(
        code(p.unsupported(h, "CPEncrypt").unwrap_err()),
        NTE_NOT_SUPPORTED
    );
    assert_eq!(
        code(p.unsupported(Handle::from_raw(0), "CPEncrypt").unwrap_err()),
        NTE_BAD_UID
    );
    assert_eq!(
        code(p.set_prov_param(h, PP_NAME, None, 0).unwrap_err()),
        NTE_NOT_SUPPORTED
    );
    assert_eq!(
        code(p.set_key_param(h, k, KP_CERTIFICATE).unwrap_err()),
        NTE_NOT_SUPPORTED
    );
    let mut random = [0u8; 64];
    p.gen_random(h, &mut random).unwrap();
    assert_ne!(random, [0u8; 64]);
    // A verify-only context has no key.
    let v = p.acquire_context(None, CRYPT_VERIFYCONTEXT).unwrap();
    assert_eq!(code(p.get_user_key(v, AT_SIGNATURE).unwrap_err()), NTE_NO_KEY);
    assert_eq!(
        code(p.get_prov_param(v, PP_CONTAINER, Out::Size, 0).unwrap_err()),
        NTE_BAD_KEYSET
    );
    let vh = p.create_hash(v, CALG_SHA_256, 0, 0).unwrap();
    assert_eq!(
        code(p.sign_hash(v, vh, AT_SIGNATURE, 0, Out::Size).unwrap_err()),
        NTE_NO_KEY
    );
}

/// A source whose containers need the user: silent callers are refused.
#[derive(Debug)]
struct NeedsUser(Arc<CountingSigner>);

#[async_trait]
impl SignerSource for NeedsUser {
    async fn containers(&self, _options: OpenOptions) -> crate::Result<Vec<ContainerInfo>> {
        Ok(Vec::new())
    }
    async fn open(&self, _container: Option<&str>, options: OpenOptions) -> crate::Result<OpenedSigner> {
        if options.silent {
            return Err(Error::InteractionRequired {
                detail: "GビズID login".into(),
            });
        }
        Ok(OpenedSigner {
            name: "remote".into(),
            signer: self.0.clone(),
        })
    }
}

#[test]
fn silent_contexts_and_optional_default_container() {
    let p = CspProvider::new(
        Arc::new(NeedsUser(Arc::new(CountingSigner::new()))),
        Worker::new(DEFAULT_TIMEOUT, None),
    );
    assert_eq!(
        code(p.acquire_context(None, CRYPT_SILENT).unwrap_err()),
        NTE_SILENT_CONTEXT
    );
    p.acquire_context(None, 0).unwrap();

    // Cancelled and other signer failures at signing time.
    let signer = Arc::new(CountingSigner::new());
    let p = provider_with(signer.clone());
    let h = p.acquire_context(None, CRYPT_SILENT).unwrap();
    let hh = p.create_hash(h, CALG_SHA_256, 0, 0).unwrap();
    *signer.fail_with.lock().unwrap() = Some(|| Error::InteractionRequired {
        detail: "approval".into(),
    });
    let mut sig = [0u8; 256];
    assert_eq!(
        code(
            p.sign_hash(h, hh, AT_SIGNATURE, 0, Out::Buf(&mut sig))
                .unwrap_err()
        ),
        NTE_SILENT_CONTEXT
    );
    *signer.fail_with.lock().unwrap() = Some(|| Error::Cancelled {
        detail: "the user said no".into(),
    });
    assert_eq!(
        code(
            p.sign_hash(h, hh, AT_SIGNATURE, 0, Out::Buf(&mut sig))
                .unwrap_err()
        ),
        SCARD_W_CANCELLED_BY_USER
    );

    // Nothing configured.
    let empty = CspProvider::new(
        Arc::new(StaticSource::default()),
        Worker::new(DEFAULT_TIMEOUT, None),
    );
    assert_eq!(
        code(empty.acquire_context(None, 0).unwrap_err()),
        NTE_KEYSET_NOT_DEF
    );
    let h = empty
        .acquire_context(None, CRYPT_DEFAULT_CONTAINER_OPTIONAL)
        .unwrap();
    assert_eq!(code(empty.get_user_key(h, AT_SIGNATURE).unwrap_err()), NTE_NO_KEY);
    // A named container must exist even then.
    assert_eq!(
        code(
            empty
                .acquire_context(Some(b"x"), CRYPT_DEFAULT_CONTAINER_OPTIONAL)
                .unwrap_err()
        ),
        NTE_BAD_KEYSET
    );
}

#[cfg(feature = "pkcs12")]
#[test]
fn over_the_pkcs12_fixture() {
    use crate::source::{PasswordFrom, Pkcs12Entry, Pkcs12Source};
    let source = Pkcs12Source::new(
        Some(Pkcs12Entry {
            name: "legacy-file".into(),
            path: concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/rep-rsa2048.p12").into(),
            password: PasswordFrom::Value(zeroize::Zeroizing::new("crpki-test".into())),
        }),
        None,
    );
    let p = CspProvider::new(Arc::new(source), Worker::new(DEFAULT_TIMEOUT, None));
    let h = p.acquire_context(Some(b"legacy-file"), 0).unwrap();
    let k = p.get_user_key(h, AT_SIGNATURE).unwrap();
    let cert = crate::Certificate::from_der(&read(|o| p.get_key_param(h, k, KP_CERTIFICATE, o, 0))).unwrap();
    let hh = p.create_hash(h, CALG_SHA_256, 0, 0).unwrap();
    p.hash_data(h, hh, b"p12", 0).unwrap();
    let sig = read(|o| p.sign_hash(h, hh, AT_SIGNATURE, 0, o));
    cert.public_key()
        .unwrap()
        .verify_message(SignatureAlgorithm::RSA_PKCS1_SHA256, b"p12", &blob::reverse(&sig))
        .unwrap();
    p.verify_signature(h, hh, &sig, k, 0).unwrap();
}

#[test]
fn concurrent_signing() {
    let signer = Arc::new(CountingSigner::new());
    let p = Arc::new(provider_with(signer.clone()));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let p = p.clone();
            std::thread::spawn(move || {
                let h = p.acquire_context(None, 0).unwrap();
                for i in 0..10 {
                    let msg = format!("thread {t} message {i}");
                    let hh = p.create_hash(h, CALG_SHA_256, 0, 0).unwrap();
                    p.hash_data(h, hh, msg.as_bytes(), 0).unwrap();
                    let sig = read(|o| p.sign_hash(h, hh, AT_SIGNATURE, 0, o));
                    let k = p.get_user_key(h, AT_SIGNATURE).unwrap();
                    p.verify_signature(h, hh, &sig, k, 0).unwrap();
                    p.destroy_key(h, k).unwrap();
                    p.destroy_hash(h, hh).unwrap();
                }
                p.release_context(h, 0).unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(signer.calls(), 40);
    assert_eq!(p.live_objects(), (0, 0, 0));
}

#[test]
fn pins_set_by_the_application_reach_the_source_for_the_context_container() {
    let signer = Arc::new(CountingSigner::new());
    let source = Arc::new(crate::provider::testutil::PinRecorder::new(StaticSource::new(
        vec![
            ("cred-1".into(), signer.clone() as Arc<dyn RemoteSigner>),
            ("cred-2".into(), signer as Arc<dyn RemoteSigner>),
        ],
    )));
    let p = CspProvider::new(source.clone(), Worker::new(DEFAULT_TIMEOUT, None));
    let h = p.acquire_context(Some(b"cred-2"), 0).unwrap();
    p.set_prov_param(h, PP_SIGNATURE_PIN, Some(b"1234"), 0).unwrap();
    p.set_prov_param(h, PP_KEYEXCHANGE_PIN, Some(b"5678"), 0).unwrap();
    assert_eq!(
        source.pins(),
        [
            ("cred-2".to_owned(), "1234".to_owned()),
            ("cred-2".to_owned(), "5678".to_owned())
        ]
    );
    // A null value, a PIN that is not text, a verify-only context, a bad handle.
    let e = p.set_prov_param(h, PP_SIGNATURE_PIN, None, 0).unwrap_err();
    assert_eq!(code(e), ERROR_INVALID_PARAMETER);
    let e = p
        .set_prov_param(h, PP_SIGNATURE_PIN, Some(&[0xff, 0xfe]), 0)
        .unwrap_err();
    assert_eq!(code(e), ERROR_INVALID_PARAMETER);
    let v = p.acquire_context(None, CRYPT_VERIFYCONTEXT).unwrap();
    assert!(p.set_prov_param(v, PP_SIGNATURE_PIN, Some(b"1234"), 0).is_err());
    let e = p
        .set_prov_param(Handle::from_raw(0), PP_SIGNATURE_PIN, Some(b"1234"), 0)
        .unwrap_err();
    assert_eq!(code(e), NTE_BAD_UID);
    assert_eq!(source.pins().len(), 2, "no failed call stored a PIN");
    // A source without PINs refuses rather than ignores one.
    let plain = provider_with(Arc::new(CountingSigner::new()));
    let h = plain.acquire_context(None, 0).unwrap();
    let e = plain
        .set_prov_param(h, PP_SIGNATURE_PIN, Some(b"1234"), 0)
        .unwrap_err();
    assert_eq!(code(e), NTE_NOT_SUPPORTED);
}
