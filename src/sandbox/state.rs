//! The sandbox's persistent state: its registrar CA, its users and their
//! signing credentials (keys and certificates), the TLS CA and server
//! certificate, the OpenID provider's signing key and the client secret.
//!
//! Everything is generated once into the state directory and read back on
//! later starts, so that separate processes see the same service. Private
//! keys are read only by the sandbox process; nothing here hands them out.

use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType, SerialNumber,
};
use serde::{Deserialize, Serialize};
use time::{Duration as TimeDuration, OffsetDateTime};

use crate::cert::Certificate;
use crate::cert::moj::{self, CorporateInfo};
use crate::error::{Error, Result};
use crate::signer::PrivateKey;

const STATE_VERSION: u32 = 1;

/// How a credential is authorized for signing.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CredentialAuthMode {
    /// `credentials/authorize` with a PIN and/or OTP in `authData`.
    Explicit {
        /// The PIN, if one is asked for.
        pin: Option<String>,
        /// The one-time password, if one is asked for (a fixed value in the sandbox).
        otp: Option<String>,
    },
    /// Through the OAuth 2.0 `credential` scope (`oauth2/authorize`).
    OAuth2Code,
}

/// One signing credential of a sandbox user.
#[derive(Clone, Debug)]
pub struct SandboxCredential {
    /// The CSC `credentialID`.
    pub id: String,
    /// How it is authorized.
    pub auth_mode: CredentialAuthMode,
    /// Sole Control Assurance Level: 1, or 2 (authorization bound to the exact hashes).
    pub scal: u8,
    /// Whether its key is enabled.
    pub key_enabled: bool,
    /// Whether its certificate has expired.
    pub expired: bool,
    /// The signing certificate (issued by the sandbox registrar root, [`super::Sandbox::registrar_root`]).
    pub certificate: Certificate,
}

/// A sandbox user: a GビズID-style account and (some of) a CSC RSSP account.
#[derive(Clone, Debug)]
pub struct SandboxUser {
    /// Login name for `auth/login` and the login page.
    pub id: String,
    /// Password (TEST value, documented in the module docs).
    pub password: String,
    /// The GビズID-style `sub`.
    pub subject: String,
    /// The company's 13-digit 法人番号 (`corporate_number`).
    pub corporate_number: String,
    /// The company's 12-digit 会社法人等番号.
    pub registered_number: String,
    /// The company's name (商号).
    pub corporate_name: String,
    /// The representative's name.
    pub representative: String,
    /// Signing credentials (may be empty).
    pub credentials: Vec<SandboxCredential>,
}

/// A credential with its private key (server side only).
pub(crate) struct CredentialKey {
    pub info: SandboxCredential,
    pub key: PrivateKey,
    pub owner: String,
}

/// The state directory's contents, loaded.
pub(crate) struct SandboxState {
    pub dir: PathBuf,
    pub registrar_root: Certificate,
    pub users: Vec<SandboxUser>,
    pub keys: Vec<CredentialKey>,
    pub tls_ca_pem: String,
    pub tls_server_cert_pem: String,
    pub tls_server_key_pem: String,
    pub oidc_key_pem: String,
    pub client_secret: String,
}

#[derive(Serialize, Deserialize)]
struct StateFile {
    version: u32,
    note: String,
    client_id: String,
    client_secret: String,
}

/// The OAuth/OIDC client registered for the crpki tool.
pub const CLIENT_ID: &str = "crpki-cli";

struct UserDef {
    id: &'static str,
    password: &'static str,
    subject: &'static str,
    corporate_name: &'static str,
    registered_number: &'static str,
    representative: &'static str,
    creds: &'static [CredDef],
}

#[derive(Clone, Copy)]
enum KeyKind {
    Rsa2048,
    P256,
}

struct CredDef {
    id: &'static str,
    kind: KeyKind,
    scal: u8,
    pin: Option<&'static str>,
    otp: Option<&'static str>,
    oauth2: bool,
    expired: bool,
    disabled: bool,
}

