//! The sandbox: our own CSC remote signing service and GビズID-style OpenID
//! provider on loopback, so that every flow of the crate runs end to end on
//! one machine. **SANDBOX / TEST: every key is a test key.**
//!
//! Start it in-process with [`Sandbox::start`] (tests), or with
//! [`serve_cli`] (`crpki sandbox serve`). It binds loopback only, serves
//! HTTPS with a certificate from its own TLS CA (`<state>/tls/ca.pem`), or
//! plain HTTP when asked.
//!
//! # Endpoints
//!
//! - OpenID provider, issuer `https://127.0.0.1:PORT/oauth/`:
//!   `.well-known/openid-configuration`, `authorize` (login and consent
//!   page, or auto-approve), `token` (authorization_code with PKCE S256,
//!   refresh_token with rotation; `client_secret_basic`, or what
//!   [`OpenIdSettings::token_endpoint_auth_methods`] says), `userinfo`, `jwks`.
//! - CSC v2 under `/csc/v2/`: `info`, `auth/login`, `auth/revoke`,
//!   `credentials/list|info|authorize|extendTransaction`,
//!   `signatures/signHash`, `oauth2/authorize|token|revoke`.
//! - CSC v1.0.4.0 under `/csc/v1/`: the same methods in v1 shapes, its
//!   errors naming the v1 fields (`hash`, `hashAlgo`).
//!
//! `signatures/signHash` signs RSASSA-PSS with the salt length the
//! client's `signAlgoParams` name, from 0 to the key's largest (other CSC
//! clients, such as pyHanko, ask for the largest).
//! - The registrar's revocation services: [`OCSP_PATH`] (POST, and GET
//!   per RFC 6960 appendix A), [`CRL_PATH`], [`CA_ISSUERS_PATH`], on this
//!   origin and, over plain HTTP, on the state's revocation origin that
//!   the credentials' certificates name ([`Sandbox::revocation_origin`],
//!   [`ORIGIN_FILE`]).
//! - A time-stamping authority at `/tsa` (RFC 3161 over HTTP:
//!   `application/timestamp-query` in, `application/timestamp-reply`
//!   out), signing with its TEST TSA certificate (extendedKeyUsage
//!   timeStamping, critical) under the TEST TSA root in
//!   `<state>/tsa/tsa-root.pem` ([`Sandbox::tsa_url`], [`Sandbox::tsa_root`]);
//!   the `sandbox` profile gets both through `endpoints.toml`.
//! - Fault control under `/admin/`: `GET|POST faults`, `POST expire`, with
//!   the bearer token in [`ADMIN_TOKEN_FILE`] of the state directory.
//!
//! # Users (all TEST values)
//!
//! | user | password | credentials |
//! |---|---|---|
//! | `alice` | `alice-password` | `alice-rsa`: RSA-2048, SCAL 1, explicit PIN `1234` |
//! | `bob` | `bob-password` | `bob-rsa-scal2`: RSA-2048, SCAL 2, explicit OTP `123456`; `bob-ecdsa`: P-256, SCAL 1, PIN `5678`; `bob-expired`: RSA-2048, expired certificate, PIN `5678`; `bob-oauth`: RSA-2048, SCAL 2, `oauth2code` |
//! | `carol` | `carol-password` | none |
//! | `dave` | `dave-password` | `dave-rsa`: RSA-2048, key disabled, PIN `1234` |
//! | `erin` | `erin-password` | `erin-rsa`: RSA-2048, SCAL 1, PIN `1234`, certificate **revoked** (keyCompromise) |
//!
//! Each user is also a GビズID-style account whose `corporate_number` is the
//! 法人番号 of the 会社法人等番号 in their certificates. The registered
//! client is `crpki-cli` (secret in `<state>/state.json`), a native client
//! whose redirect URIs are registered, as at GビズID: the OpenID provider
//! accepts only the registered ones, compared exactly (the `sandbox`
//! profile's, [`Sandbox::cli_redirect_uri`], is registered at every start;
//! [`OpenIdSettings`] adds others or switches to any loopback port per
//! RFC 8252 §7.3). The CSC authorization servers accept any loopback
//! redirect.
//!
//! Private keys never leave the sandbox process: they are read from the
//! state directory by the server and used only through
//! [`PrivateKey::sign_digest`](crate::signer::PrivateKey::sign_digest)
//! (and its salt-exact RSASSA-PSS sibling).

