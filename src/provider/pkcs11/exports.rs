//! The `C_*` exports and the function list: null checks, pointers to
//! slices, a call into [`Module`](super::Module), the code back. A panic is
//! caught, every failure is logged.
//!
//! The caller of every export promises what the PKCS#11 specification
//! promises a library: non-null pointers point to memory valid for the
//! lengths given, for the duration of the call.

// One of the files of the crate that may use `unsafe` (see the provider
// module's documentation).
#![allow(unsafe_code, non_snake_case)]

use std::ffi::c_void;
use std::sync::Arc;

use cryptoki_sys::*;

use super::module::{self, Answer, AttributeValue, InitArgs, Module};
use super::{Rv, rv_name};
use crate::provider::{ErrorLog, catch_panic};

/// Runs an export's body: its code, the failure logged.
fn run(export: &'static str, body: impl FnOnce() -> Result<(), Rv>) -> CK_RV {
    match catch_panic(body, |text| Rv::new(CKR_GENERAL_ERROR, format!("panic: {text}"))) {
        Ok(()) => CKR_OK,
        Err(rv) => {
            if rv.is_logged() {
                ErrorLog::global().failure_named(export, rv.code as u32, rv_name(rv.code), &rv.detail);
            }
            rv.code
        }
    }
}

/// [`run`] with the initialized module.
fn with(export: &'static str, body: impl FnOnce(&Arc<Module>) -> Result<(), Rv>) -> CK_RV {
    run(export, || body(&module::module()?))
}

fn null(name: &str) -> Rv {
    Rv::new(CKR_ARGUMENTS_BAD, format!("{name} is a null pointer"))
}

/// Writes `value` to `p`.
///
/// # Safety
/// A non-null `p` must be valid for writes of a `T`.
unsafe fn put<T>(p: *mut T, value: T, name: &str) -> Result<(), Rv> {
    if p.is_null() {
        return Err(null(name));
    }
    // SAFETY: non-null and writable by the caller's contract.
    unsafe { p.write_unaligned(value) };
    Ok(())
}

/// The input `(p, len)`; null only with length 0.
///
/// # Safety
/// A non-null `p` must be valid for reads of `len` bytes.
unsafe fn input<'a>(p: *const u8, len: CK_ULONG, name: &str) -> Result<&'a [u8], Rv> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(null(name));
    }
    // SAFETY: non-null and valid for `len` bytes by the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(p, len as usize) })
}

/// The list protocol of `C_GetSlotList` and `C_GetMechanismList`: null
/// list, the count; a list too short, `CKR_BUFFER_TOO_SMALL`.
///
/// # Safety
/// `count` must be valid for a read and a write; a non-null `list` for
/// writes of `*count` items.
unsafe fn put_list<T: Copy>(items: &[T], list: *mut T, count: *mut CK_ULONG) -> Result<(), Rv> {
    if count.is_null() {
        return Err(null("pulCount"));
    }
    // SAFETY: non-null by the check, valid by the caller's contract.
    let room = unsafe { count.read_unaligned() } as usize;
    // SAFETY: as above.
    unsafe { count.write_unaligned(items.len() as CK_ULONG) };
    if list.is_null() {
        return Ok(());
    }
    if room < items.len() {
        return Err(Rv::new(CKR_BUFFER_TOO_SMALL, "list too short"));
    }
    for (i, item) in items.iter().enumerate() {
        // SAFETY: `i < room`, the list's length by the caller's contract.
        unsafe { list.add(i).write_unaligned(*item) };
    }
    Ok(())
}

