//! The signing contract every key source implements, and the algorithm types
//! it speaks.
//!
//! A [`RemoteSigner`] receives digests that were already computed (exactly
//! what CSC `signHash`, `CPSignHash` and `NCryptSignHash` receive) and signs
//! them in batches, because the remote protocol authorizes and signs many
//! hashes per round trip. Everything above this room (CMS, the CLI, the
//! Windows providers) only sees the trait.
//!
//! This room may use `cert` (for [`crate::cert::Certificate`]) and the crypto
//! primitives in [`key`]; it never touches the network itself.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use const_oid::ObjectIdentifier;

use crate::cert::Certificate;
use crate::error::{Error, Result};

pub mod key;
mod memory;
#[cfg(feature = "pkcs12")]
mod pkcs12;
pub(crate) mod pss;

pub use key::{PrivateKey, PublicKey};
pub use memory::MemorySigner;
#[cfg(feature = "pkcs12")]
pub use pkcs12::Pkcs12Signer;

/// OIDs used by the algorithm types.
pub mod oid {
    use const_oid::ObjectIdentifier;

    /// id-sha256
    pub const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
    /// id-sha384
    pub const SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
    /// id-sha512
    pub const SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
    /// rsaEncryption
    pub const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
    /// sha256WithRSAEncryption
    pub const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
    /// sha384WithRSAEncryption
    pub const SHA384_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
    /// sha512WithRSAEncryption
    pub const SHA512_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
    /// id-RSASSA-PSS
    pub const RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
    /// id-mgf1
    pub const MGF1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.8");
    /// id-ecPublicKey
    pub const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
    /// prime256v1 / secp256r1
    pub const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
    /// ecdsa-with-SHA256
    pub const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
    /// ecdsa-with-SHA384
    pub const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
    /// ecdsa-with-SHA512
    pub const ECDSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
}

/// A hash algorithm crpki signs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// SHA-256 (what the MOJ certificate signs with).
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlgorithm {
    /// Length of the digest in bytes.
    pub const fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    /// The algorithm's OID (`id-sha256`, …).
    pub const fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Sha256 => oid::SHA256,
            Self::Sha384 => oid::SHA384,
            Self::Sha512 => oid::SHA512,
        }
    }

    /// The algorithm for an OID, if crpki supports it.
    pub fn from_oid(oid: &ObjectIdentifier) -> Result<Self> {
        [Self::Sha256, Self::Sha384, Self::Sha512]
            .into_iter()
            .find(|h| h.oid() == *oid)
            .ok_or_else(|| Error::unsupported(format!("hash algorithm {oid}")))
    }

    /// Its usual name ("SHA-256").
    pub const fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "SHA-256",
            Self::Sha384 => "SHA-384",
            Self::Sha512 => "SHA-512",
        }
    }

    /// A streaming hasher for this algorithm.
    pub fn hasher(self) -> Hasher {
        Hasher::new(self)
    }

    /// Hashes `data` in one go.
    pub fn digest(self, data: &[u8]) -> Digest {
        let mut h = self.hasher();
        h.update(data);
        h.finish()
    }

    pub(crate) fn aws(self) -> &'static aws_lc_rs::digest::Algorithm {
        match self {
            Self::Sha256 => &aws_lc_rs::digest::SHA256,
            Self::Sha384 => &aws_lc_rs::digest::SHA384,
            Self::Sha512 => &aws_lc_rs::digest::SHA512,
        }
    }
}

impl fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A streaming hasher: feed it any amount of data, memory stays flat.
#[derive(Clone)]
pub struct Hasher {
    algorithm: HashAlgorithm,
    ctx: aws_lc_rs::digest::Context,
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hasher")
            .field("algorithm", &self.algorithm)
            .finish()
    }
}

impl Hasher {
    /// A new hasher.
    pub fn new(algorithm: HashAlgorithm) -> Self {
        Self {
            algorithm,
            ctx: aws_lc_rs::digest::Context::new(algorithm.aws()),
        }
    }

    /// Adds data.
    pub fn update(&mut self, data: &[u8]) {
        self.ctx.update(data);
    }

    /// Hashes everything `reader` yields, reading in fixed-size chunks.
    pub fn update_reader(&mut self, mut reader: impl std::io::Read) -> std::io::Result<u64> {
        let mut buf = vec![0u8; 256 * 1024];
        let mut total = 0u64;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => return Ok(total),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.ctx.update(&buf[..n]);
            total += n as u64;
        }
    }

    /// The digest of everything added.
    pub fn finish(self) -> Digest {
        let d = self.ctx.finish();
        Digest {
            algorithm: self.algorithm,
            bytes: d.as_ref().to_vec(),
        }
    }
}