mod api;
mod core;
mod faults;
mod html;
mod oidc;
mod registration;
mod revocation;
mod rssp;
mod state;
mod tls;
mod tsa;
mod v1;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use base64::Engine as _;

pub use faults::{ADMIN_TOKEN_FILE, ErrorBodies, FaultControl, FaultSettings};
pub use registration::{OpenIdSettings, RedirectUriPolicy, RefreshRefusal};
pub use revocation::{CA_ISSUERS_PATH, CRL_PATH, OCSP_PATH, ORIGIN_FILE, OcspFault, REVOKED};
pub use state::{CLIENT_ID, CredentialAuthMode, SandboxCredential, SandboxUser};
pub use tsa::{SANDBOX_TSA_POLICY, rejection as timestamp_rejection, timestamp_reply};

use crate::cert::Certificate;
use crate::error::{Error, Result};
use crate::profile::{CscVersion, SandboxEndpoints};
use crate::secret::Secret;

/// The largest request body accepted; larger ones get `413` with a CSC error body.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// How to run a sandbox.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// Where keys, certificates and secrets persist; `None` makes a
    /// temporary directory that is deleted with the [`Sandbox`].
    pub state_dir: Option<PathBuf>,
    /// Address to bind; must be loopback. Default `127.0.0.1:0`.
    pub listen: SocketAddr,
    /// Serve HTTPS (default) or plain HTTP (for debugging).
    pub https: bool,
    /// Approve every authorization request without showing the login page
    /// (as `login_hint`, else the credential's owner, else `alice`).
    pub auto_approve: bool,
    /// Lifetime of access tokens.
    pub access_token_ttl: Duration,
    /// Lifetime of refresh tokens.
    pub refresh_token_ttl: Duration,
    /// Lifetime of SADs and credential-scope tokens.
    pub sad_ttl: Duration,
    /// Lifetime of authorization codes.
    pub code_ttl: Duration,
    /// Maximum `numSignatures` per authorization (`multisign`).
    pub multisign: u32,
    /// Faults to inject from the start.
    pub faults: FaultSettings,
    /// How the OpenID provider behaves where real providers differ
    /// (registered redirect URIs, client authentication, refresh refusals).
    pub openid: OpenIdSettings,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            state_dir: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            https: true,
            auto_approve: true,
            access_token_ttl: Duration::from_secs(3600),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            sad_ttl: Duration::from_secs(300),
            code_ttl: Duration::from_secs(300),
            multisign: 1000,
            faults: FaultSettings::default(),
            openid: OpenIdSettings::default(),
        }
    }
}

/// Counters of the work a sandbox did since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SandboxStats {
    /// `signatures/signHash` calls (v1 and v2, including refused ones).
    pub sign_hash_calls: u64,
    /// Signatures made.
    pub signatures: u64,
    /// Successful credential authorizations (SADs and credential tokens).
    pub authorizations: u64,
    /// The signatures those authorizations were for: the sum of their
    /// `numSignatures`.
    pub authorized_signatures: u64,
    /// Successful `auth/login` calls.
    pub logins: u64,
    /// Access tokens issued.
    pub tokens_issued: u64,
    /// HTTP requests received.
    pub requests: u64,
}

/// A running sandbox. Dropping it does not stop the server; call
/// [`shutdown`](Self::shutdown).
pub struct Sandbox {
    shared: Arc<core::Shared>,
    addr: SocketAddr,
    handle: axum_server::Handle<SocketAddr>,
    task: Option<tokio::task::JoinHandle<()>>,
    registrar_root: Certificate,
    /// The revocation origin this sandbox serves, if it does.
    revocation_server: Option<(
        String,
        axum_server::Handle<SocketAddr>,
        tokio::task::JoinHandle<()>,
    )>,
    _temp: Option<TempDir>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("base_url", &self.base_url())
            .finish_non_exhaustive()
    }
}

