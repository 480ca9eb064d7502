//! RFC 3161 timestamps: requests, replies, and tokens checked against a
//! message imprint and a TSA root; with feature `remote`, the TSA client
//! over the crate's one HTTP transport (`TsaClient`).
//!
//! This room sits above [`crate::cert`] and below [`crate::cms`] (which
//! puts tokens into CAdES-T signatures and checks them when verifying) and
//! the PDF room (signature and document timestamps).
//!
//! What [`check_token`] checks, each failure with its own error:
//! 1. the token is a `ContentInfo` with SignedData whose eContentType is
//!    `id-ct-TSTInfo`, one SignerInfo, signed attributes with contentType,
//!    messageDigest (the TSTInfo's digest) and an ESS signingCertificate
//!    (v1 or v2) naming the TSA certificate, which the token carries
//!    ([`Error::Malformed`], [`Error::BadSignature`]);
//! 2. the TSA's signature over the signed attributes ([`Error::BadSignature`]);
//! 3. the TSTInfo's messageImprint is the caller's digest
//!    ([`Error::BadSignature`]: the token is for something else);
//! 4. the TSA certificate has a critical extendedKeyUsage with
//!    `id-kp-timeStamping` only and chains to one of the caller's TSA
//!    roots at genTime ([`crate::cert::validate_timestamping_chain`]:
//!    [`Error::Untrusted`]). Without roots this step is left out and the
//!    result says so ([`Timestamp::trusted`] is false).
//!
//! The ASN.1 types are our own `der` derive types ([`asn1`]): RustCrypto's
//! `x509-tsp` 0.1.0 (the only release) is built on `der` 0.7 and `cms`
//! 0.2, while this crate uses `der` 0.8 and `cms` 0.3.0-pre.1, so its types
//! cannot be mixed with ours.

pub mod asn1;
#[cfg(feature = "remote")]
mod client;
mod token;

use std::time::{Duration, SystemTime};

use der::asn1::{OctetString, Uint};
use der::{Decode, Encode};
use spki::AlgorithmIdentifierOwned;

use crate::cert::Certificate;
use crate::crypto::Digest;
use crate::error::{Error, Result};

pub use asn1::{ID_AA_SIGNATURE_TIME_STAMP_TOKEN, ID_CT_TST_INFO};
#[cfg(feature = "remote")]
pub use client::{TIMESTAMP_QUERY, TIMESTAMP_REPLY, TsaClient};
pub use token::{check_token, check_token_with, read_token};

/// What errors about a token call it.
pub(crate) const TOKEN: &str = "timestamp token";
/// What errors about a reply call it.
pub(crate) const REPLY: &str = "timestamp reply";
/// What errors about a request call it.
pub(crate) const REQUEST: &str = "timestamp request";

/// The largest token or reply read (a token with a chain is a few KiB).
pub const MAX_TOKEN_SIZE: usize = 256 * 1024;

/// A checked timestamp: what the token says and what was checked.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Timestamp {
    /// genTime: when the TSA saw the imprint.
    pub gen_time: SystemTime,
    /// The accuracy of `gen_time`, if the token states one.
    pub accuracy: Option<Duration>,
    /// The token's serial number, hex.
    pub serial_hex: String,
    /// The TSA policy the token was issued under.
    pub policy: der::oid::ObjectIdentifier,
    /// The TSA: the TSTInfo's `tsa` name if present, else the subject of
    /// its certificate.
    pub tsa_name: String,
    /// The TSA's certificate (from the token).
    pub tsa_certificate: Certificate,
    /// The validated chain from the TSA certificate to a trusted TSA root;
    /// empty when no roots were given.
    pub chain: Vec<Certificate>,
    /// Whether the chain was validated against the caller's roots.
    pub trusted: bool,
    /// The imprint the token covers.
    pub imprint: Digest,
    /// The nonce in the token, big-endian, if any.
    pub nonce: Option<Vec<u8>>,
    /// The token itself (DER `ContentInfo`).
    pub token: Vec<u8>,
}

impl Timestamp {
    /// `gen_time` as RFC 3339 (UTC, whole seconds).
    pub fn gen_time_rfc3339(&self) -> String {
        rfc3339(self.gen_time)
    }
}

