//! A Windows program that drives the crpki KSP the way Windows' CNG router
//! does: `LoadLibraryW` the DLL, call `GetKeyStorageInterface`, then call
//! through the function table. (Wine's ncrypt does not route to
//! third-party KSPs, so the router's part is played here.) Hash values
//! come from Wine's bcrypt (`BCryptCreateHash` …), as a CNG application
//! makes them.
//!
//! `tests/wine_ksp.rs` builds it for `x86_64-pc-windows-gnu` and runs it
//! under Wine:
//!
//! ```text
//! wine_ksp_client.exe sign       OUTDIR DLL   # the seed's sequence; writes cert, root, signatures
//! wine_ksp_client.exe errors     OUTDIR DLL
//! wine_ksp_client.exe concurrent OUTDIR DLL   # 4 threads x 25 signatures
//! wine_ksp_client.exe logout     OUTDIR DLL   # free key and provider while another thread signs
//! wine_ksp_client.exe bench      OUTDIR DLL N [P12 PASSWORD]  # SignHash vs the library
//! wine_ksp_client.exe register   OUTDIR DLL   # DllRegisterServer, DllUnregisterServer
//! wine_ksp_client.exe silent     OUTDIR DLL   # NCRYPT_SILENT_FLAG when a login is needed
//! wine_ksp_client.exe ecdsa      OUTDIR DLL KEYNAME  # an ECDSA P-256 key through the table
//! wine_ksp_client.exe loop       OUTDIR DLL STOPFILE MAX  # sign until STOPFILE exists
//! wine_ksp_client.exe bound      OUTDIR DLL   # certificates bound to the KSP in MY
//! wine_ksp_client.exe pin        OUTDIR DLL WRONG RIGHT  # NCRYPT_PIN_PROPERTY set by the application
//! wine_ksp_client.exe tokens     OUTDIR DLL   # a token file saved and loaded by the library (DPAPI)
//! ```
//!
//! Each step prints `ok <step>`; the first failure prints `FAIL <step>: …`
//! and exits with 1; the last line is `done`. CNG signatures are
//! big-endian, so they are written as they come, for `openssl` to check.

// A test client calls C APIs: unsafe is its whole job. The table's slots
// are `Option`s that `load` checks are all filled, hence the unwraps.
#![allow(unsafe_code, clippy::unwrap_used)]

