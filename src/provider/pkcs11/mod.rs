//! The PKCS#11 module (feature `pkcs11`): `libcrpki.so` (Linux),
//! `libcrpki.dylib` (macOS), a Cryptoki v2.40 library that lets NSS
//! (Firefox, Thunderbird, LibreOffice), OpenSSL (libp11's engine), GnuTLS,
//! OpenSC's `pkcs11-tool`, Java's SunPKCS11 and other consumers sign with
//! the remote key, on the same [`ProviderCore`](super::ProviderCore) as the
//! Windows CSP and KSP: the signer source, the worker thread, the signature
//! cache, the PIN handling and the error log are the core's.
//!
//! # Files
//!
//! - `exports.rs`, the only file here with `unsafe`: the `C_*` functions
//!   and the function list. Each export checks its pointers, calls
//!   [`Module`] with plain values and slices, and returns the `CKR_*` code;
//!   a panic is caught ([`catch_panic`](super::catch_panic)) and every
//!   failure is logged ([`ErrorLog`](super::ErrorLog)).
//! - `module.rs`: [`Module`], the library's state between `C_Initialize`
//!   and `C_Finalize`: slots, sessions, login, find, sign and verify.
//! - `token.rs`: a token per credential, its objects and their attributes.
//! - `mech.rs`: the mechanisms, their parameters and their input.
//!
//! # Why `cryptoki-sys` and our own semantics
//!
//! The C types and constants come from `cryptoki-sys` (pre-generated
//! bindings of the OASIS headers, no build-time bindgen); the semantics are
//! ours, as for the CSP and the KSP. `native-pkcs11` brings its own object
//! store, its own backend trait and its own runtime and locking around it:
//! the module would then hold a second copy of what the provider core
//! already does (signer source, worker thread, cache, PIN handling, error
//! log), and its error and login model would sit between the exports and
//! the core.
//!
//! # Slots and tokens
//!
//! Slots are enumerated at the first `C_GetSlotList`: one slot per
//! container of [`default_source`](super::default_source) — the
//! credentials of the current `crpki` profile, or the configured PKCS#12
//! containers, exactly as for the DLLs. Each slot holds a token labelled
//! with the corporate name and the credential (`serialNumber`: the end of
//! the certificate's serial number in hex). Token flags:
//! `CKF_TOKEN_INITIALIZED`, `CKF_USER_PIN_INITIALIZED`,
//! `CKF_WRITE_PROTECTED` (nothing can be created or changed) and
//! `CKF_LOGIN_REQUIRED` when the credential is authorized with a PIN. No
//! `CKF_RNG` (there is no `C_GenerateRandom`).
//!
//! **Not logged in** (no `crpki login` yet, or after `crpki logout`), or no
//! credential: the module shows one slot without a token
//! (`CKF_TOKEN_PRESENT` clear), whose description says why, and logs a line
//! naming `crpki login`; `C_GetTokenInfo` and `C_OpenSession` on it answer
//! `CKR_TOKEN_NOT_PRESENT`. The next `C_GetSlotList` looks again, so a login
//! made while the application runs is seen.
//!
//! # Objects
//!
//! Per token: the certificate (`CKO_CERTIFICATE`, `CKC_X_509`, category
//! "token user"), the public key, the private key (`CKA_SIGN`,
//! `CKA_SENSITIVE`, not extractable; `CKA_PRIVATE` and hidden before
//! `C_Login` when the token needs one; `CKA_ALWAYS_AUTHENTICATE` when every
//! signature needs a PIN or a one-time password from the user: not for a
//! credential approved in the browser, `oauth2code`, whose every signature
//! opens the approval page instead), all with the same `CKA_ID`, and the
//! registrar's self-signed certificate (登記官証明書) as an authority
//! certificate, when the signer knows it. Nothing can be created, copied,
//! changed or destroyed.
//!
//! # Mechanisms
//!
//! See [`MECHANISMS`]: `CKM_RSA_PKCS` takes a DER `DigestInfo` of SHA-256,
//! -384 or -512 (the digest is taken out and sent as a hash: the service
//! signs hashes, not arbitrary data); `CKM_SHA*_RSA_PKCS`,
//! `CKM_SHA*_RSA_PKCS_PSS` and `CKM_ECDSA_SHA256` hash the data here;
//! `CKM_RSA_PKCS_PSS` and `CKM_ECDSA` take the hash. PSS parameters must
//! name the same hash, MGF1 with it and a salt as long as it
//! (`CKR_MECHANISM_PARAM_INVALID` otherwise). ECDSA signatures are `r || s`.
//! A null output buffer (or one too small) only gets the length, without a
//! network call; `C_Verify` checks locally with the certificate's key.
//!
//! # Login
//!
//! A login is the token's, for every session of the application.
//! `C_Login(CKU_USER, pin)` gives the PIN to the source
//! ([`SignerSource::set_pin`](super::SignerSource::set_pin), as
//! `PP_SIGNATURE_PIN` does for the CSP); the service checks it at the next
//! authorization, so a wrong PIN shows at the next signature as
//! `CKR_PIN_INCORRECT`, the token is logged out and the PIN is never sent
//! again. PINs are 1 to 64 bytes (`CKR_PIN_LEN_RANGE`). Signing before the
//! login a token needs is `CKR_USER_NOT_LOGGED_IN`.
//!
//! `CKU_CONTEXT_SPECIFIC` (after `C_SignInit`, for keys with
//! `CKA_ALWAYS_AUTHENTICATE`: SCAL 2 credentials authorized with a PIN, and
//! those that need a one-time password) gives what that one signature
//! needs: the one-time password when the credential asks for one
//! ([`SignerSource::set_otp`](super::SignerSource::set_otp): it serves one
//! authorization, then its memory is wiped; it is never logged), else the
//! PIN. A credential that needs both takes its PIN with `CKU_USER` and the
//! OTP here. A refused OTP is `CKR_PIN_INCORRECT` for that signature only:
//! the next one brings another (for a credential that needs both, the
//! service does not say which of the two it refused, so the PIN is
//! forgotten as well and the next signature needs `C_Login` again). On a
//! key without `CKA_ALWAYS_AUTHENTICATE` it is
//! `CKR_OPERATION_NOT_INITIALIZED`, as the specification says for an
//! improper use: the value would never be checked. `CRPKI_PIN` and
//! `CRPKI_OTP` still serve when the application gives nothing.
//!
//! `C_Logout` (and closing the token's last session, which the
//! specification makes a logout) wipes the PIN and any unused OTP the
//! source keeps, drops the authorization they bought (a SCAL 1
//! authorization kept for the following signatures) and the signatures of
//! the key still in the core's cache. Signing then needs `C_Login` again,
//! and the PIN of that login is checked by the service before anything is
//! signed: a wrong PIN after a good one is `CKR_PIN_INCORRECT`, never a
//! signature made on the old authorization. A second `C_Login(CKU_USER)`
//! without `C_Logout` is `CKR_USER_ALREADY_LOGGED_IN` (the specification's
//! answer; the PIN is not taken), except after the service refused the
//! PIN of the first.
//!
//! # Threads and processes
//!
//! `C_Initialize` takes null arguments or `CKF_OS_LOCKING_OK` (the module
//! locks with the OS's primitives); mutex callbacks without
//! `CKF_OS_LOCKING_OK` are `CKR_CANT_LOCK`. Remote calls run on the core's
//! one worker thread, started at the first network call.
//! `CKF_LIBRARY_CANT_CREATE_OS_THREADS` (NSS and GnuTLS always send it) is
//! accepted and the worker thread is started all the same: without it no
//! HTTPS request could be made, and the thread never calls back into the
//! application; the decision is written to the log once. Sessions may be
//! used from many threads at once. A child process made by `fork` calls
//! `C_Initialize` again and gets a fresh module (and its own worker
//! thread); the parent's state is left alone.
//!
//! # Error codes
//!
//! See [`Rv::from`]: a service that cannot be reached is
//! `CKR_DEVICE_ERROR`, a logout (`crpki logout`) while the application runs
//! `CKR_DEVICE_REMOVED`, a refused PIN `CKR_PIN_INCORRECT`; each failure
//! leaves a line in the provider's error log with its reason.

