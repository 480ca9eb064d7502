//! The KSP's semantics (see the [module documentation](super)): what each
//! slot of the function table does once `exports.rs` has checked its
//! pointers.

use std::ffi::c_void;
use std::sync::{Arc, Mutex, PoisonError};

use super::buffers::{BlockBuilder, Buffers};
use super::consts::*;
use super::format::*;
use super::padding::Padding;
use super::{NCRYPT_CRPKI_REGISTRAR_CERTIFICATE_PROPERTY, PROVIDER_NAME};
use crate::error::Error;
use crate::provider::error::{ProviderError, check_flags, other_context};
use crate::provider::handle::{Handle, HandleTable, ObjectKind};
use crate::provider::{Container, OpenOptions, Out, ProviderCore, SignatureCache, SignerSource, Worker};
use crate::signer::{Digest, KeyAlgorithm, PublicKey};

/// Window handle and use context, settable on providers and keys.
#[derive(Debug, Default)]
struct Settings {
    hwnd: Option<u64>,
    use_context: Option<String>,
}

impl Settings {
    fn get(&self, property: &str, out: Out<'_>) -> Option<Result<usize, ProviderError>> {
        match property {
            NCRYPT_WINDOW_HANDLE_PROPERTY => Some(match self.hwnd {
                Some(h) => out.put(&(h as usize).to_le_bytes()),
                None => Err(ProviderError::NotFound("no window handle was set".into())),
            }),
            NCRYPT_USE_CONTEXT_PROPERTY => Some(match &self.use_context {
                Some(c) => out.put(&utf16z(c)),
                None => Err(ProviderError::NotFound("no use context was set".into())),
            }),
            _ => None,
        }
    }

    fn set(&mut self, property: &str, data: &[u8]) -> Result<(), ProviderError> {
        match property {
            NCRYPT_WINDOW_HANDLE_PROPERTY => {
                let v = match data.len() {
                    4 => u64::from(le32(data, 0)),
                    8 => {
                        let mut w = [0u8; 8];
                        w.copy_from_slice(data);
                        u64::from_le_bytes(w)
                    }
                    n => return Err(ProviderError::BadLength(format!("a {n}-byte window handle"))),
                };
                self.hwnd = Some(v);
                Ok(())
            }
            NCRYPT_USE_CONTEXT_PROPERTY => {
                self.use_context = Some(utf16_value(data, "the use context")?);
                Ok(())
            }
            other => Err(ProviderError::not_supported(format!(
                "setting the property '{other}'"
            ))),
        }
    }
}

struct ProviderObject {
    silent: bool,
    machine: bool,
    settings: Mutex<Settings>,
}

enum KeyKind {
    User(Arc<Container>),
    Public,
}

struct KeyObject {
    owner: Handle,
    public: PublicKey,
    kind: KeyKind,
    settings: Mutex<Settings>,
}

/// The result of one `EnumKeys` call.
#[derive(Debug)]
pub struct EnumKeysStep {
    /// The `NCryptKeyName` for the caller (freed with `FreeBuffer`).
    pub key_name: *mut c_void,
    /// The enumeration state: the one passed in, or a new one (also freed
    /// with `FreeBuffer`).
    pub state: *mut c_void,
}

/// The CNG KSP: its handle tables and lent buffers over a [`ProviderCore`].
pub struct KspProvider {
    core: ProviderCore,
    providers: HandleTable<Arc<ProviderObject>>,
    keys: HandleTable<Arc<KeyObject>>,
    buffers: Buffers,
}

impl std::fmt::Debug for KspProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KspProvider")
            .field("providers", &self.providers.len())
            .field("keys", &self.keys.len())
            .field("buffers", &self.buffers.len())
            .finish()
    }
}

fn alg_name(a: KeyAlgorithm) -> &'static str {
    match a {
        KeyAlgorithm::Rsa => NCRYPT_RSA_ALGORITHM,
        _ => NCRYPT_ECDSA_P256_ALGORITHM,
    }
}

fn alg_group(a: KeyAlgorithm) -> &'static str {
    match a {
        KeyAlgorithm::Rsa => NCRYPT_RSA_ALGORITHM,
        _ => NCRYPT_ECDSA_ALGORITHM_GROUP,
    }
}

impl KspProvider {
    /// A KSP over `source`, with signer calls on `worker` and the default
    /// signature cache.
    pub fn new(source: Arc<dyn SignerSource>, worker: Worker) -> Self {
        Self::with_core(ProviderCore::new(source, worker, SignatureCache::default()))
    }

