//! The sandbox's time-stamping authority: RFC 3161 over HTTP (`POST /tsa`,
//! `application/timestamp-query` in, `application/timestamp-reply` out),
//! signing with its own TEST TSA certificate (extendedKeyUsage
//! `id-kp-timeStamping`, critical) under a TEST TSA root.
//!
//! Kept in `<state>/tsa/`: `tsa-root.pem` and `tsa-root.der` (the root
//! that clients trust: [`super::Sandbox::tsa_root`],
//! [`super::Sandbox::tsa_root_path`]), `tsa.pem` and `tsa.key.pem` (the
//! TSA's certificate and TEST key). Generated at the first start that
//! finds them absent, so older state directories gain a TSA too.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::CmsVersion;
use cms::signed_data::{CertificateSet, SignerIdentifier, SignerInfo};
use const_oid::ObjectIdentifier;
use der::asn1::{Any, BitString, GeneralizedTime, Int, OctetString};
use der::{Decode, Encode};
use rcgen::{BasicConstraints, DnType, KeyPair};
use spki::AlgorithmIdentifierOwned;
use time::{Duration as TimeDuration, OffsetDateTime};
use x509_cert::ext::pkix::ExtendedKeyUsage;
use x509_cert::ext::pkix::name::GeneralName;

use super::core::Shared;
use super::state::{
    critical_ext, gen_err, pem_to_der, random_serial, read_string, rsa_key, self_signed_ca, signer_params,
    write_file,
};
use crate::cert::Certificate;
use crate::crypto::{HashAlgorithm, SignatureAlgorithm};
use crate::error::{Error, Result};
use crate::signer::PrivateKey;
use crate::tsp::asn1::{Accuracy, PkiStatusInfo, TimeStampResp, TstInfo};
use crate::tsp::{ID_CT_TST_INFO, TIMESTAMP_QUERY, TIMESTAMP_REPLY, parse_request};

/// The sandbox TSA's policy (TEST): `2.25.3161.1`, under the UUID arc
/// (X.667), not a policy any real TSA announces.
pub const SANDBOX_TSA_POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.25.3161.1");

/// The TSA: its key and certificate, and the root above it.
pub(crate) struct Tsa {
    key: PrivateKey,
    cert: Certificate,
    root: Certificate,
    root_path: PathBuf,
}

impl std::fmt::Debug for Tsa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tsa")
            .field("cert", &self.cert.subject())
            .finish_non_exhaustive()
    }
}

impl Tsa {
    /// Loads `<state>/tsa/`, generating it first when absent. The
    /// directory appears whole or not at all (it is made under another
    /// name and renamed), so sandboxes starting at once on one state
    /// never read a half-written file.
    pub fn load_or_create(state_dir: &Path) -> Result<Self> {
        let dir = state_dir.join("tsa");
        if !dir.join("tsa.key.pem").exists() {
            generate_atomically(state_dir, &dir)?;
        }
        let root = Certificate::from_der(&pem_to_der(&read_string(&dir.join("tsa-root.pem"))?, "TSA root")?)?;
        let cert = Certificate::from_der(&pem_to_der(
            &read_string(&dir.join("tsa.pem"))?,
            "TSA certificate",
        )?)?;
        let key =
            PrivateKey::from_pkcs8_der(&pem_to_der(&read_string(&dir.join("tsa.key.pem"))?, "TSA key")?)?;
        Ok(Self {
            key,
            cert,
            root,
            root_path: dir.join("tsa-root.pem"),
        })
    }

    /// The TEST TSA root.
    pub fn root(&self) -> &Certificate {
        &self.root
    }

    /// Where the root's PEM is.
    pub fn root_path(&self) -> &Path {
        &self.root_path
    }
}

fn generate_atomically(state_dir: &Path, dir: &Path) -> Result<()> {
    let rnd: u64 = rand::random();
    let tmp = state_dir.join(format!(".tsa-{rnd:016x}.tmp"));
    let made = generate(&tmp).and_then(|()| {
        std::fs::rename(&tmp, dir).or_else(|e| {
            if dir.join("tsa.key.pem").exists() {
                // Another sandbox on this state made it first: use theirs.
                Ok(())
            } else {
                Err(Error::io(format!("moving {} into place", dir.display()), e))
            }
        })
    });
    if tmp.exists() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    made
}

