//! CryptoAPI CSP semantics, in safe Rust over slices: what each `CP*`
//! export does once its pointers are checked. The `extern "system"`
//! shells in `csp.rs` only convert pointers and call in here, so all of
//! this is unit-tested on any platform.
//!
//! # The provider
//!
//! - Name [`PROVIDER_NAME`], type `PROV_RSA_AES` (24, needed for SHA-2).
//! - Containers are the [`SignerSource`]'s: a credential ID (or a PKCS#12
//!   container name); an empty or null name opens the selected one.
//!   `CRYPT_VERIFYCONTEXT` opens none (hashing, importing public keys and
//!   verifying work). `CRYPT_SILENT` is passed on to the signer source and
//!   the signer: if the user would be needed, the call fails with
//!   `NTE_SILENT_CONTEXT`. `CRYPT_NEWKEYSET` and `CRYPT_DELETEKEYSET` are
//!   refused with `NTE_NOT_SUPPORTED`: keys are made and deleted by the
//!   signing service, never here. `CRYPT_MACHINE_KEYSET` is accepted and
//!   changes nothing. With `CRYPT_DEFAULT_CONTAINER_OPTIONAL` and no name,
//!   a missing configuration gives a verify-only context.
//! - Each container holds one key, `AT_SIGNATURE`, an RSA key
//!   (`CALG_RSA_SIGN`); there is no exchange key.
//! - Hashes: `CALG_SHA_256`, `CALG_SHA_384`, `CALG_SHA_512`.
//! - Signatures: RSASSA-PKCS1-v1_5 over a DigestInfo, returned
//!   little-endian as CryptoAPI wants. The size query of `CPSignHash`
//!   (null buffer) is answered from the key length without signing. A
//!   signature made for the same key and digest a few seconds earlier is
//!   returned again instead of signing twice.
//!
//! # Parameters
//!
//! `CPGetProvParam`: `PP_NAME`, `PP_CONTAINER`, `PP_UNIQUE_CONTAINER`
//! (ANSI strings), `PP_ENUMCONTAINERS` (`CRYPT_FIRST` restarts; a size query
//! gives the longest name), `PP_PROVTYPE`, `PP_IMPTYPE`
//! (`CRYPT_IMPL_MIXED`: hashing here, the key elsewhere), `PP_VERSION`,
//! `PP_ENUMALGS`, `PP_ENUMALGS_EX`, `PP_KEYSPEC` (`AT_SIGNATURE`).
//! `CPSetProvParam`: `PP_SIGNATURE_PIN` / `PP_KEYEXCHANGE_PIN` give the
//! container's credential its PIN, as applications do for smart cards
//! (used by the next authorization instead of asking; never readable back).
//!
//! `CPGetKeyParam`: `KP_ALGID`, `KP_KEYLEN`, `KP_BLOCKLEN` (bits),
//! `KP_CERTIFICATE` (the user's certificate, DER) and
//! [`KP_CRPKI_ROOT_CERTIFICATE`]: **the registrar's self-signed
//! certificate (登記官証明書), DER**, the last certificate of the signer's
//! chain when it is self-signed (`NTE_NOT_FOUND` when the signer does not
//! know it). This value is our own, outside Microsoft's `KP_*` numbers.
//!
//! `CPGetHashParam`: `HP_ALGID`, `HP_HASHSIZE`, `HP_HASHVAL` (finishes the
//! hash). `CPSetHashParam`: `HP_HASHVAL` (a digest computed elsewhere).
//!
//! Every variable-length answer follows the CryptoAPI size protocol: a null
//! buffer asks for the size; a buffer too small gets `ERROR_MORE_DATA` and
//! the size needed.

use std::sync::{Arc, Mutex, PoisonError};

use super::blob::{self, CALG_RSA_SIGN};
use super::error::{ProviderError, check_flags, other_context};
use super::handle::{Handle, HandleTable, ObjectKind};
use super::hash::HashObject;
use super::{Container, OpenOptions, Out, ProviderCore, SignatureCache, SignerSource, Worker};
use crate::error::Error;
use crate::signer::{HashAlgorithm, KeyAlgorithm, PublicKey, SignatureAlgorithm, SignatureScheme};

/// The provider's registered name. It names this project so that it can
/// never be taken for the Ministry's driver.
pub const PROVIDER_NAME: &str = super::CSP_NAME;
/// `PROV_RSA_AES`.
pub const PROV_RSA_AES: u32 = 24;
/// `KP_*` value of the registrar's self-signed certificate (DER); ours.
pub const KP_CRPKI_ROOT_CERTIFICATE: u32 = 0x4352_0001;

