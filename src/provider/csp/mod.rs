//! CryptoAPI CSP semantics, in safe Rust over slices: what each `CP*`
//! export does once its pointers are checked. The `extern "system"`
//! shells in `exports.rs` only convert pointers and call in here, so all of
//! this is unit-tested on any platform.
//!
//! # The provider
//!
//! - Name [`PROVIDER_NAME`], type `PROV_RSA_AES` (24, needed for SHA-2).
//! - Containers are the [`SignerSource`](crate::source::SignerSource)'s: a credential ID (or a PKCS#12
//!   container name); an empty or null name opens the selected one.
//!   `CRYPT_VERIFYCONTEXT` opens none (hashing, importing public keys and
//!   verifying work). `CRYPT_SILENT` is passed on to the signer source and
//!   the signer: if the user would be needed, the call fails with
//!   `NTE_SILENT_CONTEXT`. `CRYPT_NEWKEYSET` and `CRYPT_DELETEKEYSET` are
//!   refused with `NTE_NOT_SUPPORTED`: keys are made and deleted by the
//!   signing service, never here. `CRYPT_MACHINE_KEYSET` is accepted and
//!   changes nothing. With `CRYPT_DEFAULT_CONTAINER_OPTIONAL` and no name,
//!   a missing configuration gives a verify-only context.
//! - Each container holds one key, `AT_SIGNATURE`, an RSA key
//!   (`CALG_RSA_SIGN`); there is no exchange key.
//! - Hashes: `CALG_SHA_256`, `CALG_SHA_384`, `CALG_SHA_512`.
//! - Signatures: RSASSA-PKCS1-v1_5 over a DigestInfo, returned
//!   little-endian as CryptoAPI wants. The size query of `CPSignHash`
//!   (null buffer) is answered from the key length without signing. A
//!   signature made for the same key and digest a few seconds earlier is
//!   returned again instead of signing twice.
//!
//! # Parameters
//!
//! `CPGetProvParam`: `PP_NAME`, `PP_CONTAINER`, `PP_UNIQUE_CONTAINER`
//! (ANSI strings), `PP_ENUMCONTAINERS` (`CRYPT_FIRST` restarts; a size query
//! gives the longest name), `PP_PROVTYPE`, `PP_IMPTYPE`
//! (`CRYPT_IMPL_MIXED`: hashing here, the key elsewhere), `PP_VERSION`,
//! `PP_ENUMALGS`, `PP_ENUMALGS_EX`, `PP_KEYSPEC` (`AT_SIGNATURE`).
//! `CPSetProvParam`: `PP_SIGNATURE_PIN` / `PP_KEYEXCHANGE_PIN` give the
//! container's credential its PIN, as applications do for smart cards
//! (used by the next authorization instead of asking; never readable back).
//!
//! `CPGetKeyParam`: `KP_ALGID`, `KP_KEYLEN`, `KP_BLOCKLEN` (bits),
//! `KP_CERTIFICATE` (the user's certificate, DER) and
//! [`KP_CRPKI_ROOT_CERTIFICATE`]: **the registrar's self-signed
//! certificate (登記官証明書), DER**, the last certificate of the signer's
//! chain when it is self-signed (`NTE_NOT_FOUND` when the signer does not
//! know it). This value is our own, outside Microsoft's `KP_*` numbers.
//!
//! `CPGetHashParam`: `HP_ALGID`, `HP_HASHSIZE`, `HP_HASHVAL` (finishes the
//! hash). `CPSetHashParam`: `HP_HASHVAL` (a digest computed elsewhere).
//!
//! Every variable-length answer follows the CryptoAPI size protocol: a null
//! buffer asks for the size; a buffer too small gets `ERROR_MORE_DATA` and
//! the size needed.

#[cfg(windows)]
use super::blob::{self, CALG_RSA_SIGN};

mod algs;
#[cfg(windows)]
mod exports;
mod provider;

pub use algs::{PROV_ENUMALGS_EX_LEN, PROV_ENUMALGS_LEN, calg_of, hash_algorithm};
pub use provider::CspProvider;

/// The provider's registered name. It names this project so that it can
/// never be taken for the Ministry's driver.
pub const PROVIDER_NAME: &str = super::CSP_NAME;
/// `PROV_RSA_AES`.
pub const PROV_RSA_AES: u32 = 24;
/// `KP_*` value of the registrar's self-signed certificate (DER); ours.
pub const KP_CRPKI_ROOT_CERTIFICATE: u32 = 0x4352_0001;

/// CryptoAPI constants used here (values from `wincrypt.h`).
#[allow(missing_docs)]
pub mod consts {
    pub const CRYPT_VERIFYCONTEXT: u32 = 0xF000_0000;
    pub const CRYPT_NEWKEYSET: u32 = 0x8;
    pub const CRYPT_DELETEKEYSET: u32 = 0x10;
    pub const CRYPT_MACHINE_KEYSET: u32 = 0x20;
    pub const CRYPT_SILENT: u32 = 0x40;
    pub const CRYPT_DEFAULT_CONTAINER_OPTIONAL: u32 = 0x80;
    pub const CRYPT_FIRST: u32 = 1;
    pub const CRYPT_NEXT: u32 = 2;
    pub const CRYPT_EXPORTABLE: u32 = 1;
    pub const CRYPT_NOHASHOID: u32 = 1;