/// The output protocol of `C_Sign` and `C_SignFinal`.
///
/// # Safety
/// `len` must be valid for a read and a write; a non-null `out` for writes
/// of `*len` bytes.
unsafe fn sign_out(
    out: *mut u8,
    len: *mut CK_ULONG,
    answer: impl FnOnce(Option<usize>) -> Result<Answer, Rv>,
) -> Result<(), Rv> {
    if len.is_null() {
        return Err(null("pulSignatureLen"));
    }
    // SAFETY: non-null, valid by the caller's contract.
    let capacity = (!out.is_null()).then(|| unsafe { len.read_unaligned() } as usize);
    match answer(capacity)? {
        // SAFETY (all three): `len` checked above.
        Answer::Length(n) => unsafe { len.write_unaligned(n as CK_ULONG) },
        Answer::TooSmall(n) => {
            unsafe { len.write_unaligned(n as CK_ULONG) };
            return Err(Rv::new(CKR_BUFFER_TOO_SMALL, "signature buffer too small"));
        }
        Answer::Data(d) => {
            // SAFETY: `out` holds `capacity >= d.len()` bytes (checked by
            // the module against the capacity read above).
            unsafe { std::ptr::copy_nonoverlapping(d.as_ptr(), out, d.len()) };
            unsafe { len.write_unaligned(d.len() as CK_ULONG) };
        }
    }
    Ok(())
}

/// `C_Initialize`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_Initialize(p_init_args: *mut c_void) -> CK_RV {
    run("C_Initialize", || {
        let args = if p_init_args.is_null() {
            None
        } else {
            // SAFETY: a non-null argument is a CK_C_INITIALIZE_ARGS.
            let a = unsafe { (p_init_args as *const CK_C_INITIALIZE_ARGS).read_unaligned() };
            if !a.pReserved.is_null() {
                return Err(Rv::new(CKR_ARGUMENTS_BAD, "pReserved is not null"));
            }
            let given = [
                a.CreateMutex.is_some(),
                a.DestroyMutex.is_some(),
                a.LockMutex.is_some(),
                a.UnlockMutex.is_some(),
            ];
            if given.iter().any(|&g| g) && !given.iter().all(|&g| g) {
                return Err(Rv::new(CKR_ARGUMENTS_BAD, "some mutex callbacks but not all"));
            }
            Some(InitArgs {
                mutex_callbacks: given[0],
                os_locking_ok: a.flags & CKF_OS_LOCKING_OK != 0,
                cant_create_threads: a.flags & CKF_LIBRARY_CANT_CREATE_OS_THREADS != 0,
            })
        };
        module::initialize(args)
    })
}

/// `C_Finalize`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_Finalize(p_reserved: *mut c_void) -> CK_RV {
    run("C_Finalize", || {
        if !p_reserved.is_null() {
            return Err(Rv::new(CKR_ARGUMENTS_BAD, "pReserved is not null"));
        }
        module::finalize()
    })
}

/// `C_GetInfo`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetInfo(p_info: *mut CK_INFO) -> CK_RV {
    // SAFETY: `p_info` by the caller's contract.
    with("C_GetInfo", |_| unsafe { put(p_info, Module::info(), "pInfo") })
}

/// `C_GetFunctionList`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetFunctionList(pp: *mut *mut CK_FUNCTION_LIST) -> CK_RV {
    run("C_GetFunctionList", || {
        let list = std::ptr::addr_of!(FUNCTION_LIST).cast_mut();
        // SAFETY: `pp` by the caller's contract; the list is never written
        // through (the specification makes it read-only).
        unsafe { put(pp, list, "ppFunctionList") }
    })
}

/// `C_GetSlotList`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetSlotList(
    token_present: CK_BBOOL,
    list: *mut CK_SLOT_ID,
    count: *mut CK_ULONG,
) -> CK_RV {
    with("C_GetSlotList", |m| {
        let slots = m.slot_list(token_present != CK_FALSE);
        // SAFETY: by the caller's contract.
        unsafe { put_list(&slots, list, count) }
    })
}

/// `C_GetSlotInfo`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetSlotInfo(slot: CK_SLOT_ID, p_info: *mut CK_SLOT_INFO) -> CK_RV {
    // SAFETY: by the caller's contract.
    with("C_GetSlotInfo", |m| unsafe {
        put(p_info, m.slot_info(slot)?, "pInfo")
    })
}

