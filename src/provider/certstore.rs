//! Binding the signing certificate to one of crpki's providers in the
//! user's certificate store, and installing the CSP (Windows, feature
//! `csp` or `ksp`).
//!
//! A certificate in the CurrentUser `MY` store whose
//! `CERT_KEY_PROV_INFO_PROP_ID` names one of our providers and a container
//! is what makes Windows applications offer it and sign through that
//! provider: Office, Acrobat, anything that calls `CryptSignMessage` or
//! `CryptAcquireCertificatePrivateKey` with the CSP's binding
//! (`PROV_RSA_AES`, `AT_SIGNATURE`); signtool, .NET and other CNG
//! applications with the KSP's (`dwProvType` 0, `CERT_NCRYPT_KEY_SPEC`).
//! `crpki certs use` binds the chosen credential's certificate to the
//! provider of the profile's [`WindowsProvider`] setting, `crpki logout`
//! removes the bindings.
//!
//! The third file of the crate that may use `unsafe` (see the provider
//! module's documentation): it is the crypt32 calls and nothing else.
#![allow(unsafe_code)]

use std::ffi::c_void;

use windows_sys::Win32::Security::Cryptography::{
    AT_SIGNATURE, CERT_CONTEXT, CERT_KEY_PROV_INFO_PROP_ID, CERT_NCRYPT_KEY_SPEC,
    CERT_STORE_ADD_REPLACE_EXISTING, CERT_STORE_PROV_SYSTEM_REGISTRY_W, CERT_SYSTEM_STORE_CURRENT_USER,
    CRYPT_KEY_PROV_INFO, CertAddEncodedCertificateToStore, CertCloseStore, CertDeleteCertificateFromStore,
    CertDuplicateCertificateContext, CertEnumCertificatesInStore, CertFreeCertificateContext,
    CertGetCertificateContextProperty, CertOpenStore, CertSetCertificateContextProperty, HCERTSTORE,
    PKCS_7_ASN_ENCODING, PROV_RSA_AES, X509_ASN_ENCODING,
};

use super::WindowsProvider;
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

/// A certificate of the store that is bound to one of our providers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoundCertificate {
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// The container it names (the credential id).
    pub container: String,
    /// The provider it is bound to.
    pub provider: WindowsProvider,
}

/// `CRYPT_KEY_PROV_INFO`'s `dwProvType` and `dwKeySpec` for `provider`.
fn prov_type_and_spec(provider: WindowsProvider) -> (u32, u32) {
    match provider {
        WindowsProvider::Csp => (PROV_RSA_AES, AT_SIGNATURE),
        WindowsProvider::Ksp => (0, CERT_NCRYPT_KEY_SPEC),
    }
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

/// The provider and container `ctx` is bound to, if the provider is one
/// of ours.
///
/// # Safety
/// `ctx` is a valid certificate context.
unsafe fn our_binding(ctx: *const CERT_CONTEXT) -> Option<(WindowsProvider, String)> {
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
    let provider = WindowsProvider::from_name(&unsafe { read_wide(info.pwszProvName) }?)?;
    // SAFETY: as above.
    Some((
        provider,
        unsafe { read_wide(info.pwszContainerName) }.unwrap_or_default(),
    ))
}

/// The certificates of the CurrentUser `MY` store bound to our providers.
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
        if let Some((provider, container)) = unsafe { our_binding(ctx) } {
            // SAFETY: the encoded certificate of a valid context.
            let der =
                unsafe { std::slice::from_raw_parts((*ctx).pbCertEncoded, (*ctx).cbCertEncoded as usize) };
            found.push(BoundCertificate {
                der: der.to_vec(),
                container,
                provider,
            });
        }
    }
    Ok(found)
}

/// Removes from the CurrentUser `MY` store every certificate bound to
/// `provider` (to either of ours when `None`), except one whose DER is
/// `keep`; returns how many went.
pub fn unbind_certificates(provider: Option<WindowsProvider>, keep: Option<&[u8]>) -> Result<usize> {
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
        let Some((bound_to, _)) = (unsafe { our_binding(ctx) }) else {
            continue;
        };
        if provider.is_some_and(|p| p != bound_to) {
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
            failure.get_or_insert_with(|| last_error("removing a certificate bound to a crpki provider"));
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
/// `CERT_KEY_PROV_INFO_PROP_ID` naming `provider` and `container`: for the
/// CSP {`PROV_RSA_AES`, `AT_SIGNATURE`}, for the KSP {0,
/// `CERT_NCRYPT_KEY_SPEC`}. The other certificates bound to either of our
/// providers are removed: one profile signs with one credential.
pub fn bind_certificate(der: &[u8], container: &str, provider: WindowsProvider) -> Result<()> {
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
        let mut provider_w = wide(provider.name());
        let (prov_type, key_spec) = prov_type_and_spec(provider);
        let info = CRYPT_KEY_PROV_INFO {
            pwszContainerName: container_w.as_mut_ptr(),
            pwszProvName: provider_w.as_mut_ptr(),
            dwProvType: prov_type,
            dwFlags: 0,
            cProvParam: 0,
            rgProvParam: std::ptr::null_mut(),
            dwKeySpec: key_spec,
        };
        // SAFETY: a valid context; crypt32 copies the structure and its strings.
        let ok = unsafe {
            CertSetCertificateContextProperty(ctx, CERT_KEY_PROV_INFO_PROP_ID, 0, (&raw const info).cast())
        };
        let e = (ok == 0).then(|| last_error("binding the certificate to the crpki provider"));
        // SAFETY: the context returned by the add, freed once.
        unsafe { CertFreeCertificateContext(ctx) };
        if let Some(e) = e {
            return Err(e);
        }
    }
    unbind_certificates(None, Some(der))?;
    Ok(())
}
