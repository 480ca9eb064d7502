//! Key material on this machine: the one place that turns a digest into a
//! signature with a local private key, and checks a signature with a public
//! key (the seed's function ④). Every local backend and the sandbox use it,
//! so there is one implementation of each algorithm.

use std::fmt;
use std::sync::{Arc, Mutex};

use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self as sig, KeyPair as _};
use der::Decode;
use spki::SubjectPublicKeyInfoOwned;

use super::{
    Digest, DigestBatch, HashAlgorithm, KeyAlgorithm, KeyInfo, SignatureAlgorithm, SignatureScheme, oid,
};
use crate::error::{Error, Result};

/// A public key, kept as its DER `SubjectPublicKeyInfo`.
///
/// The key is parsed for aws-lc-rs once per signature algorithm it is used
/// with and kept (shared by clones), so verifying many signatures with one
/// key does not parse it each time.
#[derive(Clone)]
pub struct PublicKey {
    spki_der: Vec<u8>,
    info: KeyInfo,
    parsed: Arc<Mutex<ParsedKeys>>,
}

/// The key parsed by aws-lc-rs, per signature algorithm (and PSS salt)
/// used so far.
type ParsedKeys = Vec<((SignatureAlgorithm, PssSalt), Arc<sig::ParsedPublicKey>)>;

/// The RSASSA-PSS salt lengths crpki verifies. Signing always uses
/// [`PssSalt::HashLength`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PssSalt {
    /// As long as the hash: what crpki, CNG and most signers write.
    HashLength,
    /// The largest the key allows (`emLen - hLen - 2`): OpenSSL's default
    /// for `openssl cms -sign -keyopt rsa_padding_mode:pss`.
    Maximum,
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.spki_der == other.spki_der
    }
}

impl Eq for PublicKey {}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey").field("info", &self.info).finish()
    }
}

impl PublicKey {
    /// Parses a DER `SubjectPublicKeyInfo` (RSA or EC P-256).
    pub fn from_spki_der(der: &[u8]) -> Result<Self> {
        let spki =
            SubjectPublicKeyInfoOwned::from_der(der).map_err(|e| Error::malformed_from("public key", e))?;
        let info = key_info_of(&spki)?;
        Ok(Self {
            spki_der: der.to_vec(),
            info,
            parsed: Arc::default(),
        })
    }

    /// The DER `SubjectPublicKeyInfo`.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The key's type and size.
    pub fn info(&self) -> KeyInfo {
        self.info
    }