fn generate(dir: &Path) -> Result<()> {
    let now = OffsetDateTime::now_utc();
    let (root, issuer) = self_signed_ca(
        rsa_key()?,
        &[
            (DnType::CountryName, "JP"),
            (DnType::OrganizationName, "crpki SANDBOX TEST"),
            (DnType::CommonName, "crpki sandbox TSA Root (TEST)"),
        ],
        BasicConstraints::Constrained(0),
        (now - TimeDuration::days(365), now + TimeDuration::days(365 * 10)),
        "TSA root",
    )?;
    let key = rsa_key()?;
    let mut params = signer_params(
        &[
            (DnType::CountryName, "JP"),
            (DnType::OrganizationName, "crpki SANDBOX TEST"),
            (DnType::CommonName, "crpki sandbox Time-Stamping Authority (TEST)"),
        ],
        now - TimeDuration::days(30),
        now + TimeDuration::days(365 * 5),
    );
    let eku = ExtendedKeyUsage(vec![crate::cert::ID_KP_TIME_STAMPING])
        .to_der()
        .map_err(|e| gen_err("TSA extendedKeyUsage", e))?;
    params.custom_extensions = vec![critical_ext(&crate::cert::oid::EXTENDED_KEY_USAGE, eku)];
    let cert = params
        .signed_by(&key, &issuer)
        .map_err(|e| gen_err("TSA certificate", e))?;

    write_file(&dir.join("tsa-root.pem"), root.pem().as_bytes(), false)?;
    write_file(&dir.join("tsa-root.der"), root.der(), false)?;
    write_file(&dir.join("tsa.pem"), cert.pem().as_bytes(), false)?;
    write_file(
        &dir.join("tsa.key.pem"),
        KeyPair::serialize_pem(&key).as_bytes(),
        true,
    )
}

/// A `TimeStampResp` granting a token for the DER `TimeStampReq`
/// `request`, signed with `key` as `cert` at `gen_time` (whole seconds),
/// or refusing it (`badDataFormat`, `badAlg`) when it cannot be read.
/// What the sandbox's `/tsa` answers; public so that tests can issue
/// tokens with other TEST certificates (one without the timeStamping
/// purpose, one that has expired).
pub fn timestamp_reply(
    key: &PrivateKey,
    cert: &Certificate,
    request: &[u8],
    gen_time: SystemTime,
) -> Result<Vec<u8>> {
    let req = match parse_request(request) {
        Ok(r) => r,
        Err(e) => {
            let bit = if matches!(e, Error::Unsupported { .. }) {
                0
            } else {
                5
            };
            return rejection(&format!("cannot read the request: {e}"), bit);
        }
    };
    let serial = random_serial();
    let tst = TstInfo {
        version: 1,
        policy: req.policy.unwrap_or(SANDBOX_TSA_POLICY),
        message_imprint: crate::tsp::message_imprint(&req.imprint)?,
        serial_number: Int::new(serial.as_ref()).map_err(internal)?,
        gen_time: Any::encode_from(
            &GeneralizedTime::from_system_time(gen_time)
                .map_err(|_| Error::invalid_argument("genTime out of range"))?,
        )
        .map_err(internal)?,
        accuracy: Some(Accuracy {
            seconds: Some(1),
            millis: None,
            micros: None,
        }),
        ordering: false,
        nonce: req
            .nonce
            .as_deref()
            .map(der::asn1::Uint::new)
            .transpose()
            .map_err(internal)?,
        tsa: Some(GeneralName::DirectoryName(
            cert.inner().tbs_certificate().subject().clone(),
        )),
        extensions: None,
    };
    let token = sign_tst(key, cert, &tst.to_der().map_err(internal)?, req.cert_req)?;
    TimeStampResp {
        status: PkiStatusInfo {
            status: 0,
            status_string: None,
            fail_info: None,
        },
        time_stamp_token: Some(Any::from_der(&token).map_err(internal)?),
    }
    .to_der()
    .map_err(internal)
}