/// CryptoAPI constants used here (values from `wincrypt.h`).
#[allow(missing_docs)]
pub mod consts {
    pub const CRYPT_VERIFYCONTEXT: u32 = 0xF000_0000;
    pub const CRYPT_NEWKEYSET: u32 = 0x8;
    pub const CRYPT_DELETEKEYSET: u32 = 0x10;
    pub const CRYPT_MACHINE_KEYSET: u32 = 0x20;
    pub const CRYPT_SILENT: u32 = 0x40;
    pub const CRYPT_DEFAULT_CONTAINER_OPTIONAL: u32 = 0x80;
    pub const CRYPT_FIRST: u32 = 1;
    pub const CRYPT_NEXT: u32 = 2;
    pub const CRYPT_EXPORTABLE: u32 = 1;
    pub const CRYPT_NOHASHOID: u32 = 1;

    pub const PP_ENUMALGS: u32 = 1;
    pub const PP_ENUMCONTAINERS: u32 = 2;
    pub const PP_IMPTYPE: u32 = 3;
    pub const PP_NAME: u32 = 4;
    pub const PP_VERSION: u32 = 5;
    pub const PP_CONTAINER: u32 = 6;
    pub const PP_PROVTYPE: u32 = 16;
    pub const PP_ENUMALGS_EX: u32 = 22;
    pub const PP_UNIQUE_CONTAINER: u32 = 36;
    pub const PP_KEYEXCHANGE_PIN: u32 = 32;
    pub const PP_SIGNATURE_PIN: u32 = 33;
    pub const PP_KEYSPEC: u32 = 39;
    pub const CRYPT_IMPL_MIXED: u32 = 3;

    pub const AT_KEYEXCHANGE: u32 = 1;
    pub const AT_SIGNATURE: u32 = 2;

    pub const KP_ALGID: u32 = 7;
    pub const KP_BLOCKLEN: u32 = 8;
    pub const KP_KEYLEN: u32 = 9;
    pub const KP_CERTIFICATE: u32 = 26;

    pub const HP_ALGID: u32 = 1;
    pub const HP_HASHVAL: u32 = 2;
    pub const HP_HASHSIZE: u32 = 4;

    pub const CALG_SHA_256: u32 = 0x800C;
    pub const CALG_SHA_384: u32 = 0x800D;
    pub const CALG_SHA_512: u32 = 0x800E;
    pub const CALG_SSL3_SHAMD5: u32 = 0x8008;

    pub const PUBLICKEYBLOB: u32 = 6;
    pub const PRIVATEKEYBLOB: u32 = 7;
    pub const CRYPT_FLAG_SIGNING: u32 = 0x20;
}

use consts::*;

#[cfg(windows)]
const _: () = {
    use windows_sys::Win32::Security::Cryptography as c;
    assert!(PROV_RSA_AES == c::PROV_RSA_AES);
    assert!(CRYPT_VERIFYCONTEXT == c::CRYPT_VERIFYCONTEXT);
    assert!(CRYPT_NEWKEYSET == c::CRYPT_NEWKEYSET);
    assert!(CRYPT_DELETEKEYSET == c::CRYPT_DELETEKEYSET);
    assert!(CRYPT_MACHINE_KEYSET == c::CRYPT_MACHINE_KEYSET);
    assert!(CRYPT_SILENT == c::CRYPT_SILENT);
    assert!(CRYPT_DEFAULT_CONTAINER_OPTIONAL == c::CRYPT_DEFAULT_CONTAINER_OPTIONAL);
    assert!(CRYPT_FIRST == c::CRYPT_FIRST);
    assert!(CRYPT_NEXT == c::CRYPT_NEXT);
    assert!(PP_ENUMALGS == c::PP_ENUMALGS);
    assert!(PP_ENUMCONTAINERS == c::PP_ENUMCONTAINERS);
    assert!(PP_KEYEXCHANGE_PIN == c::PP_KEYEXCHANGE_PIN);
    assert!(PP_SIGNATURE_PIN == c::PP_SIGNATURE_PIN);
    assert!(PP_IMPTYPE == c::PP_IMPTYPE);
    assert!(PP_NAME == c::PP_NAME);
    assert!(PP_VERSION == c::PP_VERSION);
    assert!(PP_CONTAINER == c::PP_CONTAINER);
    assert!(PP_PROVTYPE == c::PP_PROVTYPE);
    assert!(PP_ENUMALGS_EX == c::PP_ENUMALGS_EX);
    assert!(PP_UNIQUE_CONTAINER == c::PP_UNIQUE_CONTAINER);
    assert!(PP_KEYSPEC == c::PP_KEYSPEC);
    assert!(CRYPT_IMPL_MIXED == c::CRYPT_IMPL_MIXED);
    assert!(AT_KEYEXCHANGE == c::AT_KEYEXCHANGE);
    assert!(AT_SIGNATURE == c::AT_SIGNATURE);
    assert!(KP_ALGID == c::KP_ALGID);
    assert!(KP_BLOCKLEN == c::KP_BLOCKLEN);
    assert!(KP_KEYLEN == c::KP_KEYLEN);
    assert!(KP_CERTIFICATE == c::KP_CERTIFICATE);
    assert!(HP_ALGID == c::HP_ALGID);
    assert!(HP_HASHVAL == c::HP_HASHVAL);
    assert!(HP_HASHSIZE == c::HP_HASHSIZE);
    assert!(CALG_SHA_256 == c::CALG_SHA_256);
    assert!(CALG_SHA_384 == c::CALG_SHA_384);
    assert!(CALG_SHA_512 == c::CALG_SHA_512);
    assert!(CALG_SSL3_SHAMD5 == c::CALG_SSL3_SHAMD5);
    assert!(CALG_RSA_SIGN == c::CALG_RSA_SIGN);
    assert!(blob::CALG_RSA_KEYX == c::CALG_RSA_KEYX);
    assert!(PUBLICKEYBLOB == c::PUBLICKEYBLOB);
    assert!(PRIVATEKEYBLOB == c::PRIVATEKEYBLOB);
    assert!(CRYPT_FLAG_SIGNING == c::CRYPT_FLAG_SIGNING);
    assert!(std::mem::size_of::<c::PROV_ENUMALGS>() == PROV_ENUMALGS_LEN);
    assert!(std::mem::size_of::<c::PROV_ENUMALGS_EX>() == PROV_ENUMALGS_EX_LEN);
};