    /// For RSA keys: the modulus and the public exponent, big-endian without
    /// leading zeros (what CryptoAPI and CNG key blobs are built from).
    pub fn rsa_components(&self) -> Result<(Vec<u8>, Vec<u8>)> {
        if self.info.algorithm != KeyAlgorithm::Rsa {
            return Err(Error::unsupported("RSA components of a non-RSA key"));
        }
        let spki = SubjectPublicKeyInfoOwned::from_der(&self.spki_der)
            .map_err(|e| Error::malformed_from("public key", e))?;
        let bits = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| Error::malformed("public key", "unaligned bit string"))?;
        let rsa = RsaPublicKeyDer::from_der(bits).map_err(|e| Error::malformed_from("RSA public key", e))?;
        Ok((
            rsa.modulus.as_bytes().to_vec(),
            rsa.public_exponent.as_bytes().to_vec(),
        ))
    }

    /// For EC keys: the uncompressed point `04 || X || Y`.
    pub fn ec_point(&self) -> Result<Vec<u8>> {
        if self.info.algorithm != KeyAlgorithm::EcP256 {
            return Err(Error::unsupported("EC point of a non-EC key"));
        }
        let spki = SubjectPublicKeyInfoOwned::from_der(&self.spki_der)
            .map_err(|e| Error::malformed_from("public key", e))?;
        spki.subject_public_key
            .as_bytes()
            .map(<[u8]>::to_vec)
            .ok_or_else(|| Error::malformed("public key", "unaligned bit string"))
    }

    /// Checks `signature` over `digest` with this key (the seed's function ④).
    ///
    /// RSA keys of 1024 bits are accepted for verification only (older MOJ
    /// certificates), with PKCS#1 v1.5.
    pub fn verify_digest(
        &self,
        algorithm: SignatureAlgorithm,
        digest: &Digest,
        signature: &[u8],
    ) -> Result<()> {
        if digest.algorithm() != algorithm.hash {
            return Err(Error::invalid_argument(format!(
                "digest of {} given for {algorithm}",
                digest.algorithm()
            )));
        }
        if !algorithm.fits(&self.info) {
            return Err(Error::unsupported(format!(
                "{algorithm} with a {} key",
                self.info
            )));
        }
        self.verify_with(algorithm, PssSalt::HashLength, digest, signature)
    }

    /// [`verify_digest`](Self::verify_digest), or with `pss_salt`
    /// [`verify_digest_pss`](Self::verify_digest_pss): the pair an
    /// AlgorithmIdentifier reads as (`crypto::algid`).
    pub(crate) fn verify_digest_salted(
        &self,
        algorithm: SignatureAlgorithm,
        pss_salt: Option<usize>,
        digest: &Digest,
        signature: &[u8],
    ) -> Result<()> {
        match pss_salt {
            Some(salt) => self.verify_digest_pss(digest, salt, signature),
            None => self.verify_digest(algorithm, digest, signature),
        }
    }

    /// Checks an RSASSA-PSS `signature` over `digest` whose salt is
    /// `salt_len` bytes long, as the signature's parameters say.
    ///
    /// Salts as long as the hash and the largest the key allows (OpenSSL's
    /// default) are verified; other lengths are [`Error::Unsupported`].
    pub fn verify_digest_pss(&self, digest: &Digest, salt_len: usize, signature: &[u8]) -> Result<()> {
        let hash = digest.algorithm();
        let algorithm = SignatureAlgorithm::new(SignatureScheme::RsaPss, hash);
        if salt_len == hash.output_len() {
            return self.verify_digest(algorithm, digest, signature);
        }
        let max = self.max_pss_salt(hash);
        if Some(salt_len) != max || !algorithm.fits(&self.info) {
            return Err(Error::unsupported(format!(
                "RSASSA-PSS with a {salt_len}-byte salt and a {} key (crpki verifies a salt as long \
                 as the hash, {} bytes, or the largest the key allows{})",
                self.info,
                hash.output_len(),
                max.map(|m| format!(", {m} bytes")).unwrap_or_default()
            )));
        }
        self.verify_with(algorithm, PssSalt::Maximum, digest, signature)
    }

    /// The largest PSS salt for this key and `hash`: `emLen - hLen - 2`
    /// with `emLen = ceil((modBits - 1) / 8)` (RFC 8017 §9.1.1).
    fn max_pss_salt(&self, hash: HashAlgorithm) -> Option<usize> {
        if self.info.algorithm != KeyAlgorithm::Rsa {
            return None;
        }
        let em_len = (self.info.bits as usize + 6) / 8;
        em_len.checked_sub(hash.output_len() + 2)
    }

    fn verify_with(
        &self,
        algorithm: SignatureAlgorithm,
        salt: PssSalt,
        digest: &Digest,
        signature: &[u8],
    ) -> Result<()> {
        let key = self.parsed_for(algorithm, salt)?;
        let d = aws_digest(digest)?;
        key.verify_digest_sig(&d, signature)
            .map_err(|_| Error::BadSignature {
                detail: format!(
                    "{algorithm} signature does not match the digest and the {} key",
                    self.info
                ),
            })
    }

    /// The key parsed for `algorithm`: from the cache, else parsed now and
    /// kept. A poisoned lock only means another thread panicked while
    /// holding it; the list is still valid.
    fn parsed_for(&self, algorithm: SignatureAlgorithm, salt: PssSalt) -> Result<Arc<sig::ParsedPublicKey>> {
        let lock = || {
            self.parsed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        if let Some((_, key)) = lock().iter().find(|(a, _)| *a == (algorithm, salt)) {
            return Ok(key.clone());
        }
        let verifier = verification_algorithm(algorithm, salt, &self.info)?;
        // The structure was checked by `from_spki_der`: what aws-lc-rs still
        // refuses is a key it does not take for this algorithm (e.g. size).
        let key = Arc::new(
            sig::ParsedPublicKey::new(verifier, &self.spki_der)
                .map_err(|e| Error::unsupported(format!("{algorithm} with this {} key: {e}", self.info)))?,
        );
        lock().push(((algorithm, salt), key.clone()));
        Ok(key)
    }

    /// Checks `signature` over `message` (hashing it first).
    pub fn verify_message(
        &self,
        algorithm: SignatureAlgorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<()> {
        self.verify_digest(algorithm, &algorithm.hash.digest(message), signature)
    }
}

/// `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`
#[derive(der::Sequence)]
struct RsaPublicKeyDer<'a> {
    modulus: der::asn1::UintRef<'a>,
    public_exponent: der::asn1::UintRef<'a>,
}

