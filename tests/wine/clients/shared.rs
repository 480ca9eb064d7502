//! What the two Windows test clients (`wine_csp_client`, `wine_ksp_client`)
//! share: reading the certificate bindings of the CurrentUser `MY` store.
//! Windows only; included with `#[path]` (not an example of its own).

use windows_sys::Win32::Security::Cryptography::{
    CERT_CONTEXT, CERT_KEY_PROV_INFO_PROP_ID, CERT_STORE_PROV_SYSTEM_W, CERT_SYSTEM_STORE_CURRENT_USER,
    CRYPT_KEY_PROV_INFO, CertCloseStore, CertDuplicateCertificateContext, CertEnumCertificatesInStore,
    CertGetCertificateContextProperty, CertOpenStore,
};

/// A NUL-terminated UTF-16 string (empty for null).
pub fn read_wide(p: *const u16) -> String {
    if p.is_null() {
        return String::new();
    }
    let mut n = 0;
    while unsafe { *p.add(n) } != 0 {
        n += 1;
    }
    String::from_utf16_lossy(unsafe { std::slice::from_raw_parts(p, n) })
}

/// The certificates of CurrentUser MY whose key info names `provider`
/// with `prov_type` and `key_spec`: (context, container). The contexts
/// are duplicates the caller frees.
pub fn bound_to(
    provider: &str,
    prov_type: u32,
    key_spec: u32,
) -> Result<Vec<(*const CERT_CONTEXT, String)>, String> {
    let name: Vec<u16> = "MY".encode_utf16().chain(std::iter::once(0)).collect();
    let store = unsafe {
        CertOpenStore(
            CERT_STORE_PROV_SYSTEM_W,
            0,
            0,
            CERT_SYSTEM_STORE_CURRENT_USER,
            name.as_ptr().cast(),
        )
    };
    if store.is_null() {
        return Err("CertOpenStore(MY) failed".into());
    }
    let mut found = Vec::new();
    let mut ctx: *mut CERT_CONTEXT = std::ptr::null_mut();
    loop {
        ctx = unsafe { CertEnumCertificatesInStore(store, ctx) };
        if ctx.is_null() {
            break;
        }
        let prop = CERT_KEY_PROV_INFO_PROP_ID;
        let mut len = 0u32;
        if unsafe { CertGetCertificateContextProperty(ctx, prop, std::ptr::null_mut(), &mut len) } == 0 {
            continue;
        }
        // u64 elements: the buffer holds a CRYPT_KEY_PROV_INFO (with its strings after it).
        let mut buf = vec![0u64; (len as usize).div_ceil(8)];
        if unsafe { CertGetCertificateContextProperty(ctx, prop, buf.as_mut_ptr().cast(), &mut len) } == 0 {
            continue;
        }
        let info = unsafe { &*buf.as_ptr().cast::<CRYPT_KEY_PROV_INFO>() };
        if read_wide(info.pwszProvName) == provider
            && info.dwProvType == prov_type
            && info.dwKeySpec == key_spec
        {
            found.push((
                unsafe { CertDuplicateCertificateContext(ctx) } as *const CERT_CONTEXT,
                read_wide(info.pwszContainerName),
            ));
        }
    }
    unsafe { CertCloseStore(store, 0) };
    Ok(found)
}

/// An application signing one document after another until `stop` exists
/// (or `max` rounds): each round writes data-I.bin, then what `sign`
/// returns for it to sig-I.bin, or its error to err-I.txt.
pub fn sign_loop(
    out: &std::path::Path,
    stop: &std::path::Path,
    max: usize,
    mut sign: impl FnMut(&[u8]) -> Result<Vec<u8>, String>,
) -> Result<(), String> {
    let write = |name: String, data: &[u8]| {
        std::fs::write(out.join(&name), data).map_err(|e| format!("writing {name}: {e}"))
    };
    let (mut signed, mut failed) = (0, 0);
    for i in 0..max {
        if stop.exists() {
            break;
        }
        let data = format!("loop signature {i}\n");
        write(format!("data-{i}.bin"), data.as_bytes())?;
        match sign(data.as_bytes()) {
            Ok(sig) => {
                write(format!("sig-{i}.bin"), &sig)?;
                signed += 1;
            }
            Err(e) => {
                write(format!("err-{i}.txt"), e.as_bytes())?;
                failed += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
    }
    println!("ok loop: {signed} signed, {failed} failed");
    Ok(())
}

/// Mean microseconds per single-digest RSA PKCS#1 SHA-256 signature made
/// by the library in this (Windows) process, over `n` calls after one
/// untimed warm-up: with the PKCS#12 file `p12` (path, password) when
/// given, else with the current profile's remote signer, which is what the
/// DLL uses. Timing the providers against this leaves out what Wine
/// itself costs.
pub fn library_sign_us(n: usize, p12: Option<(&str, &str)>) -> Result<f64, String> {
    use crpki::signer::{HashAlgorithm, RemoteSigner, SignatureAlgorithm};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let signer: std::sync::Arc<dyn RemoteSigner> = match p12 {
        Some((file, password)) => std::sync::Arc::new(
            crpki::Pkcs12Signer::open(file, password).map_err(|e| format!("PKCS#12: {e}"))?,
        ),
        None => {
            use crpki::source::{OpenOptions, SignerSource};
            let source = crpki::source::ProfileSource::new();
            rt.block_on(source.open(None, OpenOptions::silent(true)))
                .map_err(|e| format!("the profile's signer: {e}"))?
                .signer
        }
    };
    // Other data than the providers': no cache anywhere can answer.
    let digests: Vec<_> = (0..n)
        .map(|i| HashAlgorithm::Sha256.digest(format!("library bench {i}").as_bytes()))
        .collect();
    let alg = SignatureAlgorithm::RSA_PKCS1_SHA256;
    let warm_up = HashAlgorithm::Sha256.digest(b"library warm-up");
    rt.block_on(signer.sign_digests(alg, std::slice::from_ref(&warm_up)))
        .map_err(|e| e.to_string())?;
    let start = std::time::Instant::now();
    for d in &digests {
        rt.block_on(signer.sign_digests(alg, std::slice::from_ref(d)))
            .map_err(|e| e.to_string())?;
    }
    Ok(start.elapsed().as_secs_f64() * 1e6 / n as f64)
}
