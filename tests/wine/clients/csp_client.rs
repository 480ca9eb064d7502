//! A Windows program that drives the crpki CSP the way signing
//! applications do: through advapi32 (`CryptAcquireContext` …) and
//! crypt32 (`CryptSignMessage`), and, for the error paths that advapi32
//! filters out, by calling the DLL's `CP*` exports directly.
//!
//! `tests/wine_csp.rs` builds it for `x86_64-pc-windows-gnu`, registers the
//! DLL in a Wine prefix and runs it under Wine:
//!
//! ```text
//! wine_csp_client.exe sign       OUTDIR   # the seed's sequence; writes cert, root, signatures
//! wine_csp_client.exe errors     OUTDIR DLL
//! wine_csp_client.exe concurrent OUTDIR   # 4 threads x 25 signatures
//! wine_csp_client.exe acquire-error silent|normal CODE  # CryptAcquireContext fails with CODE (hex)
//! wine_csp_client.exe store OUTDIR N      # through the certificate bound in MY: by certificate,
//!                                         # by provider and container name, N CryptSignMessage
//! wine_csp_client.exe loop OUTDIR STOP MAX  # acquire/sign/release until STOP exists; errors recorded
//! wine_csp_client.exe bound               # how many certificates in MY name the CSP
//! wine_csp_client.exe bench N             # N timed CryptSignHash calls
//! ```
//!
//! Each step prints `ok <step>`; the first failure prints `FAIL <step>: …`
//! and exits with 1. OUTDIR is a Windows path (`Z:\…` under Wine).
//! Signatures are written big-endian (reversed from CryptoAPI's order) so
//! that `openssl dgst -verify` checks them on the Linux side.

// A test client calls C APIs: unsafe is its whole job.
#![allow(unsafe_code)]

#[cfg(not(windows))]
fn main() {
    eprintln!("wine_csp_client is a Windows program: tests/wine_csp.rs runs it under Wine");
    std::process::exit(2);
}

#[cfg(windows)]
fn main() {
    client::main()
}

#[cfg(windows)]
#[path = "shared.rs"]
mod shared;

#[cfg(windows)]
mod client {
    use std::ffi::{CString, c_void};
    use std::path::{Path, PathBuf};

    use windows_sys::Win32::Foundation::GetLastError;
    use windows_sys::Win32::Security::Cryptography::*;
    use windows_sys::Win32::System::LibraryLoader::{GetProcAddress, LoadLibraryW};

    use super::shared;

    const PROVIDER: &str = "crpki Remote Signing CSP (open source)";
    const KP_CRPKI_ROOT_CERTIFICATE: u32 = 0x4352_0001;
    const ERROR_INVALID_PARAMETER: u32 = 87;
    const ERROR_MORE_DATA: u32 = 234;
    const NTE_BAD_UID: u32 = 0x8009_0001;
    const NTE_BAD_HASH: u32 = 0x8009_0002;
    const NTE_BAD_KEY: u32 = 0x8009_0003;
    const NTE_BAD_SIGNATURE: u32 = 0x8009_0006;
    const NTE_BAD_ALGID: u32 = 0x8009_0008;
    const NTE_NO_KEY: u32 = 0x8009_000D;
    const NTE_BAD_KEYSET: u32 = 0x8009_0016;
    const NTE_NOT_SUPPORTED: u32 = 0x8009_0029;

    type Res<T> = Result<T, String>;

    pub fn main() {
        let args: Vec<String> = std::env::args().collect();
        let result = match (args.get(1).map(String::as_str), args.get(2)) {
            (Some("sign"), Some(out)) => sign(Path::new(out)),
            (Some("errors"), Some(out)) => match args.get(3) {
                Some(dll) => errors(Path::new(out), dll),
                None => Err("usage: errors OUTDIR DLL".into()),
            },
            (Some("concurrent"), Some(out)) => concurrent(Path::new(out)),
            (Some("acquire-error"), Some(mode)) => match args.get(3) {
                Some(code) => acquire_error(mode, code),
                None => Err("usage: acquire-error silent|normal CODE".into()),
            },
            (Some("store"), Some(out)) => match args.get(3).and_then(|n| n.parse().ok()) {
                Some(n) => store(Path::new(out), n),
                None => Err("usage: store OUTDIR N".into()),
            },
            (Some("loop"), Some(out)) => match (args.get(3), args.get(4).and_then(|n| n.parse().ok())) {
                (Some(stop), Some(max)) => sign_loop(Path::new(out), Path::new(stop), max),
                _ => Err("usage: loop OUTDIR STOPFILE MAX".into()),
            },
            (Some("bound"), _) => bound().map(|list| println!("bound={}", list.len())),
            (Some("pin"), Some(out)) => match (args.get(3), args.get(4)) {
                (Some(wrong), Some(right)) => pin(Path::new(out), wrong, right),
                _ => Err("usage: pin OUTDIR WRONG-PIN RIGHT-PIN".into()),
            },
            (Some("bench"), Some(n)) => match n.parse() {
                Ok(n) => bench(n),
                Err(_) => Err("usage: bench N".into()),
            },
            _ => Err(
                "usage: wine_csp_client (sign|errors|concurrent|store|loop|bound|acquire-error) OUTDIR [...]"
                    .into(),
            ),
        };
        if let Err(e) = result {
            println!("FAIL {e}");
            std::process::exit(1);
        }
        println!("done");
    }

