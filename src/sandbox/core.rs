//! The service behind every endpoint: who is calling (tokens), what they
//! may sign (SADs and credential-scope grants), and the signing itself.
//! The v2 routes, the v1 adapter and the OAuth endpoints are thin shells
//! over it, so both API versions behave the same.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::{HeaderMap, StatusCode};
use der::Decode;
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde::{Deserialize, Serialize};

use super::api::{ApiError, ApiResult, b64, bearer, decode_b64, now_secs, random_token, secret_eq};
use super::faults::FaultState;
use super::state::{CredentialAuthMode, CredentialKey, SandboxState};
use crate::csc::wire::v2::{AuthDescription, AuthObject, CertDescription, CredentialInfo, KeyDescription};
use crate::signer::{Digest, HashAlgorithm, KeyAlgorithm, SignatureAlgorithm, SignatureScheme, oid};

/// Hashes per request from which the sandbox signs on several threads.
const PARALLEL_FROM: usize = 64;

/// Lifetimes and switches of a running sandbox.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub auto_approve: bool,
    pub access_token_ttl: u64,
    pub refresh_token_ttl: u64,
    pub sad_ttl: u64,
    pub code_ttl: u64,
    pub multisign: u32,
}

/// Where the sandbox answers.
#[derive(Clone, Debug)]
pub(crate) struct Urls {
    pub base: String,
    pub issuer: String,
    pub csc_v2: String,
    pub csc_v1: String,
}

/// What a SAD or a credential-scope token allows.
#[derive(Clone, Debug)]
pub(crate) struct Grant {
    pub credential_id: String,
    /// SCAL 2: the exact hashes that may be signed (each once).
    pub hashes: Option<Vec<Vec<u8>>>,
    pub remaining: u32,
}

#[derive(Clone, Debug)]
pub(crate) enum TokenKind {
    Service,
    Credential(Grant),
}

#[derive(Clone, Debug)]
pub(crate) struct AccessToken {
    pub user: String,
    pub expires: u64,
    pub kind: TokenKind,
}

#[derive(Clone, Debug)]
pub(crate) struct RefreshToken {
    pub user: String,
    pub expires: u64,
    pub client_id: String,
    /// OIDC scope, or `None` for a CSC service refresh token.
    pub oidc_scope: Option<String>,
    pub auth_time: u64,
}

#[derive(Clone, Debug)]
pub(crate) enum Flow {
    Oidc { scope: String, nonce: Option<String> },
    CscService,
    CscCredential(Grant),
}

#[derive(Clone, Debug)]
pub(crate) struct AuthCode {
    pub user: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub challenge: String,
    pub expires: u64,
    pub used: bool,
    pub flow: Flow,
    pub auth_time: u64,
}

/// An authorization request waiting for the user on the consent page.
#[derive(Clone, Debug)]
pub(crate) struct Pending {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub challenge: String,
    pub flow: Flow,
    pub login_hint: Option<String>,
    pub created: u64,
}

#[derive(Clone, Debug)]
pub(crate) struct Sad {
    pub user: String,
    pub expires: u64,
    pub grant: Grant,
}

#[derive(Default)]
pub(crate) struct Store {
    pub access: HashMap<String, AccessToken>,
    pub refresh: HashMap<String, RefreshToken>,
    pub codes: HashMap<String, AuthCode>,
    pub pending: HashMap<String, Pending>,
    pub sads: HashMap<String, Sad>,
    pub revoked_jti: std::collections::HashSet<String>,
    /// OIDC access tokens issued at or before this time count as expired
    /// (fault injection: early expiry of JWTs the server cannot edit).
    pub jwt_cutoff: u64,
}

/// Counters of what the sandbox did, for tests that count remote work.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub sign_hash_calls: AtomicU64,
    pub signatures: AtomicU64,
    pub authorizations: AtomicU64,
    pub authorized_signatures: AtomicU64,
    pub logins: AtomicU64,
    pub tokens_issued: AtomicU64,
    pub requests: AtomicU64,
}

pub(crate) struct JwtKeys {
    pub enc: EncodingKey,
    pub dec: DecodingKey,
    pub jwks: serde_json::Value,
    pub kid: String,
}

