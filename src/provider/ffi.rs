//! The small unsafe layer between C pointers and the safe provider code.
//!
//! Each helper turns one kind of raw argument into a safe value, checking
//! for null first, so that the exports stay one line per argument. The
//! pointer helpers compile on every platform and are tested here; the
//! Windows-only part sets the thread's last error and pins the DLL.
//!
//! The caller of every `unsafe fn` here promises what the Windows API
//! promises the provider: a non-null pointer points to memory valid for
//! the declared length, for the duration of the call.

// One of the two files of the crate that may use `unsafe` (see the
// provider module's documentation).
#![allow(unsafe_code)]

use std::ffi::{CStr, c_char};

use super::Out;
use super::error::ProviderError;
use super::handle::Handle;

/// A handle received from the caller (`HCRYPTPROV`, … are pointer-sized).
pub fn handle(raw: usize) -> Handle {
    Handle::from_raw(raw as u64)
}

/// A handle to give to the caller.
pub fn raw_handle(h: Handle) -> Result<usize, ProviderError> {
    usize::try_from(h.raw()).map_err(|_| ProviderError::Internal("handle does not fit a pointer".into()))
}

/// The input buffer `(p, len)`; null is accepted only with length 0.
///
/// # Safety
/// A non-null `p` must be valid for reads of `len` bytes during the call.
pub unsafe fn in_bytes<'a>(p: *const u8, len: u32, name: &'static str) -> Result<&'a [u8], ProviderError> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(ProviderError::NullPointer(name));
    }
    // SAFETY: non-null and valid for `len` bytes by the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(p, len as usize) })
}

/// The output buffer `(p, len)` that must be filled completely (random
/// bytes); null is accepted only with length 0.
///
/// # Safety
/// A non-null `p` must be valid for writes of `len` bytes during the call.
pub unsafe fn out_bytes<'a>(p: *mut u8, len: u32, name: &'static str) -> Result<&'a mut [u8], ProviderError> {
    if len == 0 {
        return Ok(&mut []);
    }
    if p.is_null() {
        return Err(ProviderError::NullPointer(name));
    }
    // SAFETY: non-null and valid for `len` bytes by the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts_mut(p, len as usize) })
}

/// The bytes of a NUL-terminated ANSI string, without the NUL; `None` for
/// null.
///
/// # Safety
/// A non-null `p` must point to a NUL-terminated string.
pub unsafe fn c_string<'a>(p: *const c_char) -> Option<&'a [u8]> {
    if p.is_null() {
        return None;
    }
    // SAFETY: non-null and NUL-terminated by the caller's contract.
    Some(unsafe { CStr::from_ptr(p) }.to_bytes())
}

/// The UTF-16 units of a NUL-terminated wide string, without the NUL;
/// `None` for null. Strings longer than 32 767 units are cut there.
///
/// # Safety
/// A non-null `p` must point to a NUL-terminated UTF-16 string.
pub unsafe fn wide_string<'a>(p: *const u16) -> Option<&'a [u16]> {
    if p.is_null() {
        return None;
    }
    let mut len = 0usize;
    // SAFETY: the string is NUL-terminated by the caller's contract, so
    // every unit up to the NUL is readable.
    while len < 32_767 && unsafe { p.add(len).read_unaligned() } != 0 {
        len += 1;
    }
    // SAFETY: the `len` units just read are valid.
    Some(unsafe { std::slice::from_raw_parts(p, len) })
}