fn key_info_of(spki: &SubjectPublicKeyInfoOwned) -> Result<KeyInfo> {
    match spki.algorithm.oid {
        oid::RSA_ENCRYPTION => {
            let bits = spki
                .subject_public_key
                .as_bytes()
                .ok_or_else(|| Error::malformed("public key", "unaligned bit string"))?;
            let rsa =
                RsaPublicKeyDer::from_der(bits).map_err(|e| Error::malformed_from("RSA public key", e))?;
            let m = rsa.modulus.as_bytes();
            let lead = m.first().copied().unwrap_or(0);
            let bits = (m.len() as u32) * 8 - lead.leading_zeros();
            Ok(KeyInfo {
                algorithm: KeyAlgorithm::Rsa,
                bits,
            })
        }
        oid::EC_PUBLIC_KEY => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<const_oid::ObjectIdentifier>().ok());
            if curve != Some(oid::P256) {
                return Err(Error::unsupported(format!(
                    "EC curve {}",
                    curve.map(|c| c.to_string()).unwrap_or_else(|| "(none)".into())
                )));
            }
            Ok(KeyInfo {
                algorithm: KeyAlgorithm::EcP256,
                bits: 256,
            })
        }
        other => Err(Error::unsupported(format!("public key algorithm {other}"))),
    }
}

fn aws_digest(digest: &Digest) -> Result<aws_lc_rs::digest::Digest> {
    aws_lc_rs::digest::Digest::import_less_safe(digest.as_bytes(), digest.algorithm().aws()).map_err(|_| {
        Error::InvalidDigest {
            algorithm: digest.algorithm(),
            expected: digest.algorithm().output_len(),
            actual: digest.as_bytes().len(),
        }
    })
}

/// The signing encoding of RSASSA-PSS with `hash` and a salt of `salt_len`
/// bytes. aws-lc-rs takes encodings by `'static` reference, so each one
/// asked for is made once and kept: at most one per hash and salt length
/// (a few hundred for the largest keys), never freed. Only the sandbox
/// signs with a salt its client names.
#[cfg(feature = "sandbox")]
fn pss_encoding(hash: HashAlgorithm, salt_len: usize) -> Result<&'static sig::RsaSignatureEncoding> {
    type Table = std::collections::HashMap<(HashAlgorithm, u16), &'static sig::RsaSignatureEncoding>;
    static MADE: Mutex<Option<Table>> = Mutex::new(None);
    let salt = u16::try_from(salt_len).map_err(|_| Error::unsupported("an RSASSA-PSS salt that long"))?;
    let base = match hash {
        HashAlgorithm::Sha256 => sig::RSA_PSS_SHA256,
        HashAlgorithm::Sha384 => sig::RSA_PSS_SHA384,
        HashAlgorithm::Sha512 => sig::RSA_PSS_SHA512,
        #[allow(unreachable_patterns)]
        _ => return Err(Error::unsupported(format!("RSASSA-PSS with {hash}"))),
    };
    let mut made = MADE.lock().unwrap_or_else(|p| p.into_inner());
    let enc = *made
        .get_or_insert_with(Default::default)
        .entry((hash, salt))
        .or_insert_with(|| {
            Box::leak(Box::new(
                base.with_pss_salt_length(sig::RsaPssSaltLength::Custom(salt)),
            ))
        });
    Ok(enc)
}