/// A `rejection` reply with `text` and one failInfo bit.
pub fn rejection(text: &str, fail_bit: u8) -> Result<Vec<u8>> {
    let mut bits = [0u8; 3];
    bits[usize::from(fail_bit / 8)] |= 0x80 >> (fail_bit % 8);
    let used = usize::from(fail_bit / 8) + 1;
    TimeStampResp {
        status: PkiStatusInfo {
            status: 2,
            status_string: Some(vec![text.to_owned()]),
            fail_info: Some(BitString::new(7 - fail_bit % 8, &bits[..used]).map_err(internal)?),
        },
        time_stamp_token: None,
    }
    .to_der()
    .map_err(internal)
}

fn internal(e: der::Error) -> Error {
    Error::Other(Arc::new(e))
}

/// The token: SignedData over the TSTInfo, SHA-256 with RSA, ESS
/// signingCertificateV2, the TSA certificate when asked for; built by
/// the crate's CMS code.
fn sign_tst(key: &PrivateKey, cert: &Certificate, tst_der: &[u8], cert_req: bool) -> Result<Vec<u8>> {
    let hash = HashAlgorithm::Sha256;
    let alg = SignatureAlgorithm::RSA_PKCS1_SHA256;
    let attrs = crate::cms::signed_attributes(
        ID_CT_TST_INFO,
        &hash.digest(tst_der),
        None,
        &crate::cms::signing_certificate_v2(cert)?,
    )?;
    let signature = key.sign_digest(alg, &hash.digest(&attrs.to_der().map_err(internal)?))?;
    let tbs = cert.inner().tbs_certificate();
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer().clone(),
            serial_number: tbs.serial_number().clone(),
        }),
        digest_alg: AlgorithmIdentifierOwned {
            oid: hash.oid(),
            parameters: None,
        },
        signed_attrs: Some(attrs),
        signature_algorithm: AlgorithmIdentifierOwned {
            oid: alg.oid(),
            parameters: Some(Any::null()),
        },
        signature: OctetString::new(signature).map_err(internal)?,
        unsigned_attrs: None,
    };
    let certificates = if cert_req {
        Some(
            CertificateSet::try_from(vec![CertificateChoices::Certificate(cert.inner().clone())])
                .map_err(internal)?,
        )
    } else {
        None
    };
    crate::cms::signed_data(hash, ID_CT_TST_INFO, Some(tst_der), certificates, signer_info)
}

/// `POST /tsa`.
pub(crate) async fn serve(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if media.as_deref() != Some(TIMESTAMP_QUERY) {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("the sandbox TSA takes {TIMESTAMP_QUERY}"),
        )
            .into_response();
    }
    let tsa = &shared.tsa;
    match timestamp_reply(&tsa.key, &tsa.cert, &body, SystemTime::now()) {
        Ok(reply) => ([(header::CONTENT_TYPE, TIMESTAMP_REPLY)], reply).into_response(),
        Err(e) => {
            tracing::error!("sandbox TSA: {e}");
            (StatusCode::INTERNAL_SERVER_ERROR, "the sandbox TSA failed").into_response()
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Sandboxes starting at once on a state without a TSA yet all load
    /// the same, whole TSA (CI once read a half-written root).
    #[test]
    fn concurrent_first_loads_agree_on_one_tsa() {
        let state = tempfile::tempdir().unwrap();
        let roots: Vec<Vec<u8>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| Tsa::load_or_create(state.path()).unwrap().root().der().to_vec()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(
            roots.windows(2).all(|w| w[0] == w[1]),
            "every loader sees the same root"
        );
        let again = Tsa::load_or_create(state.path()).unwrap();
        assert_eq!(again.root().der(), roots[0].as_slice());
        let leftovers: Vec<_> = std::fs::read_dir(state.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n != "tsa")
            .collect();
        assert!(leftovers.is_empty(), "no temporary directory left: {leftovers:?}");
    }
}