    /// A KSP over a prepared core.
    pub fn with_core(core: ProviderCore) -> Self {
        Self {
            core,
            providers: HandleTable::new(ObjectKind::Context),
            keys: HandleTable::new(ObjectKind::Key),
            buffers: Buffers::default(),
        }
    }

    /// How many provider handles, key handles and lent buffers are alive.
    pub fn live_objects(&self) -> (usize, usize, usize) {
        (self.providers.len(), self.keys.len(), self.buffers.len())
    }

    fn provider(&self, h: Handle) -> Result<Arc<ProviderObject>, ProviderError> {
        Ok(self.providers.get(h)?)
    }

    fn key(&self, h: Handle, key: Handle) -> Result<Arc<KeyObject>, ProviderError> {
        self.provider(h)?;
        let k = self.keys.get(key)?;
        if k.owner != h {
            return Err(other_context(ObjectKind::Key, key));
        }
        Ok(k)
    }

    fn user(k: &KeyObject) -> Result<&Arc<Container>, ProviderError> {
        match &k.kind {
            KeyKind::User(c) => Ok(c),
            KeyKind::Public => Err(ProviderError::NoKey(
                "an imported public key cannot sign and has no certificate".into(),
            )),
        }
    }

    /// `OpenProvider`: `name` is the name the router was asked for.
    pub fn open_provider(&self, name: Option<&str>, flags: u32) -> Result<Handle, ProviderError> {
        check_flags(
            "OpenProvider",
            flags,
            NCRYPT_SILENT_FLAG | NCRYPT_MACHINE_KEY_FLAG,
        )?;
        if let Some(n) = name.filter(|n| !n.is_empty() && *n != PROVIDER_NAME) {
            return Err(Error::NotFound {
                what: format!("key storage provider '{n}' (this is '{PROVIDER_NAME}')"),
            }
            .into());
        }
        let p = ProviderObject {
            silent: flags & NCRYPT_SILENT_FLAG != 0,
            machine: flags & NCRYPT_MACHINE_KEY_FLAG != 0,
            settings: Mutex::new(Settings::default()),
        };
        Ok(self.providers.insert(Arc::new(p))?)
    }

    /// `FreeProvider`: also frees the provider's keys and enumeration states.
    pub fn free_provider(&self, h: Handle) -> Result<(), ProviderError> {
        self.providers.remove(h)?;
        self.keys.remove_where(|k| k.owner == h);
        self.buffers.free_enum_states(h);
        Ok(())
    }

    /// `OpenKey`: `name` is the credential ID; null or empty opens the
    /// selected credential.
    pub fn open_key(
        &self,
        h: Handle,
        name: Option<&str>,
        legacy_key_spec: u32,
        flags: u32,
    ) -> Result<Handle, ProviderError> {
        let p = self.provider(h)?;
        check_flags("OpenKey", flags, NCRYPT_SILENT_FLAG | NCRYPT_MACHINE_KEY_FLAG)?;
        match legacy_key_spec {
            0 | AT_SIGNATURE | CERT_NCRYPT_KEY_SPEC => {}
            AT_KEYEXCHANGE => {
                return Err(ProviderError::NoKey(
                    "AT_KEYEXCHANGE: the credential only signs".into(),
                ));
            }
            other => {
                return Err(ProviderError::BadFlags {
                    what: "OpenKey legacy key spec",
                    flags: other,
                });
            }
        }
        let silent = p.silent || flags & NCRYPT_SILENT_FLAG != 0;
        let container = self
            .core
            .open(name.filter(|n| !n.is_empty()), OpenOptions::silent(silent))?;
        let public = container.signer.certificate().public_key()?;
        let key = KeyObject {
            owner: h,
            public,
            kind: KeyKind::User(container),
            settings: Mutex::new(Settings::default()),
        };
        Ok(self.keys.insert(Arc::new(key))?)
    }

    /// `FreeKey`.
    pub fn free_key(&self, h: Handle, key: Handle) -> Result<(), ProviderError> {
        self.key(h, key)?;
        self.keys.remove(key)?;
        Ok(())
    }

    /// `DeleteKey`: forgets this machine's binding of the credential
    /// ([`SignerSource::forget`]) and frees the handle. **The key in the
    /// signing service is never deleted.**
    pub fn delete_key(&self, h: Handle, key: Handle, flags: u32) -> Result<(), ProviderError> {
        let k = self.key(h, key)?;
        check_flags("DeleteKey", flags, NCRYPT_SILENT_FLAG)?;
        let container = Self::user(&k)?;
        self.core.forget(&container.name)?;
        self.keys.remove(key)?;
        Ok(())
    }

