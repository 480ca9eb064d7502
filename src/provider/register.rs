//! Registering the DLL's providers with Windows, for both providers in one
//! place (Windows, features `csp`/`ksp`): the exports `DllRegisterServer`
//! and `DllUnregisterServer` (`regsvr32`), and the functions behind
//! `crpki install`/`uninstall`.
//!
//! - The CSP: the registry key
//!   `HKLM\SOFTWARE\Microsoft\Cryptography\Defaults\Provider\<name>`
//!   with `Image Path` (the DLL), `Type` = 24 (`PROV_RSA_AES`) and
//!   `SigInFile` = 0.
//! - The KSP: `BCryptRegisterProvider` (user mode image: the DLL's full
//!   path, `NCRYPT_KEY_STORAGE_INTERFACE` with the `KEY_STORAGE` function,
//!   `CRYPT_LOCAL`), then `BCryptAddContextFunctionProvider` in the
//!   `Default` context, at the bottom of the list.
//!
//! A DLL built with both registers the CSP first, then the KSP (and
//! unregisters in the same order); the first failure is the answer.

// One of the files of the crate that may use `unsafe` (see the provider
// module's documentation): registry and BCrypt calls, and the two exports.
#![allow(unsafe_code)]

#[cfg(feature = "csp")]
pub use csp::{install_csp, uninstall_csp};
#[cfg(feature = "ksp")]
pub use ksp::{install_ksp, register_ksp, unregister_ksp};

const S_OK: i32 = 0;

/// `DllRegisterServer` (`regsvr32`): registers the providers this DLL was
/// built with (see the module documentation).
///
/// # Safety
/// No arguments.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn DllRegisterServer() -> i32 {
    registry_export(
        "DllRegisterServer",
        #[cfg(feature = "csp")]
        csp::register_csp,
        #[cfg(feature = "ksp")]
        register_ksp,
    )
}

/// `DllUnregisterServer` (`regsvr32 /u`): undoes [`DllRegisterServer`].
///
/// # Safety
/// No arguments.
#[unsafe(no_mangle)]
pub unsafe extern "system" fn DllUnregisterServer() -> i32 {
    registry_export(
        "DllUnregisterServer",
        #[cfg(feature = "csp")]
        csp::unregister_csp,
        #[cfg(feature = "ksp")]
        unregister_ksp,
    )
}

/// The body of both exports: the CSP's step, then the KSP's (those the DLL
/// was built with), stopping at the first that fails; its code is the
/// answer (`S_OK` when all succeed).
fn registry_export(
    export: &'static str,
    #[cfg(feature = "csp")] csp_step: fn() -> Result<(), u32>,
    #[cfg(feature = "ksp")] ksp_step: fn() -> Result<(), crate::Error>,
) -> i32 {
    #[cfg(feature = "csp")]
    {
        let rc = csp::csp_registry_export(export, csp_step);
        if rc != S_OK {
            return rc;
        }
    }
    #[cfg(feature = "ksp")]
    {
        let rc = ksp::ksp_registry_export(export, ksp_step);
        if rc != S_OK {
            return rc;
        }
    }
    S_OK
}

/// The CSP's registry key.
#[cfg(feature = "csp")]
mod csp {
    use super::S_OK;
    use crate::provider::error::{Api, ProviderError};
    use crate::provider::ffi::{self, wide};
    use crate::provider::guard;

    const E_UNEXPECTED: i32 = 0x8000_FFFFu32 as i32;

    fn hresult_from_win32(code: u32) -> i32 {
        if code == 0 {
            S_OK
        } else {
            ((code & 0xFFFF) | 0x8007_0000) as i32
        }
    }

    fn csp_key() -> Vec<u16> {
        wide(&format!(
            r"SOFTWARE\Microsoft\Cryptography\Defaults\Provider\{}",
            crate::provider::CSP_NAME
        ))
    }

    pub(super) fn register_csp() -> Result<(), u32> {
        let path = ffi::module_path().ok_or(windows_sys::Win32::Foundation::ERROR_MOD_NOT_FOUND)?;
        register_wide(path)
    }

    /// Registers the CSP DLL at `dll` (for `crpki install csp`).
    fn register_csp_path(dll: &std::path::Path) -> Result<(), u32> {
        use std::os::windows::ffi::OsStrExt;
        register_wide(dll.as_os_str().encode_wide().collect())
    }