    fn last_error() -> u32 {
        unsafe { GetLastError() }
    }

    /// Checks a BOOL result.
    fn check(step: &str, ok: i32) -> Res<()> {
        if ok != 0 {
            Ok(())
        } else {
            Err(format!("{step}: error {:#010x}", last_error()))
        }
    }

    /// Checks that a call failed with `code`.
    fn expect_error(step: &str, ok: i32, code: u32) -> Res<()> {
        let got = last_error();
        if ok != 0 {
            return Err(format!("{step}: succeeded, expected {code:#010x}"));
        }
        if got != code {
            return Err(format!("{step}: error {got:#010x}, expected {code:#010x}"));
        }
        println!("ok {step} -> {code:#010x}");
        Ok(())
    }

    fn write(dir: &Path, name: &str, data: &[u8]) -> Res<()> {
        std::fs::write(dir.join(name), data).map_err(|e| format!("writing {name}: {e}"))
    }

    fn provider_name() -> CString {
        CString::new(PROVIDER).unwrap_or_default()
    }

    fn acquire(container: Option<&str>, flags: u32) -> Res<usize> {
        let mut h = 0usize;
        let name = container.map(|c| CString::new(c).unwrap_or_default());
        let p = name.as_ref().map_or(std::ptr::null(), |c| c.as_ptr().cast());
        let prov = provider_name();
        check("CryptAcquireContext", unsafe {
            CryptAcquireContextA(&mut h, p, prov.as_ptr().cast(), PROV_RSA_AES, flags)
        })?;
        Ok(h)
    }

    /// A variable-length parameter, read with the size query first.
    fn read(step: &str, f: impl Fn(*mut u8, *mut u32) -> i32) -> Res<Vec<u8>> {
        let mut len = 0u32;
        check(&format!("{step} (size)"), f(std::ptr::null_mut(), &mut len))?;
        let mut buf = vec![0u8; len as usize];
        check(step, f(buf.as_mut_ptr(), &mut len))?;
        buf.truncate(len as usize);
        Ok(buf)
    }

    fn dword(v: &[u8]) -> u32 {
        let mut b = [0u8; 4];
        b.copy_from_slice(&v[..4]);
        u32::from_le_bytes(b)
    }

    fn hash_of(prov: usize, alg: u32, data: &[u8]) -> Res<usize> {
        let mut h = 0usize;
        check("CryptCreateHash", unsafe {
            CryptCreateHash(prov, alg, 0, 0, &mut h)
        })?;
        check("CryptHashData", unsafe {
            CryptHashData(h, data.as_ptr(), data.len() as u32, 0)
        })?;
        Ok(h)
    }

    /// CryptSignHash: size query, then the signature (little-endian).
    fn sign_hash(hash: usize) -> Res<Vec<u8>> {
        read("CryptSignHash", |p, l| unsafe {
            CryptSignHashA(hash, AT_SIGNATURE, std::ptr::null(), 0, p, l)
        })
    }

    fn big_endian(le: &[u8]) -> Vec<u8> {
        le.iter().rev().copied().collect()
    }

