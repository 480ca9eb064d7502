//! Token files at rest on Windows: their content sealed with DPAPI
//! (`CryptProtectData`, the current user's scope, never a UI), so that the
//! file is readable by the Windows user who wrote it alone, whatever its
//! ACL became (copied, backed up, a shared profile directory).
//!
//! The crate's FFI rule: this file is the `unsafe` for it, crypt32 calls
//! and nothing else; everything else goes through [`protect`] and
//! [`unprotect`].
#![allow(unsafe_code)]

use windows_sys::Win32::Foundation::LocalFree;
use windows_sys::Win32::Security::Cryptography::{
    CRYPT_INTEGER_BLOB, CRYPTPROTECT_UI_FORBIDDEN, CryptProtectData, CryptUnprotectData,
};

use crate::error::{Error, Result};

/// What `CryptProtectData` records as the blob's description.
const DESCRIPTION: &str = "crpki tokens";

fn blob(data: &[u8]) -> Result<CRYPT_INTEGER_BLOB> {
    Ok(CRYPT_INTEGER_BLOB {
        cbData: u32::try_from(data.len()).map_err(|_| Error::invalid_argument("token file too large"))?,
        pbData: data.as_ptr().cast_mut(),
    })
}

/// Copies out and frees a blob crypt32 allocated (with `LocalAlloc`).
///
/// # Safety
/// `out` was filled by a successful crypt32 call.
unsafe fn take(out: CRYPT_INTEGER_BLOB) -> zeroize::Zeroizing<Vec<u8>> {
    // SAFETY: crypt32 gave `cbData` bytes at `pbData`.
    let bytes = unsafe { std::slice::from_raw_parts(out.pbData, out.cbData as usize) }.to_vec();
    // SAFETY: the plaintext is wiped before the memory goes back.
    unsafe { std::ptr::write_bytes(out.pbData, 0, out.cbData as usize) };
    // SAFETY: allocated by crypt32 with LocalAlloc, freed once.
    unsafe { LocalFree(out.pbData.cast()) };
    zeroize::Zeroizing::new(bytes)
}

/// Seals `plain` for the current Windows user.
pub fn protect(plain: &[u8]) -> Result<Vec<u8>> {
    let input = blob(plain)?;
    let description: Vec<u16> = DESCRIPTION.encode_utf16().chain(std::iter::once(0)).collect();
    let mut out = CRYPT_INTEGER_BLOB {
        cbData: 0,
        pbData: std::ptr::null_mut(),
    };
    // SAFETY: valid input blob and description; no entropy, prompt or reserved data.
    let ok = unsafe {
        CryptProtectData(
            &input,
            description.as_ptr(),
            std::ptr::null(),
            std::ptr::null(),
            std::ptr::null(),
            CRYPTPROTECT_UI_FORBIDDEN,
            &mut out,
        )
    };
    if ok == 0 {
        return Err(Error::io(
            "protecting the tokens with DPAPI (CryptProtectData)",
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: filled by the successful call.
    Ok(unsafe { take(out) }.to_vec())
}

/// Opens a blob [`protect`] sealed; fails for another user's (or another
/// machine's) blob.
pub fn unprotect(sealed: &[u8], file: &std::path::Path) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    let input = blob(sealed)?;
    let mut out = CRYPT_INTEGER_BLOB {
        cbData: 0,
        pbData: std::ptr::null_mut(),
    };
    // SAFETY: valid input blob; the description is not wanted; no entropy or prompt.
    let ok = unsafe {
        CryptUnprotectData(
            &input,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
            std::ptr::null(),
            CRYPTPROTECT_UI_FORBIDDEN,
            &mut out,
        )
    };
    if ok == 0 {
        return Err(Error::Config {
            detail: format!(
                "token file {} cannot be opened by this Windows user (DPAPI: {}); log in again",
                file.display(),
                std::io::Error::last_os_error()
            ),
        });
    }
    // SAFETY: filled by the successful call.
    Ok(unsafe { take(out) })
}