fn dword(out: Out<'_>, value: u32) -> Result<usize, ProviderError> {
    out.put(&value.to_le_bytes())
}

fn ansi(out: Out<'_>, s: &str) -> Result<usize, ProviderError> {
    let mut bytes = Vec::with_capacity(s.len() + 1);
    bytes.extend_from_slice(s.as_bytes());
    bytes.push(0);
    out.put(&bytes)
}

/// The hash algorithm of a `CALG_*` id.
pub fn hash_algorithm(alg_id: u32) -> Result<HashAlgorithm, ProviderError> {
    match alg_id {
        CALG_SHA_256 => Ok(HashAlgorithm::Sha256),
        CALG_SHA_384 => Ok(HashAlgorithm::Sha384),
        CALG_SHA_512 => Ok(HashAlgorithm::Sha512),
        _ => Err(ProviderError::BadAlgorithm {
            what: "CPCreateHash (SHA-256, SHA-384 and SHA-512 only)",
            alg_id,
        }),
    }
}

/// The `CALG_*` id of a hash algorithm.
pub fn calg_of(alg: HashAlgorithm) -> u32 {
    match alg {
        HashAlgorithm::Sha256 => CALG_SHA_256,
        HashAlgorithm::Sha384 => CALG_SHA_384,
        HashAlgorithm::Sha512 => CALG_SHA_512,
    }
}

/// One entry of `PP_ENUMALGS(_EX)`.
struct Alg {
    id: u32,
    default_bits: u32,
    min_bits: u32,
    max_bits: u32,
    name: &'static str,
    long_name: &'static str,
}

const ALGS: &[Alg] = &[
    Alg {
        id: CALG_SHA_256,
        default_bits: 256,
        min_bits: 256,
        max_bits: 256,
        name: "SHA-256",
        long_name: "Secure Hash Algorithm SHA-256",
    },
    Alg {
        id: CALG_SHA_384,
        default_bits: 384,
        min_bits: 384,
        max_bits: 384,
        name: "SHA-384",
        long_name: "Secure Hash Algorithm SHA-384",
    },
    Alg {
        id: CALG_SHA_512,
        default_bits: 512,
        min_bits: 512,
        max_bits: 512,
        name: "SHA-512",
        long_name: "Secure Hash Algorithm SHA-512",
    },
    Alg {
        id: CALG_RSA_SIGN,
        default_bits: 2048,
        min_bits: 1024,
        max_bits: 16384,
        name: "RSA_SIGN",
        long_name: "RSA Signature",
    },
];

/// `sizeof(PROV_ENUMALGS)`.
pub const PROV_ENUMALGS_LEN: usize = 32;
/// `sizeof(PROV_ENUMALGS_EX)`.
pub const PROV_ENUMALGS_EX_LEN: usize = 88;

fn fixed_name<const N: usize>(name: &str) -> [u8; N] {
    let mut b = [0u8; N];
    let n = name.len().min(N - 1);
    b[..n].copy_from_slice(&name.as_bytes()[..n]);
    b
}

impl Alg {
    fn enumalgs(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(PROV_ENUMALGS_LEN);
        v.extend_from_slice(&self.id.to_le_bytes());
        v.extend_from_slice(&self.default_bits.to_le_bytes());
        v.extend_from_slice(&(self.name.len() as u32 + 1).to_le_bytes());
        v.extend_from_slice(&fixed_name::<20>(self.name));
        v
    }