    /// `FreeBuffer`: gives back a buffer lent by `EnumKeys` or
    /// `EnumAlgorithms` (an enumeration state too).
    pub fn free_buffer(&self, p: *mut c_void) -> Result<(), ProviderError> {
        self.buffers.free(p as usize)
    }

    /// `GetProviderProperty`.
    pub fn get_provider_property(
        &self,
        h: Handle,
        property: &str,
        out: Out<'_>,
        flags: u32,
    ) -> Result<usize, ProviderError> {
        let p = self.provider(h)?;
        check_flags("GetProviderProperty", flags, NCRYPT_SILENT_FLAG)?;
        match property {
            NCRYPT_NAME_PROPERTY => out.put(&utf16z(PROVIDER_NAME)),
            NCRYPT_IMPL_TYPE_PROPERTY => out.put_u32(NCRYPT_IMPL_HARDWARE_FLAG),
            NCRYPT_VERSION_PROPERTY => {
                let major: u32 = env!("CARGO_PKG_VERSION_MAJOR").parse().unwrap_or(0);
                let minor: u32 = env!("CARGO_PKG_VERSION_MINOR").parse().unwrap_or(0);
                out.put_u32((major << 16) | (minor & 0xFFFF))
            }
            NCRYPT_MAX_NAME_LENGTH_PROPERTY => out.put_u32(NCRYPT_MAX_KEY_NAME_LENGTH),
            other => p
                .settings
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(other, out)
                .unwrap_or_else(|| {
                    Err(ProviderError::not_supported(format!(
                        "provider property '{other}'"
                    )))
                }),
        }
    }

    /// `SetProviderProperty`: `HWND Handle`, `Use Context`.
    pub fn set_provider_property(
        &self,
        h: Handle,
        property: &str,
        data: &[u8],
        flags: u32,
    ) -> Result<(), ProviderError> {
        let p = self.provider(h)?;
        check_flags("SetProviderProperty", flags, NCRYPT_SILENT_FLAG)?;
        p.settings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .set(property, data)
    }

    /// `GetKeyProperty`.
    pub fn get_key_property(
        &self,
        h: Handle,
        key: Handle,
        property: &str,
        out: Out<'_>,
        flags: u32,
    ) -> Result<usize, ProviderError> {
        let k = self.key(h, key)?;
        check_flags("GetKeyProperty", flags, NCRYPT_SILENT_FLAG)?;
        let info = k.public.info();
        match property {
            NCRYPT_ALGORITHM_GROUP_PROPERTY => out.put(&utf16z(alg_group(info.algorithm))),
            NCRYPT_ALGORITHM_PROPERTY => out.put(&utf16z(alg_name(info.algorithm))),
            NCRYPT_LENGTH_PROPERTY => out.put_u32(info.bits),
            NCRYPT_LENGTHS_PROPERTY => {
                let mut v = Vec::with_capacity(16);
                for x in [info.bits, info.bits, 0, info.bits] {
                    v.extend_from_slice(&x.to_le_bytes());
                }
                out.put(&v)
            }
            NCRYPT_KEY_USAGE_PROPERTY => out.put_u32(NCRYPT_ALLOW_SIGNING_FLAG),
            NCRYPT_EXPORT_POLICY_PROPERTY => out.put_u32(0),
            NCRYPT_KEY_TYPE_PROPERTY => {
                let machine = self.provider(h)?.machine;
                out.put_u32(if machine { NCRYPT_MACHINE_KEY_FLAG } else { 0 })
            }
            NCRYPT_NAME_PROPERTY | NCRYPT_UNIQUE_NAME_PROPERTY => out.put(&utf16z(&Self::user(&k)?.name)),
            NCRYPT_CERTIFICATE_PROPERTY => out.put(Self::user(&k)?.signer.certificate().der()),
            NCRYPT_CRPKI_REGISTRAR_CERTIFICATE_PROPERTY => {
                out.put(Self::user(&k)?.registrar_certificate()?.der())
            }
            other => k
                .settings
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(other, out)
                .unwrap_or_else(|| Err(ProviderError::not_supported(format!("key property '{other}'")))),
        }
    }

    /// `SetKeyProperty`: `HWND Handle`, `Use Context`.
    pub fn set_key_property(
        &self,
        h: Handle,
        key: Handle,
        property: &str,
        data: &[u8],
        flags: u32,
    ) -> Result<(), ProviderError> {
        let k = self.key(h, key)?;
        check_flags("SetKeyProperty", flags, NCRYPT_SILENT_FLAG)?;
        if property == NCRYPT_PIN_PROPERTY {
            let KeyKind::User(container) = &k.kind else {
                return Err(ProviderError::not_supported("a PIN for an imported public key"));
            };
            let pin = crate::Secret::new(utf16_value(data, "the PIN")?);
            return self.core.set_pin(&container.name, pin);
        }
        k.settings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .set(property, data)
    }

