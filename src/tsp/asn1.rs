//! The RFC 3161 structures, as `der` derive types (RustCrypto's
//! `x509-tsp` 0.1 models them on `der` 0.7 and `cms` 0.2, which this crate
//! does not use: see the room's docs).

use const_oid::ObjectIdentifier;
use der::asn1::{Any, BitString, Int, OctetString, Uint};
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;

/// `id-ct-TSTInfo` (1.2.840.113549.1.9.16.1.4): the eContentType of a token.
pub const ID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");

/// `id-aa-signatureTimeStampToken` (1.2.840.113549.1.9.16.2.14): the
/// unsigned attribute of a CAdES-T signature (RFC 3161 Appendix A).
pub const ID_AA_SIGNATURE_TIME_STAMP_TOKEN: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");

/// `MessageImprint ::= SEQUENCE { hashAlgorithm, hashedMessage }`
#[derive(Clone, Debug, Eq, PartialEq, der::Sequence)]
pub struct MessageImprint {
    /// The hash of `hashed_message`.
    pub hash_algorithm: AlgorithmIdentifierOwned,
    /// The digest being timestamped.
    pub hashed_message: OctetString,
}

/// `TimeStampReq` (RFC 3161 §2.4.1).
#[derive(Clone, Debug, der::Sequence)]
pub struct TimeStampReq {
    /// `v1(1)`.
    pub version: u8,
    /// What is timestamped.
    pub message_imprint: MessageImprint,
    /// The TSA policy asked for.
    #[asn1(optional = "true")]
    pub req_policy: Option<ObjectIdentifier>,
    /// A random number the reply must repeat.
    #[asn1(optional = "true")]
    pub nonce: Option<Uint>,
    /// Whether the TSA certificate must be in the token.
    #[asn1(default = "Default::default")]
    pub cert_req: bool,
    /// Extensions (none are sent).
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Vec<Extension>>,
}

/// `PKIStatusInfo` (RFC 3161 §2.4.2).
#[derive(Clone, Debug, der::Sequence)]
pub struct PkiStatusInfo {
    /// `PKIStatus`: 0 granted, 1 grantedWithMods, 2 rejection, 3 waiting,
    /// 4 revocationWarning, 5 revocationNotification.
    pub status: u8,
    /// `PKIFreeText`: UTF8Strings.
    #[asn1(optional = "true")]
    pub status_string: Option<Vec<String>>,
    /// `PKIFailureInfo`.
    #[asn1(optional = "true")]
    pub fail_info: Option<BitString>,
}

/// `TimeStampResp` (RFC 3161 §2.4.2); the token is kept as its DER.
#[derive(Clone, Debug, der::Sequence)]
pub struct TimeStampResp {
    /// The status.
    pub status: PkiStatusInfo,
    /// The token (a `ContentInfo` with SignedData).
    #[asn1(optional = "true")]
    pub time_stamp_token: Option<Any>,
}

/// `Accuracy ::= SEQUENCE { seconds, millis [0], micros [1] }` (all optional).
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq, der::Sequence)]
pub struct Accuracy {
    /// Whole seconds.
    #[asn1(optional = "true")]
    pub seconds: Option<u32>,
    /// Milliseconds, 1..999.
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub millis: Option<u16>,
    /// Microseconds, 1..999.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub micros: Option<u16>,
}

/// `TSTInfo` (RFC 3161 §2.4.2). `genTime` is kept as the raw
/// GeneralizedTime (TSAs write fractions of a second, which `der`'s
/// `GeneralizedTime` refuses); [`Timestamp::gen_time`](super::Timestamp::gen_time) is its value.
#[derive(Clone, Debug, der::Sequence)]
pub struct TstInfo {
    /// `v1(1)`.
    pub version: u8,
    /// The TSA policy under which the token was issued.
    pub policy: ObjectIdentifier,
    /// What was timestamped.
    pub message_imprint: MessageImprint,
    /// The token's serial number.
    pub serial_number: Int,
    /// The GeneralizedTime, raw.
    pub gen_time: Any,
    /// The accuracy of `gen_time`.
    #[asn1(optional = "true")]
    pub accuracy: Option<Accuracy>,
    /// Whether tokens of this TSA can be ordered by `gen_time` alone.
    #[asn1(default = "Default::default")]
    pub ordering: bool,
    /// The request's nonce.
    #[asn1(optional = "true")]
    pub nonce: Option<Uint>,
    /// The TSA's name.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub tsa: Option<GeneralName>,
    /// Extensions.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Vec<Extension>>,
}