/// Claims of the OIDC access token (a JWT, as GビズID issues).
#[derive(Serialize, Deserialize)]
pub(crate) struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: u64,
    pub iat: u64,
    pub jti: String,
    pub scope: String,
    pub client_id: String,
}

pub(crate) struct Shared {
    pub settings: Settings,
    pub urls: Urls,
    pub state: SandboxState,
    pub creds: HashMap<String, usize>,
    pub jwt: JwtKeys,
    pub client_secret: String,
    pub store: Mutex<Store>,
    pub redirects: Mutex<Vec<String>>,
    /// The OpenID provider's behaviour, `cli_redirect_uri` filled in.
    pub openid: super::registration::OpenIdSettings,
    pub faults: Arc<FaultState>,
    pub counters: Arc<Counters>,
    /// What `/admin/...` requires (see [`super::faults::ADMIN_TOKEN_FILE`]).
    pub admin_token: crate::Secret,
    /// The registrar's OCSP responder and CRL.
    pub revocation: super::revocation::RevocationService,
    /// The time-stamping authority (`/tsa`).
    pub tsa: super::tsa::Tsa,
}

/// Who is calling a CSC method.
pub(crate) struct Caller {
    pub user: String,
    /// The bearer token itself, when it is a credential-scope token.
    pub credential_token: Option<String>,
}

