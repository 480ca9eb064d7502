//! The CNG key storage provider's exports (Windows, feature `ksp`).
//!
//! `GetKeyStorageInterface` hands the CNG router a static
//! `NCRYPT_KEY_STORAGE_FUNCTION_TABLE` with every slot filled. Each slot:
//! check the pointers ([`ffi`]), call the safe KSP in [`super`], map the
//! error to a `SECURITY_STATUS` inside [`guard`] (panics included). Slots
//! the provider does not offer answer `NTE_NOT_SUPPORTED`.
//!
//! Registration (`DllRegisterServer`, `crpki install ksp`) is
//! [`crate::provider::register`]'s; binding a certificate to the KSP
//! (`crpki certs use --provider ksp`) is `certstore`'s, shared with the
//! CSP.

// One of the files of the crate that may use `unsafe` (see the provider
// module's documentation): the C ABI of the KSP.
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::sync::OnceLock;

use windows_sys::Win32::Foundation::HANDLE;
use windows_sys::Win32::Security::Cryptography::{
    BCRYPT_INTERFACE_VERSION, BCRYPT_PKCS1_PADDING_INFO, BCRYPT_PSS_PADDING_INFO, BCryptBufferDesc,
    NCRYPT_KEY_STORAGE_FUNCTION_TABLE, NCryptAlgorithmName, NCryptKeyName,
};

use super::{KspProvider, Padding};
use crate::provider::error::{Api, ProviderError};
use crate::provider::ffi::{self, handle, raw_handle};
use crate::provider::worker::{DEFAULT_TIMEOUT, Worker};
use crate::provider::{default_source, guard};

/// `NCRYPT_KEY_STORAGE_INTERFACE_VERSION` (1.0), which windows-sys lacks.
pub const NCRYPT_KEY_STORAGE_INTERFACE_VERSION: BCRYPT_INTERFACE_VERSION = BCRYPT_INTERFACE_VERSION {
    MajorVersion: 1,
    MinorVersion: 0,
};

type Status = i32;

#[cfg(not(target_pointer_width = "64"))]
compile_error!("the KSP lays out NCryptKeyName for 64-bit Windows only");

fn provider() -> &'static KspProvider {
    static PROVIDER: OnceLock<KspProvider> = OnceLock::new();
    PROVIDER.get_or_init(|| {
        KspProvider::new(
            default_source(),
            Worker::new(DEFAULT_TIMEOUT, Some(ffi::pin_module)),
        )
    })
}

fn export(name: &'static str, body: impl FnOnce() -> Result<(), ProviderError>) -> Status {
    ffi::to_status(guard(name, Api::Cng, body))
}

/// A wide-string argument as text (`None` for null).
///
/// # Safety
/// `p` is null or a NUL-terminated UTF-16 string.
unsafe fn text(p: *const u16, what: &'static str) -> Result<Option<String>, ProviderError> {
    match unsafe { ffi::wide_string(p) } {
        None => Ok(None),
        Some(units) => super::from_utf16(units, what).map(Some),
    }
}

/// A required wide-string argument.
///
/// # Safety
/// As [`text`].
unsafe fn required_text(p: *const u16, what: &'static str) -> Result<String, ProviderError> {
    unsafe { text(p, what) }?.ok_or(ProviderError::NullPointer(what))
}

/// The padding of `SignHash`/`VerifySignature`, read from the structure
/// the flags name.
///
/// # Safety
/// `info` is null or points to the padding structure the flags name.
unsafe fn padding(info: *const c_void, flags: u32) -> Result<Padding, ProviderError> {
    if !Padding::needs_info(flags) {
        return Padding::parse(flags, None, None);
    }
    if info.is_null() {
        return Err(ProviderError::NullPointer("pPaddingInfo"));
    }
    if flags & super::consts::BCRYPT_PAD_PSS != 0 {
        // SAFETY: BCRYPT_PAD_PSS says `info` is a BCRYPT_PSS_PADDING_INFO.
        let pss = unsafe { info.cast::<BCRYPT_PSS_PADDING_INFO>().read_unaligned() };
        let alg = unsafe { text(pss.pszAlgId, "pszAlgId") }?;
        Padding::parse(flags, alg.as_deref(), Some(pss.cbSalt))
    } else {
        // SAFETY: BCRYPT_PAD_PKCS1 says `info` is a BCRYPT_PKCS1_PADDING_INFO.
        let pkcs1 = unsafe { info.cast::<BCRYPT_PKCS1_PADDING_INFO>().read_unaligned() };
        let alg = unsafe { text(pkcs1.pszAlgId, "pszAlgId") }?;
        Padding::parse(flags, alg.as_deref(), None)
    }
}

