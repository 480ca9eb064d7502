//! CNG key storage provider (KSP) semantics, in safe Rust over slices and
//! plain values: what each slot of the `NCRYPT_KEY_STORAGE_FUNCTION_TABLE`
//! does once `ksp.rs` has checked its pointers. Everything here compiles
//! and is unit-tested on every platform.
//!
//! # The provider
//!
//! - Name [`PROVIDER_NAME`]. Provider handles and key handles come from the
//!   shared [`HandleTable`]s; a bad, foreign, freed or wrong-kind handle is
//!   `NTE_INVALID_HANDLE`, a key used with another provider handle too.
//! - Keys are the [`SignerSource`]'s containers: the key name is the
//!   credential ID; a null or empty name opens the selected credential.
//!   The legacy key spec may be 0, `AT_SIGNATURE` or
//!   `CERT_NCRYPT_KEY_SPEC`; `AT_KEYEXCHANGE` is `NTE_NO_KEY` (a signing
//!   key has no exchange half).
//! - `NCRYPT_SILENT_FLAG` on `OpenProvider`, `OpenKey` or `SignHash` makes
//!   the signer source and the signer run silently: when a GビズID login or
//!   a signature approval would need the user, the call fails with
//!   `NTE_SILENT_CONTEXT` instead of prompting. A key opened without the
//!   flag and used with it is opened again, silently, for that signature.
//! - `DeleteKey` **never deletes the remote key**: keys belong to the
//!   signing service. It forgets the local binding of the credential
//!   ([`SignerSource::forget`]) and frees the handle.
//! - `CreatePersistedKey`, `FinalizeKey`, `Encrypt`, `Decrypt`, `PromptUser`,
//!   `NotifyChangeKey`, `SecretAgreement`, `DeriveKey`, `FreeSecret`,
//!   `KeyDerivation`, `CreateClaim` and `VerifyClaim` are
//!   `NTE_NOT_SUPPORTED`.
//!
//! # Properties
//!
//! Provider (`GetProviderProperty`): `Name` (UTF-16), `Impl Type`
//! (`NCRYPT_IMPL_HARDWARE_FLAG`: the key lives in the signing service's
//! HSM, never in this process), `Version` (`major << 16 | minor` of the
//! crate), `Max Name Length`, and what was set: `HWND Handle` (pointer
//! sized) and `Use Context` (UTF-16). `SetProviderProperty` takes those
//! two; anything else is `NTE_NOT_SUPPORTED`.
//!
//! Key (`GetKeyProperty`): `Algorithm Group` (`RSA` or `ECDSA`),
//! `Algorithm Name` (`RSA` or `ECDSA_P256`), `Length` (bits), `Lengths`
//! (`NCRYPT_SUPPORTED_LENGTHS`, the one length), `Key Usage`
//! (`NCRYPT_ALLOW_SIGNING_FLAG`), `Name` and `Unique Name` (the credential
//! ID), `Export Policy` (0: the private key cannot be exported),
//! `Key Type` (0, a user key), `SmartCardKeyCertificate` (the user's
//! certificate, DER: the seed's 5.3 ①) and [`NCRYPT_CRPKI_REGISTRAR_CERTIFICATE_PROPERTY`]
//! (`"crpki Registrar Certificate"`): **the registrar's self-signed
//! certificate (登記官証明書), DER** (5.3 ②), the last certificate of the
//! signer's chain when it is self-signed, else `NTE_NOT_FOUND`. Imported
//! public keys answer the algorithm, length and usage properties only.
//! `SetKeyProperty` takes `HWND Handle`, `Use Context` and
//! `SmartCardPin` (`NCRYPT_PIN_PROPERTY`, UTF-16): the PIN the next
//! authorization of the key's credential uses instead of asking, as with
//! a smart card ([`SignerSource::set_pin`]; never kept in the key's
//! properties, never readable back).
//!
//! # Blobs, signatures
//!
//! `ImportKey` takes `RSAPUBLICBLOB`, `ECCPUBLICBLOB` (P-256) and
//! `PUBLICBLOB` (either, told apart by the magic) for verification;
//! `ExportKey` gives the same public blobs, never a private one. The
//! numbers in the blobs are big-endian, as CNG has them.
//!
//! `SignHash` takes the caller's hash value: `BCRYPT_PAD_PKCS1` with
//! `pszAlgId` `SHA256`/`SHA384`/`SHA512` (PKCS#1 v1.5 over a DigestInfo),
//! `BCRYPT_PAD_PSS` with one of those and a salt as long as the hash, and
//! for ECDSA keys no padding (the hash algorithm follows from the value's
//! length). Signatures are big-endian, ECDSA ones `r || s` (32 bytes each),
//! as CNG returns them. The size query (null output) is answered from the
//! key without signing; the same (key, digest) signed a few seconds
//! earlier is answered from the shared [`SignatureCache`], as in the CSP.
//! `VerifySignature` checks the same forms with the user key or an
//! imported key.
//!
//! # Buffers the caller frees
//!
//! `EnumKeys` and `EnumAlgorithms` hand out `NCryptKeyName`,
//! `NCryptAlgorithmName` arrays and an enumeration state; each is one
//! allocation owned by [`KspProvider`] until the caller gives it back with
//! `FreeBuffer`. A pointer this provider did not hand out (or already took
//! back) is `NTE_INVALID_PARAMETER`, never a double free. The structures
//! are laid out for 64-bit Windows (8-byte pointers).

