//! The sandbox registrar's revocation services: an OCSP responder (RFC
//! 6960, POST and the GET of its appendix A) at [`OCSP_PATH`], a CRL at
//! [`CRL_PATH`], and the registrar's certificate at [`CA_ISSUERS_PATH`]
//! for `caIssuers`.
//!
//! Certificates are issued once, when the state directory is made, but
//! the sandbox's port changes at every start. So the state gets a
//! revocation origin of its own, `http://127.0.0.1:PORT` with a port
//! chosen when the state is made (in [`ORIGIN_FILE`]); the credentials'
//! certificates name it in their authority information access
//! (`id-ad-ocsp`, `id-ad-caIssuers`) and CRL distribution points, and
//! every start serves these routes there, over plain HTTP as
//! certification authorities publish them (what is served is signed), as
//! well as on the sandbox's own HTTPS origin. When that port is taken
//! (another sandbox on the same state serves it, answering the same), the
//! start goes on without it and says so in the log. A state made before
//! the revocation services has no origin: its certificates name none.
//!
//! OCSP answers are signed by a delegated responder (P-256, extended key
//! usage `id-kp-OCSPSigning`, `id-pkix-ocsp-nocheck`), issued by the
//! registrar at every start and sent in each response, as large CAs do.
//! [`REVOKED`] lists the revoked TEST credentials (`erin-rsa`, reason
//! keyCompromise, revoked a day after its certificate's notBefore); every
//! other certificate of the registrar is good, anything else unknown.

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use der::asn1::{Any, BitString, Ia5String, Null};
use der::{Decode, Encode, Sequence};
use spki::AlgorithmIdentifierOwned;
use x509_cert::certificate::Rfc5280;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AccessDescription, AuthorityInfoAccessSyntax, CrlDistributionPoints, ExtendedKeyUsage, KeyUsage,
    KeyUsages,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use super::core::Shared;
use super::state::SandboxState;
use crate::cert::Certificate;
use crate::crypto::PrivateKey;
use crate::error::{Error, Result};
use crate::revocation::{
    CrlEntry, OcspResponseBuilder, OcspResponseStatus, OcspStatus, RequestAsked, ResponderSigner,
    RevocationReason, build_crl, error_response,
};

/// The OCSP responder (POST; GET under it).
pub const OCSP_PATH: &str = "/ocsp";
/// The registrar's CRL.
pub const CRL_PATH: &str = "/crl/registrar.crl";
/// The registrar's certificate (DER), for `caIssuers`.
pub const CA_ISSUERS_PATH: &str = "/ca/registrar-root.der";

/// The revoked TEST credentials and why.
pub const REVOKED: &[(&str, RevocationReason)] = &[("erin-rsa", RevocationReason::KeyCompromise)];

const DAY: Duration = Duration::from_secs(86_400);
/// How long answers and the CRL are valid.
const ANSWER_LIFETIME: Duration = DAY;
/// How far back thisUpdate is put, for clients whose clock is behind.
const BACKDATE: Duration = Duration::from_secs(60);

/// How the OCSP responder misbehaves ([`super::FaultSettings::ocsp`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OcspFault {
    /// Answers correctly.
    #[default]
    None,
    /// HTTP 503 without an OCSP body (a responder down behind its proxy).
    Unavailable,
    /// The OCSP status `tryLater`, no answer.
    TryLater,
    /// Answers made two days ago, their nextUpdate a day ago.
    Stale,
    /// A body that is not DER.
    Garbage,
    /// Answers signed by a key that is not the responder's.
    BadSignature,
}

/// The responder, the CRL and their counters.
pub(crate) struct RevocationService {
    issuer: Certificate,
    issuer_key: PrivateKey,
    responder: ResponderSigner,
    revoked: Vec<CrlEntry>,
    /// Serial numbers of every certificate the registrar issued here.
    issued: Vec<Vec<u8>>,
    /// The current CRL and when it was made (made again after an hour).
    crl: Mutex<Option<(SystemTime, Arc<Vec<u8>>)>>,
    pub ocsp_requests: AtomicU64,
    pub crl_requests: AtomicU64,
}

/// `TBSCertificate` with the fields this module does not change kept as
/// they are (version v3; no unique identifiers, which the sandbox never
/// writes).
#[derive(Clone, Sequence)]
struct Tbs {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    version: u8,
    serial_number: Any,
    signature: AlgorithmIdentifierOwned,
    issuer: Any,
    validity: Any,
    subject: Any,
    subject_public_key_info: Any,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    extensions: Option<Vec<Extension>>,
}