    fn enumalgs_ex(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(PROV_ENUMALGS_EX_LEN);
        for x in [
            self.id,
            self.default_bits,
            self.min_bits,
            self.max_bits,
            CRYPT_FLAG_SIGNING,
            self.name.len() as u32 + 1,
        ] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        v.extend_from_slice(&fixed_name::<20>(self.name));
        v.extend_from_slice(&(self.long_name.len() as u32 + 1).to_le_bytes());
        v.extend_from_slice(&fixed_name::<40>(self.long_name));
        v
    }
}

#[derive(Default)]
struct Cursors {
    containers: Option<Vec<String>>,
    next_container: usize,
    next_alg: usize,
    next_alg_ex: usize,
}

struct Context {
    container: Option<Arc<Container>>,
    silent: bool,
    cursors: Mutex<Cursors>,
}

enum KeyKind {
    User(Arc<Container>),
    Public(PublicKey, u32),
}

struct KeyObject {
    owner: Handle,
    public: PublicKey,
    kind: KeyKind,
}

struct HashEntry {
    owner: Handle,
    hash: HashObject,
}

/// The CSP: its handle tables over a [`ProviderCore`].
pub struct CspProvider {
    core: ProviderCore,
    contexts: HandleTable<Arc<Context>>,
    keys: HandleTable<Arc<KeyObject>>,
    hashes: HandleTable<Arc<Mutex<HashEntry>>>,
}

impl std::fmt::Debug for CspProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CspProvider")
            .field("contexts", &self.contexts.len())
            .field("keys", &self.keys.len())
            .field("hashes", &self.hashes.len())
            .finish()
    }
}

impl CspProvider {
    /// A CSP over `source`, with signer calls on `worker` and the default
    /// signature cache.
    pub fn new(source: Arc<dyn SignerSource>, worker: Worker) -> Self {
        Self::with_core(ProviderCore::new(source, worker, SignatureCache::default()))
    }

    /// A CSP over a prepared core.
    pub fn with_core(core: ProviderCore) -> Self {
        Self {
            core,
            contexts: HandleTable::new(ObjectKind::Context),
            keys: HandleTable::new(ObjectKind::Key),
            hashes: HandleTable::new(ObjectKind::Hash),
        }
    }

    /// How many contexts, keys and hashes are alive (tests, leak checks).
    pub fn live_objects(&self) -> (usize, usize, usize) {
        (self.contexts.len(), self.keys.len(), self.hashes.len())
    }

    fn context(&self, h: Handle) -> Result<Arc<Context>, ProviderError> {
        Ok(self.contexts.get(h)?)
    }

    fn key(&self, ctx: Handle, h: Handle) -> Result<Arc<KeyObject>, ProviderError> {
        let k = self.keys.get(h)?;
        if k.owner != ctx {
            return Err(other_context(ObjectKind::Key, h));
        }
        Ok(k)
    }

    fn hash(&self, ctx: Handle, h: Handle) -> Result<Arc<Mutex<HashEntry>>, ProviderError> {
        let entry = self.hashes.get(h)?;
        if entry.lock().unwrap_or_else(PoisonError::into_inner).owner != ctx {
            return Err(other_context(ObjectKind::Hash, h));
        }
        Ok(entry)
    }

    fn user_container(ctx: &Context) -> Result<&Arc<Container>, ProviderError> {
        ctx.container.as_ref().ok_or_else(|| {
            ProviderError::NoKey("a verify-only context (CRYPT_VERIFYCONTEXT) has no key".into())
        })
    }

    /// `CPAcquireContext`: `container` is the ANSI name, `None` for null.
    pub fn acquire_context(&self, container: Option<&[u8]>, flags: u32) -> Result<Handle, ProviderError> {
        check_flags(
            "CPAcquireContext",
            flags,
            CRYPT_VERIFYCONTEXT
                | CRYPT_NEWKEYSET
                | CRYPT_DELETEKEYSET
                | CRYPT_MACHINE_KEYSET
                | CRYPT_SILENT
                | CRYPT_DEFAULT_CONTAINER_OPTIONAL,
        )?;
        if flags & CRYPT_NEWKEYSET != 0 {
            return Err(ProviderError::not_supported(
                "creating a key container (CRYPT_NEWKEYSET): keys are made by the signing service",
            ));
        }
        if flags & CRYPT_DELETEKEYSET != 0 {
            return Err(ProviderError::not_supported(
                "deleting a key container (CRYPT_DELETEKEYSET): keys are managed by the signing service",
            ));
        }
        let silent = flags & CRYPT_SILENT != 0;
        let container = if flags & CRYPT_VERIFYCONTEXT == CRYPT_VERIFYCONTEXT {
            None
        } else {
            let name = match container {
                None => None,
                Some(bytes) => Some(std::str::from_utf8(bytes).map_err(|_| Error::NotFound {
                    what: format!("container '{}'", String::from_utf8_lossy(bytes)),
                })?),
            };
            let name = name.filter(|n| !n.is_empty());
            match self.core.open(name, OpenOptions::silent(silent)) {
                Ok(c) => Some(c),
                Err(ProviderError::Crate(Error::Config { .. } | Error::NotFound { .. }))
                    if name.is_none() && flags & CRYPT_DEFAULT_CONTAINER_OPTIONAL != 0 =>
                {
                    None
                }
                Err(e) => return Err(e),
            }
        };
        let ctx = Context {
            container,
            silent,
            cursors: Mutex::new(Cursors::default()),
        };
        Ok(self.contexts.insert(Arc::new(ctx))?)
    }