    fn register_wide(mut path: Vec<u16>) -> Result<(), u32> {
        use windows_sys::Win32::System::Registry::{
            HKEY_LOCAL_MACHINE, KEY_SET_VALUE, REG_DWORD, REG_OPTION_NON_VOLATILE, REG_SZ, RegCloseKey,
            RegCreateKeyExW, RegSetValueExW,
        };
        path.push(0);
        let mut key = std::ptr::null_mut();
        let subkey = csp_key();
        // SAFETY: valid NUL-terminated strings and out-pointer.
        let rc = unsafe {
            RegCreateKeyExW(
                HKEY_LOCAL_MACHINE,
                subkey.as_ptr(),
                0,
                std::ptr::null(),
                REG_OPTION_NON_VOLATILE,
                KEY_SET_VALUE,
                std::ptr::null(),
                &mut key,
                std::ptr::null_mut(),
            )
        };
        if rc != 0 {
            return Err(rc);
        }
        let set = |name: &str, kind: u32, data: &[u8]| -> Result<(), u32> {
            let name = wide(name);
            // SAFETY: `key` is open; `data` is valid for its length.
            let rc = unsafe { RegSetValueExW(key, name.as_ptr(), 0, kind, data.as_ptr(), data.len() as u32) };
            if rc == 0 { Ok(()) } else { Err(rc) }
        };
        let path_bytes: Vec<u8> = path.iter().flat_map(|c| c.to_le_bytes()).collect();
        let result = set("Image Path", REG_SZ, &path_bytes)
            .and_then(|()| {
                set(
                    "Type",
                    REG_DWORD,
                    &crate::provider::csp::PROV_RSA_AES.to_le_bytes(),
                )
            })
            .and_then(|()| set("SigInFile", REG_DWORD, &0u32.to_le_bytes()));
        // SAFETY: `key` was opened above.
        unsafe { RegCloseKey(key) };
        result
    }

    /// Removes the CSP's registry key.
    pub(super) fn unregister_csp() -> Result<(), u32> {
        use windows_sys::Win32::Foundation::ERROR_FILE_NOT_FOUND;
        use windows_sys::Win32::System::Registry::{HKEY_LOCAL_MACHINE, RegDeleteKeyW};
        let subkey = csp_key();
        // SAFETY: a valid NUL-terminated string.
        match unsafe { RegDeleteKeyW(HKEY_LOCAL_MACHINE, subkey.as_ptr()) } {
            0 | ERROR_FILE_NOT_FOUND => Ok(()),
            rc => Err(rc),
        }
    }

    /// Runs a CSP registration step as an export: `S_OK`, or the Win32
    /// error as an `HRESULT`.
    pub(super) fn csp_registry_export(name: &'static str, f: fn() -> Result<(), u32>) -> i32 {
        let mut win32 = 0;
        let result = guard(name, Api::CryptoApi, || {
            f().map_err(|rc| {
                win32 = rc;
                ProviderError::Crate(crate::Error::io(
                    format!("{name}: the provider's registry key"),
                    std::io::Error::from_raw_os_error(rc as i32),
                ))
            })
        });
        match result {
            Ok(()) => S_OK,
            Err(_) if win32 != 0 => hresult_from_win32(win32),
            Err(_) => E_UNEXPECTED,
        }
    }

    /// Registers the CSP DLL at `dll` (`crpki install csp`, which runs in
    /// crpki.exe rather than in the DLL): what `DllRegisterServer` writes for
    /// itself. Needs administrator rights.
    pub fn install_csp(dll: &std::path::Path) -> crate::Result<()> {
        if !dll.is_file() {
            return Err(crate::Error::NotFound {
                what: format!("the CSP DLL {}", dll.display()),
            });
        }
        let abs = std::path::absolute(dll)
            .map_err(|e| crate::Error::io(format!("resolving {}", dll.display()), e))?;
        register_csp_path(&abs).map_err(registry_error)
    }

    /// Removes the CSP's registration (what `DllUnregisterServer` does).
    pub fn uninstall_csp() -> crate::Result<()> {
        unregister_csp().map_err(registry_error)
    }

    fn registry_error(rc: u32) -> crate::Error {
        crate::Error::io(
            format!(
                "the registry key of the CSP (HKLM\\SOFTWARE\\Microsoft\\Cryptography\\Defaults\\Provider\\{}); installing needs an administrator",
                crate::provider::CSP_NAME
            ),
            std::io::Error::from_raw_os_error(rc as i32),
        )
    }
}

/// The KSP's BCrypt registration.
#[cfg(feature = "ksp")]
mod ksp {
    use super::S_OK;
    use crate::provider::error::{Api, ProviderError};
    use crate::provider::ffi::{self, wide};
    use crate::provider::guard;

    const CONTEXT_DEFAULT: &str = "Default";

    fn nt(status: i32, what: &str) -> Result<(), crate::Error> {
        if status >= 0 {
            Ok(())
        } else {
            Err(crate::Error::io(
                format!("{what} failed with NTSTATUS {:#010x}", status as u32),
                std::io::Error::other(format!("{status:#x}")),
            ))
        }
    }

