//! Path building and validation from a signing certificate to a trusted
//! root (RFC 5280 section 6, reduced to what a signing certificate needs:
//! no policy processing, no name constraints, no revocation).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::time::SystemTime;

use const_oid::ObjectIdentifier;
use der::Decode;
use x509_cert::ext::pkix::ExtendedKeyUsage;

use super::{Certificate, KeyUsageFlag, is_known_extension, moj, oid};
use crate::error::{Error, Result, TrustFailure};

/// The longest path [`validate_chain`] builds, counting the leaf and the root.
pub const MAX_PATH_LEN: usize = 8;

/// The most intermediate certificates [`validate_chain`] accepts; more is
/// [`TrustFailure::LimitExceeded`] before any path is built. A real chain
/// has one to three.
pub const MAX_INTERMEDIATES: usize = 64;

/// The most candidate issuers [`validate_chain`] tries, over the whole
/// search, before it gives up with [`TrustFailure::LimitExceeded`]. Each
/// pair of certificate and issuer key has its signature checked at most once.
pub const MAX_ISSUER_CHECKS: usize = 256;

/// Builds and validates the path from `leaf` to one of `trusted_roots`,
/// using `intermediates` as needed, at time `at`; returns the path from the
/// leaf to the root.
///
/// Candidate issuers are found by name (and by key identifier when both the
/// authorityKeyIdentifier and the candidate's subjectKeyIdentifier are
/// present); when several fit, each is tried, except a certificate already
/// on the path or with the same subject name and key as one on the path (a
/// loop). The search is bounded: more than [`MAX_INTERMEDIATES`]
/// intermediates, or more than [`MAX_ISSUER_CHECKS`] candidates tried, is
/// [`TrustFailure::LimitExceeded`]. Every certificate on the path,
/// the root included, must be valid at `at` and carry no critical extension
/// crpki does not know (see [`is_known_extension`](super::is_known_extension));
/// every signature must verify; every issuer must be a CA
/// (basicConstraints, pathLenConstraint) whose keyUsage, if present, has
/// keyCertSign; the leaf's keyUsage, if present, must have digitalSignature
/// or nonRepudiation. A trusted root's own signature is not checked: it is
/// trusted because the caller says so.
///
/// Failures are [`Error::Untrusted`] with the precise [`TrustFailure`]; an
/// extension that crpki must read but cannot decode is
/// [`Error::Malformed`]; a signature algorithm crpki does not implement is
/// [`Error::Unsupported`]. When several candidate paths fail, the error of
/// the one that got furthest is returned.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use crpki::{Certificate, validate_chain};
///
/// let read = |name: &str| std::fs::read(format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap();
/// let leaf = Certificate::from_pem_or_der(&read("rep-rsa2048.pem"))?;
/// let root = Certificate::from_pem_or_der(&read("registrar-root.der"))?;
/// let june_2026 = UNIX_EPOCH + Duration::from_secs(1_780_272_000);
/// let path = validate_chain(&leaf, &[], &[root], june_2026)?;
/// assert_eq!(path.len(), 2);
/// let moj = path[0].moj()?.expect("MOJ extensions");
/// assert_eq!(moj.corporate_number().as_deref(), Some("5010001008846"));
/// # Ok::<(), crpki::Error>(())
/// ```
pub fn validate_chain(
    leaf: &Certificate,
    intermediates: &[Certificate],
    trusted_roots: &[Certificate],
    at: SystemTime,
) -> Result<Vec<Certificate>> {
    validate(leaf, intermediates, trusted_roots, at, None)
}

/// [`validate_chain`] for a time-stamping authority's certificate
/// (RFC 3161 §2.3): the leaf must carry the extendedKeyUsage extension,
/// critical, with `id-kp-timeStamping` as its only purpose; that critical
/// extension is then understood. Everything else is as for
/// [`validate_chain`]. A leaf without it is
/// [`TrustFailure::KeyUsage`]; an undecodable one [`Error::Malformed`].
pub fn validate_timestamping_chain(
    leaf: &Certificate,
    intermediates: &[Certificate],
    trusted_roots: &[Certificate],
    at: SystemTime,
) -> Result<Vec<Certificate>> {
    validate(leaf, intermediates, trusted_roots, at, Some(ID_KP_TIME_STAMPING))
}

/// `id-kp-timeStamping` (1.3.6.1.5.5.7.3.8).
pub const ID_KP_TIME_STAMPING: ObjectIdentifier = const_oid::db::rfc5280::ID_KP_TIME_STAMPING;

