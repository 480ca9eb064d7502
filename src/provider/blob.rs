//! Byte formats at the provider boundary: CryptoAPI's little-endian
//! signatures and its RSA `PUBLICKEYBLOB`; ECDSA signatures as `r || s`
//! (CNG and PKCS#11).
//!
//! `PUBLICKEYBLOB` layout (all integers little-endian):
//!
//! ```text
//! BLOBHEADER { bType = 6 (PUBLICKEYBLOB), bVersion = 2, reserved: u16 = 0, aiKeyAlg: u32 }
//! RSAPUBKEY  { magic = "RSA1" (0x31415352), bitlen: u32, pubexp: u32 }
//! modulus    bitlen / 8 bytes, least significant byte first
//! ```

use der::{Decode, Encode};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use super::error::ProviderError;
use crate::error::Error;
use crate::signer::{KeyAlgorithm, PublicKey, oid};

/// `PUBLICKEYBLOB`, the blob type of a public key.
pub const PUBLICKEYBLOB: u8 = 6;
/// The blob version written and accepted.
pub const CUR_BLOB_VERSION: u8 = 2;
/// `CALG_RSA_SIGN`.
pub const CALG_RSA_SIGN: u32 = 0x2400;
/// `CALG_RSA_KEYX`.
pub const CALG_RSA_KEYX: u32 = 0xA400;
/// "RSA1": the magic of an RSA public key.
pub const RSA1: u32 = 0x3141_5352;

const HEADER_LEN: usize = 8 + 12;

/// Reverses byte order: CryptoAPI signatures are little-endian, PKCS#1
/// signatures big-endian; the conversion is the same both ways.
pub fn reverse(bytes: &[u8]) -> Vec<u8> {
    bytes.iter().rev().copied().collect()
}

/// The `PUBLICKEYBLOB` of an RSA public key, with `alg_id` as its
/// `aiKeyAlg`.
pub fn rsa_public_key_blob(key: &PublicKey, alg_id: u32) -> Result<Vec<u8>, ProviderError> {
    if key.info().algorithm != KeyAlgorithm::Rsa {
        return Err(ProviderError::NotExportable("PUBLICKEYBLOB (not an RSA key)"));
    }
    let (modulus, exponent) = key.rsa_components()?;
    let bits = key.info().bits;
    let len = bits.div_ceil(8) as usize;
    let modulus = strip_zeros(&modulus);
    let exponent = strip_zeros(&exponent);
    if modulus.len() > len || exponent.len() > 4 {
        return Err(ProviderError::NotExportable(
            "PUBLICKEYBLOB (exponent wider than 32 bits)",
        ));
    }
    let mut exp = [0u8; 4];
    exp[4 - exponent.len()..].copy_from_slice(exponent);
    let mut blob = Vec::with_capacity(HEADER_LEN + len);
    blob.extend_from_slice(&[PUBLICKEYBLOB, CUR_BLOB_VERSION, 0, 0]);
    blob.extend_from_slice(&alg_id.to_le_bytes());
    blob.extend_from_slice(&RSA1.to_le_bytes());
    blob.extend_from_slice(&bits.to_le_bytes());
    blob.extend_from_slice(&u32::from_be_bytes(exp).to_le_bytes());
    blob.extend(modulus.iter().rev());
    blob.resize(HEADER_LEN + len, 0);
    Ok(blob)
}