/// A slot the provider does not offer: checks the provider handle (a bad
/// one is reported as such), then answers `NTE_NOT_SUPPORTED`. The other
/// arguments are not touched.
macro_rules! unsupported_slot {
    ($name:ident, $export:literal, $why:literal, ($($ty:ty),*)) => {
        unsafe extern "system" fn $name(h_provider: usize, $(_: $ty),*) -> Status {
            export($export, || provider().unsupported(handle(h_provider), $why))
        }
    };
}

unsafe extern "system" fn open_provider(
    ph_provider: *mut usize,
    psz_name: *const u16,
    dw_flags: u32,
) -> Status {
    export("OpenProvider", || {
        ffi::require(ph_provider, "phProvider")?;
        let name = unsafe { text(psz_name, "pszProviderName") }?;
        let h = provider().open_provider(name.as_deref(), dw_flags)?;
        unsafe { ffi::write(ph_provider, raw_handle(h)?, "phProvider") }
    })
}

unsafe extern "system" fn open_key(
    h_provider: usize,
    ph_key: *mut usize,
    psz_key_name: *const u16,
    dw_legacy_key_spec: u32,
    dw_flags: u32,
) -> Status {
    export("OpenKey", || {
        ffi::require(ph_key, "phKey")?;
        let name = unsafe { text(psz_key_name, "pszKeyName") }?;
        let k = provider().open_key(handle(h_provider), name.as_deref(), dw_legacy_key_spec, dw_flags)?;
        unsafe { ffi::write(ph_key, raw_handle(k)?, "phKey") }
    })
}

unsupported_slot!(
    create_persisted_key,
    "CreatePersistedKey",
    "CreatePersistedKey: keys are made by the signing service",
    (*mut usize, *const u16, *const u16, u32, u32)
);

unsafe extern "system" fn get_provider_property(
    h_provider: usize,
    psz_property: *const u16,
    pb_output: *mut u8,
    cb_output: u32,
    pcb_result: *mut u32,
    dw_flags: u32,
) -> Status {
    export("GetProviderProperty", || {
        let property = unsafe { required_text(psz_property, "pszProperty") }?;
        unsafe {
            ffi::with_out_len(pb_output, cb_output, pcb_result, "pcbResult", |out| {
                provider().get_provider_property(handle(h_provider), &property, out, dw_flags)
            })
        }
    })
}

unsafe extern "system" fn get_key_property(
    h_provider: usize,
    h_key: usize,
    psz_property: *const u16,
    pb_output: *mut u8,
    cb_output: u32,
    pcb_result: *mut u32,
    dw_flags: u32,
) -> Status {
    export("GetKeyProperty", || {
        let property = unsafe { required_text(psz_property, "pszProperty") }?;
        unsafe {
            ffi::with_out_len(pb_output, cb_output, pcb_result, "pcbResult", |out| {
                provider().get_key_property(handle(h_provider), handle(h_key), &property, out, dw_flags)
            })
        }
    })
}

unsafe extern "system" fn set_provider_property(
    h_provider: usize,
    psz_property: *const u16,
    pb_input: *const u8,
    cb_input: u32,
    dw_flags: u32,
) -> Status {
    export("SetProviderProperty", || {
        let property = unsafe { required_text(psz_property, "pszProperty") }?;
        let data = unsafe { ffi::in_bytes(pb_input, cb_input, "pbInput") }?;
        provider().set_provider_property(handle(h_provider), &property, data, dw_flags)
    })
}

unsafe extern "system" fn set_key_property(
    h_provider: usize,
    h_key: usize,
    psz_property: *const u16,
    pb_input: *const u8,
    cb_input: u32,
    dw_flags: u32,
) -> Status {
    export("SetKeyProperty", || {
        let property = unsafe { required_text(psz_property, "pszProperty") }?;
        let data = unsafe { ffi::in_bytes(pb_input, cb_input, "pbInput") }?;
        provider().set_key_property(handle(h_provider), handle(h_key), &property, data, dw_flags)
    })
}

unsupported_slot!(
    finalize_key,
    "FinalizeKey",
    "FinalizeKey: keys are made by the signing service",
    (usize, u32)
);

unsafe extern "system" fn delete_key(h_provider: usize, h_key: usize, dw_flags: u32) -> Status {
    export("DeleteKey", || {
        provider().delete_key(handle(h_provider), handle(h_key), dw_flags)
    })
}

unsafe extern "system" fn free_provider(h_provider: usize) -> Status {
    export("FreeProvider", || provider().free_provider(handle(h_provider)))
}

unsafe extern "system" fn free_key(h_provider: usize, h_key: usize) -> Status {
    export("FreeKey", || {
        provider().free_key(handle(h_provider), handle(h_key))
    })
}

unsafe extern "system" fn free_buffer(pv_input: *mut c_void) -> Status {
    export("FreeBuffer", || {
        if pv_input.is_null() {
            return Err(ProviderError::NullPointer("pvInput"));
        }
        provider().free_buffer(pv_input)
    })
}

