//! The contract every `RemoteSigner` backend must keep (see the trait's
//! documentation), checked from the outside: any backend, in this crate or
//! another, joins by calling [`check_signer`] with an `Arc<dyn RemoteSigner>`.
//!
//! Signatures are checked twice: with `PublicKey::verify_digest` for every
//! one, and with the `openssl` CLI for one per algorithm, so a bug shared by
//! our signing and verifying code cannot hide.

use std::path::Path;
use std::sync::Arc;

use crate::cert::Certificate;
use crate::crypto::{Digest, HashAlgorithm, KeyAlgorithm, PublicKey, SignatureAlgorithm, SignatureScheme};
use crate::error::Error;
use crate::signer::RemoteSigner;

use super::openssl;

/// Batch sizes every algorithm is signed with.
const BATCH_SIZES: &[usize] = &[1, 3, 20];

/// Tasks signing at the same time in the concurrency check.
const TASKS: usize = 8;

/// Runs the whole suite; panics (with the signer's `Debug` in the message)
/// on the first broken rule.
///
/// `trusted_root`, when given, must be the last certificate of the chain.
///
/// What it checks: the certificate and chain (each issuer's signature,
/// with `openssl` too), every algorithm of the key type with batches of 1,
/// 3 and 20 (one signature per digest, in order, each verifying; one per
/// algorithm checked by `openssl pkeyutl`), signature lengths, the
/// rejections (empty batch, mixed hashes, a scheme the key cannot make,
/// digests of a wrong length), and concurrent use from several tasks.
///
/// A third-party backend runs it from its own tests (with crpki's feature
/// `test-util` in its dev-dependencies and the `openssl` CLI on `PATH`):
///
/// ```no_run
/// use std::sync::Arc;
///
/// use crpki::testing::{check_signer, fixtures};
///
/// #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
/// async fn my_backend_keeps_the_contract() {
///     // Here the crate's own MemorySigner stands for your backend.
///     let signer = fixtures::memory_signer("rep-rsa2048");
///     let root = fixtures::cert("registrar-root");
///     check_signer(Arc::new(signer), Some(&root)).await;
/// }
/// # fn main() {}
/// ```
pub async fn check_signer(signer: Arc<dyn RemoteSigner>, trusted_root: Option<&Certificate>) {
    let work = tempfile::tempdir().unwrap();
    let public = check_identity(signer.as_ref(), trusted_root, work.path());
    for &algorithm in algorithms_for(signer.as_ref()) {
        check_algorithm(signer.as_ref(), &public, algorithm, work.path()).await;
    }
    check_rejections(signer.as_ref()).await;
    check_concurrent_use(&signer, &public).await;
}

/// The algorithms a backend must sign with, by key type.
pub fn algorithms_for(signer: &dyn RemoteSigner) -> &'static [SignatureAlgorithm] {
    use HashAlgorithm::*;
    use SignatureScheme::*;
    const RSA: &[SignatureAlgorithm] = &[
        SignatureAlgorithm::new(RsaPkcs1v15, Sha256),
        SignatureAlgorithm::new(RsaPkcs1v15, Sha384),
        SignatureAlgorithm::new(RsaPkcs1v15, Sha512),
        SignatureAlgorithm::new(RsaPss, Sha256),
        SignatureAlgorithm::new(RsaPss, Sha384),
        SignatureAlgorithm::new(RsaPss, Sha512),
    ];
    const EC: &[SignatureAlgorithm] = &[SignatureAlgorithm::new(Ecdsa, Sha256)];
    match signer.key_info().algorithm {
        KeyAlgorithm::Rsa => RSA,
        KeyAlgorithm::EcP256 => EC,
    }
}

/// `count` distinct digests of `hash` (the content depends on `tag`, so
/// batches from different tasks differ).
pub fn digests(hash: HashAlgorithm, tag: &str, count: usize) -> Vec<Digest> {
    (0..count)
        .map(|i| hash.digest(format!("conformance document {tag} #{i}").as_bytes()))
        .collect()
}

