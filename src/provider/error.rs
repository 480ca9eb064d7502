//! What goes wrong inside a provider, and the one function that turns it
//! into the status code a Windows caller sees.
//!
//! # The mapping ([`status_code`])
//!
//! CryptoAPI exports return `FALSE` and set the code with `SetLastError`;
//! CNG exports return it as a `SECURITY_STATUS`. Both use the same `NTE_*`
//! values except where the table says otherwise.
//!
//! | condition | CryptoAPI (CSP) | CNG (KSP) |
//! |---|---|---|
//! | null, foreign, wrong-type or destroyed context handle | `NTE_BAD_UID` | `NTE_INVALID_HANDLE` |
//! | … key handle | `NTE_BAD_KEY` | `NTE_INVALID_HANDLE` |
//! | … hash handle | `NTE_BAD_HASH` | `NTE_INVALID_HANDLE` |
//! | a required pointer is null | `ERROR_INVALID_PARAMETER` | `NTE_INVALID_PARAMETER` |
//! | output buffer too small (the size is returned too) | `ERROR_MORE_DATA` | `NTE_BUFFER_TOO_SMALL` |
//! | end of an enumeration | `ERROR_NO_MORE_ITEMS` | `NTE_NO_MORE_ITEMS` |
//! | unknown or unsupported flags | `NTE_BAD_FLAGS` | `NTE_BAD_FLAGS` |
//! | unsupported algorithm id | `NTE_BAD_ALGID` | `NTE_BAD_ALGID` |
//! | unknown parameter or blob type | `NTE_BAD_TYPE` | `NTE_NOT_SUPPORTED` |
//! | wrong length (hash value, signature, blob) | `NTE_BAD_LEN` | `NTE_BAD_LEN` |
//! | malformed blob or input | `NTE_BAD_DATA` | `NTE_BAD_DATA` |
//! | hash already finished | `NTE_BAD_HASH_STATE` | `NTE_BAD_HASH_STATE` |
//! | something asked for does not exist (a root the signer does not know) | `NTE_NOT_FOUND` | `NTE_NOT_FOUND` |
//! | no such key in the context (AT_KEYEXCHANGE, verify-only context) | `NTE_NO_KEY` | `NTE_NO_KEY` |
//! | the key cannot be exported in that form | `NTE_BAD_KEY_STATE` | `NTE_BAD_KEY_STATE` |
//! | operation not supported (key generation, encryption, …) | `NTE_NOT_SUPPORTED` | `NTE_NOT_SUPPORTED` |
//! | too many open objects | `NTE_NO_MEMORY` | `NTE_NO_MEMORY` |
//! | a panic, a lost worker, anything internal | `NTE_FAIL` | `NTE_FAIL` |
//!
//! and for a [`crate::Error`] coming from the signer or its source:
//!
//! | `crate::Error` | code |
//! |---|---|
//! | `NotFound` (no such container/credential) | `NTE_BAD_KEYSET` |
//! | `Config` (no signer configured, bad config file) | `NTE_KEYSET_NOT_DEF` |
//! | `InteractionRequired` (login or approval needed, caller asked for silence) | `NTE_SILENT_CONTEXT` |
//! | `Cancelled` (user cancelled, approval timed out) | `SCARD_W_CANCELLED_BY_USER` |
//! | `Unauthenticated`, `AuthorizationInvalid` | `NTE_PERM` |
//! | `WrongPassword`, `InvalidOtp` | `SCARD_W_WRONG_CHV` |
//! | `CredentialUnusable` (locked, disabled, revoked) | `NTE_BAD_KEY_STATE` |
//! | `ServiceUnavailable` (network, 5xx, timeouts) | `NTE_DEVICE_NOT_READY` |
//! | `BadSignature`, `ContentModified` | `NTE_BAD_SIGNATURE` |
//! | `InvalidDigest` | `NTE_BAD_LEN` |
//! | `Malformed` | `NTE_BAD_DATA` |
//! | `InvalidArgument` | `ERROR_INVALID_PARAMETER` (CSP), `NTE_INVALID_PARAMETER` (KSP) |
//! | `Unsupported` | `NTE_NOT_SUPPORTED` |
//! | `KeyMismatch` | `NTE_BAD_KEY` |
//! | `Untrusted`: expired or not yet valid | `CERT_E_EXPIRED` |
//! | `Untrusted`: bad certificate signature | `TRUST_E_CERT_SIGNATURE` |
//! | `Untrusted`: anything else | `CERT_E_UNTRUSTEDROOT` |
//! | `Io`, `Protocol`, `Remote`, `Other` | `NTE_FAIL` |
//!
//! The text of every error goes to the provider log (see [`super::log`]);
//! the code is all the caller gets.

