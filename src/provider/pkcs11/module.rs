//! The library between `C_Initialize` and `C_Finalize`: slots, sessions,
//! login, object search, signing and verification, over the provider core.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use cryptoki_sys::*;

use super::mech::{Input, Mechanism};
use super::token::{Slot, Token, padded};
use super::{Rv, rv_name};
use crate::error::Error;
use crate::provider::{
    ErrorLog, OpenOptions, ProviderCore, SignatureCache, Worker, blob, default_source, worker,
};
use crate::secret::Secret;
use crate::signer::SignatureScheme;

/// The longest PIN accepted, in bytes.
pub const MAX_PIN_LEN: usize = 64;

/// What `C_Initialize` was given.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InitArgs {
    /// All four mutex callbacks were given.
    pub mutex_callbacks: bool,
    /// `CKF_OS_LOCKING_OK`.
    pub os_locking_ok: bool,
    /// `CKF_LIBRARY_CANT_CREATE_OS_THREADS`.
    pub cant_create_threads: bool,
}

/// The answer of a function with an output buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// The length only (null buffer): the operation goes on.
    Length(usize),
    /// The buffer is too small for this length: the operation goes on.
    TooSmall(usize),
    /// The bytes: the operation is over.
    Data(Vec<u8>),
}

/// One attribute asked for with `C_GetAttributeValue`.
#[derive(Debug, PartialEq, Eq)]
pub enum AttributeValue<'a> {
    /// Its value.
    Value(&'a [u8]),
    /// The object has no such attribute.
    Invalid,
    /// The attribute is secret.
    Sensitive,
}

/// A signature or verification in progress.
#[derive(Debug)]
struct Operation {
    mechanism: Mechanism,
    input: Input,
    /// `C_Login(CKU_CONTEXT_SPECIFIC)` was made for it.
    context_login: bool,
}

#[derive(Debug)]
struct Session {
    token: Arc<Token>,
    slot: CK_SLOT_ID,
    find: Option<Vec<CK_OBJECT_HANDLE>>,
    sign: Option<Operation>,
    verify: Option<Operation>,
}

/// The library's state (see the [module documentation](super)).
#[derive(Debug)]
pub struct Module {
    core: ProviderCore,
    pid: u32,
    slots: Mutex<Option<Arc<Vec<Slot>>>>,
    sessions: Mutex<HashMap<CK_SESSION_HANDLE, Arc<Mutex<Session>>>>,
    next_session: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The module of this process, between `C_Initialize` and `C_Finalize`.
static MODULE: Mutex<Option<Arc<Module>>> = Mutex::new(None);

/// `C_Initialize`: checks the arguments and makes the module (a fresh one
/// in a child process that inherited its parent's).
pub fn initialize(args: Option<InitArgs>) -> Result<(), Rv> {
    let args = args.unwrap_or_default();
    if args.mutex_callbacks && !args.os_locking_ok {
        return Err(Rv::new(
            CKR_CANT_LOCK,
            "the module locks with the OS's primitives: it needs CKF_OS_LOCKING_OK or no mutex callbacks",
        ));
    }
    let mut slot = lock(&MODULE);
    if let Some(m) = slot.as_ref() {
        if m.pid == std::process::id() {
            return Err(Rv::new(
                CKR_CRYPTOKI_ALREADY_INITIALIZED,
                "C_Initialize called twice",
            ));
        }
        // A child of fork: the parent's module stays untouched in memory.
        if let Some(old) = slot.take() {
            std::mem::forget(old);
        }
    }
    if args.cant_create_threads {
        ErrorLog::global().failure_named(
            "C_Initialize",
            0,
            "CKR_OK",
            "CKF_LIBRARY_CANT_CREATE_OS_THREADS: accepted; the module still starts its one worker thread for \
             the signing service's HTTPS calls (it never calls into the application)",
        );
    }
    let core = ProviderCore::new(
        default_source(),
        Worker::new(worker::DEFAULT_TIMEOUT, None),
        SignatureCache::default(),
    );
    *slot = Some(Arc::new(Module::new(core)));
    Ok(())
}

/// `C_Finalize`.
pub fn finalize() -> Result<(), Rv> {
    let mut slot = lock(&MODULE);
    match slot.take() {
        Some(m) if m.pid == std::process::id() => Ok(()),
        other => {
            if let Some(m) = other {
                std::mem::forget(m);
            }
            Err(Rv::new(
                CKR_CRYPTOKI_NOT_INITIALIZED,
                "C_Finalize before C_Initialize",
            ))
        }
    }
}

/// The module, for every other function.
pub fn module() -> Result<Arc<Module>, Rv> {
    lock(&MODULE)
        .as_ref()
        .filter(|m| m.pid == std::process::id())
        .cloned()
        .ok_or_else(|| {
            Rv::new(
                CKR_CRYPTOKI_NOT_INITIALIZED,
                "C_Initialize was not called (in this process)",
            )
        })
}

impl Module {
    /// A module over `core`.
    pub fn new(core: ProviderCore) -> Self {
        Self {
            core,
            pid: std::process::id(),
            slots: Mutex::new(None),
            sessions: Mutex::new(HashMap::new()),
            next_session: AtomicU64::new(1),
        }
    }

