//! The CryptoAPI CSP's exports (Windows, feature `csp`).
//!
//! Each export: check the pointers ([`ffi`]), call the safe CSP in
//! [`super`], map the error to a code inside [`guard`] (panics included),
//! return `TRUE`/`FALSE` with the code in the thread's last error. The 23
//! functions Wine's advapi32 requires are all here, plus `CPDuplicateHash`
//! and `CPDuplicateKey`; what the provider does not offer answers
//! `NTE_NOT_SUPPORTED`. `DllRegisterServer`/`DllUnregisterServer`, which
//! write and remove the provider's registry entry, are in
//! [`crate::provider::register`]'s file.
//!
//! The SPI signatures are not in windows-sys, so they are declared here;
//! handles are `ULONG_PTR` (`usize`), `BOOL` is `i32`.

// One of the two files of the crate that may use `unsafe` (see the
// provider module's documentation).
#![allow(unsafe_code)]

use std::ffi::c_char;
use std::sync::OnceLock;

use windows_sys::Win32::Security::Cryptography::VTableProvStruc;

use super::CspProvider;
use crate::provider::error::{Api, ProviderError};
use crate::provider::ffi::{self, handle, raw_handle};
use crate::provider::worker::{DEFAULT_TIMEOUT, Worker};
use crate::provider::{default_source, guard};

type Bool = i32;

fn provider() -> &'static CspProvider {
    static PROVIDER: OnceLock<CspProvider> = OnceLock::new();
    PROVIDER.get_or_init(|| {
        CspProvider::new(
            default_source(),
            Worker::new(DEFAULT_TIMEOUT, Some(ffi::pin_module)),
        )
    })
}

fn export(name: &'static str, body: impl FnOnce() -> Result<(), ProviderError>) -> Bool {
    ffi::to_bool(guard(name, Api::CryptoApi, body))
}

/// `CPAcquireContext`: opens a container (see [`super`] for the flags).
///
/// # Safety
/// Called by advapi32 with valid pointers or null.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CPAcquireContext(
    ph_prov: *mut usize,
    sz_container: *const c_char,
    dw_flags: u32,
    _p_vtable: *const VTableProvStruc,
) -> Bool {
    export("CPAcquireContext", || {
        ffi::require(ph_prov, "phProv")?;
        let name = unsafe { ffi::c_string(sz_container) };
        let h = provider().acquire_context(name, dw_flags)?;
        unsafe { ffi::write(ph_prov, raw_handle(h)?, "phProv") }
    })
}

/// `CPReleaseContext`.
///
/// # Safety
/// No pointer arguments.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CPReleaseContext(h_prov: usize, dw_flags: u32) -> Bool {
    export("CPReleaseContext", || {
        provider().release_context(handle(h_prov), dw_flags)
    })
}

/// `CPGetProvParam`.
///
/// # Safety
/// Called by advapi32 with valid pointers or null.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CPGetProvParam(
    h_prov: usize,
    dw_param: u32,
    pb_data: *mut u8,
    pcb_data_len: *mut u32,
    dw_flags: u32,
) -> Bool {
    export("CPGetProvParam", || unsafe {
        ffi::with_out(pb_data, pcb_data_len, "pdwDataLen", |out| {
            provider().get_prov_param(handle(h_prov), dw_param, out, dw_flags)
        })
    })
}

/// `CPSetProvParam`: the PIN parameters (see [`super`]).
///
/// # Safety
/// For `PP_SIGNATURE_PIN`/`PP_KEYEXCHANGE_PIN`, `pb_data` is null or a
/// NUL-terminated string; for other parameters it is not read.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CPSetProvParam(
    h_prov: usize,
    dw_param: u32,
    pb_data: *const u8,
    dw_flags: u32,
) -> Bool {
    export("CPSetProvParam", || {
        let pin_param = matches!(
            dw_param,
            super::consts::PP_SIGNATURE_PIN | super::consts::PP_KEYEXCHANGE_PIN
        );
        let pin = if pin_param {
            unsafe { ffi::c_string(pb_data.cast()) }
        } else {
            None
        };
        provider().set_prov_param(handle(h_prov), dw_param, pin, dw_flags)
    })
}