use super::handle::{HandleError, ObjectKind, TableFull};
use crate::error::{Error, TrustFailure};

/// The status codes the providers return (values from `winerror.h`).
#[allow(missing_docs)]
pub mod codes {
    pub const ERROR_INVALID_PARAMETER: u32 = 87;
    pub const ERROR_MORE_DATA: u32 = 234;
    pub const ERROR_NO_MORE_ITEMS: u32 = 259;
    pub const NTE_BAD_UID: u32 = 0x8009_0001;
    pub const NTE_BAD_HASH: u32 = 0x8009_0002;
    pub const NTE_BAD_KEY: u32 = 0x8009_0003;
    pub const NTE_BAD_LEN: u32 = 0x8009_0004;
    pub const NTE_BAD_DATA: u32 = 0x8009_0005;
    pub const NTE_BAD_SIGNATURE: u32 = 0x8009_0006;
    pub const NTE_BAD_ALGID: u32 = 0x8009_0008;
    pub const NTE_BAD_FLAGS: u32 = 0x8009_0009;
    pub const NTE_BAD_TYPE: u32 = 0x8009_000A;
    pub const NTE_BAD_KEY_STATE: u32 = 0x8009_000B;
    pub const NTE_BAD_HASH_STATE: u32 = 0x8009_000C;
    pub const NTE_NO_KEY: u32 = 0x8009_000D;
    pub const NTE_NO_MEMORY: u32 = 0x8009_000E;
    pub const NTE_PERM: u32 = 0x8009_0010;
    pub const NTE_NOT_FOUND: u32 = 0x8009_0011;
    pub const NTE_BAD_KEYSET: u32 = 0x8009_0016;
    pub const NTE_KEYSET_NOT_DEF: u32 = 0x8009_0019;
    pub const NTE_FAIL: u32 = 0x8009_0020;
    pub const NTE_SILENT_CONTEXT: u32 = 0x8009_0022;
    pub const NTE_INVALID_HANDLE: u32 = 0x8009_0026;
    pub const NTE_INVALID_PARAMETER: u32 = 0x8009_0027;
    pub const NTE_BUFFER_TOO_SMALL: u32 = 0x8009_0028;
    pub const NTE_NOT_SUPPORTED: u32 = 0x8009_0029;
    pub const NTE_NO_MORE_ITEMS: u32 = 0x8009_002A;
    pub const NTE_DEVICE_NOT_READY: u32 = 0x8009_0030;
    pub const SCARD_W_WRONG_CHV: u32 = 0x8010_006B;
    pub const SCARD_W_CANCELLED_BY_USER: u32 = 0x8010_006E;
    pub const CERT_E_EXPIRED: u32 = 0x800B_0101;
    pub const CERT_E_UNTRUSTEDROOT: u32 = 0x800B_0109;
    pub const TRUST_E_CERT_SIGNATURE: u32 = 0x8009_6004;

