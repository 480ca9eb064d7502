//! The algorithms the CSP offers (`PP_ENUMALGS`, `PP_ENUMALGS_EX`) and
//! the `CALG_*` ids of hashes.

use super::consts::*;
use crate::provider::blob::CALG_RSA_SIGN;
use crate::provider::error::ProviderError;
use crate::signer::HashAlgorithm;

/// The hash algorithm of a `CALG_*` id.
pub fn hash_algorithm(alg_id: u32) -> Result<HashAlgorithm, ProviderError> {
    match alg_id {
        CALG_SHA_256 => Ok(HashAlgorithm::Sha256),
        CALG_SHA_384 => Ok(HashAlgorithm::Sha384),
        CALG_SHA_512 => Ok(HashAlgorithm::Sha512),
        _ => Err(ProviderError::BadAlgorithm {
            what: "CPCreateHash (SHA-256, SHA-384 and SHA-512 only)",
            alg_id,
        }),
    }
}

/// The `CALG_*` id of a hash algorithm.
pub fn calg_of(alg: HashAlgorithm) -> u32 {
    match alg {
        HashAlgorithm::Sha256 => CALG_SHA_256,
        HashAlgorithm::Sha384 => CALG_SHA_384,
        HashAlgorithm::Sha512 => CALG_SHA_512,
    }
}

/// One entry of `PP_ENUMALGS(_EX)`.
pub(super) struct Alg {
    id: u32,
    default_bits: u32,
    min_bits: u32,
    max_bits: u32,
    name: &'static str,
    long_name: &'static str,
}

pub(super) const ALGS: &[Alg] = &[
    Alg {
        id: CALG_SHA_256,
        default_bits: 256,
        min_bits: 256,
        max_bits: 256,
        name: "SHA-256",
        long_name: "Secure Hash Algorithm SHA-256",
    },
    Alg {
        id: CALG_SHA_384,
        default_bits: 384,
        min_bits: 384,
        max_bits: 384,
        name: "SHA-384",
        long_name: "Secure Hash Algorithm SHA-384",
    },
    Alg {
        id: CALG_SHA_512,
        default_bits: 512,
        min_bits: 512,
        max_bits: 512,
        name: "SHA-512",
        long_name: "Secure Hash Algorithm SHA-512",
    },
    Alg {
        id: CALG_RSA_SIGN,
        default_bits: 2048,
        min_bits: 1024,
        max_bits: 16384,
        name: "RSA_SIGN",
        long_name: "RSA Signature",
    },
];

/// `sizeof(PROV_ENUMALGS)`.
pub const PROV_ENUMALGS_LEN: usize = 32;
/// `sizeof(PROV_ENUMALGS_EX)`.
pub const PROV_ENUMALGS_EX_LEN: usize = 88;

fn fixed_name<const N: usize>(name: &str) -> [u8; N] {
    let mut b = [0u8; N];
    let n = name.len().min(N - 1);
    b[..n].copy_from_slice(&name.as_bytes()[..n]);
    b
}

impl Alg {
    pub(super) fn enumalgs(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(PROV_ENUMALGS_LEN);
        v.extend_from_slice(&self.id.to_le_bytes());
        v.extend_from_slice(&self.default_bits.to_le_bytes());
        v.extend_from_slice(&(self.name.len() as u32 + 1).to_le_bytes());
        v.extend_from_slice(&fixed_name::<20>(self.name));
        v
    }

    pub(super) fn enumalgs_ex(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(PROV_ENUMALGS_EX_LEN);
        for x in [
            self.id,
            self.default_bits,
            self.min_bits,
            self.max_bits,
            CRYPT_FLAG_SIGNING,
            self.name.len() as u32 + 1,
        ] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        v.extend_from_slice(&fixed_name::<20>(self.name));
        v.extend_from_slice(&(self.long_name.len() as u32 + 1).to_le_bytes());
        v.extend_from_slice(&fixed_name::<40>(self.long_name));
        v
    }
}