    /// `CPReleaseContext`: also destroys the context's keys and hashes.
    pub fn release_context(&self, h: Handle, flags: u32) -> Result<(), ProviderError> {
        self.context(h)?;
        check_flags("CPReleaseContext", flags, 0)?;
        self.contexts.remove(h)?;
        self.keys.remove_where(|k| k.owner == h);
        self.hashes
            .remove_where(|e| e.lock().unwrap_or_else(PoisonError::into_inner).owner == h);
        Ok(())
    }

    /// `CPGetProvParam`.
    pub fn get_prov_param(
        &self,
        h: Handle,
        param: u32,
        out: Out<'_>,
        flags: u32,
    ) -> Result<usize, ProviderError> {
        let ctx = self.context(h)?;
        let enumerating = matches!(param, PP_ENUMCONTAINERS | PP_ENUMALGS | PP_ENUMALGS_EX);
        check_flags(
            "CPGetProvParam",
            flags,
            if enumerating { CRYPT_FIRST | CRYPT_NEXT } else { 0 },
        )?;
        let first = flags & CRYPT_FIRST != 0;
        match param {
            PP_NAME => ansi(out, PROVIDER_NAME),
            PP_CONTAINER | PP_UNIQUE_CONTAINER => {
                let c = ctx.container.as_ref().ok_or_else(|| Error::NotFound {
                    what: "container: this is a verify-only context".into(),
                })?;
                ansi(out, &c.name)
            }
            PP_PROVTYPE => dword(out, PROV_RSA_AES),
            PP_IMPTYPE => dword(out, CRYPT_IMPL_MIXED),
            PP_VERSION => {
                let major: u32 = env!("CARGO_PKG_VERSION_MAJOR").parse().unwrap_or(0);
                let minor: u32 = env!("CARGO_PKG_VERSION_MINOR").parse().unwrap_or(0);
                dword(out, (major << 8) | (minor & 0xFF))
            }
            PP_KEYSPEC => dword(out, AT_SIGNATURE),
            PP_ENUMCONTAINERS => {
                let mut cur = ctx.cursors.lock().unwrap_or_else(PoisonError::into_inner);
                if first || cur.containers.is_none() {
                    let list = self.core.containers(OpenOptions::silent(ctx.silent))?;
                    cur.containers = Some(list.into_iter().map(|c| c.name).collect());
                    cur.next_container = 0;
                }
                let names = cur.containers.as_deref().unwrap_or_default();
                if out.is_size_query() {
                    let longest = names.iter().map(|n| n.len() + 1).max().unwrap_or(1);
                    return Ok(longest);
                }
                let name = names
                    .get(cur.next_container)
                    .ok_or(ProviderError::NoMoreItems)?
                    .clone();
                let n = ansi(out, &name)?;
                cur.next_container += 1;
                Ok(n)
            }
            PP_ENUMALGS | PP_ENUMALGS_EX => {
                let mut cur = ctx.cursors.lock().unwrap_or_else(PoisonError::into_inner);
                let next = if param == PP_ENUMALGS {
                    &mut cur.next_alg
                } else {
                    &mut cur.next_alg_ex
                };
                if first {
                    *next = 0;
                }
                let alg = ALGS.get(*next).ok_or(ProviderError::NoMoreItems)?;
                let bytes = if param == PP_ENUMALGS {
                    alg.enumalgs()
                } else {
                    alg.enumalgs_ex()
                };
                let size_query = out.is_size_query();
                let n = out.put(&bytes)?;
                if !size_query {
                    *next += 1;
                }
                Ok(n)
            }
            other => Err(ProviderError::BadType {
                what: "CPGetProvParam parameter",
                value: other,
            }),
        }
    }