/// Runs the CNG size protocol over `(pb, cb, pcb)` (`pbOutput`,
/// `cbOutput`, `pcbResult`): as [`with_out`], with the buffer's length
/// given by value.
///
/// # Safety
/// A non-null `pcb` must be valid for writes of a `u32`; a non-null `pb`
/// must be valid for writes of `cb` bytes.
pub unsafe fn with_out_len(
    pb: *mut u8,
    cb: u32,
    pcb: *mut u32,
    len_name: &'static str,
    body: impl FnOnce(Out<'_>) -> Result<usize, ProviderError>,
) -> Result<(), ProviderError> {
    require(pcb, len_name)?;
    // SAFETY: non-null and writable by the caller's contract.
    unsafe { pcb.write_unaligned(cb) };
    // SAFETY: `pcb` now holds `pb`'s length, as `with_out` expects.
    unsafe { with_out(pb, pcb, len_name, body) }
}

/// `s` as a NUL-terminated UTF-16 string, for Windows calls.
pub fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

/// Stores `value` through the out-pointer `p`.
///
/// # Safety
/// A non-null `p` must be valid for a write of `T`.
pub unsafe fn write<T>(p: *mut T, value: T, name: &'static str) -> Result<(), ProviderError> {
    require(p, name)?;
    // SAFETY: non-null and writable by the caller's contract; `T` is a
    // plain integer in every use, so nothing is dropped.
    unsafe { p.write_unaligned(value) };
    Ok(())
}

/// Checks that the out-pointer `p` is not null before any work is done.
pub fn require<T>(p: *mut T, name: &'static str) -> Result<(), ProviderError> {
    if p.is_null() {
        return Err(ProviderError::NullPointer(name));
    }
    Ok(())
}

/// Runs the size protocol over `(pb, pcb)`: `body` receives [`Out::Size`]
/// for a null `pb`, else the buffer of `*pcb` bytes; on return `*pcb` holds
/// the length written or needed (also when the buffer was too small).
///
/// # Safety
/// A non-null `pcb` must be valid for reads and writes of a `u32`; a
/// non-null `pb` must be valid for writes of `*pcb` bytes.
pub unsafe fn with_out(
    pb: *mut u8,
    pcb: *mut u32,
    len_name: &'static str,
    body: impl FnOnce(Out<'_>) -> Result<usize, ProviderError>,
) -> Result<(), ProviderError> {
    require(pcb, len_name)?;
    // SAFETY: non-null and valid by the caller's contract.
    let declared = unsafe { pcb.read_unaligned() };
    let out = if pb.is_null() {
        Out::Size
    } else {
        // SAFETY: non-null and valid for `declared` bytes by the contract.
        Out::Buf(unsafe { std::slice::from_raw_parts_mut(pb, declared as usize) })
    };
    let (result, len) = match body(out) {
        Ok(n) => (Ok(()), n),
        Err(ProviderError::MoreData { needed }) => (Err(ProviderError::MoreData { needed }), needed),
        Err(e) => return Err(e),
    };
    let len = u32::try_from(len).map_err(|_| ProviderError::Internal("answer longer than 4 GiB".into()))?;
    // SAFETY: as above.
    unsafe { pcb.write_unaligned(len) };
    result
}

/// Turns a guarded result into a CryptoAPI `BOOL`, setting the thread's
/// last error on failure.
pub fn to_bool(result: Result<(), u32>) -> i32 {
    match result {
        Ok(()) => 1,
        Err(code) => {
            set_last_error(code);
            0
        }
    }
}

/// Turns a guarded result into a CNG `SECURITY_STATUS`.
pub fn to_status(result: Result<(), u32>) -> i32 {
    match result {
        Ok(()) => 0,
        Err(code) => code as i32,
    }
}

/// Sets the calling thread's last error (Windows; a no-op elsewhere).
pub fn set_last_error(code: u32) {
    #[cfg(windows)]
    // SAFETY: SetLastError has no preconditions.
    unsafe {
        windows_sys::Win32::Foundation::SetLastError(code)
    };
    #[cfg(not(windows))]
    let _ = code;
}

/// Keeps this DLL loaded until the process ends. The worker thread runs
/// code from it between calls, and hosts (Wine's advapi32 on the last
/// `CryptReleaseContext`) unload providers. A no-op elsewhere.
pub fn pin_module() {
    #[cfg(windows)]
    {
        use windows_sys::Win32::System::LibraryLoader::{
            GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS, GET_MODULE_HANDLE_EX_FLAG_PIN, GetModuleHandleExW,
        };
        let mut module = std::ptr::null_mut();
        let anchor = pin_module as *const () as *const u16;
        // SAFETY: `anchor` is an address inside this module, `module` a
        // valid out-pointer. Failure only means the DLL stays unpinned.
        unsafe {
            GetModuleHandleExW(
                GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_PIN,
                anchor,
                &mut module,
            )
        };
    }
}

/// The full path of this DLL, as UTF-16 without the NUL (Windows only).
#[cfg(windows)]
pub fn module_path() -> Option<Vec<u16>> {
    use windows_sys::Win32::System::LibraryLoader::{
        GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS, GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
        GetModuleFileNameW, GetModuleHandleExW,
    };
    let mut module = std::ptr::null_mut();
    let anchor = module_path as *const () as *const u16;
    // SAFETY: as in `pin_module`, without touching the reference count.
    let ok = unsafe {
        GetModuleHandleExW(
            GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
            anchor,
            &mut module,
        )
    };
    if ok == 0 {
        return None;
    }
    let mut buf = vec![0u16; 1024];
    loop {
        // SAFETY: `buf` is writable for its length.
        let n = unsafe { GetModuleFileNameW(module, buf.as_mut_ptr(), buf.len() as u32) } as usize;
        if n == 0 {
            return None;
        }
        if n < buf.len() {
            buf.truncate(n);
            return Some(buf);
        }
        if buf.len() >= 32 * 1024 {
            return None;
        }
        buf.resize(buf.len() * 2, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_protocol() {
        let answer = |out: Out<'_>| out.put(b"hello\0");
        // Size query: null buffer.
        let mut len = 0u32;
        unsafe { with_out(std::ptr::null_mut(), &mut len, "pdwDataLen", answer) }.unwrap();
        assert_eq!(len, 6);
        // Too small: ERROR_MORE_DATA and the size, buffer untouched.
        let mut buf = [0xAAu8; 4];
        let mut len = 4u32;
        let e = unsafe { with_out(buf.as_mut_ptr(), &mut len, "pdwDataLen", answer) }.unwrap_err();
        assert!(matches!(e, ProviderError::MoreData { needed: 6 }));
        assert_eq!(len, 6);
        assert_eq!(buf, [0xAA; 4]);
        // Large enough: the data and its length.
        let mut buf = [0u8; 10];
        let mut len = 10u32;
        unsafe { with_out(buf.as_mut_ptr(), &mut len, "pdwDataLen", answer) }.unwrap();
        assert_eq!((len, &buf[..6]), (6, &b"hello\0"[..]));
        // Null length pointer.
        let e =
            unsafe { with_out(buf.as_mut_ptr(), std::ptr::null_mut(), "pdwDataLen", answer) }.unwrap_err();
        assert!(matches!(e, ProviderError::NullPointer("pdwDataLen")));
        // Other errors leave the length alone.
        let mut len = 10u32;
        let e = unsafe {
            with_out(buf.as_mut_ptr(), &mut len, "pdwDataLen", |_| {
                Err(ProviderError::HashFinished)
            })
        }
        .unwrap_err();
        assert!(matches!(e, ProviderError::HashFinished));
        assert_eq!(len, 10);
    }

    #[test]
    fn pointers() {
        let data = [1u8, 2, 3];
        assert_eq!(unsafe { in_bytes(data.as_ptr(), 3, "pbData") }.unwrap(), &data);
        assert!(
            unsafe { in_bytes(std::ptr::null(), 0, "pbData") }
                .unwrap()
                .is_empty()
        );
        assert!(matches!(
            unsafe { in_bytes(std::ptr::null(), 1, "pbData") },
            Err(ProviderError::NullPointer("pbData"))
        ));
        assert!(matches!(
            unsafe { out_bytes(std::ptr::null_mut(), 8, "pbBuffer") },
            Err(ProviderError::NullPointer("pbBuffer"))
        ));
        let mut buf = [0u8; 2];
        unsafe { out_bytes(buf.as_mut_ptr(), 2, "pbBuffer") }
            .unwrap()
            .copy_from_slice(&[7, 8]);
        assert_eq!(buf, [7, 8]);
        let name = c"container";
        assert_eq!(unsafe { c_string(name.as_ptr()) }, Some(&b"container"[..]));
        assert_eq!(unsafe { c_string(std::ptr::null()) }, None);
        let mut h = 0usize;
        unsafe { write(&mut h, 42usize, "phKey") }.unwrap();
        assert_eq!(h, 42);
        assert!(matches!(
            unsafe { write(std::ptr::null_mut::<usize>(), 1, "phKey") },
            Err(ProviderError::NullPointer("phKey"))
        ));
        assert!(require(std::ptr::null_mut::<usize>(), "phProv").is_err());
        assert_eq!(to_bool(Ok(())), 1);
        assert_eq!(to_bool(Err(5)), 0);
        assert_eq!(to_status(Ok(())), 0);
        assert_eq!(to_status(Err(0x8009_0029)), 0x8009_0029u32 as i32);
        let w: Vec<u16> = "Name\0".encode_utf16().collect();
        assert_eq!(unsafe { wide_string(w.as_ptr()) }, Some(&w[..4]));
        assert_eq!(unsafe { wide_string(std::ptr::null()) }, None);
        let mut buf = [0u8; 2];
        let mut len = 0u32;
        let e = unsafe { with_out_len(buf.as_mut_ptr(), 2, &mut len, "pcbResult", |o| o.put(b"abc")) };
        assert!(matches!(e, Err(ProviderError::MoreData { needed: 3 })));
        assert_eq!(len, 3);
        unsafe { with_out_len(std::ptr::null_mut(), 0, &mut len, "pcbResult", |o| o.put(b"abcd")) }.unwrap();
        assert_eq!(len, 4);
        let hd = handle(0x1234);
        assert_eq!(raw_handle(hd).unwrap(), 0x1234);
    }
}