/// RFC 3339 text of a time, UTC, whole seconds.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    let dt = time::OffsetDateTime::from(t);
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    dt.format(&fmt).unwrap_or_default()
}

/// A timestamp request: SHA-256/384/512 imprint, a random 64-bit nonce,
/// `certReq` true, no policy.
#[derive(Clone, Debug)]
pub struct TimestampRequest {
    der: Vec<u8>,
    imprint: Digest,
    nonce: Vec<u8>,
}

impl TimestampRequest {
    /// The request for `imprint` (the digest of what is timestamped: for a
    /// CAdES-T signature, of the SignerInfo's signature value).
    pub fn new(imprint: &Digest) -> Result<Self> {
        let mut nonce = [0u8; 8];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| Error::Config {
            detail: "the system random generator failed".into(),
        })?;
        nonce[0] &= 0x7f;
        nonce[0] |= 0x01;
        let req = asn1::TimeStampReq {
            version: 1,
            message_imprint: message_imprint(imprint)?,
            req_policy: None,
            nonce: Some(Uint::new(&nonce).map_err(internal)?),
            cert_req: true,
            extensions: None,
        };
        Ok(Self {
            der: req.to_der().map_err(internal)?,
            imprint: imprint.clone(),
            nonce: nonce.to_vec(),
        })
    }

    /// The DER `TimeStampReq` (the body of an `application/timestamp-query` POST).
    pub fn to_der(&self) -> &[u8] {
        &self.der
    }

    /// The imprint.
    pub fn imprint(&self) -> &Digest {
        &self.imprint
    }

    /// The nonce, big-endian.
    pub fn nonce(&self) -> &[u8] {
        &self.nonce
    }
}

/// A request as a TSA reads it (the sandbox's TSA; tests).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ParsedRequest {
    /// The imprint.
    pub imprint: Digest,
    /// The nonce, big-endian, if any.
    pub nonce: Option<Vec<u8>>,
    /// Whether the TSA certificate is asked for.
    pub cert_req: bool,
    /// The policy asked for.
    pub policy: Option<der::oid::ObjectIdentifier>,
}

/// Reads a DER `TimeStampReq`: version 1, a SHA-2 imprint of the right
/// length, no extensions ([`Error::Malformed`] / [`Error::Unsupported`]).
pub fn parse_request(der: &[u8]) -> Result<ParsedRequest> {
    let req = asn1::TimeStampReq::from_der(der).map_err(|e| Error::malformed_from(REQUEST, e))?;
    if req.version != 1 {
        return Err(Error::malformed(REQUEST, format!("version {}", req.version)));
    }
    if req.extensions.is_some() {
        return Err(Error::unsupported("timestamp request extensions"));
    }
    Ok(ParsedRequest {
        imprint: imprint_of(&req.message_imprint, REQUEST)?,
        nonce: req.nonce.map(|n| n.as_bytes().to_vec()),
        cert_req: req.cert_req,
        policy: req.req_policy,
    })
}

/// The `MessageImprint` of a digest.
pub(crate) fn message_imprint(digest: &Digest) -> Result<asn1::MessageImprint> {
    Ok(asn1::MessageImprint {
        hash_algorithm: AlgorithmIdentifierOwned {
            oid: digest.algorithm().oid(),
            parameters: None,
        },
        hashed_message: OctetString::new(digest.as_bytes()).map_err(internal)?,
    })
}

/// The digest a `MessageImprint` holds.
pub(crate) fn imprint_of(mi: &asn1::MessageImprint, what: &'static str) -> Result<Digest> {
    let hash = crate::crypto::algid::hash_from_id(&mi.hash_algorithm, what, "message imprint hash")?;
    Digest::new(hash, mi.hashed_message.as_bytes())
}

/// The PKIStatus values (RFC 3161 §2.4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PkiStatus {
    /// 0: a token is included.
    Granted,
    /// 1: a token is included, with modifications.
    GrantedWithMods,
    /// 2: refused.
    Rejection,
    /// 3: not yet.
    Waiting,
    /// 4: a revocation is imminent.
    RevocationWarning,
    /// 5: a revocation has occurred.
    RevocationNotification,
}