    /// `ImportKey`: public blobs only, without an import key.
    pub fn import_key(
        &self,
        h: Handle,
        import_key: usize,
        blob_type: &str,
        data: &[u8],
        flags: u32,
    ) -> Result<Handle, ProviderError> {
        self.provider(h)?;
        check_flags("ImportKey", flags, NCRYPT_SILENT_FLAG)?;
        if import_key != 0 {
            return Err(ProviderError::not_supported("ImportKey with a wrapping key"));
        }
        let public = parse_public_blob(blob_type, data)?;
        let key = KeyObject {
            owner: h,
            public,
            kind: KeyKind::Public,
            settings: Mutex::new(Settings::default()),
        };
        Ok(self.keys.insert(Arc::new(key))?)
    }

    /// `ExportKey`: the public blob of the key.
    pub fn export_key(
        &self,
        h: Handle,
        key: Handle,
        export_key: usize,
        blob_type: &str,
        out: Out<'_>,
        flags: u32,
    ) -> Result<usize, ProviderError> {
        let k = self.key(h, key)?;
        check_flags("ExportKey", flags, NCRYPT_SILENT_FLAG)?;
        if export_key != 0 {
            return Err(ProviderError::not_supported("ExportKey with a wrapping key"));
        }
        let rsa = k.public.info().algorithm == KeyAlgorithm::Rsa;
        match blob_type {
            BCRYPT_PUBLIC_KEY_BLOB => {}
            BCRYPT_RSAPUBLIC_BLOB if rsa => {}
            BCRYPT_ECCPUBLIC_BLOB if !rsa => {}
            BCRYPT_RSAPUBLIC_BLOB | BCRYPT_ECCPUBLIC_BLOB => {
                return Err(ProviderError::BadData(format!(
                    "a {} key cannot be exported as {blob_type}",
                    k.public.info()
                )));
            }
            other
                if other.contains("PRIVATE")
                    || other.starts_with("PKCS8")
                    || other.ends_with("FULLPRIVATEBLOB") =>
            {
                return Err(ProviderError::NotExportable(
                    "a private blob: the private key never leaves the signer",
                ));
            }
            other => return Err(ProviderError::not_supported(format!("export as '{other}'"))),
        }
        out.put(&public_blob(&k.public)?)
    }

    /// `SignHash`: the big-endian signature of `hash` (see the module
    /// documentation for paddings). The size query does not sign.
    pub fn sign_hash(
        &self,
        h: Handle,
        key: Handle,
        padding: Padding,
        hash: &[u8],
        out: Out<'_>,
        flags: u32,
    ) -> Result<usize, ProviderError> {
        let k = self.key(h, key)?;
        check_flags(
            "SignHash",
            flags,
            NCRYPT_SILENT_FLAG | BCRYPT_PAD_PKCS1 | BCRYPT_PAD_PSS,
        )?;
        let container = Self::user(&k)?;
        let info = container.signer.key_info();
        let algorithm = padding.algorithm(&info, hash.len())?;
        let len = signature_len(&info);
        out.fits(len)?;
        if out.is_size_query() {
            return Ok(len);
        }
        let digest = Digest::new(algorithm.hash, hash.to_vec())?;
        let container = if flags & NCRYPT_SILENT_FLAG != 0 && !container.options.silent {
            self.core.open(Some(&container.name), OpenOptions::silent(true))?
        } else {
            container.clone()
        };
        let signature = self.core.sign(&container, algorithm, &digest)?;
        let signature = match info.algorithm {
            KeyAlgorithm::Rsa => signature,
            _ => ecdsa_der_to_raw(&signature)?,
        };
        if signature.len() != len {
            return Err(Error::Protocol {
                service: "signer".into(),
                detail: format!("a {info} signature of {} bytes", signature.len()),
            }
            .into());
        }
        out.put(&signature)
    }