/// `C_GetTokenInfo`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetTokenInfo(slot: CK_SLOT_ID, p_info: *mut CK_TOKEN_INFO) -> CK_RV {
    // SAFETY: by the caller's contract.
    with("C_GetTokenInfo", |m| unsafe {
        put(p_info, m.token_info(slot)?, "pInfo")
    })
}

/// `C_GetMechanismList`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetMechanismList(
    slot: CK_SLOT_ID,
    list: *mut CK_MECHANISM_TYPE,
    count: *mut CK_ULONG,
) -> CK_RV {
    with("C_GetMechanismList", |m| {
        let mechanisms = m.mechanisms(slot)?;
        // SAFETY: by the caller's contract.
        unsafe { put_list(&mechanisms, list, count) }
    })
}

/// `C_GetMechanismInfo`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetMechanismInfo(
    slot: CK_SLOT_ID,
    mechanism: CK_MECHANISM_TYPE,
    p_info: *mut CK_MECHANISM_INFO,
) -> CK_RV {
    with("C_GetMechanismInfo", |m| {
        // SAFETY: by the caller's contract.
        unsafe { put(p_info, m.mechanism_info(slot, mechanism)?, "pInfo") }
    })
}

/// `C_OpenSession` (no notifications are made: `Notify` is never called).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_OpenSession(
    slot: CK_SLOT_ID,
    flags: CK_FLAGS,
    _application: *mut c_void,
    _notify: CK_NOTIFY,
    ph: *mut CK_SESSION_HANDLE,
) -> CK_RV {
    with("C_OpenSession", |m| {
        if ph.is_null() {
            return Err(null("phSession"));
        }
        let h = m.open_session(slot, flags)?;
        // SAFETY: checked above.
        unsafe { put(ph, h, "phSession") }
    })
}

/// `C_CloseSession`.
#[unsafe(no_mangle)]
pub extern "C" fn C_CloseSession(h: CK_SESSION_HANDLE) -> CK_RV {
    with("C_CloseSession", |m| m.close_session(h))
}

/// `C_CloseAllSessions`.
#[unsafe(no_mangle)]
pub extern "C" fn C_CloseAllSessions(slot: CK_SLOT_ID) -> CK_RV {
    with("C_CloseAllSessions", |m| m.close_all_sessions(slot))
}

/// `C_GetSessionInfo`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetSessionInfo(h: CK_SESSION_HANDLE, p_info: *mut CK_SESSION_INFO) -> CK_RV {
    // SAFETY: by the caller's contract.
    with("C_GetSessionInfo", |m| unsafe {
        put(p_info, m.session_info(h)?, "pInfo")
    })
}

/// `C_Login`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_Login(
    h: CK_SESSION_HANDLE,
    user: CK_USER_TYPE,
    pin: *mut CK_UTF8CHAR,
    len: CK_ULONG,
) -> CK_RV {
    with("C_Login", |m| {
        // SAFETY: by the caller's contract.
        let pin = unsafe { input(pin, len, "pPin") }?;
        m.login(h, user, pin)
    })
}

/// `C_Logout`.
#[unsafe(no_mangle)]
pub extern "C" fn C_Logout(h: CK_SESSION_HANDLE) -> CK_RV {
    with("C_Logout", |m| m.logout(h))
}

/// The attribute template `(p, n)`.
///
/// # Safety
/// A non-null `p` must be valid for reads and writes of `n` attributes.
unsafe fn template<'a>(p: *mut CK_ATTRIBUTE, n: CK_ULONG) -> Result<&'a mut [CK_ATTRIBUTE], Rv> {
    if n == 0 {
        return Ok(&mut []);
    }
    if p.is_null() {
        return Err(null("pTemplate"));
    }
    // SAFETY: by the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts_mut(p, n as usize) })
}