use std::collections::HashMap;
use std::ffi::c_void;
use std::sync::{Arc, Mutex, PoisonError};

use der::{Decode, Encode};
use spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SubjectPublicKeyInfoOwned};

use super::error::{ProviderError, check_flags, other_context};
use super::handle::{Handle, HandleTable, ObjectKind};
use super::{Container, OpenOptions, Out, ProviderCore, SignatureCache, SignerSource, Worker, blob};
use crate::error::Error;
use crate::signer::{Digest, HashAlgorithm, KeyAlgorithm, KeyInfo, PublicKey, SignatureAlgorithm};
use crate::signer::{SignatureScheme, oid};

/// The provider's registered name. It names this project so that it can
/// never be taken for the Ministry's driver.
pub const PROVIDER_NAME: &str = super::KSP_NAME;

/// Key property holding the registrar's self-signed certificate (DER);
/// ours, outside Microsoft's names.
pub const NCRYPT_CRPKI_REGISTRAR_CERTIFICATE_PROPERTY: &str = "crpki Registrar Certificate";

/// CNG constants used here (values from `ncrypt.h`, `bcrypt.h`).
#[allow(missing_docs)]
pub mod consts {
    pub const NCRYPT_SILENT_FLAG: u32 = 0x40;
    pub const NCRYPT_MACHINE_KEY_FLAG: u32 = 0x20;
    pub const BCRYPT_PAD_NONE: u32 = 0x1;
    pub const BCRYPT_PAD_PKCS1: u32 = 0x2;
    pub const BCRYPT_PAD_PSS: u32 = 0x8;
    pub const AT_KEYEXCHANGE: u32 = 1;
    pub const AT_SIGNATURE: u32 = 2;
    pub const CERT_NCRYPT_KEY_SPEC: u32 = 0xFFFF_FFFF;
    pub const NCRYPT_IMPL_HARDWARE_FLAG: u32 = 1;
    pub const NCRYPT_ALLOW_SIGNING_FLAG: u32 = 2;
    pub const NCRYPT_SIGNATURE_INTERFACE: u32 = 5;
    pub const NCRYPT_SIGNATURE_OPERATION: u32 = 0x10;
    pub const NCRYPT_MAX_KEY_NAME_LENGTH: u32 = 512;
    pub const BCRYPT_RSAPUBLIC_MAGIC: u32 = 0x3141_5352;
    pub const BCRYPT_ECDSA_PUBLIC_P256_MAGIC: u32 = 0x3153_4345;

    pub const NCRYPT_NAME_PROPERTY: &str = "Name";
    pub const NCRYPT_UNIQUE_NAME_PROPERTY: &str = "Unique Name";
    pub const NCRYPT_IMPL_TYPE_PROPERTY: &str = "Impl Type";
    pub const NCRYPT_VERSION_PROPERTY: &str = "Version";
    pub const NCRYPT_MAX_NAME_LENGTH_PROPERTY: &str = "Max Name Length";
    pub const NCRYPT_WINDOW_HANDLE_PROPERTY: &str = "HWND Handle";
    pub const NCRYPT_USE_CONTEXT_PROPERTY: &str = "Use Context";
    pub const NCRYPT_ALGORITHM_GROUP_PROPERTY: &str = "Algorithm Group";
    pub const NCRYPT_ALGORITHM_PROPERTY: &str = "Algorithm Name";
    pub const NCRYPT_LENGTH_PROPERTY: &str = "Length";
    pub const NCRYPT_LENGTHS_PROPERTY: &str = "Lengths";
    pub const NCRYPT_KEY_USAGE_PROPERTY: &str = "Key Usage";
    pub const NCRYPT_KEY_TYPE_PROPERTY: &str = "Key Type";
    pub const NCRYPT_EXPORT_POLICY_PROPERTY: &str = "Export Policy";
    pub const NCRYPT_CERTIFICATE_PROPERTY: &str = "SmartCardKeyCertificate";
    pub const NCRYPT_PIN_PROPERTY: &str = "SmartCardPin";

    pub const BCRYPT_RSAPUBLIC_BLOB: &str = "RSAPUBLICBLOB";
    pub const BCRYPT_ECCPUBLIC_BLOB: &str = "ECCPUBLICBLOB";
    pub const BCRYPT_PUBLIC_KEY_BLOB: &str = "PUBLICBLOB";
    pub const NCRYPT_RSA_ALGORITHM: &str = "RSA";
    pub const NCRYPT_ECDSA_ALGORITHM_GROUP: &str = "ECDSA";
    pub const NCRYPT_ECDSA_P256_ALGORITHM: &str = "ECDSA_P256";
}