/// Reads an RSA `PUBLICKEYBLOB`: the key and the blob's `aiKeyAlg`
/// (`CALG_RSA_SIGN` or `CALG_RSA_KEYX`).
pub fn parse_rsa_public_key_blob(blob: &[u8]) -> Result<(PublicKey, u32), ProviderError> {
    let u32_at = |i: usize| -> u32 {
        let mut b = [0u8; 4];
        b.copy_from_slice(&blob[i..i + 4]);
        u32::from_le_bytes(b)
    };
    if blob.len() < HEADER_LEN {
        return Err(ProviderError::BadLength(format!(
            "a PUBLICKEYBLOB has at least {HEADER_LEN} bytes, got {}",
            blob.len()
        )));
    }
    if blob[0] != PUBLICKEYBLOB {
        return Err(ProviderError::BadType {
            what: "blob type",
            value: u32::from(blob[0]),
        });
    }
    if blob[1] != CUR_BLOB_VERSION {
        return Err(ProviderError::BadData(format!(
            "blob version {} (expected 2)",
            blob[1]
        )));
    }
    let alg_id = u32_at(4);
    if alg_id != CALG_RSA_SIGN && alg_id != CALG_RSA_KEYX {
        return Err(ProviderError::BadAlgorithm {
            what: "PUBLICKEYBLOB",
            alg_id,
        });
    }
    if u32_at(8) != RSA1 {
        return Err(ProviderError::BadData(
            "the RSA public key magic is not RSA1".into(),
        ));
    }
    let bits = u32_at(12);
    let exponent = u32_at(16);
    let len = bits.div_ceil(8) as usize;
    if bits == 0 || blob.len() != HEADER_LEN + len {
        return Err(ProviderError::BadLength(format!(
            "a {bits}-bit PUBLICKEYBLOB is {} bytes, got {}",
            HEADER_LEN + len,
            blob.len()
        )));
    }
    if exponent == 0 {
        return Err(ProviderError::BadData("the RSA public exponent is zero".into()));
    }
    let modulus = reverse(&blob[HEADER_LEN..]);
    let spki = rsa_spki_der(&modulus, &exponent.to_be_bytes())?;
    let key = PublicKey::from_spki_der(&spki).map_err(|e| ProviderError::BadData(e.to_string()))?;
    if key.info().bits != bits {
        return Err(ProviderError::BadData(format!(
            "the blob says {bits} bits, its modulus has {}",
            key.info().bits
        )));
    }
    Ok((key, alg_id))
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let first = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[first..]
}

/// `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`
#[derive(der::Sequence)]
struct RsaPublicKeyDer<'a> {
    modulus: der::asn1::UintRef<'a>,
    public_exponent: der::asn1::UintRef<'a>,
}

/// The DER `SubjectPublicKeyInfo` of an RSA key given as big-endian
/// modulus and exponent.
pub fn rsa_spki_der(modulus: &[u8], exponent: &[u8]) -> Result<Vec<u8>, ProviderError> {
    let bad = |e: der::Error| ProviderError::BadData(format!("RSA public key: {e}"));
    let rsa = RsaPublicKeyDer {
        modulus: der::asn1::UintRef::new(strip_zeros(modulus)).map_err(bad)?,
        public_exponent: der::asn1::UintRef::new(strip_zeros(exponent)).map_err(bad)?,
    }
    .to_der()
    .map_err(bad)?;
    SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: oid::RSA_ENCRYPTION,
            parameters: Some(der::asn1::AnyRef::NULL.into()),
        },
        subject_public_key: der::asn1::BitString::from_bytes(&rsa).map_err(bad)?,
    }
    .to_der()
    .map_err(bad)
}

/// `SEQUENCE { r INTEGER, s INTEGER }` of an ECDSA signature.
#[derive(der::Sequence)]
struct EcdsaSigDer<'a> {
    r: der::asn1::UintRef<'a>,
    s: der::asn1::UintRef<'a>,
}

/// Length of one P-256 coordinate or scalar.
pub const P256_LEN: usize = 32;

/// An ECDSA signature from DER to `r || s` (CNG, PKCS#11).
pub fn ecdsa_der_to_raw(der: &[u8]) -> Result<Vec<u8>, ProviderError> {
    let sig = EcdsaSigDer::from_der(der)
        .map_err(|e| ProviderError::BadData(format!("ECDSA signature from the signer: {e}")))?;
    let mut raw = vec![0u8; 2 * P256_LEN];
    for (i, n) in [sig.r.as_bytes(), sig.s.as_bytes()].into_iter().enumerate() {
        if n.len() > P256_LEN {
            return Err(ProviderError::BadData(
                "ECDSA signature value longer than the curve".into(),
            ));
        }
        raw[(i + 1) * P256_LEN - n.len()..(i + 1) * P256_LEN].copy_from_slice(n);
    }
    Ok(raw)
}