mod exports;
mod mech;
mod module;
mod token;

#[cfg(test)]
mod tests;

pub use cryptoki_sys as sys;
pub use mech::{MECHANISMS, Mechanism};
pub use module::{Answer, AttributeValue, InitArgs, Module, finalize, initialize, module};
pub use token::{Object, Slot, Token};

use cryptoki_sys::*;

use super::error::ProviderError;
use crate::error::Error;

/// A `CKR_*` failure with its reason, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rv {
    /// The code returned.
    pub code: CK_RV,
    /// Why (logged, never returned).
    pub detail: String,
}

impl Rv {
    /// A code with its reason.
    pub fn new(code: CK_RV, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
        }
    }

    /// A code that is a normal answer to a probe, not logged.
    pub fn quiet(code: CK_RV) -> Self {
        Self::new(code, "")
    }

    /// Whether the failure is worth a log line: not for the normal steps of
    /// size queries, attribute and interface probes.
    pub fn is_logged(&self) -> bool {
        !self.detail.is_empty()
            && !matches!(
                self.code,
                CKR_BUFFER_TOO_SMALL | CKR_ATTRIBUTE_TYPE_INVALID | CKR_ATTRIBUTE_SENSITIVE
            )
    }
}

impl From<ProviderError> for Rv {
    fn from(e: ProviderError) -> Self {
        let code = match &e {
            ProviderError::Handle(_) => CKR_SESSION_HANDLE_INVALID,
            ProviderError::NullPointer(_) => CKR_ARGUMENTS_BAD,
            ProviderError::MoreData { .. } => CKR_BUFFER_TOO_SMALL,
            ProviderError::BadLength(_) => CKR_DATA_LEN_RANGE,
            ProviderError::BadData(_) => CKR_DATA_INVALID,
            ProviderError::NotSupported(_) => CKR_FUNCTION_NOT_SUPPORTED,
            ProviderError::TableFull(_) => CKR_HOST_MEMORY,
            ProviderError::Crate(inner) => return Rv::from_error(inner, super::guard::full_text(&e)),
            _ => CKR_GENERAL_ERROR,
        };
        Rv::new(code, super::guard::full_text(&e))
    }
}

