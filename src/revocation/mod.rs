//! Revocation: is a certificate of a chain revoked? OCSP (RFC 6960) and
//! CRLs (RFC 5280 §5), checked offline from DER data, and (feature
//! `remote`) fetched through the crate's one HTTP transport from the
//! certificates' authority information access (OCSP responder,
//! `caIssuers`) and CRL distribution points.
//!
//! - [`check_chain_offline`] checks every certificate of a chain (signer
//!   first, the trusted root last) against given [`RevocationData`]: DER
//!   OCSP responses and CRLs, the way a PAdES DSS or a CAdES-LT signature
//!   carries them. No network.
//! - `RevocationClient` (feature `remote`) asks the responders and
//!   distribution points a chain names, once per URL and certificate per
//!   client (the per-run cache), and returns both the verdict
//!   ([`ChainRevocation`]) and the DER it used ([`RevocationData`]) so
//!   that it can be embedded and checked again offline later.
//! - [`ChainRevocation::enforce`] applies a [`RevocationPolicy`]: a
//!   revoked certificate is always an error
//!   ([`TrustFailure::Revoked`], with the
//!   reason and time); no usable answer is an error under
//!   [`RevocationPolicy::Require`] and a warning under
//!   [`RevocationPolicy::Prefer`].
//!
//! What makes an answer usable: an OCSP response with status
//! `successful`, of type basic, signed by the certificate's issuer or by a
//! responder certificate the issuer issued with `id-kp-OCSPSigning`, with
//! a `SingleResponse` whose CertID (SHA-1, SHA-256, SHA-384 or SHA-512)
//! names the certificate and its issuer, the nonce echoed when the
//! responder echoes one, and `thisUpdate`/`nextUpdate` around the time of
//! the check (see [`CheckOptions`]); a CRL issued and signed by the
//! issuer, current by the same rule, without critical extensions crpki
//! does not process (issuing distribution points, delta CRLs, indirect
//! entries). `unknown` from a responder is not an answer: the CRL is tried
//! next.
//!
//! This room sits beside `cms` above `cert` and `http`; it knows nothing of
//! profiles, signers or the sandbox.

pub(crate) mod asn1;
mod crl;
#[cfg(feature = "remote")]
mod fetch;
mod ocsp;
#[cfg(test)]
mod tests;
mod urls;

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::cert::Certificate;
use crate::error::{Error, Result, TrustFailure};

pub use asn1::ResponseStatus as OcspResponseStatus;
#[cfg(feature = "sandbox")]
pub(crate) use crl::signing_algorithm;
pub use crl::{CrlEntry, build_crl};
#[cfg(feature = "remote")]
pub use fetch::RevocationClient;
pub use ocsp::{
    CertIdHash, OcspRequest, OcspResponseBuilder, OcspStatus, RequestAsked, ResponderSigner, error_response,
};
pub use urls::{access_urls, crl_urls};

/// What to do about revocation when verifying.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RevocationPolicy {
    /// Every certificate of the chain below the root must have a usable
    /// answer saying it is not revoked.
    Require,
    /// Check; a certificate without a usable answer is a warning, a
    /// revoked one still an error.
    #[default]
    Prefer,
    /// Do not check.
    Off,
}

impl FromStr for RevocationPolicy {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "require" => Ok(Self::Require),
            "prefer" => Ok(Self::Prefer),
            "off" => Ok(Self::Off),
            other => Err(Error::invalid_argument(format!(
                "revocation policy {other:?}: use require, prefer or off"
            ))),
        }
    }
}

impl fmt::Display for RevocationPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Require => "require",
            Self::Prefer => "prefer",
            Self::Off => "off",
        })
    }
}

/// Why a certificate was revoked (RFC 5280 `CRLReason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub enum RevocationReason {
    Unspecified,
    KeyCompromise,
    CaCompromise,
    AffiliationChanged,
    Superseded,
    CessationOfOperation,
    CertificateHold,
    #[serde(rename = "removeFromCRL")]
    RemoveFromCrl,
    PrivilegeWithdrawn,
    AaCompromise,
}