const fn cred(id: &'static str, kind: KeyKind, scal: u8, pin: Option<&'static str>) -> CredDef {
    CredDef {
        id,
        kind,
        scal,
        pin,
        otp: None,
        oauth2: false,
        expired: false,
        disabled: false,
    }
}

const USERS: &[UserDef] = &[
    UserDef {
        id: "alice",
        password: "alice-password",
        subject: "sandbox-gbiz-0001-alice",
        corporate_name: "株式会社サンドボックス商事 TEST",
        registered_number: "010401100001",
        representative: "有栖 花子",
        creds: &[cred("alice-rsa", KeyKind::Rsa2048, 1, Some("1234"))],
    },
    UserDef {
        id: "bob",
        password: "bob-password",
        subject: "sandbox-gbiz-0002-bob",
        corporate_name: "合同会社サンドボックス電子 TEST",
        registered_number: "010403200002",
        representative: "坊 太郎",
        creds: &[
            CredDef {
                otp: Some("123456"),
                ..cred("bob-rsa-scal2", KeyKind::Rsa2048, 2, None)
            },
            cred("bob-ecdsa", KeyKind::P256, 1, Some("5678")),
            CredDef {
                expired: true,
                ..cred("bob-expired", KeyKind::Rsa2048, 1, Some("5678"))
            },
            CredDef {
                oauth2: true,
                ..cred("bob-oauth", KeyKind::Rsa2048, 2, None)
            },
        ],
    },
    UserDef {
        id: "carol",
        password: "carol-password",
        subject: "sandbox-gbiz-0003-carol",
        corporate_name: "株式会社キャロル物産 TEST",
        registered_number: "010401300003",
        representative: "加労 三子",
        creds: &[],
    },
    UserDef {
        id: "dave",
        password: "dave-password",
        subject: "sandbox-gbiz-0004-dave",
        corporate_name: "株式会社デイブ工業 TEST",
        registered_number: "010401400004",
        representative: "出部 四郎",
        creds: &[CredDef {
            disabled: true,
            ..cred("dave-rsa", KeyKind::Rsa2048, 1, Some("1234"))
        }],
    },
    // Her certificate is revoked (keyCompromise) in the OCSP answers and
    // the CRL (`super::revocation::REVOKED`); the key still signs.
    UserDef {
        id: "erin",
        password: "erin-password",
        subject: "sandbox-gbiz-0005-erin",
        corporate_name: "株式会社エリン失効 TEST",
        registered_number: "010401500005",
        representative: "江凛 五子",
        creds: &[cred("erin-rsa", KeyKind::Rsa2048, 1, Some("1234"))],
    },
];

const REGISTRAR_CN: &str = "SANDBOX TEST Registrar of Tokyo Legal Affairs Bureau";

pub(super) fn gen_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Config {
        detail: format!("sandbox state: {what}: {e}"),
    }
}

#[cfg_attr(not(unix), allow(unused_variables))]
pub(super) fn write_file(path: &Path, data: &[u8], secret: bool) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| Error::io(format!("creating {}", parent.display()), e))?;
    }
    fs::write(path, data).map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    // On Windows the file inherits the ACL of its (per-user) directory.
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))
            .map_err(|e| Error::io(format!("restricting {}", path.display()), e))?;
    }
    Ok(())
}

pub(super) fn read_string(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))
}

pub(super) fn pem_to_der(pem: &str, what: &'static str) -> Result<Vec<u8>> {
    der::pem::decode_vec(pem.as_bytes())
        .map(|(_label, der)| der)
        .map_err(|e| Error::malformed_from(what, e))
}

fn der_to_pem(der: &[u8], label: &'static str) -> Result<String> {
    der::pem::encode_string(label, der::pem::LineEnding::LF, der).map_err(|e| Error::malformed_from("PEM", e))
}

/// The parameters of a CA certificate named `names` (in order), for
/// signing certificates and CRLs, valid from `not_before` to `not_after`,
/// with a fresh serial number.
/// A distinguished name of these attributes, in this order.
pub(super) fn distinguished_name(names: &[(DnType, &str)]) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    for (kind, value) in names {
        dn.push(kind.clone(), *value);
    }
    dn
}