/// An `r || s` (CNG, PKCS#11) ECDSA signature as DER.
pub fn ecdsa_raw_to_der(raw: &[u8]) -> Result<Vec<u8>, ProviderError> {
    if raw.len() != 2 * P256_LEN {
        return Err(Error::BadSignature {
            detail: format!("a {}-byte ECDSA P-256 signature (64 expected)", raw.len()),
        }
        .into());
    }
    let bad = |e: der::Error| ProviderError::BadData(format!("ECDSA signature: {e}"));
    let (r, s) = raw.split_at(P256_LEN);
    let strip = |b: &[u8]| -> Vec<u8> {
        let first = b.iter().position(|&x| x != 0).unwrap_or(b.len() - 1);
        b[first..].to_vec()
    };
    let (r, s) = (strip(r), strip(s));
    EcdsaSigDer {
        r: der::asn1::UintRef::new(&r).map_err(bad)?,
        s: der::asn1::UintRef::new(&s).map_err(bad)?,
    }
    .to_der()
    .map_err(bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Certificate;

    fn cert_key() -> PublicKey {
        Certificate::from_pem(include_str!("../../fixtures/rep-rsa2048.pem"))
            .unwrap()
            .public_key()
            .unwrap()
    }

    #[test]
    fn reverse_is_its_own_inverse() {
        assert_eq!(reverse(&[1, 2, 3]), vec![3, 2, 1]);
        assert_eq!(reverse(&reverse(&[9, 8, 7, 6])), vec![9, 8, 7, 6]);
        assert!(reverse(&[]).is_empty());
    }

    #[test]
    fn export_import_round_trip() {
        let key = cert_key();
        let blob = rsa_public_key_blob(&key, CALG_RSA_SIGN).unwrap();
        assert_eq!(blob.len(), 20 + 256);
        assert_eq!(&blob[..8], &[6, 2, 0, 0, 0x00, 0x24, 0, 0]);
        assert_eq!(&blob[8..12], b"RSA1");
        assert_eq!(u32::from_le_bytes(blob[12..16].try_into().unwrap()), 2048);
        assert_eq!(u32::from_le_bytes(blob[16..20].try_into().unwrap()), 65537);
        let (back, alg) = parse_rsa_public_key_blob(&blob).unwrap();
        assert_eq!(alg, CALG_RSA_SIGN);
        assert_eq!(back.rsa_components().unwrap(), key.rsa_components().unwrap());
        assert_eq!(back.info(), key.info());
    }

    /// OpenSSL writes the same layout (`-outform MSBLOB`): an independent check.
    #[test]
    fn matches_openssl_msblob() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("pub.blob");
        let status = std::process::Command::new("openssl")
            .args(["rsa", "-pubout", "-outform", "MSBLOB", "-in"])
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/fixtures/rep-rsa2048.key.pem"
            ))
            .arg("-out")
            .arg(&out)
            .stderr(std::process::Stdio::null())
            .status()
            .expect("the openssl CLI is needed by the tests");
        assert!(status.success());
        let theirs = std::fs::read(&out).unwrap();
        let (key, alg) = parse_rsa_public_key_blob(&theirs).unwrap();
        assert_eq!(
            key.rsa_components().unwrap(),
            cert_key().rsa_components().unwrap()
        );
        let ours = rsa_public_key_blob(&cert_key(), alg).unwrap();
        assert_eq!(ours, theirs);
    }

    #[test]
    fn bad_blobs() {
        let good = rsa_public_key_blob(&cert_key(), CALG_RSA_KEYX).unwrap();
        let with = |i: usize, v: u8| {
            let mut b = good.clone();
            b[i] = v;
            b
        };
        assert!(matches!(
            parse_rsa_public_key_blob(&good[..10]),
            Err(ProviderError::BadLength(_))
        ));
        assert!(matches!(
            parse_rsa_public_key_blob(&good[..good.len() - 1]),
            Err(ProviderError::BadLength(_))
        ));
        assert!(matches!(
            parse_rsa_public_key_blob(&with(0, 7)),
            Err(ProviderError::BadType { value: 7, .. })
        ));
        assert!(matches!(
            parse_rsa_public_key_blob(&with(1, 1)),
            Err(ProviderError::BadData(_))
        ));
        assert!(matches!(
            parse_rsa_public_key_blob(&with(5, 0x66)),
            Err(ProviderError::BadAlgorithm { .. })
        ));
        assert!(matches!(
            parse_rsa_public_key_blob(&with(11, b'2')),
            Err(ProviderError::BadData(_))
        ));
        let mut zero_exp = good.clone();
        zero_exp[16..20].fill(0);
        assert!(matches!(
            parse_rsa_public_key_blob(&zero_exp),
            Err(ProviderError::BadData(_))
        ));
        // The top byte of the modulus cleared: fewer bits than declared.
        let mut short = good.clone();
        let last = short.len() - 1;
        short[last] = 0;
        assert!(matches!(
            parse_rsa_public_key_blob(&short),
            Err(ProviderError::BadData(_))
        ));
    }

    #[test]
    fn non_rsa_keys_are_not_exported() {
        let ec = Certificate::from_pem(include_str!("../../fixtures/rep-ecdsa.pem"))
            .unwrap()
            .public_key()
            .unwrap();
        assert!(matches!(
            rsa_public_key_blob(&ec, CALG_RSA_SIGN),
            Err(ProviderError::NotExportable(_))
        ));
    }
}