/// `CPGetUserKey`: the `AT_SIGNATURE` key.
///
/// # Safety
/// Called by advapi32 with valid pointers or null.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CPGetUserKey(h_prov: usize, dw_key_spec: u32, ph_user_key: *mut usize) -> Bool {
    export("CPGetUserKey", || {
        ffi::require(ph_user_key, "phUserKey")?;
        let k = provider().get_user_key(handle(h_prov), dw_key_spec)?;
        unsafe { ffi::write(ph_user_key, raw_handle(k)?, "phUserKey") }
    })
}

/// `CPGetKeyParam`.
///
/// # Safety
/// Called by advapi32 with valid pointers or null.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CPGetKeyParam(
    h_prov: usize,
    h_key: usize,
    dw_param: u32,
    pb_data: *mut u8,
    pcb_data_len: *mut u32,
    dw_flags: u32,
) -> Bool {
    export("CPGetKeyParam", || unsafe {
        ffi::with_out(pb_data, pcb_data_len, "pdwDataLen", |out| {
            provider().get_key_param(handle(h_prov), handle(h_key), dw_param, out, dw_flags)
        })
    })
}

/// `CPSetKeyParam`: `NTE_NOT_SUPPORTED`.
///
/// # Safety
/// The data pointer is not read.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CPSetKeyParam(
    h_prov: usize,
    h_key: usize,
    dw_param: u32,
    _pb_data: *const u8,
    _dw_flags: u32,
) -> Bool {
    export("CPSetKeyParam", || {
        provider().set_key_param(handle(h_prov), handle(h_key), dw_param)
    })
}

/// `CPDestroyKey`.
///
/// # Safety
/// No pointer arguments.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CPDestroyKey(h_prov: usize, h_key: usize) -> Bool {
    export("CPDestroyKey", || {
        provider().destroy_key(handle(h_prov), handle(h_key))
    })
}

/// `CPDuplicateKey`.
///
/// # Safety
/// Called by advapi32 with valid pointers or null.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CPDuplicateKey(
    h_prov: usize,
    h_key: usize,
    _pdw_reserved: *mut u32,
    dw_flags: u32,
    ph_key: *mut usize,
) -> Bool {
    export("CPDuplicateKey", || {
        ffi::require(ph_key, "phKey")?;
        let k = provider().duplicate_key(handle(h_prov), handle(h_key), dw_flags)?;
        unsafe { ffi::write(ph_key, raw_handle(k)?, "phKey") }
    })
}

/// `CPImportKey`: RSA `PUBLICKEYBLOB`.
///
/// # Safety
/// Called by advapi32 with valid pointers or null.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CPImportKey(
    h_prov: usize,
    pb_data: *const u8,
    cb_data_len: u32,
    h_pub_key: usize,
    dw_flags: u32,
    ph_key: *mut usize,
) -> Bool {
    export("CPImportKey", || {
        ffi::require(ph_key, "phKey")?;
        let data = unsafe { ffi::in_bytes(pb_data, cb_data_len, "pbData") }?;
        let k = provider().import_key(handle(h_prov), data, h_pub_key as u64, dw_flags)?;
        unsafe { ffi::write(ph_key, raw_handle(k)?, "phKey") }
    })
}

/// `CPExportKey`: `PUBLICKEYBLOB`.
///
/// # Safety
/// Called by advapi32 with valid pointers or null.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CPExportKey(
    h_prov: usize,
    h_key: usize,
    h_pub_key: usize,
    dw_blob_type: u32,
    dw_flags: u32,
    pb_data: *mut u8,
    pcb_data_len: *mut u32,
) -> Bool {
    export("CPExportKey", || unsafe {
        ffi::with_out(pb_data, pcb_data_len, "pdwDataLen", |out| {
            provider().export_key(
                handle(h_prov),
                handle(h_key),
                h_pub_key as u64,
                dw_blob_type,
                dw_flags,
                out,
            )
        })
    })
}