    /// The symbolic name of a code, for log lines.
    pub fn name(code: u32) -> &'static str {
        match code {
            0 => "OK",
            ERROR_INVALID_PARAMETER => "ERROR_INVALID_PARAMETER",
            ERROR_MORE_DATA => "ERROR_MORE_DATA",
            ERROR_NO_MORE_ITEMS => "ERROR_NO_MORE_ITEMS",
            NTE_BAD_UID => "NTE_BAD_UID",
            NTE_BAD_HASH => "NTE_BAD_HASH",
            NTE_BAD_KEY => "NTE_BAD_KEY",
            NTE_BAD_LEN => "NTE_BAD_LEN",
            NTE_BAD_DATA => "NTE_BAD_DATA",
            NTE_BAD_SIGNATURE => "NTE_BAD_SIGNATURE",
            NTE_BAD_ALGID => "NTE_BAD_ALGID",
            NTE_BAD_FLAGS => "NTE_BAD_FLAGS",
            NTE_BAD_TYPE => "NTE_BAD_TYPE",
            NTE_BAD_KEY_STATE => "NTE_BAD_KEY_STATE",
            NTE_BAD_HASH_STATE => "NTE_BAD_HASH_STATE",
            NTE_NO_KEY => "NTE_NO_KEY",
            NTE_NO_MEMORY => "NTE_NO_MEMORY",
            NTE_PERM => "NTE_PERM",
            NTE_NOT_FOUND => "NTE_NOT_FOUND",
            NTE_BAD_KEYSET => "NTE_BAD_KEYSET",
            NTE_KEYSET_NOT_DEF => "NTE_KEYSET_NOT_DEF",
            NTE_FAIL => "NTE_FAIL",
            NTE_SILENT_CONTEXT => "NTE_SILENT_CONTEXT",
            NTE_INVALID_HANDLE => "NTE_INVALID_HANDLE",
            NTE_INVALID_PARAMETER => "NTE_INVALID_PARAMETER",
            NTE_BUFFER_TOO_SMALL => "NTE_BUFFER_TOO_SMALL",
            NTE_NOT_SUPPORTED => "NTE_NOT_SUPPORTED",
            NTE_NO_MORE_ITEMS => "NTE_NO_MORE_ITEMS",
            NTE_DEVICE_NOT_READY => "NTE_DEVICE_NOT_READY",
            SCARD_W_WRONG_CHV => "SCARD_W_WRONG_CHV",
            SCARD_W_CANCELLED_BY_USER => "SCARD_W_CANCELLED_BY_USER",
            CERT_E_EXPIRED => "CERT_E_EXPIRED",
            CERT_E_UNTRUSTEDROOT => "CERT_E_UNTRUSTEDROOT",
            TRUST_E_CERT_SIGNATURE => "TRUST_E_CERT_SIGNATURE",
            _ => "?",
        }
    }
}

// When cross-building for Windows, check our values against the SDK's.
#[cfg(windows)]
const _: () = {
    use windows_sys::Win32::Foundation as f;
    assert!(codes::ERROR_INVALID_PARAMETER == f::ERROR_INVALID_PARAMETER);
    assert!(codes::ERROR_MORE_DATA == f::ERROR_MORE_DATA);
    assert!(codes::ERROR_NO_MORE_ITEMS == f::ERROR_NO_MORE_ITEMS);
    assert!(codes::NTE_BAD_UID == f::NTE_BAD_UID as u32);
    assert!(codes::NTE_BAD_HASH == f::NTE_BAD_HASH as u32);
    assert!(codes::NTE_BAD_KEY == f::NTE_BAD_KEY as u32);
    assert!(codes::NTE_BAD_LEN == f::NTE_BAD_LEN as u32);
    assert!(codes::NTE_BAD_DATA == f::NTE_BAD_DATA as u32);
    assert!(codes::NTE_BAD_SIGNATURE == f::NTE_BAD_SIGNATURE as u32);
    assert!(codes::NTE_BAD_ALGID == f::NTE_BAD_ALGID as u32);
    assert!(codes::NTE_BAD_FLAGS == f::NTE_BAD_FLAGS as u32);
    assert!(codes::NTE_BAD_TYPE == f::NTE_BAD_TYPE as u32);
    assert!(codes::NTE_BAD_KEY_STATE == f::NTE_BAD_KEY_STATE as u32);
    assert!(codes::NTE_BAD_HASH_STATE == f::NTE_BAD_HASH_STATE as u32);
    assert!(codes::NTE_NO_KEY == f::NTE_NO_KEY as u32);
    assert!(codes::NTE_NO_MEMORY == f::NTE_NO_MEMORY as u32);
    assert!(codes::NTE_PERM == f::NTE_PERM as u32);
    assert!(codes::NTE_NOT_FOUND == f::NTE_NOT_FOUND as u32);
    assert!(codes::NTE_BAD_KEYSET == f::NTE_BAD_KEYSET as u32);
    assert!(codes::NTE_KEYSET_NOT_DEF == f::NTE_KEYSET_NOT_DEF as u32);
    assert!(codes::NTE_FAIL == f::NTE_FAIL as u32);
    assert!(codes::NTE_SILENT_CONTEXT == f::NTE_SILENT_CONTEXT as u32);
    assert!(codes::NTE_INVALID_HANDLE == f::NTE_INVALID_HANDLE as u32);
    assert!(codes::NTE_INVALID_PARAMETER == f::NTE_INVALID_PARAMETER as u32);
    assert!(codes::NTE_BUFFER_TOO_SMALL == f::NTE_BUFFER_TOO_SMALL as u32);
    assert!(codes::NTE_NOT_SUPPORTED == f::NTE_NOT_SUPPORTED as u32);
    assert!(codes::NTE_NO_MORE_ITEMS == f::NTE_NO_MORE_ITEMS as u32);
    assert!(codes::NTE_DEVICE_NOT_READY == f::NTE_DEVICE_NOT_READY as u32);
    assert!(codes::SCARD_W_WRONG_CHV == f::SCARD_W_WRONG_CHV as u32);
    assert!(codes::SCARD_W_CANCELLED_BY_USER == f::SCARD_W_CANCELLED_BY_USER as u32);
    assert!(codes::CERT_E_EXPIRED == f::CERT_E_EXPIRED as u32);
    assert!(codes::CERT_E_UNTRUSTEDROOT == f::CERT_E_UNTRUSTEDROOT as u32);
    assert!(codes::TRUST_E_CERT_SIGNATURE == f::TRUST_E_CERT_SIGNATURE as u32);
};