impl From<Error> for Rv {
    fn from(e: Error) -> Self {
        let text = super::guard::full_text(&e);
        Rv::from_error(&e, text)
    }
}

impl Rv {
    /// The code for an error of the signer or its source.
    fn from_error(e: &Error, detail: String) -> Self {
        let code = match e {
            Error::NotFound { .. } | Error::Config { .. } => CKR_TOKEN_NOT_PRESENT,
            // A PIN the application did not give, or an approval it cannot
            // make: the application should log in.
            Error::InteractionRequired { .. } | Error::AuthorizationInvalid { .. } => CKR_USER_NOT_LOGGED_IN,
            Error::Cancelled { .. } => CKR_FUNCTION_CANCELED,
            // The GビズID session is gone (`crpki logout`): the token went.
            Error::Unauthenticated { .. } => CKR_DEVICE_REMOVED,
            Error::WrongPassword { .. } | Error::InvalidOtp { .. } => CKR_PIN_INCORRECT,
            Error::CredentialUnusable { .. } => CKR_KEY_FUNCTION_NOT_PERMITTED,
            Error::BadSignature { .. } | Error::ContentModified => CKR_SIGNATURE_INVALID,
            Error::InvalidDigest { .. } => CKR_DATA_LEN_RANGE,
            Error::Malformed { .. } => CKR_DATA_INVALID,
            Error::InvalidArgument { .. } => CKR_ARGUMENTS_BAD,
            Error::Unsupported { .. } => CKR_MECHANISM_INVALID,
            Error::KeyMismatch { .. } => CKR_KEY_TYPE_INCONSISTENT,
            Error::Io { .. } => CKR_GENERAL_ERROR,
            // The service is down, answers nonsense or refuses: the device
            // failed.
            _ => CKR_DEVICE_ERROR,
        };
        Rv::new(code, detail)
    }
}