/// `C_GetAttributeValue`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetAttributeValue(
    h: CK_SESSION_HANDLE,
    object: CK_OBJECT_HANDLE,
    p_template: *mut CK_ATTRIBUTE,
    count: CK_ULONG,
) -> CK_RV {
    with("C_GetAttributeValue", |m| {
        // SAFETY: by the caller's contract.
        let attrs = unsafe { template(p_template, count) }?;
        let types: Vec<_> = attrs.iter().map(|a| a.type_).collect();
        let mut result = Ok(());
        let mut i = 0;
        m.attributes(h, object, &types, |answer| {
            let a = &mut attrs[i];
            i += 1;
            let failed = match answer {
                AttributeValue::Value(v) if a.pValue.is_null() => {
                    a.ulValueLen = v.len() as CK_ULONG;
                    None
                }
                AttributeValue::Value(v) if (a.ulValueLen as usize) < v.len() => {
                    a.ulValueLen = CK_UNAVAILABLE_INFORMATION;
                    Some(CKR_BUFFER_TOO_SMALL)
                }
                AttributeValue::Value(v) => {
                    // SAFETY: `pValue` holds `ulValueLen >= v.len()` bytes.
                    unsafe { std::ptr::copy_nonoverlapping(v.as_ptr(), a.pValue.cast::<u8>(), v.len()) };
                    a.ulValueLen = v.len() as CK_ULONG;
                    None
                }
                AttributeValue::Invalid => {
                    a.ulValueLen = CK_UNAVAILABLE_INFORMATION;
                    Some(CKR_ATTRIBUTE_TYPE_INVALID)
                }
                AttributeValue::Sensitive => {
                    a.ulValueLen = CK_UNAVAILABLE_INFORMATION;
                    Some(CKR_ATTRIBUTE_SENSITIVE)
                }
            };
            if let (Some(code), Ok(())) = (failed, &result) {
                result = Err(Rv::new(code, format!("attribute {:#x}", a.type_)));
            }
        })?;
        result
    })
}

/// `C_FindObjectsInit`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_FindObjectsInit(
    h: CK_SESSION_HANDLE,
    p_template: *mut CK_ATTRIBUTE,
    count: CK_ULONG,
) -> CK_RV {
    with("C_FindObjectsInit", |m| {
        // SAFETY: by the caller's contract.
        let attrs = unsafe { template(p_template, count) }?;
        let mut wanted = Vec::with_capacity(attrs.len());
        for a in attrs.iter() {
            // SAFETY: `pValue` holds `ulValueLen` bytes.
            let v = unsafe { input(a.pValue.cast::<u8>(), a.ulValueLen, "pValue") }?;
            wanted.push((a.type_, v.to_vec()));
        }
        m.find_init(h, &wanted)
    })
}

/// `C_FindObjects`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_FindObjects(
    h: CK_SESSION_HANDLE,
    ph: *mut CK_OBJECT_HANDLE,
    max: CK_ULONG,
    count: *mut CK_ULONG,
) -> CK_RV {
    with("C_FindObjects", |m| {
        if count.is_null() || (ph.is_null() && max > 0) {
            return Err(null("phObject or pulObjectCount"));
        }
        let found = m.find(h, max as usize)?;
        for (i, o) in found.iter().enumerate() {
            // SAFETY: `i < max`, the array's length by the caller's contract.
            unsafe { ph.add(i).write_unaligned(*o) };
        }
        // SAFETY: checked above.
        unsafe { put(count, found.len() as CK_ULONG, "pulObjectCount") }
    })
}

/// `C_FindObjectsFinal`.
#[unsafe(no_mangle)]
pub extern "C" fn C_FindObjectsFinal(h: CK_SESSION_HANDLE) -> CK_RV {
    with("C_FindObjectsFinal", |m| m.find_final(h))
}

/// The mechanism and its parameter bytes.
///
/// # Safety
/// A non-null `p` must point to a `CK_MECHANISM` whose parameter holds
/// `ulParameterLen` bytes.
unsafe fn mechanism<'a>(p: *const CK_MECHANISM) -> Result<(CK_MECHANISM_TYPE, Option<&'a [u8]>), Rv> {
    if p.is_null() {
        return Err(null("pMechanism"));
    }
    // SAFETY: by the caller's contract.
    let m = unsafe { p.read_unaligned() };
    let param = if m.pParameter.is_null() {
        None
    } else {
        // SAFETY: by the caller's contract.
        Some(unsafe { input(m.pParameter.cast::<u8>(), m.ulParameterLen, "pParameter") }?)
    };
    Ok((m.mechanism, param))
}