unsupported_slot!(
    encrypt,
    "Encrypt",
    "Encrypt: a signing-only provider",
    (usize, *const u8, u32, *const c_void, *mut u8, u32, *mut u32, u32)
);

unsupported_slot!(
    decrypt,
    "Decrypt",
    "Decrypt: a signing-only provider",
    (usize, *const u8, u32, *const c_void, *mut u8, u32, *mut u32, u32)
);

unsafe extern "system" fn is_alg_supported(
    h_provider: usize,
    psz_alg_id: *const u16,
    dw_flags: u32,
) -> Status {
    export("IsAlgSupported", || {
        let alg = unsafe { required_text(psz_alg_id, "pszAlgId") }?;
        provider().is_alg_supported(handle(h_provider), &alg, dw_flags)
    })
}

unsafe extern "system" fn enum_algorithms(
    h_provider: usize,
    dw_alg_operations: u32,
    pdw_alg_count: *mut u32,
    pp_alg_list: *mut *mut NCryptAlgorithmName,
    dw_flags: u32,
) -> Status {
    export("EnumAlgorithms", || {
        ffi::require(pdw_alg_count, "pdwAlgCount")?;
        ffi::require(pp_alg_list, "ppAlgList")?;
        let (count, list) = provider().enum_algorithms(handle(h_provider), dw_alg_operations, dw_flags)?;
        unsafe {
            ffi::write(pdw_alg_count, count, "pdwAlgCount")?;
            ffi::write(pp_alg_list, list.cast(), "ppAlgList")
        }
    })
}

unsafe extern "system" fn enum_keys(
    h_provider: usize,
    _psz_scope: *const u16,
    pp_key_name: *mut *mut NCryptKeyName,
    pp_enum_state: *mut *mut c_void,
    dw_flags: u32,
) -> Status {
    export("EnumKeys", || {
        ffi::require(pp_key_name, "ppKeyName")?;
        ffi::require(pp_enum_state, "ppEnumState")?;
        // SAFETY: checked non-null; the caller owns the state pointer.
        let state = unsafe { pp_enum_state.read_unaligned() };
        let step = provider().enum_keys(handle(h_provider), state, dw_flags)?;
        unsafe {
            ffi::write(pp_enum_state, step.state, "ppEnumState")?;
            ffi::write(pp_key_name, step.key_name.cast(), "ppKeyName")
        }
    })
}

unsafe extern "system" fn import_key(
    h_provider: usize,
    h_import_key: usize,
    psz_blob_type: *const u16,
    _p_parameter_list: *const BCryptBufferDesc,
    ph_key: *mut usize,
    pb_data: *const u8,
    cb_data: u32,
    dw_flags: u32,
) -> Status {
    export("ImportKey", || {
        ffi::require(ph_key, "phKey")?;
        let blob_type = unsafe { required_text(psz_blob_type, "pszBlobType") }?;
        let data = unsafe { ffi::in_bytes(pb_data, cb_data, "pbData") }?;
        let k = provider().import_key(handle(h_provider), h_import_key, &blob_type, data, dw_flags)?;
        unsafe { ffi::write(ph_key, raw_handle(k)?, "phKey") }
    })
}

unsafe extern "system" fn export_key(
    h_provider: usize,
    h_key: usize,
    h_export_key: usize,
    psz_blob_type: *const u16,
    _p_parameter_list: *const BCryptBufferDesc,
    pb_output: *mut u8,
    cb_output: u32,
    pcb_result: *mut u32,
    dw_flags: u32,
) -> Status {
    export("ExportKey", || {
        let blob_type = unsafe { required_text(psz_blob_type, "pszBlobType") }?;
        unsafe {
            ffi::with_out_len(pb_output, cb_output, pcb_result, "pcbResult", |out| {
                provider().export_key(
                    handle(h_provider),
                    handle(h_key),
                    h_export_key,
                    &blob_type,
                    out,
                    dw_flags,
                )
            })
        }
    })
}

unsafe extern "system" fn sign_hash(
    h_provider: usize,
    h_key: usize,
    p_padding_info: *const c_void,
    pb_hash_value: *const u8,
    cb_hash_value: u32,
    pb_signature: *mut u8,
    cb_signature: u32,
    pcb_result: *mut u32,
    dw_flags: u32,
) -> Status {
    export("SignHash", || {
        let pad = unsafe { padding(p_padding_info, dw_flags) }?;
        let hash = unsafe { ffi::in_bytes(pb_hash_value, cb_hash_value, "pbHashValue") }?;
        unsafe {
            ffi::with_out_len(pb_signature, cb_signature, pcb_result, "pcbResult", |out| {
                provider().sign_hash(handle(h_provider), handle(h_key), pad, hash, out, dw_flags)
            })
        }
    })
}

