//! The signature mechanisms: which ones, their parameters, and how the
//! caller's input becomes the digest the service signs.

use cryptoki_sys::*;

use super::Rv;
use crate::signer::{
    Digest, HashAlgorithm, Hasher, KeyAlgorithm, KeyInfo, SignatureAlgorithm, SignatureScheme,
};

/// Every mechanism the module offers (for keys that can make it).
pub const MECHANISMS: &[CK_MECHANISM_TYPE] = &[
    CKM_RSA_PKCS,
    CKM_SHA256_RSA_PKCS,
    CKM_SHA384_RSA_PKCS,
    CKM_SHA512_RSA_PKCS,
    CKM_RSA_PKCS_PSS,
    CKM_SHA256_RSA_PKCS_PSS,
    CKM_SHA384_RSA_PKCS_PSS,
    CKM_SHA512_RSA_PKCS_PSS,
    CKM_ECDSA,
    CKM_ECDSA_SHA256,
];

/// The DER prefixes of `DigestInfo` (RFC 8017, 9.2 note 1), by hash.
const DIGEST_INFO_PREFIXES: [(HashAlgorithm, [u8; 19]); 3] = [
    (
        HashAlgorithm::Sha256,
        [
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
            0x00, 0x04, 0x20,
        ],
    ),
    (
        HashAlgorithm::Sha384,
        [
            0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05,
            0x00, 0x04, 0x30,
        ],
    ),
    (
        HashAlgorithm::Sha512,
        [
            0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05,
            0x00, 0x04, 0x40,
        ],
    ),
];

/// Raw input is kept up to this size (a DigestInfo or a hash is far less).
const MAX_RAW_INPUT: usize = 1024;

/// A mechanism chosen at `C_SignInit`/`C_VerifyInit`, with its parameters
/// checked against the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mechanism {
    /// The `CKM_*` value.
    pub kind: CK_MECHANISM_TYPE,
    /// The signature scheme.
    pub scheme: SignatureScheme,
    /// The hash computed here over the data (`CKM_SHA256_RSA_PKCS`, …);
    /// `None` when the caller gives the hash.
    pub hashing: Option<HashAlgorithm>,
    /// For `CKM_RSA_PKCS_PSS`: the hash its parameters name.
    pub pss_hash: Option<HashAlgorithm>,
    /// The signature's length in bytes.
    pub signature_len: usize,
}

fn hash_of_ckm(m: CK_MECHANISM_TYPE) -> Option<(HashAlgorithm, CK_RSA_PKCS_MGF_TYPE)> {
    match m {
        CKM_SHA256 => Some((HashAlgorithm::Sha256, CKG_MGF1_SHA256)),
        CKM_SHA384 => Some((HashAlgorithm::Sha384, CKG_MGF1_SHA384)),
        CKM_SHA512 => Some((HashAlgorithm::Sha512, CKG_MGF1_SHA512)),
        _ => None,
    }
}

/// `CK_RSA_PKCS_PSS_PARAMS` read from its bytes (three native `CK_ULONG`s).
fn pss_params(param: Option<&[u8]>) -> Result<(CK_MECHANISM_TYPE, CK_RSA_PKCS_MGF_TYPE, CK_ULONG), Rv> {
    const N: usize = std::mem::size_of::<CK_ULONG>();
    let bad = |why: &str| Rv::new(CKR_MECHANISM_PARAM_INVALID, format!("RSA-PSS parameters: {why}"));
    let p = param.ok_or_else(|| bad("missing"))?;
    if p.len() != std::mem::size_of::<CK_RSA_PKCS_PSS_PARAMS>() {
        return Err(bad(&format!("{} bytes", p.len())));
    }
    let word = |i: usize| {
        let mut w = [0u8; N];
        w.copy_from_slice(&p[i * N..(i + 1) * N]);
        CK_ULONG::from_ne_bytes(w)
    };
    Ok((word(0), word(1), word(2)))
}

impl Mechanism {
    /// The mechanisms a key of `key` offers.
    pub fn list(key: &KeyInfo) -> Vec<CK_MECHANISM_TYPE> {
        MECHANISMS
            .iter()
            .copied()
            .filter(|&m| Self::scheme_of(m).is_some_and(|s| key.schemes().contains(&s)))
            .collect()
    }

    fn scheme_of(m: CK_MECHANISM_TYPE) -> Option<SignatureScheme> {
        Some(match m {
            CKM_RSA_PKCS | CKM_SHA256_RSA_PKCS | CKM_SHA384_RSA_PKCS | CKM_SHA512_RSA_PKCS => {
                SignatureScheme::RsaPkcs1v15
            }
            CKM_RSA_PKCS_PSS
            | CKM_SHA256_RSA_PKCS_PSS
            | CKM_SHA384_RSA_PKCS_PSS
            | CKM_SHA512_RSA_PKCS_PSS => SignatureScheme::RsaPss,
            CKM_ECDSA | CKM_ECDSA_SHA256 => SignatureScheme::Ecdsa,
            _ => return None,
        })
    }

    /// `CK_MECHANISM_INFO` for `m` with a key of `key`.
    pub fn info(m: CK_MECHANISM_TYPE, key: &KeyInfo) -> Result<CK_MECHANISM_INFO, Rv> {
        if !Self::list(key).contains(&m) {
            return Err(Rv::new(CKR_MECHANISM_INVALID, format!("mechanism {m:#x}")));
        }
        let flags = CKF_SIGN
            | CKF_VERIFY
            | if key.algorithm == KeyAlgorithm::Rsa {
                0
            } else {
                CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS
            };
        Ok(CK_MECHANISM_INFO {
            ulMinKeySize: CK_ULONG::from(key.bits),
            ulMaxKeySize: CK_ULONG::from(key.bits),
            flags,
        })
    }