/// Hashes a file by streaming it (memory stays flat whatever its size).
pub fn digest_file(algorithm: HashAlgorithm, path: &std::path::Path) -> Result<Digest> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let mut h = algorithm.hasher();
    h.update_reader(file)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    Ok(h.finish())
}

/// A digest that knows its hash algorithm; its length always fits it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Digest {
    algorithm: HashAlgorithm,
    bytes: Vec<u8>,
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({}:{})", self.algorithm, hex::encode(&self.bytes))
    }
}

impl Digest {
    /// Wraps digest bytes computed elsewhere; fails if the length does not
    /// fit the algorithm.
    pub fn new(algorithm: HashAlgorithm, bytes: impl Into<Vec<u8>>) -> Result<Self> {
        let bytes = bytes.into();
        if bytes.len() != algorithm.output_len() {
            return Err(Error::InvalidDigest {
                algorithm,
                expected: algorithm.output_len(),
                actual: bytes.len(),
            });
        }
        Ok(Self { algorithm, bytes })
    }

    /// The hash algorithm.
    pub fn algorithm(&self) -> HashAlgorithm {
        self.algorithm
    }

    /// The digest bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl AsRef<[u8]> for Digest {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

/// The type of a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// RSA.
    Rsa,
    /// ECDSA on NIST P-256.
    EcP256,
}

/// A key's algorithm and size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyInfo {
    /// The key type.
    pub algorithm: KeyAlgorithm,
    /// Modulus size for RSA, curve size for EC, in bits.
    pub bits: u32,
}

impl KeyInfo {
    /// The length of a raw signature made with this key: the modulus length
    /// for RSA, and for ECDSA the maximum DER length of `(r, s)`.
    pub fn max_signature_len(&self) -> usize {
        match self.algorithm {
            KeyAlgorithm::Rsa => self.bits.div_ceil(8) as usize,
            // SEQUENCE { INTEGER r, INTEGER s } with a possible leading zero each.
            KeyAlgorithm::EcP256 => 72,
        }
    }

    /// The signature schemes a key of this type can produce.
    pub fn schemes(&self) -> &'static [SignatureScheme] {
        match self.algorithm {
            KeyAlgorithm::Rsa => &[SignatureScheme::RsaPkcs1v15, SignatureScheme::RsaPss],
            KeyAlgorithm::EcP256 => &[SignatureScheme::Ecdsa],
        }
    }
}

impl fmt::Display for KeyInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.algorithm {
            KeyAlgorithm::Rsa => write!(f, "RSA-{}", self.bits),
            KeyAlgorithm::EcP256 => f.write_str("ECDSA P-256"),
        }
    }
}

/// How a digest is turned into a signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureScheme {
    /// RSASSA-PKCS1-v1_5 (the MOJ certificate's sha256WithRSAEncryption).
    RsaPkcs1v15,
    /// RSASSA-PSS with MGF1 of the same hash and a salt as long as the hash.
    RsaPss,
    /// ECDSA; the signature is the DER `SEQUENCE { r, s }`.
    Ecdsa,
}

/// A signature scheme together with the hash it signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SignatureAlgorithm {
    /// The scheme.
    pub scheme: SignatureScheme,
    /// The hash algorithm of the digests it signs.
    pub hash: HashAlgorithm,
}

impl SignatureAlgorithm {
    /// sha256WithRSAEncryption, what the MOJ certificate uses.
    pub const RSA_PKCS1_SHA256: Self = Self::new(SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha256);

    /// Combines a scheme and a hash.
    pub const fn new(scheme: SignatureScheme, hash: HashAlgorithm) -> Self {
        Self { scheme, hash }
    }

    /// The signature algorithm OID as used in X.509, CMS and CSC `signAlgo`
    /// (`sha256WithRSAEncryption`, `id-RSASSA-PSS`, `ecdsa-with-SHA256`, …).
    pub fn oid(&self) -> ObjectIdentifier {
        match (self.scheme, self.hash) {
            (SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha256) => oid::SHA256_WITH_RSA,
            (SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha384) => oid::SHA384_WITH_RSA,
            (SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha512) => oid::SHA512_WITH_RSA,
            (SignatureScheme::RsaPss, _) => oid::RSASSA_PSS,
            (SignatureScheme::Ecdsa, HashAlgorithm::Sha256) => oid::ECDSA_SHA256,
            (SignatureScheme::Ecdsa, HashAlgorithm::Sha384) => oid::ECDSA_SHA384,
            (SignatureScheme::Ecdsa, HashAlgorithm::Sha512) => oid::ECDSA_SHA512,
        }
    }