    /// The seed's sequence, and a little more.
    fn sign(out: &Path) -> Res<()> {
        let prov = acquire(None, 0)?;
        println!("ok CryptAcquireContext({PROVIDER}, PROV_RSA_AES)");
        let name = read("PP_NAME", |p, l| unsafe {
            CryptGetProvParam(prov, PP_NAME, p, l, 0)
        })?;
        let container = read("PP_CONTAINER", |p, l| unsafe {
            CryptGetProvParam(prov, PP_CONTAINER, p, l, 0)
        })?;
        let mut containers = Vec::new();
        let mut flags = CRYPT_FIRST;
        loop {
            let mut buf = [0u8; 256];
            let mut len = buf.len() as u32;
            if unsafe { CryptGetProvParam(prov, PP_ENUMCONTAINERS, buf.as_mut_ptr(), &mut len, flags) } == 0 {
                if last_error() != 259 {
                    return Err(format!("PP_ENUMCONTAINERS: error {:#010x}", last_error()));
                }
                break;
            }
            containers.push(
                String::from_utf8_lossy(&buf[..len as usize])
                    .trim_end_matches('\0')
                    .to_owned(),
            );
            flags = CRYPT_NEXT;
        }
        let info = format!(
            "name={}\ncontainer={}\ncontainers={}\n",
            String::from_utf8_lossy(&name).trim_end_matches('\0'),
            String::from_utf8_lossy(&container).trim_end_matches('\0'),
            containers.join(",")
        );
        println!("ok CryptGetProvParam(PP_NAME, PP_CONTAINER, PP_ENUMCONTAINERS)");

        let mut key = 0usize;
        check("CryptGetUserKey", unsafe {
            CryptGetUserKey(prov, AT_SIGNATURE, &mut key)
        })?;
        println!("ok CryptGetUserKey(AT_SIGNATURE)");
        let cert = read("KP_CERTIFICATE", |p, l| unsafe {
            CryptGetKeyParam(key, KP_CERTIFICATE, p, l, 0)
        })?;
        write(out, "cert.der", &cert)?;
        println!("ok CryptGetKeyParam(KP_CERTIFICATE) {} bytes", cert.len());
        let root = read("KP_CRPKI_ROOT_CERTIFICATE", |p, l| unsafe {
            CryptGetKeyParam(key, KP_CRPKI_ROOT_CERTIFICATE, p, l, 0)
        })?;
        write(out, "root.der", &root)?;
        println!(
            "ok CryptGetKeyParam(KP_CRPKI_ROOT_CERTIFICATE) {} bytes",
            root.len()
        );
        let bits = read("KP_KEYLEN", |p, l| unsafe {
            CryptGetKeyParam(key, KP_KEYLEN, p, l, 0)
        })?;
        write(
            out,
            "info.txt",
            format!("{info}keylen={}\n", dword(&bits)).as_bytes(),
        )?;

        let data = b"crpki under Wine: the seed's CSP sequence\n".repeat(100);
        write(out, "data.bin", &data)?;
        for (alg, label) in [
            (CALG_SHA_256, "sha256"),
            (CALG_SHA_384, "sha384"),
            (CALG_SHA_512, "sha512"),
        ] {
            let hash = hash_of(prov, alg, &data)?;
            let sig = sign_hash(hash)?;
            write(out, &format!("sig-{label}.bin"), &big_endian(&sig))?;
            println!(
                "ok CryptCreateHash/CryptHashData/CryptSignHash({label}) {} bytes",
                sig.len()
            );
            check("CryptVerifySignature", unsafe {
                CryptVerifySignatureA(hash, sig.as_ptr(), sig.len() as u32, key, std::ptr::null(), 0)
            })?;
            println!("ok CryptVerifySignature({label})");
            if alg == CALG_SHA_256 {
                let value = read("HP_HASHVAL", |p, l| unsafe {
                    CryptGetHashParam(hash, HP_HASHVAL, p, l, 0)
                })?;
                write(out, "hash-sha256.bin", &value)?;
                let mut bad = sig.clone();
                bad[0] ^= 1;
                let ok = unsafe {
                    CryptVerifySignatureA(hash, bad.as_ptr(), bad.len() as u32, key, std::ptr::null(), 0)
                };
                expect_error("CryptVerifySignature(tampered)", ok, NTE_BAD_SIGNATURE)?;
                // The public key, exported, imported into a verify-only context.
                let blob = read("CryptExportKey", |p, l| unsafe {
                    CryptExportKey(key, 0, PUBLICKEYBLOB, 0, p, l)
                })?;
                write(out, "pub.blob", &blob)?;
                let vctx = acquire(None, CRYPT_VERIFYCONTEXT)?;
                let mut imported = 0usize;
                check("CryptImportKey", unsafe {
                    CryptImportKey(vctx, blob.as_ptr(), blob.len() as u32, 0, 0, &mut imported)
                })?;
                let vhash = hash_of(vctx, CALG_SHA_256, &data)?;
                check("CryptVerifySignature(imported)", unsafe {
                    CryptVerifySignatureA(
                        vhash,
                        sig.as_ptr(),
                        sig.len() as u32,
                        imported,
                        std::ptr::null(),
                        0,
                    )
                })?;
                println!("ok CryptExportKey/CryptImportKey(PUBLICKEYBLOB)/CryptVerifySignature");
                // HP_HASHVAL set by the caller, signed: the same signature.
                let mut set = 0usize;
                check("CryptCreateHash", unsafe {
                    CryptCreateHash(prov, CALG_SHA_256, 0, 0, &mut set)
                })?;
                check("CryptSetHashParam", unsafe {
                    CryptSetHashParam(set, HP_HASHVAL, value.as_ptr(), 0)
                })?;
                if sign_hash(set)? != sig {
                    return Err("signature over HP_HASHVAL differs".into());
                }
                println!("ok CryptSetHashParam(HP_HASHVAL)/CryptSignHash");
                unsafe {
                    CryptDestroyHash(set);
                    CryptDestroyHash(vhash);
                    CryptDestroyKey(imported);
                    CryptReleaseContext(vctx, 0);
                }
            }
            check("CryptDestroyHash", unsafe { CryptDestroyHash(hash) })?;
        }
        check("CryptDestroyKey", unsafe { CryptDestroyKey(key) })?;
        check("CryptReleaseContext", unsafe { CryptReleaseContext(prov, 0) })?;
        println!("ok CryptDestroyHash/CryptDestroyKey/CryptReleaseContext");

        sign_message(out, &cert, &container, &data)
    }