fn verification_algorithm(
    alg: SignatureAlgorithm,
    salt: PssSalt,
    key: &KeyInfo,
) -> Result<&'static dyn sig::VerificationAlgorithm> {
    use HashAlgorithm::*;
    use SignatureScheme::*;
    use sig::RsaPssSaltLength::Max;
    let legacy = key.algorithm == KeyAlgorithm::Rsa && key.bits < 2048;
    if salt == PssSalt::Maximum {
        return Ok(match (alg.scheme, alg.hash, legacy) {
            (RsaPss, Sha256, false) => &const { sig::RSA_PSS_2048_8192_SHA256.with_pss_salt_length(Max) },
            (RsaPss, Sha384, false) => &const { sig::RSA_PSS_2048_8192_SHA384.with_pss_salt_length(Max) },
            (RsaPss, Sha512, false) => &const { sig::RSA_PSS_2048_8192_SHA512.with_pss_salt_length(Max) },
            _ => {
                return Err(Error::unsupported(format!(
                    "{alg} with the largest salt and a {key} key"
                )));
            }
        });
    }
    Ok(match (alg.scheme, alg.hash, legacy) {
        (RsaPkcs1v15, Sha256, false) => &sig::RSA_PKCS1_2048_8192_SHA256,
        (RsaPkcs1v15, Sha384, false) => &sig::RSA_PKCS1_2048_8192_SHA384,
        (RsaPkcs1v15, Sha512, false) => &sig::RSA_PKCS1_2048_8192_SHA512,
        (RsaPkcs1v15, Sha256, true) => &sig::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
        (RsaPkcs1v15, Sha512, true) => &sig::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
        (RsaPss, Sha256, false) => &sig::RSA_PSS_2048_8192_SHA256,
        (RsaPss, Sha384, false) => &sig::RSA_PSS_2048_8192_SHA384,
        (RsaPss, Sha512, false) => &sig::RSA_PSS_2048_8192_SHA512,
        (Ecdsa, Sha256, _) => &sig::ECDSA_P256_SHA256_ASN1,
        (Ecdsa, Sha384, _) => &sig::ECDSA_P256_SHA384_ASN1,
        (Ecdsa, Sha512, _) => &sig::ECDSA_P256_SHA512_ASN1,
        _ => return Err(Error::unsupported(format!("{alg} with a {key} key"))),
    })
}

enum Inner {
    Rsa(sig::RsaKeyPair),
    // Kept as PKCS#8: an aws-lc-rs ECDSA key pair is bound to one hash, so
    // one is made per signature. Wiped when dropped.
    Ec(zeroize::Zeroizing<Vec<u8>>),
}

/// A private key in this process's memory (RSA 2048–8192 or EC P-256).
///
/// Its `Debug` output never shows key material.
pub struct PrivateKey {
    inner: Inner,
    public: PublicKey,
}

super::debug_fields!(PrivateKey { public, .. });

impl PrivateKey {
    /// Generates a new RSA key of `bits` (2048, 3072, 4096 or 8192).
    pub fn generate_rsa(bits: u32) -> Result<Self> {
        let size = match bits {
            2048 => KeySize::Rsa2048,
            3072 => KeySize::Rsa3072,
            4096 => KeySize::Rsa4096,
            8192 => KeySize::Rsa8192,
            _ => return Err(Error::unsupported(format!("generating RSA-{bits} keys"))),
        };
        let kp =
            sig::RsaKeyPair::generate(size).map_err(|_| Error::unsupported("RSA key generation failed"))?;
        Self::from_rsa(kp)
    }

    /// Generates a new EC P-256 key.
    pub fn generate_p256() -> Result<Self> {
        let pkcs8 =
            sig::EcdsaKeyPair::generate_pkcs8(&sig::ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new())
                .map_err(|_| Error::unsupported("EC key generation failed"))?;
        Self::from_pkcs8_der(pkcs8.as_ref())
    }

