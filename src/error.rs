//! The crate's one public error type.
//!
//! Variants are named by what went wrong from the caller's point of view, so
//! that a caller can branch on them (re-authenticate, ask for the password
//! again, tell the user the file was modified, retry later). Backends keep
//! their own private error types and convert into this one.

use std::fmt;
use std::sync::Arc;

use crate::alg::HashAlgorithm;

/// A boxed error used as the `source` of a variant.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What separates an [`Error::Unauthenticated`] detail from the next step
/// it names itself, for service authorizations other than `crpki login`
/// (a token in an environment variable, a password, no authorization):
/// such a detail is shown without "(run `crpki login`)".
pub const NEXT_STEP: &str = "; next step: ";

fn login_hint(detail: &str) -> &'static str {
    if detail.contains(NEXT_STEP) {
        ""
    } else {
        " (run `crpki login`)"
    }
}

/// Shorthand for `Result<T, crpki::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a certificate or a chain of certificates is not trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrustFailure {
    /// The certificate's `notAfter` is before the validation time.
    Expired {
        /// Subject of the certificate.
        subject: String,
        /// Its `notAfter`, RFC 3339.
        not_after: String,
    },
    /// The certificate's `notBefore` is after the validation time.
    NotYetValid {
        /// Subject of the certificate.
        subject: String,
        /// Its `notBefore`, RFC 3339.
        not_before: String,
    },
    /// No certificate in the chain or trust anchors issued this certificate.
    IssuerNotFound {
        /// Issuer name that could not be found.
        issuer: String,
    },
    /// The issuer's signature on a certificate does not verify.
    BadCertificateSignature {
        /// Subject of the certificate whose signature failed.
        subject: String,
    },
    /// An issuing certificate is not a CA (basicConstraints) or exceeds its path length.
    NotCa {
        /// Subject of the offending certificate.
        subject: String,
    },
    /// A key usage bit needed for this use is missing.
    KeyUsage {
        /// Subject of the offending certificate.
        subject: String,
        /// What usage was needed.
        needed: &'static str,
    },
    /// A critical extension that this crate does not understand.
    UnhandledCriticalExtension {
        /// Subject of the offending certificate.
        subject: String,
        /// Dotted OID of the extension.
        oid: String,
    },
    /// The chain is longer than the validator accepts.
    PathTooLong,
    /// A certificate of the chain is revoked (an OCSP response or CRL
    /// said so).
    Revoked {
        /// Subject of the revoked certificate.
        subject: String,
        /// Its serial number, hex.
        serial: String,
        /// When it was revoked, RFC 3339.
        time: String,
        /// Why (`keyCompromise`, …, or "not given").
        reason: String,
    },
    /// Revocation checking was required and no usable answer was found
    /// for a certificate of the chain.
    RevocationUnknown {
        /// Subject of the certificate.
        subject: String,
        /// Why every answer (or the lack of one) did not count.
        detail: String,
    },
    /// Path building gave up at one of its documented limits
    /// ([`crate::cert::MAX_INTERMEDIATES`], [`crate::cert::MAX_ISSUER_CHECKS`]).
    LimitExceeded {
        /// What was counted.
        what: &'static str,
        /// The limit that was passed.
        limit: usize,
    },
}

impl fmt::Display for TrustFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Expired { subject, not_after } => {
                write!(f, "certificate '{subject}' expired at {not_after}")
            }
            Self::NotYetValid { subject, not_before } => {
                write!(f, "certificate '{subject}' is not valid before {not_before}")
            }
            Self::IssuerNotFound { issuer } => {
                write!(f, "issuer '{issuer}' is not among the trusted certificates")
            }
            Self::BadCertificateSignature { subject } => {
                write!(f, "the issuer's signature on '{subject}' does not verify")
            }
            Self::NotCa { subject } => write!(f, "'{subject}' is not allowed to issue certificates"),
            Self::KeyUsage { subject, needed } => {
                write!(f, "'{subject}' lacks the key usage {needed}")
            }
            Self::UnhandledCriticalExtension { subject, oid } => {
                write!(f, "'{subject}' has an unknown critical extension {oid}")
            }
            Self::PathTooLong => f.write_str("the certificate chain is too long"),
            Self::Revoked {
                subject,
                serial,
                time,
                reason,
            } => write!(
                f,
                "certificate '{subject}' (serial {serial}) was revoked at {time}, reason {reason}"
            ),
            Self::RevocationUnknown { subject, detail } => {
                write!(f, "revocation status of '{subject}' unknown: {detail}")
            }
            Self::LimitExceeded { what, limit } => {
                write!(f, "path building gave up: more than {limit} {what}")
            }
        }
    }
}