    /// crypt32's CryptSignMessage through a certificate that names the CSP.
    fn sign_message(out: &Path, cert: &[u8], container: &[u8], data: &[u8]) -> Res<()> {
        let ctx = unsafe {
            CertCreateCertificateContext(
                X509_ASN_ENCODING | PKCS_7_ASN_ENCODING,
                cert.as_ptr(),
                cert.len() as u32,
            )
        };
        if ctx.is_null() {
            return Err(format!(
                "CertCreateCertificateContext: error {:#010x}",
                last_error()
            ));
        }
        let wide = |s: &str| -> Vec<u16> { s.encode_utf16().chain(std::iter::once(0)).collect() };
        let mut container_w = wide(String::from_utf8_lossy(container).trim_end_matches('\0'));
        let mut provider_w = wide(PROVIDER);
        let prov_info = CRYPT_KEY_PROV_INFO {
            pwszContainerName: container_w.as_mut_ptr(),
            pwszProvName: provider_w.as_mut_ptr(),
            dwProvType: PROV_RSA_AES,
            dwFlags: 0,
            cProvParam: 0,
            rgProvParam: std::ptr::null_mut(),
            dwKeySpec: AT_SIGNATURE,
        };
        check("CertSetCertificateContextProperty", unsafe {
            CertSetCertificateContextProperty(
                ctx,
                CERT_KEY_PROV_INFO_PROP_ID,
                0,
                (&raw const prov_info).cast::<c_void>(),
            )
        })?;
        let p7 = crypt_sign_message(ctx, data)?;
        write(out, "message.p7s", &p7)?;
        unsafe { CertFreeCertificateContext(ctx) };
        println!("ok CryptSignMessage (detached, {} bytes)", p7.len());
        Ok(())
    }

    /// `CryptSignMessage`: a detached SHA-256 PKCS#7 of `data` by the
    /// certificate `ctx` (its key found through its key-provider info),
    /// which is included.
    fn crypt_sign_message(ctx: *const CERT_CONTEXT, data: &[u8]) -> Res<Vec<u8>> {
        let mut sha256 = *b"2.16.840.1.101.3.4.2.1\0";
        let mut certs = [ctx.cast_mut()];
        let para = CRYPT_SIGN_MESSAGE_PARA {
            cbSize: std::mem::size_of::<CRYPT_SIGN_MESSAGE_PARA>() as u32,
            dwMsgEncodingType: X509_ASN_ENCODING | PKCS_7_ASN_ENCODING,
            pSigningCert: ctx,
            HashAlgorithm: CRYPT_ALGORITHM_IDENTIFIER {
                pszObjId: sha256.as_mut_ptr(),
                Parameters: CRYPT_INTEGER_BLOB {
                    cbData: 0,
                    pbData: std::ptr::null_mut(),
                },
            },
            cMsgCert: 1,
            rgpMsgCert: certs.as_mut_ptr(),
            ..Default::default()
        };
        let parts = [data.as_ptr()];
        let lens = [data.len() as u32];
        read("CryptSignMessage", |p, l| unsafe {
            CryptSignMessage(&para, 1, 1, parts.as_ptr(), lens.as_ptr(), p, l)
        })
    }

    type CpAcquireContext = unsafe extern "system" fn(*mut usize, *const u8, u32, *const c_void) -> i32;
    type CpGetProvParam = unsafe extern "system" fn(usize, u32, *mut u8, *mut u32, u32) -> i32;
    type CpCreateHash = unsafe extern "system" fn(usize, u32, usize, u32, *mut usize) -> i32;
    type CpHashData = unsafe extern "system" fn(usize, usize, *const u8, u32, u32) -> i32;
    type CpDestroyHash = unsafe extern "system" fn(usize, usize) -> i32;
    type CpSignHash = unsafe extern "system" fn(usize, usize, u32, *const u16, u32, *mut u8, *mut u32) -> i32;
    type CpGetUserKey = unsafe extern "system" fn(usize, u32, *mut usize) -> i32;
    type CpGetKeyParam = unsafe extern "system" fn(usize, usize, u32, *mut u8, *mut u32, u32) -> i32;
    type CpReleaseContext = unsafe extern "system" fn(usize, u32) -> i32;