impl Shared {
    pub fn lock(&self) -> std::sync::MutexGuard<'_, Store> {
        // A panic while holding the lock leaves plain data behind; keep serving.
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn lock_redirects(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.redirects.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn user(&self, id: &str) -> Option<&super::state::SandboxUser> {
        self.state.users.iter().find(|u| u.id == id)
    }

    pub fn user_by_subject(&self, sub: &str) -> Option<&super::state::SandboxUser> {
        self.state.users.iter().find(|u| u.subject == sub)
    }

    pub fn credential(&self, id: &str) -> Option<&CredentialKey> {
        self.creds.get(id).and_then(|&i| self.state.keys.get(i))
    }

    /// The credential `id` if it belongs to `user`; the CSC error otherwise.
    pub fn owned_credential(&self, user: &str, id: &str) -> ApiResult<&CredentialKey> {
        if id.is_empty() {
            return Err(ApiError::missing_param("credentialID"));
        }
        match self.credential(id) {
            Some(c) if c.owner == user => Ok(c),
            _ => Err(ApiError::invalid_param("credentialID")),
        }
    }

    pub fn check_password(&self, user: &str, password: &str) -> bool {
        self.user(user).is_some_and(|u| secret_eq(&u.password, password))
    }

    /// Authenticates a CSC call from its bearer token: an opaque token from
    /// `auth/login` or `oauth2/token`, or a GビズID-style OIDC access token.
    pub fn authenticate(&self, headers: &HeaderMap) -> ApiResult<Caller> {
        if headers.get(axum::http::header::AUTHORIZATION).is_none()
            && let Some(user) = self
                .faults
                .get()
                .anonymous_user
                .filter(|u| self.user(u).is_some())
        {
            return Ok(Caller {
                user,
                credential_token: None,
            });
        }
        let token = bearer(headers).ok_or_else(|| ApiError::invalid_token("Missing bearer access token"))?;
        let now = now_secs();
        {
            let store = self.lock();
            if let Some(t) = store.access.get(token) {
                if t.expires <= now {
                    return Err(ApiError::expired_token());
                }
                return Ok(Caller {
                    user: t.user.clone(),
                    credential_token: matches!(t.kind, TokenKind::Credential(_)).then(|| token.to_string()),
                });
            }
        }
        if token.matches('.').count() == 2 {
            let claims = self.decode_access_jwt(token)?;
            let user = self
                .user_by_subject(&claims.sub)
                .ok_or_else(|| ApiError::invalid_token("Unknown subject"))?;
            return Ok(Caller {
                user: user.id.clone(),
                credential_token: None,
            });
        }
        Err(ApiError::invalid_token("The access token is not valid"))
    }

    pub fn decode_access_jwt(&self, token: &str) -> ApiResult<AccessClaims> {
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        v.set_issuer(&[&self.urls.issuer]);
        v.validate_aud = false;
        v.leeway = 0;
        v.set_required_spec_claims(&["exp", "iss", "sub"]);
        let data =
            jsonwebtoken::decode::<AccessClaims>(token, &self.jwt.dec, &v).map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => ApiError::expired_token(),
                _ => ApiError::invalid_token("The access token is not valid"),
            })?;
        let c = data.claims;
        if c.exp <= now_secs() {
            return Err(ApiError::expired_token());
        }
        let store = self.lock();
        if store.revoked_jti.contains(&c.jti) {
            return Err(ApiError::invalid_token("The access token has been revoked"));
        }
        if c.iat <= store.jwt_cutoff {
            return Err(ApiError::expired_token());
        }
        Ok(c)
    }

    pub fn issue_access(&self, user: &str, kind: TokenKind) -> (String, u64) {
        let ttl = self.settings.access_token_ttl;
        let token = random_token("at_");
        self.lock().access.insert(
            token.clone(),
            AccessToken {
                user: user.to_string(),
                expires: now_secs() + ttl,
                kind,
            },
        );
        self.counters.tokens_issued.fetch_add(1, Ordering::Relaxed);
        (token, ttl)
    }

    pub fn issue_refresh(
        &self,
        user: &str,
        client_id: &str,
        oidc_scope: Option<String>,
        auth_time: u64,
    ) -> String {
        let token = random_token("rt_");
        self.lock().refresh.insert(
            token.clone(),
            RefreshToken {
                user: user.to_string(),
                expires: now_secs() + self.settings.refresh_token_ttl,
                client_id: client_id.to_string(),
                oidc_scope,
                auth_time,
            },
        );
        token
    }

    /// Revokes any kind of token this sandbox issued; unknown tokens are
    /// ignored, as RFC 7009 asks.
    pub fn revoke(&self, token: &str) {
        let mut store = self.lock();
        store.access.remove(token);
        store.refresh.remove(token);
        if token.matches('.').count() == 2
            && let Ok(c) = jsonwebtoken::dangerous::insecure_decode::<AccessClaims>(token)
        {
            store.revoked_jti.insert(c.claims.jti);
        }
    }

    /// `credentials/authorize`, both versions.
    pub fn authorize(&self, caller: &Caller, req: AuthorizeParams<'_>) -> ApiResult<(String, u64)> {
        let cred = self.owned_credential(&caller.user, req.credential_id)?;
        self.check_usable(cred)?;
        let num = req.num_signatures;
        if num == 0 {
            return Err(ApiError::invalid_param("numSignatures"));
        }
        if num > self.settings.multisign {
            return Err(ApiError::bad_request("Numbers of signatures is too high"));
        }
        let CredentialAuthMode::Explicit { pin, otp } = &cred.info.auth_mode else {
            return Err(ApiError::bad_request(format!(
                "Credential {} is authorized through oauth2code, not credentials/authorize",
                cred.info.id
            )));
        };
        let hashes = match req.hashes {
            Some(h) if !h.is_empty() => {
                let alg = req.hash_algorithm_oid.map(parse_hash_oid).transpose()?;
                Some(decode_hashes(h, alg)?)
            }
            _ => None,
        };
        let pin_hashes = cred.info.scal >= 2 || self.faults.get().pin_hashes_always;
        if pin_hashes {
            match &hashes {
                None => return Err(ApiError::missing_param("hashes")),
                Some(h) if h.len() != num as usize => {
                    return Err(ApiError::bad_request(
                        "numSignatures does not match the number of hashes",
                    ));
                }
                _ => {}
            }
        }
        if let Some(expected) = pin {
            match req.pin {
                None => return Err(ApiError::missing_param("PIN")),
                Some(p) if !secret_eq(expected, p) => {
                    return Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_pin",
                        "The PIN is invalid",
                    ));
                }
                _ => {}
            }
        }
        if let Some(expected) = otp {
            match req.otp {
                None => return Err(ApiError::missing_param("OTP")),
                Some(p) if !secret_eq(expected, p) => {
                    return Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_otp",
                        "The OTP is invalid",
                    ));
                }
                _ => {}
            }
        }
        let grant = Grant {
            credential_id: cred.info.id.clone(),
            hashes: if pin_hashes { hashes } else { None },
            remaining: num,
        };
        self.counters.authorizations.fetch_add(1, Ordering::Relaxed);
        self.counters
            .authorized_signatures
            .fetch_add(u64::from(num), Ordering::Relaxed);
        Ok(self.new_sad(&caller.user, grant))
    }

    fn new_sad(&self, user: &str, grant: Grant) -> (String, u64) {
        let sad = random_token("sad_");
        let ttl = self.settings.sad_ttl;
        self.lock().sads.insert(
            sad.clone(),
            Sad {
                user: user.to_string(),
                expires: now_secs() + ttl,
                grant,
            },
        );
        (sad, ttl)
    }

    /// `credentials/extendTransaction`: a fresh SAD with what is left of the old one.
    pub fn extend(
        &self,
        caller: &Caller,
        credential_id: &str,
        sad: &str,
        hashes: Option<&[String]>,
    ) -> ApiResult<(String, u64)> {
        let cred = self.owned_credential(&caller.user, credential_id)?;
        self.check_usable(cred)?;
        let old = {
            let mut store = self.lock();
            let s = store
                .sads
                .get(sad)
                .ok_or_else(|| ApiError::invalid_param("SAD"))?;
            if s.user != caller.user || s.grant.credential_id != cred.info.id {
                return Err(ApiError::invalid_param("SAD"));
            }
            if s.expires <= now_secs() {
                return Err(ApiError::bad_request("SAD expired"));
            }
            if let (Some(bound), Some(given)) = (&s.grant.hashes, hashes) {
                let given = decode_hashes(given, None)?;
                if given.iter().any(|h| !bound.contains(h)) {
                    return Err(ApiError::bad_request(
                        "The hashes are not those authorized by the SAD",
                    ));
                }
            }
            store
                .sads
                .remove(sad)
                .ok_or_else(|| ApiError::invalid_param("SAD"))?
        };
        Ok(self.new_sad(&caller.user, old.grant))
    }

    fn check_usable(&self, cred: &CredentialKey) -> ApiResult<()> {
        if !cred.info.key_enabled {
            return Err(ApiError::bad_request(format!(
                "The key of credential {} is disabled",
                cred.info.id
            )));
        }
        if cred.info.expired {
            return Err(ApiError::bad_request(format!(
                "The certificate of credential {} has expired",
                cred.info.id
            )));
        }
        Ok(())
    }

    /// `signatures/signHash`, both versions: checks everything, spends the
    /// authorization, then signs on a blocking thread.
    pub async fn sign_hash(self: &Arc<Self>, caller: &Caller, req: SignParams<'_>) -> ApiResult<Vec<String>> {
        self.counters.sign_hash_calls.fetch_add(1, Ordering::Relaxed);
        let cred = self.owned_credential(&caller.user, req.credential_id)?;
        let cred_index = self
            .creds
            .get(req.credential_id)
            .copied()
            .ok_or_else(|| ApiError::invalid_param("credentialID"))?;
        if req.hashes.is_empty() {
            return Err(ApiError::missing_param("hashes"));
        }
        if req.sign_algo.is_empty() {
            return Err(ApiError::missing_param("signAlgo"));
        }
        let (algorithm, pss_salt) =
            parse_sign_algo(req.sign_algo, req.hash_algorithm_oid, req.sign_algo_params)?;
        if !algorithm.fits(&cred.key.info()) {
            return Err(ApiError::invalid_param("signAlgo"));
        }
        if let Some(salt) = pss_salt {
            let bits = cred.key.info().bits as usize;
            let max = (bits.saturating_sub(1).div_ceil(8)).saturating_sub(algorithm.hash.output_len() + 2);
            if salt > max {
                return Err(ApiError::bad_request(format!(
                    "Invalid parameter signAlgoParams: a salt of {salt} bytes is longer than the key allows ({max})"
                )));
            }
        }
        if cred.key.info().algorithm == KeyAlgorithm::EcP256 && algorithm.hash != HashAlgorithm::Sha256 {
            return Err(ApiError::invalid_param("signAlgo"));
        }
        self.check_usable(cred)?;
        let hashes = decode_hashes(req.hashes, Some(algorithm.hash))?;
        let n = hashes.len() as u32;
        {
            let mut store = self.lock();
            let now = now_secs();
            let grant: &mut Grant = match (req.sad, &caller.credential_token) {
                (Some(sad), _) if !sad.is_empty() => {
                    let s = store
                        .sads
                        .get_mut(sad)
                        .ok_or_else(|| ApiError::invalid_param("SAD"))?;
                    if s.user != caller.user || s.grant.credential_id != cred.info.id {
                        return Err(ApiError::invalid_param("SAD"));
                    }
                    if s.expires <= now {
                        return Err(ApiError::bad_request("SAD expired"));
                    }
                    &mut s.grant
                }
                (_, Some(token)) => {
                    let t = store
                        .access
                        .get_mut(token)
                        .ok_or_else(|| ApiError::invalid_token("The access token is not valid"))?;
                    match &mut t.kind {
                        TokenKind::Credential(g) if g.credential_id == cred.info.id => g,
                        _ => return Err(ApiError::invalid_param("credentialID")),
                    }
                }
                _ => return Err(ApiError::missing_param("SAD")),
            };
            if grant.remaining < n {
                return Err(ApiError::bad_request(
                    "Invalid parameter SAD: more signatures than authorized (numSignatures)",
                ));
            }
            if let Some(bound) = &grant.hashes {
                let mut left = bound.clone();
                for h in &hashes {
                    match left.iter().position(|b| b == h) {
                        Some(i) => {
                            left.swap_remove(i);
                        }
                        None => {
                            return Err(ApiError::bad_request(
                                "Invalid parameter hashes: not the hashes authorized by the SAD",
                            ));
                        }
                    }
                }
                grant.hashes = Some(left);
            }
            grant.remaining -= n;
        }
        let digests = hashes
            .into_iter()
            .map(|h| Digest::new(algorithm.hash, h))
            .collect::<crate::Result<Vec<_>>>()
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_hash", e.to_string()))?;
        let shared = Arc::clone(self);
        // A batch is signed on every core, as an RSSP's HSM signs the
        // hashes of one request in parallel: one request at a time is then
        // enough to keep the service busy.
        let sigs = tokio::task::spawn_blocking(move || {
            let key = &shared.state.keys[cred_index].key;
            let sign = |part: &[Digest]| {
                part.iter()
                    .map(|d| match pss_salt {
                        Some(salt) => key.sign_digest_pss_salt(d, salt),
                        None => key.sign_digest(algorithm, d),
                    })
                    .map(|s| s.map(|s| b64(&s)))
                    .collect::<crate::Result<Vec<_>>>()
            };
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            let parts = cores.min(digests.len() / PARALLEL_FROM).max(1);
            if parts == 1 {
                return sign(&digests);
            }
            let size = digests.len().div_ceil(parts);
            let sign = &sign;
            std::thread::scope(|scope| {
                let handles: Vec<_> = digests
                    .chunks(size)
                    .map(|part| scope.spawn(move || sign(part)))
                    .collect();
                let mut all = Vec::with_capacity(digests.len());
                for h in handles {
                    all.extend(
                        h.join()
                            .map_err(|_| crate::Error::invalid_argument("a signing thread failed"))??,
                    );
                }
                Ok(all)
            })
        })
        .await
        .map_err(|_| ApiError::server_error("The signing task failed"))?
        .map_err(|e| ApiError::server_error(format!("Signing failed: {e}")))?;
        self.counters
            .signatures
            .fetch_add(sigs.len() as u64, Ordering::Relaxed);
        Ok(sigs)
    }

    /// The `credentials/info` body of a credential (v2 shape).
    pub fn credential_info(
        &self,
        cred: &CredentialKey,
        certificates: Option<&str>,
        cert_info: bool,
        auth_info: bool,
    ) -> ApiResult<CredentialInfo> {
        let info = cred.key.info();
        let (algo, curve) = match info.algorithm {
            KeyAlgorithm::Rsa => (
                vec![
                    oid::SHA256_WITH_RSA.to_string(),
                    oid::SHA384_WITH_RSA.to_string(),
                    oid::SHA512_WITH_RSA.to_string(),
                    oid::RSA_ENCRYPTION.to_string(),
                    oid::RSASSA_PSS.to_string(),
                ],
                None,
            ),
            _ => (vec![oid::ECDSA_SHA256.to_string()], Some(oid::P256.to_string())),
        };
        let key = KeyDescription {
            status: if cred.info.key_enabled {
                "enabled"
            } else {
                "disabled"
            }
            .into(),
            algo,
            len: info.bits,
            curve,
        };
        let mode = certificates.unwrap_or("single");
        let certs = match mode {
            "none" => None,
            "single" => Some(vec![b64(cred.info.certificate.der())]),
            "chain" => Some(vec![
                b64(cred.info.certificate.der()),
                b64(self.state.registrar_root.der()),
            ]),
            _ => return Err(ApiError::invalid_param("certificates")),
        };
        let c = &cred.info.certificate;
        let tbs = c.inner().tbs_certificate();
        let cert = CertDescription {
            status: Some(if cred.info.expired { "expired" } else { "valid" }.into()),
            certificates: certs,
            issuer_dn: cert_info.then(|| c.issuer()),
            serial_number: cert_info.then(|| hex::encode(tbs.serial_number().as_bytes())),
            subject_dn: cert_info.then(|| c.subject()),
            valid_from: cert_info
                .then(|| generalized(tbs.validity().not_before.to_unix_duration().as_secs())),
            valid_to: cert_info.then(|| generalized(tbs.validity().not_after.to_unix_duration().as_secs())),
        };
        let auth = auth_info.then(|| match &cred.info.auth_mode {
            CredentialAuthMode::Explicit { pin, otp } => {
                let mut objects = Vec::new();
                if pin.is_some() {
                    objects.push(AuthObject {
                        kind: "Password".into(),
                        id: Some("PIN".into()),
                        format: Some("N".into()),
                        label: Some("PIN".into()),
                        description: Some("Sandbox PIN (TEST)".into()),
                    });
                }
                if otp.is_some() {
                    objects.push(AuthObject {
                        kind: "Otp".into(),
                        id: Some("OTP".into()),
                        format: Some("N".into()),
                        label: Some("OTP".into()),
                        description: Some("Sandbox one-time password (TEST, fixed value)".into()),
                    });
                }
                let expression = objects
                    .iter()
                    .filter_map(|o| o.id.clone())
                    .collect::<Vec<_>>()
                    .join(" AND ");
                AuthDescription {
                    mode: "explicit".into(),
                    expression: Some(expression),
                    objects: Some(objects),
                }
            }
            CredentialAuthMode::OAuth2Code => AuthDescription {
                mode: "oauth2code".into(),
                expression: None,
                objects: None,
            },
        });
        Ok(CredentialInfo {
            credential_id: None,
            description: Some(format!("SANDBOX TEST credential {} ({})", cred.info.id, info)),
            key,
            cert: Some(cert),
            auth,
            scal: cred.info.scal.to_string(),
            multisign: self.settings.multisign,
            lang: Some("en-US".into()),
        })
    }

    /// Credential ids of `user`, optionally only usable ones.
    pub fn credential_ids(&self, user: &str, only_valid: bool) -> Vec<&CredentialKey> {
        self.state
            .keys
            .iter()
            .filter(|c| c.owner == user)
            .filter(|c| !only_valid || (c.info.key_enabled && !c.info.expired))
            .collect()
    }
}