/// `Certificate` over [`Tbs`].
#[derive(Clone, Sequence)]
struct CertParts {
    tbs: Tbs,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
}

fn bad(e: der::Error) -> Error {
    Error::malformed_from("sandbox certificate", e)
}

fn any_of(value: &impl Encode) -> Result<Any> {
    Any::from_der(&value.to_der().map_err(bad)?).map_err(bad)
}

fn extension(oid: const_oid::ObjectIdentifier, critical: bool, value: &impl Encode) -> Result<Extension> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: der::asn1::OctetString::new(value.to_der().map_err(bad)?).map_err(bad)?,
    })
}

fn uri(url: &str) -> Result<GeneralName> {
    Ok(GeneralName::UniformResourceIdentifier(
        Ia5String::new(url).map_err(bad)?,
    ))
}

/// Signs `tbs` with the registrar's key into a certificate.
fn sign(mut tbs: Tbs, key: &PrivateKey) -> Result<Certificate> {
    let algorithm = crate::revocation::signing_algorithm(key);
    tbs.signature = algorithm.algorithm_identifier()?;
    let tbs_der = tbs.to_der().map_err(bad)?;
    let signature = key.sign_digest(algorithm, &algorithm.hash.digest(&tbs_der))?;
    let parts = CertParts {
        signature_algorithm: tbs.signature.clone(),
        tbs,
        signature: BitString::from_bytes(&signature).map_err(bad)?,
    };
    Certificate::from_der(&parts.to_der().map_err(bad)?)
}

/// The file of the state directory holding the revocation origin.
pub const ORIGIN_FILE: &str = "revocation-origin";

/// Chooses the revocation origin of a new state (a loopback port free
/// now) and writes it to [`ORIGIN_FILE`].
pub(crate) fn choose_origin(dir: &std::path::Path) -> Result<String> {
    let probe = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map_err(|e| Error::io("choosing the sandbox's revocation port", e))?;
    let origin = format!("http://127.0.0.1:{}", probe.port());
    std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    std::fs::write(dir.join(ORIGIN_FILE), &origin)
        .map_err(|e| Error::io(format!("writing {}", dir.join(ORIGIN_FILE).display()), e))?;
    Ok(origin)
}

/// The revocation origin of a state, if it has one.
pub(crate) fn read_origin(dir: &std::path::Path) -> Option<String> {
    let origin = std::fs::read_to_string(dir.join(ORIGIN_FILE)).ok()?;
    let origin = origin.trim();
    origin.starts_with("http://127.0.0.1:").then(|| origin.to_owned())
}

/// The authority information access and CRL distribution points naming
/// `origin`, as extensions for the credentials' certificates.
pub(crate) fn pointer_extensions(origin: &str) -> Result<Vec<rcgen::CustomExtension>> {
    let aia = AuthorityInfoAccessSyntax(vec![
        AccessDescription {
            access_method: crate::revocation::asn1::AD_OCSP,
            access_location: uri(&format!("{origin}{OCSP_PATH}"))?,
        },
        AccessDescription {
            access_method: crate::revocation::asn1::AD_CA_ISSUERS,
            access_location: uri(&format!("{origin}{CA_ISSUERS_PATH}"))?,
        },
    ]);
    let cdp = CrlDistributionPoints(vec![DistributionPoint {
        distribution_point: Some(DistributionPointName::FullName(vec![uri(&format!(
            "{origin}{CRL_PATH}"
        ))?])),
        reasons: None,
        crl_issuer: None,
    }]);
    let ext = |oid: const_oid::ObjectIdentifier, value: Vec<u8>| {
        let arcs: Vec<u64> = oid.arcs().map(u64::from).collect();
        rcgen::CustomExtension::from_oid_content(&arcs, value)
    };
    Ok(vec![
        ext(
            crate::cert::oid::AUTHORITY_INFO_ACCESS,
            aia.to_der().map_err(bad)?,
        ),
        ext(
            crate::cert::oid::CRL_DISTRIBUTION_POINTS,
            cdp.to_der().map_err(bad)?,
        ),
    ])
}