impl RevocationReason {
    fn from_x509(reason: x509_cert::ext::pkix::CrlReason) -> Self {
        use x509_cert::ext::pkix::CrlReason as R;
        match reason {
            R::Unspecified => Self::Unspecified,
            R::KeyCompromise => Self::KeyCompromise,
            R::CaCompromise => Self::CaCompromise,
            R::AffiliationChanged => Self::AffiliationChanged,
            R::Superseded => Self::Superseded,
            R::CessationOfOperation => Self::CessationOfOperation,
            R::CertificateHold => Self::CertificateHold,
            R::RemoveFromCRL => Self::RemoveFromCrl,
            R::PrivilegeWithdrawn => Self::PrivilegeWithdrawn,
            R::AaCompromise => Self::AaCompromise,
        }
    }

    /// The `CRLReason` value, for responders and CRL issuers.
    pub fn to_x509(self) -> x509_cert::ext::pkix::CrlReason {
        use x509_cert::ext::pkix::CrlReason as R;
        match self {
            Self::Unspecified => R::Unspecified,
            Self::KeyCompromise => R::KeyCompromise,
            Self::CaCompromise => R::CaCompromise,
            Self::AffiliationChanged => R::AffiliationChanged,
            Self::Superseded => R::Superseded,
            Self::CessationOfOperation => R::CessationOfOperation,
            Self::CertificateHold => R::CertificateHold,
            Self::RemoveFromCrl => R::RemoveFromCRL,
            Self::PrivilegeWithdrawn => R::PrivilegeWithdrawn,
            Self::AaCompromise => R::AaCompromise,
        }
    }
}

impl fmt::Display for RevocationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unspecified => "unspecified",
            Self::KeyCompromise => "keyCompromise",
            Self::CaCompromise => "cACompromise",
            Self::AffiliationChanged => "affiliationChanged",
            Self::Superseded => "superseded",
            Self::CessationOfOperation => "cessationOfOperation",
            Self::CertificateHold => "certificateHold",
            Self::RemoveFromCrl => "removeFromCRL",
            Self::PrivilegeWithdrawn => "privilegeWithdrawn",
            Self::AaCompromise => "aACompromise",
        })
    }
}

/// DER revocation data for a chain: what a PAdES DSS (`/OCSPs`, `/CRLs`,
/// `/Certs`) or a CAdES `RevocationValues` carries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RevocationData {
    /// DER `OCSPResponse`s (the whole response, status included).
    pub ocsp_responses: Vec<Vec<u8>>,
    /// DER `CertificateList`s.
    pub crls: Vec<Vec<u8>>,
    /// Certificates fetched on the way (issuers from `caIssuers`, OCSP
    /// responder certificates), to embed beside the chain.
    pub certificates: Vec<Certificate>,
}

impl RevocationData {
    /// Whether there is nothing in it.
    pub fn is_empty(&self) -> bool {
        self.ocsp_responses.is_empty() && self.crls.is_empty() && self.certificates.is_empty()
    }

    /// Adds `other`'s items that are not in `self` yet.
    pub fn merge(&mut self, other: RevocationData) {
        for r in other.ocsp_responses {
            if !self.ocsp_responses.contains(&r) {
                self.ocsp_responses.push(r);
            }
        }
        for c in other.crls {
            if !self.crls.contains(&c) {
                self.crls.push(c);
            }
        }
        for c in other.certificates {
            self.add_certificate(c);
        }
    }

    fn add_certificate(&mut self, cert: Certificate) {
        if !self.certificates.contains(&cert) {
            self.certificates.push(cert);
        }
    }
}

/// When an answer counts as current.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// The time the status must hold at (now, or a trusted timestamp's time).
    pub at: SystemTime,
    /// Clock difference allowed between us and the responder.
    pub skew: Duration,
    /// How old an answer without `nextUpdate` may be.
    pub max_age: Duration,
    /// Accept answers past their `nextUpdate` or `max_age` (long-term
    /// validation from embedded data, where the answers were current when
    /// they were collected): the signature, the CertID and a `thisUpdate`
    /// not after `at` (plus `skew`) are still checked, and a revoked
    /// status still fails.
    pub accept_expired: bool,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            at: SystemTime::now(),
            skew: Duration::from_secs(300),
            max_age: Duration::from_secs(7 * 24 * 3600),
            accept_expired: false,
        }
    }
}