    /// `CPSetProvParam`: `PP_SIGNATURE_PIN` (and `PP_KEYEXCHANGE_PIN`, the
    /// same key here) gives the container its PIN, as with a smart card
    /// ([`SignerSource::set_pin`]); `pin` is the NUL-terminated value, `None`
    /// when the caller passed a null pointer. No other parameter can be set.
    pub fn set_prov_param(
        &self,
        h: Handle,
        param: u32,
        pin: Option<&[u8]>,
        _flags: u32,
    ) -> Result<(), ProviderError> {
        let ctx = self.context(h)?;
        if param != PP_SIGNATURE_PIN && param != PP_KEYEXCHANGE_PIN {
            return Err(ProviderError::not_supported(format!(
                "CPSetProvParam parameter {param}"
            )));
        }
        let pin = pin.ok_or(ProviderError::NullPointer("pbData"))?;
        let pin = std::str::from_utf8(pin)
            .map_err(|_| Error::invalid_argument("the PIN is not ASCII/UTF-8 text"))?;
        let container = Self::user_container(&ctx)?;
        self.core.set_pin(&container.name, crate::Secret::new(pin))
    }

    /// `CPGetUserKey`: the container's `AT_SIGNATURE` key.
    pub fn get_user_key(&self, h: Handle, key_spec: u32) -> Result<Handle, ProviderError> {
        let ctx = self.context(h)?;
        if key_spec != AT_SIGNATURE {
            return Err(ProviderError::NoKey(format!(
                "key spec {key_spec}: the container only has an AT_SIGNATURE key"
            )));
        }
        let container = Self::user_container(&ctx)?.clone();
        let public = container.signer.certificate().public_key()?;
        if public.info().algorithm != KeyAlgorithm::Rsa {
            return Err(ProviderError::NoKey(format!(
                "the container's key is {}, this provider type signs with RSA only",
                public.info()
            )));
        }
        let key = KeyObject {
            owner: h,
            public,
            kind: KeyKind::User(container),
        };
        Ok(self.keys.insert(Arc::new(key))?)
    }

    /// `CPGetKeyParam`.
    pub fn get_key_param(
        &self,
        h: Handle,
        key: Handle,
        param: u32,
        out: Out<'_>,
        flags: u32,
    ) -> Result<usize, ProviderError> {
        self.context(h)?;
        let k = self.key(h, key)?;
        check_flags("CPGetKeyParam", flags, 0)?;
        let bits = k.public.info().bits;
        match (param, &k.kind) {
            (KP_ALGID, KeyKind::User(_)) => dword(out, CALG_RSA_SIGN),
            (KP_ALGID, KeyKind::Public(_, alg)) => dword(out, *alg),
            (KP_KEYLEN | KP_BLOCKLEN, _) => dword(out, bits),
            (KP_CERTIFICATE, KeyKind::User(c)) => out.put(c.signer.certificate().der()),
            (KP_CRPKI_ROOT_CERTIFICATE, KeyKind::User(c)) => out.put(c.registrar_certificate()?.der()),
            (other, _) => Err(ProviderError::BadType {
                what: "CPGetKeyParam parameter for this key",
                value: other,
            }),
        }
    }

    /// `CPSetKeyParam`: no parameter can be set.
    pub fn set_key_param(&self, h: Handle, key: Handle, param: u32) -> Result<(), ProviderError> {
        self.context(h)?;
        self.key(h, key)?;
        Err(ProviderError::not_supported(format!(
            "CPSetKeyParam parameter {param}"
        )))
    }

    /// `CPDestroyKey`.
    pub fn destroy_key(&self, h: Handle, key: Handle) -> Result<(), ProviderError> {
        self.context(h)?;
        self.key(h, key)?;
        self.keys.remove(key)?;
        Ok(())
    }

    /// `CPDuplicateKey`.
    pub fn duplicate_key(&self, h: Handle, key: Handle, flags: u32) -> Result<Handle, ProviderError> {
        self.context(h)?;
        let k = self.key(h, key)?;
        check_flags("CPDuplicateKey", flags, 0)?;
        let copy = KeyObject {
            owner: k.owner,
            public: k.public.clone(),
            kind: match &k.kind {
                KeyKind::User(c) => KeyKind::User(c.clone()),
                KeyKind::Public(p, a) => KeyKind::Public(p.clone(), *a),
            },
        };
        Ok(self.keys.insert(Arc::new(copy))?)
    }

    /// `CPImportKey`: RSA `PUBLICKEYBLOB` only; `pub_key` must be 0.
    pub fn import_key(
        &self,
        h: Handle,
        data: &[u8],
        pub_key: u64,
        flags: u32,
    ) -> Result<Handle, ProviderError> {
        self.context(h)?;
        check_flags("CPImportKey", flags, CRYPT_EXPORTABLE)?;
        if pub_key != 0 {
            return Err(ProviderError::not_supported(
                "CPImportKey with an unwrapping key: only plain PUBLICKEYBLOBs are imported",
            ));
        }
        let blob_type = data.first().copied().map(u32::from).unwrap_or(0);
        if blob_type != PUBLICKEYBLOB {
            return Err(ProviderError::BadType {
                what: "CPImportKey blob type (PUBLICKEYBLOB only)",
                value: blob_type,
            });
        }
        let (public, alg) = blob::parse_rsa_public_key_blob(data)?;
        let key = KeyObject {
            owner: h,
            public: public.clone(),
            kind: KeyKind::Public(public, alg),
        };
        Ok(self.keys.insert(Arc::new(key))?)
    }