    /// Registers this DLL as the KSP [`KSP_NAME`](crate::provider::KSP_NAME):
    /// `BCryptRegisterProvider` (user mode image: this DLL's full path,
    /// `NCRYPT_KEY_STORAGE_INTERFACE` with the `KEY_STORAGE` function,
    /// `CRYPT_LOCAL`), then `BCryptAddContextFunctionProvider` in the
    /// `Default` context, at the bottom of the list. Needs administrator rights.
    /// `crpki install ksp` calls this (on Windows, from the DLL's process or
    /// through `regsvr32`).
    pub fn register_ksp() -> Result<(), crate::Error> {
        let image = ffi::module_path().ok_or_else(|| crate::Error::Config {
            detail: "the KSP cannot find its own DLL path".into(),
        })?;
        register_image(image)
    }

    /// Registers the KSP DLL at `dll` (`crpki install ksp`, which runs in
    /// crpki.exe rather than in the DLL). Needs administrator rights.
    pub fn install_ksp(dll: &std::path::Path) -> Result<(), crate::Error> {
        if !dll.is_file() {
            return Err(crate::Error::NotFound {
                what: format!("the KSP DLL {}", dll.display()),
            });
        }
        let abs = std::path::absolute(dll)
            .map_err(|e| crate::Error::io(format!("resolving {}", dll.display()), e))?;
        use std::os::windows::ffi::OsStrExt;
        register_image(abs.as_os_str().encode_wide().collect())
    }

    fn register_image(mut image: Vec<u16>) -> Result<(), crate::Error> {
        use windows_sys::Win32::Security::Cryptography as c;
        image.push(0);
        let mut function = wide("KEY_STORAGE");
        let mut functions = [function.as_mut_ptr()];
        let mut interface = c::CRYPT_INTERFACE_REG {
            dwInterface: c::NCRYPT_KEY_STORAGE_INTERFACE,
            dwFlags: c::CRYPT_LOCAL,
            cFunctions: 1,
            rgpszFunctions: functions.as_mut_ptr(),
        };
        let mut interfaces = [&raw mut interface];
        let mut um = c::CRYPT_IMAGE_REG {
            pszImage: image.as_mut_ptr(),
            cInterfaces: 1,
            rgpInterfaces: interfaces.as_mut_ptr(),
        };
        let reg = c::CRYPT_PROVIDER_REG {
            cAliases: 0,
            rgpszAliases: std::ptr::null_mut(),
            pUM: &raw mut um,
            pKM: std::ptr::null_mut(),
        };
        let name = wide(crate::provider::KSP_NAME);
        // SAFETY: every pointer refers to a live local for the call.
        let status = unsafe { c::BCryptRegisterProvider(name.as_ptr(), c::CRYPT_OVERWRITE, &reg) };
        nt(status, "BCryptRegisterProvider")?;
        let context = wide(CONTEXT_DEFAULT);
        // SAFETY: NUL-terminated strings that outlive the call.
        let status = unsafe {
            c::BCryptAddContextFunctionProvider(
                c::CRYPT_LOCAL,
                context.as_ptr(),
                c::NCRYPT_KEY_STORAGE_INTERFACE,
                function.as_ptr(),
                name.as_ptr(),
                c::CRYPT_PRIORITY_BOTTOM,
            )
        };
        nt(status, "BCryptAddContextFunctionProvider")
    }

    /// Undoes [`register_ksp`] (`crpki uninstall ksp`); a provider that is not
    /// registered is not an error.
    pub fn unregister_ksp() -> Result<(), crate::Error> {
        use windows_sys::Win32::Security::Cryptography as c;
        let name = wide(crate::provider::KSP_NAME);
        let context = wide(CONTEXT_DEFAULT);
        let function = wide("KEY_STORAGE");
        // SAFETY: NUL-terminated strings that outlive the calls. Failures of the
        // first call (not in the list) do not stop the second.
        unsafe {
            c::BCryptRemoveContextFunctionProvider(
                c::CRYPT_LOCAL,
                context.as_ptr(),
                c::NCRYPT_KEY_STORAGE_INTERFACE,
                function.as_ptr(),
                name.as_ptr(),
            )
        };
        // STATUS_NOT_FOUND: nothing to remove.
        const STATUS_NOT_FOUND: i32 = 0xC000_0225u32 as i32;
        // SAFETY: as above.
        match unsafe { c::BCryptUnregisterProvider(name.as_ptr()) } {
            STATUS_NOT_FOUND => Ok(()),
            status => nt(status, "BCryptUnregisterProvider"),
        }
    }

    const SELFREG_E_CLASS: i32 = 0x8004_0201u32 as i32;

    /// Runs a KSP registration step as an export: `S_OK` or `SELFREG_E_CLASS`.
    pub(super) fn ksp_registry_export(name: &'static str, f: fn() -> Result<(), crate::Error>) -> i32 {
        match guard(name, Api::Cng, || f().map_err(ProviderError::from)) {
            Ok(()) => S_OK,
            Err(_) => SELFREG_E_CLASS,
        }
    }
}