impl CheckOptions {
    /// The default options at time `at`.
    pub fn at(at: SystemTime) -> Self {
        Self {
            at,
            ..Self::default()
        }
    }

    /// Checks that an answer made at `this_update`, valid until
    /// `next_update`, is current at `at`; the error says why not.
    fn check_window(&self, this_update: SystemTime, next_update: Option<SystemTime>) -> Result<(), String> {
        if this_update > self.at + self.skew {
            return Err(format!(
                "its thisUpdate {} is in the future",
                rfc3339(this_update)
            ));
        }
        if self.accept_expired {
            return Ok(());
        }
        match next_update {
            Some(next) if next + self.skew < self.at => Err(format!(
                "it is stale: its nextUpdate {} has passed",
                rfc3339(next)
            )),
            Some(_) => Ok(()),
            None if this_update + self.max_age < self.at => Err(format!(
                "it is stale: made at {} without nextUpdate, more than {} days ago",
                rfc3339(this_update),
                self.max_age.as_secs() / 86_400
            )),
            None => Ok(()),
        }
    }
}

/// What an answer says about a certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum CertStatus {
    /// Not revoked.
    Good,
    /// Revoked.
    Revoked {
        /// When, RFC 3339.
        time: String,
        /// Why, when the answer says.
        reason: Option<RevocationReason>,
    },
}

/// Where an answer came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AnswerSource {
    /// An OCSP response.
    Ocsp,
    /// A CRL.
    Crl,
}

/// A usable answer about one certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Answer {
    /// What it says.
    #[serde(flatten)]
    pub status: CertStatus,
    /// OCSP or CRL.
    pub source: AnswerSource,
    /// The URL it was fetched from (none for embedded data).
    pub url: Option<String>,
    /// Its thisUpdate, RFC 3339.
    pub this_update: String,
    /// Its nextUpdate, RFC 3339.
    pub next_update: Option<String>,
}

/// The result for one certificate of a chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CertRevocation {
    /// Subject (RFC 4514).
    pub subject: String,
    /// Serial number, hex.
    pub serial: String,
    /// The usable answer, if one was found.
    pub answer: Option<Answer>,
    /// Why other answers (or the lack of any) did not count.
    pub problems: Vec<String>,
}

impl CertRevocation {
    fn new(cert: &Certificate) -> Self {
        Self {
            subject: cert.subject(),
            serial: cert.serial_hex(),
            answer: None,
            problems: Vec::new(),
        }
    }

    /// The revocation, if the answer says revoked.
    pub fn revoked(&self) -> Option<(&str, Option<RevocationReason>)> {
        match &self.answer {
            Some(Answer {
                status: CertStatus::Revoked { time, reason },
                ..
            }) => Some((time, *reason)),
            _ => None,
        }
    }

    fn why_none(&self) -> String {
        if self.problems.is_empty() {
            "no OCSP responder or CRL distribution point named, and no revocation data given".into()
        } else {
            self.problems.join("; ")
        }
    }
}

/// The result for a chain: one entry per certificate below the root,
/// signer first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ChainRevocation {
    /// The certificates checked.
    pub certificates: Vec<CertRevocation>,
}

impl ChainRevocation {
    /// Applies `policy`: `Ok` with warnings to show, or the error for a
    /// revoked certificate ([`TrustFailure::Revoked`]) or, under
    /// [`RevocationPolicy::Require`], one without a usable answer
    /// ([`TrustFailure::RevocationUnknown`]).
    pub fn enforce(&self, policy: RevocationPolicy) -> Result<Vec<String>> {
        self.enforce_at(policy, None)
    }