/// A delegated OCSP responder certificate for `issuer`, with a new P-256 key.
fn responder(issuer: &Certificate, issuer_key: &PrivateKey) -> Result<ResponderSigner> {
    let key = PrivateKey::generate_p256()?;
    let now = SystemTime::now();
    let serial: [u8; 9] = crate::crypto::random_bytes()?;
    let mut serial = serial.to_vec();
    serial[0] = (serial[0] & 0x3f) | 0x10;
    let subject =
        Name::from_str("CN=SANDBOX TEST OCSP responder (TEST ONLY),O=crpki SANDBOX TEST").map_err(bad)?;
    let validity = Validity::<Rfc5280>::new(
        Time::try_from(now - Duration::from_secs(3600)).map_err(bad)?,
        Time::try_from(now + 365 * DAY).map_err(bad)?,
    );
    let tbs = Tbs {
        version: 2,
        serial_number: any_of(&SerialNumber::<Rfc5280>::new(&serial).map_err(bad)?)?,
        signature: crate::revocation::signing_algorithm(issuer_key).algorithm_identifier()?,
        issuer: any_of(issuer.inner().tbs_certificate().subject())?,
        validity: any_of(&validity)?,
        subject: any_of(&subject)?,
        subject_public_key_info: Any::from_der(key.public_key().spki_der()).map_err(bad)?,
        extensions: Some(vec![
            extension(
                const_oid::db::rfc5280::ID_CE_KEY_USAGE,
                true,
                &KeyUsage(KeyUsages::DigitalSignature.into()),
            )?,
            extension(
                crate::revocation::asn1::EXT_KEY_USAGE,
                false,
                &ExtendedKeyUsage(vec![crate::revocation::asn1::KP_OCSP_SIGNING]),
            )?,
            extension(crate::revocation::asn1::OCSP_NOCHECK, false, &Null)?,
        ]),
    };
    Ok(ResponderSigner {
        certificate: sign(tbs, issuer_key)?,
        key,
        delegated: true,
    })
}

impl RevocationService {
    /// Sets up the responder (a new delegated responder certificate) and
    /// the CRL for the credentials of `st`.
    pub fn prepare(st: &SandboxState) -> Result<Self> {
        let pem = std::fs::read_to_string(st.dir.join("registrar-root.key.pem"))
            .map_err(|e| Error::io("reading the sandbox registrar key", e))?;
        let (_, der) = der::pem::decode_vec(pem.as_bytes()).map_err(|e| Error::malformed_from("PEM", e))?;
        let issuer_key = PrivateKey::from_pkcs8_der(&der)?;
        let issuer = st.registrar_root.clone();
        let mut revoked = Vec::new();
        let mut issued = Vec::new();
        for key in &st.keys {
            let cert = &key.info.certificate;
            if let Some((_, reason)) = REVOKED.iter().find(|(id, _)| *id == key.info.id) {
                revoked.push(CrlEntry {
                    serial: cert.serial_bytes().to_vec(),
                    time: cert.not_before() + DAY,
                    reason: Some(*reason),
                });
            }
            issued.push(cert.serial_bytes().to_vec());
        }
        let responder = responder(&issuer, &issuer_key)?;
        issued.push(responder.certificate.serial_bytes().to_vec());
        Ok(Self {
            issuer,
            issuer_key,
            responder,
            revoked,
            issued,
            crl: Mutex::new(None),
            ocsp_requests: AtomicU64::new(0),
            crl_requests: AtomicU64::new(0),
        })
    }

    fn status_of(&self, serial: &[u8]) -> OcspStatus {
        if let Some(r) = self.revoked.iter().find(|r| r.serial == serial) {
            OcspStatus::Revoked(r.time, r.reason)
        } else if self.issued.iter().any(|s| s == serial) {
            OcspStatus::Good
        } else {
            OcspStatus::Unknown
        }
    }

    /// The reply to a DER OCSPRequest: the DER OCSPResponse, or an HTTP
    /// status when `fault` says so.
    fn answer(&self, request: &[u8], fault: OcspFault) -> std::result::Result<Result<Vec<u8>>, StatusCode> {
        self.ocsp_requests.fetch_add(1, Ordering::Relaxed);
        let asked = match RequestAsked::parse(request) {
            Ok(asked) if !asked.is_empty() => asked,
            _ => return Ok(error_response(OcspResponseStatus::MalformedRequest)),
        };
        let mut now = SystemTime::now();
        let forged;
        let mut signer = &self.responder;
        match fault {
            OcspFault::None => {}
            OcspFault::Unavailable => return Err(StatusCode::SERVICE_UNAVAILABLE),
            OcspFault::TryLater => return Ok(error_response(OcspResponseStatus::TryLater)),
            OcspFault::Garbage => return Ok(Ok(b"<html>responder error</html>".to_vec())),
            OcspFault::Stale => now -= 2 * DAY,
            OcspFault::BadSignature => {
                let key = match PrivateKey::generate_p256() {
                    Ok(key) => key,
                    Err(e) => return Ok(Err(e)),
                };
                forged = ResponderSigner {
                    certificate: self.responder.certificate.clone(),
                    key,
                    delegated: true,
                };
                signer = &forged;
            }
        }
        Ok(OcspResponseBuilder::new(signer, &self.issuer).respond(
            &asked,
            now - BACKDATE,
            Some(now + ANSWER_LIFETIME),
            |serial| self.status_of(serial),
        ))
    }