    /// `CK_INFO`.
    pub fn info() -> CK_INFO {
        CK_INFO {
            cryptokiVersion: CK_VERSION { major: 2, minor: 40 },
            manufacturerID: padded("crpki"),
            flags: 0,
            libraryDescription: padded("crpki remote signing"),
            libraryVersion: CK_VERSION {
                major: env!("CARGO_PKG_VERSION_MAJOR").parse().unwrap_or(0),
                minor: env!("CARGO_PKG_VERSION_MINOR").parse().unwrap_or(0),
            },
        }
    }

    /// The slots, enumerated at the first call; `C_GetSlotList` (`again`)
    /// looks again while none has a token (not logged in yet).
    fn slots_again(&self, again: bool) -> Arc<Vec<Slot>> {
        let mut cached = lock(&self.slots);
        if let Some(s) = cached
            .as_ref()
            .filter(|s| !again || s.iter().any(|s| s.token.is_ok()))
        {
            return s.clone();
        }
        let slots = Arc::new(self.enumerate());
        *cached = Some(slots.clone());
        slots
    }

    fn slots(&self) -> Arc<Vec<Slot>> {
        self.slots_again(false)
    }

    fn enumerate(&self) -> Vec<Slot> {
        // The slot description (64 bytes) says it short; the log says why.
        let absent = |short: &str, why: String| {
            ErrorLog::global().failure_named(
                "C_GetSlotList",
                CKR_TOKEN_NOT_PRESENT as u32,
                rv_name(CKR_TOKEN_NOT_PRESENT),
                &why,
            );
            vec![Slot {
                id: 0,
                token: Err(short.to_owned()),
            }]
        };
        let list = match self.core.containers(OpenOptions::default()) {
            Ok(l) if l.is_empty() => {
                return absent(
                    "no credential",
                    "no credential in the current crpki profile".into(),
                );
            }
            Ok(l) => l,
            Err(e) => {
                let rv = Rv::from(e);
                let why = format!("no token: {} (run `crpki login`)", rv.detail);
                return absent("run `crpki login`", why);
            }
        };
        list.iter()
            .enumerate()
            .map(|(i, c)| {
                let id = i as CK_SLOT_ID;
                let token = self
                    .core
                    .open(Some(&c.name), OpenOptions::default())
                    .map_err(Rv::from)
                    .and_then(|container| Token::new(id, container))
                    .map(Arc::new)
                    .map_err(|rv| {
                        let why = format!("credential {}: {}", c.name, rv.detail);
                        ErrorLog::global().failure_named(
                            "C_GetSlotList",
                            rv.code as u32,
                            rv_name(rv.code),
                            &why,
                        );
                        format!("{}: unusable (see the log)", c.name)
                    });
                Slot { id, token }
            })
            .collect()
    }

    fn slot(&self, id: CK_SLOT_ID) -> Result<(Arc<Vec<Slot>>, usize), Rv> {
        let slots = self.slots();
        let i = slots
            .iter()
            .position(|s| s.id == id)
            .ok_or_else(|| Rv::new(CKR_SLOT_ID_INVALID, format!("slot {id}")))?;
        Ok((slots, i))
    }