/// `CPCreateHash`: SHA-256/384/512.
///
/// # Safety
/// Called by advapi32 with valid pointers or null.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CPCreateHash(
    h_prov: usize,
    algid: u32,
    h_key: usize,
    dw_flags: u32,
    ph_hash: *mut usize,
) -> Bool {
    export("CPCreateHash", || {
        ffi::require(ph_hash, "phHash")?;
        let hh = provider().create_hash(handle(h_prov), algid, h_key as u64, dw_flags)?;
        unsafe { ffi::write(ph_hash, raw_handle(hh)?, "phHash") }
    })
}

/// `CPHashData`.
///
/// # Safety
/// Called by advapi32 with valid pointers or null.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CPHashData(
    h_prov: usize,
    h_hash: usize,
    pb_data: *const u8,
    cb_data_len: u32,
    dw_flags: u32,
) -> Bool {
    export("CPHashData", || {
        let data = unsafe { ffi::in_bytes(pb_data, cb_data_len, "pbData") }?;
        provider().hash_data(handle(h_prov), handle(h_hash), data, dw_flags)
    })
}

/// `CPSetHashParam`: `HP_HASHVAL`.
///
/// # Safety
/// Called by advapi32; for `HP_HASHVAL` a non-null `pb_data` holds the
/// hash's length of bytes.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CPSetHashParam(
    h_prov: usize,
    h_hash: usize,
    dw_param: u32,
    pb_data: *const u8,
    dw_flags: u32,
) -> Bool {
    export("CPSetHashParam", || {
        let p = provider();
        // The buffer carries no length: for HP_HASHVAL it is the hash's.
        let len = p.hash_len(handle(h_prov), handle(h_hash))?;
        if pb_data.is_null() {
            return Err(ProviderError::NullPointer("pbData"));
        }
        let data: &[u8] = if dw_param == super::consts::HP_HASHVAL {
            unsafe { ffi::in_bytes(pb_data, len as u32, "pbData") }?
        } else {
            &[]
        };
        p.set_hash_param(handle(h_prov), handle(h_hash), dw_param, data, dw_flags)
    })
}

/// `CPGetHashParam`.
///
/// # Safety
/// Called by advapi32 with valid pointers or null.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CPGetHashParam(
    h_prov: usize,
    h_hash: usize,
    dw_param: u32,
    pb_data: *mut u8,
    pcb_data_len: *mut u32,
    dw_flags: u32,
) -> Bool {
    export("CPGetHashParam", || unsafe {
        ffi::with_out(pb_data, pcb_data_len, "pdwDataLen", |out| {
            provider().get_hash_param(handle(h_prov), handle(h_hash), dw_param, out, dw_flags)
        })
    })
}

/// `CPDestroyHash`.
///
/// # Safety
/// No pointer arguments.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CPDestroyHash(h_prov: usize, h_hash: usize) -> Bool {
    export("CPDestroyHash", || {
        provider().destroy_hash(handle(h_prov), handle(h_hash))
    })
}

/// `CPDuplicateHash`.
///
/// # Safety
/// Called by advapi32 with valid pointers or null.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CPDuplicateHash(
    h_prov: usize,
    h_hash: usize,
    _pdw_reserved: *mut u32,
    dw_flags: u32,
    ph_hash: *mut usize,
) -> Bool {
    export("CPDuplicateHash", || {
        ffi::require(ph_hash, "phHash")?;
        let hh = provider().duplicate_hash(handle(h_prov), handle(h_hash), dw_flags)?;
        unsafe { ffi::write(ph_hash, raw_handle(hh)?, "phHash") }
    })
}