use consts::*;

#[cfg(windows)]
const _: () = {
    use windows_sys::Win32::Security::Cryptography as c;
    assert!(NCRYPT_SILENT_FLAG == c::NCRYPT_SILENT_FLAG);
    assert!(NCRYPT_MACHINE_KEY_FLAG == c::NCRYPT_MACHINE_KEY_FLAG);
    assert!(BCRYPT_PAD_NONE == c::BCRYPT_PAD_NONE);
    assert!(BCRYPT_PAD_PKCS1 == c::BCRYPT_PAD_PKCS1);
    assert!(BCRYPT_PAD_PSS == c::BCRYPT_PAD_PSS);
    assert!(CERT_NCRYPT_KEY_SPEC == c::CERT_NCRYPT_KEY_SPEC);
    assert!(NCRYPT_IMPL_HARDWARE_FLAG == c::NCRYPT_IMPL_HARDWARE_FLAG);
    assert!(NCRYPT_ALLOW_SIGNING_FLAG == c::NCRYPT_ALLOW_SIGNING_FLAG);
    assert!(NCRYPT_SIGNATURE_INTERFACE == c::NCRYPT_SIGNATURE_INTERFACE);
    assert!(NCRYPT_SIGNATURE_OPERATION == c::NCRYPT_SIGNATURE_OPERATION);
    assert!(NCRYPT_MAX_KEY_NAME_LENGTH == c::NCRYPT_MAX_KEY_NAME_LENGTH);
    assert!(BCRYPT_RSAPUBLIC_MAGIC == c::BCRYPT_RSAPUBLIC_MAGIC);
    assert!(BCRYPT_ECDSA_PUBLIC_P256_MAGIC == c::BCRYPT_ECDSA_PUBLIC_P256_MAGIC);
    assert!(std::mem::size_of::<c::NCryptKeyName>() == KEY_NAME_LEN);
    assert!(std::mem::size_of::<c::NCryptAlgorithmName>() == ALG_NAME_LEN);
};

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

/// The padding argument of `SignHash`/`VerifySignature`, parsed from plain
/// values: the flags, and the padding structure's `pszAlgId` and `cbSalt`
/// (which `ksp.rs` reads from the right structure for the flags).
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

/// `SEQUENCE { r INTEGER, s INTEGER }` of an ECDSA signature.
#[derive(der::Sequence)]
struct EcdsaSigDer<'a> {
    r: der::asn1::UintRef<'a>,
    s: der::asn1::UintRef<'a>,
}

/// Length of one P-256 coordinate or scalar.
const P256_LEN: usize = 32;

/// An ECDSA signature from DER to CNG's `r || s`.
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

/// A CNG `r || s` ECDSA signature as DER.
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

/// The signature length CNG returns for `key`.
pub fn signature_len(key: &KeyInfo) -> usize {
    match key.algorithm {
        KeyAlgorithm::Rsa => key.max_signature_len(),
        _ => 2 * P256_LEN,
    }
}