    /// The algorithm for a signature-algorithm OID plus, for OIDs that do
    /// not name the hash (rsaEncryption, RSASSA-PSS), the hash.
    pub fn from_oid(oid: &ObjectIdentifier, hash: Option<HashAlgorithm>) -> Result<Self> {
        use HashAlgorithm::*;
        use SignatureScheme::*;
        let need_hash = || {
            hash.ok_or_else(|| {
                Error::invalid_argument(format!("signature algorithm {oid} needs a hash algorithm"))
            })
        };
        Ok(match *oid {
            oid::SHA256_WITH_RSA => Self::new(RsaPkcs1v15, Sha256),
            oid::SHA384_WITH_RSA => Self::new(RsaPkcs1v15, Sha384),
            oid::SHA512_WITH_RSA => Self::new(RsaPkcs1v15, Sha512),
            oid::RSA_ENCRYPTION => Self::new(RsaPkcs1v15, need_hash()?),
            oid::RSASSA_PSS => Self::new(RsaPss, need_hash()?),
            oid::ECDSA_SHA256 => Self::new(Ecdsa, Sha256),
            oid::ECDSA_SHA384 => Self::new(Ecdsa, Sha384),
            oid::ECDSA_SHA512 => Self::new(Ecdsa, Sha512),
            _ => return Err(Error::unsupported(format!("signature algorithm {oid}"))),
        })
    }

    /// Whether a key of this type can make this signature.
    pub fn fits(&self, key: &KeyInfo) -> bool {
        key.schemes().contains(&self.scheme)
    }
}

impl fmt::Display for SignatureAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            SignatureScheme::RsaPkcs1v15 => "RSA PKCS#1 v1.5",
            SignatureScheme::RsaPss => "RSA-PSS",
            SignatureScheme::Ecdsa => "ECDSA",
        };
        write!(f, "{scheme} with {}", self.hash)
    }
}

/// A source of signatures: a remote signing service, a PKCS#12 file, or a
/// key in memory.
///
/// Object safe; callers hold `Arc<dyn RemoteSigner>`.
///
/// Contract, checked by the conformance suite in `tests/conformance.rs`:
/// - [`certificate`](Self::certificate) is the signing certificate and
///   [`chain`](Self::chain) its issuers, ending with the registrar's
///   self-signed certificate when the backend knows it;
/// - [`sign_digests`](Self::sign_digests) returns exactly one signature per
///   input digest, in input order, each verifying with the certificate's
///   public key; an empty batch is an error; every digest must use
///   `algorithm.hash`; an algorithm that does not fit the key is
///   [`Error::Unsupported`].
#[async_trait]
pub trait RemoteSigner: fmt::Debug + Send + Sync + 'static {
    /// The signing certificate.
    fn certificate(&self) -> &Certificate;

    /// The issuing chain, from the signing certificate's issuer up to the
    /// self-signed root (may be empty when the backend does not know it).
    fn chain(&self) -> &[Certificate];

    /// The key's algorithm and size.
    fn key_info(&self) -> KeyInfo;

    /// The algorithm used when the caller has no preference: PKCS#1 v1.5
    /// with SHA-256 for RSA keys, ECDSA with SHA-256 for EC keys.
    fn default_algorithm(&self) -> SignatureAlgorithm {
        match self.key_info().algorithm {
            KeyAlgorithm::Rsa => SignatureAlgorithm::RSA_PKCS1_SHA256,
            KeyAlgorithm::EcP256 => SignatureAlgorithm::new(SignatureScheme::Ecdsa, HashAlgorithm::Sha256),
        }
    }

    /// Signs a batch of digests; signatures come back in input order.
    async fn sign_digests(&self, algorithm: SignatureAlgorithm, digests: &[Digest]) -> Result<Vec<Vec<u8>>>;
}

/// Checks the arguments every backend must reject the same way: an empty
/// batch, digests of another hash than the algorithm's, an algorithm that
/// does not fit the key.
pub fn check_batch(key: &KeyInfo, algorithm: SignatureAlgorithm, digests: &[Digest]) -> Result<()> {
    if digests.is_empty() {
        return Err(Error::invalid_argument("no digest to sign"));
    }
    if !algorithm.fits(key) {
        return Err(Error::unsupported(format!("{algorithm} with a {key} key")));
    }
    if let Some(d) = digests.iter().find(|d| d.algorithm() != algorithm.hash) {
        return Err(Error::invalid_argument(format!(
            "digest of {} given for {algorithm}",
            d.algorithm()
        )));
    }
    Ok(())
}

/// Convenience: a shared signer.
pub type SharedSigner = Arc<dyn RemoteSigner>;