/// Certificate, key and chain agree with each other; returns the
/// certificate's public key.
fn check_identity(signer: &dyn RemoteSigner, trusted_root: Option<&Certificate>, dir: &Path) -> PublicKey {
    let certificate = signer.certificate();
    let public = certificate
        .public_key()
        .unwrap_or_else(|e| panic!("{signer:?}: the certificate's public key does not parse: {e}"));
    assert_eq!(
        public.info(),
        signer.key_info(),
        "{signer:?}: key_info() disagrees with the certificate's public key"
    );
    let expected_default = match signer.key_info().algorithm {
        KeyAlgorithm::Rsa => SignatureAlgorithm::RSA_PKCS1_SHA256,
        _ => SignatureAlgorithm::new(SignatureScheme::Ecdsa, HashAlgorithm::Sha256),
    };
    assert_eq!(
        signer.default_algorithm(),
        expected_default,
        "{signer:?}: default algorithm"
    );

    let chain = signer.chain();
    if let Some(root) = trusted_root {
        assert_eq!(
            chain.last().map(Certificate::der),
            Some(root.der()),
            "{signer:?}: the chain must end with the trusted root"
        );
    }
    if chain.is_empty() {
        return public;
    }
    let mut child = certificate;
    for issuer in chain {
        assert!(
            issuer.inner().tbs_certificate().subject() == child.inner().tbs_certificate().issuer(),
            "{signer:?}: chain out of order: '{}' is not the issuer of '{}'",
            issuer.subject(),
            child.subject()
        );
        child = issuer;
    }
    let root = chain.last().unwrap();
    assert!(
        root.inner().tbs_certificate().subject() == root.inner().tbs_certificate().issuer(),
        "{signer:?}: the chain does not end with a self-signed certificate"
    );
    // openssl checks the issuers' signatures on the way up.
    let write_pem = |name: &str, certs: &[Certificate]| {
        let mut text = String::new();
        for (i, c) in certs.iter().enumerate() {
            let der = format!("{name}.{i}.der");
            std::fs::write(dir.join(&der), c.der()).unwrap();
            let out = openssl::run_ok(dir, &["x509", "-inform", "DER", "-in", &der]);
            text.push_str(&String::from_utf8(out.stdout).unwrap());
        }
        std::fs::write(dir.join(format!("{name}.pem")), text).unwrap();
    };
    write_pem("leaf", std::slice::from_ref(certificate));
    write_pem("root", std::slice::from_ref(root));
    write_pem("untrusted", &chain[..chain.len() - 1]);
    let mut args = vec![
        "verify",
        "-no_check_time",
        "-ignore_critical",
        "-CAfile",
        "root.pem",
    ];
    if chain.len() > 1 {
        args.extend(["-untrusted", "untrusted.pem"]);
    }
    args.push("leaf.pem");
    openssl::run_ok(dir, &args);
    public
}

/// Batches of several sizes come back complete, in order, and verify.
async fn check_algorithm(
    signer: &dyn RemoteSigner,
    public: &PublicKey,
    algorithm: SignatureAlgorithm,
    dir: &Path,
) {
    for &n in BATCH_SIZES {
        let mut batch = digests(algorithm.hash, &format!("{algorithm} n={n}"), n);
        if n == 3 {
            // A repeated digest is legal and must be signed in its place.
            batch[2] = batch[0].clone();
        }
        let signatures = signer
            .sign_digests(algorithm, &batch)
            .await
            .unwrap_or_else(|e| panic!("{signer:?}: {algorithm}, batch of {n}: {e}"));
        assert_eq!(
            signatures.len(),
            n,
            "{signer:?}: {algorithm}: one signature per digest"
        );
        for (i, (digest, signature)) in batch.iter().zip(&signatures).enumerate() {
            check_length(signer, algorithm, signature);
            public
                .verify_digest(algorithm, digest, signature)
                .unwrap_or_else(|e| panic!("{signer:?}: {algorithm}: signature {i} of {n} (order?): {e}"));
        }
        if n == 3 && algorithm.scheme == SignatureScheme::RsaPkcs1v15 {
            // RSASSA-PKCS1-v1_5 is deterministic: same digest, same signature.
            assert_eq!(
                signatures[0], signatures[2],
                "{signer:?}: {algorithm}: repeated digest"
            );
        }
        if n > 1 {
            // Each signature belongs to its own digest only.
            assert!(
                public
                    .verify_digest(algorithm, &batch[1], &signatures[0])
                    .is_err(),
                "{signer:?}: {algorithm}: a signature verified against another digest"
            );
        }
    }

    // The independent judge, once per algorithm, and a tampered copy it must refuse.
    let digest = algorithm
        .hash
        .digest(format!("openssl check {algorithm}").as_bytes());
    let signature = signer
        .sign_digests(algorithm, std::slice::from_ref(&digest))
        .await
        .unwrap()
        .remove(0);
    let spki = signer.certificate().public_key_der();
    assert!(
        openssl::pkeyutl_verifies(dir, spki, algorithm, digest.as_bytes(), &signature),
        "{signer:?}: openssl pkeyutl refuses the {algorithm} signature"
    );
    let mut other = digest.as_bytes().to_vec();
    other[0] ^= 1;
    assert!(
        !openssl::pkeyutl_verifies(dir, spki, algorithm, &other, &signature),
        "{signer:?}: openssl accepted a {algorithm} signature over another digest"
    );
}

