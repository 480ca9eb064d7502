//! CNG key storage provider (KSP) semantics, in safe Rust over slices and
//! plain values: what each slot of the `NCRYPT_KEY_STORAGE_FUNCTION_TABLE`
//! does once `exports.rs` has checked its pointers. Everything here compiles
//! and is unit-tested on every platform.
//!
//! # The provider
//!
//! - Name [`PROVIDER_NAME`]. Provider handles and key handles come from the
//!   shared [`HandleTable`](crate::provider::HandleTable)s; a bad, foreign, freed or wrong-kind handle is
//!   `NTE_INVALID_HANDLE`, a key used with another provider handle too.
//! - Keys are the [`SignerSource`](crate::source::SignerSource)'s containers: the key name is the
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
//!   ([`SignerSource::forget`](crate::source::SignerSource::forget)) and frees the handle.
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
//! a smart card ([`SignerSource::set_pin`](crate::source::SignerSource::set_pin); never kept in the key's
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
//! earlier is answered from the shared [`SignatureCache`](crate::provider::SignatureCache), as in the CSP.
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

mod buffers;
#[cfg(windows)]
mod exports;
mod format;
mod padding;
mod provider;

pub use format::{
    ALG_NAME_LEN, KEY_NAME_LEN, ecdsa_der_to_raw, ecdsa_raw_to_der, from_utf16, parse_public_blob,
    public_blob, signature_len, utf16z,
};
pub use padding::Padding;
pub use provider::{EnumKeysStep, KspProvider};

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

#[cfg(windows)]
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