/// A string property value: little-endian UTF-16, with or without its NUL.
fn utf16_value(data: &[u8], what: &'static str) -> Result<String, ProviderError> {
    if data.len() % 2 != 0 {
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

fn le32(b: &[u8], at: usize) -> u32 {
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

/// Window handle and use context, settable on providers and keys.
#[derive(Debug, Default)]
struct Settings {
    hwnd: Option<u64>,
    use_context: Option<String>,
}

impl Settings {
    fn get(&self, property: &str, out: Out<'_>) -> Option<Result<usize, ProviderError>> {
        match property {
            NCRYPT_WINDOW_HANDLE_PROPERTY => Some(match self.hwnd {
                Some(h) => out.put(&(h as usize).to_le_bytes()),
                None => Err(ProviderError::NotFound("no window handle was set".into())),
            }),
            NCRYPT_USE_CONTEXT_PROPERTY => Some(match &self.use_context {
                Some(c) => out.put(&utf16z(c)),
                None => Err(ProviderError::NotFound("no use context was set".into())),
            }),
            _ => None,
        }
    }

    fn set(&mut self, property: &str, data: &[u8]) -> Result<(), ProviderError> {
        match property {
            NCRYPT_WINDOW_HANDLE_PROPERTY => {
                let v = match data.len() {
                    4 => u64::from(le32(data, 0)),
                    8 => {
                        let mut w = [0u8; 8];
                        w.copy_from_slice(data);
                        u64::from_le_bytes(w)
                    }
                    n => return Err(ProviderError::BadLength(format!("a {n}-byte window handle"))),
                };
                self.hwnd = Some(v);
                Ok(())
            }
            NCRYPT_USE_CONTEXT_PROPERTY => {
                self.use_context = Some(utf16_value(data, "the use context")?);
                Ok(())
            }
            other => Err(ProviderError::not_supported(format!(
                "setting the property '{other}'"
            ))),
        }
    }
}

struct ProviderObject {
    silent: bool,
    machine: bool,
    settings: Mutex<Settings>,
}

enum KeyKind {
    User(Arc<Container>),
    Public,
}

struct KeyObject {
    owner: Handle,
    public: PublicKey,
    kind: KeyKind,
    settings: Mutex<Settings>,
}

/// What a handed-out buffer is.
enum Allocation {
    /// Structures and strings (`NCryptKeyName`, `NCryptAlgorithmName[]`).
    Block(#[allow(dead_code)] Vec<u64>),
    /// The state of an `EnumKeys` run.
    EnumState {
        _block: Vec<u64>,
        owner: Handle,
        names: Vec<(String, Option<KeyAlgorithm>)>,
        next: usize,
    },
}

/// Memory lent to the caller until `FreeBuffer`, by address.
#[derive(Default)]
struct Buffers {
    live: Mutex<HashMap<usize, Allocation>>,
}

/// Builds C structures in one 8-byte aligned block: the fixed part, then
/// UTF-16 strings that the fixed part points to.
struct BlockBuilder {
    words: Vec<u64>,
    base: usize,
    fixed: usize,
    next: usize,
}

impl BlockBuilder {
    fn new(fixed_bytes: usize, strings: &[&str]) -> Self {
        let string_bytes: usize = strings.iter().map(|s| (s.encode_utf16().count() + 1) * 2).sum();
        let words = vec![0u64; (fixed_bytes + string_bytes).div_ceil(8).max(1)];
        let base = words.as_ptr() as usize;
        Self {
            words,
            base,
            fixed: fixed_bytes,
            next: fixed_bytes,
        }
    }

    fn put_bytes(&mut self, at: usize, bytes: &[u8]) {
        for (i, b) in bytes.iter().enumerate() {
            let pos = at + i;
            let shift = (pos % 8) * 8;
            self.words[pos / 8] |= u64::from(*b) << shift;
        }
    }

    fn put_u32(&mut self, at: usize, v: u32) {
        self.put_bytes(at, &v.to_le_bytes());
    }

    /// Appends `s` after the fixed part and stores its address at `at`.
    fn put_string(&mut self, at: usize, s: &str) {
        let bytes = utf16z(s);
        let start = self.next;
        self.put_bytes(start, &bytes);
        self.next += bytes.len();
        let addr = (self.base + start) as u64;
        self.put_bytes(at, &addr.to_le_bytes());
    }

    fn finish(self) -> Vec<u64> {
        debug_assert!(self.next >= self.fixed);
        self.words
    }
}

impl Buffers {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<usize, Allocation>> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Lends `words` out; returns the pointer the caller gets.
    fn lend(&self, mut words: Vec<u64>) -> *mut c_void {
        let p = words.as_mut_ptr().cast::<c_void>();
        self.lock().insert(p as usize, Allocation::Block(words));
        p
    }

    fn free(&self, p: usize) -> Result<(), ProviderError> {
        self.lock().remove(&p).map(drop).ok_or_else(|| {
            ProviderError::Crate(Error::invalid_argument(format!(
                "FreeBuffer({p:#x}): not a buffer this provider handed out, or already freed"
            )))
        })
    }

    fn len(&self) -> usize {
        self.lock().len()
    }

    /// A copy of a lent block's words (tests read structures through it).
    #[cfg(test)]
    fn words(&self, p: *mut c_void) -> Vec<u64> {
        match self.lock().get(&(p as usize)) {
            Some(Allocation::Block(w)) => w.clone(),
            _ => panic!("no such block"),
        }
    }
}

/// The result of one `EnumKeys` call.
#[derive(Debug)]
pub struct EnumKeysStep {
    /// The `NCryptKeyName` for the caller (freed with `FreeBuffer`).
    pub key_name: *mut c_void,
    /// The enumeration state: the one passed in, or a new one (also freed
    /// with `FreeBuffer`).
    pub state: *mut c_void,
}

/// The CNG KSP: its handle tables and lent buffers over a [`ProviderCore`].
pub struct KspProvider {
    core: ProviderCore,
    providers: HandleTable<Arc<ProviderObject>>,
    keys: HandleTable<Arc<KeyObject>>,
    buffers: Buffers,
}

impl std::fmt::Debug for KspProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KspProvider")
            .field("providers", &self.providers.len())
            .field("keys", &self.keys.len())
            .field("buffers", &self.buffers.len())
            .finish()
    }
}

fn alg_name(a: KeyAlgorithm) -> &'static str {
    match a {
        KeyAlgorithm::Rsa => NCRYPT_RSA_ALGORITHM,
        _ => NCRYPT_ECDSA_P256_ALGORITHM,
    }
}

fn alg_group(a: KeyAlgorithm) -> &'static str {
    match a {
        KeyAlgorithm::Rsa => NCRYPT_RSA_ALGORITHM,
        _ => NCRYPT_ECDSA_ALGORITHM_GROUP,
    }
}