    /// [`enforce`](Self::enforce) for a signature that a trusted
    /// timestamp proves existed at `existed_at`: a certificate revoked
    /// *after* that time does not fail it (the signature was made while
    /// the certificate was valid, as long-term validation has it, ETSI EN
    /// 319 102-1); a warning names the revocation. Revoked at or before
    /// that time, or with a revocation time that cannot be read, fails as
    /// without a timestamp.
    pub fn enforce_at(
        &self,
        policy: RevocationPolicy,
        existed_at: Option<SystemTime>,
    ) -> Result<Vec<String>> {
        if policy == RevocationPolicy::Off {
            return Ok(Vec::new());
        }
        let mut warnings = Vec::new();
        for c in &self.certificates {
            if let Some((time, reason)) = c.revoked() {
                let revoked_at =
                    time::OffsetDateTime::parse(time, &time::format_description::well_known::Rfc3339)
                        .ok()
                        .map(SystemTime::from);
                if let (Some(existed), Some(revoked)) = (existed_at, revoked_at)
                    && existed < revoked
                {
                    warnings.push(format!(
                        "'{}' was revoked at {time} (reason {}), after {}, when a trusted timestamp shows the \
                         signature existed: it was made while the certificate was valid",
                        c.subject,
                        reason.map_or_else(|| "not given".to_owned(), |r| r.to_string()),
                        rfc3339(existed)
                    ));
                    continue;
                }
                return Err(Error::Untrusted(TrustFailure::Revoked {
                    subject: c.subject.clone(),
                    serial: c.serial.clone(),
                    time: time.to_owned(),
                    reason: reason.map_or_else(|| "not given".to_owned(), |r| r.to_string()),
                }));
            }
            if c.answer.is_none() {
                match policy {
                    RevocationPolicy::Require => {
                        return Err(Error::Untrusted(TrustFailure::RevocationUnknown {
                            subject: c.subject.clone(),
                            detail: c.why_none(),
                        }));
                    }
                    _ => warnings.push(format!(
                        "revocation of '{}' not checked: {}",
                        c.subject,
                        c.why_none()
                    )),
                }
            }
        }
        Ok(warnings)
    }
}

/// Checks every certificate of `chain` (signer first, each issued by the
/// next; a self-signed last one is the trust anchor and is not checked)
/// against `data` only: no network.
pub fn check_chain_offline(
    chain: &[Certificate],
    data: &RevocationData,
    options: &CheckOptions,
) -> ChainRevocation {
    let ocsp: Vec<_> = data
        .ocsp_responses
        .iter()
        .map(|der| ocsp::ParsedResponse::parse(der))
        .collect();
    let mut result = ChainRevocation::default();
    for (cert, issuer) in pairs(chain, &data.certificates) {
        let mut entry = CertRevocation::new(cert);
        let Some(issuer) = issuer else {
            entry
                .problems
                .push(format!("its issuer '{}' is not in the chain", cert.issuer()));
            result.certificates.push(entry);
            continue;
        };
        for parsed in &ocsp {
            match parsed {
                Ok(p) => match p.answer_for(cert, issuer, None, options) {
                    Ok(Some(answer)) => {
                        entry.answer = Some(answer);
                        break;
                    }
                    Ok(None) => {}
                    Err(e) => entry.problems.push(format!("embedded OCSP response: {e}")),
                },
                Err(e) => entry.problems.push(format!("embedded OCSP response: {e}")),
            }
        }
        if entry.answer.is_none() {
            for der in &data.crls {
                match crl::answer_for(der, cert, issuer, options) {
                    Ok(Some(answer)) => {
                        entry.answer = Some(answer);
                        break;
                    }
                    Ok(None) => {}
                    Err(e) => entry.problems.push(format!("embedded CRL: {e}")),
                }
            }
        }
        if entry.answer.is_none() && entry.problems.is_empty() {
            entry
                .problems
                .push("no OCSP response or CRL for it in the revocation data".into());
        }
        result.certificates.push(entry);
    }
    result
}

/// The certificates of `chain` to check, each with its issuer (the next
/// one in the chain, or one of `extra` with the right name and key).
fn pairs<'a>(
    chain: &'a [Certificate],
    extra: &'a [Certificate],
) -> Vec<(&'a Certificate, Option<&'a Certificate>)> {
    let mut out = Vec::new();
    for (i, cert) in chain.iter().enumerate() {
        if cert.is_self_signed() {
            break;
        }
        let issuer = chain[i + 1..]
            .iter()
            .chain(extra)
            .find(|c| cert.issuer_name_matches(c) && cert.verify_signed_by(c).is_ok());
        out.push((cert, issuer));
    }
    out
}

/// A time as RFC 3339.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    time::OffsetDateTime::from(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| format!("{t:?}"))
}