    /// Reads a PKCS#8 `PrivateKeyInfo` (RSA or EC P-256).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        let info = pkcs8_algorithm(der)?;
        match info {
            oid::RSA_ENCRYPTION => {
                let kp = sig::RsaKeyPair::from_pkcs8(der).map_err(|e| {
                    if e.to_string().contains("TooSmall") {
                        Error::unsupported("RSA keys shorter than 2048 bits cannot sign (too weak)")
                    } else {
                        Error::Malformed {
                            what: "RSA private key",
                            detail: e.to_string(),
                            source: None,
                        }
                    }
                })?;
                Self::from_rsa(kp)
            }
            oid::EC_PUBLIC_KEY => {
                let kp = sig::EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P256_SHA256_ASN1_SIGNING, der).map_err(
                    |e| Error::Malformed {
                        what: "EC private key",
                        detail: format!("{e} (only P-256 is supported)"),
                        source: None,
                    },
                )?;
                let spki = kp
                    .public_key()
                    .as_der()
                    .map_err(|_| Error::malformed("EC private key", "cannot encode its public key"))?;
                Ok(Self {
                    inner: Inner::Ec(zeroize::Zeroizing::new(der.to_vec())),
                    public: PublicKey::from_spki_der(spki.as_ref())?,
                })
            }
            other => Err(Error::unsupported(format!("private key algorithm {other}"))),
        }
    }

    fn from_rsa(kp: sig::RsaKeyPair) -> Result<Self> {
        let spki: PublicKeyX509Der<'static> = kp
            .public_key()
            .as_der()
            .map_err(|_| Error::malformed("RSA private key", "cannot encode its public key"))?;
        let public = PublicKey::from_spki_der(spki.as_ref())?;
        Ok(Self {
            inner: Inner::Rsa(kp),
            public,
        })
    }

    /// The key as PKCS#8 DER (for storing a generated key).
    pub fn to_pkcs8_der(&self) -> Result<Vec<u8>> {
        match &self.inner {
            Inner::Rsa(kp) => kp
                .as_der()
                .map(|d| d.as_ref().to_vec())
                .map_err(|_| Error::unsupported("encoding the RSA key")),
            Inner::Ec(der) => Ok(der.to_vec()),
        }
    }

    /// The public half.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The key's type and size.
    pub fn info(&self) -> KeyInfo {
        self.public.info
    }

    /// Signs one digest.
    pub fn sign_digest(&self, algorithm: SignatureAlgorithm, digest: &Digest) -> Result<Vec<u8>> {
        DigestBatch::new(&self.info(), algorithm, std::slice::from_ref(digest))?;
        self.sign_checked(algorithm, digest)
    }

    /// Signs a batch of digests, in order, after the checks every backend
    /// shares ([`DigestBatch::new`]).
    pub fn sign_digests(&self, algorithm: SignatureAlgorithm, digests: &[Digest]) -> Result<Vec<Vec<u8>>> {
        self.sign_batch(&DigestBatch::new(&self.info(), algorithm, digests)?)
    }

    /// Signs a checked batch, in order. A batch checked against another
    /// type or size of key is [`Error::Unsupported`].
    pub fn sign_batch(&self, batch: &DigestBatch<'_>) -> Result<Vec<Vec<u8>>> {
        if batch.key() != self.info() {
            return Err(Error::unsupported(format!(
                "a batch for a {} key given to a {} key",
                batch.key(),
                self.info()
            )));
        }
        let algorithm = batch.algorithm();
        batch
            .digests()
            .iter()
            .map(|d| self.sign_checked(algorithm, d))
            .collect()
    }

    /// Signs one digest with RSASSA-PSS (MGF1 with the digest's hash) and a
    /// salt of exactly `salt_len` bytes, from 0 up to the largest the key
    /// allows (`emLen - hLen - 2`: 222 for RSA-2048 with SHA-256). Other CSC
    /// clients ask for other salts than the hash length crpki uses (pyHanko
    /// asks for the largest), and a service must sign with the salt the
    /// signature's parameters name. Not an RSA key, or a salt too long, is
    /// [`Error::Unsupported`].
    #[cfg(feature = "sandbox")]
    pub(crate) fn sign_digest_pss_salt(&self, digest: &Digest, salt_len: usize) -> Result<Vec<u8>> {
        let Inner::Rsa(kp) = &self.inner else {
            return Err(Error::unsupported("RSASSA-PSS with a key that is not RSA"));
        };
        let hash = digest.algorithm();
        let em_len = (self.info().bits as usize).saturating_sub(1).div_ceil(8);
        let max = em_len.saturating_sub(hash.output_len() + 2);
        if salt_len > max {
            return Err(Error::unsupported(format!(
                "an RSASSA-PSS salt of {salt_len} bytes with a {} key and {hash} (at most {max})",
                self.info()
            )));
        }
        let enc = pss_encoding(hash, salt_len)?;
        let d = aws_digest(digest)?;
        let mut out = vec![0u8; kp.public_modulus_len()];
        kp.sign_digest(enc, &d, &mut out).map_err(|_| {
            Error::unsupported(format!(
                "RSASSA-PSS with {hash} and a {salt_len}-byte salt failed"
            ))
        })?;
        Ok(out)
    }

    /// Signs one digest whose batch was checked.
    fn sign_checked(&self, algorithm: SignatureAlgorithm, digest: &Digest) -> Result<Vec<u8>> {
        let d = aws_digest(digest)?;
        match &self.inner {
            Inner::Rsa(kp) => {
                use HashAlgorithm::*;
                use SignatureScheme::*;
                let enc: &'static dyn sig::RsaEncoding = match (algorithm.scheme, algorithm.hash) {
                    (RsaPkcs1v15, Sha256) => &sig::RSA_PKCS1_SHA256,
                    (RsaPkcs1v15, Sha384) => &sig::RSA_PKCS1_SHA384,
                    (RsaPkcs1v15, Sha512) => &sig::RSA_PKCS1_SHA512,
                    (RsaPss, Sha256) => &sig::RSA_PSS_SHA256,
                    (RsaPss, Sha384) => &sig::RSA_PSS_SHA384,
                    (RsaPss, Sha512) => &sig::RSA_PSS_SHA512,
                    _ => return Err(Error::unsupported(format!("{algorithm} with an RSA key"))),
                };
                let mut out = vec![0u8; kp.public_modulus_len()];
                kp.sign_digest(enc, &d, &mut out)
                    .map_err(|_| Error::unsupported(format!("{algorithm} signing failed")))?;
                Ok(out)
            }
            Inner::Ec(pkcs8) => {
                if algorithm.hash != HashAlgorithm::Sha256 {
                    return Err(Error::unsupported(format!(
                        "{algorithm}: P-256 keys sign SHA-256 digests only"
                    )));
                }
                let kp = sig::EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8)
                    .map_err(|_| Error::malformed("EC private key", "cannot be loaded"))?;
                let s = kp
                    .sign_digest(&d)
                    .map_err(|_| Error::unsupported(format!("{algorithm} signing failed")))?;
                Ok(s.as_ref().to_vec())
            }
        }
    }

    /// Checks that this key belongs to `cert_spki_der` (a certificate's public key).
    pub fn check_matches(&self, cert_spki_der: &[u8]) -> Result<()> {
        // Compare the decoded structures: the same key may be encoded with
        // or without explicit NULL parameters.
        let a = SubjectPublicKeyInfoOwned::from_der(cert_spki_der)
            .map_err(|e| Error::malformed_from("public key", e))?;
        let b = SubjectPublicKeyInfoOwned::from_der(&self.public.spki_der)
            .map_err(|e| Error::malformed_from("public key", e))?;
        if a.algorithm.oid == b.algorithm.oid && a.subject_public_key == b.subject_public_key {
            Ok(())
        } else {
            Err(Error::KeyMismatch {
                detail: "the certificate's public key is not the private key's".into(),
            })
        }
    }
}

fn pkcs8_algorithm(der: &[u8]) -> Result<const_oid::ObjectIdentifier> {
    let info =
        pkcs8::PrivateKeyInfoRef::try_from(der).map_err(|e| Error::malformed_from("private key", e))?;
    Ok(info.algorithm.oid)
}
