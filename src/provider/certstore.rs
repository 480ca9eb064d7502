//! Binding the signing certificate to the CSP in the user's certificate
//! store, and installing the CSP (Windows, feature `csp`).
//!
//! A certificate in the CurrentUser `MY` store whose
//! `CERT_KEY_PROV_INFO_PROP_ID` names this CSP and a container is what
//! makes Windows applications (Office, Acrobat, `signtool`, anything that
//! calls `CryptSignMessage` or `CryptAcquireCertificatePrivateKey`) offer
//! it and sign through the provider. `crpki certs use` binds the chosen
//! credential's certificate, `crpki logout` removes the binding.
//!
//! The third file of the crate that may use `unsafe` (see the provider
//! module's documentation): it is the crypt32 calls and nothing else.
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::path::Path;

use windows_sys::Win32::Security::Cryptography::{
    AT_SIGNATURE, CERT_CONTEXT, CERT_KEY_PROV_INFO_PROP_ID, CERT_STORE_ADD_REPLACE_EXISTING,
    CERT_STORE_PROV_SYSTEM_REGISTRY_W, CERT_SYSTEM_STORE_CURRENT_USER, CRYPT_KEY_PROV_INFO,
    CertAddEncodedCertificateToStore, CertCloseStore, CertDeleteCertificateFromStore,
    CertDuplicateCertificateContext, CertEnumCertificatesInStore, CertFreeCertificateContext,
    CertGetCertificateContextProperty, CertOpenStore, CertSetCertificateContextProperty, HCERTSTORE,
    PKCS_7_ASN_ENCODING, X509_ASN_ENCODING,
};

use super::capi::{PROV_RSA_AES, PROVIDER_NAME};
use crate::error::{Error, Result};

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

fn last_error(what: &str) -> Error {
    Error::io(what.to_owned(), std::io::Error::last_os_error())
}

/// The CurrentUser `MY` store, closed on drop.
struct Store(HCERTSTORE);

impl Store {
    /// The registry store itself, not the `MY` system collection: through
    /// the collection, Wine's crypt32 reports deletions as done without
    /// persisting them.
    fn open_my() -> Result<Self> {
        let name = wide("MY");
        // SAFETY: a valid provider id, flags and NUL-terminated store name.
        let h = unsafe {
            CertOpenStore(
                CERT_STORE_PROV_SYSTEM_REGISTRY_W,
                0,
                0,
                CERT_SYSTEM_STORE_CURRENT_USER,
                name.as_ptr().cast::<c_void>(),
            )
        };
        if h.is_null() {
            return Err(last_error("opening the CurrentUser MY certificate store"));
        }
        Ok(Self(h))
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // SAFETY: opened by `open_my`, closed once.
        unsafe { CertCloseStore(self.0, 0) };
    }
}

/// A certificate of the store that is bound to this CSP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoundCertificate {
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// The container it names (the credential id).
    pub container: String,
}

/// Reads a NUL-terminated UTF-16 string.
///
/// # Safety
/// `p` is null or points to a NUL-terminated UTF-16 string.
unsafe fn read_wide(p: *const u16) -> Option<String> {
    if p.is_null() {
        return None;
    }
    let mut len = 0;
    // SAFETY: NUL-terminated by the caller's contract.
    while unsafe { *p.add(len) } != 0 {
        len += 1;
    }
    // SAFETY: `len` elements were just read.
    Some(String::from_utf16_lossy(unsafe {
        std::slice::from_raw_parts(p, len)
    }))
}

/// The container `ctx` is bound to, if its provider is this CSP.
///
/// # Safety
/// `ctx` is a valid certificate context.
unsafe fn our_container(ctx: *const CERT_CONTEXT) -> Option<String> {
    let mut len = 0u32;
    // SAFETY: size query on a valid context.
    if unsafe {
        CertGetCertificateContextProperty(ctx, CERT_KEY_PROV_INFO_PROP_ID, std::ptr::null_mut(), &mut len)
    } == 0
    {
        return None;
    }
    // u64 elements: the buffer holds a CRYPT_KEY_PROV_INFO and must be aligned for it.
    let mut buf = vec![0u64; (len as usize).div_ceil(8)];
    // SAFETY: the buffer has at least `len` bytes.
    if unsafe {
        CertGetCertificateContextProperty(
            ctx,
            CERT_KEY_PROV_INFO_PROP_ID,
            buf.as_mut_ptr().cast::<c_void>(),
            &mut len,
        )
    } == 0
    {
        return None;
    }
    // SAFETY: crypt32 wrote a CRYPT_KEY_PROV_INFO (with its strings after it) into the aligned buffer.
    let info = unsafe { &*buf.as_ptr().cast::<CRYPT_KEY_PROV_INFO>() };
    // SAFETY: the strings point into `buf` and are NUL-terminated.
    let provider = unsafe { read_wide(info.pwszProvName) }?;
    if provider != PROVIDER_NAME {
        return None;
    }
    // SAFETY: as above.
    Some(unsafe { read_wide(info.pwszContainerName) }.unwrap_or_default())
}