fn ca_certificate_params(
    names: &[(DnType, &str)],
    constraints: BasicConstraints,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = distinguished_name(names);
    params.is_ca = IsCa::Ca(constraints);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = not_before;
    params.not_after = not_after;
    params.serial_number = Some(random_serial());
    params
}

/// A self-signed CA certificate of `key` named `names`, and the issuer
/// that signs under it; `what` names it in errors.
pub(super) fn self_signed_ca(
    key: KeyPair,
    names: &[(DnType, &str)],
    constraints: BasicConstraints,
    validity: (OffsetDateTime, OffsetDateTime),
    what: &str,
) -> Result<(rcgen::Certificate, Issuer<'static, KeyPair>)> {
    let params = ca_certificate_params(names, constraints, validity.0, validity.1);
    let cert = params.self_signed(&key).map_err(|e| gen_err(what, e))?;
    Ok((cert, Issuer::new(params, key)))
}

/// The parameters of a TEST end-entity certificate that signs (a
/// company's representative, the TSA): named `names`, digitalSignature and
/// nonRepudiation, an authority key identifier, a random serial.
pub(super) fn signer_params(
    names: &[(DnType, &str)],
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = distinguished_name(names);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::ContentCommitment,
    ];
    params.use_authority_key_identifier_extension = true;
    params.serial_number = Some(random_serial());
    params.not_before = not_before;
    params.not_after = not_after;
    params
}

pub(super) fn random_serial() -> SerialNumber {
    let mut bytes: [u8; 9] = rand::random();
    // A positive, non-zero INTEGER of fixed length.
    bytes[0] = (bytes[0] & 0x3f) | 0x10;
    SerialNumber::from_slice(&bytes)
}

fn oid_arcs(oid: &const_oid::ObjectIdentifier) -> Vec<u64> {
    oid.arcs().map(u64::from).collect()
}

pub(super) fn critical_ext(oid: &const_oid::ObjectIdentifier, content: Vec<u8>) -> CustomExtension {
    let mut ext = CustomExtension::from_oid_content(&oid_arcs(oid), content);
    ext.set_criticality(true);
    ext
}

impl SandboxState {
    /// Loads the state from `dir`, generating it first when absent.
    pub fn load_or_create(dir: &Path) -> Result<Self> {
        let marker = dir.join("state.json");
        if !marker.exists() {
            generate(dir)?;
        }
        Self::load(dir)
    }

    fn load(dir: &Path) -> Result<Self> {
        let file: StateFile = serde_json::from_str(&read_string(&dir.join("state.json"))?)
            .map_err(|e| Error::malformed_from("sandbox state.json", e))?;
        if file.version != STATE_VERSION {
            return Err(Error::Config {
                detail: format!(
                    "sandbox state in {} has version {}, expected {STATE_VERSION}: delete it to regenerate",
                    dir.display(),
                    file.version
                ),
            });
        }
        let registrar_root = Certificate::from_der(&pem_to_der(
            &read_string(&dir.join("registrar-root.pem"))?,
            "registrar certificate",
        )?)?;
        let now = OffsetDateTime::now_utc();
        let mut users = Vec::new();
        let mut keys = Vec::new();
        for def in USERS {
            let mut creds = Vec::new();
            for c in def.creds {
                let cert_path = dir.join("credentials").join(format!("{}.pem", c.id));
                if !cert_path.exists() {
                    // A state made before this credential existed.
                    tracing::warn!(
                        "sandbox state {} has no credential {}: delete the directory to regenerate it",
                        dir.display(),
                        c.id
                    );
                    continue;
                }
                let cert_pem = read_string(&cert_path)?;
                let certificate = Certificate::from_der(&pem_to_der(&cert_pem, "credential certificate")?)?;
                let key_pem = read_string(&dir.join("credentials").join(format!("{}.key.pem", c.id)))?;
                let key = PrivateKey::from_pkcs8_der(&pem_to_der(&key_pem, "credential key")?)?;
                key.check_matches(certificate.public_key_der())?;
                let not_after = certificate
                    .inner()
                    .tbs_certificate()
                    .validity()
                    .not_after
                    .to_unix_duration();
                let expired = (not_after.as_secs() as i64) < now.unix_timestamp();
                let info = SandboxCredential {
                    id: c.id.to_string(),
                    auth_mode: if c.oauth2 {
                        CredentialAuthMode::OAuth2Code
                    } else {
                        CredentialAuthMode::Explicit {
                            pin: c.pin.map(str::to_string),
                            otp: c.otp.map(str::to_string),
                        }
                    },
                    scal: c.scal,
                    key_enabled: !c.disabled,
                    expired,
                    certificate,
                };
                creds.push(info.clone());
                keys.push(CredentialKey {
                    info,
                    key,
                    owner: def.id.to_string(),
                });
            }
            users.push(SandboxUser {
                id: def.id.to_string(),
                password: def.password.to_string(),
                subject: def.subject.to_string(),
                corporate_number: moj::corporate_number(def.registered_number)?,
                registered_number: def.registered_number.to_string(),
                corporate_name: def.corporate_name.to_string(),
                representative: def.representative.to_string(),
                credentials: creds,
            });
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            registrar_root,
            users,
            keys,
            tls_ca_pem: read_string(&dir.join("tls").join("ca.pem"))?,
            tls_server_cert_pem: read_string(&dir.join("tls").join("server.pem"))?,
            tls_server_key_pem: read_string(&dir.join("tls").join("server.key.pem"))?,
            oidc_key_pem: read_string(&dir.join("oidc").join("signing.key.pem"))?,
            client_secret: file.client_secret,
        })
    }

    /// Path of the TLS CA certificate clients must trust.
    pub fn tls_ca_path(&self) -> PathBuf {
        self.dir.join("tls").join("ca.pem")
    }
}