    /// The current CRL (made again when it is an hour old).
    fn crl(&self) -> Result<Arc<Vec<u8>>> {
        self.crl_requests.fetch_add(1, Ordering::Relaxed);
        let mut slot = self.crl.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = SystemTime::now();
        if let Some((made, der)) = slot.as_ref()
            && now.duration_since(*made).unwrap_or_default() < Duration::from_secs(3600)
        {
            return Ok(der.clone());
        }
        let der = Arc::new(build_crl(
            &self.issuer,
            &self.issuer_key,
            now - BACKDATE,
            now + ANSWER_LIFETIME,
            &self.revoked,
        )?);
        *slot = Some((now, der.clone()));
        Ok(der)
    }
}

fn der_reply(content_type: &'static str, body: Result<Vec<u8>>) -> Response {
    match body {
        Ok(body) => ([(header::CONTENT_TYPE, content_type)], body).into_response(),
        Err(e) => {
            tracing::error!("sandbox revocation service: {e}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn ocsp_reply(shared: &Shared, request: &[u8]) -> Response {
    match shared.revocation.answer(request, shared.faults.get().ocsp) {
        Ok(body) => der_reply("application/ocsp-response", body),
        Err(status) => status.into_response(),
    }
}

async fn ocsp_post(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    ocsp_reply(&shared, &body)
}

/// RFC 6960 appendix A.1: `GET {url}/{url-encoding of base-64 of the DER request}`.
async fn ocsp_get(State(shared): State<Arc<Shared>>, Path(request): Path<String>) -> Response {
    let der = base64::engine::general_purpose::STANDARD
        .decode(request.trim_start_matches('/'))
        .unwrap_or_default();
    ocsp_reply(&shared, &der)
}

async fn crl(State(shared): State<Arc<Shared>>) -> Response {
    der_reply(
        "application/pkix-crl",
        shared.revocation.crl().map(|der| der.as_ref().clone()),
    )
}

async fn ca_issuers(State(shared): State<Arc<Shared>>) -> Response {
    der_reply(
        "application/pkix-cert",
        Ok(shared.revocation.issuer.der().to_vec()),
    )
}

/// Serves the revocation routes on the state's revocation origin (plain
/// HTTP), or `None` when the state has none or its port is taken (logged).
pub(crate) fn serve_origin(
    shared: &Arc<Shared>,
) -> Option<(
    String,
    axum_server::Handle<std::net::SocketAddr>,
    tokio::task::JoinHandle<()>,
)> {
    let origin = read_origin(&shared.state.dir)?;
    let addr: std::net::SocketAddr = origin.trim_start_matches("http://").parse().ok()?;
    let listener = match std::net::TcpListener::bind(addr).and_then(|l| l.set_nonblocking(true).map(|()| l)) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(
                "sandbox: the revocation origin {origin} of this state is not served by this sandbox ({e}); \
                 another sandbox on the same state may serve it"
            );
            return None;
        }
    };
    let server = axum_server::from_tcp(listener).ok()?;
    let handle = axum_server::Handle::new();
    let app = routes().with_state(Arc::clone(shared));
    let server = server.handle(handle.clone());
    let task = tokio::spawn(async move {
        if let Err(e) = server.serve(app.into_make_service()).await {
            tracing::error!("sandbox revocation server stopped: {e}");
        }
    });
    Some((origin, handle, task))
}

/// The routes of the revocation services.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(OCSP_PATH, axum::routing::post(ocsp_post))
        .route(&format!("{OCSP_PATH}/{{*request}}"), get(ocsp_get))
        .route(CRL_PATH, get(crl))
        .route(CA_ISSUERS_PATH, get(ca_issuers))
}