impl KspProvider {
    /// A KSP over `source`, with signer calls on `worker` and the default
    /// signature cache.
    pub fn new(source: Arc<dyn SignerSource>, worker: Worker) -> Self {
        Self::with_core(ProviderCore::new(source, worker, SignatureCache::default()))
    }

    /// A KSP over a prepared core.
    pub fn with_core(core: ProviderCore) -> Self {
        Self {
            core,
            providers: HandleTable::new(ObjectKind::Context),
            keys: HandleTable::new(ObjectKind::Key),
            buffers: Buffers::default(),
        }
    }

    /// How many provider handles, key handles and lent buffers are alive.
    pub fn live_objects(&self) -> (usize, usize, usize) {
        (self.providers.len(), self.keys.len(), self.buffers.len())
    }

    fn provider(&self, h: Handle) -> Result<Arc<ProviderObject>, ProviderError> {
        Ok(self.providers.get(h)?)
    }

    fn key(&self, h: Handle, key: Handle) -> Result<Arc<KeyObject>, ProviderError> {
        self.provider(h)?;
        let k = self.keys.get(key)?;
        if k.owner != h {
            return Err(other_context(ObjectKind::Key, key));
        }
        Ok(k)
    }

    fn user(k: &KeyObject) -> Result<&Arc<Container>, ProviderError> {
        match &k.kind {
            KeyKind::User(c) => Ok(c),
            KeyKind::Public => Err(ProviderError::NoKey(
                "an imported public key cannot sign and has no certificate".into(),
            )),
        }
    }

    /// `OpenProvider`: `name` is the name the router was asked for.
    pub fn open_provider(&self, name: Option<&str>, flags: u32) -> Result<Handle, ProviderError> {
        check_flags(
            "OpenProvider",
            flags,
            NCRYPT_SILENT_FLAG | NCRYPT_MACHINE_KEY_FLAG,
        )?;
        if let Some(n) = name.filter(|n| !n.is_empty() && *n != PROVIDER_NAME) {
            return Err(Error::NotFound {
                what: format!("key storage provider '{n}' (this is '{PROVIDER_NAME}')"),
            }
            .into());
        }
        let p = ProviderObject {
            silent: flags & NCRYPT_SILENT_FLAG != 0,
            machine: flags & NCRYPT_MACHINE_KEY_FLAG != 0,
            settings: Mutex::new(Settings::default()),
        };
        Ok(self.providers.insert(Arc::new(p))?)
    }

    /// `FreeProvider`: also frees the provider's keys and enumeration states.
    pub fn free_provider(&self, h: Handle) -> Result<(), ProviderError> {
        self.providers.remove(h)?;
        self.keys.remove_where(|k| k.owner == h);
        self.buffers
            .lock()
            .retain(|_, a| !matches!(a, Allocation::EnumState { owner, .. } if *owner == h));
        Ok(())
    }

    /// `OpenKey`: `name` is the credential ID; null or empty opens the
    /// selected credential.
    pub fn open_key(
        &self,
        h: Handle,
        name: Option<&str>,
        legacy_key_spec: u32,
        flags: u32,
    ) -> Result<Handle, ProviderError> {
        let p = self.provider(h)?;
        check_flags("OpenKey", flags, NCRYPT_SILENT_FLAG | NCRYPT_MACHINE_KEY_FLAG)?;
        match legacy_key_spec {
            0 | AT_SIGNATURE | CERT_NCRYPT_KEY_SPEC => {}
            AT_KEYEXCHANGE => {
                return Err(ProviderError::NoKey(
                    "AT_KEYEXCHANGE: the credential only signs".into(),
                ));
            }
            other => {
                return Err(ProviderError::BadFlags {
                    what: "OpenKey legacy key spec",
                    flags: other,
                });
            }
        }
        let silent = p.silent || flags & NCRYPT_SILENT_FLAG != 0;
        let container = self
            .core
            .open(name.filter(|n| !n.is_empty()), OpenOptions::silent(silent))?;
        let public = container.signer.certificate().public_key()?;
        let key = KeyObject {
            owner: h,
            public,
            kind: KeyKind::User(container),
            settings: Mutex::new(Settings::default()),
        };
        Ok(self.keys.insert(Arc::new(key))?)
    }

    /// `FreeKey`.
    pub fn free_key(&self, h: Handle, key: Handle) -> Result<(), ProviderError> {
        self.key(h, key)?;
        self.keys.remove(key)?;
        Ok(())
    }