fn validate(
    leaf: &Certificate,
    intermediates: &[Certificate],
    trusted_roots: &[Certificate],
    at: SystemTime,
    leaf_purpose: Option<ObjectIdentifier>,
) -> Result<Vec<Certificate>> {
    if intermediates.len() > MAX_INTERMEDIATES {
        return Err(Error::Untrusted(TrustFailure::LimitExceeded {
            what: "intermediate certificates",
            limit: MAX_INTERMEDIATES,
        }));
    }
    let ctx = Context {
        intermediates,
        trusted_roots,
        at,
        leaf_purpose,
        tried: Cell::new(0),
        signatures: RefCell::new(HashMap::new()),
    };
    check_certificate(leaf, 0, &[], &ctx)?;
    let mut path = vec![leaf];
    let mut best: Option<(usize, Error)> = None;
    if ctx.extend(&mut path, &mut best)? {
        return Ok(path.into_iter().cloned().collect());
    }
    // `extend` records an error whenever it returns false.
    Err(best.map(|(_, e)| e).unwrap_or_else(|| {
        Error::Untrusted(TrustFailure::IssuerNotFound {
            issuer: leaf.issuer(),
        })
    }))
}

/// (certificate DER, issuer key DER): what a signature check depends on.
type SignaturePair<'a> = (&'a [u8], &'a [u8]);

struct Context<'a> {
    intermediates: &'a [Certificate],
    trusted_roots: &'a [Certificate],
    at: SystemTime,
    /// The one extendedKeyUsage purpose the leaf must have (critical), if any.
    leaf_purpose: Option<ObjectIdentifier>,
    /// Candidates tried so far, against [`MAX_ISSUER_CHECKS`].
    tried: Cell<usize>,
    /// Signature checks made, by (certificate DER, issuer key DER): `None`
    /// when it verified, else the failure.
    signatures: RefCell<HashMap<SignaturePair<'a>, Option<TrustFailure>>>,
}

impl<'a> Context<'a> {
    fn is_trusted(&self, cert: &Certificate) -> bool {
        self.trusted_roots.iter().any(|t| t.der() == cert.der())
    }

    /// Checks `issuer`'s signature on `cert`, once per pair of certificate
    /// and issuer key.
    fn signed_by(&self, cert: &'a Certificate, issuer: &'a Certificate) -> Result<()> {
        let key = (cert.der(), issuer.public_key_der());
        if let Some(known) = self.signatures.borrow().get(&key) {
            return known.clone().map_or(Ok(()), |f| Err(Error::Untrusted(f)));
        }
        let outcome = match cert.verify_signed_by(issuer) {
            Ok(()) => None,
            Err(Error::BadSignature { .. }) => Some(TrustFailure::BadCertificateSignature {
                subject: cert.subject(),
            }),
            // Unsupported algorithms and undecodable keys are found
            // without any signature arithmetic: not worth remembering.
            Err(other) => return Err(other),
        };
        self.signatures.borrow_mut().insert(key, outcome.clone());
        outcome.map_or(Ok(()), |f| Err(Error::Untrusted(f)))
    }

    /// Depth-first search from the last certificate of `path`. Returns
    /// whether a trusted root was reached; otherwise `best` holds the error
    /// of the deepest failure. Past [`MAX_ISSUER_CHECKS`] the search stops
    /// with [`TrustFailure::LimitExceeded`].
    fn extend(&self, path: &mut Vec<&'a Certificate>, best: &mut Option<(usize, Error)>) -> Result<bool> {
        let Some(&current) = path.last() else {
            return Ok(false);
        };
        if self.is_trusted(current) {
            return Ok(true);
        }
        let depth = path.len();
        let mut record = |e: Error| {
            if best.as_ref().is_none_or(|(d, _)| depth > *d) {
                *best = Some((depth, e));
            }
        };
        if depth >= MAX_PATH_LEN {
            record(Error::Untrusted(TrustFailure::PathTooLong));
            return Ok(false);
        }
        let candidates = match self.candidates(current, path) {
            Ok(c) => c,
            Err(e) => {
                record(e);
                return Ok(false);
            }
        };
        if candidates.is_empty() {
            record(Error::Untrusted(TrustFailure::IssuerNotFound {
                issuer: current.issuer(),
            }));
            return Ok(false);
        }
        for issuer in candidates {
            self.tried.set(self.tried.get() + 1);
            if self.tried.get() > MAX_ISSUER_CHECKS {
                return Err(Error::Untrusted(TrustFailure::LimitExceeded {
                    what: "candidate issuers tried",
                    limit: MAX_ISSUER_CHECKS,
                }));
            }
            let checked = self
                .signed_by(current, issuer)
                .and_then(|()| check_certificate(issuer, depth, path, self));
            if let Err(e) = checked {
                if best.as_ref().is_none_or(|(d, _)| depth > *d) {
                    *best = Some((depth, e));
                }
                continue;
            }
            path.push(issuer);
            if self.extend(path, best)? {
                return Ok(true);
            }
            path.pop();
        }
        Ok(false)
    }