/// Inputs of `credentials/authorize`, whichever version sent them.
pub(crate) struct AuthorizeParams<'a> {
    pub credential_id: &'a str,
    pub num_signatures: u32,
    pub hashes: Option<&'a [String]>,
    pub hash_algorithm_oid: Option<&'a str>,
    pub pin: Option<&'a str>,
    pub otp: Option<&'a str>,
}

/// Inputs of `signatures/signHash`, whichever version sent them.
pub(crate) struct SignParams<'a> {
    pub credential_id: &'a str,
    pub sad: Option<&'a str>,
    pub hashes: &'a [String],
    pub hash_algorithm_oid: Option<&'a str>,
    pub sign_algo: &'a str,
    pub sign_algo_params: Option<&'a str>,
}

fn generalized(secs: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs as i64)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year][month][day][hour][minute][second]Z"
            ))
            .ok()
        })
        .unwrap_or_default()
}

pub(crate) fn parse_hash_oid(s: &str) -> ApiResult<HashAlgorithm> {
    let oid: const_oid::ObjectIdentifier = s
        .parse()
        .map_err(|_| ApiError::invalid_param("hashAlgorithmOID"))?;
    HashAlgorithm::from_oid(&oid).map_err(|_| ApiError::invalid_param("hashAlgorithmOID"))
}

