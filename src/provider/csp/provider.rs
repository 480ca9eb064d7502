//! The CSP's semantics (see the [module documentation](super)): what each
//! `CP*` export does once `exports.rs` has checked its pointers.

use std::sync::{Arc, Mutex, PoisonError};

use super::algs::{ALGS, calg_of, hash_algorithm};
use super::consts::*;
use super::{KP_CRPKI_ROOT_CERTIFICATE, PROV_RSA_AES, PROVIDER_NAME};
use crate::error::Error;
use crate::provider::blob::{self, CALG_RSA_SIGN};
use crate::provider::error::{ProviderError, check_flags, other_context};
use crate::provider::handle::{Handle, HandleTable, ObjectKind};
use crate::provider::hash::HashObject;
use crate::provider::{Container, OpenOptions, Out, ProviderCore, SignatureCache, SignerSource, Worker};
use crate::signer::{KeyAlgorithm, PublicKey, SignatureAlgorithm, SignatureScheme};

fn dword(out: Out<'_>, value: u32) -> Result<usize, ProviderError> {
    out.put(&value.to_le_bytes())
}

fn ansi(out: Out<'_>, s: &str) -> Result<usize, ProviderError> {
    let mut bytes = Vec::with_capacity(s.len() + 1);
    bytes.extend_from_slice(s.as_bytes());
    bytes.push(0);
    out.put(&bytes)
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
#[path = "tests.rs"]
mod tests;