    /// `VerifySignature`: with the user key or an imported public key.
    pub fn verify_signature(
        &self,
        h: Handle,
        key: Handle,
        padding: Padding,
        hash: &[u8],
        signature: &[u8],
        flags: u32,
    ) -> Result<(), ProviderError> {
        let k = self.key(h, key)?;
        check_flags(
            "VerifySignature",
            flags,
            NCRYPT_SILENT_FLAG | BCRYPT_PAD_PKCS1 | BCRYPT_PAD_PSS,
        )?;
        let info = k.public.info();
        let algorithm = padding.algorithm(&info, hash.len())?;
        let digest = Digest::new(algorithm.hash, hash.to_vec())?;
        let der;
        let signature = match info.algorithm {
            KeyAlgorithm::Rsa => signature,
            _ => {
                der = ecdsa_raw_to_der(signature)?;
                &der
            }
        };
        k.public.verify_digest(algorithm, &digest, signature)?;
        Ok(())
    }

    /// `IsAlgSupported`: `RSA` and `ECDSA_P256`.
    pub fn is_alg_supported(&self, h: Handle, alg: &str, flags: u32) -> Result<(), ProviderError> {
        self.provider(h)?;
        check_flags("IsAlgSupported", flags, NCRYPT_SILENT_FLAG)?;
        match alg {
            NCRYPT_RSA_ALGORITHM | NCRYPT_ECDSA_P256_ALGORITHM => Ok(()),
            other => Err(ProviderError::not_supported(format!("algorithm '{other}'"))),
        }
    }

    /// `EnumAlgorithms`: the signature algorithms (for class 0 or
    /// `NCRYPT_SIGNATURE_OPERATION`); returns the count and the array.
    pub fn enum_algorithms(
        &self,
        h: Handle,
        operations: u32,
        flags: u32,
    ) -> Result<(u32, *mut c_void), ProviderError> {
        self.provider(h)?;
        check_flags("EnumAlgorithms", flags, NCRYPT_SILENT_FLAG)?;
        let names: &[&str] = if operations == 0 || operations & NCRYPT_SIGNATURE_OPERATION != 0 {
            &[NCRYPT_RSA_ALGORITHM, NCRYPT_ECDSA_P256_ALGORITHM]
        } else {
            &[]
        };
        let mut b = BlockBuilder::new(ALG_NAME_LEN * names.len(), names);
        for (i, name) in names.iter().enumerate() {
            let at = i * ALG_NAME_LEN;
            b.put_string(at, name);
            b.put_u32(at + 8, NCRYPT_SIGNATURE_INTERFACE);
            b.put_u32(at + 12, NCRYPT_SIGNATURE_OPERATION);
            b.put_u32(at + 16, 0);
        }
        Ok((names.len() as u32, self.buffers.lend(b.finish())))
    }

    /// `EnumKeys`: one credential per call. `state` is the caller's
    /// `*ppEnumState` (null on the first call); the end is
    /// `NTE_NO_MORE_ITEMS`.
    pub fn enum_keys(
        &self,
        h: Handle,
        state: *mut c_void,
        flags: u32,
    ) -> Result<EnumKeysStep, ProviderError> {
        let p = self.provider(h)?;
        check_flags("EnumKeys", flags, NCRYPT_SILENT_FLAG | NCRYPT_MACHINE_KEY_FLAG)?;
        let mut state = state;
        let created = state.is_null();
        if created {
            let options = OpenOptions::silent(p.silent || flags & NCRYPT_SILENT_FLAG != 0);
            let list = self.core.containers(options)?;
            // The algorithm is the key's: learn it by opening, and leave it
            // out for a credential that cannot be opened now.
            let names = list
                .into_iter()
                .map(|c| {
                    let alg = self
                        .core
                        .open(Some(&c.name), options)
                        .ok()
                        .map(|o| o.signer.key_info().algorithm);
                    (c.name, alg)
                })
                .collect();
            state = self.buffers.lend_enum_state(h, names);
        }
        let item = self.buffers.next_key(state, h, created)?;
        let (name, alg) = item.ok_or(ProviderError::NoMoreItems)?;
        let alg = alg.map(alg_name).unwrap_or("");
        let mut b = BlockBuilder::new(KEY_NAME_LEN, &[&name, alg]);
        b.put_string(0, &name);
        b.put_string(8, alg);
        b.put_u32(16, AT_SIGNATURE);
        b.put_u32(20, if p.machine { NCRYPT_MACHINE_KEY_FLAG } else { 0 });
        Ok(EnumKeysStep {
            key_name: self.buffers.lend(b.finish()),
            state,
        })
    }

    /// The slots this provider does not offer: the provider handle is still
    /// checked, so a bad handle is reported as such.
    pub fn unsupported(&self, h: Handle, what: &'static str) -> Result<(), ProviderError> {
        self.provider(h)?;
        Err(ProviderError::not_supported(what))
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