#[cfg(not(windows))]
fn main() {
    eprintln!("wine_ksp_client is a Windows program: tests/wine_ksp.rs runs it under Wine");
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
    use std::ffi::c_void;
    use std::path::Path;
    use std::time::Instant;

    use windows_sys::Win32::Security::Cryptography::*;
    use windows_sys::Win32::System::LibraryLoader::{GetProcAddress, LoadLibraryW};

    use super::shared;

    const PROVIDER: &str = "crpki Remote Signing KSP (open source)";
    const REGISTRAR_PROPERTY: &str = "crpki Registrar Certificate";
    const NTE_BAD_SIGNATURE: u32 = 0x8009_0006;
    const NTE_BAD_LEN: u32 = 0x8009_0004;
    const NTE_BAD_KEYSET: u32 = 0x8009_0016;
    const NTE_INVALID_HANDLE: u32 = 0x8009_0026;
    const NTE_INVALID_PARAMETER: u32 = 0x8009_0027;
    const NTE_BUFFER_TOO_SMALL: u32 = 0x8009_0028;
    const NTE_NOT_SUPPORTED: u32 = 0x8009_0029;
    const NTE_NO_MORE_ITEMS: u32 = 0x8009_002A;
    const NTE_SILENT_CONTEXT: u32 = 0x8009_0022;

    type Res<T> = Result<T, String>;
    type Table = &'static NCRYPT_KEY_STORAGE_FUNCTION_TABLE;

    pub fn main() {
        let args: Vec<String> = std::env::args().collect();
        let result = match (args.get(1).map(String::as_str), args.get(2), args.get(3)) {
            (Some(cmd), Some(out), Some(dll)) => {
                let out = Path::new(out);
                match load(dll) {
                    Err(e) => Err(e),
                    Ok(t) => match cmd {
                        "sign" => sign(t, out),
                        "errors" => errors(t),
                        "concurrent" => concurrent(t, out),
                        "logout" => logout(t),
                        "bench" => bench(t, &args[4..]),
                        "register" => register(dll),
                        "silent" => silent(t),
                        "ecdsa" => match args.get(4) {
                            Some(name) => ecdsa(t, out, name),
                            None => Err("usage: ecdsa OUTDIR DLL KEYNAME".into()),
                        },
                        "loop" => match (args.get(4), args.get(5).and_then(|n| n.parse().ok())) {
                            (Some(stop), Some(max)) => sign_loop(t, out, Path::new(stop), max),
                            _ => Err("usage: loop OUTDIR DLL STOPFILE MAX".into()),
                        },
                        "tokens" => tokens(out),
                        "pin" => match (args.get(4), args.get(5)) {
                            (Some(wrong), Some(right)) => pin(t, out, wrong, right),
                            _ => Err("usage: pin OUTDIR DLL WRONG-PIN RIGHT-PIN".into()),
                        },
                        "bound" => bound().map(|list| {
                            println!("bound={}", list.len());
                            for (container, _) in list {
                                println!("container={container}");
                            }
                        }),
                        _ => Err(format!("unknown command {cmd}")),
                    },
                }
            }
            _ => {
                Err(
                    "usage: wine_ksp_client (sign|errors|concurrent|logout|bench|register|silent|ecdsa|loop|bound|pin|tokens) \
                     OUTDIR DLL [...]"
                        .into(),
                )
            }
        };
        if let Err(e) = result {
            println!("FAIL {e}");
            std::process::exit(1);
        }
        println!("done");
    }

    fn wide(s: &str) -> Vec<u16> {
        s.encode_utf16().chain(std::iter::once(0)).collect()
    }

    fn from_wide(b: &[u8]) -> String {
        let units: Vec<u16> = b
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .take_while(|&u| u != 0)
            .collect();
        String::from_utf16_lossy(&units)
    }

    fn ok(step: &str, status: i32) -> Res<()> {
        if status == 0 {
            Ok(())
        } else {
            Err(format!("{step}: {:#010x}", status as u32))
        }
    }

    /// Checks that a call failed with `code`, and prints it for the test.
    fn expect(step: &str, status: i32, code: u32) -> Res<()> {
        if status as u32 != code {
            return Err(format!("{step}: {:#010x}, expected {code:#010x}", status as u32));
        }
        println!("ok {step} -> {code:#010x}");
        Ok(())
    }

    fn write(dir: &Path, name: &str, data: &[u8]) -> Res<()> {
        std::fs::write(dir.join(name), data).map_err(|e| format!("writing {name}: {e}"))
    }

    /// What the router does: load the DLL, get the table.
    fn load(dll: &str) -> Res<Table> {
        let path = wide(dll);
        let module = unsafe { LoadLibraryW(path.as_ptr()) };
        if module.is_null() {
            return Err(format!("LoadLibraryW({dll}) failed"));
        }
        let f = unsafe { GetProcAddress(module, c"GetKeyStorageInterface".as_ptr().cast()) }
            .ok_or("GetKeyStorageInterface is not exported")?;
        type Entry =
            unsafe extern "system" fn(*const u16, *mut *mut NCRYPT_KEY_STORAGE_FUNCTION_TABLE, u32) -> i32;
        let f: GetKeyStorageInterfaceFn =
            Some(unsafe { std::mem::transmute::<unsafe extern "system" fn() -> isize, Entry>(f) });
        let mut table: *mut NCRYPT_KEY_STORAGE_FUNCTION_TABLE = std::ptr::null_mut();
        let name = wide(PROVIDER);
        let status = unsafe { f.ok_or("no function")?(name.as_ptr(), &mut table, 0) };
        ok("GetKeyStorageInterface", status)?;
        let t: Table = unsafe { table.as_ref() }.ok_or("GetKeyStorageInterface returned a null table")?;
        // Every slot is filled (the router calls them without checking).
        let slots = std::mem::size_of::<NCRYPT_KEY_STORAGE_FUNCTION_TABLE>() / 8;
        let words = unsafe { std::slice::from_raw_parts((table as *const u64).add(1), slots - 1) };
        if words.contains(&0) {
            return Err("a slot of the function table is null".into());
        }
        println!(
            "ok GetKeyStorageInterface: version {}.{}, {} slots filled",
            t.Version.MajorVersion,
            t.Version.MinorVersion,
            slots - 1
        );
        Ok(t)
    }

    fn open_provider(t: Table) -> Res<usize> {
        let mut h = 0usize;
        let name = wide(PROVIDER);
        ok("OpenProvider", unsafe {
            t.OpenProvider.unwrap()(&mut h, name.as_ptr(), 0)
        })?;
        Ok(h)
    }

    fn open_key(t: Table, prov: usize, name: &str) -> Res<usize> {
        open_key_with(t, prov, name, 0)
            .and_then(|(k, status)| ok(&format!("OpenKey({name})"), status).map(|()| k))
    }

    /// OpenKey with `flags`: the handle and the status.
    fn open_key_with(t: Table, prov: usize, name: &str, flags: u32) -> Res<(usize, i32)> {
        let mut k = 0usize;
        let n = wide(name);
        let status = unsafe { t.OpenKey.unwrap()(prov, &mut k, n.as_ptr(), 0, flags) };
        Ok((k, status))
    }

    /// A variable-length answer: size query, then the data.
    fn read(step: &str, f: impl Fn(*mut u8, u32, *mut u32) -> i32) -> Res<Vec<u8>> {
        let mut len = 0u32;
        ok(&format!("{step} (size)"), f(std::ptr::null_mut(), 0, &mut len))?;
        let mut buf = vec![0u8; len as usize];
        ok(step, f(buf.as_mut_ptr(), len, &mut len))?;
        buf.truncate(len as usize);
        Ok(buf)
    }

    fn key_property(t: Table, prov: usize, key: usize, name: &str) -> Res<Vec<u8>> {
        let p = wide(name);
        read(&format!("GetKeyProperty({name})"), |b, c, r| unsafe {
            t.GetKeyProperty.unwrap()(prov, key, p.as_ptr(), b, c, r, 0)
        })
    }

    /// ExportKey of the public key as `blob_type` (written to pub.blob),
    /// then ImportKey of that blob: the imported key's handle.
    fn export_and_import(t: Table, prov: usize, key: usize, blob_type: &str, out: &Path) -> Res<usize> {
        let kind = wide(blob_type);
        let blob = read(&format!("ExportKey({blob_type})"), |b, c, r| unsafe {
            t.ExportKey.unwrap()(prov, key, 0, kind.as_ptr(), std::ptr::null(), b, c, r, 0)
        })?;
        write(out, "pub.blob", &blob)?;
        let mut imported = 0usize;
        ok(&format!("ImportKey({blob_type})"), unsafe {
            t.ImportKey.unwrap()(
                prov,
                0,
                kind.as_ptr(),
                std::ptr::null(),
                &mut imported,
                blob.as_ptr(),
                blob.len() as u32,
                0,
            )
        })?;
        Ok(imported)
    }

    /// The hash value, from Wine's bcrypt.
    pub fn bcrypt_hash(alg: &str, data: &[u8]) -> Res<Vec<u8>> {
        let name = wide(alg);
        let mut a = std::ptr::null_mut();
        ok("BCryptOpenAlgorithmProvider", unsafe {
            BCryptOpenAlgorithmProvider(&mut a, name.as_ptr(), std::ptr::null(), 0)
        })?;
        let mut h = std::ptr::null_mut();
        ok("BCryptCreateHash", unsafe {
            BCryptCreateHash(a, &mut h, std::ptr::null_mut(), 0, std::ptr::null(), 0, 0)
        })?;
        ok("BCryptHashData", unsafe {
            BCryptHashData(h, data.as_ptr(), data.len() as u32, 0)
        })?;
        let len = match alg {
            "SHA256" => 32,
            "SHA384" => 48,
            _ => 64,
        };
        let mut out = vec![0u8; len];
        ok("BCryptFinishHash", unsafe {
            BCryptFinishHash(h, out.as_mut_ptr(), len as u32, 0)
        })?;
        unsafe {
            BCryptDestroyHash(h);
            BCryptCloseAlgorithmProvider(a, 0);
        }
        Ok(out)
    }

    /// A padding structure with the strings it points to kept alive.
    struct Pad {
        _alg: Vec<u16>,
        pkcs1: BCRYPT_PKCS1_PADDING_INFO,
        pss: BCRYPT_PSS_PADDING_INFO,
        flags: u32,
    }

    impl Pad {
        fn new(alg: &str, pss: bool, salt: u32) -> Self {
            let a = wide(alg);
            Pad {
                pkcs1: BCRYPT_PKCS1_PADDING_INFO { pszAlgId: a.as_ptr() },
                pss: BCRYPT_PSS_PADDING_INFO {
                    pszAlgId: a.as_ptr(),
                    cbSalt: salt,
                },
                flags: if pss { BCRYPT_PAD_PSS } else { BCRYPT_PAD_PKCS1 },
                _alg: a,
            }
        }
        fn ptr(&self) -> *const c_void {
            if self.flags == BCRYPT_PAD_PSS {
                (&raw const self.pss).cast()
            } else {
                (&raw const self.pkcs1).cast()
            }
        }
    }

    /// SignHash: size query, then the signature.
    fn sign_hash(t: Table, prov: usize, key: usize, pad: &Pad, hash: &[u8]) -> Res<Vec<u8>> {
        read("SignHash", |b, c, r| unsafe {
            t.SignHash.unwrap()(
                prov,
                key,
                pad.ptr(),
                hash.as_ptr(),
                hash.len() as u32,
                b,
                c,
                r,
                pad.flags,
            )
        })
    }

    fn verify(t: Table, prov: usize, key: usize, pad: &Pad, hash: &[u8], sig: &[u8]) -> i32 {
        unsafe {
            t.VerifySignature.unwrap()(
                prov,
                key,
                pad.ptr(),
                hash.as_ptr(),
                hash.len() as u32,
                sig.as_ptr(),
                sig.len() as u32,
                pad.flags,
            )
        }
    }

    fn enum_keys(t: Table, prov: usize) -> Res<Vec<(String, String)>> {
        let mut state: *mut c_void = std::ptr::null_mut();
        let mut names = Vec::new();
        loop {
            let mut name: *mut NCryptKeyName = std::ptr::null_mut();
            let status = unsafe { t.EnumKeys.unwrap()(prov, std::ptr::null(), &mut name, &mut state, 0) };
            if status as u32 == NTE_NO_MORE_ITEMS {
                break;
            }
            ok("EnumKeys", status)?;
            let n = unsafe { &*name };
            let s = |p: *mut u16| unsafe {
                let mut len = 0;
                while *p.add(len) != 0 {
                    len += 1;
                }
                String::from_utf16_lossy(std::slice::from_raw_parts(p, len))
            };
            names.push((s(n.pszName), s(n.pszAlgid)));
            ok("FreeBuffer(NCryptKeyName)", unsafe {
                t.FreeBuffer.unwrap()(name.cast())
            })?;
        }
        if !state.is_null() {
            ok("FreeBuffer(enum state)", unsafe { t.FreeBuffer.unwrap()(state) })?;
        }
        Ok(names)
    }

    const DATA: &[u8] = b"crpki KSP test document\n\xe7\x99\xbb\xe8\xa8\x98\n";

    /// The seed's sequence through the table.
    fn sign(t: Table, out: &Path) -> Res<()> {
        let prov = open_provider(t)?;
        let name = read("GetProviderProperty(Name)", |b, c, r| unsafe {
            let p = wide("Name");
            t.GetProviderProperty.unwrap()(prov, p.as_ptr(), b, c, r, 0)
        })?;
        let keys = enum_keys(t, prov)?;
        println!("ok OpenProvider, GetProviderProperty(Name), EnumKeys: {keys:?}");
        let (first, _) = keys.first().ok_or("EnumKeys found no key")?.clone();
        let key = open_key(t, prov, &first)?;
        let selected = open_key(t, prov, "")?;
        let cert = key_property(t, prov, key, "SmartCardKeyCertificate")?;
        let root = key_property(t, prov, key, REGISTRAR_PROPERTY)?;
        let group = key_property(t, prov, key, "Algorithm Group")?;
        let length = key_property(t, prov, key, "Length")?;
        let unique = key_property(t, prov, selected, "Unique Name")?;
        println!("ok GetKeyProperty(certificate, registrar certificate, group, length)");
        write(out, "cert.der", &cert)?;
        write(out, "root.der", &root)?;
        write(
            out,
            "info.txt",
            format!(
                "name={}\nkeys={}\ngroup={}\nlength={}\nselected={}\n",
                from_wide(&name),
                keys.iter()
                    .map(|(n, a)| format!("{n}:{a}"))
                    .collect::<Vec<_>>()
                    .join(","),
                from_wide(&group),
                u32::from_le_bytes(length[..4].try_into().map_err(|_| "short Length")?),
                from_wide(&unique),
            )
            .as_bytes(),
        )?;
        write(out, "data.bin", DATA)?;
        let imported = export_and_import(t, prov, key, "RSAPUBLICBLOB", out)?;
        for (alg, len) in [("SHA256", 32u32), ("SHA384", 48), ("SHA512", 64)] {
            let hash = bcrypt_hash(alg, DATA)?;
            write(out, &format!("hash-{alg}.bin"), &hash)?;
            for (kind, pss) in [("pkcs1", false), ("pss", true)] {
                let pad = Pad::new(alg, pss, len);
                let sig = sign_hash(t, prov, key, &pad, &hash)?;
                write(out, &format!("sig-{kind}-{alg}.bin"), &sig)?;
                ok("VerifySignature", verify(t, prov, key, &pad, &hash, &sig))?;
                ok(
                    "VerifySignature(imported key)",
                    verify(t, prov, imported, &pad, &hash, &sig),
                )?;
                let mut bad = sig.clone();
                bad[7] ^= 1;
                expect(
                    &format!("VerifySignature({kind} {alg}, altered)"),
                    verify(t, prov, key, &pad, &hash, &bad),
                    NTE_BAD_SIGNATURE,
                )?;
                println!("ok SignHash({kind}, {alg}): {} bytes", sig.len());
            }
        }
        let mut count = 0u32;
        let mut list: *mut NCryptAlgorithmName = std::ptr::null_mut();
        ok("EnumAlgorithms", unsafe {
            t.EnumAlgorithms.unwrap()(prov, NCRYPT_SIGNATURE_OPERATION, &mut count, &mut list, 0)
        })?;
        ok("FreeBuffer(algorithms)", unsafe {
            t.FreeBuffer.unwrap()(list.cast())
        })?;
        let rsa = wide("RSA");
        ok("IsAlgSupported(RSA)", unsafe {
            t.IsAlgSupported.unwrap()(prov, rsa.as_ptr(), 0)
        })?;
        println!("ok EnumAlgorithms: {count}");
        for k in [key, selected, imported] {
            ok("FreeKey", unsafe { t.FreeKey.unwrap()(prov, k) })?;
        }
        ok("FreeProvider", unsafe { t.FreeProvider.unwrap()(prov) })?;
        println!("ok FreeKey, FreeProvider");
        Ok(())
    }

    /// Error paths straight into the table.
    fn errors(t: Table) -> Res<()> {
        let name = wide(PROVIDER);
        expect(
            "OpenProvider(phProvider = NULL)",
            unsafe { t.OpenProvider.unwrap()(std::ptr::null_mut(), name.as_ptr(), 0) },
            NTE_INVALID_PARAMETER,
        )?;
        let prov = open_provider(t)?;
        let p = wide("Name");
        let mut len = 0u32;
        expect(
            "GetProviderProperty(hProvider = 0)",
            unsafe { t.GetProviderProperty.unwrap()(0, p.as_ptr(), std::ptr::null_mut(), 0, &mut len, 0) },
            NTE_INVALID_HANDLE,
        )?;
        expect(
            "GetProviderProperty(forged hProvider)",
            unsafe {
                t.GetProviderProperty.unwrap()(0x1234_5678, p.as_ptr(), std::ptr::null_mut(), 0, &mut len, 0)
            },
            NTE_INVALID_HANDLE,
        )?;
        let mut small = [0u8; 4];
        expect(
            "GetProviderProperty(Name, 4-byte buffer)",
            unsafe { t.GetProviderProperty.unwrap()(prov, p.as_ptr(), small.as_mut_ptr(), 4, &mut len, 0) },
            NTE_BUFFER_TOO_SMALL,
        )?;
        println!("ok ... and the size {len} came back");
        let mut k = 0usize;
        let missing = wide("no-such-credential");
        expect(
            "OpenKey(no-such-credential)",
            unsafe { t.OpenKey.unwrap()(prov, &mut k, missing.as_ptr(), 0, 0) },
            NTE_BAD_KEYSET,
        )?;
        let key = open_key(t, prov, "")?;
        let hash = bcrypt_hash("SHA256", DATA)?;
        let pad = Pad::new("SHA256", false, 0);
        // A SignHash size query (no output buffer) of the first
        // `hash_len` bytes of `hash` with `padding`.
        let size_query = |padding: *const c_void, hash_len: u32, flags: u32, len: &mut u32| unsafe {
            t.SignHash.unwrap()(
                prov,
                key,
                padding,
                hash.as_ptr(),
                hash_len,
                std::ptr::null_mut(),
                0,
                len,
                flags,
            )
        };
        let mut sig = [0u8; 16];
        expect(
            "SignHash(16-byte buffer)",
            unsafe {
                t.SignHash.unwrap()(
                    prov,
                    key,
                    pad.ptr(),
                    hash.as_ptr(),
                    32,
                    sig.as_mut_ptr(),
                    16,
                    &mut len,
                    pad.flags,
                )
            },
            NTE_BUFFER_TOO_SMALL,
        )?;
        println!("ok ... and the size {len} came back");
        expect(
            "SignHash(31-byte hash)",
            size_query(pad.ptr(), 31, pad.flags, &mut len),
            NTE_BAD_LEN,
        )?;
        expect(
            "SignHash(PKCS1, pPaddingInfo = NULL)",
            size_query(std::ptr::null(), 32, BCRYPT_PAD_PKCS1, &mut len),
            NTE_INVALID_PARAMETER,
        )?;
        let pss = Pad::new("SHA256", true, 20);
        expect(
            "SignHash(PSS, 20-byte salt)",
            size_query(pss.ptr(), 32, pss.flags, &mut len),
            NTE_NOT_SUPPORTED,
        )?;
        let sha1 = Pad::new("SHA1", false, 0);
        expect(
            "SignHash(PKCS1, SHA1)",
            size_query(sha1.ptr(), 32, sha1.flags, &mut len),
            NTE_NOT_SUPPORTED,
        )?;
        expect(
            "Encrypt",
            unsafe {
                t.Encrypt.unwrap()(
                    prov,
                    key,
                    hash.as_ptr(),
                    32,
                    std::ptr::null(),
                    std::ptr::null_mut(),
                    0,
                    &mut len,
                    0,
                )
            },
            NTE_NOT_SUPPORTED,
        )?;
        expect(
            "CreatePersistedKey",
            unsafe { t.CreatePersistedKey.unwrap()(prov, &mut k, std::ptr::null(), std::ptr::null(), 0, 0) },
            NTE_NOT_SUPPORTED,
        )?;
        let mut local = 0u64;
        expect(
            "FreeBuffer(foreign pointer)",
            unsafe { t.FreeBuffer.unwrap()((&raw mut local).cast()) },
            NTE_INVALID_PARAMETER,
        )?;
        let other = open_provider(t)?;
        let name_prop = wide("Name");
        // The size of the key's name, read through `prov`.
        let name_size = |prov: usize, len: &mut u32| unsafe {
            t.GetKeyProperty.unwrap()(prov, key, name_prop.as_ptr(), std::ptr::null_mut(), 0, len, 0)
        };
        expect(
            "GetKeyProperty(key of another hProvider)",
            name_size(other, &mut len),
            NTE_INVALID_HANDLE,
        )?;
        ok("FreeKey", unsafe { t.FreeKey.unwrap()(prov, key) })?;
        expect(
            "GetKeyProperty(freed key)",
            name_size(prov, &mut len),
            NTE_INVALID_HANDLE,
        )?;
        expect(
            "FreeKey(again)",
            unsafe { t.FreeKey.unwrap()(prov, key) },
            NTE_INVALID_HANDLE,
        )?;
        ok("FreeProvider", unsafe { t.FreeProvider.unwrap()(prov) })?;
        expect(
            "FreeProvider(again)",
            unsafe { t.FreeProvider.unwrap()(prov) },
            NTE_INVALID_HANDLE,
        )?;
        ok("FreeProvider(other)", unsafe { t.FreeProvider.unwrap()(other) })?;
        Ok(())
    }

    /// 4 threads x 25 signatures, each over its own message.
    fn concurrent(t: Table, out: &Path) -> Res<()> {
        let threads: Vec<_> = (0..4)
            .map(|th| {
                let out = out.to_path_buf();
                std::thread::spawn(move || -> Res<()> {
                    let prov = open_provider(t)?;
                    let key = open_key(t, prov, "")?;
                    let pad = Pad::new("SHA256", false, 0);
                    for i in 0..25 {
                        let msg = format!("thread {th} message {i}\n");
                        let hash = bcrypt_hash("SHA256", msg.as_bytes())?;
                        let sig = sign_hash(t, prov, key, &pad, &hash)?;
                        write(&out, &format!("c-{th}-{i}.msg"), msg.as_bytes())?;
                        write(&out, &format!("c-{th}-{i}.sig"), &sig)?;
                    }
                    ok("FreeProvider", unsafe { t.FreeProvider.unwrap()(prov) })
                })
            })
            .collect();
        for h in threads {
            h.join().map_err(|_| "a thread panicked".to_string())??;
        }
        println!("ok 4 threads x 25 SignHash");
        Ok(())
    }

    /// "Logging out" while signing: one thread signs in a loop with a key
    /// that the main thread deletes (DeleteKey) and whose provider it frees
    /// meanwhile. The signing thread must see NTE_INVALID_HANDLE, cleanly.
    fn logout(t: Table) -> Res<()> {
        let prov = open_provider(t)?;
        let key = open_key(t, prov, "")?;
        let signer = std::thread::spawn(move || -> Res<(usize, u32)> {
            let pad = Pad::new("SHA256", false, 0);
            for i in 0..100_000 {
                let hash = bcrypt_hash("SHA256", format!("logout {i}").as_bytes())?;
                let mut sig = vec![0u8; 256];
                let mut len = 0u32;
                let status = unsafe {
                    t.SignHash.unwrap()(
                        prov,
                        key,
                        pad.ptr(),
                        hash.as_ptr(),
                        32,
                        sig.as_mut_ptr(),
                        256,
                        &mut len,
                        pad.flags,
                    )
                };
                if status != 0 {
                    return Ok((i, status as u32));
                }
            }
            Err("the signing thread never saw the logout".into())
        });
        std::thread::sleep(std::time::Duration::from_millis(200));
        ok("DeleteKey", unsafe { t.DeleteKey.unwrap()(prov, key, 0) })?;
        ok("FreeProvider", unsafe { t.FreeProvider.unwrap()(prov) })?;
        let (signed, status) = signer
            .join()
            .map_err(|_| "the signing thread panicked".to_string())??;
        if signed == 0 {
            return Err("nothing was signed before the logout".into());
        }
        expect(
            &format!("SignHash after logout ({signed} signed before)"),
            status as i32,
            NTE_INVALID_HANDLE,
        )
    }

    /// `NCRYPT_SILENT_FLAG` where opening the key needs a login: on the
    /// provider, and on the key alone; both must answer
    /// NTE_SILENT_CONTEXT instead of showing anything.
    fn silent(t: Table) -> Res<()> {
        let mut prov = 0usize;
        let name = wide(PROVIDER);
        ok("OpenProvider(NCRYPT_SILENT_FLAG)", unsafe {
            t.OpenProvider.unwrap()(&mut prov, name.as_ptr(), NCRYPT_SILENT_FLAG)
        })?;
        let (_, status) = open_key_with(t, prov, "", 0)?;
        expect("OpenKey(silent provider)", status, NTE_SILENT_CONTEXT)?;
        ok("FreeProvider", unsafe { t.FreeProvider.unwrap()(prov) })?;
        let prov = open_provider(t)?;
        let (_, status) = open_key_with(t, prov, "", NCRYPT_SILENT_FLAG)?;
        expect("OpenKey(NCRYPT_SILENT_FLAG)", status, NTE_SILENT_CONTEXT)?;
        ok("FreeProvider", unsafe { t.FreeProvider.unwrap()(prov) })
    }

    /// An ECDSA P-256 key through the table: its properties, a SHA-256
    /// signature (r‖s, no padding info), VerifySignature with the key and
    /// with its exported ECCPUBLICBLOB imported again.
    fn ecdsa(t: Table, out: &Path, name: &str) -> Res<()> {
        let prov = open_provider(t)?;
        let key = open_key(t, prov, name)?;
        let group = from_wide(&key_property(t, prov, key, "Algorithm Group")?);
        let alg = from_wide(&key_property(t, prov, key, "Algorithm Name")?);
        let length = key_property(t, prov, key, "Length")?;
        let length = u32::from_le_bytes(length[..4].try_into().map_err(|_| "short Length")?);
        write(
            out,
            "info.txt",
            format!("group={group}\nalgorithm={alg}\nlength={length}\n").as_bytes(),
        )?;
        write(
            out,
            "cert.der",
            &key_property(t, prov, key, "SmartCardKeyCertificate")?,
        )?;
        write(out, "data.bin", DATA)?;
        let hash = bcrypt_hash("SHA256", DATA)?;
        let sig = read("SignHash(ECDSA)", |b, c, r| unsafe {
            t.SignHash.unwrap()(prov, key, std::ptr::null(), hash.as_ptr(), 32, b, c, r, 0)
        })?;
        write(out, "sig.raw", &sig)?;
        let verify_with = |k: usize, s: &[u8]| unsafe {
            t.VerifySignature.unwrap()(
                prov,
                k,
                std::ptr::null(),
                hash.as_ptr(),
                32,
                s.as_ptr(),
                s.len() as u32,
                0,
            )
        };
        ok("VerifySignature(ECDSA)", verify_with(key, &sig))?;
        let imported = export_and_import(t, prov, key, "ECCPUBLICBLOB", out)?;
        ok("VerifySignature(imported ECC key)", verify_with(imported, &sig))?;
        let mut altered = sig.clone();
        altered[40] ^= 1;
        expect(
            "VerifySignature(ECDSA, altered)",
            verify_with(imported, &altered),
            NTE_BAD_SIGNATURE,
        )?;
        println!("ok SignHash(ECDSA P-256): {} bytes", sig.len());
        for k in [imported, key] {
            ok("FreeKey", unsafe { t.FreeKey.unwrap()(prov, k) })?;
        }
        ok("FreeProvider", unsafe { t.FreeProvider.unwrap()(prov) })
    }

    /// The application gives the PIN, as for a smart card, where nothing
    /// else supplies one: SignHash fails without it, fails with `wrong`
    /// (statuses printed), and signs with `right` (SetKeyProperty
    /// SmartCardPin on the key each time).
    fn pin(t: Table, out: &Path, wrong: &str, right: &str) -> Res<()> {
        let prov = open_provider(t)?;
        let key = open_key(t, prov, "")?;
        let pad = Pad::new("SHA256", false, 0);
        let data = b"signed with the application's PIN\n";
        let hash = bcrypt_hash("SHA256", data)?;
        let property = wide("SmartCardPin");
        let attempt = |pin: Option<&str>| -> Res<Res<Vec<u8>>> {
            if let Some(pin) = pin {
                let value: Vec<u8> = wide(pin).iter().flat_map(|u| u.to_le_bytes()).collect();
                ok("SetKeyProperty(SmartCardPin)", unsafe {
                    t.SetKeyProperty.unwrap()(
                        prov,
                        key,
                        property.as_ptr(),
                        value.as_ptr(),
                        value.len() as u32,
                        0,
                    )
                })?;
            }
            Ok(sign_hash(t, prov, key, &pad, &hash))
        };
        for (label, pin) in [("no PIN", None), ("the wrong PIN", Some(wrong))] {
            match attempt(pin)? {
                Ok(_) => return Err(format!("SignHash signed with {label}")),
                Err(e) => println!("ok with {label}: {e}"),
            }
        }
        let sig = attempt(Some(right))??;
        write(out, "pin.bin", data)?;
        write(out, "sig-pin.bin", &sig)?;
        println!("ok SignHash with the PIN the application gave");
        ok("FreeKey", unsafe { t.FreeKey.unwrap()(prov, key) })?;
        ok("FreeProvider", unsafe { t.FreeProvider.unwrap()(prov) })
    }

    /// The library's token store on Windows: saves tokens for profile
    /// `wine` in OUTDIR (sealed with DPAPI), loads them back, compares.
    fn tokens(out: &Path) -> Res<()> {
        use crpki::profile::{FileTokenStore, TokenStore, Tokens};
        let tokens = Tokens {
            issuer: "https://issuer.example/".into(),
            client_id: "wine-client".into(),
            subject: Some("wine-subject".into()),
            access_token: crpki::Secret::new("AT-sealed-by-dpapi-4711"),
            refresh_token: Some(crpki::Secret::new("RT-sealed-by-dpapi-4711")),
            id_token: None,
            expires_at: None,
            scope: Some("openid".into()),
        };
        let store = FileTokenStore::new(out);
        store.save("wine", &tokens).map_err(|e| format!("save: {e}"))?;
        let back = store
            .load("wine")
            .map_err(|e| format!("load: {e}"))?
            .ok_or("load: no tokens")?;
        if back.access_token.expose() != tokens.access_token.expose()
            || back.refresh_token.as_ref().map(|s| s.expose()) != Some("RT-sealed-by-dpapi-4711")
            || back.subject != tokens.subject
        {
            return Err("the tokens loaded back differ".into());
        }
        println!("ok token file saved and loaded back");
        Ok(())
    }

    /// Open, sign, free in a loop until `stop` exists (or `max` rounds), as
    /// an application signing one document after another: signatures to
    /// sig-I.bin, failures (their status) to err-I.txt.
    fn sign_loop(t: Table, out: &Path, stop: &Path, max: usize) -> Res<()> {
        let pad = Pad::new("SHA256", false, 0);
        shared::sign_loop(out, stop, max, |data| {
            let hash = bcrypt_hash("SHA256", data)?;
            let prov = open_provider(t)?;
            let sig = open_key(t, prov, "").and_then(|key| {
                let sig = sign_hash(t, prov, key, &pad, &hash);
                unsafe { t.FreeKey.unwrap()(prov, key) };
                sig
            });
            unsafe { t.FreeProvider.unwrap()(prov) };
            sig
        })
    }

    /// The certificates of CurrentUser MY whose key info names the KSP
    /// with `dwProvType` 0 and `CERT_NCRYPT_KEY_SPEC`: (container, DER).
    fn bound() -> Res<Vec<(String, Vec<u8>)>> {
        let list = shared::bound_to(PROVIDER, 0, CERT_NCRYPT_KEY_SPEC)?;
        Ok(list
            .into_iter()
            .map(|(ctx, container)| {
                let der = unsafe {
                    std::slice::from_raw_parts((*ctx).pbCertEncoded, (*ctx).cbCertEncoded as usize)
                }
                .to_vec();
                unsafe { CertFreeCertificateContext(ctx) };
                (container, der)
            })
            .collect())
    }

    /// Time per SignHash through the table against the same signature made
    /// by the library in this process: the PKCS#12 signer when a file is
    /// given, else the remote signer of the current profile (what the DLL
    /// itself uses), so that the difference is the KSP's own cost.
    fn bench(t: Table, args: &[String]) -> Res<()> {
        let n: usize = args
            .first()
            .and_then(|s| s.parse().ok())
            .ok_or("bench N [P12 PASSWORD]")?;
        let prov = open_provider(t)?;
        let key = open_key(t, prov, "")?;
        let pad = Pad::new("SHA256", false, 0);
        let hashes: Vec<Vec<u8>> = (0..n)
            .map(|i| bcrypt_hash("SHA256", format!("ksp bench {i}").as_bytes()))
            .collect::<Res<_>>()?;
        // One signature first: opening the key and starting the worker are not timed.
        sign_hash(t, prov, key, &pad, &bcrypt_hash("SHA256", b"warm-up")?)?;
        let start = Instant::now();
        for h in &hashes {
            sign_hash(t, prov, key, &pad, h)?;
        }
        let ksp = start.elapsed();
        let p12 = args.get(1).zip(args.get(2));
        let lib_us = shared::library_sign_us(n, p12.map(|(f, p)| (f.as_str(), p.as_str())))?;
        println!(
            "bench n={n} ksp_sign_hash_us={:.1} library_sign_us={lib_us:.1}",
            ksp.as_secs_f64() * 1e6 / n as f64,
        );
        ok("FreeProvider", unsafe { t.FreeProvider.unwrap()(prov) })
    }

    /// `DllRegisterServer` and `DllUnregisterServer` of the DLL, called
    /// directly; prints their HRESULTs.
    fn register(dll: &str) -> Res<()> {
        let path = wide(dll);
        let module = unsafe { LoadLibraryW(path.as_ptr()) };
        for name in [c"DllRegisterServer", c"DllUnregisterServer"] {
            let f = unsafe { GetProcAddress(module, name.as_ptr().cast()) }.ok_or("missing export")?;
            let f = unsafe {
                std::mem::transmute::<unsafe extern "system" fn() -> isize, unsafe extern "system" fn() -> i32>(
                    f,
                )
            };
            let hr = unsafe { f() };
            println!("{} -> {:#010x}", name.to_string_lossy(), hr as u32);
        }
        Ok(())
    }
}