/// A temporary state directory removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn is_loopback(ip: IpAddr) -> bool {
    ip.is_loopback()
}

impl Sandbox {
    /// Generates (first time) or loads the state, binds, and starts serving.
    ///
    /// Fails with [`Error::Config`] when `listen` is not a loopback address.
    pub async fn start(config: SandboxConfig) -> Result<Sandbox> {
        if !is_loopback(config.listen.ip()) {
            return Err(Error::Config {
                detail: format!(
                    "the sandbox binds loopback addresses only, not {} (it holds TEST keys and an admin endpoint)",
                    config.listen
                ),
            });
        }
        let (dir, temp) = match &config.state_dir {
            Some(d) => (d.clone(), None),
            None => {
                let rnd: u64 = rand::random();
                let d = std::env::temp_dir().join(format!("crpki-sandbox-{rnd:016x}"));
                (d.clone(), Some(TempDir(d)))
            }
        };
        let dir2 = dir.clone();
        let st = tokio::task::spawn_blocking(move || state::SandboxState::load_or_create(&dir2))
            .await
            .map_err(|e| Error::Other(Arc::new(e)))??;
        let dir_tsa = dir.clone();
        let tsa = tokio::task::spawn_blocking(move || tsa::Tsa::load_or_create(&dir_tsa))
            .await
            .map_err(|e| Error::Other(Arc::new(e)))??;
        let dir3 = dir.clone();
        let admin_token = tokio::task::spawn_blocking(move || faults::admin_token(&dir3))
            .await
            .map_err(|e| Error::Other(Arc::new(e)))??;

        let listener = std::net::TcpListener::bind(config.listen)
            .map_err(|e| Error::io(format!("binding the sandbox to {}", config.listen), e))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| Error::io("configuring the sandbox socket", e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::io("reading the sandbox address", e))?;
        let scheme = if config.https { "https" } else { "http" };
        let base = format!("{scheme}://{addr}");
        let urls = core::Urls {
            issuer: format!("{base}/oauth/"),
            csc_v2: format!("{base}/csc/v2/"),
            csc_v1: format!("{base}/csc/v1/"),
            base,
        };

        let revocation = revocation::RevocationService::prepare(&st)?;
        let key_der = pem_body(&st.oidc_key_pem)?;
        let jwt_key = crate::signer::PrivateKey::from_pkcs8_der(&key_der)?;
        let enc = jsonwebtoken::EncodingKey::from_rsa_pem(st.oidc_key_pem.as_bytes()).map_err(|e| {
            Error::Config {
                detail: format!("sandbox OIDC key: {e}"),
            }
        })?;
        let (n, e) = jwt_key.public_key().rsa_components()?;
        let b64u = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let dec = jsonwebtoken::DecodingKey::from_rsa_raw_components(&n, &e);
        let kid = format!("sandbox-{}", &hex::encode(&n[..8]));
        let jwks = serde_json::json!({"keys": [{
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": b64u(&n), "e": b64u(&e)
        }]});

        let creds: HashMap<String, usize> = st
            .keys
            .iter()
            .enumerate()
            .map(|(i, c)| (c.info.id.clone(), i))
            .collect();
        let registrar_root = st.registrar_root.clone();
        let tls_cfg = if config.https {
            Some(tls::server_config(
                &st.tls_server_cert_pem,
                &st.tls_ca_pem,
                &st.tls_server_key_pem,
            )?)
        } else {
            None
        };
        let mut openid = config.openid.clone();
        let cli_redirect = match openid.cli_redirect_uri.take() {
            Some(uri) => uri,
            None => format!("http://127.0.0.1:{}/crpki/callback", free_loopback_port()?),
        };
        openid.cli_redirect_uri = Some(cli_redirect.clone());
        let mut redirects = openid.redirect_uris.clone();
        redirects.push(cli_redirect);
        let client_secret = match &openid.client_secret {
            Some(s) => s.expose().to_owned(),
            None => st.client_secret.clone(),
        };
        let shared = Arc::new(core::Shared {
            settings: core::Settings {
                auto_approve: config.auto_approve,
                access_token_ttl: config.access_token_ttl.as_secs().max(1),
                refresh_token_ttl: config.refresh_token_ttl.as_secs().max(1),
                sad_ttl: config.sad_ttl.as_secs().max(1),
                code_ttl: config.code_ttl.as_secs().max(1),
                multisign: config.multisign.max(1),
            },
            urls,
            client_secret,
            state: st,
            creds,
            jwt: core::JwtKeys { enc, dec, jwks, kid },
            store: Mutex::new(core::Store::default()),
            redirects: Mutex::new(redirects),
            openid,
            faults: Arc::new(faults::FaultState::new(config.faults.clone())),
            counters: Arc::new(core::Counters::default()),
            admin_token,
            revocation,
            tsa,
        });

        let app = router(Arc::clone(&shared));
        let handle = axum_server::Handle::new();
        let h2 = handle.clone();
        let task = match tls_cfg {
            Some(cfg) => {
                let server = axum_server::from_tcp_rustls(
                    listener,
                    axum_server::tls_rustls::RustlsConfig::from_config(cfg),
                )
                .map_err(|e| Error::io("starting the sandbox", e))?
                .handle(h2);
                tokio::spawn(async move {
                    if let Err(e) = server.serve(app.into_make_service()).await {
                        tracing::error!("sandbox server stopped: {e}");
                    }
                })
            }
            None => {
                let server = axum_server::from_tcp(listener)
                    .map_err(|e| Error::io("starting the sandbox", e))?
                    .handle(h2);
                tokio::spawn(async move {
                    if let Err(e) = server.serve(app.into_make_service()).await {
                        tracing::error!("sandbox server stopped: {e}");
                    }
                })
            }
        };
        let revocation_server = revocation::serve_origin(&shared);
        Ok(Sandbox {
            shared,
            addr,
            handle,
            task: Some(task),
            registrar_root,
            revocation_server,
            _temp: temp,
        })
    }