    /// The mechanism `m` with parameter bytes `param`, for a key of `key`.
    pub fn new(m: CK_MECHANISM_TYPE, param: Option<&[u8]>, key: &KeyInfo) -> Result<Self, Rv> {
        let scheme = Self::scheme_of(m)
            .filter(|s| key.schemes().contains(s))
            .ok_or_else(|| {
                Rv::new(
                    CKR_MECHANISM_INVALID,
                    format!("mechanism {m:#x} with a {key} key"),
                )
            })?;
        let hashing = match m {
            CKM_SHA256_RSA_PKCS | CKM_SHA256_RSA_PKCS_PSS | CKM_ECDSA_SHA256 => Some(HashAlgorithm::Sha256),
            CKM_SHA384_RSA_PKCS | CKM_SHA384_RSA_PKCS_PSS => Some(HashAlgorithm::Sha384),
            CKM_SHA512_RSA_PKCS | CKM_SHA512_RSA_PKCS_PSS => Some(HashAlgorithm::Sha512),
            _ => None,
        };
        let mut pss_hash = None;
        if scheme == SignatureScheme::RsaPss {
            let (hash_alg, mgf, salt) = pss_params(param)?;
            let (hash, want_mgf) = hash_of_ckm(hash_alg).ok_or_else(|| {
                Rv::new(
                    CKR_MECHANISM_PARAM_INVALID,
                    format!("RSA-PSS with hash {hash_alg:#x}"),
                )
            })?;
            if hashing.is_some_and(|h| h != hash) || mgf != want_mgf || salt as usize != hash.output_len() {
                return Err(Rv::new(
                    CKR_MECHANISM_PARAM_INVALID,
                    format!(
                        "RSA-PSS parameters (hash {hash_alg:#x}, MGF {mgf:#x}, salt {salt}): the service signs \
                         with MGF1 of the mechanism's hash and a salt as long as the hash"
                    ),
                ));
            }
            pss_hash = Some(hash);
        } else if param.is_some_and(|p| !p.is_empty()) {
            return Err(Rv::new(
                CKR_MECHANISM_PARAM_INVALID,
                format!("mechanism {m:#x} takes no parameter"),
            ));
        }
        let signature_len = match key.algorithm {
            KeyAlgorithm::Rsa => key.max_signature_len(),
            _ => 2 * super::super::blob::P256_LEN,
        };
        Ok(Self {
            kind: m,
            scheme,
            hashing,
            pss_hash,
            signature_len,
        })
    }

    /// A fresh input collector for one operation.
    pub fn input(&self) -> Input {
        match self.hashing {
            Some(h) => Input::Hashing(Hasher::new(h)),
            None => Input::Raw(Vec::new()),
        }
    }

    /// The digest to sign (or verify) and its algorithm, from the input.
    pub fn digest(&self, input: Input) -> Result<(SignatureAlgorithm, Digest), Rv> {
        let digest = match input {
            Input::Hashing(h) => h.finish(),
            Input::Raw(data) => self.raw_digest(&data)?,
        };
        Ok((SignatureAlgorithm::new(self.scheme, digest.algorithm()), digest))
    }

    fn raw_digest(&self, data: &[u8]) -> Result<Digest, Rv> {
        let len_range = |what: String| Rv::new(CKR_DATA_LEN_RANGE, what);
        match self.scheme {
            SignatureScheme::RsaPkcs1v15 => {
                for (hash, prefix) in DIGEST_INFO_PREFIXES {
                    if data.len() == prefix.len() + hash.output_len() && data.starts_with(&prefix) {
                        return Ok(Digest::new(hash, &data[prefix.len()..])?);
                    }
                }
                Err(Rv::new(
                    CKR_DATA_INVALID,
                    format!(
                        "CKM_RSA_PKCS input of {} bytes is not a DigestInfo of SHA-256, SHA-384 or SHA-512 \
                         (the service signs hashes only)",
                        data.len()
                    ),
                ))
            }
            SignatureScheme::RsaPss => {
                let hash = self.pss_hash.unwrap_or(HashAlgorithm::Sha256);
                if data.len() != hash.output_len() {
                    return Err(len_range(format!(
                        "a {}-byte hash for RSA-PSS with {hash}",
                        data.len()
                    )));
                }
                Ok(Digest::new(hash, data)?)
            }
            _ => {
                let hash = [
                    HashAlgorithm::Sha256,
                    HashAlgorithm::Sha384,
                    HashAlgorithm::Sha512,
                ]
                .into_iter()
                .find(|h| h.output_len() == data.len())
                .ok_or_else(|| len_range(format!("a {}-byte hash for CKM_ECDSA", data.len())))?;
                Ok(Digest::new(hash, data)?)
            }
        }
    }
}

/// What an operation has received so far.
#[derive(Debug)]
pub enum Input {
    /// Data hashed as it comes.
    Hashing(Hasher),
    /// The caller's hash or DigestInfo, kept.
    Raw(Vec<u8>),
}

impl Input {
    /// Adds a part.
    pub fn update(&mut self, part: &[u8]) -> Result<(), Rv> {
        match self {
            Input::Hashing(h) => h.update(part),
            Input::Raw(v) => {
                if v.len() + part.len() > MAX_RAW_INPUT {
                    return Err(Rv::new(
                        CKR_DATA_LEN_RANGE,
                        "more input than a hash for this mechanism",
                    ));
                }
                v.extend_from_slice(part);
            }
        }
        Ok(())
    }
}