    /// `CPExportKey`: `PUBLICKEYBLOB` only; `pub_key` must be 0.
    pub fn export_key(
        &self,
        h: Handle,
        key: Handle,
        pub_key: u64,
        blob_type: u32,
        flags: u32,
        out: Out<'_>,
    ) -> Result<usize, ProviderError> {
        self.context(h)?;
        let k = self.key(h, key)?;
        check_flags("CPExportKey", flags, 0)?;
        if pub_key != 0 {
            return Err(ProviderError::not_supported("CPExportKey with a wrapping key"));
        }
        match blob_type {
            PUBLICKEYBLOB => {
                let alg = match &k.kind {
                    KeyKind::User(_) => CALG_RSA_SIGN,
                    KeyKind::Public(_, a) => *a,
                };
                out.put(&blob::rsa_public_key_blob(&k.public, alg)?)
            }
            PRIVATEKEYBLOB => Err(ProviderError::NotExportable(
                "PRIVATEKEYBLOB: the private key never leaves the signer",
            )),
            other => Err(ProviderError::BadType {
                what: "CPExportKey blob type (PUBLICKEYBLOB only)",
                value: other,
            }),
        }
    }

    /// `CPCreateHash`: `key` must be 0 (no keyed hashes).
    pub fn create_hash(&self, h: Handle, alg_id: u32, key: u64, flags: u32) -> Result<Handle, ProviderError> {
        self.context(h)?;
        let algorithm = hash_algorithm(alg_id)?;
        if key != 0 {
            return Err(ProviderError::not_supported("keyed hashes (HMAC, MAC)"));
        }
        check_flags("CPCreateHash", flags, 0)?;
        let entry = HashEntry {
            owner: h,
            hash: HashObject::new(algorithm),
        };
        Ok(self.hashes.insert(Arc::new(Mutex::new(entry)))?)
    }

    /// `CPHashData`.
    pub fn hash_data(&self, h: Handle, hash: Handle, data: &[u8], flags: u32) -> Result<(), ProviderError> {
        self.context(h)?;
        let entry = self.hash(h, hash)?;
        check_flags("CPHashData", flags, 0)?;
        let mut e = entry.lock().unwrap_or_else(PoisonError::into_inner);
        e.hash.update(data)
    }

    /// `CPSetHashParam`: `HP_HASHVAL` only.
    pub fn set_hash_param(
        &self,
        h: Handle,
        hash: Handle,
        param: u32,
        data: &[u8],
        flags: u32,
    ) -> Result<(), ProviderError> {
        self.context(h)?;
        let entry = self.hash(h, hash)?;
        check_flags("CPSetHashParam", flags, 0)?;
        if param != HP_HASHVAL {
            return Err(ProviderError::BadType {
                what: "CPSetHashParam parameter (HP_HASHVAL only)",
                value: param,
            });
        }
        entry
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .hash
            .set_value(data)
    }

    /// The length of the hash's value: how many bytes `CPSetHashParam`
    /// (`HP_HASHVAL`, whose buffer carries no length) reads.
    pub fn hash_len(&self, h: Handle, hash: Handle) -> Result<usize, ProviderError> {
        self.context(h)?;
        let entry = self.hash(h, hash)?;
        let len = entry
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .hash
            .algorithm()
            .output_len();
        Ok(len)
    }

    /// `CPGetHashParam`.
    pub fn get_hash_param(
        &self,
        h: Handle,
        hash: Handle,
        param: u32,
        out: Out<'_>,
        flags: u32,
    ) -> Result<usize, ProviderError> {
        self.context(h)?;
        let entry = self.hash(h, hash)?;
        check_flags("CPGetHashParam", flags, 0)?;
        let mut e = entry.lock().unwrap_or_else(PoisonError::into_inner);
        let alg = e.hash.algorithm();
        match param {
            HP_ALGID => dword(out, calg_of(alg)),
            HP_HASHSIZE => dword(out, alg.output_len() as u32),
            HP_HASHVAL => {
                // A size query or a short buffer leaves the hash open.
                out.fits(alg.output_len())?;
                if out.is_size_query() {
                    return Ok(alg.output_len());
                }
                out.put(e.hash.finish().as_bytes())
            }
            other => Err(ProviderError::BadType {
                what: "CPGetHashParam parameter",
                value: other,
            }),
        }
    }
}

impl CspProvider {
    /// `CPDestroyHash`.
    pub fn destroy_hash(&self, h: Handle, hash: Handle) -> Result<(), ProviderError> {
        self.context(h)?;
        self.hash(h, hash)?;
        self.hashes.remove(hash)?;
        Ok(())
    }