    fn token(&self, id: CK_SLOT_ID) -> Result<Arc<Token>, Rv> {
        let (slots, i) = self.slot(id)?;
        slots[i]
            .token
            .clone()
            .map_err(|why| Rv::new(CKR_TOKEN_NOT_PRESENT, format!("slot {id}: {why}")))
    }

    /// `C_GetSlotList`.
    pub fn slot_list(&self, token_present: bool) -> Vec<CK_SLOT_ID> {
        self.slots_again(true)
            .iter()
            .filter(|s| !token_present || s.token.is_ok())
            .map(|s| s.id)
            .collect()
    }

    /// `C_GetSlotInfo`.
    pub fn slot_info(&self, id: CK_SLOT_ID) -> Result<CK_SLOT_INFO, Rv> {
        let (slots, i) = self.slot(id)?;
        let (description, flags) = match &slots[i].token {
            Ok(t) => (format!("crpki {}", t.container.name), CKF_TOKEN_PRESENT),
            Err(why) => (format!("crpki: {why}"), 0),
        };
        let version = Self::info().libraryVersion;
        Ok(CK_SLOT_INFO {
            slotDescription: padded(&description),
            manufacturerID: padded("crpki"),
            flags,
            hardwareVersion: version,
            firmwareVersion: version,
        })
    }

    /// `C_GetTokenInfo`.
    pub fn token_info(&self, id: CK_SLOT_ID) -> Result<CK_TOKEN_INFO, Rv> {
        let token = self.token(id)?;
        let sessions = lock(&self.sessions)
            .values()
            .filter(|s| lock(s).slot == id)
            .count();
        Ok(token.info(sessions))
    }

    /// `C_GetMechanismList`.
    pub fn mechanisms(&self, id: CK_SLOT_ID) -> Result<Vec<CK_MECHANISM_TYPE>, Rv> {
        Ok(Mechanism::list(&self.token(id)?.key))
    }

    /// `C_GetMechanismInfo`.
    pub fn mechanism_info(&self, id: CK_SLOT_ID, m: CK_MECHANISM_TYPE) -> Result<CK_MECHANISM_INFO, Rv> {
        Mechanism::info(m, &self.token(id)?.key)
    }

    /// `C_OpenSession`.
    pub fn open_session(&self, id: CK_SLOT_ID, flags: CK_FLAGS) -> Result<CK_SESSION_HANDLE, Rv> {
        if flags & CKF_SERIAL_SESSION == 0 {
            return Err(Rv::new(
                CKR_SESSION_PARALLEL_NOT_SUPPORTED,
                "CKF_SERIAL_SESSION is not set",
            ));
        }
        let token = self.token(id)?;
        if flags & CKF_RW_SESSION != 0 {
            return Err(Rv::new(
                CKR_TOKEN_WRITE_PROTECTED,
                "read-write session on a read-only token",
            ));
        }
        let h = self.next_session.fetch_add(1, Ordering::SeqCst);
        let s = Session {
            token,
            slot: id,
            find: None,
            sign: None,
            verify: None,
        };
        lock(&self.sessions).insert(h, Arc::new(Mutex::new(s)));
        Ok(h)
    }

    fn session(&self, h: CK_SESSION_HANDLE) -> Result<Arc<Mutex<Session>>, Rv> {
        lock(&self.sessions)
            .get(&h)
            .cloned()
            .ok_or_else(|| Rv::new(CKR_SESSION_HANDLE_INVALID, format!("session {h}")))
    }

    /// `C_CloseSession`. The last session of a token logs it out.
    pub fn close_session(&self, h: CK_SESSION_HANDLE) -> Result<(), Rv> {
        let s = lock(&self.sessions)
            .remove(&h)
            .ok_or_else(|| Rv::new(CKR_SESSION_HANDLE_INVALID, format!("session {h}")))?;
        let (slot, token) = {
            let s = lock(&s);
            (s.slot, s.token.clone())
        };
        if !lock(&self.sessions).values().any(|s| lock(s).slot == slot) {
            self.log_out(&token)?;
        }
        Ok(())
    }