pub(super) fn rsa_key() -> Result<KeyPair> {
    // Generated through the crate's one key module, so there is a single
    // source of key material; rcgen only signs certificates with it.
    let key = PrivateKey::generate_rsa(2048)?;
    let der = key.to_pkcs8_der()?;
    KeyPair::from_pkcs8_der_and_sign_algo(&der.as_slice().into(), &rcgen::PKCS_RSA_SHA256)
        .map_err(|e| gen_err("RSA key", e))
}

fn p256_key() -> Result<KeyPair> {
    let key = PrivateKey::generate_p256()?;
    let der = key.to_pkcs8_der()?;
    KeyPair::from_pkcs8_der_and_sign_algo(&der.as_slice().into(), &rcgen::PKCS_ECDSA_P256_SHA256)
        .map_err(|e| gen_err("EC key", e))
}

fn generate(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let now = OffsetDateTime::now_utc();

    // Registrar CA, in the style of the MOJ registrar roots, marked as a sandbox.
    let ca_key = rsa_key()?;
    let ca_key_pem = ca_key.serialize_pem();
    let (ca_cert, issuer) = self_signed_ca(
        ca_key,
        &[
            (DnType::CountryName, "JP"),
            (DnType::OrganizationName, "Japanese Government"),
            (DnType::OrganizationalUnitName, "Ministry of Justice"),
            (DnType::CommonName, REGISTRAR_CN),
        ],
        BasicConstraints::Unconstrained,
        (now - TimeDuration::days(365), now + TimeDuration::days(365 * 6)),
        "registrar CA",
    )?;
    write_file(&dir.join("registrar-root.pem"), ca_cert.pem().as_bytes(), false)?;
    write_file(&dir.join("registrar-root.der"), ca_cert.der(), false)?;
    write_file(&dir.join("registrar-root.key.pem"), ca_key_pem.as_bytes(), true)?;
    let revocation_origin = super::revocation::choose_origin(dir)?;

    for user in USERS {
        for c in user.creds {
            let key = match c.kind {
                KeyKind::Rsa2048 => rsa_key()?,
                KeyKind::P256 => p256_key()?,
            };
            let (not_before, not_after) = if c.expired {
                (now - TimeDuration::days(400), now - TimeDuration::days(35))
            } else {
                (now - TimeDuration::days(30), now + TimeDuration::days(800))
            };
            let mut params = signer_params(
                &[
                    (DnType::CountryName, "JP"),
                    (DnType::OrganizationName, user.corporate_name),
                    (DnType::CommonName, user.representative),
                ],
                not_before,
                not_after,
            );
            let info = CorporateInfo {
                corporate_name: Some(user.corporate_name.to_string()),
                registered_number: Some(user.registered_number.to_string()),
                corporate_address: Some("東京都千代田区霞が関一丁目1番1号 (SANDBOX)".to_string()),
                director_name: Some(user.representative.to_string()),
                director_title: Some("代表取締役".to_string()),
                registry_office: Some("東京法務局".to_string()),
            };
            params.custom_extensions = vec![
                critical_ext(
                    &moj::OID_J_CERTIFICATE_POLICIES,
                    moj::policies_to_der(moj::OID_MOJ_POLICY)?,
                ),
                critical_ext(&moj::OID_REGISTRAR, moj::registrar_to_der("東京法務局登記官")?),
                critical_ext(&moj::OID_REGISTERED_CORPORATE_INFO, info.to_der()?),
            ];
            params
                .custom_extensions
                .extend(super::revocation::pointer_extensions(&revocation_origin)?);
            let cert = params
                .signed_by(&key, &issuer)
                .map_err(|e| gen_err("credential certificate", e))?;
            let cdir = dir.join("credentials");
            write_file(&cdir.join(format!("{}.pem", c.id)), cert.pem().as_bytes(), false)?;
            write_file(
                &cdir.join(format!("{}.key.pem", c.id)),
                key.serialize_pem().as_bytes(),
                true,
            )?;
        }
    }

    // TLS: a CA of its own (so clients trust one file) and a loopback server certificate.
    let (tls_ca_cert, tls_issuer) = self_signed_ca(
        p256_key()?,
        &[
            (DnType::OrganizationName, "crpki SANDBOX TEST"),
            (DnType::CommonName, "crpki sandbox TLS CA (TEST, loopback only)"),
        ],
        BasicConstraints::Constrained(0),
        (now - TimeDuration::days(1), now + TimeDuration::days(365 * 5)),
        "TLS CA",
    )?;
    let server_key = p256_key()?;
    let mut sp = CertificateParams::default();
    sp.distinguished_name = distinguished_name(&[(DnType::CommonName, "localhost (crpki sandbox TEST)")]);
    sp.subject_alt_names = vec![
        SanType::DnsName("localhost".try_into().map_err(|e| gen_err("SAN", e))?),
        SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1])),
        SanType::IpAddress(std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST)),
    ];
    sp.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    sp.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    sp.use_authority_key_identifier_extension = true;
    sp.not_before = now - TimeDuration::days(1);
    sp.not_after = now + TimeDuration::days(365 * 2);
    sp.serial_number = Some(random_serial());
    let server_cert = sp
        .signed_by(&server_key, &tls_issuer)
        .map_err(|e| gen_err("TLS server certificate", e))?;
    write_file(
        &dir.join("tls").join("ca.pem"),
        tls_ca_cert.pem().as_bytes(),
        false,
    )?;
    write_file(
        &dir.join("tls").join("server.pem"),
        server_cert.pem().as_bytes(),
        false,
    )?;
    write_file(
        &dir.join("tls").join("server.key.pem"),
        server_key.serialize_pem().as_bytes(),
        true,
    )?;

    // The OpenID provider's RS256 key.
    let oidc = PrivateKey::generate_rsa(2048)?;
    write_file(
        &dir.join("oidc").join("signing.key.pem"),
        der_to_pem(&oidc.to_pkcs8_der()?, "PRIVATE KEY")?.as_bytes(),
        true,
    )?;

    let secret: [u8; 24] = rand::random();
    let file = StateFile {
        version: STATE_VERSION,
        note: "crpki SANDBOX / TEST state: every key here is a test key; never use it for anything real"
            .into(),
        client_id: CLIENT_ID.into(),
        client_secret: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret),
    };
    let json = serde_json::to_vec_pretty(&file).map_err(|e| gen_err("state.json", e))?;
    // Written last: its presence means the state is complete.
    write_file(&dir.join("state.json"), &json, true)?;
    Ok(())
}