    /// `DeleteKey`: forgets this machine's binding of the credential
    /// ([`SignerSource::forget`]) and frees the handle. **The key in the
    /// signing service is never deleted.**
    pub fn delete_key(&self, h: Handle, key: Handle, flags: u32) -> Result<(), ProviderError> {
        let k = self.key(h, key)?;
        check_flags("DeleteKey", flags, NCRYPT_SILENT_FLAG)?;
        let container = Self::user(&k)?;
        self.core.forget(&container.name)?;
        self.keys.remove(key)?;
        Ok(())
    }

    /// `FreeBuffer`: gives back a buffer lent by `EnumKeys` or
    /// `EnumAlgorithms` (an enumeration state too).
    pub fn free_buffer(&self, p: *mut c_void) -> Result<(), ProviderError> {
        self.buffers.free(p as usize)
    }

    /// `GetProviderProperty`.
    pub fn get_provider_property(
        &self,
        h: Handle,
        property: &str,
        out: Out<'_>,
        flags: u32,
    ) -> Result<usize, ProviderError> {
        let p = self.provider(h)?;
        check_flags("GetProviderProperty", flags, NCRYPT_SILENT_FLAG)?;
        match property {
            NCRYPT_NAME_PROPERTY => out.put(&utf16z(PROVIDER_NAME)),
            NCRYPT_IMPL_TYPE_PROPERTY => out.put_u32(NCRYPT_IMPL_HARDWARE_FLAG),
            NCRYPT_VERSION_PROPERTY => {
                let major: u32 = env!("CARGO_PKG_VERSION_MAJOR").parse().unwrap_or(0);
                let minor: u32 = env!("CARGO_PKG_VERSION_MINOR").parse().unwrap_or(0);
                out.put_u32((major << 16) | (minor & 0xFFFF))
            }
            NCRYPT_MAX_NAME_LENGTH_PROPERTY => out.put_u32(NCRYPT_MAX_KEY_NAME_LENGTH),
            other => p
                .settings
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(other, out)
                .unwrap_or_else(|| {
                    Err(ProviderError::not_supported(format!(
                        "provider property '{other}'"
                    )))
                }),
        }
    }

    /// `SetProviderProperty`: `HWND Handle`, `Use Context`.
    pub fn set_provider_property(
        &self,
        h: Handle,
        property: &str,
        data: &[u8],
        flags: u32,
    ) -> Result<(), ProviderError> {
        let p = self.provider(h)?;
        check_flags("SetProviderProperty", flags, NCRYPT_SILENT_FLAG)?;
        p.settings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .set(property, data)
    }

    /// `GetKeyProperty`.
    pub fn get_key_property(
        &self,
        h: Handle,
        key: Handle,
        property: &str,
        out: Out<'_>,
        flags: u32,
    ) -> Result<usize, ProviderError> {
        let k = self.key(h, key)?;
        check_flags("GetKeyProperty", flags, NCRYPT_SILENT_FLAG)?;
        let info = k.public.info();
        match property {
            NCRYPT_ALGORITHM_GROUP_PROPERTY => out.put(&utf16z(alg_group(info.algorithm))),
            NCRYPT_ALGORITHM_PROPERTY => out.put(&utf16z(alg_name(info.algorithm))),
            NCRYPT_LENGTH_PROPERTY => out.put_u32(info.bits),
            NCRYPT_LENGTHS_PROPERTY => {
                let mut v = Vec::with_capacity(16);
                for x in [info.bits, info.bits, 0, info.bits] {
                    v.extend_from_slice(&x.to_le_bytes());
                }
                out.put(&v)
            }
            NCRYPT_KEY_USAGE_PROPERTY => out.put_u32(NCRYPT_ALLOW_SIGNING_FLAG),
            NCRYPT_EXPORT_POLICY_PROPERTY => out.put_u32(0),
            NCRYPT_KEY_TYPE_PROPERTY => {
                let machine = self.provider(h)?.machine;
                out.put_u32(if machine { NCRYPT_MACHINE_KEY_FLAG } else { 0 })
            }
            NCRYPT_NAME_PROPERTY | NCRYPT_UNIQUE_NAME_PROPERTY => out.put(&utf16z(&Self::user(&k)?.name)),
            NCRYPT_CERTIFICATE_PROPERTY => out.put(Self::user(&k)?.signer.certificate().der()),
            NCRYPT_CRPKI_REGISTRAR_CERTIFICATE_PROPERTY => {
                out.put(Self::user(&k)?.registrar_certificate()?.der())
            }
            other => k
                .settings
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(other, out)
                .unwrap_or_else(|| Err(ProviderError::not_supported(format!("key property '{other}'")))),
        }
    }

    /// `SetKeyProperty`: `HWND Handle`, `Use Context`.
    pub fn set_key_property(
        &self,
        h: Handle,
        key: Handle,
        property: &str,
        data: &[u8],
        flags: u32,
    ) -> Result<(), ProviderError> {
        let k = self.key(h, key)?;
        check_flags("SetKeyProperty", flags, NCRYPT_SILENT_FLAG)?;
        if property == NCRYPT_PIN_PROPERTY {
            let KeyKind::User(container) = &k.kind else {
                return Err(ProviderError::not_supported("a PIN for an imported public key"));
            };
            let pin = crate::Secret::new(utf16_value(data, "the PIN")?);
            return self.core.set_pin(&container.name, pin);
        }
        k.settings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .set(property, data)
    }