    /// Certificates that may have issued `cert`: trusted roots first, then
    /// intermediates; none twice, none already on the path, and none with
    /// the subject name and key of a certificate on the path (RFC 4158
    /// loop detection: such a certificate can only lead back to where the
    /// path has been).
    fn candidates(&self, cert: &Certificate, path: &[&Certificate]) -> Result<Vec<&'a Certificate>> {
        let aki = cert.authority_key_id()?;
        let mut out: Vec<&'a Certificate> = Vec::new();
        let same_entity = |a: &Certificate, b: &Certificate| {
            a.public_key_der() == b.public_key_der()
                && a.inner().tbs_certificate().subject() == b.inner().tbs_certificate().subject()
        };
        for candidate in self.trusted_roots.iter().chain(self.intermediates) {
            if path
                .iter()
                .any(|p| p.der() == candidate.der() || same_entity(p, candidate))
                || out.iter().any(|o| o.der() == candidate.der())
            {
                continue;
            }
            if !cert.issuer_name_matches(candidate) {
                continue;
            }
            if let (Some(aki), Some(ski)) = (&aki, candidate.subject_key_id()?)
                && *aki != ski
            {
                continue;
            }
            out.push(candidate);
        }
        Ok(out)
    }
}

/// The checks on one certificate at position `index` (0 = leaf) of a path
/// whose certificates below it are `below`.
fn check_certificate(
    cert: &Certificate,
    index: usize,
    below: &[&Certificate],
    ctx: &Context<'_>,
) -> Result<()> {
    let untrusted = |f: TrustFailure| Err(Error::Untrusted(f));
    if ctx.at < cert.not_before() {
        return untrusted(TrustFailure::NotYetValid {
            subject: cert.subject(),
            not_before: cert.not_before_rfc3339(),
        });
    }
    if ctx.at > cert.not_after() {
        return untrusted(TrustFailure::Expired {
            subject: cert.subject(),
            not_after: cert.not_after_rfc3339(),
        });
    }
    let purpose = if index == 0 { ctx.leaf_purpose } else { None };
    if let Some(purpose) = purpose {
        check_sole_purpose(cert, purpose)?;
    }
    for ext in cert.extensions().iter().filter(|e| e.critical) {
        let handled = purpose.is_some() && ext.extn_id == oid::EXTENDED_KEY_USAGE;
        if !handled && !is_known_extension(&ext.extn_id) {
            return untrusted(TrustFailure::UnhandledCriticalExtension {
                subject: cert.subject(),
                oid: ext.extn_id.to_string(),
            });
        }
    }
    // A critical MOJ extension is understood only if it decodes.
    if cert
        .extensions()
        .iter()
        .any(|e| e.critical && moj::is_moj_extension(&e.extn_id))
    {
        cert.moj()?;
    }
    let key_usage = cert.key_usage()?;
    let constraints = cert.basic_constraints()?;
    if index == 0 {
        if let Some(ku) = key_usage
            && !ku.contains(KeyUsageFlag::DigitalSignature)
            && !ku.contains(KeyUsageFlag::NonRepudiation)
        {
            return untrusted(TrustFailure::KeyUsage {
                subject: cert.subject(),
                needed: "digitalSignature or nonRepudiation",
            });
        }
        return Ok(());
    }
    // An issuer. A v1 trust anchor has no extensions at all; it is trusted as a CA
    // because the caller put it among the roots.
    let v1_anchor = ctx.is_trusted(cert) && cert.inner().tbs_certificate().extensions().is_none();
    if !v1_anchor {
        let Some(bc) = constraints.filter(|bc| bc.is_ca) else {
            return untrusted(TrustFailure::NotCa {
                subject: cert.subject(),
            });
        };
        if let Some(limit) = bc.path_len {
            // Self-issued intermediates do not count (RFC 5280 6.1.4 (l)).
            let intermediates_below = below.iter().skip(1).filter(|c| !c.is_self_issued()).count();
            if intermediates_below > usize::from(limit) {
                return untrusted(TrustFailure::NotCa {
                    subject: cert.subject(),
                });
            }
        }
    }
    if let Some(ku) = key_usage
        && !ku.contains(KeyUsageFlag::KeyCertSign)
    {
        return untrusted(TrustFailure::KeyUsage {
            subject: cert.subject(),
            needed: "keyCertSign",
        });
    }
    Ok(())
}

/// The leaf's extendedKeyUsage must be critical and name `purpose` only.
fn check_sole_purpose(cert: &Certificate, purpose: ObjectIdentifier) -> Result<()> {
    let lacking = || {
        Err(Error::Untrusted(TrustFailure::KeyUsage {
            subject: cert.subject(),
            needed: "a critical extendedKeyUsage with id-kp-timeStamping only",
        }))
    };
    let Some(ext) = cert.extension(oid::EXTENDED_KEY_USAGE) else {
        return lacking();
    };
    let eku = ExtendedKeyUsage::from_der(ext.extn_value.as_bytes())
        .map_err(|e| Error::malformed_from("certificate", e))?;
    if !ext.critical || eku.0.as_slice() != [purpose] {
        return lacking();
    }
    Ok(())
}
