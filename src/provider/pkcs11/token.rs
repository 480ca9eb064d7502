//! Slots, tokens and their objects: a token per credential, holding its
//! certificate, public key, private key and the registrar's certificate,
//! each a fixed list of attributes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use cryptoki_sys::*;
use der::Encode;

use super::{AttributeValue, Rv};
use crate::cert::Certificate;
use crate::provider::Container;
use crate::signer::{KeyAlgorithm, KeyInfo, PublicKey, UserAuthentication};

/// The DER OID of P-256 (`CKA_EC_PARAMS`).
const P256_PARAMS: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// Attributes a private key has but never shows.
const SENSITIVE: [CK_ATTRIBUTE_TYPE; 7] = [
    CKA_PRIVATE_EXPONENT,
    CKA_PRIME_1,
    CKA_PRIME_2,
    CKA_EXPONENT_1,
    CKA_EXPONENT_2,
    CKA_COEFFICIENT,
    CKA_VALUE,
];

/// Object handles of a slot: `(slot + 1) << 8 | kind`.
const CERT: CK_OBJECT_HANDLE = 1;
const PUBLIC: CK_OBJECT_HANDLE = 2;
const PRIVATE: CK_OBJECT_HANDLE = 3;
const ROOT: CK_OBJECT_HANDLE = 4;

/// One slot: a token, or why there is none.
#[derive(Debug)]
pub struct Slot {
    /// Its ID.
    pub id: CK_SLOT_ID,
    /// Its token, or the reason it has none.
    pub token: Result<Arc<Token>, String>,
}

/// A token over one credential.
pub struct Token {
    /// The opened container.
    pub container: Arc<Container>,
    /// Its label (at most 32 bytes).
    pub label: String,
    /// Its serial number (at most 16 characters).
    pub serial: String,
    /// What the user supplies.
    pub auth: UserAuthentication,
    /// Every signature needs a value of the user's (a PIN or a one-time
    /// password) given with `C_Login(CKU_CONTEXT_SPECIFIC)`: the key's
    /// `CKA_ALWAYS_AUTHENTICATE`. Not for a credential approved in the
    /// browser (`oauth2code`), which needs the user per signature but no
    /// value from the application.
    pub always_authenticate: bool,
    /// The key.
    pub key: KeyInfo,
    /// The certificate's public key.
    pub public: PublicKey,
    /// The objects.
    pub objects: Vec<Object>,
    logged_in: AtomicBool,
    pin_refused: AtomicBool,
}

crate::crypto::debug_fields!(Token {
    label,
    serial,
    auth,
    key,
    ..
});

/// An object and its attributes.
#[derive(Debug)]
pub struct Object {
    /// Its handle.
    pub handle: CK_OBJECT_HANDLE,
    /// Shown only after the login the token needs.
    pub private: bool,
    attributes: Vec<(CK_ATTRIBUTE_TYPE, Vec<u8>)>,
    sensitive: bool,
}

/// A `CK_ULONG` attribute value.
fn ulong(v: CK_ULONG) -> Vec<u8> {
    v.to_ne_bytes().to_vec()
}

/// A `CK_BBOOL` attribute value.
fn flag(b: bool) -> Vec<u8> {
    vec![if b { CK_TRUE } else { CK_FALSE }]
}

/// `s` cut to at most `max` bytes at a character boundary.
fn cut(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

/// A space-padded fixed-width text field.
pub(super) fn padded<const N: usize>(s: &str) -> [CK_UTF8CHAR; N] {
    let mut out = [b' '; N];
    let s = cut(s, N);
    out[..s.len()].copy_from_slice(s.as_bytes());
    out
}

impl Object {
    /// The value of `attribute`, or why there is none.
    pub fn attribute(&self, attribute: CK_ATTRIBUTE_TYPE) -> AttributeValue<'_> {
        if self.sensitive && SENSITIVE.contains(&attribute) {
            return AttributeValue::Sensitive;
        }
        match self.attributes.iter().find(|(t, _)| *t == attribute) {
            Some((_, v)) => AttributeValue::Value(v),
            None => AttributeValue::Invalid,
        }
    }

    /// Whether the object has every `(type, value)` of `template`.
    pub fn matches(&self, template: &[(CK_ATTRIBUTE_TYPE, Vec<u8>)]) -> bool {
        template
            .iter()
            .all(|(t, v)| self.attribute(*t) == AttributeValue::Value(v))
    }
}

fn der_of(what: &str, r: der::Result<Vec<u8>>) -> Result<Vec<u8>, Rv> {
    r.map_err(|e| {
        Rv::new(
            CKR_GENERAL_ERROR,
            format!("encoding the certificate's {what}: {e}"),
        )
    })
}