    /// `CPDuplicateHash`: an independent copy, in the same state.
    pub fn duplicate_hash(&self, h: Handle, hash: Handle, flags: u32) -> Result<Handle, ProviderError> {
        self.context(h)?;
        let entry = self.hash(h, hash)?;
        check_flags("CPDuplicateHash", flags, 0)?;
        let copy = {
            let e = entry.lock().unwrap_or_else(PoisonError::into_inner);
            HashEntry {
                owner: e.owner,
                hash: e.hash.clone(),
            }
        };
        Ok(self.hashes.insert(Arc::new(Mutex::new(copy)))?)
    }

    /// `CPSignHash` with the container's `AT_SIGNATURE` key: the
    /// little-endian PKCS#1 v1.5 signature of the hash.
    ///
    /// The size query (and a buffer too small) is answered from the key
    /// length, without signing and without finishing the hash.
    pub fn sign_hash(
        &self,
        h: Handle,
        hash: Handle,
        key_spec: u32,
        flags: u32,
        out: Out<'_>,
    ) -> Result<usize, ProviderError> {
        let ctx = self.context(h)?;
        let entry = self.hash(h, hash)?;
        if flags & CRYPT_NOHASHOID != 0 {
            return Err(ProviderError::BadFlags {
                what: "CPSignHash (CRYPT_NOHASHOID: signatures always carry the DigestInfo)",
                flags,
            });
        }
        check_flags("CPSignHash", flags, 0)?;
        if key_spec != AT_SIGNATURE {
            return Err(ProviderError::NoKey(format!(
                "key spec {key_spec}: the container only has an AT_SIGNATURE key"
            )));
        }
        let container = Self::user_container(&ctx)?;
        let info = container.signer.key_info();
        if info.algorithm != KeyAlgorithm::Rsa {
            return Err(ProviderError::NoKey(format!(
                "the container's key is {info}, this provider type signs with RSA only"
            )));
        }
        let len = info.max_signature_len();
        out.fits(len)?;
        if out.is_size_query() {
            return Ok(len);
        }
        let digest = entry.lock().unwrap_or_else(PoisonError::into_inner).hash.finish();
        let algorithm = SignatureAlgorithm::new(SignatureScheme::RsaPkcs1v15, digest.algorithm());
        let signature = self.core.sign(container, algorithm, &digest)?;
        if signature.len() != len {
            return Err(Error::Protocol {
                service: "signer".into(),
                detail: format!("a {info} signature of {} bytes", signature.len()),
            }
            .into());
        }
        out.put(&blob::reverse(&signature))
    }

    /// `CPVerifySignature`: checks a little-endian PKCS#1 v1.5 signature of
    /// the hash with the user key or an imported public key.
    pub fn verify_signature(
        &self,
        h: Handle,
        hash: Handle,
        signature: &[u8],
        key: Handle,
        flags: u32,
    ) -> Result<(), ProviderError> {
        self.context(h)?;
        let entry = self.hash(h, hash)?;
        let k = self.key(h, key)?;
        if flags & CRYPT_NOHASHOID != 0 {
            return Err(ProviderError::BadFlags {
                what: "CPVerifySignature (CRYPT_NOHASHOID is not supported)",
                flags,
            });
        }
        check_flags("CPVerifySignature", flags, 0)?;
        let len = k.public.info().max_signature_len();
        if signature.len() > len {
            return Err(Error::BadSignature {
                detail: format!("{} bytes is longer than the {}-byte key", signature.len(), len),
            }
            .into());
        }
        // Little-endian: high-order zero bytes may have been left out at the end.
        let mut big_endian = vec![0u8; len - signature.len()];
        big_endian.extend(signature.iter().rev());
        let digest = entry.lock().unwrap_or_else(PoisonError::into_inner).hash.finish();
        let algorithm = SignatureAlgorithm::new(SignatureScheme::RsaPkcs1v15, digest.algorithm());
        k.public.verify_digest(algorithm, &digest, &big_endian)?;
        Ok(())
    }

    /// `CPGenRandom`: fills `buf` from the system's random generator.
    pub fn gen_random(&self, h: Handle, buf: &mut [u8]) -> Result<(), ProviderError> {
        self.context(h)?;
        aws_lc_rs::rand::fill(buf).map_err(|_| ProviderError::Internal("the random generator failed".into()))
    }

    /// The exports this provider does not offer (`CPGenKey`, `CPDeriveKey`,
    /// `CPEncrypt`, `CPDecrypt`, `CPHashSessionKey`): the context is still
    /// checked, so a bad handle is reported as such.
    pub fn unsupported(&self, h: Handle, what: &'static str) -> Result<(), ProviderError> {
        self.context(h)?;
        Err(ProviderError::not_supported(what))
    }
}

#[cfg(test)]
#[path = "capi_tests.rs"]
mod tests;