/// `C_SignInit`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_SignInit(
    h: CK_SESSION_HANDLE,
    p_mechanism: *mut CK_MECHANISM,
    key: CK_OBJECT_HANDLE,
) -> CK_RV {
    with("C_SignInit", |m| {
        // SAFETY: by the caller's contract.
        let (mech, param) = unsafe { mechanism(p_mechanism) }?;
        m.operation_init(h, mech, param, key, false)
    })
}

/// `C_Sign`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_Sign(
    h: CK_SESSION_HANDLE,
    data: *mut CK_BYTE,
    data_len: CK_ULONG,
    signature: *mut CK_BYTE,
    signature_len: *mut CK_ULONG,
) -> CK_RV {
    with("C_Sign", |m| {
        // SAFETY: by the caller's contract.
        let data = unsafe { input(data, data_len, "pData") }?;
        // SAFETY: by the caller's contract.
        unsafe { sign_out(signature, signature_len, |cap| m.sign(h, Some(data), cap)) }
    })
}

/// `C_SignUpdate`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_SignUpdate(h: CK_SESSION_HANDLE, part: *mut CK_BYTE, len: CK_ULONG) -> CK_RV {
    with("C_SignUpdate", |m| {
        // SAFETY: by the caller's contract.
        let part = unsafe { input(part, len, "pPart") }?;
        m.update(h, part, false)
    })
}

/// `C_SignFinal`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_SignFinal(
    h: CK_SESSION_HANDLE,
    signature: *mut CK_BYTE,
    signature_len: *mut CK_ULONG,
) -> CK_RV {
    // SAFETY: by the caller's contract.
    with("C_SignFinal", |m| unsafe {
        sign_out(signature, signature_len, |cap| m.sign(h, None, cap))
    })
}

/// `C_VerifyInit`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_VerifyInit(
    h: CK_SESSION_HANDLE,
    p_mechanism: *mut CK_MECHANISM,
    key: CK_OBJECT_HANDLE,
) -> CK_RV {
    with("C_VerifyInit", |m| {
        // SAFETY: by the caller's contract.
        let (mech, param) = unsafe { mechanism(p_mechanism) }?;
        m.operation_init(h, mech, param, key, true)
    })
}

/// `C_Verify`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_Verify(
    h: CK_SESSION_HANDLE,
    data: *mut CK_BYTE,
    data_len: CK_ULONG,
    signature: *mut CK_BYTE,
    signature_len: CK_ULONG,
) -> CK_RV {
    with("C_Verify", |m| {
        // SAFETY: by the caller's contract.
        let data = unsafe { input(data, data_len, "pData") }?;
        // SAFETY: by the caller's contract.
        let signature = unsafe { input(signature, signature_len, "pSignature") }?;
        m.verify(h, Some(data), signature)
    })
}

/// `C_VerifyUpdate`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_VerifyUpdate(h: CK_SESSION_HANDLE, part: *mut CK_BYTE, len: CK_ULONG) -> CK_RV {
    with("C_VerifyUpdate", |m| {
        // SAFETY: by the caller's contract.
        let part = unsafe { input(part, len, "pPart") }?;
        m.update(h, part, true)
    })
}

/// `C_VerifyFinal`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_VerifyFinal(
    h: CK_SESSION_HANDLE,
    signature: *mut CK_BYTE,
    len: CK_ULONG,
) -> CK_RV {
    with("C_VerifyFinal", |m| {
        // SAFETY: by the caller's contract.
        let signature = unsafe { input(signature, len, "pSignature") }?;
        m.verify(h, None, signature)
    })
}