/// Decodes base64 hashes; with a known algorithm, checks their length.
pub(crate) fn decode_hashes(hashes: &[String], alg: Option<HashAlgorithm>) -> ApiResult<Vec<Vec<u8>>> {
    hashes
        .iter()
        .map(|h| {
            let bytes = decode_b64(h)
                .ok_or_else(|| ApiError::bad_request("Invalid Base64 hashes string parameter"))?;
            let expected = match alg {
                Some(a) => a.output_len(),
                None => match bytes.len() {
                    32 | 48 | 64 => bytes.len(),
                    _ => 0,
                },
            };
            if bytes.len() != expected {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_hash",
                    format!(
                        "Invalid hash length {} (expected {})",
                        bytes.len(),
                        expected.max(32)
                    ),
                ));
            }
            Ok(bytes)
        })
        .collect()
}

/// `signAlgo` (+ `hashAlgorithmOID`, + PSS parameters) → the algorithm to
/// sign with, and the PSS salt length the parameters name (`None`: no
/// parameters, the salt as long as the hash).
pub(crate) fn parse_sign_algo(
    sign_algo: &str,
    hash_oid: Option<&str>,
    params: Option<&str>,
) -> ApiResult<(SignatureAlgorithm, Option<usize>)> {
    let oid: const_oid::ObjectIdentifier = sign_algo
        .parse()
        .map_err(|_| ApiError::invalid_param("signAlgo"))?;
    let mut hash = hash_oid
        .filter(|s| !s.is_empty())
        .map(parse_hash_oid)
        .transpose()?;
    let mut salt = None;
    if oid == oid::RSASSA_PSS
        && let Some(p) = params.filter(|p| !p.is_empty())
    {
        let from_params = pss_params(p)?;
        if hash.is_some_and(|h| h != from_params.hash) {
            return Err(ApiError::invalid_param("signAlgoParams"));
        }
        hash = Some(from_params.hash);
        salt = Some(from_params.salt_len);
    }
    let needs_hash = oid == oid::RSA_ENCRYPTION || oid == oid::RSASSA_PSS;
    if needs_hash && hash.is_none() {
        return Err(ApiError::missing_param("hashAlgorithmOID"));
    }
    let alg = SignatureAlgorithm::from_oid(&oid, hash).map_err(|_| ApiError::invalid_param("signAlgo"))?;
    if let Some(h) = hash
        && h != alg.hash
    {
        return Err(ApiError::bad_request("hashAlgorithmOID does not match signAlgo"));
    }
    if alg.scheme == SignatureScheme::RsaPss && oid != oid::RSASSA_PSS {
        return Err(ApiError::invalid_param("signAlgo"));
    }
    Ok((alg, salt))
}

/// DER `RSASSA-PSS-params`. The sandbox signs with MGF1 of the message
/// hash and any salt length a client names, from 0 up to the largest the
/// key allows (checked against the key by the caller), exactly as asked:
/// pyHanko asks for the largest, crpki for the hash length. Other mask
/// generations are refused rather than signed differently than asked.
fn pss_params(params_b64: &str) -> ApiResult<crate::crypto::pss::Pss> {
    let bad = || ApiError::invalid_param("signAlgoParams");
    let der = decode_b64(params_b64).ok_or_else(bad)?;
    let any = der::Any::from_der(&der).map_err(|_| bad())?;
    crate::crypto::pss::parse(Some(&any), "signAlgoParams").map_err(|_| bad())
}