    pub const PP_ENUMALGS: u32 = 1;
    pub const PP_ENUMCONTAINERS: u32 = 2;
    pub const PP_IMPTYPE: u32 = 3;
    pub const PP_NAME: u32 = 4;
    pub const PP_VERSION: u32 = 5;
    pub const PP_CONTAINER: u32 = 6;
    pub const PP_PROVTYPE: u32 = 16;
    pub const PP_ENUMALGS_EX: u32 = 22;
    pub const PP_UNIQUE_CONTAINER: u32 = 36;
    pub const PP_KEYEXCHANGE_PIN: u32 = 32;
    pub const PP_SIGNATURE_PIN: u32 = 33;
    pub const PP_KEYSPEC: u32 = 39;
    pub const CRYPT_IMPL_MIXED: u32 = 3;

    pub const AT_KEYEXCHANGE: u32 = 1;
    pub const AT_SIGNATURE: u32 = 2;

    pub const KP_ALGID: u32 = 7;
    pub const KP_BLOCKLEN: u32 = 8;
    pub const KP_KEYLEN: u32 = 9;
    pub const KP_CERTIFICATE: u32 = 26;

    pub const HP_ALGID: u32 = 1;
    pub const HP_HASHVAL: u32 = 2;
    pub const HP_HASHSIZE: u32 = 4;

    pub const CALG_SHA_256: u32 = 0x800C;
    pub const CALG_SHA_384: u32 = 0x800D;
    pub const CALG_SHA_512: u32 = 0x800E;
    pub const CALG_SSL3_SHAMD5: u32 = 0x8008;

    pub const PUBLICKEYBLOB: u32 = 6;
    pub const PRIVATEKEYBLOB: u32 = 7;
    pub const CRYPT_FLAG_SIGNING: u32 = 0x20;
}

#[cfg(windows)]
use consts::*;

#[cfg(windows)]
const _: () = {
    use windows_sys::Win32::Security::Cryptography as c;
    assert!(PROV_RSA_AES == c::PROV_RSA_AES);
    assert!(CRYPT_VERIFYCONTEXT == c::CRYPT_VERIFYCONTEXT);
    assert!(CRYPT_NEWKEYSET == c::CRYPT_NEWKEYSET);
    assert!(CRYPT_DELETEKEYSET == c::CRYPT_DELETEKEYSET);
    assert!(CRYPT_MACHINE_KEYSET == c::CRYPT_MACHINE_KEYSET);
    assert!(CRYPT_SILENT == c::CRYPT_SILENT);
    assert!(CRYPT_DEFAULT_CONTAINER_OPTIONAL == c::CRYPT_DEFAULT_CONTAINER_OPTIONAL);
    assert!(CRYPT_FIRST == c::CRYPT_FIRST);
    assert!(CRYPT_NEXT == c::CRYPT_NEXT);
    assert!(PP_ENUMALGS == c::PP_ENUMALGS);
    assert!(PP_ENUMCONTAINERS == c::PP_ENUMCONTAINERS);
    assert!(PP_KEYEXCHANGE_PIN == c::PP_KEYEXCHANGE_PIN);
    assert!(PP_SIGNATURE_PIN == c::PP_SIGNATURE_PIN);
    assert!(PP_IMPTYPE == c::PP_IMPTYPE);
    assert!(PP_NAME == c::PP_NAME);
    assert!(PP_VERSION == c::PP_VERSION);
    assert!(PP_CONTAINER == c::PP_CONTAINER);
    assert!(PP_PROVTYPE == c::PP_PROVTYPE);
    assert!(PP_ENUMALGS_EX == c::PP_ENUMALGS_EX);
    assert!(PP_UNIQUE_CONTAINER == c::PP_UNIQUE_CONTAINER);
    assert!(PP_KEYSPEC == c::PP_KEYSPEC);
    assert!(CRYPT_IMPL_MIXED == c::CRYPT_IMPL_MIXED);
    assert!(AT_KEYEXCHANGE == c::AT_KEYEXCHANGE);
    assert!(AT_SIGNATURE == c::AT_SIGNATURE);
    assert!(KP_ALGID == c::KP_ALGID);
    assert!(KP_BLOCKLEN == c::KP_BLOCKLEN);
    assert!(KP_KEYLEN == c::KP_KEYLEN);
    assert!(KP_CERTIFICATE == c::KP_CERTIFICATE);
    assert!(HP_ALGID == c::HP_ALGID);
    assert!(HP_HASHVAL == c::HP_HASHVAL);
    assert!(HP_HASHSIZE == c::HP_HASHSIZE);
    assert!(CALG_SHA_256 == c::CALG_SHA_256);
    assert!(CALG_SHA_384 == c::CALG_SHA_384);
    assert!(CALG_SHA_512 == c::CALG_SHA_512);
    assert!(CALG_SSL3_SHAMD5 == c::CALG_SSL3_SHAMD5);
    assert!(CALG_RSA_SIGN == c::CALG_RSA_SIGN);
    assert!(blob::CALG_RSA_KEYX == c::CALG_RSA_KEYX);
    assert!(PUBLICKEYBLOB == c::PUBLICKEYBLOB);
    assert!(PRIVATEKEYBLOB == c::PRIVATEKEYBLOB);
    assert!(CRYPT_FLAG_SIGNING == c::CRYPT_FLAG_SIGNING);
    assert!(std::mem::size_of::<c::PROV_ENUMALGS>() == PROV_ENUMALGS_LEN);
    assert!(std::mem::size_of::<c::PROV_ENUMALGS_EX>() == PROV_ENUMALGS_EX_LEN);
};
