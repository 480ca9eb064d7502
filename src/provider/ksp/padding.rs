//! The padding argument of `SignHash`/`VerifySignature` and the signature
//! algorithm it means for a key.

use super::consts::*;
use crate::provider::error::ProviderError;
use crate::signer::{HashAlgorithm, KeyAlgorithm, KeyInfo, SignatureAlgorithm, SignatureScheme};

/// The padding argument of `SignHash`/`VerifySignature`, parsed from plain
/// values: the flags, and the padding structure's `pszAlgId` and `cbSalt`
/// (which `exports.rs` reads from the right structure for the flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// No padding flag: ECDSA.
    None,
    /// `BCRYPT_PAD_PKCS1` with a DigestInfo for the hash.
    Pkcs1(HashAlgorithm),
    /// `BCRYPT_PAD_PSS` with a salt as long as the hash.
    Pss(HashAlgorithm),
}

fn cng_hash(alg_id: Option<&str>, what: &'static str) -> Result<HashAlgorithm, ProviderError> {
    match alg_id {
        Some("SHA256") => Ok(HashAlgorithm::Sha256),
        Some("SHA384") => Ok(HashAlgorithm::Sha384),
        Some("SHA512") => Ok(HashAlgorithm::Sha512),
        Some(other) => Err(ProviderError::not_supported(format!(
            "{what} hash algorithm '{other}' (SHA256, SHA384 and SHA512 only)"
        ))),
        None => Err(ProviderError::not_supported(format!(
            "{what} without a hash algorithm (raw padding): only hashes with an identified algorithm are signed"
        ))),
    }
}

impl Padding {
    /// The padding selected by `flags` (other bits are left to the caller's
    /// flag check). `alg_id` and `salt` come from the padding structure.
    pub fn parse(flags: u32, alg_id: Option<&str>, salt: Option<u32>) -> Result<Self, ProviderError> {
        let pad = flags & (BCRYPT_PAD_NONE | BCRYPT_PAD_PKCS1 | BCRYPT_PAD_PSS);
        match pad {
            0 => Ok(Padding::None),
            BCRYPT_PAD_PKCS1 => Ok(Padding::Pkcs1(cng_hash(alg_id, "BCRYPT_PAD_PKCS1")?)),
            BCRYPT_PAD_PSS => {
                let hash = cng_hash(alg_id, "BCRYPT_PAD_PSS")?;
                match salt {
                    Some(s) if s as usize == hash.output_len() => Ok(Padding::Pss(hash)),
                    Some(s) => Err(ProviderError::not_supported(format!(
                        "BCRYPT_PAD_PSS with a {s}-byte salt: the salt is as long as the hash ({} bytes)",
                        hash.output_len()
                    ))),
                    None => Err(ProviderError::NullPointer("pPaddingInfo")),
                }
            }
            BCRYPT_PAD_NONE => Err(ProviderError::not_supported(
                "BCRYPT_PAD_NONE: raw RSA is not offered by a signing service",
            )),
            _ => Err(ProviderError::BadFlags {
                what: "padding (one of BCRYPT_PAD_PKCS1, BCRYPT_PAD_PSS)",
                flags,
            }),
        }
    }

    /// Whether this padding needs a padding structure (`pPaddingInfo`).
    pub fn needs_info(flags: u32) -> bool {
        flags & (BCRYPT_PAD_PKCS1 | BCRYPT_PAD_PSS) != 0
    }

    /// The signature algorithm for a key and a hash value.
    pub fn algorithm(self, key: &KeyInfo, hash_len: usize) -> Result<SignatureAlgorithm, ProviderError> {
        let alg = match (key.algorithm, self) {
            (KeyAlgorithm::Rsa, Padding::Pkcs1(h)) => {
                SignatureAlgorithm::new(SignatureScheme::RsaPkcs1v15, h)
            }
            (KeyAlgorithm::Rsa, Padding::Pss(h)) => SignatureAlgorithm::new(SignatureScheme::RsaPss, h),
            (KeyAlgorithm::Rsa, Padding::None) => {
                return Err(ProviderError::BadFlags {
                    what: "an RSA key needs BCRYPT_PAD_PKCS1 or BCRYPT_PAD_PSS",
                    flags: 0,
                });
            }
            (_, Padding::None) => {
                let hash = [
                    HashAlgorithm::Sha256,
                    HashAlgorithm::Sha384,
                    HashAlgorithm::Sha512,
                ]
                .into_iter()
                .find(|h| h.output_len() == hash_len)
                .ok_or_else(|| {
                    ProviderError::BadLength(format!(
                        "a {hash_len}-byte hash value (32, 48 or 64 bytes for ECDSA)"
                    ))
                })?;
                SignatureAlgorithm::new(SignatureScheme::Ecdsa, hash)
            }
            (_, _) => {
                return Err(ProviderError::BadFlags {
                    what: "an ECDSA key takes no padding flag",
                    flags: BCRYPT_PAD_PKCS1 | BCRYPT_PAD_PSS,
                });
            }
        };
        if alg.hash.output_len() != hash_len {
            return Err(ProviderError::BadLength(format!(
                "a {hash_len}-byte hash value for {} ({} bytes)",
                alg.hash.name(),
                alg.hash.output_len()
            )));
        }
        Ok(alg)
    }
}