/// `C_GetFunctionStatus`, `C_CancelFunction`: legacy, no parallel functions.
extern "C" fn not_parallel(_h: CK_SESSION_HANDLE) -> CK_RV {
    CKR_FUNCTION_NOT_PARALLEL
}

/// The functions that do not apply: `CKR_FUNCTION_NOT_SUPPORTED`.
macro_rules! not_supported {
    ($($name:ident($($ty:ty),*);)*) => {
        $(
            unsafe extern "C" fn $name($(_: $ty),*) -> CK_RV {
                CKR_FUNCTION_NOT_SUPPORTED
            }
        )*
    };
}

mod unsupported {
    use std::ffi::c_void;

    use cryptoki_sys::*;

    not_supported! {
        C_InitToken(CK_SLOT_ID, *mut CK_UTF8CHAR, CK_ULONG, *mut CK_UTF8CHAR);
        C_InitPIN(CK_SESSION_HANDLE, *mut CK_UTF8CHAR, CK_ULONG);
        C_SetPIN(CK_SESSION_HANDLE, *mut CK_UTF8CHAR, CK_ULONG, *mut CK_UTF8CHAR, CK_ULONG);
        C_GetOperationState(CK_SESSION_HANDLE, *mut CK_BYTE, *mut CK_ULONG);
        C_SetOperationState(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, CK_OBJECT_HANDLE, CK_OBJECT_HANDLE);
        C_CreateObject(CK_SESSION_HANDLE, *mut CK_ATTRIBUTE, CK_ULONG, *mut CK_OBJECT_HANDLE);
        C_CopyObject(CK_SESSION_HANDLE, CK_OBJECT_HANDLE, *mut CK_ATTRIBUTE, CK_ULONG, *mut CK_OBJECT_HANDLE);
        C_DestroyObject(CK_SESSION_HANDLE, CK_OBJECT_HANDLE);
        C_GetObjectSize(CK_SESSION_HANDLE, CK_OBJECT_HANDLE, *mut CK_ULONG);
        C_SetAttributeValue(CK_SESSION_HANDLE, CK_OBJECT_HANDLE, *mut CK_ATTRIBUTE, CK_ULONG);
        C_EncryptInit(CK_SESSION_HANDLE, *mut CK_MECHANISM, CK_OBJECT_HANDLE);
        C_Encrypt(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG);
        C_EncryptUpdate(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG);
        C_EncryptFinal(CK_SESSION_HANDLE, *mut CK_BYTE, *mut CK_ULONG);
        C_DecryptInit(CK_SESSION_HANDLE, *mut CK_MECHANISM, CK_OBJECT_HANDLE);
        C_Decrypt(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG);
        C_DecryptUpdate(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG);
        C_DecryptFinal(CK_SESSION_HANDLE, *mut CK_BYTE, *mut CK_ULONG);
        C_DigestInit(CK_SESSION_HANDLE, *mut CK_MECHANISM);
        C_Digest(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG);
        C_DigestUpdate(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG);
        C_DigestKey(CK_SESSION_HANDLE, CK_OBJECT_HANDLE);
        C_DigestFinal(CK_SESSION_HANDLE, *mut CK_BYTE, *mut CK_ULONG);
        C_SignRecoverInit(CK_SESSION_HANDLE, *mut CK_MECHANISM, CK_OBJECT_HANDLE);
        C_SignRecover(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG);
        C_VerifyRecoverInit(CK_SESSION_HANDLE, *mut CK_MECHANISM, CK_OBJECT_HANDLE);
        C_VerifyRecover(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG);
        C_DigestEncryptUpdate(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG);
        C_DecryptDigestUpdate(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG);
        C_SignEncryptUpdate(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG);
        C_DecryptVerifyUpdate(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG, *mut CK_BYTE, *mut CK_ULONG);
        C_GenerateKey(CK_SESSION_HANDLE, *mut CK_MECHANISM, *mut CK_ATTRIBUTE, CK_ULONG, *mut CK_OBJECT_HANDLE);
        C_GenerateKeyPair(CK_SESSION_HANDLE, *mut CK_MECHANISM, *mut CK_ATTRIBUTE, CK_ULONG, *mut CK_ATTRIBUTE, CK_ULONG, *mut CK_OBJECT_HANDLE, *mut CK_OBJECT_HANDLE);
        C_WrapKey(CK_SESSION_HANDLE, *mut CK_MECHANISM, CK_OBJECT_HANDLE, CK_OBJECT_HANDLE, *mut CK_BYTE, *mut CK_ULONG);
        C_UnwrapKey(CK_SESSION_HANDLE, *mut CK_MECHANISM, CK_OBJECT_HANDLE, *mut CK_BYTE, CK_ULONG, *mut CK_ATTRIBUTE, CK_ULONG, *mut CK_OBJECT_HANDLE);
        C_DeriveKey(CK_SESSION_HANDLE, *mut CK_MECHANISM, CK_OBJECT_HANDLE, *mut CK_ATTRIBUTE, CK_ULONG, *mut CK_OBJECT_HANDLE);
        C_SeedRandom(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG);
        C_GenerateRandom(CK_SESSION_HANDLE, *mut CK_BYTE, CK_ULONG);
        C_WaitForSlotEvent(CK_FLAGS, *mut CK_SLOT_ID, *mut c_void);
    }