    /// The file holding the token `/admin/...` requires (in the state
    /// directory, mode 0600).
    pub fn admin_token_path(&self) -> PathBuf {
        self.state_dir().join(ADMIN_TOKEN_FILE)
    }

    /// `https://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> &str {
        &self.shared.urls.base
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The OpenID issuer, with its trailing slash: `https://127.0.0.1:PORT/oauth/`.
    pub fn oidc_issuer(&self) -> &str {
        &self.shared.urls.issuer
    }

    /// The CSC v2 base URL, `https://127.0.0.1:PORT/csc/v2/`.
    pub fn csc_base_v2(&self) -> &str {
        &self.shared.urls.csc_v2
    }

    /// The CSC v1 base URL, `https://127.0.0.1:PORT/csc/v1/`.
    pub fn csc_base_v1(&self) -> &str {
        &self.shared.urls.csc_v1
    }

    /// The TLS CA certificate (PEM) that clients must trust.
    pub fn tls_ca_pem(&self) -> &str {
        &self.shared.state.tls_ca_pem
    }

    /// Where the TLS CA certificate is written.
    pub fn tls_ca_path(&self) -> PathBuf {
        self.shared.state.tls_ca_path()
    }

    /// The state directory.
    pub fn state_dir(&self) -> &Path {
        &self.shared.state.dir
    }

    /// The sandbox registrar's self-signed root (trust anchor of every credential).
    pub fn registrar_root(&self) -> &Certificate {
        &self.registrar_root
    }

    /// The time-stamping authority's URL (RFC 3161 over HTTP):
    /// `https://127.0.0.1:PORT/tsa`.
    pub fn tsa_url(&self) -> String {
        format!("{}/tsa", self.shared.urls.base)
    }

    /// The TEST TSA root that the sandbox TSA's certificate chains to.
    pub fn tsa_root(&self) -> &Certificate {
        self.shared.tsa.root()
    }