/// `CPSignHash`: little-endian PKCS#1 v1.5; the size query does not sign.
///
/// # Safety
/// Called by advapi32 with valid pointers or null.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CPSignHash(
    h_prov: usize,
    h_hash: usize,
    dw_key_spec: u32,
    _sz_description: *const u16,
    dw_flags: u32,
    pb_signature: *mut u8,
    pcb_sig_len: *mut u32,
) -> Bool {
    export("CPSignHash", || unsafe {
        ffi::with_out(pb_signature, pcb_sig_len, "pdwSigLen", |out| {
            provider().sign_hash(handle(h_prov), handle(h_hash), dw_key_spec, dw_flags, out)
        })
    })
}

/// `CPVerifySignature`: with the user key or an imported key.
///
/// # Safety
/// Called by advapi32 with valid pointers or null.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CPVerifySignature(
    h_prov: usize,
    h_hash: usize,
    pb_signature: *const u8,
    cb_sig_len: u32,
    h_pub_key: usize,
    _sz_description: *const u16,
    dw_flags: u32,
) -> Bool {
    export("CPVerifySignature", || {
        let sig = unsafe { ffi::in_bytes(pb_signature, cb_sig_len, "pbSignature") }?;
        provider().verify_signature(handle(h_prov), handle(h_hash), sig, handle(h_pub_key), dw_flags)
    })
}

/// `CPGenRandom`: the system's random generator.
///
/// # Safety
/// Called by advapi32 with valid pointers or null.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CPGenRandom(h_prov: usize, cb_len: u32, pb_buffer: *mut u8) -> Bool {
    export("CPGenRandom", || {
        let buf = unsafe { ffi::out_bytes(pb_buffer, cb_len, "pbBuffer") }?;
        provider().gen_random(handle(h_prov), buf)
    })
}

/// `CPGenKey`: `NTE_NOT_SUPPORTED` (keys are made by the signing service).
///
/// # Safety
/// The pointer is not written.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CPGenKey(
    h_prov: usize,
    _algid: u32,
    _dw_flags: u32,
    _ph_key: *mut usize,
) -> Bool {
    export("CPGenKey", || {
        provider().unsupported(handle(h_prov), "CPGenKey: keys are made by the signing service")
    })
}

/// `CPDeriveKey`: `NTE_NOT_SUPPORTED`.
///
/// # Safety
/// The pointer is not written.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CPDeriveKey(
    h_prov: usize,
    _algid: u32,
    _h_base_data: usize,
    _dw_flags: u32,
    _ph_key: *mut usize,
) -> Bool {
    export("CPDeriveKey", || {
        provider().unsupported(handle(h_prov), "CPDeriveKey")
    })
}

/// `CPEncrypt`: `NTE_NOT_SUPPORTED` (a signing-only provider).
///
/// # Safety
/// The pointers are not used.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CPEncrypt(
    h_prov: usize,
    _h_key: usize,
    _h_hash: usize,
    _final: Bool,
    _dw_flags: u32,
    _pb_data: *mut u8,
    _pcb_data_len: *mut u32,
    _cb_buf_len: u32,
) -> Bool {
    export("CPEncrypt", || {
        provider().unsupported(handle(h_prov), "CPEncrypt: a signing-only provider")
    })
}

/// `CPDecrypt`: `NTE_NOT_SUPPORTED` (a signing-only provider).
///
/// # Safety
/// The pointers are not used.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CPDecrypt(
    h_prov: usize,
    _h_key: usize,
    _h_hash: usize,
    _final: Bool,
    _dw_flags: u32,
    _pb_data: *mut u8,
    _pcb_data_len: *mut u32,
) -> Bool {
    export("CPDecrypt", || {
        provider().unsupported(handle(h_prov), "CPDecrypt: a signing-only provider")
    })
}

/// `CPHashSessionKey`: `NTE_NOT_SUPPORTED` (no session keys).
///
/// # Safety
/// No pointer arguments.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn CPHashSessionKey(
    h_prov: usize,
    _h_hash: usize,
    _h_key: usize,
    _dw_flags: u32,
) -> Bool {
    export("CPHashSessionKey", || {
        provider().unsupported(handle(h_prov), "CPHashSessionKey")
    })
}