    pub(super) const TABLE: CK_FUNCTION_LIST = CK_FUNCTION_LIST {
        version: CK_VERSION { major: 2, minor: 40 },
        C_Initialize: Some(super::C_Initialize),
        C_Finalize: Some(super::C_Finalize),
        C_GetInfo: Some(super::C_GetInfo),
        C_GetFunctionList: Some(super::C_GetFunctionList),
        C_GetSlotList: Some(super::C_GetSlotList),
        C_GetSlotInfo: Some(super::C_GetSlotInfo),
        C_GetTokenInfo: Some(super::C_GetTokenInfo),
        C_GetMechanismList: Some(super::C_GetMechanismList),
        C_GetMechanismInfo: Some(super::C_GetMechanismInfo),
        C_InitToken: Some(C_InitToken),
        C_InitPIN: Some(C_InitPIN),
        C_SetPIN: Some(C_SetPIN),
        C_OpenSession: Some(super::C_OpenSession),
        C_CloseSession: Some(super::C_CloseSession),
        C_CloseAllSessions: Some(super::C_CloseAllSessions),
        C_GetSessionInfo: Some(super::C_GetSessionInfo),
        C_GetOperationState: Some(C_GetOperationState),
        C_SetOperationState: Some(C_SetOperationState),
        C_Login: Some(super::C_Login),
        C_Logout: Some(super::C_Logout),
        C_CreateObject: Some(C_CreateObject),
        C_CopyObject: Some(C_CopyObject),
        C_DestroyObject: Some(C_DestroyObject),
        C_GetObjectSize: Some(C_GetObjectSize),
        C_GetAttributeValue: Some(super::C_GetAttributeValue),
        C_SetAttributeValue: Some(C_SetAttributeValue),
        C_FindObjectsInit: Some(super::C_FindObjectsInit),
        C_FindObjects: Some(super::C_FindObjects),
        C_FindObjectsFinal: Some(super::C_FindObjectsFinal),
        C_EncryptInit: Some(C_EncryptInit),
        C_Encrypt: Some(C_Encrypt),
        C_EncryptUpdate: Some(C_EncryptUpdate),
        C_EncryptFinal: Some(C_EncryptFinal),
        C_DecryptInit: Some(C_DecryptInit),
        C_Decrypt: Some(C_Decrypt),
        C_DecryptUpdate: Some(C_DecryptUpdate),
        C_DecryptFinal: Some(C_DecryptFinal),
        C_DigestInit: Some(C_DigestInit),
        C_Digest: Some(C_Digest),
        C_DigestUpdate: Some(C_DigestUpdate),
        C_DigestKey: Some(C_DigestKey),
        C_DigestFinal: Some(C_DigestFinal),
        C_SignInit: Some(super::C_SignInit),
        C_Sign: Some(super::C_Sign),
        C_SignUpdate: Some(super::C_SignUpdate),
        C_SignFinal: Some(super::C_SignFinal),
        C_SignRecoverInit: Some(C_SignRecoverInit),
        C_SignRecover: Some(C_SignRecover),
        C_VerifyInit: Some(super::C_VerifyInit),
        C_Verify: Some(super::C_Verify),
        C_VerifyUpdate: Some(super::C_VerifyUpdate),
        C_VerifyFinal: Some(super::C_VerifyFinal),
        C_VerifyRecoverInit: Some(C_VerifyRecoverInit),
        C_VerifyRecover: Some(C_VerifyRecover),
        C_DigestEncryptUpdate: Some(C_DigestEncryptUpdate),
        C_DecryptDigestUpdate: Some(C_DecryptDigestUpdate),
        C_SignEncryptUpdate: Some(C_SignEncryptUpdate),
        C_DecryptVerifyUpdate: Some(C_DecryptVerifyUpdate),
        C_GenerateKey: Some(C_GenerateKey),
        C_GenerateKeyPair: Some(C_GenerateKeyPair),
        C_WrapKey: Some(C_WrapKey),
        C_UnwrapKey: Some(C_UnwrapKey),
        C_DeriveKey: Some(C_DeriveKey),
        C_SeedRandom: Some(C_SeedRandom),
        C_GenerateRandom: Some(C_GenerateRandom),
        C_GetFunctionStatus: Some(super::not_parallel),
        C_CancelFunction: Some(super::not_parallel),
        C_WaitForSlotEvent: Some(C_WaitForSlotEvent),
    };
}