/// Which family of exports is answering: the codes differ in a few places.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    /// CryptoAPI CSP (`CP*` functions, `SetLastError`).
    CryptoApi,
    /// CNG key storage provider (`SECURITY_STATUS` results).
    Cng,
}

/// A failure inside a provider export.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// A handle argument is null, foreign, of another kind or destroyed.
    #[error(transparent)]
    Handle(#[from] HandleError),
    /// A required pointer argument is null.
    #[error("required argument {0} is a null pointer")]
    NullPointer(&'static str),
    /// The caller's buffer is too small; `needed` bytes are.
    #[error("the buffer is too small: {needed} bytes are needed")]
    MoreData {
        /// The size the caller must provide.
        needed: usize,
    },
    /// An enumeration has no further item.
    #[error("no more items")]
    NoMoreItems,
    /// Flags the export does not accept.
    #[error("{what}: unsupported flags {flags:#x}")]
    BadFlags {
        /// The export or operation.
        what: &'static str,
        /// The flags received.
        flags: u32,
    },
    /// An algorithm identifier that is not supported here.
    #[error("{what}: unsupported algorithm id {alg_id:#x}")]
    BadAlgorithm {
        /// Where.
        what: &'static str,
        /// The identifier received.
        alg_id: u32,
    },
    /// A parameter number or blob type that is not known here.
    #[error("{what}: unknown or unsupported type {value:#x}")]
    BadType {
        /// Which kind of parameter.
        what: &'static str,
        /// The value received.
        value: u32,
    },
    /// Input of the wrong length.
    #[error("wrong length: {0}")]
    BadLength(String),
    /// Input that does not decode.
    #[error("bad data: {0}")]
    BadData(String),
    /// The hash object was already finished (its value read or set).
    #[error("the hash is finished: its value was already read or set")]
    HashFinished,
    /// The context has no such key.
    #[error("no key: {0}")]
    NoKey(String),
    /// Something the caller asked for does not exist (a root certificate
    /// the signer does not know).
    #[error("not found: {0}")]
    NotFound(String),
    /// The key cannot be exported in the requested form.
    #[error("the key cannot be exported as {0}")]
    NotExportable(&'static str),
    /// An operation this provider does not offer.
    #[error("not supported: {0}")]
    NotSupported(String),
    /// Too many objects are open.
    #[error(transparent)]
    TableFull(#[from] TableFull),
    /// Something internal failed (the worker thread is gone, …).
    #[error("internal error: {0}")]
    Internal(String),
    /// An export panicked; the panic was caught.
    #[error("panic: {0}")]
    Panic(String),
    /// The signer, its source or the crypto below failed.
    #[error(transparent)]
    Crate(#[from] Error),
}

impl ProviderError {
    /// Builds [`ProviderError::NotSupported`].
    pub fn not_supported(what: impl Into<String>) -> Self {
        Self::NotSupported(what.into())
    }

    /// Whether this is the normal end of a protocol step (the size query's
    /// "buffer too small", the end of an enumeration) rather than a failure:
    /// such results are not logged.
    pub fn is_protocol_signal(&self) -> bool {
        matches!(self, Self::MoreData { .. } | Self::NoMoreItems)
    }
}

/// Fails with [`ProviderError::BadFlags`] when `flags` has a bit outside
/// `allowed` (shared by the CSP and the KSP).
pub fn check_flags(what: &'static str, flags: u32, allowed: u32) -> Result<(), ProviderError> {
    if flags & !allowed != 0 {
        return Err(ProviderError::BadFlags { what, flags });
    }
    Ok(())
}

/// The error for a live handle `h` of `kind` used with a context (CSP) or
/// provider handle (KSP) that did not make it.
pub fn other_context(kind: ObjectKind, h: super::handle::Handle) -> ProviderError {
    ProviderError::Handle(HandleError {
        expected: kind,
        problem: super::handle::HandleProblem::OtherContext,
        raw: h.raw(),
    })
}

/// The status code for `err` as `api` reports it: the one place where
/// errors become codes (see the module documentation for the table).
pub fn status_code(err: &ProviderError, api: Api) -> u32 {
    use codes::*;
    let cng = api == Api::Cng;
    match err {
        ProviderError::Handle(_) if cng => NTE_INVALID_HANDLE,
        ProviderError::Handle(h) => match h.expected {
            ObjectKind::Context => NTE_BAD_UID,
            ObjectKind::Key => NTE_BAD_KEY,
            ObjectKind::Hash => NTE_BAD_HASH,
        },
        ProviderError::NullPointer(_) if cng => NTE_INVALID_PARAMETER,
        ProviderError::NullPointer(_) => ERROR_INVALID_PARAMETER,
        ProviderError::MoreData { .. } if cng => NTE_BUFFER_TOO_SMALL,
        ProviderError::MoreData { .. } => ERROR_MORE_DATA,
        ProviderError::NoMoreItems if cng => NTE_NO_MORE_ITEMS,
        ProviderError::NoMoreItems => ERROR_NO_MORE_ITEMS,
        ProviderError::BadFlags { .. } => NTE_BAD_FLAGS,
        ProviderError::BadAlgorithm { .. } => NTE_BAD_ALGID,
        ProviderError::BadType { .. } if cng => NTE_NOT_SUPPORTED,
        ProviderError::BadType { .. } => NTE_BAD_TYPE,
        ProviderError::BadLength(_) => NTE_BAD_LEN,
        ProviderError::BadData(_) => NTE_BAD_DATA,
        ProviderError::HashFinished => NTE_BAD_HASH_STATE,
        ProviderError::NoKey(_) => NTE_NO_KEY,
        ProviderError::NotFound(_) => NTE_NOT_FOUND,
        ProviderError::NotExportable(_) => NTE_BAD_KEY_STATE,
        ProviderError::NotSupported(_) => NTE_NOT_SUPPORTED,
        ProviderError::TableFull(_) => NTE_NO_MEMORY,
        ProviderError::Internal(_) | ProviderError::Panic(_) => NTE_FAIL,
        ProviderError::Crate(e) => match e {
            Error::NotFound { .. } => NTE_BAD_KEYSET,
            Error::Config { .. } => NTE_KEYSET_NOT_DEF,
            Error::InteractionRequired { .. } => NTE_SILENT_CONTEXT,
            Error::Cancelled { .. } => SCARD_W_CANCELLED_BY_USER,
            Error::Unauthenticated { .. } | Error::AuthorizationInvalid { .. } => NTE_PERM,
            Error::WrongPassword { .. } | Error::InvalidOtp { .. } => SCARD_W_WRONG_CHV,
            Error::CredentialUnusable { .. } => NTE_BAD_KEY_STATE,
            Error::ServiceUnavailable { .. } => NTE_DEVICE_NOT_READY,
            Error::BadSignature { .. } | Error::ContentModified => NTE_BAD_SIGNATURE,
            Error::InvalidDigest { .. } => NTE_BAD_LEN,
            Error::Malformed { .. } => NTE_BAD_DATA,
            Error::InvalidArgument { .. } if cng => NTE_INVALID_PARAMETER,
            Error::InvalidArgument { .. } => ERROR_INVALID_PARAMETER,
            Error::Unsupported { .. } => NTE_NOT_SUPPORTED,
            Error::KeyMismatch { .. } => NTE_BAD_KEY,
            Error::Untrusted(TrustFailure::Expired { .. } | TrustFailure::NotYetValid { .. }) => {
                CERT_E_EXPIRED
            }
            Error::Untrusted(TrustFailure::BadCertificateSignature { .. }) => TRUST_E_CERT_SIGNATURE,
            Error::Untrusted(_) => CERT_E_UNTRUSTEDROOT,
            Error::Io { .. } | Error::Protocol { .. } | Error::Remote { .. } | Error::Other(_) => NTE_FAIL,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::codes::*;
    use super::*;
    use crate::provider::handle::HandleProblem;

    fn handle(kind: ObjectKind) -> ProviderError {
        ProviderError::Handle(HandleError {
            expected: kind,
            problem: HandleProblem::Stale,
            raw: 5,
        })
    }

    #[test]
    fn provider_conditions() {
        let csp = |e: ProviderError| status_code(&e, Api::CryptoApi);
        let cng = |e: ProviderError| status_code(&e, Api::Cng);
        assert_eq!(csp(handle(ObjectKind::Context)), NTE_BAD_UID);
        assert_eq!(csp(handle(ObjectKind::Key)), NTE_BAD_KEY);
        assert_eq!(csp(handle(ObjectKind::Hash)), NTE_BAD_HASH);
        assert_eq!(cng(handle(ObjectKind::Key)), NTE_INVALID_HANDLE);
        assert_eq!(
            csp(ProviderError::NullPointer("pdwDataLen")),
            ERROR_INVALID_PARAMETER
        );
        assert_eq!(
            cng(ProviderError::NullPointer("pcbResult")),
            NTE_INVALID_PARAMETER
        );
        assert_eq!(csp(ProviderError::MoreData { needed: 3 }), ERROR_MORE_DATA);
        assert_eq!(cng(ProviderError::MoreData { needed: 3 }), NTE_BUFFER_TOO_SMALL);
        assert_eq!(csp(ProviderError::NoMoreItems), ERROR_NO_MORE_ITEMS);
        assert_eq!(cng(ProviderError::NoMoreItems), NTE_NO_MORE_ITEMS);
        assert_eq!(
            csp(ProviderError::BadFlags { what: "x", flags: 1 }),
            NTE_BAD_FLAGS
        );
        assert_eq!(
            csp(ProviderError::BadAlgorithm {
                what: "x",
                alg_id: 0x8008
            }),
            NTE_BAD_ALGID
        );
        assert_eq!(csp(ProviderError::BadType { what: "x", value: 99 }), NTE_BAD_TYPE);
        assert_eq!(csp(ProviderError::BadLength("x".into())), NTE_BAD_LEN);
        assert_eq!(csp(ProviderError::BadData("x".into())), NTE_BAD_DATA);
        assert_eq!(csp(ProviderError::HashFinished), NTE_BAD_HASH_STATE);
        assert_eq!(csp(ProviderError::NoKey("x".into())), NTE_NO_KEY);
        assert_eq!(csp(ProviderError::NotFound("x".into())), NTE_NOT_FOUND);
        assert_eq!(
            csp(ProviderError::NotExportable("PRIVATEKEYBLOB")),
            NTE_BAD_KEY_STATE
        );
        assert_eq!(csp(ProviderError::not_supported("CPEncrypt")), NTE_NOT_SUPPORTED);
        assert_eq!(csp(ProviderError::Panic("boom".into())), NTE_FAIL);
        assert_eq!(csp(ProviderError::Internal("gone".into())), NTE_FAIL);
        assert!(ProviderError::MoreData { needed: 1 }.is_protocol_signal());
        assert!(ProviderError::NoMoreItems.is_protocol_signal());
        assert!(!ProviderError::HashFinished.is_protocol_signal());
    }

    #[test]
    fn crate_errors() {
        let csp = |e: Error| status_code(&ProviderError::Crate(e), Api::CryptoApi);
        let s = String::new;
        assert_eq!(csp(Error::NotFound { what: s() }), NTE_BAD_KEYSET);
        assert_eq!(csp(Error::Config { detail: s() }), NTE_KEYSET_NOT_DEF);
        assert_eq!(
            csp(Error::InteractionRequired { detail: s() }),
            NTE_SILENT_CONTEXT
        );
        assert_eq!(csp(Error::Cancelled { detail: s() }), SCARD_W_CANCELLED_BY_USER);
        assert_eq!(
            csp(Error::Unauthenticated {
                detail: s(),
                source: None
            }),
            NTE_PERM
        );
        assert_eq!(csp(Error::AuthorizationInvalid { detail: s() }), NTE_PERM);
        assert_eq!(csp(Error::WrongPassword { what: s() }), SCARD_W_WRONG_CHV);
        assert_eq!(csp(Error::InvalidOtp { detail: s() }), SCARD_W_WRONG_CHV);
        assert_eq!(csp(Error::CredentialUnusable { detail: s() }), NTE_BAD_KEY_STATE);
        assert_eq!(
            csp(Error::ServiceUnavailable {
                detail: s(),
                source: None
            }),
            NTE_DEVICE_NOT_READY
        );
        assert_eq!(csp(Error::BadSignature { detail: s() }), NTE_BAD_SIGNATURE);
        assert_eq!(csp(Error::ContentModified), NTE_BAD_SIGNATURE);
        assert_eq!(
            csp(Error::InvalidDigest {
                algorithm: crate::HashAlgorithm::Sha256,
                expected: 32,
                actual: 3
            }),
            NTE_BAD_LEN
        );
        assert_eq!(csp(Error::malformed("x", "y")), NTE_BAD_DATA);
        assert_eq!(csp(Error::invalid_argument("x")), ERROR_INVALID_PARAMETER);
        assert_eq!(
            status_code(&ProviderError::Crate(Error::invalid_argument("x")), Api::Cng),
            NTE_INVALID_PARAMETER
        );
        assert_eq!(csp(Error::unsupported("x")), NTE_NOT_SUPPORTED);
        assert_eq!(csp(Error::KeyMismatch { detail: s() }), NTE_BAD_KEY);
        assert_eq!(
            csp(Error::Untrusted(TrustFailure::Expired {
                subject: s(),
                not_after: s()
            })),
            CERT_E_EXPIRED
        );
        assert_eq!(
            csp(Error::Untrusted(TrustFailure::BadCertificateSignature {
                subject: s()
            })),
            TRUST_E_CERT_SIGNATURE
        );
        assert_eq!(
            csp(Error::Untrusted(TrustFailure::PathTooLong)),
            CERT_E_UNTRUSTEDROOT
        );
        assert_eq!(
            csp(Error::Protocol {
                service: s(),
                detail: s()
            }),
            NTE_FAIL
        );
        assert_eq!(csp(Error::io("x", std::io::Error::other("y"))), NTE_FAIL);
    }

    #[test]
    fn every_code_has_a_name() {
        for code in [
            ERROR_INVALID_PARAMETER,
            ERROR_MORE_DATA,
            NTE_BAD_UID,
            NTE_SILENT_CONTEXT,
            SCARD_W_CANCELLED_BY_USER,
            TRUST_E_CERT_SIGNATURE,
        ] {
            assert_ne!(name(code), "?");
        }
        assert_eq!(name(1), "?");
    }
}