/// The certificates of the CurrentUser `MY` store bound to this CSP.
pub fn bound_certificates() -> Result<Vec<BoundCertificate>> {
    let store = Store::open_my()?;
    let mut found = Vec::new();
    let mut ctx: *mut CERT_CONTEXT = std::ptr::null_mut();
    loop {
        // SAFETY: `ctx` is null or the previous context, which this call frees.
        ctx = unsafe { CertEnumCertificatesInStore(store.0, ctx) };
        if ctx.is_null() {
            break;
        }
        // SAFETY: a valid context from the enumeration.
        if let Some(container) = unsafe { our_container(ctx) } {
            // SAFETY: the encoded certificate of a valid context.
            let der =
                unsafe { std::slice::from_raw_parts((*ctx).pbCertEncoded, (*ctx).cbCertEncoded as usize) };
            found.push(BoundCertificate {
                der: der.to_vec(),
                container,
            });
        }
    }
    Ok(found)
}

/// Removes from the CurrentUser `MY` store every certificate bound to this
/// CSP (except one whose DER is `keep`); returns how many went.
pub fn unbind_certificates(keep: Option<&[u8]>) -> Result<usize> {
    let store = Store::open_my()?;
    // Collected first, deleted after the enumeration: deleting the
    // enumeration's current certificate made Wine's crypt32 loop.
    let mut doomed: Vec<*const CERT_CONTEXT> = Vec::new();
    let mut ctx: *mut CERT_CONTEXT = std::ptr::null_mut();
    loop {
        // SAFETY: as in `bound_certificates`.
        ctx = unsafe { CertEnumCertificatesInStore(store.0, ctx) };
        if ctx.is_null() {
            break;
        }
        // SAFETY: a valid context.
        if unsafe { our_container(ctx) }.is_none() {
            continue;
        }
        // SAFETY: a valid context.
        let der = unsafe { std::slice::from_raw_parts((*ctx).pbCertEncoded, (*ctx).cbCertEncoded as usize) };
        if keep != Some(der) {
            // SAFETY: a valid context; the copy outlives the enumeration.
            doomed.push(unsafe { CertDuplicateCertificateContext(ctx) });
        }
    }
    let mut removed = 0;
    let mut failure = None;
    for c in doomed {
        // SAFETY: a duplicate made above; deleting frees it, whatever the outcome.
        if unsafe { CertDeleteCertificateFromStore(c) } == 0 {
            failure.get_or_insert_with(|| last_error("removing a certificate bound to the crpki CSP"));
        } else {
            removed += 1;
        }
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(removed),
    }
}

/// Adds `der` to the CurrentUser `MY` store (replacing an equal one) with
/// `CERT_KEY_PROV_INFO_PROP_ID` {container, this CSP, PROV_RSA_AES,
/// AT_SIGNATURE}, and removes the other certificates bound to this CSP.
pub fn bind_certificate(der: &[u8], container: &str) -> Result<()> {
    crate::Certificate::from_der(der)?;
    let len = u32::try_from(der.len()).map_err(|_| Error::invalid_argument("certificate too large"))?;
    {
        let store = Store::open_my()?;
        let mut ctx: *mut CERT_CONTEXT = std::ptr::null_mut();
        // SAFETY: `der` is valid for `len` bytes; `ctx` receives a context we free below.
        let ok = unsafe {
            CertAddEncodedCertificateToStore(
                store.0,
                X509_ASN_ENCODING | PKCS_7_ASN_ENCODING,
                der.as_ptr(),
                len,
                CERT_STORE_ADD_REPLACE_EXISTING,
                &mut ctx,
            )
        };
        if ok == 0 || ctx.is_null() {
            return Err(last_error("adding the certificate to the CurrentUser MY store"));
        }
        let mut container_w = wide(container);
        let mut provider_w = wide(PROVIDER_NAME);
        let info = CRYPT_KEY_PROV_INFO {
            pwszContainerName: container_w.as_mut_ptr(),
            pwszProvName: provider_w.as_mut_ptr(),
            dwProvType: PROV_RSA_AES,
            dwFlags: 0,
            cProvParam: 0,
            rgProvParam: std::ptr::null_mut(),
            dwKeySpec: AT_SIGNATURE,
        };
        // SAFETY: a valid context; crypt32 copies the structure and its strings.
        let ok = unsafe {
            CertSetCertificateContextProperty(ctx, CERT_KEY_PROV_INFO_PROP_ID, 0, (&raw const info).cast())
        };
        let e = (ok == 0).then(|| last_error("binding the certificate to the crpki CSP"));
        // SAFETY: the context returned by the add, freed once.
        unsafe { CertFreeCertificateContext(ctx) };
        if let Some(e) = e {
            return Err(e);
        }
    }
    unbind_certificates(Some(der))?;
    Ok(())
}

/// Registers the CSP DLL at `dll` (what `DllRegisterServer` writes for
/// itself): `HKLM\SOFTWARE\Microsoft\Cryptography\Defaults\Provider\<name>`.
pub fn install_csp(dll: &Path) -> Result<()> {
    if !dll.is_file() {
        return Err(Error::NotFound {
            what: format!("the CSP DLL {}", dll.display()),
        });
    }
    let abs = std::path::absolute(dll).map_err(|e| Error::io(format!("resolving {}", dll.display()), e))?;
    super::csp::register_path(&abs).map_err(registry_error)
}

/// Removes the CSP's registration (what `DllUnregisterServer` does).
pub fn uninstall_csp() -> Result<()> {
    super::csp::unregister().map_err(registry_error)
}

fn registry_error(rc: u32) -> Error {
    Error::io(
        format!(
            "the registry key of the CSP (HKLM\\SOFTWARE\\Microsoft\\Cryptography\\Defaults\\Provider\\{PROVIDER_NAME}); installing needs an administrator"
        ),
        std::io::Error::from_raw_os_error(rc as i32),
    )
}