/// The v2.40 function table.
static FUNCTION_LIST: CK_FUNCTION_LIST = unsupported::TABLE;

/// The one interface: "PKCS 11" version 2.40, the table above.
struct Interface(CK_INTERFACE);

// SAFETY: the pointers lead to static, never-written data.
unsafe impl Sync for Interface {}

static INTERFACE_NAME: &[u8] = b"PKCS 11\0";

static INTERFACE: Interface = Interface(CK_INTERFACE {
    pInterfaceName: INTERFACE_NAME.as_ptr().cast_mut(),
    pFunctionList: std::ptr::addr_of!(FUNCTION_LIST).cast_mut().cast::<c_void>(),
    flags: 0,
});

/// `C_GetInterfaceList` (PKCS#11 3.0): the one v2.40 interface.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetInterfaceList(list: *mut CK_INTERFACE, count: *mut CK_ULONG) -> CK_RV {
    run("C_GetInterfaceList", || {
        let one = [CK_INTERFACE { ..INTERFACE.0 }];
        // SAFETY: by the caller's contract.
        unsafe { put_list(&one, list, count) }
    })
}

/// `C_GetInterface` (PKCS#11 3.0): "PKCS 11" (or any name: null), version
/// 2.40 (or null).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn C_GetInterface(
    name: *mut CK_UTF8CHAR,
    version: *mut CK_VERSION,
    pp: *mut *mut CK_INTERFACE,
    _flags: CK_FLAGS,
) -> CK_RV {
    run("C_GetInterface", || {
        if !name.is_null() {
            // SAFETY: a non-null name is NUL-terminated.
            let n = unsafe { std::ffi::CStr::from_ptr(name.cast()) };
            if n.to_bytes() != b"PKCS 11" {
                // Consumers probe for vendor interfaces (NSS does): not a failure to log.
                return Err(Rv::quiet(CKR_ARGUMENTS_BAD));
            }
        }
        if !version.is_null() {
            // SAFETY: by the caller's contract.
            let v = unsafe { version.read_unaligned() };
            if (v.major, v.minor) != (2, 40) {
                return Err(Rv::new(CKR_ARGUMENTS_BAD, "only version 2.40 is offered"));
            }
        }
        // SAFETY: by the caller's contract.
        unsafe { put(pp, std::ptr::addr_of!(INTERFACE.0).cast_mut(), "ppInterface") }
    })
}