/// The attributes every certificate object has.
fn certificate_attributes(
    cert: &Certificate,
    id: &[u8],
    label: &str,
    category: CK_ULONG,
) -> Result<Vec<(CK_ATTRIBUTE_TYPE, Vec<u8>)>, Rv> {
    let tbs = cert.inner().tbs_certificate();
    Ok(vec![
        (CKA_CLASS, ulong(CKO_CERTIFICATE)),
        (CKA_TOKEN, flag(true)),
        (CKA_PRIVATE, flag(false)),
        (CKA_MODIFIABLE, flag(false)),
        (CKA_LABEL, label.as_bytes().to_vec()),
        (CKA_ID, id.to_vec()),
        (CKA_CERTIFICATE_TYPE, ulong(CKC_X_509)),
        (CKA_TRUSTED, flag(false)),
        (CKA_CERTIFICATE_CATEGORY, ulong(category)),
        (CKA_SUBJECT, der_of("subject", tbs.subject().to_der())?),
        (CKA_ISSUER, der_of("issuer", tbs.issuer().to_der())?),
        (
            CKA_SERIAL_NUMBER,
            der_of("serial number", tbs.serial_number().to_der())?,
        ),
        (CKA_VALUE, cert.der().to_vec()),
        (CKA_PUBLIC_KEY_INFO, cert.public_key_der().to_vec()),
    ])
}

/// The key attributes both key objects share.
fn key_attributes(
    class: CK_OBJECT_CLASS,
    public: &PublicKey,
    cert: &Certificate,
    id: &[u8],
    label: &str,
) -> Result<Vec<(CK_ATTRIBUTE_TYPE, Vec<u8>)>, Rv> {
    let tbs = cert.inner().tbs_certificate();
    let mut a = vec![
        (CKA_CLASS, ulong(class)),
        (CKA_TOKEN, flag(true)),
        (CKA_MODIFIABLE, flag(false)),
        (CKA_LABEL, label.as_bytes().to_vec()),
        (CKA_ID, id.to_vec()),
        (CKA_SUBJECT, der_of("subject", tbs.subject().to_der())?),
        (CKA_LOCAL, flag(false)),
        (CKA_KEY_GEN_MECHANISM, ulong(CK_UNAVAILABLE_INFORMATION)),
        (CKA_DERIVE, flag(false)),
        (CKA_PUBLIC_KEY_INFO, public.spki_der().to_vec()),
    ];
    match public.info().algorithm {
        KeyAlgorithm::Rsa => {
            let (n, e) = public.rsa_components()?;
            a.push((CKA_KEY_TYPE, ulong(CKK_RSA)));
            a.push((CKA_MODULUS, n));
            a.push((CKA_PUBLIC_EXPONENT, e));
            a.push((CKA_MODULUS_BITS, ulong(CK_ULONG::from(public.info().bits))));
        }
        _ => {
            let point = public.ec_point()?;
            let point = der_of(
                "EC point",
                der::asn1::OctetString::new(point).and_then(|o| o.to_der()),
            )?;
            a.push((CKA_KEY_TYPE, ulong(CKK_EC)));
            a.push((CKA_EC_PARAMS, P256_PARAMS.to_vec()));
            a.push((CKA_EC_POINT, point));
        }
    }
    Ok(a)
}