    /// Logs `token` out: the module's state, and the source's PIN, OTP and
    /// kept authorization, so that the next login's PIN is checked by the
    /// service before anything is signed again.
    fn log_out(&self, token: &Token) -> Result<(), Rv> {
        token.set_logged_in(false);
        Ok(self.core.log_out(&token.container)?)
    }

    /// `C_CloseAllSessions`.
    pub fn close_all_sessions(&self, id: CK_SLOT_ID) -> Result<(), Rv> {
        let token = self.token(id)?;
        lock(&self.sessions).retain(|_, s| lock(s).slot != id);
        self.log_out(&token)
    }

    /// `C_GetSessionInfo`.
    pub fn session_info(&self, h: CK_SESSION_HANDLE) -> Result<CK_SESSION_INFO, Rv> {
        let s = self.session(h)?;
        let s = lock(&s);
        let state = if s.token.is_logged_in() {
            CKS_RO_USER_FUNCTIONS
        } else {
            CKS_RO_PUBLIC_SESSION
        };
        Ok(CK_SESSION_INFO {
            slotID: s.slot,
            state,
            flags: CKF_SERIAL_SESSION,
            ulDeviceError: 0,
        })
    }

    /// `C_Login`.
    pub fn login(&self, h: CK_SESSION_HANDLE, user: CK_USER_TYPE, pin: &[u8]) -> Result<(), Rv> {
        let s = self.session(h)?;
        let mut s = lock(&s);
        if !(1..=MAX_PIN_LEN).contains(&pin.len()) {
            return Err(Rv::new(CKR_PIN_LEN_RANGE, format!("a {}-byte PIN", pin.len())));
        }
        let pin = std::str::from_utf8(pin).map_err(|_| Rv::new(CKR_PIN_INVALID, "the PIN is not UTF-8"))?;
        let token = s.token.clone();
        match user {
            CKU_USER => {
                if token.is_logged_in() && !token.pin_refused() {
                    return Err(Rv::new(CKR_USER_ALREADY_LOGGED_IN, "C_Login twice"));
                }
                if token.auth.pin {
                    self.core.set_pin(&token.container.name, Secret::new(pin))?;
                }
                token.set_logged_in(true);
                Ok(())
            }
            CKU_CONTEXT_SPECIFIC => {
                let op = s.sign.as_mut().ok_or_else(|| {
                    Rv::new(
                        CKR_OPERATION_NOT_INITIALIZED,
                        "CKU_CONTEXT_SPECIFIC without C_SignInit",
                    )
                })?;
                if !token.always_authenticate {
                    // The kept authorization would sign without ever
                    // checking this value: refused, as the specification
                    // says for a key without CKA_ALWAYS_AUTHENTICATE.
                    return Err(Rv::new(
                        CKR_OPERATION_NOT_INITIALIZED,
                        "CKU_CONTEXT_SPECIFIC for a key without CKA_ALWAYS_AUTHENTICATE",
                    ));
                }
                // The value is the OTP when the credential asks for one
                // (its PIN, if any, came with CKU_USER), else the PIN.
                if token.auth.otp {
                    self.core.set_otp(&token.container.name, Secret::new(pin))?;
                } else if token.auth.pin {
                    self.core.set_pin(&token.container.name, Secret::new(pin))?;
                }
                op.context_login = true;
                Ok(())
            }
            CKU_SO => Err(Rv::new(
                CKR_USER_TYPE_INVALID,
                "the token has no security officer",
            )),
            other => Err(Rv::new(CKR_USER_TYPE_INVALID, format!("user type {other}"))),
        }
    }

    /// `C_Logout`.
    pub fn logout(&self, h: CK_SESSION_HANDLE) -> Result<(), Rv> {
        let s = self.session(h)?;
        let token = lock(&s).token.clone();
        if !token.is_logged_in() {
            return Err(Rv::new(CKR_USER_NOT_LOGGED_IN, "C_Logout without C_Login"));
        }
        self.log_out(&token)
    }