impl PkiStatus {
    fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => Self::Granted,
            1 => Self::GrantedWithMods,
            2 => Self::Rejection,
            3 => Self::Waiting,
            4 => Self::RevocationWarning,
            5 => Self::RevocationNotification,
            _ => return None,
        })
    }

    /// The RFC 3161 name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Granted => "granted",
            Self::GrantedWithMods => "grantedWithMods",
            Self::Rejection => "rejection",
            Self::Waiting => "waiting",
            Self::RevocationWarning => "revocationWarning",
            Self::RevocationNotification => "revocationNotification",
        }
    }

    /// The value on the wire.
    pub fn value(self) -> u8 {
        self as u8
    }
}

/// The PKIFailureInfo bit names (RFC 3161 §2.4.2), by bit number.
const FAILURE_NAMES: [(usize, &str); 6] = [
    (0, "badAlg"),
    (2, "badRequest"),
    (5, "badDataFormat"),
    (14, "timeNotAvailable"),
    (15, "unacceptedPolicy"),
    (16, "unacceptedExtension"),
];

/// The names of the failure bits set, for messages.
pub fn failure_names(bits: &der::asn1::BitString) -> Vec<String> {
    let raw = bits.raw_bytes();
    let set = |bit: usize| raw.get(bit / 8).is_some_and(|b| b & (0x80 >> (bit % 8)) != 0);
    let mut out: Vec<String> = FAILURE_NAMES
        .iter()
        .filter(|(bit, _)| set(*bit))
        .map(|(_, n)| (*n).to_owned())
        .collect();
    for bit in 0..raw.len() * 8 {
        if set(bit) && !FAILURE_NAMES.iter().any(|(b, _)| *b == bit) {
            out.push(format!("bit {bit}"));
        }
    }
    out
}

/// A `TimeStampResp` read: the status and the token, unchecked.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TimestampReply {
    /// The status.
    pub status: PkiStatus,
    /// The statusString texts (server text: print through a sanitizer).
    pub status_text: Vec<String>,
    /// The failInfo bits set, by name.
    pub failures: Vec<String>,
    /// The token's DER, if any.
    pub token: Option<Vec<u8>>,
}

/// Reads a DER `TimeStampResp` ([`Error::Malformed`] when it is not one).
pub fn parse_reply(der: &[u8]) -> Result<TimestampReply> {
    if der.len() > MAX_TOKEN_SIZE {
        return Err(Error::malformed(
            REPLY,
            format!("{} bytes; crpki reads at most {MAX_TOKEN_SIZE}", der.len()),
        ));
    }
    let resp = asn1::TimeStampResp::from_der(der).map_err(|e| Error::malformed_from(REPLY, e))?;
    let status = PkiStatus::from_u8(resp.status.status)
        .ok_or_else(|| Error::malformed(REPLY, format!("PKIStatus {}", resp.status.status)))?;
    Ok(TimestampReply {
        status,
        status_text: resp.status.status_string.unwrap_or_default(),
        failures: resp
            .status
            .fail_info
            .as_ref()
            .map(failure_names)
            .unwrap_or_default(),
        token: resp
            .time_stamp_token
            .map(|t| t.to_der())
            .transpose()
            .map_err(internal)?,
    })
}

/// Checks a TSA's reply to `request`: the status must be granted (or
/// grantedWithMods) — otherwise [`Error::Remote`] with the PKIStatus name,
/// the statusString and the failInfo names —, the token must be present
/// and pass [`check_token`] for the request's imprint, and its nonce must
/// be the request's ([`Error::Protocol`]). `service` names the TSA in errors.
pub fn check_reply(
    reply_der: &[u8],
    request: &TimestampRequest,
    tsa_roots: Option<&[Certificate]>,
    service: &str,
) -> Result<Timestamp> {
    let reply = parse_reply(reply_der)?;
    if !matches!(reply.status, PkiStatus::Granted | PkiStatus::GrantedWithMods) {
        let mut description: Vec<String> = reply
            .status_text
            .iter()
            .map(|t| crate::text::escape_value(t).chars().take(300).collect())
            .collect();
        if !reply.failures.is_empty() {
            description.push(format!("failInfo {}", reply.failures.join(", ")));
        }
        if description.is_empty() {
            description.push("no reason given".into());
        }
        return Err(Error::Remote {
            service: service.to_owned(),
            status: 200,
            code: format!("PKIStatus {}", reply.status.name()),
            description: description.join("; "),
        });
    }
    let token = reply.token.ok_or_else(|| Error::Protocol {
        service: service.to_owned(),
        detail: format!("status {} without a token", reply.status.name()),
    })?;
    let ts = check_token(&token, request.imprint(), tsa_roots).map_err(|e| match e {
        Error::BadSignature { detail } if detail.contains("imprint") => Error::Protocol {
            service: service.to_owned(),
            detail,
        },
        other => other,
    })?;
    if ts.nonce.as_deref() != Some(request.nonce()) {
        return Err(Error::Protocol {
            service: service.to_owned(),
            detail: "the token's nonce is not the request's (a replayed or mixed-up reply)".into(),
        });
    }
    Ok(ts)
}