    /// `ImportKey`: public blobs only, without an import key.
    pub fn import_key(
        &self,
        h: Handle,
        import_key: usize,
        blob_type: &str,
        data: &[u8],
        flags: u32,
    ) -> Result<Handle, ProviderError> {
        self.provider(h)?;
        check_flags("ImportKey", flags, NCRYPT_SILENT_FLAG)?;
        if import_key != 0 {
            return Err(ProviderError::not_supported("ImportKey with a wrapping key"));
        }
        let public = parse_public_blob(blob_type, data)?;
        let key = KeyObject {
            owner: h,
            public,
            kind: KeyKind::Public,
            settings: Mutex::new(Settings::default()),
        };
        Ok(self.keys.insert(Arc::new(key))?)
    }

    /// `ExportKey`: the public blob of the key.
    pub fn export_key(
        &self,
        h: Handle,
        key: Handle,
        export_key: usize,
        blob_type: &str,
        out: Out<'_>,
        flags: u32,
    ) -> Result<usize, ProviderError> {
        let k = self.key(h, key)?;
        check_flags("ExportKey", flags, NCRYPT_SILENT_FLAG)?;
        if export_key != 0 {
            return Err(ProviderError::not_supported("ExportKey with a wrapping key"));
        }
        let rsa = k.public.info().algorithm == KeyAlgorithm::Rsa;
        match blob_type {
            BCRYPT_PUBLIC_KEY_BLOB => {}
            BCRYPT_RSAPUBLIC_BLOB if rsa => {}
            BCRYPT_ECCPUBLIC_BLOB if !rsa => {}
            BCRYPT_RSAPUBLIC_BLOB | BCRYPT_ECCPUBLIC_BLOB => {
                return Err(ProviderError::BadData(format!(
                    "a {} key cannot be exported as {blob_type}",
                    k.public.info()
                )));
            }
            other
                if other.contains("PRIVATE")
                    || other.starts_with("PKCS8")
                    || other.ends_with("FULLPRIVATEBLOB") =>
            {
                return Err(ProviderError::NotExportable(
                    "a private blob: the private key never leaves the signer",
                ));
            }
            other => return Err(ProviderError::not_supported(format!("export as '{other}'"))),
        }
        out.put(&public_blob(&k.public)?)
    }

    /// `SignHash`: the big-endian signature of `hash` (see the module
    /// documentation for paddings). The size query does not sign.
    pub fn sign_hash(
        &self,
        h: Handle,
        key: Handle,
        padding: Padding,
        hash: &[u8],
        out: Out<'_>,
        flags: u32,
    ) -> Result<usize, ProviderError> {
        let k = self.key(h, key)?;
        check_flags(
            "SignHash",
            flags,
            NCRYPT_SILENT_FLAG | BCRYPT_PAD_PKCS1 | BCRYPT_PAD_PSS,
        )?;
        let container = Self::user(&k)?;
        let info = container.signer.key_info();
        let algorithm = padding.algorithm(&info, hash.len())?;
        let len = signature_len(&info);
        out.fits(len)?;
        if out.is_size_query() {
            return Ok(len);
        }
        let digest = Digest::new(algorithm.hash, hash.to_vec())?;
        let container = if flags & NCRYPT_SILENT_FLAG != 0 && !container.options.silent {
            self.core.open(Some(&container.name), OpenOptions::silent(true))?
        } else {
            container.clone()
        };
        let signature = self.core.sign(&container, algorithm, &digest)?;
        let signature = match info.algorithm {
            KeyAlgorithm::Rsa => signature,
            _ => ecdsa_der_to_raw(&signature)?,
        };
        if signature.len() != len {
            return Err(Error::Protocol {
                service: "signer".into(),
                detail: format!("a {info} signature of {} bytes", signature.len()),
            }
            .into());
        }
        out.put(&signature)
    }

    /// `VerifySignature`: with the user key or an imported public key.
    pub fn verify_signature(
        &self,
        h: Handle,
        key: Handle,
        padding: Padding,
        hash: &[u8],
        signature: &[u8],
        flags: u32,
    ) -> Result<(), ProviderError> {
        let k = self.key(h, key)?;
        check_flags(
            "VerifySignature",
            flags,
            NCRYPT_SILENT_FLAG | BCRYPT_PAD_PKCS1 | BCRYPT_PAD_PSS,
        )?;
        let info = k.public.info();
        let algorithm = padding.algorithm(&info, hash.len())?;
        let digest = Digest::new(algorithm.hash, hash.to_vec())?;
        let der;
        let signature = match info.algorithm {
            KeyAlgorithm::Rsa => signature,
            _ => {
                der = ecdsa_raw_to_der(signature)?;
                &der
            }
        };
        k.public.verify_digest(algorithm, &digest, signature)?;
        Ok(())
    }