    /// `C_FindObjectsInit`: `template` as `(type, value)`.
    pub fn find_init(
        &self,
        h: CK_SESSION_HANDLE,
        template: &[(CK_ATTRIBUTE_TYPE, Vec<u8>)],
    ) -> Result<(), Rv> {
        let s = self.session(h)?;
        let mut s = lock(&s);
        if s.find.is_some() {
            return Err(Rv::new(CKR_OPERATION_ACTIVE, "a search is going on"));
        }
        let found = s
            .token
            .objects
            .iter()
            .filter(|o| s.token.visible(o) && o.matches(template))
            .map(|o| o.handle)
            .rev()
            .collect();
        s.find = Some(found);
        Ok(())
    }

    /// `C_FindObjects`: up to `max` more handles.
    pub fn find(&self, h: CK_SESSION_HANDLE, max: usize) -> Result<Vec<CK_OBJECT_HANDLE>, Rv> {
        let s = self.session(h)?;
        let mut s = lock(&s);
        let left = s.find.as_mut().ok_or_else(|| {
            Rv::new(
                CKR_OPERATION_NOT_INITIALIZED,
                "C_FindObjects without C_FindObjectsInit",
            )
        })?;
        let n = max.min(left.len());
        Ok((0..n).filter_map(|_| left.pop()).collect())
    }

    /// `C_FindObjectsFinal`.
    pub fn find_final(&self, h: CK_SESSION_HANDLE) -> Result<(), Rv> {
        let s = self.session(h)?;
        lock(&s).find.take().map(|_| ()).ok_or_else(|| {
            Rv::new(
                CKR_OPERATION_NOT_INITIALIZED,
                "C_FindObjectsFinal without a search",
            )
        })
    }