unsafe extern "system" fn verify_signature(
    h_provider: usize,
    h_key: usize,
    p_padding_info: *const c_void,
    pb_hash_value: *const u8,
    cb_hash_value: u32,
    pb_signature: *const u8,
    cb_signature: u32,
    dw_flags: u32,
) -> Status {
    export("VerifySignature", || {
        let pad = unsafe { padding(p_padding_info, dw_flags) }?;
        let hash = unsafe { ffi::in_bytes(pb_hash_value, cb_hash_value, "pbHashValue") }?;
        let sig = unsafe { ffi::in_bytes(pb_signature, cb_signature, "pbSignature") }?;
        provider().verify_signature(handle(h_provider), handle(h_key), pad, hash, sig, dw_flags)
    })
}

unsupported_slot!(prompt_user, "PromptUser", "PromptUser", (usize, *const u16, u32));

unsupported_slot!(
    notify_change_key,
    "NotifyChangeKey",
    "NotifyChangeKey",
    (*mut HANDLE, u32)
);

unsupported_slot!(
    secret_agreement,
    "SecretAgreement",
    "SecretAgreement: a signing-only provider",
    (usize, usize, *mut usize, u32)
);

unsupported_slot!(
    derive_key,
    "DeriveKey",
    "DeriveKey",
    (
        usize,
        *const u16,
        *const BCryptBufferDesc,
        *mut u8,
        u32,
        *mut u32,
        u32
    )
);

unsupported_slot!(
    free_secret,
    "FreeSecret",
    "FreeSecret: no secrets are made",
    (usize)
);

unsupported_slot!(
    key_derivation,
    "KeyDerivation",
    "KeyDerivation",
    (usize, *const BCryptBufferDesc, *mut u8, u32, *mut u32, u32)
);

unsupported_slot!(
    create_claim,
    "CreateClaim",
    "CreateClaim",
    (
        usize,
        usize,
        u32,
        *const BCryptBufferDesc,
        *mut u8,
        u32,
        *mut u32,
        u32
    )
);

unsupported_slot!(
    verify_claim,
    "VerifyClaim",
    "VerifyClaim",
    (
        usize,
        usize,
        u32,
        *const BCryptBufferDesc,
        *const u8,
        u32,
        *mut BCryptBufferDesc,
        u32
    )
);

/// The function table, in `ncrypt_provider.h` order; every slot is filled.
static FUNCTION_TABLE: NCRYPT_KEY_STORAGE_FUNCTION_TABLE = NCRYPT_KEY_STORAGE_FUNCTION_TABLE {
    Version: NCRYPT_KEY_STORAGE_INTERFACE_VERSION,
    OpenProvider: Some(open_provider),
    OpenKey: Some(open_key),
    CreatePersistedKey: Some(create_persisted_key),
    GetProviderProperty: Some(get_provider_property),
    GetKeyProperty: Some(get_key_property),
    SetProviderProperty: Some(set_provider_property),
    SetKeyProperty: Some(set_key_property),
    FinalizeKey: Some(finalize_key),
    DeleteKey: Some(delete_key),
    FreeProvider: Some(free_provider),
    FreeKey: Some(free_key),
    FreeBuffer: Some(free_buffer),
    Encrypt: Some(encrypt),
    Decrypt: Some(decrypt),
    IsAlgSupported: Some(is_alg_supported),
    EnumAlgorithms: Some(enum_algorithms),
    EnumKeys: Some(enum_keys),
    ImportKey: Some(import_key),
    ExportKey: Some(export_key),
    SignHash: Some(sign_hash),
    VerifySignature: Some(verify_signature),
    PromptUser: Some(prompt_user),
    NotifyChangeKey: Some(notify_change_key),
    SecretAgreement: Some(secret_agreement),
    DeriveKey: Some(derive_key),
    FreeSecret: Some(free_secret),
    KeyDerivation: Some(key_derivation),
    CreateClaim: Some(create_claim),
    VerifyClaim: Some(verify_claim),
};

/// `GetKeyStorageInterface`: the KSP's one entry point, called by the CNG
/// router (or a test program) to get the function table.
///
/// # Safety
/// `pp_function_table` is null or valid for a pointer write.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn GetKeyStorageInterface(
    psz_provider_name: *const u16,
    pp_function_table: *mut *mut NCRYPT_KEY_STORAGE_FUNCTION_TABLE,
    dw_flags: u32,
) -> Status {
    export("GetKeyStorageInterface", || {
        ffi::require(pp_function_table, "ppFunctionTable")?;
        let _ = (psz_provider_name, dw_flags);
        let table = (&raw const FUNCTION_TABLE).cast_mut();
        unsafe { ffi::write(pp_function_table, table, "ppFunctionTable") }
    })
}