    /// Where the TEST TSA root is written (PEM; `tsa-root.der` beside it):
    /// `<state>/tsa/tsa-root.pem`.
    pub fn tsa_root_path(&self) -> &Path {
        self.shared.tsa.root_path()
    }

    /// The users, their credentials and TEST secrets.
    pub fn users(&self) -> &[SandboxUser] {
        &self.shared.state.users
    }

    /// One user by id.
    pub fn user(&self, id: &str) -> Option<&SandboxUser> {
        self.shared.user(id)
    }

    /// The OAuth/OIDC client id registered for the crpki tool.
    pub fn client_id(&self) -> &str {
        CLIENT_ID
    }

    /// Its client secret (a TEST secret).
    pub fn client_secret(&self) -> &str {
        &self.shared.client_secret
    }

    /// The redirect URI registered for the `sandbox` profile (see
    /// [`OpenIdSettings::cli_redirect_uri`]).
    pub fn cli_redirect_uri(&self) -> &str {
        self.shared.openid.cli_redirect_uri.as_deref().unwrap_or_default()
    }

    /// Registers one more exact redirect URI (loopback `http://127.0.0.1:PORT/…`
    /// ones are always accepted).
    pub fn register_redirect_uri(&self, uri: impl Into<String>) {
        self.shared.lock_redirects().push(uri.into());
    }

    /// Counters of the work done so far.
    pub fn stats(&self) -> SandboxStats {
        let c = &self.shared.counters;
        SandboxStats {
            sign_hash_calls: c.sign_hash_calls.load(Ordering::Relaxed),
            signatures: c.signatures.load(Ordering::Relaxed),
            authorizations: c.authorizations.load(Ordering::Relaxed),
            authorized_signatures: c.authorized_signatures.load(Ordering::Relaxed),
            logins: c.logins.load(Ordering::Relaxed),
            tokens_issued: c.tokens_issued.load(Ordering::Relaxed),
            requests: c.requests.load(Ordering::Relaxed),
        }
    }

    /// The revocation origin (`http://127.0.0.1:PORT`) the credentials'
    /// certificates name, when this sandbox serves it (see
    /// [`ORIGIN_FILE`]). The same routes are on [`Sandbox::base_url`] too.
    pub fn revocation_origin(&self) -> Option<&str> {
        self.revocation_server
            .as_ref()
            .map(|(origin, _, _)| origin.as_str())
    }

    /// Requests to the OCSP responder and to the CRL so far.
    pub fn revocation_requests(&self) -> (u64, u64) {
        let r = &self.shared.revocation;
        (
            r.ocsp_requests.load(Ordering::Relaxed),
            r.crl_requests.load(Ordering::Relaxed),
        )
    }