    /// The DLL's export `name`, as the function type `F`.
    unsafe fn export<F: Copy>(module: *mut c_void, name: &str) -> Res<F> {
        let cname = CString::new(name).map_err(|e| e.to_string())?;
        let f =
            unsafe { GetProcAddress(module, cname.as_ptr().cast()) }.ok_or(format!("no export {name}"))?;
        // SAFETY: the caller names the right function type for the export.
        Ok(unsafe { std::mem::transmute_copy::<_, F>(&f) })
    }

    /// Error paths: through advapi32, then straight into the exports (null
    /// pointers and bad handles that advapi32 would stop first).
    fn errors(out: &Path, dll: &str) -> Res<()> {
        let prov = acquire(None, 0)?;
        let mut key = 0usize;
        check("CryptGetUserKey", unsafe {
            CryptGetUserKey(prov, AT_SIGNATURE, &mut key)
        })?;
        let mut full = 0u32;
        check("KP_CERTIFICATE (size)", unsafe {
            CryptGetKeyParam(key, KP_CERTIFICATE, std::ptr::null_mut(), &mut full, 0)
        })?;
        let mut small = [0u8; 16];
        let mut len = small.len() as u32;
        let ok = unsafe { CryptGetKeyParam(key, KP_CERTIFICATE, small.as_mut_ptr(), &mut len, 0) };
        expect_error(
            "CryptGetKeyParam(KP_CERTIFICATE, 16-byte buffer)",
            ok,
            ERROR_MORE_DATA,
        )?;
        if len != full {
            return Err(format!("short buffer: size {len} returned, {full} expected"));
        }
        println!("ok   ... and the size {len} came back");
        let mut sig_len = 8u32;
        let mut sig = [0u8; 8];
        let hash = hash_of(prov, CALG_SHA_256, b"x")?;
        let ok = unsafe {
            CryptSignHashA(
                hash,
                AT_SIGNATURE,
                std::ptr::null(),
                0,
                sig.as_mut_ptr(),
                &mut sig_len,
            )
        };
        expect_error("CryptSignHash(8-byte buffer)", ok, ERROR_MORE_DATA)?;
        if sig_len != 256 {
            return Err(format!("CryptSignHash short buffer: size {sig_len}"));
        }
        let mut h = 0usize;
        let ok = unsafe { CryptCreateHash(prov, CALG_SSL3_SHAMD5, 0, 0, &mut h) };
        expect_error("CryptCreateHash(CALG_SSL3_SHAMD5)", ok, NTE_BAD_ALGID)?;
        let mut k2 = 0usize;
        let ok = unsafe { CryptGetUserKey(prov, AT_KEYEXCHANGE, &mut k2) };
        expect_error("CryptGetUserKey(AT_KEYEXCHANGE)", ok, NTE_NO_KEY)?;
        let prov_name = provider_name();
        let mut h2 = 0usize;
        let ok = unsafe {
            CryptAcquireContextA(
                &mut h2,
                c"no-such-container".as_ptr().cast(),
                prov_name.as_ptr().cast(),
                PROV_RSA_AES,
                0,
            )
        };
        expect_error("CryptAcquireContext(no-such-container)", ok, NTE_BAD_KEYSET)?;
        let ok = unsafe {
            CryptAcquireContextA(
                &mut h2,
                c"new".as_ptr().cast(),
                prov_name.as_ptr().cast(),
                PROV_RSA_AES,
                CRYPT_NEWKEYSET,
            )
        };
        expect_error("CryptAcquireContext(CRYPT_NEWKEYSET)", ok, NTE_NOT_SUPPORTED)?;
        unsafe {
            CryptDestroyHash(hash);
            CryptDestroyKey(key);
            CryptReleaseContext(prov, 0);
        }

        // Straight into the DLL.
        let wide: Vec<u16> = dll.encode_utf16().chain(std::iter::once(0)).collect();
        let module = unsafe { LoadLibraryW(wide.as_ptr()) };
        if module.is_null() {
            return Err(format!("LoadLibrary({dll}): error {:#010x}", last_error()));
        }
        let acquire_fn: CpAcquireContext = unsafe { export(module, "CPAcquireContext") }?;
        let get_prov: CpGetProvParam = unsafe { export(module, "CPGetProvParam") }?;
        let create_hash: CpCreateHash = unsafe { export(module, "CPCreateHash") }?;
        let hash_data: CpHashData = unsafe { export(module, "CPHashData") }?;
        let destroy_hash: CpDestroyHash = unsafe { export(module, "CPDestroyHash") }?;
        let sign_fn: CpSignHash = unsafe { export(module, "CPSignHash") }?;
        let get_user_key: CpGetUserKey = unsafe { export(module, "CPGetUserKey") }?;
        let get_key_param: CpGetKeyParam = unsafe { export(module, "CPGetKeyParam") }?;
        let release: CpReleaseContext = unsafe { export(module, "CPReleaseContext") }?;

        let ok = unsafe { acquire_fn(std::ptr::null_mut(), std::ptr::null(), 0, std::ptr::null()) };
        expect_error("CPAcquireContext(phProv = NULL)", ok, ERROR_INVALID_PARAMETER)?;
        let mut ctx = 0usize;
        check("CPAcquireContext", unsafe {
            acquire_fn(&mut ctx, std::ptr::null(), 0, std::ptr::null())
        })?;
        let mut buf = [0u8; 64];
        let ok = unsafe { get_prov(ctx, PP_NAME, buf.as_mut_ptr(), std::ptr::null_mut(), 0) };
        expect_error("CPGetProvParam(pdwDataLen = NULL)", ok, ERROR_INVALID_PARAMETER)?;
        let mut len = 64u32;
        let ok = unsafe { get_prov(0, PP_NAME, buf.as_mut_ptr(), &mut len, 0) };
        expect_error("CPGetProvParam(hProv = 0)", ok, NTE_BAD_UID)?;
        let ok = unsafe { get_prov(0x1234_5678, PP_NAME, buf.as_mut_ptr(), &mut len, 0) };
        expect_error("CPGetProvParam(foreign hProv)", ok, NTE_BAD_UID)?;
        let mut hh = 0usize;
        check("CPCreateHash", unsafe {
            create_hash(ctx, CALG_SHA_256, 0, 0, &mut hh)
        })?;
        let ok = unsafe { get_prov(hh, PP_NAME, buf.as_mut_ptr(), &mut len, 0) };
        expect_error("CPGetProvParam(hash handle as hProv)", ok, NTE_BAD_UID)?;
        check("CPHashData", unsafe { hash_data(ctx, hh, b"abc".as_ptr(), 3, 0) })?;
        let ok = unsafe { hash_data(ctx, hh, std::ptr::null(), 3, 0) };
        expect_error("CPHashData(pbData = NULL, 3 bytes)", ok, ERROR_INVALID_PARAMETER)?;
        let ok = unsafe {
            sign_fn(
                ctx,
                hh,
                AT_SIGNATURE,
                std::ptr::null(),
                0,
                buf.as_mut_ptr(),
                std::ptr::null_mut(),
            )
        };
        expect_error("CPSignHash(pdwSigLen = NULL)", ok, ERROR_INVALID_PARAMETER)?;
        check("CPDestroyHash", unsafe { destroy_hash(ctx, hh) })?;
        let ok = unsafe { hash_data(ctx, hh, b"abc".as_ptr(), 3, 0) };
        expect_error("CPHashData(destroyed hash)", ok, NTE_BAD_HASH)?;
        let ok = unsafe { destroy_hash(ctx, hh) };
        expect_error("CPDestroyHash(destroyed hash)", ok, NTE_BAD_HASH)?;
        let mut k = 0usize;
        check("CPGetUserKey", unsafe { get_user_key(ctx, AT_SIGNATURE, &mut k) })?;
        let ok = unsafe { hash_data(ctx, k, b"abc".as_ptr(), 3, 0) };
        expect_error("CPHashData(key handle as hash)", ok, NTE_BAD_HASH)?;
        let mut len = 10u32;
        let ok = unsafe { get_key_param(ctx, k, KP_CERTIFICATE, buf.as_mut_ptr(), &mut len, 0) };
        expect_error(
            "CPGetKeyParam(KP_CERTIFICATE, 10-byte buffer)",
            ok,
            ERROR_MORE_DATA,
        )?;
        if len != full {
            return Err(format!("CPGetKeyParam short buffer: size {len}, expected {full}"));
        }
        check("CPReleaseContext", unsafe { release(ctx, 0) })?;
        let mut len = 64u32;
        let ok = unsafe { get_key_param(ctx, k, KP_KEYLEN, buf.as_mut_ptr(), &mut len, 0) };
        expect_error("CPGetKeyParam(released context)", ok, NTE_BAD_UID)?;
        let ok = unsafe { get_key_param(0, 0, KP_KEYLEN, buf.as_mut_ptr(), &mut len, 0) };
        expect_error("CPGetKeyParam(hProv = 0, hKey = 0)", ok, NTE_BAD_UID)?;
        let mut ctx2 = 0usize;
        check("CPAcquireContext", unsafe {
            acquire_fn(&mut ctx2, std::ptr::null(), 0, std::ptr::null())
        })?;
        let ok = unsafe {
            get_key_param(
                ctx2,
                0xC200_0001_0000_0000,
                KP_KEYLEN,
                buf.as_mut_ptr(),
                &mut len,
                0,
            )
        };
        expect_error("CPGetKeyParam(forged key handle)", ok, NTE_BAD_KEY)?;
        check("CPReleaseContext", unsafe { release(ctx2, 0) })?;
        write(out, "errors.done", b"")?;
        Ok(())
    }