/// The symbolic name of the codes this module returns, for log lines.
pub fn rv_name(code: CK_RV) -> &'static str {
    match code {
        CKR_OK => "CKR_OK",
        CKR_HOST_MEMORY => "CKR_HOST_MEMORY",
        CKR_SLOT_ID_INVALID => "CKR_SLOT_ID_INVALID",
        CKR_GENERAL_ERROR => "CKR_GENERAL_ERROR",
        CKR_ARGUMENTS_BAD => "CKR_ARGUMENTS_BAD",
        CKR_NEED_TO_CREATE_THREADS => "CKR_NEED_TO_CREATE_THREADS",
        CKR_CANT_LOCK => "CKR_CANT_LOCK",
        CKR_ATTRIBUTE_SENSITIVE => "CKR_ATTRIBUTE_SENSITIVE",
        CKR_ATTRIBUTE_TYPE_INVALID => "CKR_ATTRIBUTE_TYPE_INVALID",
        CKR_DATA_INVALID => "CKR_DATA_INVALID",
        CKR_DATA_LEN_RANGE => "CKR_DATA_LEN_RANGE",
        CKR_DEVICE_ERROR => "CKR_DEVICE_ERROR",
        CKR_DEVICE_REMOVED => "CKR_DEVICE_REMOVED",
        CKR_FUNCTION_CANCELED => "CKR_FUNCTION_CANCELED",
        CKR_FUNCTION_NOT_SUPPORTED => "CKR_FUNCTION_NOT_SUPPORTED",
        CKR_KEY_HANDLE_INVALID => "CKR_KEY_HANDLE_INVALID",
        CKR_KEY_TYPE_INCONSISTENT => "CKR_KEY_TYPE_INCONSISTENT",
        CKR_KEY_FUNCTION_NOT_PERMITTED => "CKR_KEY_FUNCTION_NOT_PERMITTED",
        CKR_MECHANISM_INVALID => "CKR_MECHANISM_INVALID",
        CKR_MECHANISM_PARAM_INVALID => "CKR_MECHANISM_PARAM_INVALID",
        CKR_OBJECT_HANDLE_INVALID => "CKR_OBJECT_HANDLE_INVALID",
        CKR_OPERATION_ACTIVE => "CKR_OPERATION_ACTIVE",
        CKR_OPERATION_NOT_INITIALIZED => "CKR_OPERATION_NOT_INITIALIZED",
        CKR_PIN_INCORRECT => "CKR_PIN_INCORRECT",
        CKR_PIN_INVALID => "CKR_PIN_INVALID",
        CKR_PIN_LEN_RANGE => "CKR_PIN_LEN_RANGE",
        CKR_SESSION_HANDLE_INVALID => "CKR_SESSION_HANDLE_INVALID",
        CKR_SESSION_PARALLEL_NOT_SUPPORTED => "CKR_SESSION_PARALLEL_NOT_SUPPORTED",
        CKR_SIGNATURE_INVALID => "CKR_SIGNATURE_INVALID",
        CKR_SIGNATURE_LEN_RANGE => "CKR_SIGNATURE_LEN_RANGE",
        CKR_TEMPLATE_INCONSISTENT => "CKR_TEMPLATE_INCONSISTENT",
        CKR_TOKEN_NOT_PRESENT => "CKR_TOKEN_NOT_PRESENT",
        CKR_TOKEN_WRITE_PROTECTED => "CKR_TOKEN_WRITE_PROTECTED",
        CKR_USER_ALREADY_LOGGED_IN => "CKR_USER_ALREADY_LOGGED_IN",
        CKR_USER_NOT_LOGGED_IN => "CKR_USER_NOT_LOGGED_IN",
        CKR_USER_TYPE_INVALID => "CKR_USER_TYPE_INVALID",
        CKR_BUFFER_TOO_SMALL => "CKR_BUFFER_TOO_SMALL",
        CKR_CRYPTOKI_NOT_INITIALIZED => "CKR_CRYPTOKI_NOT_INITIALIZED",
        CKR_CRYPTOKI_ALREADY_INITIALIZED => "CKR_CRYPTOKI_ALREADY_INITIALIZED",
        CKR_FUNCTION_NOT_PARALLEL => "CKR_FUNCTION_NOT_PARALLEL",
        _ => "CKR_?",
    }
}