/// Every error returned by crpki.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a local file failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done (includes the path).
        context: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// Input could not be decoded: corrupt or truncated DER, PEM, base64 or JSON.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// What was being decoded ("certificate", "CMS signature", …).
        what: &'static str,
        /// What exactly is wrong.
        detail: String,
        /// The decoder's error, when there is one.
        #[source]
        source: Option<BoxError>,
    },

    /// The password of a PKCS#12 file (or another secret) is wrong.
    #[error("wrong password for {what}")]
    WrongPassword {
        /// What the password was for.
        what: String,
    },

    /// An algorithm, cipher, key size or feature that crpki does not support.
    #[error("unsupported: {what}")]
    Unsupported {
        /// What is not supported.
        what: String,
    },

    /// A private key and a certificate do not belong together.
    #[error("the private key does not match the certificate: {detail}")]
    KeyMismatch {
        /// Which key/certificate pair.
        detail: String,
    },

    /// A digest whose length does not fit its hash algorithm.
    #[error("a {algorithm} digest must be {expected} bytes long, got {actual}")]
    InvalidDigest {
        /// The digest's declared algorithm.
        algorithm: HashAlgorithm,
        /// The algorithm's output length.
        expected: usize,
        /// The length given.
        actual: usize,
    },

    /// An argument that makes no sense (empty batch, mixed algorithms, …).
    #[error("invalid argument: {detail}")]
    InvalidArgument {
        /// What is wrong with it.
        detail: String,
    },

    /// A signature does not verify with the public key it should verify with.
    #[error("signature does not verify: {detail}")]
    BadSignature {
        /// Which signature, and against what.
        detail: String,
    },

    /// The signed content is not what was signed (CMS messageDigest mismatch).
    #[error("the content was modified after signing: its digest does not match the signed messageDigest")]
    ContentModified,

    /// A certificate or chain is not trusted.
    #[error("certificate not trusted: {0}")]
    Untrusted(TrustFailure),

    /// The user is not (or no longer) authenticated: log in again (or,
    /// for profiles that do not log in with `crpki login`, do the next step
    /// the detail names after [`NEXT_STEP`]).
    #[error("not authenticated: {detail}{}", login_hint(detail))]
    Unauthenticated {
        /// Why (expired token, revoked token, …).
        detail: String,
        /// The service's error, if any.
        #[source]
        source: Option<BoxError>,
    },

    /// The signature authorization (SAD or credential token) is missing,
    /// spent or expired: authorize again.
    #[error("signature authorization invalid: {detail}")]
    AuthorizationInvalid {
        /// Why.
        detail: String,
    },

    /// A one-time password or PIN was rejected.
    #[error("the PIN or one-time password was rejected: {detail}")]
    InvalidOtp {
        /// The service's description.
        detail: String,
    },

    /// The signing credential is locked, disabled or its certificate revoked.
    #[error("credential unusable: {detail}")]
    CredentialUnusable {
        /// Why (locked, disabled, revoked, suspended, expired).
        detail: String,
    },

    /// Something named by the caller does not exist (credential, profile, key).
    #[error("{what} not found")]
    NotFound {
        /// What was looked for.
        what: String,
    },

    /// User interaction would be needed but the caller asked for none
    /// (`CRYPT_SILENT`, `NCRYPT_SILENT_FLAG`, non-interactive pipelines).
    #[error("user interaction required: {detail}")]
    InteractionRequired {
        /// What interaction.
        detail: String,
    },

    /// The user cancelled, or an interactive step timed out.
    #[error("cancelled: {detail}")]
    Cancelled {
        /// What was cancelled.
        detail: String,
    },

    /// The remote service is unreachable, overloaded or failing (5xx,
    /// `temporarily_unavailable`, connection errors, timeouts).
    #[error("service unavailable: {detail}")]
    ServiceUnavailable {
        /// What happened.
        detail: String,
        /// The transport error, if any.
        #[source]
        source: Option<BoxError>,
    },

    /// The remote service answered something that breaks the protocol
    /// (malformed JSON, wrong number of signatures, a signature that does
    /// not verify).
    #[error("protocol error from {service}: {detail}")]
    Protocol {
        /// Which service.
        service: String,
        /// What is wrong with the reply.
        detail: String,
    },

    /// The remote service rejected the request with an error code that has
    /// no more specific variant.
    #[error("{service} refused the request: {code}: {description} (HTTP {status})")]
    Remote {
        /// Which service.
        service: String,
        /// HTTP status.
        status: u16,
        /// The `error` code.
        code: String,
        /// The `error_description`.
        description: String,
    },

    /// Local configuration is missing or invalid.
    #[error("configuration: {detail}")]
    Config {
        /// What is wrong.
        detail: String,
    },

    /// Anything else, with its source kept.
    #[error(transparent)]
    Other(Arc<dyn std::error::Error + Send + Sync + 'static>),
}

impl Error {
    /// Builds a [`Error::Malformed`] with no source.
    pub fn malformed(what: &'static str, detail: impl Into<String>) -> Self {
        Self::Malformed {
            what,
            detail: detail.into(),
            source: None,
        }
    }

    /// Builds a [`Error::Malformed`] keeping the decoder's error.
    pub fn malformed_from(
        what: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Malformed {
            what,
            detail: source.to_string(),
            source: Some(Box::new(source)),
        }
    }

    /// Builds a [`Error::Unsupported`].
    pub fn unsupported(what: impl Into<String>) -> Self {
        Self::Unsupported { what: what.into() }
    }

    /// Builds a [`Error::InvalidArgument`].
    pub fn invalid_argument(detail: impl Into<String>) -> Self {
        Self::InvalidArgument {
            detail: detail.into(),
        }
    }

    /// Builds a [`Error::Io`] with a context such as "reading /path/file".
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }

    /// Whether repeating the same operation later may succeed without the
    /// user doing anything.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::ServiceUnavailable { .. })
    }

    /// Whether the user has to log in again.
    pub fn needs_login(&self) -> bool {
        matches!(self, Self::Unauthenticated { .. })
    }
}
