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

/// Runs one crypt32 call from `input` to a blob it allocates, and takes
/// that blob; `None` when the call fails (the reason is the last OS error).
fn transform(
    input: &[u8],
    call: impl FnOnce(&CRYPT_INTEGER_BLOB, &mut CRYPT_INTEGER_BLOB) -> i32,
) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>> {
    let input = CRYPT_INTEGER_BLOB {
        cbData: u32::try_from(input.len()).map_err(|_| Error::invalid_argument("token file too large"))?,
        pbData: input.as_ptr().cast_mut(),
    };
    let mut out = CRYPT_INTEGER_BLOB {
        cbData: 0,
        pbData: std::ptr::null_mut(),
    };
    if call(&input, &mut out) == 0 {
        return Ok(None);
    }
    // SAFETY: crypt32 gave `cbData` bytes at `pbData`, allocated with LocalAlloc.
    let bytes = unsafe { std::slice::from_raw_parts(out.pbData, out.cbData as usize) }.to_vec();
    // SAFETY: as above; wiped (it may be the plaintext) and freed once.
    unsafe {
        std::ptr::write_bytes(out.pbData, 0, out.cbData as usize);
        LocalFree(out.pbData.cast());
    }
    Ok(Some(zeroize::Zeroizing::new(bytes)))
}

/// Seals `plain` for the current Windows user.
pub fn protect(plain: &[u8]) -> Result<Vec<u8>> {
    let description: Vec<u16> = DESCRIPTION.encode_utf16().chain(std::iter::once(0)).collect();
    let sealed = transform(plain, |input, out| {
        // SAFETY: valid blobs and description; no entropy, prompt or reserved data.
        unsafe {
            CryptProtectData(
                input,
                description.as_ptr(),
                std::ptr::null(),
                std::ptr::null(),
                std::ptr::null(),
                CRYPTPROTECT_UI_FORBIDDEN,
                out,
            )
        }
    })?;
    sealed.map(|s| s.to_vec()).ok_or_else(|| {
        Error::io(
            "protecting the tokens with DPAPI (CryptProtectData)",
            std::io::Error::last_os_error(),
        )
    })
}

/// Opens a blob [`protect`] sealed; fails for another user's (or another
/// machine's) blob.
pub fn unprotect(sealed: &[u8], file: &std::path::Path) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    let plain = transform(sealed, |input, out| {
        // SAFETY: valid blobs; the description is not wanted; no entropy or prompt.
        unsafe {
            CryptUnprotectData(
                input,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
                std::ptr::null(),
                CRYPTPROTECT_UI_FORBIDDEN,
                out,
            )
        }
    })?;
    plain.ok_or_else(|| Error::Config {
        detail: format!(
            "token file {} cannot be opened by this Windows user (DPAPI: {}); log in again",
            file.display(),
            std::io::Error::last_os_error()
        ),
    })
}