    /// 4 threads x 25 signatures, each thread with its own context.
    fn concurrent(out: &Path) -> Res<()> {
        let out: PathBuf = out.to_path_buf();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let out = out.clone();
                std::thread::spawn(move || -> Res<()> {
                    let prov = acquire(None, 0)?;
                    let mut key = 0usize;
                    check("CryptGetUserKey", unsafe {
                        CryptGetUserKey(prov, AT_SIGNATURE, &mut key)
                    })?;
                    for i in 0..25 {
                        let msg = format!("thread {t} message {i}\n");
                        let hash = hash_of(prov, CALG_SHA_256, msg.as_bytes())?;
                        let sig = sign_hash(hash)?;
                        check("CryptVerifySignature", unsafe {
                            CryptVerifySignatureA(
                                hash,
                                sig.as_ptr(),
                                sig.len() as u32,
                                key,
                                std::ptr::null(),
                                0,
                            )
                        })?;
                        check("CryptDestroyHash", unsafe { CryptDestroyHash(hash) })?;
                        write(&out, &format!("c-{t}-{i}.msg"), msg.as_bytes())?;
                        write(&out, &format!("c-{t}-{i}.sig"), &big_endian(&sig))?;
                    }
                    check("CryptDestroyKey", unsafe { CryptDestroyKey(key) })?;
                    check("CryptReleaseContext", unsafe { CryptReleaseContext(prov, 0) })
                })
            })
            .collect();
        for (t, th) in threads.into_iter().enumerate() {
            th.join().map_err(|_| format!("thread {t} panicked"))??;
        }
        println!("ok 4 threads x 25 signatures");
        Ok(())
    }

    fn acquire_error(mode: &str, code: &str) -> Res<()> {
        let code = u32::from_str_radix(code.trim_start_matches("0x"), 16).map_err(|e| e.to_string())?;
        let flags = if mode == "silent" { CRYPT_SILENT } else { 0 };
        let mut h = 0usize;
        let prov = provider_name();
        let ok = unsafe {
            CryptAcquireContextA(
                &mut h,
                std::ptr::null(),
                prov.as_ptr().cast(),
                PROV_RSA_AES,
                flags,
            )
        };
        expect_error(&format!("CryptAcquireContext({mode})"), ok, code)
    }

    /// The certificates of CurrentUser MY whose key info names the CSP:
    /// (context, container). The contexts are duplicates the caller frees.
    fn bound() -> Res<Vec<(*const CERT_CONTEXT, String)>> {
        shared::bound_to(PROVIDER, PROV_RSA_AES, AT_SIGNATURE)
    }

    /// Signs through the certificate bound in MY: by certificate
    /// (CryptAcquireCertificatePrivateKey), by provider and container
    /// name, then `n` CryptSignMessage with it.
    fn store(out: &Path, n: usize) -> Res<()> {
        let list = bound()?;
        let [(ctx, container)] = list.as_slice() else {
            return Err(format!(
                "{} certificates bound to the CSP in MY, expected 1",
                list.len()
            ));
        };
        let (ctx, container) = (*ctx, container.clone());
        write(out, "bound.txt", container.as_bytes())?;
        let cert = unsafe { std::slice::from_raw_parts((*ctx).pbCertEncoded, (*ctx).cbCertEncoded as usize) }
            .to_vec();
        write(out, "cert.der", &cert)?;
        println!("ok bound certificate for container {container}");

        // (2) by certificate.
        let mut prov = 0usize;
        let mut spec = 0u32;
        let mut free = 0i32;
        check("CryptAcquireCertificatePrivateKey", unsafe {
            CryptAcquireCertificatePrivateKey(ctx, 0, std::ptr::null(), &mut prov, &mut spec, &mut free)
        })?;
        if spec != AT_SIGNATURE {
            return Err(format!("key spec {spec}, expected AT_SIGNATURE"));
        }
        let data = b"signed by certificate\n";
        let hash = hash_of(prov, CALG_SHA_256, data)?;
        write(out, "bycert.bin", data)?;
        write(out, "sig-bycert.bin", &big_endian(&sign_hash(hash)?))?;
        unsafe { CryptDestroyHash(hash) };
        if free != 0 {
            unsafe { CryptReleaseContext(prov, 0) };
        }
        println!("ok CryptAcquireCertificatePrivateKey/CryptSignHash");

        // (1) by provider name and container.
        let prov = acquire(Some(&container), 0)?;
        let data = b"signed by provider name\n";
        let hash = hash_of(prov, CALG_SHA_256, data)?;
        write(out, "byname.bin", data)?;
        write(out, "sig-byname.bin", &big_endian(&sign_hash(hash)?))?;
        unsafe {
            CryptDestroyHash(hash);
            CryptReleaseContext(prov, 0);
        }
        println!("ok CryptAcquireContext({container})/CryptSignHash");

        // CryptSignMessage with the store's certificate (its key info comes from the store).
        let started = std::time::Instant::now();
        for i in 0..n {
            let data = format!("message {i} signed through the certificate store\n").into_bytes();
            let p7 = crypt_sign_message(ctx, &data)?;
            write(out, &format!("msg-{i}.bin"), &data)?;
            write(out, &format!("msg-{i}.p7s"), &p7)?;
        }
        println!(
            "bench cryptsignmessage n={n} total_us={}",
            started.elapsed().as_micros()
        );
        println!("ok {n} x CryptSignMessage through the bound certificate");
        for (c, _) in list {
            unsafe { CertFreeCertificateContext(c) };
        }
        Ok(())
    }

    /// Acquire, sign, release in a loop until `stop` exists (or `max`
    /// rounds): signatures to sig-I.bin, failures to err-I.txt.
    fn sign_loop(out: &Path, stop: &Path, max: usize) -> Res<()> {
        shared::sign_loop(out, stop, max, |data| {
            let prov = acquire(None, 0)?;
            let sig = hash_of(prov, CALG_SHA_256, data).and_then(|h| {
                let s = sign_hash(h);
                unsafe { CryptDestroyHash(h) };
                s
            });
            unsafe { CryptReleaseContext(prov, 0) };
            sig.map(|s| big_endian(&s))
        })
    }

    /// The application gives the PIN, as for a smart card, where nothing
    /// else supplies one: CryptSignHash fails without it, fails with
    /// `wrong` (its status printed), and signs with `right`
    /// (CryptSetProvParam(PP_SIGNATURE_PIN) each time).
    fn pin(out: &Path, wrong: &str, right: &str) -> Res<()> {
        let prov = acquire(None, 0)?;
        let data = b"signed with the application's PIN\n";
        let hash = hash_of(prov, CALG_SHA_256, data)?;
        let attempt = |pin: Option<&str>| -> Res<Res<Vec<u8>>> {
            if let Some(pin) = pin {
                let c = CString::new(pin).map_err(|e| e.to_string())?;
                check("CryptSetProvParam(PP_SIGNATURE_PIN)", unsafe {
                    CryptSetProvParam(prov, PP_SIGNATURE_PIN, c.as_ptr().cast(), 0)
                })?;
            }
            Ok(sign_hash(hash))
        };
        for (label, pin) in [("no PIN", None), ("the wrong PIN", Some(wrong))] {
            match attempt(pin)? {
                Ok(_) => return Err(format!("CryptSignHash signed with {label}")),
                Err(e) => println!("ok with {label}: {e}"),
            }
        }
        let sig = attempt(Some(right))??;
        write(out, "pin.bin", data)?;
        write(out, "sig-pin.bin", &big_endian(&sig))?;
        println!("ok CryptSignHash with the PIN the application gave");
        unsafe {
            CryptDestroyHash(hash);
            CryptReleaseContext(prov, 0);
        }
        Ok(())
    }

    /// `n` CryptSignHash calls on distinct data in one context, timed.
    fn bench(n: usize) -> Res<()> {
        let prov = acquire(None, 0)?;
        let started = std::time::Instant::now();
        for i in 0..n {
            let hash = hash_of(prov, CALG_SHA_256, format!("bench {i}").as_bytes())?;
            sign_hash(hash)?;
            unsafe { CryptDestroyHash(hash) };
        }
        println!(
            "bench cryptsignhash n={n} total_us={}",
            started.elapsed().as_micros()
        );
        unsafe { CryptReleaseContext(prov, 0) };
        // The same signature by the library in this process.
        let lib_us = shared::library_sign_us(n, None)?;
        println!("bench library n={n} total_us={:.0}", lib_us * n as f64);
        Ok(())
    }
}