    /// `IsAlgSupported`: `RSA` and `ECDSA_P256`.
    pub fn is_alg_supported(&self, h: Handle, alg: &str, flags: u32) -> Result<(), ProviderError> {
        self.provider(h)?;
        check_flags("IsAlgSupported", flags, NCRYPT_SILENT_FLAG)?;
        match alg {
            NCRYPT_RSA_ALGORITHM | NCRYPT_ECDSA_P256_ALGORITHM => Ok(()),
            other => Err(ProviderError::not_supported(format!("algorithm '{other}'"))),
        }
    }

    /// `EnumAlgorithms`: the signature algorithms (for class 0 or
    /// `NCRYPT_SIGNATURE_OPERATION`); returns the count and the array.
    pub fn enum_algorithms(
        &self,
        h: Handle,
        operations: u32,
        flags: u32,
    ) -> Result<(u32, *mut c_void), ProviderError> {
        self.provider(h)?;
        check_flags("EnumAlgorithms", flags, NCRYPT_SILENT_FLAG)?;
        let names: &[&str] = if operations == 0 || operations & NCRYPT_SIGNATURE_OPERATION != 0 {
            &[NCRYPT_RSA_ALGORITHM, NCRYPT_ECDSA_P256_ALGORITHM]
        } else {
            &[]
        };
        let mut b = BlockBuilder::new(ALG_NAME_LEN * names.len(), names);
        for (i, name) in names.iter().enumerate() {
            let at = i * ALG_NAME_LEN;
            b.put_string(at, name);
            b.put_u32(at + 8, NCRYPT_SIGNATURE_INTERFACE);
            b.put_u32(at + 12, NCRYPT_SIGNATURE_OPERATION);
            b.put_u32(at + 16, 0);
        }
        Ok((names.len() as u32, self.buffers.lend(b.finish())))
    }

    /// `EnumKeys`: one credential per call. `state` is the caller's
    /// `*ppEnumState` (null on the first call); the end is
    /// `NTE_NO_MORE_ITEMS`.
    pub fn enum_keys(
        &self,
        h: Handle,
        state: *mut c_void,
        flags: u32,
    ) -> Result<EnumKeysStep, ProviderError> {
        let p = self.provider(h)?;
        check_flags("EnumKeys", flags, NCRYPT_SILENT_FLAG | NCRYPT_MACHINE_KEY_FLAG)?;
        let mut state = state;
        let created = state.is_null();
        if created {
            let options = OpenOptions::silent(p.silent || flags & NCRYPT_SILENT_FLAG != 0);
            let list = self.core.containers(options)?;
            // The algorithm is the key's: learn it by opening, and leave it
            // out for a credential that cannot be opened now.
            let names = list
                .into_iter()
                .map(|c| {
                    let alg = self
                        .core
                        .open(Some(&c.name), options)
                        .ok()
                        .map(|o| o.signer.key_info().algorithm);
                    (c.name, alg)
                })
                .collect();
            let mut block = vec![0u64];
            state = block.as_mut_ptr().cast();
            self.buffers.lock().insert(
                state as usize,
                Allocation::EnumState {
                    _block: block,
                    owner: h,
                    names,
                    next: 0,
                },
            );
        }
        let item = {
            let mut live = self.buffers.lock();
            let item = match live.get_mut(&(state as usize)) {
                Some(Allocation::EnumState {
                    owner, names, next, ..
                }) if *owner == h => {
                    let item = names.get(*next).cloned();
                    *next += usize::from(item.is_some());
                    item
                }
                _ => {
                    return Err(Error::invalid_argument(
                        "EnumKeys: the enumeration state was not made by this provider handle",
                    )
                    .into());
                }
            };
            if item.is_none() && created {
                // The caller never sees a state it could free.
                live.remove(&(state as usize));
            }
            item
        };
        let (name, alg) = item.ok_or(ProviderError::NoMoreItems)?;
        let alg = alg.map(alg_name).unwrap_or("");
        let mut b = BlockBuilder::new(KEY_NAME_LEN, &[&name, alg]);
        b.put_string(0, &name);
        b.put_string(8, alg);
        b.put_u32(16, AT_SIGNATURE);
        b.put_u32(20, if p.machine { NCRYPT_MACHINE_KEY_FLAG } else { 0 });
        Ok(EnumKeysStep {
            key_name: self.buffers.lend(b.finish()),
            state,
        })
    }

    /// The slots this provider does not offer: the provider handle is still
    /// checked, so a bad handle is reported as such.
    pub fn unsupported(&self, h: Handle, what: &'static str) -> Result<(), ProviderError> {
        self.provider(h)?;
        Err(ProviderError::not_supported(what))
    }
}

#[cfg(test)]
#[path = "cng_tests.rs"]
mod tests;
