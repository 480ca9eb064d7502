//! Cryptography on this machine: hashing and digests, local keys (sign and
//! verify), the RSASSA-PSS parameters, and the checked batch of digests
//! every signer receives.
//!
//! The algorithm names themselves ([`HashAlgorithm`], [`SignatureAlgorithm`],
//! [`KeyInfo`], …) live in the room below, [`crate::alg`], and are
//! re-exported here; this room adds what needs an error or an implementation
//! (parsing OIDs, hashing, signing). It never touches the network and knows
//! nothing of certificates or signers.

use std::fmt;

use const_oid::ObjectIdentifier;

pub use crate::alg::{HashAlgorithm, KeyAlgorithm, KeyInfo, SignatureAlgorithm, SignatureScheme, oid};
use crate::error::{Error, Result};

mod batch;
mod file;

/// Implements `Debug` for a struct showing only the fields named, so that
/// handles and key material stay out of it: `Type { a, b }` prints as a
/// derive would, `Type { a, .. }` marks the output non-exhaustive.
macro_rules! debug_fields {
    ($ty:ident { $($field:ident),+ }) => {
        impl ::std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($field), &self.$field))+
                    .finish()
            }
        }
    };
    ($ty:ident { $($field:ident),+ , .. }) => {
        impl ::std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($field), &self.$field))+
                    .finish_non_exhaustive()
            }
        }
    };
}
pub(crate) use debug_fields;
pub(crate) mod algid;
pub mod key;
pub(crate) mod pss;

pub use batch::DigestBatch;
pub use key::{PrivateKey, PublicKey};

/// SHA-1 of `data`, for identifiers only: the OCSP `CertID` hashes and
/// responder key hashes (RFC 6960 names SHA-1 for them, and most
/// responders, OpenSSL's included, answer requests made with it). Never
/// used for, or accepted in, a signature.
pub fn sha1_for_identifiers(data: &[u8]) -> [u8; 20] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, data);
    let mut out = [0u8; 20];
    out.copy_from_slice(digest.as_ref());
    out
}

/// `N` bytes from the operating system's generator (nonces).
pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut out = [0u8; N];
    aws_lc_rs::rand::fill(&mut out).map_err(|_| Error::unsupported("the system random generator failed"))?;
    Ok(out)
}

/// Parsing from an OID, and hashing (the type is defined in [`crate::alg`]).
impl HashAlgorithm {
    /// The algorithm for an OID, if crpki supports it.
    pub fn from_oid(oid: &ObjectIdentifier) -> Result<Self> {
        [Self::Sha256, Self::Sha384, Self::Sha512]
            .into_iter()
            .find(|h| h.oid() == *oid)
            .ok_or_else(|| Error::unsupported(format!("hash algorithm {oid}")))
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

/// A streaming hasher: feed it any amount of data, memory stays flat.
#[derive(Clone)]
pub struct Hasher {
    algorithm: HashAlgorithm,
    ctx: aws_lc_rs::digest::Context,
}

debug_fields!(Hasher { algorithm });

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
    file::hash_file(&mut h, file).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
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

/// Parsing from an OID (the type is defined in [`crate::alg`]).
impl SignatureAlgorithm {
    /// The AlgorithmIdentifier X.509 and CMS structures name this
    /// algorithm with: PKCS#1 v1.5 with NULL parameters (RFC 4055),
    /// RSASSA-PSS with its parameters, ECDSA without (RFC 5758).
    pub fn algorithm_identifier(&self) -> Result<spki::AlgorithmIdentifierOwned> {
        let parameters = match self.scheme {
            SignatureScheme::RsaPkcs1v15 => Some(der::asn1::Any::null()),
            SignatureScheme::RsaPss => Some(pss::params_any(self.hash)?),
            SignatureScheme::Ecdsa => None,
        };
        Ok(spki::AlgorithmIdentifierOwned {
            oid: self.oid(),
            parameters,
        })
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
}