    /// The fault-injection handle.
    pub fn faults(&self) -> FaultControl {
        FaultControl {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Stops serving and waits for the server task.
    pub async fn shutdown(mut self) {
        if let Some((_, handle, task)) = self.revocation_server.take() {
            handle.graceful_shutdown(Some(Duration::from_secs(2)));
            let _ = task.await;
        }
        self.handle.graceful_shutdown(Some(Duration::from_secs(2)));
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

// The hand-over file's format belongs to `profile` (what profiles read);
// the sandbox fills it in, so the dependency points from here down.
impl SandboxEndpoints {
    /// The endpoints of a sandbox running in this process (what
    /// `crpki sandbox serve` writes into its state directory). The sandbox
    /// has no OpenID revocation endpoint in its discovery document (like
    /// GビズID); its OAuth revocation endpoint also revokes OpenID tokens,
    /// so it is named here for `crpki logout`.
    pub fn of(sandbox: &Sandbox) -> Self {
        let https = sandbox.base_url().starts_with("https:");
        Self {
            oidc_issuer: sandbox.oidc_issuer().to_owned(),
            client_id: sandbox.client_id().to_owned(),
            client_secret: Some(Secret::new(sandbox.client_secret())),
            revocation_endpoint: Some(format!("{}oauth2/revoke", sandbox.csc_base_v2())),
            redirect_uri: Some(sandbox.cli_redirect_uri().to_owned()),
            rssp_base_url: sandbox.csc_base_v2().to_owned(),
            csc_version: CscVersion::V2,
            ca_file: https.then(|| sandbox.tls_ca_path()),
            tsa_url: Some(sandbox.tsa_url()),
            tsa_root_file: Some(sandbox.tsa_root_path().to_path_buf()),
        }
    }
}

/// Generates the sandbox state in `dir` unless it is already there (keys,
/// certificates, TLS CA, client secret, TSA), without starting a server.
pub fn init_state(dir: &Path) -> Result<()> {
    state::SandboxState::load_or_create(dir)?;
    tsa::Tsa::load_or_create(dir).map(|_| ())
}

/// A loopback port free now, for the CLI's registered redirect URI (the
/// login binds it later; another program taking it meanwhile gives the
/// login a clear "port in use" error).
fn free_loopback_port() -> Result<u16> {
    let probe = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| Error::io("choosing the sandbox profile's redirect port", e))?;
    probe
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| Error::io("choosing the sandbox profile's redirect port", e))
}

fn pem_body(pem: &str) -> Result<Vec<u8>> {
    der::pem::decode_vec(pem.as_bytes())
        .map(|(_label, der)| der)
        .map_err(|e| Error::malformed_from("PEM", e))
}

/// The CSC API's routes, the same paths in each version: `$api` is the
/// module of the version's handlers; the OAuth 2.0 authorize (GET), consent
/// (POST) and token handlers are named apart.
macro_rules! csc_routes {
    ($api:ident, $authorize:path, $consent:path, $token:path) => {
        Router::new()
            .route("/info", post($api::info).get($api::info))
            .route("/auth/login", post($api::auth_login))
            .route("/auth/revoke", post($api::auth_revoke))
            .route("/credentials/list", post($api::credentials_list))
            .route("/credentials/info", post($api::credentials_info))
            .route("/credentials/authorize", post($api::credentials_authorize))
            .route("/credentials/extendTransaction", post($api::credentials_extend))
            .route("/signatures/signHash", post($api::sign_hash))
            .route("/oauth2/authorize", get($authorize).post($consent))
            .route("/oauth2/token", post($token))
            .route("/oauth2/revoke", post(oidc::csc_oauth_revoke))
    };
}

fn router(shared: Arc<core::Shared>) -> Router {
    let csc_v2 = csc_routes!(rssp, oidc::csc2_authorize, oidc::csc2_consent, oidc::csc2_token);
    let csc_v1 = csc_routes!(v1, oidc::csc1_authorize, oidc::csc1_consent, oidc::csc1_token);
    let oauth = Router::new()
        .route("/.well-known/openid-configuration", get(oidc::discovery))
        .route("/jwks", get(oidc::jwks))
        .route("/authorize", get(oidc::oidc_authorize).post(oidc::oidc_consent))
        .route("/token", post(oidc::oidc_token))
        .route("/userinfo", get(oidc::userinfo).post(oidc::userinfo));
    let admin = Router::new()
        .route("/faults", get(faults::admin_get).post(faults::admin_set))
        .route("/expire", post(faults::admin_expire))
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&shared),
            faults::require_admin_token,
        ));
    Router::new()
        .nest("/csc/v2", csc_v2)
        .nest("/csc/v1", csc_v1)
        .nest("/oauth", oauth)
        .nest("/admin", admin)
        .merge(revocation::routes())
        .route("/tsa", post(tsa::serve))
        .fallback(rssp::not_found)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&shared),
            faults::inject,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(shared)
}