fn check_length(signer: &dyn RemoteSigner, algorithm: SignatureAlgorithm, signature: &[u8]) {
    let max = signer.key_info().max_signature_len();
    match signer.key_info().algorithm {
        KeyAlgorithm::Rsa => assert_eq!(
            signature.len(),
            max,
            "{signer:?}: {algorithm}: RSA signature length"
        ),
        _ => assert!(
            (8..=max).contains(&signature.len()),
            "{signer:?}: {algorithm}: signature of {} bytes",
            signature.len()
        ),
    }
}

/// Arguments every backend rejects the same way.
async fn check_rejections(signer: &dyn RemoteSigner) {
    let default = signer.default_algorithm();

    let err = rejected(signer, default, &[], "an empty batch").await;
    assert!(
        matches!(err, Error::InvalidArgument { .. }),
        "{signer:?}: empty batch gave {err:?}"
    );

    let sha384 = HashAlgorithm::Sha384.digest(b"other hash");
    let err = rejected(
        signer,
        default,
        std::slice::from_ref(&sha384),
        "a digest of another hash",
    )
    .await;
    assert!(
        matches!(err, Error::InvalidArgument { .. }),
        "{signer:?}: wrong hash gave {err:?}"
    );

    let mut mixed = digests(default.hash, "mixed", 2);
    mixed.push(sha384);
    let err = rejected(signer, default, &mixed, "a batch of mixed hashes").await;
    assert!(
        matches!(err, Error::InvalidArgument { .. }),
        "{signer:?}: mixed hashes gave {err:?}"
    );

    let misfits: &[SignatureScheme] = match signer.key_info().algorithm {
        KeyAlgorithm::Rsa => &[SignatureScheme::Ecdsa],
        _ => &[SignatureScheme::RsaPkcs1v15, SignatureScheme::RsaPss],
    };
    for &scheme in misfits {
        let algorithm = SignatureAlgorithm::new(scheme, HashAlgorithm::Sha256);
        let batch = digests(HashAlgorithm::Sha256, "misfit", 1);
        let err = rejected(signer, algorithm, &batch, "a scheme that does not fit the key").await;
        assert!(
            matches!(err, Error::Unsupported { .. }),
            "{signer:?}: {algorithm} gave {err:?}"
        );
    }

    for (hash, len) in [
        (HashAlgorithm::Sha256, 31),
        (HashAlgorithm::Sha256, 33),
        (HashAlgorithm::Sha384, 32),
    ] {
        match Digest::new(hash, vec![0u8; len]) {
            Err(Error::InvalidDigest {
                algorithm,
                expected,
                actual,
            }) => {
                assert_eq!((algorithm, expected, actual), (hash, hash.output_len(), len));
            }
            other => panic!("Digest::new({hash}, {len} bytes) gave {other:?}"),
        }
    }
}

async fn rejected(
    signer: &dyn RemoteSigner,
    algorithm: SignatureAlgorithm,
    batch: &[Digest],
    what: &str,
) -> Error {
    match signer.sign_digests(algorithm, batch).await {
        Ok(signatures) => panic!(
            "{signer:?}: signed {what} ({} signatures) instead of refusing",
            signatures.len()
        ),
        Err(e) => e,
    }
}

/// Several tasks sign through the same `Arc` at once; each gets its own
/// signatures back.
async fn check_concurrent_use(signer: &Arc<dyn RemoteSigner>, public: &PublicKey) {
    let algorithm = signer.default_algorithm();
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let signer = Arc::clone(signer);
            tokio::spawn(async move {
                let batch = digests(algorithm.hash, &format!("task {t}"), 3);
                let signatures = signer.sign_digests(algorithm, &batch).await;
                (batch, signatures)
            })
        })
        .collect();
    for (t, task) in tasks.into_iter().enumerate() {
        let (batch, signatures) = task.await.unwrap();
        let signatures = signatures.unwrap_or_else(|e| panic!("{signer:?}: task {t}: {e}"));
        assert_eq!(signatures.len(), batch.len(), "{signer:?}: task {t}");
        for (digest, signature) in batch.iter().zip(&signatures) {
            public
                .verify_digest(algorithm, digest, signature)
                .unwrap_or_else(|e| panic!("{signer:?}: task {t} got a signature that is not its own: {e}"));
        }
    }
}
