//! CNG's byte formats: UTF-16 strings, public key blobs (`RSAPUBLICBLOB`,
//! `ECCPUBLICBLOB`), ECDSA signatures as `r || s`, the sizes of the
//! structures the provider lends out.

use der::Encode;
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SubjectPublicKeyInfoOwned};

use super::consts::*;
use crate::provider::blob;
use crate::provider::error::ProviderError;
use crate::signer::{KeyAlgorithm, KeyInfo, PublicKey, oid};

/// `sizeof(NCryptKeyName)` on 64-bit Windows.
pub const KEY_NAME_LEN: usize = 24;
/// `sizeof(NCryptAlgorithmName)` on 64-bit Windows.
pub const ALG_NAME_LEN: usize = 24;

/// A UTF-16 string as CNG returns it: units then a NUL, little-endian.
pub fn utf16z(s: &str) -> Vec<u8> {
    s.encode_utf16()
        .chain(std::iter::once(0))
        .flat_map(u16::to_le_bytes)
        .collect()
}

/// A UTF-16 argument as text; unpaired surrogates are bad data.
pub fn from_utf16(units: &[u16], what: &'static str) -> Result<String, ProviderError> {
    String::from_utf16(units).map_err(|_| ProviderError::BadData(format!("{what} is not valid UTF-16")))
}

use crate::provider::blob::P256_LEN;
pub use crate::provider::blob::{ecdsa_der_to_raw, ecdsa_raw_to_der};

/// The signature length CNG returns for `key`.
pub fn signature_len(key: &KeyInfo) -> usize {
    match key.algorithm {
        KeyAlgorithm::Rsa => key.max_signature_len(),
        _ => 2 * P256_LEN,
    }
}

/// A string property value: little-endian UTF-16, with or without its NUL.
pub(super) fn utf16_value(data: &[u8], what: &'static str) -> Result<String, ProviderError> {
    if !data.len().is_multiple_of(2) {
        return Err(ProviderError::BadLength(format!(
            "{what}: UTF-16 of an odd length"
        )));
    }
    let units: Vec<u16> = data
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0)
        .collect();
    from_utf16(&units, what)
}

pub(super) fn le32(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(w)
}

/// `BCRYPT_RSAPUBLIC_BLOB` or `BCRYPT_ECCPUBLIC_BLOB` of a public key.
pub fn public_blob(key: &PublicKey) -> Result<Vec<u8>, ProviderError> {
    let info = key.info();
    match info.algorithm {
        KeyAlgorithm::Rsa => {
            let (modulus, exponent) = key.rsa_components()?;
            let mut b = Vec::with_capacity(24 + modulus.len() + exponent.len());
            for v in [
                BCRYPT_RSAPUBLIC_MAGIC,
                info.bits,
                exponent.len() as u32,
                modulus.len() as u32,
                0,
                0,
            ] {
                b.extend_from_slice(&v.to_le_bytes());
            }
            b.extend_from_slice(&exponent);
            b.extend_from_slice(&modulus);
            Ok(b)
        }
        _ => {
            let point = key.ec_point()?;
            if point.len() != 1 + 2 * P256_LEN || point[0] != 4 {
                return Err(ProviderError::BadData(
                    "EC public key is not an uncompressed P-256 point".into(),
                ));
            }
            let mut b = Vec::with_capacity(8 + 2 * P256_LEN);
            b.extend_from_slice(&BCRYPT_ECDSA_PUBLIC_P256_MAGIC.to_le_bytes());
            b.extend_from_slice(&(P256_LEN as u32).to_le_bytes());
            b.extend_from_slice(&point[1..]);
            Ok(b)
        }
    }
}

/// The public key of an `RSAPUBLICBLOB`/`ECCPUBLICBLOB`/`PUBLICBLOB`.
pub fn parse_public_blob(blob_type: &str, data: &[u8]) -> Result<PublicKey, ProviderError> {
    let magic = if data.len() >= 8 { le32(data, 0) } else { 0 };
    let rsa = match (blob_type, magic) {
        (BCRYPT_RSAPUBLIC_BLOB | BCRYPT_PUBLIC_KEY_BLOB, BCRYPT_RSAPUBLIC_MAGIC) => true,
        (BCRYPT_ECCPUBLIC_BLOB | BCRYPT_PUBLIC_KEY_BLOB, BCRYPT_ECDSA_PUBLIC_P256_MAGIC) => false,
        (BCRYPT_RSAPUBLIC_BLOB | BCRYPT_ECCPUBLIC_BLOB | BCRYPT_PUBLIC_KEY_BLOB, _) => {
            return Err(ProviderError::BadData(format!(
                "{blob_type}: magic {magic:#010x} is not an RSA or ECDSA P-256 public key"
            )));
        }
        _ => {
            return Err(ProviderError::not_supported(format!(
                "import of a '{blob_type}' blob"
            )));
        }
    };
    let spki = if rsa {
        if data.len() < 24 {
            return Err(ProviderError::BadLength("BCRYPT_RSAKEY_BLOB header".into()));
        }
        let (exp_len, mod_len) = (le32(data, 8) as usize, le32(data, 12) as usize);
        if le32(data, 16) != 0 || le32(data, 20) != 0 || data.len() != 24 + exp_len + mod_len {
            return Err(ProviderError::BadLength(format!(
                "RSAPUBLICBLOB of {} bytes for a {exp_len}-byte exponent and a {mod_len}-byte modulus",
                data.len()
            )));
        }
        let exponent = &data[24..24 + exp_len];
        let modulus = &data[24 + exp_len..];
        blob::rsa_spki_der(modulus, exponent)?
    } else {
        if le32(data, 4) as usize != P256_LEN || data.len() != 8 + 2 * P256_LEN {
            return Err(ProviderError::BadLength("ECCPUBLICBLOB of a P-256 key".into()));
        }
        let mut point = vec![4u8];
        point.extend_from_slice(&data[8..]);
        let bad = |e: der::Error| ProviderError::BadData(format!("EC public key: {e}"));
        let curve: ObjectIdentifier = oid::P256;
        SubjectPublicKeyInfoOwned {
            algorithm: AlgorithmIdentifierOwned {
                oid: oid::EC_PUBLIC_KEY,
                parameters: Some(der::asn1::Any::encode_from(&curve).map_err(bad)?),
            },
            subject_public_key: der::asn1::BitString::from_bytes(&point).map_err(bad)?,
        }
        .to_der()
        .map_err(bad)?
    };
    Ok(PublicKey::from_spki_der(&spki)?)
}