/// Runs a sandbox for humans (`crpki sandbox serve`): prints its URLs, TLS
/// CA, users and client credentials, and serves until Ctrl-C.
pub async fn serve_cli(
    listen: SocketAddr,
    state_dir: Option<PathBuf>,
    http: bool,
    auto_approve: bool,
) -> Result<()> {
    let config = SandboxConfig {
        state_dir: Some(state_dir.unwrap_or_else(default_state_dir)),
        listen,
        https: !http,
        auto_approve,
        ..SandboxConfig::default()
    };
    let sb = Sandbox::start(config).await?;
    // The hand-over file through which the `sandbox` profile of other
    // crpki processes finds this server (its ports are ephemeral).
    let endpoints = SandboxEndpoints::of(&sb);
    endpoints.write(sb.state_dir())?;
    // Written with errors ignored: a closed stdout (`| head`, a test that
    // stopped reading) must not bring the server down.
    let say = |text: &str| {
        use std::io::Write;
        let _ = writeln!(std::io::stdout(), "{text}");
    };
    say(&describe(&sb));
    say("The `sandbox` profile of crpki now points here.");
    let waited = tokio::signal::ctrl_c().await;
    say("crpki SANDBOX: stopping");
    let _ = SandboxEndpoints::remove(sb.state_dir());
    sb.shutdown().await;
    waited.map_err(|e| Error::io("waiting for Ctrl-C", e))
}

/// Where `crpki sandbox serve` keeps its state unless told otherwise: the
/// directory the `sandbox` profile reads (see [`crate::profile`]).
pub fn default_state_dir() -> PathBuf {
    crate::profile::ProfileStore::open_default()
        .map(|store| store.default_sandbox_state_dir())
        .unwrap_or_else(|_| std::env::temp_dir().join("crpki-sandbox"))
}

/// The banner `serve_cli` prints.
pub fn describe(sb: &Sandbox) -> String {
    let mut s = String::new();
    s.push_str("=== crpki SANDBOX (TEST ONLY — test keys, no legal effect) ===\n");
    s.push_str(&format!("state directory : {}\n", sb.state_dir().display()));
    s.push_str(&format!("OIDC issuer     : {}\n", sb.oidc_issuer()));
    s.push_str(&format!(
        "redirect URI    : {} (registered for the `sandbox` profile)\n",
        sb.cli_redirect_uri()
    ));
    s.push_str(&format!("CSC v2          : {}\n", sb.csc_base_v2()));
    s.push_str(&format!("CSC v1          : {}\n", sb.csc_base_v1()));
    if sb.base_url().starts_with("https") {
        s.push_str(&format!("TLS CA (trust)  : {}\n", sb.tls_ca_path().display()));
    }
    s.push_str(&format!(
        "admin token     : {} (for /admin/..., as Authorization: Bearer)\n",
        sb.admin_token_path().display()
    ));
    s.push_str(&format!(
        "registrar root  : {}\n",
        sb.state_dir().join("registrar-root.pem").display()
    ));
    match sb.revocation_origin() {
        Some(origin) => s.push_str(&format!(
            "revocation      : OCSP {origin}{OCSP_PATH}, CRL {origin}{CRL_PATH} (named in the certificates)\n"
        )),
        None => s.push_str("revocation      : not served by this sandbox (see the log)\n"),
    }
    s.push_str(&format!(
        "TSA (RFC 3161)  : {} (TEST TSA root {})\n",
        sb.tsa_url(),
        sb.tsa_root_path().display()
    ));
    s.push_str(&format!(
        "TEST client     : id {} secret {}\n",
        sb.client_id(),
        sb.client_secret()
    ));
    s.push_str("TEST users      :\n");
    for u in sb.users() {
        s.push_str(&format!(
            "  {} / {}  法人番号 {}  {}\n",
            u.id, u.password, u.corporate_number, u.corporate_name
        ));
        for c in &u.credentials {
            let auth = match &c.auth_mode {
                CredentialAuthMode::Explicit { pin, otp } => format!(
                    "explicit{}{}",
                    pin.as_ref().map(|p| format!(" PIN {p}")).unwrap_or_default(),
                    otp.as_ref().map(|o| format!(" OTP {o}")).unwrap_or_default()
                ),
                CredentialAuthMode::OAuth2Code => "oauth2code".into(),
            };
            s.push_str(&format!(
                "    {}  SCAL {}  {}{}{}\n",
                c.id,
                c.scal,
                auth,
                if c.key_enabled { "" } else { "  (key disabled)" },
                if c.expired { "  (certificate expired)" } else { "" }
            ));
        }
    }
    s.push_str("Stop with Ctrl-C.");
    s
}