impl Token {
    /// The token of slot `slot` over `container`.
    pub fn new(slot: CK_SLOT_ID, container: Arc<Container>) -> Result<Self, Rv> {
        let signer = &container.signer;
        let cert = signer.certificate();
        let public = cert.public_key()?;
        let key = signer.key_info();
        let auth = signer.user_authentication();
        let always_authenticate = auth.per_signature && (auth.pin || auth.otp);
        let corporate = cert.moj().ok().flatten().and_then(|m| m.corporate_name);
        let label = match corporate {
            Some(c) => cut(&format!("{} {c}", container.name), 32),
            None => cut(&container.name, 32),
        };
        let serial_hex = cert.serial_hex().to_uppercase();
        let serial = serial_hex[serial_hex.len().saturating_sub(16)..].to_owned();
        let id = &container.key_id[..20];
        let base = (slot + 1) << 8;
        let mut objects = vec![
            Object {
                handle: base | CERT,
                private: false,
                attributes: certificate_attributes(cert, id, &container.name, 1)?,
                sensitive: false,
            },
            Object {
                handle: base | PUBLIC,
                private: false,
                attributes: {
                    let mut a = key_attributes(CKO_PUBLIC_KEY, &public, cert, id, &container.name)?;
                    a.extend([
                        (CKA_PRIVATE, flag(false)),
                        (CKA_VERIFY, flag(true)),
                        (CKA_VERIFY_RECOVER, flag(false)),
                        (CKA_ENCRYPT, flag(false)),
                        (CKA_WRAP, flag(false)),
                        (CKA_TRUSTED, flag(false)),
                    ]);
                    a
                },
                sensitive: false,
            },
            Object {
                handle: base | PRIVATE,
                private: auth.pin,
                attributes: {
                    let mut a = key_attributes(CKO_PRIVATE_KEY, &public, cert, id, &container.name)?;
                    a.extend([
                        (CKA_PRIVATE, flag(auth.pin)),
                        (CKA_SENSITIVE, flag(true)),
                        (CKA_ALWAYS_SENSITIVE, flag(true)),
                        (CKA_EXTRACTABLE, flag(false)),
                        (CKA_NEVER_EXTRACTABLE, flag(true)),
                        (CKA_SIGN, flag(true)),
                        (CKA_SIGN_RECOVER, flag(false)),
                        (CKA_DECRYPT, flag(false)),
                        (CKA_UNWRAP, flag(false)),
                        (CKA_WRAP_WITH_TRUSTED, flag(false)),
                        (CKA_ALWAYS_AUTHENTICATE, flag(always_authenticate)),
                    ]);
                    a
                },
                sensitive: true,
            },
        ];
        if let Ok(root) = container.registrar_certificate() {
            let root_id = root.sha256_fingerprint();
            objects.push(Object {
                handle: base | ROOT,
                private: false,
                attributes: certificate_attributes(root, &root_id[..20], "registrar root", 2)?,
                sensitive: false,
            });
        }
        Ok(Self {
            label,
            serial,
            auth,
            always_authenticate,
            key,
            public,
            objects,
            container,
            logged_in: AtomicBool::new(false),
            pin_refused: AtomicBool::new(false),
        })
    }

    /// The slot an object handle belongs to.
    pub fn slot_of(handle: CK_OBJECT_HANDLE) -> Option<CK_SLOT_ID> {
        (handle >> 8).checked_sub(1)
    }

    /// The object `handle`, if it is this token's and visible now.
    pub fn object(&self, handle: CK_OBJECT_HANDLE) -> Result<&Object, Rv> {
        self.objects
            .iter()
            .find(|o| o.handle == handle && self.visible(o))
            .ok_or_else(|| Rv::new(CKR_OBJECT_HANDLE_INVALID, format!("object handle {handle:#x}")))
    }

    /// Whether `o` is shown now (private objects only after the login).
    pub fn visible(&self, o: &Object) -> bool {
        !o.private || self.is_logged_in()
    }

    /// Whether the user logged in.
    pub fn is_logged_in(&self) -> bool {
        self.logged_in.load(Ordering::SeqCst)
    }

    /// Records a login or a logout (either forgets a refused PIN).
    pub fn set_logged_in(&self, yes: bool) {
        self.logged_in.store(yes, Ordering::SeqCst);
        self.pin_refused.store(false, Ordering::SeqCst);
    }

    /// Whether the service refused the PIN of the login: signatures are
    /// refused here (`CKR_PIN_INCORRECT`) until the next `C_Login`, so that
    /// the PIN is never sent again.
    pub fn pin_refused(&self) -> bool {
        self.pin_refused.load(Ordering::SeqCst)
    }

    /// Records that the service refused the PIN.
    pub fn refuse_pin(&self) {
        self.pin_refused.store(true, Ordering::SeqCst);
    }

    /// `CK_TOKEN_INFO`; `sessions` open on it.
    pub fn info(&self, sessions: usize) -> CK_TOKEN_INFO {
        let mut flags = CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED | CKF_WRITE_PROTECTED;
        if self.auth.pin {
            flags |= CKF_LOGIN_REQUIRED;
        }
        let version = CK_VERSION {
            major: env!("CARGO_PKG_VERSION_MAJOR").parse().unwrap_or(0),
            minor: env!("CARGO_PKG_VERSION_MINOR").parse().unwrap_or(0),
        };
        CK_TOKEN_INFO {
            label: padded(&self.label),
            manufacturerID: padded("crpki"),
            model: padded("remote signer"),
            serialNumber: padded(&self.serial),
            flags,
            ulMaxSessionCount: CK_EFFECTIVELY_INFINITE,
            ulSessionCount: sessions as CK_ULONG,
            ulMaxRwSessionCount: 0,
            ulRwSessionCount: 0,
            ulMaxPinLen: super::module::MAX_PIN_LEN as CK_ULONG,
            ulMinPinLen: 1,
            ulTotalPublicMemory: CK_UNAVAILABLE_INFORMATION,
            ulFreePublicMemory: CK_UNAVAILABLE_INFORMATION,
            ulTotalPrivateMemory: CK_UNAVAILABLE_INFORMATION,
            ulFreePrivateMemory: CK_UNAVAILABLE_INFORMATION,
            hardwareVersion: version,
            firmwareVersion: version,
            utcTime: padded(""),
        }
    }
}