/// Parses a GeneralizedTime value `YYYYMMDDHHMMSS[.fff…]Z` (RFC 3161
/// §2.4.2 allows fractions of a second; trailing zeros are not written).
pub(crate) fn parse_gen_time(any: &der::asn1::Any) -> Result<SystemTime> {
    let bad = |d: &str| Error::malformed(TOKEN, format!("genTime: {d}"));
    if der::Tagged::tag(any) != der::Tag::GeneralizedTime {
        return Err(bad("not a GeneralizedTime"));
    }
    let text = std::str::from_utf8(any.value()).map_err(|_| bad("not text"))?;
    let body = text.strip_suffix('Z').ok_or_else(|| bad("not UTC (no Z)"))?;
    let (whole, frac) = match body.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (body, None),
    };
    if whole.len() != 14 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("not YYYYMMDDHHMMSS"));
    }
    let n = |r: std::ops::Range<usize>| whole[r].parse::<u16>().map_err(|_| bad("digits"));
    let dt = der::DateTime::new(
        n(0..4)?,
        n(4..6)? as u8,
        n(6..8)? as u8,
        n(8..10)? as u8,
        n(10..12)? as u8,
        n(12..14)? as u8,
    )
    .map_err(|_| bad("not a date and time"))?;
    let mut t = dt.to_system_time();
    if let Some(f) = frac {
        if f.is_empty() || f.len() > 9 || !f.bytes().all(|b| b.is_ascii_digit()) || f.ends_with('0') {
            return Err(bad("fraction of a second"));
        }
        let nanos: u32 = format!("{f:0<9}").parse().map_err(|_| bad("fraction"))?;
        t += Duration::from_nanos(u64::from(nanos));
    }
    Ok(t)
}

/// The encoding of a value crpki built itself failed: not the caller's input.
pub(crate) fn internal(e: der::Error) -> Error {
    Error::Other(std::sync::Arc::new(e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::HashAlgorithm;

    #[test]
    fn requests_round_trip_with_a_fresh_nonce() {
        let d = HashAlgorithm::Sha384.digest(b"x");
        let a = TimestampRequest::new(&d).expect("request");
        let b = TimestampRequest::new(&d).expect("request");
        assert_ne!(a.nonce(), b.nonce());
        let parsed = parse_request(a.to_der()).expect("parse");
        assert_eq!(parsed.imprint, d);
        assert!(parsed.cert_req);
        assert_eq!(parsed.nonce.as_deref(), Some(a.nonce()));
    }

    #[test]
    fn gen_time_with_fractions() {
        let any =
            der::asn1::Any::new(der::Tag::GeneralizedTime, b"20261207060000.25Z".as_slice()).expect("any");
        let t = parse_gen_time(&any).expect("time");
        let whole =
            der::asn1::Any::new(der::Tag::GeneralizedTime, b"20261207060000Z".as_slice()).expect("any");
        let w = parse_gen_time(&whole).expect("time");
        assert_eq!(t.duration_since(w).expect("later"), Duration::from_millis(250));
        let bad =
            der::asn1::Any::new(der::Tag::GeneralizedTime, b"20261207060000.50Z".as_slice()).expect("any");
        assert!(parse_gen_time(&bad).is_err());
    }
}