    /// `C_GetAttributeValue`: the answers for `types`, in order.
    pub fn attributes(
        &self,
        h: CK_SESSION_HANDLE,
        object: CK_OBJECT_HANDLE,
        types: &[CK_ATTRIBUTE_TYPE],
        mut each: impl FnMut(AttributeValue<'_>),
    ) -> Result<(), Rv> {
        let session = self.session(h)?;
        let token = lock(&session).token.clone();
        let o = token.object(object)?;
        for &t in types {
            each(o.attribute(t));
        }
        Ok(())
    }

    /// `C_SignInit` (`verify` false) and `C_VerifyInit` (true).
    pub fn operation_init(
        &self,
        h: CK_SESSION_HANDLE,
        mechanism: CK_MECHANISM_TYPE,
        param: Option<&[u8]>,
        key: CK_OBJECT_HANDLE,
        verify: bool,
    ) -> Result<(), Rv> {
        let s = self.session(h)?;
        let mut s = lock(&s);
        let token = s.token.clone();
        let o = token
            .object(key)
            .map_err(|rv| Rv::new(CKR_KEY_HANDLE_INVALID, rv.detail))?;
        let wanted = if verify { CKO_PUBLIC_KEY } else { CKO_PRIVATE_KEY };
        if o.attribute(CKA_CLASS) != AttributeValue::Value(&wanted.to_ne_bytes()) {
            return Err(Rv::new(
                CKR_KEY_FUNCTION_NOT_PERMITTED,
                format!("object {key:#x} cannot do this"),
            ));
        }
        let slot = if verify { &mut s.verify } else { &mut s.sign };
        if slot.is_some() {
            return Err(Rv::new(CKR_OPERATION_ACTIVE, "an operation is going on"));
        }
        let mechanism = Mechanism::new(mechanism, param, &token.key)?;
        *slot = Some(Operation {
            input: mechanism.input(),
            mechanism,
            context_login: false,
        });
        Ok(())
    }

    /// `C_SignUpdate` and `C_VerifyUpdate`. A failure ends the operation.
    pub fn update(&self, h: CK_SESSION_HANDLE, part: &[u8], verify: bool) -> Result<(), Rv> {
        let s = self.session(h)?;
        let mut s = lock(&s);
        let slot = if verify { &mut s.verify } else { &mut s.sign };
        let op = slot
            .as_mut()
            .ok_or_else(|| Rv::new(CKR_OPERATION_NOT_INITIALIZED, "no operation"))?;
        let r = op.input.update(part);
        if r.is_err() {
            *slot = None;
        }
        r
    }

    /// `C_Sign` (`data` given) and `C_SignFinal` (`None`); `capacity` is
    /// the caller's buffer (`None`: null, the length is asked for).
    pub fn sign(
        &self,
        h: CK_SESSION_HANDLE,
        data: Option<&[u8]>,
        capacity: Option<usize>,
    ) -> Result<Answer, Rv> {
        let s = self.session(h)?;
        let mut s = lock(&s);
        let token = s.token.clone();
        let op = s
            .sign
            .as_ref()
            .ok_or_else(|| Rv::new(CKR_OPERATION_NOT_INITIALIZED, "C_Sign without C_SignInit"))?;
        let len = op.mechanism.signature_len;
        match capacity {
            None => return Ok(Answer::Length(len)),
            Some(c) if c < len => return Ok(Answer::TooSmall(len)),
            Some(_) => {}
        }
        let Some(mut op) = s.sign.take() else {
            return Err(Rv::new(
                CKR_OPERATION_NOT_INITIALIZED,
                "C_Sign without C_SignInit",
            ));
        };
        drop(s);
        if token.auth.pin && !token.is_logged_in() {
            return Err(Rv::new(
                CKR_USER_NOT_LOGGED_IN,
                "the token needs C_Login before signing",
            ));
        }
        if token.pin_refused() {
            return Err(Rv::new(
                CKR_PIN_INCORRECT,
                "the service refused the PIN of the last C_Login; it is not sent again: log in with another",
            ));
        }
        if token.always_authenticate && !op.context_login {
            return Err(Rv::new(
                CKR_USER_NOT_LOGGED_IN,
                "the key needs C_Login(CKU_CONTEXT_SPECIFIC) for every signature",
            ));
        }
        if let Some(d) = data {
            op.input.update(d)?;
        }
        let (algorithm, digest) = op.mechanism.digest(op.input)?;
        let signature = match self.core.sign(&token.container, algorithm, &digest) {
            Ok(sig) => sig,
            Err(e) => {
                let rv = Rv::from(e);
                if rv.code == CKR_PIN_INCORRECT && token.auth.pin {
                    // The source forgot the PIN; the application must log
                    // in again. (A refused OTP was spent anyway: the next
                    // signature's CKU_CONTEXT_SPECIFIC brings another.)
                    token.refuse_pin();
                }
                return Err(rv);
            }
        };
        Ok(Answer::Data(match algorithm.scheme {
            SignatureScheme::Ecdsa => blob::ecdsa_der_to_raw(&signature)?,
            _ => signature,
        }))
    }

    /// `C_Verify` (`data` given) and `C_VerifyFinal` (`None`), locally.
    pub fn verify(&self, h: CK_SESSION_HANDLE, data: Option<&[u8]>, signature: &[u8]) -> Result<(), Rv> {
        let s = self.session(h)?;
        let mut s = lock(&s);
        let token = s.token.clone();
        let mut op = s
            .verify
            .take()
            .ok_or_else(|| Rv::new(CKR_OPERATION_NOT_INITIALIZED, "C_Verify without C_VerifyInit"))?;
        drop(s);
        if signature.len() != op.mechanism.signature_len {
            return Err(Rv::new(
                CKR_SIGNATURE_LEN_RANGE,
                format!("a {}-byte signature", signature.len()),
            ));
        }
        if let Some(d) = data {
            op.input.update(d)?;
        }
        let (algorithm, digest) = op.mechanism.digest(op.input)?;
        let der;
        let signature = match algorithm.scheme {
            SignatureScheme::Ecdsa => {
                der = blob::ecdsa_raw_to_der(signature)?;
                &der[..]
            }
            _ => signature,
        };
        token
            .public
            .verify_digest(algorithm, &digest, signature)
            .map_err(|e| match e {
                Error::BadSignature { .. } => Rv::new(CKR_SIGNATURE_INVALID, e.to_string()),
                other => Rv::from(other),
            })
    }
}
