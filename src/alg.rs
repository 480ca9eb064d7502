//! The algorithm vocabulary every room speaks: hash algorithms, key types,
//! signature schemes, and their OIDs.
//!
//! This is the lowest room of the crate: plain data, no I/O, no errors, no
//! `crate::` imports, so that [`crate::error`] can name a
//! [`HashAlgorithm`] without a cycle. What needs an error or a hash
//! implementation (parsing an OID, hashing, keys, PSS parameters) lives one
//! room up, in [`crate::crypto`], which re-exports everything here.

use std::fmt;

use const_oid::ObjectIdentifier;

/// The OIDs of the algorithm types, all from [`const_oid::db`].
pub mod oid {
    use const_oid::ObjectIdentifier;
    use const_oid::db::rfc5912;

    /// id-sha256
    pub const SHA256: ObjectIdentifier = rfc5912::ID_SHA_256;
    /// id-sha384
    pub const SHA384: ObjectIdentifier = rfc5912::ID_SHA_384;
    /// id-sha512
    pub const SHA512: ObjectIdentifier = rfc5912::ID_SHA_512;
    /// rsaEncryption
    pub const RSA_ENCRYPTION: ObjectIdentifier = rfc5912::RSA_ENCRYPTION;
    /// sha256WithRSAEncryption
    pub const SHA256_WITH_RSA: ObjectIdentifier = rfc5912::SHA_256_WITH_RSA_ENCRYPTION;
    /// sha384WithRSAEncryption
    pub const SHA384_WITH_RSA: ObjectIdentifier = rfc5912::SHA_384_WITH_RSA_ENCRYPTION;
    /// sha512WithRSAEncryption
    pub const SHA512_WITH_RSA: ObjectIdentifier = rfc5912::SHA_512_WITH_RSA_ENCRYPTION;
    /// id-RSASSA-PSS
    pub const RSASSA_PSS: ObjectIdentifier = rfc5912::ID_RSASSA_PSS;
    /// id-mgf1
    pub const MGF1: ObjectIdentifier = rfc5912::ID_MGF_1;
    /// id-ecPublicKey
    pub const EC_PUBLIC_KEY: ObjectIdentifier = rfc5912::ID_EC_PUBLIC_KEY;
    /// prime256v1 / secp256r1
    pub const P256: ObjectIdentifier = rfc5912::SECP_256_R_1;
    /// ecdsa-with-SHA256
    pub const ECDSA_SHA256: ObjectIdentifier = rfc5912::ECDSA_WITH_SHA_256;
    /// ecdsa-with-SHA384
    pub const ECDSA_SHA384: ObjectIdentifier = rfc5912::ECDSA_WITH_SHA_384;
    /// ecdsa-with-SHA512
    pub const ECDSA_SHA512: ObjectIdentifier = rfc5912::ECDSA_WITH_SHA_512;
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

    /// Its usual name ("SHA-256").
    pub const fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "SHA-256",
            Self::Sha384 => "SHA-384",
            Self::Sha512 => "SHA-512",
        }
    }
}

impl fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
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
